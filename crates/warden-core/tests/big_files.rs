//! Big files stream: content over `content::LARGE` is never embedded in the
//! journal or the run's artifacts, its before-state is kept in the content
//! store, its diff is summarised, and a crash at any step boundary of an
//! apply or an undo of big files recovers to the before- or the after-state
//! with the store consistent.
// Tests drive real files directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, dir_modes, manual, proposal, tree, try_apply, try_undo};
use serde_json::json;
use warden_core::Digest;
use warden_core::content::LARGE;
use warden_core::failpoint::{self, Action, RUN_POINTS};

/// `len` bytes of a pattern that differs per `seed`.
fn big(len: u64, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ seed.wrapping_mul(31))
        .collect()
}

fn write_bytes(f: &Fixture, rel: &str, bytes: &[u8]) {
    let p = f.root().join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, bytes).expect("write");
}

/// A repository with two big files and a staged big content outside it
/// (failpoints cleared), and the proposal that replaces one (from the staged
/// file), moves the other, and writes a small text file.
struct Setup {
    f: Fixture,
    staged: std::path::PathBuf,
    p: serde_json::Value,
    _staging: tempfile::TempDir,
}

fn setup() -> Setup {
    failpoint::clear();
    let f = Fixture::new();
    let staging = visible_staging();
    let staged = staging.path().join("new.bin");
    let old = big(3 * LARGE, 1);
    write_bytes(&f, "data/big.bin", &old);
    write_bytes(&f, "old/movie.bin", &big(2 * LARGE + 5, 2));
    f.write("notes.txt", "one\n", 0o644);
    let new = big(3 * LARGE + 7, 3);
    std::fs::write(&staged, &new).expect("stage");
    let p = manual(json!([
        {"kind": "write_file", "path": "data/big.bin", "content_file": staged.to_str().expect("utf-8"),
         "content_sha256": Digest::of(&new).hex(), "expect": {"sha256": Digest::of(&old).hex()}},
        {"kind": "move_file", "from": "old/movie.bin", "to": "new/movie.bin", "expect": "any"},
        {"kind": "write_file", "path": "notes.txt", "content": "two\n", "expect": "any"}
    ]));
    Setup {
        f,
        staged,
        p,
        _staging: staging,
    }
}

