//! Spaces in the simulator, through the SDK (raw HTTP for what the SDK
//! refuses to send): names, duplicates, newest-first lists with `q` and the
//! shared paging validation, the full list, get, rename, delete with its
//! tokens, the default space, accounts kept apart, and what a space token
//! may do.

use std::time::Duration;

use crate::support::{api_error, assert_error_body, client, json_call as call};
use neuroio::fake::{FakeIam, Fault};
use neuroio::{Client, Space};
use serde_json::{Value, json};

fn names(spaces: &[Space]) -> Vec<&str> {
    spaces.iter().map(|s| s.name.as_str()).collect()
}

/// The root client, the id of its default space, and spaces created in
/// this order.
fn account_with(fake: &FakeIam, created: &[&str]) -> (Client, u64, Vec<Space>) {
    let root = client(fake, fake.root_token());
    let default = root.whoami().unwrap().space.unwrap().id;
    let spaces = created
        .iter()
        .map(|name| root.spaces().create(name).unwrap())
        .collect();
    (root, default, spaces)
}

#[test]
fn create_trims_the_name_and_answers_201_with_the_space() {
    let fake = FakeIam::start().unwrap();
    let (root, default, _) = account_with(&fake, &[]);

    let space = root.spaces().create("  Warehouse\t").unwrap();

    assert!(space.id > default, "{space:?}");
    assert_eq!(space.name, "Warehouse");
    assert!(space.extra.is_empty());
    assert_eq!(root.spaces().get(space.id).unwrap(), space);
    let post = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(post.body, br#"{"name":"  Warehouse\t"}"#);
}

#[test]
fn names_are_1_to_255_characters_after_trimming() {
    let fake = FakeIam::start().unwrap();
    let key = fake.root_token();
    let longest = "é".repeat(255);
    let (status, body) = call(
        &fake,
        "POST",
        "/v1/spaces/",
        &key,
        &json!({"name": longest}),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], longest.as_str());
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");

    for bad in [
        json!({"name": "x".repeat(256)}),
        json!({"name": "   "}),
        json!({"name": ""}),
        json!({"name": 7}),
        json!({}),
    ] {
        let (status, body) = call(&fake, "POST", "/v1/spaces/", &key, &bad);
        assert_eq!(status, 400, "{bad}: {body}");
        assert_error_body(&body, 400, &["name"]);
    }
}

#[test]
fn names_with_control_bidirectional_or_invisible_characters_are_400_on_name() {
    let fake = FakeIam::start().unwrap();
    let key = fake.root_token();
    let (root, _, spaces) = account_with(&fake, &["Lab"]);
    let rename = format!("/v1/spaces/{}/", spaces[0].id);
    let hidden: Vec<u32> = [
        // Control characters, C0 and C1.
        &[0x0, 0x9, 0xA, 0xD, 0x1B, 0x7F, 0x85, 0x9F][..],
        // Bidirectional embeddings, overrides and isolates, and marks.
        &[
            0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069,
        ],
        &[0x061C, 0x200E, 0x200F],
        // Zero width, soft hyphen, Hangul fillers, separators, tags.
        &[0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x180E],
        &[0x115F, 0x1160, 0x3164, 0xFFA0, 0x2028, 0x2029],
        &[0xE0000, 0xE0001, 0xE0041, 0xE007F],
    ]
    .concat();
    fake.clear_requests();

    for &code in &hidden {
        let c = char::from_u32(code).unwrap();
        // Inside the name, so that trimming cannot remove it.
        let name = format!("ok{c}name");
        for (method, path) in [("POST", "/v1/spaces/"), ("PATCH", rename.as_str())] {
            let (status, body) = call(&fake, method, path, &key, &json!({ "name": name }));
            assert_eq!(status, 400, "U+{code:04X} {method}: {body}");
            assert_error_body(&body, 400, &["name"]);
            assert_eq!(
                body["fields"][0]["message"],
                format!(
                    "Ensure this field has no control, bidirectional or invisible characters: \
                     U+{code:04X} at character 3."
                ),
                "{body}"
            );
        }
    }

    assert_eq!(fake.requests().len(), 2 * hidden.len());
    // Nothing was created or renamed.
    let after = root.spaces().list_all(None).unwrap();
    assert_eq!(names(&after), ["Lab", "default"]);
    // Visible characters of any script are names, spaces inside too.
    for fine in ["Café Ω", "склад 7", "東京 office", "camera 📷", "a - b"] {
        assert_eq!(root.spaces().create(fine).unwrap().name, fine);
    }
}

