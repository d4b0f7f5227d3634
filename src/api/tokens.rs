//! Token collections: the Tokens API and the stream tokens API, one
//! implementation with one method per documented operation.

use ureq::http::Method;

use crate::api::pages::{PagedList, TokenIter};
use crate::client::Client;
use crate::model::Token;
use crate::token_ref::TokenRef;
use crate::transport::Host;
use crate::transport::request::{Repeat, Request};

/// Where a collection lives and what its operations are called in logs and
/// errors.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Endpoints {
    kind: Kind,
    host: Host,
    path: &'static str,
    ops: Operations,
}

/// Which collection of tokens: what the audit names in its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Tokens,
    StreamTokens,
}

#[derive(Clone, Copy, Debug)]
struct Operations {
    create: &'static str,
    list: &'static str,
    get: &'static str,
    update: &'static str,
    delete: &'static str,
    delete_list: &'static str,
}

impl Endpoints {
    /// `/v1/tokens/` on the IAM host.
    pub(crate) const TOKENS: Endpoints = Endpoints {
        kind: Kind::Tokens,
        host: Host::Iam,
        path: "/v1/tokens/",
        ops: Operations {
            create: "tokens.create",
            list: "tokens.list",
            get: "tokens.get",
            update: "tokens.update",
            delete: "tokens.delete",
            delete_list: "tokens.delete_list",
        },
    };

    /// `/v1/streams/tokens/` on the API host.
    pub(crate) const STREAM_TOKENS: Endpoints = Endpoints {
        kind: Kind::StreamTokens,
        host: Host::Api,
        path: "/v1/streams/tokens/",
        ops: Operations {
            create: "stream_tokens.create",
            list: "stream_tokens.list",
            get: "stream_tokens.get",
            update: "stream_tokens.update",
            delete: "stream_tokens.delete",
            delete_list: "stream_tokens.delete_list",
        },
    };
}

/// A collection of tokens: the Tokens API ([`Client::tokens`], on the IAM
/// host) or the stream tokens API ([`Client::stream_tokens`], on the API
/// host). Both have the same operations, rules and answers; this one type
/// serves both.
///
/// ```no_run
/// # fn main() -> neuroio::Result<()> {
/// let client = neuroio::Client::new("my-api-token")?;
/// let tokens = client.tokens();
/// let temporary = tokens.create(false)?;
/// let fetched = tokens.get(&temporary)?;
/// assert_eq!(fetched.id, temporary.id);
/// tokens.delete(&temporary)?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Tokens<'c> {
    client: &'c Client,
    collection: Endpoints,
}

impl<'c> Tokens<'c> {
    pub(crate) fn new(client: &'c Client, collection: Endpoints) -> Self {
        Tokens { client, collection }
    }

