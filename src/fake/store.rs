//! The simulator's store: accounts, users, spaces and tokens, indexed for
//! paging, and the clock that tests move.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::wire::timestamp;

pub(super) const DAY: u64 = 24 * 60 * 60;
/// How long a temporary token lives unless a test sets another lifetime.
pub(crate) const DEFAULT_TEMPORARY_LIFETIME: Duration = Duration::from_secs(DAY);
/// The shortest temporary lifetime a test may set.
pub(crate) const MIN_TEMPORARY_LIFETIME: Duration = Duration::from_millis(1);
/// The longest temporary lifetime a test may set (100 years).
pub(crate) const MAX_TEMPORARY_LIFETIME: Duration = Duration::from_secs(100 * 365 * DAY);
/// How far `advance` may move the clock ahead of the real one (1,000
/// years): far enough for any test, near enough that every date the
/// simulator computes stays valid.
pub(crate) const MAX_CLOCK_OFFSET: Duration = Duration::from_secs(1000 * 365 * DAY);
/// The most permanent tokens one account (or one space) may hold.
pub(crate) const PERMANENT_LIMIT: usize = 5;
/// How long, by the simulator's clock, an expired temporary token is kept
/// (listed, and refused with 401) before it is forgotten.
pub(crate) const EXPIRED_KEPT_FOR: Duration = Duration::from_secs(DAY);
/// From this many stored tokens on, every expired temporary token is
/// forgotten at once, without waiting for [`EXPIRED_KEPT_FOR`].
pub(crate) const PURGE_EXPIRED_AT: usize = 100_000;
/// The username of the first account's user.
pub(crate) const ROOT_USERNAME: &str = "root";

/// Which collection of tokens a route serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TokenSet {
    /// `/v1/tokens/`: the tokens that authenticate API calls.
    Api,
    /// `/v1/streams/tokens/`: stream tokens, which authenticate nothing here.
    Stream,
}

/// Whose tokens a collection holds: an account's own, or one space's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Scope {
    pub(super) collection: TokenSet,
    pub(super) account: u64,
    pub(super) space: Option<u64>,
}

/// The ids of one scope's tokens, oldest first (ids only grow), whole and
/// split by permanence, so that a page is a slice and a count is a length.
#[derive(Default)]
pub(super) struct Index {
    pub(super) all: Vec<u64>,
    pub(super) permanent: Vec<u64>,
    pub(super) temporary: Vec<u64>,
}

impl Index {
    pub(super) fn ids(&self, permanent: Option<bool>) -> &[u64] {
        match permanent {
            None => &self.all,
            Some(true) => &self.permanent,
            Some(false) => &self.temporary,
        }
    }

    pub(super) fn push(&mut self, id: u64, permanent: bool) {
        self.all.push(id);
        if permanent {
            self.permanent.push(id);
        } else {
            self.temporary.push(id);
        }
    }

    pub(super) fn remove(&mut self, id: u64, permanent: bool) {
        remove_sorted(&mut self.all, id);
        if permanent {
            remove_sorted(&mut self.permanent, id);
        } else {
            remove_sorted(&mut self.temporary, id);
        }
    }
}

pub(super) fn remove_sorted(ids: &mut Vec<u64>, id: u64) {
    if let Ok(at) = ids.binary_search(&id) {
        ids.remove(at);
    }
}

/// Newest first: `limit` ids from `offset`, counted from the newest end.
pub(super) fn page(ids: &[u64], offset: usize, limit: usize) -> impl Iterator<Item = u64> + '_ {
    let end = ids.len().saturating_sub(offset);
    let start = end.saturating_sub(limit);
    ids.get(start..end)
        .unwrap_or_default()
        .iter()
        .rev()
        .copied()
}

#[derive(Clone)]
pub(super) struct StoredToken {
    pub(super) id: u64,
    pub(super) key: String,
    pub(super) scope: Scope,
    pub(super) is_active: bool,
    pub(super) created: OffsetDateTime,
    pub(super) expires: Option<OffsetDateTime>,
}

impl StoredToken {
    pub(super) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "key": self.key,
            "is_active": self.is_active,
            "created": timestamp(self.created),
            "expires": self.expires.map(timestamp),
        })
    }

    pub(super) fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }
}

/// An account: its one user and its default space.
pub(super) struct Account {
    pub(super) username: String,
    pub(super) password: String,
    pub(super) default_space: u64,
}

