//! `neuroio auth` and `neuroio login`: the profiles of the credentials
//! file. Log in (`login`, also `auth login`), who you are (`status`), the
//! token for `$(...)` (`token`), `logout`, `list` and `switch`. No command
//! here prints a key but `token` and `login --no-store`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use neuroio::{Login, Profile, Profiles, Token, TokenRef};
use serde_json::json;
use time::OffsetDateTime;

use crate::context::{
    Source, builder, credentials, deliver, login_again, login_builder, printer, profile_failure,
    profiles, refuse_expired, urls,
};
use crate::failure::Failure;
use crate::input::{PasswordSource, read_token};
use crate::options::{ApiOptions, Connection, Output, SEE_TOP_HELP, Settings, TokenSource};
use crate::output::{
    Render, View, WriteError, json_value, kind, rfc3339, terminal_safe, token_value, write_stdout,
};
use crate::store;

/// `neuroio login`, and `neuroio auth login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The user name.
    #[arg(long, value_name = "USER", required_unless_present = "token_file")]
    username: Option<String>,
    /// Read the password from this file (- for standard input); one
    /// trailing newline is ignored.
    #[arg(long, value_name = "PATH", conflicts_with = "token_file")]
    password_file: Option<PathBuf>,
    /// Store a token you already have instead of logging in with a
    /// password: read it from this file (- for standard input), check it
    /// with the API (who am I), and store it in the profile.
    #[arg(long, value_name = "PATH", conflicts_with = "username")]
    token_file: Option<PathBuf>,
    /// Store nothing: print the new token with its key.
    #[arg(long, conflicts_with_all = ["profile", "token_file"])]
    no_store: bool,
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    output: Output,
}

/// `neuroio auth`.
#[derive(Debug, Args)]
pub struct AuthArgs {
    #[command(subcommand)]
    command: AuthCommand,
}

#[derive(Debug, Subcommand)]
enum AuthCommand {
    /// Log in and store the token in a profile: the same as `neuroio
    /// login`.
    #[command(after_help = SEE_TOP_HELP)]
    Login(LoginArgs),
    /// Show the profile, where the token comes from, the user, the token's
    /// id, kind and time left (asks the API who the token belongs to).
    #[command(after_help = SEE_TOP_HELP)]
    Status {
        #[command(flatten)]
        api: ApiOptions,
    },
    /// Print the API token alone on one line, for $(neuroio auth token).
    ///
    /// --format json prints {"id", "key", "expires"} (the id and expiry as
    /// the profile stored them, else as the API answers for the key);
    /// --format env prints export lines for NEUROIO_API_TOKEN and the IAM
    /// and API URLs in use, for eval "$(neuroio auth token --format env)".
    #[command(after_help = SEE_TOP_HELP)]
    Token {
        /// What to print.
        #[arg(long, value_enum, default_value = "key")]
        format: TokenFormat,
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        token: TokenSource,
    },
    /// Delete the profile's token on the server and remove it from the
    /// credentials file (its user and URLs stay).
    #[command(after_help = SEE_TOP_HELP)]
    Logout {
        #[command(flatten)]
        connection: Connection,
        #[command(flatten)]
        output: Output,
        /// Only remove the token from the credentials file, sending
        /// nothing: for a server that is gone (a stopped simulator). The
        /// token stays valid on the server until it expires.
        #[arg(long)]
        local: bool,
    },
    /// List every profile: name, user, IAM URL, time left (never a key);
    /// the current one is marked.
    #[command(after_help = SEE_TOP_HELP)]
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Make NAME the current profile: the one commands use when neither
    /// --profile nor NEUROIO_PROFILE names one.
    #[command(after_help = SEE_TOP_HELP)]
    Switch {
        /// The profile (see `neuroio auth list`).
        name: String,
        #[command(flatten)]
        output: Output,
    },
}

/// What `auth token` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum TokenFormat {
    /// The key and a newline.
    Key,
    /// {"id": N, "key": "...", "expires": "RFC 3339"} on one line.
    Json,
    /// export lines for a POSIX shell.
    Env,
}

impl LoginArgs {
    /// `neuroio login ...`.
    pub fn run(self) -> Result<(), Failure> {
        login(self)
    }
}

