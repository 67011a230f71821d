#!/usr/bin/env bash
# Signed-command bridge throughput (group commit vs the seed executor's
# per-file fsyncs) on a freshly made, journaled ext4 (a loop-mounted image),
# next to the same bench on the machine's own disk. Needs root for mount;
# everything is removed on exit.
# Run: sudo bash bench/bridge-journaled-ext4.sh [COMMANDS]   (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
work=$(mktemp -d)
img="$work/ext4.img"
mnt="$work/mnt"
cleanup() {
  if mountpoint -q "$mnt"; then umount "$mnt"; fi
  rm -rf "$work"
}
trap cleanup EXIT
truncate -s 2G "$img"
mkfs.ext4 -q -F "$img"
mkdir "$mnt"
mount -o loop "$img" "$mnt"
cargo bench -q -p warden-bridge --bench bridge --no-run
echo "== journaled ext4 (loop mount)"
cargo bench -q -p warden-bridge --bench bridge -- "$n" "$mnt"
echo "== the machine's own disk ($(findmnt -no FSTYPE,OPTIONS -T "${TMPDIR:-/tmp}"))"
cargo bench -q -p warden-bridge --bench bridge -- "$n"
