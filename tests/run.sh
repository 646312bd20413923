#!/usr/bin/env bash
# Runs every test: installs what the tests need (Ceph RGW, s3s-fs, Garage, Slurm, Python), starts the
# three servers and a one-node Slurm on 127.0.0.1, seeds each with tests/servers/seed_hard.py (which also records what the server
# holds, the tests' independent oracle), runs the lint checks (with and without the optional features),
# `cargo deny` (offline: licences, bans, sources), the static build (README, "A static binary"), and
# `cargo test` including the real-server and static-binary tests, and stops the servers whatever happens.
# Works on a fresh Debian machine with Rust; needs root (or sudo) for apt.
# usage: tests/run.sh [extra cargo test args]
# Ports (below the ephemeral range): RGW 17100 (+1 for its monitor), s3s-fs 17200, Garage 17300
# (+1, +2 for its RPC and admin ports), slurmctld 17400 (+1 for slurmd). Override with
# S3META_RGW_PORT / S3META_S3SFS_PORT / S3META_GARAGE_PORT / S3META_SLURM_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${S3META_BLESS:-}" ]; then
  echo "tests/run.sh: S3META_BLESS is set: it rewrites the golden files instead of checking them; unset it" >&2
  exit 2
fi
RGW_PORT=${S3META_RGW_PORT:-17100}
S3SFS_PORT=${S3META_S3SFS_PORT:-17200}
GARAGE_PORT=${S3META_GARAGE_PORT:-17300}
SLURM_PORT=${S3META_SLURM_PORT:-17400}
export PATH="$HOME/.cargo/bin:$PATH"
SERVERS=(rgw s3sfs garage)

step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }

step "install what the tests need"
bash tests/servers/install.sh --tests

SCRATCH=$(mktemp -d /tmp/s3meta-tests.XXXXXX)
cleanup() {
  step "stop the servers"
  for s in "${SERVERS[@]}" slurm; do bash tests/servers/stop.sh "$SCRATCH/$s" || true; done
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

step "start Ceph RGW on 127.0.0.1:$RGW_PORT, s3s-fs on :$S3SFS_PORT, Garage on :$GARAGE_PORT"
bash tests/servers/rgw-up.sh "$SCRATCH/rgw" "$RGW_PORT" | grep -v SECRET
bash tests/servers/s3sfs-up.sh "$SCRATCH/s3sfs" "$S3SFS_PORT" | grep -v SECRET
bash tests/servers/garage-up.sh "$SCRATCH/garage" "$GARAGE_PORT" | grep -v SECRET

step "start a one-node Slurm (slurmctld on 127.0.0.1:$SLURM_PORT) for the job-array test"
bash tests/servers/slurm-up.sh "$SCRATCH/slurm" "$SLURM_PORT"

step "seed the test bucket, and record what each server holds"
spec=
for s in "${SERVERS[@]}"; do
  ( set +x; . "$SCRATCH/$s/credentials.env"
    python3 tests/servers/seed_hard.py "$S3_ENDPOINT" itest "$SCRATCH/$s/manifest.json" ) 2>&1 | sed "s/^/[$s] /"
  spec="$spec$s=$SCRATCH/$s;"
done

step "lint"
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo clippy --locked --no-default-features --all-targets -- -D warnings

step "build without the simulator"
cargo build --locked --no-default-features

step "supply chain: licences, bans, sources (offline; advisories need the network)"
cargo deny --locked --offline --config .ci/deny.toml check licenses bans sources

step "the static build (the README's command)"
cargo build --locked --release --no-default-features --features tls \
  --target x86_64-unknown-linux-gnu \
  --config 'target.x86_64-unknown-linux-gnu.rustflags=["-C", "target-feature=+crt-static"]'
export S3META_STATIC_BINARY="$PWD/target/x86_64-unknown-linux-gnu/release/s3meta"

step "the release build the integration tests run (scans of 200,000 objects take seconds)"
cargo build --locked --release
export S3META_BINARY="$PWD/target/release/s3meta"

step "cargo test"
export S3META_TEST_SERVERS="$spec"
export S3META_SLURM_CONF="$SCRATCH/slurm/slurm.conf"
export S3META_REQUIRE_SERVERS=rgw,s3sfs,garage
export S3META_REQUIRE_TOOLS=slurm,kubernetes-validate
cargo test --locked "$@" -- --include-ignored
