#!/usr/bin/env bash
# Contracts benchmarks (issue 13). Builds synthetic repositories (nothing is
# downloaded) and times, with hyperfine, side by side in one run:
#   1. `warden check` vs the seed's ci_meta_check_and_tests.py (python3 +
#      PyYAML) on a tree of META/2 subsystems (META meta files: a
#      README.meta.yaml and a tests.meta.yaml each) and FILES files in all;
#      10 % of the READMEs and 10 % of the test files are missing. Both must
#      report the same gaps (checked before timing). The layout is one the
#      seed's script handles: README metas with `location: README.md` (it
#      crashes without one), run from the repository root.
#   2. `warden check` vs alint (`pip install alint`, a native binary) with the
#      same existence rules written as .alint.yml: a `pair` rule for every
#      README.meta.yaml and one `file_exists` rule per declared test file.
#   3. `warden gen docs --check` over DOCS managed READMEs vs reading and
#      hashing the same files (`sha256sum`): warm (remembered proofs) and cold
#      (no proofs, a first run).
# Needs python3 with PyYAML, hyperfine, git; alint is skipped when absent.
# Run: bash bench/contracts.sh     (META=… FILES=… DOCS=… RUNS=… to change sizes;
#      KEEP=1 keeps the trees, e.g. for perf; delete them afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
META=${META:-5000}
FILES=${FILES:-50000}
DOCS=${DOCS:-1000}
RUNS=${RUNS:-10}
ALINT=${ALINT:-$(command -v alint || true)}
cargo build --release -q -p warden-cli
W="$PWD/target/$(rustc --print host-tuple)/release/warden"
SEED="$PWD/crates/warden-contracts/tests/fixtures/ci_meta_check_and_tests.py"
tmp=$(mktemp -d)
if [ -n "${KEEP:-}" ]; then echo "trees kept in $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
export HOME="$tmp" GIT_CONFIG_NOSYSTEM=1

python3 - "$tmp/big" "$META" "$FILES" "$DOCS" "$tmp/docs" <<'PY'
import os, sys
root, meta, files, docs, docroot = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
subs = meta // 2
gold = ["Subsystem overview", "Responsibilities and boundaries", "Directory layout", "Key components",
        "Data models and contracts", "Execution and lifecycle", "Configuration", "Observability",
        "Failure modes and resilience", "Working with AI on this subsystem"]
readme = "# S\n\n" + "".join(f"## {h}\n\nText.\n\n" for h in gold)
n = 0
def w(p, t):
    global n
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f: f.write(t)
    n += 1
rules = ["version: 1", "rules:", "  - id: readme-for-meta", "    kind: pair",
         '    primary: "**/README.meta.yaml"', '    partner: "{dir}/README.md"', "    level: error"]
