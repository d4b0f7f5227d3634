//! `neuroio exec`: a command run with a temporary token of its own, which
//! is deleted when the command ends, however it ends.

use super::*;
use neuroio::fake::Fault;
use std::time::Instant;

/// `neuroio exec -- sh -c SCRIPT` with the root token; the script finds
/// the binary in $NEUROIO and a scratch folder in $DIR.
fn exec_sh(fake: &FakeIam, dir: &std::path::Path, script: &str) -> Command {
    let mut command = neuroio();
    command
        .args(["exec", "--", "sh", "-c", script])
        .env("NEUROIO_API_TOKEN", fake.root_token())
        .env("NEUROIO_IAM_URL", fake.url())
        .env("NEUROIO_API_URL", fake.url())
        .env("NEUROIO", BIN)
        .env("DIR", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A folder of its own for one call.
fn scratch(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "neuroio-cli-exec-{name}-{}-{}",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn exec(fake: &FakeIam, script: &str) -> Output {
    let dir = scratch("plain");
    let output = exec_sh(fake, &dir, script).output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    output
}

/// The simulator saw who am I, the create of token 2 and its delete,
/// nothing else, and only the root token is left.
fn asked_made_and_deleted_one_token(fake: &FakeIam) {
    let seen: Vec<String> = seen_requests(fake)
        .iter()
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert_eq!(
        seen,
        [
            "GET /v1/whoami/",
            "POST /v1/tokens/",
            "DELETE /v1/tokens/2/"
        ]
    );
    assert_eq!(ids(fake), [1]);
}

#[test]
fn exit_status_is_the_commands_and_the_token_is_deleted() {
    let fake = FakeIam::start().unwrap();
    for (script, code) in [
        ("exit 0", 0),
        ("exit 7", 7),
        ("exit 255", 255),
        ("kill -KILL $$", 128 + 9),
        ("kill -TERM $$", 128 + 15),
    ] {
        let output = exec(&fake, script);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{script}: {}",
            stderr(&output)
        );
        assert_eq!(stderr(&output), "", "{script}");
        assert_eq!(ids(&fake), [1], "{script}");
    }
    let methods: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    // Who am I (the scope of the ledger entry), create, delete.
    assert_eq!(
        methods[..3],
        [
            "GET /v1/whoami/",
            "POST /v1/tokens/",
            "DELETE /v1/tokens/2/"
        ]
    );
}

#[test]
fn the_command_gets_a_working_token_that_is_not_on_any_command_line() {
    let fake = FakeIam::start().unwrap();
    let dir = scratch("env");

    let output = exec_sh(
        &fake,
        &dir,
        r#"printf %s "$NEUROIO_API_TOKEN" > "$DIR/key"
           printf '%s %s' "$NEUROIO_IAM_URL" "$NEUROIO_API_URL" > "$DIR/urls"
           cat /proc/$PPID/cmdline /proc/$$/cmdline > "$DIR/cmdlines"
           "$NEUROIO" whoami"#,
    )
    .output()
    .unwrap();

    let key = std::fs::read_to_string(dir.join("key")).unwrap();
    let urls = std::fs::read_to_string(dir.join("urls")).unwrap();
    let cmdlines = std::fs::read(dir.join("cmdlines")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(json(&output)["username"], fake.root_username().as_str());
    assert!(!key.is_empty());
    assert_ne!(key, fake.root_token());
    assert_eq!(urls, format!("{} {}", fake.url(), fake.url()));
    let cmdlines = String::from_utf8_lossy(&cmdlines);
    assert!(cmdlines.contains("exec"), "{cmdlines}");
    assert!(!cmdlines.contains(&key), "{cmdlines}");
    // The whoami above used the new token; it is gone now.
    let auths: Vec<_> = fake
        .requests()
        .iter()
        .filter_map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(auths[2], format!("Token {key}"));
    assert!(
        client(&fake, key.as_str())
            .whoami()
            .unwrap_err()
            .is_unauthorized()
    );
    assert_eq!(ids(&fake), [1]);
}

#[test]
fn a_command_that_cannot_start_exits_127_or_126_and_the_token_is_deleted() {
    let fake = FakeIam::start().unwrap();
    let dir = scratch("start");
    let plain = dir.join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();

    let missing = run(&fake, &["exec", "--", "no-such-command-neuroio-test"]);
    let not_executable = run(&fake, &["exec", "--", plain.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(missing.status.code(), Some(127));
    assert_eq!(
        stderr(&missing),
        "error: cannot run no-such-command-neuroio-test: command not found\n"
    );
    assert_eq!(not_executable.status.code(), Some(126));
    assert!(
        stderr(&not_executable).ends_with("Permission denied (os error 13)\n"),
        "{}",
        stderr(&not_executable)
    );
    assert_eq!(ids(&fake), [1]);
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count(),
        2
    );
}

#[test]
fn nothing_runs_without_a_token() {
    let fake = FakeIam::start().unwrap();
    let dir = scratch("none");

    let output = exec_sh(&fake, &dir, r#"touch "$DIR/ran""#)
        .env_remove("NEUROIO_API_TOKEN")
        .output()
        .unwrap();
    let ran = dir.join("ran").exists();
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(output.status.code(), Some(2));
    assert!(!ran);
    assert!(fake.requests().is_empty());
    let no_command = run(&fake, &["exec"]);
    assert_eq!(no_command.status.code(), Some(2));
}

/// Waits at most 10 s for `child` to end, killing it after that.
fn wait_bounded(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("neuroio exec did not end within 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_sigint_sighup_and_sigquit_reach_the_command_and_the_token_is_still_deleted() {
    let fake = FakeIam::start().unwrap();
    for (signal, code) in [("-TERM", 143), ("-INT", 130), ("-HUP", 129), ("-QUIT", 131)] {
        let dir = scratch(&signal[1..]);
        // The command says it runs, then sleeps; sh -c execs sleep, so the
        // signal goes straight to it.
        let mut child = exec_sh(&fake, &dir, "echo started; exec sleep 30")
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, "started\n");

        let sent = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = wait_bounded(&mut child);
        std::fs::remove_dir_all(&dir).unwrap();

        assert_eq!(status.code(), Some(code), "{signal}");
        assert_eq!(ids(&fake), [1], "{signal}");
    }
}

#[test]
fn a_token_the_command_deleted_itself_is_not_a_failure() {
    let fake = FakeIam::start().unwrap();

    let output = exec(
        &fake,
        r#"printf '%s\n' "$NEUROIO_API_TOKEN" | "$NEUROIO" tokens delete - > /dev/null"#,
    );

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let last = fake.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("DELETE", "/v1/tokens/2/")
    );
    assert_eq!(ids(&fake), [1]);
}

#[test]
fn a_failed_delete_is_reported_and_turns_success_into_1() {
    // The command deletes every token of the account, neuroio's own
    // included: neuroio cannot delete the temporary token any more.
    let deletes_all = r#""$NEUROIO" tokens delete-all --yes > /dev/null 2>&1"#;
    let (fake, other) = (FakeIam::start().unwrap(), FakeIam::start().unwrap());

    let succeeded = exec(&fake, deletes_all);
    let failed = exec(&other, &format!("{deletes_all}; exit 5"));

    let reported = format!(
        "error: the temporary token 2 could not be deleted \
         (API error (HTTP 401): Invalid token.\n{LOG_IN_AGAIN}); delete it with: neuroio tokens delete 2\n"
    );
    assert_eq!(succeeded.status.code(), Some(1));
    assert_eq!(stderr(&succeeded), reported);
    assert_eq!(failed.status.code(), Some(5));
    assert_eq!(stderr(&failed), reported);
}

#[test]
fn a_server_error_on_the_delete_is_reported() {
    let fake = FakeIam::start().unwrap();
    // The who am I and the create go through; the delete after the
    // command fails.
    fake.inject(Fault::Delay(Duration::ZERO), 2);
    fake.inject(Fault::status(500), 1);

    let output = run(&fake, &["exec", "--retries", "0", "--", "true"]);

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "error: the temporary token 2 could not be deleted (API error (HTTP 500) from \
             {}/v1/tokens/2/: Injected fault: the simulator was told to fail this request.); \
             delete it with: neuroio tokens delete 2\n",
            fake.url()
        )
    );
    assert_eq!(ids(&fake), [2, 1]);
}

#[test]
fn a_token_on_standard_input_takes_its_line_and_leaves_the_rest_to_the_command() {
    let fake = FakeIam::start().unwrap();
    for lines in [3, 5_000] {
        let mut input = format!("{}\n", fake.root_token());
        for i in 0..lines {
            input.push_str(&format!("line {i}\n"));
        }
        let output = run_with_stdin(
            &fake,
            &[
                "exec",
                "--token-file",
                "-",
                "--",
                "sh",
                "-c",
                r#"read -r first; echo "$first"; wc -l"#,
            ],
            &input,
        );
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert_eq!(
            stdout(&output).split_whitespace().collect::<Vec<_>>(),
            ["line", "0", &(lines - 1).to_string()],
            "{lines} lines"
        );
        assert_eq!(ids(&fake), [1]);
    }
}

#[test]
fn signals_ignored_when_exec_started_stay_ignored_for_the_command() {
    let fake = FakeIam::start().unwrap();

    // SIGINT and SIGQUIT ignored (as a script's `trap '' INT QUIT` or a
    // background job leave them), SIGHUP and SIGTERM not.
    let output = exec(
        &fake,
        r#"trap '' INT QUIT; exec "$NEUROIO" exec -- grep SigIgn /proc/self/status"#,
    );

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let line = stdout(&output);
    let mask = u64::from_str_radix(line.trim().trim_start_matches("SigIgn:").trim(), 16).unwrap();
    let ignored = |signal: u32| mask & (1 << (signal - 1)) != 0;
    assert_eq!(
        [ignored(1), ignored(2), ignored(3), ignored(15)],
        [false, true, true, false],
        "{line}"
    );
    assert_eq!(ids(&fake), [1]);
}

#[test]
fn the_command_cannot_read_the_account_token_from_exec() {
    let fake = FakeIam::start().unwrap();
    // As an ordinary user: root may read any process.
    let as_nobody: &[&str] = if Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
    {
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]
    } else {
        &[]
    };
    let state =
        std::env::temp_dir().join(format!("neuroio-cli-exec-nobody-{}", std::process::id()));
    let mut command = Command::new(as_nobody.first().copied().unwrap_or(BIN));
    command
        .args(as_nobody.iter().skip(1))
        .args(if as_nobody.is_empty() {
            vec![]
        } else {
            vec![BIN]
        })
        .args([
            "exec",
            "--",
            "sh",
            "-c",
            "cat /proc/$PPID/environ; s=$?; echo; echo cat exited $s",
        ])
        .env("NEUROIO_API_TOKEN", fake.root_token())
        .env("NEUROIO_IAM_URL", fake.url())
        // A ledger folder that user may create.
        .env("NEUROIO_STATE_DIR", &state)
        .stdin(Stdio::null());

    let output = command.output().unwrap();
    let _ = std::fs::remove_dir_all(&state);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let shown = format!("{}{}", stdout(&output), stderr(&output));
    assert!(!shown.contains(&fake.root_token()), "{shown}");
    assert!(shown.contains("cat exited 1"), "{shown}");
    assert!(shown.contains("Permission denied"), "{shown}");
    assert_eq!(ids(&fake), [1]);
}

#[test]
fn exec_exits_128_plus_n_once_it_passed_signal_n_on_whatever_the_command_returned() {
    let fake = FakeIam::start().unwrap();
    for (signal, code) in [("-HUP", 129), ("-TERM", 143)] {
        let dir = scratch(&format!("trap{signal}"));
        // The command catches the signal and exits 0 (or 3) on it.
        let mut child = exec_sh(
            &fake,
            &dir,
            r#"trap 'echo caught; exit 0' HUP; trap 'echo caught; exit 3' TERM
               echo started; while :; do sleep 0.05; done"#,
        )
        .spawn()
        .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, "started\n");

        let sent = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = wait_bounded(&mut child);
        line.clear();
        out.read_line(&mut line).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        assert_eq!(line, "caught\n", "{signal}: the command got the signal");
        assert_eq!(status.code(), Some(code), "{signal}");
        assert_eq!(ids(&fake), [1], "{signal}");
    }
}

