#!/usr/bin/env bash
# Container benchmark (minutes; not part of scripts/test.sh). Builds a large .npy (default 2 GB: a real DAS file
# from ../shared/data/das tiled in time, or synthetic int32 data when the corpus is absent) in /tmp, never in the
# repository, written tile by tile (deterministic: the same bytes on every run), then measures:
#   * .dpk with zstd level 3 (byte shuffle), 1 and 2 threads: compress and decompress, median of 3, MB/s of
#     original bytes, outputs checked byte for byte;
#   * peak resident memory of decompression and compression (/usr/bin/time -v);
#   * our .blp writer and reader against the Python bloscpack 0.16 on the same raw payload (blosclz, clevel 7,
#     byte shuffle, typesize 4, 1 MiB chunks, file to file), median of 3. The Python side uses the venv that
#     tests/bloscpack/run.sh installs (run there first when it is missing).
# Writes a section of docs/benchmarks.md between markers (kept by scripts/bench_report.py) and prints it.
# Environment: BENCH_SIZE_MB (default 2048), BENCH_DIR (work files; default /tmp/daspack-bench-container, about
# 5 x the size free), BENCH_REPEATS (default 3), BENCH_NO_DOC=1 (print only), BENCH_KEEP=1 (keep the work files).
# The machine may be shared: the load average is recorded before and after the runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="${BENCH_DIR:-/tmp/daspack-bench-container}"
SIZE_MB="${BENCH_SIZE_MB:-2048}"
REPEATS="${BENCH_REPEATS:-3}"
mkdir -p "$WORK"
[ -x /usr/bin/time ] || ensure_apt time
command -v bc >/dev/null || ensure_apt bc
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

log "building daspack (release)"
cargo build --release -q -p daspack-cli
BIN="$TARGET/release/daspack"

if ! "$VENV/bin/python" -c 'import bloscpack' 2>/dev/null; then
    log "the Python bloscpack venv is missing: running tests/bloscpack/run.sh to install it"
    bash tests/bloscpack/run.sh >/dev/null
fi
PY="$VENV/bin/python"

log "input: ${SIZE_MB} MB .npy in $WORK"
ORIGIN="$("$PY" - "$SHARED/data/das/apsensing_int32_150x4082.npy" "$WORK/big.npy" "$WORK/big.raw" "$SIZE_MB" <<'PY'
import os, sys
import numpy as np
src, npy, raw, size_mb = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if os.path.exists(src):
    tile, origin = np.load(src), os.path.basename(src)
else:
    # Synthetic DAS-like int32: a random walk per channel plus a common-mode signal (fixed seed).
    rng = np.random.default_rng(7)
    steps = rng.integers(-40, 41, size=(4096, 1024), dtype=np.int32)
    tile = (np.cumsum(steps, axis=0) + np.cumsum(rng.integers(-3, 4, size=(4096, 1)), axis=0)).astype(np.int32)
    origin = "synthetic (numpy seed 7)"
tile = np.ascontiguousarray(tile, dtype="<i4")
reps = max(1, (size_mb << 20) // tile.nbytes)
shape = (reps * tile.shape[0], tile.shape[1])
body = tile.tobytes()
if not (os.path.exists(npy) and os.path.exists(raw) and os.path.getsize(raw) == reps * len(body)):
    # Tile by tile: the whole array is never in memory.
    with open(npy, "wb") as f, open(raw, "wb") as g:
        np.lib.format.write_array_header_1_0(f, {"descr": "<i4", "fortran_order": False, "shape": shape})
        for _ in range(reps):
            f.write(body)
            g.write(body)
print("%s (%d x %d int32) tiled %d times in time: %d x %d int32" % (origin, tile.shape[0], tile.shape[1], reps, *shape))
PY
)"
log "$ORIGIN"
BYTES=$(stat -c %s "$WORK/big.raw")
NPY_BYTES=$(stat -c %s "$WORK/big.npy")

# seconds CMD...: "wall cpu" seconds of one run (cpu = user + system; stdout and stderr of the command discarded).
seconds() {
    local f
    f=$(mktemp)
    /usr/bin/time -f "%e %U %S" -o "$f" "$@" >/dev/null 2>&1
    awk '{printf "%s %.2f\n", $1, $2 + $3}' "$f"
    rm -f "$f"
}
# median_mbs BYTES OUTPUT CMD...: the command run $REPEATS times; prints "median_wall_seconds MB/s
# median_cpu_seconds". Before each run (untimed) OUTPUT is removed and the page cache is synced, so no run pays for
# deleting the previous run's output or for writing back its dirty pages.
median_mbs() {
    local bytes="$1" out="$2"
    shift 2
    local ts=()
    for _ in $(seq "$REPEATS"); do
        rm -f "$out"
        sync
        ts+=("$(seconds "$@")")
    done
    local wall cpu
    wall=$(printf '%s\n' "${ts[@]}" | awk '{print $1}' | sort -g | awk -v n="$REPEATS" '{a[NR]=$1} END {print a[int((n+1)/2)]}')
    cpu=$(printf '%s\n' "${ts[@]}" | awk '{print $2}' | sort -g | awk -v n="$REPEATS" '{a[NR]=$1} END {print a[int((n+1)/2)]}')
    awk -v w="$wall" -v c="$cpu" -v b="$bytes" 'BEGIN {printf "%.2f %.0f %.2f\n", w, b / 1e6 / w, c}'
}
# peak_mb CMD...: peak resident set size in MB (GNU time).
peak_mb() {
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident set size/ {printf "%.0f", $2 / 1024}'
}