impl AuthArgs {
    /// `neuroio auth ...`.
    pub fn run(self) -> Result<(), Failure> {
        match self.command {
            AuthCommand::Login(args) => login(args),
            AuthCommand::Status { api } => status(api.settings()),
            AuthCommand::Token {
                format,
                connection,
                token,
            } => token_command(&connection.settings().token_file(token.token_file), format),
            AuthCommand::Logout {
                connection,
                output,
                local,
            } => logout(&connection.settings().output(output.output), local),
            AuthCommand::List { output } => list(&Settings::default().output(output.output)),
            AuthCommand::Switch { name, output } => {
                switch(&name, &Settings::default().output(output.output))
            }
        }
    }
}

/// The answer of `login --no-store`: the user and the new token, key
/// included.
impl Render for Login {
    fn header(view: &View) -> Vec<&'static str> {
        let mut header = vec!["USER"];
        header.extend(Token::header(view));
        header
    }

    fn row(&self, view: &View) -> Vec<String> {
        let mut row = vec![self.user.username.clone()];
        row.extend(self.token.row(view));
        row
    }

    fn json(&self, view: &View) -> Result<serde_json::Value, WriteError> {
        let mut value = json_value(self)?;
        if let Some(object) = value.as_object_mut() {
            // The token in the one shape every command prints.
            object.insert("token".to_owned(), self.token.json(view)?);
        }
        Ok(value)
    }
}

/// `neuroio login`: a new temporary token from a user name and password,
/// stored in a profile (or, with `--no-store`, printed).
fn login(args: LoginArgs) -> Result<(), Failure> {
    let api = args.connection.settings().output(args.output.output);
    if args.no_store {
        let username = args.username.as_deref().unwrap_or_default();
        return login_and_print(api, username, args.password_file.as_deref());
    }
    if let Some(token_file) = &args.token_file {
        return store_token(api, token_file);
    }
    let username = args.username.as_deref().unwrap_or_default();
    let password_file = args.password_file.as_deref();
    // Checked before logging in: a token that cannot be stored is not made.
    let (name, path, before) = target_profile(&api)?;
    store::check_writable(&path)?;
    refuse_half_a_server(&api, before.get(&name))?;
    let (client, login) = log_in(&api, username, password_file, before.get(&name))?;
    let stored = store_profile(&api, &name, &path, &client, &login.user, &login.token, true)?;
    Ok(stored?)
}

