//! A fixed credential: one API token and the header that carries it.

use ureq::http::HeaderValue;

use crate::error::ConfigError;
use crate::secret::TokenKey;

/// An API token and the header that carries it.
#[derive(Clone)]
pub(crate) struct Credential {
    pub(crate) key: TokenKey,
    /// `Token <key>`, marked sensitive so `http` never prints it.
    pub(crate) header: HeaderValue,
}

impl Credential {
    /// Checks an API token and makes the header that carries it.
    pub(crate) fn new(key: TokenKey) -> Result<Credential, ConfigError> {
        let header = authorization_header(&key)?;
        Ok(Credential { key, header })
    }
}

fn authorization_header(token: &TokenKey) -> Result<HeaderValue, ConfigError> {
    let token = token.secret();
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