declare -A R
for t in 1 2; do
    log "dpk zstd-3, $t thread(s)"
    R[c$t]=$(median_mbs "$NPY_BYTES" "$WORK/big.dpk" "$BIN" compress "$WORK/big.npy" "$WORK/big.dpk" --codec zstd \
        --level 3 --threads "$t" --force -q)
    R[d$t]=$(median_mbs "$NPY_BYTES" "$WORK/back.npy" "$BIN" decompress "$WORK/big.dpk" "$WORK/back.npy" \
        --threads "$t" --force)
    cmp "$WORK/big.npy" "$WORK/back.npy"
    rm -f "$WORK/back.npy"
    # The same work without the kernel's cost of writing the output file: stdout goes to /dev/null.
    R[cn$t]=$(median_mbs "$NPY_BYTES" "$WORK/none" "$BIN" compress "$WORK/big.npy" - --codec zstd --level 3 \
        --threads "$t" -q)
    R[dn$t]=$(median_mbs "$NPY_BYTES" "$WORK/none" "$BIN" decompress "$WORK/big.dpk" - --threads "$t")
done
DPK_BYTES=$(stat -c %s "$WORK/big.dpk")
log "peak memory"
RSS_D=$(peak_mb "$BIN" decompress "$WORK/big.dpk" "$WORK/back.npy" --threads 2 --force)
RSS_C=$(peak_mb "$BIN" compress "$WORK/big.npy" "$WORK/big.dpk" --codec zstd --level 3 --threads 2 --force -q)
RSS_DAS=$(peak_mb "$BIN" compress "$WORK/big.npy" "$WORK/big-das.dpk" --threads 2 --force -q)
RSS_DASD=$(peak_mb "$BIN" decompress "$WORK/big-das.dpk" "$WORK/back.npy" --threads 2 --force)
cmp "$WORK/big.npy" "$WORK/back.npy"
DAS_BYTES=$(stat -c %s "$WORK/big-das.dpk")
rm -f "$WORK/back.npy" "$WORK/big-das.dpk"

log "blp: ours vs Python bloscpack (blosclz, clevel 7, shuffle, typesize 4, 1 MiB chunks)"
for t in 1 2; do
    R[ours_w$t]=$(median_mbs "$BYTES" "$WORK/ours.blp" "$BIN" compress "$WORK/big.raw" "$WORK/ours.blp" \
        --format blp --codec blosclz --level 7 --filter shuffle --typesize 4 --chunk-size 1M --checksum adler32 \
        --threads "$t" --force -q)
    R[ours_r$t]=$(median_mbs "$BYTES" "$WORK/ours.out" "$BIN" decompress "$WORK/ours.blp" "$WORK/ours.out" \
        --threads "$t" --force)
    cmp "$WORK/big.raw" "$WORK/ours.out"
done
cat >"$WORK/blpk.py" <<'PY'
import sys, bloscpack as bp
op, src, dst = sys.argv[1:4]
if op == "w":
    bp.pack_file_to_file(src, dst, chunk_size=1 << 20,
                         blosc_args=bp.BloscArgs(typesize=4, clevel=7, shuffle=True, cname="blosclz"))
else:
    bp.unpack_file_from_file(src, dst)
PY
R[py_w]=$(median_mbs "$BYTES" "$WORK/py.blp" "$PY" "$WORK/blpk.py" w "$WORK/big.raw" "$WORK/py.blp")
R[py_r]=$(median_mbs "$BYTES" "$WORK/py.out" "$PY" "$WORK/blpk.py" r "$WORK/py.blp" "$WORK/py.out")
cmp "$WORK/big.raw" "$WORK/py.out"
# Cross-read: each reads the other's file.
"$BIN" decompress "$WORK/py.blp" "$WORK/x.out" --force && cmp "$WORK/big.raw" "$WORK/x.out"
"$PY" "$WORK/blpk.py" r "$WORK/ours.blp" "$WORK/x.out" && cmp "$WORK/big.raw" "$WORK/x.out"
OURS_BLP=$(stat -c %s "$WORK/ours.blp")
PY_BLP=$(stat -c %s "$WORK/py.blp")
rm -f "$WORK/ours.out" "$WORK/py.out" "$WORK/x.out"

