//! The rest of the token family on the IAM host: log in, change the
//! password, who am I, space tokens.

use crate::support::{
    API_TOKEN, PERMANENT, TEMPORARY, USER_AGENT, Wire, assert_hides, assert_permanent,
    assert_temporary, assert_untouched, catch_all,
};
use mockito::{Matcher, Server};
use neuroio::{Client, Error};
use serde_json::json;

const NEW_KEY: &str = "4f1c0d3e9a7b2c5d8e6f0a1b2c3d4e5f6a7b8c9d";

/// A client for `url` that would retry three times, to show what is not.
fn retrying(url: String) -> Client {
    Client::builder()
        .api_token(API_TOKEN)
        .iam_url(url)
        .max_retries(3)
        .retry_backoff(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(2),
        )
        .build()
        .unwrap()
}

/// The login mock: no Authorization header, the JSON body.
fn expect_login(server: &mut mockito::ServerGuard, password: &str) -> mockito::Mock {
    server
        .mock("POST", "/v1/auth/token/")
        .match_query(Matcher::Missing)
        .match_header("authorization", Matcher::Missing)
        .match_header("user-agent", USER_AGENT)
        .match_header("accept", "application/json")
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(
            json!({"username": "ada", "password": password}),
        ))
        .expect(1)
}

#[test]
fn log_in_without_authorization_200() {
    let mut server = Server::new();
    let unexpected = catch_all(&mut server);
    let login = expect_login(&mut server, "pw")
        .with_status(200)
        .with_body(format!(
            r#"{{"user": {{"username": "ada", "email": "ada@example.com"}},
                "token": {TEMPORARY}, "session": 12}}"#
        ))
        .create();
    let whoami = server
        .mock("GET", "/v1/whoami/")
        .match_query(Matcher::Missing)
        .match_header("authorization", format!("Token {NEW_KEY}").as_str())
        .match_header("user-agent", USER_AGENT)
        .match_body(Matcher::Exact(String::new()))
        .with_status(200)
        .with_body(r#"{"username": "ada", "space": {"id": 1, "name": "default"}}"#)
        .expect(1)
        .create();

    let (client, answer) = Client::builder()
        .iam_url(server.url())
        .login("ada", "pw")
        .unwrap();

    login.assert();
    assert_eq!(answer.user.username, "ada");
    assert_eq!(answer.user.extra.len(), 1);
    assert_eq!(answer.user.extra["email"], "ada@example.com");
    assert_temporary(&answer.token);
    assert_eq!(answer.extra.len(), 1);
    assert_eq!(answer.extra["session"], 12);
    assert_eq!(client.iam_url(), server.url());

    let me = client.whoami().unwrap();

    whoami.assert();
    assert_eq!(me.username(), Some("ada"));
    assert_eq!(
        me.space().map(|s| (s.id, s.name.as_str())),
        Some((1, "default"))
    );
    assert_untouched(&unexpected);
}

#[test]
fn log_in_ignoring_a_token_set_on_the_builder() {
    let mut server = Server::new();
    let unexpected = catch_all(&mut server);
    let login = expect_login(&mut server, "pw")
        .with_status(200)
        .with_body(format!(
            r#"{{"user": {{"username": "ada"}}, "token": {TEMPORARY}}}"#
        ))
        .create();

    let (_, answer) = Client::builder()
        .api_token(API_TOKEN)
        .iam_url(server.url())
        .login("ada", "pw")
        .unwrap();

    login.assert();
    assert_eq!(answer.user.username, "ada");
    assert!(answer.user.extra.is_empty() && answer.extra.is_empty());
    assert_temporary(&answer.token);
    assert_untouched(&unexpected);
}

#[test]
fn report_failed_login_400_602() {
    let mut server = Server::new();
    let unexpected = catch_all(&mut server);
    let password = "correct-horse-battery";
    let login = expect_login(&mut server, password)
        .with_status(400)
        .with_body(
            r#"{"error_codes":[602],"message":"Username and password do not match.","fields":[]}"#,
        )
        .create();

    let err = Client::builder()
        .iam_url(server.url())
        .login("ada", password)
        .unwrap_err();

    login.assert();
    assert!(err.is_login_failed(), "{err:?}");
    assert!(!err.is_unauthorized());
    assert!(!err.is_outcome_unknown());
    assert_eq!(err.status(), Some(400));
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.error_codes, vec![602]);
    assert_eq!(api.message, "Username and password do not match.");
    assert!(api.fields.is_empty());
    assert_eq!(api.retry_after, None);
    assert_eq!(
        err.to_string(),
        "API error (HTTP 400): Username and password do not match."
    );
    assert_hides(&err, &[password]);
    assert_untouched(&unexpected);
}

