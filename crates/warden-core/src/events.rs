//! The lifecycle event catalogue as data: trigger, input schema,
//! default allowed actions per source kind, required ledger fields and rollback
//! expectations. `warden events` prints it; the policy and the operating contract
//! are derived from it.

use serde::Serialize;

/// The closed set of action kinds. Some are reserved for later
/// subsystems: the catalogue and the policy know them, the engine refuses them
/// with a clear message until their subsystem lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    WriteFile,
    PatchRegion,
    MoveFile,
    Quarantine,
    DeleteFile,
    CreateBranch,
    RegistryPatch,
}

impl ActionKind {
    pub const ALL: &[ActionKind] = &[
        ActionKind::WriteFile,
        ActionKind::PatchRegion,
        ActionKind::MoveFile,
        ActionKind::Quarantine,
        ActionKind::DeleteFile,
        ActionKind::CreateBranch,
        ActionKind::RegistryPatch,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ActionKind::WriteFile => "write_file",
            ActionKind::PatchRegion => "patch_region",
            ActionKind::MoveFile => "move_file",
            ActionKind::Quarantine => "quarantine",
            ActionKind::DeleteFile => "delete_file",
            ActionKind::CreateBranch => "create_branch",
            ActionKind::RegistryPatch => "registry_patch",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == s)
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::ALL.iter().map(|k| k.name())
    }

    /// Whether the transaction engine of this build can apply it in a
    /// proposal. `create_branch` is taken only by the sync guardian, which
    /// asks the policy first ([`crate::policy::Policy::require`]).
    pub fn supported(self) -> bool {
        !matches!(self, ActionKind::CreateBranch)
    }
}

/// Who produced a proposal.
pub const SOURCE_KINDS: &[&str] = &[
    "person",
    "plugin",
    "bridge",
    "collector",
    "generator",
    "llm",
    "tool",
];

#[derive(Debug, Clone, Serialize)]
pub struct EventSpec {
    pub name: &'static str,
    pub trigger: &'static str,
    /// Default allowed actions per source kind, used to write the initial policy.
    pub default_allow: &'static [(&'static str, &'static [ActionKind])],
    pub required_ledger_fields: &'static [&'static str],
    pub rollback: &'static str,
    /// JSON Schema of the event's input payload.
    pub input_schema: serde_json::Value,
}

const LEDGER_FIELDS: &[&str] = &[
    "run",
    "time",
    "actor",
    "event",
    "policy",
    "input_digest",
    "before_digest",
    "after_digest",
    "actions",
    "result",
    "rollback",
];

use ActionKind::*;
use serde_json::json;

fn payload(props: serde_json::Value, required: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": props,
        "required": required,
    })
}

/// The catalogue's entries, in its stable order: [`EVENT_NAMES`] names
/// them in the same order.
const SPECS: [fn() -> EventSpec; 11] = [
    manual,
    file_detected,
    pre_commit,
    pre_merge,
    merge_conflict,
    post_merge,
    sync_audited,
    quarantine_created,
    rollback_triggered,
    registry_maintain,
    command_received,
];

/// The catalogue, in a stable order.
pub fn catalogue() -> Vec<EventSpec> {
    SPECS.iter().map(|spec| spec()).collect()
}

/// A repository-relative path in an input payload.
fn path_schema() -> serde_json::Value {
    json!({"type": "string", "description": "repository-relative path"})
}

/// A person or script submits a proposal.
fn manual() -> EventSpec {
    EventSpec {
        name: "Manual",
        trigger: "A person or script submits a proposal with `warden apply FILE`.",
        default_allow: &[
            ("person", &[WriteFile, PatchRegion, MoveFile, Quarantine]),
            // warden's own tools: plugin scaffolding and regeneration, ID cards.
            ("tool", &[WriteFile]),
        ],
        required_ledger_fields: LEDGER_FIELDS,
        rollback: "Undoable by run id; `warden undo RUN` restores the before-state byte for byte.",
        input_schema: payload(
            json!({"proposal": {"type": "object", "description": "a proposal: see `warden schema proposal`"}}),
            &["proposal"],
        ),
    }
}