per = max(0, (files - meta - subs * 2) // subs)
for i in range(subs):
    d = f"pkg/s{i:05d}"
    w(f"{root}/{d}/README.meta.yaml", f"type: subsystem_readme\nlocation: README.md\nsubsystem:\n  name: S{i}\n  purpose: Part {i}.\n")
    test = f"tests/unit/test_s{i:05d}.py"
    w(f"{root}/{d}/tests.meta.yaml", f"type: subsystem_test_spec\nsubsystem:\n  name: S{i}\nunit_tests:\n  modules:\n    - path: {d}/engine.py\n      file: {test}\n      must_cover: [\"Runs.\"]\n")
    rules += [f"  - id: test-s{i:05d}", "    kind: file_exists", f'    paths: ["{test}"]', "    level: error"]
    if i % 10 != 3:
        w(f"{root}/{d}/README.md", readme)
    if i % 10 != 7:
        w(f"{root}/{test}", "def test_runs():\n    assert True\n")
    # The module the test spec names as its subject (a missing one is a gap).
    w(f"{root}/{d}/engine.py", "def run():\n    return 1\n")
    for j in range(max(0, per - 1)):
        w(f"{root}/{d}/m{j:03d}.py", f"X = {j}\n")
j = 0
while n < files:
    w(f"{root}/assets/a{j:06d}.txt", "x\n"); j += 1
with open(f"{root}/.alint.yml", "w") as f: f.write("\n".join(rules) + "\n")
for i in range(docs):
    w(f"{docroot}/d/s{i:04d}/README.meta.yaml", f"type: subsystem_readme\nsubsystem:\n  name: S{i}\n  purpose: Part {i}.\nresponsibilities:\n  handles: [a, b]\n")
print(f"tree: {n} files, {subs*2} meta files; docs tree: {docs} metas")
PY
cp "$SEED" "$tmp/big/ci_meta_check_and_tests.py"
git -C "$tmp/big" init -q
git -C "$tmp/docs" init -q

# Same gaps: (kind, target) from both, compared.
(cd "$tmp/big" && python3 ci_meta_check_and_tests.py > "$tmp/seed.out" || true)
python3 - "$tmp/big" "$tmp/seed.out" <<'PY' > "$tmp/seed.gaps"
import sys
root, out = sys.argv[1], sys.argv[2]
for l in open(out):
    if l.startswith("- "):
        kind, rest = l[2:].split(": ", 1)
        t = rest.split(" target=")[1].split(" module=")[0]
        print(kind, t.replace(root + "/", ""))
PY
"$W" check --repo "$tmp/big" --no-report --format json > "$tmp/warden.json" || true
python3 -c 'import json,sys; [print(g["kind"], g["target_file"]) for g in json.load(open(sys.argv[1]))["gaps"]]' "$tmp/warden.json" > "$tmp/warden.gaps"
if diff <(sort "$tmp/seed.gaps") <(sort "$tmp/warden.gaps") > /dev/null; then
  echo "same gaps: $(wc -l < "$tmp/warden.gaps") from both"
else
  echo "GAPS DIFFER:"; diff <(sort "$tmp/seed.gaps") <(sort "$tmp/warden.gaps") | head; exit 1
fi
if [ -n "$ALINT" ]; then
  (cd "$tmp/big" && "$ALINT" check --compact --quiet > "$tmp/alint.out" 2>&1 || true)
  echo "alint: $(grep -c ': error: ' "$tmp/alint.out") violations"
fi

echo "== 1. warden check vs the seed's script"
hyperfine -N --warmup 1 --runs "$RUNS" -i \
  -n "warden check" "$W check --repo $tmp/big --no-report" \
  -n "seed ci_meta_check_and_tests.py" "python3 $tmp/big/ci_meta_check_and_tests.py"
if [ -n "$ALINT" ]; then
  echo "== 2. warden check vs alint (same existence rules)"
  hyperfine -N --warmup 1 --runs "$RUNS" -i \
    -n "warden check" "$W check --repo $tmp/big --no-report" \
    -n "alint check" "$ALINT check --quiet $tmp/big"
else
  echo "== 2. alint not installed (pip install alint): skipped"
fi

echo "== 3. gen docs --check over $DOCS managed documents vs read+hash"
(cd "$tmp/docs" && "$W" init > /dev/null && "$W" gen docs --yes > /dev/null)
find "$tmp/docs/d" -name README.md -print0 | sort -z > "$tmp/docs.list"
# Remembered proofs (.warden/state/gen-docs-proofs.json) keep only changes
# older than 2 s: wait, so the warm runs measure the steady state (a second
# check of an unchanged tree); the cold runs delete the proofs before each run
# (a first check, e.g. CI on a fresh clone).
sleep 3
hyperfine -N --warmup 3 --runs "$RUNS" \
  --prepare true --prepare "rm -f $tmp/docs/.warden/state/gen-docs-proofs.json" --prepare true \
  -n "warden gen docs --check (remembered proofs)" "$W gen docs --check --repo $tmp/docs" \
  -n "warden gen docs --check (first run, no proofs)" "$W gen docs --check --repo $tmp/docs" \
  -n "sha256sum of the documents" "xargs -0 -a $tmp/docs.list sha256sum"
