//! G5: a run interrupted at any step boundary leaves, after the automatic
//! recovery at the next start, the tree byte-for-byte in its before-state or its
//! after-state, and a ledger that verifies.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, dir_modes, proposal, sha, tree};
use serde_json::json;
use std::collections::BTreeMap;
use warden_core::Repo;
use warden_core::engine::{RecoveryOutcome, Session};
use warden_core::failpoint::{self, Action, RUN_POINTS};
use warden_core::ledger::{Entry, RunResult};

/// A proposal touching every kind of change: modify (with a mode change),
/// add in a new directory, move, quarantine, fence patch.
fn setup(f: &Fixture) -> serde_json::Value {
    f.write("a.txt", "alpha\n", 0o644);
    f.write("tool.sh", "#!/bin/sh\necho old\n", 0o755);
    f.write("old/name.txt", "moving\n", 0o600);
    common::set_mode(&f.root().join("old"), 0o700);
    f.write("stray.tmp", "stray\n", 0o644);
    f.write(
        "cfg.py",
        "# BEGIN AUTO SECTION: X\nx = 1\n# END AUTO SECTION: X\n",
        0o644,
    );
    f.write("untouched.txt", "keep\n", 0o644);
    json!({
        "schema": "warden.proposal/v1",
        "source": {"kind": "person", "id": "test"},
        "event": "Manual",
        "actions": [
            {"kind": "write_file", "path": "a.txt", "content": "ALPHA\n", "expect": {"sha256": sha("alpha\n")}},
            {"kind": "write_file", "path": "tool.sh", "content": "#!/bin/sh\necho new\n", "expect": {"sha256": sha("#!/bin/sh\necho old\n")}, "executable": false},
            {"kind": "write_file", "path": "new/deep/file.md", "content": "fresh\n", "expect": "absent"},
            {"kind": "move_file", "from": "old/name.txt", "to": "moved/name.txt", "expect": {"sha256": sha("moving\n")}},
            {"kind": "quarantine", "path": "stray.tmp", "reason": "test"},
            {"kind": "patch_region", "path": "cfg.py", "fence": "X", "content": "x = 2\n"}
        ]
    })
}

type Tree = BTreeMap<String, (Vec<u8>, u32)>;
type Dirs = BTreeMap<String, u32>;

/// The quarantine path contains the run id, which differs per repository:
/// name every lane file `.quarantine/RUN/<name>` and drop the lane's index.
fn normalise(t: &mut Tree) {
    let keys: Vec<String> = t
        .keys()
        .filter(|k| k.starts_with(".quarantine/"))
        .cloned()
        .collect();
    for k in keys {
        let v = t.remove(&k).expect("present");
        let name = k.rsplit('/').next().expect("name").to_string();
        if name != "index.json" {
            t.insert(format!(".quarantine/RUN/{name}"), v);
        }
    }
}

/// Directories without the lane's (its run directory is named after the run).
fn no_lane(mut d: Dirs) -> Dirs {
    d.retain(|k, _| !k.starts_with(".quarantine"));
    d
}

/// The expected after-state (files, directories), from an uninterrupted run
/// in a twin repository.
fn uninterrupted_after_state() -> (Tree, Dirs) {
    let twin = Fixture::new();
    let p = setup(&twin);
    let repo = twin.repo();
    let (prop, digest) = proposal(p);
    let mut s = repo
        .session(&twin.ctx, false, &mut |_| {})
        .expect("session");
    let plan = s.plan(&prop, digest, "test.json").expect("plan");
    s.apply(&plan).expect("apply");
    drop(s);
    let mut after = tree(twin.root());
    normalise(&mut after);
    (after, no_lane(dir_modes(twin.root())))
}

/// A run interrupted at `point`, one of [`RUN_POINTS`].
struct Crash {
    point: &'static str,
    /// The intent was durable: the run is recovered and ledgered.
    started: bool,
    /// The ledger entry was written: recovery completes the run.
    committed: bool,
}

