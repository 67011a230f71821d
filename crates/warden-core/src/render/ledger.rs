//! `warden ledger show RUN`, `verify`, `reindex` and `accept` for a person.

use crate::ledger::{Entry, Problem, VerifyReport};
use crate::ledger_index::ReindexReport;
use crate::report::{Report, tag};
use crate::text::shown;
use schemars::JsonSchema;
use serde::Serialize;
use std::fmt::Write;

/// One run's ledger entry, field by field (`ledger show`); the JSON is the
/// entry itself.
#[derive(Debug, Clone, Copy)]
pub struct EntryView<'a>(pub &'a Entry);

impl Serialize for EntryView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Report for EntryView<'_> {
    const SCHEMA: &'static str = "ledger";

    fn human(&self) -> String {
        let e = self.0;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "run {} — {} {} by {}:{}",
            e.run,
            e.command,
            shown(&e.event),
            shown(&e.actor.kind),
            shown(&e.actor.id)
        );
        let _ = writeln!(o, "  time       {}", e.time);
        let _ = writeln!(
            o,
            "  result     {:?}{}",
            e.result,
            e.reason
                .as_ref()
                .map(|r| format!(" ({})", shown(r)))
                .unwrap_or_default()
        );
        let _ = writeln!(
            o,
            "  ledger     {} entry {} (prev {})",
            e.writer,
            e.seq,
            e.prev.short()
        );
        let _ = writeln!(
            o,
            "  policy     {} sha256 {}",
            e.policy.version,
            e.policy.digest.short()
        );
        let _ = writeln!(o, "  input      sha256 {}", e.input_digest.short());
        let _ = writeln!(o, "  before     sha256 {}", e.before_digest.short());
        let _ = writeln!(o, "  after      sha256 {}", e.after_digest.short());
        if let Some(r) = &e.rationale {
            let _ = writeln!(o, "  rationale  {}", shown(r));
        }
        if let Some(h) = &e.rollback {
            let _ = writeln!(
                o,
                "  rollback   {} of {} at offset {} ({} bytes, sha256 {})",
                h.store,
                h.writer,
                h.frame.offset,
                h.frame.len,
                h.frame.digest.short()
            );
        }
        let _ = writeln!(o, "  changes:");
        for c in &e.changes {
            let s = |d: &Option<crate::Digest>| d.map_or("absent".to_string(), |d| d.short());
            let _ = writeln!(
                o,
                "    {}  {} -> {}",
                shown(&c.path),
                s(&c.before),
                s(&c.after)
            );
        }
        o
    }
}

impl Report for VerifyReport {
    const SCHEMA: &'static str = "ledger-verify";

    /// "ledger ok: …" when every chain verifies; otherwise the first bad
    /// entry and the way out, as an error (the CLI prints it on stderr and
    /// exits 1).
    fn human(&self) -> String {
        match &self.problem {
            None if !self.run_files.mismatched.is_empty() => format!(
                "error: {} do{} not match the sha256 {} ledger entr{} record{}\nhint: a run file in .runs/ was changed outside warden; the ledger itself verifies ({} entries)\n",
                self.run_files.mismatched.join(", "),
                if self.run_files.mismatched.len() == 1 {
                    "es"
                } else {
                    ""
                },
                if self.run_files.mismatched.len() == 1 {
                    "its"
                } else {
                    "their"
                },
                if self.run_files.mismatched.len() == 1 {
                    "y"
                } else {
                    "ies"
                },
                if self.run_files.mismatched.len() == 1 {
                    "s"
                } else {
                    ""
                },
                self.entries
            ),
            None => {
                let mut out = format!(
                    "ledger ok: {} entries in {} chain(s), {} bytes\n",
                    self.entries,
                    self.chains.len(),
                    self.bytes
                );
                if self.run_files.checked > 0 {
                    out.push_str(&format!(
                        "run files: {} match their digests\n",
                        self.run_files.checked
                    ));
                }
                if !self.run_files.absent.is_empty() {
                    out.push_str(&format!(
                        "run files not in this clone (kept in their writer's clone, not checked): {}\n",
                        self.run_files.absent.join(", ")
                    ));
                }
                out
            }
            Some(p) => {
                let run = p
                    .run
                    .as_ref()
                    .map(|r| format!(" (run {r})"))
                    .unwrap_or_default();
                format!(
                    "error: {}: entry {}{} {}\nhint: the ledger was changed outside warden; restore it from git (`git checkout HEAD -- {0}`; `git log -p -- {0}`); writers refuse until it verifies (a lost tip can be accepted with `warden ledger accept --reason \"…\"`, which is ledgered)\n",
                    p.file, p.line, run, p.message
                )
            }
        }
    }
}

