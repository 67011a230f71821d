//! Plain-text renderings of the reports, for people (`--format human`) and for
//! `.runs/<RUN>/report.md`. No color; the same report gives the same text.

use crate::adopt::AdoptReport;
use crate::audit::{AuditReport, BranchReport, Collision, LocalSide, PathChange, UpstreamState};
use crate::fleet::FleetReport;
use crate::reconcile::{Outcome, ReconcileReport};
use std::fmt::Write;

fn short(s: &str) -> &str {
    s.get(..10).unwrap_or(s)
}

fn list(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title} ({}):", items.len());
    for i in items {
        let _ = writeln!(out, "  {i}");
    }
}

/// The audit report as text.
pub fn audit(r: &AuditReport) -> String {
    let mut o = String::new();
    audit_fetch(&mut o, r);
    let w = &r.working_tree;
    list(&mut o, "staged", &changes(&w.staged));
    list(&mut o, "unstaged", &changes(&w.unstaged));
    list(&mut o, "unmerged", &w.unmerged);
    list(&mut o, "untracked", &w.untracked);
    list(
        &mut o,
        "stashes",
        &r.stashes
            .iter()
            .map(|s| format!("{} {}", s.name, s.message))
            .collect::<Vec<_>>(),
    );
    if !r.branches.is_empty() {
        let _ = writeln!(o, "branches:");
    }
    for b in &r.branches {
        branch(&mut o, b);
    }
    if r.head.unreferenced_commits > 0 {
        let _ = writeln!(
            o,
            "detached HEAD: {} commit(s) on no branch, remote or tag",
            r.head.unreferenced_commits
        );
    }
    if let Some(remote) = &r.tags.remote {
        list(
            &mut o,
            &format!("tags not on {remote}"),
            &r.tags
                .unpushed
                .iter()
                .map(|t| format!("{} {}", t.name, short(&t.target)))
                .collect::<Vec<_>>(),
        );
    }
    list(
        &mut o,
        "collisions (changed on both sides)",
        &r.collisions.iter().map(collision).collect::<Vec<_>>(),
    );
    list(&mut o, "warden bookkeeping (not a finding)", &w.bookkeeping);
    if r.summary.in_sync {
        let _ = writeln!(o, "\nIN SYNC: nothing needs attention (exit 0)");
    } else {
        let _ = writeln!(
            o,
            "\nNEEDS ATTENTION (exit 1): {}",
            r.summary.needs_attention.join("; ")
        );
    }
    o
}

/// The audit's first lines: where HEAD is, and what was fetched.
fn audit_fetch(o: &mut String, r: &AuditReport) {
    let head = match (&r.head.branch, &r.head.commit) {
        (Some(b), Some(c)) => format!("on {b} at {}", short(c)),
        (Some(b), None) => format!("on {b} (no commit yet)"),
        (None, Some(c)) => format!("detached at {}", short(c)),
        (None, None) => "no commit yet".into(),
    };
    let _ = writeln!(o, "sync audit of {} ({head})", r.root);
    for f in &r.fetch {
        match &f.error {
            None => {
                let _ = writeln!(o, "fetched {} (nothing merged)", f.remote);
            }
            Some(e) => {
                let _ = writeln!(o, "FETCH FAILED for {}: {e}", f.remote);
            }
        }
    }
    if r.fetch.is_empty() {
        let _ = writeln!(
            o,
            "not fetched: comparing with the remote-tracking refs as they are"
        );
    }
}

fn changes(v: &[PathChange]) -> Vec<String> {
    v.iter()
        .map(|c| match &c.from {
            Some(f) => format!("{} {} (from {f})", c.change, c.path),
            None => format!("{} {}", c.change, c.path),
        })
        .collect()
}

