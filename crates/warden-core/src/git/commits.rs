//! Many commits on top of one another, written by warden into one pack
//! ([`super::pack`]) instead of by `git fast-import`, for bridge publish:
//! each command's commit adds files to the same flat directories, so every
//! commit rewrites trees that grow with the history. The tree model here
//! knows which entries changed, so each new tree goes into the pack as a
//! delta of its previous version built from those entries, without the
//! whole-tree scan `fast-import` does.
//!
//! The objects are git's, byte for byte as `fast-import` writes them for the
//! same input (a test compares the commit ids): trees in git's order
//! (`base_name_compare`: a directory sorts as if its name ended in `/`),
//! a directory that loses its last entry removed from its parent, a file
//! that replaces a directory (or the reverse) replacing it, commits of
//! `tree`, `parent`, `author`, `committer`, a blank line and the message.
//! The trees HEAD already has along the changed paths are read first, one
//! `cat-file --batch` per level of depth.

use super::pack::{Base, DeltaBuilder, Kind, Oid, PackWriter};
use super::{Call, Error, ErrorKind, Git, Mode, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

/// The mode of a directory in a tree.
const DIR_MODE: u32 = 0o40000;

/// What a path gets in a commit: a mode and a blob, as bytes to store or as
/// the id of a blob the repository has.
#[derive(Debug, Clone, Copy)]
pub enum Blob<'a> {
    Bytes(&'a [u8]),
    Stored(&'a str),
}

/// Commits being written into one pack; nothing is visible to git until
/// [`CommitWriter::finish`], and no ref is moved by it.
#[derive(Debug)]
pub struct CommitWriter {
    pack: PackWriter,
    root: Dir,
    parent: Option<Oid>,
    dir: PathBuf,
    git: Git,
}

/// Below this many objects a pass's objects are stored loose, as
/// `fast-import` does (its `fastimport.unpackLimit` default): a bridge
/// watching its inbox publishes a few commands per pass, and a pack per pass
/// would make git's automatic maintenance repack the repository every 50
/// passes (`gc.autoPackLimit`).
const UNPACK_LIMIT: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    mode: u32,
    oid: Oid,
}

/// One directory: its tree as last written (or as HEAD has it) and the
/// changes to it since.
#[derive(Debug, Default)]
struct Dir {
    /// git's tree body, entries in git's order.
    body: Vec<u8>,
    /// Where each entry starts in `body`.
    starts: Vec<usize>,
    /// `body`'s id (for a tree HEAD has out of git's form, that tree's);
    /// None for a directory not written yet.
    oid: Option<Oid>,
    /// Where `body` is in this pack (None: in the repository, or nowhere).
    base: Option<Base>,
    /// Changes since `body`, by key ([`key`]): the new entry, or None when
    /// removed.
    edits: BTreeMap<Vec<u8>, Option<Entry>>,
    /// Subdirectories read or made, by name.
    children: HashMap<Vec<u8>, Dir>,
    dirty: bool,
}

/// A path's file name and its directories' names.
fn split(path: &str) -> (&[u8], Vec<&[u8]>) {
    let mut parts: Vec<&[u8]> = path.as_bytes().split(|b| *b == b'/').collect();
    let name = parts.pop().unwrap_or_default();
    (name, parts)
}

/// Whether a tree may hold `name` (git's `verify_path`: not empty, `.`,
/// `..` or `.git` in any case, no NUL).
fn valid_name(name: &[u8]) -> bool {
    !(name.is_empty()
        || name == b"."
        || name == b".."
        || name.eq_ignore_ascii_case(b".git")
        || name.contains(&0))
}

/// An entry's sort key in git's order (`base_name_compare`): its name, then
/// `/` for a directory or NUL for anything else (a name holds neither).
fn key(name: &[u8], dir: bool) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + 1);
    k.extend_from_slice(name);
    k.push(if dir { b'/' } else { 0 });
    k
}

