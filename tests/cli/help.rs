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

/// The options of every command that calls the API with the token in use.
const API_OPTIONS: [&str; 9] = [
    "--iam-url",
    "--api-url",
    "--allow-insecure-http",
    "--token-file",
    "--timeout",
    "--retries",
    "--output",
    "--profile",
    "--verbose",
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

const SEE_TOP_HELP: &str = "Exit codes, files and environment: neuroio --help\n";

/// The commands that talk to the API, and so list options for it.
fn talks_to_the_api(command: &[String]) -> bool {
    !matches!(
        command.first().map(String::as_str),
        Some("fake-server" | "completions" | "man")
    ) && !matches!(
        command.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ["auth", "list"] | ["auth", "switch"]
    )
}

#[test]
fn the_command_tree_is_read_off_the_help() {
    let tree = command_tree();
    let names: Vec<String> = tree.iter().map(|path| path.join(" ")).collect();
    for expected in [
        "tokens",
        "tokens list",
        "tokens activate",
        "tokens deactivate",
        "stream-tokens delete-all",
        "auth login",
        "auth switch",
        "spaces create-token",
        "password change",
        "exec",
        "man",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
    }
    assert!(
        !names.iter().any(|n| n == "stream-tokens rotate"),
        "{names:?}"
    );
    assert!(leaf_commands().len() > 30, "{names:?}");
}

#[test]
fn the_top_level_help_has_one_line_summaries_the_exit_codes_files_and_environment() {
    let short = neuroio().arg("-h").output().unwrap();
    let short = stdout(&short);
    assert!(short.ends_with(EXIT_CODES), "{short}");
    let long = help(&[]);
    for text in [&short, &long] {
        for line in text.lines() {
            assert!(line.chars().count() <= 100, "a line over 100: {line:?}");
        }
    }
    // One line per command in the list.
    let commands = long.split("\nCommands:\n").nth(1).unwrap();
    let listed: Vec<&str> = commands.lines().take_while(|l| !l.is_empty()).collect();
    assert!(
        listed
            .iter()
            .all(|line| line.starts_with("  ") && !line.starts_with("   ")),
        "{listed:#?}"
    );
    assert!(long.contains(EXIT_CODES), "{long}");
    for name in [
        "credentials.toml",
        "NEUROIO_CONFIG_DIR",
        "NEUROIO_API_TOKEN",
        "NEUROIO_IAM_URL",
        "NEUROIO_API_URL",
        "NEUROIO_PROFILE",
        "NEUROIO_LOG",
        "NO_COLOR",
    ] {
        assert!(long.contains(name), "{name} in:\n{long}");
    }
    // The API options belong to the commands, not to neuroio itself.
    for option in API_OPTIONS {
        assert!(!long.contains(&format!("      {option}")), "{option}");
    }
}

#[test]
fn the_man_page_lists_each_api_option_once_and_has_files_and_environment() {
    let man = stdout(&neuroio().arg("man").output().unwrap());
    for option in API_OPTIONS.iter().chain(&["--show-keys"]) {
        let roff = option.replace('-', "\\-");
        assert_eq!(
            man.matches(&format!("\n\\fB{roff}\\fR")).count(),
            1,
            "{option} in:\n{man}"
        );
    }
    assert!(man.contains("\n.SH \"FILES\"\n"), "{man}");
    assert!(man.contains("\n.SH \"ENVIRONMENT\"\n"), "{man}");
    assert!(man.contains("NEUROIO_PROFILE"), "{man}");
}

#[test]
fn every_commands_help_lists_the_options_it_takes_and_points_to_the_rest() {
    for command in command_tree() {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let text = help(&args);
        if !matches!(
            args[0],
            "fake-server" | "completions" | "exec" | "agent" | "man"
        ) {
            assert!(text.ends_with(SEE_TOP_HELP), "{command:?}:\n{text}");
        }
        let leaf = leaf_commands().contains(command);
        if talks_to_the_api(command) && leaf {
            for option in [
                "--iam-url",
                "--timeout",
                "--retries",
                "--profile",
                "--verbose",
            ] {
                assert!(
                    text.contains(&format!("      {option}"))
                        || text.contains(&format!(", {option}")),
                    "{command:?} does not list {option}:\n{text}"
                );
            }
        }
        if !talks_to_the_api(command) {
            for option in ["--iam-url", "--token-file", "--timeout"] {
                assert!(
                    !text.contains(option),
                    "{command:?} lists {option}:\n{text}"
                );
            }
        }
        assert!(!text.contains("4  authentication failed"), "{command:?}");
    }
    let create = help(&["tokens", "create"]);
    assert!(create.contains("\n      --permanent\n"), "{create}");
    let login = help(&["login"]);
    for option in [
        "--username <USER>",
        "--profile <NAME>",
        "--iam-url <URL>",
        "--api-url <URL>",
    ] {
        assert!(
            login.contains(&format!("      {option}")),
            "{option}:\n{login}"
        );
    }
    assert!(help(&["password", "change"]).contains("\n      --old-password-file <PATH>\n"));
}

#[test]
fn options_a_command_cannot_use_are_refused_when_parsed() {
    let fake = FakeIam::start().unwrap();
    for (args, unexpected) in [
        (&["exec", "--output", "json", "--", "true"][..], "--output"),
        (&["exec", "--show-keys", "--", "true"], "--show-keys"),
        (&["auth", "token", "--output", "json"], "--output"),
        (
            &["auth", "list", "--iam-url", "http://127.0.0.1:9"],
            "--iam-url",
        ),
        (&["auth", "logout", "--token-file", "t"], "--token-file"),
        (&["tokens", "create", "--show-keys"], "--show-keys"),
        (&["--output", "json", "fake-server"], "--output"),
        (&["fake-server", "--output", "json"], "--output"),
        (&["man", "--profile", "x"], "--profile"),
    ] {
        let output = run(&fake, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = stderr(&output);
        assert!(
            err.starts_with(&format!(
                "error: unexpected argument '{unexpected}' found\n"
            )),
            "{args:?}: {err}"
        );
        assert_eq!(stdout(&output), "", "{args:?}");
    }
    let both = run(&fake, &["login", "--username", "root", "--token-file", "t"]);
    assert_eq!(both.status.code(), Some(2));
    assert!(
        stderr(&both).starts_with(
            "error: the argument '--username <USER>' cannot be used with '--token-file <PATH>'"
        ),
        "{}",
        stderr(&both)
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn an_option_given_where_it_does_not_apply_is_explained_in_words() {
    let fake = FakeIam::start().unwrap();
    let create = run(&fake, &["tokens", "create", "--show-keys"]);
    assert_eq!(create.status.code(), Some(2));
    let err = stderr(&create);
    assert!(
        err.ends_with(
            "note: --show-keys is an option of: `neuroio tokens list`, `neuroio tokens get`, \
             `neuroio tokens update`, `neuroio tokens activate`, `neuroio tokens deactivate`, \
             `neuroio stream-tokens list`, `neuroio stream-tokens get`, `neuroio stream-tokens \
             update`, `neuroio stream-tokens activate`, `neuroio stream-tokens deactivate`\n"
        ),
        "{err}"
    );
    // Before the command: where it goes instead.
    let before = run(&fake, &["--output", "json", "tokens", "list"]);
    assert_eq!(before.status.code(), Some(2));
    let err = stderr(&before);
    assert!(err.contains("'tokens --output' exists"), "{err}");
    assert!(
        err.ends_with(
            "note: --output goes after the command: `neuroio tokens list --output ...`\n"
        ),
        "{err}"
    );
    // Between the family and the command, with its value: the same.
    let between = run(&fake, &["auth", "--profile", "lab", "status"]);
    assert_eq!(between.status.code(), Some(2));
    let err = stderr(&between);
    assert!(
        err.ends_with(
            "note: --profile goes after the command: `neuroio auth status --profile ...`\n"
        ),
        "{err}"
    );
    // The words of `exec`'s command are not the user's command.
    let inner = run(
        &fake,
        &["exec", "--show-keys", "--", "neuroio", "tokens", "list"],
    );
    assert_eq!(inner.status.code(), Some(2));
    let err = stderr(&inner);
    assert!(
        err.contains("note: --show-keys is an option of: `neuroio tokens list`"),
        "{err}"
    );
    // A command one level down.
    let logout = run(&fake, &["logout"]);
    assert_eq!(logout.status.code(), Some(2));
    assert!(
        stderr(&logout).ends_with("note: did you mean `neuroio auth logout`?\n"),
        "{}",
        stderr(&logout)
    );
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
fn help_defaults_come_from_the_library() {
    let text = help(&["tokens"]);
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
fn api_options_work_after_the_family_and_after_the_subcommand() {
    let fake = FakeIam::start().unwrap();
    let table = |output: &Output| {
        assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
        stdout(output).starts_with("ID  ")
    };

    let between = run(&fake, &["tokens", "--output", "table", "list"]);
    let after = run(&fake, &["tokens", "list", "--output", "table"]);
    let short = run(&fake, &["tokens", "list", "-o", "table"]);
    let json_between = run(&fake, &["tokens", "-o", "json", "list"]);
    let json_after = run(&fake, &["tokens", "list", "--output", "json"]);

    assert!(table(&between) && table(&after) && table(&short));
    assert_eq!(json(&json_between), json(&json_after));

    // --show-keys after the subcommand; --retries on either side.
    let keys = json(&run(&fake, &["tokens", "list", "--show-keys"]));
    assert_eq!(keys[0]["key"], fake.root_token().as_str());
    fake.inject(neuroio::fake::Fault::status(503), 10);
    fake.clear_requests();
    run(&fake, &["tokens", "list", "--retries", "1"]);
    assert_eq!(fake.requests().len(), 2);
    fake.clear_requests();
    run(&fake, &["tokens", "--retries", "0", "list"]);
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn insecure_http_error_names_the_flag_and_the_flag_allows_it() {
    let refused = neuroio()
        .args(["tokens", "--iam-url", "http://example.com", "list"])
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
        &["tokens", "--allow-insecure-http", "list"][..],
        &["tokens", "list", "--allow-insecure-http"],
    ] {
        let allowed = neuroio()
            .args(args)
            .args(["--iam-url", "http://192.0.2.1:9", "--timeout", "0.3"])
            .args(["--retries", "0"])
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
    for option in ["--output", "--show-keys"] {
        assert!(!text.contains(option), "exec lists {option}");
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
fn show_keys_is_taken_only_by_the_commands_that_show_existing_tokens() {
    let fake = FakeIam::start().unwrap();
    let shows = ["list", "get", "update", "activate", "deactivate"];
    let mut takers = 0;
    for command in leaf_commands() {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let text = help(&args);
        let takes = matches!(args[0], "tokens" | "stream-tokens") && shows.contains(&args[1]);
        assert_eq!(
            text.contains("      --show-keys"),
            takes,
            "{command:?}:\n{text}"
        );
        takers += usize::from(takes);
        if !takes {
            let mut given = args.clone();
            given.push("--show-keys");
            let output = run(&fake, &given);
            assert_eq!(output.status.code(), Some(2), "{given:?}");
            assert!(
                stderr(&output).starts_with("error: unexpected argument '--show-keys' found\n"),
                "{given:?}: {}",
                stderr(&output)
            );
        }
    }
    assert_eq!(takers, 10);
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());

    // Where it applies, it works.
    for group in ["tokens", "stream-tokens"] {
        for command in [
            &["list"][..],
            &["get", "1"],
            &["update", "1", "--active", "true"],
            &["activate", "1"],
            &["deactivate", "1"],
        ] {
            let mut args = vec![group];
            args.extend_from_slice(command);
            args.push("--show-keys");
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
