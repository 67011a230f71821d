//! The contracts part of `warden demo`: a small repository that does not
//! comply with its meta contracts, its gap report, `warden fix`, the README
//! generated from its meta, a hand edit preserved across regeneration, a
//! pending test filled in, and the check green. Runs the real `warden`.

use super::demo::{demo_git, err, git_ok, write};
use super::demo_plugins::{show, warden};
use crate::output::CliError;
use std::path::Path;

const README_META: &str = "location: \"/\"\ntype: root_readme\nproject:\n  name: \"queue-service\"\n  one_liner: \"A tiny job queue.\"\n  goals:\n    - \"Jobs run once, in order.\"\ngetting_started:\n  quickstart_commands:\n    - \"python -m queue_service\"\n";
const TESTS_META: &str = "type: test_unit_spec\nscope:\n  description: \"Fast tests, no services.\"\nmodule_policies:\n  - module: \"queue_service/queue.py\"\n    file: \"tests/unit/test_queue.py\"\n    must_cover:\n      - \"Jobs come out in the order they went in.\"\n";

/// Steps `first`.. of the demo. Returns whether everything behaved as promised.
pub fn run(base: &Path, first: u32, step: fn(u32, &str), say: fn(&str)) -> Result<bool, CliError> {
    let mut ok = true;
    let root = base.join("contracts-demo");
    std::fs::create_dir_all(&root).map_err(err)?;
    git_ok(demo_git(&root).init())?;
    warden(&root, &["init"])?;
    write(&root, "README.meta.yaml", README_META)?;
    write(&root, "tests/unit/meta.yaml", TESTS_META)?;
    write(
        &root,
        "queue_service/queue.py",
        "def drain(q):\n    return list(q)\n",
    )?;

    step(first, "Meta contracts on a repository that does not comply");
    say(
        "README.meta.yaml asks for a root README with the twelve gold-standard sections;\ntests/unit/meta.yaml asks for tests/unit/test_queue.py covering one behaviour.",
    );
    let (code, out) = warden(&root, &["check"])?;
    show("check", &out, 6);
    ok &= code == 1 && root.join("meta-gaps.yaml").is_file();
    say(&format!(
        "Exit {code}: gaps, each with a stable id; meta-gaps.yaml is the machine-readable report."
    ));

    step(first + 1, "warden fix: the generators, as one undoable run");
    let (code, out) = warden(&root, &["fix", "--yes"])?;
    show("fix --yes", &out, 3);
    ok &= code == 0 && root.join("README.md").is_file();
    let readme = std::fs::read_to_string(root.join("README.md")).map_err(err)?;
    say("README.md was rendered from its meta, every section in a checksummed AUTO fence:");
    for l in readme.lines().skip(3).take(8) {
        println!("     | {l}");
    }

    step(
        first + 2,
        "A hand edit outside the fences survives regeneration",
    );
    let edited = readme.replace(
        "## Getting started\n",
        "## Getting started\n\nAsk #queue on chat before deploying.\n",
    );
    write(&root, "README.md", &edited)?;
    write(
        &root,
        "README.meta.yaml",
        &README_META.replace("A tiny job queue.", "A tiny, durable job queue."),
    )?;
    let (code, out) = warden(&root, &["gen", "docs", "--check"])?;
    show("gen docs --check", &out, 4);
    ok &= code == 1;
    let (code, _) = warden(&root, &["gen", "docs", "--yes"])?;
    let after = std::fs::read_to_string(root.join("README.md")).map_err(err)?;
    let kept = after.contains("Ask #queue on chat before deploying.") && after.contains("durable");
    ok &= code == 0 && kept;
    say(&format!(
        "The meta change is in, the hand-written line is still there: {kept}."
    ));

    step(first + 3, "Pending tests, filled in; the check is green");
    let (_, out) = warden(&root, &["check"])?;
    show("check", &out, 2);
    let test = std::fs::read_to_string(root.join("tests/unit/test_queue.py")).map_err(err)?;
    let filled: String = test
        .lines()
        .filter(|l| !l.contains("@pytest.mark.skip(reason=\"pending:"))
        .map(|l| {
            if l.contains("raise NotImplementedError") {
                "    from queue_service.queue import drain\n    assert drain([1, 2, 3]) == [1, 2, 3]".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    write(&root, "tests/unit/test_queue.py", &filled)?;
    say("A person wrote the assertion and removed the skip marker.");
    let (code, out) = warden(&root, &["check"])?;
    show("check", &out, 2);
    ok &= code == 0 && !root.join("meta-gaps.yaml").exists();
    say(&format!("Exit {code}; the stale meta-gaps.yaml is gone."));
    Ok(ok)
}
