//! "The repo is verified unchanged after each plugin run" (G9), independently
//! of the kernel: a fingerprint of every file, directory and symlink before
//! and after — its type, content fingerprint (size, mtime, inode), change
//! time, mode, owner and extended attributes. When the file system sandbox
//! is not enforced the snapshot also keeps the content of every file, so a
//! content change can be rolled back exactly. Metadata (modes, owners,
//! xattrs, directories, symlinks) is always restorable from the snapshot
//! itself.
//!
//! **The change time.** A process that may write a file may also set its
//! mtime back (`utimensat`), so a same-size rewrite in place keeps size,
//! mtime and inode. It cannot set the change time (ctime), which every write
//! and every metadata change moves. A file whose ctime moved while the rest
//! of its fingerprint did not is compared byte for byte with its kept
//! content; when no content was kept (the sandbox was enforced), a moved
//! ctime with its mode, owner and xattrs unchanged counts as a content
//! change, since nothing else explains it.
//!
//! The areas the runtime writes itself (`.runs/`, `.warden/state/`) are
//! watched for metadata only: a plugin that makes the journal unreadable
//! (`chmod 000 .warden/state/journal`) is caught and undone too. Two files
//! there are written only by the writer holding the lock, which is the
//! dispatch itself, so they are compared and kept in full: the journal
//! (whose last intent frame the next start acts on) and the writer's id.
//!
//! **Bounded snapshots.** `.runs/` gains a directory with every run, so a
//! full walk around every plugin costs more with every past run; `.git/`
//! holds most of a repository's entries (objects, refs, hooks). When the
//! sandbox helper enforces both the file system rules (Landlock) and the
//! read-only mount of the repository, a plugin cannot write, create, remove,
//! chmod, chown or set an xattr anywhere in the repository, `.runs/` and
//! `.git/` included (the test
//! `a_sandboxed_sh_plugin_cannot_write_create_chmod_or_remove_anything_under_dot_git`
//! of warden-cli proves it for `.git/`); the runtime then takes a *bounded*
//! snapshot ([`Snapshot::take_bounded`]): `.runs/` and `.git/` themselves
//! with their metadata, and only the names of their top-level entries (a
//! removed one still shows), without the content or metadata of anything
//! below. Without those layers the full walk stays.
//!
//! **A git directory outside the working tree.** When `.git` is a file
//! (`gitdir: …`: a linked worktree, a `--separate-git-dir` repository), the
//! git directory it names and its common directory are part of the
//! repository too ([`git_dirs_outside`]): the helper binds them read-only
//! like the working tree, and every snapshot takes them in as it takes
//! `.git/`, keyed by their absolute paths. A bounded snapshot reads the
//! metadata of their top-level entries (and `.git/`'s), not only the names.
//! What changed out there is reported; its metadata is put back, its content
//! cannot be (the engine writes only inside the working tree).

use std::collections::BTreeMap;
use std::path::Path;
use warden_core::Result;
use warden_core::engine::{FileContent, Session};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub kind: Kind,
    pub len: u64,
    pub mtime_ns: i128,
    /// The change time, which no unprivileged process can set (see the module docs).
    pub ctime_ns: i128,
    /// Permission bits (`0o7777`: setuid, setgid and sticky included).
    pub mode: u32,
    pub ino: u64,
    pub uid: u32,
    pub gid: u32,
    /// Every extended attribute (user, security, ACLs), by name.
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// The inode flags that lock a file (`chattr +i`, `+a`): [`IMMUTABLE`],
    /// [`APPEND`].
    pub flags: u8,
    /// A file's number of hard links: one made outside the repository gives
    /// whoever holds it a way to write the file later.
    pub links: u64,
    /// A symlink's target.
    pub target: Option<std::path::PathBuf>,
}

