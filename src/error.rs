//! Everything that can go wrong, as types a caller can match on.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::redact::Secrets;

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

/// Why a renewing client could not send a call, or could not tidy up.
///
/// Its `Display` says what failed, for which operation (`renewing.mint`:
/// the last mint failed and the backoff is not over; `renewing.wait`: the
/// mint in flight did not end within the call's timeout; `renewing.close`:
/// some tokens could not be deleted; `renewing.closed`: the client was
/// closed), and when the next mint will be tried. It never shows a key.
///
/// ```no_run
/// # fn main() -> neuroio::Result<()> {
/// let client = neuroio::ClientBuilder::from_env()?
///     .renewing(std::time::Duration::from_secs(3600))
///     .build()?;
/// match client.whoami() {
///     Err(neuroio::Error::Renewal(renewal)) => {
///         eprintln!("{renewal}");
///         if let Some(wait) = renewal.retry_in {
///             std::thread::sleep(wait);
///         }
///     }
///     other => println!("{:?}", other.map(|me| me.extra)),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenewalError {
    /// `"renewing.mint"`, `"renewing.wait"`, `"renewing.close"` or
    /// `"renewing.closed"`.
    pub operation: &'static str,
    /// What failed, with every key blanked out.
    pub reason: String,
    /// The HTTP status of the failed mint, when the server answered one.
    pub status: Option<u16>,
    /// Whether the failed mint may have made a token anyway (its answer
    /// was lost): such a token expires on its own.
    pub outcome_unknown: bool,
    /// How long from when this error was made until the next mint may be
    /// tried; `None` when that is not the problem.
    pub retry_in: Option<Duration>,
    /// For `renewing.close`: the ids of the tokens it could not delete.
    pub not_deleted: Vec<u64>,
}

impl RenewalError {
    pub(crate) fn new(operation: &'static str, reason: String) -> Box<RenewalError> {
        Box::new(RenewalError {
            operation,
            reason,
            status: None,
            outcome_unknown: false,
            retry_in: None,
            not_deleted: Vec::new(),
        })
    }

    pub(crate) fn mint_failed(
        reason: String,
        status: Option<u16>,
        outcome_unknown: bool,
        retry_in: Duration,
    ) -> Box<RenewalError> {
        let mut err = RenewalError::new("renewing.mint", reason);
        err.status = status;
        err.outcome_unknown = outcome_unknown;
        err.retry_in = Some(retry_in);
        err
    }

    pub(crate) fn not_deleted(ids: Vec<u64>, reason: String) -> Box<RenewalError> {
        let mut err = RenewalError::new("renewing.close", reason);
        err.not_deleted = ids;
        err
    }
}

impl fmt::Display for RenewalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.operation;
        if !self.not_deleted.is_empty() {
            let ids: Vec<String> = self.not_deleted.iter().map(u64::to_string).collect();
            return write!(
                f,
                "{op}: could not delete working token(s) {}: {}; they expire on their own, \
                 or delete them with the parent token",
                ids.join(", "),
                self.reason
            );
        }
        match self.retry_in {
            Some(wait) => {
                write!(
                    f,
                    "{op}: no working token to send the call with: {}; the next mint will be \
                     tried in {:.1} s, and calls made before then fail at once",
                    self.reason,
                    wait.as_secs_f64()
                )?;
                if self.outcome_unknown {
                    f.write_str(
                        " (the failed mint may have made a token, which expires on its own)",
                    )?;
                }
                Ok(())
            }
            None => write!(f, "{op}: {}", self.reason),
        }
    }
}

impl std::error::Error for RenewalError {}

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

/// The largest credentials file read: a file of many profiles takes a few
/// kilobytes, and a larger one is a mistake (or `/dev/zero`).
pub const MAX_CREDENTIALS_BYTES: u64 = 1024 * 1024;

