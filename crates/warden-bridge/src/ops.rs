//! Turning a verified command into a warden proposal (G3: the bridge proposes,
//! the core disposes), with the bridge's own path rules (docs/bridge.md) checked
//! first so every refusal has a precise reason:
//!
//! - lexical escapes (`..`, absolute, `\`) and symlinks on the way → `path_escape`;
//! - `.git/`, any dot-prefixed component (`.warden/`, `.github/`, `.env`, ...)
//!   and the bridge's own directories (`commands/`, `meta/`, `results/`, ...
//!   when the bridge root lies inside the target repository) → `protected_path`.
//!
//! The core then checks the policy, the preconditions and the paths again
//! under its lock, so these checks narrow, never widen, what can happen.

use crate::command::{Command, Expect, Op};
use crate::diff::FileDiff;
use crate::layout::BRIDGE_DIRS;
use crate::reason::{Reason, Rejection};
use serde_json::{Value, json};
use std::path::Path;
use warden_core::paths::RepoPath;

/// The target repository and where the bridge root sits inside it.
#[derive(Debug, Clone)]
pub struct Target {
    pub root: std::path::PathBuf,
    /// The bridge root relative to the target root ("" when they are the same),
    /// or `None` when the bridge root is outside the target repository.
    pub bridge_prefix: Option<String>,
}

impl Target {
    pub fn new(target_root: &Path, bridge_root: &Path) -> Target {
        let t = target_root
            .canonicalize()
            .unwrap_or_else(|_| target_root.to_path_buf());
        let b = bridge_root
            .canonicalize()
            .unwrap_or_else(|_| bridge_root.to_path_buf());
        let bridge_prefix = b.strip_prefix(&t).ok().map(|rel| {
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        });
        Target {
            root: t,
            bridge_prefix,
        }
    }

    /// Check one path from a command against the bridge's path rules.
    pub fn check_path(&self, raw: &str, field: &str) -> Result<RepoPath, Rejection> {
        let p = RepoPath::parse(raw, "command", field).map_err(|e| {
            let reason = if raw.is_empty() {
                Reason::Schema
            } else {
                Reason::PathEscape
            };
            Rejection::new(reason, core_message(&e))
                .field(field)
                .hint("paths are relative to the target repository, with '/' and no '..'")
        })?;
        let comps: Vec<&str> = p.as_str().split('/').collect();
        if let Some(c) = comps.iter().find(|c| c.starts_with('.')) {
            return Err(Rejection::new(
                Reason::ProtectedPath,
                format!("\"{raw}\" goes through the dot-prefixed name \"{c}\"; .git/ and dot-directories are never written by commands"),
            )
            .field(field));
        }
        if let Some(area) = p.protected_area() {
            return Err(Rejection::new(
                Reason::ProtectedPath,
                format!("\"{raw}\" is inside {area}/"),
            )
            .field(field));
        }
        if let Some(prefix) = &self.bridge_prefix {
            let pre: Vec<&str> = if prefix.is_empty() {
                Vec::new()
            } else {
                prefix.split('/').collect()
            };
            let inside = comps.len() > pre.len()
                && comps
                    .iter()
                    .zip(&pre)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b));
            if inside {
                let dir = comps[pre.len()];
                if let Some(d) = BRIDGE_DIRS.iter().find(|d| dir.eq_ignore_ascii_case(d)) {
                    return Err(Rejection::new(
                        Reason::ProtectedPath,
                        format!("\"{raw}\" is inside the bridge's {d}/ directory"),
                    )
                    .field(field)
                    .hint("commands may not write the bridge's inbox, state or outputs"));
                }
            }
        }
        p.check_on_disk(&self.root, "command", field).map_err(|e| {
            Rejection::new(Reason::PathEscape, core_message(&e))
                .field(field)
                .hint("symlinks are never followed: write to the real path inside the repository")
        })?;
        Ok(p)
    }
}

