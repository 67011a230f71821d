//! The repo-unchanged check (G9) sees and undoes metadata changes of files
//! and directories, not only content (issue 10, finding 3).
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]
#![cfg(target_os = "linux")]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use warden_core::{Context, Repo};
use warden_plugin::snapshot::{RollBack, Snapshot, roll_back};

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join(".git")).expect(".git");
    warden_core::repo::init(dir.path(), &Context::fixed(1_800_000_000)).expect("init");
    let root = dir.path();
    std::fs::create_dir_all(root.join("src/inner")).expect("mkdir");
    std::fs::write(root.join("README.md"), "readme\n").expect("write");
    std::fs::write(root.join("run.sh"), "#!/bin/sh\n").expect("write");
    std::fs::write(root.join("src/main.rs"), "fn main() {}\n").expect("write");
    chmod(&root.join("README.md"), 0o644);
    chmod(&root.join("run.sh"), 0o755);
    chmod(&root.join("src/main.rs"), 0o644);
    chmod(&root.join("src"), 0o750);
    dir
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).expect("meta").mode() & 0o7777
}

fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    let n: usize = rustix::fs::lgetxattr(p, name, &mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

fn user_xattrs_supported(p: &Path) -> bool {
    rustix::fs::lsetxattr(
        p,
        "user.warden-probe",
        b"1",
        rustix::fs::XattrFlags::empty(),
    )
    .and_then(|()| rustix::fs::lremovexattr(p, "user.warden-probe"))
    .is_ok()
}

/// Run `attack` between two snapshots and roll back: the snapshot before,
/// and what the roll back did.
fn roll_back_attack(
    root: &Path,
    with_content: bool,
    attack: impl FnOnce(&Path),
) -> (Snapshot, RollBack) {
    let before = Snapshot::take(root, with_content).expect("before");
    attack(root);
    let after = Snapshot::take(root, false).expect("after");
    let repo = Repo::open(root).expect("open");
    let ctx = Context::fixed(1_800_000_001);
    let mut session = repo.session(&ctx, true, &mut |_| {}).expect("session");
    let rb =
        roll_back(&mut session, "01TESTRUN", "p-repo-writes", &before, &after).expect("roll back");
    (before, rb)
}

/// Run `attack` between two snapshots, roll back, check that everything was
/// put back, and return the changes seen.
fn attack_and_roll_back(
    root: &Path,
    with_content: bool,
    attack: impl FnOnce(&Path),
) -> Vec<String> {
    let (before, rb) = roll_back_attack(root, with_content, attack);
    assert!(
        rb.unrestored.is_empty(),
        "not restored: {:?}",
        rb.unrestored
    );
    let again = Snapshot::take(root, false).expect("again");
    // Everything but content fingerprints (rewritten files get new inodes) is back.
    let left: Vec<_> = before
        .diff(&again)
        .into_iter()
        // The quarantine lane holds the plugin's versions by design.
        .filter(|c| !c.path.starts_with(".quarantine"))
        .filter(|c| !c.content || c.after.is_none() || c.before.is_none())
        .filter(|c| {
            c.after.as_ref().map(|m| (m.mode, &m.xattrs))
                != c.before.as_ref().map(|m| (m.mode, &m.xattrs))
        })
        .map(|c| c.describe())
        .collect();
    assert!(left.is_empty(), "still changed after roll back: {left:?}");
    rb.changes
}

#[test]
fn chmod_of_files_is_detected_and_restored_even_when_the_sandbox_kept_no_content() {
    let dir = repo();
    let root = dir.path();
    let changes = attack_and_roll_back(root, false, |r| {
        chmod(&r.join("README.md"), 0o777);
        chmod(&r.join("run.sh"), 0o6755);
        chmod(&r.join("src/main.rs"), 0o000);
    });
    assert_eq!(
        changes,
        vec![
            "README.md: mode 0644 -> 0777",
            "run.sh: mode 0755 -> 6755",
            "src/main.rs: mode 0644 -> 0000",
        ]
    );
    assert_eq!(mode(&root.join("README.md")), 0o644);
    assert_eq!(mode(&root.join("run.sh")), 0o755);
    assert_eq!(mode(&root.join("src/main.rs")), 0o644);
}

#[test]
fn directory_mode_changes_were_not_detected_and_now_are_restored() {
    let dir = repo();
    let root = dir.path();
    let inner = mode(&root.join("src/inner"));
    let changes = attack_and_roll_back(root, false, |r| {
        chmod(&r.join("src"), 0o777);
        chmod(&r.join("src/inner"), 0o700);
    });
    assert_eq!(
        changes,
        vec![
            "src: mode 0750 -> 0777".to_string(),
            format!("src/inner: mode {inner:04o} -> 0700")
        ]
    );
    assert_eq!(mode(&root.join("src")), 0o750);
    assert_eq!(mode(&root.join("src/inner")), inner);
}

#[test]
fn xattrs_on_files_and_directories_were_not_detected_and_now_are_removed() {
    let dir = repo();
    let root = dir.path();
    if !user_xattrs_supported(root) {
        eprintln!("skipped: this file system has no user xattrs");
        return;
    }
    rustix::fs::lsetxattr(
        root.join("README.md"),
        "user.keep",
        b"old",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("setxattr");
    let changes = attack_and_roll_back(root, false, |r| {
        rustix::fs::lsetxattr(
            r.join("src"),
            "user.evil",
            b"1",
            rustix::fs::XattrFlags::empty(),
        )
        .expect("setxattr dir");
        rustix::fs::lsetxattr(
            r.join("README.md"),
            "user.keep",
            b"new",
            rustix::fs::XattrFlags::empty(),
        )
        .expect("setxattr file");
    });
    assert_eq!(
        changes,
        vec!["README.md: xattrs user.keep", "src: xattrs user.evil"]
    );
    assert_eq!(
        xattr(&root.join("README.md"), "user.keep"),
        Some(b"old".to_vec())
    );
    assert_eq!(xattr(&root.join("src"), "user.evil"), None);
}

#[test]
fn chmod_000_of_the_journal_is_detected_and_restored() {
    let dir = repo();
    let root = dir.path();
    let journal = root.join(".warden/state/journal");
    if !journal.exists() {
        std::fs::write(&journal, b"").expect("journal");
    }
    let was = mode(&journal);
    let changes = attack_and_roll_back(root, false, |r| {
        chmod(&r.join(".warden/state/journal"), 0o000);
    });
    assert_eq!(
        changes,
        vec![format!(".warden/state/journal: mode {was:04o} -> 0000")]
    );
    assert_eq!(mode(&journal), was);
}

#[test]
fn added_and_removed_directories_are_put_back() {
    let dir = repo();
    let root = dir.path();
    let changes = attack_and_roll_back(root, true, |r| {
        std::fs::create_dir_all(r.join("new/deeper")).expect("mkdir");
        std::fs::write(r.join("new/deeper/f"), "x").expect("write");
        std::fs::remove_dir(r.join("src/inner")).expect("rmdir");
    });
    assert!(changes.contains(&"new: added".to_string()), "{changes:?}");
    assert!(
        changes.contains(&"src/inner: removed".to_string()),
        "{changes:?}"
    );
    assert!(!root.join("new").exists());
    assert!(root.join("src/inner").is_dir());
    // The plugin's file is kept in the quarantine lane.
    assert!(
        root.join(".quarantine/01TESTRUN/p-repo-writes/new/deeper/f")
            .is_file()
    );
}

#[test]
fn a_content_change_is_restored_with_its_mode_and_xattrs() {
    let dir = repo();
    let root = dir.path();
    let xattrs = user_xattrs_supported(root);
    if xattrs {
        rustix::fs::lsetxattr(
            root.join("run.sh"),
            "user.tag",
            b"t",
            rustix::fs::XattrFlags::empty(),
        )
        .expect("setxattr");
    }
    let changes = attack_and_roll_back(root, true, |r| {
        std::fs::remove_file(r.join("run.sh")).expect("rm");
        std::fs::write(r.join("run.sh"), "evil\n").expect("write");
        chmod(&r.join("run.sh"), 0o4777);
    });
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        std::fs::read(root.join("run.sh")).expect("read"),
        b"#!/bin/sh\n"
    );
    assert_eq!(mode(&root.join("run.sh")), 0o755);
    if xattrs {
        assert_eq!(xattr(&root.join("run.sh"), "user.tag"), Some(b"t".to_vec()));
    }
}

/// Rewrite `p` in place (same inode) with `text`, then set its mtime back.
fn rewrite_keeping_mtime(p: &Path, text: &str) {
    let mtime = std::fs::metadata(p)
        .expect("meta")
        .modified()
        .expect("mtime");
    std::fs::write(p, text).expect("rewrite");
    std::fs::File::options()
        .write(true)
        .open(p)
        .and_then(|f| f.set_modified(mtime))
        .expect("set the mtime back");
}

#[test]
fn a_same_size_rewrite_with_its_mtime_put_back_is_seen_and_restored() {
    // Without the file system sandbox a plugin can rewrite a file in place
    // (same inode, same size) and set its mtime back (utimensat): size, mtime
    // and inode alone then say "unchanged". The change time cannot be set.
    let dir = repo();
    let root = dir.path();
    let changes = attack_and_roll_back(root, true, |r| {
        rewrite_keeping_mtime(&r.join("README.md"), "README\n");
    });
    assert_eq!(changes, vec!["README.md: content".to_string()]);
    assert_eq!(
        std::fs::read(root.join("README.md")).expect("read"),
        b"readme\n"
    );
}

#[test]
fn without_kept_content_a_moved_change_time_alone_counts_as_a_content_change() {
    let dir = repo();
    let root = dir.path();
    let before = Snapshot::take(root, false).expect("before");
    rewrite_keeping_mtime(&root.join("README.md"), "README\n");
    // A chmod moves the change time too, and explains it: metadata only.
    chmod(&root.join("run.sh"), 0o700);
    let after = Snapshot::take(root, false).expect("after");
    let seen: Vec<(String, bool)> = before
        .diff(&after)
        .into_iter()
        .map(|c| (c.path, c.content))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("README.md".to_string(), true),
            ("run.sh".to_string(), false)
        ]
    );
}

