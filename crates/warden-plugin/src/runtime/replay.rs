//! `warden replay RUN`: re-run a dispatch's plugins on its recorded input
//! and compare their proposals byte for byte (G7).

use super::*;
use crate::validate;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;
use warden_core::engine::{Record, Session};
use warden_core::ledger::Entry;
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
    let report = dispatch_details(&root, &entry)?;
    let run_dir = session.repo.layout.run_dir(&entry.run);
    let items = recorded_items(&run_dir, &report)?;
    let launcher = opts.launcher.for_policy(&session.repo.policy);
    let replayer = Replayer {
        root: &root,
        run_dir: &run_dir,
        event: &report.event,
        items: &items,
        launcher: &launcher,
        require: !session.repo.policy.file.plugins.run_unsandboxed,
    };
    let plugins: Vec<ReplayItem> = report.plugins.iter().map(|r| replayer.item(r)).collect();
    let rep = ReplayReport {
        schema: "warden.replay/v1".into(),
        run: entry.run.clone(),
        replay_run: session.new_run_id(),
        event: report.event.clone(),
        identical: plugins.iter().all(|i| i.identical),
        plugins,
    };
    let record = record_of(&rep, &report, opts)?;
    Ok((rep, record))
}

/// The dispatch report a `run` entry recorded; any other command is refused.
fn dispatch_details(root: &Path, entry: &Entry) -> Result<DispatchReport> {
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
    entry
        .load_details(root)?
        .and_then(|d| serde_json::from_value(d).ok())
        .ok_or_else(|| Error::Corrupt {
            path: root.join(".ledger"),
            message: format!("run {} has no dispatch details", entry.run),
        })
}

/// The items of the dispatch's stored `input.json`, once its digest matches
/// the one in the ledger.
fn recorded_items(run_dir: &Path, report: &DispatchReport) -> Result<Vec<Value>> {
    let input_path = run_dir.join("input.json");
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
    Ok(stored["items"].as_array().cloned().unwrap_or_default())
}

/// What every plugin of one replay runs against.
struct Replayer<'a> {
    root: &'a Path,
    /// The replayed dispatch's `.runs/<RUN>/`, holding its proposals.
    run_dir: &'a Path,
    event: &'a str,
    items: &'a [Value],
    launcher: &'a Launcher,
    require: bool,
}

impl Replayer<'_> {
    /// Re-run one recorded plugin and compare its proposal.
    fn item(&self, rec: &PluginRecord) -> ReplayItem {
        let mut item = ReplayItem {
            plugin: rec.plugin.clone(),
            recorded: rec.proposal_sha256,
            replayed: None,
            identical: false,
            note: None,
            diff: None,
        };
        let changed = self.changed_since(rec);
        if let Some(why) = &changed {
            item.note = Some(format!(
                "the plugin is not the one that ran ({why}); replayed with the current version"
            ));
        }
        let spec = match validate::load_spec(self.root, &rec.plugin) {
            Ok(s) => s,
            Err(f) => {
                item.note = Some(f.message);
                return item;
            }
        };
        let Some(op) = spec.operation_for(self.event) else {
            item.note = Some(format!("no operation handles {} any more", self.event));
            return item;
        };
        let inv = invoke(
            self.root,
            &spec,
            &op.name,
            self.event,
            self.items,
            self.launcher,
            self.require,
        );
        let replayed =
            inv.outcome.as_ref().ok().map(|o| {
                serde_json::to_vec(&proposal_value(&spec, self.event, o)).unwrap_or_default()
            });
        item.replayed = replayed.as_deref().map(Digest::of);
        item.identical = item.replayed == item.recorded && changed.is_none();
        if let (Err(f), None) = (&inv.outcome, &item.note) {
            item.note = Some(format!("replay failed: {}", f.message));
        }
        if item.replayed != item.recorded
            && let Some(new) = &replayed
        {
            item.diff = Some(self.diff(rec, new));
        }
        item
    }

    /// Why the plugin is no longer the one that ran (its files or the policy
    /// it was validated against changed), if it is not.
    fn changed_since(&self, rec: &PluginRecord) -> Option<String> {
        let pinned = EnabledPlugin {
            id: String::new(),
            version: rec.plugin_version.clone(),
            events: Vec::new(),
            priority: 0,
            manifest_sha256: rec.manifest_sha256,
            policy_sha256: rec.policy.digest,
        };
        pinned_mismatch(self.root, &rec.plugin, &pinned, rec.policy.digest)
    }

    /// The recorded proposal against the replayed one, pretty-printed.
    fn diff(&self, rec: &PluginRecord, new: &[u8]) -> String {
        let old = std::fs::read(self.run_dir.join(format!("{}.proposal.json", rec.plugin))).ok();
        let new_pretty = pretty_json(new);
        let old_pretty = old.as_deref().map(pretty_json).unwrap_or_else(|| {
            format!(
                "(recorded proposal sha256 {})\n",
                rec.proposal_sha256
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "none".into())
            )
        });
        warden_core::plan::unified_diff(&old_pretty, &new_pretty, "recorded", "replayed")
    }
}

/// The local-history record of a replay: its report as details and artifact.
fn record_of(
    rep: &ReplayReport,
    report: &DispatchReport,
    opts: &DispatchOptions,
) -> Result<Record> {
    let verdict = if rep.identical {
        "byte-identical"
    } else {
        "proposals differ"
    };
    Ok(Record {
        run: rep.replay_run.clone(),
        command: "replay".into(),
        actor: opts.actor.clone(),
        event: report.event.clone(),
        input_digest: report.input_sha256,
        rationale: Some(format!("replay of run {}: {verdict}", rep.run)),
        details: Some(serde_json::to_value(rep).map_err(|e| Error::Internal(e.to_string()))?),
        artifacts: vec![(
            "replay.json".into(),
            serde_json::to_vec_pretty(rep).map_err(|e| Error::Internal(e.to_string()))?,
        )],
    })
}

fn pretty_json(bytes: &[u8]) -> String {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .map(|s| s + "\n")
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned())
}
