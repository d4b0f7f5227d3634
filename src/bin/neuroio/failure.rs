//! Failures and the exit codes they map to (see `options::EXIT_CODES`).

use neuroio::{Error, TransportError, TransportErrorKind};

use crate::output::{WriteError, terminal_safe};

/// A failure, with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    /// Printed to standard error after "error: "; nothing when empty.
    pub message: String,
}

impl Failure {
    /// Exit code 1: the request or the command failed.
    pub fn failed(message: impl Into<String>) -> Self {
        Failure {
            code: 1,
            message: message.into(),
        }
    }

    /// Exit code 2: bad arguments or an unusable setting.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    /// The message safe for a terminal: each line made
    /// [`terminal_safe`], so text a server put in it cannot act on the
    /// terminal (the line breaks are the CLI's own).
    pub fn shown(&self) -> String {
        self.message
            .split('\n')
            .map(terminal_safe)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The failure of a call about one item, which a 404 names: `item`
    /// says what was not found, such as "token 5", at the URL the call went
    /// to (else at `base`, the base URL); `check` says what to check.
    pub fn about(err: Error, item: impl FnOnce() -> String, base: &str, check: &str) -> Failure {
        let at = match &err {
            Error::Api(api) if api.status == 404 => Some(api.url().unwrap_or(base).to_owned()),
            _ => None,
        };
        let mut failure = Failure::from(err);
        if let Some(at) = at {
            failure.message.push_str(&format!(
                "\n{} at {at} was not found: check {check}",
                item()
            ));
        }
        failure
    }

    /// Standard output was closed by its reader (`| head`): the output is
    /// not wanted any more, which is not an error.
    pub fn stdout_closed() -> Self {
        Failure {
            code: 0,
            message: String::new(),
        }
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        let code = exit_code(&err);
        let mut message = match &err {
            // The library's hint names a Rust method; the CLI has a flag.
            Error::Config(neuroio::ConfigError::InsecureUrl { setting, url, .. }) => format!(
                "invalid {setting} {url:?}: http:// would send the API token in clear text to \
                 another machine; use https://, or opt in with --allow-insecure-http"
            ),
            Error::Transport(t) if too_large(t) => too_large_message(t),
            // The library's hint names a Rust method; the CLI has filters.
            Error::ListChanged {
                operation,
                restarts,
                ..
            } => format!(
                "{operation}: the list kept changing while it was read (items were created or \
                 deleted between two pages), and {restarts} fresh starts did not get one \
                 consistent reading; run the command again when the account is quieter, or \
                 narrow the list with a filter"
            ),
            // The library's words, with its Rust hint in CLI words.
            Error::OutcomeUnknown { source, .. } => match source.as_ref() {
                Error::Transport(t) if too_large(t) => err
                    .to_string()
                    .replace(&t.to_string(), &too_large_message(t)),
                _ => err.to_string(),
            },
            _ => err.to_string(),
        };
        // An open outcome keeps the library's words: what may have happened
        // and what to check depend on the operation.
        let api = match &err {
            Error::Api(api) => Some(api),
            _ => None,
        };
        if let Some(api) = api {
            // The API's message, then each field error on its own line.
            // The server's texts, escaped here so that a line break in
            // them cannot pass for one of the CLI's.
            // A server error may come from a proxy in front of the API:
            // it says where the call went (a 404 says it below).
            let from = match (api.status, api.url()) {
                (500.., Some(url)) => format!(" from {}", terminal_safe(url)),
                _ => String::new(),
            };
            message = format!(
                "API error (HTTP {}){from}: {}",
                api.status,
                terminal_safe(&api.message)
            );
            for field in &api.fields {
                message.push_str(&format!(
                    "\n  {}: {}",
                    terminal_safe(&field.name),
                    terminal_safe(&field.message)
                ));
            }
            if let Some(wait) = api.retry_after {
                message.push_str(&format!(
                    "\nthe server asks to retry after {} s",
                    wait.as_secs()
                ));
            }
            if api.status == 401 {
                message.push_str(
                    "\nthe API token is no longer accepted: it expired, was deactivated, or was \
                     deleted (as `neuroio password change --reset-tokens` does); log in again \
                     with `neuroio login`, or use another token",
                );
            }
        }
        Failure { code, message }
    }
}

/// Whether the server's answer was too large to read: it answered, so
/// this is not "no answer" (exit 3) but an answer the CLI cannot use.
fn too_large(t: &TransportError) -> bool {
    t.kind() == TransportErrorKind::ResponseTooLarge
}

/// What to say about an answer too large to read, in the CLI's words (the
/// library's hint names a Rust method): how large is too large, when the
/// transport says, and what to check.
fn too_large_message(t: &TransportError) -> String {
    let limit = std::error::Error::source(t)
        .and_then(|source| source.downcast_ref::<ureq::Error>())
        .and_then(|source| match source {
            ureq::Error::BodyExceedsLimit(limit) => Some(format!(" ({limit} bytes)")),
            _ => None,
        })
        .unwrap_or_default();
    format!(
        "{}: the answer from {} was larger than neuroio reads{limit}, so it was not read; \
         the server answered, but not as the NeuroIO API does: check that the URL (--iam-url, \
         --api-url) points at the API and not at another service or a proxy's page",
        t.operation(),
        t.url()
    )
}

fn exit_code(err: &Error) -> u8 {
    match err {
        Error::Api(api) if matches!(api.status, 401 | 403) => 4,
        Error::Api(_) | Error::UnexpectedResponse { .. } => 1,
        Error::Transport(t) if too_large(t) => 1,
        Error::Transport(_) => 3,
        Error::OutcomeUnknown { source, .. } => exit_code(source),
        // A renewing client's mint: refused (4), or no answer (3).
        Error::Renewal(renewal) => match renewal.status {
            Some(401 | 403) => 4,
            Some(_) => 1,
            None if matches!(renewal.operation, "renewing.mint" | "renewing.wait")
                && !renewal.outcome_unknown =>
            {
                3
            }
            None => 1,
        },
        Error::Config(_)
        | Error::InvalidTokenRef(_)
        | Error::InvalidArgument { .. }
        | Error::Profile(_) => 2,
        _ => 1,
    }
}

impl From<WriteError> for Failure {
    /// For output that can be asked for again: a closed pipe ends quietly.
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::Closed(_) => Failure::stdout_closed(),
            WriteError::Failed(message) => Failure::failed(message),
        }
    }
}

