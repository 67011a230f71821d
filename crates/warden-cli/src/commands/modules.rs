//! `warden modules validate | import FILE`: the module registry.

use super::{is_json, open};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_core::modules::MODULES_FILE;

#[derive(Debug, clap::Subcommand)]
pub enum ModulesCommand {
    /// Check .warden/modules.yaml: schema, folders exist (exit 1 when not), shared keywords warned.
    Validate,
    /// Write .warden/modules.yaml from the seed's JSON (an object keyed by module name).
    Import {
        /// The seed registry (JSON).
        file: PathBuf,
        /// Replace an existing .warden/modules.yaml.
        #[arg(long)]
        force: bool,
        /// Print the YAML; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Install the built-in ModuleClassifier plugin (plugins/module-classifier, on FileDetected) and enable it.
    InstallPlugin {
        #[command(flatten)]
        write: super::WriteArgs,
    },
}

pub fn run(repo: Option<PathBuf>, cmd: &ModulesCommand, fmt: Format) -> Result<ExitCode, CliError> {
    match cmd {
        ModulesCommand::InstallPlugin { write } => install_plugin(repo, write, fmt),
        ModulesCommand::Validate => {
            let repo = open(repo)?;
            let v = warden_classify::validate::validate(repo.root())?;
            if is_json(fmt) {
                output::json(&v)?;
            } else {
                for f in &v.findings {
                    println!(
                        "error: {MODULES_FILE}: {}: {}\n  fix: {}",
                        f.field, f.message, f.fix
                    );
                }
                for w in &v.warnings {
                    println!("warning: {MODULES_FILE}: {}: {}", w.field, w.message);
                }
                if v.ok {
                    println!("{MODULES_FILE}: {} module(s), valid", v.modules);
                }
            }
            Ok(if v.ok {
                ExitCode::SUCCESS
            } else {
                output::ExitStatus::Findings.into()
            })
        }
        ModulesCommand::Import {
            file,
            force,
            dry_run,
        } => {
            let bytes = std::fs::read(file)
                .map_err(|e| warden_core::Error::user_path("read the seed registry", file, e))?;
            let (text, reg) = warden_classify::import::import(&bytes, &file.display().to_string())?;
            if *dry_run {
                print!("{text}");
                return Ok(ExitCode::SUCCESS);
            }
            let repo = open(repo)?;
            let ctx = crate::env::context();
            let run = warden_classify::import::write(
                &repo,
                &ctx,
                &text,
                &file.display().to_string(),
                *force,
            )?;
            if is_json(fmt) {
                output::json(&serde_json::json!({
                    "schema": "warden.modules-import/v1", "run": run, "file": MODULES_FILE,
                    "modules": reg.modules.len(),
                }))?;
            } else {
                println!(
                    "wrote {MODULES_FILE} ({} module(s)); recorded as run {run}; check it with `warden modules validate`",
                    reg.modules.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The key, name and handler of the built-in `ModuleClassifier` plugin
///: a sh plugin whose handler calls back into the warden
/// that started it (`$WARDEN_EXE classify --plugin-actions`, read-only).
pub const PLUGIN_KEY: &str = "module-classifier";
const PLUGIN_RATIONALE: &str = "placed by the module registry (.warden/modules.yaml)";
const PLUGIN_HANDLE: &str =
    "RATIONALE_handle='placed by the module registry (.warden/modules.yaml)'
handle() {
  \"${WARDEN_EXE:-warden}\" classify --plugin-actions
}";

fn write_args(w: &super::WriteArgs) -> super::WriteArgs {
    super::WriteArgs {
        dry_run: w.dry_run,
        yes: w.yes,
        no_wait: w.no_wait,
    }
}

/// Stop the sequence unless a step succeeded.
fn step(code: ExitCode) -> Option<ExitCode> {
    (code != ExitCode::SUCCESS).then_some(code)
}

/// `warden modules install-plugin`: `plugin new` → the handler and its
/// examples (one run) → `plugin gen` → `plugin validate` → `plugin enable`,
/// each step its own undoable run through the policy gate.
fn install_plugin(
    repo: Option<PathBuf>,
    write: &super::WriteArgs,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    use super::plugin::PluginCommand;
    use super::plugin::{Applied, FileWrite, apply_writes};
    if is_json(fmt) {
        return Err(CliError::usage(
            "`warden modules install-plugin` runs several steps and prints human text only",
            Some("leave out --format json".to_string()),
        ));
    }
    let r = open(repo.clone())?;
    let dir = r.root().join("plugins").join(PLUGIN_KEY);
    if dir.exists() {
        return Err(CliError::usage(
            format!("plugins/{PLUGIN_KEY}/ already exists"),
            Some(format!(
                "`warden plugin validate {PLUGIN_KEY}` checks it and `warden plugin enable {PLUGIN_KEY} --yes` enables it; remove the folder to install afresh"
            )),
        ));
    }
    let plugin = |cmd: PluginCommand| super::plugin::run(repo.clone(), cmd, fmt);
    if let Some(c) = step(plugin(PluginCommand::New {
        key: PLUGIN_KEY.into(),
        event: "FileDetected".into(),
        lang: "sh".into(),
        name: Some("ModuleClassifier".into()),
        description: Some(
            "Classifies new or changed files into the correct module or quarantine.".into(),
        ),
        actions: Some(vec!["move_file".into(), "quarantine".into()]),
        write: write_args(write),
    })?) {
        return Ok(c);
    }
    if write.dry_run {
        println!(
            "then: the handler (calls `warden classify --plugin-actions`) and its examples, `plugin gen`, `plugin validate`, `plugin enable`"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rel = format!("plugins/{PLUGIN_KEY}/src/handler.sh");
    let handler = std::fs::read(r.root().join(&rel))
        .map_err(|e| warden_core::Error::user_path("read the generated handler", &dir, e))?;
    let text = String::from_utf8_lossy(&handler).into_owned();
    let area = |mark: &str| text.find(mark);
    let (Some(start), Some(end)) = (
        area("# ---- DEVELOPER AREA").and_then(|s| text[s..].find('\n').map(|n| s + n + 1)),
        area("# ---- END OF DEVELOPER AREA"),
    ) else {
        return Err(CliError::usage(
            format!("{rel}: the generated handler has no DEVELOPER AREA"),
            None,
        ));
    };
    let new_handler = format!("{}{}\n{}", &text[..start], PLUGIN_HANDLE, &text[end..]);
    let example = |name: &str, value: serde_json::Value| -> Result<FileWrite, CliError> {
        let path = format!("plugins/{PLUGIN_KEY}/examples/{name}");
        let current = std::fs::read(r.root().join(&path)).ok();
        let content = serde_json::to_string_pretty(&value)
            .map_err(|e| CliError::usage(format!("{path}: {e}"), None))?;
        Ok(FileWrite {
            path,
            current,
            content: format!("{content}\n").into_bytes(),
            executable: None,
        })
    };
    let writes = vec![
        FileWrite {
            path: rel.clone(),
            current: Some(handler.clone()),
            content: new_handler.into_bytes(),
            executable: None,
        },
        // A path that is not a file: the classifier proposes nothing for it,
        // so the example holds in every repository.
        example(
            "handle_request.json",
            serde_json::json!({"event": "FileDetected", "items": [
                {"path": "inbox/.warden-example-absent", "sha256": warden_core::Digest::of(b""), "size": 0}
            ]}),
        )?,
        example(
            "handle_response.json",
            serde_json::json!({"actions": [], "rationale": PLUGIN_RATIONALE}),
        )?,
    ];
    let ctx = crate::env::context();
    {
        let mut s = super::session(&r, &ctx, write.no_wait)?;
        match apply_writes(
            &mut s,
            &writes,
            "the ModuleClassifier handler: `warden classify --plugin-actions`",
            write,
            fmt,
            "write the classifier's handler",
        )? {
            Applied::Done(c) => return Ok(c),
            Applied::Run(_) => {}
        }
    }
    for cmd in [
        PluginCommand::Gen {
            key: Some(PLUGIN_KEY.into()),
            all: false,
            write: write_args(write),
        },
        PluginCommand::Validate {
            key: Some(PLUGIN_KEY.into()),
            all: false,
        },
        PluginCommand::Enable {
            key: PLUGIN_KEY.into(),
            write: write_args(write),
        },
    ] {
        if let Some(c) = step(plugin(cmd)?) {
            return Ok(c);
        }
    }
    if !is_json(fmt) {
        println!(
            "{PLUGIN_KEY}: installed and enabled on FileDetected; `warden run FileDetected --input ITEMS.json` dispatches it"
        );
    }
    Ok(ExitCode::SUCCESS)
}
