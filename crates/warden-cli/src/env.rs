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
