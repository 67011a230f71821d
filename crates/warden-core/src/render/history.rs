//! `warden history` for a person: the ledger's runs and this clone's local
//! reports in one aligned table, oldest first.

use super::{short_ids, table, time};
use crate::history::{History, Origin};
use crate::report::{Report, Style};
use crate::text::shown;

impl Report for History {
    const SCHEMA: &'static str = "history";

    fn human(&self) -> String {
        self.human_styled(&crate::report::Plain)
    }

    fn human_styled(&self, style: &dyn Style) -> String {
        if self.runs.is_empty() {
            return "no runs or reports yet\n".to_string();
        }
        let ids: Vec<&str> = self.runs.iter().map(|r| r.run.as_str()).collect();
        let short = short_ids(&ids, style);
        let mut rows = vec![
            ["RUN", "TIME", "WHERE", "COMMAND", "RESULT", "SUMMARY"]
                .iter()
                .map(|h| style.heading(h))
                .collect::<Vec<_>>(),
        ];
        for r in &self.runs {
            rows.push(vec![
                short.get(&r.run).cloned().unwrap_or_else(|| r.run.clone()),
                time(&r.time),
                match r.origin {
                    Origin::Ledger => "ledger".into(),
                    Origin::Local => "local".into(),
                },
                r.command.clone(),
                r.result.replace('_', " "),
                r.summary
                    .as_deref()
                    .map(|s| shown(s).to_string())
                    .unwrap_or_default(),
            ]);
        }
        table(&rows)
    }
}
