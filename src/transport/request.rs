//! The one request path: every call of every resource is described as a
//! [`Request`] and goes through [`Transport::send`], which builds the URL,
//! sends, retries when that is safe, classifies the answer, scrubs what it
//! quotes of secrets, and logs each attempt with keys replaced by a
//! placeholder. The `Authorization` header is handed in by the caller, with
//! the keys to blank out of answers; nothing here knows where it came from.
//!
//! A resource handler only describes its requests and decodes its answers.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use ureq::http::{self, HeaderValue, Method};

use crate::error::{ApiError, Error, TransportError};
use crate::redact::Secrets;
/// The path segment naming one item is a type of the lowest layer.
pub(crate) use crate::token_ref::Segment;
use crate::transport::retry::{parse_retry_after, retry_wait};
use crate::transport::{Host, Transport};

/// Whether a request may be sent more than once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Sending it twice does no more than sending it once: reads, updates,
    /// deleting many. Retried after passing failures.
    Safe,
    /// Deleting one item: retried, and a 404 after an attempt that got no
    /// answer means that attempt did the work.
    SafeGoneIfMissing,
    /// It mints or changes a credential: sent exactly once, and a failure
    /// that may have reached the server is an open outcome.
    Never,
}

/// One call to the API, as a resource handler describes it.
#[derive(Clone)]
pub(crate) struct Request<'a> {
    method: Method,
    /// The SDK operation, for logs and errors (`tokens.get`).
    operation: &'static str,
    host: Host,
    /// The collection's path, with its trailing slash: `/v1/tokens/`.
    path: &'static str,
    /// The item, which follows `path` as `<segment>/`.
    segment: Option<Segment>,
    /// What follows the item: `tokens/` in `/v1/spaces/<id>/tokens/`.
    tail: &'static str,
    query: Option<&'a str>,
    /// A JSON body.
    body: Option<&'a [u8]>,
    repeat: Repeat,
    /// Whether to send the client's `Authorization` header (not to log in).
    authenticated: bool,
    /// Secrets in the body (passwords), to scrub from any answer.
    secrets: Secrets<'a>,
    /// A shorter limit for this request than the client's timeout.
    timeout: Option<Duration>,
}

impl<'a> Request<'a> {
    pub(crate) fn new(
        method: Method,
        operation: &'static str,
        host: Host,
        path: &'static str,
        repeat: Repeat,
    ) -> Self {
        Request {
            method,
            operation,
            host,
            path,
            segment: None,
            tail: "",
            query: None,
            body: None,
            repeat,
            authenticated: true,
            secrets: Secrets::default(),
            timeout: None,
        }
    }

    /// Bounds this request by `timeout` instead of the client's, in one
    /// attempt: the whole call ends within it.
    pub(crate) fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    pub(crate) fn segment(mut self, segment: Segment) -> Self {
        self.segment = Some(segment);
        self
    }

    pub(crate) fn tail(mut self, tail: &'static str) -> Self {
        self.tail = tail;
        self
    }

    pub(crate) fn query(mut self, query: Option<&'a str>) -> Self {
        self.query = query;
        self
    }

    pub(crate) fn json(mut self, body: &'a [u8]) -> Self {
        self.body = Some(body);
        self
    }

    /// Sends no `Authorization` header.
    pub(crate) fn anonymous(mut self) -> Self {
        self.authenticated = false;
        self
    }

    /// A password the body carries, to blank out of any text of the answer.
    pub(crate) fn password(mut self, password: &'a str) -> Self {
        self.secrets = self.secrets.with_password(password);
        self
    }

    /// Which host the request goes to.
    pub(crate) fn host(&self) -> Host {
        self.host
    }

    /// Whether the request carries the client's `Authorization` header.
    pub(crate) fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// The path for logs, with a key replaced by a placeholder.
    fn route(&self) -> String {
        let mut route = self.path.to_owned();
        match &self.segment {
            None => {}
            Some(Segment::Id(id)) => {
                let _ = write!(route, "{id}/");
            }
            Some(Segment::Key { .. }) => route.push_str("<key>/"),
        }
        route.push_str(self.tail);
        route
    }
}

/// A successful answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

