//! `warden classify [PATHS…] [--dry-run] [--yes] [--reclassify] [--explain]`:
//! place inbox files into their modules as ONE undoable run.

use super::WriteArgs;
use super::{confirm, is_json, open, session};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use warden_classify::classify::{Options, Scope};
use warden_classify::report::{ClassifyReport, FileDecision, Outcome};
use warden_classify::times::GitTimes;
use warden_core::modules::{MODULES_FILE, Modules};
use warden_core::paths::RepoPath;
use warden_core::text::shown;

#[derive(Debug, clap::Args)]
pub struct ClassifyArgs {
    /// Files or folders to classify (default: every file under the inbox roots of .warden/modules.yaml).
    pub paths: Vec<PathBuf>,
    /// Also move files that already lie inside a module's folder.
    #[arg(long)]
    pub reclassify: bool,
    /// Print every file's score table; propose and write nothing.
    #[arg(long)]
    pub explain: bool,
    /// The built-in plugin's entry point: read repository paths, one per
    /// line, on stdin; print the proposal's actions for them, one JSON object
    /// per line; write nothing (it runs inside the plugin sandbox).
    #[arg(long, hide = true)]
    pub plugin_actions: bool,
    /// Report groups of identical files (equal full sha256) under PATHS (default: the whole
    /// working tree); read-only.
    #[arg(long, conflicts_with_all = ["reclassify", "explain", "plugin_actions"])]
    pub duplicates: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

/// A path named on the command line as a repository path.
pub fn repo_path(root: &Path, p: &Path) -> Result<RepoPath, CliError> {
    let abs = std::path::absolute(p).map_err(|e| warden_core::Error::user_path("resolve", p, e))?;
    let canon_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    // Resolve the folder (symlinks above the file), keep the file name itself.
    let resolved = match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(name)) => dir
            .canonicalize()
            .map(|d| d.join(name))
            .map_err(|e| warden_core::Error::user_path("resolve", p, e))?,
        _ => abs.clone(),
    };
    let rel = resolved.strip_prefix(&canon_root).map_err(|_| {
        CliError::usage(
            format!(
                "{} is outside the repository {}",
                shown(&p.to_string_lossy()),
                shown(&root.to_string_lossy())
            ),
            Some("name files inside the repository".to_string()),
        )
    })?;
    let s = rel.to_str().ok_or_else(|| {
        use std::os::unix::ffi::OsStrExt;
        CliError::usage(
            format!(
                "{} is not valid UTF-8 (each invalid byte is shown in octal), so warden cannot name it in a run",
                warden_core::text::shown_bytes(p.as_os_str().as_bytes())
            ),
            Some("rename it to a UTF-8 name (`mv -- OLD NEW`; `ls -b` shows its bytes), then classify it".to_string()),
        )
    })?;
    if s.is_empty() {
        return Err(CliError::usage(
            "the repository root itself cannot be classified",
            Some("name the files or folders to classify, or none for the inbox".to_string()),
        ));
    }
    Ok(RepoPath::parse(s, "(command line)", "PATHS")?)
}

pub fn registry(root: &Path) -> Result<Modules, CliError> {
    Modules::load(root)?.ok_or_else(|| {
        CliError::usage(
            format!("{MODULES_FILE} does not exist, so there is nothing to classify by"),
            Some("write one with `warden modules init` (a module per top-level folder), `warden modules import SEED.json`, or by hand (`warden schema modules` shows the format)".to_string()),
        )
    })
}

