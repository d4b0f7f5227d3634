use crate::support::{Family, OnWire, PERMANENT, TEMPORARY, assert_permanent, assert_temporary};
use mockito::Matcher;

#[test]
fn create_permanent_token_201() {
    for family in Family::ALL {
        create_permanent_token_201_on(family);
    }
}

fn create_permanent_token_201_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = wire
        .expect("POST", &family.path(""))
        .match_query(Matcher::Missing)
        .match_header("content-type", "application/json")
        .match_body(Matcher::Exact(r#"{"permanent":true}"#.into()))
        .with_status(201)
        .with_body(PERMANENT)
        .create();

    let token = wire.tokens().create(true).unwrap();

    mock.assert();
    assert_permanent(&token);
    wire.finish();
}

#[test]
fn create_temporary_token_201() {
    for family in Family::ALL {
        create_temporary_token_201_on(family);
    }
}

fn create_temporary_token_201_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = wire
        .expect("POST", &family.path(""))
        .match_query(Matcher::Missing)
        .match_header("content-type", "application/json")
        .match_body(Matcher::Exact(r#"{"permanent":false}"#.into()))
        .with_status(201)
        .with_body(TEMPORARY)
        .create();

    let token = wire.tokens().create(false).unwrap();

    mock.assert();
    assert_temporary(&token);
    wire.finish();
}

#[test]
fn report_permanent_limit_400() {
    for family in Family::ALL {
        report_permanent_limit_400_on(family);
    }
}

fn report_permanent_limit_400_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = wire
        .expect("POST", &family.path(""))
        .with_status(400)
        .with_body(
            r#"{"error_codes":[400],"message":"Permanent tokens limit exceeded (max 5).","fields":[]}"#,
        )
        .create();

    let err = wire.tokens().create(true).unwrap_err();

    mock.assert();
    let neuroio::Error::Api(api) = &err else {
        panic!("expected an API error, got {err:?}");
    };
    assert_eq!(api.status, 400);
    assert_eq!(api.error_codes, vec![400]);
    assert_eq!(api.message, "Permanent tokens limit exceeded (max 5).");
    assert!(api.fields.is_empty());
    assert_eq!(api.retry_after, None);
    wire.finish();
}
