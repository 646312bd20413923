#!/usr/bin/env python3
"""The shard benchmark: s3meta plan, then N scans of one plan run at once (the README's xargs -P
line), against one s3meta sim. Prints, for each layout and N: how long the plan took and how many LISTs
it sent, how even the shards came out (the largest shard over the mean), the wall time of the N scans,
HEAD/s over all of them, the ratio to one process, the peak RSS of the largest process, and whether
the outputs, concatenated in shard order, are byte for byte the output of one scan (their SHA-256).

On one 2-core machine the simulator and the scans share the cores, so N processes show how a machine's
cores are used, not what N machines would do.

usage: benches/shards.py [--objects 1000000] [--shards 1,2,4,16] [--list-latency 100ms]
                         [--head-latency 1ms] [--layouts flat,tree:10:3]
Needs target/release/s3meta (cargo build --release).
"""
import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time

from listing import start_sim

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
S3META = os.path.join(REPO, "target", "release", "s3meta")


def sha_of(paths):
    digest = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                digest.update(chunk)
    return digest.hexdigest()[:12]


def scans(endpoint, dir, n, plan):
    """N scans at once (one without a plan when n is 0); wall seconds, heads per scan, peak RSS KiB."""
    procs = []
    started = time.monotonic()
    for i in range(max(n, 1)):
        out = os.path.join(dir, "out.%d" % i)
        argv = ["/usr/bin/time", "-f", "maxrss_kb=%M", S3META, "scan", "s3://sim", "--endpoint-url",
                endpoint, "--no-sign-request", "--format", "text", "-o", out, "--progress", "never"]
        if n:
            argv += ["--plan", plan, "--shard", "%d/%d" % (i, n)]
        procs.append((subprocess.Popen(argv, stderr=subprocess.PIPE, text=True), out))
    heads, rss, outs = [], [], []
    for p, out in procs:
        err = p.communicate()[1]
        if p.returncode != 0:
            print(err, file=sys.stderr)
            sys.exit("shards.py: a scan failed")
        fields = dict(re.findall(r"(\w+)=([\d.]+)", err))
        heads.append(int(fields.get("heads", 0)))
        rss.append(int(fields.get("maxrss_kb", 0)))
        outs.append(out)
    return time.monotonic() - started, heads, max(rss), sha_of(outs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=1_000_000)
    ap.add_argument("--shards", default="1,2,4,16")
    ap.add_argument("--list-latency", default="100ms")
    ap.add_argument("--head-latency", default="1ms")
    ap.add_argument("--layouts", default="flat,tree:10:3")
    a = ap.parse_args()
    if not os.path.exists(S3META):
        sys.exit("shards.py: build target/release/s3meta first (cargo build --release)")
    print("# %d objects, LIST %s, HEAD %s (s3meta sim, anonymous); one scan = no plan" % (
        a.objects, a.list_latency, a.head_latency))
    print()
    print("| layout | shards | plan s | plan LISTs | largest ÷ mean | scans s | HEAD/s | ÷ one scan | peak RSS MiB | output |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for layout in a.layouts.split(","):
        sim, endpoint = start_sim(["--objects", str(a.objects), "--layout", layout,
                                   "--list-latency", a.list_latency, "--head-latency", a.head_latency])
        try:
            with tempfile.TemporaryDirectory() as dir:
                secs, heads, rss, one = scans(endpoint, dir, 0, None)
                one_rate = sum(heads) / secs
                print("| %s | one scan | – | – | – | %.1f | %.0f | 1.00 | %.1f | %s |" % (
                    layout, secs, one_rate, rss / 1024, one), flush=True)
                for n in [int(x) for x in a.shards.split(",")]:
                    plan = os.path.join(dir, "plan%d.json" % n)
                    t = time.monotonic()
                    made = subprocess.run([S3META, "plan", "s3://sim", "--endpoint-url", endpoint,
                                           "--no-sign-request", "--shards", str(n), "-o", plan],
                                          capture_output=True, text=True)
                    plan_secs = time.monotonic() - t
                    if made.returncode != 0:
                        sys.exit("shards.py: plan failed: " + made.stderr)
                    probes = re.search(r"from (\d+) LIST", made.stderr).group(1)
                    secs, heads, rss, digest = scans(endpoint, dir, n, plan)
                    rate = sum(heads) / secs
                    same = "same" if digest == one else "DIFFERS " + digest
                    print("| %s | %d | %.2f | %s | %.2f | %.1f | %.0f | %.2f | %.1f | %s |" % (
                        layout, n, plan_secs, probes, max(heads) / (sum(heads) / n), secs, rate,
                        rate / one_rate, rss / 1024, same), flush=True)
        finally:
            sim.terminate()
            sim.communicate(timeout=30)


if __name__ == "__main__":
    main()