/// One branch: its state against its upstream, then its commits on each side.
fn branch(o: &mut String, b: &BranchReport) {
    let mark = if b.current { "*" } else { " " };
    let _ = writeln!(o, " {mark} {:<24} {}", b.name, branch_state(b));
    for c in &b.commits_ahead {
        let _ = writeln!(o, "      + {} {}", short(&c.id), c.subject);
    }
    for c in &b.commits_behind {
        let _ = writeln!(o, "      - {} {}", short(&c.id), c.subject);
    }
}

fn branch_state(b: &BranchReport) -> String {
    match b.upstream_state {
        UpstreamState::Tracking => {
            let up = b
                .upstream
                .as_deref()
                .map(|u| u.trim_start_matches("refs/remotes/"))
                .unwrap_or("?");
            match (b.ahead, b.behind) {
                (0, 0) => format!("in sync with {up}"),
                (a, 0) => format!("{a} ahead of {up} (not pushed)"),
                (0, z) => format!("{z} behind {up} (not pulled)"),
                (a, z) => format!("DIVERGED from {up}: {a} ahead, {z} behind"),
            }
        }
        UpstreamState::None if b.warden_lane => {
            format!("warden's lane; {} commit(s) on no remote", b.ahead)
        }
        UpstreamState::None => format!("no upstream; {} commit(s) on no remote", b.ahead),
        UpstreamState::Gone => format!(
            "upstream {} is GONE; {} commit(s) on no remote",
            b.upstream.as_deref().unwrap_or("?"),
            b.ahead
        ),
    }
}

fn collision(c: &Collision) -> String {
    format!(
        "{}: {} ({} locally; {})",
        c.branch,
        c.path,
        match c.local {
            LocalSide::Committed => "committed",
            LocalSide::Uncommitted => "uncommitted",
        },
        if c.mergeable {
            "git merges it cleanly"
        } else {
            "WOULD CONFLICT"
        }
    )
}

/// One line saying what the reconcile did (or would do, in a dry run).
pub fn reconcile_headline(r: &ReconcileReport) -> String {
    match r.outcome {
        Outcome::UpToDate => format!(
            "{} already contains {} and has no uncommitted work: nothing to reconcile",
            r.branch, r.upstream
        ),
        Outcome::SyncBranch => format!(
            "{} {} {} + {}{}",
            r.sync_branch.as_deref().unwrap_or("?"),
            if r.dry_run { "would hold" } else { "holds" },
            r.branch,
            r.upstream.trim_start_matches("refs/remotes/"),
            if r.snapshot.is_some() {
                " + the uncommitted work"
            } else {
                ""
            }
        ),
        Outcome::Quarantined if r.dry_run => format!(
            "{} path(s) would stay conflicted: the merge would go to {} (dry run: not created)",
            r.conflicts.len(),
            r.quarantine_branch.as_deref().unwrap_or("?")
        ),
        Outcome::Quarantined => format!(
            "{} path(s) stayed conflicted: the merge is on {}",
            r.conflicts.len(),
            r.quarantine_branch.as_deref().unwrap_or("?")
        ),
    }
}

