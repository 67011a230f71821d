//! Regression tests, each named after what broke (found by an attacker's
//! review of the bridge): what a signed command or a hostile inbox could do
//! before the fix, and what it must not do now.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde_json::{Value, json};
use warden_bridge::layout::Layout;
use warden_bridge::outputs::DeadLetterDoc;
use warden_bridge::pipeline::{ItemOutcome, PassReport};
use warden_core::{Digest, Repo};

/// Every file under the bridge's published directories, as text.
fn published(layout: &Layout) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for d in [
        "results",
        "diffs",
        "archive",
        "dead_letter",
        "logs",
        "summaries",
        "meta",
        "context",
    ] {
        let Ok(rd) = std::fs::read_dir(layout.dir(d)) else {
            continue;
        };
        for e in rd.flatten() {
            if let Ok(b) = std::fs::read(e.path()) {
                out.push((
                    format!("{d}/{}", e.file_name().to_string_lossy()),
                    String::from_utf8_lossy(&b).into_owned(),
                ));
            }
        }
    }
    out
}

fn assert_published_without(layout: &Layout, secrets: &[&str]) {
    for (file, text) in published(layout) {
        for s in secrets {
            assert!(!text.contains(s), "{file} shows {s}:\n{text}");
        }
    }
}

/// The patch written for `id`, checked against its integrity report.
fn patch_of(layout: &Layout, id: &str) -> String {
    let patch = std::fs::read(layout.diff(id)).expect("diff");
    let integrity: Value =
        serde_json::from_slice(&std::fs::read(layout.integrity(id)).expect("integrity"))
            .expect("json");
    assert_eq!(
        integrity["diff_sha256"],
        json!(Digest::of(&patch).to_string()),
        "diff_sha256 is not the digest of the patch written"
    );
    String::from_utf8(patch).expect("utf-8 patch")
}

fn archived(r: &PassReport) {
    assert!(
        !r.items.is_empty() && r.items.iter().all(|i| i.outcome == ItemOutcome::Archived),
        "{r:?}"
    );
}

/// Let the bridge delete and move files in the repository at `root`
/// (warden's default policy allows it to write and patch only).
fn allow_deletes_and_moves(root: &std::path::Path) {
    let p = root.join(".warden/policy.yaml");
    let text = std::fs::read_to_string(&p).expect("policy");
    let line = "    bridge: [write_file, patch_region]\n";
    assert!(text.contains(line), "{text}");
    let text = text.replacen(
        line,
        "    bridge: [write_file, patch_region, delete_file, move_file]\n",
        1,
    );
    std::fs::write(&p, text).expect("policy");
}

const IGNORED: &str = "Content not shown: git ignores this path in the target repository";

/// A signed `writeFile`, `deleteFile`, `replaceRegion` or `moveFile` of a file
/// git ignores in the target (a local secret) put its old lines into
/// `diffs/<id>.patch`, which publish commits and pushes. The file itself was
/// never committed, so the diff was the signer's way to read it. Now its
/// diff is one line, and the other files of the command still show theirs.
/// (In a separate target repository: in the bridge's own, such a command is
/// refused, see `the_published_ledger_carried_the_digest_of_an_ignored_file_a_command_changed`.)
#[test]
fn a_signed_command_cannot_read_an_ignored_file_through_its_published_diff() {
    let _serial = serial();
    let env = Env::new();
    let root = &separate_target(&env);
    // `:*`: a name git would read as pathspec magic is asked about as a name.
    std::fs::write(root.join(".gitignore"), "*.conf\nprivate/\n:*\n").expect("gitignore");
    std::fs::create_dir(root.join("private")).expect("mkdir");
    for (f, s) in [
        ("write.conf", "SECRET-WRITE\n"),
        ("delete.conf", "SECRET-DELETE\n"),
        ("move.conf", "SECRET-MOVE\n"),
        (
            "private/region.md",
            "SECRET-REGION\n# BEGIN AUTO SECTION: x\nold\n# END AUTO SECTION: x\n",
        ),
        ("private/line\nbreak.txt", "SECRET-NEWLINE\n"),
        (":(top)notes.txt", "SECRET-COLON\n"),
    ] {
        std::fs::write(root.join(f), s).expect("write");
    }
    let cmd = doc(
        "leak1",
        json!([
            {"op": "writeFile", "path": "write.conf", "content": "new\n"},
            {"op": "deleteFile", "path": "delete.conf"},
            {"op": "moveFile", "from": "move.conf", "to": "private/moved.txt"},
            {"op": "replaceRegion", "path": "private/region.md", "fence": "x", "content": "new\n"},
            {"op": "deleteFile", "path": "private/line\nbreak.txt"},
            {"op": "writeFile", "path": ":(top)notes.txt", "content": "new\n"},
            {"op": "writeFile", "path": "docs/visible.md", "content": "VISIBLE-LINE\n"},
        ]),
        &["writeFile", "deleteFile", "moveFile", "replaceRegion"],
    );
    let mut cmd = cmd;
    cmd["constraints"]["maxFilesChanged"] = json!(10);
    let r = {
        env.drop_file("leak1.json", &signed(&cmd));
        pass_over(&env, root, None)
    };
    archived(&r);
    let layout = env.layout();
    let patch = patch_of(&layout, "leak1");
    assert_published_without(&layout, &["SECRET-"]);
    // Each ignored file keeps its header (and mode line), with one line for
    // its content; a moved ignored file's new name too.
    for (header, why) in [
        ("diff --git a/write.conf b/write.conf\n", IGNORED),
        (
            "diff --git a/delete.conf b/delete.conf\ndeleted file mode 100644\n",
            IGNORED,
        ),
        (
            "diff --git a/move.conf b/move.conf\ndeleted file mode 100644\n",
            IGNORED,
        ),
        (
            "diff --git a/private/region.md b/private/region.md\n",
            IGNORED,
        ),
        (
            "diff --git \"a/private/line\\nbreak.txt\" \"b/private/line\\nbreak.txt\"\ndeleted file mode 100644\n",
            IGNORED,
        ),
        ("diff --git a/:(top)notes.txt b/:(top)notes.txt\n", IGNORED),
        (
            "diff --git a/private/moved.txt b/private/moved.txt\nnew file mode 100644\n",
            IGNORED,
        ),
    ] {
        assert!(
            patch.contains(&format!("{header}{why}\n")),
            "no summary after {header:?}:\n{patch}"
        );
    }
    // What git does not ignore is shown as before.
    assert!(patch.contains("+VISIBLE-LINE\n"), "{patch}");
    // The change itself happened.
    assert_eq!(
        std::fs::read_to_string(root.join("write.conf")).expect("read"),
        "new\n"
    );
    assert!(!root.join("delete.conf").exists());
}

