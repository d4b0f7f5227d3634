//! The account's commands: login, who am I, space tokens and the password.

use std::io::{self, Write};
use std::path::Path;

use neuroio::TokenRef;

use crate::args::{ApiArgs, Group, PasswordCommand, SpacesCommand};
use crate::context::{Api, builder, deliver, printer};
use crate::failure::Failure;
use crate::input::{PasswordSource, is_stdin, one_stdin_reader, token_from_stdin};
use crate::output::Done;

/// `neuroio login`: a new temporary token from a user name and password.
pub fn login(api: ApiArgs, username: &str, password_file: Option<&Path>) -> Result<(), Failure> {
    // Given before `login` (after it, the parser refuses them).
    if api.token_file.is_some() {
        return Err(Failure::usage(
            "login needs no API token; --token-file does not apply",
        ));
    }
    if api.show_keys {
        return Err(Failure::usage(
            "login always prints the new token's key; --show-keys does not apply",
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

pub fn spaces(group: Group<SpacesCommand>, top: ApiArgs) -> Result<(), Failure> {
    let api = Api::new(group.api.0, top)?;
    match group.command {
        SpacesCommand::CreateToken {
            space_id,
            permanent,
        } => {
            let token = api
                .client
                .spaces()
                .create_token(space_id, permanent)
                .map_err(|e| {
                    let url = api.client.iam_url();
                    Failure::about(
                        e,
                        || format!("space {space_id} at {url}"),
                        "the space's id (`neuroio whoami` shows the default space), \
                         and the base URL (--iam-url)",
                    )
                })?;
            // Only a token of the space sees it: delete it with itself.
            let retry = format!(
                "neuroio tokens delete {} (with a token of space {space_id})",
                token.id
            );
            deliver(token.id, api.out.new_token(&token), &retry, |id| {
                api.client
                    .with_api_token(&token.key)?
                    .tokens()
                    .delete(TokenRef::from(id))
            })
        }
    }
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
