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
    // Each page after the first starts at the last item of the one before.
    assert_eq!(
        list_queries(&fake),
        [
            "limit=10&offset=0",
            "limit=10&offset=9",
            "limit=10&offset=18"
        ]
    );
}

#[test]
fn iter_asks_once_more_when_the_last_page_is_full() {
    let fake = FakeIam::start().unwrap();
    create_temporary(&fake, 18); // 19 with the root token: 10, then 9 new and 1 seen
    let root = client(&fake, fake.root_token());
    fake.clear_requests();

    let count = root.tokens().iter(None).page_size(10).count();

    assert_eq!(count, 19);
    assert_eq!(
        list_queries(&fake),
        [
            "limit=10&offset=0",
            "limit=10&offset=9",
            "limit=10&offset=18"
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

    // At least 2: every page after the first repeats one item.
    assert_eq!(root.tokens().iter(None).page_size(0).count(), 1);
    assert_eq!(root.tokens().iter(None).page_size(1).count(), 1);
    assert_eq!(root.tokens().iter(None).page_size(1000).count(), 1);
    assert_eq!(
        list_queries(&fake),
        ["limit=2&offset=0", "limit=2&offset=0", "limit=100&offset=0"]
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

/// 24 temporary tokens and the root token, newest first: `(ids, root)`.
fn account_of_25(fake: &FakeIam) -> (neuroio::Client, Vec<u64>) {
    let mut ids = create_temporary(fake, 24);
    ids.reverse();
    let root = client(fake, fake.root_token());
    ids.push(root.tokens().get(fake.root_token().as_str()).unwrap().id);
    fake.clear_requests();
    (root, ids)
}

/// The method, path and query of each request the simulator saw.
fn sent(fake: &FakeIam) -> Vec<String> {
    fake.requests()
        .iter()
        .map(|r| {
            let query = r
                .query
                .as_deref()
                .map_or(String::new(), |q| format!("?{q}"));
            format!("{} {}{query}", r.method, r.path)
        })
        .collect()
}

fn page(offset: u32) -> String {
    format!("GET /v1/tokens/?limit=10&offset={offset}")
}

#[test]
fn a_token_created_between_two_pages_restarts_the_walk_and_each_id_comes_once() {
    let fake = FakeIam::start().unwrap();
    let (root, ids) = account_of_25(&fake);
    let mut walk = root.tokens().iter(None).page_size(10);
    let mut walked: Vec<u64> = walk.by_ref().take(10).map(|t| t.unwrap().id).collect();

    let created = root.tokens().create(false).unwrap().id;
    walked.extend(walk.map(|t| t.unwrap().id));

    // The first page, then the new token from the second pass, then the
    // rest: every id once, the new one included.
    let mut expected = ids[..10].to_vec();
    expected.push(created);
    expected.extend(&ids[10..]);
    assert_eq!(walked, expected);
    assert_eq!(
        sent(&fake),
        [
            page(0),
            "POST /v1/tokens/".to_owned(),
            page(9), // starts at token 16, not 15: the list shifted
            page(0),
            page(9),
            page(18),
        ]
    );
}

#[test]
fn a_token_deleted_between_two_pages_restarts_the_walk_and_none_is_missed() {
    let fake = FakeIam::start().unwrap();
    let (root, ids) = account_of_25(&fake);
    let mut walk = root.tokens().iter(None).page_size(10);
    let mut walked: Vec<u64> = walk.by_ref().take(10).map(|t| t.unwrap().id).collect();

    root.tokens().delete(ids[4]).unwrap();
    walked.extend(walk.map(|t| t.unwrap().id));

    // Without the restart the item after the first page (ids[10]) would be
    // skipped: it moved to offset 9.
    assert_eq!(walked, ids);
    assert_eq!(
        sent(&fake),
        [
            page(0),
            format!("DELETE /v1/tokens/{}/", ids[4]),
            page(9),
            page(0),
            page(9),
            page(18),
        ]
    );
}

#[test]
fn a_token_deleted_past_the_walk_is_not_yielded_and_nothing_restarts() {
    let fake = FakeIam::start().unwrap();
    let (root, ids) = account_of_25(&fake);
    let mut walk = root.tokens().iter(None).page_size(10);
    let mut walked: Vec<u64> = walk.by_ref().take(10).map(|t| t.unwrap().id).collect();

    root.tokens().delete(ids[15]).unwrap();
    walked.extend(walk.map(|t| t.unwrap().id));

    let mut expected = ids.clone();
    expected.remove(15);
    assert_eq!(walked, expected);
    assert_eq!(
        sent(&fake),
        [
            page(0),
            format!("DELETE /v1/tokens/{}/", ids[15]),
            page(9),
            page(18),
        ]
    );
}

#[test]
fn a_page_or_more_of_tokens_created_between_two_pages_does_not_end_the_walk() {
    // 9 new tokens make the second page repeat the first exactly, as a
    // server that ignores `offset` would; 10 and more push the whole first
    // page into the second. Each once ended the walk with an error.
    for (created, second_pass) in [
        (9, &[0, 9, 18, 27][..]),
        (10, &[0, 9, 18, 27]),
        (11, &[0, 9, 18, 27]),
        (25, &[0, 9, 18, 27, 36, 45]),
    ] {
        let fake = FakeIam::start().unwrap();
        let (root, ids) = account_of_25(&fake);
        let mut walk = root.tokens().iter(None).page_size(10);
        let mut walked: Vec<u64> = walk.by_ref().take(10).map(|t| t.unwrap().id).collect();

        fake.add_temporary_tokens(&fake.root_token(), created)
            .unwrap();
        let rest: Vec<u64> = walk
            .map(|t| t.unwrap_or_else(|e| panic!("{created}: {e}")).id)
            .collect();
        walked.extend(rest);

        let all: Vec<u64> = root
            .tokens()
            .list_all(None)
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect();
        let new = &all[..created];
        let mut expected = ids[..10].to_vec();
        expected.extend(new);
        expected.extend(&ids[10..]);
        assert_eq!(walked, expected, "{created} created");
        let mut queries = vec![page(0), page(9)];
        queries.extend(second_pass.iter().map(|&o| page(o)));
        assert_eq!(
            sent(&fake)[..queries.len()],
            queries[..],
            "{created} created"
        );
        assert_eq!(sent(&fake).len(), queries.len() + 1, "and the list_all");
    }
}

#[test]
fn with_no_restarts_allowed_the_first_change_is_a_typed_error() {
    let fake = FakeIam::start().unwrap();
    let (root, ids) = account_of_25(&fake);
    let mut walk = root.tokens().iter(None).page_size(10).max_restarts(0);
    let walked: Vec<u64> = walk.by_ref().take(10).map(|t| t.unwrap().id).collect();
    root.tokens().create(false).unwrap();

    let err = walk.next().unwrap().unwrap_err();

    assert_eq!(walked, ids[..10]);
    assert!(
        matches!(
            err,
            neuroio::Error::ListChanged {
                operation: "tokens.list",
                restarts: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "tokens.list: the list changed during the walk (items were created or deleted between \
         two page requests) once more than the walk may start over (0 times); walk it again \
         when fewer items are being created or deleted, narrow it with a filter, or allow more \
         restarts (PageIter::max_restarts); a proxy that drops the query's `offset` looks the \
         same"
    );
    assert!(walk.next().is_none());
    assert_eq!(
        sent(&fake),
        [page(0), "POST /v1/tokens/".to_owned(), page(9)]
    );
    assert_eq!(neuroio::DEFAULT_MAX_WALK_RESTARTS, 3);
}
