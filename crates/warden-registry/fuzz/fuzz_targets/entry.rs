//! Untrusted entry files (`registry/capabilities/<slug>.md`) and index files
//! through the strict readers, the canonical rendering and the in-place
//! front-matter rewrite.
#![no_main]

// The same checks run in `cargo test` (crates/warden-registry/tests/fuzz_entry.rs).
#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_checks::entry(data));
