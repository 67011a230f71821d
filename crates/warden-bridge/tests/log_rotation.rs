//! `logs/bridge.log` rotates into sealed segments under `logs/bridge/` so no
//! commit carries an ever-growing log: the boundary, segments never written
//! again, the lines in order across segments, each command's commit with its
//! own line across a rotation, and re-derivation after a rejected push
//! (which keeps the segments, and each commit's author date and message).
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::publish::{alice, bridge_root, child_env};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use warden_bridge::audit_log::{self, ROTATE_BYTES, SEGMENT_DIR};
use warden_bridge::layout::Layout;
use warden_bridge::outputs::{Durability, Writer};
use warden_bridge::publish::{self, Backoff};
use warden_testkit::Sandbox;

/// A log line of `len` bytes (newline included) for command `id`.
fn line(id: &str, len: usize) -> Vec<u8> {
    let head = format!("{{\"ts\":\"2026-11-29T10:00:00.125Z\",\"id\":\"{id}\",\"pad\":\"");
    let tail = "\"}\n";
    assert!(len >= head.len() + tail.len());
    let mut l = head.into_bytes();
    l.resize(len - tail.len(), b'x');
    l.extend_from_slice(tail.as_bytes());
    l
}

fn append(layout: &Layout, mode: Durability, bytes: &[u8]) {
    let mut w = Writer::new(mode);
    audit_log::append(&mut w, layout, bytes).expect("append");
    w.commit(&layout.root).expect("commit");
}

fn segment_names(layout: &Layout) -> Vec<String> {
    audit_log::segments(layout)
        .expect("segments")
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect()
}

fn log_size(layout: &Layout) -> u64 {
    std::fs::metadata(layout.log())
        .map(|m| m.len())
        .unwrap_or(0)
}

#[test]
fn a_line_that_would_take_the_log_past_the_limit_seals_it_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = Layout::new(dir.path());
    for mode in [Durability::PerFile, Durability::Group] {
        let _ = std::fs::remove_dir_all(dir.path().join("logs"));
        // Up to exactly the limit: no rotation.
        let first = line("a-1", 1000);
        let fill = line("a-2", ROTATE_BYTES as usize - 1000 - 200);
        append(&layout, mode, &[first.clone(), fill.clone()].concat());
        append(&layout, mode, &line("a-3", 200));
        assert_eq!(log_size(&layout), ROTATE_BYTES, "{mode:?}");
        assert!(segment_names(&layout).is_empty(), "{mode:?}");
        // One byte more would pass it: the full file is sealed first, named
        // after its first line's time, and the line starts a new log.
        let next = line("a-4", 100);
        append(&layout, mode, &next);
        assert_eq!(
            segment_names(&layout),
            ["000001-20261129T100000125Z.log"],
            "{mode:?}"
        );
        let sealed = std::fs::read(
            dir.path()
                .join(SEGMENT_DIR)
                .join("000001-20261129T100000125Z.log"),
        )
        .expect("segment");
        assert_eq!(sealed, [first, fill, line("a-3", 200)].concat(), "{mode:?}");
        assert_eq!(std::fs::read(layout.log()).expect("log"), next, "{mode:?}");
    }
}

#[test]
fn a_single_line_longer_than_the_limit_gets_a_file_of_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = Layout::new(dir.path());
    let small = line("s-1", 100);
    let huge = line("h-1", ROTATE_BYTES as usize + 10);
    let after = line("s-2", 100);
    append(
        &layout,
        Durability::Group,
        &[small.clone(), huge.clone(), after.clone()].concat(),
    );
    let names = segment_names(&layout);
    assert_eq!(names.len(), 2, "{names:?}");
    let dir_ = dir.path().join(SEGMENT_DIR);
    assert_eq!(std::fs::read(dir_.join(&names[0])).expect("read"), small);
    assert_eq!(std::fs::read(dir_.join(&names[1])).expect("read"), huge);
    assert_eq!(std::fs::read(layout.log()).expect("log"), after);
}

