//! The "Hardening" issue: echoed secrets, very long keys, a server that
//! ignores `offset`, and `Retry-After` at both ends of its range.

use std::time::Duration;

use crate::support::{
    API_TOKEN, TEMPORARY, TwoHosts, USER_AGENT, Wire, all_text, assert_hides, assert_temporary,
    assert_untouched, catch_all,
};
use mockito::{Matcher, Server};
use neuroio::{Client, Error};
use serde_json::json;

/// A key with characters that percent-encoding changes.
const KEY: &str = "sk-live/9f8e7d6c 5b4a?x";
const KEY_ENCODED: &str = "sk-live%2F9f8e7d6c%205b4a%3Fx";

// 1. Echoed secrets.

#[test]
fn hide_the_token_quoted_by_an_html_error_page_500() {
    let mut wire = Wire::new();
    let mock = wire
        .expect("GET", "/v1/tokens/1/")
        .with_status(500)
        .with_header("content-type", "text/html")
        .with_body(format!(
            "<html><body><h1>500</h1><pre>GET /v1/tokens/1/ HTTP/1.1\r\n\
             Authorization: Token {API_TOKEN}\r\nAUTHORIZATION: TOKEN {}\r\n\
             </pre></body></html>",
            API_TOKEN.to_ascii_uppercase()
        ))
        .create();

    let err = wire.client.tokens().get(1).unwrap_err();

    mock.assert();
    assert_eq!(err.status(), Some(500));
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert!(
        api.message.starts_with("HTTP 500 with a body that is not"),
        "{api:?}"
    );
    assert!(
        api.message.contains("Authorization: Token [redacted]"),
        "{}",
        api.message
    );
    assert_hides(&err, &[API_TOKEN]);
    wire.finish();
}

#[test]
fn hide_the_key_echoed_in_a_json_error_400() {
    let mut wire = Wire::new();
    let mock = wire
        .expect("GET", format!("/v1/tokens/{KEY_ENCODED}/").as_str())
        .match_query(Matcher::Missing)
        .with_status(400)
        .with_body(
            json!({
                "error_codes": [400],
                "message": format!("No token {KEY} (path /v1/tokens/{KEY_ENCODED}/), \
                                    token {API_TOKEN}"),
                "fields": [{"name": format!("key {KEY}"),
                            "message": format!("{KEY_ENCODED} / {} is not valid",
                                               KEY_ENCODED.to_ascii_lowercase()),
                            "error_code": 400}],
            })
            .to_string(),
        )
        .create();

    let err = wire.client.tokens().get(KEY).unwrap_err();

    mock.assert();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 400);
    assert_eq!(api.error_codes, vec![400]);
    assert_eq!(
        api.message,
        "No token [redacted] (path /v1/tokens/[redacted]/), token [redacted]"
    );
    assert_eq!(api.fields.len(), 1);
    assert_eq!(api.fields[0].name, "key [redacted]");
    assert_eq!(
        api.fields[0].message,
        "[redacted] / [redacted] is not valid"
    );
    assert_eq!(api.fields[0].error_code, 400);
    assert_hides(&err, &[API_TOKEN, KEY, KEY_ENCODED, "9f8e7d6c"]);
    wire.finish();
}

#[test]
fn hide_the_key_echoed_by_a_stream_token_error_404() {
    let mut hosts = TwoHosts::new();
    let mock = hosts
        .expect_api("DELETE", format!("/v1/streams/tokens/{KEY_ENCODED}/").as_str())
        .with_status(404)
        .with_body(format!(
            r#"{{"error_codes":[404],"message":"Stream token {KEY_ENCODED} not found.","fields":[]}}"#
        ))
        .create();

    let err = hosts.client.stream_tokens().delete(KEY).unwrap_err();

    mock.assert();
    assert!(err.is_not_found());
    assert_eq!(
        err.to_string(),
        "API error (HTTP 404): Stream token [redacted] not found."
    );
    assert_hides(&err, &[API_TOKEN, KEY, KEY_ENCODED]);
    hosts.finish();
}

#[test]
fn hide_the_token_in_a_malformed_success_body_200() {
    let mut wire = Wire::new();
    let mock = wire
        .expect("GET", "/v1/tokens/1/")
        .with_status(200)
        .with_body(format!(
            r#"{{"id": 1, "note": "echo Token {API_TOKEN}", "is_active": "#
        ))
        .create();

    let err = wire.client.tokens().get(1).unwrap_err();

    mock.assert();
    let Error::UnexpectedResponse {
        status, excerpt, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 200);
    assert_eq!(
        excerpt,
        r#"{"id": 1, "note": "echo Token [redacted]", "is_active": "#
    );
    assert_hides(&err, &[API_TOKEN]);
    wire.finish();
}

