//! Step 3 of a reconcile: the paths git left conflicted go through the
//! resolvers in a fixed order — append-only JSONL union, then each generator
//! (once, over all of its paths, in a temporary worktree), then the
//! MergeConflict plugins. What a resolver settles becomes a tree edit of the
//! merge and a resolution in the report; what none settles stays a conflict.

use super::{Conflict, Hooks, ReconcileReport, Resolution, Run};
use crate::config::{Generator, SyncConfig};
use crate::git::{ConflictStage, Git, MergeTree, TreeEdit};
use crate::hooks::{Answer, GeneratorLauncher, MergeConflictHook, Pending, Verdict};
use crate::resolve::{self, Sides};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use warden_core::Result;
use warden_core::process::{End, Sink};

/// A conflicted path's index stages (1 base, 2 ours, 3 theirs), by stage.
type Stages = BTreeMap<u8, ConflictStage>;

impl Run<'_> {
    /// Built-in resolvers, then the plugins. Fills the report's resolutions
    /// and conflicts; returns the tree edits of what was resolved.
    pub(super) fn resolve_conflicts(
        &self,
        config: &SyncConfig,
        mt: &MergeTree,
        ours: &str,
        hooks: &mut Hooks,
        report: &mut ReconcileReport,
    ) -> Result<Vec<TreeEdit>> {
        report.merge_conflict = Some(serde_json::json!({
            "paths": mt.conflicted_paths(),
            "base": report.merge_base,
            "ours": ours,
            "theirs": self.upstream_tip,
        }));
        let mut r = Resolving {
            run: self,
            mt,
            ours,
            edits: Vec::new(),
            pending: Vec::new(),
            report,
        };
        r.union_append_only(config, stages_by_path(mt))?;
        for (globs, generator) in &config.generators {
            let mine = r.take_pending(|p| globs.is_match(p));
            if !mine.is_empty() {
                r.regenerate(generator, hooks.generators, mine)?;
            }
        }
        let answered = if !r.pending.is_empty() && !self.opts.dry_run {
            r.ask_plugins(hooks.merge_conflict)?
        } else {
            BTreeMap::new()
        };
        let Resolving {
            edits,
            pending,
            report,
            ..
        } = r;
        still_conflicted(report, pending, &answered, self.opts.dry_run);
        report.conflicts.sort_by(|a, b| a.path.cmp(&b.path));
        report.resolutions.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(edits)
    }
}

fn stages_by_path(mt: &MergeTree) -> BTreeMap<String, Stages> {
    let mut by_path: BTreeMap<String, Stages> = BTreeMap::new();
    for s in &mt.stages {
        by_path
            .entry(s.path.clone())
            .or_default()
            .insert(s.stage, s.clone());
    }
    by_path
}

/// The conflicted paths of one merge on their way through the resolvers.
struct Resolving<'r, 'a> {
    run: &'r Run<'a>,
    mt: &'r MergeTree,
    ours: &'r str,
    /// The blobs of what is resolved so far.
    edits: Vec<TreeEdit>,
    /// Paths no resolver has settled yet, in path order.
    pending: Vec<(String, Stages)>,
    report: &'r mut ReconcileReport,
}

impl Resolving<'_, '_> {
    fn repo(&self) -> &Git {
        &self.run.repo
    }

    /// Append-only JSONL paths are settled by the union of both sides'
    /// entries (or stay conflicted, with why); every other path is pending.
    fn union_append_only(
        &mut self,
        config: &SyncConfig,
        by_path: BTreeMap<String, Stages>,
    ) -> Result<()> {
        for (path, stages) in by_path {
            if !config.append_only.is_match(&path) {
                self.pending.push((path, stages));
                continue;
            }
            let sides = Sides {
                base: blob(self.repo(), stages.get(&1))?,
                ours: blob(self.repo(), stages.get(&2))?,
                theirs: blob(self.repo(), stages.get(&3))?,
            };
            match resolve::union_jsonl(&sides) {
                Ok(bytes) => {
                    let oid = self.repo().hash_blob(&bytes)?;
                    let detail = "append-only JSONL: union of both sides' entries by id";
                    self.settle(path, (mode_of(&stages), oid), "jsonl-union", detail.into());
                }
                Err(why) => self.report.conflicts.push(Conflict { path, reason: why }),
            }
        }
        Ok(())
    }

