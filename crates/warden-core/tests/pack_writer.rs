//! Commits written into a pack by warden itself (`Git::commit_writer`, for
//! bridge publish) against `git fast-import` given the same edits: the same
//! commit ids, for file-to-directory replacements, emptied directories,
//! modes, names that sort around `/`, long delta chains; and the pack is
//! one git reads, checks (`fsck --strict`), pushes and clones.
#![allow(clippy::disallowed_methods)]
#![cfg(unix)]

use std::path::Path;
use warden_core::git::{Blob, Git, fast_import_path};
use warden_testkit::Sandbox;

const WHO: &str = "A U Thor <author@example.com> 1700000000 +0000";

/// One commit's edits: (path, Some((mode, bytes))) sets, None removes.
type Edits = Vec<(String, Option<(u32, Vec<u8>)>)>;

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
                None => {
                    stream.extend_from_slice(format!("D {}\n", fast_import_path(path)).as_bytes())
                }
                Some((mode, bytes)) => {
                    stream.extend_from_slice(
                        format!(
                            "M {mode:o} inline {}\ndata {}\n",
                            fast_import_path(path),
                            bytes.len()
                        )
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

/// A xorshift generator: the fuzz below is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

/// Random commits of sets and removes on paths made of names that sort
/// around `/` and `\0`; removes only of files (or of nothing), as fast-import
/// removes a whole directory where the writer removes only a file.
fn random_commits(
    rng: &mut Rng,
    n: usize,
    files: &mut std::collections::BTreeSet<String>,
) -> Vec<Edits> {
    const NAMES: &[&str] = &["a", "a.b", "a-b", "a0", "ab", "a b", "é", "b", "a~"];
    const MODES: &[u32] = &[0o100644, 0o100755, 0o120000];
    const BODIES: &[&str] = &["x", "y", "", "a/b"];
    (0..n)
        .map(|_| {
            let k = rng.next() % 5;
            (0..k)
                .map(|_| {
                    let depth = 1 + rng.next() % 3;
                    let path = (0..depth)
                        .map(|_| rng.pick(NAMES))
                        .collect::<Vec<_>>()
                        .join("/");
                    let is_dir = files.iter().any(|f| f.starts_with(&format!("{path}/")));
                    if rng.next().is_multiple_of(3) && !is_dir {
                        files.remove(&path);
                        rm(&path)
                    } else {
                        files.retain(|f| {
                            !f.starts_with(&format!("{path}/"))
                                && !path.starts_with(&format!("{f}/"))
                        });
                        files.insert(path.clone());
                        let mode = MODES[(rng.next() % 3) as usize];
                        set(&path, mode, rng.pick(BODIES))
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn random_edits_make_the_commits_fast_import_makes() {
    let s = Sandbox::new();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..60u32 {
        let a = s.repo(&format!("a{round}"), false);
        let b = s.repo(&format!("b{round}"), false);
        let mut files = std::collections::BTreeSet::new();
        let head = if round.is_multiple_of(2) {
            // Trees large enough that their new versions go in as deltas.
            let fill: Edits = (0..80)
                .flat_map(|i| [format!("a/f{i:02}"), format!("r{i:02}")])
                .map(|p| set(&p, 0o100644, &p))
                .collect();
            files.extend(fill.iter().map(|(p, _)| p.clone()));
            let mut seed = vec![fill];
            seed.extend(random_commits(&mut rng, 3, &mut files));
            let ia = by_fast_import(&s, &a, None, &seed);
            let ib = by_fast_import(&s, &b, None, &seed);
            assert_eq!(ia, ib);
            ia.last().cloned()
        } else {
            None
        };
        let commits = random_commits(&mut rng, 6, &mut files);
        let want = by_fast_import(&s, &a, head.as_deref(), &commits);
        let got = by_writer(&s, &b, head.as_deref(), &commits);
        assert_eq!(got, want, "round {round}: {commits:?}");
        // The ids come from the bodies; git reads the pack's deltas.
        if let Some(last) = got.last() {
            s.git(&b, &["update-ref", "refs/heads/main", last]);
            s.git(&b, &["fsck", "--full", "--strict", "--no-dangling"]);
        }
    }
}

/// A raw object written as is (`hash-object --literally`); its id.
fn literal(s: &Sandbox, dir: &Path, kind: &str, body: &[u8]) -> String {
    use std::io::Write;
    let mut child = warden_testkit::git::command(
        dir,
        &s.home(),
        &["hash-object", "-w", "--literally", "-t", kind, "--stdin"],
    )
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .spawn()
    .expect("hash-object");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body)
        .expect("body");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn tree_entry(mode: &str, name: &str, hex: &str) -> Vec<u8> {
    let mut e = format!("{mode} {name}\0").into_bytes();
    let mut id = [0u8; 20];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
    }
    e.extend_from_slice(&id);
    e
}

/// HEAD whose trees are not in git's canonical form: the subtree's entries
/// out of order, the root's directory mode spelled `040000`; a gitlink and
/// a symlink at the root. The same commit in two repositories.
fn non_canonical(s: &Sandbox) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let a = s.repo("a", false);
    let x = literal(s, &a, "blob", b"x");
    let mut sub = tree_entry("100644", "b", &x);
    sub.extend(tree_entry("100644", "a", &x));
    let sub = literal(s, &a, "tree", &sub);
    let mut root = tree_entry("040000", "d", &sub);
    root.extend(tree_entry("100644", "f", &x));
    root.extend(tree_entry("160000", "g", &x));
    root.extend(tree_entry("120000", "l", &x));
    let root = literal(s, &a, "tree", &root);
    let head = s
        .git(&a, &["commit-tree", "-m", "odd", &root])
        .trim()
        .to_string();
    s.git(&a, &["update-ref", "refs/heads/main", &head]);
    let h = s.home();
    s.git(&h, &["clone", "--quiet", "--no-local", "a", "b"]);
    (a, h.join("b"), head)
}

#[test]
fn a_non_canonical_head_tree_set_to_what_it_has_matches_fast_import() {
    let s = Sandbox::new();
    let (a, b, head) = non_canonical(&s);
    let commits = vec![
        vec![set("d/a", 0o100644, "x")],
        vec![set("f", 0o100644, "x")],
    ];
    assert_eq!(
        by_writer(&s, &b, Some(&head), &commits),
        by_fast_import(&s, &a, Some(&head), &commits)
    );
}

#[test]
fn a_non_canonical_head_tree_changed_matches_fast_import() {
    let s = Sandbox::new();
    let (a, b, head) = non_canonical(&s);
    let commits = vec![
        vec![set("d/c", 0o100644, "c")],
        vec![
            set("g/x", 0o100644, "through a gitlink"),
            set("l/y", 0o100644, "through a link"),
        ],
        vec![rm("d/a"), rm("d/b"), rm("d/c")],
    ];
    assert_eq!(
        by_writer(&s, &b, Some(&head), &commits),
        by_fast_import(&s, &a, Some(&head), &commits)
    );
}

#[test]
fn a_large_incompressible_blob_and_an_odd_message_make_a_pack_git_checks() {
    let s = Sandbox::new();
    let b = s.repo("b", false);
    let git = Git::new(&b).with_base_env(s.env());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let big: Vec<u8> = (0..200_000).map(|_| rng.next() as u8).collect();
    let mut w = git
        .commit_writer(None, &["big", "t/f"])
        .expect("writer")
        .expect("sha1");
    let mut last = String::new();
    for i in 0..120 {
        w.set("t/f", 0o100644, Blob::Bytes(format!("{i}").as_bytes()))
            .expect("set");
        if i == 60 {
            w.set("big", 0o100755, Blob::Bytes(&big)).expect("set");
        }
        last = w
            .commit(WHO, WHO, b"\xff\xfe odd\r\n\tbytes")
            .expect("commit");
    }
    w.finish().expect("finish");
    s.git(&b, &["update-ref", "refs/heads/main", &last]);
    s.git(&b, &["fsck", "--full", "--strict", "--no-dangling"]);
    let blob = s.git(&b, &["rev-parse", "main:big"]);
    let out = warden_testkit::git::command(&b, &s.home(), &["cat-file", "blob", blob.trim()])
        .output()
        .expect("cat-file");
    assert_eq!(out.stdout, big);
}

/// A repository shared with a group: git leaves a pack read-only and
/// readable by whom `objects/pack` is (`0440` under a umask of 077, where
/// warden's `0600` pack hid the new commits from the group).
#[test]
fn a_pack_did_not_get_the_permissions_git_gives_one_in_a_shared_repository() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new();
    let b = s.home().join("shared");
    std::fs::create_dir_all(&b).expect("mkdir");
    s.git(&b, &["init", "--quiet", "--shared=group"]);
    let git = Git::new(&b).with_base_env(s.env());
    let mut w = git
        .commit_writer(None, &["f"])
        .expect("writer")
        .expect("sha1");
    // Enough objects for a pack (fewer are stored loose).
    for i in 0..120 {
        let text = format!("f{i}");
        w.set(&text, 0o100644, Blob::Bytes(text.as_bytes()))
            .expect("set");
    }
    w.commit(WHO, WHO, b"m\n").expect("commit");
    w.finish().expect("finish");
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    let dir = b.join(".git/objects/pack");
    assert_eq!(
        mode(&dir) & 0o070,
        0o070,
        "git made the directory the group's"
    );
    let modes: Vec<u32> = std::fs::read_dir(&dir)
        .expect("packs")
        .flatten()
        .map(|e| mode(&e.path()))
        .collect();
    let want = 0o444 & mode(&dir);
    assert_eq!(modes, vec![want, want], "pack and index as git leaves them");
}

/// A SHA-1 repository that keeps SHA-256 names too
/// (`extensions.compatObjectFormat`): git records each object's other name
/// as it writes it; warden's pack had none (`rev-parse
/// --output-object-format=sha256` gave the new commit's SHA-1 back), so
/// `fast-import` writes the commits there.
#[test]
fn a_repository_with_a_compat_object_format_got_a_pack_without_its_other_names() {
    let s = Sandbox::new();
    let b = s.repo("b", false);
    s.git(&b, &["config", "core.repositoryformatversion", "1"]);
    s.git(&b, &["config", "extensions.compatObjectFormat", "sha256"]);
    let git = Git::new(&b).with_base_env(s.env());
    assert!(
        git.commit_writer(None, &["f"]).expect("writer").is_none(),
        "fast-import writes the commits"
    );
}

/// A linked work tree (`git worktree add`) and a repository whose objects
/// are elsewhere (`GIT_OBJECT_DIRECTORY`): the pack goes where git reads it.
#[test]
fn a_pack_written_from_a_worktree_or_a_moved_object_directory_is_read_by_git() {
    let s = Sandbox::new();
    let (main, head) = seeded(&s, "main");
    let wt = s.home().join("wt");
    s.git(
        &main,
        &[
            "worktree",
            "add",
            "--quiet",
            "--detach",
            wt.to_str().expect("utf-8"),
        ],
    );
    let moved = s.home().join("objects");
    std::fs::create_dir_all(moved.join("pack")).expect("mkdir");
    let alt = s.repo("alt", false);
    for (dir, env) in [
        (&wt, Vec::new()),
        (&alt, vec![("GIT_OBJECT_DIRECTORY", moved.clone())]),
    ] {
        let mut base = s.env();
        base.extend(
            env.iter()
                .map(|(k, v)| ((*k).into(), v.clone().into_os_string())),
        );
        let git = Git::new(dir).with_base_env(base);
        let head = (dir == &wt).then_some(head.as_str());
        let mut w = git
            .commit_writer(head, &["n/f"])
            .expect("writer")
            .expect("sha1");
        // Enough objects for a pack (fewer are stored loose).
        for i in 0..120 {
            let text = format!("n/f{i}");
            w.set(&text, 0o100644, Blob::Bytes(text.as_bytes()))
                .expect("set");
        }
        let id = w.commit(WHO, WHO, b"m\n").expect("commit");
        w.finish().expect("finish");
        let mut cat = warden_testkit::git::command(dir, &s.home(), &["cat-file", "-e", &id]);
        cat.envs(env.iter().map(|(k, v)| (*k, v)));
        assert!(
            cat.status().expect("cat-file").success(),
            "{}",
            dir.display()
        );
    }
    assert!(std::fs::read_dir(moved.join("pack")).expect("pack").count() >= 2);
}

/// A pass of a few objects made a pack of its own, where `fast-import`
/// stores fewer than 100 objects loose: a bridge watching its inbox (a few
/// commands per pass) would have made git's automatic maintenance repack
/// the repository every 50 passes. They are stored loose now.
#[test]
fn a_small_pass_made_a_pack_of_its_own_where_fast_import_stores_objects_loose() {
    let s = Sandbox::new();
    let (b, head) = seeded(&s, "b");
    let pack_dir = b.join(".git/objects/pack");
    let packs = || std::fs::read_dir(&pack_dir).map_or(0, |d| d.count());
    let before = packs();
    let commits = vec![
        vec![set("results/a.json", 0o100644, "a")],
        vec![set("results/b.json", 0o100644, "b"), rm("z")],
    ];
    let got = by_writer(&s, &b, Some(&head), &commits);
    assert_eq!(packs(), before, "no new pack");
    let last = &got[got.len() - 1];
    for id in &got {
        assert!(s.try_git(&b, &["cat-file", "-e", id]), "{id} stored");
    }
    s.git(&b, &["update-ref", "refs/heads/main", last]);
    s.git(&b, &["fsck", "--full", "--strict", "--no-dangling"]);
    let (a, _) = seeded(&s, "a");
    assert_eq!(got, by_fast_import(&s, &a, Some(&head), &commits));
}
