//! The exit codes of every command family, one case per row of the table
//! in `neuroio --help` (0 success, 1 refused or failed, 2 usage, 3 no
//! answer, 4 authentication or a wrong password).

use super::*;
use neuroio::fake::Fault;

/// A URL where nothing listens.
fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The exit code of `args` run with `token` against `fake` (both hosts),
/// with `input` on standard input, after injecting `fault` once if given.
fn code(fake: &FakeIam, token: &str, args: &[&str], input: &str, fault: Option<Fault>) -> i32 {
    if let Some(fault) = fault {
        fake.clear_faults();
        fake.inject(fault, 1);
    }
    let mut child = neuroio()
        .args(args)
        .env("NEUROIO_API_TOKEN", token)
        .env("NEUROIO_IAM_URL", fake.url())
        .env("NEUROIO_API_URL", fake.url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    let output = child.wait_with_output().unwrap();
    fake.clear_faults();
    let shown = format!("{}{}", stdout(&output), stderr(&output));
    assert!(!shown.contains("panicked"), "{args:?}: {shown}");
    output.status.code().unwrap()
}

/// Runs each (expected code, args, stdin, fault) row.
fn rows<A: AsRef<str>>(fake: &FakeIam, token: &str, rows: Vec<(i32, Vec<A>, &str, Option<Fault>)>) {
    for (expected, args, input, fault) in rows {
        let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        assert_eq!(code(fake, token, &args, input, fault), expected, "{args:?}");
    }
}

const BAD_TOKEN: &str = "not-a-token-of-this-simulator";

#[test]
fn tokens_and_stream_tokens() {
    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();
    let closed = closed_url();
    for (group, url_option) in [("tokens", "--iam-url"), ("stream-tokens", "--api-url")] {
        rows(
            &fake,
            &root,
            vec![
                (0, vec![group, "list"], "", None),
                (1, vec![group, "get", "424242"], "", None),
                (
                    1,
                    vec![group, "list", "--retries", "0"],
                    "",
                    Some(Fault::status(500)),
                ),
                (2, vec![group, "list", "--limit", "0"], "", None),
                (
                    3,
                    vec![group, "list", url_option, &closed, "--retries", "0"],
                    "",
                    None,
                ),
            ],
        );
        assert_eq!(
            code(&fake, BAD_TOKEN, &[group, "list"], "", None),
            4,
            "{group}"
        );
    }
}

#[test]
fn whoami() {
    let fake = FakeIam::start().unwrap();
    let closed = closed_url();
    rows(
        &fake,
        &fake.root_token(),
        vec![
            (0, vec!["whoami"], "", None),
            (
                1,
                vec!["whoami", "--retries", "0"],
                "",
                Some(Fault::status(500)),
            ),
            (2, vec!["whoami", "--timeout", "0"], "", None),
            (
                3,
                vec!["whoami", "--iam-url", &closed, "--retries", "0"],
                "",
                None,
            ),
        ],
    );
    assert_eq!(code(&fake, BAD_TOKEN, &["whoami"], "", None), 4);
}

#[test]
fn login() {
    let fake = FakeIam::start().unwrap();
    let (user, password) = (fake.root_username(), fake.root_password());
    let closed = closed_url();
    let login = |extra: &[&str]| -> Vec<String> {
        ["login", "--no-store", "--username", user.as_str()]
            .iter()
            .chain(extra)
            .map(|a| (*a).to_owned())
            .collect()
    };
    rows(
        &fake,
        BAD_TOKEN,
        vec![
            (0, login(&["--password-file", "-"]), &password, None),
            (
                1,
                login(&["--password-file", "-"]),
                &password,
                Some(Fault::status(500)),
            ),
            (2, login(&[]), "", None),
            (
                3,
                login(&["--password-file", "-", "--iam-url", &closed]),
                &password,
                None,
            ),
            (
                4,
                login(&["--password-file", "-"]),
                "not-the-password",
                None,
            ),
        ],
    );
}

#[test]
fn spaces() {
    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();
    let space = client(&fake, root.as_str())
        .whoami()
        .unwrap()
        .space()
        .unwrap()
        .id
        .to_string();
    let closed = closed_url();
    rows(
        &fake,
        &root,
        vec![
            (0, vec!["spaces", "create-token", &space], "", None),
            (1, vec!["spaces", "create-token", "999"], "", None),
            (2, vec!["spaces", "create-token", "lab"], "", None),
            (
                3,
                vec!["spaces", "create-token", &space, "--iam-url", &closed],
                "",
                None,
            ),
        ],
    );
    assert_eq!(
        code(
            &fake,
            BAD_TOKEN,
            &["spaces", "create-token", &space],
            "",
            None
        ),
        4
    );
}

#[test]
fn password() {
    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();
    let old = fake.root_password();
    let new_file = temp_file("exit-codes", "new-password", "a-new-secret\n");
    let new_file = new_file.to_str().unwrap();
    let closed = closed_url();
    let change = |extra: &[&'static str]| {
        let mut args = vec!["password", "change", "--new-password-file", new_file];
        args.extend_from_slice(extra);
        args
    };
    let with_old = ["--old-password-file", "-"];
    rows(
        &fake,
        &root,
        vec![
            (1, change(&with_old), &old, Some(Fault::status(500))),
            (2, change(&[]), "", None),
            (
                3,
                [change(&with_old), vec!["--iam-url", &closed]].concat(),
                &old,
                None,
            ),
            (4, change(&with_old), "not-the-password", None),
            (0, change(&with_old), &old, None),
        ],
    );
    assert_eq!(
        code(&fake, BAD_TOKEN, &change(&with_old), "a-new-secret", None),
        4
    );
    std::fs::remove_dir_all(std::path::Path::new(new_file).parent().unwrap()).unwrap();
}

#[test]
fn exec() {
    let fake = FakeIam::start().unwrap();
    let closed = closed_url();
    rows(
        &fake,
        &fake.root_token(),
        vec![
            (0, vec!["exec", "--", "true"], "", None),
            (2, vec!["exec"], "", None),
            (
                3,
                vec!["exec", "--iam-url", &closed, "--", "true"],
                "",
                None,
            ),
        ],
    );
    assert_eq!(code(&fake, BAD_TOKEN, &["exec", "--", "true"], "", None), 4);
    // A create the server fails (a POST is not sent again).
    fake.inject_at("POST", "/v1/tokens/", Fault::status(500), 1);
    assert_eq!(
        code(&fake, &fake.root_token(), &["exec", "--", "true"], "", None),
        1
    );
    assert_eq!(ids(&fake), [1]);
}

/// A server that answers every request with a 200 whose body is larger
/// than the client reads (4 MiB); returns its URL and how many requests
/// it got.
fn oversized_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::Read;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            // The request's body too: unread, it would make the close a
            // reset.
            let length = String::from_utf8_lossy(&head)
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            let mut body = vec![0u8; length];
            let _ = stream.read_exact(&mut body);
            counted.fetch_add(1, Ordering::SeqCst);
            let body = format!("{{\"username\":\"{}\"}}", "A".repeat(5 * 1024 * 1024));
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, requests)
}

