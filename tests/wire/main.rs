//! Wire tests: every call against a `mockito` server (or a hand-made fault
//! server), matching the exact request and asserting every field of the
//! answer. One module per operation or concern.

#[path = "../support/mod.rs"]
mod support;

mod config;
mod create;
mod delete;
mod errors;
mod family;
mod get;
mod hardening;
mod list;
mod spaces;
mod stream_tokens;
mod timeouts;
mod token_file;
mod transport;
mod update;
