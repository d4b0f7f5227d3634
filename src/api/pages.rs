//! Offset-paged lists: one page of any list, and one walker over every page
//! with the guards a walk needs. A paged list is a [`PagedList`] (where it
//! lives and its filters) and an item type that can be decoded and has an
//! id; tokens, stream tokens and spaces are all walked by [`PageIter`].

use std::collections::{HashSet, VecDeque};
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

/// The smallest page a walk asks for: one item repeats the page before.
const MIN_PAGE_SIZE: u32 = 2;

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

/// How many times a walk starts over from the first page, unless
/// [`PageIter::max_restarts`] says otherwise, when it sees the list change
/// under it: 3, so at most 4 passes.
pub const DEFAULT_MAX_WALK_RESTARTS: u32 = 3;

/// Walks every item of an offset-paged list, page by page: every token
/// ([`Tokens::iter`](crate::Tokens::iter)) or every space
/// ([`Spaces::iter`](crate::Spaces::iter)).
///
/// Holds one page at a time, so memory stays bounded by the page size
/// however long the list is. To never yield an item twice it also records
/// what it yielded: for a list served as the API serves them (newest first,
/// so ids fall page after page), one range of ids per pass; for a list
/// ordered otherwise, each id yielded (8 bytes and a little more each, at
/// most [`max_items`](Self::max_items) of them). It stops after the first
/// page shorter than the page size. An error is yielded once and ends the
/// walk.
///
/// # A list that changes during the walk
///
/// The API pages by offset, newest first: a token created or deleted
/// between two page requests shifts every later page, so a naive walk would
/// see an item twice or miss one. This walk notices: every page after the
/// first starts one item early, at the last item of the page before, and
/// that item must come first again. When it does not (the list grew or
/// shrank before that point), the walk starts over from the first page, at
/// most [`max_restarts`](Self::max_restarts) times (by default
/// [`DEFAULT_MAX_WALK_RESTARTS`], 3), and yields only items it has not
/// yielded yet. One more change ends the walk with [`Error::ListChanged`].
///
/// What a finished walk guarantees: no id is yielded twice, and every item
/// that existed for the whole walk is yielded. An item created or deleted
/// during the walk may or may not be. An error ends the walk with no such
/// promise for the items not yet yielded. (This holds for a list whose
/// order does not change and whose new items get higher ids than the
/// items before them, as the API's ids do.)
///
/// Since each page repeats one item, a page brings at most `page_size - 1`
/// new items after the first, and the page size is at least 2.
///
/// # A server that breaks the paging
///
/// A server that ignores `offset` (a gateway that strips the query) would
/// serve the first page forever. The walk ends with
/// [`Error::UnexpectedResponse`] naming the problem when a page holds only
/// items of the last few pages (by id) after its first, and when the second
/// page of a pass repeats the first and the first is unchanged when asked
/// again (three requests). A server that keeps sending full pages of new
/// items would still be walked forever: a walk yields at most
/// [`max_items`](Self::max_items) items (by default
/// [`DEFAULT_MAX_WALK_ITEMS`], a million), and reads no page past that
/// many items in one pass, and then ends with the same error, so it is
/// bounded in requests and in time as well as in memory. (It also ends so
/// past the largest offset the API takes, `u32::MAX`.)
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
    /// How many items this pass has been served: where its next new item
    /// is. The next page is asked for one item earlier.
    offset: u32,
    /// The id of the last item of the page before in this pass, which the
    /// next page must start with; `None` before a pass's first page.
    last_id: Option<u64>,
    /// The ids of this pass's first page, to tell a server that ignores
    /// `offset` from a list that grew.
    first_page: Vec<u64>,
    /// Set when a pass ended because a page repeated its first page: that
    /// page's offset and the first page, to compare with the next pass's.
    repeat_suspect: Option<(u32, Vec<u64>)>,
    page: std::vec::IntoIter<T>,
    /// The ids of the last few pages of this pass, to notice a server that
    /// repeats them.
    recent_ids: VecDeque<Vec<u64>>,
    /// What was yielded, so that nothing is yielded twice.
    yielded_ids: Yielded,
    /// The most items this walk yields, and how many it has.
    max_items: u64,
    yielded: u64,
    /// How many times the walk may start over, and has.
    max_restarts: u32,
    restarts: u32,
    /// Whether a pass after a restart yields every item again (for a
    /// caller that counts each pass afresh, as the audit does) instead of
    /// only those not yielded yet.
    repeat_after_restart: bool,
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
            last_id: None,
            first_page: Vec::new(),
            repeat_suspect: None,
            page: Vec::new().into_iter(),
            recent_ids: VecDeque::with_capacity(REMEMBERED_PAGES),
            yielded_ids: Yielded::new(),
            max_items: DEFAULT_MAX_WALK_ITEMS,
            yielded: 0,
            max_restarts: DEFAULT_MAX_WALK_RESTARTS,
            restarts: 0,
            repeat_after_restart: false,
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

    /// How many times the walk starts over from the first page when it
    /// sees the list change under it (see [`PageIter`]); one change more
    /// ends it with [`Error::ListChanged`]. Zero makes the first change an
    /// error.
    ///
    /// Defaults to [`DEFAULT_MAX_WALK_RESTARTS`] (3).
    ///
    /// ```no_run
    /// # fn main() -> neuroio::Result<()> {
    /// # let client = neuroio::Client::new("my-api-token")?;
    /// // A busy account: allow more passes.
    /// let tokens: Vec<neuroio::Token> = client
    ///     .tokens()
    ///     .iter(Some(false))
    ///     .max_restarts(10)
    ///     .collect::<neuroio::Result<_>>()?;
    /// println!("{} temporary tokens", tokens.len());
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_restarts(mut self, max_restarts: u32) -> Self {
        self.max_restarts = max_restarts;
        self
    }

    /// How many items to ask for per request, from 2 to 100 (clamped): the
    /// first item of every page after the first is the last of the page
    /// before, to check that the list did not shift.
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
        self.page_size = page_size.clamp(MIN_PAGE_SIZE, MAX_PAGE_SIZE);
        self
    }

    /// Makes every pass after a restart yield all its items again, for a
    /// caller that watches [`restarts`](Self::restarts) and counts each
    /// pass afresh (the audit).
    pub(crate) fn repeat_after_restart(mut self) -> Self {
        self.repeat_after_restart = true;
        self
    }

    /// How many times the walk has started over so far.
    pub(crate) fn restarts(&self) -> u32 {
        self.restarts
    }
}

