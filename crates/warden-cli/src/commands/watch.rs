//! `warden watch [--poll MS] [--settle MS]`: classify what settles in the
//! inbox, unattended, until SIGINT or SIGTERM (checked between batches).

use super::{is_json, root};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use warden_classify::times::GitTimes;
use warden_classify::watch::{WatchEvent, WatchOptions};

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
        ..WatchOptions::default()
    };
    let ctx = crate::env::context();
    let times = GitTimes {
        env: crate::env::child_env(),
    };
    let mut log = |e: &WatchEvent| match e {
        WatchEvent::Started { mode, roots } => eprintln!(
            "warden watch: watching {} ({}); stop with Ctrl-C or SIGTERM",
            roots.join(", "),
            if mode == "poll" {
                format!("polling every {} ms", args.poll.unwrap_or(0))
            } else {
                "file events".to_string()
            }
        ),
        WatchEvent::Rescan { why } => eprintln!("warden watch: full rescan: {why}"),
        WatchEvent::Batch(b) => {
            let counts: Vec<String> = b.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
            eprintln!(
                "warden watch: batch {}: {} file(s): {}; {}{}",
                b.batch,
                b.files,
                counts.join(", "),
                match &b.run {
                    Some(r) => format!("run {r}"),
                    None => "nothing new to record".to_string(),
                },
                if b.pending > 0 {
                    format!("; {} still settling", b.pending)
                } else {
                    String::new()
                }
            );
        }
        WatchEvent::Failed { files, error } => eprintln!(
            "warden watch: a batch of {files} file(s) failed (retried when they change): {error}"
        ),
    };
    let summary = warden_classify::watch::watch(&root, &ctx, &times, &opts, &stop, &mut log)?;
    eprintln!(
        "warden watch: stopped after {} batch(es)",
        summary.batches.len()
    );
    if is_json(fmt) {
        output::json(&summary)?;
    }
    Ok(ExitCode::SUCCESS)
}
