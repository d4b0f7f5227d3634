//! The simulator's API rules, exercised through the public SDK.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::{api_error, client};
use neuroio::fake::FakeIam;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

#[test]
fn account_starts_with_one_permanent_root_token() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());

    let page = root.tokens().list(None, 20, 0).unwrap();

    assert_eq!(page.len(), 1);
    let token = &page[0];
    assert!(token.id > 0);
    assert_eq!(token.key, fake.root_token());
    assert!(token.is_active);
    assert!(token.is_permanent());
    assert_eq!(token.expires, None);
    assert!(token.created <= fake.now());
    assert!(token.extra.is_empty());
}

#[test]
fn temporary_token_expires_24_hours_after_creation() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());

    let temporary = root.tokens().create(false).unwrap();

    assert!(temporary.is_active);
    assert_eq!(temporary.expires, Some(temporary.created + DAY));
    assert_eq!(temporary.key.secret().len(), 40);
    assert!(
        temporary
            .key
            .secret()
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
    );
    assert_ne!(temporary.key, fake.root_token());
}

#[test]
fn temporary_token_stops_authenticating_when_it_expires() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let temporary = root.tokens().create(false).unwrap();
    let as_temporary = client(&fake, &temporary.key);

    fake.advance(DAY - Duration::from_secs(60));
    assert_eq!(as_temporary.tokens().get(temporary.id).unwrap(), temporary);

    fake.advance(Duration::from_secs(60));
    let err = api_error(as_temporary.tokens().get(temporary.id).unwrap_err());
    assert_eq!(err.status, 401);
    assert_eq!(err.error_codes, vec![401]);
    assert_eq!(err.message, "Token has expired.");
    // The permanent root token is untouched by time.
    assert!(root.tokens().get(temporary.id).is_ok());
}

#[test]
fn sixth_permanent_token_is_refused() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    for _ in 0..4 {
        assert!(root.tokens().create(true).unwrap().is_permanent());
    }

    let err = api_error(root.tokens().create(true).unwrap_err());

    assert_eq!(err.status, 400);
    assert_eq!(err.error_codes, vec![400]);
    assert!(
        err.message.contains("at most 5 permanent tokens"),
        "{}",
        err.message
    );
    assert!(err.fields.is_empty());
    // Temporary tokens are not limited, and the refused one was not created.
    root.tokens().create(false).unwrap();
    assert_eq!(root.tokens().list(Some(true), 100, 0).unwrap().len(), 5);
}

#[test]
fn deleting_a_permanent_token_frees_a_place() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let mut created = Vec::new();
    for _ in 0..4 {
        created.push(root.tokens().create(true).unwrap());
    }
    assert!(root.tokens().create(true).is_err());

    root.tokens().delete(&created[0]).unwrap();

    assert!(root.tokens().create(true).unwrap().is_permanent());
}

#[test]
fn list_is_newest_first_and_pages_with_limit_and_offset() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let created: Vec<u64> = (0..5)
        .map(|_| root.tokens().create(false).unwrap().id)
        .collect();
    let root_id = root.tokens().get(fake.root_token().as_str()).unwrap().id;

    let ids = |limit, offset| -> Vec<u64> {
        root.tokens()
            .list(None, limit, offset)
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect()
    };

    let mut newest_first: Vec<u64> = created.iter().rev().copied().collect();
    newest_first.push(root_id);
    assert_eq!(ids(100, 0), newest_first);
    assert_eq!(ids(2, 0), newest_first[..2]);
    assert_eq!(ids(2, 2), newest_first[2..4]);
    assert_eq!(ids(2, 4), newest_first[4..6]);
    assert_eq!(ids(2, 6), Vec::<u64>::new());
}

#[test]
fn list_filters_by_permanence() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let permanent = root.tokens().create(true).unwrap();
    let temporary = root.tokens().create(false).unwrap();

    let only_permanent = root.tokens().list(Some(true), 20, 0).unwrap();
    let only_temporary = root.tokens().list(Some(false), 20, 0).unwrap();

    assert_eq!(only_permanent.len(), 2);
    assert!(only_permanent.iter().all(|t| t.is_permanent()));
    assert_eq!(only_permanent[0], permanent);
    assert_eq!(only_temporary, vec![temporary]);
}

