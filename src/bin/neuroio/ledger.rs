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

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::failure::Failure;

/// The largest ledger read: far more than [`MAX_ENTRIES`] entries take.
pub const MAX_LEDGER_BYTES: u64 = 1024 * 1024;

/// The most entries the ledger holds; recording one more is an error.
pub const MAX_ENTRIES: usize = 10_000;

const LEDGER_FILE: &str = "ledger.json";
const LOCK_FILE: &str = "ledger.lock";

/// The folder, in the state folder, of the jobs' private folders (`exec
/// --rotate`'s token file).
const JOBS_FOLDER: &str = "exec";

/// The most job folders one reap looks at.
const MAX_JOB_FOLDERS_SWEPT: usize = 1_000;

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

/// The tokens a token sees and mints: those of its account, or, for a
/// space token, those of its space. The API answers 404 for a token of
/// another scope, as for one that is gone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// An account token's, named by the account's user.
    Account(String),
    /// A space token's, named by the space's id.
    Space(u64),
}

impl Scope {
    /// The scope `who am I` describes: the account when it names a user,
    /// else the space; `None` when it names neither.
    pub fn of(me: &neuroio::Whoami) -> Option<Scope> {
        match (me.username(), me.space()) {
            (Some(user), _) => Some(Scope::Account(user.to_owned())),
            (None, Some(space)) => Some(Scope::Space(space.id)),
            (None, None) => None,
        }
    }

    /// The scope of `client`'s token, asked of the API (one `who am I`)
    /// and waited for `limit` at most, or until `stop` is set: the call
    /// runs on a thread of its own, so a slow answer delays nothing past
    /// either. `None` when the call fails or is late: the entries it marks
    /// are then kept until their tokens expire, never counted as gone on a
    /// guess.
    pub fn of_client(
        client: &neuroio::Client,
        limit: std::time::Duration,
        stop: Option<&std::sync::atomic::AtomicBool>,
    ) -> Option<Scope> {
        use std::sync::atomic::Ordering;
        const SLICE: std::time::Duration = std::time::Duration::from_millis(20);
        let client = client.clone();
        let (answer, answered) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = answer.send(client.whoami().ok().as_ref().and_then(Scope::of));
        });
        let deadline = std::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match answered.recv_timeout(left.min(SLICE)) {
                Ok(scope) => return scope,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
            if left.is_zero() || stop.is_some_and(|stop| stop.load(Ordering::Acquire)) {
                return None;
            }
        }
    }
}

/// How long a command waits for the scope of the token in use before it
/// mints (`exec`, `agent --once`): past it, the entry's scope is unknown.
pub const SCOPE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

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

/// The process that owns a token: a pid is only known on its own machine
/// and boot, so both are recorded with it (a state folder may be shared
/// by machines, as a home folder on NFS is).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    /// The process's start time (Linux: clock ticks after boot), so that
    /// another process given the same pid is not taken for the owner.
    #[serde(default)]
    pub start: Option<u64>,
    /// The machine's host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// The machine's boot (Linux: `/proc/sys/kernel/random/boot_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot: Option<String>,
}

/// This machine's host name, once.
pub fn this_machine() -> Option<&'static str> {
    static MACHINE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    MACHINE
        .get_or_init(|| {
            let name = nix::unistd::gethostname().ok()?.into_string().ok()?;
            (!name.is_empty()).then_some(name)
        })
        .as_deref()
}

/// This boot of the machine, once (Linux only).
fn this_boot() -> Option<&'static str> {
    static BOOT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    BOOT.get_or_init(|| {
        let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let id = id.trim();
        (!id.is_empty() && id.len() <= 64).then(|| id.to_owned())
    })
    .as_deref()
}

impl Owner {
    /// This process.
    pub fn this_process() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start: start_time(pid),
            machine: this_machine().map(str::to_owned),
            boot: this_boot().map(str::to_owned),
        }
    }

    /// Whether this owner may still run: a process of another machine is
    /// taken to (this one cannot tell; its entry waits for its token's
    /// expiry or a reap there); one of an earlier boot of this machine has
    /// ended; else its pid is live and, where the start time is known,
    /// was started when the owner was.
    pub fn alive(&self) -> bool {
        if let (Some(machine), Some(here)) = (self.machine.as_deref(), this_machine())
            && machine != here
        {
            return true;
        }
        if let (Some(boot), Some(now)) = (self.boot.as_deref(), this_boot())
            && boot != now
        {
            return false;
        }
        let Ok(pid) = i32::try_from(self.pid) else {
            return false;
        };
        if pid <= 0 {
            return false;
        }
        match (self.start, start_time(self.pid)) {
            (Some(recorded), Some(now)) => recorded == now,
            (Some(_), None) if cfg!(target_os = "linux") => false,
            _ => {
                // No start time to compare: the pid alone.
                use nix::errno::Errno;
                match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
                    Ok(()) | Err(Errno::EPERM) => true,
                    Err(_) => false,
                }
            }
        }
    }
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