/// A server that accepts connections and reads requests, answers the first
/// `answered` of them as who am I would (the root user), and never the
/// rest; `started` gets a message for each request head read.
fn silent_server(answered: usize) -> (String, std::sync::mpsc::Receiver<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (started, heard) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = started.send(());
            if held.len() < answered {
                let body = r#"{"username": "root", "space": {"id": 1, "name": "default"}}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: \
                     {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            held.push(stream);
        }
    });
    (url, heard)
}

/// What became of an `exec` signalled while it waited on a server.
struct CalledOff {
    status: std::process::ExitStatus,
    stderr: String,
    /// From the start to the end of the run.
    elapsed: Duration,
    /// Whether the command ran.
    ran: bool,
    /// The job folders left in the run's state folder.
    jobs: Vec<std::path::PathBuf>,
}

/// Runs `exec ARGS -- sh -c 'touch ran'` against a server that answers
/// who am I `answered` times and nothing else, sends `signal` once the
/// server has read `heads` requests, and checks that it reads no other.
fn called_off(name: &str, args: &[&str], answered: usize, heads: usize, signal: &str) -> CalledOff {
    let (url, heard) = silent_server(answered);
    let dir = scratch(name);
    let state = dir.join("state");
    let started = Instant::now();
    let mut child = neuroio()
        .arg("exec")
        .args(args)
        .args(["--iam-url", &url, "--api-url", &url, "--timeout", "60"])
        .args(["--", "sh", "-c", r#"touch "$DIR/ran""#])
        .env("NEUROIO_API_TOKEN", "account-token")
        .env("NEUROIO_STATE_DIR", &state)
        .env("DIR", &dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..heads {
        heard.recv_timeout(Duration::from_secs(10)).unwrap();
    }

    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = wait_bounded(&mut child);
    let elapsed = started.elapsed();
    let output = child.wait_with_output().unwrap();
    let ran = dir.join("ran").exists();
    let jobs = job_folders(&state);
    std::fs::remove_dir_all(&dir).unwrap();
    // Nothing more was sent, even a moment later.
    std::thread::sleep(Duration::from_millis(200));
    assert!(heard.try_recv().is_err(), "{name}: another request");
    CalledOff {
        status,
        stderr: stderr(&output),
        elapsed,
        ran,
        jobs,
    }
}

#[test]
fn a_signal_while_the_token_is_being_created_ends_exec_at_once_with_128_plus_n() {
    // Who am I is answered; the create never is.
    let run = called_off("creating", &["--retries", "0"], 1, 2, "-INT");

    assert_eq!(run.status.code(), Some(130), "{}", run.stderr);
    // Not the 60 s timeout: the 2 s given to the answer, and some slack.
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    assert!(!run.ran, "the command ran");
    assert_eq!(
        run.stderr,
        "error: the run was called off while the temporary token was being created, before \
         the API answered; if it created one, it expires within 24 hours, or find it with \
         `neuroio tokens list --temporary` and delete it\n"
    );
}

#[test]
fn a_signal_while_who_am_i_is_asked_ends_exec_at_once_and_no_token_is_asked_for() {
    // Who am I is never answered; the create is never sent.
    let run = called_off("asking", &[], 0, 1, "-TERM");

    assert_eq!(run.status.code(), Some(143), "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    // Nothing was made, so there is nothing to say.
    assert_eq!(run.stderr, "");
    assert!(!run.ran, "the command ran");
}

#[test]
fn a_signal_during_the_first_mint_of_exec_rotate_ends_it_at_once_and_leaves_no_folder() {
    // Who am I is answered; the mint is sent, and never answered.
    let run = called_off(
        "rotate-creating",
        &["--rotate", "--retries", "0"],
        1,
        2,
        "-TERM",
    );

    assert_eq!(run.status.code(), Some(143), "{}", run.stderr);
    // Not the 60 s timeout: the 2 s given to the answer, and some slack.
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    assert!(!run.ran, "the command ran");
    assert_eq!(
        run.stderr,
        "error: the run was called off while the first temporary token was being made, \
         before the API answered; a token it made and recorded is deleted by `neuroio tokens \
         reap`, and any other expires within 24 hours\n"
    );
    assert_eq!(run.jobs, Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_token_that_arrives_after_a_signal_is_deleted_and_the_command_never_runs() {
    let fake = FakeIam::start().unwrap();
    // The create is answered after 1 s; the signal comes before that.
    fake.inject_at(
        "POST",
        "/v1/tokens/",
        Fault::Delay(Duration::from_secs(1)),
        1,
    );
    let dir = scratch("late");
    let mut child = exec_sh(&fake, &dir, r#"touch "$DIR/ran""#).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fake.requests().iter().any(|r| r.method == "POST") {
        assert!(Instant::now() < deadline, "no create within 10 s");
        std::thread::sleep(Duration::from_millis(10));
    }

    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = wait_bounded(&mut child);
    let output = child.wait_with_output().unwrap();
    let ran = dir.join("ran").exists();
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(status.code(), Some(143), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    assert!(!ran, "the command ran");
    asked_made_and_deleted_one_token(&fake);
}

#[test]
fn a_who_am_i_that_hangs_delays_the_job_2_s_at_most_and_the_token_is_still_deleted() {
    let fake = FakeIam::start().unwrap();
    fake.inject_at(
        "GET",
        "/v1/whoami/",
        Fault::Delay(Duration::from_secs(30)),
        1,
    );
    let started = Instant::now();

    let output = run(&fake, &["exec", "--", "true"]);

    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    // Not the 30 s of the answer: the 2 s the scope is waited for, and
    // some slack.
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    asked_made_and_deleted_one_token(&fake);
}
