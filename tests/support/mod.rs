//! Shared set-up for every test binary: the mockito wire harness, the
//! fixtures, and clients and raw requests for the simulator.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use mockito::{Matcher, Mock, Server, ServerGuard};
use neuroio::fake::FakeIam;
use neuroio::{Client, Token};
use serde_json::Value;
use time::macros::datetime;

pub const API_TOKEN: &str = "test-api-token-abcd";
pub const TEMPORARY: &str = include_str!("fixtures/token_temporary.json");
pub const PERMANENT: &str = include_str!("fixtures/token_permanent.json");
pub const PAGE: &str = include_str!("fixtures/page.json");
pub const USER_AGENT: &str = concat!("neuroio-rust/", env!("CARGO_PKG_VERSION"));

/// Environment variables are process-wide: every test of a binary that
/// reads or writes `NEUROIO_*` variables holds this for its whole run, so
/// no two of them interleave.
pub fn env_lock() -> MutexGuard<'static, ()> {
    static ENV: Mutex<()> = Mutex::new(());
    ENV.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A mock server, a client for it, and a catch-all that fails the test if
/// any request matches none of the expected mocks.
pub struct Wire {
    pub server: ServerGuard,
    pub client: Client,
    unexpected: Vec<Mock>,
}

impl Wire {
    pub fn new() -> Wire {
        let mut server = Server::new();
        let unexpected = ["GET", "POST", "PATCH", "PUT", "DELETE"]
            .into_iter()
            .map(|method| {
                server
                    .mock(method, Matcher::Any)
                    .with_status(599)
                    .with_body("unexpected request")
                    .expect(0)
                    .create()
            })
            .collect();
        // One request per call: these tests pin the wire form of single
        // requests; retries have their own tests against the simulator.
        let client = Client::builder()
            .api_token(API_TOKEN)
            .iam_url(server.url())
            .max_retries(0)
            .build()
            .expect("client for the mock server");
        Wire {
            server,
            client,
            unexpected,
        }
    }

    /// A mock for `method path` that insists on the headers every call
    /// carries; add the query, body and answer, then `create()`.
    pub fn expect(&mut self, method: &str, path: &str) -> Mock {
        common_headers(self.server.mock(method, path))
    }

    /// Checks that no request went unmatched.
    pub fn finish(self) {
        for mock in &self.unexpected {
            mock.assert();
        }
    }
}

/// Asserts every field of the temporary-token fixture.
pub fn assert_temporary(token: &Token) {
    assert_eq!(token.id, 17);
    assert_eq!(token.key, "4f1c0d3e9a7b2c5d8e6f0a1b2c3d4e5f6a7b8c9d");
    assert!(token.is_active);
    assert_eq!(token.created, datetime!(2021-05-28 10:37:51.433760 UTC));
    assert_eq!(
        token.expires,
        Some(datetime!(2021-05-29 10:37:51.433563 UTC))
    );
    assert!(token.extra.is_empty());
    assert!(!token.is_permanent());
}

/// Asserts every field of the permanent-token fixture, unknown ones included.
pub fn assert_permanent(token: &Token) {
    assert_eq!(token.id, 3);
    assert_eq!(token.key, "0123456789abcdef0123456789abcdef01234567");
    assert!(!token.is_active);
    assert_eq!(token.created, datetime!(2022-01-02 03:04:05.000006 +03:00));
    assert_eq!(token.expires, None);
    assert_eq!(token.extra.len(), 2);
    assert_eq!(token.extra["space_id"], 9);
    assert_eq!(token.extra["note"], "added by a newer server");
    assert!(token.is_permanent());
}

pub fn client(fake: &FakeIam, api_token: impl Into<neuroio::TokenKey>) -> Client {
    Client::builder()
        .api_token(api_token)
        .iam_url(fake.url())
        .build()
        .expect("client for the simulator")
}

/// The method, path and `Authorization` key of every request the
/// simulator has seen, in order.
pub fn keys_sent(fake: &FakeIam) -> Vec<(String, String, String)> {
    fake.requests()
        .iter()
        .map(|r| {
            let key = r
                .header("authorization")
                .and_then(|h| h.strip_prefix("Token "))
                .unwrap_or_default()
                .to_owned();
            (r.method.clone(), r.path.clone(), key)
        })
        .collect()
}

/// The ids of the temporary tokens the simulator's root account holds (as
/// its root token lists them): what a renewing client may have left.
pub fn temporary_tokens(fake: &FakeIam) -> std::collections::BTreeSet<u64> {
    client(fake, fake.root_token())
        .tokens()
        .list_all(None)
        .expect("list the root account's tokens")
        .iter()
        .filter(|t| !t.is_permanent())
        .map(|t| t.id)
        .collect()
}