/// The start time of process `pid` (field 22 of `/proc/PID/stat`, read
/// after the last `)` since the command name may hold spaces and
/// parentheses); `None` where there is no `/proc`.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // A zombie has ended; only its parent has not collected its status:
    // it owns nothing any more.
    if fields.next()? == "Z" {
        return None;
    }
    // After the name come field 3 (state) onwards: field 22 is the 20th.
    fields.nth(18)?.parse().ok()
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

    /// The folder of this machine's job folders: `exec/HOST` in the state
    /// folder (a state folder may be shared by machines, and a pid means
    /// something only on its own).
    fn jobs(&self) -> PathBuf {
        let machine: String = this_machine()
            .unwrap_or("unknown-machine")
            .chars()
            .take(64)
            .map(|c| match c {
                'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '.' => c,
                _ => '_',
            })
            .collect();
        let machine = if machine.starts_with('.') {
            format!("_{machine}")
        } else {
            machine
        };
        self.dir.join(JOBS_FOLDER).join(machine)
    }

    /// A new folder only this user can enter (0700) for a job of this
    /// process, in `exec/HOST/` of the state folder: named after its owner
    /// (`PID-START-RANDOM`), so that a reap on this machine removes it once
    /// the owner is gone, as after a `kill -9`.
    pub fn job_folder(&self) -> Result<PathBuf, Failure> {
        let jobs = self.jobs();
        let cannot = |e: std::io::Error| {
            Failure::failed(format!(
                "cannot create a private folder in {}: {e}",
                shown(&jobs)
            ))
        };
        for folder in [self.dir.join(JOBS_FOLDER), jobs.clone()] {
            match std::fs::DirBuilder::new().mode(0o700).create(&folder) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(cannot(e)),
                _ => check_private_folder(&folder)?,
            }
        }
        let owner = Owner::this_process();
        for _ in 0..16 {
            let name = format!(
                "{}-{}-{:016x}",
                owner.pid,
                owner.start.unwrap_or(0),
                fastrand::u64(..)
            );
            let folder = jobs.join(name);
            match std::fs::DirBuilder::new().mode(0o700).create(&folder) {
                Ok(()) => return Ok(folder),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(cannot(e)),
            }
        }
        Err(cannot(std::io::Error::other("every name tried was taken")))
    }

    /// Removes this machine's job folders whose owner is gone (at most
    /// [`MAX_JOB_FOLDERS_SWEPT`] looked at): what a killed `exec --rotate`
    /// left, a token file whose token `reap` deletes.
    fn sweep_job_folders(&self) {
        let Ok(folders) = std::fs::read_dir(self.jobs()) else {
            return;
        };
        for folder in folders.take(MAX_JOB_FOLDERS_SWEPT).flatten() {
            let name = folder.file_name();
            let mut parts = name.to_str().unwrap_or_default().split('-');
            let (Some(pid), Some(start)) = (
                parts.next().and_then(|p| p.parse::<u32>().ok()),
                parts.next().and_then(|s| s.parse::<u64>().ok()),
            ) else {
                continue;
            };
            let owner = Owner {
                pid,
                start: (start != 0).then_some(start),
                ..Owner::this_process()
            };
            let is_folder = folder.file_type().is_ok_and(|t| t.is_dir());
            if is_folder && !owner.alive() {
                let _ = std::fs::remove_dir_all(folder.path());
            }
        }
    }

    /// Forgets the tokens `ids` at `host`: deleted, or handed over.
    pub fn forget(&self, host: &str, ids: &[u64]) -> Result<(), Failure> {
        if ids.is_empty() {
            return Ok(());
        }
        self.update(|entries| entries.retain(|e| !(e.host == host && ids.contains(&e.id))))
    }
}

/// What a reap did: the tokens deleted (or found gone), and how many
/// entries the ledger keeps.
#[derive(Debug, Serialize)]
pub struct Reaped {
    pub reaped: Vec<u64>,
    pub kept: usize,
}

/// How long one reap may take, all its requests together: it runs before
/// `exec` starts a job, which must not wait on a server that hangs.
const REAP_BUDGET: std::time::Duration = std::time::Duration::from_secs(15);

