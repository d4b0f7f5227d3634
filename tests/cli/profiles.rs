//! Profiles: `login` storing into credentials.toml, `auth status|token|
//! logout|list`, the precedence of flags, environment and profile, and the
//! library reading the same file.

use super::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use neuroio::Profiles;

/// A folder of its own for one test's configuration, removed when dropped.
struct Home {
    root: PathBuf,
}

impl Home {
    fn new(test: &str) -> Home {
        let root = std::env::temp_dir().join(format!(
            "neuroio-cli-profiles-{test}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Home { root }
    }

    /// NEUROIO_CONFIG_DIR: not created until a login writes into it.
    fn config_dir(&self) -> PathBuf {
        self.root.join("config").join("neuroio")
    }

    fn file(&self) -> PathBuf {
        self.config_dir().join("credentials.toml")
    }

    fn read(&self) -> Profiles {
        Profiles::load(self.file()).unwrap()
    }

    /// Runs the binary with this configuration folder, nothing else from
    /// the environment but `env`.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = neuroio();
        command
            .args(args)
            .env_remove("NEUROIO_API_TOKEN")
            .env_remove("NEUROIO_IAM_URL")
            .env_remove("NEUROIO_API_URL")
            .env_remove("NEUROIO_PROFILE")
            .env_remove("XDG_CONFIG_HOME")
            .env("NEUROIO_CONFIG_DIR", self.config_dir())
            .stdin(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
        output
    }

    /// `neuroio login` as the simulator's root user, with the simulator's
    /// URLs given as flags (and so stored), into `profile`.
    fn login(&self, fake: &FakeIam, profile: Option<&str>) -> Output {
        let password = self.root.join("password");
        std::fs::write(&password, format!("{}\n", fake.root_password())).unwrap();
        let url = fake.url();
        let mut args = vec![
            "login",
            "--username",
            "root",
            "--password-file",
            password.to_str().unwrap(),
            "--iam-url",
            &url,
            "--api-url",
            &url,
        ];
        if let Some(profile) = profile {
            args.extend(["--profile", profile]);
        }
        self.run(&args, &[])
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Every key the simulator's root account holds, to look for in output.
fn keys(fake: &FakeIam) -> Vec<String> {
    client(fake, fake.root_token())
        .tokens()
        .list(None, 100, 0)
        .unwrap()
        .into_iter()
        .map(|t| t.key.into_secret())
        .collect()
}

fn assert_no_key(fake: &FakeIam, output: &Output) {
    let text = format!("{}{}", stdout(output), stderr(output));
    for key in keys(fake) {
        assert!(!text.contains(&key), "a key was printed:\n{text}");
    }
}

/// (method, path, Authorization) of every request the simulator saw.
fn seen(fake: &FakeIam) -> Vec<(String, String, Option<String>)> {
    fake.requests()
        .into_iter()
        .map(|r| {
            let auth = r.header("authorization").map(str::to_owned);
            (r.method, r.path, auth)
        })
        .collect()
}

fn auth(key: &str) -> Option<String> {
    Some(format!("Token {key}"))
}

fn stored_key(home: &Home, profile: &str) -> String {
    home.read()
        .get(profile)
        .unwrap()
        .token
        .clone()
        .unwrap()
        .into_secret()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn login_stores_the_token_privately_and_prints_no_key() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("store");

    let output = home.login(&fake, None);

    let shown = json(&output);
    assert_eq!(field_names(&shown), ["file", "profile", "token", "user"]);
    assert_eq!(shown["profile"], "default");
    assert_eq!(shown["file"], home.file().to_str().unwrap());
    assert_eq!(shown["user"], serde_json::json!({"username": "root"}));
    assert_eq!(
        field_names(&shown["token"]),
        ["created", "expired", "expires", "id", "is_active", "kind"]
    );
    assert_eq!(shown["token"]["kind"], "temporary");
    assert_eq!(shown["token"]["expired"], false);
    assert_eq!(shown["token"]["id"], 2);
    assert_eq!(stderr(&output), "");
    assert_no_key(&fake, &output);
    let token = client(&fake, fake.root_token()).tokens().get(2).unwrap();
    let profiles = home.read();
    let profile = profiles.get("default").unwrap();
    assert_eq!(profile.token.as_ref(), Some(&token.key));
    assert_eq!(profile.token_id, Some(2));
    assert_eq!(profile.expires, token.expires);
    assert_eq!(profile.iam_url.as_deref(), Some(fake.url().as_str()));
    assert_eq!(profile.api_url.as_deref(), Some(fake.url().as_str()));
    assert_eq!(profile.username.as_deref(), Some("root"));
    assert_eq!(profiles.iter().count(), 1);
    #[cfg(unix)]
    {
        assert_eq!(mode(&home.file()), 0o600);
        assert_eq!(mode(&home.config_dir()), 0o700);
    }
    assert_eq!(
        seen(&fake)[..1],
        [("POST".to_owned(), "/v1/auth/token/".to_owned(), None)]
    );
}

#[test]
fn the_file_is_found_in_xdg_config_home_then_home() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("location");
    let xdg = home.root.join("xdg");
    let user_home = home.root.join("home");
    let password = home.root.join("password");
    std::fs::write(&password, fake.root_password()).unwrap();
    let login = [
        "login",
        "--username",
        "root",
        "--password-file",
        password.to_str().unwrap(),
    ];
    let url = fake.url();

    let in_xdg = home.run(
        &login,
        &[
            ("NEUROIO_CONFIG_DIR", ""),
            ("XDG_CONFIG_HOME", xdg.to_str().unwrap()),
            ("NEUROIO_IAM_URL", &url),
            ("NEUROIO_API_URL", &url),
        ],
    );
    let in_home = home.run(
        &login,
        &[
            ("NEUROIO_CONFIG_DIR", ""),
            ("HOME", user_home.to_str().unwrap()),
            ("NEUROIO_IAM_URL", &url),
            ("NEUROIO_API_URL", &url),
        ],
    );

    assert_eq!(
        json(&in_xdg)["file"],
        xdg.join("neuroio/credentials.toml").to_str().unwrap()
    );
    assert_eq!(
        json(&in_home)["file"],
        user_home
            .join(".config/neuroio/credentials.toml")
            .to_str()
            .unwrap()
    );
    assert!(Profiles::load(xdg.join("neuroio/credentials.toml")).is_ok());
    assert!(!home.file().exists());
}

#[test]
fn every_command_uses_the_profile_exec_included() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("every");
    json(&home.login(&fake, None));
    let key = stored_key(&home, "default");
    fake.clear_requests();

    let list = home.run(&["tokens", "list"], &[]);
    let me = home.run(&["whoami"], &[]);
    let exec = home.run(
        &["exec", "--", "sh", "-c", "test -n \"$NEUROIO_API_TOKEN\""],
        &[],
    );

    assert_eq!(json(&list).as_array().unwrap().len(), 2);
    assert_eq!(json(&me)["username"], "root");
    assert_eq!(exec.status.code(), Some(0), "{}", stderr(&exec));
    let seen = seen(&fake);
    assert_eq!(
        seen.iter()
            .map(|(m, p, a)| (m.as_str(), p.as_str(), a.clone()))
            .collect::<Vec<_>>(),
        [
            ("GET", "/v1/tokens/", auth(&key)),
            ("GET", "/v1/whoami/", auth(&key)),
            ("GET", "/v1/whoami/", auth(&key)),
            ("POST", "/v1/tokens/", auth(&key)),
            ("DELETE", "/v1/tokens/3/", auth(&key)),
        ]
    );
}

#[test]
fn the_token_file_beats_the_environment_which_beats_the_profile() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("precedence");
    json(&home.login(&fake, None));
    let from_profile = stored_key(&home, "default");
    let from_env = fake.root_token();
    let from_file = client(&fake, fake.root_token())
        .tokens()
        .create(false)
        .unwrap()
        .key
        .into_secret();
    let file = home.root.join("token");
    std::fs::write(&file, &from_file).unwrap();
    fake.clear_requests();

    let url = fake.url();
    json(&home.run(&["whoami"], &[]));
    json(&home.run(
        &["whoami"],
        &[("NEUROIO_API_TOKEN", &from_env), ("NEUROIO_IAM_URL", &url)],
    ));
    json(&home.run(
        &["whoami", "--token-file", file.to_str().unwrap()],
        &[("NEUROIO_API_TOKEN", &from_env), ("NEUROIO_IAM_URL", &url)],
    ));
    // A named profile lends its URLs to a token from elsewhere.
    json(&home.run(
        &["whoami", "--profile", "default"],
        &[("NEUROIO_API_TOKEN", &from_env)],
    ));

    let used: Vec<Option<String>> = seen(&fake).into_iter().map(|(_, _, a)| a).collect();
    assert_eq!(
        used,
        [
            auth(&from_profile),
            auth(&from_env),
            auth(&from_file),
            auth(&from_env)
        ]
    );
}

#[test]
fn an_empty_token_variable_counts_as_unset() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("empty-env");
    json(&home.login(&fake, None));
    let key = stored_key(&home, "default");
    fake.clear_requests();

