//! `warden gen docs [--check] [--dry-run] [--yes]` and `warden gen tests
//! [--dry-run] [--yes]`: the contracts' generators, applied as one undoable
//! run through the engine.

use super::WriteArgs;
use super::{is_json, open, root, session};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_contracts::generate::{self, FileWrite};
use warden_contracts::report::{GEN_DOCS_SCHEMA_ID, GEN_TESTS_SCHEMA_ID, GenReport};
use warden_core::proposal::Proposal;

#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum GenCommand {
    /// Render every document from its meta: a missing one whole, a managed one
    /// only inside its AUTO fences. One undoable run.
    Docs {
        /// Write nothing: print the diff and exit 1 when anything would change.
        #[arg(long)]
        check: bool,
        /// Convert this hand-written document into a managed one instead:
        /// fences for the sections its meta manages, every hand-written byte
        /// kept outside them. One undoable run.
        #[arg(long, value_name = "PATH", conflicts_with = "check")]
        adopt: Option<PathBuf>,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Write pending test skeletons for every must_cover behaviour that has
    /// no test yet. One undoable run.
    Tests {
        #[command(flatten)]
        write: WriteArgs,
    },
}

/// A dry run's check of its writes: the proposal the real run would submit
/// goes through the same policy gate and path checks (`plan::resolve`, as
/// `apply --dry-run` does), so a dry run never promises a write the real
/// run refuses. Takes no lock and writes nothing.
pub fn check_writes(
    repo: Option<PathBuf>,
    writes: &[FileWrite],
    rationale: &str,
) -> Result<(), CliError> {
    if writes.is_empty() {
        return Ok(());
    }
    // A repository warden is not set up in has no policy to check against
    // (the real run says so); the dry run still shows the diff.
    let Ok(repo) = open(repo) else {
        return Ok(());
    };
    let doc = generate::proposal(writes, rationale, "warden-contracts");
    let (proposal, digest) = Proposal::from_value(&doc, LABEL)?;
    warden_core::plan::resolve(
        repo.root(),
        &repo.policy,
        &proposal,
        digest,
        LABEL,
        "dry-run",
    )?;
    Ok(())
}

/// Names the proposal in an engine error (there is no proposal file).
const LABEL: &str = "(the files warden generates)";

/// Apply writes as one proposal. `Ok(Err(code))` when the command ends
/// before applying (declined, nothing to do); `Ok(Ok(run))` after applying.
pub fn apply_writes(
    repo: Option<PathBuf>,
    writes: &[FileWrite],
    rationale: &str,
    write: &WriteArgs,
    question: &str,
) -> Result<Result<String, ExitCode>, CliError> {
    let repo = open(repo)?;
    let ctx = crate::env::context();
    let mut s = session(&repo, &ctx, write.no_wait)?;
    let doc = generate::proposal(writes, rationale, "warden-contracts");
    let label = LABEL;
    let (proposal, digest) = Proposal::from_value(&doc, label)?;
    let plan = s.plan(&proposal, digest, label)?;
    // The diff was shown already; the plan's own print would repeat it.
    let quiet = WriteArgs {
        dry_run: false,
        yes: write.yes,
        no_wait: write.no_wait,
    };
    if plan.noop.is_some() {
        return Ok(Err(ExitCode::SUCCESS));
    }
    if !super::confirm(&quiet, question)? {
        let declined = output::nothing_written(output::NotWritten::Declined, Format::Human);
        return Ok(Err(declined.into()));
    }
    let outcome = s.apply(&plan)?;
    if outcome.validation_failure.is_some() {
        eprintln!(
            "error: the policy's validation command failed; run {} was rolled back",
            outcome.entry.run
        );
        return Ok(Err(output::ExitStatus::Findings.into()));
    }
    Ok(Ok(outcome.entry.run.to_string()))
}

/// A path as given on the command line, repository-relative: an absolute or
/// CWD-relative path inside the repository is made relative to its root;
/// anything else is taken as repository-relative.
fn repo_relative(root: &std::path::Path, p: &std::path::Path) -> String {
    let abs = std::path::absolute(p).ok();
    let canon_root = root.canonicalize().ok();
    if let (Some(abs), Some(r)) = (abs, canon_root) {
        let abs = abs
            .parent()
            .and_then(|d| d.canonicalize().ok())
            .and_then(|d| abs.file_name().map(|n| d.join(n)))
            .unwrap_or(abs);
        if let Ok(rel) = abs.strip_prefix(&r) {
            return warden_contracts::discover::rel_string(rel);
        }
    }
    warden_contracts::discover::rel_string(p)
}

