//! The whole token lifecycle against a real (or simulated) IAM service.
//!
//! ```sh
//! NEUROIO_API_TOKEN=... cargo run -p neuroio-examples --bin tokens
//! NEUROIO_API_TOKEN=... NEUROIO_IAM_URL=http://127.0.0.1:8080 cargo run -p neuroio-examples --bin tokens
//! ```
//!
//! It creates one temporary token and deletes it again; it never touches the
//! account's other tokens.

use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::var_os("NEUROIO_API_TOKEN").is_none() {
        eprintln!(
            "NEUROIO_API_TOKEN is not set: export an account, space or manager token \
             (and NEUROIO_IAM_URL for another IAM address), then run this example again."
        );
        return ExitCode::from(2);
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> neuroio::Result<()> {
    let client = neuroio::Client::from_env()?;
    println!("IAM service: {}", client.iam_url());
    let rfc3339 = |at: neuroio::time::OffsetDateTime| {
        at.format(&neuroio::time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| at.to_string())
    };
    let tokens = client.tokens();

    let created = tokens.create(false)?;
    println!(
        "created temporary token {} (active: {}, expires: {})",
        created.id,
        created.is_active,
        created.expires.map_or_else(|| "never".to_owned(), rfc3339)
    );

    let page = tokens.list(Some(false), 20, 0)?;
    println!("first page of temporary tokens: {} token(s)", page.len());

    let by_id = tokens.get(created.id)?;
    let by_key = tokens.get(&created.key)?;
    println!("fetched by id and by key: same token = {}", by_id == by_key);

    let deactivated = tokens.update(&created, false)?;
    println!(
        "deactivated token {}: active = {}",
        deactivated.id, deactivated.is_active
    );

    tokens.delete(&created)?;
    println!("deleted token {}", created.id);

    match tokens.get(created.id) {
        Err(err) if err.is_not_found() => println!("token {} is gone (404)", created.id),
        Ok(_) => println!(
            "token {} still answers; the server may be eventually consistent",
            created.id
        ),
        Err(err) => return Err(err),
    }
    Ok(())
}