#[test]
fn an_unchanged_tree_has_no_diff() {
    let dir = repo();
    let a = Snapshot::take(dir.path(), true).expect("a");
    let b = Snapshot::take(dir.path(), false).expect("b");
    assert!(a.diff(&b).is_empty());
}

/// A repository with `n` past runs in `.runs/`, three files each.
fn with_past_runs(n: usize) -> tempfile::TempDir {
    let dir = repo();
    for i in 0..n {
        let run = dir.path().join(format!(".runs/01PAST{i:020}"));
        std::fs::create_dir_all(&run).expect("mkdir");
        for f in ["run.json", "diff.patch", "input.json"] {
            std::fs::write(run.join(f), "{}\n").expect("write");
        }
    }
    dir
}

#[test]
fn a_bounded_snapshot_visits_the_same_entries_whatever_the_number_of_past_runs() {
    let few = with_past_runs(2);
    let many = with_past_runs(60);
    let bounded = |d: &tempfile::TempDir| {
        Snapshot::take_bounded(d.path(), false, true)
            .expect("snapshot")
            .visited
    };
    let full = |d: &tempfile::TempDir| Snapshot::take(d.path(), false).expect("snapshot").visited;
    assert_eq!(bounded(&few), bounded(&many));
    // The full walk reads the metadata of every past run's directory and files.
    assert_eq!(full(&many) - full(&few), 58 * 4);
    let snap = Snapshot::take_bounded(many.path(), false, true).expect("snapshot");
    let names = std::fs::read_dir(many.path().join(".runs"))
        .expect("runs")
        .count();
    assert_eq!(
        snap.listed[".runs"].len(),
        names,
        "the top level is still listed"
    );
    assert!(names >= 60);
}

