//! A token-file client shared by 8 threads while a writer rotates the file
//! as a token agent does: mint a temporary token, write it to a temporary
//! file and rename that over the token file, delete the old token after a
//! grace period. No call may fail, and the simulator's log shows what was
//! sent with which key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use neuroio::fake::FakeIam;
use neuroio::time::format_description::well_known::Rfc3339;
use neuroio::{Client, Token};

use crate::support::{client, temporary_tokens};

const READERS: usize = 8;
const ROTATIONS: usize = 4;
/// How long the simulator's temporary tokens live.
const LIFETIME: Duration = Duration::from_secs(4);
/// How often the writer rotates: before half a token's life.
const ROTATE_EVERY: Duration = Duration::from_millis(1500);
/// How often each reader calls.
const PAUSE: Duration = Duration::from_millis(50);

/// A folder of its own for one test's token file, removed on drop.
struct Folder(PathBuf);

impl Folder {
    fn new(test: &str) -> Folder {
        let dir = std::env::temp_dir().join(format!(
            "neuroio-simulator-token-file-{}-{test}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Folder(dir)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `token` as an agent does, atomically: the agent's JSON on even
/// rotations, the key and a newline on odd ones.
fn publish(path: &Path, token: &Token, rotation: usize) {
    let text = if rotation.is_multiple_of(2) {
        let expires = token.expires.map(|at| at.format(&Rfc3339).unwrap());
        serde_json::json!({"id": token.id, "key": token.key.secret(), "expires": expires})
            .to_string()
    } else {
        format!("{}\n", token.key.secret())
    };
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// What the readers did, and the tokens the writer published, in order.
struct Run {
    succeeded: usize,
    failures: Vec<String>,
    published: Vec<Token>,
}

/// Runs 8 readers on one client following a token file for
/// [`ROTATIONS`] rotations, each deleting the old token `grace` after the
/// new one is in the file.
fn rotate_under_readers(fake: &FakeIam, folder: &Folder, grace: Duration) -> Run {
    assert_eq!(fake.set_temporary_lifetime(LIFETIME), LIFETIME);
    let root = client(fake, fake.root_token());
    let path = folder.0.join("api.token");
    let first = root.tokens().create(false).unwrap();
    publish(&path, &first, 0);
    let reader = Client::builder()
        .api_token_file(&path)
        .iam_url(fake.url())
        .build()
        .unwrap();
    let stop = AtomicBool::new(false);
    let succeeded = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let mut published = vec![first];
    std::thread::scope(|s| {
        for _ in 0..READERS {
            s.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    match reader.whoami() {
                        Ok(_) => {
                            succeeded.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(err) => failures.lock().unwrap().push(err.to_string()),
                    }
                    std::thread::sleep(PAUSE);
                }
            });
        }
        for rotation in 1..=ROTATIONS {
            std::thread::sleep(ROTATE_EVERY);
            let next = root.tokens().create(false).unwrap();
            publish(&path, &next, rotation);
            let old = published.last().unwrap().id;
            published.push(next);
            std::thread::sleep(grace);
            root.tokens().delete(old).unwrap();
        }
        // The readers go on past the last look at the file.
        std::thread::sleep(Duration::from_millis(1200));
        stop.store(true, Ordering::SeqCst);
    });
    Run {
        succeeded: succeeded.into_inner(),
        failures: failures.into_inner().unwrap(),
        published,
    }
}

/// How many reader calls (`GET /v1/whoami/`) the simulator saw with each
/// key, and the key of the last one; asserts that each carried one of the
/// keys published.
fn reader_requests(fake: &FakeIam, published: &[Token]) -> (BTreeMap<usize, usize>, usize) {
    let mut per_token = BTreeMap::new();
    let mut last = None;
    for request in fake.requests() {
        if request.path != "/v1/whoami/" {
            continue;
        }
        assert_eq!(request.method, "GET");
        let key = request
            .header("authorization")
            .and_then(|h| h.strip_prefix("Token "))
            .unwrap_or_default();
        let Some(index) = published.iter().position(|t| t.key == key) else {
            panic!("a reader sent a key never published: {request:?}");
        };
        *per_token.entry(index).or_insert(0) += 1;
        last = Some(index);
    }
    (per_token, last.expect("reader requests"))
}

#[test]
fn eight_readers_follow_a_rotated_token_file_with_no_failure() {
    let fake = FakeIam::start().unwrap();
    let folder = Folder::new("grace");
    // Shorter than the client's second between looks at the file, so some
    // calls may still be sent with a deleted key and need the repeat.
    let run = rotate_under_readers(&fake, &folder, Duration::from_millis(200));
    assert!(run.failures.is_empty(), "{:#?}", run.failures);
    assert!(run.succeeded >= READERS * 50, "{} calls", run.succeeded);
    let (per_token, last) = reader_requests(&fake, &run.published);
    // Every token published was used, the last one last.
    assert_eq!(
        per_token.keys().copied().collect::<Vec<_>>(),
        (0..=ROTATIONS).collect::<Vec<_>>(),
        "{per_token:?}"
    );
    assert_eq!(last, ROTATIONS);
    // Every request beyond one per call is the one repeat after a 401: at
    // most one per reader in flight at each rotation.
    let sent: usize = per_token.values().sum();
    let repeats = sent - run.succeeded;
    assert!(
        repeats <= READERS * ROTATIONS,
        "{sent} requests for {} calls",
        run.succeeded
    );
    eprintln!(
        "{} calls, {sent} requests ({repeats} repeated after a 401), per token {per_token:?}",
        run.succeeded
    );
    // The writer's old tokens are gone; only the last one is left.
    let left = temporary_tokens(&fake);
    assert_eq!(
        left.into_iter().collect::<Vec<_>>(),
        [run.published[ROTATIONS].id]
    );
}

#[test]
fn with_no_grace_at_all_the_repeat_after_a_401_carries_every_call() {
    let fake = FakeIam::start().unwrap();
    let folder = Folder::new("no-grace");
    // The old token is deleted the moment the new one is in the file: a
    // call sent before the client's next look meets a 401, reads the file
    // and is repeated once.
    let run = rotate_under_readers(&fake, &folder, Duration::ZERO);
    assert!(run.failures.is_empty(), "{:#?}", run.failures);
    let (per_token, last) = reader_requests(&fake, &run.published);
    assert_eq!(last, ROTATIONS);
    let sent: usize = per_token.values().sum();
    let repeats = sent - run.succeeded;
    assert!(
        (1..=READERS * ROTATIONS).contains(&repeats),
        "{sent} requests for {} calls",
        run.succeeded
    );
    eprintln!(
        "{} calls, {sent} requests ({repeats} repeated after a 401), per token {per_token:?}",
        run.succeeded
    );
}

/// The `Authorization` key of every request, with its method.
fn keys_sent(fake: &FakeIam) -> Vec<(String, String)> {
    crate::support::keys_sent(fake)
        .into_iter()
        .map(|(method, _, key)| (method, key))
        .collect()
}

#[test]
fn a_renewing_client_whose_parent_is_a_token_file_mints_with_the_key_the_file_holds_now() {
    let fake = FakeIam::start().unwrap();
    assert_eq!(fake.set_temporary_lifetime(LIFETIME), LIFETIME);
    let folder = Folder::new("parent");
    let path = folder.0.join("parent.token");
    let root = client(&fake, fake.root_token());
    // The parent: a permanent token in a file that its owner rotates.
    let first = root.tokens().create(true).unwrap();
    publish(&path, &first, 1);
    let renewing = fake
        .client_builder()
        .api_token_file(&path)
        .renewing(Duration::from_secs(1))
        .build()
        .unwrap();
    renewing.whoami().unwrap();
    // A quarter of the working token's life: a later 401 is a revocation.
    std::thread::sleep(Duration::from_millis(1100));

    // The file gets a new parent; the old one and every temporary token
    // (the working token among them) are deleted. Past the next look at
    // the file, the client mints with the new parent.
    let second = root.tokens().create(true).unwrap();
    publish(&path, &second, 1);
    root.tokens().delete(first.id).unwrap();
    root.tokens().delete_list(Some(false)).unwrap();
    std::thread::sleep(Duration::from_millis(1300));
    fake.clear_requests();

    renewing.whoami().unwrap();

    let sent: Vec<(String, bool)> = keys_sent(&fake)
        .into_iter()
        .map(|(method, key)| (method, key == second.key.secret()))
        .collect();
    assert_eq!(
        sent,
        [
            ("GET".to_owned(), false), // with the working token: 401
            ("POST".to_owned(), true), // a new one, minted with the new parent
            ("GET".to_owned(), false), // the call, repeated
        ],
        "{:?}",
        keys_sent(&fake)
    );

    // Rotated again at once, well before the next look at the file (1 s
    // after the last): the mint with the old parent is refused, which has
    // the file read at once, and the next mint, after the backoff, uses
    // the key it holds.
    let third = root.tokens().create(true).unwrap();
    publish(&path, &third, 1);
    root.tokens().delete(second.id).unwrap();
    root.tokens().delete_list(Some(false)).unwrap();
    fake.clear_requests();
    let refused = renewing.whoami().unwrap_err();
    std::thread::sleep(Duration::from_millis(300));
    renewing.whoami().unwrap();

    assert!(refused.is_unauthorized(), "{refused:?}");
    let mints: Vec<String> = keys_sent(&fake)
        .into_iter()
        .filter(|(method, _)| method == "POST")
        .map(|(_, key)| key)
        .collect();
    assert_eq!(
        mints,
        [second.key.secret(), third.key.secret()],
        "{:?}",
        keys_sent(&fake)
    );
    renewing.close().unwrap();
    assert!(temporary_tokens(&fake).is_empty());
}
