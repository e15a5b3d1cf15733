#!/usr/bin/env bash
# Long benchmark (minutes; not part of the tests): daspack on the real corpus beside the peer codecs measured in the
# same run, speed on a >= 100 MB int32 array (the AP Sensing recording tiled 41x in time) on 1 and 2 threads, fixed
# accuracy beside SZ3 and ZFP, and peak memory. Writes target/bench/*.json and docs/benchmarks.md.
# Peers come from ../shared/bench/peers.py in a venv outside the repo ($PEERS_VENV, default /root/peers-venv),
# created here when missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
DATA="$SHARED/data/das"
[ -d "$DATA" ] || { echo "bench needs the corpus at $DATA"; exit 1; }
PEERS_VENV="${PEERS_VENV:-/root/peers-venv}"
OUT=target/bench
REPEATS="${REPEATS:-5}"
mkdir -p "$OUT"
cargo build --release -q -p daspack-cli
BIN=./target/release/daspack

if [ ! -x "$PEERS_VENV/bin/python" ]; then
    log "peer venv at $PEERS_VENV"
    python3 -m venv "$PEERS_VENV"
    "$PEERS_VENV/bin/pip" install -q -r "$SHARED/bench/requirements.txt"
fi
"$PEERS_VENV/bin/python" -c "import zfpy, pysz" 2>/dev/null || "$PEERS_VENV/bin/pip" install -q zfpy pysz
PY="$PEERS_VENV/bin/python"

log "daspack, lossless, 1 thread, every corpus file"
$BIN bench --threads 1 --repeats "$REPEATS" --json "$OUT/ours_lossless.json" "$DATA"/*.npy
log "daspack, fixed accuracy E = std/100, float files"
$BIN bench --threads 1 --repeats "$REPEATS" --rel-error 0.01 --json "$OUT/ours_fixed.json" "$DATA"/*f32*.npy "$DATA"/*f64*.npy
log "daspack, wide integer arrays coded by columns (opt-in: --columns on --block-width 256), 1 thread"
$BIN bench --threads 1 --repeats "$REPEATS" --columns on --block-width 256 --json "$OUT/ours_columns_wide.json" \
    "$DATA"/silixa_*.npy "$DATA"/apsensing_*.npy
log "daspack, narrow arrays in 1024-row tiles (--block-height 1024), 1 thread"
$BIN bench --threads 1 --repeats "$REPEATS" --block-height 1024 --json "$OUT/ours_small_tiles.json" \
    "$DATA"/geofon_*.npy "$DATA"/etna_*.npy "$DATA"/*f32int*.npy "$DATA"/sentek_*.npy
log "integer-like float files beside a Gaussian model's bound"
"$PY" scripts/model_bound.py "$DATA" --daspack "$BIN" > "$OUT/model_bound.md"
log "peers, lossless, same files"
"$PY" "$SHARED/bench/peers.py" --files "$DATA/*.npy" --codecs 'pcodec*,flac*,zstd-3-shuffle,blosc2-bitshuffle-zstd-t1,daspack-t1' \
    --repeats 3 --json "$OUT/peers_lossless.json" > /dev/null
log "peers, fixed accuracy (SZ3, ZFP) with the same bound"
"$PY" scripts/bench_lossy_peers.py "$DATA" "$OUT/lossy_peers.json"

log "large int32 array: AP Sensing tiled 41x in time"
"$PY" - "$DATA/apsensing_int32_150x4082.npy" "$OUT/big.npy" <<'PYEOF'
import sys, numpy as np
a = np.load(sys.argv[1]); np.save(sys.argv[2], np.tile(a, (41, 1)))
PYEOF
# One and two threads alternate run by run: this machine's speed drifts by 20-50 % from minute to minute, so the
# two-thread / one-thread ratio is taken run by run (median of the ratios).
rm -f "$OUT"/ours_big*.json
$BIN bench --threads 2 --compare-threads 1 --repeats $((2 * REPEATS + 1)) --json "$OUT/ours_big.json" "$OUT/big.npy"
"$PY" "$SHARED/bench/peers.py" --files "$OUT/big.npy" --codecs 'daspack-t1,pcodec-8-rowmajor,zstd-3-shuffle' --repeats 3 \
    --json "$OUT/peers_big.json" > /dev/null
log "peak memory"
/usr/bin/time -v $BIN compress --threads 2 "$OUT/big.npy" "$OUT/big.dpk" --force 2> "$OUT/mem_compress.txt"
/usr/bin/time -v $BIN decompress --threads 2 "$OUT/big.dpk" "$OUT/big_back.npy" --force 2> "$OUT/mem_decompress.txt"
cmp "$OUT/big.npy" "$OUT/big_back.npy"

log "HDF5 files: filter 33000 beside Blosc2 and gzip (chunks 1024 x all channels)"
cargo build --release -q -p daspack-hdf5
"$PY" scripts/bench_hdf5.py "$DATA" "$ROOT/target/release" "$OUT/hdf5.json"

log "sensor codec (one thread)"
cargo run --release -q -p daspack-sensor --example sensor_bench > "$OUT/sensor.txt"
./target/release/daspack sensor stats crates/sensor/examples/temperature.txt >> "$OUT/sensor.txt"

"$PY" scripts/bench_report.py "$OUT" docs/benchmarks.md
echo "wrote docs/benchmarks.md"