pub(super) struct Space {
    pub(super) account: u64,
    pub(super) name: String,
}

/// Who makes a call: the account, and the space for a space token.
#[derive(Clone, Copy)]
pub(crate) struct Caller {
    pub(super) account: u64,
    pub(super) space: Option<u64>,
}

/// `std` to `time` duration, saturating instead of failing.
pub(super) fn signed(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// Why an account could not be added.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum UserError {
    EmptyUsername,
    EmptyPassword,
    UsernameTaken,
}

/// Every account, user, space and token, and the simulator's clock.
pub(crate) struct State {
    pub(super) tokens: HashMap<u64, StoredToken>,
    pub(super) by_key: HashMap<String, u64>,
    pub(super) scopes: HashMap<Scope, Index>,
    pub(super) accounts: BTreeMap<u64, Account>,
    pub(super) usernames: HashMap<String, u64>,
    pub(super) spaces: BTreeMap<u64, Space>,
    pub(super) next_id: u64,
    pub(super) next_account: u64,
    pub(super) next_space: u64,
    /// Added to the real clock: what `advance` moves.
    pub(super) clock_offset: Duration,
    pub(super) temporary_lifetime: Duration,
    /// The lifetime of the next temporary token only (zero allowed).
    pub(super) next_lifetime: Option<Duration>,
    /// Temporary tokens serve one call each: the next is refused (401) and
    /// the token deleted.
    pub(super) one_call_tokens: bool,
    /// The temporary tokens that served their one call.
    pub(super) called_once: HashSet<u64>,
    /// Every temporary token by when it expires, soonest first: what the
    /// purge of expired tokens reads.
    pub(super) expiring: BTreeSet<(OffsetDateTime, u64)>,
    /// Tokens a list call looked at: the unit tests check a page costs a page.
    #[cfg(test)]
    pub(super) looked_at: std::cell::Cell<usize>,
}

impl State {
    pub(crate) fn new() -> Self {
        State {
            tokens: HashMap::new(),
            by_key: HashMap::new(),
            scopes: HashMap::new(),
            accounts: BTreeMap::new(),
            usernames: HashMap::new(),
            spaces: BTreeMap::new(),
            next_id: 1,
            next_account: 1,
            next_space: 1,
            clock_offset: Duration::ZERO,
            temporary_lifetime: DEFAULT_TEMPORARY_LIFETIME,
            next_lifetime: None,
            one_call_tokens: false,
            called_once: HashSet::new(),
            expiring: BTreeSet::new(),
            #[cfg(test)]
            looked_at: std::cell::Cell::new(0),
        }
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc().saturating_add(signed(self.clock_offset))
    }

    /// Moves the clock forward, at most to [`MAX_CLOCK_OFFSET`] ahead of the
    /// real clock.
    pub(crate) fn advance(&mut self, by: Duration) {
        self.clock_offset = self.clock_offset.saturating_add(by).min(MAX_CLOCK_OFFSET);
        self.purge_expired();
    }

    /// Forgets the temporary tokens that expired [`EXPIRED_KEPT_FOR`] ago
    /// or more, or, with [`PURGE_EXPIRED_AT`] tokens or more stored, every
    /// expired one: so memory follows the tokens alive, not every token
    /// ever created. Runs at every request, insert and clock move; costs a
    /// look at the soonest expiry when nothing is due, and time linear in
    /// the scopes it touches when something is.
    pub(crate) fn purge_expired(&mut self) {
        let now = self.now();
        let horizon = if self.tokens.len() >= PURGE_EXPIRED_AT {
            now
        } else {
            now.saturating_sub(signed(EXPIRED_KEPT_FOR))
        };
        let mut doomed = HashSet::new();
        // Bounded by the number of temporary tokens stored.
        while let Some(&(expires, id)) = self.expiring.first() {
            if expires > horizon {
                break;
            }
            self.expiring.pop_first();
            doomed.insert(id);
        }
        if doomed.is_empty() {
            return;
        }
        let mut scopes = HashSet::new();
        for id in &doomed {
            if let Some(token) = self.tokens.remove(id) {
                self.by_key.remove(&token.key);
                scopes.insert(token.scope);
            }
            self.called_once.remove(id);
        }
        for scope in scopes {
            if let Some(index) = self.scopes.get_mut(&scope) {
                index.all.retain(|id| !doomed.contains(id));
                index.temporary.retain(|id| !doomed.contains(id));
            }
        }
    }

