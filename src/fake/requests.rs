//! The requests the simulator received: each as it came, and the bounded
//! log of them that a test reads.

use std::collections::VecDeque;
use std::fmt;

use super::faults::Fault;

/// How many received requests the simulator keeps for inspection.
const REQUEST_LOG_CAPACITY: usize = 10_000;
/// How many bytes (bodies, heads and bookkeeping) the request log may hold.
const REQUEST_LOG_BYTES: usize = 4 * 1024 * 1024;
/// How many bytes of each request body the log keeps.
const RECORDED_BODY_BYTES: usize = 4 * 1024;

/// One request as the simulator received it.
///
/// `Debug` shows the `Authorization` header as `[redacted]`, a path that
/// names a token by key as `/v1/tokens/<key>/` (or
/// `/v1/streams/tokens/<key>/`), and the body of a login or password change
/// (it holds passwords) as `[redacted]`.
///
/// ```
/// # fn main() -> neuroio::Result<()> {
/// # let fake = neuroio::fake::FakeIam::start()?;
/// # let client = neuroio::Client::builder().api_token(fake.root_token()).iam_url(fake.url()).build()?;
/// client.tokens().list(Some(true), 5, 0)?;
/// let seen = fake.requests();
/// assert_eq!(seen[0].method, "GET");
/// assert_eq!(seen[0].path, "/v1/tokens/");
/// assert_eq!(seen[0].query.as_deref(), Some("limit=5&offset=0&permanent=true"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method, such as `GET`.
    pub method: String,
    /// The path as sent, still percent-encoded.
    pub path: String,
    /// The query string without `?`, if there was one.
    pub query: Option<String>,
    /// Every header, names in lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body bytes: the whole body as received, or in the log of
    /// [`FakeIam::requests`](super::FakeIam::requests) at most its first 4 KiB (see `body_len`).
    pub body: Vec<u8>,
    /// The length of the body as received, which `body` may fall short of.
    pub body_len: usize,
    /// The fault this request met, if one was injected
    /// ([`FakeIam::inject`](super::FakeIam::inject), [`FakeIam::inject_at`](super::FakeIam::inject_at)).
    pub fault: Option<Fault>,
}

impl RecordedRequest {
    /// The first value of a header, by case-insensitive name.
    ///
    /// ```
    /// # fn check(req: &neuroio::fake::RecordedRequest) {
    /// let agent = req.header("User-Agent");
    /// # let _ = agent;
    /// # }
    /// # let _ = check;
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                if n == "authorization" {
                    (n.as_str(), "[redacted]")
                } else {
                    (n.as_str(), v.as_str())
                }
            })
            .collect();
        // A path that names a token by key carries the key.
        let by_key = |prefix: &str| {
            self.path.strip_prefix(prefix).is_some_and(|rest| {
                !rest.is_empty()
                    && !rest
                        .trim_end_matches('/')
                        .bytes()
                        .all(|b| b.is_ascii_digit())
            })
        };
        let path = if by_key("/v1/tokens/") {
            "/v1/tokens/<key>/"
        } else if by_key("/v1/streams/tokens/") {
            "/v1/streams/tokens/<key>/"
        } else {
            self.path.as_str()
        };
        // Login and password change bodies carry passwords.
        let body = if self.path.starts_with("/v1/auth/") {
            std::borrow::Cow::Borrowed("[redacted]")
        } else {
            String::from_utf8_lossy(&self.body)
        };
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &path)
            .field("query", &self.query)
            .field("headers", &headers)
            .field("body", &body)
            .field("body_len", &self.body_len)
            .field("fault", &self.fault)
            .finish()
    }
}

impl RecordedRequest {
    /// Roughly the bytes this request holds on the heap, bookkeeping
    /// included.
    fn weight(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 2 * std::mem::size_of::<String>())
            .sum();
        std::mem::size_of::<RecordedRequest>()
            + self.method.len()
            + self.path.len()
            + self.query.as_ref().map_or(0, String::len)
            + headers
            + self.body.len()
    }
}

/// The last requests received, bounded in count and in bytes.
#[derive(Default)]
pub(super) struct RequestLog {
    entries: VecDeque<RecordedRequest>,
    bytes: usize,
}

impl RequestLog {
    pub(super) fn push(&mut self, request: &RecordedRequest) {
        let mut kept = request.clone();
        kept.body.truncate(RECORDED_BODY_BYTES);
        kept.body.shrink_to_fit();
        self.bytes = self.bytes.saturating_add(kept.weight());
        self.entries.push_back(kept);
        while self.entries.len() > REQUEST_LOG_CAPACITY
            || (self.bytes > REQUEST_LOG_BYTES && self.entries.len() > 1)
        {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(old.weight());
        }
    }

    /// Every request kept, oldest first.
    pub(super) fn all(&self) -> Vec<RecordedRequest> {
        self.entries.iter().cloned().collect()
    }

    /// Every request kept, oldest first, forgetting them.
    pub(super) fn take(&mut self) -> Vec<RecordedRequest> {
        let taken = std::mem::take(&mut self.entries);
        self.bytes = 0;
        taken.into()
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}
