//! Writing the credentials file (the library reads it): atomically, mode
//! 0600 in a 0700 folder, one writer at a time; and deleting a stored token
//! on the server.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
#[cfg(test)]
use std::time::{Duration, Instant};

use neuroio::{Profile, ProfileError, Profiles, TokenRef};

use crate::context::{builder, profile_failure};
use crate::failure::Failure;
use crate::options::Settings;

/// The first lines of the file, for a person who opens it.
const HEADER: &str = "\
# neuroio credentials: API tokens, one table per profile, written by
# `neuroio login`. Keep this file private (mode 0600).
";

/// The profiles at `path`, or none when the file does not exist yet.
pub fn load_or_empty(path: &Path) -> Result<Profiles, ProfileError> {
    match Profiles::load(path) {
        Err(ProfileError::MissingFile { .. }) => Ok(Profiles::empty(path)),
        other => other,
    }
}

/// Refuses to write the credentials file at `path` when it is a symbolic
/// link: the rename that replaces the file would replace the link with a
/// regular file and leave the link's target stale (exit 2). Checked before
/// anything is sent, by the commands that write the file.
pub fn check_writable(path: &Path) -> Result<(), Failure> {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(());
    }
    let target = fs::read_link(path).map_or_else(
        |_| "its target".to_owned(),
        |target| target.display().to_string(),
    );
    Err(Failure::usage(format!(
        "{} is a symbolic link to {target}; neuroio writes the credentials file by replacing \
         it, which would replace the link and leave {target} stale, so it writes nothing: \
         replace the link with the file itself, or set NEUROIO_CONFIG_DIR to the folder that \
         holds {target}",
        path.display()
    )))
}

/// Reads the file at `path`, applies `change`, and writes the result back:
/// to a temporary file beside it first, then renamed over it, so the file
/// is either the old one or the new one, never half-written.
///
/// Writers take turns: each holds an OS advisory lock on
/// `credentials.toml.lock` from the read to the rename, and waits for it
/// (up to [`crate::lock::LOCK_WAIT`]) when another holds it. The OS releases the lock
/// when a process dies, however it dies, so nothing a crash leaves behind
/// blocks the next command: the lock file stays and is used again, and a
/// temporary file left over is replaced.
///
/// A `path` that is a symbolic link is refused ([`check_writable`]), and
/// so is a folder others may write into.
pub fn update<R>(path: &Path, change: impl FnOnce(&mut Profiles) -> R) -> Result<R, Failure> {
    check_writable(path)?;
    let folder = path.parent().unwrap_or(Path::new("."));
    create_private_folder(folder).map_err(|e| {
        Failure::failed(format!(
            "cannot create the folder {}: {e}",
            folder.display()
        ))
    })?;
    Profiles::check_folder(path).map_err(profile_failure)?;
    let lock = crate::lock::exclusive(&with_suffix(path, ".lock"), path)?;
    let temporary = temporary_path(path);
    let written = write_locked(path, &temporary, change);
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    drop(lock);
    written
}

fn write_locked<R>(
    path: &Path,
    temporary: &Path,
    change: impl FnOnce(&mut Profiles) -> R,
) -> Result<R, Failure> {
    // Read after taking the lock, so no other writer's change is lost.
    let mut profiles = load_or_empty(path).map_err(profile_failure)?;
    let result = change(&mut profiles);
    let text = toml::to_string(&profiles)
        .map_err(|e| Failure::failed(format!("cannot write the profiles as TOML: {e}")))?;
    let failed = |e: io::Error| Failure::failed(format!("cannot write {}: {e}", path.display()));
    // A temporary file an interrupted writer left is nobody's now: the
    // lock is held.
    match fs::remove_file(temporary) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(failed(e)),
        _ => {}
    }
    let mut file = crate::lock::private_file(temporary, true).map_err(failed)?;
    file.write_all(HEADER.as_bytes()).map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    drop(file);
    fs::rename(temporary, path).map_err(failed)?;
    // The rename is durable once the folder is synced; a failure here
    // leaves a complete file, so it is not reported.
    if let Some(folder) = path.parent()
        && let Ok(folder) = File::open(folder)
    {
        let _ = folder.sync_all();
    }
    Ok(result)
}