/// Stores `token` of `user` in profile `name` of the file at `path`, and
/// prints what was stored (not the key). `minted`: the token was made for
/// this profile, so it is deleted again when it cannot be stored, and the
/// token it replaces is deleted. The outer result is the storing's, the
/// inner one the printing's.
fn store_profile(
    api: &Settings,
    name: &str,
    path: &Path,
    client: &neuroio::Client,
    user: &neuroio::User,
    token: &Token,
    minted: bool,
) -> Result<Result<(), WriteError>, Failure> {
    let mut profile = Profile::default();
    profile.token = Some(token.key.clone());
    profile.token_id = Some(token.id);
    profile.expires = token.expires;
    profile.iam_url = Some(client.iam_url().to_owned());
    profile.api_url = Some(client.api_url().to_owned());
    profile.username = Some(user.username.clone());
    profile.imported = !minted;
    let stored = store::update(path, |profiles| {
        let replaced = profiles.insert(name, profile)?;
        // Whether a command given no profile uses another one. (Not made
        // current here: a later `login` with no --profile would then log
        // in to it, and send the password to its URLs.)
        let elsewhere = profiles.current().unwrap_or("default") != name;
        Ok::<_, neuroio::ProfileError>((replaced, elsewhere))
    });
    let (replaced, elsewhere) = match stored {
        Ok(stored) => stored.map_err(profile_failure)?,
        Err(failure) if !minted => return Err(failure),
        Err(failure) => {
            let id = token.id;
            return Err(Failure::failed(
                match client.tokens().delete(TokenRef::from(id)) {
                    Ok(()) => format!(
                        "{}; the new token {id} could not be stored, so it was deleted again",
                        failure.message
                    ),
                    Err(cleanup) => format!(
                        "{}; the new token {id} could not be stored, and deleting it failed ({}); \
                         delete it with: neuroio tokens delete {id}",
                        failure.message,
                        Failure::from(cleanup).message
                    ),
                },
            ));
        }
    };
    let shown = json!({
        "profile": name,
        "file": path.display().to_string(),
        "user": user,
        // The one shape of a token, without its key: it was stored.
        "token": token_value(token, false)?,
    });
    let row = vec![
        name.to_owned(),
        user.username.clone(),
        token.id.to_string(),
        token.expires.map_or_else(|| "never".to_owned(), rfc3339),
    ];
    let printed = printer(api).record(
        &shown,
        &[(&["PROFILE", "USER", "TOKEN_ID", "EXPIRES"], vec![row])],
    );
    if elsewhere {
        let _ = writeln!(
            io::stderr(),
            "note: commands use profile {name} when it is named (--profile {name}, or \
             NEUROIO_PROFILE={name}); to use it when none is: neuroio auth switch {name}"
        );
    }
    // The old token is deleted only now that the new one is stored.
    let old = replaced.filter(|old| old.token.as_ref() != Some(&token.key));
    let Some(old) = old.filter(|old| old.token.is_some()) else {
        return Ok(printed);
    };
    let which = old.token_id.map_or_else(
        || "its old token".to_owned(),
        |id| format!("its old token {id}"),
    );
    if !minted || old.imported {
        // A token the user brought replaces the old one, or the old one
        // was brought: it may be in use elsewhere, so it is left as it is.
        let _ = writeln!(
            io::stderr(),
            "note: profile {name} held {which}, which was left as it is; delete it with \
             `neuroio tokens delete ID` if nothing uses it"
        );
    } else {
        // Recorded once the new token is stored (so no reap can delete a
        // token a profile still holds), and forgotten once deleted: a crash
        // in between leaves it to `neuroio tokens reap`.
        #[cfg(unix)]
        let recorded = record_replaced(name, &old);
        match store::revoke(api, &old) {
            Ok(()) =>
            {
                #[cfg(unix)]
                if let Some((ledger, host, id)) = recorded {
                    let _ = ledger.forget(&host, &[id]);
                }
            }
            Err(failure) => {
                // The log in itself succeeded and its token is stored: say
                // what is left behind (its server may simply be gone, as a
                // restarted simulator is), and exit as a success.
                let at = old.iam_url.as_deref().unwrap_or(neuroio::DEFAULT_IAM_URL);
                let _ = writeln!(
                    io::stderr(),
                    "warning: logged in and stored the new token in profile {name}, but {which} \
                     at {} could not be deleted ({}); a temporary token expires on its own \
                     within 24 hours, or delete it with a token of that account",
                    terminal_safe(at),
                    failure.message
                );
            }
        }
    }
    Ok(printed)
}

/// Records in the ledger the token a login replaced, before deleting it;
/// `None` when its id is unknown or the ledger cannot be written (said on
/// standard error: the log in itself succeeded).
#[cfg(unix)]
fn record_replaced(name: &str, old: &Profile) -> Option<(crate::ledger::Ledger, String, u64)> {
    let id = old.token_id?;
    let host = old
        .iam_url
        .clone()
        .unwrap_or_else(|| neuroio::DEFAULT_IAM_URL.to_owned());
    // A profile's own log in holds a token of its user's account; of an
    // imported token, the scope is not known here.
    let scope = old
        .username
        .clone()
        .filter(|_| !old.imported)
        .map(crate::ledger::Scope::Account);
    let recorded = crate::ledger::Ledger::open().and_then(|ledger| {
        ledger.record(crate::ledger::Entry::mine(
            id,
            &host,
            Some(name),
            "login (replaced)",
            old.expires,
            scope,
        ))?;
        Ok(ledger)
    });
    match recorded {
        Ok(ledger) => Some((ledger, host, id)),
        Err(failure) => {
            let _ = writeln!(io::stderr(), "warning: {}", failure.shown());
            None
        }
    }
}

