//! The git layer against real repositories and bare remotes (hermetic git
//! from the test kit), and against fake `git` programs for what a real one
//! cannot show on demand: a hang, and the environment and stdin it gets.
#![allow(clippy::disallowed_methods)]
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::time::Duration;
use warden_core::git::{
    Entry, ErrorKind, Fetch, Git, NewCommit, RefUpdate, Role, Signature, TreeEdit,
};
use warden_testkit::Sandbox;

fn git(s: &Sandbox, dir: &Path) -> Git {
    Git::new(dir).with_base_env(s.env())
}

/// A remote with one commit, and a clone `a` of it.
fn remote_and_clone(s: &Sandbox) -> (PathBuf, PathBuf) {
    let remote = s.bare_remote("remote.git");
    let seed = s.clone(&remote, "seed");
    std::fs::write(seed.join("README.md"), "hello\n").expect("write");
    s.commit_all(&seed, "init");
    s.git(&seed, &["push", "--quiet", "-u", "origin", "main"]);
    let a = s.clone(&remote, "a");
    (remote, a)
}

fn fake_git(dir: &Path, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("fake-git");
    std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).expect("write");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    p
}

#[test]
fn status_sees_changes_with_any_bytes_in_paths_and_leaves_the_index_alone() {
    let s = Sandbox::new();
    let (_, a) = remote_and_clone(&s);
    std::fs::write(a.join("README.md"), "changed\n").expect("write");
    std::fs::create_dir(a.join("new dir")).expect("mkdir");
    std::fs::write(a.join("new dir/a\nb \"q\".txt"), "x").expect("write");
    let index = a.join(".git/index");
    let before = std::fs::read(&index).expect("index");
    let st = git(&s, &a).status(&[]).expect("status");
    assert_eq!(st.head.as_deref(), Some("main"));
    assert_eq!(st.upstream.as_deref(), Some("origin/main"));
    assert_eq!(st.ab, Some((0, 0)));
    let paths: Vec<&str> = st.entries.iter().map(Entry::path).collect();
    assert_eq!(paths, vec!["README.md", "new dir/a\nb \"q\".txt"]);
    assert!(matches!(st.entries[1], Entry::Untracked { .. }));
    assert_eq!(std::fs::read(&index).expect("index"), before);
    // Limited to a path.
    let only = git(&s, &a).status(&["README.md"]).expect("status");
    assert_eq!(only.entries.len(), 1);
}

#[test]
fn toplevel_outside_a_repository_is_not_a_repo_and_maps_to_exit_2() {
    let s = Sandbox::new();
    let plain = s.home().join("plain");
    std::fs::create_dir(&plain).expect("mkdir");
    let e = git(&s, &plain).toplevel().expect_err("not a repo");
    assert_eq!(e.kind, ErrorKind::NotARepo);
    let core: warden_core::Error = e.into();
    assert_eq!(core.class(), warden_core::ExitClass::Input);
    let e = git(&s, &s.home().join("missing"))
        .toplevel()
        .expect_err("no dir");
    assert_eq!(e.kind, ErrorKind::NotARepo);
    let (_, a) = remote_and_clone(&s);
    std::fs::create_dir(a.join("sub")).expect("mkdir");
    let (top, prefix) = git(&s, &a.join("sub")).toplevel_and_prefix().expect("top");
    assert_eq!(top, a);
    assert_eq!(prefix, "sub/");
    assert_eq!(
        git(&s, &a).git_path("hooks").expect("hooks"),
        a.join(".git/hooks")
    );
}