/// The label of the tool's own error lines: `error` in bold red, as clap
/// shows its own, when standard error is a terminal and `NO_COLOR` is not
/// set; plain otherwise.
pub fn error_label(terminal: bool) -> &'static str {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    if terminal && !no_color {
        "\x1b[1m\x1b[31merror\x1b[0m"
    } else {
        "error"
    }
}

/// A note for a usage error clap found, read off the command tree: where
/// an option that this command does not take is taken (`--show-keys`, or
/// an API option given before the command), and where a command that is
/// not at this level is (`neuroio logout` is `neuroio auth logout`).
pub fn usage_hint(err: &clap::Error, cli: &clap::Command) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    // Built, so that each command lists the options it inherits.
    let mut cli = cli.clone();
    cli.build();
    let cli = &cli;
    let named = |kind| match err.get(kind) {
        Some(ContextValue::String(text)) => Some(text.clone()),
        _ => None,
    };
    let mut paths = Vec::new();
    match err.kind() {
        ErrorKind::UnknownArgument => {
            let given = named(ContextKind::InvalidArg)?;
            let long = given.strip_prefix("--")?.split('=').next()?.to_owned();
            commands_where(cli, "neuroio", &mut paths, &|cmd: &clap::Command| {
                cmd.get_arguments()
                    .any(|arg| arg.get_long() == Some(long.as_str()))
            });
            // When the user's own command takes the option, it was given
            // too early (before the command, or between the family and the
            // command): the note says where it goes. The command's words
            // are found in order among the words typed, with option values
            // (`--profile fake`) in between, and none of the words after
            // `--` (`exec`'s command).
            let words: Vec<String> = std::env::args()
                .skip(1)
                .take_while(|word| word != "--")
                .collect();
            let typed: Vec<&str> = words
                .iter()
                .map(String::as_str)
                .filter(|w| !w.starts_with('-'))
                .collect();
            let in_order = |path: &str| {
                let mut typed = typed.iter();
                path.split(' ')
                    .skip(1)
                    .all(|word| typed.any(|t| *t == word))
            };
            let own = paths
                .iter()
                .filter(|path| in_order(path))
                .max_by_key(|path| path.len());
            match (paths.len(), own) {
                (0, _) => None,
                (_, Some(own)) => Some(format!(
                    "note: --{long} goes after the command: `{own} --{long} ...`"
                )),
                (1..=10, None) => Some(format!(
                    "note: --{long} is an option of: {}",
                    quoted(&paths).join(", ")
                )),
                (count, None) => Some(format!(
                    "note: --{long} is an option of {count} commands, given after the command, \
                     such as `{} --{long} ...`",
                    paths[0]
                )),
            }
        }
        ErrorKind::InvalidSubcommand => {
            let given = named(ContextKind::InvalidSubcommand)?;
            commands_where(cli, "neuroio", &mut paths, &|cmd: &clap::Command| {
                cmd.get_name() == given || cmd.get_all_aliases().any(|alias| alias == given)
            });
            (!paths.is_empty())
                .then(|| format!("note: did you mean {}?", quoted(&paths).join(" or ")))
        }
        _ => None,
    }
}

fn quoted(paths: &[String]) -> Vec<String> {
    paths.iter().map(|path| format!("`{path}`")).collect()
}

/// The paths (`neuroio tokens list`) of the commands below `cmd` for
/// which `wanted` holds, depth first.
fn commands_where(
    cmd: &clap::Command,
    path: &str,
    found: &mut Vec<String>,
    wanted: &dyn Fn(&clap::Command) -> bool,
) {
    for sub in cmd.get_subcommands().filter(|sub| sub.get_name() != "help") {
        let sub_path = format!("{path} {}", sub.get_name());
        // A leaf that takes it; a group's own options are its leaves' too.
        if wanted(sub) && !sub.has_subcommands() {
            found.push(sub_path.clone());
        }
        commands_where(sub, &sub_path, found, wanted);
    }
}
