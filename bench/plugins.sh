#!/usr/bin/env bash
# Plugin runtime benchmarks (release build, hyperfine):
#  1. dispatch overhead: `warden run FileDetected` with one item to one python
#     plugin, next to the same plugin spawned bare with the same request;
#  2. a FileDetected batch of 10,000 files to one plugin: warden's overhead per
#     file = (warden run - bare plugin run) / 10,000;
#  3. `warden plugin validate --all` on 100 plugins;
#  4. dispatch overhead of the scaffolded `sh` plugin (one item), in a
#     repository of its own, next to the same handler run bare;
#  5. the same after 250 earlier dispatches (250 run directories in .runs/).
# Steps 4 and 5 also run the floor (bench/dispatch_floor.c, built with cc):
# the bare handler inside the same namespaces, read-only mount, dropped
# capabilities and Landlock rules as warden's helper, plus the record a
# dispatch must leave (one ledger line fdatasync'd, a run directory).
# `bash bench/plugins.sh sh` runs only steps 4 and 5 (WARDEN_BIN=… skips the
# build and uses that binary).
# `bash bench/plugins.sh helpers` runs step 6 only: one hyperfine of the bare
# handler, `warden run` through the small `warden-sandbox` beside warden,
# the same warden alone in a directory (so through `warden __sandbox`),
# each of WARDEN_BASE's binaries (space-separated; e.g. main's release
# binary, alone in its directory) when set,
# and the floor; CPU = user + system of each command and its children.
# The plugin proposes nothing for these inputs, so each run is a full dispatch
# (pinned-manifest check, sandbox, snapshot, protocol, ledgered record) without
# a file change. Run: bash bench/plugins.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
if ! command -v hyperfine >/dev/null; then
  apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null
fi
ONLY=${1:-all}
if [ -z "${WARDEN_BIN:-}" ]; then cargo build --release -q; fi
W="${WARDEN_BIN:-$PWD/target/$(rustc --print host-tuple)/release/warden}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
git init -q -b main repo && cd repo
"$W" init >/dev/null
"$W" plugin new bench --event FileDetected --lang python --yes >/dev/null
"$W" plugin enable bench --yes >/dev/null

python3 - "$tmp" <<'EOF'
import hashlib, json, sys
tmp = sys.argv[1]
hello = json.dumps({"type": "hello", "protocol": {"major": 1, "features": ["batch"]}})
def item(i):
    return {"path": f"inbox/file{i:05}.md", "sha256": hashlib.sha256(str(i).encode()).hexdigest(), "size": 10}
for name, n in [("one", 1), ("batch", 10000)]:
    items = [item(i) for i in range(n)]
    json.dump(items, open(f"{tmp}/{name}.json", "w"))
    req = json.dumps({"type": "request", "op": "handle", "event": "FileDetected", "input": {"items": items}})
    open(f"{tmp}/{name}.stdin", "w").write(hello + "\n" + req + "\n")
EOF

PLUGIN="plugins/bench"
if [ "$ONLY" != sh ] && [ "$ONLY" != helpers ]; then
echo "## 1. dispatch overhead (one event, one item)"
hyperfine -N --warmup 5 --runs 40 \
  "sh -c 'cd $PLUGIN && python3 src/handler.py < $tmp/one.stdin'" \
  "$W run FileDetected --input $tmp/one.json --yes" \
  --export-json "$tmp/one.bench.json" >/dev/null
echo "## 2. FileDetected batch of 10,000 files"
hyperfine -N --warmup 2 --runs 10 \
  "sh -c 'cd $PLUGIN && python3 src/handler.py < $tmp/batch.stdin'" \
  "$W run FileDetected --input $tmp/batch.json --yes" \
  --export-json "$tmp/batch.bench.json" >/dev/null

for i in $(seq 1 99); do
  "$W" plugin new "p$i" --event PreCommit --lang sh --yes >/dev/null
done
echo "## 3. plugin validate --all (100 plugins)"
hyperfine -N --warmup 1 --runs 5 "$W plugin validate --all" --export-json "$tmp/validate.bench.json" >/dev/null
fi

if [ "$ONLY" = helpers ]; then
  echo "## 6. the sandbox helpers side by side (sh plugin, one item)"
  cc -O2 -o "$tmp/dispatch_floor" "$SRC/bench/dispatch_floor.c"
  mkdir -p "$tmp/floor-scratch" "$tmp/floor-runs" "$tmp/alone"
  ln "$W" "$tmp/alone/warden" 2>/dev/null || cp "$W" "$tmp/alone/warden"
  FLOOR="$tmp/dispatch_floor $tmp/shrepo $tmp/floor-scratch $tmp/one.stdin $tmp/floor.ledger $tmp/floor-runs -- sh src/handler.sh"
  cd "$tmp" && git init -q -b main shrepo && cd shrepo
  "$W" init >/dev/null
  "$W" plugin new shb --event FileDetected --lang sh --yes >/dev/null
  "$W" plugin enable shb --yes >/dev/null
  names=(bare "warden (warden-sandbox)" "warden alone (__sandbox)")
  cmds=("sh -c 'cd plugins/shb && sh src/handler.sh < $tmp/one.stdin'"
        "$W run FileDetected --input $tmp/one.json --yes"
        "$tmp/alone/warden run FileDetected --input $tmp/one.json --yes")
  for base in ${WARDEN_BASE:-}; do
    names+=("base ($base)")
    cmds+=("$base run FileDetected --input $tmp/one.json --yes")
  done
  names+=(floor)
  cmds+=("sh -c 'cd plugins/shb && $FLOOR'")
  for c in "${cmds[@]:1:${#cmds[@]}-2}"; do $c >/dev/null; done
  # The isolation probe's cache holds the last helper used (the loop above
  # ended with another binary): one dispatch of W first, so the count below is
  # of a dispatch that finds its probe cached.
  "$W" run FileDetected --input "$tmp/one.json" --yes >/dev/null
  echo "execs of warden-sandbox in one run: $(strace -f -e trace=execve -o "$tmp/strace" "$W" run FileDetected --input "$tmp/one.json" --yes >/dev/null; grep -c 'execve(".*warden-sandbox"' "$tmp/strace" || true)"
  hyperfine -N --warmup 10 --runs "${RUNS:-100}" "${cmds[@]}" --export-json "$tmp/helpers.bench.json" >/dev/null
  NAMES=$(printf '%s\n' "${names[@]}") python3 - "$tmp" <<'EOF2'
