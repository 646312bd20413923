#!/usr/bin/env bash
# Benchmark: s3meta scanning a real local S3 server, side by side at several concurrencies.
# Prints, per setting, the median of R runs: wall seconds, HEAD/s, client CPU µs per HEAD
# ((user+sys of the s3meta process) / objects), and peak RSS.
#
# usage: benches/scan.sh [rgw|garage] [OBJECTS] [RUNS] [CONCURRENCIES]
#   defaults: rgw 10000 3 "16 64 256 1024"
# Starts the server on 127.0.0.1 (RGW 17300, Garage 17400), seeds it with benches/seed.py
# (boto3; ~20 s per 10,000 objects), builds the release binary, runs, stops the server.
# Needs what tests/servers/install.sh installs (Garage only with its default options).
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER=${1:-rgw} N=${2:-10000} R=${3:-3} CONCS=${4:-"16 64 256 1024"}
export PATH="$HOME/.cargo/bin:$PATH"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

cargo build --release --locked -q
BIN=$(pwd)/target/release/s3meta
SCRATCH=$(mktemp -d /tmp/s3meta-bench.XXXXXX)
trap 'bash tests/servers/stop.sh "$SCRATCH/srv" >/dev/null 2>&1 || true; rm -rf "$SCRATCH"' EXIT
case $SERVER in
  rgw) bash tests/servers/rgw-up.sh "$SCRATCH/srv" 17300 >/dev/null ;;
  garage) bash tests/servers/garage-up.sh "$SCRATCH/srv" 17400 >/dev/null ;;
  *) echo "server is rgw or garage" >&2; exit 2 ;;
esac
# shellcheck disable=SC1091
. "$SCRATCH/srv/credentials.env"
python3 benches/seed.py "$S3_ENDPOINT" bench "$N" 16 >&2

echo "# s3meta on $SERVER, $N objects, median of $R runs ($(nproc) cores, server on the same machine)"
printf '| %-12s | %8s | %8s | %14s | %11s |\n' "concurrency" "wall s" "HEAD/s" "CPU µs/HEAD" "max RSS MiB"
printf '|%s|%s|%s|%s|%s|\n' "--------------" "---------:" "---------:" "---------------:" "------------:"
for c in $CONCS; do
  rows=()
  for _ in $(seq "$R"); do
    /usr/bin/time -f '%e %U %S %M' -o "$SCRATCH/time" "$BIN" scan s3://bench --endpoint-url "$S3_ENDPOINT" \
      -j "$c" --progress never > "$SCRATCH/out" 2> "$SCRATCH/err"
    lines=$(wc -l < "$SCRATCH/out")
    [ "$lines" = "$N" ] || { echo "concurrency $c: $lines lines, expected $N" >&2; cat "$SCRATCH/err" >&2; exit 1; }
    rows+=("$(cat "$SCRATCH/time")")
  done
  printf '%s\n' "${rows[@]}" | python3 -c '
import sys, statistics
c, n = int(sys.argv[1]), int(sys.argv[2])
runs = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
wall = statistics.median(r[0] for r in runs)
cpu = statistics.median((r[1] + r[2]) for r in runs)
rss = statistics.median(r[3] for r in runs) / 1024
print("| %-12d | %8.2f | %8.0f | %14.1f | %11.1f |" % (c, wall, n / wall, cpu / n * 1e6, rss))
' "$c" "$N"
done
echo "# command: benches/scan.sh $SERVER $N $R \"$CONCS\""
