//! Recovery and rollback: finish or undo an interrupted run from its intent
//! frame (G5), and restore a failed run at once.

use super::*;

/// The rollback temp name of journals written before temp names were short
/// (`.<name>.warden-<RUN>-restore.tmp`), when it can exist at all: a crash in
/// such a rollback may have left one behind.
fn old_restore_temp(path: &RepoPath, run: &str) -> Option<RepoPath> {
    let name = format!(".{}.warden-{run}-restore.tmp", path.file_name());
    (name.len() <= crate::paths::NAME_MAX).then(|| match path.parent() {
        Some(p) => RepoPath::from_trusted(format!("{p}/{name}")),
        None => RepoPath::from_trusted(name),
    })
}

/// The error that stops every writer while an interrupted run cannot be
/// rolled back: what blocks it, where, and the command that resolves it.
fn blocked(run: &str, path: &RepoPath, cause: Error) -> Error {
    if matches!(
        cause,
        Error::RecoveryBlocked { .. } | Error::Injected(_) | Error::Corrupt { .. }
    ) {
        return cause;
    }
    Error::RecoveryBlocked {
        run: run.to_string(),
        path: path.to_string(),
        problem: cause.to_string(),
        fix: format!(
            "move \"{path}\" out of the way (e.g. `mv -- '{path}' '{path}.blocked'`) or fix the cause, then run `warden status`, which finishes the recovery"
        ),
    }
}

