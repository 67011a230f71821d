//! `Git::identity_cached`: the actor's identity without a git process while
//! nothing it depends on changed, and a fresh answer from git after every
//! change that could alter it. Real git, through a wrapper that counts its
//! starts, with every config file git reads under the test's control.
#![allow(clippy::disallowed_methods)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use warden_core::git::{Git, IDENTITY_CACHE, Identity};

struct World {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    xdg: PathBuf,
    system: PathBuf,
    log: PathBuf,
    wrapper: PathBuf,
    cache: PathBuf,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().expect("tempdir");
        let t = tmp.path().to_path_buf();
        let (root, home, xdg) = (t.join("repo"), t.join("home"), t.join("xdg"));
        for d in [&root, &home, &xdg] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        let log = t.join("git.log");
        let wrapper = t.join("git");
        let real = which_git();
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
                log.display(),
                real.display()
            ),
        )
        .expect("wrapper");
        set_exec(&wrapper);
        let w = World {
            cache: t.join(IDENTITY_CACHE),
            system: t.join("system-gitconfig"),
            _tmp: tmp,
            root,
            home,
            xdg,
            log,
            wrapper,
        };
        let out = std::process::Command::new(which_git())
            .args(["init", "-q"])
            .arg(&w.root)
            .env_clear()
            .envs(w.env(&[]))
            .output()
            .expect("git init");
        assert!(out.status.success(), "{out:?}");
        w
    }

    fn env(&self, extra: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = vec![
            ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
            ("HOME".into(), self.home.clone().into()),
            ("XDG_CONFIG_HOME".into(), self.xdg.clone().into()),
            ("GIT_CONFIG_SYSTEM".into(), self.system.clone().into()),
        ];
        env.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        env
    }

    fn git(&self, extra: &[(&str, &str)]) -> Git {
        Git::new(&self.root)
            .with_program(&self.wrapper)
            .with_base_env(self.env(extra))
    }

    /// The identity, and how many git processes answering it took.
    fn ask(&self, extra: &[(&str, &str)]) -> (Option<(String, String)>, usize) {
        let before = self.starts();
        let id = self
            .git(extra)
            .identity_cached(&self.cache)
            .expect("identity");
        (
            id.map(|Identity { name, email }| (name, email)),
            self.starts() - before,
        )
    }

    fn starts(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .count()
    }
}

fn which_git() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("git"))
        .find(|p| p.is_file())
        .expect("git on PATH")
}

fn set_exec(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn id(name: &str, email: &str) -> Option<(String, String)> {
    Some((name.to_string(), email.to_string()))
}

#[test]
fn the_cached_identity_is_used_without_git_until_any_input_of_it_changes() {
    let w = World::new();
    write(
        &w.home.join(".gitconfig"),
        "[user]\n\tname = Alice\n\temail = alice@example.com\n",
    );
    // First: git is asked once (`git var -l`), the answer kept.
    assert_eq!(w.ask(&[]), (id("Alice", "alice@example.com"), 1));
    assert!(w.cache.exists());
    // Then: no git process at all.
    assert_eq!(w.ask(&[]), (id("Alice", "alice@example.com"), 0));

    // The environment: GIT_AUTHOR_NAME wins over config.
    assert_eq!(
        w.ask(&[("GIT_AUTHOR_NAME", "Bob")]),
        (id("Bob", "alice@example.com"), 1)
    );
    assert_eq!(w.ask(&[]), (id("Alice", "alice@example.com"), 1));
    assert_eq!(w.ask(&[]), (id("Alice", "alice@example.com"), 0));

    // The global ~/.gitconfig, edited.
    write(
        &w.home.join(".gitconfig"),
        "[user]\n\tname = Carol\n\temail = alice@example.com\n",
    );
    assert_eq!(w.ask(&[]), (id("Carol", "alice@example.com"), 1));
    assert_eq!(w.ask(&[]), (id("Carol", "alice@example.com"), 0));

    // $XDG_CONFIG_HOME/git/config, absent until now.
    write(&w.xdg.join("git/config"), "[author]\n\tname = Dave\n");
    assert_eq!(w.ask(&[]), (id("Dave", "alice@example.com"), 1));
    assert_eq!(w.ask(&[]), (id("Dave", "alice@example.com"), 0));

    // The system file (here the one GIT_CONFIG_SYSTEM names).
    write(&w.system, "[author]\n\temail = sys@example.com\n");
    assert_eq!(w.ask(&[]), (id("Dave", "sys@example.com"), 1));
    assert_eq!(w.ask(&[]), (id("Dave", "sys@example.com"), 0));

    // The repository's own .git/config.
    let local = w.root.join(".git/config");
    let text = std::fs::read_to_string(&local).expect("config");
    write(&local, &format!("{text}[author]\n\tname = Erin\n"));
    assert_eq!(w.ask(&[]), (id("Erin", "sys@example.com"), 1));
    assert_eq!(w.ask(&[]), (id("Erin", "sys@example.com"), 0));
}

#[test]
fn with_an_include_git_is_asked_every_time() {
    let w = World::new();
    let inc = w.home.join("identity.inc");
    write(
        &inc,
        "[user]\n\tname = Frank\n\temail = frank@example.com\n",
    );
    write(
        &w.home.join(".gitconfig"),
        &format!("[include]\n\tpath = {}\n", inc.display()),
    );
    assert_eq!(w.ask(&[]), (id("Frank", "frank@example.com"), 2));
    // The included file is in no key: an edit of it is seen because nothing
    // was cached.
    write(
        &inc,
        "[user]\n\tname = Grace\n\temail = frank@example.com\n",
    );
    assert_eq!(w.ask(&[]), (id("Grace", "frank@example.com"), 2));
    assert!(!w.cache.exists());
    // An includeIf, added to a config that was cached before.
    write(
        &w.home.join(".gitconfig"),
        "[user]\n\tname = Heidi\n\temail = h@example.com\n",
    );
    assert_eq!(w.ask(&[]), (id("Heidi", "h@example.com"), 1));
    assert_eq!(w.ask(&[]), (id("Heidi", "h@example.com"), 0));
    let local = w.root.join(".git/config");
    let text = std::fs::read_to_string(&local).expect("config");
    write(
        &local,
        &format!(
            "{text}[includeIf \"gitdir:{}/\"]\n\tpath = {}\n",
            w.root.display(),
            inc.display()
        ),
    );
    assert_eq!(w.ask(&[]), (id("Grace", "frank@example.com"), 2));
    assert_eq!(w.ask(&[]), (id("Grace", "frank@example.com"), 2));
}

#[test]
fn an_identity_git_guesses_is_never_cached() {
    let w = World::new();
    // A name but no email anywhere: git guesses one from the host, or
    // refuses; either way nothing is kept.
    write(&w.home.join(".gitconfig"), "[user]\n\tname = Ivan\n");
    let (first, n) = w.ask(&[]);
    assert!(n >= 1);
    assert!(!w.cache.exists());
    let (second, m) = w.ask(&[]);
    assert_eq!((first, m), (second, n));
    // EMAIL in the environment is an explicit email: cached.
    assert_eq!(
        w.ask(&[("EMAIL", "ivan@example.com")]),
        (id("Ivan", "ivan@example.com"), 1)
    );
    assert_eq!(
        w.ask(&[("EMAIL", "ivan@example.com")]),
        (id("Ivan", "ivan@example.com"), 0)
    );
}
