//! `.warden/sync.yaml`: the sync guardian's part of the policy pack. Optional;
//! absent means the defaults (no automatic adopt, the ledger is append-only,
//! no generators). Unknown keys are errors that name the field.

use globset::GlobSet;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use warden_core::policy::globs;
use warden_core::{Digest, Error, Result, strict};

/// The schema tag of `.warden/sync.yaml` (`warden schema sync-config`).
pub const SYNC_CONFIG_SCHEMA_ID: &str = "warden.sync-config/v1";
/// Where the sync configuration lives, relative to the repository root.
pub const SYNC_CONFIG_FILE: &str = ".warden/sync.yaml";

/// Files that are append-only JSONL whatever the configuration says.
pub const BUILTIN_APPEND_ONLY: &[&str] = &[".ledger/**/*.jsonl"];

/// `.warden/sync.yaml` as written (see [`SyncConfig`] for the compiled form).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "warden sync configuration",
    description = "`.warden/sync.yaml`: the sync guardian's policy"
)]
pub struct SyncConfigFile {
    /// Always "warden.sync-config/v1".
    pub schema: String,
    /// Let `warden sync reconcile --adopt` fast-forward the working branch right
    /// away when the audit found no collisions and nothing conflicted. Default false.
    #[serde(default)]
    pub auto_adopt: bool,
    /// Globs of append-only JSONL files, merged by the union of their entries
    /// (by `id`, else `run`, else the whole line). `.ledger/**/*.jsonl` is always included.
    #[serde(default)]
    pub append_only: Vec<String>,
    /// Files a generator can regenerate: on a conflict the generator runs in a
    /// temporary worktree of the merge and its output is taken.
    #[serde(default)]
    pub generated: Vec<Generator>,
}

/// A command that regenerates files whose conflicts it can settle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Generator {
    /// Globs of the generated files.
    pub paths: Vec<String>,
    /// The command (argv, no shell) that regenerates them, run at the top of the worktree.
    pub command: Vec<String>,
    /// Wall-clock limit in milliseconds (default 120000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// A parsed, checked configuration.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The file as written (the defaults when there is none).
    pub file: SyncConfigFile,
    /// sha256 of the file's bytes (of "" when absent), recorded in the ledger.
    pub digest: Digest,
    /// The append-only JSONL globs, compiled.
    pub append_only: GlobSet,
    /// Each generator with its compiled globs, in file order.
    pub generators: Vec<(GlobSet, Generator)>,
}

impl SyncConfig {
    /// The configuration without a `.warden/sync.yaml`: no append-only files, no generators.
    pub fn defaults() -> SyncConfig {
        SyncConfig::parse("schema: warden.sync-config/v1\n", SYNC_CONFIG_FILE).unwrap_or_else(
            |_| SyncConfig {
                file: SyncConfigFile::default(),
                digest: Digest::of(b""),
                append_only: GlobSet::empty(),
                generators: Vec::new(),
            },
        )
    }

    /// Load `.warden/sync.yaml` under `root`, or the defaults when absent.
    pub fn load(root: &Path) -> Result<SyncConfig> {
        match strict::read_config(root, SYNC_CONFIG_FILE)? {
            Some(bytes) => SyncConfig::parse_bytes(&bytes, SYNC_CONFIG_FILE),
            None => {
                let mut d = SyncConfig::defaults();
                d.digest = Digest::of(b"");
                Ok(d)
            }
        }
    }

    /// Parse and compile the text of `.warden/sync.yaml` (`file` names it in errors).
    pub fn parse(text: &str, file: &str) -> Result<SyncConfig> {
        Self::parse_bytes(text.as_bytes(), file)
    }

