//! The ledger: every token this tool mints for a job or a sink (`exec`,
//! `agent`, the token `login` replaces), recorded before its key is handed
//! out, with the process that owns it. A token whose owner is gone (a
//! `kill -9`, a crash, a power cut) is deleted by `neuroio tokens reap`,
//! which `exec` and `agent` also run before they start.
//!
//! The ledger is one JSON file, `ledger.json`, in the state folder
//! (`$NEUROIO_STATE_DIR`, else `$XDG_STATE_HOME/neuroio`, else
//! `~/.local/state/neuroio`; mode 0700, files 0600). It holds ids, hosts,
//! profiles and owners, never a key. Concurrent processes take an OS
//! advisory lock (`flock`) on `ledger.lock` beside it for each
//! read-modify-write, then write a temporary file and rename it over the
//! ledger: the OS releases the lock of a process that dies, so a crash
//! leaves no lock behind, and a reader sees the old ledger or the new one.
//! A torn, foreign or oversized ledger is an error that names the file.
//!
//! Beside the file: who owns an entry and whether it still runs
//! ([`owner`]), which tokens could see its token ([`scope`]), the private
//! folders of jobs ([`jobs`]), and the reap ([`reap`]).

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::failure::Failure;

mod jobs;
mod owner;
mod reap;
mod scope;

pub use owner::Owner;
pub use reap::reap;
pub use scope::{SCOPE_WAIT, Scope};

/// The largest ledger read or written: [`MAX_ENTRIES`] entries of usual
/// length take under half of it; a write past it is refused, so that the
/// tool never writes a ledger it would refuse to read.
pub const MAX_LEDGER_BYTES: u64 = 4 * 1024 * 1024;

/// The most entries the ledger holds; recording one more is an error.
pub const MAX_ENTRIES: usize = 4_000;

const LEDGER_FILE: &str = "ledger.json";
const LOCK_FILE: &str = "ledger.lock";

/// One token the tool minted, and who owns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The token's id (never its key).
    pub id: u64,
    /// The IAM URL it was minted at.
    pub host: String,
    /// The profile whose token minted it; `None` for a token from the
    /// environment or a file.
    #[serde(default)]
    pub profile: Option<String>,
    /// What it was minted for: "agent", "exec", "login".
    pub purpose: String,
    /// The owner process (`pid`, `start`, `machine`, `boot` in the file).
    #[serde(flatten)]
    pub owner: Owner,
    /// When the token expires, as minted: past it, the entry is dropped
    /// without a request (an expired token opens nothing). `None` when
    /// unknown: then `reap` asks the API first, and never deletes a
    /// permanent token.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires: Option<time::OffsetDateTime>,
    /// Which tokens could see it when it was minted: `reap` counts a token
    /// the API does not find (404) as gone only when the token in use has
    /// the same scope. `None` when unknown (an older ledger, or the server
    /// did not say): such an entry is kept until its token expires.
    #[serde(default)]
    pub scope: Option<Scope>,
}

/// The file's shape: a version, so a later tool can tell an old ledger.
#[derive(Serialize, Deserialize)]
struct Document {
    version: u32,
    entries: Vec<Entry>,
}

/// The ledger of the state folder.
#[derive(Clone, Debug)]
pub struct Ledger {
    dir: PathBuf,
}

impl Entry {
    /// An entry for token `id` minted at `host` with the token of
    /// `profile` (`None`: from the environment or a file), owned by this
    /// process.
    pub fn mine(
        id: u64,
        host: &str,
        profile: Option<&str>,
        purpose: &str,
        expires: Option<time::OffsetDateTime>,
        scope: Option<Scope>,
    ) -> Entry {
        Entry {
            id,
            host: host.to_owned(),
            profile: profile.map(str::to_owned),
            purpose: purpose.to_owned(),
            owner: Owner::this_process(),
            expires,
            scope,
        }
    }
}

