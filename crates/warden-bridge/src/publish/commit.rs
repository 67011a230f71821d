//! A pass's commits, written with a constant number of git processes:
//! every work-tree file hashed at once, HEAD's versions looked up at once,
//! every commit (and the new files' content) written by warden into one
//! pack (`warden_core::git::CommitWriter`; one `git fast-import` where the
//! repository is not SHA-1), HEAD moved once.

use super::git::{Git, SCRATCH_REF};
use super::groups::Group;
use super::{PublishError, PublishReport};
use crate::layout::SAFE_DIRS;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use warden_core::git::{Blob, CommitWriter};

/// Make one commit per group, in order, on top of HEAD, with a constant
/// number of git processes for the whole pass (issue 11): the work-tree files
/// are hashed, storing nothing, by two `git hash-object --stdin-paths` (with
/// the path's filters, as `git add` applies them, and without): a file whose
/// ids agree goes into the pass's pack as it is, the few a filter changes are stored
/// by a third (`-w`); ignored optional paths are found by one `git
/// check-ignore --stdin`; HEAD's trees along the pass's paths are read by
/// one `git cat-file --batch` per level of depth, which also gives HEAD's
/// versions of those paths; every commit is written into one pack by
/// warden (no loose object per file, and the push reuses the pack's
/// deltas; a pass of fewer than 100 objects is stored loose by one `git
/// unpack-objects`). Where warden cannot write the pack (not SHA-1, a
/// second object format), HEAD's versions come from one `git cat-file
/// --batch-check` (and one `ls-tree` of the paths found) and the commits
/// from one `git fast-import` onto a scratch ref. HEAD is moved by one
/// `git update-ref --stdin` against its old value; and the user's index is
/// brought up to the new HEAD by one `git reset` of the safe directories
/// touched and the other paths. A group that changes nothing is not
/// committed, as before.
pub(super) fn commit_groups(
    git: &Git,
    groups: &[Group],
    report: &mut PublishReport,
) -> Result<(), PublishError> {
    if groups.is_empty() {
        return Ok(());
    }
    let head = git.head()?;
    let pass = Pass::read(git, groups)?;
    let paths: Vec<&str> = pass.paths.iter().map(String::as_str).collect();
    // HEAD's trees along the pass's paths, read by the pack writer (None:
    // not a SHA-1 repository, or one with a second object format:
    // fast-import writes the commits).
    let writer = git.commit_writer(head.as_deref(), &paths)?;
    // HEAD's versions: (mode, blob id).
    let state: BTreeMap<String, (u32, String)> = match (&writer, &head) {
        (_, None) => BTreeMap::new(),
        (Some(w), Some(_)) => paths
            .iter()
            .filter_map(|p| Some((p.to_string(), w.blob_at(p)?)))
            .collect(),
        (None, Some(h)) => git.tree_entries(h, &pass.paths)?,
    };
    let commits = pass.changes(groups, state);
    let touched = pathspecs(git, &pass.paths);
    let touched: Vec<&str> = touched.iter().map(String::as_str).collect();
    if commits.is_empty() {
        // Still sync the user's index (repairs a crash between moving HEAD
        // and that sync).
        if head.is_some() {
            git.reset_paths(&touched)?;
        }
        return Ok(());
    }
    let (author, committer) = git.idents()?;
    let idents = (author.as_str(), committer.as_str());
    let new = match writer {
        Some(w) => write_pack(w, git, groups, &commits, idents)?,
        None => {
            let stream = fast_import_stream(&git.top, groups, &commits, head.as_deref(), idents)?;
            git.fast_import(stream, commits.len())?
        }
    };
    let last = &groups[commits.last().map_or(0, |c| c.0)].subject;
    git.update_head(&new, head.as_deref(), &format!("commit: {last}"))?;
    for (i, _) in &commits {
        report.commits.push(groups[*i].subject.clone());
        report.ids.extend(groups[*i].ids.iter().cloned());
    }
    git.reset_paths(&touched)?;
    Ok(())
}

/// What the user's index is brought up to HEAD for after a pass: each safe
/// directory the pass touched, whole, and each other path itself. Everything
/// changed under the safe directories is in the pass (and git ignores what
/// it ignores), so this is the same as naming every path, without git
/// matching every index entry against thousands of pathspecs.
fn pathspecs(git: &Git, paths: &BTreeSet<String>) -> Vec<String> {
    let dirs: Vec<(String, String)> = SAFE_DIRS
        .iter()
        .map(|d| (git.rel(d), git.rel(&format!("{d}/"))))
        .collect();
    let mut specs: BTreeSet<String> = BTreeSet::new();
    for p in paths {
        match dirs.iter().find(|(_, slash)| p.starts_with(slash.as_str())) {
            Some((dir, _)) => specs.insert(dir.clone()),
            None => specs.insert(p.clone()),
        };
    }
    specs.into_iter().collect()
}

