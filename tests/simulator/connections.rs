//! Connection reuse, counted at the simulator (functional, not timed).

use std::sync::{Arc, Barrier};

use crate::support::client;
use neuroio::fake::FakeIam;

#[test]
fn one_thousand_sequential_calls_use_one_connection() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let made = root.tokens().create(false).unwrap();

    for i in 0..999 {
        match i % 3 {
            0 => assert_eq!(root.tokens().get(made.id).unwrap().id, made.id),
            1 => assert_eq!(root.tokens().list(None, 5, 0).unwrap().len(), 2),
            _ => assert!(root.tokens().update(made.id, true).unwrap().is_active),
        }
    }

    assert_eq!(fake.requests().len(), 1_000);
    assert_eq!(fake.connections(), 1);
}

#[test]
fn clones_share_the_pool() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let clone = root.clone();

    root.tokens().list(None, 5, 0).unwrap();
    clone.tokens().list(None, 5, 0).unwrap();
    root.tokens().list(None, 5, 0).unwrap();

    assert_eq!(fake.connections(), 1);
}

#[test]
fn eight_threads_open_at_most_eight_connections() {
    let fake = FakeIam::start().unwrap();
    let root = client(&fake, fake.root_token());
    let start = Arc::new(Barrier::new(8));

    std::thread::scope(|scope| {
        for _ in 0..8 {
            let root = root.clone();
            let start = Arc::clone(&start);
            scope.spawn(move || {
                start.wait();
                for _ in 0..100 {
                    root.tokens().list(None, 5, 0).unwrap();
                }
            });
        }
    });

    assert_eq!(fake.requests().len(), 800);
    let opened = fake.connections();
    assert!((1..=8).contains(&opened), "{opened} connections");
    // Afterwards the pool serves a single caller from what it kept.
    root.tokens().list(None, 5, 0).unwrap();
    assert_eq!(fake.connections(), opened);
}