/// Refuses a state folder that another user could write into or swap: a
/// symbolic link, one owned by someone else (on Linux), or one that group
/// or others may write (sticky or not: its files are this user's alone).
/// Whoever can write the ledger can make `reap` delete tokens, and a link
/// there could make the tool overwrite another file.
fn check_private_folder(dir: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::MetadataExt;
    let refused = |why: String, fix: String| {
        Failure::usage(format!(
            "the state folder {} {why}; another user could change the ledger of minted \
             tokens in it: {fix}, or set NEUROIO_STATE_DIR to a folder of your own",
            shown(dir)
        ))
    };
    let metadata = std::fs::symlink_metadata(dir)
        .map_err(|e| Failure::failed(format!("cannot read {}: {e}", shown(dir))))?;
    if metadata.file_type().is_symlink() {
        return Err(refused(
            "is a symbolic link".to_owned(),
            "replace the link with the folder itself".to_owned(),
        ));
    }
    if !metadata.is_dir() {
        return Err(refused(
            "is not a folder".to_owned(),
            "remove it".to_owned(),
        ));
    }
    let mode = metadata.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(refused(
            format!("has mode {mode:04o}, which lets group or others write into it"),
            format!("chmod 700 {}", shown(dir)),
        ));
    }
    if let Some(me) = crate::lock::current_uid()
        && metadata.uid() != me
    {
        return Err(refused(
            format!(
                "belongs to user {} and not to you (user {me})",
                metadata.uid()
            ),
            format!("chown \"$(id -u)\" {}", shown(dir)),
        ));
    }
    Ok(())
}

/// The state folder: `$NEUROIO_STATE_DIR`, else `$XDG_STATE_HOME/neuroio`,
/// else `~/.local/state/neuroio`.
pub fn state_dir() -> Result<PathBuf, Failure> {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = set("NEUROIO_STATE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = set("XDG_STATE_HOME") {
        return Ok(PathBuf::from(dir).join("neuroio"));
    }
    match set("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".local/state/neuroio")),
        None => Err(Failure::usage(
            "no state folder for the ledger of minted tokens: set NEUROIO_STATE_DIR or HOME",
        )),
    }
}

impl Ledger {
    /// The ledger in the state folder, creating the folder (0700) if need be.
    pub fn open() -> Result<Ledger, Failure> {
        let dir = state_dir()?;
        Ledger::at(dir)
    }

