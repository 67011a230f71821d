//! Printing: data to stdout, diagnostics to stderr, no color (so `NO_COLOR` is
//! honored by construction). JSON output is one document per command, pretty
//! printed; each has a schema (`warden schema NAME`).

use serde::Serialize;
use std::process::ExitCode;
use warden_core::Error;

/// An error the CLI reports: a core error, or a usage problem found here.
#[derive(Debug)]
pub enum CliError {
    Core(Error),
    Usage {
        message: String,
        hint: Option<String>,
    },
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::Core(e)
    }
}

impl CliError {
    pub fn usage(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        CliError::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Core(e) => e.class().code() as u8,
            CliError::Usage { .. } => 2,
        }
    }
}

pub fn print_error(err: &CliError) {
    let (message, hint) = match err {
        CliError::Core(e) => (e.to_string(), e.hint()),
        CliError::Usage { message, hint } => (message.clone(), hint.clone()),
    };
    eprintln!("error: {message}");
    if let Some(h) = hint {
        eprintln!("hint: {h}");
    }
}

pub fn json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Core(Error::Internal(e.to_string())))?;
    println!("{s}");
    Ok(())
}

/// Bytes on stdout as they are (a completion script, a man page).
pub fn raw(bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // The reader is done (`warden man | head`): like other Unix tools.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Core(Error::Internal(format!(
            "cannot write to stdout: {e}"
        )))),
    }
}

pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
