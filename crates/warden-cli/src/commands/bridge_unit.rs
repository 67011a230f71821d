//! `warden bridge unit [--install]`: the systemd user unit of the bridge
//! executor, naming this binary by its absolute path.

use crate::output::Format;
use crate::output::{self, CliError};
use std::process::ExitCode;
use warden_bridge::unit;

pub fn run(install: bool, force: bool, fmt: Format) -> Result<ExitCode, CliError> {
    let exe = std::env::current_exe().map_err(|e| {
        CliError::Core(warden_core::Error::Internal(format!(
            "cannot tell where the warden binary is: {e}"
        )))
    })?;
    let text = unit::systemd_unit(&exe);
    if !install {
        output::raw(text.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let dir = crate::env::systemd_user_dir().ok_or_else(|| {
        CliError::usage(
            "cannot tell where systemd keeps your units: neither XDG_CONFIG_HOME nor HOME is set",
            Some("run `warden bridge unit > FILE` and put FILE where your systemd looks".into()),
        )
    })?;
    let path = dir.join(unit::UNIT_FILE);
    let state = match std::fs::read_to_string(&path) {
        Ok(old) if old == text => "unchanged",
        Ok(_) if !force => {
            return Err(CliError::Core(warden_core::Error::rejected(
                path.display().to_string(),
                "ExecStart",
                "a different warden-bridge unit is installed",
                Some(
                    "compare it with `warden bridge unit`, then pass --force to replace it (your edits, such as CLOUD=, are lost)"
                        .into(),
                ),
            )));
        }
        _ => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| warden_core::Error::user_path("create", &dir, e))?;
            warden_core::fsutil::write_atomic(&path, text.as_bytes(), 0o644)?;
            "written"
        }
    };
    output::emit(
        &unit::UnitReport {
            schema: unit::UNIT_SCHEMA_ID.into(),
            unit: path.display().to_string(),
            state: state.into(),
            binary: exe.display().to_string(),
        },
        fmt,
    )?;
    Ok(ExitCode::SUCCESS)
}
