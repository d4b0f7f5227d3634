//! What a new user met on a first hour with the tool: the words the help
//! uses as commands, what --verbose shows, warnings about files others can
//! read, and times a person can read.

use super::*;

#[test]
fn activate_and_deactivate_send_the_update_and_show_the_token() {
    let fake = FakeIam::start().unwrap();
    let sdk = fake.client_builder().build().unwrap();
    let other = sdk.tokens().create(false).unwrap();
    let id = other.id.to_string();

    for (group, noun) in [("tokens", "tokens"), ("stream-tokens", "streams/tokens")] {
        let made = if group == "tokens" {
            other.clone()
        } else {
            sdk.stream_tokens().create(false).unwrap()
        };
        let id = made.id.to_string();
        let url = fake.url();
        for (command, active) in [("deactivate", false), ("activate", true)] {
            fake.clear_requests();
            let output = run(&fake, &[group, command, &id, "--api-url", &url]);
            let shown = json(&output);
            assert_eq!(shown["id"], made.id);
            assert_eq!(shown["is_active"], active);
            assert_eq!(shown["kind"], "temporary");
            assert!(shown.get("key").is_none(), "{shown}");
            let requests = fake.requests();
            assert_eq!(requests.len(), 1);
            assert_eq!(requests[0].method, "PATCH");
            assert_eq!(requests[0].path, format!("/v1/{noun}/{id}/"));
            let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
            assert_eq!(body, serde_json::json!({"is_active": active}));
        }
    }
    // The key only when asked for.
    let keyed = json(&run(&fake, &["tokens", "deactivate", &id, "--show-keys"]));
    assert_eq!(keyed["key"], other.key.secret());
}

#[test]
fn verbose_logs_each_request_and_never_a_key() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    let other = sdk.tokens().create(false).unwrap();
    fake.inject(neuroio::fake::Fault::status(503), 1);

    let output = run(
        &fake,
        &["tokens", "get", other.key.secret(), "-v", "--retries", "1"],
    );
    let by_env = run_with_env(&fake, &["whoami"], &[("NEUROIO_LOG", "debug")]);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let log = stderr(&output);
    let lines: Vec<&str> = log.lines().collect();
    let url = format!("{}/v1/tokens/<key>/", fake.url());
    assert_eq!(lines.len(), 3, "{log}");
    assert!(
        lines[0].starts_with(&format!("debug: GET {url} attempt 1/2: 503 in ")),
        "{log}"
    );
    assert!(
        lines[1].starts_with(&format!("debug: GET {url}: retrying in ")),
        "{log}"
    );
    assert!(
        lines[2].starts_with(&format!("debug: GET {url} attempt 2/2: 200 in ")),
        "{log}"
    );
    assert!(
        !log.contains(other.key.secret()) && !log.contains(&fake.root_token()),
        "{log}"
    );
    assert!(
        stderr(&by_env).starts_with(&format!(
            "debug: GET {}/v1/whoami/ attempt 1/3: 200 in ",
            fake.url()
        )),
        "{}",
        stderr(&by_env)
    );
    // Without it, nothing.
    assert_eq!(stderr(&run(&fake, &["whoami"])), "");
}

