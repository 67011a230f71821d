//! The fuzz targets' entry points (`crates/warden-contracts/fuzz/`), run by
//! `cargo test` over arbitrary bytes and over mutations of the fuzz seeds, so
//! every CI run exercises the meta parser, the renderer, adopt and the
//! coverage readers with hostile input even where cargo-fuzz is not installed.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod fuzz_checks;

use proptest::prelude::*;
use warden_testkit::fuzz::Seeds;

const FUZZ: Seeds = Seeds::of(env!("CARGO_MANIFEST_DIR"));

#[test]
fn every_seed_passes_the_checks() {
    for s in FUZZ.seeds("meta") {
        fuzz_checks::meta(&s);
    }
    for s in FUZZ.seeds("coverage") {
        fuzz_checks::coverage(&s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn meta_mutations(data in FUZZ.mutated("meta")) {
        fuzz_checks::meta(&data);
    }

    #[test]
    fn meta_bytes(data in prop::collection::vec(any::<u8>(), 0..200)) {
        fuzz_checks::meta(&data);
    }

    #[test]
    fn coverage_mutations(data in FUZZ.mutated("coverage")) {
        fuzz_checks::coverage(&data);
    }
}
