//! The renewing client against the simulator, with temporary tokens that
//! live a second or two so renewals happen while the test watches.

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use neuroio::Client;
use neuroio::fake::FakeIam;

use crate::support::client;

/// A simulator whose temporary tokens live `lifetime`.
fn short_lived(lifetime: Duration) -> FakeIam {
    let fake = FakeIam::start().unwrap();
    assert_eq!(fake.set_temporary_lifetime(lifetime), lifetime);
    fake
}

fn renewing(fake: &FakeIam, renew_before: Duration) -> Client {
    fake.client_builder()
        .renewing(renew_before)
        .build()
        .unwrap()
}

use crate::support::keys_sent as calls;

/// Ids of the tokens the account holds, as the root token sees them.
fn held(fake: &FakeIam) -> BTreeSet<u64> {
    client(fake, fake.root_token())
        .tokens()
        .list_all(None)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect()
}

#[test]
fn build_sends_nothing_and_the_first_call_mints_with_the_parent() {
    let fake = FakeIam::start().unwrap();
    let parent = fake.root_token();
    let client = renewing(&fake, Duration::from_secs(3600));
    assert!(fake.requests().is_empty());

    let page = client.tokens().list(None, 20, 0).unwrap();

    let seen = calls(&fake);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        (seen[0].0.as_str(), seen[0].1.as_str()),
        ("POST", "/v1/tokens/")
    );
    assert_eq!(seen[0].2, parent, "the parent mints");
    assert_eq!(seen[1].0, "GET");
    assert_ne!(seen[1].2, parent, "the call goes with the working token");
    // The list shows the root token and the working token, nothing else.
    assert_eq!(page.len(), 2);
    let working = page.iter().find(|t| t.key == seen[1].2.as_str()).unwrap();
    assert!(!working.is_permanent());
    assert!(!format!("{client:?}").contains(&seen[1].2));
    assert!(!format!("{client:?}").contains(&parent));
    client.close().unwrap();
}

#[test]
fn renews_ahead_of_expiry_with_no_error_and_deletes_what_it_superseded() {
    let fake = short_lived(Duration::from_millis(1500));
    let parent = fake.root_token();
    let client = renewing(&fake, Duration::from_millis(600));

    // About four lifetimes' worth of calls, every one of which must succeed.
    let until = Instant::now() + Duration::from_millis(3500);
    let mut made = 0;
    while Instant::now() < until {
        client.tokens().list(None, 5, 0).unwrap();
        made += 1;
        std::thread::sleep(Duration::from_millis(40));
    }
    assert!(made > 20);

    let seen = calls(&fake);
    let working_keys: BTreeSet<&str> = seen
        .iter()
        .filter(|(method, _, key)| method == "GET" && key != &parent)
        .map(|(_, _, key)| key.as_str())
        .collect();
    assert!(
        working_keys.len() >= 3,
        "expected several renewals, saw {} working tokens",
        working_keys.len()
    );
    // The parent minted once, and did nothing else: renewals are minted with
    // the working token, and no 401 ever forced a fresh start (a 401 would
    // have sent the parent again).
    let by_parent: Vec<_> = seen.iter().filter(|(_, _, key)| key == &parent).collect();
    assert_eq!(by_parent.len(), 1, "{by_parent:?}");
    assert_eq!(by_parent[0].0, "POST");
    // Every GET went with a working token.
    assert!(seen.iter().filter(|c| c.0 == "GET").all(|c| c.2 != parent));
    // Superseded working tokens were deleted: the account holds the root
    // token and the current working token only.
    assert_eq!(held(&fake).len(), 2);
    client.close().unwrap();
    assert_eq!(held(&fake).len(), 1);
}

