//! Configuration: the builder, its defaults, the checks on URLs and tokens,
//! and the one `ureq` agent every client derived from a build shares.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::client::{Client, Inner};
use crate::credentials::file::{RECHECK, TokenFile};
use crate::credentials::renewing::Renewer;
use crate::credentials::{Credential, Credentials, Parent};
use crate::error::{ConfigError, Error};
use crate::secret::TokenKey;
use crate::transport::Transport;
use crate::transport::connect::shown_url;
pub(crate) use crate::transport::{Host, Settings};

/// The IAM service's address, used when none is configured.
pub const DEFAULT_IAM_URL: &str = "https://iam.neuroio.com";

/// The API service's address (stream tokens live there), used when none is
/// configured.
pub const DEFAULT_API_URL: &str = "https://api.neuroio.com";

/// How long one attempt of a request may take unless
/// [`ClientBuilder::timeout`] says otherwise: 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How many times an idempotent call is retried unless
/// [`ClientBuilder::max_retries`] says otherwise: 2.
pub const DEFAULT_MAX_RETRIES: u32 = 2;

const DEFAULT_MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;
const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_millis(200);
const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(5);
const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// How many idle connections a client keeps open per host unless
/// [`ClientBuilder::max_idle_connections_per_host`] says otherwise: 16,
/// enough for a handful of threads sharing one client.
pub const DEFAULT_MAX_IDLE_CONNECTIONS_PER_HOST: usize = 16;

/// The longest any duration setting may be: longer ones are mistakes, and
/// the transport's clock arithmetic cannot take `Duration::MAX`.
const MAX_DURATION_SETTING: Duration = Duration::from_secs(24 * 60 * 60);

impl Settings {
    /// Refuses durations no call could honour.
    fn check(&self) -> Result<(), ConfigError> {
        let durations = [
            ("timeout", Some(self.timeout)),
            ("connect_timeout", self.connect_timeout),
            ("retry_backoff", Some(self.backoff_max)),
            ("max_retry_after", Some(self.max_retry_after)),
        ];
        for (name, value) in durations {
            match value {
                Some(d) if d > MAX_DURATION_SETTING => {
                    return Err(ConfigError::InvalidSetting {
                        name,
                        reason: format!("{d:?} is longer than a day; give at most 24 h"),
                    });
                }
                Some(d) if d.is_zero() && name.ends_with("timeout") => {
                    return Err(ConfigError::InvalidSetting {
                        name,
                        reason: "a zero timeout fails every call; give a positive duration"
                            .to_owned(),
                    });
                }
                _ => {}
            }
        }
        if self.max_idle_per_host == 0 {
            return Err(ConfigError::InvalidSetting {
                name: "max_idle_connections_per_host",
                reason: "0 would open a new connection for every call; give at least 1".to_owned(),
            });
        }
        Ok(())
    }
}

/// Settings for a [`Client`]; every one has a default but the API token.
///
/// ```
/// use std::time::Duration;
/// let client = neuroio::Client::builder()
///     .api_token("my-api-token")
///     .timeout(Duration::from_secs(10))
///     .connect_timeout(Duration::from_secs(2))
///     .build()?;
/// # let _ = client;
/// # Ok::<(), neuroio::Error>(())
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct ClientBuilder {
    pub(crate) api_token: Option<TokenKey>,
    pub(crate) api_token_file: Option<PathBuf>,
    pub(crate) iam_url: String,
    pub(crate) api_url: String,
    pub(crate) settings: Settings,
    pub(crate) renew_before: Option<Duration>,
    pub(crate) keep_replaced: Duration,
    pub(crate) renew_space: Option<u64>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            api_token: None,
            api_token_file: None,
            iam_url: DEFAULT_IAM_URL.to_owned(),
            api_url: DEFAULT_API_URL.to_owned(),
            settings: Settings {
                timeout: DEFAULT_TIMEOUT,
                connect_timeout: None,
                max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
                allow_insecure_http: false,
                max_retries: DEFAULT_MAX_RETRIES,
                backoff_initial: DEFAULT_BACKOFF_INITIAL,
                backoff_max: DEFAULT_BACKOFF_MAX,
                max_retry_after: DEFAULT_MAX_RETRY_AFTER,
                env_proxy: true,
                max_idle_per_host: DEFAULT_MAX_IDLE_CONNECTIONS_PER_HOST,
            },
            renew_before: None,
            keep_replaced: Duration::ZERO,
            renew_space: None,
        }
    }
}

