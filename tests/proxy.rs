//! Environment proxies never carry a request to this machine: with
//! `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` (and their lowercase forms)
//! pointing at a recording "proxy", every call to a loopback simulator goes
//! straight to it, with or without `NO_PROXY`, also when the other host is
//! remote; and a remote host does use the proxy, which shows the variables
//! took effect.
//!
//! Environment variables are process-wide, so this binary holds this one
//! test, which sets them before building any client.

#[path = "support/mod.rs"]
mod support;

use std::io::{Read, Write};

use neuroio::fake::FakeIam;
use neuroio::{Client, Error, TransportErrorKind};
use support::CountingServer;

const PROXY_VARS: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// A "proxy" on 127.0.0.1 that counts the connections it accepts and
/// answers each with 502.
fn start_proxy() -> CountingServer {
    CountingServer::start(|mut stream| {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(buf.get(..n).unwrap_or_default()),
            }
        }
        let _ = stream.write_all(
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    })
}

/// Every kind of call, through `client`, must succeed against `fake`.
fn every_call_works(client: &Client) {
    let created = client.tokens().create(false).unwrap();
    assert_eq!(client.tokens().get(created.id).unwrap(), created);
    client.tokens().delete(created.id).unwrap();
    let stream = client.stream_tokens().create(true).unwrap();
    assert_eq!(
        client.stream_tokens().list(Some(true), 5, 0).unwrap(),
        vec![stream.clone()]
    );
    client.stream_tokens().delete(&stream.key).unwrap();
    assert_eq!(client.whoami().unwrap().username(), Some("root"));
    let space = client.whoami().unwrap().space.unwrap().id;
    let space_token = client.spaces().create_token(space, false).unwrap();
    assert!(!space_token.is_permanent());
    assert_eq!(client.tokens().list_all(None).unwrap().len(), 1);
}

/// Log in against `url` (IAM) and make one call with the new client.
fn login_works(fake: &FakeIam, url: &str) {
    let (client, login) = Client::builder()
        .iam_url(url)
        .api_url(url)
        .login(fake.root_username(), fake.root_password())
        .unwrap();
    assert_eq!(login.user.username, "root");
    assert_eq!(client.tokens().get(login.token.id).unwrap(), login.token);
    client.tokens().delete(login.token.id).unwrap();
}

/// Clients for `127.0.0.1` and `localhost`: every call works, and the
/// proxy sees no new connection.
fn all_loopback_clients_bypass(fake: &FakeIam, proxy: &CountingServer) {
    let before = proxy.accepted();
    let port = fake.addr().port();
    let by_ip = fake.client_builder().build().unwrap();
    every_call_works(&by_ip);
    let by_name = format!("http://localhost:{port}");
    let by_name_client = fake
        .client_builder()
        .iam_url(&by_name)
        .api_url(&by_name)
        .build()
        .unwrap();
    every_call_works(&by_name_client);
    login_works(fake, &fake.url());
    login_works(fake, &by_name);
    assert_eq!(
        proxy.accepted(),
        before,
        "a loopback call went to the proxy"
    );
}

/// IAM on this machine, API remote: IAM calls bypass the proxy, the API
/// call goes to it (and fails there with its 502).
fn mixed_client_bypasses_only_for_loopback(fake: &FakeIam, proxy: &CountingServer) {
    let before = proxy.accepted();
    let mixed = fake
        .client_builder()
        .api_url("https://api.example.invalid")
        .max_retries(0)
        .build()
        .unwrap();
    let created = mixed.tokens().create(false).unwrap();
    assert_eq!(mixed.tokens().get(created.id).unwrap(), created);
    mixed.tokens().delete(created.id).unwrap();
    assert_eq!(mixed.whoami().unwrap().username(), Some("root"));
    assert_eq!(proxy.accepted(), before, "an IAM call went to the proxy");

    let err = mixed.stream_tokens().list(None, 20, 0).unwrap_err();
    assert_eq!(proxy.accepted(), before + 1, "{err:?}");
    let Error::Transport(t) = &err else {
        panic!("expected a transport error, got {err:?}");
    };
    assert_eq!(t.kind(), TransportErrorKind::Connect, "{err:?}");
}

#[test]
fn environment_proxies_never_carry_loopback_calls() {
    let proxy = start_proxy();
    let fake = FakeIam::start().unwrap();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    // SAFETY: this binary has one test, and it sets the variables before
    // any client exists; nothing else reads the environment concurrently.
    unsafe {
        for var in PROXY_VARS {
            std::env::set_var(var, &proxy_url);
        }
        std::env::remove_var("NO_PROXY");
        std::env::remove_var("no_proxy");
    }

    all_loopback_clients_bypass(&fake, &proxy);
    assert_eq!(proxy.accepted(), 0);
    mixed_client_bypasses_only_for_loopback(&fake, &proxy);

    // NO_PROXY naming something else changes nothing.
    unsafe { std::env::set_var("NO_PROXY", "example.com,.internal") };
    all_loopback_clients_bypass(&fake, &proxy);
    mixed_client_bypasses_only_for_loopback(&fake, &proxy);

    // NO_PROXY naming the loopback hosts: the same.
    unsafe {
        std::env::set_var("NO_PROXY", "localhost,127.0.0.1");
        std::env::set_var("no_proxy", "localhost,127.0.0.1");
    }
    all_loopback_clients_bypass(&fake, &proxy);
    mixed_client_bypasses_only_for_loopback(&fake, &proxy);

    unsafe {
        for var in PROXY_VARS {
            std::env::remove_var(var);
        }
        std::env::remove_var("NO_PROXY");
        std::env::remove_var("no_proxy");
    }
}
