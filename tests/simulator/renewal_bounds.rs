//! The renewing client stays bounded when the service fails: with every
//! mint failing (in each way a mint can fail), or every minted token
//! refused by one host or the other (at once, or after one call), 8 threads calling both hosts without
//! pause for 10 s cause at most 12 mint requests with the default
//! `retry_backoff`; a mint whose answer never comes is one request however
//! many threads wait for it; and nothing the client minted is left behind
//! but tokens whose mint answer was lost, or that `close` names.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use neuroio::fake::{FakeIam, Fault, RecordedRequest};
use neuroio::{Client, Error};

use crate::support::temporary_tokens;

/// How long the threads call.
const RUN: Duration = Duration::from_secs(10);
/// The issue's bound on mints in `RUN` with the default backoff.
const MAX_MINTS: usize = 12;
/// The client's timeout in these tests.
const TIMEOUT: Duration = Duration::from_millis(500);
/// Enough queued faults to outlast any run.
const ALWAYS: usize = 10_000;

fn is_mint(r: &RecordedRequest) -> bool {
    r.method == "POST" && r.path == "/v1/tokens/"
}

/// Whether a mint's answer was lost, so its token may stay.
fn mint_outcome_lost(r: &RecordedRequest) -> bool {
    is_mint(r) && matches!(r.fault, Some(Fault::LoseAnswer) | Some(Fault::Delay(_)))
}

struct Run {
    mints: usize,
    lost_mints: usize,
    calls: usize,
    slowest: Duration,
    errors: Vec<String>,
}

/// `threads` threads share `client` and call without pause for `run`,
/// each alternating between the IAM host (`whoami`) and the API host (a
/// page of stream tokens), half of them starting with each; returns what
/// the simulator saw.
fn hammer(fake: &FakeIam, client: &Client, threads: usize, run: Duration) -> Run {
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|thread| {
            let client = client.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let until = Instant::now() + run;
                let (mut calls, mut slowest, mut error) = (0, Duration::ZERO, None);
                while Instant::now() < until {
                    let started = Instant::now();
                    let result = if (calls + thread) % 2 == 0 {
                        client.whoami().map(drop)
                    } else {
                        client.stream_tokens().list(None, 20, 0).map(drop)
                    };
                    slowest = slowest.max(started.elapsed());
                    calls += 1;
                    if let Err(err) = result {
                        error.get_or_insert(err.to_string());
                    }
                    std::thread::yield_now();
                }
                (calls, slowest, error)
            })
        })
        .collect();
    let mut run = Run {
        mints: 0,
        lost_mints: 0,
        calls: 0,
        slowest: Duration::ZERO,
        errors: Vec::new(),
    };
    for handle in handles {
        let (calls, slowest, error) = handle.join().expect("a calling thread panicked");
        run.calls += calls;
        run.slowest = run.slowest.max(slowest);
        run.errors.extend(error);
    }
    let seen = fake.take_requests();
    run.mints = seen.iter().filter(|r| is_mint(r)).count();
    run.lost_mints = seen.iter().filter(|r| mint_outcome_lost(r)).count();
    run
}

/// How long the tokens of [`lasting`] live.
const LIFETIME: Duration = Duration::from_secs(4);

/// A renewing client whose tokens live [`LIFETIME`] and are renewed 1 s
/// before they end, so one has lasted (a 401 for it then means it was
/// revoked, not that the server refuses what it mints) after a quarter of
/// its lifetime, 2 s before its renewal is due.
fn lasting(fake: &FakeIam, timeout: Duration) -> Client {
    assert_eq!(fake.set_temporary_lifetime(LIFETIME), LIFETIME);
    fake.client_builder()
        .timeout(timeout)
        .renewing(Duration::from_secs(1))
        .build()
        .unwrap()
}

/// Waits until the working token minted just now has lasted.
fn let_it_last() {
    std::thread::sleep(LIFETIME / 4 + Duration::from_millis(100));
}

fn renewing(fake: &FakeIam) -> Client {
    fake.client_builder()
        .timeout(TIMEOUT)
        .renewing(Duration::from_secs(3600))
        .build()
        .unwrap()
}

/// One way for every mint (or every minted token) to fail.
struct Failing {
    name: &'static str,
    set_up: fn(&FakeIam),
}

