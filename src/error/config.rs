//! Settings a client cannot work with, token files included.

use std::path::PathBuf;

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
