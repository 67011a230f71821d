//! `warden schema [NAME]`

use crate::cli::Format;
use crate::output::{self, CliError};
use std::process::ExitCode;

pub fn run(name: Option<&str>, fmt: Format) -> Result<ExitCode, CliError> {
    let Some(name) = name else {
        let mut list = warden_core::schema::catalogue();
        list.extend(warden_sync::schema::catalogue());
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
    let schema = warden_core::schema::get(name)
        .or_else(|| warden_sync::schema::get(name))
        .ok_or_else(|| {
            CliError::usage(
                format!("unknown schema \"{name}\""),
                Some("`warden schema` lists the names".to_string()),
            )
        })?;
    output::json(&schema)?;
    Ok(ExitCode::SUCCESS)
}
