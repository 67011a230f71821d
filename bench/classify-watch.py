#!/usr/bin/env python3
"""Watcher benchmark (issue 12): latency from a file becoming stable to its
placement, and the watcher's memory across a burst of files.

Usage: python3 bench/classify-watch.py WARDEN [--settle MS] [--steps 1000,5000,10000,20000]
                                             [--wrap 'heaptrack -o /tmp/w'] [--keep-log]
A file is *stable* SETTLE ms after its last write (the watcher's rule); the
latency is the time from then until it appears in its module folder (polled
every 2 ms). Memory is the watcher's VmRSS before the burst and after each
step of the burst (cumulative file counts, each step placed before the next
is written), and its peak (VmHWM). Flat means the last step's RSS is within
about 1.2x of the second's. MALLOC_ARENA_MAX and other variables in the
environment reach the watcher unchanged. With --wrap the watcher runs under
that command (a heap profiler); RSS is then not read."""
import os, shlex, subprocess, sys, tempfile, time

warden = sys.argv[1]
def opt(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default
settle = int(opt("--settle", "500"))
steps = [int(s) for s in opt("--steps", "10000").split(",")]
wrap = shlex.split(opt("--wrap", ""))

def rss(pid):
    out = {}
    if wrap:
        return {"VmRSS": 0, "VmHWM": 0, "RssAnon": 0, "RssFile": 0}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[k] = int(v.split()[0]) / 1024
    return out

with tempfile.TemporaryDirectory(prefix="warden-bench-watch-") as tmp:
    root = os.path.join(tmp, "repo")
    os.makedirs(os.path.join(root, "inbox"))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([warden, "init"], cwd=root, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(root, ".warden/modules.yaml"), "w") as f:
        f.write("schema: warden.modules/v1\nmodules:\n  - name: ledger\n    folder: modules/ledger/\n    keywords: [ledger]\n")
    log = open(os.path.join(tmp, "watch.log"), "w")
    p = subprocess.Popen(wrap + [warden, "watch", "--settle", str(settle), "--max-batch", "1000"], cwd=root, stderr=log)
    d = os.path.join(root, "modules/ledger")
    t_start = time.time()
    while not os.path.exists(os.path.join(root, ".warden/state/watch.lock")) and time.time() - t_start < 60:
        time.sleep(0.05)
    time.sleep(1.0)
    lat = []
    for i in range(10):
        path = os.path.join(root, "inbox", f"ledger_{i}.py")
        with open(path, "w") as f:
            f.write(f"{i}\n")
        stable = os.stat(path).st_mtime + settle / 1000
        target = os.path.join(d, f"ledger_{i}.py")
        while not os.path.exists(target):
            time.sleep(0.002)
        lat.append(time.time() - stable)
        time.sleep(0.3)
    lat.sort()
    print(f"latency stable->placed over 10 files: median {lat[5]*1000:.0f} ms, max {lat[-1]*1000:.0f} ms (settle {settle} ms)")
    before = rss(p.pid)
    print(f"RSS before the burst: {before['VmRSS']:.1f} MiB")
    t0 = time.time()
    written = 0
    for step in steps:
        for i in range(written, step):
            with open(os.path.join(root, "inbox", f"ledger_b{i:05d}.py"), "w") as f:
                f.write(f"b{i}\n")
        written = step
        while len(os.listdir(d)) < 10 + step:
            time.sleep(0.05)
        time.sleep(1.0)  # the batch's run is finished, the watcher idle
        now = rss(p.pid)
        print(f"{step:>6} files placed after {time.time()-t0:6.1f} s: RSS {now['VmRSS']:.1f} MiB (anonymous {now['RssAnon']:.1f}, file {now['RssFile']:.1f}), peak {now['VmHWM']:.1f} MiB", flush=True)
    p.terminate()
    p.wait()
    if "--keep-log" in sys.argv:
        print(open(os.path.join(tmp, "watch.log")).read()[-2000:])
