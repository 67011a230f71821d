//! `warden runs` and `warden ledger log` for a person: aligned tables, run
//! ids as their shortest unique prefix, times in UTC without fractions.

use super::{short_ids, table, time};
use crate::ledger::{Entry, RunResult};
use crate::report::Style;
use crate::status::{LedgerLog, RunRow, RunsReport};
use crate::text::shown;

fn result(r: RunResult) -> &'static str {
    match r {
        RunResult::Applied => "applied",
        RunResult::RolledBack => "rolled back",
        RunResult::Recorded => "recorded",
    }
}

fn headings(style: &dyn Style, names: &[&str]) -> Vec<String> {
    names.iter().map(|h| style.heading(h)).collect()
}

/// `warden runs`: one row per run, newest first, with what undid what, and
/// how many older runs the page leaves out.
pub fn runs(report: &RunsReport, style: &dyn Style) -> String {
    let mut text = match (report.runs.is_empty(), report.not_shown) {
        (true, 0) => return "no runs yet\n".to_string(),
        // An empty page of a ledger that has runs is not "no runs yet".
        (true, _) => "no runs on this page\n".to_string(),
        (false, _) => runs_table(&report.runs, style),
    };
    if report.not_shown > 0 {
        text.push_str(&format!(
            "({} older run(s) not shown; --limit N or --all shows more)\n",
            report.not_shown
        ));
    }
    text
}

fn runs_table(rows: &[RunRow], style: &dyn Style) -> String {
    let ids: Vec<&str> = rows.iter().map(|r| r.run.as_str()).collect();
    let short = short_ids(&ids, style);
    let run_id = |id: &str| short.get(id).cloned().unwrap_or_else(|| id.to_string());
    let mut cells = vec![headings(
        style,
        &[
            "RUN", "TIME", "COMMAND", "EVENT", "ACTOR", "RESULT", "FILES", "NOTE",
        ],
    )];
    for r in rows {
        let mut note = Vec::new();
        if let Some(u) = &r.undoes {
            note.push(format!("undoes {}", run_id(u)));
        }
        if let Some(u) = &r.undone_by {
            note.push(format!("undone by {}", run_id(u)));
        }
        cells.push(vec![
            run_id(&r.run),
            time(&r.time),
            r.command.clone(),
            shown(&r.event).to_string(),
            format!("{}:{}", shown(&r.actor.kind), shown(&r.actor.id)),
            result(r.result).to_string(),
            r.files.to_string(),
            note.join(", "),
        ]);
    }
    table(&cells)
}

/// `warden ledger log`: one row per entry, oldest first.
pub fn ledger_log(log: &LedgerLog, style: &dyn Style) -> String {
    if log.entries.is_empty() {
        return "the ledger is empty\n".to_string();
    }
    ledger_table(&log.entries, style)
}

fn ledger_table(entries: &[Entry], style: &dyn Style) -> String {
    let ids: Vec<&str> = entries.iter().map(|e| e.run.as_str()).collect();
    let short = short_ids(&ids, style);
    let mut rows = vec![headings(
        style,
        &[
            "ENTRY", "RUN", "TIME", "COMMAND", "EVENT", "ACTOR", "RESULT", "FILES", "POLICY",
            "REASON",
        ],
    )];
    for e in entries {
        rows.push(vec![
            format!("{}#{}", e.writer, e.seq),
            short.get(&e.run).cloned().unwrap_or_else(|| e.run.clone()),
            time(&e.time),
            e.command.clone(),
            shown(&e.event).to_string(),
            format!("{}:{}", shown(&e.actor.kind), shown(&e.actor.id)),
            result(e.result).to_string(),
            e.counts.files.to_string(),
            e.policy.version.clone(),
            e.reason
                .as_deref()
                .map(|r| shown(r).to_string())
                .unwrap_or_default(),
        ]);
    }
    table(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Plain;

    /// `warden runs --limit 0` said "no runs yet" in a repository with 13
    /// runs (its JSON said `"not_shown": 13`).
    #[test]
    fn an_empty_page_of_a_ledger_with_runs_says_how_many_are_not_shown() {
        let mut page = RunsReport::new(Vec::new());
        assert_eq!(runs(&page, &Plain), "no runs yet\n");
        page.not_shown = 13;
        assert_eq!(
            runs(&page, &Plain),
            "no runs on this page\n(13 older run(s) not shown; --limit N or --all shows more)\n"
        );
    }
}
