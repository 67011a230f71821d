//! `warden check [--baseline FILE] [--run-tests] [--strict] [--no-report]`:
//! the meta contracts' gap report. Reads only; the one file it
//! writes is `meta-gaps.yaml` (removed when clean).

use super::root;
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_contracts::{check, config::ContractsConfig, gaps, run_tests, sarif};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A previous meta-gaps.yaml or `check --format json` report: its gaps are
    /// reported as baselined and do not fail the check.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// After a clean pass, run `tests.command` from .warden/contracts.yaml.
    #[arg(long)]
    pub run_tests: bool,
    /// Unknown meta types fail the check.
    #[arg(long)]
    pub strict: bool,
    /// Do not write or remove meta-gaps.yaml.
    #[arg(long)]
    pub no_report: bool,
    /// A coverage report (Cobertura XML, coverage.py JSON or lcov) to check
    /// the declared line and branch thresholds against; KIND is unit (default),
    /// integration or e2e. Repeatable. warden does not run the tests.
    #[arg(long, value_name = "[KIND=]FILE")]
    pub coverage: Vec<String>,
}

/// Today's date (UTC) for suppression expiry.
pub fn today() -> String {
    let ctx = crate::env::context();
    ctx.clock.now().strftime("%Y-%m-%d").to_string()
}

/// The `--coverage [KIND=]FILE` reports, each read (bounded) and parsed.
fn coverage_reports(
    args: &[String],
    root: &std::path::Path,
) -> Result<Vec<warden_contracts::coverage::Report>, CliError> {
    let mut coverage = Vec::new();
    for arg in args {
        let (kind, file) = warden_contracts::coverage::parse_arg(arg).map_err(|e| {
            CliError::usage(
                e,
                Some("--coverage [unit|integration|e2e=]FILE".to_string()),
            )
        })?;
        let (bytes, _) = crate::input::read(
            std::path::Path::new(&file),
            false,
            &crate::input::COVERAGE,
            "read the coverage report",
        )?;
        coverage.push(warden_contracts::coverage::parse(
            &bytes, &file, &kind, root,
        )?);
    }
    Ok(coverage)
}

pub fn run(repo: Option<PathBuf>, args: &Args, fmt: Format) -> Result<ExitCode, CliError> {
    let baseline = match &args.baseline {
        Some(p) => {
            let (bytes, _) =
                crate::input::read(p, false, &crate::input::BASELINE, "read the baseline")?;
            Some(gaps::baseline_ids(&bytes, &p.display().to_string())?)
        }
        None => None,
    };
    let root = root(repo)?;
    let coverage = coverage_reports(&args.coverage, &root)?;
    let mut report = check::check(
        &root,
        &check::CheckOptions {
            strict: args.strict,
            today: today(),
            baseline,
            coverage,
        },
    )?;
    let written = if args.no_report {
        false
    } else {
        check::write_gap_file(&root, &report)?
    };
    let mut code = if report.clean { 0 } else { 1 };
    if args.run_tests && report.clean {
        let cfg = ContractsConfig::load(&root)?;
        let Some(tests) = cfg.tests else {
            return Err(CliError::usage(
                "--run-tests: no `tests.command` in .warden/contracts.yaml",
                Some(
                    "add `tests: {command: [\"pytest\", \"-q\"]}` to .warden/contracts.yaml"
                        .to_string(),
                ),
            ));
        };
        let ctx = crate::env::context();
        let t = run_tests::run(&root, &tests, &ctx.child_env);
        if !t.ok {
            code = 1;
        }
        report.tests = Some(t);
    }
    match fmt {
        Format::Json => output::json(&report)?,
        // SARIF 2.1.0 carries its own `$schema` and `version`, not a warden tag.
        Format::Sarif => output::write_json(&sarif::sarif(&root, &report))?,
        Format::Human => {
            print!("{}", check::human(&report));
            if written {
                println!("gap report written to {}", gaps::GAP_FILE);
            }
            if let Some(t) = &report.tests {
                println!(
                    "tests ({}): {}",
                    t.command.join(" "),
                    serde_json::to_value(t.outcome)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                );
                if !t.ok && !t.output_tail.is_empty() {
                    eprintln!("{}", t.output_tail);
                }
            }
        }
    }
    Ok(output::ExitStatus::of_report(code).into())
}
