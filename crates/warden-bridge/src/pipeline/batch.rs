//! One batch: take each file through one descriptor and verify it, write
//! the marker, apply, write the outputs, make them durable together, and
//! only then remove the commands from the inbox.

use super::marker::{self, MarkerItem};
use super::{Applied, Bridge, Item, ItemReport, fail};
use crate::command;
use crate::inbox;
use crate::outputs::{Durability, Writer};
use crate::reason::{Reason, Rejection};
use crate::verify::{self, Verdict};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::time::Instant;
use warden_core::Digest;

impl Bridge<'_> {
    fn dead_letter_key(&self, base: &str, taken: &BTreeSet<String>) -> String {
        let free = |k: &str| !self.dl_keys.contains(k) && !taken.contains(k);
        if free(base) {
            return base.to_string();
        }
        (2..)
            .map(|n| format!("{base}.{n}"))
            .find(|k| free(k))
            .unwrap_or_else(|| base.to_string())
    }

    /// Open, check and read one file through one descriptor
    /// ([`inbox::open_verified`]), then verify its content. A name that is
    /// not UTF-8 is verified under its escaped text
    /// ([`inbox::shown_name`]), which is never `<id>.json`: such a file is
    /// dead-lettered for its content, or else as `id_mismatch`.
    fn take(
        &self,
        os: &OsStr,
        leftovers: &BTreeMap<String, MarkerItem>,
        in_batch: &BTreeSet<String>,
    ) -> std::io::Result<Item> {
        let started = Instant::now();
        let shown = inbox::shown_name(os);
        let name = shown.as_str();
        let mut item = Item {
            file: shown.clone(),
            name: os.to_os_string(),
            bytes: None,
            fd: None,
            identity: None,
            kind: inbox::Kind::Regular,
            size: 0,
            sha256: None,
            received_at: String::new(),
            started,
            verdict: Verdict::Reject {
                rej: Rejection::new(Reason::Empty, ""),
                id: None,
                hmac_ok: false,
            },
            key: String::new(),
            leftover: false,
        };
        let file_reject = |rej: Rejection| Verdict::Reject {
            rej,
            id: None,
            hmac_ok: false,
        };
        let own_link = name
            .strip_suffix(".json")
            .filter(|id| command::valid_id(id))
            .map(|id| self.layout.archive(id));
        match inbox::open_verified(
            &self.layout.commands(),
            os,
            self.opts.max_bytes,
            own_link.as_deref(),
        ) {
            Err(e) => return Err(e),
            Ok(inbox::Taken::Refused(refused)) => {
                // Refused at the file layer: nothing of it was read.
                item.received_at = refused.modified.map(ts_of).unwrap_or_default();
                item.size = refused.size;
                item.kind = refused.kind;
                item.identity = refused.identity;
                item.verdict = file_reject(refused.rejection);
            }
            Ok(inbox::Taken::Verified(v)) => {
                item.received_at = v.modified.map(ts_of).unwrap_or_default();
                item.size = v.bytes.len() as u64;
                item.identity = Some(v.identity);
                let digest = Digest::of(&v.bytes).to_string();
                item.leftover = !name.starts_with('.')
                    && leftovers.get(name).is_some_and(|m| m.sha256 == digest);
                let at = verify::Context {
                    in_inbox: true,
                    leftover: item.leftover,
                    in_batch: Some(in_batch),
                };
                item.verdict = self.with_verifier(|v_| v_.verdict(name, &v.bytes, at));
                item.sha256 = Some(digest);
                item.bytes = Some(v.bytes);
                item.fd = Some(v.file);
            }
        }
        Ok(item)
    }

    /// Take every file of the batch and assign each its output key (its id,
    /// a dead letter's free key, or the key the crashed batch's marker gave).
    fn take_all(
        &self,
        files: &[OsString],
        leftovers: &BTreeMap<String, MarkerItem>,
    ) -> std::io::Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut in_batch = BTreeSet::new();
        let mut taken_keys = BTreeSet::new();
        for os in files {
            let mut item = match self.take(os, leftovers, &in_batch) {
                Ok(i) => i,
                // Gone meanwhile (another process, or an operator): skip it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let name = item.file.as_str();
            let marker_key = leftovers
                .get(name)
                .filter(|_| item.leftover)
                .map(|m| m.key.clone());
            item.key = match &item.verdict {
                Verdict::Accept(a) => {
                    in_batch.insert(a.cmd.id.clone());
                    a.cmd.id.clone()
                }
                Verdict::Reject { id, .. } => match marker_key {
                    Some(k) => k,
                    None => {
                        let base = id
                            .clone()
                            .unwrap_or_else(|| sanitize_key(name.trim_end_matches(".json")));
                        self.dead_letter_key(&base, &taken_keys)
                    }
                },
            };
            taken_keys.insert(item.key.clone());
            items.push(item);
        }
        Ok(items)
    }

    /// Process one batch of files; returns the reports and the flush count.
    pub(super) fn batch(
        &mut self,
        files: &[OsString],
        leftovers: &BTreeMap<String, MarkerItem>,
    ) -> std::io::Result<(Vec<ItemReport>, u64)> {
        let mut w = Writer::new(self.opts.durability);
        let items = self.take_all(files, leftovers)?;
        if items.is_empty() {
            return Ok((Vec::new(), 0));
        }
        if w.mode == Durability::Group {
            let marker = marker::Marker {
                schema: "warden.bridge-batch/v1".into(),
                items: items
                    .iter()
                    .map(|i| MarkerItem {
                        file: i.file.clone(),
                        sha256: i.sha256.clone().unwrap_or_default(),
                        key: i.key.clone(),
                        accepted: matches!(i.verdict, Verdict::Accept(_)),
                    })
                    .collect(),
            };
            marker::write(&self.layout, &marker, &mut w)?;
        }
        fail("bridge.after_marker")?;
        let local = self.local_only(&items);
        let mut applied = self.apply_all(&items, &local, &mut w)?;
        fail("bridge.after_apply")?;
        for (item, a) in items.iter().zip(applied.iter_mut()) {
            if let (Verdict::Accept(acc), Some(Applied::Failed(rej))) = (&item.verdict, a) {
                local.redact(&acc.cmd, &self.target, rej);
            }
        }
        self.leave_out_ignored(&items, &mut applied);
        let mut reports = Vec::new();
        let mut log = Vec::new();
        let mut deferred = BTreeSet::new();
        for (item, applied) in items.iter().zip(applied) {
            if matches!(applied, Some(Applied::Deferred)) {
                deferred.insert(item.file.clone());
                continue;
            }
            let r = self.write_outputs(item, applied, &mut w, &mut log)?;
            reports.push(r);
        }
        crate::audit_log::append(&mut w, &self.layout, &log)?;
        fail("bridge.after_outputs")?;
        w.commit(&self.layout.root)?;
        fail("bridge.after_sync")?;
        self.remove_taken(&items, &deferred, &mut w)?;
        fail("bridge.after_removes")?;
        if w.mode == Durability::Group {
            marker::clear(&self.layout);
        }
        self.deferred.extend(deferred);
        Ok((reports, w.flushes))
    }

    /// Remove the batch's commands from the inbox, once their outputs are
    /// durable (the deferred ones stay for a later pass).
    fn remove_taken(
        &self,
        items: &[Item],
        deferred: &BTreeSet<String>,
        w: &mut Writer,
    ) -> std::io::Result<()> {
        for (n, item) in items
            .iter()
            .filter(|i| !deferred.contains(&i.file))
            .enumerate()
        {
            let path = self.layout.commands().join(&item.name);
            // A name that now holds something else (swapped in after it was
            // taken) is left for the next pass, never removed unread.
            if item.identity.is_none_or(|id| inbox::still_names(&path, id)) {
                w.remove(&path)?;
            }
            if n == 0 {
                fail("bridge.after_first_remove")?;
            }
        }
        Ok(())
    }
}

fn sanitize_key(stem: &str) -> String {
    let s: String = stem
        .trim_start_matches('.')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let s = s.replace("..", "_");
    if s.is_empty() { "unnamed".into() } else { s }
}

fn ts_of(t: std::time::SystemTime) -> String {
    jiff::Timestamp::try_from(t)
        .map(|t| t.round(jiff::Unit::Millisecond).unwrap_or(t).to_string())
        .unwrap_or_default()
}
