use std::time::Duration;

use crate::support::{API_TOKEN, Wire};
use neuroio::Error;

fn api_error(err: &Error) -> &neuroio::ApiError {
    match err {
        Error::Api(api) => api,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[test]
fn decode_unauthorized_401() {
    let mut wire = Wire::new();
    let mock = wire
        .expect("GET", "/v1/tokens/1/")
        .with_status(401)
        .with_body(r#"{"error_codes":[401],"message":"Invalid token.","fields":[]}"#)
        .create();

    let err = wire.client.tokens().get(1).unwrap_err();

    mock.assert();
    assert!(err.is_unauthorized());
    let api = api_error(&err);
    assert_eq!(api.status, 401);
    assert_eq!(api.error_codes, vec![401]);
    assert_eq!(api.message, "Invalid token.");
    assert!(api.fields.is_empty());
    assert_eq!(api.retry_after, None);
    wire.finish();
}

#[test]
fn keep_retry_after_seconds_429() {
    let mut wire = Wire::new();
    let mock = wire
        .expect("GET", "/v1/tokens/1/")
        .with_status(429)
        .with_header("retry-after", "17")
        .with_body(r#"{"error_codes":[429],"message":"Too many requests.","fields":[]}"#)
        .create();

    let err = wire.client.tokens().get(1).unwrap_err();

    mock.assert();
    let api = api_error(&err);
    assert_eq!(api.status, 429);
    assert_eq!(api.error_codes, vec![429]);
    assert_eq!(api.message, "Too many requests.");
    assert_eq!(api.retry_after, Some(Duration::from_secs(17)));
    assert_eq!(
        err.to_string(),
        "API error (HTTP 429): Too many requests. (retry after 17 s)"
    );
    wire.finish();
}

#[test]
fn keep_retry_after_http_date_429() {
    let mut wire = Wire::new();
    let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(90));
    let mock = wire
        .expect("GET", "/v1/tokens/1/")
        .with_status(429)
        .with_header("retry-after", &later)
        .with_body(r#"{"error_codes":[429],"message":"Slow down.","fields":[]}"#)
        .create();

    let err = wire.client.tokens().get(1).unwrap_err();

    mock.assert();
    let wait = api_error(&err).retry_after.expect("a wait");
    assert!(
        wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
        "{wait:?}"
    );
    wire.finish();
}

#[test]
fn explain_html_error_page_500() {
    let mut wire = Wire::new();
    let mock = wire
        .expect("DELETE", "/v1/tokens/5/")
        .with_status(500)
        .with_header("content-type", "text/html")
        .with_body("<html><body><h1>500 Internal Server Error</h1></body></html>")
        .create();

    let err = wire.client.tokens().delete(5).unwrap_err();

    mock.assert();
    let api = api_error(&err);
    assert_eq!(api.status, 500);
    assert!(api.error_codes.is_empty());
    assert!(api.fields.is_empty());
    assert_eq!(
        api.message,
        "HTTP 500 with a body that is not the API's JSON error: \
         \"<html><body><h1>500 Internal Server Error</h1></body></html>\""
    );
    wire.finish();
}

#[test]
fn explain_empty_bad_gateway_502() {
    let mut wire = Wire::new();
    let mock = wire
        .expect("GET", "/v1/tokens/")
        .match_query(mockito::Matcher::Any)
        .with_status(502)
        .create();

    let err = wire.client.tokens().list(None, 20, 0).unwrap_err();

    mock.assert();
    assert_eq!(err.status(), Some(502));
    assert_eq!(
        api_error(&err).message,
        "HTTP 502 with an empty body (likely from a proxy or gateway)"
    );
    wire.finish();
}

#[test]
fn report_broken_json_200_with_excerpt() {
    let mut wire = Wire::new();
    let mock = wire
        .expect("GET", "/v1/tokens/1/")
        .with_status(200)
        .with_body(r#"{"id": 1, "key": "0123456789abcdef", "is_act"#)
        .create();

    let err = wire.client.tokens().get(1).unwrap_err();

    mock.assert();
    let Error::UnexpectedResponse {
        status,
        reason,
        excerpt,
        ..
    } = &err
    else {
        panic!("expected an unexpected-response error, got {err:?}");
    };
    assert_eq!(*status, 200);
    assert!(
        reason.starts_with("the answer to tokens.get is not the expected JSON (EOF"),
        "{reason}"
    );
    // The key in the excerpt is blanked out.
    assert_eq!(excerpt, r#"{"id": 1, "key":"[redacted]", "is_act"#);
    assert!(!err.to_string().contains("0123456789abcdef"), "{err}");
    wire.finish();
}

#[test]
fn report_wrong_shape_200() {
    let mut wire = Wire::new();
    let mock = wire
        .expect("POST", "/v1/tokens/")
        .with_status(201)
        .with_body(r#"{"id": "seven", "is_active": true}"#)
        .create();

    let err = wire.client.tokens().create(false).unwrap_err();

    mock.assert();
    // The server said it created a token, so a token may exist: an open
    // outcome, whose cause is the undecodable body.
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(err.status(), Some(201));
    let Error::OutcomeUnknown { source, .. } = &err else {
        unreachable!()
    };
    let Error::UnexpectedResponse {
        status,
        reason,
        excerpt,
        ..
    } = source.as_ref()
    else {
        panic!("expected an unexpected-response cause, got {source:?}");
    };
    // The parse error is kept as the source.
    let parse = std::error::Error::source(source.as_ref()).expect("the JSON error as source");
    assert!(parse.to_string().contains("expected u64"), "{parse}");
    assert_eq!(*status, 201);
    assert!(
        reason.contains("invalid type: string \"seven\", expected u64"),
        "{reason}"
    );
    assert_eq!(excerpt, r#"{"id": "seven", "is_active": true}"#);
    wire.finish();
}

#[test]
fn report_html_success_page_for_list() {
    let mut wire = Wire::new();
    let mock = wire
        .expect("GET", "/v1/tokens/")
        .match_query(mockito::Matcher::Any)
        .with_status(200)
        .with_body("<html>captive portal</html>")
        .create();

    let err = wire.client.tokens().list(None, 20, 0).unwrap_err();

    mock.assert();
    assert_eq!(err.status(), Some(200));
    assert!(
        err.to_string().contains("<html>captive portal</html>"),
        "{err}"
    );
    wire.finish();
}

#[test]
fn not_follow_redirects() {
    let mut wire = Wire::new();
    let mock = wire
        .expect("GET", "/v1/tokens/1/")
        .with_status(302)
        .with_header("location", "http://127.0.0.1:9/steal")
        .create();

    let err = wire.client.tokens().get(1).unwrap_err();

    mock.assert();
    let Error::UnexpectedResponse { status, reason, .. } = &err else {
        panic!("expected an unexpected-response error, got {err:?}");
    };
    assert_eq!(*status, 302);
    assert!(reason.contains("redirect"), "{reason}");
    wire.finish();
}

#[test]
fn report_connection_refused_as_transport_error() {
    // Bind then drop a listener: the port is free and nothing answers there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = neuroio::Client::builder()
        .api_token(API_TOKEN)
        .iam_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();

    let err = client.tokens().get("secret-key-in-path").unwrap_err();

    let Error::Transport(t) = &err else {
        panic!("expected a transport error, got {err:?}");
    };
    assert_eq!(t.kind(), neuroio::TransportErrorKind::Connect);
    assert_eq!(t.operation(), "tokens.get");
    assert_eq!(err.status(), None);
    assert!(!err.is_timeout());
    let shown = format!("{err} {err:?}");
    assert!(
        shown.starts_with("tokens.get: could not connect"),
        "{shown}"
    );
    assert!(
        !shown.contains("secret-key-in-path") && !shown.contains(API_TOKEN),
        "{shown}"
    );
}

#[test]
fn refuse_oversized_answer() {
    let mut wire = Wire::new();
    let client = neuroio::Client::builder()
        .api_token(API_TOKEN)
        .iam_url(wire.server.url())
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let mock = wire
        .expect("GET", "/v1/tokens/")
        .match_query(mockito::Matcher::Any)
        .with_status(200)
        .with_body(format!("[{}]", " ".repeat(4096)))
        .create();

    let err = client.tokens().list(None, 20, 0).unwrap_err();

    mock.assert();
    let Error::Transport(t) = &err else {
        panic!("expected a transport error, got {err:?}");
    };
    assert_eq!(t.kind(), neuroio::TransportErrorKind::ResponseTooLarge);
    assert!(err.to_string().contains("max_response_bytes"), "{err}");
    wire.finish();
}

#[test]
fn report_oversized_create_answer_as_unknown_outcome() {
    // The server answered, so it may well have made the token: the caller
    // must list before creating again.
    let mut wire = Wire::new();
    let client = neuroio::Client::builder()
        .api_token(API_TOKEN)
        .iam_url(wire.server.url())
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let mock = wire
        .expect("POST", "/v1/tokens/")
        .with_status(201)
        .with_body(format!("{{\"pad\":\"{}\"}}", "x".repeat(4096)))
        .create();

    let err = client.tokens().create(false).unwrap_err();

    mock.assert();
    let Error::OutcomeUnknown {
        operation, source, ..
    } = &err
    else {
        panic!("expected an open outcome, got {err:?}");
    };
    assert_eq!(*operation, "tokens.create");
    let Error::Transport(t) = source.as_ref() else {
        panic!("expected a transport error inside, got {source:?}");
    };
    assert_eq!(t.kind(), neuroio::TransportErrorKind::ResponseTooLarge);
    wire.finish();
}
