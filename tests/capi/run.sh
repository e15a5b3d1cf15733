#!/usr/bin/env bash
# The C ABI from the outside: installs libdaspack with cargo-c into a temporary prefix, checks what was installed
# (header = committed include/daspack.h, SONAME, pkg-config file, only daspack_* symbols exported), builds the
# examples and tests/capi/abi_errors.c with pkg-config against it, runs them on real data (the AP Sensing int32
# recording when ../shared is present, synthetic data otherwise) comparing outputs with `cmp`: bare codec streams
# (compress_int32, read_stream) and .dpk archives (write_dpk, read_dpk; every recording of ../shared/data/das, and
# an archive of the daspack CLI when a build of it is found), then runs the same programs under valgrind (zero
# errors, zero definite/indirect leaks). Prints "N passed, M failed".
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

ensure_apt pkg-config valgrind make gcc g++ binutils python3

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
PREFIX="$TMP/prefix"
BUILD="$TMP/build"
DATA="$TMP/data"
mkdir -p "$DATA"

passed=0
failed=0
failures=()
pass() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); failures+=("$*"); echo "FAILED: $*"; }
# check NAME CMD...: runs CMD, counts it.
check() {
    local name="$1"
    shift
    if "$@" >"$TMP/last.log" 2>&1; then pass "$name"; else fail "$name"; sed 's/^/    /' "$TMP/last.log" | tail -40; fi
}

log "cargo cinstall -p daspack-capi --prefix $PREFIX"
if ! cinstall_capi "$PREFIX" >"$TMP/cinstall.log" 2>&1; then
    tail -40 "$TMP/cinstall.log"
    echo "0 passed, 1 failed"
    exit 1
fi
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
LIB="$PREFIX/lib/libdaspack.so"

# ---- What was installed ----
log "installed files"
crate_version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
check "pkg-config finds daspack $crate_version" test "$(pkg-config --modversion daspack)" = "$crate_version"
check "shared and static libraries installed" test -f "$PREFIX/lib/libdaspack.a" -a -L "$LIB" -a -f "$(readlink -f "$LIB")"
check "installed header is the committed include/daspack.h" cmp "$PREFIX/include/daspack.h" include/daspack.h
soname="$(readelf -d "$LIB" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
check "SONAME $soname is versioned and installed" bash -c "[[ '$soname' == libdaspack.so.[0-9]* && -e '$PREFIX/lib/$soname' ]]"

nm -D --defined-only "$LIB" | awk '{print $NF}' | sort >"$TMP/exports.txt"
grep -v '^daspack_' "$TMP/exports.txt" >"$TMP/foreign.txt"
check "nm -D exports only daspack_* symbols ($(wc -l <"$TMP/exports.txt") exported)" test ! -s "$TMP/foreign.txt"
[ -s "$TMP/foreign.txt" ] && head -20 "$TMP/foreign.txt"
grep -o '\bdaspack_[a-z0-9_]*(' include/daspack.h | tr -d '(' | sort -u >"$TMP/declared.txt"
check "every function declared in the header is exported, and only those" cmp "$TMP/declared.txt" "$TMP/exports.txt"

# ---- Build against the installed library ----
log "building examples and the C ABI test with pkg-config"
check "examples build (make all static)" make -C examples BUILD="$BUILD" all static
check "abi_errors.c builds" bash -c "cc -O1 -g -std=c11 -Wall -Wextra -Wpedantic -Werror \
    \$(pkg-config --cflags daspack) tests/capi/abi_errors.c -o '$BUILD/abi_errors' \
    \$(pkg-config --libs daspack) -Wl,-rpath,\$(pkg-config --variable=libdir daspack)"
check "programs link to the installed libdaspack" bash -c "ldd '$BUILD/compress_int32' | grep -q '$PREFIX/lib/$soname'"

# ---- Data ----
NPY="$SHARED/data/das/apsensing_int32_150x4082.npy"
if [ -f "$NPY" ]; then
    # Strip the .npy header: magic (6) + version (2) + header length (2 bytes LE, v1) + header.
    hlen=$(python3 -c "import struct,sys; b=open(sys.argv[1],'rb').read(10); print(10+struct.unpack('<H',b[8:10])[0])" "$NPY")
    tail -c +"$((hlen + 1))" "$NPY" >"$DATA/in.raw"
    ROWS=150 COLS=4082
    log "data: $NPY ($ROWS x $COLS int32)"
else
    ROWS=600 COLS=97
    python3 - "$DATA/in.raw" "$ROWS" "$COLS" <<'EOF'
import math, struct, sys
path, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
vals = [int(800 * math.sin((t - 0.6 * x) / 11.0) + 30 * math.sin(t / 3.0 + x) + (t * 7919 + x * 104729) % 41 - 20)
        for t in range(rows) for x in range(cols)]
open(path, "wb").write(struct.pack("<%di" % len(vals), *vals))
EOF
    log "data: synthetic $ROWS x $COLS int32 (../shared not found)"
fi