#[test]
fn sealed_segments_are_never_written_again() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = Layout::new(dir.path());
    let batch = |k: usize| -> Vec<u8> {
        (0..300)
            .flat_map(|i| line(&format!("b{k}-{i:03}"), 150 + i))
            .collect()
    };
    append(&layout, Durability::Group, &batch(0));
    append(&layout, Durability::Group, &batch(1));
    append(&layout, Durability::Group, &batch(2));
    let seg_dir = dir.path().join(SEGMENT_DIR);
    let before: BTreeMap<String, (u64, i64, i64, Vec<u8>)> = segment_names(&layout)
        .into_iter()
        .map(|n| {
            let p = seg_dir.join(&n);
            let m = std::fs::metadata(&p).expect("meta");
            let bytes = std::fs::read(&p).expect("read");
            (n, (m.ino(), m.mtime(), m.mtime_nsec(), bytes))
        })
        .collect();
    assert!(!before.is_empty());
    for k in 3..8 {
        append(&layout, Durability::Group, &batch(k));
    }
    let names = segment_names(&layout);
    assert!(names.len() > before.len(), "later passes seal more");
    for (n, (ino, mtime, nsec, bytes)) in &before {
        let p = seg_dir.join(n);
        let m = std::fs::metadata(&p).expect("a sealed segment stays");
        assert_eq!(
            (m.ino(), m.mtime(), m.mtime_nsec()),
            (*ino, *mtime, *nsec),
            "{n}"
        );
        assert_eq!(&std::fs::read(&p).expect("read"), bytes, "{n}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// However the lines come in batches, the files hold them in order,
    /// none is past the limit, and the segments are the same (rotation is
    /// deterministic).
    #[test]
    fn the_lines_stay_in_order_across_segments_whatever_the_batches(
        lens in proptest::collection::vec(60usize..3000, 50..120),
        cuts in proptest::collection::vec(5usize..40, 1..10),
    ) {
        let lines: Vec<Vec<u8>> = lens
            .iter()
            .enumerate()
            .map(|(i, n)| line(&format!("p-{i:04}"), *n))
            .collect();
        let all: Vec<u8> = lines.concat();
        let one = tempfile::tempdir().expect("tempdir");
        let one_layout = Layout::new(one.path());
        append(&one_layout, Durability::Group, &all);
        let many = tempfile::tempdir().expect("tempdir");
        let many_layout = Layout::new(many.path());
        let mut at = 0;
        for c in cuts.iter().cycle() {
            if at >= lines.len() {
                break;
            }
            let end = (at + c).min(lines.len());
            append(&many_layout, Durability::PerFile, &lines[at..end].concat());
            at = end;
        }
        for layout in [&one_layout, &many_layout] {
            prop_assert_eq!(&audit_log::read_all(layout).expect("read"), &all);
            for seg in audit_log::segments(layout).expect("segments") {
                let n = std::fs::metadata(&seg).expect("meta").len();
                prop_assert!(n <= ROTATE_BYTES);
            }
            prop_assert!(log_size(layout) <= ROTATE_BYTES);
        }
        prop_assert_eq!(segment_names(&one_layout), segment_names(&many_layout));
        let contents = |l: &Layout| -> Vec<Vec<u8>> {
            audit_log::segments(l).expect("segments").iter().map(|p| std::fs::read(p).expect("read")).collect()
        };
        prop_assert_eq!(contents(&one_layout), contents(&many_layout));
    }
}

// ------------------------------------------------------------- publishing

/// A bare remote and a clone of it holding warden and a bridge root whose
/// committed, pushed log is `room` bytes short of the limit.
struct Cloud {
    s: Sandbox,
    remote: PathBuf,
    root: PathBuf,
}

impl Cloud {
    fn new(room: usize) -> Cloud {
        let s = Sandbox::new();
        let remote = s.bare_remote("remote.git");
        let root = s.clone(&remote, "cloud");
        alice(&s, &root);
        bridge_root(&root, child_env(&s.home(), &[]));
        let c = Cloud { s, remote, root };
        let mut log = Vec::new();
        let mut i = 0;
        while log.len() + 120 + room < ROTATE_BYTES as usize {
            log.extend(line(&format!("old-{i:04}"), 120));
            i += 1;
        }
        std::fs::write(c.root.join("logs/bridge.log"), log).expect("log");
        c.s.commit_all(&c.root, "bridge root");
        c.s.git(&c.root, &["push", "-q", "-u", "origin", "main"]);
        c
    }

    fn layout(&self, extra: &[(&str, &str)]) -> Layout {
        Layout::new(&self.root).with_child_env(child_env(&self.s.home(), extra))
    }

    /// Drop signed no-ops `ids` and run one pass over them.
    fn pass(&self, ids: &[String]) {
        let commands: Vec<(&str, serde_json::Value)> = ids
            .iter()
            .map(|id| (id.as_str(), common::noop(id)))
            .collect();
        common::publish::pass(&self.layout(&[]), &commands);
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        self.s.git(dir, args)
    }
}

/// The whole log as commit `c` of `dir` has it (segments in order, then
/// `logs/bridge.log`), the size of its `bridge.log`, and its segments' ids.
fn log_at(c: &Cloud, dir: &Path, commit: &str) -> (Vec<u8>, usize, BTreeMap<String, String>) {
    let listing = c.git(
        dir,
        &[
            "ls-tree",
            "-r",
            commit,
            "--",
            "logs/bridge",
            "logs/bridge.log",
        ],
    );
    let mut segs: BTreeMap<String, String> = BTreeMap::new();
    let mut live = Vec::new();
    for l in listing.lines() {
        let (meta, path) = l.split_once('\t').expect("ls-tree line");
        let oid = meta.split(' ').nth(2).expect("oid").to_string();
        if path == "logs/bridge.log" {
            live = c.git(dir, &["cat-file", "blob", &oid]).into_bytes();
        } else {
            segs.insert(path.to_string(), oid);
        }
    }
    let mut all = Vec::new();
    for oid in segs.values() {
        all.extend(c.git(dir, &["cat-file", "blob", oid]).into_bytes());
    }
    let n = live.len();
    all.extend(live);
    (all, n, segs)
}

/// Every `bridge: results ID` commit in `range` adds exactly its own line
/// to the whole log, keeps each segment its parent had, and carries a
/// `logs/bridge.log` within the limit; the ids, in order.
fn check_history(c: &Cloud, dir: &Path, range: &str) -> Vec<String> {
    let list = c.git(dir, &["log", "--reverse", "--format=%H %P%x00%s", range]);
    let mut ids = Vec::new();
    for l in list.lines() {
        let (shas, subject) = l.split_once('\0').expect("line");
        let (sha, parent) = shas.split_once(' ').expect("parent");
        let Some(rest) = subject.strip_prefix("bridge: results ") else {
            continue;
        };
        let id = rest.split(' ').next().expect("id").to_string();
        let (before, _, before_segs) = log_at(c, dir, parent);
        let (after, live, after_segs) = log_at(c, dir, sha);
        let added = after
            .strip_prefix(before.as_slice())
            .unwrap_or_else(|| panic!("{subject}: the log was not only appended to"));
        let v: serde_json::Value = serde_json::from_slice(added).expect("one line");
        assert_eq!(v["id"], serde_json::json!(id), "{subject}");
        assert!(
            live as u64 <= ROTATE_BYTES,
            "{subject}: bridge.log {live} bytes"
        );
        for (p, oid) in &before_segs {
            assert_eq!(
                after_segs.get(p),
                Some(oid),
                "{subject}: segment {p} changed"
            );
        }
        ids.push(id);
    }
    ids
}

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:02}")).collect()
}