    let output = home.run(
        &["whoami"],
        &[("NEUROIO_API_TOKEN", ""), ("NEUROIO_IAM_URL", "")],
    );
    let status = home.run(&["auth", "status"], &[("NEUROIO_API_TOKEN", "")]);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(json(&output)["username"], "root");
    assert_eq!(json(&status)["source"], "profile");
    assert_eq!(
        seen(&fake)[..1],
        [("GET".to_owned(), "/v1/whoami/".to_owned(), auth(&key))]
    );
}

#[test]
fn urls_come_from_the_flag_then_the_environment_then_the_profile() {
    let fake = FakeIam::start().unwrap();
    let other = FakeIam::start().unwrap();
    let home = Home::new("urls");
    json(&home.login(&fake, None));
    let key = stored_key(&home, "default");
    fake.clear_requests();

    let profile_url = home.run(&["whoami"], &[]);
    let env_url = home.run(&["whoami"], &[("NEUROIO_IAM_URL", &other.url())]);
    let flag_url = home.run(
        &["whoami", "--iam-url", &fake.url()],
        &[("NEUROIO_IAM_URL", &other.url())],
    );

    assert_eq!(json(&profile_url)["username"], "root");
    // The other simulator does not know the profile's token.
    assert_eq!(env_url.status.code(), Some(4));
    // The environment's URL wins, and says so, since it may be left over.
    assert!(
        stderr(&env_url).starts_with(&format!(
            "warning: NEUROIO_IAM_URL={} overrides the profile's {}; unset NEUROIO_IAM_URL \
             to use the profile's\n",
            other.url(),
            fake.url()
        )),
        "{}",
        stderr(&env_url)
    );
    assert_eq!(stderr(&profile_url), "");
    // A flag is explicit: no warning.
    assert_eq!(stderr(&flag_url), "");
    assert_eq!(json(&flag_url)["username"], "root");
    assert_eq!(fake.requests().len(), 2);
    let at_other = other.requests();
    assert_eq!(at_other.len(), 1);
    assert_eq!(at_other[0].header("authorization"), auth(&key).as_deref());
}

#[test]
fn profiles_are_chosen_by_flag_or_environment() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("select");
    json(&home.login(&fake, None));
    json(&home.login(&fake, Some("staging")));
    let default = stored_key(&home, "default");
    let staging = stored_key(&home, "staging");
    assert_ne!(default, staging);

    let by_flag = home.run(&["auth", "token", "--profile", "staging"], &[]);
    let by_env = home.run(&["auth", "token"], &[("NEUROIO_PROFILE", "staging")]);
    let flag_wins = home.run(
        &["auth", "token", "--profile", "default"],
        &[("NEUROIO_PROFILE", "staging")],
    );
    let missing = home.run(&["auth", "token", "--profile", "prod"], &[]);
    let invalid = home.run(&["tokens", "list", "--profile", "../etc"], &[]);

    assert_eq!(stdout(&by_flag), format!("{staging}\n"));
    assert_eq!(stdout(&by_env), format!("{staging}\n"));
    assert_eq!(stdout(&flag_wins), format!("{default}\n"));
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        stderr(&missing),
        format!(
            "error: no profile \"prod\" in {} (it has default, staging; use one with --profile NAME, \
             or make one the current profile with neuroio auth switch NAME): log in with neuroio \
             login --username USER --profile prod\n",
            home.file().display()
        )
    );
    assert_eq!(invalid.status.code(), Some(2));
    assert_eq!(
        stderr(&invalid),
        "error: invalid profile name \"../etc\": use 1 to 64 letters, digits, '-' or '_' (but not `current`, the file's key for the current profile)\n"
    );
}

#[test]
fn auth_token_prints_exactly_the_key_and_a_newline() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("token");
    json(&home.login(&fake, None));
    fake.clear_requests();

    let output = home.run(&["auth", "token"], &[]);

    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        output.stdout,
        format!("{}\n", stored_key(&home, "default")).into_bytes()
    );
    assert_eq!(stderr(&output), "");
    assert!(fake.requests().is_empty(), "auth token sends nothing");
}

#[test]
fn login_replaces_the_profiles_token_and_deletes_the_old_one() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("replace");
    json(&home.login(&fake, None));
    let old = stored_key(&home, "default");
    fake.clear_requests();

    let again = json(&home.login(&fake, None));

    assert_eq!(
        seen(&fake),
        [
            ("POST".to_owned(), "/v1/auth/token/".to_owned(), None),
            ("DELETE".to_owned(), "/v1/tokens/2/".to_owned(), auth(&old)),
        ]
    );
    assert_eq!(again["token"]["id"], 3);
    let new = stored_key(&home, "default");
    assert_eq!(home.read().get("default").unwrap().token_id, Some(3));
    assert_eq!(ids(&fake), [3, 1]);
    assert_ne!(old, new);
}

