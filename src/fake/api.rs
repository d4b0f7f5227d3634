//! The simulated API: accounts, users, spaces, tokens, authentication and
//! routing, as a pure function from a request to a response. No sockets here.
//!
//! Routing is one table, [`ROUTES`]: a path pattern and, per method, a
//! handler. Adding a resource is adding a route.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

const DAY: u64 = 24 * 60 * 60;
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
/// The username of the first account's user.
pub(crate) const ROOT_USERNAME: &str = "root";

/// A request as the simulator's HTTP layer hands it over.
pub(crate) struct Incoming<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) authorization: Option<&'a str>,
    pub(crate) content_type: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

/// An answer: the status and, except for 204, a JSON body.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) status: u16,
    pub(crate) body: Option<Value>,
    pub(crate) retry_after: Option<String>,
}

impl Outgoing {
    fn json(status: u16, body: Value) -> Self {
        Outgoing {
            status,
            body: Some(body),
            retry_after: None,
        }
    }

    fn no_content() -> Self {
        Outgoing {
            status: 204,
            body: None,
            retry_after: None,
        }
    }

    /// An answer in the API's error body format.
    pub(crate) fn error(status: u16, message: &str) -> Self {
        Outgoing::field_errors(status, message, &[])
    }

    fn field_errors(status: u16, message: &str, fields: &[(&str, &str)]) -> Self {
        let fields: Vec<Value> = fields
            .iter()
            .map(|(name, msg)| json!({"name": name, "message": msg, "error_code": status}))
            .collect();
        Outgoing::json(
            status,
            json!({"error_codes": [status], "message": message, "fields": fields}),
        )
    }

    fn validation(fields: &[(&str, &str)]) -> Self {
        Outgoing::field_errors(400, "Validation error.", fields)
    }
}

fn not_found() -> Outgoing {
    Outgoing::error(404, "Not found.")
}

/// Which collection of tokens a route serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Collection {
    /// `/v1/tokens/`: the tokens that authenticate API calls.
    Api,
    /// `/v1/streams/tokens/`: stream tokens, which authenticate nothing here.
    Stream,
}

/// Whose tokens a collection holds: an account's own, or one space's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Scope {
    collection: Collection,
    account: u64,
    space: Option<u64>,
}

/// The ids of one scope's tokens, oldest first (ids only grow), whole and
/// split by permanence, so that a page is a slice and a count is a length.
#[derive(Default)]
struct Index {
    all: Vec<u64>,
    permanent: Vec<u64>,
    temporary: Vec<u64>,
}

impl Index {
    fn ids(&self, permanent: Option<bool>) -> &[u64] {
        match permanent {
            None => &self.all,
            Some(true) => &self.permanent,
            Some(false) => &self.temporary,
        }
    }

    fn push(&mut self, id: u64, permanent: bool) {
        self.all.push(id);
        if permanent {
            self.permanent.push(id);
        } else {
            self.temporary.push(id);
        }
    }

    fn remove(&mut self, id: u64, permanent: bool) {
        remove_sorted(&mut self.all, id);
        if permanent {
            remove_sorted(&mut self.permanent, id);
        } else {
            remove_sorted(&mut self.temporary, id);
        }
    }
}

fn remove_sorted(ids: &mut Vec<u64>, id: u64) {
    if let Ok(at) = ids.binary_search(&id) {
        ids.remove(at);
    }
}

/// Newest first: `limit` ids from `offset`, counted from the newest end.
fn page(ids: &[u64], offset: usize, limit: usize) -> impl Iterator<Item = u64> + '_ {
    let end = ids.len().saturating_sub(offset);
    let start = end.saturating_sub(limit);
    ids.get(start..end)
        .unwrap_or_default()
        .iter()
        .rev()
        .copied()
}

#[derive(Clone)]
struct StoredToken {
    id: u64,
    key: String,
    scope: Scope,
    is_active: bool,
    created: OffsetDateTime,
    expires: Option<OffsetDateTime>,
}

