//! Printing: data to stdout, diagnostics to stderr, no color (so `NO_COLOR` is
//! honored by construction).
//!
//! The output contract (see `docs/ARCHITECTURE.md`, "The output contract"):
//! a command builds one report (`warden_core::Report`) and hands it to
//! [`emit`], which renders it for `--format human|json|sarif`. With
//! `--format json` stdout holds exactly one JSON object whose `schema` field
//! is `warden.<NAME>/v<N>` for a NAME that `warden schema` knows; [`json`]
//! refuses (exit 3) to print anything else. Errors under `--format json` are a
//! `warden.error/v1` object on stdout, with the human text still on stderr.

use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;
use warden_core::Error;
pub use warden_core::report::NotWritten;
use warden_core::report::{ErrorReport, Report};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// SARIF 2.1.0, for commands whose findings point at files (`plugin validate`, `ids check`, `check`, `registry validate`).
    Sarif,
}

/// The process exit codes, the one place they are spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done, in sync, nothing to report.
    Ok,
    /// 1: findings, or refused with nothing written.
    Findings,
    /// 2: usage or input error.
    Usage,
    /// 3: internal error.
    Internal,
    /// 4: busy, another writer holds the lock.
    Busy,
    /// 5: partial — `registry maintain` applied what passed its gates and
    /// skipped or refused the rest.
    Partial,
    /// The sandbox helper passes its child's status through unchanged.
    Child(u8),
}

impl ExitStatus {
    /// `Findings` when `found`, else `Ok`.
    pub fn findings_if(found: bool) -> ExitStatus {
        if found {
            ExitStatus::Findings
        } else {
            ExitStatus::Ok
        }
    }

    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Internal => 3,
            ExitStatus::Busy => 4,
            ExitStatus::Partial => 5,
            ExitStatus::Child(c) => c,
        }
    }

    /// The status a subsystem's report chose by its documented code (0, 1, 2,
    /// 4, 5); anything else is a bug, reported as internal.
    pub fn of_report(code: u8) -> ExitStatus {
        match code {
            0 => ExitStatus::Ok,
            1 => ExitStatus::Findings,
            2 => ExitStatus::Usage,
            4 => ExitStatus::Busy,
            5 => ExitStatus::Partial,
            _ => ExitStatus::Internal,
        }
    }

    fn of_class(c: warden_core::ExitClass) -> ExitStatus {
        match c {
            warden_core::ExitClass::Rejected => ExitStatus::Findings,
            warden_core::ExitClass::Input => ExitStatus::Usage,
            warden_core::ExitClass::Internal => ExitStatus::Internal,
            warden_core::ExitClass::Busy => ExitStatus::Busy,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(s.code())
    }
}

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

    pub fn status(&self) -> ExitStatus {
        match self {
            CliError::Core(e) => ExitStatus::of_class(e.class()),
            CliError::Usage { .. } => ExitStatus::Usage,
        }
    }

    /// The `warden.error/v1` object of this error.
    pub fn report(&self) -> ErrorReport {
        match self {
            CliError::Core(e) => ErrorReport::of(e),
            CliError::Usage { message, hint } => ErrorReport::usage(message.clone(), hint.clone()),
        }
    }
}

/// The payload a print unwinds with when its reader closed stdout: `main`
/// recognises it by type and exits 0 (so destructors, which remove the demo's
/// temporary repositories, run first).
#[derive(Debug)]
pub struct BrokenPipe;

/// The payload a print unwinds with when stdout fails otherwise (a full disk
/// behind a redirect): `main` reports it and exits 3.
#[derive(Debug)]
pub struct StdoutFailed(pub std::io::Error);

/// Write to stdout. A closed stdout is the typed `io::ErrorKind::BrokenPipe`:
/// unwind with [`BrokenPipe`]; other write errors are internal errors.
pub fn out(text: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(text) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::panic::panic_any(BrokenPipe);
        }
        std::panic::panic_any(StdoutFailed(e));
    }
}