/// The `Authorization` header to send and the keys the caller may send
/// (blanked out of anything quoted from an answer); shorter than four
/// characters is not searched for, so `""` fills an unused place.
#[derive(Clone, Copy)]
pub(crate) struct AuthHeader<'a> {
    pub(crate) header: &'a HeaderValue,
    pub(crate) keys: [&'a str; 2],
}

impl Transport {
    /// Decodes a successful answer with `decode`.
    ///
    /// For a request that is never repeated, a body that cannot be decoded
    /// is an open outcome like a lost answer: the server said it succeeded.
    pub(crate) fn decode<T>(
        &self,
        request: &Request<'_>,
        auth: Option<AuthHeader<'_>>,
        answer: &Answer,
        decode: impl FnOnce(&[u8]) -> Result<T, serde_json::Error>,
    ) -> crate::Result<T> {
        decode(&answer.body).map_err(|source| {
            let err = Error::undecodable(
                request.operation,
                answer.status,
                &answer.body,
                &source,
                &secrets_of(request, auth),
            );
            match request.repeat {
                Repeat::Never => Error::outcome_unknown_if_so(request.operation, err),
                Repeat::Safe | Repeat::SafeGoneIfMissing => err,
            }
        })
    }

    /// Sends `request` with `auth` and decodes the JSON of a successful
    /// answer.
    pub(crate) fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: &Request<'_>,
        auth: Option<AuthHeader<'_>>,
    ) -> crate::Result<T> {
        let answer = self.send(request, auth)?;
        self.decode(request, auth, &answer, |body| serde_json::from_slice(body))
    }

    /// Sends a request, retrying it when that is safe, and returns the
    /// status and body of a successful answer; an answer of 400 or more
    /// becomes [`Error::Api`]. `auth` is sent on every attempt.
    pub(crate) fn send(
        &self,
        request: &Request<'_>,
        auth: Option<AuthHeader<'_>>,
    ) -> crate::Result<Answer> {
        let settings = &self.settings;
        let attempts = match request.repeat {
            _ if request.timeout.is_some() => 1,
            Repeat::Never => 1,
            Repeat::Safe | Repeat::SafeGoneIfMissing => settings.max_retries.saturating_add(1),
        };
        let mut attempt = 1;
        let mut unanswered_before = false;
        loop {
            let err = match self.attempt(request, auth, attempt, attempts) {
                Ok(answer) => return Ok(answer),
                Err(err) => err,
            };
            if request.repeat == Repeat::SafeGoneIfMissing
                && unanswered_before
                && err.is_not_found()
            {
                log::debug!(
                    "{} {}: 404 after an unanswered attempt, so it was already done",
                    request.method,
                    request.route()
                );
                return Ok(Answer {
                    status: 404,
                    body: Vec::new(),
                });
            }
            if request.repeat == Repeat::Never {
                return Err(Error::outcome_unknown_if_so(request.operation, err));
            }
            if attempt >= attempts {
                return Err(err);
            }
            let Some(wait) = retry_wait(&err, attempt, settings) else {
                return Err(err);
            };
            unanswered_before |= err.answer_lost();
            log::debug!(
                "{} {}: retrying in {wait:?} after: {err}",
                request.method,
                shown_url(&self.base(request.host).prefix, request)
            );
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// One attempt of a request, logged: send, read, classify.
    fn attempt(
        &self,
        request: &Request<'_>,
        auth: Option<AuthHeader<'_>>,
        attempt: u32,
        attempts: u32,
    ) -> crate::Result<Answer> {
        let started = Instant::now();
        let exchanged = self.exchange(request, auth.map(|a| a.header));
        let elapsed = started.elapsed();
        if log::log_enabled!(log::Level::Debug) {
            // The whole URL, with a key in the path shown as `<key>`.
            let url = shown_url(&self.base(request.host).prefix, request);
            match &exchanged {
                Ok((status, _, _)) => log::debug!(
                    "{} {url} attempt {attempt}/{attempts}: {status} in {elapsed:?}",
                    request.method,
                ),
                Err(err) => log::debug!(
                    "{} {url} attempt {attempt}/{attempts}: no answer after {elapsed:?}: {err}",
                    request.method,
                ),
            }
        }
        let (status, body, retry_after) = exchanged?;
        if (200..300).contains(&status) {
            return Ok(Answer { status, body });
        }
        classify(status, body, retry_after, &secrets_of(request, auth)).map_err(|err| match err {
            Error::Api(refused) => {
                let base = self.base(request.host);
                Error::Api(refused.at(shown_url(&base.prefix, request)))
            }
            other => other,
        })
    }

    /// Sends the request and reads the whole answer: status, body and any
    /// `Retry-After` wait.
    fn exchange(
        &self,
        request: &Request<'_>,
        authorization: Option<&HeaderValue>,
    ) -> crate::Result<(u16, Vec<u8>, Option<Duration>)> {
        let base = self.base(request.host);
        let mut url = String::with_capacity(base.prefix.len() + 96);
        url.push_str(&base.prefix);
        url.push_str(request.path);
        match &request.segment {
            None => {}
            Some(Segment::Id(id)) => {
                let _ = write!(url, "{id}/");
            }
            Some(Segment::Key { encoded, .. }) => {
                url.push_str(encoded.secret());
                url.push('/');
            }
        }
        url.push_str(request.tail);
        if let Some(query) = request.query {
            url.push('?');
            url.push_str(query);
        }
        let mut builder = http::Request::builder()
            .method(request.method.clone())
            .uri(url);
        if let Some(header) = authorization {
            builder = builder.header(http::header::AUTHORIZATION, header.clone());
        }
        let sent = match request.body {
            Some(body) => builder
                .header(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )
                .body(body)
                .map(|r| self.run(r, base.bypass_proxy, request.timeout)),
            None => builder
                .body(())
                .map(|r| self.run(r, base.bypass_proxy, request.timeout)),
        };
        // The base URL was checked by `build` and every segment is
        // percent-encoded, so only a key too long for a URL gets here.
        let sent = sent.map_err(|_| {
            Error::InvalidTokenRef("the key is too long to be sent in a URL; check the key")
        })?;
        let host = base.host();
        let transport = |err| {
            let shown = shown_url(&base.prefix, request);
            TransportError::from_ureq(request.operation, host, &shown, err)
        };
        let mut response = sent.map_err(transport)?;
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = response
            .body_mut()
            .with_config()
            .limit(self.settings.max_response_bytes)
            .read_to_vec()
            .map_err(transport)?;
        Ok((response.status().as_u16(), body, retry_after))
    }
}

impl Transport {
    /// Runs one HTTP exchange on the shared agent, without the agent's
    /// proxy for a loopback host and within `timeout` when given.
    fn run(
        &self,
        request: http::Request<impl ureq::AsSendBody>,
        bypass_proxy: bool,
        timeout: Option<Duration>,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        let agent = &self.agent;
        if !bypass_proxy && timeout.is_none() {
            return agent.run(request);
        }
        let mut config = agent.configure_request(request);
        if bypass_proxy {
            config = config.proxy(None);
        }
        if let Some(timeout) = timeout {
            config = config.timeout_global(Some(timeout));
        }
        agent.run(config.build())
    }
}

/// The URL of `request` for messages: no query, a key shown as `<key>`.
fn shown_url(prefix: &str, request: &Request<'_>) -> String {
    format!("{prefix}{}", request.route())
}

/// Every secret `request` carries: the keys its caller may send, a key in
/// the path, and any passwords in the body.
fn secrets_of<'r>(request: &'r Request<'_>, auth: Option<AuthHeader<'r>>) -> Secrets<'r> {
    let mut secrets = request.secrets;
    for key in auth.iter().flat_map(|a| a.keys) {
        secrets = secrets.with(key);
    }
    if let Some(Segment::Key { raw, encoded }) = &request.segment {
        secrets = secrets.with(raw.secret()).with(encoded.secret());
    }
    secrets
}

/// Turns a complete answer into the body of a success or the matching error.
pub(crate) fn classify(
    status: u16,
    body: Vec<u8>,
    retry_after: Option<Duration>,
    secrets: &Secrets<'_>,
) -> crate::Result<Answer> {
    match status {
        200..=299 => Ok(Answer { status, body }),
        300..=399 => Err(Error::unexpected(
            status,
            "the server answered with a redirect, which this client does not follow \
             (the API token must not travel to another address); check the URL",
            &body,
            secrets,
        )),
        400.. => Err(ApiError::from_answer(status, &body, retry_after, secrets).into()),
        _ => Err(Error::unexpected(
            status,
            "the server answered with an informational status",
            &body,
            secrets,
        )),
    }
}