    /// Sets the lifetime of temporary tokens created from now on, clamped to
    /// the allowed range; returns the lifetime in effect.
    pub(crate) fn set_temporary_lifetime(&mut self, lifetime: Duration) -> Duration {
        self.temporary_lifetime = lifetime.clamp(MIN_TEMPORARY_LIFETIME, MAX_TEMPORARY_LIFETIME);
        self.temporary_lifetime
    }

    /// Sets the lifetime of the next temporary token only, zero included.
    pub(crate) fn set_next_lifetime(&mut self, lifetime: Duration) {
        self.next_lifetime = Some(lifetime.min(MAX_TEMPORARY_LIFETIME));
    }

    /// Makes temporary tokens serve one call each (or not any more).
    pub(crate) fn set_one_call_tokens(&mut self, on: bool) {
        self.one_call_tokens = on;
        self.called_once.clear();
    }

    /// With one-call tokens on: whether the temporary token with this key
    /// has served its call, in which case it is deleted now; otherwise
    /// takes note that it serves one.
    pub(super) fn spent(&mut self, key: &str) -> bool {
        if !self.one_call_tokens {
            return false;
        }
        let Some(token) = self.api_token(key).filter(|t| t.expires.is_some()) else {
            return false;
        };
        let id = token.id;
        if self.called_once.insert(id) {
            return false;
        }
        self.called_once.remove(&id);
        self.remove(id);
        true
    }

    /// Deletes the token with this key; false if there is none.
    pub(crate) fn revoke(&mut self, key: &str) -> bool {
        let Some(id) = self.by_key.get(key).copied() else {
            return false;
        };
        self.remove(id);
        true
    }

    /// A new account with a generated user and its permanent root token;
    /// returns the root key. The first account's user is `root`.
    pub(crate) fn add_account(&mut self) -> String {
        let mut username = if self.accounts.is_empty() {
            ROOT_USERNAME.to_owned()
        } else {
            format!("user{}", self.next_account)
        };
        let mut suffix = 1u64;
        while self.usernames.contains_key(&username) {
            username = format!("user{}-{suffix}", self.next_account);
            suffix = suffix.saturating_add(1);
        }
        let password = new_secret(20);
        self.insert_account(username, password)
    }

    /// A new account whose user has this username and password; returns the
    /// root key.
    pub(crate) fn add_account_with_user(
        &mut self,
        username: &str,
        password: &str,
    ) -> Result<String, UserError> {
        if username.is_empty() {
            return Err(UserError::EmptyUsername);
        }
        if password.is_empty() {
            return Err(UserError::EmptyPassword);
        }
        if self.usernames.contains_key(username) {
            return Err(UserError::UsernameTaken);
        }
        Ok(self.insert_account(username.to_owned(), password.to_owned()))
    }

    pub(super) fn insert_account(&mut self, username: String, password: String) -> String {
        let account = self.next_account;
        self.next_account = self.next_account.saturating_add(1);
        let default_space = self.insert_space(account, "default");
        self.usernames.insert(username.clone(), account);
        self.accounts.insert(
            account,
            Account {
                username,
                password,
                default_space,
            },
        );
        let scope = Scope {
            collection: TokenSet::Api,
            account,
            space: None,
        };
        self.insert(scope, true).key
    }

    pub(super) fn insert_space(&mut self, account: u64, name: &str) -> u64 {
        let id = self.next_space;
        self.next_space = self.next_space.saturating_add(1);
        self.spaces.insert(
            id,
            Space {
                account,
                name: name.to_owned(),
            },
        );
        id
    }

    /// The username and password of an account's user.
    pub(crate) fn credentials(&self, account: u64) -> Option<(String, String)> {
        self.accounts
            .get(&account)
            .map(|a| (a.username.clone(), a.password.clone()))
    }

    /// The API token with this key, if any (expired or inactive included).
    pub(super) fn api_token(&self, key: &str) -> Option<&StoredToken> {
        self.by_key
            .get(key)
            .and_then(|id| self.tokens.get(id))
            .filter(|t| t.scope.collection == TokenSet::Api)
    }

    /// Adds a space named `name` to the account of the API token `key`.
    pub(crate) fn add_space(&mut self, key: &str, name: &str) -> Option<u64> {
        let account = self.api_token(key)?.scope.account;
        Some(self.insert_space(account, name))
    }