/// The reconcile report as text: its inputs, resolutions, conflicts and the next step.
pub fn reconcile(r: &ReconcileReport) -> String {
    let mut o = String::new();
    reconcile_inputs(&mut o, r);
    list(&mut o, "collisions (changed on both sides)", &r.collisions);
    list(
        &mut o,
        "resolved by warden",
        &r.resolutions
            .iter()
            .map(|x| format!("{} [{}] {}", x.path, x.resolver, x.detail))
            .collect::<Vec<_>>(),
    );
    if let Some(run) = &r.merge_conflict_run {
        let _ = writeln!(
            o,
            "MergeConflict fired at the enabled plugins as run {run} (`warden ledger show {run}`)"
        );
    }
    list(
        &mut o,
        "plugins that failed (their paths stay conflicted)",
        &r.plugin_faults
            .iter()
            .map(|f| format!("{} {}: {}", f.plugin, f.plugin_version, f.message))
            .collect::<Vec<_>>(),
    );
    list(
        &mut o,
        "STILL CONFLICTED",
        &r.conflicts
            .iter()
            .map(|c| format!("{}: {}", c.path, c.reason))
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(o, "\n{}", reconcile_headline(r));
    for c in &r.created_refs {
        let _ = writeln!(o, "created {} at {}", c.name, short(&c.commit));
    }
    reconcile_next(&mut o, r);
    // `--adopt`: the adopt run follows (why it adopted nothing is a warning
    // the CLI prints on stderr).
    if let Some(crate::adopt::AutoAdopt::Adopted { report }) = &r.adopt {
        o.push_str(&warden_core::Report::human(report));
    }
    o
}

/// What went into the merge: both tips, the merge base, the captured
/// uncommitted work and the commits of each side.
fn reconcile_inputs(o: &mut String, r: &ReconcileReport) {
    let upstream = r.upstream.trim_start_matches("refs/remotes/");
    let _ = writeln!(
        o,
        "sync reconcile run {}{}: {} ({}) with {} ({})",
        r.run,
        if r.dry_run {
            " (dry run: no branch created)"
        } else {
            ""
        },
        r.branch,
        short(&r.local_tip),
        upstream,
        short(&r.upstream_tip)
    );
    for f in &r.fetch {
        let _ = writeln!(o, "fetched {}", f.remote);
    }
    let _ = writeln!(
        o,
        "merge base {}",
        r.merge_base
            .as_deref()
            .map_or("(none: unrelated histories)", short)
    );
    if let Some(s) = &r.snapshot {
        let _ = writeln!(
            o,
            "uncommitted work captured as commit {} ({} path(s)); your working tree and index were not touched:",
            short(&s.commit),
            s.paths.len()
        );
        for p in &s.paths {
            let _ = writeln!(o, "  {p}");
        }
    }
    let _ = writeln!(o, "from local ({} commit(s)):", r.from_local_count);
    for c in &r.from_local {
        let _ = writeln!(o, "  + {} {}", short(&c.id), c.subject);
    }
    let _ = writeln!(o, "from {upstream} ({} commit(s)):", r.from_remote_count);
    for c in &r.from_remote {
        let _ = writeln!(o, "  - {} {}", short(&c.id), c.subject);
    }
}

/// The next step after a run that created a branch.
fn reconcile_next(o: &mut String, r: &ReconcileReport) {
    match r.outcome {
        Outcome::SyncBranch if !r.dry_run => {
            let _ = writeln!(
                o,
                "next: inspect it (`git log {}`), then `warden sync adopt {}` to fast-forward {}",
                r.sync_branch.as_deref().unwrap_or("?"),
                r.run,
                r.branch
            );
        }
        Outcome::Quarantined if !r.dry_run => {
            let _ = writeln!(
                o,
                "next: resolve the files above on {} (or in your tree), commit, and reconcile again",
                r.quarantine_branch.as_deref().unwrap_or("?")
            );
        }
        _ => {}
    }
}

/// What an adopt does (or would do) to the branch, as text: the captured
/// work's commit and the fast-forward.
pub fn adopt(a: &AdoptReport) -> String {
    let mut o = String::new();
    if let Some(s) = &a.snapshot_commit {
        let _ = writeln!(
            o,
            "{}: the uncommitted work becomes commit {} (no file changes)",
            a.branch,
            short(s)
        );
    }
    let _ = writeln!(
        o,
        "{}: fast-forward {} -> {} ({}){}",
        a.branch,
        short(&a.from),
        short(&a.to),
        a.sync_branch,
        if a.ref_only {
            "; not checked out, only the branch moves"
        } else {
            ""
        }
    );
    o
}

/// The fleet audit report as text.
pub fn fleet(f: &FleetReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<40} {:<16} {:>11} {:>5} {:>9} {:>5} {:>10}  last fetch error",
        "repo", "branch", "ahead/behind", "dirty", "untracked", "stash", "collisions"
    );
    for r in &f.repos {
        let err = r
            .error
            .as_deref()
            .map(|e| format!("AUDIT FAILED: {e}"))
            .or_else(|| r.fetch_error.clone())
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            o,
            "{:<40} {:<16} {:>11} {:>5} {:>9} {:>5} {:>10}  {}",
            r.repo,
            r.branch.as_deref().unwrap_or("(detached)"),
            format!("+{}/-{}", r.ahead, r.behind),
            r.dirty,
            r.untracked,
            r.stashes,
            r.collisions,
            err.lines().next().unwrap_or("")
        );
    }
    let _ = writeln!(
        o,
        "\n{} {}, {} need{} attention, {} could not be audited",
        f.total,
        if f.total == 1 {
            "repository"
        } else {
            "repositories"
        },
        f.needing_attention,
        if f.needing_attention == 1 { "s" } else { "" },
        f.failed
    );
    o
}

