//! A repository in a temp dir (a `.git` folder is all the core needs) with
//! warden initialised, a pinned clock, and helpers for the classifier.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};
use warden_classify::classify::{Options, Scope};
use warden_classify::report::ClassifyReport;
use warden_classify::times::FsTimes;
use warden_core::modules::Modules;
use warden_core::{Context, Repo};

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub ctx: Context,
}

#[allow(unused_imports)] // not every test file uses it
pub use warden_testkit::modules::SEED;

impl Fixture {
    pub fn new(registry: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join(".git")).expect(".git");
        let ctx = Context::fixed(1_800_000_000);
        warden_core::repo::init(dir.path(), &ctx).expect("init");
        let f = Fixture { dir, ctx };
        f.write(".warden/modules.yaml", registry);
        f
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn repo(&self) -> Repo {
        Repo::open(self.root()).expect("open")
    }

    pub fn registry(&self) -> Modules {
        Modules::load(self.root()).expect("load").expect("registry")
    }

    pub fn write(&self, rel: &str, content: &str) {
        self.write_bytes(rel, content.as_bytes());
    }

    pub fn write_bytes(&self, rel: &str, content: &[u8]) {
        let p = self.root().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
    }

    /// Set a file's mtime to `secs` after 2026-01-01.
    pub fn touch(&self, rel: &str, secs: u64) {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600 + secs);
        let f = std::fs::File::options()
            .write(true)
            .open(self.root().join(rel))
            .expect("open");
        f.set_modified(t).expect("set mtime");
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.root().join(rel).exists()
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).expect("read")
    }

    /// `warden classify --dry-run` at library level.
    pub fn dry_run(&self) -> warden_classify::classify::Analysis {
        warden_classify::run::dry_run(&self.repo(), &self.registry(), &inbox(), &FsTimes)
            .expect("dry run")
    }

    /// `warden classify --yes` at library level.
    pub fn classify(&self) -> ClassifyReport {
        self.try_classify().expect("classify")
    }

    pub fn try_classify(&self) -> warden_core::Result<ClassifyReport> {
        let repo = self.repo();
        let mut s = repo.session(&self.ctx, false, &mut |_| {})?;
        let p = warden_classify::run::prepare(&s, &self.registry(), &inbox(), &FsTimes)?;
        warden_classify::run::commit(&mut s, p)
    }

    pub fn undo(&self, run: &str) {
        let repo = self.repo();
        let mut s = repo
            .session(&self.ctx, false, &mut |_| {})
            .expect("session");
        let actor = warden_core::proposal::Source {
            kind: "person".into(),
            id: "test".into(),
        };
        let plan = s.plan_undo(run, false, actor).expect("plan undo");
        s.apply(&plan).expect("undo");
    }

    /// Every file outside warden's own areas, with its content.
    pub fn user_tree(&self) -> BTreeMap<String, Vec<u8>> {
        let mut skip = warden_testkit::tree::OWN_AREAS.to_vec();
        skip.push(".quarantine");
        warden_testkit::tree::contents(self.root(), &skip)
    }

    /// Every file, the quarantine lane included (but not `.git`, `.warden`,
    /// `.ledger`, `.runs`), with its content.
    pub fn tree_with_lane(&self) -> BTreeMap<String, Vec<u8>> {
        warden_testkit::tree::contents(self.root(), warden_testkit::tree::OWN_AREAS)
    }

    /// A mixed inbox: a clear winner for each module, a binary file with no
    /// match (unclassified) and a tie (ambiguous).
    pub fn mixed_inbox(&self) {
        self.write("inbox/notes.py", "ledger ulid append_only\n");
        self.write("inbox/goal.md", "normalize the goal constraints\n");
        self.write("inbox/junk.bin", "\0\u{1}");
        self.write("inbox/goal_ledger.py", "x\n");
    }

    /// `warden classify --dry-run PATHS… [--reclassify]` at library level.
    pub fn dry_run_paths(
        &self,
        paths: &[&str],
        reclassify: bool,
    ) -> warden_classify::classify::Analysis {
        let paths = paths
            .iter()
            .map(|p| warden_core::paths::RepoPath::parse(p, "(test)", "path").expect("path"))
            .collect();
        let opts = Options {
            scope: Scope::Paths(paths),
            reclassify,
        };
        warden_classify::run::dry_run(&self.repo(), &self.registry(), &opts, &FsTimes)
            .expect("dry run")
    }
}

pub fn inbox() -> Options {
    Options {
        scope: Scope::Inbox,
        reclassify: false,
    }
}
