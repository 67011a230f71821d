//! Untrusted policy bytes through the strict YAML reader and the policy
//! checks. Invariants: nothing panics; an accepted policy written back parses
//! to the same policy.
#![no_main]

// The same checks run in `cargo test` (crates/warden-core/tests/fuzz_entry.rs).
#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_checks::policy(data));
