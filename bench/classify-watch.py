#!/usr/bin/env python3
"""Watcher benchmark (issue 12): latency from a file becoming stable to its
placement, and the watcher's memory across a 10,000-file burst.

Usage: python3 bench/classify-watch.py WARDEN [--settle MS]
A file is *stable* SETTLE ms after its last write (the watcher's rule); the
latency is the time from then until it appears in its module folder (polled
every 2 ms). Memory is VmRSS of the watcher before and after the burst, and
its peak (VmHWM)."""
import os, subprocess, sys, tempfile, time

warden = sys.argv[1]
settle = int(sys.argv[sys.argv.index("--settle") + 1]) if "--settle" in sys.argv else 500

def rss(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            out[k] = int(v.split()[0]) // 1024
    return out

with tempfile.TemporaryDirectory(prefix="warden-bench-watch-") as tmp:
    root = os.path.join(tmp, "repo")
    os.makedirs(os.path.join(root, "inbox"))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([warden, "init"], cwd=root, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(root, ".warden/modules.yaml"), "w") as f:
        f.write("schema: warden.modules/v1\nmodules:\n  - name: ledger\n    folder: modules/ledger/\n    keywords: [ledger]\n")
    log = open(os.path.join(tmp, "watch.log"), "w")
    p = subprocess.Popen([warden, "watch", "--settle", str(settle), "--max-batch", "1000"], cwd=root, stderr=log)
    time.sleep(1.0)
    lat = []
    for i in range(10):
        path = os.path.join(root, "inbox", f"ledger_{i}.py")
        with open(path, "w") as f:
            f.write(f"{i}\n")
        stable = os.stat(path).st_mtime + settle / 1000
        target = os.path.join(root, "modules/ledger", f"ledger_{i}.py")
        while not os.path.exists(target):
            time.sleep(0.002)
        lat.append(time.time() - stable)
        time.sleep(0.3)
    lat.sort()
    print(f"latency stable->placed over 10 files: median {lat[5]*1000:.0f} ms, max {lat[-1]*1000:.0f} ms (settle {settle} ms)")
    before = rss(p.pid)
    t0 = time.time()
    for i in range(10000):
        with open(os.path.join(root, "inbox", f"ledger_b{i:05d}.py"), "w") as f:
            f.write(f"b{i}\n")
    d = os.path.join(root, "modules/ledger")
    while len(os.listdir(d)) < 10010:
        time.sleep(0.05)
    after = rss(p.pid)
    print(f"10,000-file burst placed in {time.time()-t0:.1f} s; RSS before {before['VmRSS']} MiB, after {after['VmRSS']} MiB, peak {after['VmHWM']} MiB")
    p.terminate()
    p.wait()
