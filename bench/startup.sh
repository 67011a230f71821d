#!/usr/bin/env bash
# Start-up latency of the release binary: `warden --version` and `warden status`
# on a small repository (20 files, 10 runs). Needs hyperfine (installed from
# Debian's packages when missing and apt-get is available).
# Run: bash bench/startup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v hyperfine >/dev/null; then
  apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null
fi
cargo build --release -q
W="$PWD/target/$(rustc --print host-tuple)/release/warden"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
git init -q -b main repo && cd repo
for i in $(seq 1 20); do echo "file $i" > "f$i.txt"; done
git add -A && git -c user.name=b -c user.email=b@b commit -qm base
"$W" init >/dev/null
for i in $(seq 1 10); do
  printf '{"schema":"warden.proposal/v1","source":{"kind":"person","id":"b"},"event":"Manual","actions":[{"kind":"write_file","path":"new%s.md","content":"x\\n","expect":"absent"}]}' "$i" > "$tmp/p$i.json"
  "$W" apply "$tmp/p$i.json" --yes >/dev/null
done
hyperfine -N --warmup 20 --runs 200 "$W --version" "$W status" "$W status --format json" --export-markdown "$tmp/startup.md" >/dev/null
cat "$tmp/startup.md"
# The sandbox probe is cached per boot (.warden/state/isolation-probe.json);
# side by side in one hyperfine run: status with the cache, and with it
# removed before every run (a probe process each time, as before the cache).
hyperfine -N --warmup 5 --runs 100 \
  --prepare "true" --prepare "rm -f .warden/state/isolation-probe.json" \
  -n "status (probe cached)" "$W status" -n "status (probe every call)" "$W status" \
  --export-markdown "$tmp/probe.md" >/dev/null
cat "$tmp/probe.md"
