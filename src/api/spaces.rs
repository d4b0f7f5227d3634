//! Spaces: `/v1/spaces/<id>/tokens/` on the IAM host.

use ureq::http::Method;

use crate::client::Client;
use crate::config::Host;
use crate::model::Token;
use crate::transport::request::{Repeat, Request, Segment};

/// Spaces of the account, borrowed from a [`Client`] by [`Client::spaces`].
///
/// ```no_run
/// # fn main() -> neuroio::Result<()> {
/// let client = neuroio::Client::from_env()?;
/// let space_token = client.spaces().create_token(7, false)?;
/// # let _ = space_token;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Spaces<'c> {
    client: &'c Client,
}

impl<'c> Spaces<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Spaces { client }
    }

    /// Creates a token restricted to one space: permanent (`true`) or
    /// temporary, living 24 hours (`false`). `POST /v1/spaces/<id>/tokens/`.
    ///
    /// Only an account token of the account that owns the space may do this
    /// (a space token gets 403; another account's space, 404). The token
    /// works with [`Client::tokens`] like any other, within its space: it
    /// sees and manages only that space's tokens. A space holds at most 5
    /// permanent tokens.
    ///
    /// Sent exactly once, like [`Tokens::create`](crate::Tokens::create); an
    /// open outcome is [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let space = client.whoami()?.space.map_or(1, |s| s.id);
    /// let token = client.spaces().create_token(space, false)?;
    /// let as_space = client.with_api_token(&token.key)?;
    /// assert!(as_space.whoami()?.is_space_token());
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_token(&self, space_id: u64, permanent: bool) -> crate::Result<Token> {
        let body: &[u8] = if permanent {
            br#"{"permanent":true}"#
        } else {
            br#"{"permanent":false}"#
        };
        let request = Request::new(
            Method::POST,
            "spaces.create_token",
            Host::Iam,
            "/v1/spaces/",
            Repeat::Never,
        )
        .segment(Segment::Id(space_id))
        .tail("tokens/")
        .json(body);
        self.client.call(&request)
    }
}
