//! End-to-end throughput of signed no-op commands: verify (JSON, HMAC,
//! schema, time), apply as a warden run (a recorded ledger entry), write every
//! output durably (result, integrity, diff, archive, audit line) and remove
//! the command — no publish.
//!
//! Two executors over the same pipeline and the same inbox:
//! - **group commit** (the default): a batch's outputs written without
//!   per-file fsyncs, one ledger fsync for the batch (`record_many`), one
//!   `syncfs`, then the commands are removed; plus the fsynced batch marker.
//! - **baseline** (the original executor): every output written, fsynced and
//!   renamed on its own with its directory fsynced, one ledger fsync per
//!   command, the audit line fsynced, the command's removal fsynced.
//!
//! `cargo bench -p warden-bridge --bench bridge [-- COMMANDS [DIR]]`
//! (defaults: 1000 commands, temp dirs under the system temp dir).
//!
//! `cargo bench -p warden-bridge --bench bridge -- publish [DIR]` (issue 11):
//! group commit **with publish** (one commit per command, pushed to a local
//! bare remote) against the baseline executor **without** publish, at 200 and
//! 2,000 commands, side by side in each round. Each round also measures the
//! **floor** of publishing that layout (since warden writes the pass's pack
//! itself, the part of it no writer can avoid is the push: "executor + push
//! alone"): the same commits (`git fast-export`
//! of what publish made: one commit per command adding its result, archive
//! and diff files to the flat `results/`, `archive/`, `diffs/`) imported by
//! a plain `git fast-import` into a fresh repository and pushed to a fresh
//! bare remote, with git's defaults and with the knobs in
//! `WARDEN_BENCH_FLOOR_KNOBS` (`;`-separated variants of space-separated
//! `-c` settings or fast-import flags, e.g. `--depth=250;-c pack.window=0`).
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::time::Instant;
use warden_bridge::layout::{self, Layout};
use warden_bridge::new;
use warden_bridge::outputs::Durability;
use warden_bridge::pipeline::{Bridge, Options};
use warden_bridge::sign::Secrets;
use warden_core::{Context, Repo};

const SECRET: &str = "bench-secret";

fn setup(parent: Option<&Path>, n: usize) -> tempfile::TempDir {
    let dir = match parent {
        Some(p) => tempfile::tempdir_in(p),
        None => tempfile::tempdir(),
    }
    .expect("tempdir");
    let root = dir.path();
    let ok = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(root)
        .status()
        .expect("git")
        .success();
    assert!(ok, "git init");
    let ctx = Context::system("bench", "bench");
    warden_core::repo::init(root, &ctx).expect("warden init");
    layout::init(&Layout::new(root), None).expect("bridge init");
    let secrets = Secrets::new(SECRET, None);
    let now = jiff::Timestamp::now();
    for i in 0..n {
        // The bridge's own builder (`warden bridge new noop`).
        let cmd = new::Draft::new(new::Ops::Noop)
            .id(format!("noop-{i:06}"))
            .ttl_secs(3600);
        let built = new::build(&cmd, &secrets, now).expect("build");
        std::fs::write(
            root.join("commands").join(format!("{}.json", built.id)),
            built.text,
        )
        .expect("write");
    }
    dir
}

fn measure(
    parent: Option<&Path>,
    n: usize,
    durability: Durability,
    keep: &mut Vec<tempfile::TempDir>,
) -> (f64, f64) {
    let dir = setup(parent, n);
    let ctx = Context::system("bench", "bench");
    let secrets = Secrets::new(SECRET, None);
    let repo = Repo::open(dir.path()).expect("open");
    let opts = Options {
        settle_ms: 0,
        durability,
        ..Options::default()
    };
    let started = Instant::now();
    let mut bridge =
        Bridge::new(Layout::new(dir.path()), &repo, &ctx, &secrets, opts).expect("bridge");
    let report = bridge.run_once().expect("run");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        report
            .items
            .iter()
            .filter(|i| i.outcome == warden_bridge::pipeline::ItemOutcome::Archived)
            .count(),
        n,
        "every command must be archived"
    );
    // Removed only after the last round: on ext4 without a journal, inode
    // allocation slows down behind recently freed inodes, so deleting one
    // round's thousands of files would tax the next round's executor.
    keep.push(dir);
    (n as f64 / secs, report.flushes as f64 / n as f64)
}

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args(["-c", "user.name=b", "-c", "user.email=b@b"])
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git")
        .success();
    assert!(ok, "git {args:?}");
}

