#!/usr/bin/env bash
# Independent-decoder test of docs/format.md (the array stream, sections 1-7): decode.py is a second decoder
# written from the document alone (Python + numpy, zstandard for mode-3 variant 2). cases.py compresses arrays
# with `daspack compress --format stream` and checks decode.py against `daspack decompress` and the input (or the
# --abs-error bound), plus corrupt and crafted streams. Installs what it needs (idempotently): a venv at $VENV
# with numpy and zstandard. Exits non-zero on any failure; the last line is `N passed, M failed`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../../scripts/lib.sh"
cd "$ROOT"

ensure_venv numpy zstandard

log "building the CLI"
cargo build --release -q -p daspack-cli
CLI="${CARGO_TARGET_DIR:-$ROOT/target}/release/daspack"

log "stream format: decode.py against the CLI"
"$VENV/bin/python" "$HERE/cases.py" --cli "$CLI" "$@"
