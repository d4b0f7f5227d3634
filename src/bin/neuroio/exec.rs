//! `neuroio exec`: run a command with a temporary token of its own, and
//! delete the token when the command ends, however it ends.

use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::process::ExitStatusExt;
use std::sync::{Arc, Mutex, PoisonError};

use neuroio::TokenRef;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::args::ApiArgs;
use crate::context::Api;
use crate::failure::Failure;

pub fn exec(args: ApiArgs, command: &[OsString]) -> Result<(), Failure> {
    let Some((program, program_args)) = command.split_first() else {
        return Err(Failure::usage("no command to run"));
    };
    // Caught from before the token exists until neuroio exits, so that they
    // never end neuroio before the token is deleted; those that come before
    // the command starts are passed on to it as soon as it does. (Caught,
    // not blocked: the command inherits a blocked mask, but not handlers.)
    let signals = Signals::new([SIGINT, SIGTERM])
        .map_err(|e| Failure::failed(format!("cannot catch SIGINT and SIGTERM: {e}")))?;
    let api = Api::new(args, ApiArgs::default())?;
    let client = &api.client;
    let token = client.tokens().create(false)?;
    let mut code = run(
        std::process::Command::new(program)
            .args(program_args)
            .env("NEUROIO_API_TOKEN", token.key.secret())
            .env("NEUROIO_IAM_URL", client.iam_url())
            .env("NEUROIO_API_URL", client.api_url()),
        program,
        signals,
    );
    match client.tokens().delete(TokenRef::from(token.id)) {
        // Gone already: the command deleted it itself.
        Err(err) if err.is_not_found() => {}
        Ok(()) => {}
        Err(err) => {
            let id = token.id;
            let _ = writeln!(
                io::stderr(),
                "error: the temporary token {id} could not be deleted ({}); \
                 delete it with: neuroio tokens delete {id}",
                Failure::from(err).message
            );
            // A cron job that succeeded must not hide a token left behind.
            if code == 0 {
                code = 1;
            }
        }
    }
    if code == 0 {
        Ok(())
    } else {
        Err(Failure {
            code,
            message: String::new(),
        })
    }
}

/// Runs the command to its end, passing `signals` on to it, and returns
/// the exit code neuroio is to exit with.
fn run(command: &mut std::process::Command, program: &OsString, signals: Signals) -> u8 {
    let shown = program.to_string_lossy();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let (code, why) = match e.kind() {
                io::ErrorKind::NotFound => (127, "command not found".to_owned()),
                _ => (126, e.to_string()),
            };
            let _ = writeln!(io::stderr(), "error: cannot run {shown}: {why}");
            return code;
        }
    };
    let running = Arc::new(Mutex::new(true));
    if let Ok(pid) = i32::try_from(child.id()) {
        forward(signals, Pid::from_raw(pid), Arc::clone(&running));
    }
    let status = child.wait();
    // From here on `forward` sends nothing: the pid may be another
    // process's once reaped. (Between the reaping in `wait` and this line a
    // signal could still go to the pid; the kernel does not hand a pid out
    // again that fast.)
    *running.lock().unwrap_or_else(PoisonError::into_inner) = false;
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => u8::try_from(code).unwrap_or(1),
            (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(255),
            (None, None) => 1,
        },
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: cannot wait for {shown}: {e}");
            1
        }
    }
}

/// Passes each of `signals` that reaches neuroio on to the command, while
/// it runs.
fn forward(mut signals: Signals, pid: Pid, running: Arc<Mutex<bool>>) {
    std::thread::spawn(move || {
        for signal in signals.forever() {
            let Ok(signal) = Signal::try_from(signal) else {
                continue;
            };
            if *running.lock().unwrap_or_else(PoisonError::into_inner) {
                let _ = kill(pid, signal);
            }
        }
    });
}