/// A client that sends every call exactly once, to watch single faults.
pub fn client_without_retries(fake: &FakeIam, api_token: impl Into<neuroio::TokenKey>) -> Client {
    Client::builder()
        .api_token(api_token)
        .iam_url(fake.url())
        .max_retries(0)
        .build()
        .expect("client for the simulator")
}

/// A request the SDK would never send, straight through `ureq`: returns the
/// status and the decoded JSON body (`Null` when there is none).
pub fn raw(
    fake: &FakeIam,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // The suite must pass with a proxy set in the environment; the
        // simulator is on this machine.
        .proxy(None)
        .build()
        .into();
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path_and_query}", fake.url()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = agent
        .run(request.body(body.to_vec()).unwrap())
        .expect("an answer from the simulator");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    (status, json)
}

/// A call to the simulator made with the token `key` and, unless `body` is
/// `Null`, a JSON body: returns the status and the decoded JSON answer.
pub fn json_call(
    fake: &FakeIam,
    method: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, Value) {
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(body).unwrap()
    };
    let authorization = format!("Token {key}");
    raw(
        fake,
        method,
        path,
        &[
            ("authorization", &authorization),
            ("content-type", "application/json"),
        ],
        &bytes,
    )
}

/// Asserts the API's error body: the code list, the message and the fields.
pub fn assert_error_body(body: &Value, status: u16, fields: &[&str]) {
    assert_eq!(body["error_codes"], serde_json::json!([status]), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let names: Vec<&str> = body["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("fields is not an array: {body}"))
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, fields, "{body}");
}

pub fn api_error(err: neuroio::Error) -> neuroio::ApiError {
    match err {
        neuroio::Error::Api(api) => api,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// A catch-all on `server` for every method, expecting no hits: checked by
/// [`assert_untouched`], it proves no request reached `server` unexpectedly.
pub fn catch_all(server: &mut ServerGuard) -> Vec<Mock> {
    ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"]
        .into_iter()
        .map(|method| {
            server
                .mock(method, Matcher::Any)
                .with_status(599)
                .with_body("unexpected request")
                .expect(0)
                .create()
        })
        .collect()
}

/// Asserts that none of the catch-alls of [`catch_all`] was hit.
pub fn assert_untouched(catch_alls: &[Mock]) {
    for mock in catch_alls {
        mock.assert();
    }
}

/// Two mock servers, one per host: IAM (tokens, login, who am I, spaces)
/// and API (stream tokens), each with a catch-all that fails the test on
/// any request it does not expect, and a client for both.
pub struct TwoHosts {
    pub iam: ServerGuard,
    pub api: ServerGuard,
    pub client: Client,
    iam_unexpected: Vec<Mock>,
    api_unexpected: Vec<Mock>,
}

impl TwoHosts {
    pub fn new() -> TwoHosts {
        TwoHosts::with_api_prefix("")
    }

    /// The API URL given as `<api server><prefix>` (a gateway's path).
    pub fn with_api_prefix(prefix: &str) -> TwoHosts {
        let mut iam = Server::new();
        let mut api = Server::new();
        let iam_unexpected = catch_all(&mut iam);
        let api_unexpected = catch_all(&mut api);
        let client = Client::builder()
            .api_token(API_TOKEN)
            .iam_url(iam.url())
            .api_url(format!("{}{prefix}", api.url()))
            .max_retries(0)
            .build()
            .expect("client for the mock servers");
        TwoHosts {
            iam,
            api,
            client,
            iam_unexpected,
            api_unexpected,
        }
    }

    /// A mock on the API server with the headers every call carries.
    pub fn expect_api(&mut self, method: &str, path: &str) -> Mock {
        common_headers(self.api.mock(method, path))
    }

    /// A mock on the IAM server with the headers every call carries.
    pub fn expect_iam(&mut self, method: &str, path: &str) -> Mock {
        common_headers(self.iam.mock(method, path))
    }

    /// Checks that no request went unmatched on either server.
    pub fn finish(self) {
        assert_untouched(&self.iam_unexpected);
        assert_untouched(&self.api_unexpected);
    }
}

/// The headers every authenticated call carries, and one hit.
pub fn common_headers(mock: Mock) -> Mock {
    mock.match_header("authorization", format!("Token {API_TOKEN}").as_str())
        .match_header("user-agent", USER_AGENT)
        .match_header("accept", "application/json")
        .expect(1)
}

/// Every text an error shows: `Display`, `Debug` (plain and pretty) and the
/// `Display` and `Debug` of each error in its source chain.
pub fn all_text(err: &neuroio::Error) -> String {
    let mut shown = format!("{err}\n{err:?}\n{err:#?}");
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        shown.push_str(&format!("\n{inner}\n{inner:?}"));
        source = inner.source();
    }
    shown
}

/// Asserts that none of `secrets` shows anywhere in `err` (ASCII case
/// ignored, as a gateway may change case).
pub fn assert_hides(err: &neuroio::Error, secrets: &[&str]) {
    let shown = all_text(err);
    let lower = shown.to_ascii_lowercase();
    for secret in secrets {
        assert!(
            !lower.contains(&secret.to_ascii_lowercase()),
            "{secret:?} shows in:\n{shown}"
        );
    }
}

/// A server on 127.0.0.1 that counts the connections it accepts and serves
/// each with `serve`; stopped (and joined) on drop.
pub struct CountingServer {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CountingServer {
    pub fn start(serve: impl Fn(TcpStream) + Send + 'static) -> CountingServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (accepted, stop) = (Arc::clone(&accepted), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    serve(stream);
                }
            })
        };
        CountingServer {
            port,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for CountingServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sends raw bytes to the simulator on a fresh connection and returns
/// everything it wrote back before closing (reads bounded by 10 s).
pub fn exchange(fake: &FakeIam, bytes: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(fake.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A mock of `GET path` that answers every page in full with new items
/// (tokens that are also spaces),
/// ids from the offset on (`offset + 1 ..= offset + limit`): a list that
/// never ends, which only a walk's bound stops. Add `expect` and `create()`.
pub fn endless_pages(server: &mut ServerGuard, path: &str) -> Mock {
    server
        .mock("GET", path)
        .match_query(Matcher::Regex("^limit=[0-9]+&offset=[0-9]+$".into()))
        .with_status(200)
        .with_body_from_request(|request| {
            let query = request.path_and_query().split_once('?').map_or("", |q| q.1);
            let number = |name: &str| -> u64 {
                query
                    .split('&')
                    .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                    .and_then(|n| n.parse().ok())
                    .expect("limit and offset in the query")
            };
            let (limit, offset) = (number("limit"), number("offset"));
            let tokens: Vec<Value> = (offset + 1..=offset + limit)
                .map(|id| {
                    // A token, and a space (by `id` and `name`) too.
                    serde_json::json!({"id": id, "key": format!("{id:040}"), "is_active": true,
                     "created": "2021-05-28T10:37:51.433760+00:00", "expires": null,
                     "name": format!("space {id}")})
                })
                .collect();
            serde_json::to_vec(&tokens).expect("tokens as JSON")
        })
}

/// One collection of tokens on the wire. Every collection has the same
/// operations with the same requests and answers, only on its own host and
/// path, so their wire tests are one set run over [`Family::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `/v1/tokens/` on the IAM host.
    Tokens,
    /// `/v1/streams/tokens/` on the API host.
    StreamTokens,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::Tokens, Family::StreamTokens];

    /// The collection's path followed by `rest` (`"17/"`, or `""`).
    pub fn path(self, rest: &str) -> String {
        match self {
            Family::Tokens => format!("/v1/tokens/{rest}"),
            Family::StreamTokens => format!("/v1/streams/tokens/{rest}"),
        }
    }
}

/// Mock servers for both hosts, for the wire test of one [`Family`]: a
/// request to the other host, or one no mock expects, fails the test.
pub struct OnWire {
    hosts: TwoHosts,
    family: Family,
}

impl OnWire {
    pub fn new(family: Family) -> OnWire {
        OnWire {
            hosts: TwoHosts::new(),
            family,
        }
    }

    /// A mock on the family's host with the headers every call carries;
    /// `path` is the whole path (see [`Family::path`]).
    pub fn expect(&mut self, method: &str, path: &str) -> Mock {
        match self.family {
            Family::Tokens => self.hosts.expect_iam(method, path),
            Family::StreamTokens => self.hosts.expect_api(method, path),
        }
    }

    /// The family's collection on the client for both servers.
    pub fn tokens(&self) -> neuroio::Tokens<'_> {
        match self.family {
            Family::Tokens => self.hosts.client.tokens(),
            Family::StreamTokens => self.hosts.client.stream_tokens(),
        }
    }

    /// The base URL of the family's host.
    pub fn url(&self) -> String {
        match self.family {
            Family::Tokens => self.hosts.iam.url(),
            Family::StreamTokens => self.hosts.api.url(),
        }
    }

    /// Checks that neither server saw a request no mock expected.
    pub fn finish(self) {
        self.hosts.finish();
    }
}