fn git_timed(dir: &Path, pre: &[String], args: &[&str], stdin: Option<&Path>) -> f64 {
    let mut cmd = std::process::Command::new("git");
    cmd.args(pre).args(args).current_dir(dir);
    if let Some(f) = stdin {
        cmd.stdin(std::fs::File::open(f).expect("stream"));
    }
    let started = Instant::now();
    let ok = cmd.status().expect("git").success();
    assert!(ok, "git {pre:?} {args:?}");
    started.elapsed().as_secs_f64()
}

/// The floor of publishing `root`'s history in this layout: seconds of a
/// plain `fast-import` of it (exported once, untimed) into a fresh
/// repository, and of the push of the result to a fresh bare remote, for
/// each variant of knobs (`""`: git's defaults). Fast-import flags
/// (`--…`) go to fast-import, `-c` settings to both.
fn floor(root: &Path, variants: &[String]) -> Vec<(f64, f64)> {
    let base = root.join("..").join(format!(
        "{}-floor",
        root.file_name().and_then(|s| s.to_str()).unwrap_or("r")
    ));
    std::fs::create_dir_all(&base).expect("mkdir");
    let stream = base.join("stream");
    let out = std::process::Command::new("git")
        .args(["fast-export", "--signed-tags=strip", "HEAD"])
        .current_dir(root)
        .output()
        .expect("fast-export");
    assert!(out.status.success(), "fast-export");
    std::fs::write(&stream, out.stdout).expect("stream");
    let mut times = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        let words: Vec<String> = v.split_whitespace().map(String::from).collect();
        let mut conf = Vec::new();
        let mut flags = Vec::new();
        let mut it = words.iter();
        while let Some(w) = it.next() {
            if w == "-c" {
                conf.push(w.clone());
                conf.extend(it.next().cloned());
            } else {
                flags.push(w.as_str());
            }
        }
        let repo = base.join(format!("v{i}"));
        let remote = base.join(format!("v{i}.git"));
        git(&base, &["init", "-q", repo.to_str().expect("utf-8")]);
        git(
            &base,
            &["init", "-q", "--bare", remote.to_str().expect("utf-8")],
        );
        let mut import = vec!["fast-import", "--quiet"];
        import.extend(flags);
        let imported = git_timed(&repo, &conf, &import, Some(&stream));
        let pushed = git_timed(
            &repo,
            &conf,
            &[
                "push",
                "-q",
                remote.to_str().expect("utf-8"),
                "HEAD:refs/heads/main",
            ],
            None,
        );
        times.push((imported, pushed));
    }
    let _ = std::fs::remove_dir_all(&base);
    times
}

fn floor_variants() -> Vec<String> {
    let mut v = vec![String::new()];
    if let Ok(k) = std::env::var("WARDEN_BENCH_FLOOR_KNOBS") {
        v.extend(
            k.split(';')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        );
    }
    v
}

/// Commands per second of the group executor plus one publish of the pass
/// (commit per command, push to a bare remote), and the floor (see
/// [`floor`]) of the same commits: (cmd/s, executor s, floor per variant).
fn measure_publish(
    parent: Option<&Path>,
    n: usize,
    keep: &mut Vec<tempfile::TempDir>,
) -> (f64, f64, Vec<(f64, f64)>) {
    let dir = setup(parent, n);
    let root = dir.path();
    let remote = root.join("..").join(format!(
        "{}-remote.git",
        root.file_name().and_then(|s| s.to_str()).unwrap_or("r")
    ));
    git(
        root,
        &["init", "-q", "--bare", remote.to_str().expect("utf-8")],
    );
    // The inbox is not committed (the bridge's .gitignore and hook say so).
    git(root, &["add", "-A", "--", ".", ":(exclude)commands/*.json"]);
    git(root, &["commit", "-qm", "init"]);
    git(
        root,
        &["remote", "add", "origin", remote.to_str().expect("utf-8")],
    );
    git(root, &["push", "-q", "-u", "origin", "HEAD"]);
    let ctx = Context::system("bench", "bench");
    let secrets = Secrets::new(SECRET, None);
    let repo = Repo::open(root).expect("open");
    let opts = Options {
        settle_ms: 0,
        durability: Durability::Group,
        ..Options::default()
    };
    let path = std::env::var_os("PATH").unwrap_or_default();
    let layout = Layout::new(root).with_child_env(vec![("PATH".into(), path)]);
    let started = Instant::now();
    let mut bridge = Bridge::new(layout.clone(), &repo, &ctx, &secrets, opts).expect("bridge");
    let report = bridge.run_once().expect("run");
    let executed = started.elapsed().as_secs_f64();
    let published =
        warden_bridge::publish::publish(&layout, &Default::default(), Some(root)).expect("publish");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "  n={n}: executor {executed:.2} s, publish {:.2} s",
        secs - executed
    );
    assert_eq!(report.items.len(), n);
    assert!(published.pushed, "{published:?}");
    assert_eq!(published.commits.len(), n, "one commit per command");
    let _ = std::fs::remove_dir_all(&remote);
    let floors = floor(root, &floor_variants());
    keep.push(dir);
    (n as f64 / secs, executed, floors)
}

