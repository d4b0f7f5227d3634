//! `neuroio agent`: keeps token files (sinks) fresh for other programs.
//!
//! The agent mints a temporary token with the token in use and writes it
//! to every sink; the library's renewing client renews it before half its
//! life (one mint at a time, backoff after failures) and keeps the token it
//! replaced for the grace period. The work of the sinks is `sink`'s, the
//! record of what was minted the `ledger`'s; this module parses the
//! options, reaps, catches the signals and runs the loop.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use clap::Args;
use neuroio::TokenRef;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::context::Api;
use crate::failure::Failure;
use crate::ledger::{Entry, Ledger, Scope, reap};
use crate::options::Settings;
use crate::options::{Connection, TokenSource};
use crate::sink::{Keeper, Sink, SinkFormat, TICK, Tick, log, parse_mode};

/// The exit codes of `neuroio agent`.
pub const AGENT_EXIT_CODES: &str = "\
Exit codes:
  128+N  stopped by signal N (HUP, INT, QUIT, TERM), after deleting every
         token it minted and removing its sinks
  0      --once: the sinks were written
  1      the API refused the request or failed, or a sink or the ledger
         could not be written
  2      usage error: bad arguments, missing token, a sink refused
  3      network error or timeout: no answer from the API (--once, or the
         first mint)
  4      authentication failed (401 or 403)

Files and environment: neuroio --help";

/// `neuroio agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// A file to keep the token in; repeat for more. Its folder must exist
    /// and not be writable by others without the sticky bit; a symbolic
    /// link is refused.
    #[arg(long, required = true, value_name = "PATH")]
    sink: Vec<PathBuf>,
    /// What a sink holds: the key and a newline, or
    /// {"id": N, "key": "...", "expires": "RFC 3339"}.
    #[arg(long, value_enum, default_value = "key")]
    format: SinkFormat,
    /// The sinks' file mode, in octal.
    #[arg(long, value_name = "OCTAL", default_value = "0600", value_parser = parse_mode)]
    mode: u32,
    /// Seconds a replaced token lives on before it is deleted, so that a
    /// reader that has just read it can finish its call.
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    grace: u64,
    /// The sinks hold tokens of this space (as `spaces create-token`
    /// makes them, with an account token of its account).
    #[arg(long, value_name = "ID")]
    space: Option<u64>,
    /// Write the sinks once and exit 0, leaving the token to its reader
    /// (for an init container); `tokens reap` leaves it alone.
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    token: TokenSource,
}

impl AgentArgs {
    /// `neuroio agent ...`.
    pub fn run(self) -> Result<(), Failure> {
        let mut sinks = Vec::with_capacity(self.sink.len());
        for path in &self.sink {
            let sink = Sink::new(path.clone(), self.mode)?;
            if sinks.iter().any(|s: &Sink| s.path() == sink.path()) {
                return Err(Failure::usage(format!(
                    "the sink {} is given twice",
                    path.display()
                )));
            }
            sinks.push(sink);
        }
        if self.mode & 0o004 != 0 {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "warning: --mode {:04o} lets every user of this machine read the sinks' key; \
                 0600, or 0640 for a group of readers, keeps it to its readers",
                self.mode
            );
        }
        let settings = self.connection.settings().token_file(self.token.token_file);
        let ledger = Ledger::open()?;
        // Tokens of agents and jobs that were killed, deleted first.
        let plain = Api::new(settings.clone())?;
        let reaped = reap(&ledger, &plain.client, plain.token_profile.as_deref())?;
        if !reaped.reaped.is_empty() {
            log(
                "agent",
                &format!(
                    "reaped {} token(s) left by processes that are gone",
                    reaped.reaped.len()
                ),
            );
        }
        if self.once {
            return once(&plain, &ledger, &sinks, self.format, self.space);
        }
        // The scope of the tokens it will mint, for their ledger entries
        // from the first: a space's, or that of the token in use.
        let scope = match self.space {
            Some(space) => Some(Scope::Space(space)),
            None => Scope::of_client(&plain.client, crate::ledger::SCOPE_WAIT, None),
        };
        drop(plain);
        let grace = Duration::from_secs(self.grace);
        keep(
            settings,
            ledger,
            sinks,
            self.format,
            grace,
            self.space,
            scope,
        )
    }
}

