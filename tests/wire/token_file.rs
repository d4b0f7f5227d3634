//! A client that follows a token file (`ClientBuilder::api_token_file`,
//! `NEUROIO_API_TOKEN_FILE`): the `Authorization` header of every request
//! seen, in order, as the file changes under the client; the one repeat
//! after a 401; and the errors of a file that gives no key.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mockito::{Matcher, Mock, Server, ServerGuard};
use neuroio::{Client, ConfigError, Error, MAX_TOKEN_FILE_BYTES, TokenFileErrorKind};

use crate::support::{
    TEMPORARY, USER_AGENT, assert_hides, assert_temporary, assert_untouched, catch_all, env_lock,
};

const KEY_A: &str = "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111";
const KEY_B: &str = "bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222";

/// Longer than the client waits between two looks at the file (1 s).
const PAST_RECHECK: Duration = Duration::from_millis(1300);

/// A folder of its own for one test's token file, removed on drop.
struct Folder(PathBuf);

impl Folder {
    fn new(test: &str) -> Folder {
        let dir = std::env::temp_dir().join(format!(
            "neuroio-wire-token-file-{}-{test}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Folder(dir)
    }

    fn token(&self) -> PathBuf {
        self.0.join("api.token")
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Replaces the file as a token agent does: a temporary file in the same
/// folder, renamed over it.
fn replace(path: &Path, text: &str) {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// A server for `GET /v1/tokens/17/` that accepts the keys in `accepted`
/// (200 with the temporary-token fixture) and refuses others (401, with a
/// body that echoes every `Authorization` header it got so far, as a
/// careless gateway might), and records every `Authorization` header.
struct Gate {
    server: ServerGuard,
    accepted: Arc<Mutex<Vec<&'static str>>>,
    seen: Arc<Mutex<Vec<String>>>,
    _mock: Mock,
    unexpected: Vec<Mock>,
}

fn authorization(request: &mockito::Request) -> String {
    request
        .header("authorization")
        .first()
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

impl Gate {
    fn new(accepted: &[&'static str]) -> Gate {
        let mut server = Server::new();
        let unexpected = catch_all(&mut server);
        let accepted = Arc::new(Mutex::new(accepted.to_vec()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let admits = {
            let accepted = Arc::clone(&accepted);
            move |request: &mockito::Request| {
                let header = authorization(request);
                let key = header.strip_prefix("Token ").unwrap_or_default();
                accepted.lock().unwrap().contains(&key)
            }
        };
        let admits_too = admits.clone();
        let records = Arc::clone(&seen);
        let recorded = Arc::clone(&seen);
        let mock = server
            .mock("GET", "/v1/tokens/17/")
            .match_query(Matcher::Missing)
            .match_header("user-agent", USER_AGENT)
            .match_header("accept", "application/json")
            .match_body(Matcher::Exact(String::new()))
            .with_status_code_from_request(move |request| {
                records.lock().unwrap().push(authorization(request));
                if admits(request) { 200 } else { 401 }
            })
            .with_body_from_request(move |request| {
                if admits_too(request) {
                    TEMPORARY.as_bytes().to_vec()
                } else {
                    let echo = recorded.lock().unwrap().join(", ");
                    format!(
                        r#"{{"error_codes": [401], "message": "Invalid token; seen: {echo}.", "fields": []}}"#
                    )
                    .into_bytes()
                }
            })
            .expect_at_least(1)
            .create();
        Gate {
            server,
            accepted,
            seen,
            _mock: mock,
            unexpected,
        }
    }

    /// A client of this server following the token file at `path`, one
    /// attempt per call (the repeat after a 401 is not a retry).
    fn client(&self, path: &Path) -> Client {
        Client::builder()
            .api_token_file(path)
            .iam_url(self.server.url())
            .max_retries(0)
            .build()
            .expect("a client following the token file")
    }

    fn accept(&self, keys: &[&'static str]) {
        *self.accepted.lock().unwrap() = keys.to_vec();
    }

    /// The `Authorization` headers seen so far, as the keys they carry.
    fn seen(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|h| h.strip_prefix("Token ").unwrap_or(h).to_owned())
            .collect()
    }

    fn finish(self) {
        assert_untouched(&self.unexpected);
    }
}

#[test]
fn the_authorization_header_follows_the_file_after_the_recheck_interval() {
    let folder = Folder::new("follows");
    let path = folder.token();
    replace(&path, &format!("{KEY_A}\n"));
    let gate = Gate::new(&[KEY_A, KEY_B]);
    let built = Instant::now();
    let client = gate.client(&path);
    assert_temporary(&client.tokens().get(17).unwrap());
    replace(&path, &format!("{KEY_B}\n"));
    // Within the second after build the file is not looked at: the key
    // read at build is sent.
    assert_temporary(&client.tokens().get(17).unwrap());
    assert!(
        built.elapsed() < Duration::from_millis(900),
        "too slow for this test"
    );
    std::thread::sleep(PAST_RECHECK);
    assert_temporary(&client.tokens().get(17).unwrap());
    // A clone shares the file and what was read from it.
    assert_temporary(&client.clone().tokens().get(17).unwrap());
    assert_eq!(gate.seen(), [KEY_A, KEY_A, KEY_B, KEY_B]);
    gate.finish();
}

#[test]
fn a_401_reads_the_file_again_and_repeats_the_call_once_with_the_new_key() {
    let folder = Folder::new("repeat");
    let path = folder.token();
    replace(&path, KEY_A);
    let gate = Gate::new(&[KEY_A]);
    let client = gate.client(&path);
    assert_temporary(&client.tokens().get(17).unwrap());
    // The agent rotates and deletes the old token at once, before the
    // client's next look at the file.
    replace(&path, KEY_B);
    gate.accept(&[KEY_B]);
    assert_temporary(&client.tokens().get(17).unwrap());
    assert_eq!(gate.seen(), [KEY_A, KEY_A, KEY_B], "one 401, one repeat");
    // From then on the new key, at once.
    assert_temporary(&client.tokens().get(17).unwrap());
    assert_eq!(gate.seen(), [KEY_A, KEY_A, KEY_B, KEY_B]);
    gate.finish();
}

#[test]
fn a_401_with_the_file_unchanged_is_returned_without_a_repeat() {
    let folder = Folder::new("unchanged");
    let path = folder.token();
    replace(&path, &format!("{KEY_A}\n"));
    let gate = Gate::new(&[]);
    let client = gate.client(&path);
    let err = client.tokens().get(17).unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert_eq!(gate.seen(), [KEY_A], "exactly one request");
    // The server echoed the key: no text of the error shows it.
    assert_hides(&err, &[KEY_A]);
    gate.finish();
}

#[test]
fn a_repeat_refused_too_is_returned_and_hides_both_keys() {
    let folder = Folder::new("refused-twice");
    let path = folder.token();
    replace(&path, KEY_A);
    let gate = Gate::new(&[]);
    let client = gate.client(&path);
    replace(&path, KEY_B);
    let err = client.tokens().get(17).unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert_eq!(gate.seen(), [KEY_A, KEY_B], "one repeat, no more");
    assert_hides(&err, &[KEY_A, KEY_B]);
    gate.finish();
}

#[test]
fn a_file_gone_or_broken_mid_rotation_keeps_the_last_good_key() {
    let folder = Folder::new("mid-rotation");
    let path = folder.token();
    replace(&path, KEY_A);
    let gate = Gate::new(&[KEY_A]);
    let client = gate.client(&path);
    std::fs::remove_file(&path).unwrap();
    std::thread::sleep(PAST_RECHECK);
    // Looked at, missing: the key read before is sent.
    assert_temporary(&client.tokens().get(17).unwrap());
    replace(&path, "");
    std::thread::sleep(PAST_RECHECK);
    assert_temporary(&client.tokens().get(17).unwrap());
    replace(&path, r#"{"id": 17, "key": "#);
    std::thread::sleep(PAST_RECHECK);
    assert_temporary(&client.tokens().get(17).unwrap());
    // The old token deleted while the file is still broken: the 401 reads
    // the file again, finds no key, and is returned as it is.
    gate.accept(&[KEY_B]);
    assert!(client.tokens().get(17).unwrap_err().is_unauthorized());
    // The writer finishes: the next 401 finds the new key and repeats.
    replace(&path, &format!("{{\"id\": 18, \"key\": \"{KEY_B}\"}}\n"));
    assert_temporary(&client.tokens().get(17).unwrap());
    assert_eq!(gate.seen(), [KEY_A, KEY_A, KEY_A, KEY_A, KEY_A, KEY_B]);
    gate.finish();
}

#[test]
fn the_token_agents_json_is_read_for_its_key() {
    let folder = Folder::new("json");
    let path = folder.token();
    replace(
        &path,
        &format!(
            "{{\"id\": 17, \"key\": \"{KEY_A}\", \"expires\": \"2026-12-08T10:37:51.433563+00:00\"}}\n"
        ),
    );
    let gate = Gate::new(&[KEY_A]);
    let client = gate.client(&path);
    assert_temporary(&client.tokens().get(17).unwrap());
    assert_eq!(gate.seen(), [KEY_A]);
    gate.finish();
}

/// The token file error of `result`: its kind, after checking that it
/// names `path` in its message and shows none of `hidden`.
fn token_file_error(
    result: neuroio::Result<Client>,
    path: &Path,
    hidden: &[&str],
) -> TokenFileErrorKind {
    let err = match result {
        Err(err) => err,
        Ok(client) => panic!("expected a token file error, got {client:?}"),
    };
    let Error::Config(ConfigError::TokenFile {
        path: named, kind, ..
    }) = &err
    else {
        panic!("expected a token file error, got {err:?}");
    };
    assert_eq!(named, path);
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("token file {}: ", path.display())),
        "{shown}"
    );
    assert_hides(&err, hidden);
    *kind
}

#[test]
fn a_file_that_gives_no_key_fails_build_naming_the_path_and_sends_nothing() {
    let folder = Folder::new("no-key");
    let path = folder.token();
    let mut server = Server::new();
    let unexpected = catch_all(&mut server);
    let build = || {
        Client::builder()
            .api_token_file(&path)
            .iam_url(server.url())
            .build()
    };

    assert_eq!(
        token_file_error(build(), &path, &[]),
        TokenFileErrorKind::Missing
    );
    assert!(build().unwrap_err().to_string().contains("does not exist"));
    for blank in ["", "\n", "  \r\n\t"] {
        replace(&path, blank);
        assert_eq!(
            token_file_error(build(), &path, &[]),
            TokenFileErrorKind::Empty,
            "{blank:?}"
        );
    }
    let oversized = "a".repeat(MAX_TOKEN_FILE_BYTES as usize + 1);
    replace(&path, &oversized);
    assert_eq!(
        token_file_error(build(), &path, &[]),
        TokenFileErrorKind::TooLarge
    );
    // At the bound exactly it is read: a key the header can carry is the
    // server's to judge.
    replace(&path, &oversized[1..]);
    build().expect("a file of exactly the bound is read");
    for (text, kind) in [
        (
            format!("{KEY_A}\n{KEY_B}\n"),
            TokenFileErrorKind::InvalidKey,
        ),
        (
            format!("{{\"id\": 1, \"token\": \"{KEY_A}\"}}"),
            TokenFileErrorKind::Malformed,
        ),
        (
            format!("{{\"key\": \"{KEY_A}\""),
            TokenFileErrorKind::Malformed,
        ),
        (
            format!("{{\"key\": \"{KEY_A} x\"}}"),
            TokenFileErrorKind::InvalidKey,
        ),
    ] {
        replace(&path, &text);
        assert_eq!(
            token_file_error(build(), &path, &[KEY_A, KEY_B]),
            kind,
            "{text:?}"
        );
    }
    std::fs::write(&path, b"\xff\xfe\x00k").unwrap();
    assert_eq!(
        token_file_error(build(), &path, &[]),
        TokenFileErrorKind::Malformed
    );
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    assert_eq!(
        token_file_error(build(), &path, &[]),
        TokenFileErrorKind::NotAFile
    );
    assert!(build().unwrap_err().to_string().contains("is a directory"));
    assert_untouched(&unexpected);
}

#[test]
fn the_last_of_api_token_and_api_token_file_counts_and_a_renewing_client_mints_with_the_file() {
    let folder = Folder::new("precedence");
    let path = folder.token();
    // Not read: the token given after it counts.
    let client = Client::builder()
        .api_token_file(&path)
        .api_token("abcd")
        .build()
        .unwrap();
    assert!(format!("{client:?}").contains("api_token_file: None"));
    assert_eq!(client.api_token_file(), None);
    let result = Client::builder()
        .api_token("abcd")
        .api_token_file(&path)
        .build();
    assert_eq!(
        token_file_error(result, &path, &[]),
        TokenFileErrorKind::Missing
    );
    replace(&path, KEY_A);
    // With renewing: the file is the parent, read at build and followed.
    let renewing = Client::builder()
        .api_token_file(&path)
        .renewing(Duration::from_secs(3600))
        .build()
        .unwrap();
    assert_eq!(renewing.api_token_file(), Some(path.as_path()));
    let shown = format!("{renewing:?}");
    assert!(shown.contains("renewing: true"), "{shown}");
    assert!(!shown.contains(KEY_A), "{shown}");
    // A missing parent file is the same typed error as for any client.
    let missing = folder.0.join("missing.token");
    let result = Client::builder()
        .api_token_file(&missing)
        .renewing(Duration::from_secs(3600))
        .build();
    assert_eq!(
        token_file_error(result, &missing, &[]),
        TokenFileErrorKind::Missing
    );
    // Debug names the file, never its key.
    let builder = Client::builder().api_token_file(&path);
    let client = builder.clone().build().unwrap();
    assert_eq!(client.api_token_file(), Some(path.as_path()));
    for shown in [format!("{builder:?}"), format!("{client:?} {client:#?}")] {
        assert!(shown.contains(&path.display().to_string()), "{shown}");
        assert!(!shown.contains(KEY_A), "{shown}");
    }
}

#[test]
fn from_env_prefers_neuroio_api_token_file_to_neuroio_api_token() {
    let _env = env_lock();
    let folder = Folder::new("from-env");
    let path = folder.token();
    replace(&path, KEY_B);
    let gate = Gate::new(&[KEY_A, KEY_B]);
    // SAFETY: every test of this binary that reads or writes these
    // variables holds `env_lock`.
    unsafe {
        std::env::remove_var("NEUROIO_API_URL");
        std::env::set_var("NEUROIO_IAM_URL", gate.server.url());
        std::env::set_var("NEUROIO_API_TOKEN", KEY_A);
        std::env::set_var("NEUROIO_API_TOKEN_FILE", &path);
    }
    let from_file = Client::from_env().unwrap();
    from_file.tokens().get(17).unwrap();
    // Blank counts as unset.
    unsafe { std::env::set_var("NEUROIO_API_TOKEN_FILE", "") };
    let from_variable = Client::from_env().unwrap();
    from_variable.tokens().get(17).unwrap();
    // A file that gives no key is an error, not a quiet fall back to the
    // variable.
    let missing = folder.0.join("missing.token");
    unsafe { std::env::set_var("NEUROIO_API_TOKEN_FILE", &missing) };
    let kind = token_file_error(Client::from_env(), &missing, &[KEY_A]);
    unsafe {
        std::env::remove_var("NEUROIO_API_TOKEN");
        std::env::remove_var("NEUROIO_API_TOKEN_FILE");
        std::env::remove_var("NEUROIO_IAM_URL");
    }
    assert_eq!(kind, TokenFileErrorKind::Missing);
    assert_eq!(gate.seen(), [KEY_B, KEY_A]);
    gate.finish();
}
