//! The Tokens resource: one method per documented operation.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use ureq::http::Method;

use crate::client::{Answer, ApiRequest, Client, Segment};
use crate::error::Error;
use crate::model::Token;

/// Everything but RFC 3986's unreserved characters is escaped, so a key is
/// always exactly one path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Names one token: by its numeric id or by its key.
///
/// Built with `From` from an integer, a `&str`/`String` key, or a
/// [`Token`] or `&Token` (by id), so every operation that takes a token accepts
/// any of these. `From` cannot fail, so a reference that can name no token
/// (a negative number, an empty key, `.` or `..`) is refused when the call is
/// made, before any request is sent.
///
/// `Debug` never shows a key.
///
/// ```
/// use neuroio::TokenRef;
/// assert_eq!(TokenRef::from(7), TokenRef::Id(7));
/// assert_eq!(TokenRef::from("abcd"), TokenRef::Key("abcd".to_owned()));
/// assert_eq!(format!("{:?}", TokenRef::from("abcd")), "Key([redacted])");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenRef {
    /// The token's numeric id.
    Id(u64),
    /// The token's key.
    Key(String),
    /// A negative number, which is never a token id; calls refuse it.
    Negative(i64),
}

impl TokenRef {
    /// The path segment for this reference, or why there can be none.
    pub(crate) fn segment(&self) -> crate::Result<Segment> {
        match self {
            TokenRef::Id(id) => Ok(Segment::Id(id.to_string())),
            TokenRef::Negative(_) => Err(Error::InvalidTokenRef(
                "a token id cannot be negative; ids are positive integers",
            )),
            TokenRef::Key(key) => match key.as_str() {
                "" => Err(Error::InvalidTokenRef(
                    "a key cannot be empty (the request would address the whole token list)",
                )),
                "." | ".." => Err(Error::InvalidTokenRef(
                    "a key cannot be \".\" or \"..\" (the request would address another endpoint)",
                )),
                _ => Ok(Segment::Key(utf8_percent_encode(key, SEGMENT).to_string())),
            },
        }
    }
}

impl fmt::Debug for TokenRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenRef::Id(id) => f.debug_tuple("Id").field(id).finish(),
            TokenRef::Key(_) => f.write_str("Key([redacted])"),
            TokenRef::Negative(n) => f.debug_tuple("Negative").field(n).finish(),
        }
    }
}

impl From<&str> for TokenRef {
    fn from(key: &str) -> Self {
        TokenRef::Key(key.to_owned())
    }
}

impl From<String> for TokenRef {
    fn from(key: String) -> Self {
        TokenRef::Key(key)
    }
}

impl From<&String> for TokenRef {
    fn from(key: &String) -> Self {
        TokenRef::Key(key.clone())
    }
}

impl From<&Token> for TokenRef {
    fn from(token: &Token) -> Self {
        TokenRef::Id(token.id)
    }
}

impl From<Token> for TokenRef {
    fn from(token: Token) -> Self {
        TokenRef::Id(token.id)
    }
}

macro_rules! token_ref_from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for TokenRef {
            fn from(id: $t) -> Self {
                TokenRef::Id(u64::from(id))
            }
        }
    )*};
}
token_ref_from_unsigned!(u8, u16, u32, u64);

macro_rules! token_ref_from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for TokenRef {
            fn from(id: $t) -> Self {
                let wide = i64::from(id);
                u64::try_from(wide).map_or(TokenRef::Negative(wide), TokenRef::Id)
            }
        }
    )*};
}
token_ref_from_signed!(i8, i16, i32, i64);

impl From<usize> for TokenRef {
    fn from(id: usize) -> Self {
        // usize is at most 64 bits on every target Rust supports.
        TokenRef::Id(id as u64)
    }
}

impl From<isize> for TokenRef {
    fn from(id: isize) -> Self {
        TokenRef::from(id as i64)
    }
}

/// The Tokens API, borrowed from a [`Client`] by [`Client::tokens`].
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
}

