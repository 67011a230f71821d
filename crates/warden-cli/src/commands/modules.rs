//! `warden modules validate | import FILE`: the module registry.

use super::{is_json, open};
use crate::cli::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::modules::MODULES_FILE;

#[derive(Debug, clap::Subcommand)]
pub enum ModulesCommand {
    /// Check .warden/modules.yaml: schema, folders exist (exit 1 when not), shared keywords warned.
    Validate,
    /// Write .warden/modules.yaml from the seed's JSON (an object keyed by module name).
    Import {
        /// The seed registry (JSON).
        file: PathBuf,
        /// Replace an existing .warden/modules.yaml.
        #[arg(long)]
        force: bool,
        /// Print the YAML; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run(repo: Option<PathBuf>, cmd: &ModulesCommand, fmt: Format) -> Result<ExitCode, CliError> {
    match cmd {
        ModulesCommand::Validate => {
            let repo = open(repo)?;
            let v = warden_classify::validate::validate(repo.root())?;
            if is_json(fmt) {
                output::json(&v)?;
            } else {
                for f in &v.findings {
                    println!(
                        "error: {MODULES_FILE}: {}: {}\n  fix: {}",
                        f.field, f.message, f.fix
                    );
                }
                for w in &v.warnings {
                    println!("warning: {MODULES_FILE}: {}: {}", w.field, w.message);
                }
                if v.ok {
                    println!("{MODULES_FILE}: {} module(s), valid", v.modules);
                }
            }
            Ok(if v.ok {
                ExitCode::SUCCESS
            } else {
                output::code(1)
            })
        }
        ModulesCommand::Import {
            file,
            force,
            dry_run,
        } => {
            let bytes = std::fs::read(file)
                .map_err(|e| warden_core::Error::user_path("read the seed registry", file, e))?;
            let (text, reg) = warden_classify::import::import(&bytes, &file.display().to_string())?;
            if *dry_run {
                print!("{text}");
                return Ok(ExitCode::SUCCESS);
            }
            let repo = open(repo)?;
            let ctx = crate::env::context();
            let run = warden_classify::import::write(
                &repo,
                &ctx,
                &text,
                &file.display().to_string(),
                *force,
            )?;
            if is_json(fmt) {
                output::json(&serde_json::json!({
                    "schema": "warden.modules-import/v1", "run": run, "file": MODULES_FILE,
                    "modules": reg.modules.len(),
                }))?;
            } else {
                println!(
                    "wrote {MODULES_FILE} ({} module(s)); recorded as run {run}; check it with `warden modules validate`",
                    reg.modules.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
