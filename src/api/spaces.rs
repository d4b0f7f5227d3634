//! Spaces: `/v1/spaces/`, `/v1/lists/spaces/` and
//! `/v1/spaces/<id>/tokens/` on the IAM host.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use ureq::http::Method;

use crate::api::pages::{PageIter, PagedList, decode_page};
use crate::client::Client;
use crate::error::Error;
use crate::model::{Space, Token};
use crate::transport::Host;
use crate::transport::request::{Repeat, Request, Segment};

/// The longest space name the API takes, in characters.
const MAX_NAME_CHARS: usize = 255;

/// The spaces of the account, borrowed from a [`Client`] by
/// [`Client::spaces`]: create, list, get, rename and delete spaces, and
/// create tokens restricted to one.
///
/// A space token (see [`create_token`](Self::create_token)) may read its
/// own space; everything else here needs an account token.
///
/// ```no_run
/// # fn main() -> neuroio::Result<()> {
/// let client = neuroio::Client::from_env()?;
/// let warehouse = client.spaces().create("Warehouse")?;
/// let token = client.spaces().create_token(warehouse.id, false)?;
/// println!("space token {} for {}", token.id, warehouse.name);
/// for space in client.spaces().iter(None) {
///     let space = space?;
///     println!("{} {}", space.id, space.name);
/// }
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

    /// Creates a space. `POST /v1/spaces/` with `{"name": ...}`.
    ///
    /// The name is sent as given. One that is empty, only whitespace, or
    /// longer than 255 characters (once trimmed of surrounding whitespace)
    /// is refused before sending, with [`Error::InvalidArgument`]. A name
    /// another space of the account has is refused by the API: an
    /// [`ApiError`](crate::ApiError) of status 400 with a field error on
    /// `name`.
    ///
    /// Sent exactly once, like [`Tokens::create`](crate::Tokens::create):
    /// a second POST after a lost answer could make a second space. An open
    /// outcome is [`Error::OutcomeUnknown`]; look for the name with
    /// [`list`](Self::list) before creating again.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let space = match client.spaces().create("Warehouse") {
    ///     Err(err) if err.is_outcome_unknown() => client
    ///         .spaces()
    ///         .list_all(Some("Warehouse"))?
    ///         .into_iter()
    ///         .find(|s| s.name == "Warehouse")
    ///         .ok_or(err)?,
    ///     other => other?,
    /// };
    /// println!("space {} is {}", space.id, space.name);
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(&self, name: &str) -> crate::Result<Space> {
        const OPERATION: &str = "spaces.create";
        check_name(OPERATION, name, "the space name")?;
        let body = name_body(name);
        let request = Request::new(
            Method::POST,
            OPERATION,
            Host::Iam,
            "/v1/spaces/",
            Repeat::Never,
        )
        .json(body.as_bytes());
        self.client.call(&request)
    }

    /// One page of spaces, newest first.
    /// `GET /v1/spaces/?limit=&offset=[&q=]`.
    ///
    /// `q` keeps the spaces whose name contains it; `None` sends no `q`
    /// (the official Python SDK sends `q=` empty, which means the same).
    /// The official Python SDK's defaults are `limit = 20`, `offset = 0`.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let cameras = client.spaces().list(Some("cam"), 20, 0)?;
    /// println!("{} spaces on the first page match", cameras.len());
    /// # Ok(())
    /// # }
    /// ```
    pub fn list(&self, q: Option<&str>, limit: u32, offset: u32) -> crate::Result<Vec<Space>> {
        paged_list(q).fetch(self.client, limit, offset)
    }

    /// Every space (whose name contains `q`, when given), walking the pages
    /// lazily; see [`PageIter`]. Pages hold 100 spaces unless
    /// [`PageIter::page_size`] says otherwise.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// for space in client.spaces().iter(None).page_size(50) {
    ///     println!("{}", space?.name);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn iter(&self, q: Option<&str>) -> PageIter<'c, Space> {
        PageIter::new(self.client, paged_list(q), |space| space.id)
    }

    /// Every space (whose name contains `q`, when given), collected:
    /// [`iter`](Self::iter) walked to the end.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let all = client.spaces().list_all(None)?;
    /// println!("{} spaces", all.len());
    /// # Ok(())
    /// # }
    /// ```
    pub fn list_all(&self, q: Option<&str>) -> crate::Result<Vec<Space>> {
        self.iter(q).collect()
    }

    /// Every space of the account in one answer, without paging.
    /// `GET /v1/lists/spaces/`.
    ///
    /// The answer is read whole, within the client's
    /// [`max_response_bytes`](crate::ClientBuilder::max_response_bytes);
    /// for a very large account, walk the pages with [`iter`](Self::iter).
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let ids: Vec<u64> = client.spaces().list_unpaged()?.iter().map(|s| s.id).collect();
    /// println!("space ids: {ids:?}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn list_unpaged(&self) -> crate::Result<Vec<Space>> {
        let request = Request::new(
            Method::GET,
            "spaces.list_unpaged",
            Host::Iam,
            "/v1/lists/spaces/",
            Repeat::Safe,
        );
        self.client.call_with(&request, decode_page)
    }

    /// The old name of [`list_unpaged`](Self::list_unpaged), which says
    /// how it differs from [`list_all`](Self::list_all): one request, no
    /// pages.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// #[allow(deprecated)]
    /// let spaces = client.spaces().full_list()?;
    /// # let _ = spaces;
    /// # Ok(())
    /// # }
    /// ```
    #[deprecated(since = "0.1.0", note = "renamed to `list_unpaged`")]
    pub fn full_list(&self) -> crate::Result<Vec<Space>> {
        self.list_unpaged()
    }

    /// One space. `GET /v1/spaces/<id>/`.
    ///
    /// An id the account does not have is an
    /// [`ApiError`](crate::ApiError) of status 404
    /// ([`Error::is_not_found`]).
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let space = client.spaces().get(7)?;
    /// println!("space 7 is {}", space.name);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self, id: u64) -> crate::Result<Space> {
        self.client
            .call(&item_request(Method::GET, "spaces.get", id, Repeat::Safe))
    }

    /// Renames a space. `PATCH /v1/spaces/<id>/` with `{"name": ...}`.
    ///
    /// The name is checked as in [`create`](Self::create) before sending.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let space = client.spaces().update(7, "Warehouse east")?;
    /// assert_eq!(space.name, "Warehouse east");
    /// # Ok(())
    /// # }
    /// ```
    pub fn update(&self, id: u64, name: &str) -> crate::Result<Space> {
        const OPERATION: &str = "spaces.update";
        check_name(OPERATION, name, &format!("the new name of space {id}"))?;
        let body = name_body(name);
        let request =
            item_request(Method::PATCH, OPERATION, id, Repeat::Safe).json(body.as_bytes());
        self.client.call(&request)
    }

    /// Deletes a space, **and every token of it**. `DELETE /v1/spaces/<id>/`.
    ///
    /// The account's default space cannot be deleted (the API answers 400).
    /// Idempotent like [`Tokens::delete`](crate::Tokens::delete): when an
    /// attempt gets no answer and the retry finds the space gone (404), the
    /// call returns `Ok(())`; a 404 on the first attempt is still an error.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// client.spaces().delete(7)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete(&self, id: u64) -> crate::Result<()> {
        self.client.call_empty(&item_request(
            Method::DELETE,
            "spaces.delete",
            id,
            Repeat::SafeGoneIfMissing,
        ))
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
    /// open outcome is [`Error::OutcomeUnknown`].
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
        let request = item_request(Method::POST, "spaces.create_token", space_id, Repeat::Never)
            .tail("tokens/")
            .json(body);
        self.client.call(&request)
    }
}