impl<'c> Tokens<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Tokens { client }
    }

    /// Creates a token: permanent (`true`) or temporary, living 24 hours
    /// (`false`). `POST /v1/tokens/`.
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
    /// [`Error::OutcomeUnknown`]. To recover, list the newest tokens and look
    /// for one created since the call began before creating again:
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let started = time::OffsetDateTime::now_utc() - time::Duration::seconds(5);
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
        let answer = self.client.send(&ApiRequest {
            method: Method::POST,
            operation: "tokens.create",
            segment: None,
            query: None,
            body: Some(body),
        })?;
        decode(&answer)
    }

    /// One page of tokens, newest first. `GET /v1/tokens/?limit=&offset=`.
    ///
    /// `permanent` filters: `Some(true)` permanent tokens only, `Some(false)`
    /// temporary only, `None` all. The official SDK's defaults are
    /// `limit = 20`, `offset = 0`.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let temporary = client.tokens().list(Some(false), 10, 5)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn list(
        &self,
        permanent: Option<bool>,
        limit: u32,
        offset: u32,
    ) -> crate::Result<Vec<Token>> {
        let query = list_query(permanent, limit, offset);
        let answer = self.client.send(&ApiRequest {
            method: Method::GET,
            operation: "tokens.list",
            segment: None,
            query: Some(&query),
            body: None,
        })?;
        decode_page(&answer)
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
        TokenIter {
            tokens: *self,
            permanent,
            page_size: DEFAULT_PAGE_SIZE,
            offset: 0,
            page: Vec::new().into_iter(),
            done: false,
        }
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
    /// let by_key = client.tokens().get(by_id.key.as_str())?;
    /// assert_eq!(by_id, by_key);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self, token: impl Into<TokenRef>) -> crate::Result<Token> {
        let answer = self.client.send(&ApiRequest {
            method: Method::GET,
            operation: "tokens.get",
            segment: Some(token.into().segment()?),
            query: None,
            body: None,
        })?;
        decode(&answer)
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
        let answer = self.client.send(&ApiRequest {
            method: Method::PATCH,
            operation: "tokens.update",
            segment: Some(token.into().segment()?),
            query: None,
            body: Some(body),
        })?;
        decode(&answer)
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
        self.client.send(&ApiRequest {
            method: Method::DELETE,
            operation: "tokens.delete",
            segment: Some(token.into().segment()?),
            query: None,
            body: None,
        })?;
        Ok(())
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
        self.client.send(&ApiRequest {
            method: Method::DELETE,
            operation: "tokens.delete_list",
            segment: None,
            query,
            body: None,
        })?;
        Ok(())
    }
}

/// The largest page the API serves.
const MAX_PAGE_SIZE: u32 = 100;

/// The page size [`Tokens::iter`] starts with: the API's largest.
pub const DEFAULT_PAGE_SIZE: u32 = MAX_PAGE_SIZE;

/// Walks every token, page by page; made by [`Tokens::iter`].
///
/// Holds one page at a time, so memory stays bounded by the page size however
/// many tokens the account has. It stops after the first page shorter than
/// the page size. An error is yielded once and ends the walk.
///
/// The API pages by offset: tokens created or deleted during a walk can
/// shift the pages, so a token may be seen twice or missed.
///
/// ```no_run
/// # fn main() -> neuroio::Result<()> {
/// # let client = neuroio::Client::new("my-api-token")?;
/// let mut expired = 0;
/// for token in client.tokens().iter(Some(false)).page_size(50) {
///     if token?.is_expired() {
///         expired += 1;
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "an iterator does nothing until walked"]
pub struct TokenIter<'c> {
    tokens: Tokens<'c>,
    permanent: Option<bool>,
    page_size: u32,
    offset: u32,
    page: std::vec::IntoIter<Token>,
    done: bool,
}

impl TokenIter<'_> {
    /// How many tokens to ask for per request, from 1 to 100 (clamped).
    ///
    /// Defaults to 100.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let small_pages = client.tokens().iter(None).page_size(10);
    /// # Ok(())
    /// # }
    /// ```
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        self
    }
}

impl Iterator for TokenIter<'_> {
    type Item = crate::Result<Token>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(token) = self.page.next() {
            return Some(Ok(token));
        }
        if self.done {
            return None;
        }
        match self
            .tokens
            .list(self.permanent, self.page_size, self.offset)
        {
            Ok(page) => {
                let fetched = u32::try_from(page.len()).unwrap_or(u32::MAX);
                self.done = fetched < self.page_size;
                self.offset = self.offset.saturating_add(fetched);
                self.page = page.into_iter();
                // An empty page is short, so `done` is already set.
                self.page.next().map(Ok)
            }
            Err(err) => {
                self.done = true;
                Some(Err(err))
            }
        }
    }
}

impl std::iter::FusedIterator for TokenIter<'_> {}

/// The list query: `limit` and `offset` always, `permanent` only when given.
fn list_query(permanent: Option<bool>, limit: u32, offset: u32) -> String {
    match permanent {
        None => format!("limit={limit}&offset={offset}"),
        Some(p) => format!("limit={limit}&offset={offset}&permanent={p}"),
    }
}

/// The envelope some deployments wrap a page in.
#[derive(Deserialize)]
struct Envelope {
    results: Vec<Token>,
}

