//! The client: the transport and the credentials behind an `Arc`, an
//! accessor for each resource, and the short call that joins them: present
//! the credential, send, and after a 401 ask the credentials for a
//! replacement (a token file's new key, a new working token) and repeat
//! once.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::tokens::Tokens;
use crate::config::ClientBuilder;
use crate::credentials::{Credentials, Presented};
use crate::secret::TokenKey;
use crate::transport::Transport;
use crate::transport::request::{Answer, Request};

/// How long the best-effort deletion when the last clone is dropped may take.
const DROP_DELETE_TIMEOUT: Duration = Duration::from_secs(5);

/// A blocking client for the NeuroIO token APIs.
///
/// It holds one connection pool (serving both the IAM and the API host) and
/// its settings behind an [`Arc`]: cloning is cheap, and clones share the
/// pool. `Client` is `Send + Sync`, so one client can serve many threads.
///
/// This client blocks the calling thread; in async code, call it from
/// `spawn_blocking` (or the runtime's equivalent), never on an executor
/// thread.
///
/// ```no_run
/// # fn main() -> neuroio::Result<()> {
/// let client = neuroio::Client::new("my-api-token")?;
/// let token = client.tokens().create(false)?;
/// if let Some(left) = token.expires_in() {
///     println!("created temporary token {}: {} min left", token.id, left.as_secs() / 60);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) transport: Transport,
    pub(crate) credentials: Credentials,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Credentials::Renewing(renewer) = &self.credentials
            && renewer.has_tokens()
        {
            let deadline = Instant::now().checked_add(DROP_DELETE_TIMEOUT);
            if let Err(err) = renewer.close(&self.transport, deadline) {
                log::debug!("renewing: on drop: {err}");
            }
        }
    }
}

impl Client {
    pub(crate) fn from_inner(inner: Inner) -> Client {
        Client {
            inner: Arc::new(inner),
        }
    }

    /// A client for `api_token` (a `&str`, `String` or
    /// [`TokenKey`](crate::TokenKey)) against the real service, with every
    /// other setting at its default.
    ///
    /// ```
    /// let client = neuroio::Client::new("my-api-token")?;
    /// assert_eq!(client.iam_url(), "https://iam.neuroio.com");
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn new(api_token: impl Into<TokenKey>) -> crate::Result<Client> {
        Client::builder().api_token(api_token).build()
    }

    /// A builder for a client with non-default settings.
    ///
    /// ```
    /// let client = neuroio::Client::builder()
    ///     .api_token("my-api-token")
    ///     .iam_url("http://127.0.0.1:8080")
    ///     .timeout(std::time::Duration::from_secs(4))
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: the API token from
    /// `NEUROIO_API_TOKEN` (required), the IAM URL from `NEUROIO_IAM_URL`
    /// and the API URL from `NEUROIO_API_URL` (both optional).
    ///
    /// ```no_run
    /// let client = neuroio::Client::from_env()?;
    /// # let _ = client;
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn from_env() -> crate::Result<Client> {
        ClientBuilder::from_env()?.build()
    }

    /// A client for the profile `name` of the credentials file that
    /// `neuroio login` writes (see [`Profiles`](crate::Profiles)): its token
    /// and URLs. `None` picks the profile named by `NEUROIO_PROFILE`, else
    /// `default`. A missing file or profile, a profile without a token, and
    /// a file others may read are each an
    /// [`Error::Profile`](crate::Error::Profile) naming the file and the
    /// profile.
    ///
    /// ```no_run
    /// let client = neuroio::Client::from_profile(None)?;
    /// let staging = neuroio::Client::from_profile(Some("staging"))?;
    /// println!("{} and {}", client.iam_url(), staging.iam_url());
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn from_profile(name: Option<&str>) -> crate::Result<Client> {
        ClientBuilder::from_profile(name)?.build()
    }