pub fn run(repo: Option<PathBuf>, args: &ClassifyArgs, fmt: Format) -> Result<ExitCode, CliError> {
    if args.plugin_actions {
        return plugin_actions(repo);
    }
    if args.duplicates {
        return duplicates(repo, args, fmt);
    }
    let repo = open(repo)?;
    let root = repo.root().to_path_buf();
    let reg = registry(&root)?;
    let mut paths = Vec::new();
    for p in &args.paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(warden_core::Error::user_path(
                "classify",
                p,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            )
            .into());
        }
        paths.push(repo_path(&root, p)?);
    }
    let opts = Options {
        scope: if paths.is_empty() {
            Scope::Inbox
        } else {
            Scope::Paths(paths)
        },
        reclassify: args.reclassify,
    };
    let times = GitTimes {
        env: crate::env::child_env(),
    };
    if args.explain || args.write.dry_run {
        // `--explain` proposes nothing, so it is not checked against the
        // policy; `--dry-run` runs the checks the real run runs.
        let a = if args.explain {
            warden_classify::classify::analyse(&root, &reg, &opts, &times)?
        } else {
            warden_classify::run::dry_run(&repo, &reg, &opts, &times)?
        };
        let outcome = if args.explain {
            Outcome::Explained
        } else {
            Outcome::Planned
        };
        let report = a.into_report(None, outcome);
        print(&report, fmt, args.explain)?;
        if !args.explain {
            output::nothing_written(output::NotWritten::DryRun(None), fmt);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let ctx = crate::env::context();
    let mut s = session(&repo, &ctx, args.write.no_wait)?;
    let prepared = warden_classify::run::prepare(&s, &reg, &opts, &times)?;
    let moves = prepared.plan.as_ref().is_some_and(|p| p.noop.is_none());
    if (moves || !prepared.new.is_empty()) && !confirm(&args.write, "apply these placements")? {
        return Ok(output::nothing_written(output::NotWritten::Declined, fmt).into());
    }
    let report = warden_classify::run::commit(&mut s, prepared)?;
    print(&report, fmt, false)?;
    Ok(ExitCode::SUCCESS)
}

fn print(report: &ClassifyReport, fmt: Format, explain: bool) -> Result<(), CliError> {
    if is_json(fmt) {
        return json(report);
    }
    let counts: Vec<String> = report
        .counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    println!(
        "classify: {} file(s){}{}",
        report.files.len(),
        if counts.is_empty() { "" } else { ": " },
        counts.join(", ")
    );
    for f in &report.files {
        println!("  {}", line(f));
        if explain {
            explain_file(f);
        }
    }
    print_skipped(report);
    match (report.outcome, &report.run) {
        (Outcome::Applied, Some(run)) => {
            println!(
                "applied run {run}; undo with `warden undo {run}`; `warden where FILE` explains each file"
            )
        }
        (Outcome::Recorded, Some(run)) => {
            println!("nothing to move; the decisions were recorded as run {run}")
        }
        (Outcome::NothingToDo, _) if report.files.is_empty() && report.skipped.is_empty() => {
            println!("nothing to do: no file in scope (is the inbox empty?)")
        }
        (Outcome::NothingToDo, _) if report.files.is_empty() => {
            println!(
                "nothing to do: no file in scope can be classified (see the skipped entries above)"
            )
        }
        (Outcome::NothingToDo, _) => println!("nothing to do: every decision is already recorded"),
        _ => {}
    }
    Ok(())
}

/// The entries left unclassified: one summary line, then each with its
/// reason and fix.
fn print_skipped(report: &ClassifyReport) {
    if report.skipped.is_empty() {
        return;
    }
    let mut by_reason: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in &report.skipped {
        *by_reason.entry(s.reason.name()).or_default() += 1;
    }
    let counts: Vec<String> = by_reason.iter().map(|(k, v)| format!("{v} {k}")).collect();
    println!(
        "skipped: {} {}: {}",
        report.skipped.len(),
        if report.skipped.len() == 1 {
            "entry, left where it is"
        } else {
            "entries, left where they are"
        },
        counts.join(", ")
    );
    for s in &report.skipped {
        println!("  {} ({})", s.shown_path(), skip_why(s));
    }
}

/// Why an entry was skipped and what to do, in one parenthesis' text:
/// the reason, what stands in the way (when the entry says), the fix.
pub fn skip_why(s: &warden_classify::report::Skipped) -> String {
    match &s.detail {
        Some(d) => format!(
            "{}: {}; {}",
            s.reason.name(),
            warden_core::text::inline(d),
            s.reason.fix()
        ),
        None => format!("{}: {}", s.reason.name(), s.reason.fix()),
    }
}

/// `--format json`: the output contract's check on the report's tag, then the
/// report written once, streamed to stdout (a 50,000-file report is not
/// built as a JSON value first, nor as one string).
fn json(report: &ClassifyReport) -> Result<(), CliError> {
    use std::io::Write;
    let internal = |e: String| CliError::Core(warden_core::Error::Internal(e));
    output::check_contract(&serde_json::json!({ "schema": report.schema })).map_err(internal)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let done = serde_json::to_writer_pretty(&mut out, report)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match done {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(internal(format!("cannot write to stdout: {e}"))),
    }
}

/// One file, one line: where it goes and why. Paths, module names and the
/// reason (which quotes paths) are shown escaped: an inbox file's name is
/// untrusted and must not act on the terminal or forge a line.
pub fn line(f: &FileDecision) -> String {
    let what = match (f.action.as_deref(), &f.target) {
        (Some("move_file"), Some(t)) => format!("-> {}", shown(t)),
        (Some("quarantine"), Some(t)) => format!(
            "-> quarantine ({}) {}",
            shown(f.quarantine_reason.as_deref().unwrap_or("")),
            shown(t)
        ),
        (Some("quarantine"), None) => format!(
            "-> quarantine ({})",
            shown(f.quarantine_reason.as_deref().unwrap_or(""))
        ),
        _ => "stays".to_string(),
    };
    let cands: Vec<String> = f
        .candidates
        .iter()
        .map(|c| format!("{} {}", shown(&c.module), c.score))
        .collect();
    format!(
        "{} {}  [{}{}] {}",
        shown(&f.path),
        what,
        f.decision_path.name(),
        if cands.is_empty() {
            String::new()
        } else {
            format!("; {}", cands.join(", "))
        },
        shown(&f.reason)
    )
}

fn explain_file(f: &FileDecision) {
    if f.candidates.is_empty() {
        println!("      (no module scored)");
    }
    for c in &f.candidates {
        let hits: Vec<String> = c
            .hits
            .iter()
            .map(|h| {
                let src = match h.source {
                    warden_classify::score::HitSource::Name => "name",
                    warden_classify::score::HitSource::Path => "path",
                    warden_classify::score::HitSource::Content => "content",
                };
                format!("{} in {src} +{}", shown(&h.term), h.weight)
            })
            .collect();
        let module = shown(&c.module).to_string();
        println!(
            "      {:<24} score {:>3}  priority {:>3}  {}",
            module,
            c.score,
            c.priority,
            hits.join(", ")
        );
    }
}

/// `warden classify --plugin-actions`: the handler of the `ModuleClassifier`
/// plugin calls this (docs/classify.md). Read-only: no session, no lock, no
/// ledger; the plugin runtime turns the printed actions into the proposal.
fn plugin_actions(repo: Option<PathBuf>) -> Result<ExitCode, CliError> {
    use std::io::{BufRead, Write};
    let root = super::root(repo)?;
    let reg = registry(&root)?;
    let mut paths = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| CliError::usage(format!("cannot read stdin: {e}"), None))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let path = decoded(line);
        match RepoPath::parse(&path, "(stdin)", "path") {
            Ok(p) if p.to_fs(&root).is_file() => paths.push(p),
            _ => eprintln!(
                "warden classify --plugin-actions: {} is not a file of the repository; skipped",
                shown(&path)
            ),
        }
    }
    if paths.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let opts = Options {
        scope: Scope::Paths(paths),
        reclassify: false,
    };
    let times = GitTimes {
        env: crate::env::child_env(),
    };
    let a = warden_classify::classify::analyse(&root, &reg, &opts, &times)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for action in &a.actions {
        serde_json::to_writer(&mut out, action)
            .map_err(|e| CliError::Core(warden_core::Error::Internal(e.to_string())))?;
        out.write_all(b"\n")
            .map_err(|e| CliError::Core(warden_core::Error::Internal(e.to_string())))?;
    }
    out.flush()
        .map_err(|e| CliError::Core(warden_core::Error::Internal(e.to_string())))?;
    Ok(ExitCode::SUCCESS)
}

