//! What a call through the SDK costs over a hand-written one, per
//! variant, with criterion.
//!
//! Every benchmark talks to a loopback server started here that answers
//! instantly with fixed bytes, so the client's own cost is what is
//! measured. Each operation runs these ways where it applies:
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
//! Run with `cargo bench --bench calls`. Criterion measures the variants
//! one after another, so on a shared machine a ratio between two of them
//! moves with the load (runs of the same code gave SDK / ureq from 0.17 to
//! 0.95): use these times to follow one variant on one quiet machine, and
//! `benches/interleaved.rs` for SDK / ureq ratios, `benches/instructions.sh`
//! for counts that repeat.
//!
//! `NEUROIO_BENCH_CALLS=<operation>-<variant>:<n>` runs n calls of one kind
//! instead, for `benches/instructions.sh`.

mod support;

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use neuroio::Token;

use support::{
    API_TOKEN, FixedServer, SDK_TIMEOUT, bare_agent_with_timeout, bare_call, http_answer,
    page_json, renewing_client, sdk_client, token_json,
};

/// A bare agent configured as the SDK configures its own.
fn bare_agent() -> ureq::Agent {
    bare_agent_with_timeout(Some(SDK_TIMEOUT))
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
    let server = FixedServer::start(http_answer("200 OK", &page_json()));
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

/// `NEUROIO_BENCH_CALLS=<operation>-<variant>:<n>` makes n calls of one
/// kind and exits, for instruction counts under `valgrind --tool=callgrind`,
/// which repeat where times do not (see `benches/instructions.sh`).
/// Operations: get, list, create, update; variants: sdk, ureq, ureq-nt,
/// renewing (the SDK with `ClientBuilder::renewing`, no renewal due; not for
/// list, whose answer is not a token to mint), and tcp for get.
fn count_calls(spec: &str) {
    let (kind, n) = spec.split_once(':').unwrap_or((spec, "1000"));
    let n: usize = n.parse().expect("a call count");
    let (operation, variant) = kind.split_once('-').expect("<operation>-<variant>");
    let (answer, method, path, body) = support::operation(operation);
    let server = FixedServer::start(answer);
    let url = format!("{}{path}", server.url());
    match variant {
        "sdk" | "renewing" => {
            let client = match variant {
                "sdk" => sdk_client(&server),
                _ => renewing_client(&server),
            };
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
            let timeout = (variant == "ureq").then_some(SDK_TIMEOUT);
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
}
