//! `neuroio agent`, `exec --rotate` and `tokens reap`: token files kept
//! fresh for other programs, and nothing left behind however they end.
//! The simulator's temporary tokens live a few seconds, so rotations happen
//! while the test watches.

use super::*;
use neuroio::fake::Fault;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// A folder of its own for one test, private (0700).
fn scratch(name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("neuroio-cli-agent-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sinks")).unwrap();
    std::fs::set_permissions(dir.join("sinks"), std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

/// The binary with the root token, the simulator's URLs and the state
/// folder of the test at `dir`.
fn with_env(fake: &FakeIam, dir: &Path) -> Command {
    let mut command = neuroio();
    command
        .env("NEUROIO_API_TOKEN", fake.root_token())
        .env("NEUROIO_IAM_URL", fake.url())
        .env("NEUROIO_API_URL", fake.url())
        .env_remove("NEUROIO_API_TOKEN_FILE")
        .env("NEUROIO_STATE_DIR", dir.join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn agent(fake: &FakeIam, dir: &Path, args: &[&str]) -> Child {
    with_env(fake, dir).arg("agent").args(args).spawn().unwrap()
}

/// An agent of the tokens of `space`, writing `sink`, with `--grace`.
fn space_agent(fake: &FakeIam, dir: &Path, space: u64, sink: &Path, grace: &str) -> Child {
    let space = space.to_string();
    let sink = sink.to_str().unwrap();
    agent(
        fake,
        dir,
        &["--space", &space, "--sink", sink, "--grace", grace],
    )
}

fn signal(child: &Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, signal).unwrap();
}

/// Waits at most `within` for the child to end, and returns its output.
fn ended(mut child: Child, within: Duration) -> Output {
    let deadline = Instant::now() + within;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("neuroio did not end within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Waits at most `within` until `done` holds.
fn until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

fn short_lived(seconds: u64) -> FakeIam {
    let fake = FakeIam::start().unwrap();
    fake.set_temporary_lifetime(Duration::from_secs(seconds));
    fake
}

/// The key in a sink (either format); `None` while there is none.
fn key_in(sink: &Path) -> Option<String> {
    let text = std::fs::read_to_string(sink).ok()?;
    if text.starts_with('{') {
        let value: Value = serde_json::from_str(&text).unwrap();
        return Some(value["key"].as_str().unwrap().to_owned());
    }
    assert!(text.ends_with('\n'), "{text:?}");
    Some(text.trim_end().to_owned())
}

/// The temporary tokens the root account holds.
fn live(fake: &FakeIam) -> BTreeSet<u64> {
    support::temporary_tokens(fake)
}

fn mints(fake: &FakeIam) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/tokens/")
        .count()
}

/// What readers saw: each read of a sink followed by a call with its key.
#[derive(Default)]
struct Seen {
    calls: AtomicUsize,
    refusals: AtomicUsize,
    missing: AtomicUsize,
    /// The longest run of refusals one reader met in a row, in ms.
    longest_refused_ms: AtomicUsize,
    keys: std::sync::Mutex<BTreeSet<String>>,
}

/// `readers` threads that read `sink` every 50 ms and call the API with
/// what they read, until `stop`.
fn readers(
    fake: &FakeIam,
    sink: &Path,
    readers: usize,
    stop: &Arc<AtomicBool>,
) -> (Arc<Seen>, Vec<std::thread::JoinHandle<()>>) {
    let seen = Arc::new(Seen::default());
    let threads = (0..readers)
        .map(|_| {
            let (seen, stop, sink, url) = (
                Arc::clone(&seen),
                Arc::clone(stop),
                sink.to_owned(),
                fake.url(),
            );
            std::thread::spawn(move || {
                let mut refused_since: Option<Instant> = None;
                while !stop.load(Ordering::Acquire) {
                    match key_in(&sink) {
                        None => {
                            seen.missing.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(key) => {
                            let client = neuroio::Client::builder()
                                .api_token(key.as_str())
                                .iam_url(&url)
                                .max_retries(0)
                                .build()
                                .unwrap();
                            seen.calls.fetch_add(1, Ordering::Relaxed);
                            match client.whoami() {
                                Ok(_) => refused_since = None,
                                Err(err) => {
                                    assert!(err.is_unauthorized(), "{err}");
                                    seen.refusals.fetch_add(1, Ordering::Relaxed);
                                    let since = *refused_since.get_or_insert_with(Instant::now);
                                    let ms = since.elapsed().as_millis() as usize;
                                    seen.longest_refused_ms.fetch_max(ms, Ordering::Relaxed);
                                }
                            }
                            seen.keys.lock().unwrap().insert(key);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        })
        .collect();
    (seen, threads)
}

fn ledger_entries(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("state/ledger.json")).unwrap_or_default();
    if text.is_empty() {
        return Vec::new();
    }
    let value: Value = serde_json::from_str(&text).unwrap();
    value["entries"].as_array().unwrap().clone()
}

/// `neuroio tokens reap` with the test's state folder: its output, and
/// the ids it says it reaped (none when it failed).
fn reap_now(fake: &FakeIam, dir: &Path) -> (Output, BTreeSet<u64>) {
    let output = with_env(fake, dir)
        .args(["tokens", "reap"])
        .output()
        .unwrap();
    let reaped = match output.status.code() {
        Some(0) => json(&output)["reaped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_u64().unwrap())
            .collect(),
        _ => BTreeSet::new(),
    };
    (output, reaped)
}

/// Asserts that space `space` holds no token: listed with a fresh one of
/// its own (made with the root token), the only one there.
fn assert_no_token_left_in(fake: &FakeIam, space: u64) {
    let probe = client(fake, fake.root_token())
        .spaces()
        .create_token(space, false)
        .unwrap();
    let in_space: Vec<u64> = client(fake, probe.key.secret())
        .tokens()
        .list_all(None)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(in_space, [probe.id], "tokens left in space {space}");
}

/// The ids in the test's ledger.
fn ledger_ids(dir: &Path) -> BTreeSet<u64> {
    ledger_entries(dir)
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect()
}

#[test]
fn readers_of_a_sink_see_no_refusal_across_rotations_and_sigterm_leaves_nothing() {
    let fake = short_lived(3);
    let dir = scratch("rotate");
    let sink = dir.join("sinks/token");
    let child = agent(
        &fake,
        &dir,
        &["--sink", sink.to_str().unwrap(), "--grace", "2"],
    );
    assert!(until(Duration::from_secs(10), || key_in(&sink).is_some()));
    let stop = Arc::new(AtomicBool::new(false));
    let (seen, threads) = readers(&fake, &sink, 8, &stop);
    // Renewed at half of 3 s: four keys are at least three rotations.
    let rotated = until(Duration::from_secs(20), || {
        seen.keys.lock().unwrap().len() >= 4
    });
    stop.store(true, Ordering::Release);
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(rotated, "{} keys seen", seen.keys.lock().unwrap().len());
    assert_eq!(seen.refusals.load(Ordering::Relaxed), 0);
    assert_eq!(seen.missing.load(Ordering::Relaxed), 0);
    assert!(seen.calls.load(Ordering::Relaxed) > 100);
    // Mode 0600, and every live token of the agent is in the ledger.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sink).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let recorded: BTreeSet<u64> = ledger_entries(&dir)
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert!(live(&fake).is_subset(&recorded), "{recorded:?}");
    assert!(ledger_entries(&dir).iter().all(|e| e.get("key").is_none()));

    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let output = ended(child, Duration::from_secs(10));

    assert_eq!(output.status.code(), Some(128 + 15), "{}", stderr(&output));
    assert!(live(&fake).is_empty(), "{:?}", live(&fake));
    assert!(!sink.exists());
    assert_eq!(ledger_entries(&dir), Vec::<Value>::new());
    // One line per rotation: ids and expiry, never a key.
    let log = stderr(&output);
    let written = log.lines().filter(|l| l.contains(" written to ")).count();
    assert!(written >= 4, "{log}");
    assert_eq!(written, mints(&fake), "{log}");
    for key in seen.keys.lock().unwrap().iter() {
        assert!(!log.contains(key.as_str()), "{log}");
    }
    assert!(!log.contains(&fake.root_token()));
    assert!(stdout(&output).is_empty());
    // Every mint after the first was made with the working token.
    let posts: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(posts[0], format!("Token {}", fake.root_token()));
    assert!(posts[1..].iter().all(|h| *h != posts[0]));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn int_hup_and_quit_end_the_agent_with_128_plus_n_and_nothing_left() {
    use nix::sys::signal::Signal;
    let fake = FakeIam::start().unwrap();
    let dir = scratch("signals");
    let sink = dir.join("sinks/token");
    for (sig, code) in [
        (Signal::SIGINT, 130),
        (Signal::SIGHUP, 129),
        (Signal::SIGQUIT, 131),
    ] {
        let child = agent(&fake, &dir, &["--sink", sink.to_str().unwrap()]);
        assert!(until(Duration::from_secs(10), || key_in(&sink).is_some()));
        assert_eq!(live(&fake).len(), 1);
        signal(&child, sig);
        let output = ended(child, Duration::from_secs(10));
        assert_eq!(
            output.status.code(),
            Some(code),
            "{sig}: {}",
            stderr(&output)
        );
        assert!(live(&fake).is_empty(), "{sig}");
        assert!(!sink.exists(), "{sig}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn after_kill_9_tokens_reap_deletes_what_the_agent_left_and_keeps_the_rest() {
    let fake = short_lived(3);
    let dir = scratch("kill9");
    let sink = dir.join("sinks/token");
    let mut child = agent(
        &fake,
        &dir,
        &["--sink", sink.to_str().unwrap(), "--grace", "30"],
    );
    // Two tokens: the current one, and the one it replaced (in its grace).
    // (Waiting for the ledger: a token is live a moment before it is
    // recorded, and one killed in that moment is what reap cannot know.)
    assert!(until(Duration::from_secs(15), || ledger_entries(&dir)
        .len()
        >= 2));
    child.kill().unwrap();
    child.wait().unwrap();
    let left = live(&fake);
    assert!(left.len() >= 2, "{left:?}");
    // Each of the agent's entries says whose tokens it was among.
    for entry in ledger_entries(&dir) {
        assert_eq!(entry["scope"], json!({"account": "root"}), "{entry}");
    }
    // Entries the token in use must not touch: another host, another
    // profile, a live owner; one it cannot find whose scope is unknown, or
    // another account's, or a space's it cannot make a token of: each kept
    // until it expires. One of its own account that is gone: reaped.
    let ledger = dir.join("state/ledger.json");
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(&ledger).unwrap()).unwrap();
    let me = std::process::id();
    let entries = document["entries"].as_array_mut().unwrap();
    entries.push(
        json!({"id": 900, "host": "http://127.0.0.1:9", "profile": null,
        "purpose": "agent", "pid": 999_999_999u32, "start": 1}),
    );
    entries.push(json!({"id": 901, "host": fake.url(), "profile": "other",
        "purpose": "exec", "pid": 999_999_999u32, "start": 1}));
    entries.push(json!({"id": 902, "host": fake.url(), "profile": null,
        "purpose": "exec", "pid": me, "start": null}));
    entries.push(json!({"id": 903, "host": fake.url(), "profile": null,
        "purpose": "exec", "pid": 999_999_999u32, "start": 1}));
    let later = "2999-01-01T00:00:00Z";
    entries.push(json!({"id": 904, "host": fake.url(), "profile": null,
        "purpose": "exec", "pid": 999_999_999u32, "start": 1, "expires": later,
        "scope": {"account": "root"}}));
    entries.push(json!({"id": 905, "host": fake.url(), "profile": null,
        "purpose": "exec", "pid": 999_999_999u32, "start": 1, "expires": later,
        "scope": {"account": "ada"}}));
    entries.push(json!({"id": 906, "host": fake.url(), "profile": null,
        "purpose": "agent", "pid": 999_999_999u32, "start": 1, "scope": {"space": 424_242}}));
    // Another machine's process (a shared home folder): not this one's to
    // judge, kept. This machine's, of an earlier boot: gone, though its pid
    // (this test's) runs now.
    let machine = entries[0]["machine"].as_str().unwrap().to_owned();
    let machine_id = entries[0]["machine_id"].clone();
    assert!(machine_id.is_string(), "{}", entries[0]);
    assert!(entries[0]["boot"].is_string(), "{}", entries[0]);
    assert!(entries[0]["pid_ns"].is_u64(), "{}", entries[0]);
    entries.push(json!({"id": 907, "host": fake.url(), "profile": null,
        "purpose": "exec", "pid": 999_999_999u32, "start": 1, "expires": later,
        "machine": format!("{machine}-elsewhere"), "scope": {"account": "root"}}));
    entries.push(json!({"id": 908, "host": fake.url(), "profile": null,
        "purpose": "exec", "pid": me, "start": null, "expires": later,
        "machine": machine, "machine_id": machine_id, "boot": "an-earlier-boot",
        "scope": {"account": "root"}}));
    std::fs::write(&ledger, serde_json::to_vec(&document).unwrap()).unwrap();
    fake.clear_requests();

    let output = with_env(&fake, &dir)
        .args(["tokens", "reap"])
        .output()
        .unwrap();

    let answer = json(&output);
    let mut reaped: Vec<u64> = answer["reaped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_u64().unwrap())
        .collect();
    reaped.sort_unstable();
    let mut expected: Vec<u64> = left.iter().copied().collect();
    expected.extend([904, 908]);
    assert_eq!(reaped, expected);
    assert_eq!(answer["kept"], 7);
    let sent = seen_requests(&fake);
    assert!(live(&fake).is_empty());
    let count = |method: &str, path: &str| {
        sent.iter()
            .filter(|(m, p)| m == method && p == path)
            .count()
    };
    let deletes: BTreeSet<String> = sent
        .iter()
        .filter(|(m, _)| m == "DELETE")
        .map(|(_, p)| p.clone())
        .collect();
    let wanted: BTreeSet<String> = left
        .iter()
        .chain(&[904, 905, 908])
        .map(|id| format!("/v1/tokens/{id}/"))
        .collect();
    assert_eq!(deletes, wanted);
    // Its own scope asked once; 903's unknown expiry looked up; one try at
    // a token of the unknown space.
    assert_eq!(count("GET", "/v1/whoami/"), 1, "{sent:?}");
    assert_eq!(count("GET", "/v1/tokens/903/"), 1, "{sent:?}");
    assert_eq!(count("POST", "/v1/spaces/424242/tokens/"), 1, "{sent:?}");
    assert_eq!(sent.len(), left.len() + 6, "{sent:?}");
    let kept: Vec<u64> = ledger_entries(&dir)
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(kept, [900, 901, 902, 903, 905, 906, 907]);
    let said = stderr(&output);
    assert!(
        said.contains(&format!(
            "warning: token 906 of the ledger {} is a token of space 424242, and no token of \
             that space to delete it with could be made (",
            ledger.display()
        )),
        "{said}"
    );
    assert!(said.contains("it is kept for the next reap"), "{said}");
    // As a table on a terminal's request.
    let table = with_env(&fake, &dir)
        .args(["tokens", "reap", "--output", "table"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&table).split_whitespace().collect::<Vec<_>>(),
        ["REAPED", "KEPT", "none", "7"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn under_sustained_mint_failure_at_most_12_mints_in_10_s_and_no_dead_key_stays() {
    let fake = short_lived(3);
    let dir = scratch("failing");
    let sink = dir.join("sinks/token");
    let child = agent(&fake, &dir, &["--sink", sink.to_str().unwrap()]);
    assert!(until(Duration::from_secs(10), || key_in(&sink).is_some()));
    fake.clear_requests();
    fake.inject_at("POST", "/v1/tokens/", Fault::status(503), 10_000);
    let stop = Arc::new(AtomicBool::new(false));
    let (seen, threads) = readers(&fake, &sink, 8, &stop);
    std::thread::sleep(Duration::from_secs(10));
    let failed_mints = mints(&fake);
    // The sink was removed once its token ran out.
    let removed = !sink.exists();
    fake.clear_faults();
    // A mint that succeeds writes the sink again.
    let back = until(Duration::from_secs(10), || key_in(&sink).is_some());
    stop.store(true, Ordering::Release);
    for thread in threads {
        thread.join().unwrap();
    }
    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let output = ended(child, Duration::from_secs(10));

    assert!(
        (1..=12).contains(&failed_mints),
        "{failed_mints} mints in 10 s"
    );
    assert!(removed, "the sink still holds the expired key");
    assert!(back, "{}", stderr(&output));
    // A refused key stayed in the sink for less than one backoff (the
    // renewing client stops using a token before it ends).
    let longest = seen.longest_refused_ms.load(Ordering::Relaxed);
    assert!(longest < 1000, "refused for {longest} ms in a row");
    assert!(seen.missing.load(Ordering::Relaxed) > 0);
    assert_eq!(output.status.code(), Some(143));
    assert!(live(&fake).is_empty());
    let log = stderr(&output);
    assert!(
        log.contains("no longer opens anything and no new one could be handed out"),
        "{log}"
    );
    assert!(log.contains("503"), "{log}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn once_writes_json_with_the_mode_asked_and_leaves_the_token_to_its_reader() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeIam::start().unwrap();
    let dir = scratch("once");
    let sink = dir.join("sinks/token.json");
    let output = with_env(&fake, &dir)
        .args(["agent", "--once", "--format", "json", "--mode", "0640"])
        .args(["--sink", sink.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&sink).unwrap()).unwrap();
    assert_eq!(field_names(&written), ["expires", "id", "key"]);
    let id = written["id"].as_u64().unwrap();
    assert_eq!(live(&fake), BTreeSet::from([id]));
    let token = client(&fake, fake.root_token()).tokens().get(id).unwrap();
    assert_eq!(written["key"], token.key.secret());
    assert!(written["expires"].as_str().unwrap().ends_with('Z'));
    let mode = std::fs::metadata(&sink).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    // Handed over: a reap leaves it alone.
    let reaped = json(
        &with_env(&fake, &dir)
            .args(["tokens", "reap"])
            .output()
            .unwrap(),
    );
    assert_eq!(reaped, json!({"reaped": [], "kept": 0}));
    assert_eq!(live(&fake), BTreeSet::from([id]));
    assert!(!stderr(&output).contains(token.key.secret()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn once_with_space_writes_a_token_of_that_space() {
    let fake = FakeIam::start().unwrap();
    let dir = scratch("space");
    let space = fake.add_space(&fake.root_token(), "cameras").unwrap();
    let sink = dir.join("sinks/token");
    let output = with_env(&fake, &dir)
        .args(["agent", "--once", "--space", &space.to_string()])
        .args(["--sink", sink.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let me = client(&fake, key_in(&sink).unwrap()).whoami().unwrap();
    assert_eq!(me.username(), None);
    let posts: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(posts, [format!("/v1/spaces/{space}/tokens/")]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_agent_for_a_space_rotates_tokens_of_that_space_and_sigterm_leaves_none() {
    let fake = short_lived(3);
    let dir = scratch("space-rotate");
    let space = fake.add_space(&fake.root_token(), "cameras").unwrap();
    let sink = dir.join("sinks/token");
    let child = space_agent(&fake, &dir, space, &sink, "1");
    // Three different keys in the sink, each a token of the space.
    let mut seen = BTreeSet::new();
    assert!(until(Duration::from_secs(20), || {
        if let Some(key) = key_in(&sink)
            && seen.insert(key.clone())
        {
            let me = client(&fake, &key).whoami().unwrap();
            assert_eq!(me.space().map(|s| s.id), Some(space), "{me:?}");
            assert_eq!(me.username(), None);
        }
        seen.len() >= 3
    }));

    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let output = ended(child, Duration::from_secs(20));

    assert_eq!(output.status.code(), Some(143), "{}", stderr(&output));
    assert!(!sink.exists());
    assert_no_token_left_in(&fake, space);
    assert!(ledger_entries(&dir).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn after_kill_9_of_an_agent_for_a_space_reap_deletes_its_tokens_with_a_token_of_that_space() {
    let fake = short_lived(3);
    let dir = scratch("space-kill9");
    let space = fake.add_space(&fake.root_token(), "cameras").unwrap();
    let sink = dir.join("sinks/token");
    // Who am I fails for the agent's whole life: the scope of its entries
    // is known without it.
    fake.inject_at("GET", "/v1/whoami/", Fault::status(500), 1_000);
    let mut child = space_agent(&fake, &dir, space, &sink, "30");
    // Two tokens of the space, each entry with its scope from the start.
    assert!(until(Duration::from_secs(15), || {
        let entries = ledger_entries(&dir);
        assert!(
            entries
                .iter()
                .all(|e| e["scope"] == json!({"space": space})),
            "{entries:?}"
        );
        entries.len() >= 2
    }));
    child.kill().unwrap();
    child.wait().unwrap();
    fake.clear_faults();
    let left = ledger_ids(&dir);
    fake.clear_requests();

    let (output, reaped) = reap_now(&fake, &dir);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    assert_eq!(reaped, left);
    assert_eq!(json(&output)["kept"], 0);
    assert!(ledger_entries(&dir).is_empty());
    // Its own scope, then a token of the space made with the account
    // token, each token deleted with it, and it deleted with itself.
    let root = format!("Token {}", fake.root_token());
    let sent: Vec<(String, String, String)> = fake
        .requests()
        .iter()
        .map(|r| {
            let auth = r.header("authorization").unwrap_or_default().to_owned();
            (r.method.clone(), r.path.clone(), auth)
        })
        .collect();
    assert_eq!(sent.len(), left.len() + 3, "{sent:?}");
    assert_eq!(
        sent[..2]
            .iter()
            .map(|(m, p, a)| (m.as_str(), p.as_str(), a == &root))
            .collect::<Vec<_>>(),
        [
            ("GET", "/v1/whoami/", true),
            ("POST", format!("/v1/spaces/{space}/tokens/").as_str(), true)
        ]
    );
    let helper_auth = &sent[2].2;
    assert_ne!(helper_auth, &root);
    let deletes: BTreeSet<String> = sent[2..]
        .iter()
        .map(|(m, p, a)| {
            assert_eq!((m.as_str(), a), ("DELETE", helper_auth));
            p.clone()
        })
        .collect();
    assert_eq!(deletes.len(), left.len() + 1);
    for id in &left {
        assert!(
            deletes.contains(&format!("/v1/tokens/{id}/")),
            "{deletes:?}"
        );
    }
    assert_no_token_left_in(&fake, space);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_agent_follows_a_parent_token_file_and_mints_with_its_new_key_after_a_revocation() {
    let fake = short_lived(3);
    let dir = scratch("parent-file");
    let sink = dir.join("sinks/token");
    let parent = dir.join("parent.token");
    let root = client(&fake, fake.root_token());
    let first = root.tokens().create(true).unwrap();
    std::fs::write(&parent, format!("{}\n", first.key.secret())).unwrap();
    let child = with_env(&fake, &dir)
        .env("NEUROIO_API_TOKEN_FILE", &parent)
        .args(["agent", "--sink", sink.to_str().unwrap(), "--grace", "1"])
        .spawn()
        .unwrap();
    assert!(until(Duration::from_secs(10), || key_in(&sink).is_some()));
    let before = key_in(&sink).unwrap();

    // The parent is rotated in its file (atomically), the old one and every
    // temporary token deleted: the working token can mint no more.
    let second = root.tokens().create(true).unwrap();
    let written = dir.join("parent.token.tmp");
    std::fs::write(&written, format!("{}\n", second.key.secret())).unwrap();
    std::fs::rename(&written, &parent).unwrap();
    root.tokens().delete(first.id).unwrap();
    fake.clear_requests();
    root.tokens().delete_list(Some(false)).unwrap();

    // A new key in the sink, minted with the new parent, that works.
    let renewed = until(Duration::from_secs(15), || {
        key_in(&sink).is_some_and(|key| key != before && client(&fake, key).whoami().is_ok())
    });
    let mint_keys: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .filter_map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let output = ended(child, Duration::from_secs(20));

    assert!(renewed, "{}", stderr(&output));
    assert!(
        mint_keys.contains(&format!("Token {}", second.key.secret())),
        "{mint_keys:?}"
    );
    assert!(!mint_keys.contains(&format!("Token {}", first.key.secret())));
    assert_eq!(output.status.code(), Some(143), "{}", stderr(&output));
    assert!(live(&fake).is_empty());
    for key in [first.key.secret(), second.key.secret()] {
        assert!(!stderr(&output).contains(key));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_sink_something_else_removed_is_written_again_without_a_new_token() {
    let fake = FakeIam::start().unwrap();
    let dir = scratch("removed");
    let sink = dir.join("sinks/token");
    let child = agent(&fake, &dir, &["--sink", sink.to_str().unwrap()]);
    assert!(until(Duration::from_secs(10), || key_in(&sink).is_some()));
    let key = key_in(&sink).unwrap();
    let minted = mints(&fake);

    std::fs::remove_file(&sink).unwrap();
    let back = until(Duration::from_secs(5), || key_in(&sink).is_some());

    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let output = ended(child, Duration::from_secs(20));
    assert!(back, "{}", stderr(&output));
    assert_eq!(output.status.code(), Some(143), "{}", stderr(&output));
    // The same token: nothing was minted for it.
    assert_eq!(mints(&fake), minted);
    let said = stderr(&output);
    let again: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("written again"))
        .collect();
    assert_eq!(
        again,
        ["neuroio agent: token 2 written again to a sink that had been removed"]
    );
    assert!(!stderr(&output).contains(&key));
    assert!(!sink.exists());
    assert!(live(&fake).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_sink_that_is_a_link_or_in_a_folder_anyone_may_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeIam::start().unwrap();
    let dir = scratch("refused");
    let target = dir.join("sinks/target");
    std::fs::write(&target, "x").unwrap();
    let link = dir.join("sinks/link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let open = dir.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    for (sink, says) in [
        (link.clone(), "is a symbolic link"),
        (open.join("token"), "can be written by group or others"),
        (dir.join("missing/token"), "cannot be used"),
    ] {
        let output = with_env(&fake, &dir)
            .args(["agent", "--once", "--sink", sink.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(stderr(&output).contains(says), "{}", stderr(&output));
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "x");
    // The sticky bit (as /tmp has) makes such a folder fine.
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let output = with_env(&fake, &dir)
        .args([
            "agent",
            "--once",
            "--sink",
            open.join("token").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for bad in ["999", "0o1777", "rw", ""] {
        let output = with_env(&fake, &dir)
            .args(["agent", "--once", "--mode", bad, "--sink"])
            .arg(dir.join("sinks/m"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad}");
    }
    // Only the one token written, no request for the refused ones.
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        1
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_torn_ledger_is_an_error_naming_the_file_and_nothing_is_minted() {
    let fake = FakeIam::start().unwrap();
    let dir = scratch("torn");
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let ledger = dir.join("state/ledger.json");
    std::fs::write(&ledger, r#"{"version": 1, "entries": [{"id": 3, "ho"#).unwrap();
    let sink = dir.join("sinks/token");
    for args in [
        vec!["tokens", "reap"],
        vec!["agent", "--sink", sink.to_str().unwrap()],
        vec!["exec", "--rotate", "--", "true"],
    ] {
        let output = with_env(&fake, &dir).args(&args).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        let text = stderr(&output);
        assert!(text.contains(&ledger.display().to_string()), "{text}");
        assert!(text.contains("ends too soon"), "{text}");
        assert!(!text.contains("panicked"), "{text}");
    }
    assert!(fake.requests().iter().all(|r| r.method != "POST"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The Python reader of docs/cli.md, as written there.
fn python_reader() -> String {
    let manual =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.md")).unwrap();
    let section = manual
        .split("## Temporary tokens for any program")
        .nth(1)
        .expect("the section in docs/cli.md");
    let script = section
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a python block in the section");
    script.to_owned()
}

#[test]
fn a_python_script_that_reads_the_sink_before_each_call_works_across_rotations() {
    let Ok(python) = Command::new("python3").arg("--version").output() else {
        eprintln!("python3 is not installed: skipped");
        return;
    };
    assert!(python.status.success());
    let fake = short_lived(2);
    let dir = scratch("python");
    let sink = dir.join("sinks/token");
    let child = agent(
        &fake,
        &dir,
        &["--sink", sink.to_str().unwrap(), "--grace", "2"],
    );
    assert!(until(Duration::from_secs(10), || key_in(&sink).is_some()));
    let script = dir.join("reader.py");
    std::fs::write(&script, python_reader()).unwrap();

    // 50 calls, 0.1 s apart: about three rotations of a 2 s token.
    let mut python = Command::new("python3");
    // Python's urllib sends every call through a proxy of the environment
    // (CI sets dead ones to prove loopback calls bypass them).
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        python.env_remove(proxy);
    }
    let output = python
        .arg(&script)
        .env("NEUROIO_API_TOKEN_FILE", &sink)
        .env("NEUROIO_IAM_URL", fake.url())
        .env("CALLS", "50")
        .env("PAUSE", "0.1")
        .output()
        .unwrap();

    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let agent_output = ended(child, Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output).lines().count(), 50);
    assert!(
        stdout(&output).lines().all(|l| l == "root"),
        "{}",
        stdout(&output)
    );
    let rotations = stderr(&agent_output)
        .lines()
        .filter(|l| l.contains(" written to "))
        .count();
    assert!(rotations >= 3, "{}", stderr(&agent_output));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_command_under_exec_rotate_reading_the_file_sees_no_refusal_and_nothing_is_left() {
    let fake = short_lived(2);
    let dir = scratch("exec-rotate");
    // neuroio itself follows NEUROIO_API_TOKEN_FILE: each call reads the
    // file, and the first key (in NEUROIO_API_TOKEN) is gone by the end.
    let script = r#"
        ls -ld "$(dirname "$NEUROIO_API_TOKEN_FILE")" | cut -c1-10 > "$DIR/mode"
        printf %s "$NEUROIO_API_TOKEN_FILE" > "$DIR/file"
        i=0
        while [ $i -lt 60 ]; do
            "$NEUROIO" whoami > /dev/null || exit 9
            i=$((i + 1))
            sleep 0.05
        done
        cat "$NEUROIO_API_TOKEN_FILE" > "$DIR/last"
        NEUROIO_API_TOKEN_FILE= "$NEUROIO" whoami > /dev/null 2>&1 && exit 8
        exit 0
    "#;
    let output = with_env(&fake, &dir)
        .args(["exec", "--rotate", "--grace", "1", "--", "sh", "-c", script])
        .env("NEUROIO", BIN)
        .env("DIR", &dir)
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(dir.join("mode")).unwrap(),
        "drwx------\n"
    );
    let file = std::fs::read_to_string(dir.join("file")).unwrap();
    assert!(
        Path::new(&file).starts_with(dir.join("state/exec")),
        "{file}"
    );
    assert!(!Path::new(&file).exists(), "{file}");
    assert!(!Path::new(&file).parent().unwrap().exists(), "{file}");
    let rotations = stderr(&output)
        .lines()
        .filter(|l| l.contains(" written to "))
        .count();
    assert!(rotations >= 3, "{}", stderr(&output));
    assert!(live(&fake).is_empty(), "{:?}", live(&fake));
    assert_eq!(ledger_entries(&dir), Vec::<Value>::new());
    let last = std::fs::read_to_string(dir.join("last")).unwrap();
    assert!(!stderr(&output).contains(last.trim()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exec_rotate_passes_sigterm_on_and_still_leaves_nothing() {
    let fake = FakeIam::start().unwrap();
    let dir = scratch("exec-term");
    let child = with_env(&fake, &dir)
        .args(["exec", "--rotate", "--", "sh", "-c"])
        .arg("printf %s \"$NEUROIO_API_TOKEN_FILE\" > \"$DIR/file\"; sleep 10")
        .env("DIR", &dir)
        .spawn()
        .unwrap();
    assert!(until(Duration::from_secs(10), || dir.join("file").exists()
        && !std::fs::read_to_string(dir.join("file"))
            .unwrap()
            .is_empty()));
    let file = std::fs::read_to_string(dir.join("file")).unwrap();
    assert!(Path::new(&file).exists());
    assert_eq!(live(&fake).len(), 1);
    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let output = ended(child, Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(143), "{}", stderr(&output));
    assert!(live(&fake).is_empty());
    assert!(!Path::new(&file).parent().unwrap().exists());
    assert_eq!(ledger_entries(&dir), Vec::<Value>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plain_exec_hides_a_token_file_neuroio_was_given_from_the_command() {
    let fake = FakeIam::start().unwrap();
    let dir = scratch("exec-hide-file");
    let file = dir.join("sinks/account.token");
    std::fs::write(&file, format!("{}\n", fake.root_token())).unwrap();
    let output = with_env(&fake, &dir)
        .env_remove("NEUROIO_API_TOKEN")
        .env("NEUROIO_API_TOKEN_FILE", &file)
        .args(["exec", "--", "sh", "-c"])
        .arg("echo \"file=${NEUROIO_API_TOKEN_FILE-unset}\"; \"$NEUROIO\" auth token --format json")
        .env("NEUROIO", BIN)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("file=unset"));
    // The command runs on its own temporary token (2), not the account's.
    let token: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(token["id"], 2);
    assert!(live(&fake).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Run by the test below as the command of `exec --rotate` (the test
/// binary runs itself): a client from `from_env()` calls for a while and
/// must never be refused, although the key in NEUROIO_API_TOKEN is deleted
/// long before it ends.
#[test]
#[ignore = "the command of exec_rotate_serves_a_rust_client_built_with_from_env"]
fn rust_client_under_exec_rotate() {
    let Ok(first) = std::env::var("NEUROIO_API_TOKEN") else {
        return;
    };
    let client = neuroio::Client::from_env().unwrap();
    assert!(client.api_token_file().is_some());
    let started = Instant::now();
    let mut calls = 0;
    while started.elapsed() < Duration::from_secs(6) {
        client.whoami().unwrap();
        calls += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let frozen = neuroio::Client::builder()
        .api_token(first)
        .iam_url(std::env::var("NEUROIO_IAM_URL").unwrap())
        .build()
        .unwrap();
    let refused = frozen.whoami().unwrap_err();
    assert!(refused.is_unauthorized(), "{refused}");
    println!("CALLS {calls}");
}

#[test]
fn exec_rotate_serves_a_rust_client_built_with_from_env() {
    let fake = short_lived(2);
    let dir = scratch("exec-rust");
    let me = std::env::current_exe().unwrap();
    let output = with_env(&fake, &dir)
        .args(["exec", "--rotate", "--grace", "1", "--"])
        .arg(me)
        .args([
            "agent::rust_client_under_exec_rotate",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(stdout(&output).contains("CALLS "), "{}", stdout(&output));
    assert!(stdout(&output).contains("1 passed"), "{}", stdout(&output));
    assert!(live(&fake).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn after_kill_9_of_exec_with_or_without_rotate_tokens_reap_leaves_none() {
    let fake = FakeIam::start().unwrap();
    let dir = scratch("exec-kill9");
    for args in [
        &["exec", "--rotate", "--", "sleep", "5"][..],
        &["exec", "--", "sleep", "5"],
    ] {
        let mut child = with_env(&fake, &dir).args(args).spawn().unwrap();
        assert!(until(Duration::from_secs(10), || ledger_entries(&dir)
            .len()
            == 1));
        child.kill().unwrap();
        child.wait().unwrap();
        let left = live(&fake);
        assert_eq!(left.len(), 1);
        assert_eq!(ledger_entries(&dir)[0]["purpose"], "exec");
        // --rotate's token file, in a private folder of the state folder
        // named after its owner, is left by the kill.
        let jobs = || job_folders(&dir.join("state"));
        let rotating = args.contains(&"--rotate");
        assert_eq!(jobs().len(), usize::from(rotating), "{args:?}");
        if rotating {
            let name = jobs()[0].file_name().unwrap().to_str().unwrap().to_owned();
            assert!(name.starts_with(&format!("{}-", child.id())), "{name}");
            assert!(jobs()[0].join("token").exists());
        }
        // Another machine's (or container's) job, whose pid means nothing
        // here: left alone.
        let elsewhere = dir.join("state/exec/elsewhere-0123abcd/999999999-1-00000000000000aa");
        std::fs::create_dir_all(&elsewhere).unwrap();

        let reaped = json(
            &with_env(&fake, &dir)
                .args(["tokens", "reap"])
                .output()
                .unwrap(),
        );

        let ids: Vec<u64> = left.into_iter().collect();
        assert_eq!(reaped, json!({"reaped": ids, "kept": 0}), "{args:?}");
        assert!(live(&fake).is_empty());
        assert_eq!(jobs(), std::slice::from_ref(&elsewhere), "{args:?}");
        std::fs::remove_dir_all(elsewhere.parent().unwrap()).unwrap();
    }
    // A plain exec that ends leaves nothing in the ledger either.
    let output = with_env(&fake, &dir)
        .args(["exec", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(ledger_entries(&dir), Vec::<Value>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn many_processes_share_the_ledger_and_kill_9_at_any_moment_leaves_it_whole() {
    let fake = FakeIam::start().unwrap();
    let dir = scratch("many");
    let spawn = |args: &[&str]| with_env(&fake, &dir).args(args).spawn().unwrap();
    // Started together: 8 jobs that end on their own, 8 killed once their
    // token is recorded, 8 killed at spread moments (before the mint,
    // during it, while the ledger is written, after).
    let ending: Vec<Child> = (0..8).map(|_| spawn(&["exec", "--", "true"])).collect();
    let recorded: Vec<Child> = (0..8)
        .map(|_| spawn(&["exec", "--", "sleep", "30"]))
        .collect();
    let spread: Vec<Child> = (0..8)
        .map(|_| spawn(&["exec", "--rotate", "--", "sleep", "30"]))
        .collect();
    for (i, mut child) in spread.into_iter().enumerate() {
        std::thread::sleep(Duration::from_millis(12 * i as u64));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let pids: BTreeSet<u64> = recorded.iter().map(|c| u64::from(c.id())).collect();
    let owners = || -> BTreeSet<u64> {
        ledger_entries(&dir)
            .iter()
            .map(|e| e["pid"].as_u64().unwrap())
            .collect()
    };
    assert!(until(Duration::from_secs(20), || owners().is_superset(&pids)));
    // Their tokens, recorded while they run.
    let theirs: BTreeSet<u64> = ledger_entries(&dir)
        .iter()
        .filter(|e| pids.contains(&e["pid"].as_u64().unwrap()))
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(theirs.len(), pids.len());
    assert!(theirs.is_subset(&live(&fake)), "{theirs:?}");
    for mut child in recorded {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    for child in ending {
        let output = ended(child, Duration::from_secs(20));
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    // Whole: it reads, and every process that ended on its own forgot its
    // entry. (Another job's reap may have deleted a killed one's token
    // already, and been killed itself before it forgot the entry.)
    let entries = ledger_ids(&dir);

    let (output, reaped) = reap_now(&fake, &dir);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // Each entry reaped (deleted now, or found gone within its scope), or
    // kept because its token is gone and its scope was not learnt (a who
    // am I slower than 2 s under load) until it expires.
    assert!(reaped.is_subset(&entries), "{reaped:?} {entries:?}");
    let kept: BTreeSet<u64> = entries.difference(&reaped).copied().collect();
    assert!(kept.is_disjoint(&live(&fake)), "{kept:?}");
    assert_eq!(json(&output)["kept"], kept.len());
    assert_eq!(ledger_ids(&dir), kept);
    // What is still live was minted by a job killed between the mint's
    // answer and its ledger entry (at most one each of the spread kills),
    // the gap the manual's crash table names; never a recorded one.
    let left = live(&fake);
    assert!(left.is_disjoint(&entries), "{left:?}");
    assert!(left.is_disjoint(&theirs), "{left:?}");
    assert!(left.len() <= 8, "{left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn auth_token_prints_json_and_export_lines() {
    let fake = FakeIam::start().unwrap();
    let made = client(&fake, fake.root_token())
        .tokens()
        .create(false)
        .unwrap();
    let run_as = |_: &FakeIam, token: Option<&str>, args: &[&str]| {
        neuroio()
            .args(args)
            .env("NEUROIO_API_TOKEN", token.unwrap())
            .env("NEUROIO_IAM_URL", fake.url())
            .env_remove("NEUROIO_API_URL")
            .output()
            .unwrap()
    };
    let as_json = json(&run_as(
        &fake,
        Some(made.key.secret()),
        &["auth", "token", "--format", "json"],
    ));
    assert_eq!(
        as_json,
        json!({"id": made.id, "key": made.key.secret(),
               "expires": as_json["expires"].as_str().unwrap()})
    );
    assert!(
        as_json["expires"]
            .as_str()
            .unwrap()
            .starts_with(&made.expires.unwrap().year().to_string())
    );
    // Found in the list, never asked for by key: no path carries it.
    assert!(
        fake.requests()
            .iter()
            .all(|r| !r.path.contains(made.key.secret())),
        "{:?}",
        fake.requests()
    );
    let env = run_as(
        &fake,
        Some(made.key.secret()),
        &["auth", "token", "--format", "env"],
    );
    assert_eq!(
        stdout(&env),
        format!(
            "export NEUROIO_API_TOKEN='{}'\nexport NEUROIO_IAM_URL='{}'\nexport NEUROIO_API_URL='{}'\n",
            made.key.secret(),
            fake.url(),
            neuroio::DEFAULT_API_URL
        )
    );
    let key = run_as(&fake, Some(made.key.secret()), &["auth", "token"]);
    assert_eq!(stdout(&key), format!("{}\n", made.key.secret()));
}

#[test]
fn neuroio_api_token_file_wins_over_neuroio_api_token_and_may_hold_the_agents_json() {
    let fake = FakeIam::start().unwrap();
    let dir = scratch("token-file-env");
    let made = client(&fake, fake.root_token())
        .tokens()
        .create(false)
        .unwrap();
    let file = dir.join("sinks/token");
    for text in [
        format!("{}\n", made.key.secret()),
        format!(
            "{}\n",
            json!({"id": made.id, "key": made.key.secret(), "expires": null})
        ),
    ] {
        std::fs::write(&file, &text).unwrap();
        fake.clear_requests();
        let output = with_env(&fake, &dir)
            .env("NEUROIO_API_TOKEN", "not-the-one")
            .env("NEUROIO_API_TOKEN_FILE", &file)
            .args(["tokens", "get", &made.id.to_string()])
            .output()
            .unwrap();
        assert_eq!(json(&output)["id"], made.id);
        assert_eq!(
            fake.requests()[0].header("authorization"),
            Some(format!("Token {}", made.key.secret()).as_str())
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reap_never_deletes_a_permanent_token_and_drops_expired_entries_without_a_request() {
    let fake = FakeIam::start().unwrap();
    let dir = scratch("reap-guards");
    let sdk = fake.client_builder().build().unwrap();
    let permanent = sdk.tokens().create(true).unwrap();
    let temporary = sdk.tokens().create(false).unwrap();
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let dead = 999_999_999u32;
    let ledger = json!({"version": 1, "entries": [
        // A permanent token, as a ledger another program wrote could list.
        {"id": permanent.id, "host": fake.url(), "profile": null, "purpose": "exec",
         "pid": dead, "start": 1},
        // A temporary token whose expiry is unknown: looked up, then deleted.
        {"id": temporary.id, "host": fake.url(), "profile": null, "purpose": "exec",
         "pid": dead, "start": 1},
        // Expired an hour ago: dropped, no request.
        {"id": 777, "host": fake.url(), "profile": null, "purpose": "exec",
         "pid": dead, "start": 1, "expires": "2020-01-01T00:00:00Z"},
    ]});
    std::fs::write(state.join("ledger.json"), ledger.to_string()).unwrap();
    fake.clear_requests();

    let output = with_env(&fake, &dir)
        .args(["tokens", "reap"])
        .output()
        .unwrap();

    let answer = json(&output);
    assert_eq!(answer["reaped"], json!([temporary.id]));
    assert_eq!(answer["kept"], 1);
    assert!(
        stderr(&output).contains(&format!(
            "warning: token {} of the ledger {}/ledger.json is a permanent token, which this \
             tool never mints; it is kept for the next reap",
            permanent.id,
            state.display()
        )),
        "{}",
        stderr(&output)
    );
    let seen = seen_requests(&fake);
    assert_eq!(
        seen,
        [
            ("GET".to_owned(), format!("/v1/tokens/{}/", permanent.id)),
            ("GET".to_owned(), format!("/v1/tokens/{}/", temporary.id)),
            ("DELETE".to_owned(), format!("/v1/tokens/{}/", temporary.id)),
        ]
    );
    assert!(sdk.tokens().get(permanent.id).is_ok());
    let kept: Vec<u64> = ledger_entries(&dir)
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(kept, [permanent.id]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_state_folder_others_can_write_or_a_link_is_refused_before_anything_is_sent() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeIam::start().unwrap();
    let dir = scratch("open-state");
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    fake.clear_requests();

    for args in [
        &["tokens", "reap"][..],
        &["exec", "--", "true"],
        &[
            "agent",
            "--once",
            "--sink",
            dir.join("sinks/t").to_str().unwrap(),
        ],
    ] {
        let output = with_env(&fake, &dir).args(args).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(
            stderr(&output),
            format!(
                "error: the state folder {} has mode 0777, which lets group or others write \
                 into it; another user could change the ledger of minted tokens in it: chmod \
                 700 {}, or set NEUROIO_STATE_DIR to a folder of your own\n",
                state.display(),
                state.display()
            ),
            "{args:?}"
        );
    }
    // A link to a private folder is refused too.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    let link = dir.join("link");
    std::os::unix::fs::symlink(&state, &link).unwrap();
    let linked = with_env(&fake, &dir)
        .env("NEUROIO_STATE_DIR", &link)
        .args(["tokens", "reap"])
        .output()
        .unwrap();
    assert_eq!(linked.status.code(), Some(2));
    assert!(
        stderr(&linked).contains("is a symbolic link"),
        "{}",
        stderr(&linked)
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_refused_token_ends_the_agent_and_exec_rotate_with_exit_4() {
    let fake = FakeIam::start().unwrap();
    let dir = scratch("refused");
    let sink = dir.join("sinks/token");
    let bad = "0000000000000000000000000000000000000000";

    let agent = with_env(&fake, &dir)
        .env("NEUROIO_API_TOKEN", bad)
        .args(["agent", "--sink", sink.to_str().unwrap()])
        .spawn()
        .unwrap();
    let agent = ended(agent, Duration::from_secs(20));
    let exec = with_env(&fake, &dir)
        .env("NEUROIO_API_TOKEN", bad)
        .args(["exec", "--rotate", "--", "true"])
        .output()
        .unwrap();

    assert_eq!(agent.status.code(), Some(4), "{}", stderr(&agent));
    assert_eq!(exec.status.code(), Some(4), "{}", stderr(&exec));
    assert!(!sink.exists());
    let mints = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(mints, 2, "one mint each, then they stop");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_sink_in_a_folder_the_group_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeIam::start().unwrap();
    let dir = scratch("group-sink");
    let shared = dir.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o770)).unwrap();
    fake.clear_requests();

    let output = with_env(&fake, &dir)
        .args([
            "agent",
            "--once",
            "--sink",
            shared.join("t").to_str().unwrap(),
        ])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("can be written by group or others and has no sticky bit"),
        "{}",
        stderr(&output)
    );
    assert!(fake.requests().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tokens_whose_delete_failed_stay_in_the_ledger_so_reap_finds_them_after_kill_9() {
    // 30 s tokens renewed at 15 s: the first one replaced at 15 s is
    // still unexpired at 27 s, past the 11 s after which the agent used to
    // forget a replaced token (grace 0 + timeout 1 + 10 s).
    let fake = short_lived(30);
    let dir = scratch("undeleted");
    let sink = dir.join("sinks/token");
    // Temporary tokens that still open something: not yet expired.
    let unexpired = |fake: &FakeIam| -> BTreeSet<u64> {
        client(fake, fake.root_token())
            .tokens()
            .list_all(None)
            .unwrap()
            .iter()
            .filter(|t| !t.is_permanent() && !t.is_expired())
            .map(|t| t.id)
            .collect()
    };
    // Deletes fail for the whole run: every replaced token stays live.
    fake.inject_at(
        "DELETE",
        "/v1/tokens/*",
        neuroio::fake::Fault::status(503),
        100_000,
    );
    let mut child = agent(
        &fake,
        &dir,
        &[
            "--sink",
            sink.to_str().unwrap(),
            "--grace",
            "0",
            "--timeout",
            "1",
            "--retries",
            "0",
        ],
    );
    std::thread::sleep(Duration::from_secs(27));
    child.kill().unwrap();
    child.wait().unwrap();
    fake.clear_faults();
    let left = unexpired(&fake);
    let recorded: BTreeSet<u64> = ledger_entries(&dir)
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    // Every token that still opens something is in the ledger, the ones
    // replaced and not deleted included.
    assert!(left.len() >= 2, "{left:?}");
    assert!(
        left.is_subset(&recorded),
        "live {left:?}, recorded {recorded:?}"
    );

    let output = with_env(&fake, &dir)
        .args(["tokens", "reap"])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(unexpired(&fake).is_empty(), "{:?}", unexpired(&fake));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn when_the_ledger_cannot_be_written_the_sink_goes_once_its_token_is_deleted() {
    let fake = short_lived(3);
    let dir = scratch("ledger-broken");
    let sink = dir.join("sinks/token");
    let child = agent(
        &fake,
        &dir,
        &["--sink", sink.to_str().unwrap(), "--grace", "1"],
    );
    assert!(until(Duration::from_secs(10), || key_in(&sink).is_some()));
    // The ledger becomes unwritable: a folder where its file was.
    let ledger = dir.join("state/ledger.json");
    std::fs::remove_file(&ledger).unwrap();
    std::fs::create_dir(&ledger).unwrap();
    // The next token cannot be recorded, so it is never handed out; the
    // sink keeps the old key while it opens something, then goes.
    assert!(
        until(Duration::from_secs(15), || !sink.exists()),
        "the sink still holds a key"
    );
    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let output = ended(child, Duration::from_secs(20));
    assert_eq!(output.status.code(), Some(143), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("removed ") && stderr(&output).contains("ledger"),
        "{}",
        stderr(&output)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