/// Reads an optional URL setting from the environment; blank counts as unset.
fn url_from_env(name: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var(name) {
        Ok(url) if !url.trim().is_empty() => Ok(Some(url)),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::InvalidSetting {
            name,
            reason: "not valid UTF-8".to_owned(),
        }),
    }
}

impl ClientBuilder {
    /// A builder filled from the environment: the API token from the file
    /// named by `NEUROIO_API_TOKEN_FILE` (see
    /// [`api_token_file`](Self::api_token_file)), else from
    /// `NEUROIO_API_TOKEN`; and, when set, `NEUROIO_IAM_URL` and
    /// `NEUROIO_API_URL`. Further settings can follow.
    ///
    /// `NEUROIO_API_TOKEN_FILE` wins when both token variables are set: a
    /// token file is what a rotating writer keeps current, while a token in
    /// the environment is frozen when the process starts. Set to an empty
    /// value, it counts as unset. The file itself is read by `build`.
    ///
    /// ```no_run
    /// let client = neuroio::ClientBuilder::from_env()?
    ///     .timeout(std::time::Duration::from_secs(60))
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn from_env() -> crate::Result<ClientBuilder> {
        if let Some(path) = std::env::var_os("NEUROIO_API_TOKEN_FILE").filter(|p| !p.is_empty()) {
            return Ok(ClientBuilder::from_env_urls()?.api_token_file(path));
        }
        let token = match std::env::var("NEUROIO_API_TOKEN") {
            Ok(token) => token,
            Err(std::env::VarError::NotPresent) => return Err(ConfigError::MissingApiToken.into()),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(
                    ConfigError::InvalidApiToken("NEUROIO_API_TOKEN is not valid UTF-8").into(),
                );
            }
        };
        Ok(ClientBuilder::from_env_urls()?.api_token(token))
    }

    /// A builder with the service addresses from `NEUROIO_IAM_URL` and
    /// `NEUROIO_API_URL` when they are set (the real services when unset or
    /// blank), and no API token: for [`login`](Self::login), or to add a
    /// token of your own. Unlike [`from_env`](Self::from_env) it never reads
    /// `NEUROIO_API_TOKEN`, so it works before you have one.
    ///
    /// Fails only on a variable that is not valid UTF-8; the URLs themselves
    /// are checked by `build` (or `login`), like any other.
    ///
    /// ```no_run
    /// let password = std::env::var("NEUROIO_PASSWORD").unwrap_or_default();
    /// let (client, login) = neuroio::ClientBuilder::from_env_urls()?.login("ada", &password)?;
    /// println!("logged in as {} on {}", login.user.username, client.iam_url());
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn from_env_urls() -> crate::Result<ClientBuilder> {
        let mut builder = ClientBuilder::default();
        if let Some(url) = url_from_env("NEUROIO_IAM_URL")? {
            builder = builder.iam_url(url);
        }
        if let Some(url) = url_from_env("NEUROIO_API_URL")? {
            builder = builder.api_url(url);
        }
        Ok(builder)
    }

    /// A builder filled from the profile `name` of the credentials file
    /// (see [`Profiles`](crate::Profiles)): its token, and its IAM and API
    /// URLs when it has them. `None` picks `NEUROIO_PROFILE`, else the
    /// file's current profile (`neuroio auth switch`), else `default`. Further settings can follow. The environment's
    /// `NEUROIO_API_TOKEN` and URLs are not read.
    ///
    /// ```no_run
    /// let client = neuroio::ClientBuilder::from_profile(Some("staging"))?
    ///     .timeout(std::time::Duration::from_secs(60))
    ///     .build()?;
    /// println!("staging is at {}", client.iam_url());
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn from_profile(name: Option<&str>) -> crate::Result<ClientBuilder> {
        use crate::credentials::profile::Profiles;
        let profiles = Profiles::load(Profiles::default_path()?)?;
        let name = profiles.chosen(name)?;
        let (profile, token) = profiles.with_token(&name)?;
        let mut builder = ClientBuilder::default().api_token(token.clone());
        if let Some(url) = &profile.iam_url {
            builder = builder.iam_url(url);
        }
        if let Some(url) = &profile.api_url {
            builder = builder.api_url(url);
        }
        Ok(builder)
    }

    /// The API token sent as `Authorization: Token <api_token>` on every call:
    /// a `&str`, `String`, `&String` or [`TokenKey`] (such as a new token's
    /// `key`).
    ///
    /// Required, or a token file instead
    /// ([`api_token_file`](Self::api_token_file)); `build` fails without
    /// either. Of the two, the one given last counts.
    ///
    /// ```
    /// let builder = neuroio::Client::builder().api_token("my-api-token");
    /// # let _ = builder;
    /// ```
    pub fn api_token(mut self, api_token: impl Into<TokenKey>) -> Self {
        self.api_token = Some(api_token.into());
        self.api_token_file = None;
        self
    }

    /// Sends every call with the API token in the file at `path`, and
    /// follows the file as another program replaces it: a token agent, a
    /// sidecar, a Kubernetes projected volume. A job can
    /// then run for days on temporary tokens with no code of its own for
    /// rotation. Instead of [`api_token`](Self::api_token); of the two,
    /// the one given last counts.
    ///
    /// The file holds the key alone (surrounding whitespace, such as a
    /// trailing newline, is ignored), or the token agent's JSON
    /// `{"id": 17, "key": "...", "expires": "..."}` (recognised by its
    /// leading `{`; only `key` is used, `id` names the token in logs). It
    /// may hold at most [`MAX_TOKEN_FILE_BYTES`](crate::MAX_TOKEN_FILE_BYTES).
    ///
    /// - `build` reads the file. A file that is missing, empty, too large,
    ///   not a regular file, unreadable or without a key that can be sent
    ///   is an [`Error::Config`] with [`ConfigError::TokenFile`], which
    ///   names the path, says what is wrong
    ///   ([`TokenFileErrorKind`](crate::TokenFileErrorKind)) and what to do.
    /// - At most once a second, one call looks at the file's size,
    ///   modification time and (on Unix) inode and change time, without
    ///   reading it, and reads it again when they changed; other calls do
    ///   not wait for it. A new key is used from the next call on.
    /// - After a 401, the call reads the file once more (whatever it looks
    ///   like) and, if the key changed, repeats itself once with the new
    ///   key; otherwise it returns the 401. So a call sent with a key
    ///   deleted a moment before the next look still succeeds.
    /// - A read that fails once the client is built (the file missing,
    ///   empty, too large or half-written during a rotation) keeps the last
    ///   good key, logs why at `debug` level, and tries again at the next
    ///   look: calls never fail because of the file itself. If that key
    ///   stops working, calls get the API's 401.
    ///
    /// Write the file atomically (a temporary file in the same folder,
    /// then a rename over the token file) so that a reader sees the old
    /// key or the new one, and delete the old token only after a grace
    /// period of more than a second. With [`renewing`](Self::renewing)
    /// too, the file's key is the renewing client's parent: it mints the
    /// first working token, and any later one a working token cannot
    /// (after an outage longer than a token's life, or a revocation), with
    /// the key the file holds then; after the parent is refused, the file
    /// is read again at once.
    ///
    /// Defaults to none: the token comes from [`api_token`](Self::api_token).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("neuroio-doc-{}.token", std::process::id()));
    /// std::fs::write(&path, "my-api-token\n")?; // the agent's job, in real life
    /// let client = neuroio::Client::builder().api_token_file(&path).build()?;
    /// // ... calls from as many threads as you like, for days ...
    /// # drop(client);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn api_token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.api_token_file = Some(path.into());
        self.api_token = None;
        self
    }

    /// The IAM base URL (tokens, log in, passwords, who am I, spaces). A path
    /// prefix (`https://gateway.example/iam`) is kept; a trailing slash is
    /// fine.
    ///
    /// Defaults to `https://iam.neuroio.com`.
    ///
    /// ```
    /// let builder = neuroio::Client::builder().iam_url("http://127.0.0.1:8080");
    /// # let _ = builder;
    /// ```
    pub fn iam_url(mut self, iam_url: impl Into<String>) -> Self {
        self.iam_url = iam_url.into();
        self
    }

    /// The API base URL, where stream tokens live. Checked like the IAM URL.
    ///
    /// Defaults to `https://api.neuroio.com`.
    ///
    /// ```
    /// let builder = neuroio::Client::builder().api_url("http://127.0.0.1:8080");
    /// # let _ = builder;
    /// ```
    pub fn api_url(mut self, api_url: impl Into<String>) -> Self {
        self.api_url = api_url.into();
        self
    }

    /// The longest one attempt of a request may take, from connecting to the
    /// last byte of the answer. A call that is retried may take up to
    /// `max_retries + 1` times this, plus the waits between attempts.
    ///
    /// Defaults to 30 s; more than a day, or zero, is refused by `build`.
    ///
    /// ```
    /// let builder = neuroio::Client::builder().timeout(std::time::Duration::from_secs(4));
    /// # let _ = builder;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// The longest opening a connection may take, within [`timeout`](Self::timeout).
    ///
    /// Defaults to no separate limit (only the overall timeout applies).
    ///
    /// ```
    /// let builder = neuroio::Client::builder().connect_timeout(std::time::Duration::from_secs(2));
    /// # let _ = builder;
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = Some(timeout);
        self
    }

    /// The largest answer body the client reads; a larger one fails with a
    /// transport error of kind
    /// [`ResponseTooLarge`](crate::TransportErrorKind::ResponseTooLarge), so
    /// a broken server cannot exhaust memory.
    ///
    /// Defaults to 4 MiB (a page of 100 tokens is about 20 KiB).
    ///
    /// ```
    /// let builder = neuroio::Client::builder().max_response_bytes(1 << 20);
    /// # let _ = builder;
    /// ```
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.settings.max_response_bytes = bytes;
        self
    }

    /// How many times an idempotent call (get, list, update, delete, delete
    /// many, who am I) is retried after a passing failure: a failed or lost
    /// connection, a timeout, or the statuses 429, 502, 503 and 504. `0`
    /// turns retries off. Calls that mint or change credentials (create, log
    /// in, space tokens, change password) are never retried, whatever this
    /// says: a lost answer may already have done the work. A rejected TLS
    /// certificate is never retried either.
    ///
    /// Defaults to 2 (three attempts in all).
    ///
    /// ```
    /// let builder = neuroio::Client::builder().max_retries(5);
    /// # let _ = builder;
    /// ```
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.settings.max_retries = retries;
        self
    }

    /// The backoff between retries: before retry `n` the client waits a
    /// random time between zero and `initial * 2^(n-1)`, capped at `max`
    /// ("full jitter", so that many clients do not retry in step). A
    /// `Retry-After` from the server replaces this wait.
    ///
    /// Defaults to 200 ms and 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = neuroio::Client::builder()
    ///     .retry_backoff(Duration::from_millis(100), Duration::from_secs(2));
    /// # let _ = builder;
    /// ```
    pub fn retry_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.settings.backoff_initial = initial;
        self.settings.backoff_max = max;
        self
    }

    /// The longest `Retry-After` the client waits for before retrying. When
    /// the server asks for longer, the call fails at once with the
    /// [`ApiError`](crate::ApiError) whose `retry_after` carries the
    /// requested wait, and the caller decides.
    ///
    /// Defaults to 30 s.
    ///
    /// ```
    /// let builder = neuroio::Client::builder().max_retry_after(std::time::Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn max_retry_after(mut self, cap: Duration) -> Self {
        self.settings.max_retry_after = cap;
        self
    }

    /// Whether the proxy settings of the environment apply (`HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, in either case). `false`
    /// connects directly. Requests to this machine (`localhost`,
    /// `127.0.0.0/8`, `::1`) never go through a proxy, whatever this says: a
    /// proxy would see a clear-text token, and would resolve `localhost` on
    /// its own machine.
    ///
    /// Defaults to `true`.
    ///
    /// ```
    /// let builder = neuroio::Client::builder().env_proxy(false);
    /// # let _ = builder;
    /// ```
    pub fn env_proxy(mut self, use_it: bool) -> Self {
        self.settings.env_proxy = use_it;
        self
    }

    /// Allows an `http://` IAM or API URL whose host is not on this machine.
    /// The API token then travels in clear text; use this only on a network
    /// you trust. Loopback addresses (`localhost`, `127.0.0.0/8`, `::1`) are
    /// always allowed.
    ///
    /// Defaults to `false`.
    ///
    /// ```
    /// let client = neuroio::Client::builder()
    ///     .api_token("t")
    ///     .iam_url("http://iam.internal:8080")
    ///     .allow_insecure_http(true)
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.settings.allow_insecure_http = allow;
        self
    }

    /// How many idle connections the client keeps open to each host for
    /// the next calls. Threads sharing one client beyond this number open
    /// connections that are closed after their call; a batch job with many
    /// threads may raise it, a short script may lower it. At least 1.
    ///
    /// Defaults to [`DEFAULT_MAX_IDLE_CONNECTIONS_PER_HOST`] (16).
    ///
    /// ```
    /// let client = neuroio::Client::builder()
    ///     .api_token("my-api-token")
    ///     .max_idle_connections_per_host(64) // 64 threads share this client
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn max_idle_connections_per_host(mut self, connections: usize) -> Self {
        self.settings.max_idle_per_host = connections;
        self
    }

    /// Makes the client renew its own temporary token, the practice the
    /// API recommends: the API token given to [`api_token`](Self::api_token)
    /// becomes the *parent*, used only to mint and to tidy up. On first use
    /// the client mints a temporary working token (24 hours) and sends every
    /// call with it. When less than `renew_before` is left (at most half the
    /// token's lifetime), one thread mints a successor with the working
    /// token while the others carry on with the current one; every thread
    /// switches, and the predecessor is deleted once no call uses it.
    ///
    /// Renewal stays bounded when the service fails:
    ///
    /// - One mint is in flight per client, clones included. A thread that
    ///   needs a token while it is in flight waits for it (at most its own
    ///   [`timeout`](Self::timeout)) and shares its outcome, success or
    ///   error; it never mints because that mint failed.
    /// - After a failed mint (no answer, 429 or 5xx, an answer that cannot
    ///   be read, or a token that cannot be used) the next waits: an
    ///   exponential backoff from [`retry_backoff`](Self::retry_backoff)
    ///   that keeps at least half of each wait, and never less than the
    ///   server's `Retry-After`. Meanwhile calls use a working token that
    ///   still has time left; without one they send nothing and fail at
    ///   once with [`Error::Renewal`](crate::Error::Renewal), which names
    ///   the failure and when the next mint will be tried. With the default
    ///   backoff, 8 threads calling without pause for 10 s against a failing
    ///   service make at most 12 mints, whatever fails (the mints, or one
    ///   host or both refusing the tokens).
    /// - A token that cannot be used (refused with 401 by a host before any
    ///   call to that host succeeded with it, even if the other host accepts
    ///   it; already expired, living less than one request may take,
    ///   inactive, or with a key that cannot be sent) is deleted with the
    ///   parent, never used, and counts as a failed mint. The failures in a
    ///   row end only when a token works on the host that refused.
    /// - A 401 for a working token that had worked on that host and has
    ///   been in use a while (a quarter of its lifetime, at most 30 s:
    ///   revoked elsewhere) is answered with one replacement, minted with
    ///   the parent, and one repeat of the call; if the replacement is
    ///   refused too, the call returns that 401 and the next mint waits for
    ///   the backoff. A token refused sooner after calls succeeded with it
    ///   (tokens deleted by an admin just after it was minted) is replaced
    ///   at once too, the first time in a row; when its replacement is
    ///   refused as soon, that is a failed mint: the call returns the 401
    ///   and the backoff grows (a server that accepts each token once and
    ///   then refuses it stays within the bound above). A 401 for the
    ///   parent itself is returned as it is.
    /// - Tidying up is bounded on the calling threads: the thread that
    ///   minted sends at most two deletes, any other call at most one, each
    ///   given up after the [`timeout`](Self::timeout) or 1 s, whichever is
    ///   shorter (and tried again at the next renewal and at `close`). A
    ///   call takes at most its mint or its wait for another's (one timeout
    ///   each), two such deletes and its own attempts with their backoff;
    ///   after a 401, that once more for the replacement.
    ///
    /// A mint whose answer was lost (a timeout, a dropped connection, a
    /// 5xx) is never repeated at once: it may have made a token, which the
    /// client cannot know of and which expires on its own. There is at most
    /// one such token per failed attempt, and the backoff keeps those few.
    ///
    /// [`Client::close`] waits for a mint in flight and for tidying in
    /// progress, then deletes every token the client minted that is still
    /// live (a superseded or unusable one whose delete failed is also tried
    /// again at the next renewal) and names every one it could not delete
    /// in [`RenewalError`](crate::RenewalError)'s `not_deleted`; after it
    /// the client mints nothing more. Dropping the last clone closes, best
    /// effort. [`Client::with_api_token`] and [`Client::rotate`] on a
    /// renewing client return plain clients that do not renew.
    ///
    /// Defaults to off: calls are sent with the API token itself.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::Client::builder()
    ///     .api_token(std::env::var("NEUROIO_API_TOKEN").unwrap_or_default())
    ///     .renewing(std::time::Duration::from_secs(3600))
    ///     .build()?;
    /// client.tokens().list(None, 10, 0)?; // sent with a temporary working token
    /// client.close()?;                    // deletes the working token
    /// # Ok(())
    /// # }
    /// ```
    pub fn renewing(mut self, renew_before: Duration) -> Self {
        self.renew_before = Some(renew_before);
        self
    }

    /// How long a [renewing](Self::renewing) client keeps a working token
    /// it replaced before deleting it: for a program that hands the
    /// working token's key to others (see
    /// [`Client::working_token`]), so that a reader that has just read
    /// the old key can still finish its call. [`Client::close`] deletes a
    /// kept token at once, like every other token the client minted.
    ///
    /// Defaults to zero: a replaced token is deleted as soon as no call of
    /// this client uses it. More than a day is refused by `build`.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::ClientBuilder::from_env()?
    ///     .renewing(std::time::Duration::from_secs(3600))
    ///     .keep_replaced(std::time::Duration::from_secs(60))
    ///     .build()?;
    /// # let _ = client;
    /// # Ok(())
    /// # }
    /// ```
    pub fn keep_replaced(mut self, grace: Duration) -> Self {
        self.keep_replaced = grace;
        self
    }

    /// With [`renewing`](Self::renewing): the working tokens are tokens of
    /// space `space_id`, minted with the API token (an account token of
    /// the space's account) as [`Spaces::create_token`](crate::Spaces::create_token)
    /// makes them, and renewed with themselves. An account token cannot see
    /// a space's tokens, so the client deletes each with a token of the
    /// space (its own key, or the current working token).
    ///
    /// Defaults to none: working tokens of the API token's own account or
    /// space.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::ClientBuilder::from_env()?
    ///     .renewing(std::time::Duration::from_secs(3600))
    ///     .renewing_in_space(7)
    ///     .build()?;
    /// assert!(client.whoami()?.is_space_token()); // sent with a token of space 7
    /// client.close()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn renewing_in_space(mut self, space_id: u64) -> Self {
        self.renew_space = Some(space_id);
        self
    }

    /// Checks the settings and builds the client. Sends nothing; reads the
    /// token file, when one is given.
    ///
    /// Fails with [`Error::Config`] for a missing or malformed API token, a
    /// token file that gives no key ([`ConfigError::TokenFile`]), or an
    /// unusable URL or setting.
    ///
    /// ```
    /// let err = neuroio::Client::builder().api_token("has space").build().unwrap_err();
    /// assert!(err.to_string().contains("whitespace"));
    /// ```
    pub fn build(self) -> crate::Result<Client> {
        if self.renew_space.is_some() && self.renew_before.is_none() {
            return Err(ConfigError::InvalidSetting {
                name: "renewing_in_space",
                reason: "it says whose tokens a renewing client mints; add renewing".to_owned(),
            }
            .into());
        }
        // The token given, or the file that holds it (followed as it
        // changes); a renewing client mints with it as its parent.
        let credentials = match (&self.api_token_file, &self.api_token, self.renew_before) {
            (None, None, _) => return Err(ConfigError::MissingApiToken.into()),
            (Some(path), _, None) => Credentials::File(TokenFile::open(path.clone(), RECHECK)?),
            (None, Some(token), None) => Credentials::Fixed(Credential::new(token.clone())?),
            (file, token, Some(before)) => {
                if self.keep_replaced > MAX_DURATION_SETTING {
                    return Err(ConfigError::InvalidSetting {
                        name: "keep_replaced",
                        reason: format!(
                            "{:?} is longer than a day; give at most 24 h",
                            self.keep_replaced
                        ),
                    }
                    .into());
                }
                let parent = match (file, token) {
                    (Some(path), _) => Parent::File(TokenFile::open(path.clone(), RECHECK)?),
                    (None, Some(token)) => Parent::Fixed(Arc::new(Credential::new(token.clone())?)),
                    (None, None) => return Err(ConfigError::MissingApiToken.into()),
                };
                Credentials::Renewing(Renewer::new(
                    parent,
                    self.renew_space,
                    before,
                    self.keep_replaced,
                ))
            }
        };
        let mut client = self.connect()?;
        client.credentials = credentials;
        Ok(Client::from_inner(client))
    }

    /// Checks both URLs and makes the agent that serves them: a client with
    /// no credential yet.
    pub(crate) fn connect(&self) -> Result<Inner, Error> {
        self.settings.check()?;
        Ok(Inner {
            transport: Transport::connect(&self.settings, &self.iam_url, &self.api_url)?,
            credentials: Credentials::Anonymous,
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("iam_url", &shown_url(&self.iam_url))
            .field("api_url", &shown_url(&self.api_url))
            .field("api_token", &self.api_token)
            .field("api_token_file", &self.api_token_file)
            .field("settings", &self.settings)
            .field("renew_before", &self.renew_before)
            .field("keep_replaced", &self.keep_replaced)
            .field("renew_space", &self.renew_space)
            .finish()
    }
}

/// A client for another token sharing one agent and its settings.
pub(crate) fn with_token(transport: &Transport, api_token: TokenKey) -> Result<Inner, ConfigError> {
    Ok(Inner {
        transport: transport.clone(),
        credentials: Credentials::Fixed(Credential::new(api_token)?),
    })
}