/// `--once`: mints one token, records it, writes the sinks, and hands the
/// token over (forgets it in the ledger): its reader owns it now.
fn once(
    api: &Api,
    ledger: &Ledger,
    sinks: &[Sink],
    format: SinkFormat,
    space: Option<u64>,
) -> Result<(), Failure> {
    // The token's scope, for `tokens reap` (a space's, or the token in
    // use's own, asked before the mint so that the entry has it).
    let scope = match space {
        Some(space) => Some(Scope::Space(space)),
        None => Scope::of_client(&api.client, crate::ledger::SCOPE_WAIT, None),
    };
    let token = match space {
        Some(space) => api.client.spaces().create_token(space, false)?,
        None => api.client.tokens().create(false)?,
    };
    let host = api.client.iam_url().to_owned();
    let delete = |why: Failure| -> Failure {
        // A space's token with itself: the account token does not see it.
        let gone = match space {
            Some(_) => api
                .client
                .with_api_token(&token.key)
                .and_then(|own| own.tokens().delete(TokenRef::from(token.id))),
            None => api.client.tokens().delete(TokenRef::from(token.id)),
        };
        let mut why = why;
        match gone {
            Ok(()) => {
                let _ = ledger.forget(&host, &[token.id]);
                why.message
                    .push_str(&format!("; token {} was deleted again", token.id));
            }
            Err(err) => why.message.push_str(&format!(
                "; token {} could not be deleted ({}); `neuroio tokens reap` deletes it",
                token.id,
                Failure::from(err).message
            )),
        }
        why
    };
    ledger
        .record(Entry::mine(
            token.id,
            &host,
            api.token_profile.as_deref(),
            "agent --once",
            token.expires,
            scope,
        ))
        .map_err(delete)?;
    for sink in sinks {
        sink.write(&token, format).map_err(|e| {
            for sink in sinks {
                let _ = sink.remove();
            }
            delete(Failure::failed(format!(
                "cannot write the sink {}: {e}",
                sink.path().display()
            )))
        })?;
    }
    // Handed over: no reap deletes it.
    ledger.forget(&host, &[token.id])?;
    let expires = token
        .expires
        .map_or_else(|| "never".to_owned(), crate::output::rfc3339);
    log(
        "agent",
        &format!(
            "token {} written to {} sink(s) (expires {expires}); left to its reader",
            token.id,
            sinks.len()
        ),
    );
    Ok(())
}

/// What reaches the loop: a signal.
const CAUGHT: [i32; 4] = [SIGHUP, SIGINT, SIGQUIT, SIGTERM];

/// Runs until a signal: keeps the sinks fresh, then deletes every token it
/// minted and removes the sinks.
fn keep(
    settings: Settings,
    ledger: Ledger,
    sinks: Vec<Sink>,
    format: SinkFormat,
    grace: Duration,
    space: Option<u64>,
    scope: Option<Scope>,
) -> Result<(), Failure> {
    let api = Api::renewing(settings, grace, space)?;
    let (signalled, signal) = mpsc::channel();
    let mut signals = Signals::new(CAUGHT)
        .map_err(|e| Failure::failed(format!("cannot catch the signals: {e}")))?;
    std::thread::spawn(move || {
        for caught in signals.forever() {
            if signalled.send(caught).is_err() {
                return;
            }
        }
    });
    let mut keeper = Keeper::new(api, "agent", ledger, sinks, format, grace).in_scope(scope);
    let mut started = false;
    loop {
        match keeper.tick() {
            Tick::Written { .. } => started = true,
            // A token the API refuses (or a bad setting) will not mint
            // later either, and a service that does not answer the first
            // mint is for a supervisor to retry: stop at once.
            Tick::Failed(failure) if !started && matches!(failure.code, 2..=4) => {
                let _ = keeper.finish(true);
                return Err(failure);
            }
            Tick::Failed(_) => {}
        }
        match signal.recv_timeout(TICK) {
            Ok(caught) => {
                let code = u8::try_from(128 + caught).unwrap_or(255);
                log(
                    "agent",
                    "stopping: deleting the tokens it minted and removing its sinks",
                );
                return match keeper.finish(true) {
                    Ok(()) => Err(Failure {
                        code,
                        message: String::new(),
                    }),
                    Err(failure) => Err(Failure {
                        code,
                        message: failure.message,
                    }),
                };
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(TICK);
            }
        }
    }
}
