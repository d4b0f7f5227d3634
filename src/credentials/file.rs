//! A credential that follows a token file: the key another program keeps
//! in a file and replaces as it rotates (a token agent, a sidecar, a
//! Kubernetes projected volume).
//!
//! The file is read when the client is built, and a file that gives no key
//! then is a [`ConfigError::TokenFile`]. From then on, at most once per
//! [`RECHECK`], one call looks at the file's stamp (size, modification time
//! and, on Unix, device, inode and change time: one `stat`, no read) and
//! reads it again only when the stamp differs from that of the last read;
//! the other calls meanwhile go on with the key they have. After a 401 the
//! file is read once more whatever its stamp, and the call is repeated once
//! if the key changed. A read that fails later (the file missing, empty,
//! oversized or half-written during a rotation) keeps the last good key:
//! the writer's next write fixes it, and a key the server refuses shows as
//! the API's 401.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, TryLockError};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;

use crate::credentials::Credential;
use crate::credentials::profile::kind_of;
use crate::error::{ConfigError, MAX_TOKEN_FILE_BYTES, TokenFileErrorKind};
use crate::secret::TokenKey;

/// How often at most a client looks whether its token file changed. A
/// writer that rotates before half a token's life (hours) is followed
/// within a second; a look costs one `stat`.
pub(crate) const RECHECK: Duration = Duration::from_secs(1);

/// A token file and the last good key read from it.
pub(crate) struct TokenFile {
    path: PathBuf,
    recheck: Duration,
    born: Instant,
    /// When the next look at the file is due, in nanoseconds since `born`:
    /// the one call that moves it on looks, the others do not wait.
    next_check: AtomicU64,
    /// One read at a time, so an older read never replaces a newer key.
    reading: Mutex<()>,
    loaded: RwLock<Loaded>,
}

/// The last good key and the stamp of the file it was read from.
struct Loaded {
    credential: Arc<Credential>,
    stamp: Stamp,
}

/// What tells that a file changed without reading it. A writer that
/// renames a new file over the old one changes the inode; one that writes
/// in place changes the size or the times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    /// Device, inode, and change time in seconds and nanoseconds.
    #[cfg(unix)]
    identity: (u64, u64, i64, i64),
}

impl Stamp {
    fn of(metadata: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            #[cfg(unix)]
            identity: (
                metadata.dev(),
                metadata.ino(),
                metadata.ctime(),
                metadata.ctime_nsec(),
            ),
        }
    }
}