impl StoredToken {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "key": self.key,
            "is_active": self.is_active,
            "created": timestamp(self.created),
            "expires": self.expires.map(timestamp),
        })
    }

    fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }
}

/// An account: its one user and its default space.
struct Account {
    username: String,
    password: String,
    default_space: u64,
}

struct Space {
    account: u64,
    name: String,
}

/// Who makes a call: the account, and the space for a space token.
#[derive(Clone, Copy)]
pub(crate) struct Caller {
    account: u64,
    space: Option<u64>,
}

/// RFC 3339 with microseconds and a numeric offset, as the real API writes.
fn timestamp(at: OffsetDateTime) -> String {
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6][offset_hour sign:mandatory]:[offset_minute]"
    );
    // Formatting a valid date with this description cannot fail; fall back to
    // the plain RFC 3339 form rather than panic if it ever did.
    at.format(&format)
        .or_else(|_| at.format(&time::format_description::well_known::Rfc3339))
        .unwrap_or_default()
}

/// `std` to `time` duration, saturating instead of failing.
fn signed(d: Duration) -> time::Duration {
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
    tokens: HashMap<u64, StoredToken>,
    by_key: HashMap<String, u64>,
    scopes: HashMap<Scope, Index>,
    accounts: BTreeMap<u64, Account>,
    usernames: HashMap<String, u64>,
    spaces: BTreeMap<u64, Space>,
    next_id: u64,
    next_account: u64,
    next_space: u64,
    /// Added to the real clock: what `advance` moves.
    clock_offset: Duration,
    temporary_lifetime: Duration,
    /// The lifetime of the next temporary token only (zero allowed).
    next_lifetime: Option<Duration>,
    /// Tokens a list call looked at: the unit tests check a page costs a page.
    #[cfg(test)]
    looked_at: std::cell::Cell<usize>,
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

    fn insert_account(&mut self, username: String, password: String) -> String {
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
            collection: Collection::Api,
            account,
            space: None,
        };
        self.insert(scope, true).key
    }

    fn insert_space(&mut self, account: u64, name: &str) -> u64 {
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
    fn api_token(&self, key: &str) -> Option<&StoredToken> {
        self.by_key
            .get(key)
            .and_then(|id| self.tokens.get(id))
            .filter(|t| t.scope.collection == Collection::Api)
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

    fn insert(&mut self, scope: Scope, permanent: bool) -> StoredToken {
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
        self.tokens.insert(token.id, token.clone());
        token
    }

    fn remove(&mut self, id: u64) {
        if let Some(token) = self.tokens.remove(&id) {
            self.by_key.remove(&token.key);
            if let Some(index) = self.scopes.get_mut(&token.scope) {
                index.remove(id, token.expires.is_none());
            }
        }
    }

    /// Removes every token of a scope with the given permanence (all of
    /// them for `None`), in time linear in the scope's size.
    fn remove_all(&mut self, scope: Scope, permanent: Option<bool>) {
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
            }
        }
    }

    /// Removes every token of an account: API and stream tokens, of the
    /// account and of all its spaces.
    fn remove_account_tokens(&mut self, account: u64) {
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

    fn permanent_count(&self, scope: Scope) -> usize {
        self.scopes.get(&scope).map_or(0, |i| i.permanent.len())
    }

    /// Answers one request: finds the route, authenticates if the route
    /// needs it, then dispatches on the method.
    pub(crate) fn handle(&mut self, req: &Incoming<'_>) -> Outgoing {
        let Some((route, segment)) = ROUTES
            .iter()
            .find_map(|route| route_match(route.pattern, req.path).map(|s| (route, s)))
        else {
            return Outgoing::error(404, "Not found: the simulator has no such endpoint.");
        };
        let authenticated = route
            .methods
            .iter()
            .any(|(_, h)| matches!(h, Handler::Authenticated(_)));
        let caller = if authenticated {
            match self.authenticate(req.authorization) {
                Ok(caller) => Some(caller),
                Err(answer) => return answer,
            }
        } else {
            None
        };
        let Some((_, handler)) = route.methods.iter().find(|(m, _)| *m == req.method) else {
            return Outgoing::error(405, &format!("Method \"{}\" not allowed.", req.method));
        };
        let call = Call {
            req,
            collection: route.collection,
            segment,
        };
        match (handler, caller) {
            (Handler::Public(f), _) => f(self, &call),
            (Handler::Authenticated(f), Some(caller)) => f(self, &call, caller),
            (Handler::Authenticated(_), None) => {
                Outgoing::error(401, "Authentication credentials were not provided.")
            }
        }
    }

    fn authenticate(&self, header: Option<&str>) -> Result<Caller, Outgoing> {
        let Some(header) = header else {
            return Err(Outgoing::error(
                401,
                "Authentication credentials were not provided.",
            ));
        };
        let Some(key) = header.strip_prefix("Token ").filter(|k| !k.contains(' ')) else {
            return Err(Outgoing::error(
                401,
                "Invalid token header: expected \"Token <key>\".",
            ));
        };
        // Stream tokens authenticate nothing: to this check they are unknown.
        let Some(token) = self.api_token(key) else {
            return Err(Outgoing::error(401, "Invalid token."));
        };
        if !token.is_active {
            return Err(Outgoing::error(401, "Token is inactive."));
        }
        if token.is_expired(self.now()) {
            return Err(Outgoing::error(401, "Token has expired."));
        }
        Ok(Caller {
            account: token.scope.account,
            space: token.scope.space,
        })
    }

    /// The id of the scope's token named by a path segment (id or key).
    fn find(&self, scope: Scope, segment: &str) -> Option<u64> {
        let decoded = percent_decode_str(segment).decode_utf8().ok()?;
        let in_scope = |id: &u64| self.tokens.get(id).is_some_and(|t| t.scope == scope);
        let by_id = decoded.parse::<u64>().ok().filter(in_scope);
        by_id.or_else(|| self.by_key.get(decoded.as_ref()).copied().filter(in_scope))
    }

    fn token_json(&self, id: u64, status: u16) -> Outgoing {
        match self.tokens.get(&id) {
            Some(token) => Outgoing::json(status, token.to_json()),
            None => not_found(),
        }
    }

    /// Creates a token in `scope`, keeping the permanent limit.
    fn create_in(&mut self, scope: Scope, req: &Incoming<'_>) -> Outgoing {
        let permanent = match read_bool_field(req, "permanent") {
            Ok(value) => value.unwrap_or(false),
            Err(answer) => return answer,
        };
        if permanent && self.permanent_count(scope) >= PERMANENT_LIMIT {
            return Outgoing::error(
                400,
                "Permanent tokens limit exceeded: an account or space may hold at most 5 \
                 permanent tokens. Delete one, or create a temporary token.",
            );
        }
        let token = self.insert(scope, permanent);
        Outgoing::json(201, token.to_json())
    }

    // The six token operations, for any collection: the route says which.

    fn create(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        self.create_in(call.scope(caller), call.req)
    }

    fn list(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        let params = QueryParams::parse(call.req.query);
        let mut errors: Vec<(&str, &str)> = Vec::new();
        let limit = match params.get("limit") {
            None => 20,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) if (1..=100).contains(&n) => n,
                Ok(_) => {
                    errors.push(("limit", "Ensure this value is between 1 and 100."));
                    0
                }
                Err(_) => {
                    errors.push(("limit", "A valid integer is required."));
                    0
                }
            },
        };
        let offset = match params.get("offset") {
            None => 0,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) => n,
                Err(_) => {
                    errors.push((
                        "offset",
                        "A valid integer greater than or equal to 0 is required.",
                    ));
                    0
                }
            },
        };
        let permanent = match params.get("permanent").map(parse_bool) {
            None => None,
            Some(Some(p)) => Some(p),
            Some(None) => {
                errors.push(("permanent", "Must be a valid boolean."));
                None
            }
        };
        if !errors.is_empty() {
            return Outgoing::validation(&errors);
        }
        let ids = self
            .scopes
            .get(&call.scope(caller))
            .map_or(&[][..], |index| index.ids(permanent));
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(limit).unwrap_or(100);
        let page: Vec<Value> = page(ids, offset, limit)
            .filter_map(|id| self.tokens.get(&id))
            .inspect(|_| self.count_look())
            .map(StoredToken::to_json)
            .collect();
        Outgoing::json(200, Value::Array(page))
    }

    #[cfg(test)]
    fn count_look(&self) {
        self.looked_at.set(self.looked_at.get() + 1);
    }

    #[cfg(not(test))]
    fn count_look(&self) {}

    fn get(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        match self.find(call.scope(caller), call.segment.unwrap_or_default()) {
            Some(id) => self.token_json(id, 200),
            None => not_found(),
        }
    }

    fn update(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        let Some(id) = self.find(call.scope(caller), call.segment.unwrap_or_default()) else {
            return not_found();
        };
        let is_active = match read_bool_field(call.req, "is_active") {
            Ok(Some(value)) => value,
            Ok(None) => return Outgoing::validation(&[("is_active", "This field is required.")]),
            Err(answer) => return answer,
        };
        if let Some(token) = self.tokens.get_mut(&id) {
            token.is_active = is_active;
        }
        self.token_json(id, 200)
    }

    fn delete(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        match self.find(call.scope(caller), call.segment.unwrap_or_default()) {
            Some(id) => {
                self.remove(id);
                Outgoing::no_content()
            }
            None => not_found(),
        }
    }

    fn delete_list(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        let params = QueryParams::parse(call.req.query);
        let permanent = match params.get("permanent").map(parse_bool) {
            None => None,
            Some(Some(p)) => Some(p),
            Some(None) => {
                return Outgoing::validation(&[("permanent", "Must be a valid boolean.")]);
            }
        };
        self.remove_all(call.scope(caller), permanent);
        Outgoing::no_content()
    }

    // The rest of the token family.

    fn login(&mut self, call: &Call<'_>) -> Outgoing {
        let body = match parse_body(call.req) {
            Ok(body) => body,
            Err(answer) => return answer,
        };
        let mut errors = Vec::new();
        let username = required_text(&body, "username", &mut errors);
        let password = required_text(&body, "password", &mut errors);
        let (Some(username), Some(password), true) = (username, password, errors.is_empty()) else {
            return Outgoing::validation(&errors);
        };
        let account = self
            .usernames
            .get(&username)
            .copied()
            .filter(|a| self.accounts.get(a).is_some_and(|a| a.password == password));
        let Some(account) = account else {
            return Outgoing::json(
                400,
                json!({"error_codes": [602], "message": "Username and password do not match.", "fields": []}),
            );
        };
        let scope = Scope {
            collection: Collection::Api,
            account,
            space: None,
        };
        let token = self.insert(scope, false);
        Outgoing::json(
            200,
            json!({"user": {"username": username}, "token": token.to_json()}),
        )
    }

    fn change_password(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        if caller.space.is_some() {
            return Outgoing::error(
                403,
                "A space token has no user: change the password with an account token.",
            );
        }
        let body = match parse_body(call.req) {
            Ok(body) => body,
            Err(answer) => return answer,
        };
        let mut errors = Vec::new();
        let old = required_text(&body, "old_password", &mut errors);
        let new = required_text(&body, "password", &mut errors);
        let again = required_text(&body, "password2", &mut errors);
        let reset = match body.flag("reset_tokens") {
            Ok(value) => value.unwrap_or(false),
            Err(message) => {
                errors.push(("reset_tokens", message));
                false
            }
        };
        let (Some(old), Some(new), Some(again), true) = (old, new, again, errors.is_empty()) else {
            return Outgoing::validation(&errors);
        };
        let Some(account) = self.accounts.get_mut(&caller.account) else {
            return not_found();
        };
        if account.password != old {
            errors.push(("old_password", "Wrong password."));
        }
        if new != again {
            errors.push(("password2", "The two password fields didn't match."));
        }
        if !errors.is_empty() {
            return Outgoing::validation(&errors);
        }
        account.password = new;
        if reset {
            self.remove_account_tokens(caller.account);
        }
        Outgoing::no_content()
    }

    fn whoami(&mut self, _call: &Call<'_>, caller: Caller) -> Outgoing {
        let Some(account) = self.accounts.get(&caller.account) else {
            return not_found();
        };
        let space_id = caller.space.unwrap_or(account.default_space);
        let name = self.spaces.get(&space_id).map_or("", |s| s.name.as_str());
        let space = json!({"id": space_id, "name": name});
        match caller.space {
            None => Outgoing::json(200, json!({"username": account.username, "space": space})),
            Some(_) => Outgoing::json(200, json!({"space": space})),
        }
    }

    fn create_space_token(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        if caller.space.is_some() {
            return Outgoing::error(
                403,
                "You do not have permission to perform this action: only an account token \
                 can create space tokens.",
            );
        }
        let space = call
            .segment
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|id| {
                self.spaces
                    .get(id)
                    .is_some_and(|s| s.account == caller.account)
            });
        let Some(space) = space else {
            return not_found();
        };
        let scope = Scope {
            collection: Collection::Api,
            account: caller.account,
            space: Some(space),
        };
        self.create_in(scope, call.req)
    }
}

