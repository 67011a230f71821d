//! `warden plugin new|gen|validate|enable|disable|list|test`.
//! Every file warden writes for a plugin goes through the engine as one run.

use super::WriteArgs;
use super::{decide, open, session};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::Repo;
use warden_core::engine::Session;
use warden_core::ledger::Entry;
use warden_core::plugin_registry::PluginRegistry;
use warden_plugin::generate::{self, PLUGINS_DIR};
use warden_plugin::ids;
use warden_plugin::report::{EnableReport, GenReport, NewReport};
use warden_plugin::scaffold::{self, RegistryChange, Written};
use warden_plugin::validate::{self, Finding};

pub use warden_plugin::scaffold::FileWrite;

#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum PluginCommand {
    /// Scaffold plugins/KEY from a new spec: every derived file, a working handler, tests, an ID card.
    New {
        key: String,
        /// The lifecycle event it handles (`warden events`).
        #[arg(long)]
        event: String,
        /// Handler language: python, sh, pwsh or rust.
        #[arg(long)]
        lang: String,
        /// Human-readable name (default: the key).
        #[arg(long)]
        name: Option<String>,
        /// One-line description.
        #[arg(long)]
        description: Option<String>,
        /// Actions it may propose, comma-separated (default: what the policy allows plugins on the event).
        #[arg(long, value_delimiter = ',')]
        actions: Option<Vec<String>>,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Regenerate every derived file from the spec and the policy (byte-identical when nothing changed).
    Gen {
        key: Option<String>,
        #[arg(long, conflicts_with = "key")]
        all: bool,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Run the full checklist; exit 1 on any finding.
    Validate {
        key: Option<String>,
        #[arg(long, conflicts_with = "key")]
        all: bool,
    },
    /// Enable a plugin that validates (pins its manifest in plugins/registry.json).
    Enable {
        key: String,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Disable a plugin.
    Disable {
        key: String,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// List the plugins of this repository and their state.
    List,
    /// Run the health probes and every conformance example; exit 1 on any failure.
    Test { key: String },
}

pub enum Applied {
    /// The command ends here (dry run, nothing to do, declined).
    Done(ExitCode),
    Run(Box<Entry>),
}

/// Apply file writes as one run: the plugin crate plans them through the
/// policy gate (`scaffold::plan_writes`), this shows the plan and asks, and
/// the plugin crate applies them through the engine.
pub fn apply_writes(
    s: &mut Session,
    writes: &[FileWrite],
    rationale: &str,
    write: &WriteArgs,
    fmt: Format,
    question: &str,
) -> Result<Applied, CliError> {
    let plan = scaffold::plan_writes(s, writes, rationale)?;
    if let Some(code) = decide(&plan, write, fmt, question)? {
        return Ok(Applied::Done(code));
    }
    match scaffold::apply_planned(s, &plan)? {
        Written::Applied(entry) => Ok(Applied::Run(entry)),
        Written::RolledBack { run } => {
            eprintln!("error: the policy's validation command failed; run {run} was rolled back");
            Ok(Applied::Done(output::ExitStatus::Findings.into()))
        }
    }
}

pub fn run(repo: Option<PathBuf>, cmd: PluginCommand, fmt: Format) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    match cmd {
        PluginCommand::New {
            key,
            event,
            lang,
            name,
            description,
            actions,
            write,
        } => new(
            &repo,
            &key,
            &event,
            &lang,
            name,
            description,
            actions,
            &write,
            fmt,
        ),
        PluginCommand::Gen { key, all, write } => gen_cmd(&repo, key, all, &write, fmt),
        PluginCommand::Validate { key, all } => validate_cmd(&repo, key, all, fmt),
        PluginCommand::Enable { key, write } => set_enabled(&repo, &key, true, &write, fmt),
        PluginCommand::Disable { key, write } => set_enabled(&repo, &key, false, &write, fmt),
        PluginCommand::List => list(&repo, fmt),
        PluginCommand::Test { key } => test(&repo, &key, fmt),
    }
}

fn keys_arg(repo: &Repo, key: Option<String>, all: bool) -> Result<Vec<String>, CliError> {
    match (key, all) {
        (Some(k), _) => {
            if !generate::plugin_dir(repo.root(), &k).is_dir() {
                let known = validate::plugin_keys(repo.root());
                let hint = warden_core::error::did_you_mean(&k, known.iter().map(String::as_str))
                    .unwrap_or_else(|| "`warden plugin list` shows the plugins".into());
                return Err(CliError::usage(
                    format!("no plugin \"{k}\" in {PLUGINS_DIR}/"),
                    Some(hint),
                ));
            }
            Ok(vec![k])
        }
        (None, true) => Ok(validate::plugin_keys(repo.root())),
        (None, false) => Err(CliError::usage("name a plugin KEY or pass --all", None)),
    }
}

#[allow(clippy::too_many_arguments)]
fn new(
    repo: &Repo,
    key: &str,
    event: &str,
    lang: &str,
    name: Option<String>,
    description: Option<String>,
    actions: Option<Vec<String>>,
    write: &WriteArgs,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let ctx = crate::env::context();
    let mut s = session(repo, &ctx, write.no_wait)?;
    let id = s.new_run_id();
    let spec = scaffold::default_spec(
        repo.root(),
        &repo.policy,
        &scaffold::NewPlugin {
            key: key.into(),
            event: event.into(),
            lang: lang.into(),
            name,
            description,
            actions,
        },
        &id,
    )?;
    let today = crate::env::today();
    let scaffold::NewPluginWrites { card, writes } =
        scaffold::new_plugin_writes(repo.root(), &spec, &repo.policy, &today)?;
    let applied = apply_writes(
        &mut s,
        &writes,
        &format!("scaffold plugin {key} for {event}"),
        write,
        fmt,
        &format!("scaffold plugin {key}"),
    )?;
    let entry = match applied {
        Applied::Done(code) => return Ok(code),
        Applied::Run(e) => e,
    };
    let op = ids::mint_op(&card, &entry.time, &entry.run, &entry.writer);
    s.append_id_ops(&[op])?;
    let files = writes.iter().map(|w| w.path.clone()).collect();
    output::emit(&NewReport::new(key, &entry.run, files, card.rel()), fmt)?;
    Ok(ExitCode::SUCCESS)
}

/// The files of `g` whose AUTO fences cannot be regenerated, with why:
/// `(plugins/KEY/REL, problem)`.
fn fence_problems(g: &generate::Generation) -> Vec<(String, String)> {
    g.problems()
        .map(|p| {
            (
                format!("{}/{}", g.dir_rel(), p.rel),
                p.problem.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// `plugin gen` refuses (exit 1, nothing written) while any AUTO fence has a
/// problem: one `warden.error/v1` for the first file; the others, if any, are
/// said on stderr first.
fn fence_error(mut problems: Vec<(String, String)>) -> CliError {
    let (file, problem) = problems.remove(0);
    for (f, p) in &problems {
        eprintln!("error: {f}: {p}");
    }
    let more = match problems.len() {
        0 => String::new(),
        n => format!(" (and {n} more file(s) above)"),
    };
    CliError::Core(warden_core::Error::refused(
        warden_core::error::Refusal::Precondition,
        file,
        "AUTO fence",
        format!("{problem}{more}"),
        Some(
            "nothing was written: fix the problems above first (hand edits inside AUTO fences are never overwritten)"
                .into(),
        ),
    ))
}

fn gen_cmd(
    repo: &Repo,
    key: Option<String>,
    all: bool,
    write: &WriteArgs,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let keys = keys_arg(repo, key, all)?;
    let today = crate::env::today();
    let mut writes = Vec::new();
    let mut problems = Vec::new();
    for k in &keys {
        let spec = validate::load_spec(repo.root(), k).map_err(|f| finding_error(*f))?;
        let g = generate::generate(repo.root(), &spec, &repo.policy, &today)?;
        if g.problems().next().is_some() {
            problems.extend(fence_problems(&g));
            continue;
        }
        writes.extend(scaffold::generation_writes(&g, spec.lang));
    }
    if !problems.is_empty() {
        return Err(fence_error(problems));
    }
    if writes.is_empty() {
        output::emit(&GenReport::unchanged(keys), fmt)?;
        return Ok(ExitCode::SUCCESS);
    }
    let ctx = crate::env::context();
    let mut s = session(repo, &ctx, write.no_wait)?;
    match apply_writes(
        &mut s,
        &writes,
        &format!("regenerate plugin files of {}", keys.join(", ")),
        write,
        fmt,
        "regenerate these files",
    )? {
        Applied::Done(code) => Ok(code),
        Applied::Run(e) => {
            let changed = writes.iter().map(|w| w.path.clone()).collect();
            output::emit(&GenReport::written(keys, changed, &e.run), fmt)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn finding_error(f: Finding) -> CliError {
    let Finding {
        file,
        rule,
        message,
        fix,
        ..
    } = f;
    CliError::Core(warden_core::Error::invalid(file, rule, message, Some(fix)))
}

fn print_findings(findings: &[Finding]) {
    print!("{}", warden_plugin::report::findings_text(findings));
}

fn validate_cmd(
    repo: &Repo,
    key: Option<String>,
    all: bool,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let keys = keys_arg(repo, key, all)?;
    let contract = all.then(|| repo.contract_in_sync());
    let report = {
        let _progress = crate::ui::Progress::start(format!("validating {} plugin(s)", keys.len()));
        validate::validate(
            repo.root(),
            &repo.policy,
            Some(&keys),
            &crate::env::today(),
            contract,
        )
    };
    output::emit(&report, fmt)?;
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        output::ExitStatus::Findings.into()
    })
}

fn set_enabled(
    repo: &Repo,
    key: &str,
    enable: bool,
    write: &WriteArgs,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let root = repo.root();
    let spec = if enable {
        keys_arg(repo, Some(key.to_string()), false)?;
        let report = validate::validate(
            root,
            &repo.policy,
            Some(&[key.to_string()]),
            &crate::env::today(),
            None,
        );
        if !report.ok() {
            // The findings are the data (stdout: text, or the one validate
            // report with --format json); why it stops is the error.
            if fmt == Format::Json {
                output::json(&report)?;
            } else {
                print_findings(&report.findings);
            }
            eprintln!("error: plugin {key} does not validate, so it cannot be enabled");
            eprintln!("hint: fix the findings above (most are fixed by `warden plugin gen {key}`)");
            return Ok(output::ExitStatus::Findings.into());
        }
        Some(validate::load_spec(root, key).map_err(|f| finding_error(*f))?)
    } else {
        None
    };
    let change = scaffold::registry_change(root, key, spec.as_ref().map(|s| (s, &repo.policy)))?;
    let writes = match change {
        RegistryChange::Write(w) => [w],
        RegistryChange::AlreadyEnabled | RegistryChange::NotEnabled => {
            output::emit(&EnableReport::new(key, enable, None), fmt)?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let ctx = crate::env::context();
    let mut s = session(repo, &ctx, write.no_wait)?;
    let verb = if enable { "enable" } else { "disable" };
    match apply_writes(
        &mut s,
        &writes,
        &format!("{verb} plugin {key}"),
        write,
        fmt,
        &format!("{verb} plugin {key}"),
    )? {
        Applied::Done(code) => Ok(code),
        Applied::Run(e) => {
            s.refresh_contract()?;
            output::emit(&EnableReport::new(key, enable, Some(e.run.clone())), fmt)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn list(repo: &Repo, fmt: Format) -> Result<ExitCode, CliError> {
    let root = repo.root();
    let registry = PluginRegistry::read(root)?;
    let report = warden_plugin::report::list(root, &repo.policy, &registry, &crate::env::today());
    output::emit(&report, fmt)?;
    Ok(ExitCode::SUCCESS)
}

fn test(repo: &Repo, key: &str, fmt: Format) -> Result<ExitCode, CliError> {
    keys_arg(repo, Some(key.to_string()), false)?;
    let spec = validate::load_spec(repo.root(), key).map_err(|f| finding_error(*f))?;
    let launcher = crate::env::launcher().for_policy(&repo.policy);
    let require = !repo.policy.file.plugins.run_unsandboxed;
    let report = {
        let _progress = crate::ui::Progress::start(format!("testing plugin {key}"));
        warden_plugin::probes::run(repo.root(), &spec, &launcher, require)
    };
    output::emit(&report, fmt)?;
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        output::ExitStatus::Findings.into()
    })
}