impl Report for ReindexReport {
    const SCHEMA: &'static str = "ledger-reindex";

    /// What was indexed; with a chain problem, the entry and what the index
    /// covers, as an error (the CLI prints it on stderr and exits 1).
    fn human(&self) -> String {
        match &self.problem {
            None => format!(
                "ledger index rebuilt: {} entries in {} chain(s) ({})\n",
                self.entries,
                self.chains.len(),
                self.index
            ),
            Some(p) => format!(
                "error: {}: entry {} {}; the index covers the {} entries before it\nhint: `warden ledger verify` checks every chain\n",
                p.file, p.line, p.message, self.entries
            ),
        }
    }
}

/// `warden ledger accept --reason TEXT` (`warden.ledger-accept/v1`): what was
/// accepted, and the recorded run that says so.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden ledger accept")]
pub struct Accepted {
    /// Always "warden.ledger-accept/v1".
    pub schema: String,
    /// The problems writers refused on, now accepted (empty: nothing was
    /// refused, the heads were only re-recorded).
    pub accepted: Vec<Problem>,
    /// The recorded run of the acceptance; absent on a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The chain and entry it was recorded as; absent on a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// True on `--dry-run`: what would be accepted; nothing was written.
    pub dry_run: bool,
}

impl Accepted {
    pub fn new(accepted: Vec<Problem>, entry: &Entry) -> Self {
        Accepted {
            schema: tag(Self::SCHEMA),
            accepted,
            run: Some(entry.run.clone()),
            writer: Some(entry.writer.clone()),
            seq: Some(entry.seq),
            dry_run: false,
        }
    }

    /// What a `--dry-run` would accept.
    pub fn dry_run(accepted: Vec<Problem>) -> Self {
        Accepted {
            schema: tag(Self::SCHEMA),
            accepted,
            run: None,
            writer: None,
            seq: None,
            dry_run: true,
        }
    }

    /// The accepted problems, one line each (`prefix` is "accepted" or
    /// "would accept").
    pub fn lines(&self, prefix: &str) -> String {
        let mut o = String::new();
        for p in &self.accepted {
            let at = if p.line > 0 {
                format!(" entry {}", p.line)
            } else {
                String::new()
            };
            let _ = writeln!(o, "{prefix}: {}{at}: {}", p.file, p.message);
        }
        o
    }
}

impl Report for Accepted {
    const SCHEMA: &'static str = "ledger-accept";

    fn human(&self) -> String {
        if self.dry_run {
            return self.lines("would accept") + "dry run: nothing was written\n";
        }
        let mut o = self.lines("accepted");
        let _ = writeln!(
            o,
            "recorded as run {} ({} entry {}); writers may go on",
            self.run.as_deref().unwrap_or("-"),
            self.writer.as_deref().unwrap_or("-"),
            self.seq.unwrap_or(0)
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{ChainReport, Problem};

    #[test]
    fn verify_says_ok_or_names_the_first_bad_entry_and_the_way_out() {
        let mut r = VerifyReport {
            schema: "warden.ledger-verify/v1".into(),
            ok: true,
            entries: 3,
            bytes: 100,
            chains: Vec::<ChainReport>::new(),
            problem: None,
            run_files: Default::default(),
        };
        assert_eq!(r.human(), "ledger ok: 3 entries in 0 chain(s), 100 bytes\n");
        r.ok = false;
        r.problem = Some(Problem {
            file: ".ledger/runs/w.jsonl".into(),
            writer: "w".into(),
            line: 2,
            run: Some("R".into()),
            message: "was edited".into(),
        });
        let text = r.human();
        assert!(
            text.starts_with("error: .ledger/runs/w.jsonl: entry 2 (run R) was edited\nhint: "),
            "{text}"
        );
        assert!(
            text.contains("`git checkout HEAD -- .ledger/runs/w.jsonl`"),
            "{text}"
        );
    }
}
