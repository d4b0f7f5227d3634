//! The rest of the token family through the SDK, against the simulator:
//! stream tokens, login, who am I, space tokens and password changes.

use std::time::Duration;

use crate::support::api_error;
use neuroio::Token;
use neuroio::fake::FakeIam;

const DAY: Duration = Duration::from_secs(24 * 3600);

fn ids(tokens: &[Token]) -> Vec<u64> {
    tokens.iter().map(|t| t.id).collect()
}

fn assert_fresh(token: &Token, permanent: bool) {
    assert!(token.id > 0);
    assert_eq!(token.key.secret().len(), 40);
    assert!(token.is_active);
    assert!(token.extra.is_empty(), "{:?}", token.extra);
    if permanent {
        assert_eq!(token.expires, None);
    } else {
        assert_eq!(
            token.expires.unwrap() - token.created,
            time::Duration::hours(24)
        );
    }
}

// Stream tokens.

#[test]
fn stream_tokens_work_end_to_end_on_the_api_paths() {
    let fake = FakeIam::start().unwrap();
    let client = fake.client_builder().build().unwrap();
    let streams = client.stream_tokens();

    let temporary = streams.create(false).unwrap();
    let permanent = streams.create(true).unwrap();
    assert_fresh(&temporary, false);
    assert_fresh(&permanent, true);
    assert_ne!(temporary.key, permanent.key);

    assert_eq!(
        ids(&streams.list(None, 20, 0).unwrap()),
        vec![permanent.id, temporary.id]
    );
    assert_eq!(
        ids(&streams.list(Some(true), 20, 0).unwrap()),
        vec![permanent.id]
    );
    assert_eq!(
        ids(&streams.list(Some(false), 20, 0).unwrap()),
        vec![temporary.id]
    );
    assert_eq!(ids(&streams.list(None, 1, 1).unwrap()), vec![temporary.id]);
    assert_eq!(streams.get(temporary.id).unwrap(), temporary);
    assert_eq!(streams.get(&permanent.key).unwrap(), permanent);
    assert_eq!(
        ids(&streams.list_all(None).unwrap()),
        vec![permanent.id, temporary.id]
    );

    let off = streams.update(&temporary.key, false).unwrap();
    assert!(!off.is_active);
    assert_eq!((off.id, &off.key), (temporary.id, &temporary.key));
    assert!(!streams.get(temporary.id).unwrap().is_active);
    let on = streams.update(temporary.id, true).unwrap();
    assert!(on.is_active);

    // The API tokens are another collection: just the root token.
    assert_eq!(client.tokens().list(None, 20, 0).unwrap().len(), 1);
    assert!(
        client
            .tokens()
            .get(permanent.id)
            .unwrap_err()
            .is_not_found()
    );

    streams.delete_list(Some(false)).unwrap();
    assert_eq!(ids(&streams.list(None, 20, 0).unwrap()), vec![permanent.id]);
    streams.delete(&permanent.key).unwrap();
    assert!(streams.get(permanent.id).unwrap_err().is_not_found());
    let again = streams.create(false).unwrap();
    streams.delete_list(None).unwrap();
    assert!(streams.list(None, 20, 0).unwrap().is_empty());
    assert!(streams.delete(again.id).unwrap_err().is_not_found());
    // Deleting every stream token leaves the API token working.
    assert_eq!(client.tokens().list(None, 20, 0).unwrap().len(), 1);

    // Every stream call went to the stream paths.
    let stream_calls: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| !r.path.starts_with("/v1/tokens/"))
        .map(|r| r.path.clone())
        .collect();
    assert!(
        stream_calls
            .iter()
            .all(|p| p.starts_with("/v1/streams/tokens/")),
        "{stream_calls:?}"
    );
}

