//! `neuroio`: manage NeuroIO API tokens from scripts and the shell.
//!
//! `main` parses and dispatches. Each command family is one module that
//! owns its clap arguments, its `run` and how its objects print; none
//! imports another. Adding a family: its file, one variant of [`Command`]
//! and one arm in [`run`]. The API token comes from `--token-file`,
//! `NEUROIO_API_TOKEN` or a profile that `login` stored, never from a
//! flag, so it stays out of `ps` and shell history.
//!
//! The families: `tokens` (tokens and stream tokens, rotate, audit),
//! `spaces`, `account` (who am I, the password), `auth` (log in and the
//! profiles), `exec`, `agent`, `server` (`fake-server`).
//!
//! What they share: `options` (the options more than one family takes),
//! `context` (the client from options, environment and profile; the
//! printer; delivering a new key; walking every page), `input` (the API
//! token, keys and passwords), `output` (the printer, and progress on a
//! terminal), `failure` (errors and exit codes), `store` (writing the
//! credentials file), `man` (the man page), `ledger` (the tokens minted
//! for jobs and sinks, for `tokens reap`), `sink` (token files other
//! programs read, kept fresh by `agent` and `exec --rotate`).

mod account;
#[cfg(unix)]
mod agent;
mod auth;
mod context;
#[cfg(unix)]
mod exec;
mod failure;
mod input;
#[cfg(unix)]
mod ledger;
mod lock;
mod man;
mod options;
mod output;
mod server;
#[cfg(unix)]
mod sink;
mod spaces;
mod store;
mod tokens;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::failure::Failure;
use crate::options::{EXIT_CODES, SEE_TOP_HELP};
use crate::output::write_stdout;

/// What the top-level help says after the exit codes: the files and the
/// environment (the man page has them as sections of their own).
const FILES_AND_ENVIRONMENT: &str = "\
Files:
  $NEUROIO_CONFIG_DIR/credentials.toml  the profiles `neuroio login` stores (mode 0600);
                                        the folder defaults to $XDG_CONFIG_HOME/neuroio,
                                        else ~/.config/neuroio
  $NEUROIO_STATE_DIR/ledger.json        the tokens agent, exec and login minted, with the
                                        process that owns each (ids, never keys), for
                                        `neuroio tokens reap`; locked through ledger.lock.
                                        The folder (0700) defaults to
                                        $XDG_STATE_HOME/neuroio, else ~/.local/state/neuroio

