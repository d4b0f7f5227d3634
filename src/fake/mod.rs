//! A stateful, offline simulator of the NeuroIO Tokens API, for tests and
//! for trying the crate without an account (feature `fake`).
//!
//! [`FakeIam::start`] serves the API on `127.0.0.1` in background threads.
//! It keeps accounts and tokens in memory and follows the API's rules: the
//! `Authorization: Token <key>` check, the limit of 5 permanent tokens, 24 h
//! expiry by a clock the test controls, newest-first pagination with
//! validation, and isolation between accounts. It can also be told to fail,
//! stall or drop the next requests, and it records what it received.
//!
//! ```
//! # fn main() -> neuroio::Result<()> {
//! use neuroio::fake::FakeIam;
//!
//! let fake = FakeIam::start()?;
//! let client = neuroio::Client::builder()
//!     .api_token(fake.root_token())
//!     .iam_url(fake.url())
//!     .build()?;
//!
//! let token = client.tokens().create(false)?;
//! assert_eq!(client.tokens().get(token.id)?.key, token.key);
//!
//! // A day later the temporary token no longer authenticates.
//! let temporary = neuroio::Client::builder()
//!     .api_token(token.key.clone())
//!     .iam_url(fake.url())
//!     .build()?;
//! fake.advance(std::time::Duration::from_secs(24 * 60 * 60));
//! assert!(temporary.tokens().list(None, 20, 0).unwrap_err().is_unauthorized());
//! # Ok(())
//! # }
//! ```
//!
//! A simulator per test is cheap: dropping one from [`FakeIam::start`]
//! puts its listening port and threads in a pool, and the next `start`
//! serves a fresh account, clock, fault queue and request log on them, so
//! starting, one call and dropping cost about what a pooled mock server
//! does (`benches/fixture.rs`). Each simulator's URL has a path of its own
//! ([`FakeIam::url`]), so a client of a dropped simulator never reaches the
//! next one. [`FakeIam::shutdown`] (and dropping one from
//! [`FakeIam::bind`]) stops for good and frees the port.
//!
//! Besides `/v1/tokens/` it serves the rest of the token family on the same
//! address: stream tokens (`/v1/streams/tokens/`), login
//! (`POST /v1/auth/token/`), password change
//! (`POST /v1/auth/password/change/`), who am I (`GET /v1/whoami/`) and space
//! tokens (`POST /v1/spaces/<id>/tokens/`). Each account has one user
//! ([`FakeIam::root_username`] and [`FakeIam::root_password`] for the first)
//! and a default space; tokens are scoped to the account or to one space,
//! and each scope has its own tokens, stream tokens and limit of 5 permanent
//! tokens. Stream tokens never authenticate a call.
//!
//! Expired temporary tokens stay listed (as the real service lists them)
//! for [`EXPIRED_KEPT_FOR`], a day by the simulator's clock, and are then
//! forgotten; with [`PURGE_EXPIRED_AT`] (100,000) tokens or more stored,
//! every expired one is forgotten at once. So the tokens held are those
//! alive plus at most a day's expired ones, never every token ever
//! created: 100,000 temporary tokens created and left to expire are gone
//! two days later (see [`FakeIam::stored_tokens`]). Permanent tokens and
//! live temporary ones are kept until deleted.
//!
//! Spaces (`/v1/spaces/`, `/v1/lists/spaces/`) belong to one account, which
//! never sees another's (404). Where the real service is not documented the
//! simulator chooses: a name is 1 to 255 characters once trimmed of
//! surrounding whitespace and is stored trimmed; a name another space of the
//! account has (compared exactly) is a 400 with a field error on `name`;
//! lists are newest first, `q` keeps the names that contain it in any case,
//! and `limit`/`offset` are validated as for tokens; deleting a space deletes
//! its tokens and stream tokens, and the default space cannot be deleted
//! (400). A space token may read its own space (`get`, and lists show only
//! it); creating, renaming, deleting, space tokens and any other space's id
//! answer 403.
//!
//! The simulator speaks HTTP/1.1 with keep-alive and `Content-Length`
//! bodies (chunked request bodies get 411; two different `Content-Length`
//! headers get 400, identical repeats are accepted). Its framing is strict,
//! so that it never reads a request differently from a proxy in front of
//! it: a `Content-Length` that is not plain digits (`+20`, `020`), a head
//! line ending in a bare LF instead of CR LF, and a head (request line to
//! the empty line) over 16 KiB get 400. It accepts bodies up to 64 KiB, serves at most 256 connections at once (more are answered 503
//! and closed), closes a connection that sends nothing, or not a whole
//! request, or does not take a whole answer, within its idle timeout (10 s,
//! see [`FakeIam::set_idle_timeout`]), and keeps a bounded log of requests
//! for [`FakeIam::requests`].

