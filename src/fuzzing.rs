//! The decoders of server answers, run over arbitrary bytes: for the fuzz
//! target (`fuzz/`) and the property tests. Not part of the API.

use crate::api::pages::decode_page;
use crate::model::Token;

/// Runs every decoder of server answers over arbitrary bytes: the first two
/// bytes pick the status, the next line is a `Retry-After` value, the rest
/// is the body. For the fuzz target and the property tests only; not part of
/// the API and not covered by semver.
#[doc(hidden)]
pub fn __decode_for_fuzzing(data: &[u8]) {
    let (status, rest) = match data {
        [hi, lo, rest @ ..] => (u16::from_be_bytes([*hi, *lo]) % 600, rest),
        _ => (200, data),
    };
    let (header, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => rest.split_at(at),
        None => (&[][..], rest),
    };
    let retry_after = std::str::from_utf8(header)
        .ok()
        .and_then(crate::transport::retry::parse_retry_after);
    let secrets = crate::redact::Secrets::default().with("fuzz-secret");
    match crate::transport::request::classify(status, body.to_vec(), retry_after, &secrets) {
        Ok(answer) => {
            if let Ok(token) = serde_json::from_slice::<Token>(&answer.body) {
                let _ = format!("{token:?} {:?} {}", token.expires_in(), token.is_expired());
            }
            let _ = decode_page::<Token>(&answer.body).map(|page| page.len());
            if let Ok(space) = serde_json::from_slice::<crate::model::Space>(&answer.body) {
                let _ = format!("{space:?}");
            }
            let _ = decode_page::<crate::model::Space>(&answer.body).map(|page| page.len());
        }
        Err(err) => {
            let _ = format!("{err} {err:?} {:?} {}", err.status(), err.is_timeout());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_answers_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            __decode_for_fuzzing(&data);
        }

        #[test]
        fn decoding_json_like_answers_never_panics(
            status in 0u16..600,
            body in r#"[\[\]{}",:0-9a-z_ .+\-]{0,300}"#,
        ) {
            let mut data = status.to_be_bytes().to_vec();
            data.extend_from_slice(b"\n");
            data.extend_from_slice(body.as_bytes());
            __decode_for_fuzzing(&data);
        }

        #[test]
        fn decoding_near_valid_tokens_never_panics(
            id in proptest::num::i64::ANY,
            created in "[0-9T:.+\\-Z]{0,40}",
            cut in 0usize..200,
        ) {
            let body = format!(r#"[{{"id":{id},"key":"k","is_active":true,"created":"{created}","expires":null}}]"#);
            let cut = cut.min(body.len());
            let mut data = 200u16.to_be_bytes().to_vec();
            data.push(b'\n');
            data.extend_from_slice(&body.as_bytes()[..cut]);
            __decode_for_fuzzing(&data);
        }
    }
}
