//! `warden modules init | validate | import FILE | install-plugin`: the module registry.

use super::{is_json, open};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use warden_classify::template::{MODULES_IMPORT_SCHEMA_ID, MODULES_INIT_SCHEMA_ID, ModulesWritten};
use warden_core::modules::MODULES_FILE;

#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum ModulesCommand {
    /// Write a first .warden/modules.yaml, every field explained, with one module per top-level folder.
    Init {
        /// Replace an existing .warden/modules.yaml.
        #[arg(long)]
        force: bool,
        /// Print the YAML; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check .warden/modules.yaml: schema, folders exist (exit 1 when not), shared keywords warned.
    Validate,
    /// Write .warden/modules.yaml from a JSON registry (an object keyed by module name).
    Import {
        /// The JSON registry: `{"NAME": {"keywords": [...], "allowed_extensions": [...]}, ...}`.
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
            output::emit(&v, fmt)?;
            Ok(if v.ok {
                ExitCode::SUCCESS
            } else {
                output::ExitStatus::Findings.into()
            })
        }
        ModulesCommand::Init { force, dry_run } => {
            let root = open(repo.clone())?.root().to_path_buf();
            let (text, reg) = warden_classify::template::init_text(&root)?;
            let write = RegistryWrite {
                schema: MODULES_INIT_SCHEMA_ID,
                command: "modules init",
                from: "top-level folders".into(),
                text,
                modules: reg.modules.len(),
            };
            write_registry(repo, write, *force, *dry_run, fmt)
        }
        ModulesCommand::Import {
            file,
            force,
            dry_run,
        } => {
            let (bytes, from) = crate::input::read(
                file,
                false,
                &crate::input::MODULE_REGISTRY,
                "read the JSON module registry",
            )?;
            let (text, reg) = warden_classify::import::import(&bytes, &from)?;
            let write = RegistryWrite {
                schema: MODULES_IMPORT_SCHEMA_ID,
                command: "modules import",
                from,
                text,
                modules: reg.modules.len(),
            };
            write_registry(repo, write, *force, *dry_run, fmt)
        }
    }
}

/// A registry text to write, and where it came from.
struct RegistryWrite {
    schema: &'static str,
    command: &'static str,
    from: String,
    text: String,
    modules: usize,
}

/// Write (or with `dry_run` only show) the registry as one recorded run, and
/// report it.
fn write_registry(
    repo: Option<PathBuf>,
    w: RegistryWrite,
    force: bool,
    dry_run: bool,
    fmt: Format,
) -> Result<ExitCode, CliError> {
    let (run, previous_kept_at) = if dry_run {
        (None, None)
    } else {
        let repo = open(repo)?;
        let ctx = crate::env::context();
        let (run, kept) = warden_classify::import::write_keeping(
            &repo, &ctx, w.command, &w.text, &w.from, force,
        )?;
        (Some(run), kept)
    };
    let report = ModulesWritten {
        schema: w.schema.into(),
        file: MODULES_FILE.into(),
        from: w.from,
        modules: w.modules,
        yaml: dry_run.then_some(w.text),
        run,
        previous_kept_at,
    };
    output::emit(&report, fmt)?;
    Ok(ExitCode::SUCCESS)
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
    use super::plugin::{Applied, apply_writes};
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
    let writes = handler_writes(r.root())?;
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

/// The classifier's handler in the scaffold's developer area, and its
/// examples: the files `install-plugin` writes between `plugin new` and
/// `plugin gen`.
fn handler_writes(root: &Path) -> Result<Vec<super::plugin::FileWrite>, CliError> {
    use super::plugin::FileWrite;
    let rel = format!("plugins/{PLUGIN_KEY}/src/handler.sh");
    let handler = std::fs::read(root.join(&rel)).map_err(|e| {
        warden_core::Error::user_path("read the generated handler", root.join(&rel), e)
    })?;
    let text = String::from_utf8_lossy(&handler);
    let new_handler =
        warden_plugin::developer_area::replace(&text, PLUGIN_HANDLE).ok_or_else(|| {
            CliError::usage(
                format!("{rel}: the generated handler has no DEVELOPER AREA"),
                None,
            )
        })?;
    let example = |name: &str, value: serde_json::Value| -> Result<FileWrite, CliError> {
        let path = format!("plugins/{PLUGIN_KEY}/examples/{name}");
        let current = std::fs::read(root.join(&path)).ok();
        let content = serde_json::to_string_pretty(&value)
            .map_err(|e| CliError::usage(format!("{path}: {e}"), None))?;
        Ok(FileWrite {
            path,
            current,
            content: format!("{content}\n").into_bytes(),
            executable: None,
        })
    };
    Ok(vec![
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
    ])
}