#[test]
fn a_replaced_token_that_login_could_not_delete_is_left_in_the_ledger_for_reap() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("replace-ledger");
    let state = home.root.join("state");
    let state_env = ("NEUROIO_STATE_DIR", state.to_str().unwrap());
    let ledger = || std::fs::read_to_string(state.join("ledger.json")).unwrap_or_default();
    json(&home.login(&fake, None));
    // The delete of the old token (2) fails, as a crash would leave it.
    fake.inject_at(
        "DELETE",
        "/v1/tokens/2/",
        neuroio::fake::Fault::status(503),
        10,
    );
    let mut command = neuroio();
    let password = home.root.join("password");
    let url = fake.url();
    let again = command
        .args(["login", "--username", "root", "--password-file"])
        .arg(&password)
        .args(["--iam-url", &url, "--api-url", &url])
        .env("NEUROIO_CONFIG_DIR", home.config_dir())
        .env(state_env.0, state_env.1)
        .env_remove("NEUROIO_API_TOKEN")
        .env_remove("NEUROIO_IAM_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("could not be deleted"),
        "{}",
        stderr(&again)
    );
    assert_eq!(ids(&fake), [3, 2, 1]);
    let entries: Value = serde_json::from_str(&ledger()).unwrap();
    assert_eq!(entries["entries"][0]["id"], 2);
    assert_eq!(entries["entries"][0]["profile"], "default");
    assert_eq!(
        entries["entries"][0]["scope"],
        serde_json::json!({"account": "root"})
    );
    assert!(!ledger().contains(&stored_key(&home, "default")));
    fake.clear_faults();
    // Someone deletes it first: to the reap, with a token of the same
    // account, a 404 means it is gone.
    client(&fake, fake.root_token()).tokens().delete(2).unwrap();
    fake.clear_requests();

    // The login process is gone: reap, with the profile's new token.
    let reaped = json(&home.run(&["tokens", "reap"], &[state_env]));

    assert_eq!(reaped, serde_json::json!({"reaped": [2], "kept": 0}));
    assert_eq!(ids(&fake), [3, 1]);
    let sent: Vec<(String, String)> = seen_requests(&fake)
        .into_iter()
        .filter(|(_, path)| path != "/v1/tokens/")
        .collect();
    assert_eq!(
        sent,
        [
            ("DELETE".to_owned(), "/v1/tokens/2/".to_owned()),
            ("GET".to_owned(), "/v1/whoami/".to_owned()),
        ]
    );
    // A login that deletes the old token leaves nothing in the ledger.
    let third = home.run(
        &[
            "login",
            "--username",
            "root",
            "--password-file",
            password.to_str().unwrap(),
        ],
        &[state_env],
    );
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    assert_eq!(ids(&fake), [4, 1]);
    let entries: Value = serde_json::from_str(&ledger()).unwrap();
    assert_eq!(entries["entries"], serde_json::json!([]));
}

#[test]
fn a_login_that_cannot_be_stored_deletes_its_token_and_leaves_the_file_whole() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("unstored");
    json(&home.login(&fake, None));
    let before = std::fs::read(home.file()).unwrap();
    // The temporary file's place is taken: the write cannot happen.
    let temporary = home.config_dir().join("credentials.toml.tmp");
    std::fs::create_dir(&temporary).unwrap();

    let output = home.login(&fake, None);

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        format!(
            "error: cannot write {}: Is a directory (os error 21); the new token 3 could not be \
             stored, so it was deleted again\n",
            home.file().display(),
        )
    );
    assert_eq!(std::fs::read(home.file()).unwrap(), before);
    assert_eq!(
        ids(&fake),
        [2, 1],
        "the new token is gone, the old one kept"
    );
}

#[test]
fn login_without_storing_prints_the_key_and_writes_nothing() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("nostore");
    let password = home.root.join("password");
    std::fs::write(&password, fake.root_password()).unwrap();

    let output = home.run(
        &[
            "login",
            "--no-store",
            "--username",
            "root",
            "--password-file",
            password.to_str().unwrap(),
        ],
        &[("NEUROIO_IAM_URL", &fake.url())],
    );

    let shown = json(&output);
    assert_eq!(shown["token"]["id"], 2);
    let key = client(&fake, fake.root_token())
        .tokens()
        .get(2)
        .unwrap()
        .key;
    assert_eq!(shown["token"]["key"], key.secret());
    assert!(!home.config_dir().exists());
}

#[cfg(unix)]
#[test]
fn a_file_others_can_read_is_refused_with_the_chmod_that_fixes_it() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeIam::start().unwrap();
    let home = Home::new("readable");
    json(&home.login(&fake, None));
    std::fs::set_permissions(home.file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    fake.clear_requests();

    let list = home.run(&["tokens", "list"], &[]);
    let login = home.login(&fake, None);

    let path = home.file().display().to_string();
    let expected = format!(
        "error: {path} holds API tokens but its mode 0644 lets group or others read or change \
         it; fix it with: chmod 600 {path}\n"
    );
    for output in [&list, &login] {
        assert_eq!(output.status.code(), Some(2));
        assert_eq!(stderr(output), expected);
        assert_eq!(stdout(output), "");
    }
    assert!(fake.requests().is_empty(), "nothing was sent");
    assert_eq!(mode(&home.file()), 0o644, "the file is left as it was");
}

#[cfg(unix)]
#[test]
fn a_malformed_file_names_file_and_line_and_is_never_overwritten() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeIam::start().unwrap();
    let home = Home::new("malformed");
    std::fs::create_dir_all(home.config_dir()).unwrap();
    let text = "[default]\ntoken_id = \"s3cret-key-material\"\n";
    std::fs::write(home.file(), text).unwrap();
    std::fs::set_permissions(home.file(), std::fs::Permissions::from_mode(0o600)).unwrap();

    let list = home.run(&["tokens", "list"], &[]);
    let login = home.login(&fake, None);
    let logout = home.run(&["auth", "logout"], &[]);

    for output in [&list, &login, &logout] {
        assert_eq!(output.status.code(), Some(2));
        assert!(
            stderr(output).starts_with(&format!(
                "error: {}:2: malformed credentials file: ",
                home.file().display()
            )),
            "{}",
            stderr(output)
        );
        assert!(!stderr(output).contains("s3cret"), "{}", stderr(output));
    }
    assert_eq!(std::fs::read_to_string(home.file()).unwrap(), text);
    assert!(fake.requests().is_empty());
}

#[cfg(unix)]
#[test]
fn a_symlinked_file_is_never_written_through() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("symlink");
    json(&home.login(&fake, None));
    let real = home.root.join("dotfiles-credentials.toml");
    std::fs::rename(home.file(), &real).unwrap();
    std::os::unix::fs::symlink(&real, home.file()).unwrap();
    let before = std::fs::read(&real).unwrap();
    // Read through the link, as the library reads it.
    let key = stored_key(&home, "default");
    fake.clear_requests();

    let login = home.login(&fake, None);
    let logout = home.run(&["auth", "logout"], &[]);
    let list = home.run(&["whoami"], &[]);

    let expected = format!(
        "error: {path} is a symbolic link to {real}; neuroio writes the credentials file by \
         replacing it, which would replace the link and leave {real} stale, so it writes \
         nothing: replace the link with the file itself, or set NEUROIO_CONFIG_DIR to the \
         folder that holds {real}\n",
        path = home.file().display(),
        real = real.display()
    );
    for output in [&login, &logout] {
        assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
        assert_eq!(stderr(output), expected);
        assert_eq!(stdout(output), "");
    }
    assert_eq!(json(&list)["username"], "root");
    assert!(
        std::fs::symlink_metadata(home.file())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&real).unwrap(), before);
    assert!(!home.config_dir().join("credentials.toml.tmp").exists());
    assert_eq!(
        seen(&fake),
        [("GET".to_owned(), "/v1/whoami/".to_owned(), auth(&key))],
        "neither login nor logout sent anything"
    );
    assert_eq!(ids(&fake), [2, 1], "no token was made or deleted");
}

