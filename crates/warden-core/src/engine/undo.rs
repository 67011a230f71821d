//! Undo: plan the restore of a run's before-state from its intent frame and
//! the content store.

use super::*;

impl Session<'_> {
    /// The applied undo of `entry`'s run, if any. Only `entry`'s writer can
    /// undo it (the rollback handle lives in that clone's journal), and only
    /// after it: so only that chain's entries after it are read, backwards.
    fn undone_by(&self, entry: &Entry) -> Result<Option<Entry>> {
        let ledger = self.repo.ledger();
        let path = ledger.chain_path(&entry.writer);
        let needle = format!("\"undoes\":\"{}\"", entry.run);
        let mut by = None;
        ledger.scan_back(&entry.writer, &mut |line| {
            if crate::ledger::parse_link(line).and_then(|l| l.run) == Some(entry.run.as_str()) {
                return Ok(true);
            }
            if !contains(line, needle.as_bytes()) {
                return Ok(false);
            }
            let e = crate::ledger_index::parse_entry(&path, line)?;
            if e.undoes.as_deref() == Some(entry.run.as_str()) && e.result == RunResult::Applied {
                by = Some(e);
                return Ok(true);
            }
            Ok(false)
        })?;
        Ok(by)
    }

    /// Plan the undo of `run`: restore its before-state, byte for byte and mode
    /// for mode. Refuses when its paths changed since, unless `force`, which
    /// first moves the current versions to the quarantine lane.
    pub fn plan_undo(&self, run: &str, force: bool, actor: Source) -> Result<Plan> {
        let entry = self.repo.ledger().require_run(run)?;
        self.refuse_unless_undoable(&entry)?;
        let frame = self.rollback_frame(&entry)?;
        let id = entry.run;
        let FrameHeader::Intent(intent) = &frame.header else {
            return Err(Error::Corrupt {
                path: self.journal.path().to_path_buf(),
                message: format!("run {id}: rollback handle is not an intent"),
            });
        };
        let mut restore = Restore {
            overlay: plan::Overlay::new(self.root(), "(undo)"),
            new_run: self.ctx.ids.run_id().to_string(),
            undone: &id,
            force,
            drifted: Vec::new(),
            actions: Vec::new(),
            quarantined: Vec::new(),
        };
        self.trust_written(&frame, &id, &mut restore.overlay)?;
        for t in &intent.transitions {
            refuse_link_on_path(self.root(), &id, &t.path)?;
            restore.set_aside_if_drifted(t)?;
            let before = self.before_state(&frame, &id, t)?;
            restore.put_back(t, before)?;
        }
        restore.refuse_drift()?;
        let (new_run, actions, changes) = restore.finish()?;
        let header = plan::PlanHeader {
            run: &new_run,
            command: plan::RunCommand::Undo,
            source: actor,
            event: "RollbackTriggered",
            input_digest: Digest::of(id.as_bytes()),
            undoes: Some(id.clone()),
        };
        let mut plan = plan::build(header, actions, changes);
        plan.rationale = Some(format!("undo of run {id}"));
        // Directories come back as they were before the undone run: those it
        // found exist again with their modes, those it created go when empty.
        plan.dirs = intent.dirs.clone();
        if plan.changes.is_empty() {
            plan.noop = Some(Noop::NothingToChange);
        }
        Ok(plan)
    }

    /// Why a recorded run cannot be undone: the engine wrote nothing for
    /// it, so it holds no before-state. What the run did say (its
    /// details): a file it replaced outside the engine, with the place its
    /// previous content is kept (`previous.kept_at`), is named with the way
    /// back.
    fn recorded_refusal(&self, entry: &Entry) -> Error {
        let details = entry.load_details(self.root()).ok().flatten();
        let d = details.as_ref();
        // A file written outside the engine: its path and new sha256.
        let file = d
            .filter(|d| d.get("sha256").is_some_and(|v| v.is_string()))
            .and_then(|d| d.get("file"))
            .and_then(|v| v.as_str());
        let kept = d
            .and_then(|d| d.pointer("/previous/kept_at"))
            .and_then(|v| v.as_str());
        let (what, hint) = match (file, kept) {
            (Some(f), Some(k)) => (
                format!("it replaced {f} outside the engine; the previous file is kept at {k}"),
                format!("`cp {k} {f}` restores it"),
            ),
            (Some(f), None) => (
                format!("it wrote {f} outside the engine (warden's own area), keeping no previous content"),
                "`git checkout -- FILE` restores a committed version; `warden ledger show RUN` says what it did".into(),
            ),
            _ => (
                "the engine wrote nothing for it, so it holds no before-state".into(),
                "`warden ledger show RUN` says what it did; what it changed outside the working tree (git refs a sync run made) is undone with git".into(),
            ),
        };
        Error::rejected(
            "(command line)",
            "RUN",
            format!(
                "run {} ({}) is a recorded run, which `warden undo` cannot undo: {what}",
                entry.run, entry.command
            ),
            Some(hint),
        )
    }

    /// Only an applied run that no later run undid can be undone.
    fn refuse_unless_undoable(&self, entry: &Entry) -> Result<()> {
        let id = &entry.run;
        match entry.result {
            RunResult::Applied => {}
            RunResult::RolledBack => {
                return Err(Error::rejected(
                    "(command line)",
                    "RUN",
                    format!(
                        "run {id} did not apply (it was rolled back), so there is nothing to undo"
                    ),
                    None,
                ));
            }
            RunResult::Recorded => return Err(self.recorded_refusal(entry)),
        }
        if let Some(by) = self.undone_by(entry)? {
            return Err(Error::rejected(
                "(command line)",
                "RUN",
                format!("run {id} was already undone by run {}", by.run),
                Some(format!("`warden undo {}` restores what {id} did", by.run)),
            ));
        }
        Ok(())
    }

    /// The journal frame `entry`'s rollback handle points at; it lives in the
    /// journal of the clone that made the run, so only that clone can read it.
    fn rollback_frame(&self, entry: &Entry) -> Result<Frame> {
        let id = &entry.run;
        let handle = entry.rollback.clone().ok_or_else(|| {
            Error::rejected(
                "(command line)",
                "RUN",
                format!("run {id} has no rollback handle"),
                None,
            )
        })?;
        if handle.writer != self.repo.writer {
            return Err(Error::rejected(
                "(command line)",
                "RUN",
                format!(
                    "run {id} was made in another clone (writer {}); its before-state is kept there",
                    handle.writer
                ),
                Some(format!("run `warden undo {id}` in that clone")),
            ));
        }
        self.journal.read_frame(handle.frame)
    }

    /// The big files run `id` wrote that still have the stamps its done
    /// frame (the frame after its intent `frame`) recorded, and their mode:
    /// they hold what the run wrote, so the drift check takes them as that
    /// without hashing them again. Any other file is read as usual.
    fn trust_written(&self, frame: &Frame, id: &str, overlay: &mut plan::Overlay) -> Result<()> {
        let FrameHeader::Intent(intent) = &frame.header else {
            return Ok(());
        };
        let Some(done) = self.journal.frame_after(frame.at)? else {
            return Ok(());
        };
        let FrameHeader::Done { run, written, .. } = &done.header else {
            return Ok(());
        };
        if run != id {
            return Ok(());
        }
        for w in written {
            let Some(StateRecord::File { digest, mode, .. }) = intent
                .transitions
                .iter()
                .find(|t| t.path == w.path)
                .map(|t| &t.after)
            else {
                continue;
            };
            let at = w.path.to_fs(self.root());
            let holds = std::fs::symlink_metadata(&at).is_ok_and(|m| {
                m.is_file()
                    && crate::content::Stamp::of(&m) == w.stamp
                    && fsutil::mode_of(&m) == *mode
            });
            if holds {
                let content = Content::File {
                    path: at,
                    len: w.stamp.file_len(),
                    stamp: Some(w.stamp),
                };
                overlay.know(&w.path, FileState::with_content(content, *digest, *mode));
            }
        }
        Ok(())
    }

    /// The before-state of one transition of run `id`: its content is in the
    /// content store (big files, referenced, never read here) or in `frame`'s
    /// blob area.
    fn before_state(&self, frame: &Frame, id: &str, t: &TransitionRecord) -> Result<FileState> {
        Ok(match &t.before {
            StateRecord::Absent => FileState::Absent,
            StateRecord::File {
                mode,
                store: Some(name),
                digest,
                ..
            } => {
                // Referenced in the content store, never read here.
                let path = store_entry(&self.repo.layout.store_dir(), name)?;
                let len = std::fs::symlink_metadata(&path)
                    .map_err(|e| Error::Corrupt {
                        path: path.clone(),
                        message: format!(
                            "run {id}: the kept content of {} is missing ({e})",
                            t.path
                        ),
                    })?
                    .len();
                FileState::with_content(
                    Content::File {
                        path,
                        len,
                        stamp: None,
                    },
                    *digest,
                    *mode,
                )
            }
            StateRecord::File { mode, blob, .. } => {
                let blob = blob.ok_or_else(|| Error::Corrupt {
                    path: self.journal.path().to_path_buf(),
                    message: format!("run {id}: no content for {}", t.path),
                })?;
                FileState::file(frame.blob(blob)?.to_vec(), *mode)
            }
        })
    }
}

