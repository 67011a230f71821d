//! The kernel's answer to "which isolation layers does a plugin get here?",
//! kept for the rest of the boot so `warden status` does not start a probe
//! process on every call.
//!
//! The answer depends on the kernel (which changes only with a reboot), the
//! user (a user namespace for non-root) and the helper binary (a new warden
//! may try more layers), so the cache key is the boot id, the uid and the
//! path (`warden-sandbox` beside warden, else warden), size and modification
//! time of the helper's executable. The cache is one small JSON file
//! in the clone's ignored state directory; a missing, unreadable or
//! stale one is simply probed again and rewritten.

use crate::runtime::Launcher;
use crate::sandbox::Isolation;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The cache's file name in the clone's state directory.
pub const FILE: &str = "isolation-probe.json";

/// Where the Linux kernel names the current boot.
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Cached {
    key: String,
    isolation: Isolation,
}

/// What the answer depends on, or `None` when the boot cannot be told
/// apart (then nothing is cached).
fn key(launcher: &Launcher) -> Option<String> {
    let boot = std::fs::read_to_string(BOOT_ID).ok()?;
    // The executable that answers: `warden-sandbox` beside warden, or warden.
    let helper = match launcher.helper_exe()? {
        crate::runtime::HelperExe::Dedicated(p) | crate::runtime::HelperExe::Warden(p) => p,
    };
    let meta = std::fs::metadata(&helper).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    #[cfg(unix)]
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").ok()?);
    #[cfg(not(unix))]
    let uid = 0;
    Some(format!(
        "boot {} uid {uid} helper {} {} {mtime}",
        boot.trim(),
        helper.display(),
        meta.len()
    ))
}

/// [`Launcher::probe_isolation`], answered from `cache` when it was written
/// during this boot for this user and helper; otherwise probed and written.
pub fn probe_isolation_cached(launcher: &Launcher, cache: &Path) -> Isolation {
    let Some(key) = key(launcher) else {
        return launcher.probe_isolation();
    };
    if let Some(hit) = std::fs::read(cache)
        .ok()
        .and_then(|b| serde_json::from_slice::<Cached>(&b).ok())
        .filter(|c| c.key == key)
    {
        return hit.isolation;
    }
    let isolation = launcher.probe_isolation();
    if let Ok(bytes) = serde_json::to_vec(&Cached { key, isolation })
        && let Some(dir) = cache.parent()
        && std::fs::create_dir_all(dir).is_ok()
    {
        // Best effort: a cache that cannot be written is probed next time.
        let _ = warden_core::fsutil::write_atomic(cache, &bytes, 0o644);
    }
    isolation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_answer_is_used_only_for_its_own_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = dir.path().join("isolation.json");
        // A launcher without a helper never probes and never caches.
        let none = Launcher::default();
        assert_eq!(probe_isolation_cached(&none, &cache), Isolation::NONE);
        assert!(!cache.exists());
        // A planted answer under a stale key is not believed: the helper
        // (here `true`, which reports nothing) is asked and the file rewritten.
        let helper = Launcher {
            helper: Some(std::path::PathBuf::from("/bin/true")),
            ..Default::default()
        };
        let Some(k) = key(&helper) else {
            return; // no boot id on this system: nothing is cached by design
        };
        let planted = |key: String| {
            let mut iso = Isolation::NONE;
            iso.filesystem = crate::sandbox::Level::Full;
            std::fs::write(
                &cache,
                serde_json::to_vec(&Cached {
                    key,
                    isolation: iso,
                })
                .expect("json"),
            )
            .expect("write");
            iso
        };
        planted("boot old".into());
        assert_eq!(probe_isolation_cached(&helper, &cache), Isolation::NONE);
        let kept: Cached =
            serde_json::from_slice(&std::fs::read(&cache).expect("read")).expect("json");
        assert_eq!(kept.key, k);
        // Under the current key it is the answer, without a probe.
        let iso = planted(k);
        assert_eq!(probe_isolation_cached(&helper, &cache), iso);
    }
}