mod account;
mod faults;
mod http;
mod requests;
mod route;
mod routes;
mod server;
mod shared;
mod spaces;
mod store;
mod tokens;
mod wire;

pub use faults::Fault;
pub use requests::RecordedRequest;

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

use crate::error::{ConfigError, Error};
use server::Server;
use shared::{Aim, PREFIX_START, Shared, lock};

/// How long a connection may stay idle, or take to send one request,
/// unless [`FakeIam::set_idle_timeout`] says otherwise.
///
/// ```
/// assert_eq!(neuroio::fake::DEFAULT_IDLE_TIMEOUT.as_secs(), 10);
/// ```
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long, by the simulator's clock, an expired temporary token is kept
/// (listed, and refused with 401 "Token has expired.") before the
/// simulator forgets it (then it is unknown: 404, and 401 "Invalid token.").
///
/// ```
/// assert_eq!(neuroio::fake::EXPIRED_KEPT_FOR.as_secs(), 24 * 60 * 60);
/// ```
pub const EXPIRED_KEPT_FOR: Duration = store::EXPIRED_KEPT_FOR;

/// From this many stored tokens on (every account, tokens and stream tokens
/// together), the simulator forgets every expired temporary token at once
/// instead of a day after it expired.
///
/// ```
/// assert_eq!(neuroio::fake::PURGE_EXPIRED_AT, 100_000);
/// ```
pub const PURGE_EXPIRED_AT: usize = store::PURGE_EXPIRED_AT;

/// The id of the first account, whose user is `root`.
const ROOT_ACCOUNT: u64 = 1;

/// A running simulator of the Tokens API on a loopback port.
///
/// Stops serving when dropped or on [`shutdown`](FakeIam::shutdown); see
/// there for what each frees.
///
/// ```
/// # fn main() -> neuroio::Result<()> {
/// let fake = neuroio::fake::FakeIam::start()?;
/// let client = neuroio::Client::builder()
///     .api_token(fake.root_token())
///     .iam_url(fake.url())
///     .build()?;
/// let page = client.tokens().list(None, 20, 0)?;
/// assert_eq!(page.len(), 1); // just the root token
/// # Ok(())
/// # }
/// ```
pub struct FakeIam {
    shared: Arc<Shared>,
    addr: SocketAddr,
    root_token: String,
    /// `None` once shut down.
    server: Option<Server>,
    /// Whether dropping puts the server back in the pool: a simulator
    /// from [`FakeIam::start`], on a port the test did not choose.
    pooled: bool,
}

impl FakeIam {
    /// Starts a simulator on `127.0.0.1` at a free port, with one account.
    ///
    /// Cheap: it takes a listening server that an earlier simulator left
    /// in a pool when dropped, if there is one, and serves a fresh account,
    /// clock, fault queue and request log on it; nothing one simulator did
    /// is seen by another.
    ///
    /// ```
    /// let fake = neuroio::fake::FakeIam::start()?;
    /// assert!(fake.url().starts_with("http://127.0.0.1:"));
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn start() -> crate::Result<FakeIam> {
        match Server::pooled() {
            Some(server) => Ok(FakeIam::serve(server, true)),
            None => FakeIam::bind_server("127.0.0.1:0", true),
        }
    }

