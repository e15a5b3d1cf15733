#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets into DIR/<target>/ (default: ${CARGO_TARGET_DIR:-target}/fuzz/seeds),
# made from real inputs by the project's own tools, never committed:
#   codec_stream      daspack CLI streams of small arrays: slices of the real DAS corpus (../shared/data/das, when
#                     present) and synthetic int16/uint16/int32/float32/float64 arrays, lossless and --abs-error,
#                     one and many tiles, wavelet levels, fixed predictors, channels predicted apart (method 3)
#   entropy_rans/_range  the entropy tables, rANS words and raw bits cut out of those streams' tiles
#   entropy_bytes     the byte planes of the float seed arrays (and of the real float files, when present), coded
#                     in every form of docs/format.md section 6.3 by a small Python encoder
#   sensor_stream     `daspack sensor encode` of crates/sensor/examples/temperature.txt and pieces of it
#   blosc_chunk       Blosc1 chunks from the blp_tool example (every codec and shuffle), and the chunks of the
#                     Bloscpack golden files (../shared/golden/bloscpack, when present)
#   bloscpack_file    small golden .blp files and blp_tool files (checksums, metadata, offsets on and off)
#   dpk_archive       .dpk archives from daspack compress/pack/append: DAS arrays (lossless, lossy), every byte
#                     codec and filter, checksums, a streamed archive (footer), a directory tree, an appended one
#   hdf5_filter       the codec streams as HDF5 chunks: after selector byte 1 the 14 stored cd_values set_local
#                     would write for them (little- and big-endian, rank 1, 2 and 3), after 0 none, after 2 user
#                     words; and selector 3 (encode round trip) with small arrays of every dtype
#   codec_roundtrip, sensor_roundtrip, capi_decode  raw bytes of the above
# Uses target/{release,debug}/daspack and target/{release,debug}/examples/blp_tool when built, else builds them.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../scripts/lib.sh"
cd "$ROOT"

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="${1:-$TARGET/fuzz/seeds}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/daspack-seeds.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

if ! command -v python3 >/dev/null; then ensure_apt python3; fi

# find_tool PATH...: the first path that exists and is executable.
find_tool() {
    for p in "$@"; do
        if [ -x "$p" ]; then echo "$p"; return 0; fi
    done
    return 1
}
DASPACK="$(find_tool "$TARGET/release/daspack" "$TARGET/debug/daspack")" || true
BLP_TOOL="$(find_tool "$TARGET/release/examples/blp_tool" "$TARGET/debug/examples/blp_tool")" || true
if [ -z "$DASPACK" ] || [ -z "$BLP_TOOL" ]; then
    # The debug profile: `cargo test` has usually built its dependencies already.
    log "building the daspack CLI and the blp_tool example"
    cargo build -q -p daspack-cli -p daspack-container --bin daspack --example blp_tool
    DASPACK="$TARGET/debug/daspack"
    BLP_TOOL="$TARGET/debug/examples/blp_tool"
fi

TARGETS=(entropy_range entropy_rans entropy_bytes codec_stream codec_roundtrip sensor_stream sensor_roundtrip blosc_chunk
    bloscpack_file dpk_archive hdf5_filter capi_decode)
rm -rf "$OUT"
for t in "${TARGETS[@]}"; do mkdir -p "$OUT/$t"; done
mkdir -p "$WORK/npy" "$WORK/dpk" "$WORK/raw" "$WORK/sensor"

log "seed arrays (.npy)"
python3 - "$WORK" "$SHARED/data/das" <<'PY'
import math, os, struct, sys

work, corpus = sys.argv[1], sys.argv[2]

