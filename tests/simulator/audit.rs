//! `Tokens::audit` against the simulator: it reads every page through the
//! walker, changes nothing, and reports what the account shows.

use std::time::Duration;

use neuroio::fake::{FakeIam, Fault};
use neuroio::{AuditPolicy, AuditReport, AuditedCollection, FindingCode};

/// A client on a temporary token of the root account, both hosts on the
/// simulator, so that the audit does not run on a permanent token.
fn on_a_temporary_token(fake: &FakeIam) -> neuroio::Client {
    let root = fake.client_builder().build().unwrap();
    let token = root.tokens().create(false).unwrap();
    root.with_api_token(&token.key).unwrap()
}

#[test]
fn every_page_is_read_and_nothing_is_changed() {
    let fake = FakeIam::start().unwrap();
    let client = on_a_temporary_token(&fake);
    fake.add_temporary_tokens(&fake.root_token(), 150).unwrap();
    fake.clear_requests();
    let at = fake.now();

    let report = client.tokens().audit(&AuditPolicy::new().at(at)).unwrap();

    let sent: Vec<(String, String, Option<String>)> = fake
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.query))
        .collect();
    let page = |offset: u32| {
        (
            "GET".to_owned(),
            "/v1/tokens/".to_owned(),
            Some(format!("limit=100&offset={offset}")),
        )
    };
    assert_eq!(sent, [page(0), page(99)]);
    assert_eq!(report.collection, AuditedCollection::Tokens);
    assert_eq!(report.at, at);
    assert_eq!(
        (report.permanent, report.permanent_limit, report.temporary),
        (1, 5, 151)
    );
    assert_eq!((report.inactive, report.expired), (0, 0));
    assert_eq!(report.permanent_tokens.len(), 1);
    assert_eq!(report.permanent_tokens[0].id, 1);
    assert!(report.permanent_tokens[0].is_active);
    assert_eq!(report.permanent_tokens[0].age_days, 0);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn a_renewing_client_on_a_permanent_parent_runs_on_a_permanent_token() {
    let fake = FakeIam::start().unwrap();
    let client = fake
        .client_builder()
        .renewing(Duration::from_secs(3600))
        .build()
        .unwrap();

    let report = client.tokens().audit(&AuditPolicy::new()).unwrap();

    let found: Vec<(FindingCode, Option<u64>)> = report
        .findings
        .iter()
        .map(|f| (f.code, f.token_id))
        .collect();
    assert_eq!(found, [(FindingCode::PermanentInUse, Some(1))]);
    assert_eq!(report.temporary, 1, "the working token is listed");
}

#[test]
fn the_policy_sets_the_age_and_the_time() {
    let fake = FakeIam::start().unwrap();
    fake.advance(Duration::from_secs(31 * 86_400));
    let client = on_a_temporary_token(&fake);
    let month = AuditPolicy::new().max_age(Duration::from_secs(30 * 86_400));

    let by_the_simulators_clock = client
        .stream_tokens()
        .audit(&month.clone().at(fake.now()))
        .unwrap();
    let tokens = client
        .tokens()
        .audit(&month.clone().at(fake.now()))
        .unwrap();
    let by_this_machines_clock = client.tokens().audit(&month).unwrap();

    assert_eq!(
        by_the_simulators_clock.collection,
        AuditedCollection::StreamTokens
    );
    assert!(by_the_simulators_clock.findings.is_empty());
    assert_eq!(tokens.findings.len(), 1);
    let old = &tokens.findings[0];
    assert_eq!(
        (old.code, old.collection, old.token_id),
        (
            FindingCode::PermanentOld,
            AuditedCollection::Tokens,
            Some(1)
        )
    );
    assert_eq!(
        old.message,
        "permanent token 1 is 31 days old, more than the 30 days allowed; replace it with a new one, or with \
         temporary tokens, and delete it"
    );
    assert!(by_this_machines_clock.findings.is_empty());
}

