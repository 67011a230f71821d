//! Regressions from the seventh review of the contracts, each named after
//! what broke.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{of_kind, run, write};
use warden_contracts::check;
use warden_contracts::gaps::GapKind;

#[test]
fn a_path_that_leaves_the_repository_was_a_double_quoted_message_without_its_field() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "t7/README.meta.yaml",
        "type: subsystem_readme\nlocation: ../../etc\nsubsystem: {name: x}\n",
    );
    write(
        d.path(),
        "x/tests.meta.yaml",
        "type: subsystem_test_spec\nsubsystem: {name: x}\nunit_tests:\n  modules:\n    - {path: x, file: ../t.py}\n",
    );
    write(
        d.path(),
        "docs.meta.yaml",
        "type: subsystem_docs_spec\ndocs:\n  - {path: ok.md}\n  - {path: ../up.md}\n",
    );
    let r = run(d.path());
    let mut got: Vec<(&str, &str)> = of_kind(&r, GapKind::SchemaViolation)
        .iter()
        .map(|g| (g.meta_file.as_str(), g.message.as_str()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "docs.meta.yaml",
                "docs[1].path: \"../up.md\" leaves the repository"
            ),
            (
                "t7/README.meta.yaml",
                "location: \"../../etc\" leaves the repository"
            ),
            (
                "x/tests.meta.yaml",
                "unit_tests.modules[0].file: \"../t.py\" leaves the repository"
            ),
        ],
        "{:#?}",
        r.gaps
    );
    // Printed as written, not quoted and escaped as a whole.
    let human = check::human(&r);
    assert!(
        human.contains(
            "schema_violation (t7/README.meta.yaml:2): location: \"../../etc\" leaves the repository\n"
        ),
        "{human}"
    );
    assert!(!human.contains("\\\""), "{human}");
}

#[test]
fn a_location_inside_git_was_accepted_by_check_and_then_blocked_fix_for_the_whole_repo() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "sub/README.meta.yaml",
        "type: subsystem_readme\nlocation: .git/hooks\nsubsystem: {name: x}\n",
    );
    write(
        d.path(),
        "good/README.meta.yaml",
        "type: subsystem_readme\nsubsystem: {name: g}\n",
    );
    let r = run(d.path());
    let bad: Vec<_> = r
        .gaps
        .iter()
        .filter(|g| g.meta_file == "sub/README.meta.yaml")
        .collect();
    assert_eq!(bad.len(), 1, "{:#?}", r.gaps);
    assert_eq!(bad[0].kind, GapKind::SchemaViolation);
    assert_eq!(bad[0].line, 2, "the line of `location`");
    assert_eq!(
        bad[0].message,
        "location: \".git/hooks\" lies inside .git/, which belongs to git and warden; no contract may point there: \
         use a path outside .git/, .ledger/, .warden/, .runs/, .quarantine/"
    );
    assert!(
        !r.gaps.iter().any(|g| g
            .target_file
            .as_deref()
            .is_some_and(|t| t.starts_with(".git"))),
        "{:#?}",
        r.gaps
    );
    // `warden fix` fixes the good meta's gap and plans nothing inside .git/.
    let plan = warden_contracts::generate::plan_fix(d.path(), &r).expect("plan");
    let paths: Vec<&str> = plan.writes.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, ["good/README.md"]);
}

#[test]
fn every_area_of_git_and_warden_is_refused_as_a_contract_path() {
    for (path, area) in [
        (".git/hooks", ".git"),
        (".GIT/hooks", ".git"),
        ("vendor/lib/.git/x", ".git"),
        (".warden/docs", ".warden"),
        (".ledger", ".ledger"),
        ("/.runs/x", ".runs"),
        (".quarantine/RUN/files", ".quarantine"),
    ] {
        let e = check::repo_rel(path).expect_err(path);
        assert!(
            e.starts_with(&format!("\"{path}\" lies inside {area}/")),
            "{path}: {e}"
        );
    }
    for ok in ["/", "docs/.github", ".gitignore.d/x", "a/.warden/x"] {
        assert!(check::repo_rel(ok).is_ok(), "{ok}");
    }
    // A declared test file too.
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "tests/unit/meta.yaml",
        "type: test_unit_spec\nscope: {description: x}\nmodule_policies:\n  - {module: m, file: .warden/test_m.py, must_cover: [It works.]}\n",
    );
    write(d.path(), "m/.keep", "");
    let r = run(d.path());
    let g = of_kind(&r, GapKind::SchemaViolation);
    assert_eq!(g.len(), 1, "{:#?}", r.gaps);
    assert!(
        g[0].message
            .starts_with("module_policies[0].file: \".warden/test_m.py\" lies inside .warden/"),
        "{}",
        g[0].message
    );
    assert!(
        of_kind(&r, GapKind::MissingTestFile).is_empty(),
        "{:#?}",
        r.gaps
    );
}