const FAILING: &[Failing] = &[
    Failing {
        name: "503 with Retry-After: 1",
        set_up: |fake| {
            fake.inject_at(
                "POST",
                "/v1/tokens/",
                Fault::status(503).with_retry_after("1"),
                ALWAYS,
            )
        },
    },
    Failing {
        name: "503",
        set_up: |fake| fake.inject_at("POST", "/v1/tokens/", Fault::status(503), ALWAYS),
    },
    Failing {
        name: "429",
        set_up: |fake| fake.inject_at("POST", "/v1/tokens/", Fault::status(429), ALWAYS),
    },
    Failing {
        name: "answer lost",
        set_up: |fake| fake.inject_at("POST", "/v1/tokens/", Fault::LoseAnswer, ALWAYS),
    },
    Failing {
        name: "connection dropped",
        set_up: |fake| fake.inject_at("POST", "/v1/tokens/", Fault::Close, ALWAYS),
    },
    Failing {
        name: "answer past the timeout",
        set_up: |fake| fake.inject_at("POST", "/v1/tokens/", Fault::Delay(TIMEOUT * 3), ALWAYS),
    },
    Failing {
        name: "answer that cannot be decoded",
        set_up: |fake| fake.inject_at("POST", "/v1/tokens/", Fault::status(200), ALWAYS),
    },
    Failing {
        name: "tokens already expired",
        set_up: |fake| {
            fake.set_temporary_lifetime(Duration::from_millis(1));
        },
    },
    Failing {
        name: "the IAM host refuses every token minted, the API host accepts them",
        set_up: |fake| fake.inject_at("GET", "/v1/whoami/", Fault::status(401), ALWAYS),
    },
    Failing {
        name: "the API host refuses every token minted, the IAM host accepts them",
        set_up: |fake| fake.inject_at("GET", "/v1/streams/tokens/", Fault::status(401), ALWAYS),
    },
    Failing {
        // A broken or hostile server: each token works for one call (on
        // either host), then both refuse it. A token refused so soon is a
        // failed mint, although it had worked on that host.
        name: "every token minted serves one call, then both hosts refuse it",
        set_up: |fake| fake.set_one_call_tokens(true),
    },
    Failing {
        name: "both hosts refuse every token minted",
        set_up: |fake| {
            fake.inject_at("GET", "/v1/whoami/", Fault::status(401), ALWAYS);
            fake.inject_at("GET", "/v1/streams/tokens/", Fault::status(401), ALWAYS);
        },
    },
];

#[test]
fn every_way_a_mint_fails_makes_at_most_12_mints_from_8_threads_in_10_s() {
    // All ways at once, each against its own simulator and client, so the
    // whole test takes one run's time.
    let runs: Vec<_> = FAILING
        .iter()
        .map(|failing| {
            std::thread::spawn(move || {
                let fake = FakeIam::start().unwrap();
                (failing.set_up)(&fake);
                let client = renewing(&fake);
                let run = hammer(&fake, &client, 8, RUN);
                fake.clear_faults();
                fake.set_temporary_lifetime(Duration::from_secs(24 * 3600));
                let closed = client.close();
                (
                    failing.name,
                    run,
                    closed,
                    temporary_tokens(&fake),
                    fake.root_token(),
                )
            })
        })
        .collect();
    for handle in runs {
        let (name, run, closed, left, root) = handle.join().unwrap();
        assert!(
            run.mints <= MAX_MINTS,
            "{name}: {} mint requests in {RUN:?} ({} calls)",
            run.mints,
            run.calls
        );
        assert!(
            run.mints >= 2,
            "{name}: it kept trying ({} mints)",
            run.mints
        );
        // A call that finds no token and no mint allowed sends nothing and
        // fails at once: far more calls were made than requests sent.
        assert!(run.calls > 10 * run.mints, "{name}: {} calls", run.calls);
        // Each call within its own budget: a mint or a wait (one timeout
        // each), the call's three attempts with their backoff, and the
        // tidying deletes (one timeout each).
        assert!(
            run.slowest < TIMEOUT * 10 + Duration::from_secs(2),
            "{name}: a call took {:?}",
            run.slowest
        );
        assert!(!run.errors.is_empty(), "{name}: no call failed");
        for err in &run.errors {
            assert!(!err.contains(&root), "{name}: {err}");
        }
        assert!(closed.is_ok(), "{name}: close: {closed:?}");
        // Nothing left but what a mint whose answer was lost made.
        assert!(
            left.len() <= run.lost_mints,
            "{name}: {} tokens left, {} mint answers lost",
            left.len(),
            run.lost_mints
        );
    }
}

