//! The fuzz targets' entry points (`crates/warden-contracts/fuzz/`), run by
//! `cargo test` over arbitrary bytes and over mutations of the fuzz seeds, so
//! every CI run exercises the meta parser, the renderer, adopt and the
//! coverage readers with hostile input even where cargo-fuzz is not installed.
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
/// duplicated slices.
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
                let i = at.index(b.len());
                match op {
                    0 => b[i] = byte,
                    1 => b.insert(i, byte),
                    2 => {
                        b.remove(i);
                    }
                    _ => {
                        let s = b[i..].iter().take(40).copied().collect::<Vec<_>>();
                        b.splice(i..i, s);
                    }
                }
            }
            b
        })
}

#[test]
fn every_seed_passes_the_checks() {
    for s in seeds("meta") {
        fuzz_checks::meta(&s);
    }
    for s in seeds("coverage") {
        fuzz_checks::coverage(&s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn meta_mutations(data in mutated("meta")) {
        fuzz_checks::meta(&data);
    }

    #[test]
    fn meta_bytes(data in prop::collection::vec(any::<u8>(), 0..200)) {
        fuzz_checks::meta(&data);
    }

    #[test]
    fn coverage_mutations(data in mutated("coverage")) {
        fuzz_checks::coverage(&data);
    }
}
