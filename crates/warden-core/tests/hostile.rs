//! The hostile-proposal corpus (issue 10): paths, types, sizes, encodings and
//! conflicts an attacker would try. Each case is either refused — exit class
//! 2 (bad input) or 1 (policy or precondition), never 3, with a message naming
//! the field, and nothing written — or applied and then undone byte for byte
//! (files, modes, directories). After every case the repository is not
//! wedged: nothing waits for recovery, the ledger verifies, and an ordinary
//! proposal still applies.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use warden_core::ExitClass;
use warden_core::proposal::Proposal;

/// What a case must end in.
enum Want {
    /// Refused; the message names this field (or text).
    Refused(&'static str),
    /// Applied (or nothing to do), and undone byte-exact.
    Applied,
}

enum Input {
    Json(Value),
    /// Raw proposal text, for what JSON values cannot carry.
    Text(String),
}

struct Case {
    name: String,
    setup: fn(&Fixture),
    input: Input,
    want: Want,
}

fn none(_: &Fixture) {}

/// The standard tree every case starts from.
fn base(f: &Fixture) {
    f.write("a.txt", "alpha\n", 0o644);
    f.write("dir/b.txt", "beta\n", 0o644);
    f.write(
        "cfg.py",
        "# BEGIN AUTO SECTION: X\nx = 1\n# END AUTO SECTION: X\n",
        0o644,
    );
    f.write("broken.py", "# BEGIN AUTO SECTION: X\nx = 1\n", 0o644);
    std::fs::write(f.root().join("bin.dat"), [0xff, 0xfe, 0x00, 0x80]).expect("bin");
    std::fs::create_dir(f.root().join("emptydir")).expect("mkdir");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("dir", f.root().join("link")).expect("symlink");
        std::os::unix::fs::symlink("a.txt", f.root().join("linkf")).expect("symlink");
        std::os::unix::fs::symlink("/tmp", f.root().join("out")).expect("symlink");
    }
    // delete_file is denied by default; the corpus wants to try it.
    let p = f.root().join(".warden/policy.yaml");
    let policy = std::fs::read_to_string(&p).expect("policy");
    let policy = policy.replacen(
        "    person: [write_file, patch_region, move_file, quarantine]",
        "    person: [write_file, patch_region, move_file, quarantine, delete_file]",
        1,
    );
    std::fs::write(&p, policy).expect("policy");
}

fn small_limits(f: &Fixture) {
    let p = f.root().join(".warden/policy.yaml");
    let policy = std::fs::read_to_string(&p).expect("policy");
    let policy = policy
        .replacen("max_files: 1000", "max_files: 2", 1)
        .replacen("max_bytes: 67108864", "max_bytes: 16", 1);
    std::fs::write(&p, policy).expect("policy");
}

#[cfg(unix)]
fn socket(f: &Fixture) {
    let l = std::os::unix::net::UnixListener::bind(f.root().join("sock")).expect("bind");
    drop(l); // the socket file stays
}

