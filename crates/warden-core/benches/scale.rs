//! Benchmark helper for issue 11 ("scale"): give a warden repository a ledger
//! of N valid entries, written directly (a chain of realistic entries with
//! correct `seq`/`prev` links, plus this clone's heads), so the everyday
//! commands can be timed on a long history. Not a user command.
//!
//! Run: `cargo bench -p warden-core --bench scale -- seed REPO N`
//! (REPO must already be `warden init`ed with an empty ledger). `bench/scale.sh`
//! uses it to compare `status`, `runs` and `apply` at 100 and 1,000,000 entries.
//!
//! The baselines of `bench/big-files.sh`, each one process doing what a
//! careful tool does without warden:
//! - `durable-copy SRC DEST`: stream SRC into a temp file beside DEST, fsync,
//!   rename, fsync the directory;
//! - `durable-tree DIR N`: N small files the same way, one directory fsync;
//! - `bare-once DIR`: one 1-file run's flushes (journal append + fdatasync,
//!   write + fsync + rename, directory fsync, ledger append + fdatasync).
// Benchmarks drive real clocks and read their own arguments directly.
#![allow(clippy::disallowed_methods)]

use std::io::Write;
use std::path::Path;
use warden_core::Repo;
use warden_core::digest::Digest;
use warden_core::heads::{self, Head, Heads};
use warden_core::ledger::{self, RunResult};

mod common;
use common::template;

fn seed(root: &Path, n: u64) {
    let repo = Repo::open(root).expect("open the repository (run `warden init` first)");
    let l = repo.ledger();
    let path = l.chain_path(&repo.writer);
    assert!(
        std::fs::metadata(&path).map_or(true, |m| m.len() == 0),
        "{} already has entries",
        path.display()
    );
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    let mut out = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(&path).expect("create chain"),
    );
    let mut prev = ledger::genesis(&repo.writer);
    let mut e = template(&repo.writer);
    // Run ids are ULIDs one second apart, ending a day before now.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let start = now - 86_400_000 - n * 1000;
    let mut offset = 0u64;
    for i in 0..n {
        e.seq = i + 1;
        e.prev = prev;
        e.run = ulid::Ulid::from_parts(start + i * 1000, u128::from(i)).to_string();
        e.time = jiff::Timestamp::from_millisecond((start + i * 1000) as i64)
            .expect("time")
            .to_string();
        e.result = if i % 50 == 7 {
            RunResult::RolledBack
        } else {
            RunResult::Applied
        };
        e.reason = (e.result == RunResult::RolledBack).then(|| "validation failed".to_string());
        let line = serde_json::to_vec(&e).expect("json");
        prev = Digest::of(&line);
        out.write_all(&line).expect("write");
        out.write_all(b"\n").expect("write");
        offset += line.len() as u64 + 1;
    }
    out.flush().expect("flush");
    let mut h = Heads::new();
    h.chains.insert(
        repo.writer.clone(),
        Head {
            seq: n,
            hash: prev,
            offset: Some(offset),
        },
    );
    heads::write_replacing(&repo.layout.heads(), &h).expect("heads");
    println!("{}: {n} entries, {offset} bytes", path.display());
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.as_slice() {
        [cmd, root, n] if cmd == "seed" => seed(Path::new(root), n.parse().expect("N")),
        [cmd, src, dest] if cmd == "durable-copy" => durable_copy(Path::new(src), Path::new(dest)),
        [cmd, dir, n] if cmd == "durable-tree" => {
            durable_tree(Path::new(dir), n.parse().expect("N"))
        }
        [cmd, dir] if cmd == "bare-once" => bare_once(Path::new(dir)),
        _ => eprintln!(
            "usage: cargo bench -p warden-core --bench scale -- seed REPO N | durable-copy SRC DEST | durable-tree DIR N | bare-once DIR"
        ),
    }
}

fn sync_dir(d: &Path) {
    std::fs::File::open(d)
        .expect("dir")
        .sync_all()
        .expect("fsync dir");
}

fn durable_copy(src: &Path, dest: &Path) {
    let tmp = dest.with_extension("tmp");
    let mut from = std::fs::File::open(src).expect("open");
    let mut to = std::fs::File::create(&tmp).expect("create");
    std::io::copy(&mut from, &mut to).expect("copy");
    to.sync_all().expect("fsync");
    std::fs::rename(&tmp, dest).expect("rename");
    sync_dir(dest.parent().expect("parent"));
}

fn durable_tree(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for i in 0..n {
        let tmp = dir.join(format!(".f{i}.tmp"));
        let mut f = std::fs::File::create(&tmp).expect("create");
        f.write_all(format!("file {i}\n").as_bytes())
            .expect("write");
        f.sync_all().expect("fsync");
        std::fs::rename(&tmp, dir.join(format!("f{i}.txt"))).expect("rename");
    }
    sync_dir(dir);
}

fn bare_once(dir: &Path) {
    let append = |name: &str, line: &str| {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(name))
            .expect("open");
        f.write_all(line.as_bytes()).expect("write");
        f.sync_data().expect("fdatasync");
    };
    let d = dir.join("d");
    std::fs::create_dir_all(&d).expect("mkdir");
    append("journal", "intent\n");
    let n = std::fs::read_dir(&d).map(|r| r.count()).unwrap_or(0);
    let tmp = d.join(".f.tmp");
    let mut f = std::fs::File::create(&tmp).expect("create");
    f.write_all(b"x\n").expect("write");
    f.sync_all().expect("fsync");
    std::fs::rename(&tmp, d.join(format!("f{n}.md"))).expect("rename");
    sync_dir(&d);
    append("ledger", "entry\n");
}
