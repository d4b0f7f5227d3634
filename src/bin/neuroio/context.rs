//! What every command that talks to the API shares: the client built from
//! flags, environment and profile, the printer, the delivery of a new key,
//! and the walk over every page of a list.
//!
//! Precedence: the token from --token-file, else the file named by
//! NEUROIO_API_TOKEN_FILE (followed as it changes, so a long command keeps
//! working while a token agent rotates it), else NEUROIO_API_TOKEN (each
//! variable when set and not empty, as for the URL variables), else the
//! profile; each URL from its flag, else the environment, else the
//! profile, else the default. The profile's URLs are used when its token is,
//! or when a profile is named (--profile, NEUROIO_PROFILE): a token from
//! elsewhere is not sent to the URLs stored for another one.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use neuroio::{Client, ClientBuilder, PageIter, Profile, ProfileError, Profiles};
use serde::de::DeserializeOwned;

use crate::failure::Failure;
use crate::input::read_token;
use crate::options::Settings;
use crate::output::{Printer, Progress, WriteError, resolve_format, terminal_safe};

/// What a command that talks to the API needs: its settings, a client and
/// a printer.
pub struct Api {
    pub args: Settings,
    pub client: Client,
    pub out: Printer,
    /// The profile whose token the client sends, if it came from one.
    pub token_profile: Option<String>,
    /// What the profile says of the token in use.
    pub in_use: InUse,
}

/// What is known of the token in use without asking the API: its kind
/// and how to log in again, when it came from a profile.
#[derive(Clone, Debug, Default)]
pub struct InUse {
    /// Whether it is temporary (an expiry recorded, or an id with none: a
    /// permanent token); `None` when not known, as for a token from the
    /// environment or a file.
    pub temporary: Option<bool>,
    /// The command that logs in to its profile again.
    pub login_again: Option<String>,
}

impl Api {
    /// The client and printer of `args`.
    pub fn new(args: Settings) -> Result<Api, Failure> {
        Api::with(args, |builder| builder)
    }

    /// A client that mints a temporary working token with the token in
    /// use and renews it before half its life, keeping a replaced one for
    /// `grace` before deleting it: for the commands that hand the working
    /// token to others (`agent`, `exec --rotate`). With `space`, the
    /// working tokens are tokens of that space.
    pub fn renewing(args: Settings, grace: Duration, space: Option<u64>) -> Result<Api, Failure> {
        Api::with(args, |builder| {
            let builder = builder
                // Renewal at half the lifetime: the longest it clamps to.
                .renewing(Duration::from_secs(u64::from(u32::MAX)))
                .keep_replaced(grace);
            match space {
                Some(space) => builder.renewing_in_space(space),
                None => builder,
            }
        })
    }

    /// The client of `args` with the token in use, set up further by
    /// `configure`, and the printer.
    fn with(
        args: Settings,
        configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> Result<Api, Failure> {
        let credentials = credentials(&args)?;
        refuse_expired(&credentials.source)?;
        let builder = builder(&args, credentials.profile.as_ref())?;
        let builder = match &credentials.source {
            // Followed: the key in it may change while the command runs (a
            // renewing client's parent: needed again when no working token
            // can mint).
            Source::TokenFileEnv(path) => builder.api_token_file(path),
            _ => builder.api_token(credentials.token.as_str()),
        };
        let client = configure(builder).build()?;
        Ok(Api {
            client,
            out: printer(&args),
            token_profile: credentials.source.profile_name(),
            in_use: credentials.source.in_use(),
            args,
        })
    }
}

/// Where the API token came from.
#[derive(Clone, Debug)]
pub enum Source {
    TokenFile(PathBuf),
    /// The file named by NEUROIO_API_TOKEN_FILE.
    TokenFileEnv(PathBuf),
    Environment,
    Profile {
        name: String,
        path: PathBuf,
        /// The token's id and expiry, as stored at login.
        stored: Box<Profile>,
    },
}

impl Source {
    /// For `auth status`: "token-file", "environment" or "profile".
    pub fn kind(&self) -> &'static str {
        match self {
            Source::TokenFile(_) | Source::TokenFileEnv(_) => "token-file",
            Source::Environment => "environment",
            Source::Profile { .. } => "profile",
        }
    }

