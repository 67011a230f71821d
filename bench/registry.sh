#!/usr/bin/env bash
# Registry maintainer benchmarks (issue 14). Builds a synthetic repository
# (nothing is downloaded): ENTRIES capability entries (default 2,000) with
# their index, and a window of COMMITS commits (default 1,000), each adding a
# document under docs/capN/ of a random capability. Then, timed:
#   1. `warden registry validate` vs reading and YAML-parsing the same files
#      (examples/parse_baseline.rs: the same YAML library, nothing else);
#   2. `warden registry maintain --auto --no-llm --from-git-since BASE --dry-run`
#      (collect, gates, batch validation; the write is measured once below) vs
#      `git diff --name-only BASE` + the same read-and-parse.
# Both twice: with warden's parse cache warm (.warden/state/registry-cache.json,
# as after any earlier warden command on this clone), and cold (the cache
# deleted before every run, so every entry is parsed). The runs are
# interleaved (one of each command per round), with wall and CPU medians.
# Run: bash bench/registry.sh   (ENTRIES=… COMMITS=… RUNS=… to change sizes;
# BEFORE=path/to/another/warden to time it alongside; KEEP=1 keeps the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
ENTRIES=${ENTRIES:-2000}
COMMITS=${COMMITS:-1000}
RUNS=${RUNS:-20}
cargo build --release -q -p warden-cli
cargo build --release -q -p warden-registry --example parse_baseline
W="$PWD/target/$(rustc --print host-tuple)/release/warden"
P="$PWD/target/$(rustc --print host-tuple)/release/examples/parse_baseline"
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
# Interleaved: each round runs every command once, in turn (hyperfine runs
# one command's runs in a block, so a change of load between blocks skews the
# ratio); medians of wall time and of the child's CPU time (user + sys).
# BEFORE=/path/to/an/older/warden adds it as a third command.
cat > "$tmp/inter.py" <<'PY'
import resource, statistics, subprocess, sys, time
n, prep, cmds = int(sys.argv[1]), sys.argv[2], [a.split("=", 1) for a in sys.argv[3:]]
wall = {k: [] for k, _ in cmds}; cpu = {k: [] for k, _ in cmds}
for r in range(n + 2):
    for k, c in cmds:
        if prep != "-":
            subprocess.run(prep, shell=True)
        u0 = resource.getrusage(resource.RUSAGE_CHILDREN); t0 = time.perf_counter()
        subprocess.run(c, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t1 = time.perf_counter(); u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r >= 2:  # two warm-up rounds
            wall[k].append((t1 - t0) * 1e3)
            cpu[k].append((u1.ru_utime - u0.ru_utime + u1.ru_stime - u0.ru_stime) * 1e3)
base = cmds[-1][0]
bw, bc = statistics.median(wall[base]), statistics.median(cpu[base])
for k, _ in cmds:
    w, c = statistics.median(wall[k]), statistics.median(cpu[k])
    print(f"  {k:34s} wall median {w:7.1f} ms (min {min(wall[k]):6.1f}), cpu median {c:6.1f} ms;"
          f" ratio wall {w / bw:.2f}x, cpu {c / bc:.2f}x")
PY
M="registry maintain --auto --no-llm --from-git-since $BASE --dry-run --format json"
run() { # title, prepare, then the warden subcommand and the baseline
  echo "$1"
  local cmds=("warden=$W $3")
  [ -n "${BEFORE:-}" ] && cmds=("before=$BEFORE $3" "${cmds[@]}")
  python3 "$tmp/inter.py" "$RUNS" "$2" "${cmds[@]}" "baseline=$4"
}
"$W" registry validate >/dev/null || true # fills the parse cache
run "registry validate (cache warm) vs read + YAML-parse" - "registry validate --format json" "$P $R"
run "maintain --auto --no-llm --dry-run (cache warm) vs git diff + read + YAML-parse" - "$M" \
  "git diff --name-only $BASE >/dev/null && $P $R"
run "registry validate (cold cache) vs read + YAML-parse" "rm -f $CACHE" "registry validate --format json" "$P $R"
run "maintain --auto --no-llm --dry-run (cold cache) vs git diff + read + YAML-parse" "rm -f $CACHE" "$M" \
  "git diff --name-only $BASE >/dev/null && $P $R"
start=$(date +%s%N)
"$W" registry maintain --auto --no-llm --from-git-since "$BASE" --format json > "$tmp/full.jsonl"
end=$(date +%s%N)
echo "one full maintain --auto --no-llm (writes the run): $(( (end - start) / 1000000 )) ms, $(grep -c '"event":"applied"' "$tmp/full.jsonl") patches applied"
"$W" registry validate >/dev/null && echo "registry validate after the run: ok"
