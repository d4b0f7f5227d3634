// The crate's manual is the README: one source for docs.rs and the
// repository, with every Rust block in it compiled as a doctest.
#![doc = include_str!("../README.md")]
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
