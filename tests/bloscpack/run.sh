#!/usr/bin/env bash
# Cross-language test: daspack's Rust Bloscpack (crates/container, via the blp_tool example) against the real
# Python bloscpack 0.16 and python-blosc (c-blosc 1.x), in both directions. See interop.py for the cases.
# Installs what it needs (idempotently): a venv at $VENV with bloscpack, blosc and numpy, plus the sitecustomize
# shim bloscpack 0.16 needs on Python >= 3.10. Exits non-zero on any failure; the last line is `N passed, M failed`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../../scripts/lib.sh"
cd "$ROOT"

ensure_python
# python-blosc 1.11.4 ships manylinux wheels for CPython 3.8-3.12; elsewhere it builds c-blosc from source.
if ! python3 -c 'import sys; sys.exit(0 if (3, 8) <= sys.version_info[:2] <= (3, 12) else 1)'; then
    ensure_apt cmake gcc g++ python3-dev
fi
ensure_venv "bloscpack==0.16.0" "blosc==1.11.4" numpy

# bloscpack 0.16 uses collections.MutableMapping, removed in Python 3.10: alias it at interpreter start.
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if ! grep -qs "collections.MutableMapping = collections.abc.MutableMapping" "$SITE/sitecustomize.py"; then
    log "installing the MutableMapping shim into $SITE/sitecustomize.py"
    cat >>"$SITE/sitecustomize.py" <<'PY'
# daspack: bloscpack 0.16 needs collections.MutableMapping (removed in Python 3.10).
import collections, collections.abc
if not hasattr(collections, "MutableMapping"):
    collections.MutableMapping = collections.abc.MutableMapping
PY
fi
"$VENV/bin/python" -c 'import bloscpack' # fails here if the shim does not work

log "building the blp_tool example"
cargo build --release -q -p daspack-container --example blp_tool
TOOL="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/blp_tool"

log "bloscpack interop"
"$VENV/bin/python" "$HERE/interop.py" --tool "$TOOL" "$@"