fn size(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

fn store_runs(f: &Fixture) -> Vec<String> {
    let dir = f.repo().layout.store_dir();
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn big_files_apply_and_undo_through_the_store_not_the_journal() {
    let _serial = common::serial();
    let Setup {
        f,
        staged,
        p,
        _staging,
    } = setup();
    let before = tree(f.root());
    let out = try_apply(&f, p).expect("apply");
    let run = out.entry.run.clone();
    assert_eq!(
        std::fs::read(f.root().join("data/big.bin")).expect("read"),
        std::fs::read(&staged).expect("staged"),
        "the staged content is in place"
    );
    let repo = f.repo();
    // Neither the journal nor the run's artifacts carry the content.
    let journal = size(&repo.layout.journal());
    assert!(journal < 64 * 1024, "journal is {journal} bytes");
    let run_dir = repo.layout.run_dir(&run);
    assert!(size(&run_dir.join("run.json")) < 64 * 1024);
    let diff = std::fs::read_to_string(run_dir.join("diff.patch")).expect("diff");
    assert!(diff.len() < 64 * 1024, "diff is {} bytes", diff.len());
    assert!(
        diff.contains("Binary/large file changed: sha256 ") && diff.contains("bytes)"),
        "{diff}"
    );
    assert!(
        diff.contains("-one\n+two\n"),
        "small files still diff: {diff}"
    );
    // The replaced and the moved-away before-states are in the store.
    assert_eq!(store_runs(&f), vec![run.clone()]);
    let after = tree(f.root());

    // Undo puts them back from the store, byte for byte, and the store
    // entries of the undone run are released.
    let undo = try_undo(&f, &run, false).expect("undo");
    assert_eq!(tree(f.root()), before, "undo restores every byte");
    assert_eq!(store_runs(&f), vec![undo.entry.run.clone()]);
    assert!(size(&repo.layout.journal()) < 128 * 1024);

    // The undo is itself undoable: redo.
    try_undo(&f, &undo.entry.run, false).expect("redo");
    assert_eq!(tree(f.root()), after, "redo restores the after-state");
    assert!(repo.ledger().verify().expect("verify").ok);
}

#[test]
fn every_step_boundary_of_a_big_file_apply_and_undo_recovers() {
    let _serial = common::serial();
    let at = |name: &str| RUN_POINTS.iter().position(|p| *p == name).expect("point");
    let actor = || warden_core::proposal::Source {
        kind: "person".into(),
        id: "test".into(),
    };
    for undo in [false, true] {
        for (i, point) in RUN_POINTS.iter().enumerate() {
            let Setup { f, p, _staging, .. } = setup();
            let repo = f.repo();
            let mut first = None;
            if undo {
                first = Some(try_apply(&f, p.clone()).expect("apply").entry.run);
            }
            let (files_before, dirs_before) = (tree(f.root()), dir_modes(f.root()));
            failpoint::arm(point, Action::Error);
            let run = {
                let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
                let plan = match &first {
                    Some(r) => s.plan_undo(r, false, actor()).expect("plan undo"),
                    None => {
                        let (prop, digest) = proposal(p.clone());
                        s.plan(&prop, digest, "p.json").expect("plan")
                    }
                };
                let err = s.apply(&plan).expect_err("interrupted");
                assert!(err.to_string().contains(point), "{point}: {err}");
                plan.run
            };
            failpoint::clear();
            drop(repo.session(&f.ctx, false, &mut |_| {}).expect("recovers"));
            let committed = i >= at("run.after_ledger");
            let (files, dirs) = (tree(f.root()), dir_modes(f.root()));
            if committed {
                assert_ne!(files, files_before, "{point} (undo: {undo}): after-state");
            } else {
                assert_eq!(files, files_before, "{point} (undo: {undo}): before-state");
                assert_eq!(dirs, dirs_before, "{point} (undo: {undo}): directories");
                assert!(
                    !store_runs(&f).contains(&run),
                    "{point} (undo: {undo}): a rolled-back run's store entries are released"
                );
            }
            if committed && undo {
                let first = first.as_deref().expect("first");
                assert!(
                    !store_runs(&f).iter().any(|r| r == first),
                    "{point}: the undone run's entries are released"
                );
            }
            assert!(repo.ledger().verify().expect("verify").ok, "{point}");
            // The result is consistent: whatever state recovery chose can
            // still be undone or re-applied (its content is where the
            // journal says).
            let s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
            assert!(s.recovered.is_empty(), "{point}: recovery is idempotent");
            drop(s);
            if committed {
                try_undo(&f, &run, false).expect("the recovered run undoes");
                assert_eq!(tree(f.root()), files_before, "{point} (undo: {undo})");
            }
        }
    }
}

#[test]
fn a_big_file_changed_by_someone_else_mid_crash_moves_to_quarantine() {
    let _serial = common::serial();
    let Setup { f, p, _staging, .. } = setup();
    let old = std::fs::read(f.root().join("data/big.bin")).expect("read");
    let repo = f.repo();
    failpoint::arm("run.after_renames", Action::Error);
    {
        let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
        let (prop, digest) = proposal(p);
        let plan = s.plan(&prop, digest, "p.json").expect("plan");
        s.apply(&plan).expect_err("interrupted");
    }
    failpoint::clear();
    let theirs = big(2 * LARGE, 9);
    write_bytes(&f, "data/big.bin", &theirs);
    let s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let rec = &s.recovered[0];
    assert_eq!(rec.preserved.len(), 1, "{rec:?}");
    assert_eq!(
        std::fs::read(f.root().join(&rec.preserved[0])).expect("kept"),
        theirs
    );
    assert_eq!(
        std::fs::read(f.root().join("data/big.bin")).expect("read"),
        old
    );
}

#[test]
fn a_staged_file_changed_after_the_plan_fails_the_run_and_rolls_it_back() {
    let _serial = common::serial();
    let Setup {
        f,
        staged,
        p,
        _staging,
    } = setup();
    let before = tree(f.root());
    let repo = f.repo();
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let (prop, digest) = proposal(p);
    let plan = s.plan(&prop, digest, "p.json").expect("plan");
    std::fs::write(&staged, big(3 * LARGE + 7, 4)).expect("restage");
    let err = s.apply(&plan).expect_err("refused");
    assert!(err.to_string().contains("changed since"), "{err}");
    drop(s);
    assert_eq!(tree(f.root()), before, "nothing of the run is left");
    let last = repo.ledger().entries().expect("entries");
    assert_eq!(
        last.last().map(|e| e.result),
        Some(warden_core::ledger::RunResult::RolledBack)
    );
}

/// A staging directory for `content_file`: visible (tempfile's default name
/// starts with a dot, and a hidden directory is refused as a staging place).
fn visible_staging() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("warden-staging-")
        .tempdir()
        .expect("staging")
}

#[test]
fn a_100_mib_move_is_not_charged_against_max_bytes_with_the_default_policy() {
    // The failpoints are one per process: the tests that arm them run one
    // at a time, and so must any test that applies while they might be armed.
    let _serial = common::serial();
    failpoint::clear();
    let f = Fixture::new();
    let path = f.root().join("scans/big.pdf");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    // Sparse: 100 MiB that take no disk until the engine copies them.
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(100 << 20).expect("truncate");
    drop(file);
    let limits = &f.repo().policy.file.limits;
    assert!(
        limits.max_bytes < 100 << 20,
        "the default limit is below the file"
    );
    let moved = manual(json!([
        {"kind": "move_file", "from": "scans/big.pdf", "to": "archive/big.pdf", "expect": "any"}
    ]));
    let out = try_apply(&f, moved).expect("a move writes no new content");
    assert!(!path.exists() && f.root().join("archive/big.pdf").exists());
    // Writing the same bytes as new content is still refused.
    let staging = visible_staging();
    let staged = staging.path().join("big.pdf");
    std::fs::File::create(&staged)
        .and_then(|s| s.set_len(100 << 20))
        .expect("stage");
    let zeros = warden_core::content::hash_file(&staged).expect("hash").0;
    let written = manual(json!([
        {"kind": "write_file", "path": "copy.pdf", "content_file": staged.to_str().expect("utf-8"),
         "content_sha256": zeros.hex(), "expect": "absent"}
    ]));
    let err = try_apply(&f, written).expect_err("new content over the limit");
    assert_eq!(
        err.to_string(),
        format!(
            "p.json: actions: the run would write {} bytes of new content, more than limits.max_bytes = {} of policy {}",
            100u64 << 20,
            limits.max_bytes,
            f.repo().policy.file.version
        )
    );
    try_undo(&f, &out.entry.run, false).expect("undo the move");
    assert!(path.exists());
}

/// A repository with a file of `len` bytes at `data/big.bin`, replaced by a
/// staged file of the same size: the applied run's id and the staging area.
fn apply_big_write(f: &Fixture, len: u64) -> (String, tempfile::TempDir) {
    let staging = visible_staging();
    let staged = staging.path().join("new.bin");
    let old = vec![1u8; len as usize];
    let new = vec![2u8; len as usize];
    write_bytes(f, "data/big.bin", &old);
    std::fs::write(&staged, &new).expect("stage");
    let p = manual(json!([
        {"kind": "write_file", "path": "data/big.bin", "content_file": staged.to_str().expect("utf-8"),
         "content_sha256": Digest::of(&new).hex(), "expect": {"sha256": Digest::of(&old).hex()}}
    ]));
    let out = try_apply(f, p).expect("apply");
    (out.entry.run.clone(), staging)
}

/// The `written` stamps of the journal's last frame, a done frame.
fn last_written(f: &Fixture) -> Vec<warden_core::journal::Written> {
    let journal = warden_core::journal::Journal::open(&f.repo().layout.journal()).expect("journal");
    match journal.tail().expect("tail") {
        warden_core::journal::Tail::Frame(frame) => match frame.header {
            warden_core::journal::FrameHeader::Done { written, .. } => written,
            other => panic!("the last frame is not a done frame: {other:?}"),
        },
        _ => panic!("no last frame"),
    }
}

/// A file of 64 MiB or more that a run wrote is stamped once it settled, so
/// an undo right after the run takes it as what the run wrote by its stamp
/// instead of hashing it again (a second SHA-256 pass over a 2 GiB file
/// cost the undo 1.1 s of its 1.45 s).
#[test]
fn a_big_file_a_run_wrote_is_recorded_with_its_settled_stamp_and_undone_by_it() {
    let _serial = common::serial();
    failpoint::clear();
    let f = Fixture::new();
    let (run, _staging) = apply_big_write(&f, 64 << 20);
    let written = last_written(&f);
    assert_eq!(written.len(), 1, "{written:?}");
    assert_eq!(written[0].path.as_str(), "data/big.bin");
    assert!(written[0].stamp.holds(&f.root().join("data/big.bin")));
    try_undo(&f, &run, false).expect("undo");
    assert_eq!(
        std::fs::read(f.root().join("data/big.bin")).expect("read"),
        vec![1u8; 64 << 20],
        "undo put the before-state back"
    );
    assert!(f.repo().ledger().verify().expect("verify").ok);
}

/// A stamp never stands in for a file rewritten after its run: a same-size
/// rewrite with its modification time put back still moves the change
/// time, so the undo reads the file, sees the drift and refuses.
#[test]
fn a_big_file_rewritten_after_its_run_with_its_mtime_put_back_is_still_drift() {
    let _serial = common::serial();
    failpoint::clear();
    let f = Fixture::new();
    let (run, _staging) = apply_big_write(&f, 64 << 20);
    assert_eq!(last_written(&f).len(), 1);
    let path = f.root().join("data/big.bin");
    let mtime = std::fs::metadata(&path)
        .expect("stat")
        .modified()
        .expect("mtime");
    std::fs::write(&path, vec![3u8; 64 << 20]).expect("rewrite");
    std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("open")
        .set_modified(mtime)
        .expect("set mtime");
    let err = try_undo(&f, &run, false).expect_err("drift must be refused");
    assert!(err.to_string().contains("changed since run"), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), vec![3u8; 64 << 20]);
}

