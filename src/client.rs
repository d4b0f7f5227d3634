//! The client: configuration, the connection pool, and the one request path
//! every operation goes through.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::http::{self, HeaderValue, Method};

use crate::error::{ApiError, ConfigError, Error, TransportError, TransportErrorKind};
use crate::tokens::Tokens;

/// The IAM service's address, used when none is configured.
pub const DEFAULT_IAM_URL: &str = "https://iam.neuroio.com";

const USER_AGENT: &str = concat!("neuroio-rust/", env!("CARGO_PKG_VERSION"));
/// How long one attempt of a request may take unless
/// [`ClientBuilder::timeout`] says otherwise: 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;
/// How many times an idempotent call is retried unless
/// [`ClientBuilder::max_retries`] says otherwise: 2.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_millis(200);
const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(5);
const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Enough idle connections for a handful of threads sharing one client.
const IDLE_CONNECTIONS_PER_HOST: usize = 16;

/// A blocking client for the NeuroIO Tokens API.
///
/// It holds one connection pool and its settings behind an [`Arc`]: cloning
/// is cheap, and clones share the pool. `Client` is `Send + Sync`, so one
/// client can serve many threads.
///
/// This client blocks the calling thread; in async code, call it from
/// `spawn_blocking` (or the runtime's equivalent), never on an executor
/// thread.
///
/// ```no_run
/// # fn main() -> neuroio::Result<()> {
/// let client = neuroio::Client::new("my-api-token")?;
/// let token = client.tokens().create(false)?;
/// println!("created temporary token {} expiring at {:?}", token.id, token.expires);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    agent: ureq::Agent,
    /// `Token <key>`, marked sensitive so `http` never prints it.
    authorization: HeaderValue,
    /// `<iam url>/v1/tokens/`, built once.
    tokens_url: String,
    iam_url: String,
    settings: Settings,
}

/// Settings kept by the client after `build`, copied into clients derived
/// from it.
#[derive(Clone, Debug)]
struct Settings {
    timeout: Duration,
    connect_timeout: Option<Duration>,
    max_response_bytes: u64,
    allow_insecure_http: bool,
    max_retries: u32,
    backoff_initial: Duration,
    backoff_max: Duration,
    max_retry_after: Duration,
}

impl Client {
    /// A client for `api_token` against the real service, with every other
    /// setting at its default.
    ///
    /// ```
    /// let client = neuroio::Client::new("my-api-token")?;
    /// assert_eq!(client.iam_url(), "https://iam.neuroio.com");
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn new(api_token: impl Into<String>) -> crate::Result<Client> {
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
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: the API token from
    /// `NEUROIO_API_TOKEN` (required) and the IAM URL from `NEUROIO_IAM_URL`
    /// (optional, defaults to [`DEFAULT_IAM_URL`]).
    ///
    /// ```no_run
    /// let client = neuroio::Client::from_env()?;
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn from_env() -> crate::Result<Client> {
        ClientBuilder::from_env()?.build()
    }

    /// The Tokens API: create, list, get, update and delete tokens.
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
        Tokens::new(self)
    }

