use crate::support::{
    Family, OnWire, PERMANENT, TEMPORARY, api_error, assert_permanent, assert_temporary,
};
use mockito::Matcher;

fn expect_get(wire: &mut OnWire, path: &str, body: &str) -> mockito::Mock {
    wire.expect("GET", path)
        .match_query(Matcher::Missing)
        .match_header("content-type", Matcher::Missing)
        .match_body(Matcher::Exact(String::new()))
        .with_status(200)
        .with_body(body)
        .create()
}

#[test]
fn get_by_id_200() {
    for family in Family::ALL {
        get_by_id_200_on(family);
    }
}

fn get_by_id_200_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = expect_get(&mut wire, &family.path("17/"), TEMPORARY);

    let token = wire.tokens().get(17).unwrap();

    mock.assert();
    assert_temporary(&token);
    wire.finish();
}

#[test]
fn get_by_key_200() {
    for family in Family::ALL {
        get_by_key_200_on(family);
    }
}

fn get_by_key_200_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = expect_get(
        &mut wire,
        &family.path("0123456789abcdef0123456789abcdef01234567/"),
        PERMANENT,
    );

    let token = wire
        .tokens()
        .get("0123456789abcdef0123456789abcdef01234567")
        .unwrap();

    mock.assert();
    assert_permanent(&token);
    wire.finish();
}

#[test]
fn get_by_token_reference_using_its_id() {
    for family in Family::ALL {
        get_by_token_reference_using_its_id_on(family);
    }
}

fn get_by_token_reference_using_its_id_on(family: Family) {
    let mut wire = OnWire::new(family);
    let token: neuroio::Token = serde_json::from_str(PERMANENT).unwrap();
    let mock = wire
        .expect("GET", &family.path("3/"))
        .match_query(Matcher::Missing)
        .with_status(200)
        .with_body(PERMANENT)
        .expect(2)
        .create();

    let by_ref = wire.tokens().get(&token).unwrap();
    let by_value = wire.tokens().get(token).unwrap();

    mock.assert();
    assert_permanent(&by_ref);
    assert_permanent(&by_value);
    wire.finish();
}

#[test]
fn escape_key_into_one_segment() {
    for family in Family::ALL {
        escape_key_into_one_segment_on(family);
    }
}

fn escape_key_into_one_segment_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = expect_get(&mut wire, &family.path("a%2Fb%3Fc%20d/"), TEMPORARY);

    let token = wire.tokens().get("a/b?c d").unwrap();

    mock.assert();
    assert_temporary(&token);
    wire.finish();
}

#[test]
fn accept_every_integer_type() {
    for family in Family::ALL {
        accept_every_integer_type_on(family);
    }
}

fn accept_every_integer_type_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = wire
        .expect("GET", &family.path("17/"))
        .with_status(200)
        .with_body(TEMPORARY)
        .expect(5)
        .create();
    let tokens = wire.tokens();

    tokens.get(17u8).unwrap();
    tokens.get(17i16).unwrap();
    tokens.get(17u32).unwrap();
    tokens.get(17i64).unwrap();
    tokens.get(17usize).unwrap();

    mock.assert();
    wire.finish();
}

#[test]
fn report_not_found_404() {
    for family in Family::ALL {
        report_not_found_404_on(family);
    }
}

fn report_not_found_404_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = wire
        .expect("GET", &family.path("99/"))
        .with_status(404)
        .with_body(r#"{"error_codes":[404],"message":"Not found.","fields":[]}"#)
        .create();

    let err = wire.tokens().get(99).unwrap_err();

    mock.assert();
    assert!(err.is_not_found());
    assert!(!err.is_unauthorized());
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.to_string(), "API error (HTTP 404): Not found.");
    // The error says where the call went.
    let url = format!("{}{}", wire.url(), family.path("99/"));
    assert_eq!(api_error(err).url(), Some(url.as_str()));
    wire.finish();
}

#[test]
fn an_api_error_names_the_url_with_the_key_left_out() {
    for family in Family::ALL {
        an_api_error_names_the_url_with_the_key_left_out_on(family);
    }
}

fn an_api_error_names_the_url_with_the_key_left_out_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = wire
        .expect("GET", &family.path("secret-key-123/"))
        .with_status(500)
        .with_body("<html>Internal Server Error</html>")
        .create();

    let err = wire.tokens().get("secret-key-123").unwrap_err();

    mock.assert();
    let refused = api_error(err);
    assert_eq!(refused.status, 500);
    let url = format!("{}{}", wire.url(), family.path("<key>/"));
    assert_eq!(refused.url(), Some(url.as_str()));
    assert!(!format!("{refused:?}").contains("secret-key-123"));
    // Not made by a call: no URL.
    assert_eq!(neuroio::ApiError::from_response(500, b"", None).url(), None);
    wire.finish();
}

#[test]
fn refuse_unusable_references_before_sending() {
    for family in Family::ALL {
        refuse_unusable_references_before_sending_on(family);
    }
}

fn refuse_unusable_references_before_sending_on(family: Family) {
    let wire = OnWire::new(family);
    let tokens = wire.tokens();
    for (result, why) in [
        (tokens.get(""), "empty"),
        (tokens.get("."), "\".\""),
        (tokens.get(".."), "\"..\""),
        (tokens.get(-1), "negative"),
        (tokens.update("", false), "empty"),
        (tokens.update(-7i64, true), "negative"),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, neuroio::Error::InvalidTokenRef(_)), "{err:?}");
        assert!(err.to_string().contains(why), "{err}");
    }
    for (result, why) in [
        (tokens.delete(""), "empty"),
        (tokens.delete(".."), "\"..\""),
        (tokens.delete(-2), "negative"),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, neuroio::Error::InvalidTokenRef(_)), "{err:?}");
        assert!(err.to_string().contains(why), "{err}");
    }
    // The catch-all mock proves no request went out.
    wire.finish();
}
