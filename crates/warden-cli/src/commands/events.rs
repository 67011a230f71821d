//! `warden events`

use crate::cli::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(repo: Option<PathBuf>, fmt: Format) -> Result<ExitCode, CliError> {
    // Outside an initialised repository, show warden's defaults.
    let repo = super::open(repo).ok();
    let infos = warden_core::status::event_infos(repo.as_ref().map(|r| &r.policy));
    if fmt == Format::Json {
        output::json(&infos)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "allowed actions are {}\n",
        if repo.is_some() {
            "from .warden/policy.yaml"
        } else {
            "warden's defaults (no initialised repository here)"
        }
    );
    for e in infos {
        println!("{}", e.name);
        println!("  trigger   {}", e.trigger);
        if e.allowed.is_empty() {
            println!("  allowed   nothing");
        }
        for (src, acts) in &e.allowed {
            println!("  allowed   {src}: {}", acts.join(", "));
        }
        println!("  rollback  {}", e.rollback);
        println!("  schema    `warden schema event/{}`", e.name);
    }
    Ok(ExitCode::SUCCESS)
}
