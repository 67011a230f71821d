//! A clone-local cache of parsed front matter: what each entry file (and the
//! index) parsed to, keyed by the SHA-256 of the file's bytes, in
//! `.warden/state/registry-cache.json` (ignored by git, like the rest of
//! `.warden/state/`). Loading the registry parses only the files whose bytes
//! it has not seen, so a `maintain` or `validate` after a small change parses
//! a few entries, not all of them.
//!
//! Safe by construction: parsing is a pure function of the bytes (the path
//! only words errors, and only successful parses are kept), the key is the
//! digest of those bytes, and the cache names the warden version that wrote
//! it (any other version's cache is ignored). An unreadable or damaged cache
//! is ignored; it is rewritten (temp file and rename, no fsync: losing it
//! costs only time) when a load parsed something new or saw files go. It is
//! never created where `.warden/state/` does not exist (a repository warden
//! has not been set up in stays untouched).

use crate::model::{EntryMeta, Index};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The cache file, relative to the repository root.
pub const CACHE_PATH: &str = ".warden/state/registry-cache.json";

/// Whose cache it is: another version's parse may differ.
const VERSION: &str = concat!("warden ", env!("CARGO_PKG_VERSION"), " registry-cache 1");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParseCache {
    version: String,
    /// Hex SHA-256 of an entry file -> its front matter.
    #[serde(default)]
    pub entries: HashMap<String, EntryMeta>,
    /// Hex SHA-256 of the index file and what it parsed to.
    #[serde(default)]
    pub index: Option<(String, Index)>,
}

impl Default for ParseCache {
    /// An empty cache of this version.
    fn default() -> ParseCache {
        ParseCache {
            version: VERSION.into(),
            entries: HashMap::new(),
            index: None,
        }
    }
}

impl ParseCache {
    /// An empty cache of this version.
    pub fn new() -> ParseCache {
        ParseCache::default()
    }

    /// The cache of the repository at `root`; empty when there is none, it
    /// does not parse, or another version wrote it.
    pub fn read(root: &Path) -> ParseCache {
        std::fs::read(root.join(CACHE_PATH))
            .ok()
            .and_then(|b| serde_json::from_slice::<ParseCache>(&b).ok())
            .filter(|c| c.version == VERSION)
            .unwrap_or_default()
    }

    /// Replace the repository's cache with this one (best effort: a failure
    /// costs only the next load's time). Nothing is written where
    /// `.warden/state/` does not exist.
    pub fn write(&self, root: &Path) {
        let path = root.join(CACHE_PATH);
        let Some(dir) = path.parent() else { return };
        if !dir.is_dir() {
            return;
        }
        let Ok(bytes) = serde_json::to_vec(self) else {
            return;
        };
        if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) {
            use std::io::Write as _;
            if tmp.write_all(&bytes).is_ok() {
                let _ = tmp.persist(&path);
            }
        }
    }
}
