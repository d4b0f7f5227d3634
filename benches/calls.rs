//! What a call through the SDK costs over a hand-written one.
//!
//! Every benchmark talks to a loopback server started here that answers
//! instantly with fixed bytes, so the client's own cost is what is
//! measured. Each operation runs three ways where it applies:
//!
//! - `sdk`: through `neuroio::Client`;
//! - `ureq`: the same request through a bare `ureq` agent with the same
//!   settings (a 30 s timeout included), decoded with `serde_json` into the
//!   same structs;
//! - `ureq-nt`: the same, with no timeout set. ureq then resolves the host
//!   without spawning a thread, so this is the cheapest a hand-written ureq
//!   call can be (and one that can hang forever);
//! - `tcp`: the same bytes over a raw kept-alive `TcpStream`, reading the
//!   answer without decoding it (the floor).
//!
//! Run with `cargo bench --bench calls`; the ratios are printed at the end.
//! Absolute times depend on the machine; compare the ratios.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use neuroio::{Client, Token};

const API_TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

fn token_json(id: u64) -> String {
    format!(
        r#"{{"id":{id},"key":"{:040x}","is_active":true,"created":"2021-05-28T10:37:51.433760+00:00","expires":"2021-05-29T10:37:51.433563+00:00"}}"#,
        id
    )
}

fn http_answer(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A loopback server that answers every request with the same bytes.
struct FixedServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FixedServer {
    fn start(answer: Vec<u8>) -> FixedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let stop = Arc::new(AtomicBool::new(false));
        let answer = Arc::new(answer);
        let acceptor = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let answer = Arc::clone(&answer);
                    std::thread::spawn(move || serve(stream, &answer));
                }
            })
        };
        FixedServer {
            addr,
            stop,
            acceptor: Some(acceptor),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Reads each request (head and `Content-Length` body) and answers it.
fn serve(stream: TcpStream, answer: &[u8]) {
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().expect("clone the stream");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        let mut length = 0usize;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() || writer.write_all(answer).is_err() {
            return;
        }
    }
}

fn sdk_client(server: &FixedServer) -> Client {
    Client::builder()
        .api_token(API_TOKEN)
        .iam_url(server.url())
        .build()
        .expect("client")
}

/// A bare agent configured as the SDK configures its own.
fn bare_agent() -> ureq::Agent {
    bare_agent_with_timeout(Some(Duration::from_secs(30)))
}

fn bare_agent_with_timeout(timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(timeout)
        .user_agent("bench")
        .accept("application/json")
        .build()
        .into()
}

fn bare_call<T: serde::de::DeserializeOwned>(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&[u8]>,
) -> T {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Token {API_TOKEN}"));
    let mut response = match body {
        Some(body) => agent.run(
            request
                .header("content-type", "application/json")
                .body(body)
                .expect("request"),
        ),
        None => agent.run(request.body(()).expect("request")),
    }
    .expect("answer");
    let bytes = response.body_mut().read_to_vec().expect("body");
    serde_json::from_slice(&bytes).expect("json")
}

/// The floor: fixed request bytes on a kept-alive socket, answer read by
/// `Content-Length`, nothing decoded.
struct RawConnection {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    request: Vec<u8>,
    line: String,
}

