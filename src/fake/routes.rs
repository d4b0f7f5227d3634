//! The simulator's routing and authentication: the table of every
//! resource's routes (each handler file declares its own, with the types
//! of `route.rs`), dispatching a request to its handler, and the check of
//! the `Authorization` header.

use super::route::{Call, Handler, Route, route_match};
use super::store::{Caller, State};
use super::wire::{Incoming, Outgoing};

impl State {
    /// Answers one request: finds the route, authenticates if the route
    /// needs it, then dispatches on the method.
    pub(crate) fn handle(&mut self, req: &Incoming<'_>) -> Outgoing {
        self.purge_expired();
        let Some((route, segment)) = ROUTE_TABLES
            .iter()
            .flat_map(|table| table.iter())
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

    pub(super) fn authenticate(&mut self, header: Option<&str>) -> Result<Caller, Outgoing> {
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
        let caller = Caller {
            account: token.scope.account,
            space: token.scope.space,
        };
        if self.spent(key) {
            return Err(Outgoing::error(401, "Invalid token."));
        }
        Ok(caller)
    }
}

/// Every endpoint the simulator serves, IAM and API paths on one address:
/// each resource's handler file declares its routes, and adding a resource
/// is adding its table here.
const ROUTE_TABLES: &[&[Route]] = &[
    super::tokens::ROUTES,
    super::account::ROUTES,
    super::spaces::ROUTES,
];

#[cfg(test)]
mod tests {
    use super::super::route::testing::call;
    use super::*;

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
}