impl Crash {
    fn at(i: usize) -> Crash {
        let at = |name: &str| RUN_POINTS.iter().position(|p| *p == name).expect("point");
        Crash {
            point: RUN_POINTS[i],
            started: i >= at("run.after_intent"),
            committed: i >= at("run.after_ledger"),
        }
    }

    /// Apply the proposal with the failpoint armed: the run must stop there.
    fn interrupt(&self, f: &Fixture, repo: &Repo, p: serde_json::Value) {
        let point = self.point;
        let (prop, digest) = proposal(p);
        failpoint::clear();
        failpoint::arm(point, Action::Error);
        {
            let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
            let plan = s.plan(&prop, digest, "test.json").expect("plan");
            let err = s
                .apply(&plan)
                .expect_err("failpoint must interrupt the run");
            assert!(err.to_string().contains(point), "{point}: {err}");
        }
        failpoint::clear();
    }

    /// The next start recovered the run, completing it once committed and
    /// rolling it back before. Before the intent is durable nothing was
    /// touched and nothing is recovered.
    fn check_recovery(&self, s: &Session) {
        let point = self.point;
        if !self.started || point == "run.after_done" {
            return;
        }
        assert_eq!(
            s.recovered.len(),
            1,
            "{point}: recovery should have found the run"
        );
        assert_eq!(
            s.recovered[0].outcome,
            if self.committed {
                RecoveryOutcome::Completed
            } else {
                RecoveryOutcome::RolledBack
            },
            "{point}"
        );
    }

    /// Files and directories equal the after-state once committed, the
    /// before-state (with its directory modes) before.
    fn check_tree(&self, f: &Fixture, before: &(Tree, Dirs), after: &(Tree, Dirs)) {
        let point = self.point;
        let mut now = tree(f.root());
        normalise(&mut now);
        if self.committed {
            assert_eq!(now, after.0, "{point}: tree must equal the after-state");
            assert_eq!(
                no_lane(dir_modes(f.root())),
                after.1,
                "{point}: directories must equal the after-state"
            );
        } else {
            assert_eq!(now, before.0, "{point}: tree must equal the before-state");
            assert_eq!(
                dir_modes(f.root()),
                before.1,
                "{point}: directories (and their modes) must equal the before-state"
            );
        }
    }

    /// The ledger verifies and holds exactly one entry for a started run
    /// (applied once committed, rolled back before), none otherwise; the
    /// derived index agrees with the chain.
    fn check_ledger(&self, repo: &Repo) {
        let point = self.point;
        let verify = repo.ledger().verify().expect("verify");
        assert!(verify.ok, "{point}: {:?}", verify.problem);
        let entries = repo.ledger().entries().expect("entries");
        if self.started {
            assert_eq!(
                entries.len(),
                1,
                "{point}: exactly one ledger entry for the run"
            );
            assert_eq!(
                entries[0].result,
                if self.committed {
                    RunResult::Applied
                } else {
                    RunResult::RolledBack
                },
                "{point}"
            );
        } else {
            assert!(
                entries.is_empty(),
                "{point}: a run that never started is not ledgered"
            );
        }
        check_index(repo, &entries, point);
    }
}

/// The derived ledger index agrees with the chain's `entries`.
fn check_index(repo: &Repo, entries: &[Entry], point: &str) {
    let sum = repo.ledger().summary().expect("summary");
    assert_eq!(sum.entries, entries.len() as u64, "{point}: index entries");
    assert_eq!(
        sum.failures,
        entries
            .iter()
            .filter(|e| e.result == RunResult::RolledBack)
            .count() as u64,
        "{point}: index failures"
    );
    assert_eq!(
        sum.last_success.map(|b| b.run),
        entries
            .iter()
            .rev()
            .find(|e| e.result == RunResult::Applied)
            .map(|e| e.run.clone()),
        "{point}: index last success"
    );
}

