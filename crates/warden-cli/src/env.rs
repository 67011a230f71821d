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

/// How plugin processes start: this binary as the sandbox helper, and the
/// environment they keep (everything else is cleared): PATH, the locale and
/// the Rust toolchain homes (rust plugins are built with cargo).
pub fn launcher() -> warden_plugin::runtime::Launcher {
    let mut env = Vec::new();
    for key in ["PATH", "LANG", "LC_ALL", "RUSTUP_TOOLCHAIN"] {
        if let Ok(v) = std::env::var(key) {
            env.push((key.to_string(), v));
        }
    }
    let home = std::env::var("HOME").ok();
    for (key, dir) in [("RUSTUP_HOME", ".rustup"), ("CARGO_HOME", ".cargo")] {
        match (std::env::var(key), &home) {
            (Ok(v), _) => env.push((key.to_string(), v)),
            (Err(_), Some(h)) => env.push((key.to_string(), format!("{h}/{dir}"))),
            _ => {}
        }
    }
    // WARDEN_SANDBOX=off starts plugins without the Landlock helper (for
    // debugging a plugin); the policy must then allow unsandboxed plugins.
    let helper = match std::env::var("WARDEN_SANDBOX").as_deref() {
        Ok("off") => None,
        _ => std::env::current_exe().ok(),
    };
    warden_plugin::runtime::Launcher {
        helper,
        env,
        ..Default::default()
    }
}

/// Today's date (UTC), for dating policy snapshots and ID cards.
pub fn today() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

/// The git backend of the sync guardian. When the user chose an ssh command
/// through the environment, warden leaves ssh alone; otherwise it adds
/// `BatchMode` so a fetch never prompts.
pub fn git() -> warden_sync::GitCli {
    let user_ssh =
        std::env::var_os("GIT_SSH_COMMAND").is_some() || std::env::var_os("GIT_SSH").is_some();
    warden_sync::GitCli::default().with_user_ssh_command(user_ssh)
}

pub fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
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
