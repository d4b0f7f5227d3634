//! `neuroio tokens` and `neuroio stream-tokens`: the commands every
//! collection of tokens has, and `tokens rotate`.

use std::io::{self, Write};

use neuroio::{Client, TokenRef, Tokens};

use crate::args::{ApiArgs, CollectionCommand, TokensCommand};
use crate::context::{Api, deliver, print_all};
use crate::failure::Failure;
use crate::input::{confirm, token_from_stdin};
use crate::output::{Done, Printer, Progress};

/// A collection of tokens and the CLI command that manages it. The library
/// serves every collection through one type, [`neuroio::Tokens`], so one set
/// of commands ([`collection`]) serves them all.
///
/// Adding a collection: a variant of `args::Command` holding a
/// `Group<CollectionCommand>`, and one arm in `run` that hands a
/// `Collection` to `collection`.
struct Collection<'c> {
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

impl<'c> Collection<'c> {
    fn tokens(client: &'c Client) -> Self {
        Collection {
            tokens: client.tokens(),
            command: "tokens",
            authenticates: true,
            item: "token",
            base: client.iam_url().to_owned(),
            option: "--iam-url",
        }
    }

    fn stream_tokens(client: &'c Client) -> Self {
        Collection {
            tokens: client.stream_tokens(),
            command: "stream-tokens",
            authenticates: false,
            item: "stream token",
            base: client.api_url().to_owned(),
            option: "--api-url",
        }
    }
}

impl Collection<'_> {
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

impl Collection<'_> {
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

/// `neuroio tokens ...`.
pub fn tokens(command: &TokensCommand, api: &Api) -> Result<(), Failure> {
    match command {
        TokensCommand::Collection(command) => {
            collection(&Collection::tokens(&api.client), command, api)
        }
        TokensCommand::Rotate => rotate(&api.client, &api.out),
        TokensCommand::Audit { max_age, at, fail } => {
            crate::audit::audit(api, *max_age, *at, *fail)
        }
    }
}

/// `neuroio stream-tokens ...`.
pub fn stream_tokens(command: &CollectionCommand, api: &Api) -> Result<(), Failure> {
    collection(&Collection::stream_tokens(&api.client), command, api)
}

/// The commands every collection of tokens has.
fn collection(
    collection: &Collection<'_>,
    command: &CollectionCommand,
    api: &Api,
) -> Result<(), Failure> {
    let tokens = &collection.tokens;
    let out = &api.out;
    let api = &api.args;
    match command {
        CollectionCommand::Create { permanent } => {
            let token = tokens.create(*permanent)?;
            let retry = format!("neuroio {} delete {}", collection.command, token.id);
            deliver(token.id, out.new_token(&token), &retry, |id| {
                tokens.delete(TokenRef::from(id))
            })
        }
        CollectionCommand::List { filter, page } => {
            if page.all {
                let walk = tokens.iter(filter.permanent());
                print_all(walk, page.walk_page_size(), "token", out, Printer::list)
            } else {
                let listed = tokens.list(filter.permanent(), page.limit(), page.offset);
                Ok(out.list(&listed.map_err(|e| collection.list_not_found(e))?)?)
            }
        }
        CollectionCommand::Get { token } => {
            let (token_ref, id) = read_token_ref(token, api)?;
            let got = tokens.get(token_ref);
            Ok(out.token(&got.map_err(|e| collection.not_found(e, id))?)?)
        }
        CollectionCommand::Update { token, active } => {
            let (token_ref, id) = read_token_ref(token, api)?;
            let updated = tokens.update(token_ref, *active);
            Ok(out.token(&updated.map_err(|e| collection.not_found(e, id))?)?)
        }
        CollectionCommand::Delete { token } => {
            let (token_ref, id) = read_token_ref(token, api)?;
            tokens
                .delete(token_ref)
                .map_err(|e| collection.not_found(e, id))?;
            Ok(out.done(&Done::Deleted {
                collection: collection.command,
                id,
            })?)
        }
        CollectionCommand::DeleteAll { filter, yes } => {
            let permanent = filter.permanent();
            let scope = match permanent {
                Some(true) => "permanent",
                Some(false) => "temporary",
                None => "all",
            };
            let in_use = if permanent.is_none() && collection.authenticates {
                " (with no filter this deletes every token, including the one in use)"
            } else {
                ""
            };
            if !yes {
                let question = format!("This deletes {scope} {}s{in_use}.", collection.item);
                match confirm(&question, scope)? {
                    Some(true) => {}
                    Some(false) => {
                        return Err(Failure::usage(format!(
                            "the answer was not {scope}; nothing was deleted"
                        )));
                    }
                    None => {
                        return Err(Failure::usage(format!(
                            "refusing to delete {scope} {}s without --yes{in_use}",
                            collection.item
                        )));
                    }
                }
            }
            Progress::new().line(&format!("deleting {scope} {}s...", collection.item));
            tokens.delete_list(permanent)?;
            if permanent.is_none() && collection.authenticates {
                let _ = writeln!(
                    io::stderr(),
                    "note: every token of the account was deleted, including the one this command used"
                );
            }
            Ok(out.done(&Done::DeletedAll {
                collection: collection.command,
                kind: scope,
            })?)
        }
    }
}

fn read_token_ref(
    token: &crate::args::TokenArg,
    api: &ApiArgs,
) -> Result<(TokenRef, Option<u64>), Failure> {
    if token.reads_stdin() && token_from_stdin(api.token_file.as_deref()) {
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
