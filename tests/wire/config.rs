use neuroio::{Client, ClientBuilder, ConfigError, Error};

fn config_error(result: neuroio::Result<Client>) -> ConfigError {
    match result {
        Err(Error::Config(err)) => err,
        Err(other) => panic!("expected a configuration error, got {other:?}"),
        Ok(client) => panic!("expected a configuration error, got {client:?}"),
    }
}

fn with_url(url: &str) -> neuroio::Result<Client> {
    Client::builder().api_token("abcd").iam_url(url).build()
}

#[test]
fn missing_or_empty_token_is_refused() {
    assert_eq!(
        config_error(Client::builder().build()),
        ConfigError::MissingApiToken
    );
    assert_eq!(
        config_error(Client::new("")),
        ConfigError::InvalidApiToken("the token is empty")
    );
}

#[test]
fn token_with_whitespace_or_control_characters_is_refused() {
    for bad in [
        "ab cd",
        "abcd\r\nX-Evil: 1",
        "ab\tcd",
        "abcd\n",
        "ab\0cd",
        "ab\u{7f}",
    ] {
        let err = config_error(Client::new(bad));
        assert!(
            matches!(err, ConfigError::InvalidApiToken(why) if why.contains("whitespace or control")),
            "{bad:?}: {err:?}"
        );
        assert!(!format!("{err} {err:?}").contains("abcd"), "{err}");
    }
    assert!(matches!(
        config_error(Client::new("abcé")),
        ConfigError::InvalidApiToken(why) if why.contains("non-ASCII")
    ));
}

#[test]
fn unusable_urls_are_refused_with_a_reason() {
    for (url, reason) in [
        ("not a url", "not a URL"),
        ("iam.neuroio.com", "missing scheme"),
        ("ftp://iam.neuroio.com", "http or https"),
        ("https://iam.neuroio.com/?x=1", "remove the query"),
        ("https://iam.neuroio.com/#frag", "remove the fragment"),
        ("http://iam.neuroio.com", "clear text"),
        ("http://10.1.2.3:8080", "clear text"),
        ("https://user:pw@iam.neuroio.com", "user name and password"),
    ] {
        let err = config_error(with_url(url));
        let got = match &err {
            ConfigError::InvalidUrl {
                setting, reason, ..
            } => {
                assert_eq!(*setting, "IAM URL");
                reason.clone()
            }
            ConfigError::InsecureUrl { setting, .. } => {
                assert_eq!(*setting, "IAM URL");
                err.to_string()
            }
            _ => panic!("{url}: {err:?}"),
        };
        assert!(got.contains(reason), "{url}: {got}");
    }
}

#[test]
fn credentials_in_a_refused_url_are_not_echoed() {
    let err = config_error(with_url("https://user:pw@iam.neuroio.com"));
    assert!(!err.to_string().contains("pw@"), "{err}");
}

#[test]
fn usable_urls_are_accepted() {
    for url in [
        "https://iam.neuroio.com",
        "https://iam.neuroio.com/",
        "https://gateway.example/iam",
        "https://gateway.example/iam/",
        "http://localhost:8080",
        "http://127.0.0.1:8080",
        "http://127.5.5.5",
        "http://[::1]:8080/",
    ] {
        let client = with_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(client.iam_url(), url);
    }
}

#[test]
fn insecure_http_needs_an_opt_in() {
    let client = Client::builder()
        .api_token("abcd")
        .iam_url("http://iam.internal:8080")
        .allow_insecure_http(true)
        .build()
        .unwrap();
    assert_eq!(client.iam_url(), "http://iam.internal:8080");
}

#[test]
fn default_url_is_the_real_service() {
    assert_eq!(
        Client::new("abcd").unwrap().iam_url(),
        "https://iam.neuroio.com"
    );
    assert_eq!(neuroio::DEFAULT_IAM_URL, "https://iam.neuroio.com");
}

#[test]
fn client_is_cheap_to_clone_and_shareable() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<Client>();
    // One pointer: a clone copies an Arc, not the pool or the settings.
    assert_eq!(std::mem::size_of::<Client>(), std::mem::size_of::<usize>());
    let client = Client::new("abcd").unwrap();
    let clone = client.clone();
    assert_eq!(clone.iam_url(), client.iam_url());
}

#[test]
fn debug_output_never_shows_the_token() {
    let secret = "s3cr3t-api-token-value";
    let builder = Client::builder()
        .api_token(secret)
        .iam_url("http://127.0.0.1:1");
    let builder_debug = format!("{builder:?}");
    let client = builder.build().unwrap();
    let client_debug = format!("{client:?} {client:#?}");
    assert!(!builder_debug.contains(secret), "{builder_debug}");
    assert!(!client_debug.contains(secret), "{client_debug}");
    assert!(builder_debug.contains("[redacted]") && client_debug.contains("[redacted]"));
    assert!(client_debug.contains("http://127.0.0.1:1"));
}