/// What went wrong with the credentials file or a profile in it.
///
/// Every message names the file (and the profile, where one is involved)
/// and says what to do. None shows a token.
///
/// ```
/// let err = neuroio::Profiles::check_name("my profile").unwrap_err();
/// assert!(matches!(err, neuroio::ProfileError::InvalidName { .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// None of `NEUROIO_CONFIG_DIR`, `XDG_CONFIG_HOME` and `HOME` is set.
    #[error(
        "cannot tell where the credentials file is: set NEUROIO_CONFIG_DIR (or XDG_CONFIG_HOME or HOME)"
    )]
    NoConfigDir,
    /// A profile name outside `[A-Za-z0-9_-]{1,64}`.
    #[error(
        "invalid profile name {name:?}: use 1 to 64 letters, digits, '-' or '_' (but not `current`, \
         the file's key for the current profile)"
    )]
    #[non_exhaustive]
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// The credentials file does not exist.
    #[error("no credentials file at {}: log in first (neuroio login --username USER)", path.display())]
    #[non_exhaustive]
    MissingFile {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The file has no table for the profile.
    #[error(
        "no profile {profile:?} in {}{}: log in with neuroio login --username USER --profile {profile}",
        path.display(),
        others(existing)
    )]
    #[non_exhaustive]
    MissingProfile {
        /// The credentials file.
        path: PathBuf,
        /// The profile asked for.
        profile: String,
        /// The profiles the file has, by name.
        existing: Vec<String>,
    },
    /// The profile holds no token (it was logged out).
    #[error(
        "profile {profile:?} in {} holds no token (logged out?): log in with neuroio login --username USER --profile {profile}",
        path.display()
    )]
    #[non_exhaustive]
    NoToken {
        /// The credentials file.
        path: PathBuf,
        /// The profile.
        profile: String,
    },
    /// Group or others may read or change the file: it is refused, as ssh
    /// refuses a private key others can read.
    #[error(
        "{} holds API tokens but its mode {mode:04o} lets group or others read or change it; \
         fix it with: chmod 600 {}",
        path.display(),
        path.display()
    )]
    #[non_exhaustive]
    Unprotected {
        /// The credentials file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Others may change the folder that holds the file (its mode lets
    /// group or others write without the sticky bit, or another user owns
    /// it): they could replace the file, so it is refused.
    #[error(
        "{} holds the credentials file but {why}, so another user could replace the file; \
         fix it with: {fix}",
        folder.display()
    )]
    #[non_exhaustive]
    UnprotectedFolder {
        /// The folder.
        folder: PathBuf,
        /// What is wrong with it.
        why: String,
        /// The command that fixes it.
        fix: String,
    },
    /// The file is not the TOML this crate writes.
    #[error("{}:{line}: malformed credentials file: {message}; fix or remove that line", path.display())]
    #[non_exhaustive]
    Malformed {
        /// The credentials file.
        path: PathBuf,
        /// The line where the problem is, from 1.
        line: usize,
        /// What is wrong (with quoted values left out: they may be keys).
        message: String,
    },
    /// Something that is not a regular file is where the credentials file
    /// should be: a directory, or a named pipe, socket or device, which
    /// could block a read forever. Refused before it is opened; a symbolic
    /// link to a regular file is fine.
    #[error(
        "{} is {kind}, not a credentials file: remove it, or set NEUROIO_CONFIG_DIR to \
         another folder",
        path.display()
    )]
    #[non_exhaustive]
    NotAFile {
        /// The credentials file's path.
        path: PathBuf,
        /// What is there instead: "a directory", "a named pipe (FIFO)",
        /// "a socket", "a device" or "not a regular file".
        kind: &'static str,
    },
    /// The file is larger than [`MAX_CREDENTIALS_BYTES`].
    #[error(
        "{} is larger than {MAX_CREDENTIALS_BYTES} bytes; that is not a credentials file",
        path.display()
    )]
    #[non_exhaustive]
    TooLarge {
        /// The credentials file.
        path: PathBuf,
    },
    /// Reading the file failed.
    #[error("cannot read {}: {message}", path.display())]
    #[non_exhaustive]
    Unreadable {
        /// The credentials file.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
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
    /// The URL of the call, when the error came from one (see [`ApiError::url`]).
    pub(crate) url: Option<Box<str>>,
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

impl ApiError {
    /// The URL the failed call went to: scheme, host, port and path, such as
    /// `https://iam.neuroio.com/v1/tokens/7/`, with a key in the path shown
    /// as `<key>` and the query left out. `None` for an error not made by a
    /// call (such as one from [`ApiError::from_response`]).
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::Client::from_env()?;
    /// if let Err(neuroio::Error::Api(refused)) = client.tokens().get(7) {
    ///     eprintln!("{refused} ({})", refused.url().unwrap_or("no URL"));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// This error, as the answer to a call to `url`.
    pub(crate) fn at(mut self, url: String) -> Self {
        self.url = Some(url.into_boxed_str());
        self
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
    #[error(
        "no API token: pass one to ClientBuilder::api_token (or a file to api_token_file), \
         or set NEUROIO_API_TOKEN (or NEUROIO_API_TOKEN_FILE)"
    )]
    MissingApiToken,
    /// The API token cannot be sent as given.
    #[error("invalid API token: {0}")]
    InvalidApiToken(&'static str),
    /// The IAM or API URL cannot be used.
    #[error("invalid {setting} {url:?}: {reason}")]
    #[non_exhaustive]
    InvalidUrl {
        /// Which URL: `"IAM URL"` or `"API URL"`.
        setting: &'static str,
        /// The URL as given (one with credentials in it is not shown).
        url: String,
        /// What is wrong with it and what to do.
        reason: String,
    },
    /// An `http://` URL to another machine, which would send the API token
    /// in clear text, without
    /// [`allow_insecure_http`](crate::ClientBuilder::allow_insecure_http).
    #[error(
        "invalid {setting} {url:?}: http:// would send the API token in clear text to another \
         machine; use https://, or opt in with ClientBuilder::allow_insecure_http(true)"
    )]
    #[non_exhaustive]
    InsecureUrl {
        /// Which URL: `"IAM URL"` or `"API URL"`.
        setting: &'static str,
        /// The URL as given (one with credentials in it is not shown).
        url: String,
    },
    /// Any other setting out of its range.
    #[error("invalid setting {name}: {reason}")]
    #[non_exhaustive]
    InvalidSetting {
        /// The builder method or environment variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The token file (see
    /// [`ClientBuilder::api_token_file`](crate::ClientBuilder::api_token_file))
    /// gave no key to start with: it is missing, empty, too large, not a
    /// regular file, unreadable, or holds no key that can be sent. Raised
    /// by `build`; a client already built keeps its last good key when a
    /// later read of the file fails, so calls never meet this error.
    ///
    /// ```
    /// let err = neuroio::Client::builder()
    ///     .api_token_file("/nonexistent/neuroio.token")
    ///     .build()
    ///     .unwrap_err();
    /// let neuroio::Error::Config(neuroio::ConfigError::TokenFile { path, kind, .. }) = &err else {
    ///     panic!("{err}");
    /// };
    /// assert_eq!(*kind, neuroio::TokenFileErrorKind::Missing);
    /// assert_eq!(path, std::path::Path::new("/nonexistent/neuroio.token"));
    /// assert!(err.to_string().contains("/nonexistent/neuroio.token"));
    /// ```
    #[error("token file {}: {reason}", path.display())]
    #[non_exhaustive]
    TokenFile {
        /// The token file, as given.
        path: PathBuf,
        /// What is wrong with it.
        kind: TokenFileErrorKind,
        /// What is wrong and what to do, in words; never the file's text.
        reason: String,
    },
}