/// [`run`] with more of the environment.
fn run_with_env(fake: &FakeIam, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = neuroio();
    command
        .args(args)
        .env("NEUROIO_API_TOKEN", fake.root_token())
        .env("NEUROIO_IAM_URL", fake.url())
        .env_remove("NEUROIO_API_URL")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

#[cfg(unix)]
#[test]
fn a_token_file_others_can_read_is_warned_about_with_the_chmod() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeIam::start().unwrap();
    let dir = std::env::temp_dir().join(format!("neuroio-cli-warn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, format!("{}\n", fake.root_token())).unwrap();
    let path = file.to_str().unwrap();

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let shared = run_as(&fake, None, &["whoami", "--token-file", path]);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let private = run_as(&fake, None, &["whoami", "--token-file", path]);
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(shared.status.code(), Some(0));
    assert_eq!(
        stderr(&shared),
        format!(
            "warning: the token file {path} can be read by others (mode 644); make it private \
             with: chmod 600 {path}\n"
        )
    );
    assert_eq!(private.status.code(), Some(0));
    assert_eq!(stderr(&private), "");
}

#[test]
fn tables_show_times_to_the_second_in_utc() {
    let fake = FakeIam::start().unwrap();
    let output = run(&fake, &["tokens", "list", "-o", "table"]);
    let text = stdout(&output);
    let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row.len(), 5, "{text}");
    let created = row[3];
    assert_eq!(created.len(), "2026-12-08T10:03:31Z".len(), "{created}");
    assert!(
        created.ends_with('Z') && created.as_bytes()[10] == b'T',
        "{created}"
    );
    assert_eq!(row[4], "never");
    // In a pipe, no "in 23h": that is for a person at a terminal.
    let sdk = client(&fake, fake.root_token());
    sdk.tokens().create(false).unwrap();
    let text = stdout(&run(&fake, &["tokens", "list", "-o", "table"]));
    assert!(!text.contains("(in "), "{text}");
    // JSON keeps the API's own text.
    let listed = json(&run(&fake, &["tokens", "list"]));
    assert!(
        listed[0]["created"].as_str().unwrap().contains('.'),
        "{listed}"
    );
}

#[test]
fn invisible_and_reordering_characters_from_a_server_are_escaped_in_tables_and_json() {
    // A space name that would read "admin" backwards, with a soft hyphen,
    // a Hangul filler, a tag character and a combining overlay.
    let name = "ad\u{202e}nim\u{ad}\u{3164}\u{e0041}o\u{338}";
    let mut server = mockito::Server::new();
    let mock = server
        .mock("GET", "/v1/spaces/")
        .match_query(mockito::Matcher::Any)
        .with_status(200)
        .with_body(serde_json::json!([{"id": 7, "name": name}]).to_string())
        .expect(2)
        .create();
    let fake = FakeIam::start().unwrap();
    let url = server.url();

    let table = run_as(
        &fake,
        Some("some-token-value"),
        &["spaces", "list", "-o", "table", "--iam-url", &url],
    );
    let json = run_as(
        &fake,
        Some("some-token-value"),
        &["spaces", "list", "--iam-url", &url],
    );

    mock.assert();
    assert_eq!(
        stdout(&table),
        "ID  NAME\n7   ad\\u{202e}nim\\u{ad}\\u{3164}\\u{e0041}o\\u{338}\n"
    );
    let raw = stdout(&json);
    assert_eq!(
        raw,
        "[{\"id\":7,\"name\":\"ad\\u202enim\\u00ad\\u3164\\udb40\\udc41o\\u0338\"}]\n"
    );
    let parsed: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(parsed[0]["name"], name);
}

#[test]
fn a_list_that_keeps_changing_under_all_exits_1_and_says_so_in_cli_words() {
    use std::sync::atomic::{AtomicU64, Ordering};
    // Every page holds two new tokens: the list shifts under each request.
    static NEXT: AtomicU64 = AtomicU64::new(1_000_000);
    let mut server = mockito::Server::new();
    let mock = server
        .mock("GET", "/v1/tokens/")
        .match_query(mockito::Matcher::Any)
        .with_status(200)
        .with_body_from_request(|_| {
            let top = NEXT.fetch_sub(2, Ordering::SeqCst);
            let page: Vec<Value> = [top, top - 1]
                .iter()
                .map(|id| {
                    serde_json::json!({"id": id, "key": format!("k{id}"), "is_active": true,
                        "created": "2026-12-07T10:00:00Z", "expires": null})
                })
                .collect();
            serde_json::to_vec(&page).unwrap()
        })
        .expect_at_least(2)
        .create();
    let fake = FakeIam::start().unwrap();
    let url = server.url();

    let output = run_as(
        &fake,
        Some("some-token-value"),
        &[
            "tokens",
            "list",
            "--all",
            "--limit",
            "2",
            "-o",
            "jsonl",
            "--iam-url",
            &url,
        ],
    );

    mock.assert();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "error: tokens.list: the list kept changing while it was read (items were created or \
         deleted between two pages), and 3 fresh starts did not get one consistent reading; run \
         the command again when the account is quieter, or narrow the list with a filter\n"
    );
}

#[cfg(unix)]
#[test]
fn a_named_pipe_in_neuroio_api_token_file_is_refused_without_waiting() {
    let fake = FakeIam::start().unwrap();
    let dir = std::env::temp_dir().join(format!("neuroio-cli-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("token");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());

    let output = run_with_env(
        &fake,
        &["whoami"],
        &[("NEUROIO_API_TOKEN_FILE", fifo.to_str().unwrap())],
    );
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        format!(
            "error: NEUROIO_API_TOKEN_FILE names {}, which is not a regular file; name the file \
             an agent or `exec --rotate` writes\n",
            fifo.display()
        )
    );
    assert!(fake.requests().is_empty());
}
