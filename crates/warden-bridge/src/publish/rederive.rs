//! After a rebase that conflicts (aborted): our unpushed commits are made
//! again on the new upstream tip (Renovate's approach). Our own files are
//! kept, the log is merged as a union of lines, the upstream's other files
//! are taken as they are; a target file changed on both sides, or one the
//! user has edited, stops it with the file named. Outputs are never dropped.
//! The commits are written like a pass's (`commit::commit_groups`), each
//! with its own whole message (subject and trailers) and its original author
//! and author date (the committer and commit date are now's, as with
//! `git rebase`).

use super::commit;
use super::git::Git;
use super::groups::Group;
use super::{PublishError, PublishReport};
use crate::audit_log::{SEGMENT_DIR, segment_seq};
use crate::layout::SAFE_DIRS;
use std::collections::{BTreeMap, BTreeSet};

/// One of our commits: its subject and its files as it had them (`None`:
/// removed).
struct Ours {
    subject: String,
    /// Its author header and whole message, kept when it is made again.
    meta: warden_core::git::CommitMeta,
    files: Vec<(String, Option<Vec<u8>>)>,
}

/// Re-create our unpushed commits on top of the upstream tip.
pub(super) fn rederive(git: &Git) -> Result<(), PublishError> {
    git.fetch()?;
    let base = git.merge_base("HEAD", "@{u}")?;
    let (commits, contents) = ours(git, &base)?;
    let theirs: BTreeSet<String> = git.changed_between(&base, "@{u}")?.into_iter().collect();
    refuse_clashes(git, &contents, &theirs)?;
    // The upstream's versions of files we did not touch replace them in the
    // work tree below; a file the user has edited (staged or not) would lose
    // that edit, so stop first and let them commit or stash it.
    let bring: Vec<&str> = theirs
        .iter()
        .filter(|f| !contents.contains(*f))
        .map(String::as_str)
        .collect();
    refuse_edited(git, &bring)?;
    // HEAD only: the user's index (what they staged) stays as it is.
    git.reset_soft("@{u}")?;
    // Bring the upstream's versions of files we did not touch into the work tree.
    for f in bring {
        let _ = git.checkout("@{u}", f);
    }
    let groups = restore(git, &commits, &theirs)?;
    commit::commit_groups(git, &groups, &mut PublishReport::default())
}

/// Our commits since `base`, oldest first, each with its files as that
/// commit had them (a log line stays in its command's commit); and every
/// path they touch.
fn ours(git: &Git, base: &str) -> Result<(Vec<Ours>, BTreeSet<String>), PublishError> {
    let mut commits = Vec::new();
    let mut contents: BTreeSet<String> = BTreeSet::new();
    for (id, subject) in git.ours_since(base)? {
        let mut files = Vec::new();
        for f in git.changed_between(&format!("{id}^"), &id)? {
            files.push((f.clone(), git.file_at(&id, &f)?));
            contents.insert(f);
        }
        let meta = git.commit_meta(&id)?;
        commits.push(Ours {
            subject,
            meta,
            files,
        });
    }
    Ok((commits, contents))
}

/// Our outputs are ours alone; a target file the upstream changed too is a
/// real conflict: stop before touching anything and say so.
fn refuse_clashes(
    git: &Git,
    contents: &BTreeSet<String>,
    theirs: &BTreeSet<String>,
) -> Result<(), PublishError> {
    let safe: Vec<String> = SAFE_DIRS
        .iter()
        .map(|d| git.rel(&format!("{d}/")))
        .collect();
    let clash: Vec<&str> = contents
        .iter()
        .filter(|f| theirs.contains(*f) && !safe.iter().any(|d| f.starts_with(d.as_str())))
        .map(String::as_str)
        .collect();
    if clash.is_empty() {
        return Ok(());
    }
    Err(PublishError::Git {
        args: "pull --rebase".into(),
        message: format!(
            "{} changed both upstream and by a command not yet pushed; resolve by hand (git pull --rebase, fix, git rebase --continue), then `warden bridge run --once`",
            clash.join(", ")
        ),
    })
}

/// Files the upstream changed that the user has edited locally stop us.
fn refuse_edited(git: &Git, bring: &[&str]) -> Result<(), PublishError> {
    if bring.is_empty() {
        return Ok(());
    }
    let edited = git.edited(bring)?;
    if edited.is_empty() {
        return Ok(());
    }
    Err(PublishError::Git {
        args: "pull --rebase".into(),
        message: format!(
            "{} changed upstream and has uncommitted local edits; commit or stash them, then `warden bridge run --once` publishes",
            edited.join(", ")
        ),
    })
}

