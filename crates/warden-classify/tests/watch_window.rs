//! A scan looks at a bounded window of the inbox (two batches' worth of the
//! files not handled yet). Files the watcher left in place (ambiguous) stay
//! in the inbox and sort first; they must not fill the window and starve the
//! files that arrive after them. Runs on an injected event source
//! (`watch_events`): no kernel watcher, a rescan interval of an hour, and a
//! plain wake as the only event.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, SEED};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use warden_classify::times::FsTimes;
use warden_classify::watch::{WatchEvent, WatchOptions, watch_events};

/// Ambiguous (a goal and a ledger word: a tie), left in place; sorted first.
const STAYING: usize = 6;
/// Clear winners dropped after the watcher handled the staying ones.
const NEW: usize = 5;

#[test]
fn files_left_in_place_do_not_fill_the_scan_window_and_starve_new_ones() {
    let f = Fixture::new(SEED);
    for i in 0..STAYING {
        f.write(&format!("inbox/a_goal_ledger_{i}.py"), &format!("x{i}\n"));
    }
    let root = f.root().to_path_buf();
    let (tx, rx) = mpsc::channel();
    let (staying_tx, staying_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let stop = AtomicBool::new(false);
    let opts = WatchOptions {
        poll: None,
        settle: Duration::from_millis(50),
        rescan_every: Duration::from_secs(3600),
        // A window of 4: fewer than the files left in place.
        max_batch: 2,
        ..WatchOptions::default()
    };
    let mut log: Vec<String> = Vec::new();
    let mut handled = 0usize;
    let stopr = &stop;
    let fr = &f;
    std::thread::scope(|s| {
        let dropper = s.spawn(move || {
            staying_rx.recv().expect("the staying files handled");
            for i in 0..NEW {
                fr.write(
                    &format!("inbox/z_notes_{i}.py"),
                    &format!("ledger ulid append_only {i}\n"),
                );
            }
            std::thread::sleep(Duration::from_millis(100));
            tx.send(Ok(Vec::new())).expect("wake");
            // A guard, not an assertion: if the watcher never places them,
            // stop it so the test fails below instead of hanging.
            let _ = done_rx.recv_timeout(Duration::from_secs(120));
            stopr.store(true, Ordering::SeqCst);
        });
        watch_events(
            &root,
            &f.ctx,
            &FsTimes,
            &opts,
            &stop,
            &mut |e| {
                if let WatchEvent::Batch(b) = e {
                    log.push(format!("batch {}: {} {:?}", b.batch, b.files, b.counts));
                    handled += b.files;
                    if handled == STAYING {
                        let _ = staying_tx.send(());
                    }
                    if handled == STAYING + NEW {
                        let _ = done_tx.send(());
                    }
                }
            },
            rx,
        )
        .expect("watch");
        dropper.join().expect("dropper");
    });
    for i in 0..NEW {
        assert_eq!(
            f.read(&format!("modules/ledger/z_notes_{i}.py")),
            format!("ledger ulid append_only {i}\n"),
            "{log:#?}"
        );
    }
    for i in 0..STAYING {
        assert!(f.exists(&format!("inbox/a_goal_ledger_{i}.py")), "{log:#?}");
    }
    assert!(
        log.iter().all(|l| !l.contains(": 3 ")),
        "at most 2 a batch: {log:#?}"
    );
}