    /// Starts a simulator on the given address, with one account. Bind it to
    /// a loopback address: the simulator is for this machine only. Dropping
    /// it frees the address.
    ///
    /// ```
    /// let fake = neuroio::fake::FakeIam::bind("127.0.0.1:0")?;
    /// # let _ = fake;
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> crate::Result<FakeIam> {
        FakeIam::bind_server(addr, false)
    }

    fn bind_server(addr: impl ToSocketAddrs, pooled: bool) -> crate::Result<FakeIam> {
        let server = Server::bind(addr).map_err(|source| Error::Io {
            context: "starting the simulator",
            source,
        })?;
        Ok(FakeIam::serve(server, pooled))
    }

    /// A fresh simulator served by `server`; one from the pool has a path
    /// of its own (see [`FakeIam::url`]).
    fn serve(server: Server, pooled: bool) -> FakeIam {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let prefix = if pooled {
            format!("{PREFIX_START}{}", NEXT.fetch_add(1, Ordering::Relaxed))
        } else {
            String::new()
        };
        let (shared, root_token) = Shared::new(prefix);
        let shared = Arc::new(shared);
        server.install(Arc::clone(&shared));
        FakeIam {
            shared,
            addr: server.addr(),
            root_token,
            server: Some(server),
            pooled,
        }
    }

