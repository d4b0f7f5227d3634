//! The command line: every command, option and help text, as clap
//! definitions. Completions and the man page are generated from these too.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

/// The exit codes, shown by `--help` of every command that talks to the API.
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

/// What a subcommand's help says instead of repeating the API options and
/// the exit codes.
const SEE_TOP_HELP: &str = "\
API options (--iam-url, --token-file, --output, ...) and exit codes: neuroio --help";

const FAKE_SERVER_EXIT_CODES: &str = "\
Exit codes:
  0  stopped by Ctrl-C or SIGTERM
  1  the simulator failed
  2  the port cannot be used (taken, or not allowed)";

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

/// The most items the API returns in one page.
const MAX_LIMIT: i64 = 100;

/// Manage NeuroIO API tokens, stream tokens and spaces (create, list,
/// inspect, deactivate, delete, rotate, audit), log in once into a profile,
/// and run commands with a short-lived token of their own.
///
/// The API token is read from a file with --token-file (use - for standard
/// input), else from NEUROIO_API_TOKEN, else from the profile that
/// `neuroio login` stored (--profile, NEUROIO_PROFILE, or default). There
/// is deliberately no flag that takes the token itself.
///
/// The manual, with examples: docs/cli.md in the neuroio repository; the
/// man page: `neuroio man`.
#[derive(Debug, Parser)]
#[command(name = "neuroio", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// API options given before the subcommand.
    #[command(flatten)]
    pub api: ApiArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The options of every command that talks to the API. They are accepted
/// before the subcommand (`neuroio --output json tokens list`) and after it
/// (`neuroio tokens list --output json`); the later one wins.
///
/// None has a default here: an option not given is `None`, so the places it
/// can be given can be merged; [`ApiArgs::or`] does that, and the defaults
/// (from the library) are applied where the client is built.
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = "API options")]
pub struct ApiArgs {
    // The help texts with a default are built from the library's constants.
    #[arg(long, value_name = "URL", help = iam_url_help())]
    pub iam_url: Option<String>,

    #[arg(long, value_name = "URL", help = api_url_help())]
    pub api_url: Option<String>,

    /// Allow an http:// IAM or API URL that is not on this machine. The API
    /// token then crosses the network in clear text.
    #[arg(long)]
    pub allow_insecure_http: bool,

    /// Read the API token from this file instead of NEUROIO_API_TOKEN
    /// ("-" reads standard input; on a terminal, asks without echo).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,

    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, help = timeout_help())]
    pub timeout: Option<f64>,

    #[arg(long, value_name = "N", help = retries_help())]
    pub retries: Option<u32>,

    /// The profile of the credentials file to use: its token when none
    /// comes from --token-file or NEUROIO_API_TOKEN, and its URLs [env:
    /// NEUROIO_PROFILE] [default: default].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Output format [default: table when standard output is a terminal,
    /// json otherwise].
    #[arg(long, value_enum)]
    pub output: Option<Format>,

    /// Show token keys in the output of list, get and update of tokens
    /// and stream-tokens; every other command refuses it. (create,
    /// rotate, login and spaces create-token always print the new token's
    /// key: that is what they are for.)
    #[arg(long)]
    pub show_keys: bool,
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

impl ApiArgs {
    /// These options, with those not given here taken from `earlier`.
    pub fn or(self, earlier: ApiArgs) -> ApiArgs {
        ApiArgs {
            iam_url: self.iam_url.or(earlier.iam_url),
            api_url: self.api_url.or(earlier.api_url),
            allow_insecure_http: self.allow_insecure_http || earlier.allow_insecure_http,
            token_file: self.token_file.or(earlier.token_file),
            timeout: self.timeout.or(earlier.timeout),
            retries: self.retries.or(earlier.retries),
            profile: self.profile.or(earlier.profile),
            output: self.output.or(earlier.output),
            show_keys: self.show_keys || earlier.show_keys,
        }
    }

    /// Whether any option was given.
    pub fn any(&self) -> bool {
        self.iam_url.is_some()
            || self.api_url.is_some()
            || self.allow_insecure_http
            || self.token_file.is_some()
            || self.timeout.is_some()
            || self.retries.is_some()
            || self.profile.is_some()
            || self.output.is_some()
            || self.show_keys
    }
}

/// [`ApiArgs`] as options of a command group (`tokens`) that its
/// subcommands inherit, so they may follow the group or the subcommand.
#[derive(Clone, Debug, Default)]
pub struct GroupApiArgs(pub ApiArgs);

