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
        let ledger = self.repo.ledger();
        let entry = ledger.require_run(run)?;
        let id = entry.run.clone();
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
            RunResult::Recorded => {
                return Err(Error::rejected(
                    "(command line)",
                    "RUN",
                    format!(
                        "run {id} ({}) is a recorded run: it changed no working-tree file, so there is nothing to undo",
                        entry.command
                    ),
                    Some(
                        "`warden ledger show RUN` says what it did; what it changed outside the working tree (git refs a sync run made) is undone with git"
                            .into(),
                    ),
                ));
            }
        }
        if let Some(by) = self.undone_by(&entry)? {
            return Err(Error::rejected(
                "(command line)",
                "RUN",
                format!("run {id} was already undone by run {}", by.run),
                Some(format!("`warden undo {}` restores what {id} did", by.run)),
            ));
        }
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
        let frame = self.journal.read_frame(handle.frame)?;
        let FrameHeader::Intent(intent) = &frame.header else {
            return Err(Error::Corrupt {
                path: self.journal.path().to_path_buf(),
                message: format!("run {id}: rollback handle is not an intent"),
            });
        };
        let new_run = self.ctx.ids.run_id().to_string();
        let root = self.root();
        let mut ov = plan::Overlay::new(root, "(undo)");
        let mut drifted = Vec::new();
        let mut actions = Vec::new();
        let mut quarantined = Vec::new();
        for t in &intent.transitions {
            let cur = ov.get(&t.path, t.path.as_str())?;
            if !cur.matches(&t.after) {
                drifted.push(format!(
                    "{} (now {}, run left {})",
                    t.path,
                    cur.digest()
                        .map_or("absent".into(), |d| format!("sha256 {}", d.short())),
                    t.after
                        .digest()
                        .map_or("absent".into(), |d| format!("sha256 {}", d.short()))
                ));
                if force && let FileState::File { .. } = cur {
                    let keep = plan::lane_copy(&new_run, &t.path);
                    ov.set(&keep, "(undo)", cur.clone())?;
                    quarantined.push(serde_json::json!({"path": t.path.as_str(), "stored": keep.as_str(), "reason": format!("changed after run {id}; set aside by `warden undo --force`"), "sha256": cur.digest()}));
                    actions.push(crate::ledger::ActionSummary {
                        kind: "quarantine".into(),
                        path: t.path.to_string(),
                        to: Some(keep.to_string()),
                        reason: Some("changed since the undone run".into()),
                    });
                }
            }
            let before = match &t.before {
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
            };
            actions.push(crate::ledger::ActionSummary {
                kind: "restore".into(),
                path: t.path.to_string(),
                to: None,
                reason: None,
            });
            ov.set(&t.path, t.path.as_str(), before)?;
        }
        if !drifted.is_empty() && !force {
            return Err(Error::rejected(
                "(working tree)",
                "RUN",
                format!("{} path(s) changed since run {id}: {}", drifted.len(), drifted.join("; ")),
                Some("undo refuses to overwrite newer work; `warden undo --force` moves the current versions to .quarantine/ first".into()),
            ));
        }
        if !quarantined.is_empty() {
            let body = plan::lane_index_body(&new_run, quarantined)?;
            ov.set(
                &plan::lane_index(&new_run),
                "(undo)",
                FileState::file(body, 0o644),
            )?;
        }
        let changes: Vec<Change> = ov.changes();
        let mut plan = plan::build(
            &new_run,
            plan::RunCommand::Undo,
            actor,
            "RollbackTriggered",
            Digest::of(id.as_bytes()),
            actions,
            changes,
            Some(id.clone()),
        );
        plan.rationale = Some(format!("undo of run {id}"));
        // Directories come back as they were before the undone run: those it
        // found exist again with their modes, those it created go when empty.
        plan.dirs = intent.dirs.clone();
        if plan.changes.is_empty() {
            plan.noop = Some(Noop::NothingToChange);
        }
        Ok(plan)
    }
}
