//! Commits written into a pack by warden itself (`Git::commit_writer`, for
//! bridge publish) against `git fast-import` given the same edits: the same
//! commit ids, for file-to-directory replacements, emptied directories,
//! modes, names that sort around `/`, long delta chains; and the pack is
//! one git reads, checks (`fsck --strict`), pushes and clones.
#![allow(clippy::disallowed_methods)]
#![cfg(unix)]

use std::path::Path;
use warden_core::git::{Blob, Git};
use warden_testkit::Sandbox;

const WHO: &str = "A U Thor <author@example.com> 1700000000 +0000";

/// One commit's edits: (path, Some((mode, bytes))) sets, None removes.
type Edits = Vec<(String, Option<(u32, Vec<u8>)>)>;

fn quote(p: &str) -> String {
    if !p.starts_with('"') && !p.contains(['\n', '\\', '"']) {
        return p.to_string();
    }
    let mut q = String::from("\"");
    for c in p.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// The commit ids `git fast-import` makes for `commits` on top of `head`.
fn by_fast_import(s: &Sandbox, dir: &Path, head: Option<&str>, commits: &[Edits]) -> Vec<String> {
    let mut stream: Vec<u8> = Vec::new();
    if head.is_none() {
        stream.extend_from_slice(b"reset refs/heads/fi\n\n");
    }
    for (n, edits) in commits.iter().enumerate() {
        stream.extend_from_slice(
            format!(
                "commit refs/heads/fi\nmark :{}\nauthor {WHO}\ncommitter {WHO}\n",
                n + 1
            )
            .as_bytes(),
        );
        let msg = format!("commit {n}\n");
        stream.extend_from_slice(format!("data {}\n{msg}", msg.len()).as_bytes());
        if let (0, Some(h)) = (n, head) {
            stream.extend_from_slice(format!("from {h}\n").as_bytes());
        }
        for (path, now) in edits {
            match now {
                None => stream.extend_from_slice(format!("D {}\n", quote(path)).as_bytes()),
                Some((mode, bytes)) => {
                    stream.extend_from_slice(
                        format!("M {mode:o} inline {}\ndata {}\n", quote(path), bytes.len())
                            .as_bytes(),
                    );
                    stream.extend_from_slice(bytes);
                    stream.push(b'\n');
                }
            }
        }
        stream.push(b'\n');
    }
    stream.extend_from_slice(b"done\n");
    let marks = s.home().join("marks");
    let mut child = warden_testkit::git::command(
        dir,
        &s.home(),
        &[
            "fast-import",
            "--quiet",
            "--done",
            &format!("--export-marks={}", marks.display()),
        ],
    )
    .stdin(std::process::Stdio::piped())
    .spawn()
    .expect("fast-import");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&stream)
        .expect("stream");
    assert!(child.wait().expect("wait").success(), "fast-import");
    let text = std::fs::read_to_string(&marks).expect("marks");
    let mut ids: Vec<(usize, String)> = text
        .lines()
        .filter_map(|l| {
            let (m, oid) = l.strip_prefix(':')?.split_once(' ')?;
            Some((m.parse().ok()?, oid.to_string()))
        })
        .collect();
    ids.sort();
    ids.into_iter().map(|(_, o)| o).collect()
}

/// The commit ids warden's writer makes for the same commits.
fn by_writer(s: &Sandbox, dir: &Path, head: Option<&str>, commits: &[Edits]) -> Vec<String> {
    let git = Git::new(dir).with_base_env(s.env());
    let mut paths: Vec<&str> = commits
        .iter()
        .flat_map(|c| c.iter().map(|(p, _)| p.as_str()))
        .collect();
    paths.sort_unstable();
    paths.dedup();
    let mut w = git
        .commit_writer(head, &paths)
        .expect("writer")
        .expect("a SHA-1 repository");
    let mut ids = Vec::new();
    for (n, edits) in commits.iter().enumerate() {
        for (path, now) in edits {
            match now {
                None => w.remove(path),
                Some((mode, bytes)) => w.set(path, *mode, Blob::Bytes(bytes)).expect("set"),
            }
        }
        ids.push(
            w.commit(WHO, WHO, format!("commit {n}\n").as_bytes())
                .expect("commit"),
        );
    }
    w.finish().expect("finish");
    ids
}