/// What a handler gets: the request, the route's collection and the path
/// segment the route's `{}` matched.
struct Call<'a> {
    req: &'a Incoming<'a>,
    collection: Collection,
    segment: Option<&'a str>,
}

impl Call<'_> {
    /// The tokens the caller manages through this route.
    fn scope(&self, caller: Caller) -> Scope {
        Scope {
            collection: self.collection,
            account: caller.account,
            space: caller.space,
        }
    }
}

#[derive(Clone, Copy)]
enum Handler {
    /// Needs no `Authorization` header.
    Public(fn(&mut State, &Call<'_>) -> Outgoing),
    /// Runs only for a valid API token; the route answers 401 otherwise.
    Authenticated(fn(&mut State, &Call<'_>, Caller) -> Outgoing),
}

/// One endpoint: a path pattern (`{}` matches one non-empty segment) and
/// its handler per method.
struct Route {
    pattern: &'static str,
    collection: Collection,
    methods: &'static [(&'static str, Handler)],
}

const TOKEN_COLLECTION: &[(&str, Handler)] = &[
    ("POST", Handler::Authenticated(State::create)),
    ("GET", Handler::Authenticated(State::list)),
    ("DELETE", Handler::Authenticated(State::delete_list)),
];

const TOKEN_ITEM: &[(&str, Handler)] = &[
    ("GET", Handler::Authenticated(State::get)),
    ("PATCH", Handler::Authenticated(State::update)),
    ("DELETE", Handler::Authenticated(State::delete)),
];

/// Every endpoint the simulator serves, IAM and API paths on one address.
const ROUTES: &[Route] = &[
    Route {
        pattern: "/v1/tokens/",
        collection: Collection::Api,
        methods: TOKEN_COLLECTION,
    },
    Route {
        pattern: "/v1/tokens/{}/",
        collection: Collection::Api,
        methods: TOKEN_ITEM,
    },
    Route {
        pattern: "/v1/streams/tokens/",
        collection: Collection::Stream,
        methods: TOKEN_COLLECTION,
    },
    Route {
        pattern: "/v1/streams/tokens/{}/",
        collection: Collection::Stream,
        methods: TOKEN_ITEM,
    },
    Route {
        pattern: "/v1/auth/token/",
        collection: Collection::Api,
        methods: &[("POST", Handler::Public(State::login))],
    },
    Route {
        pattern: "/v1/auth/password/change/",
        collection: Collection::Api,
        methods: &[("POST", Handler::Authenticated(State::change_password))],
    },
    Route {
        pattern: "/v1/whoami/",
        collection: Collection::Api,
        methods: &[("GET", Handler::Authenticated(State::whoami))],
    },
    Route {
        pattern: "/v1/spaces/{}/tokens/",
        collection: Collection::Api,
        methods: &[("POST", Handler::Authenticated(State::create_space_token))],
    },
];

/// Matches a path against a pattern: `Some(segment)` with what `{}`
/// matched (`Some(None)` for a pattern without one), `None` for no match.
fn route_match<'p>(pattern: &str, path: &'p str) -> Option<Option<&'p str>> {
    let path = path.strip_prefix('/')?.strip_suffix('/')?;
    let pattern = pattern.strip_prefix('/')?.strip_suffix('/')?;
    let mut captured = None;
    let mut segments = path.split('/');
    for expected in pattern.split('/') {
        let segment = segments.next()?;
        if expected == "{}" {
            if segment.is_empty() {
                return None;
            }
            captured = Some(segment);
        } else if expected != segment {
            return None;
        }
    }
    match segments.next() {
        Some(_) => None,
        None => Some(captured),
    }
}

