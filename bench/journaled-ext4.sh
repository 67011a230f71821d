#!/usr/bin/env bash
# Apply throughput on a freshly made, journaled ext4 (a loop-mounted image), for
# machines whose own disk is unusual (this project's VM root is ext4 without a
# journal, where every inode creation scans recently deleted inodes). Needs root
# for mount; everything is removed on exit.
# Run: sudo bash bench/journaled-ext4.sh [RUNS]   (RUNS: how many times, default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
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
cargo bench -q -p warden-core --bench core --no-run
for _ in $(seq 1 "$runs"); do
  cargo bench -q -p warden-core --bench core -- apply "$mnt" | grep 'file(s)'
done
