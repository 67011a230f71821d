//! The checks a classify run passes before anything is written, the same
//! for `--dry-run` and the real run, and the classifier's errors in the
//! user's terms.
//!
//! - [`check`]: the policy gate, the paths' shape, the paths on disk (no
//!   symbolic link at or above one: the engine's own check, which the
//!   analysis already ran on every destination, skipping a file whose
//!   destination fails it) and the policy's limits
//!   (`limits.max_files`, `limits.max_bytes`), counted the way the engine
//!   counts them. One `warden classify` is one run (one `warden undo`), so
//!   an inbox over a limit is refused up front, saying how many files, which
//!   limit, and the ways out; it is never split into several runs behind the
//!   user's back (`warden watch` is the command that places in batches).
//! - [`in_user_terms`]: an error the engine raised about the classifier's
//!   proposal names the file it is about (`inbox/x.py`), never the
//!   proposal, which the user did not write.
//! - [`changed_path`]: which file a refused precondition is about, so the
//!   run leaves a file that changed while it ran in place and moves the
//!   rest.

use crate::classify::Analysis;
use warden_core::paths::RepoPath;
use warden_core::policy::Policy;
use warden_core::proposal::Action;
use warden_core::{Error, Repo, Result};

/// How the engine's errors name the classifier's proposal (replaced by
/// [`in_user_terms`] before the user sees one).
pub const LABEL: &str = "(classifier proposal)";

/// The policy file the limits come from.
const POLICY_FILE: &str = ".warden/policy.yaml";

/// An upper bound of the bytes one quarantined file adds to the run's
/// quarantine index, beyond its two paths (digest, reason, source, event,
/// JSON punctuation).
const INDEX_ENTRY_BYTES: u64 = 320;

/// The checks of the analysis's proposal that need no writer session: the
/// policy gate, the paths' shape and the limits. `--dry-run` and the real
/// run both run them, so a dry run exits as the real run would.
pub fn check(repo: &Repo, a: &Analysis) -> Result<()> {
    let Some((p, _)) = a.proposal()? else {
        return Ok(());
    };
    let sources = sources(a);
    warden_core::plan::gate(&repo.policy, &p, LABEL).map_err(|e| in_user_terms(e, &sources))?;
    warden_core::plan::check_shape(repo.root(), &p, LABEL)
        .map_err(|e| in_user_terms(e, &sources))?;
    check_on_disk(repo.root(), &p).map_err(|e| in_user_terms(e, &sources))?;
    check_limits(&repo.policy, a)
}

/// Each path of the proposal against the disk, as the engine checks it
/// when it plans: no symbolic link at or above it, nothing but a regular
/// file at it.
fn check_on_disk(root: &std::path::Path, p: &warden_core::proposal::Proposal) -> Result<()> {
    for (i, action) in p.actions.iter().enumerate() {
        let fields: &[&str] = match action {
            Action::MoveFile { .. } => &["from", "to"],
            _ => &["path"],
        };
        for (path, f) in action.paths().into_iter().zip(fields) {
            path.check_on_disk(root, LABEL, &format!("actions[{i}].{f}"))?;
        }
    }
    Ok(())
}

/// What the run would touch: paths and bytes written, counted as the
/// engine counts a plan (a move or a quarantine changes two paths and
/// writes the file's bytes; a run that quarantines also writes its index).
pub fn footprint(a: &Analysis) -> (u64, u64) {
    let mut paths = 0u64;
    let mut bytes = 0u64;
    let mut index = 0u64;
    for f in a.files.iter().filter(|f| f.action.is_some()) {
        paths += 2;
        bytes += f.size;
        if f.action.as_deref() == Some("quarantine") {
            index += INDEX_ENTRY_BYTES + 2 * f.path.len() as u64 + 64;
        }
    }
    if index > 0 {
        paths += 1;
        bytes += index;
    }
    (paths, bytes)
}

