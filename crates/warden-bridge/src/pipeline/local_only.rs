//! Before a batch is applied: what git ignores in the target stays there.
//!
//! A `moveFile` whose source git ignores in the target repository (a local
//! secret such as `local.conf`) and whose destination it does not ignore
//! would carry the file out of the local-only area: publish would commit
//! it, and the next command's diff would show it. Such a command is refused
//! (`protected_path`) before anything of the batch is applied; a move from
//! one ignored path to another is allowed.
//!
//! git is asked once per batch, before it is applied (`check-ignore`, in the
//! target repository, about every path the accepted commands name). When it
//! cannot answer, every path may be ignored: every `moveFile` is refused.
//!
//! When the target is the bridge's own repository, publish commits the
//! target's ledger (`.ledger/runs/`) with each pass, and a run's ledger
//! entry names the sha256 of each file it changed, before and after: a
//! changed ignored file's old content would be published as its digest.
//! There, a command that changes any path git ignores is refused
//! (`protected_path`) before anything of the batch is applied, and when git
//! cannot say what it ignores, a command that changes anything waits in
//! `commands/` for a pass where it can; a separate target repository, whose
//! ledger the bridge does not publish, may change ignored files.
//!
//! The same answer keeps an ignored file's digest out of a refusal: the
//! core's precondition wording names the file's current sha256 (16 hex
//! digits), which a published dead letter would hand to an offline
//! brute force of a short secret. [`LocalOnly::redact`] takes every digest
//! out of the refusal of a command that names a path git ignores (or may).

use super::{Bridge, Item};
use crate::command::{Command, Op};
use crate::ops::Target;
use crate::reason::{Reason, Rejection};
use crate::verify::Verdict;
use std::collections::BTreeSet;
use warden_core::text::shown;

/// What git ignores among the paths a batch's accepted commands name.
pub(super) struct LocalOnly {
    /// The ignored paths, or why git could not say.
    ignored: Result<BTreeSet<String>, String>,
}

impl LocalOnly {
    /// Whether git ignores `path` in the target, or may (it could not say).
    fn maybe_ignored(&self, path: &str) -> bool {
        self.ignored.as_ref().map_or(true, |s| s.contains(path))
    }

    /// The refusal of `cmd` when it would carry what git ignores in the
    /// target out of the local-only area: into the published ledger
    /// ([`LocalOnly::ledger_leak`]) or through a `moveFile`
    /// ([`LocalOnly::leaving_move`]).
    pub(super) fn refusal(&self, cmd: &Command, target: &Target) -> Option<Rejection> {
        self.ledger_leak(cmd, target)
            .or_else(|| self.leaving_move(cmd, target))
    }

    /// Why `cmd` must wait for a later pass, if it must: the target's
    /// ledger is published, git could not say what it ignores (this is
    /// why), and the command changes a path.
    pub(super) fn must_wait(&self, cmd: &Command, target: &Target) -> Option<&str> {
        let why = self.ignored.as_ref().err()?;
        (target.bridge_prefix.is_some() && !paths_of(cmd, target).is_empty())
            .then_some(why.as_str())
    }

    /// The refusal of `cmd` when the target's ledger is published with the
    /// bridge's outputs (the bridge root lies in the target repository) and
    /// the command changes a path git ignores there (or may).
    fn ledger_leak(&self, cmd: &Command, target: &Target) -> Option<Rejection> {
        target.bridge_prefix.as_ref()?;
        let path = paths_of(cmd, target)
            .into_iter()
            .find(|p| self.maybe_ignored(p))?;
        let why = match &self.ignored {
            Ok(_) => "git ignores it in this repository".to_string(),
            Err(e) => format!("git could not say whether it ignores it ({e})"),
        };
        Some(
            Rejection::new(
                Reason::ProtectedPath,
                format!(
                    "the command changes {}, and {why}: the bridge publishes this repository's ledger, whose entry for the command would carry the file's sha256 before and after, so its local-only content would be published as a digest",
                    shown(&path),
                ),
            )
            .hint("change files git does not ignore, or run the bridge against a separate target repository (`--repo`), whose ledger it does not publish"),
        )
    }

    /// The refusal of `cmd` when one of its `moveFile`s would take a file
    /// git ignores (or may ignore) to a path git does not ignore (or may not).
    fn leaving_move(&self, cmd: &Command, target: &Target) -> Option<Rejection> {
        cmd.ops.iter().enumerate().find_map(|(i, op)| {
            let Op::MoveFile { from, to, .. } = op else {
                return None;
            };
            // A path the target refuses refuses the command later, with
            // its own reason; git was not asked about it.
            let (from, to) = (checked(target, from)?, checked(target, to)?);
            let field = format!("payload.inline.ops[{i}].from");
            match &self.ignored {
                Ok(set) if !set.contains(&from) || set.contains(&to) => None,
                Ok(_) => Some(
                    Rejection::new(
                        Reason::ProtectedPath,
                        format!(
                            "moveFile would take {}, which git ignores in the target repository, to {}, which it does not ignore: the file's content would leave the local-only area and be published",
                            shown(&from),
                            shown(&to),
                        ),
                    )
                    .field(field)
                    .hint("move it to a path git also ignores, or leave it where it is"),
                ),
                Err(e) => Some(
                    Rejection::new(
                        Reason::ProtectedPath,
                        format!(
                            "git could not say whether it ignores {} or {} in the target repository ({e}); a moveFile whose source may be local-only is refused",
                            shown(&from),
                            shown(&to),
                        ),
                    )
                    .field(field)
                    .hint("send the command again once git can be run in the target repository"),
                ),
            }
        })
    }

