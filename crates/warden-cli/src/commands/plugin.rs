//! `warden plugin new|gen|validate|enable|disable|list|test` (SPEC §5.2).
//! Every file warden writes for a plugin goes through the engine as one run.

use super::{decide, is_json, open, session};
use crate::cli::{Format, PluginCommand, WriteArgs};
use crate::output::{self, CliError};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::engine::Session;
use warden_core::events::{self, ActionKind};
use warden_core::ledger::Entry;
use warden_core::plugin_registry::{EnabledPlugin, PluginRegistry, REGISTRY_FILE};
use warden_core::proposal::Proposal;
use warden_core::{Digest, Repo};
use warden_plugin::generate::{self, PLUGINS_DIR};
use warden_plugin::ids::{self, CARD_SCHEMA_ID, IdCard};
use warden_plugin::spec::{
    Lang, Operation, PROTOCOL_MAJOR, PluginLimits, PluginSpec, SPEC_SCHEMA_ID,
};
use warden_plugin::validate::{self, Finding};

/// One file to write as part of a run.
pub struct FileWrite {
    pub path: String,
    pub current: Option<Vec<u8>>,
    pub content: Vec<u8>,
    pub executable: Option<bool>,
}

pub enum Applied {
    /// The command ends here (dry run, nothing to do, declined).
    Done(ExitCode),
    Run(Box<Entry>),
}

