//! `warden fix [--dry-run] [--yes]`: the generators for every fixable gap of
//! `warden check`, as one undoable run. Each fix writes only its gap's target
//! file (enforced in `warden_contracts::generate::plan_fix`); the report maps
//! gap ids to actions.

use super::WriteArgs;
use super::{is_json, root};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_contracts::check;
use warden_contracts::generate;
use warden_contracts::report::{FIX_SCHEMA_ID, FixReport};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub write: super::WriteArgs,
}

pub fn run(repo: Option<PathBuf>, write: &WriteArgs, fmt: Format) -> Result<ExitCode, CliError> {
    let root = root(repo.clone())?;
    let report = check::check(
        &root,
        &check::CheckOptions {
            strict: false,
            today: super::check::today(),
            baseline: None,
            coverage: Vec::new(),
        },
    )?;
    let plan = generate::plan_fix(&root, &report)?;
    if write.dry_run {
        super::gen_cmd::check_writes(repo.clone(), &plan.writes, "warden fix")?;
    }
    let mut out = FixReport {
        schema: FIX_SCHEMA_ID.into(),
        actions: plan.actions,
        changed: plan.writes.iter().map(|w| w.path.clone()).collect(),
        dry_run: write.dry_run,
        run: None,
        diff: generate::diff(&plan.writes),
    };
    let human = !is_json(fmt);
    if human {
        print_actions(&out);
    }
    if plan.writes.is_empty() || write.dry_run {
        if !human {
            output::json(&out)?;
        } else if plan.writes.is_empty() {
            println!("nothing to fix by a generator");
        } else {
            let would = format!("{} file(s) would change", plan.writes.len());
            output::nothing_written(output::NotWritten::DryRun(Some(&would)), fmt);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rationale = format!(
        "warden fix: {} gap(s): {}",
        out.actions.iter().filter(|a| a.action != "skipped").count(),
        out.actions
            .iter()
            .filter(|a| a.action != "skipped")
            .map(|a| a.gap.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    match super::gen_cmd::apply_writes(repo, &plan.writes, &rationale, write, "apply these fixes")?
    {
        Err(code) => Ok(code),
        Ok(run) => {
            if human {
                println!(
                    "applied run {run} ({} file(s)); undo with `warden undo {run}`",
                    plan.writes.len()
                );
            } else {
                out.run = Some(run);
                output::json(&out)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// For a person: one line per gap (what the fix does, to which file), then the diff.
fn print_actions(out: &FixReport) {
    for a in &out.actions {
        println!(
            "{} {}: {} {}{}",
            a.gap,
            serde_json::to_value(a.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            a.action,
            warden_core::text::shown(a.target_file.as_deref().unwrap_or("")),
            a.note
                .as_ref()
                .map(|n| format!(" ({})", warden_core::text::shown(n)))
                .unwrap_or_default()
        );
    }
    print!("{}", warden_core::text::terminal_safe(&out.diff, false));
}
