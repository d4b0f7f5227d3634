//! Spaces on the IAM host: every call's exact request (method, path, query,
//! headers, body) and every field of its answer, the names refused before
//! sending, and answers that are not spaces.

use crate::support::{TEMPORARY, Wire, assert_temporary};
use mockito::Matcher;
use neuroio::{Error, Space};

/// A space as a newer server might send it: a field this crate does not name.
const WAREHOUSE: &str = r#"{"id": 7, "name": "Warehouse", "cameras": 3}"#;
/// A page of two spaces, newest first.
const PAGE: &str = r#"[{"id": 9, "name": "Lab"}, {"id": 7, "name": "Warehouse", "cameras": 3}]"#;

fn assert_warehouse(space: &Space) {
    assert_eq!(space.id, 7);
    assert_eq!(space.name, "Warehouse");
    assert_eq!(space.extra.len(), 1);
    assert_eq!(space.extra["cameras"], 3);
}

fn assert_lab(space: &Space) {
    assert_eq!(space.id, 9);
    assert_eq!(space.name, "Lab");
    assert!(space.extra.is_empty());
}

/// Asserts every field of every space of [`PAGE`].
fn assert_page(spaces: &[Space]) {
    assert_eq!(spaces.len(), 2);
    assert_lab(&spaces[0]);
    assert_warehouse(&spaces[1]);
}

/// A mock for a request without a body: the given query, no content type.
fn bodiless(wire: &mut Wire, method: &str, path: &str, query: Matcher) -> mockito::Mock {
    wire.expect(method, path)
        .match_query(query)
        .match_header("content-type", Matcher::Missing)
        .match_body(Matcher::Exact(String::new()))
}

/// A mock for a request with a JSON body and no query.
fn with_json(wire: &mut Wire, method: &str, path: &str, body: &str) -> mockito::Mock {
    wire.expect(method, path)
        .match_query(Matcher::Missing)
        .match_header("content-type", "application/json")
        .match_body(Matcher::Exact(body.into()))
}