/// A mode as trees spell it.
fn mode_text(mode: u32) -> std::borrow::Cow<'static, str> {
    match mode {
        0o100644 => "100644".into(),
        0o100755 => "100755".into(),
        0o120000 => "120000".into(),
        DIR_MODE => "40000".into(),
        0o160000 => "160000".into(),
        m => format!("{m:o}").into(),
    }
}

fn push_entry(out: &mut Vec<u8>, name: &[u8], e: Entry) {
    out.extend_from_slice(mode_text(e.mode).as_bytes());
    out.push(b' ');
    out.extend_from_slice(name);
    out.push(0);
    out.extend_from_slice(&e.oid.0);
}

/// An entry's bytes split: mode text, name, id.
fn fields(entry: &[u8]) -> Option<(&[u8], &[u8], Oid)> {
    let sp = entry.iter().position(|b| *b == b' ')?;
    let nul = entry.len().checked_sub(21)?;
    (entry.get(nul) == Some(&0) && sp < nul).then_some(())?;
    let oid: [u8; 20] = entry[nul + 1..].try_into().ok()?;
    Some((&entry[..sp], &entry[sp + 1..nul], Oid(oid)))
}

/// How an entry's key compares with `k`.
fn cmp_key(entry: &[u8], k: &[u8]) -> std::cmp::Ordering {
    let (mode, name, _) = fields(entry).unwrap_or((b"", b"", Oid([0; 20])));
    let term = if mode == b"40000" { b'/' } else { 0 };
    name.iter().chain(std::iter::once(&term)).cmp(k.iter())
}

/// Entry `i` of a body whose entries start at `starts`.
fn entry_at<'a>(body: &'a [u8], starts: &[usize], i: usize) -> &'a [u8] {
    let end = starts.get(i + 1).copied().unwrap_or(body.len());
    &body[starts[i]..end]
}

