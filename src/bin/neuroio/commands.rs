//! What each command does: thin calls into the `neuroio` crate.

use std::io::{self, Write};
use std::time::Duration;

use clap::CommandFactory;
use neuroio::fake::FakeIam;
use neuroio::{Client, ClientBuilder, TokenRef, Tokens};

use crate::account;
use crate::args::{ApiArgs, Cli, CollectionCommand, Command, TokensCommand};
use crate::failure::Failure;
use crate::input::{read_token, token_from_stdin};
use crate::output::{Printer, Progress, WriteError, resolve_format, write_stdout};

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
}

impl<'c> Collection<'c> {
    fn tokens(client: &'c Client) -> Self {
        Collection {
            tokens: client.tokens(),
            command: "tokens",
            authenticates: true,
        }
    }

    fn stream_tokens(client: &'c Client) -> Self {
        Collection {
            tokens: client.stream_tokens(),
            command: "stream-tokens",
            authenticates: false,
        }
    }
}

/// What a command that talks to the API needs: its options (those after
/// the subcommand over those before it), a client and a printer.
pub struct Api {
    pub args: ApiArgs,
    pub client: Client,
    pub out: Printer,
}

impl Api {
    /// `args` are those given after the command, `top` those before it.
    pub fn new(args: ApiArgs, top: ApiArgs) -> Result<Api, Failure> {
        let args = args.or(top);
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
            let api = Api::new(group.api.0, api)?;
            match &group.command {
                TokensCommand::Collection(command) => {
                    collection(&Collection::tokens(&api.client), command, &api)
                }
                TokensCommand::Rotate => rotate(&api.client, &api.out),
            }
        }
        Command::StreamTokens(group) => {
            let api = Api::new(group.api.0, api)?;
            collection(
                &Collection::stream_tokens(&api.client),
                &group.command,
                &api,
            )
        }
        Command::Login {
            api: args,
            username,
            password_file,
        } => account::login(args.or(api), &username, password_file.as_deref()),
        Command::Whoami { api: args } => account::whoami(&Api::new(args, api)?),
        Command::Spaces(group) => account::spaces(group, api),
        Command::Password(group) => account::password(group, api),
        #[cfg(unix)]
        Command::Exec { command, api: args } => crate::exec::exec(args.or(api), &command),
        Command::FakeServer {
            port,
            temporary_lifetime,
        } => {
            refuse_api_args(&api, "fake-server")?;
            fake_server(port, temporary_lifetime)
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
    Ok(builder(api)?.api_token(token).build()?)
}

/// A client builder with every API option but the token.
pub fn builder(api: &ApiArgs) -> Result<ClientBuilder, Failure> {
    let iam_url = url_setting(&api.iam_url, "NEUROIO_IAM_URL", neuroio::DEFAULT_IAM_URL)?;
    let api_url = url_setting(&api.api_url, "NEUROIO_API_URL", neuroio::DEFAULT_API_URL)?;
    Ok(Client::builder()
        .iam_url(iam_url)
        .api_url(api_url)
        .allow_insecure_http(api.allow_insecure_http)
        .timeout(
            api.timeout
                .map_or(neuroio::DEFAULT_TIMEOUT, Duration::from_secs_f64),
        )
        .max_retries(api.retries.unwrap_or(neuroio::DEFAULT_MAX_RETRIES)))
}

/// A URL from its flag, else from `env` when set and not empty, else the
/// default.
fn url_setting(flag: &Option<String>, env: &str, default: &str) -> Result<String, Failure> {
    if let Some(url) = flag {
        return Ok(url.clone());
    }
    match std::env::var(env) {
        Ok(url) if !url.is_empty() => Ok(url),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(default.to_owned()),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Failure::usage(format!("{env} is not valid UTF-8")))
        }
    }
}

pub fn printer(api: &ApiArgs) -> Printer {
    Printer {
        format: resolve_format(api.output),
        show_keys: api.show_keys,
    }
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
                    if permanent.is_none() && collection.authenticates {
                        " (with no filter this deletes every token, including the one in use)"
                    } else {
                        ""
                    }
                )));
            }
            Progress::new().line(&format!("deleting {scope} tokens..."));
            tokens.delete_list(permanent)?;
            if permanent.is_none() && collection.authenticates {
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
fn list_all(
    tokens: &Tokens<'_>,
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

/// Checks the delivery of a token just created, the only copy of its key:
/// `written` is how printing it went. If it could not be printed, nobody can
/// use it: it is deleted again, or, if that fails too, named with `retry`,
/// the command that deletes it.
pub fn deliver(
    id: u64,
    written: Result<(), WriteError>,
    retry: &str,
    delete: impl FnOnce(u64) -> neuroio::Result<()>,
) -> Result<(), Failure> {
    let Err(err) = written else {
        return Ok(());
    };
    let why = match &err {
        WriteError::Closed(e) => format!("cannot write the new token to standard output: {e}"),
        WriteError::Failed(message) => message.clone(),
    };
    Err(Failure::failed(match delete(id) {
        Ok(()) => format!(
            "{why}; token {id} was created but its key could not be delivered, so it was deleted again"
        ),
        Err(cleanup) => format!(
            "{why}; token {id} was created but its key could not be delivered, and deleting it failed ({}); \
             delete it with: {retry}",
            Failure::from(cleanup).message
        ),
    }))
}

fn rotate(client: &Client, out: &Printer) -> Result<(), Failure> {
    let (_, token) = client.rotate()?;
    let retry = format!("neuroio tokens delete {}", token.id);
    deliver(token.id, out.new_token(&token), &retry, |id| {
        client.tokens().delete(TokenRef::from(id))
    })
}

fn fake_server(port: u16, temporary_lifetime: Option<Duration>) -> Result<(), Failure> {
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
    if let Some(lifetime) = temporary_lifetime {
        fake.set_temporary_lifetime(lifetime);
    }
    write_stdout(
        format!(
            "{}\n",
            serde_json::json!({
                "url": fake.url(),
                "root_token": fake.root_token(),
                "user": {
                    "username": fake.root_username(),
                    "password": fake.root_password(),
                },
            })
        )
        .as_bytes(),
    )?;
    // Both hosts are this one address; a CLI pointed at the IAM URL alone
    // would send stream-token calls to the real API host.
    let _ = writeln!(
        io::stderr(),
        "simulator running at {url}; Ctrl-C to stop. To use it from a shell:\n  \
         export NEUROIO_IAM_URL={url} NEUROIO_API_URL={url} NEUROIO_API_TOKEN={token}",
        url = fake.url(),
        token = fake.root_token(),
    );
    let _ = stop_rx.recv();
    fake.shutdown();
    let _ = writeln!(io::stderr(), "simulator stopped");
    Ok(())
}
