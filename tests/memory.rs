//! Walking every token keeps memory bounded by one page, however many
//! tokens the account has.
//!
//! Peak RSS is too coarse and noisy for this (the simulator shares the
//! process), so a counting allocator measures the heap that the walking
//! thread itself holds at its peak.

#[path = "support/mod.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering};

use neuroio::fake::FakeIam;
use support::client;

struct ThreadHeap;

thread_local! {
    static TRACKED: Cell<bool> = const { Cell::new(false) };
}
static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);

fn tracked() -> bool {
    TRACKED.try_with(Cell::get).unwrap_or(false)
}

fn grow(bytes: i64) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// wrapper only counts.
unsafe impl GlobalAlloc for ThreadHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && tracked() {
            grow(layout.size() as i64);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if tracked() {
            grow(-(layout.size() as i64));
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && tracked() {
            grow(new_size as i64 - layout.size() as i64);
        }
        new
    }
}

#[global_allocator]
static HEAP: ThreadHeap = ThreadHeap;

/// Walks an account of `total` tokens and returns how many were seen and
/// the walking thread's peak heap, in bytes.
fn walk(total: usize) -> (usize, i64) {
    let fake = FakeIam::start().unwrap();
    fake.add_temporary_tokens(&fake.root_token(), total - 1)
        .unwrap();
    let root = client(&fake, fake.root_token());
    // Open the connection first, so its buffers are not part of the walk.
    root.tokens().list(None, 1, 0).unwrap();

    LIVE.store(0, Ordering::SeqCst);
    PEAK.store(0, Ordering::SeqCst);
    TRACKED.with(|t| t.set(true));
    let seen = root
        .tokens()
        .iter(None)
        .map(|t| t.unwrap().id)
        .filter(|id| *id > 0)
        .count();
    TRACKED.with(|t| t.set(false));
    (seen, PEAK.load(Ordering::SeqCst))
}

#[test]
fn walking_100_000_tokens_holds_no_more_than_walking_1_000() {
    let (small_count, small_peak) = walk(1_000);
    let (large_count, large_peak) = walk(100_000);

    println!(
        "peak heap of the walking thread: 1,000 tokens {small_peak} B, 100,000 tokens {large_peak} B"
    );
    assert_eq!(small_count, 1_000);
    assert_eq!(large_count, 100_000);
    // One page of 100 tokens is about 20 KB of JSON and 15 KB of structs; the
    // whole 100,000 would be tens of megabytes.
    assert!(large_peak < 1024 * 1024, "{large_peak} B");
    assert!(
        large_peak <= small_peak + small_peak / 2,
        "peak grew with the token count: {small_peak} B -> {large_peak} B"
    );
}
