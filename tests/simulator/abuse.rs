//! The simulator under abuse: absurd clocks and delays, ambiguous framing,
//! floods of big requests and of connections, and huge accounts. None of
//! these may panic a thread or grow without bound.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{assert_error_body, client, exchange, raw};
use neuroio::fake::{FakeIam, Fault};
use serde_json::Value;

/// Polls `done` until it holds; fails after a generous deadline. A wait for
/// an event, not a timing assertion.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn advancing_by_duration_max_saturates_instead_of_panicking() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let before = fake.now();

    fake.advance(Duration::MAX);
    fake.advance(Duration::MAX);

    let now = fake.now();
    assert!(now > before + time::Duration::days(365 * 900), "{now}");
    // The server still works: the permanent root token authenticates and a
    // temporary token gets a valid expiry a day later.
    let token = root.tokens().create(false).unwrap();
    assert_eq!(
        token.expires.unwrap() - token.created,
        time::Duration::hours(24)
    );
    assert_eq!(root.tokens().list(None, 20, 0).unwrap().len(), 2);
}

#[test]
fn a_delay_of_duration_max_stalls_until_the_client_gives_up() {
    let fake = FakeIam::start().unwrap();
    let impatient = neuroio::Client::builder()
        .api_token(fake.root_token())
        .iam_url(fake.url())
        .timeout(Duration::from_millis(300))
        .max_retries(0)
        .build()
        .unwrap();
    fake.inject(Fault::Delay(Duration::MAX), 1);

    let err = impatient.tokens().list(None, 20, 0).unwrap_err();

    assert!(err.is_timeout(), "{err:?}");
    let _ = fake.now();
    let root = client(&fake, fake.root_token());
    assert_eq!(root.tokens().list(None, 20, 0).unwrap().len(), 1);
    // Dropping the simulator ends the stalled connection too.
}

#[test]
fn conflicting_content_lengths_are_400_and_change_nothing() {
    let fake = FakeIam::start().unwrap();
    let body = r#"{"permanent":true}"#;
    let request = format!(
        "POST /v1/tokens/ HTTP/1.1\r\nHost: x\r\nAuthorization: Token {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nContent-Length: 0\r\n\r\n{body}",
        fake.root_token(),
        body.len(),
    );

    let answer = exchange(&fake, request.as_bytes());

    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains(r#""error_codes":[400]"#), "{answer}");
    assert!(answer.contains("Connection: close"), "{answer}");
    let root = client(&fake, fake.root_token());
    assert_eq!(root.tokens().list(None, 20, 0).unwrap().len(), 1);
}

#[test]
fn identical_repeated_content_lengths_are_accepted() {
    let fake = FakeIam::start().unwrap();
    let body = r#"{"permanent":true}"#;
    let request = format!(
        "POST /v1/tokens/ HTTP/1.1\r\nHost: x\r\nAuthorization: Token {key}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {n}\r\nContent-Length: {n}\r\n\r\n{body}",
        key = fake.root_token(),
        n = body.len(),
    );

    let answer = exchange(&fake, request.as_bytes());

    assert!(answer.starts_with("HTTP/1.1 201 "), "{answer}");
    let root = client(&fake, fake.root_token());
    assert_eq!(root.tokens().list(Some(true), 20, 0).unwrap().len(), 2);
}

#[test]
fn the_request_log_is_bounded_in_bytes() {
    let fake = FakeIam::start().unwrap();
    let big = vec![b'x'; 64 * 1024];
    for _ in 0..200 {
        let (status, body) = raw(
            &fake,
            "POST",
            "/v1/tokens/",
            &[
                ("authorization", &format!("Token {}", fake.root_token())),
                ("content-type", "text/plain"),
            ],
            &big,
        );
        assert_eq!(status, 400);
        assert_error_body(&body, 400, &[]);
    }

    let seen = fake.requests();
    // 200 whole bodies would be 12.5 MiB; the log holds about 4 MiB at most.
    let held: usize = seen
        .iter()
        .map(|r| {
            r.body.len()
                + r.path.len()
                + r.headers
                    .iter()
                    .map(|(n, v)| n.len() + v.len())
                    .sum::<usize>()
        })
        .sum();
    assert!(held <= 4 * 1024 * 1024, "{held} bytes in the log");
    // Each entry keeps a prefix of its body and says how long it was.
    let last = seen.last().unwrap();
    assert_eq!(last.body_len, 64 * 1024);
    assert_eq!(last.body, vec![b'x'; 4 * 1024]);
    // Small requests are not crowded out: all 200 fit.
    assert_eq!(seen.len(), 200);
}

#[test]
fn the_request_log_drops_the_oldest_beyond_its_bytes() {
    let fake = FakeIam::start().unwrap();
    // Heads near the 16 KiB limit: 400 of them are over 4 MiB.
    let filler = "h".repeat(15 * 1024);
    for i in 0..400 {
        let (status, _) = raw(
            &fake,
            "GET",
            &format!("/v1/whoami/?n={i}"),
            &[("x-filler", &filler)],
            b"",
        );
        assert_eq!(status, 401);
    }

    let seen = fake.requests();
    assert!(seen.len() < 400, "{} entries", seen.len());
    assert!(seen.len() > 100, "{} entries", seen.len());
    assert_eq!(seen.last().unwrap().query.as_deref(), Some("n=399"));
}

/// Connections to the simulator's port in state CLOSE_WAIT (Linux only).
fn close_wait(fake: &FakeIam) -> usize {
    let port = format!("{:04X}", fake.addr().port());
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            cols.get(1).is_some_and(|local| local.ends_with(&port)) && cols.get(3) == Some(&"08")
        })
        .count()
}