    /// Adds `count` temporary tokens next to the API token `key` (same
    /// account and space); false if no API token has that key.
    pub(crate) fn add_temporary_tokens(&mut self, key: &str, count: usize) -> bool {
        let Some(scope) = self.api_token(key).map(|t| t.scope) else {
            return false;
        };
        for _ in 0..count {
            self.insert(scope, false);
        }
        true
    }

    pub(super) fn insert(&mut self, scope: Scope, permanent: bool) -> StoredToken {
        // Before, so that a token born expired is not forgotten at once.
        self.purge_expired();
        let created = self.now();
        let mut key = new_secret(40);
        while self.by_key.contains_key(&key) {
            key = new_secret(40);
        }
        let lifetime = match permanent {
            true => Duration::ZERO,
            false => self.next_lifetime.take().unwrap_or(self.temporary_lifetime),
        };
        let lifetime = signed(lifetime);
        let token = StoredToken {
            id: self.next_id,
            key,
            scope,
            is_active: true,
            created,
            expires: (!permanent).then(|| created.saturating_add(lifetime)),
        };
        self.next_id = self.next_id.saturating_add(1);
        self.by_key.insert(token.key.clone(), token.id);
        self.scopes
            .entry(scope)
            .or_default()
            .push(token.id, permanent);
        if let Some(expires) = token.expires {
            self.expiring.insert((expires, token.id));
        }
        self.tokens.insert(token.id, token.clone());
        token
    }

    pub(super) fn remove(&mut self, id: u64) {
        if let Some(token) = self.tokens.remove(&id) {
            self.by_key.remove(&token.key);
            if let Some(expires) = token.expires {
                self.expiring.remove(&(expires, id));
            }
            if let Some(index) = self.scopes.get_mut(&token.scope) {
                index.remove(id, token.expires.is_none());
            }
        }
    }

    /// Removes every token of a scope with the given permanence (all of
    /// them for `None`), in time linear in the scope's size.
    pub(super) fn remove_all(&mut self, scope: Scope, permanent: Option<bool>) {
        let Some(index) = self.scopes.get_mut(&scope) else {
            return;
        };
        let doomed = match permanent {
            None => {
                let all = std::mem::take(index);
                all.all
            }
            Some(true) => {
                let ids = std::mem::take(&mut index.permanent);
                index.all = index.temporary.clone();
                ids
            }
            Some(false) => {
                let ids = std::mem::take(&mut index.temporary);
                index.all = index.permanent.clone();
                ids
            }
        };
        for id in doomed {
            if let Some(token) = self.tokens.remove(&id) {
                self.by_key.remove(&token.key);
                if let Some(expires) = token.expires {
                    self.expiring.remove(&(expires, id));
                }
            }
        }
    }

    /// Removes every token of an account: API and stream tokens, of the
    /// account and of all its spaces.
    pub(super) fn remove_account_tokens(&mut self, account: u64) {
        let scopes: Vec<Scope> = self
            .scopes
            .keys()
            .filter(|s| s.account == account)
            .copied()
            .collect();
        for scope in scopes {
            self.remove_all(scope, None);
            self.scopes.remove(&scope);
        }
    }

    pub(super) fn permanent_count(&self, scope: Scope) -> usize {
        self.scopes.get(&scope).map_or(0, |i| i.permanent.len())
    }
}

/// Random lowercase hex characters. A simulator's keys and passwords need
/// to be unique, not unguessable.
pub(super) fn new_secret(len: usize) -> String {
    pub(super) const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..len)
        .map(|_| {
            char::from(
                HEX.get(fastrand::usize(..HEX.len()))
                    .copied()
                    .unwrap_or(b'0'),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_40_hex_characters() {
        let key = new_secret(40);
        assert_eq!(key.len(), 40);
        assert!(
            key.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn the_clock_and_lifetimes_saturate() {
        let mut state = State::new();
        state.advance(Duration::MAX);
        state.advance(Duration::MAX);
        let _ = state.now();
        assert_eq!(
            state.set_temporary_lifetime(Duration::MAX),
            MAX_TEMPORARY_LIFETIME
        );
        assert_eq!(
            state.set_temporary_lifetime(Duration::ZERO),
            MIN_TEMPORARY_LIFETIME
        );
        state.set_temporary_lifetime(Duration::MAX);
        let root = state.add_account();
        assert!(state.add_temporary_tokens(&root, 1));
    }
}
