//! `warden registry init [--scaffold] [--hook [--force]]` (the seed's
//! `establish`): the first index and the operator checklist; with
//! `--scaffold` also the copy-paste templates (Makefile fragment, pre-commit
//! hook), the maturity standard to edit, and an example entry. Files that
//! exist are never overwritten. The registry files are written as one
//! `registry_patch` run (undoable); the hook goes to `.git/hooks/pre-commit`
//! outside the engine (git's own directory), and an existing different hook
//! is refused unless `--force`.

use crate::model::{ENTRIES_DIR, INDEX_PATH, Index, IndexRow, STANDARD_PATH, to_yaml};
use crate::registry::Write;
use crate::standard::Standard;
use schemars::JsonSchema;
use serde::Serialize;
use std::path::{Path, PathBuf};
use warden_core::{Error, Result};

pub const INIT_SCHEMA_ID: &str = "warden.registry-init/v1";
pub const README_PATH: &str = "registry/README.md";
pub const MAKEFILE_TEMPLATE: &str = "registry/templates/Makefile.registry.fragment";
pub const HOOK_TEMPLATE: &str = "registry/templates/git-hook.pre-commit.registry";
pub const EXAMPLE_ENTRY: &str = "registry/capabilities/example.md";

pub const MAKEFILE: &str = "# warden registry targets: copy into your Makefile.\n\
.PHONY: registry-maintain registry-check registry-auto\n\
# Review suggestions interactively (a terminal).\n\
registry-maintain:\n\twarden registry maintain --from-git-since origin/main\n\
# Apply the safe, deterministic suggestions without asking (CI, scripts).\n\
registry-auto:\n\twarden registry maintain --auto --no-llm --from-git-since origin/main\n\
# Fail when the registry is inconsistent.\n\
registry-check:\n\twarden registry validate\n";

pub const HOOK: &str = r#"#!/bin/sh
# warden registry pre-commit hook (`warden registry init --hook` installs it;
# template: registry/templates/git-hook.pre-commit.registry).
# Brings the capability registry up to date with the staged and unstaged
# changes (`maintain --auto --no-llm`); when that changed registry/, the
# commit stops so you can review and stage the update (undo: warden undo RUN).
gitdir=$(git rev-parse --git-dir) || exit 1
if ! git rev-parse --verify -q HEAD >/dev/null; then
  # The first commit: there is no HEAD to collect changes since; only check
  # that the registry is consistent.
  if ! warden registry validate >"$gitdir/warden-registry-hook.log"; then
    echo "warden registry: the registry is invalid; see $gitdir/warden-registry-hook.log" >&2
    exit 1
  fi
  exit 0
fi
before=$(git diff -- registry/ | git hash-object --stdin)
warden registry maintain --auto --no-llm --from-git-since HEAD --format json >"$gitdir/warden-registry-hook.log"
code=$?
case $code in
  0|5) ;;
  *) echo "warden registry: maintain failed (exit $code); see $gitdir/warden-registry-hook.log" >&2
     exit 1 ;;
esac
after=$(git diff -- registry/ | git hash-object --stdin)
if [ "$before" != "$after" ]; then
  echo "warden registry: registry/ was brought up to date; review 'git diff registry/', 'git add registry/' and commit again" >&2
  exit 1
fi
exit 0
"#;

const README: &str = "# Capability registry\n\n\
Kept by `warden registry` (docs/registry.md in warden). One entry per capability in\n\
`registry/capabilities/<slug>.md` (YAML front matter, then free Markdown), one row per\n\
capability in `registry/indexes/capabilities.yaml`.\n\n\
## Operator checklist after a `maintain` session\n\n\
1. Read the summary: every skipped or refused patch is listed under `todo:`.\n\
2. `warden registry validate` is green (it exits 1 otherwise).\n\
3. `git diff registry/` shows what the run changed; `warden undo RUN` reverts it.\n\
4. Commit and push `registry/`, then check what consumers see:\n\
   `warden registry maintain --publish --raw-url <raw URL of registry/indexes/capabilities.yaml>`.\n";

