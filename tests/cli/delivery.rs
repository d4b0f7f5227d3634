//! create and rotate print the only copy of a new key: when they cannot,
//! the token is deleted again, or named so that it can be.

use super::*;
use neuroio::fake::Fault;

/// Runs the binary with standard output a pipe whose read end is closed.
pub(super) fn run_into_closed_pipe(fake: &FakeIam, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    neuroio()
        .args(args)
        .env("NEUROIO_API_TOKEN", fake.root_token())
        .env("NEUROIO_IAM_URL", fake.url())
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn create_into_a_closed_pipe_deletes_the_token_and_exits_1() {
    let fake = FakeIam::start().unwrap();

    let output = run_into_closed_pipe(&fake, &["tokens", "create"]);

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: cannot write the new token to standard output: Broken pipe (os error 32); \
         token 2 was created but its key could not be delivered, so it was deleted again\n"
    );
    let methods: Vec<_> = fake.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST", "DELETE"]);
    assert_eq!(ids(&fake), [1]);
}

#[test]
fn create_into_a_closed_pipe_names_the_token_it_could_not_delete() {
    let fake = FakeIam::start().unwrap();
    // The create goes through; the delete that follows fails.
    fake.inject(Fault::Delay(Duration::ZERO), 1);
    fake.inject(Fault::status(503), 1);

    let output = run_into_closed_pipe(
        &fake,
        &["tokens", "create", "--permanent", "--retries", "0"],
    );

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "error: cannot write the new token to standard output: Broken pipe (os error 32); \
             token 2 was created but its key could not be delivered, and deleting it failed \
             (API error (HTTP 503) from {}/v1/tokens/2/: Injected fault: the simulator was told \
             to fail this request.); delete it with: neuroio tokens delete 2\n",
            fake.url()
        )
    );
    assert_eq!(ids(&fake), [2, 1]);
    assert!(!stderr(&output).contains(&fake.root_token()));
}

#[test]
fn rotate_into_a_closed_pipe_deletes_the_new_token_and_exits_1() {
    let fake = FakeIam::start().unwrap();

    let output = run_into_closed_pipe(&fake, &["tokens", "rotate", "--output", "table"]);

    assert_new_token_deleted_again(&fake, &output);
}

/// `output` says that token 2 could not be written to a closed pipe and was
/// deleted again, and it is gone.
pub(super) fn assert_new_token_deleted_again(fake: &FakeIam, output: &Output) {
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(output),
        "error: cannot write the new token to standard output: Broken pipe (os error 32); \
         token 2 was created but its key could not be delivered, so it was deleted again\n"
    );
    assert_eq!(ids(fake), [1]);
}

#[test]
fn list_into_a_closed_pipe_ends_quietly() {
    let fake = FakeIam::start().unwrap();

    let output = run_into_closed_pipe(&fake, &["tokens", "list"]);

    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stderr(&output), "");
}

#[test]
fn create_into_a_full_disk_deletes_the_token_and_exits_1() {
    let fake = FakeIam::start().unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();

    let output = neuroio()
        .args(["tokens", "create"])
        .env("NEUROIO_API_TOKEN", fake.root_token())
        .env("NEUROIO_IAM_URL", fake.url())
        .stdin(Stdio::null())
        .stdout(Stdio::from(full))
        .stderr(Stdio::piped())
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: cannot write to standard output: No space left on device (os error 28); \
         token 2 was created but its key could not be delivered, so it was deleted again\n"
    );
    assert_eq!(ids(&fake), [1]);
}

/// A create whose outcome is open says so in the library's words (what may
/// have happened and what to check), with the API's answer, and exits as
/// that answer does.
#[test]
fn an_open_outcome_names_what_to_check() {
    let fake = FakeIam::start().unwrap();
    fake.inject(Fault::status(503), 1);

    let output = run(&fake, &["tokens", "create"]);

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "error: tokens.create: the outcome is unknown, it may or may not have been carried out; \
         a token may have been created: list the newest tokens and compare before trying again \
         (API error (HTTP 503): Injected fault: the simulator was told to fail this request.)\n"
    );
}