#[test]
fn a_chmod_of_an_old_run_artifact_is_seen_by_the_full_walk_only() {
    let dir = with_past_runs(3);
    let root = dir.path();
    let artifact = root.join(format!(".runs/01PAST{:020}/run.json", 1));
    let full = Snapshot::take(root, false).expect("before");
    let bounded = Snapshot::take_bounded(root, false, true).expect("before");
    chmod(&artifact, 0o600);
    let seen = full.diff(&Snapshot::take(root, false).expect("after"));
    assert_eq!(
        seen.iter().map(|c| c.describe()).collect::<Vec<_>>(),
        [format!(
            ".runs/01PAST{:020}/run.json: mode {:04o} -> 0600",
            1,
            full.meta_only[&format!(".runs/01PAST{:020}/run.json", 1)].mode
        )]
    );
    // Bounded: only allowed where the kernel refuses such a chmod anyway.
    let after = Snapshot::take_bounded(root, false, true).expect("after");
    assert!(bounded.diff(&after).is_empty());
}

#[test]
fn a_removed_past_run_directory_shows_in_a_bounded_snapshot_and_a_new_one_does_not() {
    let dir = with_past_runs(3);
    let root = dir.path();
    let before = Snapshot::take_bounded(root, false, true).expect("before");
    std::fs::remove_dir_all(root.join(format!(".runs/01PAST{:020}", 0))).expect("rm");
    // What a read-only command writes without the lock meanwhile.
    std::fs::create_dir(root.join(".runs/01NEWRUN")).expect("mkdir");
    let after = Snapshot::take_bounded(root, false, true).expect("after");
    let changes: Vec<String> = before.diff(&after).iter().map(|c| c.describe()).collect();
    assert_eq!(changes, [format!(".runs/01PAST{:020}: removed", 0)]);
}

