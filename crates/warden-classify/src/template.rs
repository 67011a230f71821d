//! `warden modules init`: a first `.warden/modules.yaml`, every field
//! explained in a comment, with one module per top-level folder of the
//! repository (keywords from the folder's name) for the user to refine.
//!
//! The text depends only on the folder names, so the same tree always gives
//! the same bytes, and it is checked by the parser that reads it.

use crate::IoContext;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use warden_core::modules::{MODULES_FILE, MODULES_SCHEMA_ID, Modules};
use warden_core::report::Report;
use warden_core::{Error, Result};

pub const MODULES_INIT_SCHEMA_ID: &str = "warden.modules-init/v1";
pub const MODULES_IMPORT_SCHEMA_ID: &str = "warden.modules-import/v1";

/// Top-level folders that are never a module: warden's own areas, inboxes,
/// build output and vendored trees.
const NOT_MODULES: &[&str] = &[
    "inbox",
    "plugins",
    "ids",
    "target",
    "node_modules",
    "vendor",
    "venv",
    "dist",
    "build",
    "__pycache__",
];

const HEADER: &str = "\
# yaml-language-server: $schema=../schemas/modules.schema.json
# The module registry: which folder each kind of file belongs in.
# `warden modules validate` checks it, `warden classify --dry-run` shows where
# the inbox's files would go and why, `warden schema modules` prints the format,
# and docs/classify.md explains the scoring and every decision path.
";

const BODY: &str = "\
# The drop folders: `warden classify` and `warden watch` place what lands here.
inbox: [\"inbox/\"]

# A file moves to the best-scoring module only when that module scores at least
# min_score and leads the next one by at least min_margin. A keyword in the
# file's name counts most, then one in a folder of its path, then one in the
# head of its content.
thresholds:
  min_score: 3
  min_margin: 2

# A file without a clear winner: `stay` (left where it is, its candidates
# listed) or `quarantine` (moved to the quarantine lane, reason `ambiguous`).
ambiguous: stay

# One entry per module:
#   name                unique: letters, digits, '_', '-' and '.'
#   folder              where its files live (repository-relative)
#   keywords            words that name its files, matched case-insensitively
#   allowed_extensions  a hard filter, with or without the dot; [] takes any type
#   priority            breaks an exact tie between modules: the higher wins
#   description         one line, optional
";

const EXAMPLE: &str = "\
# For example:
#  - name: docs
#    folder: docs/
#    keywords: [guide, notes, readme]
#    allowed_extensions: [md, txt]
#    priority: 0
";

/// What `modules init` and `modules import` wrote (or, with `--dry-run`,
/// would write).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "warden modules init / import",
    description = "`warden modules init --format json` and `warden modules import FILE --format json`"
)]
pub struct ModulesWritten {
    /// "warden.modules-init/v1" or "warden.modules-import/v1".
    pub schema: String,
    /// Always ".warden/modules.yaml".
    pub file: String,
    /// Where the modules came from: the imported file, or "top-level folders".
    pub from: String,
    /// How many modules the registry holds.
    pub modules: usize,
    /// The recorded run; absent on a dry run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The registry's text, on a dry run only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    /// Where the registry this run replaced (`--force`) is kept, when it
    /// differed: `.warden/state/replaced/<RUN>/modules.yaml`. `warden undo`
    /// does not restore `.warden/` files; copy this one back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_kept_at: Option<String>,
}

impl ModulesWritten {
    fn is_init(&self) -> bool {
        self.schema == MODULES_INIT_SCHEMA_ID
    }
}

impl Report for ModulesWritten {
    const SCHEMA: &'static str = "modules-init";

    fn human(&self) -> String {
        if let Some(yaml) = &self.yaml {
            return format!("{yaml}dry run: nothing was written\n");
        }
        let run = self.run.as_deref().unwrap_or("-");
        let next = if self.is_init() {
            "give each module the words that name its files, then `warden modules validate` and `warden classify --dry-run`"
        } else {
            "check it with `warden modules validate`"
        };
        let kept = self
            .previous_kept_at
            .as_deref()
            .map(|k| {
                format!(
                    "the previous registry is kept at {k}: `cp {k} {}` restores it (`warden undo` does not restore .warden/ files)\n",
                    self.file
                )
            })
            .unwrap_or_default();
        format!(
            "wrote {} ({} module(s) from {}); recorded as run {run}\n{kept}next: {next}\n",
            self.file,
            self.modules,
            warden_core::text::shown(&self.from)
        )
    }
}

/// The folders of `root` that become modules, sorted by name.
fn module_folders(root: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root).io("list", root)? {
        let entry = entry.io("list", root)?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let is_dir = entry.file_type().io("inspect", entry.path())?.is_dir();
        let valid = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if is_dir && valid && !name.starts_with('.') && !NOT_MODULES.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn quoted(s: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::Value::String(s.to_string()).to_string()
}

/// The annotated registry for the repository at `root`, and the parsed result.
pub fn init_text(root: &Path) -> Result<(String, Modules)> {
    let mut text = String::from(HEADER);
    text.push_str(&format!("schema: {MODULES_SCHEMA_ID}\n\n"));
    text.push_str(BODY);
    let folders = module_folders(root)?;
    if folders.is_empty() {
        text.push_str("modules: []\n");
        text.push_str(EXAMPLE);
    } else {
        text.push_str("modules:\n");
    }
    for name in &folders {
        let mut keywords = crate::tokens::tokens(name);
        keywords.dedup();
        let keywords: Vec<String> = keywords.iter().map(|k| quoted(k)).collect();
        text.push_str(&format!("  - name: {}\n", quoted(name)));
        text.push_str(&format!("    folder: {}\n", quoted(&format!("{name}/"))));
        text.push_str(&format!("    keywords: [{}]\n", keywords.join(", ")));
        text.push_str("    allowed_extensions: []\n    priority: 0\n");
    }
    let parsed = Modules::parse_bytes(text.as_bytes(), MODULES_FILE).map_err(|e| {
        Error::Internal(format!("the generated module registry does not parse: {e}"))
    })?;
    Ok((text, parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_repository_gets_no_module_and_a_commented_example() {
        let dir = tempfile::tempdir().expect("tmp");
        let (text, m) = init_text(dir.path()).expect("init");
        assert!(m.modules.is_empty());
        assert!(text.contains("modules: []\n# For example:"), "{text}");
    }

    #[test]
    fn top_level_folders_become_modules_and_warden_areas_do_not() {
        let dir = tempfile::tempdir().expect("tmp");
        for d in [
            "billing",
            "invoiceParser",
            "inbox",
            "plugins",
            ".git",
            "node_modules",
            "has space",
        ] {
            std::fs::create_dir(dir.path().join(d)).expect("mkdir");
        }
        std::fs::write(dir.path().join("README.md"), "x").expect("file");
        let (text, m) = init_text(dir.path()).expect("init");
        let names: Vec<&str> = m.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["billing", "invoiceParser"]);
        let parser = m.get("invoiceParser").expect("module");
        assert_eq!(parser.keywords, ["invoice", "parser"]);
        assert_eq!(parser.folder.as_str(), "invoiceParser");
        // The same tree gives the same bytes.
        assert_eq!(init_text(dir.path()).expect("again").0, text);
    }
}
