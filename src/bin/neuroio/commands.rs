//! What each command does: thin calls into the `neuroio` crate.

use std::io::{self, Write};
use std::time::Duration;

use clap::CommandFactory;
use neuroio::fake::FakeIam;
use neuroio::{Client, Token, TokenRef};

use crate::args::{ApiArgs, Cli, CollectionCommand, Command, GroupApiArgs, TokensCommand};
use crate::failure::Failure;
use crate::input::{read_token, token_from_stdin};
use crate::output::{Printer, Progress, WriteError, resolve_format, write_stdout};

/// The operations a collection of tokens offers, so that one set of
/// commands ([`collection`]) serves every collection.
pub trait Collection {
    /// The CLI command of the collection, as in `neuroio tokens`.
    const COMMAND: &'static str;
    fn create(&self, permanent: bool) -> neuroio::Result<Token>;
    fn list(&self, permanent: Option<bool>, limit: u32, offset: u32)
    -> neuroio::Result<Vec<Token>>;
    fn get(&self, token: TokenRef) -> neuroio::Result<Token>;
    fn update(&self, token: TokenRef, is_active: bool) -> neuroio::Result<Token>;
    fn delete(&self, token: TokenRef) -> neuroio::Result<()>;
    fn delete_list(&self, permanent: Option<bool>) -> neuroio::Result<()>;
}

/// Implements [`Collection`] for a handle of the library whose methods
/// match those of [`neuroio::Tokens`].
macro_rules! collection {
    ($handle:ty, $command:literal) => {
        impl Collection for $handle {
            const COMMAND: &'static str = $command;
            fn create(&self, permanent: bool) -> neuroio::Result<Token> {
                <$handle>::create(self, permanent)
            }
            fn list(
                &self,
                permanent: Option<bool>,
                limit: u32,
                offset: u32,
            ) -> neuroio::Result<Vec<Token>> {
                <$handle>::list(self, permanent, limit, offset)
            }
            fn get(&self, token: TokenRef) -> neuroio::Result<Token> {
                <$handle>::get(self, token)
            }
            fn update(&self, token: TokenRef, is_active: bool) -> neuroio::Result<Token> {
                <$handle>::update(self, token, is_active)
            }
            fn delete(&self, token: TokenRef) -> neuroio::Result<()> {
                <$handle>::delete(self, token)
            }
            fn delete_list(&self, permanent: Option<bool>) -> neuroio::Result<()> {
                <$handle>::delete_list(self, permanent)
            }
        }
    };
}

// Each collection of tokens is one line here, one variant of
// `args::Command` holding a `Group<CollectionCommand>`, and one arm in `run`
// that hands its handle to `collection`.
collection!(neuroio::Tokens<'_>, "tokens");

/// What a command that talks to the API needs: its options (those after
/// the subcommand over those before it), a client and a printer.
struct Api {
    args: ApiArgs,
    client: Client,
    out: Printer,
}

impl Api {
    fn new(group: GroupApiArgs, top: ApiArgs) -> Result<Api, Failure> {
        let args = group.0.or(top);
        Ok(Api {
            client: client(&args)?,
            out: printer(&args),
            args,
        })
    }
}

pub fn run(cli: Cli) -> Result<(), Failure> {
    let Cli { api, command } = cli;
    match command {
        Command::Tokens(group) => {
            let api = Api::new(group.api, api)?;
            match &group.command {
                TokensCommand::Collection(command) => {
                    collection(&api.client.tokens(), command, &api)
                }
                TokensCommand::Rotate => rotate(&api.client, &api.out),
            }
        }
        Command::FakeServer { port } => {
            refuse_api_args(&api, "fake-server")?;
            fake_server(port)
        }
        Command::Completions { shell } => {
            refuse_api_args(&api, "completions")?;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "neuroio", &mut script);
            Ok(write_stdout(&script)?)
        }
        Command::Man => {
            refuse_api_args(&api, "man")?;
            let page = crate::man::render(Cli::command())
                .map_err(|e| Failure::failed(format!("cannot render the man page: {e}")))?;
            Ok(write_stdout(&page)?)
        }
    }
}

/// Options for the API given to a command that does not talk to it are a
/// mistake worth pointing out rather than ignoring.
fn refuse_api_args(api: &ApiArgs, command: &str) -> Result<(), Failure> {
    if api.any() {
        return Err(Failure::usage(format!(
            "the API options (--iam-url, --output, --timeout, ...) do not apply to `neuroio {command}`"
        )));
    }
    Ok(())
}

fn client(api: &ApiArgs) -> Result<Client, Failure> {
    let token = read_token(api.token_file.as_deref())?;
    let iam_url = match &api.iam_url {
        Some(url) => url.clone(),
        None => match std::env::var("NEUROIO_IAM_URL") {
            Ok(url) if !url.is_empty() => url,
            Ok(_) | Err(std::env::VarError::NotPresent) => neuroio::DEFAULT_IAM_URL.to_owned(),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Failure::usage("NEUROIO_IAM_URL is not valid UTF-8"));
            }
        },
    };
    let client = Client::builder()
        .api_token(token)
        .iam_url(iam_url)
        .allow_insecure_http(api.allow_insecure_http)
        .timeout(
            api.timeout
                .map_or(neuroio::DEFAULT_TIMEOUT, Duration::from_secs_f64),
        )
        .max_retries(api.retries.unwrap_or(neuroio::DEFAULT_MAX_RETRIES))
        .build()?;
    Ok(client)
}

