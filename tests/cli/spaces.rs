//! `neuroio spaces`: list (a page, or every page with the library's walker),
//! get, create, rename, delete (only with --yes) and create-token, their
//! exit codes, escaped names in tables, and `--all` of every list ending
//! against a server that always sends the same page.

use super::*;
use neuroio::fake::Fault;

/// Runs the binary against `url` for both hosts with `token`.
fn run_against(url: &str, token: &str, args: &[&str]) -> Output {
    neuroio()
        .args(args)
        .env("NEUROIO_API_TOKEN", token)
        .env("NEUROIO_IAM_URL", url)
        .env("NEUROIO_API_URL", url)
        .stdin(Stdio::null())
        .output()
        .expect("run the neuroio binary")
}

/// The root client and spaces made in this order.
fn with_spaces(fake: &FakeIam, names: &[&str]) -> Vec<neuroio::Space> {
    let sdk = client(fake, fake.root_token());
    let made = names
        .iter()
        .map(|name| sdk.spaces().create(name).unwrap())
        .collect();
    fake.clear_requests();
    made
}

fn queries(fake: &FakeIam) -> Vec<String> {
    fake.requests()
        .iter()
        .map(|r| r.query.clone().unwrap_or_default())
        .collect()
}

#[test]
fn list_prints_a_json_array_and_passes_query_limit_and_offset() {
    let fake = FakeIam::start().unwrap();
    let made = with_spaces(&fake, &["Camera north", "Lab", "camera south"]);

    let all = json(&run(&fake, &["spaces", "list"]));
    let page = json(&run(
        &fake,
        &[
            "spaces", "list", "--query", "CAMERA", "--limit", "1", "--offset", "1",
        ],
    ));

    assert_eq!(
        all,
        serde_json::json!([
            {"id": made[2].id, "name": "camera south"},
            {"id": made[1].id, "name": "Lab"},
            {"id": made[0].id, "name": "Camera north"},
            {"id": 1, "name": "default"},
        ])
    );
    assert_eq!(
        page,
        serde_json::json!([{"id": made[0].id, "name": "Camera north"}])
    );
    assert_eq!(
        queries(&fake),
        ["limit=20&offset=0", "limit=1&offset=1&q=CAMERA"]
    );
}