#[test]
fn a_call_without_a_token_during_the_backoff_fails_at_once_naming_the_failure_and_the_next_try() {
    let fake = FakeIam::start().unwrap();
    fake.inject_at(
        "POST",
        "/v1/tokens/",
        Fault::status(503).with_retry_after("30"),
        1,
    );
    let client = renewing(&fake);

    let first = client.whoami().unwrap_err();
    let started = Instant::now();
    let second = client.whoami().unwrap_err();

    // At once, not after the 30 s asked for (the margin is for a busy machine).
    assert!(started.elapsed() < Duration::from_millis(500));
    let seen = fake.requests();
    assert_eq!(seen.len(), 1, "the second call sent nothing: {seen:?}");
    assert!(is_mint(&seen[0]));
    for err in [&first, &second] {
        let Error::Renewal(renewal) = err else {
            panic!("not a renewal error: {err:?}");
        };
        assert_eq!(renewal.operation, "renewing.mint");
        assert_eq!(renewal.status, Some(503));
        assert!(renewal.outcome_unknown, "a 503 leaves a create open");
        // Never shorter than the server's Retry-After.
        let wait = renewal.retry_in.unwrap();
        assert!(wait > Duration::from_secs(29), "{wait:?}");
        assert!(wait <= Duration::from_secs(30), "{wait:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("renewing.mint: no working token"),
            "{text}"
        );
        assert!(text.contains("HTTP 503"), "{text}");
        assert!(text.contains("the next mint will be tried in"), "{text}");
        assert_eq!(text.matches("renewing.mint").count(), 1, "{text}");
        assert!(!text.contains(&fake.root_token()), "{text}");
    }
}

#[test]
fn a_mint_whose_answer_never_comes_is_one_request_however_many_threads_wait() {
    let fake = FakeIam::start().unwrap();
    fake.inject_at(
        "POST",
        "/v1/tokens/",
        Fault::Delay(Duration::from_secs(30)),
        1,
    );
    let client = renewing(&fake);
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let client = client.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let started = Instant::now();
                let result = client.whoami();
                (started.elapsed(), result)
            })
        })
        .collect();
    for thread in threads {
        let (took, result) = thread.join().unwrap();
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Renewal(_)), "{err:?}");
        // One timeout (the mint's, or the wait for it), not one per thread.
        assert!(
            took < TIMEOUT + Duration::from_secs(1), // 16 waits in a row: 8 s
            "{took:?}: {err}"
        );
    }
    let seen = fake.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(is_mint(&seen[0]));
}

#[test]
fn a_working_token_with_time_left_carries_calls_through_failed_renewals() {
    let fake = FakeIam::start().unwrap();
    fake.set_temporary_lifetime(Duration::from_secs(4));
    let client = fake
        .client_builder()
        .timeout(TIMEOUT)
        .renewing(Duration::from_secs(3))
        .build()
        .unwrap();
    client.whoami().unwrap();
    // Renewal is due after about a second; every renewal's answer is lost.
    fake.inject_at("POST", "/v1/tokens/", Fault::LoseAnswer, ALWAYS);
    std::thread::sleep(Duration::from_millis(1100));
    fake.clear_requests();

    let run = hammer(&fake, &client, 8, Duration::from_millis(2400));

    assert!(run.errors.is_empty(), "{:?}", run.errors);
    assert!((2..=7).contains(&run.mints), "{} mints", run.mints);
    client.close().unwrap();
}

