//! What every command that talks to the API shares: the client built from
//! flags and environment, the printer, the delivery of a new key, and the
//! walk over every page of a list.

use std::time::Duration;

use neuroio::{Client, ClientBuilder, PageIter};
use serde::de::DeserializeOwned;

use crate::args::ApiArgs;
use crate::failure::Failure;
use crate::input::read_token;
use crate::output::{Printer, Progress, WriteError, resolve_format};

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

/// Options for the API given to a command that does not talk to it are a
/// mistake worth pointing out rather than ignoring.
pub fn refuse_api_args(api: &ApiArgs, command: &str) -> Result<(), Failure> {
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

/// Prints every item of a list (`--all`), walking it with the library's
/// walker: it holds one page at a time and stops with an error against a
/// server that ignores `offset` and serves the same pages again. Progress
/// goes to a terminal; jsonl streams each page as it comes, json and table
/// need the whole list first. `noun` names one item, as in "token".
pub fn print_all<T: DeserializeOwned>(
    walk: PageIter<'_, T>,
    page_size: u32,
    noun: &str,
    out: &Printer,
    print: impl Fn(&Printer, &[T]) -> Result<(), WriteError>,
) -> Result<(), Failure> {
    let progress = Progress::new();
    let page_len = usize::try_from(page_size).unwrap_or(usize::MAX);
    let mut walk = walk.page_size(page_size).peekable();
    let (mut pages, mut seen) = (0u64, 0u64);
    let mut all = Vec::new();
    let mut page = Vec::with_capacity(page_len.min(100));
    while let Some(item) = walk.next() {
        page.push(item?);
        if page.len() < page_len && walk.peek().is_some() {
            continue;
        }
        pages += 1;
        seen += page.len() as u64;
        let plural = if seen == 1 { "" } else { "s" };
        progress.line(&format!(
            "fetched page {pages}: {seen} {noun}{plural} so far"
        ));
        if out.streams() {
            print(out, &page)?;
            page.clear();
        } else {
            all.append(&mut page);
        }
    }
    if !out.streams() {
        print(out, &all)?;
    }
    Ok(())
}