#[test]
fn every_step_boundary_recovers_to_before_or_after() {
    let _serial = common::serial();
    let after = uninterrupted_after_state();
    for i in 0..RUN_POINTS.len() {
        let crash = Crash::at(i);
        let f = Fixture::new();
        let p = setup(&f);
        let before = (tree(f.root()), dir_modes(f.root()));
        let repo = f.repo();
        crash.interrupt(&f, &repo, p);
        // The next start recovers.
        let s = repo
            .session(&f.ctx, false, &mut |_| {})
            .expect("session after crash");
        crash.check_recovery(&s);
        drop(s);
        crash.check_tree(&f, &before, &after);
        crash.check_ledger(&repo);
        // A second start finds nothing more to do.
        let s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
        assert!(
            s.recovered.is_empty(),
            "{}: recovery must be idempotent",
            crash.point
        );
    }
}

#[test]
fn torn_journal_and_ledger_tails_are_cut_at_the_next_start() {
    let _serial = common::serial();
    use std::io::Write;
    let f = Fixture::new();
    let p = setup(&f);
    let repo = f.repo();
    let (prop, digest) = proposal(p);
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let plan = s.plan(&prop, digest, "test.json").expect("plan");
    s.apply(&plan).expect("apply");
    drop(s);
    let after = tree(f.root());
    // A crash in the middle of the next run's intent append and of a ledger append.
    let append = |p: std::path::PathBuf, bytes: &[u8]| {
        std::fs::OpenOptions::new()
            .append(true)
            .open(p)
            .expect("open")
            .write_all(bytes)
            .expect("write");
    };
    append(repo.layout.journal(), b"WRDNFRM1\x10\x00\x00");
    append(
        repo.ledger().chain_path(&repo.writer),
        b"{\"schema\":\"warden.ledger/v1\",\"seq\":2,",
    );
    assert!(
        !repo.ledger().verify().expect("verify").ok,
        "a torn line is visible before recovery"
    );
    let s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    assert!(s.recovered.is_empty());
    drop(s);
    assert_eq!(tree(f.root()), after);
    assert!(repo.ledger().verify().expect("verify").ok);
}

#[test]
fn a_file_changed_by_someone_else_mid_crash_is_preserved_in_quarantine() {
    let _serial = common::serial();
    let f = Fixture::new();
    let p = setup(&f);
    let repo = f.repo();
    let (prop, digest) = proposal(p);
    failpoint::clear();
    failpoint::arm("run.after_renames", Action::Error);
    {
        let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
        let plan = s.plan(&prop, digest, "test.json").expect("plan");
        s.apply(&plan).expect_err("interrupted");
    }
    failpoint::clear();
    // Between the crash and the next start, someone edits a.txt.
    f.write("a.txt", "someone else's work\n", 0o644);
    let s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let rec = &s.recovered[0];
    assert_eq!(
        rec.outcome,
        warden_core::engine::RecoveryOutcome::RolledBack
    );
    assert_eq!(rec.preserved.len(), 1, "{rec:?}");
    let kept = std::fs::read_to_string(f.root().join(&rec.preserved[0])).expect("preserved copy");
    assert_eq!(kept, "someone else's work\n");
    assert_eq!(
        std::fs::read_to_string(f.root().join("a.txt")).expect("a"),
        "alpha\n"
    );
}

#[test]
fn every_step_boundary_of_an_undo_recovers_files_and_directories() {
    let _serial = common::serial();
    let actor = || warden_core::proposal::Source {
        kind: "person".into(),
        id: "test".into(),
    };
    for (i, point) in RUN_POINTS.iter().enumerate() {
        let f = Fixture::new();
        let p = setup(&f);
        let (files_before, dirs_before) = (tree(f.root()), dir_modes(f.root()));
        let repo = f.repo();
        let (prop, digest) = proposal(p);
        let run = {
            let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
            let plan = s.plan(&prop, digest, "test.json").expect("plan");
            s.apply(&plan).expect("apply").entry.run
        };
        let (files_after, dirs_after) = (tree(f.root()), dir_modes(f.root()));
        failpoint::clear();
        failpoint::arm(point, Action::Error);
        {
            let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
            let plan = s.plan_undo(&run, false, actor()).expect("plan undo");
            s.apply(&plan)
                .expect_err("failpoint must interrupt the undo");
        }
        failpoint::clear();
        drop(repo.session(&f.ctx, false, &mut |_| {}).expect("recovers"));
        let at = |name: &str| RUN_POINTS.iter().position(|p| *p == name).expect("point");
        if i >= at("run.after_ledger") {
            assert_eq!(tree(f.root()), files_before, "{point}: undone");
            assert_eq!(dir_modes(f.root()), dirs_before, "{point}: undone dirs");
        } else {
            assert_eq!(tree(f.root()), files_after, "{point}: undo rolled back");
            assert_eq!(dir_modes(f.root()), dirs_after, "{point}: dirs kept");
        }
        assert!(repo.ledger().verify().expect("verify").ok, "{point}");
    }
}

