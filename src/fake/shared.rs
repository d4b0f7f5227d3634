//! What the simulator's threads share: the API's state, the queued
//! faults, the request log, and the connection counts and stop flag of one
//! simulator.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::DEFAULT_IDLE_TIMEOUT;

/// How a simulator's own path begins (`/sim-7`).
pub(super) const PREFIX_START: &str = "/sim-";
use super::faults::Fault;
use super::requests::{RecordedRequest, RequestLog};
use super::store::State;

/// State shared by the simulator's threads.
pub(crate) struct Shared {
    pub(super) state: Mutex<State>,
    pub(super) faults: Mutex<VecDeque<(Option<Aim>, Fault)>>,
    pub(super) requests: Mutex<RequestLog>,
    pub(super) connections: AtomicUsize,
    /// Connections being served now, and a signal when one ends.
    pub(super) live: Mutex<usize>,
    pub(super) ended: Condvar,
    pub(super) stopping: AtomicBool,
    pub(super) idle_timeout: Mutex<Duration>,
    /// The path this simulator's URL ends with (`/sim-7`), or empty: a
    /// server from the pool serves one simulator after another on one
    /// port, and a request a dropped simulator's client still sends names
    /// that one's path, so it never reaches the next.
    pub(super) prefix: String,
}

/// Locks a mutex, recovering the data if a thread panicked while holding it:
/// the simulator's data stays consistent between statements.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut lock(&self.state))
    }

    /// The first queued fault aimed at `request` (or at any request).
    pub(crate) fn take_fault(&self, request: &RecordedRequest) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let at = faults
            .iter()
            .position(|(aim, _)| aim.as_ref().is_none_or(|aim| aim.hits(request)))?;
        faults.remove(at).map(|(_, fault)| fault)
    }

    pub(crate) fn record(&self, request: &RecordedRequest) {
        lock(&self.requests).push(request);
    }

    pub(crate) fn idle_timeout(&self) -> Duration {
        *lock(&self.idle_timeout)
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// `path` without this simulator's prefix; `None` for a path that
    /// names another simulator's prefix (one that served this port before).
    /// A path with no prefix at all is this simulator's.
    pub(crate) fn own_path(&self, path: &str) -> Option<String> {
        if !path.starts_with(PREFIX_START) {
            return Some(path.to_owned());
        }
        path.strip_prefix(self.prefix.as_str())
            .filter(|rest| !self.prefix.is_empty() && rest.starts_with('/'))
            .map(str::to_owned)
    }

    /// Sleeps unless the simulator stops first; false if it did.
    pub(crate) fn sleep(&self, wait: Duration) -> bool {
        sleep_unless_stopping(wait, || self.is_stopping())
    }
}

impl Shared {
    /// A fresh simulator's state: one account, whose root token is
    /// returned, no fault, an empty log.
    pub(super) fn new(prefix: String) -> (Shared, String) {
        let mut state = State::new();
        let root_token = state.add_account();
        let shared = Shared {
            state: Mutex::new(state),
            faults: Mutex::new(VecDeque::new()),
            requests: Mutex::new(RequestLog::default()),
            connections: AtomicUsize::new(0),
            live: Mutex::new(0),
            ended: Condvar::new(),
            stopping: AtomicBool::new(false),
            idle_timeout: Mutex::new(DEFAULT_IDLE_TIMEOUT),
            prefix,
        };
        (shared, root_token)
    }
}

/// Sleeps for `wait` in short steps; false if the simulator began stopping.
/// A wait too long for the clock (such as `Duration::MAX`) lasts until the
/// simulator stops.
pub(crate) fn sleep_unless_stopping(wait: Duration, stopping: impl Fn() -> bool) -> bool {
    const STEP: Duration = Duration::from_millis(10);
    let until = Instant::now().checked_add(wait);
    loop {
        if stopping() {
            return false;
        }
        let left = match until {
            Some(until) => until.saturating_duration_since(Instant::now()),
            None => STEP,
        };
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(STEP));
    }
}

/// Which requests a queued fault is for: a method and a path, where a path
/// ending in `*` stands for every path that starts with what precedes it.
/// No aim: any request.
#[derive(Clone)]
pub(super) struct Aim {
    pub(super) method: String,
    pub(super) path: String,
}

impl Aim {
    pub(super) fn hits(&self, request: &RecordedRequest) -> bool {
        let path = match self.path.strip_suffix('*') {
            Some(prefix) => request.path.starts_with(prefix),
            None => request.path == self.path,
        };
        path && request.method.eq_ignore_ascii_case(&self.method)
    }
}
