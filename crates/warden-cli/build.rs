//! On Linux with glibc, warden is linked statically (`.cargo/config.toml`),
//! which needs glibc's static library. Without it the linker's own error is
//! `cannot find -lc`; this says what is missing and the two ways out.
//!
//! With glibc 2.36 or newer, the executables' relative relocations are also
//! packed (`-z pack-relative-relocs`, DT_RELR): the table the executable
//! walks at every start to relocate itself shrinks from ~400 KB to ~5 KB.
//! Older glibc cannot apply that format in a static executable, so it is only
//! asked for when the C library's headers say 2.36 or newer.

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
    if out.status.success() && found.contains('/') {
        if glibc_at_least(&linker, (2, 36)) {
            println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
        }
    } else if out.status.success() {
        eprintln!(
            "error: warden links statically on Linux with glibc (.cargo/config.toml: target-feature=+crt-static), \
             and `{linker}` finds no libc.a. Install glibc's static library (Fedora and RHEL: \
             `dnf install glibc-static`; Debian and Ubuntu: `apt-get install libc6-dev`), or build \
             a dynamic executable with an empty RUSTFLAGS: `RUSTFLAGS= cargo build --release`."
        );
        std::process::exit(1);
    }
}

/// Whether the glibc `linker` compiles against is at least `min`, from its
/// headers' `__GLIBC__` and `__GLIBC_MINOR__` (false when that cannot be told).
fn glibc_at_least(linker: &str, min: (u32, u32)) -> bool {
    let Some(dir) = std::env::var_os("OUT_DIR") else {
        return false;
    };
    let probe = std::path::Path::new(&dir).join("glibc-version.c");
    if std::fs::write(
        &probe,
        "#include <features.h>\nwarden_glibc __GLIBC__ __GLIBC_MINOR__\n",
    )
    .is_err()
    {
        return false;
    }
    let Ok(out) = std::process::Command::new(linker)
        .args(["-E", "-P"])
        .arg(&probe)
        .output()
    else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(line) = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("warden_glibc "))
    else {
        return false;
    };
    let mut numbers = line.split_whitespace().map(|n| n.parse::<u32>());
    match (numbers.next(), numbers.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= min,
        _ => false,
    }
}
