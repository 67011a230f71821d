#!/usr/bin/env bash
# Issue 11, Build 3: apply (content_file) + undo of one big file, two warden
# binaries side by side, against a durable copy of the same file, in the same
# rounds (the virtual disk's flush speed drifts between runs minutes apart),
# in alternating order (old first in odd rounds, new first in even ones).
# Run: OLD=<warden> NEW=<warden> bash bench/big-files-ab.sh [SIZE_MiB=2048] [ROUNDS=3]
# (NEW defaults to this tree's release build; HELPER to the scale bench.)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-2048}
ROUNDS=${2:-3}
REL="$PWD/target/$(rustc --print host-tuple)/release"
NEW=${NEW:-$REL/warden}
OLD=${OLD:?OLD=<another warden binary> is required}
H=${HELPER:-$(cargo bench --no-run -p warden-core --bench scale 2>&1 | sed -n 's/.*(\(.*scale-[0-9a-f]*\)).*/\1/p' | tail -1)}
B=$(mktemp -d)
trap 'rm -rf "$B"' EXIT
for v in old new; do
  W=$OLD; [ "$v" = new ] && W=$NEW
  git init -q -b main "$B/$v"
  (cd "$B/$v" && echo x > f.txt && git add -A && git -c user.name=b -c user.email=b@b commit -qm base \
    && "$W" init >/dev/null && sed -i 's/max_bytes: .*/max_bytes: 100000000000/' .warden/policy.yaml)
done
head -c "${SIZE}M" /dev/urandom > "$B/staged.bin"
sha=$(sha256sum "$B/staged.bin" | cut -d' ' -f1)
printf '{"schema":"warden.proposal/v1","source":{"kind":"person","id":"b"},"event":"Manual","actions":[{"kind":"write_file","path":"big.bin","content_file":"%s","content_sha256":"%s","expect":"absent"}]}' "$B/staged.bin" "$sha" > "$B/big.json"
t() { /usr/bin/time -f %e -o "$B/t" "$@" >/dev/null 2>&1; cat "$B/t"; }
echo "| round | durable copy (s) | old apply | old undo | new apply | new undo | old (apply + undo) / copy | new (apply + undo) / copy |"
echo "|---|---|---|---|---|---|---|---|"
for r in $(seq 1 "$ROUNDS"); do
  sync; row=$(t "$H" durable-copy "$B/staged.bin" "$B/copy.bin"); rm -f "$B/copy.bin"
  # The binary run second in a round was measured ~2x slower to apply,
  # whichever it was: the order alternates from round to round.
  order="old new"; [ $((r % 2)) = 0 ] && order="new old"
  for v in $order; do
    W=$OLD; [ "$v" = new ] && W=$NEW
    sync; a=$(t "$W" --repo "$B/$v" apply "$B/big.json" --yes)
    run=$("$W" --repo "$B/$v" --format json runs | sed -n 's/.*"run": *"\([0-9A-Z]*\)".*/\1/p' | head -1)
    sync; u=$(t "$W" --repo "$B/$v" undo "$run" --yes)
    if [ "$v" = old ]; then res_old="$a $u"; else res_new="$a $u"; fi
  done
  row="$row $res_old $res_new"
  echo "$r $row" | awk '{printf "| %s | %s | %s | %s | %s | %s | %.2f× | %.2f× |\n",$1,$2,$3,$4,$5,$6,($3+$4)/$2,($5+$6)/$2}'
done
