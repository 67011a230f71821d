//! `warden watch [--poll MS] [--settle MS]`: classify what settles in the
//! inbox, unattended, until SIGINT or SIGTERM (checked between batches).
//!
//! Each batch is one FileDetected dispatch: when the `ModuleClassifier`
//! plugin is enabled (`warden modules install-plugin`), through the plugin
//! runtime like `warden run FileDetected`, its proposal planned with the
//! classifier's decisions as the run's details ([`ClassifierSink`]);
//! otherwise the built-in classifier handles it in-process.

use super::{is_json, root};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use warden_classify::report::ClassifyReport;
use warden_classify::times::{GitTimes, Times};
use warden_classify::watch::{
    BatchHandler, BuiltIn, HANDLER_PLUGIN, Handled, Settled, WatchEvent, WatchOptions,
};
use warden_core::digest::Digest;
use warden_core::engine::Session;
use warden_core::modules::Modules;
use warden_core::paths::RepoPath;
use warden_core::proposal::Proposal;
use warden_plugin::runtime::{
    self, DispatchOptions, PluginOutcome, PluginRecord, ProposalSink, Taken, WorkingTree,
};

/// The sink of a FileDetected dispatch: the `ModuleClassifier`'s proposal is
/// planned with the classifier's decisions as the run's `details` (so `warden
/// where` shows its module, scores and decision path); any other plugin's
/// goes to the working tree as in `warden run`.
pub struct ClassifierSink<'a> {
    pub reg: &'a Modules,
    pub paths: Vec<RepoPath>,
    pub times: &'a dyn Times,
    /// The decisions of the classifier's applied run, once taken.
    pub decisions: Option<ClassifyReport>,
}

impl ProposalSink for ClassifierSink<'_> {
    fn take(
        &mut self,
        session: &mut Session,
        plugin: &PluginRecord,
        proposal: &Proposal,
        digest: Digest,
        label: &str,
    ) -> warden_core::Result<Taken> {
        if plugin.plugin != warden_classify::history::PLUGIN_KEY {
            return WorkingTree.take(session, plugin, proposal, digest, label);
        }
        let (plan, report) = match warden_classify::run::plan_plugin_proposal(
            session,
            proposal,
            digest,
            label,
            self.reg,
            &self.paths,
            self.times,
        ) {
            Ok(x) => x,
            Err(e) => return Ok(Taken::Refused(e)),
        };
        if plan.noop.is_some() || plan.changes.is_empty() {
            return Ok(Taken::NoChange);
        }
        let outcome = session.apply(&plan)?;
        let run = outcome.entry.run.clone();
        let rolled_back = outcome.entry.result != warden_core::ledger::RunResult::Applied;
        if !rolled_back {
            self.decisions = report;
        }
        Ok(Taken::Applied { run, rolled_back })
    }
}

/// `warden run EVENT` by hand: a FileDetected dispatch that reaches the
/// enabled `ModuleClassifier` plugin goes to the [`ClassifierSink`] like the
/// watcher's, so the placements of a hand-run dispatch carry the
/// classifier's decisions (module, scores, decision path) and `warden where`
/// shows them. Any other event, or no enabled classifier, or no
/// `.warden/modules.yaml`: the plain dispatch to the working tree.
pub fn dispatch_hand_run(
    s: &mut Session,
    event: &str,
    items: Vec<serde_json::Value>,
    opts: &DispatchOptions,
) -> warden_core::Result<runtime::DispatchReport> {
    let root = s.repo.root().to_path_buf();
    let classifier = event == warden_classify::classify::EVENT
        && warden_core::plugin_registry::PluginRegistry::read(&root)?
            .for_event(event)
            .iter()
            .any(|(k, _)| k.as_str() == warden_classify::history::PLUGIN_KEY);
    let reg = match classifier {
        true => Modules::load(&root)?,
        false => None,
    };
    let Some(reg) = reg else {
        return runtime::dispatch(s, event, items, opts);
    };
    let paths = items
        .iter()
        .filter_map(|i| i.get("path").and_then(|p| p.as_str()))
        .filter_map(|p| RepoPath::parse(p, "(run input)", "path").ok())
        .collect();
    let times = GitTimes {
        env: crate::env::child_env(),
    };
    let mut sink = ClassifierSink {
        reg: &reg,
        paths,
        times: &times,
        decisions: None,
    };
    let report = runtime::dispatch_to(s, event, items, opts, &mut sink)?;
    record_classifier_stays(s, &report, &reg, &sink.paths, &times)?;
    Ok(report)
}

