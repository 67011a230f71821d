//! Issue 11 through the binary: `warden runs` pages newest first, `warden
//! status` counts from the derived index, `warden ledger reindex` rebuilds it.

mod common;

use common::Repo;
use serde_json::json;

fn apply_n(r: &Repo, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let p = r.proposal(json!([{"kind": "write_file", "path": format!("f{i}.txt"), "content": "x\n", "expect": "absent"}]));
            r.ok(&["apply", &p, "--yes"]);
            r.json(&["runs", "--limit", "1"])["runs"][0]["run"]
                .as_str()
                .expect("run")
                .to_string()
        })
        .collect()
}

#[test]
fn runs_pages_newest_first_and_says_what_it_left_out() {
    let r = Repo::new();
    let runs = apply_n(&r, 5);
    let page = r.json(&["runs", "--limit", "2"]);
    let got: Vec<&str> = page["runs"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|x| x["run"].as_str())
        .collect();
    assert_eq!(got, vec![&runs[4][..], &runs[3]]);
    let text = r.ok(&["runs", "--limit", "2"]);
    assert!(
        text.contains("3 older run(s) not shown"),
        "the page names what it left out: {text}"
    );
    let all = r.json(&["runs", "--all"])["runs"].clone();
    assert_eq!(all.as_array().map(Vec::len), Some(5));
    assert_eq!(all[4]["run"], json!(runs[0]));
    assert!(!r.ok(&["runs", "--all"]).contains("not shown"));
    let err = r.fails(&["runs", "--all", "--limit", "3"], 2);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn status_counts_survive_a_deleted_index_and_reindex_rebuilds_it() {
    let r = Repo::new();
    let runs = apply_n(&r, 3);
    let s = r.json(&["status"]);
    assert_eq!(s["runs"], 3);
    assert_eq!(s["last_success"]["run"], json!(runs[2]));
    let index = r.root.join(".warden/state/ledger-index.json");
    assert!(index.is_file());
    std::fs::remove_file(&index).expect("rm");
    let s = r.json(&["status"]);
    assert_eq!(s["runs"], 3);
    assert_eq!(s["ledger"]["entries"], 3);
    let rep = r.json(&["ledger", "reindex"]);
    assert_eq!(rep["schema"], "warden.ledger-reindex/v1");
    assert_eq!(rep["entries"], 3);
    assert!(
        r.ok(&["ledger", "reindex"])
            .contains("ledger index rebuilt: 3 entries")
    );
    // Nothing git tracks was written by the read-only commands.
    assert!(index.is_file());
    let tracked = r.git(&["status", "--porcelain", "--", ".ledger"]);
    let before = tracked.clone();
    r.ok(&["status"]);
    r.ok(&["runs"]);
    assert_eq!(r.git(&["status", "--porcelain", "--", ".ledger"]), before);
}

#[test]
fn reindex_exits_1_naming_a_broken_chain() {
    let r = Repo::new();
    apply_n(&r, 3);
    let dir = r.root.join(".ledger/runs");
    let chain = std::fs::read_dir(&dir)
        .expect("ledger")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("chain");
    let text = std::fs::read_to_string(&chain).expect("chain");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[1] = lines[1].replace("\"Manual\"", "\"Manuel\"");
    std::fs::write(&chain, lines.join("\n") + "\n").expect("tamper");
    let err = r.fails(&["ledger", "reindex"], 1);
    assert!(
        err.contains("entry 2") && err.contains("ledger verify"),
        "{err}"
    );
}
