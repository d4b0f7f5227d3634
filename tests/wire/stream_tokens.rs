//! Stream tokens: the six operations of the Tokens API on the API host,
//! under `/v1/streams/tokens/`. The operations' wire tests (create, list,
//! get, update, delete) run over both collections (`Family::ALL`); what is
//! here is only the API host's own: which host gets which collection, a
//! path prefix on the API URL, and the token sent there.

use crate::support::{API_TOKEN, PAGE, TEMPORARY, TwoHosts, assert_permanent, assert_temporary};
use mockito::Matcher;

const STREAMS: &str = "/v1/streams/tokens/";

/// A mock for a request without a body: no query unless given, no
/// content type, an empty body.
fn bodiless(hosts: &mut TwoHosts, method: &str, path: &str, query: Matcher) -> mockito::Mock {
    hosts
        .expect_api(method, path)
        .match_query(query)
        .match_header("content-type", Matcher::Missing)
        .match_body(Matcher::Exact(String::new()))
}

#[test]
fn send_tokens_to_iam_and_stream_tokens_to_api() {
    let mut hosts = TwoHosts::new();
    let iam = hosts
        .expect_iam("GET", "/v1/tokens/")
        .match_query(Matcher::Exact("limit=20&offset=0".into()))
        .with_status(200)
        .with_body(PAGE)
        .create();
    let api = hosts
        .expect_api("GET", STREAMS)
        .match_query(Matcher::Exact("limit=20&offset=0".into()))
        .with_status(200)
        .with_body("[]")
        .create();

    let tokens = hosts.client.tokens().list(None, 20, 0).unwrap();
    let streams = hosts.client.stream_tokens().list(None, 20, 0).unwrap();

    iam.assert();
    api.assert();
    assert_eq!(tokens.len(), 2);
    assert_temporary(&tokens[0]);
    assert_permanent(&tokens[1]);
    assert!(streams.is_empty());
    hosts.finish();
}

#[test]
fn keep_the_api_url_path_prefix() {
    let mut hosts = TwoHosts::with_api_prefix("/api/");
    let mock = hosts
        .expect_api("POST", "/api/v1/streams/tokens/")
        .match_query(Matcher::Missing)
        .match_header("content-type", "application/json")
        .match_body(Matcher::Exact(r#"{"permanent":false}"#.into()))
        .with_status(201)
        .with_body(TEMPORARY)
        .create();
    let get = bodiless(
        &mut hosts,
        "GET",
        "/api/v1/streams/tokens/17/",
        Matcher::Missing,
    )
    .with_status(200)
    .with_body(TEMPORARY)
    .create();

    let created = hosts.client.stream_tokens().create(false).unwrap();
    let fetched = hosts.client.stream_tokens().get(&created).unwrap();

    mock.assert();
    get.assert();
    assert_temporary(&created);
    assert_temporary(&fetched);
    assert_eq!(hosts.client.api_url(), format!("{}/api/", hosts.api.url()));
    assert_eq!(hosts.client.iam_url(), hosts.iam.url());
    hosts.finish();
}

#[test]
fn use_the_api_token_on_the_api_host() {
    // The same `Authorization: Token <api token>` goes to both hosts; a
    // request without it would miss the mock and hit the catch-all.
    let mut hosts = TwoHosts::new();
    let mock = hosts
        .expect_api("DELETE", STREAMS)
        .match_header(
            "authorization",
            Matcher::Exact(format!("Token {API_TOKEN}")),
        )
        .match_query(Matcher::Exact("permanent=false".into()))
        .with_status(204)
        .create();

    hosts
        .client
        .stream_tokens()
        .delete_list(Some(false))
        .unwrap();

    mock.assert();
    hosts.finish();
}
