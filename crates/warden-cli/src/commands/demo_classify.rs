//! The classifier part of `warden demo`: files dropped into an inbox are
//! placed by the module registry — one clear winner, one ambiguous, one
//! unclassified, one duplicate — in one undoable run; `where` explains each
//! decision; undo puts everything back. Uses its own temp repository.

use super::demo::{demo_git, err, git_ok, say, step, undo, write};
use crate::output::CliError;
use std::collections::BTreeMap;
use std::path::Path;
use warden_classify::classify::{Options, Scope};
use warden_classify::history::{self, WhereQuery};
use warden_classify::times::FsTimes;
use warden_core::modules::Modules;
use warden_core::{Context, Repo};

const MODULES: &str = "schema: warden.modules/v1
inbox: [inbox/]
modules:
  - name: Ledger_Records_MOD
    folder: modules/ledger/
    keywords: [ledger, ulid, append_only, provenance]
    allowed_extensions: [.py, .jsonl]
  - name: Goal_Normalizer_MOD
    folder: modules/goals/
    keywords: [normalize, goal, capability_tags, constraints]
    allowed_extensions: [.py, .md]
";

fn files(root: &Path, dir: &str) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let (Ok(rel), Ok(b)) = (p.strip_prefix(root), std::fs::read(&p)) {
                out.insert(rel.to_string_lossy().into_owned(), b);
            }
        }
    }
    out
}

/// Run the classifier steps, numbered from `first`. Returns whether
/// everything happened as described.
pub fn run(first: u32) -> Result<bool, CliError> {
    let tmp = tempfile::Builder::new()
        .prefix("warden-demo-classify-")
        .tempdir()
        .map_err(err)?;
    let root = tmp.path().join("repo");
    let ctx = crate::env::context();
    inbox_repo(&root, &ctx)?;
    let before = files(&root, "inbox");

    step(first, "Files land in an inbox");
    say(
        "`.warden/modules.yaml` lists two modules with their folders, keywords and file types.\nFive files wait in inbox/. `warden classify --dry-run` scores each one\n(name word 3, folder word 2, content word 1) and decides:",
    );
    let reg = Modules::load(&root)?.ok_or_else(|| err("no registry"))?;
    let opts = Options {
        scope: Scope::Inbox,
        reclassify: false,
    };
    let repo = Repo::open(&root)?;
    let a = warden_classify::run::dry_run(&repo, &reg, &opts, &FsTimes)?;
    for f in &a.files {
        say(&format!("  {}", super::classify::line(f)));
    }

    step(first + 1, "Classify: one proposal, one run");
    let report = classify(&repo, &ctx, &reg, &opts)?;
    let run = report.run.clone().unwrap_or_default();
    say(&format!(
        "Applied as run {run}: moves and quarantines only, never a delete. The ambiguous file\nstays where it is; the unclassified one and the duplicate wait in .quarantine/{run}/."
    ));
    let lane = warden_classify::quarantine::list(&root, None)?;
    for q in &lane.files {
        say(&format!("  quarantined ({}): {}", q.reason, q.path));
    }

    step(first + 2, "Where is it, and why?");
    let entries = repo.ledger().entries()?;
    let all = history::placements(&entries, repo.root());
    for file in ["modules/ledger/notes.py", "inbox/holiday.txt"] {
        let w = history::query(
            &all,
            &WhereQuery {
                file: Some(file.into()),
                ..WhereQuery::default()
            },
        );
        for p in &w.placements {
            say(&format!(
                "warden where {file}: {} ({})",
                p.decision.decision_path.name(),
                p.decision.reason
            ));
        }
    }

    step(first + 3, "Undo puts everything back");
    undo(&repo, &ctx, false, &run)?;
    let restored = files(&root, "inbox") == before;
    say(&format!(
        "`warden undo {run}`: the inbox is byte-for-byte what it was: {}.",
        if restored { "yes" } else { "NO" }
    ));
    let placed = report
        .files
        .iter()
        .filter(|f| f.action.as_deref() == Some("move_file"))
        .count();
    Ok(restored && placed == 2 && lane.files.len() == 2)
}

fn classify(
    repo: &Repo,
    ctx: &Context,
    reg: &Modules,
    opts: &Options,
) -> Result<warden_classify::report::ClassifyReport, CliError> {
    let mut s = repo.session(ctx, false, &mut |_| {})?;
    let prepared = warden_classify::run::prepare(&s, reg, opts, &FsTimes)?;
    Ok(warden_classify::run::commit(&mut s, prepared)?)
}

/// A warden repository at `root` with two modules, one file already placed
/// and five waiting in `inbox/`.
fn inbox_repo(root: &Path, ctx: &warden_core::Context) -> Result<(), CliError> {
    std::fs::create_dir_all(root).map_err(err)?;
    git_ok(demo_git(root).init())?;
    warden_core::repo::init(root, ctx)?;
    write(root, ".warden/modules.yaml", MODULES)?;
    write(
        root,
        "modules/ledger/chain_ledger.py",
        "# the append_only chain\n",
    )?;
    write(
        root,
        "inbox/notes.py",
        "# ulid ledger, append_only provenance\n",
    )?;
    write(root, "inbox/goal_overview.md", "How we normalize a goal.\n")?;
    write(root, "inbox/goal_ledger.py", "x = 1\n")?;
    write(root, "inbox/holiday.txt", "sunny\n")?;
    write(root, "inbox/chain_ledger.py", "# the append_only chain\n")?;
    Ok(())
}
