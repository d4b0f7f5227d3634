//! The simulator as a server: bad input, raw wire forms, faults, inspection,
//! connections, shutdown and concurrency.

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{api_error, assert_error_body, client, client_without_retries, exchange, raw};
use neuroio::fake::{FakeIam, Fault};
use serde_json::json;

fn auth(fake: &FakeIam) -> String {
    format!("Token {}", fake.root_token())
}

#[test]
fn missing_authorization_header_is_401() {
    let fake = FakeIam::start().unwrap();
    let (status, body) = raw(&fake, "GET", "/v1/tokens/", &[], b"");
    assert_eq!(status, 401);
    assert_error_body(&body, 401, &[]);
    assert_eq!(
        body["message"],
        "Authentication credentials were not provided."
    );
}

#[test]
fn authorization_not_of_token_form_is_401() {
    let fake = FakeIam::start().unwrap();
    let bearer = format!("Bearer {}", fake.root_token());
    for header in [bearer.as_str(), "Token", "Token ", "token abc"] {
        let (status, body) = raw(
            &fake,
            "GET",
            "/v1/tokens/",
            &[("authorization", header)],
            b"",
        );
        assert_eq!(status, 401, "{header}");
        assert_error_body(&body, 401, &[]);
    }
}

#[test]
fn list_query_validation_names_each_bad_field() {
    let fake = FakeIam::start().unwrap();
    let auth = auth(&fake);
    for (query, fields) in [
        ("limit=abc", vec!["limit"]),
        ("limit=-1", vec!["limit"]),
        ("offset=-1", vec!["offset"]),
        ("offset=x", vec!["offset"]),
        ("permanent=maybe", vec!["permanent"]),
        (
            "limit=0&offset=-5&permanent=2",
            vec!["limit", "offset", "permanent"],
        ),
    ] {
        let (status, body) = raw(
            &fake,
            "GET",
            &format!("/v1/tokens/?{query}"),
            &[("authorization", &auth)],
            b"",
        );
        assert_eq!(status, 400, "{query}");
        assert_error_body(&body, 400, &fields);
        assert_eq!(body["message"], "Validation error.");
    }
}

#[test]
fn list_ignores_unknown_parameters_and_defaults_limit() {
    let fake = FakeIam::start().unwrap();
    let (status, body) = raw(
        &fake,
        "GET",
        "/v1/tokens/?colour=blue&page=9",
        &[("authorization", &auth(&fake))],
        b"",
    );
    assert_eq!(status, 200);
    assert_eq!(body.as_array().map(Vec::len), Some(1));
    assert_eq!(body[0]["key"], fake.root_token());
}

