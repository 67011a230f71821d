//! Shared fixtures for warden-core integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use warden_core::proposal::Proposal;
use warden_core::{Context, Digest, Repo};

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub ctx: Context,
}

impl Fixture {
    /// A repository (a `.git` directory is all the core needs) with warden initialised.
    /// Its directory's name is visible (tempfile's default starts with a
    /// dot): a staged `content_file` is refused from a hidden directory,
    /// and tests stage some inside the repository to see that refusal.
    pub fn new() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("warden-repo-")
            .tempdir()
            .expect("tempdir");
        std::fs::create_dir(dir.path().join(".git")).expect(".git");
        let ctx = Context::fixed(1_800_000_000);
        warden_core::repo::init(dir.path(), &ctx).expect("init");
        Fixture { dir, ctx }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn repo(&self) -> Repo {
        Repo::open(self.root()).expect("open")
    }

    pub fn write(&self, rel: &str, content: &str, mode: u32) {
        let p = self.root().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
        set_mode(&p, mode);
    }
}

#[cfg(unix)]
pub fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(unix)]
fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("meta").permissions().mode() & 0o7777
}

/// Visit every entry under `root` outside warden's and git's own areas, with
/// its repository-relative path and whether it is a directory.
fn visit(root: &Path, f: &mut dyn FnMut(String, &Path, bool)) {
    fn walk(root: &Path, dir: &Path, f: &mut dyn FnMut(String, &Path, bool)) {
        for ent in std::fs::read_dir(dir).expect("read_dir") {
            let ent = ent.expect("entry");
            let p = ent.path();
            let rel = p
                .strip_prefix(root)
                .expect("prefix")
                .to_string_lossy()
                .replace('\\', "/");
            if [".git", ".warden", ".ledger", ".runs"]
                .iter()
                .any(|x| rel == *x)
            {
                continue;
            }
            let is_dir = ent.file_type().expect("type").is_dir();
            f(rel, &p, is_dir);
            if is_dir {
                walk(root, &p, f);
            }
        }
    }
    walk(root, root, f);
}

/// Every file under `root` outside warden's and git's own areas: path -> (bytes, mode).
pub fn tree(root: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    use warden_testkit::tree;
    tree::files(root, tree::OWN_AREAS)
        .into_iter()
        .map(|(k, f)| (k, (f.bytes, f.mode)))
        .collect()
}

pub fn sha(s: &str) -> String {
    Digest::of(s.as_bytes()).hex()
}

pub fn proposal(v: serde_json::Value) -> (Proposal, Digest) {
    Proposal::from_value(&v, "test.json").expect("valid proposal")
}

pub fn path(root: &Path, rel: &str) -> PathBuf {
    root.join(rel)
}

/// Failpoints are process-global: tests that arm them run one at a time.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every directory under `root` outside warden's and git's own areas, with its mode.
#[cfg(unix)]
pub fn dir_modes(root: &Path) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    visit(root, &mut |rel, p, is_dir| {
        if is_dir {
            out.insert(rel, mode_of(p));
        }
    });
    out
}

/// Plan and apply a proposal given as JSON, in a fresh session.
pub fn try_apply(
    f: &Fixture,
    v: serde_json::Value,
) -> warden_core::Result<warden_core::engine::Outcome> {
    let repo = f.repo();
    let (prop, digest) = Proposal::from_value(&v, "p.json")?;
    let mut s = repo.session(&f.ctx, false, &mut |_| {})?;
    let plan = s.plan(&prop, digest, "p.json")?;
    s.apply(&plan)
}

/// A proposal by a person on the Manual event.
pub fn manual(actions: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "schema": "warden.proposal/v1",
        "source": {"kind": "person", "id": "test"},
        "event": "Manual",
        "actions": actions,
    })
}

/// Undo `run` in a fresh session.
pub fn try_undo(
    f: &Fixture,
    run: &str,
    force: bool,
) -> warden_core::Result<warden_core::engine::Outcome> {
    let repo = f.repo();
    let mut s = repo.session(&f.ctx, false, &mut |_| {})?;
    let actor = warden_core::proposal::Source {
        kind: "person".into(),
        id: "test".into(),
    };
    let plan = s.plan_undo(run, force, actor)?;
    s.apply(&plan)
}

/// The repository is not wedged: the ledger verifies, recovery has nothing
/// left to do, and an ordinary proposal still applies.
pub fn still_works(f: &Fixture, tag: &str) {
    let repo = f.repo();
    let v = repo.ledger().verify().expect("verify");
    assert!(v.ok, "{tag}: ledger does not verify: {:?}", v.problem);
    assert!(
        !warden_core::engine::needs_recovery(&repo).expect("needs_recovery"),
        "{tag}: a run still waits for recovery"
    );
    warden_core::status::status(&repo).expect("status must work");
    let probe = format!(
        "probe-{}.txt",
        repo.ledger().entries().expect("entries").len()
    );
    let out = try_apply(
        f,
        manual(serde_json::json!([{"kind": "write_file", "path": probe, "content": "ok\n", "expect": "absent"}])),
    )
    .unwrap_or_else(|e| panic!("{tag}: a normal proposal no longer applies: {e}"));
    assert_eq!(
        out.entry.result,
        warden_core::ledger::RunResult::Applied,
        "{tag}"
    );
}

/// The lines of this clone's ledger chain.
pub fn chain_lines(repo: &Repo) -> Vec<String> {
    std::fs::read_to_string(repo.ledger().chain_path(&repo.writer))
        .expect("chain")
        .lines()
        .map(str::to_string)
        .collect()
}

/// Replace this clone's ledger chain with `lines` (tampering, in tests).
pub fn write_chain_lines(repo: &Repo, lines: &[String]) {
    let mut s = lines.join("\n");
    s.push('\n');
    std::fs::write(repo.ledger().chain_path(&repo.writer), s).expect("write");
}
