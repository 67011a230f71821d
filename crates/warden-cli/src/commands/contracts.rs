//! `warden contracts new TYPE [PATH] [--list] [--stdout]`: an annotated meta
//! template (every field explained), written as one undoable run.

use super::{WriteArgs, is_json, root};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_contracts::generate::FileWrite;
use warden_contracts::meta::MetaType;
use warden_contracts::templates;

#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum ContractsCommand {
    /// Write an annotated meta template (every field explained).
    New {
        /// The meta type (see --list); the seed's l9_* names are accepted.
        #[arg(value_name = "TYPE", required_unless_present = "list")]
        meta_type: Option<String>,
        /// Where to write it (default: the type's usual place); a folder gets the usual file name.
        path: Option<PathBuf>,
        /// List the meta types.
        #[arg(long)]
        list: bool,
        /// Print the template instead of writing it.
        #[arg(long)]
        stdout: bool,
        #[command(flatten)]
        write: WriteArgs,
    },
}

pub fn run(
    repo: Option<PathBuf>,
    cmd: ContractsCommand,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let ContractsCommand::New {
        meta_type,
        path,
        list,
        stdout,
        write,
    } = cmd;
    if list {
        return list_types(fmt);
    }
    let name = meta_type.unwrap_or_default();
    let Some(t) = MetaType::from_name(&name) else {
        let hint = warden_core::error::did_you_mean(&name, MetaType::ALL.iter().map(|t| t.name()))
            .unwrap_or_else(|| "`warden contracts new --list` names them".into());
        return Err(CliError::usage(
            format!("unknown meta type \"{name}\""),
            Some(hint),
        ));
    };
    let text = templates::template(t);
    if stdout {
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let root = root(repo.clone())?;
    let rel = match path {
        None => templates::default_path(t).to_string(),
        Some(p) => meta_path(&root, t, &p)?,
    };
    if !warden_contracts::discover::is_meta_name(rel.rsplit('/').next().unwrap_or("")) {
        return Err(CliError::usage(
            format!(
                "{rel}: a meta file is named `*.meta.yaml` or `meta.yaml`, or discovery will not find it"
            ),
            Some(format!("e.g. {}", t.default_file_name())),
        ));
    }
    let writes = vec![FileWrite {
        path: rel.clone(),
        current: std::fs::read(root.join(&rel)).ok(),
        content: text.to_string(),
    }];
    if writes[0].current.is_some() {
        return Err(CliError::usage(
            format!("{rel} exists; contracts new never overwrites a meta file"),
            Some("pass another PATH, or `--stdout` to print the template".into()),
        ));
    }
    let report = |run: Option<String>| warden_contracts::report::ContractsNewReport {
        schema: warden_contracts::report::CONTRACTS_NEW_SCHEMA_ID.into(),
        path: rel.clone(),
        meta_type: t.name().into(),
        dry_run: run.is_none(),
        run,
    };
    if write.dry_run {
        if is_json(fmt) {
            output::json(&report(None))?;
        } else {
            print!("{}", warden_contracts::generate::diff(&writes));
        }
        return Ok(output::nothing_written(output::NotWritten::DryRun(None), fmt).into());
    }
    match super::gen_cmd::apply_writes(
        repo,
        &writes,
        &format!("warden contracts new {}", t.name()),
        &write,
        &format!("write {rel}"),
    )? {
        Err(code) => Ok(code),
        Ok(run) => {
            if is_json(fmt) {
                output::json(&report(Some(run.clone())))?;
            } else {
                println!("wrote {rel} (run {run}); fill it in, then `warden check`");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `contracts new --list`: the meta types and where each usually lives.
fn list_types(fmt: Format) -> Result<ExitCode, CliError> {
    if is_json(fmt) {
        let names: Vec<&str> = MetaType::ALL.iter().map(|t| t.name()).collect();
        output::json(&names)?;
    } else {
        for t in MetaType::ALL {
            let alias = t
                .seed_alias()
                .map(|a| format!(" (seed: {a})"))
                .unwrap_or_default();
            println!("{:<28} {}{alias}", t.name(), templates::default_path(t));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The repository-relative meta file for PATH as given (relative to the
/// current directory; a folder, or a name ending in `/`, gets the type's
/// usual file name). Refused when it lies outside the repository.
fn meta_path(root: &std::path::Path, t: MetaType, p: &std::path::Path) -> Result<String, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::usage(format!("cannot read the current directory: {e}"), None))?;
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    let abs = if abs.is_dir() || p.to_string_lossy().ends_with('/') {
        abs.join(t.default_file_name())
    } else {
        abs
    };
    let canon_root = root.canonicalize().unwrap_or(root.to_path_buf());
    let parent = abs
        .parent()
        .map(|d| d.canonicalize().unwrap_or(d.to_path_buf()));
    let joined = match (parent, abs.file_name()) {
        (Some(d), Some(f)) => d.join(f),
        _ => abs.clone(),
    };
    let rel = joined.strip_prefix(&canon_root).map_err(|_| {
        CliError::usage(
            format!(
                "{} is outside the repository {}",
                p.display(),
                root.display()
            ),
            None,
        )
    })?;
    Ok(warden_contracts::discover::rel_string(rel))
}