#[test]
fn send_login_once_when_the_answer_is_lost_503() {
    let mut server = Server::new();
    let unexpected = catch_all(&mut server);
    let login = expect_login(&mut server, "pw")
        .with_status(503)
        .with_body(r#"{"error_codes":[503],"message":"Unavailable.","fields":[]}"#)
        .create();

    let err = Client::builder()
        .iam_url(server.url())
        .max_retries(3)
        .retry_backoff(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(2),
        )
        .login("ada", "pw")
        .unwrap_err();

    login.assert();
    let Error::OutcomeUnknown {
        operation, source, ..
    } = &err
    else {
        panic!("expected an open outcome, got {err:?}");
    };
    assert_eq!(*operation, "auth.login");
    assert_eq!(source.status(), Some(503));
    assert!(!err.is_login_failed());
    assert_untouched(&unexpected);
}

fn expect_change(wire: &mut Wire, body: serde_json::Value) -> mockito::Mock {
    wire.expect("POST", "/v1/auth/password/change/")
        .match_query(Matcher::Missing)
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(body))
}

#[test]
fn change_password_204() {
    for reset in [false, true] {
        let mut wire = Wire::new();
        let mock = expect_change(
            &mut wire,
            json!({"old_password": "old-secret", "password": "new-secret",
                   "password2": "new-secret", "reset_tokens": reset}),
        )
        .with_status(204)
        .create();

        wire.client
            .auth()
            .change_password("old-secret", "new-secret", reset)
            .unwrap();

        mock.assert();
        wire.finish();
    }
}

#[test]
fn report_wrong_old_password_400() {
    let mut wire = Wire::new();
    let mock = expect_change(
        &mut wire,
        json!({"old_password": "wrong-old", "password": "new-secret",
               "password2": "new-secret", "reset_tokens": false}),
    )
    .with_status(400)
    .with_body(
        r#"{"error_codes":[400],"message":"Validation error.",
            "fields":[{"name":"old_password","message":"Wrong password.","error_code":400}]}"#,
    )
    .create();

    let err = wire
        .client
        .auth()
        .change_password("wrong-old", "new-secret", false)
        .unwrap_err();

    mock.assert();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 400);
    assert_eq!(api.error_codes, vec![400]);
    assert_eq!(api.message, "Validation error.");
    assert_eq!(
        api.fields,
        vec![neuroio::FieldError::new(
            "old_password",
            "Wrong password.",
            400
        )]
    );
    assert_eq!(api.retry_after, None);
    assert!(!err.is_login_failed() && !err.is_outcome_unknown());
    assert_hides(&err, &["wrong-old", "new-secret"]);
    wire.finish();
}

#[test]
fn never_retry_change_password_503() {
    let mut wire = Wire::new();
    let client = retrying(wire.server.url());
    let mock = expect_change(
        &mut wire,
        json!({"old_password": "old-secret", "password": "new-secret",
               "password2": "new-secret", "reset_tokens": true}),
    )
    .with_status(503)
    .create();

    let err = client
        .auth()
        .change_password("old-secret", "new-secret", true)
        .unwrap_err();

    mock.assert();
    let Error::OutcomeUnknown {
        operation, source, ..
    } = &err
    else {
        panic!("expected an open outcome, got {err:?}");
    };
    assert_eq!(*operation, "auth.change_password");
    assert_eq!(source.status(), Some(503));
    assert_hides(&err, &["old-secret", "new-secret"]);
    wire.finish();
}

fn expect_whoami(wire: &mut Wire, body: &str) -> mockito::Mock {
    wire.expect("GET", "/v1/whoami/")
        .match_query(Matcher::Missing)
        .match_header("content-type", Matcher::Missing)
        .match_body(Matcher::Exact(String::new()))
        .with_status(200)
        .with_body(body)
        .create()
}