fn publish_main(parent: Option<&Path>) {
    println!("signed no-op commands: group commit WITH publish vs baseline WITHOUT publish");
    let mut keep = Vec::new();
    let mut per_cmd = Vec::new();
    let sizes: Vec<usize> = std::env::var("WARDEN_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![200, 2000]);
    for n in sizes {
        let mut ratios = Vec::new();
        let mut rates = Vec::new();
        for round in 1..=3 {
            let (p, executed, floors) = measure_publish(parent, n, &mut keep);
            let b = measure(parent, n, Durability::PerFile, &mut keep);
            println!(
                "n={n} round {round}: with publish {p:>7.0} cmd/s | baseline without publish {:>7.0} cmd/s | ratio {:.2}x",
                b.0,
                p / b.0
            );
            for (v, (imported, pushed)) in floor_variants().iter().zip(&floors) {
                let git_only = n as f64 / (imported + pushed);
                let with_exec = n as f64 / (executed + imported + pushed);
                let push_only = n as f64 / (executed + pushed);
                println!(
                    "  floor [{}]: fast-import {imported:.2} s, push {pushed:.2} s | git alone {git_only:>7.0} cmd/s ({:.2}x baseline) | executor + git {with_exec:>7.0} cmd/s ({:.2}x baseline) | executor + push alone {push_only:>7.0} cmd/s ({:.2}x baseline)",
                    if v.is_empty() { "defaults" } else { v },
                    git_only / b.0,
                    with_exec / b.0,
                    push_only / b.0
                );
            }
            ratios.push(p / b.0);
            rates.push(p);
        }
        ratios.sort_by(f64::total_cmp);
        rates.sort_by(f64::total_cmp);
        println!(
            "n={n} median: with publish {:.0} cmd/s ({:.3} ms/cmd), ratio {:.2}x",
            rates[1],
            1000.0 / rates[1],
            ratios[1]
        );
        per_cmd.push(1000.0 / rates[1]);
    }
    if let [a, .., b] = per_cmd.as_slice() {
        println!(
            "per-command cost with publish, largest n / smallest n: {:.2}x",
            b / a
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("publish") {
        return publish_main(args.get(1).map(Path::new));
    }
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let parent = args.get(1).map(Path::new);
    println!("signed no-op commands end to end, {n} per round, no publish");
    let mut group = Vec::new();
    let mut base = Vec::new();
    let mut keep = Vec::new();
    for round in 1..=3 {
        let g = measure(parent, n, Durability::Group, &mut keep);
        let b = measure(parent, n, Durability::PerFile, &mut keep);
        println!(
            "round {round}: group commit {:>8.0} cmd/s ({:.3} flushes/cmd) | baseline {:>7.0} cmd/s ({:.2} flushes/cmd) | ratio {:.1}x",
            g.0,
            g.1,
            b.0,
            b.1,
            g.0 / b.0
        );
        group.push(g);
        base.push(b);
    }
    let med = |v: &mut Vec<(f64, f64)>| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v[v.len() / 2]
    };
    let (g, b) = (med(&mut group), med(&mut base));
    println!(
        "median: group commit {:.0} cmd/s, {:.3} flushes/cmd; baseline {:.0} cmd/s, {:.2} flushes/cmd; ratio {:.1}x",
        g.0,
        g.1,
        b.0,
        b.1,
        g.0 / b.0
    );
}
