//! `neuroio`: manage NeuroIO API tokens from scripts and the shell.
//!
//! Every command is a thin call into the `neuroio` crate. The API token comes
//! from `NEUROIO_API_TOKEN` or `--token-file`, never from a flag, so it stays
//! out of `ps` and shell history.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use neuroio::fake::FakeIam;
use neuroio::{Client, Error, Token, TokenRef};
use time::format_description::well_known::Rfc3339;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the API refused the request (4xx other than 401/403), or failed (5xx)
  2  usage error: bad arguments, missing token, unusable configuration
  3  network error or timeout: no answer from the API
  4  authentication failed (401 or 403)";

/// Manage NeuroIO API tokens: create, list, inspect, deactivate, delete and
/// rotate them.
///
/// The API token is read from NEUROIO_API_TOKEN, or from a file with
/// --token-file (use - for standard input). There is deliberately no flag
/// that takes the token itself.
#[derive(Debug, Parser)]
#[command(name = "neuroio", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    global: Global,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// IAM base URL.
    #[arg(
        long,
        global = true,
        env = "NEUROIO_IAM_URL",
        default_value = neuroio::DEFAULT_IAM_URL
    )]
    iam_url: String,

    /// Read the API token from this file instead of NEUROIO_API_TOKEN
    /// ("-" reads standard input).
    #[arg(long, global = true, value_name = "PATH")]
    token_file: Option<PathBuf>,

    /// Seconds one attempt of a request may take.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_seconds)]
    timeout: f64,

    /// How many times to retry idempotent calls after passing failures
    /// (create is never retried).
    #[arg(long, global = true, value_name = "N", default_value_t = 2)]
    retries: u32,

    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Json)]
    output: Output,

    /// Show token keys in the output of list, get and update. (create and
    /// rotate always print the new token's key: that is what they are for.)
    #[arg(long, global = true)]
    show_keys: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    /// One JSON document on standard output.
    Json,
    /// One JSON object per line, one per token.
    Jsonl,
    /// Aligned columns for a person.
    Table,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Run the offline simulator of the API in the foreground until Ctrl-C or
    /// SIGTERM. The first line on standard output is JSON with its URL and
    /// root token.
    FakeServer {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    /// Create a token: temporary (24 hours) unless --permanent.
    Create {
        /// Create a permanent token (at most 5 per account).
        #[arg(long)]
        permanent: bool,
    },
    /// List tokens, newest first.
    List {
        #[command(flatten)]
        filter: Filter,
        /// Tokens per page (1 to 100); with --all, the page size.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Tokens to skip.
        #[arg(long, default_value_t = 0, conflicts_with = "all")]
        offset: u32,
        /// Walk every page.
        #[arg(long)]
        all: bool,
    },
    /// Show one token (a number is taken as an id, anything else as a key).
    Get {
        /// The token's id or key.
        id_or_key: String,
    },
    /// Activate or deactivate a token.
    Update {
        /// The token's id or key.
        id_or_key: String,
        /// true to activate, false to deactivate.
        #[arg(long, action = ArgAction::Set, value_name = "true|false")]
        active: bool,
    },
    /// Delete one token.
    Delete {
        /// The token's id or key.
        id_or_key: String,
    },
    /// Delete many tokens at once. Without a filter this deletes every token
    /// of the account, including the one this command uses.
    DeleteAll {
        #[command(flatten)]
        filter: Filter,
        /// Confirm the deletion; required.
        #[arg(long)]
        yes: bool,
    },
    /// Create a new temporary token with the current one, check that it
    /// works, and print it. The current token is left as it is.
    Rotate,
}

#[derive(Debug, Args)]
#[group(multiple = false)]
struct Filter {
    /// Only permanent tokens.
    #[arg(long)]
    permanent: bool,
    /// Only temporary tokens.
    #[arg(long)]
    temporary: bool,
}

impl Filter {
    fn permanent(&self) -> Option<bool> {
        match (self.permanent, self.temporary) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

/// A failure, with the exit code it maps to.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        let code = exit_code(&err);
        let mut message = err.to_string();
        let api = match &err {
            Error::Api(api) => Some(api),
            Error::OutcomeUnknown { source, .. } => match source.as_ref() {
                Error::Api(api) => Some(api),
                _ => None,
            },
            _ => None,
        };
        if let Some(api) = api {
            // The API's message, then each field error on its own line.
            message = format!("API error (HTTP {}): {}", api.status, api.message);
            if let Error::OutcomeUnknown { .. } = &err {
                message = format!(
                    "{message}\nthe outcome is unknown: a token may or may not have been created; \
                     list the tokens and compare before trying again"
                );
            }
            for field in &api.fields {
                message.push_str(&format!("\n  {}: {}", field.name, field.message));
            }
            if let Some(wait) = api.retry_after {
                message.push_str(&format!(
                    "\nthe server asks to retry after {} s",
                    wait.as_secs()
                ));
            }
        }
        Failure { code, message }
    }
}

