//! After a rebase that conflicts (aborted): our unpushed commits are made
//! again on the new upstream tip (Renovate's approach). Our own files are
//! kept, the log is merged as a union of lines, the upstream's other files
//! are taken as they are; a target file changed on both sides, or one the
//! user has edited, stops it with the file named. Outputs are never dropped.

use super::PublishError;
use super::git::Git;
use crate::layout::SAFE_DIRS;
use std::collections::BTreeSet;

/// One of our commits: its message (subject and trailers) and its files as
/// it had them (`None`: removed).
struct Ours {
    message: String,
    files: Vec<(String, Option<Vec<u8>>)>,
}

/// Re-create our unpushed commits on top of the upstream tip.
pub(super) fn rederive(git: &Git) -> Result<(), PublishError> {
    git.git(&["fetch", "-q"])?;
    let base = git.git(&["merge-base", "HEAD", "@{u}"])?.trim().to_string();
    let (commits, contents) = ours(git, &base)?;
    let theirs: BTreeSet<String> = git
        .git(&["diff", "--name-only", &base, "@{u}"])?
        .lines()
        .map(str::to_string)
        .collect();
    refuse_clashes(git, &contents, &theirs)?;
    // The upstream's versions of files we did not touch replace them in the
    // work tree below; a file the user has edited (staged or not) would lose
    // that edit, so stop first and let them commit or stash it.
    let bring: Vec<&String> = theirs.iter().filter(|f| !contents.contains(*f)).collect();
    refuse_edited(git, &bring)?;
    // HEAD only: the user's index (what they staged) stays as it is.
    git.git(&["reset", "-q", "--soft", "@{u}"])?;
    // Bring the upstream's versions of files we did not touch into the work tree.
    for f in bring {
        let _ = git.try_git(&["checkout", "-q", "@{u}", "--", f])?;
    }
    for c in &commits {
        recommit(git, c, &theirs)?;
    }
    Ok(())
}