impl<T: DeserializeOwned> Iterator for PageIter<'_, T> {
    type Item = crate::Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        // Bounded: each turn takes an item of the page or fetches a page,
        // and a walk fetches a bounded number of pages (see `next_page`).
        loop {
            let item = match self.page.next() {
                Some(item) => item,
                None if self.done => return None,
                None => match self.next_page() {
                    // An empty page is short, so `done` is already set.
                    Ok(page) => {
                        self.page = page.into_iter();
                        continue;
                    }
                    Err(err) => {
                        self.done = true;
                        self.page = Vec::new().into_iter();
                        return Some(Err(err));
                    }
                },
            };
            let id = (self.id)(&item);
            if self.yielded_ids.contains(id) {
                continue;
            }
            if self.yielded >= self.max_items {
                self.done = true;
                self.page = Vec::new().into_iter();
                return Some(Err(self.past_the_bound()));
            }
            self.yielded_ids.yielding(id);
            self.yielded += 1;
            return Some(Ok(item));
        }
    }
}

impl<T: DeserializeOwned> PageIter<'_, T> {
    /// Fetches the next page and checks that the walk moves on and that
    /// the list did not shift under it. An empty answer with `done` unset
    /// means the walk starts over.
    fn next_page(&mut self) -> crate::Result<Vec<T>> {
        // Every pass reads at most `max_items` items (and so a bounded
        // number of pages), and there are at most `max_restarts + 1`.
        if u64::from(self.offset) > self.max_items {
            return Err(self.past_the_bound());
        }
        let at = match self.last_id {
            Some(_) => self.offset.saturating_sub(1),
            None => 0,
        };
        let mut page: Vec<T> = self.list.fetch(self.client, self.page_size, at)?;
        let fetched = u32::try_from(page.len()).unwrap_or(u32::MAX);
        let ids: Vec<u64> = page.iter().map(self.id).collect();
        if let Some(last) = self.last_id {
            if ids.first() != Some(&last) {
                self.restart(at, ids)?;
                return Ok(Vec::new());
            }
            // Yielded with the page before.
            page.remove(0);
        } else {
            if let Some((offset, suspect)) = self.repeat_suspect.take()
                && suspect == ids
            {
                return Err(self.ignores_offset(offset));
            }
            self.first_page.clone_from(&ids);
        }
        let new_ids = ids.get(ids.len() - page.len()..).unwrap_or_default();
        let seen = |id: &u64| self.recent_ids.iter().any(|page| page.contains(id));
        if !new_ids.is_empty() && new_ids.iter().all(seen) {
            return Err(self.ignores_offset(at));
        }
        self.yielded_ids.accept(self.last_id, new_ids);
        self.done = fetched < self.page_size;
        self.offset = match at.checked_add(fetched) {
            Some(offset) => offset,
            None if self.done => at,
            None => {
                return Err(walk_stuck(&format!(
                    "{}: the server keeps sending full pages past the largest offset the API \
                     takes; the walk was stopped",
                    self.list.operation
                )));
            }
        };
        self.last_id = ids.last().copied();
        if self.recent_ids.len() == REMEMBERED_PAGES {
            self.recent_ids.pop_front();
        }
        self.recent_ids.push_back(ids);
        Ok(page)
    }

    /// Starts the walk over from the first page after the page at `at`
    /// (with `ids`) did not start where the page before ended, or ends it
    /// with [`Error::ListChanged`] when it may not start over again.
    fn restart(&mut self, at: u32, ids: Vec<u64>) -> crate::Result<()> {
        if self.restarts >= self.max_restarts {
            return Err(Error::ListChanged {
                operation: self.list.operation,
                restarts: self.restarts,
            });
        }
        self.restarts += 1;
        // A page that is the first page again: a server that ignores
        // `offset`, or a list that grew by `page_size - 1` items. The next
        // pass's first page tells which.
        self.repeat_suspect = (!ids.is_empty() && ids == self.first_page)
            .then(|| (at, std::mem::take(&mut self.first_page)));
        self.offset = 0;
        self.last_id = None;
        self.recent_ids.clear();
        self.done = false;
        if self.repeat_after_restart {
            self.yielded_ids = Yielded::new();
            self.yielded = 0;
        } else {
            self.yielded_ids.end_pass();
        }
        Ok(())
    }

    fn ignores_offset(&self, offset: u32) -> Error {
        walk_stuck(&format!(
            "{}: the page at offset {offset} holds only items of the pages before it: the \
             server seems to ignore `offset` (a proxy or gateway that drops the query?); \
             the walk was stopped",
            self.list.operation
        ))
    }

    fn past_the_bound(&self) -> Error {
        walk_stuck(&format!(
            "{}: the list goes on past {} items, the most one walk yields: the server may \
             keep sending new items; the walk was stopped (narrow the list with a filter, \
             or raise the bound with PageIter::max_items)",
            self.list.operation, self.max_items
        ))
    }
}