/// What one `gen` would write: its report (without a run yet), the writes,
/// whether it is `--check`, and the write flags.
fn plan(
    root: &std::path::Path,
    cmd: GenCommand,
) -> Result<(GenReport, Vec<FileWrite>, bool, WriteArgs), CliError> {
    Ok(match cmd {
        GenCommand::Docs {
            adopt: Some(path),
            write,
            ..
        } => {
            let target = repo_relative(root, &path);
            let w = generate::plan_adopt(root, &target).map_err(|e| {
                CliError::usage(
                    format!("gen docs --adopt {}: {e}", path.display()),
                    None::<String>,
                )
            })?;
            let writes = vec![w];
            (
                GenReport {
                    schema: GEN_DOCS_SCHEMA_ID.into(),
                    changed: vec![target],
                    current: Vec::new(),
                    unmanaged: Vec::new(),
                    unsupported: Vec::new(),
                    problems: Vec::new(),
                    dry_run: write.dry_run,
                    run: None,
                    diff: generate::diff(&writes),
                },
                writes,
                false,
                write,
            )
        }
        GenCommand::Docs { check, write, .. } => {
            let plan = generate::plan_docs(root);
            (
                GenReport {
                    schema: GEN_DOCS_SCHEMA_ID.into(),
                    changed: plan.writes.iter().map(|w| w.path.clone()).collect(),
                    current: plan.current,
                    unmanaged: plan.unmanaged,
                    unsupported: Vec::new(),
                    problems: plan.problems,
                    dry_run: check || write.dry_run,
                    run: None,
                    diff: generate::diff(&plan.writes),
                },
                plan.writes,
                check,
                write,
            )
        }
        GenCommand::Tests { write } => {
            let plan = generate::plan_tests(root);
            (
                GenReport {
                    schema: GEN_TESTS_SCHEMA_ID.into(),
                    changed: plan.writes.iter().map(|w| w.path.clone()).collect(),
                    current: Vec::new(),
                    unmanaged: Vec::new(),
                    unsupported: plan.unsupported,
                    problems: Vec::new(),
                    dry_run: write.dry_run,
                    run: None,
                    diff: generate::diff(&plan.writes),
                },
                plan.writes,
                false,
                write,
            )
        }
    })
}

pub fn run(repo: Option<PathBuf>, cmd: GenCommand, fmt: Format) -> Result<ExitCode, CliError> {
    let root = root(repo.clone())?;
    let (mut report, writes, check, write) = plan(&root, cmd)?;
    if write.dry_run && !check {
        check_writes(repo.clone(), &writes, &report.schema)?;
    }
    let human = !is_json(fmt);
    if human {
        print_plan(&report);
    }
    let failing = !report.problems.is_empty();
    if check {
        if human {
            if writes.is_empty() && !failing {
                println!("up to date: {} document(s)", report.current.len());
            } else if !writes.is_empty() {
                println!("drift: {} file(s) differ from their meta", writes.len());
            }
        } else {
            output::json(&report)?;
        }
        return Ok(output::ExitStatus::findings_if(!writes.is_empty() || failing).into());
    }
    if writes.is_empty() || write.dry_run {
        if !human {
            output::json(&report)?;
        } else if writes.is_empty() {
            println!("nothing to do");
        } else {
            let would = format!("{} file(s) would change", writes.len());
            output::nothing_written(output::NotWritten::DryRun(Some(&would)), fmt);
        }
        return Ok(output::ExitStatus::findings_if(failing).into());
    }
    let rationale = format!(
        "{}: {} file(s) from their meta contracts",
        report.schema,
        writes.len()
    );
    match apply_writes(repo, &writes, &rationale, &write, "write these files")? {
        Err(code) => Ok(code),
        Ok(run) => {
            if human {
                println!(
                    "applied run {run} ({} file(s)); undo with `warden undo {run}`",
                    writes.len()
                );
            } else {
                report.run = Some(run);
                output::json(&report)?;
            }
            Ok(output::ExitStatus::findings_if(failing).into())
        }
    }
}

/// For a person: the diff, then what cannot be generated and why.
fn print_plan(report: &GenReport) {
    use warden_core::text::shown;
    // The diff holds the documents' text: a control character in it (or in
    // a name) is escaped, the lines kept.
    print!("{}", warden_core::text::terminal_safe(&report.diff, false));
    for p in &report.problems {
        eprintln!("error: {}: {}", shown(&p.file), shown(&p.message));
    }
    for u in &report.unsupported {
        eprintln!(
            "warning: {}: no skeleton generator for this language (python, rust, sh)",
            shown(u)
        );
    }
    for u in &report.unmanaged {
        println!(
            "{}: hand-written (no stamp fence): headings checked only, not rewritten",
            shown(u)
        );
    }
}