/// The undo being planned: the overlay of the working tree it rewrites, and
/// what it found changed since the undone run and what it set aside.
struct Restore<'a> {
    overlay: plan::Overlay<'a>,
    /// The undo's own run id (names its quarantine lane).
    new_run: String,
    /// The run being undone.
    undone: &'a str,
    force: bool,
    drifted: Vec<String>,
    actions: Vec<crate::ledger::ActionSummary>,
    quarantined: Vec<serde_json::Value>,
}

impl Restore<'_> {
    /// Notes a path changed since the undone run left it; with `force`, a file
    /// there is first copied to the undo's quarantine lane.
    fn set_aside_if_drifted(&mut self, t: &TransitionRecord) -> Result<()> {
        let cur = self.overlay.get(&t.path, t.path.as_str())?;
        if cur.matches(&t.after) {
            return Ok(());
        }
        self.drifted.push(format!(
            "{} (now {}, run left {})",
            t.path,
            cur.digest()
                .map_or("absent".into(), |d| format!("sha256 {}", d.short())),
            t.after
                .digest()
                .map_or("absent".into(), |d| format!("sha256 {}", d.short()))
        ));
        if self.force
            && let FileState::File { .. } = cur
        {
            let id = self.undone;
            let keep = plan::lane_copy(&self.new_run, &t.path);
            self.overlay.set(&keep, "(undo)", cur.clone())?;
            self.quarantined.push(serde_json::json!({"path": t.path.as_str(), "stored": keep.as_str(), "reason": format!("changed after run {id}; set aside by `warden undo --force`"), "sha256": cur.digest()}));
            self.actions.push(crate::ledger::ActionSummary {
                kind: "quarantine".into(),
                path: t.path.to_string(),
                to: Some(keep.to_string()),
                reason: Some("changed since the undone run".into()),
            });
        }
        Ok(())
    }

    /// Puts `before` back at the transition's path.
    fn put_back(&mut self, t: &TransitionRecord, before: FileState) -> Result<()> {
        self.actions.push(crate::ledger::ActionSummary {
            kind: "restore".into(),
            path: t.path.to_string(),
            to: None,
            reason: None,
        });
        self.overlay.set(&t.path, t.path.as_str(), before)
    }

    /// Without `force`, undo refuses to overwrite anything changed since.
    fn refuse_drift(&self) -> Result<()> {
        if self.drifted.is_empty() || self.force {
            return Ok(());
        }
        Err(Error::rejected(
            "(working tree)",
            "RUN",
            format!(
                "{} path(s) changed since run {}: {}",
                self.drifted.len(),
                self.undone,
                self.drifted.join("; ")
            ),
            Some("undo refuses to overwrite newer work; `warden undo --force` moves the current versions to .quarantine/ first".into()),
        ))
    }

    /// Writes the lane's index when anything was set aside; the undo's run
    /// id, actions and changes.
    fn finish(mut self) -> Result<(String, Vec<crate::ledger::ActionSummary>, Vec<Change>)> {
        if !self.quarantined.is_empty() {
            let body = plan::lane_index_body(&self.new_run, self.quarantined)?;
            self.overlay.set(
                &plan::lane_index(&self.new_run),
                "(undo)",
                FileState::file(body, 0o644),
            )?;
        }
        let changes = self.overlay.changes();
        Ok((self.new_run, self.actions, changes))
    }
}

/// A path of the undone run, or one of its folders, that is now a symbolic
/// link: undo never writes through one, and says which and what to do
/// (`--force` does not help: it only sets changed files aside).
fn refuse_link_on_path(root: &Path, run: &str, path: &RepoPath) -> Result<()> {
    let Some((link, target)) = path.first_symlink(root) else {
        return Ok(());
    };
    let shown = crate::text::shown(link.as_str());
    let to = crate::text::shown(&target.to_string_lossy()).to_string();
    let (what, fix) = if &link == path {
        (
            "it is now a symbolic link".to_string(),
            format!("move the link {shown} out of the way"),
        )
    } else {
        (
            format!("its folder {shown} is now a symbolic link"),
            format!(
                "put the folder back: replace the link {shown} with the directory itself (what it points at, once checked)"
            ),
        )
    };
    Err(Error::invalid(
        "(working tree)",
        path.as_str(),
        format!("run {run} changed {path}, but {what} (to {to}); undo writes only in the repository's own folders, never through a link"),
        Some(format!("{fix}, then run `warden undo {run}` again; --force does not help here")),
    )
    .refusing(crate::error::Refusal::UnsafePath))
}
