//! `warden bridge smoke`: drop a signed no-op and confirm, within a timeout,
//! that it was archived, answered with a result and a diff, and published in
//! exactly one commit. With no executor running, the smoke test is the
//! executor for one pass; with one running, it waits for it.

use crate::layout::Layout;
use crate::new;
use crate::pipeline::{Bridge, Options};
use crate::publish::{Backoff, Git};
use crate::report::SmokeReport;
use crate::service::{self, Holder, InstanceError, TargetError};
use crate::sign::Secrets;
use std::path::Path;
use std::time::{Duration, Instant};
use warden_core::Context;

/// A smoke test's report and what it has to say on the side (stderr).
#[derive(Debug)]
pub struct Smoke {
    pub report: SmokeReport,
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SmokeError {
    #[error("bridge smoke: {0}")]
    Io(#[from] std::io::Error),
    #[error("bridge smoke: {0}")]
    New(#[from] new::NewError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Instance(#[from] InstanceError),
}

/// Run the smoke test against the bridge root of `layout` (`repo`: the
/// caller's `--repo`, see [`service::open_target`]).
pub fn smoke(
    layout: &Layout,
    repo: Option<&Path>,
    ctx: &Context,
    secrets: &Secrets,
    holder: &Holder,
    timeout: Duration,
) -> Result<Smoke, SmokeError> {
    let mut notes = Vec::new();
    let built = new::build(&new::Draft::new(new::Ops::Noop), secrets, ctx.clock.now())?;
    new::drop_into(layout, &built)?;
    let id = built.id;
    let started = Instant::now();
    match service::instance_lock(layout, holder) {
        // No executor running: be one, for one pass.
        Ok(lock) => {
            let target = service::open_target(layout, repo)?;
            let opts = Options {
                settle_ms: 0,
                ..Options::default()
            };
            let mut bridge = Bridge::new(layout.clone(), &target, ctx, secrets, opts)?;
            let tick = service::tick(
                &mut bridge,
                true,
                true,
                &Backoff::default(),
                ctx.clock.now(),
            )?;
            if let Some(e) = tick.publish_error {
                notes.push(format!("publish failed: {e}"));
            }
            drop(lock);
        }
        Err(InstanceError::Busy { .. }) => {
            notes.push("an executor is running; waiting for it".into());
        }
        Err(e) => return Err(e.into()),
    }
    let mut checks: Vec<(String, bool)>;
    loop {
        checks = checks_of(layout, &id);
        if checks.iter().all(|(_, ok)| *ok) || started.elapsed() > timeout {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut report = SmokeReport::new(id, started.elapsed().as_secs_f64(), &checks);
    report.limit_secs = timeout.as_secs();
    Ok(Smoke { report, notes })
}

/// What the smoke test checks once its no-op command `id` went through:
/// archived, a result and a diff written, exactly one result commit, no
/// retry pending. Each check with whether it holds now.
pub fn checks_of(layout: &Layout, id: &str) -> Vec<(String, bool)> {
    let subject = format!("bridge: results {id} (exit=0)");
    let commits = Git::open(&layout.root, &layout.child_env)
        .and_then(|g| g.subjects(200))
        .map(|s| s.iter().filter(|l| **l == subject).count())
        .unwrap_or(0);
    vec![
        (format!("archive/{id}.json"), layout.archive(id).is_file()),
        (format!("results/{id}.json"), layout.result(id).is_file()),
        (format!("diffs/{id}.patch"), layout.diff(id).is_file()),
        (format!("one commit \"{subject}\""), commits == 1),
        (
            "no commands/.retries.json".to_string(),
            !layout.commands().join(".retries.json").exists(),
        ),
    ]
}
