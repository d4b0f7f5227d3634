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
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use neuroio::TokenRef;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, getpid, getsid};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::{Cause, Origin};

use clap::Args;

use crate::context::Api;
use crate::failure::Failure;
use crate::options::{Connection, TokenSource};

/// The exit codes of `neuroio exec`.
pub const EXEC_EXIT_CODES: &str = "\
Exit codes:
  N      the command's own exit status
  128+N  the command was killed by signal N; or neuroio passed signal N
         (HUP, INT, QUIT, TERM) on to it, whatever it then returned; or
         signal N called the run off before the command started
  126    the command could not be run (not executable)
  127    the command was not found
  1      the token could not be deleted afterwards (when the command exited 0);
         or, before the command ran, the API refused the request or failed
  2      usage error: bad arguments, missing token, unusable configuration
  3      network error or timeout: no answer from the API
  4      authentication failed (401 or 403)";

/// `neuroio exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The command to run, and its arguments.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    command: Vec<OsString>,
    /// Also give the command NEUROIO_API_TOKEN_FILE: a file in a private
    /// folder (0700, removed at the end) that is rewritten with a new
    /// token before the current one has lived half its life, for a job
    /// that outlives a token. NEUROIO_API_TOKEN still holds the first key.
    #[arg(long)]
    rotate: bool,
    /// With --rotate: seconds a replaced token lives on before it is
    /// deleted, so that a call made with it can finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, requires = "rotate",
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    grace: u64,
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    token: TokenSource,
}

impl ExecArgs {
    /// `neuroio exec -- CMD ...`.
    pub fn run(self) -> Result<(), Failure> {
        let settings = self.connection.settings().token_file(self.token.token_file);
        if self.rotate {
            return exec_rotating(settings, &self.command, Duration::from_secs(self.grace));
        }
        exec(settings, &self.command)
    }
}

/// The signals that end a command and that neuroio passes on to it, after
/// which it still deletes the token.
const PASSED_ON: [i32; 4] = [SIGHUP, SIGINT, SIGQUIT, SIGTERM];

type Signals = SignalsInfo<WithOrigin>;

