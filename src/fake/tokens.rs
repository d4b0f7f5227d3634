//! The simulator's token handlers: the six operations of the Tokens API,
//! for any collection (tokens, stream tokens); the route says which.

use percent_encoding::percent_decode_str;
use serde_json::Value;

use super::route::{Call, Handler, Route};
use super::store::{Caller, PERMANENT_LIMIT, Scope, State, StoredToken, TokenSet, page};
use super::wire::{
    Incoming, Outgoing, Paging, QueryParams, not_found, parse_bool, read_bool_field,
};

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

/// The token routes: the Tokens API and the stream tokens API.
pub(super) const ROUTES: &[Route] = &[
    Route {
        pattern: "/v1/tokens/",
        collection: TokenSet::Api,
        methods: TOKEN_COLLECTION,
    },
    Route {
        pattern: "/v1/tokens/{}/",
        collection: TokenSet::Api,
        methods: TOKEN_ITEM,
    },
    Route {
        pattern: "/v1/streams/tokens/",
        collection: TokenSet::Stream,
        methods: TOKEN_COLLECTION,
    },
    Route {
        pattern: "/v1/streams/tokens/{}/",
        collection: TokenSet::Stream,
        methods: TOKEN_ITEM,
    },
];

impl State {
    /// The id of the scope's token named by a path segment (id or key).
    pub(super) fn find(&self, scope: Scope, segment: &str) -> Option<u64> {
        let decoded = percent_decode_str(segment).decode_utf8().ok()?;
        let in_scope = |id: &u64| self.tokens.get(id).is_some_and(|t| t.scope == scope);
        let by_id = decoded.parse::<u64>().ok().filter(in_scope);
        by_id.or_else(|| self.by_key.get(decoded.as_ref()).copied().filter(in_scope))
    }

    pub(super) fn token_json(&self, id: u64, status: u16) -> Outgoing {
        match self.tokens.get(&id) {
            Some(token) => Outgoing::json(status, token.to_json()),
            None => not_found(),
        }
    }

    /// Creates a token in `scope`, keeping the permanent limit.
    pub(super) fn create_in(&mut self, scope: Scope, req: &Incoming<'_>) -> Outgoing {
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

    pub(super) fn create(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        self.create_in(call.scope(caller), call.req)
    }

    pub(super) fn list(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        let params = QueryParams::parse(call.req.query);
        let mut errors: Vec<(&str, &str)> = Vec::new();
        let paging = Paging::read(&params, &mut errors);
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
        let page: Vec<Value> = page(ids, paging.offset, paging.limit)
            .filter_map(|id| self.tokens.get(&id))
            .inspect(|_| self.count_look())
            .map(StoredToken::to_json)
            .collect();
        Outgoing::json(200, Value::Array(page))
    }

    #[cfg(test)]
    pub(super) fn count_look(&self) {
        self.looked_at.set(self.looked_at.get() + 1);
    }

    #[cfg(not(test))]
    pub(super) fn count_look(&self) {}

    pub(super) fn get(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        match self.find(call.scope(caller), call.segment.unwrap_or_default()) {
            Some(id) => self.token_json(id, 200),
            None => not_found(),
        }
    }

    pub(super) fn update(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
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

    pub(super) fn delete(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        match self.find(call.scope(caller), call.segment.unwrap_or_default()) {
            Some(id) => {
                self.remove(id);
                Outgoing::no_content()
            }
            None => not_found(),
        }
    }

    pub(super) fn delete_list(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
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
}

#[cfg(test)]
mod tests {
    use super::super::route::testing::{call, call_query};
    use super::*;

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
}