impl Meta {
    fn same_content(&self, o: &Meta) -> bool {
        self.kind == o.kind
            && (self.kind == Kind::Dir
                || (self.len == o.len
                    && self.mtime_ns == o.mtime_ns
                    && self.ino == o.ino
                    && self.target == o.target))
    }
    fn same_metadata(&self, o: &Meta) -> bool {
        (self.kind == Kind::Symlink || self.mode == o.mode)
            && self.uid == o.uid
            && self.gid == o.gid
            && self.xattrs == o.xattrs
            && self.flags == o.flags
            && self.links == o.links
    }
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The directory the snapshot was taken of.
    pub root: std::path::PathBuf,
    pub files: BTreeMap<String, Meta>,
    /// Content (and mode) of every regular file, when taken with content.
    pub content: BTreeMap<String, (Vec<u8>, u32)>,
    /// Entries of the runtime's own areas, compared for metadata only.
    pub meta_only: BTreeMap<String, Meta>,
    /// Directories that could not be listed (a plugin made them unreadable):
    /// their entries are missing from this snapshot.
    pub unreadable: Vec<String>,
    /// Taken bounded: `.runs/` and `.git/` only to the names of their
    /// top-level entries.
    pub bounded: bool,
    /// In a bounded snapshot, the names of the top-level entries of each
    /// bounded area (`.runs`, `.git`) that is a directory.
    pub listed: BTreeMap<String, std::collections::BTreeSet<String>>,
    /// How many entries had their metadata read (the walk's cost).
    pub visited: u64,
    /// Entries whose name is not UTF-8, by the bytes of their path (not
    /// walked into): compared for presence and fingerprint. The engine, whose
    /// paths are UTF-8, cannot restore them; [`roll_back`] moves a new one to
    /// the quarantine lane and names any other change as not restored.
    pub odd: BTreeMap<Vec<u8>, Meta>,
}

/// Areas the runtime itself writes between snapshots (never plugins).
const SKIP: &[&str] = &[".runs", ".warden/state"];
/// The files of those areas that only the writer holding the lock (this
/// dispatch) ever writes: compared in full and kept like the working tree's.
/// A line appended to the journal would otherwise be acted on by the next
/// start's recovery, after every check.
const WRITER_ONLY: &[&str] = &[".warden/state/journal", ".warden/state/writer"];
/// The run history and git's own directory, listed only to their top level
/// by a bounded snapshot.
const BOUNDED: &[&str] = &[".runs", ".git"];

/// How one path differs between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The path; a name that is not UTF-8 shows its bytes escaped (`\xff`).
    pub path: String,
    pub before: Option<Meta>,
    pub after: Option<Meta>,
    /// Content, type or presence changed (not only metadata).
    pub content: bool,
    /// The path's bytes, when a name on it is not UTF-8.
    pub raw: Option<Vec<u8>>,
}

impl Change {
    /// What changed, for the fault message: `mode 0644 -> 0777`, `added`, ….
    pub fn describe(&self) -> String {
        let (b, a) = match (&self.before, &self.after) {
            (None, _) => return format!("{}: added", self.path),
            (_, None) => return format!("{}: removed", self.path),
            (Some(b), Some(a)) => (b, a),
        };
        let mut what = Vec::new();
        if b.kind != a.kind {
            what.push(format!("type {:?} -> {:?}", b.kind, a.kind));
        } else if self.content {
            what.push("content".to_string());
        }
        if b.kind != Kind::Symlink && b.mode != a.mode {
            what.push(format!("mode {:04o} -> {:04o}", b.mode, a.mode));
        }
        if (b.uid, b.gid) != (a.uid, a.gid) {
            what.push(format!("owner {}:{} -> {}:{}", b.uid, b.gid, a.uid, a.gid));
        }
        if b.links != a.links {
            what.push(format!("hard links {} -> {}", b.links, a.links));
        }
        if b.flags != a.flags {
            let shown = |f: u8| {
                let mut s = String::new();
                if f & IMMUTABLE != 0 {
                    s.push('i');
                }
                if f & APPEND != 0 {
                    s.push('a');
                }
                if s.is_empty() { "-".to_string() } else { s }
            };
            what.push(format!("flags {} -> {}", shown(b.flags), shown(a.flags)));
        }
        if b.xattrs != a.xattrs {
            let names: Vec<&str> = b
                .xattrs
                .keys()
                .chain(a.xattrs.keys())
                .filter(|k| b.xattrs.get(*k) != a.xattrs.get(*k))
                .map(String::as_str)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            what.push(format!("xattrs {}", names.join(",")));
        }
        format!("{}: {}", self.path, what.join(", "))
    }
}