fn exec(args: crate::options::Settings, command: &[OsString]) -> Result<(), Failure> {
    let Some((program, program_args)) = command.split_first() else {
        return Err(Failure::usage("no command to run"));
    };
    not_dumpable()?;
    // The token is read (from a prompt, a pipe or a file) before signals
    // are caught: until then a signal ends neuroio at once, and there is
    // nothing to delete yet.
    let api = Api::new(args)?;
    let client = &api.client;
    // Tokens of jobs that were killed, deleted first; this job's token is
    // recorded before the command gets it.
    let ledger = crate::ledger::Ledger::open()?;
    crate::ledger::reap(&ledger, client, api.token_profile.as_deref())?;
    // Caught from here until neuroio exits, so that they never end neuroio
    // before the token is deleted. (Caught, not blocked: the command
    // inherits a blocked mask, but not handlers.) A signal ignored when
    // neuroio started stays ignored, for the command too (`nohup`, a
    // script's `trap '' INT`): catching it would reset it to its default
    // in the command. Every caught signal, and the answers of the calls
    // made on helper threads, arrive on one channel, so that the main
    // thread waits for whichever comes first.
    let (events, received) = catch_passed_on()?;
    // Created on a helper thread: a signal ends the wait at once, not
    // after the timeout and retries of the call.
    let creating = client.clone();
    let created = events.clone();
    let called_off = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let calling_off = Arc::clone(&called_off);
    std::thread::spawn(move || {
        // The scope first, so that the token's ledger entry has it: a
        // token the API then cannot find is gone only within it.
        let scope = crate::ledger::Scope::of_client(
            &creating,
            crate::ledger::SCOPE_WAIT,
            Some(&calling_off),
        );
        // A run called off meanwhile makes no token.
        if calling_off.load(std::sync::atomic::Ordering::Acquire) {
            let _ = created.send(Event::Created(Err(Failure::failed("called off"))));
            return;
        }
        let token = creating.tokens().create(false);
        let made = token.map(|token| (token, scope)).map_err(Failure::from);
        let _ = created.send(Event::Created(made));
    });
    drop(events);
    let (token, scope) = match received.recv() {
        Ok(Event::Created(Ok(made))) => made,
        Ok(Event::Created(Err(failure))) => return Err(with_pending_signal(&received, failure)),
        Ok(Event::Signal(origin)) => {
            called_off.store(true, std::sync::atomic::Ordering::Release);
            return Err(called_off_while_creating(&received, client, origin.signal));
        }
        Err(_) => {
            return Err(Failure::failed(
                "the temporary token could not be created: its helper thread ended",
            ));
        }
    };
    let recorded = ledger.record(crate::ledger::Entry::mine(
        token.id,
        client.iam_url(),
        api.token_profile.as_deref(),
        "exec",
        token.expires,
        scope,
    ));
    if let Err(failure) = recorded {
        return Err(match delete(client, token.id) {
            Ok(()) => failure,
            Err(cleanup) => Failure {
                code: failure.code,
                message: format!("{}; {}", failure.message, cleanup.message),
            },
        });
    }
    // A signal before the command starts: the run was called off.
    let mut code = match pending_signal(&received) {
        Some(signal) => exit_code_of(signal),
        None => run(
            std::process::Command::new(program)
                .args(program_args)
                .env("NEUROIO_API_TOKEN", token.key.secret())
                // A token file neuroio was given would win over the
                // command's own token in neuroio and the SDK.
                .env_remove("NEUROIO_API_TOKEN_FILE")
                .env("NEUROIO_IAM_URL", client.iam_url())
                .env("NEUROIO_API_URL", client.api_url()),
            program,
            received,
        ),
    };
    match delete(client, token.id) {
        Ok(()) => {
            if let Err(failure) = ledger.forget(client.iam_url(), &[token.id]) {
                let _ = writeln!(io::stderr(), "warning: {}", failure.shown());
            }
        }
        Err(failure) => {
            let _ = writeln!(io::stderr(), "error: {}", failure.shown());
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

/// `exec --rotate`: the command gets NEUROIO_API_TOKEN_FILE, kept fresh by
/// the renewing client on a helper thread (the keeper of `sink`), and the
/// first key in NEUROIO_API_TOKEN. At the end every token minted is
/// deleted and the private folder removed.
fn exec_rotating(
    args: crate::options::Settings,
    command: &[OsString],
    grace: Duration,
) -> Result<(), Failure> {
    use crate::ledger::{Ledger, reap};
    use crate::sink::{Keeper, Sink, SinkFormat, TICK, Tick};
    use std::sync::atomic::{AtomicBool, Ordering};

    let Some((program, program_args)) = command.split_first() else {
        return Err(Failure::usage("no command to run"));
    };
    not_dumpable()?;
    let ledger = Ledger::open()?;
    // Jobs that were killed, reaped first; then the scope of the tokens it
    // will mint (the token in use's), for their ledger entries.
    let scope = {
        let plain = Api::new(args.clone())?;
        reap(&ledger, &plain.client, plain.token_profile.as_deref())?;
        crate::ledger::Scope::of_client(&plain.client, crate::ledger::SCOPE_WAIT, None)
    };
    let api = Api::renewing(args, grace, None)?;
    let folder = ledger.job_folder()?;
    let file = folder.join("token");
    let removed = |result: Result<(), Failure>| {
        let _ = std::fs::remove_dir_all(&folder);
        result
    };
    let sink = match Sink::new(file.clone(), 0o600) {
        Ok(sink) => sink,
        Err(failure) => return removed(Err(failure)),
    };
    let (events, received) = match catch_passed_on() {
        Ok(channel) => channel,
        Err(failure) => return removed(Err(failure)),
    };
    let iam_url = api.client.iam_url().to_owned();
    let api_url = api.client.api_url().to_owned();
    let mut keeper =
        Keeper::new(api, "exec", ledger, vec![sink], SinkFormat::Key, grace).in_scope(scope);
    // Every token, the first too, on a helper thread: a signal during the
    // first mint ends the wait for it at once.
    let stop = Arc::new(AtomicBool::new(false));
    let rotating = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let first = match keeper.tick() {
                Tick::Written { token } => Ok((token, None)),
                Tick::Failed(failure) => Err(failure),
            };
            let started = first.is_ok();
            let _ = events.send(Event::Created(first));
            while started && !stop.load(Ordering::Acquire) {
                std::thread::sleep(TICK);
                if !stop.load(Ordering::Acquire) {
                    keeper.tick();
                }
            }
            keeper
        })
    };
    // Ends the rotation: every token deleted, the folder removed.
    let finish = |rotating: std::thread::JoinHandle<Keeper>| {
        stop.store(true, Ordering::Release);
        match rotating.join() {
            Ok(mut keeper) => keeper.finish(true),
            Err(_) => Err(Failure::failed(
                "the thread that rotates the token ended; its tokens are in the ledger for \
                 `neuroio tokens reap`",
            )),
        }
    };
    let first = match received.recv() {
        Ok(Event::Created(Ok((token, _)))) => token,
        Ok(Event::Created(Err(failure))) => {
            let _ = finish(rotating);
            return removed(Err(with_pending_signal(&received, failure)));
        }
        Ok(Event::Signal(origin)) => {
            // Called off during the first mint: its answer is waited for a
            // little (not past a second signal), then every token deleted.
            let code = exit_code_of(origin.signal);
            let answered = matches!(received.recv_timeout(CREATE_GRACE), Ok(Event::Created(_)));
            let message = if answered {
                finish(rotating)
                    .err()
                    .map(|f| f.message)
                    .unwrap_or_default()
            } else {
                stop.store(true, Ordering::Release);
                "the run was called off while the first temporary token was being made, \
                 before the API answered; a token it made and recorded is deleted by \
                 `neuroio tokens reap`, and any other expires within 24 hours"
                    .to_owned()
            };
            return removed(Err(Failure { code, message }));
        }
        Err(_) => {
            let _ = finish(rotating);
            return removed(Err(Failure::failed(
                "the first temporary token could not be made: its helper thread ended",
            )));
        }
    };
    let mut code = match pending_signal(&received) {
        Some(signal) => exit_code_of(signal),
        None => run(
            std::process::Command::new(program)
                .args(program_args)
                .env("NEUROIO_API_TOKEN", first.key.secret())
                .env("NEUROIO_API_TOKEN_FILE", &file)
                .env("NEUROIO_IAM_URL", &iam_url)
                .env("NEUROIO_API_URL", &api_url),
            program,
            received,
        ),
    };
    if let Err(failure) = finish(rotating) {
        let _ = writeln!(io::stderr(), "error: {}", failure.shown());
        if code == 0 {
            code = 1;
        }
    }
    removed(if code == 0 {
        Ok(())
    } else {
        Err(Failure {
            code,
            message: String::new(),
        })
    })
}

