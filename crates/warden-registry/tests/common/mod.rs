//! A throwaway governed repository with a small capability registry, real
//! hermetic git (the shared test kit's `Sandbox`), and the registry
//! maintainer driven as the CLI drives it.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use warden_core::git::Git;
use warden_core::{Context, Repo};
use warden_registry::maintain::{
    self, Checker, Decided, MaintainReport, Options, Planner, Prepared,
};
use warden_registry::patch::RegistryPatch;
use warden_testkit::Sandbox;

pub const DATE: &str = "2026-11-29";

pub fn entry(id: &str, vector: [u8; 4], paths: &[&str], extra: &str) -> String {
    warden_testkit::registry::entry(
        id,
        id,
        vector,
        paths,
        extra,
        &format!("# {id}\n\nFree text  \n\twith tabs.\n"),
    )
}

pub struct Fx {
    /// The temporary home: hermetic git, removed on drop.
    pub sandbox: Sandbox,
    pub root: PathBuf,
    /// One context for every session of this repository, so run ids never repeat.
    pub ctx: Context,
}

impl Fx {
    /// A repository with two capabilities (alpha, beta), indexed and committed.
    pub fn new() -> Fx {
        let sandbox = Sandbox::new();
        let root = sandbox.repo("repo", false);
        let fx = Fx {
            sandbox,
            root,
            ctx: Context::fixed(1_800_000_000),
        };
        warden_core::repo::init(&fx.root, &fx.ctx).expect("warden init");
        fx.write(
            "registry/capabilities/alpha.md",
            &entry(
                "capability.demo.alpha",
                [1, 0, 1, 0],
                &[
                    "src/alpha/**",
                    "docs/alpha/**",
                    ".github/workflows/alpha.yml",
                    "tools/alpha/**",
                ],
                "evidence:\n  tests: [src/alpha/tests/t0.py]\n",
            ),
        );
        fx.write(
            "registry/capabilities/beta.md",
            &entry("capability.demo.beta", [0, 0, 0, 0], &["src/beta/**"], ""),
        );
        fx.write("src/alpha/tests/t0.py", "t0\n");
        fx.write(
            "registry/indexes/capabilities.yaml",
            &warden_testkit::registry::index(
                "2026-01-01",
                &[
                    (
                        "capability.demo.alpha",
                        "registry/capabilities/alpha.md",
                        "D1/A0/C1/R0",
                    ),
                    (
                        "capability.demo.beta",
                        "registry/capabilities/beta.md",
                        "D0/A0/C0/R0",
                    ),
                ],
            ),
        );
        fx.commit("start");
        fx
    }

    pub fn git(&self, args: &[&str]) -> String {
        self.sandbox.git(&self.root, args)
    }

    /// The test kit's hermetic git environment, for the maintainer's own git
    /// calls (`warden_registry::git::Git`), as the CLI's child environment.
    pub fn env(&self) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = vec![
            ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
            ("HOME".into(), self.sandbox.home().into()),
        ];
        env.extend(
            warden_testkit::git::ENV
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        );
        env
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).expect("read")
    }

    pub fn commit(&self, msg: &str) {
        self.sandbox.commit_all(&self.root, msg);
    }

    /// Every file of the working tree but `.git` and warden's state, for
    /// before/after comparisons (the test kit's tree snapshot).
    pub fn tree(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        warden_testkit::tree::contents(&self.root, warden_testkit::tree::OWN_AREAS)
    }

    pub fn gitx(&self) -> Git {
        Git::new(&self.root).with_base_env(self.env())
    }

    pub fn opts(&self, since: Option<&str>) -> Options {
        let mut o = Options::new(DATE);
        o.since = since.map(str::to_string);
        o
    }

    pub fn prepare(
        &self,
        opts: &Options,
        planner: Option<&dyn Planner>,
        extra: Vec<RegistryPatch>,
    ) -> Prepared {
        maintain::prepare(&self.root, &self.gitx(), opts, planner, None, extra).expect("prepare")
    }

    /// Write a decided session as the CLI does; the report.
    pub fn commit_session(
        &self,
        prepared: &Prepared,
        decided: &mut Decided,
        opts: &Options,
        person: bool,
    ) -> MaintainReport {
        let repo = Repo::open(&self.root).expect("open");
        let mut s = repo.session(&self.ctx, true, &mut |_| {}).expect("session");
        let src = maintain::source_kind(&decided.results, person);
        let c = maintain::commit(&mut s, decided, opts, src, &prepared.llm_records, false)
            .expect("commit");
        if let Some(run) = &c.run {
            let record =
                warden_registry::replay::SessionRecord::of(prepared, decided, opts, person);
            warden_registry::replay::record_session(&s.repo.layout.run_dir(run), &record);
        }
        maintain::report(prepared, decided, &c, opts, false)
    }

    /// `maintain --auto` with these options.
    pub fn auto(
        &self,
        opts: &Options,
        planner: Option<&dyn Planner>,
        extra: Vec<RegistryPatch>,
    ) -> MaintainReport {
        let prepared = self.prepare(opts, planner, extra);
        let g = self.gitx();
        let checker = Checker::new(&self.root, &g, &prepared.standard, opts);
        let mut decided = maintain::decide_auto(&prepared, &checker, &mut |_| {});
        self.commit_session(&prepared, &mut decided, opts, false)
    }

    /// One patch decided by the gates alone (and written when it passes):
    /// what became of it.
    pub fn one(&self, opts: &Options, p: RegistryPatch) -> maintain::PatchResult {
        let r = self.auto(opts, None, vec![p]);
        r.patches.into_iter().next().expect("one result")
    }

    pub fn undo(&self, run: &str) {
        let repo = Repo::open(&self.root).expect("open");
        let mut s = repo
            .session(&self.ctx, true, &mut |_| {})
            .unwrap_or_else(|e| panic!("session: {e} ({:?})", e.hint()));
        let plan = s
            .plan_undo(
                run,
                false,
                warden_core::proposal::Source {
                    kind: "person".into(),
                    id: "test".into(),
                },
            )
            .expect("plan undo");
        s.apply(&plan).expect("undo");
    }

    pub fn validate_ok(&self) -> bool {
        let reg = warden_registry::registry::Registry::load(&self.root).expect("load");
        warden_registry::validate::validate(&reg, &self.root).ok
    }
}

pub fn path_of(root: &Path, rel: &str) -> PathBuf {
    root.join(rel)
}