/// A request about the space `id`: `/v1/spaces/<id>/`.
fn item_request(
    method: Method,
    operation: &'static str,
    id: u64,
    repeat: Repeat,
) -> Request<'static> {
    Request::new(method, operation, Host::Iam, "/v1/spaces/", repeat).segment(Segment::Id(id))
}

/// The paged list of spaces, filtered by `q` when given.
fn paged_list(q: Option<&str>) -> PagedList {
    PagedList {
        operation: "spaces.list",
        host: Host::Iam,
        path: "/v1/spaces/",
        filters: q.map_or_else(String::new, |q| {
            format!("q={}", utf8_percent_encode(q, NON_ALPHANUMERIC))
        }),
    }
}

/// Refuses, before sending, a name the API would refuse for its length.
fn check_name(operation: &'static str, name: &str, what: &str) -> crate::Result<()> {
    let chars = name.trim().chars().count();
    let problem = match chars {
        0 => "is empty or only whitespace",
        1..=MAX_NAME_CHARS => return Ok(()),
        _ => "is longer than 255 characters",
    };
    Err(Error::InvalidArgument {
        operation,
        reason: format!(
            "{what} {problem}; give a name of 1 to 255 characters (surrounding whitespace \
             does not count)"
        ),
    })
}

fn name_body(name: &str) -> String {
    serde_json::json!({ "name": name }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_by_their_trimmed_length() {
        assert!(check_name("spaces.create", "a", "the space name").is_ok());
        assert!(check_name("spaces.create", &"é".repeat(255), "the space name").is_ok());
        assert!(check_name("spaces.create", &format!("  {}  ", "x".repeat(255)), "n").is_ok());
        for bad in ["", "   ", "\t\n"] {
            let err = check_name("spaces.create", bad, "the space name").unwrap_err();
            assert_eq!(
                err.to_string(),
                "spaces.create: the space name is empty or only whitespace; give a name of 1 to \
                 255 characters (surrounding whitespace does not count)"
            );
        }
        let err =
            check_name("spaces.update", &"x".repeat(256), "the new name of space 7").unwrap_err();
        assert_eq!(
            err.to_string(),
            "spaces.update: the new name of space 7 is longer than 255 characters; give a name \
             of 1 to 255 characters (surrounding whitespace does not count)"
        );
    }

    #[test]
    fn q_is_encoded_as_one_parameter() {
        assert_eq!(paged_list(None).filters, "");
        assert_eq!(paged_list(Some("a&b=c d")).filters, "q=a%26b%3Dc%20d");
    }
}
