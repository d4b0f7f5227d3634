//! login, whoami and password change.

use super::*;

fn login_with_file(fake: &FakeIam, username: &str, password: &str) -> Output {
    let file = temp_file(
        "account",
        &format!("{username}-{password}"),
        &format!("{password}\n"),
    );
    let output = run_as(
        fake,
        None,
        &[
            "login",
            "--no-store",
            "--username",
            username,
            "--password-file",
            file.to_str().unwrap(),
        ],
    );
    std::fs::remove_file(file).unwrap();
    output
}

#[test]
fn login_prints_the_user_and_a_working_token() {
    let fake = FakeIam::start().unwrap();
    let (user, password) = (fake.root_username(), fake.root_password());

    let login = json(&login_with_file(&fake, &user, &password));

    assert_eq!(field_names(&login), ["token", "user"]);
    assert_eq!(login["user"], serde_json::json!({"username": user}));
    assert_eq!(field_names(&login["token"]), super::TOKEN_FIELDS_WITH_KEY);
    assert!(login["token"]["expires"].is_string());
    let key = login["token"]["key"].as_str().unwrap();
    let me = client(&fake, key).whoami().unwrap();
    assert_eq!(me.username(), Some(user.as_str()));
    let sent = fake.requests().remove(0);
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/auth/token/")
    );
    assert_eq!(sent.header("authorization"), None);
}

#[test]
fn login_reads_the_password_from_standard_input() {
    let fake = FakeIam::start().unwrap();
    let user = fake.root_username();

    let output = run_with_stdin(
        &fake,
        &[
            "login",
            "--no-store",
            "--username",
            &user,
            "--password-file",
            "-",
        ],
        &format!("{}\n", fake.root_password()),
    );

    assert_eq!(json(&output)["user"]["username"], user.as_str());
    assert_eq!(ids(&fake).len(), 2);
}

#[test]
fn failed_login_exits_4_with_the_api_message() {
    let fake = FakeIam::start().unwrap();

    let output = login_with_file(&fake, &fake.root_username(), "not-the-password");

    assert_eq!(output.status.code(), Some(4));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "error: API error (HTTP 400): Username and password do not match.\n"
    );
    assert!(!stderr(&output).contains("not-the-password"));
    assert_eq!(ids(&fake), [1]);
}

#[test]
fn login_without_a_password_source_or_with_a_token_file_is_a_usage_error() {
    let fake = FakeIam::start().unwrap();
    let user = fake.root_username();

    let url = fake.url();
    let no_password = run_as(
        &fake,
        None,
        &["login", "--username", &user, "--api-url", &url],
    );
    let with_token = run_as(
        &fake,
        None,
        &["login", "--username", &user, "--token-file", "/dev/null"],
    );
    let as_argument = run_as(
        &fake,
        None,
        &["login", "--username", &user, "--password", "x"],
    );
    let empty = login_with_file(&fake, &user, "");

    assert_eq!(no_password.status.code(), Some(2));
    assert_eq!(
        stderr(&no_password),
        "error: the password is missing: pass --password-file PATH (- for standard input), \
         or run on a terminal to be asked\n"
    );
    assert_eq!(with_token.status.code(), Some(2));
    // Refused when parsed.
    assert_eq!(
        stderr(&with_token),
        "error: the argument '--username <USER>' cannot be used with '--token-file <PATH>'\n\n\
         Usage: neuroio login --username <USER>\n\n\
         For more information, try '--help'.\n"
    );
    assert_eq!(as_argument.status.code(), Some(2));
    assert_eq!(empty.status.code(), Some(2));
    assert_eq!(stderr(&empty), "error: the password is empty\n");
    assert!(fake.requests().is_empty());
}

#[test]
fn login_into_a_closed_pipe_deletes_the_new_token() {
    let fake = FakeIam::start().unwrap();
    let file = temp_file("account-pipe", "password", &fake.root_password());

    let output = super::delivery::run_into_closed_pipe(
        &fake,
        &[
            "login",
            "--no-store",
            "--username",
            &fake.root_username(),
            "--password-file",
            file.to_str().unwrap(),
        ],
    );
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();

    super::delivery::assert_new_token_deleted_again(&fake, &output);
}

#[test]
fn whoami_as_json_and_as_a_table() {
    let fake = FakeIam::start().unwrap();

    let me = json(&run(&fake, &["whoami"]));
    let table = run(&fake, &["whoami", "--output", "table"]);

    let user = fake.root_username();
    let space = &me["space"];
    assert_eq!(me["username"], user.as_str());
    assert_eq!(space["name"], "default");
    assert_eq!(
        stdout(&table)
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .collect::<Vec<_>>(),
        [
            vec!["USER", "SPACE_ID", "SPACE_NAME"],
            vec![user.as_str(), &space["id"].to_string(), "default"]
        ]
    );
    let dead = run_as(&fake, Some("no-such-token"), &["whoami"]);
    assert_eq!(dead.status.code(), Some(4));
}

