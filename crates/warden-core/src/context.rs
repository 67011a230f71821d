//! The seams through which the core sees time and fresh identifiers. The CLI
//! injects the real ones; tests inject fixed ones so runs are reproducible.

// The clock seam: the one place in the libraries that reads the wall clock.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicU64, Ordering};
use ulid::Ulid;

pub trait Clock: Send + Sync {
    fn now(&self) -> jiff::Timestamp;
}

pub trait IdGen: Send + Sync {
    fn run_id(&self) -> Ulid;
}

/// Wall-clock time.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// Random, time-ordered ULIDs that never go backwards within one process.
#[derive(Debug, Default)]
pub struct UlidGen {
    last: std::sync::Mutex<Option<Ulid>>,
}

impl IdGen for UlidGen {
    fn run_id(&self) -> Ulid {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let mut id = Ulid::new();
        if let Some(prev) = *last
            && id <= prev
        {
            id = prev.increment().unwrap_or(id);
        }
        *last = Some(id);
        id
    }
}

/// A clock that advances one second per reading, from a fixed start.
#[derive(Debug)]
pub struct FixedClock {
    start: i64,
    tick: AtomicU64,
}

impl FixedClock {
    pub fn new(start_unix_seconds: i64) -> Self {
        FixedClock {
            start: start_unix_seconds,
            tick: AtomicU64::new(0),
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> jiff::Timestamp {
        let t = self.tick.fetch_add(1, Ordering::SeqCst) as i64;
        jiff::Timestamp::from_second(self.start + t).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

/// Sequential ULIDs from a fixed time, for reproducible tests.
#[derive(Debug)]
pub struct SeqIds {
    next: AtomicU64,
}

impl SeqIds {
    pub fn new() -> Self {
        SeqIds {
            next: AtomicU64::new(1),
        }
    }
}

impl Default for SeqIds {
    fn default() -> Self {
        Self::new()
    }
}

impl IdGen for SeqIds {
    fn run_id(&self) -> Ulid {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        Ulid::from_parts(1_800_000_000_000 + n, n as u128)
    }
}

/// Who is acting and with which seams. Built by the CLI, passed to every run.
pub struct Context {
    pub clock: Box<dyn Clock>,
    pub ids: Box<dyn IdGen>,
    /// A short name for this machine, used to name this clone's ledger chain.
    pub host: String,
    /// Process id and command line, recorded as the lock holder.
    pub holder: String,
    /// The environment of every child the core starts (the validation
    /// command): the CLI's allow-listed base. Nothing else is inherited, and
    /// secrets are stripped whatever this lists (`process::is_secret`).
    pub child_env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
}

impl Context {
    pub fn system(host: impl Into<String>, holder: impl Into<String>) -> Self {
        Context {
            clock: Box::new(SystemClock),
            ids: Box::new(UlidGen::default()),
            host: host.into(),
            holder: holder.into(),
            child_env: Vec::new(),
        }
    }

    /// The same context whose children get `env` (see [`Context::child_env`]).
    pub fn with_child_env<K, V>(mut self, env: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<std::ffi::OsString>,
        V: Into<std::ffi::OsString>,
    {
        self.child_env = env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        self
    }

    pub fn fixed(start_unix_seconds: i64) -> Self {
        Context {
            clock: Box::new(FixedClock::new(start_unix_seconds)),
            ids: Box::new(SeqIds::new()),
            host: "test".into(),
            holder: "test".into(),
            child_env: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("host", &self.host).finish()
    }
}

/// How long ago `t` was (zero when it is in the future): the age of a file
/// from its mtime, for settle times and stale locks.
pub fn age_of(t: std::time::SystemTime) -> std::time::Duration {
    wall_clock().duration_since(t).unwrap_or_default()
}

/// The wall clock, for comparing with a file's times (which the kernel takes
/// from the same clock).
pub fn wall_clock() -> std::time::SystemTime {
    std::time::SystemTime::now()
}

/// A number from the operating system's random source.
pub fn random_u64() -> crate::Result<u64> {
    let mut buf = [0u8; 8];
    getrandom::fill(&mut buf)
        .map_err(|e| crate::Error::Internal(format!("no random source: {e}")))?;
    Ok(u64::from_le_bytes(buf))
}

/// `bytes` bytes from the operating system's random source, as lowercase hex:
/// for nonces and the random part of ids (never derived from the clock).
pub fn random_hex(bytes: usize) -> crate::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| crate::Error::Internal(format!("no random source: {e}")))?;
    Ok(hex::encode(buf))
}

#[cfg(test)]
mod random_tests {
    #[test]
    fn random_hex_has_the_length_asked_for_and_differs_between_calls() {
        let a = super::random_hex(16).expect("random");
        let b = super::random_hex(16).expect("random");
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        // 2^-128 chance of a false failure.
        assert_ne!(a, b);
    }
}
