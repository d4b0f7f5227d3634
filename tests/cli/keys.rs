//! A key typed as an argument shows in `ps`; get, update and delete also
//! read it from standard input (`-`) or a file (`--key-file`).

use super::*;

#[test]
fn key_from_standard_input_with_a_dash() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    let made = sdk.tokens().create(false).unwrap();
    let line = format!("{}\n", made.key.secret());

    let got = run_with_stdin(&fake, &["tokens", "get", "-"], &line);
    assert_eq!(json(&got)["id"], made.id);
    assert!(!stdout(&got).contains(made.key.secret()));

    let off = run_with_stdin(
        &fake,
        &["tokens", "update", "-", "--active", "false"],
        &line,
    );
    assert_eq!(json(&off)["is_active"], false);

    let gone = run_with_stdin(&fake, &["tokens", "delete", "--key-file", "-"], &line);
    // Named by its id, looked up with the key (which is not printed).
    assert_eq!(
        json(&gone),
        serde_json::json!({"deleted": {"collection": "tokens", "id": made.id}})
    );
    assert!(!stdout(&gone).contains(made.key.secret()));
    assert!(sdk.tokens().get(made.id).unwrap_err().is_not_found());
}

#[test]
fn key_from_a_file_trims_one_trailing_newline_only() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    let made = sdk.tokens().create(false).unwrap();
    let one = temp_file("keys", "one", &format!("{}\n", made.key.secret()));
    let crlf = temp_file("keys", "crlf", &format!("{}\r\n", made.key.secret()));
    let bare = temp_file("keys", "bare", made.key.secret());
    let two = temp_file("keys", "two", &format!("{}\n\n", made.key.secret()));

    for file in [&one, &crlf, &bare] {
        let got = run(
            &fake,
            &["tokens", "get", "--key-file", file.to_str().unwrap()],
        );
        assert_eq!(json(&got)["id"], made.id, "{file:?}");
    }
    let wrong = run(
        &fake,
        &["tokens", "get", "--key-file", two.to_str().unwrap()],
    );
    assert_eq!(wrong.status.code(), Some(1));
    // The key is not shown, even in the URL.
    assert_eq!(
        stderr(&wrong),
        format!(
            "error: API error (HTTP 404): Not found.\nthe token with that key at \
             {}/v1/tokens/<key>/ was not found: check the id or key, and the base URL \
             (--iam-url)\n",
            fake.url()
        )
    );

    let off = run(
        &fake,
        &[
            "tokens",
            "update",
            "--key-file",
            one.to_str().unwrap(),
            "--active",
            "false",
        ],
    );
    assert_eq!(json(&off)["is_active"], false);
    fake.clear_requests();
    let gone = run(
        &fake,
        &["tokens", "delete", "--key-file", one.to_str().unwrap()],
    );
    // Named by its id, looked up with the key (which is not printed).
    assert_eq!(
        json(&gone),
        serde_json::json!({"deleted": {"collection": "tokens", "id": made.id}})
    );
    let sent = seen_requests(&fake);
    assert_eq!(
        sent,
        [
            (
                "GET".to_owned(),
                format!("/v1/tokens/{}/", made.key.secret())
            ),
            ("DELETE".to_owned(), format!("/v1/tokens/{}/", made.id)),
        ]
    );
    assert!(sdk.tokens().get(made.id).unwrap_err().is_not_found());
    std::fs::remove_dir_all(one.parent().unwrap()).unwrap();
}

#[test]
fn key_sources_are_exclusive_and_one_is_required() {
    let fake = FakeIam::start().unwrap();
    let missing = std::env::temp_dir().join("neuroio-cli-no-such-key-file");

    let both = run(&fake, &["tokens", "get", "abc", "--key-file", "-"]);
    let neither = run(&fake, &["tokens", "get"]);
    let no_file = run(
        &fake,
        &["tokens", "delete", "--key-file", missing.to_str().unwrap()],
    );
    let stdin_twice = run_with_stdin(
        &fake,
        &["tokens", "get", "-", "--token-file", "-"],
        &fake.root_token(),
    );

    for output in [&both, &neither, &no_file, &stdin_twice] {
        assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
        assert_eq!(stdout(output), "");
    }
    assert!(
        stderr(&both).starts_with(
            "error: the argument '[ID_OR_KEY]' cannot be used with '--key-file <PATH>'\n"
        ),
        "{}",
        stderr(&both)
    );
    assert!(
        stderr(&neither)
            .starts_with("error: the following required arguments were not provided:\n"),
        "{}",
        stderr(&neither)
    );
    assert_eq!(
        stderr(&no_file),
        format!(
            "error: cannot read the key file {}: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
    assert_eq!(
        stderr(&stdin_twice),
        "error: standard input cannot hold both the API token (--token-file -) and the key\n"
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn every_secret_read_from_a_file_or_stream_is_capped() {
    let fake = FakeIam::start().unwrap();
    let zero = || Stdio::from(std::fs::File::open("/dev/zero").unwrap());
    let cases: [(&[&str], &str); 4] = [
        (
            &["tokens", "list", "--token-file", "/dev/zero"],
            "the token file /dev/zero holds more than 65536 bytes, too many for the API token; check that it is the right file",
        ),
        (
            &["tokens", "list", "--token-file", "-"],
            "standard input holds more than 65536 bytes, too many for the API token; check that it is the right file",
        ),
        (
            &["tokens", "get", "--key-file", "-"],
            "standard input holds more than 65536 bytes, too many for the key; check that it is the right file",
        ),
        (
            &[
                "login",
                "--no-store",
                "--username",
                "root",
                "--password-file",
                "-",
            ],
            "standard input holds more than 65536 bytes, too many for the password; check that it is the right file",
        ),
    ];
    for (args, message) in cases {
        let output = neuroio()
            .args(args)
            .env("NEUROIO_API_TOKEN", fake.root_token())
            .env("NEUROIO_IAM_URL", fake.url())
            .stdin(zero())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&output), format!("error: {message}\n"), "{args:?}");
        assert_eq!(stdout(&output), "", "{args:?}");
    }
    assert!(fake.requests().is_empty());
}