fn set(path: &str, mode: u32, text: &str) -> (String, Option<(u32, Vec<u8>)>) {
    (path.to_string(), Some((mode, text.as_bytes().to_vec())))
}

fn rm(path: &str) -> (String, Option<(u32, Vec<u8>)>) {
    (path.to_string(), None)
}

/// A repository with a first commit of nested directories; its HEAD.
fn seeded(s: &Sandbox, name: &str) -> (std::path::PathBuf, String) {
    let root = s.repo(name, false);
    for (p, text) in [
        ("a/b/c.txt", "c"),
        ("a/x", "x"),
        ("a.b", "dot"),
        ("docs/readme.md", "r"),
        ("z", "z"),
        ("results/one.json", "1"),
    ] {
        let full = root.join(p);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    }
    s.commit_all(&root, "seed");
    let head = s.git(&root, &["rev-parse", "HEAD"]).trim().to_string();
    (root, head)
}

/// Edits that exercise git's tree order and fast-import's replacements.
fn tricky() -> Vec<Edits> {
    vec![
        vec![
            set("results/two.json", 0o100644, "2"),
            set("results/two.integrity.json", 0o100644, "2i"),
            set("a-b", 0o100644, "dash"),
            set("a0", 0o100755, "zero"),
        ],
        // `a/x` becomes a directory, `z` a symlink, a new nested path.
        vec![
            set("a/x/inner", 0o100644, "in"),
            set("z", 0o120000, "a/b/c.txt"),
            set("new/deep/er/file name with spaces", 0o100644, "s"),
        ],
        // The directory `a/b` becomes a file; `docs` loses its only file.
        vec![set("a/b", 0o100644, "now a file"), rm("docs/readme.md")],
        // Nothing but a removal of what is not there.
        vec![
            rm("no/such/file"),
            set("quote\"and\\slash\nline", 0o100644, "q"),
        ],
        vec![
            rm("new/deep/er/file name with spaces"),
            set("é/ü", 0o100644, "u"),
        ],
    ]
}

#[test]
fn the_writer_makes_the_commits_fast_import_makes_for_the_same_edits() {
    let s = Sandbox::new();
    let (a, head) = seeded(&s, "a");
    let (b, head_b) = seeded(&s, "b");
    assert_eq!(head, head_b, "the same seed commit");
    let commits = tricky();
    let expected = by_fast_import(&s, &a, Some(&head), &commits);
    let got = by_writer(&s, &b, Some(&head), &commits);
    assert_eq!(got, expected);
    s.git(&b, &["update-ref", "refs/heads/main", &got[got.len() - 1]]);
    s.git(&b, &["fsck", "--full", "--strict", "--no-dangling"]);
}

#[test]
fn the_writer_on_an_unborn_branch_matches_fast_import() {
    let s = Sandbox::new();
    let a = s.repo("a", false);
    let b = s.repo("b", false);
    let commits = tricky();
    assert_eq!(
        by_writer(&s, &b, None, &commits),
        by_fast_import(&s, &a, None, &commits)
    );
}

#[test]
fn a_directory_emptied_and_a_root_emptied_match_fast_import() {
    let s = Sandbox::new();
    let (a, head) = seeded(&s, "a");
    let (b, _) = seeded(&s, "b");
    let commits = vec![
        vec![rm("a/b/c.txt"), rm("a/x")],
        vec![
            rm("a.b"),
            rm("docs/readme.md"),
            rm("z"),
            rm("results/one.json"),
        ],
        vec![set("back", 0o100644, "again")],
    ];
    assert_eq!(
        by_writer(&s, &b, Some(&head), &commits),
        by_fast_import(&s, &a, Some(&head), &commits)
    );
}