/// The largest token file read (64 KiB): a key is 40 characters and the
/// token agent's JSON about 150 bytes, so a larger file is a mistake
/// (or `/dev/zero`), refused before it fills the memory.
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// What is wrong with a token file: the `kind` of
/// [`ConfigError::TokenFile`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenFileErrorKind {
    /// Nothing is at the path.
    Missing,
    /// The file holds nothing but whitespace.
    Empty,
    /// The file is larger than [`MAX_TOKEN_FILE_BYTES`].
    TooLarge,
    /// A directory, named pipe, socket or device is at the path (refused
    /// before it is opened: a pipe or a device could block a read forever).
    NotAFile,
    /// The file could not be read (permissions, I/O).
    Unreadable,
    /// The file is not UTF-8 text, or starts with `{` and is not the token
    /// agent's JSON (an object with a `"key"` string).
    Malformed,
    /// The key read cannot be sent: it contains whitespace (two lines?),
    /// control or non-ASCII characters.
    InvalidKey,
}

impl ConfigError {
    /// A token file error: `detail` adds what only the caller knows (the
    /// I/O error, where the JSON broke, why the key cannot be sent).
    pub(crate) fn token_file(
        path: &std::path::Path,
        kind: TokenFileErrorKind,
        detail: Option<&str>,
    ) -> ConfigError {
        const POINT: &str = "point ClientBuilder::api_token_file (or NEUROIO_API_TOKEN_FILE) \
                             at the file that holds the token";
        let detail = detail.unwrap_or_default();
        let reason = match kind {
            TokenFileErrorKind::Missing => {
                format!("does not exist; write the API token into it, or {POINT}")
            }
            TokenFileErrorKind::Empty => {
                "is empty; write the API token (or the token agent's JSON) into it".to_owned()
            }
            TokenFileErrorKind::TooLarge => format!(
                "is larger than {MAX_TOKEN_FILE_BYTES} bytes, so it is not a token file; {POINT}"
            ),
            TokenFileErrorKind::NotAFile => format!("is {detail}, not a file; {POINT}"),
            TokenFileErrorKind::Unreadable => {
                format!("cannot be read ({detail}); check its permissions and owner")
            }
            TokenFileErrorKind::Malformed => format!(
                "{detail}; write the key alone (a trailing newline is fine), or JSON such as \
                 {{\"id\": 1, \"key\": \"...\", \"expires\": \"...\"}}"
            ),
            TokenFileErrorKind::InvalidKey => {
                format!("holds a key that cannot be sent: {detail}")
            }
        };
        ConfigError::TokenFile {
            path: path.to_owned(),
            kind,
            reason,
        }
    }
}

/// The profiles a credentials file has, for [`ProfileError::MissingProfile`]:
/// nothing when it has none.
fn others(existing: &[String]) -> String {
    if existing.is_empty() {
        String::new()
    } else {
        format!(
            " (it has {}; use one with --profile NAME, or make one the current profile \
             with neuroio auth switch NAME)",
            existing.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
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
