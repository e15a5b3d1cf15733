"""An independent decoder of the daspack array stream (format versions 1 to 5), written from docs/format.md
(sections 1-7) alone, in pure Python + numpy (plus the `zstandard` package for mode-3 variant 2).

    decode(stream_bytes, stats=None, strict=False) -> numpy array (rows x cols, dtype of the stream)

Raises CorruptStream on anything the document says a decoder must reject, and on whatever cannot be decoded
(a read past the end of a tile, a symbol without a table, ...). Where the document leaves a corrupt-stream case
open, this decoder does what the reference decoder (`daspack decompress`) was found to do by experiment with
crafted streams (tests/format/cases.py, crafted_*); those places are commented. strict=True additionally refuses
bytes the encoder never writes (trailing bytes after a raw plane, a raw bit stream or a range-coder stream, and
nonzero padding bits), which the reference decoder ignores. `stats`, if given, is a collections.Counter that
records which modes, methods, variants, predictor shapes ... the stream used (the coverage summary).

Section numbers in the comments refer to docs/format.md.
"""

import math
import struct
import sys
import zlib
from collections import Counter

import numpy as np

M32 = (1 << 32) - 1
M64 = (1 << 64) - 1


class CorruptStream(ValueError):
    """The stream is not a valid daspack array stream."""


def fail(msg):
    raise CorruptStream(msg)


def wrap64(v):
    """Python int -> the i64 with the same low 64 bits."""
    v &= M64
    return v - (1 << 64) if v >> 63 else v


def wrap32(v):
    v &= M32
    return v - (1 << 32) if v >> 31 else v


# ---------------------------------------------------------------------------------------------- byte reader


class Reader:
    """Bounds-checked little-endian reader over buf[pos:end]."""

    def __init__(self, buf, pos=0, end=None):
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end

    def left(self):
        return self.end - self.pos

    def take(self, n):
        if n < 0 or n > self.left():
            fail(f"need {n} bytes at {self.pos}, only {self.left()} left")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def f64(self):
        return struct.unpack("<d", self.take(8))[0]

    def varint(self, maxbytes=10):
        """Unsigned LEB128, at most `maxbytes` bytes, value < 2^64."""
        v = 0
        for i in range(maxbytes):
            b = self.u8()
            v |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                if v > M64:
                    fail("varint above 2^64-1")
                return v
        fail(f"varint longer than {maxbytes} bytes")

    def svarint(self):
        u = self.varint()
        return (u >> 1) ^ -(u & 1)

    def rest(self):
        return self.take(self.left())


# ---------------------------------------------------------------------------------------------- section 1


DTYPES = {1: ("int16", 2), 2: ("uint16", 2), 3: ("int32", 4), 4: ("float32", 4), 5: ("float64", 8)}
NP_DTYPE = {"int16": np.int16, "uint16": np.uint16, "int32": np.int32, "float32": np.float32, "float64": np.float64}


def is_f32_value(x):
    return float(np.float32(x)) == x