/// Random lowercase hex characters. A simulator's keys and passwords need
/// to be unique, not unguessable.
fn new_secret(len: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
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

fn parse_bool(raw: &str) -> Option<bool> {
    match raw {
        "true" | "True" | "1" => Some(true),
        "false" | "False" | "0" => Some(false),
        _ => None,
    }
}

/// A request body: empty, a JSON object or form fields.
enum Body {
    Empty,
    Json(Map<String, Value>),
    Form(Vec<(String, String)>),
}

/// Reads a JSON or form body (an all-whitespace body is empty); anything
/// else is a 400.
fn parse_body(req: &Incoming<'_>) -> Result<Body, Outgoing> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::Empty);
    }
    let media = req
        .content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/json") => {
            let value: Value = serde_json::from_slice(req.body)
                .map_err(|e| Outgoing::error(400, &format!("JSON parse error: {e}")))?;
            match value {
                Value::Object(map) => Ok(Body::Json(map)),
                _ => Err(Outgoing::error(
                    400,
                    "Invalid data: expected a JSON object.",
                )),
            }
        }
        Some("application/x-www-form-urlencoded") => Ok(Body::Form(
            form_urlencoded::parse(req.body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )),
        _ => Err(Outgoing::error(
            400,
            "Unsupported body: send application/json or application/x-www-form-urlencoded.",
        )),
    }
}

