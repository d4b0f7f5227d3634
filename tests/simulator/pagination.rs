//! Walking pages, expiry helpers, shared pools and token rotation, against
//! the simulator.

use std::time::Duration;

use crate::support::client;
use neuroio::fake::{FakeIam, Fault};

fn create_temporary(fake: &FakeIam, n: usize) -> Vec<u64> {
    let root = client(fake, fake.root_token());
    (0..n)
        .map(|_| root.tokens().create(false).unwrap().id)
        .collect()
}

fn list_queries(fake: &FakeIam) -> Vec<String> {
    fake.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/v1/tokens/")
        .map(|r| r.query.clone().unwrap_or_default())
        .collect()
}

#[test]
fn iter_walks_every_page_newest_first_and_stops_at_a_short_page() {
    let fake = FakeIam::start().unwrap();
    let mut expected = create_temporary(&fake, 24);
    expected.reverse();
    let root = client(&fake, fake.root_token());
    let root_id = root.tokens().get(fake.root_token().as_str()).unwrap().id;
    expected.push(root_id);
    fake.clear_requests();

    let ids: Vec<u64> = root
        .tokens()
        .iter(None)
        .page_size(10)
        .map(|t| t.unwrap().id)
        .collect();

    assert_eq!(ids, expected);
    assert_eq!(
        list_queries(&fake),
        [
            "limit=10&offset=0",
            "limit=10&offset=10",
            "limit=10&offset=20"
        ]
    );
}

#[test]
fn iter_asks_once_more_when_the_last_page_is_full() {
    let fake = FakeIam::start().unwrap();
    create_temporary(&fake, 19); // 20 with the root token
    let root = client(&fake, fake.root_token());
    fake.clear_requests();

    let count = root.tokens().iter(None).page_size(10).count();

    assert_eq!(count, 20);
    assert_eq!(
        list_queries(&fake),
        [
            "limit=10&offset=0",
            "limit=10&offset=10",
            "limit=10&offset=20"
        ]
    );
}

#[test]
fn iter_is_lazy_and_holds_one_page() {
    let fake = FakeIam::start().unwrap();
    create_temporary(&fake, 30);
    let root = client(&fake, fake.root_token());
    fake.clear_requests();

    let first_five: Vec<_> = root.tokens().iter(None).page_size(10).take(5).collect();

    assert_eq!(first_five.len(), 5);
    assert_eq!(list_queries(&fake), ["limit=10&offset=0"]);
}

#[test]
fn iter_default_page_size_is_100_and_filter_is_sent() {
    let fake = FakeIam::start().unwrap();
    create_temporary(&fake, 3);
    let root = client(&fake, fake.root_token());
    fake.clear_requests();

    let temporary = root.tokens().list_all(Some(false)).unwrap();

    assert_eq!(temporary.len(), 3);
    assert!(temporary.iter().all(|t| !t.is_permanent()));
    assert_eq!(list_queries(&fake), ["limit=100&offset=0&permanent=false"]);
    assert_eq!(neuroio::DEFAULT_PAGE_SIZE, 100);
}

#[test]
fn iter_page_size_is_clamped_to_the_api_range() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());

    assert_eq!(root.tokens().iter(None).page_size(0).count(), 1);
    assert_eq!(root.tokens().iter(None).page_size(1000).count(), 1);
    assert_eq!(
        list_queries(&fake),
        ["limit=1&offset=0", "limit=1&offset=1", "limit=100&offset=0"]
    );
}

#[test]
fn iter_yields_an_error_once_then_ends() {
    let fake = FakeIam::start().unwrap();
    create_temporary(&fake, 14);
    let root = client(&fake, fake.root_token());
    let mut iter = root.tokens().iter(None).page_size(10);
    for _ in 0..10 {
        iter.next().unwrap().unwrap();
    }
    fake.inject(Fault::status(500), 1);

    let err = iter.next().unwrap().unwrap_err();

    assert_eq!(err.status(), Some(500));
    assert!(iter.next().is_none());
    assert!(iter.next().is_none());
}

#[test]
fn list_all_fails_with_the_first_error() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    fake.inject(Fault::status(404), 1);

    assert!(root.tokens().list_all(None).unwrap_err().is_not_found());
}

#[test]
fn expiry_helpers_follow_the_given_clock() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let temporary = root.tokens().create(false).unwrap();
    let permanent = root.tokens().create(true).unwrap();

    let left = temporary.expires_in_at(fake.now()).unwrap();
    assert!(
        left <= Duration::from_secs(86_400) && left > Duration::from_secs(86_000),
        "{left:?}"
    );
    assert!(!temporary.is_expired_at(fake.now()));
    assert!(!temporary.is_expired()); // by this machine's clock too

    fake.advance(Duration::from_secs(23 * 3600));
    let left = temporary.expires_in_at(fake.now()).unwrap();
    assert!(
        left <= Duration::from_secs(3600) && left > Duration::from_secs(3000),
        "{left:?}"
    );

    fake.advance(Duration::from_secs(3600));
    assert!(temporary.is_expired_at(fake.now()));
    assert_eq!(temporary.expires_in_at(fake.now()), Some(Duration::ZERO));

    assert_eq!(permanent.expires_in(), None);
    assert!(!permanent.is_expired());
    assert!(!permanent.is_expired_at(fake.now()));
}

#[test]
fn with_api_token_shares_the_connection_pool() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let temporary = root.tokens().create(false).unwrap();

    let as_temporary = root.with_api_token(&temporary.key).unwrap();
    let page = as_temporary.tokens().list(None, 20, 0).unwrap();
    root.tokens().list(None, 20, 0).unwrap();

    assert_eq!(page.len(), 2);
    assert_eq!(fake.connections(), 1);
    let last = fake.requests().pop().unwrap();
    assert_eq!(
        last.header("authorization"),
        Some(format!("Token {}", fake.root_token()).as_str())
    );
    let auths: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert!(auths.contains(&format!("Token {}", temporary.key.secret())));
    assert!(matches!(
        root.with_api_token("bad token"),
        Err(neuroio::Error::Config(
            neuroio::ConfigError::InvalidApiToken(_)
        ))
    ));
}

#[test]
fn rotate_creates_checks_and_switches_to_a_temporary_token() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    fake.clear_requests();

    let (rotated, token) = root.rotate().unwrap();

    assert!(!token.is_permanent() && token.is_active);
    let seen = fake.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/v1/tokens/")
    );
    assert_eq!(seen[0].body, br#"{"permanent":false}"#);
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Token {}", fake.root_token()).as_str())
    );
    assert_eq!(seen[1].method, "GET");
    assert_eq!(seen[1].path, format!("/v1/tokens/{}/", token.id));
    assert_eq!(
        seen[1].header("authorization"),
        Some(format!("Token {}", token.key.secret()).as_str())
    );
    // The new client works, and the old token was left alone.
    assert_eq!(rotated.tokens().get(token.id).unwrap(), token);
    assert!(root.tokens().list(None, 20, 0).is_ok());
    assert_eq!(fake.connections(), 1);
}

#[test]
fn rotate_deletes_the_new_token_when_it_does_not_work() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    fake.inject(Fault::Delay(Duration::ZERO), 1); // the create goes through
    fake.inject(Fault::status(401), 1); // the check fails

    let err = root.rotate().unwrap_err();

    assert!(err.is_unauthorized());
    let methods: Vec<_> = fake.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST", "GET", "DELETE"]);
    assert_eq!(root.tokens().list(None, 20, 0).unwrap().len(), 1);
}
