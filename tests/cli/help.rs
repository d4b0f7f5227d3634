//! Help texts, usage lines, and where the API options may be given.

use super::*;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the API refused the request (4xx other than 401/403), or failed (5xx),
     or answered with more than neuroio reads;
     or a new token could not be written out (it is deleted again)
  2  usage error: bad arguments, missing token, unusable configuration
  3  network error or timeout: no answer from the API
  4  authentication failed (401 or 403), or a wrong user name or password
  5  tokens audit --fail: the audit found something
";

const API_OPTIONS: [&str; 9] = [
    "--iam-url",
    "--api-url",
    "--allow-insecure-http",
    "--token-file",
    "--timeout",
    "--retries",
    "--output",
    "--show-keys",
    "--profile",
];

fn help(args: &[&str]) -> String {
    let output = neuroio()
        .args(args)
        .arg("--help")
        .env_remove("NEUROIO_API_TOKEN")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{args:?}");
    assert_eq!(stderr(&output), "", "{args:?}");
    stdout(&output)
}

const SEE_TOP_HELP: &str = "\
API options (--iam-url, --token-file, --output, ...) and exit codes: neuroio --help
";

#[test]
fn the_api_options_and_exit_codes_are_shown_once_in_the_top_level_help() {
    let top = help(&[]);
    assert!(top.ends_with(EXIT_CODES), "{top}");
    let api = top.find("\nAPI options:\n").unwrap();
    for option in API_OPTIONS {
        assert_eq!(
            top.matches(&format!("      {option}")).count(),
            1,
            "{option}"
        );
        assert!(
            top.find(&format!("      {option}")).unwrap() > api,
            "{option}"
        );
    }
    let man = stdout(&neuroio().arg("man").output().unwrap());
    for option in API_OPTIONS {
        let roff = option.replace('-', "\\-");
        assert_eq!(
            man.matches(&format!("\n\\fB{roff}\\fR")).count(),
            1,
            "{option} in:\n{man}"
        );
    }
}

#[test]
fn a_subcommands_help_lists_what_it_takes_and_points_to_the_rest() {
    for command in [
        &["tokens"][..],
        &["tokens", "create"],
        &["tokens", "list"],
        &["tokens", "get"],
        &["tokens", "update"],
        &["tokens", "delete"],
        &["tokens", "delete-all"],
        &["tokens", "rotate"],
        &["tokens", "audit"],
        &["stream-tokens"],
        &["stream-tokens", "create"],
        &["stream-tokens", "list"],
        &["stream-tokens", "get"],
        &["stream-tokens", "update"],
        &["stream-tokens", "delete"],
        &["stream-tokens", "delete-all"],
        &["login"],
        &["auth"],
        &["auth", "status"],
        &["auth", "token"],
        &["auth", "logout"],
        &["auth", "list"],
        &["whoami"],
        &["spaces"],
        &["spaces", "list"],
        &["spaces", "get"],
        &["spaces", "create"],
        &["spaces", "rename"],
        &["spaces", "delete"],
        &["spaces", "create-token"],
        &["password"],
        &["password", "change"],
    ] {
        let text = help(command);
        assert!(text.ends_with(SEE_TOP_HELP), "{command:?}:\n{text}");
        if command.first() == Some(&"stream-tokens") {
            assert!(!text.contains("\n  rotate "), "{command:?}");
        }
        for option in API_OPTIONS {
            assert!(
                !text.contains(&format!("      {option}")),
                "{command:?} lists {option}:\n{text}"
            );
        }
        assert!(!text.contains("4  authentication failed"), "{command:?}");
    }
    let create = help(&["tokens", "create"]);
    assert!(create.lines().count() < 25, "{create}");
    assert!(create.contains("\n      --permanent\n"), "{create}");
    assert!(help(&["login"]).contains("\n      --username <USER>\n"));
    assert!(help(&["password", "change"]).contains("\n      --old-password-file <PATH>\n"));
}

