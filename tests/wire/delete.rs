use crate::support::Wire;
use mockito::Matcher;

fn expect_delete(wire: &mut Wire, path: &str, query: Matcher) -> mockito::Mock {
    wire.expect("DELETE", path)
        .match_query(query)
        .match_header("content-type", Matcher::Missing)
        .match_body(Matcher::Exact(String::new()))
        .with_status(204)
        .create()
}

#[test]
fn delete_by_id_204() {
    let mut wire = Wire::new();
    let mock = expect_delete(&mut wire, "/v1/tokens/17/", Matcher::Missing);

    wire.client.tokens().delete(17).unwrap();

    mock.assert();
    wire.finish();
}

#[test]
fn delete_by_key_204() {
    let mut wire = Wire::new();
    let mock = expect_delete(&mut wire, "/v1/tokens/abc123/", Matcher::Missing);

    wire.client.tokens().delete("abc123").unwrap();

    mock.assert();
    wire.finish();
}

#[test]
fn delete_escaped_key_204() {
    let mut wire = Wire::new();
    let mock = expect_delete(
        &mut wire,
        "/v1/tokens/%3Fpermanent%3Dtrue%23x/",
        Matcher::Missing,
    );

    wire.client.tokens().delete("?permanent=true#x").unwrap();

    mock.assert();
    wire.finish();
}

#[test]
fn delete_list_without_filter_204() {
    let mut wire = Wire::new();
    let mock = expect_delete(&mut wire, "/v1/tokens/", Matcher::Missing);

    wire.client.tokens().delete_list(None).unwrap();

    mock.assert();
    wire.finish();
}

#[test]
fn delete_list_permanent_204() {
    let mut wire = Wire::new();
    let mock = expect_delete(
        &mut wire,
        "/v1/tokens/",
        Matcher::Exact("permanent=true".into()),
    );

    wire.client.tokens().delete_list(Some(true)).unwrap();

    mock.assert();
    wire.finish();
}

#[test]
fn delete_list_temporary_204() {
    let mut wire = Wire::new();
    let mock = expect_delete(
        &mut wire,
        "/v1/tokens/",
        Matcher::Exact("permanent=false".into()),
    );

    wire.client.tokens().delete_list(Some(false)).unwrap();

    mock.assert();
    wire.finish();
}