impl Session<'_> {
    /// Restore every path of an intent to its before-state, and the
    /// directories above them to theirs. Paths found in neither state are
    /// preserved in the quarantine lane first (G1). An obstacle it cannot
    /// remove safely (a directory or a special file where a file must go
    /// back, an I/O error) is an [`Error::RecoveryBlocked`] naming the path.
    pub(super) fn roll_back(&self, frame: &Frame, intent: &Intent) -> Result<Vec<String>> {
        let root = self.root().to_path_buf();
        let run = intent.run.as_str();
        let mut dirs = BTreeSet::new();
        let mut preserved = Vec::new();
        let created_dir =
            |p: &RepoPath| intent.dirs.iter().any(|d| d.path == *p && d.mode.is_none());
        // Deepest first, so a directory this run created is emptied before
        // the path it stands on is restored.
        let mut order: Vec<(usize, &TransitionRecord)> =
            intent.transitions.iter().enumerate().collect();
        order.sort_by_key(|(_, t)| std::cmp::Reverse(t.path.as_str().matches('/').count()));
        for (n, t) in order {
            let leftovers = [
                t.temp.clone(),
                Some(temp_for(&t.path, run, "r", n)),
                old_restore_temp(&t.path, run),
            ];
            for temp in leftovers.iter().flatten() {
                // Only a file (or a link) under that name can be ours; a
                // directory there is someone else's and stays.
                if std::fs::symlink_metadata(temp.to_fs(&root)).is_ok_and(|m| m.is_dir()) {
                    continue;
                }
                match std::fs::remove_file(temp.to_fs(&root)) {
                    Ok(()) => {
                        dirs.insert(parent_dir(&root, temp));
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                        ) => {}
                    Err(source) => {
                        let path = temp.to_fs(&root);
                        let e = Error::Io {
                            op: "remove",
                            path,
                            source,
                        };
                        return Err(blocked(run, temp, e));
                    }
                }
            }
            let fs = t.path.to_fs(&root);
            if created_dir(&t.path) && std::fs::symlink_metadata(&fs).is_ok_and(|m| m.is_dir()) {
                let _ = std::fs::remove_dir(&fs);
            }
            self.restore_one(frame, intent, n, t, &mut dirs, &mut preserved)
                .map_err(|e| blocked(run, &t.path, e))?;
        }
        for t in intent
            .transitions
            .iter()
            .filter(|t| t.before == StateRecord::Absent)
        {
            let parent = parent_dir(&root, &t.path);
            fsutil::remove_empty_dirs(&parent, &root);
            if !parent.exists()
                && let Some(up) = parent.parent()
            {
                dirs.insert(up.to_path_buf());
            }
        }
        settle_dirs(&root, &intent.dirs, &[], &mut dirs).map_err(|b| blocked(run, &b.0, b.1))?;
        for d in &dirs {
            if d.exists() {
                fsutil::sync_dir(d)?;
            }
        }
        // Every path is back, durably: a rolled-back run is never undone, so
        // its content store entries have served.
        crate::store::remove_run(&self.repo.layout.store_dir(), run);
        Ok(preserved)
    }

    /// Put one path of a rolled-back run back into its before-state.
    fn restore_one(
        &self,
        frame: &Frame,
        intent: &Intent,
        n: usize,
        t: &TransitionRecord,
        dirs: &mut BTreeSet<PathBuf>,
        preserved: &mut Vec<String>,
    ) -> Result<()> {
        let root = self.root();
        t.path.check_on_disk(root, "(journal)", t.path.as_str())?;
        let cur = FileState::read(root, &t.path)?;
        if cur.matches(&t.before) {
            return Ok(());
        }
        let mut gone = cur == FileState::Absent;
        if !cur.matches(&t.after) && !gone {
            // Someone else's version: it moves (no copy, whatever its size)
            // to the quarantine lane, durably, before anything replaces it.
            let keep = RepoPath::from_trusted(format!(
                "{QUARANTINE_DIR}/{}-recovered/{}",
                intent.run, t.path
            ));
            create_parents(root, &keep, dirs)?;
            let kp = keep.to_fs(root);
            std::fs::rename(t.path.to_fs(root), &kp).io("rename into", &kp)?;
            fsutil::sync_dir(&parent_dir(root, &keep))?;
            preserved.push(keep.to_string());
            gone = true;
        }
        match &t.before {
            StateRecord::Absent => {
                if !gone {
                    std::fs::remove_file(t.path.to_fs(root)).io("remove", t.path.to_fs(root))?;
                }
            }
            StateRecord::File {
                mode,
                blob,
                store,
                digest,
            } => {
                create_parents(root, &t.path, dirs)?;
                let tp = temp_for(&t.path, &intent.run, "r", n).to_fs(root);
                let _ = std::fs::remove_file(&tp);
                match (store, blob) {
                    (Some(name), _) => {
                        // Linked back from the content store, not copied.
                        let from = store_entry(&self.repo.layout.store_dir(), name)?;
                        let len = std::fs::symlink_metadata(&from).io("inspect", &from)?.len();
                        crate::content::link_or_copy(&from, &tp, *digest, len)?;
                        fsutil::set_mode(&tp, *mode)?;
                    }
                    (None, Some(blob)) => {
                        fsutil::write_new_synced(&tp, frame.blob(*blob)?, *mode, true)?;
                    }
                    (None, None) => {
                        return Err(Error::Corrupt {
                            path: self.journal.path().to_path_buf(),
                            message: format!(
                                "run {}: no content recorded for {}",
                                intent.run, t.path
                            ),
                        });
                    }
                }
                std::fs::rename(&tp, t.path.to_fs(root)).io("rename into", t.path.to_fs(root))?;
            }
        }
        dirs.insert(parent_dir(root, &t.path));
        Ok(())
    }

    /// No run writes a protected area (`.git/`, `.ledger/`, `.warden/`,
    /// `.runs/`: the policy gate refuses every such path), so an intent that
    /// names one was not written by warden: something else appended to the
    /// journal (a plugin run without the file system sandbox could), and
    /// acting on it would write what it says, a git hook for instance.
    fn check_intent_paths(&self, intent: &Intent) -> Result<()> {
        let named = intent
            .transitions
            .iter()
            .map(|t| &t.path)
            .chain(intent.dirs.iter().map(|d| &d.path));
        for path in named {
            if let Some(area) = path.protected_area() {
                return Err(Error::Corrupt {
                    path: self.journal.path().to_path_buf(),
                    message: format!(
                        "run {}: the interrupted run it records would write \"{path}\" inside {area}/, which no run ever writes, so warden did not write it; nothing was done. Move the journal aside (`mv {j} {j}.suspect`), check the repository, then run `warden status`",
                        intent.run,
                        j = self.journal.path().display()
                    ),
                });
            }
        }
        Ok(())
    }

    /// Finish or undo an interrupted run (G5).
    pub(super) fn recover(&mut self) -> Result<Vec<Recovered>> {
        let ledger = self.repo.ledger();
        ledger.cut_torn_tail(&self.repo.writer)?;
        let frame = match self.journal.tail()? {
            Tail::Empty => return Ok(Vec::new()),
            Tail::Torn => {
                // The intent never became durable, so no file was touched.
                self.journal.cut_torn_tail()?;
                match self.journal.tail()? {
                    Tail::Frame(f) => f,
                    _ => return Ok(Vec::new()),
                }
            }
            Tail::Frame(f) => f,
        };
        let FrameHeader::Intent(intent) = &frame.header else {
            return Ok(Vec::new());
        };
        self.check_intent_paths(intent)?;
        let tip = ledger
            .tip(&self.repo.writer)?
            .map(|(e, _)| e)
            .filter(|e| e.run == intent.run);
        let (outcome, preserved, result) = if let Some(committed) = tip {
            // Committed (applied, or rolled back by its validation): only the
            // done frame is missing.
            self.release_undone(&committed);
            (RecoveryOutcome::Completed, Vec::new(), committed.result)
        } else {
            let preserved = self.roll_back(&frame, intent)?;
            let mut entry: Entry =
                serde_json::from_value(intent.meta.clone()).map_err(|e| Error::Corrupt {
                    path: self.journal.path().to_path_buf(),
                    message: format!("run {}: unreadable intent: {e}", intent.run),
                })?;
            entry.result = RunResult::RolledBack;
            entry.rolled_back_by = Some(RollbackCause::Interrupted);
            entry.reason = Some(format!(
                "interrupted before it committed; rolled back by recovery at {}{}",
                self.now(),
                if preserved.is_empty() {
                    String::new()
                } else {
                    format!("; preserved {}", preserved.join(", "))
                }
            ));
            entry.rollback = Some(self.handle(frame.at));
            ledger.append(&self.repo.writer, entry)?;
            (
                RecoveryOutcome::RolledBack,
                preserved,
                RunResult::RolledBack,
            )
        };
        let done = FrameHeader::Done {
            run: intent.run.clone(),
            result: result_name(result).into(),
            written: Vec::new(),
        };
        self.journal.append(&journal::encode(&done, &[])?, true)?;
        Ok(vec![Recovered {
            run: intent.run.clone(),
            outcome,
            preserved,
        }])
    }
}