/// `neuroio login --token-file PATH`: stores a token the user already has,
/// once `whoami` and the token's own record show that it works here.
fn store_token(api: Settings, token_file: &Path) -> Result<(), Failure> {
    let (name, path, before) = target_profile(&api)?;
    store::check_writable(&path)?;
    refuse_half_a_server(&api, before.get(&name))?;
    let key = read_token(Some(token_file))?;
    let client = login_builder(&api, before.get(&name))?
        .api_token(key.as_str())
        .build()?;
    let me = client.whoami()?;
    let Some(username) = me.username() else {
        return Err(Failure::usage(
            "the token is a space token, which has no user to log in as; a profile holds an \
             account token: use it with --token-file on each command instead",
        ));
    };
    let token = client.tokens().get(TokenRef::from(key.as_str()))?;
    let user: neuroio::User = serde_json::from_value(json!({"username": username}))
        .map_err(|e| Failure::failed(format!("cannot read the user: {e}")))?;
    let printed = store_profile(&api, &name, &path, &client, &user, &token, false)?;
    Ok(printed?)
}

/// Refuses to store a profile that pairs a server of one's own with the
/// public service: `login --iam-url URL` alone (a staging server, the
/// simulator) would send the profile's token to the public API host with
/// every stream-token call. Checked before anything is sent (exit 2).
fn refuse_half_a_server(api: &Settings, stored: Option<&Profile>) -> Result<(), Failure> {
    let (iam_url, api_url) = urls(api, stored, false)?;
    let own_iam = iam_url != neuroio::DEFAULT_IAM_URL;
    let own_api = api_url != neuroio::DEFAULT_API_URL;
    let (own, own_url, public, public_url, missing) = match (own_iam, own_api) {
        (true, false) => ("IAM", &iam_url, "API", &api_url, "--api-url"),
        (false, true) => ("API", &api_url, "IAM", &iam_url, "--iam-url"),
        _ => return Ok(()),
    };
    Err(Failure::usage(format!(
        "the profile would pair the {own} URL {} with the public {public} URL {}, and its \
         token would go to both services; give {missing} too (for the simulator, its one URL: \
         {missing} {})",
        terminal_safe(own_url),
        terminal_safe(public_url),
        terminal_safe(own_url)
    )))
}

/// The profile a login stores into (checked before anything is sent), its
/// file, and the profiles the file holds now.
fn target_profile(api: &Settings) -> Result<(String, PathBuf, Profiles), Failure> {
    let path = Profiles::default_path().map_err(profile_failure)?;
    let before = store::load_or_empty(&path).map_err(profile_failure)?;
    let name = before
        .chosen(api.profile.as_deref())
        .map_err(profile_failure)?;
    Ok((name, path, before))
}

/// Logs in at the URLs of the flags, the environment or `stored` (the
/// profile being replaced), in that order.
fn log_in(
    api: &Settings,
    username: &str,
    password_file: Option<&Path>,
    stored: Option<&Profile>,
) -> Result<(neuroio::Client, Login), Failure> {
    let password = PasswordSource {
        file: password_file,
        option: "--password-file",
        name: "the password",
        prompt: &format!("Password for {username}: "),
    }
    .read()?;
    login_builder(api, stored)?
        .login(username, password)
        .map_err(|err| {
            let login_failed = err.is_login_failed();
            let mut failure = Failure::from(err);
            if login_failed {
                failure.code = 4;
            }
            failure
        })
}

/// `neuroio login --no-store`: the new token, key included, on standard
/// output.
fn login_and_print(
    api: Settings,
    username: &str,
    password_file: Option<&Path>,
) -> Result<(), Failure> {
    let (client, login) = log_in(&api, username, password_file, None)?;
    let id = login.token.id;
    deliver(
        id,
        printer(&api.clone().show_keys(true)).one(&login),
        &format!("neuroio tokens delete {id}"),
        |id| client.tokens().delete(TokenRef::from(id)),
    )
}

