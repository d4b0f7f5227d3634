//! The simulator's space handlers: `/v1/spaces/`, `/v1/lists/spaces/` and
//! space tokens.
//!
//! The rules, where the real service is not documented:
//!
//! - Spaces belong to an account; an account never sees another's (404).
//! - A name is 1..=255 characters once trimmed of surrounding whitespace, and
//!   is stored trimmed; a name already used by another space of the account
//!   (compared exactly) is a 400 with a field error on `name`.
//! - A name with a character that is not shown as itself is a 400 with a
//!   field error on `name` that names the character and where it is: control
//!   characters (U+0000..U+001F, U+007F..U+009F), bidirectional controls
//!   (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069), and other
//!   invisible characters (zero width U+200B..U+200D, U+2060..U+2064,
//!   U+FEFF, soft hyphen U+00AD, U+180E, the Hangul fillers U+115F, U+1160,
//!   U+3164, U+FFA0, the line and paragraph separators U+2028, U+2029, and
//!   the tag characters U+E0000..U+E007F): such a name can pass for
//!   another, or reorder the text around it in a terminal.
//! - Lists are newest first; `q` keeps the spaces whose name contains it,
//!   ignoring case; `limit`/`offset` are validated as for tokens.
//! - Deleting a space deletes its tokens and stream tokens; the account's
//!   default space cannot be deleted (400).
//! - A space token may read its own space (`get`, and lists show only it);
//!   creating, renaming, deleting and any other space's id answer 403.

use serde_json::{Value, json};

use super::route::{Call, Handler, Route};
use super::store::{Caller, Scope, Space, State, TokenSet};
use super::wire::{Outgoing, Paging, QueryParams, not_found, parse_body};

/// The longest space name, in characters.
const MAX_NAME_CHARS: usize = 255;

