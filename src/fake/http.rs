//! The simulator's HTTP/1.1 layer: one thread per connection, keep-alive,
//! `httparse` for the request head, `Content-Length` framing for bodies.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use super::faults::Fault;
use super::requests::RecordedRequest;
use super::shared::Shared;
use super::wire::{Incoming, Outgoing};

/// The largest request head accepted (request line, header fields and the
/// empty line that ends them); larger gets 400.
const MAX_HEAD_BYTES: usize = 16 * 1024;
const HEAD_TOO_LARGE: &str =
    "Request header block too large: the limit is 16 KiB (16384 bytes), the empty line included.";
/// The largest request body accepted; larger gets 413.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_HEADERS: usize = 64;

/// What reading the next request from a connection gave.
enum Next {
    Request(RecordedRequest, bool),
    /// The peer closed the connection (or the simulator is stopping).
    Closed,
    /// The bytes are not a request the simulator accepts: answer and close.
    Reject(u16, &'static str),
}

/// Serves one connection until the peer closes it, it asks to close, it
/// stays idle (or sends a request too slowly) past the idle timeout, or the
/// simulator stops.
pub(crate) fn serve(mut stream: TcpStream, shared: &Shared) {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        // The whole next request (head and body) must arrive within the
        // idle timeout, so that neither a silent connection nor one that
        // sends a byte now and then holds a thread and a connection slot.
        let started = Instant::now();
        let (request, keep_alive) = match read_request(&mut stream, &mut buf, shared, started) {
            Next::Request(request, keep_alive) => (request, keep_alive),
            Next::Closed => return,
            Next::Reject(status, message) => {
                let answer = Outgoing::error(status, message);
                let _ = write_response(&mut stream, &answer, false, shared);
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
        };
        let mut request = request;
        let Some(path) = shared.own_path(&request.path) else {
            // A client of a simulator dropped earlier, on this port.
            let answer = Outgoing::error(
                410,
                "Gone: this request is for a simulator that was dropped; this port serves \
                 another now.",
            );
            let _ = write_response(&mut stream, &answer, false, shared);
            let _ = stream.shutdown(Shutdown::Both);
            return;
        };
        request.path = path;
        let fault = shared.take_fault(&request);
        request.fault.clone_from(&fault);
        shared.record(&request);
        let answer = match fault {
            Some(Fault::Close) => {
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::LoseAnswer) => {
                shared.answer(&request);
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Status {
                status,
                retry_after,
            }) => {
                let mut answer = Outgoing::error(
                    status,
                    "Injected fault: the simulator was told to fail this request.",
                );
                answer.retry_after = retry_after;
                answer
            }
            Some(Fault::Delay(wait)) => {
                if !shared.sleep(wait) {
                    return;
                }
                shared.answer(&request)
            }
            None => shared.answer(&request),
        };
        if write_response(&mut stream, &answer, keep_alive, shared).is_err() || !keep_alive {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

impl Shared {
    /// Runs a recorded request through the simulated API.
    fn answer(&self, request: &RecordedRequest) -> Outgoing {
        let incoming = Incoming {
            method: &request.method,
            path: &request.path,
            query: request.query.as_deref(),
            authorization: request.header("authorization"),
            content_type: request.header("content-type"),
            body: &request.body,
        };
        self.with_state(|state| state.handle(&incoming))
    }
}

fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    shared: &Shared,
    started: Instant,
) -> Next {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                // Whatever size the reads came in.
                if head_len > MAX_HEAD_BYTES {
                    return Next::Reject(400, HEAD_TOO_LARGE);
                }
                if has_bare_lf(buf.get(..head_len).unwrap_or_default()) {
                    return Next::Reject(400, BARE_LF);
                }
                let head = request_from_head(&parsed);
                return finish_request(stream, buf, shared, head, head_len, started);
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_HEAD_BYTES {
                    return Next::Reject(400, HEAD_TOO_LARGE);
                }
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Next::Reject(431, "Too many request header fields.");
            }
            Err(_) => return Next::Reject(400, "Malformed HTTP request."),
        }
        match fill(stream, buf, shared, started) {
            Filled::More => {}
            // Nothing of a request yet: an idle keep-alive connection.
            Filled::TimedOut if buf.is_empty() => return Next::Closed,
            Filled::TimedOut => return Next::Reject(408, REQUEST_TIMEOUT),
            Filled::Closed => return Next::Closed,
        }
    }
}