import json, os, sys
r = json.load(open(f"{sys.argv[1]}/helpers.bench.json"))["results"]
names = os.environ["NAMES"].splitlines()
b = r[0]
bm, bmin, bc = b["median"], min(b["times"]), b["user"] + b["system"]
print("| command | median, min, CPU (ms) | / bare (median, min, CPU) |")
print("|---|---|---|")
for n, x in zip(names, r):
    m, mn, c = x["median"], min(x["times"]), x["user"] + x["system"]
    print(f"| {n} | {m*1e3:.2f}, {mn*1e3:.2f}, {c*1e3:.2f} | {m/bm:.2f}×, {mn/bmin:.2f}×, {c/bc:.2f}× |")
print(f"load average: {os.getloadavg()}")
EOF2
  exit 0
fi

echo "## 4. dispatch overhead of the sh plugin (one event, one item)"
cc -O2 -o "$tmp/dispatch_floor" "$SRC/bench/dispatch_floor.c"
mkdir -p "$tmp/floor-scratch" "$tmp/floor-runs"
FLOOR="$tmp/dispatch_floor $tmp/shrepo $tmp/floor-scratch $tmp/one.stdin $tmp/floor.ledger $tmp/floor-runs -- sh src/handler.sh"
(
  cd "$tmp" && git init -q -b main shrepo && cd shrepo
  "$W" init >/dev/null
  "$W" plugin new shb --event FileDetected --lang sh --yes >/dev/null
  "$W" plugin enable shb --yes >/dev/null
  hyperfine -N --warmup 10 --runs 100 \
    "sh -c 'cd plugins/shb && sh src/handler.sh < $tmp/one.stdin'" \
    "$W run FileDetected --input $tmp/one.json --yes" \
    "sh -c 'cd plugins/shb && $FLOOR'" \
    --export-json "$tmp/sh.bench.json" >/dev/null
  echo "## 5. the same after 250 earlier dispatches"
  for i in $(seq 1 250); do "$W" run FileDetected --input "$tmp/one.json" --yes >/dev/null; done
  echo "runs in .runs/: $(ls .runs | wc -l)"
  hyperfine -N --warmup 10 --runs 100 \
    "sh -c 'cd plugins/shb && sh src/handler.sh < $tmp/one.stdin'" \
    "$W run FileDetected --input $tmp/one.json --yes" \
    "sh -c 'cd plugins/shb && $FLOOR'" \
    --export-json "$tmp/sh250.bench.json" >/dev/null
)

python3 - "$tmp" <<'EOF'
import json, sys
tmp = sys.argv[1]
import os, statistics
def means(name):
    r = json.load(open(f"{tmp}/{name}.bench.json"))["results"]
    return [(x["mean"], x["stddev"]) for x in r]
def medians(name):
    r = json.load(open(f"{tmp}/{name}.bench.json"))["results"]
    return [(x["median"], min(x["times"])) for x in r]
def cpu(name):
    r = json.load(open(f"{tmp}/{name}.bench.json"))["results"]
    return [(x["user"] + x["system"]) for x in r]
print("| repository | bare (median, min, CPU) | warden run | floor | warden / bare (median, min, CPU) | floor / bare |")
print("|---|---|---|---|---|---|")
for name, what in [("sh", "fresh"), ("sh250", "250 past runs")]:
    (bm, bmin), (wm, wmin), (fm, fmin) = medians(name)
    bc, wc, fc = cpu(name)
    cell = lambda m, mn, c: f"{m*1e3:.2f}, {mn*1e3:.2f}, {c*1e3:.2f} ms"
    print(f"| {what} | {cell(bm, bmin, bc)} | {cell(wm, wmin, wc)} | {cell(fm, fmin, fc)} "
          f"| **{wm/bm:.2f}×, {wmin/bmin:.2f}×, {wc/bc:.2f}×** | {fm/bm:.2f}×, {fmin/bmin:.2f}×, {fc/bc:.2f}× |")
print(f"load average: {os.getloadavg()}")
if not os.path.exists(f"{tmp}/one.bench.json"):
    sys.exit(0)
(bare, bs), (war, ws) = means("one")
print("| measurement | bare plugin | warden run | ratio / overhead |")
print("|---|---|---|---|")
print(f"| 1 event, 1 item | {bare*1e3:.1f} ± {bs*1e3:.1f} ms | {war*1e3:.1f} ± {ws*1e3:.1f} ms | **{war/bare:.2f}×** (target ≤ 1.2×) |")
(bare, bs), (war, ws) = means("batch")
per = (war - bare) / 10000 * 1e6
print(f"| 10,000-file batch | {bare*1e3:.1f} ± {bs*1e3:.1f} ms | {war*1e3:.1f} ± {ws*1e3:.1f} ms | **{per:.1f} µs/file** (target ≤ 50) |")
[(v, vs)] = means("validate")
print(f"| `plugin validate --all`, 100 plugins | | {v*1e3:.0f} ± {vs*1e3:.0f} ms | target < 1 s |")
EOF