#[test]
fn a_revoked_token_is_replaced_once_and_a_refused_replacement_backs_off() {
    let fake = FakeIam::start().unwrap();
    let client = lasting(&fake, TIMEOUT);
    client.whoami().unwrap();
    let_it_last();
    // The working token is revoked, and so will be its replacement.
    fake.inject_at("GET", "/v1/whoami/", Fault::status(401), 2);
    fake.clear_requests();

    let err = client.whoami().unwrap_err();
    let again = client.whoami().unwrap_err();

    assert_eq!(err.status(), Some(401), "{err}");
    assert!(matches!(err, Error::Api(_)), "the call's own 401: {err:?}");
    let Error::Renewal(renewal) = &again else {
        panic!("{again:?}");
    };
    assert!(renewal.reason.contains("refused"), "{renewal}");
    assert!(renewal.retry_in.is_some());
    let seen: Vec<(String, String)> = fake
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let want = [
        ("GET", "/v1/whoami/"),  // 401
        ("POST", "/v1/tokens/"), // one replacement
        ("GET", "/v1/whoami/"),  // one repeat: 401 again
    ];
    assert_eq!(seen.len(), 3, "{seen:?}");
    for ((method, path), (want_method, want_path)) in seen.iter().zip(want) {
        assert_eq!((method.as_str(), path.as_str()), (want_method, want_path));
    }
    client.close().unwrap();
    assert!(temporary_tokens(&fake).is_empty());
}

#[test]
fn close_deletes_every_token_still_live_says_which_it_could_not_and_mints_no_more() {
    let fake = FakeIam::start().unwrap();
    let client = renewing(&fake);
    client.whoami().unwrap();
    let working = temporary_tokens(&fake);
    assert_eq!(working.len(), 1);
    fake.inject_at("DELETE", "/v1/tokens/*", Fault::status(500), ALWAYS);

    let err = client.close().unwrap_err();

    let Error::Renewal(renewal) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(renewal.operation, "renewing.close");
    assert_eq!(
        renewal.not_deleted,
        working.iter().copied().collect::<Vec<_>>()
    );
    let text = err.to_string();
    let id = working.iter().next().unwrap().to_string();
    assert!(
        text.contains(&format!("could not delete working token(s) {id}")),
        "{text}"
    );
    fake.clear_faults();
    fake.clear_requests();
    let after = client.whoami().unwrap_err();
    assert!(after.to_string().starts_with("renewing.closed:"), "{after}");
    assert!(fake.requests().is_empty(), "a closed client mints nothing");
}

#[test]
fn a_call_in_flight_that_meets_a_401_after_close_returns_it_and_mints_nothing() {
    let fake = FakeIam::start().unwrap();
    let client = renewing(&fake);
    client.whoami().unwrap();
    assert_eq!(temporary_tokens(&fake).len(), 1);
    fake.inject_at(
        "GET",
        "/v1/whoami/",
        Fault::Delay(Duration::from_millis(300)),
        1,
    );
    let in_flight = {
        let client = client.clone();
        std::thread::spawn(move || client.whoami())
    };
    std::thread::sleep(Duration::from_millis(100));
    // While the call waits for its answer, the client closes: its token is
    // deleted, so the call's answer is 401.
    client.close().unwrap();

    let err = in_flight.join().unwrap().unwrap_err();

    assert_eq!(err.status(), Some(401), "{err}");
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    let mints = fake.requests().iter().filter(|r| is_mint(r)).count();
    assert_eq!(mints, 1, "only the first call minted");
    assert!(temporary_tokens(&fake).is_empty());
}

/// Method and path of every request the simulator saw, in order.
fn routes(fake: &FakeIam) -> Vec<(String, String)> {
    fake.requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect()
}

/// Asserts that the simulator saw exactly `want`, in order.
fn assert_routes(fake: &FakeIam, want: &[(&str, &str)]) {
    let seen = routes(fake);
    let seen: Vec<(&str, &str)> = seen.iter().map(|(m, p)| (m.as_str(), p.as_str())).collect();
    assert_eq!(seen, want);
}

#[test]
fn a_token_one_host_accepts_and_the_other_refuses_is_a_failed_mint_not_replaced_at_once() {
    let fake = FakeIam::start().unwrap();
    fake.inject_at("GET", "/v1/streams/tokens/", Fault::status(401), ALWAYS);
    // A backoff no busy machine outlasts between the calls below.
    let client = fake
        .client_builder()
        .timeout(TIMEOUT)
        .retry_backoff(Duration::from_secs(4), Duration::from_secs(60))
        .renewing(Duration::from_secs(3600))
        .build()
        .unwrap();

    client.whoami().unwrap();
    let refused = client.stream_tokens().list(None, 20, 0).unwrap_err();
    let started = Instant::now();
    let backing_off = client.whoami().unwrap_err();
    let also = client.stream_tokens().list(None, 20, 0).unwrap_err();

    // The API host's 401 is the call's own; no replacement is minted for a
    // token that never worked there, and the calls after it send nothing.
    assert_eq!(refused.status(), Some(401), "{refused}");
    assert!(matches!(refused, Error::Api(_)), "{refused:?}");
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_routes(
        &fake,
        &[
            ("POST", "/v1/tokens/"),
            ("GET", "/v1/whoami/"),
            ("GET", "/v1/streams/tokens/"),
        ],
    );
    for err in [&backing_off, &also] {
        let Error::Renewal(renewal) = err else {
            panic!("not a renewal error: {err:?}");
        };
        assert_eq!(renewal.operation, "renewing.mint");
        assert_eq!(renewal.status, Some(401));
        assert!(
            renewal
                .reason
                .contains("the API host refused working token"),
            "{renewal}"
        );
        assert!(renewal.retry_in.is_some_and(|wait| wait > Duration::ZERO));
    }
    client.close().unwrap();
    assert!(temporary_tokens(&fake).is_empty());
}

