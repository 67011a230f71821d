//! `probes::run` (`warden plugin test`) on real `sh` plugins: the handshake,
//! each operation's example, every conformance example, the read-only check
//! and the limits, each passing or failing on its own.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::World;
use warden_plugin::probes::{self, ProbeReport};
use warden_plugin::spec::PluginSpec;

/// Run the probes of `spec` without the sandbox helper.
fn probe(w: &World, spec: &PluginSpec) -> ProbeReport {
    probes::run(&w.root, spec, &w.launcher(), false)
}

/// Each probe's name and verdict, in order.
fn verdicts(r: &ProbeReport) -> Vec<(&str, bool)> {
    r.probes.iter().map(|p| (p.probe.as_str(), p.ok)).collect()
}

/// The detail of probe `name`.
fn detail<'r>(r: &'r ProbeReport, name: &str) -> &'r str {
    let p = r.probes.iter().find(|p| p.probe == name).expect("probe");
    &p.detail
}

fn write(w: &World, rel: &str, text: &str) {
    w.write(&format!("plugins/tidy/{rel}"), text);
}

#[test]
fn a_scaffolded_sh_plugin_passes_every_probe() {
    let w = World::new();
    let spec = w.scaffold("tidy");
    let r = probe(&w, &spec);
    assert_eq!(
        verdicts(&r),
        [
            ("handshake", true),
            ("example:handle", true),
            ("read-only", true),
            ("limits", true)
        ],
        "{r:#?}"
    );
    assert!(r.ok());
    assert_eq!(r.schema, "warden.plugin-test/v1");
    assert_eq!(
        detail(&r, "read-only"),
        "the repository is unchanged after every probe"
    );
}

#[test]
fn conformance_examples_run_by_name_and_fail_on_their_own() {
    let w = World::new();
    let spec = w.scaffold("tidy");
    let ex = "conformance/examples";
    write(
        &w,
        &format!("{ex}/b_tmp_request.json"),
        r#"{"event": "FileDetected", "items": [{"path": "x.tmp", "sha256": "00", "size": 1}]}"#,
    );
    write(
        &w,
        &format!("{ex}/b_tmp_response.json"),
        r#"{"actions": [], "rationale": "wrong on purpose"}"#,
    );
    write(
        &w,
        &format!("{ex}/a_manual_request.json"),
        r#"{"event": "Manual", "items": []}"#,
    );
    write(
        &w,
        &format!("{ex}/a_manual_response.json"),
        r#"{"actions": []}"#,
    );
    let r = probe(&w, &spec);
    assert_eq!(
        verdicts(&r),
        [
            ("handshake", true),
            ("example:handle", true),
            ("conformance:a_manual", false),
            ("conformance:b_tmp", false),
            ("read-only", true),
            ("limits", true)
        ],
        "{r:#?}"
    );
    assert_eq!(
        detail(&r, "conformance:a_manual"),
        format!("{ex}/a_manual_request.json: no operation handles Manual")
    );
    assert!(
        detail(&r, "conformance:b_tmp").starts_with(&format!(
            "response differs from {ex}/b_tmp_response.json: got {{\"actions\":[{{\"kind\":\"quarantine\",\"path\":\"x.tmp\""
        )),
        "{}",
        detail(&r, "conformance:b_tmp")
    );
}

#[test]
fn a_plugin_that_writes_into_the_repository_fails_read_only() {
    let w = World::new();
    let spec = w.scaffold_with(
        "tidy",
        "RATIONALE_handle='x'\nhandle() {\n  cat >/dev/null\n}\necho x >> \"$WARDEN_REPO/scribble.txt\"\n",
    );
    let r = probe(&w, &spec);
    assert!(!r.ok());
    assert_eq!(detail(&r, "read-only"), "the plugin changed: scribble.txt");
}

#[test]
fn a_crashing_plugin_fails_the_handshake_and_its_example_but_not_the_limits() {
    let w = World::new();
    let spec = w.scaffold_with(
        "tidy",
        "RATIONALE_handle='x'\nhandle() {\n  cat >/dev/null\n}\necho 'boom' >&2\nexit 7\n",
    );
    let r = probe(&w, &spec);
    assert_eq!(
        verdicts(&r),
        [
            ("handshake", false),
            ("example:handle", false),
            ("read-only", true),
            ("limits", true)
        ],
        "{r:#?}"
    );
    assert_eq!(detail(&r, "handshake"), "exited with code 7 (stderr: boom)");
}

#[test]
fn a_plugin_over_its_time_limit_fails_the_limits_probe() {
    let w = World::new();
    let mut spec = w.scaffold_with(
        "tidy",
        "RATIONALE_handle='x'\nhandle() {\n  cat >/dev/null\n}\nsleep 30\n",
    );
    spec.limits.timeout_ms = 200;
    let r = probe(&w, &spec);
    assert!(!r.ok());
    let limits = r
        .probes
        .iter()
        .find(|p| p.probe == "limits")
        .expect("limits");
    assert!(!limits.ok, "{r:#?}");
    assert!(
        limits.detail.contains("200 ms"),
        "the limit is named: {}",
        limits.detail
    );
}
