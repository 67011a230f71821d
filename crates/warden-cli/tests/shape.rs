//! The CLI a person expects: completions, man pages, colour, the pager, run
//! ids as their shortest unique prefix, the aligned runs table, `warden run`
//! under the mutation convention, the pre-commit hook, identities in the
//! ledger, and the local history. Terminal behaviour is tested on a real
//! pseudo-terminal (util-linux `script`).

mod common;

use common::snap::{settings, transcript};
use common::{BIN, Repo, isolated};
use std::io::Write;
use std::process::{Output, Stdio};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write_file(r: &Repo, n: usize) -> String {
    r.proposal(serde_json::json!([{
        "kind": "write_file",
        "path": format!("notes/{n}.md"),
        "content": format!("note {n}\n"),
        "expect": "absent",
    }]))
}

/// Quote for `sh`.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Run `warden ARGS` on a pseudo-terminal of `rows` rows (stdin, stdout and
/// stderr are the terminal), feeding `input` as typed keys; returns what the
/// terminal showed and the exit code. `env` is added to the pinned one.
fn on_tty(r: &Repo, args: &[&str], env: &[(&str, &str)], rows: u16, input: &str) -> (String, i32) {
    let mut line = format!("stty rows {rows} cols 200; exec env");
    for (k, v) in env {
        line.push_str(&format!(" {k}={}", q(v)));
    }
    line.push_str(&format!(" {}", q(BIN)));
    for a in args {
        line.push_str(&format!(" {}", q(a)));
    }
    let mut child = isolated("script", r.home.path())
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .current_dir(&r.root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        // Typed keys arrive once the program waits for them.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = stdin.write_all(input.as_bytes());
    }
    let out: Output = child.wait_with_output().expect("wait");
    (
        text(&out.stdout).replace("\r\n", "\n"),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn completions_are_printed_for_every_shell() {
    let r = Repo::git_only();
    for (shell, marker) in [
        ("bash", "complete -F _warden"),
        ("zsh", "#compdef warden"),
        ("fish", "complete -c warden"),
        ("elvish", "edit:completion:arg-completer[warden]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = r.ok(&["completions", shell]);
        assert!(
            out.contains(marker),
            "{shell}: {}",
            &out[..out.len().min(300)]
        );
        // Subcommands and their flags are in it.
        assert!(
            out.contains("reconcile") && out.contains("dry-run"),
            "{shell}"
        );
    }
    let err = r.fails(&["completions", "tcsh"], 2);
    assert!(err.contains("possible values"), "{err}");
}

/// Regression for the lazy command line: clap builds a subcommand's
/// arguments (and a newtype command's own subcommands) only when that
/// subcommand runs (`#[command(defer = true)]`), so everything that reads
/// the whole tree (completions, help, suggestions) must still see a nested
/// subcommand's flags, and `warden help bridge <TAB>` its subcommands.
#[test]
fn completions_help_and_suggestions_see_nested_subcommands_and_their_flags_with_lazy_clap() {
    let r = Repo::git_only();
    let bash = r.ok(&["completions", "bash"]);
    let opts = bash
        .split("        warden__subcmd__sync__subcmd__audit)\n")
        .nth(1)
        .and_then(|b| b.lines().next())
        .expect("the case of `warden sync audit` in the bash script");
    assert!(
        opts.contains(" --no-fetch ") && opts.contains(" --format "),
        "{opts}"
    );
    // `warden help bridge <TAB>` offers bridge's subcommands, as before.
    assert!(
        bash.contains("warden__subcmd__help__subcmd__bridge,hook)"),
        "the help tree lacks bridge's subcommands"
    );
    for shell in ["zsh", "fish"] {
        let out = r.ok(&["completions", shell]);
        assert!(out.contains("no-fetch"), "{shell}");
    }
    assert!(r.ok(&["sync", "audit", "--help"]).contains("--no-fetch"));
    assert!(r.ok(&["help", "sync", "audit"]).contains("--no-fetch"));
    let err = r.fails(&["sync", "audit", "--no-fetc"], 2);
    assert!(
        err.contains("similar argument exists: '--no-fetch'"),
        "{err}"
    );
}

#[test]
fn man_pages_are_roff_for_warden_and_each_subcommand() {
    let r = Repo::git_only();
    let top = r.ok(&["man"]);
    assert!(top.contains(".TH warden 1"), "{top}");
    assert!(top.contains("deterministic, auditable caretaker"), "{top}");
    let sub = r.ok(&["man", "sync", "audit"]);
    assert!(
        sub.contains(".TH warden\\-sync\\-audit 1") || sub.contains(".TH warden-sync-audit 1"),
        "{sub}"
    );
    assert!(sub.contains("no\\-fetch"), "{sub}");
    let err = r.fails(&["man", "sync", "frobnicate"], 2);
    assert!(
        err.contains("no subcommand `frobnicate`") && err.contains("audit"),
        "{err}"
    );
    // Hidden internals get no page.
    r.fails(&["man", "__sandbox"], 2);
}

#[test]
fn run_ids_are_shown_as_their_shortest_unique_prefix_and_accepted_as_such() {
    let r = Repo::new();
    for n in 0..3 {
        r.ok(&["apply", &write_file(&r, n), "--yes"]);
    }
    let full: Vec<String> = r.json(&["runs"])["runs"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|e| e["run"].as_str().expect("run").to_string())
        .collect();
    let table = r.ok(&["runs"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("RUN "), "{table}");
    // Aligned: every column starts at the same offset on every line.
    let col = lines[0].find("COMMAND").expect("COMMAND column");
    for l in &lines[1..] {
        assert_eq!(&l[col..col + 5], "apply", "{table}");
    }
    for (l, id) in lines[1..].iter().zip(&full) {
        let shown = l.split_whitespace().next().expect("id");
        assert!(
            shown.len() >= 8 && shown.len() < id.len(),
            "{shown} of {id}"
        );
        assert!(id.starts_with(shown));
        // No other run shares it.
        assert_eq!(full.iter().filter(|f| f.starts_with(shown)).count(), 1);
        // Accepted back, in lower case too.
        let e = r.json(&["ledger", "show", &shown.to_ascii_lowercase()]);
        assert_eq!(e["run"], id.as_str());
    }
    // -v shows the full ids.
    let verbose = r.ok(&["runs", "-v"]);
    assert!(
        full.iter().all(|id| verbose.contains(id.as_str())),
        "{verbose}"
    );
    // A prefix shared by several runs is refused, naming the count.
    let err = r.fails(&["ledger", "show", &full[0][..2]], 2);
    assert!(err.contains("matches 3 runs"), "{err}");
}

#[test]
fn colour_follows_the_flag_no_color_and_the_terminal() {
    let r = Repo::new();
    let p = write_file(&r, 1);
    let esc = "\u{1b}[";
    let plain = r.ok(&["apply", &p, "--dry-run"]);
    assert!(!plain.contains(esc), "not a terminal: no colour\n{plain}");
    let always = r.ok(&["apply", &p, "--dry-run", "--color", "always"]);
    assert!(always.contains("\u{1b}[32m+note 1"), "{always:?}");
    let (tty, code) = on_tty(&r, &["apply", &p, "--dry-run"], &[], 200, "");
    assert_eq!(code, 0, "{tty}");
    assert!(tty.contains(esc), "a terminal gets colour: {tty:?}");
    let (tty, _) = on_tty(
        &r,
        &["apply", &p, "--dry-run"],
        &[("NO_COLOR", "1")],
        200,
        "",
    );
    assert!(!tty.contains(esc), "NO_COLOR: {tty:?}");
    assert!(tty.contains("+note 1"), "{tty}");
    let (tty, _) = on_tty(
        &r,
        &["apply", &p, "--dry-run", "--color", "never"],
        &[],
        200,
        "",
    );
    assert!(!tty.contains(esc), "--color never: {tty:?}");
}

#[test]
fn long_output_on_a_terminal_goes_through_the_pager_unless_no_pager() {
    let r = Repo::new();
    for n in 0..6 {
        r.ok(&["apply", &write_file(&r, n), "--yes"]);
    }
    let pager = r.home.path().join("pager.sh");
    std::fs::write(&pager, "#!/bin/sh\necho PAGER-SAW-THIS\ncat\n").expect("write");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pager, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let pager = pager.display().to_string();
    let env = [("PAGER", pager.as_str())];
    // 7 lines on a 5-row terminal: paged.
    let (out, code) = on_tty(&r, &["runs"], &env, 5, "");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("PAGER-SAW-THIS\n"), "{out}");
    assert!(out.contains("apply"), "{out}");
    let (out, _) = on_tty(&r, &["runs", "--no-pager"], &env, 5, "");
    assert!(
        !out.contains("PAGER-SAW-THIS") && out.contains("apply"),
        "{out}"
    );
    // It fits: printed directly.
    let (out, _) = on_tty(&r, &["runs"], &env, 50, "");
    assert!(!out.contains("PAGER-SAW-THIS"), "{out}");
    // Not a terminal: never paged.
    let out = r.cmd(&["runs"]).env("PAGER", &pager).output().expect("run");
    assert!(!text(&out.stdout).contains("PAGER-SAW-THIS"));
}

#[test]
fn warden_run_follows_the_mutation_convention() {
    let r = Repo::new();
    let before = r.json(&["ledger", "log"])["entries"]
        .as_array()
        .map_or(0, Vec::len);
    // Without a terminal, --yes is needed; --dry-run shows the dispatch plan;
    // neither writes anything.
    let out = transcript(&r, &[&["run", "Manual"], &["run", "Manual", "--dry-run"]]);
    settings(&r).bind(|| insta::assert_snapshot!("run_without_a_terminal", out));
    let plan = r.json(&["run", "Manual", "--dry-run"]);
    assert_eq!(plan["schema"], "warden.run-plan/v1");
    assert_eq!(plan["plugins"], serde_json::json!([]));
    assert_eq!(
        r.json(&["ledger", "log"])["entries"]
            .as_array()
            .map_or(0, Vec::len),
        before
    );
    // On a terminal it asks; "n" declines (exit 1), "y" dispatches.
    let (out, code) = on_tty(&r, &["run", "Manual"], &[], 50, "n\n");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("dispatch Manual? [y/N]") && out.contains("declined"),
        "{out}"
    );
    assert_eq!(
        r.json(&["ledger", "log"])["entries"]
            .as_array()
            .map_or(0, Vec::len),
        before
    );
    let (out, code) = on_tty(&r, &["run", "Manual"], &[], 50, "y\n");
    assert_eq!(code, 0, "{out}");
    r.ok(&["run", "Manual", "--yes"]);
    assert_eq!(
        r.json(&["ledger", "log"])["entries"]
            .as_array()
            .map_or(0, Vec::len),
        before + 2
    );
}

#[test]
fn hook_install_writes_a_pre_commit_hook_that_dispatches_pre_commit() {
    let r = Repo::new();
    let v = r.json(&["hook", "install"]);
    assert_eq!(v["schema"], "warden.hook-install/v1");
    assert_eq!(v["state"], "written");
    let hook = r.root.join(".git/hooks/pre-commit");
    let script = std::fs::read_to_string(&hook).expect("hook");
    assert!(script.contains("# warden-hook v1"), "{script}");
    assert!(
        script.contains(BIN),
        "the hook names the binary by its path: {script}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&hook).expect("stat").permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "executable");
    }
    assert_eq!(r.json(&["hook", "install"])["state"], "unchanged");
    // With no PreCommit plugin a commit dispatches nothing and records nothing.
    let before = r.json(&["ledger", "log"])["entries"]
        .as_array()
        .map_or(0, Vec::len);
    r.write("a.txt", "a\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "--quiet", "-m", "first"]);
    assert_eq!(
        r.json(&["ledger", "log"])["entries"]
            .as_array()
            .map_or(0, Vec::len),
        before
    );
    assert_eq!(r.git(&["status", "--porcelain"]).trim(), "");
    // With one, a commit dispatches PreCommit with the staged paths.
    r.ok(&[
        "plugin",
        "new",
        "pc",
        "--event",
        "PreCommit",
        "--lang",
        "sh",
        "--yes",
    ]);
    r.ok(&["plugin", "enable", "pc", "--yes"]);
    r.git(&["add", "-A"]);
    r.git(&["commit", "--quiet", "-m", "the plugin"]);
    r.write("b.txt", "b\n");
    r.git(&["add", "b.txt"]);
    r.git(&["commit", "--quiet", "-m", "second"]);
    let runs = r.json(&["runs"])["runs"].clone();
    let last = runs
        .as_array()
        .and_then(|a| a.first())
        .cloned()
        .expect("a run");
    assert_eq!(last["command"], "run");
    assert_eq!(last["event"], "PreCommit");
    let entry = r.json(&["ledger", "show", last["run"].as_str().expect("run")]);
    assert_eq!(entry["details"]["items"], 1);
    assert_eq!(entry["details"]["plugins"][0]["plugin"], "pc");
    let input = r.read(&format!(
        ".runs/{}/input.json",
        last["run"].as_str().expect("run")
    ));
    assert!(
        input.contains("b.txt") && !input.contains("a.txt"),
        "{input}"
    );
    // A hook the user wrote is kept: refused, or moved aside with --force.
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").expect("write");
    let err = r.fails(&["hook", "install"], 1);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&hook).expect("hook"),
        "#!/bin/sh\necho mine\n"
    );
    let v = r.json(&["hook", "install", "--force"]);
    assert_eq!(v["state"], "replaced");
    assert_eq!(
        std::fs::read_to_string(r.root.join(".git/hooks/pre-commit.warden-backup"))
            .expect("backup"),
        "#!/bin/sh\necho mine\n"
    );
}

/// Regression: every CLI run was ledgered as `person:cli`. It names the OS
/// user and the git identity now.
#[test]
fn cli_runs_record_the_os_user_and_git_identity_not_person_cli() {
    let r = Repo::new();
    let out = r
        .cmd(&["apply", &write_file(&r, 1), "--yes", "--format", "json"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let run = serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")["run"]
        .as_str()
        .expect("run")
        .to_string();
    let undo = r
        .cmd(&["undo", &run, "--yes", "--format", "json"])
        .env("USER", "alice")
        .output()
        .expect("undo");
    assert!(undo.status.success(), "{}", text(&undo.stderr));
    let entry: serde_json::Value = serde_json::from_slice(&undo.stdout).expect("json");
    assert_eq!(entry["actor"]["kind"], "person");
    assert_eq!(
        entry["actor"]["id"],
        "alice (git: test <test@warden.invalid>)"
    );
}

#[test]
fn quiet_leaves_out_progress_and_notes_but_not_errors() {
    let r = Repo::git_only();
    // Not initialised: the audit's note says it was not kept; -q drops it.
    let remote = r.home.path().join("remote.git");
    isolated("git", r.home.path())
        .args(["init", "--quiet", "--bare"])
        .arg(&remote)
        .output()
        .expect("git init");
    let out = r.run(&["sync", "audit", "--no-fetch"]);
    assert!(
        text(&out.stderr).contains("not kept"),
        "{}",
        text(&out.stderr)
    );
    let out = r.run(&["sync", "audit", "--no-fetch", "-q"]);
    assert!(
        !text(&out.stderr).contains("not kept"),
        "{}",
        text(&out.stderr)
    );
    let err = r.fails(&["ledger", "show", "X", "-q"], 2);
    assert!(err.contains("error:"), "{err}");
}

/// Every hook in `.pre-commit-hooks.yaml` is a warden command that runs (and
/// passes) in a freshly initialised repository.
#[test]
fn the_pre_commit_hooks_file_names_warden_commands_that_pass_on_a_fresh_repository() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.pre-commit-hooks.yaml");
    let bytes = std::fs::read(&path).expect(".pre-commit-hooks.yaml");
    let hooks = warden_core::strict::parse_yaml(&bytes, ".pre-commit-hooks.yaml").expect("yaml");
    let hooks = hooks.as_array().expect("a list of hooks");
    let ids: Vec<&str> = hooks.iter().filter_map(|h| h["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "warden-ledger-verify",
            "warden-plugin-validate",
            "warden-ids-check",
            "warden-check",
            "warden-gen-docs-check"
        ]
    );
    let r = Repo::new();
    for h in hooks {
        assert_eq!(h["language"], "system", "{h}");
        assert_eq!(h["pass_filenames"], false, "{h}");
        let entry: Vec<&str> = h["entry"]
            .as_str()
            .expect("entry")
            .split_whitespace()
            .collect();
        assert_eq!(entry[0], "warden", "{h}");
        r.ok(&entry[1..]);
    }
}
