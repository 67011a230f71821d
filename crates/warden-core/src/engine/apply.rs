//! Applying a plan: re-check, intent, stage, keep, switch, validation, commit
//! (steps 1–7 of the module docs of [`super`]).

use super::*;

/// The before-state of every directory above the changed paths, outermost
/// first (recorded in the intent, so rollback and undo restore directories).
fn dir_records(root: &Path, changes: &[Change]) -> Result<Vec<DirRecord>> {
    let mut all: BTreeSet<(usize, RepoPath)> = BTreeSet::new();
    for c in changes {
        for d in c.path.ancestors() {
            all.insert((d.as_str().matches('/').count(), d));
        }
    }
    let mut out = Vec::with_capacity(all.len());
    for (_, d) in all {
        let fs = d.to_fs(root);
        let mode = match std::fs::symlink_metadata(&fs) {
            Ok(m) if m.is_dir() => Some(fsutil::mode_of(&m)),
            Ok(_) => {
                return Err(Error::invalid(
                    "(working tree)",
                    d.as_str(),
                    format!("\"{d}\" is not a directory"),
                    None,
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).io("inspect", &fs),
        };
        out.push(DirRecord { path: d, mode });
    }
    Ok(out)
}

/// Steps 3–5 of a run: stage each new content in its temp file, keep the
/// big before-states in the content store, rename the temps over their
/// targets and unlink deleted paths, put the plan's directories into their
/// states, fsync every changed directory.
///
/// Returns the stamp each big new file had right after its rename, when
/// nothing wrote to its temp file between staging and renaming (see
/// [`Written`]).
fn switch(root: &Path, store: &Path, plan: &Plan, intent: &Intent) -> Result<Vec<Renamed>> {
    let mut dirs = BTreeSet::new();
    // A big new file's stamp as soon as it is staged: if it is the same
    // right before the rename, nothing wrote to the temp file in between.
    let mut staged = std::collections::BTreeMap::new();
    for (n, (c, t)) in plan.changes.iter().zip(&intent.transitions).enumerate() {
        if let (
            FileState::File {
                content,
                mode,
                digest,
            },
            Some(temp),
        ) = (&c.after, &t.temp)
        {
            create_parents(root, &c.path, &mut dirs)?;
            let tp = temp.to_fs(root);
            let _ = std::fs::remove_file(&tp);
            stage(store, &tp, content, *digest, *mode)?;
            if content.is_large() {
                staged.insert(n, stamp_of(&tp));
            }
        }
    }
    hit("run.after_stage")?;
    keep_before_states(root, store, intent)?;
    hit("run.after_keep")?;
    let mut renamed = Vec::new();
    for (i, t) in intent.transitions.iter().enumerate() {
        let target = t.path.to_fs(root);
        match &t.temp {
            Some(temp) => {
                let from = temp.to_fs(root);
                let unchanged = staged
                    .get(&i)
                    .copied()
                    .flatten()
                    .filter(|s| stamp_of(&from) == Some(*s));
                std::fs::rename(&from, &target).io("rename into", &target)?;
                if let Some(staged) = unchanged
                    && let Some(now) = stamp_of(&target)
                    && staged.same_but_change_time(&now)
                {
                    renamed.push((t.path.clone(), target.clone(), now));
                }
            }
            None => std::fs::remove_file(&target).io("remove", &target)?,
        }
        dirs.insert(parent_dir(root, &t.path));
        if i == 0 {
            hit("run.after_first_rename")?;
        }
    }
    hit("run.after_renames")?;
    for t in intent
        .transitions
        .iter()
        .filter(|t| t.after == StateRecord::Absent)
    {
        let parent = parent_dir(root, &t.path);
        fsutil::remove_empty_dirs(&parent, root);
        if !parent.exists()
            && let Some(up) = parent.parent()
        {
            dirs.insert(up.to_path_buf());
        }
    }
    settle_dirs(root, &plan.dirs, &intent.dirs, &mut dirs).map_err(|b| b.1)?;
    for d in &dirs {
        if d.exists() {
            fsutil::sync_dir(d)?;
        }
    }
    hit("run.after_dir_sync")?;
    Ok(renamed)
}

/// A big file renamed into place: its path, where it is, its stamp then.
type Renamed = (RepoPath, PathBuf, crate::content::Stamp);

fn stamp_of(path: &Path) -> Option<crate::content::Stamp> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| crate::content::Stamp::of(&m))
}

