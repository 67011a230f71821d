//! Untrusted bytes as git's `status --porcelain=v2 -z` and `merge-tree -z`
//! output: parsed or refused, never a panic. (`cargo test` runs the same
//! property in tests/parsers.rs.)
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = warden_sync::porcelain::parse(data);
    let _ = warden_sync::porcelain::parse_merge_tree(data, false);
    let _ = warden_sync::porcelain::parse_merge_tree(data, true);
});