/// Every path of a pass and what the work tree holds there.
struct Pass {
    paths: BTreeSet<String>,
    /// Per group: its target files (directories expanded), ignored ones dropped.
    optional: Vec<Vec<String>>,
    /// Path → (mode, content) in the work tree; `None` when absent.
    work: BTreeMap<String, Option<(u32, Content)>>,
}

impl Pass {
    fn read(git: &Git, groups: &[Group]) -> Result<Pass, PublishError> {
        // Optional paths: directories expanded to their files; ignored ones dropped.
        let mut optional: Vec<Vec<String>> = Vec::with_capacity(groups.len());
        let mut all_optional: BTreeSet<String> = BTreeSet::new();
        for g in groups {
            let mut list = Vec::new();
            for f in &g.target_files {
                expand(&git.top, f, &mut list);
            }
            all_optional.extend(list.iter().cloned());
            optional.push(list);
        }
        let ignored = git.ignored(&all_optional)?;
        for list in &mut optional {
            list.retain(|p| !ignored.contains(p));
        }
        let mut paths: BTreeSet<String> = BTreeSet::new();
        for (g, opt) in groups.iter().zip(&optional) {
            paths.extend(g.files.iter().cloned());
            paths.extend(opt.iter().cloned());
            paths.extend(g.blobs.iter().map(|(p, _)| p.clone()));
        }
        let mut work: BTreeMap<String, Option<(u32, Content)>> = BTreeMap::new();
        let mut regular: Vec<String> = Vec::new();
        for p in &paths {
            let entry = on_disk(&git.top.join(p), p, &mut regular)?;
            work.insert(p.clone(), entry);
        }
        // The files' ids with and without their filters, storing nothing:
        // where they agree the bytes on disk are the blob and go into the
        // pass's pack as they are (no loose object per file); where a filter
        // changes them, git stores them.
        let filtered = git.blob_ids(&regular, true)?;
        let raw = git.blob_ids(&regular, false)?;
        let mut stored: Vec<String> = Vec::new();
        for ((p, f), r) in regular.iter().zip(filtered).zip(raw) {
            if let Some(Some((_, c))) = work.get_mut(p) {
                if f == r {
                    *c = Content::Disk(f);
                } else {
                    stored.push(p.clone());
                }
            }
        }
        for (p, sha) in stored.iter().zip(git.hash_paths(&stored)?) {
            if let Some(Some((_, c))) = work.get_mut(p) {
                *c = Content::Blob(sha);
            }
        }
        Ok(Pass {
            paths,
            optional,
            work,
        })
    }

    /// Each group's changes against the state before it (HEAD's, then each
    /// earlier commit's); groups that change nothing are left out.
    fn changes(
        &self,
        groups: &[Group],
        mut state: BTreeMap<String, (u32, String)>,
    ) -> Vec<(usize, Vec<Change>)> {
        let mut commits: Vec<(usize, Vec<Change>)> = Vec::new();
        for (i, (g, opt)) in groups.iter().zip(&self.optional).enumerate() {
            let mut changes: Vec<Change> = Vec::new();
            let mut take = |path: &String| {
                let now = match g.blobs.iter().find(|(p, _)| p == path) {
                    Some((_, bytes)) => Some((0o100644, Content::Inline(bytes.clone()))),
                    None => self.work.get(path).cloned().flatten(),
                };
                match (&now, state.get(path)) {
                    (Some((mode, c)), Some((m, s))) if m == mode && c.id() == Some(s.as_str()) => {}
                    (None, None) => {}
                    (None, Some(_)) => {
                        state.remove(path);
                        changes.push((path.clone(), None));
                    }
                    (Some((mode, c)), _) => {
                        // Inline content never equals a stored id: always a change.
                        let id = c.id().unwrap_or_default().to_string();
                        state.insert(path.clone(), (*mode, id));
                        changes.push((path.clone(), now.clone()));
                    }
                }
            };
            for f in g.files.iter().chain(opt) {
                take(f);
            }
            for (f, _) in &g.blobs {
                if !g.files.contains(f) {
                    take(f);
                }
            }
            if !changes.is_empty() {
                commits.push((i, changes));
            }
        }
        commits
    }
}

/// What the work tree holds at `full`: a symlink's target, a file (its
/// content stored later with the others, listed in `regular`), or nothing.
fn on_disk(
    full: &Path,
    rel: &str,
    regular: &mut Vec<String>,
) -> Result<Option<(u32, Content)>, PublishError> {
    Ok(match std::fs::symlink_metadata(full) {
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::read_link(full)?;
            Some((
                0o120000,
                Content::Inline(target.as_os_str().as_encoded_bytes().to_vec()),
            ))
        }
        Ok(m) if m.is_file() => {
            use std::os::unix::fs::PermissionsExt;
            let mode = if m.permissions().mode() & 0o111 != 0 {
                0o100755
            } else {
                0o100644
            };
            if rel.contains('\n') {
                Some((mode, Content::Inline(std::fs::read(full)?)))
            } else {
                regular.push(rel.to_string());
                Some((mode, Content::Blob(String::new())))
            }
        }
        Ok(_) => None, // a directory where a file was: not ours to commit
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    })
}