#[test]
fn token_debug_hides_key_but_keeps_the_rest() {
    let token: neuroio::Token = serde_json::from_str(
        r#"{"id": 9, "key": "deadbeefdeadbeef", "is_active": true,
            "created": "2021-05-28T10:37:51.433760+00:00", "expires": null}"#,
    )
    .unwrap();
    let shown = format!(
        "{token:?} {token:#?} {:?}",
        neuroio::TokenRef::from(token.key.secret())
    );
    assert!(!shown.contains("deadbeef"), "{shown}");
    assert!(
        shown.contains("id: 9") && shown.contains("[redacted]"),
        "{shown}"
    );
}

// Environment variables are process-wide, so every from_env case of this
// module runs in this one test, in order, holding the binary's lock on them.
#[test]
fn from_env_reads_token_and_url() {
    let _env = crate::support::env_lock();
    // SAFETY: every other test of this binary that reads or writes these
    // variables holds the same lock.
    unsafe {
        std::env::remove_var("NEUROIO_API_TOKEN_FILE");
        std::env::remove_var("NEUROIO_API_TOKEN");
        std::env::remove_var("NEUROIO_IAM_URL");
        std::env::remove_var("NEUROIO_API_URL");
    }
    assert_eq!(
        config_error(Client::from_env()),
        ConfigError::MissingApiToken
    );

    unsafe { std::env::set_var("NEUROIO_API_TOKEN", "from-env-token") };
    assert_eq!(
        Client::from_env().unwrap().iam_url(),
        "https://iam.neuroio.com"
    );

    unsafe { std::env::set_var("NEUROIO_IAM_URL", "http://127.0.0.1:7777") };
    assert_eq!(
        Client::from_env().unwrap().iam_url(),
        "http://127.0.0.1:7777"
    );

    // Without a token: the URLs alone, for log in or a token given in code.
    unsafe { std::env::remove_var("NEUROIO_API_TOKEN") };
    unsafe { std::env::set_var("NEUROIO_API_URL", "http://127.0.0.1:7779") };
    let client = ClientBuilder::from_env_urls()
        .unwrap()
        .api_token("given-in-code")
        .build()
        .unwrap();
    assert_eq!(client.iam_url(), "http://127.0.0.1:7777");
    assert_eq!(client.api_url(), "http://127.0.0.1:7779");
    assert_eq!(
        config_error(ClientBuilder::from_env_urls().unwrap().build()),
        ConfigError::MissingApiToken
    );
    unsafe { std::env::remove_var("NEUROIO_API_URL") };
    unsafe { std::env::set_var("NEUROIO_API_TOKEN", "from-env-token") };

    unsafe { std::env::set_var("NEUROIO_IAM_URL", "ftp://x") };
    assert!(matches!(
        config_error(Client::from_env()),
        ConfigError::InvalidUrl { .. }
    ));
    unsafe { std::env::remove_var("NEUROIO_IAM_URL") };

    // The API URL (stream tokens): the default, then from the environment,
    // checked like the IAM URL; blank counts as unset.
    let client = Client::from_env().unwrap();
    assert_eq!(client.api_url(), "https://api.neuroio.com");
    assert_eq!(client.iam_url(), "https://iam.neuroio.com");
    unsafe { std::env::set_var("NEUROIO_API_URL", "http://127.0.0.1:7778/api/") };
    let client = Client::from_env().unwrap();
    assert_eq!(client.api_url(), "http://127.0.0.1:7778/api/");
    assert_eq!(client.iam_url(), "https://iam.neuroio.com");
    unsafe { std::env::set_var("NEUROIO_API_URL", "  ") };
    assert_eq!(
        Client::from_env().unwrap().api_url(),
        "https://api.neuroio.com"
    );
    unsafe { std::env::set_var("NEUROIO_API_URL", "http://api.internal") };
    assert!(matches!(
        config_error(Client::from_env()),
        ConfigError::InsecureUrl {
            setting: "API URL",
            ..
        }
    ));
    unsafe { std::env::set_var("NEUROIO_API_URL", "https://api.neuroio.com/?x=1") };
    assert!(matches!(
        config_error(Client::from_env()),
        ConfigError::InvalidUrl {
            setting: "API URL",
            ..
        }
    ));
    unsafe {
        std::env::remove_var("NEUROIO_API_TOKEN");
        std::env::remove_var("NEUROIO_IAM_URL");
        std::env::remove_var("NEUROIO_API_URL");
    }
}

fn with_api_url(url: &str) -> neuroio::Result<Client> {
    Client::builder().api_token("abcd").api_url(url).build()
}