const BARE_LF: &str =
    "Malformed HTTP request: every line of the head must end with CR LF, not a bare LF.";

/// Whether a line of the head ends with a bare LF (no CR before it), which
/// lenient parsers accept and strict ones do not: two servers in a chain
/// would not agree where the head ends.
fn has_bare_lf(head: &[u8]) -> bool {
    head.iter()
        .enumerate()
        .any(|(at, &b)| b == b'\n' && (at == 0 || head.get(at - 1) != Some(&b'\r')))
}

/// A `Content-Length` value as RFC 9110 has it: one or more digits, and no
/// sign and no leading zero, which some parsers read differently (`+20`,
/// `020`, an octal reading). `None` for anything else.
fn strict_length(value: &str) -> Option<usize> {
    let digits = value.as_bytes();
    let plain = !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits.len() == 1 || digits.first() != Some(&b'0'));
    if plain { value.parse().ok() } else { None }
}

const REQUEST_TIMEOUT: &str =
    "Request timeout: the request did not arrive in full within the idle timeout.";

/// The request a parsed head describes, its body still to be read, and
/// whether it came as HTTP/1.0.
fn request_from_head(parsed: &httparse::Request<'_, '_>) -> (RecordedRequest, bool) {
    let target = parsed.path.unwrap_or_default();
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target.to_owned(), None),
    };
    let request = RecordedRequest {
        method: parsed.method.unwrap_or_default().to_owned(),
        path,
        query,
        headers: parsed
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body: Vec::new(),
        body_len: 0,
        fault: None,
    };
    (request, parsed.version == Some(0))
}

fn finish_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    shared: &Shared,
    (mut request, version_1_0): (RecordedRequest, bool),
    head_len: usize,
    started: Instant,
) -> Next {
    if request.header("transfer-encoding").is_some() {
        return Next::Reject(
            411,
            "Chunked request bodies are not supported; send a Content-Length.",
        );
    }
    // Two different lengths leave the framing ambiguous (a smuggling
    // vector): refuse. Repeats of one value are accepted.
    let mut lengths = request
        .headers
        .iter()
        .filter(|(name, _)| name == "content-length")
        .map(|(_, value)| value.trim());
    let first = lengths.next();
    if let Some(first) = first
        && lengths.any(|other| other != first)
    {
        return Next::Reject(400, "Conflicting Content-Length headers.");
    }
    let length = match first.map(strict_length) {
        None => 0,
        Some(Some(n)) => n,
        Some(None) => {
            return Next::Reject(
                400,
                "Invalid Content-Length header: it must be digits only, with no sign and no \
                 leading zero.",
            );
        }
    };
    if length > MAX_BODY_BYTES {
        return Next::Reject(413, "Request body too large: the limit is 64 KiB.");
    }
    let connection = request.header("connection").map(str::to_ascii_lowercase);
    let keep_alive = match connection.as_deref() {
        Some(c) if c.contains("close") => false,
        Some(c) if c.contains("keep-alive") => true,
        _ => !version_1_0,
    };
    let total = head_len.saturating_add(length);
    while buf.len() < total {
        match fill(stream, buf, shared, started) {
            Filled::More => {}
            Filled::TimedOut => return Next::Reject(408, REQUEST_TIMEOUT),
            Filled::Closed => return Next::Closed,
        }
    }
    request.body = buf
        .get(head_len..total)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    request.body_len = request.body.len();
    buf.drain(..total.min(buf.len()));
    Next::Request(request, keep_alive)
}

/// How long one read waits before the deadline and the stop flag are
/// looked at again.
const READ_STEP: Duration = Duration::from_millis(100);

