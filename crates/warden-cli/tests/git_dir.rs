//! A sandboxed plugin cannot touch `.git`: what lets the snapshots around a
//! plugin list `.git/` only to its top level when the file system rules and
//! the read-only mount are enforced (see `docs/plugins.md`, the bounded
//! snapshot). The real binary, the real sandbox helper, a real `sh` plugin.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Repo, chmod, mode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// Runs when the handler is sourced, before the protocol: each attack on
/// `.git` prints `NAME: done` or `NAME: refused`, then the plugin answers
/// normally (it proposes nothing).
const ATTACKS: &str = r##"RATIONALE_handle='x'
handle() {
  cat >/dev/null
}
g="$WARDEN_REPO/.git"
try() { name=$1; shift; if "$@" 2>/dev/null; then echo "$name: done" >&2; else echo "$name: refused" >&2; fi; }
try "write .git/config" sh -c 'printf "[core]\n\thooksPath = /tmp/evil\n" >> "$1"' _ "$g/config"
try "create .git/hooks/x" sh -c 'printf "#!/bin/sh\necho owned\n" > "$1"' _ "$g/hooks/x"
try "chmod .git/HEAD" chmod 600 "$g/HEAD"
try "chmod .git/objects" chmod 777 "$g/objects"
try "remove .git/description" rm -f "$g/description"
try "rename .git/refs/heads/main" mv "$g/refs/heads/main" "$g/refs/heads/gone"
"##;

/// Every entry under `.git`: path -> (kind, bytes of a file, mode).
fn git_dir(root: &Path) -> BTreeMap<String, (String, Vec<u8>, u32)> {
    tree_of(&root.join(".git"))
}

/// Every entry under `dir`: path -> (kind, bytes of a file, mode).
fn tree_of(dir: &Path) -> BTreeMap<String, (String, Vec<u8>, u32)> {
    fn walk(dir: &Path, rel: &str, out: &mut BTreeMap<String, (String, Vec<u8>, u32)>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = e.path();
            let name = format!("{rel}/{}", e.file_name().to_string_lossy());
            let meta = std::fs::symlink_metadata(&path).expect("meta");
            let (kind, bytes) = if meta.is_dir() {
                walk(&path, &name, out);
                ("dir", Vec::new())
            } else if meta.is_file() {
                ("file", std::fs::read(&path).expect("read"))
            } else {
                ("other", Vec::new())
            };
            out.insert(name, (kind.to_string(), bytes, mode(&path)));
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, ".git", &mut out);
    out
}

/// Replace the developer area of an `sh` plugin's handler.
fn set_sh_handler(r: &Repo, key: &str, code: &str) {
    let rel = format!("plugins/{key}/src/handler.sh");
    let text = r.read(&rel);
    let start = text.find("# ---- DEVELOPER AREA").expect("dev area");
    let start = start + text[start..].find('\n').expect("eol") + 1;
    let end = text.find("# ---- END OF DEVELOPER AREA").expect("dev end");
    r.write(&rel, &format!("{}{code}{}", &text[..start], &text[end..]));
    chmod(&r.root.join(&rel), 0o755);
}

/// A repository whose enabled `sh` plugin `gitter` runs `attacks`, committed.
fn attacker_repo(attacks: &str) -> Repo {
    let r = Repo::new();
    r.ok(&[
        "plugin",
        "new",
        "gitter",
        "--event",
        "FileDetected",
        "--lang",
        "sh",
        "--yes",
    ]);
    set_sh_handler(&r, "gitter", attacks);
    r.ok(&["plugin", "gen", "gitter", "--yes"]);
    r.ok(&["plugin", "enable", "gitter", "--yes"]);
    r.git(&["add", "-A"]);
    r.git(&["commit", "-qm", "attacker"]);
    r
}

