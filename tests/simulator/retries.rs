//! Retries against the simulator's fault injection: what is retried, how
//! often, and what never is.

use std::time::{Duration, Instant};

use crate::support::api_error;
use neuroio::fake::{FakeIam, Fault};
use neuroio::{Client, Error};

/// A client with fast backoff, so the tests do not sleep for long.
fn quick_client(fake: &FakeIam) -> Client {
    Client::builder()
        .api_token(fake.root_token())
        .iam_url(fake.url())
        .retry_backoff(Duration::from_millis(1), Duration::from_millis(20))
        .build()
        .unwrap()
}

#[test]
fn retry_503_twice_then_succeed() {
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);
    fake.inject(Fault::status(503), 2);

    let page = client.tokens().list(None, 20, 0).unwrap();

    assert_eq!(page.len(), 1);
    assert_eq!(page[0].key, fake.root_token());
    let seen = fake.requests();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|r| r.method == "GET" && r.query.as_deref() == Some("limit=20&offset=0"))
    );
}

#[test]
fn give_up_after_max_retries_plus_one_attempts() {
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);
    fake.inject(Fault::status(503), 100);

    let err = api_error(client.tokens().get(1).unwrap_err());

    assert_eq!(err.status, 503);
    assert_eq!(err.error_codes, vec![503]);
    assert_eq!(fake.requests().len(), 3);
}

#[test]
fn respect_a_custom_retry_count() {
    let fake = FakeIam::start().unwrap();
    let client = Client::builder()
        .api_token(fake.root_token())
        .iam_url(fake.url())
        .max_retries(5)
        .retry_backoff(Duration::from_millis(1), Duration::from_millis(5))
        .build()
        .unwrap();
    fake.inject(Fault::status(502), 100);
    assert_eq!(client.tokens().get(1).unwrap_err().status(), Some(502));
    assert_eq!(fake.requests().len(), 6);

    fake.clear_faults();
    fake.clear_requests();
    let no_retries = Client::builder()
        .api_token(fake.root_token())
        .iam_url(fake.url())
        .max_retries(0)
        .build()
        .unwrap();
    fake.inject(Fault::status(504), 100);
    assert_eq!(no_retries.tokens().get(1).unwrap_err().status(), Some(504));
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn not_retry_other_statuses() {
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);
    for status in [400, 401, 403, 404, 500, 501] {
        fake.clear_requests();
        fake.inject(Fault::status(status), 1);
        let err = client.tokens().list(None, 20, 0).unwrap_err();
        assert_eq!(err.status(), Some(status));
        assert_eq!(fake.requests().len(), 1, "status {status}");
    }
}

#[test]
fn wait_for_retry_after_then_succeed() {
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);
    fake.inject(Fault::status(429).with_retry_after("1"), 1);

    let started = Instant::now();
    let token = client.tokens().get(fake.root_token().as_str()).unwrap();

    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(token.key, fake.root_token());
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn fail_at_once_when_retry_after_exceeds_the_cap() {
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);
    fake.inject(Fault::status(429).with_retry_after("120"), 5);

    let started = Instant::now();
    let err = api_error(client.tokens().list(None, 20, 0).unwrap_err());

    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.status, 429);
    assert_eq!(err.retry_after, Some(Duration::from_secs(120)));
    assert!(err.to_string().ends_with("(retry after 120 s)"), "{err}");
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn honour_a_raised_retry_after_cap() {
    let fake = FakeIam::start().unwrap();
    let client = Client::builder()
        .api_token(fake.root_token())
        .iam_url(fake.url())
        .max_retry_after(Duration::from_secs(1))
        .build()
        .unwrap();
    fake.inject(Fault::status(503).with_retry_after("2"), 1);

    assert_eq!(client.tokens().get(1).unwrap_err().status(), Some(503));
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn retry_get_after_a_closed_connection() {
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);
    fake.inject(Fault::Close, 1);

    let token = client.tokens().get(fake.root_token().as_str()).unwrap();

    assert_eq!(token.key, fake.root_token());
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(fake.connections(), 2);
}

