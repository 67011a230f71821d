//! What `warden apply` and `warden undo` say once the run is applied. The
//! JSON of both is the run's ledger entry (`warden.ledger/v1`).

use crate::ledger::{Entry, RunResult};
use crate::report::Report;
use serde::Serialize;

/// `warden apply`: the applied run and how to undo it.
#[derive(Debug, Clone, Copy)]
pub struct Applied<'a>(pub &'a Entry);

impl Serialize for Applied<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Report for Applied<'_> {
    const SCHEMA: &'static str = "ledger";

    fn human(&self) -> String {
        let e = self.0;
        match e.result {
            RunResult::Applied => format!(
                "applied run {} ({} file(s)); ledger entry {} of chain {}; undo with `warden undo {}`\n",
                e.run, e.counts.files, e.seq, e.writer, e.run
            ),
            RunResult::RolledBack | RunResult::Recorded => String::new(),
        }
    }
}

/// `warden undo`: which run was undone, by which new run.
#[derive(Debug, Clone, Copy)]
pub struct Undone<'a> {
    /// The run that was undone (`None` prints "?", as for a plan that names none).
    pub undid: Option<&'a str>,
    pub entry: &'a Entry,
}

impl Serialize for Undone<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.entry.serialize(s)
    }
}

impl Report for Undone<'_> {
    const SCHEMA: &'static str = "ledger";

    fn human(&self) -> String {
        format!(
            "undid run {} as run {}; `warden undo {}` would redo it\n",
            self.undid.unwrap_or("?"),
            self.entry.run,
            self.entry.run
        )
    }
}