fn exit_code(err: &Error) -> u8 {
    match err {
        Error::Api(api) if matches!(api.status, 401 | 403) => 4,
        Error::Api(_) | Error::UnexpectedResponse { .. } => 1,
        Error::Transport(_) => 3,
        Error::OutcomeUnknown { source, .. } => exit_code(source),
        Error::Config(_) | Error::InvalidTokenRef(_) => 2,
        _ => 1,
    }
}

fn main() -> ExitCode {
    // clap prints help and usage errors itself, exiting 0 or 2.
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let _ = writeln!(io::stderr(), "error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: &Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::FakeServer { port } => fake_server(*port),
        Command::Tokens(command) => {
            let client = client(&cli.global)?;
            tokens(&client, command, &cli.global)
        }
    }
}

fn client(global: &Global) -> Result<Client, Failure> {
    let token = read_token(global.token_file.as_deref())?;
    let client = Client::builder()
        .api_token(token)
        .iam_url(&global.iam_url)
        .timeout(Duration::from_secs_f64(global.timeout))
        .max_retries(global.retries)
        .build()?;
    Ok(client)
}

fn read_token(file: Option<&std::path::Path>) -> Result<String, Failure> {
    let raw = match file {
        Some(path) if path.as_os_str() == "-" => {
            let mut line = String::new();
            io::stdin().lock().read_line(&mut line).map_err(|e| {
                Failure::usage(format!("cannot read the token from standard input: {e}"))
            })?;
            line
        }
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            Failure::usage(format!(
                "cannot read the token file {}: {e}",
                path.display()
            ))
        })?,
        None => match std::env::var("NEUROIO_API_TOKEN") {
            Ok(token) => token,
            Err(_) => {
                return Err(Failure::usage(
                    "no API token: set NEUROIO_API_TOKEN or pass --token-file PATH (- for stdin)",
                ));
            }
        },
    };
    let token = raw.trim().to_owned();
    if token.is_empty() {
        return Err(Failure::usage("the API token is empty"));
    }
    Ok(token)
}

fn tokens(client: &Client, command: &TokensCommand, global: &Global) -> Result<(), Failure> {
    let tokens = client.tokens();
    let out = Printer {
        output: global.output,
        show_keys: global.show_keys,
    };
    match command {
        TokensCommand::Create { permanent } => out.new_token(&tokens.create(*permanent)?),
        TokensCommand::List {
            filter,
            limit,
            offset,
            all,
        } => {
            if *all {
                let walk = tokens.iter(filter.permanent()).page_size(*limit);
                out.stream(walk)
            } else {
                out.list(&tokens.list(filter.permanent(), *limit, *offset)?)
            }
        }
        TokensCommand::Get { id_or_key } => out.token(&tokens.get(token_ref(id_or_key))?),
        TokensCommand::Update { id_or_key, active } => {
            out.token(&tokens.update(token_ref(id_or_key), *active)?)
        }
        TokensCommand::Delete { id_or_key } => {
            tokens.delete(token_ref(id_or_key))?;
            out.done(serde_json::json!({"deleted": true}))
        }
        TokensCommand::DeleteAll { filter, yes } => {
            let (scope, permanent) = match filter.permanent() {
                Some(true) => ("permanent", Some(true)),
                Some(false) => ("temporary", Some(false)),
                None => ("all", None),
            };
            if !yes {
                return Err(Failure::usage(format!(
                    "refusing to delete {scope} tokens without --yes{}",
                    if permanent.is_none() {
                        " (with no filter this deletes every token, including the one in use)"
                    } else {
                        ""
                    }
                )));
            }
            tokens.delete_list(permanent)?;
            if permanent.is_none() {
                let _ = writeln!(
                    io::stderr(),
                    "note: every token of the account was deleted, including the one this command used"
                );
            }
            out.done(serde_json::json!({"deleted": scope}))
        }
        TokensCommand::Rotate => {
            let (_, token) = client.rotate()?;
            out.new_token(&token)
        }
    }
}

/// A number is an id; anything else is a key.
fn token_ref(id_or_key: &str) -> TokenRef {
    match id_or_key.parse::<u64>() {
        Ok(id) => TokenRef::from(id),
        Err(_) => TokenRef::from(id_or_key),
    }
}

fn parse_seconds(raw: &str) -> Result<f64, String> {
    let seconds: f64 = raw
        .parse()
        .map_err(|_| format!("{raw:?} is not a number of seconds"))?;
    if seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0 {
        Ok(seconds)
    } else {
        Err("give a number of seconds above 0 and at most 86400".to_owned())
    }
}

struct Printer {
    output: Output,
    show_keys: bool,
}

