//! Tests against the offline simulator (`neuroio::fake`): its rules, its
//! HTTP layer, and the client's retries, pagination and key handling
//! against it.

#[path = "../support/mod.rs"]
mod support;

mod abuse;
mod audit;
mod connections;
mod fake_rules;
mod fake_server;
mod family_sdk;
mod pagination;
mod renewal_bounds;
mod renewing;
mod retries;
mod scripted;
mod security;
mod soak;
mod spaces;
mod token_family;
mod token_file;
