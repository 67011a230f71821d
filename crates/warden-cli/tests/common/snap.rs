//! Whole-output snapshots of the CLI (insta): a transcript of commands with
//! their exit codes, stdout and stderr, and the filters for what differs
//! between runs and machines (run ids, times, digests, the writer id, temp
//! paths). Snapshots live in `tests/snapshots/`; accept changes with
//! `INSTA_UPDATE=always` and review the diff.

use super::{BIN, Repo, isolated};
use std::path::Path;

/// `$ warden ARGS`, the exit code, stdout and stderr, for a snapshot.
pub fn transcript(r: &Repo, runs: &[&[&str]]) -> String {
    transcript_at(&r.root, r.home.path(), runs)
}

/// [`transcript`] of warden run in `dir` with `home` as its home.
pub fn transcript_at(dir: &Path, home: &Path, runs: &[&[&str]]) -> String {
    let mut s = String::new();
    for args in runs {
        let out = isolated(BIN, home)
            .args(*args)
            .current_dir(dir)
            .output()
            .expect("run warden");
        s.push_str(&output(&args.join(" "), &out));
    }
    s
}

/// One entry of a transcript: `$ warden ARGS`, the exit code, stdout and
/// stderr of `out` (for a run the transcript helpers cannot make: stdin, a
/// child waited for later, extra environment).
pub fn output(args: &str, out: &std::process::Output) -> String {
    let mut s = format!("$ warden {args}\n");
    s.push_str(&format!("exit: {}\n", out.status.code().unwrap_or(-1)));
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if !bytes.is_empty() {
            s.push_str(&format!("--- {name}\n{}", String::from_utf8_lossy(bytes)));
            if !bytes.ends_with(b"\n") {
                s.push('\n');
            }
        }
    }
    s.push('\n');
    s
}

pub fn escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// Filters for what differs between runs and machines.
pub fn settings(r: &Repo) -> insta::Settings {
    settings_at(&r.root, r.home.path())
}

/// [`settings`] for a repository at `root` with warden's home `home`.
pub fn settings_at(root: &Path, home: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    let root_c = root.canonicalize().expect("canonical root");
    let home = home.canonicalize().expect("canonical home");
    for (path, name) in [(&root_c, "[ROOT]"), (&home, "[HOME]")] {
        s.add_filter(&escape(&path.display().to_string()), name);
    }
    if let Ok(w) = std::fs::read_to_string(root.join(".warden/state/writer")) {
        s.add_filter(&escape(w.trim()), "[WRITER]");
    }
    s.add_filter(r"\b[0-9A-HJKMNP-TV-Z]{26}\b", "[RUN]");
    s.add_filter(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
        "[TIME]",
    );
    // Tables show a run id's shortest unique prefix (at least 8 characters,
    // more when ids share a prefix) and local times; their column widths
    // follow, so runs of spaces inside a line are folded (indentation stays).
    s.add_filter(r"\b0[0-9A-HJKMNP-TV-Z]{7,25}\b", "[RUN]");
    s.add_filter(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\b", "[TIME]");
    s.add_filter(r"(\S)  +", "$1  ");
    s.add_filter(r"\b\d{4}-\d\d-\d\d\.1\b", "[DATE].1");
    s.add_filter(r"\b[0-9a-f]{12,64}\b", "[SHA]");
    s.add_filter(r"warden \d+\.\d+\.\d+", "warden [VERSION]");
    // Sizes that follow the length of the times and digests above.
    s.add_filter(r#""(len|bytes|offset)": \d+"#, r#""$1": [N]"#);
    s.add_filter(r"\d+ bytes", "[N] bytes");
    s.add_filter(r"\bbyte \d+\b", "byte [N]");
    s
}

/// [`settings_at`] plus what git adds for a sync run: short commit ids and
/// the day in a sync branch's name.
pub fn git_settings_at(root: &Path, home: &Path) -> insta::Settings {
    let mut s = settings_at(root, home);
    s.add_filter(r"\b[0-9a-f]{10}\b", "[COMMIT]");
    s.add_filter(r"(sync|quarantine/sync)[/-]\d{8}-", "$1/[DATE]-");
    s
}

/// [`git_settings_at`] of a test repository.
pub fn git_settings(r: &Repo) -> insta::Settings {
    git_settings_at(&r.root, r.home.path())
}

/// [`settings`] plus what a plugin run adds: durations, and the sandbox
/// level and isolation layers of this kernel.
pub fn plugin_settings(r: &Repo) -> insta::Settings {
    let mut s = settings(r);
    s.add_filter(r"\b\d+ ms\b", "[N] ms");
    // Commits carry the date of the policy's version: short ids vary by day.
    s.add_filter(r" at [0-9a-f]{7,11}\)", " at [COMMIT])");
    s.add_filter(r"sandbox=[a-z_]+", "sandbox=[LEVEL]");
    s.add_filter(r#""sandbox": "[a-z_]+""#, r#""sandbox": "[LEVEL]""#);
    s.add_filter(r"(?m)^sandbox: [a-z_]+$", "sandbox: [LEVEL]");
    s.add_filter(r"(?m)^sandbox +.*$", "sandbox  [KERNEL]");
    s.add_filter(
        r"(?m)^  (filesystem|processes|signals|metadata|privileges) .*\n",
        "",
    );
    s
}