    /// Remove and return the pending paths `matches` selects.
    fn take_pending(&mut self, matches: impl Fn(&str) -> bool) -> Vec<(String, Stages)> {
        let (mine, rest) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(p, _)| matches(p));
        self.pending = rest;
        mine
    }

    /// Run `generator` once on the merge as resolved so far, in a temporary
    /// worktree; each of `mine` is settled by what it wrote there, or stays
    /// conflicted (markers left, not written, or the generator failed).
    fn regenerate(
        &mut self,
        generator: &Generator,
        launcher: &dyn GeneratorLauncher,
        mine: Vec<(String, Stages)>,
    ) -> Result<()> {
        let candidate = self
            .repo()
            .edit_tree(self.run.scratch, &self.mt.tree, &self.edits)?;
        let probe = self.run.commit(
            &candidate,
            &[self.ours, &self.run.upstream_tip],
            "warden sync: generator input",
        )?;
        let shown = generator.command.join(" ");
        let dir = match run_generator(self.repo(), &probe, generator, launcher) {
            Ok(dir) => dir,
            Err(why) => {
                for (path, _) in mine {
                    let reason = why.clone();
                    self.report.conflicts.push(Conflict { path, reason });
                }
                return Ok(());
            }
        };
        let wt = dir.path().join("worktree");
        for (path, stages) in mine {
            match std::fs::read(wt.join(&path)) {
                Ok(bytes) if !resolve::has_conflict_markers(&bytes) => {
                    let oid = self.repo().hash_blob(&bytes)?;
                    let detail = format!("regenerated by `{shown}`");
                    self.settle(path, (mode_of(&stages), oid), "generator", detail);
                }
                Ok(_) => self.report.conflicts.push(Conflict {
                    path,
                    reason: format!("`{shown}` left conflict markers in it"),
                }),
                Err(_) => self.report.conflicts.push(Conflict {
                    path,
                    reason: format!("`{shown}` did not write it"),
                }),
            }
        }
        remove_worktree(self.repo(), &wt);
        Ok(())
    }

    /// A path a built-in resolver settled: its new blob joins the tree edits
    /// and the resolution the report.
    fn settle(&mut self, path: String, blob: (String, String), resolver: &str, detail: String) {
        self.edits.push(TreeEdit {
            path: path.clone(),
            blob: Some(blob),
        });
        self.report.resolutions.push(Resolution {
            path,
            resolver: resolver.into(),
            plugin: None,
            plugin_version: None,
            detail,
        });
    }

    /// Fire MergeConflict at the plugins with what is still pending; take
    /// the first answer for each path. Returns who answered each path.
    fn ask_plugins(
        &mut self,
        hook: &mut dyn MergeConflictHook,
    ) -> Result<BTreeMap<String, String>> {
        let mut items = Vec::new();
        for (path, stages) in &self.pending {
            // The merge tree's version of the path (with conflict markers);
            // absent when git left nothing there (e.g. modify/delete).
            let merged = self.repo().show_file(&self.mt.tree, path)?;
            items.push(Pending {
                path: path.clone(),
                base: blob(self.repo(), stages.get(&1))?,
                ours: blob(self.repo(), stages.get(&2))?,
                theirs: blob(self.repo(), stages.get(&3))?,
                merged,
            });
        }
        let payload = crate::hooks::payload(
            self.report.merge_base.as_deref(),
            self.ours,
            &self.run.upstream_tip,
            &items,
        );
        let d = hook.dispatch(payload, &items)?;
        self.report.merge_conflict_run = d.run;
        self.report.plugin_faults = d.faults;
        let mut answered: BTreeMap<String, String> = BTreeMap::new();
        for a in d.answers {
            let Some((_, stages)) = self.pending.iter().find(|(p, _)| *p == a.path) else {
                continue;
            };
            if answered.contains_key(&a.path) {
                continue; // an earlier plugin (priority, then key) answered it
            }
            answered.insert(a.path.clone(), a.plugin.clone());
            let mode = mode_of(stages);
            self.take_answer(a, mode)?;
        }
        Ok(answered)
    }

    /// A plugin's accepted answer for a path: its content as a tree edit
    /// (mode as the plugin says, else `mode`), or its quarantine reason.
    fn take_answer(&mut self, a: Answer, mode: String) -> Result<()> {
        match a.verdict {
            Verdict::Resolved {
                content,
                executable,
            } => {
                let oid = self.repo().hash_blob(&content)?;
                let mode = match executable {
                    Some(true) => "100755".to_string(),
                    Some(false) => "100644".to_string(),
                    None => mode,
                };
                self.edits.push(TreeEdit {
                    path: a.path.clone(),
                    blob: Some((mode, oid)),
                });
                let detail = format!(
                    "resolved by plugin {} {} (MergeConflict run {})",
                    a.plugin,
                    a.plugin_version,
                    self.report.merge_conflict_run.as_deref().unwrap_or("-")
                );
                self.report.resolutions.push(Resolution {
                    path: a.path,
                    resolver: "plugin".into(),
                    detail,
                    plugin: Some(a.plugin),
                    plugin_version: Some(a.plugin_version),
                });
            }
            Verdict::Quarantine { reason } => self.report.conflicts.push(Conflict {
                path: a.path,
                reason: format!(
                    "plugin {} {} quarantined it: {reason}",
                    a.plugin, a.plugin_version
                ),
            }),
        }
        Ok(())
    }
}