/// A list answer: the documented bare array, or an envelope with `results`.
/// Chosen by the first byte, so a broken page reports the real serde error.
fn decode_page(answer: &Answer) -> crate::Result<Vec<Token>> {
    let first = answer.body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        decode::<Envelope>(answer).map(|e| e.results)
    } else {
        decode(answer)
    }
}

/// Runs every decoder of server answers over arbitrary bytes: the first two
/// bytes pick the status, the next line is a `Retry-After` value, the rest
/// is the body. For the fuzz target and the property tests only; not part of
/// the API and not covered by semver.
#[doc(hidden)]
pub fn __decode_for_fuzzing(data: &[u8]) {
    let (status, rest) = match data {
        [hi, lo, rest @ ..] => (u16::from_be_bytes([*hi, *lo]) % 600, rest),
        _ => (200, data),
    };
    let (header, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => rest.split_at(at),
        None => (&[][..], rest),
    };
    let retry_after = std::str::from_utf8(header)
        .ok()
        .and_then(crate::client::parse_retry_after);
    match crate::client::classify(status, body.to_vec(), retry_after) {
        Ok(answer) => {
            if let Ok(token) = decode::<Token>(&answer) {
                let _ = format!("{token:?} {:?} {}", token.expires_in(), token.is_expired());
            }
            let _ = decode_page(&answer).map(|page| page.len());
        }
        Err(err) => {
            let _ = format!("{err} {err:?} {:?} {}", err.status(), err.is_timeout());
        }
    }
}

fn decode<T: serde::de::DeserializeOwned>(answer: &Answer) -> crate::Result<T> {
    serde_json::from_slice(&answer.body).map_err(|err| {
        Error::unexpected(
            answer.status,
            format!("the body is not the expected JSON ({err})"),
            &answer.body,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_orders_and_omits() {
        assert_eq!(list_query(None, 20, 0), "limit=20&offset=0");
        assert_eq!(
            list_query(Some(true), 1, 2),
            "limit=1&offset=2&permanent=true"
        );
        assert_eq!(
            list_query(Some(false), 100, 7),
            "limit=100&offset=7&permanent=false"
        );
    }

    #[test]
    fn keys_become_one_segment() {
        let seg = |k: &str| TokenRef::from(k).segment().unwrap();
        assert_eq!(seg("a/b?c d"), Segment::Key("a%2Fb%3Fc%20d".into()));
        assert_eq!(seg("%2e%2e"), Segment::Key("%252e%252e".into()));
        assert_eq!(seg("..."), Segment::Key("...".into()));
        assert_eq!(seg("é#"), Segment::Key("%C3%A9%23".into()));
    }

    proptest::proptest! {
        #[test]
        fn any_key_is_one_segment_that_decodes_back(key in ".*") {
            let Ok(Segment::Key(encoded)) = TokenRef::from(key.as_str()).segment() else {
                proptest::prop_assume!(false);
                unreachable!();
            };
            proptest::prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            let decoded = percent_encoding::percent_decode_str(&encoded).decode_utf8().unwrap();
            proptest::prop_assert_eq!(decoded, key);
        }

        #[test]
        fn decoding_arbitrary_answers_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            __decode_for_fuzzing(&data);
        }

        #[test]
        fn decoding_json_like_answers_never_panics(
            status in 0u16..600,
            body in r#"[\[\]{}",:0-9a-z_ .+\-]{0,300}"#,
        ) {
            let mut data = status.to_be_bytes().to_vec();
            data.extend_from_slice(b"\n");
            data.extend_from_slice(body.as_bytes());
            __decode_for_fuzzing(&data);
        }

        #[test]
        fn decoding_near_valid_tokens_never_panics(
            id in proptest::num::i64::ANY,
            created in "[0-9T:.+\\-Z]{0,40}",
            cut in 0usize..200,
        ) {
            let body = format!(r#"[{{"id":{id},"key":"k","is_active":true,"created":"{created}","expires":null}}]"#);
            let cut = cut.min(body.len());
            let mut data = 200u16.to_be_bytes().to_vec();
            data.push(b'\n');
            data.extend_from_slice(&body.as_bytes()[..cut]);
            __decode_for_fuzzing(&data);
        }
    }

    #[test]
    fn unusable_refs_are_refused() {
        for r in [
            TokenRef::from(""),
            TokenRef::from("."),
            TokenRef::from(".."),
            TokenRef::from(-1),
        ] {
            assert!(
                matches!(r.segment(), Err(Error::InvalidTokenRef(_))),
                "{r:?}"
            );
        }
        assert_eq!(TokenRef::from(-3i64), TokenRef::Negative(-3));
        assert_eq!(TokenRef::from(3i8), TokenRef::Id(3));
        assert_eq!(TokenRef::from(i64::MAX), TokenRef::Id(i64::MAX as u64));
    }
}