/// Whether `c` may not be in a space name: a control character, a
/// bidirectional control, or a character shown as nothing.
fn hidden_in_names(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// The space routes.
pub(super) const ROUTES: &[Route] = &[
    Route {
        pattern: "/v1/spaces/",
        collection: TokenSet::Api,
        methods: &[
            ("POST", Handler::Authenticated(State::create_space)),
            ("GET", Handler::Authenticated(State::list_spaces)),
        ],
    },
    Route {
        pattern: "/v1/spaces/{}/",
        collection: TokenSet::Api,
        methods: &[
            ("GET", Handler::Authenticated(State::get_space)),
            ("PATCH", Handler::Authenticated(State::update_space)),
            ("DELETE", Handler::Authenticated(State::delete_space)),
        ],
    },
    Route {
        pattern: "/v1/lists/spaces/",
        collection: TokenSet::Api,
        methods: &[("GET", Handler::Authenticated(State::full_list_spaces))],
    },
    Route {
        pattern: "/v1/spaces/{}/tokens/",
        collection: TokenSet::Api,
        methods: &[("POST", Handler::Authenticated(State::create_space_token))],
    },
];

fn forbidden(what: &str) -> Outgoing {
    Outgoing::error(
        403,
        &format!("You do not have permission to perform this action: {what}."),
    )
}

fn space_json(id: u64, space: &Space) -> Value {
    json!({"id": id, "name": space.name})
}

impl State {
    /// The caller's space with the id in the path: `Err` is the answer
    /// (403 for a space token naming another space, 404 when the account has
    /// no such space).
    fn caller_space(&self, call: &Call<'_>, caller: Caller) -> Result<u64, Outgoing> {
        let id = call.segment.and_then(|s| s.parse::<u64>().ok());
        if let Some(own) = caller.space {
            return match id {
                Some(id) if id == own => Ok(id),
                _ => Err(forbidden("a space token reaches only its own space")),
            };
        }
        id.filter(|id| {
            self.spaces
                .get(id)
                .is_some_and(|s| s.account == caller.account)
        })
        .ok_or_else(not_found)
    }

    /// The space with the id in the path, for a change only an account
    /// token may make (`doing`, as in "rename spaces"): `Err` is the answer.
    fn space_to_change(
        &self,
        call: &Call<'_>,
        caller: Caller,
        doing: &str,
    ) -> Result<u64, Outgoing> {
        if caller.space.is_some() {
            return Err(forbidden(&format!("only an account token can {doing}")));
        }
        self.caller_space(call, caller)
    }

    /// The name in the body, trimmed and checked: `Err` is the 400.
    /// `renaming` is the space being renamed, which may keep its name.
    fn space_name(
        &self,
        call: &Call<'_>,
        caller: Caller,
        renaming: Option<u64>,
    ) -> Result<String, Outgoing> {
        let body = parse_body(call.req)?;
        let invalid = |message: &str| Outgoing::validation(&[("name", message)]);
        let name = match body.text("name") {
            Ok(Some(name)) => name.trim().to_owned(),
            Ok(None) => return Err(invalid("This field is required.")),
            Err(message) => return Err(invalid(message)),
        };
        if name.is_empty() {
            return Err(invalid("This field may not be blank."));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(
                "Ensure this field has no more than 255 characters.",
            ));
        }
        if let Some((at, c)) = name.chars().enumerate().find(|(_, c)| hidden_in_names(*c)) {
            return Err(invalid(&format!(
                "Ensure this field has no control, bidirectional or invisible characters: \
                 U+{:04X} at character {}.",
                u32::from(c),
                at + 1
            )));
        }
        let taken = self
            .spaces
            .iter()
            .any(|(id, s)| s.account == caller.account && s.name == name && Some(*id) != renaming);
        if taken {
            return Err(invalid("A space with this name already exists."));
        }
        Ok(name)
    }

    /// The caller's spaces, newest first, whose name contains `q` (any case).
    fn visible_spaces<'s>(
        &'s self,
        caller: Caller,
        q: Option<&str>,
    ) -> impl Iterator<Item = Value> + 's {
        let q = q.map(str::to_lowercase).filter(|q| !q.is_empty());
        self.spaces
            .iter()
            .rev()
            .filter(move |(id, s)| {
                s.account == caller.account && caller.space.is_none_or(|own| own == **id)
            })
            .filter(move |(_, s)| {
                q.as_deref()
                    .is_none_or(|q| s.name.to_lowercase().contains(q))
            })
            .map(|(id, s)| space_json(*id, s))
    }

    pub(super) fn create_space(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        if caller.space.is_some() {
            return forbidden("only an account token can create spaces");
        }
        let name = match self.space_name(call, caller, None) {
            Ok(name) => name,
            Err(answer) => return answer,
        };
        let id = self.insert_space(caller.account, &name);
        match self.spaces.get(&id) {
            Some(space) => Outgoing::json(201, space_json(id, space)),
            None => not_found(),
        }
    }

    pub(super) fn list_spaces(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        let params = QueryParams::parse(call.req.query);
        let mut errors = Vec::new();
        let paging = Paging::read(&params, &mut errors);
        if !errors.is_empty() {
            return Outgoing::validation(&errors);
        }
        let page: Vec<Value> = self
            .visible_spaces(caller, params.get("q"))
            .skip(paging.offset)
            .take(paging.limit)
            .collect();
        Outgoing::json(200, Value::Array(page))
    }

    pub(super) fn full_list_spaces(&mut self, _call: &Call<'_>, caller: Caller) -> Outgoing {
        Outgoing::json(
            200,
            Value::Array(self.visible_spaces(caller, None).collect()),
        )
    }

    pub(super) fn get_space(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        let id = match self.caller_space(call, caller) {
            Ok(id) => id,
            Err(answer) => return answer,
        };
        match self.spaces.get(&id) {
            Some(space) => Outgoing::json(200, space_json(id, space)),
            None => not_found(),
        }
    }

    pub(super) fn update_space(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        let id = match self.space_to_change(call, caller, "rename spaces") {
            Ok(id) => id,
            Err(answer) => return answer,
        };
        let name = match self.space_name(call, caller, Some(id)) {
            Ok(name) => name,
            Err(answer) => return answer,
        };
        match self.spaces.get_mut(&id) {
            Some(space) => {
                space.name = name;
                Outgoing::json(200, space_json(id, space))
            }
            None => not_found(),
        }
    }

    pub(super) fn delete_space(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        let id = match self.space_to_change(call, caller, "delete spaces") {
            Ok(id) => id,
            Err(answer) => return answer,
        };
        let default = self.accounts.get(&caller.account).map(|a| a.default_space);
        if default == Some(id) {
            return Outgoing::error(400, "The default space of an account cannot be deleted.");
        }
        for collection in [TokenSet::Api, TokenSet::Stream] {
            let scope = Scope {
                collection,
                account: caller.account,
                space: Some(id),
            };
            self.remove_all(scope, None);
            self.scopes.remove(&scope);
        }
        self.spaces.remove(&id);
        Outgoing::no_content()
    }

    pub(super) fn create_space_token(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
        let space = match self.space_to_change(call, caller, "create space tokens") {
            Ok(id) => id,
            Err(answer) => return answer,
        };
        let scope = Scope {
            collection: TokenSet::Api,
            account: caller.account,
            space: Some(space),
        };
        self.create_in(scope, call.req)
    }
}

#[cfg(test)]
mod tests {
    use super::super::wire::Incoming;
    use super::*;

    fn post(state: &mut State, path: &str, key: &str, body: &str) -> Value {
        let answer = state.handle(&Incoming {
            method: "POST",
            path,
            query: None,
            authorization: Some(&format!("Token {key}")),
            content_type: Some("application/json"),
            body: body.as_bytes(),
        });
        assert_eq!(answer.status, 201, "{path}: {:?}", answer.body);
        answer.body.unwrap_or_default()
    }

    #[test]
    fn deleting_a_space_deletes_its_tokens_and_stream_tokens() {
        let mut state = State::new();
        let root = state.add_account();
        let space = post(&mut state, "/v1/spaces/", &root, r#"{"name":"Lab"}"#)["id"]
            .as_u64()
            .unwrap();
        let path = format!("/v1/spaces/{space}/tokens/");
        let space_key = post(&mut state, &path, &root, "{}")["key"]
            .as_str()
            .unwrap()
            .to_owned();
        post(&mut state, "/v1/tokens/", &space_key, "{}");
        post(&mut state, "/v1/streams/tokens/", &space_key, "{}");
        assert_eq!(state.tokens.len(), 4);

        let answer = super::super::route::testing::call(
            &mut state,
            "DELETE",
            &format!("/v1/spaces/{space}/"),
            &root,
        );

        assert_eq!(answer.status, 204);
        assert_eq!(state.tokens.len(), 1);
        assert_eq!(state.by_key.len(), 1);
        assert!(state.by_key.contains_key(&root));
        assert!(state.scopes.keys().all(|scope| scope.space.is_none()));
    }
}
