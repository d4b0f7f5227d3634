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
        .env("NEUROIO_CONFIG_DIR", no_config_dir())
        .env_remove("NEUROIO_PROFILE")
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

/// The tool's own error label on a terminal: bold red, as clap's is.
const ERROR: &str = "\x1b[1m\x1b[31merror\x1b[0m";

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
    let (_, forced_before) = on_terminal(&fake, &format!("{bin} tokens -o jsonl list"));
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
    // One line, updated in place, and gone at the end.
    assert_eq!(
        progress,
        "\rfetched page 1: 3 tokens so far\x1b[K\
         \rfetched page 2: 6 tokens so far\x1b[K\
         \rfetched page 3: 7 tokens so far\x1b[K\
         \r\x1b[K"
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
    assert_eq!(
        stdout(&piped),
        "{\"deleted_all\":{\"collection\":\"tokens\",\"kind\":\"temporary\"}}\n"
    );

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
fn the_tools_own_errors_are_coloured_like_claps_on_a_terminal_only() {
    let fake = FakeIam::start().unwrap();
    let missing = format!("{} tokens get 999", bin());

    let (code, coloured) = on_terminal(&fake, &missing);
    let (plain_code, plain) = on_terminal(&fake, &format!("NO_COLOR=1 {missing}"));
    let (piped_code, piped) = on_terminal(&fake, &format!("{missing} 2>&1 | cat"));

    assert_eq!((code, plain_code), (Some(1), Some(1)));
    assert_eq!(piped_code, Some(0));
    assert!(
        coloured.starts_with(&format!("{ERROR}: API error (HTTP 404)")),
        "{coloured:?}"
    );
    for text in [&plain, &piped] {
        assert!(text.starts_with("error: API error (HTTP 404)"), "{text:?}");
        assert!(!text.contains('\x1b'), "{text:?}");
    }
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

/// Runs `shell` under a pseudo-terminal like [`on_terminal`], typing each
/// answer once its prompt shows and the terminal has stopped echoing (so a
/// test sees whether the answer would be echoed, without a race).
fn answer_prompts(fake: &FakeIam, shell: &str, answers: &[(&str, &str)]) -> (Option<i32>, String) {
    drive_terminal(fake, shell, answers, true)
}

/// Runs `shell` under a pseudo-terminal like [`on_terminal`], typing each
/// text (and a newline) once its prompt shows, and, with `no_echo`, the
/// terminal has stopped echoing.
fn drive_terminal(
    fake: &FakeIam,
    shell: &str,
    answers: &[(&str, &str)],
    no_echo: bool,
) -> (Option<i32>, String) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let tty_file = std::env::temp_dir().join(format!(
        "neuroio-cli-tty-{}-{}",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&tty_file);
    let mut child = Command::new("script")
        .args([
            "-qec",
            &format!("tty > '{}'; {shell}", tty_file.display()),
            "/dev/null",
        ])
        .env("NEUROIO_API_TOKEN", fake.root_token())
        .env("NEUROIO_IAM_URL", fake.url())
        .env("NEUROIO_CONFIG_DIR", no_config_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("util-linux script runs");
    let seen = Arc::new(Mutex::new(String::new()));
    let reader = {
        let seen = Arc::clone(&seen);
        let mut out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = std::io::Read::read(&mut out, &mut buf) {
                seen.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let mut stdin = child.stdin.take().unwrap();
    let echo_off = || {
        let Ok(tty) = std::fs::read_to_string(&tty_file) else {
            return false;
        };
        Command::new("stty")
            .args(["-F", tty.trim(), "-a"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(" -echo "))
    };
    let mut shown = 0;
    for (prompt, answer) in answers {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = seen.lock().unwrap().clone();
            if text.matches(prompt).count() > 0 && text.len() > shown && (!no_echo || echo_off()) {
                shown = text.len();
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("no prompt {prompt:?} in {text:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        writeln!(stdin, "{answer}").unwrap();
    }
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let _ = std::fs::remove_file(&tty_file);
    let text = seen.lock().unwrap().replace("\r\n", "\n");
    (status.code(), text)
}

#[test]
fn login_asks_for_the_password_without_echo_and_prints_a_table() {
    let fake = FakeIam::start().unwrap();
    let user = fake.root_username();
    let password = fake.root_password();

    let (code, shown) = answer_prompts(
        &fake,
        &format!("{} login --no-store --username {user}", bin()),
        &[(&format!("Password for {user}: "), &password)],
    );

    assert_eq!(code, Some(0), "{shown}");
    assert!(!shown.contains(&password), "{shown}");
    let mut lines = shown.lines();
    assert_eq!(
        lines.next(),
        Some(format!("Password for {user}: ").as_str())
    );
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["USER", "ID", "ACTIVE", "KIND", "CREATED", "EXPIRES", "KEY"]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[..4], [user.as_str(), "2", "true", "temporary"]);
    // On a terminal, how long the token has left follows its expiry.
    assert_eq!(row[6..8], ["(in", "23h)"], "{shown}");
    let sdk = client(&fake, fake.root_token());
    assert!(sdk.with_api_token(row[8]).unwrap().whoami().is_ok());
}

#[test]
fn password_change_asks_on_a_terminal_and_the_new_one_twice() {
    let fake = FakeIam::start().unwrap();
    let old = fake.root_password();
    let change = format!("{} password change", bin());

    let (code, differ) = answer_prompts(
        &fake,
        &change,
        &[
            ("Current password: ", &old),
            ("New password: ", "first-try"),
            ("New password again: ", "second-try"),
        ],
    );
    assert_eq!(code, Some(2), "{differ}");
    assert!(
        differ.ends_with(&format!(
            "{ERROR}: the new password and its repetition differ; nothing was changed\n"
        )),
        "{differ}"
    );

    let (code, shown) = answer_prompts(
        &fake,
        &change,
        &[
            ("Current password: ", &old),
            ("New password: ", "brand-new-secret"),
            ("New password again: ", "brand-new-secret"),
        ],
    );
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        !shown.contains(&old) && !shown.contains("new-secret"),
        "{shown}"
    );
    assert!(shown.ends_with("password changed\n"), "{shown}");
    let (_, login) = neuroio::Client::builder()
        .iam_url(fake.url())
        .login(fake.root_username(), "brand-new-secret")
        .unwrap();
    assert_eq!(login.user.username, fake.root_username());
}

#[test]
fn one_ctrl_c_on_the_terminal_reaches_the_command_of_exec_once() {
    let fake = FakeIam::start().unwrap();
    // The command counts the SIGINTs it gets: it says it is ready, waits
    // for the first, then a while longer for a second (a busy loop of
    // builtins, so the shell runs its trap as soon as each arrives), and
    // exits with the count.
    let counter = r#"n=0; trap 'n=$((n+1))' INT; echo ready
        i=0; while [ $n -eq 0 ] && [ $i -lt 3000000 ]; do i=$((i+1)); done
        i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done
        echo "got $n"; exit $n"#;
    let (code, shown) = drive_terminal(
        &fake,
        &format!(
            "exec {} exec -- sh -c '{}'",
            bin(),
            counter.replace('\'', r"'\''")
        ),
        &[("ready", "\u{3}")],
        false,
    );

    assert!(shown.ends_with("got 1\n"), "{shown:?}");
    // The command exits with its count, 1; exec, which the Ctrl-C reached
    // too, with 128+2.
    assert_eq!(code, Some(130), "{shown}");
    assert_eq!(ids(&fake), [1]);
}

/// A user name and space name with escape sequences that would set the
/// window title, write the clipboard (OSC 52) and clear the screen, and a
/// C1 control (CSI) and DEL.
const HOSTILE: &str = "ada\u{1b}]0;pwned\u{7}\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\u{9b}31m\u{7f}";
const HOSTILE_SHOWN: &str =
    r"ada\u{1b}]0;pwned\u{7}\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\u{9b}31m\u{7f}";

#[test]
fn server_text_reaches_the_terminal_escaped_and_json_stays_json() {
    let fake = FakeIam::start().unwrap();
    let token = fake.add_account_with_user(HOSTILE, "pw-1234").unwrap();
    let space_token = client(&fake, token.as_str())
        .spaces()
        .create_token(fake.add_space(&token, HOSTILE).unwrap(), false)
        .unwrap();

    for (who, column) in [(token.as_str(), 0), (space_token.key.secret(), 2)] {
        let (code, table) = on_terminal(
            &fake,
            &format!("NEUROIO_API_TOKEN='{who}' {} whoami", bin()),
        );
        assert_eq!(code, Some(0), "{table}");
        assert!(
            !table.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{7f}']),
            "{table:?}"
        );
        let row: Vec<&str> = table
            .lines()
            .nth(1)
            .unwrap()
            .split("  ")
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(row[column].trim(), HOSTILE_SHOWN, "{table}");
    }

    let (code, login) = on_terminal(
        &fake,
        &format!(
            "printf 'pw-1234' | {} login --no-store --username \"$(printf '{}')\" --password-file -",
            bin(),
            HOSTILE
                .replace('\u{1b}', r"\033")
                .replace('\u{7}', r"\007")
                .replace('\u{9b}', r"\302\233")
                .replace('\u{7f}', r"\177")
        ),
    );
    assert_eq!(code, Some(0), "{login}");
    assert!(
        !login.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{7f}']),
        "{login:?}"
    );
    assert!(
        login.lines().nth(1).unwrap().starts_with(HOSTILE_SHOWN),
        "{login}"
    );

    // In a pipe, JSON: the same text, every control escaped as JSON.
    let piped = run_as(&fake, Some(&token), &["whoami"]);
    let raw = stdout(&piped);
    assert!(
        !raw.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{7f}']),
        "{raw:?}"
    );
    assert!(
        raw.contains(r"\u001b]0;pwned\u0007") && raw.contains(r"\u009b31m\u007f"),
        "{raw}"
    );
    assert_eq!(json(&piped)["username"], HOSTILE);
}

#[test]
fn an_error_message_from_the_server_reaches_stderr_escaped() {
    let mut server = mockito::Server::new();
    let body = serde_json::json!({
        "error_codes": [400],
        "message": format!("Bad {HOSTILE}\nforged line"),
        "fields": [{"name": HOSTILE, "message": HOSTILE, "error_code": 400}],
    });
    let mock = server
        .mock("GET", "/v1/whoami/")
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .expect(1)
        .create();
    let fake = FakeIam::start().unwrap();

    let (code, shown) = on_terminal(
        &fake,
        &format!(
            "NEUROIO_IAM_URL='{}' {} whoami --retries 0",
            server.url(),
            bin()
        ),
    );

    mock.assert();
    assert_eq!(code, Some(1), "{shown}");
    assert_eq!(
        shown,
        format!(
            "{ERROR}: API error (HTTP 400): Bad {HOSTILE_SHOWN}\\u{{a}}forged line\n  {HOSTILE_SHOWN}: {HOSTILE_SHOWN}\n"
        )
    );
}

#[test]
fn get_update_and_delete_ask_for_the_key_without_echo_on_a_terminal() {
    let fake = FakeIam::start().unwrap();
    let made = client(&fake, fake.root_token())
        .tokens()
        .create(false)
        .unwrap();
    let key = made.key.secret();

    for command in ["get -", "update - --active false", "delete --key-file -"] {
        let (code, shown) = answer_prompts(
            &fake,
            &format!("{} tokens {command} --output json", bin()),
            &[("Token id or key: ", key)],
        );
        assert_eq!(code, Some(0), "{command}: {shown}");
        assert!(!shown.contains(key), "{command}: {shown}");
        let mut lines = shown.lines();
        assert_eq!(lines.next(), Some("Token id or key: "), "{command}");
        let printed: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        match command {
            "get -" => assert_eq!(printed["id"], made.id),
            "update - --active false" => assert_eq!(printed["is_active"], false),
            _ => assert_eq!(
                printed,
                serde_json::json!({"deleted": {"collection": "tokens", "id": made.id}})
            ),
        }
    }
    assert_eq!(ids(&fake), [1]);
}

#[test]
fn delete_all_on_a_terminal_asks_to_type_the_filter_word_back() {
    let fake = FakeIam::start().unwrap();
    fake.add_temporary_tokens(&fake.root_token(), 2).unwrap();
    let command = format!("{} tokens delete-all --temporary", bin());
    // The token in use comes from the environment: its kind is not known.
    let asked = "This deletes temporary tokens, including the token in use if it is \
                 temporary.\nType temporary to go ahead: ";
    let prompt = "Type temporary to go ahead: ";

    let (code, refused) = drive_terminal(&fake, &command, &[(prompt, "all")], false);
    assert_eq!(code, Some(2), "{refused}");
    assert_eq!(
        refused,
        format!("{asked}all\n{ERROR}: the answer was not temporary; nothing was deleted\n")
    );
    assert_eq!(ids(&fake), [3, 2, 1]);

    let (code, shown) = drive_terminal(&fake, &command, &[(prompt, "temporary")], false);
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(
        shown,
        format!("{asked}temporary\ndeleting temporary tokens...\ndeleted temporary tokens\n")
    );
    assert_eq!(ids(&fake), [1]);
}

#[test]
fn secrets_from_standard_input_on_a_terminal_are_asked_for_without_echo() {
    let fake = FakeIam::start().unwrap();
    let token = fake.root_token();
    let user = fake.root_username();

    // The API token, with --token-file - (the environment's is not used).
    let (code, shown) = answer_prompts(
        &fake,
        &format!(
            "NEUROIO_API_TOKEN=unused {} whoami --token-file - --output json",
            bin()
        ),
        &[("API token: ", &token)],
    );
    assert_eq!(code, Some(0), "{shown}");
    assert!(!shown.contains(&token), "{shown}");
    let mut lines = shown.lines();
    assert_eq!(lines.next(), Some("API token: "));
    let me: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(me["username"], user.as_str());
    assert_eq!(lines.next(), None);

    // exec: the command still runs, with the terminal as its input.
    let (code, shown) = answer_prompts(
        &fake,
        &format!("{} exec --token-file - -- echo ran", bin()),
        &[("API token: ", &token)],
    );
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(shown, "API token: \nran\n");
    assert_eq!(ids(&fake), [1]);

    // The current password with --old-password-file -, the new one from a file.
    let old = fake.root_password();
    let new_file = temp_file("terminal-secrets", "new", "second-secret-1\n");
    let (code, shown) = answer_prompts(
        &fake,
        &format!(
            "{} password change --old-password-file - --new-password-file '{}' --output json",
            bin(),
            new_file.display()
        ),
        &[("Current password: ", &old)],
    );
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(
        shown,
        "Current password: \n{\"password_changed\":true,\"tokens_reset\":false}\n"
    );

    // The new password with --new-password-file -: asked twice.
    let old_file = temp_file("terminal-secrets", "old", "second-secret-1\n");
    let (code, shown) = answer_prompts(
        &fake,
        &format!(
            "{} password change --old-password-file '{}' --new-password-file - --output json",
            bin(),
            old_file.display()
        ),
        &[
            ("New password: ", "third-secret-2"),
            ("New password again: ", "third-secret-2"),
        ],
    );
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(
        shown,
        "New password: \nNew password again: \n{\"password_changed\":true,\"tokens_reset\":false}\n"
    );

    // login --password-file -.
    let (code, shown) = answer_prompts(
        &fake,
        &format!(
            "{} login --no-store --username {user} --password-file - --output json",
            bin()
        ),
        &[(&format!("Password for {user}: "), "third-secret-2")],
    );
    std::fs::remove_dir_all(new_file.parent().unwrap()).unwrap();
    assert_eq!(code, Some(0), "{shown}");
    assert!(!shown.contains("third-secret"), "{shown}");
    let mut lines = shown.lines();
    assert_eq!(
        lines.next(),
        Some(format!("Password for {user}: ").as_str())
    );
    let login: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(login["user"]["username"], user.as_str());
}

#[test]
fn ctrl_c_at_the_token_prompt_of_exec_ends_it() {
    let fake = FakeIam::start().unwrap();

    let (code, shown) = answer_prompts(
        &fake,
        &format!("{} exec --token-file - -- echo ran", bin()),
        &[("API token: ", "\u{3}")],
    );

    // Ended by the Ctrl-C (a shell reports 128+2), before any token existed.
    assert_eq!(code, Some(130), "{shown:?}");
    assert!(!shown.contains("ran"), "{shown:?}");
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[test]
fn spaces_delete_on_a_terminal_asks_for_the_id_and_yes_skips_the_question() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    let lab = sdk.spaces().create("lab").unwrap();
    let spare = sdk.spaces().create("spare").unwrap();
    let id = lab.id.to_string();
    let command = format!("{} spaces delete {id}", bin());
    let prompt = format!("Type {id} to go ahead: ");

    let (code, refused) = drive_terminal(&fake, &command, &[(&prompt, "no")], false);
    assert_eq!(code, Some(2), "{refused}");
    assert_eq!(
        refused,
        format!(
            "This deletes space {id} and every token of it.\n{prompt}no\n{ERROR}: the answer was \
             not {id}; nothing was deleted\n"
        )
    );
    assert!(sdk.spaces().get(lab.id).is_ok());

    let (code, deleted) = drive_terminal(&fake, &command, &[(&prompt, &id)], false);
    assert_eq!(code, Some(0), "{deleted}");
    assert!(
        deleted.ends_with(&format!("deleted space {id}\n")),
        "{deleted}"
    );
    assert!(sdk.spaces().get(lab.id).unwrap_err().is_not_found());

    let (code, quiet) = on_terminal(&fake, &format!("{} spaces delete -y {}", bin(), spare.id));
    assert_eq!(code, Some(0), "{quiet}");
    assert_eq!(quiet, format!("deleted space {}\n", spare.id));
}

#[test]
fn a_clean_audit_says_no_findings_on_a_terminal() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    // A temporary token to audit with: the root token is permanent, which
    // is a finding of its own.
    let temporary = sdk.tokens().create(false).unwrap();
    let shell = format!(
        "NEUROIO_API_TOKEN={} NEUROIO_API_URL={} {} tokens audit",
        temporary.key.secret(),
        fake.url(),
        bin()
    );

    let (code, shown) = on_terminal(&fake, &shell);

    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.ends_with("\n\nno findings\n"), "{shown}");
    assert!(!shown.contains("FINDING"), "{shown}");
}

#[test]
fn a_full_page_on_a_terminal_says_how_to_see_more() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    for _ in 0..4 {
        sdk.tokens().create(false).unwrap();
    }

    let (code, full) = on_terminal(&fake, &format!("{} tokens list --limit 5", bin()));
    let (_, partial) = on_terminal(
        &fake,
        &format!("{} tokens list --limit 5 --offset 3", bin()),
    );
    let (_, piped) = on_terminal(
        &fake,
        &format!("{} tokens list --limit 5 2>&1 | cat", bin()),
    );

    assert_eq!(code, Some(0), "{full}");
    assert!(
        full.ends_with(
            "more tokens may follow: --offset 5 for the next page, or --all for every one\n"
        ),
        "{full}"
    );
    assert!(!partial.contains("more tokens"), "{partial}");
    assert!(!piped.contains("more tokens"), "{piped}");
}