#[test]
fn fetch_mirrors_tags_without_creating_local_ones_and_counts_ahead_behind() {
    let s = Sandbox::new();
    let (remote, a) = remote_and_clone(&s);
    let b = s.clone(&remote, "b");
    std::fs::write(b.join("b.txt"), "b\n").expect("write");
    s.commit_all(&b, "from b");
    s.git(&b, &["tag", "v1"]);
    s.git(&b, &["push", "--quiet", "origin", "main", "v1"]);
    std::fs::write(a.join("a.txt"), "a\n").expect("write");
    s.commit_all(&a, "from a");

    let g = git(&s, &a);
    g.fetch(&Fetch {
        remote: Some("origin".into()),
        prune: true,
        no_tags: true,
        mirror_tags_under: Some("refs/warden/tags/".into()),
        write_fetch_head: false,
    })
    .expect("fetch");
    assert!(
        g.resolve("refs/warden/tags/origin/v1")
            .expect("resolve")
            .is_some()
    );
    assert!(g.resolve("refs/tags/v1").expect("resolve").is_none());
    assert!(!a.join(".git/FETCH_HEAD").exists());
    assert_eq!(g.ahead_behind("main", "origin/main").expect("ab"), (1, 1));
    let refs = g.refs(&["refs/heads/"]).expect("refs");
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].track, Some((1, 1)));
    assert!(refs[0].is_head);
    let (left, right) = g.commits_left_right("main", "origin/main").expect("lr");
    assert_eq!(left[0].subject, "from a");
    assert_eq!(right[0].subject, "from b");
    let base = g
        .merge_base("main", "origin/main")
        .expect("mb")
        .expect("some");
    assert!(g.is_ancestor(&base, "main").expect("anc"));
    assert_eq!(
        g.changed_since_base("main", "origin/main").expect("diff"),
        Some(vec!["b.txt".to_string()])
    );
    assert_eq!(
        g.remote_default_branch("origin").expect("ls-remote"),
        Some("main".to_string())
    );
    assert_eq!(g.remotes().expect("remotes")[0].0, "origin");
    assert_eq!(
        g.remote_config().expect("cfg").branch_remotes.get("main"),
        Some(&"origin".to_string())
    );
}

#[test]
fn commits_carry_the_users_identity_and_the_run_trailer_and_move_no_ref() {
    let s = Sandbox::new();
    let (_, a) = remote_and_clone(&s);
    let g = git(&s, &a);
    let head = g.resolve("HEAD").expect("head").expect("some");
    let who = Signature::of(g.identity().expect("ident"), "2026-02-03T04:05:06Z");
    assert_eq!(who.name, warden_testkit::git::NAME);
    assert_eq!(who.email, warden_testkit::git::EMAIL);
    let tree = g.tree_of("HEAD").expect("tree");
    let c = g
        .commit_tree(&NewCommit {
            tree: &tree,
            parents: &[&head],
            message: "warden sync: a test\n\nbody",
            run: "01RUN",
            who: &who,
        })
        .expect("commit");
    assert_eq!(
        g.resolve("HEAD").expect("head").as_deref(),
        Some(head.as_str())
    );
    let shown = s.git(
        &a,
        &[
            "log",
            "-1",
            "--format=%an|%ae|%aI|%cn|%(trailers:key=Warden-Run,valueonly)",
            &c,
        ],
    );
    assert_eq!(
        shown.trim(),
        format!(
            "{}|{}|2026-02-03T04:05:06Z|{}|01RUN",
            who.name, who.email, who.name
        )
    );
    // Refs: create refuses an existing one; a compare-and-swap refuses a moved one.
    g.create_ref("refs/heads/sync/x", &c, "t").expect("create");
    assert!(g.create_ref("refs/heads/sync/x", &c, "t").is_err());
    assert!(
        g.update_ref("refs/heads/sync/x", &head, Some(&head), "t")
            .is_err()
    );
    g.update_refs(
        &[RefUpdate::Update {
            name: "refs/heads/sync/x".into(),
            new: head.clone(),
            old: Some(c.clone()),
        }],
        "t",
    )
    .expect("update");
    assert_eq!(
        g.resolve("sync/x").expect("r").as_deref(),
        Some(head.as_str())
    );
    assert!(g.ident_line(Role::Committer).expect("ident").is_some());
}

