//! SDK against bare ureq, wall-clock, interleaved so that the machine's
//! load falls on both sides of each ratio.
//!
//! Criterion times one variant after another, so on a shared machine a
//! ratio between two variants measures the load as much as the code. Here
//! one loop takes turns: each round makes a call through the SDK, one
//! through a bare ureq agent with the SDK's settings and its 30 s timeout
//! (`ureq`), and one through the same agent with no timeout (`ureq-nt`), in
//! an order that rotates from round to round. Each round gives one ratio per
//! bare variant; the median over the rounds and its spread (min, p10, p90,
//! max) are printed per operation. A call that another process preempts is
//! then one outlying round, not a skewed series.
//!
//! The server is a loopback thread in this process that answers instantly
//! with fixed bytes. On a machine with few CPUs a loopback round trip
//! depends more on where the scheduler puts client and server than on the
//! client (on 2 vCPUs the same binary measured 1.0x and 3.4x bare ureq), so
//! pin the whole process to one CPU when comparing clients:
//!
//! ```sh
//! taskset -c 0 cargo bench --bench interleaved
//! taskset -c 0 cargo bench --bench interleaved -- get    # one operation
//! ```
//!
//! A fourth variant, `renewing`, is the SDK with
//! `ClientBuilder::renewing`: every call goes through the working-token
//! path (no renewal is due during the run), and `renewing/sdk` is its cost
//! over a plain client. It runs for get, create and update, whose fixed
//! answer is a token that the first call's mint can decode.
//!
//! `NEUROIO_BENCH_ROUNDS` (default 3000) and `NEUROIO_BENCH_BATCH` (calls per
//! variant per round, default 1) change the size. Without `--bench` (as
//! under `cargo test --benches`) it makes a few rounds as a smoke test.

#[path = "support/stats.rs"]
mod stats;
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use neuroio::Token;

use stats::{allowed_cpus, env_count, median, quantile};
use support::{
    FixedServer, SDK_TIMEOUT, bare_agent_with_timeout, bare_call, renewing_client, sdk_client,
};

const OPERATIONS: [&str; 4] = ["get", "list", "create", "update"];
const VARIANTS: [&str; 4] = ["sdk", "ureq", "ureq-nt", "renewing"];
const WARM_UP_CALLS: usize = 20;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let benchmarking = args.iter().any(|a| a == "--bench");
    let filters: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let (rounds, batch) = if benchmarking {
        (
            env_count("NEUROIO_BENCH_ROUNDS", 3000),
            env_count("NEUROIO_BENCH_BATCH", 1),
        )
    } else {
        (3, 1)
    };

    println!(
        "interleaved: {rounds} rounds x {batch} calls per variant, order rotated each round; \
         allowed CPUs: {}",
        allowed_cpus()
    );
    println!(
        "{:<8} {:<12} {:>7} {:>7} {:>7} {:>7} {:>7}   {:>11} {:>12}",
        "op", "ratio", "median", "min", "p10", "p90", "max", "top µs/call", "base µs/call"
    );
    let started = Instant::now();
    for operation in OPERATIONS {
        if !filters.is_empty() && !filters.iter().any(|f| operation.contains(f)) {
            continue;
        }
        compare(operation, rounds, batch);
    }
    println!("took {:.1} s", started.elapsed().as_secs_f64());
}

/// Runs one operation's rounds and prints SDK / ureq and SDK / ureq-nt.
fn compare(operation: &str, rounds: usize, batch: usize) {
    let (answer, method, path, body) = support::operation(operation);
    let server = FixedServer::start(answer);
    let url = format!("{}{path}", server.url());
    let client = sdk_client(&server);
    let tokens = client.tokens();
    // A list answer is not a token, so the renewing client could not mint.
    let variants = if operation == "list" { 3 } else { 4 };
    let renewing = renewing_client(&server);
    let renewing_tokens = renewing.tokens();
    let with_timeout = bare_agent_with_timeout(Some(SDK_TIMEOUT));
    let no_timeout = bare_agent_with_timeout(None);

    let bare = |agent: &ureq::Agent| {
        if operation == "list" {
            drop(black_box(bare_call::<Vec<Token>>(
                agent, method, &url, body,
            )));
        } else {
            drop(black_box(bare_call::<Token>(agent, method, &url, body)));
        }
    };
    let call = |variant: usize| match variant {
        0 => match operation {
            "get" => drop(black_box(tokens.get(1).expect("get"))),
            "list" => drop(black_box(tokens.list(None, 100, 0).expect("list"))),
            "create" => drop(black_box(tokens.create(false).expect("create"))),
            _ => drop(black_box(tokens.update(7, false).expect("update"))),
        },
        1 => bare(&with_timeout),
        2 => bare(&no_timeout),
        _ => match operation {
            "get" => drop(black_box(renewing_tokens.get(1).expect("get"))),
            "create" => drop(black_box(renewing_tokens.create(false).expect("create"))),
            _ => drop(black_box(renewing_tokens.update(7, false).expect("update"))),
        },
    };

    // Opens each variant's connection and warms caches before timing.
    for variant in 0..variants {
        for _ in 0..WARM_UP_CALLS {
            call(variant);
        }
    }

    // Per round, the time of each variant's batch.
    let mut times = vec![[Duration::ZERO; VARIANTS.len()]; rounds];
    for (round, time) in times.iter_mut().enumerate() {
        for turn in 0..variants {
            let variant = (round + turn) % variants;
            let start = Instant::now();
            for _ in 0..batch {
                call(variant);
            }
            time[variant] = start.elapsed();
        }
    }

    let per_call = |variant: usize| {
        let mut micros: Vec<f64> = times
            .iter()
            .map(|t| t[variant].as_secs_f64() * 1e6 / batch as f64)
            .collect();
        median(&mut micros)
    };
    // (numerator, denominator) of each ratio printed.
    let mut pairs = vec![(0, 1), (0, 2)];
    if variants == 4 {
        pairs.push((3, 0));
    }
    for (top, base) in pairs {
        let mut ratios: Vec<f64> = times
            .iter()
            .map(|t| t[top].as_secs_f64() / t[base].as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "{:<8} {:<12} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>7.3}   {:>11.1} {:>12.1}",
            operation,
            format!("{}/{}", VARIANTS[top], VARIANTS[base]),
            median(&mut ratios),
            ratios[0],
            quantile(&ratios, 0.10),
            quantile(&ratios, 0.90),
            ratios[ratios.len() - 1],
            per_call(top),
            per_call(base),
        );
    }
}