#[test]
fn create_posts_the_name_201() {
    let mut wire = Wire::new();
    let mock = with_json(&mut wire, "POST", "/v1/spaces/", r#"{"name":"Warehouse"}"#)
        .with_status(201)
        .with_body(WAREHOUSE)
        .create();

    let space = wire.client.spaces().create("Warehouse").unwrap();

    mock.assert();
    assert_warehouse(&space);
    wire.finish();
}

#[test]
fn create_sends_control_characters_as_given() {
    let mut wire = Wire::new();
    let mock = with_json(
        &mut wire,
        "POST",
        "/v1/spaces/",
        r#"{"name":" a\u001b[31mb\n "}"#,
    )
    .with_status(201)
    .with_body(r#"{"id": 8, "name": "a\u001b[31mb\n"}"#)
    .create();

    let space = wire.client.spaces().create(" a\u{1b}[31mb\n ").unwrap();

    mock.assert();
    assert_eq!(space.id, 8);
    assert_eq!(space.name, "a\u{1b}[31mb\n");
    assert!(space.extra.is_empty());
    wire.finish();
}

#[test]
fn create_and_update_refuse_bad_names_before_sending() {
    let wire = Wire::new();
    let long = "x".repeat(256);
    for name in ["", "   ", "\t\n", long.as_str()] {
        let err = wire.client.spaces().create(name).unwrap_err();
        let Error::InvalidArgument {
            operation, reason, ..
        } = &err
        else {
            panic!("expected an invalid argument, got {err:?}");
        };
        assert_eq!(*operation, "spaces.create");
        assert!(reason.starts_with("the space name is "), "{reason}");
        let err = wire.client.spaces().update(7, name).unwrap_err();
        let Error::InvalidArgument {
            operation, reason, ..
        } = &err
        else {
            panic!("expected an invalid argument, got {err:?}");
        };
        assert_eq!(*operation, "spaces.update");
        assert!(
            reason.starts_with("the new name of space 7 is "),
            "{reason}"
        );
        assert_eq!(err.status(), None);
    }
    wire.finish();
}

#[test]
fn create_takes_255_characters() {
    let mut wire = Wire::new();
    let name = format!(" {} ", "é".repeat(255));
    let mock = with_json(
        &mut wire,
        "POST",
        "/v1/spaces/",
        &serde_json::json!({ "name": name }).to_string(),
    )
    .with_status(201)
    .with_body(WAREHOUSE)
    .create();

    let space = wire.client.spaces().create(&name).unwrap();

    mock.assert();
    assert_warehouse(&space);
    wire.finish();
}

#[test]
fn create_is_sent_once_and_a_5xx_is_an_open_outcome() {
    let mut wire = Wire::new();
    let mock = with_json(&mut wire, "POST", "/v1/spaces/", r#"{"name":"Lab"}"#)
        .with_status(503)
        .with_body(r#"{"error_codes": [503], "message": "Busy.", "fields": []}"#)
        .create();
    // A client that would retry anything else.
    let client = neuroio::Client::builder()
        .api_token(crate::support::API_TOKEN)
        .iam_url(wire.server.url())
        .max_retries(3)
        .build()
        .unwrap();

    let err = client.spaces().create("Lab").unwrap_err();

    mock.assert();
    let Error::OutcomeUnknown {
        operation, source, ..
    } = &err
    else {
        panic!("expected an open outcome, got {err:?}");
    };
    assert_eq!(*operation, "spaces.create");
    assert_eq!(source.status(), Some(503));
    assert!(
        err.to_string().contains("a space may have been created"),
        "{err}"
    );
    wire.finish();
}

fn list_case(q: Option<&str>, limit: u32, offset: u32, query: &str) {
    let mut wire = Wire::new();
    let mock = bodiless(
        &mut wire,
        "GET",
        "/v1/spaces/",
        Matcher::Exact(query.into()),
    )
    .with_status(200)
    .with_body(PAGE)
    .create();

    let page = wire.client.spaces().list(q, limit, offset).unwrap();

    mock.assert();
    assert_page(&page);
    wire.finish();
}

#[test]
fn list_without_q_omits_it_200() {
    list_case(None, 20, 0, "limit=20&offset=0");
}

#[test]
fn list_with_q_sends_it_last_200() {
    list_case(Some("lab"), 5, 10, "limit=5&offset=10&q=lab");
}

#[test]
fn list_encodes_q_as_one_parameter_200() {
    list_case(
        Some("a&offset=0 #/é"),
        100,
        3,
        "limit=100&offset=3&q=a%26offset%3D0%20%23%2F%C3%A9",
    );
}

#[test]
fn list_all_walks_pages_until_a_short_one() {
    let mut wire = Wire::new();
    let first = bodiless(
        &mut wire,
        "GET",
        "/v1/spaces/",
        Matcher::Exact("limit=2&offset=0&q=a".into()),
    )
    .with_status(200)
    .with_body(PAGE)
    .create();
    let second = bodiless(
        &mut wire,
        "GET",
        "/v1/spaces/",
        Matcher::Exact("limit=2&offset=1&q=a".into()),
    )
    .with_status(200)
    // Starts again at the last space of the first page: nothing shifted.
    .with_body(r#"[{"id": 7, "name": "Warehouse", "cameras": 3}, {"id": 2, "name": "default"}]"#)
    .create();
    let third = bodiless(
        &mut wire,
        "GET",
        "/v1/spaces/",
        Matcher::Exact("limit=2&offset=2&q=a".into()),
    )
    .with_status(200)
    .with_body(r#"[{"id": 2, "name": "default"}]"#)
    .create();

    let spaces: Vec<Space> = wire
        .client
        .spaces()
        .iter(Some("a"))
        .page_size(2)
        .collect::<neuroio::Result<_>>()
        .unwrap();

    first.assert();
    second.assert();
    third.assert();
    assert_eq!(spaces.len(), 3);
    assert_lab(&spaces[0]);
    assert_warehouse(&spaces[1]);
    assert_eq!((spaces[2].id, spaces[2].name.as_str()), (2, "default"));
    wire.finish();
}

#[test]
fn list_all_uses_pages_of_100() {
    let mut wire = Wire::new();
    let mock = bodiless(
        &mut wire,
        "GET",
        "/v1/spaces/",
        Matcher::Exact("limit=100&offset=0".into()),
    )
    .with_status(200)
    .with_body(PAGE)
    .create();

    let spaces = wire.client.spaces().list_all(None).unwrap();

    mock.assert();
    assert_page(&spaces);
    wire.finish();
}

#[test]
fn list_all_stops_when_the_server_ignores_offset() {
    let mut wire = Wire::new();
    // The same full page, whatever the offset: offset 0, offset 1 (which
    // repeats the first page), and offset 0 again, unchanged.
    let mock = wire
        .expect("GET", "/v1/spaces/")
        .match_query(Matcher::Regex("^limit=2&offset=(0|1)$".into()))
        .with_status(200)
        .with_body(PAGE)
        .expect(3)
        .create();

    let err = wire
        .client
        .spaces()
        .iter(None)
        .page_size(2)
        .collect::<neuroio::Result<Vec<Space>>>()
        .unwrap_err();

    mock.assert();
    let Error::UnexpectedResponse { status, reason, .. } = &err else {
        panic!("expected an unexpected response, got {err:?}");
    };
    assert_eq!(*status, 200);
    assert!(
        reason.starts_with(
            "spaces.list: the page at offset 1 holds only items of the pages before it"
        ),
        "{reason}"
    );
    wire.finish();
}

#[test]
fn full_list_gets_every_space_200() {
    let mut wire = Wire::new();
    let mock = bodiless(&mut wire, "GET", "/v1/lists/spaces/", Matcher::Missing)
        .with_status(200)
        .with_body(PAGE)
        .create();

    let spaces = wire.client.spaces().list_unpaged().unwrap();

    mock.assert();
    assert_page(&spaces);
    wire.finish();
}

#[test]
fn get_by_id_200() {
    let mut wire = Wire::new();
    let mock = bodiless(&mut wire, "GET", "/v1/spaces/7/", Matcher::Missing)
        .with_status(200)
        .with_body(WAREHOUSE)
        .create();

    let space = wire.client.spaces().get(7).unwrap();

    mock.assert();
    assert_warehouse(&space);
    wire.finish();
}

#[test]
fn hostile_ids_reach_the_api_and_give_its_404() {
    for id in [0, u64::MAX] {
        let mut wire = Wire::new();
        let path = format!("/v1/spaces/{id}/");
        let mock = bodiless(&mut wire, "GET", &path, Matcher::Missing)
            .with_status(404)
            .with_body(r#"{"error_codes": [404], "message": "Not found.", "fields": []}"#)
            .create();

        let err = wire.client.spaces().get(id).unwrap_err();

        mock.assert();
        assert!(err.is_not_found(), "{err:?}");
        wire.finish();
    }
}

#[test]
fn an_answer_that_is_not_a_space_names_the_operation() {
    for (body, operation) in [
        (r#"{"name": "no id"}"#, "spaces.get"),
        (r#"[{"id": 7}]"#, "spaces.get"),
        ("<html>gateway</html>", "spaces.get"),
    ] {
        let mut wire = Wire::new();
        let mock = bodiless(&mut wire, "GET", "/v1/spaces/7/", Matcher::Missing)
            .with_status(200)
            .with_body(body)
            .create();

        let err = wire.client.spaces().get(7).unwrap_err();

        mock.assert();
        let Error::UnexpectedResponse { status, reason, .. } = &err else {
            panic!("expected an unexpected response, got {err:?}");
        };
        assert_eq!(*status, 200);
        assert!(
            reason.starts_with(&format!(
                "the answer to {operation} is not the expected JSON"
            )),
            "{reason}"
        );
        wire.finish();
    }
}

#[test]
fn update_patches_the_name_200() {
    let mut wire = Wire::new();
    let mock = with_json(
        &mut wire,
        "PATCH",
        "/v1/spaces/7/",
        r#"{"name":"Warehouse"}"#,
    )
    .with_status(200)
    .with_body(WAREHOUSE)
    .create();

    let space = wire.client.spaces().update(7, "Warehouse").unwrap();

    mock.assert();
    assert_warehouse(&space);
    wire.finish();
}

#[test]
fn delete_by_id_204() {
    let mut wire = Wire::new();
    let mock = bodiless(&mut wire, "DELETE", "/v1/spaces/7/", Matcher::Missing)
        .with_status(204)
        .create();

    wire.client.spaces().delete(7).unwrap();

    mock.assert();
    wire.finish();
}

/// A client for `wire` that retries, with waits of a millisecond or two.
fn retrying_client(wire: &Wire) -> neuroio::Client {
    neuroio::Client::builder()
        .api_token(crate::support::API_TOKEN)
        .iam_url(wire.server.url())
        .max_retries(2)
        .retry_backoff(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(2),
        )
        .build()
        .unwrap()
}

const NOT_FOUND: &str = r#"{"error_codes": [404], "message": "Not found.", "fields": []}"#;

#[test]
fn delete_whose_answer_was_lost_then_404_is_done() {
    let mut wire = Wire::new();
    // The first answer breaks off mid-body, as a dropped connection does:
    // the space may have been deleted by it.
    let lost = bodiless(&mut wire, "DELETE", "/v1/spaces/7/", Matcher::Missing)
        .with_status(200)
        .with_chunked_body(|w| {
            w.write_all(b"{")?;
            Err(std::io::Error::other("connection dropped"))
        })
        .expect(1)
        .create();
    let gone = bodiless(&mut wire, "DELETE", "/v1/spaces/7/", Matcher::Missing)
        .with_status(404)
        .with_body(NOT_FOUND)
        .expect(1)
        .create();

    retrying_client(&wire).spaces().delete(7).unwrap();

    lost.assert();
    gone.assert();
    wire.finish();
}

#[test]
fn delete_answered_503_then_404_is_not_found() {
    // A 503 is an answer: the server said it did nothing, so the 404 of the
    // retry means the space was not there.
    let mut wire = Wire::new();
    let busy = bodiless(&mut wire, "DELETE", "/v1/spaces/7/", Matcher::Missing)
        .with_status(503)
        .with_body(r#"{"error_codes": [503], "message": "Busy.", "fields": []}"#)
        .expect(1)
        .create();
    let gone = bodiless(&mut wire, "DELETE", "/v1/spaces/7/", Matcher::Missing)
        .with_status(404)
        .with_body(NOT_FOUND)
        .expect(1)
        .create();

    let err = retrying_client(&wire).spaces().delete(7).unwrap_err();

    busy.assert();
    gone.assert();
    assert!(err.is_not_found(), "{err:?}");
    wire.finish();
}

#[test]
fn delete_of_the_default_space_is_the_apis_400() {
    let mut wire = Wire::new();
    let mock = bodiless(&mut wire, "DELETE", "/v1/spaces/2/", Matcher::Missing)
        .with_status(400)
        .with_body(
            r#"{"error_codes": [400], "message": "The default space of an account cannot be deleted.", "fields": []}"#,
        )
        .create();

    let err = wire.client.spaces().delete(2).unwrap_err();

    mock.assert();
    let api = crate::support::api_error(err);
    assert_eq!(api.status, 400);
    assert_eq!(
        api.message,
        "The default space of an account cannot be deleted."
    );
    wire.finish();
}

#[test]
fn create_token_posts_permanent_201() {
    let mut wire = Wire::new();
    let mock = with_json(
        &mut wire,
        "POST",
        "/v1/spaces/7/tokens/",
        r#"{"permanent":false}"#,
    )
    .with_status(201)
    .with_body(TEMPORARY)
    .create();

    let token = wire.client.spaces().create_token(7, false).unwrap();

    mock.assert();
    assert_temporary(&token);
    wire.finish();
}
