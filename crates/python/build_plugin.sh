#!/usr/bin/env bash
# Builds the HDF5 filter plugin (crates/hdf5, libh5daspack.so) and copies it into python/daspack/plugins/, so that
# the next `pip install ./crates/python` bundles it into the wheel (import daspack then registers it with h5py).
# Exits 1 (copying nothing) when crates/hdf5 is absent or does not build; the package works without it.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DEST="$HERE/python/daspack/plugins"
rm -f "$DEST/libh5daspack.so"
[ -f "$ROOT/crates/hdf5/Cargo.toml" ] || { echo "build_plugin: no crates/hdf5" >&2; exit 1; }
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
if ! (cd "$ROOT" && cargo build --release -q -p daspack-hdf5); then
    echo "build_plugin: crates/hdf5 does not build; the wheel will not bundle the HDF5 plugin" >&2
    exit 1
fi
mkdir -p "$DEST"
cp "$TARGET/release/libh5daspack.so" "$DEST/libh5daspack.so"
echo "build_plugin: bundled $DEST/libh5daspack.so" >&2
