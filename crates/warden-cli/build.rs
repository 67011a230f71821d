//! On Linux with glibc, warden is linked statically (`.cargo/config.toml`),
//! which needs glibc's static library. Without it the linker's own error is
//! `cannot find -lc`; this says what is missing and the two ways out.

// A build script learns its target from the environment Cargo sets and asks
// the C compiler directly; warden's own rules (the `env` module, the process
// runner) are for the program, not for its build.
#![allow(clippy::disallowed_methods)]

fn main() {
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let static_gnu = var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && var("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|f| f == "crt-static");
    if !static_gnu {
        return;
    }
    // The C compiler rustc links with: the configured linker, else `cc`.
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".into());
    let Ok(out) = std::process::Command::new(&linker)
        .arg("-print-file-name=libc.a")
        .output()
    else {
        return; // no compiler to ask: the link step reports it
    };
    let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // Not found, the compiler prints the bare name back.
    if out.status.success() && !found.contains('/') {
        eprintln!(
            "error: warden links statically on Linux with glibc (.cargo/config.toml: target-feature=+crt-static), \
             and `{linker}` finds no libc.a. Install glibc's static library (Fedora and RHEL: \
             `dnf install glibc-static`; Debian and Ubuntu: `apt-get install libc6-dev`), or build \
             a dynamic executable with an empty RUSTFLAGS: `RUSTFLAGS= cargo build --release`."
        );
        std::process::exit(1);
    }
}