#[test]
fn the_failures_in_a_row_end_only_when_a_token_works_on_the_host_that_refused() {
    let fake = FakeIam::start().unwrap();
    fake.inject_at("GET", "/v1/streams/tokens/", Fault::status(401), ALWAYS);
    // A long first wait, so that a backoff that started over would show.
    let client = fake
        .client_builder()
        .timeout(TIMEOUT)
        .retry_backoff(Duration::from_millis(200), Duration::from_secs(60))
        .renewing(Duration::from_secs(3600))
        .build()
        .unwrap();

    // Each round: a token works on IAM and is refused by the API host.
    let mut waits = Vec::new();
    for _ in 0..4 {
        client.whoami().unwrap();
        client.stream_tokens().list(None, 20, 0).unwrap_err();
        let err = client.whoami().unwrap_err();
        let Error::Renewal(renewal) = &err else {
            panic!("{err:?}");
        };
        let wait = renewal.retry_in.unwrap();
        waits.push(wait);
        std::thread::sleep(wait + Duration::from_millis(20));
    }

    // The backoff grows although IAM accepted every token (jitter keeps at
    // least half of each wait: 100-200 ms, then 200-400, 400-800, 800-1600).
    for (round, wait) in waits.iter().enumerate() {
        let ceiling = Duration::from_millis(200) * 2u32.pow(round as u32);
        assert!(
            *wait > ceiling / 2 - Duration::from_millis(60) && *wait <= ceiling,
            "round {round}: {waits:?}"
        );
    }
    let mints = fake.requests().iter().filter(|r| is_mint(r)).count();
    assert_eq!(mints, 4, "one mint per round");
    // Once the API host accepts a token, the failures end.
    fake.clear_faults();
    client.whoami().unwrap();
    client.stream_tokens().list(None, 20, 0).unwrap();
    client.close().unwrap();
    assert!(temporary_tokens(&fake).is_empty());
}

#[test]
fn a_token_refused_soon_after_it_worked_is_replaced_once_and_a_second_in_a_row_backs_off() {
    let fake = FakeIam::start().unwrap();
    // A backoff no busy machine outlasts between the calls below; tokens
    // that live a day, so one lasts after 30 s.
    let client = fake
        .client_builder()
        .timeout(TIMEOUT)
        .retry_backoff(Duration::from_secs(4), Duration::from_secs(60))
        .renewing(Duration::from_secs(3600))
        .build()
        .unwrap();
    client.whoami().unwrap();
    fake.inject_at("GET", "/v1/whoami/", Fault::status(401), 1);

    // The first token refused soon after it worked: replaced at once, and
    // the call repeated with the replacement.
    client.whoami().unwrap();
    fake.inject_at("GET", "/v1/whoami/", Fault::status(401), 1);
    // The replacement refused as soon: the 401 is the call's own, nothing
    // is minted, and the next call sends nothing.
    let refused = client.whoami().unwrap_err();
    let started = Instant::now();
    let backing_off = client.stream_tokens().list(None, 20, 0).unwrap_err();

    assert_eq!(refused.status(), Some(401), "{refused}");
    assert!(matches!(refused, Error::Api(_)), "{refused:?}");
    assert!(started.elapsed() < Duration::from_millis(500));
    let seen = routes(&fake);
    let calls: Vec<(&str, &str)> = seen
        .iter()
        .filter(|(m, _)| m != "DELETE")
        .map(|(m, p)| (m.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("POST", "/v1/tokens/"),
            ("GET", "/v1/whoami/"),
            ("GET", "/v1/whoami/"), // 401
            ("POST", "/v1/tokens/"),
            ("GET", "/v1/whoami/"),
            ("GET", "/v1/whoami/"), // 401
        ]
    );
    let Error::Renewal(renewal) = &backing_off else {
        panic!("not a renewal error: {backing_off:?}");
    };
    assert_eq!(renewal.operation, "renewing.mint");
    assert_eq!(renewal.status, Some(401));
    assert!(
        renewal
            .reason
            .contains("the IAM host refused working token")
            && renewal.reason.contains("soon after accepting it")
            && renewal
                .reason
                .contains("as it refused the working token before it"),
        "{renewal}"
    );
    // The first failure: 2 to 4 s (less the time since).
    let wait = renewal.retry_in.unwrap();
    assert!(
        wait > Duration::from_millis(1500) && wait <= Duration::from_secs(4),
        "{wait:?}"
    );
    let text = backing_off.to_string();
    assert!(!text.contains(&fake.root_token()), "{text}");
    client.close().unwrap();
    assert!(temporary_tokens(&fake).is_empty());
}

