#!/usr/bin/env bash
# Duplicate detection (issue 12), measured side by side in one run:
#   warden classify --duplicates  vs  jdupes -r  vs  fclones group
# over a synthetic tree of N files (default 50,000) with real duplicate groups:
# about 12% of the files are byte copies of another (groups of 2–5), about 10%
# share a size and their first 4 KiB with another file but differ at the end,
# the rest are unique; sizes 1–64 KiB. Same groups are checked, then timed.
# Usage: bash bench/classify-dupes.sh [FILES]
# Needs: hyperfine, python3; installs jdupes (apt-get) and fclones (cargo install)
# when missing. WARDEN defaults to target/<host tuple>/release/warden, else …/debug/warden.
set -euo pipefail
N=${1:-50000}
HERE=$(cd "$(dirname "$0")/.." && pwd)
WARDEN=${WARDEN:-$HERE/target/$(rustc --print host-tuple)/release/warden}
[ -x "$WARDEN" ] || WARDEN=$HERE/target/$(rustc --print host-tuple)/debug/warden
command -v jdupes >/dev/null || apt-get install -y jdupes >/dev/null
command -v fclones >/dev/null || cargo install fclones --locked >/dev/null
FCLONES=$(command -v fclones || echo "$HOME/.cargo/bin/fclones")
WORK=$(mktemp -d /tmp/warden-bench-dupes-XXXX)
trap 'rm -rf "$WORK"' EXIT
R=$WORK/repo
mkdir -p "$R" && git -C "$R" init -q && (cd "$R" && "$WARDEN" init >/dev/null)

python3 - "$R/tree" "$N" <<'PY'
import os, sys, random, shutil
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
paths = []
i = 0
def new_path():
    global i
    d = os.path.join(root, f"d{i % 200:03d}", f"s{(i // 200) % 5}")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, f"f{i}.dat")
    i += 1
    return p
while i < n:
    size = rnd.randint(1, 64) * 1024 - rnd.randint(0, 1023)
    data = rnd.randbytes(size)
    p = new_path()
    with open(p, "wb") as f:
        f.write(data)
    r = rnd.random()
    if r < 0.05 and i < n:          # a group of 2-5 identical files
        for _ in range(rnd.randint(1, 4)):
            if i >= n: break
            shutil.copyfile(p, new_path())
    elif r < 0.15 and i < n and size > 4096:  # same size and first 4 KiB, different tail
        with open(new_path(), "wb") as f:
            f.write(data[:-1] + bytes([(data[-1] + 1) % 256]))
PY
cd "$R"
du -sh tree | sed 's/^/tree: /'
echo "files: $(find tree -type f | wc -l)"
echo "warden: $WARDEN"; jdupes --version | head -1; "$FCLONES" --version

# Same groups: each tool's groups as sorted lists of sorted paths.
"$WARDEN" classify --duplicates tree --format json | python3 -c '
import json, sys
r = json.load(sys.stdin)
for g in sorted(sorted(g["paths"]) for g in r["groups"]): print(" ".join(g))' > "$WORK/warden.txt"
jdupes -r -q tree | python3 -c '
import sys
groups, cur = [], []
for line in sys.stdin.read().split("\n"):
    if line: cur.append(line)
    elif cur: groups.append(sorted(cur)); cur = []
if cur: groups.append(sorted(cur))
for g in sorted(groups): print(" ".join(g))' > "$WORK/jdupes.txt"
"$FCLONES" group tree --format json 2>/dev/null | python3 -c '
import json, sys, os
r = json.load(sys.stdin)
cwd = os.getcwd() + "/"
gs = sorted(sorted(f.removeprefix(cwd) for f in g["files"]) for g in r["groups"])
for g in gs: print(" ".join(g))' > "$WORK/fclones.txt"
echo "groups: warden $(wc -l < "$WORK/warden.txt"), jdupes $(wc -l < "$WORK/jdupes.txt"), fclones $(wc -l < "$WORK/fclones.txt")"
cmp "$WORK/warden.txt" "$WORK/jdupes.txt" && echo "warden = jdupes: same groups"
cmp "$WORK/warden.txt" "$WORK/fclones.txt" && echo "warden = fclones: same groups"

hyperfine --warmup 1 --runs ${RUNS:-5} --export-markdown "$WORK/dupes.md" \
  -n "warden classify --duplicates" "$WARDEN classify --duplicates tree --format json > /dev/null" \
  -n "jdupes -r" "jdupes -r -q tree > /dev/null" \
  -n "fclones group" "$FCLONES group tree > /dev/null 2>&1"
cat "$WORK/dupes.md"
