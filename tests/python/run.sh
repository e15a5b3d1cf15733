#!/usr/bin/env bash
# Python bindings (crates/python): builds and installs the `daspack` package into the test venv with maturin, then
# runs the pytest suite: corpus round trips, error bounds, bad input, numcodecs, zarr v3/v2, dask.distributed and,
# when crates/hdf5 builds, h5py through the bundled HDF5 plugin. Exits non-zero on any failure or when no test ran.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../../scripts/lib.sh"
cd "$ROOT"

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    ensure_apt python3 python3-venv
fi
# Versions checked on CPython 3.11.
ensure_venv "numpy==2.4.6" "pytest==9.2.0" "numcodecs==0.16.6" "zarr==3.1.6" "dask[array]==2026.8.0" \
    "distributed==2026.8.0" "h5py==3.16.0" "maturin==1.16.0"

# crates/python is its own workspace; it shares the target dir (and so the compiled codec crates) with the root one.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
log "HDF5 plugin for the wheel (crates/hdf5)"
if bash crates/python/build_plugin.sh; then
    echo "HDF5 plugin bundled"
else
    echo "HDF5 plugin not bundled: the h5py test will be skipped"
fi

log "pip install ./crates/python (maturin)"
# --no-build-isolation: use the venv's pinned maturin (on PATH for its pep517 hook) instead of a fresh download.
PATH="$VENV/bin:$PATH" "$VENV/bin/pip" install -q --no-build-isolation --force-reinstall --no-deps ./crates/python

log "pytest tests/python"
cd "$HERE"
rc=0
"$VENV/bin/python" -m pytest -q -p no:cacheprovider . || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
exit "$rc"
