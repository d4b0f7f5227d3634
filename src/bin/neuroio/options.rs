//! The options more than one command family takes, as clap argument
//! groups. A command takes an option by flattening its group, and only the
//! options it flattens: clap refuses every other one, with no table kept by
//! hand.
//!
//! The groups a command family flattens are `global`, which in clap means
//! inherited by that family's subcommands (and only those): they may follow
//! the family (`neuroio tokens --output json list`) or its subcommand
//! (`neuroio tokens list --output json`). They are not options of
//! `neuroio` itself, since `fake-server`, `completions` and `man` take none.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// The exit codes of the commands that talk to the API.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the API refused the request (4xx other than 401/403), or failed (5xx),
     or answered with more than neuroio reads;
     or a new token could not be written out (it is deleted again)
  2  usage error: bad arguments, missing token, unusable configuration
  3  network error or timeout: no answer from the API
  4  authentication failed (401 or 403), or a wrong user name or password
  5  tokens audit --fail: the audit found something";

/// What a subcommand's help says instead of repeating the exit codes.
pub const SEE_TOP_HELP: &str = "Exit codes, files and environment: neuroio --help";

/// The most items the API returns in one page.
const MAX_LIMIT: i64 = 100;

/// Where the calls go and how they are sent: every command that talks to
/// the API takes these.
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = "API options")]
pub struct Connection {
    // The help texts with a default are built from the library's constants.
    #[arg(long, global = true, value_name = "URL", help = iam_url_help())]
    pub iam_url: Option<String>,

    #[arg(long, global = true, value_name = "URL", help = api_url_help())]
    pub api_url: Option<String>,

    /// Allow an http:// IAM or API URL that is not on this machine. The API
    /// token then crosses the network in clear text.
    #[arg(long, global = true)]
    pub allow_insecure_http: bool,

    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_seconds, help = timeout_help())]
    pub timeout: Option<f64>,

    #[arg(long, global = true, value_name = "N", help = retries_help())]
    pub retries: Option<u32>,

    /// The profile of the credentials file to use: its token when none
    /// comes from --token-file, NEUROIO_API_TOKEN_FILE or
    /// NEUROIO_API_TOKEN, and its URLs [env:
    /// NEUROIO_PROFILE] [default: the one `neuroio auth switch` chose, else
    /// default].
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Log each request on standard error: method, URL, status, time taken
    /// and retries (never a key or password). The same as NEUROIO_LOG=debug.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// Where the API token comes from, besides the environment and the profile.
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = "API options")]
pub struct TokenSource {
    /// Read the API token from this file instead of NEUROIO_API_TOKEN_FILE
    /// or NEUROIO_API_TOKEN ("-" reads standard input; on a terminal, asks
    /// without echo). The file holds the key, or the agent's JSON.
    #[arg(long, global = true, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// How a result is printed.
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = "API options")]
pub struct Output {
    /// Output format [default: table when standard output is a terminal,
    /// json otherwise].
    #[arg(short, long, global = true, value_enum)]
    pub output: Option<Format>,
}

/// The options of a command that calls the API with the token in use and
/// prints what it answered: most commands.
#[derive(Clone, Debug, Default, Args)]
pub struct ApiOptions {
    #[command(flatten)]
    pub connection: Connection,
    #[command(flatten)]
    pub token: TokenSource,
    #[command(flatten)]
    pub output: Output,
}

impl ApiOptions {
    /// The settings these options make, with no keys shown.
    pub fn settings(&self) -> Settings {
        self.connection
            .settings()
            .token_file(self.token.token_file.clone())
            .output(self.output.output)
    }
}

impl Connection {
    /// The settings of these options alone: no token file, the default
    /// format, no keys shown.
    pub fn settings(&self) -> Settings {
        Settings {
            iam_url: self.iam_url.clone(),
            api_url: self.api_url.clone(),
            allow_insecure_http: self.allow_insecure_http,
            timeout: self.timeout,
            retries: self.retries,
            profile: self.profile.clone(),
            verbose: self.verbose,
            ..Settings::default()
        }
    }
}