/// Runs an audit of `client`'s tokens, holding its second page request
/// for a second and making `change` to the account meanwhile (straight in
/// the simulator's store, so no request of its own is logged).
fn audit_changed_during_the_second_page(
    fake: &FakeIam,
    client: &neuroio::Client,
    change: impl FnOnce(),
) -> neuroio::Result<AuditReport> {
    fake.inject_at("GET", "/v1/tokens/", Fault::Delay(Duration::ZERO), 1);
    fake.inject_at(
        "GET",
        "/v1/tokens/",
        Fault::Delay(Duration::from_secs(1)),
        1,
    );
    std::thread::scope(|scope| {
        let audit = scope.spawn(|| client.tokens().audit(&AuditPolicy::new().at(fake.now())));
        let held = std::time::Instant::now();
        while fake.requests().len() < 2 {
            assert!(held.elapsed() < Duration::from_secs(10), "no second page");
            std::thread::sleep(Duration::from_millis(5));
        }
        change();
        audit.join().unwrap()
    })
}

fn list_requests(fake: &FakeIam) -> Vec<(String, Option<String>)> {
    fake.requests()
        .into_iter()
        .map(|r| (format!("{} {}", r.method, r.path), r.query))
        .collect()
}

/// Two passes of two pages: the second page of the first did not start
/// where the first page ended.
fn two_passes() -> Vec<(String, Option<String>)> {
    [0, 99, 0, 99]
        .iter()
        .map(|offset| {
            (
                "GET /v1/tokens/".to_owned(),
                Some(format!("limit=100&offset={offset}")),
            )
        })
        .collect()
}

#[test]
fn a_token_created_during_the_audit_is_counted_and_none_twice() {
    let fake = FakeIam::start().unwrap();
    let client = on_a_temporary_token(&fake);
    fake.add_temporary_tokens(&fake.root_token(), 150).unwrap();
    // The last token of the first page is deactivated: a walk that read it
    // again on the shifted second page would report it twice.
    let listed = client.tokens().list_all(None).unwrap();
    let last_of_first_page = listed[99].id;
    client.tokens().update(last_of_first_page, false).unwrap();
    fake.clear_requests();

    let report = audit_changed_during_the_second_page(&fake, &client, || {
        fake.add_temporary_tokens(&fake.root_token(), 1).unwrap();
    })
    .unwrap();

    assert_eq!(list_requests(&fake), two_passes());
    assert_eq!((report.permanent, report.temporary), (1, 152));
    assert_eq!((report.inactive, report.expired), (1, 0));
    let found: Vec<(FindingCode, Option<u64>)> = report
        .findings
        .iter()
        .map(|f| (f.code, f.token_id))
        .collect();
    assert_eq!(found, [(FindingCode::Inactive, Some(last_of_first_page))]);
    assert_eq!(report.permanent_tokens.len(), 1);
}

#[test]
fn a_token_deleted_during_the_audit_does_not_hide_another() {
    let fake = FakeIam::start().unwrap();
    let client = on_a_temporary_token(&fake);
    fake.add_temporary_tokens(&fake.root_token(), 150).unwrap();
    // The first token of the second page is deactivated: a walk whose
    // second page shifted by one would never read it.
    let listed = client.tokens().list_all(None).unwrap();
    let first_of_second_page = listed[100].id;
    client.tokens().update(first_of_second_page, false).unwrap();
    let deleted = listed[10].key.clone();
    fake.clear_requests();

    let report = audit_changed_during_the_second_page(&fake, &client, || {
        assert!(fake.revoke(deleted.secret()));
    })
    .unwrap();

    assert_eq!(list_requests(&fake), two_passes());
    assert_eq!((report.permanent, report.temporary), (1, 150));
    assert_eq!((report.inactive, report.expired), (1, 0));
    let found: Vec<(FindingCode, Option<u64>)> = report
        .findings
        .iter()
        .map(|f| (f.code, f.token_id))
        .collect();
    assert_eq!(found, [(FindingCode::Inactive, Some(first_of_second_page))]);
}