/// A core error's message without the "file: field:" prefix.
pub fn core_message(e: &warden_core::Error) -> String {
    match e {
        warden_core::Error::Invalid { message, .. }
        | warden_core::Error::Rejected { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// Map a core refusal to a dead-letter reason, by its kind (never its text).
pub fn core_rejection(e: &warden_core::Error) -> Rejection {
    use warden_core::Error as E;
    use warden_core::error::Refusal;
    let msg = core_message(e);
    let (reason, field, hint) = match e {
        E::Rejected {
            field,
            hint,
            refusal,
            ..
        }
        | E::Invalid {
            field,
            hint,
            refusal,
            ..
        } => {
            let reason = match refusal {
                Refusal::Policy if matches!(e, E::Rejected { .. }) => Reason::PolicyDenied,
                Refusal::UnsafePath => Reason::PathEscape,
                Refusal::Protected => Reason::ProtectedPath,
                _ => Reason::PreconditionFailed,
            };
            (reason, Some(field.clone()), hint.clone())
        }
        _ => (Reason::ApplyFailed, None, None),
    };
    let mut r = Rejection::new(reason, msg);
    r.field = field.map(|f| format!("(proposal) {f}"));
    r.hint = hint;
    r
}

fn require(cmd: &Command, cap: &str, field: &str) -> Result<(), Rejection> {
    if cmd.allowed_actions.iter().any(|a| a == cap) {
        Ok(())
    } else {
        Err(Rejection::new(
            Reason::OpNotAllowed,
            format!(
                "the diff needs \"{cap}\", which is not in allowedActions [{}]",
                cmd.allowed_actions.join(", ")
            ),
        )
        .field(field))
    }
}

/// The proposal's `actions` for a command (empty for a no-op).
pub fn actions(cmd: &Command, target: &Target) -> Result<Vec<Value>, Rejection> {
    let mut out = Vec::new();
    for (i, op) in cmd.ops.iter().enumerate() {
        out.extend(op_action(op, i, target)?);
    }
    if let Some(diff) = &cmd.diff {
        for file in crate::diff::parse(diff).map_err(|e| {
            Rejection::new(Reason::Schema, e)
                .field("payload.inline.diff")
                .hint("send a unified diff as `git diff` or `diff -u` writes it")
        })? {
            out.push(diff_action(cmd, &file, target)?);
        }
    }
    Ok(out)
}

/// The action of `payload.inline.ops[i]` (none for `noop`), its paths checked.
fn op_action(op: &Op, i: usize, target: &Target) -> Result<Option<Value>, Rejection> {
    let f = |k: &str| format!("payload.inline.ops[{i}].{k}");
    Ok(Some(match op {
        Op::Noop => return Ok(None),
        Op::WriteFile {
            path,
            content,
            base64,
            expect,
        } => {
            let p = target.check_path(path, &f("path"))?;
            let key = if *base64 { "content_base64" } else { "content" };
            json!({"kind": "write_file", "path": p.as_str(), key: content, "expect": expect.to_json()})
        }
        Op::MoveFile { from, to, expect } => {
            let a = target.check_path(from, &f("from"))?;
            let b = target.check_path(to, &f("to"))?;
            json!({"kind": "move_file", "from": a.as_str(), "to": b.as_str(), "expect": expect.to_json()})
        }
        Op::DeleteFile { path, expect } => {
            let p = target.check_path(path, &f("path"))?;
            json!({"kind": "delete_file", "path": p.as_str(), "expect": expect.to_json()})
        }
        Op::ReplaceRegion {
            path,
            fence,
            content,
        } => {
            let p = target.check_path(path, &f("path"))?;
            json!({"kind": "patch_region", "path": p.as_str(), "fence": fence, "content": content})
        }
    }))
}

/// One file of the diff, applied to the target's current content: a
/// `write_file` or `delete_file` expecting exactly that content (the
/// capability it needs must be in allowedActions).
fn diff_action(cmd: &Command, file: &FileDiff, target: &Target) -> Result<Value, Rejection> {
    let field = "payload.inline.diff";
    let path = file.path().to_string();
    let p = target.check_path(&path, field)?;
    let current = match std::fs::read(p.to_fs(&target.root)) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(
                Rejection::new(Reason::ApplyFailed, format!("cannot read {path}: {e}"))
                    .field(field),
            );
        }
    };
    let applied = file.apply(current.as_deref()).map_err(|e| {
        Rejection::new(Reason::PreconditionFailed, format!("{path}: {e}"))
            .field(field)
            .hint("the diff was made against other content; regenerate it from the current file")
    })?;
    let expect = match &current {
        None => Expect::Absent,
        Some(b) => Expect::Sha256(warden_core::Digest::of(b).to_string()),
    };
    Ok(match applied {
        None => {
            require(cmd, "deleteFile", field)?;
            json!({"kind": "delete_file", "path": p.as_str(), "expect": expect.to_json()})
        }
        Some(content) => {
            require(cmd, "writeFile", field)?;
            json!({"kind": "write_file", "path": p.as_str(), "content": content, "expect": expect.to_json()})
        }
    })
}

/// The whole proposal document for the core.
pub fn proposal(cmd: &Command, actions: Vec<Value>) -> Value {
    json!({
        "schema": warden_core::proposal::PROPOSAL_SCHEMA_ID,
        "source": {"kind": "bridge", "id": cmd.id},
        "event": "CommandReceived",
        "rationale": format!("signed command {} ({}/{})", cmd.id, cmd.action, match cmd.patch_type {
            crate::command::PatchType::Hybrid => "hybrid",
            crate::command::PatchType::Ops => "ops",
            crate::command::PatchType::Unified => "unified",
        }),
        "actions": actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::PatchType;

    fn command(ops: Vec<Op>, diff: Option<&str>, allowed: &[&str]) -> Command {
        Command {
            id: "c1".into(),
            issued_at: jiff::Timestamp::UNIX_EPOCH,
            expires_at: jiff::Timestamp::UNIX_EPOCH,
            issued_at_text: String::new(),
            expires_at_text: String::new(),
            action: "apply".into(),
            patch_type: PatchType::Hybrid,
            ops,
            diff: diff.map(str::to_string),
            allowed_actions: allowed.iter().map(|a| a.to_string()).collect(),
            max_runtime_ms: 1000,
            max_files_changed: 10,
            validation_plan: Vec::new(),
        }
    }

    const DELETE: &str = "--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n";

    /// The ops' actions come first, in order (a noop has none), then one per
    /// diff file, expecting the content the diff was applied to.
    #[test]
    fn ops_then_diff_files_become_actions() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("gone.txt"), "bye\n").expect("write");
        let target = Target::new(dir.path(), &dir.path().join("bridge"));
        let ops = vec![
            Op::Noop,
            Op::DeleteFile {
                path: "a.txt".into(),
                expect: Expect::Any,
            },
        ];
        let cmd = command(ops, Some(DELETE), &["deleteFile"]);
        let actions = actions(&cmd, &target).expect("actions");
        assert_eq!(
            actions,
            vec![
                json!({"kind": "delete_file", "path": "a.txt", "expect": "any"}),
                json!({"kind": "delete_file", "path": "gone.txt",
                       "expect": {"sha256": warden_core::Digest::of(b"bye\n").to_string()}}),
            ]
        );
    }

    /// A diff that deletes a file needs deleteFile in allowedActions, like
    /// the op would; a diff that does not parse is a schema refusal.
    #[test]
    fn a_diff_needs_the_capability_of_what_it_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("gone.txt"), "bye\n").expect("write");
        let target = Target::new(dir.path(), &dir.path().join("bridge"));
        let e = actions(&command(Vec::new(), Some(DELETE), &["writeFile"]), &target)
            .expect_err("deleteFile not allowed");
        assert_eq!(e.reason, Reason::OpNotAllowed);
        assert_eq!(e.field.as_deref(), Some("payload.inline.diff"));
        assert!(
            e.detail.contains("the diff needs \"deleteFile\""),
            "{}",
            e.detail
        );
        let e = actions(
            &command(Vec::new(), Some("hello\n"), &["writeFile"]),
            &target,
        )
        .expect_err("not a diff");
        assert_eq!(e.reason, Reason::Schema);
        assert_eq!(e.field.as_deref(), Some("payload.inline.diff"));
    }
}
