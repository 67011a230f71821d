//! The systemd user unit of the bridge executor (`warden bridge unit`).
//!
//! A unit names the warden binary by its absolute path: systemd does not
//! search `~/.cargo/bin` (or any `PATH` the user's shell has), so
//! `ExecStart=/usr/bin/env warden` fails for a `cargo install`ed binary.
//! `contrib/systemd/warden-bridge.service` is this template for the binary
//! `cargo install` writes (`%h/.cargo/bin/warden`); a test keeps them equal.

use std::path::Path;

const TEMPLATE: &str = r#"# systemd user unit for the signed-command bridge.
#
# The HMAC secret is a systemd credential, never an environment variable:
# systemd copies the file into a private directory only this service can
# read ($CREDENTIALS_DIRECTORY, credential name gpt-bridge-hmac-secret) and
# warden reads it from there; no process environment (and so no child, no
# check, no plugin) ever holds it.
#
# Install (systemd >= 250 for credentials in user units):
#   warden bridge unit --install     # writes this unit, naming that warden binary
#   mkdir -p ~/.config/warden
#   install -m 600 /dev/null ~/.config/warden/bridge-secret
#   printf '%s\n' '<secret>' > ~/.config/warden/bridge-secret     # or use your editor
#   edit CLOUD= below (systemctl --user edit --full warden-bridge)
#   systemctl --user daemon-reload
#   systemctl --user enable --now warden-bridge
# Rotation: put the signer's next secret in ~/.config/warden/bridge-secret-next
#   and uncomment the second LoadCredential= (credential gpt-bridge-hmac-secret-next;
#   gpt-bridge-hmac-secret-prev accepts a previous one), then restart.
# Logs:     journalctl --user -u warden-bridge -f      (startup banner: resolved paths,
#           retries index, where each secret came from — never its value)
# Restart after changing the secret:  systemctl --user restart warden-bridge
#
# Without credentials (older systemd): replace LoadCredential= with
#   Environment=GPT_BRIDGE_HMAC_SECRET_FILE=%h/.config/warden/bridge-secret
#
# One executor per bridge root: a second `warden bridge run` on the same root
# exits 4 ("only one executor per root"); the kernel lock is released when the
# process dies, so there is no lock file to delete by hand.

[Unit]
Description=warden signed-command bridge (%h)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
# The bridge root. No secret in any Environment= line: the secret is a credential.
Environment=CLOUD=%h/gitSync/_GPTsync
LoadCredential=gpt-bridge-hmac-secret:%h/.config/warden/bridge-secret
#LoadCredential=gpt-bridge-hmac-secret-next:%h/.config/warden/bridge-secret-next
# The binary by its absolute path: a unit does not search ~/.cargo/bin.
ExecStart={{EXE}} bridge run --watch
Restart=on-failure
RestartSec=5
# Exit 2 is a configuration error (no root, no secret, an unreadable secret
# file): do not restart-loop on it.
RestartPreventExitStatus=2
# SIGTERM mid-batch is safe: the next start resumes the batch (docs/ARCHITECTURE.md).
KillSignal=SIGTERM
TimeoutStopSec=10
NoNewPrivileges=yes
PrivateTmp=yes

[Install]
WantedBy=default.target
"#;

pub const UNIT_SCHEMA_ID: &str = "warden.bridge-unit/v1";

/// `warden bridge unit --install --format json`.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[schemars(title = "warden bridge unit")]
pub struct UnitReport {
    /// Always "warden.bridge-unit/v1".
    pub schema: String,
    /// The unit file.
    pub unit: String,
    /// "written" or "unchanged".
    pub state: String,
    /// The warden binary the unit runs.
    pub binary: String,
}

impl warden_core::Report for UnitReport {
    const SCHEMA: &'static str = "bridge-unit";

    fn human(&self) -> String {
        format!(
            "{} {}; it runs {}\nnext: set CLOUD= (systemctl --user edit --full warden-bridge), put the secret in ~/.config/warden/bridge-secret, then `systemctl --user daemon-reload && systemctl --user enable --now warden-bridge`\n",
            self.unit, self.state, self.binary
        )
    }
}

/// The binary `cargo install` installs, as a systemd specifier path.
pub const CARGO_INSTALL_EXE: &str = "%h/.cargo/bin/warden";
/// The unit's file name.
pub const UNIT_FILE: &str = "warden-bridge.service";

/// The unit for the warden binary at `exe`. A path with a space or a
/// character systemd would expand (`%`, `$`) is quoted and escaped.
pub fn systemd_unit(exe: &Path) -> String {
    let shown = exe.display().to_string();
    let plain = shown == CARGO_INSTALL_EXE
        || !shown.contains(|c: char| c.is_whitespace() || matches!(c, '%' | '$' | '"' | '\\'));
    let exe = if plain {
        shown
    } else {
        let escaped = shown
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('%', "%%")
            .replace('$', "$$");
        format!("\"{escaped}\"")
    };
    TEMPLATE.replace("{{EXE}}", &exe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_names_the_binary_by_its_absolute_path() {
        let u = systemd_unit(Path::new("/home/me/.cargo/bin/warden"));
        assert!(
            u.contains("\nExecStart=/home/me/.cargo/bin/warden bridge run --watch\n"),
            "{u}"
        );
        assert!(!u.contains("/usr/bin/env"));
        let odd = systemd_unit(Path::new("/opt/my tools/100%/warden"));
        assert!(
            odd.contains("ExecStart=\"/opt/my tools/100%%/warden\" bridge run --watch"),
            "{odd}"
        );
    }
}

#[cfg(test)]
mod contrib {
    /// `contrib/systemd/warden-bridge.service` is the unit for a `cargo
    /// install`ed binary, byte for byte.
    #[test]
    fn the_shipped_unit_is_the_template_for_cargo_install() {
        let shipped = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../contrib/systemd/warden-bridge.service"),
        )
        .expect("contrib unit");
        assert_eq!(
            shipped,
            super::systemd_unit(std::path::Path::new(super::CARGO_INSTALL_EXE))
        );
    }
}
