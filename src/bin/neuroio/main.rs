//! `neuroio`: manage NeuroIO API tokens from scripts and the shell.
//!
//! Every command is a thin call into the `neuroio` crate. The API token comes
//! from `NEUROIO_API_TOKEN` or `--token-file`, never from a flag, so it stays
//! out of `ps` and shell history.
//!
//! - `args`: the command line (clap definitions, help texts, exit codes);
//! - `commands`: what each command does, and the collections of tokens;
//! - `account`: login, who am I, space tokens and the password;
//! - `exec`: running a command with a token of its own;
//! - `input`: reading the API token and token keys;
//! - `output`: writing results, and progress on a terminal;
//! - `failure`: errors and their exit codes;
//! - `man`: the man page.

mod account;
mod args;
mod commands;
#[cfg(unix)]
mod exec;
mod failure;
mod input;
mod man;
mod output;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // clap prints help and usage errors itself, exiting 0 or 2.
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                let _ = writeln!(io::stderr(), "error: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}