#[test]
fn a_revoked_working_token_is_replaced_and_the_call_repeated_once() {
    // Tokens that live 4 s, renewed 1 s before they end: one counts as
    // revoked (rather than refused by a broken server) once it has been in
    // use a quarter of its lifetime, 2 s before its renewal is due.
    let fake = short_lived(Duration::from_secs(4));
    let parent = fake.root_token();
    let client = renewing(&fake, Duration::from_secs(1));
    client.tokens().list(None, 5, 0).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    // Someone deletes every temporary token: the working token is gone.
    crate::support::client(&fake, fake.root_token())
        .tokens()
        .delete_list(Some(false))
        .unwrap();
    fake.clear_requests();

    // Even a create, which is never retried otherwise: a 401 means nothing
    // was done.
    let made = client.tokens().create(false).unwrap();
    // The next call deletes the refused token, with the parent (it no
    // longer works), once the call that held it has returned.
    client.whoami().unwrap();

    let seen = calls(&fake);
    let methods: Vec<(&str, bool)> = seen
        .iter()
        .map(|(m, _, k)| (m.as_str(), k == &parent))
        .collect();
    assert_eq!(
        methods,
        [
            ("POST", false),  // refused: 401
            ("POST", true),   // a new working token from the parent
            ("POST", false),  // the call, repeated once
            ("DELETE", true), // the refused one, tidied up (already gone)
            ("GET", false),   // the next call
        ]
    );
    assert!(held(&fake).contains(&made.id));
    client.close().unwrap();
}

#[test]
fn a_refused_parent_is_the_callers_401_at_once() {
    let fake = FakeIam::start().unwrap();
    let client = fake
        .client_builder()
        .api_token("not-a-token-of-this-simulator")
        .renewing(Duration::from_secs(60))
        .build()
        .unwrap();

    let err = client.tokens().list(None, 5, 0).unwrap_err();

    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(fake.requests().len(), 1);
    assert!(client.close().is_ok());
}

#[test]
fn many_threads_across_a_renewal_cause_one_mint() {
    let fake = short_lived(Duration::from_secs(2));
    let parent = fake.root_token();
    let client = renewing(&fake, Duration::from_millis(900));
    client.tokens().list(None, 5, 0).unwrap();
    // Past the renewal point (about 1.1 s), well before expiry.
    std::thread::sleep(Duration::from_millis(1300));
    fake.clear_requests();

    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                client.tokens().list(None, 5, 0).map(|page| page.len())
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap().unwrap();
    }

    let seen = calls(&fake);
    let mints = seen.iter().filter(|c| c.0 == "POST").count();
    assert_eq!(mints, 1, "{seen:?}");
    assert!(
        seen.iter().all(|c| c.2 != parent),
        "renewal used the working token"
    );
    assert_eq!(seen.iter().filter(|c| c.0 == "GET").count(), 8);
    client.close().unwrap();
    assert_eq!(held(&fake).len(), 1);
}

#[test]
fn dropping_the_last_clone_deletes_the_working_token() {
    let fake = FakeIam::start().unwrap();
    let client = renewing(&fake, Duration::from_secs(3600));
    let clone = client.clone();
    clone.whoami().unwrap();
    drop(client);
    assert_eq!(held(&fake).len(), 2, "a clone is still alive");
    drop(clone);
    assert_eq!(held(&fake).len(), 1);
}

#[test]
fn with_api_token_and_rotate_give_plain_clients() {
    let fake = FakeIam::start().unwrap();
    let client = renewing(&fake, Duration::from_secs(3600));
    let (rotated, token) = client.rotate().unwrap();
    fake.clear_requests();
    rotated.tokens().list(None, 5, 0).unwrap();
    let seen = calls(&fake);
    assert_eq!(seen.len(), 1, "a plain client mints nothing: {seen:?}");
    assert_eq!(seen[0].2, token.key.secret());
    assert!(format!("{rotated:?}").contains("renewing: false"));
    client.close().unwrap();
}