#[test]
fn a_connection_the_peer_closes_is_reaped_at_once() {
    let fake = FakeIam::start().unwrap();
    {
        let mut stream = TcpStream::connect(fake.addr()).unwrap();
        stream
            .write_all(b"GET /v1/tokens/ HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut answer = [0u8; 12];
        stream.read_exact(&mut answer).unwrap();
        assert_eq!(&answer, b"HTTP/1.1 401");
        assert_eq!(fake.open_connections(), 1);
    } // the peer closes here, and nothing else connects afterwards

    eventually("the connection is no longer served", || {
        fake.open_connections() == 0
    });
    eventually("no socket lingers in CLOSE_WAIT", || close_wait(&fake) == 0);
}

#[test]
fn connections_over_the_cap_get_503_and_the_rest_are_served() {
    let fake = FakeIam::start().unwrap();
    let idle: Vec<TcpStream> = (0..256)
        .map(|_| TcpStream::connect(fake.addr()).unwrap())
        .collect();
    eventually("256 connections are served", || {
        fake.open_connections() == 256
    });

    let answer = exchange(&fake, b"");
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_error_body(&body, 503, &[]);
    assert_eq!(fake.open_connections(), 256);

    drop(idle);
    eventually("the idle connections are reaped", || {
        fake.open_connections() == 0
    });
    let root = client(&fake, fake.root_token());
    assert_eq!(root.tokens().list(None, 20, 0).unwrap().len(), 1);
}

#[test]
fn idle_and_half_sent_connections_are_closed_after_the_idle_timeout() {
    let fake = FakeIam::start().unwrap();
    // Long enough to fill every slot first, on a busy machine.
    fake.set_idle_timeout(Duration::from_secs(600));
    // Half of the slots hold connections that send nothing, half hold ones
    // that send half a request head and stop.
    let mut held: Vec<TcpStream> = (0..256)
        .map(|i| {
            let mut stream = TcpStream::connect(fake.addr()).unwrap();
            if i % 2 == 1 {
                stream
                    .write_all(b"GET /v1/tokens/ HTTP/1.1\r\nHost:")
                    .unwrap();
            }
            stream
        })
        .collect();
    eventually("256 connections are served", || {
        fake.open_connections() == 256
    });
    let locked_out = exchange(&fake, b"");
    assert!(locked_out.starts_with("HTTP/1.1 503 "), "{locked_out}");

    assert_eq!(
        fake.set_idle_timeout(Duration::from_millis(200)),
        Duration::from_millis(200)
    );
    eventually("the held connections are closed", || {
        fake.open_connections() == 0
    });

    // The silent ones were closed without an answer; the half-sent ones
    // were told why.
    for (i, stream) in held.iter_mut().enumerate() {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        if i % 2 == 0 {
            assert_eq!(answer, "", "connection {i}");
        } else {
            assert!(
                answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
                "{answer}"
            );
            let body: Value =
                serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
            assert_error_body(&body, 408, &[]);
        }
    }
    let root = client(&fake, fake.root_token());
    assert_eq!(root.tokens().list(None, 20, 0).unwrap().len(), 1);
    // Nothing of the held connections reached the API.
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn pages_are_right_at_large_offsets_of_a_large_account() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    // Id 1 is the permanent root token; ids 2..=150_001 are temporary.
    fake.add_temporary_tokens(&fake.root_token(), 150_000)
        .unwrap();
    let ids = |permanent, limit, offset| -> Vec<u64> {
        root.tokens()
            .list(permanent, limit, offset)
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect()
    };

    assert_eq!(ids(None, 3, 0), vec![150_001, 150_000, 149_999]);
    assert_eq!(ids(None, 20, 149_990), (1..=11).rev().collect::<Vec<_>>());
    assert_eq!(
        ids(Some(false), 20, 149_990),
        (2..=11).rev().collect::<Vec<_>>()
    );
    assert_eq!(ids(Some(true), 20, 0), vec![1]);
    assert!(ids(None, 20, 150_001).is_empty());
    assert!(ids(None, 20, u32::MAX).is_empty());

    // Deleting from the middle shifts later pages by one.
    root.tokens().delete(5).unwrap();
    assert_eq!(
        ids(None, 5, 149_995),
        vec![6, 4, 3, 2, 1],
        "after deleting id 5"
    );
    // Deleting the temporary ones leaves the permanent one in order.
    root.tokens().delete_list(Some(false)).unwrap();
    assert_eq!(ids(None, 20, 0), vec![1]);
}

#[test]
fn connections_that_send_requests_and_never_read_the_answers_are_closed_after_the_idle_timeout() {
    let fake = FakeIam::start().unwrap();
    // Long enough to fill every slot first, on a busy machine.
    fake.set_idle_timeout(Duration::from_secs(600));
    // Answers of about 100 KiB: every space of an account with 400 long
    // names. 64 of them are more than the socket buffers of a connection
    // hold (a few MiB on loopback), so its thread is left writing.
    for i in 0..400 {
        fake.add_space(&fake.root_token(), &format!("{i:0>250}"))
            .unwrap();
    }
    let request = format!(
        "GET /v1/lists/spaces/ HTTP/1.1\r\nHost: fake\r\nAuthorization: Token {}\r\n\r\n",
        fake.root_token()
    );
    let pipelined = request.repeat(64);
    const WRITERS: usize = 4;
    // The other slots hold connections that send nothing.
    let mut held: Vec<TcpStream> = (0..256)
        .map(|i| {
            let mut stream = TcpStream::connect(fake.addr()).unwrap();
            if i < WRITERS {
                stream.write_all(pipelined.as_bytes()).unwrap();
            }
            stream
        })
        .collect();
    eventually("256 connections are served", || {
        fake.open_connections() == 256
    });
    eventually("the writers' requests are being answered", || {
        fake.requests().len() >= WRITERS
    });
    let locked_out = exchange(&fake, b"");
    assert!(locked_out.starts_with("HTTP/1.1 503 "), "{locked_out}");

    fake.set_idle_timeout(Duration::from_millis(200));
    eventually("every held connection is closed", || {
        fake.open_connections() == 0
    });

    // The writers were cut off with answers unsent: fewer requests reached
    // the API than they sent, and no more will.
    let answered = fake.requests().len();
    assert!(answered >= WRITERS, "{answered}");
    assert!(answered < WRITERS * 64, "{answered} answered: never stuck");
    // A writer reads what was written before the cut, then the end.
    for stream in held.iter_mut().take(WRITERS) {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut answers = Vec::new();
        stream.read_to_end(&mut answers).unwrap();
        assert!(answers.starts_with(b"HTTP/1.1 200 OK\r\n"));
    }
    let root = client(&fake, fake.root_token());
    assert_eq!(root.tokens().list(None, 20, 0).unwrap().len(), 1);
    assert_eq!(fake.requests().len(), answered + 1);
}
