//! The rest of the token family in the simulator: stream tokens, login,
//! password change, who am I and space tokens (API.md, "The rest of the
//! token family"). Raw HTTP for what the SDK does not call yet.

use std::time::Duration;

use crate::support::{api_error, assert_error_body, client, json_call as call, raw};
use neuroio::fake::FakeIam;
use serde_json::{Value, json};

const JSON: (&str, &str) = ("content-type", "application/json");
const STREAMS: &str = "/v1/streams/tokens/";

fn auth(key: &str) -> String {
    format!("Token {key}")
}

fn login(fake: &FakeIam, username: &str, password: &str) -> (u16, Value) {
    let body = json!({"username": username, "password": password});
    raw(
        fake,
        "POST",
        "/v1/auth/token/",
        &[JSON],
        &serde_json::to_vec(&body).unwrap(),
    )
}

fn ids(page: &Value) -> Vec<u64> {
    page.as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect()
}

fn assert_token_object(token: &Value, permanent: bool) {
    assert!(token["id"].as_u64().is_some_and(|id| id > 0), "{token}");
    let key = token["key"].as_str().unwrap();
    assert_eq!(key.len(), 40, "{token}");
    assert_eq!(token["is_active"], true, "{token}");
    let created = time::OffsetDateTime::parse(
        token["created"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    if permanent {
        assert!(token["expires"].is_null(), "{token}");
    } else {
        let expires = time::OffsetDateTime::parse(
            token["expires"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(expires - created, time::Duration::hours(24), "{token}");
    }
}

// Stream tokens.

#[test]
fn stream_tokens_support_the_six_operations() {
    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();

    let (status, made) = call(&fake, "POST", STREAMS, &root, &json!({"permanent": false}));
    assert_eq!(status, 201, "{made}");
    assert_token_object(&made, false);
    let (status, kept) = call(&fake, "POST", STREAMS, &root, &json!({"permanent": true}));
    assert_eq!(status, 201);
    assert_token_object(&kept, true);
    let (made_id, kept_id) = (made["id"].as_u64().unwrap(), kept["id"].as_u64().unwrap());
    let made_key = made["key"].as_str().unwrap();

    // list: newest first, filtered, validated.
    let (status, page) = call(&fake, "GET", STREAMS, &root, &Value::Null);
    assert_eq!(status, 200);
    assert_eq!(ids(&page), vec![kept_id, made_id]);
    let (_, page) = call(
        &fake,
        "GET",
        &format!("{STREAMS}?permanent=false&limit=1&offset=0"),
        &root,
        &Value::Null,
    );
    assert_eq!(ids(&page), vec![made_id]);
    let (status, body) = call(
        &fake,
        "GET",
        &format!("{STREAMS}?limit=0&offset=-1"),
        &root,
        &Value::Null,
    );
    assert_eq!(status, 400);
    assert_error_body(&body, 400, &["limit", "offset"]);

    // get by id and by key.
    let (status, got) = call(
        &fake,
        "GET",
        &format!("{STREAMS}{made_id}/"),
        &root,
        &Value::Null,
    );
    assert_eq!((status, &got), (200, &made));
    let (status, got) = call(
        &fake,
        "GET",
        &format!("{STREAMS}{made_key}/"),
        &root,
        &Value::Null,
    );
    assert_eq!((status, &got), (200, &made));

    // update with JSON and with a form.
    let (status, updated) = call(
        &fake,
        "PATCH",
        &format!("{STREAMS}{made_id}/"),
        &root,
        &json!({"is_active": false}),
    );
    assert_eq!(status, 200);
    assert_eq!(updated["is_active"], false);
    let (status, updated) = raw(
        &fake,
        "PATCH",
        &format!("{STREAMS}{made_key}/"),
        &[
            ("authorization", &auth(&root)),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        b"is_active=true",
    );
    assert_eq!(status, 200);
    assert_eq!(updated["is_active"], true);

    // delete one, then delete the list.
    let (status, body) = call(
        &fake,
        "DELETE",
        &format!("{STREAMS}{made_id}/"),
        &root,
        &Value::Null,
    );
    assert_eq!((status, body), (204, Value::Null));
    let (status, _) = call(
        &fake,
        "GET",
        &format!("{STREAMS}{made_id}/"),
        &root,
        &Value::Null,
    );
    assert_eq!(status, 404);
    let (status, _) = call(&fake, "DELETE", STREAMS, &root, &Value::Null);
    assert_eq!(status, 204);
    let (_, page) = call(&fake, "GET", STREAMS, &root, &Value::Null);
    assert_eq!(ids(&page), Vec::<u64>::new());

    // The account's API tokens were never touched.
    let sdk = client(&fake, &root);
    assert_eq!(sdk.tokens().list(None, 20, 0).unwrap().len(), 1);
}

#[test]
fn stream_tokens_are_a_separate_collection_that_authenticates_nothing() {
    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();
    let (_, stream) = call(&fake, "POST", STREAMS, &root, &json!({"permanent": true}));
    let stream_id = stream["id"].as_u64().unwrap();
    let stream_key = stream["key"].as_str().unwrap();

    // Not in the API tokens, not reachable through /v1/tokens/.
    let sdk = client(&fake, &root);
    assert_eq!(sdk.tokens().list(None, 20, 0).unwrap().len(), 1);
    assert!(sdk.tokens().get(stream_id).unwrap_err().is_not_found());
    // And an API token is not reachable through the stream collection.
    let root_id = sdk.tokens().list(None, 1, 0).unwrap()[0].id;
    let (status, _) = call(
        &fake,
        "GET",
        &format!("{STREAMS}{root_id}/"),
        &root,
        &Value::Null,
    );
    assert_eq!(status, 404);

    // A stream token authenticates no call.
    for path in ["/v1/tokens/", STREAMS, "/v1/whoami/"] {
        let (status, body) = call(&fake, "GET", path, stream_key, &Value::Null);
        assert_eq!(status, 401, "{path}");
        assert_error_body(&body, 401, &[]);
    }
}

#[test]
fn stream_tokens_keep_their_own_permanent_limit_and_expire() {
    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();
    // The account's API tokens are at their limit...
    let sdk = client(&fake, &root);
    for _ in 0..4 {
        sdk.tokens().create(true).unwrap();
    }
    assert_eq!(
        api_error(sdk.tokens().create(true).unwrap_err()).status,
        400
    );
    // ...and its stream tokens still have five places.
    for _ in 0..5 {
        let (status, _) = call(&fake, "POST", STREAMS, &root, &json!({"permanent": true}));
        assert_eq!(status, 201);
    }
    let (status, body) = call(&fake, "POST", STREAMS, &root, &json!({"permanent": true}));
    assert_eq!(status, 400);
    assert_error_body(&body, 400, &[]);
    assert!(body["message"].as_str().unwrap().contains('5'), "{body}");

    // A temporary stream token expires with the clock like any other.
    let (_, temporary) = call(&fake, "POST", STREAMS, &root, &json!({"permanent": false}));
    assert_token_object(&temporary, false);
}

#[test]
fn stream_tokens_of_another_account_are_404() {
    let fake = FakeIam::start().unwrap();
    let other = fake.add_account();
    let (_, theirs) = call(&fake, "POST", STREAMS, &other, &json!({}));
    let id = theirs["id"].as_u64().unwrap();
    let key = theirs["key"].as_str().unwrap();
    let root = fake.root_token();

    for target in [id.to_string(), key.to_owned()] {
        let path = format!("{STREAMS}{target}/");
        for method in ["GET", "DELETE"] {
            let (status, body) = call(&fake, method, &path, &root, &Value::Null);
            assert_eq!(status, 404, "{method} {path}");
            assert_error_body(&body, 404, &[]);
        }
        let (status, _) = call(&fake, "PATCH", &path, &root, &json!({"is_active": false}));
        assert_eq!(status, 404);
    }
    let (status, _) = call(&fake, "DELETE", STREAMS, &root, &Value::Null);
    assert_eq!(status, 204);
    let (_, page) = call(&fake, "GET", STREAMS, &other, &Value::Null);
    assert_eq!(ids(&page), vec![id]);
}

// Login.

#[test]
fn login_returns_the_user_and_a_new_temporary_token() {
    let fake = FakeIam::start().unwrap();

    let (status, body) = login(&fake, &fake.root_username(), &fake.root_password());

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"], json!({"username": "root"}));
    assert_token_object(&body["token"], false);
    // The new token works, and belongs to the root account.
    let key = body["token"]["key"].as_str().unwrap();
    let logged_in = client(&fake, key);
    let mine = logged_in.tokens().list(None, 20, 0).unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].key, key);
}

#[test]
fn login_with_a_wrong_pair_is_602() {
    let fake = FakeIam::start().unwrap();
    fake.add_account_with_user("alice", "wonderland").unwrap();
    for (username, password) in [
        ("root", "wrong"),
        ("nobody", "wonderland"),
        ("alice", &fake.root_password()),
    ] {
        let (status, body) = login(&fake, username, password);
        assert_eq!(status, 400, "{username}");
        assert_eq!(body["error_codes"], json!([602]), "{body}");
        assert_eq!(body["message"], "Username and password do not match.");
        assert_eq!(body["fields"], json!([]));
    }
    let (status, body) = login(&fake, "alice", "wonderland");
    assert_eq!(status, 200);
    assert_eq!(body["user"]["username"], "alice");
}

#[test]
fn login_without_fields_names_them() {
    let fake = FakeIam::start().unwrap();
    for (body, fields) in [
        (json!({}), vec!["username", "password"]),
        (json!({"username": "root"}), vec!["password"]),
        (json!({"password": "x", "username": ""}), vec!["username"]),
        (json!({"username": 7, "password": "x"}), vec!["username"]),
    ] {
        let (status, answer) = raw(
            &fake,
            "POST",
            "/v1/auth/token/",
            &[JSON],
            &serde_json::to_vec(&body).unwrap(),
        );
        assert_eq!(status, 400, "{body}");
        assert_error_body(&answer, 400, &fields);
    }
    let (status, answer) = raw(&fake, "POST", "/v1/auth/token/", &[JSON], b"{not json");
    assert_eq!(status, 400);
    assert_error_body(&answer, 400, &[]);
    let (status, _) = raw(&fake, "GET", "/v1/auth/token/", &[], b"");
    assert_eq!(status, 405);
}

// Change password.

fn change(fake: &FakeIam, key: &str, body: Value) -> (u16, Value) {
    call(fake, "POST", "/v1/auth/password/change/", key, &body)
}

#[test]
fn changing_the_password_takes_effect_for_login() {
    let fake = FakeIam::start().unwrap();
    let old = fake.root_password();

    let (status, body) = change(
        &fake,
        &fake.root_token(),
        json!({"old_password": old, "password": "n3w", "password2": "n3w", "reset_tokens": false}),
    );

    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(fake.root_password(), "n3w");
    assert_eq!(login(&fake, "root", &old).0, 400);
    assert_eq!(login(&fake, "root", "n3w").0, 200);
    // Without reset_tokens the tokens stay.
    let sdk = client(&fake, fake.root_token());
    assert_eq!(sdk.tokens().list(None, 20, 0).unwrap().len(), 2);
}

#[test]
fn change_password_checks_the_old_one_and_the_repeat() {
    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();
    let old = fake.root_password();
    for (body, fields) in [
        (
            json!({"old_password": "wrong", "password": "a", "password2": "a"}),
            vec!["old_password"],
        ),
        (
            json!({"old_password": old, "password": "a", "password2": "b"}),
            vec!["password2"],
        ),
        (
            json!({"old_password": "wrong", "password": "a", "password2": "b"}),
            vec!["old_password", "password2"],
        ),
        (json!({}), vec!["old_password", "password", "password2"]),
        (
            json!({"old_password": old, "password": "a", "password2": "a", "reset_tokens": "yes"}),
            vec!["reset_tokens"],
        ),
    ] {
        let (status, answer) = change(&fake, &root, body.clone());
        assert_eq!(status, 400, "{body}");
        assert_error_body(&answer, 400, &fields);
    }
    assert_eq!(fake.root_password(), old);
    let (status, _) = raw(
        &fake,
        "POST",
        "/v1/auth/password/change/",
        &[JSON],
        br#"{"old_password":"x","password":"a","password2":"a"}"#,
    );
    assert_eq!(status, 401);
}

#[test]
fn reset_tokens_deletes_every_token_of_the_account() {
    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();
    let sdk = client(&fake, &root);
    let temporary = sdk.tokens().create(false).unwrap();
    call(&fake, "POST", STREAMS, &root, &json!({"permanent": true}));
    let space = fake.add_space(&root, "cameras").unwrap();
    let (_, space_token) = call(
        &fake,
        "POST",
        &format!("/v1/spaces/{space}/tokens/"),
        &root,
        &json!({"permanent": true}),
    );
    let space_key = space_token["key"].as_str().unwrap().to_owned();
    let other = fake.add_account();

    let (status, _) = change(
        &fake,
        temporary.key.secret(),
        json!({"old_password": fake.root_password(), "password": "p", "password2": "p", "reset_tokens": true}),
    );

    assert_eq!(status, 204);
    for key in [root.as_str(), temporary.key.secret(), space_key.as_str()] {
        let err = client(&fake, key).tokens().list(None, 20, 0).unwrap_err();
        assert!(err.is_unauthorized(), "{err:?}");
    }
    let (_, body) = login(&fake, "root", "p");
    let fresh = body["token"]["key"].as_str().unwrap();
    assert_eq!(
        client(&fake, fresh)
            .tokens()
            .list(None, 20, 0)
            .unwrap()
            .len(),
        1
    );
    let (_, streams) = call(&fake, "GET", STREAMS, fresh, &Value::Null);
    assert_eq!(ids(&streams), Vec::<u64>::new());
    // Another account is untouched.
    assert_eq!(
        client(&fake, &other)
            .tokens()
            .list(None, 20, 0)
            .unwrap()
            .len(),
        1
    );
}

// Who am I.

#[test]
fn whoami_shows_the_user_and_default_space_or_just_the_space() {
    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();

    let (status, me) = call(&fake, "GET", "/v1/whoami/", &root, &Value::Null);
    assert_eq!(status, 200);
    assert_eq!(me["username"], "root");
    assert_eq!(me["space"]["name"], "default");
    let default_space = me["space"]["id"].as_u64().unwrap();

    let space = fake.add_space(&root, "cameras").unwrap();
    assert_ne!(space, default_space);
    let (_, token) = call(
        &fake,
        "POST",
        &format!("/v1/spaces/{space}/tokens/"),
        &root,
        &json!({"permanent": false}),
    );
    let (status, me) = call(
        &fake,
        "GET",
        "/v1/whoami/",
        token["key"].as_str().unwrap(),
        &Value::Null,
    );
    assert_eq!(status, 200);
    assert_eq!(me, json!({"space": {"id": space, "name": "cameras"}}));

    let other = fake.add_account_with_user("bob", "pw").unwrap();
    let (_, them) = call(&fake, "GET", "/v1/whoami/", &other, &Value::Null);
    assert_eq!(them["username"], "bob");
    assert_ne!(them["space"]["id"], json!(default_space));
    let (status, body) = raw(&fake, "GET", "/v1/whoami/", &[], b"");
    assert_eq!(status, 401);
    assert_error_body(&body, 401, &[]);
}

// Space tokens.

#[test]
fn space_tokens_see_and_manage_only_their_space() {
    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();
    let space = fake.add_space(&root, "cameras").unwrap();
    let (status, made) = call(
        &fake,
        "POST",
        &format!("/v1/spaces/{space}/tokens/"),
        &root,
        &json!({"permanent": true}),
    );
    assert_eq!(status, 201, "{made}");
    assert_token_object(&made, true);
    let space_sdk = client(&fake, made["key"].as_str().unwrap());
    let root_sdk = client(&fake, &root);

    // The space token manages its space's tokens through /v1/tokens/.
    let second = space_sdk.tokens().create(false).unwrap();
    let seen: Vec<u64> = space_sdk
        .tokens()
        .list(None, 20, 0)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(seen, vec![second.id, made["id"].as_u64().unwrap()]);
    // The account and the space never see each other's tokens.
    let root_id = root_sdk.tokens().list(None, 20, 0).unwrap()[0].id;
    assert_eq!(root_sdk.tokens().list(None, 20, 0).unwrap().len(), 1);
    assert!(space_sdk.tokens().get(root_id).unwrap_err().is_not_found());
    assert!(
        space_sdk
            .tokens()
            .delete(root_id)
            .unwrap_err()
            .is_not_found()
    );
    assert!(root_sdk.tokens().get(second.id).unwrap_err().is_not_found());
    // delete_list from the space leaves the account's tokens alone.
    space_sdk.tokens().delete_list(Some(false)).unwrap();
    assert_eq!(space_sdk.tokens().list(None, 20, 0).unwrap().len(), 1);
    assert_eq!(root_sdk.tokens().list(None, 20, 0).unwrap().len(), 1);
}

#[test]
fn only_an_account_token_of_the_owner_creates_space_tokens() {
    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();
    let space = fake.add_space(&root, "cameras").unwrap();
    let path = format!("/v1/spaces/{space}/tokens/");
    let (_, space_token) = call(&fake, "POST", &path, &root, &json!({}));
    let space_key = space_token["key"].as_str().unwrap();

    let (status, body) = call(&fake, "POST", &path, space_key, &json!({}));
    assert_eq!(status, 403);
    assert_error_body(&body, 403, &[]);

    let other = fake.add_account();
    let (status, body) = call(&fake, "POST", &path, &other, &json!({}));
    assert_eq!(status, 404);
    assert_error_body(&body, 404, &[]);
    for unknown in ["/v1/spaces/999999/tokens/", "/v1/spaces/abc/tokens/"] {
        let (status, _) = call(&fake, "POST", unknown, &root, &json!({}));
        assert_eq!(status, 404, "{unknown}");
    }
    let (status, _) = call(&fake, "POST", &path, "nobody", &json!({}));
    assert_eq!(status, 401);
    let (status, _) = call(&fake, "GET", &path, &root, &Value::Null);
    assert_eq!(status, 405);
    let (status, body) = call(&fake, "POST", &path, &root, &json!({"permanent": "x"}));
    assert_eq!(status, 400);
    assert_error_body(&body, 400, &["permanent"]);
}

#[test]
fn the_permanent_limit_holds_per_account_and_per_space() {
    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();
    let root_sdk = client(&fake, &root);
    for _ in 0..4 {
        root_sdk.tokens().create(true).unwrap();
    }
    let space = fake.add_space(&root, "cameras").unwrap();
    let path = format!("/v1/spaces/{space}/tokens/");
    let mut space_keys = Vec::new();
    for _ in 0..5 {
        let (status, made) = call(&fake, "POST", &path, &root, &json!({"permanent": true}));
        assert_eq!(status, 201);
        space_keys.push(made["key"].as_str().unwrap().to_owned());
    }
    let (status, body) = call(&fake, "POST", &path, &root, &json!({"permanent": true}));
    assert_eq!(status, 400);
    assert_error_body(&body, 400, &[]);
    let space_sdk = client(&fake, &space_keys[0]);
    assert_eq!(
        api_error(space_sdk.tokens().create(true).unwrap_err()).status,
        400
    );
    assert_eq!(
        api_error(root_sdk.tokens().create(true).unwrap_err()).status,
        400
    );
    // Another space has its own five places.
    let second = fake.add_space(&root, "doors").unwrap();
    let (status, _) = call(
        &fake,
        "POST",
        &format!("/v1/spaces/{second}/tokens/"),
        &root,
        &json!({"permanent": true}),
    );
    assert_eq!(status, 201);
}

#[test]
fn add_space_needs_a_known_token() {
    let fake = FakeIam::start().unwrap();
    assert!(fake.add_space("unknown", "x").is_err());
    assert!(fake.add_account_with_user("root", "x").is_err());
    assert!(fake.add_account_with_user("", "x").is_err());
    assert!(fake.add_account_with_user("carol", "").is_err());
}

// The temporary lifetime.

#[test]
fn temporary_lifetime_applies_to_tokens_created_afterwards() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let day = root.tokens().create(false).unwrap();

    assert_eq!(
        fake.set_temporary_lifetime(Duration::from_secs(60)),
        Duration::from_secs(60)
    );
    let minute = root.tokens().create(false).unwrap();
    let (_, logged) = login(&fake, "root", &fake.root_password());
    let (_, stream) = call(&fake, "POST", STREAMS, &fake.root_token(), &json!({}));

    assert_eq!(
        minute.expires.unwrap() - minute.created,
        time::Duration::minutes(1)
    );
    assert_eq!(
        day.expires.unwrap() - day.created,
        time::Duration::hours(24)
    );
    for token in [&logged["token"], &stream] {
        let parse = |v: &Value| {
            time::OffsetDateTime::parse(
                v.as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        };
        assert_eq!(
            parse(&token["expires"]) - parse(&token["created"]),
            time::Duration::minutes(1)
        );
    }
    fake.advance(Duration::from_secs(61));
    let short = client(&fake, &minute.key);
    assert!(
        short
            .tokens()
            .list(None, 1, 0)
            .unwrap_err()
            .is_unauthorized()
    );
    assert!(client(&fake, &day.key).tokens().list(None, 1, 0).is_ok());
}

#[test]
fn absurd_temporary_lifetimes_are_clamped() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());

    let longest = fake.set_temporary_lifetime(Duration::MAX);
    assert!(
        longest >= Duration::from_secs(50 * 365 * 24 * 3600),
        "{longest:?}"
    );
    fake.advance(Duration::MAX);
    let token = root.tokens().create(false).unwrap();
    assert!(token.expires.unwrap() > token.created);

    let shortest = fake.set_temporary_lifetime(Duration::ZERO);
    assert!(shortest > Duration::ZERO);
}

// Secrets.

#[test]
fn passwords_never_show_in_debug_output() {
    let fake = FakeIam::start().unwrap();
    let password = fake.root_password();
    login(&fake, "root", &password);
    change(
        &fake,
        &fake.root_token(),
        json!({"old_password": password, "password": "n3w-s3cret", "password2": "n3w-s3cret"}),
    );

    let shown = format!("{fake:?} {:?} {:#?}", fake.requests(), fake.requests());

    assert_eq!(fake.requests().len(), 2);
    assert!(!shown.contains(&password), "{shown}");
    assert!(!shown.contains("n3w-s3cret"), "{shown}");
    assert!(!shown.contains(&fake.root_token()), "{shown}");
}

#[test]
fn stream_token_keys_in_paths_are_redacted_in_debug() {
    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();
    let (_, stream) = call(&fake, "POST", STREAMS, &root, &json!({}));
    let key = stream["key"].as_str().unwrap();
    call(
        &fake,
        "GET",
        &format!("{STREAMS}{key}/"),
        &root,
        &Value::Null,
    );

    let shown = format!("{:?}", fake.requests());

    assert!(!shown.contains(key), "{shown}");
    assert!(shown.contains("/v1/streams/tokens/<key>/"), "{shown}");
}
