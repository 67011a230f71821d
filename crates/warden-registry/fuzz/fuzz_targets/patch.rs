//! Untrusted registry patches: a patch file (`maintain --patches FILE`) and
//! an LLM answer, through the strict JSON reader, the patch contract and the
//! LLM answer validator.
#![no_main]

// The same checks run in `cargo test` (crates/warden-registry/tests/fuzz_entry.rs).
#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_checks::patch(data));