/// The same when the bridge root is in another repository than the target:
/// what counts is what the *target* ignores (here `local.conf`), not what
/// the bridge root's repository ignores (here `shown.txt`).
#[test]
fn an_ignored_file_of_another_target_repository_is_not_shown_in_the_diff() {
    let _serial = serial();
    let env = Env::new();
    let target = separate_target(&env);
    std::fs::write(target.join(".gitignore"), "local.conf\n").expect("gitignore");
    std::fs::write(target.join("local.conf"), "SECRET-TARGET\n").expect("write");
    std::fs::write(target.join("shown.txt"), "OLD-SHOWN\n").expect("write");
    let mut gi = std::fs::read_to_string(env.root.join(".gitignore")).unwrap_or_default();
    gi.push_str("shown.txt\n");
    std::fs::write(env.root.join(".gitignore"), gi).expect("gitignore");
    let cmd = doc(
        "other1",
        json!([
            {"op": "writeFile", "path": "local.conf", "content": "x\n"},
            {"op": "writeFile", "path": "shown.txt", "content": "NEW-SHOWN\n"},
        ]),
        &["writeFile"],
    );
    env.drop_file("other1.json", &signed(&cmd));
    let repo = Repo::open(&target).expect("open");
    let mut b = env.bridge(env.layout(), &repo);
    archived(&b.run_once().expect("pass"));
    let patch = patch_of(&env.layout(), "other1");
    assert_published_without(&env.layout(), &["SECRET-"]);
    assert!(
        patch.contains(&format!(
            "diff --git a/local.conf b/local.conf\n{IGNORED}\n"
        )),
        "{patch}"
    );
    assert!(patch.contains("-OLD-SHOWN\n+NEW-SHOWN\n"), "{patch}");
    // The published counters told the ignored file's size (its lines
    // removed); they are zeroed for such a command, and say so.
    let result: Value =
        serde_json::from_slice(&std::fs::read(env.layout().result("other1")).expect("result"))
            .expect("json");
    let c = &result["counters"];
    assert_eq!(c["sizes_hidden"], json!(true), "{c}");
    for k in ["lines_added", "lines_removed", "bytes_written"] {
        assert_eq!(c[k], json!(0), "{k}: {c}");
    }
    assert_eq!(c["files_changed"], json!(2), "{c}");
    env.drop_file(
        "other2.json",
        &signed(&write("other2", "shown.txt", "AGAIN\n")),
    );
    archived(&pass_over(&env, &target, None));
    let result: Value =
        serde_json::from_slice(&std::fs::read(env.layout().result("other2")).expect("result"))
            .expect("json");
    assert_eq!(result["counters"].get("sizes_hidden"), None, "{result}");
    assert_eq!(result["counters"]["lines_removed"], json!(1), "{result}");
}