#[test]
fn auth_status_says_where_the_token_came_from_and_what_it_is() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("status");
    let login = json(&home.login(&fake, None));

    let from_profile = home.run(&["auth", "status"], &[]);
    let from_env = home.run(
        &["auth", "status"],
        &[
            ("NEUROIO_API_TOKEN", &fake.root_token()),
            ("NEUROIO_IAM_URL", &fake.url()),
        ],
    );

    let status = json(&from_profile);
    assert_eq!(
        field_names(&status),
        [
            "checked", "file", "profile", "source", "space", "token", "user"
        ]
    );
    assert_eq!(status["profile"], "default");
    assert_eq!(status["source"], "profile");
    assert_eq!(status["file"], home.file().to_str().unwrap());
    // The user and the token in the shapes `login` prints them, and the
    // time the token has left.
    assert_eq!(status["user"], serde_json::json!({"username": "root"}));
    assert_eq!(status["user"], login["user"]);
    assert_eq!(
        status["space"],
        serde_json::json!({"id": 1, "name": "default"})
    );
    assert_eq!(
        field_names(&status["token"]),
        [
            "created",
            "expired",
            "expires",
            "id",
            "is_active",
            "kind",
            "seconds_left"
        ]
    );
    let mut same = status["token"].clone();
    same.as_object_mut().unwrap().remove("seconds_left");
    assert_eq!(same, login["token"]);
    assert_eq!(status["token"]["expired"], false);
    assert_eq!(status["token"]["id"], 2);
    assert_eq!(status["token"]["kind"], "temporary");
    let left = status["token"]["seconds_left"].as_u64().unwrap();
    assert!((86_000..=86_400).contains(&left), "{left}");
    let env = json(&from_env);
    assert_eq!(env["source"], "environment");
    assert_eq!(env["file"], serde_json::Value::Null);
    assert_eq!(env["token"]["id"], 1);
    assert_eq!(env["token"]["kind"], "permanent");
    assert_eq!(env["token"]["expired"], false);
    assert_eq!(env["token"]["expires"], serde_json::Value::Null);
    assert_eq!(env["user"], serde_json::json!({"username": "root"}));
    assert_eq!(env["token"]["seconds_left"], serde_json::Value::Null);
    assert_no_key(&fake, &from_profile);

    let table = home.run(&["auth", "status", "--output", "table"], &[]);
    assert_eq!(table.status.code(), Some(0));
    let lines: Vec<&str> = std::str::from_utf8(&table.stdout)
        .unwrap()
        .lines()
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("PROFILE  SOURCE"), "{}", lines[0]);
    assert!(
        lines[1].starts_with("default  profile default in "),
        "{}",
        lines[1]
    );
    assert_no_key(&fake, &table);
}

#[test]
fn auth_status_of_a_refused_token_exits_4_with_a_hint_to_log_in() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("refused");
    json(&home.login(&fake, None));
    client(&fake, fake.root_token()).tokens().delete(2).unwrap();

    let output = home.run(&["auth", "status"], &[]);

    assert_eq!(output.status.code(), Some(4));
    // What the file says is still shown, marked as not checked.
    let shown: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(shown["checked"], false);
    assert_eq!(shown["profile"], "default");
    assert_eq!(shown["user"]["username"], "root");
    assert_eq!(shown["token"]["id"], 2);
    assert!(shown["token"]["expires"].as_str().unwrap().ends_with('Z'));
    assert!(
        stderr(&output).ends_with(
            "\nthe API token was refused; log in again: neuroio login --username root --profile default\n"
        ),
        "{}",
        stderr(&output)
    );

    // A refused token from elsewhere than the profile: logging in to the
    // profile would not change it.
    let key = stored_key(&home, "default");
    let url = fake.url();
    let from_env = home.run(
        &["auth", "status", "--retries", "0"],
        &[("NEUROIO_API_TOKEN", &key), ("NEUROIO_IAM_URL", &url)],
    );
    assert_eq!(from_env.status.code(), Some(4));
    assert_eq!(
        stderr(&from_env),
        format!(
            "error: API error (HTTP 401): Invalid token.\n{LOG_IN_AGAIN}\nthe API token was \
             refused; it came from NEUROIO_API_TOKEN: set that to a working token, or unset it to \
             use the profile `neuroio login` stores\n"
        )
    );
    let file = temp_file("status-refused", "token", &key);
    let from_file = home.run(
        &["auth", "status", "--token-file", file.to_str().unwrap()],
        &[("NEUROIO_IAM_URL", &url)],
    );
    assert_eq!(from_file.status.code(), Some(4));
    assert!(
        stderr(&from_file).ends_with(&format!(
            "\nthe API token was refused; it came from --token-file {}: put a working token \
             there, or leave the option out to use the profile `neuroio login` stores\n",
            file.display()
        )),
        "{}",
        stderr(&from_file)
    );
    assert!(!stderr(&from_file).contains("--profile"));
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[test]
fn logout_deletes_the_token_then_removes_it_from_the_file() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("logout");
    json(&home.login(&fake, None));
    let key = stored_key(&home, "default");
    fake.clear_requests();

    let output = home.run(&["auth", "logout"], &[]);

    assert_eq!(
        json(&output),
        serde_json::json!({"profile": "default", "logged_out": true, "token_id": 2})
    );
    assert_eq!(
        seen(&fake),
        [("DELETE".to_owned(), "/v1/tokens/2/".to_owned(), auth(&key))]
    );
    assert_eq!(ids(&fake), [1]);
    let profiles = home.read();
    let kept = profiles.get("default").unwrap();
    assert_eq!(kept.token, None);
    assert_eq!(kept.token_id, None);
    assert_eq!(kept.expires, None);
    assert_eq!(kept.username.as_deref(), Some("root"));
    assert_eq!(kept.iam_url.as_deref(), Some(fake.url().as_str()));
    let after = home.run(&["tokens", "list"], &[]);
    assert_eq!(after.status.code(), Some(2));
    assert!(stderr(&after).contains("holds no token (logged out?)"));
}

#[test]
fn logout_tolerates_a_token_already_gone() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("gone");
    json(&home.login(&fake, None));
    client(&fake, fake.root_token()).tokens().delete(2).unwrap();

    let output = home.run(&["auth", "logout"], &[]);

    assert_eq!(json(&output)["logged_out"], true);
    assert_eq!(home.read().get("default").unwrap().token, None);
}

