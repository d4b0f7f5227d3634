use crate::support::{Family, OnWire};
use mockito::Matcher;

fn expect_delete(wire: &mut OnWire, path: &str, query: Matcher) -> mockito::Mock {
    wire.expect("DELETE", path)
        .match_query(query)
        .match_header("content-type", Matcher::Missing)
        .match_body(Matcher::Exact(String::new()))
        .with_status(204)
        .create()
}

#[test]
fn delete_by_id_204() {
    for family in Family::ALL {
        delete_by_id_204_on(family);
    }
}

fn delete_by_id_204_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = expect_delete(&mut wire, &family.path("17/"), Matcher::Missing);

    wire.tokens().delete(17).unwrap();

    mock.assert();
    wire.finish();
}

#[test]
fn delete_by_key_204() {
    for family in Family::ALL {
        delete_by_key_204_on(family);
    }
}

fn delete_by_key_204_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = expect_delete(&mut wire, &family.path("abc123/"), Matcher::Missing);

    wire.tokens().delete("abc123").unwrap();

    mock.assert();
    wire.finish();
}

#[test]
fn delete_escaped_key_204() {
    for family in Family::ALL {
        delete_escaped_key_204_on(family);
    }
}

fn delete_escaped_key_204_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = expect_delete(
        &mut wire,
        &family.path("%3Fpermanent%3Dtrue%23x/"),
        Matcher::Missing,
    );

    wire.tokens().delete("?permanent=true#x").unwrap();

    mock.assert();
    wire.finish();
}

#[test]
fn delete_list_without_filter_204() {
    for family in Family::ALL {
        delete_list_without_filter_204_on(family);
    }
}

fn delete_list_without_filter_204_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = expect_delete(&mut wire, &family.path(""), Matcher::Missing);

    wire.tokens().delete_list(None).unwrap();

    mock.assert();
    wire.finish();
}

#[test]
fn delete_list_permanent_204() {
    for family in Family::ALL {
        delete_list_permanent_204_on(family);
    }
}

fn delete_list_permanent_204_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = expect_delete(
        &mut wire,
        &family.path(""),
        Matcher::Exact("permanent=true".into()),
    );

    wire.tokens().delete_list(Some(true)).unwrap();

    mock.assert();
    wire.finish();
}

#[test]
fn delete_list_temporary_204() {
    for family in Family::ALL {
        delete_list_temporary_204_on(family);
    }
}

fn delete_list_temporary_204_on(family: Family) {
    let mut wire = OnWire::new(family);
    let mock = expect_delete(
        &mut wire,
        &family.path(""),
        Matcher::Exact("permanent=false".into()),
    );

    wire.tokens().delete_list(Some(false)).unwrap();

    mock.assert();
    wire.finish();
}