/// When git cannot say what it ignores (here: not on the bridge's PATH),
/// no file's content is shown, and the pass says why. In the bridge's own
/// repository, whose ledger is published, the command waits in
/// `commands/` instead.
#[test]
fn when_git_cannot_say_what_it_ignores_no_content_is_shown() {
    let _serial = serial();
    let env = Env::new();
    let empty = env.dir.path().join("no-git-here");
    std::fs::create_dir(&empty).expect("mkdir");
    let layout = Layout::new(&env.root).with_child_env(vec![("PATH".into(), empty.into())]);
    env.drop_file(
        "nogit1.json",
        &signed(&write("nogit1", "plain.txt", "after\n")),
    );
    // The bridge's own repository: nothing is applied, nothing is lost.
    let own = env.repo();
    let r = env.bridge(layout.clone(), &own).run_once().expect("pass");
    assert!(r.items.is_empty(), "{r:?}");
    let why = r.ignore_check_error.as_deref().expect("the pass says why");
    assert!(why.contains("wait in commands/"), "{why}");
    assert!(layout.commands().join("nogit1.json").exists());
    assert!(!env.root.join("plain.txt").exists());
    // A separate target repository: applied, its content not shown.
    let target = separate_target(&env);
    std::fs::write(target.join("plain.txt"), "SECRET-MAYBE\n").expect("write");
    let repo = Repo::open(&target).expect("open");
    let mut b = env.bridge(layout.clone(), &repo);
    let r = b.run_once().expect("pass");
    archived(&r);
    let why = r.ignore_check_error.as_deref().expect("the pass says why");
    assert!(why.contains("git"), "{why}");
    let patch = patch_of(&layout, "nogit1");
    assert_published_without(&layout, &["SECRET-"]);
    assert!(
        patch.contains(
            "diff --git a/plain.txt b/plain.txt\nContent not shown: git could not say whether it ignores this path in the target repository\n"
        ),
        "{patch}"
    );
}

/// A crashed batch's outputs are re-derived from the run's own diff in the
/// target (`.runs/<RUN>/diff.patch`, which is complete): the published
/// patch still leaves the ignored file's content out.
#[test]
fn a_re_derived_diff_leaves_an_ignored_file_out_too() {
    let _serial = serial();
    let env = Env::new();
    let target = separate_target(&env);
    std::fs::write(target.join(".gitignore"), "local.conf\n").expect("gitignore");
    std::fs::write(target.join("local.conf"), "SECRET-CRASH\n").expect("write");
    env.drop_file(
        "crash1.json",
        &signed(&write("crash1", "local.conf", "after\n")),
    );
    crash_over(&env, &target, "bridge.after_apply");
    assert!(!env.layout().diff("crash1").exists());
    let r = pass_over(&env, &target, None);
    archived(&r);
    assert!(r.items[0].recovered, "{r:?}");
    let patch = patch_of(&env.layout(), "crash1");
    assert_published_without(&env.layout(), &["SECRET-"]);
    assert!(
        patch.contains(&format!(
            "diff --git a/local.conf b/local.conf\n{IGNORED}\n"
        )),
        "{patch}"
    );
}

/// A target repository of its own at `<tmp>/target` (git and warden
/// initialised, deletes and moves allowed), outside the bridge root's: its
/// ledger is not published with the bridge's outputs.
fn separate_target(env: &Env) -> std::path::PathBuf {
    let dir = env.dir.path().canonicalize().expect("canon");
    let target = dir.join("target");
    std::fs::create_dir(&target).expect("mkdir");
    git(&target, &["init", "-q", "--initial-branch=main"]);
    warden_core::repo::init(&target, &env.ctx).expect("warden init");
    allow_deletes_and_moves(&target);
    target
}

/// A bridge over a target repository of its own at `<tmp>/target`, where
/// `.git/info/exclude` ignores `secret*.conf` and `secret2.conf` holds a
/// password; `.warden/policy.yaml` lets the bridge delete and move.
fn target_with_a_secret(env: &Env) -> std::path::PathBuf {
    let target = separate_target(env);
    std::fs::write(target.join(".git/info/exclude"), "secret*.conf\n").expect("exclude");
    std::fs::write(target.join("secret2.conf"), "password=hunter2\n").expect("write");
    target
}

/// One pass of a bridge at `env.root` over the repository at `target`,
/// git found through `path` when given.
fn pass_over(env: &Env, target: &std::path::Path, path: Option<&std::path::Path>) -> PassReport {
    let repo = Repo::open(target).expect("open");
    let mut layout = env.layout();
    if let Some(p) = path {
        layout = layout.with_child_env(vec![("PATH".into(), p.into())]);
    }
    let mut b = env.bridge(layout, &repo);
    b.run_once().expect("pass")
}

