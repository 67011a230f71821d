//! `warden status`

use super::{open, recover_if_needed};
use crate::output::Format;
use crate::output::{self, CliError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use warden_core::policy::IsolationLayer;

/// Changed and untracked paths according to git, or None when git fails
/// (the core's git layer and its porcelain v2 parser).
fn dirty(root: &Path) -> Option<Vec<String>> {
    let status = crate::env::git().at(root).status(&[]).ok()?;
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
    output::emit(&st, fmt)?;
    Ok(code)
}
