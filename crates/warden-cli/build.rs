//! Link `warden` as a non-PIE executable on x86_64/aarch64 Linux (glibc).
//!
//! Why: every `warden` command is a short process, and a position-independent
//! 29 MB binary starts by applying ~28,900 relative relocations, which dirties
//! the pages of its relocated data. Linked non-PIE, the static linker resolves
//! them; a 1-file `apply` then cost 12–22% less CPU and `--version` 15–16%
//! less in two runs (`bash bench/link-variants.sh`; docs/benchmarks.md,
//! "Link variants"). `-z pack-relative-relocs` (DT_RELR) saved 1% of
//! `--version`.
//!
//! Only the final link of this crate's binary changes (a link argument for
//! the bins): no dependency is rebuilt. Compiled code stays position
//! independent. The cost: the executable itself loads at a fixed address
//! (its code is not randomised by ASLR; the heap, stack and libraries still
//! are). `WARDEN_LINK_PIE=1` at build time keeps the PIE link.
//!
//! The argument is added only when the target is `x86_64`/`aarch64`
//! `linux-gnu` and a probe (rustc linking an empty program with it, through
//! the same linker) succeeds, so any other toolchain links as before.
// A build script runs the compiler to probe the linker: no warden process
// runner exists at build time.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=WARDEN_LINK_PIE");
    let target = std::env::var("TARGET").unwrap_or_default();
    let supported = matches!(
        target.as_str(),
        "x86_64-unknown-linux-gnu" | "aarch64-unknown-linux-gnu"
    );
    if !supported || std::env::var_os("WARDEN_LINK_PIE").is_some_and(|v| v == "1") {
        return;
    }
    if links_without_pie(&target) {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

/// Whether rustc (with this build's linker settings) links an empty program
/// with `-no-pie` for `target`.
fn links_without_pie(target: &str) -> bool {
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let src = out.join("no_pie_probe.rs");
    if std::fs::write(&src, "fn main() {}\n").is_err() {
        return false;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut cmd = std::process::Command::new(rustc);
    cmd.args(["--crate-type", "bin", "--edition", "2021"]);
    cmd.args(["--target", target, "-C", "link-arg=-no-pie"]);
    cmd.arg("-o").arg(out.join("no_pie_probe")).arg(&src);
    if let Some(linker) = std::env::var_os("RUSTC_LINKER") {
        let mut arg = std::ffi::OsString::from("linker=");
        arg.push(linker);
        cmd.arg("-C").arg(arg);
    }
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