    /// Parse the file's bytes strictly (`warden_core::strict`): no byte-order
    /// mark, valid UTF-8, no repeated key, no unknown field (named with a
    /// did-you-mean).
    pub fn parse_bytes(bytes: &[u8], file: &str) -> Result<SyncConfig> {
        let value = strict::parse_yaml(bytes, file)?;
        let f: SyncConfigFile = strict::deserialize(
            &value,
            file,
            "see `warden schema sync-config` for the expected shape",
        )?;
        if f.schema != SYNC_CONFIG_SCHEMA_ID {
            return Err(Error::invalid(
                file,
                "schema",
                format!("unsupported schema \"{}\"", f.schema),
                Some(format!("set `schema: {SYNC_CONFIG_SCHEMA_ID}`")),
            ));
        }
        let mut append: Vec<String> = BUILTIN_APPEND_ONLY.iter().map(|s| s.to_string()).collect();
        append.extend(f.append_only.iter().cloned());
        let append_only = globs(&append, file, "append_only")?;
        let mut generators = Vec::new();
        for (i, g) in f.generated.iter().enumerate() {
            if g.command.is_empty() || g.command[0].trim().is_empty() {
                return Err(Error::invalid(
                    file,
                    format!("generated[{i}].command"),
                    "the command is empty",
                    Some("give the program and its arguments, e.g. [\"make\", \"schemas\"]".into()),
                ));
            }
            if g.paths.is_empty() {
                return Err(Error::invalid(
                    file,
                    format!("generated[{i}].paths"),
                    "no paths given",
                    Some("list the globs of the files this command writes".into()),
                ));
            }
            generators.push((
                globs(&g.paths, file, &format!("generated[{i}].paths"))?,
                g.clone(),
            ));
        }
        Ok(SyncConfig {
            digest: Digest::of(bytes),
            file: f,
            append_only,
            generators,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_globs_name_the_field() {
        let e = SyncConfig::parse(
            "schema: warden.sync-config/v1\nauto_adopts: true\n",
            "sync.yaml",
        )
        .expect_err("unknown key");
        assert_eq!(e.to_string(), "sync.yaml: auto_adopts: unknown field");
        assert_eq!(e.hint().as_deref(), Some("did you mean \"auto_adopt\"?"));
        let e = SyncConfig::parse(
            "schema: warden.sync-config/v1\ngenerated:\n  - paths: [x]\n    command: [make]\n    timeout: 5\n",
            "sync.yaml",
        )
        .expect_err("unknown nested key");
        assert_eq!(
            e.to_string(),
            "sync.yaml: generated[0].timeout: unknown field"
        );
        assert_eq!(e.hint().as_deref(), Some("did you mean \"timeout_ms\"?"));
        let e = SyncConfig::parse(
            "schema: warden.sync-config/v1\nappend_only: [\"a/[\"]\n",
            "sync.yaml",
        )
        .expect_err("bad glob");
        assert!(
            e.to_string()
                .starts_with("sync.yaml: append_only[1]: bad glob"),
            "{e}"
        );
        let e = SyncConfig::parse(
            "schema: warden.sync-config/v1\ngenerated:\n  - paths: [x]\n    command: []\n",
            "sync.yaml",
        )
        .expect_err("empty command");
        assert!(e.to_string().contains("generated[0].command"), "{e}");
        let e = SyncConfig::parse("schema: nope\n", "sync.yaml").expect_err("schema");
        assert!(e.to_string().contains("schema: unsupported"), "{e}");
    }

    #[test]
    fn the_ledger_is_always_append_only() {
        let c = SyncConfig::defaults();
        assert!(c.append_only.is_match(".ledger/runs/host-1.jsonl"));
        assert!(!c.append_only.is_match("data/x.jsonl"));
        let c = SyncConfig::parse(
            "schema: warden.sync-config/v1\nappend_only: [\"data/*.jsonl\"]\nauto_adopt: true\n",
            "s",
        )
        .expect("parse");
        assert!(c.append_only.is_match("data/x.jsonl"));
        assert!(c.file.auto_adopt);
    }

    #[test]
    fn duplicate_sync_config_keys_are_refused_naming_the_key_and_line() {
        // A second `append_only:` must never drop the first list (serde-saphyr
        // refuses repeated keys by default; this pins it).
        let e = SyncConfig::parse(
            "schema: warden.sync-config/v1\nappend_only: [\"data/*.jsonl\"]\nauto_adopt: true\nappend_only: []\n",
            "sync.yaml",
        )
        .expect_err("duplicate");
        assert_eq!(
            e.to_string(),
            "sync.yaml: line 4 column 1: duplicate key \"append_only\""
        );
    }
}
