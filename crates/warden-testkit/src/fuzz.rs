//! The seed corpus of a cargo-fuzz target, and proptest mutations of it, so
//! `cargo test` exercises a parser with hostile input where cargo-fuzz is not
//! installed (the targets themselves live in each crate's `fuzz/`).

use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// The fuzz seeds of one crate, `<crate>/fuzz/seeds/<target>/`: the one
/// header a `tests/fuzz_entry.rs` needs,
/// `const FUZZ: Seeds = Seeds::of(env!("CARGO_MANIFEST_DIR"));`, then
/// `FUZZ.seeds("target")` and `FUZZ.mutated("target")`.
#[derive(Debug, Clone, Copy)]
pub struct Seeds {
    manifest_dir: &'static str,
}

impl Seeds {
    /// The crate at `manifest_dir` (its `CARGO_MANIFEST_DIR`).
    pub const fn of(manifest_dir: &'static str) -> Seeds {
        Seeds { manifest_dir }
    }

    /// The seed directory of `target`.
    pub fn dir(&self, target: &str) -> PathBuf {
        Path::new(self.manifest_dir).join("fuzz/seeds").join(target)
    }

    /// Every seed of `target` ([`seeds`]).
    pub fn seeds(&self, target: &str) -> Vec<Vec<u8>> {
        seeds(&self.dir(target))
    }

    /// Mutations of `target`'s seeds ([`mutated`]).
    pub fn mutated(&self, target: &str) -> impl Strategy<Value = Vec<u8>> + use<> {
        mutated(self.seeds(target))
    }
}

/// Every file in `dir`, sorted by content. Panics when there is none: a
/// target without seeds would test nothing.
pub fn seeds(dir: &Path) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("seed directory {}: {e}", dir.display()))
        .map(|e| {
            let path = e.expect("seed entry").path();
            std::fs::read(&path).unwrap_or_else(|e| panic!("seed {}: {e}", path.display()))
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

/// One of `seeds` with a few random edits: byte flips (each changes the
/// byte), insertions, deletions and duplicated slices (which make repeated
/// keys and truncations likely).
pub fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        0..seeds.len(),
        prop::collection::vec((0u8..4, any::<prop::sample::Index>(), any::<u8>()), 0..6),
    )
        .prop_map(move |(i, edits)| {
            let mut b = seeds[i].clone();
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
