//! Regressions from the seventh review of the classifier, each named after
//! what broke: a winner whose destination is a symbolic link passed the dry
//! run and then failed the whole real run; the watcher named "(classifier
//! proposal): actions[0]" instead of the inbox file.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, SEED};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use warden_classify::report::SkipReason;
use warden_classify::times::FsTimes;
use warden_classify::watch::{WatchEvent, WatchOptions, watch_events};

/// Two modules, each the clear winner of one inbox file.
const TWO: &str = "schema: warden.modules/v1\nmodules:\n  - {name: a, folder: ext/, keywords: [foo]}\n  - {name: d, folder: docs/, keywords: [bar]}\n";

/// `inbox/foo.txt` (module a, to `ext/foo.txt`) and `inbox/bar.txt` (module
/// d, to `docs/bar.txt`).
fn two_winners() -> Fixture {
    let f = Fixture::new(TWO);
    f.write("inbox/foo.txt", "a\n");
    f.write("inbox/bar.txt", "b\n");
    std::fs::create_dir_all(f.root().join("ext")).expect("ext");
    std::fs::create_dir_all(f.root().join("docs")).expect("docs");
    f
}

#[test]
fn a_destination_that_is_a_symlink_passed_the_dry_run_then_failed_the_real_run_and_moved_nothing() {
    let f = two_winners();
    let outside = tempfile::tempdir().expect("outside");
    std::os::unix::fs::symlink(outside.path(), f.root().join("ext/foo.txt")).expect("symlink");

    let dry = f.dry_run();
    let paths: Vec<&str> = dry.files.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        ["inbox/bar.txt"],
        "the dry run plans only the move that can happen"
    );
    assert_eq!(dry.skipped.len(), 1, "{:?}", dry.skipped);
    let s = &dry.skipped[0];
    assert_eq!(
        (s.path.as_str(), s.reason),
        ("inbox/foo.txt", SkipReason::UnusableDestination)
    );
    assert_eq!(
        s.detail.as_deref(),
        Some(
            "it would go to ext/foo.txt (module a), but path \"ext/foo.txt\" goes through the symlink \"ext/foo.txt\""
        )
    );
    assert!(
        !s.reason.fix().contains("link's target path"),
        "the user chose no path: {}",
        s.reason.fix()
    );

    let report = f
        .try_classify()
        .expect("the real run goes ahead without that file");
    assert_eq!(report.skipped, dry.skipped, "the real run reports it alike");
    assert_eq!(f.read("docs/bar.txt"), "b\n", "the rest is moved");
    assert_eq!(f.read("inbox/foo.txt"), "a\n", "the skipped file stays");
    assert!(
        std::fs::read_dir(outside.path())
            .expect("outside")
            .next()
            .is_none(),
        "nothing was written through the link"
    );
}

#[test]
fn a_module_folder_that_is_a_symlink_failed_every_other_move_of_the_run() {
    let f = two_winners();
    let outside = tempfile::tempdir().expect("outside");
    std::fs::remove_dir(f.root().join("ext")).expect("rmdir");
    std::os::unix::fs::symlink(outside.path(), f.root().join("ext")).expect("symlink");

    let report = f.try_classify().expect("the run goes ahead");
    assert_eq!(report.skipped.len(), 1, "{:?}", report.skipped);
    assert_eq!(report.skipped[0].reason, SkipReason::UnusableDestination);
    assert_eq!(
        report.skipped[0].detail.as_deref(),
        Some(
            "it would go to ext/foo.txt (module a), but path \"ext/foo.txt\" goes through the symlink \"ext\""
        )
    );
    assert_eq!(f.read("docs/bar.txt"), "b\n");
    assert_eq!(f.read("inbox/foo.txt"), "a\n");
    assert!(!outside.path().join("foo.txt").exists());
}

/// Run the watcher on an injected event source over what is in the inbox
/// now, until `done` says so (or two minutes pass); every event, as text.
fn watch_until(f: &Fixture, mut done: impl FnMut(&WatchEvent) -> bool) -> Vec<WatchEvent> {
    let root = f.root().to_path_buf();
    let (_tx, rx) = mpsc::channel();
    let stop = AtomicBool::new(false);
    let opts = WatchOptions {
        poll: None,
        settle: Duration::ZERO,
        rescan_every: Duration::from_secs(3600),
        ..WatchOptions::default()
    };
    let mut events = Vec::new();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let stopr = &stop;
    std::thread::scope(|s| {
        s.spawn(move || {
            // A guard, not an assertion: if the watcher never gets there,
            // stop it so the test fails on what it logged instead of hanging.
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
                events.push(e.clone());
                if done(e) {
                    let _ = done_tx.send(());
                }
            },
            rx,
        )
        .expect("watch");
    });
    events
}

#[test]
fn the_watcher_named_the_classifier_proposal_instead_of_the_inbox_file_it_refused() {
    let f = Fixture::new(SEED);
    let policy = std::fs::read_to_string(f.root().join(".warden/policy.yaml")).expect("policy");
    assert!(policy.contains("deny: []"), "{policy}");
    f.write(
        ".warden/policy.yaml",
        &policy.replace("deny: []", "deny: [\"**/z_notes.py\"]"),
    );
    f.write("inbox/z_notes.py", "ledger ulid append_only\n");
    let events = watch_until(&f, |e| matches!(e, WatchEvent::FileFailed { .. }));
    let failed: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::FileFailed { error, .. } => Some(error),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "{events:#?}");
    assert!(
        failed[0].starts_with("inbox/z_notes.py: classify (from): "),
        "names the inbox file, not the proposal: {}",
        failed[0]
    );
    assert!(
        !failed[0].contains("(classifier proposal)"),
        "{}",
        failed[0]
    );
}

#[test]
fn the_watcher_failed_a_file_whose_destination_is_a_symlink_instead_of_skipping_it() {
    let f = two_winners();
    let outside = tempfile::tempdir().expect("outside");
    std::os::unix::fs::symlink(outside.path(), f.root().join("ext/foo.txt")).expect("symlink");
    let events = watch_until(&f, |e| matches!(e, WatchEvent::Batch(_)));
    let skipped: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Skipped(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(skipped.len(), 1, "{events:#?}");
    assert_eq!(
        (skipped[0].path.as_str(), skipped[0].reason),
        ("inbox/foo.txt", SkipReason::UnusableDestination)
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, WatchEvent::FileFailed { .. } | WatchEvent::Failed { .. })),
        "{events:#?}"
    );
    assert_eq!(f.read("docs/bar.txt"), "b\n");
    assert_eq!(f.read("inbox/foo.txt"), "a\n");
}

#[test]
fn a_name_that_is_not_utf8_was_printed_with_u_fffd_and_lost_its_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new(SEED);
    std::fs::create_dir_all(f.root().join("inbox")).expect("inbox");
    let name = std::ffi::OsStr::from_bytes(b"bad\xffname_docs.txt");
    std::fs::write(f.root().join("inbox").join(name), "x\n").expect("non-UTF-8 name");
    let a = f.dry_run();
    assert_eq!(a.skipped.len(), 1, "{:?}", a.skipped);
    let s = &a.skipped[0];
    assert_eq!(s.reason, SkipReason::NotUtf8Name);
    // The JSON path keeps its documented lossy form …
    assert_eq!(s.path, "inbox/bad\u{fffd}name_docs.txt");
    // … and a person reads the real bytes, escaped as git escapes them.
    assert_eq!(s.shown_path(), r#""inbox/bad\377name_docs.txt""#);
}