fn check_limits(policy: &Policy, a: &Analysis) -> Result<()> {
    let l = &policy.file.limits;
    let (paths, bytes) = footprint(a);
    let n = a.actions.len();
    let per_run = (l.max_files / 2).saturating_sub(1).max(1);
    let ways_out = |limit: &str| {
        format!(
            "classify part of the inbox at a time (`warden classify inbox/SUBFOLDER`, at most {per_run} file(s) per run), \
             let `warden watch` place them in batches (one run each), or raise {limit} in {POLICY_FILE}"
        )
    };
    if paths > l.max_files {
        return Err(Error::refused(
            warden_core::error::Refusal::Limit,
            POLICY_FILE,
            "limits.max_files",
            format!(
                "{n} file(s) would move or go to quarantine, touching {paths} paths, more than limits.max_files = {}; \
                 one `warden classify` is one run (one `warden undo`), so nothing was moved",
                l.max_files
            ),
            Some(ways_out("limits.max_files")),
        ));
    }
    if bytes > l.max_bytes {
        return Err(Error::refused(
            warden_core::error::Refusal::Limit,
            POLICY_FILE,
            "limits.max_bytes",
            format!(
                "{n} file(s) would move or go to quarantine, {bytes} bytes in all, more than limits.max_bytes = {}; \
                 one `warden classify` is one run (one `warden undo`), so nothing was moved",
                l.max_bytes
            ),
            Some(ways_out("limits.max_bytes")),
        ));
    }
    Ok(())
}

/// The file each action is about (the moved or quarantined file), in
/// action order.
pub fn sources(a: &Analysis) -> Vec<Option<RepoPath>> {
    a.actions
        .iter()
        .map(|a| match a {
            Action::MoveFile { from, .. } => Some(from.0.clone()),
            Action::Quarantine { path, .. } => Some(path.0.clone()),
            _ => None,
        })
        .collect()
}

/// The index of the action an engine error's field names (`actions[3].to`).
fn action_index(field: &str) -> Option<usize> {
    field
        .strip_prefix("actions[")?
        .split(']')
        .next()?
        .parse()
        .ok()
}

/// The file a refused precondition of the classifier's proposal is about:
/// it changed between being read and being planned.
pub fn changed_path(e: &Error, sources: &[Option<RepoPath>]) -> Option<RepoPath> {
    match e {
        Error::Invalid { file, field, .. } | Error::Rejected { file, field, .. }
            if file == LABEL && e.refusal() == Some(warden_core::error::Refusal::Precondition) =>
        {
            sources.get(action_index(field)?).cloned().flatten()
        }
        _ => None,
    }
}

/// An engine error about the classifier's proposal, naming the file the
/// action is about instead of the proposal, with a hint for the person
/// who ran `warden classify` (not for a proposal's author).
pub fn in_user_terms(e: Error, sources: &[Option<RepoPath>]) -> Error {
    let field = match &e {
        Error::Invalid { file, field, .. } | Error::Rejected { file, field, .. }
            if file == LABEL =>
        {
            field.clone()
        }
        _ => return e,
    };
    let subject = action_index(&field)
        .and_then(|i| sources.get(i).cloned().flatten())
        .map(|p| p.to_string())
        .unwrap_or_else(|| crate::classify::SOURCE_ID.to_string());
    let what = field
        .split_once('.')
        .map(|(_, f)| format!("classify ({f})"))
        .unwrap_or_else(|| "classify".to_string());
    let refusal = e.refusal().unwrap_or_default();
    let hint = match refusal {
        warden_core::error::Refusal::Precondition => Some(format!(
            "{subject} changed while `warden classify` ran; run `warden classify` again once it is complete"
        )),
        // The registry chose the destination, not the user: the engine's
        // "use the link's target path" does not apply.
        warden_core::error::Refusal::UnsafePath if field.ends_with(".to") => Some(format!(
            "the destination of {subject} in its module's folder is, or goes through, a symbolic link, \
             and warden never writes through one: replace the link with a real folder (or remove it), \
             or change the module's `folder` in .warden/modules.yaml"
        )),
        _ => e.hint(),
    };
    match e {
        Error::Invalid { message, .. } => Error::Invalid {
            file: subject,
            field: what,
            message,
            hint,
            refusal,
        },
        Error::Rejected { message, .. } => Error::Rejected {
            file: subject,
            field: what,
            message,
            hint,
            refusal,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_error_names_the_inbox_file_not_the_proposal() {
        let sources = vec![
            RepoPath::parse("inbox/a.py", "t", "p").ok(),
            RepoPath::parse("inbox/b.py", "t", "p").ok(),
        ];
        let e = Error::refused(
            warden_core::error::Refusal::Precondition,
            LABEL,
            "actions[1].expect",
            "precondition failed",
            Some("recompute the digest".into()),
        );
        assert_eq!(
            changed_path(&e, &sources).map(|p| p.to_string()).as_deref(),
            Some("inbox/b.py")
        );
        let e = in_user_terms(e, &sources);
        assert_eq!(
            e.to_string(),
            "inbox/b.py: classify (expect): precondition failed"
        );
        assert_eq!(
            e.hint().as_deref(),
            Some(
                "inbox/b.py changed while `warden classify` ran; run `warden classify` again once it is complete"
            )
        );
    }
}
