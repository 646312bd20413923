#!/usr/bin/env bash
# Fuzzes every target for SECONDS each (default 600), one after another, then prints a table of what
# libFuzzer reported: executions, speed, coverage, corpus growth, crashes. New corpus entries land in
# fuzz/corpus/TARGET/; a crash in fuzz/artifacts/TARGET/ (copy it to fuzz/regressions/TARGET/ once
# fixed, so that tests/fuzz_corpora.rs replays it forever). Needs nightly and cargo-fuzz:
#   cargo install cargo-fuzz --locked
# usage: fuzz/run.sh [SECONDS] [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")"
SECS=${1:-600}; shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(list_xml error_xml rfc2047 listed_key sigv4_canonical aws_config output_roundtrip)
LOGS=$(mktemp -d /tmp/s3meta-fuzz.XXXXXX)
cargo +nightly fuzz build -O >"$LOGS/build.log" 2>&1 || { tail -20 "$LOGS/build.log"; exit 1; }
for t in "${TARGETS[@]}"; do
  before=$(ls corpus/"$t" 2>/dev/null | wc -l)
  echo "fuzzing $t for $SECS s (corpus: $before files)" >&2
  code=0
  cargo +nightly fuzz run -O "$t" corpus/"$t" -- -max_total_time="$SECS" -max_len=16384 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 >"$LOGS/$t.log" 2>&1 || code=$?
  echo "$t $code $before" >>"$LOGS/summary"
done
echo "| target | seconds | executions | exec/s | coverage (edges) | corpus before → after | crashes |"
echo "|---|---:|---:|---:|---:|---:|---|"
while read -r t code before; do
  log="$LOGS/$t.log"
  # A run that crashed at once has no statistics: say so instead of stopping here.
  stat() { { grep -o "stat::$1: *[0-9]*" "$log" | grep -o '[0-9]*$' | tail -1; } || echo "?"; }
  cov=$({ grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*'; } || echo "?")
  after=$(ls corpus/"$t" | wc -l)
  crashes=$(ls artifacts/"$t" 2>/dev/null | wc -l)
  verdict=$([ "$code" = 0 ] && [ "$crashes" = 0 ] && echo none || echo "exit $code, $crashes in artifacts/$t")
  echo "| $t | $SECS | $(stat number_of_executed_units) | $(stat average_exec_per_sec) | $cov | $before → $after | $verdict |"
done <"$LOGS/summary"
echo "logs: $LOGS" >&2