fn item<'r>(r: &'r PassReport, id: &str) -> &'r warden_bridge::pipeline::ItemReport {
    r.items
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("no item {id}: {r:?}"))
}

/// A signed `moveFile` from a file git ignores in the target
/// (`secret2.conf`, by `.git/info/exclude`) to one it does not
/// (`leak2.txt`) was applied: its own diff hid the content, but the next
/// command's diff of `leak2.txt` showed `-password=hunter2`, and publish
/// would commit the moved file. Now such a move is refused before the batch
/// is applied, in one pass or in two; a move to another ignored path is
/// still applied.
#[test]
fn a_move_cannot_take_an_ignored_file_to_a_path_git_does_not_ignore() {
    let _serial = serial();
    let env = Env::new();
    let target = target_with_a_secret(&env);
    let mv = |id: &str, from: &str, to: &str| {
        signed(&doc(
            id,
            json!([{"op": "moveFile", "from": from, "to": to}]),
            &["moveFile"],
        ))
    };
    // Both in one pass: c5 moves, c6 rewrites where it would have landed;
    // c4's path outside the repository (which git refuses to be asked
    // about) does not keep git from answering for the others, and c9's
    // move from one ignored path to another stays local and is applied.
    env.drop_file("c4.json", &mv("c4", "secret2.conf", "../out.txt"));
    env.drop_file("c5.json", &mv("c5", "secret2.conf", "leak2.txt"));
    env.drop_file("c6.json", &signed(&write("c6", "leak2.txt", "x\n")));
    env.drop_file("c9.json", &mv("c9", "secret2.conf", "secret3.conf"));
    let r = pass_over(&env, &target, None);
    assert_eq!(
        item(&r, "c4").reason.map(|r| r.as_str()),
        Some("path_escape")
    );
    assert_eq!(item(&r, "c9").outcome, ItemOutcome::Archived, "{r:?}");
    assert!(target.join("secret3.conf").exists());
    assert!(!target.join("secret2.conf").exists());
    let c5 = item(&r, "c5");
    assert_eq!(c5.outcome, ItemOutcome::DeadLetter, "{r:?}");
    assert_eq!(c5.reason.map(|r| r.as_str()), Some("protected_path"));
    let detail = c5.detail.as_deref().expect("detail");
    assert!(
        detail.contains("secret2.conf")
            && detail.contains("leak2.txt")
            && detail.contains("git ignores"),
        "{detail}"
    );
    let (dl, _) = dead_letter(&env.layout(), "c5");
    assert_eq!(dl["field"], json!("payload.inline.ops[0].from"), "{dl}");
    assert_eq!(item(&r, "c6").outcome, ItemOutcome::Archived, "{r:?}");
    assert_eq!(
        std::fs::read_to_string(target.join("leak2.txt")).expect("written"),
        "x\n"
    );
    // In two passes: the move is refused, the write after it shows no secret.
    env.drop_file("c7.json", &mv("c7", "secret3.conf", "docs/leak3.txt"));
    let r = pass_over(&env, &target, None);
    assert_eq!(item(&r, "c7").outcome, ItemOutcome::DeadLetter, "{r:?}");
    env.drop_file("c8.json", &signed(&write("c8", "docs/leak3.txt", "x\n")));
    archived(&pass_over(&env, &target, None));
    assert!(!patch_of(&env.layout(), "c8").contains("hunter2"));
    assert_eq!(
        std::fs::read_to_string(target.join("secret3.conf")).expect("still there"),
        "password=hunter2\n"
    );
    assert_published_without(&env.layout(), &["hunter2"]);
}

/// `bridge verify FILE` said "accepted" for a `moveFile` of an ignored file
/// to a path git does not ignore, which the executor then dead-lettered
/// (`protected_path`): verify now makes the executor's check, before its
/// dry run, and still accepts a move between ignored paths.
#[test]
fn verify_accepted_a_move_out_of_the_local_only_area_that_the_executor_refuses() {
    let _serial = serial();
    let env = Env::new();
    let target = target_with_a_secret(&env);
    let mv = |id: &str, to: &str| {
        signed(&doc(
            id,
            json!([{"op": "moveFile", "from": "secret2.conf", "to": to}]),
            &["moveFile"],
        ))
    };
    env.drop_file("v1.json", &mv("v1", "leak2.txt"));
    env.drop_file("v2.json", &mv("v2", "secret3.conf"));
    let repo = Repo::open(&target).expect("open");
    let b = env.bridge(env.layout(), &repo);
    let verify = |name: &str| {
        b.verify_file(&env.layout().commands().join(name))
            .expect("verify")
    };
    let out = verify("v1.json");
    assert!(!out.accepted, "{out:?}");
    let paths = out
        .layers
        .iter()
        .find(|l| l.layer == "paths")
        .expect("a paths layer");
    let rej = paths.rejection.as_ref().expect("refused");
    assert_eq!(rej.reason.as_str(), "protected_path", "{out:?}");
    assert!(!out.layers.iter().any(|l| l.layer == "dry-run"), "{out:?}");
    assert!(verify("v2.json").accepted);
    // The executor agrees with both answers.
    drop(b);
    let r = pass_over(&env, &target, None);
    assert_eq!(item(&r, "v1").outcome, ItemOutcome::DeadLetter, "{r:?}");
    assert_eq!(item(&r, "v2").outcome, ItemOutcome::Archived, "{r:?}");
}