PY_THREADS=$("$PY" -c 'import blosc; print(blosc.set_nthreads(1))') # python-blosc's default at import
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

mbs() { echo "${R[$1]}" | awk '{print $2}'; }
secs() { echo "${R[$1]}" | awk '{print $1}'; }
cpu() { echo "${R[$1]}" | awk '{print $3}'; }
speedup() { echo "scale=2; $(mbs "$2") / $(mbs "$1")" | bc; }
SECTION="$(mktemp)"
{
    echo "<!-- bench_container:begin -->"
    echo "## Containers on a large file (scripts/bench_container.sh)"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')),"
    echo "load average $LOAD_BEFORE (1, 5, 15 min) before the runs, $LOAD_AFTER after (above the core count, other"
    echo "jobs share the cores and timings vary). Input: $NPY_BYTES bytes of .npy in /tmp, written by the script:"
    echo "$ORIGIN."
    echo "MB/s of original bytes, median of $REPEATS, file to file (outputs compared byte for byte); before each run"
    echo "(untimed) its output is removed and the page cache synced."
    echo
    echo "| .dpk, zstd level 3 + shuffle, 1 MiB chunks | 1 thread | 2 threads | 2 threads / 1 thread |"
    echo "|---|---|---|---|"
    echo "| compress MB/s | $(mbs c1) ($(secs c1) s) | $(mbs c2) ($(secs c2) s) | $(speedup c1 c2) |"
    echo "| decompress MB/s | $(mbs d1) ($(secs d1) s) | $(mbs d2) ($(secs d2) s) | $(speedup d1 d2) |"
    echo "| compress to /dev/null MB/s | $(mbs cn1) | $(mbs cn2) | $(speedup cn1 cn2) |"
    echo "| decompress to /dev/null MB/s | $(mbs dn1) | $(mbs dn2) | $(speedup dn1 dn2) |"
    echo "| compress, CPU seconds (user + system) | $(cpu c1) | $(cpu c2) | |"
    echo "| decompress, CPU seconds (user + system) | $(cpu d1) | $(cpu d2) | |"
    echo
    echo "Wall-clock MB/s can only scale with threads when the cores are free: under a load average above the"
    echo "core count, other jobs take the second core. The CPU seconds show the work itself. Decompressing to a"
    echo "file, each worker writes the chunks it decoded in place (positional writes into a preallocated file);"
    echo "to stdout (the /dev/null rows) the calling thread hashes and writes every chunk in order, so it scales"
    echo "less. Compressing, the calling thread reads, hashes and writes while the workers code."
    echo
    echo "Archive $DPK_BYTES bytes (ratio $(echo "scale=3; $NPY_BYTES / $DPK_BYTES" | bc)). Peak RSS, 2 threads:"
    echo "decompress $RSS_D MB, compress $RSS_C MB (target for decompression: <= 100 MB whatever the file size)."
    echo "With the DAS codec (the default for .npy, 8 MiB chunks): $DAS_BYTES bytes (ratio $(echo "scale=3; $NPY_BYTES / $DAS_BYTES" | bc)),"
    echo "peak RSS compress $RSS_DAS MB, decompress $RSS_DASD MB."
    echo
    echo "| Bloscpack .blp (blosclz 7, shuffle, 1 MiB chunks, adler32) | write MB/s | read MB/s | file bytes |"
    echo "|---|---|---|---|"
    echo "| daspack, 1 thread | $(mbs ours_w1) | $(mbs ours_r1) | $OURS_BLP |"
    echo "| daspack, 2 threads | $(mbs ours_w2) | $(mbs ours_r2) | $OURS_BLP |"
    echo "| Python bloscpack 0.16 (python-blosc 1.11, $PY_THREADS blosc threads) | $(mbs py_w) | $(mbs py_r) | $PY_BLP |"
    echo
    echo "Each reads the other's file back byte for byte."
    echo "<!-- bench_container:end -->"
} >"$SECTION"
cat "$SECTION"
if [ "${BENCH_NO_DOC:-}" != 1 ]; then
    python3 - docs/benchmarks.md "$SECTION" <<'PY'
import sys
doc, sec = sys.argv[1], open(sys.argv[2]).read().strip()
BEGIN, END = "<!-- bench_container:begin -->", "<!-- bench_container:end -->"
text = open(doc).read()
if BEGIN in text and END in text:
    text = text[: text.index(BEGIN)] + sec + text[text.index(END) + len(END) :]
else:
    text = text.rstrip("\n") + "\n\n" + sec + "\n"
open(doc, "w").write(text)
PY
    log "updated docs/benchmarks.md"
fi
rm -f "$SECTION"
if [ "${BENCH_KEEP:-}" != 1 ]; then
    rm -f "$WORK"/big.dpk "$WORK"/ours.blp "$WORK"/py.blp "$WORK"/blpk.py
fi
