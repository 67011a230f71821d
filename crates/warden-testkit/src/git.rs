//! Hermetic git: every variable cleared but `PATH`, `HOME` (a temp dir) and
//! the pinned ones below; no system config (`GIT_CONFIG_NOSYSTEM`), no prompts
//! (`GIT_TERMINAL_PROMPT=0`), a fixed author, committer and date, branch
//! `main` by default, no signing.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Stdio};

/// The author and committer of every commit made through this module.
pub const NAME: &str = "test";
pub const EMAIL: &str = "test@warden.invalid";
/// The author and committer date of every commit made through this module.
pub const DATE: &str = "2026-01-01T00:00:00Z";

/// The pinned variables (besides `PATH` and `HOME`).
pub const ENV: &[(&str, &str)] = &[
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_TERMINAL_PROMPT", "0"),
    ("GIT_AUTHOR_NAME", NAME),
    ("GIT_AUTHOR_EMAIL", EMAIL),
    ("GIT_COMMITTER_NAME", NAME),
    ("GIT_COMMITTER_EMAIL", EMAIL),
    ("GIT_AUTHOR_DATE", DATE),
    ("GIT_COMMITTER_DATE", DATE),
    ("LC_ALL", "C"),
    ("TZ", "UTC"),
];

/// The hermetic environment as a list: `PATH`, `home` as `HOME`, and
/// [`ENV`]; for code that builds its own child (`warden_core::git::Git::
/// with_base_env`, `warden_core::process::Cmd::envs`).
pub fn env(home: &Path) -> Vec<(OsString, OsString)> {
    let mut v = vec![
        (
            OsString::from("PATH"),
            std::env::var_os("PATH").unwrap_or_default(),
        ),
        (OsString::from("HOME"), home.as_os_str().to_os_string()),
    ];
    v.extend(
        ENV.iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v))),
    );
    v
}

/// `program` with the hermetic environment and `home` as `HOME`, stdin
/// closed. Also for running `warden` itself the way a test wants it.
pub fn hermetic(program: impl AsRef<OsStr>, home: &Path) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .envs(ENV.iter().copied())
        .stdin(Stdio::null());
    c
}

/// `git ARGS` in `dir`, hermetic, with `init.defaultBranch=main` and
/// signing off.
pub fn command(dir: &Path, home: &Path, args: &[&str]) -> Command {
    let mut c = hermetic("git", home);
    c.args([
        "-c",
        "init.defaultBranch=main",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "tag.gpgsign=false",
    ])
    .args(args)
    .current_dir(dir);
    c
}

/// Run git and require success; returns stdout.
pub fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let out = command(dir, home, args).output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run git; whether it succeeded.
pub fn try_git(dir: &Path, home: &Path, args: &[&str]) -> bool {
    command(dir, home, args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
