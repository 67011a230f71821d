#!/usr/bin/env python3
"""A 1-item `warden run` of the scaffolded `sh` plugin, interleaved with the bare handler and the floor.

Issue 11, Build 5 (target: a dispatch at <= 1.3x the bare plugin). `bash
bench/plugins.sh helpers` measures each command's runs as one hyperfine block,
and on a shared or idle-prone virtual machine the speed drifts between blocks;
here every round runs each command once, in alternating order, each from
spawn to exit (CPU: user + system of the process and its children, from
wait4), like bench/apply-interleaved.py does for `apply`.

Commands:
  bare     sh -c 'cd plugins/shb && sh src/handler.sh < one.stdin'
  floor    bench/dispatch_floor.c around the same handler: the sandbox and
           the record no dispatch can skip (see that file)
  NAME     WARDEN_BINARY run FileDetected --input one.json --yes, for each
           NAME=WARDEN_BINARY given (default: the release build); each binary
           is copied (with the warden-sandbox beside it) into the run's
           directory first, and gets a repository of its own

Usage:
  python3 bench/dispatch-interleaved.py [--rounds N] [NAME=WARDEN_BINARY ...]
"""

import argparse
import hashlib
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


def timed(argv, cwd):
    """Wall seconds and CPU seconds (user + system, children included) of one process."""
    with open(os.devnull, "wb") as null:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=null)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = 0
    if status != 0:
        sys.exit(f"{argv!r} exited with status {status}")
    return wall, usage.ru_utime + usage.ru_stime


def make_repo(path, warden):
    subprocess.run(["git", "init", "-q", "-b", "main", path], check=True)
    quiet = {"cwd": path, "check": True, "stdout": subprocess.DEVNULL}
    subprocess.run([warden, "init"], **quiet)
    subprocess.run([warden, "plugin", "new", "shb", "--event", "FileDetected", "--lang", "sh", "--yes"], **quiet)
    subprocess.run([warden, "plugin", "enable", "shb", "--yes"], **quiet)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("binaries", nargs="*", metavar="NAME=WARDEN_BINARY")
    args = ap.parse_args()
    wardens = [b.split("=", 1) for b in args.binaries] or [["warden", default_binary()]]
    for name, path in wardens:
        if not os.access(path, os.X_OK):
            sys.exit(f"{name}: {path} is not an executable (build it first: cargo build --release)")
    base = tempfile.mkdtemp(prefix="warden-dispatch-ilv.")
    try:
        items = [{"path": "inbox/file00000.md", "sha256": hashlib.sha256(b"0").hexdigest(), "size": 10}]
        one_json = os.path.join(base, "one.json")
        with open(one_json, "w") as f:
            json.dump(items, f)
        one_stdin = os.path.join(base, "one.stdin")
        with open(one_stdin, "w") as f:
            f.write(json.dumps({"type": "hello", "protocol": {"major": 1, "features": ["batch"]}}) + "\n")
            f.write(json.dumps({"type": "request", "op": "handle", "event": "FileDetected", "input": {"items": items}}) + "\n")
        floor = os.path.join(base, "dispatch_floor")
        subprocess.run(["cc", "-O2", "-o", floor, os.path.join(HERE, "dispatch_floor.c")], check=True)
        for d in ("floor-scratch", "floor-runs"):
            os.makedirs(os.path.join(base, d))
        commands = []
        for k, (name, path) in enumerate(wardens):
            bindir = os.path.join(base, f"bin{k}")
            os.makedirs(bindir)
            shutil.copy2(path, os.path.join(bindir, "warden"))
            sandbox = os.path.join(os.path.dirname(path), "warden-sandbox")
            if os.access(sandbox, os.X_OK):
                shutil.copy2(sandbox, os.path.join(bindir, "warden-sandbox"))
            warden = os.path.join(bindir, "warden")
            repo = os.path.join(base, f"repo{k}")
            make_repo(repo, warden)
            commands.append((name, [warden, "run", "FileDetected", "--input", one_json, "--yes"], repo))
        plugin = os.path.join(base, "repo0", "plugins", "shb")
        commands.insert(0, ("bare", ["sh", "-c", f"sh src/handler.sh < {one_stdin}"], plugin))
        commands.insert(1, ("floor", [floor, os.path.join(base, "repo0"), os.path.join(base, "floor-scratch"), one_stdin,
                                      os.path.join(base, "floor.ledger"), os.path.join(base, "floor-runs"),
                                      "--", "sh", "src/handler.sh"], plugin))
        results = {name: ([], []) for name, _, _ in commands}
        for i in range(args.warmup + args.rounds):
            order = commands if i % 2 == 0 else commands[::-1]
            for name, argv, cwd in order:
                wall, cpu = timed(argv, cwd)
                if i >= args.warmup:
                    results[name][0].append(wall)
                    results[name][1].append(cpu)
        bare_wall = statistics.median(results["bare"][0])
        bare_cpu = statistics.median(results["bare"][1])
        print(f"| command ({args.rounds} interleaved rounds) | median | min | CPU (median) | / bare (median, CPU) |")
        print("|---|---|---|---|---|")
        for name, _, _ in commands:
            wall, cpu = results[name]
            med, c = statistics.median(wall), statistics.median(cpu)
            print(f"| {name} | {med * 1e3:.2f} ms | {min(wall) * 1e3:.2f} ms | {c * 1e3:.2f} ms | {med / bare_wall:.2f}×, {c / bare_cpu:.2f}× |")
        print(f"load average: {os.getloadavg()}")
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