#[test]
fn update_accepts_json_and_form_bodies() {
    let fake = FakeIam::start().unwrap();
    let auth = auth(&fake);
    let id = client(&fake, fake.root_token())
        .tokens()
        .create(false)
        .unwrap()
        .id;
    let path = format!("/v1/tokens/{id}/");

    let (status, body) = raw(
        &fake,
        "PATCH",
        &path,
        &[
            ("authorization", &auth),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        b"is_active=false",
    );
    assert_eq!(status, 200);
    assert_eq!(body["is_active"], false);
    assert_eq!(body["id"], id);

    let (status, body) = raw(
        &fake,
        "PATCH",
        &path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json; charset=utf-8"),
        ],
        br#"{"is_active": true}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(body["is_active"], true);
}

#[test]
fn update_refuses_other_bodies() {
    let fake = FakeIam::start().unwrap();
    let auth = auth(&fake);
    let id = client(&fake, fake.root_token())
        .tokens()
        .create(false)
        .unwrap()
        .id;
    let path = format!("/v1/tokens/{id}/");
    for (content_type, body, fields) in [
        ("text/plain", &b"is_active=false"[..], vec![]),
        ("application/json", &b"{not json"[..], vec![]),
        ("application/json", &b"[true]"[..], vec![]),
        (
            "application/json",
            &br#"{"is_active": "no"}"#[..],
            vec!["is_active"],
        ),
        (
            "application/json",
            &br#"{"other": 1}"#[..],
            vec!["is_active"],
        ),
        (
            "application/x-www-form-urlencoded",
            &b"is_active=perhaps"[..],
            vec!["is_active"],
        ),
    ] {
        let (status, answer) = raw(
            &fake,
            "PATCH",
            &path,
            &[("authorization", &auth), ("content-type", content_type)],
            body,
        );
        assert_eq!(
            status,
            400,
            "{content_type} {:?}",
            String::from_utf8_lossy(body)
        );
        assert_error_body(&answer, 400, &fields);
    }
    // Nothing was changed by the refused updates.
    let (_, token) = raw(&fake, "GET", &path, &[("authorization", &auth)], b"");
    assert_eq!(token["is_active"], true);
}

#[test]
fn create_with_malformed_json_is_400() {
    let fake = FakeIam::start().unwrap();
    let (status, body) = raw(
        &fake,
        "POST",
        "/v1/tokens/",
        &[
            ("authorization", &auth(&fake)),
            ("content-type", "application/json"),
        ],
        b"{\"permanent\": tru",
    );
    assert_eq!(status, 400);
    assert_error_body(&body, 400, &[]);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error"),
        "{body}"
    );
}