/// `auth status`: what the profile and the file say, then what the API
/// says of the token. When the API cannot be asked (the server is down,
/// the token is refused), the local part is still shown, then the failure.
fn status(args: Settings) -> Result<(), Failure> {
    let credentials = credentials(&args)?;
    let name = match &credentials.source {
        Source::Profile { name, .. } => name.clone(),
        _ => Profiles::selected(args.profile.as_deref()).map_err(profile_failure)?,
    };
    let stored = match &credentials.source {
        Source::Profile { stored, .. } => Some(stored.as_ref()),
        _ => None,
    };
    // Where to get a working token depends on where this one came from:
    // only a profile's is replaced by logging in to it.
    let again = match &credentials.source {
        Source::Profile { name, stored, .. } => {
            format!("log in again: {}", login_again(name, Some(stored)))
        }
        Source::Environment => "it came from NEUROIO_API_TOKEN: set that to a working token, \
             or unset it to use the profile `neuroio login` stores"
            .to_owned(),
        Source::TokenFile(path) => format!(
            "it came from --token-file {}: put a working token there, or leave the option out \
             to use the profile `neuroio login` stores",
            path.display()
        ),
        Source::TokenFileEnv(path) => format!(
            "it came from NEUROIO_API_TOKEN_FILE ({}): the program that writes that file \
             should put a working token there, or unset it",
            path.display()
        ),
    };
    let (from, file) = match &credentials.source {
        Source::TokenFile(path) => (
            format!("--token-file {}", path.display()),
            Some(path.display().to_string()),
        ),
        Source::TokenFileEnv(path) => (
            format!("NEUROIO_API_TOKEN_FILE {}", path.display()),
            Some(path.display().to_string()),
        ),
        Source::Environment => ("NEUROIO_API_TOKEN".to_owned(), None),
        Source::Profile { name, path, .. } => (
            format!("profile {name} in {}", path.display()),
            Some(path.display().to_string()),
        ),
    };
    let out = printer(&args);
    let now = OffsetDateTime::now_utc();
    let asked = (|| {
        refuse_expired(&credentials.source)?;
        let client = builder(&args, credentials.profile.as_ref())?
            .api_token(credentials.token.as_str())
            .build()?;
        let me = client.whoami()?;
        // The id when the profile knows it, so the key stays out of the path.
        let which = match stored.and_then(|s| s.token_id) {
            Some(id) => TokenRef::from(id),
            None => TokenRef::from(credentials.token.as_str()),
        };
        let token = client.tokens().get(which)?;
        Ok::<_, Failure>((me, token))
    })();
    let (me, token) = match asked {
        Ok(answers) => answers,
        Err(mut failure) => {
            // What this machine knows, then why the API could not add to it.
            let user = stored.and_then(|s| s.username.clone());
            let expires = stored.and_then(|s| s.expires);
            let shown = json!({
                "profile": name,
                "source": credentials.source.kind(),
                "file": file,
                "user": user.as_ref().map(|username| json!({"username": username})),
                "space": null,
                "token": stored.map(|s| json!({
                    "id": s.token_id,
                    "expires": s.expires.map(rfc3339),
                })),
                "checked": false,
            });
            let row = vec![
                name.clone(),
                from,
                user.unwrap_or_else(|| "-".to_owned()),
                stored
                    .and_then(|s| s.token_id)
                    .map_or_else(|| "-".to_owned(), |id| id.to_string()),
                "-".to_owned(),
                time_left(expires, stored.is_some_and(|s| s.token.is_some()), now),
            ];
            out.record(
                &shown,
                &[(
                    &["PROFILE", "SOURCE", "USER", "TOKEN_ID", "KIND", "TIME_LEFT"],
                    vec![row],
                )],
            )?;
            if failure.code == 4 {
                failure
                    .message
                    .push_str(&format!("\nthe API token was refused; {again}"));
            }
            return Err(failure);
        }
    };
    // The one shape of a token (without its key), and the time it has left.
    let mut shown_token = token_value(&token, false)?;
    if let Some(object) = shown_token.as_object_mut() {
        object.insert(
            "seconds_left".to_owned(),
            json!(token.expires_in_at(now).map(|left| left.as_secs())),
        );
    }
    let shown = json!({
        "profile": name,
        "source": credentials.source.kind(),
        "file": file,
        // The one shape of a user, as `login` prints it; none for a space
        // token.
        "user": me.username().map(|username| json!({"username": username})),
        "space": me.space(),
        "token": shown_token,
        "checked": true,
    });
    let row = vec![
        name.clone(),
        from,
        me.username().unwrap_or("-").to_owned(),
        token.id.to_string(),
        kind(&token).to_owned(),
        time_left(token.expires, true, now),
    ];
    Ok(out.record(
        &shown,
        &[(
            &["PROFILE", "SOURCE", "USER", "TOKEN_ID", "KIND", "TIME_LEFT"],
            vec![row],
        )],
    )?)
}