/// The staged temp file of the run's one big new file, once it exists with
/// all of its `len` bytes.
fn wait_for_staged(dir: &std::path::Path, len: u64) -> std::path::PathBuf {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let found = std::fs::read_dir(dir).ok().and_then(|rd| {
            rd.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(".warden-") && n.ends_with(".tmp"))
                    && size(p) == len
            })
        });
        if let Some(p) = found {
            return p;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    panic!(
        "no staged temp file of {len} bytes appeared in {}",
        dir.display()
    );
}

/// A write into a big file's temp after it was staged, while the run still
/// stages or keeps other files, must not be recorded as the run's own
/// content: the undo would then trust the stamp and throw that write away
/// unseen. The stamp taken when the file was staged no longer holds before
/// the rename, so none is recorded and the undo sees the drift.
#[test]
fn a_write_into_a_staged_temp_file_before_its_rename_is_not_stamped_as_the_runs_content() {
    let _serial = common::serial();
    failpoint::clear();
    let f = Fixture::new();
    let len = 2 * LARGE;
    let staging = visible_staging();
    let staged = staging.path().join("new.bin");
    let new = vec![2u8; len as usize];
    std::fs::create_dir_all(f.root().join("data")).expect("mkdir");
    std::fs::write(&staged, &new).expect("stage");
    let p = manual(json!([
        {"kind": "write_file", "path": "data/big.bin", "content_file": staged.to_str().expect("utf-8"),
         "content_sha256": Digest::of(&new).hex(), "expect": "absent"}
    ]));
    // Time to write between staging and renaming, and enough after the
    // rename for a file under 64 MiB to be stamped without a wait.
    failpoint::arm("run.after_stage", Action::Sleep(1500));
    failpoint::arm("run.after_renames", Action::Sleep(60));
    let data = f.root().join("data");
    let writer = std::thread::spawn(move || {
        let temp = wait_for_staged(&data, len);
        std::thread::sleep(std::time::Duration::from_millis(500));
        use std::os::unix::fs::FileExt;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&temp)
            .expect("open the temp file")
            .write_all_at(b"EVIL", 0)
            .expect("write");
    });
    let run = try_apply(&f, p).expect("apply").entry.run.clone();
    writer.join().expect("writer");
    failpoint::clear();
    assert!(
        std::fs::read(f.root().join("data/big.bin"))
            .expect("read")
            .starts_with(b"EVIL"),
        "the write reached the file"
    );
    assert_eq!(last_written(&f), Vec::new(), "no stamp stands for it");
    let err = try_undo(&f, &run, false).expect_err("the drift must be seen");
    assert!(err.to_string().contains("changed since run"), "{err}");
}

