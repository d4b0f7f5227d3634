//! A tiny HTTP server whose answers a test scripts, for behaviours the
//! simulator will not show (echoing the request, answering late, serving
//! pages that cycle), and the tests that need it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use neuroio::Client;
use neuroio::fake::{FakeIam, Fault};
use neuroio::time::OffsetDateTime;
use neuroio::time::format_description::well_known::Rfc3339;

/// One request as the scripted server read it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The key after `Token `, or empty.
    pub key: String,
    pub body: String,
    pub at: Instant,
}

/// Status and body of an answer.
pub type Script = dyn Fn(&Seen) -> (u16, String) + Send + Sync;

pub struct Scripted {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    acceptor: Option<JoinHandle<()>>,
}

impl Scripted {
    pub fn start(script: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> Scripted {
        let script: Arc<Script> = Arc::new(script);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (script, seen) = (Arc::clone(&script), Arc::clone(&seen));
                    std::thread::spawn(move || answer(stream, &*script, &seen));
                }
            })
        };
        Scripted {
            url: format!("http://{addr}"),
            seen,
            stop,
            addr,
            acceptor: Some(acceptor),
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Reads one request, answers it as scripted, and closes the connection.
fn answer(stream: TcpStream, script: &Script, seen: &Mutex<Vec<Seen>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let (mut key, mut length) = (String::new(), 0usize);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            return;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("authorization") {
            key = value.strip_prefix("Token ").unwrap_or(value).to_owned();
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Seen {
        method,
        path,
        key,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    };
    seen.lock().unwrap().push(request.clone());
    let (status, body) = script(&request);
    let head = format!(
        "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = stream;
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

/// A temporary token created now that lives `lifetime`.
pub fn token_json(id: u64, key: &str, lifetime: Duration) -> String {
    let now = OffsetDateTime::now_utc();
    format!(
        r#"{{"id":{id},"key":"{key}","is_active":true,"created":"{}","expires":"{}"}}"#,
        now.format(&Rfc3339).unwrap(),
        (now + lifetime).format(&Rfc3339).unwrap()
    )
}

fn working_key(id: u64) -> String {
    format!("workingkey{id:030}")
}

/// Mints working tokens of `lifetime` (the `slow` ones answer late), lists
/// nothing, deletes anything, and lets `whoami` do what `whoami` says.
fn renewing_server(
    lifetime: Duration,
    slow: impl Fn(u64) -> Option<Duration> + Send + Sync + 'static,
    whoami: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static,
) -> Scripted {
    let next = AtomicU64::new(1);
    Scripted::start(
        move |seen| match (seen.method.as_str(), seen.path.as_str()) {
            ("POST", "/v1/tokens/") => {
                let id = next.fetch_add(1, Ordering::SeqCst);
                if let Some(wait) = slow(id) {
                    std::thread::sleep(wait);
                }
                (201, token_json(id, &working_key(id), lifetime))
            }
            ("GET", "/v1/whoami/") => whoami(seen),
            ("GET", _) => (200, "[]".to_owned()),
            ("DELETE", _) => (204, String::new()),
            _ => (404, "{}".to_owned()),
        },
    )
}

#[test]
fn an_answer_to_a_superseded_working_token_is_scrubbed_of_it() {
    let server = renewing_server(
        Duration::from_secs(4),
        |_| None,
        |seen| {
            // Answers late, after another call renewed, echoing the key.
            std::thread::sleep(Duration::from_millis(3500));
            let message = format!("token {} is not allowed here", seen.key);
            (
                400,
                format!(r#"{{"error_codes":[400],"message":"{message}","fields":[]}}"#),
            )
        },
    );
    let client = Client::builder()
        .api_token("parent-token-xyz")
        .iam_url(&server.url)
        .renewing(Duration::from_secs(1))
        .build()
        .unwrap();
    client.tokens().list(None, 10, 0).unwrap(); // mints working token 1
    let slow = {
        let client = client.clone();
        std::thread::spawn(move || client.whoami().unwrap_err())
    };
    std::thread::sleep(Duration::from_millis(3200)); // past the renewal point
    client.tokens().list(None, 10, 0).unwrap(); // renews: token 2
    let err = slow.join().unwrap();

    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("workingkey"), "{shown}");
    assert!(
        shown.contains("token [redacted] is not allowed here"),
        "{shown}"
    );
    let mints = server.seen().iter().filter(|s| s.method == "POST").count();
    assert_eq!(mints, 2, "one mint, one renewal");
    client.close().unwrap();
}

#[test]
fn a_renewal_that_times_out_is_not_minted_again_and_no_expired_token_is_sent() {
    // Mints 2 and 3 answer after the client's timeout: the server made the
    // tokens, the client cannot know it.
    let server = renewing_server(
        Duration::from_secs(4),
        |id| (id >= 2).then_some(Duration::from_millis(2500)),
        |_| (200, r#"{"username":"ada"}"#.to_owned()),
    );
    let started = Instant::now();
    let client = Client::builder()
        .api_token("parent-token-xyz")
        .iam_url(&server.url)
        .timeout(Duration::from_secs(1))
        .renewing(Duration::from_secs(1))
        .build()
        .unwrap();
    client.tokens().list(None, 10, 0).unwrap(); // working token 1, usable ~3.8 s
    std::thread::sleep(Duration::from_millis(3100)); // past the renewal point
    let late = client.tokens().list(None, 10, 0);
    // The renewal timed out (an open outcome): token 1 is used while it is
    // still usable, or the call fails; never a second mint for one renewal.
    let seen = server.seen();
    let posts: Vec<&Seen> = seen.iter().filter(|s| s.method == "POST").collect();
    assert_eq!(posts.len(), 2, "{seen:?}");
    assert_ne!(
        posts[1].key, "parent-token-xyz",
        "the parent does not re-mint"
    );
    let token_1_expired_at = posts[0].at + Duration::from_secs(4);
    for s in seen.iter().filter(|s| s.key == working_key(1)) {
        assert!(
            s.at < token_1_expired_at,
            "{s:?} sent after {token_1_expired_at:?}"
        );
    }
    match late {
        Ok(_) => {}
        // Token 1 ran out while the renewal was in the air: the call gets
        // the renewal's failure, which says a token may have been made.
        Err(neuroio::Error::Renewal(renewal)) => assert!(renewal.outcome_unknown, "{renewal:?}"),
        Err(err) => panic!("{err:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(client);
}

#[test]
fn dropping_a_renewing_client_gives_up_within_its_deadline() {
    let fake = FakeIam::start().unwrap();
    let client = fake
        .client_builder()
        .renewing(Duration::from_secs(3600))
        .build()
        .unwrap();
    client.tokens().list(None, 10, 0).unwrap();
    fake.inject(Fault::Delay(Duration::from_secs(8)), 10);
    let started = Instant::now();
    drop(client);
    // 5 s, one attempt; not 3 attempts of 5 s with backoff in between.
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_lost_renewal_answer_is_not_followed_by_a_mint_with_the_parent() {
    let fake = FakeIam::start().unwrap();
    fake.set_temporary_lifetime(Duration::from_secs(4));
    let parent = fake.root_token();
    let client = fake
        .client_builder()
        .renewing(Duration::from_secs(1))
        .build()
        .unwrap();
    client.tokens().list(None, 10, 0).unwrap();
    std::thread::sleep(Duration::from_millis(3100));
    fake.clear_requests();
    fake.inject(Fault::LoseAnswer, 1); // the renewal mint is made, its answer lost
    client.tokens().list(None, 10, 0).unwrap(); // still served by the current token
    let mints: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.header("authorization").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(mints.len(), 1, "{mints:?}");
    assert_ne!(mints[0], format!("Token {parent}"));
    client.close().unwrap();
}

#[test]
fn a_password_echoed_in_any_escaping_never_shows() {
    let server = Scripted::start(|seen| {
        (
            502,
            format!("<html>bad gateway; the request was {}</html>", seen.body),
        )
    });
    let password = "hunter2\"quote\\back slash";
    let err = Client::builder()
        .iam_url(&server.url)
        .login("ada", password)
        .unwrap_err();

    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("[not shown: the request carried a password]"),
        "{shown}"
    );
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(server.seen().len(), 1, "log in is sent once");
}

#[test]
fn a_walk_through_pages_that_cycle_ends_with_an_error() {
    let count = AtomicU64::new(0);
    let server = Scripted::start(move |_| {
        // Ignores offset, and alternates between two pages of 100.
        let base = (count.fetch_add(1, Ordering::SeqCst) % 2) * 100;
        let page: Vec<String> = (1..=100)
            .map(|i| token_json(base + i, &format!("k{}", base + i), Duration::from_secs(60)))
            .collect();
        (200, format!("[{}]", page.join(",")))
    });
    let client = Client::builder()
        .api_token("tok-abcd")
        .iam_url(&server.url)
        .build()
        .unwrap();

    let walked: Vec<neuroio::Result<neuroio::Token>> =
        client.tokens().iter(None).take(20_000).collect();

    // The second page never starts where the first ended: the walk starts
    // over three times, yields nothing twice, then gives up.
    assert_eq!(walked.len(), 101, "the first page, then the error");
    let ids: Vec<u64> = walked[..100]
        .iter()
        .map(|t| t.as_ref().unwrap().id)
        .collect();
    assert_eq!(ids, (1..=100).collect::<Vec<u64>>());
    let err = walked.last().unwrap().as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            neuroio::Error::ListChanged {
                operation: "tokens.list",
                restarts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("drops the query's `offset`"),
        "{err}"
    );
    let queries: Vec<String> = server.seen().into_iter().map(|s| s.path).collect();
    let pass = [
        "/v1/tokens/?limit=100&offset=0",
        "/v1/tokens/?limit=100&offset=99",
    ];
    assert_eq!(queries, pass.repeat(4));
}

/// A list of tokens that grows by one, at the front, before every request
/// (`first` tokens at the first): an account where a token is created
/// between any two page requests. Pages by `limit` and `offset`, newest
/// first.
fn growing_list(first: u64) -> Scripted {
    let requests = AtomicU64::new(0);
    Scripted::start(move |seen| {
        let newest = first + requests.fetch_add(1, Ordering::SeqCst);
        let query = seen.path.split_once('?').map_or("", |(_, q)| q);
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(name))
                .and_then(|value| value.parse::<usize>().ok())
                .unwrap_or(0)
        };
        let page: Vec<String> = (1..=newest)
            .rev()
            .skip(param("offset="))
            .take(param("limit="))
            .map(|id| token_json(id, &format!("key{id:037}"), Duration::from_secs(3600)))
            .collect();
        (200, format!("[{}]", page.join(",")))
    })
}

fn on(server: &Scripted) -> Client {
    Client::builder()
        .api_token("tok-abcd")
        .iam_url(&server.url)
        .build()
        .unwrap()
}

fn assert_kept_changing(err: &neuroio::Error, server: &Scripted, limit: u32) {
    assert!(
        matches!(
            err,
            neuroio::Error::ListChanged {
                operation: "tokens.list",
                restarts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(
            "tokens.list: the list changed during the walk (items were created or deleted \
             between two page requests) once more than the walk may start over (3 times)"
        ),
        "{err}"
    );
    let queries: Vec<String> = server.seen().into_iter().map(|s| s.path).collect();
    let pass = [
        format!("/v1/tokens/?limit={limit}&offset=0"),
        format!("/v1/tokens/?limit={limit}&offset={}", limit - 1),
    ];
    let four: Vec<String> = (0..4).flat_map(|_| pass.clone()).collect();
    assert_eq!(queries, four, "four passes of two pages");
}

#[test]
fn a_walk_over_a_list_that_keeps_changing_ends_with_list_changed() {
    let server = growing_list(30);
    let client = on(&server);

    let walked: Vec<neuroio::Result<neuroio::Token>> =
        client.tokens().iter(None).page_size(10).collect();

    // The first page, then from each new pass only the tokens created
    // since: never one twice.
    let (last, items) = walked.split_last().unwrap();
    let ids: Vec<u64> = items.iter().map(|t| t.as_ref().unwrap().id).collect();
    let mut expected: Vec<u64> = (21..=30).rev().collect();
    expected.extend([32, 31, 34, 33, 36, 35]);
    assert_eq!(ids, expected);
    assert_kept_changing(last.as_ref().unwrap_err(), &server, 10);
}

#[test]
fn an_audit_of_a_list_that_keeps_changing_ends_with_list_changed() {
    let server = growing_list(150);
    let client = on(&server);

    let err = client
        .tokens()
        .audit(&neuroio::AuditPolicy::new())
        .unwrap_err();

    assert_kept_changing(&err, &server, 100);
}
