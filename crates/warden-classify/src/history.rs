//! Placement history: every decision a
//! classify run made is in its ledger entry's `details` (a
//! `warden.classify/v1` report), so the history travels with the repository
//! and verifies with the ledger. `warden where FILE` lists every decision
//! about a file, following its moves and its digest; `--outcome` and
//! `--since` answer "show me all unclassified files from the last 24h".

use crate::report::{CLASSIFY_SCHEMA_ID, ClassifyReport, FileDecision};
use crate::score::DecisionPath;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use warden_core::ledger::{Entry, RunResult};
use warden_core::{Digest, Error, Result};

pub const WHERE_SCHEMA_ID: &str = "warden.where/v1";

/// One decision, with the run that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Placement {
    pub run: String,
    /// When the run was ledgered (RFC 3339).
    pub time: String,
    /// `applied` (files moved) or `recorded` (decisions only).
    pub result: String,
    /// The run that undid this one, if any: the file is back where it was.
    pub undone_by: Option<String>,
    pub decision: FileDecision,
}

/// Every classifier decision in the ledger of the repository at `root`,
/// oldest first.
pub fn placements(entries: &[Entry], root: &Path) -> Vec<Placement> {
    let undone = undone_runs(entries);
    let mut out = Vec::new();
    for e in entries {
        for mut p in entry_placements(e, root) {
            p.undone_by = undone.get(e.run.as_str()).cloned();
            out.push(p);
        }
    }
    out
}

/// Which run undid which: undone run → the undo run (applied undos only).
pub fn undone_runs(entries: &[Entry]) -> BTreeMap<String, String> {
    entries.iter().filter_map(undo_of).collect()
}

/// `(undone run, this run)` when `e` is an applied undo.
pub fn undo_of(e: &Entry) -> Option<(String, String)> {
    match &e.undoes {
        Some(u) if e.result == RunResult::Applied => Some((u.clone(), e.run.clone())),
        _ => None,
    }
}

/// The decisions one ledger entry records, in its order (`undone_by` is
/// left empty: it depends on later entries). A run whose details are a
/// `warden.classify/v1` report (a built-in run, or a plugin run the watcher
/// dispatched) gives those; an applied run of the `ModuleClassifier` plugin
/// without details (`warden run FileDetected` by hand) is read back from
/// its actions; a rolled-back run gives nothing.
pub fn entry_placements(e: &Entry, root: &Path) -> Vec<Placement> {
    if e.result == RunResult::RolledBack {
        return Vec::new();
    }
    // A big run keeps its details in `.runs/<RUN>/details.json`.
    let report = e
        .load_details(root)
        .ok()
        .flatten()
        .filter(|d| d.get("schema").and_then(|s| s.as_str()) == Some(CLASSIFY_SCHEMA_ID))
        .and_then(|d| serde_json::from_value::<ClassifyReport>(d).ok());
    let Some(report) = report else {
        return plugin_placements(e, root).unwrap_or_default();
    };
    let result = match e.result {
        RunResult::Applied => "applied",
        _ => "recorded",
    };
    report
        .files
        .into_iter()
        .map(|f| Placement {
            run: e.run.clone(),
            time: e.time.clone(),
            result: result.into(),
            undone_by: None,
            decision: f,
        })
        .collect()
}

/// The key of the built-in `ModuleClassifier` plugin (`warden modules
/// install-plugin`).
pub const PLUGIN_KEY: &str = "module-classifier";

/// The decisions of an applied run of the `ModuleClassifier` plugin, read
/// back from its ledger entry's actions and changes (a plugin's proposal
/// carries no `details`). The entry keeps what moved where and why it was
/// quarantined, not the scores: `move_file` reads as `clear_winner`,
/// `quarantine` as the decision path of its reason (`superseded` as
/// `dedupe_newer`); `candidates` is empty, `size` and `mtime` are 0, and the
/// reason names the run whose record (`warden replay`) has the rest.
fn plugin_placements(e: &Entry, root: &Path) -> Option<Vec<Placement>> {
    if e.actor.kind != "plugin" || e.actor.id != PLUGIN_KEY || e.result != RunResult::Applied {
        return None;
    }
    // A big run keeps its changes in `.runs/<RUN>/changes.json`.
    let changes = e.load_changes(root).ok()?;
    let before = |path: &str| {
        changes
            .iter()
            .find(|c| c.path == path)
            .and_then(|c| c.before)
    };
    let mut out = Vec::new();
    for a in &e.actions {
        let Some(sha256) = before(&a.path) else {
            continue;
        };
        let (decision_path, target, module) = match (a.kind.as_str(), a.reason.as_deref()) {
            ("move_file", _) => {
                let Some(to) = a.to.clone() else { continue };
                (DecisionPath::ClearWinner, Some(to), None)
            }
            ("quarantine", reason) => {
                let d = match reason {
                    Some("ambiguous") => DecisionPath::Ambiguous,
                    Some("duplicate") => DecisionPath::DedupeCollapsed,
                    Some("superseded") => DecisionPath::DedupeNewer,
                    _ => DecisionPath::Unclassified,
                };
                let lane = changes
                    .iter()
                    .find(|c| c.path != a.path && c.before.is_none() && c.after == Some(sha256))
                    .map(|c| c.path.clone());
                (d, lane, None)
            }
            _ => continue,
        };
        out.push(Placement {
            run: e.run.clone(),
            time: e.time.clone(),
            result: "applied".into(),
            undone_by: None,
            decision: FileDecision {
                path: a.path.clone(),
                sha256,
                size: 0,
                mtime: 0,
                time_source: crate::times::TimeSource::Filesystem,
                decision_path,
                module,
                target,
                action: Some(a.kind.clone()),
                quarantine_reason: a.reason.clone(),
                winner_sha256: None,
                candidates: Vec::new(),
                reason: format!(
                    "placed by the ModuleClassifier plugin (run {}); its dispatch record has the scores",
                    e.run
                ),
            },
        });
    }
    Some(out)
}

