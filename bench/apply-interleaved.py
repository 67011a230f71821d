#!/usr/bin/env python3
"""1-file `warden apply` as separate processes, interleaved with the bare flushes.

Issue 11, Build 6 (target: a 1-file apply at >= 0.5x the rate of the bare
program doing the same four flushes, bench/bare_once.c). bench/apply-one.sh
runs each command's 100 repetitions back to back (hyperfine); on a shared or
idle-prone virtual machine the speed drifts between those blocks. Here every
round runs each command once, in alternating order, so drift hits all of them
alike; each process is timed from spawn to exit, its CPU from wait4's rusage.

Usage:
  python3 bench/apply-interleaved.py [--rounds N] [NAME=WARDEN_BINARY ...]
Without NAME=BINARY pairs it measures target/<host tuple>/release/warden
(build it first). Each warden gets a repository of its own (git init, one
commit, `warden init`); every round writes a new file `new/f<round>.md`.
Prints, per command, the median and minimum wall time, the median CPU time
(user + system), and the rate against the bare program's median.

Each binary is first copied into the run's directory, so every one starts from
the same page-cache state (bench/interleave.py, `copy_binary`).

Set TMPDIR to choose the file system (bench/apply-fresh-fs.sh runs this on
freshly made ext4 images). On an ext4 without a journal, inodes deleted in the
last minutes make every inode creation slower, and this script deletes its
repositories when it ends: wait ~6 minutes between runs on such a disk.
"""

import json
import os
import shutil
import subprocess
import tempfile

import interleave

HERE = interleave.HERE


def make_repo(path, warden):
    subprocess.run(["git", "init", "-q", "-b", "main", path], check=True)
    with open(os.path.join(path, "f.txt"), "w") as f:
        f.write("x\n")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run(git + ["add", "-A"], cwd=path, check=True)
    subprocess.run(git + ["commit", "-qm", "base"], cwd=path, check=True)
    subprocess.run([warden, "init"], cwd=path, check=True, stdout=subprocess.DEVNULL)


def main():
    args = interleave.parse(__doc__, rounds=200)
    base = tempfile.mkdtemp(prefix="warden-apply-ilv.")
    try:
        bare = os.path.join(base, "bare_once")
        subprocess.run(["cc", "-O2", "-o", bare, os.path.join(HERE, "bare_once.c")], check=True)
        os.makedirs(os.path.join(base, "bare"))
        proposal = os.path.join(base, "p.json")
        commands = [("bare flushes", lambda i: [bare, os.path.join(base, "bare")], None)]
        for k, (name, path) in enumerate(args.wardens):
            path = interleave.copy_binary(path, os.path.join(base, f"bin{k}"))
            repo = os.path.join(base, f"repo{k}")
            make_repo(repo, path)
            commands.append((name, lambda i, path=path, repo=repo: [path, "--repo", repo, "apply", proposal, "--yes"], None))

        def prepare(i):
            with open(proposal, "w") as f:
                json.dump({
                    "schema": "warden.proposal/v1",
                    "source": {"kind": "person", "id": "bench"},
                    "event": "Manual",
                    "actions": [{"kind": "write_file", "path": f"new/f{i}.md", "content": "x\n", "expect": "absent"}],
                }, f)

        results = interleave.rounds(commands, args, prepare)
        bare_median = interleave.median(results["bare flushes"][0])
        print(f"| command ({args.rounds} interleaved rounds) | median | min | CPU (median) | rate vs bare |")
        print("|---|---|---|---|---|")
        for name, _, _ in commands:
            wall, cpu = results[name]
            med = interleave.median(wall)
            print(f"| {name} | {med * 1e3:.2f} ms | {min(wall) * 1e3:.2f} ms | {interleave.median(cpu) * 1e3:.2f} ms | {bare_median / med:.2f}× |")
        print(f"load average: {os.getloadavg()}")
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