/// In the bridge's own repository, publish commits the ledger with each
/// pass, and a run's entry names the sha256 of every file it changed,
/// before and after: a signed `writeFile` over an ignored `local.conf`
/// published the digest of its old content (an offline guess of a short
/// secret). Such a command is now refused before the batch is applied; the
/// other commands of the pass go on.
#[test]
fn the_published_ledger_carried_the_digest_of_an_ignored_file_a_command_changed() {
    let _serial = serial();
    let env = Env::new();
    let mut gi = std::fs::read_to_string(env.root.join(".gitignore")).unwrap_or_default();
    gi.push_str("local.conf\n");
    std::fs::write(env.root.join(".gitignore"), gi).expect("gitignore");
    let secret = "SECRET-LEDGER\n";
    std::fs::write(env.root.join("local.conf"), secret).expect("write");
    env.drop_file("l1.json", &signed(&write("l1", "local.conf", "after\n")));
    env.drop_file("l2.json", &signed(&write("l2", "notes.txt", "fine\n")));
    let r = env.pass();
    let l1 = item(&r, "l1");
    assert_eq!(l1.outcome, ItemOutcome::DeadLetter, "{r:?}");
    assert_eq!(l1.reason.map(|r| r.as_str()), Some("protected_path"));
    let detail = l1.detail.as_deref().expect("detail");
    assert!(
        detail.contains("local.conf") && detail.contains("ledger"),
        "{detail}"
    );
    assert_eq!(item(&r, "l2").outcome, ItemOutcome::Archived, "{r:?}");
    assert_eq!(
        std::fs::read_to_string(env.root.join("local.conf")).expect("read"),
        secret
    );
    let digest = Digest::of(secret.as_bytes()).to_string();
    let hex = digest.trim_start_matches("sha256:");
    for e in std::fs::read_dir(env.root.join(".ledger/runs"))
        .expect("ledger")
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).expect("read");
        assert!(
            !text.contains(hex),
            "{} names the secret's digest",
            e.path().display()
        );
    }
}

/// The same when the target is the bridge's own repository and
/// `.gitignore` ignores the source: `notes/moved.txt` would have been
/// committed by publish with the secret in it.
#[test]
fn a_move_cannot_take_an_ignored_file_out_of_the_bridges_own_repository() {
    let _serial = serial();
    let env = Env::new();
    let mut gi = std::fs::read_to_string(env.root.join(".gitignore")).unwrap_or_default();
    gi.push_str("local.conf\n");
    std::fs::write(env.root.join(".gitignore"), gi).expect("gitignore");
    std::fs::write(env.root.join("local.conf"), "SECRET-LOCAL\n").expect("write");
    allow_deletes_and_moves(&env.root);
    env.drop_file(
        "mv1.json",
        &signed(&doc(
            "mv1",
            json!([{"op": "moveFile", "from": "local.conf", "to": "notes/moved.txt"}]),
            &["moveFile"],
        )),
    );
    let r = env.pass();
    assert_eq!(item(&r, "mv1").outcome, ItemOutcome::DeadLetter, "{r:?}");
    assert!(env.root.join("local.conf").exists());
    assert!(!env.root.join("notes/moved.txt").exists());
    assert!(
        git(&env.root, &["status", "--porcelain"])
            .lines()
            .all(|l| !l.contains("notes"))
    );
    assert_published_without(&env.layout(), &["SECRET-"]);
}

/// When git cannot say what it ignores in the target, no move is applied:
/// its source may be local-only.
#[test]
fn when_git_cannot_say_what_it_ignores_no_move_is_applied() {
    let _serial = serial();
    let env = Env::new();
    let target = target_with_a_secret(&env);
    std::fs::write(target.join("plain.txt"), "plain\n").expect("write");
    let empty = env.dir.path().join("no-git-here");
    std::fs::create_dir(&empty).expect("mkdir");
    env.drop_file(
        "ng1.json",
        &signed(&doc(
            "ng1",
            json!([{"op": "moveFile", "from": "plain.txt", "to": "moved.txt"}]),
            &["moveFile"],
        )),
    );
    let r = pass_over(&env, &target, Some(&empty));
    let ng1 = item(&r, "ng1");
    assert_eq!(ng1.outcome, ItemOutcome::DeadLetter, "{r:?}");
    assert_eq!(ng1.reason.map(|r| r.as_str()), Some("protected_path"));
    let detail = ng1.detail.as_deref().expect("detail");
    assert!(detail.contains("git could not say"), "{detail}");
    assert!(target.join("plain.txt").exists());
    assert!(!target.join("moved.txt").exists());
}

