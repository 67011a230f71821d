//! The fuzz targets' entry points (`crates/warden-core/fuzz/`), run by `cargo
//! test` over arbitrary bytes and over mutations of the fuzz seeds, so every CI
//! run exercises the proposal parser, the policy parser and the journal frame
//! reader with hostile input even where cargo-fuzz is not installed.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod fuzz_checks;

use proptest::prelude::*;
use warden_testkit::fuzz::Seeds;

const FUZZ: Seeds = Seeds::of(env!("CARGO_MANIFEST_DIR"));

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn proposal_parser_survives_arbitrary_bytes(data in bytes()) {
        fuzz_checks::proposal(&data);
    }

    #[test]
    fn proposal_parser_survives_mutated_proposals(data in FUZZ.mutated("proposal")) {
        fuzz_checks::proposal(&data);
    }

    #[test]
    fn policy_parser_survives_arbitrary_bytes(data in bytes()) {
        fuzz_checks::policy(&data);
    }

    #[test]
    fn policy_parser_survives_mutated_policies(data in FUZZ.mutated("policy")) {
        fuzz_checks::policy(&data);
    }

    #[test]
    fn journal_reader_survives_arbitrary_bytes(data in bytes()) {
        fuzz_checks::journal(&data);
    }

    #[test]
    fn journal_reader_survives_mutated_journals_and_frame_bodies(data in FUZZ.mutated("journal")) {
        fuzz_checks::journal(&data);
    }
}

#[test]
fn every_seed_passes_the_checks() {
    for s in FUZZ.seeds("proposal") {
        fuzz_checks::proposal(&s);
    }
    for s in FUZZ.seeds("policy") {
        fuzz_checks::policy(&s);
    }
    for s in FUZZ.seeds("journal") {
        fuzz_checks::journal(&s);
    }
}
