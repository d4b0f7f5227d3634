use crate::support::{Family, OnWire, PAGE, assert_permanent, assert_temporary};
use mockito::Matcher;

fn list_case(family: Family, permanent: Option<bool>, limit: u32, offset: u32, query: &str) {
    let mut wire = OnWire::new(family);
    let mock = wire
        .expect("GET", &family.path(""))
        .match_query(Matcher::Exact(query.into()))
        .match_header("content-type", Matcher::Missing)
        .match_body(Matcher::Exact(String::new()))
        .with_status(200)
        .with_body(PAGE)
        .create();

    let page = wire.tokens().list(permanent, limit, offset).unwrap();

    mock.assert();
    assert_eq!(page.len(), 2);
    assert_temporary(&page[0]);
    assert_permanent(&page[1]);
    wire.finish();
}

#[test]
fn list_without_filter_200() {
    for family in Family::ALL {
        list_case(family, None, 20, 0, "limit=20&offset=0");
    }
}

#[test]
fn list_permanent_only_200() {
    for family in Family::ALL {
        list_case(
            family,
            Some(true),
            10,
            5,
            "limit=10&offset=5&permanent=true",
        );
    }
}

#[test]
fn list_temporary_only_200() {
    for family in Family::ALL {
        list_case(
            family,
            Some(false),
            100,
            40,
            "limit=100&offset=40&permanent=false",
        );
    }
}

#[test]
fn accept_results_envelope() {
    for family in Family::ALL {
        accept_results_envelope_on(family);
    }
}

fn accept_results_envelope_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = wire
        .expect("GET", &family.path(""))
        .match_query(Matcher::Exact("limit=2&offset=0".into()))
        .with_status(200)
        .with_body(format!(r#"{{"count": 2, "results": {PAGE}}}"#))
        .create();

    let page = wire.tokens().list(None, 2, 0).unwrap();

    mock.assert();
    assert_eq!(page.len(), 2);
    assert_temporary(&page[0]);
    assert_permanent(&page[1]);
    wire.finish();
}

#[test]
fn decode_empty_page() {
    for family in Family::ALL {
        decode_empty_page_on(family);
    }
}

fn decode_empty_page_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = wire
        .expect("GET", &family.path(""))
        .match_query(Matcher::Exact("limit=20&offset=400".into()))
        .with_status(200)
        .with_body("[]")
        .create();

    let page = wire.tokens().list(None, 20, 400).unwrap();

    mock.assert();
    assert!(page.is_empty());
    wire.finish();
}

#[test]
fn report_validation_error_with_fields_400() {
    for family in Family::ALL {
        report_validation_error_with_fields_400_on(family);
    }
}

fn report_validation_error_with_fields_400_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = wire
        .expect("GET", &family.path(""))
        .match_query(Matcher::Exact("limit=0&offset=0".into()))
        .with_status(400)
        .with_body(
            r#"{"error_codes":[400],"message":"Validation error.",
                "fields":[{"name":"limit","message":"A valid integer is required.","error_code":400}]}"#,
        )
        .create();

    let err = wire.tokens().list(None, 0, 0).unwrap_err();

    mock.assert();
    let neuroio::Error::Api(api) = &err else {
        panic!("expected an API error, got {err:?}");
    };
    assert_eq!(api.status, 400);
    assert_eq!(api.error_codes, vec![400]);
    assert_eq!(api.message, "Validation error.");
    assert_eq!(
        api.fields,
        vec![neuroio::FieldError::new(
            "limit",
            "A valid integer is required.",
            400
        )]
    );
    assert_eq!(
        err.to_string(),
        "API error (HTTP 400): Validation error. [limit: A valid integer is required.]"
    );
    wire.finish();
}
