//! File content that may be too big to hold in memory.
//!
//! Content up to [`LARGE`] bytes is held in memory ([`Content::Bytes`]), as
//! it always was. A bigger file is referenced where it lies on disk
//! ([`Content::File`]: the working tree, a staged `content_file`, the content
//! store) together with the digest it had when it was hashed, and streamed
//! whenever it is used: copied by the kernel and checked ([`write_new`]),
//! never read whole. So apply, undo, plan, diff and the journal need memory independent
//! of a file's size.

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use sha2::Digest as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files bigger than this (1 MiB) are streamed, kept in the content store
/// instead of the journal, and their diffs are summarised instead of rendered.
pub const LARGE: u64 = 1 << 20;

/// The buffer of a streamed read.
const CHUNK: usize = 1 << 20;

/// How long after a file's last change (its ctime) a [`Stamp`] of it is
/// trusted: twice the coarsest kernel clock tick (10 ms at HZ=100).
pub const RACY: std::time::Duration = std::time::Duration::from_millis(20);

/// From this size on, [`hash_file`] waits for a file changed less than
/// [`RACY`] ago to settle before it reads it, so that its stamp can be kept:
/// hashing it again later would cost more than the wait (SHA-256 of 64 MiB
/// takes ~35 ms on the project's machine). An undo right after its apply
/// reads such a file.
const SETTLE_FROM: u64 = 64 << 20;

/// What a file looked like when it was hashed: if it still looks the same,
/// its content has not been replaced since (the same test `git status` uses
/// for its index, with nanosecond times and the inode).
///
/// Only a stamp taken [`RACY`] or more after the file's last change is kept
/// (see [`hash_file`]): a kernel without fine-grained timestamps stamps every
/// change within one clock tick (up to 10 ms) with the same time, so a file
/// changed again in the tick of its stamp would still look the same. Git
/// calls such an entry "racily clean" and hashes it again; so does warden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "StampRecord", from = "StampRecord")]
pub struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

/// A [`Stamp`] as the journal keeps it (the frame headers are internally
/// tagged, and serde cannot buffer 128-bit integers there): nanoseconds
/// since the epoch fit an `i64` until 2262.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StampRecord {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

impl From<Stamp> for StampRecord {
    fn from(s: Stamp) -> Self {
        let ns = |t: i128| i64::try_from(t).unwrap_or(i64::MIN);
        StampRecord {
            dev: s.dev,
            ino: s.ino,
            len: s.len,
            mtime_ns: ns(s.mtime_ns),
            ctime_ns: ns(s.ctime_ns),
        }
    }
}

impl From<StampRecord> for Stamp {
    fn from(r: StampRecord) -> Self {
        Stamp {
            dev: r.dev,
            ino: r.ino,
            len: r.len,
            mtime_ns: i128::from(r.mtime_ns),
            ctime_ns: i128::from(r.ctime_ns),
        }
    }
}

impl Stamp {
    #[cfg(unix)]
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        }
    }

    #[cfg(not(unix))]
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        Stamp {
            dev: 0,
            ino: 0,
            len: meta.len(),
            mtime_ns,
            ctime_ns: 0,
        }
    }

    /// The file's length when it was stamped.
    pub fn file_len(&self) -> u64 {
        self.len
    }

    /// Whether the file at `path` still has this stamp.
    pub fn holds(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && Stamp::of(&m) == *self)
    }

    /// Whether `later` is this file with the content this stamp saw, as far
    /// as a stamp can tell (device, inode, length, modification time), with
    /// only its change time moved: a temp file renamed into place.
    pub fn same_but_change_time(&self, later: &Stamp) -> bool {
        (self.dev, self.ino, self.len, self.mtime_ns)
            == (later.dev, later.ino, later.len, later.mtime_ns)
    }

    /// When the file last changed (content, mode, owner, xattrs, or times
    /// set by hand): its ctime, else its mtime where there is none.
    fn changed_at(&self) -> std::time::SystemTime {
        let ns = if cfg!(unix) {
            self.ctime_ns
        } else {
            self.mtime_ns
        };
        let ns = u64::try_from(ns).unwrap_or(0);
        std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns)
    }

    /// This stamp, if the file last changed at least [`RACY`] before `at`
    /// (when it was taken); `None` for a racily clean one.
    fn unless_racy(self, at: std::time::SystemTime) -> Option<Stamp> {
        self.racy_for(at).is_none().then_some(self)
    }

    /// How much longer than `at` the file must stay unchanged before a stamp
    /// of it can be trusted; `None` when it already can. A file time ahead
    /// of the clock (set back, or another machine's file system) would never
    /// settle: such a stamp is racy, and there is nothing to wait for.
    fn racy_for(&self, at: std::time::SystemTime) -> Option<std::time::Duration> {
        match at.duration_since(self.changed_at()) {
            Ok(age) if age >= RACY => None,
            Ok(age) => Some(RACY - age),
            Err(_) => Some(std::time::Duration::ZERO),
        }
    }
}

