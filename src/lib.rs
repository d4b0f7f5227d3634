//! A blocking Rust client for the [NeuroIO](https://neuroio.com) Tokens API.
//!
//! Create, list, inspect, deactivate and delete the API tokens of a NeuroIO
//! account, space or manager, from scripts, command-line tools and batch
//! jobs, with no async runtime.
//!
//! ```no_run
//! # fn main() -> neuroio::Result<()> {
//! let client = neuroio::Client::new("my-api-token")?;
//! let token = client.tokens().create(false)?; // a temporary token, 24 hours
//! println!("token {} expires at {:?}", token.id, token.expires);
//! # Ok(())
//! # }
//! ```
//!
//! # The operations
//!
//! [`Client::tokens`] hands out [`Tokens`], with one method per operation of
//! the API:
//!
//! | method | request |
//! |---|---|
//! | [`create(permanent)`](Tokens::create) | `POST /v1/tokens/` |
//! | [`list(permanent, limit, offset)`](Tokens::list) | `GET /v1/tokens/?limit=&offset=[&permanent=]` |
//! | [`get(id_or_key)`](Tokens::get) | `GET /v1/tokens/<id-or-key>/` |
//! | [`update(id_or_key, is_active)`](Tokens::update) | `PATCH /v1/tokens/<id-or-key>/` |
//! | [`delete(id_or_key)`](Tokens::delete) | `DELETE /v1/tokens/<id-or-key>/` |
//! | [`delete_list(permanent)`](Tokens::delete_list) | `DELETE /v1/tokens/[?permanent=]` |
//!
//! A token is named by a [`TokenRef`]: an integer id, a key (`&str` or
//! `String`), or a [`&Token`](Token). Keys are percent-encoded into exactly
//! one path segment, and references that could reach another endpoint (an
//! empty key, `.`, `..`, a negative id) are refused before anything is sent.
//!
//! ```no_run
//! # fn main() -> neuroio::Result<()> {
//! # let client = neuroio::Client::new("my-api-token")?;
//! let tokens = client.tokens();
//! let permanent = tokens.create(true)?;
//! let same = tokens.get(&permanent)?;            // by id, from the token
//! let same = tokens.get(&permanent.key)?;        // by key
//! tokens.update(permanent.id, false)?;           // deactivate
//! tokens.delete(permanent.id)?;
//! # Ok(())
//! # }
//! ```
//!
//! # Retries, timeouts and pagination
//!
//! Idempotent calls are retried after passing failures (a failed or lost
//! connection, a timeout, 429, 502, 503, 504), with backoff and full jitter,
//! honouring `Retry-After`; see [`ClientBuilder::max_retries`]. **`create`
//! is never retried**: a lost answer may already have created a token, so
//! an open outcome is reported as [`Error::OutcomeUnknown`] instead (see
//! [`Tokens::create`] for how to recover). Every attempt is bounded by
//! [`ClientBuilder::timeout`].
//!
//! [`Tokens::iter`] walks every token one page at a time, and
//! [`Client::rotate`] switches a client to a fresh temporary token.
//!
//! # Errors
//!
//! Every call returns [`Result`]. An [`Error`] tells apart an answer from the
//! API ([`Error::Api`], with the API's message and field errors), a request
//! that never got an answer ([`Error::Transport`]), a server that broke the
//! contract ([`Error::UnexpectedResponse`]) and a configuration mistake
//! ([`Error::Config`]).
//!
//! ```no_run
//! # fn main() -> neuroio::Result<()> {
//! # let client = neuroio::Client::new("my-api-token")?;
//! match client.tokens().create(true) {
//!     Ok(token) => println!("created {}", token.id),
//!     Err(neuroio::Error::Api(api)) if api.status == 400 => {
//!         // e.g. the account already holds 5 permanent tokens
//!         eprintln!("refused: {}", api.message);
//!     }
//!     Err(err) if err.is_unauthorized() => eprintln!("check NEUROIO_API_TOKEN"),
//!     Err(err) => return Err(err),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Configuration
//!
//! [`Client::builder`] sets the IAM URL (default
//! `https://iam.neuroio.com`, a path prefix is kept), the timeout of a whole
//! request (default 30 s) and of connecting, and the largest answer read.
//! [`Client::from_env`] reads `NEUROIO_API_TOKEN` and `NEUROIO_IAM_URL`.
//! Proxies come from the usual environment variables (`HTTPS_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`, ...). TLS uses rustls with the Mozilla root
//! certificates.
//!
//! An `http://` URL is accepted only for loopback hosts unless
//! [`ClientBuilder::allow_insecure_http`] says otherwise, so a token never
//! travels in clear text by accident. Redirects are not followed.
//!
//! # Secrets
//!
//! The API token and every token's key stay out of `Debug` output, error
//! messages and log lines: [`Client`], [`ClientBuilder`], [`Token`] and
//! [`TokenRef`] print `[redacted]` in their place.
//!
//! # Logging
//!
//! Each attempt is logged through the [`log`](https://docs.rs/log) facade at
//! `debug` level: method, path (with a key shown as `<key>`), attempt,
//! status and elapsed time. ureq's own `debug` lines redact paths and
//! credentials as well, but its `trace` level dumps the raw bytes on the
//! wire, credentials included: keep `trace` off for the `ureq` and
//! `ureq_proto` targets outside a debugging session.
//!
//! # The offline simulator
//!
//! Feature `fake` adds [`fake::FakeIam`]: a stateful simulator of the Tokens
//! API on a loopback port, for your own tests and for trying the crate with
//! no account. `cargo run --example quickstart` runs a tour against it.
//!
//! # Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `fake` | no | [`fake::FakeIam`], the offline simulator |
//! | `cli` | no | the `neuroio` command-line tool (and `fake`) |
//!
//! # Blocking
//!
//! Every call blocks its thread until the answer is read. From async code,
//! run calls with your runtime's `spawn_blocking`.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// The client and how it is configured.
mod client;
mod config;
// The one request path, and what it relies on.
mod redact;
mod renewing;
mod request;
mod resolver;
mod retry;
// Types: errors, models, secrets, references.
mod error;
mod model;
mod secret;
mod token_ref;
// Resources: one file each.
mod auth;
mod pagination;
mod spaces;
mod tokens;
mod whoami;
// Optional parts.
#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;

pub use auth::Auth;
/// The `time` crate, whose `OffsetDateTime` is the type of
/// [`Token::created`] and [`Token::expires`]: use it through this
/// re-export and your version always matches.
///
/// ```
/// let an_hour_ago = neuroio::time::OffsetDateTime::now_utc() - neuroio::time::Duration::hours(1);
/// ```
pub use time;

pub use client::Client;
pub use config::{
    ClientBuilder, DEFAULT_API_URL, DEFAULT_IAM_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT,
};
pub use error::{
    ApiError, ConfigError, DecodeError, Error, FieldError, TransportError, TransportErrorKind,
};
pub use model::{Login, Space, Token, User, Whoami};
pub use pagination::{DEFAULT_PAGE_SIZE, TokenIter};
pub use secret::{Password, TokenKey};
pub use spaces::Spaces;
pub use token_ref::TokenRef;
#[doc(hidden)]
pub use tokens::__decode_for_fuzzing;
pub use tokens::Tokens;

/// The result of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Compiles the README's examples as doctests, so they cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