/// `auth token`: the key from the same place every command takes it,
/// alone and a newline, as JSON, or as export lines.
/// The most tokens `auth token --format json` reads to find the id of a
/// token that came from elsewhere than a profile.
const MAX_LISTED_FOR_ID: u64 = 10_000;

fn token_command(args: &Settings, format: TokenFormat) -> Result<(), Failure> {
    let credentials = credentials(args)?;
    refuse_expired(&credentials.source)?;
    let key = credentials.token.as_str();
    let text = match format {
        TokenFormat::Key => format!("{key}\n"),
        TokenFormat::Json => {
            let stored = match &credentials.source {
                Source::Profile { stored, .. } => stored.token_id.map(|id| (id, stored.expires)),
                _ => None,
            };
            // Known when a profile stored them; else found in the list of
            // tokens (asking for the token by key would put the key in a
            // URL path, which a proxy or a server logs), `null` when the
            // list does not show it (a token that cannot list its own).
            let (id, expires) = match stored {
                Some((id, expires)) => (Some(id), expires),
                None => {
                    let client = builder(args, credentials.profile.as_ref())?
                        .api_token(key)
                        .build()?;
                    let mut found = (None, None);
                    for token in client.tokens().iter(None).max_items(MAX_LISTED_FOR_ID) {
                        let token = token?;
                        if token.key.secret() == key {
                            found = (Some(token.id), token.expires);
                            break;
                        }
                    }
                    found
                }
            };
            format!(
                "{}\n",
                json!({"id": id, "key": key, "expires": expires.map(rfc3339)})
            )
        }
        TokenFormat::Env => {
            // The URLs this token is sent to by every other command.
            let client = builder(args, credentials.profile.as_ref())?
                .api_token(key)
                .build()?;
            format!(
                "export NEUROIO_API_TOKEN={}\nexport NEUROIO_IAM_URL={}\nexport NEUROIO_API_URL={}\n",
                shell_quoted(key),
                shell_quoted(client.iam_url()),
                shell_quoted(client.api_url())
            )
        }
    };
    Ok(write_stdout(text.as_bytes())?)
}

/// `text` in single quotes for a POSIX shell (a quote in it closed,
/// escaped and reopened).
fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// `auth logout`: deletes the profile's token on the server, then removes
/// it from the file. The profile keeps its user and URLs.
fn logout(args: &Settings, local: bool) -> Result<(), Failure> {
    let (name, profiles) = profiles(args)?;
    let profile = profiles.require(&name).map_err(profile_failure)?.clone();
    let out = printer(args);
    let shown = |logged_out: bool| json!({"profile": name, "logged_out": logged_out, "token_id": profile.token_id});
    if profile.token.is_none() {
        return Ok(out.record(
            &shown(false),
            &[(
                &["PROFILE", "LOGGED_OUT"],
                vec![vec![name.clone(), "already".to_owned()]],
            )],
        )?);
    }
    // Checked first: a token deleted on the server must leave the file too.
    store::check_writable(profiles.path())?;
    if profile.imported {
        // Brought with `login --token-file`: not the tool's to delete.
        let _ = writeln!(
            io::stderr(),
            "note: the token of profile {name} was brought with `login --token-file`: it is \
             forgotten here and left on the server"
        );
    } else if local {
        let which = profile
            .token_id
            .map_or_else(|| "its token".to_owned(), |id| format!("its token {id}"));
        let _ = writeln!(
            io::stderr(),
            "note: profile {name} forgets {which} without deleting it on the server (--local); \
             it stays valid there until it expires"
        );
    } else {
        store::revoke(args, &profile).map_err(|mut failure| {
            failure.message.push_str(&format!(
                "\nthe token was not deleted, and stays in profile {name}; try again, or forget \
                 it here only with: neuroio auth logout --profile {name} --local"
            ));
            failure
        })?;
    }
    let key = profile.token.clone();
    store::update(profiles.path(), |profiles| {
        // Only the token logged out: another process may have logged in
        // again meanwhile.
        if let Some(current) = profiles.get(&name)
            && current.token == key
        {
            let mut kept = current.clone();
            kept.token = None;
            kept.token_id = None;
            kept.expires = None;
            kept.imported = false;
            let _ = profiles.insert(&name, kept);
        }
    })
    .map_err(|mut failure| {
        failure.message.push_str(&format!(
            "\nthe token was deleted on the server, but is still in profile {name}; run \
             `neuroio auth logout` again to forget it"
        ));
        failure
    })?;
    Ok(out.record(
        &shown(true),
        &[(
            &["PROFILE", "LOGGED_OUT"],
            vec![vec![name.clone(), "yes".to_owned()]],
        )],
    )?)
}

