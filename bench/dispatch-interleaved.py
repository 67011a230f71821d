#!/usr/bin/env python3
"""A 1-item `warden run` of the scaffolded `sh` plugin, interleaved with the bare handler and the floor.

Issue 11, Build 5 (target: a dispatch at <= 1.3x the bare plugin). `bash
bench/plugins.sh helpers` measures each command's runs as one hyperfine block,
and on a shared or idle-prone virtual machine the speed drifts between blocks;
here every round runs each command once, in alternating order, each from
spawn to exit (CPU: user + system of the process and its children, from
wait4), like bench/apply-interleaved.py does for `apply` (both use
bench/interleave.py).

Commands:
  bare     sh -c 'cd plugins/shb && sh src/handler.sh < one.stdin'
  floor    bench/dispatch_floor.c around the same handler: the sandbox and
           the record no dispatch can skip (see that file)
  NAME     WARDEN_BINARY run FileDetected --input one.json --yes, for each
           NAME=WARDEN_BINARY given (default: the release build); each binary
           is copied (with the warden-sandbox beside it) into the run's
           directory first, and gets a repository of its own
  start    the first binary's `--version`: what starting warden at all costs

The last line adds the floor's time and warden's start above the bare
handler's: no dispatch through a warden process can be faster than that.

Usage:
  python3 bench/dispatch-interleaved.py [--rounds N] [NAME=WARDEN_BINARY ...]
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile

import interleave

HERE = interleave.HERE


def make_repo(path, warden):
    subprocess.run(["git", "init", "-q", "-b", "main", path], check=True)
    quiet = {"cwd": path, "check": True, "stdout": subprocess.DEVNULL}
    subprocess.run([warden, "init"], **quiet)
    subprocess.run([warden, "plugin", "new", "shb", "--event", "FileDetected", "--lang", "sh", "--yes"], **quiet)
    subprocess.run([warden, "plugin", "enable", "shb", "--yes"], **quiet)


def main():
    args = interleave.parse(__doc__, rounds=100)
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
        for k, (name, path) in enumerate(args.wardens):
            warden = interleave.copy_binary(path, os.path.join(base, f"bin{k}"))
            repo = os.path.join(base, f"repo{k}")
            make_repo(repo, warden)
            argv = [warden, "run", "FileDetected", "--input", one_json, "--yes"]
            commands.append((name, lambda i, argv=argv: argv, repo))
        repo0 = os.path.join(base, "repo0")
        plugin = os.path.join(repo0, "plugins", "shb")
        bare = ["sh", "-c", f"sh src/handler.sh < {one_stdin}"]
        floor_argv = [floor, repo0, os.path.join(base, "floor-scratch"), one_stdin,
                      os.path.join(base, "floor.ledger"), os.path.join(base, "floor-runs"),
                      "--", "sh", "src/handler.sh"]
        start = [commands[0][1](0)[0], "--version"]
        commands.insert(0, ("bare", lambda i: bare, plugin))
        commands.insert(1, ("floor", lambda i: floor_argv, plugin))
        commands.append(("start", lambda i: start, base))
        results = interleave.rounds(commands, args)
        bare_wall = interleave.median(results["bare"][0])
        bare_cpu = interleave.median(results["bare"][1])
        print(f"| command ({args.rounds} interleaved rounds) | median | min | CPU (median) | / bare (median, CPU) |")
        print("|---|---|---|---|---|")
        for name, _, _ in commands:
            wall, cpu = results[name]
            med, c = interleave.median(wall), interleave.median(cpu)
            print(f"| {name} | {med * 1e3:.2f} ms | {min(wall) * 1e3:.2f} ms | {c * 1e3:.2f} ms | {med / bare_wall:.2f}×, {c / bare_cpu:.2f}× |")
        least = interleave.median(results["floor"][0]) + interleave.median(results["start"][0])
        print(f"floor + start: {least * 1e3:.2f} ms, {least / bare_wall:.2f}× bare")
        print(f"load average: {os.getloadavg()}")
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