/// Write a new content into the fresh temp file `tp`: in-memory content is
/// written, a file is streamed (and hashed on the way), and a content store
/// entry (an undo putting a big file back) is linked, not copied.
fn stage(store: &Path, tp: &Path, content: &Content, digest: Digest, mode: u32) -> Result<()> {
    if let Content::File { path, len, .. } = content
        && path.starts_with(store)
    {
        crate::content::link_or_copy(path, tp, digest, *len)?;
        let meta = std::fs::symlink_metadata(tp).io("inspect", tp)?;
        if fsutil::mode_of(&meta) != mode {
            fsutil::set_mode(tp, mode)?;
        }
        return Ok(());
    }
    crate::content::write_new(tp, content, digest, mode, true)
}

/// Keep the before-state of every path whose intent names a content store
/// entry: a second name (hard link) on the file about to be replaced or
/// deleted, so its content survives the switch without being copied. Made
/// durable before any rename, so a crash after a rename finds it.
fn keep_before_states(root: &Path, store: &Path, intent: &Intent) -> Result<()> {
    let mut made = false;
    for t in &intent.transitions {
        let StateRecord::File {
            store: Some(name),
            digest,
            ..
        } = &t.before
        else {
            continue;
        };
        let dest = store_entry(store, name)?;
        if let Some(d) = dest.parent() {
            std::fs::create_dir_all(d).io("create", d)?;
        }
        let _ = std::fs::remove_file(&dest);
        let len = std::fs::symlink_metadata(t.path.to_fs(root))
            .io("inspect", t.path.to_fs(root))?
            .len();
        crate::content::link_or_copy(&t.path.to_fs(root), &dest, *digest, len)?;
        made = true;
    }
    if made {
        fsutil::sync_dir(&store.join(&intent.run))?;
        fsutil::sync_dir(store)?;
    }
    Ok(())
}

