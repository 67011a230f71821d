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
    Context::system(host_name(), holder).with_child_env(child_env())
}

/// Variables every child may see (when set): the basics of a Unix session,
/// the toolchain homes, and what git needs for its configuration, identity,
/// transport and proxies. Everything else is dropped: children never inherit
/// warden's environment, and the runner strips secrets (`*SECRET*`,
/// `*TOKEN*`, …; `warden_core::process::is_secret`) whatever a list says.
/// Not passed on purpose: `GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE` and the
/// other repository-locating variables a hook sets for its own repository.
pub const CHILD_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "XDG_CONFIG_HOME",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_COUNT",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_COMMITTER_DATE",
    "GIT_EXEC_PATH",
    "GIT_TEMPLATE_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_SSH_VARIANT",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "SSH_AUTH_SOCK",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
];

/// Prefixes of further allowed names: the locale categories and git's
/// `GIT_CONFIG_KEY_<n>`/`GIT_CONFIG_VALUE_<n>` pairs.
pub const CHILD_ENV_PREFIXES: &[&str] = &["LC_", "GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"];

/// Whether `name` is on the children's allow-list (secrets never are).
pub fn child_env_allows(name: &str) -> bool {
    (CHILD_ENV.contains(&name) || CHILD_ENV_PREFIXES.iter().any(|p| name.starts_with(p)))
        && !warden_core::process::is_secret(std::ffi::OsStr::new(name))
}

/// The base environment of every child warden starts (see [`CHILD_ENV`]),
/// sorted by name.
pub fn child_env() -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let mut env: Vec<_> = std::env::vars_os()
        .filter(|(k, _)| k.to_str().is_some_and(child_env_allows))
        .collect();
    env.sort();
    env
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
    for key in ["PATH", "LANG", "LC_ALL", "TZ", "RUSTUP_TOOLCHAIN"] {
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
    warden_plugin::runtime::Launcher { helper, env }
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
    warden_sync::GitCli::default()
        .with_base_env(child_env())
        .with_user_ssh_command(user_ssh)
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
