#!/usr/bin/env bash
# Sync guardian benchmarks (issue 4). Builds synthetic repositories (nothing is
# downloaded): one of FILES files (default 50,000) and three of FLEET_FILES
# files each (default 34,000, ~100k in total), each with a bare remote, a
# local commit and a remote commit (diverged, no conflict), an edit and a few
# untracked files. Then, timed interleaved:
#   1. `warden sync audit --no-fetch` vs the git commands that compute the same
#      facts: `status --porcelain=v2 --branch -uall` + `rev-list --left-right
#      --count` + `merge-tree --write-tree`;
#   2. `warden fleet audit --no-fetch --jobs 2` over the three repos vs those
#      git commands run for each repo, 2-way parallel (xargs -P2).
# Needs python3 (timing: interleaved runs, see compare below).
# Run: bash bench/sync.sh          (FILES=… FLEET_FILES=… RUNS=… to change sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${FILES:-50000}
FLEET_FILES=${FLEET_FILES:-34000}
RUNS=${RUNS:-30}
cargo build --release -q -p warden-cli
W="$PWD/target/$(rustc --print host-tuple)/release/warden"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home"
export HOME="$tmp/home" GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@warden.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@warden.invalid
export GIT_AUTHOR_DATE=2026-01-01T00:00:00Z GIT_COMMITTER_DATE=2026-01-01T00:00:00Z

# mkrepo DIR NFILES: DIR is the work clone, DIR.git its remote, DIR-other a
# second clone that pushed one commit the work clone has fetched.
mkrepo() {
  local dir=$1 n=$2
  git init -q --bare -b main "$dir.git"
  git init -q -b main "$dir-seed"
  python3 - "$dir-seed" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
per = 100
for i in range(n):
    d = os.path.join(root, f"src/m{i // per // 50:03d}/d{i // per:04d}")
    if i % per == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i % per:03d}.txt"), "w") as f:
        f.write(f"file {i}\nline two\nline three\n")
PY
  (cd "$dir-seed" && git add -A && git commit -qm base && git remote add origin "$dir.git" && git push -q -u origin main)
  git clone -q "$dir.git" "$dir"
  mv "$dir-seed" "$dir-other"
  (cd "$dir-other" && echo "remote change" >> src/m000/d0000/f001.txt && git commit -qam remote && git push -q)
  (cd "$dir" && echo "local change" >> src/m000/d0000/f002.txt && git commit -qam local \
    && git fetch -q && echo "edit" >> src/m000/d0000/f003.txt \
    && mkdir -p new/deeper && echo a > new/a.txt && echo b > new/deeper/b.txt)
  git -C "$dir" status --porcelain >/dev/null # refresh the index once, as any first command would
}

echo "building a $FILES-file repository ..." >&2
mkrepo "$tmp/big" "$FILES"
for r in r1 r2 r3; do
  echo "building fleet repository $r ($FLEET_FILES files) ..." >&2
  mkdir -p "$tmp/fleet"
  mkrepo "$tmp/fleet/$r" "$FLEET_FILES"
done
rm -rf "$tmp"/fleet/*.git "$tmp"/fleet/*-other # only the work clones are audited

RAW='git -C "$1" --no-optional-locks status --porcelain=v2 --branch -uall >/dev/null && git -C "$1" rev-list --left-right --count main...origin/main >/dev/null && git -C "$1" merge-tree --write-tree main origin/main >/dev/null'
cat > "$tmp/raw.sh" <<EOF
#!/bin/sh
$RAW
EOF
chmod +x "$tmp/raw.sh"

# Interleaved timing (A, B, A, B, ...): the machine is shared, so load that
# comes and goes hits both sides alike. Reports median, mean and min.
compare() { # TITLE NAME_A CMD_A NAME_B CMD_B
  python3 - "$RUNS" "$@" <<'PY'
import statistics, subprocess, sys, time
runs, title, na, ca, nb, cb = int(sys.argv[1]), *sys.argv[2:7]
def once(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode > 1:
        sys.exit(f"{cmd} failed with {r.returncode}")
    return (time.perf_counter() - t) * 1000
for _ in range(3):
    once(ca); once(cb)
ta, tb = [], []
for _ in range(runs):
    ta.append(once(ca)); tb.append(once(cb))
print(f"\n{title} ({runs} interleaved runs each, 3 warm-ups)\n")
print("| command | median | mean | min |")
print("|---|---|---|---|")
for n, t in ((na, ta), (nb, tb)):
    print(f"| {n} | {statistics.median(t):.1f} ms | {statistics.mean(t):.1f} ms | {min(t):.1f} ms |")
print(f"\nratio of medians: **{statistics.median(ta) / statistics.median(tb):.2f}x**, of mins: {min(ta) / min(tb):.2f}x")
PY
}

compare "1. \`sync audit --no-fetch\` on $FILES files" \
  "\`warden sync audit --no-fetch\`" "$W --repo $tmp/big sync audit --no-fetch --format json" \
  "git status + rev-list + merge-tree" "$tmp/raw.sh $tmp/big"
compare "2. \`fleet audit --no-fetch --jobs 2\` over 3 x $FLEET_FILES files" \
  "\`warden fleet audit --no-fetch --jobs 2\`" "$W fleet audit --no-fetch --jobs 2 --format json $tmp/fleet" \
  "the same git commands per repo, xargs -P2" "printf '%s\\n' $tmp/fleet/r1 $tmp/fleet/r2 $tmp/fleet/r3 | xargs -P2 -n1 $tmp/raw.sh"
