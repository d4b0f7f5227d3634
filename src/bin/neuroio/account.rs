//! The account's commands: login, who am I and the password.

use std::io::{self, Write};
use std::path::Path;

use neuroio::{Login, Profile, Profiles, TokenRef};
use serde_json::json;

use crate::args::{ApiArgs, Group, PasswordCommand};
use crate::context::{Api, builder, deliver, printer, profile_failure};
use crate::failure::Failure;
use crate::input::{PasswordSource, is_stdin, one_stdin_reader, token_from_stdin};
use crate::output::{Done, rfc3339, terminal_safe, token_value};
use crate::store;

/// `neuroio login`: a new temporary token from a user name and password,
/// stored in a profile (or, with `--no-store`, printed).
pub fn login(
    api: ApiArgs,
    username: &str,
    password_file: Option<&Path>,
    no_store: bool,
) -> Result<(), Failure> {
    // Given before `login` (after it, the parser refuses them).
    if api.token_file.is_some() {
        return Err(Failure::usage(
            "login needs no API token; --token-file does not apply",
        ));
    }
    if api.show_keys {
        return Err(Failure::usage(
            "--show-keys does not apply to login: with --no-store it prints the new key, \
             otherwise the key is stored, never printed",
        ));
    }
    if no_store {
        if api.profile.is_some() {
            return Err(Failure::usage(
                "--no-store stores nothing; --profile does not apply",
            ));
        }
        return login_and_print(api, username, password_file);
    }
    // Checked before logging in: a token that cannot be stored is not made.
    let name = Profiles::selected(api.profile.as_deref()).map_err(profile_failure)?;
    let path = Profiles::default_path().map_err(profile_failure)?;
    let before = store::load_or_empty(&path).map_err(profile_failure)?;
    store::check_writable(&path)?;
    let (client, login) = log_in(&api, username, password_file, before.get(&name))?;
    let token = &login.token;
    let mut profile = Profile::default();
    profile.token = Some(token.key.clone());
    profile.token_id = Some(token.id);
    profile.expires = token.expires;
    profile.iam_url = Some(client.iam_url().to_owned());
    profile.api_url = Some(client.api_url().to_owned());
    profile.username = Some(login.user.username.clone());
    let replaced = match store::update(&path, |profiles| profiles.insert(&name, profile)) {
        Ok(replaced) => replaced.map_err(profile_failure)?,
        Err(failure) => {
            let id = token.id;
            return Err(Failure::failed(
                match client.tokens().delete(TokenRef::from(id)) {
                    Ok(()) => format!(
                        "{}; the new token {id} could not be stored, so it was deleted again",
                        failure.message
                    ),
                    Err(cleanup) => format!(
                        "{}; the new token {id} could not be stored, and deleting it failed ({}); \
                         delete it with: neuroio tokens delete {id}",
                        failure.message,
                        Failure::from(cleanup).message
                    ),
                },
            ));
        }
    };
    let shown = json!({
        "profile": name,
        "file": path.display().to_string(),
        "user": &login.user,
        // The one shape of a token, without its key: it was stored.
        "token": token_value(token, false)?,
    });
    let row = vec![
        name.clone(),
        login.user.username.clone(),
        token.id.to_string(),
        token.expires.map_or_else(|| "never".to_owned(), rfc3339),
    ];
    let printed = printer(&api).record(
        &shown,
        &[(&["PROFILE", "USER", "TOKEN_ID", "EXPIRES"], vec![row])],
    );
    // The old token is deleted only now that the new one is stored.
    let old = replaced.filter(|old| old.token.as_ref() != Some(&token.key));
    if let Some(old) = old.filter(|old| old.token.is_some())
        && let Err(failure) = store::revoke(&api, &old)
    {
        let which = old.token_id.map_or_else(
            || "its old token".to_owned(),
            |id| format!("its old token {id}"),
        );
        // The log in itself succeeded and its token is stored: say what is
        // left behind (its server may simply be gone, as a restarted
        // simulator is), and exit as a success.
        let at = old.iam_url.as_deref().unwrap_or(neuroio::DEFAULT_IAM_URL);
        let _ = writeln!(
            io::stderr(),
            "warning: logged in and stored the new token in profile {name}, but {which} at {} \
             could not be deleted ({}); a temporary token expires on its own within 24 hours, \
             or delete it with a token of that account",
            terminal_safe(at),
            failure.message
        );
    }
    Ok(printed?)
}

/// Logs in at the URLs of the flags, the environment or `stored` (the
/// profile being replaced), in that order.
fn log_in(
    api: &ApiArgs,
    username: &str,
    password_file: Option<&Path>,
    stored: Option<&Profile>,
) -> Result<(neuroio::Client, Login), Failure> {
    let password = PasswordSource {
        file: password_file,
        option: "--password-file",
        name: "the password",
        prompt: &format!("Password for {username}: "),
    }
    .read()?;
    builder(api, stored)?
        .login(username, password)
        .map_err(|err| {
            let login_failed = err.is_login_failed();
            let mut failure = Failure::from(err);
            if login_failed {
                failure.code = 4;
            }
            failure
        })
}

/// `neuroio login --no-store`: the new token, key included, on standard
/// output.
fn login_and_print(
    api: ApiArgs,
    username: &str,
    password_file: Option<&Path>,
) -> Result<(), Failure> {
    let (client, login) = log_in(&api, username, password_file, None)?;
    let id = login.token.id;
    deliver(
        id,
        printer(&api).login(&login),
        &format!("neuroio tokens delete {id}"),
        |id| client.tokens().delete(TokenRef::from(id)),
    )
}

pub fn whoami(api: &Api) -> Result<(), Failure> {
    Ok(api.out.whoami(&api.client.whoami()?)?)
}

pub fn password(group: Group<PasswordCommand>, top: ApiArgs) -> Result<(), Failure> {
    let args = group.api.0.or(top);
    match group.command {
        PasswordCommand::Change {
            old_password_file,
            new_password_file,
            reset_tokens,
        } => {
            let reads = |file: &Option<std::path::PathBuf>| file.as_deref().is_some_and(is_stdin);
            one_stdin_reader(&[
                (
                    "the API token (--token-file -)",
                    token_from_stdin(args.token_file.as_deref()),
                ),
                ("--old-password-file -", reads(&old_password_file)),
                ("--new-password-file -", reads(&new_password_file)),
            ])?;
            let api = Api::new(args, ApiArgs::default())?;
            let old = PasswordSource {
                file: old_password_file.as_deref(),
                option: "--old-password-file",
                name: "the current password",
                prompt: "Current password: ",
            }
            .read()?;
            let new = PasswordSource {
                file: new_password_file.as_deref(),
                option: "--new-password-file",
                name: "the new password",
                prompt: "New password: ",
            }
            .read_confirmed("New password again: ")?;
            api.client
                .auth()
                .change_password(old, new, reset_tokens)
                .map_err(|err| {
                    // A wrong current password is a wrong password, as for
                    // login: exit 4.
                    let wrong = matches!(&err, neuroio::Error::Api(api)
                        if api.status == 400 && api.fields.iter().any(|f| f.name == "old_password"));
                    let mut failure = Failure::from(err);
                    if wrong {
                        failure.code = 4;
                    }
                    failure
                })?;
            if reset_tokens {
                let _ = writeln!(
                    io::stderr(),
                    "note: every token of the account was deleted, including the one this command used; \
                     log in again for a new one"
                );
            }
            Ok(api.out.done(&Done::PasswordChanged {
                tokens_reset: reset_tokens,
            })?)
        }
    }
}
