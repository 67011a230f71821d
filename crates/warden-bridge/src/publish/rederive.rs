//! After a rebase that conflicts (aborted): our unpushed commits are made
//! again on the new upstream tip (Renovate's approach). Our own files are
//! kept, the log is merged as a union of lines, the upstream's other files
//! are taken as they are; a target file changed on both sides, or one the
//! user has edited, stops it with the file named. Outputs are never dropped.
//! The commits are written like a pass's (`commit::commit_groups`), each
//! with its subject and its trailer.

use super::commit;
use super::git::Git;
use super::groups::{self, Group};
use super::{PublishError, PublishReport};
use crate::layout::SAFE_DIRS;
use std::collections::{BTreeMap, BTreeSet};

/// One of our commits: its subject and its files as it had them (`None`:
/// removed).
struct Ours {
    subject: String,
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
        commits.push(Ours { subject, files });
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
/// versions (the log up to a command's own line) travel as content. A log
/// the upstream changed too is merged as a union of lines.
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
    let mut groups = Vec::new();
    for (i, c) in commits.iter().enumerate() {
        let result = c
            .files
            .iter()
            .find(|(f, _)| f.contains("results/") && !f.ends_with(".integrity.json"))
            .and_then(|(_, b)| b.as_deref())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok());
        let mut g = Group::new(c.subject.clone(), String::new());
        g.trailers = groups::trailer_for(&c.subject, result.as_ref())
            .into_iter()
            .collect();
        for (f, ours) in &c.files {
            let merged = match ours {
                Some(ours) if theirs.contains(f) && f.ends_with(".log") => {
                    let up = git.file_at("@{u}", f)?.unwrap_or_default();
                    Some(union_of_lines(&up, ours))
                }
                other => other.clone(),
            };
            match merged {
                Some(bytes) if last.get(f.as_str()) == Some(&i) => {
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
