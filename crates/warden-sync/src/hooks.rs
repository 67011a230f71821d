//! The seams through which reconcile reaches what the sync guardian must not
//! depend on itself: the plugin runtime (the MergeConflict event) and the
//! plugin sandbox (for generator commands). The CLI implements both with
//! `warden-plugin`; [`NoPlugins`] and [`Unsandboxed`] are the plain versions
//! for library users and tests.
//!
//! A plugin's proposal for MergeConflict is judged twice: by the core's
//! policy gate (event MergeConflict, source `plugin`: by default
//! `write_file` and `quarantine`), then by [`verdicts`], which admits only
//! actions on the conflicted paths of this merge, with content free of
//! conflict markers and a precondition that holds against the merged file.
//! Accepted resolutions are written into the sync branch's tree only, never
//! into the user's working tree.

use crate::resolve;
use std::path::Path;
use warden_core::Digest;
use warden_core::process::Cmd;
use warden_core::proposal::{Action, Expect, Proposal};
use warden_core::{Error, Result};

/// One conflicted path that no built-in resolver settled.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The conflicted path.
    pub path: String,
    /// The merge base's version (None when the path did not exist there).
    pub base: Option<Vec<u8>>,
    /// The local side's version (None when deleted there).
    pub ours: Option<Vec<u8>>,
    /// The upstream's version (None when deleted there).
    pub theirs: Option<Vec<u8>>,
    /// git's merge of the path with conflict markers, as it stands in the
    /// merge tree (None when the merge tree lacks the path).
    pub merged: Option<Vec<u8>>,
}

impl Pending {
    fn text(b: &Option<Vec<u8>>) -> serde_json::Value {
        match b.as_deref().map(std::str::from_utf8) {
            Some(Ok(s)) => serde_json::Value::String(s.to_string()),
            _ => serde_json::Value::Null,
        }
    }

    /// The `files[]` entry of the MergeConflict payload.
    pub fn payload(&self) -> serde_json::Value {
        serde_json::json!({
            "path": self.path,
            "base": Self::text(&self.base),
            "ours": Self::text(&self.ours),
            "theirs": Self::text(&self.theirs),
            "merged": Self::text(&self.merged),
            "merged_sha256": self.merged.as_deref().map(|m| Digest::of(m).hex()),
        })
    }
}

/// The MergeConflict event's input (`warden schema event/MergeConflict`):
/// the merge's commits, the paths left to the plugins, and their sides.
pub fn payload(
    base: Option<&str>,
    ours: &str,
    theirs: &str,
    pending: &[Pending],
) -> serde_json::Value {
    serde_json::json!({
        "paths": pending.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
        "base": base,
        "ours": ours,
        "theirs": theirs,
        "files": pending.iter().map(Pending::payload).collect::<Vec<_>>(),
    })
}

/// What a plugin decided for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The resolved content (`write_file`).
    Resolved {
        /// The merged file.
        content: Vec<u8>,
        /// Whether it is executable (None: as the merge had it).
        executable: Option<bool>,
    },
    /// Leave it to the quarantine branch, with the plugin's reason.
    Quarantine {
        /// The plugin's reason, shown with the conflict.
        reason: String,
    },
}

/// One accepted answer of one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The path answered.
    pub path: String,
    /// The plugin's key.
    pub plugin: String,
    /// The plugin's version.
    pub plugin_version: String,
    /// What the plugin decided.
    pub verdict: Verdict,
}

/// A plugin that failed or whose proposal was refused: its paths stay conflicted.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct PluginFault {
    /// The plugin's key.
    pub plugin: String,
    /// The plugin's version.
    pub plugin_version: String,
    /// What went wrong.
    pub message: String,
}

/// The result of firing MergeConflict.
#[derive(Debug, Clone, Default)]
pub struct Dispatched {
    /// The ledgered dispatch run (`warden ledger show RUN`), when the event was fired.
    pub run: Option<String>,
    /// Accepted answers, in dispatch order (priority, then key).
    pub answers: Vec<Answer>,
    /// Plugins that failed or whose proposals were refused.
    pub faults: Vec<PluginFault>,
}

