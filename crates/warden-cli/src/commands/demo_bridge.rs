//! The signed-command bridge part of `warden demo`: a signed command arrives,
//! is applied as a warden run, published to a local bare remote, found in the
//! ledger and undone; then a tampered command lands in the dead-letter folder
//! with its reason. Uses its own temp dirs and a demo secret (the real one
//! comes from GPT_BRIDGE_HMAC_SECRET and is never needed here).

use super::demo::{commit_all, demo_git, err, git_ok, say, step};
use crate::output::CliError;
use warden_bridge::canon::{self, JVal};
use warden_bridge::layout::{self, Layout};
use warden_bridge::pipeline::{Bridge, Options};
use warden_bridge::publish::Backoff;
use warden_bridge::service;
use warden_bridge::sign::Secrets;
use warden_core::Repo;

/// A signed writeFile command, built by the same template as `warden bridge new`.
fn signed_command(
    id: &str,
    path: &str,
    content: &str,
    secrets: &Secrets,
) -> Result<JVal, CliError> {
    let cmd = warden_bridge::new::Draft::new(warden_bridge::new::Ops::Write {
        path: path.into(),
        content: content.into(),
    })
    .id(id);
    let built = warden_bridge::new::build(&cmd, secrets, crate::env::now()).map_err(err)?;
    canon::parse(built.text.as_bytes()).map_err(err)
}

/// Run the bridge steps, numbered from `first`. Returns whether everything
/// happened as described.
pub fn run(first: u32, keep: bool) -> Result<bool, CliError> {
    let tmp = tempfile::Builder::new()
        .prefix("warden-demo-bridge-")
        .tempdir()
        .map_err(|e| err(format!("cannot create a temp dir: {e}")))?;
    let base = tmp.path().canonicalize().map_err(err)?;
    let ctx = crate::env::context();
    let secrets = Secrets::new("demo-secret-not-for-production", None);

    step(first, "A bridge root with a remote");
    let layout = bridge_root(&base, &ctx)?;
    let root = layout.root.clone();

    step(first + 1, "A signed command arrives");
    let cmd = signed_command(
        "demo-hello-1",
        "docs/hello.md",
        "Hello from a signed command.\n",
        &secrets,
    )?;
    std::fs::write(
        layout.commands().join("demo-hello-1.json"),
        canon::pretty(&cmd),
    )
    .map_err(err)?;
    say(
        "commands/demo-hello-1.json asks to write docs/hello.md. Its \"hmac\" is\n\
         base64(HMAC-SHA256(secret, canonical JSON without \"hmac\")), the original Python signer's form.",
    );

    step(first + 2, "The executor verifies, applies and publishes it");
    let repo = Repo::open(&root)?;
    let opts = Options {
        settle_ms: 0,
        ..Options::default()
    };
    let mut bridge = Bridge::new(layout.clone(), &repo, &ctx, &secrets, opts).map_err(err)?;
    let (run, published) = execute(&mut bridge, &base.join("remote.git"), &ctx)?;

    step(first + 3, "The run is in the ledger");
    let entry = repo.ledger().find_run(&run)?;
    if let Some(e) = &entry {
        say(&format!(
            "run {}: actor {}:{}, event {}, result {:?}, {} file(s) changed, policy {}.",
            e.run, e.actor.kind, e.actor.id, e.event, e.result, e.counts.files, e.policy.version
        ));
    }

    step(first + 4, "Undo it");
    let undone = undo(&repo, &ctx, &run)?;

    step(first + 5, "A tampered command");
    let rejected = tampered(&mut bridge, &secrets, &ctx)?;

    println!(
        "\nThat was the signed-command bridge: verified, applied as an undoable run, published."
    );
    if keep {
        let path = tmp.keep();
        println!("The bridge demo is kept at {}.", path.display());
    }
    Ok(published && entry.is_some() && undone && rejected)
}

/// A clone of a local bare remote in `base`, with warden and a bridge root,
/// committed and pushed.
fn bridge_root(base: &std::path::Path, ctx: &warden_core::Context) -> Result<Layout, CliError> {
    let root = base.join("cloud");
    let remote = base.join("remote.git");
    git_ok(demo_git(&remote).init_bare())?;
    git_ok(demo_git(base).clone_into(&remote.display().to_string(), &root))?;
    warden_core::repo::init(&root, ctx)?;
    let layout = Layout::new(&root).with_child_env(crate::env::child_env());
    layout::init(&layout, None).map_err(err)?;
    commit_all(&root, "bridge root")?;
    let (pushed, why) = git_ok(demo_git(&root).push("origin", "HEAD:main"))?;
    if !pushed {
        return Err(err(format!("git push failed in the demo: {why}")));
    }
    git_ok(demo_git(&root).set_upstream("main", "origin/main"))?;
    say(&format!(
        "{} is a clone of a local bare remote, with warden and `warden bridge init`:\n\
         commands/ results/ diffs/ archive/ dead_letter/ meta/ logs/ ... and meta/retries.json.",
        root.display()
    ));
    Ok(layout)
}

