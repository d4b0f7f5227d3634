//! Everything that can go wrong, as types a caller can match on.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// How many bytes of an unexpected body an error keeps for its message.
const EXCERPT_BYTES: usize = 240;

/// The error type of every fallible call in this crate.
///
/// Match on the variant to tell apart an answer from the API, a request that
/// never got one, a server that broke the contract and a mistake in the
/// configuration; or use the helpers [`Error::status`],
/// [`Error::is_not_found`], [`Error::is_unauthorized`] and
/// [`Error::is_timeout`].
///
/// No variant's `Display` or `Debug` ever shows the API token or a token's key.
///
/// ```no_run
/// # fn main() -> neuroio::Result<()> {
/// let client = neuroio::Client::new("my-api-token")?;
/// match client.tokens().get(42) {
///     Ok(token) => println!("token {} is active: {}", token.id, token.is_active),
///     Err(err) if err.is_not_found() => println!("no token 42 in this account"),
///     Err(neuroio::Error::Api(api)) => println!("the API refused: {api}"),
///     Err(other) => return Err(other),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with a status of 400 or more.
    #[error(transparent)]
    Api(#[from] ApiError),

    /// The request never got an answer: DNS, connect, TLS, a reset or closed
    /// connection, or a timeout.
    #[error(transparent)]
    Transport(#[from] TransportError),

    /// The server answered with a success status, but the body is not what
    /// the API contract promises (not JSON, truncated, or of the wrong shape),
    /// or with a status the API never uses, such as a redirect.
    #[error(
        "unexpected response from the API (HTTP {status}): {reason}; body starts with: {excerpt:?}"
    )]
    UnexpectedResponse {
        /// The HTTP status of the answer.
        status: u16,
        /// What was wrong with it.
        reason: String,
        /// The first bytes of the body, with any token key blanked out.
        excerpt: String,
    },

    /// The client was configured with something it cannot use.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// A local input/output operation failed, such as starting the
    /// simulator or reading a token file.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A request that is not safe to repeat (creating a token) failed in a
    /// way that leaves open whether the server carried it out: the answer
    /// was lost, it timed out, or a server error came back. A token may or
    /// may not have been created; list the tokens (newest first) and
    /// compare before creating another. The cause is the `source`.
    #[error(
        "{operation}: the outcome is unknown, a token may or may not have been created; \
         list the tokens and compare before trying again ({source})"
    )]
    OutcomeUnknown {
        /// The operation, such as `"tokens.create"`.
        operation: &'static str,
        /// What went wrong.
        source: Box<Error>,
    },

    /// A [`TokenRef`](crate::TokenRef) that can name no token; no request was
    /// sent.
    #[error("invalid token reference: {0}")]
    InvalidTokenRef(&'static str),
}

impl Error {
    /// The HTTP status of the answer, when the server gave one.
    ///
    /// ```
    /// let err = neuroio::Error::InvalidTokenRef("a key cannot be empty");
    /// assert_eq!(err.status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::UnexpectedResponse { status, .. } => Some(*status),
            Error::OutcomeUnknown { source, .. } => source.status(),
            _ => None,
        }
    }

    /// Whether the API answered 404: the token does not exist in this account.
    ///
    /// ```
    /// # let err = neuroio::Error::InvalidTokenRef("x");
    /// if err.is_not_found() { /* treat as already gone */ }
    /// ```
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether the API answered 401: the API token is missing, unknown,
    /// inactive or expired.
    ///
    /// ```
    /// # let err = neuroio::Error::InvalidTokenRef("x");
    /// assert!(!err.is_unauthorized());
    /// ```
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// Whether the request timed out before an answer arrived.
    ///
    /// ```
    /// # let err = neuroio::Error::InvalidTokenRef("x");
    /// assert!(!err.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Transport(t) => t.kind == TransportErrorKind::Timeout,
            Error::OutcomeUnknown { source, .. } => source.is_timeout(),
            _ => false,
        }
    }

    /// Whether a create may or may not have happened (see
    /// [`Error::OutcomeUnknown`]).
    ///
    /// ```
    /// # let err = neuroio::Error::InvalidTokenRef("x");
    /// assert!(!err.is_outcome_unknown());
    /// ```
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }

    /// Whether the request may have reached the server while its answer was
    /// lost or cut short: a timeout, a dropped connection, or an answer too
    /// large to read.
    pub(crate) fn answer_lost(&self) -> bool {
        matches!(
            self,
            Error::Transport(t) if matches!(
                t.kind,
                TransportErrorKind::Timeout
                    | TransportErrorKind::Connection
                    | TransportErrorKind::ResponseTooLarge
            )
        )
    }

    /// Wraps the failure of a request that must not be repeated when its
    /// outcome is open: the answer was lost, or a server error came back.
    pub(crate) fn outcome_unknown_if_so(operation: &'static str, err: Error) -> Error {
        let open = err.answer_lost() || matches!(&err, Error::Api(api) if api.status >= 500);
        if open {
            Error::OutcomeUnknown {
                operation,
                source: Box::new(err),
            }
        } else {
            err
        }
    }

    pub(crate) fn unexpected(status: u16, reason: impl Into<String>, body: &[u8]) -> Self {
        Error::UnexpectedResponse {
            status,
            reason: reason.into(),
            excerpt: excerpt(body),
        }
    }
}