/// Fires the MergeConflict event at the enabled plugins.
pub trait MergeConflictHook {
    /// `payload` is the event's input (`warden schema event/MergeConflict`);
    /// `pending` the same paths with their bytes.
    fn dispatch(&mut self, payload: serde_json::Value, pending: &[Pending]) -> Result<Dispatched>;
}

/// No plugin is consulted (library users, dry runs).
#[derive(Debug, Default)]
pub struct NoPlugins;

impl MergeConflictHook for NoPlugins {
    fn dispatch(&mut self, _: serde_json::Value, _: &[Pending]) -> Result<Dispatched> {
        Ok(Dispatched::default())
    }
}

/// Builds the process of a generator command from `.warden/sync.yaml`.
pub trait GeneratorLauncher {
    /// The command running `argv` with write access only beneath `writable`
    /// (which holds the temporary worktree), with the environment it may see
    /// (the runner passes nothing else). The caller sets the directory, the
    /// stdio, `TMPDIR` and the time limit. Err: why the generator may not run here.
    fn command(&self, argv: &[String], writable: &Path) -> std::result::Result<Cmd, String>;

    /// What a non-zero exit code means when it is the launcher's own (e.g.
    /// the sandbox could not be enforced), or None.
    fn explain(&self, _code: i32) -> Option<String> {
        None
    }
}

/// Generators run as plain child processes (library users and tests), with
/// an empty environment besides `TMPDIR` (a program without a `/` is looked
/// up on the system's default path).
#[derive(Debug, Default)]
pub struct Unsandboxed;

impl GeneratorLauncher for Unsandboxed {
    fn command(&self, argv: &[String], _: &Path) -> std::result::Result<Cmd, String> {
        let (prog, args) = argv
            .split_first()
            .ok_or_else(|| "the generator command is empty".to_string())?;
        Ok(Cmd::new(prog).args(args))
    }
}

/// Check a plugin's MergeConflict proposal (already through the policy gate)
/// against the paths of this merge. All or nothing: the first bad action
/// refuses the whole proposal, and the error says why.
pub fn verdicts(pending: &[Pending], proposal: &Proposal) -> Result<Vec<(String, Verdict)>> {
    let label = format!("plugin {}", proposal.source.id);
    let mut out: Vec<(String, Verdict)> = Vec::new();
    for (i, action) in proposal.actions.iter().enumerate() {
        let refuse = |f: &str, message: String, hint: &str| {
            Error::rejected(
                &label,
                format!("actions[{i}].{f}"),
                message,
                Some(hint.into()),
            )
        };
        let path = action.paths()[0].as_str().to_string();
        let Some(p) = pending.iter().find(|p| p.path == path) else {
            return Err(refuse(
                "path",
                format!("\"{path}\" is not one of this merge's conflicted paths"),
                "a MergeConflict proposal may only resolve or quarantine the paths it was given",
            ));
        };
        if out.iter().any(|(q, _)| *q == path) {
            return Err(refuse(
                "path",
                format!("\"{path}\" is answered twice"),
                "propose one action per conflicted path",
            ));
        }
        let (expect, verdict) = match action {
            Action::WriteFile {
                expect,
                content,
                executable,
                ..
            } => (
                *expect,
                Verdict::Resolved {
                    content: content.as_bytes().to_vec(),
                    executable: *executable,
                },
            ),
            Action::Quarantine { expect, reason, .. } => (
                *expect,
                Verdict::Quarantine {
                    reason: reason.clone(),
                },
            ),
            _ => {
                return Err(refuse(
                    "kind",
                    format!("\"{}\" cannot settle a conflict", action.kind().name()),
                    "answer with write_file (the merged content) or quarantine",
                ));
            }
        };
        if !holds(expect, p) {
            return Err(refuse(
                "expect",
                format!("precondition failed: \"{path}\" is not in the state the proposal expects"),
                "expect {\"sha256\": merged_sha256} from the event's files[], or \"any\"",
            ));
        }
        if let Verdict::Resolved { content, .. } = &verdict
            && resolve::has_conflict_markers(content)
        {
            return Err(refuse(
                "content",
                format!("the content proposed for \"{path}\" still holds conflict markers"),
                "propose the fully merged file, or quarantine it",
            ));
        }
        out.push((path, verdict));
    }
    Ok(out)
}

