//! The resources: one file each, describing requests and decoding answers,
//! and the page walker that every offset-paged list shares.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod pages;
pub(crate) mod spaces;
pub(crate) mod tokens;
pub(crate) mod whoami;