/// The JSON error, kept as the source, quotes the offending value: the
/// API token or the key must not reach it either.
#[test]
fn hide_the_token_in_a_wrong_shaped_success_body_200() {
    let mut wire = Wire::new();
    let mock = wire
        .expect("GET", format!("/v1/tokens/{KEY_ENCODED}/").as_str())
        .with_status(200)
        .with_body(format!(r#"{{"id": "{API_TOKEN}", "alias": "{KEY}"}}"#))
        .create();

    let err = wire.client.tokens().get(KEY).unwrap_err();

    mock.assert();
    assert!(
        matches!(err, Error::UnexpectedResponse { status: 200, .. }),
        "{err:?}"
    );
    assert_hides(&err, &[API_TOKEN, KEY]);
    // The parse error is still the source, scrubbed, with its position.
    let decode = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<Box<neuroio::DecodeError>>())
        .expect("the parse error as source");
    assert!(decode.to_string().contains("[redacted]"), "{decode}");
    assert_eq!(decode.line(), 1);
    wire.finish();
}

#[test]
fn hide_the_token_in_a_wrong_shaped_create_answer_201() {
    let mut hosts = TwoHosts::new();
    let mock = hosts
        .expect_api("POST", "/v1/streams/tokens/")
        .with_status(201)
        .with_body(format!(r#"{{"id": "{API_TOKEN}", "key": 7}}"#))
        .create();

    let err = hosts.client.stream_tokens().create(false).unwrap_err();

    mock.assert();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_hides(&err, &[API_TOKEN]);
    hosts.finish();
}

/// A mock of a login as `ada` with `password`; add the answer.
fn login_as_ada(server: &mut Server, password: &str) -> mockito::Mock {
    server
        .mock("POST", "/v1/auth/token/")
        .match_header("authorization", Matcher::Missing)
        .match_header("user-agent", USER_AGENT)
        .match_body(Matcher::Json(
            json!({"username": "ada", "password": password}),
        ))
}

#[test]
fn hide_the_password_echoed_by_a_failed_login() {
    let password = "Tr0ub4dor&3-secret";
    let mut server = Server::new();
    let unexpected = catch_all(&mut server);
    let mock = login_as_ada(&mut server, password)
        .with_status(400)
        .with_body(
            json!({
                "error_codes": [602],
                "message": format!("Username and password do not match: ada/{password}"),
                "fields": [{"name": "password", "message": format!("{password} is wrong"),
                            "error_code": 602}],
            })
            .to_string(),
        )
        .expect(1)
        .create();

    let err = Client::builder()
        .iam_url(server.url())
        .login("ada", password)
        .unwrap_err();

    mock.assert();
    assert!(err.is_login_failed(), "{err:?}");
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        api.message,
        "Username and password do not match: ada/[redacted]"
    );
    assert_eq!(api.fields[0].message, "[redacted] is wrong");
    // The password in its percent-encoded form (`&` becomes `%26`) too.
    assert_hides(&err, &[password, "Tr0ub4dor%263-secret"]);
    assert_untouched(&unexpected);
}

#[test]
fn hide_both_passwords_echoed_by_change_password() {
    let (old, new) = ("old-pa55word", "new-pa55word");
    let mut wire = Wire::new();
    let mock = wire
        .expect("POST", "/v1/auth/password/change/")
        .with_status(500)
        .with_body(format!(
            "<pre>old_password={old}&password={new}&password2={new} Token {API_TOKEN}</pre>"
        ))
        .create();

    let err = wire
        .client
        .auth()
        .change_password(old, new, false)
        .unwrap_err();

    mock.assert();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_hides(&err, &[old, new, API_TOKEN]);
    // Nothing of a body is quoted when the request carried a password.
    assert!(
        all_text(&err).contains("[not shown: the request carried a password]"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("try logging in with the new password before trying again"),
        "{err}"
    );
    wire.finish();
}

// 4. A very long key.

#[test]
fn refuse_a_very_long_key_without_sending() {
    let wire = Wire::new();
    let key = "k".repeat(100_000);
    for err in [
        wire.client.tokens().get(key.as_str()).unwrap_err(),
        wire.client.tokens().update(key.as_str(), true).unwrap_err(),
        wire.client.tokens().delete(key.as_str()).unwrap_err(),
        wire.client.stream_tokens().get(key.as_str()).unwrap_err(),
    ] {
        let Error::InvalidTokenRef(why) = &err else {
            panic!("{err:?}")
        };
        assert!(why.contains("too long"), "{why}");
        assert!(!all_text(&err).contains("kkkk"), "{err:?}");
    }
    wire.finish();
}

// 5. A server that ignores `offset`.

/// 100 distinct tokens, ids 1000..1100.
fn full_page() -> String {
    let tokens: Vec<serde_json::Value> = (1000..1100)
        .map(|id| {
            json!({"id": id, "key": format!("{id:040}"), "is_active": true,
                   "created": "2021-05-28T10:37:51.433760+00:00", "expires": null})
        })
        .collect();
    serde_json::to_string(&tokens).unwrap()
}

fn assert_stuck(err: &Error) {
    let Error::UnexpectedResponse { status, reason, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 200);
    assert!(reason.contains("seems to ignore `offset`"), "{reason}");
    assert!(err.to_string().contains("ignore `offset`"), "{err}");
}

/// Walks `tokens` with `iter` (or `list_all`): 100 tokens, then the error,
/// then nothing; `mock` expects exactly three requests (the second page
/// repeats the first, and the first is unchanged when asked again).
fn walk(tokens: neuroio::Tokens<'_>, with_iter: bool, mock: &mockito::Mock) {
    if with_iter {
        let mut walk = tokens.iter(None);
        let ids: Vec<u64> = walk.by_ref().take(100).map(|t| t.unwrap().id).collect();
        assert_eq!(ids, (1000..1100).collect::<Vec<u64>>());
        let err = walk
            .next()
            .expect("an error after the repeated page")
            .unwrap_err();
        assert_stuck(&err);
        assert!(walk.next().is_none());
        assert!(walk.next().is_none());
    } else {
        let err = tokens.list_all(None).unwrap_err();
        assert_stuck(&err);
    }
    mock.assert();
}

fn ignored_offset_on_iam(with_iter: bool) {
    let mut wire = Wire::new();
    let mock = wire
        .expect("GET", "/v1/tokens/")
        .match_query(Matcher::Regex("^limit=100&offset=(0|99)$".into()))
        .with_status(200)
        .with_body(full_page())
        .expect(3)
        .create();

    walk(wire.client.tokens(), with_iter, &mock);
    wire.finish();
}

fn ignored_offset_on_api(with_iter: bool) {
    let mut hosts = TwoHosts::new();
    let mock = hosts
        .expect_api("GET", "/v1/streams/tokens/")
        .match_query(Matcher::Regex("^limit=100&offset=(0|99)$".into()))
        .with_status(200)
        .with_body(full_page())
        .expect(3)
        .create();

    walk(hosts.client.stream_tokens(), with_iter, &mock);
    hosts.finish();
}

#[test]
fn stop_iterating_tokens_when_offset_is_ignored() {
    ignored_offset_on_iam(true);
}

#[test]
fn stop_list_all_tokens_when_offset_is_ignored() {
    ignored_offset_on_iam(false);
}

#[test]
fn stop_iterating_stream_tokens_when_offset_is_ignored() {
    ignored_offset_on_api(true);
}

#[test]
fn stop_list_all_stream_tokens_when_offset_is_ignored() {
    ignored_offset_on_api(false);
}

#[test]
fn ask_for_offset_0_then_99_then_0_again() {
    let mut wire = Wire::new();
    let first = wire
        .expect("GET", "/v1/tokens/")
        .match_query(Matcher::Exact("limit=100&offset=0&permanent=false".into()))
        .with_status(200)
        .with_body(full_page())
        .expect(2)
        .create();
    let second = wire
        .expect("GET", "/v1/tokens/")
        .match_query(Matcher::Exact("limit=100&offset=99&permanent=false".into()))
        .with_status(200)
        .with_body(full_page())
        .create();

    let err = wire.client.tokens().list_all(Some(false)).unwrap_err();

    first.assert();
    second.assert();
    assert_stuck(&err);
    wire.finish();
}

// 5b. A server that sends new items forever.

fn assert_too_many(err: &Error, operation: &str, max: u64) {
    let Error::UnexpectedResponse { status, reason, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 200);
    assert_eq!(
        reason,
        &format!(
            "{operation}: the list goes on past {max} items, the most one walk yields: the \
             server may keep sending new items; the walk was stopped (narrow the list with a \
             filter, or raise the bound with PageIter::max_items)"
        )
    );
}

#[test]
fn a_walk_of_new_pages_forever_stops_at_max_items() {
    let mut wire = Wire::new();
    let mock = crate::support::endless_pages(&mut wire.server, "/v1/tokens/")
        .match_header("authorization", format!("Token {API_TOKEN}").as_str())
        .expect(3)
        .create();

    let mut walk = wire.client.tokens().iter(None).max_items(250);
    let ids: Vec<u64> = walk.by_ref().take(250).map(|t| t.unwrap().id).collect();
    let err = walk.next().expect("an error after 250 items").unwrap_err();

    assert_eq!(ids, (1..=250).collect::<Vec<u64>>());
    assert_too_many(&err, "tokens.list", 250);
    assert!(walk.next().is_none());
    assert!(walk.next().is_none());
    // Pages at offsets 0, 99 and 198 (each after the first starts at the
    // last item of the one before): the third holds item 251.
    mock.assert();
    wire.finish();
}

#[test]
fn a_list_of_exactly_max_items_ends_without_error() {
    let mut wire = Wire::new();
    let pages = crate::support::endless_pages(&mut wire.server, "/v1/tokens/")
        .match_query(Matcher::Regex("^limit=100&offset=(0|99)$".into()))
        .expect(2)
        .create();
    // The last item of the page before, then item 200: a short page.
    let last_two: Vec<serde_json::Value> = (199..=200)
        .map(|id| {
            json!({"id": id, "key": format!("{id:040}"), "is_active": true,
                   "created": "2021-05-28T10:37:51.433760+00:00", "expires": null})
        })
        .collect();
    let end = wire
        .expect("GET", "/v1/tokens/")
        .match_query(Matcher::Exact("limit=100&offset=198".into()))
        .with_status(200)
        .with_body(serde_json::to_string(&last_two).unwrap())
        .expect(1)
        .create();

    let all: Vec<neuroio::Token> = wire
        .client
        .tokens()
        .iter(None)
        .max_items(200)
        .collect::<neuroio::Result<_>>()
        .unwrap();

    assert_eq!(all.len(), 200);
    assert_eq!(all.last().map(|t| t.id), Some(200));
    pages.assert();
    end.assert();
    wire.finish();
}

#[test]
fn a_bound_of_zero_counts_as_one_for_spaces_too() {
    let mut wire = Wire::new();
    let mock = crate::support::endless_pages(&mut wire.server, "/v1/spaces/")
        .expect(1)
        .create();

    let walk = wire.client.spaces().iter(None).max_items(0).page_size(5);
    let seen: Vec<Result<u64, Error>> = walk.map(|s| s.map(|s| s.id)).collect();

    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].as_ref().unwrap(), &1, "a bound of 0 counts as 1");
    assert_too_many(seen[1].as_ref().unwrap_err(), "spaces.list", 1);
    assert_eq!(neuroio::DEFAULT_MAX_WALK_ITEMS, 1_000_000);
    mock.assert();
    wire.finish();
}

// 6. Retry-After.

fn retrying(url: String) -> Client {
    Client::builder()
        .api_token(API_TOKEN)
        .iam_url(url)
        .max_retries(2)
        .build()
        .unwrap()
}

#[test]
fn retry_after_zero_then_succeed() {
    let mut wire = Wire::new();
    let client = retrying(wire.server.url());
    let throttled = wire
        .expect("GET", "/v1/tokens/17/")
        .with_status(429)
        .with_header("retry-after", "0")
        .with_body(r#"{"error_codes":[429],"message":"Too many requests.","fields":[]}"#)
        .create();
    let ok = wire
        .expect("GET", "/v1/tokens/17/")
        .with_status(200)
        .with_body(TEMPORARY)
        .create();
    let started = std::time::Instant::now();

    let token = client.tokens().get(17).unwrap();

    throttled.assert();
    ok.assert();
    assert_temporary(&token);
    // A hang guard only: `Retry-After: 0` must not mean a long wait.
    assert!(started.elapsed() < Duration::from_secs(10));
    wire.finish();
}

#[test]
fn fail_at_once_on_an_absurd_retry_after() {
    let mut wire = Wire::new();
    let client = retrying(wire.server.url());
    let mock = wire
        .expect("GET", "/v1/tokens/17/")
        .with_status(429)
        .with_header("retry-after", "99999999999999999999999")
        .with_body(r#"{"error_codes":[429],"message":"Too many requests.","fields":[]}"#)
        .create();

    let err = client.tokens().get(17).unwrap_err();

    mock.assert();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 429);
    assert_eq!(api.error_codes, vec![429]);
    assert_eq!(api.message, "Too many requests.");
    assert!(api.fields.is_empty());
    assert_eq!(api.retry_after, Some(Duration::MAX));
    wire.finish();
}

#[test]
fn hide_a_password_with_combining_control_and_zero_width_characters_in_a_decode_error() {
    // serde quotes the value it choked on in Rust Debug escaping
    // (`cafe\u{301}`), a form the password was not sent in.
    let password = "cafe\u{301}\u{200d}-s\u{7}ecret";
    let mut server = Server::new();
    let unexpected = catch_all(&mut server);
    let mock = login_as_ada(&mut server, password)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(json!({"user": {"username": "ada"}, "token": password}).to_string())
        .expect(1)
        .create();

    let err = Client::builder()
        .iam_url(server.url())
        .login("ada", password)
        .unwrap_err();

    mock.assert();
    assert!(err.is_outcome_unknown(), "{err:?}");
    let text = all_text(&err);
    assert!(text.contains("[redacted]"), "{text}");
    for part in ["cafe", "ecret", "\\u{301}", "\\u{200d}"] {
        assert!(!text.contains(part), "{part} in {text}");
    }
    assert_untouched(&unexpected);
}