/// The latest decision still in force for each (path, sha256), as its
/// [`fingerprint`]: a decision with the same fingerprint need not be
/// recorded again.
pub fn latest(placements: &[Placement]) -> BTreeMap<(String, Digest), Digest> {
    let mut m = BTreeMap::new();
    for p in placements.iter().filter(|p| p.undone_by.is_none()) {
        m.insert(
            (p.decision.path.clone(), p.decision.sha256),
            fingerprint(&p.decision),
        );
    }
    m
}

/// What makes two decisions about the same (path, sha256) the same: the
/// decision path, module, action and candidates (with their scores).
pub fn fingerprint(d: &FileDecision) -> Digest {
    let v = (&d.decision_path, &d.module, &d.action, &d.candidates);
    Digest::of(&serde_json::to_vec(&v).unwrap_or_default())
}

/// What `warden where` asks.
#[derive(Debug, Clone, Default)]
pub struct WhereQuery {
    /// A repository path: decisions about it, following moves and digests.
    pub file: Option<String>,
    /// The file's current digest, when it exists.
    pub file_sha256: Option<Digest>,
    pub outcome: Option<DecisionPath>,
    /// Only decisions ledgered at or after this instant.
    pub since: Option<jiff::Timestamp>,
}

/// `warden where --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden where report",
    description = "`warden where [FILE] [--outcome D] [--since T] --format json`"
)]
pub struct WhereReport {
    /// Always "warden.where/v1".
    pub schema: String,
    pub file: Option<String>,
    pub outcome: Option<DecisionPath>,
    /// The lower bound of `--since`, RFC 3339.
    pub since: Option<String>,
    /// The matching decisions, oldest first.
    pub placements: Vec<Placement>,
}

/// The fields of a decision a query looks at.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub path: &'a str,
    pub target: Option<&'a str>,
    pub sha256: Digest,
    pub decision_path: DecisionPath,
    pub time: &'a str,
}

