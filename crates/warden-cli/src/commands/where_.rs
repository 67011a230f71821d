//! `warden where [FILE] [--outcome D] [--since T]`: the placement history.

use super::{is_json, open};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_classify::history::{self, WhereQuery};
use warden_classify::score::DecisionPath;
use warden_core::text::shown;

#[derive(Debug, clap::Args)]
pub struct WhereArgs {
    /// A file (where it is now, or where it used to be, repository-relative).
    pub file: Option<PathBuf>,
    /// Only this decision path (clear_winner, ambiguous, unclassified,
    /// priority_tiebreak, dedupe_collapsed, dedupe_newer, dedupe_larger, dedupe_kept_both).
    #[arg(long)]
    pub outcome: Option<String>,
    /// Only decisions since then: a span back from now (24h, 30m, 7d, 2w) or an RFC 3339 instant.
    #[arg(long)]
    pub since: Option<String>,
}

pub fn run(repo: Option<PathBuf>, args: &WhereArgs, fmt: Format) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    let root = repo.root().to_path_buf();
    let ctx = crate::env::context();
    let outcome = match &args.outcome {
        Some(o) => Some(DecisionPath::parse(o).ok_or_else(|| {
            let names: Vec<&str> = DecisionPath::ALL.iter().map(|d| d.name()).collect();
            CliError::usage(
                format!("--outcome: unknown decision path \"{o}\""),
                Some(format!("use one of {}", names.join(", "))),
            )
        })?),
        None => None,
    };
    let since = match &args.since {
        Some(s) => Some(history::parse_since(s, ctx.clock.now())?),
        None => None,
    };
    let (file, sha) = match &args.file {
        Some(f) => {
            // A file that exists is named relative to the current folder; one
            // that has moved away is taken as a repository path.
            if std::fs::symlink_metadata(f).is_ok() {
                let p = super::classify::repo_path(&root, f)?;
                let sha = std::fs::read(p.to_fs(&root))
                    .ok()
                    .map(|b| warden_core::Digest::of(&b));
                (Some(p.to_string()), sha)
            } else {
                let s = f.to_string_lossy().trim_start_matches("./").to_string();
                (Some(s), None)
            }
        }
        None => (None, None),
    };
    let report = warden_classify::index::PlacementIndex::query(
        &repo,
        &WhereQuery {
            file,
            file_sha256: sha,
            outcome,
            since,
        },
    )?;
    if is_json(fmt) {
        output::json(&report)?;
    } else if report.placements.is_empty() {
        println!("no placement decision matches");
    } else {
        for p in &report.placements {
            // `line` shows the file's path, module and reason escaped.
            println!(
                "{}  run {}{}  {}",
                shown(&p.time),
                shown(&p.run),
                p.undone_by
                    .as_ref()
                    .map(|u| format!(" (undone by {})", shown(u)))
                    .unwrap_or_default(),
                super::classify::line(&p.decision)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