    /// What its profile says of the token.
    pub fn in_use(&self) -> InUse {
        match self {
            Source::Profile { name, stored, .. } => InUse {
                temporary: match (stored.expires, stored.token_id) {
                    (Some(_), _) => Some(true),
                    (None, Some(_)) => Some(false),
                    (None, None) => None,
                },
                login_again: Some(login_again(name, Some(stored))),
            },
            _ => InUse::default(),
        }
    }

    /// The profile's name, for a token that came from one.
    pub fn profile_name(&self) -> Option<String> {
        match self {
            Source::Profile { name, .. } => Some(name.clone()),
            _ => None,
        }
    }
}

/// The API token, where it came from, and the profile whose URLs apply.
pub struct ApiToken {
    pub token: String,
    pub source: Source,
    pub profile: Option<Profile>,
}

/// The token and profile by the precedence in this module's docs.
pub fn credentials(api: &Settings) -> Result<ApiToken, Failure> {
    let named = api.profile.is_some()
        || std::env::var_os("NEUROIO_PROFILE").is_some_and(|name| !name.is_empty());
    let from_elsewhere = if let Some(path) = &api.token_file {
        Some((read_token(Some(path))?, Source::TokenFile(path.clone())))
    } else if let Some(path) =
        std::env::var_os("NEUROIO_API_TOKEN_FILE").filter(|path| !path.is_empty())
    {
        let path = PathBuf::from(path);
        // A file followed as it changes: a regular file, checked before it
        // is opened (a named pipe with no writer would block for ever).
        if std::fs::metadata(&path).is_ok_and(|m| !m.is_file()) {
            return Err(Failure::usage(format!(
                "NEUROIO_API_TOKEN_FILE names {}, which is not a regular file; name the file \
                 an agent or `exec --rotate` writes",
                crate::output::terminal_safe(&path.display().to_string())
            )));
        }
        Some((read_token(Some(&path))?, Source::TokenFileEnv(path)))
    } else if std::env::var_os("NEUROIO_API_TOKEN").is_some_and(|token| !token.is_empty()) {
        Some((read_token(None)?, Source::Environment))
    } else {
        None
    };
    if let Some((token, source)) = from_elsewhere {
        check_token(&token, &source)?;
        let profile = if named {
            let (name, profiles) = profiles(api)?;
            Some(profiles.require(&name).map_err(profile_failure)?.clone())
        } else {
            None
        };
        return Ok(ApiToken {
            token,
            source,
            profile,
        });
    }
    let (name, profiles) = selected_profiles(api).map_err(|err| match err {
        ProfileError::MissingFile { path, .. } => Failure::usage(format!(
            "no API token: set NEUROIO_API_TOKEN, pass --token-file PATH (- for stdin), \
             or log in once with: neuroio login --username USER (no credentials file at {})",
            path.display()
        )),
        other => profile_failure(other),
    })?;
    let (profile, token) = profiles.with_token(&name).map_err(profile_failure)?;
    let source = Source::Profile {
        name,
        path: profiles.path().to_owned(),
        stored: Box::new(profile.clone()),
    };
    check_token(token.secret(), &source)?;
    Ok(ApiToken {
        token: token.secret().to_owned(),
        source,
        profile: Some(profile.clone()),
    })
}

/// Refuses a token the library would refuse to send (empty, whitespace,
/// control or non-ASCII characters), by the library's own check, with a
/// message that says where it came from and never shows it: exit 2.
fn check_token(token: &str, source: &Source) -> Result<(), Failure> {
    // Building a client checks the token and sends nothing; any other
    // problem is the real client's to report.
    let Err(neuroio::Error::Config(neuroio::ConfigError::InvalidApiToken(why))) =
        Client::builder().api_token(token).build()
    else {
        return Ok(());
    };
    Err(Failure::usage(match source {
        Source::TokenFile(path) => {
            format!("the API token in {} cannot be sent: {why}", path.display())
        }
        Source::TokenFileEnv(path) => format!(
            "the API token in {} (NEUROIO_API_TOKEN_FILE) cannot be sent: {why}",
            path.display()
        ),
        Source::Environment => format!("the API token in NEUROIO_API_TOKEN cannot be sent: {why}"),
        Source::Profile { name, path, stored } => format!(
            "the token of profile {name} in {} cannot be sent: {why}; log in again: {}",
            path.display(),
            login_again(name, Some(stored))
        ),
    }))
}

