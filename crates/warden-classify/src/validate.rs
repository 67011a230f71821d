//! `warden modules validate`: the registry parses and checks (schema, paths,
//! unique names and folders — a failure there is bad input, exit 2), every
//! module folder exists (a finding, exit 1), and the warnings that do not
//! stop classification: shared keywords, modules without keywords, an inbox
//! inside a module folder, a missing inbox.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use warden_core::modules::{MODULES_FILE, Modules};
use warden_core::{Error, Result};

pub const MODULES_VALIDATE_SCHEMA_ID: &str = "warden.modules-validate/v1";

/// A problem with its field and fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub field: String,
    pub message: String,
    pub fix: String,
}

/// `warden modules validate --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden modules validate",
    description = "`warden modules validate --format json`"
)]
pub struct ModulesValidation {
    /// Always "warden.modules-validate/v1".
    pub schema: String,
    pub file: String,
    pub modules: usize,
    /// True when there is no finding (warnings allowed).
    pub ok: bool,
    pub findings: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

/// Validate the registry of the repository at `root`.
pub fn validate(root: &Path) -> Result<ModulesValidation> {
    let reg = Modules::load(root)?.ok_or_else(|| {
        Error::invalid(
            MODULES_FILE,
            "(file)",
            "there is no module registry",
            Some("`warden modules init` writes a first one from the top-level folders; `warden modules import FILE` converts a JSON registry".into()),
        )
    })?;
    let mut findings = Vec::new();
    for (i, m) in reg.modules.iter().enumerate() {
        if let Some(link) = through_link(root, &m.folder) {
            findings.push(Finding {
                field: format!("modules[{i}].folder"),
                message: format!(
                    "module {}'s folder \"{}\" goes through the symbolic link \"{link}\": warden never moves a file through a link",
                    m.name, m.folder
                ),
                fix: format!("replace the link \"{link}\" with a real folder inside the repository"),
            });
            continue;
        }
        if !m.folder.to_fs(root).is_dir() {
            findings.push(Finding {
                field: format!("modules[{i}].folder"),
                message: format!("module {}'s folder \"{}\" does not exist", m.name, m.folder),
                fix: format!("mkdir -p '{}', or correct the folder", m.folder),
            });
        }
    }
    let mut warnings: Vec<Finding> = reg
        .warnings()
        .into_iter()
        .map(|w| Finding {
            field: w.field,
            message: w.message,
            fix: "see docs/classify.md#the-module-registry".into(),
        })
        .collect();
    for (i, r) in reg.inbox.iter().enumerate() {
        if let Some(link) = through_link(root, r) {
            warnings.push(Finding {
                field: format!("inbox[{i}]"),
                message: format!(
                    "inbox \"{r}\" goes through the symbolic link \"{link}\": classify reports it as skipped and reads nothing in it"
                ),
                fix: format!("replace the link \"{link}\" with a real folder"),
            });
            continue;
        }
        if !r.to_fs(root).is_dir() {
            warnings.push(Finding {
                field: format!("inbox[{i}]"),
                message: format!("inbox \"{r}\" does not exist yet"),
                fix: format!("mkdir -p '{r}'"),
            });
        }
    }
    Ok(ModulesValidation {
        schema: MODULES_VALIDATE_SCHEMA_ID.into(),
        file: MODULES_FILE.into(),
        modules: reg.modules.len(),
        ok: findings.is_empty(),
        findings,
        warnings,
    })
}

/// The first folder of `path` (from the root down) that is a symbolic link.
fn through_link(root: &Path, path: &warden_core::paths::RepoPath) -> Option<String> {
    let mut at = root.to_path_buf();
    let mut rel = String::new();
    for comp in path.as_str().split('/') {
        at.push(comp);
        if !rel.is_empty() {
            rel.push('/');
        }
        rel.push_str(comp);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Some(rel);
        }
    }
    None
}

impl warden_core::report::Report for ModulesValidation {
    const SCHEMA: &'static str = "modules-validate";

    fn human(&self) -> String {
        let mut out = String::new();
        // Module names, folders and keywords come from the YAML file:
        // shown escaped, so a name cannot act on the terminal.
        use warden_core::text::shown;
        for f in &self.findings {
            out.push_str(&format!(
                "error: {}: {}: {}\n  fix: {}\n",
                self.file,
                shown(&f.field),
                shown(&f.message),
                shown(&f.fix)
            ));
        }
        for w in &self.warnings {
            out.push_str(&format!(
                "warning: {}: {}: {}\n",
                self.file,
                shown(&w.field),
                shown(&w.message)
            ));
        }
        if self.ok {
            out.push_str(&format!(
                "{}: {} module(s), valid\n",
                self.file, self.modules
            ));
        }
        out
    }
}
