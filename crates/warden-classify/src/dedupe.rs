//! Deduplication when a file's target name is taken
//! (docs/classify.md). The order is fixed and only a full sha256 decides equality:
//!
//! 1. equal sha256 → `dedupe_collapsed`: the file in place stays, the
//!    newcomer goes to quarantine as `duplicate`;
//! 2. different mtime → `dedupe_newer`: the newer has the name, the older
//!    goes to quarantine as `superseded` (for a file git tracks and that has
//!    no uncommitted change, the mtime is its last commit time: a checkout
//!    sets every file's mtime to the checkout time);
//! 3. same mtime, different size → `dedupe_larger`: the larger has the name;
//! 4. otherwise `dedupe_kept_both`: both are kept, the newcomer as
//!    `name.<sha256[:8]>.ext`, a name derived from its content, so a second
//!    run proposes nothing (no `file (1)`, `file (2)` spiral).
//!
//! Nothing is ever deleted. Mtimes compare in whole seconds (git's commit
//! times have no finer unit).

use crate::score::{DecisionPath, split_ext};
use warden_core::paths::RepoPath;
use warden_core::{Digest, Result};

/// One version of a file competing for a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub sha256: Digest,
    pub size: u64,
    /// Unix seconds, from the source [`crate::times::TimeSource`] says.
    pub mtime: i64,
}

/// Who keeps the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keeps {
    /// The version already holding the name.
    Holder,
    /// The newcomer.
    Newcomer,
    /// Both: the newcomer under [`kept_both_name`].
    Both,
}

/// Compare the holder of a name with a newcomer.
pub fn compare(holder: &Version, newcomer: &Version) -> (DecisionPath, Keeps) {
    if holder.sha256 == newcomer.sha256 {
        return (DecisionPath::DedupeCollapsed, Keeps::Holder);
    }
    if holder.mtime != newcomer.mtime {
        let k = if newcomer.mtime > holder.mtime {
            Keeps::Newcomer
        } else {
            Keeps::Holder
        };
        return (DecisionPath::DedupeNewer, k);
    }
    if holder.size != newcomer.size {
        let k = if newcomer.size > holder.size {
            Keeps::Newcomer
        } else {
            Keeps::Holder
        };
        return (DecisionPath::DedupeLarger, k);
    }
    (DecisionPath::DedupeKeptBoth, Keeps::Both)
}

/// `folder/name.<sha256[:8]>.ext` for `folder/name.ext`.
pub fn kept_both_name(target: &RepoPath, sha256: &Digest) -> Result<RepoPath> {
    let (stem, ext) = split_ext(target.file_name());
    let short = &sha256.hex()[..8];
    // The name must still fit NAME_MAX: the stem gives way first, then the
    // extension, each cut at a character boundary.
    let suffix = |ext: &str| 1 + short.len() + if ext.is_empty() { 0 } else { 1 + ext.len() };
    let ext = cut(ext, NAME_MAX.saturating_sub(2 + short.len() + 1));
    let stem = cut(stem, NAME_MAX.saturating_sub(suffix(ext)));
    let name = if ext.is_empty() {
        format!("{stem}.{short}")
    } else {
        format!("{stem}.{short}.{ext}")
    };
    let full = match target.parent() {
        Some(p) => format!("{p}/{name}"),
        None => name,
    };
    RepoPath::parse(&full, "(classifier)", "target")
}

/// The longest file name most file systems take, in bytes.
const NAME_MAX: usize = 255;

/// `s` cut to at most `max` bytes, at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_both_name_of_a_255_byte_file_no_longer_exceeds_name_max() {
        let d = Digest::of(b"x");
        let h = &d.hex()[..8];
        let long = format!("m/ledger_{}.py", "x".repeat(245));
        assert_eq!(long.len() - 2, 255);
        let got = kept_both_name(&p(&long), &d).expect("name");
        assert_eq!(got.file_name().len(), 255);
        assert_eq!(got.as_str(), format!("m/ledger_{}.{h}.py", "x".repeat(236)));
        // Multi-byte characters are never split; a huge extension gives way too.
        let wide = format!("m/{}.py", "é".repeat(127));
        let got = kept_both_name(&p(&wide), &d).expect("name");
        assert!(got.file_name().len() <= 255, "{}", got.file_name().len());
        assert!(got.file_name().ends_with(&format!(".{h}.py")));
        let ext = format!("m/a.{}", "e".repeat(253));
        let got = kept_both_name(&p(&ext), &d).expect("name");
        assert!(got.file_name().len() <= 255);
        assert!(got.file_name().starts_with(&format!("a.{h}.")));
    }

    fn v(content: &str, size: u64, mtime: i64) -> Version {
        Version {
            sha256: Digest::of(content.as_bytes()),
            size,
            mtime,
        }
    }

    #[test]
    fn the_dedupe_matrix() {
        // Equal digests collapse whatever the mtime.
        assert_eq!(
            compare(&v("a", 1, 10), &v("a", 1, 99)),
            (DecisionPath::DedupeCollapsed, Keeps::Holder)
        );
        assert_eq!(
            compare(&v("a", 1, 10), &v("b", 1, 11)),
            (DecisionPath::DedupeNewer, Keeps::Newcomer)
        );
        assert_eq!(
            compare(&v("a", 9, 12), &v("b", 1, 11)),
            (DecisionPath::DedupeNewer, Keeps::Holder)
        );
        assert_eq!(
            compare(&v("a", 1, 10), &v("b", 2, 10)),
            (DecisionPath::DedupeLarger, Keeps::Newcomer)
        );
        assert_eq!(
            compare(&v("a", 3, 10), &v("b", 2, 10)),
            (DecisionPath::DedupeLarger, Keeps::Holder)
        );
        assert_eq!(
            compare(&v("a", 1, 10), &v("b", 1, 10)),
            (DecisionPath::DedupeKeptBoth, Keeps::Both)
        );
    }

    fn p(s: &str) -> RepoPath {
        RepoPath::parse(s, "t", "t").expect("path")
    }

    #[test]
    fn kept_both_names_derive_from_the_content() {
        let d = Digest::of(b"x");
        let h = &d.hex()[..8];
        assert_eq!(
            kept_both_name(&p("m/a.py"), &d).expect("name").as_str(),
            format!("m/a.{h}.py")
        );
        assert_eq!(
            kept_both_name(&p("Makefile"), &d).expect("name").as_str(),
            format!("Makefile.{h}")
        );
    }
}