/// What reaches the main thread: a signal, or the answer of a call made
/// on a helper thread.
enum Event {
    Signal(Origin),
    /// The temporary token, with the scope of the token that made it
    /// (`--rotate`: the first working token, written to the token file;
    /// its keeper records the scope itself).
    Created(Result<(neuroio::Token, Option<crate::ledger::Scope>), Failure>),
}

/// How long a run called off while its token is being created still waits
/// for the token, to delete it; a second signal ends the wait at once.
const CREATE_GRACE: Duration = Duration::from_secs(2);

/// The exit code of a run ended by `signal`: 128+N, as a shell reports it.
fn exit_code_of(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(255)
}

/// The first signal already received, if any; answers are left alone.
fn pending_signal(received: &Receiver<Event>) -> Option<i32> {
    received.try_iter().find_map(|event| match event {
        Event::Signal(origin) => Some(origin.signal),
        Event::Created(_) => None,
    })
}

/// Catches the signals to pass on (those not ignored when neuroio
/// started) from here until neuroio exits, and brings each to the channel
/// returned; the sender is for the helper threads' answers.
fn catch_passed_on() -> Result<(mpsc::Sender<Event>, Receiver<Event>), Failure> {
    let ignored = ignored_signals();
    let caught: Vec<i32> = PASSED_ON
        .into_iter()
        .filter(|signal| !ignored.contains(signal))
        .collect();
    let mut signals = Signals::new(&caught)
        .map_err(|e| Failure::failed(format!("cannot catch the signals to pass on: {e}")))?;
    let (events, received) = mpsc::channel();
    let signal_events = events.clone();
    std::thread::spawn(move || {
        for origin in signals.forever() {
            if signal_events.send(Event::Signal(origin)).is_err() {
                return;
            }
        }
    });
    Ok((events, received))
}

