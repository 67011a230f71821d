//! A published diff never shows what git ignores in the target repository.
//!
//! Publish leaves a file the target's git ignores (a local secret such as
//! `local.conf`) out of every commit; `diffs/<id>.patch` is committed and
//! pushed, so it must not carry that file's content out instead. Such a
//! file's part of the patch keeps its `diff --git` and mode lines, and one
//! line stands for its content, as git's "Binary files … differ" does; so
//! does the part of a file a `moveFile` filled from an ignored one. The
//! patch written is the one `diff_sha256` is the digest of.
//!
//! The result's line and byte counters would tell such a file's size: for a
//! command that changed one they are 0, and `counters.sizes_hidden` says so.
//!
//! git is asked once per batch (`check-ignore`, in the target repository,
//! which may not hold the bridge root). When it cannot answer, no file's
//! content is shown, and the pass says why.

use super::{Applied, Bridge, Item};
use crate::command::Op;
use crate::verify::Verdict;
use std::collections::{BTreeMap, BTreeSet};
use warden_core::text::shown;

/// Why a file's content is left out of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hidden {
    /// git ignores the path in the target repository.
    Ignored,
    /// A `moveFile` filled it from this path, which git ignores.
    MovedFrom(String),
    /// git could not say whether it ignores the path.
    Unknown,
}

impl Hidden {
    /// The one line that stands for the content.
    fn line(&self) -> String {
        match self {
            Hidden::Ignored => {
                "Content not shown: git ignores this path in the target repository".into()
            }
            Hidden::MovedFrom(from) => format!(
                "Content not shown: it comes from {}, which git ignores in the target repository",
                shown(from)
            ),
            Hidden::Unknown => "Content not shown: git could not say whether it ignores this path in the target repository".into(),
        }
    }
}

/// Lines of a file's part that say what happened to it, never what it
/// holds: they are kept.
const MODE_LINES: &[&str] = &[
    "new file mode ",
    "deleted file mode ",
    "old mode ",
    "new mode ",
];

/// `diff` (one part per file, each opened by its `diff --git` line, as
/// `warden_core::plan` writes it) with the content of every part whose path
/// `hidden` names replaced by one line. `paths` are the paths the diff is
/// of: a part whose header names none of them cannot be checked, so its
/// content is left out too.
pub(crate) fn leave_out(
    diff: &str,
    paths: &[String],
    hidden: impl Fn(&str) -> Option<Hidden>,
) -> String {
    let headers: BTreeMap<String, &str> = paths.iter().map(|p| (header(p), p.as_str())).collect();
    let mut out = String::with_capacity(diff.len());
    for part in parts(diff) {
        let (head, body) = match part.split_once('\n') {
            Some((h, b)) if h.starts_with("diff --git ") => (format!("{h}\n"), b),
            _ => (String::new(), part),
        };
        let why = match headers.get(&head) {
            Some(path) => hidden(path),
            None => Some(Hidden::Unknown),
        };
        let Some(why) = why else {
            out.push_str(part);
            continue;
        };
        out.push_str(&head);
        let mut content = false;
        for line in body.split_inclusive('\n') {
            if MODE_LINES.iter().any(|m| line.starts_with(m)) {
                out.push_str(line);
            } else {
                content = true;
            }
        }
        if content {
            out.push_str(&why.line());
            out.push('\n');
        }
    }
    out
}

/// The `diff --git` line the core writes for `path` (a name with a control
/// character is quoted and escaped there, and so here).
fn header(path: &str) -> String {
    format!(
        "diff --git {} {}\n",
        shown(&format!("a/{path}")),
        shown(&format!("b/{path}"))
    )
}

/// The per-file parts of a diff. Only a header starts a line with
/// `diff --git `: every line of a hunk starts with ' ', '+', '-', '@' or
/// '\\', and the core's one-line summaries with "Binary".
fn parts(diff: &str) -> Vec<&str> {
    let mut starts = vec![0];
    let mut at = 0;
    for line in diff.split_inclusive('\n') {
        if at > 0 && line.starts_with("diff --git ") {
            starts.push(at);
        }
        at += line.len();
    }
    starts.push(diff.len());
    starts
        .windows(2)
        .map(|w| &diff[w[0]..w[1]])
        .filter(|p| !p.is_empty())
        .collect()
}

