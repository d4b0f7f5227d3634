//! Walking every token of a collection, one page at a time.

use std::collections::VecDeque;

use crate::api::tokens::Tokens;
use crate::error::Error;
use crate::model::Token;
use crate::transport::redact::Secrets;

/// How many pages' ids a walk remembers to notice a server that serves
/// pages it served before (ignoring `offset`, or cycling through a few):
/// a few kilobytes, whatever the account's size.
const REMEMBERED_PAGES: usize = 8;

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
/// A server that ignores `offset` (a gateway that strips the query) would
/// serve the first page forever. The walk notices when a page holds only
/// tokens of the last few pages and ends with
/// [`Error::UnexpectedResponse`] naming the problem: after two requests for
/// a server that repeats the first page, and within a few pages for one
/// that cycles through some.
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
/// # let _ = expired;
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
    /// The ids of the last few pages, to notice a server that repeats them.
    recent_ids: VecDeque<Vec<u64>>,
    done: bool,
}

impl<'c> TokenIter<'c> {
    pub(crate) fn new(tokens: Tokens<'c>, permanent: Option<bool>) -> Self {
        TokenIter {
            tokens,
            permanent,
            page_size: DEFAULT_PAGE_SIZE,
            offset: 0,
            page: Vec::new().into_iter(),
            recent_ids: VecDeque::with_capacity(REMEMBERED_PAGES),
            done: false,
        }
    }

    /// How many tokens to ask for per request, from 1 to 100 (clamped).
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

impl Iterator for TokenIter<'_> {
    type Item = crate::Result<Token>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(token) = self.page.next() {
            return Some(Ok(token));
        }
        if self.done {
            return None;
        }
        match self.next_page() {
            Ok(page) => {
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

impl TokenIter<'_> {
    /// Fetches the next page and checks that the walk moves on.
    fn next_page(&mut self) -> crate::Result<Vec<Token>> {
        let page = self
            .tokens
            .list(self.permanent, self.page_size, self.offset)?;
        let fetched = u32::try_from(page.len()).unwrap_or(u32::MAX);
        self.done = fetched < self.page_size;
        let seen = |id: &u64| self.recent_ids.iter().any(|ids| ids.contains(id));
        if !page.is_empty() && page.iter().all(|t| seen(&t.id)) {
            return Err(walk_stuck(&format!(
                "the page at offset {} holds only tokens of the pages before it: the server \
                 seems to ignore `offset` (a proxy or gateway that drops the query?); \
                 the walk was stopped",
                self.offset
            )));
        }
        self.offset = match self.offset.checked_add(fetched) {
            Some(offset) => offset,
            None if self.done => self.offset,
            None => {
                return Err(walk_stuck(
                    "the server keeps sending full pages past the largest offset the API \
                     takes; the walk was stopped",
                ));
            }
        };
        if self.recent_ids.len() == REMEMBERED_PAGES {
            self.recent_ids.pop_front();
        }
        self.recent_ids
            .push_back(page.iter().map(|t| t.id).collect());
        Ok(page)
    }
}

fn walk_stuck(reason: &str) -> Error {
    Error::unexpected(200, reason, b"", &Secrets::default())
}

impl std::iter::FusedIterator for TokenIter<'_> {}
