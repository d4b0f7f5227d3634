//! `neuroio exec`: run a command with a temporary token of its own, and
//! delete the token when the command ends, however it ends.
//!
//! What the command can reach: its own temporary token (in its
//! environment) and whatever files it can read, `--token-file` included.
//! What it cannot: the account token neuroio was started with, in
//! neuroio's environment and memory. On Linux neuroio makes itself not
//! dumpable, so a process of the same user cannot read its
//! `/proc/<pid>/environ` or memory, nor attach a debugger (root still can).

use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::process::ExitStatusExt;
use std::sync::{Arc, Mutex, PoisonError};

use neuroio::TokenRef;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, getpid, getsid};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::{Cause, Origin};

use crate::args::ApiArgs;
use crate::context::Api;
use crate::failure::Failure;

/// The signals that end a command and that neuroio passes on to it, after
/// which it still deletes the token.
const PASSED_ON: [i32; 4] = [SIGHUP, SIGINT, SIGQUIT, SIGTERM];

type Signals = SignalsInfo<WithOrigin>;

pub fn exec(args: ApiArgs, command: &[OsString]) -> Result<(), Failure> {
    let Some((program, program_args)) = command.split_first() else {
        return Err(Failure::usage("no command to run"));
    };
    // Given before `exec` (after it, the parser refuses them).
    if args.output.is_some() || args.show_keys {
        return Err(Failure::usage(
            "--output and --show-keys do not apply to `neuroio exec`: it prints nothing of its own",
        ));
    }
    not_dumpable()?;
    // Caught from before the token exists until neuroio exits, so that they
    // never end neuroio before the token is deleted. (Caught, not blocked:
    // the command inherits a blocked mask, but not handlers.) A signal
    // ignored when neuroio started stays ignored, for the command too
    // (`nohup`, a script's `trap '' INT`): catching it would reset it to
    // its default in the command.
    let ignored = ignored_signals();
    let caught: Vec<i32> = PASSED_ON
        .into_iter()
        .filter(|signal| !ignored.contains(signal))
        .collect();
    let mut signals = Signals::new(&caught)
        .map_err(|e| Failure::failed(format!("cannot catch the signals to pass on: {e}")))?;
    let api = Api::new(args, ApiArgs::default())?;
    let client = &api.client;
    let token = client.tokens().create(false)?;
    // A signal before the command starts: the run was called off.
    let early = signals.pending().next().map(|origin| origin.signal);
    let mut code = match early {
        Some(signal) => u8::try_from(128 + signal).unwrap_or(255),
        None => run(
            std::process::Command::new(program)
                .args(program_args)
                .env("NEUROIO_API_TOKEN", token.key.secret())
                .env("NEUROIO_IAM_URL", client.iam_url())
                .env("NEUROIO_API_URL", client.api_url()),
            program,
            signals,
        ),
    };
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
                Failure::from(err).shown()
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

/// Keeps processes of the same user (the command among them) from reading
/// neuroio's environment and memory, which hold the account token.
#[cfg(target_os = "linux")]
fn not_dumpable() -> Result<(), Failure> {
    nix::sys::prctl::set_dumpable(false).map_err(|e| {
        Failure::failed(format!(
            "cannot protect the API token from the command (prctl PR_SET_DUMPABLE): {e}"
        ))
    })
}

#[cfg(not(target_os = "linux"))]
fn not_dumpable() -> Result<(), Failure> {
    Ok(())
}

/// The signals this process ignores, from the `SigIgn` mask in
/// `/proc/self/status` (bit N-1 for signal N). Elsewhere than Linux, none
/// are known, and all of [`PASSED_ON`] are caught.
fn ignored_signals() -> Vec<i32> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mask = status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    PASSED_ON
        .into_iter()
        .filter(|&signal| signal >= 1 && mask & (1u64 << (signal - 1)) != 0)
        .collect()
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
/// it runs, unless the command got it already.
fn forward(mut signals: Signals, pid: Pid, running: Arc<Mutex<bool>>) {
    let session_leader = getsid(None).is_ok_and(|sid| sid == getpid());
    std::thread::spawn(move || {
        for origin in signals.forever() {
            if reached_the_group(&origin, session_leader) {
                continue;
            }
            let Ok(signal) = Signal::try_from(origin.signal) else {
                continue;
            };
            if *running.lock().unwrap_or_else(PoisonError::into_inner) {
                let _ = kill(pid, signal);
            }
        }
    });
}

/// Whether the kernel sent the signal to neuroio's whole process group,
/// which the command shares: Ctrl-C and Ctrl-\ on the terminal, a hang-up
/// of the terminal. Passing it on would make it two. A hang-up reaches a
/// session leader alone, so that one is passed on.
fn reached_the_group(origin: &Origin, session_leader: bool) -> bool {
    origin.cause == Cause::Kernel && (origin.signal != SIGHUP || !session_leader)
}
