//! Untrusted proposal bytes through the strict JSON reader and the proposal
//! parser. Invariants: nothing panics; strict JSON is a subset of serde_json
//! with the same value; an accepted proposal re-serialises to one that parses
//! the same; its digest is the digest of its canonical JSON.
#![no_main]

// The same checks run in `cargo test` (crates/warden-core/tests/fuzz_entry.rs).
#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_checks::proposal(data));
