//! A classify run over many files keeps its report in
//! `.runs/<RUN>/details.json` (the ledger entry references it by digest), and
//! the placement history still reads every decision back from there.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{Fixture, SEED};
use warden_classify::history;

#[test]
fn a_big_classify_runs_placements_are_read_back_from_its_details_file() {
    let f = Fixture::new(SEED);
    for i in 0..400 {
        f.write(&format!("inbox/note{i:04}.txt"), &format!("note {i}\n"));
    }
    let report = f.classify();
    let run = report.run.clone().expect("a run");
    let e = f
        .repo()
        .ledger()
        .find_run(&run)
        .expect("find")
        .expect("entry");
    assert_eq!(e.details, None, "the report is not inline");
    let r = e.details_file.clone().expect("a details file");
    assert_eq!(r.file, format!(".runs/{run}/details.json"));
    let placed = history::entry_placements(&e, f.root());
    assert_eq!(placed.len(), report.files.len());
    assert!(report.files.len() >= 400);
    assert_eq!(
        placed
            .iter()
            .map(|p| p.decision.clone())
            .collect::<Vec<_>>(),
        report.files
    );
}