/// What a walk has yielded, so that it yields nothing twice when it
/// starts over, in memory that does not grow with the list as the API
/// serves it: newest first, ids given in the order of creation, so ids
/// fall page after page. Then a pass is one range of ids: an item whose id
/// is within the range of an earlier pass was read by that pass (it
/// existed then, being older than the pass's first item, and the pass read
/// every item from its first to its last), and an item created since has a
/// higher id. A few ranges record any length of list. Where ids do not
/// fall (a server that orders a list otherwise), the ids yielded are kept
/// one by one from there on, at most `max_items` of them.
#[derive(Debug)]
struct Yielded {
    /// The ranges `(lowest, highest)` of ids read in falling order by
    /// earlier passes, and by this one before its ids stopped falling.
    spans: Vec<(u64, u64)>,
    /// This pass's range while its ids fall, the page being walked
    /// included.
    pass: Option<(u64, u64)>,
    /// Whether this pass's ids have fallen so far.
    falling: bool,
    /// The ids yielded while they did not fall.
    ids: HashSet<u64>,
}

impl Yielded {
    fn new() -> Yielded {
        Yielded {
            spans: Vec::new(),
            pass: None,
            falling: true,
            ids: HashSet::new(),
        }
    }

    /// Whether an item with this id was yielded: within an earlier range,
    /// or kept one by one. Within a falling pass no id comes twice.
    fn contains(&self, id: u64) -> bool {
        self.spans
            .iter()
            .any(|&(lowest, highest)| (lowest..=highest).contains(&id))
            || self.ids.contains(&id)
    }