/// A big file with a second name outside the repository (`ln`) keeps its
/// before-state in the content store as a copy, not as a third name: a
/// write through the outside name after the run would otherwise change
/// what the undo puts back.
#[test]
fn a_before_state_with_an_outside_hard_link_is_kept_as_a_copy_not_a_shared_inode() {
    let _serial = common::serial();
    failpoint::clear();
    let f = Fixture::new();
    let outside = tempfile::tempdir().expect("tempdir");
    let len = 2 * LARGE;
    let old = vec![b'a'; len as usize];
    write_bytes(&f, "data/big.bin", &old);
    let link = outside.path().join("outside.bin");
    if std::fs::hard_link(f.root().join("data/big.bin"), &link).is_err() {
        eprintln!("skipped: the temp directory is on another file system");
        return;
    }
    let p = manual(json!([
        {"kind": "write_file", "path": "data/big.bin", "content": "new\n",
         "expect": {"sha256": Digest::of(&old).hex()}}
    ]));
    let run = try_apply(&f, p).expect("apply").entry.run.clone();
    {
        use std::os::unix::fs::FileExt;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&link)
            .expect("open the outside link")
            .write_all_at(b"YYYY", 0)
            .expect("write");
    }
    try_undo(&f, &run, false).expect("undo");
    assert_eq!(
        Digest::of(&std::fs::read(f.root().join("data/big.bin")).expect("read")),
        Digest::of(&old),
        "undo put back the bytes the run replaced"
    );
    assert!(f.repo().ledger().verify().expect("verify").ok);
}
