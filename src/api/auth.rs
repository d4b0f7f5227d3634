//! Logging in and changing the password: `/v1/auth/` on the IAM host.

use ureq::http::Method;

use crate::client::Client;
use crate::config::{ClientBuilder, Host};
use crate::model::Login;
use crate::secret::Password;
use crate::transport::request::{Repeat, Request};

/// Credentials and passwords, borrowed from a [`Client`] by [`Client::auth`].
/// Logging in needs no client: see [`ClientBuilder::login`].
///
/// ```no_run
/// # fn main() -> neuroio::Result<()> {
/// let client = neuroio::Client::from_env()?;
/// client.auth().change_password("old secret", "new secret", false)?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Auth<'c> {
    client: &'c Client,
}

impl<'c> Auth<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Auth { client }
    }

    /// Changes the account's password. `POST /v1/auth/password/change/`
    /// with the old password, the new one (twice, as the API wants) and
    /// `reset_tokens`.
    ///
    /// With `reset_tokens: true` the API also deletes **every token of the
    /// account, this client's own included**: calls after that fail with
    /// 401; log in again for a new token.
    ///
    /// Sent exactly once, never retried: with `reset_tokens` it is not
    /// idempotent, and an open outcome is [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    /// A wrong old password is an [`ApiError`](crate::ApiError) of status
    /// 400 with a field error on `old_password`. Neither password appears
    /// in any error or log line.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let new_password = String::from("correct horse battery staple");
    /// client.auth().change_password("old secret", &new_password, false)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn change_password(
        &self,
        old_password: impl Into<Password>,
        new_password: impl Into<Password>,
        reset_tokens: bool,
    ) -> crate::Result<()> {
        let (old, new) = (old_password.into(), new_password.into());
        let body = serde_json::json!({
            "old_password": old.secret(),
            "password": new.secret(),
            "password2": new.secret(),
            "reset_tokens": reset_tokens,
        })
        .to_string();
        let request = Request::new(
            Method::POST,
            "auth.change_password",
            Host::Iam,
            "/v1/auth/password/change/",
            Repeat::Never,
        )
        .json(body.as_bytes())
        .password(old.secret())
        .password(new.secret());
        self.client.call_empty(&request)
    }
}

impl ClientBuilder {
    /// Logs in with a user name and password, and returns a client that uses
    /// the new temporary token (24 hours), with the answer: the user, and
    /// the token with its key. `POST /v1/auth/token/`, with no
    /// `Authorization` header; any API token set on the builder is not used.
    ///
    /// Sent exactly once, like [`Tokens::create`](crate::Tokens::create): it
    /// mints a token, so a lost answer is [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    /// A wrong user name or password is an [`ApiError`](crate::ApiError)
    /// (400, code 602) for which
    /// [`Error::is_login_failed`](crate::Error::is_login_failed) is true. The
    /// password never appears in `Debug`, an error or a log line.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let password = std::env::var("NEUROIO_PASSWORD").unwrap_or_default();
    /// let (client, login) = neuroio::Client::builder().login("ada", &password)?;
    /// println!("logged in as {} with token {}", login.user.username, login.token.id);
    /// let me = client.whoami()?;
    /// # let _ = me;
    /// # Ok(())
    /// # }
    /// ```
    pub fn login(
        self,
        username: impl AsRef<str>,
        password: impl Into<Password>,
    ) -> crate::Result<(Client, Login)> {
        let anonymous = Client::from_inner(self.connect()?);
        let password = password.into();
        let body = serde_json::json!({
            "username": username.as_ref(),
            "password": password.secret(),
        })
        .to_string();
        let request = Request::new(
            Method::POST,
            "auth.login",
            Host::Iam,
            "/v1/auth/token/",
            Repeat::Never,
        )
        .anonymous()
        .json(body.as_bytes())
        .password(password.secret());
        let login: Login = anonymous.call(&request)?;
        let client = anonymous.with_api_token(&login.token.key)?;
        Ok((client, login))
    }
}
