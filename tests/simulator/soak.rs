//! A seeded soak of the renewing client: 8 to 32 threads share one client
//! against the simulator while faults fall at random on mints and calls
//! (503 with `Retry-After`, dropped connections, lost answers, answers
//! past the timeout, the working token revoked, mints with a zero
//! lifetime); then the faults stop and `close` runs.
//!
//! It holds that nothing panics or deadlocks, every call returns within its
//! bound, the mints stay within what the fault schedule implies, and no
//! token the client minted is left but those whose mint answer was lost.
//!
//! A failure prints the seed; `NEUROIO_SOAK_SEED=<n> cargo test --test
//! simulator soak` replays that schedule (the threads' timing still varies).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use neuroio::fake::{FakeIam, Fault, RecordedRequest};

use crate::support::temporary_tokens;

/// The client's timeout: short, so faults past it cost little time.
const TIMEOUT: Duration = Duration::from_millis(300);
/// How long faults fall: longer than a call's bound, so that a call stuck
/// for the whole run breaks it.
const FAULTS_FOR: Duration = Duration::from_secs(10);
/// Calls go on this long after the faults stop.
const CALM_FOR: Duration = Duration::from_millis(800);
/// Longer than any call may take: a thread silent this long is stuck.
const STUCK: Duration = Duration::from_secs(30);

/// Prints the seed when the test fails, however it fails.
struct Seed(u64);

impl Drop for Seed {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "soak failed with seed {0}; replay it with NEUROIO_SOAK_SEED={0}",
                self.0
            );
        }
    }
}

fn seed() -> u64 {
    match std::env::var("NEUROIO_SOAK_SEED") {
        Ok(seed) => seed
            .trim()
            .parse()
            .expect("NEUROIO_SOAK_SEED must be a whole number"),
        Err(_) => fastrand::u64(..),
    }
}

/// What the fault schedule did, and what the simulator saw.
#[derive(Default)]
struct Tally {
    mints: usize,
    /// Mints whose answer never reached the client: their token may stay.
    lost_mints: usize,
    mint_faults: usize,
    zero_lifetimes: usize,
    revocations: usize,
    /// The key of the last call sent with a working token.
    last_working_key: Option<String>,
}

impl Tally {
    fn take(&mut self, fake: &FakeIam, root: &str) {
        for request in fake.take_requests() {
            self.see(&request, root);
        }
    }

    fn see(&mut self, request: &RecordedRequest, root: &str) {
        let is_mint = request.method == "POST" && request.path == "/v1/tokens/";
        if is_mint {
            self.mints += 1;
            if matches!(request.fault, Some(Fault::LoseAnswer | Fault::Delay(_))) {
                self.lost_mints += 1;
            }
        }
        let key = request
            .header("authorization")
            .and_then(|h| h.strip_prefix("Token "));
        if request.method == "GET"
            && let Some(key) = key
            && key != root
        {
            self.last_working_key = Some(key.to_owned());
        }
    }
}

/// One random fault for a mint or a call.
fn random_fault(rng: &mut fastrand::Rng) -> Fault {
    match rng.u8(0..4) {
        0 => Fault::status(503).with_retry_after("1"),
        1 => Fault::Close,
        2 => Fault::LoseAnswer,
        _ => Fault::Delay(TIMEOUT * 2),
    }
}