/// Apply file writes as one run (plan → confirm → engine).
pub fn apply_writes(
    s: &mut Session,
    writes: &[FileWrite],
    rationale: &str,
    write: &WriteArgs,
    fmt: Format,
    question: &str,
) -> Result<Applied, CliError> {
    let mut actions = Vec::new();
    for w in writes {
        let content = String::from_utf8(w.content.clone()).map_err(|_| {
            CliError::usage(format!("{}: generated content is not UTF-8", w.path), None)
        })?;
        let expect = match &w.current {
            None => json!("absent"),
            Some(b) => json!({"sha256": Digest::of(b)}),
        };
        let mut a =
            json!({"kind": "write_file", "path": w.path, "content": content, "expect": expect});
        if let Some(x) = w.executable {
            a["executable"] = json!(x);
        }
        actions.push(a);
    }
    let doc = json!({
        "schema": "warden.proposal/v1",
        // Written by warden's plugin tooling, at a person's request: the
        // ledger names the tool; the person confirmed (or passed --yes).
        "source": {"kind": "tool", "id": "warden-plugin"},
        "event": "Manual",
        "rationale": rationale,
        "actions": actions,
    });
    let label = "(generated)";
    let (proposal, digest) = Proposal::from_value(&doc, label)?;
    let plan = s.plan(&proposal, digest, label)?;
    if let Some(code) = decide(&plan, write, fmt, question)? {
        return Ok(Applied::Done(code));
    }
    let outcome = s.apply(&plan)?;
    if outcome.validation_failure.is_some() {
        eprintln!(
            "error: the policy's validation command failed; run {} was rolled back",
            outcome.entry.run
        );
        return Ok(Applied::Done(output::code(1)));
    }
    Ok(Applied::Run(Box::new(outcome.entry)))
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
    let lang = Lang::parse(lang).ok_or_else(|| {
        CliError::usage(
            format!("unknown language \"{lang}\""),
            Some(format!("one of: {}", Lang::ALL.join(", "))),
        )
    })?;
    if events::find(event).is_none() {
        let hint = warden_core::error::did_you_mean(event, events::event_names())
            .unwrap_or_else(|| "`warden events` lists them".into());
        return Err(CliError::usage(
            format!("unknown event \"{event}\""),
            Some(hint),
        ));
    }
    let dir = generate::plugin_dir(repo.root(), key);
    if dir.exists() {
        return Err(CliError::usage(
            format!("{PLUGINS_DIR}/{key} already exists"),
            Some(format!(
                "`warden plugin gen {key}` regenerates its derived files"
            )),
        ));
    }
    let actions = actions.unwrap_or_else(|| {
        repo.policy
            .allowed(event, "plugin")
            .into_iter()
            .filter(|a| a.supported())
            .map(ActionKind::name)
            .map(String::from)
            .collect()
    });
    let ctx = crate::env::context();
    let mut s = session(repo, &ctx, write.no_wait)?;
    let id = s.new_run_id();
    let spec = PluginSpec {
        schema: SPEC_SCHEMA_ID.into(),
        key: key.into(),
        id: id.clone(),
        name: name.unwrap_or_else(|| key.to_string()),
        version: "0.1.0".into(),
        description: description.unwrap_or_else(|| format!("Handles {event}.")),
        owner: String::new(),
        events: vec![event.into()],
        lang,
        entry: None,
        protocol: PROTOCOL_MAJOR,
        priority: 100,
        actions,
        operations: vec![Operation {
            name: "handle".into(),
            description: format!("Handle a batch of {event}."),
            events: vec![event.into()],
        }],
        limits: PluginLimits::default(),
        ledger_fields: Vec::new(),
    };
    spec.check(&format!("{PLUGINS_DIR}/{key}/plugin.spec.json"))?;
    let today = crate::env::today();
    let g = generate::generate(repo.root(), &spec, &repo.policy, &today)?;
    let card = IdCard {
        schema: CARD_SCHEMA_ID.into(),
        id,
        kind: "plugin".into(),
        artifact: format!("{PLUGINS_DIR}/{key}"),
        name: spec.name.clone(),
        created: today,
    };
    let mut writes = generation_writes(&g, spec.lang);
    let card_bytes = card.render().into_bytes();
    // The generated id registry gains the new card in the same run.
    let registry = ids::registry_yaml_with(repo.root(), &[(card.rel(), card_bytes.clone())])
        .map_err(|findings| {
            let first = findings.into_iter().next();
            CliError::usage(
                format!(
                    "cannot regenerate {}: {}",
                    ids::REGISTRY_YAML,
                    first
                        .as_ref()
                        .map_or(String::new(), |f| format!("{}: {}", f.file, f.message))
                ),
                first.map(|f| f.fix),
            )
        })?;
    writes.push(FileWrite {
        path: card.rel(),
        current: None,
        content: card_bytes,
        executable: None,
    });
    let current_registry = std::fs::read(repo.root().join(ids::REGISTRY_YAML)).ok();
    if current_registry.as_deref() != Some(registry.as_bytes()) {
        writes.push(FileWrite {
            path: ids::REGISTRY_YAML.into(),
            current: current_registry,
            content: registry.into_bytes(),
            executable: None,
        });
    }
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
    if is_json(fmt) {
        output::json(&*entry)?;
    } else {
        println!(
            "scaffolded {PLUGINS_DIR}/{key} ({} files) in run {}; ID card {}",
            writes.len(),
            entry.run,
            card.rel()
        );
        println!(
            "next: `warden plugin test {key}`, then `warden plugin validate {key}` and `warden plugin enable {key}`"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn generation_writes(g: &generate::Generation, lang: Lang) -> Vec<FileWrite> {
    let handler = lang.handler();
    g.changed()
        .map(|f| FileWrite {
            path: format!("{}/{}", g.dir_rel(), f.rel),
            current: f.current.clone(),
            content: f.wanted.clone().unwrap_or_default(),
            executable: (f.rel == handler && f.current.is_none() && lang != Lang::Rust)
                .then_some(true),
        })
        .collect()
}

fn print_problems(g: &generate::Generation) {
    for p in g.problems() {
        eprintln!(
            "error: {}/{}: {}",
            g.dir_rel(),
            p.rel,
            p.problem.as_deref().unwrap_or_default()
        );
    }
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
    let mut problems = false;
    for k in &keys {
        let spec = validate::load_spec(repo.root(), k).map_err(|f| finding_error(*f))?;
        let g = generate::generate(repo.root(), &spec, &repo.policy, &today)?;
        if g.problems().next().is_some() {
            print_problems(&g);
            problems = true;
            continue;
        }
        writes.extend(generation_writes(&g, spec.lang));
    }
    if problems {
        eprintln!(
            "nothing was written: fix the problems above first (hand edits inside AUTO fences are never overwritten)"
        );
        return Ok(output::code(1));
    }
    if writes.is_empty() {
        if is_json(fmt) {
            output::json(
                &json!({"schema": "warden.plugin-gen/v1", "changed": Vec::<String>::new()}),
            )?;
        } else {
            println!(
                "up to date: regenerating {} plugin(s) changes nothing",
                keys.len()
            );
        }
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
            if is_json(fmt) {
                output::json(&*e)?;
            } else {
                println!(
                    "regenerated {} file(s) in run {}; undo with `warden undo {}`",
                    writes.len(),
                    e.run,
                    e.run
                );
            }
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
    for f in findings {
        let line = f.line.map(|l| format!(":{l}")).unwrap_or_default();
        println!("{}{line}: [{}] {}", f.file, f.rule, f.message);
        println!("  fix: {}", f.fix);
    }
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
    match fmt {
        Format::Json => output::json(&report)?,
        Format::Sarif => output::json(&validate::sarif(&report))?,
        Format::Human => {
            print_findings(&report.findings);
            for p in &report.plugins {
                println!("{}: {}", p.key, if p.ok { "valid" } else { "INVALID" });
            }
            if report.plugins.is_empty() {
                println!("no plugins under {PLUGINS_DIR}/");
            }
        }
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        output::code(1)
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
    let mut registry = PluginRegistry::read(root)?;
    let current = std::fs::read(root.join(REGISTRY_FILE)).ok();
    if enable {
        keys_arg(repo, Some(key.to_string()), false)?;
        let report = validate::validate(
            root,
            &repo.policy,
            Some(&[key.to_string()]),
            &crate::env::today(),
            None,
        );
        if !report.ok() {
            print_findings(&report.findings);
            eprintln!("error: plugin {key} does not validate, so it cannot be enabled");
            eprintln!("hint: fix the findings above (most are fixed by `warden plugin gen {key}`)");
            return Ok(output::code(1));
        }
        let spec = validate::load_spec(root, key).map_err(|f| finding_error(*f))?;
        let manifest = std::fs::read(generate::plugin_dir(root, key).join(generate::MANIFEST))
            .map_err(|e| CliError::usage(format!("cannot read the manifest: {e}"), None))?;
        let entry = EnabledPlugin {
            id: spec.id.clone(),
            version: spec.version.clone(),
            events: spec.events.clone(),
            priority: spec.priority,
            manifest_sha256: Digest::of(&manifest),
            policy_sha256: repo.policy.digest,
        };
        if registry.plugins.get(key) == Some(&entry) {
            println!("plugin {key} is already enabled with this exact manifest");
            return Ok(ExitCode::SUCCESS);
        }
        registry.plugins.insert(key.to_string(), entry);
    } else if registry.plugins.remove(key).is_none() {
        println!("plugin {key} is not enabled");
        return Ok(ExitCode::SUCCESS);
    }
    let ctx = crate::env::context();
    let mut s = session(repo, &ctx, write.no_wait)?;
    let writes = [FileWrite {
        path: REGISTRY_FILE.into(),
        current,
        content: registry.render().into_bytes(),
        executable: None,
    }];
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
            if is_json(fmt) {
                output::json(&*e)?;
            } else {
                println!(
                    "{verb}d plugin {key} in run {} (the operating contract lists the enabled plugins); undo with `warden undo {}`",
                    e.run, e.run
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn list(repo: &Repo, fmt: Format) -> Result<ExitCode, CliError> {
    let root = repo.root();
    let registry = PluginRegistry::read(root)?;
    let today = crate::env::today();
    let mut rows = Vec::new();
    for key in validate::plugin_keys(root) {
        let (spec, _, findings) = validate::validate_plugin(root, &repo.policy, &key, &today);
        let pinned = registry.plugins.get(&key);
        let state = match pinned {
            Some(p) => {
                match warden_plugin::runtime::pinned_mismatch(root, &key, p, repo.policy.digest) {
                    None => "enabled".to_string(),
                    Some(_) => "enabled, but changed since (refused until re-enabled)".to_string(),
                }
            }
            None => "disabled".to_string(),
        };
        rows.push(json!({
            "key": key,
            "version": spec.as_ref().map(|s| s.version.clone()),
            "events": spec.as_ref().map(|s| s.events.clone()).unwrap_or_default(),
            "lang": spec.as_ref().map(|s| s.lang.name()),
            "priority": spec.as_ref().map(|s| s.priority),
            "valid": findings.is_empty(),
            "findings": findings.len(),
            "state": state,
        }));
    }
    if is_json(fmt) {
        output::json(&json!({"schema": "warden.plugin-list/v1", "plugins": rows}))?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!(
            "no plugins under {PLUGINS_DIR}/ (`warden plugin new KEY --event EVENT --lang python` scaffolds one)"
        );
    }
    for r in rows {
        println!(
            "{:<20} {:<8} {:<7} {:<28} {}  {}",
            r["key"].as_str().unwrap_or_default(),
            r["version"].as_str().unwrap_or("?"),
            r["lang"].as_str().unwrap_or("?"),
            r["events"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","))
                .unwrap_or_default(),
            if r["valid"] == json!(true) {
                "valid"
            } else {
                "invalid"
            },
            r["state"].as_str().unwrap_or_default()
        );
    }
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
    if is_json(fmt) {
        output::json(&report)?;
    } else {
        for p in &report.probes {
            println!(
                "{} {:<28} {}",
                if p.ok { "pass" } else { "FAIL" },
                p.probe,
                p.detail
            );
        }
        println!("sandbox: {}", report.sandbox.name());
        let failed = report.probes.iter().filter(|p| !p.ok).count();
        println!("{} probe(s), {failed} failed", report.probes.len());
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        output::code(1)
    })
}