/// A file appears in a watched place.
fn file_detected() -> EventSpec {
    let path = path_schema();
    EventSpec {
        name: "FileDetected",
        trigger: "A new or modified file appears in a watched place.",
        default_allow: &[
            ("plugin", &[MoveFile, Quarantine]),
            ("collector", &[MoveFile, Quarantine]),
        ],
        required_ledger_fields: LEDGER_FIELDS,
        rollback: "Moves and quarantines are undoable by run id; no file is deleted.",
        input_schema: payload(
            json!({"path": path, "sha256": {"type": "string"}, "size": {"type": "integer"}, "mtime": {"type": "string"}}),
            &["path", "sha256", "size"],
        ),
    }
}

/// The pre-commit hook.
fn pre_commit() -> EventSpec {
    let path = path_schema();
    EventSpec {
        name: "PreCommit",
        trigger: "A commit is about to be made (pre-commit hook).",
        default_allow: &[
            ("plugin", &[PatchRegion, WriteFile]),
            ("generator", &[PatchRegion, WriteFile]),
        ],
        required_ledger_fields: LEDGER_FIELDS,
        rollback: "Undoable by run id before or after the commit.",
        input_schema: payload(
            json!({"staged": {"type": "array", "items": path}}),
            &["staged"],
        ),
    }
}

/// A merge into a protected branch is about to happen.
fn pre_merge() -> EventSpec {
    EventSpec {
        name: "PreMerge",
        trigger: "A branch is about to be merged into a protected branch.",
        default_allow: &[("plugin", &[PatchRegion, WriteFile])],
        required_ledger_fields: LEDGER_FIELDS,
        rollback: "Snapshot taken before the merge; undoable by run id.",
        input_schema: payload(
            json!({"base": {"type": "string"}, "head": {"type": "string"}}),
            &["base", "head"],
        ),
    }
}

/// git left paths conflicted; the payload carries each side's text.
fn merge_conflict() -> EventSpec {
    let path = path_schema();
    EventSpec {
        name: "MergeConflict",
        trigger: "git cannot merge some paths automatically.",
        default_allow: &[("plugin", &[WriteFile, Quarantine])],
        required_ledger_fields: LEDGER_FIELDS,
        rollback: "Resolutions are applied on a sync branch; unresolved paths go to quarantine.",
        input_schema: payload(
            json!({
                "paths": {"type": "array", "items": path},
                "base": {"type": ["string", "null"], "description": "merge base commit"},
                "ours": {"type": "string", "description": "our commit (local tip + uncommitted work)"},
                "theirs": {"type": "string", "description": "their commit (the upstream)"},
                "files": {
                    "type": "array",
                    "description": "per conflicted path: each side's text (null when absent or not UTF-8) and the merge with conflict markers",
                    "items": {
                        "type": "object",
                        "properties": {
                            "path": path,
                            "base": {"type": ["string", "null"]},
                            "ours": {"type": ["string", "null"]},
                            "theirs": {"type": ["string", "null"]},
                            "merged": {"type": ["string", "null"], "description": "git's merge with conflict markers"},
                            "merged_sha256": {"type": ["string", "null"], "description": "sha256 of `merged`: the `expect` of a write_file that resolves the path"}
                        },
                        "required": ["path"]
                    }
                }
            }),
            &["paths"],
        ),
    }
}

/// A merge completed.
fn post_merge() -> EventSpec {
    EventSpec {
        name: "PostMerge",
        trigger: "A merge completed.",
        default_allow: &[("plugin", &[PatchRegion])],
        required_ledger_fields: LEDGER_FIELDS,
        rollback: "Undoable by run id.",
        input_schema: payload(json!({"commit": {"type": "string"}}), &["commit"]),
    }
}

/// The sync guardian audited or reconciled a checkout.
fn sync_audited() -> EventSpec {
    EventSpec {
        name: "SyncAudited",
        trigger: "`warden sync audit` compared a checkout with its remote, or `warden sync reconcile` built the merged truth on a new branch.",
        default_allow: &[("collector", &[CreateBranch])],
        required_ledger_fields: LEDGER_FIELDS,
        rollback: "The audit is read-only. Reconcile only creates new branches (sync/…, quarantine/sync-…) and never moves an existing ref: delete the branch to drop it.",
        input_schema: payload(json!({"report": {"type": "object"}}), &["report"]),
    }
}

