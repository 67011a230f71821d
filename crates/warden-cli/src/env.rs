//! Everything the CLI takes from its environment: host name, lock-holder text,
//! terminal detection and (in test builds) failpoints.

// The environment seam: the one place that reads environment variables,
// the raw arguments and (for the CLI) the wall clock.
#![allow(clippy::disallowed_methods)]

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
    // The built-in classifier plugin's handler calls back into this warden
    // (`$WARDEN_EXE classify --plugin-actions`; docs/classify.md).
    if let Ok(exe) = std::env::current_exe() {
        env.push(("WARDEN_EXE".to_string(), exe.display().to_string()));
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

/// The wall clock, for the CLI's own use (the libraries get it through
/// `Context`).
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// `WARDEN_SANDBOX`, passed on to the demo's own warden.
pub fn sandbox_switch() -> Option<std::ffi::OsString> {
    std::env::var_os("WARDEN_SANDBOX")
}

/// Today's date (UTC), for dating policy snapshots and ID cards.
pub fn today() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

/// The git backend of the sync guardian. When the user chose an ssh command
/// through the environment, warden leaves ssh alone; otherwise it adds
/// `BatchMode` so a fetch never prompts.
pub fn git() -> warden_core::git::Git {
    let user_ssh =
        std::env::var_os("GIT_SSH_COMMAND").is_some() || std::env::var_os("GIT_SSH").is_some();
    let dir = std::env::current_dir().unwrap_or_else(|_| ".".into());
    warden_core::git::Git::new(dir)
        .with_base_env(child_env())
        .with_user_ssh_command(user_ssh)
}

pub fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}

/// The OS user running warden (`USER`, else `LOGNAME`), for the ledger.
pub fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown-user".into())
}

/// The index git's hook runs against (`GIT_INDEX_FILE`), for the
/// pre-commit hook only; never passed to other children.
pub fn git_index_file() -> Option<std::ffi::OsString> {
    std::env::var_os("GIT_INDEX_FILE").filter(|v| !v.is_empty())
}

/// Where systemd looks for the user's units: `$XDG_CONFIG_HOME/systemd/user`,
/// else `~/.config/systemd/user`.
pub fn systemd_user_dir() -> Option<std::path::PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| std::path::PathBuf::from(h).join(".config"))
        })?;
    Some(config.join("systemd").join("user"))
}

pub fn stdout_is_tty() -> bool {
    std::io::stdout().is_terminal()
}

/// `NO_COLOR` set to anything but the empty string (no-color.org), or a
/// terminal that says it cannot show colour (`TERM=dumb`).
pub fn colour_unwanted() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}

/// The pager's argv: `WARDEN_PAGER`, else `PAGER`, else `less`, split on
/// white space (no shell). `None` when paging is turned off by an empty
/// value or `cat`.
pub fn pager() -> Option<Vec<String>> {
    let chosen = std::env::var("WARDEN_PAGER")
        .or_else(|_| std::env::var("PAGER"))
        .unwrap_or_else(|_| "less".into());
    let argv: Vec<String> = chosen.split_whitespace().map(String::from).collect();
    match argv.first().map(String::as_str) {
        None | Some("cat") => None,
        Some(_) => Some(argv),
    }
}

/// The pager's environment: the children's base environment plus what a
/// pager needs to draw (`TERM`, its size) and, as git does, `LESS=FRX` and
/// `LV=-c` unless the user set them (quit when the text fits one screen,
/// pass colours through, leave the screen as it was).
pub fn pager_env() -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let mut env = child_env();
    for key in [
        "TERM",
        "TERMINFO",
        "COLUMNS",
        "LINES",
        "LESSCHARSET",
        "LESSOPEN",
    ] {
        if let Some(v) = std::env::var_os(key) {
            env.push((key.into(), v));
        }
    }
    for (key, default) in [("LESS", "FRX"), ("LV", "-c")] {
        let v = std::env::var_os(key).unwrap_or_else(|| default.into());
        env.push((key.into(), v));
    }
    env
}

/// The terminal's height in rows, when stdout is one.
pub fn terminal_rows() -> Option<usize> {
    terminal_size::terminal_size().map(|(_, h)| usize::from(h.0))
}

/// The HMAC secret of the signed-command bridge (name kept from).
pub const BRIDGE_SECRET: &str = "GPT_BRIDGE_HMAC_SECRET";
/// During a rotation: the next secret, accepted alongside the current one.
pub const BRIDGE_SECRET_NEXT: &str = "GPT_BRIDGE_HMAC_SECRET_NEXT";
/// The current secret read from a file (keeps it out of every environment).
pub const BRIDGE_SECRET_FILE: &str = "GPT_BRIDGE_HMAC_SECRET_FILE";
/// The systemd credential names (`LoadCredential=NAME:PATH`), looked up in
/// `$CREDENTIALS_DIRECTORY`.
pub const BRIDGE_CREDENTIAL: &str = "gpt-bridge-hmac-secret";

