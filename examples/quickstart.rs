//! A tour of the whole token family.
//!
//! ```sh
//! cargo run -p neuroio-examples
//! ```
//!
//! With no `NEUROIO_API_TOKEN` in the environment it starts the offline
//! simulator, logs in there with the simulator's user, and runs against it:
//! no account and no network needed. With one, it talks to
//! `NEUROIO_IAM_URL` and `NEUROIO_API_URL` (default: the real services),
//! creates a few tokens, and deletes exactly those again: it never changes
//! or deletes a token it did not create.

use std::process::ExitCode;

use neuroio::fake::FakeIam;
use neuroio::time::OffsetDateTime;
use neuroio::time::format_description::well_known::Rfc3339;
use neuroio::{Client, Token};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> neuroio::Result<()> {
    // Keep the simulator alive for the whole run; it stops when dropped.
    let (client, simulator) = match std::env::var_os("NEUROIO_API_TOKEN") {
        Some(_) => {
            let client = Client::from_env()?;
            println!(
                "Using the IAM service at {} and the API service at {}.",
                client.iam_url(),
                client.api_url()
            );
            (client, None)
        }
        None => {
            let fake = FakeIam::start()?;
            println!(
                "NEUROIO_API_TOKEN is not set: running against the offline simulator at {}.",
                fake.url()
            );
            println!(
                "It holds one account, with a user ({:?}) and one permanent token: the \
                 account's root token,\nthe kind of token you would export as \
                 NEUROIO_API_TOKEN for a real account.",
                fake.root_username()
            );
            step("Log in with a user name and password");
            let (client, login) = Client::builder()
                .iam_url(fake.url())
                .api_url(fake.url())
                .login(fake.root_username(), fake.root_password())?;
            println!(
                "  logged in as {}; logging in made a temporary token, which this client now uses:",
                login.user.username
            );
            show(&login.token);
            let root = client.tokens().get(fake.root_token())?;
            println!("  the root token, which the account had from the start:");
            show(&root);
            (client, Some(fake))
        }
    };

    step("Who am I");
    let me = client.whoami()?;
    match (me.username(), me.space()) {
        (Some(user), Some(space)) => println!(
            "  an account token of user {user}; its default space is {:?} (id {})",
            space.name, space.id
        ),
        (None, Some(space)) => println!(
            "  a space token: it sees only space {:?} (id {})",
            space.name, space.id
        ),
        _ => println!(
            "  an answer with neither user nor space ({} other field(s))",
            me.extra.len()
        ),
    }

    // Everything below deletes only what it created, even when a step fails.
    let mut made = Made::new(&client);
    let result = tour(&client, &mut made, simulator.is_some());
    made.clean_up();
    result?;

    if let Some(fake) = &simulator {
        step("A day later (on the simulator's clock), temporary tokens have expired");
        fake.advance(std::time::Duration::from_secs(24 * 60 * 60));
        match client.whoami() {
            Err(err) if err.is_unauthorized() => println!("  the log-in token: {err}"),
            Err(err) => return Err(err),
            Ok(_) => println!("  the log-in token still works (unexpected)"),
        }
    }
    next_steps(simulator.is_some());
    Ok(())
}

/// Where to go from here; the CI checks that the tour gets this far.
fn next_steps(offline: bool) {
    step("What to try next");
    if offline {
        println!(
            "  - Against your own account: NEUROIO_API_TOKEN=<a token> cargo run -p neuroio-examples\n    \
             (it deletes exactly the tokens it creates, nothing else)."
        );
    }
    println!(
        "  - The command-line tool: cargo install --locked --path . --features cli\n    \
         then `neuroio fake-server` runs this simulator in a shell of its own, and prints the\n    \
         line that points `neuroio tokens list` (and your programs) at it."
    );
    println!(
        "  - The other examples: cargo run -p neuroio-examples --bin rotate (a batch job that\n    \
         rotates its token), --bin tokens (one token's life, against a real account)."
    );
    println!("  - The manual: cargo doc --open -p neuroio; the CLI's manual: docs/cli.md.");
}

