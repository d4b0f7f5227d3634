//! What a route is: a path pattern, the collection it serves and a handler
//! per method, and what a handler is given. Each resource's handler file
//! declares its routes with these; `routes.rs` holds the table of them all.

use super::store::{Caller, Scope, State, TokenSet};
use super::wire::{Incoming, Outgoing};

/// What a handler gets: the request, the route's collection and the path
/// segment the route's `{}` matched.
pub(super) struct Call<'a> {
    pub(super) req: &'a Incoming<'a>,
    pub(super) collection: TokenSet,
    pub(super) segment: Option<&'a str>,
}

impl Call<'_> {
    /// The tokens the caller manages through this route.
    pub(super) fn scope(&self, caller: Caller) -> Scope {
        Scope {
            collection: self.collection,
            account: caller.account,
            space: caller.space,
        }
    }
}

#[derive(Clone, Copy)]
pub(super) enum Handler {
    /// Needs no `Authorization` header.
    Public(fn(&mut State, &Call<'_>) -> Outgoing),
    /// Runs only for a valid API token; the route answers 401 otherwise.
    Authenticated(fn(&mut State, &Call<'_>, Caller) -> Outgoing),
}

/// One endpoint: a path pattern (`{}` matches one non-empty segment) and
/// its handler per method.
pub(super) struct Route {
    pub(super) pattern: &'static str,
    pub(super) collection: TokenSet,
    pub(super) methods: &'static [(&'static str, Handler)],
}

/// Matches a path against a pattern: `Some(segment)` with what `{}`
/// matched (`Some(None)` for a pattern without one), `None` for no match.
pub(super) fn route_match<'p>(pattern: &str, path: &'p str) -> Option<Option<&'p str>> {
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

#[cfg(test)]
pub(super) mod testing {
    use super::*;

    pub(crate) fn call(state: &mut State, method: &str, path: &str, key: &str) -> Outgoing {
        call_query(state, method, path, None, key)
    }

    pub(crate) fn call_query(
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
