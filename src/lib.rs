// The crate's manual, written for docs.rs, lives in docs/manual.md; every
// Rust block in it is compiled as a doctest, with warnings denied. The
// README (the repository's page) shares its examples with it, which
// tests/readme.rs checks.
#![doc = include_str!("../docs/manual.md")]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Types: errors, models, secrets and their redaction, references. They
// import nothing above them.
mod error;
mod model;
mod redact;
mod secret;
mod token_ref;
// The one request path: request, retry, classification, redaction, resolver.
mod transport;
// What calls are sent with: a fixed token, a token file, or a renewing one.
mod credentials;
// The client, its configuration, and the short call that joins the layers.
mod client;
mod config;
// Resources: one file each, and the page walker they share.
mod api;
// The decoders over arbitrary bytes, for the fuzz target.
mod fuzzing;
// Optional parts.
#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;

pub use api::audit::{
    AuditPolicy, AuditReport, AuditedCollection, DEFAULT_MAX_AGE, Finding, FindingCode,
    MAX_AUDITED_TOKENS, PERMANENT_TOKEN_LIMIT, PermanentToken,
};
pub use api::auth::Auth;
/// The `time` crate, whose `OffsetDateTime` is the type of
/// [`Token::created`] and [`Token::expires`]: use it through this
/// re-export and your version always matches.
///
/// ```
/// let an_hour_ago = neuroio::time::OffsetDateTime::now_utc() - neuroio::time::Duration::hours(1);
/// # let _ = an_hour_ago;
/// ```
pub use time;

pub use api::pages::{
    DEFAULT_MAX_WALK_ITEMS, DEFAULT_MAX_WALK_RESTARTS, DEFAULT_PAGE_SIZE, PageIter, TokenIter,
};
pub use api::spaces::Spaces;
pub use api::tokens::Tokens;
pub use client::Client;
pub use config::{
    ClientBuilder, DEFAULT_API_URL, DEFAULT_IAM_URL, DEFAULT_MAX_IDLE_CONNECTIONS_PER_HOST,
    DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT,
};
pub use credentials::profile::{
    CREDENTIALS_FILE, DEFAULT_PROFILE, MAX_CREDENTIALS_BYTES, Profile, ProfileError, Profiles,
};
pub use error::{
    ApiError, ConfigError, DecodeError, Error, FieldError, MAX_TOKEN_FILE_BYTES, RenewalError,
    Result, TokenFileErrorKind, TransportError, TransportErrorKind,
};
#[doc(hidden)]
pub use fuzzing::__decode_for_fuzzing;
pub use model::{Login, Space, Token, User, Whoami};
pub use secret::{Password, TokenKey};
pub use token_ref::TokenRef;
