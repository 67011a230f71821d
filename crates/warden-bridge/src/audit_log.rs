//! The audit log `logs/bridge.log`: one JSON line per command, in the order
//! the commands were processed, and its sealed segments under `logs/bridge/`.
//!
//! The log rotates so that no commit carries an ever-growing file: when
//! appending a line would take `logs/bridge.log` past [`ROTATE_BYTES`], the
//! file is first renamed to `logs/bridge/<seq>-<first ts>.log` (a sealed
//! segment, never written again) and the line starts a new `bridge.log`.
//! Rotation depends only on the file's size and the line, so it is
//! deterministic: the same lines always make the same segments.
//!
//! `<seq>` is six digits, one more than the highest segment already there, so
//! the names sort in the order the segments were sealed; `<first ts>` is the
//! timestamp of the segment's first line with its punctuation dropped
//! (`20261129T141729123Z`), so that bridges on two clones sealing their
//! segment number 7 still name two different files. Every line ever written:
//! `cat logs/bridge/*.log logs/bridge.log`; one id's lines:
//! `grep -h ID logs/bridge.log logs/bridge/*.log`.

use crate::layout::Layout;
use crate::outputs::Writer;
use std::path::{Path, PathBuf};

/// The size `logs/bridge.log` never grows past by an append (a single line
/// longer than this still goes into a file of its own).
pub const ROTATE_BYTES: u64 = 64 * 1024;

/// The directory of sealed segments, relative to the bridge root.
pub const SEGMENT_DIR: &str = "logs/bridge";

/// The sealed segments' directory of `layout`.
pub fn segment_dir(layout: &Layout) -> PathBuf {
    layout.root.join(SEGMENT_DIR)
}

/// The sequence number of a segment's file name (`000007-….log` → 7).
pub fn segment_seq(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".log")?;
    let digits = stem.split(['-', '.']).next()?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The sealed segments, oldest first (by sequence number, then name).
pub fn segments(layout: &Layout) -> std::io::Result<Vec<PathBuf>> {
    let dir = segment_dir(layout);
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found: Vec<(u64, String)> = Vec::new();
    for e in rd {
        let name = e?.file_name().to_string_lossy().into_owned();
        if let Some(seq) = segment_seq(&name) {
            found.push((seq, name));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, n)| dir.join(n)).collect())
}

/// Every line of the log, oldest first: the sealed segments, then
/// `logs/bridge.log`.
pub fn read_all(layout: &Layout) -> std::io::Result<Vec<u8>> {
    let mut all = Vec::new();
    for seg in segments(layout)? {
        all.extend(std::fs::read(seg)?);
    }
    match std::fs::read(layout.log()) {
        Ok(b) => all.extend(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(all)
}

/// The file name a segment whose first line is `first` gets, as segment
/// number `seq`.
pub fn segment_name(seq: u64, first: &[u8]) -> String {
    let ts: String = serde_json::from_slice::<serde_json::Value>(first)
        .ok()
        .and_then(|v| v["ts"].as_str().map(compact_ts))
        .unwrap_or_default();
    if ts.is_empty() {
        format!("{seq:06}.log")
    } else {
        format!("{seq:06}-{ts}.log")
    }
}

/// `2026-11-29T14:17:29.123Z` → `20261129T141729123Z`: letters and digits
/// only (at most 32), safe in a file name everywhere.
fn compact_ts(ts: &str) -> String {
    ts.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect()
}

/// Append `lines` (whole lines, each ending in a newline) to
/// `logs/bridge.log`, sealing the file into a segment first whenever a line
/// would take it past [`ROTATE_BYTES`]. Written through `w`, so with its
/// durability (the renames too).
pub fn append(w: &mut Writer, layout: &Layout, lines: &[u8]) -> std::io::Result<()> {
    let log = layout.log();
    let mut size = match std::fs::metadata(&log) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    // lines[from..end] is written yet; `end` is the end of the lines seen.
    let (mut from, mut end) = (0usize, 0usize);
    for line in lines.split_inclusive(|b| *b == b'\n') {
        let held = size + (end - from) as u64;
        if held > 0 && held + line.len() as u64 > ROTATE_BYTES {
            if end > from {
                w.append(&log, &lines[from..end])?;
            }
            seal(w, layout, &log)?;
            size = 0;
            from = end;
        }
        end += line.len();
    }
    if end > from {
        w.append(&log, &lines[from..end])?;
    }
    Ok(())
}

/// Rename `logs/bridge.log` to the next segment's name.
fn seal(w: &mut Writer, layout: &Layout, log: &Path) -> std::io::Result<()> {
    let dir = segment_dir(layout);
    std::fs::create_dir_all(&dir)?;
    let next = segments(layout)?
        .iter()
        .filter_map(|p| {
            p.file_name()
                .and_then(|n| segment_seq(&n.to_string_lossy()))
        })
        .max()
        .unwrap_or(0)
        + 1;
    let first = first_line(log)?;
    let mut dst = dir.join(segment_name(next, &first));
    // Never replace a segment (only a hand-made file can be in the way).
    let mut n = 2;
    while dst.exists() {
        let name = segment_name(next, &first);
        let stem = name.trim_end_matches(".log");
        dst = dir.join(format!("{stem}.{n}.log"));
        n += 1;
    }
    w.rename(log, &dst)
}

/// The first line of `path` (at most 4 KiB of it).
fn first_line(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = vec![0u8; 4096];
    let mut f = std::fs::File::open(path)?;
    let mut got = 0;
    while got < buf.len() {
        let n = f.read(&mut buf[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    buf.truncate(got);
    if let Some(end) = buf.iter().position(|b| *b == b'\n') {
        buf.truncate(end);
    }
    Ok(buf)
}