    /// A client for another API token that shares this client's connection
    /// pool and settings.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::Client::new("my-api-token")?;
    /// let temporary = client.tokens().create(false)?;
    /// let as_temporary = client.with_api_token(&temporary.key)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_api_token(&self, api_token: &str) -> crate::Result<Client> {
        let inner = &*self.inner;
        Ok(Client {
            inner: Arc::new(Inner {
                agent: inner.agent.clone(),
                authorization: authorization_header(api_token)?,
                tokens_url: inner.tokens_url.clone(),
                iam_url: inner.iam_url.clone(),
                settings: inner.settings.clone(),
            }),
        })
    }

    /// Rotates to a fresh temporary token: creates it with the current
    /// token, checks that it authenticates, and returns a client using it
    /// (sharing this client's connection pool) with the new token.
    ///
    /// The old token is left alone: delete it with the new client, or let it
    /// expire. If the check fails, the new token is deleted again (best
    /// effort) and the error returned. Like [`Tokens::create`], rotation is
    /// never retried.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::Client::from_env()?;
    /// let (client, token) = client.rotate()?;
    /// println!("now using token {} until {:?}", token.id, token.expires);
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
        &self.inner.iam_url
    }

    /// Sends a request, retrying it when that is safe, and returns the
    /// status and body of a successful answer; an answer of 400 or more
    /// becomes [`Error::Api`].
    ///
    /// Retries happen only for idempotent requests, only after a failure
    /// that may be passing (see [`retry_wait`]), and at most `max_retries`
    /// times. A request that is not idempotent (create) is sent exactly once,
    /// and a failure that leaves its outcome open says so.
    pub(crate) fn send(&self, request: &ApiRequest<'_>) -> crate::Result<Answer> {
        let settings = &self.inner.settings;
        let attempts = if request.is_idempotent() {
            settings.max_retries.saturating_add(1)
        } else {
            1
        };
        let mut attempt = 1;
        let mut unanswered_before = false;
        loop {
            let err = match self.attempt(request, attempt, attempts) {
                Ok(answer) => return Ok(answer),
                Err(err) => err,
            };
            if request.is_gone_if_missing() && unanswered_before && err.is_not_found() {
                // An earlier attempt got no answer but did its work.
                log::debug!(
                    "{} {}: 404 after an unanswered attempt, so it was already done",
                    request.method,
                    request.route()
                );
                return Ok(Answer {
                    status: 404,
                    body: Vec::new(),
                });
            }
            if !request.is_idempotent() {
                return Err(Error::outcome_unknown_if_so(request.operation, err));
            }
            if attempt >= attempts {
                return Err(err);
            }
            let Some(wait) = retry_wait(&err, attempt, settings) else {
                return Err(err);
            };
            unanswered_before |= err.answer_lost();
            log::debug!(
                "{} {}: retrying in {wait:?} after: {err}",
                request.method,
                request.route()
            );
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// One attempt of a request, logged: send, read, classify.
    fn attempt(
        &self,
        request: &ApiRequest<'_>,
        attempt: u32,
        attempts: u32,
    ) -> crate::Result<Answer> {
        let started = Instant::now();
        let exchanged = self.exchange(request);
        let elapsed = started.elapsed();
        match &exchanged {
            Ok((status, _, _)) => log::debug!(
                "{} {} attempt {attempt}/{attempts}: {status} in {elapsed:?}",
                request.method,
                request.route(),
            ),
            Err(err) => log::debug!(
                "{} {} attempt {attempt}/{attempts}: no answer after {elapsed:?}: {err}",
                request.method,
                request.route(),
            ),
        }
        let (status, body, retry_after) = exchanged?;
        classify(status, body, retry_after)
    }

    /// Sends the request and reads the whole answer: status, body and any
    /// `Retry-After` wait.
    fn exchange(
        &self,
        request: &ApiRequest<'_>,
    ) -> crate::Result<(u16, Vec<u8>, Option<Duration>)> {
        let inner = &*self.inner;
        let mut url = String::with_capacity(inner.tokens_url.len() + 64);
        url.push_str(&inner.tokens_url);
        if let Some(segment) = &request.segment {
            url.push_str(segment.encoded());
            url.push('/');
        }
        if let Some(query) = &request.query {
            url.push('?');
            url.push_str(query);
        }
        let builder = http::Request::builder()
            .method(request.method.clone())
            .uri(url)
            .header(http::header::AUTHORIZATION, inner.authorization.clone());
        let sent = match &request.body {
            Some(body) => builder
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(*body)
                .map(|r| inner.agent.run(r)),
            None => builder.body(()).map(|r| inner.agent.run(r)),
        };
        // Unreachable in practice: the base URL was checked by `build` and
        // every path segment is percent-encoded.
        let sent = sent.map_err(|_| ConfigError::InvalidIamUrl {
            url: inner.iam_url.clone(),
            reason: "no request URL could be built from it".to_owned(),
        })?;
        let transport = |err| TransportError::from_ureq(request.operation, err);
        let mut response = sent.map_err(transport)?;
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = response
            .body_mut()
            .with_config()
            .limit(inner.settings.max_response_bytes)
            .read_to_vec()
            .map_err(transport)?;
        Ok((response.status().as_u16(), body, retry_after))
    }
}

/// Turns a complete answer into the body of a success or the matching error.
pub(crate) fn classify(
    status: u16,
    body: Vec<u8>,
    retry_after: Option<Duration>,
) -> crate::Result<Answer> {
    match status {
        200..=299 => Ok(Answer { status, body }),
        300..=399 => Err(Error::unexpected(
            status,
            "the server answered with a redirect, which this client does not follow \
             (the API token must not travel to another address); check the IAM URL",
            &body,
        )),
        400.. => Err(ApiError::from_response(status, &body, retry_after).into()),
        _ => Err(Error::unexpected(
            status,
            "the server answered with an informational status",
            &body,
        )),
    }
}

/// How long to wait before retrying after `err`, or `None` when it must not
/// be retried: only connection failures, lost connections, timeouts, and
/// the statuses 429, 502, 503 and 504 are retried. A `Retry-After` is
/// honoured as given; one longer than the configured cap is not waited for.
fn retry_wait(err: &Error, attempt: u32, settings: &Settings) -> Option<Duration> {
    match err {
        Error::Transport(t) => match t.kind() {
            TransportErrorKind::Connect
            | TransportErrorKind::Connection
            | TransportErrorKind::Timeout => Some(backoff(attempt, settings)),
            _ => None,
        },
        Error::Api(api) if matches!(api.status, 429 | 502 | 503 | 504) => match api.retry_after {
            Some(wait) if wait > settings.max_retry_after => None,
            Some(wait) => Some(wait),
            None => Some(backoff(attempt, settings)),
        },
        _ => None,
    }
}

/// Exponential backoff with full jitter: a random wait between zero and
/// `initial * 2^(attempt - 1)`, capped at `max`.
fn backoff(attempt: u32, settings: &Settings) -> Duration {
    let exponent = attempt.saturating_sub(1).min(31);
    let ceiling = settings
        .backoff_initial
        .saturating_mul(1u32 << exponent)
        .min(settings.backoff_max);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("iam_url", &self.inner.iam_url)
            .field("api_token", &"[redacted]")
            .field("settings", &self.inner.settings)
            .finish()
    }
}

