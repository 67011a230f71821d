//! A plan as a person reads it (`warden apply`, `warden undo`, every
//! `--dry-run` of a proposal): heading, actions, then the diff. The JSON is
//! the plan's [`PlanReport`](crate::plan::PlanReport) (`warden.plan/v1`).

use crate::plan::{Noop, Plan};
use crate::report::{Plain, Report, Style};
use crate::text::shown;
use serde::Serialize;
use std::fmt::Write;

/// A plan to show: serializes as its [`PlanReport`](crate::plan::PlanReport).
#[derive(Debug, Clone, Copy)]
pub struct PlanView<'a>(pub &'a Plan);

impl Serialize for PlanView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.report().serialize(s)
    }
}

impl Report for PlanView<'_> {
    const SCHEMA: &'static str = "plan";

    fn human(&self) -> String {
        self.human_styled(&Plain)
    }

    fn human_styled(&self, style: &dyn Style) -> String {
        let plan = self.0;
        let c = &plan.counts;
        match &plan.noop {
            Some(Noop::AlreadyApplied { run }) => {
                return format!(
                    "nothing to do: this proposal was already applied by run {run} and its result is in place\n"
                );
            }
            Some(Noop::NothingToChange) => {
                return "nothing to do: every action's effect is already present\n".to_string();
            }
            None => {}
        }
        let mut out = style.heading(&format!(
            "plan for run {} ({} {}): {} file(s): {} added, {} modified, {} deleted; +{} -{} lines",
            plan.run,
            plan.command,
            shown(&plan.event),
            c.files,
            c.added,
            c.modified,
            c.deleted,
            c.lines_added,
            c.lines_removed
        ));
        out.push('\n');
        for a in &plan.actions {
            let to =
                a.to.as_ref()
                    .map(|t| format!(" -> {}", shown(t)))
                    .unwrap_or_default();
            let why = a
                .reason
                .as_ref()
                .map(|r| format!(" ({})", shown(r)))
                .unwrap_or_default();
            let _ = writeln!(out, "  {} {}{}{}", a.kind, shown(&a.path), to, why);
        }
        out.push('\n');
        out.push_str(&style.diff(&plan.diff));
        out
    }
}