#[test]
fn a_working_token_deleted_by_an_admin_just_after_its_first_use_is_replaced_with_one_mint() {
    let fake = FakeIam::start().unwrap();
    let client = renewing(&fake);
    let admin = fake.client_builder().build().unwrap();
    let first = client.whoami().unwrap();
    // `neuroio tokens delete-all --temporary`, a moment after the mint.
    admin.tokens().delete_list(Some(false)).unwrap();
    fake.clear_requests();

    let second = client.whoami().unwrap();

    assert_eq!(second, first);
    let seen = fake.requests();
    let sent: Vec<(&str, &str)> = seen
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        sent,
        [
            ("GET", "/v1/whoami/"),  // 401: the working token is gone
            ("POST", "/v1/tokens/"), // exactly one replacement
            ("GET", "/v1/whoami/"),  // the call, repeated
        ]
    );
    let parent = format!("Token {}", fake.root_token());
    assert_eq!(seen[1].header("authorization"), Some(parent.as_str()));
    assert_eq!(seen[1].body, br#"{"permanent":false}"#);
    assert_ne!(
        seen[0].header("authorization"),
        seen[2].header("authorization")
    );
    assert_ne!(seen[2].header("authorization"), Some(parent.as_str()));
    // The replacement is the one temporary token left, and it is used on.
    let left = temporary_tokens(&fake);
    assert_eq!(left.len(), 1, "{left:?}");
    client.whoami().unwrap();
    let mints = fake.requests().iter().filter(|r| is_mint(r)).count();
    assert_eq!(mints, 1, "no more mints");
    client.close().unwrap();
    assert!(temporary_tokens(&fake).is_empty());
}

#[test]
fn tokens_that_each_serve_one_call_make_the_backoff_grow() {
    let fake = FakeIam::start().unwrap();
    fake.set_one_call_tokens(true);
    // A long first wait, so that a backoff that started over would show.
    let client = fake
        .client_builder()
        .timeout(TIMEOUT)
        .retry_backoff(Duration::from_millis(200), Duration::from_secs(60))
        .renewing(Duration::from_secs(3600))
        .build()
        .unwrap();

    // The first token serves one call.
    client.whoami().unwrap();
    // Each round: a call that succeeds (in the first round, the first
    // token is refused, replaced at once and the call repeated, since no
    // token before it was refused so soon; later, a token minted after the
    // backoff), then one refused as soon after it worked, still in a row:
    // the call gets the 401 and the next finds no token. The call a token
    // served does not end the failures in a row.
    let mut waits = Vec::new();
    for _ in 0..4 {
        client.whoami().unwrap();
        let refused = client.whoami().unwrap_err();
        assert!(matches!(refused, Error::Api(_)), "{refused:?}");
        let err = client.whoami().unwrap_err();
        let Error::Renewal(renewal) = &err else {
            panic!("{err:?}");
        };
        let wait = renewal.retry_in.unwrap();
        waits.push(wait);
        std::thread::sleep(wait + Duration::from_millis(20));
    }

    // Jitter keeps at least half of each wait: 100-200 ms, then 200-400,
    // 400-800, 800-1600.
    for (round, wait) in waits.iter().enumerate() {
        let ceiling = Duration::from_millis(200) * 2u32.pow(round as u32);
        assert!(
            *wait > ceiling / 2 - Duration::from_millis(60) && *wait <= ceiling,
            "round {round}: {waits:?}"
        );
    }
    let seen = routes(&fake);
    let per_round = [
        ("POST", "/v1/tokens/"),
        ("GET", "/v1/whoami/"),
        ("GET", "/v1/whoami/"),
    ];
    // The refused token is tidied up at the next round (already gone).
    let mints = seen
        .iter()
        .filter(|(m, p)| m == "POST" && p == "/v1/tokens/");
    assert_eq!(
        mints.count(),
        5,
        "one per round, and one at first: {seen:?}"
    );
    let calls: Vec<(&str, &str)> = seen
        .iter()
        .filter(|(m, _)| m != "DELETE")
        .map(|(m, p)| (m.as_str(), p.as_str()))
        .collect();
    let first = [
        ("POST", "/v1/tokens/"),
        ("GET", "/v1/whoami/"),
        ("GET", "/v1/whoami/"), // 401, replaced at once
    ];
    let want: Vec<(&str, &str)> = first
        .into_iter()
        .chain(per_round.iter().copied().cycle().take(12))
        .collect();
    assert_eq!(calls, want);
    fake.set_one_call_tokens(false);
    client.whoami().unwrap();
    client.close().unwrap();
    assert!(temporary_tokens(&fake).is_empty());
}