// The output contract (`warden_core::Report`): each report renders itself
// with the functions above.

impl warden_core::Report for AuditReport {
    const SCHEMA: &'static str = "sync-audit";

    fn human(&self) -> String {
        let mut s = audit(self);
        if let Some(run) = &self.run {
            // Read-only: kept in .runs/ and the local history, not the ledger.
            let _ = writeln!(
                s,
                "kept as report {run} (.runs/{run}/audit.json, report.md; `warden history`)"
            );
        }
        s
    }
}

impl warden_core::Report for ReconcileReport {
    const SCHEMA: &'static str = "sync-reconcile";

    fn human(&self) -> String {
        reconcile(self)
    }
}

impl warden_core::Report for AdoptReport {
    const SCHEMA: &'static str = "sync-adopt";

    /// What adopt does ([`adopt`]), then that it was done (or, for a dry
    /// run, that nothing was written).
    fn human(&self) -> String {
        let mut s = adopt(self);
        if self.dry_run {
            let passed =
                warden_core::report::NotWritten::DryRun(Some("the checks above all passed"));
            let _ = writeln!(s, "{}", passed.line());
        } else {
            let _ = writeln!(
                s,
                "done: {} is now at {} (run {})",
                self.branch,
                short(&self.to),
                self.run
            );
        }
        s
    }
}

impl warden_core::Report for FleetReport {
    const SCHEMA: &'static str = "fleet-audit";

    fn human(&self) -> String {
        fleet(self)
    }
}

impl warden_core::Report for crate::reconcile::ReconcileBatch {
    const SCHEMA: &'static str = "sync-reconcile-batch";

    fn human(&self) -> String {
        let mut s = String::new();
        for r in &self.runs {
            s.push_str(&reconcile(r));
        }
        for k in &self.skipped {
            let _ = writeln!(s, "skipped {}: {}", k.branch, k.reason);
        }
        if self.runs.is_empty() {
            s.push_str("no branch needed reconciling\n");
        }
        s
    }
}

/// `warden sync init`: the git repository and remote, then warden's set-up.
pub fn init(o: &crate::init::SyncInitOutput) -> String {
    let (g, w) = (&o.git, &o.warden);
    let mut s = String::new();
    if g.initialised_git {
        let _ = writeln!(s, "created a git repository in {}", g.root);
    }
    match &g.linked {
        Some((name, url)) => {
            let _ = writeln!(s, "linked remote {name} -> {url}");
        }
        None if g.remotes.is_empty() => {
            let _ = writeln!(
                s,
                "no remote linked yet: run `warden sync init --remote URL` once to link one"
            );
        }
        None => {}
    }
    for (name, url) in &g.remotes {
        let _ = writeln!(s, "remote {name}: {url}");
    }
    if let Some(b) = &g.tracking {
        let _ = writeln!(
            s,
            "branch {b} tracks origin/{b} (the remote's default branch); `git pull` brings it in"
        );
    }
    if w.created.is_empty() && w.updated.is_empty() {
        let _ = writeln!(s, "warden is set up in {}; nothing changed", g.root);
    } else {
        let _ = writeln!(
            s,
            "initialised warden in {} (ledger chain {})",
            g.root, w.writer
        );
    }
    s
}

