//! The world the plugin tests run in: a repository with warden initialised
//! whose policy lets plugins run without the kernel sandbox, and the steps of
//! `warden plugin new / gen / enable` and `warden run` at library level.
// Not every test file uses every helper.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::path::Path;
use warden_core::plugin_registry::{PluginRegistry, REGISTRY_FILE};
use warden_core::proposal::Source;
use warden_core::{Context, Digest, Repo};
use warden_plugin::generate;
use warden_plugin::runtime::{self, DispatchOptions, Launcher};
use warden_plugin::scaffold::{self, FileWrite, NewPlugin};
use warden_plugin::spec::PluginSpec;
use warden_plugin::validate;

pub const TODAY: &str = "2026-01-01";

pub struct World {
    _sandbox: warden_testkit::Sandbox,
    pub root: std::path::PathBuf,
    pub ctx: Context,
}

impl World {
    /// A repository with warden initialised, whose policy lets plugins run
    /// without the kernel sandbox (these tests start `sh` directly).
    pub fn new() -> World {
        let sandbox = warden_testkit::Sandbox::new();
        let root = sandbox.repo("repo", true);
        let ctx = Context::fixed(1_800_000_000);
        warden_core::repo::init(&root, &ctx).expect("init");
        let policy = root.join(".warden/policy.yaml");
        let text = std::fs::read_to_string(&policy).expect("policy");
        assert!(text.contains("run_unsandboxed: false"), "{text}");
        std::fs::write(
            &policy,
            text.replace("run_unsandboxed: false", "run_unsandboxed: true"),
        )
        .expect("write policy");
        World {
            _sandbox: sandbox,
            root,
            ctx,
        }
    }

    pub fn repo(&self) -> Repo {
        Repo::open(&self.root).expect("open")
    }

    /// Write files as one engine run, the way `warden plugin …` does.
    pub fn apply(&self, writes: &[FileWrite], why: &str) -> warden_core::ledger::Entry {
        let repo = self.repo();
        let (p, d) = scaffold::proposal(writes, why).expect("proposal");
        let mut s = repo
            .session(&self.ctx, false, &mut |_| {})
            .expect("session");
        let plan = s.plan(&p, d, "(generated)").expect("plan");
        let out = s.apply(&plan).expect("apply");
        s.refresh_contract().expect("contract");
        out.entry
    }

    /// A scaffolded `sh` plugin whose developer area is `code`, regenerated
    /// (the manifest pins the handler's digest) and enabled.
    pub fn scaffold_with(&self, key: &str, code: &str) -> PluginSpec {
        let spec = self.scaffold(key);
        self.set_developer_area(key, code);
        let repo = self.repo();
        let g = generate::generate(&self.root, &spec, &repo.policy, TODAY).expect("generate");
        self.apply(&scaffold::generation_writes(&g, spec.lang), "regenerate");
        self.enable(&spec);
        spec
    }

    /// Replace the developer area of plugin `key`'s handler with `code`,
    /// without regenerating (its manifest no longer matches).
    pub fn set_developer_area(&self, key: &str, code: &str) {
        let h = handler(&self.root, key);
        let text = std::fs::read_to_string(&h).expect("handler");
        let start = text.find("# ---- DEVELOPER AREA").expect("dev area");
        let start = start + text[start..].find('\n').expect("eol") + 1;
        let end = text.find("# ---- END OF DEVELOPER AREA").expect("end");
        std::fs::write(&h, format!("{}{code}{}", &text[..start], &text[end..])).expect("write");
    }

    /// The spec `warden plugin new KEY --event FileDetected --lang sh`
    /// starts from (nothing written).
    pub fn default_spec(&self, key: &str, repo: &Repo) -> PluginSpec {
        scaffold::default_spec(
            &self.root,
            &repo.policy,
            &NewPlugin {
                key: key.into(),
                event: "FileDetected".into(),
                lang: "sh".into(),
                name: None,
                description: None,
                actions: None,
            },
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        )
        .expect("spec")
    }

    /// `warden plugin new KEY --event FileDetected --lang sh`.
    pub fn scaffold(&self, key: &str) -> PluginSpec {
        let repo = self.repo();
        let spec = self.default_spec(key, &repo);
        let g = generate::generate(&self.root, &spec, &repo.policy, TODAY).expect("generate");
        let mut writes = scaffold::generation_writes(&g, spec.lang);
        assert!(!writes.is_empty());
        let (card, card_write) = scaffold::id_card(&spec, TODAY);
        assert_eq!(card.artifact, format!("plugins/{key}"));
        writes.push(card_write);
        let handler = writes
            .iter()
            .find(|w| w.path.ends_with("src/handler.sh"))
            .expect("handler");
        assert_eq!(
            handler.executable,
            Some(true),
            "a new handler is executable"
        );
        self.apply(&writes, &format!("scaffold plugin {key}"));
        spec
    }

    /// `warden plugin enable KEY`: validate, pin, write the registry.
    pub fn enable(&self, spec: &PluginSpec) {
        let repo = self.repo();
        let report = validate::validate(
            &self.root,
            &repo.policy,
            Some(std::slice::from_ref(&spec.key)),
            TODAY,
            None,
        );
        assert!(report.ok(), "{:#?}", report.findings);
        let mut registry = PluginRegistry::read(&self.root).expect("registry");
        let current = std::fs::read(self.root.join(REGISTRY_FILE)).ok();
        let pin = scaffold::pin(&self.root, spec, &repo.policy).expect("pin");
        assert_eq!(
            pin.manifest_sha256,
            Digest::of(
                &std::fs::read(
                    generate::plugin_dir(&self.root, &spec.key).join(generate::MANIFEST)
                )
                .expect("manifest")
            )
        );
        registry.plugins.insert(spec.key.clone(), pin);
        self.apply(
            &[FileWrite {
                path: REGISTRY_FILE.into(),
                current,
                content: registry.render().into_bytes(),
                executable: None,
            }],
            "enable",
        );
    }

    /// Start plugins directly (no sandbox helper), with this PATH.
    pub fn launcher(&self) -> Launcher {
        Launcher {
            helper: None,
            env: vec![(
                "PATH".into(),
                std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
            )],
            require_isolation: Vec::new(),
            ..Launcher::default()
        }
        .for_policy(&self.repo().policy)
    }

    /// The actor of the tests' dispatches.
    pub fn actor() -> Source {
        Source {
            kind: "person".into(),
            id: "test".into(),
        }
    }

    pub fn dispatch(&self, items: Vec<Value>) -> runtime::DispatchReport {
        let repo = self.repo();
        let launcher = self.launcher();
        let mut s = repo
            .session(&self.ctx, false, &mut |_| {})
            .expect("session");
        runtime::dispatch(
            &mut s,
            "FileDetected",
            items,
            &DispatchOptions {
                launcher: &launcher,
                actor: World::actor(),
            },
        )
        .expect("dispatch")
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    pub fn item(&self, rel: &str) -> Value {
        let bytes = std::fs::read(self.root.join(rel)).expect("read");
        json!({"path": rel, "sha256": Digest::of(&bytes), "size": bytes.len()})
    }
}

pub fn handler(root: &Path, key: &str) -> std::path::PathBuf {
    generate::plugin_dir(root, key).join("src/handler.sh")
}
