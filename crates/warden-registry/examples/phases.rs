//! Where a `maintain --auto --no-llm --dry-run` spends its time, phase by
//! phase (a profiling aid for bench/registry.sh). Usage: phases REPO BASE
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]
use std::time::Instant;
use warden_core::git::Git;
use warden_registry::maintain::{self, Checker, Options};

fn main() {
    let mut args = std::env::args().skip(1);
    let root = std::path::PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let base = args.next().unwrap_or_else(|| "HEAD".into());
    let env: Vec<_> = std::env::vars_os().collect();
    let g = Git::new(&root).with_base_env(env);
    let mut opts = Options::new("2026-11-29");
    opts.since = Some(base);
    let t = Instant::now();
    let reg = warden_registry::registry::Registry::load(&root).expect("load");
    println!(
        "load              {:>6.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let c =
        warden_registry::collect::collect(&reg, &g, opts.since.as_deref(), None).expect("collect");
    println!(
        "collect           {:>6.1} ms ({} patches)",
        t.elapsed().as_secs_f64() * 1e3,
        c.patches.len()
    );
    let t = Instant::now();
    let prepared = maintain::prepare(&root, &g, &opts, None, None, vec![]).expect("prepare");
    println!(
        "prepare (both)    {:>6.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let checker = Checker::new(&root, &g, &prepared.standard, &opts);
    let t = Instant::now();
    let decided = maintain::decide_auto(&prepared, &checker, &mut |_| {});
    println!(
        "decide            {:>6.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let writes = decided.staged.writes("2026-11-29").expect("writes");
    println!(
        "render            {:>6.1} ms ({} files)",
        t.elapsed().as_secs_f64() * 1e3,
        writes.len()
    );
    let t = Instant::now();
    let staged = decided.staged.staged_with(&writes).expect("staged");
    println!(
        "re-parse          {:>6.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let v = warden_registry::validate::errors_only(&staged);
    println!(
        "validate          {:>6.1} ms ok={}",
        t.elapsed().as_secs_f64() * 1e3,
        v.ok
    );
}