/// A file's content: in memory, or a file on disk whose content had the
/// digest recorded beside it when it was hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Bytes(Arc<Vec<u8>>),
    File {
        path: PathBuf,
        len: u64,
        /// The file's stamp when it was hashed; `None` for files warden owns
        /// (the content store) and for racily clean stamps (see [`Stamp`]),
        /// whose content is read back or hashed again wherever it matters.
        stamp: Option<Stamp>,
    },
}

impl Default for Content {
    fn default() -> Self {
        Content::Bytes(Arc::new(Vec::new()))
    }
}

impl Content {
    pub fn len(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bigger than [`LARGE`]: streamed, stored, summarised.
    pub fn is_large(&self) -> bool {
        self.len() > LARGE
    }

    /// The bytes, when they are in memory.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Content::Bytes(b) => Some(b),
            Content::File { .. } => None,
        }
    }

    /// The whole content in memory (read from disk for a file). Only for
    /// callers that need the text itself (an AUTO fence patch), never on the
    /// paths that copy content.
    pub fn load(&self) -> Result<std::borrow::Cow<'_, [u8]>> {
        match self {
            Content::Bytes(b) => Ok(std::borrow::Cow::Borrowed(b)),
            Content::File { path, .. } => Ok(std::borrow::Cow::Owned(
                std::fs::read(path).io("read", path)?,
            )),
        }
    }
}

/// Hash the file at `path` by streaming it. Returns its digest, length and
/// the stamp it had, `None` when the stamp is racily clean (the file changed
/// less than [`RACY`] before it was looked at, see [`Stamp`]; a file of 64
/// MiB or more is given that long to settle first); a file that changes
/// while it is read is read again.
pub fn hash_file(path: &Path) -> Result<(Digest, u64, Option<Stamp>)> {
    hash_settled(path, SETTLE_FROM)
}

/// [`hash_file`], waiting for files of `settle_from` bytes or more.
fn hash_settled(path: &Path, settle_from: u64) -> Result<(Digest, u64, Option<Stamp>)> {
    let mut buf = vec![0u8; CHUNK];
    for _ in 0..3 {
        let mut looked = crate::context::wall_clock();
        let mut before = std::fs::symlink_metadata(path).io("inspect", path)?;
        if before.len() >= settle_from
            && let Some(wait) = Stamp::of(&before).racy_for(looked)
        {
            std::thread::sleep(wait);
            looked = crate::context::wall_clock();
            before = std::fs::symlink_metadata(path).io("inspect", path)?;
        }
        let mut f = std::fs::File::open(path).io("open", path)?;
        let mut h = sha2::Sha256::new();
        let mut len = 0u64;
        loop {
            let n = f.read(&mut buf).io("read", path)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            len += n as u64;
        }
        let stamp = Stamp::of(&before);
        let after = std::fs::symlink_metadata(path).io("inspect", path)?;
        if Stamp::of(&after) == stamp && len == stamp.len {
            return Ok((Digest(h.finalize().into()), len, stamp.unless_racy(looked)));
        }
    }
    Err(Error::Io {
        op: "read",
        path: path.to_path_buf(),
        source: std::io::Error::other("the file kept changing while it was read"),
    })
}

/// The stamps of files warden has just renamed into place, each taken
/// right after its rename, kept for a later look (an undo's check that the
/// file is still what the run wrote) only once they can be trusted (see
/// [`Stamp`]): when a file of [`SETTLE_FROM`] bytes or more changed less
/// than [`RACY`] ago, the rest of that time is waited out first (hashing it
/// again later costs more than the wait); a file that no longer has its
/// stamp is left out, and so is a racily clean one.
pub fn settled_stamps<K>(files: Vec<(K, PathBuf, Stamp)>) -> Vec<(K, Stamp)> {
    let now = crate::context::wall_clock();
    if let Some(wait) = files
        .iter()
        .filter(|(_, _, s)| s.len >= SETTLE_FROM)
        .filter_map(|(_, _, s)| s.racy_for(now))
        .max()
    {
        std::thread::sleep(wait);
    }
    let looked = crate::context::wall_clock();
    files
        .into_iter()
        .filter(|(_, path, stamp)| stamp.holds(path))
        .filter_map(|(key, _, stamp)| stamp.unless_racy(looked).map(|s| (key, s)))
        .collect()
}

