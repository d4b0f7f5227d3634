//! Host resolution without a thread per call.
//!
//! ureq resolves the host before every request, pooled connection or not,
//! and when any timeout is set its default resolver runs the lookup on a new
//! thread so that the timeout can interrupt it. With the timeout this crate
//! always sets, that was a thread spawned for every call (75 to 80 µs of a
//! 115 µs loopback call, measured pinned to one CPU; see benches/README.md).
//! This
//! resolver answers IP literals directly and remembers a host name's
//! addresses for a few seconds; only a real lookup goes to ureq's default
//! resolver, with its timeout.

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long looked-up addresses are reused. Addresses are only needed to open
/// a connection, so this is short: a burst of calls costs one lookup, and a
/// DNS change is seen within seconds.
const LOOKUP_TTL: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub(crate) struct ClientResolver {
    lookup: DefaultResolver,
    last: Mutex<Option<Lookup>>,
}

#[derive(Debug)]
struct Lookup {
    host: String,
    port: u16,
    addrs: ResolvedSocketAddrs,
    at: Instant,
}

impl Resolver for ClientResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(host), Some(port)) = (uri.host(), port_of(uri)) else {
            return self.lookup.resolve(uri, config, timeout);
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        if is_reserved_invalid(host) {
            return Err(ureq::Error::HostNotFound);
        }
        if let Ok(last) = self.last.lock()
            && let Some(hit) = last.as_ref()
            && hit.port == port
            && hit.host == host
            && hit.at.elapsed() < LOOKUP_TTL
        {
            return Ok(hit.addrs.clone());
        }
        // A failed lookup comes back as an I/O error from the system's
        // resolver; say what it is, so the caller is told to check the name.
        let addrs = self
            .lookup
            .resolve(uri, config, timeout)
            .map_err(|err| match err {
                ureq::Error::Io(_) => ureq::Error::HostNotFound,
                other => other,
            })?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some(Lookup {
                host: host.to_owned(),
                port,
                addrs: addrs.clone(),
                at: Instant::now(),
            });
        }
        Ok(addrs)
    }
}

/// Names under `.invalid` never resolve (RFC 6761, section 6.4), so they
/// are answered here without asking a DNS server.
fn is_reserved_invalid(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case("invalid")
        || host
            .len()
            .checked_sub(".invalid".len())
            .and_then(|at| host.get(at..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(".invalid"))
}

fn port_of(uri: &Uri) -> Option<u16> {
    uri.port_u16().or(match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(resolver: &ClientResolver, uri: &str) -> Vec<SocketAddr> {
        let config = Config::builder().build();
        let uri: Uri = uri.parse().unwrap();
        resolver
            .resolve(&uri, &config, NextTimeout::default())
            .unwrap()
            .to_vec()
    }

    #[test]
    fn ip_literals_need_no_lookup() {
        let resolver = ClientResolver::default();
        assert_eq!(
            resolve(&resolver, "http://127.0.0.1:8080/v1/tokens/"),
            ["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            resolve(&resolver, "https://[::1]/v1/"),
            ["[::1]:443".parse::<SocketAddr>().unwrap()]
        );
        assert!(resolver.last.lock().unwrap().is_none());
    }

    #[test]
    fn invalid_names_fail_without_a_lookup() {
        let resolver = ClientResolver::default();
        let config = Config::builder().build();
        for uri in [
            "https://iam.example.invalid/",
            "http://INVALID./",
            "https://a.b.Invalid:8443/",
        ] {
            let uri: Uri = uri.parse().unwrap();
            let err = resolver
                .resolve(&uri, &config, NextTimeout::default())
                .unwrap_err();
            assert!(matches!(err, ureq::Error::HostNotFound), "{uri}: {err}");
        }
        assert!(!is_reserved_invalid("invalid.example.com"));
        assert!(resolver.last.lock().unwrap().is_none());
    }

    #[test]
    fn host_names_are_looked_up_once_then_reused() {
        let resolver = ClientResolver::default();
        let first = resolve(&resolver, "http://localhost:9/");
        assert!(first.iter().all(|a| a.ip().is_loopback() && a.port() == 9));
        let at = resolver.last.lock().unwrap().as_ref().unwrap().at;
        let second = resolve(&resolver, "http://localhost:9/other");
        assert_eq!(first, second);
        assert_eq!(resolver.last.lock().unwrap().as_ref().unwrap().at, at);
        // Another port is another lookup.
        let other = resolve(&resolver, "http://localhost:10/");
        assert!(other.iter().all(|a| a.port() == 10));
    }
}