Environment:
  NEUROIO_API_TOKEN_FILE  a file holding the API token (the key, or the agent's JSON),
                      followed as it changes; wins over NEUROIO_API_TOKEN
  NEUROIO_API_TOKEN   the API token, when no --token-file is given
  NEUROIO_IAM_URL     the IAM base URL (--iam-url wins)
  NEUROIO_API_URL     the API base URL, for stream tokens (--api-url wins)
  NEUROIO_PROFILE     the profile to use (--profile wins)
  NEUROIO_CONFIG_DIR  the folder of credentials.toml
  NEUROIO_STATE_DIR   the folder of the ledger
  NEUROIO_LOG         debug: log each request on standard error (as --verbose)
  NO_COLOR            no colour in error messages";

/// How to load the completions without root, for each shell (the same
/// commands as docs/cli.md, which a test compares).
const COMPLETIONS_HELP: &str = "\
Load the completions (no root needed):
  bash        mkdir -p ~/.local/share/bash-completion/completions
              neuroio completions bash > ~/.local/share/bash-completion/completions/neuroio
              (without the bash-completion package: source <(neuroio completions bash) in ~/.bashrc)
  zsh         mkdir -p ~/.zfunc
              neuroio completions zsh > ~/.zfunc/_neuroio
              and in ~/.zshrc, before any compinit:
                fpath=(~/.zfunc $fpath)
                autoload -Uz compinit && compinit
  fish        mkdir -p ~/.config/fish/completions
              neuroio completions fish > ~/.config/fish/completions/neuroio.fish
  powershell  in $PROFILE: neuroio completions powershell | Out-String | Invoke-Expression
  elvish      in ~/.config/elvish/rc.elv: eval (neuroio completions elvish | slurp)
Then open a new shell. The manual: docs/cli.md in the neuroio repository.";

/// Manage NeuroIO API tokens, stream tokens and spaces, log in once into a
/// profile, and run commands with a short-lived token of their own.
///
/// The API token is read from a file with --token-file (use - for standard
/// input), else from the file NEUROIO_API_TOKEN_FILE names, else from
/// NEUROIO_API_TOKEN, else from the profile that
/// `neuroio login` stored (--profile, NEUROIO_PROFILE, the current profile
/// of `neuroio auth switch`, or default). There is deliberately no flag
/// that takes the token itself. Each command's options: neuroio COMMAND
/// --help.
///
/// The manual, with examples: docs/cli.md in the neuroio repository; the
/// man page: `neuroio man`.
#[derive(Debug, Parser)]
#[command(
    name = "neuroio",
    version,
    after_help = EXIT_CODES,
    after_long_help = format!("{EXIT_CODES}\n\n{FILES_AND_ENVIRONMENT}"),
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One variant per command family.
#[derive(Debug, Subcommand)]
enum Command {
    /// Manage tokens: create, list, show, (de)activate, delete, rotate, audit, reap.
    #[command(after_help = SEE_TOP_HELP)]
    Tokens(tokens::TokensArgs),
    /// Manage stream tokens (on the API host): the same commands as tokens.
    #[command(after_help = SEE_TOP_HELP)]
    StreamTokens(tokens::StreamTokensArgs),
    /// Run the offline simulator of the API in the foreground.
    ///
    /// It runs until Ctrl-C or SIGTERM and serves the IAM and the API host
    /// on one address. The first line on standard output is JSON with its
    /// URL, root token, and the root account's user: {"url": ...,
    /// "root_token": ..., "user": {"username": ..., "password": ...}}.
    FakeServer(server::FakeServerArgs),
    /// Log in with a user name and password, and store the token in a profile.
    ///
    /// The new temporary token (24 hours) is stored in a profile of the
    /// credentials file; the user, the token's id and its expiry are
    /// printed (not its key). Needs no API token.
    ///
    /// The profile's old token, if any, is deleted once the new one is
    /// stored. With --no-store nothing is stored and the new token is
    /// printed with its key. The password is read from --password-file, or
    /// asked for without echo when standard input is a terminal; never from
    /// an argument. With --token-file, a token you already have is checked
    /// and stored instead.
    ///
    /// For a server of your own (a staging server, the simulator), give
    /// both --iam-url and --api-url.
    #[command(after_help = SEE_TOP_HELP)]
    Login(auth::LoginArgs),
    /// The profiles of the credentials file: log in, status, token, switch, list.
    #[command(after_help = SEE_TOP_HELP)]
    Auth(auth::AuthArgs),
    /// Show the account and space of the API token in use.
    #[command(after_help = SEE_TOP_HELP)]
    Whoami(account::WhoamiArgs),
    /// Manage spaces, and create tokens restricted to one space.
    #[command(after_help = SEE_TOP_HELP)]
    Spaces(spaces::SpacesArgs),
    /// Manage the account's password.
    #[command(after_help = SEE_TOP_HELP)]
    Password(account::PasswordArgs),
    /// Run a command with a new temporary token of its own.
    ///
    /// Creates a temporary token with the current one, runs the command with
    /// it in NEUROIO_API_TOKEN (and NEUROIO_IAM_URL and NEUROIO_API_URL set to
    /// the URLs in use), waits for it, and deletes the token. The token lives
    /// 24 hours at most and is deleted when the command ends, also when it
    /// fails or is stopped by SIGHUP, SIGINT, SIGQUIT or SIGTERM (which
    /// neuroio passes on to it, once, and then exits 128+N; signals ignored
    /// when neuroio started stay ignored). The key is never on a command
    /// line.
    ///
    /// The command can reach its own token and any file it can read
    /// (--token-file included), but not the account token in neuroio's
    /// environment or memory: on Linux neuroio is not dumpable. With
    /// --token-file -, neuroio reads exactly the token's line and leaves the
    /// rest of standard input to the command.
    ///
    /// Example: neuroio exec -- ./nightly-report.sh
    #[cfg(unix)]
    #[command(after_help = exec::EXEC_EXIT_CODES)]
    Exec(exec::ExecArgs),
    /// Keep token files fresh for other programs (a token agent).
    ///
    /// Mints a temporary token with the token in use, writes it to each
    /// --sink, and writes a new one before the current one has lived half
    /// its life; the replaced token is deleted --grace seconds later. A
    /// sink is replaced atomically (a reader sees the old key or the new
    /// one), with mode --mode. Runs in the foreground and logs one line per
    /// rotation on standard error (token id and expiry, never a key). When
    /// minting fails it keeps the current sink while its token lasts,
    /// retries with backoff, removes a sink whose token ran out and writes
    /// it again when a mint succeeds. On HUP, INT, QUIT or TERM it deletes
    /// every token it minted, removes its sinks and exits 128+N. Each token
    /// is recorded in the ledger first, so `neuroio tokens reap` deletes
    /// what a killed agent left.
    ///
    /// Programs read a sink before each call: NEUROIO_API_TOKEN_FILE=PATH
    /// for neuroio and the Rust SDK.
    ///
    /// Example: neuroio agent --sink /run/app/neuroio-token
    #[cfg(unix)]
    #[command(after_help = agent::AGENT_EXIT_CODES)]
    Agent(agent::AgentArgs),
    /// Print a shell completion script for neuroio to standard output.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the man page of neuroio (roff) to standard output.
    ///
    /// Read it with: neuroio man | man -l -
    Man,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version: printed as clap prints them, exit 0.
            if !err.use_stderr() {
                let _ = err.print();
                return ExitCode::SUCCESS;
            }
            let hint = failure::usage_hint(&err, &Cli::command());
            let _ = err.print();
            if let Some(hint) = hint {
                let _ = writeln!(io::stderr(), "\n{hint}");
            }
            return ExitCode::from(2);
        }
    };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                let _ = writeln!(
                    io::stderr(),
                    "{}: {}",
                    failure::error_label(io::stderr().is_terminal()),
                    failure.shown()
                );
            }
            ExitCode::from(failure.code)
        }
    }
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Tokens(args) => args.run(),
        Command::StreamTokens(args) => args.run(),
        Command::Login(args) => args.run(),
        Command::Auth(args) => args.run(),
        Command::Whoami(args) => args.run(),
        Command::Spaces(args) => args.run(),
        Command::Password(args) => args.run(),
        #[cfg(unix)]
        Command::Exec(args) => args.run(),
        #[cfg(unix)]
        Command::Agent(args) => args.run(),
        Command::FakeServer(args) => args.run(),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "neuroio", &mut script);
            Ok(write_stdout(&script)?)
        }
        Command::Man => {
            let page = crate::man::render(Cli::command(), FILES_AND_ENVIRONMENT)
                .map_err(|e| Failure::failed(format!("cannot render the man page: {e}")))?;
            Ok(write_stdout(&page)?)
        }
    }
}
