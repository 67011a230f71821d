//! `warden registry init|validate|stats|update|maintain`: parsing,
//! printing and exit codes only; the logic is in `warden-registry`.

use super::WriteArgs;
use super::{is_json, open, root, session};
use crate::env;
use crate::output::Format;
use crate::output::{self, CliError};
use clap::{Args, Subcommand};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use warden_core::git::Git;
use warden_registry::maintain::{self, Checker, Event, Options, Tier};
use warden_registry::patch::{Confidence, PATCH_SCHEMA_ID, PatchFile};
use warden_registry::registry::Registry;
use warden_registry::{init, llm, publish, review, stats, validate};

const EXIT_CODES: &str = "Exit codes: 0 ok; 1 findings, validation failed or refused (nothing \
written); 2 usage or input error; 3 internal error; 4 busy. `maintain` also: 5 partial (a patch \
was skipped or refused by a gate; whatever passed was applied as one run).";

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
pub struct RegistryArgs {
    #[command(subcommand)]
    pub command: RegistryCommand,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum RegistryCommand {
    /// Set up registry/: the first index and the operator checklist; with
    /// --scaffold the templates, the maturity standard and an example entry.
    Init {
        /// Also write the Makefile fragment and pre-commit hook templates, the
        /// maturity standard and an example entry.
        #[arg(long)]
        scaffold: bool,
        /// Install the pre-commit hook into .git/hooks/pre-commit.
        #[arg(long)]
        hook: bool,
        /// Replace an existing, different pre-commit hook.
        #[arg(long, requires = "hook")]
        force: bool,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Check the index and every entry; exit 1 on an error (each names file, field and fix).
    Validate,
    /// Capabilities per level and dimension, entries without evidence, index vs entries.
    Stats,
    /// The deterministic suggestions as a report (the seed's `update`); --apply writes them.
    Update {
        /// Every capability (the default).
        #[arg(long, conflicts_with = "capability")]
        all: bool,
        /// Only this capability id.
        #[arg(long, value_name = "ID")]
        capability: Option<String>,
        /// Collect evidence from the files changed since this commit.
        #[arg(long, value_name = "REF")]
        from_git_since: Option<String>,
        /// Write the deterministic suggestions (one undoable run).
        #[arg(long)]
        apply: bool,
        /// Accepted with --apply, like the other writing commands take it
        /// (--apply is itself the confirmation).
        #[arg(long, short = 'y', requires = "apply")]
        yes: bool,
        #[arg(long)]
        no_wait: bool,
    },
    /// Review and apply suggestions: interactively on a terminal, or with
    /// --auto / --yes through the gates (JSON lines when stdout is not a
    /// terminal, unless --format human is given).
    Maintain(Box<MaintainArgs>),
}

#[derive(Debug, Args)]
pub struct MaintainArgs {
    /// Only this capability id.
    #[arg(long, value_name = "ID", conflicts_with = "all")]
    capability: Option<String>,
    /// Every capability (the default).
    #[arg(long)]
    all: bool,
    /// Collect evidence from the files changed since this commit.
    #[arg(long, value_name = "REF")]
    from_git_since: Option<String>,
    /// Apply what passes the gates without asking.
    #[arg(long)]
    auto: bool,
    /// The tiers --auto may apply (repeatable): safe, llm-metadata, llm-promote. Default: all three.
    #[arg(long = "auto-tier", value_name = "T")]
    auto_tier: Vec<String>,
    /// The least confidence of an LLM patch --auto applies: low, medium, high.
    #[arg(long, value_name = "L", default_value = "high")]
    auto_confidence: String,
    /// The most levels a promotion may raise a dimension per session (0: no promotions).
    #[arg(long, value_name = "N", default_value_t = 1)]
    auto_max_delta: u8,
    /// Without a terminal: like --auto with the default thresholds.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Decide and report, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Skip the LLM step.
    #[arg(long)]
    no_llm: bool,
    /// The LLM server (default: LLM_CONNECT_URL).
    #[arg(long, value_name = "URL")]
    llm_url: Option<String>,
    /// The LLM API: llm-connect (POST {url}/execute) or openai (POST {url}/chat/completions).
    #[arg(long, value_name = "API", default_value = "llm-connect")]
    llm_api: String,
    /// The model name sent to the server.
    #[arg(long, value_name = "M")]
    llm_model: Option<String>,
    /// Seconds one LLM call may take.
    #[arg(long, value_name = "S", default_value_t = 60)]
    llm_timeout: u64,
    /// Answer LLM steps from the exchanges recorded in .runs/RUN/llm/ (no network).
    #[arg(long, value_name = "RUN")]
    llm_replay: Option<String>,
    /// Also review the patches in this file (`warden schema registry-patch`), as a person's.
    #[arg(long, value_name = "FILE")]
    patches: Option<PathBuf>,
    /// After a successful session, check that --raw-url serves the committed index.
    #[arg(long, requires = "raw_url")]
    publish: bool,
    /// Where consumers read registry/indexes/capabilities.yaml (default: WARDEN_REGISTRY_RAW_URL).
    #[arg(long, value_name = "URL")]
    raw_url: Option<String>,
    #[arg(long)]
    no_wait: bool,
}

/// `given`: the `--format` of the command line, None when it was not given
/// (human, except that `maintain` without a terminal streams JSON lines).
pub fn run(
    repo: Option<PathBuf>,
    args: RegistryArgs,
    given: Option<Format>,
) -> Result<ExitCode, CliError> {
    let fmt = given.unwrap_or(Format::Human);
    match args.command {
        RegistryCommand::Init {
            scaffold,
            hook,
            force,
            write,
        } => init_cmd(repo, scaffold, hook, force, &write, fmt),
        RegistryCommand::Validate => {
            let root = root(repo)?;
            let reg = Registry::load(&root)?;
            let report = validate::validate(&reg, &root);
            output::emit(&report, fmt)?;
            Ok(output::ExitStatus::findings_if(!report.ok).into())
        }
        RegistryCommand::Stats => {
            let root = root(repo)?;
            let reg = Registry::load(&root)?;
            output::emit(&stats::stats(&reg), fmt)?;
            Ok(ExitCode::SUCCESS)
        }
        RegistryCommand::Update {
            all: _,
            capability,
            from_git_since,
            apply,
            yes: _,
            no_wait,
        } => update(repo, capability, from_git_since, apply, no_wait, fmt),
        RegistryCommand::Maintain(a) => maintain_cmd(repo, *a, given),
    }
}

fn git(root: &Path) -> Git {
    Git::new(root).with_base_env(env::child_env())
}

fn init_cmd(
    repo: Option<PathBuf>,
    scaffold: bool,
    hook: bool,
    force: bool,
    write: &WriteArgs,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    let rootp = repo.root().to_path_buf();
    let (writes, existing) = init::plan(&rootp, scaffold, &env::today())?;
    let mut report = init::InitReport {
        schema: init::INIT_SCHEMA_ID.into(),
        run: None,
        created: writes.iter().map(|w| w.path.clone()).collect(),
        existing,
        hook: None,
        dry_run: write.dry_run,
    };
    if !write.dry_run && (!writes.is_empty() || hook) {
        let what = format!(
            "create {} registry file(s){}",
            writes.len(),
            if hook {
                " and install the pre-commit hook"
            } else {
                ""
            }
        );
        if !super::confirm(write, &what)? {
            return Ok(output::nothing_written(output::NotWritten::Declined, fmt).into());
        }
    }
    if !writes.is_empty() && !write.dry_run {
        let ctx = env::context();
        let mut s = session(&repo, &ctx, write.no_wait)?;
        let (proposal, digest) = maintain::proposal(&writes, "person", "registry init", &[])?;
        let plan = s.plan(&proposal, digest, "(registry init)")?;
        if plan.noop.is_none() {
            let outcome = s.apply(&plan)?;
            report.run = Some(outcome.entry.run.clone());
        }
    }
    if hook {
        let dir = git(&rootp)
            .git_path("hooks")
            .map_err(warden_core::Error::from)?;
        report.hook = Some(init::install_hook(&dir, force, write.dry_run)?);
    }
    let refused = report
        .hook
        .as_ref()
        .is_some_and(|h| h.outcome == init::HookOutcome::Refused);
    output::emit(&report, fmt)?;
    if refused {
        let path = report
            .hook
            .as_ref()
            .map(|h| h.path.clone())
            .unwrap_or_default();
        eprintln!("error: {path} exists and is not warden's registry hook: not overwritten");
        eprintln!(
            "hint: pass --force to replace it, or call `warden registry maintain --auto --no-llm --from-git-since HEAD` from your hook ({} has the template)",
            init::HOOK_TEMPLATE
        );
        return Ok(output::ExitStatus::Findings.into());
    }
    Ok(ExitCode::SUCCESS)
}

fn update(
    repo: Option<PathBuf>,
    capability: Option<String>,
    since: Option<String>,
    apply: bool,
    no_wait: bool,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    let rootp = repo.root().to_path_buf();
    let g = git(&rootp);
    let mut opts = Options::new(&env::today());
    opts.scope = capability;
    opts.since = since;
    opts.tiers = BTreeSet::from([Tier::Safe]);
    let prepared = maintain::prepare(
        &rootp,
        &g,
        &opts,
        None,
        Some("update asks no LLM".into()),
        Vec::new(),
    )?;
    let mut report = maintain::UpdateReport {
        schema: maintain::UPDATE_SCHEMA_ID.into(),
        since: opts.since.clone(),
        suggestions: prepared.suggestions.clone(),
        notes: prepared.notes.clone(),
        applied: None,
    };
    let mut code = 0u8;
    if apply {
        let checker = Checker::new(&rootp, &g, &prepared.standard, &opts);
        let mut decided = maintain::decide_auto(&prepared, &checker, &mut |_| {});
        let ctx = env::context();
        let mut s = session(&repo, &ctx, no_wait)?;
        let src = maintain::source_kind(&decided.results, false);
        let committed = maintain::commit(&mut s, &mut decided, &opts, src, &[], false)?;
        if let Some(run) = &committed.run {
            // Like maintain's: what `warden replay RUN` re-runs it from.
            let record =
                warden_registry::replay::SessionRecord::of(&prepared, &decided, &opts, false);
            warden_registry::replay::record_session(&repo.layout.run_dir(run), &record);
        }
        let r = maintain::report(&prepared, &decided, &committed, &opts, false);
        code = r.exit_code;
        report.applied = Some(r);
    }
    output::emit(&report, fmt)?;
    Ok(output::ExitStatus::of_report(code).into())
}

/// `$VISUAL` / `$EDITOR` (default `vi`), run through `sh -c` so "code -w" works.
struct ShellEditor;

impl review::Editor for ShellEditor {
    fn edit(&mut self, text: &str) -> std::io::Result<String> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("patch.yaml");
        std::fs::write(&path, text)?;
        let editor = env::editor();
        let mut child = warden_core::process::spawn_inherit(
            "sh",
            [
                "-c".to_string(),
                format!("{editor} \"$1\""),
                "sh".to_string(),
                path.display().to_string(),
            ],
        )?;
        let status = child.wait()?;
        if !status.success() {
            return Err(std::io::Error::other(format!(
                "{editor} exited with {status}"
            )));
        }
        std::fs::read_to_string(&path)
    }
}

fn usage(field: &str, message: String, hint: &str) -> CliError {
    CliError::usage(format!("{field}: {message}"), Some(hint.to_string()))
}

fn maintain_cmd(
    repo: Option<PathBuf>,
    a: MaintainArgs,
    given: Option<Format>,
) -> Result<ExitCode, CliError> {
    // A dry run writes nothing: without a terminal it shows the automatic
    // decisions instead of asking for --auto or --yes.
    let interactive = !a.auto && !a.yes && (!a.dry_run || env::stdin_is_tty());
    if interactive && !env::stdin_is_tty() {
        return Err(CliError::usage(
            "refusing to review registry patches without a terminal: stdin is not a terminal and neither --auto nor --yes was given; nothing was written",
            Some("pass --auto (apply what passes the gates) or --yes, with --format json for JSON lines; --dry-run shows the decisions".to_string()),
        ));
    }
    let opts = maintain_options(&a)?;
    let raw_url = a.raw_url.clone().or_else(env::registry_raw_url);
    if a.publish && raw_url.is_none() {
        return Err(usage(
            "--publish",
            "needs --raw-url URL".into(),
            "give the raw URL of registry/indexes/capabilities.yaml",
        ));
    }
    let extra = match &a.patches {
        None => Vec::new(),
        Some(p) => read_patches(p)?,
    };
    let repo = open(repo)?;
    let rootp = repo.root().to_path_buf();
    let g = git(&rootp);
    let (planner, llm_skipped) = planner(&repo, &a)?;
    // Human text on a terminal or when `--format human` is given; else
    // (`--format json`, or no terminal and no `--format`) JSON lines.
    let human = match given {
        Some(f) => !is_json(f),
        None => env::stdout_is_tty(),
    };
    let lines = !human;
    let mut prepared =
        maintain::prepare(&rootp, &g, &opts, planner.as_deref(), llm_skipped, extra)?;
    // --auto decides on the loaded registry itself (no copy of every entry).
    let auto_work = (!interactive).then(|| prepared.take_registry());
    let checker = Checker::new(&rootp, &g, &prepared.standard, &opts);
    // Every line is an `Event`, whose tag is always `warden.registry-event/v1`:
    // the output contract's check runs once, and the lines are serialized
    // straight into one buffered stdout (not a write per line). A line that
    // cannot be written (a closed pipe) is not worth failing the session
    // that already decided.
    if lines {
        output::check_contract(&serde_json::json!({ "schema": maintain::EVENT_SCHEMA_ID }))
            .map_err(|m| CliError::Core(warden_core::Error::Internal(m)))?;
    }
    let mut sink = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
    let mut emit = |e: &Event| {
        if lines {
            use std::io::Write as _;
            if serde_json::to_writer(&mut sink, e).is_ok() {
                let _ = sink.write_all(b"\n");
            }
        }
    };
    for (id, why) in &prepared.llm_failures {
        emit(&Event::llm_failed(id, why));
    }
    let mut decided = match auto_work {
        None => review_at_the_terminal(&prepared, &checker)?,
        Some(work) => maintain::decide_auto_on(work, &prepared, &checker, &mut emit),
    };
    let committed = commit(&repo, &a, &prepared, &mut decided, &opts, interactive)?;
    let mut report = maintain::report(&prepared, &decided, &committed, &opts, a.dry_run);
    if a.publish && report.exit_code == 0 {
        let url = raw_url.unwrap_or_default();
        let p = publish::check(&g, &url, Duration::from_secs(30))?;
        if !p.pass {
            report.exit_code = 1;
        }
        report.publish = Some(p);
    }
    for r in &report.patches {
        if r.outcome != maintain::PatchOutcome::Rejected || interactive {
            emit(&Event::result(r, report.run.as_deref()));
        }
    }
    emit(&Event::summary(&report));
    {
        use std::io::Write as _;
        let _ = sink.flush();
    }
    if human {
        output::emit(&report, Format::Human)?;
    } else if let Some(p) = &report.publish {
        eprint!("{}", publish::markdown(p));
    }
    // The process exits next: freeing every loaded entry (twice: as read
    // and as staged) one allocation at a time is only time the user waits
    // for (about 5% of a dry run over 2,000 entries, measured with perf).
    std::mem::forget((prepared, decided));
    Ok(output::ExitStatus::of_report(report.exit_code).into())
}

/// The maintain options the flags ask for (scope, gates, confidence, tiers).
fn maintain_options(a: &MaintainArgs) -> Result<Options, CliError> {
    let mut opts = Options::new(&env::today());
    opts.scope = a.capability.clone();
    opts.since = a.from_git_since.clone();
    opts.max_delta = a.auto_max_delta;
    opts.min_confidence = match a.auto_confidence.as_str() {
        "low" => Confidence::Low,
        "medium" => Confidence::Medium,
        "high" => Confidence::High,
        other => {
            return Err(usage(
                "--auto-confidence",
                format!("unknown level \"{other}\""),
                "use low, medium or high",
            ));
        }
    };
    if !a.auto_tier.is_empty() {
        let mut tiers = BTreeSet::new();
        for t in &a.auto_tier {
            for part in t.split(',') {
                tiers.insert(Tier::parse(part.trim()).ok_or_else(|| {
                    usage(
                        "--auto-tier",
                        format!("unknown tier \"{part}\""),
                        "use safe, llm-metadata or llm-promote",
                    )
                })?);
            }
        }
        opts.tiers = tiers;
    }
    Ok(opts)
}

/// The planner that asks an LLM (none without one), and why the LLM step is
/// skipped when it is.
type PlannerChoice = (Option<Box<dyn maintain::Planner>>, Option<String>);

/// The LLM step: `--no-llm`, a replay of a recorded run, a URL, or skipped
/// with a clear message (the second value says why it is skipped).
fn planner(repo: &warden_core::Repo, a: &MaintainArgs) -> Result<PlannerChoice, CliError> {
    let api = llm::Api::parse(&a.llm_api).ok_or_else(|| {
        usage(
            "--llm-api",
            format!("unknown API \"{}\"", a.llm_api),
            "use llm-connect or openai",
        )
    })?;
    let url = a.llm_url.clone().or_else(env::llm_connect_url);
    let choice: PlannerChoice = if a.no_llm {
        (None, Some("--no-llm".into()))
    } else if let Some(run) = &a.llm_replay {
        let dir = repo.layout.run_dir(run).join("llm");
        if !dir.is_dir() {
            return Err(usage(
                "--llm-replay",
                format!("no recorded LLM exchanges in {}", dir.display()),
                "give the run id of a maintain session that asked an LLM",
            ));
        }
        (
            Some(Box::new(llm::LlmPlanner::new(llm::Replay { dir }))),
            None,
        )
    } else if let Some(url) = url {
        let backend = llm::Http {
            api,
            url,
            model: a.llm_model.clone(),
            api_key: env::llm_api_key(),
            timeout: Duration::from_secs(a.llm_timeout.max(1)),
            max_tokens: 4096,
        };
        (Some(Box::new(llm::LlmPlanner::new(backend))), None)
    } else {
        (
            None,
            Some("no LLM configured: set LLM_CONNECT_URL or pass --llm-url; deterministic suggestions only".into()),
        )
    };
    if let Some(why) = &choice.1
        && !a.no_llm
    {
        eprintln!("warden: LLM step skipped: {why}");
    }
    Ok(choice)
}

/// Write what was decided as one run (nothing in a dry run, which takes no
/// session), and keep what `warden replay RUN` needs and the raw LLM answers.
fn commit(
    repo: &warden_core::Repo,
    a: &MaintainArgs,
    prepared: &maintain::Prepared,
    decided: &mut maintain::Decided,
    opts: &Options,
    interactive: bool,
) -> Result<maintain::Committed, CliError> {
    let ctx = env::context();
    let committed = if a.dry_run {
        // Writes nothing: no session (lock, recovery), like a read-only command.
        maintain::dry_run(decided, opts)?
    } else {
        let mut s = session(repo, &ctx, a.no_wait)?;
        let src = maintain::source_kind(&decided.results, interactive);
        maintain::commit(&mut s, decided, opts, src, &prepared.llm_records, false)?
    };
    if let Some(run) = &committed.run {
        // What `warden replay RUN` re-runs the session from.
        let record =
            warden_registry::replay::SessionRecord::of(prepared, decided, opts, interactive);
        warden_registry::replay::record_session(&repo.layout.run_dir(run), &record);
    }
    if committed.run.is_none() && !prepared.llm_records.is_empty() {
        // Nothing written: keep the raw answers under a session id anyway.
        let dir = repo.layout.run_dir(&ctx.ids.run_id().to_string());
        maintain::record_llm(&dir, &prepared.llm_records);
    }
    if let Some(out) = &committed.rolled_back {
        eprintln!(
            "error: the validation command failed; the run was rolled back and nothing changed"
        );
        eprintln!("{}", out.trim_end());
    }
    Ok(committed)
}

/// The interactive review: each patch shown on stderr, answered on stdin,
/// edited in `$VISUAL`/`$EDITOR`.
fn review_at_the_terminal(
    prepared: &maintain::Prepared,
    checker: &Checker,
) -> Result<maintain::Decided, CliError> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stderr();
    let mut editor = ShellEditor;
    let mut term = review::Terminal {
        input: &mut input,
        output: &mut out,
        editor: &mut editor,
    };
    review::review(prepared, checker, &mut term)
        .map_err(|e| CliError::usage(format!("the review loop ended: {e}"), None))
}