#[cfg(unix)]
fn fifo(f: &Fixture) {
    let ok = std::process::Command::new("mkfifo")
        .arg(f.root().join("fifo"))
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        // No mkfifo here: a socket is another non-regular file.
        std::os::unix::net::UnixListener::bind(f.root().join("fifo")).expect("bind");
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Node {
    File(Vec<u8>, u32),
    Dir(u32),
    Link(std::path::PathBuf),
    Other,
}

/// Everything below the root outside .git/, .warden/, .ledger/ and .runs/,
/// without following links or opening special files.
fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    use std::os::unix::fs::PermissionsExt;
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
        for ent in std::fs::read_dir(dir).expect("read_dir") {
            let p = ent.expect("entry").path();
            let rel = p
                .strip_prefix(root)
                .expect("prefix")
                .to_string_lossy()
                .to_string();
            if [".git", ".warden", ".ledger", ".runs"].contains(&rel.as_str()) {
                continue;
            }
            let m = std::fs::symlink_metadata(&p).expect("meta");
            let mode = m.permissions().mode() & 0o7777;
            let node = if m.file_type().is_symlink() {
                Node::Link(std::fs::read_link(&p).expect("link"))
            } else if m.is_dir() {
                walk(root, &p, out);
                Node::Dir(mode)
            } else if m.is_file() {
                Node::File(std::fs::read(&p).expect("read"), mode)
            } else {
                Node::Other
            };
            out.insert(rel, node);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn p(actions: Value) -> Input {
    Input::Json(manual(actions))
}

fn refused(
    name: impl Into<String>,
    setup: fn(&Fixture),
    input: Input,
    field: &'static str,
) -> Case {
    Case {
        name: name.into(),
        setup,
        input,
        want: Want::Refused(field),
    }
}

fn applied(name: impl Into<String>, setup: fn(&Fixture), input: Input) -> Case {
    Case {
        name: name.into(),
        setup,
        input,
        want: Want::Applied,
    }
}

/// Paths no action may use, each with what refuses it.
fn bad_paths() -> Vec<(&'static str, String)> {
    vec![
        ("absolute", "/etc/passwd".into()),
        ("absolute to the repo", "/tmp/x".into()),
        ("drive letter", "C:/x".into()),
        ("dot-dot", "../x".into()),
        ("dot-dot inside", "a/../../x".into()),
        ("dot-dot at the end", "dir/..".into()),
        ("dot", "./a.txt".into()),
        ("dot inside", "dir/./b.txt".into()),
        ("empty", String::new()),
        ("empty segment", "dir//b.txt".into()),
        ("trailing slash", "dir/".into()),
        ("NUL", "a\u{0}b".into()),
        ("backslash", "dir\\b.txt".into()),
        (".git", ".git/config".into()),
        (".GIT any case", ".GIT/hooks/pre-commit".into()),
        ("nested .git", "sub/.git/config".into()),
        (".ledger", ".ledger/runs/x.jsonl".into()),
        (".warden", ".warden/policy.yaml".into()),
        (".runs", ".runs/x/run.json".into()),
        ("quarantine lane", ".quarantine/R/files/a.txt".into()),
        (
            "quarantine lane any case",
            ".QUARANTINE/R/index.json".into(),
        ),
        ("symlinked parent", "link/b.txt".into()),
        ("symlinked parent out of the repo", "out/x".into()),
        ("symlink itself", "linkf".into()),
        ("parent is a file", "a.txt/x".into()),
        ("a directory", "dir".into()),
        ("an empty directory", "emptydir".into()),
        ("name over NAME_MAX", format!("dir/{}", "n".repeat(256))),
        ("path over PATH_MAX", vec!["p".repeat(250); 17].join("/")),
    ]
}

/// Every bad path in every field that takes a path.
fn path_cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (what, path) in bad_paths() {
        v.push(refused(
            format!("write_file: {what}"),
            base,
            p(json!([{"kind": "write_file", "path": path, "content": "x\n", "expect": "any"}])),
            "actions[0]",
        ));
        v.push(refused(
            format!("patch_region: {what}"),
            base,
            p(json!([{"kind": "patch_region", "path": path, "fence": "X", "content": "x\n"}])),
            "actions[0]",
        ));
        v.push(refused(
            format!("delete_file: {what}"),
            base,
            p(json!([{"kind": "delete_file", "path": path, "expect": "any"}])),
            "actions[0]",
        ));
        v.push(refused(
            format!("quarantine: {what}"),
            base,
            p(json!([{"kind": "quarantine", "path": path, "reason": "r"}])),
            "actions[0]",
        ));
        v.push(refused(
            format!("move_file from: {what}"),
            base,
            p(json!([{"kind": "move_file", "from": path, "to": "new.txt", "expect": "any"}])),
            "actions[0]",
        ));
        v.push(refused(
            format!("move_file to: {what}"),
            base,
            p(json!([{"kind": "move_file", "from": "a.txt", "to": path, "expect": "any"}])),
            "actions[0]",
        ));
    }
    v
}

/// Types: sockets, fifos, directories, files below files.
fn type_cases() -> Vec<Case> {
    Vec::from([
        #[cfg(unix)]
        refused(
            "write over a socket",
            socket,
            p(json!([{"kind": "write_file", "path": "sock", "content": "x", "expect": "any"}])),
            "actions[0].path",
        ),
        #[cfg(unix)]
        refused(
            "write over a fifo",
            fifo,
            p(json!([{"kind": "write_file", "path": "fifo", "content": "x", "expect": "any"}])),
            "actions[0].path",
        ),
        #[cfg(unix)]
        refused(
            "quarantine a fifo",
            fifo,
            p(json!([{"kind": "quarantine", "path": "fifo", "reason": "r"}])),
            "actions[0].path",
        ),
        refused(
            "move a directory",
            base,
            p(json!([{"kind": "move_file", "from": "dir", "to": "d2", "expect": "any"}])),
            "actions[0].from",
        ),
        refused(
            "move onto a directory",
            base,
            p(json!([{"kind": "move_file", "from": "a.txt", "to": "emptydir", "expect": "any"}])),
            "actions[0].to",
        ),
        refused(
            "write below a file written in the same proposal",
            base,
            p(json!([
            {"kind": "write_file", "path": "n", "content": "x", "expect": "absent"},
            {"kind": "write_file", "path": "n/m", "content": "y", "expect": "absent"}])),
            "actions[0].path",
        ),
        refused(
            "write a file above one written in the same proposal",
            base,
            p(json!([
            {"kind": "write_file", "path": "n/m/o", "content": "y", "expect": "absent"},
            {"kind": "write_file", "path": "n", "content": "x", "expect": "absent"}])),
            "actions[1].path",
        ),
        refused(
            "move a file below itself",
            base,
            p(json!([{"kind": "move_file", "from": "a.txt", "to": "a.txt/x", "expect": "any"}])),
            "actions[0]",
        ),
        refused(
            "delete a file, write below its name",
            base,
            p(json!([
            {"kind": "delete_file", "path": "a.txt", "expect": "any"},
            {"kind": "write_file", "path": "a.txt/x", "content": "y", "expect": "absent"}])),
            "actions[1].path",
        ),
    ])
}

/// Patches of files and fences that cannot take one.
fn fence_target_cases() -> Vec<Case> {
    Vec::from([
        refused(
            "patch a binary file",
            base,
            p(json!([{"kind": "patch_region", "path": "bin.dat", "fence": "X", "content": "x"}])),
            "actions[0].path",
        ),
        refused(
            "patch a missing file",
            base,
            p(
                json!([{"kind": "patch_region", "path": "missing.py", "fence": "X", "content": "x"}]),
            ),
            "actions[0].path",
        ),
        refused(
            "patch a missing fence",
            base,
            p(json!([{"kind": "patch_region", "path": "cfg.py", "fence": "NOPE", "content": "x"}])),
            "actions[0].fence",
        ),
        refused(
            "patch a malformed fence",
            base,
            p(json!([{"kind": "patch_region", "path": "broken.py", "fence": "X", "content": "x"}])),
            "line 1",
        ),
        refused(
            "patch a bad fence name",
            base,
            p(json!([{"kind": "patch_region", "path": "cfg.py", "fence": "X Y", "content": "x"}])),
            "actions[0].fence",
        ),
    ])
}

/// Sizes: over the policy limits, empty, large, long names, deep paths.
fn size_cases() -> Vec<Case> {
    Vec::from([
        refused(
            "content over max_bytes",
            small_limits,
            p(
                json!([{"kind": "write_file", "path": "big.txt", "content": "x".repeat(17), "expect": "absent"}]),
            ),
            "max_bytes",
        ),
        refused(
            "paths over max_files",
            small_limits,
            p(json!([
            {"kind": "write_file", "path": "1", "content": "1", "expect": "absent"},
            {"kind": "write_file", "path": "2", "content": "2", "expect": "absent"},
            {"kind": "write_file", "path": "3", "content": "3", "expect": "absent"}])),
            "max_files",
        ),
        refused("no actions", base, p(json!([])), "actions"),
        applied(
            "empty content",
            base,
            p(
                json!([{"kind": "write_file", "path": "empty.txt", "content": "", "expect": "absent"}]),
            ),
        ),
        applied(
            "one MiB of content",
            base,
            p(
                json!([{"kind": "write_file", "path": "big/one.bin", "content": "z".repeat(1 << 20), "expect": "absent"}]),
            ),
        ),
        applied(
            "a name of exactly 255 bytes",
            base,
            p(
                json!([{"kind": "write_file", "path": format!("dir/{}", "n".repeat(255)), "content": "x\n", "expect": "absent"}]),
            ),
        ),
        applied(
            "a 255-byte name quarantined",
            long_name,
            p(json!([{"kind": "quarantine", "path": "q".repeat(255), "reason": "r"}])),
        ),
        applied(
            "a 255-byte name moved",
            long_name,
            p(
                json!([{"kind": "move_file", "from": "q".repeat(255), "to": format!("deep/er/{}", "r".repeat(255)), "expect": "any"}]),
            ),
        ),
        applied(
            "deeply nested new file",
            base,
            p(
                json!([{"kind": "write_file", "path": vec!["d"; 60].join("/") + "/f", "content": "x", "expect": "absent"}]),
            ),
        ),
    ])
}

/// Encodings of content and names that apply.
fn encoding_cases() -> Vec<Case> {
    Vec::from([
        applied(
            "NUL bytes in content",
            base,
            p(
                json!([{"kind": "write_file", "path": "nul.bin", "content": "a\u{0}b\u{0}", "expect": "absent"}]),
            ),
        ),
        applied(
            "CRLF content",
            base,
            p(
                json!([{"kind": "write_file", "path": "a.txt", "content": "x\r\ny\r\n", "expect": {"sha256": sha("alpha\n")}}]),
            ),
        ),
        applied(
            "non-ASCII path",
            base,
            p(
                json!([{"kind": "write_file", "path": "ünï/cødé ñ.txt", "content": "ü\n", "expect": "absent"}]),
            ),
        ),
        applied(
            "spaces, tab and newline in a name",
            base,
            p(
                json!([{"kind": "write_file", "path": "a b\tc\nd.txt", "content": "x\n", "expect": "absent"}]),
            ),
        ),
        applied(
            "a name that looks like a warden temp",
            base,
            p(
                json!([{"kind": "write_file", "path": ".warden-01ABC-0.tmp", "content": "x\n", "expect": "absent"}]),
            ),
        ),
        applied(
            "a file named like the lane index",
            base,
            p(
                json!([{"kind": "write_file", "path": "index.json", "content": "{}\n", "expect": "absent"}]),
            ),
        ),
        applied(
            "a file named like the old lane index",
            base,
            p(
                json!([{"kind": "write_file", "path": "QUARANTINE.json", "content": "{}\n", "expect": "absent"}]),
            ),
        ),
    ])
}

/// Proposal text that is not valid JSON of a proposal.
fn bad_json_cases() -> Vec<Case> {
    Vec::from([
        refused(
            "lone surrogate in a path",
            base,
            Input::Text(raw(
                r#"{"kind":"write_file","path":"\udc80","content":"x","expect":"absent"}"#,
            )),
            "p.json",
        ),
        refused(
            "lone surrogate in content",
            base,
            Input::Text(raw(
                r#"{"kind":"write_file","path":"s.txt","content":"\ud800","expect":"absent"}"#,
            )),
            "p.json",
        ),
        refused(
            "invalid escape",
            base,
            Input::Text(raw(
                r#"{"kind":"write_file","path":"s.txt","content":"\x41","expect":"absent"}"#,
            )),
            "p.json",
        ),
        refused(
            "raw invalid UTF-8 bytes",
            base,
            Input::Text(String::from_utf8_lossy(&[0x7b, 0xff, 0x7d]).into_owned()),
            "p.json",
        ),
        refused(
            "a BOM before the JSON",
            base,
            Input::Text(format!(
                "\u{feff}{}",
                manual(
                    json!([{"kind": "write_file", "path": "s.txt", "content": "x", "expect": "absent"}])
                )
            )),
            "p.json",
        ),
    ])
}

/// Fields of the wrong type or kind, and fence markers smuggled into a patch.
fn bad_field_cases() -> Vec<Case> {
    Vec::from([
        refused(
            "content is not a string",
            base,
            p(
                json!([{"kind": "write_file", "path": "s.txt", "content": [1, 2], "expect": "absent"}]),
            ),
            "actions[0].content",
        ),
        refused(
            "path is a number",
            base,
            p(json!([{"kind": "write_file", "path": 7, "content": "x", "expect": "absent"}])),
            "actions[0].path",
        ),
        refused(
            "unknown action kind",
            base,
            p(json!([{"kind": "chmod", "path": "a.txt"}])),
            "actions[0].kind",
        ),
        refused(
            "fence END marker in patch content",
            base,
            p(
                json!([{"kind": "patch_region", "path": "cfg.py", "fence": "X", "content": "y\n# END AUTO SECTION: X\n"}]),
            ),
            "actions[0].content",
        ),
        refused(
            "fence BEGIN marker in patch content",
            base,
            p(
                json!([{"kind": "patch_region", "path": "cfg.py", "fence": "X", "content": "# BEGIN AUTO SECTION: Z\n"}]),
            ),
            "actions[0].content",
        ),
        refused(
            "seed-spelling fence marker in patch content",
            base,
            p(
                json!([{"kind": "patch_region", "path": "cfg.py", "fence": "X", "content": "<!-- END AUTO-SECTION: X -->"}]),
            ),
            "actions[0].content",
        ),
        applied(
            "fence-like text that is not a marker",
            base,
            p(
                json!([{"kind": "patch_region", "path": "cfg.py", "fence": "X", "content": "# the END of AUTO SECTIONs\n"}]),
            ),
        ),
    ])
}

/// Conflicts between the actions of one proposal and with the tree.
fn conflict_cases() -> Vec<Case> {
    Vec::from([
        refused(
            "same path written twice",
            base,
            p(json!([
            {"kind": "write_file", "path": "n.txt", "content": "1", "expect": "absent"},
            {"kind": "write_file", "path": "n.txt", "content": "2", "expect": "any"}])),
            "actions[0].path",
        ),
        refused(
            "write then delete the same path",
            base,
            p(json!([
            {"kind": "write_file", "path": "a.txt", "content": "1", "expect": "any"},
            {"kind": "delete_file", "path": "a.txt", "expect": "any"}])),
            "actions[1].path",
        ),
        refused(
            "write then move the same path",
            base,
            p(json!([
            {"kind": "write_file", "path": "n.txt", "content": "1", "expect": "absent"},
            {"kind": "move_file", "from": "n.txt", "to": "m.txt", "expect": "any"}])),
            "actions[1].from",
        ),
        refused(
            "move onto itself",
            base,
            p(json!([{"kind": "move_file", "from": "a.txt", "to": "a.txt", "expect": "any"}])),
            "actions[0].to",
        ),
        refused(
            "move onto an existing file",
            base,
            p(json!([{"kind": "move_file", "from": "a.txt", "to": "dir/b.txt", "expect": "any"}])),
            "actions[0].to",
        ),
        refused(
            "move from a missing file",
            base,
            p(
                json!([{"kind": "move_file", "from": "missing.txt", "to": "m.txt", "expect": "any"}]),
            ),
            "actions[0].from",
        ),
        refused(
            "quarantine a missing file",
            base,
            p(json!([{"kind": "quarantine", "path": "missing.txt", "reason": "r"}])),
            "actions[0].path",
        ),
    ])
}

/// A path freed by a quarantine, written or moved into in the same proposal.
fn freed_path_cases() -> Vec<Case> {
    Vec::from([
        refused(
            "quarantine then write the same path",
            base,
            p(json!([
            {"kind": "quarantine", "path": "a.txt", "reason": "r"},
            {"kind": "write_file", "path": "a.txt", "content": "x", "expect": "absent"}])),
            "actions[1].path",
        ),
        applied(
            "quarantine then move another file into the freed path",
            base,
            p(json!([
            {"kind": "quarantine", "path": "a.txt", "reason": "superseded"},
            {"kind": "move_file", "from": "dir/b.txt", "to": "a.txt", "expect": "any"}])),
        ),
        refused(
            "move into a path before quarantining it",
            base,
            p(json!([
            {"kind": "move_file", "from": "dir/b.txt", "to": "a.txt", "expect": "any"},
            {"kind": "quarantine", "path": "a.txt", "reason": "superseded"}])),
            "actions[1].path",
        ),
        refused(
            "quarantine then move into the freed path twice",
            base,
            p(json!([
            {"kind": "quarantine", "path": "a.txt", "reason": "superseded"},
            {"kind": "move_file", "from": "dir/b.txt", "to": "a.txt", "expect": "any"},
            {"kind": "move_file", "from": "bin.dat", "to": "a.txt", "expect": "any"}])),
            "actions[2].to",
        ),
    ])
}

/// Preconditions (`expect`) that do not hold or are malformed.
fn expect_cases() -> Vec<Case> {
    Vec::from([
        refused(
            "expect mismatch on write",
            base,
            p(
                json!([{"kind": "write_file", "path": "a.txt", "content": "x", "expect": {"sha256": sha("not alpha\n")}}]),
            ),
            "actions[0].expect",
        ),
        refused(
            "expect absent on an existing file",
            base,
            p(json!([{"kind": "write_file", "path": "a.txt", "content": "x", "expect": "absent"}])),
            "actions[0].expect",
        ),
        refused(
            "expect sha256 on a missing file",
            base,
            p(
                json!([{"kind": "write_file", "path": "nope.txt", "content": "x", "expect": {"sha256": sha("x")}}]),
            ),
            "actions[0].expect",
        ),
        refused(
            "expect mismatch on move",
            base,
            p(
                json!([{"kind": "move_file", "from": "a.txt", "to": "m.txt", "expect": {"sha256": sha("zzz")}}]),
            ),
            "actions[0].expect",
        ),
        refused(
            "expect mismatch on delete",
            base,
            p(json!([{"kind": "delete_file", "path": "a.txt", "expect": {"sha256": sha("zzz")}}])),
            "actions[0].expect",
        ),
        refused(
            "expect mismatch on patch",
            base,
            p(
                json!([{"kind": "patch_region", "path": "cfg.py", "fence": "X", "content": "x", "expect": {"sha256": sha("zzz")}}]),
            ),
            "actions[0].expect",
        ),
        refused(
            "malformed expect",
            base,
            p(
                json!([{"kind": "write_file", "path": "a.txt", "content": "x", "expect": {"sha256": "12"}}]),
            ),
            "actions[0].expect",
        ),
    ])
}

/// Already deleted (idempotent, nothing to do), and proposals that mix kinds.
fn mixed_cases() -> Vec<Case> {
    Vec::from([
        // Already deleted: idempotent (G6), nothing to do.
        applied(
            "delete a missing file expected present",
            base,
            p(
                json!([{"kind": "delete_file", "path": "missing.txt", "expect": {"sha256": sha("x")}}]),
            ),
        ),
        applied(
            "delete a missing file expected absent (nothing to do)",
            base,
            p(json!([{"kind": "delete_file", "path": "missing.txt", "expect": "absent"}])),
        ),
        applied(
            "move then write elsewhere",
            base,
            p(json!([
            {"kind": "move_file", "from": "a.txt", "to": "moved/a.txt", "expect": {"sha256": sha("alpha\n")}},
            {"kind": "write_file", "path": "moved/b.txt", "content": "b", "expect": "absent"}])),
        ),
        applied(
            "every kind at once",
            base,
            p(json!([
            {"kind": "write_file", "path": "a.txt", "content": "A\n", "expect": {"sha256": sha("alpha\n")}, "executable": true},
            {"kind": "move_file", "from": "dir/b.txt", "to": "emptydir/b.txt", "expect": "any"},
            {"kind": "quarantine", "path": "bin.dat", "reason": "r"},
            {"kind": "patch_region", "path": "cfg.py", "fence": "X", "content": "x = 2\n"},
            {"kind": "delete_file", "path": "broken.py", "expect": "any"}])),
        ),
        applied(
            "write into a symlink's target by its real path",
            base,
            p(
                json!([{"kind": "write_file", "path": "dir/c.txt", "content": "c", "expect": "absent"}]),
            ),
        ),
        applied(
            "no base tree at all",
            none,
            p(
                json!([{"kind": "write_file", "path": "x/y/z.txt", "content": "z", "expect": "absent"}]),
            ),
        ),
    ])
}

fn cases() -> Vec<Case> {
    [
        path_cases(),
        type_cases(),
        fence_target_cases(),
        size_cases(),
        encoding_cases(),
        bad_json_cases(),
        bad_field_cases(),
        conflict_cases(),
        freed_path_cases(),
        expect_cases(),
        mixed_cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn long_name(f: &Fixture) {
    base(f);
    f.write(&"q".repeat(255), "long\n", 0o640);
}

fn raw(action: &str) -> String {
    format!(
        r#"{{"schema":"warden.proposal/v1","source":{{"kind":"person","id":"t"}},"event":"Manual","actions":[{action}]}}"#
    )
}

enum Ran {
    Refused(warden_core::Error),
    Noop,
    Applied(String),
}

fn run_case(f: &Fixture, input: &Input) -> Ran {
    let parsed = match input {
        Input::Json(v) => Proposal::from_value(v, "p.json"),
        Input::Text(t) => Proposal::parse(t, "p.json"),
    };
    let (prop, digest) = match parsed {
        Ok(x) => x,
        Err(e) => return Ran::Refused(e),
    };
    let repo = f.repo();
    let mut s = repo.session(&f.ctx, false, &mut |_| {}).expect("session");
    let plan = match s.plan(&prop, digest, "p.json") {
        Ok(p) => p,
        Err(e) => return Ran::Refused(e),
    };
    if plan.noop.is_some() {
        return Ran::Noop;
    }
    match s.apply(&plan) {
        Ok(out) => Ran::Applied(out.entry.run),
        Err(e) => Ran::Refused(e),
    }
}

#[test]
fn hostile_proposals_are_refused_or_applied_and_undone_and_never_wedge() {
    let _serial = serial();
    let cases = cases();
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let f = Fixture::new();
        (c.setup)(&f);
        let before = snapshot(f.root());
        let ran = run_case(&f, &c.input);
        match (&c.want, ran) {
            (Want::Refused(field), Ran::Refused(e)) => {
                let msg = format!("{e} {}", e.hint().unwrap_or_default());
                if !matches!(e.class(), ExitClass::Input | ExitClass::Rejected) {
                    failures.push(format!("{}: exit class {:?}: {msg}", c.name, e.class()));
                } else if !msg.contains(field) {
                    failures.push(format!(
                        "{}: message does not name {field:?}: {msg}",
                        c.name
                    ));
                }
                if snapshot(f.root()) != before {
                    failures.push(format!("{}: refused, but the tree changed", c.name));
                }
            }
            (Want::Applied, Ran::Applied(run)) => {
                if let Err(e) = try_undo(&f, &run, false) {
                    failures.push(format!("{}: undo failed: {e}", c.name));
                } else if snapshot(f.root()) != before {
                    failures.push(format!("{}: undo is not byte-exact", c.name));
                }
            }
            (Want::Applied, Ran::Noop) => {
                if snapshot(f.root()) != before {
                    failures.push(format!("{}: nothing to do, but the tree changed", c.name));
                }
            }
            (Want::Refused(_), Ran::Applied(_) | Ran::Noop) => {
                failures.push(format!(
                    "{}: expected a refusal, but it was accepted",
                    c.name
                ));
            }
            (Want::Applied, Ran::Refused(e)) => {
                failures.push(format!("{}: expected to apply, refused: {e}", c.name));
            }
        }
        still_works(&f, &c.name);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