/// Something was routed to the quarantine lane.
fn quarantine_created() -> EventSpec {
    let path = path_schema();
    EventSpec {
        name: "QuarantineCreated",
        trigger: "A change or file was routed to the quarantine lane.",
        default_allow: &[],
        required_ledger_fields: LEDGER_FIELDS,
        rollback: "Quarantined files are kept; undo moves them back.",
        input_schema: payload(
            json!({"path": path, "reason": {"type": "string"}, "run": {"type": "string"}}),
            &["path", "reason"],
        ),
    }
}

/// A run is undone.
fn rollback_triggered() -> EventSpec {
    EventSpec {
        name: "RollbackTriggered",
        trigger: "A run is undone, or a validation failure rolled one back.",
        default_allow: &[("person", &[WriteFile, MoveFile, Quarantine])],
        required_ledger_fields: LEDGER_FIELDS,
        rollback: "An undo is itself a run and can be undone.",
        input_schema: payload(json!({"run": {"type": "string"}}), &["run"]),
    }
}

/// A registry session writes its accepted patches.
fn registry_maintain() -> EventSpec {
    EventSpec {
        name: "RegistryMaintain",
        trigger: "`warden registry maintain` or `registry update --apply` writes the patches accepted in one session.",
        default_allow: &[
            ("collector", &[RegistryPatch]),
            ("llm", &[RegistryPatch]),
            ("person", &[RegistryPatch]),
        ],
        required_ledger_fields: LEDGER_FIELDS,
        rollback: "One run per session, all of its index and entry files or none; undoable by run id.",
        input_schema: payload(
            json!({"patches": {"type": "array", "description": "registry patches: see `warden schema registry-patch`"}}),
            &["patches"],
        ),
    }
}

/// A signed command arrived in the bridge inbox.
fn command_received() -> EventSpec {
    EventSpec {
        name: "CommandReceived",
        trigger: "A signed command arrived in the bridge inbox.",
        default_allow: &[("bridge", &[WriteFile, PatchRegion])],
        required_ledger_fields: LEDGER_FIELDS,
        rollback: "Applied as a run; undoable by run id. Publishing is not undoable.",
        input_schema: payload(
            json!({"id": {"type": "string"}, "action": {"type": "string"}}),
            &["id", "action"],
        ),
    }
}

pub fn event_names() -> Vec<&'static str> {
    EVENT_NAMES.to_vec()
}

/// The names of [`catalogue`], in its order, without building its input
/// schemas: every policy load and proposal parse checks an event name.
const EVENT_NAMES: [&str; 11] = [
    "Manual",
    "FileDetected",
    "PreCommit",
    "PreMerge",
    "MergeConflict",
    "PostMerge",
    "SyncAudited",
    "QuarantineCreated",
    "RollbackTriggered",
    "RegistryMaintain",
    "CommandReceived",
];

pub fn find(name: &str) -> Option<EventSpec> {
    // Only the named event's input schema is built.
    let i = EVENT_NAMES.iter().position(|n| *n == name)?;
    Some(SPECS[i]())
}

#[cfg(test)]
mod names_tests {
    #[test]
    fn the_event_names_are_the_catalogue_s_names_in_its_order() {
        let names: Vec<&str> = super::catalogue().iter().map(|e| e.name).collect();
        assert_eq!(super::event_names(), names);
    }

    #[test]
    fn find_gives_each_event_its_own_spec_and_nothing_for_an_unknown_name() {
        for spec in super::catalogue() {
            let found = super::find(spec.name).expect("every catalogued event is found");
            assert_eq!(found.name, spec.name);
            assert_eq!(found.input_schema, spec.input_schema);
        }
        assert!(super::find("NoSuchEvent").is_none());
        assert!(super::find("manual").is_none(), "names are case-sensitive");
    }
}
