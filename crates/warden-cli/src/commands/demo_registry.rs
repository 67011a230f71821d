//! The registry maintainer's part of `warden demo`: a capability registry
//! drifts behind the code, `maintain --auto --no-llm` catches it up in one
//! run, a promotion that cites a missing file is refused by the evidence
//! gate, and undo restores the registry byte for byte.

use super::demo::{commit_all, demo_git, err, git_ok, say, undo, write};
use crate::output::CliError;
use std::path::Path;
use warden_core::git::Git;
use warden_core::{Context, Repo};
use warden_registry::maintain::{self, Checker, Options, PatchOutcome};
use warden_registry::patch::{Confidence, PatchKind, RegistryPatch};

const ENTRY: &str = "---\nid: capability.notes.sync\ntitle: Note sync\nmaturity:\n  D: {current: 0, target: 2}\n  A: {current: 0}\n  C: {current: 0}\n  R: {current: 0}\npaths:\n- src/sync/**\n- docs/sync/**\n---\n# Note sync\n\nKeeps notes in step between machines.\n";
const INDEX: &str = "updated: \"2026-01-01\"\ncapabilities:\n- id: capability.notes.sync\n  entry: registry/capabilities/sync.md\n  vector: D0/A0/C0/R0\n";

/// Run the registry part of the demo in `base`; steps numbered from `first`.
pub fn run(base: &Path, first: u32, ctx: &Context) -> Result<bool, CliError> {
    let step = |n: u32, title: &str| println!("\n== {}. {title}", first + n);
    let dir = base.join("registry-demo");
    std::fs::create_dir_all(&dir).map_err(err)?;

    step(
        0,
        "Registry maintainer: the registry drifts behind the code",
    );
    let base_rev = drifted_registry(&dir, ctx)?;
    say(
        "One capability, \"capability.notes.sync\", at D0/A0/C0/R0. Since then the code got a guide,\na test and a command line tool, and nobody told the registry.",
    );

    step(1, "maintain --auto --no-llm catches it up");
    let repo = Repo::open(&dir)?;
    let before = std::fs::read(dir.join("registry/capabilities/sync.md")).map_err(err)?;
    let report = maintain_auto(&dir, &repo, base_rev, ctx)?;
    for p in report
        .patches
        .iter()
        .filter(|p| p.outcome == PatchOutcome::Applied)
    {
        say(&format!(
            "applied {}: {}",
            p.patch.kind.name(),
            p.change.as_deref().unwrap_or("")
        ));
    }
    let Some(run) = report.run.clone() else {
        say("nothing was written (unexpected)");
        return Ok(false);
    };
    say(&format!(
        "One run, {run}, wrote {} through the policy gate and the engine; `registry validate` is green.",
        report.files_changed.join(" and ")
    ));

    step(2, "A promotion without evidence is refused");
    let refused = report
        .patches
        .iter()
        .find(|p| p.outcome == PatchOutcome::Rejected);
    if let Some(p) = refused {
        say(&format!(
            "{} {} -> refused by the {} gate: {}\nThe session exits 5 (partial): everything else was applied.",
            p.patch.kind.name(),
            p.patch.field_path,
            p.gate.map_or("?", |g| g.name()),
            p.reason.as_deref().unwrap_or("")
        ));
    }

    step(3, "Undo restores it");
    undo(&repo, ctx, true, &run)?;
    let restored = std::fs::read(dir.join("registry/capabilities/sync.md")).map_err(err)? == before;
    say(&format!(
        "`warden undo {run}`: the entry is byte-for-byte what it was: {}.",
        if restored { "yes" } else { "no" }
    ));
    let valid = {
        let reg = warden_registry::registry::Registry::load(&dir)?;
        warden_registry::validate::validate(&reg, &dir).ok
    };
    Ok(refused.is_some() && restored && valid && report.exit_code == 5)
}

/// Step 0: a registry with one capability, committed (its revision is
/// returned), then code that moved on without it.
fn drifted_registry(dir: &Path, ctx: &Context) -> Result<String, CliError> {
    git_ok(demo_git(dir).init())?;
    warden_core::repo::init(dir, ctx)?;
    write(dir, "registry/capabilities/sync.md", ENTRY)?;
    write(dir, "registry/indexes/capabilities.yaml", INDEX)?;
    let base_rev = commit_all(dir, "registry")?;
    write(dir, "docs/sync/guide.md", "# How sync works\n")?;
    write(
        dir,
        "src/sync/tests/test_sync.py",
        "def test_sync(): pass\n",
    )?;
    write(
        dir,
        "src/sync/pyproject.toml",
        "[project]\nname = \"notes-sync\"\n[project.scripts]\nnotes-sync = \"sync:main\"\n",
    )?;
    commit_all(dir, "sync: docs, a test, a command")?;
    Ok(base_rev)
}

/// Step 1: `registry maintain --auto --no-llm` since `base_rev`, with a
/// promotion that cites a missing file, committed as one run.
fn maintain_auto(
    dir: &Path,
    repo: &Repo,
    base_rev: String,
    ctx: &Context,
) -> Result<maintain::MaintainReport, CliError> {
    let mut opts = Options::new(&crate::env::today());
    opts.since = Some(base_rev);
    let g = Git::new(dir).with_base_env(crate::env::child_env());
    // Someone also proposes a promotion that cites a file that does not exist.
    let promote = RegistryPatch {
        capability_id: "capability.notes.sync".into(),
        kind: PatchKind::MaturityPromote,
        confidence: Confidence::High,
        rationale: "load tests landed".into(),
        field_path: "maturity.R.current".into(),
        value: Some(serde_json::json!(1)),
        append: None,
        evidence_citations: vec!["src/sync/tests/test_load.py".into()],
    };
    let prepared = maintain::prepare(dir, &g, &opts, None, Some("--no-llm".into()), vec![promote])?;
    let checker = Checker::new(dir, &g, &prepared.standard, &opts);
    let mut decided = maintain::decide_auto(&prepared, &checker, &mut |_| {});
    let committed = {
        let mut s = repo.session(ctx, true, &mut |_| {})?;
        let src = maintain::source_kind(&decided.results, false);
        maintain::commit(&mut s, &mut decided, &opts, src, &[], false)?
    };
    Ok(maintain::report(
        &prepared, &decided, &committed, &opts, false,
    ))
}
