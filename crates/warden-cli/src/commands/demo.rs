//! `warden demo`: the main job on an embedded default. Builds a throwaway git
//! repository in a temp dir and walks through init, a proposal's plan and
//! apply, idempotent re-apply, the ledger, undo, verification and tamper
//! detection, saying what happened at each step.

use crate::output::CliError;
use std::path::Path;
use std::process::ExitCode;
use warden_core::git::Git;
use warden_core::proposal::{Proposal, Source};
use warden_core::{Digest, Repo};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep the temp repository and print its path.
    #[arg(long)]
    pub keep: bool,
}

const CONFIG_PY: &str = "\"\"\"Service settings.\"\"\"\n\n# BEGIN AUTO SECTION: LIMITS\nMAX_WORKERS = 2\n# END AUTO SECTION: LIMITS\n\ndef workers():\n    return MAX_WORKERS\n";
const README: &str = "# demo service\n\nA tiny repository that warden looks after.\n";

pub(super) fn step(n: u32, title: &str) {
    println!("\n== {n}. {title}");
}

pub(super) fn say(text: &str) {
    for line in text.lines() {
        println!("   {line}");
    }
}

/// git in the demo's throwaway repositories, acting as the user at the
/// keyboard: the core's git layer (no prompts, the allow-listed
/// environment), no system configuration, a pinned identity, branch `main`,
/// no signing (`GIT_CONFIG_*` variables rather than `-c` options).
pub(super) fn demo_git(dir: &Path) -> Git {
    let mut g = Git::new(dir)
        .with_base_env(crate::env::child_env())
        .network_timeout(std::time::Duration::from_secs(120))
        .with_env("GIT_CONFIG_NOSYSTEM", "1");
    for (k, v) in [
        ("GIT_AUTHOR_NAME", "warden demo"),
        ("GIT_AUTHOR_EMAIL", "demo@warden.invalid"),
        ("GIT_COMMITTER_NAME", "warden demo"),
        ("GIT_COMMITTER_EMAIL", "demo@warden.invalid"),
        ("GIT_CONFIG_COUNT", "3"),
        ("GIT_CONFIG_KEY_0", "init.defaultBranch"),
        ("GIT_CONFIG_VALUE_0", "main"),
        ("GIT_CONFIG_KEY_1", "commit.gpgsign"),
        ("GIT_CONFIG_VALUE_1", "false"),
        ("GIT_CONFIG_KEY_2", "gc.autoDetach"),
        ("GIT_CONFIG_VALUE_2", "false"),
    ] {
        g = g.with_env(k, v);
    }
    g
}

/// A git failure in the demo: a usage error (git missing or broken).
pub(super) fn git_ok<T>(r: warden_core::git::Result<T>) -> Result<T, CliError> {
    r.map_err(|e| {
        let missing = e.kind == warden_core::git::ErrorKind::Missing;
        CliError::usage(
            format!("the demo needs git: {e}"),
            missing.then(|| "install git and try again".to_string()),
        )
    })
}

/// Any other failure in the demo (a file, a parse): a usage error.
pub(super) fn err(e: impl std::fmt::Display) -> CliError {
    CliError::usage(e.to_string(), None)
}

/// Write `text` to `root/rel`, creating its directories.
pub(super) fn write(root: &Path, rel: &str, text: &str) -> Result<(), CliError> {
    let p = root.join(rel);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).map_err(err)?;
    }
    std::fs::write(p, text).map_err(err)
}

/// The demo's user, as the source of its undos.
pub(super) fn demo_user() -> Source {
    Source {
        kind: "person".into(),
        id: "demo".into(),
    }
}

/// `warden undo RUN` as the library does it, by the demo's user, in a
/// session of its own (`wait`: for the repository's lock).
pub(super) fn undo(
    repo: &Repo,
    ctx: &warden_core::Context,
    wait: bool,
    run: &str,
) -> Result<warden_core::engine::Outcome, CliError> {
    let mut session = repo.session(ctx, wait, &mut |_| {})?;
    let plan = session.plan_undo(run, false, demo_user())?;
    Ok(session.apply(&plan)?)
}

/// `git add -A` and a commit, as the demo's user.
pub(super) fn commit_all(dir: &Path, message: &str) -> Result<String, CliError> {
    let g = demo_git(dir);
    git_ok(g.add_all())?;
    git_ok(g.commit_index(message))
}

