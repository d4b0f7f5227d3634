//! What a simulator per test costs beside a mockito server per test: start
//! it, build a client, make one call, drop both. A test suite that gives
//! each test a fresh simulator pays this once per test, so it should be no
//! dearer than the mock server the tests would otherwise use.
//!
//! The two are timed in turns in one loop (the order alternating from round
//! to round), so the machine's load falls on both sides of each ratio; each
//! round gives one ratio, `simulator / mockito`, and the median and spread
//! (min, p10, p90, max) over the rounds are printed. Pin the process to one
//! CPU on a machine with few of them:
//!
//! ```sh
//! taskset -c 0 cargo bench --bench fixture
//! ```
//!
//! Both sides make the same call (`GET /v1/whoami/`), answered with the
//! same JSON. `NEUROIO_BENCH_ROUNDS` (default 2000) changes the size.
//! Without `--bench` (as under `cargo test --benches`) it makes a few rounds
//! as a smoke test.

#[path = "support/stats.rs"]
mod stats;

use std::hint::black_box;
use std::time::{Duration, Instant};

use neuroio::fake::FakeIam;
use stats::{allowed_cpus, env_count, median, quantile};

const WHOAMI: &str = r#"{"username":"root","space":{"id":1,"name":"default"}}"#;

/// A fresh simulator: start, a client, one call, drop.
fn simulator_fixture() -> Duration {
    let started = Instant::now();
    let fake = FakeIam::start().expect("start the simulator");
    let client = fake.client_builder().build().expect("a client");
    black_box(client.whoami().expect("who am I"));
    drop(client);
    drop(fake);
    started.elapsed()
}

/// A fresh mockito server with one mock: start, a client, one call, drop.
fn mockito_fixture() -> Duration {
    let started = Instant::now();
    let mut server = mockito::Server::new();
    let mock = server
        .mock("GET", "/v1/whoami/")
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(WHOAMI)
        .create();
    let client = neuroio::Client::builder()
        .api_token("bench-token")
        .iam_url(server.url())
        .api_url(server.url())
        .build()
        .expect("a client");
    black_box(client.whoami().expect("who am I"));
    drop(client);
    drop(mock);
    drop(server);
    started.elapsed()
}

fn main() {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let rounds = if benchmarking {
        env_count("NEUROIO_BENCH_ROUNDS", 2000)
    } else {
        5
    };
    // Warm both up: the first server of each kind starts its pools.
    for _ in 0..20.min(rounds) {
        simulator_fixture();
        mockito_fixture();
    }
    let mut ratios = Vec::with_capacity(rounds);
    let (mut simulator, mut mockito) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (s, m) = if round % 2 == 0 {
            let s = simulator_fixture();
            (s, mockito_fixture())
        } else {
            let m = mockito_fixture();
            (simulator_fixture(), m)
        };
        ratios.push(s.as_secs_f64() / m.as_secs_f64());
        simulator.push(s.as_secs_f64() * 1e6);
        mockito.push(m.as_secs_f64() * 1e6);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "fixture: {rounds} rounds on CPUs {}; start, client, one call, drop",
        allowed_cpus()
    );
    println!("ratio              median     min     p10     p90     max   sim us  mockito us");
    println!(
        "simulator/mockito {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>8.1} {:>11.1}",
        median(&mut ratios.clone()),
        ratios[0],
        quantile(&ratios, 0.10),
        quantile(&ratios, 0.90),
        ratios[ratios.len() - 1],
        median(&mut simulator),
        median(&mut mockito),
    );
}