#[test]
fn create_accepts_a_form_body_and_an_empty_one() {
    let fake = FakeIam::start().unwrap();
    let auth = auth(&fake);
    let (status, body) = raw(
        &fake,
        "POST",
        "/v1/tokens/",
        &[
            ("authorization", &auth),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        b"permanent=true",
    );
    assert_eq!(status, 201);
    assert_eq!(body["expires"], json!(null));
    let (status, body) = raw(
        &fake,
        "POST",
        "/v1/tokens/",
        &[("authorization", &auth)],
        b"",
    );
    assert_eq!(status, 201);
    assert!(body["expires"].is_string(), "{body}");
}

#[test]
fn unknown_routes_are_404_and_wrong_methods_405() {
    let fake = FakeIam::start().unwrap();
    let auth = auth(&fake);
    for path in [
        "/",
        "/v1/",
        "/v1/tokens",
        "/v2/tokens/",
        "/v1/tokens/1/extra/",
    ] {
        let (status, body) = raw(&fake, "GET", path, &[("authorization", &auth)], b"");
        assert_eq!(status, 404, "{path}");
        assert_error_body(&body, 404, &[]);
    }
    for (method, path) in [
        ("PUT", "/v1/tokens/"),
        ("PATCH", "/v1/tokens/"),
        ("POST", "/v1/tokens/1/"),
    ] {
        let (status, body) = raw(&fake, method, path, &[("authorization", &auth)], b"");
        assert_eq!(status, 405, "{method} {path}");
        assert_error_body(&body, 405, &[]);
    }
}

#[test]
fn oversized_body_is_413_with_error_body() {
    let fake = FakeIam::start().unwrap();
    let head = format!(
        "POST /v1/tokens/ HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        auth(&fake),
        10 * 1024 * 1024
    );
    let answer = exchange(&fake, head.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(answer.contains(r#""error_codes":[413]"#), "{answer}");
    assert!(answer.contains("Connection: close"), "{answer}");
}

#[test]
fn malformed_http_is_400_with_error_body() {
    let fake = FakeIam::start().unwrap();
    let answer = exchange(&fake, b"THIS IS NOT HTTP\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains(r#""error_codes":[400]"#), "{answer}");
}

#[test]
fn chunked_body_is_411() {
    let fake = FakeIam::start().unwrap();
    let answer = exchange(
        &fake,
        b"POST /v1/tokens/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 411 "), "{answer}");
    assert!(answer.contains(r#""error_codes":[411]"#), "{answer}");
}

#[test]
fn huge_header_is_400() {
    let fake = FakeIam::start().unwrap();
    let request = format!(
        "GET /v1/tokens/ HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(32 * 1024)
    );
    let answer = exchange(&fake, request.as_bytes());
    assert_rejected(
        &answer,
        "Request header block too large: the limit is 16 KiB",
    );
    assert!(fake.requests().is_empty());
}

/// Asserts a 400 with the API's error body, whose message starts with
/// `message`, and a closed connection.
fn assert_rejected(answer: &str, message: &str) {
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    let body: serde_json::Value =
        serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_error_body(&body, 400, &[]);
    let said = body["message"].as_str().unwrap();
    assert!(said.starts_with(message), "{said}");
}

/// A create with this `Content-Length` value and a 20-byte body, on a
/// connection closed after it.
fn create_with_length(fake: &FakeIam, length: &str) -> String {
    let request = format!(
        "POST /v1/tokens/ HTTP/1.1\r\nHost: fake\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\
         Connection: close\r\n\r\n{{\"permanent\": false}}",
        auth(fake)
    );
    exchange(fake, request.as_bytes())
}

#[test]
fn a_content_length_with_a_sign_or_a_leading_zero_is_400_and_creates_nothing() {
    let fake = FakeIam::start().unwrap();
    for length in ["+20", "020", "0020", "-20", "2_0", "0x14", "20.0", "٢٠"] {
        let answer = create_with_length(&fake, length);
        assert_rejected(
            &answer,
            "Invalid Content-Length header: it must be digits only, with no sign and no \
             leading zero.",
        );
    }
    assert!(fake.requests().is_empty(), "none reached the API");
    assert_eq!(
        client(&fake, fake.root_token())
            .tokens()
            .list(None, 20, 0)
            .unwrap()
            .len(),
        1
    );

    // The same request with a plain length creates the token.
    let answer = create_with_length(&fake, "20");
    assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"), "{answer}");
    let sent = fake.requests();
    assert_eq!(sent.len(), 2, "the create, then the list above");
    assert_eq!(sent[1].body, br#"{"permanent": false}"#);
}

#[test]
fn a_head_with_bare_lf_line_endings_is_400() {
    let fake = FakeIam::start().unwrap();
    let key = auth(&fake);
    let all_lf = format!("GET /v1/tokens/ HTTP/1.1\nHost: fake\nAuthorization: {key}\n\n");
    let one_lf = format!(
        "GET /v1/tokens/ HTTP/1.1\r\nHost: fake\nAuthorization: {key}\r\nConnection: close\r\n\r\n"
    );
    let last_lf = format!(
        "GET /v1/tokens/ HTTP/1.1\r\nHost: fake\r\nAuthorization: {key}\r\nConnection: close\r\n\n"
    );
    for request in [all_lf, one_lf, last_lf] {
        let answer = exchange(&fake, request.as_bytes());
        assert_rejected(
            &answer,
            "Malformed HTTP request: every line of the head must end with CR LF",
        );
    }
    assert!(fake.requests().is_empty());

    let crlf = format!(
        "GET /v1/tokens/ HTTP/1.1\r\nHost: fake\r\nAuthorization: {key}\r\nConnection: close\r\n\r\n"
    );
    let answer = exchange(&fake, crlf.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn a_header_block_of_16_kib_is_served_and_one_byte_more_is_400() {
    let fake = FakeIam::start().unwrap();
    // The whole head, request line to the empty line, of `size` bytes.
    let head = |size: usize| {
        let start = format!(
            "GET /v1/tokens/ HTTP/1.1\r\nAuthorization: {}\r\nConnection: close\r\nX-Pad: ",
            auth(&fake)
        );
        let pad = size - start.len() - "\r\n\r\n".len();
        let head = format!("{start}{}\r\n\r\n", "p".repeat(pad));
        assert_eq!(head.len(), size);
        head
    };

    let at_the_limit = exchange(&fake, head(16 * 1024).as_bytes());
    let over = exchange(&fake, head(16 * 1024 + 1).as_bytes());

    assert!(
        at_the_limit.starts_with("HTTP/1.1 200 OK\r\n"),
        "{at_the_limit}"
    );
    assert_rejected(&over, "Request header block too large: the limit is 16 KiB");
    assert_eq!(fake.requests().len(), 1, "only the first reached the API");
}

#[test]
fn requests_are_recorded_in_order() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());

    let created = root.tokens().create(true).unwrap();
    root.tokens().list(Some(false), 7, 3).unwrap();
    root.tokens().update(created.key.secret(), false).unwrap();

    let seen = fake.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/v1/tokens/");
    assert_eq!(seen[0].query, None);
    assert_eq!(seen[0].body, br#"{"permanent":true}"#);
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(seen[0].header("Authorization"), Some(auth(&fake).as_str()));
    assert_eq!(
        seen[0].header("user-agent"),
        Some(concat!("neuroio-rust/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(seen[1].method, "GET");
    assert_eq!(
        seen[1].query.as_deref(),
        Some("limit=7&offset=3&permanent=false")
    );
    assert!(seen[1].body.is_empty());
    assert_eq!(seen[1].header("content-type"), None);
    assert_eq!(seen[2].method, "PATCH");
    assert_eq!(
        seen[2].path,
        format!("/v1/tokens/{}/", created.key.secret())
    );
    assert_eq!(seen[2].body, br#"{"is_active":false}"#);
    // Debug of a recorded request hides the credential.
    let shown = format!("{:?}", seen[0]);
    assert!(!shown.contains(&fake.root_token()), "{shown}");

    fake.clear_requests();
    assert!(fake.requests().is_empty());
}

#[test]
fn sequential_calls_on_one_client_use_one_connection() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    for _ in 0..50 {
        root.tokens().list(None, 20, 0).unwrap();
    }
    let t = root.tokens().create(false).unwrap();
    root.tokens().update(&t, false).unwrap();
    root.tokens().delete(&t).unwrap();
    assert_eq!(fake.requests().len(), 53);
    assert_eq!(fake.connections(), 1);
}

#[test]
fn injected_status_carries_retry_after() {
    let fake = FakeIam::start().unwrap();
    let root = client_without_retries(&fake, fake.root_token());
    fake.inject(Fault::status(429).with_retry_after("3"), 1);

    let err = api_error(root.tokens().list(None, 20, 0).unwrap_err());

    assert_eq!(err.status, 429);
    assert_eq!(err.error_codes, vec![429]);
    assert_eq!(err.retry_after, Some(Duration::from_secs(3)));
    // The fault was used up: the next call is answered normally.
    assert_eq!(root.tokens().list(None, 20, 0).unwrap().len(), 1);
}

#[test]
fn injected_faults_apply_in_order_then_stop() {
    let fake = FakeIam::start().unwrap();
    let root = client_without_retries(&fake, fake.root_token());
    fake.inject(Fault::status(503), 2);
    fake.inject(Fault::status(500), 1);

    let statuses: Vec<Option<u16>> = (0..4)
        .map(|_| {
            root.tokens()
                .list(None, 20, 0)
                .err()
                .and_then(|e| e.status())
        })
        .collect();

    assert_eq!(statuses, vec![Some(503), Some(503), Some(500), None]);
    assert_eq!(fake.requests().len(), 4);
}

#[test]
fn injected_close_drops_the_connection_without_answer() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    fake.inject(Fault::Close, 1);

    let err = root.tokens().create(false).unwrap_err();

    let neuroio::Error::OutcomeUnknown { source, .. } = &err else {
        panic!("expected an open outcome, got {err:?}");
    };
    let neuroio::Error::Transport(t) = source.as_ref() else {
        panic!("expected a transport error inside, got {source:?}");
    };
    assert_eq!(t.kind(), neuroio::TransportErrorKind::Connection);
    assert_eq!(fake.requests().len(), 1);
    // The request reached the simulator but was not carried out.
    assert_eq!(root.tokens().list(None, 20, 0).unwrap().len(), 1);
}

#[test]
fn injected_delay_trips_the_client_timeout() {
    let fake = FakeIam::start().unwrap();
    let impatient = neuroio::Client::builder()
        .api_token(fake.root_token())
        .iam_url(fake.url())
        .timeout(Duration::from_millis(200))
        .max_retries(0)
        .build()
        .unwrap();
    fake.inject(Fault::Delay(Duration::from_secs(30)), 1);

    let err = impatient.tokens().get(1).unwrap_err();

    assert!(err.is_timeout(), "{err:?}");
    fake.clear_faults();
}

#[test]
fn shutdown_frees_the_port_and_is_idempotent() {
    let mut fake = FakeIam::start().unwrap();
    let addr = fake.addr();
    let root = client(&fake, fake.root_token());
    root.tokens().list(None, 20, 0).unwrap(); // leaves a kept-alive connection open

    fake.shutdown();
    fake.shutdown();

    assert!(TcpStream::connect(addr).is_err());
    assert!(root.tokens().list(None, 20, 0).is_err());
}

#[test]
fn drop_stops_a_simulator_stalled_in_a_delay() {
    let fake = FakeIam::start().unwrap();
    let addr = fake.addr();
    fake.inject(Fault::Delay(Duration::from_secs(600)), 1);
    let stalled = client(&fake, fake.root_token());
    let caller = std::thread::spawn(move || stalled.tokens().list(None, 20, 0));
    while fake.requests().is_empty() {
        std::thread::sleep(Duration::from_millis(5));
    }

    drop(fake); // must not wait out the 600 s delay

    assert!(caller.join().unwrap().is_err());
    // The port may serve the next test's simulator, never this one's.
    use std::io::{Read, Write};
    if let Ok(mut stream) = TcpStream::connect(addr) {
        stream
            .write_all(b"GET /v1/tokens/ HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 401"),
            "{answer}"
        );
    }
}

#[test]
fn eight_threads_share_one_client() {
    let fake = FakeIam::start().unwrap();
    let root = Arc::new(client(&fake, fake.root_token()));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let root = Arc::clone(&root);
            std::thread::spawn(move || {
                let tokens = root.tokens();
                let mut kept = BTreeSet::new();
                let mut calls = 0;
                while calls < 200 {
                    let t = tokens.create(false).expect("create");
                    let fetched = tokens.get(t.id).expect("get");
                    assert_eq!(fetched, t);
                    let off = tokens.update(t.key.secret(), false).expect("update");
                    assert!(!off.is_active && off.id == t.id);
                    let page = tokens.list(Some(false), 5, 0).expect("list");
                    assert!(!page.is_empty() && page.len() <= 5);
                    calls += 4;
                    if t.id.is_multiple_of(2) {
                        tokens.delete(t.id).expect("delete");
                        assert!(tokens.get(t.id).unwrap_err().is_not_found());
                        calls += 2;
                    } else {
                        kept.insert(t.id);
                    }
                }
                kept
            })
        })
        .collect();
    let mut expected: BTreeSet<u64> = BTreeSet::new();
    for thread in threads {
        expected.extend(thread.join().expect("worker thread"));
    }

    let mut listed = BTreeSet::new();
    let mut offset = 0;
    loop {
        let page = root.tokens().list(Some(false), 100, offset).unwrap();
        listed.extend(page.iter().map(|t| t.id));
        if page.len() < 100 {
            break;
        }
        offset += 100;
    }
    assert_eq!(listed, expected);
    assert!(
        fake.connections() <= 8,
        "{} connections",
        fake.connections()
    );
}
