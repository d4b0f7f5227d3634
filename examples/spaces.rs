//! A token limited to one space: find the space named "Warehouse" (or
//! create it), make a temporary token of that space, and show what the API
//! says about it. The example deletes what it made: the token, and the
//! space if it created it.
//!
//! ```sh
//! cargo run -p neuroio-examples --bin spaces                        # against the simulator
//! NEUROIO_API_TOKEN=... cargo run -p neuroio-examples --bin spaces # against a real account
//! ```

use std::process::ExitCode;

use neuroio::Client;
use neuroio::fake::FakeIam;

const SPACE: &str = "Warehouse";

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
    // Kept alive until the end: dropping it stops the simulator.
    let simulator = match std::env::var_os("NEUROIO_API_TOKEN") {
        Some(_) => None,
        None => Some(FakeIam::start()?),
    };
    let client = match &simulator {
        Some(fake) => {
            println!(
                "NEUROIO_API_TOKEN is not set: using the offline simulator at {}.",
                fake.url()
            );
            fake.client_builder().build()?
        }
        None => Client::from_env()?,
    };

    // `q` narrows the walk to names containing the text; pick the exact one.
    let existing = client
        .spaces()
        .iter(Some(SPACE))
        .find(|space| space.as_ref().map_or(true, |s| s.name == SPACE))
        .transpose()?;
    let (space, created) = match existing {
        Some(space) => (space, false),
        None => (client.spaces().create(SPACE)?, true),
    };
    println!(
        "space {} is {:?} ({})",
        space.id,
        space.name,
        if created { "created" } else { "found" }
    );

    let token = client.spaces().create_token(space.id, false)?;
    let as_space = client.with_api_token(&token.key)?;
    let me = as_space.whoami()?;
    println!(
        "token {} belongs to space {:?}; a space token: {}",
        token.id,
        me.space().map(|s| s.name.as_str()),
        me.is_space_token()
    );

    // A space's tokens are seen only by that space's tokens.
    as_space.tokens().delete(token.id)?;
    if created {
        client.spaces().delete(space.id)?;
    }
    Ok(())
}
