//! The content store, `.warden/state/store/` (this clone only, like the
//! journal): the before-state of a file bigger than [`crate::content::LARGE`]
//! that a run replaces or deletes is kept here instead of in the journal, as
//! `<RUN>/<n>` (change `n` of run `RUN`), by a hard link to the file it
//! replaces (a streamed copy where the file system has no hard links). So a
//! run writes its new content about once, and the intent frame references the
//! old content by name and digest instead of embedding it.
//!
//! An entry is used once: by the rollback of its run (recovery, a failed
//! validation) or by the undo of its run, which links it back into the tree
//! instead of copying it. Once that run is rolled back, or its undo has
//! committed, the run's entries are removed ([`remove_run`]).

use std::path::{Path, PathBuf};

/// The entry name of change `n` of run `run`.
pub fn entry(run: &str, n: usize) -> String {
    format!("{run}/{n}")
}

/// Where entry `name` lives under the store directory `store`.
pub fn path(store: &Path, name: &str) -> PathBuf {
    name.split('/').fold(store.to_path_buf(), |p, c| p.join(c))
}

/// A name recorded in a journal must be `<RUN>/<n>`, nothing that could
/// reach outside the store.
pub fn valid(name: &str) -> bool {
    let mut parts = name.split('/');
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    matches!((parts.next(), parts.next(), parts.next()), (Some(r), Some(n), None) if plain(r) && plain(n))
}

/// Remove every entry of `run` (best effort: a leftover only costs space).
pub fn remove_run(store: &Path, run: &str) {
    if valid(&entry(run, 0)) {
        let _ = std::fs::remove_dir_all(store.join(run));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_run_slash_index_names_are_valid() {
        assert!(valid("01JABCDEF/0"));
        assert!(!valid("../x/0"));
        assert!(!valid("a/b/c"));
        assert!(!valid("a"));
        assert!(!valid("a/"));
        assert!(!valid("/0"));
    }
}