impl FromArgMatches for GroupApiArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        ApiArgs::from_arg_matches(matches).map(GroupApiArgs)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
}

impl Args for GroupApiArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        inherited(out_of_help(ApiArgs::augment_args(cmd), &[]))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        inherited(out_of_help(ApiArgs::augment_args_for_update(cmd), &[]))
    }
}

/// The ids of the API options.
fn api_arg_ids() -> Vec<clap::Id> {
    ApiArgs::augment_args(clap::Command::new("probe"))
        .get_arguments()
        .map(|arg| arg.get_id().clone())
        .collect()
}

/// Marks the API options of `cmd` global, which in clap means inherited by
/// the subcommands of `cmd` (and only those).
fn inherited(cmd: clap::Command) -> clap::Command {
    api_arg_ids()
        .into_iter()
        .fold(cmd, |cmd, id| cmd.mut_arg(id, |arg| arg.global(true)))
}

/// Keeps the API options of `cmd` out of its help (the top-level help
/// shows them once; completions still offer them), and makes each of
/// `refused` (option, why) an error when given: a command that cannot use
/// an option says so rather than ignore it.
fn out_of_help(
    cmd: clap::Command,
    refused: &'static [(&'static str, &'static str)],
) -> clap::Command {
    api_arg_ids().into_iter().fold(cmd, |cmd, id| {
        let why = refused
            .iter()
            .find(|(option, _)| *option == id.as_str())
            .map(|(_, why)| *why);
        cmd.mut_arg(id, |arg| {
            let arg = arg.hide_short_help(true).hide_long_help(true);
            match why {
                // A flag is parsed from its default ("false") too.
                Some(why) if !arg.get_action().takes_values() => {
                    arg.hide(true).value_parser(move |value: &str| match value {
                        "false" => Ok(false),
                        _ => Err(why),
                    })
                }
                Some(why) => arg
                    .hide(true)
                    .value_parser(move |_: &str| Err::<String, _>(why)),
                None => arg,
            }
        })
    })
}

/// Which API options a command cannot use, and why.
pub trait Refusals {
    /// (the option's id, why it does not apply).
    const REFUSED: &'static [(&'static str, &'static str)];
}

/// `whoami` prints no token's key.
#[derive(Clone, Debug, Default)]
pub struct ForWhoami;

impl Refusals for ForWhoami {
    const REFUSED: &'static [(&'static str, &'static str)] =
        &[("show_keys", "whoami prints no token's key")];
}

/// `login` needs no API token, and always prints the new key.
#[derive(Clone, Debug, Default)]
pub struct ForLogin;

impl Refusals for ForLogin {
    const REFUSED: &'static [(&'static str, &'static str)] = &[
        ("token_file", "login needs no API token"),
        ("show_keys", "login always prints the new token's key"),
    ];
}

/// `exec` prints nothing of its own: the command's output is all there is.
#[derive(Clone, Debug, Default)]
pub struct ForExec;

impl Refusals for ForExec {
    const REFUSED: &'static [(&'static str, &'static str)] = &[
        ("output", "exec prints nothing of its own to format"),
        ("show_keys", "exec never prints the command's token"),
    ];
}

/// [`ApiArgs`] given after a command that is not a group (`login`,
/// `whoami`, `exec`): kept out of its help, and those in `R` refused.
#[derive(Clone, Debug, Default)]
pub struct LocalApiArgs<R>(pub ApiArgs, std::marker::PhantomData<R>);

impl<R> FromArgMatches for LocalApiArgs<R> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        ApiArgs::from_arg_matches(matches).map(|args| LocalApiArgs(args, std::marker::PhantomData))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
}