impl Session<'_> {
    /// Apply a plan as one atomic run. See the module docs for the steps.
    pub fn apply(&mut self, plan: &Plan) -> Result<Outcome> {
        self.apply_with(plan, &ApplyOptions::default())
    }

    /// [`Session::apply`] with a deadline and extra validation commands.
    pub fn apply_with(&mut self, plan: &Plan, opts: &ApplyOptions) -> Result<Outcome> {
        self.recheck(plan, opts)?;
        // Run artifacts are written once the run is decided (step 7): until then
        // the intent frame holds everything recovery and forensics need.
        let run_dir = self.repo.layout.run_dir(&plan.run);
        hit("run.after_plan")?;
        let (intent, at, mut entry) = self.write_intent(plan)?;
        hit("run.after_intent")?;

        // From here on the tree changes. An injected failure acts as a crash
        // (recovery finishes the job); any real failure is rolled back now and
        // ledgered, so no change is ever left on disk without an entry.
        let store = self.repo.layout.store_dir();
        let renamed = match switch(self.root(), &store, plan, &intent) {
            Ok(renamed) => renamed,
            Err(e @ Error::Injected(_)) => return Err(e),
            Err(e) => return Err(self.fail_apply(plan, &intent, at, entry, e, &run_dir)),
        };

        let log = run_dir.join("validation.log");
        let (failed, deadline_exceeded) = self.validate(opts, &log)?;
        let mut validation_failure = None;
        if failed.is_some() || deadline_exceeded {
            let frame = self.journal.read_frame(at)?;
            self.roll_back(&frame, &intent)?;
            entry.result = RunResult::RolledBack;
            if deadline_exceeded {
                entry.rolled_back_by = Some(RollbackCause::Deadline);
                entry.reason = Some(format!(
                    "{DEADLINE_REASON}: the run was rolled back before it committed{}",
                    failed
                        .as_ref()
                        .map(|w| format!(" ({w})"))
                        .unwrap_or_default()
                ));
            } else if let Some(why) = failed {
                entry.rolled_back_by = Some(RollbackCause::Validation);
                entry.reason = Some(format!("validation failed: {why}"));
                validation_failure = Some(std::fs::read_to_string(&log).unwrap_or(why));
            }
        }
        hit("run.after_validation")?;

        let entry = self.repo.ledger().append(&self.repo.writer, entry)?;
        hit("run.after_ledger")?;
        self.release_undone(&entry);
        let written = if entry.result == RunResult::Applied {
            crate::content::settled_stamps(renamed)
                .into_iter()
                .map(|(path, stamp)| Written { path, stamp })
                .collect()
        } else {
            Vec::new()
        };
        let done = FrameHeader::Done {
            run: plan.run.clone(),
            result: result_name(entry.result).into(),
            written,
        };
        self.journal.append(&journal::encode(&done, &[])?, false)?;
        hit("run.after_done")?;
        write_artifacts(&run_dir, plan, &entry);
        Ok(Outcome {
            entry,
            validation_failure,
            deadline_exceeded,
        })
    }

    /// Step 1: refuse a plan with nothing to do, a deadline already past, and
    /// a plan whose before-states no longer match the disk.
    fn recheck(&self, plan: &Plan, opts: &ApplyOptions) -> Result<()> {
        if plan.noop.is_some() || plan.changes.is_empty() {
            return Err(Error::Internal(
                "apply called on a plan with nothing to do".into(),
            ));
        }
        if opts
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
        {
            return Err(Error::refused(
                crate::error::Refusal::Deadline,
                "(run)",
                "deadline",
                "the deadline passed before the run started; nothing was changed",
                None,
            ));
        }
        let root = self.root();
        for c in &plan.changes {
            c.path
                .check_on_disk(root, "(working tree)", c.path.as_str())?;
            if !c.before.still_on_disk(root, &c.path)? {
                return Err(Error::refused(
                    crate::error::Refusal::Precondition,
                    "(working tree)",
                    c.path.as_str(),
                    "changed since the plan was made",
                    Some("run the command again to plan against the current content".into()),
                ));
            }
        }
        Ok(())
    }

    /// Step 2: append the intent (before-states with their content, or the
    /// names of their content store entries; after digests) and fsync it.
    /// Returns it with its rollback handle and the entry the run will append.
    fn write_intent(&mut self, plan: &Plan) -> Result<(Intent, FrameRef, Entry)> {
        let dirs = dir_records(self.root(), &plan.changes)?;
        let mut blobs = Vec::new();
        let mut transitions = Vec::with_capacity(plan.changes.len());
        for (n, c) in plan.changes.iter().enumerate() {
            let before = match &c.before {
                FileState::Absent => StateRecord::Absent,
                FileState::File {
                    content,
                    mode,
                    digest,
                } if content.is_large() => StateRecord::File {
                    digest: *digest,
                    mode: *mode,
                    blob: None,
                    store: Some(crate::store::entry(&plan.run, n)),
                },
                FileState::File {
                    content,
                    mode,
                    digest,
                } => {
                    let off = blobs.len() as u64;
                    let bytes = content.load()?;
                    blobs.extend_from_slice(&bytes);
                    StateRecord::File {
                        digest: *digest,
                        mode: *mode,
                        blob: Some((off, bytes.len() as u64)),
                        store: None,
                    }
                }
            };
            let temp = matches!(c.after, FileState::File { .. })
                .then(|| temp_for(&c.path, &plan.run, "", n));
            transitions.push(TransitionRecord {
                path: c.path.clone(),
                before,
                after: c.after.record(),
                temp,
            });
        }
        let mut entry = self.template(plan)?;
        let intent = Intent {
            run: plan.run.clone(),
            meta: serde_json::to_value(&entry).map_err(|e| Error::Internal(e.to_string()))?,
            transitions,
            dirs,
        };
        let frame = journal::encode(&FrameHeader::Intent(intent.clone()), &blobs)?;
        let at = self.journal.append(&frame, true)?;
        entry.rollback = Some(self.handle(at));
        Ok((intent, at, entry))
    }

    /// A real failure while the tree changed: roll back at once, ledger the
    /// run `rolled_back` with the error as its reason, and return the error
    /// to report ([`Error::ApplyFailed`]).
    fn fail_apply(
        &mut self,
        plan: &Plan,
        intent: &Intent,
        at: FrameRef,
        mut entry: Entry,
        e: Error,
        run_dir: &Path,
    ) -> Error {
        let result = (|| {
            let frame = self.journal.read_frame(at)?;
            self.roll_back(&frame, intent)?;
            entry.result = RunResult::RolledBack;
            entry.reason = Some(format!("the apply failed and was rolled back: {e}"));
            entry.rolled_back_by = Some(RollbackCause::ApplyFailed);
            let entry = self.repo.ledger().append(&self.repo.writer, entry)?;
            let done = FrameHeader::Done {
                run: plan.run.clone(),
                result: result_name(entry.result).into(),
                written: Vec::new(),
            };
            self.journal.append(&journal::encode(&done, &[])?, true)?;
            write_artifacts(run_dir, plan, &entry);
            Ok(())
        })();
        match result {
            Ok(()) => Error::ApplyFailed {
                run: plan.run.clone(),
                message: e.to_string(),
            },
            Err(e) => e,
        }
    }

    /// Step 6: the policy's validation command, then the extra ones, until
    /// one fails or the deadline passes. Returns why it failed (if it did)
    /// and whether the deadline passed before the commit point.
    fn validate(&self, opts: &ApplyOptions, log: &Path) -> Result<(Option<String>, bool)> {
        let past =
            |d: &Option<std::time::Instant>| d.is_some_and(|d| std::time::Instant::now() >= d);
        let mut steps: Vec<&Vec<String>> = Vec::new();
        if let Some(v) = &self.repo.policy.file.validation {
            steps.push(&v.command);
        }
        steps.extend(opts.extra_validation.iter());
        let limit = std::time::Duration::from_millis(self.repo.policy.file.limits.max_runtime_ms);
        let mut deadline_exceeded = false;
        let mut failed: Option<String> = None;
        for (n, argv) in steps.iter().enumerate() {
            if past(&opts.deadline) {
                break;
            }
            // A command that cannot even start fails the run like one that
            // fails: it is rolled back and ledgered, never left half-done.
            let ran = match crate::validate::run_until(
                argv,
                self.root(),
                log,
                limit,
                opts.deadline,
                n > 0,
                &self.ctx.child_env,
            ) {
                Ok(ran) => ran,
                Err(e @ Error::Injected(_)) => return Err(e),
                Err(e) => {
                    failed = Some(format!("the validation command could not run: {e}"));
                    break;
                }
            };
            match ran {
                Ok(()) => {}
                Err(f) if f.deadline => {
                    deadline_exceeded = true;
                    failed = Some(f.why);
                    break;
                }
                Err(f) => {
                    failed = Some(f.why);
                    break;
                }
            }
        }
        // The last moment a too-slow run can still be taken back uncommitted.
        if failed.is_none() && past(&opts.deadline) {
            deadline_exceeded = true;
        }
        Ok((failed, deadline_exceeded))
    }
}

/// `.runs/<RUN>/run.json` (plan, diff and ledger entry; schema `run`) and
/// `.runs/<RUN>/diff.patch`. Best effort and not fsynced: the ledger and the
/// journal are the record; these are for people and scripts.
fn write_artifacts(run_dir: &Path, plan: &Plan, entry: &Entry) {
    let artifact = RunArtifact {
        schema: "warden.run/v1".into(),
        plan: plan.report(),
        entry: entry.clone(),
    };
    if std::fs::create_dir_all(run_dir).is_err() {
        return;
    }
    if let Ok(bytes) = serde_json::to_vec_pretty(&artifact) {
        let _ = std::fs::write(run_dir.join("run.json"), bytes);
    }
    let _ = std::fs::write(run_dir.join("diff.patch"), plan.diff.as_bytes());
}

/// The report of one run, kept in `.runs/<RUN>/run.json`.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[schemars(title = "warden run artifact")]
pub struct RunArtifact {
    pub schema: String,
    pub plan: plan::PlanReport,
    pub entry: Entry,
}