    /// The Tokens API on the IAM host (`/v1/tokens/`): create, list, get,
    /// update and delete tokens.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// for token in client.tokens().list(None, 20, 0)? {
    ///     println!("{} active={}", token.id, token.is_active);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens::new(self, crate::api::tokens::Endpoints::TOKENS)
    }

    /// The stream tokens API on the API host (`/v1/streams/tokens/`): the
    /// same operations as [`tokens`](Self::tokens), for the tokens that
    /// authorise video streams.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let stream_token = client.stream_tokens().create(false)?;
    /// client.stream_tokens().delete(&stream_token)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn stream_tokens(&self) -> Tokens<'_> {
        Tokens::new(self, crate::api::tokens::Endpoints::STREAM_TOKENS)
    }

    /// Passwords: [`Auth::change_password`](crate::Auth::change_password).
    /// (Logging in needs no client: see
    /// [`ClientBuilder::login`](crate::ClientBuilder::login).)
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// client.auth().change_password("old secret", "new secret", false)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn auth(&self) -> crate::Auth<'_> {
        crate::Auth::new(self)
    }

    /// The account's spaces (`/v1/spaces/` on the IAM host): create, list,
    /// get, rename and delete spaces, and create space tokens.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let space = client.spaces().create("Warehouse")?;
    /// let token = client.spaces().create_token(space.id, true)?;
    /// println!("token {} for space {}", token.id, space.name);
    /// # Ok(())
    /// # }
    /// ```
    pub fn spaces(&self) -> crate::Spaces<'_> {
        crate::Spaces::new(self)
    }

    /// A client for another API token that shares this client's connection
    /// pool and settings. The new client uses that token as it is: made
    /// from a renewing client, it does not renew.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::Client::new("my-api-token")?;
    /// let temporary = client.tokens().create(false)?;
    /// let as_temporary = client.with_api_token(&temporary.key)?;
    /// # let _ = as_temporary;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_api_token(&self, api_token: impl Into<TokenKey>) -> crate::Result<Client> {
        Ok(Client::from_inner(crate::config::with_token(
            &self.inner.transport,
            api_token.into(),
        )?))
    }

    /// Rotates to a fresh temporary token: creates it with the current
    /// token, checks that it authenticates, and returns a client using it
    /// (sharing this client's connection pool) with the new token.
    ///
    /// The old token is left alone: delete it with the new client, or let it
    /// expire. On a renewing client (see
    /// [`ClientBuilder::renewing`](crate::ClientBuilder::renewing)) the new
    /// token is made with the current working token, and the client
    /// returned is a plain one that does not renew. If the check fails, the new token is deleted again (best
    /// effort) and the error returned. Like [`Tokens::create`], rotation is
    /// never retried.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::Client::from_env()?;
    /// let (client, token) = client.rotate()?;
    /// if let Some(left) = token.expires_in() {
    ///     println!("now using token {}, {} min left", token.id, left.as_secs() / 60);
    /// }
    /// # let _ = client;
    /// # Ok(())
    /// # }
    /// ```
    pub fn rotate(&self) -> crate::Result<(Client, crate::Token)> {
        let token = self.tokens().create(false)?;
        let rotated = self.with_api_token(&token.key)?;
        match rotated.tokens().get(token.id) {
            Ok(_) => Ok((rotated, token)),
            Err(err) => {
                if let Err(cleanup) = self.tokens().delete(token.id) {
                    log::debug!(
                        "rotate: could not delete the unverified token {}: {cleanup}",
                        token.id
                    );
                }
                Err(err)
            }
        }
    }

    /// The IAM base URL this client talks to, as configured.
    ///
    /// ```
    /// let client = neuroio::Client::builder()
    ///     .api_token("t")
    ///     .iam_url("https://gateway.example/iam/")
    ///     .build()?;
    /// assert_eq!(client.iam_url(), "https://gateway.example/iam/");
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn iam_url(&self) -> &str {
        &self.inner.transport.iam.configured
    }

    /// The API base URL this client talks to (stream tokens), as configured.
    ///
    /// ```
    /// let client = neuroio::Client::new("t")?;
    /// assert_eq!(client.api_url(), "https://api.neuroio.com");
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn api_url(&self) -> &str {
        &self.inner.transport.api.configured
    }

    /// The token file this client follows (see
    /// [`ClientBuilder::api_token_file`](crate::ClientBuilder::api_token_file)),
    /// as given: the one its calls are sent with, or a renewing client's
    /// parent; `None` for a client given its token itself.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("neuroio-doc-path-{}.token", std::process::id()));
    /// std::fs::write(&path, "my-api-token\n")?;
    /// let client = neuroio::Client::builder().api_token_file(&path).build()?;
    /// assert_eq!(client.api_token_file(), Some(path.as_path()));
    /// assert_eq!(neuroio::Client::new("my-api-token")?.api_token_file(), None);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn api_token_file(&self) -> Option<&std::path::Path> {
        self.inner.credentials.token_file()
    }

    /// Ends a renewing client's work: waits for a mint in flight and for
    /// tidying in progress, then deletes every token it minted that is
    /// still live (the working token, a token minted during the close, and
    /// any superseded or unusable one whose delete failed before), with the
    /// parent token, and fails with
    /// [`Error::Renewal`](crate::Error::Renewal) naming those it could not
    /// delete. After `close` the client and its clones mint nothing more:
    /// later calls fail with `Error::Renewal` (`renewing.closed`), and a
    /// call in flight that meets a 401 returns it. Dropping the last clone
    /// does the same, best effort and giving up after 5 s; call `close` to
    /// see whether it worked. On a client that does not renew, it does
    /// nothing.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::ClientBuilder::from_env()?
    ///     .renewing(std::time::Duration::from_secs(3600))
    ///     .build()?;
    /// client.tokens().list(None, 10, 0)?;
    /// client.close()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) -> crate::Result<()> {
        self.inner.credentials.close(&self.inner.transport, None)
    }

    /// [`close`](Self::close), within `limit` in all: the waits and every
    /// delete share it, and the tokens not deleted by then are named in the
    /// error, as those whose delete failed are. For a program that must end
    /// soon (a signal), where `close` could take one timeout and its
    /// retries per token against a server that hangs.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::ClientBuilder::from_env()?
    ///     .renewing(std::time::Duration::from_secs(3600))
    ///     .build()?;
    /// client.close_within(std::time::Duration::from_secs(10))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn close_within(&self, limit: std::time::Duration) -> crate::Result<()> {
        let deadline = std::time::Instant::now().checked_add(limit);
        self.inner
            .credentials
            .close(&self.inner.transport, deadline)
    }

    /// A [renewing](crate::ClientBuilder::renewing) client's working
    /// token, as the server minted it (id, key, expiry): the first call
    /// mints it, and a call when it is due for renewal renews it first,
    /// with the same single flight, backoff and bounds as any call. Sends
    /// no request of its own otherwise, so a program that hands the key to
    /// others (a token file, a child process) can call it every second to
    /// drive renewal and see when the key changed. Fails as a call would
    /// when no working token is usable (a mint failed and the current token
    /// is out of time), or after [`close`](Self::close). `None` on a client
    /// that does not renew.
    ///
    /// Its key is a secret; keep replaced tokens alive for your readers
    /// with [`ClientBuilder::keep_replaced`](crate::ClientBuilder::keep_replaced).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = neuroio::ClientBuilder::from_env()?
    ///     .renewing(std::time::Duration::from_secs(12 * 3600))
    ///     .keep_replaced(std::time::Duration::from_secs(60))
    ///     .build()?;
    /// if let Some(token) = client.working_token()? {
    ///     std::fs::write("/run/app/token.new", format!("{}\n", token.key.secret()))?;
    ///     std::fs::rename("/run/app/token.new", "/run/app/token")?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn working_token(&self) -> crate::Result<Option<crate::Token>> {
        self.inner.credentials.working_token(&self.inner.transport)
    }

    /// The ids of the tokens a renewing client replaced (or minted and
    /// found unusable) and has not deleted yet: those in their
    /// [`keep_replaced`](crate::ClientBuilder::keep_replaced) grace, and
    /// those whose delete failed, to be tried again at the next renewal and
    /// at [`close`](Self::close). A program that records minted tokens (to
    /// delete them after a crash) forgets one only once it is not here.
    /// Empty on a client that does not renew. Sends nothing.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::ClientBuilder::from_env()?
    ///     .renewing(std::time::Duration::from_secs(3600))
    ///     .build()?;
    /// println!("still to delete: {:?}", client.undeleted_tokens());
    /// # Ok(())
    /// # }
    /// ```
    pub fn undeleted_tokens(&self) -> Vec<u64> {
        self.inner.credentials.undeleted()
    }

    /// The API tokens this client sends now: the given one (a renewing
    /// client's parent, a token file's last good key) and a renewing
    /// client's current working token.
    pub(crate) fn sent_keys(&self) -> [Option<TokenKey>; 2] {
        let credentials = &self.inner.credentials;
        [credentials.api_token(), credentials.working_key()]
    }

    /// Sends `request` and decodes the JSON of a successful answer.
    pub(crate) fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: &Request<'_>,
    ) -> crate::Result<T> {
        self.call_with(request, |body| serde_json::from_slice(body))
    }

    /// Sends `request` and decodes a successful answer with `decode`.
    pub(crate) fn call_with<T>(
        &self,
        request: &Request<'_>,
        decode: impl FnOnce(&[u8]) -> Result<T, serde_json::Error>,
    ) -> crate::Result<T> {
        let (answer, presented) = self.send(request)?;
        let auth = presented.as_ref().map(Presented::auth);
        self.inner.transport.decode(request, auth, &answer, decode)
    }

    /// Sends a request whose answer has no body worth reading (204).
    pub(crate) fn call_empty(&self, request: &Request<'_>) -> crate::Result<()> {
        self.send(request).map(drop)
    }

    /// The short call: present the credential, send, and after a 401 for a
    /// credential that has a replacement (a token file's new key, a new
    /// working token) repeat once with it (nothing was done, so even a
    /// create may be repeated).
    fn send(&self, request: &Request<'_>) -> crate::Result<(Answer, Option<Presented<'_>>)> {
        let Inner {
            transport,
            credentials,
        } = &*self.inner;
        if !request.is_authenticated() {
            return Ok((transport.send(request, None)?, None));
        }
        let presented = credentials.present(transport)?;
        let sent = transport.send(request, Some(presented.auth()));
        let (presented, sent) = match sent {
            Err(err) if err.is_unauthorized() => {
                match credentials.replace_refused(transport, request.host(), &presented)? {
                    None => return Err(err),
                    Some(replacement) => {
                        let again = transport.send(request, Some(replacement.auth()));
                        (replacement, again)
                    }
                }
            }
            sent => (presented, sent),
        };
        credentials.answered(transport, request.host(), &presented, &sent);
        Ok((sent?, Some(presented)))
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("iam_url", &self.inner.transport.iam.configured)
            .field("api_url", &self.inner.transport.api.configured)
            .field("api_token", &self.inner.credentials.api_token())
            .field("api_token_file", &self.inner.credentials.token_file())
            .field(
                "renewing",
                &matches!(self.inner.credentials, Credentials::Renewing(_)),
            )
            .field("settings", &self.inner.transport.settings)
            .finish()
    }
}
