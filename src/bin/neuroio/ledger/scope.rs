//! The scope of a token: which tokens it sees and mints (its account's,
//! or its space's), recorded with each entry so that a reap can tell a
//! token that is gone from one the token in use cannot see.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The tokens a token sees and mints: those of its account, or, for a
/// space token, those of its space. The API answers 404 for a token of
/// another scope, as for one that is gone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// An account token's, named by the account's user.
    Account(String),
    /// A space token's, named by the space's id.
    Space(u64),
}

impl Scope {
    /// The scope `who am I` describes: the account when it names a user,
    /// else the space; `None` when it names neither.
    pub fn of(me: &neuroio::Whoami) -> Option<Scope> {
        match (me.username(), me.space()) {
            (Some(user), _) => Some(Scope::Account(user.to_owned())),
            (None, Some(space)) => Some(Scope::Space(space.id)),
            (None, None) => None,
        }
    }

    /// The scope of `client`'s token, asked of the API (one `who am I`)
    /// and waited for `limit` at most, or until `stop` is set: the call
    /// runs on a thread of its own, so a slow answer delays nothing past
    /// either. `None` when the call fails or is late: the entries it marks
    /// are then kept until their tokens expire, never counted as gone on a
    /// guess.
    pub fn of_client(
        client: &neuroio::Client,
        limit: Duration,
        stop: Option<&AtomicBool>,
    ) -> Option<Scope> {
        const SLICE: Duration = Duration::from_millis(20);
        let client = client.clone();
        let (answer, answered) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = answer.send(client.whoami().ok().as_ref().and_then(Scope::of));
        });
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match answered.recv_timeout(left.min(SLICE)) {
                Ok(scope) => return scope,
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if left.is_zero() || stop.is_some_and(|stop| stop.load(Ordering::Acquire)) {
                return None;
            }
        }
    }
}

/// How long a command waits for the scope of the token in use before it
/// mints (`exec`, `agent --once`): past it, the entry's scope is unknown.
pub const SCOPE_WAIT: Duration = Duration::from_secs(2);
