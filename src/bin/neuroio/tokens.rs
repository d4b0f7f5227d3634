//! `neuroio tokens` and `neuroio stream-tokens`: the commands every
//! collection of tokens has, and `tokens rotate`, `tokens audit` and
//! `tokens reap`.

mod audit;
#[cfg(unix)]
mod reap;

use std::io::{self, Write};

use clap::{ArgAction, Args, Subcommand};
use neuroio::{Client, TokenRef, Tokens};
use serde_json::json;

use crate::context::{Api, deliver, print_all};
use crate::failure::Failure;
use crate::input::{confirmed, token_from_stdin};
use crate::options::{ApiOptions, Page, SEE_TOP_HELP, ShowKeys, TokenArg, Yes, parse_time};
use crate::output::{Printer, Progress, terminal_safe};

/// `neuroio tokens`.
#[derive(Debug, Args)]
pub struct TokensArgs {
    #[command(flatten)]
    api: ApiOptions,
    #[command(subcommand)]
    command: TokensCommand,
}

/// `neuroio stream-tokens`.
#[derive(Debug, Args)]
pub struct StreamTokensArgs {
    #[command(flatten)]
    api: ApiOptions,
    #[command(subcommand)]
    command: CollectionCommand,
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    #[command(flatten)]
    Shared(CollectionCommand),
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
    /// Delete the tokens that `agent`, `exec` and `login` minted whose
    /// process is gone (killed, crashed), from the ledger in the state
    /// folder, with the token in use. Prints {"reaped": [ids], "kept": N}.
    ///
    /// A token already gone (404) counts as reaped when the token in use
    /// is of the account or space that minted it; otherwise it may be one
    /// the token in use cannot see, and its entry is kept until it
    /// expires. A space's tokens are deleted with a temporary token of
    /// that space, made for the purpose. Entries of a process still
    /// running or of another machine (a shared home folder), and entries
    /// minted at another IAM URL or with another profile's token, are kept
    /// and counted. The folders of `exec --rotate` jobs of this machine
    /// whose process is gone are removed, token file and all. `agent` and
    /// `exec` reap before they start.
    #[cfg(unix)]
    #[command(after_help = SEE_TOP_HELP)]
    Reap,
}

/// The operations every collection of tokens has.
#[derive(Debug, Subcommand)]
enum CollectionCommand {
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
        #[command(flatten)]
        keys: ShowKeys,
    },
    /// Show one token (a number is taken as an id, anything else as a key).
    #[command(after_help = SEE_TOP_HELP)]
    Get {
        #[command(flatten)]
        token: TokenArg,
        #[command(flatten)]
        keys: ShowKeys,
    },
    /// Activate or deactivate a token (see also activate and deactivate).
    #[command(after_help = SEE_TOP_HELP)]
    Update {
        #[command(flatten)]
        token: TokenArg,
        /// true to activate, false to deactivate.
        #[arg(long, action = ArgAction::Set, value_name = "true|false")]
        active: bool,
        #[command(flatten)]
        keys: ShowKeys,
    },
    /// Activate a token that was deactivated, and show it.
    #[command(after_help = SEE_TOP_HELP)]
    Activate {
        #[command(flatten)]
        token: TokenArg,
        #[command(flatten)]
        keys: ShowKeys,
    },
    /// Deactivate a token (it authenticates nothing until activated
    /// again), and show it.
    #[command(after_help = SEE_TOP_HELP)]
    Deactivate {
        #[command(flatten)]
        token: TokenArg,
        #[command(flatten)]
        keys: ShowKeys,
    },
    /// Delete one token.
    #[command(after_help = SEE_TOP_HELP)]
    Delete {
        #[command(flatten)]
        token: TokenArg,
    },
    /// Delete many tokens at once. Without a filter this deletes every token
    /// of the collection; for `tokens`, that includes the one this command
    /// uses. On a terminal it asks first, unless --yes.
    #[command(after_help = SEE_TOP_HELP)]
    DeleteAll {
        #[command(flatten)]
        filter: Filter,
        #[command(flatten)]
        yes: Yes,
    },
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

impl CollectionCommand {
    /// Whether the command shows existing keys when asked to.
    fn show_keys(&self) -> bool {
        match self {
            CollectionCommand::List { keys, .. }
            | CollectionCommand::Get { keys, .. }
            | CollectionCommand::Update { keys, .. }
            | CollectionCommand::Activate { keys, .. }
            | CollectionCommand::Deactivate { keys, .. } => keys.show_keys,
            CollectionCommand::Create { .. }
            | CollectionCommand::Delete { .. }
            | CollectionCommand::DeleteAll { .. } => false,
        }
    }
}

