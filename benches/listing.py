#!/usr/bin/env python3
"""The parallel-listing benchmark: s3meta sim with a slow LIST and a fast HEAD, scanned by s3meta with
1, 4, 16 and 64 listers (--list-concurrency) and `auto`, on the flat and the tree layouts. Prints, for
each run: seconds, HEAD/s, the ratio to one stream, peak RSS, the ranges the listing used, and whether
the output is byte for byte the one-stream output (its SHA-256).

The HEAD path of one process has a ceiling (about 20-30k HEAD/s on 2 cores, where the simulator
shares the cores): where listers reach it, a longer --list-latency shows what the listing alone gains.

usage: benches/listing.py [--objects 10000000] [--list-latency 100ms] [--head-latency 1ms]
                          [--listers 1,4,16,64,auto] [--layouts flat,tree:10:3]
Needs target/release/s3meta (cargo build --release).
"""
import argparse
import hashlib
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
S3META = os.path.join(REPO, "target", "release", "s3meta")


def start_sim(args):
    sim = subprocess.Popen([S3META, "sim", "--duration", "36000", "--anonymous"] + args,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    banner = sim.stdout.readline()
    endpoint = banner.split("listening on ")[1].split()[0]
    return sim, endpoint


def scan(endpoint, listers):
    argv = ["/usr/bin/time", "-f", "maxrss_kb=%M", S3META, "scan", "s3://sim", "--endpoint-url", endpoint,
            "--no-sign-request", "--format", "text", "--list-concurrency", listers]
    started = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    digest = hashlib.sha256()
    while True:
        chunk = p.stdout.read(1 << 20)
        if not chunk:
            break
        digest.update(chunk)
    err = p.stderr.read().decode("utf-8", "replace")
    p.wait()
    secs = time.monotonic() - started
    fields = dict(re.findall(r"(\w+)=([\d.]+)", err))
    return secs, p.returncode, fields, digest.hexdigest()[:12], err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=10_000_000)
    ap.add_argument("--list-latency", default="100ms")
    ap.add_argument("--head-latency", default="1ms")
    ap.add_argument("--listers", default="1,4,16,64,auto")
    ap.add_argument("--layouts", default="flat,tree:10:3")
    a = ap.parse_args()
    if not os.path.exists(S3META):
        sys.exit("listing.py: build target/release/s3meta first (cargo build --release)")
    print("# %d objects, LIST %s, HEAD %s (s3meta sim, anonymous)" % (a.objects, a.list_latency, a.head_latency))
    print()
    print("| layout | listers | seconds | HEAD/s | ÷ 1 stream | peak RSS MiB | ranges | output | exit |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for layout in a.layouts.split(","):
        sim, endpoint = start_sim(["--objects", str(a.objects), "--layout", layout,
                                   "--list-latency", a.list_latency, "--head-latency", a.head_latency])
        one_rate, one_digest = None, None
        try:
            for listers in a.listers.split(","):
                secs, code, f, digest, err = scan(endpoint, listers)
                heads = float(f.get("heads", 0))
                rate = heads / secs if secs else 0
                if one_rate is None:
                    one_rate, one_digest = rate, digest
                same = "same" if digest == one_digest else "DIFFERS " + digest
                print("| %s | %s | %.1f | %.0f | %.2f | %.1f | %s | %s | %d |" % (
                    layout, listers, secs, rate, rate / one_rate if one_rate else 0,
                    float(f.get("maxrss_kb", 0)) / 1024, f.get("ranges", "1"), same, code), flush=True)
                if code != 0:
                    print(err, file=sys.stderr)
        finally:
            sim.terminate()
            sim.communicate(timeout=30)


if __name__ == "__main__":
    main()
