//! Offset-paged lists: one page of any list, and one walker over every page
//! with the guards a walk needs. A paged list is a [`PagedList`] (where it
//! lives and its filters) and an item type that can be decoded and has an
//! id; tokens, stream tokens and spaces are all walked by [`PageIter`].

use std::collections::VecDeque;
use std::fmt::Write as _;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use ureq::http::Method;

use crate::client::Client;
use crate::error::Error;
use crate::model::Token;
use crate::redact::Secrets;
use crate::transport::Host;
use crate::transport::request::{Repeat, Request};

/// How many pages' ids a walk remembers to notice a server that serves
/// pages it served before (ignoring `offset`, or cycling through a few):
/// a few kilobytes, whatever the list's size.
const REMEMBERED_PAGES: usize = 8;

/// The largest page the API serves.
const MAX_PAGE_SIZE: u32 = 100;

/// The page size a walk ([`Tokens::iter`](crate::Tokens::iter),
/// [`Spaces::iter`](crate::Spaces::iter)) starts with: the API's largest.
pub const DEFAULT_PAGE_SIZE: u32 = MAX_PAGE_SIZE;

/// The most items one walk yields unless [`PageIter::max_items`] says
/// otherwise: far more than an account holds (5 permanent tokens, a few
/// temporary ones a day), few enough that a server sending new items
/// forever is stopped after 10,000 requests.
pub const DEFAULT_MAX_WALK_ITEMS: u64 = 1_000_000;

/// One offset-paged list of the API: `GET <path>?limit=&offset=[&filters]`.
#[derive(Clone, Debug)]
pub(crate) struct PagedList {
    /// The SDK operation, for logs and errors (`tokens.list`).
    pub(crate) operation: &'static str,
    pub(crate) host: Host,
    pub(crate) path: &'static str,
    /// The query parameters after `limit` and `offset`, already encoded
    /// (`permanent=true`, `q=cam`), or empty.
    pub(crate) filters: String,
}

impl PagedList {
    /// The query of one page: `limit` and `offset` always, then the filters.
    pub(crate) fn query(&self, limit: u32, offset: u32) -> String {
        let mut query = format!("limit={limit}&offset={offset}");
        if !self.filters.is_empty() {
            let _ = write!(query, "&{}", self.filters);
        }
        query
    }

    /// One page, decoded.
    pub(crate) fn fetch<T: DeserializeOwned>(
        &self,
        client: &Client,
        limit: u32,
        offset: u32,
    ) -> crate::Result<Vec<T>> {
        let query = self.query(limit, offset);
        let request = Request::new(
            Method::GET,
            self.operation,
            self.host,
            self.path,
            Repeat::Safe,
        )
        .query(Some(&query));
        client.call_with(&request, decode_page)
    }
}

/// The envelope some deployments wrap a page in.
#[derive(Deserialize)]
struct Envelope<T> {
    results: Vec<T>,
}

/// A list answer: the documented bare array, or an envelope with `results`.
/// Chosen by the first byte, so a broken page reports the real serde error.
pub(crate) fn decode_page<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, serde_json::Error> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        serde_json::from_slice::<Envelope<T>>(body).map(|e| e.results)
    } else {
        serde_json::from_slice(body)
    }
}

/// Walks every item of an offset-paged list, page by page: every token
/// ([`Tokens::iter`](crate::Tokens::iter)) or every space
/// ([`Spaces::iter`](crate::Spaces::iter)).
///
/// Holds one page at a time, so memory stays bounded by the page size however
/// long the list is. It stops after the first page shorter than the page
/// size. An error is yielded once and ends the walk.
///
/// The API pages by offset: items created or deleted during a walk can
/// shift the pages, so an item may be seen twice or missed.
///
/// A server that ignores `offset` (a gateway that strips the query) would
/// serve the first page forever. The walk notices when a page holds only
/// items of the last few pages (by id) and ends with
/// [`Error::UnexpectedResponse`] naming the problem: after two requests for
/// a server that repeats the first page, and within a few pages for one
/// that cycles through some. A server that keeps sending full pages of new
/// items would still be walked forever: a walk yields at most
/// [`max_items`](Self::max_items) items (by default
/// [`DEFAULT_MAX_WALK_ITEMS`], a million), and then ends with the same
/// error, so it is bounded in requests and in time as well as in memory.
/// (It also ends so past the largest offset the API takes, `u32::MAX`.)
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
/// let space_names: Vec<String> = client
///     .spaces()
///     .iter(Some("cam"))
///     .map(|space| space.map(|s| s.name))
///     .collect::<neuroio::Result<_>>()?;
/// println!("{expired} expired tokens; spaces: {}", space_names.join(", "));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "an iterator does nothing until walked"]
pub struct PageIter<'c, T> {
    client: &'c Client,
    list: PagedList,
    /// What tells two items apart, to notice pages served again.
    id: fn(&T) -> u64,
    page_size: u32,
    offset: u32,
    page: std::vec::IntoIter<T>,
    /// The ids of the last few pages, to notice a server that repeats them.
    recent_ids: VecDeque<Vec<u64>>,
    /// The most items this walk yields, and how many it has.
    max_items: u64,
    yielded: u64,
    done: bool,
}