/// Two thousand commits, each adding files to the same flat directories (the
/// bridge's layout): the trees are deltas in chains that stop at git's
/// depth, and git checks, pushes and clones the result.
#[test]
fn many_commits_into_flat_directories_make_a_pack_git_checks_pushes_and_clones() {
    let s = Sandbox::new();
    let (a, head) = seeded(&s, "a");
    let (b, _) = seeded(&s, "b");
    let commits: Vec<Edits> = (0..300)
        .map(|i| {
            vec![
                set(&format!("results/{i:05}.json"), 0o100644, &format!("r{i}")),
                set(&format!("archive/{i:05}.json"), 0o100644, &format!("a{i}")),
                set("logs/bridge.log", 0o100644, &"line\n".repeat(i + 1)),
            ]
        })
        .collect();
    let got = by_writer(&s, &b, Some(&head), &commits);
    assert_eq!(got, by_fast_import(&s, &a, Some(&head), &commits));
    let last = &got[got.len() - 1];
    s.git(&b, &["update-ref", "refs/heads/main", last]);
    s.git(&b, &["fsck", "--full", "--strict", "--no-dangling"]);
    let packs: Vec<_> = std::fs::read_dir(b.join(".git/objects/pack"))
        .expect("packs")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let pack = packs
        .iter()
        .find(|n| n.ends_with(".idx"))
        .expect("an index");
    let verify = s.git(
        &b,
        &["verify-pack", "-v", &format!(".git/objects/pack/{pack}")],
    );
    let deepest = verify
        .lines()
        .filter_map(|l| l.strip_prefix("chain length = "))
        .filter_map(|l| l.split(':').next()?.trim().parse::<u32>().ok())
        .max()
        .expect("delta chains");
    assert!(deepest <= 50, "chain of {deepest}");
    assert!(
        !packs.iter().any(|n| n.starts_with("tmp_")),
        "no temporary file left: {packs:?}"
    );
    let remote = s.bare_remote("remote.git");
    let r = remote.to_string_lossy().into_owned();
    s.git(&b, &["push", "--quiet", &r, "main"]);
    s.git(&remote, &["fsck", "--full", "--strict", "--no-dangling"]);
    let c = s.clone(&remote, "c");
    assert_eq!(
        std::fs::read_to_string(c.join("results/00299.json")).expect("read"),
        "r299"
    );
}

#[test]
fn an_abandoned_writer_leaves_nothing_and_a_sha256_repository_gets_no_writer() {
    let s = Sandbox::new();
    let (b, head) = seeded(&s, "b");
    let git = Git::new(&b).with_base_env(s.env());
    let mut w = git
        .commit_writer(Some(&head), &["x/y"])
        .expect("writer")
        .expect("sha1");
    w.set("x/y", 0o100644, Blob::Bytes(b"y")).expect("set");
    let id = w.commit(WHO, WHO, b"m\n").expect("commit");
    w.abandon();
    assert!(!s.try_git(&b, &["cat-file", "-e", &id]), "nothing written");
    let left: Vec<_> = std::fs::read_dir(b.join(".git/objects/pack"))
        .expect("pack dir")
        .flatten()
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let sha256 = s.home().join("sha256");
    std::fs::create_dir_all(&sha256).expect("mkdir");
    s.git(&sha256, &["init", "--quiet", "--object-format=sha256"]);
    let git = Git::new(&sha256).with_base_env(s.env());
    assert!(git.commit_writer(None, &["x"]).expect("writer").is_none());
}

#[test]
fn a_path_a_git_tree_cannot_hold_is_refused_before_anything_is_written() {
    let s = Sandbox::new();
    let (b, head) = seeded(&s, "b");
    let git = Git::new(&b).with_base_env(s.env());
    let paths = [
        "a//b",
        "./x",
        "x/../y",
        ".git/config",
        "x/.GIT/y",
        "/abs",
        "nul\0/x",
        "dir/",
    ];
    let mut w = git
        .commit_writer(Some(&head), &paths)
        .expect("writer")
        .expect("sha1");
    for p in paths {
        let e = w
            .set(p, 0o100644, Blob::Bytes(b"x"))
            .expect_err(&format!("{p:?} refused"));
        assert!(e.message.contains("cannot hold"), "{p:?}: {e}");
    }
    // Nothing was set: the next commit is HEAD's tree again.
    let id = w.commit(WHO, WHO, b"m\n").expect("commit");
    w.finish().expect("finish");
    let tree = |rev: &str| s.git(&b, &["rev-parse", &format!("{rev}^{{tree}}")]);
    assert_eq!(tree(&id), tree(&head));
}
