//! What the core's benches share: a realistic ledger entry to copy.

use warden_core::digest::Digest;
use warden_core::ledger::{self, Entry, RunResult};

/// A one-move classifier run by `writer`, with an empty run id and time for
/// the caller to fill in.
pub fn template(writer: &str) -> Entry {
    let d = Digest::of(b"x");
    Entry {
        schema: ledger::LEDGER_SCHEMA_ID.into(),
        seq: 0,
        prev: d,
        writer: writer.into(),
        run: String::new(),
        time: String::new(),
        command: "apply".into(),
        actor: warden_core::proposal::Source {
            kind: "plugin".into(),
            id: "classifier".into(),
        },
        event: "FileDetected".into(),
        policy: warden_core::policy::PolicyRef {
            version: "2026-11-21.1".into(),
            digest: d,
        },
        input_digest: d,
        before_digest: d,
        after_digest: d,
        actions: vec![ledger::ActionSummary {
            kind: "move_file".into(),
            path: "inbox/report.pdf".into(),
            to: Some("docs/reports/report.pdf".into()),
            reason: None,
        }],
        changes: vec![],
        changes_file: None,
        details_file: None,
        counts: ledger::Counts {
            files: 2,
            added: 1,
            deleted: 1,
            ..Default::default()
        },
        result: RunResult::Applied,
        rolled_back_by: None,
        reason: None,
        rationale: None,
        undoes: None,
        details: None,
        rollback: None,
    }
}