/// Whether the merge tree's version of the path is what `expect` says.
fn holds(expect: Expect, p: &Pending) -> bool {
    let current = p.merged.as_deref().map(Digest::of);
    match expect {
        Expect::Any => true,
        Expect::Absent => current.is_none(),
        Expect::Sha256(d) => current == Some(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> Vec<Pending> {
        vec![Pending {
            path: "a.txt".into(),
            base: Some(b"x\n".to_vec()),
            ours: Some(b"o\n".to_vec()),
            theirs: Some(b"t\n".to_vec()),
            merged: Some(b"<<<<<<< ours\no\n=======\nt\n>>>>>>> theirs\n".to_vec()),
        }]
    }

    fn proposal(actions: serde_json::Value) -> Proposal {
        let v = serde_json::json!({
            "schema": "warden.proposal/v1",
            "source": {"kind": "plugin", "id": "p"},
            "event": "MergeConflict",
            "actions": actions,
        });
        Proposal::from_value(&v, "t").expect("valid").0
    }

    #[test]
    fn a_write_of_a_conflicted_path_with_the_merged_digest_is_a_resolution() {
        let p = pending();
        let sha = Digest::of(p[0].merged.as_deref().expect("m")).hex();
        let v = verdicts(
            &p,
            &proposal(serde_json::json!([{"kind": "write_file", "path": "a.txt", "content": "o\nt\n", "expect": {"sha256": sha}}])),
        )
        .expect("accepted");
        assert_eq!(
            v,
            vec![(
                "a.txt".to_string(),
                Verdict::Resolved {
                    content: b"o\nt\n".to_vec(),
                    executable: None
                }
            )]
        );
    }

    #[test]
    fn other_paths_markers_stale_preconditions_and_other_kinds_are_refused() {
        let p = pending();
        let cases = [
            (
                serde_json::json!([{"kind": "write_file", "path": "b.txt", "content": "x", "expect": "any"}]),
                "not one of this merge's conflicted paths",
            ),
            (
                serde_json::json!([{"kind": "write_file", "path": "a.txt", "content": "<<<<<<< x\n", "expect": "any"}]),
                "still holds conflict markers",
            ),
            (
                serde_json::json!([{"kind": "write_file", "path": "a.txt", "content": "x", "expect": "absent"}]),
                "precondition failed",
            ),
            (
                serde_json::json!([{"kind": "delete_file", "path": "a.txt", "expect": "any"}]),
                "cannot settle a conflict",
            ),
            (
                serde_json::json!([{"kind": "quarantine", "path": "a.txt", "reason": "r"},
                                   {"kind": "write_file", "path": "a.txt", "content": "x", "expect": "any"}]),
                "answered twice",
            ),
        ];
        for (actions, want) in cases {
            let e = verdicts(&p, &proposal(actions)).expect_err(want);
            assert!(e.to_string().contains(want), "{e} / {want}");
        }
    }

    #[test]
    fn the_payload_validates_against_the_event_schema() {
        let spec = warden_core::events::find("MergeConflict").expect("event");
        let v = jsonschema::draft7::new(&spec.input_schema).expect("schema");
        let mut p = pending();
        p.push(Pending {
            path: "gone.txt".into(),
            base: Some(b"b\n".to_vec()),
            ours: None,
            theirs: Some(b"t\n".to_vec()),
            merged: None,
        });
        let item = payload(None, "a", "b", &p);
        let errs: Vec<String> = v.iter_errors(&item).map(|e| e.to_string()).collect();
        assert!(errs.is_empty(), "{errs:?}\n{item:#}");
        assert_eq!(item["paths"], serde_json::json!(["a.txt", "gone.txt"]));
        assert_eq!(item["files"][1]["merged_sha256"], serde_json::Value::Null);
    }

    #[test]
    fn the_payload_carries_text_and_the_merged_digest() {
        let mut p = pending().remove(0);
        p.theirs = Some(vec![0xff, 0xfe]);
        let v = p.payload();
        assert_eq!(v["ours"], "o\n");
        assert_eq!(v["theirs"], serde_json::Value::Null, "not UTF-8");
        assert_eq!(
            v["merged_sha256"],
            Digest::of(p.merged.as_deref().expect("m")).hex()
        );
    }
}
