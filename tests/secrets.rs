//! Tokens and keys never reach `Debug`, `Display` or the log, across
//! successes, API errors, retries, lost answers and timeouts.
//!
//! The logger is process-wide, so this binary holds this one test (like
//! `memory.rs`, which needs its own allocator).

use std::sync::Mutex;
use std::time::Duration;

use log::{Level, LevelFilter, Log, Metadata, Record};
use neuroio::Client;
use neuroio::fake::{FakeIam, Fault};

struct Capture(Mutex<Vec<String>>);

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        let line = format!("{} {}: {}", record.level(), record.target(), record.args());
        self.0.lock().unwrap().push(line);
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn secrets_never_leak_into_debug_display_or_logs() {
    log::set_logger(&CAPTURE).unwrap();
    // Debug is the level this crate logs at. (ureq's own Trace level dumps the
    // wire bytes, credentials included, by design; see the crate docs.)
    log::set_max_level(LevelFilter::Debug);

    let fake = FakeIam::start().unwrap();
    let root_key = fake.root_token();
    let root = Client::builder()
        .api_token(root_key.clone())
        .iam_url(fake.url())
        .retry_backoff(Duration::from_millis(1), Duration::from_millis(2))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let mut shown: Vec<String> = vec![format!("{root:?}")];
    let mut show_err = |err: neuroio::Error| {
        shown.push(format!("{err} {err:?} {err:#?}"));
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            shown.push(format!("{s} {s:?}"));
            source = s.source();
        }
    };

    let temporary = root.tokens().create(false).unwrap();
    let permanent = root.tokens().create(true).unwrap();
    let secrets = [
        root_key.as_str(),
        temporary.key.secret(),
        permanent.key.secret(),
    ];

    // Calls by key, successes and failures.
    root.tokens().get(temporary.key.secret()).unwrap();
    root.tokens().update(permanent.key.secret(), false).unwrap();
    let as_permanent = root.with_api_token(&permanent.key).unwrap();
    show_err(as_permanent.tokens().list(None, 20, 0).unwrap_err()); // 401 inactive
    show_err(
        root.tokens()
            .get(format!("{}x", temporary.key.secret()).as_str())
            .unwrap_err(),
    ); // 404
    fake.inject(Fault::status(503), 2);
    root.tokens().get(temporary.key.secret()).unwrap(); // retried
    fake.inject(Fault::Close, 1);
    root.tokens().delete(permanent.key.secret()).unwrap(); // retried after a lost connection
    fake.inject(Fault::LoseAnswer, 1);
    show_err(root.tokens().create(false).unwrap_err()); // outcome unknown
    fake.inject(Fault::Delay(Duration::from_secs(5)), 3);
    show_err(root.tokens().get(temporary.key.secret()).unwrap_err()); // timeouts
    fake.clear_faults();
    // A client following a token file, through a broken file (kept the
    // last good key), a rotation met by a 401 (read again, repeated) and a
    // 401 with the file unchanged.
    let folder = std::env::temp_dir().join(format!("neuroio-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let token_file = folder.join("api.token");
    let publish = |text: &str| {
        std::fs::write(folder.join("api.token.tmp"), text).unwrap();
        std::fs::rename(folder.join("api.token.tmp"), &token_file).unwrap();
    };
    let file_first = root.tokens().create(false).unwrap();
    let file_second = root.tokens().create(false).unwrap();
    publish(&format!("{}\n", file_first.key.secret()));
    let following = Client::builder()
        .api_token_file(&token_file)
        .iam_url(fake.url())
        .build()
        .unwrap();
    following.whoami().unwrap();
    publish(&format!("{{\"key\": \"{}", file_second.key.secret()));
    std::thread::sleep(Duration::from_millis(1100));
    following.whoami().unwrap(); // the broken file is logged, the last key kept
    publish(&format!(
        "{{\"id\": {}, \"key\": \"{}\"}}",
        file_second.id,
        file_second.key.secret()
    ));
    assert!(fake.revoke(file_first.key.secret()));
    following.whoami().unwrap(); // 401, read again, repeated
    assert!(fake.revoke(file_second.key.secret()));
    show_err(following.whoami().unwrap_err()); // 401, file unchanged
    std::fs::remove_dir_all(&folder).unwrap();

    // A renewing client through a failed mint, a token born expired, a
    // revoked working token and a close that cannot delete.
    let renewing = Client::builder()
        .api_token(root_key.clone())
        .iam_url(fake.url())
        .retry_backoff(Duration::from_millis(1), Duration::from_millis(2))
        .timeout(Duration::from_millis(300))
        .renewing(Duration::from_secs(60))
        .build()
        .unwrap();
    fake.inject_at("POST", "/v1/tokens/", Fault::status(503), 1);
    show_err(renewing.whoami().unwrap_err()); // the mint failed
    std::thread::sleep(Duration::from_millis(20)); // past the backoff
    fake.set_next_lifetime(Duration::ZERO);
    show_err(renewing.whoami().unwrap_err()); // minted expired: deleted, not used
    std::thread::sleep(Duration::from_millis(20));
    renewing.whoami().unwrap();
    let working_key = |fake: &FakeIam| {
        fake.requests()
            .iter()
            .rev()
            .filter_map(|r| r.header("authorization")?.strip_prefix("Token "))
            .find(|key| *key != root_key)
            .map(str::to_owned)
            .unwrap()
    };
    let first_working = working_key(&fake);
    assert!(fake.revoke(&first_working));
    // Refused soon after it worked, the first in a row: replaced at once.
    renewing.whoami().unwrap();
    let replacement = working_key(&fake);
    assert_ne!(replacement, first_working);
    assert!(fake.revoke(&replacement));
    // The second in a row: a failed mint, the call's own 401; after the
    // backoff, a new working token.
    show_err(renewing.whoami().unwrap_err());
    std::thread::sleep(Duration::from_millis(20));
    renewing.whoami().unwrap();
    let second_working = working_key(&fake);
    fake.inject_at("DELETE", "/v1/tokens/*", Fault::status(500), 10);
    show_err(renewing.close().unwrap_err());
    fake.clear_faults();
    shown.push(format!("{renewing:?}"));

    shown.push(format!("{following:?}"));
    let (rotated, rotated_token) = root.rotate().unwrap();
    shown.push(format!(
        "{rotated:?} {rotated_token:?} {:?}",
        rotated.tokens()
    ));
    shown.push(format!(
        "{:?}",
        neuroio::TokenRef::from(temporary.key.secret())
    ));
    shown.push(format!("{fake:?}"));
    shown.extend(fake.requests().iter().map(|r| format!("{r:?}")));
    shown.push(format!("{:?}", root.tokens().list_all(None).unwrap()));

    let logged = CAPTURE.0.lock().unwrap().clone();
    // Every attempt was logged, with method, whole URL, attempt and timing.
    let url = fake.url();
    assert!(
        logged.iter().any(|l| l.starts_with(&format!(
            "DEBUG neuroio::transport::request: GET {url}/v1/tokens/<key>/ attempt 3/3: 200 in "
        ))),
        "{logged:#?}"
    );
    assert!(
        logged.iter().any(|l| l.contains(&format!(
            "DELETE {url}/v1/tokens/<key>/ attempt 1/3: no answer after"
        ))),
        "{logged:#?}"
    );
    assert!(
        logged
            .iter()
            .any(|l| l.contains(&format!("POST {url}/v1/tokens/ attempt 1/1: 201 in "))),
        "{logged:#?}"
    );
    assert!(
        logged.iter().any(|l| l.contains("retrying in")),
        "{logged:#?}"
    );
    assert!(
        logged.iter().any(|l| l.contains("renewing: ")),
        "{logged:#?}"
    );
    for said in [
        "calls go on with the key read before",
        &format!("read a new key (token {})", file_second.id),
    ] {
        assert!(
            logged.iter().any(
                |l| l.starts_with("DEBUG neuroio::credentials::file: token file ")
                    && l.contains(said)
            ),
            "{said}: {logged:#?}"
        );
    }

    let everything = [shown, logged].concat().join("\n");
    let working = [first_working.as_str(), second_working.as_str()];
    for secret in secrets
        .iter()
        .chain([
            &rotated_token.key.secret(),
            &file_first.key.secret(),
            &file_second.key.secret(),
        ])
        .chain(&working)
    {
        assert!(
            !everything.contains(secret),
            "a secret leaked:\n{everything}"
        );
    }
    assert!(everything.contains("[redacted]"));
    let _ = Level::Debug;
}
