#!/usr/bin/env python3
"""The throttling benchmark: a store that answers 503 SlowDown above R HEAD/s (s3meta sim --throttle),
scanned by s3meta at its defaults (adaptive), by s3meta with adaptation off (fixed -j 256), and by the
Go peer (go-64, if built: benches/build-peers.sh). Prints, for each: HEAD/s, its share of R, and the
share of requests throttled (counted by the simulator); then the time series of s3meta's in-flight
limit and rate (from its progress line) as an ASCII table.

usage: benches/throttle.py [--rps 5500] [--latency 5ms] [--objects 100000] [--series-every 1.0]
Needs target/release/s3meta (cargo build --release).
"""
import argparse
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
S3META = os.path.join(REPO, "target", "release", "s3meta")
GO = os.path.join(REPO, "target", "peers", "go-peer")
CREDS = {"AWS_ACCESS_KEY_ID": "S3METASIMACCESSKEY", "AWS_SECRET_ACCESS_KEY": "s3meta-sim-public-test-secret"}


def start_sim(args):
    sim = subprocess.Popen([S3META, "sim", "--duration", "3600"] + args,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    banner = sim.stdout.readline()
    endpoint = banner.split("listening on ")[1].split()[0]
    return sim, endpoint


def stop_sim(sim):
    sim.terminate()
    _, err = sim.communicate(timeout=30)
    return dict(re.findall(r"(\w+)=([\d.]+)", err))


def run(name, argv, series=None):
    env = dict(os.environ, **CREDS)
    started = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    lines = []

    def read():
        buf = b""
        while True:
            chunk = p.stderr.read1(4096) if hasattr(p.stderr, "read1") else p.stderr.read(4096)
            if not chunk:
                break
            buf += chunk
            *parts, buf = re.split(rb"[\r\n]", buf)
            now = time.monotonic() - started
            for part in parts:
                if part.strip():
                    lines.append((now, part.decode("utf-8", "replace")))
        if buf.strip():
            lines.append((time.monotonic() - started, buf.decode("utf-8", "replace")))

    t = threading.Thread(target=read)
    t.start()
    p.wait()
    t.join()
    secs = time.monotonic() - started
    if series is not None:
        series.extend(lines)
    return secs, p.returncode, [l for _, l in lines]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rps", type=float, default=5500)
    ap.add_argument("--latency", default="5ms")
    ap.add_argument("--objects", type=int, default=100000)
    ap.add_argument("--series-every", type=float, default=1.0)
    a = ap.parse_args()
    if not os.path.exists(S3META):
        sys.exit("throttle.py: build target/release/s3meta first (cargo build --release)")
    sim_args = ["--objects", str(a.objects), "--throttle", str(a.rps), "--head-latency", a.latency]
    tools = [
        ("s3meta (adaptive, default)", lambda e: [S3META, "scan", "s3://sim", "--endpoint-url", e, "--format", "text", "--progress", "always"]),
        ("s3meta --no-adapt -j 256", lambda e: [S3META, "scan", "s3://sim", "--endpoint-url", e, "--format", "text", "--progress", "never", "--no-adapt", "-j", "256"]),
    ]
    if os.path.exists(GO):
        tools.append(("go-64", lambda e: [GO, e, "sim", "", "64"]))
    else:
        print("go-64: not built (benches/build-peers.sh)", file=sys.stderr)
    print("# store: %d objects, 503 SlowDown above %.0f HEAD/s, %s per HEAD (s3meta sim)" % (a.objects, a.rps, a.latency))
    print()
    print("| client | seconds | HEAD/s | of %.0f | requests | throttled | exit |" % a.rps)
    print("|---|---:|---:|---:|---:|---:|---:|")
    series = []
    for name, argv in tools:
        sim, endpoint = start_sim(sim_args)
        secs, code, _ = run(name, argv(endpoint), series if name.startswith("s3meta (adaptive") else None)
        stats = stop_sim(sim)
        heads = float(stats.get("heads", 0))
        requests = float(stats.get("requests", 0))
        throttled = float(stats.get("throttled", 0))
        rate = heads / secs if secs else 0
        print("| %s | %.1f | %.0f | %.0f%% | %d | %.2f%% | %d |" % (
            name, secs, rate, 100 * rate / a.rps, requests, 100 * throttled / max(requests, 1), code))
    print()
    print("s3meta's HEAD limit over time (adaptive run, from its progress line):")
    print()
    print("| t (s) | HEADs done | HEAD/s since last row | in-flight limit | rate limit (/s) | throttled so far |")
    print("|---:|---:|---:|---:|---:|---:|")
    last_t, last_heads, next_t = 0.0, 0, 0.0
    print("(%d progress lines, the last at %.1f s)" % (len(series), series[-1][0] if series else 0), file=sys.stderr)
    for t, line in series:
        m = re.search(r"(\d+) HEADs .*limit (\d+)(?: at (\d+)/s)?(?:, (\d+) throttled)?", line)
        if not m or t < next_t:
            continue
        heads = int(m.group(1))
        print("| %.1f | %d | %.0f | %s | %s | %s |" % (
            t, heads, (heads - last_heads) / max(t - last_t, 1e-9), m.group(2), m.group(3) or "none", m.group(4) or "0"))
        last_t, last_heads, next_t = t, heads, t + a.series_every


if __name__ == "__main__":
    main()
