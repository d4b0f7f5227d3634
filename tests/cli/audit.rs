//! `neuroio tokens audit`: each finding on an account set up to show it,
//! none on a clean one, the JSON shape, and the exit codes.

use super::*;
use std::time::Duration;

use serde_json::json;

/// A temporary token of the root account, so that the audit itself does
/// not run on a permanent one.
fn temporary(fake: &FakeIam) -> String {
    client(fake, fake.root_token())
        .tokens()
        .create(false)
        .unwrap()
        .key
        .into_secret()
}

/// The simulator's time, for `--at` (its clock may have been moved).
fn fake_now(fake: &FakeIam) -> String {
    fake.now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn audit(fake: &FakeIam, token: &str, extra: &[&str]) -> Output {
    let url = fake.url();
    let now = fake_now(fake);
    let mut args = vec!["tokens", "audit", "--api-url", &url, "--at", &now];
    args.extend_from_slice(extra);
    run_as(fake, Some(token), &args)
}

/// (code, collection, token id) of every finding.
fn findings(report: &Value) -> Vec<(String, String, Value)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["collection"].as_str().unwrap().to_owned(),
                f["token_id"].clone(),
            )
        })
        .collect()
}

fn finding(code: &str, collection: &str, id: Option<u64>) -> (String, String, Value) {
    (code.to_owned(), collection.to_owned(), json!(id))
}

#[test]
fn a_clean_account_has_no_findings_and_exits_0_even_with_fail() {
    let fake = FakeIam::start().unwrap();
    let token = temporary(&fake);
    fake.clear_requests();

    let output = audit(&fake, &token, &[]);
    let failing = audit(&fake, &token, &["--fail"]);

    let report = json(&output);
    assert_eq!(field_names(&report), ["collections", "findings"]);
    assert_eq!(report["findings"], json!([]));
    let collections = report["collections"].as_array().unwrap();
    assert_eq!(collections.len(), 2);
    let sent: Vec<(String, String, Option<String>)> = fake
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.query))
        .collect();
    let root = client(&fake, fake.root_token()).tokens().get(1).unwrap();
    let created = root
        .created
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let at = fake_now(&fake);
    let mut tokens = collections[0].clone();
    let mut streams = collections[1].clone();
    // The time the audit was made at is the --at given.
    assert!(tokens["at"].as_str().unwrap() <= at.as_str());
    tokens.as_object_mut().unwrap().remove("at");
    streams.as_object_mut().unwrap().remove("at");
    assert_eq!(
        tokens,
        json!({
            "collection": "tokens", "permanent": 1, "permanent_limit": 5, "temporary": 1,
            "inactive": 0, "expired": 0,
            "permanent_tokens": [{"id": 1, "is_active": true, "created": created, "age_days": 0}],
        })
    );
    assert_eq!(
        streams,
        json!({
            "collection": "stream-tokens", "permanent": 0, "permanent_limit": 5, "temporary": 0,
            "inactive": 0, "expired": 0, "permanent_tokens": [],
        })
    );
    assert_eq!(failing.status.code(), Some(0));
    assert_eq!(stderr(&failing), "");
    // It only reads: one page of each collection per run.
    let page = |path: &str| {
        (
            "GET".to_owned(),
            path.to_owned(),
            Some("limit=100&offset=0".to_owned()),
        )
    };
    assert_eq!(
        sent,
        [
            page("/v1/tokens/"),
            page("/v1/streams/tokens/"),
            page("/v1/tokens/"),
            page("/v1/streams/tokens/"),
        ]
    );
}

#[test]
fn running_on_a_permanent_token_is_a_finding_and_fail_exits_5() {
    let fake = FakeIam::start().unwrap();

    let output = audit(&fake, &fake.root_token(), &[]);
    let failing = audit(&fake, &fake.root_token(), &["--fail"]);

    let report = json(&output);
    assert_eq!(
        report["findings"],
        json!([{
            "code": "permanent-in-use", "collection": "tokens", "token_id": 1,
            "message": "this audit runs on permanent token 1; run tooling on temporary tokens \
                        (log in, or create one with a parent) and keep permanent ones out of it",
        }])
    );
    assert_eq!(failing.status.code(), Some(5));
    assert_eq!(stderr(&failing), "error: the audit found 1 finding\n");
    let printed: Value = serde_json::from_str(&stdout(&failing)).unwrap();
    assert_eq!(
        printed["findings"], report["findings"],
        "the report is printed all the same"
    );
}

#[test]
fn four_permanent_tokens_near_the_limit() {
    let fake = FakeIam::start().unwrap();
    let token = temporary(&fake);
    let sdk = client(&fake, fake.root_token());
    for _ in 0..3 {
        sdk.tokens().create(true).unwrap();
    }
    let below = {
        let fake2 = FakeIam::start().unwrap();
        let token2 = temporary(&fake2);
        let sdk2 = client(&fake2, fake2.root_token());
        for _ in 0..2 {
            sdk2.tokens().create(true).unwrap();
        }
        findings(&json(&audit(&fake2, &token2, &[])))
    };

    let report = json(&audit(&fake, &token, &[]));

    assert_eq!(
        findings(&report),
        [finding("permanent-limit", "tokens", None)]
    );
    assert_eq!(
        report["findings"][0]["message"],
        "4 of the 5 permanent tokens allowed are used; delete those no longer needed, and use \
         temporary tokens instead"
    );
    assert_eq!(report["collections"][0]["permanent"], 4);
    assert!(below.is_empty(), "3 of 5 is fine: {below:?}");
}