fn meta_of(path: &Path, m: &std::fs::Metadata) -> Meta {
    let ft = m.file_type();
    let kind = if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File
    } else {
        Kind::Other
    };
    let target = if kind == Kind::Symlink {
        std::fs::read_link(path).ok()
    } else {
        None
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Meta {
            kind,
            len: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
            mode: m.mode() & 0o7777,
            ino: m.ino(),
            uid: m.uid(),
            gid: m.gid(),
            xattrs: xattrs_of(path),
            flags: if kind == Kind::Symlink {
                0
            } else {
                flags_of(path)
            },
            links: if kind == Kind::File { m.nlink() } else { 0 },
            target,
        }
    }
    #[cfg(not(unix))]
    {
        Meta {
            kind,
            len: m.len(),
            mtime_ns: m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128),
            ctime_ns: 0,
            mode: 0,
            ino: 0,
            uid: 0,
            gid: 0,
            xattrs: BTreeMap::new(),
            flags: 0,
            links: 0,
            target,
        }
    }
}

/// The immutable flag (`chattr +i`): no write, rename, unlink or chmod.
pub const IMMUTABLE: u8 = 1;
/// The append-only flag (`chattr +a`).
pub const APPEND: u8 = 2;

/// `path`'s [`IMMUTABLE`] and [`APPEND`] flags, from statx (no open).
#[cfg(target_os = "linux")]
fn flags_of(path: &Path) -> u8 {
    use rustix::fs::{AtFlags, CWD, StatxAttributes, StatxFlags, statx};
    let Ok(st) = statx(CWD, path, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::empty()) else {
        return 0;
    };
    let have: StatxAttributes = st.stx_attributes & st.stx_attributes_mask;
    u8::from(have.contains(StatxAttributes::IMMUTABLE)) * IMMUTABLE
        + u8::from(have.contains(StatxAttributes::APPEND)) * APPEND
}

#[cfg(not(target_os = "linux"))]
fn flags_of(_path: &Path) -> u8 {
    0
}

/// Set `path`'s [`IMMUTABLE`] and [`APPEND`] flags to `want` (only root, or
/// `CAP_LINUX_IMMUTABLE`, can set them; anyone else never has them to undo).
#[cfg(target_os = "linux")]
fn set_flags(path: &Path, want: u8) -> std::io::Result<()> {
    use rustix::fs::{IFlags, Mode, OFlags, ioctl_getflags, ioctl_setflags, open};
    let fd = open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut flags = ioctl_getflags(&fd)?;
    flags.set(IFlags::IMMUTABLE, want & IMMUTABLE != 0);
    flags.set(IFlags::APPEND, want & APPEND != 0);
    ioctl_setflags(&fd, flags)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn set_flags(_path: &Path, _want: u8) -> std::io::Result<()> {
    Ok(())
}

/// Every extended attribute of `path` (not following a symlink). A file
/// system without xattrs has none.
#[cfg(target_os = "linux")]
fn xattrs_of(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    // One call for the common case (no or few attributes); ask for the size
    // only when the names do not fit.
    let mut names = vec![0u8; 1024];
    match rustix::fs::llistxattr(path, &mut names) {
        Ok(0) => return out,
        Ok(len) => names.truncate(len),
        Err(rustix::io::Errno::RANGE) => match xattr_names_sized(path) {
            Some(n) => names = n,
            None => return out,
        },
        Err(_) => return out,
    }
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let Ok(n) = rustix::fs::lgetxattr_query(path, name) else {
            continue;
        };
        let mut value = vec![0u8; n];
        if let Ok(len) = rustix::fs::lgetxattr(path, name, &mut value) {
            value.truncate(len);
            out.insert(String::from_utf8_lossy(name).into_owned(), value);
        }
    }
    out
}

