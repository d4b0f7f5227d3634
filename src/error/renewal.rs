//! Why a renewing client could not send a call, or could not tidy up.

use std::fmt;
use std::time::Duration;

/// Why a renewing client could not send a call, or could not tidy up.
///
/// Its `Display` says what failed, for which operation (`renewing.mint`:
/// the last mint failed and the backoff is not over; `renewing.wait`: the
/// mint in flight did not end within the call's timeout; `renewing.close`:
/// some tokens could not be deleted; `renewing.closed`: the client was
/// closed), and when the next mint will be tried. It never shows a key.
///
/// ```no_run
/// # fn main() -> neuroio::Result<()> {
/// let client = neuroio::ClientBuilder::from_env()?
///     .renewing(std::time::Duration::from_secs(3600))
///     .build()?;
/// match client.whoami() {
///     Err(neuroio::Error::Renewal(renewal)) => {
///         eprintln!("{renewal}");
///         if let Some(wait) = renewal.retry_in {
///             std::thread::sleep(wait);
///         }
///     }
///     other => println!("{:?}", other.map(|me| me.extra)),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenewalError {
    /// `"renewing.mint"`, `"renewing.wait"`, `"renewing.close"` or
    /// `"renewing.closed"`.
    pub operation: &'static str,
    /// What failed, with every key blanked out.
    pub reason: String,
    /// The HTTP status of the failed mint, when the server answered one.
    pub status: Option<u16>,
    /// Whether the failed mint may have made a token anyway (its answer
    /// was lost): such a token expires on its own.
    pub outcome_unknown: bool,
    /// How long from when this error was made until the next mint may be
    /// tried; `None` when that is not the problem.
    pub retry_in: Option<Duration>,
    /// For `renewing.close`: the ids of the tokens it could not delete.
    pub not_deleted: Vec<u64>,
}

impl RenewalError {
    pub(crate) fn new(operation: &'static str, reason: String) -> Box<RenewalError> {
        Box::new(RenewalError {
            operation,
            reason,
            status: None,
            outcome_unknown: false,
            retry_in: None,
            not_deleted: Vec::new(),
        })
    }

    pub(crate) fn mint_failed(
        reason: String,
        status: Option<u16>,
        outcome_unknown: bool,
        retry_in: Duration,
    ) -> Box<RenewalError> {
        let mut err = RenewalError::new("renewing.mint", reason);
        err.status = status;
        err.outcome_unknown = outcome_unknown;
        err.retry_in = Some(retry_in);
        err
    }

    pub(crate) fn not_deleted(ids: Vec<u64>, reason: String) -> Box<RenewalError> {
        let mut err = RenewalError::new("renewing.close", reason);
        err.not_deleted = ids;
        err
    }
}

impl fmt::Display for RenewalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.operation;
        if !self.not_deleted.is_empty() {
            let ids: Vec<String> = self.not_deleted.iter().map(u64::to_string).collect();
            return write!(
                f,
                "{op}: could not delete working token(s) {}: {}; they expire on their own, \
                 or delete them with the parent token",
                ids.join(", "),
                self.reason
            );
        }
        match self.retry_in {
            Some(wait) => {
                write!(
                    f,
                    "{op}: no working token to send the call with: {}; the next mint will be \
                     tried in {:.1} s, and calls made before then fail at once",
                    self.reason,
                    wait.as_secs_f64()
                )?;
                if self.outcome_unknown {
                    f.write_str(
                        " (the failed mint may have made a token, which expires on its own)",
                    )?;
                }
                Ok(())
            }
            None => write!(f, "{op}: {}", self.reason),
        }
    }
}

impl std::error::Error for RenewalError {}
