#!/usr/bin/env bash
# Issue 11, Build 6 on file systems with a known history: the interleaved
# 1-file apply (bench/apply-interleaved.py) run on freshly made, loop-mounted
# ext4 images — one with a journal (what `mkfs.ext4` makes by default) and
# one without (like this project's VM root) — instead of the machine's /tmp.
#
# Why: on an ext4 without a journal, every inode creation skips the inodes of
# its block group that were deleted in the last 1–6 minutes
# (`recently_deleted` in fs/ext4/ialloc.c), so its cost depends on what the
# machine deleted lately (test runs, earlier benchmark repositories: each
# apply-interleaved run removes ~1,000 inodes per binary when it ends). A
# 1-file apply creates four inodes (the staged file, `.runs/<RUN>/`,
# `run.json`, `diff.patch`) and the bare program one, so the ratio moves
# with the disk's recent past. A fresh image has none.
#
# Needs root (mount). Everything is removed on exit.
# Run: sudo bash bench/apply-fresh-fs.sh [ROUNDS] [NAME=WARDEN_BINARY ...]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-300}
shift || true
work=$(mktemp -d)
cleanup() {
  for m in "$work"/mnt-*; do
    if mountpoint -q "$m"; then umount "$m"; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
for kind in journal no-journal; do
  img="$work/$kind.img"
  mnt="$work/mnt-$kind"
  truncate -s 4G "$img"
  if [ "$kind" = journal ]; then
    mkfs.ext4 -q -F "$img"
  else
    mkfs.ext4 -q -F -O ^has_journal "$img"
  fi
  mkdir "$mnt"
  mount -o loop "$img" "$mnt"
  echo "## ext4 with$([ "$kind" = journal ] || echo "out") a journal, fresh ($rounds rounds)"
  TMPDIR="$mnt" python3 bench/apply-interleaved.py --rounds "$rounds" "$@"
  umount "$mnt"
done