/// Our commits as groups to commit again: each file's last version is
/// written to the work tree and taken from there (its mode kept); earlier
/// versions (the log up to a command's own line) travel as content. A
/// `logs/bridge.log` the upstream changed too is merged as a union of lines,
/// less the lines sealed into a segment (the upstream's, and ours up to that
/// commit), so no line is in two files. Sealed segments are never merged: one
/// of ours whose name the upstream also sealed, with other lines, is
/// committed under a free name next to it.
fn restore(
    git: &Git,
    commits: &[Ours],
    theirs: &BTreeSet<String>,
) -> Result<Vec<Group>, PublishError> {
    let last: BTreeMap<&str, usize> = commits
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.files.iter().map(move |(f, _)| (f.as_str(), i)))
        .collect();
    let log = git.rel("logs/bridge.log");
    let seg_dir = git.rel(&format!("{SEGMENT_DIR}/"));
    let is_segment = |f: &str| {
        f.strip_prefix(&seg_dir)
            .is_some_and(|n| !n.contains('/') && segment_seq(n).is_some())
    };
    let mut sealed: BTreeSet<Vec<u8>> = BTreeSet::new();
    for f in theirs.iter().filter(|f| is_segment(f)) {
        if let Some(b) = git.file_at("@{u}", f)? {
            sealed.extend(lines_of(&b));
        }
    }
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    let mut groups = Vec::new();
    for (i, c) in commits.iter().enumerate() {
        for (f, ours) in &c.files {
            if let Some(ours) = ours.as_deref().filter(|_| is_segment(f)) {
                sealed.extend(lines_of(ours));
                if theirs.contains(f) && git.file_at("@{u}", f)?.as_deref() != Some(ours) {
                    renamed.insert(f.clone(), free_segment_name(git, f, theirs));
                    // Their segment stays as they sealed it.
                    git.checkout("@{u}", f)?;
                }
            }
        }
        // The same subject, trailers, author and author date as before.
        let mut g = Group::new(c.subject.clone(), String::new());
        g.trailers.clear();
        g.original = Some((c.meta.author.clone(), c.meta.message.clone()));
        for (f, ours) in &c.files {
            let merged = match ours {
                Some(ours) if theirs.contains(f) && *f == log => {
                    let up = git.file_at("@{u}", f)?.unwrap_or_default();
                    Some(without(&union_of_lines(&up, ours), &sealed))
                }
                other => other.clone(),
            };
            let is_last = last.get(f.as_str()) == Some(&i);
            let f = renamed.get(f).unwrap_or(f);
            match merged {
                Some(bytes) if is_last => {
                    let path = git.top.join(f);
                    if let Some(d) = path.parent() {
                        std::fs::create_dir_all(d)?;
                    }
                    std::fs::write(&path, bytes)?;
                    g.files.push(f.clone());
                }
                Some(bytes) => g.blobs.push((f.clone(), bytes)),
                None => g.files.push(f.clone()),
            }
        }
        groups.push(g);
    }
    Ok(groups)
}

/// The lines of `bytes`, each without its newline.
fn lines_of(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
}

/// `text` without the lines in `drop`.
fn without(text: &[u8], drop: &BTreeSet<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for line in text.split_inclusive(|b| *b == b'\n') {
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        if !drop.contains(bare) {
            out.extend_from_slice(line);
        }
    }
    out
}

/// A name next to segment `f` that neither side has: `<stem>.2.log`, ….
fn free_segment_name(git: &Git, f: &str, theirs: &BTreeSet<String>) -> String {
    let stem = f.trim_end_matches(".log");
    (2..)
        .map(|n| format!("{stem}.{n}.log"))
        .find(|c| !theirs.contains(c) && !git.top.join(c).exists())
        .unwrap_or_else(|| format!("{stem}.x.log"))
}

/// The upstream's lines, then ours that it lacks.
fn union_of_lines(up: &[u8], ours: &[u8]) -> Vec<u8> {
    let mut text = String::from_utf8_lossy(up).into_owned();
    let have: BTreeSet<&str> = text.lines().collect::<BTreeSet<_>>();
    let add: Vec<String> = String::from_utf8_lossy(ours)
        .lines()
        .filter(|l| !have.contains(l))
        .map(str::to_string)
        .collect();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    for l in add {
        text.push_str(&l);
        text.push('\n');
    }
    text.into_bytes()
}