/// Every pending path no plugin answered stays conflicted, with why.
fn still_conflicted(
    report: &mut ReconcileReport,
    pending: Vec<(String, Stages)>,
    answered: &BTreeMap<String, String>,
    dry_run: bool,
) {
    let consulted = if dry_run {
        "; plugins are not consulted in a dry run"
    } else if report.merge_conflict_run.is_some() {
        "; no plugin resolved it"
    } else {
        ""
    };
    for (path, stages) in pending {
        if answered.contains_key(&path) {
            continue;
        }
        let reason = if stages.len() == 3 {
            format!("both sides changed the same lines; no resolver applies{consulted}")
        } else {
            format!(
                "changed on one side and deleted (or added differently) on the other; no resolver applies{consulted}"
            )
        };
        report.conflicts.push(Conflict { path, reason });
    }
}

fn mode_of(stages: &Stages) -> String {
    stages
        .get(&2)
        .or(stages.get(&3))
        .map_or("100644".to_string(), |s| s.mode.clone())
}

fn blob(repo: &Git, s: Option<&ConflictStage>) -> Result<Option<Vec<u8>>> {
    match s {
        Some(s) => Ok(Some(repo.cat_blob(&s.oid)?)),
        None => Ok(None),
    }
}

/// Check out `commit` in a temporary worktree outside the repository and run
/// the generator there, through `launcher` (the CLI sandboxes it: it may
/// write only beneath the returned directory, which holds `worktree/` and
/// `tmp/`). Returns that directory.
fn run_generator(
    repo: &Git,
    commit: &str,
    g: &Generator,
    launcher: &dyn GeneratorLauncher,
) -> std::result::Result<tempfile::TempDir, String> {
    let shown = g.command.join(" ");
    let area = tempfile::Builder::new()
        .prefix("warden-generator-")
        .tempdir()
        .map_err(|e| format!("cannot create a temp dir for generator `{shown}`: {e}"))?;
    let dir = area.path().join("worktree");
    let tmp = area.path().join("tmp");
    std::fs::create_dir(&tmp)
        .map_err(|e| format!("cannot create a temp dir for generator `{shown}`: {e}"))?;
    repo.worktree_add_detached(&dir, commit)
        .map_err(|e| format!("cannot check out the merge for the generator: {e}"))?;
    let failed = |why: String| {
        remove_worktree(repo, &dir);
        why
    };
    let cmd = match launcher.command(&g.command, area.path()) {
        Ok(c) => c,
        Err(why) => return Err(failed(format!("generator `{shown}` was not run: {why}"))),
    };
    let limit = Duration::from_millis(g.timeout_ms.unwrap_or(120_000));
    let done = cmd
        .cwd(&dir)
        .env("TMPDIR", &tmp)
        .stdout(Sink::Null)
        .stderr(Sink::Null)
        .timeout(limit)
        .run();
    let done = match done {
        Ok(d) => d,
        Err(e) => {
            return Err(failed(format!("generator `{shown}` could not start: {e}")));
        }
    };
    match done.end {
        End::Exited(0) => Ok(area),
        End::TimedOut => Err(failed(format!(
            "generator `{shown}` timed out after {} ms",
            limit.as_millis()
        ))),
        _ => {
            let why = done.code.and_then(|c| launcher.explain(c)).map_or(
                format!("generator `{shown}` failed ({})", done.describe()),
                |w| format!("generator `{shown}` was not run: {w}"),
            );
            Err(failed(why))
        }
    }
}

fn remove_worktree(repo: &Git, dir: &Path) {
    // Only our own worktree: `worktree prune` would touch the user's others.
    let _ = repo.worktree_remove(dir);
}