/// The token agent's JSON: `{"id": N, "key": "...", "expires": "..."}`.
/// Only `key` is needed; `id` names the token in logs, and `expires` and
/// any other field are not used (the writer decides when to rotate, the
/// server when a key stops working).
#[derive(Deserialize)]
struct AgentFile {
    key: TokenKey,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl TokenFile {
    /// Reads the key from `path`, which from then on is looked at again at
    /// most once per `recheck`.
    pub(crate) fn open(path: PathBuf, recheck: Duration) -> Result<TokenFile, ConfigError> {
        let (credential, stamp, id) = read_key(&path)?;
        log::debug!(
            "token file {}: read the key{}",
            path.display(),
            of_token(id)
        );
        Ok(TokenFile {
            path,
            recheck,
            born: Instant::now(),
            next_check: AtomicU64::new(nanos(recheck)),
            reading: Mutex::new(()),
            loaded: RwLock::new(Loaded {
                credential: Arc::new(credential),
                stamp,
            }),
        })
    }

    /// The file's path, as given.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn loaded(&self) -> RwLockReadGuard<'_, Loaded> {
        // Every change under the lock is one assignment: nothing half-done.
        self.loaded.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The last good key, without looking at the file.
    pub(crate) fn key(&self) -> TokenKey {
        self.loaded().credential.key.clone()
    }

    /// The credential for the next call: the last good key, after a look
    /// at the file when one is due. The call holds it, so a key read
    /// meanwhile never changes what this call sends or blanks out.
    pub(crate) fn current(&self) -> Arc<Credential> {
        if self.claim_check() {
            self.refresh();
        }
        Arc::clone(&self.loaded().credential)
    }

    /// Whether this call is the one to look at the file now.
    fn claim_check(&self) -> bool {
        let now = nanos(self.born.elapsed());
        let due = self.next_check.load(Ordering::Acquire);
        now >= due
            && self
                .next_check
                .compare_exchange(
                    due,
                    now.saturating_add(nanos(self.recheck)),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// Reads the file again if its stamp changed; skipped when another
    /// thread is reading it right now.
    fn refresh(&self) {
        let _reading = match self.reading.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        self.reload(false);
    }

    /// After a 401 for `refused`: the key to repeat the call with, if the
    /// file (read again now, whatever its stamp) holds another one, or
    /// another thread read one since the call was sent.
    pub(crate) fn after_refusal(&self, refused: &Credential) -> Option<Arc<Credential>> {
        let _reading = self.reading.lock().unwrap_or_else(PoisonError::into_inner);
        if self.loaded().credential.key == refused.key {
            self.reload(true);
        }
        let current = Arc::clone(&self.loaded().credential);
        (current.key != refused.key).then_some(current)
    }

    /// Reads the file (`force`: even when its stamp is unchanged) and keeps
    /// its key when the read succeeds. Called with `reading` held.
    fn reload(&self, force: bool) {
        if !force
            && let Ok(metadata) = std::fs::metadata(&self.path)
            && Stamp::of(&metadata) == self.loaded().stamp
        {
            return;
        }
        match read_key(&self.path) {
            Ok((credential, stamp, id)) => {
                let mut loaded = self.loaded.write().unwrap_or_else(PoisonError::into_inner);
                if credential.key != loaded.credential.key {
                    log::debug!(
                        "token file {}: read a new key{}",
                        self.path.display(),
                        of_token(id)
                    );
                    loaded.credential = Arc::new(credential);
                }
                loaded.stamp = stamp;
            }
            // Likely mid-rotation; a stamp not taken means the next look
            // reads the file again.
            Err(err) => log::debug!("{err}; calls go on with the key read before"),
        }
    }
}

/// " (token <id>)" for a log line, when the agent's JSON named the token.
fn of_token(id: Option<u64>) -> String {
    id.map(|id| format!(" (token {id})")).unwrap_or_default()
}

/// Reads and checks the key in the file at `path`, with the stamp of the
/// file read and the token id its JSON gave, if any.
fn read_key(path: &Path) -> Result<(Credential, Stamp, Option<u64>), ConfigError> {
    let fail = |kind, detail: Option<&str>| ConfigError::token_file(path, kind, detail);
    let io = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            fail(TokenFileErrorKind::Missing, None)
        } else {
            fail(TokenFileErrorKind::Unreadable, Some(&e.to_string()))
        }
    };
    let regular = |metadata: &std::fs::Metadata| {
        if metadata.is_file() {
            Ok(())
        } else {
            Err(fail(
                TokenFileErrorKind::NotAFile,
                Some(kind_of(metadata.file_type())),
            ))
        }
    };
    // Opening a named pipe blocks until a writer comes, and a device may
    // never end: only a regular file (or a link to one) is opened.
    regular(&std::fs::metadata(path).map_err(io)?)?;
    let file = std::fs::File::open(path).map_err(io)?;
    // Checked again on what was opened, in case the path changed.
    let opened = file.metadata().map_err(io)?;
    regular(&opened)?;
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(fail(TokenFileErrorKind::TooLarge, None));
    }
    let (key, id) = parse(&bytes).map_err(|(kind, detail)| fail(kind, detail.as_deref()))?;
    let credential = Credential::new(key).map_err(|err| match err {
        ConfigError::InvalidApiToken(why) => fail(TokenFileErrorKind::InvalidKey, Some(why)),
        other => other,
    })?;
    Ok((credential, Stamp::of(&opened), id))
}

