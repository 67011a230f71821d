//! What `warden sync reconcile` decides before and after the branches are
//! reconciled: the commit dates and signature of its commits, and whether
//! `--adopt` may adopt (the branches themselves are chosen by
//! [`crate::reconcile::select_branches`]). The CLI only wires and prints.

use crate::config::SyncConfig;
use crate::git::{Git, Signature};
use crate::reconcile::{self, Outcome, ReconcileReport};
use std::path::Path;

/// The day of a sync branch's name (`YYYYMMDD`, UTC) and the RFC 3339 time
/// (whole seconds) of the commits reconcile makes.
pub fn dates(now: jiff::Timestamp) -> (String, String) {
    let day = now.strftime("%Y%m%d").to_string();
    let t = now
        .round(jiff::Unit::Second)
        .unwrap_or(now)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    (day, t)
}

/// The commits reconcile makes are the user's: authored with their git
/// identity (warden is named in each commit's `Warden-Run:` trailer), or,
/// when git does not know who the user is, as warden itself.
pub fn signature(git: &Git, root: &Path, date: String) -> Signature {
    Signature::of(git.at(root).identity().ok().flatten(), date)
}

/// Which of `reports` `--adopt` would adopt (its index): the checked-out
/// branch's, or why none (the reason as the CLI says it).
pub fn adopt_candidate(
    git: &Git,
    root: &Path,
    reports: &[ReconcileReport],
) -> Result<usize, String> {
    let head = reconcile::head_branch(git, root);
    reports
        .iter()
        .position(|r| Some(&r.branch) == head.as_ref())
        .ok_or_else(|| "the checked-out branch was not reconciled".to_string())
}

/// Why `--adopt` must not adopt `report` right away, or `None` when it may:
/// the sync config allows it, there is a sync branch, and nothing collided.
pub fn adopt_refusal(config: &SyncConfig, report: &ReconcileReport) -> Option<String> {
    if !config.file.auto_adopt {
        Some("automatic adopt is off (set `auto_adopt: true` in .warden/sync.yaml)".to_string())
    } else if report.outcome != Outcome::SyncBranch {
        Some("there is no sync branch to adopt".to_string())
    } else if !report.collisions.is_empty() {
        Some(format!(
            "{} path(s) changed on both sides; adopt by hand after a look: `warden sync adopt {}`",
            report.collisions.len(),
            report.run
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_days_and_whole_seconds() {
        let t: jiff::Timestamp = "2026-11-29T23:59:59.7Z".parse().expect("time");
        assert_eq!(
            dates(t),
            ("20261129".to_string(), "2026-11-30T00:00:00Z".to_string())
        );
    }
}
