//! Shared set-up for the tests against the offline simulator.
#![allow(dead_code)]

use neuroio::Client;
use neuroio::fake::FakeIam;
use serde_json::Value;

pub fn client(fake: &FakeIam, api_token: &str) -> Client {
    Client::builder()
        .api_token(api_token)
        .iam_url(fake.url())
        .build()
        .expect("client for the simulator")
}

/// A client that sends every call exactly once, to watch single faults.
pub fn client_without_retries(fake: &FakeIam, api_token: &str) -> Client {
    Client::builder()
        .api_token(api_token)
        .iam_url(fake.url())
        .max_retries(0)
        .build()
        .expect("client for the simulator")
}

/// A request the SDK would never send, straight through `ureq`: returns the
/// status and the decoded JSON body (`Null` when there is none).
pub fn raw(
    fake: &FakeIam,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path_and_query}", fake.url()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = agent
        .run(request.body(body.to_vec()).unwrap())
        .expect("an answer from the simulator");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    (status, json)
}

/// Asserts the API's error body: the code list, the message and the fields.
pub fn assert_error_body(body: &Value, status: u16, fields: &[&str]) {
    assert_eq!(body["error_codes"], serde_json::json!([status]), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let names: Vec<&str> = body["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("fields is not an array: {body}"))
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, fields, "{body}");
}

pub fn api_error(err: neuroio::Error) -> neuroio::ApiError {
    match err {
        neuroio::Error::Api(api) => api,
        other => panic!("expected an API error, got {other:?}"),
    }
}