/// A signed `writeFile` of an ignored file with a wrong `expect` was
/// dead-lettered with the core's wording, `"secret.conf" has sha256
/// 476938956c075100 but …`: 64 bits of the secret's digest, published, an
/// offline brute-force oracle for a short secret (`expect: "absent"` gave
/// the whole digest in its hint). Now no published output of such a
/// refusal carries the digest; a file git does not ignore keeps it.
#[test]
fn a_dead_letter_does_not_reveal_the_digest_of_an_ignored_file() {
    let _serial = serial();
    let env = Env::new();
    let target = target_with_a_secret(&env);
    std::fs::write(target.join("secret.conf"), "password=hunter2\n").expect("write");
    std::fs::write(target.join("shown.txt"), "shown\n").expect("write");
    let digest = Digest::of(b"password=hunter2\n").to_string();
    let hex = digest.trim_start_matches("sha256:");
    let expect = |id: &str, path: &str, expect: Value| {
        signed(&doc(
            id,
            json!([{"op": "writeFile", "path": path, "content": "x\n", "expect": expect}]),
            &["writeFile"],
        ))
    };
    let zeros = json!({"sha256": "0".repeat(64)});
    env.drop_file("e1.json", &expect("e1", "secret.conf", zeros.clone()));
    env.drop_file("e2.json", &expect("e2", "secret.conf", json!("absent")));
    env.drop_file("e3.json", &expect("e3", "shown.txt", zeros));
    let r = pass_over(&env, &target, None);
    for id in ["e1", "e2", "e3"] {
        assert_eq!(item(&r, id).outcome, ItemOutcome::DeadLetter, "{r:?}");
        assert_eq!(
            item(&r, id).reason.map(|r| r.as_str()),
            Some("precondition_failed")
        );
    }
    for id in ["e1", "e2"] {
        let detail = item(&r, id).detail.clone().expect("detail");
        assert!(!detail.contains(&hex[..16]), "{detail}");
    }
    let (e1, _) = dead_letter(&env.layout(), "e1");
    assert_eq!(
        e1["detail"],
        json!(
            "precondition failed: \"secret.conf\" does not have the expected sha256 (digests are not shown: git ignores this path in the target repository, or could not say)"
        )
    );
    assert_published_without(&env.layout(), &[&hex[..16], "hunter2"]);
    // What git does not ignore is worded as the core words it.
    let shown = Digest::of(b"shown\n").to_string();
    let shown = shown.trim_start_matches("sha256:");
    assert!(
        item(&r, "e3")
            .detail
            .as_deref()
            .is_some_and(|d| d.contains(&shown[..16])),
        "{r:?}"
    );
}

/// Failpoints are process-wide: every test of this file runs its passes
/// holding this lock, so one test's armed failpoint never stops another's.
static PASSES: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    PASSES.lock().unwrap_or_else(|e| e.into_inner())
}

/// A bridge failpoint armed until dropped.
struct Armed;

impl Armed {
    fn new(point: &str) -> Armed {
        warden_core::failpoint::arm(point, warden_core::failpoint::Action::Error);
        Armed
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        warden_core::failpoint::clear();
    }
}

/// A name in commands/ from its bytes.
fn inbox_name(env: &Env, name: &[u8]) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt;
    env.layout()
        .commands()
        .join(std::ffi::OsStr::from_bytes(name))
}

/// The layer `bridge verify` refuses the inbox file `name` at.
fn verify_refuses_at(env: &Env, name: &[u8]) -> String {
    let repo = env.repo();
    let b = env.bridge(env.layout(), &repo);
    let v = b
        .verify_file(&inbox_name(env, name))
        .expect("verify reads the file");
    assert!(!v.accepted, "{v:?}");
    v.layers.last().expect("layers").layer.clone()
}

fn each_dead_letter_names_its_file_escaped_and_keeps_its_content(layout: &Layout, r: &PassReport) {
    for item in r
        .items
        .iter()
        .filter(|i| i.outcome == ItemOutcome::DeadLetter)
    {
        let dl: Value = serde_json::from_slice(
            &std::fs::read(layout.dead_letter(&item.id)).expect("dead letter"),
        )
        .expect("json");
        let file = dl["file"].as_str().expect("file");
        assert_eq!(file, format!("commands/{}", item.file));
        assert!(!file.chars().any(char::is_control), "{file:?}");
        assert!(
            dl.get("original_text").is_some() || dl.get("original_base64").is_some(),
            "{dl}"
        );
    }
}