/// Parses `Retry-After`: whole seconds, or an HTTP date (a date in the past
/// means no wait).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The id or encoded key that follows `/v1/tokens/` in a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    Id(String),
    /// A percent-encoded key; never logged.
    Key(String),
}

impl Segment {
    fn encoded(&self) -> &str {
        match self {
            Segment::Id(s) | Segment::Key(s) => s,
        }
    }
}

/// One call to the API, as the resource handlers describe it.
pub(crate) struct ApiRequest<'a> {
    pub(crate) method: Method,
    /// The SDK operation, for logs and errors (`tokens.get`).
    pub(crate) operation: &'static str,
    pub(crate) segment: Option<Segment>,
    pub(crate) query: Option<&'a str>,
    pub(crate) body: Option<&'a [u8]>,
}

impl ApiRequest<'_> {
    /// Whether sending it twice does no more than sending it once: every
    /// call of this API but create (the only POST). Only these are retried.
    fn is_idempotent(&self) -> bool {
        self.method != Method::POST
    }

    /// Whether a 404 after an unanswered attempt means that attempt did the
    /// work: true for deleting one token.
    fn is_gone_if_missing(&self) -> bool {
        self.method == Method::DELETE && self.segment.is_some()
    }

    /// The path for logs, with a key replaced by a placeholder.
    fn route(&self) -> String {
        match &self.segment {
            None => "/v1/tokens/".to_owned(),
            Some(Segment::Id(id)) => format!("/v1/tokens/{id}/"),
            Some(Segment::Key(_)) => "/v1/tokens/<key>/".to_owned(),
        }
    }
}

/// A successful answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
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
/// # Ok::<(), neuroio::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    api_token: Option<String>,
    iam_url: String,
    settings: Settings,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            api_token: None,
            iam_url: DEFAULT_IAM_URL.to_owned(),
            settings: Settings {
                timeout: DEFAULT_TIMEOUT,
                connect_timeout: None,
                max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
                allow_insecure_http: false,
                max_retries: DEFAULT_MAX_RETRIES,
                backoff_initial: DEFAULT_BACKOFF_INITIAL,
                backoff_max: DEFAULT_BACKOFF_MAX,
                max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            },
        }
    }
}