/// `warden replay RUN` of a registry maintain run (read-only; no network).
pub fn replay(
    repo: &warden_core::Repo,
    s: &mut warden_core::engine::Session<'_>,
    run: &str,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let report = warden_registry::replay::replay(s, &git(repo.root()), run)?;
    output::emit(&report, fmt)?;
    Ok(output::ExitStatus::findings_if(!report.identical).into())
}

fn read_patches(path: &Path) -> Result<Vec<warden_registry::patch::RegistryPatch>, CliError> {
    let (bytes, label) = crate::input::read(
        path,
        false,
        &crate::input::REGISTRY_PATCHES,
        "read the patches",
    )?;
    let v = warden_core::strict::parse_json(&bytes, &label)?;
    let file: PatchFile = warden_core::strict::deserialize(
        &v,
        &label,
        "see `warden schema registry-patch` for the format",
    )?;
    if file.schema != PATCH_SCHEMA_ID {
        return Err(CliError::Core(warden_core::Error::invalid(
            &label,
            "schema",
            format!("unsupported schema \"{}\"", file.schema),
            Some(format!("set \"schema\": \"{PATCH_SCHEMA_ID}\"")),
        )));
    }
    for (i, p) in file.patches.iter().enumerate() {
        warden_registry::patch::check(p).map_err(|e| {
            CliError::Core(warden_core::Error::invalid(
                &label,
                format!("patches[{i}].{}", e.field),
                e.message,
                Some("see `warden schema registry-patch`".into()),
            ))
        })?;
    }
    Ok(file.patches)
}