/// A repository whose `.git/` holds `n` loose objects and a few refs,
/// hooks and a config, like git's own layout.
fn with_git_objects(n: usize) -> tempfile::TempDir {
    let dir = repo();
    let git = dir.path().join(".git");
    for d in ["hooks", "refs/heads", "info"] {
        std::fs::create_dir_all(git.join(d)).expect("mkdir");
    }
    std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").expect("HEAD");
    std::fs::write(git.join("config"), "[core]\n\tbare = false\n").expect("config");
    std::fs::write(git.join("description"), "x\n").expect("description");
    std::fs::write(git.join("refs/heads/main"), format!("{:040}\n", 0)).expect("ref");
    std::fs::write(git.join("hooks/pre-commit.sample"), "#!/bin/sh\n").expect("hook");
    for i in 0..n {
        let o = git.join(format!("objects/{:02x}", i % 256));
        std::fs::create_dir_all(&o).expect("mkdir");
        std::fs::write(o.join(format!("{i:038}")), "blob\n").expect("object");
    }
    dir
}

#[test]
fn a_bounded_snapshot_visits_the_same_entries_whatever_the_size_of_dot_git() {
    let small = with_git_objects(3);
    let big = with_git_objects(400);
    let bounded = |d: &tempfile::TempDir| {
        Snapshot::take_bounded(d.path(), false, true)
            .expect("snapshot")
            .visited
    };
    let full = |d: &tempfile::TempDir| Snapshot::take(d.path(), false).expect("snapshot").visited;
    assert_eq!(bounded(&small), bounded(&big));
    // The full walk reads every object and its fan-out directory: 397 more
    // objects, 253 more directories.
    assert_eq!(full(&big) - full(&small), 397 + 253);
    let snap = Snapshot::take_bounded(big.path(), false, true).expect("snapshot");
    assert_eq!(
        snap.listed[".git"]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        [
            "HEAD",
            "config",
            "description",
            "hooks",
            "info",
            "objects",
            "refs"
        ],
        "the top level of .git is still listed"
    );
    assert!(
        snap.files.contains_key(".git"),
        ".git itself keeps its metadata"
    );
    assert!(!snap.files.keys().any(|k| k.starts_with(".git/")));
}

