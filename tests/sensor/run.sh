#!/usr/bin/env bash
# Independent-implementation test of docs/sensor.md (the prefix-code sensor codec, protocol v0.2): prefix.py is a
# second encoder and decoder written from the document alone (standard-library Python). cases.py checks it against
# `daspack sensor encode|decode` bit for bit on crafted series, decodes hostile streams with both decoders and
# requires them to agree, and requires every code word of the document to be exercised. Exits non-zero on any
# failure; the last line is `N passed, M failed`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../../scripts/lib.sh"
cd "$ROOT"

ensure_python

log "building the CLI"
cargo build --release -q -p daspack-cli
CLI="${CARGO_TARGET_DIR:-$ROOT/target}/release/daspack"

log "sensor codec: prefix.py against the CLI"
PYTHONDONTWRITEBYTECODE=1 python3 "$HERE/cases.py" --cli "$CLI" --example "$ROOT/crates/sensor/examples/temperature.txt" "$@"