/// Our commits since `base`, oldest first, each with its files as that
/// commit had them (a log line stays in its command's commit); and every
/// path they touch.
fn ours(git: &Git, base: &str) -> Result<(Vec<Ours>, BTreeSet<String>), PublishError> {
    // NUL ends each record: a message spans lines.
    let log = git.git(&[
        "log",
        "-z",
        "--reverse",
        "--format=%H%x01%B",
        &format!("{base}..HEAD"),
    ])?;
    let mut commits = Vec::new();
    let mut contents: BTreeSet<String> = BTreeSet::new();
    for rec in log.split('\0') {
        let Some((sha, message)) = rec.trim_start_matches('\n').split_once('\u{1}') else {
            continue;
        };
        let mut files = Vec::new();
        for f in git
            .git(&["diff-tree", "--no-commit-id", "--name-only", "-r", sha])?
            .lines()
        {
            let out = git.raw(&["show", &format!("{sha}:{f}")])?;
            files.push((f.to_string(), out.success().then_some(out.stdout)));
            contents.insert(f.to_string());
        }
        commits.push(Ours {
            message: message.trim_end().to_string(),
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
fn refuse_edited(git: &Git, bring: &[&String]) -> Result<(), PublishError> {
    if bring.is_empty() {
        return Ok(());
    }
    let mut args = vec!["status", "--porcelain=v1", "--untracked-files=no", "--"];
    args.extend(bring.iter().map(|f| f.as_str()));
    let edited = git.git(&args)?;
    if edited.trim().is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = edited.lines().filter_map(|l| l.get(3..)).collect();
    Err(PublishError::Git {
        args: "pull --rebase".into(),
        message: format!(
            "{} changed upstream and has uncommitted local edits; commit or stash them, then `warden bridge run --once` publishes",
            names.join(", ")
        ),
    })
}

/// Write one of our commits again on HEAD: its files (a log changed on
/// both sides merged as a union of lines), with its message.
fn recommit(git: &Git, c: &Ours, theirs: &BTreeSet<String>) -> Result<(), PublishError> {
    let (mut keep, mut gone) = (Vec::new(), Vec::new());
    for (f, ours) in &c.files {
        let path = git.top.join(f);
        let merged = match ours.clone() {
            Some(ours) if theirs.contains(f) && f.ends_with(".log") => {
                let up = git.raw(&["show", &format!("@{{u}}:{f}")])?.stdout;
                Some(union_of_lines(&up, &ours))
            }
            other => other,
        };
        match merged {
            Some(bytes) => {
                if let Some(d) = path.parent() {
                    std::fs::create_dir_all(d)?;
                }
                std::fs::write(&path, bytes)?;
                keep.push(f.clone());
            }
            None => gone.push(f.clone()),
        }
    }
    commit_paths(git, &c.message, &keep, &gone)?;
    Ok(())
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

/// Commit exactly `files` (as in the work tree) and `removed` on top of HEAD
/// and nothing else: the commit is built in a private index seeded from HEAD
/// (`GIT_INDEX_FILE`), written with `commit-tree` and moved in with
/// `update-ref` against the old HEAD, so what the user has staged is neither
/// committed nor disturbed. Then the user's index is brought up to the new
/// HEAD for these paths only. Returns whether a commit was made (no change →
/// none; the index is still synced).
fn commit_paths(
    git: &Git,
    message: &str,
    files: &[String],
    removed: &[String],
) -> Result<bool, PublishError> {
    let index = git.top.join(
        git.git(&["rev-parse", "--git-path", "warden-bridge-index"])?
            .trim(),
    );
    let _ = std::fs::remove_file(&index);
    let head = git
        .try_git(&["rev-parse", "-q", "--verify", "HEAD^{commit}"])?
        .map(|s| s.trim().to_string());
    let made = commit_in_index(git, &index, head.as_deref(), message, files, removed);
    let _ = std::fs::remove_file(&index);
    let made = made?;
    // The user's index follows HEAD for our paths only.
    let all: Vec<&str> = files.iter().chain(removed).map(String::as_str).collect();
    if !all.is_empty() && head.is_some() {
        let mut args = vec!["reset", "-q", "HEAD", "--"];
        args.extend(all);
        git.git(&args)?;
    }
    Ok(made)
}

fn commit_in_index(
    git: &Git,
    index: &std::path::Path,
    head: Option<&str>,
    message: &str,
    files: &[String],
    removed: &[String],
) -> Result<bool, PublishError> {
    match head {
        Some(h) => git.git_index(index, &["read-tree", h])?,
        None => git.git_index(index, &["read-tree", "--empty"])?,
    };
    if !files.is_empty() {
        let mut args = vec!["add", "--"];
        args.extend(files.iter().map(String::as_str));
        git.git_index(index, &args)?;
    }
    if !removed.is_empty() {
        let mut args = vec!["rm", "-q", "--cached", "--ignore-unmatch", "--"];
        args.extend(removed.iter().map(String::as_str));
        git.git_index(index, &args)?;
    }
    let tree = git.git_index(index, &["write-tree"])?.trim().to_string();
    let parent_tree = match head {
        Some(h) => Some(git.git(&["rev-parse", &format!("{h}^{{tree}}")])?),
        None => None,
    };
    if parent_tree.as_deref().map(str::trim) == Some(tree.as_str()) {
        return Ok(false);
    }
    let mut args = vec!["commit-tree", tree.as_str(), "-m", message];
    if let Some(h) = head {
        args.extend(["-p", h]);
    }
    let commit = git.git(&args)?.trim().to_string();
    let subject = message.lines().next().unwrap_or_default();
    git.git(&[
        "update-ref",
        "-m",
        &format!("commit: {subject}"),
        "HEAD",
        &commit,
        head.unwrap_or_default(),
    ])?;
    Ok(true)
}