#[test]
fn show_account_token_whoami_200() {
    let mut wire = Wire::new();
    let mock = expect_whoami(
        &mut wire,
        r#"{"username": "ada", "space": {"id": 1, "name": "default", "plan": "pro"},
            "account_id": 5, "roles": ["owner"]}"#,
    );

    let me = wire.client.whoami().unwrap();

    mock.assert();
    assert_eq!(me.username, Some("ada".to_owned()));
    assert_eq!(me.username(), Some("ada"));
    let space = me.space().unwrap();
    assert_eq!(space.id, 1);
    assert_eq!(space.name, "default");
    assert_eq!(space.extra.len(), 1);
    assert_eq!(space.extra["plan"], "pro");
    assert!(!me.is_space_token());
    assert_eq!(me.extra.len(), 2);
    assert_eq!(me.extra["account_id"], 5);
    assert_eq!(me.extra["roles"], json!(["owner"]));
    wire.finish();
}

#[test]
fn show_space_token_whoami_200() {
    let mut wire = Wire::new();
    let mock = expect_whoami(&mut wire, r#"{"space": {"id": 7, "name": "cameras"}}"#);

    let me = wire.client.whoami().unwrap();

    mock.assert();
    assert_eq!(me.username(), None);
    let space = me.space.as_ref().unwrap();
    assert_eq!((space.id, space.name.as_str()), (7, "cameras"));
    assert!(space.extra.is_empty());
    assert!(me.extra.is_empty());
    assert!(me.is_space_token());
    wire.finish();
}

#[test]
fn keep_an_unknown_whoami_shape_200() {
    let mut wire = Wire::new();
    let mock = expect_whoami(&mut wire, r#"{"organisation": {"id": 3}}"#);

    let me = wire.client.whoami().unwrap();

    mock.assert();
    assert_eq!(me.username(), None);
    assert_eq!(me.space(), None);
    assert!(!me.is_space_token());
    assert_eq!(me.extra.len(), 1);
    assert_eq!(me.extra["organisation"], json!({"id": 3}));
    wire.finish();
}

fn expect_space_token(wire: &mut Wire, permanent: bool) -> mockito::Mock {
    wire.expect("POST", "/v1/spaces/7/tokens/")
        .match_query(Matcher::Missing)
        .match_header("content-type", "application/json")
        .match_body(Matcher::Exact(format!(r#"{{"permanent":{permanent}}}"#)))
}

#[test]
fn create_permanent_space_token_201() {
    let mut wire = Wire::new();
    let mock = expect_space_token(&mut wire, true)
        .with_status(201)
        .with_body(PERMANENT)
        .create();

    let token = wire.client.spaces().create_token(7, true).unwrap();

    mock.assert();
    assert_permanent(&token);
    wire.finish();
}

#[test]
fn create_temporary_space_token_201() {
    let mut wire = Wire::new();
    let mock = expect_space_token(&mut wire, false)
        .with_status(201)
        .with_body(TEMPORARY)
        .create();

    let token = wire.client.spaces().create_token(7, false).unwrap();

    mock.assert();
    assert_temporary(&token);
    wire.finish();
}

#[test]
fn never_retry_space_token_503() {
    let mut wire = Wire::new();
    let client = retrying(wire.server.url());
    let mock = expect_space_token(&mut wire, false)
        .with_status(503)
        .create();

    let err = client.spaces().create_token(7, false).unwrap_err();

    mock.assert();
    let Error::OutcomeUnknown {
        operation, source, ..
    } = &err
    else {
        panic!("expected an open outcome, got {err:?}");
    };
    assert_eq!(*operation, "spaces.create_token");
    assert_eq!(source.status(), Some(503));
    wire.finish();
}

#[test]
fn report_space_token_forbidden_403() {
    let mut wire = Wire::new();
    let mock = expect_space_token(&mut wire, true)
        .with_status(403)
        .with_body(r#"{"error_codes":[403],"message":"Forbidden.","fields":[]}"#)
        .create();

    let err = wire.client.spaces().create_token(7, true).unwrap_err();

    mock.assert();
    assert_eq!(err.status(), Some(403));
    assert!(!err.is_outcome_unknown());
    assert_eq!(err.to_string(), "API error (HTTP 403): Forbidden.");
    wire.finish();
}
