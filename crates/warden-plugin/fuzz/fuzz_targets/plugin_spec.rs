//! Untrusted `plugin.spec.json` bytes through the strict JSON reader and the
//! spec's rules. Invariants: nothing panics; an accepted spec written back
//! parses to the same spec.
#![no_main]

// The same checks run in `cargo test` (crates/warden-plugin/tests/fuzz_entry.rs).
#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_checks::plugin_spec(data));