#[test]
fn each_commit_carries_its_own_log_line_across_a_rotation() {
    let c = Cloud::new(400);
    let base = c.git(&c.root, &["rev-parse", "HEAD"]).trim().to_string();
    let want = ids("r", 8);
    c.pass(&want);
    let layout = c.layout(&[]);
    assert_eq!(
        segment_names(&layout).len(),
        1,
        "the pass rotated the log once"
    );
    let r = publish::publish(&layout, &Backoff::default(), Some(&c.root)).expect("publish");
    assert!(r.pushed, "{r:?}");
    let got = check_history(&c, &c.root, &format!("{base}..HEAD"));
    assert_eq!(got, want);
    // The final tree is the work tree: nothing of the log left over.
    assert_eq!(c.git(&c.root, &["status", "--porcelain", "--", "logs"]), "");
    let (all, _, segs) = log_at(&c, &c.root, "HEAD");
    assert_eq!(all, audit_log::read_all(&layout).expect("read"));
    assert_eq!(segs.len(), 1);
}

/// Someone else pushes a change to `meta/retries.json` while ours holds
/// another: our `pull --rebase` conflicts and our commits are re-derived.
fn someone_else_pushes_a_conflict(c: &Cloud) {
    let other = c.s.clone(&c.remote, "other");
    std::fs::write(other.join("meta/retries.json"), "{\"theirs\": 1}\n").expect("write");
    c.s.commit_all(&other, "someone else edits meta");
    c.git(&other, &["push", "-q"]);
    std::fs::write(c.root.join("meta/retries.json"), "{\"ours\": 2}\n").expect("write");
}

