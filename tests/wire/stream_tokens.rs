//! Stream tokens: the six operations of the Tokens API on the API host,
//! under `/v1/streams/tokens/`. Every test runs two mock servers, one per
//! host, and proves that the request reached the API server only.

use crate::support::{
    API_TOKEN, PAGE, PERMANENT, TEMPORARY, TwoHosts, assert_permanent, assert_temporary,
};
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

fn create_case(permanent: bool, body: &str, answer: &str) -> neuroio::Token {
    let mut hosts = TwoHosts::new();
    let mock = hosts
        .expect_api("POST", STREAMS)
        .match_query(Matcher::Missing)
        .match_header("content-type", "application/json")
        .match_body(Matcher::Exact(body.into()))
        .with_status(201)
        .with_body(answer)
        .create();

    let token = hosts.client.stream_tokens().create(permanent).unwrap();

    mock.assert();
    hosts.finish();
    token
}

#[test]
fn create_permanent_stream_token_201() {
    let token = create_case(true, r#"{"permanent":true}"#, PERMANENT);
    assert_permanent(&token);
}

#[test]
fn create_temporary_stream_token_201() {
    let token = create_case(false, r#"{"permanent":false}"#, TEMPORARY);
    assert_temporary(&token);
}

fn list_case(permanent: Option<bool>, limit: u32, offset: u32, query: &str) {
    let mut hosts = TwoHosts::new();
    let mock = bodiless(&mut hosts, "GET", STREAMS, Matcher::Exact(query.into()))
        .with_status(200)
        .with_body(PAGE)
        .create();

    let page = hosts
        .client
        .stream_tokens()
        .list(permanent, limit, offset)
        .unwrap();

    mock.assert();
    assert_eq!(page.len(), 2);
    assert_temporary(&page[0]);
    assert_permanent(&page[1]);
    hosts.finish();
}

#[test]
fn list_stream_tokens_without_filter_200() {
    list_case(None, 20, 0, "limit=20&offset=0");
}

#[test]
fn list_permanent_stream_tokens_200() {
    list_case(Some(true), 5, 10, "limit=5&offset=10&permanent=true");
}

#[test]
fn list_temporary_stream_tokens_200() {
    list_case(Some(false), 100, 7, "limit=100&offset=7&permanent=false");
}

#[test]
fn get_stream_token_by_id_200() {
    let mut hosts = TwoHosts::new();
    let mock = bodiless(
        &mut hosts,
        "GET",
        "/v1/streams/tokens/17/",
        Matcher::Missing,
    )
    .with_status(200)
    .with_body(TEMPORARY)
    .create();

    let token = hosts.client.stream_tokens().get(17).unwrap();

    mock.assert();
    assert_temporary(&token);
    hosts.finish();
}

#[test]
fn get_stream_token_by_key_200() {
    let mut hosts = TwoHosts::new();
    let mock = bodiless(
        &mut hosts,
        "GET",
        "/v1/streams/tokens/0123456789abcdef0123456789abcdef01234567/",
        Matcher::Missing,
    )
    .with_status(200)
    .with_body(PERMANENT)
    .create();

    let token = hosts
        .client
        .stream_tokens()
        .get("0123456789abcdef0123456789abcdef01234567")
        .unwrap();

    mock.assert();
    assert_permanent(&token);
    hosts.finish();
}

#[test]
fn get_stream_token_by_escaped_key_200() {
    let mut hosts = TwoHosts::new();
    let mock = bodiless(
        &mut hosts,
        "GET",
        "/v1/streams/tokens/a%2F..%2Fb%3Fpermanent%3Dtrue%20%23x/",
        Matcher::Missing,
    )
    .with_status(200)
    .with_body(TEMPORARY)
    .create();

    let token = hosts
        .client
        .stream_tokens()
        .get("a/../b?permanent=true #x")
        .unwrap();

    mock.assert();
    assert_temporary(&token);
    hosts.finish();
}

fn update_case(token: impl Into<neuroio::TokenRef>, path: &str, is_active: bool, body: &str) {
    let mut hosts = TwoHosts::new();
    let mock = hosts
        .expect_api("PATCH", path)
        .match_query(Matcher::Missing)
        .match_header("content-type", "application/json")
        .match_body(Matcher::Exact(body.into()))
        .with_status(200)
        .with_body(PERMANENT)
        .create();

    let updated = hosts
        .client
        .stream_tokens()
        .update(token, is_active)
        .unwrap();

    mock.assert();
    assert_permanent(&updated);
    hosts.finish();
}

#[test]
fn deactivate_stream_token_by_id_200() {
    update_case(3, "/v1/streams/tokens/3/", false, r#"{"is_active":false}"#);
}

#[test]
fn activate_stream_token_by_key_200() {
    update_case(
        "key/with space",
        "/v1/streams/tokens/key%2Fwith%20space/",
        true,
        r#"{"is_active":true}"#,
    );
}

#[test]
fn delete_stream_token_by_id_204() {
    let mut hosts = TwoHosts::new();
    let mock = bodiless(
        &mut hosts,
        "DELETE",
        "/v1/streams/tokens/17/",
        Matcher::Missing,
    )
    .with_status(204)
    .create();

    hosts.client.stream_tokens().delete(17).unwrap();

    mock.assert();
    hosts.finish();
}

#[test]
fn delete_stream_token_by_key_204() {
    let mut hosts = TwoHosts::new();
    let mock = bodiless(
        &mut hosts,
        "DELETE",
        "/v1/streams/tokens/abc%3Fd/",
        Matcher::Missing,
    )
    .with_status(204)
    .create();

    hosts.client.stream_tokens().delete("abc?d").unwrap();

    mock.assert();
    hosts.finish();
}

fn delete_list_case(permanent: Option<bool>, query: Matcher) {
    let mut hosts = TwoHosts::new();
    let mock = bodiless(&mut hosts, "DELETE", STREAMS, query)
        .with_status(204)
        .create();

    hosts.client.stream_tokens().delete_list(permanent).unwrap();

    mock.assert();
    hosts.finish();
}

#[test]
fn delete_every_stream_token_204() {
    delete_list_case(None, Matcher::Missing);
}

#[test]
fn delete_permanent_stream_tokens_204() {
    delete_list_case(Some(true), Matcher::Exact("permanent=true".into()));
}

#[test]
fn delete_temporary_stream_tokens_204() {
    delete_list_case(Some(false), Matcher::Exact("permanent=false".into()));
}

#[test]
fn report_stream_token_not_found_404() {
    let mut hosts = TwoHosts::new();
    let mock = bodiless(
        &mut hosts,
        "GET",
        "/v1/streams/tokens/99/",
        Matcher::Missing,
    )
    .with_status(404)
    .with_body(r#"{"error_codes":[404],"message":"Not found.","fields":[]}"#)
    .create();

    let err = hosts.client.stream_tokens().get(99).unwrap_err();

    mock.assert();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.to_string(), "API error (HTTP 404): Not found.");
    hosts.finish();
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