/// One accepted secret: its slot, the variable holding it, the variable
/// naming a file that holds it, and its systemd credential name.
struct SecretSlot {
    var: &'static str,
    file_var: &'static str,
    credential: &'static str,
}

const SECRET_SLOTS: &[SecretSlot] = &[
    SecretSlot {
        var: BRIDGE_SECRET,
        file_var: BRIDGE_SECRET_FILE,
        credential: BRIDGE_CREDENTIAL,
    },
    SecretSlot {
        var: BRIDGE_SECRET_NEXT,
        file_var: "GPT_BRIDGE_HMAC_SECRET_NEXT_FILE",
        credential: "gpt-bridge-hmac-secret-next",
    },
    SecretSlot {
        var: "GPT_BRIDGE_HMAC_SECRET_PREV",
        file_var: "GPT_BRIDGE_HMAC_SECRET_PREV_FILE",
        credential: "gpt-bridge-hmac-secret-prev",
    },
];

/// Every environment variable that holds or names a bridge secret: none of
/// them is ever passed to a child process (the runner's `is_secret` and the
/// allow-list both refuse them; a test pins it).
#[cfg(test)]
fn secret_variables() -> Vec<&'static str> {
    SECRET_SLOTS
        .iter()
        .flat_map(|s| [s.var, s.file_var])
        .chain(["CREDENTIALS_DIRECTORY"])
        .collect()
}

/// The bridge secrets as read, with where each came from.
pub struct BridgeSecrets {
    pub current: Vec<u8>,
    pub next: Option<Vec<u8>>,
    pub previous: Option<Vec<u8>>,
    /// "GPT_BRIDGE_HMAC_SECRET_FILE (/run/…)", one per secret, in slot order.
    pub sources: Vec<String>,
    /// Things the operator should fix (a world-readable secret file).
    pub warnings: Vec<String>,
}

/// A secret that is configured but cannot be used: the message names the
/// variable and the file; the hint says what to do.
#[derive(Debug)]
pub struct SecretError {
    pub message: String,
    pub hint: String,
}

/// Largest secret file read.
const MAX_SECRET_FILE: u64 = 64 * 1024;

