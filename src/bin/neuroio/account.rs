//! The account's commands: who am I, and the password.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use neuroio::Whoami;
use serde_json::json;

use crate::context::Api;
use crate::failure::Failure;
use crate::input::{PasswordSource, is_stdin, one_stdin_reader, token_from_stdin};
use crate::options::{ApiOptions, SEE_TOP_HELP};
use crate::output::{Render, View, WriteError, json_value};

/// `neuroio whoami`.
#[derive(Debug, Args)]
pub struct WhoamiArgs {
    #[command(flatten)]
    api: ApiOptions,
}

/// `neuroio password`.
#[derive(Debug, Args)]
pub struct PasswordArgs {
    #[command(flatten)]
    api: ApiOptions,
    #[command(subcommand)]
    command: PasswordCommand,
}

#[derive(Debug, Subcommand)]
enum PasswordCommand {
    /// Change the account's password. The passwords are read from files
    /// (- for standard input, for at most one of them), or asked for
    /// without echo when standard input is a terminal (the new one twice).
    #[command(after_help = SEE_TOP_HELP)]
    Change {
        /// Read the current password from this file (- for standard input).
        #[arg(long, value_name = "PATH")]
        old_password_file: Option<PathBuf>,
        /// Read the new password from this file (- for standard input).
        #[arg(long, value_name = "PATH")]
        new_password_file: Option<PathBuf>,
        /// Also delete every token of the account, the one this command
        /// uses included; log in again for a new one.
        #[arg(long)]
        reset_tokens: bool,
    },
}

impl WhoamiArgs {
    /// `neuroio whoami`.
    pub fn run(self) -> Result<(), Failure> {
        let api = Api::new(self.api.settings())?;
        Ok(api.out.one(&api.client.whoami()?)?)
    }
}

/// Who the API token belongs to: every field the server sent.
impl Render for Whoami {
    fn header(_: &View) -> Vec<&'static str> {
        vec!["USER", "SPACE_ID", "SPACE_NAME"]
    }

    fn row(&self, _: &View) -> Vec<String> {
        vec![
            self.username().unwrap_or("-").to_owned(),
            self.space()
                .map_or_else(|| "-".to_owned(), |s| s.id.to_string()),
            self.space()
                .map_or_else(|| "-".to_owned(), |s| s.name.clone()),
        ]
    }

    fn json(&self, _: &View) -> Result<serde_json::Value, WriteError> {
        json_value(self)
    }
}

impl PasswordArgs {
    /// `neuroio password ...`.
    pub fn run(self) -> Result<(), Failure> {
        password(self)
    }
}

fn password(group: PasswordArgs) -> Result<(), Failure> {
    let args = group.api.settings();
    match group.command {
        PasswordCommand::Change {
            old_password_file,
            new_password_file,
            reset_tokens,
        } => {
            let reads = |file: &Option<PathBuf>| file.as_deref().is_some_and(is_stdin);
            one_stdin_reader(&[
                (
                    "the API token (--token-file -)",
                    token_from_stdin(args.token_file.as_deref()),
                ),
                ("--old-password-file -", reads(&old_password_file)),
                ("--new-password-file -", reads(&new_password_file)),
            ])?;
            let api = Api::new(args)?;
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
            Ok(api.out.done(
                &json!({"password_changed": true, "tokens_reset": reset_tokens}),
                "password changed",
            )?)
        }
    }
}