/// The attribute names of `path` when they do not fit the first buffer: ask
/// for their size, then read them (again if they grew in between).
#[cfg(target_os = "linux")]
fn xattr_names_sized(path: &Path) -> Option<Vec<u8>> {
    for _ in 0..4 {
        let n = rustix::fs::llistxattr_query(path).ok()?;
        let mut names = vec![0u8; n];
        match rustix::fs::llistxattr(path, &mut names) {
            Ok(len) => {
                names.truncate(len);
                return Some(names);
            }
            Err(rustix::io::Errno::RANGE) => continue,
            Err(_) => return None,
        }
    }
    None
}

#[cfg(not(target_os = "linux"))]
fn xattrs_of(_path: &Path) -> BTreeMap<String, Vec<u8>> {
    BTreeMap::new()
}

impl Snapshot {
    pub fn take(root: &Path, with_content: bool) -> std::io::Result<Snapshot> {
        Snapshot::take_bounded(root, with_content, false)
    }

    /// [`Snapshot::take`]; with `bounded`, `.runs/` is listed only to the
    /// names of its top-level entries (see the module docs: only for plugins
    /// run with the file system and metadata layers enforced).
    pub fn take_bounded(
        root: &Path,
        with_content: bool,
        bounded: bool,
    ) -> std::io::Result<Snapshot> {
        let mut snap = Snapshot {
            root: root.to_path_buf(),
            bounded,
            ..Snapshot::default()
        };
        walk(root, "", with_content, false, &mut snap)?;
        for dir in git_dirs_outside(root) {
            let key = dir.to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&dir)?;
            snap.files.insert(key.clone(), meta_of(&dir, &meta));
            snap.visited += 1;
            if bounded {
                list_top(&dir, &key, &mut snap)?;
            } else {
                walk(&dir, &key, false, false, &mut snap)?;
            }
        }
        Ok(snap)
    }

    /// Every path whose presence, type, content fingerprint, mode, owner or
    /// xattrs differ, sorted; in the runtime's own areas only metadata of
    /// paths present in both counts.
    pub fn diff(&self, after: &Snapshot) -> Vec<Change> {
        let mut out = Vec::new();
        for (p, b) in &self.files {
            match after.files.get(p) {
                Some(a) if a == b => {}
                Some(a) => {
                    let content = !self.same_content(p, b, a);
                    if content || !b.same_metadata(a) {
                        out.push(Change {
                            path: p.clone(),
                            before: Some(b.clone()),
                            after: Some(a.clone()),
                            content,
                            raw: None,
                        });
                    }
                }
                None => out.push(Change {
                    path: p.clone(),
                    before: Some(b.clone()),
                    after: None,
                    content: true,
                    raw: None,
                }),
            }
        }
        for (p, a) in &after.files {
            if !self.files.contains_key(p) {
                out.push(Change {
                    path: p.clone(),
                    before: None,
                    after: Some(a.clone()),
                    content: true,
                    raw: None,
                });
            }
        }
        for (p, b) in &self.meta_only {
            if let Some(a) = after.meta_only.get(p)
                && (b.kind != a.kind || !b.same_metadata(a))
            {
                out.push(Change {
                    path: p.clone(),
                    before: Some(b.clone()),
                    after: Some(a.clone()),
                    content: false,
                    raw: None,
                });
            }
        }
        self.removed_listed(after, &mut out);
        let keys: std::collections::BTreeSet<&Vec<u8>> =
            self.odd.keys().chain(after.odd.keys()).collect();
        for k in keys {
            let (b, a) = (self.odd.get(k), after.odd.get(k));
            if b != a {
                out.push(Change {
                    path: escaped(k),
                    before: b.cloned(),
                    after: a.cloned(),
                    content: true,
                    raw: Some(k.clone()),
                });
            }
        }
        out.sort_by(|x, y| x.path.cmp(&y.path));
        out
    }

    /// Whether `path` kept its content from `b` (this snapshot) to `a`: the
    /// fingerprint, and for a file whose change time moved, its kept bytes
    /// (or, without them, a metadata change that explains the move).
    fn same_content(&self, path: &str, b: &Meta, a: &Meta) -> bool {
        if !b.same_content(a) {
            return false;
        }
        if b.kind != Kind::File || b.ctime_ns == a.ctime_ns {
            return true;
        }
        match self.content.get(path) {
            Some((kept, _)) => std::fs::read(self.root.join(path)).is_ok_and(|now| &now == kept),
            None => !b.same_metadata(a),
        }
    }

    /// A bounded snapshot knows only the names of the top-level entries of
    /// its bounded areas: a removed one shows (it cannot be put back from
    /// here). New names do not: read-only commands add run directories
    /// without the lock, and git adds its lock files.
    fn removed_listed(&self, after: &Snapshot, out: &mut Vec<Change>) {
        if !after.bounded {
            return;
        }
        let empty = std::collections::BTreeSet::new();
        for (area, names) in &self.listed {
            let now = after.listed.get(area).unwrap_or(&empty);
            for name in names.difference(now) {
                out.push(Change {
                    path: format!("{area}/{name}"),
                    before: Some(Meta {
                        kind: Kind::Other,
                        len: 0,
                        mtime_ns: 0,
                        ctime_ns: 0,
                        mode: 0,
                        ino: 0,
                        uid: 0,
                        gid: 0,
                        xattrs: BTreeMap::new(),
                        flags: 0,
                        links: 0,
                        target: None,
                    }),
                    after: None,
                    content: true,
                    raw: None,
                });
            }
        }
    }

    /// Paths whose presence or fingerprint differs, sorted.
    pub fn changed(&self, after: &Snapshot) -> Vec<String> {
        self.diff(after).into_iter().map(|c| c.path).collect()
    }
}