/// The pass's commits written by warden into one pack (issue 11: each
/// commit's trees go in as deltas of their previous versions, built from the
/// entries that changed, where `fast-import` hashes and scans every tree
/// again); the last commit's id. On an error nothing is left behind.
fn write_pack(
    mut w: CommitWriter,
    git: &Git,
    groups: &[Group],
    commits: &[(usize, Vec<Change>)],
    (author, committer): (&str, &str),
) -> Result<String, PublishError> {
    let mut last = String::new();
    for (i, changes) in commits {
        for (path, now) in changes {
            match now {
                None => w.remove(path),
                Some((mode, Content::Blob(sha))) => w.set(path, *mode, Blob::Stored(sha))?,
                Some((mode, Content::Inline(bytes))) => {
                    w.set(path, *mode, Blob::Bytes(bytes))?;
                }
                Some((mode, Content::Disk(_))) => {
                    let bytes = std::fs::read(git.top.join(path))?;
                    w.set(path, *mode, Blob::Bytes(&bytes))?;
                }
            }
        }
        let g = &groups[*i];
        // A re-derived commit keeps its author and author date.
        let author = g.original.as_ref().map_or(author, |(a, _)| a.as_str());
        last = w.commit(author, committer, &g.message_bytes())?;
    }
    w.finish()?;
    Ok(last)
}

/// The `git fast-import` input for the pass's commits, on [`SCRATCH_REF`].
fn fast_import_stream(
    top: &Path,
    groups: &[Group],
    commits: &[(usize, Vec<Change>)],
    head: Option<&str>,
    (author, committer): (&str, &str),
) -> Result<Vec<u8>, PublishError> {
    let mut stream: Vec<u8> = Vec::new();
    if head.is_none() {
        // An unborn branch: the first commit has no parent (and not a stale
        // scratch ref's tip).
        stream.extend_from_slice(format!("reset {SCRATCH_REF}\n\n").as_bytes());
    }
    for (n, (i, changes)) in commits.iter().enumerate() {
        let g = &groups[*i];
        stream.extend_from_slice(format!("commit {SCRATCH_REF}\nmark :{}\n", n + 1).as_bytes());
        // A re-derived commit keeps its author and author date.
        let author = g.original.as_ref().map_or(author, |(a, _)| a.as_str());
        stream.extend_from_slice(format!("author {author}\ncommitter {committer}\n").as_bytes());
        let msg = g.message_bytes();
        stream.extend_from_slice(format!("data {}\n", msg.len()).as_bytes());
        stream.extend_from_slice(&msg);
        if let (0, Some(h)) = (n, head) {
            stream.extend_from_slice(format!("from {h}\n").as_bytes());
        }
        for (path, now) in changes {
            let q = warden_core::git::fast_import_path(path);
            match now {
                None => stream.extend_from_slice(format!("D {q}\n").as_bytes()),
                Some((mode, Content::Blob(sha))) => {
                    stream.extend_from_slice(format!("M {mode:o} {sha} {q}\n").as_bytes())
                }
                Some((mode, Content::Inline(bytes))) => inline(&mut stream, *mode, &q, bytes),
                Some((mode, Content::Disk(_))) => {
                    let bytes = std::fs::read(top.join(path))?;
                    inline(&mut stream, *mode, &q, &bytes);
                }
            }
        }
        stream.push(b'\n');
    }
    stream.extend_from_slice(b"done\n");
    Ok(stream)
}

/// `M <mode> inline <path>` and its data.
fn inline(stream: &mut Vec<u8>, mode: u32, quoted: &str, bytes: &[u8]) {
    stream.extend_from_slice(
        format!("M {mode:o} inline {quoted}\ndata {}\n", bytes.len()).as_bytes(),
    );
    stream.extend_from_slice(bytes);
    stream.push(b'\n');
}

/// One path's change in a commit: its new mode and content, or removed.
type Change = (String, Option<(u32, Content)>);

/// A file's new content: a stored blob's id, the work-tree file that is
/// that blob (read into the pack, or handed to fast-import inline), or
/// bytes.
#[derive(Debug, Clone)]
enum Content {
    Blob(String),
    Disk(String),
    Inline(Vec<u8>),
}

impl Content {
    /// The blob id, when known.
    fn id(&self) -> Option<&str> {
        match self {
            Content::Blob(sha) | Content::Disk(sha) => Some(sha),
            Content::Inline(_) => None,
        }
    }
}

/// `rel` (from the top of the work tree) as files: a directory's files,
/// recursively; a file or a missing path as itself.
fn expand(top: &Path, rel: &str, out: &mut Vec<String>) {
    let full = top.join(rel);
    match std::fs::symlink_metadata(&full) {
        Ok(m) if m.is_dir() => {
            let Ok(rd) = std::fs::read_dir(&full) else {
                return;
            };
            let mut names: Vec<String> = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for n in names {
                expand(top, &format!("{}/{n}", rel.trim_end_matches('/')), out);
            }
        }
        _ => out.push(rel.to_string()),
    }
}