#[test]
fn working_token_drives_renewal_and_keep_replaced_delays_the_delete() {
    let fake = short_lived(Duration::from_secs(2));
    let client = fake
        .client_builder()
        .renewing(Duration::from_secs(3600))
        .keep_replaced(Duration::from_millis(1500))
        .build()
        .unwrap();
    assert!(fake.requests().is_empty());

    let first = client.working_token().unwrap().unwrap();
    assert!(first.expires.is_some());
    // Due again only at half its life: the same token, nothing sent.
    assert_eq!(client.working_token().unwrap().unwrap().id, first.id);
    assert_eq!(
        calls(&fake),
        [(
            "POST".to_owned(),
            "/v1/tokens/".to_owned(),
            fake.root_token()
        )]
    );
    std::thread::sleep(Duration::from_millis(1100));
    let second = client.working_token().unwrap().unwrap();
    assert_ne!(second.id, first.id);
    // Renewed with the working token; the replaced one is kept.
    let renewal = &calls(&fake)[1];
    assert_eq!(
        (renewal.0.as_str(), renewal.2.as_str()),
        ("POST", first.key.secret())
    );
    assert!(held(&fake).contains(&first.id));
    std::thread::sleep(Duration::from_millis(700));
    client.working_token().unwrap();
    assert!(held(&fake).contains(&first.id), "kept 1.5 s");
    std::thread::sleep(Duration::from_millis(1000));
    // Past the keeping time: the next look deletes it, with the working token.
    let now = client.working_token().unwrap().unwrap();
    assert!(!held(&fake).contains(&first.id));
    let delete = calls(&fake).into_iter().find(|c| c.0 == "DELETE").unwrap();
    assert_eq!(delete.1, format!("/v1/tokens/{}/", first.id));
    assert_eq!(delete.2, now.key.secret());
    // close deletes whatever is left at once, kept tokens included.
    client.close().unwrap();
    assert_eq!(held(&fake), BTreeSet::from([1]));
    assert!(client.working_token().is_err());
    // A client that does not renew has no working token.
    assert!(
        client_plain(&fake).working_token().unwrap().is_none(),
        "plain client"
    );
}

fn client_plain(fake: &FakeIam) -> Client {
    client(fake, fake.root_token())
}

#[test]
fn keep_replaced_longer_than_a_day_is_refused_by_build() {
    let fake = FakeIam::start().unwrap();
    let err = fake
        .client_builder()
        .renewing(Duration::from_secs(60))
        .keep_replaced(Duration::from_secs(24 * 3600 + 1))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("keep_replaced"), "{err}");
    assert!(err.to_string().contains("longer than a day"), "{err}");
    assert!(fake.requests().is_empty());
    // A day itself is fine.
    fake.client_builder()
        .renewing(Duration::from_secs(60))
        .keep_replaced(Duration::from_secs(24 * 3600))
        .build()
        .unwrap();
}

#[test]
fn close_within_ends_in_time_against_a_server_that_hangs_and_names_what_is_left() {
    let fake = FakeIam::start().unwrap();
    let client = renewing(&fake, Duration::from_secs(3600));
    let working = client.working_token().unwrap().unwrap();
    fake.inject_at(
        "DELETE",
        "/v1/tokens/*",
        neuroio::fake::Fault::Delay(Duration::from_secs(600)),
        10,
    );
    let started = Instant::now();

    let err = client.close_within(Duration::from_secs(1)).unwrap_err();

    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    let neuroio::Error::Renewal(renewal) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(renewal.not_deleted, [working.id]);
    assert!(held(&fake).contains(&working.id));
}

#[test]
fn close_deletes_the_working_token_with_its_own_key() {
    let fake = FakeIam::start().unwrap();
    let client = renewing(&fake, Duration::from_secs(3600));
    let working = client.working_token().unwrap().unwrap();
    fake.clear_requests();

    client.close().unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "DELETE");
    assert_eq!(requests[0].path, format!("/v1/tokens/{}/", working.id));
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Token {}", working.key.secret()).as_str())
    );
    assert!(!held(&fake).contains(&working.id));
}