fn example_entry() -> String {
    "---\nid: capability.example.hello\ntitle: Hello example\nmaturity:\n  D:\n    current: 0\n    target: 2\n  A:\n    current: 0\n  C:\n    current: 0\n  R:\n    current: 0\npaths:\n- src/hello/**\n- docs/hello/**\n---\n# Hello example\n\nReplace this entry with a real capability: what it does, who uses it, how to call it.\n".to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookOutcome {
    Written,
    Unchanged,
    /// A different hook exists and `--force` was not given.
    Refused,
    /// `--dry-run`.
    WouldWrite,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct HookReport {
    pub path: String,
    pub outcome: HookOutcome,
    /// Where a replaced hook (`--force`) was kept: `pre-commit.warden-backup`
    /// beside it, as `warden hook install --force` keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(title = "warden registry init report")]
pub struct InitReport {
    /// Always "warden.registry-init/v1".
    pub schema: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    pub created: Vec<String>,
    /// Files that already existed and were left alone.
    pub existing: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook: Option<HookReport>,
    pub dry_run: bool,
}

/// The registry files `init` would create (only those that are absent).
pub fn plan(root: &Path, scaffold: bool, date: &str) -> Result<(Vec<Write>, Vec<String>)> {
    let mut files: Vec<(String, String)> = Vec::new();
    let mut index = Index {
        updated: date.into(),
        capabilities: Vec::new(),
    };
    if scaffold {
        let e = crate::model::Entry::parse(example_entry().as_bytes(), EXAMPLE_ENTRY)?;
        if !root.join(EXAMPLE_ENTRY).exists() && !root.join(INDEX_PATH).exists() {
            index.capabilities.push(IndexRow {
                id: e.meta.id.clone(),
                entry: EXAMPLE_ENTRY.into(),
                vector: e.meta.maturity.vector(),
            });
        }
        files.push((EXAMPLE_ENTRY.into(), example_entry()));
        files.push((
            STANDARD_PATH.into(),
            format!(
                "# The maturity standard of this registry: edit to taste (`warden schema registry-standard`).\n{}",
                to_yaml(&Standard::default_standard())?
            ),
        ));
        files.push((MAKEFILE_TEMPLATE.into(), MAKEFILE.into()));
        files.push((HOOK_TEMPLATE.into(), HOOK.into()));
    }
    files.push((INDEX_PATH.into(), index.render()?));
    files.push((README_PATH.into(), README.into()));
    files.sort();
    let (mut writes, mut existing) = (Vec::new(), Vec::new());
    for (path, content) in files {
        if root.join(&path).exists() {
            existing.push(path);
        } else {
            writes.push(Write {
                path,
                content,
                expect: None,
                comments_lost: Vec::new(),
            });
        }
    }
    let _ = ENTRIES_DIR;
    Ok((writes, existing))
}

/// Install the pre-commit hook into `hooks_dir`.
pub fn install_hook(hooks_dir: &Path, force: bool, dry_run: bool) -> Result<HookReport> {
    let path: PathBuf = hooks_dir.join("pre-commit");
    let shown = path.display().to_string();
    let current = std::fs::read(&path).ok();
    let mut backup = None;
    let outcome = match current {
        Some(c) if c == HOOK.as_bytes() => HookOutcome::Unchanged,
        Some(_) if !force => HookOutcome::Refused,
        _ if dry_run => HookOutcome::WouldWrite,
        replaced => {
            std::fs::create_dir_all(hooks_dir).map_err(|e| Error::Io {
                op: "create",
                path: hooks_dir.to_path_buf(),
                source: e,
            })?;
            // The hook lives in git's directory, out of `warden undo`'s
            // reach: the one it replaces is moved aside, never lost.
            if replaced.is_some() {
                backup = Some(keep_aside(hooks_dir, &path)?);
            }
            warden_core::fsutil::write_atomic(&path, HOOK.as_bytes(), 0o755)?;
            HookOutcome::Written
        }
    };
    Ok(HookReport {
        path: shown,
        outcome,
        backup,
    })
}

/// Move the hook at `path` to `pre-commit.warden-backup` (or `.1`, `.2`, …
/// when that exists) in `dir`; the path it went to.
fn keep_aside(dir: &Path, path: &Path) -> Result<String> {
    let mut to = dir.join("pre-commit.warden-backup");
    let mut n = 0;
    while to.symlink_metadata().is_ok() {
        n += 1;
        to = dir.join(format!("pre-commit.warden-backup.{n}"));
    }
    std::fs::rename(path, &to).map_err(|e| Error::Io {
        op: "move aside",
        path: path.to_path_buf(),
        source: e,
    })?;
    Ok(to.display().to_string())
}