/// A path as the plugin's sh harness hands it over: cut from the request's
/// JSON, so still JSON-escaped (`\\`, `\t`, `\u001b`). A line that is not a
/// valid JSON string body is taken as it is.
fn decoded(line: &str) -> String {
    if !line.contains('\\') {
        return line.to_string();
    }
    serde_json::from_str::<String>(&format!("\"{line}\"")).unwrap_or_else(|_| line.to_string())
}

/// `warden classify --duplicates [PATHS…]`: read-only; exit 0 with or
/// without groups (a report, not a check).
fn duplicates(
    repo: Option<PathBuf>,
    args: &ClassifyArgs,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let root = super::root(repo)?;
    let mut starts = Vec::new();
    for p in &args.paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(warden_core::Error::user_path(
                "search for duplicates in",
                p,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            )
            .into());
        }
        starts.push(repo_path(&root, p)?);
    }
    let report = warden_classify::duplicates::find(&root, &starts)?;
    if is_json(fmt) {
        output::json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    for g in &report.groups {
        let hex = g.sha256.to_string();
        println!(
            "{} identical file(s), {} bytes each, sha256 {}",
            g.paths.len(),
            g.size,
            hex.get(..16).unwrap_or(&hex)
        );
        for p in &g.paths {
            println!("  {}", shown(p));
        }
    }
    if report.hard_links > 0 {
        println!(
            "{} hard link(s) to a file already counted left out (no extra space)",
            report.hard_links
        );
    }
    println!(
        "{} file(s) looked at; {} group(s); {} duplicate file(s), {} byte(s) wasted",
        report.files,
        report.groups.len(),
        report.duplicate_files,
        report.wasted_bytes
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn plugin_action_paths_are_json_decoded_not_taken_escaped() {
        assert_eq!(super::decoded("inbox/a.py"), "inbox/a.py");
        assert_eq!(
            super::decoded(r"inbox/back\\slash.py"),
            r"inbox/back\slash.py"
        );
        assert_eq!(super::decoded(r"inbox/tab\tx.py"), "inbox/tab\tx.py");
        assert_eq!(super::decoded(r"inbox/esc\u001b.py"), "inbox/esc\u{1b}.py");
        assert_eq!(super::decoded(r"inbox/bad\q.py"), r"inbox/bad\q.py");
    }
}