#[test]
fn trees_from_the_working_tree_and_from_edits_never_touch_the_real_index() {
    let s = Sandbox::new();
    let (_, a) = remote_and_clone(&s);
    let g = git(&s, &a);
    let scratch = tempfile::tempdir().expect("tmp");
    std::fs::write(a.join("new.txt"), "n\n").expect("write");
    let index = a.join(".git/index");
    let before = std::fs::read(&index).expect("index");
    let snap = g.snapshot_tree(scratch.path()).expect("snapshot");
    assert_eq!(std::fs::read(&index).expect("index"), before);
    let head_tree = g.tree_of("HEAD").expect("tree");
    assert_eq!(
        g.changed_paths(&head_tree, &snap).expect("diff"),
        vec!["new.txt".to_string()]
    );
    let blob = g.hash_blob(b"edited\n").expect("blob");
    let edited = g
        .edit_tree(
            scratch.path(),
            &snap,
            &[
                TreeEdit {
                    path: "README.md".into(),
                    blob: Some(("100644".into(), blob)),
                },
                TreeEdit {
                    path: "new.txt".into(),
                    blob: None,
                },
            ],
        )
        .expect("edit");
    assert_eq!(
        g.changed_paths(&head_tree, &edited).expect("diff"),
        vec!["README.md".to_string()]
    );
    assert_eq!(
        g.show_file(&edited, "README.md").expect("show"),
        Some(b"edited\n".to_vec())
    );
    assert_eq!(g.show_file(&edited, "new.txt").expect("show"), None);
    let entries = g.ls_tree(&edited, &[]).expect("ls-tree");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].mode, 0o100644);
    assert_eq!(std::fs::read(&index).expect("index"), before);
}

#[test]
fn merge_tree_reports_conflicts_by_stage() {
    let s = Sandbox::new();
    let (remote, a) = remote_and_clone(&s);
    let b = s.clone(&remote, "b");
    std::fs::write(b.join("README.md"), "theirs\n").expect("write");
    s.commit_all(&b, "theirs");
    s.git(&b, &["push", "--quiet", "origin", "main"]);
    std::fs::write(a.join("README.md"), "ours\n").expect("write");
    s.commit_all(&a, "ours");
    let g = git(&s, &a);
    g.fetch(&Fetch {
        remote: Some("origin".into()),
        ..Fetch::default()
    })
    .expect("fetch");
    let m = g.merge_tree("main", "origin/main").expect("merge-tree");
    assert!(!m.clean);
    assert_eq!(m.conflicted_paths(), vec!["README.md".to_string()]);
    assert_eq!(m.stages.len(), 3);
}

#[test]
fn worktrees_index_ops_and_tracked_paths() {
    let s = Sandbox::new();
    let (_, a) = remote_and_clone(&s);
    let g = git(&s, &a);
    let wt = s.home().join("wt");
    let head = g.resolve("HEAD").expect("r").expect("some");
    g.worktree_add_detached(&wt, &head).expect("add");
    let list = g.worktrees().expect("list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].branch.as_deref(), Some("refs/heads/main"));
    assert!(list[1].detached);
    g.worktree_remove(&wt).expect("remove");
    assert!(!wt.exists());
    assert_eq!(g.worktrees().expect("list").len(), 1);

    std::fs::write(a.join("s.txt"), "s\n").expect("write");
    g.add(&["s.txt"]).expect("add");
    assert_eq!(
        g.staged_paths(None, Some("ACMR")).expect("staged"),
        vec!["s.txt".to_string()]
    );
    let t = g.tracked(&["s.txt", "README.md", "nope"]).expect("tracked");
    assert_eq!(t.len(), 2);
    g.reset_paths("HEAD", &["s.txt"]).expect("reset");
    assert!(g.staged_paths(None, None).expect("staged").is_empty());
    assert_eq!(
        g.changed_in_worktree("HEAD", false).expect("changed"),
        Vec::<String>::new()
    );
    let objs = g.objects(&["HEAD", "nope-not-here"]).expect("objects");
    assert!(matches!(
        objs[0],
        warden_core::git::ObjectInfo::Found { .. }
    ));
    assert_eq!(objs[1], warden_core::git::ObjectInfo::Missing);
    let (t, day) = g
        .last_change("README.md", None)
        .expect("log")
        .expect("some");
    assert_eq!(day, "2026-01-01");
    assert_eq!(t, 1_767_225_600);
    assert_eq!(
        g.last_change("README.md", Some("2026-01-02")).expect("log"),
        None
    );
    assert_eq!(g.head_branch().expect("head").as_deref(), Some("main"));
    assert_eq!(
        g.config_get("branch.main.remote").expect("cfg").as_deref(),
        Some("origin")
    );
    assert_eq!(g.config_get("no.such-key").expect("cfg"), None);
}

#[test]
fn init_creates_a_repository_and_an_unborn_head_can_track_a_branch() {
    let s = Sandbox::new();
    let dir = s.home().join("fresh/inner");
    let g = git(&s, &dir);
    g.init().expect("init");
    assert_eq!(g.toplevel().expect("top"), dir);
    g.set_head("refs/heads/trunk").expect("head");
    assert_eq!(g.head_branch().expect("head").as_deref(), Some("trunk"));
    g.add_remote("origin", "/nowhere").expect("remote");
    g.config_set("branch.trunk.remote", "origin").expect("set");
    assert_eq!(
        g.config_get("branch.trunk.remote").expect("get").as_deref(),
        Some("origin")
    );
}

#[test]
fn an_old_git_is_refused_with_the_minimum_and_a_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = fake_git(dir.path(), "echo 'git version 2.30.1'");
    let e = Git::new(dir.path())
        .with_program(&fake)
        .require_version((2, 38), "the sync guardian supports")
        .expect_err("too old");
    assert_eq!(e.kind, ErrorKind::TooOld);
    assert!(e.message.contains("git 2.30.1 is older than 2.38"), "{e}");
    assert!(e.hint().unwrap_or_default().contains("2.38"));
    let core: warden_core::Error = e.into();
    assert_eq!(core.class(), warden_core::ExitClass::Input);
}