#[test]
fn list_validation_names_the_field() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());

    for (limit, message) in [
        (0, "Ensure this value is between 1 and 100."),
        (101, "Ensure this value is between 1 and 100."),
    ] {
        let err = api_error(root.tokens().list(None, limit, 0).unwrap_err());
        assert_eq!(err.status, 400);
        assert_eq!(err.error_codes, vec![400]);
        assert_eq!(err.message, "Validation error.");
        assert_eq!(
            err.fields,
            vec![neuroio::FieldError::new("limit", message, 400)]
        );
    }
    assert_eq!(root.tokens().list(None, 100, 0).unwrap().len(), 1);
    assert_eq!(root.tokens().list(None, 1, 0).unwrap().len(), 1);
}

#[test]
fn get_update_delete_by_id_and_by_key() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let a = root.tokens().create(false).unwrap();
    let b = root.tokens().create(true).unwrap();

    assert_eq!(root.tokens().get(a.id).unwrap(), a);
    assert_eq!(root.tokens().get(a.key.secret()).unwrap(), a);

    let off = root.tokens().update(b.key.secret(), false).unwrap();
    assert!(!off.is_active);
    assert_eq!(
        (off.id, &off.key, off.created, off.expires),
        (b.id, &b.key, b.created, b.expires)
    );
    let on = root.tokens().update(b.id, true).unwrap();
    assert!(on.is_active);

    root.tokens().delete(a.key.secret()).unwrap();
    root.tokens().delete(b.id).unwrap();
    assert!(root.tokens().get(a.id).unwrap_err().is_not_found());
    assert!(
        root.tokens()
            .get(b.key.secret())
            .unwrap_err()
            .is_not_found()
    );
    assert!(root.tokens().delete(b.id).unwrap_err().is_not_found());
    assert!(root.tokens().update(a.id, true).unwrap_err().is_not_found());
}

#[test]
fn unknown_token_is_404_with_error_body() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());

    let err = api_error(root.tokens().get(999_999).unwrap_err());

    assert_eq!(err.status, 404);
    assert_eq!(err.error_codes, vec![404]);
    assert_eq!(err.message, "Not found.");
    assert!(err.fields.is_empty());
}

#[test]
fn deactivated_token_gets_401() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let temporary = root.tokens().create(false).unwrap();
    let as_temporary = client(&fake, &temporary.key);
    assert_eq!(as_temporary.tokens().list(None, 20, 0).unwrap().len(), 2);

    root.tokens().update(&temporary, false).unwrap();

    let err = api_error(as_temporary.tokens().list(None, 20, 0).unwrap_err());
    assert_eq!(err.status, 401);
    assert_eq!(err.message, "Token is inactive.");
}

#[test]
fn unknown_key_gets_401() {
    let fake = FakeIam::start().unwrap();
    let stranger = client(&fake, "0000000000000000000000000000000000000000");

    let err = api_error(stranger.tokens().list(None, 20, 0).unwrap_err());

    assert_eq!(err.status, 401);
    assert_eq!(err.error_codes, vec![401]);
    assert_eq!(err.message, "Invalid token.");
}

#[test]
fn accounts_are_isolated() {
    let fake = FakeIam::start().unwrap();
    let alice = client(&fake, fake.root_token());
    let bob_key = fake.add_account();
    let bob = client(&fake, &bob_key);
    let alices = alice.tokens().create(false).unwrap();
    let bobs = bob.tokens().create(true).unwrap();

    assert!(bob.tokens().get(alices.id).unwrap_err().is_not_found());
    assert!(
        bob.tokens()
            .get(alices.key.secret())
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        bob.tokens()
            .update(alices.id, false)
            .unwrap_err()
            .is_not_found()
    );
    assert!(bob.tokens().delete(alices.id).unwrap_err().is_not_found());
    // Bob's delete-everything removes his tokens only.
    bob.tokens().delete_list(None).unwrap();
    assert!(
        bob.tokens()
            .list(None, 20, 0)
            .unwrap_err()
            .is_unauthorized()
    );
    assert!(alice.tokens().get(alices.id).unwrap().is_active);

    let alice_ids: BTreeSet<u64> = alice
        .tokens()
        .list(None, 100, 0)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    let root_id = alice.tokens().get(fake.root_token().as_str()).unwrap().id;
    assert_eq!(alice_ids, BTreeSet::from([root_id, alices.id]));
    assert!(!alice_ids.contains(&bobs.id));
}

#[test]
fn tokens_created_by_a_token_belong_to_its_account() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let child = root.tokens().create(false).unwrap();
    let as_child = client(&fake, &child.key);

    let grandchild = as_child.tokens().create(false).unwrap();

    assert_eq!(root.tokens().get(grandchild.id).unwrap(), grandchild);
    let other = client(&fake, fake.add_account());
    assert!(
        other
            .tokens()
            .get(grandchild.id)
            .unwrap_err()
            .is_not_found()
    );
}