    /// The base URL to give to
    /// [`ClientBuilder::iam_url`](crate::ClientBuilder::iam_url) (and
    /// `api_url`): `http://127.0.0.1:<port>`, followed for a simulator from
    /// [`FakeIam::start`] by a path of its own, `/sim-<n>`. That path is
    /// how the port's next simulator (the port is kept in a pool for the
    /// next test) tells this one's clients from its own: a call they make
    /// after this simulator was dropped is answered 410, never served with
    /// another test's state. A request without the path, to
    /// [`addr`](Self::addr), is served too.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// let url = fake.url(); // "http://127.0.0.1:<port>/sim-<n>"
    /// assert!(url.starts_with(&format!("http://{}", fake.addr())));
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.shared.prefix)
    }

    /// A [`ClientBuilder`](crate::ClientBuilder) pointed at this simulator
    /// for both hosts (IAM and API) with the root token: a test's client is
    /// one line.
    ///
    /// ```
    /// let fake = neuroio::fake::FakeIam::start()?;
    /// let client = fake.client_builder().build()?;
    /// assert_eq!(client.tokens().list(None, 20, 0)?.len(), 1);
    /// assert!(client.stream_tokens().list(None, 20, 0)?.is_empty());
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn client_builder(&self) -> crate::ClientBuilder {
        crate::Client::builder()
            .api_token(self.root_token())
            .iam_url(self.url())
            .api_url(self.url())
    }

    /// The socket address the simulator listens on.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// assert!(fake.addr().ip().is_loopback());
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The key of the first account's permanent root token.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// assert_eq!(fake.root_token().len(), 40);
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn root_token(&self) -> String {
        self.root_token.clone()
    }

    /// Adds a separate account with its own permanent root token, and
    /// returns that token's key. Accounts never see each other's tokens.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// let other = fake.add_account();
    /// assert_ne!(other, fake.root_token());
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn add_account(&self) -> String {
        self.shared.with_state(store::State::add_account)
    }

    /// The username of the first account's user: `root`. Log in with it and
    /// [`root_password`](FakeIam::root_password) at `POST /v1/auth/token/`.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// assert_eq!(fake.root_username(), "root");
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn root_username(&self) -> String {
        self.shared
            .with_state(|state| state.credentials(ROOT_ACCOUNT))
            .map(|(username, _)| username)
            .unwrap_or_default()
    }

    /// The current password of the first account's user: random at start,
    /// and what `POST /v1/auth/password/change/` last set.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// assert!(!fake.root_password().is_empty());
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn root_password(&self) -> String {
        self.shared
            .with_state(|state| state.credentials(ROOT_ACCOUNT))
            .map(|(_, password)| password)
            .unwrap_or_default()
    }

    /// Adds a separate account whose user logs in with `username` and
    /// `password`, and returns the key of its permanent root token.
    ///
    /// Fails with [`Error::Config`] when the username is empty or taken, or
    /// the password is empty.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// let key = fake.add_account_with_user("alice", "s3cret")?;
    /// assert_eq!(key.len(), 40);
    /// assert!(fake.add_account_with_user("alice", "other").is_err());
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn add_account_with_user(&self, username: &str, password: &str) -> crate::Result<String> {
        self.shared
            .with_state(|state| state.add_account_with_user(username, password))
            .map_err(|e| {
                let reason = match e {
                    store::UserError::EmptyUsername => "the username is empty",
                    store::UserError::EmptyPassword => "the password is empty",
                    store::UserError::UsernameTaken => "the username is taken",
                };
                Error::Config(ConfigError::InvalidSetting {
                    name: "FakeIam::add_account_with_user",
                    reason: reason.to_owned(),
                })
            })
    }

    /// Adds a space named `name` to the account of the token whose key is
    /// `api_token` (an account or a space token), and returns the space's
    /// id, for `POST /v1/spaces/<id>/tokens/`. Every account also has a
    /// space named `default`, which `GET /v1/whoami/` shows.
    ///
    /// Fails with [`Error::InvalidTokenRef`] when no token has that key.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// let space = fake.add_space(&fake.root_token(), "cameras")?;
    /// assert!(space > 0);
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn add_space(&self, api_token: &str, name: &str) -> crate::Result<u64> {
        self.shared
            .with_state(|state| state.add_space(api_token, name))
            .ok_or(Error::InvalidTokenRef(
                "the simulator has no token with this key",
            ))
    }

    /// Sets the lifetime of temporary tokens created from now on (24 h by
    /// default; tokens already made keep theirs), so a test can watch tokens
    /// expire in real time. Values are clamped to 1 ms ..= 100 years; returns
    /// the lifetime in effect.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// use std::time::Duration;
    /// assert_eq!(fake.set_temporary_lifetime(Duration::from_secs(2)), Duration::from_secs(2));
    /// assert!(fake.set_temporary_lifetime(Duration::MAX) < Duration::MAX);
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn set_temporary_lifetime(&self, lifetime: Duration) -> Duration {
        self.shared
            .with_state(|state| state.set_temporary_lifetime(lifetime))
    }

    /// Sets how long a connection may wait before the next request starts
    /// and then take to send it in full (head and body), and how long it
    /// may take to take in each answer; returns the timeout now in force.
    /// An idle connection is closed when it runs out; one that sent part of
    /// a request gets 408 and is closed; one that does not read its answers
    /// (it sends requests and never reads, so the socket's buffers fill) is
    /// closed with the answer cut short. So neither silent, slow nor deaf
    /// clients can hold the simulator's connection slots (it serves at most
    /// 256 at once). Defaults to
    /// [`DEFAULT_IDLE_TIMEOUT`] (10 s); a zero timeout is raised to 1 ms.
    /// The new timeout applies at once, to connections already waiting too.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// use std::time::Duration;
    /// assert_eq!(fake.set_idle_timeout(Duration::from_secs(2)), Duration::from_secs(2));
    /// assert_eq!(fake.set_idle_timeout(Duration::ZERO), Duration::from_millis(1));
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn set_idle_timeout(&self, timeout: Duration) -> Duration {
        let timeout = timeout.max(Duration::from_millis(1));
        *lock(&self.shared.idle_timeout) = timeout;
        timeout
    }

    /// Adds `count` temporary tokens to the account of the token whose key
    /// is `api_token` (to its space, for a space token), without going
    /// through HTTP: for tests of accounts with many tokens.
    ///
    /// Fails with [`Error::InvalidTokenRef`] when no token has that key.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// fake.add_temporary_tokens(&fake.root_token(), 1_000)?;
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn add_temporary_tokens(&self, api_token: &str, count: usize) -> crate::Result<()> {
        if self
            .shared
            .with_state(|state| state.add_temporary_tokens(api_token, count))
        {
            Ok(())
        } else {
            Err(Error::InvalidTokenRef(
                "the simulator has no token with this key",
            ))
        }
    }

    /// Moves the simulator's clock forward, so temporary tokens can expire
    /// without waiting. The clock stops at 1,000 years ahead of the real
    /// one, so any duration, even `Duration::MAX`, is safe to pass.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// let before = fake.now();
    /// fake.advance(std::time::Duration::from_secs(3600));
    /// assert!(fake.now() - before >= neuroio::time::Duration::hours(1));
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn advance(&self, by: Duration) {
        self.shared.with_state(|state| state.advance(by));
    }

    /// The simulator's current time: the real clock plus every `advance`.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// let now = fake.now();
    /// # let _ = now;
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn now(&self) -> OffsetDateTime {
        self.shared.with_state(|state| state.now())
    }

    /// Makes the next `times` requests meet `fault`, after any faults already
    /// queued.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// use neuroio::fake::Fault;
    /// fake.inject(Fault::status(503), 2);
    /// fake.inject(Fault::Close, 1);
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn inject(&self, fault: Fault, times: usize) {
        let mut faults = lock(&self.shared.faults);
        faults.extend(std::iter::repeat_n((None, fault), times));
    }

    /// Makes the next `times` requests with this `method` and `path` meet
    /// `fault`, and leaves other requests alone: faults aimed at one route.
    /// A `path` ending in `*` is a prefix (`/v1/tokens/*` is every token
    /// path). A request takes the first queued fault aimed at it, or at any
    /// request ([`inject`](Self::inject)).
    ///
    /// ```
    /// # fn main() -> neuroio::Result<()> {
    /// use neuroio::fake::{FakeIam, Fault};
    /// let fake = FakeIam::start()?;
    /// let client = fake.client_builder().build()?;
    /// // Minting fails; everything else works.
    /// fake.inject_at("POST", "/v1/tokens/", Fault::status(503), 1);
    /// assert!(client.whoami().is_ok());
    /// assert_eq!(client.tokens().create(false).unwrap_err().status(), Some(503));
    /// assert_eq!(fake.requests()[1].fault, Some(Fault::status(503)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn inject_at(&self, method: &str, path: &str, fault: Fault, times: usize) {
        let aim = Aim {
            method: method.to_owned(),
            path: path.to_owned(),
        };
        let mut faults = lock(&self.shared.faults);
        faults.extend(std::iter::repeat_n((Some(aim), fault), times));
    }

    /// Gives the next temporary token created (by any route) this lifetime,
    /// zero included (then `expires` equals `created` and the token never
    /// authenticates); later ones get the usual lifetime again (see
    /// [`set_temporary_lifetime`](Self::set_temporary_lifetime)). At most
    /// 100 years.
    ///
    /// ```
    /// # fn main() -> neuroio::Result<()> {
    /// let fake = neuroio::fake::FakeIam::start()?;
    /// let client = fake.client_builder().build()?;
    /// fake.set_next_lifetime(std::time::Duration::ZERO);
    /// let born_dead = client.tokens().create(false)?;
    /// assert_eq!(born_dead.expires, Some(born_dead.created));
    /// let normal = client.tokens().create(false)?;
    /// assert!(normal.expires > Some(normal.created));
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_next_lifetime(&self, lifetime: Duration) {
        self.shared
            .with_state(|state| state.set_next_lifetime(lifetime));
    }

    /// With `on`, every temporary token serves exactly one call: the call
    /// after it is answered 401 and the token is deleted, as a broken or
    /// hostile server might accept a token once and then refuse it. Off by
    /// default; switching it (either way) starts every token's count anew.
    ///
    /// ```
    /// # fn main() -> neuroio::Result<()> {
    /// let fake = neuroio::fake::FakeIam::start()?;
    /// let client = fake.client_builder().build()?;
    /// fake.set_one_call_tokens(true);
    /// let token = client.tokens().create(false)?;
    /// let once = client.with_api_token(&token.key)?;
    /// once.whoami()?;
    /// assert!(once.whoami().unwrap_err().is_unauthorized());
    /// client.whoami()?; // a permanent token serves on
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_one_call_tokens(&self, on: bool) {
        self.shared
            .with_state(|state| state.set_one_call_tokens(on));
    }

    /// Deletes the token whose key is `api_token`, as if someone revoked it
    /// elsewhere: calls with it answer 401 from now on. Returns whether
    /// there was such a token.
    ///
    /// ```
    /// # fn main() -> neuroio::Result<()> {
    /// let fake = neuroio::fake::FakeIam::start()?;
    /// let client = fake.client_builder().build()?;
    /// let token = client.tokens().create(false)?;
    /// assert!(fake.revoke(token.key.secret()));
    /// assert!(client.with_api_token(&token.key)?.whoami().unwrap_err().is_unauthorized());
    /// assert!(!fake.revoke(token.key.secret()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn revoke(&self, api_token: &str) -> bool {
        self.shared.with_state(|state| state.revoke(api_token))
    }

    /// Drops every queued fault.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// fake.inject(neuroio::fake::Fault::status(500), 10);
    /// fake.clear_faults();
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// The requests received so far, oldest first.
    ///
    /// The log is bounded: it keeps at most the last 10,000 requests and at
    /// most about 4 MiB in all. Each entry keeps the first 4 KiB of its body
    /// ([`RecordedRequest::body_len`] tells the whole length), and when the
    /// log grows past either bound the oldest entries are dropped.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// assert!(fake.requests().is_empty());
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).all()
    }

    /// Forgets the requests received so far.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// fake.clear_requests();
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// The requests received so far, oldest first, and forgets them, in
    /// one step: a test that watches a long run takes them every so often,
    /// so none is missed and the log's bound is never reached.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// fake.client_builder().build()?.whoami()?;
    /// assert_eq!(fake.take_requests().len(), 1);
    /// assert!(fake.requests().is_empty());
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn take_requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).take()
    }

    /// How many tokens the simulator holds now, of every account: tokens and
    /// stream tokens, permanent and temporary, expired ones not yet
    /// forgotten included (see [`EXPIRED_KEPT_FOR`]).
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// fake.add_temporary_tokens(&fake.root_token(), 10)?;
    /// assert_eq!(fake.stored_tokens(), 11); // and the root token
    /// fake.advance(std::time::Duration::from_secs(2 * 24 * 60 * 60));
    /// assert_eq!(fake.stored_tokens(), 1);
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn stored_tokens(&self) -> usize {
        self.shared.with_state(|state| state.tokens.len())
    }

    /// How many TCP connections the simulator has accepted.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// assert_eq!(fake.connections(), 0);
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// How many connections the simulator is serving now. A connection stops
    /// counting (and its socket is closed) as soon as it ends, whichever
    /// side closes it.
    ///
    /// ```
    /// # let fake = neuroio::fake::FakeIam::start()?;
    /// assert_eq!(fake.open_connections(), 0);
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn open_connections(&self) -> usize {
        *lock(&self.shared.live)
    }

    /// Stops serving: closes every connection, joins every thread and frees
    /// the port. Calling this twice is harmless. Dropping a simulator from
    /// [`FakeIam::start`] stops serving it too, but keeps its port and
    /// acceptor for the next simulator, and waits for no thread.
    ///
    /// ```
    /// let mut fake = neuroio::fake::FakeIam::start()?;
    /// let addr = fake.addr();
    /// fake.shutdown();
    /// assert!(std::net::TcpStream::connect(addr).is_err());
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn shutdown(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}

impl Drop for FakeIam {
    fn drop(&mut self) {
        match self.server.take() {
            Some(server) if self.pooled => server.park(),
            Some(server) => server.stop(),
            None => {}
        }
    }
}

impl fmt::Debug for FakeIam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeIam")
            .field("addr", &self.addr)
            .field("root_token", &"[redacted]")
            .field("connections", &self.connections())
            .finish()
    }
}
