//! A request that never got a (complete) answer.

use std::fmt;

/// What kind of failure kept a request from getting an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The host name did not resolve (DNS lookup failed). Nothing was sent.
    Dns,
    /// The TCP connection could not be opened: refused or unreachable.
    /// Nothing was sent.
    Connect,
    /// The server's TLS certificate was rejected (untrusted issuer, wrong
    /// name, expired). Nothing was sent, and it is never retried: the server
    /// may be an impostor.
    Certificate,
    /// The TLS handshake failed for another reason. Nothing was sent.
    Tls,
    /// A timeout ran out before the answer was complete.
    Timeout,
    /// The connection was reset or closed before a complete answer.
    Connection,
    /// The answer was larger than the client accepts.
    ResponseTooLarge,
    /// Anything else the transport reported.
    Other,
}

/// A request that never got a (complete) answer from the server.
///
/// Its `Display` names the operation, the URL (a key in the path shown as
/// `<key>`) and what failed in plain words, with what to check.
/// The transport's own error is the [`source`](std::error::Error::source).
///
/// ```
/// # fn check(err: neuroio::Error) {
/// if let neuroio::Error::Transport(t) = &err {
///     eprintln!("{} to {} failed: {:?}", t.operation(), t.host(), t.kind());
/// }
/// # }
/// # let _ = check;
/// ```
#[derive(Debug)]
pub struct TransportError {
    pub(crate) kind: TransportErrorKind,
    /// False when the failure came before anything was sent.
    pub(crate) reached: bool,
    pub(crate) operation: &'static str,
    pub(crate) host: Box<str>,
    /// Where the request went, a key in the path shown as `<key>`.
    pub(crate) url: Box<str>,
    pub(crate) source: Option<Box<ureq::Error>>,
}

impl TransportError {
    /// What kind of failure this was.
    ///
    /// ```
    /// # fn check(t: &neuroio::TransportError) {
    /// let retryable = matches!(t.kind(), neuroio::TransportErrorKind::Timeout);
    /// # let _ = retryable;
    /// # }
    /// # let _ = check;
    /// ```
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The SDK operation that failed, such as `"tokens.get"`.
    ///
    /// ```
    /// # fn check(t: &neuroio::TransportError) {
    /// println!("{}", t.operation());
    /// # }
    /// # let _ = check;
    /// ```
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The host the request was for, such as `iam.neuroio.com`.
    ///
    /// ```
    /// # fn check(t: &neuroio::TransportError) {
    /// println!("{}", t.host());
    /// # }
    /// # let _ = check;
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The URL the request went to, scheme, host, port and path, such as
    /// `https://iam.neuroio.com/v1/tokens/7/`; a key in the path is shown
    /// as `<key>`, and the query is left out.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::Client::builder()
    ///     .api_token("my-api-token")
    ///     .iam_url("http://127.0.0.1:9") // nothing listens there
    ///     .build()?;
    /// if let Err(neuroio::Error::Transport(failed)) = client.whoami() {
    ///     assert_eq!(failed.url(), "http://127.0.0.1:9/v1/whoami/");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the request may have reached the server before it failed.
    pub(crate) fn may_have_reached_server(&self) -> bool {
        self.reached
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (op, host, url) = (self.operation, &self.host, &self.url);
        match self.kind {
            TransportErrorKind::Dns => write!(
                f,
                "{op}: could not resolve host name {host} for {url} (DNS lookup failed); \
                 check the URL, and this machine's DNS and network settings"
            ),
            TransportErrorKind::Connect => write!(
                f,
                "{op}: could not connect to {url} (refused or unreachable); \
                 check the URL, that the service is up, and any proxy or firewall"
            ),
            TransportErrorKind::Certificate => write!(
                f,
                "{op}: the TLS certificate of {host} was rejected for {url}, so nothing was sent; \
                 check the URL and this machine's clock; behind a TLS-inspecting proxy, \
                 build with the feature platform-verifier to trust the system's certificates"
            ),
            TransportErrorKind::Tls => write!(
                f,
                "{op}: the TLS handshake with {host} failed for {url}; check that the URL is \
                 https:// to a TLS server"
            ),
            TransportErrorKind::Timeout => write!(
                f,
                "{op}: timed out waiting for {url}; raise the timeout or try again later"
            ),
            TransportErrorKind::Connection => write!(
                f,
                "{op}: the connection to {url} was reset or closed before a complete \
                 answer arrived; try again, or check any proxy in between"
            ),
            TransportErrorKind::ResponseTooLarge => write!(
                f,
                "{op}: the answer from {url} was larger than the client accepts \
                 (see ClientBuilder::max_response_bytes)"
            ),
            TransportErrorKind::Other => {
                write!(f, "{op}: the request to {url} failed in transport")
            }
        }?;
        if let Some(source) = &self.source {
            write!(f, " ({source})")?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
