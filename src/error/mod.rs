//! Everything that can go wrong, as types a caller can match on.

use crate::redact::Secrets;

mod api;
mod config;
mod profile;
mod renewal;
mod transport;

pub use api::{ApiError, FieldError};
pub use config::{ConfigError, MAX_TOKEN_FILE_BYTES, TokenFileErrorKind};
pub use profile::{MAX_CREDENTIALS_BYTES, ProfileError};
pub use renewal::RenewalError;
pub use transport::{TransportError, TransportErrorKind};

/// The result of every fallible call in this crate.
///
/// ```
/// fn first_token(client: &neuroio::Client) -> neuroio::Result<Option<neuroio::Token>> {
///     Ok(client.tokens().list(None, 1, 0)?.into_iter().next())
/// }
/// # let _ = first_token;
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
    #[non_exhaustive]
    UnexpectedResponse {
        /// The HTTP status of the answer.
        status: u16,
        /// What was wrong with it.
        reason: String,
        /// The first bytes of the body, with every secret the request carried
        /// and every token key blanked out.
        excerpt: String,
        /// Why the body could not be decoded, when that was the problem.
        #[source]
        source: Option<Box<DecodeError>>,
    },

    /// A walk over a paged list ([`PageIter`](crate::PageIter)) saw the list
    /// change under it (items created or deleted between two page
    /// requests) once more after starting over `restarts` times, and gave
    /// up rather than yield a list that may miss items. Walk it again when
    /// fewer items are being created or deleted, narrow it with a filter,
    /// or allow more restarts with
    /// [`PageIter::max_restarts`](crate::PageIter::max_restarts).
    ///
    /// ```
    /// fn busy(err: &neuroio::Error) -> bool {
    ///     matches!(err, neuroio::Error::ListChanged { .. })
    /// }
    /// # let _ = busy;
    /// ```
    #[error(
        "{operation}: the list changed during the walk (items were created or deleted between \
         two page requests) once more than the walk may start over ({restarts} times); walk \
         it again when fewer items are being created or deleted, narrow it with a filter, or \
         allow more restarts (PageIter::max_restarts); a proxy that drops the query's \
         `offset` looks the same"
    )]
    #[non_exhaustive]
    ListChanged {
        /// The list operation, such as `"tokens.list"`.
        operation: &'static str,
        /// How many times the walk started over from the first page.
        restarts: u32,
    },

    /// The client was configured with something it cannot use.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// A local input/output operation failed, such as starting the
    /// simulator or reading a token file.
    #[error("{context}: {source}")]
    #[non_exhaustive]
    Io {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A request that is not safe to repeat (creating a token, logging in,
    /// changing a password) failed in a way that leaves open whether the
    /// server carried it out: the request may have reached the server, and
    /// the answer was lost, timed out, was a server error, or could not be
    /// read. A token may or may not have been created; list the tokens
    /// (newest first) and compare before creating another. The cause is the
    /// `source`.
    #[error(
        "{operation}: the outcome is unknown, it may or may not have been carried out; {} ({source})",
        outcome_hint(operation)
    )]
    #[non_exhaustive]
    OutcomeUnknown {
        /// The operation, such as `"tokens.create"`.
        operation: &'static str,
        /// What went wrong.
        source: Box<Error>,
    },

    /// An argument the API would refuse, such as a space name that is
    /// empty or too long; no request was sent.
    #[error("{operation}: {reason}")]
    #[non_exhaustive]
    InvalidArgument {
        /// The operation, such as `"spaces.create"`.
        operation: &'static str,
        /// What is wrong with the argument and what to give instead.
        reason: String,
    },
    /// The credentials file or a profile in it cannot be used (see
    /// [`Client::from_profile`](crate::Client::from_profile)).
    #[error(transparent)]
    Profile(Box<ProfileError>),

    /// A renewing client (see
    /// [`ClientBuilder::renewing`](crate::ClientBuilder::renewing)) has no
    /// working token to send a call with and may not mint one now, could
    /// not delete its tokens at [`Client::close`](crate::Client::close), or
    /// was closed. No request was sent for the call.
    #[error(transparent)]
    Renewal(#[from] Box<RenewalError>),

    /// A [`TokenRef`](crate::TokenRef) that can name no token (a negative id,
    /// an empty key, `.` or `..`, a key too long for a URL); no request was
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
            Error::Renewal(renewal) => renewal.status,
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

    /// Whether logging in failed because the user name and password do not
    /// match (the API's error code 602). Unlike
    /// [`is_unauthorized`](Self::is_unauthorized), which is about a token
    /// the API no longer accepts.
    ///
    /// ```
    /// let err: neuroio::Error = neuroio::ApiError::from_response(
    ///     400,
    ///     br#"{"error_codes":[602],"message":"Username and password do not match.","fields":[]}"#,
    ///     None,
    /// ).into();
    /// assert!(err.is_login_failed());
    /// assert!(!err.is_unauthorized());
    /// ```
    pub fn is_login_failed(&self) -> bool {
        matches!(self, Error::Api(api) if api.error_codes.contains(&602))
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

    /// Whether the request may have reached the server while no usable
    /// answer came back: a timeout after connecting, a dropped connection,
    /// an answer too large to read, or a success whose body could not be
    /// read. A failed DNS lookup, a refused connection or a rejected
    /// certificate sent nothing.
    pub(crate) fn answer_lost(&self) -> bool {
        match self {
            Error::Transport(t) => t.may_have_reached_server(),
            Error::UnexpectedResponse { status, .. } => (200..300).contains(status),
            _ => false,
        }
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

    pub(crate) fn unexpected(
        status: u16,
        reason: impl Into<String>,
        body: &[u8],
        secrets: &Secrets<'_>,
    ) -> Self {
        Error::UnexpectedResponse {
            status,
            reason: reason.into(),
            excerpt: secrets.excerpt(body),
            source: None,
        }
    }

    /// A success whose body is not the JSON the API promises.
    pub(crate) fn undecodable(
        operation: &'static str,
        status: u16,
        body: &[u8],
        source: &serde_json::Error,
        secrets: &Secrets<'_>,
    ) -> Self {
        let source = DecodeError {
            // serde quotes the value it choked on, which may be a secret.
            message: secrets.scrub(&source.to_string()),
            line: source.line(),
            column: source.column(),
        };
        Error::UnexpectedResponse {
            status,
            reason: format!("the answer to {operation} is not the expected JSON ({source})"),
            excerpt: secrets.excerpt(body),
            source: Some(Box::new(source)),
        }
    }
}

/// Why an answer's body could not be decoded: the JSON parser's message,
/// with every secret the request carried blanked out (the parser quotes the
/// value it choked on), and where in the body it stopped.
///
/// It is the [`source`](std::error::Error::source) of
/// [`Error::UnexpectedResponse`] when the body was the problem.
///
/// ```
/// # fn check(err: &neuroio::Error) {
/// if let neuroio::Error::UnexpectedResponse { source: Some(decode), .. } = err
/// {
///     eprintln!("bad JSON at line {} column {}", decode.line(), decode.column());
/// }
/// # }
/// # let _ = check;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    message: String,
    line: usize,
    column: usize,
}

impl DecodeError {
    /// The line of the body where decoding stopped, from 1.
    ///
    /// ```
    /// # fn check(d: &neuroio::DecodeError) { let _ = d.line(); }
    /// # let _ = check;
    /// ```
    pub fn line(&self) -> usize {
        self.line
    }

    /// The column where decoding stopped, from 1.
    ///
    /// ```
    /// # fn check(d: &neuroio::DecodeError) { let _ = d.column(); }
    /// # let _ = check;
    /// ```
    pub fn column(&self) -> usize {
        self.column
    }
}

impl From<ProfileError> for Error {
    fn from(err: ProfileError) -> Self {
        Error::Profile(Box::new(err))
    }
}

/// What to do after an open outcome, by operation.
fn outcome_hint(operation: &str) -> &'static str {
    if operation.ends_with("change_password") {
        "try logging in with the new password before trying again"
    } else if operation == "spaces.create" {
        "a space may have been created: list the spaces and look for its name before trying again"
    } else {
        "a token may have been created: list the newest tokens and compare before trying again"
    }
}

// The credentials file's errors live here with the others, so that the
// types import nothing above them; `credentials::profile` re-exports them.

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn error_stays_small() {
        // Results are returned from every call; a fat error slows the happy
        // path. ApiError is the largest variant: its URL is a boxed str (16
        // bytes) so that it says where without growing further.
        assert!(
            std::mem::size_of::<Error>() <= 112,
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
