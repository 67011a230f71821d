#!/usr/bin/env bash
# Benchmarks of the file classifier (issue 12), measured side by side in one run:
#   1. `warden classify --dry-run` on a synthetic inbox  vs  sha256sum on 2 workers
#   2. the same rules for organize (pip organize-tool) in simulate mode (on a subset)
# Usage: bash bench/classify.sh [FILES] [KIB_PER_FILE]   (default 50000 files, 20 KiB ≈ 1 GiB)
# Needs: hyperfine, python3 (+ pip for organize-tool, installed into a throwaway venv).
# WARDEN defaults to target/<host tuple>/release/warden, else …/debug/warden.
set -euo pipefail
N=${1:-50000}
KIB=${2:-20}
HERE=$(cd "$(dirname "$0")/.." && pwd)
WARDEN=${WARDEN:-$HERE/target/$(rustc --print host-tuple)/release/warden}
[ -x "$WARDEN" ] || WARDEN=$HERE/target/$(rustc --print host-tuple)/debug/warden
WORK=$(mktemp -d /tmp/warden-bench-classify-XXXX)
trap 'rm -rf "$WORK"' EXIT
R=$WORK/repo
mkdir -p "$R" && git -C "$R" init -q && (cd "$R" && "$WARDEN" init >/dev/null)

python3 - "$R" "$N" "$KIB" <<'PY'
import os, sys, random
root, n, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(12)
words = ["ledger","ulid","goal","normalize","sync","bridge","report","invoice","budget","plugin",
         "schema","policy","audit","fleet","watch","inbox","module","contract","registry","metric"]
filler = ["alpha","beta","gamma","delta","omega","lorem","ipsum","dolor","sit","amet"]
mods = words[:16]
with open(os.path.join(root, ".warden/modules.yaml"), "w") as f:
    f.write("schema: warden.modules/v1\ninbox: [inbox/]\nmodules:\n")
    for i, m in enumerate(mods):
        kw = [m, words[(i + 3) % len(words)] + "_" + m]
        f.write(f"  - name: {m}\n    folder: modules/{m}/\n    keywords: [{', '.join(kw)}]\n"
                f"    allowed_extensions: [py, md, txt, json]\n")
exts = ["py", "md", "txt", "json", "bin"]
os.makedirs(os.path.join(root, "inbox"), exist_ok=True)
for i in range(n):
    d = os.path.join(root, "inbox", f"d{i % 100:02d}")
    os.makedirs(d, exist_ok=True)
    name = f"{rnd.choice(words)}_{rnd.choice(filler)}_{i}.{rnd.choice(exts)}"
    head = " ".join(rnd.choice(words + filler) for _ in range(40)) + "\n"
    body = (head * (kib * 1024 // len(head) + 1))[: kib * 1024]
    with open(os.path.join(d, name), "w") as f:
        f.write(body)
PY
du -sh "$R/inbox" | sed 's/^/inbox: /'
echo "warden: $WARDEN"
# The dry run checks the proposal against the policy as the real run does,
# its per-run limits included: a 50,000-file inbox is one run here, so the
# bench raises the limits (the default refuses it up front, in user terms).
cd "$R"
sed -i -e 's/max_files: [0-9]*/max_files: 1000000/' -e 's/max_bytes: [0-9]*/max_bytes: 1099511627776/' .warden/policy.yaml
grep -q 'max_files: 1000000' .warden/policy.yaml || { echo "bench: could not raise limits.max_files in .warden/policy.yaml" >&2; exit 1; }
# SKIP_HASH=1: only the organize comparison (e.g. `SKIP_HASH=1 bash bench/classify.sh 2000`).
if [ -z "${SKIP_HASH:-}" ]; then
hyperfine --warmup 1 --runs 5 --export-markdown "$WORK/hash.md" \
  -n "warden classify --dry-run" "$WARDEN classify --dry-run --format json > /dev/null" \
  -n "sha256sum, 2 workers" "find inbox -type f -print0 | xargs -0 -P2 -n 1000 sha256sum > /dev/null"
cat "$WORK/hash.md"
fi

# organize (pip organize-tool), simulate mode, the same rules, on a subset.
SUB=${ORGANIZE_FILES:-2000}
ORGANIZE=${ORGANIZE:-}
if [ -z "$ORGANIZE" ]; then
  python3 -m venv "$WORK/venv" >/dev/null && "$WORK/venv/bin/pip" -q install organize-tool >/dev/null
  ORGANIZE=$WORK/venv/bin/organize
fi
"$ORGANIZE" --version
S=$WORK/sub && mkdir -p "$S" && git -C "$S" init -q && (cd "$S" && "$WARDEN" init >/dev/null)
cp "$R/.warden/modules.yaml" "$R/.warden/policy.yaml" "$S/.warden/" && mkdir -p "$S/inbox"
find "$R/inbox" -type f | sort > "$WORK/all.txt"
head -n "$SUB" "$WORK/all.txt" | while read -r f; do cp "$f" "$S/inbox/"; done
python3 - "$S" > "$WORK/organize.yaml" <<'PY'
import sys, re
root = sys.argv[1]
text = open(root + "/.warden/modules.yaml").read()
mods = re.findall(r"name: (\w+)\n    folder: (\S+)\n    keywords: \[([^\]]*)\]", text)
print("rules:")
for name, folder, kws in mods:
    kw = [k.strip() for k in kws.split(",")]
    print(f"  - name: {name}\n    locations: [{root}/inbox]\n    subfolders: true\n    filters:\n"
          f"      - extension: [py, md, txt, json]\n      - name:\n          contains: [{', '.join(kw)}]\n"
          f"    actions:\n      - move: {root}/{folder}")
PY
cd "$S"
hyperfine --warmup 1 --runs ${ORGANIZE_RUNS:-3} --export-markdown "$WORK/organize.md" \
  -n "warden classify --dry-run ($SUB files)" "$WARDEN classify --dry-run --format json > /dev/null" \
  -n "organize sim ($SUB files)" "$ORGANIZE sim $WORK/organize.yaml > /dev/null"
cat "$WORK/organize.md"
