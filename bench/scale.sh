#!/usr/bin/env bash
# Issue 11, Build 1: everyday commands at a ledger of 100 vs N entries
# (default 1,000,000), side by side in one hyperfine run each, plus peak memory
# (/usr/bin/time, max of 5 runs). The long ledger is written directly by the
# bench helper (crates/warden-core/benches/scale.rs), not by N real runs.
# Run: bash bench/scale.sh [N] [DIR]   (DIR: where the two repositories go)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
BASE=${2:-$(mktemp -d)}
cargo build --release -q -p warden-cli
W="$PWD/target/$(rustc --print host-tuple)/release/warden"
mk() { # mk DIR ENTRIES
  git init -q -b main "$1"
  (cd "$1" && echo x > f.txt && git add -A && git -c user.name=b -c user.email=b@b commit -qm base && "$W" init >/dev/null)
  cargo bench -q -p warden-core --bench scale -- seed "$1" "$2"
  /usr/bin/time -f "  ledger reindex of $2 entries: %e s, %M KiB" "$W" --repo "$1" ledger reindex >/dev/null
}
small="$BASE/small"; big="$BASE/big"
trap 'rm -rf "$BASE"' EXIT
mk "$small" 100
mk "$big" "$N"
echo 0 > "$BASE/n"
prep() { # a fresh 1-file proposal (a new path each time)
  echo "n=\$((\$(cat $BASE/n)+1)); echo \$n > $BASE/n; printf '{\"schema\":\"warden.proposal/v1\",\"source\":{\"kind\":\"person\",\"id\":\"b\"},\"event\":\"Manual\",\"actions\":[{\"kind\":\"write_file\",\"path\":\"new/f%s.md\",\"content\":\"x\\\\n\",\"expect\":\"absent\"}]}' \$n > $BASE/p.json"
}
hyperfine -N --warmup 5 --runs 50 -n "status 100" "$W --repo $small status" -n "status $N" "$W --repo $big status" --export-markdown "$BASE/status.md" >/dev/null
hyperfine -N --warmup 5 --runs 50 -n "runs 100" "$W --repo $small runs" -n "runs $N" "$W --repo $big runs" --export-markdown "$BASE/runs.md" >/dev/null
hyperfine --warmup 3 --runs 50 --prepare "$(prep)" -n "apply 100" "$W --repo $small apply $BASE/p.json --yes" -n "apply $N" "$W --repo $big apply $BASE/p.json --yes" --export-markdown "$BASE/apply.md" >/dev/null
cat "$BASE/status.md" "$BASE/runs.md" "$BASE/apply.md"
peak() { # peak REPO ARGS...: max RSS (KiB) of 5 runs
  local repo=$1; shift; local m=0
  for _ in 1 2 3 4 5; do
    [ "$1" = apply ] && eval "$(prep)"
    /usr/bin/time -o "$BASE/mem" -f %M "$W" --repo "$repo" "$@" >/dev/null 2>&1
    local k; k=$(tail -1 "$BASE/mem")
    [ "$k" -gt "$m" ] && m=$k
  done
  echo "$m"
}
echo
echo "| peak RSS (KiB) | 100 entries | $N entries | ratio |"
echo "|---|---|---|---|"
for c in status runs "apply $BASE/p.json --yes"; do
  a=$(peak "$small" $c); b=$(peak "$big" $c)
  echo "| ${c%% *} | $a | $b | $(awk "BEGIN{printf \"%.2f\", $b/$a}") |"
done
ls -la "$big/.ledger/runs/" | tail -1
