//! Timeouts against a server that accepts connections and never answers.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use neuroio::{Client, Error, TransportErrorKind};

const TIMEOUT: Duration = Duration::from_millis(300);
/// Slack for a shared, noisy machine; the point is "not the 30 s default".
const MARGIN: Duration = Duration::from_secs(2);

/// A listener nobody accepts on: the kernel completes the handshake, and
/// the request then waits forever for an answer.
fn silent_server() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

fn assert_timeout<T: std::fmt::Debug>(what: &str, started: Instant, result: neuroio::Result<T>) {
    let elapsed = started.elapsed();
    let err = result.unwrap_err();
    assert!(err.is_timeout(), "{what}: {err:?}");
    // Timers round to the millisecond or so; a wait cut short by more than
    // that would mean the wrong timeout fired.
    assert!(
        elapsed >= TIMEOUT - Duration::from_millis(20),
        "{what}: gave up early, after {elapsed:?}"
    );
    assert!(elapsed < TIMEOUT + MARGIN, "{what}: took {elapsed:?}");
    assert!(err.to_string().contains("timed out"), "{what}: {err}");
}

#[test]
fn every_operation_times_out() {
    let (_listener, url) = silent_server();
    let client = Client::builder()
        .api_token("abcd")
        .iam_url(url)
        .timeout(TIMEOUT)
        .max_retries(0)
        .build()
        .unwrap();
    let tokens = client.tokens();

    let t = Instant::now();
    assert_timeout("create", t, tokens.create(false));
    let t = Instant::now();
    assert_timeout("list", t, tokens.list(None, 20, 0));
    let t = Instant::now();
    assert_timeout("get", t, tokens.get(1));
    let t = Instant::now();
    assert_timeout("update", t, tokens.update("key", false));
    let t = Instant::now();
    assert_timeout("delete", t, tokens.delete(1));
    let t = Instant::now();
    assert_timeout("delete_list", t, tokens.delete_list(None));
    let t = Instant::now();
    assert_timeout("list_all", t, tokens.list_all(None));
}

#[test]
fn create_timeout_says_the_outcome_is_unknown() {
    let (_listener, url) = silent_server();
    let client = Client::builder()
        .api_token("abcd")
        .iam_url(url)
        .timeout(TIMEOUT)
        .build()
        .unwrap();

    let err = client.tokens().create(true).unwrap_err();

    assert!(err.is_timeout() && err.is_outcome_unknown(), "{err:?}");
    let Error::OutcomeUnknown { source, .. } = &err else {
        unreachable!()
    };
    let Error::Transport(t) = source.as_ref() else {
        panic!("{source:?}")
    };
    assert_eq!(t.kind(), TransportErrorKind::Timeout);
}

#[test]
fn timeout_bounds_each_attempt_of_a_retried_call() {
    let (_listener, url) = silent_server();
    let client = Client::builder()
        .api_token("abcd")
        .iam_url(url)
        .timeout(TIMEOUT)
        .max_retries(2)
        .retry_backoff(Duration::from_millis(1), Duration::from_millis(2))
        .build()
        .unwrap();
    let started = Instant::now();

    let err = client.tokens().get(1).unwrap_err();

    let elapsed = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        elapsed >= TIMEOUT * 3,
        "three attempts expected, took {elapsed:?}"
    );
    assert!(elapsed < TIMEOUT * 3 + MARGIN, "took {elapsed:?}");
}

#[test]
fn connect_timeout_bounds_connecting_separately() {
    // A listener whose accept queue is full: the kernel drops further SYNs,
    // so connecting hangs until a timeout ends it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    while let Ok(stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
        queued.push(stream);
        assert!(queued.len() < 10_000, "the accept queue never filled");
    }
    let client = Client::builder()
        .api_token("abcd")
        .iam_url(format!("http://{addr}"))
        .timeout(Duration::from_secs(20))
        .connect_timeout(TIMEOUT)
        .max_retries(0)
        .build()
        .unwrap();

    let started = Instant::now();
    let result = client.tokens().list(None, 20, 0);

    assert_timeout("connect", started, result);
}