def npy(name, descr, shape, data):
    shape_txt = "(%s)" % (", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else ""))
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_txt)
    pad = (64 - (10 + len(hdr) + 1) % 64) % 64
    hdr = (hdr + " " * pad + "\n").encode()
    with open(os.path.join(work, "npy", name + ".npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + data)

def walk(rows, cols, seed, amp):
    s, out, common = seed, [], 0
    for t in range(rows):
        s = (s * 6364136223846793005 + 1442695040888963407) % 2**64
        common += (s >> 40) % 7 - 3
        for c in range(cols):
            s = (s * 6364136223846793005 + 1442695040888963407) % 2**64
            prev = out[(t - 1) * cols + c] if t else 0
            out.append(prev // 2 + common + (s >> 33) % (2 * amp + 1) - amp)
    return out

def pack(fmt, xs):
    return struct.pack("<%d%s" % (len(xs), fmt), *xs)

w = walk(48, 12, 7, 40)
npy("i16_walk", "<i2", (48, 12), pack("h", [max(-32768, min(32767, x)) for x in w]))
npy("u16_walk", "<u2", (32, 8), pack("H", [max(0, min(65535, x + 30000)) for x in w[:256]]))
npy("i32_1d", "<i4", (300,), pack("i", [x * 1000 for x in walk(300, 1, 3, 500)]))
extremes = [(-32768, 32767, 0, 1)[i % 4] if i % 5 == 0 else w[i] for i in range(128)]
npy("i16_extremes", "<i2", (16, 8), pack("h", extremes))
npy("i16_zeros", "<i2", (64, 16), bytes(64 * 16 * 2))
npy("f32_ints", "<f4", (32, 8), pack("f", [float(x) for x in w[:256]]))
npy("f32_scaled", "<f4", (32, 8), pack("f", [x * 0.001953125 for x in w[:256]]))
npy("f32_noise", "<f4", (24, 6), pack("f", [math.sin(i * 0.731) * 1e-3 for i in range(144)]))
npy("f64_noise", "<f8", (16, 4), pack("d", [math.sin(i * 0.37) * 3.5 + i * 1e-7 for i in range(64)]))
specials = [float("nan"), -0.0, float("inf"), -float("inf"), 5e-324]
npy("f64_exceptions", "<f8", (16, 8), pack("d", [specials[i % 5] if i % 9 == 0 else float(w[i]) for i in range(128)]))
npy("f32_empty", "<f4", (0, 4), b"")

# Slices of the real DAS corpus: 40 rows x up to 12 channels from the middle of each file.
if os.path.isdir(corpus):
    for fn in sorted(os.listdir(corpus)):
        if not fn.endswith(".npy"):
            continue
        with open(os.path.join(corpus, fn), "rb") as f:
            head = f.read(12)
            major = head[6]
            hlen = struct.unpack("<H", head[8:10])[0] if major == 1 else struct.unpack("<I", head[8:12])[0]
            f.seek(10 if major == 1 else 12)
            hdr = f.read(hlen).decode("latin1")
            meta = eval(hdr)  # the .npy header is a Python literal
            if meta["fortran_order"]:
                continue
            descr, shape = meta["descr"], meta["shape"]
            rows, cols = shape[0], (shape[1] if len(shape) > 1 else 1)
            size = int(descr[2:])
            take_r, take_c = min(40, rows), min(12, cols)
            r0 = rows // 2
            data = b""
            for r in range(r0, r0 + take_r):
                if r >= rows:
                    break
                f.seek((10 if major == 1 else 12) + hlen + (r * cols) * size)
                data += f.read(take_c * size)
            nrows = len(data) // (take_c * size)
            npy("real_" + fn[:-4], descr, (nrows, take_c), data)
PY

log "codec streams (daspack compress)"
n=0
for f in "$WORK"/npy/*.npy; do
    b="$(basename "$f" .npy)"
    variants=("" "--block-height 8 --block-width 4" "--lx 1 --lt 2" "--no-auto --lpc-order 3 --lpc-space 0"
        "--columns on --segment-rows 20" "--columns on")
    case "$b" in
        *f32*|*f64*) variants+=("--abs-error 0.01") ;;
        *) variants+=("--abs-error 3") ;;
    esac
    for i in "${!variants[@]}"; do
        # shellcheck disable=SC2086
        if "$DASPACK" compress "$f" "$WORK/dpk/$b.$i.dpk" --format stream ${variants[$i]} >/dev/null 2>&1; then
            n=$((n + 1))
        fi
    done
done
echo "$n codec streams"

log "sensor streams (daspack sensor encode)"
TEMP="$ROOT/crates/sensor/examples/temperature.txt"
python3 - "$TEMP" "$WORK/sensor" <<'PY'
import sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l.strip()]
events = ["NA", "CLOCK_BACKWARDS", "LONG_TERM_JITTER", "USER_EVENT"]
cuts = {
    "all": lines,
    "head200": lines[:200],
    "tail50": lines[-50:],
    "with_na": lines[:30] + ["NA", "NA"] + lines[30:60] + ["NA"],
    "jumps": ["0", "2047", "-2048", "5", "5", "5", "6", "4"] + events + ["100"] * 300 + ["101"],
}
for name, ls in cuts.items():
    open("%s/%s.txt" % (sys.argv[2], name), "w").write("\n".join(ls) + "\n")
PY
for t in "$WORK"/sensor/*.txt; do
    "$DASPACK" sensor encode "$t" "${t%.txt}.bin" >/dev/null
done

log "Blosc chunks and Bloscpack files (blp_tool)"
python3 - "$WORK/raw" "$TEMP" <<'PY'
import struct, sys
out = sys.argv[1]
vals = []
s, v = 11, 0
for i in range(2048):
    s = (s * 1103515245 + 12345) % 2**31
    v += (s >> 16) % 9 - 4
    vals.append(v)
open(out + "/i16.bin", "wb").write(struct.pack("<%dh" % len(vals), *vals))
open(out + "/f64.bin", "wb").write(struct.pack("<256d", *[i * 0.25 for i in range(256)]))
open(out + "/text.bin", "wb").write(open(sys.argv[2], "rb").read()[:3000])
open(out + "/tiny.bin", "wb").write(bytes(range(100)))
open(out + "/empty.bin", "wb").write(b"")
PY
i=0
for codec in blosclz lz4 lz4hc zlib zstd; do
    for shuffle in none byte bit; do
        for src in i16 f64 text; do
            ts=2; [ "$src" = f64 ] && ts=8; [ "$src" = text ] && ts=1
            "$BLP_TOOL" chunk-encode "$WORK/raw/$src.bin" "$OUT/blosc_chunk/$codec-$shuffle-$src.chunk" \
                --codec "$codec" --shuffle "$shuffle" --typesize "$ts" --blocksize 1024 >/dev/null || true
            i=$((i + 1))
        done
    done
    "$BLP_TOOL" write "$WORK/raw/i16.bin" "$OUT/bloscpack_file/$codec-none-meta.blp" --codec "$codec" \
        --typesize 2 --chunk-size 1024 --checksum None --meta-codec none \
        --metadata '{"dtype": "<i2", "shape": [2048], "order": "C", "container": "numpy"}' >/dev/null || true
done
"$BLP_TOOL" chunk-encode "$WORK/raw/i16.bin" "$OUT/blosc_chunk/memcpyed.chunk" --clevel 0 --typesize 2 \
    >/dev/null || true
"$BLP_TOOL" chunk-encode "$WORK/raw/empty.bin" "$OUT/blosc_chunk/empty.chunk" >/dev/null || true
"$BLP_TOOL" write "$WORK/raw/tiny.bin" "$OUT/bloscpack_file/tiny-crc32.blp" --checksum crc32 >/dev/null || true
"$BLP_TOOL" write "$WORK/raw/empty.bin" "$OUT/bloscpack_file/empty.blp" >/dev/null || true
"$BLP_TOOL" write "$WORK/raw/text.bin" "$OUT/bloscpack_file/text-nooffsets.blp" --no-offsets --checksum None \
    --chunk-size 700 --typesize 1 >/dev/null || true
"$BLP_TOOL" write "$WORK/raw/f64.bin" "$OUT/bloscpack_file/f64-zlibmeta-adler.blp" --chunk-size 512 \
    --metadata '{"dtype": "<f8", "shape": [256], "order": "C", "container": "numpy"}' --meta-codec zlib \
    --max-app-chunks 3 >/dev/null || true

log ".dpk archives (daspack compress, pack, append)"
DPK="$OUT/dpk_archive"
for f in "$WORK"/npy/*.npy; do
    b="$(basename "$f" .npy)"
    "$DASPACK" compress "$f" "$DPK/$b.dpk" --chunk-size 256 -q >/dev/null 2>&1 || true
done
"$DASPACK" compress "$WORK/npy/i16_walk.npy" "$DPK/i16_walk-lossy.dpk" --abs-error 2 --chunk-size 512 -q || true
"$DASPACK" compress "$WORK/npy/i16_walk.npy" "$DPK/i16_walk-zstd.dpk" --codec zstd --filter delta,shuffle -q || true
for codec in zstd lz4 deflate stored; do
    for filter in none shuffle bitshuffle delta; do
        "$DASPACK" compress "$WORK/raw/i16.bin" "$DPK/i16-$codec-$filter.dpk" --codec "$codec" --filter "$filter" \
            --typesize 2 --chunk-size 1000 --checksum crc32 -q || true
    done
done
"$DASPACK" compress "$WORK/raw/text.bin" "$DPK/text-sha256.dpk" --checksum sha256 --chunk-size 600 -q || true
"$DASPACK" compress - - --codec lz4 -q <"$WORK/raw/tiny.bin" >"$DPK/tiny-streamed.dpk" || true
"$DASPACK" compress "$WORK/raw/empty.bin" "$DPK/empty.dpk" -q || true
mkdir -p "$WORK/tree/sub/deeper" "$WORK/tree/empty"
cp "$WORK/raw/tiny.bin" "$WORK/tree/sub/tiny.bin"
cp "$WORK/npy/i32_1d.npy" "$WORK/tree/sub/deeper/a.npy"
: >"$WORK/tree/empty.txt"
"$DASPACK" pack "$WORK/tree" "$DPK/tree.dpk" --chunk-size 300 -q || true
cp "$DPK/tree.dpk" "$DPK/tree-appended.dpk"
"$DASPACK" append "$DPK/tree-appended.dpk" "$WORK/raw/tiny.bin" --codec deflate -q || true
find "$DPK" -type f -size +8k -delete

log "entropy seeds, golden Bloscpack files and prefixed copies"
python3 - "$WORK" "$OUT" "$SHARED/golden/bloscpack" <<'PY'
import glob, os, shutil, struct, sys
work, out, golden = sys.argv[1:4]

def put(target, name, data):
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)

class Cur:
    def __init__(self, b, pos=0):
        self.b, self.pos = b, pos
    def u8(self):
        v = self.b[self.pos]; self.pos += 1; return v
    def varint(self):
        v, i = 0, 0
        while True:
            b = self.u8(); v |= (b & 0x7F) << (7 * i); i += 1
            if b & 0x80 == 0:
                return v

def tiles(stream):
    rows, cols = struct.unpack_from("<QQ", stream, 8)
    bh, bw = struct.unpack_from("<II", stream, 24)
    n = struct.unpack_from("<I", stream, 48)[0]
    across = -(-cols // bw) if bw else 0
    pos = 52 + 8 * n + 4
    for t in range(n):
        ln = struct.unpack_from("<I", stream, 52 + 8 * t)[0]
        r0, c0 = (t // across) * bh, (t % across) * bw
        yield stream[pos:pos + ln], min(bh, rows - r0), min(bw, cols - c0), stream[6]
        pos += ln

def entropy_parts(tile, trows):
    """(table, rans words, raw bits) of an integer tile coded with method 2 and no wavelet, else None."""
    c = Cur(tile)
    if c.u8() != 2 or c.u8() != 0 or c.u8() != 0:
        return None
    c.varint()  # band mean
    seg = c.varint()
    for _ in range(-(-trows // max(seg, 1))):
        ntaps, _shift = c.u8(), c.u8()
        for _ in range(ntaps):
            c.varint(); c.varint(); c.varint()
    start = c.pos
    bitmap = int.from_bytes(tile[c.pos:c.pos + 8], "little"); c.pos += 8
    for ctx in range(64):
        if bitmap >> ctx & 1:
            lo, hi = c.u8(), c.u8()
            for _ in range(hi - lo + 1):
                c.varint()
    table = tile[start:c.pos]
    n = c.varint()
    words = tile[c.pos:c.pos + n]
    return table, words, tile[c.pos + n:]

k = 0
for path in sorted(glob.glob(os.path.join(work, "dpk", "*.dpk"))):
    s = open(path, "rb").read()
    name = os.path.basename(path)
    if len(s) <= 4096:
        put("codec_stream", name, s)
        put("capi_decode", name, b"\x00" + s)
    for tile, tr, tc, mode in tiles(s):
        if mode != 0 or k >= 40:
            continue
        try:
            parts = entropy_parts(tile, tr)
        except IndexError:
            parts = None
        if parts:
            table, words, raw = parts
            count = min(tr * tc, 4095)
            hdr = struct.pack("<HH", count, len(words))
            put("entropy_rans", "%s.%d" % (name, k), hdr + table + words + raw)
            put("entropy_range", "%s.%d" % (name, k), hdr + words + raw)
            k += 1

def code_bytes(data):
    """docs/format.md section 6.3, written independently of the Rust encoder (any valid table will do)."""
    counts = [0] * 256
    for b in data:
        counts[b] += 1
    present = [s for s in range(256) if counts[s]]
    if len(present) <= 1:
        return bytes([0, data[0] if data else 0])
    n = len(data)
    freq = [0] * 256
    for s in present:
        freq[s] = max(1, (counts[s] * 4096 + n // 2) // n)
    top = max(present, key=lambda s: freq[s])
    freq[top] += 4096 - sum(freq)
    if freq[top] < 1:
        return b"\x01" + bytes(data)
    cum, c = [0] * 256, 0
    for s in range(256):
        cum[s], c = c, c + freq[s]
    state, words = [1 << 16, 1 << 16], []
    for i in range(n - 1, -1, -1):
        f, x = freq[data[i]], state[i & 1]
        if x >= (1 << 20) * f:
            words.append(x & 0xFFFF)
            x >>= 16
        state[i & 1] = ((x // f) << 12) + x % f + cum[data[i]]
    for x in state:
        words += [x & 0xFFFF, x >> 16]
    def varint(v):
        o = b""
        while v >= 0x80:
            o += bytes([v & 0x7F | 0x80])
            v >>= 7
        return o + bytes([v])
    bitmap = bytearray(32)
    for s in present:
        bitmap[s // 8] |= 1 << (s % 8)
    stream = b"".join(struct.pack("<H", w) for w in reversed(words))
    return b"\x02" + bytes(bitmap) + b"".join(varint(freq[s]) for s in present) + varint(len(stream)) + stream

planes = []
for path in sorted(glob.glob(os.path.join(work, "npy", "f*.npy"))):
    raw = open(path, "rb").read()
    body = raw[10 + struct.unpack("<H", raw[8:10])[0]:]
    size = 4 if "f32" in os.path.basename(path) else 8
    planes += [(os.path.basename(path) + ".%d" % j, body[j::size][:8191]) for j in range(size)]
planes += [("skewed", bytes((i * 37 % 256) & (0xF0 if i % 3 else 0xFF) for i in range(3000))), ("one", b"\x05"),
           ("uniform", bytes(range(256)) * 4)]
for name, plane in planes:
    coded = code_bytes(plane)
    put("entropy_bytes", name, struct.pack("<H", len(plane)) + coded)
    put("entropy_bytes", name + ".stored", struct.pack("<H", len(plane)) + b"\x01" + plane)

for path in sorted(glob.glob(os.path.join(work, "sensor", "*.bin"))):
    txt = path[:-4] + ".txt"
    count = sum(1 for l in open(txt) if l.strip())
    s = open(path, "rb").read()
    name = os.path.basename(path)
    put("sensor_stream", name, struct.pack("<I", count) + b"\x07" + s)
    put("capi_decode", "sensor-" + name, b"\x01" + struct.pack("<I", count) + s)
    put("sensor_roundtrip", name, s)
    put("sensor_roundtrip", name + ".txt", open(txt, "rb").read()[:2000])

for path in sorted(glob.glob(os.path.join(work, "npy", "*.npy")))[:12]:
    put("codec_roundtrip", os.path.basename(path), open(path, "rb").read()[-1024:])

# Golden Bloscpack files: whole small ones, and every chunk of each (header, metadata and offsets skipped).
if os.path.isdir(golden):
    for path in sorted(glob.glob(os.path.join(golden, "*.blp"))):
        b = open(path, "rb").read()
        name = os.path.basename(path)
        if len(b) <= 16384:
            put("bloscpack_file", "golden-" + name, b)
        options, checksum = b[5], b[6]
        nchunks, max_app = struct.unpack_from("<qq", b, 16)
        digest = {0: 0, 1: 4, 2: 4, 3: 16, 4: 20, 5: 28, 6: 32, 7: 48, 8: 64}.get(checksum, 0)
        pos = 32
        if options & 2:
            meta_digest = {0: 0, 1: 4, 2: 4, 3: 16, 4: 20, 5: 28, 6: 32, 7: 48, 8: 64}.get(b[pos + 9], 0)
            max_meta = struct.unpack_from("<I", b, pos + 16)[0]
            pos += 32 + max_meta + meta_digest
        if options & 1:
            pos += 8 * (nchunks + max_app)
        for i in range(nchunks):
            if pos + 16 > len(b):
                break
            cbytes = struct.unpack_from("<I", b, pos + 12)[0]
            chunk = b[pos:pos + cbytes]
            if len(chunk) <= 8192 and i < 3:
                put("blosc_chunk", "golden-%s.%d" % (name, i), chunk)
            pos += cbytes + digest
PY

log "HDF5 filter chunks (the codec streams with their stored cd_values)"
python3 - "$WORK" "$OUT/hdf5_filter" <<'PY'
import glob, os, struct, sys
work, out = sys.argv[1:3]

def put(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)

# Input layout: fuzz/fuzz_targets/hdf5_filter.rs. Stored cd_values (crates/hdf5/src/cd.rs, Stored::encode):
# [1, dtype, rank, c0, c1, c2, block_height, block_width, lx, lt, lpc_order, abs_lo, abs_hi, big_endian].
def stored(code, dims, bh, bw, abs_bits, be):
    d = list(dims) + [0] * (3 - len(dims))
    w = [1, code, len(dims)] + d + [bh, bw, 0, 0, 4, abs_bits & 0xFFFFFFFF, abs_bits >> 32, be]
    return struct.pack("<14I", *[x & 0xFFFFFFFF for x in w])

def swap(data, size):
    return b"".join(data[i:i + size][::-1] for i in range(0, len(data), size))

n = 0
for i, path in enumerate(sorted(glob.glob(os.path.join(work, "dpk", "*.dpk")))):
    s = open(path, "rb").read()
    if len(s) > 1990 or s[:4] != b"DASP":
        continue
    name = os.path.basename(path)
    code = s[5]
    rows, cols = struct.unpack_from("<QQ", s, 8)
    bh, bw = struct.unpack_from("<II", s, 24)
    abs_bits = struct.unpack_from("<Q", s, 32)[0]
    if rows >= 2**32 or cols >= 2**32:
        continue
    dims = [rows] if cols == 1 else [rows, cols]
    put(name + ".le", b"\x01" + stored(code, dims, bh, bw, abs_bits, 0) + s)
    if i % 3 == 0:
        put(name + ".be", b"\x01" + stored(code, dims, bh, bw, abs_bits, 1) + s)
    if i % 4 == 1 and rows % 2 == 0 and cols > 1:
        put(name + ".rank3", b"\x01" + stored(code, [2, rows // 2, cols], bh, bw, abs_bits, 0) + s)
    if i % 5 == 2:
        put(name + ".nocd", b"\x00" + s)
        put(name + ".user", b"\x02\x06" + struct.pack("<6I", bh, bw, 0, 0, 4, 0) + s)
    n += 1

# Encode round trips: selector 3, dtype, big-endian, rank, dims, block_height, block_width, lx, lt, lpc_order,
# error-bound selector (+ its bytes), then element bytes (cycled).
walk = []
v = 0
for k in range(512):
    v += (k * 7919) % 13 - 6
    walk.append(v)
i16 = struct.pack("<512h", *walk)
f64 = struct.pack("<64d", *[x * 0.125 for x in walk[:64]])
cases = [
    ("i16_2d", bytes([3, 0, 0, 1, 20, 12, 8, 4, 0, 0, 3, 0]) + i16),
    ("i16_be_3d", bytes([3, 0, 1, 2, 3, 5, 7, 0, 0, 1, 1, 2, 1, 3]) + i16),
    ("u16_1d", bytes([3, 1, 0, 0, 200, 0, 0, 0, 0, 0, 2, 0]) + i16),
    ("i32_2d_lossy", bytes([3, 2, 0, 1, 16, 16, 0, 0, 1, 0, 4, 1, 5]) + i16),
    ("f32_2d", bytes([3, 3, 0, 1, 8, 8, 0, 0, 0, 0, 2, 0]) + f64),
    ("f32_lossy", bytes([3, 3, 1, 1, 8, 8, 4, 4, 0, 0, 2, 2, 1, 9]) + f64),
    ("f64_2d_be", bytes([3, 4, 1, 1, 8, 8, 0, 0, 0, 0, 2, 0]) + f64),
    ("f64_lossy_3d", bytes([3, 4, 0, 2, 2, 4, 8, 0, 0, 0, 0, 3, 2, 3, 0, 1, 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99,
                           0xb9, 0x3f]) + f64),
]
for name, data in cases:
    put("rt-" + name, data)
print("%d hdf5 chunks, %d round trips" % (n, len(cases)))
PY

for t in "${TARGETS[@]}"; do
    printf '%-18s %3d seeds\n' "$t" "$(find "$OUT/$t" -type f | wc -l)"
done
