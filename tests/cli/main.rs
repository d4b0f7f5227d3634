//! End-to-end tests of the `neuroio` binary against a simulator started by
//! each test.

#[path = "../support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use neuroio::fake::FakeIam;
use serde_json::Value;
use support::client;

mod account;
mod agent;
mod audit;
mod delivery;
mod exec;
mod exit_codes;
mod generated;
mod help;
mod keys;
mod newcomer;
mod profiles;
mod spaces;
mod stream;
mod terminal;

const BIN: &str = env!("CARGO_BIN_EXE_neuroio");

/// Runs the binary with the simulator's URL and `token`, nothing else from
/// the environment that could change its behaviour.
fn run_as(fake: &FakeIam, token: Option<&str>, args: &[&str]) -> Output {
    let mut command = neuroio();
    command
        .args(args)
        .env_remove("NEUROIO_API_TOKEN")
        .env_remove("NEUROIO_API_URL")
        .env("NEUROIO_IAM_URL", fake.url())
        // Never the credentials file of the user running the tests.
        .env("NEUROIO_CONFIG_DIR", no_config_dir())
        .env_remove("NEUROIO_PROFILE")
        .stdin(Stdio::null());
    if let Some(token) = token {
        command.env("NEUROIO_API_TOKEN", token);
    }
    let output = command.output().expect("run the neuroio binary");
    // No output of any command, successful or not, shows the API token used.
    if let Some(token) = token {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let creates = ["create", "rotate", "create-token", "--show-keys"]
            .iter()
            .any(|arg| args.contains(arg));
        if !creates {
            assert!(
                !text.contains(token),
                "{args:?} printed the API token:\n{text}"
            );
        }
        assert!(!text.contains("panicked"), "{args:?} panicked:\n{text}");
    }
    output
}

/// A configuration folder that no test creates: no profile is found there.
/// The binary, kept away from the profiles of the machine running the
/// tests: a configuration folder of its own (which no test writes into),
/// and no profile named by the environment. A test of profiles sets its own
/// folder over this one.
fn neuroio() -> Command {
    let mut command = Command::new(BIN);
    command
        .env("NEUROIO_CONFIG_DIR", no_config_dir())
        .env("NEUROIO_STATE_DIR", no_config_dir().with_extension("state"))
        .env_remove("NEUROIO_API_TOKEN_FILE")
        .env_remove("NEUROIO_PROFILE");
    command
}

fn no_config_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("neuroio-cli-no-config-{}", std::process::id()))
}