/// The selected profile's name and the credentials file, read and checked.
pub fn profiles(api: &Settings) -> Result<(String, Profiles), Failure> {
    selected_profiles(api).map_err(profile_failure)
}

fn selected_profiles(api: &Settings) -> Result<(String, Profiles), ProfileError> {
    // The name given is checked before the file is read.
    Profiles::selected(api.profile.as_deref())?;
    let profiles = Profiles::load(Profiles::default_path()?)?;
    let name = profiles.chosen(api.profile.as_deref())?;
    Ok((name, profiles))
}

/// The command that logs in to profile `name` again, with its own user
/// when the profile knows it.
pub fn login_again(name: &str, profile: Option<&Profile>) -> String {
    let user = profile
        .and_then(|p| p.username.as_deref())
        .map_or_else(|| "USER".to_owned(), terminal_safe);
    format!("neuroio login --username {user} --profile {name}")
}

/// Refuses a profile's token that expired by this machine's clock, in one
/// line that says how to log in again (exit 4): sending it would only be
/// refused.
pub fn refuse_expired(source: &Source) -> Result<(), Failure> {
    if let Source::Profile { name, stored, .. } = source
        && let Some(expires) = stored.expires
        && expires <= time::OffsetDateTime::now_utc()
    {
        return Err(Failure {
            code: 4,
            message: format!(
                "the token of profile {name} expired at {}; log in again: {}",
                crate::output::rfc3339(expires),
                login_again(name, Some(stored))
            ),
        });
    }
    Ok(())
}

/// A problem with the credentials file is one of configuration: exit 2.
pub fn profile_failure(err: ProfileError) -> Failure {
    Failure::usage(err.to_string())
}

/// A client builder with every API option but the token; URLs not given
/// by flag or environment come from `profile`, else the defaults. A flag
/// or variable that sends a profile's calls elsewhere than the profile
/// says is warned about.
pub fn builder(api: &Settings, profile: Option<&Profile>) -> Result<ClientBuilder, Failure> {
    builder_at(api, urls(api, profile, true)?)
}

/// [`builder`] for logging in to a profile: `stored` is the profile being
/// replaced, and a URL flag is where the profile goes now, not a mistake.
pub fn login_builder(api: &Settings, stored: Option<&Profile>) -> Result<ClientBuilder, Failure> {
    builder_at(api, urls(api, stored, false)?)
}

