//! Regression tests, each named after what broke.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use warden_sync::git::Git;

fn git(dir: &Path, home: &Path, args: &[&str]) {
    warden_testkit::git::git(dir, home, args);
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Found by the never-lose-work property test: a same-size edit made in the
/// same second as the index write is "racily clean". The snapshot's copy of
/// the index had a newer mtime, so git trusted the stale stat data and the
/// snapshot silently missed the edit.
#[test]
fn snapshot_sees_a_same_size_edit_made_in_the_same_second_as_the_index() {
    let home = tempfile::tempdir().expect("tempdir");
    let dir = home.path().join("r");
    std::fs::create_dir(&dir).expect("mkdir");
    git(&dir, home.path(), &["init", "--quiet"]);
    let f = dir.join("f.txt");
    let mut raced = false;
    for attempt in 0..5 {
        std::fs::write(&f, format!("v{attempt}\n")).expect("write");
        git(&dir, home.path(), &["add", "f.txt"]);
        git(&dir, home.path(), &["commit", "--quiet", "-m", "c"]);
        std::fs::write(&f, format!("w{attempt}\n")).expect("write same size");
        let index = std::fs::metadata(dir.join(".git/index")).and_then(|m| m.modified());
        let file = std::fs::metadata(&f).and_then(|m| m.modified());
        if let (Ok(i), Ok(m)) = (index, file)
            && secs(i) == secs(m)
        {
            raced = true;
            break;
        }
    }
    assert!(raced, "could not make the edit within the index's second");
    // Make sure the copy would be written in a later second.
    std::thread::sleep(Duration::from_millis(1100));
    let g = Git::new(".").with_env("HOME", home.path());
    let scratch = tempfile::tempdir().expect("scratch");
    let snap = g.at(&dir).snapshot_tree(scratch.path()).expect("snapshot");
    let head = g.at(&dir).tree_of("HEAD").expect("tree");
    assert_ne!(snap, head, "the snapshot missed the edit");
}