    /// The client this collection calls with.
    pub(crate) fn client(&self) -> &'c Client {
        self.client
    }

    /// Which collection this is (tokens, or stream tokens).
    pub(crate) fn kind(&self) -> Kind {
        self.collection.kind
    }

    /// A request to this collection (`segment` names one token).
    fn request<'a>(&self, method: Method, operation: &'static str, repeat: Repeat) -> Request<'a> {
        Request::new(
            method,
            operation,
            self.collection.host,
            self.collection.path,
            repeat,
        )
    }

    /// Creates a token: permanent (`true`) or temporary, living 24 hours
    /// (`false`). `POST /v1/tokens/` (or `/v1/streams/tokens/`).
    ///
    /// An account holds at most 5 permanent tokens; the 6th is refused with
    /// an [`ApiError`](crate::ApiError) of status 400.
    ///
    /// # Never retried
    ///
    /// Unlike every other operation, `create` is sent exactly once, whatever
    /// [`max_retries`](crate::ClientBuilder::max_retries) says: when an
    /// answer is lost, the server may already have created the token, and a
    /// second POST would mint a duplicate (and could eat into the limit of 5
    /// permanent tokens). When the outcome is open (the connection dropped,
    /// the call timed out, or a 5xx came back) the error is
    /// [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown). To recover, list the newest tokens and look
    /// for one created since the call began before creating again:
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let started = neuroio::time::OffsetDateTime::now_utc() - neuroio::time::Duration::seconds(5);
    /// let token = match client.tokens().create(false) {
    ///     Ok(token) => token,
    ///     Err(err) if err.is_outcome_unknown() => {
    ///         let newest = client.tokens().list(Some(false), 5, 0)?;
    ///         match newest.into_iter().find(|t| t.created >= started) {
    ///             Some(token) => token,                 // it was created after all
    ///             None => client.tokens().create(false)?, // it was not: safe to retry
    ///         }
    ///     }
    ///     Err(err) => return Err(err),
    /// };
    /// # let _ = token;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let token = client.tokens().create(false)?;
    /// assert!(!token.is_permanent());
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(&self, permanent: bool) -> crate::Result<Token> {
        let body: &[u8] = if permanent {
            br#"{"permanent":true}"#
        } else {
            br#"{"permanent":false}"#
        };
        let request = self
            .request(Method::POST, self.collection.ops.create, Repeat::Never)
            .json(body);
        self.client.call(&request)
    }

    /// One page of tokens, newest first. `GET /v1/tokens/?limit=&offset=`.
    ///
    /// `permanent` filters: `Some(true)` permanent tokens only, `Some(false)`
    /// temporary only, `None` all. The official Python SDK's defaults are
    /// `limit = 20`, `offset = 0`.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let temporary = client.tokens().list(Some(false), 10, 5)?;
    /// # let _ = temporary;
    /// # Ok(())
    /// # }
    /// ```
    pub fn list(
        &self,
        permanent: Option<bool>,
        limit: u32,
        offset: u32,
    ) -> crate::Result<Vec<Token>> {
        self.paged_list(permanent).fetch(self.client, limit, offset)
    }

    /// The list, with `permanent` as its filter when given.
    fn paged_list(&self, permanent: Option<bool>) -> PagedList {
        PagedList {
            operation: self.collection.ops.list,
            host: self.collection.host,
            path: self.collection.path,
            filters: permanent.map_or_else(String::new, |p| format!("permanent={p}")),
        }
    }

    /// Every token, walking the pages lazily; see [`TokenIter`].
    ///
    /// `permanent` filters as in [`list`](Self::list). Pages hold 100 tokens
    /// unless [`TokenIter::page_size`] says otherwise.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// for token in client.tokens().iter(None) {
    ///     let token = token?;
    ///     println!("{} permanent={}", token.id, token.is_permanent());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn iter(&self, permanent: Option<bool>) -> TokenIter<'c> {
        TokenIter::new(self.client, self.paged_list(permanent), |token| token.id)
    }

    /// Every token, collected: [`iter`](Self::iter) walked to the end.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let permanent = client.tokens().list_all(Some(true))?;
    /// assert!(permanent.len() <= 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn list_all(&self, permanent: Option<bool>) -> crate::Result<Vec<Token>> {
        self.iter(permanent).collect()
    }

    /// One token, by id or key. `GET /v1/tokens/<id-or-key>/`.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let by_id = client.tokens().get(1)?;
    /// let by_key = client.tokens().get(&by_id.key)?;
    /// assert_eq!(by_id, by_key);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self, token: impl Into<TokenRef>) -> crate::Result<Token> {
        let request = self
            .request(Method::GET, self.collection.ops.get, Repeat::Safe)
            .segment(token.into().segment()?);
        self.client.call(&request)
    }

    /// Activates or deactivates a token. `PATCH /v1/tokens/<id-or-key>/`
    /// with `{"is_active": <bool>}`.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let token = client.tokens().update(1, false)?;
    /// assert!(!token.is_active);
    /// # Ok(())
    /// # }
    /// ```
    pub fn update(&self, token: impl Into<TokenRef>, is_active: bool) -> crate::Result<Token> {
        let body: &[u8] = if is_active {
            br#"{"is_active":true}"#
        } else {
            br#"{"is_active":false}"#
        };
        let request = self
            .request(Method::PATCH, self.collection.ops.update, Repeat::Safe)
            .segment(token.into().segment()?)
            .json(body);
        self.client.call(&request)
    }

    /// Deletes one token. `DELETE /v1/tokens/<id-or-key>/`.
    ///
    /// Deleting is idempotent: when an attempt gets no answer and the retry
    /// finds the token gone (404), the earlier attempt did the work and the
    /// call returns `Ok(())`. A 404 on the first attempt is still an error.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// client.tokens().delete(1)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete(&self, token: impl Into<TokenRef>) -> crate::Result<()> {
        self.delete_within(token, None)
    }

    /// [`delete`](Self::delete), bounded by `timeout` when given.
    pub(crate) fn delete_within(
        &self,
        token: impl Into<TokenRef>,
        timeout: Option<std::time::Duration>,
    ) -> crate::Result<()> {
        let request = self
            .request(
                Method::DELETE,
                self.collection.ops.delete,
                Repeat::SafeGoneIfMissing,
            )
            .segment(token.into().segment()?)
            .timeout(timeout);
        self.client.call_empty(&request)
    }

    /// Deletes many tokens at once. `DELETE /v1/tokens/[?permanent=]`.
    ///
    /// `Some(false)` deletes every temporary token, `Some(true)` every
    /// permanent one, and `None` every token of the account, **including the
    /// one this client is using**: calls after that fail with 401.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// client.tokens().delete_list(Some(false))?; // all temporary tokens
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete_list(&self, permanent: Option<bool>) -> crate::Result<()> {
        let query = permanent.map(|p| {
            if p {
                "permanent=true"
            } else {
                "permanent=false"
            }
        });
        let request = self
            .request(
                Method::DELETE,
                self.collection.ops.delete_list,
                Repeat::Safe,
            )
            .query(query);
        self.client.call_empty(&request)
    }
}
