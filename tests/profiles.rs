//! Reading the credentials file: the checks `Client::from_profile` makes,
//! with the errors that name the file, the line and the profile.

use std::path::PathBuf;

use neuroio::{ProfileError, Profiles};

/// A credentials file holding `text`, mode 0600, in a folder of its own.
fn file(test: &str, text: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neuroio-profiles-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("credentials.toml");
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

fn done(path: PathBuf) {
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

const KEY: &str = "0123456789abcdef0123456789abcdef01234567";

#[test]
fn a_written_profile_reads_back_and_hides_its_key() {
    let path = file(
        "good",
        format!(
            "[staging]\ntoken = \"{KEY}\"\ntoken_id = 7\nexpires = \"2026-05-29T10:37:51Z\"\n\
             iam_url = \"http://127.0.0.1:1\"\nusername = \"ada\"\nnote = \"kept by newer versions\"\n\
             [empty]\n"
        )
        .as_bytes(),
    );

    let profiles = Profiles::load(&path).unwrap();

    let names: Vec<&str> = profiles.iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["empty", "staging"]);
    let (profile, key) = profiles.with_token("staging").unwrap();
    assert_eq!(key.secret(), KEY);
    assert_eq!(profile.token_id, Some(7));
    assert_eq!(profile.expires.unwrap().unix_timestamp(), 1_780_051_071);
    assert_eq!(profile.iam_url.as_deref(), Some("http://127.0.0.1:1"));
    assert_eq!(profile.api_url, None);
    assert_eq!(profile.username.as_deref(), Some("ada"));
    assert!(!format!("{profiles:?}").contains(KEY));
    assert_eq!(
        profiles.with_token("empty").unwrap_err().to_string(),
        format!(
            "profile \"empty\" in {} holds no token (logged out?): log in with neuroio login \
             --username USER --profile empty",
            path.display()
        )
    );
    done(path);
}

#[test]
fn a_malformed_file_names_file_and_line_without_the_key() {
    let path = file(
        "malformed",
        format!("[default]\nusername = \"ada\"\ntoken = \"{KEY}\n").as_bytes(),
    );

    let err = Profiles::load(&path).unwrap_err();

    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "{}:3: malformed credentials file: ",
            path.display()
        )),
        "{text}"
    );
    assert!(text.ends_with("; fix or remove that line"), "{text}");
    assert!(!text.contains(KEY), "{text}");
    assert!(!format!("{err:?}").contains(KEY));
    done(path);
}

#[test]
fn a_bad_profile_name_in_the_file_is_refused() {
    let path = file("names", b"[ok]\n[\"not ok\"]\n");

    let err = Profiles::load(&path).unwrap_err();

    assert_eq!(
        err.to_string(),
        format!(
            "{}:2: malformed credentials file: [not ok] is not a profile name (1 to 64 letters, \
             digits, '-' or '_'); fix or remove that line",
            path.display()
        )
    );
    done(path);
}

#[test]
fn a_file_too_large_or_not_text_is_refused() {
    let large = file("large", &vec![b'#'; 1024 * 1024 + 1]);
    let binary = file("binary", b"[default]\n\xff\n");

    assert!(matches!(
        Profiles::load(&large),
        Err(ProfileError::TooLarge { .. })
    ));
    assert_eq!(
        Profiles::load(&binary).unwrap_err().to_string(),
        format!(
            "{}:2: malformed credentials file: not UTF-8 text; fix or remove that line",
            binary.display()
        )
    );
    done(large);
    done(binary);
}

#[test]
fn a_missing_file_is_named() {
    let path = std::env::temp_dir().join("neuroio-profiles-nowhere/credentials.toml");

    let err = Profiles::load(&path).unwrap_err();

    assert_eq!(
        err.to_string(),
        format!(
            "no credentials file at {}: log in first (neuroio login --username USER)",
            path.display()
        )
    );
}

#[cfg(unix)]
#[test]
fn a_file_group_or_others_can_read_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let path = file(
        "modes",
        format!("[default]\ntoken = \"{KEY}\"\n").as_bytes(),
    );
    for mode in [0o640, 0o604, 0o620, 0o666] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();

        let err = Profiles::load(&path).unwrap_err();

        assert_eq!(
            err.to_string(),
            format!(
                "{} holds API tokens but its mode {mode:04o} lets group or others read or change \
                 it; fix it with: chmod 600 {}",
                path.display(),
                path.display()
            )
        );
        let error: neuroio::Error = err.into();
        assert!(matches!(error, neuroio::Error::Profile(_)));
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert!(
        Profiles::load(&path).is_ok(),
        "read-only for the owner is fine"
    );
    done(path);
}

/// `Profiles::load(path)` in a thread, given 10 s: a read that blocks fails
/// the test instead of hanging it.
fn load_within_time(path: &std::path::Path) -> Result<Profiles, ProfileError> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let path = path.to_owned();
    std::thread::spawn(move || {
        let _ = sender.send(Profiles::load(&path));
    });
    receiver
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("Profiles::load blocked for 10 s")
}

#[cfg(unix)]
#[test]
fn a_named_pipe_is_refused_without_blocking() {
    let path = file("fifo", b"");
    std::fs::remove_file(&path).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());

    let err = load_within_time(&path).unwrap_err();

    assert_eq!(
        err.to_string(),
        format!(
            "{} is a named pipe (FIFO), not a credentials file: remove it, or set \
             NEUROIO_CONFIG_DIR to another folder",
            path.display()
        )
    );
    assert!(matches!(err, ProfileError::NotAFile { .. }));
    done(path);
}

#[test]
fn a_directory_is_named_as_one() {
    let path = file("directory", b"");
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();

    let err = load_within_time(&path).unwrap_err();

    assert_eq!(
        err.to_string(),
        format!(
            "{} is a directory, not a credentials file: remove it, or set NEUROIO_CONFIG_DIR \
             to another folder",
            path.display()
        )
    );
    done(path);
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_to_a_private_file_is_read() {
    let target = file("link", format!("[default]\ntoken = \"{KEY}\"\n").as_bytes());
    let link = target.with_file_name("link.toml");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let profiles = load_within_time(&link).unwrap();

    assert_eq!(profiles.with_token("default").unwrap().1.secret(), KEY);
    assert_eq!(profiles.path(), link);
    done(target);
}
