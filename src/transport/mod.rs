//! The transport: the one request path every call goes through, with its
//! retry policy, the classification of failures, the redaction of secrets and
//! the resolver. It sends the `Authorization` header it is handed and knows
//! nothing of where that came from, of the client, or of the resources.

use std::time::Duration;

pub(crate) mod classify;
pub(crate) mod connect;
pub(crate) mod request;
pub(crate) mod resolver;
pub(crate) mod retry;

/// Which service a request goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Host {
    /// `iam.neuroio.com`: tokens, log in, passwords, who am I, spaces.
    Iam,
    /// `api.neuroio.com`: stream tokens.
    Api,
}

/// A checked base URL: what was configured, and what requests start with.
#[derive(Clone, Debug)]
pub(crate) struct BaseUrl {
    /// As the user gave it, for [`Client::iam_url`](crate::Client::iam_url)
    /// and friends.
    pub(crate) configured: String,
    /// `<scheme>://<authority><prefix>`, without a trailing slash.
    pub(crate) prefix: String,
    /// The host, for error messages.
    pub(crate) host: String,
    /// Whether the host is this machine, so no proxy may carry the request.
    pub(crate) loopback: bool,
    /// Whether requests must be told not to use the agent's proxy: a
    /// loopback host on an agent that has one for the other host.
    pub(crate) bypass_proxy: bool,
}

impl BaseUrl {
    pub(crate) fn host(&self) -> &str {
        &self.host
    }
}

/// Settings kept by the client after `build`, shared by clients derived
/// from it.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) max_response_bytes: u64,
    pub(crate) allow_insecure_http: bool,
    pub(crate) max_retries: u32,
    pub(crate) backoff_initial: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) max_retry_after: Duration,
    pub(crate) env_proxy: bool,
    pub(crate) max_idle_per_host: usize,
}

/// The one connection pool, the two base URLs and the settings: everything
/// a request needs but its `Authorization` header.
#[derive(Clone)]
pub(crate) struct Transport {
    pub(crate) agent: ureq::Agent,
    pub(crate) iam: BaseUrl,
    pub(crate) api: BaseUrl,
    pub(crate) settings: Settings,
}

impl Transport {
    /// The base of `host`'s URLs.
    pub(crate) fn base(&self, host: Host) -> &BaseUrl {
        match host {
            Host::Iam => &self.iam,
            Host::Api => &self.api,
        }
    }
}
