//! An inotify queue overflow makes the watcher rescan the inbox fully, and
//! nothing that arrived while events were lost is missed. The kernel cannot
//! be made to overflow on demand (`max_queued_events` needs root), so the
//! watcher runs on an injected event source (`watch_events`): no kernel
//! watcher, a rescan interval of an hour, and the only event it ever gets is
//! the overflow flag itself — any file it places, it found by the rescan.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, SEED};
use notify_debouncer_full::DebouncedEvent;
use notify_debouncer_full::notify::Event;
use notify_debouncer_full::notify::event::{EventKind, Flag};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use warden_classify::times::FsTimes;
use warden_classify::watch::{WatchEvent, WatchOptions, watch_events};

const FILES: usize = 300;

/// The `i`th file dropped while the event queue is lost: its path and content.
fn dropped(i: usize) -> (String, String) {
    if i.is_multiple_of(3) {
        (format!("inbox/holiday_{i}.txt"), format!("holiday {i}\n"))
    } else {
        (
            format!("inbox/batch{}/notes_{i}.py", i % 4),
            format!("ledger ulid append_only {i}\n"),
        )
    }
}

/// How many files of each content the watcher must have placed.
fn expected_contents() -> BTreeMap<Vec<u8>, usize> {
    let mut expected: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for i in 0..FILES {
        *expected.entry(dropped(i).1.into_bytes()).or_default() += 1;
    }
    *expected.entry(FIRST.as_bytes().to_vec()).or_default() += 1;
    expected
}

/// The content of the one file present before the watcher starts.
const FIRST: &str = "ledger ulid append_only first\n";

/// Runs the watcher on an injected event source: after its start-up batch,
/// [`FILES`] files arrive with no event, then only the overflow flag. Returns
/// the watcher's event log and how many files it placed.
fn watch_through_an_overflow(f: &Fixture) -> (Vec<String>, usize) {
    let root = f.root().to_path_buf();
    let (tx, rx) = mpsc::channel();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let stop = AtomicBool::new(false);
    let mut log: Vec<String> = Vec::new();
    let mut placed = 0usize;
    let opts = WatchOptions {
        poll: None,
        settle: Duration::from_millis(50),
        rescan_every: Duration::from_secs(3600),
        ..WatchOptions::default()
    };
    let stopr = &stop;
    std::thread::scope(|s| {
        let dropper = s.spawn(move || {
            started_rx.recv().expect("the start-up batch");
            // Files arrive while the event queue is lost: no event for them.
            for i in 0..FILES {
                let (name, content) = dropped(i);
                f.write(&name, &content);
            }
            let overflow = Event::new(EventKind::Other).set_flag(Flag::Rescan);
            tx.send(Ok(vec![DebouncedEvent::new(overflow, Instant::now())]))
                .expect("inject the overflow");
            // A guard, not an assertion: if the watcher never finishes, stop
            // it so the test fails below instead of hanging.
            let _ = done_rx.recv_timeout(Duration::from_secs(300));
            stopr.store(true, Ordering::SeqCst);
        });
        let summary = watch_events(
            &root,
            &f.ctx,
            &FsTimes,
            &opts,
            &stop,
            &mut |e| match e {
                WatchEvent::Started { .. } => log.push("started".into()),
                WatchEvent::Rescan { why } => log.push(format!("rescan: {why}")),
                WatchEvent::Batch(b) => {
                    log.push(format!("batch {} files", b.files));
                    placed += b.files;
                    if placed == 1 {
                        let _ = started_tx.send(());
                    }
                    if placed > FILES {
                        let _ = done_tx.send(());
                    }
                }
                WatchEvent::Failed { files, error } => log.push(format!("failed {files}: {error}")),
                WatchEvent::FileFailed { path, error } => {
                    log.push(format!("failed {path}: {error}"))
                }
                WatchEvent::Skipped(s) => log.push(format!("skipped {}", s.path)),
            },
            rx,
        )
        .expect("watch");
        dropper.join().expect("dropper");
        assert_eq!(summary.failed, 0, "{log:?}");
    });
    (log, placed)
}

/// Every file is in its module or the quarantine lane, with its content, and
/// the inbox is empty.
fn assert_nothing_lost(f: &Fixture) {
    let expected = expected_contents();
    let tree = f.tree_with_lane();
    assert!(
        tree.keys().all(|p| !p.starts_with("inbox/")),
        "{:?}",
        tree.keys()
    );
    let mut got: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for (p, c) in &tree {
        if p.starts_with("modules/") || (p.starts_with(".quarantine/") && p.contains("/files/")) {
            *got.entry(c.clone()).or_default() += 1;
        }
    }
    let diff: Vec<_> = got
        .iter()
        .filter(|(c, n)| expected.get(*c) != Some(n))
        .map(|(c, n)| (String::from_utf8_lossy(c).into_owned(), *n))
        .collect();
    assert!(diff.is_empty(), "{diff:?}");
    assert_eq!(got.len(), expected.len());
    assert_eq!(
        tree.keys()
            .filter(|p| p.starts_with("modules/ledger/"))
            .count(),
        FILES - FILES.div_ceil(3) + 1
    );
}

#[test]
fn an_overflow_rescans_the_inbox_and_nothing_that_arrived_meanwhile_is_lost() {
    let f = Fixture::new(SEED);
    // One file before the start: its batch says the start-up scan is over
    // and the next scan is an hour away.
    f.write("inbox/first_notes.py", FIRST);
    let (log, placed) = watch_through_an_overflow(&f);
    assert_eq!(placed, FILES + 1, "{log:?}");
    assert_eq!(log[0..2], ["started", "batch 1 files"], "{log:?}");
    assert!(
        log[2].starts_with("rescan: the kernel dropped events (overflow)"),
        "the next thing after the start-up batch is the overflow's rescan: {log:?}"
    );
    assert_nothing_lost(&f);
}