fn sha(path: &Path) -> Result<Digest, CliError> {
    std::fs::read(path)
        .map(|b| Digest::of(&b))
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display()), None))
}

pub fn run(keep: bool) -> Result<ExitCode, CliError> {
    let tmp = tempfile::Builder::new()
        .prefix("warden-demo-")
        .tempdir()
        .map_err(|e| CliError::usage(format!("cannot create a temp dir: {e}"), None))?;
    let root = tmp
        .path()
        .canonicalize()
        .map_err(|e| CliError::usage(e.to_string(), None))?;
    let ctx = crate::env::context();
    println!("warden demo: a throwaway repository at {}", root.display());
    let repo = repository(&root, &ctx)?;
    let restored = propose_apply_undo(&root, &repo, &ctx)?;
    let (verified, tamper_seen) = verify_and_tamper(&repo, &ctx)?;

    let sync_ok = super::demo_sync::run(&root, 11, &ctx)?;
    let plugins_ok = super::demo_plugins::run(&root, 17, step, say)?;
    let bridge_ok = super::demo_bridge::run(21, keep)?;
    let classify_ok = super::demo_classify::run(27)?;
    let registry_ok = super::demo_registry::run(&root, 31, &ctx)?;
    let contracts_ok = super::demo_contracts::run(&root, 35, step, say)?;

    println!(
        "\nThat was warden: proposals, policy, atomic runs, the ledger and undo; the sync guardian;\nplugins that only propose; signed remote commands; the file classifier; a registry kept\ncurrent; and meta contracts."
    );
    if keep {
        let path = tmp.keep();
        println!("The repository is kept at {}.", path.display());
    } else {
        println!(
            "The temp repository is removed now; run `warden demo --keep` to look around in it."
        );
    }
    let ok = restored
        && verified
        && tamper_seen
        && sync_ok
        && plugins_ok
        && bridge_ok
        && classify_ok
        && registry_ok
        && contracts_ok;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        crate::output::ExitStatus::Internal.into()
    })
}

/// Steps 1-2: a git repository with a few files, then `warden init`.
fn repository(root: &Path, ctx: &warden_core::Context) -> Result<Repo, CliError> {
    step(1, "A repository with some files");
    git_ok(demo_git(root).init())?;
    std::fs::create_dir_all(root.join("src")).map_err(|e| CliError::usage(e.to_string(), None))?;
    let write = |p: &str, c: &str| {
        std::fs::write(root.join(p), c).map_err(|e| CliError::usage(e.to_string(), None))
    };
    write("README.md", README)?;
    write("src/config.py", CONFIG_PY)?;
    write("notes.tmp", "scratch notes nobody can place\n")?;
    commit_all(root, "initial")?;
    say(
        "README.md, src/config.py (with an AUTO fence named LIMITS) and a stray notes.tmp, committed.",
    );

    step(2, "warden init");
    let report = warden_core::repo::init(root, ctx)?;
    say(&format!(
        "Created {}.\nThe policy pack says which source may propose which action on which event;\n\
         OPERATING_CONTRACT.md is rendered from it. This clone writes ledger chain \"{}\".",
        report.created.join(", "),
        report.writer
    ));
    Ok(Repo::open(root)?)
}

