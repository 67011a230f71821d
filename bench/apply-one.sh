#!/usr/bin/env bash
# Issue 11, Build 6: one 1-file `warden apply` as a separate process (a new
# path per run) next to the same four flushes done bare in one process
# (bench/bare_once.c, a C port of `bare-once` in
# crates/warden-core/benches/scale.rs; it needs only cc), and `warden
# --version` (start-up alone). Prints wall medians and CPU (user + sys).
# Run: bash bench/apply-one.sh [DIR]   (WARDEN_BIN=… skips the build;
# WARDEN_BASE=<another warden binary> adds its apply and --version to the
# same hyperfine run, in a repository of its own, for a before/after.)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${WARDEN_BIN:-}" ]; then cargo build --release -q -p warden-cli; fi
W=${WARDEN_BIN:-$PWD/target/$(rustc --print host-tuple)/release/warden}
BASE=${1:-$(mktemp -d)}
trap 'rm -rf "$BASE"' EXIT
cc -O2 -o "$BASE/bare_once" bench/bare_once.c
git init -q -b main "$BASE/o"
(cd "$BASE/o" && echo x > f.txt && git add -A && git -c user.name=b -c user.email=b@b commit -qm base && "$W" init >/dev/null)
extra=()
if [ -n "${WARDEN_BASE:-}" ]; then
  git init -q -b main "$BASE/ob"
  (cd "$BASE/ob" && echo x > f.txt && git add -A && git -c user.name=b -c user.email=b@b commit -qm base && "$WARDEN_BASE" init >/dev/null)
  extra=(-n "base: warden apply (1 file)" "$WARDEN_BASE --repo $BASE/ob apply $BASE/p.json --yes"
         -n "base: warden --version" "$WARDEN_BASE --version")
fi
mkdir -p "$BASE/bare"
echo 0 > "$BASE/n"
prep="n=\$((\$(cat $BASE/n)+1)); echo \$n > $BASE/n; printf '{\"schema\":\"warden.proposal/v1\",\"source\":{\"kind\":\"person\",\"id\":\"b\"},\"event\":\"Manual\",\"actions\":[{\"kind\":\"write_file\",\"path\":\"new/f%s.md\",\"content\":\"x\\\\n\",\"expect\":\"absent\"}]}' \$n > $BASE/p.json"
hyperfine --warmup 5 --runs 100 --prepare "$prep" \
  -n "warden apply (1 file)" "$W --repo $BASE/o apply $BASE/p.json --yes" \
  -n "bare flushes (1 process)" "$BASE/bare_once $BASE/bare" \
  -n "warden --version" "$W --version" \
  "${extra[@]}" \
  --export-json "$BASE/one.json" >/dev/null
python3 - "$BASE/one.json" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))["results"]
for x in r:
    print(f"| {x['command']} | median {x['median']*1e3:.2f} ms | min {min(x['times'])*1e3:.2f} ms | CPU {(x['user']+x['system'])*1e3:.2f} ms |")
w, b = r[0]["median"], r[1]["median"]
print(f"rate ratio (bare median / warden median): {b/w:.2f} (target >= 0.5); load average {os.getloadavg()}")
if len(r) > 3:
    print(f"base: rate ratio {b/r[3]['median']:.2f}; CPU new/base {(r[0]['user']+r[0]['system'])/(r[3]['user']+r[3]['system']):.2f}")
PY
