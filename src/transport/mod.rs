//! The transport: the one request path every call goes through, with its
//! retry policy, the classification of failures, the redaction of secrets and
//! the resolver. It knows the header it is handed, nothing of the client's
//! credentials or of the resources.

pub(crate) mod redact;
pub(crate) mod request;
pub(crate) mod resolver;
pub(crate) mod retry;
