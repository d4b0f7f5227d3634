//! `neuroio fake-server`: the simulator in the foreground.

use std::io::{self, Write};
use std::time::Duration;

use neuroio::fake::FakeIam;

use clap::Args;

use crate::failure::Failure;
use crate::output::write_stdout;

const FAKE_SERVER_EXIT_CODES: &str = "\
Exit codes:
  0  stopped by Ctrl-C or SIGTERM
  1  the simulator failed
  2  the port cannot be used (taken, or not allowed)";

/// `neuroio fake-server`.
#[derive(Debug, Args)]
#[command(after_help = FAKE_SERVER_EXIT_CODES)]
pub struct FakeServerArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// How long new temporary tokens live, in seconds [default: 86400].
    #[arg(long, value_name = "SECONDS", value_parser = parse_lifetime)]
    temporary_lifetime: Option<Duration>,
}

impl FakeServerArgs {
    /// `neuroio fake-server`.
    pub fn run(self) -> Result<(), Failure> {
        fake_server(self.port, self.temporary_lifetime)
    }
}

fn parse_lifetime(raw: &str) -> Result<Duration, String> {
    let seconds: f64 = raw
        .parse()
        .map_err(|_| format!("{raw:?} is not a number of seconds"))?;
    match Duration::try_from_secs_f64(seconds) {
        Ok(lifetime) if !lifetime.is_zero() => Ok(lifetime),
        _ => Err("give a number of seconds above 0".to_owned()),
    }
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
         export NEUROIO_IAM_URL={url} NEUROIO_API_URL={url} NEUROIO_API_TOKEN={token}\n\
         or log in once into a profile of its own (password {password}), and make it the \
         current one:\n  \
         neuroio login --profile fake --username {user} --iam-url {url} --api-url {url}\n  \
         neuroio auth switch fake",
        url = fake.url(),
        token = fake.root_token(),
        user = fake.root_username(),
        password = fake.root_password(),
    );
    let _ = stop_rx.recv();
    fake.shutdown();
    let _ = writeln!(io::stderr(), "simulator stopped");
    Ok(())
}