#[test]
fn a_duplicate_name_in_the_account_is_400_on_name() {
    let fake = FakeIam::start().unwrap();
    let (root, _, spaces) = account_with(&fake, &["Lab", "Warehouse"]);

    for taken in ["Lab", " Lab ", "default"] {
        let err = root.spaces().create(taken).unwrap_err();
        let api = api_error(err);
        assert_eq!(api.status, 400);
        assert_eq!(api.fields.len(), 1);
        assert_eq!(api.fields[0].name, "name");
        assert_eq!(
            api.fields[0].message,
            "A space with this name already exists."
        );
    }
    let err = root.spaces().update(spaces[1].id, "Lab").unwrap_err();
    assert_eq!(api_error(err).fields[0].name, "name");
    // Names are compared exactly: another case is another name.
    assert_eq!(root.spaces().create("lab").unwrap().name, "lab");
    // Keeping a space's own name is no duplicate.
    assert_eq!(
        root.spaces().update(spaces[0].id, "Lab").unwrap(),
        spaces[0]
    );
    // Another account may use the name.
    let other = client(&fake, fake.add_account());
    assert_eq!(other.spaces().create("Lab").unwrap().name, "Lab");
}

#[test]
fn list_is_newest_first_and_q_filters_by_name_in_any_case() {
    let fake = FakeIam::start().unwrap();
    let (root, default, spaces) =
        account_with(&fake, &["Camera north", "Lab", "camera south", "CAMERAS"]);

    let all = root.spaces().list(None, 20, 0).unwrap();
    assert_eq!(
        names(&all),
        ["CAMERAS", "camera south", "Lab", "Camera north", "default"]
    );
    assert_eq!(all[4].id, default);
    assert_eq!(all[0], spaces[3]);

    let cameras = root.spaces().list(Some("cAmEr"), 20, 0).unwrap();
    assert_eq!(names(&cameras), ["CAMERAS", "camera south", "Camera north"]);
    let page = root.spaces().list(Some("camera"), 1, 1).unwrap();
    assert_eq!(names(&page), ["camera south"]);
    assert!(root.spaces().list(Some("zzz"), 20, 0).unwrap().is_empty());
    // An empty q (what the Python SDK sends) is no filter.
    let (status, body) = call(
        &fake,
        "GET",
        "/v1/spaces/?q=&limit=2&offset=0",
        &fake.root_token(),
        &Value::Null,
    );
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!([{"id": spaces[3].id, "name": "CAMERAS"}, {"id": spaces[2].id, "name": "camera south"}])
    );
}

#[test]
fn list_validates_limit_and_offset_as_tokens_do() {
    let fake = FakeIam::start().unwrap();
    let key = fake.root_token();
    for (query, fields) in [
        ("limit=0", vec!["limit"]),
        ("limit=101", vec!["limit"]),
        ("limit=x", vec!["limit"]),
        ("offset=-1", vec!["offset"]),
        ("limit=0&offset=x", vec!["limit", "offset"]),
    ] {
        for path in ["/v1/spaces/", "/v1/tokens/"] {
            let (status, body) = call(&fake, "GET", &format!("{path}?{query}"), &key, &Value::Null);
            assert_eq!(status, 400, "{path}?{query}: {body}");
            assert_error_body(&body, 400, &fields);
        }
    }
    // The defaults: 20 from the newest.
    let root = client(&fake, key.clone());
    for i in 0..25 {
        root.spaces().create(&format!("s{i}")).unwrap();
    }
    let (status, body) = call(&fake, "GET", "/v1/spaces/", &key, &Value::Null);
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 20);
    assert_eq!(body[0]["name"], "s24");
    let (_, body) = call(
        &fake,
        "GET",
        "/v1/spaces/?limit=100&offset=999999999999",
        &key,
        &Value::Null,
    );
    assert_eq!(body, json!([]));
}

