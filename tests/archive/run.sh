#!/usr/bin/env bash
# Independent-reader test of docs/format.md, appendix "Archive format .dpk v1" (A.1-A.6): dpk.py is a second reader
# of .dpk archives written from the document alone (Python + numpy, zstandard, lz4, xxhash, blake3; DAS chunks go
# through tests/format/decode.py). cases.py makes archives with `daspack compress`, `pack` and `append` (to files
# and to stdout) and checks dpk.py against the inputs and `daspack list`/`decompress`/`unpack`/`verify`; corrupts
# them (both must reject); and writes archives of its own from the document (both must agree). Installs what it
# needs (idempotently): a venv at $VENV with those packages. Exits non-zero on any failure; the last line is
# `N passed, M failed`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../../scripts/lib.sh"
cd "$ROOT"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import numpy, zstandard, lz4.block, xxhash, blake3' 2>/dev/null; then
    ensure_venv numpy zstandard lz4 xxhash blake3
fi

log "building the CLI"
cargo build --release -q -p daspack-cli
CLI="${CARGO_TARGET_DIR:-$ROOT/target}/release/daspack"

log "archive format: dpk.py against the CLI"
"$VENV/bin/python" "$HERE/cases.py" --cli "$CLI" "$@"