fn printer(api: &ApiArgs) -> Printer {
    Printer {
        format: resolve_format(api.output),
        show_keys: api.show_keys,
    }
}

/// The commands every collection of tokens has.
fn collection<C: Collection>(
    tokens: &C,
    command: &CollectionCommand,
    api: &Api,
) -> Result<(), Failure> {
    let out = &api.out;
    let api = &api.args;
    match command {
        CollectionCommand::Create { permanent } => {
            let token = tokens.create(*permanent)?;
            deliver(&token, out, C::COMMAND, |id| {
                tokens.delete(TokenRef::from(id))
            })
        }
        CollectionCommand::List {
            filter,
            limit,
            offset,
            all,
        } => {
            if *all {
                list_all(tokens, filter.permanent(), *limit, out)
            } else {
                Ok(out.list(&tokens.list(filter.permanent(), *limit, *offset)?)?)
            }
        }
        CollectionCommand::Get { token } => {
            let token_ref = read_token_ref(token, api)?;
            Ok(out.token(&tokens.get(token_ref)?)?)
        }
        CollectionCommand::Update { token, active } => {
            let token_ref = read_token_ref(token, api)?;
            Ok(out.token(&tokens.update(token_ref, *active)?)?)
        }
        CollectionCommand::Delete { token } => {
            let token_ref = read_token_ref(token, api)?;
            tokens.delete(token_ref)?;
            Ok(out.done(serde_json::json!({"deleted": true}))?)
        }
        CollectionCommand::DeleteAll { filter, yes } => {
            let permanent = filter.permanent();
            let scope = match permanent {
                Some(true) => "permanent",
                Some(false) => "temporary",
                None => "all",
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
            Progress::new().line(&format!("deleting {scope} tokens..."));
            tokens.delete_list(permanent)?;
            if permanent.is_none() {
                let _ = writeln!(
                    io::stderr(),
                    "note: every token of the account was deleted, including the one this command used"
                );
            }
            Ok(out.done(serde_json::json!({"deleted": scope}))?)
        }
    }
}

fn read_token_ref(token: &crate::args::TokenArg, api: &ApiArgs) -> Result<TokenRef, Failure> {
    if token.reads_stdin() && token_from_stdin(api.token_file.as_deref()) {
        return Err(Failure::usage(
            "standard input cannot hold both the API token (--token-file -) and the key",
        ));
    }
    token.read()
}

/// Walks every page, printing progress on a terminal. jsonl streams, keeping
/// one page in memory; json and table need the whole list first.
fn list_all<C: Collection>(
    tokens: &C,
    permanent: Option<bool>,
    page_size: u32,
    out: &Printer,
) -> Result<(), Failure> {
    let progress = Progress::new();
    let mut all = Vec::new();
    let (mut pages, mut seen, mut offset) = (0u64, 0u64, 0u32);
    loop {
        let page = tokens.list(permanent, page_size, offset)?;
        let fetched = u32::try_from(page.len()).unwrap_or(u32::MAX);
        pages += 1;
        seen += u64::from(fetched);
        let plural = if seen == 1 { "" } else { "s" };
        progress.line(&format!(
            "fetched page {pages}: {seen} token{plural} so far"
        ));
        offset = offset.saturating_add(fetched);
        if out.streams() {
            out.list(&page)?;
        } else {
            all.extend(page);
        }
        if fetched < page_size {
            break;
        }
    }
    if !out.streams() {
        out.list(&all)?;
    }
    Ok(())
}

/// Prints a token just created, the only copy of its key. If it cannot be
/// printed, nobody can use it: it is deleted again, or, if that fails too,
/// named so that it can be.
fn deliver(
    token: &Token,
    out: &Printer,
    command: &str,
    delete: impl FnOnce(u64) -> neuroio::Result<()>,
) -> Result<(), Failure> {
    let Err(err) = out.new_token(token) else {
        return Ok(());
    };
    let why = match &err {
        WriteError::Closed(e) => format!("cannot write the new token to standard output: {e}"),
        WriteError::Failed(message) => message.clone(),
    };
    let id = token.id;
    Err(Failure::failed(match delete(id) {
        Ok(()) => format!(
            "{why}; token {id} was created but its key could not be delivered, so it was deleted again"
        ),
        Err(cleanup) => format!(
            "{why}; token {id} was created but its key could not be delivered, and deleting it failed ({}); \
             delete it with: neuroio {command} delete {id}",
            Failure::from(cleanup).message
        ),
    }))
}

fn rotate(client: &Client, out: &Printer) -> Result<(), Failure> {
    let (_, token) = client.rotate()?;
    deliver(&token, out, "tokens", |id| {
        client.tokens().delete(TokenRef::from(id))
    })
}

fn fake_server(port: u16) -> Result<(), Failure> {
    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .map_err(|e| Failure::failed(format!("cannot install the signal handler: {e}")))?;
    let mut fake = FakeIam::bind(("127.0.0.1", port)).map_err(|e| match e {
        neuroio::Error::Io { source, .. } if source.kind() == io::ErrorKind::AddrInUse => {
            Failure::usage(format!(
                "cannot listen on 127.0.0.1:{port}: the port is in use"
            ))
        }
        neuroio::Error::Io { source, .. } => {
            Failure::usage(format!("cannot listen on 127.0.0.1:{port}: {source}"))
        }
        other => Failure::failed(other.to_string()),
    })?;
    write_stdout(
        format!(
            "{}\n",
            serde_json::json!({
                "url": fake.url(),
                "root_token": fake.root_token(),
            })
        )
        .as_bytes(),
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