/// Deletes, with `client` (the token in use), the ledger's tokens whose
/// owner is gone and that were minted at the client's IAM URL with the
/// token of the same profile (`profile`; `None` for a token from the
/// environment or a file).
///
/// - An entry past its token's expiry is dropped without a request.
/// - An entry whose expiry is unknown is looked up first: a permanent
///   token is never deleted (the tool mints none), only kept and said.
/// - A token the API does not find (404) counts as reaped when the token
///   in use has the scope the entry records (asked once, with `who am I`):
///   it is gone. Of another scope, or of an unknown one, it may be a token
///   the token in use cannot see, and its entry stays until the token's
///   expiry.
/// - The tokens of a space, when the token in use is an account's, are
///   deleted with a temporary token of that space, made for the purpose
///   (recorded in the ledger too), and deleted last.
/// - Entries of another host or profile, of a live owner, or whose delete
///   failed stay, and are counted in `kept`; each failure is said on
///   standard error. Past [`REAP_BUDGET`] the rest wait for the next reap.
/// - The job folders of owners that are gone are removed first.
///
/// The lock is not held during the requests.
pub fn reap(
    ledger: &Ledger,
    client: &neuroio::Client,
    profile: Option<&str>,
) -> Result<Reaped, Failure> {
    ledger.sweep_job_folders();
    let host = client.iam_url().to_owned();
    let now = time::OffsetDateTime::now_utc();
    let expired = |e: &Entry| e.expires.is_some_and(|at| at <= now);
    let orphans: Vec<Entry> = ledger
        .entries()?
        .into_iter()
        .filter(|e| {
            !expired(e) && e.host == host && e.profile.as_deref() == profile && !e.owner.alive()
        })
        .collect();
    let mut reaper = Reaper {
        ledger,
        client,
        profile,
        started: std::time::Instant::now(),
        scope: None,
        reaped: Vec::with_capacity(orphans.len()),
    };
    // The tokens of each space, when only a token of the space sees them.
    // (Each with whether its expiry is unknown, to look it up first.)
    let mut in_spaces: std::collections::BTreeMap<u64, Vec<(u64, bool)>> = Default::default();
    for entry in orphans {
        if let Some(Scope::Space(space)) = entry.scope
            && matches!(reaper.scope(), Some(Scope::Account(_)))
        {
            in_spaces
                .entry(space)
                .or_default()
                .push((entry.id, entry.expires.is_none()));
            continue;
        }
        let if_missing = IfMissing::GoneInScope(entry.scope);
        reaper.delete(client, entry.id, entry.expires.is_none(), if_missing);
    }
    for (space, ids) in in_spaces {
        reaper.in_space(space, &ids);
    }
    let reaped = reaper.reaped;
    let kept = ledger.update(|entries| {
        let done = |e: &Entry| e.host == host && reaped.contains(&e.id);
        entries.retain(|e| !(expired(e) || done(e)));
        entries.len()
    })?;
    Ok(Reaped { reaped, kept })
}

/// What a 404 for a ledger's token means.
enum IfMissing {
    /// It is gone: asked with a token of its space.
    Gone,
    /// It is gone if the token in use has this scope; of another or an
    /// unknown scope, it may be one the token in use cannot see.
    GoneInScope(Option<Scope>),
}

/// One reap's state: the token in use, its scope (asked when first
/// needed), and what it deleted so far.
struct Reaper<'a> {
    ledger: &'a Ledger,
    client: &'a neuroio::Client,
    profile: Option<&'a str>,
    started: std::time::Instant,
    /// `None` until asked; then the scope, or `None` if the API did not say.
    scope: Option<Option<Scope>>,
    reaped: Vec<u64>,
}