#[test]
fn delete_many_respects_the_filter() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let permanent = root.tokens().create(true).unwrap();
    root.tokens().create(false).unwrap();
    root.tokens().create(false).unwrap();

    root.tokens().delete_list(Some(false)).unwrap();
    let left: Vec<u64> = root
        .tokens()
        .list(None, 100, 0)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(left.contains(&permanent.id));

    let temporary = root.tokens().create(false).unwrap();
    let as_temporary = client(&fake, &temporary.key);
    as_temporary.tokens().delete_list(Some(true)).unwrap();
    assert_eq!(
        as_temporary.tokens().list(None, 100, 0).unwrap(),
        vec![temporary]
    );
    // The root token was permanent, so it is gone.
    assert!(
        root.tokens()
            .list(None, 20, 0)
            .unwrap_err()
            .is_unauthorized()
    );
}

#[test]
fn delete_many_without_filter_deletes_the_caller_too() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    root.tokens().create(true).unwrap();
    root.tokens().create(false).unwrap();

    root.tokens().delete_list(None).unwrap();

    let err = api_error(root.tokens().list(None, 20, 0).unwrap_err());
    assert_eq!(err.status, 401);
    assert_eq!(err.message, "Invalid token.");
}

#[test]
fn an_expired_temporary_token_is_listed_for_a_day_then_forgotten() {
    let fake = FakeIam::start().unwrap();
    let root = fake.client_builder().build().unwrap();
    let root_id = root.tokens().get(fake.root_token().as_str()).unwrap().id;
    let temporary = root.tokens().create(false).unwrap();
    let stream = root.stream_tokens().create(false).unwrap();
    let permanent = root.tokens().create(true).unwrap();
    let as_temporary = root.with_api_token(&temporary.key).unwrap();
    assert_eq!(fake.stored_tokens(), 4);
    let ids = |client: &neuroio::Client| -> Vec<u64> {
        client
            .tokens()
            .list_all(None)
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect()
    };

    // Expired, and kept for a day after: listed, and refused as expired.
    fake.advance(DAY + Duration::from_secs(1));
    let refused = api_error(as_temporary.whoami().unwrap_err());
    assert_eq!(
        (refused.status, refused.message.as_str()),
        (401, "Token has expired.")
    );
    fake.advance(DAY - Duration::from_secs(3));
    assert_eq!(ids(&root), [permanent.id, temporary.id, root_id]);
    assert_eq!(
        root.stream_tokens().list(None, 20, 0).unwrap(),
        std::slice::from_ref(&stream)
    );
    assert_eq!(fake.stored_tokens(), 4);

    // A day past expiry: forgotten, the permanent ones kept.
    fake.advance(Duration::from_secs(3));
    assert_eq!(fake.stored_tokens(), 2);
    assert_eq!(ids(&root), [permanent.id, root_id]);
    assert!(root.stream_tokens().list(None, 20, 0).unwrap().is_empty());
    assert!(root.tokens().get(temporary.id).unwrap_err().is_not_found());
    assert!(
        root.stream_tokens()
            .get(stream.id)
            .unwrap_err()
            .is_not_found()
    );
    let refused = api_error(as_temporary.whoami().unwrap_err());
    assert_eq!(
        (refused.status, refused.message.as_str()),
        (401, "Invalid token.")
    );
    // Ids are never reused.
    assert!(root.tokens().create(false).unwrap().id > permanent.id);
}

#[test]
fn from_100000_tokens_stored_every_expired_one_is_forgotten_at_once() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let cap = neuroio::fake::PURGE_EXPIRED_AT;
    assert_eq!(cap, 100_000);
    fake.add_temporary_tokens(&fake.root_token(), cap - 2)
        .unwrap();
    assert_eq!(fake.stored_tokens(), cap - 1);

    // Expired, under the cap: kept for a day.
    fake.advance(DAY + Duration::from_secs(1));
    assert_eq!(fake.stored_tokens(), cap - 1);
    let permanent = root.tokens().create(true).unwrap();
    assert_eq!(fake.stored_tokens(), cap);

    // At the cap, the next request forgets every expired token first.
    let page = root.tokens().list(None, 20, 0).unwrap();

    let ids: Vec<u64> = page.iter().map(|t| t.id).collect();
    assert_eq!(ids, [permanent.id, 1]);
    assert_eq!(fake.stored_tokens(), 2);
    assert_eq!(fake.requests().len(), 2);
}