#[test]
fn list_all_walks_pages_of_100_unless_limit_is_given() {
    let fake = FakeIam::start().unwrap();
    let names: Vec<String> = (0..4).map(|i| format!("s{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    with_spaces(&fake, &refs);

    let everything = json(&run(&fake, &["spaces", "list", "--all"]));
    assert_eq!(everything.as_array().unwrap().len(), 5);
    assert_eq!(queries(&fake), ["limit=100&offset=0"]);
    fake.clear_requests();

    let output = run(
        &fake,
        &[
            "spaces", "list", "--all", "--limit", "2", "--query", "s", "--output", "jsonl",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let shown: Vec<&str> = lines.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(shown, ["s3", "s2", "s1", "s0"]);
    assert_eq!(
        queries(&fake),
        [
            "limit=2&offset=0&q=s",
            "limit=2&offset=1&q=s",
            "limit=2&offset=2&q=s",
            "limit=2&offset=3&q=s"
        ]
    );

    // The token lists take the library's page size too.
    fake.clear_requests();
    json(&run(&fake, &["tokens", "list", "--all"]));
    assert_eq!(queries(&fake), ["limit=100&offset=0"]);

    let both = run(&fake, &["spaces", "list", "--all", "--offset", "1"]);
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn all_ends_against_a_server_that_always_sends_the_same_page() {
    for (args, path, body) in [
        (&["tokens", "list"][..], "/v1/tokens/", crate::support::PAGE),
        (
            &["stream-tokens", "list"],
            "/v1/streams/tokens/",
            crate::support::PAGE,
        ),
        (
            &["spaces", "list"],
            "/v1/spaces/",
            r#"[{"id": 9, "name": "a"}, {"id": 8, "name": "b"}]"#,
        ),
    ] {
        let mut server = mockito::Server::new();
        // The same full page of 2, whatever the offset.
        let page = server
            .mock("GET", path)
            .match_query(mockito::Matcher::Any)
            .with_status(200)
            .with_body(body)
            .expect(6)
            .create();
        for format in ["json", "jsonl"] {
            let mut all = args.to_vec();
            all.extend(["--all", "--limit", "2", "--output", format]);

            let output = run_against(&server.url(), "some-api-token", &all);

            assert_eq!(
                output.status.code(),
                Some(1),
                "{all:?}: {}",
                stderr(&output)
            );
            assert!(
                stderr(&output).contains(
                    "the page at offset 1 holds only items of the pages before it: the server \
                     seems to ignore `offset`"
                ),
                "{all:?}: {}",
                stderr(&output)
            );
            if format == "json" {
                assert_eq!(stdout(&output), "", "{all:?}");
            } else {
                assert_eq!(stdout(&output).lines().count(), 2, "{all:?}");
            }
        }
        // Three requests per run: the page, the page again at offset 1,
        // and the first page again, unchanged.
        page.assert();
    }
}

#[test]
fn all_as_json_stops_past_100000_items_and_prints_nothing() {
    // The CLI's own bound, tested as shipped (no test-only switch): 1012
    // pages of new tokens (100, then 99 each: every page after the first
    // starts at the last token of the one before), and the error once
    // more than 100,000 are held. Table output takes the same path (it
    // too needs the whole list first).
    let mut server = mockito::Server::new();
    let pages = crate::support::endless_pages(&mut server, "/v1/tokens/")
        .match_header("authorization", "Token some-api-token")
        .expect(1012)
        .create();

    let output = run_against(
        &server.url(),
        "some-api-token",
        &["tokens", "list", "--all", "--output", "json"],
    );

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "error: the list has more than 100000 tokens, too many to hold for --output json or \
         table, so nothing was printed: use --output jsonl, which prints each token as it \
         comes, or narrow the list with a filter\n"
    );
    pages.assert();
}

#[test]
fn get_create_and_rename_print_the_space() {
    let fake = FakeIam::start().unwrap();

    let made = json(&run(&fake, &["spaces", "create", "  Lab "]));
    let id = made["id"].as_u64().unwrap();
    let got = json(&run(&fake, &["spaces", "get", &id.to_string()]));
    let renamed = json(&run(
        &fake,
        &["spaces", "rename", &id.to_string(), "Warehouse"],
    ));

    assert_eq!(made, serde_json::json!({"id": id, "name": "Lab"}));
    assert_eq!(got, made);
    assert_eq!(renamed, serde_json::json!({"id": id, "name": "Warehouse"}));
    let sent = fake.requests();
    assert_eq!(sent.len(), 3);
    assert_eq!(
        (sent[0].method.as_str(), sent[0].path.as_str()),
        ("POST", "/v1/spaces/")
    );
    assert_eq!(sent[0].body, br#"{"name":"  Lab "}"#);
    assert_eq!(
        (sent[1].method.as_str(), sent[1].path.as_str()),
        ("GET", &*format!("/v1/spaces/{id}/"))
    );
    assert_eq!(
        (sent[2].method.as_str(), sent[2].path.as_str()),
        ("PATCH", &*format!("/v1/spaces/{id}/"))
    );
    assert_eq!(sent[2].body, br#"{"name":"Warehouse"}"#);
}

#[test]
fn refusals_have_the_exit_codes_of_tokens() {
    let fake = FakeIam::start().unwrap();
    let made = with_spaces(&fake, &["Lab"]);
    let lab = made[0].id.to_string();

    // Refused before sending: 2.
    for args in [
        &["spaces", "create", " "][..],
        &["spaces", "rename", &lab, ""],
        &["spaces", "get", "lab"],
        &["spaces", "get", "-1"],
    ] {
        let output = run(&fake, args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(stdout(&output), "", "{args:?}");
    }
    assert_eq!(
        stderr(&run(&fake, &["spaces", "create", " "])),
        "error: spaces.create: the space name is empty or only whitespace; give a name of 1 to \
         255 characters (surrounding whitespace does not count)\n"
    );
    assert!(fake.requests().is_empty());

    // The API refuses: 1, with the field error.
    let taken = run(&fake, &["spaces", "create", "Lab"]);
    assert_eq!(taken.status.code(), Some(1));
    assert_eq!(
        stderr(&taken),
        "error: API error (HTTP 400): Validation error.\n  name: A space with this name already exists.\n"
    );
    let unknown = run(&fake, &["spaces", "get", "0"]);
    assert_eq!(unknown.status.code(), Some(1));
    // The error names the space, and the URL it was not found at.
    assert_eq!(
        stderr(&unknown),
        format!(
            "error: API error (HTTP 404): Not found.\nspace 0 at {}/v1/spaces/0/ was not found: check the \
             space's id (`neuroio spaces list` shows them), and the base URL (--iam-url)\n",
            fake.url()
        )
    );

    // A space token may not: 4.
    let key = client(&fake, fake.root_token())
        .spaces()
        .create_token(made[0].id, false)
        .unwrap()
        .key;
    for args in [
        &["spaces", "create", "Mine"][..],
        &["spaces", "rename", &lab, "Mine"],
        &["spaces", "delete", &lab, "--yes"],
        &["spaces", "get", "1"],
    ] {
        let output = run_as(&fake, Some(key.secret()), args);
        assert_eq!(
            output.status.code(),
            Some(4),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let own = json(&run_as(&fake, Some(key.secret()), &["spaces", "list"]));
    assert_eq!(own, serde_json::json!([{"id": made[0].id, "name": "Lab"}]));

    // No answer: 3.
    fake.inject(Fault::Close, 10);
    let lost = run(&fake, &["spaces", "get", &lab, "--retries", "0"]);
    assert_eq!(lost.status.code(), Some(3), "{}", stderr(&lost));
}

#[test]
fn delete_refuses_without_yes() {
    let fake = FakeIam::start().unwrap();
    let made = with_spaces(&fake, &["Lab"]);
    let lab = made[0].id.to_string();

    let refused = run(&fake, &["spaces", "delete", &lab]);

    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(stdout(&refused), "");
    assert_eq!(
        stderr(&refused),
        format!(
            "error: refusing to delete space {lab} without --yes (every token of the space is \
             deleted with it)\n"
        )
    );
    assert!(fake.requests().is_empty());

    let deleted = json(&run(&fake, &["spaces", "delete", &lab, "--yes"]));
    assert_eq!(
        deleted,
        serde_json::json!({"deleted": {"collection": "spaces", "id": made[0].id}})
    );
    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].method.as_str(), sent[0].path.as_str()),
        ("DELETE", &*format!("/v1/spaces/{lab}/"))
    );
    let table = run(
        &fake,
        &["spaces", "delete", &lab, "--yes", "--output", "table"],
    );
    assert_eq!(table.status.code(), Some(1));

    let default = run(&fake, &["spaces", "delete", "1", "--yes"]);
    assert_eq!(default.status.code(), Some(1));
    assert_eq!(
        stderr(&default),
        "error: API error (HTTP 400): The default space of an account cannot be deleted.\n"
    );
}

#[test]
fn tables_escape_control_characters_in_names() {
    let fake = FakeIam::start().unwrap();
    // Another server may allow such names; the simulator's API refuses
    // them, so they go straight into its store.
    let root = fake.root_token();
    let red = fake.add_space(&root, "a\u{1b}[31mred\\n").unwrap();
    let tab = fake.add_space(&root, "tab\there\u{202e}x").unwrap();

    let table = run(&fake, &["spaces", "list", "--output", "table"]);
    let one = run(
        &fake,
        &["spaces", "get", &red.to_string(), "--output", "table"],
    );

    assert_eq!(table.status.code(), Some(0));
    assert_eq!(
        stdout(&table),
        format!(
            "ID  NAME\n{tab}   tab\\u{{9}}here\\u{{202e}}x\n{red}   a\\u{{1b}}[31mred\\n\n1   default\n"
        )
    );
    assert_eq!(
        stdout(&one),
        format!("ID  NAME\n{red}   a\\u{{1b}}[31mred\\n\n")
    );
    // JSON keeps the name as the server sent it.
    let as_json = json(&run(&fake, &["spaces", "get", &red.to_string()]));
    assert_eq!(as_json["name"], "a\u{1b}[31mred\\n");
}

#[test]
fn spaces_create_token_prints_a_token_of_that_space() {
    let fake = FakeIam::start().unwrap();
    let space = fake
        .add_space(&fake.root_token(), "lab")
        .unwrap()
        .to_string();

    let made = json(&run(&fake, &["spaces", "create-token", &space]));
    let permanent = json(&run(
        &fake,
        &["spaces", "create-token", &space, "--permanent"],
    ));

    assert!(made["expires"].is_string());
    assert_eq!(permanent["expires"], Value::Null);
    let key = made["key"].as_str().unwrap();
    let me = json(&run_as(&fake, Some(key), &["whoami"]));
    assert_eq!(
        me,
        serde_json::json!({"space": {"id": space.parse::<u64>().unwrap(), "name": "lab"}})
    );
    let sent = fake.requests().remove(0);
    assert_eq!(sent.path, format!("/v1/spaces/{space}/tokens/"));

    // A space token cannot make space tokens (403); an unknown space is 404.
    let forbidden = run_as(&fake, Some(key), &["spaces", "create-token", &space]);
    assert_eq!(forbidden.status.code(), Some(4));
    let unknown = run(&fake, &["spaces", "create-token", "999"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        stderr(&unknown),
        format!(
            "error: API error (HTTP 404): Not found.\nspace 999 at {}/v1/spaces/999/tokens/ was not found: check the \
             space's id (`neuroio spaces list` shows them), and the base URL (--iam-url)\n",
            fake.url()
        )
    );
    let not_a_number = run(&fake, &["spaces", "create-token", "lab"]);
    assert_eq!(not_a_number.status.code(), Some(2));
}

#[test]
fn spaces_create_token_into_a_closed_pipe_deletes_it_again() {
    let fake = FakeIam::start().unwrap();
    let space = fake.add_space(&fake.root_token(), "lab").unwrap();

    let output = super::delivery::run_into_closed_pipe(
        &fake,
        &["spaces", "create-token", &space.to_string()],
    );

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).ends_with("so it was deleted again\n"),
        "{}",
        stderr(&output)
    );
    let methods: Vec<_> = fake.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST", "DELETE"]);
    // Gone: its id answers 404 even to the account.
    assert_eq!(fake.requests()[1].path, "/v1/tokens/2/");
}

#[test]
fn spaces_create_token_names_the_token_it_could_not_delete() {
    let fake = FakeIam::start().unwrap();
    let space = fake.add_space(&fake.root_token(), "lab").unwrap();
    fake.inject(Fault::Delay(Duration::ZERO), 1);
    fake.inject(Fault::status(503), 1);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);

    let output = neuroio()
        .args([
            "spaces",
            "create-token",
            &space.to_string(),
            "--retries",
            "0",
        ])
        .env("NEUROIO_API_TOKEN", fake.root_token())
        .env("NEUROIO_IAM_URL", fake.url())
        .stdout(Stdio::from(writer))
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).ends_with(&format!(
            "delete it with: neuroio tokens delete 2 (with a token of space {space})\n"
        )),
        "{}",
        stderr(&output)
    );
}