#[test]
fn retry_update_after_a_closed_connection() {
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);
    let temporary = client.tokens().create(false).unwrap();
    fake.inject(Fault::Close, 1);

    let updated = client.tokens().update(&temporary, false).unwrap();

    assert!(!updated.is_active);
    assert_eq!(updated.id, temporary.id);
}

#[test]
fn never_retry_create_on_503() {
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);
    fake.inject(Fault::status(503), 5);

    let err = client.tokens().create(true).unwrap_err();

    assert_eq!(fake.requests().len(), 1);
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(err.status(), Some(503));
    let text = err.to_string();
    assert!(
        text.starts_with("tokens.create: the outcome is unknown"),
        "{text}"
    );
    assert!(
        text.contains("list the newest tokens and compare"),
        "{text}"
    );
    let Error::OutcomeUnknown {
        operation, source, ..
    } = &err
    else {
        unreachable!()
    };
    assert_eq!(*operation, "tokens.create");
    assert_eq!(source.status(), Some(503));
}

#[test]
fn never_retry_create_on_a_closed_connection() {
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);
    fake.inject(Fault::Close, 5);

    let err = client.tokens().create(false).unwrap_err();

    assert_eq!(fake.requests().len(), 1);
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(err.status(), None);
}

#[test]
fn lost_create_answer_is_found_by_listing_not_by_retrying() {
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);
    fake.inject(Fault::LoseAnswer, 1);

    let err = client.tokens().create(true).unwrap_err();

    assert!(err.is_outcome_unknown());
    // The server did create it, once: the recovery the docs describe finds it.
    let permanent = client.tokens().list(Some(true), 5, 0).unwrap();
    assert_eq!(permanent.len(), 2);
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        1
    );
}

#[test]
fn create_refused_with_400_is_a_plain_api_error() {
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);
    fake.inject(Fault::status(400), 1);

    let err = client.tokens().create(false).unwrap_err();

    assert!(!err.is_outcome_unknown());
    assert_eq!(api_error(err).status, 400);
}

#[test]
fn delete_whose_answer_was_lost_is_done() {
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);
    let temporary = client.tokens().create(false).unwrap();
    fake.clear_requests();
    fake.inject(Fault::LoseAnswer, 1);

    client.tokens().delete(&temporary).unwrap();

    let seen = fake.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|r| r.method == "DELETE"));
    assert!(
        client
            .tokens()
            .get(temporary.id)
            .unwrap_err()
            .is_not_found()
    );
}

#[test]
fn delete_of_a_missing_token_is_still_404() {
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);

    assert!(client.tokens().delete(424_242).unwrap_err().is_not_found());
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn delete_retried_after_503_then_404_is_an_error() {
    // A 503 is an answer: the server said it did nothing, so a later 404
    // means the token never existed.
    let fake = FakeIam::start().unwrap();
    let client = quick_client(&fake);
    fake.inject(Fault::status(503), 1);

    assert!(client.tokens().delete(424_242).unwrap_err().is_not_found());
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn retry_connections_dropped_before_any_answer() {
    // A server that reads each request and hangs up: every attempt is lost.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let mut accepted = 0;
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    accepted += 1;
                    stream.set_nonblocking(false).unwrap();
                    let mut buf = [0u8; 1024];
                    let _ = std::io::Read::read(&mut stream, &mut buf);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        accepted
    });
    let client = Client::builder()
        .api_token("abcd")
        .iam_url(format!("http://{addr}"))
        .retry_backoff(Duration::from_millis(1), Duration::from_millis(2))
        .build()
        .unwrap();

    let err = client.tokens().list(None, 20, 0).unwrap_err();

    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(t.kind(), neuroio::TransportErrorKind::Connection);
    assert_eq!(server.join().unwrap(), 3);
}
