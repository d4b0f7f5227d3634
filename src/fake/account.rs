//! The simulator's account handlers: logging in, changing the password,
//! who am I.

use serde_json::json;

use super::route::{Call, Handler, Route};
use super::store::{Caller, Scope, State, TokenSet};
use super::wire::{Outgoing, not_found, parse_body, required_text};

/// The account routes: log in, change the password, who am I.
pub(super) const ROUTES: &[Route] = &[
    Route {
        pattern: "/v1/auth/token/",
        collection: TokenSet::Api,
        methods: &[("POST", Handler::Public(State::login))],
    },
    Route {
        pattern: "/v1/auth/password/change/",
        collection: TokenSet::Api,
        methods: &[("POST", Handler::Authenticated(State::change_password))],
    },
    Route {
        pattern: "/v1/whoami/",
        collection: TokenSet::Api,
        methods: &[("GET", Handler::Authenticated(State::whoami))],
    },
];

impl State {
    pub(super) fn login(&mut self, call: &Call<'_>) -> Outgoing {
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
            collection: TokenSet::Api,
            account,
            space: None,
        };
        let token = self.insert(scope, false);
        Outgoing::json(
            200,
            json!({"user": {"username": username}, "token": token.to_json()}),
        )
    }

    pub(super) fn change_password(&mut self, call: &Call<'_>, caller: Caller) -> Outgoing {
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

    pub(super) fn whoami(&mut self, _call: &Call<'_>, caller: Caller) -> Outgoing {
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
}