fn read_secret_file(
    path: &std::path::Path,
    named_by: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<u8>, SecretError> {
    let shown = path.display();
    let err = |message: String, hint: &str| SecretError {
        message,
        hint: hint.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => err(
            format!("{named_by} names {shown}, which does not exist"),
            "write the secret into that file (mode 600), or point the variable at the right file",
        ),
        _ => err(
            format!("{named_by}: cannot read {shown}: {e}"),
            "make the file readable by the user running warden (and by no one else)",
        ),
    })?;
    if !meta.is_file() {
        return Err(err(
            format!("{named_by}: {shown} is not a regular file"),
            "point it at a file holding only the secret",
        ));
    }
    if meta.len() > MAX_SECRET_FILE {
        return Err(err(
            format!(
                "{named_by}: {shown} is {} bytes; a secret file holds only the secret (at most {MAX_SECRET_FILE} bytes)",
                meta.len()
            ),
            "point it at a file holding only the secret",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o007 != 0 {
            warnings.push(format!(
                "{shown} ({named_by}) is accessible to every user (mode {mode:o}); run `chmod 600 {shown}`"
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = warnings;
    let mut bytes = std::fs::read(path).map_err(|e| {
        err(
            format!("{named_by}: cannot read {shown}: {e}"),
            "make the file readable by the user running warden",
        )
    })?;
    // One trailing newline (what `echo` and editors add) is not part of it.
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    if bytes.is_empty() {
        return Err(err(
            format!("{named_by}: {shown} is empty"),
            "write the secret into it (one line)",
        ));
    }
    Ok(bytes)
}

/// The bridge secrets: each from `<VAR>_FILE` (a file), else from the
/// systemd credential in `$CREDENTIALS_DIRECTORY`, else from `<VAR>`.
/// `Ok(None)` when no current secret is configured. The values are handed
/// to the bridge crate and never printed.
pub fn bridge_secrets() -> Result<Option<BridgeSecrets>, SecretError> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let creds = var("CREDENTIALS_DIRECTORY").map(std::path::PathBuf::from);
    let mut warnings = Vec::new();
    let mut sources = Vec::new();
    let mut values: Vec<Option<Vec<u8>>> = Vec::new();
    for s in SECRET_SLOTS {
        let from_var = var(s.var);
        let value = if let Some(file) = var(s.file_var) {
            if from_var.is_some() {
                return Err(SecretError {
                    message: format!("both {} and {} are set", s.var, s.file_var),
                    hint: format!(
                        "keep {} (the file) and unset {}: a secret in the environment is visible to other processes",
                        s.file_var, s.var
                    ),
                });
            }
            let path = std::path::PathBuf::from(file);
            let v = read_secret_file(&path, s.file_var, &mut warnings)?;
            sources.push(format!("{} ({})", s.file_var, path.display()));
            Some(v)
        } else if let Some(path) = creds
            .as_ref()
            .map(|d| d.join(s.credential))
            .filter(|p| p.exists())
        {
            let named_by = format!("credential {}", s.credential);
            let v = read_secret_file(&path, &named_by, &mut warnings)?;
            sources.push(format!("the systemd {named_by}"));
            Some(v)
        } else if let Some(v) = from_var {
            sources.push(s.var.to_string());
            Some(v.into_encoded_bytes())
        } else {
            None
        };
        values.push(value);
    }
    let mut it = values.into_iter();
    let Some(current) = it.next().flatten() else {
        return Ok(None);
    };
    Ok(Some(BridgeSecrets {
        current,
        next: it.next().flatten(),
        previous: it.next().flatten(),
        sources,
        warnings,
    }))
}

/// The bridge root from `CLOUD` (name for it).
pub fn bridge_root() -> Option<std::path::PathBuf> {
    std::env::var_os("CLOUD")
        .filter(|s| !s.is_empty())
        .map(std::path::PathBuf::from)
}

/// The raw command-line arguments (after the program name), for when clap
/// refused them.
pub fn raw_args() -> Vec<std::ffi::OsString> {
    std::env::args_os().skip(1).collect()
}

/// The user's editor for `registry maintain`'s `e`: `$VISUAL`, `$EDITOR`, or `vi`.
pub fn editor() -> String {
    std::env::var("VISUAL")
        .ok()
        .or_else(|| std::env::var("EDITOR").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "vi".into())
}

/// The llm-connect server of `registry maintain` (variable).
pub fn llm_connect_url() -> Option<String> {
    std::env::var("LLM_CONNECT_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A bearer token for the LLM server, sent only to it.
pub fn llm_api_key() -> Option<String> {
    std::env::var("WARDEN_LLM_API_KEY")
        .ok()
        .filter(|s| !s.is_empty())
}

/// The raw URL of the published index (`WARDEN_REGISTRY_RAW_URL`, or the seed's `REUSE_SURFACE_RAW_URL`).
pub fn registry_raw_url() -> Option<String> {
    std::env::var("WARDEN_REGISTRY_RAW_URL")
        .ok()
        .or_else(|| std::env::var("REUSE_SURFACE_RAW_URL").ok())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_bridge_secret_variable_reaches_a_child() {
        for name in super::secret_variables() {
            assert!(!super::child_env_allows(name), "{name}");
            assert!(
                warden_core::process::is_secret(std::ffi::OsStr::new(name)),
                "{name}"
            );
        }
    }

    use super::*;

    fn file(dir: &std::path::Path, name: &str, bytes: &[u8], mode: u32) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }

    /// One trailing newline (LF or CRLF) is not part of the secret; anything
    /// else is, byte for byte (a secret need not be UTF-8).
    #[test]
    fn a_secret_file_loses_only_its_trailing_newline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = Vec::new();
        for (bytes, want) in [
            (&b"s3cret\n"[..], &b"s3cret"[..]),
            (b"s3cret\r\n", b"s3cret"),
            (b"s3cret", b"s3cret"),
            (b" s3cret \n\n", b" s3cret \n"),
            (b"\xff\x00k\n", b"\xff\x00k"),
        ] {
            let p = file(dir.path(), "s", bytes, 0o600);
            assert_eq!(read_secret_file(&p, "X_FILE", &mut w).expect("read"), want);
        }
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn a_bad_secret_file_is_named_with_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = Vec::new();
        let missing = dir.path().join("missing");
        let e = read_secret_file(&missing, "X_FILE", &mut w).expect_err("missing");
        assert!(
            e.message.contains("X_FILE") && e.message.contains("does not exist"),
            "{e:?}"
        );
        let empty = file(dir.path(), "empty", b"\n", 0o600);
        let e = read_secret_file(&empty, "X_FILE", &mut w).expect_err("empty");
        assert!(
            e.message.contains("is empty") && e.message.contains("empty"),
            "{e:?}"
        );
        let e = read_secret_file(dir.path(), "X_FILE", &mut w).expect_err("a directory");
        assert!(e.message.contains("not a regular file"), "{e:?}");
        let open = file(dir.path(), "open", b"k", 0o644);
        read_secret_file(&open, "X_FILE", &mut w).expect("read");
        assert!(w.len() == 1 && w[0].contains("chmod 600"), "{w:?}");
    }
}
