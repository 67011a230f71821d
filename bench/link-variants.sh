#!/usr/bin/env bash
# Issue 11, Build 6: does the way warden is linked change the cost of a
# 1-file apply as a process? Three release binaries, side by side in ONE
# hyperfine run: as built (position-independent, RELA relocations),
# `-Wl,-z,pack-relative-relocs` (DT_RELR: needs glibc >= 2.36 and GNU ld >=
# 2.38 or lld; rustc links with its bundled lld), and non-PIE (`-no-pie`).
# Only the final link differs: warden-cli is compiled once with
# `-C save-temps --print link-args` (dependencies are reused), and its link
# command is run three times — as printed, with
# `-Wl,-z,pack-relative-relocs` appended, and with `-pie` replaced by
# `-no-pie` — exactly what link arguments from a build script could change.
# Prints, per binary: size, relocation counts (`readelf`), and for
# `--version` and one 1-file `apply` (a new path per run): wall median, min
# and CPU (user + sys); plus the bare flushes (bench/bare_once.c).
# Run: bash bench/link-variants.sh [DIR]   (RUNS=… hyperfine runs, 100;
# LINK_ARGS=FILE reuses a link command printed before)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:-$(mktemp -d)}
trap 'rm -rf "$BASE"' EXIT
if [ -n "${LINK_ARGS:-}" ]; then
  # A link command printed before (its objects kept by -C save-temps).
  cp "$LINK_ARGS" "$BASE/link-args"
else
  # A fresh crate prints no link command: touch it so cargo compiles it again.
  touch crates/warden-cli/src/main.rs
  nice -n 19 cargo rustc --release -q -p warden-cli --bin warden -- -C save-temps --print link-args > "$BASE/link-args"
fi
python3 - "$BASE" <<'PY'
import os, shlex, subprocess, sys
base = sys.argv[1]
words = shlex.split(open(f"{base}/link-args").read().strip())
env = dict(os.environ)
while "=" in words[0] and not words[0].startswith("/"):
    k, v = words.pop(0).split("=", 1)
    env[k] = v
out = words.index("-o") + 1
for name in ["pie", "relr", "nopie"]:
    w = list(words)
    w[out] = f"{base}/warden-{name}"
    if name == "relr":
        w.append("-Wl,-z,pack-relative-relocs")
    if name == "nopie":
        w = ["-no-pie" if a == "-pie" else a for a in w]
    subprocess.run(w, env=env, check=True)
PY
for v in pie relr nopie; do
  f="$BASE/warden-$v"
  printf '%-6s size %s B, %s, relocations: %s\n' "$v" "$(stat -c %s "$f")" \
    "$(file -b "$f" | cut -d, -f1-2)" \
    "$(readelf -r "$f" | awk '/^Relocation section/ {printf "%s %s entries; ", $3, $(NF-1)}')"
done
cc -O2 -o "$BASE/bare_once" bench/bare_once.c
mkdir -p "$BASE/bare"
cmds=()
for v in pie relr nopie; do
  W="$BASE/warden-$v"
  git init -q -b main "$BASE/$v"
  (cd "$BASE/$v" && echo x > f.txt && git add -A && git -c user.name=b -c user.email=b@b commit -qm base && "$W" init >/dev/null)
  echo 0 > "$BASE/$v.n"
  prep="n=\$((\$(cat $BASE/$v.n)+1)); echo \$n > $BASE/$v.n; printf '{\"schema\":\"warden.proposal/v1\",\"source\":{\"kind\":\"person\",\"id\":\"b\"},\"event\":\"Manual\",\"actions\":[{\"kind\":\"write_file\",\"path\":\"new/f%s.md\",\"content\":\"x\\\\n\",\"expect\":\"absent\"}]}' \$n > $BASE/$v.p.json"
  cmds+=(--prepare "$prep" -n "apply $v" "$W --repo $BASE/$v apply $BASE/$v.p.json --yes")
done
for v in pie relr nopie; do
  cmds+=(--prepare true -n "version $v" "$BASE/warden-$v --version")
done
cmds+=(--prepare true -n "bare flushes" "$BASE/bare_once $BASE/bare")
hyperfine --warmup 5 --runs "${RUNS:-100}" "${cmds[@]}" --export-json "$BASE/link.json" >/dev/null
python3 - "$BASE/link.json" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))["results"]
print("| command | wall median | wall min | CPU (user + sys) |")
print("|---|---|---|---|")
for x in r:
    print(f"| {x['command']} | {x['median']*1e3:.2f} ms | {min(x['times'])*1e3:.2f} ms | {(x['user']+x['system'])*1e3:.2f} ms |")
by = {x["command"]: x for x in r}
cpu = lambda k: by[k]["user"] + by[k]["system"]
for v in ["relr", "nopie"]:
    print(f"{v} vs pie: apply CPU {cpu('apply ' + v)/cpu('apply pie'):.3f}x, wall median {by['apply ' + v]['median']/by['apply pie']['median']:.3f}x; "
          f"--version CPU {cpu('version ' + v)/cpu('version pie'):.3f}x")
b = by["bare flushes"]["median"]
for v in ["pie", "relr", "nopie"]:
    print(f"rate ratio {v} (bare median / apply median): {b/by['apply ' + v]['median']:.2f} (target >= 0.5)")
print(f"load average {os.getloadavg()}")
PY