impl Reaper<'_> {
    /// The scope of the token in use, asked of the API once, within what
    /// is left of the reap's time.
    fn scope(&mut self) -> Option<&Scope> {
        let (client, left) = (
            self.client,
            REAP_BUDGET.saturating_sub(self.started.elapsed()),
        );
        self.scope
            .get_or_insert_with(|| Scope::of_client(client, left, None))
            .as_ref()
    }

    /// Says on standard error why token `id` stays in the ledger.
    fn warn(&self, id: u64, why: &str) {
        let _ = writeln!(
            std::io::stderr(),
            "warning: token {id} of the ledger {} {why}; it is kept for the next reap",
            shown(&self.ledger.path())
        );
    }

    /// Whether the reap's time is up; says so for token `id` if it is.
    fn out_of_time(&self, id: u64) -> bool {
        let over = self.started.elapsed() > REAP_BUDGET;
        if over {
            self.warn(id, "was not reached: the reap ran out of time");
        }
        over
    }

    /// Deletes token `id` with `with`, after looking it up when its expiry
    /// is unknown (`look_up`); a 404 counts as reaped as `if_missing` says.
    fn delete(&mut self, with: &neuroio::Client, id: u64, look_up: bool, if_missing: IfMissing) {
        if self.out_of_time(id) {
            return;
        }
        let tokens = with.tokens();
        let missing = |me: &mut Self| {
            let gone = match &if_missing {
                IfMissing::Gone => true,
                IfMissing::GoneInScope(scope) => scope.is_some() && scope.as_ref() == me.scope(),
            };
            if gone {
                me.reaped.push(id);
            }
        };
        if look_up {
            match tokens.get(neuroio::TokenRef::from(id)) {
                Ok(token) if token.is_permanent() => {
                    return self.warn(id, "is a permanent token, which this tool never mints");
                }
                Ok(_) => {}
                Err(err) if err.is_not_found() => return missing(self),
                Err(err) => {
                    let why = format!("could not be looked up ({})", Failure::from(err).message);
                    return self.warn(id, &why);
                }
            }
        }
        match tokens.delete(neuroio::TokenRef::from(id)) {
            Ok(()) => self.reaped.push(id),
            Err(err) if err.is_not_found() => missing(self),
            Err(err) => {
                let why = format!("could not be deleted ({})", Failure::from(err).message);
                self.warn(id, &why);
            }
        }
    }

    /// Deletes the tokens `ids` of `space` (each with whether to look it
    /// up first) with a temporary token of that
    /// space, made with the account token in use, recorded in the ledger
    /// while it lives, and deleted with itself at the end.
    fn in_space(&mut self, space: u64, ids: &[(u64, bool)]) {
        let Some(&(first, _)) = ids.first() else {
            return;
        };
        if self.out_of_time(first) {
            return;
        }
        let helper = match self.client.spaces().create_token(space, false) {
            Ok(token) => token,
            Err(err) => {
                let why = format!(
                    "is a token of space {space}, and no token of that space to delete it with \
                     could be made ({})",
                    Failure::from(err).message
                );
                return ids.iter().for_each(|(id, _)| self.warn(*id, &why));
            }
        };
        let host = self.client.iam_url().to_owned();
        let recorded = self.ledger.record(Entry::mine(
            helper.id,
            &host,
            self.profile,
            "reap",
            helper.expires,
            Some(Scope::Space(space)),
        ));
        let own = self.client.with_api_token(&helper.key);
        match (&recorded, &own) {
            (Ok(()), Ok(own)) => {
                for &(id, look_up) in ids {
                    self.delete(own, id, look_up, IfMissing::Gone);
                }
            }
            _ => {
                let why = match (recorded.as_ref().err(), own.as_ref().err()) {
                    (Some(failure), _) => failure.message.clone(),
                    (None, Some(err)) => err.to_string(),
                    (None, None) => String::new(),
                };
                let why = format!("is a token of space {space}, not deleted: {why}");
                ids.iter().for_each(|(id, _)| self.warn(*id, &why));
            }
        }
        let deleted = own.and_then(|own| own.tokens().delete(neuroio::TokenRef::from(helper.id)));
        match deleted {
            Ok(()) if recorded.is_ok() => {
                if let Err(failure) = self.ledger.forget(&host, &[helper.id]) {
                    self.warn(helper.id, &failure.message);
                }
            }
            Ok(()) => {}
            Err(err) => {
                let why = format!(
                    "was made to reap space {space} and could not be deleted ({})",
                    Failure::from(err).message
                );
                if recorded.is_ok() {
                    self.warn(helper.id, &why);
                } else {
                    let _ = writeln!(
                        std::io::stderr(),
                        "warning: token {} {why}; it expires on its own within 24 hours",
                        helper.id
                    );
                }
            }
        }
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
    fn the_owner_is_told_apart_from_a_process_that_reuses_its_pid() {
        let me = Owner::this_process();
        assert!(me.alive());
        if cfg!(target_os = "linux") {
            assert!(me.start.is_some());
            let reused = Owner {
                start: me.start.map(|s| s + 1),
                ..me.clone()
            };
            assert!(!reused.alive());
            // This pid, at an earlier boot of this machine: gone.
            let rebooted = Owner {
                boot: Some("an-earlier-boot".to_owned()),
                ..me.clone()
            };
            assert!(me.boot.is_some());
            assert!(!rebooted.alive());
        }
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = Owner {
            pid: child.id(),
            start: start_time(child.id()),
            ..me.clone()
        };
        child.wait().unwrap();
        assert!(!gone.alive());
        // Of another machine: not this one's to judge, so taken as alive.
        let elsewhere = Owner {
            machine: Some(format!("{}-elsewhere", me.machine.clone().unwrap())),
            ..gone.clone()
        };
        assert!(elsewhere.alive());
        assert!(
            !Owner {
                pid: 0,
                start: None,
                ..me
            }
            .alive()
        );
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