#[test]
fn a_sandboxed_sh_plugin_cannot_write_create_chmod_or_remove_anything_under_dot_git() {
    common::with_each_helper(|_| {
        let r = attacker_repo(ATTACKS);
        let st = r.json(&["status"]);
        let layers: BTreeMap<String, Value> = st["isolation"]
            .as_array()
            .expect("isolation layers")
            .iter()
            .map(|l| {
                (
                    l["layer"].as_str().expect("layer").to_string(),
                    l["enforced"].clone(),
                )
            })
            .collect();
        assert!(
            layers.get("filesystem") == Some(&json!(true))
                && layers.get("metadata") == Some(&json!(true)),
            "this test needs the file system rules and the read-only mount (Landlock, and root or unprivileged user namespaces): {layers:?}"
        );
        let before = git_dir(&r.root);
        assert!(before.contains_key(".git/config") && before.contains_key(".git/refs/heads/main"));
        let report = r.json(&["run", "FileDetected", "--yes"]);
        let rec = &report["plugins"][0];
        assert_eq!(rec["plugin"], json!("gitter"), "{report:#}");
        assert_eq!(rec["isolation"]["metadata"], json!("enforced"), "{rec:#}");
        assert_eq!(rec["bounded_snapshot"], json!(true), "{rec:#}");
        assert!(rec["fault"].is_null(), "{rec:#}");
        let run = report["run"].as_str().expect("run");
        let log = std::fs::read_to_string(r.root.join(format!(".runs/{run}/gitter.stderr.log")))
            .expect("stderr log");
        let attempts: Vec<&str> = log
            .lines()
            .filter(|l| l.ends_with(": done") || l.ends_with(": refused"))
            .collect();
        assert_eq!(
            attempts,
            vec![
                "write .git/config: refused",
                "create .git/hooks/x: refused",
                "chmod .git/HEAD: refused",
                "chmod .git/objects: refused",
                "remove .git/description: refused",
                "rename .git/refs/heads/main: refused",
            ],
            "{log}"
        );
        assert_eq!(git_dir(&r.root), before, ".git changed under the sandbox");
        r.ok(&["ledger", "verify"]);
    });
}

#[test]
fn a_sandboxed_sh_plugin_cannot_change_a_git_directory_outside_the_working_tree() {
    // `.git` is a file naming the git directory elsewhere (a linked worktree,
    // a `--separate-git-dir` repository). It was neither bound read-only nor
    // snapshotted: a sandboxed plugin could chmod its config, touch its HEAD
    // and chmod 000 its objects (Landlock does not govern metadata).
    common::with_each_helper(|_| {
        let r = attacker_repo(&ATTACKS.replace(
            r#"g="$WARDEN_REPO/.git""#,
            r#"g=$(sed -n 's/^gitdir: //p' "$WARDEN_REPO/.git")"#,
        ));
        let outside = tempfile::tempdir().expect("tempdir");
        let gitdir = outside.path().join("repo.git");
        std::fs::rename(r.root.join(".git"), &gitdir).expect("move .git out");
        std::fs::write(
            r.root.join(".git"),
            format!("gitdir: {}\n", gitdir.display()),
        )
        .expect("gitfile");
        let root = r.root.canonicalize().expect("root");
        r.git(&["config", "core.worktree", &root.to_string_lossy()]);
        let before = tree_of(&gitdir);
        assert!(before.contains_key(".git/config") && before.contains_key(".git/refs/heads/main"));
        let report = r.json(&["run", "FileDetected", "--yes"]);
        let rec = &report["plugins"][0];
        assert_eq!(rec["plugin"], json!("gitter"), "{report:#}");
        assert!(rec["fault"].is_null(), "{rec:#}");
        let run = report["run"].as_str().expect("run");
        let log = std::fs::read_to_string(r.root.join(format!(".runs/{run}/gitter.stderr.log")))
            .expect("stderr log");
        let done: Vec<&str> = log.lines().filter(|l| l.ends_with(": done")).collect();
        assert!(done.is_empty(), "{log}");
        assert_eq!(
            tree_of(&gitdir),
            before,
            "the git directory changed under the sandbox"
        );
        r.ok(&["ledger", "verify"]);
    });
}