impl TokensArgs {
    /// `neuroio tokens ...`.
    pub fn run(self) -> Result<(), Failure> {
        let keys = match &self.command {
            TokensCommand::Shared(command) => command.show_keys(),
            _ => false,
        };
        let api = Api::new(self.api.settings().show_keys(keys))?;
        match self.command {
            TokensCommand::Shared(command) => {
                collection(&TokenGroup::tokens(&api.client), &command, &api)
            }
            TokensCommand::Rotate => rotate(&api.client, &api.out),
            TokensCommand::Audit { max_age, at, fail } => audit::audit(&api, max_age, at, fail),
            #[cfg(unix)]
            TokensCommand::Reap => reap::reap(&api),
        }
    }
}

impl StreamTokensArgs {
    /// `neuroio stream-tokens ...`.
    pub fn run(self) -> Result<(), Failure> {
        let api = Api::new(self.api.settings().show_keys(self.command.show_keys()))?;
        collection(&TokenGroup::stream_tokens(&api.client), &self.command, &api)
    }
}

/// A collection of tokens and the CLI command that manages it. The library
/// serves every collection through one type, [`neuroio::Tokens`], so one set
/// of commands ([`collection`]) serves them all.
///
/// Adding a collection: an `Args` struct like [`StreamTokensArgs`] whose
/// `run` hands a `TokenGroup` to [`collection`], and its variant and arm in
/// `main.rs`.
struct TokenGroup<'c> {
    tokens: Tokens<'c>,
    /// The CLI command, as in `neuroio tokens`.
    command: &'static str,
    /// Whether its tokens authenticate API calls, so that deleting all of
    /// them deletes the one in use too.
    authenticates: bool,
    /// One of its tokens, for messages: "token".
    item: &'static str,
    /// Where it is, for messages: the base URL and the option that sets it.
    base: String,
    option: &'static str,
}

impl<'c> TokenGroup<'c> {
    fn tokens(client: &'c Client) -> Self {
        TokenGroup {
            tokens: client.tokens(),
            command: "tokens",
            authenticates: true,
            item: "token",
            base: client.iam_url().to_owned(),
            option: "--iam-url",
        }
    }

    fn stream_tokens(client: &'c Client) -> Self {
        TokenGroup {
            tokens: client.stream_tokens(),
            command: "stream-tokens",
            authenticates: false,
            item: "stream token",
            base: client.api_url().to_owned(),
            option: "--api-url",
        }
    }
}

impl TokenGroup<'_> {
    /// The failure of a call about one token, named by `id` (or by a key,
    /// which is not shown).
    fn not_found(&self, err: neuroio::Error, id: Option<u64>) -> Failure {
        let item = || match id {
            Some(id) => format!("{} {id}", self.item),
            None => format!("the {} with that key", self.item),
        };
        Failure::about(
            err,
            item,
            &self.base,
            &format!("the id or key, and the base URL ({})", self.option),
        )
    }
}

impl TokenGroup<'_> {
    /// The failure of listing, which a 404 shows is at a wrong base URL.
    fn list_not_found(&self, err: neuroio::Error) -> Failure {
        Failure::about(
            err,
            || format!("the list of {}s", self.item),
            &self.base,
            &format!("the base URL ({})", self.option),
        )
    }
}