/// Runs the binary with `input` on standard input.
fn run_with_stdin(fake: &FakeIam, args: &[&str], input: &str) -> Output {
    let mut child = neuroio()
        .args(args)
        .env("NEUROIO_API_TOKEN", fake.root_token())
        .env("NEUROIO_IAM_URL", fake.url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses its arguments may exit before reading: a
    // closed pipe is then part of the outcome, not a failure of the test.
    let written = child.stdin.take().unwrap().write_all(input.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

/// A file `name` holding `content`, in a folder of its own for `group`
/// (each test file removes its folder when done).
fn temp_file(group: &str, name: &str, content: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("neuroio-cli-{group}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// The ids of the root account's tokens, newest first.
fn ids(fake: &FakeIam) -> Vec<u64> {
    client(fake, fake.root_token())
        .tokens()
        .list(None, 100, 0)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect()
}

/// The fields of a token in every command's JSON, a new token's key
/// included, in the order they are printed.
const TOKEN_FIELDS_WITH_KEY: [&str; 7] = [
    "created",
    "expired",
    "expires",
    "id",
    "is_active",
    "key",
    "kind",
];

/// The CLI's hint after a 401.
const LOG_IN_AGAIN: &str = "the API token is no longer accepted: it expired, was deactivated, \
    or was deleted (as `neuroio password change --reset-tokens` does); log in again with \
    `neuroio login`, or use another token";

/// The method and path of each request the simulator has seen, in order.
fn seen_requests(fake: &FakeIam) -> Vec<(String, String)> {
    fake.requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect()
}

/// The job folders of `exec --rotate` in the state folder `state`: one
/// folder a machine in `exec/`, one a job in each.
fn job_folders(state: &std::path::Path) -> Vec<std::path::PathBuf> {
    let list = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    };
    list(&state.join("exec"))
        .iter()
        .flat_map(|machine| list(machine))
        .collect()
}

fn run(fake: &FakeIam, args: &[&str]) -> Output {
    run_as(fake, Some(&fake.root_token()), args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn json(output: &Output) -> Value {
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(output));
    serde_json::from_str(&stdout(output)).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

fn field_names(value: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    names
}

#[test]
fn create_prints_the_new_token_with_its_key() {
    let fake = FakeIam::start().unwrap();

    let temporary = json(&run(&fake, &["tokens", "create"]));
    let permanent = json(&run(&fake, &["tokens", "create", "--permanent"]));

    assert_eq!(field_names(&temporary), TOKEN_FIELDS_WITH_KEY);
    assert_eq!(temporary["is_active"], true);
    assert!(temporary["expires"].is_string());
    assert_eq!(permanent["expires"], Value::Null);
    let sdk = client(&fake, fake.root_token());
    let stored = sdk.tokens().get(temporary["id"].as_u64().unwrap()).unwrap();
    assert_eq!(temporary["key"], stored.key.secret());
    assert!(
        sdk.tokens()
            .get(permanent["key"].as_str().unwrap())
            .unwrap()
            .is_permanent()
    );
}

#[test]
fn list_prints_a_json_array_without_keys_by_default() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    let made = sdk.tokens().create(false).unwrap();

    let all = json(&run(&fake, &["tokens", "list"]));

    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["id"], made.id);
    assert_eq!(
        field_names(&all[0]),
        ["created", "expired", "expires", "id", "is_active", "kind"]
    );

    let with_keys = json(&run(&fake, &["tokens", "list", "--show-keys"]));
    assert_eq!(with_keys[0]["key"], made.key.secret());
    assert_eq!(with_keys[1]["key"], fake.root_token().as_str());
}

#[test]
fn list_passes_filter_limit_and_offset() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    for _ in 0..3 {
        sdk.tokens().create(false).unwrap();
    }
    fake.clear_requests();

    let page = json(&run(
        &fake,
        &[
            "tokens",
            "list",
            "--temporary",
            "--limit",
            "2",
            "--offset",
            "1",
        ],
    ));
    let permanent = json(&run(&fake, &["tokens", "list", "--permanent"]));

    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(permanent.as_array().unwrap().len(), 1);
    let queries: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| r.query.clone().unwrap())
        .collect();
    assert_eq!(
        queries,
        [
            "limit=2&offset=1&permanent=false",
            "limit=20&offset=0&permanent=true"
        ]
    );
}

#[test]
fn list_all_walks_every_page_as_jsonl() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    for _ in 0..7 {
        sdk.tokens().create(false).unwrap();
    }
    fake.clear_requests();

    let output = run(
        &fake,
        &[
            "tokens", "list", "--all", "--limit", "3", "--output", "jsonl",
        ],
    );

    assert_eq!(output.status.code(), Some(0));
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8);
    let ids: Vec<u64> = lines.iter().map(|t| t["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=8).rev().collect::<Vec<u64>>());
    let queries: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| r.query.clone().unwrap())
        .collect();
    assert_eq!(
        queries,
        [
            "limit=3&offset=0",
            "limit=3&offset=2",
            "limit=3&offset=4",
            "limit=3&offset=6"
        ]
    );

    let as_json = json(&run(&fake, &["tokens", "list", "--all", "--limit", "3"]));
    assert_eq!(as_json.as_array().unwrap().len(), 8);
}

#[test]
fn table_output_hides_keys_unless_asked() {
    let fake = FakeIam::start().unwrap();

    let table = run(&fake, &["tokens", "list", "--output", "table"]);
    let shown = run(
        &fake,
        &["tokens", "list", "--output", "table", "--show-keys"],
    );

    let table = stdout(&table);
    let mut lines = table.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["ID", "ACTIVE", "KIND", "CREATED", "EXPIRES"]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[..3], ["1", "true", "permanent"]);
    assert_eq!(row[4], "never");
    assert!(lines.next().is_none());
    let shown = stdout(&shown);
    assert!(shown.lines().next().unwrap().ends_with("KEY"));
    assert!(shown.contains(&fake.root_token()));
}

