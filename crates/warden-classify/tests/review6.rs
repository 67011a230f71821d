//! Regressions from the sixth review of the classifier, each named after
//! what broke: a file changing while classify ran failed the whole run;
//! entries that cannot be classified were skipped silently; a dry run did
//! not check the policy's limits.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, SEED};
use warden_classify::classify::{Options, Scope};
use warden_classify::report::{SkipReason, Skipped};
use warden_classify::times::FsTimes;
use warden_core::error::Refusal;

fn inbox() -> Options {
    Options {
        scope: Scope::Inbox,
        reclassify: false,
    }
}

fn skipped(path: &str, reason: SkipReason) -> Skipped {
    Skipped::new(path, reason)
}

#[test]
fn a_file_changed_while_classify_ran_no_longer_fails_the_run_it_stays_and_the_rest_move() {
    let f = Fixture::new(SEED);
    f.write("inbox/notes.py", "ledger ulid append_only\n");
    f.write("inbox/ledger_w.py", "ledger, half written\n");
    let repo = f.repo();
    let reg = f.registry();
    let analysis =
        warden_classify::classify::analyse(f.root(), &reg, &inbox(), &FsTimes).expect("analyse");
    // Still being written: its content changes after classify read it.
    f.write("inbox/ledger_w.py", "ledger, half written, and the rest\n");
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let p = warden_classify::run::prepare_from(&s, &reg, &inbox(), &FsTimes, analysis)
        .expect("the run goes ahead without the changed file");
    let report = warden_classify::run::commit(&mut s, p).expect("commit");
    assert_eq!(
        report.skipped,
        vec![skipped(
            "inbox/ledger_w.py",
            SkipReason::ChangedWhileClassifying
        )]
    );
    let paths: Vec<&str> = report.files.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["inbox/notes.py"]);
    assert!(f.exists("modules/ledger/notes.py"));
    assert_eq!(
        f.read("inbox/ledger_w.py"),
        "ledger, half written, and the rest\n",
        "the changed file stays where it is, as it is"
    );
}

#[test]
fn unclassifiable_inbox_entries_are_reported_as_skipped_not_silently_ignored() {
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new(SEED);
    f.write("inbox/notes.py", "ledger ulid append_only\n");
    let inbox_dir = f.root().join("inbox");
    std::fs::write(
        inbox_dir.join(std::ffi::OsStr::from_bytes(b"ledger_\xfe.py")),
        "z\n",
    )
    .expect("non-UTF-8 name");
    std::os::unix::fs::symlink("/etc/passwd", inbox_dir.join("ledger_link.py")).expect("symlink");
    std::os::unix::net::UnixListener::bind(inbox_dir.join("ledger.sock")).expect("socket");
    f.write("inbox/.warden-x1.tmp", "half an engine write\n");
    let made = std::process::Command::new("mkfifo")
        .arg(inbox_dir.join("ledger_fifo.py"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let a = f.dry_run();
    let mut got = a.skipped.clone();
    got.sort();
    assert_eq!(
        got,
        vec![
            skipped("inbox/.warden-x1.tmp", SkipReason::EngineTempFile),
            skipped("inbox/ledger.sock", SkipReason::Socket),
            skipped("inbox/ledger_fifo.py", SkipReason::Fifo),
            skipped("inbox/ledger_link.py", SkipReason::Symlink),
            Skipped::not_utf8(b"inbox/ledger_\xfe.py"),
        ]
    );
    let paths: Vec<&str> = a.files.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["inbox/notes.py"]);
    let report = f.classify();
    assert_eq!(report.skipped, got, "the real run reports them too");
}

#[test]
fn a_dry_run_over_the_file_limit_is_refused_as_the_real_run_is_in_the_users_terms() {
    let f = Fixture::new(SEED);
    let policy = std::fs::read_to_string(f.root().join(".warden/policy.yaml")).expect("policy");
    let narrowed = policy.replace("max_files: 1000", "max_files: 10");
    assert_ne!(narrowed, policy, "the default policy has max_files: 1000");
    f.write(".warden/policy.yaml", &narrowed);
    for i in 0..6 {
        f.write(&format!("inbox/ledger_{i}.py"), &format!("{i}\n"));
    }
    let before = f.user_tree();
    let repo = f.repo();
    let dry = warden_classify::run::dry_run(&repo, &f.registry(), &inbox(), &FsTimes)
        .expect_err("6 moves touch 12 paths, over max_files 10");
    let real = f.try_classify().expect_err("the real run is refused alike");
    assert_eq!(dry.to_string(), real.to_string());
    assert_eq!(dry.refusal(), Some(Refusal::Limit));
    assert_eq!(
        dry.to_string(),
        ".warden/policy.yaml: limits.max_files: 6 file(s) would move or go to quarantine, touching 12 paths, \
         more than limits.max_files = 10; one `warden classify` is one run (one `warden undo`), so nothing was moved"
    );
    assert_eq!(
        dry.hint().as_deref(),
        Some(
            "classify part of the inbox at a time (`warden classify inbox/SUBFOLDER`, at most 4 file(s) per run), \
             let `warden watch` place them in batches (one run each), or raise limits.max_files in .warden/policy.yaml"
        )
    );
    assert_eq!(f.user_tree(), before, "nothing was written");
    // Within the limit, the dry run's footprint is what the engine counts.
    f.write(".warden/policy.yaml", &policy);
    f.write("inbox/junk.bin", "\0\u{1}");
    let repo = f.repo();
    let a = f.dry_run();
    assert!(
        a.files
            .iter()
            .any(|d| d.action.as_deref() == Some("quarantine"))
    );
    let (paths, _) = warden_classify::checks::footprint(&a);
    let plan_paths = {
        let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
        let p =
            warden_classify::run::prepare(&s, &f.registry(), &inbox(), &FsTimes).expect("prepare");
        let n = p.plan.as_ref().map(|p| p.changes.len() as u64);
        drop(warden_classify::run::commit(&mut s, p));
        n
    };
    assert_eq!(Some(paths), plan_paths);
}

#[test]
fn a_file_outside_the_inbox_that_no_module_claims_is_no_longer_quarantined() {
    let f = Fixture::new(SEED);
    f.write("README.md", "hello\n");
    f.write("src/main.rs", "fn main() {}\n");
    f.write("inbox/holiday.bin", "\0\u{1}");
    let a = f.dry_run_paths(&["src", "README.md", "inbox"], false);
    let got: Vec<(&str, Option<&str>)> = a
        .files
        .iter()
        .map(|d| (d.path.as_str(), d.action.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("README.md", None),
            ("inbox/holiday.bin", Some("quarantine")),
            ("src/main.rs", None),
        ],
        "only the file dropped into the inbox goes to quarantine"
    );
    for d in a.files.iter().filter(|d| d.action.is_none()) {
        assert!(
            d.reason.starts_with("outside the inbox: left in place"),
            "{}",
            d.reason
        );
    }
}

#[test]
fn modules_import_errors_name_the_input_file_and_key_not_the_registry_not_yet_written() {
    let json = br#"{"A": {"keywords": ["a"], "folder": "../x"}, "B": {"keywords": ["b"]}}"#;
    let e = warden_classify::import::import(json, "/tmp/s1.json").expect_err("../x escapes");
    assert_eq!(
        e.to_string(),
        "/tmp/s1.json: \"A\".folder: path \"../x\" escapes the repository with '..'"
    );
}
