//! The account's commands: login, who am I and the password.

use std::io::{self, Write};
use std::path::Path;

use neuroio::TokenRef;

use crate::args::{ApiArgs, Group, PasswordCommand};
use crate::context::{Api, builder, deliver, printer};
use crate::failure::Failure;
use crate::input::{PasswordSource, is_stdin, one_stdin_reader, token_from_stdin};

/// `neuroio login`: a new temporary token from a user name and password.
pub fn login(api: ApiArgs, username: &str, password_file: Option<&Path>) -> Result<(), Failure> {
    if api.token_file.is_some() {
        return Err(Failure::usage(
            "login needs no API token; --token-file does not apply",
        ));
    }
    let password = PasswordSource {
        file: password_file,
        option: "--password-file",
        name: "the password",
        prompt: &format!("Password for {username}: "),
    }
    .read()?;
    let (client, login) = builder(&api)?.login(username, password).map_err(|err| {
        let login_failed = err.is_login_failed();
        let mut failure = Failure::from(err);
        if login_failed {
            failure.code = 4;
        }
        failure
    })?;
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
            api.client.auth().change_password(old, new, reset_tokens)?;
            if reset_tokens {
                let _ = writeln!(
                    io::stderr(),
                    "note: every token of the account was deleted, including the one this command used; \
                     log in again for a new one"
                );
            }
            Ok(api.out.done(serde_json::json!({
                "password_changed": true,
                "tokens_reset": reset_tokens,
            }))?)
        }
    }
}
