//! The plugin-spec fuzz target's entry point (`crates/warden-plugin/fuzz/`),
//! run by `cargo test` over arbitrary bytes and mutations of the fuzz seeds.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod fuzz_checks;

use proptest::prelude::*;
use warden_testkit::fuzz::Seeds;

const FUZZ: Seeds = Seeds::of(env!("CARGO_MANIFEST_DIR"));

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn plugin_spec_parser_survives_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        fuzz_checks::plugin_spec(&data);
    }

    #[test]
    fn plugin_spec_parser_survives_mutated_specs(data in FUZZ.mutated("plugin_spec")) {
        fuzz_checks::plugin_spec(&data);
    }
}

#[test]
fn every_seed_is_a_valid_spec() {
    for s in FUZZ.seeds("plugin_spec") {
        warden_plugin::spec::PluginSpec::parse_bytes(&s, "seed.json").expect("seed parses");
        fuzz_checks::plugin_spec(&s);
    }
}