#[test]
fn a_re_derived_pass_after_a_rejected_push_keeps_the_segments_and_each_line_in_its_commit() {
    let c = Cloud::new(400);
    someone_else_pushes_a_conflict(&c);
    let want = ids("d", 8);
    c.pass(&want);
    let layout = c.layout(&[]);
    let sealed: BTreeMap<String, Vec<u8>> = audit_log::segments(&layout)
        .expect("segments")
        .iter()
        .map(|p| {
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                std::fs::read(p).expect("read"),
            )
        })
        .collect();
    assert_eq!(sealed.len(), 1);
    let r = publish::publish(&layout, &Backoff::default(), Some(&c.root)).expect("publish");
    assert!(r.pushed && r.rederived, "{r:?}");
    let got = check_history(&c, &c.remote, "main~10..main");
    assert_eq!(got, want);
    // The same segment, byte for byte, under the same name.
    for (name, bytes) in &sealed {
        let path = format!("main:{SEGMENT_DIR}/{name}");
        assert_eq!(
            &c.git(&c.remote, &["cat-file", "blob", &path]).into_bytes(),
            bytes
        );
    }
    let subjects = c.git(&c.remote, &["log", "--format=%s", "main"]);
    assert!(subjects.contains("someone else edits meta"), "{subjects}");
    assert_eq!(c.git(&c.root, &["status", "--porcelain", "--", "logs"]), "");
}

/// Re-derived commits used to be written as new: the author date became the
/// time of the re-derivation (the git layer had no way to read a commit's
/// author and whole message).
#[test]
fn a_re_derived_commit_lost_its_author_date() {
    let c = Cloud::new(ROTATE_BYTES as usize / 2);
    someone_else_pushes_a_conflict(&c);
    c.pass(&ids("t", 2));
    // The first publish commits with a pinned author date and cannot push.
    let moved = c.s.home().join("remote.moved");
    std::fs::rename(&c.remote, &moved).expect("move the remote away");
    let pinned = c.layout(&[("GIT_AUTHOR_DATE", "2001-02-03T04:05:06Z")]);
    let once = Backoff {
        attempts: 1,
        base_ms: 0,
        cap_ms: 0,
    };
    let r = publish::publish(&pinned, &once, Some(&c.root)).expect("publish");
    assert!(!r.pushed, "{r:?}");
    let before = c.git(
        &c.root,
        &["log", "-3", "--format=%s%n%aI%n%an <%ae>%n%B%x00"],
    );
    // The second, with the remote back, re-derives them.
    std::fs::rename(&moved, &c.remote).expect("restore the remote");
    let r = publish::publish(&c.layout(&[]), &Backoff::default(), Some(&c.root)).expect("publish");
    assert!(r.pushed && r.rederived, "{r:?}");
    let after = c.git(
        &c.remote,
        &["log", "-3", "--format=%s%n%aI%n%an <%ae>%n%B%x00", "main"],
    );
    assert_eq!(after, before);
    assert!(after.contains("2001-02-03T04:05:06"), "{after}");
    assert!(after.contains("Warden-Run: "), "{after}");
    let parent = c.git(&c.remote, &["log", "-1", "--format=%s", "main~3"]);
    assert_eq!(parent.trim(), "someone else edits meta");
}
