#!/usr/bin/env python3
"""Before/after: s3meta builds (or one build with different flags) side by side, interleaved, against a
server that is already running.

usage: benches/ab.py ENDPOINT BUCKET OBJECTS RUNS LABEL=BINARY[,FLAG...] ...

  benches/ab.py http://127.0.0.1:17600 bench 10000 5 before=/tmp/s3meta-old after=target/release/s3meta
  benches/ab.py http://127.0.0.1:18100 sim 300000 3 j256=target/release/s3meta,-j,256 j512=target/release/s3meta,-j,512

Credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), as for `s3meta scan`.
Each run is `BINARY scan s3://BUCKET --endpoint-url ENDPOINT --format text --progress never FLAG...`; the
variants take turns R times. Prints per variant the medians of wall seconds, client CPU µs per HEAD
((user + system) / OBJECTS, from wait4) and peak RSS, and whether every run printed the same output as
the first variant's first run. `benches/compare.py` is the full harness with the peers; this is for
measuring one change.
"""
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import sorted_lines, timed  # noqa: E402


def main():
    if len(sys.argv) < 6:
        raise SystemExit(__doc__)
    endpoint, bucket, n, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    variants = []
    for spec in sys.argv[5:]:
        label, _, rest = spec.partition("=")
        binary, *flags = rest.split(",")
        if not binary:
            raise SystemExit("variant %r: write LABEL=BINARY[,FLAG...]" % spec)
        argv = [binary, "scan", "s3://" + bucket, "--endpoint-url", endpoint, "--format", "text",
                "--progress", "never"] + flags
        variants.append((label, argv))
    results = {label: [] for label, _ in variants}
    reference = None
    with tempfile.TemporaryDirectory(prefix="s3meta-ab.") as tmp:
        out = os.path.join(tmp, "out")
        for _ in range(runs):
            for label, argv in variants:
                code, wall, user, sys_, rss = timed(argv, os.environ.copy(), out)
                lines = sorted_lines(out)
                if reference is None:
                    reference = lines
                results[label].append((code, wall, (user + sys_) / n * 1e6, rss / 1024, lines == reference))
    print("| variant | wall s | CPU µs/HEAD | peak RSS MiB | exit 0, same output |")
    print("|---|---:|---:|---:|---|")
    for label, rs in results.items():
        print("| %s | %.3f | %.1f | %.1f | %s |" % (
            label, statistics.median(r[1] for r in rs), statistics.median(r[2] for r in rs),
            statistics.median(r[3] for r in rs), "yes" if all(r[0] == 0 and r[4] for r in rs) else "NO"))
    print("\nCommand: `benches/ab.py %s`" % " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