#[test]
fn an_answer_too_large_to_read_exits_1_with_a_hint_in_cli_words() {
    let (url, requests) = oversized_server();

    let output = neuroio()
        .args(["whoami", "--iam-url", &url])
        .env("NEUROIO_API_TOKEN", "some-token")
        .stdin(Stdio::null())
        .output()
        .unwrap();

    // The server answered: not exit 3, "no answer".
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        format!(
            "error: whoami: the answer from {url}/v1/whoami/ was larger than neuroio reads \
             (4194304 bytes), so it was not read; the server answered, but not as the NeuroIO \
             API does: check that the URL (--iam-url, --api-url) points at the API and not at \
             another service or a proxy's page\n"
        )
    );
    // Not retried: the same server gives the same answer.
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A create, whose outcome is then open, says so in the same words.
    let created = neuroio()
        .args(["tokens", "create", "--iam-url", &url])
        .env("NEUROIO_API_TOKEN", "some-token")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(created.status.code(), Some(1), "{}", stderr(&created));
    let shown = stderr(&created);
    assert!(
        shown.contains(&format!(
            "the answer from {url}/v1/tokens/ was larger than neuroio reads (4194304 bytes)"
        )),
        "{shown}"
    );
    assert!(!shown.contains("ClientBuilder"), "{shown}");
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// Every command, read off the binary's help: an option it does not know
/// is a usage error (2), refused before anything is sent.
#[test]
fn every_command_exits_2_on_an_option_it_does_not_take() {
    let fake = FakeIam::start().unwrap();
    for command in leaf_commands() {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--no-such-option");
        let output = run(&fake, &args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).starts_with("error: unexpected argument '--no-such-option' found"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}