impl ClientBuilder {
    /// A builder filled from `NEUROIO_API_TOKEN` and, when set,
    /// `NEUROIO_IAM_URL`; further settings can follow.
    ///
    /// ```no_run
    /// let client = neuroio::ClientBuilder::from_env()?
    ///     .timeout(std::time::Duration::from_secs(60))
    ///     .build()?;
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn from_env() -> crate::Result<ClientBuilder> {
        let token = match std::env::var("NEUROIO_API_TOKEN") {
            Ok(token) => token,
            Err(std::env::VarError::NotPresent) => return Err(ConfigError::MissingApiToken.into()),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(
                    ConfigError::InvalidApiToken("NEUROIO_API_TOKEN is not valid UTF-8").into(),
                );
            }
        };
        let mut builder = ClientBuilder::default().api_token(token);
        match std::env::var("NEUROIO_IAM_URL") {
            Ok(url) if !url.trim().is_empty() => builder = builder.iam_url(url),
            Ok(_) | Err(std::env::VarError::NotPresent) => {}
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(ConfigError::InvalidSetting {
                    name: "NEUROIO_IAM_URL",
                    reason: "not valid UTF-8".to_owned(),
                }
                .into());
            }
        }
        Ok(builder)
    }

    /// The API token sent as `Authorization: Token <api_token>` on every call.
    ///
    /// Required; `build` fails without one.
    ///
    /// ```
    /// let builder = neuroio::Client::builder().api_token("my-api-token");
    /// ```
    pub fn api_token(mut self, api_token: impl Into<String>) -> Self {
        self.api_token = Some(api_token.into());
        self
    }

    /// The IAM base URL. A path prefix (`https://gateway.example/iam`) is
    /// kept; a trailing slash is fine.
    ///
    /// Defaults to `https://iam.neuroio.com`.
    ///
    /// ```
    /// let builder = neuroio::Client::builder().iam_url("http://127.0.0.1:8080");
    /// ```
    pub fn iam_url(mut self, iam_url: impl Into<String>) -> Self {
        self.iam_url = iam_url.into();
        self
    }

    /// The longest one attempt of a request may take, from connecting to the
    /// last byte of the answer. A call that is retried may take up to
    /// `max_retries + 1` times this, plus the waits between attempts.
    ///
    /// Defaults to 30 s.
    ///
    /// ```
    /// let builder = neuroio::Client::builder().timeout(std::time::Duration::from_secs(4));
    /// ```
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// The longest opening a connection may take, within [`timeout`](Self::timeout).
    ///
    /// Defaults to no separate limit (only the overall timeout applies).
    ///
    /// ```
    /// let builder = neuroio::Client::builder().connect_timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
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
    /// ```
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.settings.max_response_bytes = bytes;
        self
    }

    /// How many times an idempotent call (get, list, update, delete, delete
    /// many) is retried after a passing failure: a failed or lost
    /// connection, a timeout, or the statuses 429, 502, 503 and 504. `0`
    /// turns retries off. `create` is never retried, whatever this says: a
    /// lost answer may already have created a token.
    ///
    /// Defaults to 2 (three attempts in all).
    ///
    /// ```
    /// let builder = neuroio::Client::builder().max_retries(5);
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
    /// ```
    pub fn retry_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.settings.backoff_initial = initial;
        self.settings.backoff_max = max;
        self
    }

    /// The longest `Retry-After` the client waits for before retrying. When
    /// the server asks for longer, the call fails at once with the
    /// [`ApiError`] whose `retry_after` carries the requested wait, and the
    /// caller decides.
    ///
    /// Defaults to 30 s.
    ///
    /// ```
    /// let builder = neuroio::Client::builder().max_retry_after(std::time::Duration::from_secs(5));
    /// ```
    pub fn max_retry_after(mut self, cap: Duration) -> Self {
        self.settings.max_retry_after = cap;
        self
    }

    /// Allows an `http://` IAM URL whose host is not on this machine. The API
    /// token then travels in clear text; use this only on a network you
    /// trust. Loopback addresses (`localhost`, `127.0.0.0/8`, `::1`) are
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
    /// # Ok::<(), neuroio::Error>(())
    /// ```
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.settings.allow_insecure_http = allow;
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// Fails with [`Error::Config`] for a missing or malformed API token or
    /// an unusable IAM URL.
    ///
    /// ```
    /// let err = neuroio::Client::builder().api_token("has space").build().unwrap_err();
    /// assert!(err.to_string().contains("whitespace"));
    /// ```
    pub fn build(self) -> crate::Result<Client> {
        let token = self
            .api_token
            .as_deref()
            .ok_or(ConfigError::MissingApiToken)?;
        let authorization = authorization_header(token)?;
        let tokens_url = tokens_url(&self.iam_url, self.settings.allow_insecure_http)?;
        let agent = new_agent(&self.settings);
        Ok(Client {
            inner: Arc::new(Inner {
                agent,
                authorization,
                tokens_url,
                iam_url: self.iam_url,
                settings: self.settings,
            }),
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("iam_url", &self.iam_url)
            .field("api_token", &self.api_token.as_ref().map(|_| "[redacted]"))
            .field("settings", &self.settings)
            .finish()
    }
}

fn new_agent(settings: &Settings) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        // Error answers carry the API's error body; read it rather than
        // letting ureq turn the status into a bodiless error.
        .http_status_as_error(false)
        // A redirect could carry the Authorization header elsewhere.
        .max_redirects(0)
        .timeout_global(Some(settings.timeout))
        .timeout_connect(settings.connect_timeout)
        .user_agent(USER_AGENT)
        .accept("application/json")
        .max_idle_connections(IDLE_CONNECTIONS_PER_HOST * 2)
        .max_idle_connections_per_host(IDLE_CONNECTIONS_PER_HOST)
        .build();
    ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::default(),
        crate::resolver::ClientResolver::default(),
    )
}

