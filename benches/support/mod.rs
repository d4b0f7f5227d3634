//! What the benches share: a loopback server that answers instantly with
//! fixed bytes, the answers it gives, and the bare ureq calls the SDK is
//! compared with.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use neuroio::Client;

pub const API_TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

/// The timeout the SDK sets by default, given to the bare agent that is
/// configured like the SDK's.
pub const SDK_TIMEOUT: Duration = Duration::from_secs(30);

pub fn token_json(id: u64) -> String {
    format!(
        r#"{{"id":{id},"key":"{:040x}","is_active":true,"created":"2021-05-28T10:37:51.433760+00:00","expires":"2021-05-29T10:37:51.433563+00:00"}}"#,
        id
    )
}

/// A page of 100 tokens, as `list` answers it.
pub fn page_json() -> String {
    let page: Vec<String> = (1..=100).map(token_json).collect();
    format!("[{}]", page.join(","))
}

/// What the loopback server answers for `operation`, and the bare call's
/// method, path and body.
pub fn operation(operation: &str) -> (Vec<u8>, &'static str, &'static str, Option<&'static [u8]>) {
    match operation {
        "get" => (
            http_answer("200 OK", &token_json(1)),
            "GET",
            "/v1/tokens/1/",
            None,
        ),
        "list" => (
            http_answer("200 OK", &page_json()),
            "GET",
            "/v1/tokens/?limit=100&offset=0",
            None,
        ),
        "create" => (
            http_answer("201 Created", &token_json(7)),
            "POST",
            "/v1/tokens/",
            Some(br#"{"permanent":false}"#),
        ),
        "update" => (
            http_answer("200 OK", &token_json(7)),
            "PATCH",
            "/v1/tokens/7/",
            Some(br#"{"is_active":false}"#),
        ),
        other => panic!("unknown operation {other}"),
    }
}

pub fn http_answer(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A loopback server that answers every request with the same bytes.
pub struct FixedServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FixedServer {
    pub fn start(answer: Vec<u8>) -> FixedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let stop = Arc::new(AtomicBool::new(false));
        let answer = Arc::new(answer);
        let acceptor = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let answer = Arc::clone(&answer);
                    std::thread::spawn(move || serve(stream, &answer));
                }
            })
        };
        FixedServer {
            addr,
            stop,
            acceptor: Some(acceptor),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Reads each request (head and `Content-Length` body) and answers it.
fn serve(stream: TcpStream, answer: &[u8]) {
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().expect("clone the stream");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        let mut length = 0usize;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() || writer.write_all(answer).is_err() {
            return;
        }
    }
}

pub fn sdk_client(server: &FixedServer) -> Client {
    Client::builder()
        .api_token(API_TOKEN)
        .iam_url(server.url())
        .build()
        .expect("client")
}

/// The SDK renewing its own working token (minted on the first call; with
/// the fixed answers' 24-hour lifetime, no renewal falls in a run).
pub fn renewing_client(server: &FixedServer) -> Client {
    Client::builder()
        .api_token(API_TOKEN)
        .iam_url(server.url())
        .renewing(Duration::from_secs(3600))
        .build()
        .expect("client")
}

/// A bare agent configured as the SDK configures its own, with the given
/// timeout (the SDK always sets one; `None` is the cheapest ureq call,
/// which resolves the host without a thread but can hang forever).
pub fn bare_agent_with_timeout(timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(timeout)
        .user_agent("bench")
        .accept("application/json")
        // As the SDK does for loopback hosts: an environment proxy must not
        // carry the benchmark's requests.
        .proxy(None)
        .build()
        .into()
}

pub fn bare_call<T: serde::de::DeserializeOwned>(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&[u8]>,
) -> T {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Token {API_TOKEN}"));
    let mut response = match body {
        Some(body) => agent.run(
            request
                .header("content-type", "application/json")
                .body(body)
                .expect("request"),
        ),
        None => agent.run(request.body(()).expect("request")),
    }
    .expect("answer");
    let bytes = response.body_mut().read_to_vec().expect("body");
    serde_json::from_slice(&bytes).expect("json")
}