/// Steps 3-8: a proposal, its plan, apply, apply again (idempotent), the
/// ledger, and undo. True when undo restored every file byte for byte.
fn propose_apply_undo(
    root: &Path,
    repo: &Repo,
    ctx: &warden_core::Context,
) -> Result<bool, CliError> {
    step(
        3,
        "A proposal, as a script or an AI assistant would write it",
    );
    let readme_sha = sha(&root.join("README.md"))?;
    let proposal = serde_json::json!({
        "schema": "warden.proposal/v1",
        "source": {"kind": "person", "id": "demo"},
        "event": "Manual",
        "rationale": "document the service, raise the worker limit, put away a stray file",
        "actions": [
            {"kind": "write_file", "path": "docs/usage.md", "content": "# Usage\n\nRun `python -m service`.\n", "expect": "absent"},
            {"kind": "write_file", "path": "README.md", "content": format!("{README}\nSee docs/usage.md.\n"), "expect": {"sha256": readme_sha.hex()}},
            {"kind": "patch_region", "path": "src/config.py", "fence": "LIMITS", "content": "MAX_WORKERS = 8\n"},
            {"kind": "quarantine", "path": "notes.tmp", "reason": "unclassified"}
        ]
    });
    say(&serde_json::to_string_pretty(&proposal).unwrap_or_default());
    let (proposal, digest) = Proposal::from_value(&proposal, "demo-proposal.json")?;

    step(4, "Plan (what `warden apply --dry-run` shows)");
    let mut session = repo.session(ctx, true, &mut |_| {})?;
    let plan = session.plan(&proposal, digest, "demo-proposal.json")?;
    say("The policy gate passed; every precondition holds. Nothing is written yet.");
    super::print_plan(&plan);

    step(5, "Apply");
    let before: Vec<(String, Option<Digest>)> =
        ["README.md", "src/config.py", "notes.tmp", "docs/usage.md"]
            .iter()
            .map(|p| {
                (
                    p.to_string(),
                    std::fs::read(root.join(p)).ok().map(|b| Digest::of(&b)),
                )
            })
            .collect();
    let outcome = session.apply(&plan)?;
    let run = outcome.entry.run.clone();
    say(&format!(
        "Run {run} journaled its intent with the before-state (the rollback handle),\n\
         staged and renamed each file durably, then appended ledger entry {} — the commit point.\n\
         notes.tmp now lives in .quarantine/{run}/ with its reason.",
        outcome.entry.seq
    ));

    step(6, "Apply the same proposal again");
    let again = session.plan(&proposal, digest, "demo-proposal.json")?;
    super::print_plan(&again);
    say("Idempotent: the ledger knows this proposal and its result is still in place.");

    show_ledger(repo)?;

    step(8, "Undo");
    let undo = session.plan_undo(&run, false, demo_user())?;
    let undone = session.apply(&undo)?;
    drop(session);
    let restored = before
        .iter()
        .all(|(p, d)| std::fs::read(root.join(p)).ok().map(|b| Digest::of(&b)) == *d);
    say(&format!(
        "Run {} restored the before-state of run {run} as a new, ledgered run.\n\
         Every file is byte-for-byte what it was: {}.",
        undone.entry.run,
        if restored {
            "yes"
        } else {
            "NO (this is a bug)"
        }
    ));
    Ok(restored)
}

/// Step 7: every ledger entry, one paragraph each.
fn show_ledger(repo: &Repo) -> Result<(), CliError> {
    step(7, "The ledger");
    for e in repo.ledger().entries()? {
        say(&format!(
            "entry {} run {} {} {} by {}:{} result {:?}, {} files, policy {} (sha256 {})\n  prev {}  after {}",
            e.seq,
            e.run,
            e.command,
            e.event,
            e.actor.kind,
            e.actor.id,
            e.result,
            e.counts.files,
            e.policy.version,
            e.policy.digest.short(),
            e.prev.short(),
            e.after_digest.short()
        ));
    }
    Ok(())
}

/// Steps 9-10: the ledger verifies; a hand edit is caught and every writer
/// refuses until it is undone. (verified, tampering detected)
fn verify_and_tamper(repo: &Repo, ctx: &warden_core::Context) -> Result<(bool, bool), CliError> {
    step(9, "Verify the ledger");
    let ledger = repo.ledger();
    let report = ledger.verify()?;
    say(&format!(
        "ok: {}; {} entries in {} chain(s).",
        report.ok,
        report.entries,
        report.chains.len()
    ));

    step(10, "Tamper with it");
    let chain = ledger.chain_path(&repo.writer);
    let original =
        std::fs::read_to_string(&chain).map_err(|e| CliError::usage(e.to_string(), None))?;
    std::fs::write(&chain, original.replacen("\"demo\"", "\"mallory\"", 1))
        .map_err(|e| CliError::usage(e.to_string(), None))?;
    let tampered = ledger.verify()?;
    if let Some(p) = &tampered.problem {
        say(&format!(
            "After changing the actor of the first entry by hand, verify says:\n{}: entry {}: {}",
            p.file, p.line, p.message
        ));
    }
    if let Err(e) = repo.session(ctx, false, &mut |_| {}) {
        say(&format!(
            "Until it verifies again, every writer refuses rather than seal it:\n{e}"
        ));
    }
    std::fs::write(&chain, original).map_err(|e| CliError::usage(e.to_string(), None))?;
    say(&format!(
        "Restored; verify ok again: {}.",
        ledger.verify()?.ok
    ));
    Ok((report.ok, !tampered.ok))
}