/// Write `content` to a fresh file at `dest` (which must not exist), set its
/// mode, and fsync it when `sync`. Content on disk is streamed. If it no
/// longer has `digest` (a staged file changed since it was checked), nothing
/// is left behind and this is an error: a file that still has the stamp it
/// had when it was hashed, before and after the copy, is taken to be
/// unchanged (the test `git status` trusts); for any other file the copy is
/// read back and hashed, and its digest compared.
pub fn write_new(
    dest: &Path,
    content: &Content,
    digest: Digest,
    mode: u32,
    sync: bool,
) -> Result<()> {
    let (src, len, stamp) = match content {
        Content::Bytes(b) => return crate::fsutil::write_new_synced(dest, b, mode, sync),
        Content::File { path, len, stamp } => (path, *len, *stamp),
    };
    let trusted = stamp.filter(|s| s.holds(src));
    let result = (|| {
        let mut from = std::fs::File::open(src).io("open", src)?;
        let mut to = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(dest)
            .io("create", dest)?;
        // The kernel copies file to file (`copy_file_range`, else
        // `sendfile`, else a read/write loop: `std::io::copy`'s choice), so
        // the bytes never pass through a buffer of ours on the way in: on
        // the project's machine that takes 0.6 s for 2 GiB where writing
        // them from memory took 3–5 s. Content that must be checked is
        // hashed by reading back what was written, so the check is of the
        // very bytes that will be renamed into place.
        let n_total = std::io::copy(&mut from, &mut to).io("copy to", dest)?;
        let changed = |found: String| Error::Corrupt {
            path: src.clone(),
            message: format!(
                "its content changed since it was checked (sha256 {} expected; {found})",
                digest.short()
            ),
        };
        match trusted {
            Some(s) if !s.holds(src) || n_total != len => {
                return Err(changed("it changed while it was copied".into()));
            }
            Some(_) => {}
            None => {
                use std::io::Seek;
                to.rewind().io("read back", dest)?;
                let mut h = sha2::Sha256::new();
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = to.read(&mut buf).io("read back", dest)?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                let got = Digest(h.finalize().into());
                if got != digest || n_total != len {
                    return Err(changed(format!("{} found", got.short())));
                }
            }
        }
        crate::fsutil::set_mode(dest, mode)?;
        if sync {
            to.sync_all().io("fsync", dest)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result
}

/// Put a second name `dest` on the file `src` (a hard link), or, where the
/// file system cannot (another device, no hard links), a durable streamed
/// copy, read back and checked against `digest`. A file that already has
/// another name is copied too: a write through that name (a link made
/// outside the repository) would otherwise change what `dest` keeps. Either
/// way `dest` must not exist. Returns whether it linked.
pub fn link_or_copy(src: &Path, dest: &Path, digest: Digest, len: u64) -> Result<bool> {
    let linked = if other_names(src) {
        Err(std::io::Error::other("the file has another name"))
    } else {
        std::fs::hard_link(src, dest)
    };
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e).io("link", dest),
        Err(_) => {
            let meta = std::fs::metadata(src).io("inspect", src)?;
            let content = Content::File {
                path: src.to_path_buf(),
                len,
                stamp: None,
            };
            write_new(dest, &content, digest, crate::fsutil::mode_of(&meta), true)?;
            Ok(false)
        }
    }
}

/// Whether the file at `path` has more than one name (hard link count).
#[cfg(unix)]
fn other_names(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.nlink() > 1)
}

