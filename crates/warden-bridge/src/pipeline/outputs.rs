//! The answer to each command of a batch: for an archived one its result,
//! integrity report, diff and archive copy; for a refused one its dead
//! letter; for each a line of `logs/bridge.log`. Written through the batch's
//! [`Writer`] (the document types are in [`crate::outputs`]).

use super::{Applied, Bridge, Done, Item, ItemOutcome, ItemReport};
use crate::command::{self, Command};
use crate::outputs::{
    ConstraintsOk, Counters, DeadLetterDoc, IntegrityDoc, LogLine, ResultDoc, Timings, Writer,
    pretty,
};
use crate::reason::{Reason, Rejection};
use crate::sign::KeySlot;
use crate::verify::Verdict;
use warden_core::Digest;

/// Why a command is dead-lettered, and what is known of it.
struct Refused {
    rej: Rejection,
    id: Option<String>,
    hmac_ok: bool,
}

impl Bridge<'_> {
    /// Write the outputs of one command; its report.
    pub(super) fn write_outputs(
        &mut self,
        item: &Item,
        applied: Option<Applied>,
        w: &mut Writer,
        log: &mut Vec<u8>,
    ) -> std::io::Result<ItemReport> {
        let refused = match (&item.verdict, applied) {
            (Verdict::Accept(a), Some(Applied::Done(done))) => {
                return self.write_archived(item, &a.cmd, a.slot, done, w, log);
            }
            (Verdict::Accept(a), Some(Applied::Failed(rej))) => Refused {
                rej,
                id: Some(a.cmd.id.clone()),
                hmac_ok: true,
            },
            (Verdict::Accept(a), None | Some(Applied::Deferred)) => Refused {
                rej: Rejection::new(Reason::ApplyFailed, "internal: the command was not applied"),
                id: Some(a.cmd.id.clone()),
                hmac_ok: true,
            },
            (Verdict::Reject { rej, id, hmac_ok }, _) => Refused {
                rej: rej.clone(),
                id: id.clone(),
                hmac_ok: *hmac_ok,
            },
        };
        self.write_dead_letter(item, refused, w, log)
    }

    /// Result, integrity report, diff, archive copy and log line.
    fn write_archived(
        &mut self,
        item: &Item,
        cmd: &Command,
        slot: KeySlot,
        done: Done,
        w: &mut Writer,
        log: &mut Vec<u8>,
    ) -> std::io::Result<ItemReport> {
        let now = self.ctx.clock.now().to_string();
        let duration_ms = item.started.elapsed().as_millis() as u64;
        let result = self.result_doc(item, cmd, slot, &done, &now, duration_ms);
        let Done {
            status,
            run,
            counts,
            diff,
            recovered,
            ..
        } = done;
        let id = cmd.id.clone();
        let result_bytes = pretty(&result);
        let integrity = IntegrityDoc {
            schema: "warden.bridge-integrity/v1",
            id: id.clone(),
            input_sha256: result.input_sha256.clone(),
            result_sha256: Digest::of(&result_bytes).to_string(),
            diff_sha256: Digest::of(diff.as_bytes()).to_string(),
            issued_at: cmd.issued_at_text.clone(),
            executed_at: now.clone(),
            duration_ms,
            files_changed: counts.files,
            constraints: cmd.constraints_json(),
            limits_ok: result.constraints_ok.max_files_changed
                && result.constraints_ok.max_runtime_ms,
            hmac_ok: true,
            exit_code: 0,
            run: run.clone(),
        };
        w.put(&self.layout.diff(&id), diff.as_bytes())?;
        w.put(&self.layout.result(&id), &result_bytes)?;
        w.put(&self.layout.integrity(&id), &pretty(&integrity))?;
        w.put_verified(
            item.fd.as_ref(),
            &self.layout.archive(&id),
            item.bytes.as_deref().unwrap_or_default(),
        )?;
        self.used.insert(id.clone());
        let line = LogLine {
            ts: now,
            id: id.clone(),
            action: cmd.action.clone(),
            result: status.clone(),
            exit: 0,
            files_changed: counts.files,
            hmac_ok: true,
            reason: None,
            run: Some(run.clone()),
        };
        log.extend(serde_json::to_vec(&line).unwrap_or_default());
        log.push(b'\n');
        Ok(ItemReport {
            file: item.file.clone(),
            id,
            outcome: ItemOutcome::Archived,
            status: Some(status),
            reason: None,
            detail: None,
            exit_code: 0,
            run: Some(run),
            recovered,
        })
    }

    /// `results/<id>.json`.
    fn result_doc(
        &self,
        item: &Item,
        cmd: &Command,
        slot: KeySlot,
        done: &Done,
        now: &str,
        duration_ms: u64,
    ) -> ResultDoc {
        ResultDoc {
            schema: "warden.bridge-result/v1",
            id: cmd.id.clone(),
            status: done.status.clone(),
            exit_code: 0,
            run: done.run.clone(),
            action: cmd.action.clone(),
            patch_type: match cmd.patch_type {
                command::PatchType::Hybrid => "hybrid",
                command::PatchType::Ops => "ops",
                command::PatchType::Unified => "unified",
            }
            .into(),
            ops: cmd
                .ops
                .iter()
                .map(|o| o.name().to_string())
                .chain(cmd.diff.as_ref().map(|_| "diff".to_string()))
                .collect(),
            timings: Timings {
                issued_at: cmd.issued_at_text.clone(),
                received_at: item.received_at.clone(),
                executed_at: now.to_string(),
                duration_ms,
            },
            counters: Counters {
                sizes_hidden: done.sizes_hidden,
                ..Counters::from(&done.counts)
            },
            constraints: cmd.constraints_json(),
            constraints_ok: ConstraintsOk {
                max_files_changed: done.counts.files <= cmd.max_files_changed,
                max_runtime_ms: duration_ms <= cmd.max_runtime_ms || done.recovered,
            },
            hmac_ok: true,
            secret: self.secrets.slot_name(slot),
            input_sha256: item.sha256.clone().unwrap_or_default(),
            diff: format!("diffs/{}.patch", cmd.id),
            paths: done.paths.clone(),
            recovered: done.recovered,
        }
    }

    /// The dead letter and its log line.
    fn write_dead_letter(
        &mut self,
        item: &Item,
        refused: Refused,
        w: &mut Writer,
        log: &mut Vec<u8>,
    ) -> std::io::Result<ItemReport> {
        let now = self.ctx.clock.now().to_string();
        let Refused { rej, id, hmac_ok } = refused;
        let (text, b64) = match &item.bytes {
            Some(b) => DeadLetterDoc::original_fields(b),
            None => (None, None),
        };
        let exit_code = exit_code_for(rej.reason);
        let doc = DeadLetterDoc {
            schema: "warden.bridge-dead-letter/v1",
            id: id.clone(),
            file: format!("commands/{}", item.file),
            reason: rej.reason,
            layer: rej.reason.layer(),
            field: rej.field.clone(),
            detail: rej.detail.clone(),
            hint: rej.hint.clone(),
            exit_code,
            hmac_ok,
            received_at: item.received_at.clone(),
            rejected_at: now.clone(),
            size: item.size,
            file_type: item.kind.as_str(),
            input_sha256: item.sha256.clone(),
            original_text: text,
            original_base64: b64,
            recovered: item.leftover,
        };
        w.put(&self.layout.dead_letter(&item.key), &pretty(&doc))?;
        self.dl_keys.insert(item.key.clone());
        if hmac_ok && let Some(id) = &id {
            self.used.insert(id.clone());
        }
        let line = LogLine {
            ts: now,
            id: id.clone().unwrap_or_else(|| item.key.clone()),
            action: match &item.verdict {
                Verdict::Accept(a) => a.cmd.action.clone(),
                Verdict::Reject { .. } => "-".into(),
            },
            result: "dead_letter".into(),
            exit: exit_code,
            files_changed: 0,
            hmac_ok,
            reason: Some(rej.reason.as_str().into()),
            run: None,
        };
        log.extend(serde_json::to_vec(&line).unwrap_or_default());
        log.push(b'\n');
        Ok(ItemReport {
            file: item.file.clone(),
            id: item.key.clone(),
            outcome: ItemOutcome::DeadLetter,
            status: None,
            reason: Some(rej.reason),
            detail: Some(rej.detail),
            exit_code,
            run: None,
            recovered: item.leftover,
        })
    }
}

fn exit_code_for(reason: Reason) -> i32 {
    match reason {
        Reason::Hidden
        | Reason::Symlink
        | Reason::HardLink
        | Reason::Unreadable
        | Reason::IdMismatch
        | Reason::NotRegular
        | Reason::Empty
        | Reason::TooLarge
        | Reason::InvalidJson
        | Reason::DuplicateKey
        | Reason::Schema
        | Reason::UnknownAction
        | Reason::UnknownPatchType
        | Reason::UnknownOp
        | Reason::UnknownCheck => 2,
        Reason::ApplyFailed => 3,
        _ => 1,
    }
}
