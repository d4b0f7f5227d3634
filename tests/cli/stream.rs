//! `neuroio stream-tokens`: the commands of `tokens`, on the API host's
//! collection of stream tokens.

use super::*;

/// Runs `neuroio stream-tokens ARGS` with both hosts on the simulator.
fn stream(fake: &FakeIam, args: &[&str]) -> Output {
    let url = fake.url();
    let mut all = vec!["stream-tokens", "--iam-url", &url, "--api-url", &url];
    all.extend_from_slice(args);
    run(fake, &all)
}

fn sdk(fake: &FakeIam) -> neuroio::Client {
    fake.client_builder().build().unwrap()
}

fn stream_paths(fake: &FakeIam) -> Vec<String> {
    fake.requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn create_prints_the_new_stream_token_with_its_key() {
    let fake = FakeIam::start().unwrap();

    let temporary = json(&stream(&fake, &["create"]));
    let permanent = json(&stream(&fake, &["create", "--permanent"]));

    assert_eq!(field_names(&temporary), super::TOKEN_FIELDS_WITH_KEY);
    assert!(temporary["expires"].is_string());
    assert_eq!(permanent["expires"], Value::Null);
    let stored = sdk(&fake)
        .stream_tokens()
        .get(temporary["id"].as_u64().unwrap())
        .unwrap();
    assert_eq!(temporary["key"], stored.key.secret());
    assert_eq!(
        stream_paths(&fake),
        [
            "POST /v1/streams/tokens/".to_owned(),
            "POST /v1/streams/tokens/".to_owned(),
            format!("GET /v1/streams/tokens/{}/", temporary["id"]),
        ]
    );
}

#[test]
fn list_get_update_delete_and_delete_all() {
    let fake = FakeIam::start().unwrap();
    let sdk = sdk(&fake);
    let first = sdk.stream_tokens().create(false).unwrap();
    let second = sdk.stream_tokens().create(true).unwrap();
    let id = first.id.to_string();

    let listed = json(&stream(&fake, &["list"]));
    let ids: Vec<u64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [second.id, first.id]);
    assert_eq!(listed[0].get("key"), None);
    let permanent = json(&stream(&fake, &["list", "--permanent", "--limit", "5"]));
    assert_eq!(permanent.as_array().unwrap().len(), 1);
    let all = stream(
        &fake,
        &["list", "--all", "--limit", "1", "--output", "jsonl"],
    );
    assert_eq!(stdout(&all).lines().count(), 2);

    let by_key = json(&stream(&fake, &["get", first.key.secret()]));
    assert_eq!(by_key, json(&stream(&fake, &["get", &id])));
    assert_eq!(by_key["id"], first.id);

    let off = json(&stream(&fake, &["update", &id, "--active", "false"]));
    assert_eq!(off["is_active"], false);
    assert!(!sdk.stream_tokens().get(first.id).unwrap().is_active);

    let deleted = json(&stream(&fake, &["delete", &id]));
    assert_eq!(
        deleted,
        serde_json::json!({"deleted": {"collection": "stream-tokens", "id": first.id}})
    );
    assert!(
        sdk.stream_tokens()
            .get(first.id)
            .unwrap_err()
            .is_not_found()
    );

    let refused = stream(&fake, &["delete-all"]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        stderr(&refused),
        "error: refusing to delete all stream tokens without --yes\n"
    );

    // What a person reads names the collection too.
    let second_id = second.id.to_string();
    let one = stream(&fake, &["delete", &second_id, "--output", "table"]);
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    assert_eq!(stdout(&one), format!("deleted stream token {second_id}\n"));
    let none = stream(
        &fake,
        &["delete-all", "--temporary", "--yes", "--output", "table"],
    );
    assert_eq!(none.status.code(), Some(0), "{}", stderr(&none));
    assert_eq!(stdout(&none), "deleted temporary stream tokens\n");

    // Deleting every stream token leaves the API token alone, and says
    // nothing about it.
    let everything = stream(&fake, &["delete-all", "--yes"]);
    assert_eq!(
        json(&everything),
        serde_json::json!({"deleted_all": {"collection": "stream-tokens", "kind": "all"}})
    );
    assert_eq!(stderr(&everything), "");
    assert!(sdk.stream_tokens().list(None, 20, 0).unwrap().is_empty());
    assert_eq!(sdk.tokens().list(None, 20, 0).unwrap().len(), 1);
}

#[test]
fn missing_stream_token_exits_1_like_tokens() {
    let fake = FakeIam::start().unwrap();

    let output = stream(&fake, &["get", "424242"]);

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "error: API error (HTTP 404): Not found.\nstream token 424242 at \
             {}/v1/streams/tokens/424242/ was not found: check the id or key, and the base URL \
             (--api-url)\n",
            fake.url()
        )
    );
    let no_token = run_as(
        &fake,
        None,
        &["stream-tokens", "list", "--api-url", &fake.url()],
    );
    assert_eq!(no_token.status.code(), Some(2));
}

#[test]
fn tokens_and_stream_tokens_are_separate_collections() {
    let fake = FakeIam::start().unwrap();

    let made = json(&stream(&fake, &["create"]));

    let tokens = json(&run(&fake, &["tokens", "list"]));
    let streams = json(&stream(&fake, &["list"]));
    assert_eq!(tokens.as_array().unwrap().len(), 1);
    assert_eq!(tokens[0]["id"], 1);
    assert_eq!(streams.as_array().unwrap().len(), 1);
    assert_eq!(streams[0]["id"], made["id"]);
    let sdk = sdk(&fake);
    assert!(
        sdk.tokens()
            .get(made["key"].as_str().unwrap())
            .unwrap_err()
            .is_not_found()
    );
    // A stream token does not authenticate API calls.
    let as_stream = run_as(&fake, made["key"].as_str(), &["tokens", "list"]);
    assert_eq!(as_stream.status.code(), Some(4));
}

#[test]
fn api_url_comes_from_the_flag_or_the_environment() {
    let fake = FakeIam::start().unwrap();
    let elsewhere = "http://127.0.0.1:9";

    let from_env = neuroio()
        .args(["stream-tokens", "list"])
        .env("NEUROIO_API_TOKEN", fake.root_token())
        .env("NEUROIO_IAM_URL", elsewhere)
        .env("NEUROIO_API_URL", fake.url())
        .output()
        .unwrap();
    // The flag wins over the environment, before or after the command.
    let flag_wins = neuroio()
        .args(["stream-tokens", "list", "--api-url", &fake.url()])
        .env("NEUROIO_API_TOKEN", fake.root_token())
        .env("NEUROIO_API_URL", elsewhere)
        .output()
        .unwrap();
    assert_eq!(json(&from_env), serde_json::json!([]));
    assert_eq!(json(&flag_wins), serde_json::json!([]));
    assert_eq!(fake.requests().len(), 2);
}
