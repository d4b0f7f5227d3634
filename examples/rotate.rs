//! A batch job that keeps itself authenticated: before each batch it checks
//! how long its token has left and rotates to a fresh temporary token when
//! less than an hour remains.
//!
//! ```sh
//! cargo run -p neuroio-examples --bin rotate                        # against the simulator
//! NEUROIO_API_TOKEN=... cargo run -p neuroio-examples --bin rotate  # against a real account
//! ```
//!
//! Against the simulator the job starts with a temporary token and the
//! simulator's clock jumps 11.5 hours between batches, so rotation happens on
//! the third batch. Against a real account it runs three batches in a row
//! and rotates only if the token really is about to expire.

use std::process::ExitCode;
use std::time::Duration;

use neuroio::fake::FakeIam;
use neuroio::time::OffsetDateTime;
use neuroio::{Client, Token};

/// Rotate when the token has less than this left.
const ROTATE_WHEN_LEFT: Duration = Duration::from_secs(60 * 60);

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
    let simulator = match std::env::var_os("NEUROIO_API_TOKEN") {
        Some(_) => None,
        None => {
            let fake = FakeIam::start()?;
            println!(
                "NEUROIO_API_TOKEN is not set: using the offline simulator at {}.",
                fake.url()
            );
            Some(fake)
        }
    };
    let (client, key) = match &simulator {
        Some(fake) => {
            // The job starts with a temporary token, as a deployed job would.
            let root = Client::builder()
                .api_token(fake.root_token())
                .iam_url(fake.url())
                .build()?;
            let start = root.tokens().create(false)?;
            (root.with_api_token(&start.key)?, start.key)
        }
        None => {
            let key =
                neuroio::TokenKey::from(std::env::var("NEUROIO_API_TOKEN").unwrap_or_default());
            (Client::from_env()?, key)
        }
    };
    // The job looks its own token up by key to learn when it expires.
    let token = client.tokens().get(&key)?;
    let now = || {
        simulator
            .as_ref()
            .map_or_else(OffsetDateTime::now_utc, FakeIam::now)
    };
    let mut job = Job {
        client,
        token,
        // Offline, this example made the starting token; a real job's token
        // was handed to it and is not its to delete.
        minted_here: simulator.is_some(),
    };

    for batch in 1..=3 {
        job.rotate_if_needed(now())?;
        let seen = job.client.tokens().list(None, 100, 0)?.len();
        println!(
            "batch {batch}: done with token {} ({seen} token(s) visible)",
            job.token.id
        );
        if let Some(fake) = &simulator {
            fake.advance(Duration::from_secs(11 * 60 * 60 + 30 * 60));
        }
    }
    Ok(())
}

struct Job {
    client: Client,
    token: Token,
    /// Whether this job created `token`, and so may delete it.
    minted_here: bool,
}

impl Job {
    fn rotate_if_needed(&mut self, now: OffsetDateTime) -> neuroio::Result<()> {
        let Some(left) = self.token.expires_in_at(now) else {
            println!("token {} is permanent: no rotation needed", self.token.id);
            return Ok(());
        };
        if left >= ROTATE_WHEN_LEFT {
            println!(
                "token {} has {} min left: keeping it",
                self.token.id,
                left.as_secs() / 60
            );
            return Ok(());
        }
        println!(
            "token {} has {} min left: rotating",
            self.token.id,
            left.as_secs() / 60
        );
        let (client, token) = self.client.rotate()?;
        if self.minted_here {
            // The old token is still valid for a while; this job made it, so
            // remove it now and no forgotten credential lingers.
            client.tokens().delete(&self.token)?;
            println!(
                "rotated to token {}; deleted token {}",
                token.id, self.token.id
            );
        } else {
            // The job was handed this token: it is not the job's to delete.
            println!(
                "rotated to token {}; token {} was given to the job and is left alone",
                token.id, self.token.id
            );
        }
        self.client = client;
        self.token = token;
        self.minted_here = true;
        Ok(())
    }
}