/// Walks every token of a collection; made by
/// [`Tokens::iter`](crate::Tokens::iter). See [`PageIter`].
///
/// ```no_run
/// # fn main() -> neuroio::Result<()> {
/// # let client = neuroio::Client::new("my-api-token")?;
/// let walk: neuroio::TokenIter<'_> = client.tokens().iter(None);
/// println!("{} tokens", walk.count());
/// # Ok(())
/// # }
/// ```
pub type TokenIter<'c> = PageIter<'c, Token>;

impl<'c, T> PageIter<'c, T> {
    pub(crate) fn new(client: &'c Client, list: PagedList, id: fn(&T) -> u64) -> Self {
        PageIter {
            client,
            list,
            id,
            page_size: DEFAULT_PAGE_SIZE,
            offset: 0,
            page: Vec::new().into_iter(),
            recent_ids: VecDeque::with_capacity(REMEMBERED_PAGES),
            max_items: DEFAULT_MAX_WALK_ITEMS,
            yielded: 0,
            done: false,
        }
    }

    /// The most items this walk yields. A list longer than that (or a
    /// server that sends new items forever) ends the walk, after the first
    /// `max_items` items, with [`Error::UnexpectedResponse`] naming the
    /// operation and the bound; no page beyond the one that holds the next
    /// item is asked for. At least 1.
    ///
    /// Defaults to [`DEFAULT_MAX_WALK_ITEMS`] (1,000,000).
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// // A few hundred spaces are expected; more means something is wrong.
    /// let spaces: Vec<neuroio::Space> = client
    ///     .spaces()
    ///     .iter(None)
    ///     .max_items(1_000)
    ///     .collect::<neuroio::Result<_>>()?;
    /// println!("{} spaces", spaces.len());
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_items(mut self, max_items: u64) -> Self {
        self.max_items = max_items.max(1);
        self
    }

    /// How many items to ask for per request, from 1 to 100 (clamped).
    ///
    /// Defaults to 100.
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// let small_pages = client.tokens().iter(None).page_size(10);
    /// # let _ = small_pages;
    /// # Ok(())
    /// # }
    /// ```
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        self
    }
}

impl<T: DeserializeOwned> Iterator for PageIter<'_, T> {
    type Item = crate::Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = match self.page.next() {
            Some(item) => item,
            None if self.done => return None,
            None => match self.next_page() {
                // An empty page is short, so `done` is already set.
                Ok(page) => {
                    self.page = page.into_iter();
                    self.page.next()?
                }
                Err(err) => {
                    self.done = true;
                    return Some(Err(err));
                }
            },
        };
        if self.yielded >= self.max_items {
            self.done = true;
            self.page = Vec::new().into_iter();
            return Some(Err(walk_stuck(&format!(
                "{}: the list goes on past {} items, the most one walk yields: the server may \
                 keep sending new items; the walk was stopped (narrow the list with a filter, \
                 or raise the bound with PageIter::max_items)",
                self.list.operation, self.max_items
            ))));
        }
        self.yielded += 1;
        Some(Ok(item))
    }
}

impl<T: DeserializeOwned> PageIter<'_, T> {
    /// Fetches the next page and checks that the walk moves on.
    fn next_page(&mut self) -> crate::Result<Vec<T>> {
        let page: Vec<T> = self.list.fetch(self.client, self.page_size, self.offset)?;
        let fetched = u32::try_from(page.len()).unwrap_or(u32::MAX);
        self.done = fetched < self.page_size;
        let ids: Vec<u64> = page.iter().map(self.id).collect();
        let seen = |id: &u64| self.recent_ids.iter().any(|page| page.contains(id));
        if !ids.is_empty() && ids.iter().all(seen) {
            return Err(walk_stuck(&format!(
                "{}: the page at offset {} holds only items of the pages before it: the \
                 server seems to ignore `offset` (a proxy or gateway that drops the query?); \
                 the walk was stopped",
                self.list.operation, self.offset
            )));
        }
        self.offset = match self.offset.checked_add(fetched) {
            Some(offset) => offset,
            None if self.done => self.offset,
            None => {
                return Err(walk_stuck(&format!(
                    "{}: the server keeps sending full pages past the largest offset the API \
                     takes; the walk was stopped",
                    self.list.operation
                )));
            }
        };
        if self.recent_ids.len() == REMEMBERED_PAGES {
            self.recent_ids.pop_front();
        }
        self.recent_ids.push_back(ids);
        Ok(page)
    }
}

fn walk_stuck(reason: &str) -> Error {
    Error::unexpected(200, reason, b"", &Secrets::default())
}

impl<T: DeserializeOwned> std::iter::FusedIterator for PageIter<'_, T> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(filters: &str) -> PagedList {
        PagedList {
            operation: "tokens.list",
            host: Host::Iam,
            path: "/v1/tokens/",
            filters: filters.to_owned(),
        }
    }

    #[test]
    fn the_query_orders_limit_offset_then_filters() {
        assert_eq!(list("").query(20, 0), "limit=20&offset=0");
        assert_eq!(
            list("permanent=true").query(1, 2),
            "limit=1&offset=2&permanent=true"
        );
        assert_eq!(list("q=a%20b").query(100, 7), "limit=100&offset=7&q=a%20b");
    }

    #[test]
    fn a_page_is_a_bare_array_or_an_envelope() {
        let bare: Vec<u64> = decode_page(b" [1, 2]").unwrap();
        let wrapped: Vec<u64> = decode_page(br#"{"results": [3]}"#).unwrap();
        assert_eq!((bare, wrapped), (vec![1, 2], vec![3]));
        assert!(decode_page::<u64>(br#"{"items": [3]}"#).is_err());
    }
}
