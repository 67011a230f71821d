//! `warden run EVENT [--input FILE]`: dispatch an event to the enabled plugins.
//! Exit 0 when every plugin ran cleanly, 1 when any was refused or isolated
//! (its fault is ledgered and its output quarantined; the others still ran).
//! It follows the mutation convention: `--dry-run` shows which plugins would
//! run and writes nothing; a terminal is asked, without one `--yes` is needed.

use super::WriteArgs;
use super::{is_json, open, session};
use crate::output::Format;
use crate::output::{self, CliError};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use warden_plugin::preview;
use warden_plugin::runtime::{self, DispatchOptions, DispatchReport};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The event (`warden events` lists them).
    pub event: String,
    /// The event payload: one JSON object, an array of them (a batch), or `-` for stdin. Default: an empty batch.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub write: super::WriteArgs,
}

/// The batch: a JSON object (one payload), an array, or `{"items": [...]}`.
fn read_items(input: Option<&Path>) -> Result<(Vec<Value>, String), CliError> {
    let Some(path) = input else {
        return Ok((Vec::new(), "(no input)".into()));
    };
    let (bytes, label) =
        crate::input::read(path, true, &crate::input::EVENT_INPUT, "read the input")?;
    let v: Value = warden_core::strict::parse_json(&bytes, &label).map_err(|e| match e {
        warden_core::Error::Invalid {
            file,
            field,
            message,
            ..
        } if message.starts_with("not valid JSON") => CliError::Core(warden_core::Error::invalid(
            file,
            field,
            message,
            Some("the input is one event payload, an array of them, or {\"items\": [...]}".into()),
        )),
        other => CliError::Core(other),
    })?;
    let items = match v {
        Value::Array(a) => a,
        Value::Object(mut o) if o.contains_key("items") && o.len() <= 2 => {
            match o.remove("items") {
                Some(Value::Array(a)) => a,
                _ => {
                    return Err(CliError::Core(warden_core::Error::invalid(
                        &label,
                        "items",
                        "not an array",
                        Some("\"items\" holds the batch's payloads".into()),
                    )));
                }
            }
        }
        Value::Object(o) => vec![Value::Object(o)],
        _ => {
            return Err(CliError::Core(warden_core::Error::invalid(
                &label,
                "(document)",
                "not an object or array",
                Some(
                    "the input is one event payload, an array of them, or {\"items\": [...]}"
                        .into(),
                ),
            )));
        }
    };
    Ok((items, label))
}

pub fn run(
    repo: Option<PathBuf>,
    event: &str,
    input: Option<&Path>,
    write: &WriteArgs,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    Ok(dispatch(repo, event, input, write, fmt)?.0)
}

/// [`run`], also handing back the dispatch report when plugins ran.
pub fn dispatch(
    repo: Option<PathBuf>,
    event: &str,
    input: Option<&Path>,
    write: &WriteArgs,
    fmt: Format,
) -> Result<(ExitCode, Option<DispatchReport>), CliError> {
    let (items, label) = read_items(input)?;
    runtime::check_items(event, &items, &label)?;
    let repo = open(repo)?;
    let ctx = crate::env::context();
    let launcher = crate::env::launcher();
    // `git var` for the actor's identity runs while the session opens.
    let root = repo.root().to_path_buf();
    let actor = (!write.dry_run).then(|| std::thread::spawn(move || super::actor(&root)));
    if write.dry_run || !write.yes {
        let plan = preview::plan(repo.root(), event, items.len(), repo.policy.digest)?;
        if write.dry_run {
            if is_json(fmt) {
                output::json(&plan)?;
            } else {
                crate::ui::page(&crate::ui::human(&plan));
            }
            let no_plugin = output::NotWritten::DryRun(Some("no plugin was started"));
            return Ok((output::nothing_written(no_plugin, fmt).into(), None));
        }
        if !is_json(fmt) && crate::env::stdin_is_tty() {
            crate::ui::page(&crate::ui::human(&plan));
        }
        if !super::confirm(write, &format!("dispatch {event}"))? {
            let declined = output::nothing_written(output::NotWritten::Declined, fmt);
            return Ok((declined.into(), None));
        }
    }
    let mut s = session(&repo, &ctx, write.no_wait)?;
    let actor = match actor.map(std::thread::JoinHandle::join) {
        Some(Ok(who)) => who,
        _ => super::actor(repo.root()),
    };
    let opts = DispatchOptions {
        launcher: &launcher,
        actor,
    };
    let report = super::watch::dispatch_hand_run(&mut s, event, items, &opts)?;
    output::emit(&report, fmt)?;
    let code = if report.faults() == 0 {
        ExitCode::SUCCESS
    } else {
        output::ExitStatus::Findings.into()
    };
    Ok((code, Some(report)))
}
