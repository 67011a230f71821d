//! `validate::validate` on a scaffolded `sh` plugin with one thing broken:
//! each check of the checklist reports its rule on the file at fault (and
//! only the findings that follow from that one change).
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{TODAY, World};
use warden_plugin::validate;

/// Edit the file at `rel` (repository-relative) with `f`.
fn edit(w: &World, rel: &str, f: impl Fn(&str) -> String) {
    let p = w.root.join(rel);
    let text = std::fs::read_to_string(&p).expect("read");
    let new = f(&text);
    assert_ne!(new, text, "{rel}: the edit changes something");
    std::fs::write(&p, new).expect("write");
}

/// The (rule, file) of every finding of plugin `tidy`, sorted.
fn findings(w: &World) -> Vec<(String, String)> {
    let repo = w.repo();
    let report = validate::validate(&w.root, &repo.policy, Some(&["tidy".into()]), TODAY, None);
    let mut out: Vec<(String, String)> = report
        .findings
        .into_iter()
        .map(|f| (f.rule, f.file))
        .collect();
    out.sort();
    out
}

/// A way to break the plugin, and the (rule, file) of every finding it must
/// give; `P/` stands for the plugin's folder.
type Case = (
    &'static str,
    fn(&World),
    &'static [(&'static str, &'static str)],
);

const P: &str = "plugins/tidy";

/// The spec against its generated, derived and fenced files.
fn generated_file_cases() -> Vec<Case> {
    vec![
        (
            "a protocol this warden does not speak",
            |w| {
                edit(w, &format!("{P}/plugin.spec.json"), |t| {
                    t.replace("\"protocol\": 1", "\"protocol\": 2")
                })
            },
            &[
                ("auto-fence-out-of-sync", "P/README_PLUGIN.md"),
                ("auto-fence-out-of-sync", "P/healthcheck.md"),
                ("auto-fence-out-of-sync", "P/src/handler.sh"),
                ("derived-out-of-sync", "P/manifest.json"),
                ("protocol-unsupported", "P/plugin.spec.json"),
            ],
        ),
        (
            "a generated file deleted",
            |w| std::fs::remove_file(w.root.join(format!("{P}/healthcheck.md"))).expect("rm"),
            &[("file-missing", "P/healthcheck.md")],
        ),
        (
            "a derived file edited",
            |w| edit(w, &format!("{P}/ledger_contract.json"), |t| format!("{t} ")),
            &[("derived-out-of-sync", "P/ledger_contract.json")],
        ),
        (
            "the spec renamed, its AUTO fences not regenerated",
            |w| {
                edit(w, &format!("{P}/plugin.spec.json"), |t| {
                    t.replacen("\"description\": \"", "\"description\": \"Renamed. ", 1)
                })
            },
            &[
                ("auto-fence-out-of-sync", "P/README_PLUGIN.md"),
                ("derived-out-of-sync", "P/manifest.json"),
            ],
        ),
    ]
}

/// The handler, the policy and the ID card.
fn handler_policy_and_card_cases() -> Vec<Case> {
    vec![
        (
            "an operation the handler does not define",
            |w| {
                w.set_developer_area(
                    "tidy",
                    "RATIONALE_other='x'\nother() {\n  cat >/dev/null\n}\n",
                )
            },
            &[
                ("derived-out-of-sync", "P/manifest.json"),
                ("handler-op-missing", "P/src/handler.sh"),
            ],
        ),
        (
            "an action the policy does not allow plugins",
            |w| {
                edit(w, &format!("{P}/plugin.spec.json"), |t| {
                    t.replace("\"quarantine\"", "\"quarantine\", \"delete_file\"")
                })
            },
            &[
                ("actions-beyond-policy", "P/plugin.spec.json"),
                ("auto-fence-out-of-sync", "P/README_PLUGIN.md"),
                ("auto-fence-out-of-sync", "P/src/handler.sh"),
                ("derived-out-of-sync", "P/manifest.json"),
                ("derived-out-of-sync", "P/policy_snapshot.json"),
            ],
        ),
        (
            "an ID card naming another artifact",
            |w| {
                let card = card(w);
                edit(w, &card, |t| t.replace("plugins/tidy", "plugins/other"))
            },
            &[(
                "id-card-mismatch",
                "ids/cards/01ARZ3NDEKTSV4RRFFQ69G5FAV.yaml",
            )],
        ),
        (
            "no ID card",
            |w| std::fs::remove_file(w.root.join(card(w))).expect("rm"),
            &[(
                "id-card-missing",
                "ids/cards/01ARZ3NDEKTSV4RRFFQ69G5FAV.yaml",
            )],
        ),
    ]
}

/// The repository-relative path of `tidy`'s ID card.
fn card(w: &World) -> String {
    let spec = warden_plugin::validate::load_spec(&w.root, "tidy").expect("spec");
    format!("ids/cards/{}.yaml", spec.id)
}

#[test]
fn each_broken_thing_is_the_finding_of_its_rule_on_its_file() {
    let mut wrong = Vec::new();
    let cases = [generated_file_cases(), handler_policy_and_card_cases()].concat();
    for (name, break_it, want) in cases {
        let w = World::new();
        let _ = w.scaffold("tidy");
        assert_eq!(findings(&w), [], "{name}: the scaffold validates");
        break_it(&w);
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(r, f)| (r.to_string(), f.replace("P/", &format!("{P}/"))))
            .collect();
        let got = findings(&w);
        if got != want {
            wrong.push(format!("{name}:\n  got  {got:?}\n  want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