#[test]
fn close_waits_for_a_mint_in_flight_and_names_its_token_when_it_cannot_delete_it() {
    let fake = FakeIam::start().unwrap();
    let client = fake
        .client_builder()
        .timeout(Duration::from_secs(2))
        .renewing(Duration::from_secs(3600))
        .build()
        .unwrap();
    fake.inject_at(
        "POST",
        "/v1/tokens/",
        Fault::Delay(Duration::from_millis(400)),
        1,
    );
    fake.inject_at("DELETE", "/v1/tokens/*", Fault::status(500), ALWAYS);
    let in_flight = {
        let client = client.clone();
        std::thread::spawn(move || client.whoami())
    };
    std::thread::sleep(Duration::from_millis(100));

    let started = Instant::now();
    let closed = client.close();
    let took = started.elapsed();

    // close waited for the mint to land, then tried to delete its token.
    assert!(took >= Duration::from_millis(250), "{took:?}");
    let err = in_flight.join().unwrap().unwrap_err();
    assert!(err.to_string().starts_with("renewing.closed:"), "{err}");
    fake.clear_faults();
    let left = temporary_tokens(&fake);
    assert_eq!(left.len(), 1, "the mint landed: {left:?}");
    let err = closed.unwrap_err();
    let Error::Renewal(renewal) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(renewal.operation, "renewing.close");
    assert_eq!(
        renewal.not_deleted,
        left.iter().copied().collect::<Vec<_>>()
    );
    let seen = routes(&fake);
    let deletes: Vec<_> = seen.iter().filter(|(m, _)| m == "DELETE").collect();
    assert_eq!(deletes.len(), 1, "{seen:?}");
    let id = left.iter().next().unwrap();
    assert_eq!(deletes[0].1, format!("/v1/tokens/{id}/"));
}

#[test]
fn close_waits_for_tidying_in_progress_and_names_what_it_could_not_delete() {
    let fake = FakeIam::start().unwrap();
    let client = lasting(&fake, TIMEOUT);
    client.whoami().unwrap();
    let_it_last();
    let first = temporary_tokens(&fake);
    // The working token is refused once: it is replaced, and the call that
    // held it leaves it for the next call to delete.
    fake.inject_at("GET", "/v1/whoami/", Fault::status(401), 1);
    client.whoami().unwrap();
    let both = temporary_tokens(&fake);
    assert_eq!(both.len(), 2, "{both:?}");
    let second: Vec<u64> = both.difference(&first).copied().collect();
    // Tidying's delete gets no answer in time; every delete after it fails.
    fake.inject_at("DELETE", "/v1/tokens/*", Fault::Delay(TIMEOUT * 3), 1);
    fake.inject_at("DELETE", "/v1/tokens/*", Fault::status(500), ALWAYS);
    let tidying = {
        let client = client.clone();
        std::thread::spawn(move || client.whoami())
    };
    std::thread::sleep(Duration::from_millis(100));

    let err = client.close().unwrap_err();

    tidying.join().unwrap().unwrap();
    let Error::Renewal(renewal) = &err else {
        panic!("{err:?}");
    };
    // The superseded token (whose tidying delete failed) and the working
    // one: close waited for the tidying and tried both.
    let mut want: Vec<u64> = first.iter().copied().collect();
    want.extend(&second);
    assert_eq!(renewal.not_deleted, want, "{err}");
    let deletes: Vec<String> = routes(&fake)
        .into_iter()
        .filter(|(m, _)| m == "DELETE")
        .map(|(_, path)| path)
        .collect();
    let want_paths: Vec<String> = [want[0], want[0], want[1]]
        .iter()
        .map(|id| format!("/v1/tokens/{id}/"))
        .collect();
    assert_eq!(deletes, want_paths);
}