impl Printer {
    /// A token just made: its key is shown, since the caller has no other
    /// way to learn it.
    fn new_token(&self, token: &Token) -> Result<(), Failure> {
        let shown = Printer {
            output: self.output,
            show_keys: true,
        };
        shown.token(token)
    }

    fn token(&self, token: &Token) -> Result<(), Failure> {
        match self.output {
            Output::Json | Output::Jsonl => emit(&self.json(token)?),
            Output::Table => self.table(std::slice::from_ref(token)),
        }
    }

    fn list(&self, tokens: &[Token]) -> Result<(), Failure> {
        match self.output {
            Output::Json => {
                let values = tokens
                    .iter()
                    .map(|t| self.value(t))
                    .collect::<Result<Vec<_>, _>>()?;
                emit(&to_json(&values)?)
            }
            Output::Jsonl => tokens.iter().try_for_each(|t| emit(&self.json(t)?)),
            Output::Table => self.table(tokens),
        }
    }

    /// A token as JSON, without its key unless keys are to be shown.
    fn value(&self, token: &Token) -> Result<serde_json::Value, Failure> {
        let mut value = serde_json::to_value(token).map_err(|e| Failure {
            code: 1,
            message: format!("cannot write the answer as JSON: {e}"),
        })?;
        if !self.show_keys
            && let Some(object) = value.as_object_mut()
        {
            object.remove("key");
        }
        Ok(value)
    }

    fn json(&self, token: &Token) -> Result<String, Failure> {
        to_json(&self.value(token)?)
    }

    /// Prints a walk over every page. jsonl streams, keeping one page in
    /// memory; json and table need the whole list first.
    fn stream(&self, walk: impl Iterator<Item = neuroio::Result<Token>>) -> Result<(), Failure> {
        if self.output == Output::Jsonl {
            for token in walk {
                emit(&self.json(&token?)?)?;
            }
            return Ok(());
        }
        let all = walk.collect::<neuroio::Result<Vec<Token>>>()?;
        self.list(&all)
    }

    fn done(&self, summary: serde_json::Value) -> Result<(), Failure> {
        match self.output {
            Output::Json | Output::Jsonl => emit(&summary.to_string()),
            Output::Table => emit(&summary_line(&summary)),
        }
    }

    fn table(&self, tokens: &[Token]) -> Result<(), Failure> {
        let mut header = vec!["ID", "ACTIVE", "KIND", "CREATED", "EXPIRES"];
        if self.show_keys {
            header.push("KEY");
        }
        let rows: Vec<Vec<String>> = tokens
            .iter()
            .map(|t| {
                let mut row = vec![
                    t.id.to_string(),
                    t.is_active.to_string(),
                    if t.is_permanent() {
                        "permanent"
                    } else {
                        "temporary"
                    }
                    .to_owned(),
                    rfc3339(t.created),
                    t.expires.map_or_else(|| "never".to_owned(), rfc3339),
                ];
                if self.show_keys {
                    row.push(t.key.secret().to_owned());
                }
                row
            })
            .collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                rows.iter()
                    .filter_map(|r| r.get(i).map(String::len))
                    .chain(header.get(i).map(|h| h.len()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<&str>| {
            cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        };
        emit(&line(header.clone()))?;
        for row in &rows {
            emit(&line(row.iter().map(String::as_str).collect()))?;
        }
        Ok(())
    }
}

fn summary_line(summary: &serde_json::Value) -> String {
    match summary.get("deleted") {
        Some(serde_json::Value::String(scope)) => format!("deleted {scope} tokens"),
        _ => "deleted".to_owned(),
    }
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, Failure> {
    serde_json::to_string(value).map_err(|e| Failure {
        code: 1,
        message: format!("cannot write the answer as JSON: {e}"),
    })
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// Writes one line to standard output; a closed pipe (`| head`) ends quietly.
fn emit(line: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Failure {
            code: 1,
            message: format!("cannot write to standard output: {e}"),
        }),
    }
}

fn fake_server(port: u16) -> Result<(), Failure> {
    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .map_err(|e| Failure {
        code: 1,
        message: format!("cannot install the signal handler: {e}"),
    })?;
    let mut fake = FakeIam::bind(("127.0.0.1", port)).map_err(|e| Failure {
        code: 1,
        message: format!("{e} (is port {port} free?)"),
    })?;
    emit(
        &serde_json::json!({
            "url": fake.url(),
            "root_token": fake.root_token(),
        })
        .to_string(),
    )?;
    let _ = writeln!(
        io::stderr(),
        "simulator running at {}; Ctrl-C to stop",
        fake.url()
    );
    let _ = stop_rx.recv();
    fake.shutdown();
    let _ = writeln!(io::stderr(), "simulator stopped");
    Ok(())
}