#[test]
fn a_client_renewing_in_a_space_mints_there_renews_with_itself_and_deletes_with_the_space() {
    let fake = short_lived(Duration::from_secs(4));
    let root = client(&fake, fake.root_token());
    let lab = root.spaces().create("lab").unwrap();
    let renewing = fake
        .client_builder()
        .renewing(Duration::from_secs(3600))
        .renewing_in_space(lab.id)
        .build()
        .unwrap();
    fake.clear_requests();

    let me = renewing.whoami().unwrap();
    assert!(me.is_space_token(), "{me:?}");
    assert_eq!(me.space().map(|s| s.id), Some(lab.id));
    let first = renewing.working_token().unwrap().unwrap();
    // Renewed at half its life, with itself: a token of the same space.
    std::thread::sleep(Duration::from_millis(2_200));
    renewing.whoami().unwrap();
    let second = renewing.working_token().unwrap().unwrap();
    assert_ne!(first.id, second.id);
    renewing.close().unwrap();

    let seen = calls(&fake);
    let root_key = fake.root_token();
    // The first mint by the parent at the space's path, the renewal by the
    // first working token, every delete by a token of the space.
    assert_eq!(
        seen[0],
        (
            "POST".to_owned(),
            format!("/v1/spaces/{}/tokens/", lab.id),
            root_key.clone()
        )
    );
    assert!(
        seen.iter()
            .any(|(m, p, k)| m == "POST" && p == "/v1/tokens/" && k == first.key.secret()),
        "{seen:?}"
    );
    let deletes: Vec<&(String, String, String)> =
        seen.iter().filter(|(m, ..)| m == "DELETE").collect();
    assert!(!deletes.is_empty(), "{seen:?}");
    assert!(
        deletes.iter().all(|(_, _, key)| *key != root_key),
        "{deletes:?}"
    );
    // Nothing of the space is left live.
    let as_lab = root.spaces().create_token(lab.id, false).unwrap();
    let left: Vec<u64> = root
        .with_api_token(&as_lab.key)
        .unwrap()
        .tokens()
        .list_all(None)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(left, [as_lab.id]);
}

#[test]
fn renewing_in_space_without_renewing_is_refused() {
    let err = neuroio::Client::builder()
        .api_token("my-api-token")
        .renewing_in_space(3)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid setting renewing_in_space: it says whose tokens a renewing client mints; add \
         renewing"
    );
}

#[test]
fn undeleted_tokens_lists_replaced_ones_in_their_grace_and_those_whose_delete_failed() {
    let fake = short_lived(Duration::from_secs(2));
    let client = fake
        .client_builder()
        .renewing(Duration::from_secs(3600))
        .keep_replaced(Duration::from_millis(300))
        .build()
        .unwrap();
    assert!(client.undeleted_tokens().is_empty());
    let first = client.working_token().unwrap().unwrap();
    // Every delete fails for now.
    fake.inject_at(
        "DELETE",
        "/v1/tokens/*",
        neuroio::fake::Fault::status(503),
        1_000,
    );
    std::thread::sleep(Duration::from_millis(1_100));
    let second = client.working_token().unwrap().unwrap();
    assert_ne!(first.id, second.id);
    assert_eq!(client.undeleted_tokens(), [first.id], "in its grace");
    // Past the grace, its delete fails: it stays listed.
    std::thread::sleep(Duration::from_millis(400));
    client.working_token().unwrap();
    client.whoami().unwrap();
    assert_eq!(client.undeleted_tokens(), [first.id], "its delete failed");
    // Once deletes work, the next renewal deletes it.
    fake.clear_faults();
    std::thread::sleep(Duration::from_millis(700));
    let third = client.working_token().unwrap().unwrap();
    assert_ne!(third.id, second.id);
    std::thread::sleep(Duration::from_millis(400));
    client.working_token().unwrap();
    assert!(
        !client.undeleted_tokens().contains(&first.id),
        "{:?}",
        client.undeleted_tokens()
    );
    client.close().unwrap();
    assert!(client.undeleted_tokens().is_empty());
}
