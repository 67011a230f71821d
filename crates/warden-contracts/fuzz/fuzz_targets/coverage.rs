//! Untrusted coverage bytes (see tests/fuzz_checks/mod.rs for the invariants).
#![no_main]

// The same checks run in `cargo test` (crates/warden-contracts/tests/fuzz_entry.rs).
#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_checks::coverage(data));