fn builder_at(
    api: &Settings,
    (iam_url, api_url): (String, String),
) -> Result<ClientBuilder, Failure> {
    crate::output::log_requests(api.verbose);
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

/// The IAM and API URLs: each from its flag, else its environment variable,
/// else `profile`, else the default. `flags_warn`: a flag that overrides
/// the profile's URL says so, as a variable always does.
pub fn urls(
    api: &Settings,
    profile: Option<&Profile>,
    flags_warn: bool,
) -> Result<(String, String), Failure> {
    let (stored_iam, stored_api) =
        profile.map_or((None, None), |p| (p.iam_url.as_ref(), p.api_url.as_ref()));
    let iam_url = url_setting(
        (&api.iam_url, "--iam-url", flags_warn),
        "NEUROIO_IAM_URL",
        stored_iam,
        neuroio::DEFAULT_IAM_URL,
    )?;
    let api_url = url_setting(
        (&api.api_url, "--api-url", flags_warn),
        "NEUROIO_API_URL",
        stored_api,
        neuroio::DEFAULT_API_URL,
    )?;
    Ok((iam_url, api_url))
}

/// A URL from its flag, else from `env` when set and not empty, else the
/// profile's, else `default`.
fn url_setting(
    (flag, option, flag_warns): (&Option<String>, &str, bool),
    env: &str,
    stored: Option<&String>,
    default: &str,
) -> Result<String, Failure> {
    let overrides = |given: &str, by: &str, undo: &str| {
        if let Some(stored) = stored.filter(|stored| *stored != given) {
            let _ = writeln!(
                io::stderr(),
                "warning: {by}{} overrides the profile's {}; {undo} to use the profile's",
                terminal_safe(given),
                terminal_safe(stored)
            );
        }
    };
    if let Some(url) = flag {
        if flag_warns {
            overrides(url, &format!("{option} "), &format!("leave {option} out"));
        }
        return Ok(url.clone());
    }
    match std::env::var(env) {
        Ok(url) if !url.is_empty() => {
            // The environment outlives the shell command that set it (the
            // fake-server's hint exports one): say so when it sends a
            // profile's calls somewhere other than the profile says.
            overrides(&url, &format!("{env}="), &format!("unset {env}"));
            Ok(url)
        }
        Ok(_) | Err(std::env::VarError::NotPresent) => {
            Ok(stored.map_or(default, String::as_str).to_owned())
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Failure::usage(format!("{env} is not valid UTF-8")))
        }
    }
}

