//! Keys that try to leave their path segment, redirects that would carry
//! the token away, and oversized answers.

use crate::support::{api_error, client};
use mockito::{Matcher, Server};
use neuroio::fake::FakeIam;
use neuroio::{Client, Error, TransportErrorKind};
use percent_encoding::percent_decode_str;
use proptest::prelude::*;

/// Gets `key` through the SDK and returns the path the simulator saw.
fn path_seen_for(
    fake: &FakeIam,
    root: &Client,
    key: &str,
) -> (String, Option<String>, neuroio::Error) {
    fake.clear_requests();
    let err = root.tokens().get(key).unwrap_err();
    let seen = fake.requests();
    assert_eq!(seen.len(), 1, "{key:?}");
    (seen[0].path.clone(), seen[0].query.clone(), err)
}

fn assert_one_segment(path: &str, key: &str) {
    let segment = path
        .strip_prefix("/v1/tokens/")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("{key:?} produced {path}"));
    assert!(!segment.contains('/'), "{key:?} produced {path}");
    assert!(
        !segment.contains('?') && !segment.contains('#'),
        "{key:?} produced {path}"
    );
    assert_eq!(
        percent_decode_str(segment).decode_utf8().unwrap(),
        key,
        "{path}"
    );
}

#[test]
fn escaping_keys_stay_in_one_segment() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    for key in [
        "../whoami",
        "a/b",
        "%2e%2e",
        "%2F",
        "?permanent=true",
        "#x",
        "ключ",
        "鍵/../..",
        " ",
        "a b\tc",
        "..%2f..",
        "\\..\\",
        "~.-_",
    ] {
        let (path, query, err) = path_seen_for(&fake, &root, key);
        assert_one_segment(&path, key);
        assert_eq!(query, None, "{key:?}");
        // The simulator looked the key up as a key: no such token.
        let api = api_error(err);
        assert_eq!(
            (api.status, api.message.as_str()),
            (404, "Not found."),
            "{key:?}"
        );
    }
}

#[test]
fn escaping_keys_cannot_delete_the_collection() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let temporary = root.tokens().create(false).unwrap();
    for key in ["?permanent=false", "../tokens", "%2e", "/"] {
        assert!(
            root.tokens().delete(key).unwrap_err().is_not_found(),
            "{key:?}"
        );
    }
    assert_eq!(root.tokens().get(temporary.id).unwrap(), temporary);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_key_round_trips_through_the_path(key in any::<String>()) {
        prop_assume!(!key.is_empty() && key != "." && key != "..");
        // All digits names a token by id, which the simulator has.
        prop_assume!(!key.bytes().all(|b| b.is_ascii_digit()));
        let fake = FakeIam::start().unwrap();
        let root = client(&fake, fake.root_token());
        let (path, query, _) = path_seen_for(&fake, &root, &key);
        assert_one_segment(&path, &key);
        prop_assert_eq!(query, None);
    }
}

#[test]
fn redirect_to_another_host_never_carries_the_token() {
    let mut api = Server::new();
    let mut elsewhere = Server::new();
    let thief = elsewhere
        .mock("GET", Matcher::Any)
        .with_status(200)
        .with_body("{}")
        .expect(0)
        .create();
    let redirect = api
        .mock("GET", "/v1/tokens/1/")
        .with_status(307)
        .with_header("location", &format!("{}/steal", elsewhere.url()))
        .expect(1)
        .create();
    let client = Client::builder()
        .api_token("secret-token")
        .iam_url(api.url())
        .build()
        .unwrap();

    let err = client.tokens().get(1).unwrap_err();

    redirect.assert();
    thief.assert(); // nothing at all reached the other host
    assert_eq!(err.status(), Some(307));
    assert!(!err.to_string().contains("secret-token"));
}

#[test]
fn oversized_answer_is_refused_at_the_default_limit() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", "/v1/tokens/")
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(vec![b' '; 5 * 1024 * 1024])
        .create();
    let client = Client::builder()
        .api_token("abcd")
        .iam_url(server.url())
        .max_retries(0)
        .build()
        .unwrap();

    let err = client.tokens().list(None, 20, 0).unwrap_err();

    mock.assert();
    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(t.kind(), TransportErrorKind::ResponseTooLarge);
    assert!(!err.is_timeout());
}
