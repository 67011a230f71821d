//! The fuzz targets' entry points (`crates/warden-core/fuzz/`), run by `cargo
//! test` over arbitrary bytes and over mutations of the fuzz seeds, so every CI
//! run exercises the proposal parser, the policy parser and the journal frame
//! reader with hostile input even where cargo-fuzz is not installed.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod fuzz_checks;

use proptest::prelude::*;
use std::path::Path;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
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
fn mutated(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let all = seeds(target);
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
    fn proposal_parser_survives_mutated_proposals(data in mutated("proposal")) {
        fuzz_checks::proposal(&data);
    }

    #[test]
    fn policy_parser_survives_arbitrary_bytes(data in bytes()) {
        fuzz_checks::policy(&data);
    }

    #[test]
    fn policy_parser_survives_mutated_policies(data in mutated("policy")) {
        fuzz_checks::policy(&data);
    }

    #[test]
    fn journal_reader_survives_arbitrary_bytes(data in bytes()) {
        fuzz_checks::journal(&data);
    }

    #[test]
    fn journal_reader_survives_mutated_journals_and_frame_bodies(data in mutated("journal")) {
        fuzz_checks::journal(&data);
    }
}

#[test]
fn every_seed_passes_the_checks() {
    for s in seeds("proposal") {
        fuzz_checks::proposal(&s);
    }
    for s in seeds("policy") {
        fuzz_checks::policy(&s);
    }
    for s in seeds("journal") {
        fuzz_checks::journal(&s);
    }
}