fn walk(
    dir: &Path,
    prefix: &str,
    with_content: bool,
    meta_only: bool,
    snap: &mut Snapshot,
) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        // `chmod 000` on a directory must not stop the check: it is recorded
        // (its mode differs) and `roll_back` lists it again once restored.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && !prefix.is_empty() => {
            snap.unreadable.push(prefix.to_string());
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    for ent in entries {
        let ent = ent?;
        let Some(name) = ent.file_name().to_str().map(str::to_string) else {
            let path = ent.path();
            let meta = std::fs::symlink_metadata(&path)?;
            let mut key = if prefix.is_empty() {
                Vec::new()
            } else {
                format!("{prefix}/").into_bytes()
            };
            key.extend_from_slice(ent.file_name().as_encoded_bytes());
            snap.visited += 1;
            snap.odd.insert(key, meta_of(&path, &meta));
            continue;
        };
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let inner =
            (meta_only || SKIP.contains(&rel.as_str())) && !WRITER_ONLY.contains(&rel.as_str());
        let path = ent.path();
        let meta = std::fs::symlink_metadata(&path)?;
        let m = meta_of(&path, &meta);
        snap.visited += 1;
        if snap.bounded && rel == ".git" && meta.is_dir() {
            list_top(&path, &rel, snap)?;
        } else if snap.bounded && BOUNDED.contains(&rel.as_str()) && meta.is_dir() {
            list_names(&path, &rel, snap)?;
        } else if meta.is_dir() {
            walk(&path, &rel, with_content, inner, snap)?;
        } else if with_content && !inner && meta.is_file() {
            let bytes = std::fs::read(&path)?;
            snap.content.insert(rel.clone(), (bytes, m.mode));
        }
        if inner {
            snap.meta_only.insert(rel, m);
        } else {
            snap.files.insert(rel, m);
        }
    }
    Ok(())
}

/// A git directory in a bounded snapshot: the names of its top-level
/// entries (a removed one shows) and their metadata (compared where the
/// entry is still there: git's own writes change content, not modes).
fn list_top(dir: &Path, area: &str, snap: &mut Snapshot) -> std::io::Result<()> {
    list_names(dir, area, snap)?;
    let names: Vec<String> = snap
        .listed
        .get(area)
        .map(|n| n.iter().cloned().collect())
        .unwrap_or_default();
    for name in names {
        let path = dir.join(&name);
        // Gone since it was listed (git's lock files come and go).
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        snap.visited += 1;
        snap.meta_only
            .insert(format!("{area}/{name}"), meta_of(&path, &meta));
    }
    Ok(())
}