/// A failure to make the first token; a signal that came with it still
/// calls the run off, with 128+N.
fn with_pending_signal(received: &Receiver<Event>, failure: Failure) -> Failure {
    match pending_signal(received) {
        Some(signal) => Failure {
            code: exit_code_of(signal),
            message: failure.message,
        },
        None => failure,
    }
}

/// Deletes the temporary token; a token already gone (the command deleted
/// it) is fine. The failure names the token and how to delete it.
fn delete(client: &neuroio::Client, id: u64) -> Result<(), Failure> {
    match client.tokens().delete(TokenRef::from(id)) {
        Ok(()) => Ok(()),
        Err(err) if err.is_not_found() => Ok(()),
        Err(err) => Err(Failure::failed(format!(
            "the temporary token {id} could not be deleted ({}); \
             delete it with: neuroio tokens delete {id}",
            Failure::from(err).message
        ))),
    }
}

/// `signal` arrived while the token was being created: waits a little for
/// the answer (not past a second signal), deletes the token if it came,
/// and ends with 128+N.
fn called_off_while_creating(
    received: &Receiver<Event>,
    client: &neuroio::Client,
    signal: i32,
) -> Failure {
    let code = exit_code_of(signal);
    // The only other events are signals: a second one ends the wait.
    let answer = match received.recv_timeout(CREATE_GRACE) {
        Ok(Event::Created(answer)) => Some(answer),
        Ok(Event::Signal(_)) | Err(_) => None,
    };
    let message = match answer {
        // Not made: nothing to delete, nothing to say.
        Some(Err(_)) => String::new(),
        Some(Ok((token, _))) => match delete(client, token.id) {
            Ok(()) => String::new(),
            Err(failure) => failure.message,
        },
        None => "the run was called off while the temporary token was being created, before \
                 the API answered; if it created one, it expires within 24 hours, or find it \
                 with `neuroio tokens list --temporary` and delete it"
            .to_owned(),
    };
    Failure { code, message }
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
fn run(command: &mut std::process::Command, program: &OsString, events: Receiver<Event>) -> u8 {
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
    let running = Arc::new(Mutex::new(Running {
        running: true,
        signal: None,
    }));
    if let Ok(pid) = i32::try_from(child.id()) {
        forward(events, Pid::from_raw(pid), Arc::clone(&running));
    }
    let status = child.wait();
    // From here on `forward` sends nothing: the pid may be another
    // process's once reaped. (Between the reaping in `wait` and this line a
    // signal could still go to the pid; the kernel does not hand a pid out
    // again that fast.)
    let signal = {
        let mut state = running.lock().unwrap_or_else(PoisonError::into_inner);
        state.running = false;
        state.signal
    };
    // A signal passed on ended the run, whatever the command made of it
    // (one that traps it and exits 0 included): 128+N, as the caller
    // that sent it expects.
    if let Some(signal) = signal {
        return exit_code_of(signal);
    }
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

/// Whether the command runs, and the first signal passed on to it (or
/// that reached it from the terminal with neuroio).
struct Running {
    running: bool,
    signal: Option<i32>,
}

/// Passes each signal that reaches neuroio on to the command, while it
/// runs, unless the command got it already; the first one is kept in
/// `running`.
fn forward(events: Receiver<Event>, pid: Pid, running: Arc<Mutex<Running>>) {
    let session_leader = getsid(None).is_ok_and(|sid| sid == getpid());
    std::thread::spawn(move || {
        for event in events {
            let Event::Signal(origin) = event else {
                continue;
            };
            let mut state = running.lock().unwrap_or_else(PoisonError::into_inner);
            if !state.running {
                continue;
            }
            state.signal.get_or_insert(origin.signal);
            if reached_the_group(&origin, session_leader) {
                continue;
            }
            if let Ok(signal) = Signal::try_from(origin.signal) {
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
