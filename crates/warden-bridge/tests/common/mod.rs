//! Test harness: a real git repository in a temp dir with warden and a bridge
//! root initialised, commands signed with a test secret, and the executor run
//! in-process.
#![allow(dead_code)]

pub mod publish;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use warden_bridge::canon;
use warden_bridge::layout::{self, Layout};
use warden_bridge::new;
use warden_bridge::pipeline::{Bridge, ItemReport, Options, PassReport};
use warden_bridge::sign::{KeySlot, Secrets};
use warden_core::{Context, Repo};

pub const SECRET: &str = "test-secret-Zm9vYmFy";

/// Hermetic git in `dir`, with `dir` as its home.
pub fn git(dir: &Path, args: &[&str]) -> String {
    warden_testkit::git::git(dir, dir, args)
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub ctx: Context,
    pub secrets: Secrets,
    pub opts: Options,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canon").join("cloud");
        std::fs::create_dir(&root).expect("mkdir");
        git(&root, &["init", "-q", "--initial-branch=main"]);
        let ctx = Context::system("test-host", "bridge test");
        warden_core::repo::init(&root, &ctx).expect("warden init");
        layout::init(&Layout::new(&root), None).expect("bridge init");
        std::fs::write(root.join("README.md"), "hello\n").expect("write");
        git(&root, &["add", "-A"]);
        git(&root, &["commit", "-q", "-m", "init"]);
        Env {
            dir,
            root,
            ctx,
            secrets: Secrets::new(SECRET, None),
            opts: Options {
                settle_ms: 0,
                ..Options::default()
            },
        }
    }

    pub fn layout(&self) -> Layout {
        Layout::new(&self.root)
    }

    pub fn repo(&self) -> Repo {
        Repo::open(&self.root).expect("open")
    }

    /// The executor over `layout` and `repo`, with this environment's
    /// clock, secrets and options.
    pub fn bridge<'a>(&'a self, layout: Layout, repo: &'a Repo) -> Bridge<'a> {
        Bridge::new(layout, repo, &self.ctx, &self.secrets, self.opts.clone()).expect("bridge")
    }

    /// One pass of the executor.
    pub fn pass(&self) -> PassReport {
        let repo = self.repo();
        self.bridge(self.layout(), &repo)
            .run_once()
            .expect("run_once")
    }

    /// Drop a file into commands/ and process it; returns its one report.
    pub fn one(&self, name: &str, bytes: &[u8]) -> ItemReport {
        std::fs::write(self.layout().commands().join(name), bytes).expect("write");
        let mut r = self.pass();
        assert_eq!(r.items.len(), 1, "{r:?}");
        r.items.remove(0)
    }

    pub fn drop_file(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.layout().commands().join(name), bytes).expect("write");
    }

    /// Every file under the root except the places a dead letter may write.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
                let p = e.path();
                let rel = p
                    .strip_prefix(root)
                    .expect("rel")
                    .to_string_lossy()
                    .into_owned();
                if [
                    ".git",
                    "dead_letter",
                    "logs",
                    ".bridge",
                    "commands",
                    ".warden/state/lock",
                ]
                .iter()
                .any(|x| rel == *x || rel.starts_with(&format!("{x}/")))
                {
                    continue;
                }
                let m = std::fs::symlink_metadata(&p).expect("meta");
                if m.is_dir() {
                    walk(root, &p, out);
                } else if m.file_type().is_symlink() {
                    out.insert(
                        rel,
                        std::fs::read_link(&p)
                            .expect("link")
                            .to_string_lossy()
                            .into_owned()
                            .into_bytes(),
                    );
                } else {
                    out.insert(rel, std::fs::read(&p).expect("read"));
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.root, &self.root, &mut out);
        out
    }

    pub fn ledger_len(&self) -> usize {
        self.repo().ledger().entries().expect("entries").len()
    }
}

/// A valid command document (unsigned) with the given ops, from the
/// bridge's own builder (`warden_bridge::new`), issued five seconds ago.
pub fn doc(id: &str, ops: Value, allowed: &[&str]) -> Value {
    let cmd = new::Draft::new(new::Ops::Custom {
        ops,
        allowed: allowed.iter().map(|a| a.to_string()).collect(),
    })
    .max_files_changed(5);
    let issued = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(5);
    new::document(&cmd, id, "0", issued)
}

pub fn noop(id: &str) -> Value {
    doc(id, json!([{"op": "noop"}]), &["writeFile", "moveFile"])
}

pub fn write(id: &str, path: &str, content: &str) -> Value {
    doc(
        id,
        json!([{"op": "writeFile", "path": path, "content": content}]),
        &["writeFile"],
    )
}

/// Sign a JSON value with `secret`; returns pretty bytes.
pub fn sign_with(v: &Value, secret: &str) -> Vec<u8> {
    new::sign_document(v, &Secrets::new(secret, None), KeySlot(0))
        .expect("sign")
        .into_bytes()
}

pub fn signed(v: &Value) -> Vec<u8> {
    sign_with(v, SECRET)
}

/// The MAC of a JSON value (for hand-built texts).
pub fn mac_of(v: &Value) -> String {
    let parsed = canon::parse(&serde_json::to_vec(v).expect("json")).expect("parse");
    warden_bridge::sign::sign(&parsed, &Secrets::new(SECRET, None), KeySlot(0)).expect("mac")
}
