//! The plugin-spec fuzz target's entry point (`crates/warden-plugin/fuzz/`),
//! run by `cargo test` over arbitrary bytes and mutations of the fuzz seeds.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod fuzz_checks;

use proptest::prelude::*;
use std::path::Path;

fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/plugin_spec");
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("seed directory")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("seed"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

/// A seed with a few random edits: byte flips, insertions, deletions and
/// duplicated slices (which make repeated keys and truncations likely).
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let all = seeds();
    (
        0..all.len(),
        prop::collection::vec((0u8..4, any::<prop::sample::Index>(), any::<u8>()), 0..6),
    )
        .prop_map(move |(i, edits)| {
            let mut b = all[i].clone();
            for (op, at, byte) in edits {
                if b.is_empty() {
                    b.push(byte);
                    continue;
                }
                let k = at.index(b.len());
                match op {
                    0 => b[k] ^= byte | 1,
                    1 => b.insert(k, byte),
                    2 => {
                        b.remove(k);
                    }
                    _ => {
                        let end = (k + 1 + usize::from(byte)).min(b.len());
                        let slice = b[k..end].to_vec();
                        b.splice(k..k, slice);
                    }
                }
            }
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn plugin_spec_parser_survives_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        fuzz_checks::plugin_spec(&data);
    }

    #[test]
    fn plugin_spec_parser_survives_mutated_specs(data in mutated()) {
        fuzz_checks::plugin_spec(&data);
    }
}

#[test]
fn every_seed_is_a_valid_spec() {
    for s in seeds() {
        warden_plugin::spec::PluginSpec::parse_bytes(&s, "seed.json").expect("seed parses");
        fuzz_checks::plugin_spec(&s);
    }
}
