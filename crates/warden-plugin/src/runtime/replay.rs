//! `warden replay RUN`: re-run a dispatch's plugins on its recorded input
//! and compare their proposals byte for byte (G7).

use super::*;
use crate::validate;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use warden_core::engine::{Record, Session};
use warden_core::plugin_registry::EnabledPlugin;
use warden_core::{Digest, Error, Result};

/// One plugin's comparison in a replay.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReplayItem {
    pub plugin: String,
    pub recorded: Option<Digest>,
    pub replayed: Option<Digest>,
    pub identical: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Unified diff of the recorded vs replayed proposal, when they differ and both exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "warden replay report")]
pub struct ReplayReport {
    pub schema: String,
    pub run: String,
    /// The id this replay is kept under in the local history (`warden history`,
    /// `.runs/<ID>/replay.json`); a replay is not ledgered.
    pub replay_run: String,
    pub event: String,
    pub identical: bool,
    pub plugins: Vec<ReplayItem>,
}

/// Re-run the plugins of dispatch `run` on its recorded input and compare
/// their proposals byte for byte (G7). Applies nothing and records nothing:
/// a replay is a read-only report, which the caller keeps in the local
/// history (`warden_core::history::keep`) with the returned record.
pub fn replay(
    session: &mut Session,
    run: &str,
    opts: &DispatchOptions,
) -> Result<(ReplayReport, Record)> {
    let root = session.repo.root().to_path_buf();
    let entry = session.repo.ledger().require_run(run)?;
    if entry.command != "run" {
        return Err(Error::rejected(
            "(command line)",
            "RUN",
            format!(
                "run {} is a `{}` run; only plugin dispatches (`warden run EVENT`) can be replayed",
                entry.run, entry.command
            ),
            Some("`warden runs` shows each run's command".into()),
        ));
    }
    let report: DispatchReport = entry
        .load_details(&root)?
        .and_then(|d| serde_json::from_value(d).ok())
        .ok_or_else(|| Error::Corrupt {
            path: root.join(".ledger"),
            message: format!("run {} has no dispatch details", entry.run),
        })?;
    let input_path = session.repo.layout.run_dir(&entry.run).join("input.json");
    let input = std::fs::read(&input_path).map_err(|e| Error::Io {
        op: "read",
        path: input_path.clone(),
        source: e,
    })?;
    if Digest::of(&input) != report.input_sha256 {
        return Err(Error::Corrupt {
            path: input_path,
            message: "the stored input does not match the digest in the ledger".into(),
        });
    }
    let stored: Value =
        serde_json::from_slice(&input).map_err(|e| Error::Internal(e.to_string()))?;
    let items: Vec<Value> = stored["items"].as_array().cloned().unwrap_or_default();
    let require = !session.repo.policy.file.plugins.run_unsandboxed;
    let launcher = opts.launcher.for_policy(&session.repo.policy);
    let mut out = Vec::new();
    for rec in &report.plugins {
        let mut item = ReplayItem {
            plugin: rec.plugin.clone(),
            recorded: rec.proposal_sha256,
            replayed: None,
            identical: false,
            note: None,
            diff: None,
        };
        let pinned = EnabledPlugin {
            id: String::new(),
            version: rec.plugin_version.clone(),
            events: Vec::new(),
            priority: 0,
            manifest_sha256: rec.manifest_sha256,
            policy_sha256: rec.policy.digest,
        };
        let changed = pinned_mismatch(&root, &rec.plugin, &pinned, rec.policy.digest);
        if let Some(why) = &changed {
            item.note = Some(format!(
                "the plugin is not the one that ran ({why}); replayed with the current version"
            ));
        }
        let spec = match validate::load_spec(&root, &rec.plugin) {
            Ok(s) => s,
            Err(f) => {
                item.note = Some(f.message);
                out.push(item);
                continue;
            }
        };
        let Some(op) = spec.operation_for(&report.event) else {
            item.note = Some(format!("no operation handles {} any more", report.event));
            out.push(item);
            continue;
        };
        let inv = invoke(
            &root,
            &spec,
            &op.name,
            &report.event,
            &items,
            &launcher,
            require,
        );
        let replayed = inv.outcome.as_ref().ok().map(|o| {
            serde_json::to_vec(&proposal_value(&spec, &report.event, o)).unwrap_or_default()
        });
        item.replayed = replayed.as_deref().map(Digest::of);
        item.identical = item.replayed == item.recorded && changed.is_none();
        if let (Err(f), None) = (&inv.outcome, &item.note) {
            item.note = Some(format!("replay failed: {}", f.message));
        }
        if item.replayed != item.recorded
            && let Some(new) = &replayed
        {
            let old = std::fs::read(
                session
                    .repo
                    .layout
                    .run_dir(&entry.run)
                    .join(format!("{}.proposal.json", rec.plugin)),
            )
            .ok();
            let new_pretty = pretty_json(new);
            let old_pretty = old.as_deref().map(pretty_json).unwrap_or_else(|| {
                format!(
                    "(recorded proposal sha256 {})\n",
                    rec.proposal_sha256
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "none".into())
                )
            });
            item.diff = Some(warden_core::plan::unified_diff(
                &old_pretty,
                &new_pretty,
                "recorded",
                "replayed",
            ));
        }
        out.push(item);
    }
    let identical = out.iter().all(|i| i.identical);
    let replay_run = session.new_run_id();
    let rep = ReplayReport {
        schema: "warden.replay/v1".into(),
        run: entry.run.clone(),
        replay_run: replay_run.clone(),
        event: report.event.clone(),
        identical,
        plugins: out,
    };
    let record = Record {
        run: replay_run,
        command: "replay".into(),
        actor: opts.actor.clone(),
        event: report.event.clone(),
        input_digest: report.input_sha256,
        rationale: Some(format!(
            "replay of run {}: {}",
            entry.run,
            if rep.identical {
                "byte-identical"
            } else {
                "proposals differ"
            }
        )),
        details: Some(serde_json::to_value(&rep).map_err(|e| Error::Internal(e.to_string()))?),
        artifacts: vec![(
            "replay.json".into(),
            serde_json::to_vec_pretty(&rep).map_err(|e| Error::Internal(e.to_string()))?,
        )],
    };
    Ok((rep, record))
}

fn pretty_json(bytes: &[u8]) -> String {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .map(|s| s + "\n")
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned())
}