    /// The ledger in `dir`, creating the folder (0700) if need be.
    pub fn at(dir: PathBuf) -> Result<Ledger, Failure> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| {
                Failure::failed(format!(
                    "cannot create the state folder {}: {e}; set NEUROIO_STATE_DIR to a \
                     folder of your own (it holds the ledger of minted tokens)",
                    dir.display()
                ))
            })?;
        check_private_folder(&dir)?;
        Ok(Ledger { dir })
    }

    /// The ledger file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(LEDGER_FILE)
    }

    fn error(&self, what: impl std::fmt::Display) -> Failure {
        Failure::failed(format!("the ledger {}: {what}", self.path().display()))
    }

    /// Takes the ledger's lock, waiting for other processes (for
    /// [`crate::lock::LOCK_WAIT`] at most).
    fn lock(&self) -> Result<File, Failure> {
        crate::lock::exclusive(&self.dir.join(LOCK_FILE), &self.path())
    }

    /// The entries, read under the lock.
    pub fn entries(&self) -> Result<Vec<Entry>, Failure> {
        let _lock = self.lock()?;
        self.read()
    }

    /// Reads the ledger; a missing one is empty. Called with the lock held.
    fn read(&self) -> Result<Vec<Entry>, Failure> {
        let path = self.path();
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.error(format!("cannot read it: {e}"))),
        };
        let mut bytes = Vec::new();
        file.take(MAX_LEDGER_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.error(format!("cannot read it: {e}")))?;
        if bytes.len() as u64 > MAX_LEDGER_BYTES {
            return Err(self.error(format!(
                "it is larger than {MAX_LEDGER_BYTES} bytes, more than this tool writes; \
                 move it aside (the tokens it lists expire on their own)"
            )));
        }
        let document: Document = serde_json::from_slice(&bytes).map_err(|e| {
            self.error(format!(
                "it is not a ledger this tool wrote (line {}, column {}: {}); move it aside \
                 (the tokens it lists expire on their own)",
                e.line(),
                e.column(),
                match e.classify() {
                    serde_json::error::Category::Eof => "it ends too soon",
                    serde_json::error::Category::Syntax => "not valid JSON",
                    _ => "not the fields of a ledger",
                }
            ))
        })?;
        if document.version != 1 {
            return Err(self.error(format!(
                "it is of version {}, which this tool does not know",
                document.version
            )));
        }
        if document.entries.len() > MAX_ENTRIES {
            return Err(self.error(format!("it holds more than {MAX_ENTRIES} entries")));
        }
        Ok(document.entries)
    }

    /// Writes `entries` as the ledger: a temporary file in the folder,
    /// flushed to disk, renamed over the ledger. Called with the lock held.
    fn write(&self, entries: Vec<Entry>) -> Result<(), Failure> {
        if entries.len() > MAX_ENTRIES {
            return Err(self.error(format!(
                "it would hold more than {MAX_ENTRIES} entries; run `neuroio tokens reap`"
            )));
        }
        let path = self.path();
        let temporary = self
            .dir
            .join(format!("{LEDGER_FILE}.{}.tmp", std::process::id()));
        let bytes = serde_json::to_vec_pretty(&Document {
            version: 1,
            entries,
        })
        .map_err(|e| self.error(format!("cannot encode it: {e}")))?;
        if bytes.len() as u64 > MAX_LEDGER_BYTES {
            return Err(self.error(format!(
                "it would be larger than {MAX_LEDGER_BYTES} bytes; run `neuroio tokens reap`, \
                 or move it aside (the tokens it lists expire on their own)"
            )));
        }
        let written = (|| {
            // A temporary file an earlier process of this pid left is
            // nobody's now (the lock is held): made anew, never followed.
            match std::fs::remove_file(&temporary) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            let mut file = crate::lock::private_file(&temporary, true)?;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&temporary, &path)
        })();
        written.map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            self.error(format!("cannot write it: {e}"))
        })
    }

    /// Changes the entries under the lock (read, change, write).
    pub fn update<T>(&self, change: impl FnOnce(&mut Vec<Entry>) -> T) -> Result<T, Failure> {
        let _lock = self.lock()?;
        let mut entries = self.read()?;
        let before = entries.clone();
        let result = change(&mut entries);
        if entries != before {
            self.write(entries)?;
        }
        Ok(result)
    }

    /// Records a token before its key is handed out.
    pub fn record(&self, entry: Entry) -> Result<(), Failure> {
        self.update(|entries| {
            entries.retain(|e| !(e.id == entry.id && e.host == entry.host));
            entries.push(entry);
        })
    }

    /// Forgets the tokens `ids` at `host`: deleted, or handed over.
    pub fn forget(&self, host: &str, ids: &[u64]) -> Result<(), Failure> {
        if ids.is_empty() {
            return Ok(());
        }
        self.update(|entries| entries.retain(|e| !(e.host == host && ids.contains(&e.id))))
    }
}