pub fn printer(api: &Settings) -> Printer {
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

/// The most items `--all` holds in memory for `--output json` or `table`,
/// which print the whole list at once.
pub const MAX_COLLECTED_ITEMS: usize = 100_000;

/// The most items `--all` reads with `--output jsonl`, which streams them:
/// the library's bound on a walk.
pub const MAX_WALKED_ITEMS: u64 = neuroio::DEFAULT_MAX_WALK_ITEMS;

/// Prints every item of a list (`--all`), walking it with the library's
/// walker: it holds one page at a time and stops with an error against a
/// server that ignores `offset` and serves the same pages again. Progress
/// goes to a terminal; jsonl streams each page as it comes, up to
/// [`MAX_WALKED_ITEMS`]; json and table need the whole list first, so they
/// stop past [`MAX_COLLECTED_ITEMS`], printing nothing. Either bound ends
/// the command with exit 1 and says what to do. `noun` names one item, as
/// in "token".
pub fn print_all<T: DeserializeOwned>(
    walk: PageIter<'_, T>,
    page_size: u32,
    noun: &str,
    out: &Printer,
    print: impl Fn(&Printer, &[T]) -> Result<(), WriteError>,
) -> Result<(), Failure> {
    let bounds = (MAX_WALKED_ITEMS, MAX_COLLECTED_ITEMS);
    print_all_within(walk, page_size, noun, out, print, bounds)
}

/// [`print_all`] with its bounds given: (walked, collected).
fn print_all_within<T: DeserializeOwned>(
    walk: PageIter<'_, T>,
    page_size: u32,
    noun: &str,
    out: &Printer,
    print: impl Fn(&Printer, &[T]) -> Result<(), WriteError>,
    (max_walked, max_collected): (u64, usize),
) -> Result<(), Failure> {
    let progress = Progress::new();
    let page_len = usize::try_from(page_size).unwrap_or(usize::MAX);
    let mut walk = walk.page_size(page_size).max_items(max_walked).peekable();
    let (mut pages, mut seen) = (0u64, 0u64);
    let mut all = Vec::new();
    let mut page = Vec::with_capacity(page_len.min(100));
    // The progress line is taken away however the walk ends.
    let walked = (|| {
        while let Some(item) = walk.next() {
            let item = match item {
                Ok(item) => item,
                // The walker's bound, which may fall within a page: what
                // was read is printed, and the bound said for the command
                // line.
                Err(neuroio::Error::UnexpectedResponse { .. })
                    if seen + page.len() as u64 == max_walked =>
                {
                    if out.streams() {
                        print(out, &page)?;
                    }
                    return Err(Failure::failed(format!(
                        "the list has more than {max_walked} {noun}s, the most --all reads; \
                         the server may keep sending new ones, so the walk was stopped: narrow \
                         the list with a filter"
                    )));
                }
                Err(err) => return Err(err.into()),
            };
            page.push(item);
            if page.len() < page_len && walk.peek().is_some() {
                continue;
            }
            pages += 1;
            seen += page.len() as u64;
            let plural = if seen == 1 { "" } else { "s" };
            progress.update(&format!(
                "fetched page {pages}: {seen} {noun}{plural} so far"
            ));
            if out.streams() {
                print(out, &page)?;
                page.clear();
            } else {
                all.append(&mut page);
                if all.len() > max_collected {
                    return Err(Failure::failed(format!(
                        "the list has more than {max_collected} {noun}s, too many to hold \
                         for --output json or table, so nothing was printed: use --output jsonl, \
                         which prints each {noun} as it comes, or narrow the list with a filter"
                    )));
                }
            }
        }
        Ok::<(), Failure>(())
    })();
    progress.finish();
    walked?;
    if !out.streams() {
        print(out, &all)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::options::Format;

    /// A server whose token list never ends: every page full of new ids.
    fn endless(server: &mut mockito::ServerGuard) -> mockito::Mock {
        server
            .mock("GET", "/v1/tokens/")
            .match_query(mockito::Matcher::Regex("^limit=7&offset=[0-9]+$".into()))
            .with_body_from_request(|request| {
                let offset: u64 = request
                    .path_and_query()
                    .rsplit_once("offset=")
                    .and_then(|(_, n)| n.parse().ok())
                    .unwrap_or(0);
                let tokens: Vec<serde_json::Value> = (offset + 1..=offset + 7)
                    .map(|id| {
                        serde_json::json!({"id": id, "key": format!("k{id}"), "is_active": true,
                         "created": "2021-05-28T10:37:51Z", "expires": null})
                    })
                    .collect();
                serde_json::to_vec(&tokens).unwrap_or_default()
            })
    }

    /// Walks the endless list in pages of 7 with the bounds given,
    /// printing as `format`, and checks that `requests` pages were asked
    /// for; returns the ids printed and the failure.
    fn walk_within(format: Format, bounds: (u64, usize), requests: usize) -> (Vec<u64>, Failure) {
        let mut server = mockito::Server::new();
        let mock = endless(&mut server).expect(requests).create();
        let client = Client::builder()
            .api_token("t")
            .iam_url(server.url())
            .build()
            .unwrap();
        let printed = RefCell::new(Vec::new());
        let out = Printer {
            format,
            show_keys: false,
        };

        let failure = print_all_within(
            client.tokens().iter(None),
            7,
            "token",
            &out,
            |_, tokens: &[neuroio::Token]| {
                printed.borrow_mut().extend(tokens.iter().map(|t| t.id));
                Ok(())
            },
            bounds,
        )
        .unwrap_err();

        mock.assert();
        (printed.into_inner(), failure)
    }

    #[test]
    fn jsonl_prints_every_item_up_to_the_walk_bound_then_fails() {
        let (printed, failure) = walk_within(Format::Jsonl, (10, 3), 2);

        // The bound falls within the second page: its first 3 are printed.
        assert_eq!(printed, (1..=10).collect::<Vec<u64>>());
        assert_eq!(failure.code, 1);
        assert_eq!(
            failure.message,
            "the list has more than 10 tokens, the most --all reads; the server may keep \
             sending new ones, so the walk was stopped: narrow the list with a filter"
        );
    }

    #[test]
    fn json_holds_at_most_the_collected_bound_and_prints_nothing() {
        // 14 held after three pages (7, then 6 new each: every page after
        // the first starts at the last item of the one before): past 10.
        let (printed, failure) = walk_within(Format::Json, (1_000, 10), 3);

        assert!(printed.is_empty(), "{printed:?}");
        assert_eq!(failure.code, 1);
        assert_eq!(
            failure.message,
            "the list has more than 10 tokens, too many to hold for --output json or table, so \
             nothing was printed: use --output jsonl, which prints each token as it comes, or \
             narrow the list with a filter"
        );
    }
}