/// An answer from the API with a status of 400 or more, decoded from its
/// error body.
///
/// When the body is not the API's JSON error body (an HTML page from a proxy,
/// an empty 502), `message` says so and carries a short excerpt of it.
///
/// ```
/// let body = br#"{"error_codes":[400],"message":"Validation error.",
///   "fields":[{"name":"limit","message":"A valid integer is required.","error_code":400}]}"#;
/// let err = neuroio::ApiError::from_response(400, body, None);
/// assert_eq!(err.fields[0].name, "limit");
/// assert_eq!(
///     err.to_string(),
///     "API error (HTTP 400): Validation error. [limit: A valid integer is required.]"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The API's error codes (`error_codes`), often just the status again.
    pub error_codes: Vec<i64>,
    /// The API's human-readable message.
    pub message: String,
    /// Errors about individual request fields, for validation failures.
    pub fields: Vec<FieldError>,
    /// How long the server asked the caller to wait (`Retry-After`), if it did.
    pub retry_after: Option<Duration>,
}

/// One field-level complaint inside an [`ApiError`].
///
/// ```
/// let field = neuroio::FieldError::new("limit", "A valid integer is required.", 400);
/// assert_eq!(field.to_string(), "limit: A valid integer is required.");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct FieldError {
    /// The name of the offending field or parameter.
    pub name: String,
    /// What is wrong with it.
    pub message: String,
    /// The API's code for the problem.
    #[serde(default)]
    pub error_code: i64,
}