#[test]
fn writes_and_new_hooks_under_dot_git_are_seen_by_the_full_walk_only_a_top_level_chmod_by_both() {
    let dir = with_git_objects(3);
    let root = dir.path();
    let full = Snapshot::take(root, false).expect("before");
    let bounded = Snapshot::take_bounded(root, false, true).expect("before");
    std::fs::write(
        root.join(".git/config"),
        "[core]\n\thooksPath = /tmp/evil\n",
    )
    .expect("config");
    std::fs::write(root.join(".git/hooks/x"), "#!/bin/sh\n").expect("hook");
    chmod(&root.join(".git/HEAD"), 0o600);
    let seen: Vec<String> = full
        .diff(&Snapshot::take(root, false).expect("after"))
        .into_iter()
        .map(|c| c.path)
        .collect();
    assert_eq!(seen, [".git/HEAD", ".git/config", ".git/hooks/x"]);
    // Bounded: only allowed where the kernel refuses all three anyway (the
    // warden-cli test
    // a_sandboxed_sh_plugin_cannot_write_create_chmod_or_remove_anything_under_dot_git);
    // it still reads the metadata of `.git/`'s top-level entries.
    let after = Snapshot::take_bounded(root, false, true).expect("after");
    let seen: Vec<String> = bounded.diff(&after).into_iter().map(|c| c.path).collect();
    assert_eq!(seen, [".git/HEAD"]);
}

#[test]
fn a_removed_top_level_entry_of_dot_git_shows_in_a_bounded_snapshot_and_a_new_one_does_not() {
    let dir = with_git_objects(3);
    let root = dir.path();
    let before = Snapshot::take_bounded(root, false, true).expect("before");
    std::fs::remove_file(root.join(".git/description")).expect("rm");
    // What a concurrent git writes meanwhile.
    std::fs::write(root.join(".git/index.lock"), "").expect("lock");
    let after = Snapshot::take_bounded(root, false, true).expect("after");
    let changes: Vec<String> = before.diff(&after).iter().map(|c| c.describe()).collect();
    assert_eq!(changes, [".git/description: removed"]);
}

#[test]
fn only_the_file_system_rules_with_the_read_only_mount_allow_a_bounded_snapshot() {
    use warden_plugin::runtime::allows_bounded_snapshot;
    use warden_plugin::sandbox::{Enforcement, Isolation, Level};
    let all = Isolation {
        filesystem: Level::Full,
        processes: Enforcement::Enforced,
        signals: Enforcement::Enforced,
        metadata: Enforcement::Enforced,
        privileges: Enforcement::Enforced,
    };
    assert!(allows_bounded_snapshot(&all));
    assert!(allows_bounded_snapshot(&Isolation {
        filesystem: Level::Partial,
        ..all
    }));
    assert!(!allows_bounded_snapshot(&Isolation {
        metadata: Enforcement::NotEnforced,
        ..all
    }));
    assert!(!allows_bounded_snapshot(&Isolation {
        filesystem: Level::None,
        ..all
    }));
    assert!(!allows_bounded_snapshot(&Isolation::NONE));
}

#[test]
fn a_git_directory_outside_the_working_tree_is_in_every_snapshot() {
    let dir = repo();
    let root = dir.path();
    let outside = tempfile::tempdir().expect("tempdir");
    let gitdir = outside.path().join("repo.git");
    std::fs::remove_dir(root.join(".git")).expect("rm .git");
    std::fs::create_dir_all(gitdir.join("hooks")).expect("gitdir");
    std::fs::write(gitdir.join("config"), "[core]\n").expect("config");
    std::fs::write(root.join(".git"), format!("gitdir: {}\n", gitdir.display())).expect("gitfile");
    let gitdir = gitdir.canonicalize().expect("canonical");
    assert_eq!(
        warden_plugin::snapshot::git_dirs_outside(root),
        vec![gitdir.clone()]
    );
    for bounded in [false, true] {
        let before = Snapshot::take_bounded(root, false, bounded).expect("before");
        chmod(&gitdir.join("config"), 0o666);
        let after = Snapshot::take_bounded(root, false, bounded).expect("after");
        chmod(&gitdir.join("config"), 0o644);
        let seen: Vec<String> = before.diff(&after).iter().map(|c| c.describe()).collect();
        assert_eq!(
            seen,
            vec![format!("{}/config: mode 0644 -> 0666", gitdir.display())],
            "bounded: {bounded}"
        );
    }
    // A new hook is seen by the full walk (the bounded one relies on the
    // read-only mount, as for `.git/`).
    let before = Snapshot::take(root, false).expect("before");
    std::fs::write(gitdir.join("hooks/pre-commit"), "#!/bin/sh\n").expect("hook");
    let after = Snapshot::take(root, false).expect("after");
    let seen: Vec<String> = before.diff(&after).iter().map(|c| c.describe()).collect();
    assert_eq!(
        seen,
        vec![format!("{}/hooks/pre-commit: added", gitdir.display())]
    );
}