fn tour(client: &Client, made: &mut Made<'_>, offline: bool) -> neuroio::Result<()> {
    let tokens = client.tokens();

    step("Create a temporary token");
    let temporary = made.token(tokens.create(false)?);
    show(&temporary);

    step("List the newest tokens with each filter");
    for (label, filter) in [
        ("all", None),
        ("permanent", Some(true)),
        ("temporary", Some(false)),
    ] {
        let page = tokens.list(filter, 20, 0)?;
        println!("  {label:<9}: {} token(s)", page.len());
    }
    println!("  (each count is one page of up to 20 of the account's tokens, newest first)");
    if offline {
        println!(
            "  (permanent: the root token; temporary: the log-in token and the one just created)"
        );
    }

    step("Get a token by id and by key");
    let by_id = tokens.get(temporary.id)?;
    let by_key = tokens.get(&temporary.key)?;
    println!(
        "  by id -> token {}, by key -> token {} (same: {})",
        by_id.id,
        by_key.id,
        by_id == by_key
    );

    step("Deactivate the temporary token, then use it");
    let as_temporary = client.with_api_token(&temporary.key)?;
    println!(
        "  before: it can list {} token(s)",
        as_temporary.tokens().list(None, 20, 0)?.len()
    );
    let deactivated = tokens.update(&temporary, false)?;
    println!(
        "  token {} active: {}",
        deactivated.id, deactivated.is_active
    );
    match as_temporary.tokens().list(None, 20, 0) {
        Err(err) if err.is_unauthorized() => println!("  after: refused, as expected: {err}"),
        Err(err) => return Err(err),
        Ok(_) => println!("  after: still accepted (unexpected)"),
    }

    step("Stream tokens live on the API host, in a collection of their own");
    let stream = made.stream_token(client.stream_tokens().create(false)?);
    show(&stream);

    step("A permanent token, deleted again");
    match tokens.create(true) {
        Ok(permanent) => {
            let permanent = made.token(permanent);
            show(&permanent);
            tokens.delete(&permanent)?;
            made.forget(permanent.id);
            match tokens.get(permanent.id) {
                Err(err) if err.is_not_found() => println!("  deleted; getting it again: {err}"),
                Err(err) => return Err(err),
                Ok(_) => println!("  deleted, yet it still answers (unexpected)"),
            }
        }
        // A real account may already hold its 5 permanent tokens.
        Err(neuroio::Error::Api(api)) if api.status == 400 => {
            println!("  refused: {}", api.message);
        }
        Err(err) => return Err(err),
    }

    if offline {
        step("An account holds at most 5 permanent tokens (the root token is one of them)");
        // Bounded: a server without the limit must not make this loop forever.
        let mut refusal = None;
        for _ in 0..6 {
            match tokens.create(true) {
                Ok(token) => println!("  created permanent token {}", made.token(token).id),
                Err(neuroio::Error::Api(api)) if api.status == 400 => {
                    refusal = Some(api);
                    break;
                }
                Err(err) => return Err(err),
            }
        }
        match refusal {
            Some(api) => println!("  refused (HTTP {}): {}", api.status, api.message),
            None => println!("  no refusal after 6 tokens (unexpected)"),
        }
    }
    Ok(())
}

/// The tokens this tour created, deleted at the end whatever happened.
struct Made<'c> {
    client: &'c Client,
    tokens: Vec<u64>,
    stream_tokens: Vec<u64>,
}

impl<'c> Made<'c> {
    fn new(client: &'c Client) -> Self {
        Made {
            client,
            tokens: Vec::new(),
            stream_tokens: Vec::new(),
        }
    }

    fn token(&mut self, token: Token) -> Token {
        self.tokens.push(token.id);
        token
    }

    fn stream_token(&mut self, token: Token) -> Token {
        self.stream_tokens.push(token.id);
        token
    }

    fn forget(&mut self, id: u64) {
        self.tokens.retain(|t| *t != id);
    }

    fn clean_up(&mut self) {
        step("Clean up: delete exactly the tokens this tour created");
        for (kind, ids, collection) in [
            ("token", &self.tokens, self.client.tokens()),
            (
                "stream token",
                &self.stream_tokens,
                self.client.stream_tokens(),
            ),
        ] {
            for id in ids {
                match collection.delete(*id) {
                    Ok(()) => println!("  deleted {kind} {id}"),
                    Err(err) if err.is_not_found() => println!("  {kind} {id} was already gone"),
                    Err(err) => eprintln!("  could not delete {kind} {id}: {err}"),
                }
            }
        }
        self.tokens.clear();
        self.stream_tokens.clear();
    }
}

fn step(title: &str) {
    println!("\n== {title}");
}

/// One line per token; the key is a secret and is never printed.
fn show(token: &Token) {
    let kind = if token.is_permanent() {
        "permanent"
    } else {
        "temporary"
    };
    let expires = token.expires.map_or_else(|| "never".to_owned(), rfc3339);
    println!(
        "  token {} ({kind}), active: {}, created {}, expires {expires}",
        token.id,
        token.is_active,
        rfc3339(token.created)
    );
}

/// Timestamps as RFC 3339, as the API and the CLI write them.
fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}
