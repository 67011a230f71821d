//! The helper protocol's build id: a digest of this crate's sources, so that
//! `warden` and a `warden-sandbox` built from different sources never take
//! each other's arguments (`helper::BUILD_ID`).

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// FNV-1a, 64 bits: enough to tell builds apart (not a security boundary:
/// the helper beside warden is trusted as warden itself is).
fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= u64::from(*b);
        *h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = vec![root.join("Cargo.toml"), root.join("build.rs")];
    files(&root.join("src"), &mut all);
    all.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for f in &all {
        let rel = f.strip_prefix(root).unwrap_or(f);
        fnv(&mut h, rel.to_string_lossy().as_bytes());
        fnv(&mut h, &[0]);
        fnv(&mut h, &std::fs::read(f).unwrap_or_default());
        fnv(&mut h, &[0]);
    }
    println!("cargo:rustc-env=WARDEN_ISOLATE_SOURCE_DIGEST={h:016x}");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=build.rs");
}