#[test]
fn a_minted_token_that_cannot_be_used_and_cannot_be_deleted_is_tried_again_and_at_close() {
    let fake = FakeIam::start().unwrap();
    let client = renewing(&fake);
    fake.set_next_lifetime(Duration::ZERO);
    fake.inject_at("DELETE", "/v1/tokens/*", Fault::status(500), 1);

    let err = client.whoami().unwrap_err();

    let Error::Renewal(renewal) = &err else {
        panic!("{err:?}");
    };
    assert!(renewal.reason.contains("expires as soon as"), "{err}");
    let unusable = temporary_tokens(&fake);
    assert_eq!(unusable.len(), 1);
    let id = *unusable.iter().next().unwrap();
    // After the backoff, the next mint works and the renewal deletes it.
    std::thread::sleep(renewal.retry_in.unwrap() + Duration::from_millis(20));
    client.whoami().unwrap();
    let left = temporary_tokens(&fake);
    assert_eq!(left.len(), 1);
    assert!(!left.contains(&id), "{left:?}");
    let path = format!("/v1/tokens/{id}/");
    let tries = routes(&fake)
        .iter()
        .filter(|(m, p)| m == "DELETE" && *p == path)
        .count();
    assert_eq!(tries, 2, "deleted once in vain, then again at the renewal");
    client.close().unwrap();
    assert!(temporary_tokens(&fake).is_empty());
}

#[test]
fn close_deletes_a_minted_token_that_could_not_be_used_nor_deleted() {
    let fake = FakeIam::start().unwrap();
    let client = renewing(&fake);
    fake.set_next_lifetime(Duration::ZERO);
    fake.inject_at("DELETE", "/v1/tokens/*", Fault::status(500), 1);
    client.whoami().unwrap_err();
    let unusable = temporary_tokens(&fake);
    assert_eq!(unusable.len(), 1);

    client.close().unwrap();

    assert!(temporary_tokens(&fake).is_empty());
    let id = unusable.iter().next().unwrap();
    let path = format!("/v1/tokens/{id}/");
    let tries = routes(&fake)
        .iter()
        .filter(|(m, p)| m == "DELETE" && *p == path)
        .count();
    assert_eq!(tries, 2, "once in vain, once at close");
}

#[test]
fn a_call_that_tidies_up_sends_one_delete_within_a_short_timeout() {
    let fake = FakeIam::start().unwrap();
    let client = lasting(&fake, Duration::from_secs(3));
    client.whoami().unwrap();
    // Two tokens refused in turn once they lasted: each replaced, each
    // left to tidy up.
    for _ in 0..2 {
        let_it_last();
        fake.inject_at("GET", "/v1/whoami/", Fault::status(401), 1);
        client.whoami().unwrap();
    }
    fake.inject_at(
        "DELETE",
        "/v1/tokens/*",
        Fault::Delay(Duration::from_secs(5)),
        ALWAYS,
    );
    fake.clear_requests();

    let started = Instant::now();
    client.whoami().unwrap();
    let took = started.elapsed();

    // One delete, given up after a second, not the client's 3 s timeout.
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_millis(1800), "{took:?}");
    let seen = routes(&fake);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].0, "DELETE");
    assert_eq!(
        (seen[1].0.as_str(), seen[1].1.as_str()),
        ("GET", "/v1/whoami/")
    );
    fake.clear_faults();
    client.close().unwrap();
    assert!(temporary_tokens(&fake).is_empty());
}