    /// An item is yielded now.
    fn yielding(&mut self, id: u64) {
        if !self.falling {
            self.ids.insert(id);
        }
    }

    /// The new ids of a page this pass accepted, before any is yielded;
    /// `last` is the last id of the page before in this pass.
    fn accept(&mut self, last: Option<u64>, new_ids: &[u64]) {
        if !self.falling {
            return;
        }
        let mut before = last;
        for &id in new_ids {
            if before.is_some_and(|before| id >= before) {
                // The pages before this one were all yielded: their range
                // holds. From this page on, ids are kept one by one.
                self.end_pass();
                self.falling = false;
                return;
            }
            before = Some(id);
        }
        if let (Some(&lowest), Some(&first)) = (new_ids.last(), new_ids.first()) {
            let highest = self.pass.map_or(first, |(_, highest)| highest);
            self.pass = Some((lowest, highest));
        }
    }

    /// The pass ends (the walk starts over, or its ids stopped falling):
    /// its range so far, all of it walked, is recorded.
    fn end_pass(&mut self) {
        if let Some(span) = self.pass.take() {
            self.spans.push(span);
        }
        self.falling = true;
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
    fn a_pass_whose_ids_fall_is_recorded_as_one_range() {
        let mut yielded = Yielded::new();
        yielded.accept(None, &[30, 29, 28]);
        yielded.accept(Some(28), &[27, 25]);
        // Within the pass nothing is consulted: its ids fall, none twice.
        assert!(!yielded.contains(30));

        yielded.end_pass();

        assert_eq!(yielded.spans, [(25, 30)]);
        assert!([30, 26, 25].iter().all(|&id| yielded.contains(id)));
        assert!(!yielded.contains(31) && !yielded.contains(24));
        assert!(yielded.ids.is_empty(), "no id kept one by one");
    }

    #[test]
    fn ids_that_stop_falling_are_kept_one_by_one_from_that_page_on() {
        let mut yielded = Yielded::new();
        yielded.accept(None, &[10, 9]);
        yielded.accept(Some(9), &[12, 4]);
        for id in [12, 4] {
            yielded.yielding(id);
        }

        assert_eq!(yielded.spans, [(9, 10)], "the pages before it hold");
        assert!([12, 4, 10, 9].iter().all(|&id| yielded.contains(id)));
        assert!(!yielded.contains(11) && !yielded.contains(5));

        // The next pass starts falling again; a first page that rises is
        // kept one by one at once.
        yielded.end_pass();
        yielded.accept(None, &[1, 2]);
        yielded.yielding(1);
        yielded.yielding(2);
        yielded.end_pass();
        assert_eq!(yielded.spans, [(9, 10)]);
        assert_eq!(yielded.ids.len(), 4);
        assert!(yielded.contains(1) && yielded.contains(2));
    }

    #[test]
    fn a_page_is_a_bare_array_or_an_envelope() {
        let bare: Vec<u64> = decode_page(b" [1, 2]").unwrap();
        let wrapped: Vec<u64> = decode_page(br#"{"results": [3]}"#).unwrap();
        assert_eq!((bare, wrapped), (vec![1, 2], vec![3]));
        assert!(decode_page::<u64>(br#"{"items": [3]}"#).is_err());
    }
}