# ---- Run natively, compare outputs ----
log "examples on real data"
check "abi_errors: every entry point with NULL, zero lengths, small buffers, corrupt input" "$BUILD/abi_errors" "$DATA"
check "compress_int32 lossless round trip" "$BUILD/compress_int32" "$DATA/in.raw" $ROWS $COLS "$DATA/a.das" "$DATA/a.raw"
check "decompressed array identical to the input (cmp)" cmp "$DATA/in.raw" "$DATA/a.raw"
check "compress_int32 with 2 threads" "$BUILD/compress_int32" "$DATA/in.raw" $ROWS $COLS "$DATA/b.das" "$DATA/b.raw" 0 2
check "stream independent of the thread count (cmp)" cmp "$DATA/a.das" "$DATA/b.das"
check "statically linked compress_int32" "$BUILD/compress_int32-static" "$DATA/in.raw" $ROWS $COLS "$DATA/s.das" "$DATA/s.raw"
check "static and shared builds write the same stream (cmp)" cmp "$DATA/a.das" "$DATA/s.das"
check "compress_int32 within abs error 3 (checks the bound)" "$BUILD/compress_int32" "$DATA/in.raw" $ROWS $COLS "$DATA/e.das" "$DATA/e.raw" 3
check "read_stream decodes whole and tile by tile" "$BUILD/read_stream" "$DATA/a.das" "$DATA/r.raw"
check "read_stream output identical to the input (cmp)" cmp "$DATA/in.raw" "$DATA/r.raw"
check "read_stream on a fixed-accuracy stream" "$BUILD/read_stream" "$DATA/e.das" "$DATA/re.raw"
check "read_stream agrees with compress_int32 on it (cmp)" cmp "$DATA/e.raw" "$DATA/re.raw"
check "sensor_stream make-series" "$BUILD/sensor_stream" make-series 200000 "$DATA/sensor.raw"
check "sensor_stream streaming encode/decode" "$BUILD/sensor_stream" "$DATA/sensor.raw" "$DATA/sensor.sns" "$DATA/sensor.out"
check "sensor series identical after the round trip (cmp)" cmp "$DATA/sensor.raw" "$DATA/sensor.out"
check "cpp_roundtrip" "$BUILD/cpp_roundtrip"
check "programs refuse a corrupt stream" bash -c "head -c 1000 '$DATA/a.das' >'$DATA/cut.das'; \
    ! '$BUILD/read_stream' '$DATA/cut.das' 2>'$DATA/cut.err' && grep -q DASPACK_ERROR_TRUNCATED '$DATA/cut.err'"

# ---- .dpk archives ----
log "archives (.dpk)"
NPYTOOL="$ROOT/tests/capi/npy_tool.py"
check "write_dpk writes an archive (array, text, appended entry)" \
    "$BUILD/write_dpk" "$DATA/in.raw" int32 $ROWS $COLS "$DATA/arch.dpk"
check "read_dpk lists, reads whole/by rows/by chunks, verifies, equals the input" \
    "$BUILD/read_dpk" "$DATA/arch.dpk" array.npy "$DATA/in.raw" "$DATA/arch.raw"
check "read_dpk output identical to the input (cmp)" cmp "$DATA/in.raw" "$DATA/arch.raw"
check "write_dpk within abs error 3, 64 KiB chunks" \
    "$BUILD/write_dpk" "$DATA/in.raw" int32 $ROWS $COLS "$DATA/lossy.dpk" 3 65536
check "read_dpk on the fixed-accuracy archive" "$BUILD/read_dpk" "$DATA/lossy.dpk" - - "$DATA/lossy.raw"
check "every value of the fixed-accuracy archive within 3" \
    python3 "$NPYTOOL" within "$DATA/in.raw" "$DATA/lossy.raw" int32 3