#[test]
fn options_a_command_cannot_use_are_refused_when_parsed() {
    let fake = FakeIam::start().unwrap();
    for (args, message) in [
        (
            &["exec", "--output", "json", "--", "true"][..],
            "error: invalid value 'json' for '--output <OUTPUT>': exec prints nothing of its own to format\n",
        ),
        (
            &["exec", "--show-keys", "--", "true"],
            "error: invalid value 'true' for '--show-keys': exec never prints the command's token\n",
        ),
        (
            &["login", "--username", "root", "--token-file", "t"],
            "error: invalid value 't' for '--token-file <PATH>': login needs no API token\n",
        ),
        (
            &["--output", "json", "exec", "--", "true"],
            "error: --output and --show-keys do not apply to `neuroio exec`: it prints nothing of its own\n",
        ),
    ] {
        let output = run(&fake, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = stderr(&output);
        assert!(err.starts_with(message), "{args:?}: {err}");
        assert_eq!(stdout(&output), "", "{args:?}");
    }
    assert!(fake.requests().is_empty());
}

#[test]
fn commands_that_do_not_talk_to_the_api_list_no_api_options() {
    for command in [&["fake-server"][..], &["completions"], &["man"]] {
        let text = help(command);
        for option in API_OPTIONS {
            assert!(
                !text.contains(option),
                "{command:?} lists {option}:\n{text}"
            );
        }
        assert!(!text.contains("4  authentication failed"), "{command:?}");
    }
    assert!(help(&["fake-server"]).ends_with(
        "Exit codes:\n  0  stopped by Ctrl-C or SIGTERM\n  1  the simulator failed\n  \
         2  the port cannot be used (taken, or not allowed)\n"
    ));
}

#[test]
fn api_options_before_a_command_that_does_not_use_them_are_refused() {
    let output = neuroio()
        .args(["--output", "json", "fake-server"])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "error: the API options (--iam-url, --output, --timeout, ...) do not apply to `neuroio fake-server`\n"
    );
}

#[test]
fn help_defaults_come_from_the_library() {
    let text = help(&[]);
    assert!(text.contains(&format!(
        "[default: {}]",
        neuroio::DEFAULT_TIMEOUT.as_secs_f64()
    )));
    assert!(text.contains(&format!("[default: {}]", neuroio::DEFAULT_MAX_RETRIES)));
    assert!(text.contains(&format!("[default: {}]", neuroio::DEFAULT_IAM_URL)));
    assert!(text.contains(&format!(
        "[env: NEUROIO_API_URL] [default: {}]",
        neuroio::DEFAULT_API_URL
    )));
}

#[test]
fn usage_lines_do_not_show_optional_options_as_required() {
    let fake = FakeIam::start().unwrap();

    let output = run(&fake, &["tokens", "list", "--permanent", "--temporary"]);

    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: the argument '--permanent' cannot be used with '--temporary'\n\n\
         Usage: neuroio tokens list --permanent\n\n\
         For more information, try '--help'.\n"
    );
    assert!(help(&["tokens", "list"]).contains("\nUsage: neuroio tokens list [OPTIONS]\n"));
    assert!(help(&["tokens", "update"]).contains(
        "\nUsage: neuroio tokens update [OPTIONS] --active <true|false> <ID_OR_KEY|--key-file <PATH>>\n"
    ));
}

