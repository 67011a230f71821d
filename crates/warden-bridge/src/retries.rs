//! `meta/retries.json`: command id → {attempts, last_error, last_ts,
//! next_attempt_at} for outputs whose publish failed. Exponential backoff,
//! base 2 seconds, with jitter, capped at [`MAX_ATTEMPTS`]; after that the
//! watcher stops retrying on its own and `bridge status` says so. Written
//! durably (temp, fsync, rename, fsync dir); it is the only retry state, and
//! nothing is ever written to `commands/`.

use crate::layout::Layout;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MAX_ATTEMPTS: u32 = 6;
/// Seconds of the first retry delay; each further attempt doubles it.
pub const BASE_SECS: u64 = 2;
/// Longest delay between attempts, in seconds.
pub const CAP_SECS: u64 = 600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RetryEntry {
    pub attempts: u32,
    pub last_error: String,
    pub last_ts: String,
    pub next_attempt_at: String,
}

pub type Index = BTreeMap<String, RetryEntry>;

pub fn load(layout: &Layout) -> Index {
    std::fs::read(layout.retries())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save(layout: &Layout, index: &Index) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(index).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    if std::fs::read(layout.retries()).ok().as_deref() == Some(&bytes[..]) {
        return Ok(());
    }
    std::fs::create_dir_all(layout.dir("meta"))?;
    warden_core::fsutil::write_atomic(&layout.retries(), &bytes, 0o644)
        .map_err(std::io::Error::other)
}

/// A failed publish of `keys` (plus everything already waiting).
pub fn record_failure(
    layout: &Layout,
    keys: &[String],
    error: &str,
    now: jiff::Timestamp,
) -> std::io::Result<Index> {
    let mut index = load(layout);
    let all: Vec<String> = index.keys().cloned().chain(keys.iter().cloned()).collect();
    for k in all {
        let e = index.entry(k).or_insert(RetryEntry {
            attempts: 0,
            last_error: String::new(),
            last_ts: String::new(),
            next_attempt_at: String::new(),
        });
        if e.last_ts == now.to_string() {
            continue; // already counted in this failure
        }
        e.attempts += 1;
        e.last_error = error.chars().take(500).collect();
        e.last_ts = now.to_string();
        let secs = BASE_SECS
            .saturating_mul(1u64 << (e.attempts - 1).min(20))
            .min(CAP_SECS);
        let secs = (secs as f64 * crate::publish::jitter()) as i64;
        e.next_attempt_at = (now + jiff::SignedDuration::from_secs(secs)).to_string();
    }
    save(layout, &index)?;
    Ok(index)
}

/// Everything was pushed: the index empties.
pub fn clear(layout: &Layout) -> std::io::Result<bool> {
    let index = load(layout);
    if index.is_empty() {
        return Ok(false);
    }
    save(layout, &Index::new())?;
    Ok(true)
}

/// Whether a publish attempt is due at `now` (no entries, or one whose
/// backoff elapsed and which has attempts left).
pub fn due(index: &Index, now: jiff::Timestamp) -> bool {
    index.values().all(|e| {
        e.attempts < MAX_ATTEMPTS
            && e.next_attempt_at
                .parse::<jiff::Timestamp>()
                .is_ok_and(|t| t <= now)
    })
}

/// Whether some entry used up its attempts.
pub fn gave_up(index: &Index) -> bool {
    index.values().any(|e| e.attempts >= MAX_ATTEMPTS)
}
