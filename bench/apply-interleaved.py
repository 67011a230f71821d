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
the same page-cache state (a freshly written file): how the kernel holds an
executable's pages (written by the linker or `cp`, or read back after being
evicted) moved `warden --version` by ~0.2 ms between two copies of one binary
on this project's machine.

Set TMPDIR to choose the file system (bench/apply-fresh-fs.sh runs this on
freshly made ext4 images). On an ext4 without a journal, inodes deleted in the
last minutes make every inode creation slower, and this script deletes its
repositories when it ends: wait ~6 minutes between runs on such a disk.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def default_binary():
    host = subprocess.run(["rustc", "--print", "host-tuple"], capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(ROOT, "target", host, "release", "warden")


def make_repo(path, warden):
    subprocess.run(["git", "init", "-q", "-b", "main", path], check=True)
    with open(os.path.join(path, "f.txt"), "w") as f:
        f.write("x\n")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run(git + ["add", "-A"], cwd=path, check=True)
    subprocess.run(git + ["commit", "-qm", "base"], cwd=path, check=True)
    subprocess.run([warden, "init"], cwd=path, check=True, stdout=subprocess.DEVNULL)


def timed(argv):
    """Wall seconds and CPU seconds (user + system) of one process."""
    with open(os.devnull, "wb") as null:
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, null.fileno(), 1)])
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"{argv!r} exited with status {status}")
    return wall, usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("binaries", nargs="*", metavar="NAME=WARDEN_BINARY")
    args = ap.parse_args()
    wardens = [b.split("=", 1) for b in args.binaries] or [["warden", default_binary()]]
    for name, path in wardens:
        if not os.access(path, os.X_OK):
            sys.exit(f"{name}: {path} is not an executable (build it first: cargo build --release)")
    base = tempfile.mkdtemp(prefix="warden-apply-ilv.")
    try:
        bare = os.path.join(base, "bare_once")
        subprocess.run(["cc", "-O2", "-o", bare, os.path.join(HERE, "bare_once.c")], check=True)
        os.makedirs(os.path.join(base, "bare"))
        proposal = os.path.join(base, "p.json")
        commands = [("bare flushes", lambda i: [bare, os.path.join(base, "bare")])]
        for k, (name, path) in enumerate(wardens):
            copy = os.path.join(base, f"bin{k}", "warden")
            os.makedirs(os.path.dirname(copy))
            shutil.copy2(path, copy)
            sandbox = os.path.join(os.path.dirname(path), "warden-sandbox")
            if os.access(sandbox, os.X_OK):
                shutil.copy2(sandbox, os.path.join(base, f"bin{k}", "warden-sandbox"))
            path = copy
            repo = os.path.join(base, f"repo{k}")
            make_repo(repo, path)
            commands.append((name, lambda i, path=path, repo=repo: [path, "--repo", repo, "apply", proposal, "--yes"]))
        results = {name: ([], []) for name, _ in commands}
        for i in range(args.warmup + args.rounds):
            order = commands if i % 2 == 0 else commands[::-1]
            for name, argv in order:
                with open(proposal, "w") as f:
                    json.dump({
                        "schema": "warden.proposal/v1",
                        "source": {"kind": "person", "id": "bench"},
                        "event": "Manual",
                        "actions": [{"kind": "write_file", "path": f"new/f{i}.md", "content": "x\n", "expect": "absent"}],
                    }, f)
                wall, cpu = timed(argv(i))
                if i >= args.warmup:
                    results[name][0].append(wall)
                    results[name][1].append(cpu)
        bare_median = statistics.median(results["bare flushes"][0])
        print(f"| command ({args.rounds} interleaved rounds) | median | min | CPU (median) | rate vs bare |")
        print("|---|---|---|---|---|")
        for name, _ in commands:
            wall, cpu = results[name]
            med = statistics.median(wall)
            print(f"| {name} | {med * 1e3:.2f} ms | {min(wall) * 1e3:.2f} ms | {statistics.median(cpu) * 1e3:.2f} ms | {bare_median / med:.2f}× |")
        print(f"load average: {os.getloadavg()}")
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