/// The git directory and common directory that `root/.git` names when it is
/// a file (`gitdir: PATH`, relative to `root` or absolute; the common
/// directory from the git directory's `commondir`), canonical, leaving out
/// any inside the working tree or inside another one of them. Empty when
/// `.git` is a directory or names nothing that exists.
pub fn git_dirs_outside(root: &Path) -> Vec<std::path::PathBuf> {
    let Ok(meta) = std::fs::symlink_metadata(root.join(".git")) else {
        return Vec::new();
    };
    if !meta.is_file() {
        return Vec::new();
    }
    let Ok(text) = std::fs::read_to_string(root.join(".git")) else {
        return Vec::new();
    };
    let Some(named) = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("gitdir:"))
        .map(str::trim)
    else {
        return Vec::new();
    };
    let Ok(gitdir) = root.join(named).canonicalize() else {
        return Vec::new();
    };
    let mut dirs = Vec::new();
    if let Ok(common) = std::fs::read_to_string(gitdir.join("commondir"))
        && let Ok(common) = gitdir.join(common.trim()).canonicalize()
    {
        dirs.push(common);
    }
    dirs.push(gitdir);
    let inside = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut out: Vec<std::path::PathBuf> = Vec::new();
    for d in dirs {
        if !d.starts_with(&inside) && !out.iter().any(|o| d.starts_with(o)) {
            out.push(d);
        }
    }
    out
}

/// The names of the top-level entries of a bounded area (`.runs/`,
/// `.git/`), without their metadata.
fn list_names(dir: &Path, area: &str, snap: &mut Snapshot) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            snap.unreadable.push(area.to_string());
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let names = snap.listed.entry(area.to_string()).or_default();
    for ent in entries {
        names.insert(ent?.file_name().to_string_lossy().into_owned());
    }
    Ok(())
}

