//! What is retried, and how long to wait before the next attempt.

use std::time::Duration;

use crate::error::{Error, TransportErrorKind};
use crate::transport::Settings;

/// The shortest wait before any retry: `Retry-After: 0`, a date in the past
/// or an unlucky draw of the jitter never makes a client retry in a tight
/// loop.
pub(crate) const MIN_RETRY_WAIT: Duration = Duration::from_millis(5);

/// The most jitter added on top of a server's `Retry-After`.
const MAX_RETRY_AFTER_JITTER: Duration = Duration::from_secs(1);

/// How long to wait before retrying after `err`, or `None` when it must not
/// be retried: only failed connections, lost connections, timeouts, and the
/// statuses 429, 502, 503 and 504 are retried. A rejected certificate, a
/// failed DNS lookup or any other answer is final.
///
/// A `Retry-After` is honoured, never shortened: the wait is what the
/// server asked for (at least [`MIN_RETRY_WAIT`]) plus a little jitter. One
/// longer than the configured cap is not waited for.
pub(crate) fn retry_wait(err: &Error, attempt: u32, settings: &Settings) -> Option<Duration> {
    match err {
        Error::Transport(t) => match t.kind() {
            TransportErrorKind::Connect
            | TransportErrorKind::Connection
            | TransportErrorKind::Timeout => Some(backoff(attempt, settings)),
            _ => None,
        },
        Error::Api(api) if matches!(api.status, 429 | 502 | 503 | 504) => match api.retry_after {
            // Duration::MAX stands for a number too large to be a time.
            Some(wait) if wait > settings.max_retry_after || wait == Duration::MAX => None,
            Some(wait) => Some(after_server_wait(wait)),
            None => Some(backoff(attempt, settings)),
        },
        _ => None,
    }
}

/// The server's wait, floored, plus jitter of up to a tenth of it (at least
/// the floor, at most a second) so that clients told the same date do not
/// all come back at once.
fn after_server_wait(wait: Duration) -> Duration {
    let wait = wait.max(MIN_RETRY_WAIT);
    let spread = (wait / 10).clamp(MIN_RETRY_WAIT, MAX_RETRY_AFTER_JITTER);
    wait.saturating_add(random_up_to(spread))
}

/// Exponential backoff with full jitter: a random wait between the floor
/// and `initial * 2^(attempt - 1)`, capped at `max`.
fn backoff(attempt: u32, settings: &Settings) -> Duration {
    let exponent = attempt.saturating_sub(1).min(31);
    let ceiling = settings
        .backoff_initial
        .saturating_mul(1u32 << exponent)
        .min(settings.backoff_max);
    random_up_to(ceiling).max(MIN_RETRY_WAIT)
}

/// The longest a server's `Retry-After` may hold back the next mint: one
/// past it is taken as this (the wait still starts from the answer).
pub(crate) const MAX_MINT_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a renewing client waits after its `failures`-th failed mint in
/// a row before the next: exponential from the client's `retry_backoff`
/// with jitter that keeps at least half of each wait (half of
/// `initial * 2^(failures - 1)`, capped at `max`, plus a random part of the
/// other half), so that a run of failures makes a known, small number of
/// mints; never shorter than a `Retry-After` the server sent (up to a day).
pub(crate) fn mint_backoff(
    failures: u32,
    retry_after: Option<Duration>,
    settings: &Settings,
) -> Duration {
    let exponent = failures.saturating_sub(1).min(31);
    let ceiling = settings
        .backoff_initial
        .saturating_mul(1u32 << exponent)
        .min(settings.backoff_max)
        .max(MIN_RETRY_WAIT);
    let half = ceiling / 2;
    let wait = half.saturating_add(random_up_to(ceiling.saturating_sub(half)));
    match retry_after {
        Some(asked) => wait.max(asked.min(MAX_MINT_RETRY_AFTER)),
        None => wait,
    }
}

fn random_up_to(ceiling: Duration) -> Duration {
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

/// Parses `Retry-After`: whole seconds, or an HTTP date (a date in the past
/// means no wait). A number too large for any clock is `Duration::MAX`, so it
/// is over every cap rather than ignored.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn settings() -> Settings {
        crate::ClientBuilder::default().settings
    }

    fn throttled(retry_after: Option<Duration>) -> Error {
        ApiError::from_response(429, b"", retry_after).into()
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        let wait = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(
            parse_retry_after("99999999999999999999999999"),
            Some(Duration::MAX)
        );
    }

    #[test]
    fn a_zero_retry_after_still_waits_the_floor() {
        for _ in 0..1000 {
            let wait = retry_wait(&throttled(Some(Duration::ZERO)), 1, &settings()).unwrap();
            assert!(wait >= MIN_RETRY_WAIT, "{wait:?}");
        }
    }

    #[test]
    fn jitter_never_shortens_the_servers_wait() {
        for _ in 0..1000 {
            let wait =
                retry_wait(&throttled(Some(Duration::from_secs(3))), 1, &settings()).unwrap();
            assert!(wait >= Duration::from_secs(3), "{wait:?}");
            assert!(wait <= Duration::from_millis(3300), "{wait:?}");
        }
    }

    #[test]
    fn an_over_large_retry_after_is_over_the_cap() {
        let huge = parse_retry_after("184467440737095516160");
        assert_eq!(retry_wait(&throttled(huge), 1, &settings()), None);
        let large = parse_retry_after("3600");
        assert_eq!(retry_wait(&throttled(large), 1, &settings()), None);
    }

    #[test]
    fn mint_backoff_keeps_half_of_each_wait_and_honours_retry_after() {
        let settings = settings();
        for failures in 1..40 {
            let ceiling = (settings.backoff_initial * 2u32.pow(failures.min(20) - 1))
                .min(settings.backoff_max);
            for _ in 0..50 {
                let wait = mint_backoff(failures, None, &settings);
                assert!(
                    wait >= ceiling / 2 && wait <= ceiling,
                    "{failures}: {wait:?}"
                );
            }
        }
        let asked = Some(Duration::from_secs(7));
        assert!(mint_backoff(1, asked, &settings) >= Duration::from_secs(7));
        assert_eq!(
            mint_backoff(1, Some(Duration::MAX), &settings),
            MAX_MINT_RETRY_AFTER
        );
        let mut zero = settings.clone();
        zero.backoff_initial = Duration::ZERO;
        zero.backoff_max = Duration::ZERO;
        assert!(mint_backoff(3, None, &zero) >= MIN_RETRY_WAIT / 2);
    }

    #[test]
    fn backoff_has_a_floor() {
        let mut settings = settings();
        settings.backoff_initial = Duration::ZERO;
        settings.backoff_max = Duration::ZERO;
        for attempt in 1..50 {
            assert!(backoff(attempt, &settings) >= MIN_RETRY_WAIT);
        }
    }
}