#[test]
fn stream_tokens_have_their_own_limit_of_five_permanent() {
    let fake = FakeIam::start().unwrap();
    let client = fake.client_builder().build().unwrap();
    // The API tokens at their limit (the root token and four more)...
    for _ in 0..4 {
        client.tokens().create(true).unwrap();
    }
    let err = client.tokens().create(true).unwrap_err();
    assert_eq!(api_error(err).status, 400);
    // ...leave the stream tokens five places.
    let made: Vec<Token> = (0..5)
        .map(|_| client.stream_tokens().create(true).unwrap())
        .collect();
    let err = client.stream_tokens().create(true).unwrap_err();
    assert!(!err.is_outcome_unknown());
    let api = api_error(err);
    assert_eq!(api.status, 400);
    assert_eq!(api.error_codes, vec![400]);
    assert!(api.message.contains('5'), "{}", api.message);
    // Temporary ones are not limited.
    client.stream_tokens().create(false).unwrap();
    // A freed place can be used again.
    client.stream_tokens().delete(&made[0]).unwrap();
    assert_fresh(&client.stream_tokens().create(true).unwrap(), true);
    assert_eq!(
        client
            .stream_tokens()
            .list(Some(true), 20, 0)
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn stream_tokens_of_another_account_are_out_of_reach() {
    let fake = FakeIam::start().unwrap();
    let mine = fake.client_builder().build().unwrap();
    let other = fake.add_account();
    let theirs = fake.client_builder().api_token(&other).build().unwrap();
    let their_token = theirs.stream_tokens().create(true).unwrap();
    let my_token = mine.stream_tokens().create(false).unwrap();

    assert_eq!(
        ids(&mine.stream_tokens().list_all(None).unwrap()),
        vec![my_token.id]
    );
    assert_eq!(
        ids(&theirs.stream_tokens().list_all(None).unwrap()),
        vec![their_token.id]
    );
    for target in [
        neuroio::TokenRef::from(their_token.id),
        neuroio::TokenRef::from(&their_token.key),
    ] {
        let s = mine.stream_tokens();
        assert!(s.get(target.clone()).unwrap_err().is_not_found());
        assert!(s.update(target.clone(), false).unwrap_err().is_not_found());
        assert!(s.delete(target).unwrap_err().is_not_found());
    }
    mine.stream_tokens().delete_list(None).unwrap();
    assert_eq!(
        theirs.stream_tokens().get(their_token.id).unwrap(),
        their_token
    );
}

#[test]
fn stream_tokens_expire_with_the_simulators_clock() {
    let fake = FakeIam::start().unwrap();
    let client = fake.client_builder().build().unwrap();
    let stream = client.stream_tokens().create(false).unwrap();
    let permanent = client.stream_tokens().create(true).unwrap();
    assert!(!stream.is_expired_at(fake.now()));
    // A temporary API token, to make stream calls with.
    let temporary = client.tokens().create(false).unwrap();
    let short_lived = client.with_api_token(&temporary.key).unwrap();
    assert_eq!(
        short_lived.stream_tokens().list(None, 20, 0).unwrap().len(),
        2
    );

    fake.advance(DAY + Duration::from_secs(1));

    let seen = client.stream_tokens().get(stream.id).unwrap();
    assert_eq!(seen.expires, stream.expires);
    assert!(seen.is_expired_at(fake.now()));
    assert_eq!(seen.expires_in_at(fake.now()), Some(Duration::ZERO));
    assert!(!permanent.is_expired_at(fake.now()));
    // The expired API token no longer authenticates stream calls.
    let err = short_lived.stream_tokens().list(None, 20, 0).unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
}

// Login.

#[test]
fn login_with_the_root_user_gives_a_working_client() {
    let fake = FakeIam::start().unwrap();

    let (client, login) = fake
        .client_builder()
        .login(fake.root_username(), fake.root_password())
        .unwrap();

    assert_eq!(login.user.username, "root");
    assert_fresh(&login.token, false);
    assert_ne!(login.token.key, fake.root_token());
    let login_request = fake.requests().pop().unwrap();
    assert_eq!(login_request.path, "/v1/auth/token/");
    assert_eq!(login_request.header("authorization"), None);
    assert_eq!(client.tokens().get(login.token.id).unwrap(), login.token);
    assert_eq!(client.whoami().unwrap().username(), Some("root"));
    assert!(client.stream_tokens().list(None, 20, 0).unwrap().is_empty());
    let last = fake.requests().pop().unwrap();
    assert_eq!(
        last.header("authorization"),
        Some(format!("Token {}", login.token.key.secret()).as_str())
    );

    let err = fake
        .client_builder()
        .login(fake.root_username(), "not-the-password")
        .unwrap_err();
    assert!(err.is_login_failed() && !err.is_unauthorized(), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("not-the-password"));
}

// Who am I and space tokens.

#[test]
fn whoami_tells_account_tokens_from_space_tokens() {
    let fake = FakeIam::start().unwrap();
    let client = fake.client_builder().build().unwrap();

    let me = client.whoami().unwrap();
    assert_eq!(me.username(), Some("root"));
    assert!(!me.is_space_token());
    let default = me.space().unwrap().clone();
    assert_eq!(default.name, "default");
    assert!(me.extra.is_empty() && default.extra.is_empty());

    let token = client.spaces().create_token(default.id, false).unwrap();
    assert_fresh(&token, false);
    let as_space = client.with_api_token(&token.key).unwrap();
    let it = as_space.whoami().unwrap();
    assert_eq!(it.username(), None);
    assert!(it.is_space_token());
    assert_eq!(it.space(), Some(&default));

    let cameras = fake.add_space(&fake.root_token(), "cameras").unwrap();
    let token = client.spaces().create_token(cameras, true).unwrap();
    assert_fresh(&token, true);
    let it = client.with_api_token(&token.key).unwrap().whoami().unwrap();
    let space = it.space().unwrap();
    assert_eq!((space.id, space.name.as_str()), (cameras, "cameras"));
    assert!(it.is_space_token());
}

#[test]
fn space_tokens_see_only_their_space() {
    let fake = FakeIam::start().unwrap();
    let root = fake.client_builder().build().unwrap();
    let root_id = root.tokens().list(None, 1, 0).unwrap()[0].id;
    let cameras = fake.add_space(&fake.root_token(), "cameras").unwrap();
    let doors = fake.add_space(&fake.root_token(), "doors").unwrap();
    let cam_token = root.spaces().create_token(cameras, true).unwrap();
    let door_token = root.spaces().create_token(doors, true).unwrap();
    let cam = root.with_api_token(&cam_token.key).unwrap();
    let door = root.with_api_token(&door_token.key).unwrap();

    let cam_second = cam.tokens().create(false).unwrap();
    assert_eq!(
        ids(&cam.tokens().list_all(None).unwrap()),
        vec![cam_second.id, cam_token.id]
    );
    // The account, another space: 404 both ways.
    for other in [root_id, door_token.id] {
        assert!(cam.tokens().get(other).unwrap_err().is_not_found());
        assert!(
            cam.tokens()
                .update(other, false)
                .unwrap_err()
                .is_not_found()
        );
        assert!(cam.tokens().delete(other).unwrap_err().is_not_found());
    }
    assert!(door.tokens().get(cam_second.id).unwrap_err().is_not_found());
    assert!(
        root.tokens()
            .get(&cam_second.key)
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(ids(&root.tokens().list_all(None).unwrap()), vec![root_id]);

    // Stream tokens too are per space.
    let cam_stream = cam.stream_tokens().create(false).unwrap();
    assert!(
        root.stream_tokens()
            .get(cam_stream.id)
            .unwrap_err()
            .is_not_found()
    );
    assert!(door.stream_tokens().list_all(None).unwrap().is_empty());
    assert_eq!(
        ids(&cam.stream_tokens().list_all(None).unwrap()),
        vec![cam_stream.id]
    );

    // Deleting everything from a space leaves the rest alone.
    cam.tokens().delete_list(Some(false)).unwrap();
    assert_eq!(
        ids(&cam.tokens().list_all(None).unwrap()),
        vec![cam_token.id]
    );
    assert_eq!(door.tokens().get(door_token.id).unwrap(), door_token);
}

#[test]
fn only_account_tokens_create_space_tokens() {
    let fake = FakeIam::start().unwrap();
    let root = fake.client_builder().build().unwrap();
    let space = root.whoami().unwrap().space.unwrap().id;
    let space_token = root.spaces().create_token(space, false).unwrap();
    let as_space = root.with_api_token(&space_token.key).unwrap();

    let err = as_space.spaces().create_token(space, false).unwrap_err();
    assert!(!err.is_outcome_unknown(), "{err:?}");
    let api = api_error(err);
    assert_eq!(api.status, 403);
    assert_eq!(api.error_codes, vec![403]);

    let other = fake
        .client_builder()
        .api_token(fake.add_account())
        .build()
        .unwrap();
    let err = other.spaces().create_token(space, true).unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(
        root.spaces()
            .create_token(999_999, true)
            .unwrap_err()
            .is_not_found()
    );
}

// Changing the password.

#[test]
fn change_password_with_reset_logs_every_client_out() {
    let fake = FakeIam::start().unwrap();
    let old_password = fake.root_password();
    let (client, login) = fake
        .client_builder()
        .login(fake.root_username(), &old_password)
        .unwrap();
    let root = fake.client_builder().build().unwrap();
    client.stream_tokens().create(true).unwrap();

    // A wrong old password changes nothing.
    let err = client
        .auth()
        .change_password("wrong-old-password", "n3w-password", true)
        .unwrap_err();
    let api = api_error(err);
    assert_eq!(api.status, 400);
    assert_eq!(api.fields.len(), 1);
    assert_eq!(api.fields[0].name, "old_password");
    assert_eq!(fake.root_password(), old_password);
    client.tokens().get(login.token.id).unwrap();

    client
        .auth()
        .change_password(&old_password, "n3w-password", true)
        .unwrap();

    assert_eq!(fake.root_password(), "n3w-password");
    for old in [&client, &root] {
        let err = old.tokens().list(None, 20, 0).unwrap_err();
        assert!(err.is_unauthorized(), "{err:?}");
    }
    let err = fake
        .client_builder()
        .login(fake.root_username(), &old_password)
        .unwrap_err();
    assert!(err.is_login_failed(), "{err:?}");
    let (fresh, login) = fake
        .client_builder()
        .login(fake.root_username(), "n3w-password")
        .unwrap();
    assert_eq!(
        ids(&fresh.tokens().list_all(None).unwrap()),
        vec![login.token.id]
    );
    assert!(fresh.stream_tokens().list_all(None).unwrap().is_empty());
}

#[test]
fn change_password_without_reset_keeps_the_tokens() {
    let fake = FakeIam::start().unwrap();
    let client = fake.client_builder().build().unwrap();
    let old_password = fake.root_password();

    client
        .auth()
        .change_password(&old_password, "second-password", false)
        .unwrap();

    assert_eq!(client.tokens().list(None, 20, 0).unwrap().len(), 1);
    let request = fake.requests().pop().unwrap();
    assert_eq!(request.path, "/v1/tokens/");
    let change = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/auth/password/change/")
        .unwrap();
    assert_eq!(change.method, "POST");
    let body: serde_json::Value = serde_json::from_slice(&change.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"old_password": old_password, "password": "second-password",
                           "password2": "second-password", "reset_tokens": false})
    );
    let err = fake
        .client_builder()
        .login("root", &old_password)
        .unwrap_err();
    assert!(err.is_login_failed(), "{err:?}");
    let (_, login) = fake
        .client_builder()
        .login("root", "second-password")
        .unwrap();
    assert_eq!(login.user.username, "root");
}
