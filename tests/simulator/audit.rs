//! `Tokens::audit` against the simulator: it reads every page through the
//! walker, changes nothing, and reports what the account shows.

use std::time::Duration;

use neuroio::fake::FakeIam;
use neuroio::{AuditPolicy, AuditedCollection, FindingCode};

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
    assert_eq!(sent, [page(0), page(100)]);
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
