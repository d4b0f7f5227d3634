//! Feeds arbitrary server answers (status, Retry-After, body) through every
//! decoder the client uses; none may panic.
//!
//! ```sh
//! cargo install cargo-fuzz
//! cargo +nightly fuzz run decode_answer
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    neuroio::__decode_for_fuzzing(data);
});
