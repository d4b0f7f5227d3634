//! The OS advisory lock that processes sharing a file take turns with (the
//! credentials file, the ledger): held on a lock file beside it for a
//! read-modify-write, released by the OS however the holder ends, so a
//! crash leaves nothing that blocks the next command.

use std::fs::{self, File, OpenOptions};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::failure::Failure;

/// The longest a command waits for another neuroio to finish with a file.
/// A read-modify-write takes milliseconds; a holder that keeps the lock
/// longer is stuck, and waiting for ever would hang this command too.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Takes the lock of `what` (named in errors) on `lock_path`, created 0600
/// if missing and never removed, waiting for another holder with a growing
/// pause, for [`LOCK_WAIT`] at most. The lock lasts as long as the file
/// returned.
pub fn exclusive(lock_path: &Path, what: &Path) -> Result<File, Failure> {
    let lock = private_file(lock_path, false)
        .map_err(|e| Failure::failed(format!("cannot open {}: {e}", lock_path.display())))?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(lock),
            Err(fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Failure::failed(format!(
                    "cannot write {}: another neuroio has been writing it for {} s; try again \
                     once it is done",
                    what.display(),
                    LOCK_WAIT.as_secs()
                )));
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(Failure::failed(format!(
                    "cannot lock {}: {e}",
                    lock_path.display()
                )));
            }
        }
    }
}

/// Opens `path` for writing, created 0600 if missing; `new`: it must not
/// exist yet (a file made anew, never one planted there).
pub fn private_file(path: &Path, new: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options
        .write(true)
        .create(true)
        .create_new(new)
        .truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// The user this process runs as, where `/proc` says (Linux): whose
/// folders the files it shares with other processes may be in.
pub fn current_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    }
    #[cfg(not(unix))]
    None
}
