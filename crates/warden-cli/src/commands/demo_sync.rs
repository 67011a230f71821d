//! The sync guardian's part of `warden demo`: two clones of one bare remote
//! diverge, the audit shows it, reconcile builds the sync branch without
//! touching the working tree, adopt fast-forwards, and after a push the audit
//! says "in sync".

use super::demo::{commit_all, demo_git, err, git_ok, say};
use crate::output::CliError;
use std::path::Path;
use warden_core::{Context, Digest, Repo};
use warden_sync::audit::{self, AuditOptions, FetchMode, Ungated};
use warden_sync::config::SyncConfig;
use warden_sync::git::Signature;
use warden_sync::reconcile::{self, Outcome, ReconcileOptions};
use warden_sync::{adopt, record, render};

fn write(dir: &Path, rel: &str, text: &str) -> Result<(), CliError> {
    std::fs::write(dir.join(rel), text).map_err(err)
}

/// Every file of the working tree (outside .git) with its digest.
fn snapshot(dir: &Path) -> Vec<(String, Digest)> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<(String, Digest)>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else if let Ok(b) = std::fs::read(&p) {
                let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
                out.push((rel, Digest::of(&b)));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Run the sync part of the demo in `base` (a temp dir); steps numbered from `first`.
pub fn run(base: &Path, first: u32, ctx: &Context) -> Result<bool, CliError> {
    let step = |n: u32, title: &str| println!("\n== {}. {title}", first + n);
    let sync = base.join("sync-demo");
    std::fs::create_dir_all(&sync).map_err(err)?;
    let laptop = sync.join("laptop");
    let desktop = sync.join("desktop");
    let g = crate::env::git();
    warden_sync::git::check_version(&g)?;

    step(0, "Sync guardian: one remote, two clones");
    two_clones(&sync, &laptop, &desktop, ctx)?;
    say(
        "A bare remote (think: GitHub) and two clones, \"laptop\" and \"desktop\".\nwarden is set up on the laptop and committed.",
    );

    step(1, "They drift apart");
    write(
        &desktop,
        "README.md",
        "# notes app\n\nSyncs notes between machines.\n",
    )?;
    commit_tracked(&desktop, "README: say where notes go")?;
    push(&desktop)?;
    write(&laptop, "notes.md", "- buy milk\n- call Ana\n")?;
    commit_tracked(&laptop, "notes: call Ana")?;
    write(&laptop, "todo.txt", "draft, never committed\n")?;
    say(
        "desktop pushed a README change. The laptop committed a note (not pushed)\nand has a new file todo.txt it never committed.",
    );

    step(2, "warden sync audit (on the laptop)");
    let opts = AuditOptions {
        fetch: FetchMode::Default,
        ..AuditOptions::default()
    };
    let report = audit::audit(&g, &laptop, &opts, &Ungated)?;
    say(&render::audit(&report));
    say("It fetched without merging and lists both sides: the exit code would be 1.");

    step(3, "warden sync reconcile");
    let before = snapshot_aside_bookkeeping(&laptop);
    let head_before = git_ok(demo_git(&laptop).resolve("HEAD"))?;
    let repo = Repo::open(&laptop)?;
    let mut session = repo.session(ctx, true, &mut |_| {})?;
    let run = session.new_run_id();
    let rec = reconcile_laptop(&g, &laptop, &repo, &mut session, &run, ctx)?;
    session.record(record::reconcile(&rec, record::cli_actor()))?;
    say(&render::reconcile(&rec));
    let untouched = snapshot_aside_bookkeeping(&laptop) == before
        && git_ok(demo_git(&laptop).resolve("HEAD"))? == head_before;
    say(&format!(
        "The laptop's files and its branch are untouched: {}.\nThe ledger says what came from where (`warden ledger show {run}`).",
        if untouched {
            "yes"
        } else {
            "NO (this is a bug)"
        }
    ));

    step(4, "warden sync adopt");
    let ok_branch = rec.outcome == Outcome::SyncBranch;
    let scratch = tempfile::tempdir().map_err(err)?;
    let arun = session.new_run_id();
    let a = adopt::check(&g, &laptop, &rec, &arun, scratch.path())?;
    adopt::apply(&g, &laptop, &a)?;
    session.record(record::adopt(&a, record::cli_actor()))?;
    drop(session);
    say(&render::adopt(&a));
    say(&git_ok(demo_git(&laptop).graph(6))?);
    let readme = std::fs::read_to_string(laptop.join("README.md")).unwrap_or_default();
    let merged = readme.contains("between machines") && laptop.join("todo.txt").is_file();
    say(&format!(
        "main now has the desktop's README, the laptop's note and todo.txt: {}.",
        if merged { "yes" } else { "NO (this is a bug)" }
    ));

    step(5, "Push, and audit again");
    push(&laptop)?;
    let again = audit::audit(&g, &laptop, &AuditOptions::default(), &Ungated)?;
    say(&again.summary.needs_attention.first().map_or(
        "IN SYNC: nothing needs attention (exit 0)".to_string(),
        |w| format!("still needs attention: {w}"),
    ));
    Ok(untouched && ok_branch && merged && again.summary.in_sync)
}

/// `git commit -a`: the changes of tracked files, as the demo's user.
fn commit_tracked(dir: &Path, message: &str) -> Result<String, CliError> {
    let g = demo_git(dir);
    git_ok(g.add_tracked())?;
    git_ok(g.commit_index(message))
}

/// Push the checked-out branch to origin's branch of the same name.
fn push(dir: &Path) -> Result<(), CliError> {
    let (ok, why) = git_ok(demo_git(dir).push("origin", "HEAD"))?;
    if ok {
        Ok(())
    } else {
        Err(CliError::usage(
            format!("git push failed in the demo: {why}"),
            None,
        ))
    }
}

/// Step 3's reconcile of the laptop's branch as run `run`, wired like `warden
/// sync reconcile` (MergeConflict plugins, sandboxed generators), without a
/// fetch (the audit fetched) and with warden's own signature.
fn reconcile_laptop(
    g: &warden_sync::git::Git,
    laptop: &Path,
    repo: &Repo,
    session: &mut warden_core::engine::Session,
    run: &str,
    ctx: &Context,
) -> Result<reconcile::ReconcileReport, CliError> {
    let now = ctx.clock.now();
    let opts = ReconcileOptions {
        fetch: FetchMode::Skip,
        fetch_timeout: super::sync::FETCH_TIMEOUT,
        run: run.to_string(),
        date: now.strftime("%Y%m%d").to_string(),
        signature: Signature {
            name: "warden".into(),
            email: "warden@localhost".into(),
            date: now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        },
        dry_run: false,
        branch: None,
    };
    let launcher = crate::env::launcher();
    let generators = super::sync::SandboxedGenerators::new(&launcher, &repo.policy);
    let mut plugins = super::sync::PluginHook { session, launcher };
    let mut hooks = reconcile::Hooks {
        policy: &repo.policy,
        merge_conflict: &mut plugins,
        generators: &generators,
    };
    let config = SyncConfig::load(laptop)?;
    Ok(reconcile::reconcile(
        g, laptop, &config, &opts, &Ungated, &mut hooks,
    )?)
}

/// [`snapshot`] without warden's own bookkeeping (ledger, run reports, lock
/// and journal), which a reconcile run appends to.
fn snapshot_aside_bookkeeping(dir: &Path) -> Vec<(String, Digest)> {
    let own = |p: &str| {
        [".ledger/", ".runs/", ".warden/state/"]
            .iter()
            .any(|o| p.starts_with(o))
    };
    snapshot(dir).into_iter().filter(|(p, _)| !own(p)).collect()
}

/// Step 0: a bare remote in `sync` and two clones of it; warden is set up
/// on the laptop, committed and pushed.
fn two_clones(sync: &Path, laptop: &Path, desktop: &Path, ctx: &Context) -> Result<(), CliError> {
    let remote = sync.join("remote.git");
    let remote_url = remote.display().to_string();
    git_ok(demo_git(&remote).init_bare())?;
    git_ok(demo_git(sync).clone_into(&remote_url, laptop))?;
    write(laptop, "README.md", "# notes app\n\nSyncs notes.\n")?;
    write(laptop, "notes.md", "- buy milk\n")?;
    warden_core::repo::init(laptop, ctx)?;
    commit_all(laptop, "start")?;
    push(laptop)?;
    git_ok(demo_git(laptop).set_upstream("main", "origin/main"))?;
    git_ok(demo_git(sync).clone_into(&remote_url, desktop))?;
    Ok(())
}