#[test]
fn template_placeholders_were_reported_at_the_first_line_containing_their_text() {
    use warden_contracts::meta::MetaType;
    let d = tempfile::tempdir().expect("tempdir");
    let text = warden_contracts::templates::template(MetaType::RootReadme);
    write(d.path(), "README.meta.yaml", text);
    let r = run(d.path());
    let line_of = |key: &str| {
        r.gaps
            .iter()
            .find(|g| g.key == key)
            .unwrap_or_else(|| panic!("no gap {key}: {:#?}", r.gaps))
            .line
    };
    // "NAME" first occurs in `name: "PROJECT NAME"` (line 7), "COMMAND" in
    // getting_started (line 32): the fields themselves are further down.
    assert_eq!(
        line_of("placeholder:configuration.env_vars_required[0]"),
        39
    );
    assert_eq!(line_of("placeholder:testing.commands[0]"), 43);
    let lines: Vec<&str> = text.lines().collect();
    let placeholders: Vec<_> = r
        .gaps
        .iter()
        .filter(|g| g.key.starts_with("placeholder:"))
        .collect();
    assert!(placeholders.len() > 10, "{:#?}", r.gaps);
    for g in placeholders {
        let field = g.key.trim_start_matches("placeholder:");
        let value = g
            .message
            .rsplit('"')
            .nth(1)
            .expect("the placeholder, quoted");
        let at = lines[g.line - 1];
        assert!(
            at.contains(&format!("\"{value}\"")),
            "{field} reported at line {}: {at:?}",
            g.line
        );
        let last = field.rsplit('.').next().expect("a key");
        if !last.ends_with(']') {
            assert!(
                at.trim_start()
                    .trim_start_matches("- ")
                    .starts_with(&format!("{last}:")),
                "{field} reported at line {}: {at:?}",
                g.line
            );
        }
    }
    // SARIF points at the same lines.
    let sarif = warden_contracts::sarif::sarif(d.path(), &r);
    let text = sarif.to_string();
    assert!(text.contains("\"startLine\":39"), "{text}");
    assert!(text.contains("\"startLine\":43"), "{text}");
}

#[test]
fn a_typo_in_a_meta_type_was_only_a_warning_and_switched_its_contract_off_silently() {
    use warden_contracts::gaps::Severity;
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "t8/README.meta.yaml",
        "# type: a comment first\ntype: subsytem_readme\nsubsystem: {name: x}\n",
    );
    // A project's own type, far from every known one, stays a warning.
    write(d.path(), "x/deploy.meta.yaml", "type: deployment_notes\n");
    let r = run(d.path());
    let g = of_kind(&r, GapKind::UnknownMetaType);
    assert_eq!(g.len(), 2, "{:#?}", r.gaps);
    let typo = g
        .iter()
        .find(|g| g.meta_file == "t8/README.meta.yaml")
        .expect("the typo");
    assert_eq!(typo.severity, Severity::Error, "it fails the check");
    assert_eq!(typo.line, 2, "the line of `type`");
    assert_eq!(
        typo.message,
        "t8/README.meta.yaml: type: unknown meta type \"subsytem_readme\"; did you mean \"subsystem_readme\"? \
         (a typo switches that contract off)"
    );
    assert_eq!(typo.context["did_you_mean"], "subsystem_readme");
    assert!(!r.clean);
    assert_eq!(r.summary.failing, 1, "{:#?}", r.gaps);
    let own = g
        .iter()
        .find(|g| g.meta_file == "x/deploy.meta.yaml")
        .expect("the project's type");
    assert_eq!(own.severity, Severity::Warning, "{own:#?}");
}

/// A `type` that is a list or a number was reported as missing.
#[test]
fn a_type_that_is_a_list_or_a_number_was_called_missing() {
    let d = tempfile::tempdir().expect("tempdir");
    write(d.path(), "a/README.meta.yaml", "type: [subsystem_readme]\n");
    write(d.path(), "b/README.meta.yaml", "type: 5\n");
    let r = run(d.path());
    let g = of_kind(&r, GapKind::InvalidMeta);
    let of = |file: &str| {
        g.iter()
            .find(|g| g.meta_file == file)
            .unwrap_or_else(|| panic!("{file}: {:#?}", r.gaps))
            .message
            .clone()
    };
    assert_eq!(
        of("a/README.meta.yaml"),
        "a/README.meta.yaml: type: a list is not text; write the type's name, e.g. `type: subsystem_readme`"
    );
    assert!(
        of("b/README.meta.yaml").contains("type: 5 is not text"),
        "{:#?}",
        r.gaps
    );
}

/// `a/../.git` was said to leave the repository, which it does not.
#[test]
fn a_path_going_back_up_inside_the_repository_was_said_to_leave_it() {
    assert_eq!(
        check::repo_rel("a/../.git"),
        Err("\"a/../.git\" goes back up with `..`; write the path from the repository's root without it".into())
    );
    assert_eq!(
        check::repo_rel("../x"),
        Err("\"../x\" leaves the repository".into())
    );
    assert_eq!(check::repo_rel("./docs/a.md"), Ok("docs/a.md".into()));
}