/// Print an error: the human text on stderr and, with `--format json`, its
/// `warden.error/v1` object on stdout.
pub fn print_error(err: &CliError, fmt: Format) {
    let report = err.report();
    // A message naming a file or a value can carry a control character:
    // escaped in place, so a plain message prints unchanged.
    eprint!("{}", warden_core::text::inline(&report.human()));
    if fmt == Format::Json {
        // A failure here has nowhere left to go.
        let _ = write_json(&report);
    }
}

/// The one way a command says it wrote nothing
/// ([`warden_core::report::NotWritten`]): a dry run's line on stdout for a
/// person only (under `--format json` the report itself says `dry_run`, and
/// stdout stays one object); a refusal on stderr in every format. Returns
/// the exit status: 0 for a dry run, 1 when declined.
pub fn nothing_written(why: NotWritten<'_>, fmt: Format) -> ExitStatus {
    match why {
        NotWritten::DryRun(_) => {
            if fmt == Format::Human {
                println!("{}", why.line());
            }
            ExitStatus::Ok
        }
        NotWritten::Declined => {
            eprintln!("{}", why.line());
            ExitStatus::Findings
        }
    }
}

/// A report's human text, with any control character a renderer let
/// through escaped (the colour sequences of the CLI's own styling kept).
pub fn human_safe<R: Report>(report: &R) -> String {
    warden_core::text::terminal_safe(&crate::ui::human(report), crate::ui::get().color)
}

/// Render a report for the chosen format.
pub fn emit<R: Report>(report: &R, fmt: Format) -> Result<(), CliError> {
    match fmt {
        Format::Human => {
            print!("{}", human_safe(report));
            Ok(())
        }
        Format::Json => json(report),
        Format::Sarif => match report.sarif() {
            Some(v) => write_json(&v),
            None => Err(CliError::usage(
                "--format sarif is for commands whose findings point at files",
                Some("use --format json".to_string()),
            )),
        },
    }
}

/// [`emit`], with the human text through the pager when it is taller than
/// the terminal (tables that grow with the repository: `runs`, `ledger log`,
/// `history`).
pub fn emit_paged<R: Report>(report: &R, fmt: Format) -> Result<(), CliError> {
    match fmt {
        Format::Human => {
            crate::ui::page(&human_safe(report));
            Ok(())
        }
        _ => emit(report, fmt),
    }
}

/// Print one report as JSON. Refuses (exit 3: a bug in warden) a document that
/// is not an object whose `schema` tag names a schema `warden schema` prints.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let v =
        serde_json::to_value(value).map_err(|e| CliError::Core(Error::Internal(e.to_string())))?;
    check_contract(&v).map_err(|m| CliError::Core(Error::Internal(m)))?;
    // Printed from the value itself, so fields keep their declared order
    // (`schema` first).
    write_json(value)
}

/// Print one report as one compact line (a stream of reports, like
/// `bridge run --watch --format json`: JSON Lines), with the same check.
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let v =
        serde_json::to_value(value).map_err(|e| CliError::Core(Error::Internal(e.to_string())))?;
    check_contract(&v).map_err(|m| CliError::Core(Error::Internal(m)))?;
    let line =
        serde_json::to_string(value).map_err(|e| CliError::Core(Error::Internal(e.to_string())))?;
    println!("{line}");
    Ok(())
}

/// The output contract on one document: an object with a `schema` tag
/// `warden.<NAME>/v<N>` whose NAME is in the catalogue.
pub fn check_contract(v: &serde_json::Value) -> Result<(), String> {
    let tag = v
        .as_object()
        .and_then(|o| o.get("schema"))
        .and_then(|s| s.as_str())
        .ok_or("warden bug: a JSON report without a `schema` field")?;
    let name = warden_core::report::schema_name(tag)
        .ok_or_else(|| format!("warden bug: the schema tag \"{tag}\" is not warden.<name>/v<N>"))?;
    if !crate::commands::schema::known(name) {
        return Err(format!(
            "warden bug: the schema tag \"{tag}\" names no schema `warden schema` prints"
        ));
    }
    Ok(())
}

/// Print any JSON value (a schema itself, SARIF) without the contract check.
pub fn write_json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
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
