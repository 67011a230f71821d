//! Throughput benchmarks of the transaction engine and the ledger, each next to
//! the raw baseline it is judged against, measured in the same process.
//!
//! Run: `cargo bench -p warden-core --bench core` (results: docs/benchmarks.md).
//! Optional argument: a directory for the temp repositories (default: the
//! system temp dir; fsync cost depends on that filesystem).
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use warden_core::digest::Digest;
use warden_core::ledger;
use warden_core::proposal::Proposal;
use warden_core::{Context, Repo};

mod common;

fn tempdir(base: &Option<String>) -> tempfile::TempDir {
    match base {
        Some(b) => tempfile::tempdir_in(b).expect("tempdir"),
        None => tempfile::tempdir().expect("tempdir"),
    }
}

fn repo(base: &Option<String>) -> (tempfile::TempDir, Context) {
    let dir = tempdir(base);
    std::fs::create_dir(dir.path().join(".git")).expect(".git");
    let ctx = Context::fixed(1_800_000_000);
    warden_core::repo::init(dir.path(), &ctx).expect("init");
    (dir, ctx)
}

/// Runs per second of warden applying `files`-file proposals, each a full run.
fn warden_apply(base: &Option<String>, files: usize, runs: usize) -> f64 {
    let (dir, ctx) = repo(base);
    let repo = Repo::open(dir.path()).expect("open");
    let mut s = repo.session(&ctx, false, &mut |_| {}).expect("session");
    let mut current: Vec<String> = (0..files).map(|_| String::new()).collect();
    let mut total = Duration::ZERO;
    for r in 0..runs {
        let actions: Vec<_> = (0..files)
            .map(|i| {
                let content = format!("run {r} file {i}\n");
                let expect = if r == 0 { json!("absent") } else { json!({"sha256": Digest::of(current[i].as_bytes()).hex()}) };
                json!({"kind": "write_file", "path": format!("d/f{i}.txt"), "content": content, "expect": expect})
            })
            .collect();
        let doc = json!({"schema": "warden.proposal/v1", "source": {"kind": "person", "id": "bench"}, "event": "Manual", "actions": actions});
        let start = Instant::now();
        let (p, d) = Proposal::from_value(&doc, "bench.json").expect("proposal");
        let plan = s.plan(&p, d, "bench.json").expect("plan");
        s.apply(&plan).expect("apply");
        total += start.elapsed();
        for (i, c) in current.iter_mut().enumerate() {
            *c = format!("run {r} file {i}\n");
        }
    }
    runs as f64 / total.as_secs_f64()
}

/// Runs per second of a bare loop doing, per run, the same number of fsyncs as
/// warden: per file write+fsync+rename, one directory fsync, and two more
/// fsyncs (warden's journal and ledger appends).
fn bare_loop(base: &Option<String>, files: usize, runs: usize) -> f64 {
    let dir = tempdir(base);
    let d = dir.path().join("d");
    std::fs::create_dir(&d).expect("mkdir");
    let mut journal = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("journal"))
        .expect("j");
    let mut ledger = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("ledger"))
        .expect("l");
    let start = Instant::now();
    for r in 0..runs {
        journal
            .write_all(format!("intent {r}\n").as_bytes())
            .expect("w");
        journal.sync_data().expect("fsync");
        for i in 0..files {
            let tmp = d.join(format!(".f{i}.tmp"));
            let mut f = std::fs::File::create(&tmp).expect("create");
            f.write_all(format!("run {r} file {i}\n").as_bytes())
                .expect("w");
            f.sync_all().expect("fsync");
            std::fs::rename(&tmp, d.join(format!("f{i}.txt"))).expect("rename");
        }
        std::fs::File::open(&d)
            .expect("dir")
            .sync_all()
            .expect("fsync dir");
        ledger
            .write_all(format!("entry {r}\n").as_bytes())
            .expect("w");
        ledger.sync_data().expect("fsync");
    }
    runs as f64 / start.elapsed().as_secs_f64()
}

/// A chain of `n` realistic entries, as the bytes of a chain file.
fn chain(writer: &str, n: usize) -> Vec<u8> {
    let mut template = common::template(writer);
    template.run = "01KB000000000000000000000".into();
    template.time = "2026-11-21T12:00:00Z".into();

    let mut out = Vec::with_capacity(n * 700);
    let mut prev = ledger::genesis(writer);
    for i in 0..n {
        let mut e = template.clone();
        e.seq = i as u64 + 1;
        e.prev = prev;
        e.run = format!("01KB{:022}", i);
        let line = serde_json::to_vec(&e).expect("json");
        prev = Digest::of(&line);
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
    out
}

fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..n {
        let start = Instant::now();
        let v = f();
        best = best.min(start.elapsed());
        last = Some(v);
    }
    (best, last.expect("ran"))
}

fn main() {
    // Arguments: an optional directory for the temp repositories, and optional
    // section names (`apply`, `verify`) to run only those.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let sections: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| matches!(*a, "apply" | "verify"))
        .collect();
    let want = |s: &str| sections.is_empty() || sections.contains(&s);
    let base = args
        .iter()
        .find(|a| !matches!(a.as_str(), "apply" | "verify"))
        .cloned();
    let where_ = base
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().display().to_string());
    println!("# warden-core benchmarks (temp repositories under {where_})\n");

    if want("apply") {
        println!("## Apply throughput (runs/s; higher is better)\n");
        println!("| proposal | warden apply | bare write+fsync+rename loop, same fsyncs | ratio |");
        println!("|---|---|---|---|");
        for (files, runs) in [(1usize, 400usize), (100, 30)] {
            let w = warden_apply(&base, files, runs);
            let b = bare_loop(&base, files, runs);
            println!("| {files} file(s) | {w:.1} | {b:.1} | {:.2} |", w / b);
        }
    }
    if !want("verify") {
        return;
    }

    println!("\n## Ledger verify, 1,000,000 entries, one core\n");
    let writer = "bench-writer";
    let n = 1_000_000;
    let bytes = chain(writer, n);
    let mib = bytes.len() as f64 / (1024.0 * 1024.0);
    let (t_verify, (report, problem)) = best_of(3, || ledger::verify_chain(writer, &bytes, None));
    assert!(problem.is_none(), "{problem:?}");
    assert_eq!(report.entries, n as u64);
    let (t_hash, _) = best_of(3, || {
        let mut acc = 0u8;
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            acc ^= Digest::of(line).0[0];
        }
        acc
    });
    // The full command path: read the chain file from disk and verify it.
    let dir = tempdir(&base);
    let ldir = dir.path().join(".ledger/runs");
    std::fs::create_dir_all(&ldir).expect("mkdir");
    std::fs::write(ldir.join(format!("{writer}.jsonl")), &bytes).expect("write");
    let l = ledger::Ledger::new(dir.path(), ldir, dir.path().join("heads.json"));
    let (t_disk, r) = best_of(3, || l.verify().expect("verify"));
    assert!(r.ok);
    println!("| what | time | entries/s | MiB/s |");
    println!("|---|---|---|---|");
    let row = |what: &str, t: Duration| {
        println!(
            "| {what} | {:.3} s | {:.0} | {:.0} |",
            t.as_secs_f64(),
            n as f64 / t.as_secs_f64(),
            mib / t.as_secs_f64()
        );
    };
    row("verify_chain (in memory)", t_verify);
    row("Ledger::verify (from disk)", t_disk);
    row("raw sha256 over the same lines", t_hash);
    println!(
        "\n{n} entries, {mib:.1} MiB, {:.0} bytes per entry",
        bytes.len() as f64 / n as f64
    );
    let _ = Path::new(".");
}