#[test]
fn permanent_tokens_older_than_max_age() {
    let fake = FakeIam::start().unwrap();
    fake.advance(Duration::from_secs(91 * 86_400));
    // Made after the clock moved: it is young and unexpired.
    let token = temporary(&fake);

    let default_age = json(&audit(&fake, &token, &[]));
    let longer = json(&audit(&fake, &token, &["--max-age", "100"]));

    assert_eq!(
        findings(&default_age),
        [finding("permanent-old", "tokens", Some(1))]
    );
    assert_eq!(
        default_age["findings"][0]["message"],
        "permanent token 1 is 91 days old, more than the 90 days allowed; replace it with a new one, or with \
         temporary tokens, and delete it"
    );
    assert_eq!(
        default_age["collections"][0]["permanent_tokens"][0]["age_days"],
        91
    );
    assert!(findings(&longer).is_empty());
}

#[test]
fn deactivated_tokens_of_both_collections() {
    let fake = FakeIam::start().unwrap();
    let token = temporary(&fake);
    let sdk = fake.client_builder().build().unwrap();
    let idle = sdk.tokens().create(false).unwrap();
    sdk.tokens().update(idle.id, false).unwrap();
    let stream = sdk.stream_tokens().create(true).unwrap();
    sdk.stream_tokens().update(stream.id, false).unwrap();

    let report = json(&audit(&fake, &token, &[]));

    assert_eq!(
        findings(&report),
        [
            finding("inactive", "tokens", Some(idle.id)),
            finding("inactive", "stream-tokens", Some(stream.id)),
        ]
    );
    assert_eq!(report["collections"][0]["inactive"], 1);
    assert_eq!(report["collections"][1]["inactive"], 1);
    assert_eq!(report["collections"][1]["permanent"], 1);
}

#[test]
fn expired_tokens_still_listed() {
    let fake = FakeIam::start().unwrap();
    let sdk = fake.client_builder().build().unwrap();
    let old = sdk.tokens().create(false).unwrap();
    let old_stream = sdk.stream_tokens().create(false).unwrap();
    fake.advance(Duration::from_secs(25 * 3600));
    let token = temporary(&fake);

    let report = json(&audit(&fake, &token, &[]));

    assert_eq!(
        findings(&report),
        [
            finding("expired", "tokens", Some(old.id)),
            finding("expired", "stream-tokens", Some(old_stream.id)),
        ]
    );
    assert_eq!(report["collections"][0]["expired"], 1);
    assert_eq!(report["collections"][0]["temporary"], 2);
}

#[test]
fn a_table_on_request_and_never_a_key() {
    let fake = FakeIam::start().unwrap();
    let sdk = client(&fake, fake.root_token());
    let other = sdk.tokens().create(true).unwrap();

    let output = audit(&fake, &fake.root_token(), &["--output", "table"]);

    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(!text.contains(other.key.secret()));
    assert!(!text.contains(&fake.root_token()));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "COLLECTION     PERMANENT  TEMPORARY  INACTIVE  EXPIRED",
            "tokens         2 of 5     0          0         0",
            "stream-tokens  0 of 5     0          0         0",
        ]
    );
    assert!(
        text.contains(
            "\npermanent-in-use  tokens      1         this audit runs on permanent token 1;"
        ),
        "{text}"
    );
}

/// The cron line of the docs: a permanent token in a file, and `exec`
/// handing the audit a temporary token of its own, so the audit does not
/// report itself; the token `exec` made is gone afterwards.
#[test]
fn the_documented_cron_line_audits_on_a_temporary_token_and_leaves_nothing() {
    let fake = FakeIam::start().unwrap();
    let file = temp_file("audit", "audit.token", &format!("{}\n", fake.root_token()));
    let url = fake.url();

    let output = neuroio()
        .args(["exec", "--token-file", file.to_str().unwrap()])
        .args(["--iam-url", &url, "--api-url", &url, "--"])
        .args([BIN, "tokens", "audit", "--fail", "--output", "json"])
        .env_remove("NEUROIO_API_TOKEN")
        .env_remove("NEUROIO_IAM_URL")
        .env_remove("NEUROIO_API_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = json(&output);
    assert_eq!(findings(&report), []);
    // exec asked whose the permanent token is (for its ledger entry),
    // minted one token with it and deleted it after.
    let sent = seen_requests(&fake);
    assert_eq!(
        sent[..2],
        [
            ("GET".to_owned(), "/v1/whoami/".to_owned()),
            ("POST".to_owned(), "/v1/tokens/".to_owned())
        ]
    );
    assert_eq!(
        sent.last(),
        Some(&("DELETE".to_owned(), "/v1/tokens/2/".to_owned()))
    );
    assert_eq!(ids(&fake), [1]);
}