/// After a FileDetected dispatch in which the `ModuleClassifier` plugin
/// proposed nothing (every file stays: ambiguous, already placed), the
/// decisions that are new are recorded as a classify run, so `warden where`
/// has the same history whether the watcher or a hand-run `warden run
/// FileDetected` saw the file. None when the plugin was not asked or
/// proposed something.
fn record_classifier_stays(
    s: &mut Session,
    report: &runtime::DispatchReport,
    reg: &Modules,
    paths: &[RepoPath],
    times: &dyn Times,
) -> warden_core::Result<Option<ClassifyReport>> {
    let unmoved = report.plugins.iter().any(|p| {
        p.plugin == warden_classify::history::PLUGIN_KEY && p.outcome == PluginOutcome::NoChange
    });
    match unmoved {
        true => warden_classify::run::record_stays(s, reg, paths, times),
        false => Ok(None),
    }
}

/// The watcher's FileDetected handler: the plugin runtime when the
/// `ModuleClassifier` plugin is enabled, else the built-in classifier.
struct Dispatch<'a> {
    ctx: &'a warden_core::Context,
    times: &'a dyn Times,
    launcher: warden_plugin::runtime::Launcher,
    /// The built-in handler, kept across batches (it keeps the compact history).
    built_in: BuiltIn<'a>,
}

