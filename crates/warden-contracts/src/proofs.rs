//! Remembered stamp proofs for `warden gen docs`: which document metas were
//! proven in step, and the `stat` of the meta file and its document when
//! they were. A later run whose `stat` of both files matches (size, inode,
//! modification and change times to the nanosecond) skips reading them; any
//! write to either file changes its change time (which no user-space call
//! can set back), so the pair is read and proven again.
//!
//! The proofs live in `.warden/state/gen-docs-proofs.json` (the clone's
//! ignored state; nothing git tracks) and only where that folder exists. A
//! file changed less than [`SETTLE`] before the run started is never
//! remembered: a second write within the file system's timestamp
//! granularity could otherwise leave its times unchanged ("racily clean",
//! as git calls it). A cache that cannot be read is ignored; one that
//! cannot be written is not an error.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How old a change must be before a proof of it is remembered.
pub const SETTLE: Duration = Duration::from_secs(2);

/// The cache file, relative to the repository root.
pub const FILE: &str = ".warden/state/gen-docs-proofs.json";

/// What `stat` says about a file, as far as a proof depends on it (stored
/// as one array: size, inode, mtime, ctime).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "[i128; 4]", try_from = "[i128; 4]")]
pub struct FileStat {
    pub size: u64,
    pub ino: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl FileStat {
    /// One `statx` of `path` (following symlinks, as reading does).
    pub fn of(path: &Path) -> Option<FileStat> {
        FileStat::from_metadata(&std::fs::metadata(path).ok()?)
    }

    /// A regular file's stat from its metadata (`None` for anything else).
    pub fn from_metadata(m: &std::fs::Metadata) -> Option<FileStat> {
        use std::os::unix::fs::MetadataExt;
        m.is_file().then(|| FileStat {
            size: m.size(),
            ino: m.ino(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        })
    }

    /// Changed before `cutoff_ns` (so a later write is seen as a change).
    fn settled(&self, cutoff_ns: i128) -> bool {
        self.mtime_ns < cutoff_ns && self.ctime_ns < cutoff_ns
    }
}

impl From<FileStat> for [i128; 4] {
    fn from(f: FileStat) -> Self {
        [
            i128::from(f.size),
            i128::from(f.ino),
            f.mtime_ns,
            f.ctime_ns,
        ]
    }
}

impl TryFrom<[i128; 4]> for FileStat {
    type Error = std::num::TryFromIntError;
    fn try_from([size, ino, mtime_ns, ctime_ns]: [i128; 4]) -> Result<Self, Self::Error> {
        Ok(FileStat {
            size: u64::try_from(size)?,
            ino: u64::try_from(ino)?,
            mtime_ns,
            ctime_ns,
        })
    }
}

/// One remembered proof (stored as an array: target, meta, document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    into = "(String, FileStat, FileStat)",
    from = "(String, FileStat, FileStat)"
)]
pub struct Proof {
    pub target: String,
    pub meta: FileStat,
    pub doc: FileStat,
}

impl From<Proof> for (String, FileStat, FileStat) {
    fn from(p: Proof) -> Self {
        (p.target, p.meta, p.doc)
    }
}

impl From<(String, FileStat, FileStat)> for Proof {
    fn from((target, meta, doc): (String, FileStat, FileStat)) -> Self {
        Proof { target, meta, doc }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    /// The generator the proofs were made by: another one proves nothing.
    generator: String,
    proofs: BTreeMap<String, Proof>,
}

/// The proofs of one run: those loaded, and those made or confirmed now.
pub struct Proofs {
    path: Option<PathBuf>,
    generator: String,
    cutoff_ns: i128,
    loaded: BTreeMap<String, Proof>,
    now: Mutex<BTreeMap<String, Proof>>,
}

impl Proofs {
    /// The proofs remembered for `root` by `generator` (none where the
    /// repository has no `.warden/state/`).
    pub fn load(root: &Path, generator: &str) -> Proofs {
        // The wall clock through the core's seam: now, as an age of the epoch.
        let cutoff = warden_core::context::age_of(SystemTime::UNIX_EPOCH)
            .saturating_sub(SETTLE)
            .as_nanos() as i128;
        Proofs::load_settled_before(root, generator, cutoff)
    }

    /// [`Proofs::load`], remembering only changes made before `cutoff_ns`
    /// (nanoseconds since the epoch).
    pub fn load_settled_before(root: &Path, generator: &str, cutoff_ns: i128) -> Proofs {
        let state = root.join(".warden").join("state");
        let path = state.is_dir().then(|| root.join(FILE));
        let loaded = path
            .as_deref()
            .and_then(|p| crate::discover::read(p).ok())
            .and_then(|b| serde_json::from_slice::<Stored>(&b).ok())
            .filter(|s| s.generator == generator)
            .map(|s| s.proofs)
            .unwrap_or_default();
        Proofs {
            path,
            generator: generator.to_string(),
            cutoff_ns,
            loaded,
            now: Mutex::new(BTreeMap::new()),
        }
    }

    /// Whether proofs are remembered (the repository has `.warden/state/`):
    /// without, no `stat` is taken for them.
    pub fn enabled(&self) -> bool {
        self.path.is_some()
    }

    /// No cache: every document is read and proven (tests, other tools).
    pub fn none(generator: &str) -> Proofs {
        Proofs {
            path: None,
            generator: generator.to_string(),
            cutoff_ns: 0,
            loaded: BTreeMap::new(),
            now: Mutex::new(BTreeMap::new()),
        }
    }

    /// The target of `meta_file` when its remembered proof still holds:
    /// the meta's and the document's `stat` are what they were.
    pub fn holds(&self, root: &Path, meta_file: &str) -> Option<String> {
        let p = self.loaded.get(meta_file)?;
        if FileStat::of(&root.join(meta_file))? != p.meta
            || FileStat::of(&root.join(&p.target))? != p.doc
        {
            return None;
        }
        self.keep(meta_file, p.clone());
        Some(p.target.clone())
    }

    /// Remember a proof made now from files whose `stat` was taken before
    /// they were read; a change too recent to be told apart is not kept.
    pub fn made(
        &self,
        meta_file: &str,
        target: &str,
        meta: Option<FileStat>,
        doc: Option<FileStat>,
    ) {
        let (Some(meta), Some(doc)) = (meta, doc) else {
            return;
        };
        if self.path.is_some() && meta.settled(self.cutoff_ns) && doc.settled(self.cutoff_ns) {
            self.keep(
                meta_file,
                Proof {
                    target: target.to_string(),
                    meta,
                    doc,
                },
            );
        }
    }

    fn keep(&self, meta_file: &str, p: Proof) {
        if let Ok(mut m) = self.now.lock() {
            m.insert(meta_file.to_string(), p);
        }
    }

    /// Store this run's proofs when they differ from those loaded (written
    /// to a temporary file and renamed over, so a reader sees one or the
    /// other). Best effort: the cache only saves work.
    pub fn store(self) {
        let Some(path) = self.path else { return };
        let proofs = self.now.into_inner().unwrap_or_default();
        if proofs == self.loaded {
            return;
        }
        let stored = Stored {
            generator: self.generator,
            proofs,
        };
        let Ok(bytes) = serde_json::to_vec(&stored) else {
            return;
        };
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}