#[cfg(not(unix))]
fn other_names(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_copy_checks_the_digest_and_leaves_nothing_on_a_mismatch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src");
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &data).expect("write");
        let (d, len, _) = hash_file(&src).expect("hash");
        assert_eq!(d, Digest::of(&data));
        assert_eq!(len, data.len() as u64);
        let stamp = Stamp::of(&std::fs::symlink_metadata(&src).expect("stat"));
        assert!(stamp.holds(&src));
        let c = Content::File {
            path: src.clone(),
            len,
            stamp: Some(stamp),
        };
        let dest = dir.path().join("dest");
        write_new(&dest, &c, d, 0o640, true).expect("copy");
        assert_eq!(std::fs::read(&dest).expect("read"), data);
        let wrong = dir.path().join("wrong");
        // Without a stamp to trust, the copy is hashed and compared.
        let unstamped = Content::File {
            path: src.clone(),
            len,
            stamp: None,
        };
        let err =
            write_new(&wrong, &unstamped, Digest::of(b"other"), 0o644, true).expect_err("refused");
        assert!(err.to_string().contains("changed since"), "{err}");
        assert!(!wrong.exists(), "a refused copy leaves nothing behind");
        std::fs::write(&src, b"replaced").expect("write");
        assert!(
            !stamp.holds(&src),
            "a replaced file no longer has its stamp"
        );
    }

    #[test]
    fn a_kernel_copy_from_another_file_system_is_checked_the_same_way() {
        // `std::io::copy` falls back from `copy_file_range` across file
        // systems (tmpfs to the temp dir's); both the trusted and the
        // read-back check must still hold there.
        let shm = std::path::Path::new("/dev/shm");
        let Ok(other) = tempfile::tempdir_in(shm) else {
            return; // no tmpfs here: the same-file-system test covers the copy
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let src = other.path().join("src");
        let data: Vec<u8> = (0..2 * CHUNK + 5).map(|i| (i % 241) as u8).collect();
        std::fs::write(&src, &data).expect("write");
        let (d, len, _) = hash_file(&src).expect("hash");
        let stamp = Stamp::of(&std::fs::symlink_metadata(&src).expect("stat"));
        for (name, stamp) in [("trusted", Some(stamp)), ("read back", None)] {
            let dest = dir.path().join(name);
            let c = Content::File {
                path: src.clone(),
                len,
                stamp,
            };
            write_new(&dest, &c, d, 0o600, true).expect(name);
            assert_eq!(std::fs::read(&dest).expect("read"), data, "{name}");
        }
        let c = Content::File {
            path: src.clone(),
            len,
            stamp: None,
        };
        let wrong = dir.path().join("wrong");
        let err = write_new(&wrong, &c, Digest::of(b"x"), 0o600, true).expect_err("refused");
        assert!(err.to_string().contains("changed since"), "{err}");
        assert!(!wrong.exists(), "a refused copy leaves nothing behind");
    }

    #[test]
    fn a_stamp_taken_within_a_clock_tick_of_the_last_change_is_not_trusted() {
        // A kernel with coarse timestamps gives a change made in the same
        // tick the same ctime, so such a stamp could hold over new content.
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("f");
        std::fs::write(&f, b"one").expect("write");
        let stamp = Stamp::of(&std::fs::symlink_metadata(&f).expect("stat"));
        let changed = stamp.changed_at();
        let tick = std::time::Duration::from_millis(10);
        assert_eq!(stamp.unless_racy(changed), None);
        assert_eq!(stamp.unless_racy(changed + tick), None);
        assert_eq!(stamp.unless_racy(changed + RACY - tick), None);
        assert_eq!(stamp.unless_racy(changed + RACY), Some(stamp));
        // A clock behind the file's time (set back, or another machine's
        // file system) proves nothing either, and there is nothing to wait for.
        assert_eq!(stamp.unless_racy(changed - RACY), None);
        assert_eq!(
            stamp.racy_for(changed - RACY),
            Some(std::time::Duration::ZERO)
        );
        assert_eq!(stamp.racy_for(changed + RACY), None);
        assert_eq!(stamp.racy_for(changed + RACY / 4), Some(RACY - RACY / 4));
    }

    #[test]
    fn a_big_file_changed_just_now_is_given_time_to_settle_and_keeps_its_stamp() {
        // An undo right after its apply hashes the file the apply just
        // wrote: past SETTLE_FROM, waiting RACY is cheaper than hashing it a
        // second time later because its stamp was racy.
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("f");
        std::fs::write(&f, b"just written").expect("write");
        let (d, _, stamp) = hash_settled(&f, 0).expect("hash");
        assert_eq!(d, Digest::of(b"just written"));
        let stamp = stamp.expect("the file was given time to settle");
        assert!(stamp.holds(&f));
        assert!(
            crate::context::wall_clock()
                .duration_since(stamp.changed_at())
                .is_ok_and(|age| age >= RACY),
            "it was hashed only once it had settled"
        );
    }

    #[test]
    fn hash_file_keeps_the_stamp_of_a_file_that_settled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("f");
        std::fs::write(&f, b"settled").expect("write");
        std::thread::sleep(RACY + std::time::Duration::from_millis(20));
        let (d, len, stamp) = hash_file(&f).expect("hash");
        assert_eq!((d, len), (Digest::of(b"settled"), 7));
        let stamp = stamp.expect("a file last changed before RACY is stamped");
        assert!(stamp.holds(&f));
    }

    #[test]
    fn link_or_copy_links_on_the_same_file_system() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src");
        std::fs::write(&src, b"kept").expect("write");
        let dest = dir.path().join("dest");
        assert!(link_or_copy(&src, &dest, Digest::of(b"kept"), 4).expect("link"));
        assert_eq!(std::fs::read(&dest).expect("read"), b"kept");
        assert!(link_or_copy(&src, &dest, Digest::of(b"kept"), 4).is_err());
    }
}