/// One tick of the executor with publish: the command's run, and whether
/// its one commit reached the remote with the change in it.
fn execute(
    bridge: &mut Bridge<'_>,
    remote: &std::path::Path,
    ctx: &warden_core::Context,
) -> Result<(String, bool), CliError> {
    let root = bridge.layout.root.clone();
    let tick =
        service::tick(bridge, true, true, &Backoff::default(), ctx.clock.now()).map_err(err)?;
    let item = tick
        .pass
        .items
        .first()
        .ok_or_else(|| err("the command was not taken"))?;
    let run = item.run.clone().unwrap_or_default();
    say(&format!(
        "{} {}: status {}, warden run {run}.\ndocs/hello.md now reads: {}",
        match item.outcome {
            warden_bridge::pipeline::ItemOutcome::Archived => "archived",
            warden_bridge::pipeline::ItemOutcome::DeadLetter => "dead_letter",
        },
        item.id,
        item.status.as_deref().unwrap_or("-"),
        std::fs::read_to_string(root.join("docs/hello.md"))
            .unwrap_or_default()
            .trim()
    ));
    let remote_log = git_ok(demo_git(remote).commits_between("HEAD", &[], 3))?
        .into_iter()
        .map(|c| c.subject)
        .collect::<Vec<_>>()
        .join("\n");
    say(&format!(
        "Written: results/demo-hello-1.json, results/demo-hello-1.integrity.json, diffs/demo-hello-1.patch,\n\
         archive/demo-hello-1.json and a line in logs/bridge.log. The bare remote's log now starts with:\n{}",
        remote_log.trim()
    ));
    let in_commit = git_ok(demo_git(remote).commit_paths("HEAD"))?.join("\n");
    say(&format!(
        "That one commit also carries the change itself (docs/hello.md: {}) and the run's\n\
         ledger line (.ledger/runs/: {}); commands/ is never staged.",
        in_commit.lines().any(|l| l == "docs/hello.md"),
        in_commit.lines().any(|l| l.starts_with(".ledger/runs/"))
    ));
    let published = remote_log.contains("bridge: results demo-hello-1 (exit=0)")
        && in_commit.lines().any(|l| l == "docs/hello.md");
    Ok((run, published))
}

/// `warden undo RUN`, as the library does it; whether the file is gone.
fn undo(repo: &Repo, ctx: &warden_core::Context, run: &str) -> Result<bool, CliError> {
    let undo = super::demo::undo(repo, ctx, true, run)?;
    let undone = !repo.root().join("docs/hello.md").exists();
    say(&format!(
        "`warden undo {run}` is run {}: docs/hello.md is gone again ({}).\n\
         The published result stays: publishing is not undoable, the ledger says what happened.",
        undo.entry.run,
        if undone { "as expected" } else { "UNEXPECTED" }
    ));
    Ok(undone)
}

/// A command whose payload was changed after signing lands in
/// `dead_letter/` as `hmac_mismatch`; whether it did, with no result.
fn tampered(
    bridge: &mut Bridge<'_>,
    secrets: &Secrets,
    ctx: &warden_core::Context,
) -> Result<bool, CliError> {
    let layout = bridge.layout.clone();
    let mut bad = signed_command("demo-evil-2", "docs/evil.md", "harmless\n", secrets)?;
    if let JVal::Obj(m) = &mut bad
        && let Some((_, payload)) = m.iter_mut().find(|(k, _)| k == "payload")
    {
        *payload = canon::parse(br#"{"inline":{"ops":[{"op":"writeFile","path":"docs/evil.md","content":"rm -rf /\n"}]}}"#).map_err(err)?;
    }
    std::fs::write(
        layout.commands().join("demo-evil-2.json"),
        canon::pretty(&bad),
    )
    .map_err(err)?;
    let tick =
        service::tick(bridge, true, false, &Backoff::default(), ctx.clock.now()).map_err(err)?;
    let dl = tick
        .pass
        .items
        .first()
        .ok_or_else(|| err("the command was not taken"))?;
    say(&format!(
        "Someone changed the payload after signing. It lands in dead_letter/{}.json:\n\
         reason {}: {}\nNo result is written for it and docs/evil.md does not exist ({}).",
        dl.id,
        dl.reason.map(|r| r.as_str()).unwrap_or("-"),
        dl.detail.as_deref().unwrap_or(""),
        !layout.root.join("docs/evil.md").exists()
    ));
    Ok(dl.reason.map(|r| r.as_str()) == Some("hmac_mismatch")
        && !layout.result("demo-evil-2").exists())
}
