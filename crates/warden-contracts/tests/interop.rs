//! Interop with the seed's checker: `ci_meta_check_and_tests.py` (verbatim
//! in tests/fixtures) runs under python3 on the seed's
//! documented layout, from another working directory, as its
//! users run it. warden must report every true gap it reports, and none of its false
//! positives. Needs python3 with PyYAML; without them the test says so and
//! checks warden's side alone.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::process::Command;

fn python_with_yaml() -> bool {
    Command::new("python3")
        .args(["-c", "import yaml"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// (kind, target) pairs the seed script prints, with the repository prefix cut.
fn seed_gaps(root: &Path, cwd: &Path) -> (Vec<(String, String)>, i32) {
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ci_meta_check_and_tests.py"),
        root.join("ci_meta_check_and_tests.py"),
    )
    .expect("copy");
    let out = Command::new("python3")
        .arg(root.join("ci_meta_check_and_tests.py"))
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let root_s = root.canonicalize().expect("canon").display().to_string();
    let mut gaps = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("- ") else {
            continue;
        };
        let (kind, rest) = rest.split_once(": ").expect("kind");
        let target = rest
            .split(" target=")
            .nth(1)
            .and_then(|t| t.split(" module=").next())
            .unwrap_or("None");
        let meta = rest
            .strip_prefix("meta=")
            .and_then(|m| m.split(' ').next())
            .unwrap_or("");
        let t = if target == "None" { meta } else { target };
        gaps.push((
            kind.to_string(),
            t.replace(&format!("{root_s}/"), "").replace(&root_s, "/"),
        ));
    }
    gaps.sort();
    (gaps, out.status.code().unwrap_or(-1))
}

#[test]
fn warden_reports_the_seed_checkers_true_gaps_and_none_of_its_false_positives() {
    let d = tempfile::tempdir().expect("tempdir");
    let root = d.path().join("repo");
    let elsewhere = d.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    common::seed_layout(&root);
    let warden: Vec<(String, String)> = {
        let mut v: Vec<(String, String)> = common::run(&root)
            .gaps
            .iter()
            .map(|g| {
                let kind = match g.kind.name() {
                    "invalid_meta" => "invalid_meta_yaml".to_string(),
                    k => k.to_string(),
                };
                (kind, g.target_file.clone().unwrap_or(g.meta_file.clone()))
            })
            .collect();
        v.sort();
        v
    };
    if !python_with_yaml() {
        eprintln!(
            "skipped the seed side: python3 with PyYAML is not installed (warden's side is checked in check.rs)"
        );
        return;
    }
    let (seed, rc) = seed_gaps(&root, &elsewhere);
    assert_eq!(rc, 1);
    let elsewhere_s = elsewhere
        .canonicalize()
        .expect("canon")
        .display()
        .to_string();
    // The seed's false positives, found by running it.
    let false_positive = |(k, t): &(String, String)| {
        k == "missing_doc" && (t == "/" || t.contains("agents/l9/core/agents"))
    };
    let cwd_relative = |(_, t): &(String, String)| t.starts_with(&elsewhere_s);
    let fp: Vec<_> = seed.iter().filter(|g| false_positive(g)).collect();
    assert_eq!(
        fp.len(),
        2,
        "the seed still has its two README false positives: {seed:?}"
    );
    assert!(
        seed.iter().any(cwd_relative),
        "the seed resolves test paths against the CWD: {seed:?}"
    );
    // Every true gap the seed finds (fixing its CWD-relative paths), warden finds.
    for (k, t) in seed.iter().filter(|g| !false_positive(g)) {
        let t = t.replace(&format!("{elsewhere_s}/"), "");
        assert!(
            warden.contains(&(k.clone(), t.clone())),
            "seed gap {k} {t} missing from warden's {warden:?}"
        );
    }
    // None of the false positives.
    assert!(!warden.iter().any(|(k, t)| k == "missing_doc"
        && (t == "README.md" || t == "l9/core/agents/README.md" || t.contains("agents/l9"))));
    // And what the seed cannot see: tests/unit/meta.yaml is scanned.
    assert!(warden.contains(&(
        "missing_test_file".into(),
        "tests/unit/test_task_queue.py".into()
    )));
    assert!(!seed.iter().any(|(_, t)| t.contains("test_task_queue")));
}

#[test]
fn the_seed_crashes_on_an_empty_meta_file_and_warden_reports_it() {
    let d = tempfile::tempdir().expect("tempdir");
    let root = d.path();
    common::write(root, "empty.meta.yaml", "");
    let r = common::run(root);
    assert_eq!(r.gaps.len(), 1);
    assert_eq!(r.gaps[0].kind.name(), "invalid_meta");
    if !python_with_yaml() {
        eprintln!("skipped the seed side: python3 with PyYAML is not installed");
        return;
    }
    let (_, rc) = seed_gaps(root, root);
    assert_eq!(rc, 1);
    assert!(
        !root.join("meta-gaps.yaml").exists(),
        "the seed crashed before writing its report"
    );
}
