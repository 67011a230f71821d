//! Strict input end to end (issue 10, finding 11): loose proposals and paths
//! the OS refuses are exit 2 naming the file, the field and the fix, and
//! nothing is written; YAML is read as YAML 1.2 (only true/false are booleans).
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Repo;

fn write_raw(r: &Repo, name: &str, bytes: &[u8]) -> String {
    let p = r.home.path().join(name);
    std::fs::write(&p, bytes).expect("write");
    p.display().to_string()
}

#[test]
fn loose_proposals_exit_2_and_write_nothing() {
    let r = Repo::new();
    let before = r.tree();
    let ledger = r.ledger_len();
    let misspelt = r.proposal(serde_json::json!([
        {"kind": "write_file", "path": "run.sh", "content": "#!/bin/sh\n", "expect": "absent", "exectuable": true}
    ]));
    let head = r#"{"schema":"warden.proposal/v1","source":{"kind":"person","id":"t"},"event":"Manual","actions":["#;
    let dup = write_raw(
        &r,
        "dup.json",
        format!(r#"{head}{{"kind":"write_file","path":"a.txt","path":"b.txt","content":"x","expect":"absent"}}]}}"#)
            .as_bytes(),
    );
    let mut bom_bytes = b"\xEF\xBB\xBF".to_vec();
    bom_bytes.extend_from_slice(
        format!(
            r#"{head}{{"kind":"write_file","path":"a.txt","content":"x","expect":"absent"}}]}}"#
        )
        .as_bytes(),
    );
    let bom = write_raw(&r, "bom.json", &bom_bytes);
    let long_name = r.home.path().join(format!("{}.json", "p".repeat(300)));
    let long_name = long_name.display().to_string();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            &misspelt,
            vec![
                "actions[0].exectuable: unknown field",
                "hint: did you mean \"executable\"?",
            ],
        ),
        (
            &dup,
            vec!["actions[0].path: duplicate key \"path\" at line 1"],
        ),
        (
            &bom,
            vec![
                "byte 0: file starts with a UTF-8 byte-order mark",
                "without BOM",
            ],
        ),
        (&long_name, vec!["File name too long", "255 bytes"]),
    ];
    for (file, wants) in cases {
        let err = r.fails(&["apply", file, "--yes"], 2);
        for want in wants {
            assert!(err.contains(want), "{file}: want {want:?} in:\n{err}");
        }
    }
    assert_eq!(r.tree(), before, "nothing was written");
    assert_eq!(r.ledger_len(), ledger, "nothing was ledgered");
}

#[test]
fn a_repo_path_the_os_refuses_exits_2_naming_it() {
    let r = Repo::new();
    let long = r.home.path().join("r".repeat(300));
    let long = long.display().to_string();
    let err = r.fails(&["--repo", &long, "status"], 2);
    assert!(err.contains(&long), "{err}");
    assert!(err.contains("File name too long"), "{err}");
    let through_file = r.root.join(".warden/policy.yaml/x").display().to_string();
    let err = r.fails(&["--repo", &through_file, "status"], 2);
    assert!(err.contains("not a directory"), "{err}");
}

/// Regression (found twice by users): a module named `off` and a folder `y`
/// in `.warden/modules.yaml` were refused with "invalid type: boolean `true`,
/// expected a string" (YAML 1.1 booleans). warden reads YAML 1.2.
#[test]
fn a_module_named_off_with_folder_y_is_accepted() {
    let r = Repo::new();
    std::fs::create_dir_all(r.root.join("y")).expect("mkdir");
    std::fs::write(
        r.root.join(".warden/modules.yaml"),
        "schema: warden.modules/v1\nmodules:\n  - name: off\n    folder: y\n    keywords: [yes, no]\n",
    )
    .expect("write");
    let out = r.run(&["modules", "validate", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(
        (&v["ok"], &v["modules"], &v["findings"]),
        (
            &serde_json::json!(true),
            &serde_json::json!(1),
            &serde_json::json!([])
        ),
        "{v}"
    );
}

/// A policy boolean given a YAML 1.1 word is exit 2 naming the file, the
/// field and the fix.
#[test]
fn a_policy_bool_given_yes_exits_2_saying_write_true_or_false() {
    let r = Repo::new();
    let policy = r.root.join(".warden/policy.yaml");
    let text = std::fs::read_to_string(&policy).expect("policy");
    let edited = text.replace("run_unsandboxed: false", "run_unsandboxed: yes");
    assert_ne!(edited, text, "the default policy has run_unsandboxed");
    std::fs::write(&policy, edited).expect("write");
    let err = r.fails(&["status"], 2);
    for want in [
        ".warden/policy.yaml: plugins.run_unsandboxed: \"yes\" is not a boolean; write true or false",
        "warden reads YAML 1.2",
    ] {
        assert!(err.contains(want), "want {want:?} in:\n{err}");
    }
}