/// The commands every collection of tokens has.
fn collection(
    collection: &TokenGroup<'_>,
    command: &CollectionCommand,
    api: &Api,
) -> Result<(), Failure> {
    let tokens = &collection.tokens;
    let out = &api.out;
    let args = &api.args;
    let show = |token_arg: &TokenArg, active: Option<bool>| -> Result<(), Failure> {
        let (token_ref, id) = read_token_ref(token_arg, args.token_file.as_deref())?;
        let answer = match active {
            None => tokens.get(token_ref),
            Some(active) => tokens.update(token_ref, active),
        };
        Ok(out.one(&answer.map_err(|e| collection.not_found(e, id))?)?)
    };
    match command {
        CollectionCommand::Create { permanent } => {
            let token = tokens.create(*permanent)?;
            let retry = format!("neuroio {} delete {}", collection.command, token.id);
            deliver(token.id, out.new_token(&token), &retry, |id| {
                tokens.delete(TokenRef::from(id))
            })
        }
        CollectionCommand::List { filter, page, .. } => {
            if page.all {
                let walk = tokens.iter(filter.permanent());
                print_all(walk, page.walk_page_size(), "token", out, Printer::list)
            } else {
                let listed = tokens.list(filter.permanent(), page.limit(), page.offset);
                let listed = listed.map_err(|e| collection.list_not_found(e))?;
                out.list(&listed)?;
                if listed.len() == page.limit() as usize {
                    Progress::new().line(&format!(
                        "more {}s may follow: --offset {} for the next page, or --all for every one",
                        collection.item,
                        u64::from(page.offset) + u64::from(page.limit())
                    ));
                }
                Ok(())
            }
        }
        CollectionCommand::Get { token, .. } => show(token, None),
        CollectionCommand::Update { token, active, .. } => show(token, Some(*active)),
        CollectionCommand::Activate { token, .. } => show(token, Some(true)),
        CollectionCommand::Deactivate { token, .. } => show(token, Some(false)),
        CollectionCommand::Delete { token } => {
            let (token_ref, id) = read_token_ref(token, args.token_file.as_deref())?;
            // A key is looked up first, so that what was deleted can be
            // named (by its id: the key is never printed).
            let id = match id {
                Some(id) => id,
                None => {
                    tokens
                        .get(token_ref)
                        .map_err(|e| collection.not_found(e, None))?
                        .id
                }
            };
            tokens
                .delete(TokenRef::from(id))
                .map_err(|e| collection.not_found(e, Some(id)))?;
            Ok(out.done(
                &json!({"deleted": {"collection": collection.command, "id": id}}),
                &format!("deleted {} {id}", collection.item),
            )?)
        }
        CollectionCommand::DeleteAll { filter, yes } => {
            let permanent = filter.permanent();
            let scope = match permanent {
                Some(true) => "permanent",
                Some(false) => "temporary",
                None => "all",
            };
            // Whether the token this command uses is among them: with no
            // filter it is; with one, when the profile says its kind.
            let own = match (permanent, api.in_use.temporary) {
                _ if !collection.authenticates => Some(false),
                (None, _) => Some(true),
                (Some(permanent), Some(temporary)) => Some(permanent != temporary),
                (Some(_), None) => None,
            };
            let in_use = match (permanent, own) {
                (_, Some(false)) => String::new(),
                (None, _) => " (with no filter this deletes every token, including the one in use)"
                    .to_owned(),
                (Some(_), Some(true)) => format!(
                    ", including the one in use (the {scope} token of profile {}): log in \
                     again afterwards",
                    terminal_safe(api.token_profile.as_deref().unwrap_or_default())
                ),
                (Some(_), None) => format!(", including the token in use if it is {scope}"),
            };
            let question = format!("This deletes {scope} {}s{in_use}.", collection.item);
            let refused = format!(
                "refusing to delete {scope} {}s without --yes{in_use}",
                collection.item
            );
            confirmed(yes.yes, &question, scope, &refused)?;
            Progress::new().line(&format!("deleting {scope} {}s...", collection.item));
            tokens.delete_list(permanent)?;
            match (permanent, own) {
                (None, Some(true)) => {
                    let _ = writeln!(
                        io::stderr(),
                        "note: every token of the account was deleted, including the one this \
                         command used"
                    );
                }
                (Some(_), Some(true)) => {
                    let again = api.in_use.login_again.as_deref().unwrap_or("neuroio login");
                    let _ = writeln!(
                        io::stderr(),
                        "note: the token this command used was {scope} and was deleted too; log \
                         in again with: {again}"
                    );
                }
                _ => {}
            }
            Ok(out.done(
                &json!({"deleted_all": {"collection": collection.command, "kind": scope}}),
                &format!("deleted {scope} {}s", collection.item),
            )?)
        }
    }
}

fn read_token_ref(
    token: &TokenArg,
    token_file: Option<&std::path::Path>,
) -> Result<(TokenRef, Option<u64>), Failure> {
    if token.reads_stdin() && token_from_stdin(token_file) {
        return Err(Failure::usage(
            "standard input cannot hold both the API token (--token-file -) and the key",
        ));
    }
    token.read()
}

fn rotate(client: &Client, out: &Printer) -> Result<(), Failure> {
    let (_, token) = client.rotate()?;
    let retry = format!("neuroio tokens delete {}", token.id);
    deliver(token.id, out.new_token(&token), &retry, |id| {
        client.tokens().delete(TokenRef::from(id))
    })
}