#[test]
fn a_missing_git_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Git::new(dir.path())
        .with_program("/nonexistent/git-xyz")
        .version()
        .expect_err("missing");
    assert_eq!(e.kind, ErrorKind::Missing);
    assert!(e.to_string().contains("git was not found"), "{e}");
}

#[test]
fn a_missing_directory_is_named_not_reported_as_gits_exit_128() {
    // git enters the directory itself (`-C`), so a missing one is git's own
    // failure; warden still names the directory, as when it could not start git.
    let dir = tempfile::tempdir().expect("tempdir");
    let gone = dir.path().join("gone");
    let e = Git::new(&gone).version().expect_err("missing directory");
    assert_eq!(e.kind, ErrorKind::Spawn);
    assert!(
        e.to_string()
            .contains(&format!("{} is not a directory", gone.display())),
        "{e}"
    );
}

#[test]
fn a_hanging_git_is_killed_at_the_local_deadline_and_a_network_call_at_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    // It hangs for every command, leaving a grandchild behind as well.
    let fake = fake_git(dir.path(), "sleep 600 &\nsleep 600");
    let g = Git::new(dir.path())
        .with_program(&fake)
        .local_timeout(Duration::from_millis(200))
        .network_timeout(Duration::from_millis(400));
    let e = g.head_branch().expect_err("killed");
    assert_eq!(e.kind, ErrorKind::TimedOut);
    assert!(e.message.contains("0.2 s"), "{e}");
    // The network deadline is the network call's, not the local one.
    let e = g.remote_default_branch("origin").expect_err("killed");
    assert_eq!(e.kind, ErrorKind::TimedOut);
    assert!(e.message.contains("0.4 s"), "{e}");
    assert!(e.op.contains("ls-remote"), "{e}");
}

