#!/usr/bin/env bash
# Issue 11, Builds 3 and 6: big files stream, undo of a big run, 1-file apply
# as separate processes. Each warden measurement is taken side by side with
# its baseline (one process doing the same work durably without warden, from
# crates/warden-core/benches/scale.rs), alternating, at normal priority.
# Run: bash bench/big-files.sh [SIZE_MiB=2048] [FILES=10000] [DIR]
# Needs /usr/bin/time (GNU) and hyperfine. Deletes everything it made.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-2048}
FILES=${2:-10000}
BASE=${3:-$(mktemp -d)}
# WARDEN_BIN / HELPER override the binaries (e.g. a debug build while a
# release build is not possible).
if [ -z "${WARDEN_BIN:-}" ]; then cargo build --release -q -p warden-cli; fi
W=${WARDEN_BIN:-$PWD/target/$(rustc --print host-tuple)/release/warden}
H=${HELPER:-$(cargo bench --no-run -p warden-core --bench scale 2>&1 | sed -n 's/.*(\(.*scale-[0-9a-f]*\)).*/\1/p' | tail -1)}
trap 'rm -rf "$BASE"' EXIT
mkrepo() {
  git init -q -b main "$1"
  (cd "$1" && echo x > f.txt && git add -A && git -c user.name=b -c user.email=b@b commit -qm base && "$W" init >/dev/null)
  # Room for big runs.
  sed -i 's/max_bytes: .*/max_bytes: 100000000000/; s/max_files: .*/max_files: 100000/' "$1/.warden/policy.yaml"
}
# time+memory+bytes written of one command: "seconds peak_KiB written_MiB"
measure() {
  /usr/bin/time -o "$BASE/t" -f "%e %M %O" "$@" >/dev/null 2>"$BASE/err" || { cat "$BASE/err"; exit 1; }
  awk '{printf "%s %s %.0f", $1, $2, $3*512/1048576}' "$BASE/t"
}
run_id() { sed -n 's/.*"run": *"\([0-9A-Z]*\)".*/\1/p' "$1" | head -1; }

echo "## apply (content_file) + undo of a ${SIZE} MiB file vs a durable copy"
mkrepo "$BASE/r"
head -c "${SIZE}M" /dev/urandom > "$BASE/staged.bin"
sha=$(sha256sum "$BASE/staged.bin" | cut -d' ' -f1)
printf '{"schema":"warden.proposal/v1","source":{"kind":"person","id":"b"},"event":"Manual","actions":[{"kind":"write_file","path":"big.bin","content_file":"%s","content_sha256":"%s","expect":"absent"}]}' "$BASE/staged.bin" "$sha" > "$BASE/big.json"
printf '{"schema":"warden.proposal/v1","source":{"kind":"person","id":"b"},"event":"Manual","actions":[{"kind":"write_file","path":"tiny.txt","content":"x\\n","expect":"absent"}]}' > "$BASE/tiny.json"
echo "| round | durable copy (s, KiB, MiB written) | apply (s, KiB, MiB written) | undo (s, KiB, MiB written) | empty run (KiB) |"
echo "|---|---|---|---|---|"
for round in 1 2 3; do
  sync; c=$(measure "$H" durable-copy "$BASE/staged.bin" "$BASE/copy.bin"); rm -f "$BASE/copy.bin"
  sync; a=$(measure "$W" --repo "$BASE/r" --format json apply "$BASE/big.json" --yes)
  "$W" --repo "$BASE/r" --format json runs > "$BASE/runs.json"
  run=$(run_id "$BASE/runs.json")
  sync; u=$(measure "$W" --repo "$BASE/r" undo "$run" --yes)
  e=$(measure "$W" --repo "$BASE/r" apply "$BASE/tiny.json" --yes); rm -f "$BASE/r/tiny.txt"
  echo "| $round | $c | $a | $u | ${e#* } |"
done
du -sh "$BASE/r/.warden/state" "$BASE/r/.runs" | sed 's/^/    /'
rm -rf "$BASE/r" "$BASE/staged.bin"

echo
echo "## undo of a ${FILES}-file run vs a durable copy of those files"
mkrepo "$BASE/m"
python3 - "$FILES" > "$BASE/many.json" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"schema": "warden.proposal/v1", "source": {"kind": "person", "id": "b"}, "event": "Manual",
  "actions": [{"kind": "write_file", "path": f"many/f{i}.txt", "content": f"file {i}\n", "expect": "absent"} for i in range(n)]}))
PY
echo "| round | durable copy of the files (s) | apply (s) | undo (s) |"
echo "|---|---|---|---|"
for round in 1 2 3; do
  sync; c=$(measure "$H" durable-tree "$BASE/copy" "$FILES"); rm -rf "$BASE/copy"
  sync; a=$(measure "$W" --repo "$BASE/m" apply "$BASE/many.json" --yes)
  "$W" --repo "$BASE/m" --format json runs > "$BASE/runs.json"
  run=$(run_id "$BASE/runs.json")
  sync; u=$(measure "$W" --repo "$BASE/m" undo "$run" --yes)
  echo "| $round | ${c%% *} | ${a%% *} | ${u%% *} |"
done
rm -rf "$BASE/m"

echo
echo "## 1-file apply as separate processes vs the bare flushes as separate processes"
mkrepo "$BASE/o"
mkdir -p "$BASE/bare"
echo 0 > "$BASE/n"
prep="n=\$((\$(cat $BASE/n)+1)); echo \$n > $BASE/n; printf '{\"schema\":\"warden.proposal/v1\",\"source\":{\"kind\":\"person\",\"id\":\"b\"},\"event\":\"Manual\",\"actions\":[{\"kind\":\"write_file\",\"path\":\"new/f%s.md\",\"content\":\"x\\\\n\",\"expect\":\"absent\"}]}' \$n > $BASE/p.json"
hyperfine --warmup 5 --runs 100 --prepare "$prep" -n "warden apply (1 file)" "$W --repo $BASE/o apply $BASE/p.json --yes" -n "bare flushes (1 process)" "$H bare-once $BASE/bare" --export-markdown "$BASE/one.md" >/dev/null
cat "$BASE/one.md"