#[test]
fn api_url_defaults_to_the_real_service() {
    let client = Client::new("abcd").unwrap();
    assert_eq!(client.api_url(), "https://api.neuroio.com");
    assert_eq!(neuroio::DEFAULT_API_URL, "https://api.neuroio.com");
    let shown = format!("{client:?}");
    assert!(shown.contains("https://api.neuroio.com"), "{shown}");
}

#[test]
fn api_url_over_http_to_another_machine_needs_an_opt_in() {
    for url in ["http://api.neuroio.com", "http://10.1.2.3:8080/api"] {
        let err = config_error(with_api_url(url));
        let ConfigError::InsecureUrl {
            setting,
            url: shown,
            ..
        } = &err
        else {
            panic!("{url}: {err:?}");
        };
        assert_eq!(*setting, "API URL");
        assert_eq!(shown, url);
        assert!(err.to_string().contains("clear text"), "{err}");
        let client = Client::builder()
            .api_token("abcd")
            .api_url(url)
            .allow_insecure_http(true)
            .build()
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(client.api_url(), url);
        assert_eq!(client.iam_url(), "https://iam.neuroio.com");
    }
    // Loopback needs no opt-in.
    for url in [
        "http://127.0.0.1:9",
        "http://localhost:9/api/",
        "http://[::1]:9",
    ] {
        assert_eq!(with_api_url(url).unwrap().api_url(), url);
    }
}

#[test]
fn api_url_with_query_fragment_or_credentials_is_refused() {
    for (url, reason) in [
        ("https://api.neuroio.com/?x=1", "remove the query"),
        ("https://api.neuroio.com/#frag", "remove the fragment"),
        (
            "https://user:pass@api.neuroio.com",
            "user name and password",
        ),
        ("api.neuroio.com", "missing scheme"),
        ("ftp://api.neuroio.com", "http or https"),
    ] {
        let err = config_error(with_api_url(url));
        let ConfigError::InvalidUrl {
            setting,
            reason: why,
            ..
        } = &err
        else {
            panic!("{url}: {err:?}");
        };
        assert_eq!(*setting, "API URL", "{url}");
        assert!(why.contains(reason), "{url}: {why}");
        assert!(!format!("{err} {err:?}").contains("pass@"), "{err:?}");
    }
}

#[test]
fn api_url_keeps_its_path_prefix() {
    let client = with_api_url("https://gw/api/").unwrap();
    assert_eq!(client.api_url(), "https://gw/api/");
    assert_eq!(client.iam_url(), "https://iam.neuroio.com");
}

#[test]
fn builder_debug_never_shows_url_credentials() {
    let builder = Client::builder()
        .api_token("s3cr3t-api-token-value")
        .iam_url("https://user:pass@iam.example")
        .api_url("https://apiuser:apipass@api.example/x");
    let shown = format!("{builder:?} {builder:#?}");
    for secret in ["pass", "user:", "apiuser", "s3cr3t-api-token-value"] {
        assert!(!shown.contains(secret), "{secret}: {shown}");
    }
    assert!(
        shown.contains("[URL with credentials, not shown]"),
        "{shown}"
    );
    // Building fails on such a URL, and its error hides the credentials too.
    let err = builder.clone().build().unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains(":pass@") && !shown.contains("user:"),
        "{shown}"
    );
    let err = builder.iam_url("https://iam.example").build().unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("API URL"), "{shown}");
    assert!(
        !shown.contains("apipass") && !shown.contains("apiuser"),
        "{shown}"
    );
}

#[test]
fn absurd_durations_are_refused_not_a_panic_later() {
    use std::time::Duration;
    let day_and_a_bit = Duration::from_secs(24 * 3600 + 1);
    for (name, builder) in [
        ("timeout", Client::builder().timeout(Duration::MAX)),
        ("timeout", Client::builder().timeout(day_and_a_bit)),
        ("timeout", Client::builder().timeout(Duration::ZERO)),
        (
            "connect_timeout",
            Client::builder().connect_timeout(Duration::MAX),
        ),
        (
            "connect_timeout",
            Client::builder().connect_timeout(Duration::ZERO),
        ),
        (
            "retry_backoff",
            Client::builder().retry_backoff(Duration::ZERO, Duration::MAX),
        ),
        (
            "max_retry_after",
            Client::builder().max_retry_after(Duration::MAX),
        ),
    ] {
        let err = config_error(builder.api_token("abcd").build());
        let ConfigError::InvalidSetting {
            name: got, reason, ..
        } = &err
        else {
            panic!("{name}: {err:?}");
        };
        assert_eq!(*got, name, "{reason}");
    }
    // A day exactly is still fine.
    Client::builder()
        .api_token("abcd")
        .timeout(Duration::from_secs(24 * 3600))
        .build()
        .unwrap();
}
