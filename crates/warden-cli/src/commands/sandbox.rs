//! `warden __sandbox`: the plugin sandbox helper (see warden_plugin::sandbox).
//! Restricts itself with Landlock, reports the level on stderr's first line,
//! then replaces itself with the plugin (exec keeps the restriction).

use crate::output::{self, CliError};
use std::path::Path;
use std::process::ExitCode;
use warden_plugin::sandbox::{self, EXIT_EXEC_FAILED, EXIT_UNENFORCED, STATUS_PREFIX};

pub fn run(
    scratch: &Path,
    require: bool,
    probe: bool,
    argv: &[String],
) -> Result<ExitCode, CliError> {
    let level = sandbox::restrict_self(&[scratch]);
    eprintln!("{STATUS_PREFIX}{}", level.name());
    if probe {
        return Ok(ExitCode::SUCCESS);
    }
    if require && !level.enforced() {
        eprintln!(
            "warden: refusing to start the plugin: the kernel sandbox (Landlock) is not enforced and the policy requires it (plugins.run_unsandboxed: false)"
        );
        return Ok(output::code(EXIT_UNENFORCED as u8));
    }
    let Some((prog, args)) = argv.split_first() else {
        return Err(CliError::usage("no plugin command after --", None));
    };
    let mut cmd = std::process::Command::new(prog);
    cmd.args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = cmd.exec();
        eprintln!("warden: cannot start `{prog}`: {err}");
        Ok(output::code(EXIT_EXEC_FAILED as u8))
    }
    #[cfg(not(unix))]
    {
        let status = cmd
            .status()
            .map_err(|e| CliError::usage(format!("cannot start `{prog}`: {e}"), None))?;
        Ok(output::code(status.code().unwrap_or(EXIT_EXEC_FAILED) as u8))
    }
}
