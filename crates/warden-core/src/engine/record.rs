//! Recorded runs: ledger a run that changed no working-tree file, with its
//! artifacts in `.runs/<RUN>/`.

use super::*;

fn check_record(record: &Record) -> Result<()> {
    if record.run.is_empty() || record.command.is_empty() {
        return Err(Error::Internal(
            "record needs a run id and a command".into(),
        ));
    }
    for (name, _) in &record.artifacts {
        let plain = !name.is_empty()
            && name != "run.json"
            && !name.starts_with('.')
            && !name.contains(['/', '\\']);
        if !plain {
            return Err(Error::Internal(format!(
                "artifact name {name:?} must be a plain file name other than run.json"
            )));
        }
    }
    Ok(())
}

/// A run to ledger that changed no working-tree file; see [`Session::record`].
#[derive(Debug, Clone)]
pub struct Record {
    /// From [`Session::new_run_id`].
    pub run: String,
    /// What ran, e.g. "sync audit" or "plugin enable".
    pub command: String,
    pub actor: Source,
    pub event: String,
    /// sha256 of what the run was asked to do (its canonical input).
    pub input_digest: Digest,
    pub rationale: Option<String>,
    /// Command-specific facts, stored in the ledger entry.
    pub details: Option<serde_json::Value>,
    /// Extra files for `.runs/<RUN>/` (plain names; `run.json` is written by the engine).
    pub artifacts: Vec<(String, Vec<u8>)>,
}

/// `.runs/<RUN>/run.json` of a recorded run.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[schemars(title = "warden recorded run")]
pub struct RecordArtifact {
    pub schema: String,
    pub entry: Entry,
}

impl Session<'_> {
    /// Ledger a run that changed no working-tree file (result `recorded`) and
    /// write its artifacts to `.runs/<RUN>/`. The ledger append is durable
    /// before this returns; artifacts are written after it, like a run's report.
    pub fn record(&mut self, record: Record) -> Result<Entry> {
        check_record(&record)?;
        let entry = self.record_entry(&record)?;
        let entry = self.repo.ledger().append(&self.repo.writer, entry)?;
        self.write_record_artifacts(&record, &entry);
        Ok(entry)
    }

    fn record_entry(&self, record: &Record) -> Result<Entry> {
        let (details, details_file) = self.keep_details(&record.run, record.details.as_ref())?;
        Ok(Entry {
            schema: LEDGER_SCHEMA_ID.into(),
            seq: 0,
            prev: Digest([0; 32]),
            writer: self.repo.writer.clone(),
            run: record.run.clone(),
            time: self.now(),
            command: record.command.clone(),
            actor: record.actor.clone(),
            event: record.event.clone(),
            policy: self.repo.policy.reference(),
            input_digest: record.input_digest,
            before_digest: Digest::of(b""),
            after_digest: Digest::of(b""),
            actions: Vec::new(),
            changes: Vec::new(),
            changes_file: None,
            counts: Default::default(),
            result: RunResult::Recorded,
            reason: None,
            rolled_back_by: None,
            rationale: record.rationale.clone(),
            undoes: None,
            rollback: None,
            details,
            details_file,
        })
    }

    /// Best effort, after the ledger append, like a run's report.
    fn write_record_artifacts(&self, record: &Record, entry: &Entry) {
        let run_dir = self.repo.layout.run_dir(&record.run);
        if std::fs::create_dir_all(&run_dir).is_ok() {
            let report = RecordArtifact {
                schema: "warden.record/v1".into(),
                entry: entry.clone(),
            };
            if let Ok(bytes) = serde_json::to_vec_pretty(&report) {
                let _ = std::fs::write(run_dir.join("run.json"), bytes);
            }
            for (name, bytes) in &record.artifacts {
                let _ = std::fs::write(run_dir.join(name), bytes);
            }
        }
    }

    /// Ledger several runs that change no working-tree file, like
    /// [`Session::record`] each, with one ledger write and one fsync for all
    /// of them (group commit). Returns the entries in order.
    ///
    /// Unlike [`Session::record`], a record without artifacts gets no
    /// `.runs/<RUN>/` directory: its `run.json` would only copy the ledger
    /// line, and two inodes per run are what a batch of thousands of
    /// recorded runs costs most on some filesystems. Records with artifacts
    /// get their directory, with `run.json`, as usual.
    pub fn record_many(&mut self, records: Vec<Record>) -> Result<Vec<Entry>> {
        let mut entries = Vec::with_capacity(records.len());
        for record in &records {
            check_record(record)?;
            entries.push(self.record_entry(record)?);
        }
        let entries = self.repo.ledger().append_many(&self.repo.writer, entries)?;
        for (record, entry) in records.iter().zip(&entries) {
            if !record.artifacts.is_empty() {
                self.write_record_artifacts(record, entry);
            }
        }
        Ok(entries)
    }
}