impl RawConnection {
    fn open(server: &FixedServer, request: String) -> RawConnection {
        let stream = TcpStream::connect(server.addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        RawConnection {
            writer: stream.try_clone().expect("clone"),
            reader: BufReader::new(stream),
            request: request.into_bytes(),
            line: String::new(),
        }
    }

    fn round_trip(&mut self) -> usize {
        self.writer.write_all(&self.request).expect("write");
        let mut length = 0;
        loop {
            self.line.clear();
            self.reader.read_line(&mut self.line).expect("read");
            if self.line == "\r\n" {
                break;
            }
            if let Some(value) = self.line.strip_prefix("Content-Length:") {
                length = value.trim().parse().expect("length");
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("body");
        body.len()
    }
}

fn bench_get(c: &mut Criterion) {
    let server = FixedServer::start(http_answer("200 OK", &token_json(1)));
    let client = sdk_client(&server);
    let agent = bare_agent();
    let url = format!("{}/v1/tokens/1/", server.url());
    let mut raw = RawConnection::open(
        &server,
        format!(
            "GET /v1/tokens/1/ HTTP/1.1\r\nHost: {}\r\nAuthorization: Token {API_TOKEN}\r\nAccept: application/json\r\n\r\n",
            server.addr
        ),
    );
    let mut group = c.benchmark_group("get");
    group.bench_function("sdk", |b| {
        b.iter(|| black_box(client.tokens().get(1).expect("get")))
    });
    group.bench_function("ureq", |b| {
        b.iter(|| black_box(bare_call::<Token>(&agent, "GET", &url, None)))
    });
    let no_timeout = bare_agent_with_timeout(None);
    group.bench_function("ureq-nt", |b| {
        b.iter(|| black_box(bare_call::<Token>(&no_timeout, "GET", &url, None)))
    });
    group.bench_function("tcp", |b| b.iter(|| black_box(raw.round_trip())));
    group.finish();
}

fn bench_list(c: &mut Criterion) {
    let page: Vec<String> = (1..=100).map(token_json).collect();
    let server = FixedServer::start(http_answer("200 OK", &format!("[{}]", page.join(","))));
    let client = sdk_client(&server);
    let agent = bare_agent();
    let url = format!("{}/v1/tokens/?limit=100&offset=0", server.url());
    let mut group = c.benchmark_group("list100");
    group.bench_function("sdk", |b| {
        b.iter(|| black_box(client.tokens().list(None, 100, 0).expect("list")))
    });
    group.bench_function("ureq", |b| {
        b.iter(|| black_box(bare_call::<Vec<Token>>(&agent, "GET", &url, None)))
    });
    group.finish();
}

fn bench_create_update(c: &mut Criterion) {
    let created = FixedServer::start(http_answer("201 Created", &token_json(7)));
    let updated = FixedServer::start(http_answer("200 OK", &token_json(7)));
    let create_client = sdk_client(&created);
    let update_client = sdk_client(&updated);
    let agent = bare_agent();
    let create_url = format!("{}/v1/tokens/", created.url());
    let update_url = format!("{}/v1/tokens/7/", updated.url());

    let mut group = c.benchmark_group("create");
    group.bench_function("sdk", |b| {
        b.iter(|| black_box(create_client.tokens().create(false).expect("create")))
    });
    group.bench_function("ureq", |b| {
        b.iter(|| {
            let body = serde_json::to_vec(&serde_json::json!({"permanent": false})).expect("body");
            black_box(bare_call::<Token>(&agent, "POST", &create_url, Some(&body)))
        })
    });
    group.finish();

    let mut group = c.benchmark_group("update");
    group.bench_function("sdk", |b| {
        b.iter(|| black_box(update_client.tokens().update(7, false).expect("update")))
    });
    group.bench_function("ureq", |b| {
        b.iter(|| {
            let body = serde_json::to_vec(&serde_json::json!({"is_active": false})).expect("body");
            black_box(bare_call::<Token>(
                &agent,
                "PATCH",
                &update_url,
                Some(&body),
            ))
        })
    });
    group.finish();
}

criterion_group! {
    name = calls;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_get, bench_list, bench_create_update
}

/// Reads criterion's median for one benchmark, in nanoseconds.
fn median_ns(group: &str, function: &str) -> Option<f64> {
    let root = std::env::var_os("CRITERION_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|d| std::path::Path::new(&d).join("criterion"))
        })
        .unwrap_or_else(|| std::path::PathBuf::from("target/criterion"));
    let path = root.join(group).join(function).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let estimates: serde_json::Value = serde_json::from_str(&text).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

fn print_ratios() {
    println!("\nratios of medians (this run):");
    for (group, base) in [
        ("get", "ureq"),
        ("get", "ureq-nt"),
        ("get", "tcp"),
        ("list100", "ureq"),
        ("create", "ureq"),
        ("update", "ureq"),
    ] {
        match (median_ns(group, "sdk"), median_ns(group, base)) {
            (Some(sdk), Some(other)) => println!(
                "  {group:<8} sdk/{base:<7} = {:.3}  (sdk {:.1} µs, {base} {:.1} µs)",
                sdk / other,
                sdk / 1000.0,
                other / 1000.0
            ),
            _ => println!("  {group:<8} sdk/{base:<7} = (not measured in this run)"),
        }
    }
}

/// `NEUROIO_BENCH_CALLS=<operation>-<variant>:<n>` makes n calls of one
/// kind and exits, for instruction counts under `valgrind --tool=callgrind`,
/// which repeat where times do not (see `benches/instructions.sh`).
/// Operations: get, list, create, update; variants: sdk, ureq, ureq-nt, and
/// tcp for get.
fn count_calls(spec: &str) {
    let (kind, n) = spec.split_once(':').unwrap_or((spec, "1000"));
    let n: usize = n.parse().expect("a call count");
    let (operation, variant) = kind.split_once('-').expect("<operation>-<variant>");
    let page: Vec<String> = (1..=100).map(token_json).collect();
    let (answer, method, path, body): (Vec<u8>, &str, &str, Option<&[u8]>) = match operation {
        "get" => (
            http_answer("200 OK", &token_json(1)),
            "GET",
            "/v1/tokens/1/",
            None,
        ),
        "list" => (
            http_answer("200 OK", &format!("[{}]", page.join(","))),
            "GET",
            "/v1/tokens/?limit=100&offset=0",
            None,
        ),
        "create" => (
            http_answer("201 Created", &token_json(7)),
            "POST",
            "/v1/tokens/",
            Some(br#"{"permanent":false}"#),
        ),
        "update" => (
            http_answer("200 OK", &token_json(7)),
            "PATCH",
            "/v1/tokens/7/",
            Some(br#"{"is_active":false}"#),
        ),
        other => panic!("unknown operation {other}"),
    };
    let server = FixedServer::start(answer);
    let url = format!("{}{path}", server.url());
    match variant {
        "sdk" => {
            let client = sdk_client(&server);
            let tokens = client.tokens();
            for _ in 0..n {
                match operation {
                    "get" => drop(black_box(tokens.get(1).expect("get"))),
                    "list" => drop(black_box(tokens.list(None, 100, 0).expect("list"))),
                    "create" => drop(black_box(tokens.create(false).expect("create"))),
                    _ => drop(black_box(tokens.update(7, false).expect("update"))),
                }
            }
        }
        "ureq" | "ureq-nt" => {
            let timeout = (variant == "ureq").then_some(Duration::from_secs(30));
            let agent = bare_agent_with_timeout(timeout);
            for _ in 0..n {
                if operation == "list" {
                    black_box(bare_call::<Vec<Token>>(&agent, method, &url, body));
                } else {
                    black_box(bare_call::<Token>(&agent, method, &url, body));
                }
            }
        }
        "tcp" => {
            let mut raw = RawConnection::open(
                &server,
                format!(
                    "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Token {API_TOKEN}\r\nAccept: application/json\r\n\r\n",
                    server.addr
                ),
            );
            for _ in 0..n {
                black_box(raw.round_trip());
            }
        }
        other => panic!("unknown variant {other}"),
    }
}

fn main() {
    if let Ok(spec) = std::env::var("NEUROIO_BENCH_CALLS") {
        count_calls(&spec);
        return;
    }
    calls();
    Criterion::default().configure_from_args().final_summary();
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        print_ratios();
    }
}
