//! A tour of the whole token lifecycle.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! With no `NEUROIO_API_TOKEN` in the environment it starts the offline
//! simulator and runs against that: no account and no network needed. With
//! one, it talks to `NEUROIO_IAM_URL` (default: the real service), creates a
//! few tokens and deletes them again. Note that its "delete the temporary
//! tokens" step deletes every temporary token of that account.

use std::process::ExitCode;

use neuroio::fake::FakeIam;
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
    let (client, _simulator) = match std::env::var_os("NEUROIO_API_TOKEN") {
        Some(_) => {
            let client = Client::from_env()?;
            println!("Using the IAM service at {}.", client.iam_url());
            (client, None)
        }
        None => {
            let fake = FakeIam::start()?;
            println!(
                "NEUROIO_API_TOKEN is not set: running against the offline simulator at {}.",
                fake.url()
            );
            let client = Client::builder()
                .api_token(fake.root_token())
                .iam_url(fake.url())
                .build()?;
            (client, Some(fake))
        }
    };
    let tokens = client.tokens();

    step("Create a temporary and a permanent token");
    let temporary = tokens.create(false)?;
    let permanent = tokens.create(true)?;
    show(&temporary);
    show(&permanent);

    step("List tokens with each filter");
    for (label, filter) in [
        ("all", None),
        ("permanent", Some(true)),
        ("temporary", Some(false)),
    ] {
        let page = tokens.list(filter, 20, 0)?;
        let ids: Vec<u64> = page.iter().map(|t| t.id).collect();
        println!("  {label:<9} -> {} token(s), ids {ids:?}", page.len());
    }

    step("Get a token by id and by key");
    let by_id = tokens.get(temporary.id)?;
    let by_key = tokens.get(temporary.key.secret())?;
    println!("  by id  -> token {}", by_id.id);
    println!(
        "  by key -> token {} (same token: {})",
        by_key.id,
        by_id == by_key
    );

    step("Deactivate the temporary token, then use it");
    let as_temporary = Client::builder()
        .api_token(temporary.key.clone())
        .iam_url(client.iam_url())
        .build()?;
    println!(
        "  before: it can list {} token(s)",
        as_temporary.tokens().list(None, 20, 0)?.len()
    );
    let deactivated = tokens.update(&temporary, false)?;
    println!(
        "  token {} is_active = {}",
        deactivated.id, deactivated.is_active
    );
    match as_temporary.tokens().list(None, 20, 0) {
        Err(err) if err.is_unauthorized() => println!("  after: refused, as expected: {err}"),
        Err(err) => return Err(err),
        Ok(_) => println!("  after: still accepted (unexpected)"),
    }

    step("Delete one token");
    tokens.delete(&permanent)?;
    println!("  deleted token {}", permanent.id);
    match tokens.get(permanent.id) {
        Err(err) if err.is_not_found() => println!("  getting it again: {err}"),
        Err(err) => return Err(err),
        Ok(_) => println!("  getting it again: still there (unexpected)"),
    }

    step("Delete every temporary token");
    tokens.delete_list(Some(false))?;
    println!(
        "  temporary tokens left: {}",
        tokens.list(Some(false), 20, 0)?.len()
    );

    step("Create permanent tokens until the limit of 5 is reached");
    let mut created = Vec::new();
    let refusal = loop {
        match tokens.create(true) {
            Ok(token) => {
                println!("  created permanent token {}", token.id);
                created.push(token);
            }
            Err(neuroio::Error::Api(api)) if api.status == 400 => break Some(api),
            Err(err) => return Err(err),
        }
        if created.len() > 5 {
            break None; // a server without the limit: stop anyway
        }
    };
    match refusal {
        Some(api) => println!("  refused (HTTP {}): {}", api.status, api.message),
        None => println!("  no refusal after {} tokens (unexpected)", created.len()),
    }
    for token in &created {
        tokens.delete(token)?;
    }
    println!(
        "  cleaned up the {} permanent token(s) made here",
        created.len()
    );

    println!("\nDone.");
    Ok(())
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

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}