/// A path's bytes with every byte that is not printable ASCII escaped
/// (`\xff`), for a name that is not UTF-8.
fn escaped(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// Move a new entry whose name is not UTF-8 to the quarantine lane
/// (`.quarantine/<run>/<label>/non-utf8-<n>`); returns where it went.
fn quarantine_raw(
    root: &Path,
    run: &str,
    label: &str,
    n: usize,
    raw: &[u8],
) -> std::io::Result<String> {
    #[cfg(unix)]
    let from = {
        use std::os::unix::ffi::OsStrExt;
        root.join(std::ffi::OsStr::from_bytes(raw))
    };
    #[cfg(not(unix))]
    let from = root.join(String::from_utf8_lossy(raw).as_ref());
    let rel = format!(".quarantine/{run}/{label}/non-utf8-{n}");
    let to = root.join(&rel);
    if let Some(d) = to.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::rename(&from, &to)?;
    Ok(rel)
}

/// What [`roll_back`] did.
#[derive(Debug, Default)]
pub struct RollBack {
    /// Every change, described (`README.md: mode 0644 -> 0777`).
    pub changes: Vec<String>,
    /// Whether any content, type or presence changed (else metadata only).
    pub content: bool,
    /// Paths kept in the quarantine lane.
    pub quarantined: Vec<String>,
    /// What could not be put back, and why.
    pub unrestored: Vec<String>,
}

/// Put back everything a plugin changed between `before` and `after`:
/// content through the engine (`Session::restore_paths`, which keeps the
/// plugin's version in `.quarantine/<run>/<label>/`), then directories,
/// symlinks, modes, owners and xattrs from the snapshot itself.
pub fn roll_back(
    session: &mut Session,
    run: &str,
    label: &str,
    before: &Snapshot,
    after: &Snapshot,
) -> Result<RollBack> {
    let root = session.repo.root().to_path_buf();
    let mut changes = changes_seen(&root, before, after)?;
    // A file the plugin locked (`chattr +i`, `+a`) takes no restore at all:
    // unlock it first; the metadata pass gives it its own flags back.
    for c in changes.iter().filter(|c| c.raw.is_none()) {
        if let (Some(b), Some(a)) = (&c.before, &c.after)
            && a.flags != 0
            && a.flags != b.flags
        {
            let _ = set_flags(&root.join(&c.path), 0);
        }
    }
    recheck_unreadable(&root, before, &mut changes);
    let mut rb = RollBack {
        changes: changes.iter().map(Change::describe).collect(),
        content: changes.iter().any(|c| c.content),
        ..RollBack::default()
    };
    // Names that are not UTF-8: a new one goes to the quarantine lane; the
    // engine cannot put back any other change to one.
    for (n, c) in changes.iter().enumerate() {
        let Some(raw) = &c.raw else { continue };
        match (&c.before, &c.after) {
            (None, Some(_)) => match quarantine_raw(&root, run, label, n, raw) {
                Ok(kept) => rb.quarantined.push(kept),
                Err(e) => rb.unrestored.push(format!("{}: {e}", c.path)),
            },
            _ => rb.unrestored.push(format!(
                "{}: its name is not UTF-8, so it cannot be put back",
                c.path
            )),
        }
    }
    changes.retain(|c| c.raw.is_none());
    let handled = restore_intruded_dirs(session, run, label, &changes, &mut rb)?;
    // Content next. Deepest paths first, so an added directory's files are
    // quarantined before the directory goes.
    let mut restore: Vec<(String, Option<FileContent>)> = Vec::new();
    for c in changes
        .iter()
        .rev()
        .filter(|c| c.content && !handled.contains(&c.path))
    {
        if Path::new(&c.path).is_absolute() {
            rb.unrestored.push(format!(
                "{}: outside the working tree (the git directory); put it back by hand",
                c.path
            ));
            continue;
        }
        match (&c.before, &c.after) {
            (None, _) => restore.push((c.path.clone(), None)),
            (Some(b), _) if b.kind == Kind::File => match before.content.get(&c.path) {
                Some(content) => restore.push((c.path.clone(), Some(content.clone()))),
                None => rb.unrestored.push(format!(
                    "{}: its content was not kept (the file system sandbox was enforced)",
                    c.path
                )),
            },
            // A directory or symlink that became something else: remove the
            // intruder (kept in quarantine); the pass below recreates it.
            (Some(_), Some(_)) => restore.push((c.path.clone(), None)),
            (Some(_), None) => {}
        }
    }
    if !restore.is_empty() {
        rb.quarantined
            .extend(session.restore_paths(run, label, &restore)?);
    }
    for c in &changes {
        let Some(b) = &c.before else { continue };
        if let Err(e) = restore_meta(&root.join(&c.path), b) {
            rb.unrestored.push(format!("{}: {e}", c.path));
        }
    }
    Ok(rb)
}

/// Every change from `before` to `after`, sorted. Directories the plugin
/// made unreadable hide their entries: they get their modes back first, the
/// tree is looked at again, and they are listed as changed themselves.
fn changes_seen(root: &Path, before: &Snapshot, after: &Snapshot) -> Result<Vec<Change>> {
    let seen = after;
    let rescanned;
    let after = if after.unreadable.is_empty() {
        after
    } else {
        for rel in &after.unreadable {
            if let Some(b) = before.files.get(rel).or_else(|| before.meta_only.get(rel)) {
                let _ = restore_meta(&root.join(rel), b);
            }
        }
        rescanned = Snapshot::take_bounded(root, false, after.bounded).map_err(|e| {
            warden_core::Error::Io {
                op: "scan",
                path: root.to_path_buf(),
                source: e,
            }
        })?;
        &rescanned
    };
    let mut changes = before.diff(after);
    for rel in &seen.unreadable {
        let was = before.files.get(rel).or_else(|| before.meta_only.get(rel));
        let made = seen.files.get(rel).or_else(|| seen.meta_only.get(rel));
        if !changes.iter().any(|c| &c.path == rel) && was.is_some() {
            changes.push(Change {
                path: rel.clone(),
                before: was.cloned(),
                after: made.cloned(),
                content: false,
                raw: None,
            });
        }
    }
    changes.sort_by(|x, y| x.path.cmp(&y.path));
    Ok(changes)
}

/// A file whose change time moved could not be compared while the plugin
/// had made it unreadable (chmod 000): put its metadata back, then compare
/// its bytes with the kept ones.
fn recheck_unreadable(root: &Path, before: &Snapshot, changes: &mut [Change]) {
    for c in changes.iter_mut().filter(|c| c.content) {
        let (Some(b), Some(a)) = (&c.before, &c.after) else {
            continue;
        };
        let Some((kept, _)) = before.content.get(&c.path) else {
            continue;
        };
        let p = root.join(&c.path);
        if b.kind == Kind::File
            && b.same_content(a)
            && std::fs::read(&p).is_err()
            && restore_meta(&p, b).is_ok()
        {
            c.content = std::fs::read(&p).map_or(true, |now| &now != kept);
        }
    }
}

/// A directory that became something else (a symlink to elsewhere, a file)
/// comes back first, shallowest first: what lay below it is then put back
/// into the directory, never through the intruder. Returns those paths.
fn restore_intruded_dirs(
    session: &mut Session,
    run: &str,
    label: &str,
    changes: &[Change],
    rb: &mut RollBack,
) -> Result<std::collections::BTreeSet<String>> {
    let root = session.repo.root().to_path_buf();
    let mut handled = std::collections::BTreeSet::new();
    for c in changes.iter().filter(|c| c.content) {
        let (Some(b), Some(a)) = (&c.before, &c.after) else {
            continue;
        };
        if b.kind != Kind::Dir || a.kind == Kind::Dir || Path::new(&c.path).is_absolute() {
            continue;
        }
        if handled
            .iter()
            .any(|h: &String| c.path.starts_with(&format!("{h}/")))
        {
            continue;
        }
        rb.quarantined
            .extend(session.restore_paths(run, label, &[(c.path.clone(), None)])?);
        if let Err(e) = restore_meta(&root.join(&c.path), b) {
            rb.unrestored.push(format!("{}: {e}", c.path));
        }
        handled.insert(c.path.clone());
    }
    Ok(handled)
}

/// Make `path` what `want` describes again: recreate a missing directory or
/// symlink, then mode, owner and xattrs.
fn restore_meta(path: &Path, want: &Meta) -> std::io::Result<()> {
    let now = std::fs::symlink_metadata(path).ok();
    match (want.kind, &now) {
        (Kind::Dir, None) => std::fs::create_dir(path)?,
        #[cfg(unix)]
        (Kind::Symlink, None) => {
            if let Some(t) = &want.target {
                std::os::unix::fs::symlink(t, path)?;
            }
        }
        (_, None) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "missing and not restorable",
            ));
        }
        _ => {}
    }
    let flags = if want.kind == Kind::Symlink {
        0
    } else {
        flags_of(path)
    };
    if flags != 0 && flags != want.flags {
        // A locked file takes no chmod, chown or xattr: unlock it first.
        set_flags(path, 0)?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let now = std::fs::symlink_metadata(path)?;
        if want.kind != Kind::Symlink && now.mode() & 0o7777 != want.mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(want.mode))?;
        }
        if (now.uid(), now.gid()) != (want.uid, want.gid) {
            std::os::unix::fs::lchown(path, Some(want.uid), Some(want.gid))?;
            // chown clears setuid/setgid: put the mode back once more.
            if want.kind != Kind::Symlink {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(want.mode))?;
            }
        }
    }
    set_xattrs(path, &want.xattrs)?;
    if want.kind != Kind::Symlink && flags_of(path) != want.flags {
        set_flags(path, want.flags)?;
    }
    #[cfg(unix)]
    if want.kind == Kind::File {
        use std::os::unix::fs::MetadataExt;
        let links = std::fs::symlink_metadata(path)?.nlink();
        if links != want.links {
            return Err(std::io::Error::other(format!(
                "it has {links} hard link(s), it had {}: a link made elsewhere still reaches this file (find it with `find / -samefile`)",
                want.links
            )));
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn set_xattrs(path: &Path, want: &BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
    let now = xattrs_of(path);
    for name in now.keys().filter(|k| !want.contains_key(*k)) {
        rustix::fs::lremovexattr(path, name.as_str())?;
    }
    for (name, value) in want {
        if now.get(name) != Some(value) {
            rustix::fs::lsetxattr(path, name.as_str(), value, rustix::fs::XattrFlags::empty())?;
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn set_xattrs(_path: &Path, _want: &BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
    Ok(())
}