impl<'a> View<'a> {
    pub fn of(p: &'a Placement) -> View<'a> {
        View {
            path: &p.decision.path,
            target: p.decision.target.as_deref(),
            sha256: p.decision.sha256,
            decision_path: p.decision.decision_path,
            time: &p.time,
        }
    }
}

/// The positions of the items a query selects, in order.
pub fn select<T>(items: &[T], view: impl Fn(&T) -> View<'_>, q: &WhereQuery) -> Vec<usize> {
    let mut keep: Vec<bool> = vec![true; items.len()];
    if let Some(file) = &q.file {
        let related = related_to(items, &view, file, q.file_sha256);
        for (k, r) in keep.iter_mut().zip(related) {
            *k &= r;
        }
    }
    items
        .iter()
        .zip(keep)
        .enumerate()
        .filter(|(_, (it, k))| {
            let d = view(it);
            *k && q.outcome.is_none_or(|o| d.decision_path == o)
                && q.since
                    .is_none_or(|s| d.time.parse::<jiff::Timestamp>().is_ok_and(|t| t >= s))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Which items are about `file`: its path, followed through moves to a
/// fixpoint (a decision whose path or target is one we know adds the other
/// and its digest); then content. Equal content is not the same file (every
/// empty `__init__.py`, every copy of a licence), so a decision that only
/// shares a digest counts when it is a dedupe decision (it is about that
/// content) or when nothing was found by path (a file moved by hand, outside
/// warden), and never for empty content; it does not spread further.
fn related_to<T>(
    items: &[T],
    view: &impl Fn(&T) -> View<'_>,
    file: &str,
    sha256: Option<Digest>,
) -> Vec<bool> {
    let mut paths: BTreeSet<String> = BTreeSet::from([file.to_string()]);
    let mut digests: BTreeSet<Digest> = sha256.into_iter().collect();
    let mut related = vec![false; items.len()];
    loop {
        let mut grew = false;
        for (i, it) in items.iter().enumerate() {
            let d = view(it);
            if related[i]
                || !(paths.contains(d.path) || d.target.is_some_and(|t| paths.contains(t)))
            {
                continue;
            }
            related[i] = true;
            grew = true;
            paths.insert(d.path.to_string());
            if let Some(t) = d.target {
                paths.insert(t.to_string());
            }
            digests.insert(d.sha256);
        }
        if !grew {
            break;
        }
    }
    let by_path = related.iter().any(|r| *r);
    digests.remove(&Digest::of(b""));
    for (i, it) in items.iter().enumerate() {
        let d = view(it);
        if !related[i] && digests.contains(&d.sha256) && (d.decision_path.is_dedupe() || !by_path) {
            related[i] = true;
        }
    }
    related
}

impl WhereReport {
    pub fn new(q: &WhereQuery, placements: Vec<Placement>) -> WhereReport {
        WhereReport {
            schema: WHERE_SCHEMA_ID.into(),
            file: q.file.clone(),
            outcome: q.outcome,
            since: q.since.map(|s| s.to_string()),
            placements,
        }
    }
}

/// Answer a query over the placements (every placement in memory; `warden
/// where` asks the placement index instead, [`crate::index`]).
pub fn query(all: &[Placement], q: &WhereQuery) -> WhereReport {
    let placements = select(all, |p| View::of(p), q)
        .into_iter()
        .map(|i| all[i].clone())
        .collect();
    WhereReport::new(q, placements)
}

/// `--since`: a span back from `now` ("90s", "30m", "24h", "7d", "2w") or an
/// RFC 3339 instant.
pub fn parse_since(text: &str, now: jiff::Timestamp) -> Result<jiff::Timestamp> {
    let bad = || {
        Error::invalid(
            "(command line)",
            "--since",
            format!("\"{text}\" is not a time span or an instant"),
            Some(
                "write a span like 24h, 30m, 7d or 2w, or an instant like 2026-11-29T08:00:00Z"
                    .into(),
            ),
        )
    };
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    let span = jiff::SignedDuration::from_secs(n.checked_mul(secs).ok_or_else(bad)?);
    now.checked_sub(span).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (path, target, content, decision path) of a decision; time is fixed.
    type Row = (
        &'static str,
        Option<&'static str>,
        &'static [u8],
        DecisionPath,
    );

    fn view(r: &Row) -> View<'_> {
        View {
            path: r.0,
            target: r.1,
            sha256: Digest::of(r.2),
            decision_path: r.3,
            time: "2026-11-29T00:00:00Z",
        }
    }

    fn pick(rows: &[Row], file: &str, now: Option<&[u8]>) -> Vec<usize> {
        let q = WhereQuery {
            file: Some(file.into()),
            file_sha256: now.map(Digest::of),
            ..WhereQuery::default()
        };
        select(rows, view, &q)
    }

    #[test]
    fn where_mixed_in_unrelated_files_that_only_share_the_content() {
        use DecisionPath::*;
        let rows: [Row; 6] = [
            (
                "inbox/goals___init__.py",
                Some("modules/goals/goals___init__.py"),
                b"",
                ClearWinner,
            ),
            (
                "inbox/ledger___init__.py",
                Some("modules/ledger/ledger___init__.py"),
                b"",
                ClearWinner,
            ),
            (
                "inbox/a/LICENSE",
                Some("modules/goals/LICENSE"),
                b"MIT",
                ClearWinner,
            ),
            (
                "inbox/b/LICENSE",
                Some("modules/ledger/LICENSE"),
                b"MIT",
                ClearWinner,
            ),
            (
                "inbox/c/LICENSE",
                Some(".quarantine/R/files/inbox/c/LICENSE"),
                b"MIT",
                DedupeCollapsed,
            ),
            (
                "inbox/old.py",
                Some("modules/ledger/old.py"),
                b"x = 1",
                ClearWinner,
            ),
        ];
        // Empty content links nothing; the file's own move does.
        assert_eq!(
            pick(&rows, "modules/ledger/ledger___init__.py", Some(b"")),
            [1]
        );
        // A copy placed elsewhere is another file; a duplicate collapsed
        // into this content is about it.
        assert_eq!(pick(&rows, "modules/ledger/LICENSE", Some(b"MIT")), [3, 4]);
        // Moved by hand outside warden: nothing by path, so content finds it.
        assert_eq!(
            pick(&rows, "modules/ledger/renamed.py", Some(b"x = 1")),
            [5]
        );
    }

    #[test]
    fn since_spans_and_instants() {
        let now: jiff::Timestamp = "2026-11-29T12:00:00Z".parse().expect("ts");
        assert_eq!(
            parse_since("24h", now).expect("24h").to_string(),
            "2026-11-28T12:00:00Z"
        );
        assert_eq!(
            parse_since("2026-11-01T00:00:00Z", now)
                .expect("instant")
                .to_string(),
            "2026-11-01T00:00:00Z"
        );
        assert!(parse_since("soon", now).is_err());
        assert!(parse_since("5y", now).is_err());
    }
}
