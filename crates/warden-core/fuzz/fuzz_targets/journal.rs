//! Untrusted journal bytes through the frame reader: as a whole journal (the
//! valid prefix is a run of contiguous frames) and as one frame body sealed
//! with a correct checksum, so the header JSON and blob ranges are reached.
#![no_main]

// The same checks run in `cargo test` (crates/warden-core/tests/fuzz_entry.rs).
#[path = "../../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_checks::journal(data));