#[test]
fn a_frame_appended_to_the_journal_is_seen_and_taken_back_out() {
    // Recovery at the next start acts on the journal's last intent frame, so
    // one a plugin appends would be written after every check.
    let dir = repo();
    let root = dir.path();
    let journal = root.join(".warden/state/journal");
    {
        // A session opens (and creates) the journal.
        let repo = Repo::open(root).expect("open");
        let ctx = Context::fixed(1_800_000_000);
        drop(repo.session(&ctx, true, &mut |_| {}).expect("session"));
    }
    let was = std::fs::read(&journal).expect("journal");
    let changes = attack_and_roll_back(root, true, |r| {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(r.join(".warden/state/journal"))
            .and_then(|mut f| f.write_all(b"WRDNFRM1 forged"))
            .expect("append");
    });
    assert_eq!(changes, vec![".warden/state/journal: content".to_string()]);
    assert_eq!(std::fs::read(&journal).expect("journal"), was);
}

#[test]
fn a_directory_swapped_for_a_symlink_is_put_back_without_writing_through_the_link() {
    // The roll back put the directory's files back deepest first, through
    // the symlink that now stood in its place: it wrote into (and removed
    // from) the directory the link pointed to, outside the repository.
    let dir = repo();
    let root = dir.path();
    let victim = tempfile::tempdir().expect("victim");
    std::fs::write(victim.path().join("main.rs"), "precious\n").expect("write");
    std::fs::create_dir(victim.path().join("inner")).expect("mkdir");
    std::fs::write(victim.path().join("inner/keep.txt"), "keep\n").expect("write");
    let outside = |p: &Path| {
        let mut v: Vec<(String, Vec<u8>)> = walkdir(p);
        v.sort();
        v
    };
    let was = outside(victim.path());
    let target = victim.path().to_path_buf();
    attack_and_roll_back(root, true, move |r| {
        std::fs::remove_dir_all(r.join("src")).expect("rm");
        std::os::unix::fs::symlink(&target, r.join("src")).expect("symlink");
    });
    assert_eq!(
        outside(victim.path()),
        was,
        "the roll back wrote outside the repository"
    );
    assert!(
        std::fs::symlink_metadata(root.join("src"))
            .expect("src")
            .is_dir()
    );
    assert_eq!(
        std::fs::read(root.join("src/main.rs")).expect("read"),
        b"fn main() {}\n"
    );
    assert!(root.join("src/inner").is_dir());
    assert_eq!(mode(&root.join("src")), 0o750);
}

/// Every file under `dir` with its bytes, and every directory (no bytes).
fn walkdir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        let name = p.to_string_lossy().into_owned();
        if p.is_dir() {
            out.push((name, Vec::new()));
            out.extend(walkdir(&p));
        } else {
            out.push((name, std::fs::read(&p).expect("read")));
        }
    }
    out
}