#[test]
fn git_never_prompts_reads_no_stdin_and_gets_only_the_given_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("log");
    // Records its arguments, environment and what stdin holds.
    let fake = fake_git(
        dir.path(),
        &format!(
            "{{ echo \"ARGS $*\"; env; echo \"STDIN[$(cat)]\"; }} >> '{}'",
            log.display()
        ),
    );
    let g = Git::new(dir.path()).with_program(&fake).with_base_env(vec![
        ("PATH".into(), "/usr/bin:/bin".into()),
        ("GIT_INDEX_FILE".into(), "/elsewhere".into()),
    ]);
    g.fetch(&Fetch {
        remote: Some("origin".into()),
        ..Fetch::default()
    })
    .expect("fetch");
    let text = std::fs::read_to_string(&log).expect("log");
    let fetch = &text[text.rfind("ARGS").expect("args")..];
    assert!(fetch.contains("fetch --quiet"), "{fetch}");
    for want in [
        "GIT_TERMINAL_PROMPT=0",
        "GCM_INTERACTIVE=never",
        "GIT_SSH_COMMAND=ssh -o BatchMode=yes",
        "STDIN[]",
    ] {
        assert!(fetch.contains(want), "{want} missing in {fetch}");
    }
    assert!(!fetch.contains("GIT_INDEX_FILE"), "{fetch}");
    assert!(!fetch.contains("HOME="), "{fetch}");
    // A network call does not take optional locks off; a read does.
    assert!(!fetch.contains("GIT_OPTIONAL_LOCKS"), "{fetch}");
    std::fs::remove_file(&log).expect("rm");
    let _ = g.head_branch();
    let read = std::fs::read_to_string(&log).expect("log");
    assert!(read.contains("GIT_OPTIONAL_LOCKS=0"), "{read}");
    assert!(!read.contains("GIT_SSH_COMMAND"), "{read}");
    // The user's own ssh command is left alone.
    std::fs::remove_file(&log).expect("rm");
    let _ = g.with_user_ssh_command(true).fetch(&Fetch::default());
    let user = std::fs::read_to_string(&log).expect("log");
    let user = &user[user.rfind("ARGS").expect("args")..];
    assert!(!user.contains("BatchMode"), "{user}");
}

/// A real git asking a real (local) server that wants a password: it fails
/// at once instead of prompting.
#[test]
fn a_remote_that_wants_credentials_fails_without_a_prompt() {
    use std::io::{Read, Write};
    let s = Sandbox::new();
    let r = s.repo("r", true);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        // Answer every request of the one fetch with 401.
        listener.set_nonblocking(false).expect("blocking");
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { break };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            if buf.starts_with(b"QUIT") {
                break;
            }
        }
    });
    let url = format!("http://127.0.0.1:{port}/repo.git");
    let g = git(&s, &r).network_timeout(Duration::from_secs(60));
    g.add_remote("web", &url).expect("remote");
    let e = g
        .fetch(&Fetch {
            remote: Some("web".into()),
            ..Fetch::default()
        })
        .expect_err("no credentials");
    assert_eq!(e.kind, ErrorKind::Failed, "{e}");
    assert!(e.message.contains("terminal prompts disabled"), "{e}");
    // Unblock the server thread.
    if let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
        let _ = c.write_all(b"QUIT");
    }
    for _ in 0..4 {
        if server.is_finished() {
            break;
        }
        if let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = c.write_all(b"QUIT");
        }
    }
    let _ = server.join();
}

/// `check-ignore` read a name starting with ':' as pathspec magic: a file
/// literally named `:(top)notes.txt` was answered for `notes.txt`, so an
/// ignored file with such a name was reported as not ignored (and bridge
/// publish would commit it), and `:!x` failed the whole call. Every name is
/// now a name; the answer names the paths as they were given.
#[test]
fn ignored_reads_a_name_starting_with_a_colon_as_a_name_not_pathspec_magic() {
    let s = Sandbox::new();
    let a = s.repo("a", true);
    std::fs::write(a.join(".gitignore"), ":*\n*.conf\nnl\nx\n").expect("write");
    let g = git(&s, &a);
    let ignored = g
        .ignored(&[
            ":(top)notes.txt",
            ":!kept.txt",
            ":/x.txt",
            "notes.txt",
            "local.conf",
            "nl\nx",
            "./plain.txt",
        ])
        .expect("check-ignore");
    let want: std::collections::BTreeSet<String> =
        [":(top)notes.txt", ":!kept.txt", ":/x.txt", "local.conf"]
            .into_iter()
            .map(String::from)
            .collect();
    assert_eq!(ignored, want);
}
