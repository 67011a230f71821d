//! The fuzz targets' entry points (`crates/warden-registry/fuzz/`), run by
//! `cargo test` over arbitrary bytes and over mutations of the fuzz seeds, so
//! every CI run exercises the entry, index, patch-file and LLM-answer parsers
//! (and the in-place front-matter rewrite) with hostile input even where
//! cargo-fuzz is not installed.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod fuzz_checks;

use proptest::prelude::*;
use warden_testkit::fuzz::Seeds;

const FUZZ: Seeds = Seeds::of(env!("CARGO_MANIFEST_DIR"));

#[test]
fn the_seeds_are_accepted() {
    for s in FUZZ.seeds("entry") {
        assert!(
            warden_registry::model::Entry::parse(&s, "seed.md").is_ok()
                || warden_registry::model::Index::parse(&s, "seed.yaml").is_ok(),
            "{}",
            String::from_utf8_lossy(&s)
        );
        fuzz_checks::entry(&s);
    }
    for s in FUZZ.seeds("patch") {
        fuzz_checks::patch(&s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn entries_from_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        fuzz_checks::entry(&data);
    }

    #[test]
    fn entries_from_mutated_seeds(data in FUZZ.mutated("entry")) {
        fuzz_checks::entry(&data);
    }

    #[test]
    fn patches_from_mutated_seeds(data in FUZZ.mutated("patch")) {
        fuzz_checks::patch(&data);
    }
}