#[test]
fn a_file_whose_name_is_not_utf8_is_seen_and_moved_to_quarantine() {
    // Its name was read lossily ("x\u{FFFD}"), so the roll back acted on a
    // path that did not exist and said every change was rolled back.
    use std::os::unix::ffi::OsStrExt;
    let dir = repo();
    let root = dir.path();
    let odd = std::ffi::OsStr::from_bytes(b"src/x\xff").to_os_string();
    let made = odd.clone();
    let changes = attack_and_roll_back(root, true, move |r| {
        std::fs::write(r.join(&made), "evil\n").expect("write");
    });
    assert_eq!(changes, vec!["src/x\\xff: added".to_string()]);
    assert!(!root.join(&odd).exists(), "still there");
    let kept: Vec<_> = walkdir(&root.join(".quarantine"))
        .into_iter()
        .filter(|(_, b)| b == b"evil\n")
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    // Between two later snapshots it is an entry like any other.
    let before = Snapshot::take(root, true).expect("before");
    std::fs::write(root.join(&odd), "mine\n").expect("write");
    let mid = Snapshot::take(root, true).expect("mid");
    assert!(
        mid.diff(&Snapshot::take(root, false).expect("same"))
            .is_empty()
    );
    assert_eq!(before.changed(&mid), vec!["src/x\\xff".to_string()]);
}

#[test]
fn a_file_locked_with_chattr_is_seen_and_unlocked() {
    // `chattr +i` (root only) left the file immutable: every later apply to
    // it failed, and the fingerprint had no flags to see it by.
    let dir = repo();
    let root = dir.path();
    let locked = |p: &Path, on: bool| {
        let fd = rustix::fs::open(p, rustix::fs::OFlags::RDONLY, rustix::fs::Mode::empty())
            .expect("open");
        let mut f = rustix::fs::ioctl_getflags(&fd).expect("getflags");
        f.set(rustix::fs::IFlags::IMMUTABLE, on);
        rustix::fs::ioctl_setflags(&fd, f)
    };
    if locked(&root.join("README.md"), true).is_err() {
        eprintln!("skipped: setting inode flags needs root and a file system that has them");
        return;
    }
    locked(&root.join("README.md"), false).expect("unlock");
    let changes = attack_and_roll_back(root, true, |r| {
        locked(&r.join("README.md"), true).expect("chattr +i");
        locked(&r.join("src/main.rs"), true).expect("chattr +i");
    });
    assert_eq!(
        changes,
        vec![
            "README.md: flags - -> i".to_string(),
            "src/main.rs: flags - -> i".to_string()
        ]
    );
    std::fs::write(root.join("README.md"), "writable again\n").expect("no longer immutable");
}

#[test]
fn a_hard_link_made_outside_the_repository_is_seen_and_named_as_not_restored() {
    // `ln README.md /tmp/x` changed nothing the fingerprint held, and the
    // link outside still reaches the file after the run.
    let dir = repo();
    let root = dir.path();
    let outside = tempfile::tempdir().expect("outside");
    let (_, rb) = roll_back_attack(root, true, |r| {
        std::fs::hard_link(r.join("README.md"), outside.path().join("x")).expect("ln");
    });
    assert_eq!(rb.changes, vec!["README.md: hard links 1 -> 2".to_string()]);
    assert!(!rb.content);
    assert_eq!(rb.unrestored.len(), 1, "{:?}", rb.unrestored);
    assert!(
        rb.unrestored[0].starts_with("README.md: it has 2 hard link(s), it had 1"),
        "{:?}",
        rb.unrestored
    );
}

#[test]
fn a_hard_link_made_inside_the_repository_is_quarantined_as_a_copy_not_a_second_name() {
    // Renamed into the quarantine lane, the plugin's link stayed a second
    // name of README.md: writing the kept copy wrote the file.
    let dir = repo();
    let root = dir.path();
    let changes = attack_and_roll_back(root, true, |r| {
        std::fs::hard_link(r.join("README.md"), r.join("src/alias.md")).expect("ln");
    });
    assert_eq!(
        changes,
        vec![
            "README.md: hard links 1 -> 2".to_string(),
            "src/alias.md: added".to_string()
        ]
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(root.join("README.md"))
            .expect("meta")
            .nlink(),
        1
    );
    assert!(!root.join("src/alias.md").exists());
}
