//! Faults the simulator can be told to meet requests with.

use std::time::Duration;

/// What the simulator does to a request instead of (or before) answering it.
///
/// Queue faults with [`FakeIam::inject`](super::FakeIam::inject); each request takes the next one.
///
/// ```
/// use neuroio::fake::Fault;
/// let busy = Fault::status(503);
/// let slow_down = Fault::status(429).with_retry_after("1");
/// let stall = Fault::Delay(std::time::Duration::from_secs(5));
/// let drop_it = Fault::Close;
/// let lose_answer = Fault::LoseAnswer;
/// # let _ = (busy, slow_down, stall, drop_it, lose_answer);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and the API's error body, optionally with a
    /// `Retry-After` header (seconds or an HTTP date, sent as given).
    Status {
        /// The HTTP status to answer with.
        status: u16,
        /// The `Retry-After` header value, if any.
        retry_after: Option<String>,
    },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Read the request, then close the connection without answering; the
    /// request is not carried out.
    Close,
    /// Carry the request out, then close the connection without answering:
    /// the answer is lost on the way back, as when a proxy drops it.
    LoseAnswer,
}

impl Fault {
    /// An answer with `status` and no `Retry-After`.
    ///
    /// ```
    /// assert_eq!(
    ///     neuroio::fake::Fault::status(503),
    ///     neuroio::fake::Fault::Status { status: 503, retry_after: None }
    /// );
    /// ```
    pub fn status(status: u16) -> Fault {
        Fault::Status {
            status,
            retry_after: None,
        }
    }

    /// Adds a `Retry-After` header to a [`Fault::Status`]; other faults are
    /// returned unchanged.
    ///
    /// ```
    /// let fault = neuroio::fake::Fault::status(429).with_retry_after("2");
    /// # let _ = fault;
    /// ```
    pub fn with_retry_after(self, value: impl Into<String>) -> Fault {
        match self {
            Fault::Status { status, .. } => Fault::Status {
                status,
                retry_after: Some(value.into()),
            },
            other => other,
        }
    }
}
