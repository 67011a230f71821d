//! Test harness: real git repositories in temp dirs and the real `warden` binary
//! (built with failpoints), run with a pinned, isolated environment.
#![allow(dead_code)]

pub mod snap;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_warden");
/// The small sandbox helper, built beside `BIN`.
pub const HELPER_BIN: &str = env!("CARGO_BIN_EXE_warden-sandbox");

/// A command with the environment pinned: no system/global git config, fixed
/// author and dates, no prompts (`warden_testkit::git::hermetic`).
pub fn isolated(program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
    warden_testkit::git::hermetic(program, home)
}

/// Which sandbox helper the warden of a test starts plugins through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Helper {
    /// `warden-sandbox`, the small executable beside warden (`BIN` as built).
    Dedicated,
    /// `warden __sandbox`: warden alone in a directory of its own.
    Fallback,
}

std::thread_local! {
    /// The warden that `Repo` runs on this test's thread (`None`: `BIN`).
    static BIN_NOW: std::cell::RefCell<Option<PathBuf>> = const { std::cell::RefCell::new(None) };
}

/// The warden binary `Repo::cmd` runs now (see [`with_helper`]).
pub fn bin() -> PathBuf {
    BIN_NOW
        .with(|b| b.borrow().clone())
        .unwrap_or_else(|| PathBuf::from(BIN))
}

/// Run `f` with `Repo` commands running the warden at `path`.
pub fn with_bin<T>(path: PathBuf, f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            BIN_NOW.with(|b| *b.borrow_mut() = None);
        }
    }
    BIN_NOW.with(|b| *b.borrow_mut() = Some(path));
    let _reset = Reset;
    f()
}

/// A directory under the target's temp directory (the file system of
/// `BIN`, so it can be hard-linked) holding warden alone, as `warden`.
pub fn warden_alone() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("warden-alone-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("tempdir");
    let alone = dir.path().join("warden");
    if std::fs::hard_link(BIN, &alone).is_err() {
        std::fs::copy(BIN, &alone).expect("copy warden");
    }
    (dir, alone)
}

/// Run `f` with `Repo` commands going through `helper`: for the fallback,
/// warden is hard-linked alone into a directory under the target's temp
/// directory (same file system), so no `warden-sandbox` stands beside it.
pub fn with_helper<T>(helper: Helper, f: impl FnOnce() -> T) -> T {
    match helper {
        Helper::Dedicated => {
            assert!(
                Path::new(BIN).with_file_name("warden-sandbox").is_file(),
                "warden-sandbox is built beside warden"
            );
            f()
        }
        Helper::Fallback => {
            let (_dir, alone) = warden_alone();
            with_bin(alone, f)
        }
    }
}

/// Run `f` once through each sandbox helper (the dedicated one, then the
/// fallback), naming the helper in any failure.
pub fn with_each_helper(f: impl Fn(Helper)) {
    for h in [Helper::Dedicated, Helper::Fallback] {
        eprintln!("---- through the {h:?} sandbox helper");
        with_helper(h, || f(h));
    }
}

pub struct Repo {
    pub home: tempfile::TempDir,
    pub root: PathBuf,
}

impl Repo {
    /// An empty git repository (not yet initialised for warden).
    pub fn git_only() -> Repo {
        let home = tempfile::tempdir().expect("tempdir");
        let root = home.path().join("repo");
        std::fs::create_dir(&root).expect("mkdir");
        let r = Repo { home, root };
        r.git(&["init", "--quiet", "--initial-branch=main"]);
        r
    }

    /// A git repository with warden initialised.
    pub fn new() -> Repo {
        let r = Repo::git_only();
        r.ok(&["init"]);
        r
    }

    pub fn clone_of(remote: &Path, home: &tempfile::TempDir, name: &str) -> Repo {
        let root = home.path().join(name);
        let out = isolated("git", home.path())
            .args(["clone", "--quiet"])
            .arg(remote)
            .arg(&root)
            .output()
            .expect("git clone");
        assert!(
            out.status.success(),
            "clone: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The harness owns the temp dir through the first repo; this one borrows it.
        Repo {
            home: tempfile::tempdir().expect("tempdir"),
            root,
        }
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = isolated("git", self.home.path())
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

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = isolated(bin(), self.home.path());
        c.args(args).current_dir(&self.root);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run warden")
    }

    /// Run and require exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "warden {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run and require `code`; returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "warden {args:?}:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        serde_json::from_str(&self.ok(&a)).expect("json output")
    }

    /// Run with `--format json`, require exit `code`, parse stdout as one JSON value.
    pub fn json_any(&self, args: &[&str], code: i32) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        let out = self.run(&a);
        assert_eq!(
            out.status.code(),
            Some(code),
            "warden {a:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("one JSON value")
    }

