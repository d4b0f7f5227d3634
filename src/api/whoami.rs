//! Who am I: `/v1/whoami/` on the IAM host.

use ureq::http::Method;

use crate::client::Client;
use crate::model::Whoami;
use crate::transport::Host;
use crate::transport::request::{Repeat, Request};

impl Client {
    /// What the API knows about this client's token: the user and space of
    /// an account token, or the space of a space token. `GET /v1/whoami/`.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// let client = neuroio::Client::from_env()?;
    /// let me = client.whoami()?;
    /// match (me.username(), me.space()) {
    ///     (Some(user), _) => println!("account token of {user}"),
    ///     (None, Some(space)) => println!("space token of space {} ({})", space.id, space.name),
    ///     (None, None) => println!("neither user nor space, {} other field(s)", me.extra.len()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn whoami(&self) -> crate::Result<Whoami> {
        self.call(&Request::new(
            Method::GET,
            "whoami",
            Host::Iam,
            "/v1/whoami/",
            Repeat::Safe,
        ))
    }
}
