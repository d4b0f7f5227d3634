//! `neuroio`: manage NeuroIO API tokens from scripts and the shell.
//!
//! `main` parses and dispatches; every command is a thin call into the `neuroio` crate. The API token comes
//! from `--token-file`, `NEUROIO_API_TOKEN` or a profile that `login`
//! stored, never from a flag, so it stays out of `ps` and shell history.
//!
//! - `args`: the command line (clap definitions, help texts, exit codes);
//! - `context`: what every command shares (the client from flags and
//!   environment, the printer, delivering a new key, walking every page);
//! - `tokens`: the collections of tokens (`tokens`, `stream-tokens`);
//! - `account`: login, who am I and the password;
//! - `spaces`: spaces and space tokens;
//! - `auth`: the profiles of the credentials file (status, token, logout,
//!   list);
//! - `audit`: `tokens audit`;
//! - `store`: writing the credentials file;
//! - `server`: `fake-server`;
//! - `exec`: running a command with a token of its own;
//! - `input`: reading the API token and token keys;
//! - `output`: writing results, and progress on a terminal;
//! - `failure`: errors and their exit codes;
//! - `man`: the man page.

mod account;
mod args;
mod audit;
mod auth;
mod context;
#[cfg(unix)]
mod exec;
mod failure;
mod input;
mod man;
mod output;
mod server;
mod spaces;
mod store;
mod tokens;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::args::{
    ApiArgs, AuthCommand, Cli, CollectionCommand, Command, PasswordCommand, SpacesCommand,
    TokensCommand,
};
use crate::context::{Api, refuse_api_args};
use crate::failure::Failure;
use crate::output::write_stdout;

fn main() -> ExitCode {
    // clap prints help and usage errors itself, exiting 0 or 2.
    let cli = args::Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                let _ = writeln!(io::stderr(), "error: {}", failure.shown());
            }
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let Cli { api, command } = cli;
    refuse_show_keys(&api, &command)?;
    match command {
        Command::Tokens(group) => tokens::tokens(&group.command, &Api::new(group.api.0, api)?),
        Command::StreamTokens(group) => {
            tokens::stream_tokens(&group.command, &Api::new(group.api.0, api)?)
        }
        Command::Login {
            api: args,
            username,
            password_file,
            no_store,
        } => account::login(
            args.0.or(api),
            &username,
            password_file.as_deref(),
            no_store,
        ),
        Command::Auth(group) => auth::auth(group, api),
        Command::Whoami { api: args } => account::whoami(&Api::new(args.0, api)?),
        Command::Spaces(group) => spaces::spaces(group, api),
        Command::Password(group) => account::password(group, api),
        #[cfg(unix)]
        Command::Exec { command, api: args } => crate::exec::exec(args.0.or(api), &command),
        Command::FakeServer {
            port,
            temporary_lifetime,
        } => {
            refuse_api_args(&api, "fake-server")?;
            server::fake_server(port, temporary_lifetime)
        }
        Command::Completions { shell } => {
            refuse_api_args(&api, "completions")?;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "neuroio", &mut script);
            Ok(write_stdout(&script)?)
        }
        Command::Man => {
            refuse_api_args(&api, "man")?;
            let page = crate::man::render(Cli::command())
                .map_err(|e| Failure::failed(format!("cannot render the man page: {e}")))?;
            Ok(write_stdout(&page)?)
        }
    }
}

/// Refuses `--show-keys`, before or after the subcommand, for a command
/// that prints no existing token's key (only `list`, `get` and `update` of
/// a collection do): given there, it would be ignored. Checked before the
/// API token is read or anything is sent. (`login` and `exec` say it
/// themselves; the commands that do not talk to the API refuse every API
/// option.)
fn refuse_show_keys(top: &ApiArgs, command: &Command) -> Result<(), Failure> {
    const NEW_KEY: &str = "it always prints the new token's key";
    const NO_KEY: &str = "it prints no token's key";
    let collection = |group: &str, command: &CollectionCommand| match command {
        CollectionCommand::List { .. }
        | CollectionCommand::Get { .. }
        | CollectionCommand::Update { .. } => None,
        CollectionCommand::Create { .. } => Some((format!("{group} create"), NEW_KEY)),
        CollectionCommand::Delete { .. } => Some((format!("{group} delete"), NO_KEY)),
        CollectionCommand::DeleteAll { .. } => Some((format!("{group} delete-all"), NO_KEY)),
    };
    let (given, refused) = match command {
        Command::Tokens(group) => (
            group.api.0.show_keys,
            match &group.command {
                TokensCommand::Collection(command) => collection("tokens", command),
                TokensCommand::Rotate => Some(("tokens rotate".to_owned(), NEW_KEY)),
                TokensCommand::Audit { .. } => Some(("tokens audit".to_owned(), NO_KEY)),
            },
        ),
        Command::StreamTokens(group) => (
            group.api.0.show_keys,
            collection("stream-tokens", &group.command),
        ),
        Command::Spaces(group) => (
            group.api.0.show_keys,
            Some(match &group.command {
                SpacesCommand::CreateToken { .. } => ("spaces create-token".to_owned(), NEW_KEY),
                SpacesCommand::List { .. } => ("spaces list".to_owned(), NO_KEY),
                SpacesCommand::Get { .. } => ("spaces get".to_owned(), NO_KEY),
                SpacesCommand::Create { .. } => ("spaces create".to_owned(), NO_KEY),
                SpacesCommand::Rename { .. } => ("spaces rename".to_owned(), NO_KEY),
                SpacesCommand::Delete { .. } => ("spaces delete".to_owned(), NO_KEY),
            }),
        ),
        Command::Auth(group) => (
            group.api.0.show_keys,
            Some(match &group.command {
                AuthCommand::Token => (
                    "auth token".to_owned(),
                    "it always prints the key, and nothing else",
                ),
                AuthCommand::Status => ("auth status".to_owned(), NO_KEY),
                AuthCommand::Logout => ("auth logout".to_owned(), NO_KEY),
                AuthCommand::List => ("auth list".to_owned(), NO_KEY),
            }),
        ),
        Command::Password(group) => (
            group.api.0.show_keys,
            match &group.command {
                PasswordCommand::Change { .. } => Some(("password change".to_owned(), NO_KEY)),
            },
        ),
        Command::Whoami { api } => (api.0.show_keys, Some(("whoami".to_owned(), NO_KEY))),
        _ => (false, None),
    };
    match refused {
        Some((name, why)) if given || top.show_keys => Err(Failure::usage(format!(
            "--show-keys does not apply to `neuroio {name}`: {why} (only list, get and update \
             show existing keys)"
        ))),
        _ => Ok(()),
    }
}
