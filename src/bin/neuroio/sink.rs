//! Token files other programs read (`agent`'s sinks, `exec --rotate`'s
//! NEUROIO_API_TOKEN_FILE), and the keeper that keeps them fresh with a
//! renewing client.
//!
//! A sink is replaced atomically: a temporary file in the same folder,
//! written, flushed to disk, then renamed over the sink, so a reader sees
//! the old key or the new one, never part of one. The keeper does not
//! renew anything itself: it asks the library's renewing client for its
//! working token ([`neuroio::Client::working_token`]), which mints and
//! renews with its single flight, backoff and bounds, and keeps a replaced
//! token for the grace period ([`neuroio::ClientBuilder::keep_replaced`]).
//! Each new token is recorded in the ledger before its key is written.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use neuroio::Token;

use crate::context::Api;
use crate::failure::Failure;
use crate::ledger::{Entry, Ledger, Scope};
use crate::output::{rfc3339, terminal_safe};

/// The longest ending (deleting what was minted) may take, all deletes
/// together.
const CLOSE_WITHIN: Duration = Duration::from_secs(15);

/// What a sink holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SinkFormat {
    /// The key and a newline.
    Key,
    /// {"id": N, "key": "...", "expires": "RFC 3339"} and a newline.
    Json,
}

/// A token file this process keeps.
#[derive(Clone, Debug)]
pub struct Sink {
    path: PathBuf,
    mode: u32,
}

/// `--mode`: an octal file mode such as 0600 or 640, at most 0777.
pub fn parse_mode(raw: &str) -> Result<u32, String> {
    let digits = raw.strip_prefix("0o").unwrap_or(raw);
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o777 && !digits.is_empty() => Ok(mode),
        _ => Err(format!(
            "{raw:?} is not an octal file mode such as 0600 or 0640 (at most 0777)"
        )),
    }
}

fn shown(path: &Path) -> String {
    terminal_safe(&path.display().to_string())
}