def parse_header(buf):
    if len(buf) < 56:
        fail("stream shorter than the smallest header")
    rd = Reader(buf)
    if rd.take(4) != b"DASP":
        fail("bad magic")
    h = {}
    h["version"] = rd.u8()
    if h["version"] not in (1, 2, 3, 4, 5):
        fail(f"unknown version {h['version']}")
    dt = rd.u8()
    if dt not in DTYPES:
        fail(f"unknown dtype {dt}")
    h["dtype"], h["size"] = DTYPES[dt]
    h["is_float"] = dt in (4, 5)
    h["mode"] = rd.u8()
    if not ((not h["is_float"] and h["mode"] == 0) or (h["is_float"] and h["mode"] in (1, 2, 3))):
        fail(f"dtype {h['dtype']} with mode {h['mode']}")
    rd.u8()  # reserved (the document says "= 0" but lists no rejection for it)
    h["rows"] = rd.u64()
    h["cols"] = rd.u64()
    h["bh"] = rd.u32()
    h["bw"] = rd.u32()
    h["abs_error"] = rd.f64()
    step_raw = rd.take(8)
    h["ntiles"] = rd.u32()
    ae = h["abs_error"]
    if math.isnan(ae) or math.isinf(ae) or ae < 0:
        fail("abs_error NaN, infinite or negative")
    mode = h["mode"]
    if mode == 0:
        s = struct.unpack("<Q", step_raw)[0]
        if s == 0 or s > M32:
            fail(f"mode 0 step {s}")
        h["step"] = s
    elif mode in (1, 2):
        s = struct.unpack("<d", step_raw)[0]
        if not (math.isfinite(s) and s > 0):
            fail(f"mode {mode} step/scale {s!r} not finite and positive")
        if mode == 2 and h["dtype"] == "float32" and h["version"] == 1 and not is_f32_value(s):
            fail("version-1 float32 mode-2 scale that is not a float32 value")
        h["step"] = s
    else:
        if step_raw != bytes(8):
            fail("mode 3 with a nonzero step field")
        h["step"] = 0
    rows, cols, bh, bw = h["rows"], h["cols"], h["bh"], h["bw"]
    empty = rows == 0 or cols == 0
    if not empty:
        if bh == 0 or bw == 0:
            fail("block_height or block_width 0")
        # "a tile area above 2^22 samples": taken as block_height * block_width (see the report)
        if bh * bw > 1 << 22:
            fail("tile area above 2^22")
        across = -(-cols // bw)
        down = -(-rows // bh)
        expect = across * down
    else:
        across = down = expect = 0
    if h["ntiles"] != expect:
        fail(f"ntiles {h['ntiles']} does not match the shape ({expect})")
    n = h["ntiles"]
    index = [(rd.u32(), rd.u32()) for _ in range(n)]
    hdr_end = 52 + 8 * n
    crc = rd.u32()
    if crc != zlib.crc32(buf[:hdr_end]):
        fail("header CRC mismatch")
    if sum(l for l, _ in index) != len(buf) - (hdr_end + 4):
        fail("tile lengths do not add up to the stream length")
    if rows * cols * h["size"] > (1 << 20) * len(buf):
        fail("claims more than 2^20 x stream length bytes of output")
    h["across"], h["down"], h["index"], h["data_start"] = across, down, index, hdr_end + 4
    return h


STRICT = False
STATS = Counter()


def decode(buf, stats=None, strict=False):
    """Decodes a whole stream; returns a (rows, cols) numpy array of the stream's dtype.

    strict=True also rejects what the encoder never writes but the document does not make a decoder reject (and
    the reference decoder accepts): bytes after the integers of a raw plane, after the bits read from a raw bit
    stream or after the bytes read from the range coder's stream, and nonzero padding bits. The CLI's own streams
    pass it."""
    global STRICT, STATS
    STRICT = strict
    if stats is None:
        stats = Counter()
    STATS = stats
    buf = bytes(buf)
    h = parse_header(buf)
    stats[f"version {h['version']}"] += 1
    stats[f"mode {h['mode']} ({h['dtype']})"] += 1
    rows, cols = h["rows"], h["cols"]
    dt = NP_DTYPE[h["dtype"]]
    out = np.zeros((rows, cols), dtype=dt)
    pos = h["data_start"]
    for i, (length, crc) in enumerate(h["index"]):
        payload = buf[pos:pos + length]
        pos += length
        if zlib.crc32(payload) != crc:
            fail(f"tile {i} CRC mismatch")
        ti, tj = divmod(i, h["across"])
        r0, c0 = ti * h["bh"], tj * h["bw"]
        r1, c1 = min(rows, r0 + h["bh"]), min(cols, c0 + h["bw"])
        stats["tiles"] += 1
        if c1 - c0 == 1:
            stats["one-channel tiles"] += 1
        out[r0:r1, c0:c1] = decode_tile(payload, r1 - r0, c1 - c0, h, stats)
    return out


# ---------------------------------------------------------------------------------------------- section 2


def order_map(o, bits):
    """order/unorder of section 2 (an involution) on int64 arrays holding i32 (bits=32) or i64 values."""
    if bits == 32:
        o = o.astype(np.int64)
        return np.where(o < 0, o ^ 0x7FFFFFFF, o)
    return np.where(o < 0, o ^ 0x7FFFFFFFFFFFFFFF, o)


def bits_to_signed(bits_u, nbits):
    """uint32/uint64 array of float bits -> int64 array of the bits as i32/i64."""
    if nbits == 32:
        return bits_u.astype(np.uint32).view(np.int32).astype(np.int64)
    return bits_u.astype(np.uint64).view(np.int64)


def signed_to_bits(o, nbits):
    """int64 array (any values) -> uint32/uint64 of the low nbits bits."""
    if nbits == 32:
        return (o & 0xFFFFFFFF).astype(np.uint32)
    return o.view(np.uint64)


def wrap_kind(o, nbits):
    """int64 array -> the same values wrapped to i32 (nbits 32) or unchanged (64)."""
    if nbits == 32:
        return (o & 0xFFFFFFFF).astype(np.uint32).view(np.int32).astype(np.int64)
    return o


def decode_tile(payload, R, C, h, st):
    mode = h["mode"]
    if mode == 0:
        kind = {"int16": "i16", "uint16": "u16", "int32": "i32"}[h["dtype"]]
        q = decode_plane(payload, R, C, kind, st)
        s = h["step"]
        info = np.iinfo(NP_DTYPE[h["dtype"]])
        if s == 1:
            if q.min() < info.min or q.max() > info.max:
                fail("lossless integer value outside the element type's range")
            return q.astype(NP_DTYPE[h["dtype"]])
        st["mode 0 with step > 1"] += 1
        # q * s clamped to the type's range; the product is the wrapping i64 one, as in the reference decoder (only
        # a hostile plane can make it wrap)
        with np.errstate(over="ignore"):
            prod = q * np.int64(s)
        return np.clip(prod, info.min, info.max).astype(NP_DTYPE[h["dtype"]])
    if mode == 1:
        q = decode_plane(payload, R, C, "i32", st)
        vals = q.astype(np.float64) * h["step"]
        return vals.astype(NP_DTYPE[h["dtype"]])
    nbits = 8 * h["size"]
    if mode == 2:
        bits = decode_mode2_tile(payload, R, C, h, st)
    else:
        bits = decode_mode3_tile(payload, R, C, h, st)
    udt = np.uint32 if nbits == 32 else np.uint64
    return bits.astype(udt).view(NP_DTYPE[h["dtype"]])


def decode_mode2_tile(payload, R, C, h, st):
    nbits = 8 * h["size"]
    rd = Reader(payload)
    form = rd.u8()
    if form == 1:
        st["mode 2 form 1 (mode-3 form)"] += 1
        return decode_mode3_tile(rd.rest(), R, C, h, st)
    if form != 0:
        fail(f"mode 2 form byte {form}")
    st["mode 2 form 0 (scaled)"] += 1
    n = R * C
    nexc = rd.varint()
    if nexc > n:
        fail("more exceptions than elements")
    if nexc * (1 + h["size"]) > rd.left():
        fail("exception count larger than the bytes left")
    exc_idx, exc_bits = [], []
    idx = -1
    for _ in range(nexc):
        gap = rd.varint()
        idx = idx + 1 + gap
        if idx >= n:
            fail("exception index past the tile")
        raw = rd.take(h["size"])
        exc_idx.append(idx)
        exc_bits.append(int.from_bytes(raw, "little"))
    if nexc:
        st["mode 2 exceptions"] += nexc
        st["mode 2 tiles with exceptions"] += 1
    klen = rd.varint()
    k = decode_plane(rd.take(klen), R, C, "i32", st)
    d = decode_plane(rd.rest(), R, C, "i32", st)
    if np.any(d != 0):
        st["mode 2 tiles with a nonzero correction plane"] += 1
    s = h["step"]
    if h["dtype"] == "float32":
        if is_f32_value(s):
            with np.errstate(over="ignore"):
                prod = k.astype(np.float32) * np.float32(s)
        else:
            st["mode 2 float32 scale not a float32 value"] += 1
            with np.errstate(over="ignore"):
                prod = (k.astype(np.float64) * s).astype(np.float32)
        pbits = prod.view(np.uint32)
    else:
        with np.errstate(over="ignore"):
            prod = k.astype(np.float64) * s
        pbits = prod.view(np.uint64)
    o = order_map(bits_to_signed(pbits, nbits), nbits)
    d = np.clip(d, -(1 << 20), 1 << 20)
    o = wrap_kind(o + d, nbits)
    bits = signed_to_bits(order_map(o, nbits), nbits).reshape(-1).copy()
    if nexc:
        bits[np.array(exc_idx)] = np.array(exc_bits, dtype=bits.dtype)
    return bits.reshape(R, C)


# ---------------------------------------------------------------------------------------------- mode 3


def decode_mode3_tile(payload, R, C, h, st):
    nbits = 8 * h["size"]
    n = R * C
    rd = Reader(payload)
    variant = rd.u8()
    st[f"mode 3 variant {variant} ({h['dtype']})"] += 1
    # Variants 3 and 4 came with version 2, but the reference decoder also accepts them in a stream marked version 1
    # (the document does not say whether a decoder must refuse them there): so does this one.
    if variant in (3, 4) and h["version"] < 2:
        st[f"mode 3 variant {variant} in a version-1 stream"] += 1
    if variant == 0:
        if nbits == 32:
            # a predictive plane may hold values beyond i32: the reference wraps them to i32 before unorder
            o = wrap_kind(decode_plane(rd.rest(), R, C, "i32", st), 32)
        else:
            hlen = rd.varint()
            hi = decode_plane(rd.take(hlen), R, C, "i32", st)
            lo = decode_plane(rd.rest(), R, C, "i32", st)
            o = (hi << 32) | (lo & 0xFFFFFFFF)
        return signed_to_bits(order_map(o, nbits), nbits)
    if variant in (1, 4):
        p = rd.u8()
        if p > 4:
            fail(f"float predictor {p}")
        w = [rd.f64() for _ in range(6)] if p == 4 else None
        st[f"mode 3 variant {variant} predictor {p}"] += 1
        if variant == 1:
            r = decode_plane(rd.rest(), R, C, "i64", st)
            lo = None
        else:
            rlen = rd.varint()
            r = decode_plane(rd.take(rlen), R, C, "i64", st)
            lo = read_byte_sequence(rd, n, st).astype(np.int64).reshape(R, C)
            if rd.left():
                fail("bytes after the low-byte sequence")
        return float_predict(R, C, p, w, r, lo, nbits)
    if variant == 2:
        import zstandard

        data = rd.rest()
        size = h["size"]
        # "one zstd frame"; the reference decoder also accepts several frames back to back (their contents
        # concatenated), so this decoder does too; anything that is not a complete frame is an error.
        raw = b""
        nframes = 0
        try:
            while data or not nframes:
                dobj = zstandard.ZstdDecompressor().decompressobj()
                raw += dobj.decompress(data)
                if not dobj.eof:
                    fail("zstd frame incomplete")
                if len(raw) > n * size:
                    fail("zstd output larger than the tile")
                data = dobj.unused_data
                nframes += 1
        except zstandard.ZstdError as e:
            fail(f"zstd: {e}")
        if len(raw) != n * size:
            fail("zstd output of the wrong size")
        if nframes > 1:
            st["mode 3 variant 2 with several zstd frames"] += 1
        planes = np.frombuffer(raw, dtype=np.uint8).reshape(size, n)
        return elements_from_byte_planes(planes, nbits).reshape(R, C)
    if variant == 3:
        size = h["size"]
        planes = np.stack([read_byte_sequence(rd, n, st) for _ in range(size)])
        if rd.left():
            fail("bytes after the last byte plane")
        return elements_from_byte_planes(planes, nbits).reshape(R, C)
    fail(f"mode 3 variant {variant}")


def elements_from_byte_planes(planes, nbits):
    """planes[j][i] = byte j (LSB first) of element i -> uint32/uint64 bits."""
    return np.ascontiguousarray(planes.T).view("<u4" if nbits == 32 else "<u8").reshape(-1)


# NaN rules of the float predictions. The document says only "f64 arithmetic, no fused multiply-add"; which NaN
# comes out of an operation on NaNs is not IEEE-defined (x86 returns the first operand's, AArch64 prefers a
# signalling one, and a compiler may swap the operands of + and *), nor is the NaN that an invalid operation
# (inf - inf, 0 * inf) makes (x86: 0xFFF8000000000000, AArch64: 0x7FF8000000000000). This decoder makes both explicit:
# the first NaN operand in the written order, quieted, else for an invalid operation the x86 default NaN. The
# reference decoder agrees for predictors 0-3 (probed with crafted streams) but not for predictor 4 (see the report).
QUIET64 = 0x0008000000000000
DEFAULT_NAN = 0xFFF8000000000000


def f64_bits(v):
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def f64_from(b):
    return struct.unpack("<d", struct.pack("<Q", b & M64))[0]


def quiet(v):
    return f64_from(f64_bits(v) | QUIET64)


def nan_op(a, b, res):
    """The result of a binary f64 operation on a and b whose native result is res, with explicit NaN rules."""
    if a != a:
        return quiet(a)
    if b != b:
        return quiet(b)
    if res != res:
        return f64_from(DEFAULT_NAN)
    return res


def add(a, b):
    return nan_op(a, b, a + b)


def sub(a, b):
    return nan_op(a, b, a - b)


def mul(a, b):
    return nan_op(a, b, a * b)


def vsub(a, b):
    """Elementwise sub() on f64 arrays."""
    with np.errstate(invalid="ignore", over="ignore"):
        res = a - b
    qa = (a.view(np.uint64) | np.uint64(QUIET64)).view(np.float64)
    qb = (b.view(np.uint64) | np.uint64(QUIET64)).view(np.float64)
    na, nb = np.isnan(a), np.isnan(b)
    res = np.where(np.isnan(res) & ~na & ~nb, f64_from(DEFAULT_NAN), res)
    res = np.where(nb, qb, res)
    return np.where(na, qa, res)


def vmul2(a):
    """Elementwise mul(2.0, a)."""
    qa = (a.view(np.uint64) | np.uint64(QUIET64)).view(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.isnan(a), qa, 2.0 * a)


def round_to_elem(v, nbits):
    """A Python float (f64) rounded to the element type (nearest even; NaN: x86 keeps the high payload bits and
    quiets), returned as the element's bits, a signed int."""
    if nbits == 32:
        with np.errstate(over="ignore", invalid="ignore"):
            f = np.float32(v)
        return int(f.view(np.int32))
    return struct.unpack("<q", struct.pack("<d", v))[0]


def float_predict(R, C, p, w, r, lo, nbits):
    """Mode 3 variants 1 (lo is None) and 4: reconstruct element bits from float predictions (section 2)."""
    M = 0x7FFFFFFF if nbits == 32 else 0x7FFFFFFFFFFFFFFF
    x = np.zeros((R, C), dtype=np.float64)  # decoded elements as f64 (float32 NaNs quieted by the conversion)
    out = np.zeros((R, C), dtype=np.int64)  # decoded bits (as signed i32 / i64)
    ftype = np.float32 if nbits == 32 else np.float64
    itype = np.int32 if nbits == 32 else np.int64

    def combine(ordpred, rr, ll):
        """ordpred, rr, ll: Python ints or int64 arrays -> o (before wrapping to the element width)."""
        if ll is None:
            return ordpred + rr
        hh = ((ordpred + 128) >> 8) + rr
        if isinstance(hh, np.ndarray):
            return (hh << 8) | np.where(hh < 0, ll ^ 0xFF, ll)
        hh = wrap64(hh)
        return (hh << 8) | ((ll ^ 0xFF) if hh < 0 else ll)

    for t in range(R):
        if t >= 1 and (p == 0 or p == 3):  # a whole row at once: the prediction only reads earlier rows
            if p == 3 and t >= 2:
                pred = vsub(vmul2(x[t - 1]), x[t - 2])
            else:
                pred = x[t - 1].copy()
            with np.errstate(over="ignore", invalid="ignore"):
                pb = pred.astype(ftype).view(itype).astype(np.int64)
            op = np.where(pb < 0, pb ^ M, pb)
            with np.errstate(over="ignore"):
                o = wrap_kind(combine(op, r[t], None if lo is None else lo[t]), nbits)
            o = np.where(o < 0, o ^ M, o)
            out[t] = o
            with np.errstate(invalid="ignore"):
                x[t] = o.astype(itype).view(ftype).astype(np.float64)
            continue
        for c in range(C):
            if t == 0:
                pv = 0.0 if c == 0 else float(x[0, c - 1])
            elif p == 0 or (c == 0 and p != 3):
                pv = float(x[t - 1, c])
            elif p == 1:
                pv = float(x[t, c - 1])
            elif p == 2:
                pv = sub(add(float(x[t - 1, c]), float(x[t, c - 1])), float(x[t - 1, c - 1]))
            elif p == 3:
                pv = sub(mul(2.0, float(x[t - 1, c])), float(x[t - 2, c])) if t >= 2 else float(x[t - 1, c])
            else:
                if t >= 2 and c >= 2 and c + 1 < C:
                    v = (x[t - 1, c], x[t, c - 1], x[t - 1, c - 1], x[t - 1, c + 1], x[t - 2, c], x[t, c - 2])
                    acc = 0.0
                    for i in range(6):
                        acc = add(acc, mul(w[i], float(v[i])))
                    pv = acc
                else:
                    pv = float(x[t - 1, c])
            pb = round_to_elem(pv, nbits)
            op = pb ^ M if pb < 0 else pb
            o = combine(op, int(r[t, c]), None if lo is None else int(lo[t, c]))
            o = wrap32(o) if nbits == 32 else wrap64(o)
            o = o ^ M if o < 0 else o
            out[t, c] = o
            if nbits == 32:
                with np.errstate(invalid="ignore"):
                    x[t, c] = float(np.array(o, dtype=np.int32).view(np.float32))
            else:
                x[t, c] = f64_from(o)
    return signed_to_bits(out, nbits)


# ---------------------------------------------------------------------------------------------- section 6.3


def slot_table(freq, total):
    """Cumulative frequencies and the slot -> symbol table of a rANS table whose frequencies sum to `total`."""
    cum = [0] * (len(freq) + 1)
    for s, f in enumerate(freq):
        cum[s + 1] = cum[s] + f
    lut = bytearray(total)
    for s, f in enumerate(freq):
        lut[cum[s]:cum[s + 1]] = bytes([s]) * f
    return cum, lut


def rans_init(words):
    if len(words) < 4:
        fail("rANS stream shorter than its two states")
    return [(words[2] << 16) | words[3], (words[0] << 16) | words[1]], 4


def read_byte_sequence(rd, n, st):
    form = rd.u8()
    st[f"byte sequence form {form}"] += 1
    if form == 0:
        return np.full(n, rd.u8(), dtype=np.uint8)
    if form == 1:
        return np.frombuffer(rd.take(n), dtype=np.uint8).copy()
    if form != 2:
        fail(f"byte sequence form {form}")
    bitmap = rd.take(32)
    freq = [0] * 256
    for s in range(256):
        if bitmap[s // 8] >> (s % 8) & 1:
            f = rd.varint(maxbytes=2)
            if not 1 <= f <= 4095:
                fail("byte frequency outside 1..4095")
            freq[s] = f
    if sum(freq) != 4096:
        fail("byte frequencies do not sum to 4096")
    cum, lut = slot_table(freq, 4096)
    ln = rd.varint()
    if ln % 2 or ln < 8:
        fail("byte-sequence rANS length odd or below 8")
    data = rd.take(ln)
    words = struct.unpack(f"<{ln // 2}H", data)
    state, wp = rans_init(words)
    nw = len(words)
    out = bytearray(n)
    for i in range(n):
        j = i & 1
        x = state[j]
        slot = x & 4095
        s = lut[slot]
        x = (freq[s] * (x >> 12) + slot - cum[s]) & M32
        if x < 65536:
            if wp >= nw:
                fail("byte-sequence rANS reads past its end")
            x = (x << 16) | words[wp]
            wp += 1
        state[j] = x
        out[i] = s
    if state[0] != 65536 or state[1] != 65536 or wp != nw:
        fail("byte-sequence rANS final state or length mismatch")
    return np.frombuffer(bytes(out), dtype=np.uint8)


# ---------------------------------------------------------------------------------------------- section 3


KIND_SIZE = {"i16": ("<i2", 2), "u16": ("<u2", 2), "i32": ("<i4", 4), "i64": ("<i8", 8)}


def decode_plane(data, R, C, kind, st):
    """A tile payload of section 3: R x C integers (int64 array)."""
    if not data:
        fail("empty tile payload")
    method = data[0]
    st[f"method {method}"] += 1
    if method == 0:
        fmt, size = KIND_SIZE[kind]
        # the reference decoder ignores bytes after the R * C integers (strict mode rejects them)
        if len(data) < 1 + R * C * size or (STRICT and len(data) != 1 + R * C * size):
            fail("raw tile of the wrong length")
        return np.frombuffer(data, dtype=fmt, count=R * C, offset=1).astype(np.int64).reshape(R, C)
    if method not in (1, 2, 3, 4):
        fail(f"unknown method {method}")
    # The raw kind only says how method 0 stores the integers: a predictive plane holds i64 values, and the reference
    # decoder takes them as they are (no range check against the raw kind; see the mode-specific checks instead).
    return decode_predictive(data, R, C, method, st)


def subbands(R, C, lt, lx):
    """Subbands (r0, r1, c0, c1) in coded order (section 4), plus the level geometry for the inverse."""
    r, c = R, C
    levels = []
    for j in range(max(lt, lx)):
        r2 = -(-r // 2) if j < lt else r
        c2 = -(-c // 2) if j < lx else c
        bands = [(0, r2, c2, c), (r2, r, 0, c2), (r2, r, c2, c)]
        bands = [b for b in bands if b[1] > b[0] and b[3] > b[2]]
        levels.append((j, r, c, bands))
        r, c = r2, c2
    coded = [(0, r, 0, c)]
    for (_, _, _, bands) in reversed(levels):
        coded.extend(reversed(bands))
    return coded, levels


def read_predictor(rd):
    ntaps = rd.u8()
    shift = rd.u8()
    if ntaps > 64 or shift > 30:
        fail("predictor with more than 64 taps or a shift above 30")
    taps = []
    for _ in range(ntaps):
        dt = rd.varint()
        dc = rd.svarint()
        coef = rd.svarint()
        if dt > 65535 or not -32768 <= dc <= 32767 or abs(coef) > 1 << 20:
            fail("tap out of range")
        if not (dt > 0 or dc < 0):
            fail("tap reads a sample not yet decoded")
        taps.append((dt, dc, coef))
    return shift, taps


def predictor_shape(shift, taps):
    if not taps:
        return "no taps"
    nt = sum(1 for dt, dc, _ in taps if dc == 0)
    ns = sum(1 for dt, dc, _ in taps if dt == 0)
    other = len(taps) - nt - ns
    return f"{nt} time, {ns} space, {other} mixed"


def decode_predictive(data, R, C, method, st):
    rd = Reader(data, 1)
    lt = rd.u8()
    lx = rd.u8()
    if lt > 16 or lx > 16:
        fail("more than 16 wavelet levels")
    st[f"wavelet lt={lt} lx={lx}"] += 1
    if method == 4:
        if lt or lx:
            fail("method 4 with wavelet levels")
        return decode_method4(rd, R, C, st)
    if method == 3:
        # one subband per column, no wavelet
        if lt or lx:
            fail("method 3 with wavelet levels")
        coded, levels = ([(0, R, c, c + 1) for c in range(C)] if R > 0 else []), []
        if C > 1:
            st["method 3 with several columns"] += 1
    else:
        coded, levels = subbands(R, C, lt, lx)
    specs = []
    for (r0, r1, c0, c1) in coded:
        BR = r1 - r0
        mean = rd.svarint()
        seg = rd.varint()
        if BR > 0 and not 1 <= seg < 1 << 32:
            fail("segment rows outside 1..2^32-1")
        npred = -(-BR // seg) if BR > 0 else 0
        if npred * 2 > rd.left():
            fail("more predictors than bytes left")
        preds = [read_predictor(rd) for _ in range(npred)]
        if npred > 1:
            st["subbands with several segments"] += 1
        for shift, taps in preds:
            st[f"predictor: {predictor_shape(shift, taps)}"] += 1
        specs.append((r0, r1, c0, c1, mean, seg, preds))
    if method in (2, 3):
        model = RansModel(rd, st)
    rc_len = rd.varint()
    rc = rd.take(rc_len)
    raw = BitReader(rd.rest())
    if method == 1:
        model = RangeModel(rc, raw)
    else:
        model.start(rc, raw)
    # entropy decoding: all residuals of all subbands, in coded order (contexts only depend on residuals)
    residuals = [decode_residuals(model, r1 - r0, c1 - c0) for (r0, r1, c0, c1, *_) in specs]
    model.finish()
    raw.finish()
    plane = np.zeros((R, C), dtype=np.int64)
    for (r0, r1, c0, c1, mean, seg, preds), res in zip(specs, residuals):
        x = reconstruct(res, seg, preds)
        plane[r0:r1, c0:c1] = x + np.int64(wrap64(mean))
    inverse_wavelet(plane, levels, lt, lx)
    return plane


# ---------------------------------------------------------------------------------------------- method 4


def read_weights(rd, n, what):
    """(n, shift, [v_1 .. v_n]): after a count n read by the caller, nothing if n = 0, else the shift (<= 30) and
    n svarints of magnitude <= 2^20."""
    if n == 0:
        return 0, 0, []
    shift = rd.u8()
    if shift > 30:
        fail(f"method 4 {what} shift {shift} above 30")
    v = [rd.svarint() for _ in range(n)]
    if any(abs(a) > 1 << 20 for a in v):
        fail(f"method 4 {what} beyond 2^20")
    return n, shift, v


def read_lpc(rd):
    """A method-4 predictor: (order p, shift, [a_1 .. a_p]) with a_i weighing x[t - i]."""
    p = rd.u8()
    if p > 64:
        fail(f"method 4 predictor order {p} above 64")
    return read_weights(rd, p, "predictor coefficient")


def read_cross(rd, c):
    """Column c's cross weights: (k, shift, [w_1 .. w_k]) with w_j weighing column c - j."""
    k = rd.u8()
    if k > min(c, 64):
        fail(f"method 4 column {c} weighs {k} columns (at most min(c, 64))")
    return read_weights(rd, k, "cross weight")


def read_leak0(rd, ncols):
    """Method 4's initial context sums, one per column, each below 2^40."""
    leak0 = [rd.varint() for _ in range(ncols)]
    if any(s >= 1 << 40 for s in leak0):
        fail("method 4 initial context sum of 2^40 or more")
    return leak0


def rounding(shift):
    return (1 << (shift - 1)) if shift > 0 else 0


def decode_method4(rd, R, C, st):
    """Method 4 (section 3): columns along time, each residual first predicted from the columns before it."""
    if C > 1:
        st["method 4 with several columns"] += 1
    ncols = C if R > 0 else 0
    # every column header takes at least 3 bytes (mean, seg, one predictor's order) and every cross entry 1 (k):
    # refuse a column count the tile cannot describe before reserving anything per column
    if ncols and 3 * ncols + (C - 1) > rd.left():
        fail(f"{C} columns in a tile of {rd.left()} bytes left")
    means, segs, preds = [], [], []
    for c in range(ncols):
        means.append(rd.svarint())
        seg = rd.varint()
        if not 1 <= seg < 1 << 32:
            fail("segment rows outside 1..2^32-1")
        npred = -(-R // seg)
        if npred > rd.left():  # a predictor takes at least one byte
            fail("more predictors than bytes left")
        pc = [read_lpc(rd) for _ in range(npred)]
        if npred > 1:
            st["method 4 columns with several segments"] += 1
        n0 = sum(1 for p, _, _ in pc if p == 0)
        if n0:
            st["method 4 order-0 predictors"] += n0
        segs.append(seg)
        preds.append(pc)
    cross = [(0, 0, [])] + [read_cross(rd, c) for c in range(1, C)]
    if any(k for k, _, _ in cross):
        st["method 4 cross weights"] += 1
    leak0 = read_leak0(rd, ncols)
    if any(leak0):
        st["method 4 initial context sums"] += 1
    model = RansModel(rd, st)
    rc_len = rd.varint()
    rc = rd.take(rc_len)
    raw = BitReader(rd.rest())
    model.start(rc, raw)
    # entropy decoding: column by column, each from row 0; the context follows a leaking sum of magnitudes
    dec = model.residual
    u = np.zeros((R, C), dtype=np.int64)
    for c in range(ncols):
        col = [0] * R
        s = leak0[c]
        for t in range(R):
            r = dec(context_of(s >> 4))
            col[t] = r
            m = -r if r < 0 else r
            s = s - (s >> 5) + (m if m < M32 else M32)
        u[:, c] = col
    model.finish()
    raw.finish()
    if ncols == 0:
        return u
    with np.errstate(over="ignore"):
        # u[t][c] = r[t][c] + q, q from the k columns before c at the same row (already turned into u)
        for c in range(1, C):
            k, shift, w = cross[c]
            if k:
                acc = np.full(R, rounding(shift), dtype=np.int64)
                for j, wj in enumerate(w, 1):
                    acc += np.int64(wj) * u[:, c - j]
                u[:, c] += acc >> shift
        x = reconstruct_lpc(u, segs, preds)
        return x + np.array([wrap64(m) for m in means], dtype=np.int64)[None, :]


def reconstruct_lpc(u, segs, preds):
    """x[t] = pred + u[t] per column (section 3, method 4), a row at a time for all columns at once."""
    R, C = u.shape
    P = max((p for pc in preds for p, _, _ in pc), default=0)
    if P == 0:
        return u.copy()
    starts = {}  # row -> [(column, predictor)] of the segments starting there
    for c in range(C):
        for i, pr in enumerate(preds[c]):
            starts.setdefault(i * segs[c], []).append((c, pr))
    xs = np.zeros((P + R, C), dtype=np.int64)  # xs[P + t] = x[t]; the P rows before are 0 (never read by the LPC)
    A = np.zeros((P, C), dtype=np.int64)  # A[P - i][c] = a_i of column c's current segment (xs window row P - i)
    order = np.zeros(C, dtype=np.int64)
    shift = np.zeros(C, dtype=np.int64)
    rnd = np.zeros(C, dtype=np.int64)
    with np.errstate(over="ignore"):
        for t in range(R):
            for c, (p, sh, a) in starts.get(t, ()):
                A[:, c] = 0
                if p:
                    A[P - p:, c] = a[::-1]
                order[c], shift[c], rnd[c] = p, sh, rounding(sh)
            lpc = (rnd + (A * xs[t:t + P]).sum(axis=0)) >> shift
            prev = xs[P + t - 1]  # x[t-1], 0 for t = 0
            pred = np.where(order == 0, 0, np.where(t >= order, lpc, prev))
            xs[P + t] = pred + u[t]
    return xs[P:]


# ---------------------------------------------------------------------------------------------- section 4


def inverse_53(y):
    """Inverse of one 5/3 level along axis 0 of the int64 array y (length n >= 2): low values then high values."""
    n = y.shape[0]
    nl, nh = (n + 1) // 2, n // 2
    s, d = y[:nl], y[nl:]
    dext = np.concatenate([d[:1], d, d[nh - 1:nh]])
    xe = s - ((dext[:nl] + dext[1:nl + 1] + 2) >> 2)
    xnext = np.concatenate([xe[1:], xe[nl - 1:nl]])[:nh]
    xo = d + ((xe[:nh] + xnext) >> 1)
    x = np.empty_like(y)
    x[0::2] = xe
    x[1::2] = xo
    return x


def inverse_wavelet(plane, levels, lt, lx):
    with np.errstate(over="ignore"):
        for (j, r, c, _) in reversed(levels):
            if j < lt and r >= 2:
                plane[:r, :c] = inverse_53(plane[:r, :c])
            if j < lx and c >= 2:
                plane[:r, :c] = inverse_53(plane[:r, :c].T).T


# ---------------------------------------------------------------------------------------------- section 5


def reconstruct(res, seg, preds):
    """x = pred + r over one subband (int64, wrapping)."""
    R, C = res.shape
    x = np.zeros((R, C), dtype=np.int64)
    if R == 0 or C == 0:
        return x
    resl = res.tolist()
    for t in range(R):
        shift, taps = preds[t // seg]
        if not taps:
            x[t] = res[t]
            continue
        maxdt = max(dt for dt, _, _ in taps)
        left = max(max(-dc, 0) for _, dc, _ in taps)
        right = max(max(dc, 0) for _, dc, _ in taps)
        c_lo, c_hi = left, C - right
        interior_row = t >= maxdt and c_lo < c_hi
        rnd = (1 << (shift - 1)) if shift > 0 else 0
        row = x[t]
        rrow = resl[t]

        def edge(c):
            if c > 0:
                return int(row[c - 1])
            if t > 0:
                return int(x[t - 1, c])
            return 0

        if not interior_row:
            for c in range(C):
                row[c] = wrap64(edge(c) + rrow[c])
            continue
        acc = np.full(c_hi - c_lo, rnd, dtype=np.int64)
        same_row = []
        with np.errstate(over="ignore"):
            for dt, dc, coef in taps:
                if dt > 0:
                    acc += np.int64(coef) * x[t - dt, c_lo + dc:c_hi + dc]
                else:
                    same_row.append((dc, coef))
        for c in range(0, c_lo):
            row[c] = wrap64(edge(c) + rrow[c])
        if not same_row:
            with np.errstate(over="ignore"):
                row[c_lo:c_hi] = (acc >> shift) + res[t, c_lo:c_hi]
        else:
            accl = acc.tolist()
            rowl = row.tolist()
            for c in range(c_lo, c_hi):
                a = accl[c - c_lo]
                for dc, coef in same_row:
                    a += coef * rowl[c + dc]
                v = wrap64(wrap64(a) >> shift) + rrow[c]
                rowl[c] = wrap64(v)
            row[c_lo:c_hi] = rowl[c_lo:c_hi]
        for c in range(c_hi, C):
            row[c] = wrap64(edge(c) + rrow[c])
    return x


def context_of(e):
    if e < 2:
        return e
    L = e.bit_length()
    return min(63, 2 * L - 2 + ((e >> (L - 2)) & 1))


def decode_residuals(model, R, C):
    if C == 1:
        STATS["one-column subbands (C == 1 contexts)"] += 1
    res = [[0] * C for _ in range(R)]
    mag = [[0] * C for _ in range(R)]
    cap = M32
    dec = model.residual
    if C == 1:
        hist = [0] * 8  # m[t-1], m[t-2], ...
        for t in range(R):
            e = (4 * hist[0] + 3 * hist[1] + 2 * hist[2] + 2 * hist[3] + hist[4] + hist[5] + hist[6] + hist[7]) // 2
            r = dec(context_of(e))
            res[t][0] = r
            hist.pop()
            hist.insert(0, min(abs(r), cap))
    else:
        for t in range(R):
            mrow = mag[t]
            prev = mag[t - 1] if t > 0 else None
            rrow = res[t]
            for c in range(C):
                W = mrow[c - 1] if c > 0 else (prev[c] if t > 0 else 0)
                if t == 0:
                    e = 4 * W
                else:
                    N = prev[c]
                    NW = prev[c - 1] if c > 0 else N
                    NE = prev[c + 1] if c + 1 < C else N
                    e = 2 * W + 2 * N + NW + NE
                r = dec(context_of(e))
                rrow[c] = r
                mrow[c] = min(abs(r), cap)
    return np.array(res, dtype=np.int64).reshape(R, C)


# ---------------------------------------------------------------------------------------------- section 6


class BitReader:
    """Raw bit stream: bits packed least significant first; a field's bit 0 comes first."""

    def __init__(self, data):
        self.data = bytes(data) + bytes(16)  # padding only to simplify slicing; bounds checked on nbits
        self.nbits = 8 * len(data)
        self.pos = 0

    def read(self, n):
        if n == 0:
            return 0
        if self.pos + n > self.nbits:
            fail("raw bit stream exhausted")
        i, sh = divmod(self.pos, 8)
        v = int.from_bytes(self.data[i:i + 10], "little") >> sh
        self.pos += n
        return v & ((1 << n) - 1)

    def finish(self):
        if not STRICT:
            return
        # strict: the stream is exactly the bits read, zero-padded to a byte
        if (self.nbits - self.pos) >= 8:
            fail("raw bit stream longer than the bits it holds")
        if self.pos < self.nbits and self.read(self.nbits - self.pos) != 0:
            fail("raw bit stream padding not zero")


class RangeModel:
    """Method 1: the adaptive binary range coder and its residual model (section 6.1)."""

    def __init__(self, rc, raw):
        if len(rc) < 5:
            fail("range coder stream shorter than 5 bytes")
        # byte 0 is always 0 (written by the encoder's first ShiftLow); the reference decoder ignores it
        self.rc = rc
        self.pos = 5
        self.code = int.from_bytes(rc[1:5], "big")
        self.range = M32
        self.raw = raw
        self.ca = [1 << 14] * (64 * 32)
        self.cb = [1 << 14] * (64 * 32)
        self.ma = [1 << 14] * (16 * 65)
        self.mb = [1 << 14] * (16 * 65)

    def bit(self, A, B, i):
        a, b = A[i], B[i]
        bound = (self.range >> 15) * ((a + b) >> 1)
        if self.code < bound:
            self.range = bound
            A[i] = a + ((32752 - a) >> 4)
            B[i] = b + ((32752 - b) >> 7)
            bit = 0
        else:
            self.code -= bound
            self.range -= bound
            A[i] = a + ((16 - a) >> 4)
            B[i] = b + ((16 - b) >> 7)
            bit = 1
        while self.range < 1 << 24:
            if self.pos >= len(self.rc):
                fail("range coder reads past its stream")
            self.range <<= 8
            self.code = ((self.code << 8) | self.rc[self.pos]) & M32
            self.pos += 1
        return bit

    def residual(self, ctx):
        base = ctx * 32
        node = 1
        for _ in range(5):
            node = 2 * node + self.bit(self.ca, self.cb, base + node)
        k = node - 32
        if k == 31:
            STATS["method 1 escape (k >= 31)"] += 1
            k = 31 + self.raw.read(6)
            if k > 64:
                fail("residual bit length above 64")
        if k == 0:
            return 0
        if k == 1:
            return -1 if self.raw.read(1) else 1
        b = self.bit(self.ma, self.mb, (ctx >> 2) * 65 + k)
        if k > 33:
            STATS["raw field wider than 32 bits"] += 1
        field = self.raw.read(k - 1)
        m = (1 << (k - 1)) | (b << (k - 2)) | (field >> 1)
        return wrap64(-m if field & 1 else m)

    def finish(self):
        if STRICT and self.pos != len(self.rc):  # strict: eager renormalisation consumes the stream exactly
            fail("range coder stream longer than what was read")


LAW_ONE = 1 << 62


def law_freqs(hi, e, m):
    """The 128 frequencies of a table that is a law (section 6.2, "Tables that are laws"): a two-sided geometric
    law with 1 - theta = (256 + m) / 2^(e + 8) over the symbols 0..=hi, in the document's integer arithmetic (Python
    ints are exact; every intermediate the document gives a width fits it, so no masking is needed)."""
    if hi > 127:
        fail(f"law table hi {hi} above 127")
    if not 1 <= e <= 54:
        fail(f"law table e {e} outside 1..54")
    ONE = LAW_ONE
    q = (256 + m) << (54 - e)

    def mul(a, b):  # a product of two values below 2^62, taken in 128 bits
        return (a * b) >> 62

    mass = [0] * (hi + 1)
    mass[0] = q >> 1
    pw = ONE - q
    start, s = pw, 1
    while s <= hi:
        square = mul(pw, pw)
        for end in (square, mul(pw, square)):
            if s <= hi:
                mass[s] = start - end
                start = end
                s += 1
        pw = square
    total = (q >> 1) + (ONE - q) - start
    shift = max(0, total.bit_length() - 31)
    rec = ONE // (total >> shift)
    f = [0] * 128
    for s in range(hi + 1):
        f[s] = 1 + (((((mass[s] >> shift) * rec) >> 31) * (1024 - (hi + 1))) >> 31)
    left = 1024 - sum(f)
    if left < 0:  # the document says it never is; a decoder that met it would have no table to use
        fail(f"law table ({hi}, {e}, {m}) over 1024")
    f[f.index(max(f))] += left
    return f


class RansModel:
    """Method 2: static per-context tables and two interleaved rANS states (section 6.2)."""

    def __init__(self, rd, st=None):
        st = STATS if st is None else st
        bitmap = struct.unpack("<Q", rd.take(8))[0]
        self.tables = [None] * 64
        for ctx in range(64):
            if not bitmap >> ctx & 1:
                continue
            lo = rd.u8()
            if lo == 255:
                # a law (version 5); like method 4 in older versions, the reference decoder also reads one in a
                # stream marked version 1 to 4, and so does this one
                hi, e, m = rd.u8(), rd.u8(), rd.u8()
                freq = law_freqs(hi, e, m)
                st["law tables"] += 1
            else:
                hi = rd.u8()
                if not lo <= hi <= 127:
                    fail("table range lo > hi or hi > 127")
                freq = [0] * 128
                for s in range(lo, hi + 1):
                    f = rd.varint(maxbytes=3)
                    if f > 1024:
                        fail("frequency above 1024")
                    freq[s] = f
                if sum(freq) != 1024:
                    fail("frequencies do not sum to 1024")
                st["explicit tables"] += 1
            cum, lut = slot_table(freq, 1024)
            self.tables[ctx] = (freq, cum, lut)

    def start(self, rc, raw):
        if len(rc) % 2:
            fail("rANS stream of odd length")
        self.words = struct.unpack(f"<{len(rc) // 2}H", rc)
        self.state, self.wp = rans_init(self.words)
        self.i = 0
        self.raw = raw

    def residual(self, ctx):
        tab = self.tables[ctx]
        if tab is None:
            fail(f"symbol in context {ctx}, which has no table")
        freq, cum, lut = tab
        j = self.i & 1
        self.i += 1
        x = self.state[j]
        slot = x & 1023
        s = lut[slot]
        x = (freq[s] * (x >> 10) + slot - cum[s]) & M32
        if x < 65536:
            if self.wp >= len(self.words):
                fail("rANS reads past its stream")
            x = (x << 16) | self.words[self.wp]
            self.wp += 1
        self.state[j] = x
        if s == 0:
            return 0
        if s == 1:
            return -1 if self.raw.read(1) else 1
        k = (s >> 1) + 1
        if k > 32:
            STATS["method 2 symbol with k > 32"] += 1
        b = s & 1
        if k > 33:
            STATS["raw field wider than 32 bits"] += 1
        field = self.raw.read(k - 1)
        m = (1 << (k - 1)) | (b << (k - 2)) | (field >> 1)
        return wrap64(-m if field & 1 else m)

    def finish(self):
        if self.state[0] != 65536 or self.state[1] != 65536 or self.wp != len(self.words):
            fail("rANS final states or length mismatch")


# ---------------------------------------------------------------------------------------------- CLI


def main(argv):
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("stream")
    ap.add_argument("-o", "--out", help="write the decoded array as .npy")
    a = ap.parse_args(argv)
    with open(a.stream, "rb") as f:
        buf = f.read()
    st = Counter()
    arr = decode(buf, st)
    print(f"{arr.shape[0]} x {arr.shape[1]} {arr.dtype}")
    for k in sorted(st):
        print(f"  {k}: {st[k]}")
    if a.out:
        np.save(a.out, arr)


if __name__ == "__main__":
    main(sys.argv[1:])