#[test]
fn iter_walks_every_page_and_list_unpaged_has_every_space() {
    let fake = FakeIam::start().unwrap();
    let created: Vec<String> = (0..23).map(|i| format!("space {i}")).collect();
    let refs: Vec<&str> = created.iter().map(String::as_str).collect();
    let (root, _, spaces) = account_with(&fake, &refs);
    fake.clear_requests();

    let walked: Vec<Space> = root
        .spaces()
        .iter(Some("space"))
        .page_size(10)
        .collect::<neuroio::Result<_>>()
        .unwrap();

    let mut expected = spaces.clone();
    expected.reverse();
    assert_eq!(walked, expected);
    let queries: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        queries,
        [
            "limit=10&offset=0&q=space",
            "limit=10&offset=9&q=space",
            "limit=10&offset=18&q=space"
        ]
    );

    let full = root.spaces().list_unpaged().unwrap();
    assert_eq!(full.len(), 24);
    assert_eq!(&full[..23], &expected[..]);
    assert_eq!(full[23].name, "default");
}

#[test]
fn accounts_never_see_each_others_spaces() {
    let fake = FakeIam::start().unwrap();
    let (root, _, spaces) = account_with(&fake, &["Lab"]);
    let other = client(&fake, fake.add_account());
    let lab = spaces[0].id;

    assert_eq!(names(&other.spaces().list_all(None).unwrap()), ["default"]);
    assert_eq!(names(&other.spaces().list_unpaged().unwrap()), ["default"]);
    assert!(other.spaces().get(lab).unwrap_err().is_not_found());
    assert!(
        other
            .spaces()
            .update(lab, "Mine")
            .unwrap_err()
            .is_not_found()
    );
    assert!(other.spaces().delete(lab).unwrap_err().is_not_found());
    assert!(
        other
            .spaces()
            .create_token(lab, false)
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(root.spaces().get(lab).unwrap().name, "Lab");
}

#[test]
fn hostile_ids_are_404() {
    let fake = FakeIam::start().unwrap();
    let (root, _, _) = account_with(&fake, &[]);
    for id in [0, 999_999, u64::MAX] {
        assert!(root.spaces().get(id).unwrap_err().is_not_found(), "{id}");
        assert!(root.spaces().delete(id).unwrap_err().is_not_found(), "{id}");
    }
    let (status, _) = call(
        &fake,
        "GET",
        "/v1/spaces/-1/",
        &fake.root_token(),
        &Value::Null,
    );
    assert_eq!(status, 404);
}

#[test]
fn update_renames_and_answers_the_space() {
    let fake = FakeIam::start().unwrap();
    let (root, _, spaces) = account_with(&fake, &["Lab"]);

    let renamed = root
        .spaces()
        .update(spaces[0].id, " Lab \"2\" / <b> ")
        .unwrap();

    assert_eq!(renamed.id, spaces[0].id);
    assert_eq!(renamed.name, "Lab \"2\" / <b>");
    assert_eq!(root.spaces().get(spaces[0].id).unwrap(), renamed);
}

#[test]
fn delete_removes_the_space_and_its_tokens() {
    let fake = FakeIam::start().unwrap();
    let (root, _, spaces) = account_with(&fake, &["Lab", "Kept"]);
    let lab = spaces[0].id;
    let token = root.spaces().create_token(lab, true).unwrap();
    let as_space = root.with_api_token(&token.key).unwrap();
    let lab_temporary = as_space.tokens().create(false).unwrap();
    let kept_token = root.spaces().create_token(spaces[1].id, false).unwrap();

    root.spaces().delete(lab).unwrap();

    assert!(root.spaces().get(lab).unwrap_err().is_not_found());
    assert!(as_space.whoami().unwrap_err().is_unauthorized());
    let temporary = root.with_api_token(&lab_temporary.key).unwrap();
    assert!(temporary.whoami().unwrap_err().is_unauthorized());
    let kept = root.with_api_token(&kept_token.key).unwrap();
    assert_eq!(kept.whoami().unwrap().space.unwrap().id, spaces[1].id);
    assert_eq!(
        names(&root.spaces().list_all(None).unwrap()),
        ["Kept", "default"]
    );
}

#[test]
fn the_default_space_cannot_be_deleted() {
    let fake = FakeIam::start().unwrap();
    let (root, default, _) = account_with(&fake, &[]);

    let api = api_error(root.spaces().delete(default).unwrap_err());

    assert_eq!(api.status, 400);
    assert_eq!(
        api.message,
        "The default space of an account cannot be deleted."
    );
    assert_eq!(root.spaces().get(default).unwrap().name, "default");
}

#[test]
fn delete_whose_answer_was_lost_is_done() {
    let fake = FakeIam::start().unwrap();
    let root = Client::builder()
        .api_token(fake.root_token())
        .iam_url(fake.url())
        .retry_backoff(Duration::from_millis(1), Duration::from_millis(20))
        .build()
        .unwrap();
    let lab = root.spaces().create("Lab").unwrap();
    fake.clear_requests();
    fake.inject(Fault::LoseAnswer, 1);

    root.spaces().delete(lab.id).unwrap();

    let seen = fake.requests();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|r| r.method == "DELETE" && r.path == format!("/v1/spaces/{}/", lab.id))
    );
    assert!(root.spaces().get(lab.id).unwrap_err().is_not_found());
}

