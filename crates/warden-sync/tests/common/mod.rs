//! What the sync test files share: a reconcile with the default policy,
//! the default sync config and no plugins.

use std::path::Path;
use warden_sync::audit::{FetchMode, Ungated};
use warden_sync::config::SyncConfig;
use warden_sync::git::{Git, Signature};
use warden_sync::reconcile::{self, ReconcileOptions, ReconcileReport};

/// A reconcile of the checked-out branch without fetching, with a fixed run
/// id, date and signature.
pub fn reconcile_options(dry_run: bool) -> ReconcileOptions {
    ReconcileOptions {
        fetch: FetchMode::Skip,
        fetch_timeout: std::time::Duration::from_secs(60),
        run: "01KTESTRUN000000000000000".into(),
        date: "20260101".into(),
        signature: Signature {
            name: "warden".into(),
            email: "warden@localhost".into(),
            date: "2026-01-02T00:00:00Z".into(),
        },
        dry_run,
        branch: None,
    }
}

/// Reconcile `dir` under the policy `warden init` writes (it allows
/// reconcile's branches), the default sync config, no plugins and
/// unsandboxed generators.
pub fn reconcile(
    git: &Git,
    dir: &Path,
    opts: &ReconcileOptions,
) -> warden_core::Result<ReconcileReport> {
    let policy = warden_core::policy::Policy::parse(
        &warden_core::policy::default_policy_text("1", "test"),
        "policy.yaml",
    )
    .expect("policy");
    reconcile::reconcile(
        git,
        dir,
        &SyncConfig::defaults(),
        opts,
        &Ungated,
        &mut reconcile::Hooks {
            policy: &policy,
            merge_conflict: &mut warden_sync::hooks::NoPlugins,
            generators: &warden_sync::hooks::Unsandboxed,
        },
    )
}
