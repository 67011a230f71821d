//! Everything the CLI takes from its environment: host name, lock-holder text,
//! terminal detection and (in test builds) failpoints.

use std::io::IsTerminal;
use warden_core::Context;

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "host".into())
}

pub fn context() -> Context {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let holder = format!(
        "pid {} (warden {}) since {}",
        std::process::id(),
        args.join(" "),
        jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    );
    arm_failpoints();
    Context::system(host_name(), holder)
}

/// `WARDEN_FAILPOINT=name=action[,name=action]`, read only when the core was
/// built with failpoints (test builds); release builds never look at it.
fn arm_failpoints() {
    use warden_core::failpoint;
    if !failpoint::ENABLED {
        return;
    }
    let Ok(spec) = std::env::var("WARDEN_FAILPOINT") else {
        return;
    };
    for item in spec.split(',').filter(|s| !s.is_empty()) {
        if let Some((name, action)) = item.split_once('=')
            && let Some(a) = failpoint::Action::parse(action)
        {
            failpoint::arm(name, a);
        }
    }
}

pub fn stdin_is_tty() -> bool {
    std::io::stdin().is_terminal()
}

/// The HMAC secret of the signed-command bridge (name kept from seed 002).
pub const BRIDGE_SECRET: &str = "GPT_BRIDGE_HMAC_SECRET";
/// During a rotation: the next secret, accepted alongside the current one.
pub const BRIDGE_SECRET_NEXT: &str = "GPT_BRIDGE_HMAC_SECRET_NEXT";

/// The bridge secrets: (current, next). `None` when the current one is unset
/// or empty. The values are handed to the bridge crate and never printed.
pub fn bridge_secrets() -> Option<(String, Option<String>)> {
    let current = std::env::var(BRIDGE_SECRET)
        .ok()
        .filter(|s| !s.is_empty())?;
    let next = std::env::var(BRIDGE_SECRET_NEXT)
        .ok()
        .filter(|s| !s.is_empty());
    Some((current, next))
}

/// The bridge root from `CLOUD` (seed 002's name for it).
pub fn bridge_root() -> Option<std::path::PathBuf> {
    std::env::var_os("CLOUD")
        .filter(|s| !s.is_empty())
        .map(std::path::PathBuf::from)
}
