//! How a request that got no answer is classified: DNS, refused, a
//! rejected TLS certificate, a reset connection, a timeout; and whether a
//! create that failed so is an open outcome (only when something may have
//! reached the server).
//!
//! The TLS server uses `tests/support/fixtures/localhost.{cert,key}.pem`, a
//! self-signed certificate for `localhost` and `127.0.0.1` valid for 100
//! years, made with:
//!
//! ```text
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
//!   -keyout localhost.key.pem -out localhost.cert.pem -days 36500 \
//!   -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
//! ```

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{API_TOKEN, CountingServer};
use neuroio::{Client, Error, TransportErrorKind};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

const CERT: &[u8] = include_bytes!("../support/fixtures/localhost.cert.pem");
const KEY: &[u8] = include_bytes!("../support/fixtures/localhost.key.pem");

fn transport(err: &Error) -> &neuroio::TransportError {
    match err {
        Error::Transport(t) => t,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

fn client(url: String, retries: u32) -> Client {
    Client::builder()
        .api_token(API_TOKEN)
        .iam_url(url.clone())
        .api_url(url)
        .max_retries(retries)
        .retry_backoff(Duration::from_millis(1), Duration::from_millis(2))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[test]
fn classify_an_unresolvable_host_as_dns() {
    let client = Client::builder()
        .api_token(API_TOKEN)
        .iam_url("https://iam.example.invalid")
        .api_url("https://api.example.invalid")
        // With a proxy in the environment, the proxy would look the name up.
        .env_proxy(false)
        .max_retries(3)
        .build()
        .unwrap();

    let err = client.tokens().get(1).unwrap_err();
    let t = transport(&err);
    assert_eq!(t.kind(), TransportErrorKind::Dns);
    assert_eq!(t.operation(), "tokens.get");
    assert_eq!(t.host(), "iam.example.invalid");
    assert_eq!(t.url(), "https://iam.example.invalid/v1/tokens/1/");
    assert!(
        err.to_string().starts_with(
            "tokens.get: could not resolve host name iam.example.invalid for \
             https://iam.example.invalid/v1/tokens/1/ (DNS lookup failed)"
        ),
        "{err}"
    );
    assert_eq!(err.status(), None);
    assert!(!err.is_timeout());

    // Nothing was sent, so a create that failed so did not happen.
    for err in [
        client.tokens().create(true).unwrap_err(),
        client.stream_tokens().create(false).unwrap_err(),
    ] {
        assert!(!err.is_outcome_unknown(), "{err:?}");
        assert_eq!(transport(&err).kind(), TransportErrorKind::Dns);
    }
    let err = client.stream_tokens().create(false).unwrap_err();
    assert_eq!(transport(&err).host(), "api.example.invalid");
    assert_eq!(transport(&err).operation(), "stream_tokens.create");
    assert!(
        err.to_string().contains(
            "could not resolve host name api.example.invalid for \
                       https://api.example.invalid/v1/streams/tokens/ (DNS lookup failed)"
        ),
        "{err}"
    );
}

#[test]
fn classify_a_refused_connection_as_connect() {
    // Bind then drop a listener: the port is free and nothing answers there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = client(format!("http://127.0.0.1:{port}"), 0);

    for (err, path) in [
        (client.tokens().create(false).unwrap_err(), "/v1/tokens/"),
        (
            client.stream_tokens().create(true).unwrap_err(),
            "/v1/streams/tokens/",
        ),
        (
            client.stream_tokens().list(None, 20, 0).unwrap_err(),
            "/v1/streams/tokens/",
        ),
    ] {
        assert!(!err.is_outcome_unknown(), "{err:?}");
        let t = transport(&err);
        assert_eq!(t.kind(), TransportErrorKind::Connect, "{err:?}");
        assert_eq!(t.host(), "127.0.0.1");
        // The URL in full, port and path included; no query.
        let url = format!("http://127.0.0.1:{port}{path}");
        assert_eq!(t.url(), url);
        assert!(
            err.to_string()
                .contains(&format!("could not connect to {url} (refused")),
            "{err}"
        );
    }
    // A key in the path is not shown.
    let by_key = client.tokens().get("a-secret-key-value").unwrap_err();
    assert_eq!(
        transport(&by_key).url(),
        format!("http://127.0.0.1:{port}/v1/tokens/<key>/")
    );
    assert!(
        !by_key.to_string().contains("a-secret-key-value"),
        "{by_key}"
    );
}

/// A TLS server with the self-signed certificate, which this client does
/// not trust: every handshake fails on the client's side.
fn tls_server() -> CountingServer {
    let cert = CertificateDer::from_pem_slice(CERT).unwrap();
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let config = Arc::new(config);
    CountingServer::start(move |mut stream| {
        let mut conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
        // Runs until the client aborts the handshake.
        while conn.is_handshaking() {
            if conn.complete_io(&mut stream).is_err() {
                break;
            }
        }
    })
}

#[test]
fn classify_a_rejected_certificate_and_never_retry_it() {
    let server = tls_server();
    for host in ["127.0.0.1", "localhost"] {
        let client = client(format!("https://{host}:{}", server.port), 3);
        let before = server.accepted();

        let err = client.tokens().get(1).unwrap_err();

        // One handshake, although three retries were allowed.
        assert_eq!(server.accepted() - before, 1, "{host}");
        let t = transport(&err);
        assert_eq!(t.kind(), TransportErrorKind::Certificate, "{err:?}");
        assert_eq!(t.host(), host);
        assert!(
            err.to_string().starts_with(&format!(
                "tokens.get: the TLS certificate of {host} was rejected"
            )),
            "{err}"
        );
        assert!(!format!("{err} {err:?}").contains(API_TOKEN));

        let err = client.stream_tokens().create(false).unwrap_err();

        assert_eq!(server.accepted() - before, 2, "{host}");
        assert!(!err.is_outcome_unknown(), "{err:?}");
        assert_eq!(transport(&err).kind(), TransportErrorKind::Certificate);
    }
}

/// Reads a request head, then closes without answering.
fn closing_server() -> CountingServer {
    CountingServer::start(|mut stream| {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        let _ = stream.flush();
        drop(stream);
    })
}

#[test]
fn classify_a_closed_connection_as_connection() {
    let server = closing_server();
    let client = client(format!("http://127.0.0.1:{}", server.port), 0);

    let err = client.tokens().get(1).unwrap_err();

    assert_eq!(server.accepted(), 1);
    let t = transport(&err);
    assert_eq!(t.kind(), TransportErrorKind::Connection, "{err:?}");
    assert!(err.to_string().contains("reset or closed"), "{err}");

    // The request went out: a create may have happened.
    let err = client.stream_tokens().create(false).unwrap_err();
    assert_eq!(server.accepted(), 2);
    assert!(err.is_outcome_unknown(), "{err:?}");
    let Error::OutcomeUnknown { source, .. } = &err else {
        unreachable!()
    };
    assert_eq!(transport(source).kind(), TransportErrorKind::Connection);
}

#[test]
fn retry_a_closed_connection_for_a_read() {
    let server = closing_server();
    let client = client(format!("http://127.0.0.1:{}", server.port), 2);

    let err = client.stream_tokens().get(1).unwrap_err();

    assert_eq!(server.accepted(), 3);
    assert_eq!(transport(&err).kind(), TransportErrorKind::Connection);
}

#[test]
fn classify_a_silent_server_as_timeout() {
    // Accepted by the kernel, never answered.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = Client::builder()
        .api_token(API_TOKEN)
        .api_url(format!("http://{}", listener.local_addr().unwrap()))
        .timeout(Duration::from_millis(200))
        .max_retries(0)
        .build()
        .unwrap();

    let err = client.stream_tokens().get(1).unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(transport(&err).kind(), TransportErrorKind::Timeout);
    assert_eq!(transport(&err).operation(), "stream_tokens.get");

    let err = client.stream_tokens().create(true).unwrap_err();
    assert!(err.is_timeout() && err.is_outcome_unknown(), "{err:?}");
    drop(listener);
}
