//! The simulated Tokens API: accounts, tokens, authentication and routing,
//! as a pure function from a request to a response. No sockets here.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

/// How long a temporary token lives.
const TEMPORARY_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// The most permanent tokens one account may hold.
pub(crate) const PERMANENT_LIMIT: usize = 5;
const COLLECTION: &str = "/v1/tokens/";

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
}

#[derive(Clone, Debug)]
struct StoredToken {
    id: u64,
    key: String,
    account: u64,
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

/// Every account and token, and the simulator's clock.
pub(crate) struct State {
    tokens: BTreeMap<u64, StoredToken>,
    by_key: HashMap<String, u64>,
    next_id: u64,
    next_account: u64,
    /// Added to the real clock: what `advance` moves.
    clock_offset: Duration,
}

impl State {
    pub(crate) fn new() -> Self {
        State {
            tokens: BTreeMap::new(),
            by_key: HashMap::new(),
            next_id: 1,
            next_account: 1,
            clock_offset: Duration::ZERO,
        }
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.clock_offset
    }

    pub(crate) fn advance(&mut self, by: Duration) {
        self.clock_offset = self.clock_offset.saturating_add(by);
    }

    /// A new account with its permanent root token; returns the root key.
    pub(crate) fn add_account(&mut self) -> String {
        let account = self.next_account;
        self.next_account += 1;
        self.insert(account, true).key
    }

    /// Adds `count` temporary tokens to the account that `key` belongs to;
    /// false if no token has that key.
    pub(crate) fn add_temporary_tokens(&mut self, key: &str, count: usize) -> bool {
        let Some(account) = self
            .by_key
            .get(key)
            .and_then(|id| self.tokens.get(id))
            .map(|t| t.account)
        else {
            return false;
        };
        for _ in 0..count {
            self.insert(account, false);
        }
        true
    }

    fn insert(&mut self, account: u64, permanent: bool) -> StoredToken {
        let created = self.now();
        let mut key = new_key();
        while self.by_key.contains_key(&key) {
            key = new_key();
        }
        let token = StoredToken {
            id: self.next_id,
            key,
            account,
            is_active: true,
            created,
            expires: (!permanent).then(|| created + TEMPORARY_LIFETIME),
        };
        self.next_id += 1;
        self.by_key.insert(token.key.clone(), token.id);
        self.tokens.insert(token.id, token.clone());
        token
    }

    fn remove(&mut self, id: u64) {
        if let Some(token) = self.tokens.remove(&id) {
            self.by_key.remove(&token.key);
        }
    }

    /// Answers one request.
    pub(crate) fn handle(&mut self, req: &Incoming<'_>) -> Outgoing {
        let Some(rest) = req.path.strip_prefix(COLLECTION) else {
            return Outgoing::error(404, "Not found: the simulator serves /v1/tokens/ only.");
        };
        let item = match rest {
            "" => None,
            _ => match rest.strip_suffix('/') {
                Some(segment) if !segment.is_empty() && !segment.contains('/') => Some(segment),
                _ => return Outgoing::error(404, "Not found."),
            },
        };
        let account = match self.authenticate(req.authorization) {
            Ok(account) => account,
            Err(answer) => return answer,
        };
        match (item, req.method) {
            (None, "POST") => self.create(account, req),
            (None, "GET") => self.list(account, req.query),
            (None, "DELETE") => self.delete_many(account, req.query),
            (Some(segment), "GET") => match self.find(account, segment) {
                Some(id) => self.token_json(id, 200),
                None => not_found(),
            },
            (Some(segment), "PATCH") => self.update(account, segment, req),
            (Some(segment), "DELETE") => match self.find(account, segment) {
                Some(id) => {
                    self.remove(id);
                    Outgoing::no_content()
                }
                None => not_found(),
            },
            (_, method) => Outgoing::error(405, &format!("Method \"{method}\" not allowed.")),
        }
    }

    fn authenticate(&self, header: Option<&str>) -> Result<u64, Outgoing> {
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
        let Some(token) = self.by_key.get(key).and_then(|id| self.tokens.get(id)) else {
            return Err(Outgoing::error(401, "Invalid token."));
        };
        if !token.is_active {
            return Err(Outgoing::error(401, "Token is inactive."));
        }
        if token.is_expired(self.now()) {
            return Err(Outgoing::error(401, "Token has expired."));
        }
        Ok(token.account)
    }

    /// The id of the account's token named by a path segment (id or key).
    fn find(&self, account: u64, segment: &str) -> Option<u64> {
        let decoded = percent_decode_str(segment).decode_utf8().ok()?;
        let by_id = decoded
            .parse::<u64>()
            .ok()
            .filter(|id| self.tokens.get(id).is_some_and(|t| t.account == account));
        by_id.or_else(|| {
            self.by_key
                .get(decoded.as_ref())
                .copied()
                .filter(|id| self.tokens.get(id).is_some_and(|t| t.account == account))
        })
    }

