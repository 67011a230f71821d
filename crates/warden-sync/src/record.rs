//! What the sync guardian writes to the ledger and to `.runs/<RUN>/` ("the
//! ledger line says exactly what was brought in from where").

use crate::adopt::AdoptReport;
use crate::audit::AuditReport;
use crate::reconcile::ReconcileReport;
use crate::render;
use warden_core::Digest;
use warden_core::engine::Record;
use warden_core::proposal::Source;

fn json(v: &impl serde::Serialize) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
    b.push(b'\n');
    b
}

/// The person at the command line.
pub fn cli_actor() -> Source {
    Source {
        kind: "person".into(),
        id: "cli".into(),
    }
}

/// `sync audit`: the ledger keeps the summary; `.runs/<RUN>/audit.json` the
/// full report and `report.md` the same for people.
pub fn audit(run: &str, report: &AuditReport, actor: Source) -> Record {
    let w = &report.working_tree;
    let details = serde_json::json!({
        "schema": report.schema,
        "head": report.head,
        "in_sync": report.summary.in_sync,
        "needs_attention": report.summary.needs_attention,
        "fetch": report.fetch,
        "counts": {
            "staged": w.staged.len(),
            "unstaged": w.unstaged.len(),
            "unmerged": w.unmerged.len(),
            "untracked": w.untracked.len(),
            "stashes": report.stashes.len(),
            "collisions": report.collisions.len(),
            "unpushed_tags": report.tags.unpushed.len(),
        },
        "branches": report.branches.iter().map(|b| serde_json::json!({
            "name": b.name, "commit": b.commit, "upstream": b.upstream,
            "ahead": b.ahead, "behind": b.behind,
        })).collect::<Vec<_>>(),
    });
    let bytes = json(report);
    Record {
        run: run.to_string(),
        command: "sync audit".into(),
        actor,
        event: "SyncAudited".into(),
        input_digest: Digest::of(&bytes),
        rationale: Some(if report.summary.in_sync {
            "in sync".into()
        } else {
            format!(
                "needs attention: {}",
                report.summary.needs_attention.join("; ")
            )
        }),
        details: Some(details),
        artifacts: vec![
            ("audit.json".into(), bytes),
            ("report.md".into(), render::audit(report).into_bytes()),
        ],
    }
}

/// `sync reconcile`: the whole report is the ledger entry's details.
pub fn reconcile(report: &ReconcileReport, actor: Source) -> Record {
    let bytes = json(report);
    Record {
        run: report.run.clone(),
        command: "sync reconcile".into(),
        actor,
        // The event under which the policy let the sync guardian create its
        // branches; a conflict's MergeConflict dispatch is its own run
        // (`merge_conflict_run`).
        event: crate::reconcile::BRANCH_EVENT.into(),
        input_digest: Digest::of(
            format!(
                "sync reconcile {} {} {} {}",
                report.branch,
                report.local_tip,
                report.snapshot.as_ref().map_or("-", |s| s.tree.as_str()),
                report.upstream_tip
            )
            .as_bytes(),
        ),
        rationale: Some(render::reconcile_headline(report)),
        details: serde_json::to_value(report).ok(),
        artifacts: vec![
            ("reconcile.json".into(), bytes),
            ("report.md".into(), render::reconcile(report).into_bytes()),
        ],
    }
}

/// `sync adopt`.
pub fn adopt(report: &AdoptReport, actor: Source) -> Record {
    Record {
        run: report.run.clone(),
        command: "sync adopt".into(),
        actor,
        event: "PostMerge".into(),
        input_digest: Digest::of(report.reconcile_run.as_bytes()),
        rationale: Some(format!(
            "fast-forwarded {} to {} ({})",
            report.branch, report.sync_branch, report.to
        )),
        details: serde_json::to_value(report).ok(),
        artifacts: vec![("adopt.json".into(), json(report))],
    }
}
