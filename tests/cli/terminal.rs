//! A person at a terminal gets a table and progress; a program reading a
//! pipe gets JSON and nothing extra on standard error. The terminal is a
//! pseudo-terminal made by util-linux `script`.

use super::*;

/// Runs `shell` (a command line for sh) under a pseudo-terminal, with the
/// simulator's URL and root token; returns what appeared on the terminal,
/// with the terminal's \r\n turned back into \n.
fn on_terminal(fake: &FakeIam, shell: &str) -> (Option<i32>, String) {
    let output = Command::new("script")
        .args(["-qec", shell, "/dev/null"])
        .env("NEUROIO_API_TOKEN", fake.root_token())
        .env("NEUROIO_IAM_URL", fake.url())
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("util-linux script runs");
    let text = String::from_utf8(output.stdout)
        .unwrap()
        .replace("\r\n", "\n");
    (output.status.code(), text)
}

fn bin() -> String {
    format!("'{BIN}'")
}

#[test]
fn table_on_a_terminal_json_in_a_pipe_and_output_overrides_both() {
    let fake = FakeIam::start().unwrap();
    let bin = bin();

    let (code, table) = on_terminal(&fake, &format!("{bin} tokens list"));
    assert_eq!(code, Some(0), "{table}");
    let mut lines = table.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["ID", "ACTIVE", "KIND", "CREATED", "EXPIRES"]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[..3], ["1", "true", "permanent"]);
    assert_eq!(lines.next(), None);
    // No colour, so nothing for NO_COLOR to turn off.
    assert!(!table.contains('\x1b'));

    let (code, piped) = on_terminal(&fake, &format!("{bin} tokens list | cat"));
    assert_eq!(code, Some(0));
    let piped: Value = serde_json::from_str(&piped).unwrap();
    assert_eq!(piped[0]["id"], 1);

    let (_, forced_json) = on_terminal(&fake, &format!("{bin} tokens list --output json"));
    assert_eq!(serde_json::from_str::<Value>(&forced_json).unwrap(), piped);
    let (_, forced_before) = on_terminal(&fake, &format!("{bin} --output jsonl tokens list"));
    assert_eq!(
        serde_json::from_str::<Value>(&forced_before).unwrap(),
        piped[0]
    );

    let forced_table = run(&fake, &["tokens", "list", "--output", "table"]);
    assert_eq!(stdout(&forced_table), table);
}

#[test]
fn created_key_is_shown_in_the_terminal_table() {
    let fake = FakeIam::start().unwrap();

    let (code, table) = on_terminal(&fake, &format!("{} tokens create", bin()));

    assert_eq!(code, Some(0));
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "ACTIVE", "KIND", "CREATED", "EXPIRES", "KEY"]
    );
    let key = table
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap();
    let sdk = client(&fake, fake.root_token());
    assert_eq!(sdk.tokens().get(2).unwrap().key, key);
}

#[test]
fn list_all_shows_progress_on_a_terminal_only() {
    let fake = FakeIam::start().unwrap();
    fake.add_temporary_tokens(&fake.root_token(), 6).unwrap();

    let (code, progress) = on_terminal(
        &fake,
        &format!("{} tokens list --all --limit 3 > /dev/null", bin()),
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        progress,
        "fetched page 1: 3 tokens so far\n\
         fetched page 2: 6 tokens so far\n\
         fetched page 3: 7 tokens so far\n"
    );

    for format in ["json", "jsonl", "table"] {
        let piped = run(
            &fake,
            &[
                "tokens", "list", "--all", "--limit", "3", "--output", format,
            ],
        );
        assert_eq!(piped.status.code(), Some(0));
        assert_eq!(stderr(&piped), "", "{format}");
    }
}

#[test]
fn delete_all_shows_progress_on_a_terminal_only() {
    let fake = FakeIam::start().unwrap();
    fake.add_temporary_tokens(&fake.root_token(), 2).unwrap();

    let piped = run(&fake, &["tokens", "delete-all", "--temporary", "--yes"]);
    assert_eq!(piped.status.code(), Some(0));
    assert_eq!(stderr(&piped), "");
    assert_eq!(stdout(&piped), "{\"deleted\":\"temporary\"}\n");

    fake.add_temporary_tokens(&fake.root_token(), 2).unwrap();
    let (code, shown) = on_terminal(
        &fake,
        &format!("{} tokens delete-all --temporary --yes", bin()),
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        shown,
        "deleting temporary tokens...\ndeleted temporary tokens\n"
    );
    let left = client(&fake, fake.root_token())
        .tokens()
        .list(None, 100, 0)
        .unwrap();
    assert_eq!(left.len(), 1);
}

#[test]
fn no_color_turns_off_the_colour_of_usage_errors() {
    let fake = FakeIam::start().unwrap();
    let bad = format!("{} tokens list --permanent --temporary", bin());

    let (code, coloured) = on_terminal(&fake, &bad);
    let (plain_code, plain) = on_terminal(&fake, &format!("NO_COLOR=1 {bad}"));

    assert_eq!((code, plain_code), (Some(2), Some(2)));
    assert!(coloured.contains('\x1b'), "{coloured:?}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(
        plain.starts_with("error: the argument '--permanent' cannot be used with '--temporary'\n")
    );
}