if [ -d "$SHARED/data/das" ]; then
    for npy in "$SHARED"/data/das/*.npy; do
        base="$(basename "$npy" .npy)"
        if ! meta="$(python3 "$NPYTOOL" raw "$npy" "$DATA/$base.raw")"; then
            echo "skip: $base (not a 1-D/2-D C-order array of a DAS type)"
            continue
        fi
        read -r dt r c <<<"$meta"
        check "write_dpk + read_dpk: $base ($dt $r x $c) round trip (cmp)" bash -c "
            '$BUILD/write_dpk' '$DATA/$base.raw' $dt $r $c '$DATA/$base.dpk' &&
            '$BUILD/read_dpk' '$DATA/$base.dpk' array.npy '$DATA/$base.raw' '$DATA/$base.out' &&
            cmp '$DATA/$base.raw' '$DATA/$base.out'"
    done
else
    echo "skip: ../shared/data/das not found (the real recordings)"
fi
# Archives written by the daspack CLI (`daspack compress X.npy X.dpk`), when a build of it is at hand (not built
# here: it is not part of the C ABI).
CLI=""
for c in "${CARGO_TARGET_DIR:-$ROOT/target}/release/daspack" "$ROOT/target/release/daspack" \
    "${CARGO_TARGET_DIR:-$ROOT/target}/debug/daspack" "$ROOT/target/debug/daspack"; do
    if [ -x "$c" ]; then CLI="$c"; break; fi
done
if [ -n "$CLI" ] && [ -f "$NPY" ] && "$CLI" compress --force "$NPY" "$DATA/cli.dpk" >/dev/null 2>&1 &&
    [ "$(head -c 4 "$DATA/cli.dpk" | tail -c 3)" = "DPK" ]; then
    check "read_dpk on an archive written by \`daspack compress\` ($CLI)" \
        "$BUILD/read_dpk" "$DATA/cli.dpk" "$(basename "$NPY")" "$DATA/in.raw" "$DATA/cli.raw"
    check "CLI archive read through the C ABI identical to the input (cmp)" cmp "$DATA/in.raw" "$DATA/cli.raw"
else
    echo "skip: no daspack CLI build that writes .dpk archives (cargo build --release -p daspack-cli), or no real data"
fi
check "read_dpk refuses a truncated archive" bash -c "head -c 5000 '$DATA/arch.dpk' >'$DATA/cut.dpk'; \
    ! '$BUILD/read_dpk' '$DATA/cut.dpk' 2>'$DATA/cut.err' && grep -q DASPACK_ERROR_TRUNCATED '$DATA/cut.err'"
check "read_dpk refuses an archive with a damaged chunk (CRC-32, chunk named)" bash -c "
    python3 '$NPYTOOL' flip '$DATA/arch.dpk' '$DATA/bad.dpk' 300 &&
    ! '$BUILD/read_dpk' '$DATA/bad.dpk' 2>'$DATA/bad.err' &&
    grep -q 'DASPACK_ERROR_CORRUPT.*chunk 0 .*CRC-32 mismatch' '$DATA/bad.err'"
check "no temporary file left by the writers" bash -c "! ls -A '$DATA' | grep -q 'tmp-'"

# ---- The same under valgrind ----
log "valgrind"
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --suppressions="$ROOT/tests/capi/valgrind.supp")
vg() {
    local name="$1"
    shift
    if "${VG[@]}" "$@" >"$TMP/vg.log" 2>&1 && ! grep -q "==[0-9]*==" "$TMP/vg.log"; then
        pass "valgrind: $name"
    else
        fail "valgrind: $name"
        sed 's/^/    /' "$TMP/vg.log" | tail -40
    fi
}
DASPACK_SKIP_RSS_CHECK=1 vg "abi_errors" "$BUILD/abi_errors" "$DATA"
vg "compress_int32 (lossless)" "$BUILD/compress_int32" "$DATA/in.raw" $ROWS $COLS "$DATA/v.das" "$DATA/v.raw" 0 2
check "valgrind run's output identical to the input (cmp)" cmp "$DATA/in.raw" "$DATA/v.raw"
vg "compress_int32-static (abs error 3)" "$BUILD/compress_int32-static" "$DATA/in.raw" $ROWS $COLS "$DATA/w.das" "$DATA/w.raw" 3
vg "read_stream" "$BUILD/read_stream" "$DATA/a.das" "$DATA/vr.raw"
# A failing run: exit status 1 from the program, nothing from valgrind.
"${VG[@]}" "$BUILD/read_stream" "$DATA/cut.das" >"$TMP/vg.log" 2>&1
status=$?
if [ $status -eq 1 ] && ! grep -q "==[0-9]*==" "$TMP/vg.log"; then
    pass "valgrind: read_stream on a truncated stream"
else
    fail "valgrind: read_stream on a truncated stream (status $status)"
    sed 's/^/    /' "$TMP/vg.log" | tail -40
fi
vg "write_dpk (archive: array, text, append)" "$BUILD/write_dpk" "$DATA/in.raw" int32 $ROWS $COLS "$DATA/v.dpk"
vg "read_dpk (list, whole, rows, chunks, verify, from memory)" "$BUILD/read_dpk" "$DATA/v.dpk" array.npy "$DATA/in.raw"
vg "read_dpk on an archive written by libdaspack with 64 KiB chunks" "$BUILD/read_dpk" "$DATA/lossy.dpk" - - "$DATA/vl.raw"
check "valgrind run's output identical (cmp)" cmp "$DATA/lossy.raw" "$DATA/vl.raw"
for broken in cut bad; do
    "${VG[@]}" "$BUILD/read_dpk" "$DATA/$broken.dpk" >"$TMP/vg.log" 2>&1
    status=$?
    if [ $status -eq 1 ] && ! grep -q "==[0-9]*==" "$TMP/vg.log"; then
        pass "valgrind: read_dpk on the $broken archive fails cleanly"
    else
        fail "valgrind: read_dpk on the $broken archive (status $status)"
        sed 's/^/    /' "$TMP/vg.log" | tail -40
    fi
done
vg "sensor_stream" "$BUILD/sensor_stream" "$DATA/sensor.raw" "$DATA/vsensor.sns" "$DATA/vsensor.out"
vg "cpp_roundtrip" "$BUILD/cpp_roundtrip" 500 48

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "tests/capi: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