/// `auth list`: every profile, without keys; the one in use marked.
fn list(args: &Settings) -> Result<(), Failure> {
    let path = Profiles::default_path().map_err(profile_failure)?;
    let profiles = store::load_or_empty(&path).map_err(profile_failure)?;
    let in_use = profiles.chosen(None).ok();
    let now = OffsetDateTime::now_utc();
    let entries: Vec<(&str, &Profile)> = profiles.iter().collect();
    let shown: Vec<serde_json::Value> = entries
        .iter()
        .map(|(name, p)| {
            json!({
                "profile": name,
                "current": in_use.as_deref() == Some(*name),
                "username": p.username,
                "iam_url": p.iam_url,
                "api_url": p.api_url,
                "logged_in": p.token.is_some(),
                "token_id": p.token_id,
                "expires": p.expires.map(rfc3339),
            })
        })
        .collect();
    let rows = entries
        .iter()
        .map(|(name, p)| {
            let mark = if in_use.as_deref() == Some(*name) {
                "*"
            } else {
                ""
            };
            vec![
                mark.to_owned(),
                (*name).to_owned(),
                p.username.as_deref().unwrap_or("-").to_owned(),
                p.iam_url
                    .as_deref()
                    .unwrap_or(neuroio::DEFAULT_IAM_URL)
                    .to_owned(),
                time_left(p.expires, p.token.is_some(), now),
            ]
        })
        .collect();
    Ok(printer(args).record(
        &json!(shown),
        &[(
            &["CURRENT", "PROFILE", "USER", "IAM_URL", "TIME_LEFT"],
            rows,
        )],
    )?)
}

/// `auth switch NAME`: makes NAME the current profile, in the file.
fn switch(name: &str, args: &Settings) -> Result<(), Failure> {
    Profiles::check_name(name).map_err(profile_failure)?;
    let path = Profiles::default_path().map_err(profile_failure)?;
    let found = store::update(&path, |profiles| {
        profiles.require(name)?;
        profiles.set_current(Some(name))
    })?;
    found.map_err(profile_failure)?;
    if std::env::var_os("NEUROIO_PROFILE").is_some_and(|value| !value.is_empty()) {
        let _ = writeln!(
            io::stderr(),
            "note: NEUROIO_PROFILE is set, and wins over the current profile while it is"
        );
    }
    Ok(printer(args).done(
        &json!({"current_profile": name}),
        &format!("the current profile is now {name}"),
    )?)
}

/// How long a token has left, for a person: "logged out", "permanent",
/// "expired", or hours and minutes.
fn time_left(expires: Option<OffsetDateTime>, has_token: bool, now: OffsetDateTime) -> String {
    if !has_token {
        return "logged out".to_owned();
    }
    let Some(expires) = expires else {
        return "permanent".to_owned();
    };
    let left = (expires - now).whole_minutes();
    if left <= 0 {
        "expired".to_owned()
    } else {
        format!("{}h{:02}m", left / 60, left % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_for_a_person() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let later = |minutes| Some(now + time::Duration::minutes(minutes));
        assert_eq!(time_left(later(90), true, now), "1h30m");
        assert_eq!(time_left(later(24 * 60), true, now), "24h00m");
        assert_eq!(time_left(later(0), true, now), "expired");
        assert_eq!(time_left(None, true, now), "permanent");
        assert_eq!(time_left(later(5), false, now), "logged out");
    }
}