    /// Take every digest out of `rej`, the refusal of `cmd`, when `cmd`
    /// names a path git ignores in the target (or may).
    pub(super) fn redact(&self, cmd: &Command, target: &Target, rej: &mut Rejection) {
        if !paths_of(cmd, target).iter().any(|p| self.maybe_ignored(p)) {
            return;
        }
        rej.detail = without_digests(&rej.detail);
        rej.hint = rej.hint.as_deref().map(without_digests);
    }
}

/// `text` without a hex run of 16 digits or more (a digest or a prefix of
/// one, as the core shows them); the core's precondition sentences say
/// the same without one.
fn without_digests(text: &str) -> String {
    const MARK: &str = "<digest>";
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 16 && run.chars().all(|c| c.is_ascii_hexdigit()) {
            out.push_str(MARK);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out.replace(
        &format!("has sha256 {MARK} but the proposal expects {MARK}"),
        "does not have the expected sha256 (digests are not shown: git ignores this path in the target repository, or could not say)",
    )
    .replace(
        &format!(" (sha256 {MARK})"),
        " (its digest is not shown: git ignores this path in the target repository, or could not say)",
    )
    .replace(MARK, "(digest not shown)")
}

/// Every target path `cmd` names (its ops' and its diff's) that the target
/// accepts, as the run records them.
fn paths_of(cmd: &Command, target: &Target) -> Vec<String> {
    let mut raw: Vec<&str> = Vec::new();
    for op in &cmd.ops {
        match op {
            Op::Noop => {}
            Op::WriteFile { path, .. }
            | Op::DeleteFile { path, .. }
            | Op::ReplaceRegion { path, .. } => raw.push(path),
            Op::MoveFile { from, to, .. } => raw.extend([from.as_str(), to.as_str()]),
        }
    }
    let files = cmd
        .diff
        .as_deref()
        .and_then(|d| crate::diff::parse(d).ok())
        .unwrap_or_default();
    raw.extend(files.iter().map(|f| f.path()));
    raw.into_iter().filter_map(|p| checked(target, p)).collect()
}

/// `raw` as the run records it, when the target accepts it (git is asked
/// only about such paths: one outside the repository fails the whole call).
fn checked(target: &Target, raw: &str) -> Option<String> {
    target
        .check_path(raw, "path")
        .ok()
        .map(|p| p.as_str().to_string())
}

impl Bridge<'_> {
    /// What git ignores among the paths the batch's accepted commands name
    /// (one `check-ignore` for the batch).
    pub(super) fn local_only(&self, items: &[Item]) -> LocalOnly {
        self.ignored_among(
            items
                .iter()
                .filter_map(|i| match &i.verdict {
                    Verdict::Accept(a) => Some(paths_of(&a.cmd, &self.target)),
                    Verdict::Reject { .. } => None,
                })
                .flatten()
                .collect(),
        )
    }

    /// The refusal the executor gives `cmd` for carrying what git ignores
    /// out of the local-only area (for `bridge verify`: one `check-ignore`).
    pub(super) fn local_only_refusal(&self, cmd: &Command) -> Option<Rejection> {
        let local = self.ignored_among(paths_of(cmd, &self.target).into_iter().collect());
        local.refusal(cmd, &self.target)
    }

    fn ignored_among(&self, ask: BTreeSet<String>) -> LocalOnly {
        if ask.is_empty() {
            return LocalOnly {
                ignored: Ok(BTreeSet::new()),
            };
        }
        let list: Vec<&str> = ask.iter().map(String::as_str).collect();
        let ignored = warden_core::git::Git::new(&self.target.root)
            .with_base_env(self.layout.child_env.clone())
            .ignored(&list)
            .map_err(|e| e.to_string());
        LocalOnly { ignored }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cores_precondition_sentences_lose_their_digests() {
        assert_eq!(
            without_digests(
                "precondition failed: \"secret.conf\" has sha256 476938956c075100 but the proposal expects 0000000000000000"
            ),
            "precondition failed: \"secret.conf\" does not have the expected sha256 (digests are not shown: git ignores this path in the target repository, or could not say)"
        );
        assert_eq!(
            without_digests(
                "precondition failed: \"a.conf\" exists (sha256 476938956c075100) but the proposal expects it absent"
            ),
            "precondition failed: \"a.conf\" exists (its digest is not shown: git ignores this path in the target repository, or could not say) but the proposal expects it absent"
        );
        let full = "a".repeat(64);
        assert_eq!(
            without_digests(&format!("use \"expect\": {{\"sha256\": \"{full}\"}}")),
            "use \"expect\": {\"sha256\": \"(digest not shown)\"}"
        );
        // Shorter runs, and words that merely contain hex letters, stay.
        let plain = "line 12 of cafe.conf; run 01J0000000000000000000000A";
        assert_eq!(without_digests(plain), plain);
    }
}