#[test]
fn get_update_delete_by_id_and_key() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    let made = sdk.tokens().create(false).unwrap();
    let id = made.id.to_string();

    let by_id = json(&run(&fake, &["tokens", "get", &id]));
    let by_key = json(&run(&fake, &["tokens", "get", made.key.secret()]));
    assert_eq!(by_id, by_key);
    assert_eq!(by_id["id"], made.id);
    assert_eq!(by_id.get("key"), None);

    let off = json(&run(
        &fake,
        &["tokens", "update", made.key.secret(), "--active", "false"],
    ));
    assert_eq!(off["is_active"], false);
    assert!(!sdk.tokens().get(made.id).unwrap().is_active);
    let on = json(&run(&fake, &["tokens", "update", &id, "--active", "true"]));
    assert_eq!(on["is_active"], true);

    let deleted = json(&run(&fake, &["tokens", "delete", &id]));
    assert_eq!(
        deleted,
        serde_json::json!({"deleted": {"collection": "tokens", "id": made.id}})
    );
    assert!(sdk.tokens().get(made.id).unwrap_err().is_not_found());
}

#[test]
fn delete_all_refuses_without_yes() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    sdk.tokens().create(false).unwrap();

    let output = run(&fake, &["tokens", "delete-all", "--temporary"]);

    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    assert!(
        stderr(&output).contains("without --yes"),
        "{}",
        stderr(&output)
    );
    assert!(fake.requests().iter().all(|r| r.method != "DELETE"));
    assert_eq!(sdk.tokens().list(None, 20, 0).unwrap().len(), 2);
}

#[test]
fn delete_all_with_a_filter() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    sdk.tokens().create(false).unwrap();
    sdk.tokens().create(false).unwrap();

    let done = json(&run(
        &fake,
        &["tokens", "delete-all", "--temporary", "--yes"],
    ));

    assert_eq!(
        done,
        serde_json::json!({"deleted_all": {"collection": "tokens", "kind": "temporary"}})
    );
    let last = fake.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.query.as_deref()),
        ("DELETE", Some("permanent=false"))
    );
    let left = sdk.tokens().list(None, 20, 0).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].key, fake.root_token());
}

#[test]
fn delete_all_without_filter_says_it_deleted_the_token_in_use() {
    let fake = FakeIam::start().unwrap();

    let output = run(&fake, &["tokens", "delete-all", "--yes"]);

    assert_eq!(
        json(&output),
        serde_json::json!({"deleted_all": {"collection": "tokens", "kind": "all"}})
    );
    assert!(
        stderr(&output).contains("including the one this command used"),
        "{}",
        stderr(&output)
    );
    let after = run(&fake, &["tokens", "list"]);
    assert_eq!(after.status.code(), Some(4));
}

#[test]
fn rotate_prints_a_working_temporary_token() {
    let fake = FakeIam::start().unwrap();

    let rotated = json(&run(&fake, &["tokens", "rotate"]));

    assert!(rotated["expires"].is_string());
    let key = rotated["key"].as_str().unwrap();
    assert_ne!(key, fake.root_token());
    let as_new = client(&fake, key);
    assert_eq!(
        as_new
            .tokens()
            .get(rotated["id"].as_u64().unwrap())
            .unwrap()
            .key,
        key
    );
    // The old token still works.
    assert_eq!(run(&fake, &["tokens", "list"]).status.code(), Some(0));
}

#[test]
fn deactivated_token_exits_4() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    let made = sdk.tokens().create(false).unwrap();
    sdk.tokens().update(&made, false).unwrap();

    let output = run_as(&fake, Some(made.key.secret()), &["tokens", "list"]);

    assert_eq!(output.status.code(), Some(4));
    assert!(stdout(&output).is_empty());
    assert_eq!(
        stderr(&output),
        format!("error: API error (HTTP 401): Token is inactive.\n{LOG_IN_AGAIN}\n")
    );
}

#[test]
fn missing_token_exits_1_with_the_api_message() {
    let fake = FakeIam::start().unwrap();

    let output = run(&fake, &["tokens", "get", "424242"]);

    assert_eq!(output.status.code(), Some(1));
    // The error names the token, in the URL it was not found at.
    assert_eq!(
        stderr(&output),
        format!(
            "error: API error (HTTP 404): Not found.\ntoken 424242 at {}/v1/tokens/424242/ was \
             not found: check the id or key, and the base URL (--iam-url)\n",
            fake.url()
        )
    );
}

/// A server that answers one request with `status` and the JSON `body`,
/// for answers the simulator cannot be made to give.
fn answer_once(status: &str, body: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let status = status.to_owned();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
    });
    url
}

