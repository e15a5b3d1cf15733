#!/usr/bin/env bash
# Python bindings (crates/python): builds and installs the `daspack` package into the test venv with a plain
# `pip install ./crates/python` (maturin; the HDF5 plugin libh5daspack.so is built with it and shipped inside), then
# runs the pytest suite: corpus round trips, error bounds, bad input, numcodecs, zarr v3/v2, dask.distributed, h5py
# through the filter registered by `import daspack`, and h5dump / a plain h5py through daspack.plugin_path().
# Exits non-zero on any failure or when no test ran; the HDF5 tests fail (never skip) when the plugin is missing.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../../scripts/lib.sh"
cd "$ROOT"

# h5dump (Debian's HDF5, not h5py's) reads a file written through the filter, with HDF5_PLUGIN_PATH=plugin_path().
ensure_apt hdf5-tools
export DASPACK_REQUIRE_H5DUMP=1
# Versions checked on CPython 3.11.
ensure_venv "numpy==2.4.6" "pytest==9.2.0" "numcodecs==0.16.6" "zarr==3.1.6" "dask[array]==2026.8.0" \
    "distributed==2026.8.0" "h5py==3.16.0"

# crates/python is its own workspace; it shares the target dir (and so the compiled codec crates) with the root one.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
log "pip install ./crates/python (maturin, with the HDF5 plugin)"
t0=$SECONDS
"$VENV/bin/pip" install -q --force-reinstall --no-deps ./crates/python
echo "built and installed in $((SECONDS - t0)) s"

log "pytest tests/python"
cd "$HERE"
rc=0
"$VENV/bin/python" -m pytest -q -p no:cacheprovider . || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
exit "$rc"