#[test]
fn auth_list_shows_every_profile_without_keys() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("list");
    json(&home.login(&fake, None));
    json(&home.login(&fake, Some("staging")));
    json(&home.run(&["auth", "logout", "--profile", "staging"], &[]));

    let listed = home.run(&["auth", "list"], &[]);
    let table = home.run(&["auth", "list", "--output", "table"], &[]);
    // As every list: one object per line in JSON Lines.
    let lines = home.run(&["auth", "list", "-o", "jsonl"], &[]);
    let lines: Vec<serde_json::Value> = stdout(&lines)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["profile"], "default");
    assert_eq!(lines[1]["profile"], "staging");

    let listed = json(&listed);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        field_names(&listed[0]),
        [
            "api_url",
            "current",
            "expires",
            "iam_url",
            "logged_in",
            "profile",
            "token_id",
            "username"
        ]
    );
    let by_name: HashMap<&str, &serde_json::Value> = listed
        .iter()
        .map(|p| (p["profile"].as_str().unwrap(), p))
        .collect();
    assert_eq!(by_name["default"]["logged_in"], true);
    assert_eq!(by_name["default"]["token_id"], 2);
    assert_eq!(by_name["default"]["username"], "root");
    assert_eq!(by_name["default"]["iam_url"], fake.url().as_str());
    assert_eq!(by_name["staging"]["logged_in"], false);
    assert_eq!(by_name["staging"]["token_id"], serde_json::Value::Null);
    assert_eq!(by_name["default"]["current"], true);
    assert_eq!(by_name["staging"]["current"], false);
    let text = stdout(&table);
    let lines: Vec<&str> = text.lines().collect();
    let url_width = fake.url().len().max("IAM_URL".len());
    assert_eq!(
        lines[0],
        format!(
            "CURRENT  PROFILE  USER  {:<url_width$}  TIME_LEFT",
            "IAM_URL"
        )
    );
    assert!(
        lines[1].starts_with(&format!("*        default  root  {}  23h5", fake.url())),
        "{text}"
    );
    assert_eq!(
        lines[2],
        format!("         staging  root  {}  logged out", fake.url())
    );
    assert_no_key(&fake, &table);
    assert!(!text.contains(&stored_key(&home, "default")));
}

/// Not a test of its own: run by [`the_library_reads_the_file_login_wrote`]
/// in a child process, whose environment it may read without racing other
/// tests.
#[test]
fn library_child() {
    if std::env::var_os("NEUROIO_TEST_LIBRARY_CHILD").is_none() {
        return;
    }
    let client = neuroio::Client::from_profile(None).unwrap();
    println!("iam_url={}", client.iam_url());
    println!("user={}", client.whoami().unwrap().username().unwrap());
    let missing = neuroio::Client::from_profile(Some("prod")).unwrap_err();
    println!("missing={missing}");
}

#[test]
fn the_library_reads_the_file_login_wrote() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("library");
    json(&home.login(&fake, Some("staging")));

    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "profiles::library_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("NEUROIO_TEST_LIBRARY_CHILD", "1")
        .env("NEUROIO_CONFIG_DIR", home.config_dir())
        .env("NEUROIO_PROFILE", "staging")
        .env_remove("NEUROIO_API_TOKEN")
        .env_remove("NEUROIO_IAM_URL")
        .output()
        .unwrap();

    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}{}", stderr(&output));
    assert!(
        text.contains(&format!("iam_url={}\n", fake.url())),
        "{text}"
    );
    assert!(text.contains("user=root\n"), "{text}");
    assert!(
        text.contains(&format!(
            "missing=no profile \"prod\" in {} (it has staging; use one with --profile NAME, or make \
             one the current profile with neuroio auth switch NAME): log in with neuroio login \
             --username USER --profile prod\n",
            home.file().display()
        )),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn auth_token_refuses_a_token_its_profile_says_has_expired() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new("expired");
    std::fs::create_dir_all(home.config_dir()).unwrap();
    std::fs::write(
        home.file(),
        "[default]\ntoken = \"0123456789abcdef\"\nexpires = \"2021-05-29T10:37:51Z\"\n",
    )
    .unwrap();
    std::fs::set_permissions(home.file(), std::fs::Permissions::from_mode(0o600)).unwrap();

    let output = home.run(&["auth", "token"], &[]);

    assert_eq!(output.status.code(), Some(4));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "error: the token of profile default expired at 2021-05-29T10:37:51Z; log in again: \
         neuroio login --username USER --profile default\n"
    );
}

/// The workflow the fake server suggests: log in once into a profile, make
/// it current, then plain commands, the audit included.
#[test]
fn a_profile_for_the_fake_server() {
    let home = Home::new("fake-server");
    let (mut child, info, _out) = start_fake_server(&[]);
    let url = info["url"].as_str().unwrap();
    let password = home.root.join("password");
    std::fs::write(&password, info["user"]["password"].as_str().unwrap()).unwrap();

    let login = home.run(
        &[
            "login",
            "--profile",
            "fake",
            "--username",
            "root",
            "--iam-url",
            url,
            "--api-url",
            url,
            "--password-file",
            password.to_str().unwrap(),
        ],
        &[],
    );
    let switched = home.run(&["auth", "switch", "fake"], &[]);
    let audit = home.run(&["tokens", "audit", "--fail"], &[]);

    assert_eq!(json(&login)["profile"], "fake");
    assert_eq!(
        stderr(&login),
        "note: commands use profile fake when it is named (--profile fake, or \
         NEUROIO_PROFILE=fake); to use it when none is: neuroio auth switch fake\n"
    );
    assert_eq!(switched.status.code(), Some(0), "{}", stderr(&switched));
    let report = json(&audit);
    assert_eq!(report["findings"], serde_json::json!([]));
    assert_eq!(report["collections"][0]["temporary"], 1);
    terminate(&mut child);
    let done = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&done.stderr);
    assert!(
        said.contains(&format!(
            "\n  neuroio login --profile fake --username root --iam-url {url} --api-url \
             {url}\n  neuroio auth switch fake\n"
        )),
        "{said}"
    );
}

/// The profile's old token lives on a server that is gone (a simulator
/// that was restarted): the new log in is stored all the same, exit 0, and
/// standard error says which token was left and where.
#[test]
fn a_login_whose_old_token_cannot_be_deleted_succeeds_with_a_warning() {
    let home = Home::new("old-server-gone");
    let first = FakeIam::start().unwrap();
    assert_eq!(home.login(&first, None).status.code(), Some(0));
    let gone = first.url();
    drop(first);
    let fake = FakeIam::start().unwrap();

    let output = home.login(&fake, None);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let warning = stderr(&output);
    assert!(
        warning.starts_with(&format!(
            "warning: logged in and stored the new token in profile default, but its old token 2 \
             at {gone} could not be deleted ("
        )),
        "{warning}"
    );
    let profile = home.read().get("default").cloned().unwrap();
    assert_eq!(profile.iam_url.as_deref(), Some(fake.url().as_str()));
    assert_eq!(profile.token_id, Some(2));
    let token = client(&fake, fake.root_token()).tokens().get(2).unwrap();
    assert_eq!(profile.token.as_ref(), Some(&token.key));
}

