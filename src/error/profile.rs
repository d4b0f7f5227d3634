//! What can go wrong with the credentials file and its profiles.

use std::path::PathBuf;

/// The largest credentials file read: a file of many profiles takes a few
/// kilobytes, and a larger one is a mistake (or `/dev/zero`).
pub const MAX_CREDENTIALS_BYTES: u64 = 1024 * 1024;

/// What went wrong with the credentials file or a profile in it.
///
/// Every message names the file (and the profile, where one is involved)
/// and says what to do. None shows a token.
///
/// ```
/// let err = neuroio::Profiles::check_name("my profile").unwrap_err();
/// assert!(matches!(err, neuroio::ProfileError::InvalidName { .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// None of `NEUROIO_CONFIG_DIR`, `XDG_CONFIG_HOME` and `HOME` is set.
    #[error(
        "cannot tell where the credentials file is: set NEUROIO_CONFIG_DIR (or XDG_CONFIG_HOME or HOME)"
    )]
    NoConfigDir,
    /// A profile name outside `[A-Za-z0-9_-]{1,64}`.
    #[error(
        "invalid profile name {name:?}: use 1 to 64 letters, digits, '-' or '_' (but not `current`, \
         the file's key for the current profile)"
    )]
    #[non_exhaustive]
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// The credentials file does not exist.
    #[error("no credentials file at {}: log in first (neuroio login --username USER)", path.display())]
    #[non_exhaustive]
    MissingFile {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The file has no table for the profile.
    #[error(
        "no profile {profile:?} in {}{}: log in with neuroio login --username USER --profile {profile}",
        path.display(),
        others(existing)
    )]
    #[non_exhaustive]
    MissingProfile {
        /// The credentials file.
        path: PathBuf,
        /// The profile asked for.
        profile: String,
        /// The profiles the file has, by name.
        existing: Vec<String>,
    },
    /// The profile holds no token (it was logged out).
    #[error(
        "profile {profile:?} in {} holds no token (logged out?): log in with neuroio login --username USER --profile {profile}",
        path.display()
    )]
    #[non_exhaustive]
    NoToken {
        /// The credentials file.
        path: PathBuf,
        /// The profile.
        profile: String,
    },
    /// Group or others may read or change the file: it is refused, as ssh
    /// refuses a private key others can read.
    #[error(
        "{} holds API tokens but its mode {mode:04o} lets group or others read or change it; \
         fix it with: chmod 600 {}",
        path.display(),
        path.display()
    )]
    #[non_exhaustive]
    Unprotected {
        /// The credentials file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Others may change the folder that holds the file (its mode lets
    /// group or others write without the sticky bit, or another user owns
    /// it): they could replace the file, so it is refused.
    #[error(
        "{} holds the credentials file but {why}, so another user could replace the file; \
         fix it with: {fix}",
        folder.display()
    )]
    #[non_exhaustive]
    UnprotectedFolder {
        /// The folder.
        folder: PathBuf,
        /// What is wrong with it.
        why: String,
        /// The command that fixes it.
        fix: String,
    },
    /// The file is not the TOML this crate writes.
    #[error("{}:{line}: malformed credentials file: {message}; fix or remove that line", path.display())]
    #[non_exhaustive]
    Malformed {
        /// The credentials file.
        path: PathBuf,
        /// The line where the problem is, from 1.
        line: usize,
        /// What is wrong (with quoted values left out: they may be keys).
        message: String,
    },
    /// Something that is not a regular file is where the credentials file
    /// should be: a directory, or a named pipe, socket or device, which
    /// could block a read forever. Refused before it is opened; a symbolic
    /// link to a regular file is fine.
    #[error(
        "{} is {kind}, not a credentials file: remove it, or set NEUROIO_CONFIG_DIR to \
         another folder",
        path.display()
    )]
    #[non_exhaustive]
    NotAFile {
        /// The credentials file's path.
        path: PathBuf,
        /// What is there instead: "a directory", "a named pipe (FIFO)",
        /// "a socket", "a device" or "not a regular file".
        kind: &'static str,
    },
    /// The file is larger than [`MAX_CREDENTIALS_BYTES`].
    #[error(
        "{} is larger than {MAX_CREDENTIALS_BYTES} bytes; that is not a credentials file",
        path.display()
    )]
    #[non_exhaustive]
    TooLarge {
        /// The credentials file.
        path: PathBuf,
    },
    /// Reading the file failed.
    #[error("cannot read {}: {message}", path.display())]
    #[non_exhaustive]
    Unreadable {
        /// The credentials file.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
}

/// The profiles a credentials file has, for [`ProfileError::MissingProfile`]:
/// nothing when it has none.
fn others(existing: &[String]) -> String {
    if existing.is_empty() {
        String::new()
    } else {
        format!(
            " (it has {}; use one with --profile NAME, or make one the current profile \
             with neuroio auth switch NAME)",
            existing.join(", ")
        )
    }
}
