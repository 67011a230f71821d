//! `warden status`

use super::{open, recover_if_needed};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use warden_core::policy::IsolationLayer;

/// Changed and untracked paths according to git, or None when git fails
/// (the sync guardian's git layer and porcelain v2 parser).
fn dirty(root: &Path) -> Option<Vec<String>> {
    use warden_sync::git::GitBackend;
    let status = crate::env::git().status(root).ok()?;
    Some(
        status
            .entries
            .iter()
            .map(|e| e.path().to_string())
            .collect(),
    )
}

/// The bridge root serving `repo`: `CLOUD`, then the repository's own root,
/// whichever is a bridge root (it has `commands/`) whose target repository
/// (meta/bridge.json, else the repository holding the root) is `repo`.
fn bridge_for(repo: &warden_core::Repo) -> Option<warden_bridge::layout::Layout> {
    use warden_bridge::layout::{self, Layout};
    let here = repo.root().canonicalize().ok()?;
    let candidates = crate::env::bridge_root()
        .into_iter()
        .chain(std::iter::once(repo.root().to_path_buf()));
    for root in candidates {
        let l = Layout::new(&root).with_child_env(crate::env::child_env());
        if !l.commands().is_dir() {
            continue;
        }
        let start = layout::configured_target(&l).unwrap_or_else(|| root.clone());
        let target = warden_core::repo::discover(&start)
            .ok()
            .and_then(|t| t.canonicalize().ok());
        if target.as_deref() == Some(here.as_path()) {
            return Some(l);
        }
    }
    None
}

pub fn run(repo: Option<PathBuf>, fmt: Format) -> Result<ExitCode, CliError> {
    let repo = open(repo)?;
    recover_if_needed(&repo, &crate::env::context())?;
    let mut st = warden_core::status::status(&repo)?;
    st.dirty = dirty(repo.root());
    if let Some(l) = bridge_for(&repo) {
        let b = warden_bridge::service::backlog(&l);
        st.backlog.bridge_inbox = Some(b.pending_commands);
        st.backlog.bridge = Some(b);
    }
    // The kernel's answer is cached for this boot (`.warden/state/`), so
    // status does not start a probe process every time.
    let iso = warden_plugin::probe_cache::probe_isolation_cached(
        &crate::env::launcher(),
        &repo.layout.state_dir().join("isolation-probe.json"),
    );
    let level = iso.filesystem;
    st.sandbox = format!(
        "{} ({})",
        level.name(),
        match (level.enforced(), repo.policy.file.plugins.run_unsandboxed) {
            (true, _) => "Landlock: plugins cannot write the repository",
            (false, true) => "no kernel sandbox; the policy lets plugins run unsandboxed",
            (false, false) =>
                "no kernel sandbox; plugins are refused (plugins.run_unsandboxed: false)",
        }
    );
    let rules = &repo.policy.file.plugins;
    st.isolation = iso
        .layers()
        .into_iter()
        .map(|(layer, state)| warden_core::status::LayerState {
            layer,
            state: state.into(),
            enforced: iso.has(layer),
            required: !rules.run_unsandboxed
                && (layer == IsolationLayer::Filesystem
                    || rules.require_isolation.contains(&layer)),
        })
        .collect();
    // A layer the policy requires but this kernel lacks: plugins are refused.
    for l in st.isolation.iter().filter(|l| l.required && !l.enforced) {
        st.unhealthy.push(format!(
            "sandbox: the policy requires the {} layer for plugins, and this kernel does not enforce it",
            l.layer.name()
        ));
    }
    let code = output::ExitStatus::findings_if(!st.unhealthy.is_empty()).into();
    if fmt == Format::Json {
        output::json(&st)?;
        return Ok(code);
    }
    let brief = |b: &Option<warden_core::status::RunBrief>| {
        b.as_ref()
            .map_or("none".to_string(), |b| format!("{} at {}", b.run, b.time))
    };
    println!("repository      {}", st.root);
    println!(
        "policy          {} (sha256 {})",
        st.policy.version,
        st.policy.digest.short()
    );
    println!(
        "contract        {}",
        if st.contract_in_sync {
            "in sync"
        } else {
            "out of date: run `warden init` to re-render"
        }
    );
    println!("last success    {}", brief(&st.last_success));
    println!("last failure    {}", brief(&st.last_failure));
    println!("runs            {} ({} rolled back)", st.runs, st.failures);
    println!(
        "recovery        {}",
        if st.pending_recovery {
            "an interrupted run waits (the next writer recovers it)"
        } else {
            "nothing pending"
        }
    );
    println!("quarantine      {} file(s)", st.quarantine);
    println!(
        "lock            {}",
        st.lock_holder.as_deref().unwrap_or("free")
    );
    match &st.ledger.problem {
        None => println!("ledger          ok ({} entries)", st.ledger.entries),
        Some(p) => println!(
            "ledger          BROKEN: {} entry {}: {}",
            p.file, p.line, p.message
        ),
    }
    println!("sandbox         {}", st.sandbox);
    for l in &st.isolation {
        println!(
            "  {:<13} {}{}",
            l.layer.name(),
            l.state,
            match (l.required, l.enforced) {
                (true, true) => " (required)",
                (true, false) => " (required: plugins are refused)",
                _ => "",
            }
        );
    }
    match &st.backlog.bridge {
        None => println!(
            "backlog         {} pending proposal(s); bridge inbox: not configured",
            st.backlog.pending_proposals
        ),
        Some(b) => {
            println!(
                "backlog         {} pending proposal(s); bridge inbox: {} command(s)",
                st.backlog.pending_proposals, b.pending_commands
            );
            println!("bridge          {} ({})", b.root, b.executor);
            let total: u64 = b.dead_letters.values().sum();
            let by: Vec<String> = b
                .dead_letters
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            println!(
                "  dead letters  {total}{}",
                if by.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", by.join(", "))
                }
            );
            println!(
                "  retries       {} pending{}",
                b.retries_pending,
                if b.retries_gave_up {
                    " (gave up; run `warden bridge run --once` to retry)"
                } else {
                    ""
                }
            );
            let p = b.last_publish.as_ref();
            println!(
                "  last publish  {}",
                super::bridge::publish_summary(p.map(|p| (
                    p.time.as_str(),
                    p.ok,
                    p.commits,
                    p.error.as_deref()
                )))
            );
        }
    }
    match &st.dirty {
        None => println!("working tree    unknown (git status failed)"),
        Some(d) if d.is_empty() => println!("working tree    clean"),
        Some(d) => println!("working tree    {} changed or untracked path(s)", d.len()),
    }
    if st.unhealthy.is_empty() {
        println!("health          ok");
    } else {
        for why in &st.unhealthy {
            println!("health          UNHEALTHY: {why}");
        }
    }
    Ok(code)
}