#[test]
fn a_lost_create_is_an_open_outcome_and_sent_once() {
    let fake = FakeIam::start().unwrap();
    let (root, _, _) = account_with(&fake, &[]);
    fake.clear_requests();
    fake.inject(Fault::LoseAnswer, 1);

    let err = root.spaces().create("Lab").unwrap_err();

    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(fake.requests().len(), 1);
    // It was created: the recovery the docs describe finds it.
    let found = root.spaces().list_all(Some("Lab")).unwrap();
    assert_eq!(names(&found), ["Lab"]);
}

#[test]
fn a_space_token_reads_its_own_space_only() {
    let fake = FakeIam::start().unwrap();
    let (root, default, spaces) = account_with(&fake, &["Lab", "Other"]);
    let lab = &spaces[0];
    let token = root.spaces().create_token(lab.id, false).unwrap();
    let as_space = root.with_api_token(&token.key).unwrap();

    assert_eq!(&as_space.spaces().get(lab.id).unwrap(), lab);
    assert_eq!(
        as_space.spaces().list(None, 20, 0).unwrap(),
        std::slice::from_ref(lab)
    );
    assert_eq!(
        as_space.spaces().list_all(Some("la")).unwrap(),
        std::slice::from_ref(lab)
    );
    assert!(
        as_space
            .spaces()
            .list(Some("other"), 20, 0)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        as_space.spaces().list_unpaged().unwrap(),
        std::slice::from_ref(lab)
    );

    let forbidden = |err: neuroio::Error| {
        let api = api_error(err);
        assert_eq!(api.status, 403, "{api}");
        assert!(
            api.message.starts_with("You do not have permission"),
            "{api}"
        );
    };
    for other in [spaces[1].id, default, 999_999] {
        forbidden(as_space.spaces().get(other).unwrap_err());
    }
    forbidden(as_space.spaces().create("Mine").unwrap_err());
    forbidden(as_space.spaces().update(lab.id, "Mine").unwrap_err());
    forbidden(as_space.spaces().delete(lab.id).unwrap_err());
    forbidden(as_space.spaces().create_token(lab.id, false).unwrap_err());
    // Nothing changed.
    assert_eq!(
        names(&root.spaces().list_all(None).unwrap()),
        ["Other", "Lab", "default"]
    );
}