/// The inbox scan read names lossily, so a file whose name is not UTF-8
/// was looked for under another name, never found, and stayed in
/// commands/ for ever (counted in `bridge status`'s backlog). Now it is
/// taken by its bytes and dead-lettered like any other file: for its
/// content, or else because its name is not `<id>.json` (a signed command
/// does not spend its id); the dead letter names it escaped and keeps its
/// content; it leaves the inbox; the others of the pass are served.
#[test]
fn a_command_file_whose_name_is_not_utf8_is_dead_lettered_not_left_for_ever() {
    let _serial = serial();
    let env = Env::new();
    let signed_noop = signed(&noop("bad"));
    let files: [(&[u8], Vec<u8>); 5] = [
        (b"bad\xff.json", signed_noop.clone()),
        (b"\xfe\xfd.json", b"not json \xff".to_vec()),
        (b"evil\n\x1b[2J\xff.json", b"{}".to_vec()),
        (b".\xff.json", b"{}".to_vec()),
        (b"notes\xff.txt", b"left alone".to_vec()),
    ];
    for (name, bytes) in &files {
        std::fs::write(inbox_name(&env, name), bytes).expect("write");
    }
    env.drop_file("fine.json", &signed(&noop("fine")));
    // `bridge verify` reads it by its bytes too, and says what the executor will.
    assert_eq!(verify_refuses_at(&env, b"bad\xff.json"), "name");
    let r = env.pass();
    let got: Vec<(&str, Option<warden_bridge::reason::Reason>)> = r
        .items
        .iter()
        .map(|i| (i.file.as_str(), i.reason))
        .collect();
    use warden_bridge::reason::Reason::*;
    assert_eq!(
        got,
        [
            (".\\xff.json", Some(Hidden)),
            ("bad\\xff.json", Some(IdMismatch)),
            ("evil\\n\\x1b[2J\\xff.json", Some(HmacMissing)),
            ("fine.json", None),
            ("\\xfe\\xfd.json", Some(InvalidJson)),
        ],
        "{r:?}"
    );
    assert_eq!(r.ignored, ["notes\\xff.txt"], "{r:?}");
    let layout = env.layout();
    each_dead_letter_names_its_file_escaped_and_keeps_its_content(&layout, &r);
    let dl: Value =
        serde_json::from_slice(&std::fs::read(layout.dead_letter("bad_xff")).expect("dead letter"))
            .expect("json");
    assert_eq!(
        dl["original_text"].as_str().map(str::as_bytes),
        Some(&signed_noop[..])
    );
    assert!(
        dl["hint"].as_str().unwrap_or("").contains("bad.json"),
        "{dl}"
    );
    // Only the text file is left; the backlog is empty.
    for (name, _) in &files[..4] {
        assert!(
            !inbox_name(&env, name).exists(),
            "{name:?} is still in commands/"
        );
    }
    assert!(inbox_name(&env, b"notes\xff.txt").exists());
    assert_eq!(warden_bridge::service::backlog(&layout).pending_commands, 0);
    // The signed command's id was not spent: under its own name it runs.
    assert!(env.pass().items.is_empty());
    let again = env.one("bad.json", &signed_noop);
    assert_eq!(again.outcome, ItemOutcome::Archived, "{again:?}");
}