#[test]
fn soak_a_shared_renewing_client_under_random_faults() {
    let seed = Seed(seed());
    eprintln!("soak seed {0} (NEUROIO_SOAK_SEED={0} replays it)", seed.0);
    let mut rng = fastrand::Rng::with_seed(seed.0);
    let threads = rng.usize(8..=32);
    let lifetime = Duration::from_millis(rng.u64(1200..=2500));
    let renew_before = lifetime / 3;

    let fake = FakeIam::start().unwrap();
    let root = fake.root_token();
    fake.set_temporary_lifetime(lifetime);
    let client = fake
        .client_builder()
        .timeout(TIMEOUT)
        .renewing(renew_before)
        .build()
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (done, finished) = mpsc::channel();
    for thread in 0..threads {
        let client = client.clone();
        let stop = Arc::clone(&stop);
        let done = done.clone();
        let mut rng = fastrand::Rng::with_seed(seed.0.wrapping_add(thread as u64 + 1));
        std::thread::spawn(move || {
            let (mut calls, mut failed, mut slowest) = (0usize, 0usize, Duration::ZERO);
            let mut texts = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let result = match rng.u8(0..4) {
                    0 => client.tokens().list(None, 5, 0).map(drop),
                    _ => client.whoami().map(drop),
                };
                slowest = slowest.max(started.elapsed());
                calls += 1;
                if let Err(err) = result {
                    failed += 1;
                    if texts.len() < 8 {
                        texts.push(format!("{err} {err:?}"));
                    }
                }
                std::thread::sleep(Duration::from_millis(rng.u64(0..=3)));
            }
            let _ = done.send((calls, failed, slowest, texts));
        });
    }
    drop(done);

    // The fault schedule, drawn from the seed.
    let mut tally = Tally::default();
    let faults_until = Instant::now() + FAULTS_FOR;
    while Instant::now() < faults_until {
        std::thread::sleep(Duration::from_millis(rng.u64(50..=250)));
        tally.take(&fake, &root);
        // The weather changes: faults not met by now are dropped, so mints
        // and calls see spells of failure and spells of calm.
        fake.clear_faults();
        match rng.u8(0..10) {
            0..=3 => {
                let times = rng.usize(1..=3);
                fake.inject_at("POST", "/v1/tokens/", random_fault(&mut rng), times);
                tally.mint_faults += times;
            }
            4..=6 => {
                let path = if rng.bool() {
                    "/v1/whoami/"
                } else {
                    "/v1/tokens/"
                };
                fake.inject_at("GET", path, random_fault(&mut rng), rng.usize(1..=5));
            }
            7 | 8 => {
                if let Some(key) = tally.last_working_key.take()
                    && fake.revoke(&key)
                {
                    tally.revocations += 1;
                }
            }
            _ => {
                fake.set_next_lifetime(Duration::ZERO);
                tally.zero_lifetimes += 1;
            }
        }
    }
    fake.clear_faults();
    fake.set_next_lifetime(lifetime);
    std::thread::sleep(CALM_FOR);
    stop.store(true, Ordering::Relaxed);

    let mut calls = 0;
    let mut slowest = Duration::ZERO;
    for _ in 0..threads {
        let (made, _failed, slow, texts) = finished
            .recv_timeout(STUCK)
            .expect("a calling thread is stuck or panicked");
        calls += made;
        slowest = slowest.max(slow);
        for text in texts {
            assert!(!text.contains(&root), "a key in an error: {text}");
        }
    }
    client.close().expect("close with the faults stopped");
    tally.take(&fake, &root);
    let ran_for = FAULTS_FOR + CALM_FOR;
    eprintln!(
        "soak: {threads} threads, {calls} calls, slowest {slowest:?}; {} mints ({} answers lost), \
         {} mint faults, {} revocations, {} zero lifetimes",
        tally.mints, tally.lost_mints, tally.mint_faults, tally.revocations, tally.zero_lifetimes
    );

    // Every call within its bound: a mint flight (a mint, a mint with the
    // parent, a delete: one timeout each) and the minting thread's tidying
    // (two deletes of at most a timeout each), the call's three attempts
    // with two waits (at most a 1 s Retry-After plus a tenth of it as
    // jitter), and after a 401 the same again for the replacement.
    let flight_and_tidying = TIMEOUT * 5;
    let attempts = TIMEOUT * 3 + Duration::from_millis(2 * 1100);
    let per_call = (flight_and_tidying + attempts) * 2;
    let slack = Duration::from_millis(500);
    assert!(
        per_call + slack < ran_for,
        "the bound must be one a call stuck for the run breaks"
    );
    assert!(
        slowest < per_call + slack,
        "a call took {slowest:?}, the bound is {per_call:?}"
    );

    // Mints: the first, one per renewal (at most every half lifetime), one
    // per revocation, per fault aimed at a mint, and per zero lifetime;
    // each may take a second request (a working token that may not mint
    // hands over to the parent). A revocation still costs at most one
    // mint: a token that had lasted (a quarter of its lifetime) is
    // replaced at once, one revoked sooner counts as a failed mint and is
    // replaced after the backoff, so the bound needs no new term.
    let renewals = (ran_for.as_millis() / (lifetime / 2).as_millis()) as usize + 1;
    let implied = 2 * (1 + renewals + tally.revocations + tally.mint_faults + tally.zero_lifetimes);
    assert!(
        tally.mints <= implied,
        "{} mints, the schedule allows {implied} ({} threads, {calls} calls)",
        tally.mints,
        threads
    );
    assert!(calls > threads, "the threads made calls: {calls}");

    // Nothing left but tokens whose mint answer was lost.
    let left = temporary_tokens(&fake);
    assert!(
        left.len() <= tally.lost_mints,
        "tokens {left:?} left; {} mint answers were lost",
        tally.lost_mints
    );
}