/// What reading more bytes of a request gave.
enum Filled {
    More,
    /// The deadline passed first.
    TimedOut,
    /// The peer closed, the read failed or the simulator is stopping.
    Closed,
}

/// Reads more bytes into `buf`, waiting at most until the idle timeout
/// after `started` has passed. The timeout is read again at every step, so
/// a change applies to connections already waiting.
fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, shared: &Shared, started: Instant) -> Filled {
    let mut chunk = [0u8; 8192];
    loop {
        if shared.is_stopping() {
            return Filled::Closed;
        }
        // A timeout too long for the clock never runs out.
        let left = started
            .checked_add(shared.idle_timeout())
            .map_or(READ_STEP, |deadline| {
                deadline.saturating_duration_since(Instant::now())
            });
        if left.is_zero() {
            return Filled::TimedOut;
        }
        if stream.set_read_timeout(Some(left.min(READ_STEP))).is_err() {
            return Filled::Closed;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Filled::Closed,
            Ok(n) => {
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                return Filled::More;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => return Filled::Closed,
        }
    }
}

/// Answers a connection over the simulator's limit with 503 and closes it.
pub(crate) fn refuse_busy(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let answer = Outgoing::error(
        503,
        "Too many connections: the simulator serves at most 256 at once.",
    );
    if let Ok(bytes) = response_bytes(&answer, false) {
        let _ = stream.write_all(&bytes);
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Writes an answer in full within the idle timeout: a client that sends
/// requests and never reads the answers fills the socket's buffers, and
/// would otherwise hold this connection's thread and slot for as long as
/// it stays open. The timeout is read again at every step, as for reads.
fn write_response(
    stream: &mut TcpStream,
    answer: &Outgoing,
    keep_alive: bool,
    shared: &Shared,
) -> io::Result<()> {
    let bytes = response_bytes(answer, keep_alive)?;
    let started = Instant::now();
    let mut left_to_write = bytes.as_slice();
    while !left_to_write.is_empty() {
        if shared.is_stopping() {
            return Err(io::Error::other("the simulator is stopping"));
        }
        let left = started
            .checked_add(shared.idle_timeout())
            .map_or(READ_STEP, |deadline| {
                deadline.saturating_duration_since(Instant::now())
            });
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_write_timeout(Some(left.min(READ_STEP)))?;
        match stream.write(left_to_write) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => left_to_write = left_to_write.get(n..).unwrap_or_default(),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    stream.flush()
}

/// An answer's bytes: status line, headers and body.
fn response_bytes(answer: &Outgoing, keep_alive: bool) -> io::Result<Vec<u8>> {
    let body = match &answer.body {
        Some(value) => serde_json::to_vec(value).map_err(io::Error::other)?,
        None => Vec::new(),
    };
    let mut head = format!("HTTP/1.1 {} {}\r\n", answer.status, reason(answer.status));
    if answer.status != 204 {
        head.push_str("Content-Type: application/json\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if let Some(wait) = &answer.retry_after {
        head.push_str(&format!("Retry-After: {wait}\r\n"));
    }
    head.push_str(if keep_alive {
        "Connection: keep-alive\r\n\r\n"
    } else {
        "Connection: close\r\n\r\n"
    });
    let mut out = head.into_bytes();
    out.extend_from_slice(&body);
    Ok(out)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_is_plain_digits_without_a_leading_zero() {
        assert_eq!(strict_length("0"), Some(0));
        assert_eq!(strict_length("20"), Some(20));
        for bad in [
            "",
            "+20",
            "020",
            "00",
            "-1",
            "2 0",
            "1e3",
            "99999999999999999999999",
        ] {
            assert_eq!(strict_length(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_bare_lf_is_found_anywhere_in_the_head() {
        assert!(!has_bare_lf(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(has_bare_lf(b"\n"));
        assert!(has_bare_lf(b"GET / HTTP/1.1\nHost: x\r\n\r\n"));
        assert!(has_bare_lf(b"GET / HTTP/1.1\r\nHost: x\r\n\n"));
    }
}
