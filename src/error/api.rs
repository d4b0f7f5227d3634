//! An error answer of the API, as its body says it.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

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