#[test]
fn a_forged_intent_naming_a_git_hook_is_refused_not_rolled_back_into_place() {
    // An intent frame warden never wrote (a plugin run without the file
    // system sandbox could append one): rolling it back would create the
    // hook it names, and git would run it at the next commit.
    use warden_core::journal::{self, FrameHeader, Intent, Journal, StateRecord, TransitionRecord};
    use warden_core::paths::RepoPath;
    let _serial = common::serial();
    let f = Fixture::new();
    let repo = f.repo();
    let hook = b"#!/bin/sh\ntouch owned\n";
    let path = RepoPath::parse(".git/hooks/pre-commit", "test", "path").expect("a path");
    let intent = Intent {
        run: "01FORGEDRUN0000000000000000".into(),
        meta: json!({}),
        transitions: vec![TransitionRecord {
            path,
            before: StateRecord::File {
                digest: warden_core::Digest::of(hook),
                mode: 0o755,
                blob: Some((0, hook.len() as u64)),
                store: None,
            },
            after: StateRecord::Absent,
            temp: None,
        }],
        dirs: Vec::new(),
    };
    let frame = journal::encode(&FrameHeader::Intent(intent), hook).expect("encode");
    Journal::open(&repo.layout.journal())
        .expect("journal")
        .append(&frame, true)
        .expect("append");
    let before = tree(f.root());
    let e = repo
        .session(&f.ctx, false, &mut |_| {})
        .map(|_| ())
        .expect_err("refused");
    let msg = e.to_string();
    assert!(
        msg.contains("\".git/hooks/pre-commit\" inside .git/, which no run ever writes"),
        "{msg}"
    );
    assert!(!f.root().join(".git/hooks/pre-commit").exists());
    assert_eq!(tree(f.root()), before);
}

#[test]
fn after_the_journal_is_put_back_by_restore_paths_the_session_writes_to_the_one_put_back() {
    // restore_paths moves the current journal to the quarantine lane and
    // writes the before-state in its place; the session must not keep
    // writing its frames into the quarantined file.
    let _serial = common::serial();
    let f = Fixture::new();
    f.write("a.txt", "alpha\n", 0o644);
    let repo = f.repo();
    let journal = repo.layout.journal();
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let was = std::fs::read(&journal).expect("journal");
    std::fs::write(&journal, [was.as_slice(), b"forged"].concat()).expect("tamper");
    let rel = journal
        .strip_prefix(f.root())
        .expect("inside")
        .to_string_lossy()
        .into_owned();
    let kept = s
        .restore_paths(
            "01RESTORERUN00000000000000",
            "p-repo-writes",
            &[(rel, Some((was.clone(), 0o644)))],
        )
        .expect("restore");
    assert_eq!(std::fs::read(&journal).expect("journal"), was);
    let (prop, digest) = proposal(json!({
        "schema": "warden.proposal/v1",
        "source": {"kind": "person", "id": "test"},
        "event": "Manual",
        "actions": [{"kind": "write_file", "path": "a.txt", "content": "ALPHA\n", "expect": {"sha256": sha("alpha\n")}}]
    }));
    let plan = s.plan(&prop, digest, "test.json").expect("plan");
    s.apply(&plan).expect("apply");
    drop(s);
    assert!(
        std::fs::read(&journal).expect("journal").len() > was.len(),
        "the run's frames went to the journal put back"
    );
    assert_eq!(
        std::fs::read(f.root().join(&kept[0])).expect("quarantined"),
        [was.as_slice(), b"forged"].concat(),
        "nothing more was written into the quarantined journal"
    );
}