#[cfg(unix)]
#[test]
fn a_stored_token_that_cannot_be_sent_is_refused_without_showing_it() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeIam::start().unwrap();
    let home = Home::new("unsendable");
    std::fs::create_dir_all(home.config_dir()).unwrap();
    let url = fake.url();
    for (stored, why) in [
        ("", "the token is empty"),
        (
            "s3cret part\\ntwo",
            "the token contains whitespace or control characters; copy it again without them",
        ),
        (
            "s3cret-café",
            "the token contains non-ASCII characters; NeuroIO tokens are ASCII",
        ),
    ] {
        std::fs::write(
            home.file(),
            format!("[default]\ntoken = \"{stored}\"\niam_url = \"{url}\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(home.file(), std::fs::Permissions::from_mode(0o600)).unwrap();

        let token = home.run(&["auth", "token"], &[]);
        let list = home.run(&["tokens", "list"], &[]);

        let expected = format!(
            "error: the token of profile default in {} cannot be sent: {why}; log in again: \
             neuroio login --username USER --profile default\n",
            home.file().display()
        );
        for output in [&token, &list] {
            assert_eq!(output.status.code(), Some(2), "{stored:?}");
            assert_eq!(stdout(output), "", "{stored:?}");
            assert_eq!(stderr(output), expected);
            assert!(!stderr(output).contains("s3cret"));
        }
    }
    let from_env = home.run(&["auth", "token"], &[("NEUROIO_API_TOKEN", "s3cret two")]);
    assert_eq!(from_env.status.code(), Some(2));
    assert_eq!(stdout(&from_env), "");
    assert_eq!(
        stderr(&from_env),
        "error: the API token in NEUROIO_API_TOKEN cannot be sent: the token contains \
         whitespace or control characters; copy it again without them\n"
    );
    assert!(fake.requests().is_empty(), "nothing was sent");
}

#[test]
fn auth_switch_chooses_the_profile_that_flag_and_environment_still_override() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("switch");
    // A login into a named profile does not make it current (a later login
    // with no --profile would go to its URLs): it says how to.
    let first = home.login(&fake, Some("fake"));
    json(&first);
    assert_eq!(
        stderr(&first),
        "note: commands use profile fake when it is named (--profile fake, or \
         NEUROIO_PROFILE=fake); to use it when none is: neuroio auth switch fake\n"
    );
    assert_eq!(home.read().current(), None);
    json(&home.login(&fake, Some("second")));
    // No current profile yet: the error names the profiles there are.
    let before = home.run(&["tokens", "list"], &[]);
    assert_eq!(before.status.code(), Some(2));
    assert!(
        stderr(&before).contains(
            "(it has fake, second; use one with --profile NAME, or make one the current \
             profile with neuroio auth switch NAME)"
        ),
        "{}",
        stderr(&before)
    );

    let switched = home.run(&["auth", "switch", "second"], &[]);
    assert_eq!(
        json(&switched),
        serde_json::json!({"current_profile": "second"})
    );
    assert_eq!(home.read().current(), Some("second"));
    let text = std::fs::read_to_string(home.file()).unwrap();
    assert!(text.contains("current = \"second\"\n"), "{text}");

    fake.clear_requests();
    let listed = json(&home.run(&["tokens", "list"], &[]));
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(
        fake.requests()[0].header("authorization"),
        Some(format!("Token {}", stored_key(&home, "second")).as_str())
    );

    // --profile and NEUROIO_PROFILE still win over the current profile.
    let by_flag = home.run(&["tokens", "list", "--profile", "other"], &[]);
    let by_env = home.run(&["tokens", "list"], &[("NEUROIO_PROFILE", "other")]);
    for output in [&by_flag, &by_env] {
        assert_eq!(output.status.code(), Some(2));
        assert!(
            stderr(output).starts_with("error: no profile \"other\" in "),
            "{}",
            stderr(output)
        );
        // It names the profiles there are.
        assert!(
            stderr(output).contains("(it has fake, second; "),
            "{}",
            stderr(output)
        );
    }
    // Switching to a profile that is not there changes nothing.
    let missing = home.run(&["auth", "switch", "nope"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).starts_with("error: no profile \"nope\" in "),
        "{}",
        stderr(&missing)
    );
    assert_eq!(home.read().current(), Some("second"));
    // The library follows the same choice.
    let listed = json(&home.run(&["auth", "list"], &[]));
    assert_eq!(listed[0]["profile"], "fake");
    assert_eq!(listed[0]["current"], false);
    assert_eq!(listed[1]["profile"], "second");
    assert_eq!(listed[1]["current"], true);
    // Once a profile is current, a login into it says nothing more.
    let again = home.login(&fake, Some("second"));
    assert_eq!(stderr(&again), "");
}

#[test]
fn auth_login_is_login() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("auth-login");
    let password = home.root.join("password");
    std::fs::write(&password, format!("{}\n", fake.root_password())).unwrap();
    let url = fake.url();

    let output = home.run(
        &[
            "auth",
            "login",
            "--username",
            "root",
            "--password-file",
            password.to_str().unwrap(),
            "--iam-url",
            &url,
            "--api-url",
            &url,
            "--profile",
            "viaauth",
        ],
        &[],
    );

    let shown = json(&output);
    assert_eq!(shown["profile"], "viaauth");
    assert_eq!(shown["user"]["username"], "root");
    assert_eq!(shown["token"]["id"], 2);
    let stored = home.read();
    let profile = stored.get("viaauth").unwrap();
    assert_eq!(profile.token_id, Some(2));
    assert_eq!(profile.iam_url.as_deref(), Some(url.as_str()));
    assert_eq!(profile.api_url.as_deref(), Some(url.as_str()));
}

#[test]
fn an_expired_profile_token_says_in_one_line_how_to_log_in_again() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("expired");
    json(&home.login(&fake, Some("short")));
    // The stored expiry, an hour ago.
    let text = std::fs::read_to_string(home.file()).unwrap();
    let expires = text
        .lines()
        .find(|line| line.starts_with("expires = "))
        .unwrap()
        .to_owned();
    let past = (time::OffsetDateTime::now_utc() - time::Duration::hours(1))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    std::fs::write(
        home.file(),
        text.replace(&expires, &format!("expires = \"{past}\"")),
    )
    .unwrap();
    fake.clear_requests();

    for args in [
        &["tokens", "list", "--profile", "short"][..],
        &["auth", "token", "--profile", "short"],
    ] {
        let output = home.run(args, &[]);
        assert_eq!(output.status.code(), Some(4), "{args:?}");
        assert_eq!(stdout(&output), "");
        assert_eq!(
            stderr(&output),
            format!(
                "error: the token of profile short expired at {past}; log in again: neuroio login \
                 --username root --profile short\n"
            ),
            "{args:?}"
        );
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[test]
fn auth_status_with_the_server_down_shows_the_profile_then_the_failure() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("down");
    let login = json(&home.login(&fake, None));
    drop(fake);

    let output = home.run(&["auth", "status", "--retries", "0", "--timeout", "2"], &[]);

    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let shown: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(shown["checked"], false);
    assert_eq!(shown["profile"], "default");
    assert_eq!(shown["source"], "profile");
    assert_eq!(shown["user"]["username"], "root");
    assert_eq!(shown["token"]["id"], login["token"]["id"]);
    let stored = login["token"]["expires"].as_str().unwrap();
    let stored =
        time::OffsetDateTime::parse(stored, &time::format_description::well_known::Rfc3339)
            .unwrap();
    assert_eq!(
        shown["token"]["expires"],
        stored
            .replace_nanosecond(0)
            .unwrap()
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    assert!(
        stderr(&output).starts_with("error: "),
        "{}",
        stderr(&output)
    );

    let table = home.run(&["auth", "status", "--retries", "0", "-o", "table"], &[]);
    let text = stdout(&table);
    assert!(text.starts_with("PROFILE  SOURCE"), "{text}");
    let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..2], ["default", "profile"], "{text}");
    assert_eq!(
        row[row.len() - 4..row.len() - 1],
        ["root", "2", "-"],
        "{text}"
    );
    assert!(row[row.len() - 1].starts_with("23h"), "{text}");
}