impl Bridge<'_> {
    /// Leave out of each applied command's diff the content of the files
    /// git ignores in the target (one `check-ignore` for the batch).
    pub(super) fn leave_out_ignored(&mut self, items: &[Item], applied: &mut [Option<Applied>]) {
        let mut ask: BTreeSet<String> = BTreeSet::new();
        let mut moves: Vec<(usize, String, String)> = Vec::new();
        for (i, (item, a)) in items.iter().zip(applied.iter()).enumerate() {
            let Some(Applied::Done(done)) = a else {
                continue;
            };
            if done.diff.is_empty() {
                continue;
            }
            ask.extend(done.paths.iter().cloned());
            if let Verdict::Accept(acc) = &item.verdict {
                for op in &acc.cmd.ops {
                    if let Op::MoveFile { from, to, .. } = op {
                        let (from, to) = (repo_path(from), repo_path(to));
                        ask.insert(from.clone());
                        moves.push((i, from, to));
                    }
                }
            }
        }
        if ask.is_empty() {
            return;
        }
        let list: Vec<&str> = ask.iter().map(String::as_str).collect();
        let ignored = warden_core::git::Git::new(&self.target.root)
            .with_base_env(self.layout.child_env.clone())
            .ignored(&list);
        let ignored = match ignored {
            Ok(set) => Some(set),
            Err(e) => {
                self.ignore_check_error = Some(format!(
                    "{e}; no file's content is shown in this pass's diffs (diffs/<id>.patch), so that none git ignores in {} reaches them",
                    self.target.root.display()
                ));
                None
            }
        };
        let moved: BTreeMap<(usize, String), String> = moves
            .into_iter()
            .filter(|(_, from, _)| ignored.as_ref().is_some_and(|s| s.contains(from)))
            .map(|(i, from, to)| ((i, to), from))
            .collect();
        for (i, a) in applied.iter_mut().enumerate() {
            let Some(Applied::Done(done)) = a else {
                continue;
            };
            if done.diff.is_empty() {
                continue;
            }
            let hidden = |p: &str| match &ignored {
                None => Some(Hidden::Unknown),
                Some(set) if set.contains(p) => Some(Hidden::Ignored),
                Some(_) => moved
                    .get(&(i, p.to_string()))
                    .map(|from| Hidden::MovedFrom(from.clone())),
            };
            // The counts of lines and bytes would tell a hidden file's size.
            if done.paths.iter().any(|p| hidden(p).is_some()) {
                done.counts.lines_added = 0;
                done.counts.lines_removed = 0;
                done.counts.bytes_written = 0;
                done.sizes_hidden = true;
            }
            done.diff = leave_out(&done.diff, &done.paths, hidden);
        }
    }
}

/// A command's path as the run records it (the ops were checked, so it
/// parses; if not, it is used as it is).
fn repo_path(raw: &str) -> String {
    warden_core::paths::RepoPath::parse(raw, "command", "path")
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|_| raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "diff --git a/a.conf b/a.conf\n--- a/a.conf\n+++ b/a.conf\n@@ -1 +1 @@\n-secret\n+new\ndiff --git a/gone.conf b/gone.conf\ndeleted file mode 100644\n--- a/gone.conf\n+++ /dev/null\n@@ -1 +0,0 @@\n-diff --git a/x b/x\ndiff --git a/mode.conf b/mode.conf\nold mode 100644\nnew mode 100755\ndiff --git \"a/n\\nl\" \"b/n\\nl\"\nBinary/large file changed: sha256 0123 (9 bytes) -> absent\ndiff --git a/shown.md b/shown.md\n--- a/shown.md\n+++ b/shown.md\n@@ -1 +1 @@\n-old\n+new\n";

    fn paths() -> Vec<String> {
        ["a.conf", "gone.conf", "mode.conf", "n\nl", "shown.md"]
            .map(String::from)
            .to_vec()
    }

    /// Each hidden part keeps its header and mode lines and gets one line;
    /// a mode-only change has no content to stand for; the rest is as it was.
    #[test]
    fn hidden_parts_keep_their_header_and_mode_lines_only() {
        let out = leave_out(DIFF, &paths(), |p| {
            (p != "shown.md").then_some(Hidden::Ignored)
        });
        let line = Hidden::Ignored.line();
        assert_eq!(
            out,
            format!(
                "diff --git a/a.conf b/a.conf\n{line}\ndiff --git a/gone.conf b/gone.conf\ndeleted file mode 100644\n{line}\ndiff --git a/mode.conf b/mode.conf\nold mode 100644\nnew mode 100755\ndiff --git \"a/n\\nl\" \"b/n\\nl\"\n{line}\ndiff --git a/shown.md b/shown.md\n--- a/shown.md\n+++ b/shown.md\n@@ -1 +1 @@\n-old\n+new\n"
            )
        );
        assert_eq!(leave_out(DIFF, &paths(), |_| None), DIFF);
        assert_eq!(leave_out("", &paths(), |_| Some(Hidden::Unknown)), "");
    }

    /// A part whose header names no path of the change (a diff written by
    /// another build, text before the first header) is left out too.
    #[test]
    fn a_part_that_cannot_be_matched_to_a_path_is_left_out() {
        let out = leave_out(DIFF, &["shown.md".to_string()], |_| None);
        assert!(!out.contains("secret"), "{out}");
        assert!(out.ends_with("-old\n+new\n"), "{out}");
        let out = leave_out("stray line\n", &[], |_| None);
        assert_eq!(out, format!("{}\n", Hidden::Unknown.line()));
    }

    #[test]
    fn a_moved_files_line_names_its_source_escaped() {
        assert_eq!(
            Hidden::MovedFrom("a\nb.conf".into()).line(),
            "Content not shown: it comes from \"a\\nb.conf\", which git ignores in the target repository"
        );
    }
}