impl Sink {
    /// A sink at `path`, refused when it is a symbolic link, its folder is
    /// missing, or others may write to its folder without the sticky bit
    /// (they could then swap the file for one of theirs).
    pub fn new(path: PathBuf, mode: u32) -> Result<Sink, Failure> {
        if let Ok(metadata) = std::fs::symlink_metadata(&path) {
            if metadata.file_type().is_symlink() {
                return Err(Failure::usage(format!(
                    "the sink {} is a symbolic link; give the path of the file itself",
                    shown(&path)
                )));
            }
            if !metadata.is_file() {
                return Err(Failure::usage(format!(
                    "the sink {} exists and is not a regular file",
                    shown(&path)
                )));
            }
        }
        let Some(name) = path.file_name() else {
            return Err(Failure::usage(format!(
                "the sink {} names no file",
                shown(&path)
            )));
        };
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        let metadata = std::fs::metadata(&folder).map_err(|e| {
            Failure::usage(format!(
                "the folder of the sink {} cannot be used: {e}",
                shown(&path)
            ))
        })?;
        if !metadata.is_dir() {
            return Err(Failure::usage(format!(
                "the folder of the sink {} is not a folder",
                shown(&path)
            )));
        }
        let folder_mode = metadata.permissions().mode();
        if folder_mode & 0o022 != 0 && folder_mode & 0o1000 == 0 {
            return Err(Failure::usage(format!(
                "the folder {} of the sink can be written by group or others and has no sticky \
                 bit (mode {:o}): another user could replace the sink; use a private folder",
                shown(&folder),
                folder_mode & 0o7777
            )));
        }
        // A folder of another user (but root's) is theirs to swap.
        {
            use std::os::unix::fs::MetadataExt;
            if let Some(me) = crate::lock::current_uid()
                && metadata.uid() != me
                && metadata.uid() != 0
            {
                return Err(Failure::usage(format!(
                    "the folder {} of the sink belongs to user {}, not to you (user {me}): they \
                     could replace the sink; use a folder of your own",
                    shown(&folder),
                    metadata.uid()
                )));
            }
        }
        Ok(Sink {
            path: folder.join(name),
            mode,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the sink with `token` in `format`, atomically.
    pub fn write(&self, token: &Token, format: SinkFormat) -> io::Result<()> {
        let text = match format {
            SinkFormat::Key => format!("{}\n", token.key.secret()),
            SinkFormat::Json => format!(
                "{}\n",
                serde_json::json!({
                    "id": token.id,
                    "key": token.key.secret(),
                    "expires": token.expires.map(rfc3339),
                })
            ),
        };
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        let temporary = self
            .path
            .with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let written = (|| {
            // A temporary left by an earlier crash of this pid is replaced.
            let _ = std::fs::remove_file(&temporary);
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temporary)?;
            // The umask may have taken bits off the mode asked for.
            file.set_permissions(std::fs::Permissions::from_mode(self.mode))?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&temporary, &self.path)?;
            // The rename itself, on disk (best effort: not every file
            // system can sync a folder).
            if let Some(folder) = self.path.parent()
                && let Ok(folder) = std::fs::File::open(folder)
            {
                let _ = folder.sync_all();
            }
            Ok(())
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written
    }

    /// Whether nothing is at the sink's path (something removed it).
    pub fn is_missing(&self) -> bool {
        matches!(
            std::fs::symlink_metadata(&self.path),
            Err(e) if e.kind() == io::ErrorKind::NotFound
        )
    }

    /// Removes the sink; one already gone is fine.
    pub fn remove(&self) -> io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// One line on standard error, prefixed with the command's name.
pub fn log(who: &str, line: &str) {
    let _ = writeln!(io::stderr(), "neuroio {who}: {}", terminal_safe(line));
}

/// How often the keeper asks the renewing client for its working token
/// (which sends nothing unless a mint is due).
pub const TICK: Duration = Duration::from_millis(250);

/// The least time a replaced token's ledger entry is kept after its grace,
/// for the renewing client's delete to land.
const FORGET_SLACK: Duration = Duration::from_secs(10);

/// How often at most a failure to mint is logged while it lasts.
const FAILURE_LOG_EVERY: Duration = Duration::from_secs(10);

/// Keeps sinks holding the renewing client's working token.
pub struct Keeper {
    pub api: Api,
    who: &'static str,
    ledger: Ledger,
    sinks: Vec<Sink>,
    format: SinkFormat,
    grace: Duration,
    /// The client's timeout for one request.
    timeout: Duration,
    /// The token the sinks hold, when they hold one.
    written: Option<u64>,
    /// The working token seen last.
    current: Option<u64>,
    /// The scope of the tokens it mints: given (a space's), or once the
    /// API has said it.
    scope: Option<Scope>,
    /// Tokens recorded in the ledger, and when they were replaced.
    recorded: Vec<(u64, Option<Instant>)>,
    last_failure_log: Option<Instant>,
    /// Set after a failure, to log when minting works again.
    failing: bool,
}

/// What one look at the working token did.
pub enum Tick {
    /// The sinks hold a working token (a new one, or the same).
    Written { token: Token },
    /// No working token: minting fails and the last one ran out.
    Failed(Failure),
}

impl Keeper {
    /// The scope of the tokens it mints, when known before the first (a
    /// space's tokens for `agent --space`): each entry has it from the
    /// start, not only once a call with the token has said it.
    pub fn in_scope(mut self, scope: Option<Scope>) -> Keeper {
        self.scope = scope;
        self
    }

    /// A keeper of `sinks` with the renewing client of `api`, recording
    /// its tokens in `ledger` as `who` ("agent", "exec").
    pub fn new(
        api: Api,
        who: &'static str,
        ledger: Ledger,
        sinks: Vec<Sink>,
        format: SinkFormat,
        grace: Duration,
    ) -> Keeper {
        let timeout = api
            .args
            .timeout
            .map_or(neuroio::DEFAULT_TIMEOUT, Duration::from_secs_f64);
        Keeper {
            timeout,
            api,
            who,
            ledger,
            sinks,
            format,
            grace,
            written: None,
            current: None,
            scope: None,
            recorded: Vec::new(),
            last_failure_log: None,
            failing: false,
        }
    }

    /// Looks at the working token once (minting or renewing it when due,
    /// through the library's renewal), records a new one in the ledger,
    /// writes it to every sink, and removes the sinks when there is no
    /// usable token.
    pub fn tick(&mut self) -> Tick {
        self.forget_old();
        let token = match self.api.client.working_token() {
            Ok(Some(token)) => token,
            Ok(None) => {
                return Tick::Failed(Failure::failed("the client does not renew its token"));
            }
            Err(err) => {
                let failure = Failure::from(err);
                // No usable working token: minting fails and the last ran out.
                self.failed(&failure, false);
                return Tick::Failed(failure);
            }
        };
        let new = self.current != Some(token.id);
        if new {
            // Recorded before its key is handed out: if this process dies
            // from here on, `neuroio tokens reap` deletes it.
            let entry = Entry::mine(
                token.id,
                self.api.client.iam_url(),
                self.api.token_profile.as_deref(),
                self.who,
                token.expires,
                self.scope.clone(),
            );
            if let Err(failure) = self.ledger.record(entry.clone()) {
                let alive = self.written_alive(token.id);
                self.failed(&failure, alive);
                return Tick::Failed(failure);
            }
            let now = Instant::now();
            for (_, replaced) in &mut self.recorded {
                replaced.get_or_insert(now);
            }
            self.recorded.push((token.id, None));
            self.current = Some(token.id);
            // One call with it before it is handed out. A token the API
            // refuses is never written (the renewing client counts it as
            // a failed mint and deletes it); one that works ends the
            // failures in a row, so the next failure backs off from the
            // start and is reported for what it is.
            match self.api.client.whoami() {
                Err(err) if matches!(err.status(), Some(401 | 403)) => {
                    let failure = Failure::from(err);
                    let alive = self.written_alive(token.id);
                    self.failed(&failure, alive);
                    return Tick::Failed(failure);
                }
                // Every token it mints has the scope of the first: learnt
                // once, and added to the entry (for `tokens reap`).
                Ok(me) if self.scope.is_none() => {
                    self.scope = Scope::of(&me);
                    if self.scope.is_some() {
                        let entry = Entry {
                            scope: self.scope.clone(),
                            ..entry
                        };
                        if let Err(failure) = self.ledger.record(entry) {
                            log(self.who, &failure.message);
                        }
                    }
                }
                _ => {}
            }
        }
        if self.written != Some(token.id) {
            if let Err(failure) = self.write(&token, |_| true) {
                return Tick::Failed(failure);
            }
            self.written = Some(token.id);
            let expires = token.expires.map_or_else(|| "never".to_owned(), rfc3339);
            log(
                self.who,
                &format!(
                    "token {} written to {} (expires {expires})",
                    token.id,
                    self.sink_names()
                ),
            );
            self.failing = false;
        } else {
            // A sink something else removed is written again at once, not
            // at the next rotation (one look at each sink a tick).
            match self.write(&token, Sink::is_missing) {
                Ok(0) => {}
                Ok(_) => log(
                    self.who,
                    &format!(
                        "token {} written again to a sink that had been removed",
                        token.id
                    ),
                ),
                Err(failure) => return Tick::Failed(failure),
            }
        }
        Tick::Written { token }
    }

    /// Writes `token` to the sinks `which` selects; returns how many. A
    /// failure is logged (and the sinks removed if the key they hold no
    /// longer works).
    fn write(&mut self, token: &Token, which: impl Fn(&Sink) -> bool) -> Result<usize, Failure> {
        let mut written = 0;
        for sink in self.sinks.iter().filter(|sink| which(sink)) {
            if let Err(e) = sink.write(token, self.format) {
                let failure =
                    Failure::failed(format!("cannot write the sink {}: {e}", shown(sink.path())));
                let alive = self.written_alive(token.id);
                self.failed(&failure, alive);
                return Err(failure);
            }
            written += 1;
        }
        Ok(written)
    }

    /// Whether the token the sinks hold still opens something: it is the
    /// working token, or one the client replaced and has not deleted yet
    /// (in its grace). Past that its key is dead, and the sinks go.
    fn written_alive(&self, working: u64) -> bool {
        self.written.is_some_and(|written| {
            written == working || self.api.client.undeleted_tokens().contains(&written)
        })
    }

    fn sink_names(&self) -> String {
        match self.sinks.as_slice() {
            [one] => shown(one.path()),
            many => format!("{} sinks", many.len()),
        }
    }

    /// After a failure: a sink whose token is no longer usable is removed
    /// rather than left with a dead key; the failure is logged, at most
    /// every few seconds while it lasts.
    fn failed(&mut self, failure: &Failure, usable: bool) {
        if self.written.is_some() && !usable {
            for sink in &self.sinks {
                let _ = sink.remove();
            }
            log(
                self.who,
                &format!(
                    "token {} no longer opens anything and no new one could be handed out; removed {} \
                     until one is",
                    self.written.unwrap_or_default(),
                    self.sink_names()
                ),
            );
            self.written = None;
        }
        let due = self
            .last_failure_log
            .is_none_or(|at| at.elapsed() >= FAILURE_LOG_EVERY);
        if !self.failing || due {
            log(self.who, &failure.message);
            self.last_failure_log = Some(Instant::now());
        }
        self.failing = true;
    }

    /// Forgets the ledger entries of replaced tokens the renewing client
    /// has deleted by now: their grace is over, and the client no longer
    /// lists them as still to delete (a delete that failed keeps its entry,
    /// for the next try or `tokens reap`).
    fn forget_old(&mut self) {
        let after = self
            .grace
            .saturating_add(self.timeout)
            .saturating_add(FORGET_SLACK);
        let undeleted = self.api.client.undeleted_tokens();
        let old: Vec<u64> = self
            .recorded
            .iter()
            .filter(|(id, replaced)| {
                replaced.is_some_and(|at| at.elapsed() >= after) && !undeleted.contains(id)
            })
            .map(|(id, _)| *id)
            .collect();
        if old.is_empty() {
            return;
        }
        if self.ledger.forget(self.api.client.iam_url(), &old).is_ok() {
            self.recorded.retain(|(id, _)| !old.contains(id));
        }
    }

    /// Ends: deletes every token the client minted (current and kept
    /// ones), removes the sinks, and forgets the deleted tokens in the
    /// ledger. Tokens that could not be deleted stay in the ledger, for
    /// `neuroio tokens reap`.
    pub fn finish(&mut self, remove_sinks: bool) -> Result<(), Failure> {
        if remove_sinks {
            for sink in &self.sinks {
                let _ = sink.remove();
            }
        }
        // Bounded: a signal asked to end, and the ledger keeps what is
        // left for `tokens reap`.
        let closed = self.api.client.close_within(CLOSE_WITHIN);
        let not_deleted = match &closed {
            Err(neuroio::Error::Renewal(renewal)) => renewal.not_deleted.clone(),
            Err(_) => self.recorded.iter().map(|(id, _)| *id).collect(),
            Ok(()) => Vec::new(),
        };
        let deleted: Vec<u64> = self
            .recorded
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| !not_deleted.contains(id))
            .collect();
        self.ledger.forget(self.api.client.iam_url(), &deleted)?;
        self.recorded.retain(|(id, _)| not_deleted.contains(id));
        closed.map_err(|err| {
            let mut failure = Failure::from(err);
            failure.message.push_str(
                "; they stay in the ledger: delete them later with `neuroio tokens reap`",
            );
            failure
        })
    }
}