#[test]
fn login_with_a_token_file_checks_the_token_and_stores_it() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("token-file");
    let sdk = client(&fake, fake.root_token());
    let mine = sdk.tokens().create(false).unwrap();
    let file = home.root.join("token");
    std::fs::write(&file, format!("{}\n", mine.key.secret())).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let url = fake.url();
    fake.clear_requests();

    let output = home.run(
        &[
            "login",
            "--token-file",
            file.to_str().unwrap(),
            "--iam-url",
            &url,
            "--api-url",
            &url,
            "--profile",
            "brought",
        ],
        &[],
    );

    let shown = json(&output);
    assert_eq!(shown["profile"], "brought");
    assert_eq!(shown["user"]["username"], "root");
    assert_eq!(shown["token"]["id"], mine.id);
    assert!(shown["token"].get("key").is_none());
    let paths = seen_requests(&fake);
    assert_eq!(
        paths,
        [
            ("GET".to_owned(), "/v1/whoami/".to_owned()),
            (
                "GET".to_owned(),
                format!("/v1/tokens/{}/", mine.key.secret())
            ),
        ]
    );
    let stored = home.read();
    let profile = stored.get("brought").unwrap();
    assert_eq!(
        profile.token.as_ref().map(|k| k.secret()),
        Some(mine.key.secret())
    );
    assert_eq!(profile.token_id, Some(mine.id));
    assert_eq!(profile.expires, mine.expires);
    assert_eq!(profile.username.as_deref(), Some("root"));
    // The token was not the tool's to delete, and still works.
    assert!(sdk.with_api_token(&mine.key).unwrap().whoami().is_ok());

    // A token the API refuses is not stored.
    std::fs::write(&file, "0123456789abcdef0123456789abcdef01234567\n").unwrap();
    let refused = home.run(
        &[
            "login",
            "--token-file",
            file.to_str().unwrap(),
            "--iam-url",
            &url,
            "--api-url",
            &url,
            "--profile",
            "refused",
        ],
        &[],
    );
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    assert!(home.read().get("refused").is_none());
}

