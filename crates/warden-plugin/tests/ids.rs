//! `ids::check` on real cards and a real operation log: cards that parse,
//! are named after their id, one per id and per artifact, each minted as it
//! is now; against a base, none removed or changed and the log only
//! appended to.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::World;
use warden_core::ids::IDS_LOG;
use warden_plugin::ids::{self, Base, IdCard};

const A: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAA";
const B: &str = "01ARZ3NDEKTSV4RRFFQ69G5FBB";
const C: &str = "01ARZ3NDEKTSV4RRFFQ69G5FCC";

fn card(id: &str, artifact: &str) -> IdCard {
    IdCard {
        schema: ids::CARD_SCHEMA_ID.into(),
        id: id.into(),
        kind: "plugin".into(),
        artifact: artifact.into(),
        name: artifact.into(),
        created: "2026-01-01".into(),
    }
}

fn card_rel(id: &str) -> String {
    format!("{}/{id}.yaml", ids::CARDS_DIR)
}

/// A repository with the cards of plugins `a` and `b`, both minted.
fn minted() -> World {
    let w = World::new();
    let cards = [card(A, "plugins/a"), card(B, "plugins/b")];
    let ops: Vec<_> = cards
        .iter()
        .map(|c| {
            w.write(&c.rel(), &c.render());
            ids::mint_op(c, "2026-01-01T00:00:00Z", "RUN", "w")
        })
        .collect();
    let repo = w.repo();
    let mut s = repo.session(&w.ctx, false, &mut |_| {}).expect("session");
    s.append_id_ops(&ops).expect("mint");
    w
}

/// The identity files as they are now, as a base revision.
fn base_of(w: &World) -> Base {
    Base {
        rev: "base".into(),
        cards: ids::card_files(&w.root).into_iter().collect(),
        log: std::fs::read_to_string(w.root.join(IDS_LOG)).expect("log"),
    }
}

/// The (rule, file) of every finding, sorted.
fn findings(w: &World, base: Option<&Base>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = ids::check(&w.root, base)
        .into_iter()
        .map(|f| (f.rule, f.file))
        .collect();
    out.sort();
    out
}

fn want(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pairs
        .iter()
        .map(|(r, f)| (r.to_string(), f.to_string()))
        .collect();
    out.sort();
    out
}

fn rm(w: &World, rel: &str) {
    std::fs::remove_file(w.root.join(rel)).expect("rm");
}

/// A way to change the identity files, and the (rule, file) of every
/// finding it must give.
type Case = (&'static str, fn(&World), Vec<(String, String)>);

fn cases() -> Vec<Case> {
    let (a, b, c) = (card_rel(A), card_rel(B), card_rel(C));
    vec![
        (
            "a card that does not parse",
            |w| w.write(&card_rel(A), "schema: [\n"),
            want(&[("card-invalid", &a)]),
        ),
        (
            "a card under another id's name",
            |w| {
                rm(w, &card_rel(A));
                w.write(&card_rel(C), &card(A, "plugins/a").render());
            },
            want(&[("card-name", &c)]),
        ),
        (
            "a card copied under a second name",
            |w| {
                w.write(&card_rel(C), &card(A, "plugins/a").render());
            },
            want(&[
                ("card-name", &c),
                ("id-collision", &c),
                ("one-artifact-rule", &c),
            ]),
        ),
        (
            "a second card for an artifact",
            |w| {
                w.write(&card_rel(B), &card(B, "plugins/a").render());
            },
            want(&[("card-modified", &b), ("one-artifact-rule", &b)]),
        ),
        (
            "an operation log that does not parse",
            |w| w.write(IDS_LOG, "{not json\n"),
            want(&[
                ("card-not-minted", &a),
                ("card-not-minted", &b),
                ("id-log-invalid", IDS_LOG),
            ]),
        ),
        (
            "a card added by hand",
            |w| w.write(&card_rel(C), &card(C, "plugins/c").render()),
            want(&[("card-not-minted", &c)]),
        ),
        (
            "a card edited after its mint",
            |w| {
                w.write(
                    &card_rel(A),
                    &card(A, "plugins/a")
                        .render()
                        .replace("name: \"plugins/a\"", "name: \"A\""),
                );
            },
            want(&[("card-modified", &a)]),
        ),
    ]
}

#[test]
fn the_minted_cards_pass() {
    let w = minted();
    assert_eq!(findings(&w, None), []);
    assert_eq!(findings(&w, Some(&base_of(&w))), []);
}

#[test]
fn each_broken_identity_rule_is_its_finding_on_its_file() {
    let mut wrong = Vec::new();
    for (name, change, want) in cases() {
        let w = minted();
        change(&w);
        let got = findings(&w, None);
        if got != want {
            wrong.push(format!("{name}:\n  got  {got:?}\n  want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn against_a_base_no_card_is_removed_or_changed_and_the_log_only_grows() {
    let (a, b) = (card_rel(A), card_rel(B));
    let w = minted();
    let base = base_of(&w);
    rm(&w, &b);
    w.write(
        &a,
        &card(A, "plugins/a")
            .render()
            .replace("2026-01-01", "2026-02-02"),
    );
    let log = std::fs::read_to_string(w.root.join(IDS_LOG)).expect("log");
    let rest: Vec<&str> = log.lines().skip(1).collect();
    w.write(IDS_LOG, &format!("{}\n", rest.join("\n")));
    assert_eq!(
        findings(&w, Some(&base)),
        want(&[
            // Changed since the base; its mint was the dropped line.
            ("card-modified", &a),
            ("card-not-minted", &a),
            ("card-removed", &b),
            ("id-log-rewritten", IDS_LOG),
        ])
    );
    // Appending to the log is what it is for.
    let w = minted();
    let base = base_of(&w);
    let log = std::fs::read_to_string(w.root.join(IDS_LOG)).expect("log");
    let first = log.lines().next().expect("a line");
    w.write(IDS_LOG, &format!("{log}{first}\n"));
    assert_eq!(findings(&w, Some(&base)), []);
}
