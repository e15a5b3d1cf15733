#!/usr/bin/env bash
# The main job end to end: build, compress a DAS recording, verify it, print ratio and speed.
# Uses a synthetic DAS block (no data needed), then a real recording from ../shared when it is present.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
cargo build --release -q -p daspack-cli
./target/release/daspack demo "$@"
real="$SHARED/data/das/apsensing_int32_150x4082.npy"
if [ $# -eq 0 ] && [ -f "$real" ]; then
    echo
    ./target/release/daspack demo "$real"
fi