fn change(fake: &FakeIam, old: &str, new: &str, extra: &[&str]) -> Output {
    let old_file = temp_file("password", &format!("old-{old}-{new}"), &format!("{old}\n"));
    let new_file = temp_file("password", &format!("new-{old}-{new}"), &format!("{new}\n"));
    let mut args = vec![
        "password",
        "change",
        "--old-password-file",
        old_file.to_str().unwrap(),
        "--new-password-file",
        new_file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = run(fake, &args);
    std::fs::remove_file(old_file).unwrap();
    std::fs::remove_file(new_file).unwrap();
    output
}

#[test]
fn password_change_then_login_with_the_new_one() {
    let fake = FakeIam::start().unwrap();
    let (user, old) = (fake.root_username(), fake.root_password());

    let output = change(&fake, &old, "a-new-secret", &[]);

    assert_eq!(
        json(&output),
        serde_json::json!({"password_changed": true, "tokens_reset": false})
    );
    assert_eq!(stderr(&output), "");
    assert!(!stdout(&output).contains("a-new-secret"));
    let sent = fake.requests().pop().unwrap();
    assert_eq!(sent.path, "/v1/auth/password/change/");
    assert_eq!(login_with_file(&fake, &user, &old).status.code(), Some(4));
    assert_eq!(
        login_with_file(&fake, &user, "a-new-secret").status.code(),
        Some(0)
    );
    // The token in use still works.
    assert_eq!(run(&fake, &["whoami"]).status.code(), Some(0));
}

#[test]
fn wrong_old_password_exits_4_with_the_field_error() {
    let fake = FakeIam::start().unwrap();

    let output = change(&fake, "not-it", "a-new-secret", &[]);

    // A wrong password, as for login: 4, as the table of exit codes says.
    assert_eq!(output.status.code(), Some(4));
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert!(err.starts_with("error: API error (HTTP 400): "), "{err}");
    assert!(err.contains("\n  old_password: "), "{err}");
    assert!(
        !err.contains("not-it") && !err.contains("a-new-secret"),
        "{err}"
    );
}

#[test]
fn password_change_with_reset_tokens_says_every_token_is_gone() {
    let fake = FakeIam::start().unwrap();
    fake.add_temporary_tokens(&fake.root_token(), 2).unwrap();

    let output = change(
        &fake,
        &fake.root_password(),
        "a-new-secret",
        &["--reset-tokens"],
    );

    assert_eq!(
        json(&output),
        serde_json::json!({"password_changed": true, "tokens_reset": true})
    );
    assert_eq!(
        stderr(&output),
        "note: every token of the account was deleted, including the one this command used; \
         log in again for a new one\n"
    );
    let after = run(&fake, &["whoami"]);
    assert_eq!(after.status.code(), Some(4));
    assert_eq!(
        stderr(&after),
        format!(
            "error: API error (HTTP 401): Invalid token.\n{}\n",
            super::LOG_IN_AGAIN
        )
    );
}

#[test]
fn password_change_reads_at_most_one_thing_from_standard_input() {
    let fake = FakeIam::start().unwrap();

    let both = run_with_stdin(
        &fake,
        &[
            "password",
            "change",
            "--old-password-file",
            "-",
            "--new-password-file",
            "-",
        ],
        "a\nb\n",
    );
    let with_token = run_with_stdin(
        &fake,
        &[
            "password",
            "change",
            "--token-file",
            "-",
            "--old-password-file",
            "-",
        ],
        "a\nb\n",
    );
    let no_new = run_with_stdin(
        &fake,
        &["password", "change", "--old-password-file", "-"],
        &format!("{}\n", fake.root_password()),
    );

    assert_eq!(both.status.code(), Some(2));
    assert_eq!(
        stderr(&both),
        "error: standard input can hold only one of --old-password-file - and --new-password-file -\n"
    );
    assert_eq!(with_token.status.code(), Some(2));
    assert_eq!(
        stderr(&with_token),
        "error: standard input can hold only one of the API token (--token-file -) and --old-password-file -\n"
    );
    assert_eq!(no_new.status.code(), Some(2));
    assert_eq!(
        stderr(&no_new),
        "error: the new password is missing: pass --new-password-file PATH (- for standard input), \
         or run on a terminal to be asked\n"
    );
    assert!(fake.requests().is_empty());
}

/// Passwords never travel as arguments (where `ps` would show them): no
/// command has a flag that takes one, and a password given as an extra
/// argument is refused before anything is sent.
#[test]
fn no_command_takes_a_password_as_an_argument() {
    let fake = FakeIam::start().unwrap();
    let password = fake.root_password();
    for args in [
        vec![
            "login",
            "--username",
            "root",
            "--password",
            password.as_str(),
        ],
        vec!["login", "--username", "root", password.as_str()],
        vec!["password", "change", "--old-password", password.as_str()],
        vec!["password", "change", "--new-password", "another-one"],
    ] {
        let output = run_as(&fake, None, &args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
    assert!(fake.requests().is_empty(), "nothing may reach the API");
}
