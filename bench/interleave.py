"""What bench/apply-interleaved.py and bench/dispatch-interleaved.py share.

Both compare warden binaries with a bare program by running every command once
per round, in alternating order, so the drift of a shared or idle-prone
virtual machine hits all of them alike; each process is timed from spawn to
exit, its CPU (user + system, children included) from wait4's rusage.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def default_binary():
    host = subprocess.run(["rustc", "--print", "host-tuple"], capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(ROOT, "target", host, "release", "warden")


def parse(doc, rounds):
    """The command line: --rounds, --warmup and NAME=WARDEN_BINARY pairs
    (default: the release build), each checked to be an executable."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("binaries", nargs="*", metavar="NAME=WARDEN_BINARY")
    args = ap.parse_args()
    args.wardens = [b.split("=", 1) for b in args.binaries] or [["warden", default_binary()]]
    for name, path in args.wardens:
        if not os.access(path, os.X_OK):
            sys.exit(f"{name}: {path} is not an executable (build it first: cargo build --release)")
    return args


def copy_binary(path, bindir):
    """Copy warden (and the warden-sandbox beside it, if any) into bindir, so
    every binary measured starts from the same page-cache state (a freshly
    written file): how the kernel holds an executable's pages moved `warden
    --version` by ~0.2 ms between two copies of one binary on this project's
    machine. Returns the copy's path."""
    os.makedirs(bindir)
    copy = os.path.join(bindir, "warden")
    shutil.copy2(path, copy)
    sandbox = os.path.join(os.path.dirname(path), "warden-sandbox")
    if os.access(sandbox, os.X_OK):
        shutil.copy2(sandbox, os.path.join(bindir, "warden-sandbox"))
    return copy


def timed(argv, cwd=None):
    """Wall seconds and CPU seconds (user + system, children included) of one
    process, started in cwd with its stdout on /dev/null."""
    here = os.getcwd()
    with open(os.devnull, "wb") as null:
        if cwd:
            os.chdir(cwd)
        try:
            start = time.perf_counter()
            pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, null.fileno(), 1)])
            _, status, usage = os.wait4(pid, 0)
            wall = time.perf_counter() - start
        finally:
            os.chdir(here)
    if status != 0:
        sys.exit(f"{argv!r} exited with status {status}")
    return wall, usage.ru_utime + usage.ru_stime


def rounds(commands, args, prepare=None):
    """Run each of commands — (name, argv_of_round, cwd) — once per round, in
    alternating order, after prepare(round) if given. Returns name -> (wall
    times, CPU times) of the rounds after the warm-up."""
    results = {name: ([], []) for name, _, _ in commands}
    for i in range(args.warmup + args.rounds):
        order = commands if i % 2 == 0 else commands[::-1]
        for name, argv, cwd in order:
            if prepare:
                prepare(i)
            wall, cpu = timed(argv(i), cwd)
            if i >= args.warmup:
                results[name][0].append(wall)
                results[name][1].append(cpu)
    return results


def median(xs):
    return statistics.median(xs)