/// A crash after a batch's outputs were written, before its files left the
/// inbox: the next pass takes a file whose name is not UTF-8 again as the
/// batch's own (the marker names it escaped) and rewrites its dead letter
/// under the same name, never a second one.
#[test]
fn a_crashed_batch_takes_a_name_that_is_not_utf8_again_under_the_same_dead_letter() {
    let _serial = serial();
    let env = Env::new();
    std::fs::write(inbox_name(&env, b"crash\xff.json"), b"{}").expect("write");
    crash_at(&env, "bridge.after_outputs");
    assert!(inbox_name(&env, b"crash\xff.json").exists());
    let r = env.pass();
    assert_eq!(r.items.len(), 1, "{r:?}");
    assert!(r.items[0].recovered, "{r:?}");
    assert_eq!(r.items[0].id, "crash_xff");
    let names: Vec<String> = std::fs::read_dir(env.layout().dir("dead_letter"))
        .expect("dead_letter/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(names, ["crash_xff.json"]);
    assert!(!inbox_name(&env, b"crash\xff.json").exists());
}

fn dead_letter(layout: &Layout, key: &str) -> (Value, usize) {
    let bytes = std::fs::read(layout.dead_letter(key)).expect("dead letter");
    (serde_json::from_slice(&bytes).expect("json"), bytes.len())
}

/// A dead letter kept the original as `original_text`, where JSON escapes
/// each control character as six bytes (`\u0001`), and dead letters are
/// committed: 300 KiB of them became a 1.8 MB dead letter. Now text with a
/// control character other than \n, \r and \t is kept as `original_base64`
/// (4/3 of its size); text without one stays readable as `original_text`.
#[test]
fn a_dead_letter_of_control_characters_is_not_six_times_its_input() {
    let _serial = serial();
    let env = Env::new();
    let layout = env.layout();
    let controls = vec![1u8; 300 * 1024];
    let r = env.one("ctl.json", &controls);
    assert_eq!(r.outcome, ItemOutcome::DeadLetter, "{r:?}");
    let (dl, size) = dead_letter(&layout, &r.id);
    assert!(
        size < controls.len() * 4 / 3 + 4096,
        "a dead letter of {size} bytes for {} bytes of input",
        controls.len()
    );
    assert!(dl.get("original_text").is_none(), "{}", dl["original_text"]);
    assert_eq!(DeadLetterDoc::original(&dl), Some(controls));
    // Any control character other than \n, \r, \t: DEL, C1, ESC.
    for (name, text) in [
        ("del.json", "a\u{7f}b"),
        ("c1.json", "a\u{85}b"),
        ("esc.json", "\u{1b}[2J"),
    ] {
        let r = env.one(name, text.as_bytes());
        let (dl, _) = dead_letter(&layout, &r.id);
        assert!(dl.get("original_text").is_none(), "{name}: {dl}");
        assert_eq!(
            DeadLetterDoc::original(&dl).as_deref(),
            Some(text.as_bytes())
        );
    }
    // Plain text with line breaks and tabs stays text.
    let text = "{\"id\": \"x\",\r\n\t\"oops\": }\n";
    let r = env.one("text.json", text.as_bytes());
    let (dl, _) = dead_letter(&layout, &r.id);
    assert_eq!(dl["original_text"], json!(text));
    assert!(dl.get("original_base64").is_none(), "{dl}");
    assert_eq!(
        DeadLetterDoc::original(&dl).as_deref(),
        Some(text.as_bytes())
    );
}

/// Dead letters written before: `original_text` with control characters
/// in it. They still validate, still reserve their id, still count by
/// reason, and their original still reads back.
#[test]
fn a_dead_letter_written_before_base64_is_still_read() {
    let _serial = serial();
    let env = Env::new();
    let layout = env.layout();
    let old = json!({
        "schema": "warden.bridge-dead-letter/v1",
        "id": "old1",
        "file": "commands/old1.json",
        "reason": "expired",
        "layer": "time",
        "detail": "expired",
        "exit_code": 1,
        "hmac_ok": true,
        "received_at": "2026-01-01T00:00:00Z",
        "rejected_at": "2026-01-01T00:00:00Z",
        "size": 3,
        "file_type": "regular",
        "input_sha256": Digest::of(b"\x01\x02\n").to_string(),
        "original_text": "\u{1}\u{2}\n",
        "recovered": false,
    });
    let schema = warden_bridge::schema::get("bridge-dead-letter").expect("schema");
    warden_testkit::schemas::assert_valid("bridge-dead-letter", &schema, &old);
    std::fs::write(
        layout.dead_letter("old1"),
        serde_json::to_vec_pretty(&old).expect("json"),
    )
    .expect("write");
    assert_eq!(
        DeadLetterDoc::original(&old).as_deref(),
        Some(&b"\x01\x02\n"[..])
    );
    let backlog = warden_bridge::service::backlog(&layout);
    assert_eq!(backlog.dead_letters.get("expired"), Some(&1));
    let r = env.one("old1.json", &signed(&noop("old1")));
    assert_eq!(
        r.reason,
        Some(warden_bridge::reason::Reason::DuplicateId),
        "{r:?}"
    );
    // And a new one validates too.
    let r = env.one("new1.json", b"\x01{");
    let (dl, _) = dead_letter(&layout, &r.id);
    warden_testkit::schemas::assert_valid("bridge-dead-letter", &schema, &dl);
}

/// One pass of the executor that stops at the failpoint `point`, as a crash
/// there would.
fn crash_at(env: &Env, point: &'static str) {
    crash_over(env, &env.root, point);
}

/// A pass over the repository at `target` stopped at `point`.
fn crash_over(env: &Env, target: &std::path::Path, point: &'static str) {
    let repo = Repo::open(target).expect("open");
    let _armed = Armed::new(point);
    let mut b = env.bridge(env.layout(), &repo);
    assert!(
        b.run_once().is_err(),
        "the failpoint {point} stops the batch"
    );
}
