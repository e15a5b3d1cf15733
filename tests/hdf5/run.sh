#!/usr/bin/env bash
# The HDF5 filter plugin (id 33000) in the hosts it must serve: h5py's wheel (its bundled HDF5 2.0), Debian's
# HDF5 1.10 tools (h5dump, h5repack, h5diff) and a C program linked with Debian's libhdf5; then a read without
# the plugin. Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

ensure_apt libhdf5-dev hdf5-tools pkg-config gcc
ensure_venv h5py numpy

log "cargo build --release -p daspack-hdf5"
cargo build --release -p daspack-hdf5 || exit 1
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PLUGIN_DIR="$TARGET/release"
[ -f "$PLUGIN_DIR/libh5daspack.so" ] || { echo "FAIL: $PLUGIN_DIR/libh5daspack.so not built"; exit 1; }
# Only the plugin in the plugin directory: HDF5 tries to load every .so it finds there.
PLUGINS="$(mktemp -d)"
WORK="$(mktemp -d)"
trap 'rm -rf "$PLUGINS" "$WORK"' EXIT
cp "$PLUGIN_DIR/libh5daspack.so" "$PLUGINS/"

passed=0
failed=0
tally() { # reads PASS/FAIL lines on stdin, echoes them, counts them
    while IFS= read -r line; do
        echo "$line"
        case "$line" in
            PASS*) passed=$((passed + 1)) ;;
            FAIL*) failed=$((failed + 1)) ;;
        esac
    done
}
result() { if [ "$1" -eq 0 ]; then echo "PASS $2"; else echo "FAIL $2"; fi; }

# The plugin must not need any libhdf5: it resolves HDF5 from the host at run time.
if ldd "$PLUGINS/libh5daspack.so" | grep -q hdf5; then r=1; else r=0; fi
tally < <(result $r "plugin:links_no_libhdf5")
syms="$(nm -D --defined-only "$PLUGINS/libh5daspack.so")"
echo "$syms" | grep -q " T H5PLget_plugin_type$" && echo "$syms" | grep -q " T H5PLget_plugin_info$"
tally < <(result $? "plugin:exports")

log "C program with Debian's libhdf5"
CFLAGS_H5="$(pkg-config --cflags hdf5 2>/dev/null || echo -I/usr/include/hdf5/serial)"
LIBS_H5="$(pkg-config --libs hdf5 2>/dev/null || echo -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5)"
if gcc -O1 -Wall -o "$WORK/c_roundtrip" tests/hdf5/c_roundtrip.c $CFLAGS_H5 $LIBS_H5 -lm; then
    tally < <(HDF5_PLUGIN_PATH="$PLUGINS" "$WORK/c_roundtrip" "$WORK/c_roundtrip.h5" 2>"$WORK/c.err"; result $? "c:exit_status")
else
    tally < <(result 1 "c:compile")
fi

log "h5py $("$VENV/bin/python" -c 'import h5py; print(h5py.__version__, "with HDF5", h5py.version.hdf5_version)') and the HDF5 tools"
tally < <(HDF5_PLUGIN_PATH="$PLUGINS" "$VENV/bin/python" tests/hdf5/h5py_tests.py "$WORK" "$SHARED/data/das" 2>"$WORK/py.err" | grep -E '^(PASS|FAIL|SKIP)')
[ "$failed" -gt 0 ] && tail -40 "$WORK/py.err" >&2

log "reading without the plugin"
for dir in /nonexistent "$WORK/empty-plugin-dir"; do
    mkdir -p "$WORK/empty-plugin-dir"
    out="$(HDF5_PLUGIN_PATH="$dir" "$VENV/bin/python" tests/hdf5/no_plugin.py "$WORK/repacked.h5" 2>&1)"
    rc=$?
    # h5py raises OSError (exit 0 of the script, no crash); HDF5's error stack names the missing filter.
    if [ $rc -eq 0 ] && echo "$out" | grep -q "required filter 'daspack' is not registered" && echo "$out" | grep -q "raised OSError"; then r=0; else r=1; echo "$out" | tail -20; fi
    tally < <(result $r "no_plugin:clear_error($dir)")
done
out="$(HDF5_PLUGIN_PATH=/nonexistent h5dump --enable-error-stack -d /das_i16 "$WORK/repacked.h5" 2>&1)"
rc=$?
if [ $rc -ne 0 ] && [ $rc -lt 128 ] && echo "$out" | grep -q "required filter 'daspack' is not registered"; then r=0; else r=1; echo "rc=$rc"; echo "$out" | tail -5; fi
tally < <(result $r "no_plugin:h5dump_fails_cleanly")

echo
echo "hdf5: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