fn authorization_header(token: &str) -> Result<HeaderValue, ConfigError> {
    if token.is_empty() {
        return Err(ConfigError::InvalidApiToken("the token is empty"));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::InvalidApiToken(
            "the token contains whitespace or control characters; copy it again without them",
        ));
    }
    if !token.is_ascii() {
        return Err(ConfigError::InvalidApiToken(
            "the token contains non-ASCII characters; NeuroIO tokens are ASCII",
        ));
    }
    let mut value = HeaderValue::try_from(format!("Token {token}"))
        .map_err(|_| ConfigError::InvalidApiToken("the token cannot be sent in a header"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Validates the IAM URL and returns `<scheme>://<authority><prefix>/v1/tokens/`.
fn tokens_url(raw: &str, allow_insecure_http: bool) -> Result<String, ConfigError> {
    let shown = if raw.contains('@') {
        "[URL with credentials, not shown]".to_owned()
    } else {
        raw.to_owned()
    };
    let invalid = |reason: &str| ConfigError::InvalidIamUrl {
        url: shown.clone(),
        reason: reason.to_owned(),
    };
    if raw.contains('#') {
        return Err(invalid(
            "remove the fragment (#...); give the base URL only",
        ));
    }
    let uri: http::Uri = raw
        .parse()
        .map_err(|_| invalid("not a URL; expected something like https://iam.neuroio.com"))?;
    let scheme = match uri.scheme_str() {
        Some("https") => "https",
        Some("http") => "http",
        Some(_) => return Err(invalid("the scheme must be http or https")),
        None => return Err(invalid("missing scheme; start the URL with https://")),
    };
    let authority = uri.authority().ok_or_else(|| invalid("missing host"))?;
    if authority.as_str().contains('@') {
        return Err(invalid(
            "remove the user name and password; the API token is the only credential",
        ));
    }
    if uri.query().is_some() {
        return Err(invalid("remove the query (?...); give the base URL only"));
    }
    if scheme == "http" && !allow_insecure_http && !is_loopback(authority.host()) {
        return Err(invalid(
            "http:// would send the API token in clear text to another machine; \
             use https://, or opt in with ClientBuilder::allow_insecure_http(true)",
        ));
    }
    let prefix = uri.path().trim_end_matches('/');
    Ok(format!("{scheme}://{authority}{prefix}/v1/tokens/"))
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_url_keeps_prefix_and_drops_trailing_slash() {
        assert_eq!(
            tokens_url("https://gateway.example/iam/", false).unwrap(),
            "https://gateway.example/iam/v1/tokens/"
        );
        assert_eq!(
            tokens_url("https://iam.neuroio.com", false).unwrap(),
            "https://iam.neuroio.com/v1/tokens/"
        );
        assert_eq!(
            tokens_url("http://[::1]:9000/", false).unwrap(),
            "http://[::1]:9000/v1/tokens/"
        );
    }

    #[test]
    fn loopback_hosts() {
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "127.8.9.10", "[::1]"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["10.0.0.1", "example.com", "[::2]", "localhost.example"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        let wait = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