impl Body {
    /// A boolean field; `Err` carries the field error's message.
    fn flag(&self, field: &str) -> Result<Option<bool>, &'static str> {
        const INVALID: &str = "Must be a valid boolean.";
        match self {
            Body::Empty => Ok(None),
            Body::Json(map) => match map.get(field) {
                None => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(INVALID),
            },
            Body::Form(pairs) => match pairs.iter().find(|(k, _)| k == field) {
                None => Ok(None),
                Some((_, v)) => parse_bool(v).map(Some).ok_or(INVALID),
            },
        }
    }

    /// A string field; `Err` carries the field error's message.
    fn text(&self, field: &str) -> Result<Option<String>, &'static str> {
        match self {
            Body::Empty => Ok(None),
            Body::Json(map) => match map.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err("Not a valid string."),
            },
            Body::Form(pairs) => Ok(pairs
                .iter()
                .find(|(k, _)| k == field)
                .map(|(_, v)| v.clone())),
        }
    }
}

/// A required, non-blank string field; records a field error otherwise.
fn required_text(
    body: &Body,
    field: &'static str,
    errors: &mut Vec<(&'static str, &'static str)>,
) -> Option<String> {
    match body.text(field) {
        Ok(Some(value)) if !value.is_empty() => Some(value),
        Ok(Some(_)) => {
            errors.push((field, "This field may not be blank."));
            None
        }
        Ok(None) => {
            errors.push((field, "This field is required."));
            None
        }
        Err(message) => {
            errors.push((field, message));
            None
        }
    }
}