/// `--show-keys`: only the commands that print existing tokens take it.
#[derive(Clone, Copy, Debug, Default, Args)]
pub struct ShowKeys {
    /// Show the tokens' keys (secrets) in the output.
    #[arg(long)]
    pub show_keys: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON document on standard output.
    Json,
    /// One JSON object per line, one per item.
    Jsonl,
    /// Aligned columns for a person.
    Table,
}

/// `--yes` (`-y`): confirms a deletion without being asked.
#[derive(Clone, Copy, Debug, Default, Args)]
pub struct Yes {
    /// Delete without asking; required when standard input is not a
    /// terminal.
    #[arg(short, long)]
    pub yes: bool,
}

/// Which page of a list to show, or every page.
#[derive(Clone, Copy, Debug, Args)]
pub struct Page {
    /// Items per page (1 to 100) [default: 20; with --all, 100].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=MAX_LIMIT))]
    pub limit: Option<u32>,
    /// Items to skip.
    #[arg(long, default_value_t = 0, conflicts_with = "all")]
    pub offset: u32,
    /// Walk every page.
    #[arg(long)]
    pub all: bool,
}

impl Page {
    /// The page size of one page, as the official Python and JavaScript
    /// SDKs default it.
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(20)
    }

    /// The page size of a walk: the library's unless given.
    pub fn walk_page_size(&self) -> u32 {
        self.limit.unwrap_or(neuroio::DEFAULT_PAGE_SIZE)
    }
}

/// Which token a command is about. A key typed on the command line shows in
/// `ps`; `-` or --key-file keep it off the command line.
#[derive(Clone, Debug, Args)]
#[group(required = true, multiple = false)]
pub struct TokenArg {
    /// The token's id or key; - reads it from standard input.
    #[arg(value_name = "ID_OR_KEY")]
    pub id_or_key: Option<String>,
    /// Read the token's id or key from this file (- for standard input);
    /// one trailing newline is ignored.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
}

fn iam_url_help() -> String {
    format!(
        "IAM base URL [env: NEUROIO_IAM_URL] [default: {}]",
        neuroio::DEFAULT_IAM_URL
    )
}

fn api_url_help() -> String {
    format!(
        "API base URL, for stream tokens [env: NEUROIO_API_URL] [default: {}]",
        neuroio::DEFAULT_API_URL
    )
}

fn timeout_help() -> String {
    format!(
        "Seconds one attempt of a request may take [default: {}]",
        neuroio::DEFAULT_TIMEOUT.as_secs_f64()
    )
}

fn retries_help() -> String {
    format!(
        "How many times to retry idempotent calls after passing failures; \
         create is never retried [default: {}]",
        neuroio::DEFAULT_MAX_RETRIES
    )
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

/// An RFC 3339 time, for `--at`.
pub fn parse_time(raw: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{raw:?} is not an RFC 3339 time such as 2026-01-31T12:00:00Z: {e}"))
}

/// The settings a command's options make: every option a command may
/// take, each `None` (or `false`) where the command was not given it or
/// does not take it. The defaults (from the library) are applied where the
/// client is built.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub iam_url: Option<String>,
    pub api_url: Option<String>,
    pub allow_insecure_http: bool,
    pub token_file: Option<PathBuf>,
    pub timeout: Option<f64>,
    pub retries: Option<u32>,
    pub profile: Option<String>,
    pub output: Option<Format>,
    pub show_keys: bool,
    pub verbose: bool,
}

impl Settings {
    /// These settings with the API token read from `file`.
    pub fn token_file(mut self, file: Option<PathBuf>) -> Self {
        self.token_file = file;
        self
    }

    /// These settings printing as `format`.
    pub fn output(mut self, format: Option<Format>) -> Self {
        self.output = format;
        self
    }

    /// These settings showing the keys of existing tokens, or not.
    pub fn show_keys(mut self, show: bool) -> Self {
        self.show_keys = show;
        self
    }
}