    pub fn write(&self, rel: &str, content: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, content).expect("write");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).expect("read")
    }

    /// Write a proposal file outside the repository and return its path.
    pub fn proposal(&self, actions: serde_json::Value) -> String {
        let doc = serde_json::json!({
            "schema": "warden.proposal/v1",
            "source": {"kind": "person", "id": "test"},
            "event": "Manual",
            "rationale": "test",
            "actions": actions,
        });
        let n = std::fs::read_dir(self.home.path())
            .map(|d| d.count())
            .unwrap_or(0);
        let p = self.home.path().join(format!("proposal-{n}.json"));
        std::fs::write(&p, serde_json::to_string_pretty(&doc).expect("json")).expect("write");
        p.display().to_string()
    }

    pub fn tree(&self) -> BTreeMap<String, (Vec<u8>, u32)> {
        tree(&self.root)
    }

    /// The id of the newest run `warden runs` lists.
    pub fn newest_run(&self) -> String {
        self.json(&["runs"])["runs"][0]["run"]
            .as_str()
            .expect("a run")
            .to_string()
    }

    /// The ledger's chain file (`.ledger/runs/*.jsonl`).
    pub fn chain(&self) -> PathBuf {
        std::fs::read_dir(self.root.join(".ledger/runs"))
            .expect("ledger")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .expect("a chain")
    }

    pub fn ledger_len(&self) -> usize {
        self.json(&["ledger", "log"])["entries"]
            .as_array()
            .map_or(0, |a| a.len())
    }
}

/// A bare repository `remote.git` (branch `main`) in `home`, to push to and
/// clone from.
pub fn bare_remote(home: &Path) -> PathBuf {
    warden_testkit::git::git(
        home,
        home,
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            "remote.git",
        ],
    );
    home.join("remote.git")
}

pub fn sha(s: &str) -> String {
    use std::fmt::Write;
    let d = warden_core::Digest::of(s.as_bytes());
    let mut out = String::new();
    for b in d.0 {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(unix)]
pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p)
        .expect("meta")
        .permissions()
        .mode()
        & 0o7777
}

#[cfg(unix)]
pub fn chmod(p: &Path, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("chmod");
}

/// Every file outside .git/.warden/.ledger/.runs: path -> (bytes, mode).
pub fn tree(root: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    use warden_testkit::tree;
    tree::files(root, tree::OWN_AREAS)
        .into_iter()
        .map(|(k, f)| (k, (f.bytes, f.mode)))
        .collect()
}

/// Pids of live (non-zombie) processes whose command line contains `marker`.
pub fn processes_with(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let zombie = std::fs::read_to_string(e.path().join("stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next())
                == Some("Z")
        });
        if !zombie && String::from_utf8_lossy(&cmdline).contains(marker) {
            out.push(pid);
        }
    }
    out
}

/// `plugin new KEY --event FileDetected --lang LANG --yes`.
pub fn plugin_new<'a>(key: &'a str, lang: &'a str) -> [&'a str; 8] {
    [
        "plugin",
        "new",
        key,
        "--event",
        "FileDetected",
        "--lang",
        lang,
        "--yes",
    ]
}

/// Replace the developer area of a python plugin's handler.
pub fn set_handler(r: &Repo, key: &str, code: &str) {
    let rel = format!("plugins/{key}/src/handler.py");
    let text = r.read(&rel);
    let start = text.find("# ---- DEVELOPER AREA").expect("dev area");
    let start = start + text[start..].find('\n').expect("eol") + 1;
    let end = text.find("# ---- END OF DEVELOPER AREA").expect("dev end");
    r.write(
        &rel,
        &format!("{}{}\n{}", &text[..start], code, &text[end..]),
    );
}

/// Edit a plugin's `plugin.spec.json` in place.
pub fn edit_spec(r: &Repo, key: &str, f: impl FnOnce(&mut serde_json::Value)) {
    let rel = format!("plugins/{key}/plugin.spec.json");
    let mut v: serde_json::Value = serde_json::from_str(&r.read(&rel)).expect("spec");
    f(&mut v);
    r.write(
        &rel,
        &(serde_json::to_string_pretty(&v).expect("json") + "\n"),
    );
}

/// Scaffold a python plugin `key` on FileDetected whose handler's developer
/// area is `code`, with `priority` and further spec edits; regenerate (the
/// examples follow the handler) and enable it.
pub fn python_plugin(
    r: &Repo,
    key: &str,
    priority: i64,
    code: &str,
    spec: impl FnOnce(&mut serde_json::Value),
) {
    r.ok(&plugin_new(key, "python"));
    set_handler(r, key, code);
    edit_spec(r, key, |v| {
        v["priority"] = serde_json::json!(priority);
        spec(v);
    });
    r.ok(&["plugin", "gen", key, "--yes"]);
    r.ok(&["plugin", "enable", key, "--yes"]);
}