impl FieldError {
    /// A field error, as the simulator and tests build them.
    ///
    /// ```
    /// let f = neuroio::FieldError::new("offset", "Must be zero or more.", 400);
    /// assert_eq!(f.error_code, 400);
    /// ```
    pub fn new(name: impl Into<String>, message: impl Into<String>, error_code: i64) -> Self {
        FieldError {
            name: name.into(),
            message: message.into(),
            error_code,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

/// The wire form of the API's error body.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error_codes: Vec<i64>,
    message: String,
    #[serde(default)]
    fields: Vec<FieldError>,
}

impl ApiError {
    /// Decodes an error answer: the status, the raw body and the
    /// `Retry-After` wait, if the server sent one.
    ///
    /// Never fails: a body that is not the API's error body becomes a message
    /// naming the status with an excerpt of what came instead.
    ///
    /// ```
    /// let err = neuroio::ApiError::from_response(502, b"<html>Bad Gateway</html>", None);
    /// assert_eq!(err.status, 502);
    /// assert!(err.message.contains("Bad Gateway"));
    /// ```
    pub fn from_response(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(decoded) => ApiError {
                status,
                error_codes: decoded.error_codes,
                message: decoded.message,
                fields: decoded.fields,
                retry_after,
            },
            Err(_) => {
                let message = if body.iter().all(u8::is_ascii_whitespace) {
                    format!("HTTP {status} with an empty body (likely from a proxy or gateway)")
                } else {
                    format!(
                        "HTTP {status} with a body that is not the API's JSON error: {:?}",
                        excerpt(body)
                    )
                };
                ApiError {
                    status,
                    error_codes: Vec::new(),
                    message,
                    fields: Vec::new(),
                    retry_after,
                }
            }
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "API error (HTTP {}): {}", self.status, self.message)?;
        if !self.fields.is_empty() {
            f.write_str(" [")?;
            for (i, field) in self.fields.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                write!(f, "{field}")?;
            }
            f.write_str("]")?;
        }
        if let Some(wait) = self.retry_after {
            write!(f, " (retry after {} s)", wait.as_secs_f64())?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// What kind of failure kept a request from getting an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The host name did not resolve.
    Dns,
    /// The TCP connection could not be opened.
    Connect,
    /// The TLS handshake or certificate check failed.
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
/// Its `Display` names the operation and what failed, never the URL (a path
/// can carry a token key); the transport's own error is the
/// [`source`](std::error::Error::source).
///
/// ```
/// # fn check(err: neuroio::Error) {
/// if let neuroio::Error::Transport(t) = &err {
///     eprintln!("{} failed: {:?}", t.operation(), t.kind());
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct TransportError {
    kind: TransportErrorKind,
    operation: &'static str,
    source: Option<ureq::Error>,
}

impl TransportError {
    pub(crate) fn from_ureq(operation: &'static str, err: ureq::Error) -> Self {
        use ureq::Error as U;
        let kind = match &err {
            U::Timeout(_) => TransportErrorKind::Timeout,
            U::HostNotFound => TransportErrorKind::Dns,
            U::ConnectionFailed | U::ConnectProxyFailed(_) => TransportErrorKind::Connect,
            U::Tls(_) | U::Rustls(_) | U::Pem(_) | U::TlsRequired => TransportErrorKind::Tls,
            U::BodyExceedsLimit(_) | U::LargeResponseHeader(..) => {
                TransportErrorKind::ResponseTooLarge
            }
            U::Io(io) => match io.kind() {
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    TransportErrorKind::Timeout
                }
                std::io::ErrorKind::ConnectionRefused => TransportErrorKind::Connect,
                _ => TransportErrorKind::Connection,
            },
            U::Protocol(_) | U::BodyStalled => TransportErrorKind::Connection,
            _ => TransportErrorKind::Other,
        };
        // These two carry the full URL in their text, and a URL can carry a key.
        let source = match err {
            U::BadUri(_) | U::RequireHttpsOnly(_) => None,
            other => Some(other),
        };
        TransportError {
            kind,
            operation,
            source,
        }
    }

    /// What kind of failure this was.
    ///
    /// ```
    /// # fn check(t: &neuroio::TransportError) {
    /// let retryable = matches!(t.kind(), neuroio::TransportErrorKind::Timeout);
    /// # }
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
    /// ```
    pub fn operation(&self) -> &'static str {
        self.operation
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TransportErrorKind::Dns => "the IAM host name did not resolve; check the IAM URL",
            TransportErrorKind::Connect => {
                "could not connect to the IAM server; check the IAM URL, proxy and network"
            }
            TransportErrorKind::Tls => "the TLS handshake with the IAM server failed",
            TransportErrorKind::Timeout => {
                "timed out waiting for the IAM server; raise the timeout or try again later"
            }
            TransportErrorKind::Connection => {
                "the connection was closed before a complete answer arrived"
            }
            TransportErrorKind::ResponseTooLarge => {
                "the answer was larger than the client accepts (see ClientBuilder::max_response_bytes)"
            }
            TransportErrorKind::Other => "the request failed in transport",
        };
        write!(f, "{}: {what}", self.operation)?;
        if let Some(source) = &self.source {
            write!(f, " ({source})")?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A setting the client cannot work with; raised by
/// [`ClientBuilder::build`](crate::ClientBuilder::build) and
/// [`Client::from_env`](crate::Client::from_env).
///
/// ```
/// let err = neuroio::Client::builder().build().unwrap_err();
/// assert!(matches!(err, neuroio::Error::Config(neuroio::ConfigError::MissingApiToken)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No API token was given.
    #[error("no API token: pass one to ClientBuilder::api_token or set NEUROIO_API_TOKEN")]
    MissingApiToken,
    /// The API token cannot be sent as given.
    #[error("invalid API token: {0}")]
    InvalidApiToken(&'static str),
    /// The IAM URL cannot be used.
    #[error("invalid IAM URL {url:?}: {reason}")]
    InvalidIamUrl {
        /// The URL as given (credentials in it are blanked out).
        url: String,
        /// What is wrong with it and what to do.
        reason: String,
    },
    /// Any other setting out of its range.
    #[error("invalid setting {name}: {reason}")]
    InvalidSetting {
        /// The builder method or environment variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The first bytes of a body, safe to print: cut on a character boundary and
/// with the value of every `"key"` field blanked out.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let cut = &body[..body.len().min(EXCERPT_BYTES)];
    let text = String::from_utf8_lossy(cut);
    let mut text = redact_keys(&text);
    if body.len() > EXCERPT_BYTES {
        text.push('…');
    }
    text
}

/// Replaces the string value after each `"key"` with `[redacted]`, also when
/// the value is cut off by the end of the text.
fn redact_keys(text: &str) -> String {
    const NEEDLE: &str = "\"key\"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(NEEDLE) {
        let (before, after_needle) = rest.split_at(pos + NEEDLE.len());
        out.push_str(before);
        let trimmed = after_needle.trim_start();
        let Some(after_colon) = trimmed.strip_prefix(':') else {
            rest = after_needle;
            continue;
        };
        let value = after_colon.trim_start();
        let Some(inside) = value.strip_prefix('"') else {
            rest = after_needle;
            continue;
        };
        out.push_str(":\"[redacted]");
        // Skip to the closing quote, honouring backslash escapes.
        let mut escaped = false;
        let mut end = None;
        for (i, c) in inside.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        match end {
            Some(i) => rest = &inside[i..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_blanks_keys_even_when_cut_off() {
        assert_eq!(
            excerpt(br#"{"id":1,"key": "s3cr3t","x":"key"}"#),
            r#"{"id":1,"key":"[redacted]","x":"key"}"#
        );
        assert_eq!(
            excerpt(br#"{"id":1,"key":"s3cr"#),
            r#"{"id":1,"key":"[redacted]"#
        );
        assert_eq!(excerpt(br#"{"key":"a\"b"}"#), r#"{"key":"[redacted]"}"#);
    }

    #[test]
    fn excerpt_is_bounded_and_char_safe() {
        let body = "é".repeat(500);
        let e = excerpt(body.as_bytes());
        assert!(e.len() <= EXCERPT_BYTES + 4, "{}", e.len());
        assert!(e.ends_with('…'));
    }

    #[test]
    fn error_stays_small() {
        // Results are returned from every call; a fat error slows the happy path.
        assert!(
            std::mem::size_of::<Error>() <= 96,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn api_error_display_lists_every_field() {
        let err = ApiError::from_response(
            400,
            br#"{"error_codes":[400],"message":"Validation error.","fields":[
                {"name":"limit","message":"too big","error_code":400},
                {"name":"offset","message":"negative","error_code":400}]}"#,
            Some(Duration::from_secs(2)),
        );
        assert_eq!(
            err.to_string(),
            "API error (HTTP 400): Validation error. [limit: too big; offset: negative] (retry after 2 s)"
        );
    }

    #[test]
    fn empty_and_html_error_bodies_still_explain_themselves() {
        let empty = ApiError::from_response(502, b"", None);
        assert_eq!(
            empty.message,
            "HTTP 502 with an empty body (likely from a proxy or gateway)"
        );
        let html = ApiError::from_response(500, b"<h1>Internal</h1>", None);
        assert_eq!(
            html.message,
            "HTTP 500 with a body that is not the API's JSON error: \"<h1>Internal</h1>\""
        );
        assert!(html.error_codes.is_empty() && html.fields.is_empty());
    }
}