impl<R: Refusals> Args for LocalApiArgs<R> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        out_of_help(ApiArgs::augment_args(cmd), R::REFUSED)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        out_of_help(ApiArgs::augment_args_for_update(cmd), R::REFUSED)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON document on standard output.
    Json,
    /// One JSON object per line, one per token.
    Jsonl,
    /// Aligned columns for a person.
    Table,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage tokens.
    #[command(after_help = SEE_TOP_HELP)]
    Tokens(Group<TokensCommand>),
    /// Manage stream tokens (the tokens that authorise video streams, on
    /// the API host): the same commands as `tokens`, in a separate
    /// collection.
    #[command(after_help = SEE_TOP_HELP)]
    StreamTokens(Group<CollectionCommand>),
    /// Run the offline simulator of the API in the foreground until Ctrl-C or
    /// SIGTERM. It serves the IAM and the API host on one address. The first
    /// line on standard output is JSON with its URL, root token, and the
    /// root account's user: {"url": ..., "root_token": ..., "user":
    /// {"username": ..., "password": ...}}.
    #[command(after_help = FAKE_SERVER_EXIT_CODES)]
    FakeServer {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// How long new temporary tokens live, in seconds [default: 86400].
        #[arg(long, value_name = "SECONDS", value_parser = parse_lifetime)]
        temporary_lifetime: Option<Duration>,
    },
    /// Log in with a user name and password, and store the new temporary
    /// token (24 hours) in a profile of the credentials file; print the
    /// user, the token's id and its expiry (not its key). Needs no API
    /// token.
    ///
    /// The profile's old token, if any, is deleted once the new one is
    /// stored. With --no-store nothing is stored and the new token is
    /// printed with its key. The password is read from --password-file, or
    /// asked for without echo when standard input is a terminal; never from
    /// an argument.
    #[command(after_help = SEE_TOP_HELP)]
    Login {
        /// The user name.
        #[arg(long, value_name = "USER")]
        username: String,
        /// Read the password from this file (- for standard input); one
        /// trailing newline is ignored.
        #[arg(long, value_name = "PATH")]
        password_file: Option<PathBuf>,
        /// Store nothing: print the new token with its key.
        #[arg(long)]
        no_store: bool,
        #[command(flatten)]
        api: LocalApiArgs<ForLogin>,
    },
    /// The profiles of the credentials file: who you are, the token, log
    /// out, list.
    #[command(after_help = SEE_TOP_HELP)]
    Auth(Group<AuthCommand>),
    /// Show the account and space of the API token in use (just the space,
    /// for a space token).
    #[command(after_help = SEE_TOP_HELP)]
    Whoami {
        #[command(flatten)]
        api: LocalApiArgs<ForWhoami>,
    },
    /// Manage spaces.
    #[command(after_help = SEE_TOP_HELP)]
    Spaces(Group<SpacesCommand>),
    /// Manage the account's password.
    #[command(after_help = SEE_TOP_HELP)]
    Password(Group<PasswordCommand>),
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
    #[command(after_help = EXEC_EXIT_CODES)]
    Exec {
        /// The command to run, and its arguments.
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "CMD"
        )]
        command: Vec<std::ffi::OsString>,
        #[command(flatten)]
        api: LocalApiArgs<ForExec>,
    },
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

/// A collection of tokens, with the API options its commands inherit.
#[derive(Debug, Args)]
pub struct Group<C: Subcommand> {
    #[command(flatten)]
    pub api: GroupApiArgs,

    #[command(subcommand)]
    pub command: C,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    #[command(flatten)]
    Collection(CollectionCommand),
    /// Create a new temporary token with the current one, check that it
    /// works, and print it. The current token is left as it is.
    #[command(after_help = SEE_TOP_HELP)]
    Rotate,
    /// Audit the account's tokens and stream tokens against the API's
    /// advice (few permanent tokens, temporary ones rotated); changes
    /// nothing. Findings: permanent-limit (4 or 5 of 5 used),
    /// permanent-old, inactive (deactivated, not deleted), expired (still
    /// listed), permanent-in-use (this command runs on a permanent token).
    ///
    /// Example, in a nightly cron job: neuroio tokens audit --fail
    #[command(after_help = SEE_TOP_HELP)]
    Audit {
        /// Report permanent tokens older than this many days.
        #[arg(long, value_name = "DAYS", default_value_t = 90)]
        max_age: u32,
        /// Audit as of this time (RFC 3339) instead of now.
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        at: Option<time::OffsetDateTime>,
        /// Exit 5 when there is any finding.
        #[arg(long)]
        fail: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Show the profile, where the token comes from, the user, the token's
    /// id, kind and time left (asks the API who the token belongs to).
    #[command(after_help = SEE_TOP_HELP)]
    Status,
    /// Print the API token alone on one line, for $(neuroio auth token).
    #[command(after_help = SEE_TOP_HELP)]
    Token,
    /// Delete the profile's token on the server and remove it from the
    /// credentials file (its user and URLs stay).
    #[command(after_help = SEE_TOP_HELP)]
    Logout,
    /// List every profile: name, user, IAM URL, time left (never a key).
    #[command(after_help = SEE_TOP_HELP)]
    List,
}

#[derive(Debug, Subcommand)]
pub enum SpacesCommand {
    /// List spaces, newest first.
    #[command(after_help = SEE_TOP_HELP)]
    List {
        /// Only spaces whose name contains this text (any case).
        #[arg(long, value_name = "Q")]
        query: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// Show one space.
    #[command(after_help = SEE_TOP_HELP)]
    Get {
        /// The space's id.
        id: u64,
    },
    /// Create a space (its name: 1 to 255 characters, unique in the
    /// account) and print it.
    #[command(after_help = SEE_TOP_HELP)]
    Create {
        /// The new space's name.
        name: String,
    },
    /// Rename a space and print it.
    #[command(after_help = SEE_TOP_HELP)]
    Rename {
        /// The space's id.
        id: u64,
        /// The new name (1 to 255 characters, unique in the account).
        name: String,
    },
    /// Delete a space and every token of it. The account's default space
    /// cannot be deleted.
    #[command(after_help = SEE_TOP_HELP)]
    Delete {
        /// The space's id.
        id: u64,
        /// Confirm the deletion; required.
        #[arg(long)]
        yes: bool,
    },
    /// Create a token restricted to one space, with an account token, and
    /// print it with its key: temporary (24 hours) unless --permanent.
    #[command(after_help = SEE_TOP_HELP)]
    CreateToken {
        /// The space's id (see `neuroio spaces list`).
        space_id: u64,
        /// Create a permanent token (at most 5 per space).
        #[arg(long)]
        permanent: bool,
    },
}

/// Which page of a list to show, or every page.
#[derive(Debug, Args)]
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
    /// The page size of one page, as the official SDKs default it.
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(20)
    }