#[test]
fn validation_error_lists_each_field() {
    let url = answer_once(
        "400 Bad Request",
        r#"{"error_codes": [400], "message": "Validation error.", "fields": [{"name": "limit", "message": "Ensure this value is between 1 and 100.", "error_code": 400}, {"name": "offset", "message": "A valid integer is required.", "error_code": 400}]}"#,
    );

    let output = neuroio()
        .args(["tokens", "list", "--iam-url", &url, "--retries", "0"])
        .env("NEUROIO_API_TOKEN", "some-token-value")
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "error: API error (HTTP 400): Validation error.\n  limit: Ensure this value is between 1 and 100.\n  offset: A valid integer is required.\n"
    );
}

#[test]
fn limit_outside_1_to_100_is_a_usage_error_with_and_without_all() {
    let fake = FakeIam::start().unwrap();
    for args in [
        &["tokens", "list", "--limit", "0"][..],
        &["tokens", "list", "--all", "--limit", "0"],
        &["tokens", "list", "--limit", "101"],
        &["tokens", "list", "--all", "--limit", "500"],
    ] {
        let output = run(&fake, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(stdout(&output), "", "{args:?}");
        let value = args[args.len() - 1];
        assert!(
            stderr(&output).starts_with(&format!(
                "error: invalid value '{value}' for '--limit <LIMIT>': {value} is not in 1..=100\n"
            )),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert!(fake.requests().is_empty());
    let edges = [
        run(&fake, &["tokens", "list", "--limit", "1"]),
        run(&fake, &["tokens", "list", "--limit", "100"]),
    ];
    assert!(edges.iter().all(|o| o.status.code() == Some(0)));
}

#[test]
fn negative_id_is_refused_before_any_request() {
    let fake = FakeIam::start().unwrap();
    for args in [
        &["tokens", "get", "--", "-5"][..],
        &["tokens", "update", "--active", "false", "--", "-5"],
        &["tokens", "delete", "--", "-9223372036854775808"],
    ] {
        let output = run(&fake, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(stdout(&output), "");
        assert_eq!(
            stderr(&output),
            "error: invalid token reference: a token id cannot be negative; ids are positive integers\n"
        );
    }
    assert!(fake.requests().is_empty());
}

#[test]
fn fake_server_on_a_taken_port_exits_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();

    let output = neuroio()
        .args(["fake-server", "--port", &port.to_string()])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        format!("error: cannot listen on 127.0.0.1:{port}: the port is in use\n")
    );
}

#[test]
fn usage_errors_exit_2() {
    let fake = FakeIam::start().unwrap();
    for args in [
        &["tokens", "list", "--permanent", "--temporary"][..],
        &["tokens", "list", "--all", "--offset", "3"],
        &["tokens", "update", "1", "--active", "maybe"],
        &["tokens", "frobnicate"],
        &["tokens", "list", "--timeout", "-1"],
        &["tokens", "get", ".."],
        &["--token", "abc", "tokens", "list"],
    ] {
        let output = run(&fake, args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{args:?}");
        assert!(!stderr(&output).is_empty(), "{args:?}");
    }
    assert!(fake.requests().is_empty());
}

#[test]
fn no_token_at_all_exits_2() {
    let fake = FakeIam::start().unwrap();

    let output = run_as(&fake, None, &["tokens", "list"]);

    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("NEUROIO_API_TOKEN"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn server_not_there_exits_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = neuroio()
        .args([
            "tokens",
            "list",
            "--iam-url",
            &format!("http://127.0.0.1:{port}"),
            "--retries",
            "0",
        ])
        .env("NEUROIO_API_TOKEN", "some-token-value")
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(3));
    let err = stderr(&output);
    // The URL in full: scheme, host, port and path.
    assert!(
        err.starts_with(&format!(
            "error: tokens.list: could not connect to http://127.0.0.1:{port}/v1/tokens/ \
             (refused or unreachable)"
        )),
        "{err}"
    );
    assert!(!err.contains("some-token-value"));
}

#[test]
fn timeout_exits_3() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let output = neuroio()
        .args([
            "tokens",
            "get",
            "1",
            "--iam-url",
            &url,
            "--timeout",
            "0.3",
            "--retries",
            "0",
        ])
        .env("NEUROIO_API_TOKEN", "some-token-value")
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(3));
    assert!(stderr(&output).contains("timed out"), "{}", stderr(&output));
}

#[test]
fn token_from_a_file_and_from_stdin() {
    let fake = FakeIam::start().unwrap();
    let dir = std::env::temp_dir().join(format!("neuroio-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, format!("{}\n", fake.root_token())).unwrap();

    let from_file = run_as(
        &fake,
        None,
        &["tokens", "list", "--token-file", file.to_str().unwrap()],
    );
    assert_eq!(json(&from_file).as_array().unwrap().len(), 1);

    let mut child = neuroio()
        .args(["tokens", "list", "--token-file", "-"])
        .env_remove("NEUROIO_API_TOKEN")
        .env("NEUROIO_IAM_URL", fake.url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", fake.root_token()).unwrap();
    let from_stdin = child.wait_with_output().unwrap();
    assert_eq!(json(&from_stdin).as_array().unwrap().len(), 1);

    let missing = run_as(
        &fake,
        None,
        &[
            "tokens",
            "list",
            "--token-file",
            dir.join("nope").to_str().unwrap(),
        ],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot read the token file"));
    std::fs::remove_dir_all(&dir).unwrap();

    let auths: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(auths, vec![format!("Token {}", fake.root_token()); 2]);
}

#[test]
fn retries_option_is_applied() {
    let fake = FakeIam::start().unwrap();
    fake.inject(neuroio::fake::Fault::status(503), 10);

    let output = run(&fake, &["tokens", "list", "--retries", "3"]);

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(fake.requests().len(), 4);
}

/// Starts `neuroio fake-server` and returns it with its first line, parsed.
fn start_fake_server(
    args: &[&str],
) -> (
    std::process::Child,
    Value,
    BufReader<std::process::ChildStdout>,
) {
    let mut child = neuroio()
        .arg("fake-server")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let info: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first:?}"));
    (child, info, out)
}

fn terminate(child: &mut std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn fake_server_serves_until_sigterm() {
    let (mut child, info, _out) = start_fake_server(&[]);
    let url = info["url"].as_str().unwrap().to_owned();
    let root = info["root_token"].as_str().unwrap();
    assert_eq!(field_names(&info), ["root_token", "url", "user"]);
    assert_eq!(field_names(&info["user"]), ["password", "username"]);

    let output = neuroio()
        .args(["tokens", "create", "--iam-url", &url])
        .env("NEUROIO_API_TOKEN", root)
        .output()
        .unwrap();
    assert_eq!(json(&output)["is_active"], true);

    terminate(&mut child);
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(0));
    let said = String::from_utf8_lossy(&done.stderr);
    assert!(said.contains("simulator stopped"), "{said}");
    // The lines to paste point both hosts at the simulator.
    assert!(
        said.contains(&format!(
            "  export NEUROIO_IAM_URL={url} NEUROIO_API_URL={url} NEUROIO_API_TOKEN={root}\n"
        )),
        "{said}"
    );
    let addr = url.trim_start_matches("http://");
    assert!(TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(1)).is_err());
}

#[test]
fn fake_server_binds_the_given_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (mut child, info, _out) = start_fake_server(&["--port", &port.to_string()]);

    assert_eq!(info["url"], format!("http://127.0.0.1:{port}"));

    terminate(&mut child);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn fake_server_user_logs_in_and_temporary_lifetime_applies() {
    let (mut child, info, _out) = start_fake_server(&["--temporary-lifetime", "90"]);
    let url = info["url"].as_str().unwrap();
    let user = &info["user"];

    let (client, login) = neuroio::Client::builder()
        .iam_url(url)
        .login(
            user["username"].as_str().unwrap(),
            user["password"].as_str().unwrap(),
        )
        .unwrap();
    let made = client.tokens().create(false).unwrap();

    terminate(&mut child);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    for token in [&login.token, &made] {
        let lifetime = token.expires.unwrap() - token.created;
        assert_eq!(lifetime.whole_seconds(), 90, "{token:?}");
    }
}

#[test]
fn fake_server_refuses_a_lifetime_that_is_not_positive() {
    for bad in ["0", "-3", "soon", "1e30"] {
        let output = neuroio()
            .args(["fake-server", &format!("--temporary-lifetime={bad}")])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad}");
        assert_eq!(stdout(&output), "", "{bad}");
        assert!(
            stderr(&output).starts_with(&format!(
                "error: invalid value '{bad}' for '--temporary-lifetime <SECONDS>'"
            )),
            "{bad}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn every_command_prints_a_token_in_one_shape_with_its_kind_and_whether_it_expired() {
    let fake = FakeIam::start().unwrap();
    // Expiry is judged by this machine's clock, which the simulator's
    // `advance` does not move: temporary tokens live 3 s here.
    fake.set_temporary_lifetime(Duration::from_secs(3));
    let created = run(&fake, &["tokens", "create"]);
    let login = run_with_stdin(
        &fake,
        &[
            "login",
            "--no-store",
            "--username",
            &fake.root_username(),
            "--password-file",
            "-",
        ],
        &fake.root_password(),
    );
    let created_text = stdout(&created);
    let login_text = stdout(&login);
    // The same fields in the same order, in create and login alike.
    let order = |text: &str| -> Vec<String> {
        let token = text.find("\"created\"").map(|at| &text[at..]).unwrap();
        let end = token.find('}').unwrap();
        token[..end]
            .split(',')
            .map(|field| field.split(':').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        order(&created_text),
        [
            "\"created\"",
            "\"expired\"",
            "\"expires\"",
            "\"id\"",
            "\"is_active\"",
            "\"key\"",
            "\"kind\""
        ]
    );
    assert_eq!(order(&login_text), order(&created_text));
    assert_eq!(json(&created)["kind"], "temporary");
    assert_eq!(json(&created)["expired"], false);
    assert_eq!(json(&login)["token"]["kind"], "temporary");

    // Once their lifetime has passed, the temporary tokens have expired:
    // JSON says so, and the table's ACTIVE column.
    std::thread::sleep(Duration::from_millis(3_500));
    let listed = json(&run(&fake, &["tokens", "list"]));
    let shape: Vec<(u64, &str, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_u64().unwrap(),
                t["kind"].as_str().unwrap(),
                t["expired"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (3, "temporary", true),
            (2, "temporary", true),
            (1, "permanent", false)
        ]
    );
    let table = stdout(&run(&fake, &["tokens", "list", "--output", "table"]));
    let active: Vec<&str> = table
        .lines()
        .map(|line| line.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(active, ["ACTIVE", "expired", "expired", "true"]);
}

#[test]
fn a_wrong_base_path_names_the_url_in_the_error() {
    let fake = FakeIam::start().unwrap();
    let base = format!("{}/wrong/base", fake.url());

    let output = run(&fake, &["tokens", "list", "--iam-url", &base]);

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "error: API error (HTTP 404): Not found: the simulator has no such endpoint.\n\
             the list of tokens at {base}/v1/tokens/ was not found: check the base URL (--iam-url)\n"
        )
    );
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(fake.requests()[0].path, "/wrong/base/v1/tokens/");
}

/// Every command of the binary, as the words that name it (`["tokens",
/// "list"]`), groups and leaves, read off its own help: the "Commands:"
/// section of `neuroio --help` and of each group's help, so that no test
/// keeps a list of commands by hand. Cached: the tree does not change.
fn command_tree() -> &'static [Vec<String>] {
    static TREE: std::sync::OnceLock<Vec<Vec<String>>> = std::sync::OnceLock::new();
    TREE.get_or_init(|| {
        let mut found = Vec::new();
        let mut pending = vec![Vec::<String>::new()];
        // A bound on the walk, far above the tool's size.
        while let Some(path) = pending.pop() {
            assert!(found.len() < 500, "the command tree does not end");
            let output = neuroio()
                .args(&path)
                .arg("--help")
                .output()
                .expect("run neuroio --help");
            let text = stdout(&output);
            let Some(section) = text.split("\nCommands:\n").nth(1) else {
                continue;
            };
            for line in section.lines().take_while(|line| !line.trim().is_empty()) {
                // A command's line; a summary that wraps goes on indented
                // further.
                let Some(name) = line
                    .strip_prefix("  ")
                    .filter(|rest| !rest.starts_with(' '))
                    .and_then(|rest| rest.split_whitespace().next())
                else {
                    continue;
                };
                if name == "help" {
                    continue;
                }
                let mut sub = path.clone();
                sub.push(name.to_owned());
                found.push(sub.clone());
                pending.push(sub);
            }
        }
        found.sort();
        found
    })
}

/// The commands of [`command_tree`] that have no subcommands.
fn leaf_commands() -> Vec<Vec<String>> {
    let tree = command_tree();
    tree.iter()
        .filter(|path| {
            !tree
                .iter()
                .any(|other| other.len() > path.len() && other.starts_with(path))
        })
        .cloned()
        .collect()
}
