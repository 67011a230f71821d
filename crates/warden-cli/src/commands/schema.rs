//! `warden schema [NAME]`: the core's formats and the subsystems'.

use crate::cli::Format;
use crate::output::{self, CliError};
use std::process::ExitCode;

fn catalogue() -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = warden_core::schema::catalogue()
        .into_iter()
        .map(|(n, w)| (n, w.to_string()))
        .collect();
    list.extend(
        warden_sync::schema::catalogue()
            .into_iter()
            .map(|(n, w)| (n, w.to_string())),
    );
    list.extend(
        warden_bridge::schema::catalogue()
            .into_iter()
            .map(|(n, w)| (n.to_string(), w.to_string())),
    );
    list.extend(
        warden_plugin::schemas::catalogue()
            .into_iter()
            .map(|(n, w)| (n.to_string(), w.to_string())),
    );
    list.extend(
        warden_classify::schema::catalogue()
            .into_iter()
            .map(|(n, w)| (n, w.to_string())),
    );
    list
}

fn get(name: &str) -> Option<serde_json::Value> {
    warden_core::schema::get(name)
        .or_else(|| warden_sync::schema::get(name))
        .or_else(|| warden_bridge::schema::get(name))
        .or_else(|| warden_plugin::schemas::get(name))
        .or_else(|| warden_classify::schema::get(name))
}

pub fn run(name: Option<&str>, fmt: Format) -> Result<ExitCode, CliError> {
    let Some(name) = name else {
        let list = catalogue();
        if fmt == Format::Json {
            let names: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
            output::json(&names)?;
        } else {
            for (n, what) in list {
                println!("{n:<26} {what}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    let schema = get(name).ok_or_else(|| {
        CliError::usage(
            format!("unknown schema \"{name}\""),
            Some("`warden schema` lists the names".to_string()),
        )
    })?;
    output::json(&schema)?;
    Ok(ExitCode::SUCCESS)
}