fn temporary_path(path: &Path) -> PathBuf {
    with_suffix(path, ".tmp")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

#[cfg(unix)]
fn create_private_folder(folder: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
}

#[cfg(not(unix))]
fn create_private_folder(folder: &Path) -> io::Result<()> {
    fs::create_dir_all(folder)
}

/// Deletes `profile`'s token on the server it belongs to (the profile's
/// URLs, never those of flags or the environment), with the token itself.
/// A token the server no longer knows or accepts (404, 401) is gone
/// already.
pub fn revoke(args: &Settings, profile: &Profile) -> Result<(), Failure> {
    let Some(token) = &profile.token else {
        return Ok(());
    };
    let own = Settings {
        iam_url: Some(
            profile
                .iam_url
                .clone()
                .unwrap_or_else(|| neuroio::DEFAULT_IAM_URL.to_owned()),
        ),
        api_url: Some(
            profile
                .api_url
                .clone()
                .unwrap_or_else(|| neuroio::DEFAULT_API_URL.to_owned()),
        ),
        ..args.clone()
    };
    let client = builder(&own, None)?.api_token(token.clone()).build()?;
    let which = profile
        .token_id
        .map_or_else(|| TokenRef::from(token.clone()), TokenRef::from);
    match client.tokens().delete(which) {
        Err(err) if err.is_not_found() || err.is_unauthorized() => Ok(()),
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("neuroio-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_is_0600_in_a_0700_folder() {
        use std::os::unix::fs::PermissionsExt;
        let dir = folder("modes").join("neuroio");
        let path = dir.join("credentials.toml");
        update(&path, |profiles| {
            let mut profile = Profile::default();
            profile.token = Some("k".into());
            profiles.insert("default", profile).unwrap();
        })
        .unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert!(!temporary_path(&path).exists());
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{HEADER}[default]\ntoken = \"k\"\n"));
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_whole() {
        let dir = folder("failed");
        let path = dir.join("credentials.toml");
        update(&path, |profiles| {
            profiles.insert("default", Profile::default()).unwrap();
        })
        .unwrap();
        let before = fs::read(&path).unwrap();
        // A folder where the temporary file goes: it cannot be created.
        fs::create_dir(temporary_path(&path)).unwrap();

        let failure = update(&path, |profiles| {
            profiles.insert("other", Profile::default()).unwrap();
        })
        .unwrap_err();

        assert_eq!(failure.code, 1);
        assert!(
            failure
                .message
                .starts_with(&format!("cannot write {}: ", path.display())),
            "{}",
            failure.message
        );
        assert_eq!(fs::read(&path).unwrap(), before);
        assert!(temporary_path(&path).is_dir(), "a folder is not removed");
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_not_written_through() {
        let dir = folder("symlink");
        let real = dir.join("real.toml");
        update(&real, |profiles| {
            profiles.insert("default", Profile::default()).unwrap();
        })
        .unwrap();
        let path = dir.join("credentials.toml");
        std::os::unix::fs::symlink(&real, &path).unwrap();
        let before = fs::read(&real).unwrap();

        let failure = update(&path, |profiles| {
            profiles.insert("other", Profile::default()).unwrap();
        })
        .unwrap_err();

        assert_eq!(failure.code, 2);
        assert!(
            failure.message.starts_with(&format!(
                "{} is a symbolic link to {}; ",
                path.display(),
                real.display()
            )),
            "{}",
            failure.message
        );
        assert!(
            fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), before);
        assert!(!temporary_path(&path).exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_malformed_file_is_not_overwritten() {
        let dir = folder("malformed");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials.toml");
        fs::write(&path, "[default]\ntoken = \n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }

        let failure = update(&path, |_| ()).unwrap_err();

        assert_eq!(failure.code, 2);
        assert!(
            failure.message.contains("credentials.toml:2: malformed"),
            "{}",
            failure.message
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "[default]\ntoken = \n");
        assert!(!temporary_path(&path).exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_temporary_file_left_behind_does_not_block_the_next_write() {
        let dir = folder("leftover");
        let path = dir.join("credentials.toml");
        fs::create_dir_all(&dir).unwrap();
        fs::write(temporary_path(&path), "half a file from a killed writer").unwrap();

        update(&path, |profiles| {
            profiles.insert("default", Profile::default()).unwrap();
        })
        .unwrap();

        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("{HEADER}[default]\n")
        );
        assert!(!temporary_path(&path).exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_writer_waits_for_the_lock_another_holds_and_loses_no_change() {
        let dir = folder("waits");
        let path = dir.join("credentials.toml");
        update(&path, |profiles| {
            profiles.insert("first", Profile::default()).unwrap();
        })
        .unwrap();
        // Another writer holds the lock for a while (an open file of its
        // own: the OS lock is per open file).
        let held = crate::lock::private_file(&with_suffix(&path, ".lock"), false).unwrap();
        held.lock().unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        let started = Instant::now();

        update(&path, |profiles| {
            profiles.insert("second", Profile::default()).unwrap();
        })
        .unwrap();

        assert!(started.elapsed() >= Duration::from_millis(250));
        releaser.join().unwrap();
        let profiles = Profiles::load(&path).unwrap();
        let names: Vec<&str> = profiles.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["first", "second"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_others_can_write_is_refused_with_the_chmod() {
        use std::os::unix::fs::PermissionsExt;
        let dir = folder("open");
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let path = dir.join("credentials.toml");

        let failure = update(&path, |_| ()).unwrap_err();

        assert_eq!(failure.code, 2);
        assert_eq!(
            failure.message,
            format!(
                "{} holds the credentials file but its mode 0777 lets group or others write \
                 into it, so another user could replace the file; fix it with: chmod 700 {}",
                dir.display(),
                dir.display()
            )
        );
        assert!(!path.exists());
        fs::remove_dir_all(dir).unwrap();
    }
}
