#!/usr/bin/env bash
# Registry maintainer benchmarks (issue 14). Builds a synthetic repository
# (nothing is downloaded): ENTRIES capability entries (default 2,000) with
# their index, and a window of COMMITS commits (default 1,000), each adding a
# document under docs/capN/ of a random capability. Then, timed interleaved
# with hyperfine:
#   1. `warden registry validate` vs reading and YAML-parsing the same files
#      (examples/parse_baseline.rs: the same YAML library, nothing else);
#   2. `warden registry maintain --auto --no-llm --from-git-since BASE --dry-run`
#      (collect, gates, batch validation; the write is measured once below) vs
#      `git diff --name-only BASE` + the same read-and-parse.
# Both twice: with warden's parse cache warm (.warden/state/registry-cache.json,
# as after any earlier warden command on this clone), and cold (the cache
# deleted before every run, so every entry is parsed).
# Run: bash bench/registry.sh   (ENTRIES=… COMMITS=… RUNS=… to change sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
ENTRIES=${ENTRIES:-2000}
COMMITS=${COMMITS:-1000}
RUNS=${RUNS:-20}
cargo build --release -q -p warden-cli
cargo build --release -q -p warden-registry --example parse_baseline
W="$PWD/target/release/warden"
P="$PWD/target/release/examples/parse_baseline"
tmp=$(mktemp -d)
[ -n "${KEEP:-}" ] && echo "keeping $tmp" >&2 || trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home"
export HOME="$tmp/home" GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@warden.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@warden.invalid
R="$tmp/repo"
git init -q -b main "$R"
python3 - "$R" "$ENTRIES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{root}/registry/capabilities")
os.makedirs(f"{root}/registry/indexes")
rows = []
for i in range(n):
    os.makedirs(f"{root}/src/cap{i}", exist_ok=True)
    with open(f"{root}/src/cap{i}/lib.py", "w") as f:
        f.write(f"# capability {i}\n")
    with open(f"{root}/registry/capabilities/cap{i}.md", "w") as f:
        f.write(f"---\nid: capability.bench.cap{i}\ntitle: Capability {i}\nmaturity:\n  D: {{current: 1, target: 3}}\n  A: {{current: 0}}\n  C: {{current: 1}}\n  R: {{current: 0}}\npaths:\n- src/cap{i}/**\n- docs/cap{i}/**\nevidence:\n  tests:\n  - src/cap{i}/lib.py\nrelations:\n  depends_on:\n  - capability.bench.cap{(i + 1) % n}\n---\n# Capability {i}\n\nWhat it does, who uses it, how to call it.\n")
    rows.append(f"- id: capability.bench.cap{i}\n  entry: registry/capabilities/cap{i}.md\n  vector: D1/A0/C1/R0\n")
with open(f"{root}/registry/indexes/capabilities.yaml", "w") as f:
    f.write("updated: \"2026-01-01\"\ncapabilities:\n" + "".join(rows))
PY
(cd "$R" && "$W" init >/dev/null && git add -A && git commit -qm base)
BASE=$(git -C "$R" rev-parse HEAD)
echo "making $COMMITS commits ..." >&2
python3 - "$R" "$ENTRIES" "$COMMITS" <<'PY' | git -C "$R" fast-import --quiet
import sys, random
root, n, commits = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(7)
t = 1767225600
for c in range(commits):
    k = random.randrange(n)
    body = f"page {c}\n".encode()
    print("commit refs/heads/main")
    print(f"committer bench <bench@warden.invalid> {t + c} +0000")
    msg = f"docs {c}".encode()
    print(f"data {len(msg)}"); sys.stdout.flush(); sys.stdout.buffer.write(msg + b"\n")
    if c == 0:
        print("from refs/heads/main^0")
    print(f"M 100644 inline docs/cap{k}/page{c}.md")
    print(f"data {len(body)}"); sys.stdout.flush(); sys.stdout.buffer.write(body + b"\n")
PY
git -C "$R" reset -q --hard main
git -C "$R" status --porcelain >/dev/null
echo "changed since BASE: $(git -C "$R" diff --name-only "$BASE" | wc -l) files" >&2
cd "$R"
CACHE="$R/.warden/state/registry-cache.json"
hyperfine -N --warmup 3 --runs "$RUNS" \
  -n "warden registry validate" "$W registry validate --format json" \
  -n "read + YAML-parse" "$P $R" \
  --export-json "$tmp/validate.json" >&2
hyperfine --warmup 2 --runs "$RUNS" \
  -n "warden registry maintain --auto --no-llm --dry-run" "$W registry maintain --auto --no-llm --from-git-since $BASE --dry-run --format json >/dev/null" \
  -n "git diff --name-only + read + YAML-parse" "git diff --name-only $BASE >/dev/null && $P $R >/dev/null" \
  --export-json "$tmp/maintain.json" >&2
hyperfine --warmup 2 --runs "$RUNS" --prepare "rm -f $CACHE" \
  -n "warden registry validate (cold cache)" "$W registry validate --format json >/dev/null" \
  -n "read + YAML-parse" "$P $R >/dev/null" \
  --export-json "$tmp/validate-cold.json" >&2
hyperfine --warmup 2 --runs "$RUNS" --prepare "rm -f $CACHE" \
  -n "warden registry maintain --auto --no-llm --dry-run (cold cache)" "$W registry maintain --auto --no-llm --from-git-since $BASE --dry-run --format json >/dev/null" \
  -n "git diff --name-only + read + YAML-parse" "git diff --name-only $BASE >/dev/null && $P $R >/dev/null" \
  --export-json "$tmp/maintain-cold.json" >&2
for f in validate maintain validate-cold maintain-cold; do
  python3 - "$tmp/$f.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
a, b = r[0], r[1]
print(f"{a['command']}: median {a['median']*1000:.1f} ms (min {a['min']*1000:.1f}); "
      f"{b['command']}: median {b['median']*1000:.1f} ms (min {b['min']*1000:.1f}); "
      f"ratio {a['median']/b['median']:.2f}x")
PY
done
start=$(date +%s%N)
"$W" registry maintain --auto --no-llm --from-git-since "$BASE" --format json > "$tmp/full.jsonl"
end=$(date +%s%N)
echo "one full maintain --auto --no-llm (writes the run): $(( (end - start) / 1000000 )) ms, $(grep -c '"event":"applied"' "$tmp/full.jsonl") patches applied"
"$W" registry validate >/dev/null && echo "registry validate after the run: ok"
