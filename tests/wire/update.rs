use crate::support::{Family, OnWire, PERMANENT, TEMPORARY, assert_permanent, assert_temporary};
use mockito::Matcher;

fn expect_patch(wire: &mut OnWire, path: &str, body: &str, answer: &str) -> mockito::Mock {
    wire.expect("PATCH", path)
        .match_query(Matcher::Missing)
        .match_header("content-type", "application/json")
        .match_body(Matcher::Exact(body.into()))
        .with_status(200)
        .with_body(answer)
        .create()
}

#[test]
fn deactivate_by_id_200() {
    for family in Family::ALL {
        deactivate_by_id_200_on(family);
    }
}

fn deactivate_by_id_200_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = expect_patch(
        &mut wire,
        &family.path("3/"),
        r#"{"is_active":false}"#,
        PERMANENT,
    );

    let token = wire.tokens().update(3, false).unwrap();

    mock.assert();
    assert_permanent(&token);
    wire.finish();
}

#[test]
fn activate_by_key_200() {
    for family in Family::ALL {
        activate_by_key_200_on(family);
    }
}

fn activate_by_key_200_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = expect_patch(
        &mut wire,
        &family.path("4f1c0d3e9a7b2c5d8e6f0a1b2c3d4e5f6a7b8c9d/"),
        r#"{"is_active":true}"#,
        TEMPORARY,
    );

    let token = wire
        .tokens()
        .update("4f1c0d3e9a7b2c5d8e6f0a1b2c3d4e5f6a7b8c9d", true)
        .unwrap();

    mock.assert();
    assert_temporary(&token);
    wire.finish();
}

#[test]
fn keep_path_escape_attempt_in_one_segment() {
    for family in Family::ALL {
        keep_path_escape_attempt_in_one_segment_on(family);
    }
}

fn keep_path_escape_attempt_in_one_segment_on(family: Family) {
    let mut wire = OnWire::new(family);
    // `.` is unreserved and stays as is; the slash is what must not survive.
    let mock = expect_patch(
        &mut wire,
        &family.path("..%2Fwhoami/"),
        r#"{"is_active":false}"#,
        TEMPORARY,
    );

    let token = wire.tokens().update("../whoami", false).unwrap();

    mock.assert();
    assert_temporary(&token);
    wire.finish();
}
