//! One file the policy refuses must not strand the rest of its batch: the
//! watcher splits a failed batch in halves until only the refused file is
//! held back, names it, and places every other file. Runs on an injected
//! event source (`watch_events`): no kernel watcher, a rescan interval of an
//! hour, the files already settled when the watcher starts.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, SEED};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use warden_classify::times::FsTimes;
use warden_classify::watch::{WatchEvent, WatchOptions, watch_events};

/// Clear winners for the ledger module, one of them refused by the policy.
const FILES: usize = 9;
const REFUSED: &str = "inbox/z_notes_4.py";

#[test]
fn one_refused_file_stranded_every_other_file_of_its_watch_batch() {
    let f = Fixture::new(SEED);
    let policy = std::fs::read_to_string(f.root().join(".warden/policy.yaml")).expect("policy");
    assert!(policy.contains("deny: []"), "{policy}");
    f.write(
        ".warden/policy.yaml",
        &policy.replace("deny: []", "deny: [\"**/z_notes_4.py\"]"),
    );
    for i in 0..FILES {
        f.write(
            &format!("inbox/z_notes_{i}.py"),
            &format!("ledger ulid append_only {i}\n"),
        );
    }
    let root = f.root().to_path_buf();
    let (_tx, rx) = mpsc::channel();
    let stop = AtomicBool::new(false);
    let opts = WatchOptions {
        poll: None,
        settle: Duration::ZERO,
        rescan_every: Duration::from_secs(3600),
        ..WatchOptions::default()
    };
    let mut log: Vec<String> = Vec::new();
    let mut placed = 0usize;
    let mut refused = Vec::new();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let stopr = &stop;
    std::thread::scope(|s| {
        s.spawn(move || {
            // A guard, not an assertion: if the watcher never gets there,
            // stop it so the test fails below instead of hanging.
            let _ = done_rx.recv_timeout(Duration::from_secs(120));
            stopr.store(true, Ordering::SeqCst);
        });
        let summary = watch_events(
            &root,
            &f.ctx,
            &FsTimes,
            &opts,
            &stop,
            &mut |e| {
                match e {
                    WatchEvent::Batch(b) => {
                        log.push(format!("batch {}: {} {:?}", b.batch, b.files, b.counts));
                        placed += b.files;
                    }
                    WatchEvent::FileFailed { path, error } => {
                        log.push(format!("file failed {path}: {error}"));
                        refused.push(path.clone());
                    }
                    WatchEvent::Failed { files, error } => {
                        log.push(format!("failed {files}: {error}"));
                    }
                    WatchEvent::Started { .. }
                    | WatchEvent::Rescan { .. }
                    | WatchEvent::Skipped(_) => {}
                }
                if placed + refused.len() == FILES {
                    let _ = done_tx.send(());
                }
            },
            rx,
        )
        .expect("watch");
        assert_eq!(summary.failed, 1, "{log:#?}");
    });
    assert_eq!(refused, [REFUSED], "{log:#?}");
    assert!(
        log.iter().any(|l| l.contains("paths.deny")),
        "the refusal is named: {log:#?}"
    );
    assert!(f.exists(REFUSED), "{log:#?}");
    for i in (0..FILES).filter(|i| *i != 4) {
        assert_eq!(
            f.read(&format!("modules/ledger/z_notes_{i}.py")),
            format!("ledger ulid append_only {i}\n"),
            "{log:#?}"
        );
    }
}