/// Where a ledger file is, for messages: the path, shown safely.
pub fn shown(path: &Path) -> String {
    crate::output::terminal_safe(&path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> Ledger {
        let dir =
            std::env::temp_dir().join(format!("neuroio-ledger-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Ledger::at(dir).unwrap()
    }

    fn entry(id: u64) -> Entry {
        Entry::mine(id, "http://127.0.0.1:1", None, "agent", None, None)
    }

    #[test]
    fn records_and_forgets_with_private_files() {
        let ledger = scratch("record");
        assert!(ledger.entries().unwrap().is_empty());
        ledger.record(entry(3)).unwrap();
        ledger.record(entry(4)).unwrap();
        ledger.record(entry(3)).unwrap();
        let ids: Vec<u64> = ledger.entries().unwrap().iter().map(|e| e.id).collect();
        assert_eq!(ids, [4, 3]);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ledger.dir), 0o700);
        assert_eq!(mode(&ledger.path()), 0o600);
        assert_eq!(mode(&ledger.dir.join(LOCK_FILE)), 0o600);
        ledger.forget("http://127.0.0.1:1", &[3]).unwrap();
        ledger.forget("http://elsewhere", &[4]).unwrap();
        let ids: Vec<u64> = ledger.entries().unwrap().iter().map(|e| e.id).collect();
        assert_eq!(ids, [4]);
        std::fs::remove_dir_all(&ledger.dir).unwrap();
    }

    #[test]
    fn a_torn_foreign_or_oversized_ledger_is_an_error_naming_the_file() {
        let ledger = scratch("torn");
        let path = ledger.path();
        for (bytes, says) in [
            (
                &br#"{"version": 1, "entries": [{"id": 3"#[..],
                "ends too soon",
            ),
            (b"not json", "not valid JSON"),
            (br#"{"version": 1, "entries": {}}"#, "not the fields"),
            (br#"{"version": 2, "entries": []}"#, "version 2"),
        ] {
            std::fs::write(&path, bytes).unwrap();
            let failure = ledger.entries().unwrap_err();
            assert!(
                failure.message.contains(&path.display().to_string()),
                "{}",
                failure.message
            );
            assert!(failure.message.contains(says), "{}", failure.message);
            // Recording refuses too, and leaves the file as it was.
            assert!(ledger.record(entry(1)).is_err());
            assert_eq!(std::fs::read(&path).unwrap(), bytes);
        }
        std::fs::write(&path, vec![b' '; MAX_LEDGER_BYTES as usize + 1]).unwrap();
        let failure = ledger.entries().unwrap_err();
        assert!(
            failure.message.contains("larger than"),
            "{}",
            failure.message
        );
        std::fs::remove_dir_all(&ledger.dir).unwrap();
    }

    #[test]
    fn a_full_ledger_reads_back_and_a_write_past_the_size_bound_is_refused() {
        let ledger = scratch("full");
        // The most entries, each as long as a usual one gets.
        let mut usual = entry(0);
        usual.host = "https://iam.neuroio.example.com".to_owned();
        usual.profile = Some("production-eu".to_owned());
        usual.expires = Some(time::OffsetDateTime::now_utc());
        usual.scope = Some(Scope::Account("a-user-name@example.com".to_owned()));
        ledger
            .update(|entries| {
                entries.extend((0..MAX_ENTRIES as u64).map(|id| Entry {
                    id: u64::MAX - id,
                    ..usual.clone()
                }));
            })
            .unwrap();
        assert_eq!(ledger.entries().unwrap().len(), MAX_ENTRIES);
        let size = std::fs::metadata(ledger.path()).unwrap().len();
        assert!(size <= MAX_LEDGER_BYTES / 2, "{size}");
        // Entries with very long URLs: refused before the file is touched.
        let before = std::fs::read(ledger.path()).unwrap();
        let failure = ledger
            .update(|entries| {
                for e in entries.iter_mut() {
                    e.host = format!("https://{}.example.com", "x".repeat(2_000));
                }
            })
            .unwrap_err();
        assert!(
            failure.message.contains("would be larger than"),
            "{}",
            failure.message
        );
        assert!(
            failure
                .message
                .contains(&ledger.path().display().to_string())
        );
        assert_eq!(std::fs::read(ledger.path()).unwrap(), before);
        std::fs::remove_dir_all(&ledger.dir).unwrap();
    }

    #[test]
    fn concurrent_writers_lose_no_entry() {
        let ledger = scratch("concurrent");
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let ledger = ledger.clone();
                s.spawn(move || {
                    for i in 0..10 {
                        ledger.record(entry(t * 100 + i)).unwrap();
                    }
                });
            }
        });
        assert_eq!(ledger.entries().unwrap().len(), 80);
        std::fs::remove_dir_all(&ledger.dir).unwrap();
    }
}
