#!/usr/bin/env bash
# Runs every test: installs what the tests need (Ceph RGW, s3s-fs, boto3), starts both servers on
# 127.0.0.1, seeds the test bucket with boto3, runs the lint checks and `cargo test`, and stops the
# servers whatever happens. Works on a fresh Debian machine with Rust; needs root (or sudo) for apt.
# usage: tests/run.sh [extra cargo test args]
# Ports (below the ephemeral range): RGW 17100 (+1 for its monitor), s3s-fs 17200. Override with
# S3META_RGW_PORT / S3META_S3SFS_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
RGW_PORT=${S3META_RGW_PORT:-17100}
S3SFS_PORT=${S3META_S3SFS_PORT:-17200}
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

step "install what the tests need"
bash tests/servers/install.sh --tests

SCRATCH=$(mktemp -d /tmp/s3meta-tests.XXXXXX)
cleanup() {
  step "stop the servers"
  bash tests/servers/stop.sh "$SCRATCH/rgw" || true
  bash tests/servers/stop.sh "$SCRATCH/s3sfs" || true
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

step "start Ceph RGW on 127.0.0.1:$RGW_PORT and s3s-fs on 127.0.0.1:$S3SFS_PORT"
bash tests/servers/rgw-up.sh "$SCRATCH/rgw" "$RGW_PORT" | grep -v SECRET
bash tests/servers/s3sfs-up.sh "$SCRATCH/s3sfs" "$S3SFS_PORT" | grep -v SECRET

step "seed the test bucket (boto3)"
for s in rgw s3sfs; do
  ( set +x; . "$SCRATCH/$s/credentials.env"; python3 tests/servers/seed_hard.py "$S3_ENDPOINT" itest ) 2>&1 |
    sed "s/^/[$s] /"
done

step "lint"
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings

step "cargo test"
export S3META_TEST_SERVERS="rgw=$SCRATCH/rgw/credentials.env;s3sfs=$SCRATCH/s3sfs/credentials.env"
export S3META_REQUIRE_SERVERS=1
cargo test --locked "$@"