impl warden_core::Report for crate::init::SyncInitOutput {
    const SCHEMA: &'static str = "sync-init";

    fn human(&self) -> String {
        init(self)
    }
}

#[cfg(test)]
mod report_tests {
    use warden_core::Report;

    #[test]
    fn the_report_names_match_the_tags_the_reports_carry() {
        // The tag in each report's schema field is warden.<SCHEMA>/v1.
        for (name, id) in [
            (
                <crate::audit::AuditReport as Report>::SCHEMA,
                crate::audit::AUDIT_SCHEMA_ID,
            ),
            (
                <crate::reconcile::ReconcileReport as Report>::SCHEMA,
                crate::reconcile::RECONCILE_SCHEMA_ID,
            ),
            (
                <crate::reconcile::ReconcileBatch as Report>::SCHEMA,
                crate::reconcile::RECONCILE_BATCH_SCHEMA_ID,
            ),
            (
                <crate::adopt::AdoptReport as Report>::SCHEMA,
                crate::adopt::ADOPT_SCHEMA_ID,
            ),
            (
                <crate::fleet::FleetReport as Report>::SCHEMA,
                crate::fleet::FLEET_SCHEMA_ID,
            ),
            (
                <crate::init::SyncInitOutput as Report>::SCHEMA,
                crate::init::SYNC_INIT_SCHEMA_ID,
            ),
        ] {
            assert_eq!(warden_core::report::tag(name), id);
        }
    }

    /// A reconcile report as a ledger entry written before `--adopt`
    /// existed holds it: no `adopt` field.
    fn reconcile_without_adopt() -> serde_json::Value {
        let sha = "a".repeat(40);
        serde_json::json!({
            "schema": crate::reconcile::RECONCILE_SCHEMA_ID, "run": "01RUN", "root": "/r",
            "dry_run": false, "branch": "main", "upstream": "refs/remotes/origin/main",
            "fetch": [], "local_tip": sha, "upstream_tip": sha, "merge_base": sha,
            "snapshot": null, "from_local": [], "from_local_count": 0, "from_remote": [],
            "from_remote_count": 0, "collisions": [], "outcome": "sync_branch",
            "sync_branch": "sync/20260101-01RUN", "sync_commit": sha,
            "quarantine_branch": null, "quarantine_commit": null, "merge_conflict": null,
            "resolutions": [], "conflicts": [], "config_digest": sha,
        })
    }

    #[test]
    fn reconcile_adopt_outcome_renders_after_the_reconcile_and_old_details_still_parse() {
        let mut r: crate::reconcile::ReconcileReport =
            serde_json::from_value(reconcile_without_adopt()).expect("old details parse");
        assert_eq!(r.adopt, None);
        let plain = r.human();
        // Absent, not null, when there was no `--adopt`.
        let v = serde_json::to_value(&r).expect("json");
        assert!(v.get("adopt").is_none(), "{v}");
        r.adopt = Some(crate::adopt::AutoAdopt::NotAdopted {
            reason: "automatic adopt is off".into(),
        });
        assert_eq!(r.human(), plain, "the refusal is the CLI's warning");
        let a = crate::adopt::AdoptReport {
            schema: crate::adopt::ADOPT_SCHEMA_ID.into(),
            run: "01ADOPT".into(),
            reconcile_run: "01RUN".into(),
            branch: "main".into(),
            sync_branch: "sync/20260101-01RUN".into(),
            from: "b".repeat(40),
            to: "c".repeat(40),
            snapshot_commit: None,
            ref_only: false,
            dry_run: false,
        };
        r.adopt = Some(crate::adopt::AutoAdopt::Adopted { report: a.clone() });
        assert_eq!(r.human(), format!("{plain}{}", a.human()));
        let v = serde_json::to_value(&r).expect("json");
        assert_eq!(v["adopt"]["outcome"], "adopted");
        assert_eq!(v["adopt"]["report"]["run"], "01ADOPT");
    }
}
