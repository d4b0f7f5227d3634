//! The client: one connection pool and its settings behind an `Arc`, and an
//! accessor for each resource.

use std::fmt;
use std::sync::Arc;

use ureq::http::HeaderValue;

use crate::api::tokens::Tokens;
use crate::config::{BaseUrl, ClientBuilder, Host, Settings};
use crate::credentials::renewing::Renewer;
use crate::secret::TokenKey;

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
    pub(crate) agent: ureq::Agent,
    pub(crate) credentials: Credentials,
    pub(crate) iam: BaseUrl,
    pub(crate) api: BaseUrl,
    pub(crate) settings: Settings,
}

/// What a client sends its calls with.
pub(crate) enum Credentials {
    /// Nothing: only for the client that logs in.
    Anonymous,
    /// One API token.
    Fixed(Credential),
    /// A working token minted and renewed with a parent token.
    Renewing(Renewer),
}

/// An API token and the header that carries it.
#[derive(Clone)]
pub(crate) struct Credential {
    pub(crate) key: TokenKey,
    /// `Token <key>`, marked sensitive so `http` never prints it.
    pub(crate) header: HeaderValue,
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
        Tokens::new(self, crate::api::tokens::Collection::TOKENS)
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
        Tokens::new(self, crate::api::tokens::Collection::STREAM_TOKENS)
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
            &self.inner,
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
        &self.inner.iam.configured
    }

    /// The API base URL this client talks to (stream tokens), as configured.
    ///
    /// ```
    /// let client = neuroio::Client::new("t")?;
    /// assert_eq!(client.api_url(), "https://api.neuroio.com");
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn api_url(&self) -> &str {
        &self.inner.api.configured
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The API tokens this client may send, to blank out of answers.
    pub(crate) fn sent_keys(&self) -> [Option<TokenKey>; 2] {
        match &self.inner.credentials {
            Credentials::Anonymous => [None, None],
            Credentials::Fixed(credential) => [Some(credential.key.clone()), None],
            Credentials::Renewing(renewer) => {
                [Some(renewer.parent().key.clone()), renewer.working_key()]
            }
        }
    }

    pub(crate) fn agent(&self) -> &ureq::Agent {
        &self.inner.agent
    }

    pub(crate) fn base(&self, host: Host) -> &BaseUrl {
        self.inner.base(host)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("iam_url", &self.inner.iam.configured)
            .field("api_url", &self.inner.api.configured)
            .field(
                "api_token",
                &match &self.inner.credentials {
                    Credentials::Anonymous => None,
                    Credentials::Fixed(c) => Some(&c.key),
                    Credentials::Renewing(r) => Some(&r.parent().key),
                },
            )
            .field(
                "renewing",
                &matches!(self.inner.credentials, Credentials::Renewing(_)),
            )
            .field("settings", &self.inner.settings)
            .finish()
    }
}