    /// The page size of a walk: the library's unless given.
    pub fn walk_page_size(&self) -> u32 {
        self.limit.unwrap_or(neuroio::DEFAULT_PAGE_SIZE)
    }
}

#[derive(Debug, Subcommand)]
pub enum PasswordCommand {
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

/// The operations every collection of tokens has.
#[derive(Debug, Subcommand)]
pub enum CollectionCommand {
    /// Create a token: temporary (24 hours) unless --permanent.
    #[command(after_help = SEE_TOP_HELP)]
    Create {
        /// Create a permanent token (at most 5 per account).
        #[arg(long)]
        permanent: bool,
    },
    /// List tokens, newest first.
    #[command(after_help = SEE_TOP_HELP)]
    List {
        #[command(flatten)]
        filter: Filter,
        #[command(flatten)]
        page: Page,
    },
    /// Show one token (a number is taken as an id, anything else as a key).
    #[command(after_help = SEE_TOP_HELP)]
    Get {
        #[command(flatten)]
        token: TokenArg,
    },
    /// Activate or deactivate a token.
    #[command(after_help = SEE_TOP_HELP)]
    Update {
        #[command(flatten)]
        token: TokenArg,
        /// true to activate, false to deactivate.
        #[arg(long, action = ArgAction::Set, value_name = "true|false")]
        active: bool,
    },
    /// Delete one token.
    #[command(after_help = SEE_TOP_HELP)]
    Delete {
        #[command(flatten)]
        token: TokenArg,
    },
    /// Delete many tokens at once. Without a filter this deletes every token
    /// of the collection; for `tokens`, that includes the one this command
    /// uses.
    #[command(after_help = SEE_TOP_HELP)]
    DeleteAll {
        #[command(flatten)]
        filter: Filter,
        /// Confirm the deletion; required.
        #[arg(long)]
        yes: bool,
    },
}

/// Which token a command is about. A key typed on the command line shows in
/// `ps`; `-` or --key-file keep it off the command line.
#[derive(Debug, Args)]
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

#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct Filter {
    /// Only permanent tokens.
    #[arg(long)]
    pub permanent: bool,
    /// Only temporary tokens.
    #[arg(long)]
    pub temporary: bool,
}

impl Filter {
    pub fn permanent(&self) -> Option<bool> {
        match (self.permanent, self.temporary) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
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

fn parse_time(raw: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{raw:?} is not an RFC 3339 time such as 2026-01-31T12:00:00Z: {e}"))
}

fn parse_lifetime(raw: &str) -> Result<Duration, String> {
    let seconds: f64 = raw
        .parse()
        .map_err(|_| format!("{raw:?} is not a number of seconds"))?;
    match Duration::try_from_secs_f64(seconds) {
        Ok(lifetime) if !lifetime.is_zero() => Ok(lifetime),
        _ => Err("give a number of seconds above 0".to_owned()),
    }
}
