//! `warden schema [NAME]`: the one catalogue of every published schema, the
//! core's and every subsystem's. A new crate adds one line to `catalogue` and
//! one to `get`; `tests/schemas.rs` checks `schemas/` against all of them.

use crate::output::Format;
use crate::output::{self, CliError};
use std::process::ExitCode;
use warden_core::report::{SchemaInfo, SchemaList};

#[derive(Debug, clap::Args)]
pub struct Args {
    pub name: Option<String>,
}

/// Every schema name with what it describes, core first.
pub fn catalogue() -> Vec<SchemaInfo> {
    fn add<N: Into<String>, D: Into<String>>(out: &mut Vec<SchemaInfo>, list: Vec<(N, D)>) {
        out.extend(list.into_iter().map(|(n, d)| SchemaInfo {
            name: n.into(),
            describes: d.into(),
        }));
    }
    let mut out = Vec::new();
    add(&mut out, warden_core::schema::catalogue());
    add(&mut out, warden_sync::schema::catalogue());
    add(&mut out, warden_bridge::schema::catalogue());
    add(&mut out, warden_plugin::schemas::catalogue());
    add(&mut out, warden_registry::schema::catalogue());
    add(&mut out, warden_contracts::schema::catalogue());
    add(&mut out, warden_classify::schema::catalogue());
    out
}

/// The schema named `name` (a catalogue name, or an old alias).
pub fn get(name: &str) -> Option<serde_json::Value> {
    warden_core::schema::get(name)
        .or_else(|| warden_sync::schema::get(name))
        .or_else(|| warden_bridge::schema::get(name))
        .or_else(|| warden_plugin::schemas::get(name))
        .or_else(|| warden_registry::schema::get(name))
        .or_else(|| warden_contracts::schema::get(name))
        .or_else(|| warden_classify::schema::get(name))
}

/// Whether `warden schema NAME` prints a schema for `name`.
pub fn known(name: &str) -> bool {
    catalogue().iter().any(|i| i.name == name)
}

pub fn run(name: Option<&str>, fmt: Format) -> Result<ExitCode, CliError> {
    let Some(name) = name else {
        output::emit(&SchemaList::new(catalogue()), fmt)?;
        return Ok(ExitCode::SUCCESS);
    };
    let schema = get(name).ok_or_else(|| {
        CliError::usage(
            format!("unknown schema \"{name}\""),
            Some(
                warden_core::error::did_you_mean(name, catalogue().iter().map(|i| i.name.as_str()))
                    .map(|d| format!("{d} `warden schema` lists the names"))
                    .unwrap_or_else(|| "`warden schema` lists the names".to_string()),
            ),
        )
    })?;
    // A schema is a JSON Schema document, not a report: printed as it is.
    output::write_json(&schema)?;
    Ok(ExitCode::SUCCESS)
}