/// The key in a token file's bytes: the text without surrounding
/// whitespace, or the `key` of the token agent's JSON when the text starts
/// with `{`. No error quotes the text: it may be a key.
fn parse(bytes: &[u8]) -> Result<(TokenKey, Option<u64>), (TokenFileErrorKind, Option<String>)> {
    let malformed = |detail: String| (TokenFileErrorKind::Malformed, Some(detail));
    let text = std::str::from_utf8(bytes).map_err(|e| {
        malformed(format!(
            "is not UTF-8 text (byte {} is not)",
            e.valid_up_to()
        ))
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err((TokenFileErrorKind::Empty, None));
    }
    if !text.starts_with('{') {
        return Ok((TokenKey::from(text), None));
    }
    let agent: AgentFile = serde_json::from_str(text).map_err(|e| {
        // serde's message may quote the value it choked on: say only where.
        let what = match e.classify() {
            serde_json::error::Category::Data => "JSON without a \"key\" string",
            _ => "not valid JSON",
        };
        malformed(format!(
            "starts with {{ but is {what} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    Ok((
        agent.key,
        agent.id.as_ref().and_then(serde_json::Value::as_u64),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "4f1c0d3e9a7b2c5d8e6f0a1b2c3d4e5f6a7b8c9d";

    fn kind(bytes: &[u8]) -> TokenFileErrorKind {
        parse(bytes).err().unwrap().0
    }

    #[test]
    fn plain_text_is_the_key_without_surrounding_whitespace() {
        for text in [KEY.to_owned(), format!("{KEY}\n"), format!("  {KEY}\r\n\n")] {
            let (key, id) = parse(text.as_bytes()).unwrap();
            assert_eq!((key.secret(), id), (KEY, None), "{text:?}");
        }
    }

    #[test]
    fn the_agents_json_gives_its_key_and_id() {
        let json =
            format!(r#"{{"id": 17, "key": "{KEY}", "expires": "2026-12-08T10:00:00Z", "new": 1}}"#);
        let (key, id) = parse(format!("{json}\n").as_bytes()).unwrap();
        assert_eq!((key.secret(), id), (KEY, Some(17)));
        let (key, id) = parse(format!(r#"{{"key": "{KEY}"}}"#).as_bytes()).unwrap();
        assert_eq!((key.secret(), id), (KEY, None));
    }

    #[test]
    fn empty_broken_and_keyless_files_are_told_apart_without_quoting_them() {
        assert_eq!(kind(b""), TokenFileErrorKind::Empty);
        assert_eq!(kind(b" \n\t\n"), TokenFileErrorKind::Empty);
        for (bytes, says) in [
            (&b"\xff\xfeabc"[..], "is not UTF-8 text"),
            (br#"{"key": "s3cr3t-key"#, "not valid JSON (line 1"),
            (
                br#"{"id": 3, "token": "s3cr3t-key"}"#,
                "JSON without a \"key\" string",
            ),
            (br#"{"key": 12345678}"#, "JSON without a \"key\" string"),
        ] {
            let (kind, detail) = parse(bytes).err().unwrap();
            let detail = detail.unwrap();
            assert_eq!(kind, TokenFileErrorKind::Malformed, "{detail}");
            assert!(detail.contains(says), "{detail}");
            assert!(
                !detail.contains("s3cr3t") && !detail.contains("12345678"),
                "{detail}"
            );
        }
    }

    /// A file in a folder of its own under the system's temporary folder.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("neuroio-file-unit-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("token")
    }

    fn replace(path: &Path, text: &str) {
        let temporary = path.with_extension("new");
        std::fs::write(&temporary, text).unwrap();
        std::fs::rename(&temporary, path).unwrap();
    }

    #[test]
    fn a_change_is_seen_at_the_next_look_and_a_failed_read_keeps_the_last_key() {
        let path = scratch("follow");
        replace(&path, "first-key\n");
        let file = TokenFile::open(path.clone(), Duration::from_millis(50)).unwrap();
        replace(&path, "second-key\n");
        // Not yet due: the key read at open.
        assert_eq!(file.current().key, "first-key");
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(file.current().key, "second-key");
        // Mid-rotation the file is gone, then empty: the last good key stays.
        std::fs::remove_file(&path).unwrap();
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(file.current().key, "second-key");
        replace(&path, "");
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(file.current().key, "second-key");
        replace(&path, "third-key");
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(file.current().key, "third-key");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn after_a_refusal_the_file_is_read_whatever_its_stamp() {
        let path = scratch("refused");
        replace(&path, "first-key");
        // Never due on its own within the test.
        let file = TokenFile::open(path.clone(), Duration::from_secs(3600)).unwrap();
        let refused = file.current();
        assert!(file.after_refusal(&refused).is_none(), "the same key");
        replace(&path, "second-key");
        assert_eq!(file.current().key, "first-key", "not due yet");
        let again = file.after_refusal(&refused).unwrap();
        assert_eq!(again.key, "second-key");
        // A call that still held the old key moves on without a read.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(file.after_refusal(&refused).unwrap().key, "second-key");
        // Refused with the newest key too, and the file gone: nothing to repeat with.
        assert!(file.after_refusal(&again).is_none());
        assert_eq!(file.key(), "second-key");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn one_look_per_interval_whatever_the_threads() {
        let path = scratch("claims");
        replace(&path, "first-key");
        let file = TokenFile::open(path.clone(), Duration::from_secs(3600)).unwrap();
        // Due at once: exactly one of many claims wins.
        file.next_check.store(0, Ordering::Release);
        let won = std::thread::scope(|s| {
            let claims: Vec<_> = (0..8).map(|_| s.spawn(|| file.claim_check())).collect();
            claims
                .into_iter()
                .filter_map(|claim| claim.join().ok())
                .filter(|won| *won)
                .count()
        });
        assert_eq!(won, 1);
        assert!(!file.claim_check());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
