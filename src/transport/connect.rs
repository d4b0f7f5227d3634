//! Connecting: the checked base URLs, and the one agent (TLS, proxies,
//! timeouts, the pool of idle connections) that every request of a client
//! and its clones goes through.

use std::net::IpAddr;

use ureq::http;

use super::{BaseUrl, Settings, Transport};
use crate::error::{ConfigError, Error};

const USER_AGENT: &str = concat!("neuroio-rust/", env!("CARGO_PKG_VERSION"));

impl Transport {
    /// Checks both base URLs and makes the agent that serves them.
    pub(crate) fn connect(
        settings: &Settings,
        iam_url: &str,
        api_url: &str,
    ) -> Result<Transport, Error> {
        let allow = settings.allow_insecure_http;
        let mut iam = base_url("IAM URL", iam_url, allow)?;
        let mut api = base_url("API URL", api_url, allow)?;
        let direct = !settings.env_proxy || (iam.loopback && api.loopback);
        if !direct && ureq::Proxy::try_from_env().is_some() {
            iam.bypass_proxy = iam.loopback;
            api.bypass_proxy = api.loopback;
        }
        Ok(Transport {
            agent: new_agent(settings, direct),
            iam,
            api,
            settings: settings.clone(),
        })
    }
}

/// The agent every request goes through. Environment proxies apply unless
/// the connection is `direct`: every host is this machine's (then a proxy
/// would see the token in clear text, and resolve "localhost" on its own
/// machine), or the user turned them off.
fn new_agent(settings: &Settings, direct: bool) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        // Error answers carry the API's error body; read it rather than
        // letting ureq turn the status into a bodiless error.
        .http_status_as_error(false)
        // A redirect could carry the Authorization header elsewhere.
        .max_redirects(0)
        .timeout_global(Some(settings.timeout))
        .timeout_connect(settings.connect_timeout)
        .user_agent(USER_AGENT)
        .accept("application/json")
        .max_idle_connections(settings.max_idle_per_host.saturating_mul(2))
        .max_idle_connections_per_host(settings.max_idle_per_host);
    if direct {
        config = config.proxy(None);
    }
    #[cfg(feature = "platform-verifier")]
    {
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                .build(),
        );
    }
    ureq::Agent::with_parts(
        config.build(),
        ureq::unversioned::transport::DefaultConnector::default(),
        crate::transport::resolver::ClientResolver::default(),
    )
}

/// A URL as it may be shown: one with credentials in it is not.
pub(crate) fn shown_url(raw: &str) -> String {
    if raw.contains('@') {
        "[URL with credentials, not shown]".to_owned()
    } else {
        raw.to_owned()
    }
}

/// Validates a base URL (`setting` names it in errors).
pub(crate) fn base_url(
    setting: &'static str,
    raw: &str,
    allow_insecure_http: bool,
) -> Result<BaseUrl, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidUrl {
        setting,
        url: shown_url(raw),
        reason: reason.to_owned(),
    };
    if raw.contains('#') {
        return Err(invalid(
            "remove the fragment (#...); give the base URL only",
        ));
    }
    let uri: http::Uri = raw
        .parse()
        .map_err(|_| invalid("not a URL; expected something like https://iam.neuroio.com"))?;
    let scheme = match uri.scheme_str() {
        Some("https") => "https",
        Some("http") => "http",
        Some(_) => return Err(invalid("the scheme must be http or https")),
        None => return Err(invalid("missing scheme; start the URL with https://")),
    };
    let authority = uri.authority().ok_or_else(|| invalid("missing host"))?;
    if authority.as_str().contains('@') {
        return Err(invalid(
            "remove the user name and password; the API token is the only credential",
        ));
    }
    if uri.query().is_some() {
        return Err(invalid("remove the query (?...); give the base URL only"));
    }
    let loopback = is_loopback(authority.host());
    if scheme == "http" && !allow_insecure_http && !loopback {
        return Err(ConfigError::InsecureUrl {
            setting,
            url: shown_url(raw),
        });
    }
    let prefix = uri.path().trim_end_matches('/');
    Ok(BaseUrl {
        configured: raw.to_owned(),
        prefix: format!("{scheme}://{authority}{prefix}"),
        host: authority.host().to_owned(),
        loopback,
        bypass_proxy: false,
    })
}

/// Whether `host` is this machine: `localhost`, `127.0.0.0/8` or `::1`.
pub(crate) fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_keeps_prefix_and_drops_trailing_slash() {
        let prefix = |raw| base_url("IAM URL", raw, false).unwrap().prefix;
        assert_eq!(
            prefix("https://gateway.example/iam/"),
            "https://gateway.example/iam"
        );
        assert_eq!(prefix("https://iam.neuroio.com"), "https://iam.neuroio.com");
        assert_eq!(prefix("http://[::1]:9000/"), "http://[::1]:9000");
    }

    #[test]
    fn trust_store_follows_the_feature() {
        let agent = new_agent(&crate::ClientBuilder::default().settings, false);
        let roots = agent.config().tls_config().root_certs();
        if cfg!(feature = "platform-verifier") {
            assert!(
                matches!(roots, ureq::tls::RootCerts::PlatformVerifier),
                "{roots:?}"
            );
        } else {
            assert!(matches!(roots, ureq::tls::RootCerts::WebPki), "{roots:?}");
        }
    }

    #[test]
    fn the_idle_pool_follows_the_setting() {
        let mut settings = crate::ClientBuilder::default().settings;
        assert_eq!(settings.max_idle_per_host, 16);
        let agent = new_agent(&settings, true);
        assert_eq!(agent.config().max_idle_connections_per_host(), 16);
        assert_eq!(agent.config().max_idle_connections(), 32);
        settings.max_idle_per_host = 64;
        let agent = new_agent(&settings, true);
        assert_eq!(agent.config().max_idle_connections_per_host(), 64);
        assert_eq!(agent.config().max_idle_connections(), 128);
        let refused = crate::Client::builder()
            .api_token("my-api-token")
            .max_idle_connections_per_host(0)
            .build()
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "invalid setting max_idle_connections_per_host: 0 would open a new connection for \
             every call; give at least 1"
        );
    }

    #[test]
    fn loopback_hosts() {
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "127.8.9.10", "[::1]"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["10.0.0.1", "example.com", "[::2]", "localhost.example"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