/// Reads one boolean field from a JSON or form body; `Ok(None)` when absent
/// (an empty body counts as absent).
fn read_bool_field(req: &Incoming<'_>, field: &str) -> Result<Option<bool>, Outgoing> {
    parse_body(req)?
        .flag(field)
        .map_err(|message| Outgoing::validation(&[(field, message)]))
}

/// A query string's parameters; the first occurrence of a name wins.
struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    fn parse(query: Option<&str>) -> Self {
        QueryParams(
            query
                .map(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(state: &mut State, method: &str, path: &str, key: &str) -> Outgoing {
        call_query(state, method, path, None, key)
    }

    fn call_query(
        state: &mut State,
        method: &str,
        path: &str,
        query: Option<&str>,
        key: &str,
    ) -> Outgoing {
        state.handle(&Incoming {
            method,
            path,
            query,
            authorization: Some(&format!("Token {key}")),
            content_type: None,
            body: b"",
        })
    }

    #[test]
    fn timestamps_have_microseconds_and_offset() {
        let at = time::macros::datetime!(2021-05-28 10:37:51.433760 UTC);
        assert_eq!(timestamp(at), "2021-05-28T10:37:51.433760+00:00");
    }

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
    fn unknown_routes_are_404_before_authentication() {
        let mut state = State::new();
        for path in [
            "/",
            "/v1/",
            "/v1/tokens",
            "/v1/tokens/1",
            "/v1/tokens/1/x/",
            "/v1/tokens//",
            "/v1/streams/tokens//",
            "/v1/spaces//tokens/",
            "/v1/whoami/x/",
        ] {
            let answer = call(&mut state, "GET", path, "nobody");
            assert_eq!(answer.status, 404, "{path}");
        }
    }

    #[test]
    fn wrong_method_is_405_after_authentication() {
        let mut state = State::new();
        let root = state.add_account();
        assert_eq!(call(&mut state, "PUT", "/v1/tokens/", &root).status, 405);
        assert_eq!(call(&mut state, "POST", "/v1/tokens/1/", &root).status, 405);
        assert_eq!(call(&mut state, "POST", "/v1/whoami/", &root).status, 405);
        assert_eq!(
            call(&mut state, "PUT", "/v1/tokens/", "unknown").status,
            401
        );
        // Login needs no token, so a wrong method is 405 at once.
        assert_eq!(call(&mut state, "GET", "/v1/auth/token/", "x").status, 405);
    }

    #[test]
    fn route_match_captures_one_segment() {
        assert_eq!(route_match("/v1/tokens/", "/v1/tokens/"), Some(None));
        assert_eq!(
            route_match("/v1/tokens/{}/", "/v1/tokens/7/"),
            Some(Some("7"))
        );
        assert_eq!(route_match("/v1/tokens/{}/", "/v1/tokens/"), None);
        assert_eq!(route_match("/v1/tokens/", "/v1/tokens/7/"), None);
        assert_eq!(route_match("/v1/tokens/", "/v1/tokens"), None);
    }

    #[test]
    fn a_page_looks_at_a_page_of_tokens_only() {
        let mut state = State::new();
        let root = state.add_account();
        assert!(state.add_temporary_tokens(&root, 200_000));
        let answer = call_query(
            &mut state,
            "GET",
            "/v1/tokens/",
            Some("limit=100&offset=150000&permanent=false"),
            &root,
        );
        assert_eq!(answer.status, 200);
        let ids: Vec<u64> = answer
            .body
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_u64().unwrap())
            .collect();
        // Ids 2..=200_001 are the temporary tokens; newest first.
        let expected: Vec<u64> = (1..=100).map(|i| 200_001 - 150_000 - i + 1).collect();
        assert_eq!(ids, expected);
        assert_eq!(state.looked_at.get(), 100);
    }

    #[test]
    fn delete_list_by_filter_keeps_the_rest_in_order() {
        let mut state = State::new();
        let root = state.add_account();
        assert!(state.add_temporary_tokens(&root, 3));
        let answer = call_query(
            &mut state,
            "DELETE",
            "/v1/tokens/",
            Some("permanent=false"),
            &root,
        );
        assert_eq!(answer.status, 204);
        let answer = call(&mut state, "GET", "/v1/tokens/", &root);
        assert_eq!(answer.body.unwrap().as_array().unwrap().len(), 1);
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
