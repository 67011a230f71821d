//! The fuzz targets' entry points (`crates/warden-registry/fuzz/`), run by
//! `cargo test` over arbitrary bytes and over mutations of the fuzz seeds, so
//! every CI run exercises the entry, index, patch-file and LLM-answer parsers
//! (and the in-place front-matter rewrite) with hostile input even where
//! cargo-fuzz is not installed.
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
/// duplicated slices (repeated keys, truncations, broken indentation).
fn mutated(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let all = seeds(target);
    (
        0..all.len(),
        prop::collection::vec((0usize..4, any::<usize>(), any::<u8>(), 0usize..24), 0..5),
    )
        .prop_map(move |(i, edits)| {
            let mut b = all[i].clone();
            for (op, at, byte, len) in edits {
                let n = b.len();
                let at = if n == 0 { 0 } else { at % n };
                match op {
                    0 if n > 0 => b[at] = byte,
                    1 => b.insert(at.min(n), byte),
                    2 if n > 0 => {
                        let end = (at + len).min(n);
                        b.drain(at..end);
                    }
                    _ if n > 0 => {
                        let end = (at + len).min(n);
                        let slice = b[at..end].to_vec();
                        b.splice(at..at, slice);
                    }
                    _ => {}
                }
            }
            b
        })
}

#[test]
fn the_seeds_are_accepted() {
    for s in seeds("entry") {
        assert!(
            warden_registry::model::Entry::parse(&s, "seed.md").is_ok()
                || warden_registry::model::Index::parse(&s, "seed.yaml").is_ok(),
            "{}",
            String::from_utf8_lossy(&s)
        );
        fuzz_checks::entry(&s);
    }
    for s in seeds("patch") {
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
    fn entries_from_mutated_seeds(data in mutated("entry")) {
        fuzz_checks::entry(&data);
    }

    #[test]
    fn patches_from_mutated_seeds(data in mutated("patch")) {
        fuzz_checks::patch(&data);
    }
}
