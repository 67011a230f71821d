//! Untrusted bytes as `.warden/sync.yaml`: a config or a typed error, never a
//! panic. (`cargo test` runs the same property in tests/parsers.rs.)
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = warden_sync::config::SyncConfig::parse_bytes(data, "sync.yaml");
});