/// `login` in `home` into `profile`, as a child process not waited for.
fn spawn_login(home: &Home, fake: &FakeIam, profile: &str) -> std::process::Child {
    // A file per profile: another login may be reading the others.
    let password = home.root.join(format!("password-{profile}"));
    std::fs::write(&password, format!("{}\n", fake.root_password())).unwrap();
    let url = fake.url();
    neuroio()
        .args(["login", "--username", "root", "--password-file"])
        .arg(&password)
        .args(["--iam-url", &url, "--api-url", &url, "--profile", profile])
        .env_remove("NEUROIO_API_TOKEN")
        .env_remove("NEUROIO_IAM_URL")
        .env_remove("NEUROIO_API_URL")
        .env("NEUROIO_CONFIG_DIR", home.config_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn sixteen_logins_and_then_sixteen_logouts_at_once_all_succeed() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("parallel");
    let names: Vec<String> = (0..16).map(|i| format!("p{i}")).collect();

    let logins: Vec<_> = names.iter().map(|n| spawn_login(&home, &fake, n)).collect();
    for child in logins {
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let stored = home.read();
    assert_eq!(stored.iter().count(), 16);
    let ids: Vec<u64> = names
        .iter()
        .map(|n| stored.get(n).unwrap().token_id.unwrap())
        .collect();
    let live = client(&fake, fake.root_token())
        .tokens()
        .list(None, 100, 0)
        .unwrap();
    assert_eq!(live.len(), 17, "the root token and one per profile");

    let logouts: Vec<_> = names
        .iter()
        .map(|n| {
            neuroio()
                .args(["auth", "logout", "--profile", n])
                .env_remove("NEUROIO_API_TOKEN")
                .env_remove("NEUROIO_IAM_URL")
                .env_remove("NEUROIO_API_URL")
                .env("NEUROIO_CONFIG_DIR", home.config_dir())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in logouts {
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let stored = home.read();
    assert_eq!(
        stored.iter().count(),
        16,
        "profiles keep their user and URLs"
    );
    assert!(
        stored
            .iter()
            .all(|(_, p)| p.token.is_none() && p.token_id.is_none())
    );
    let live = client(&fake, fake.root_token())
        .tokens()
        .list(None, 100, 0)
        .unwrap();
    assert_eq!(live.len(), 1, "only the root token: {live:?}");
    assert!(live.iter().all(|t| !ids.contains(&t.id)));
    let leftovers: Vec<String> = std::fs::read_dir(home.config_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_login_killed_at_any_moment_leaves_nothing_that_blocks_the_next_one() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("killed");
    json(&home.login(&fake, None));
    // Kill logins at moments spread over their run, writing included.
    for round in 0..24u64 {
        let mut child = spawn_login(&home, &fake, "default");
        std::thread::sleep(Duration::from_millis(round * 2));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let next = home.login(&fake, None);
        assert_eq!(
            next.status.code(),
            Some(0),
            "round {round}: {}",
            stderr(&next)
        );
    }
    let stored = home.read();
    let kept = stored.get("default").unwrap().token.clone().unwrap();
    assert!(client(&fake, kept.secret()).whoami().is_ok());
}

#[test]
fn login_with_one_url_of_its_own_is_refused_before_anything_is_sent() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("half");
    let password = home.root.join("password");
    std::fs::write(&password, format!("{}\n", fake.root_password())).unwrap();
    let url = fake.url();
    let login = |extra: &[&str]| {
        let mut args = vec!["login", "--username", "root", "--password-file"];
        args.push(password.to_str().unwrap());
        args.extend_from_slice(extra);
        home.run(&args, &[])
    };

    let iam_only = login(&["--iam-url", &url]);
    let api_only = login(&["--api-url", &url]);

    assert_eq!(iam_only.status.code(), Some(2));
    assert_eq!(
        stderr(&iam_only),
        format!(
            "error: the profile would pair the IAM URL {url} with the public API URL \
             https://api.neuroio.com, and its token would go to both services; give --api-url \
             too (for the simulator, its one URL: --api-url {url})\n"
        )
    );
    assert_eq!(api_only.status.code(), Some(2));
    assert!(
        stderr(&api_only).starts_with(&format!(
            "error: the profile would pair the API URL {url} with the public IAM URL \
             https://iam.neuroio.com"
        )),
        "{}",
        stderr(&api_only)
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    assert!(!home.file().exists());
}

#[test]
fn a_url_flag_that_overrides_the_profiles_url_is_warned_about() {
    let fake = FakeIam::start().unwrap();
    let other = FakeIam::start().unwrap();
    let home = Home::new("override");
    json(&home.login(&fake, None));
    let elsewhere = other.url();

    let output = home.run(&["whoami", "--iam-url", &elsewhere], &[]);

    assert_eq!(
        stderr(&output).lines().next().unwrap(),
        format!(
            "warning: --iam-url {elsewhere} overrides the profile's {}; leave --iam-url out to \
             use the profile's",
            fake.url()
        )
    );
    // The profile's own URL given again: nothing to say.
    let same = home.run(&["whoami", "--iam-url", &fake.url()], &[]);
    assert_eq!(stderr(&same), "");
    assert_eq!(same.status.code(), Some(0));
}

#[cfg(unix)]
#[test]
fn a_config_folder_others_can_write_is_refused_with_the_chmod() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeIam::start().unwrap();
    let home = Home::new("open-folder");
    json(&home.login(&fake, None));
    let folder = home.config_dir();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).unwrap();
    fake.clear_requests();

    let list = home.run(&["tokens", "list"], &[]);
    let login = home.login(&fake, None);

    for output in [&list, &login] {
        assert_eq!(output.status.code(), Some(2));
        assert_eq!(
            stderr(output),
            format!(
                "error: {} holds the credentials file but its mode 0777 lets group or others \
                 write into it, so another user could replace the file; fix it with: chmod 700 \
                 {}\n",
                folder.display(),
                folder.display()
            )
        );
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn a_token_brought_with_token_file_is_never_deleted_by_logout_or_a_new_login() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("imported");
    let sdk = client(&fake, fake.root_token());
    let mine = sdk.tokens().create(true).unwrap();
    let file = home.root.join("mine");
    std::fs::write(&file, format!("{}\n", mine.key.secret())).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let url = fake.url();
    let bring = || {
        home.run(
            &[
                "login",
                "--token-file",
                file.to_str().unwrap(),
                "--iam-url",
                &url,
                "--api-url",
                &url,
            ],
            &[],
        )
    };
    json(&bring());
    assert!(home.read().get("default").unwrap().imported);
    let text = std::fs::read_to_string(home.file()).unwrap();
    assert!(text.contains("imported = true\n"), "{text}");
    fake.clear_requests();

    let logout = home.run(&["auth", "logout"], &[]);

    assert_eq!(json(&logout)["logged_out"], true);
    assert_eq!(
        stderr(&logout),
        "note: the token of profile default was brought with `login --token-file`: it is \
         forgotten here and left on the server\n"
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    let profile = home.read().get("default").unwrap().clone();
    assert!(profile.token.is_none() && !profile.imported);
    assert!(sdk.tokens().get(mine.id).is_ok());

    // Brought again, then replaced by a password login: left as it is too.
    json(&bring());
    let replaced = home.login(&fake, None);
    json(&replaced);
    assert!(
        stderr(&replaced).contains(&format!(
            "note: profile default held its old token {}, which was left as it is",
            mine.id
        )),
        "{}",
        stderr(&replaced)
    );
    assert!(sdk.tokens().get(mine.id).is_ok());
    assert!(!home.read().get("default").unwrap().imported);
}

#[test]
fn delete_all_of_the_kind_of_the_profiles_token_says_it_deletes_that_token_too() {
    let fake = FakeIam::start().unwrap();
    let home = Home::new("delete-own-kind");
    json(&home.login(&fake, Some("lab")));
    let lab = [("NEUROIO_PROFILE", "lab")];
    fake.clear_requests();

    // Without --yes in a pipe: refused, saying the login's own token goes
    // too; nothing sent.
    let temporary = home.run(&["tokens", "delete-all", "--temporary"], &lab);
    let permanent = home.run(&["tokens", "delete-all", "--permanent"], &lab);
    let env_token = home.run(
        &["tokens", "delete-all", "--temporary"],
        &[
            ("NEUROIO_API_TOKEN", fake.root_token().as_str()),
            ("NEUROIO_IAM_URL", fake.url().as_str()),
        ],
    );

    assert_eq!(temporary.status.code(), Some(2));
    assert_eq!(
        stderr(&temporary),
        "error: refusing to delete temporary tokens without --yes, including the one in use \
         (the temporary token of profile lab): log in again afterwards\n"
    );
    assert_eq!(permanent.status.code(), Some(2));
    assert_eq!(
        stderr(&permanent),
        "error: refusing to delete permanent tokens without --yes\n"
    );
    assert_eq!(env_token.status.code(), Some(2));
    assert_eq!(
        stderr(&env_token),
        "error: refusing to delete temporary tokens without --yes, including the token in use \
         if it is temporary\n"
    );
    assert!(fake.requests().is_empty());

    // With --yes: deleted, and the way back in is said.
    let done = home.run(&["tokens", "delete-all", "--temporary", "--yes"], &lab);

    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    assert_eq!(
        json(&done),
        serde_json::json!({"deleted_all": {"collection": "tokens", "kind": "temporary"}})
    );
    assert_eq!(
        stderr(&done),
        "note: the token this command used was temporary and was deleted too; log in again \
         with: neuroio login --username root --profile lab\n"
    );
    let sent: Vec<(String, String, Option<String>)> = fake
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.query.clone()))
        .collect();
    assert_eq!(
        sent,
        [(
            "DELETE".to_owned(),
            "/v1/tokens/".to_owned(),
            Some("permanent=false".to_owned())
        )]
    );
    assert_eq!(ids(&fake), [1]);
}

#[test]
fn logout_local_forgets_the_token_without_a_request_for_a_server_that_is_gone() {
    let fake = FakeIam::start().unwrap();
    let mut gone = FakeIam::start().unwrap();
    let home = Home::new("logout-local");
    json(&home.login(&fake, None));
    json(&home.login(&gone, Some("old")));
    gone.shutdown();
    fake.clear_requests();

    // A live server: nothing is sent, and the token stays valid there.
    let local = home.run(&["auth", "logout", "--local"], &[]);

    assert_eq!(local.status.code(), Some(0), "{}", stderr(&local));
    assert_eq!(
        json(&local),
        serde_json::json!({"profile": "default", "logged_out": true, "token_id": 2})
    );
    assert_eq!(
        stderr(&local),
        "note: profile default forgets its token 2 without deleting it on the server \
         (--local); it stays valid there until it expires\n"
    );
    assert!(fake.requests().is_empty());
    assert_eq!(ids(&fake), [2, 1]);
    assert_eq!(home.read().get("default").unwrap().token, None);

    // A server that is gone: the plain logout fails and says the way out.
    let refused = home.run(&["auth", "logout", "--profile", "old"], &[]);
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(
        stderr(&refused).ends_with(
            "\nthe token was not deleted, and stays in profile old; try again, or forget it \
             here only with: neuroio auth logout --profile old --local\n"
        ),
        "{}",
        stderr(&refused)
    );
    assert!(home.read().get("old").unwrap().token.is_some());
    let forgotten = home.run(&["auth", "logout", "--profile", "old", "--local"], &[]);
    assert_eq!(forgotten.status.code(), Some(0), "{}", stderr(&forgotten));
    assert_eq!(json(&forgotten)["logged_out"], true);
    assert_eq!(home.read().get("old").unwrap().token, None);
}