#[test]
fn api_options_work_before_and_after_the_subcommand() {
    let fake = FakeIam::start().unwrap();
    let table = |output: &Output| {
        assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
        stdout(output).starts_with("ID  ")
    };

    let before = run(&fake, &["--output", "table", "tokens", "list"]);
    let between = run(&fake, &["tokens", "--output", "table", "list"]);
    let after = run(&fake, &["tokens", "list", "--output", "table"]);
    let later_wins = run(
        &fake,
        &["--output", "table", "tokens", "list", "--output", "json"],
    );
    let json_before = run(&fake, &["--output", "json", "tokens", "list"]);
    let json_after = run(&fake, &["tokens", "list", "--output", "json"]);

    assert!(table(&before) && table(&between) && table(&after));
    assert!(!table(&later_wins));
    assert_eq!(json(&json_before), json(&json_after));
    assert_eq!(json(&json_before), json(&later_wins));

    // --show-keys and --retries, on either side.
    let keys_before = json(&run(&fake, &["--show-keys", "tokens", "list"]));
    let keys_after = json(&run(&fake, &["tokens", "list", "--show-keys"]));
    assert_eq!(keys_before[0]["key"], fake.root_token().as_str());
    assert_eq!(keys_before, keys_after);
    fake.inject(neuroio::fake::Fault::status(503), 10);
    fake.clear_requests();
    run(&fake, &["tokens", "list", "--retries", "1"]);
    assert_eq!(fake.requests().len(), 2);
    fake.clear_requests();
    run(&fake, &["--retries", "0", "tokens", "list"]);
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn insecure_http_error_names_the_flag_and_the_flag_allows_it() {
    let refused = neuroio()
        .args(["--iam-url", "http://example.com", "tokens", "list"])
        .env("NEUROIO_API_TOKEN", "some-token-value")
        .output()
        .unwrap();

    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(stdout(&refused), "");
    assert_eq!(
        stderr(&refused),
        "error: invalid IAM URL \"http://example.com\": http:// would send the API token in \
         clear text to another machine; use https://, or opt in with --allow-insecure-http\n"
    );

    // With the flag the URL is used: a TEST-NET address that answers
    // nothing gives a network error (3), not a usage error (2).
    for args in [
        &["--allow-insecure-http", "tokens", "list"][..],
        &["tokens", "list", "--allow-insecure-http"],
    ] {
        let allowed = neuroio()
            .args(["--iam-url", "http://192.0.2.1:9", "--timeout", "0.3"])
            .args(["--retries", "0"])
            .args(args)
            .env("NEUROIO_API_TOKEN", "some-token-value")
            .output()
            .unwrap();
        assert_eq!(allowed.status.code(), Some(3), "{}", stderr(&allowed));
        assert!(!stderr(&allowed).contains("some-token-value"));
    }
}

#[test]
fn exec_help_says_how_long_the_token_lives_and_its_exit_codes() {
    let text = help(&["exec"]);

    assert!(
        text.contains("The token lives 24 hours at most and is deleted when the command ends"),
        "{text}"
    );
    assert!(
        text.contains("\nUsage: neuroio exec [OPTIONS] <CMD>...\n"),
        "{text}"
    );
    for option in API_OPTIONS {
        assert!(
            !text.contains(&format!("      {option}")),
            "exec lists {option}"
        );
    }
    assert!(text.ends_with(
        "Exit codes:\n  N      the command's own exit status\n  128+N  the command was killed by signal N; or neuroio passed signal N\n         \
         (HUP, INT, QUIT, TERM) on to it, whatever it then returned; or\n         \
         signal N called the run off before the command started\n  \
         126    the command could not be run (not executable)\n  127    the command was not found\n  \
         1      the token could not be deleted afterwards (when the command exited 0);\n         \
         or, before the command ran, the API refused the request or failed\n  \
         2      usage error: bad arguments, missing token, unusable configuration\n  \
         3      network error or timeout: no answer from the API\n  \
         4      authentication failed (401 or 403)\n"
    ), "{text}");
}

/// The completion commands of docs/cli.md, the CLI's manual: the lines of
/// the shell block under "Shell completions" that are not comments, and
/// the commented lines that go into a shell's start-up file.
fn completion_commands_in_the_manual() -> Vec<String> {
    let manual = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.md"))
        .expect("docs/cli.md is the CLI's manual");
    let section = manual
        .split("\n## Shell completions\n")
        .nth(1)
        .expect("docs/cli.md has a section 'Shell completions'");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the section has a shell block");
    block
        .lines()
        .filter_map(|line| match line.strip_prefix("#   ") {
            Some(startup_line) => Some(startup_line.trim()),
            None if line.starts_with('#') || line.trim().is_empty() => None,
            None => Some(line.trim()),
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn completions_help_gives_the_manuals_commands_for_every_shell_without_root() {
    let commands = completion_commands_in_the_manual();
    let text = help(&["completions"]);
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        assert!(
            commands
                .iter()
                .any(|c| c.contains(&format!("neuroio completions {shell}"))),
            "docs/cli.md has no command for {shell}: {commands:#?}"
        );
    }
    for command in &commands {
        assert!(
            text.contains(command.as_str()),
            "help lacks {command:?}:\n{text}"
        );
        // Nothing is written where only root may write.
        assert!(
            !command.contains("fpath[1]")
                && !command.contains("/etc/")
                && !command.contains("/usr/"),
            "{command}"
        );
    }
    assert_eq!(commands.len(), 10, "{commands:#?}");
}

#[test]
fn top_level_help_names_the_manual() {
    let text = help(&[]);
    assert!(text.contains("docs/cli.md"), "{text}");
    assert!(text.contains("neuroio man"), "{text}");
}

#[test]
fn show_keys_is_refused_by_every_command_that_prints_no_existing_key() {
    let fake = FakeIam::start().unwrap();
    const NEW_KEY: &str = "it always prints the new token's key";
    const NO_KEY: &str = "it prints no token's key";
    let families: [(&[&str], &str, &str); 18] = [
        (&["tokens", "create"], "tokens create", NEW_KEY),
        (&["tokens", "rotate"], "tokens rotate", NEW_KEY),
        (&["tokens", "delete", "1"], "tokens delete", NO_KEY),
        (
            &["tokens", "delete-all", "--yes"],
            "tokens delete-all",
            NO_KEY,
        ),
        (&["tokens", "audit"], "tokens audit", NO_KEY),
        (
            &["stream-tokens", "create"],
            "stream-tokens create",
            NEW_KEY,
        ),
        (
            &["stream-tokens", "delete", "1"],
            "stream-tokens delete",
            NO_KEY,
        ),
        (
            &["stream-tokens", "delete-all", "--yes"],
            "stream-tokens delete-all",
            NO_KEY,
        ),
        (&["spaces", "list"], "spaces list", NO_KEY),
        (&["spaces", "delete", "1", "--yes"], "spaces delete", NO_KEY),
        (
            &["spaces", "create-token", "1"],
            "spaces create-token",
            NEW_KEY,
        ),
        (&["password", "change"], "password change", NO_KEY),
        (&["auth", "status"], "auth status", NO_KEY),
        (
            &["auth", "token"],
            "auth token",
            "it always prints the key, and nothing else",
        ),
        (&["auth", "logout"], "auth logout", NO_KEY),
        (&["auth", "list"], "auth list", NO_KEY),
        (&["whoami"], "whoami", NO_KEY),
        (&["spaces", "create", "lab"], "spaces create", NO_KEY),
    ];
    for (command, name, why) in families {
        let before: Vec<&str> = std::iter::once("--show-keys")
            .chain(command.iter().copied())
            .collect();
        let after: Vec<&str> = command.iter().copied().chain(["--show-keys"]).collect();
        for args in [before, after] {
            let output = run(&fake, &args);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{args:?}: {}",
                stderr(&output)
            );
            assert_eq!(stdout(&output), "", "{args:?}");
            let expected = if name == "whoami" && args[0] == "whoami" {
                // Refused by the parser, which knows whoami's options.
                "error: invalid value 'true' for '--show-keys': whoami prints no token's key\n"
                    .to_owned()
            } else {
                format!(
                    "error: --show-keys does not apply to `neuroio {name}`: {why} (only list, \
                     get and update show existing keys)\n"
                )
            };
            assert!(
                stderr(&output).starts_with(&expected),
                "{args:?}: {}",
                stderr(&output)
            );
        }
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());

    // Where it applies, it still works, before or after.
    for group in ["tokens", "stream-tokens"] {
        for command in [
            &["list"][..],
            &["get", "1"],
            &["update", "1", "--active", "true"],
        ] {
            let mut args = vec!["--show-keys", group];
            args.extend_from_slice(command);
            let output = run(&fake, &args);
            assert_ne!(
                output.status.code(),
                Some(2),
                "{args:?}: {}",
                stderr(&output)
            );
        }
    }
}
