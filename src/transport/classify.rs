//! Classifying failures: what a ureq error means for the caller (a
//! timeout, a rejected certificate, a lost answer), and what an error
//! answer of the API says, read from its body.

use std::time::Duration;

use serde::Deserialize;

use crate::error::{ApiError, FieldError, TransportError, TransportErrorKind};
use crate::redact::Secrets;

impl TransportError {
    pub(crate) fn from_ureq(
        operation: &'static str,
        host: &str,
        url: &str,
        err: ureq::Error,
    ) -> Self {
        use ureq::Error as U;
        use ureq::Timeout as T;
        let (kind, reached) = match &err {
            U::Timeout(T::Resolve | T::Connect) => (TransportErrorKind::Timeout, false),
            U::Timeout(_) => (TransportErrorKind::Timeout, true),
            U::HostNotFound => (TransportErrorKind::Dns, false),
            U::ConnectionFailed | U::ConnectProxyFailed(_) => (TransportErrorKind::Connect, false),
            U::Rustls(tls) => (tls_kind(tls), false),
            U::Tls(_) | U::Pem(_) | U::TlsRequired => (TransportErrorKind::Tls, false),
            U::BodyExceedsLimit(_) | U::LargeResponseHeader(..) => {
                (TransportErrorKind::ResponseTooLarge, true)
            }
            U::Io(io) => match io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                Some(tls) => (tls_kind(tls), false),
                None => match io.kind() {
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                        (TransportErrorKind::Timeout, true)
                    }
                    std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::AddrNotAvailable => (TransportErrorKind::Connect, false),
                    _ => (TransportErrorKind::Connection, true),
                },
            },
            U::Protocol(_) | U::BodyStalled => (TransportErrorKind::Connection, true),
            _ => (TransportErrorKind::Other, true),
        };
        // These two carry the full URL in their text, and a URL can carry a key.
        let source = match err {
            U::BadUri(_) | U::RequireHttpsOnly(_) => None,
            other => Some(Box::new(other)),
        };
        TransportError {
            kind,
            reached,
            operation,
            host: host.into(),
            url: url.into(),
            source,
        }
    }

    /// A call given no time at all: a timeout, with nothing sent.
    pub(crate) fn out_of_time(operation: &'static str, host: &str, url: &str) -> Self {
        TransportError {
            kind: TransportErrorKind::Timeout,
            reached: false,
            operation,
            host: host.into(),
            url: url.into(),
            source: None,
        }
    }
}

fn tls_kind(err: &rustls::Error) -> TransportErrorKind {
    match err {
        rustls::Error::InvalidCertificate(_)
        | rustls::Error::InvalidCertRevocationList(_)
        | rustls::Error::NoCertificatesPresented => TransportErrorKind::Certificate,
        _ => TransportErrorKind::Tls,
    }
}

/// The wire form of the API's error body.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error_codes: Vec<i64>,
    message: String,
    #[serde(default)]
    fields: Vec<FieldError>,
}

impl ApiError {
    /// Decodes an error answer: the status, the raw body and the
    /// `Retry-After` wait, if the server sent one.
    ///
    /// Never fails: a body that is not the API's error body becomes a message
    /// naming the status with an excerpt of what came instead.
    ///
    /// ```
    /// let err = neuroio::ApiError::from_response(502, b"<html>Bad Gateway</html>", None);
    /// assert_eq!(err.status, 502);
    /// assert!(err.message.contains("Bad Gateway"));
    /// ```
    pub fn from_response(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        ApiError::from_answer(status, body, retry_after, &Secrets::default())
    }

    /// [`from_response`](Self::from_response), with every secret the request
    /// carried blanked out of each text taken from the body.
    pub(crate) fn from_answer(
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
        secrets: &Secrets<'_>,
    ) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(decoded) => ApiError {
                status,
                error_codes: decoded.error_codes,
                message: secrets.scrub(&decoded.message),
                fields: decoded
                    .fields
                    .into_iter()
                    .map(|f| FieldError {
                        name: secrets.scrub(&f.name),
                        message: secrets.scrub(&f.message),
                        error_code: f.error_code,
                    })
                    .collect(),
                retry_after,
                url: None,
            },
            Err(_) => {
                let message = if body.iter().all(u8::is_ascii_whitespace) {
                    format!("HTTP {status} with an empty body (likely from a proxy or gateway)")
                } else {
                    format!(
                        "HTTP {status} with a body that is not the API's JSON error: {:?}",
                        secrets.excerpt(body)
                    )
                };
                ApiError {
                    status,
                    error_codes: Vec::new(),
                    message,
                    fields: Vec::new(),
                    retry_after,
                    url: None,
                }
            }
        }
    }
}