/// The first entry at or after index `from` whose key is not below `k`.
fn lower_bound(body: &[u8], starts: &[usize], from: usize, k: &[u8]) -> usize {
    let (mut lo, mut hi) = (from, starts.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if cmp_key(entry_at(body, starts, mid), k).is_lt() {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// A tree's id and body.
type Tree = (Oid, Vec<u8>);

/// What a delta is made of while the new body is built.
enum Op {
    Copy(usize, usize),
    Insert(usize, usize),
}

impl Dir {
    /// A tree read from the repository. One that is not in git's canonical
    /// form (order, mode spelling) is rewritten in it once it changes, as
    /// `fast-import` does; unchanged, it keeps its id.
    fn parse(oid: Oid, bytes: &[u8]) -> Option<Dir> {
        let mut entries: Vec<(Vec<u8>, Entry)> = Vec::new();
        let mut canonical = true;
        let mut rest = bytes;
        while !rest.is_empty() {
            let nul = rest.iter().position(|b| *b == 0)?;
            let entry = rest.get(..nul + 21)?;
            let (text, name, id) = fields(entry)?;
            let mode = u32::from_str_radix(std::str::from_utf8(text).ok()?, 8).ok()?;
            let k = key(name, mode & 0o170000 == DIR_MODE);
            canonical &= text == mode_text(mode).as_bytes()
                && entries.last().is_none_or(|(prev, _)| *prev < k);
            entries.push((k, Entry { mode, oid: id }));
            rest = &rest[nul + 21..];
        }
        let mut d = Dir {
            oid: Some(oid),
            ..Dir::default()
        };
        if canonical {
            d.body = bytes.to_vec();
            let mut at = 0;
            for (k, _) in &entries {
                d.starts.push(at);
                // mode, space, name, NUL, id
                at = bytes[at..]
                    .iter()
                    .position(|b| *b == 0)
                    .map_or(at, |n| at + n + 21);
                debug_assert!(!k.is_empty());
            }
        } else {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries.dedup_by(|a, b| a.0 == b.0);
            for (k, e) in entries {
                d.starts.push(d.body.len());
                push_entry(&mut d.body, &k[..k.len() - 1], e);
            }
        }
        Some(d)
    }

    fn entry(&self, i: usize) -> &[u8] {
        entry_at(&self.body, &self.starts, i)
    }

    fn lower_bound(&self, from: usize, k: &[u8]) -> usize {
        lower_bound(&self.body, &self.starts, from, k)
    }

    /// The entry under key `k`, edits included.
    fn get(&self, k: &[u8]) -> Option<Entry> {
        if let Some(e) = self.edits.get(k) {
            return *e;
        }
        let i = self.lower_bound(0, k);
        if i < self.starts.len() && cmp_key(self.entry(i), k).is_eq() {
            let (text, _, oid) = fields(self.entry(i))?;
            let mode = u32::from_str_radix(std::str::from_utf8(text).ok()?, 8).ok()?;
            return Some(Entry { mode, oid });
        }
        None
    }

    fn at(&self, path: &[&[u8]]) -> Option<&Dir> {
        let mut d = self;
        for c in path {
            d = d.children.get(*c)?;
        }
        Some(d)
    }

    fn at_mut(&mut self, path: &[&[u8]]) -> Option<&mut Dir> {
        let mut d = self;
        for c in path {
            d = d.children.get_mut(*c)?;
        }
        Some(d)
    }

    /// Fold the edits into the body: the old body's untouched runs of
    /// entries copied in a few pieces, the changed entries written; the
    /// delta from the old body to the new one.
    fn apply_edits(&mut self) -> Vec<u8> {
        let old = std::mem::take(&mut self.body);
        let old_starts = std::mem::take(&mut self.starts);
        let edits = std::mem::take(&mut self.edits);
        let mut new = Rebuild {
            body: Vec::with_capacity(old.len() + 64 * edits.len()),
            starts: Vec::with_capacity(old_starts.len() + edits.len()),
            ops: Vec::new(),
        };
        let mut i = 0;
        for (k, e) in &edits {
            let j = lower_bound(&old, &old_starts, i, k);
            new.copy(&old, &old_starts, i, j);
            i = j;
            if i < old_starts.len() && cmp_key(entry_at(&old, &old_starts, i), k).is_eq() {
                i += 1; // replaced or removed
            }
            if let Some(e) = e {
                new.insert(&k[..k.len() - 1], *e);
            }
        }
        new.copy(&old, &old_starts, i, old_starts.len());
        let mut d = DeltaBuilder::new(old.len() as u64, new.body.len() as u64);
        for op in new.ops {
            match op {
                Op::Copy(at, n) => d.copy(at as u64, n as u64),
                Op::Insert(at, n) => d.insert(&new.body[at..at + n]),
            }
        }
        self.body = new.body;
        self.starts = new.starts;
        d.finish()
    }
}

/// A directory's new body being built from its old one.
struct Rebuild {
    body: Vec<u8>,
    starts: Vec<usize>,
    ops: Vec<Op>,
}

impl Rebuild {
    /// Old entries `from..to`, unchanged: one piece of the old body.
    fn copy(&mut self, old: &[u8], old_starts: &[usize], from: usize, to: usize) {
        if from >= to {
            return;
        }
        let (a, b) = (
            old_starts[from],
            old_starts.get(to).copied().unwrap_or(old.len()),
        );
        let at = self.body.len();
        self.starts
            .extend(old_starts[from..to].iter().map(|s| s - a + at));
        self.body.extend_from_slice(&old[a..b]);
        self.ops.push(Op::Copy(a, b - a));
    }

    fn insert(&mut self, name: &[u8], e: Entry) {
        let at = self.body.len();
        self.starts.push(at);
        push_entry(&mut self.body, name, e);
        self.ops.push(Op::Insert(at, self.body.len() - at));
    }
}

impl Git {
    /// A writer of commits on top of `head` (None: an unborn branch) that
    /// will change `paths` (from the top of the work tree); None when the
    /// repository does not use SHA-1 object ids, or keeps names in a second
    /// format (`extensions.compatObjectFormat`) (callers fall back to
    /// `fast-import`). HEAD's trees along the paths are read here.
    pub fn commit_writer(
        &self,
        head: Option<&str>,
        paths: &[&str],
    ) -> Result<Option<CommitWriter>> {
        let out = self.ok(Call::new(
            Mode::Read,
            [
                "rev-parse",
                "--show-object-format",
                "--git-path",
                "objects/pack",
            ],
        ))?;
        let text = String::from_utf8_lossy(&out);
        let mut lines = text.lines();
        if lines.next() != Some("sha1") {
            return Ok(None);
        }
        // A repository that also names its objects in another format maps
        // each object written to that name; a pack of ours has no map.
        if self.config_get("extensions.compatObjectFormat")?.is_some() {
            return Ok(None);
        }
        let pack_dir = self.absolute(lines.next().unwrap_or_default().to_string());
        let root = match head {
            Some(h) => self.read_trees(h, paths)?,
            None => Dir::default(),
        };
        std::fs::create_dir_all(&pack_dir).map_err(|e| self.io("create objects/pack", &e))?;
        let pack = PackWriter::create(&pack_dir).map_err(|e| self.io("start a pack", &e))?;
        Ok(Some(CommitWriter {
            pack,
            root,
            parent: head.and_then(Oid::from_hex),
            dir: self.dir.clone(),
            git: self.clone(),
        }))
    }

    fn io(&self, what: &str, e: &std::io::Error) -> Error {
        Error::new(
            ErrorKind::Io,
            format!("write a pack ({what})"),
            e.to_string(),
        )
        .in_dir(&self.dir)
    }

    /// HEAD's root tree and every subtree on the way to `paths`.
    fn read_trees(&self, head: &str, paths: &[&str]) -> Result<Dir> {
        // Directories needed, by depth: "" then "a", "a/b", …
        let mut wanted: BTreeSet<Vec<&[u8]>> = BTreeSet::new();
        for p in paths {
            let parts: Vec<&[u8]> = p.as_bytes().split(|b| *b == b'/').collect();
            for n in 1..parts.len() {
                wanted.insert(parts[..n].to_vec());
            }
        }
        let spec = format!("{head}^{{tree}}");
        let mut root = match self.cat_trees(&[spec.as_str()])?.pop().flatten() {
            Some((oid, bytes)) => Dir::parse(oid, &bytes).ok_or_else(|| self.bad_tree(&spec))?,
            None => return Err(self.bad_tree(&spec)),
        };
        let mut level: Vec<Vec<&[u8]>> = vec![Vec::new()];
        while !level.is_empty() {
            // The children of this level's directories that a path goes through.
            let mut next: Vec<(Vec<&[u8]>, Oid)> = Vec::new();
            for d in &level {
                let Some(dir) = root.at(d) else { continue };
                for w in wanted
                    .iter()
                    .filter(|w| w.len() == d.len() + 1 && w.starts_with(d))
                {
                    if let Some(e) = w.last().and_then(|n| dir.get(&key(n, true))) {
                        next.push((w.clone(), e.oid));
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            let ids: Vec<String> = next.iter().map(|(_, o)| o.hex()).collect();
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let trees = self.cat_trees(&ids)?;
            for ((path, oid), tree) in next.iter().zip(trees) {
                let (_, bytes) = tree.ok_or_else(|| self.bad_tree(&oid.hex()))?;
                let child = Dir::parse(*oid, &bytes).ok_or_else(|| self.bad_tree(&oid.hex()))?;
                if let Some((name, parent)) = path.split_last()
                    && let Some(p) = root.at_mut(parent)
                {
                    p.children.insert(name.to_vec(), child);
                }
            }
            level = next.into_iter().map(|(p, _)| p).collect();
        }
        Ok(root)
    }

    fn bad_tree(&self, name: &str) -> Error {
        Error::new(
            ErrorKind::Unexpected,
            "git cat-file --batch",
            format!("{name} is not a tree warden can read"),
        )
        .in_dir(&self.dir)
    }

    /// The ids and bodies of the trees `names` (None where an object is
    /// missing or not a tree). One `cat-file --batch`.
    fn cat_trees(&self, names: &[&str]) -> Result<Vec<Option<Tree>>> {
        let mut input = Vec::new();
        for n in names {
            input.extend_from_slice(n.as_bytes());
            input.push(b'\n');
        }
        let out = self.ok(Call::new(Mode::Read, ["cat-file", "--batch"]).stdin(input))?;
        let unexpected = |why: &str| {
            Error::new(
                ErrorKind::Unexpected,
                "git cat-file --batch",
                why.to_string(),
            )
            .in_dir(&self.dir)
        };
        let mut found = Vec::with_capacity(names.len());
        let mut rest = &out[..];
        for _ in names {
            let nl = rest
                .iter()
                .position(|b| *b == b'\n')
                .ok_or_else(|| unexpected("an answer ends early"))?;
            let line = String::from_utf8_lossy(&rest[..nl]).into_owned();
            rest = &rest[nl + 1..];
            let f: Vec<&str> = line.split(' ').collect();
            match f.as_slice() {
                [oid, kind, size] => {
                    let size: usize = size.parse().map_err(|_| unexpected(&line))?;
                    let oid = Oid::from_hex(oid).ok_or_else(|| unexpected(&line))?;
                    let body = rest
                        .get(..size)
                        .ok_or_else(|| unexpected("a body ends early"))?;
                    found.push((*kind == "tree").then(|| (oid, body.to_vec())));
                    rest = rest
                        .get(size + 1..)
                        .ok_or_else(|| unexpected("a body ends early"))?;
                }
                _ => found.push(None),
            }
        }
        Ok(found)
    }
}

impl CommitWriter {
    /// Give `path` the blob `blob` with `mode` (0o100644, 0o100755, 0o120000).
    pub fn set(&mut self, path: &str, mode: u32, blob: Blob<'_>) -> Result<()> {
        let oid = match blob {
            Blob::Bytes(b) => self.pack.whole(Kind::Blob, b).map_err(|e| self.io(&e))?.0,
            Blob::Stored(hex) => Oid::from_hex(hex).ok_or_else(|| {
                Error::new(
                    ErrorKind::Unexpected,
                    "write a pack",
                    format!("{hex} is not an object id"),
                )
            })?,
        };
        let (name, dirs) = split(path);
        if let Some(bad) = dirs.iter().chain([&name]).find(|c| !valid_name(c)) {
            return Err(Error::new(
                ErrorKind::Unexpected,
                "write a pack",
                format!(
                    "{path:?} has the part {:?}, which a git tree cannot hold",
                    String::from_utf8_lossy(bad)
                ),
            )
            .in_dir(&self.dir));
        }
        let entry = Entry { mode, oid };
        // What the path already has is no change: its trees stay as they are,
        // as `fast-import` leaves them (one HEAD has out of git's order too).
        if self.root.at(&dirs).and_then(|d| d.get(&key(name, false))) == Some(entry) {
            return Ok(());
        }
        let mut d = &mut self.root;
        d.dirty = true;
        for c in &dirs {
            if !d.children.contains_key(*c) {
                if d.get(&key(c, true)).is_some() {
                    return Err(Error::new(
                        ErrorKind::Unexpected,
                        "write a pack",
                        format!("the tree of {path} was not read"),
                    ));
                }
                // A file (or link, or submodule) in the way is replaced.
                if d.get(&key(c, false)).is_some() {
                    d.edits.insert(key(c, false), None);
                }
            }
            d = d.children.entry(c.to_vec()).or_default();
            d.dirty = true;
        }
        if d.children.remove(name).is_some() || d.get(&key(name, true)).is_some() {
            d.edits.insert(key(name, true), None);
        }
        d.edits.insert(key(name, false), Some(entry));
        Ok(())
    }

    /// Remove the file at `path` (nothing when there is none).
    pub fn remove(&mut self, path: &str) {
        let (name, dirs) = split(path);
        if self
            .root
            .at(&dirs)
            .is_none_or(|d| d.get(&key(name, false)).is_none())
        {
            return;
        }
        let mut d = &mut self.root;
        d.dirty = true;
        for c in &dirs {
            let Some(child) = d.children.get_mut(*c) else {
                return;
            };
            d = child;
            d.dirty = true;
        }
        d.edits.insert(key(name, false), None);
    }

    /// Commit the tree as it now is on top of the last commit (or HEAD);
    /// the new commit's id. `author` and `committer` are `Name <email>
    /// <time> <tz>`.
    pub fn commit(&mut self, author: &str, committer: &str, message: &[u8]) -> Result<String> {
        let tree = write_dir(&mut self.root, &mut self.pack)
            .map_err(|e| self.io(&e))?
            .map_or_else(|| self.empty_tree(), Ok)?;
        let mut body = format!("tree {}\n", tree.hex()).into_bytes();
        if let Some(p) = self.parent {
            body.extend_from_slice(format!("parent {}\n", p.hex()).as_bytes());
        }
        body.extend_from_slice(format!("author {author}\ncommitter {committer}\n\n").as_bytes());
        body.extend_from_slice(message);
        let (oid, _) = self
            .pack
            .whole(Kind::Commit, &body)
            .map_err(|e| self.io(&e))?;
        self.parent = Some(oid);
        Ok(oid.hex())
    }

    fn empty_tree(&mut self) -> Result<Oid> {
        Ok(self.pack.whole(Kind::Tree, b"").map_err(|e| self.io(&e))?.0)
    }

    /// Put the pack and its index into the repository's `objects/pack`.
    /// A pass of fewer than [`UNPACK_LIMIT`] objects is stored as loose
    /// objects by one `git unpack-objects`.
    pub fn finish(self) -> Result<()> {
        let dir = self.dir.clone();
        let io = |e: std::io::Error| {
            Error::new(ErrorKind::Io, "write a pack", e.to_string()).in_dir(&dir)
        };
        if self.pack.len() < UNPACK_LIMIT {
            return match self.pack.into_bytes().map_err(io)? {
                Some(bytes) => self.git.unpack_objects(bytes),
                None => Ok(()),
            };
        }
        self.pack.finish().map(|_| ()).map_err(io)
    }

    /// Drop everything written (no commit becomes visible). Dropping the
    /// writer does the same.
    pub fn abandon(self) {}

    /// The mode and blob id at `path` as the tree now is (HEAD's, until
    /// [`CommitWriter::set`] and [`CommitWriter::remove`]); None for a
    /// directory, a submodule or nothing. Only paths given to
    /// [`Git::commit_writer`] are known.
    pub fn blob_at(&self, path: &str) -> Option<(u32, String)> {
        let (name, dirs) = split(path);
        let e = self.root.at(&dirs)?.get(&key(name, false))?;
        (e.mode != 0o160000).then(|| (e.mode, e.oid.hex()))
    }

    fn io(&self, e: &std::io::Error) -> Error {
        Error::new(ErrorKind::Io, "write a pack", e.to_string()).in_dir(&self.dir)
    }
}

/// Write `d` and its changed subdirectories; its id, or None when it is
/// empty (and so has no place in its parent).
fn write_dir(d: &mut Dir, pack: &mut PackWriter) -> std::io::Result<Option<Oid>> {
    let dirty: Vec<Vec<u8>> = d
        .children
        .iter()
        .filter(|(_, c)| c.dirty)
        .map(|(n, _)| n.clone())
        .collect();
    for name in dirty {
        let Some(child) = d.children.get_mut(&name) else {
            continue;
        };
        let now = write_dir(child, pack)?.map(|oid| Entry {
            mode: DIR_MODE,
            oid,
        });
        if now.is_none() {
            d.children.remove(&name);
        }
        d.edits.insert(key(&name, true), now);
    }
    d.dirty = false;
    if d.edits.is_empty() && d.oid.is_some() {
        return Ok(d.oid);
    }
    let delta = d.apply_edits();
    if d.body.is_empty() {
        (d.oid, d.base) = (None, None);
        return Ok(None);
    }
    let (oid, base) = match d.base {
        Some(base) => pack.delta(Kind::Tree, &d.body, base, &delta)?,
        None => pack.whole(Kind::Tree, &d.body)?,
    };
    (d.oid, d.base) = (Some(oid), Some(base));
    Ok(Some(oid))
}