impl BatchHandler for Dispatch<'_> {
    fn handle(
        &mut self,
        root: &std::path::Path,
        reg: &Modules,
        batch: &[Settled],
    ) -> warden_core::Result<Handled> {
        let plugins = warden_core::plugin_registry::PluginRegistry::read(root)?;
        let classifier = plugins
            .for_event(warden_classify::classify::EVENT)
            .iter()
            .any(|(k, _)| k.as_str() == warden_classify::history::PLUGIN_KEY);
        if !classifier {
            return self.built_in.handle(root, reg, batch);
        }
        let items = warden_classify::watch::payloads(root, batch)?;
        let paths = items
            .iter()
            .filter_map(|i| i["path"].as_str())
            .filter_map(|p| RepoPath::parse(p, "(watch)", "path").ok())
            .collect();
        let repo = warden_core::Repo::open(root)?;
        let mut s = repo.session(self.ctx, true, &mut |_| {})?;
        let opts = DispatchOptions {
            launcher: &self.launcher,
            actor: warden_core::proposal::Source {
                kind: "collector".into(),
                id: "warden-watch".into(),
            },
        };
        let mut sink = ClassifierSink {
            reg,
            paths,
            times: self.times,
            decisions: None,
        };
        let report = runtime::dispatch_to(
            &mut s,
            warden_classify::classify::EVENT,
            items,
            &opts,
            &mut sink,
        )?;
        let faults = report
            .plugins
            .iter()
            .filter_map(|p| {
                p.fault
                    .as_ref()
                    .map(|f| format!("plugin {}: {}", p.plugin, f.message))
            })
            .collect();
        let applied = report.plugins.iter().find(|p| {
            p.plugin == warden_classify::history::PLUGIN_KEY && p.outcome == PluginOutcome::Applied
        });
        let stays = record_classifier_stays(&mut s, &report, reg, &sink.paths, self.times)?;
        let decisions = match (sink.decisions, applied, stays) {
            (Some(d), _, _) => d,
            (None, None, Some(d)) => d,
            (None, Some(p), _) => ClassifyReport::new(
                p.applied_run.clone(),
                warden_classify::report::Outcome::Applied,
                Vec::new(),
            ),
            (None, None, None) => ClassifyReport::new(
                None,
                warden_classify::report::Outcome::NothingToDo,
                Vec::new(),
            ),
        };
        Ok(Handled {
            report: decisions,
            handler: HANDLER_PLUGIN.into(),
            dispatch: Some(report.run),
            faults,
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Scan the inbox every MS milliseconds instead of waiting for file events
    /// (for NFS, WSL, 9p and other file systems without events).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(10..))]
    pub poll: Option<u64>,
    /// A file is acted on once its mtime is this old and its size and mtime
    /// did not change since the previous look.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub settle: u64,
    /// Most files per batch (one run each); the policy's max_files also caps it.
    #[arg(long, value_name = "N", default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_batch: u64,
}

pub fn run(repo: Option<PathBuf>, args: &WatchArgs, fmt: Format) -> Result<ExitCode, CliError> {
    let root = root(repo)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).map_err(|e| {
            CliError::Core(warden_core::Error::Internal(format!(
                "cannot install the signal handler: {e}"
            )))
        })?;
    }
    let opts = WatchOptions {
        poll: args.poll.map(Duration::from_millis),
        settle: Duration::from_millis(args.settle),
        max_batch: args.max_batch as usize,
        keep_batches: is_json(fmt),
        ..WatchOptions::default()
    };
    let ctx = crate::env::context();
    let times = GitTimes {
        env: crate::env::child_env(),
    };
    let mut log = |e: &WatchEvent| log_event(e, args.poll);
    let mut handler = Dispatch {
        ctx: &ctx,
        times: &times,
        launcher: crate::env::launcher(),
        built_in: BuiltIn::new(&ctx, &times),
    };
    let summary = warden_classify::watch::watch_with(&root, &opts, &stop, &mut log, &mut handler)?;
    eprintln!("warden watch: stopped after {} batch(es)", summary.handled);
    if is_json(fmt) {
        output::json(&summary)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The watcher's log line for one event, on stderr. Paths, inbox roots and
/// error texts are shown escaped (`warden_core::text::shown`): a file
/// name must not act on the terminal nor forge a log line.
fn log_event(e: &WatchEvent, poll: Option<u64>) {
    match e {
        WatchEvent::Started { mode, roots } => eprintln!(
            "warden watch: watching {} ({}); stop with Ctrl-C or SIGTERM",
            roots
                .iter()
                .map(|r| warden_core::text::shown(r).to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if mode == "poll" {
                format!("polling every {} ms", poll.unwrap_or(0))
            } else {
                "file events".to_string()
            }
        ),
        WatchEvent::Rescan { why } => eprintln!(
            "warden watch: full rescan: {}",
            warden_core::text::shown(why)
        ),
        WatchEvent::Batch(b) => eprintln!("{}", batch_line(b)),
        // No file yet: the registry could not be read (retried at the next scan).
        WatchEvent::Failed { files: 0, error } => eprintln!(
            "warden watch: cannot classify (retried at the next scan): {}",
            warden_core::text::shown(error)
        ),
        WatchEvent::Failed { files, error } => eprintln!(
            "warden watch: a batch of {files} file(s) failed (retried when they change): {}",
            warden_core::text::shown(error)
        ),
        WatchEvent::FileFailed { path, error } => eprintln!(
            "warden watch: {} failed (the rest of its batch went on; retried when it changes): {}",
            warden_core::text::shown(path),
            warden_core::text::shown(error)
        ),
        WatchEvent::Skipped(s) => eprintln!(
            "warden watch: skipped {} ({}); it stays where it is",
            s.shown_path(),
            super::classify::skip_why(s)
        ),
    }
}

/// The per-batch log line: files, decisions per path (a holder displaced
/// from a module folder is a decision beyond the batch's files: counted as
/// "+N displaced"), the run, and what is still settling.
fn batch_line(b: &warden_classify::watch::BatchLog) -> String {
    let counts: Vec<String> = b.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let decisions: u64 = b.counts.values().sum();
    let displaced = decisions.saturating_sub(b.files as u64);
    format!(
        "warden watch: batch {}: {} file(s){}{}; {}{}{}",
        b.batch,
        b.files,
        if displaced > 0 {
            format!(" (+{displaced} displaced)")
        } else {
            String::new()
        },
        if counts.is_empty() {
            String::new()
        } else {
            format!(": {}", counts.join(", "))
        },
        match &b.run {
            Some(r) => format!("run {r}"),
            None => "nothing new to record".to_string(),
        },
        match &b.dispatch {
            Some(d) => format!(" (FileDetected dispatch {d} to the plugins)"),
            None => String::new(),
        },
        if b.pending > 0 {
            format!("; {} still settling", b.pending)
        } else {
            String::new()
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_classify::report::Outcome;
    use warden_classify::watch::BatchLog;

    fn log(files: usize, counts: &[(&str, u64)]) -> BatchLog {
        BatchLog {
            batch: 1,
            files,
            counts: counts.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            run: Some("01RUN".into()),
            outcome: Outcome::Applied,
            pending: 0,
            handler: "built-in".into(),
            dispatch: None,
        }
    }

    #[test]
    fn the_batch_line_no_longer_counts_more_decisions_than_files_unexplained() {
        assert_eq!(
            batch_line(&log(209, &[("clear_winner", 208), ("dedupe_larger", 2)])),
            "warden watch: batch 1: 209 file(s) (+1 displaced): 208 clear_winner, 2 dedupe_larger; run 01RUN"
        );
        assert_eq!(
            batch_line(&log(3, &[])),
            "warden watch: batch 1: 3 file(s); run 01RUN",
            "no empty outcome list"
        );
    }
}