    fn token_json(&self, id: u64, status: u16) -> Outgoing {
        match self.tokens.get(&id) {
            Some(token) => Outgoing::json(status, token.to_json()),
            None => not_found(),
        }
    }

    fn create(&mut self, account: u64, req: &Incoming<'_>) -> Outgoing {
        let permanent = match read_bool_field(req, "permanent") {
            Ok(value) => value.unwrap_or(false),
            Err(answer) => return answer,
        };
        if permanent {
            let held = self
                .tokens
                .values()
                .filter(|t| t.account == account && t.expires.is_none())
                .count();
            if held >= PERMANENT_LIMIT {
                return Outgoing::error(
                    400,
                    "Permanent tokens limit exceeded: an account or space may hold at most 5 \
                     permanent tokens. Delete one, or create a temporary token.",
                );
            }
        }
        let token = self.insert(account, permanent);
        Outgoing::json(201, token.to_json())
    }

    fn list(&self, account: u64, query: Option<&str>) -> Outgoing {
        let params = QueryParams::parse(query);
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
            return Outgoing::field_errors(400, "Validation error.", &errors);
        }
        let page: Vec<Value> = self
            .tokens
            .values()
            .rev() // ids grow with creation time: newest first
            .filter(|t| t.account == account)
            .filter(|t| permanent.is_none_or(|p| p == t.expires.is_none()))
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(100))
            .map(StoredToken::to_json)
            .collect();
        Outgoing::json(200, Value::Array(page))
    }

    fn update(&mut self, account: u64, segment: &str, req: &Incoming<'_>) -> Outgoing {
        let Some(id) = self.find(account, segment) else {
            return not_found();
        };
        let is_active = match read_bool_field(req, "is_active") {
            Ok(Some(value)) => value,
            Ok(None) => {
                return Outgoing::field_errors(
                    400,
                    "Validation error.",
                    &[("is_active", "This field is required.")],
                );
            }
            Err(answer) => return answer,
        };
        if let Some(token) = self.tokens.get_mut(&id) {
            token.is_active = is_active;
        }
        self.token_json(id, 200)
    }

    fn delete_many(&mut self, account: u64, query: Option<&str>) -> Outgoing {
        let params = QueryParams::parse(query);
        let permanent = match params.get("permanent").map(parse_bool) {
            None => None,
            Some(Some(p)) => Some(p),
            Some(None) => {
                return Outgoing::field_errors(
                    400,
                    "Validation error.",
                    &[("permanent", "Must be a valid boolean.")],
                );
            }
        };
        let doomed: Vec<u64> = self
            .tokens
            .values()
            .filter(|t| t.account == account)
            .filter(|t| permanent.is_none_or(|p| p == t.expires.is_none()))
            .map(|t| t.id)
            .collect();
        for id in doomed {
            self.remove(id);
        }
        Outgoing::no_content()
    }
}

fn not_found() -> Outgoing {
    Outgoing::error(404, "Not found.")
}

/// 40 random lowercase hex characters. A simulator's keys need to be unique,
/// not unguessable.
fn new_key() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..40)
        .map(|_| char::from(HEX[fastrand::usize(..HEX.len())]))
        .collect()
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw {
        "true" | "True" | "1" => Some(true),
        "false" | "False" | "0" => Some(false),
        _ => None,
    }
}

/// Reads one boolean field from a JSON or form body; `Ok(None)` when absent
/// (an empty body counts as absent).
fn read_bool_field(req: &Incoming<'_>, field: &str) -> Result<Option<bool>, Outgoing> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let media = req
        .content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    let invalid = || {
        Outgoing::field_errors(
            400,
            "Validation error.",
            &[(field, "Must be a valid boolean.")],
        )
    };
    match media.as_deref() {
        Some("application/json") => {
            let value: Value = serde_json::from_slice(req.body)
                .map_err(|e| Outgoing::error(400, &format!("JSON parse error: {e}")))?;
            let Value::Object(map) = value else {
                return Err(Outgoing::error(
                    400,
                    "Invalid data: expected a JSON object.",
                ));
            };
            match map.get(field) {
                None => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(invalid()),
            }
        }
        Some("application/x-www-form-urlencoded") => {
            match form_urlencoded::parse(req.body).find(|(k, _)| k == field) {
                None => Ok(None),
                Some((_, v)) => parse_bool(&v).map(Some).ok_or_else(invalid),
            }
        }
        _ => Err(Outgoing::error(
            400,
            "Unsupported body: send application/json or application/x-www-form-urlencoded.",
        )),
    }
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
        state.handle(&Incoming {
            method,
            path,
            query: None,
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
        let key = new_key();
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
        assert_eq!(
            call(&mut state, "PUT", "/v1/tokens/", "unknown").status,
            401
        );
    }
}
