//! A throwaway governed repository with a small capability registry, real
//! git, and the registry maintainer driven as the CLI drives it.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use warden_core::git::Git;
use warden_core::{Context, Repo};
use warden_registry::maintain::{
    self, Checker, Decided, MaintainReport, Options, Planner, Prepared,
};
use warden_registry::patch::RegistryPatch;

pub const DATE: &str = "2026-11-29";

pub fn entry(id: &str, vector: [u8; 4], paths: &[&str], extra: &str) -> String {
    let paths: String = paths.iter().map(|p| format!("- {p}\n")).collect();
    format!(
        "---\nid: {id}\ntitle: {id}\nmaturity:\n  D: {{current: {}}}\n  A: {{current: {}}}\n  C: {{current: {}}}\n  R: {{current: {}}}\npaths:\n{paths}{extra}---\n# {id}\n\nFree text  \n\twith tabs.\n",
        vector[0], vector[1], vector[2], vector[3]
    )
}

pub struct Fx {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    /// One context for every session of this repository, so run ids never repeat.
    pub ctx: Context,
}

impl Fx {
    /// A repository with two capabilities (alpha, beta), indexed and committed.
    pub fn new() -> Fx {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).expect("mkdir");
        let fx = Fx {
            dir,
            root,
            ctx: Context::fixed(1_800_000_000),
        };
        fx.git(&["init", "-q", "-b", "main"]);
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
            "updated: \"2026-01-01\"\ncapabilities:\n- id: capability.demo.alpha\n  entry: registry/capabilities/alpha.md\n  vector: D1/A0/C1/R0\n- id: capability.demo.beta\n  entry: registry/capabilities/beta.md\n  vector: D0/A0/C0/R0\n",
        );
        fx.commit("start");
        fx
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .env_clear()
            .envs(self.env())
            .args(args)
            .current_dir(&self.root)
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn env(&self) -> Vec<(OsString, OsString)> {
        let home = self.dir.path().to_path_buf();
        vec![
            ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
            ("HOME".into(), home.into()),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ("GIT_AUTHOR_NAME".into(), "t".into()),
            ("GIT_AUTHOR_EMAIL".into(), "t@warden.invalid".into()),
            ("GIT_COMMITTER_NAME".into(), "t".into()),
            ("GIT_COMMITTER_EMAIL".into(), "t@warden.invalid".into()),
            ("GIT_AUTHOR_DATE".into(), "2026-11-01T00:00:00Z".into()),
            ("GIT_COMMITTER_DATE".into(), "2026-11-01T00:00:00Z".into()),
        ]
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
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
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
