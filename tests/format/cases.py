"""Cases of tests/format: streams made by `daspack compress --format stream`, decoded by decode.py (an
independent decoder written from docs/format.md) and compared bit for bit with `daspack decompress` and with the
original array (lossless) or checked against the --abs-error bound. Also: corrupt streams that decode.py must
reject, and crafted/mutated streams on which decode.py and the CLI must agree (both reject, or equal output).

    python cases.py --cli target/release/daspack [-k SUBSTRING] [-j JOBS] [-v]

The last line is `N passed, M failed`; the exit status is non-zero on any failure.
"""

import argparse
import glob
import itertools
import os
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zlib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import decode as D  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
CLI = None
TMP = None

# ---------------------------------------------------------------------------------------------- data


def ricker_field(rows, cols, rng, n_waves=3, amp=1.0):
    """A few coherent wavefronts (Ricker wavelets along linear/curved moveouts) across the channels."""
    t = np.arange(rows)[:, None].astype(np.float64)
    c = np.arange(cols)[None, :].astype(np.float64)
    x = np.zeros((rows, cols))
    for _ in range(n_waves):
        t0 = rng.uniform(0, rows)
        slow = rng.uniform(-2.0, 2.0)
        curv = rng.uniform(-0.02, 0.02)
        f = rng.uniform(0.03, 0.12)
        a = rng.uniform(0.3, 1.0) * amp
        tau = t - (t0 + slow * c + curv * (c - cols / 2) ** 2)
        arg = (np.pi * f * tau) ** 2
        x += a * (1 - 2 * arg) * np.exp(-arg)
    return x


def das_float(rows, cols, seed, amp=2.0e4, noise=30.0):
    """DAS-like data in counts: wavefronts + a common-mode term + noise (float64, not rounded)."""
    rng = np.random.default_rng(seed)
    x = ricker_field(rows, cols, rng, amp=amp)
    common = np.cumsum(rng.standard_normal(rows)) * amp * 0.005
    x += common[:, None]
    x += rng.standard_normal((rows, cols)) * noise
    return x


def das_int(rows, cols, seed, amp=2.0e4, noise=30.0, dtype=np.int32, offset=0):
    info = np.iinfo(dtype)
    x = np.round(das_float(rows, cols, seed, amp, noise)) + offset
    return np.clip(x, info.min, info.max).astype(dtype)


def lowpass(a, k, axis):
    ker = np.hanning(k + 2)[1:-1]
    ker /= ker.sum()
    return np.apply_along_axis(lambda v: np.convolve(v, ker, mode="same"), axis, a)


def smooth_field(rows, cols, seed):
    rng = np.random.default_rng(seed)
    return lowpass(lowpass(rng.standard_normal((rows, cols)), 31, 0), 5, 1) * 1e3


SCALE32 = np.float32(2.0053869676e-09)


# ---------------------------------------------------------------------------------------------- plumbing


def run_cli(*args, check=True):
    p = subprocess.run([CLI, "-q", *args], capture_output=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"daspack {' '.join(args)}: exit {p.returncode}: {p.stderr.decode(errors='replace')}")
    return p


_files = itertools.count()


def scratch_path(name, suffix):
    """A file name in TMP that no other case or worker process uses (cases run in parallel and share names)."""
    return os.path.join(TMP, f"{name}.{os.getpid()}.{next(_files)}{suffix}")


def compress(name, a, opts):
    src = scratch_path(name, ".npy")
    dst = scratch_path(name, ".das")
    np.save(src, a)
    run_cli("compress", "--format", "stream", "-f", *opts, src, dst)
    with open(dst, "rb") as f:
        return f.read()


def cli_decode(name, stream):
    """The reference decoder's output, or None if it refuses the stream."""
    src = scratch_path(name, ".cli.das")
    dst = scratch_path(name, ".cli.npy")
    with open(src, "wb") as f:
        f.write(stream)
    if os.path.exists(dst):
        os.remove(dst)
    p = run_cli("decompress", "-f", src, dst, check=False)
    # a hostile stream must be refused with an error, never by a panic (exit status 101 would pass for a refusal)
    require(b"panicked" not in p.stderr, f"the CLI panics: {p.stderr.decode(errors='replace').strip()[:300]}")
    if p.returncode != 0:
        return None
    return np.load(dst)


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


class CaseFailure(AssertionError):
    pass


def require(cond, msg):
    if not cond:
        raise CaseFailure(msg)


def roundtrip(name, a, opts=(), expect=None, absent=None):
    """Compress `a` with the CLI, decode with decode.py and the CLI; compare. `expect`: Counter keys that the
    decoder must have seen (to pin the case to the stream feature it is meant to exercise); `absent`: keys it must
    not have seen."""
    opts = list(opts)
    stream = compress(name, a, opts)
    st = Counter()
    got = D.decode(stream, st, strict=True)
    ref = cli_decode(name, stream)
    require(ref is not None, "the CLI refuses its own stream")
    require(same_bits(got, ref), f"decode.py differs from daspack decompress ({got.dtype}{got.shape} vs "
            f"{ref.dtype}{ref.shape}, {np.count_nonzero(got.view(np.uint8) != ref.view(np.uint8)) if got.shape == ref.shape and got.dtype == ref.dtype else '-'} bytes differ)")
    require(got.dtype == a.dtype and got.shape == a.shape, f"dtype/shape {got.dtype}{got.shape} != {a.dtype}{a.shape}")
    E = 0.0
    if "--abs-error" in opts:
        E = float(opts[opts.index("--abs-error") + 1])
    if E == 0:
        require(same_bits(got, a), "lossless stream does not reproduce the input bit for bit")
    elif a.size:
        err = np.max(np.abs(got.astype(np.float64) - a.astype(np.float64)))
        require(err <= E, f"max error {err} > {E}")
    # section 7: older decoders misread a law or a method-4 tile, so a stream with one must be marked as new enough
    require(not st["law tables"] or stream[4] >= 5, f"law tables in a version-{stream[4]} stream")
    require(not st["method 4"] or stream[4] >= 4, f"method 4 in a version-{stream[4]} stream")
    for key in expect or ():
        require(st[key] > 0, f"the stream does not contain '{key}' (has: {dict(st)})")
    for key in absent or ():
        require(st[key] == 0, f"the stream contains '{key}'")
    return st, f"{len(stream)} bytes"


def must_reject(name, stream, what):
    """decode.py must refuse the stream, and so must the CLI (else the document's rule is not the reference's)."""
    try:
        D.decode(stream, Counter())
    except D.CorruptStream:
        require(cli_decode(name, stream) is None, f"the CLI accepts {what}, which decode.py refuses")
        return
    raise CaseFailure(f"decode.py accepted {what}")


def with_header_crc(buf):
    """Recompute the header CRC of a (modified) stream."""
    buf = bytearray(buf)
    n = struct.unpack_from("<I", buf, 48)[0]
    end = 52 + 8 * n
    struct.pack_into("<I", buf, end, zlib.crc32(bytes(buf[:end])))
    return bytes(buf)


def with_tiles(buf, payloads):
    """Replace the tile payloads of a stream (index and both CRC levels recomputed)."""
    buf = bytearray(buf[:52])
    struct.pack_into("<I", buf, 48, len(payloads))
    for p in payloads:
        buf += struct.pack("<II", len(p), zlib.crc32(p))
    buf += b"\0\0\0\0"
    buf = bytearray(with_header_crc(bytes(buf)))
    for p in payloads:
        buf += p
    return bytes(buf)


def tiles_of(buf):
    n = struct.unpack_from("<I", buf, 48)[0]
    pos = 56 + 8 * n
    out = []
    for i in range(n):
        ln = struct.unpack_from("<I", buf, 52 + 8 * i)[0]
        out.append(buf[pos:pos + ln])
        pos += ln
    return out


def agree(name, stream):
    """decode.py and the CLI must agree on a crafted stream: both refuse it, or both return the same bits."""
    why = ""
    try:
        got = D.decode(stream, Counter())
    except D.CorruptStream as e:
        got, why = None, str(e)
    ref = cli_decode(name, stream)
    if got is None and ref is None:
        return "both reject"
    require(got is not None, f"decode.py rejects ({why}) but the CLI decodes it")
    require(ref is not None, "the CLI rejects but decode.py decodes it")
    require(same_bits(got, ref), "both decode it, to different values")
    return "both decode it identically"


# ---------------------------------------------------------------------------------------------- cases

CASES = []


def case(fn):
    CASES.append(fn.__name__)
    return fn


def rt(name, a, opts=(), expect=None, absent=None):
    """Shorthand: a round-trip case built lazily (arrays are generated inside the worker)."""
    def fn():
        return roundtrip(name, a() if callable(a) else a, opts, expect, absent)
    fn.__name__ = name
    CASES.append(name)
    globals()[name] = fn


# integers, mode 0
rt("i32_das_default", lambda: das_int(400, 48, 1), (), ["mode 0 (int32)", "method 2", "law tables"])
rt("i32_das_adaptive", lambda: das_int(400, 48, 1), ["--adaptive"], ["method 1"])
rt("i32_das_E0", lambda: das_int(300, 40, 2), ["--abs-error", "0"], ["law tables"])
rt("i32_das_E7", lambda: das_int(300, 40, 3), ["--abs-error", "7"], ["mode 0 with step > 1", "law tables"])
rt("i32_das_E1000_adaptive", lambda: das_int(300, 40, 4), ["--abs-error", "1000", "--adaptive"], ["method 1"])
rt("i16_das", lambda: das_int(300, 40, 5, amp=8000, dtype=np.int16), (), ["mode 0 (int16)", "law tables"])
rt("i16_das_E3", lambda: das_int(300, 40, 6, amp=8000, dtype=np.int16), ["--abs-error", "3"], ["law tables"])
rt("u16_das", lambda: das_int(300, 40, 7, amp=8000, dtype=np.uint16, offset=32768), (),
   ["mode 0 (uint16)", "law tables"])
rt("u16_das_E2_adaptive", lambda: das_int(300, 40, 8, amp=8000, dtype=np.uint16, offset=32768),
   ["--abs-error", "2", "--adaptive"])


def extremes(dtype, seed, rows=200, cols=30):
    """Values at and near the ends of the type's range (clamping of q * s, wrapping arithmetic)."""
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    lo, hi = int(info.min), int(info.max)
    choices = np.array([lo, lo + 1, lo + 2, hi - 2, hi - 1, hi, 0], dtype=np.int64)
    a = rng.choice(choices, (rows, cols))
    a[rows // 2:] = np.where(rng.random((rows - rows // 2, cols)) < 0.5, lo, hi)
    return a.astype(dtype)


rt("u16_extremes_E5", lambda: extremes(np.uint16, 9), ["--abs-error", "5"], ["law tables"])
rt("i16_extremes_E100", lambda: extremes(np.int16, 10), ["--abs-error", "100"], ["law tables"])
rt("i32_extremes", lambda: extremes(np.int32, 11), (), ["law tables"])
rt("i32_extremes_E1e6", lambda: extremes(np.int32, 12), ["--abs-error", "1000000"], ["law tables"])
rt("i32_random_raw", lambda: np.random.default_rng(13).integers(-2**31, 2**31, (100, 50)).astype(np.int32),
   (), ["method 0"])
rt("i16_random_raw", lambda: np.random.default_rng(14).integers(-2**15, 2**15, (100, 50)).astype(np.int16),
   (), ["method 0"])
rt("u16_random_raw", lambda: np.random.default_rng(15).integers(0, 2**16, (100, 50)).astype(np.uint16),
   (), ["method 0"])
rt("i16_constant", lambda: np.full((300, 20), -1234, np.int16))

# shapes
rt("shape_1x1_i32", lambda: np.array([[-7]], np.int32))
rt("shape_1x1_u16", lambda: np.array([[65535]], np.uint16))
rt("shape_1x1_f32", lambda: np.array([[np.float32(3.25)]], np.float32))
rt("shape_1x1_f64_mode1", lambda: np.array([[-2.5e3]]), ["--abs-error", "0.1"])
rt("shape_Nx1_i32", lambda: das_int(3000, 1, 16), (), ["one-channel tiles", "law tables"])
# one tile of 20000 samples: the contexts with many symbols keep explicit tables, the others take laws
rt("tables_laws_and_explicit_20000x1", lambda: das_int(20000, 1, 140), (),
   ["version 5", "law tables", "explicit tables"])
rt("shape_Nx1_i16_adaptive", lambda: das_int(2000, 1, 17, amp=5000, dtype=np.int16), ["--adaptive"])
rt("shape_1xN_i32", lambda: das_int(1, 3000, 18), (), ["law tables"])
rt("shape_1xN_u16_adaptive", lambda: das_int(1, 2000, 19, amp=5000, dtype=np.uint16, offset=30000), ["--adaptive"])
rt("shape_0xN_i16", lambda: np.zeros((0, 8), np.int16))
rt("shape_0xN_f32", lambda: np.zeros((0, 5), np.float32))
rt("shape_Nx0_f64", lambda: np.zeros((6, 0), np.float64))
rt("shape_odd_37x29_i32", lambda: das_int(37, 29, 20), (), ["law tables"])
rt("shape_odd_2x3_u16", lambda: np.array([[1, 2, 3], [60000, 5, 6]], np.uint16))

# wavelet, segments, tiles, orders
rt("wavelet_lt2_lx2", lambda: das_int(203, 45, 21), ["--lt", "2", "--lx", "2"], ["wavelet lt=2 lx=2", "law tables"])
rt("wavelet_lt3_adaptive", lambda: das_int(301, 33, 22), ["--lt", "3", "--adaptive"], ["wavelet lt=3 lx=0"])
rt("wavelet_lx3_odd", lambda: das_int(150, 37, 23), ["--lx", "3"], ["wavelet lt=0 lx=3", "law tables"])
rt("wavelet_lt5_lx1_i16", lambda: das_int(97, 21, 24, amp=5000, dtype=np.int16), ["--lt", "5", "--lx", "1"],
   ["law tables"])
rt("wavelet_16_levels", lambda: das_int(200, 30, 25), ["--lt", "16", "--lx", "16"],
   ["wavelet lt=16 lx=16", "law tables"])
rt("wavelet_small_raw", lambda: das_int(9, 5, 25), ["--lt", "6", "--lx", "6"])
rt("wavelet_lossy_f32", lambda: das_float(200, 40, 26).astype(np.float32), ["--lt", "2", "--lx", "1", "--abs-error", "2"],
   ["law tables"])
rt("segments_64", lambda: das_int(400, 40, 27), ["--segment-rows", "64"],
   ["subbands with several segments", "law tables"])
rt("segments_7_adaptive", lambda: das_int(100, 20, 28), ["--segment-rows", "7", "--adaptive", "--lt", "1"])
rt("tiles_100x16", lambda: das_int(350, 45, 29), ["--block-height", "100", "--block-width", "16"], ["law tables"])
rt("tiles_one_channel", lambda: das_int(300, 8, 30), ["--block-width", "1"], ["one-channel tiles", "law tables"])
rt("tiles_one_channel_adaptive_lt2", lambda: das_int(300, 5, 31), ["--block-width", "1", "--adaptive", "--lt", "2"])
rt("orders_0_0", lambda: das_int(200, 30, 32), ["--no-auto", "--lpc-order", "0", "--lpc-space", "0"], ["law tables"])
rt("orders_4_2", lambda: das_int(300, 40, 33), ["--no-auto", "--lpc-order", "4", "--lpc-space", "2"], ["law tables"])
rt("orders_32_8", lambda: das_int(400, 40, 34), ["--no-auto", "--lpc-order", "32", "--lpc-space", "8"], ["law tables"])
rt("orders_32_8_adaptive_segments", lambda: das_int(300, 30, 35),
   ["--no-auto", "--lpc-order", "32", "--lpc-space", "8", "--adaptive", "--segment-rows", "100"])
rt("orders_0_3", lambda: das_int(200, 30, 36), ["--no-auto", "--lpc-order", "0", "--lpc-space", "3"], ["law tables"])
rt("orders_6_0_wavelet", lambda: das_int(200, 30, 37), ["--no-auto", "--lpc-order", "6", "--lpc-space", "0", "--lt", "1", "--lx", "1"],
   ["law tables"])

# methods 3 and 4: every column its own subband (method 3, version 3; the encoder writes method 4 since version 4,
# and version 5 once a table is a law, as on all of these but the adaptive one: "method 4" is what they are about,
# with the residuals of the columns before each column predicting its own; method 3: the golden streams below)
def channels_apart(rows, cols, seed, dtype=np.int32):
    """Channels with their own spectra and amplitudes and little in common: the case of coding by columns."""
    rng = np.random.default_rng(seed)
    a = np.empty((rows, cols))
    for c in range(cols):
        e = rng.normal(0, 10 ** rng.uniform(1, 3.5), rows + 2)
        a[:, c] = e[2:] - rng.uniform(0.2, 0.9) * e[1:-1] + rng.uniform(-0.5, 0.5) * e[:-2]
    return np.round(a).astype(dtype)


def channels_sharing_noise(rows, cols, seed, dtype=np.int32, common_amp=400.0, gauge=False):
    """Channels with their own AR noise plus a noise series common to all of them at random gains (laser phase,
    common-mode pickup): the case of method 4's cross weights. gauge=True also differences neighbouring channels
    (a gauge length), so that neighbours share their noise with opposite signs."""
    rng = np.random.default_rng(seed)
    common = rng.normal(0, common_amp, rows)
    a = np.empty((rows, cols + 1))
    for c in range(cols + 1):
        e = rng.normal(0, 10 ** rng.uniform(0.7, 1.5), rows + 2)
        own = e[2:] - rng.uniform(0.2, 0.9) * e[1:-1] + rng.uniform(-0.5, 0.5) * e[:-2]
        a[:, c] = own + rng.uniform(0.5, 1.5) * rng.choice([-1, 1]) * common
    a = a[:, 1:] - 0.5 * a[:, :-1] if gauge else a[:, 1:]
    return np.round(a).astype(dtype)


rt("columns_i32_on", lambda: channels_apart(600, 12, 90), ["--columns", "on"], ["version 5", "method 4", "law tables"])
rt("columns_i32_auto", lambda: channels_apart(3000, 10, 91), (),
   ["version 5", "method 4 with several columns", "law tables"])
rt("columns_f32_integers_auto", lambda: channels_apart(3000, 16, 92).astype(np.float32), (),
   ["version 5", "mode 2 (float32)", "method 4", "law tables"])
rt("columns_segments_tiles", lambda: channels_apart(700, 9, 93, np.int16),
   ["--columns", "on", "--segment-rows", "100", "--block-height", "300", "--block-width", "4"],
   ["method 4", "method 4 columns with several segments", "law tables"])
rt("columns_lossy_f64", lambda: channels_apart(500, 20, 94).astype(np.float64) * 1e-3,
   ["--columns", "on", "--abs-error", "0.01"], ["method 4", "law tables"])
rt("columns_off", lambda: channels_apart(3000, 10, 91), ["--columns", "off"], ["version 5", "method 2", "law tables"],
   ["method 3", "method 4"])
rt("columns_adaptive_falls_back", lambda: channels_apart(300, 10, 95), ["--columns", "on", "--adaptive"],
   ["version 1", "method 1"], ["method 3", "method 4"])
rt("columns_shared_noise_i32", lambda: channels_sharing_noise(2000, 12, 96), ["--columns", "on"],
   ["version 5", "method 4 with several columns", "method 4 cross weights", "law tables"], ["method 3"])
rt("columns_shared_noise_gauge_i16_tiles", lambda: channels_sharing_noise(900, 20, 97, np.int16, gauge=True),
   ["--columns", "on", "--block-height", "400", "--block-width", "8", "--segment-rows", "200"],
   ["version 5", "method 4 cross weights", "method 4 columns with several segments", "law tables"], ["method 3"])


GOLDEN = os.path.join(HERE, "golden")


def golden_input(path):
    """The input a golden stream vN_<methods>_X.dps decodes to: input_X.npy."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return np.load(os.path.join(GOLDEN, "input_" + stem.split("_", 2)[2] + ".npy"))


def check_golden(pattern, version, methods, absent_methods):
    """Streams written by an earlier encoder: the version byte, methods present (each in some stream) and absent, no
    law tables (laws came with version 5), and decode.py and the CLI reproduce the saved input bit for bit."""
    paths = sorted(glob.glob(os.path.join(GOLDEN, pattern)))
    require(paths, f"{GOLDEN}: no {pattern}")
    total = Counter()
    for path in paths:
        name = os.path.splitext(os.path.basename(path))[0]
        with open(path, "rb") as f:
            stream = f.read()
        want = golden_input(path)
        st = Counter()
        got = D.decode(stream, st, strict=True)
        require(stream[4] == version and st[f"version {version}"] == 1, f"{name}: not a version-{version} stream")
        for m in methods:
            require(st[m] > 0, f"{name}: no '{m}' (has: {dict(st)})")
        for m in absent_methods + ["law tables"]:
            require(st[m] == 0, f"{name}: has '{m}'")
        require(st["explicit tables"] > 0, f"{name}: no explicit table")
        require(same_bits(got, want), f"{name}: decode.py does not reproduce the saved input")
        ref = cli_decode(name, stream)
        require(ref is not None, f"{name}: the CLI refuses it")
        require(same_bits(ref, want), f"{name}: the CLI does not reproduce the saved input")
        total.update(st)
    return total, len(paths)


@case
def golden_v3_method3():
    """Version-3 streams with method-3 tiles, written by the encoder before version 4 (which no longer writes method
    3)."""
    total, n = check_golden("v3_method3_*.dps", 3, ["method 3"], ["method 4"])
    require(n >= 3, f"{GOLDEN}: expected the three v3_method3_*.dps streams, found {n}")
    return total, f"{n} streams"


@case
def golden_v4_v1_explicit_tables():
    """Streams of the encoder before laws (version 5): version 4 with method-4 tiles, version 1 with a 2-D method-2
    tile; their tables are all explicit."""
    total, n4 = check_golden("v4_method4_*.dps", 4, ["method 4"], ["method 3"])
    t1, n1 = check_golden("v1_method2_*.dps", 1, ["method 2"], ["method 3", "method 4"])
    require(n4 >= 3 and n1 >= 1, f"{GOLDEN}: expected three v4_method4_*.dps and a v1_method2_*.dps, found {n4}, {n1}")
    total.update(t1)
    return total, f"{n4 + n1} streams"


# floats, mode 1
rt("f32_mode1", lambda: (das_float(300, 40, 40) * 1e-3).astype(np.float32), ["--abs-error", "0.01"],
   ["mode 1 (float32)", "law tables"])
rt("f64_mode1", lambda: das_float(300, 40, 41) * 1e-9, ["--abs-error", "1e-12"], ["mode 1 (float64)", "law tables"])
rt("f32_mode1_adaptive_tiles", lambda: das_float(300, 40, 42).astype(np.float32),
   ["--abs-error", "5", "--adaptive", "--block-height", "128", "--block-width", "17"])
rt("f64_mode1_big_E", lambda: das_float(200, 30, 43), ["--abs-error", "1e4"], ["law tables"])


# floats, mode 2
def ints_f32():
    return np.round(das_float(300, 40, 44)).astype(np.float32)


def scaled_f32(seed=45, rows=300, cols=40):
    k = np.round(das_float(rows, cols, seed)).astype(np.int32)
    return np.float32(k) * SCALE32


def perturbed_f32(seed=46):
    rng = np.random.default_rng(seed)
    b = scaled_f32(seed).view(np.uint32).copy()
    idx = rng.choice(b.size, 80, replace=False)
    b.flat[idx[:40]] += rng.integers(1, 4, 40).astype(np.uint32)  # a few ulps off: the correction plane
    b.flat[idx[40:50]] -= rng.integers(1, 3, 10).astype(np.uint32)
    b.flat[idx[50:60]] ^= np.uint32(0x00200000)  # far off: exceptions
    b.flat[idx[60:66]] = np.uint32(0x7FC00000) + np.arange(1, 7, dtype=np.uint32)  # NaNs with payloads
    b.flat[idx[66]] = 0xFFC12345  # negative quiet NaN with a payload
    b.flat[idx[67]] = 0x7F800001  # signalling NaN
    b.flat[idx[68]] = 0x7F800000  # +inf
    b.flat[idx[69]] = 0xFF800000  # -inf
    b.flat[idx[70]] = 0x80000000  # -0.0
    return b.view(np.float32)


def perturbed_f64(seed=47):
    rng = np.random.default_rng(seed)
    k = np.round(das_float(200, 40, seed)).astype(np.int64)
    b = (k * 1.25e-7).view(np.uint64).copy()
    idx = rng.choice(b.size, 60, replace=False)
    b.flat[idx[:30]] += rng.integers(1, 4, 30).astype(np.uint64)
    b.flat[idx[30:40]] ^= np.uint64(1 << 40)
    b.flat[idx[40:45]] = np.uint64(0x7FF8000000000000) + np.arange(1, 6, dtype=np.uint64)
    b.flat[idx[45]] = 0xFFF0000000000000
    b.flat[idx[46]] = 0x8000000000000000
    b.flat[idx[47]] = 0x7FF0000000000001
    return b.view(np.float64)


def f64_scaled_f32(seed=48):
    """float32 data that were scaled in double precision: the scale is not a float32 value (version 2)."""
    k = np.round(das_float(300, 40, seed)).astype(np.int64)
    return (k * 1.2345678901234e-3).astype(np.float32)


def form1_f32(seed=49):
    """Tiles 0-1 scaled integers, tile 2 float noise: that tile is cheaper in the mode-3 form (form byte 1)."""
    x = scaled_f32(seed)
    x[200:] = np.random.default_rng(seed).standard_normal((100, 40)).astype(np.float32)
    return x


rt("f32_exact_ints", ints_f32, (), ["mode 2 (float32)", "mode 2 form 0 (scaled)", "law tables"])
rt("f64_exact_ints_adaptive", lambda: np.round(das_float(300, 40, 50)), ["--adaptive"], ["mode 2 (float64)"])
rt("f32_scaled", scaled_f32, (), ["mode 2 (float32)", "law tables"])
rt("f32_scaled_perturbed", perturbed_f32, (),
   ["mode 2 exceptions", "mode 2 tiles with a nonzero correction plane", "law tables"])
rt("f32_scaled_perturbed_adaptive_tiles", perturbed_f32, ["--adaptive", "--block-height", "100", "--block-width", "23"],
   ["mode 2 exceptions", "method 1"])
rt("f64_scaled_perturbed", perturbed_f64, (), ["mode 2 (float64)", "mode 2 exceptions", "law tables"])
rt("f32_scale_from_f64", f64_scaled_f32, (), ["mode 2 float32 scale not a float32 value", "law tables"])
rt("f32_mode2_form1", form1_f32, ["--block-height", "100"], ["mode 2 form 1 (mode-3 form)", "law tables"])
rt("f32_scaled_wavelet_segments", scaled_f32, ["--lt", "1", "--lx", "2", "--segment-rows", "50"], ["law tables"])
rt("f32_scaled_1col", lambda: scaled_f32(51, 2000, 1), (), ["one-channel tiles", "law tables"])


# floats, mode 3
def noise_f32():
    return np.random.default_rng(52).standard_normal((300, 40)).astype(np.float32)


def specials(a, seed):
    """Sprinkle NaNs with payloads, infinities and -0.0 into a float array."""
    rng = np.random.default_rng(seed)
    a = a.copy()
    u = np.uint32 if a.dtype == np.float32 else np.uint64
    b = a.view(u)
    idx = rng.choice(a.size, 12, replace=False)
    if a.dtype == np.float32:
        vals = [0x7FC00000, 0x7FC0BEEF, 0xFFC00001, 0x7F800001, 0x7F800000, 0xFF800000, 0x80000000, 0x00000001]
    else:
        vals = [0x7FF8000000000000, 0x7FF800000000BEEF, 0xFFF8000000000001, 0x7FF0000000000001,
                0x7FF0000000000000, 0xFFF0000000000000, 0x8000000000000000, 0x0000000000000001]
    for i, v in zip(idx, vals):
        b.flat[i] = v
    return a


rt("f32_noise_v3", noise_f32, (), ["mode 3 variant 3 (float32)", "byte sequence form 2"])
rt("f64_noise_v3", lambda: np.random.default_rng(53).standard_normal((200, 40)), (), ["mode 3 variant 3 (float64)"])
rt("f32_uniform12_v3_const", lambda: np.random.default_rng(54).uniform(1, 2, (300, 40)).astype(np.float32), (),
   ["byte sequence form 0", "byte sequence form 1"])
rt("f32_sine_v2", lambda: (np.sin(np.arange(400)[:, None] / 20.0 + np.arange(48)[None, :] / 7.0) * 1000).astype(np.float32),
   (), ["mode 3 variant 2 (float32)"])
rt("f64_sine_v2", lambda: np.sin(np.arange(400)[:, None] / 20.0 + np.arange(48)[None, :] / 7.0) * 1000, (),
   ["mode 3 variant 2 (float64)"])
rt("f32_repeats_v2", lambda: np.tile(noise_f32()[:10], (30, 1)), (), ["mode 3 variant 2 (float32)"])
# (Variant 1 against 4: on tiles tall enough for the encoder's trial, only one of them is coded in full, variant 4
# unless its trial is 0.5 % larger; these tiles are shorter than 2 x ceil(4096 / cols) rows, so both are coded.)
rt("f32_smooth_v1_p4", lambda: smooth_field(160, 48, 55).astype(np.float32), (),
   ["mode 3 variant 1 predictor 4", "law tables"])
rt("f64_smooth_v1_p4", lambda: smooth_field(160, 48, 56), (), ["mode 3 variant 1 (float64)"])
rt("f32_smooth_offset_v0", lambda: (smooth_field(400, 48, 57) + 100000).astype(np.float32), (),
   ["mode 3 variant 0 (float32)", "law tables"])
rt("f64_smooth_offset_v0", lambda: smooth_field(400, 48, 58) * 1e-6 + 5, (),
   ["mode 3 variant 0 (float64)", "law tables"])
rt("f32_timewalk_v1_p0", lambda: np.cumsum(np.random.default_rng(59).standard_normal((2000, 1)), axis=0).astype(np.float32),
   (), ["mode 3 variant 1 predictor 0", "law tables"])
# (130 rows, both variants coded: on 300 rows the trial takes variant 4, smaller since laws)
rt("f32_chanwalk_v1_p1", lambda: np.cumsum(np.random.default_rng(60).standard_normal((130, 60)), axis=1).astype(np.float32),
   (), ["mode 3 variant 1 predictor 1", "law tables"])


def planar(seed):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.standard_normal(300))[:, None] + np.cumsum(rng.standard_normal(60))[None, :] * 3


rt("f32_planar_v1_p2", lambda: planar(61)[:130].astype(np.float32), (), ["mode 3 variant 1 predictor 2", "law tables"])
rt("f32_accel_v1_p3", lambda: np.cumsum(np.cumsum(np.random.default_rng(62).standard_normal((160, 48)), axis=0), axis=0).astype(np.float32),
   (), ["mode 3 variant 1 predictor 3", "law tables"])


def trunc_low_byte(a):
    u = np.uint32 if a.dtype == np.float32 else np.uint64
    return (a.view(u) & ~u(0xFF)).view(a.dtype)


rt("f32_trunc8_v4", lambda: trunc_low_byte(smooth_field(400, 48, 63).astype(np.float32)), (),
   ["mode 3 variant 4 (float32)", "law tables"])
rt("f64_trunc8_v4", lambda: trunc_low_byte(smooth_field(400, 48, 64)), (), ["mode 3 variant 4 (float64)"])
rt("f64_planar_v4_p2", lambda: planar(61), (), ["mode 3 variant 4 predictor 2"])
rt("f32_noise_specials", lambda: specials(noise_f32(), 65))
rt("f32_smooth_specials", lambda: specials(smooth_field(300, 40, 66).astype(np.float32), 66), (), ["law tables"])
rt("f64_smooth_specials", lambda: specials(smooth_field(300, 40, 67), 67))
rt("f32_trunc8_specials", lambda: specials(trunc_low_byte(smooth_field(300, 40, 68).astype(np.float32)), 68))
rt("f32_walk_specials_p0", lambda: specials(np.cumsum(np.random.default_rng(69).standard_normal((2000, 1)), axis=0).astype(np.float32), 69), (),
   ["law tables"])
rt("f32_mode3_adaptive_tiles", lambda: smooth_field(300, 40, 70).astype(np.float32),
   ["--adaptive", "--block-height", "120", "--block-width", "15"], ["method 1"])
rt("f64_mode3_mixed_tiles", lambda: np.concatenate([smooth_field(150, 40, 71), np.random.default_rng(71).standard_normal((150, 40))]),
   ["--block-height", "150"])
rt("f32_mode3_one_channel_tiles", lambda: smooth_field(300, 6, 72).astype(np.float32), ["--block-width", "1"],
   ["law tables"])
rt("f32_mode3_1xN", lambda: smooth_field(1, 3000, 73).astype(np.float32))


# the shared DAS corpus, if present: a small slice of each file
def shared_files():
    return sorted(glob.glob(os.path.join(ROOT, "..", "shared", "data", "das", "*.npy")))


def shared_case(path):
    def fn():
        a = np.load(path, mmap_mode="r")
        if a.ndim == 1:
            a = a[:, None]
        a = np.ascontiguousarray(a.reshape(a.shape[0], -1)[:200, :64])
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("="))
        out = roundtrip(fn.__name__, a)
        if a.dtype.kind == "f":  # and a fixed-accuracy stream of the same slice
            E = float(np.nanstd(a.astype(np.float64))) * 1e-2 or 1e-3
            if np.all(np.isfinite(a)):
                roundtrip(fn.__name__ + "_E", a, ["--abs-error", repr(E)])
        return out
    fn.__name__ = "shared_" + os.path.splitext(os.path.basename(path))[0]
    return fn


# corruptions decode.py must reject
def base_stream():
    return compress("corrupt_base", das_int(200, 30, 80), ["--block-height", "100"])


@case
def corrupt_flipped_payload_byte():
    s = bytearray(base_stream())
    s[len(s) - 40] ^= 0x10
    must_reject("flip", bytes(s), "a flipped payload byte")


@case
def corrupt_truncated():
    s = base_stream()
    for cut in (len(s) - 1, len(s) - 100, 60, 55, 30, 0):
        must_reject("trunc", s[:cut], f"a stream truncated to {cut} bytes")


@case
def corrupt_header_crc():
    s = bytearray(base_stream())
    n = struct.unpack_from("<I", s, 48)[0]
    s[52 + 8 * n] ^= 1
    must_reject("hcrc", bytes(s), "a wrong header CRC")


@case
def corrupt_header_fields():
    """Header values section 1 lists as rejections, each with a valid header CRC."""
    s = base_stream()
    bad = {
        "magic": (0, b"DASQ"), "version 0": (4, b"\0"), "version 6": (4, b"\6"), "dtype 6": (5, b"\6"),
        "int with mode 1": (6, b"\1"), "mode 4": (6, b"\4"), "block_height 0": (24, b"\0\0\0\0"),
        "block_width 0": (28, b"\0\0\0\0"), "tile area above 2^22": (24, struct.pack("<I", 1 << 22)),
        "abs_error NaN": (32, struct.pack("<d", float("nan"))), "abs_error -1": (32, struct.pack("<d", -1.0)),
        "abs_error inf": (32, struct.pack("<d", float("inf"))), "step 0": (40, struct.pack("<Q", 0)),
        "step 2^32": (40, struct.pack("<Q", 1 << 32)), "rows + 1": (8, struct.pack("<Q", 201)),
        "cols + 1": (16, struct.pack("<Q", 31)), "ntiles 3": (48, struct.pack("<I", 3)),
    }
    for what, (off, val) in bad.items():
        b = bytearray(s)
        b[off:off + len(val)] = val
        must_reject("hdr", with_header_crc(bytes(b)), what)
    b = bytearray(s) + b"\0"
    must_reject("hdr", bytes(b), "a trailing byte")
    # claims more than 2^20 x the stream length of output: 2^22-sample tiles, one index entry each
    b = bytearray(s[:52])
    b[8:16] = struct.pack("<Q", 1 << 40)
    b[16:24] = struct.pack("<Q", 1)
    b[24:28] = struct.pack("<I", 1 << 22)
    b[28:32] = struct.pack("<I", 1)
    b[48:52] = struct.pack("<I", 1 << 18)
    must_reject("hdr", with_header_crc(bytes(b) + bytes(8 << 18) + b"\0\0\0\0"), "an output claim above 2^20 x length")


@case
def corrupt_float_headers():
    """Mode-specific header checks for float streams."""
    s2 = compress("corrupt_m2", scaled_f32(81, 50, 10), [])
    s3 = compress("corrupt_m3", noise_f32()[:50, :10], [])
    s1 = compress("corrupt_m1", noise_f32()[:50, :10], ["--abs-error", "0.1"])
    require(s2[6] == 2 and s3[6] == 3 and s1[6] == 1, "the float streams are not of modes 1, 2, 3")

    def patch(s, off, val):
        b = bytearray(s)
        b[off:off + len(val)] = val
        return with_header_crc(bytes(b))
    for what, st in {"mode 2 scale 0": patch(s2, 40, struct.pack("<d", 0.0)),
                     "mode 2 scale -1": patch(s2, 40, struct.pack("<d", -1.0)),
                     "mode 2 scale inf": patch(s2, 40, struct.pack("<d", float("inf"))),
                     "mode 2 v1 float32 scale not f32": patch(patch(s2, 4, b"\1"), 40, struct.pack("<d", 0.1)),
                     "mode 3 step nonzero": patch(s3, 40, struct.pack("<d", 1.0)),
                     "mode 1 step NaN": patch(s1, 40, struct.pack("<d", float("nan"))),
                     "mode 1 step 0": patch(s1, 40, struct.pack("<d", 0.0)),
                     "float with mode 0": patch(s3, 6, b"\0")}.items():
        must_reject("fhdr", st, what)


@case
def corrupt_fuzz_agrees_with_cli():
    """Bytes of tile payloads changed (CRCs recomputed): decode.py and the CLI must agree on every stream."""
    rng = np.random.default_rng(90)
    bases = [compress("fz_i", das_int(60, 12, 91), []),
             compress("fz_a", das_int(60, 12, 92), ["--adaptive", "--lt", "1"]),
             compress("fz_m2", perturbed_f32()[:60, :12], []),
             compress("fz_v1", smooth_field(60, 12, 93).astype(np.float32), []),
             compress("fz_v3", noise_f32()[:60, :12], []),
             compress("fz_v4", trunc_low_byte(smooth_field(60, 12, 94)), []),
             compress("fz_m4", channels_sharing_noise(60, 12, 95), ["--columns", "on"])]
    counts = Counter()
    for j in range(48):
        base = bases[j % len(bases)]
        (p,) = tiles_of(base)
        p = bytearray(p)
        kind = j % 3
        if kind == 0:
            i = int(rng.integers(0, len(p)))
            p[i] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:
            i = int(rng.integers(0, len(p)))
            p[i] = int(rng.integers(0, 256))
        else:
            p = p[:int(rng.integers(1, len(p)))]
        counts[agree(f"fz{j}", with_tiles(base, [bytes(p)]))] += 1
    return None, ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))


# more stream features
rt("i32_spikes_adaptive", lambda: _spikes(das_int(300, 40, 130)), ["--adaptive"], ["method 1 escape (k >= 31)"])
rt("f64_walk_adaptive", lambda: np.cumsum(np.random.default_rng(5).standard_normal((2000, 1)), axis=0), ["--adaptive"],
   ["method 1 escape (k >= 31)"])


def _spikes(a):
    a[100, 5], a[200, 7], a[250, 9] = 2**31 - 1, -2**31, 2**30
    return a


rt("f64_chanwalk_trunc_v4_p1", lambda: trunc_low_byte(np.cumsum(np.random.default_rng(103).standard_normal((300, 60)), axis=1)),
   (), ["mode 3 variant 4 predictor 1"])


def with_infinities(a):
    """Runs of +inf / -inf along time and across channels: inf - inf in the predictions (the default NaN)."""
    a = a.copy()
    a[100:105, 10] = np.inf
    a[150:153, 20] = -np.inf
    a[200:204, 30:33] = np.inf
    a[210, 30:33] = -np.inf
    return a


def accel(seed, rows=300, cols=40):
    return np.cumsum(np.cumsum(np.random.default_rng(seed).standard_normal((rows, cols)), axis=0), axis=0)


def nan_block(a, seed, r0, c0, h, w, payloads=True):
    """A block of quiet NaNs, with distinct payloads or all the same."""
    a = a.copy()
    u = np.uint32 if a.dtype == np.float32 else np.uint64
    qn = 0x7FC00000 if a.dtype == np.float32 else 0x7FF8000000000000
    extra = np.random.default_rng(seed).integers(1, 1000, (h, w)) if payloads else np.zeros((h, w), np.int64)
    a.view(u)[r0:r0 + h, c0:c0 + w] = (qn + extra).astype(u)
    return a


# Infinities and NaNs where the float predictors would meet them: a prediction that is NaN (from a NaN, or from
# inf - inf) has no portable bits, so these tiles must take a variant without float prediction (not 1 or 4).
NO_FLOAT_PREDICTION = [f"mode 3 variant {v} ({t})" for v in (1, 4) for t in ("float32", "float64")]
rt("f32_infinities_p3", lambda: with_infinities(accel(104).astype(np.float32)), (), ["law tables"], NO_FLOAT_PREDICTION)
rt("f64_infinities_p3", lambda: with_infinities(accel(105)), (), None, NO_FLOAT_PREDICTION)
rt("f32_infinities_p2", lambda: with_infinities(planar(106)[:, :40].astype(np.float32)), (), None, NO_FLOAT_PREDICTION)
rt("f64_infinities_p4", lambda: with_infinities(smooth_field(300, 40, 107)), (), None, NO_FLOAT_PREDICTION)
rt("f32_nan_block_p2", lambda: nan_block(planar(108)[:, :40].astype(np.float32), 108, 100, 10, 3, 3),
   (), None, NO_FLOAT_PREDICTION)
rt("f64_nan_block_p3", lambda: nan_block(accel(109), 109, 100, 10, 3, 3), (), ["law tables"], NO_FLOAT_PREDICTION)
rt("f32_nan_block_same_payload_p4", lambda: nan_block(smooth_field(400, 48, 1).astype(np.float32), 110, 10, 3, 2, 2, False),
   (), ["law tables"], NO_FLOAT_PREDICTION)
rt("f64_snan_walk", lambda: _snan_walk(4, True), (), None, NO_FLOAT_PREDICTION)
rt("f64_walk_v4_p0", lambda: trunc_low_byte(_snan_walk(4, False)), (), ["mode 3 variant 4 predictor 0"])


def _snan_walk(seed, snans):
    w = np.cumsum(np.random.default_rng(seed).standard_normal((2000, 1)), axis=0)
    if snans:
        w.view(np.uint64)[500:503, 0] = 0x7FF0000000000001 + np.arange(3, dtype=np.uint64)
    return w


# NaNs with different payloads in a smooth field (the fitted float predictor's favourite): which NaN a sum of NaNs
# returns is not portable, so the encoder must not use the predicted variants (1 and 4) for such a tile. (It did,
# and its prediction's NaN differed from the decoder's: the CLI got 14100 of the 19200 elements wrong.)
rt("f32_nan_payloads", lambda: nan_block(smooth_field(400, 48, 1).astype(np.float32), 112, 10, 3, 2, 2), (),
   ["law tables"])
rt("f64_nan_payloads", lambda: nan_block(smooth_field(400, 48, 1), 113, 10, 3, 2, 2), (), ["law tables"])


# crafted streams: rules the document leaves open, where decode.py follows the reference decoder
def uvar(v):
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def svar(v):
    return uvar(((v << 1) ^ (v >> 63)) & ((1 << 64) - 1))


def raw_plane(fmt, values):
    return b"\0" + np.asarray(values).astype(fmt).tobytes()


def patch(s, off, val):
    b = bytearray(s)
    b[off:off + len(val)] = val
    return with_header_crc(bytes(b))


def parse_plane(data, R, C):
    """Split a predictive plane (section 3) into its fields, for re-emitting with emit_plane."""
    rd = D.Reader(data, 1)
    P = {"method": data[0], "lt": rd.u8(), "lx": rd.u8(), "bands": []}
    if P["method"] == 4:
        for c in range(C if R else 0):
            mean, seg = rd.svarint(), rd.varint()
            P["bands"].append([mean, seg, [D.read_lpc(rd) for _ in range(-(-R // seg))]])
        P["cross"] = [D.read_cross(rd, c) for c in range(1, C)]
        P["leak0"] = D.read_leak0(rd, C if R else 0)
    else:
        columns = [(0, R, c, c + 1) for c in range(C)]
        for (r0, r1, c0, c1) in columns if P["method"] == 3 else D.subbands(R, C, P["lt"], P["lx"])[0]:
            mean, seg = rd.svarint(), rd.varint()
            P["bands"].append([mean, seg, [D.read_predictor(rd) for _ in range(-(-(r1 - r0) // seg))]])
    t0 = rd.pos
    if data[0] in (2, 3, 4):
        D.RansModel(rd)
    P["tables"] = data[t0:rd.pos]
    P["rc"] = rd.take(rd.varint())
    P["raw"] = rd.rest()
    return P


def emit_plane(P):
    out = bytearray([P["method"], P["lt"], P["lx"]])
    if P["method"] == 4:
        out += emit_method4_headers(P["bands"], P["cross"], P["leak0"])
    else:
        for mean, seg, preds in P["bands"]:
            out += svar(mean) + uvar(seg)
            for shift, taps in preds:
                out += bytes([len(taps), shift])
                for dt, dc, coef in taps:
                    out += uvar(dt) + svar(dc) + svar(coef)
    return bytes(out + P["tables"] + uvar(len(P["rc"])) + P["rc"] + P["raw"])


def emit_method4_headers(bands, cross, leak0=()):
    """Method 4's column headers ([mean, seg, [(p, shift, a)]] per column), cross section ((k, shift, w) for
    columns 1..) and initial context sums (one per column), written as given (no range checks: crafted tiles use it
    for out-of-range fields)."""
    out = bytearray()
    for mean, seg, preds in bands:
        out += svar(mean) + uvar(seg)
        for p, shift, a in preds:
            out += bytes([p]) + (bytes([shift]) + b"".join(svar(v) for v in a) if p else b"")
    for k, shift, w in cross:
        out += bytes([k]) + (bytes([shift]) + b"".join(svar(v) for v in w) if k else b"")
    for s0 in leak0:
        out += uvar(s0)
    return bytes(out)


# A method-4 tile from its fields and residuals, coded here from the document's encoder notes (section 6.2): the
# residuals are coded column by column with the leaking-sum contexts, against the given tables (ctx -> 128
# frequencies summing to 1024, or a law (hi, e, m); every symbol used in a context must have a nonzero frequency
# there).
def residual_symbol(r):
    """(symbol, raw field width, raw field) of residual r (section 6.2)."""
    m = -r if r < 0 else r
    k = m.bit_length()
    if k == 0:
        return 0, 0, 0
    if k == 1:
        return 1, 1, int(r < 0)
    return 2 * k - 2 + ((m >> (k - 2)) & 1), k - 1, int(r < 0) | ((m & ((1 << (k - 2)) - 1)) << 1)


def emit_tables(freqs):
    """freqs: ctx -> 128 frequencies (an explicit table over their nonzero range) or (hi, e, m) (a law, version 5)."""
    out = bytearray(struct.pack("<Q", sum(1 << c for c in freqs)))
    for c in sorted(freqs):
        f = freqs[c]
        if isinstance(f, tuple):
            out += bytes([255, *f])
            continue
        nz = [i for i, v in enumerate(f) if v]
        lo, hi = nz[0], nz[-1]
        out += bytes([lo, hi]) + b"".join(uvar(v) for v in f[lo:hi + 1])
    return bytes(out)


def table_freqs(freqs):
    """The frequencies of emit_tables' tables; a law's come from decode.py (crafted_law_tables checks them against the
    document's statements, a hand computation and the CLI)."""
    return {c: D.law_freqs(*f) if isinstance(f, tuple) else f for c, f in freqs.items()}


def rans_encode(symbols, freqs):
    """symbols: [(ctx, symbol)] in coding order -> the rANS stream of section 6.2 (two states, symbol i: state i % 2)."""
    cums = {c: np.concatenate([[0], np.cumsum(f)]).tolist() for c, f in freqs.items()}
    state = [1 << 16, 1 << 16]
    words = []
    for i in reversed(range(len(symbols))):
        ctx, s = symbols[i]
        f = freqs[ctx][s]
        x = state[i & 1]
        if x >= f << 22:
            words.append(x & 0xFFFF)
            x >>= 16
        state[i & 1] = (x // f) * 1024 + x % f + cums[ctx][s]
    words += [state[0] & 0xFFFF, state[0] >> 16, state[1] & 0xFFFF, state[1] >> 16]
    return struct.pack(f"<{len(words)}H", *reversed(words))


def method4_tile(bands, cross, res, freqs, lt=0, lx=0, leak0=None):
    """res: R x C Python ints (i64), the coded residuals r[t][c]; leak0: the columns' initial context sums (0)."""
    R = len(res)
    C = len(res[0]) if R else 0
    leak0 = list(leak0) if leak0 is not None else [0] * C
    symbols, acc, nbits = [], 0, 0
    for c in range(C):
        s = leak0[c]
        for t in range(R):
            r = res[t][c]
            sym, width, field = residual_symbol(r)
            symbols.append((D.context_of(s >> 4), sym))
            acc |= field << nbits
            nbits += width
            s = s - (s >> 5) + min(abs(r), (1 << 32) - 1)
    rc = rans_encode(symbols, table_freqs(freqs))
    raw = acc.to_bytes((nbits + 7) // 8, "little")
    return (bytes([4, lt, lx]) + emit_method4_headers(bands, cross, leak0) + emit_tables(freqs) + uvar(len(rc))
            + rc + raw)


def method4_reference(bands, cross, res):
    """The plane a method-4 tile decodes to, from the equations of section 3, one sample at a time in Python ints."""
    W = D.wrap64
    R, C = len(res), len(res[0])
    u = [[0] * C for _ in range(R)]
    x = [[0] * C for _ in range(R)]
    for c in range(C):
        k, ks, w = cross[c - 1] if c else (0, 0, [])
        for t in range(R):
            q = W(D.rounding(ks) + sum(w[j - 1] * u[t][c - j] for j in range(1, k + 1))) >> ks if k else 0
            u[t][c] = W(res[t][c] + q)
        mean, seg, preds = bands[c]
        col = []
        for t in range(R):
            p, sh, a = preds[t // seg]
            if p == 0:
                pred = 0
            elif t >= p:
                pred = W(D.rounding(sh) + sum(a[i - 1] * col[t - i] for i in range(1, p + 1))) >> sh
            else:
                pred = col[t - 1] if t > 0 else 0
            col.append(W(pred + u[t][c]))
            x[t][c] = W(col[t] + mean)
    return np.array(x, dtype=np.int64).reshape(R, C)


def stream_header(dtype, mode, rows, cols, bh, bw, step, version=4):
    """A header of section 1 (the tiles, index and CRCs come from with_tiles). step: bytes of the step field."""
    code = {"int16": 1, "uint16": 2, "int32": 3, "float32": 4, "float64": 5}[dtype]
    return (b"DASP" + bytes([version, code, mode, 0]) + struct.pack("<QQIId", rows, cols, bh, bw, 0.0) + step
            + bytes(4))


def agree_all(streams, strict_rejects=(), all_valid=False):
    """Every stream: decode.py and the CLI agree. Names in strict_rejects: decode.py's strict mode must refuse.
    With all_valid, every stream must be decoded by both (identically) and accepted by strict decode.py."""
    counts = Counter()
    for name, stream in streams.items():
        try:
            counts[agree(name.replace(" ", "_").replace("/", "_").replace(",", ""), stream)] += 1
        except CaseFailure as e:
            raise CaseFailure(f"{name}: {e}")
        if all_valid:
            require(D.decode(stream, Counter(), strict=True) is not None, f"{name}: strict decode.py refuses it")
        if name in strict_rejects:
            try:
                D.decode(stream, Counter(), strict=True)
            except D.CorruptStream:
                continue
            raise CaseFailure(f"{name}: strict decode.py accepts it")
    if all_valid:
        require(counts["both decode it identically"] == len(streams), f"not all decoded by both: {dict(counts)}")
    return None, ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))


@case
def crafted_header_rules():
    s = compress("ch", das_int(100, 30, 120), [])
    e = compress("ce", np.zeros((0, 5), np.int16), [])
    return agree_all({
        "block 2^17 x 32 (area 2^22) on a 100 x 30 array": patch(patch(s, 24, struct.pack("<I", 1 << 17)), 28, struct.pack("<I", 32)),
        "block 2^17 x 33 (area above 2^22) on a 100 x 30 array": patch(patch(s, 24, struct.pack("<I", 1 << 17)), 28, struct.pack("<I", 33)),
        "reserved byte 1": patch(s, 7, b"\1"),
        "empty array with block 0 x 0": patch(patch(e, 24, bytes(4)), 28, bytes(4)),
        "mode 0 stream marked version 2": patch(s, 4, b"\2"),
    })


@case
def crafted_trailing_bytes():
    """Bytes the encoder never writes after a raw plane, a raw bit stream or a range-coder stream."""
    out = {}
    for tag, arr, opts in (("method 2", das_int(60, 12, 121), []), ("method 1", das_int(60, 12, 121), ["--adaptive"]),
                           ("columns", channels_sharing_noise(60, 12, 121), ["--columns", "on"])):
        s = compress("ct", arr, opts)
        (p,) = tiles_of(s)
        P = parse_plane(p, 60, 12)
        out[f"{tag}: raw bit stream + 1 byte"] = with_tiles(s, [emit_plane({**P, "raw": P["raw"] + b"\xff"})])
        out[f"{tag}: raw bit stream padding bits set"] = with_tiles(s, [emit_plane({**P, "raw": P["raw"][:-1] + bytes([P["raw"][-1] | 0x80])})])
        out[f"{tag}: coder stream + 2 bytes"] = with_tiles(s, [emit_plane({**P, "rc": P["rc"] + b"\0\0"})])
        out[f"{tag}: coder stream first byte 1"] = with_tiles(s, [emit_plane({**P, "rc": b"\1" + P["rc"][1:]})])
    s = compress("cr", np.random.default_rng(122).integers(0, 65536, (6, 5)).astype(np.uint16), [])
    (p,) = tiles_of(s)
    require(p[0] == 0, "the uint16 noise tile is not raw")
    out["method 0: + 1 byte"] = with_tiles(s, [p + b"\0"])
    out["method 0: - 1 byte"] = with_tiles(s, [p[:-1]])
    strict = [k for k in out if "+" in k or "padding" in k]
    return agree_all(out, strict)


@case
def crafted_wide_planes():
    """Planes whose values leave the raw kind (via a subband mean): clamped, wrapped or refused as the reference."""
    out = {}
    s32 = compress("cw32", das_int(50, 8, 124), [])
    f32 = compress("cwf", noise_f32()[:50, :8], [])
    v0 = with_tiles(f32, [b"\0" + tiles_of(s32)[0]])  # variant 0 around an integer plane
    ramp = (np.arange(50)[:, None] * 10 + np.arange(8)[None, :]).astype(np.int16)
    for tag, arr, opts in (("int16 lossless", ramp, []),
                           ("int16 E=2", das_int(50, 8, 123, amp=3000, dtype=np.int16), ["--abs-error", "2"]),
                           ("int32 lossless", das_int(50, 8, 124), []),
                           ("int32 E=1", das_int(50, 8, 124), ["--abs-error", "1"]),
                           ("uint16 E=1000", das_int(50, 8, 124, amp=3000, dtype=np.uint16, offset=30000), ["--abs-error", "1000"]),
                           ("float32 mode 1", das_float(50, 8, 125).astype(np.float32), ["--abs-error", "1"]),
                           ("float32 mode 3 variant 0", v0, None),
                           ("int32 columns", channels_sharing_noise(50, 8, 124), ["--columns", "on"])):
        s = compress("cw", arr, opts) if opts is not None else arr
        (p,) = tiles_of(s)
        off = 1 if s[6] == 3 else 0
        require(p[off] in (1, 2, 3, 4), f"{tag}: not a predictive plane")
        P = parse_plane(p[off:], 50, 8)
        for delta in (40000, 1 << 31, 1 << 40, 1 << 62, -(1 << 62), (1 << 63) - 1):
            bands = [list(b) for b in P["bands"]]
            bands[0][0] += delta
            out[f"{tag}: mean + {delta}"] = with_tiles(s, [p[:off] + emit_plane({**P, "bands": bands})])
    return agree_all(out)


@case
def crafted_mode2():
    n = 30
    base = compress("c2", noise_f32()[:6, :5], [])
    m2 = patch(patch(base, 6, b"\2"), 40, struct.pack("<d", 0.5))
    k = np.random.default_rng(126).integers(-1000, 1000, n)
    zero = np.zeros(n, np.int64)

    def tile(exc, kk, dd, scale_stream=m2):
        return with_tiles(scale_stream, [b"\0" + exc + uvar(1 + 4 * n) + raw_plane("<i4", kk) + raw_plane("<i4", dd)])
    out = {}
    for dv in (5, 1 << 20, (1 << 20) + 1, -(1 << 25), (1 << 31) - 1, -(1 << 31)):
        d = zero.copy()
        d[3], d[4] = dv, -dv
        out[f"d = {dv}"] = tile(uvar(0), k, d)
    e2 = uvar(2) + uvar(3) + struct.pack("<I", 0x7FC01234)
    out["exceptions"] = tile(e2 + uvar(0) + struct.pack("<I", 0xFF800000), k, zero)
    out["exception at the last element"] = tile(e2 + uvar(n - 5) + struct.pack("<I", 1), k, zero)
    out["exception past the tile"] = tile(e2 + uvar(n - 4) + struct.pack("<I", 1), k, zero)
    big = np.array([2**31 - 1, -2**31, 2**24 + 1, -(2**24 + 3), 123456789] + [0] * (n - 5))
    out["k beyond 2^24 (k as f32 rounds)"] = tile(uvar(0), big, zero)
    out["k beyond 2^24, f64 scale 0.1"] = tile(uvar(0), big, zero, patch(m2, 40, struct.pack("<d", 0.1)))
    d2 = zero.copy()
    d2[:6] = [3, -3, 1 << 20, -(1 << 20), 7, -7]
    k2 = np.array([0, 0, 0, 0, 2**31 - 1, -2**31] + [1] * (n - 6))
    out["products that overflow to inf, d across 0 and inf"] = tile(uvar(0), k2, d2, patch(m2, 40, struct.pack("<d", 3.0e38)))
    out["form 1 holding variant 3"] = with_tiles(m2, [b"\1\3" + b"".join(bytes([0, j]) for j in range(4))])
    out["form 2"] = with_tiles(m2, [b"\2" + uvar(0) + uvar(1 + 4 * n) + raw_plane("<i4", k) + raw_plane("<i4", zero)])
    return agree_all(out)


@case
def crafted_method3():
    """Method 3 tiles (of a golden stream: the encoder no longer writes method 3): wavelet levels (refused), a 2-D
    plane's bands read as columns, a method-3 plane read as method 2 or 4, version 1 and 2 headers."""
    with open(os.path.join(GOLDEN, "v3_method3_i32.dps"), "rb") as f:
        s = f.read()
    (t,) = tiles_of(s)
    require(t[0] == 3, "the crafted case needs a method-3 tile")
    out = {f"lt = {lt}, lx = {lx}": with_tiles(s, [t[:1] + bytes([lt, lx]) + t[3:]]) for lt, lx in ((1, 0), (0, 1))}
    out["truncated column headers"] = with_tiles(s, [t[:3 + 9 * 4 - 1]])
    out["in a version-1 header"] = patch(s, 4, b"\1")
    out["in a version-2 header"] = patch(s, 4, b"\2")
    out["in a version-4 header"] = patch(s, 4, b"\4")
    two_d = compress("c3_2d", np.load(os.path.join(GOLDEN, "input_i32.npy")), ["--columns", "off"])
    (t2,) = tiles_of(two_d)
    out["a method-2 plane marked method 3"] = with_tiles(two_d, [b"\3" + t2[1:]])
    out["a method-3 plane marked method 2"] = with_tiles(s, [b"\2" + t[1:]])
    out["a method-3 plane marked method 4"] = with_tiles(s, [b"\4" + t[1:]])
    return agree_all(out)


def method4_fields(rng, R, C, wild):
    """Random method-4 fields: column headers, cross section, residuals, tables (one per context, all symbols
    possible). wild: full-range coefficients, shifts, means and residuals (the plane wraps); else a stable
    predictor and moderate residuals (values that fit an int32)."""
    bands, cross = [], []
    for c in range(C):
        seg = int(rng.integers(1, R + 3))
        preds = []
        for _ in range(-(-R // seg)):
            if wild:
                p = int(rng.choice([0, 1, 2, 5, 64, int(rng.integers(0, 65))]))
                sh = int(rng.choice([0, 1, 30, int(rng.integers(0, 31))]))
                a = [int(rng.choice([1 << 20, -(1 << 20), int(rng.integers(-(1 << 20), (1 << 20) + 1))])) for _ in range(p)]
            else:
                p = int(rng.choice([0, 1, 2, 3, 64]))
                sh = 0 if p == 1 and rng.random() < 0.5 else int(rng.integers(8, 21))
                gains = {0: [], 1: [1.0 if sh == 0 else 0.9], 2: [0.6, 0.3], 3: [1.2, -0.5, 0.2], 64: [0.5 / 64] * 64}[p]
                a = [int(round(g * (1 << sh))) for g in gains]
            preds.append((p, sh, a))
        bands.append([int(rng.integers(-(1 << 62), 1 << 62)) if wild else int(rng.integers(-5000, 5000)), seg, preds])
    for c in range(1, C):
        if wild:
            k = int(rng.choice([0, min(c, 64), int(rng.integers(0, min(c, 64) + 1))]))
            sh = int(rng.choice([0, 30, int(rng.integers(0, 31))]))
            w = [int(rng.choice([1 << 20, -(1 << 20), int(rng.integers(-(1 << 20), (1 << 20) + 1))])) for _ in range(k)]
        else:
            k = int(rng.integers(0, min(c, 3) + 1))
            sh = int(rng.integers(0, 16))
            w = [int(round(g * (1 << sh))) for g in (0.5, -0.25, 0.125)[:k]]
        cross.append((k, sh, w))
    if wild:
        pick = [0, 1, -1, (1 << 62), -(1 << 63), (1 << 63) - 1, (1 << 31) + 5, -(1 << 40)]
        res = [[int(rng.choice(pick)) if rng.random() < 0.1 else int(rng.integers(-(1 << 20), 1 << 20))
                for _ in range(C)] for _ in range(R)]
    else:
        res = [[int(v) for v in row] for row in np.round(rng.normal(0, 300, (R, C)) * rng.random((R, 1))).astype(np.int64)]
    freqs = {}
    for ctx in range(64):
        f = 1 + rng.multinomial(1024 - 128, rng.dirichlet(np.full(128, 0.3)))
        freqs[ctx] = [int(v) for v in f]
    if wild:
        leak0 = [int(rng.choice([0, 1, (1 << 40) - 1, int(rng.integers(0, 1 << 40))])) for _ in range(C)]
    else:
        leak0 = [int(rng.integers(0, 1 << 16)) for _ in range(C)]
    return bands, cross, res, freqs, leak0


@case
def crafted_method4():
    """Method-4 tiles coded here from the document: decode.py must give the plane of the equations of section 3
    (computed sample by sample) and the CLI the same output: wrapping sums at full-range coefficients, shifts 0 and
    30, orders 0 to 64 with the rows before the order, segments, k up to min(c, 64); method 4 in older versions."""
    rng = np.random.default_rng(131)
    out, plane_checked = {}, 0
    for tag, R, C, wild, dtype, mode, step in (
            ("stable, int32", 150, 9, False, "int32", 0, struct.pack("<Q", 1)),
            ("stable, int16 step 3", 80, 5, False, "int16", 0, struct.pack("<Q", 3)),
            ("wild, float64 mode 1", 40, 70, True, "float64", 1, struct.pack("<d", 1.0)),
            ("wild, 1 column", 90, 1, True, "float64", 1, struct.pack("<d", 1.0)),
            ("wild, 3 columns", 70, 3, True, "float64", 1, struct.pack("<d", 0.5))):
        bands, cross, res, freqs, leak0 = method4_fields(rng, R, C, wild)
        tile = method4_tile(bands, cross, res, freqs, leak0=leak0)
        want = method4_reference(bands, cross, res)
        st = Counter()
        got = D.decode_plane(tile, R, C, "i32", st)
        require(np.array_equal(got, want), f"{tag}: decode.py's plane differs from the equations "
                f"({np.count_nonzero(got != want)} of {R * C} samples)")
        require(st["method 4"] == 1, f"{tag}: not decoded as method 4")
        plane_checked += 1
        if step == struct.pack("<Q", 1):  # lossless: the plane must fit the type (section 2)
            info = np.iinfo(D.NP_DTYPE[dtype])
            require(want.min() >= info.min and want.max() <= info.max, f"{tag}: the stable plane leaves {dtype}")
        out[tag] = with_tiles(stream_header(dtype, mode, R, C, R, C, step), [tile])
        if tag == "stable, int32":
            for v in (1, 2, 3):
                out[f"{tag}, in a version-{v} header"] = with_tiles(stream_header(dtype, mode, R, C, R, C, step, v), [tile])
    _, summary = agree_all(out, all_valid=True)
    return None, f"{plane_checked} planes as the equations, {summary}"


@case
def crafted_method4_hostile():
    """Method-4 tiles with a field out of range, or too short for what they claim: decode.py and the CLI refuse."""
    rng = np.random.default_rng(132)
    step1 = struct.pack("<Q", 1)

    def stream(bands, cross, res, freqs, R, C, cut=None, lt=0, lx=0, hdr=None, leak0=None):
        t = method4_tile(bands, cross, res, freqs, lt, lx, leak0)
        return with_tiles(hdr or stream_header("int32", 0, R, C, R, C, step1), [t[:cut] if cut is not None else t])
    R, C = 2, 2
    freqs = {0: [1024] + [0] * 127}  # every residual 0 (context 0): the smallest valid tile
    zero = [[0] * C for _ in range(R)]
    base = [[5, 1, [(0, 0, [])] * 2], [-3, 2, [(1, 0, [1])]]]
    ok_cross = [(1, 1, [1])]
    good = stream(base, ok_cross, zero, freqs, R, C)
    st = Counter()
    require(same_bits(D.decode(good, st), np.array([[5, -3], [5, -3]], np.int32)) and st["method 4 cross weights"],
            "the baseline 2 x 2 method-4 tile does not decode to its means")
    bad = {}

    def with_pred(c, i, pred):
        b = [[m, s, list(p)] for m, s, p in base]
        b[c][2][i] = pred
        return b
    bad["wavelet lt = 1"] = stream(base, ok_cross, zero, freqs, R, C, lt=1)
    bad["wavelet lx = 1"] = stream(base, ok_cross, zero, freqs, R, C, lx=1)
    bad["order 65"] = stream(with_pred(1, 0, (65, 0, [1] * 65)), ok_cross, zero, freqs, R, C)
    bad["order 255"] = stream(with_pred(0, 1, (255, 0, [0] * 255)), ok_cross, zero, freqs, R, C)
    bad["predictor shift 31"] = stream(with_pred(0, 0, (1, 31, [1])), ok_cross, zero, freqs, R, C)
    bad["coefficient 2^20 + 1"] = stream(with_pred(1, 0, (2, 3, [1, (1 << 20) + 1])), ok_cross, zero, freqs, R, C)
    bad["coefficient -2^20 - 1"] = stream(with_pred(1, 0, (1, 3, [-(1 << 20) - 1])), ok_cross, zero, freqs, R, C)
    bad["seg 0"] = stream([base[0], [-3, 0, []]], ok_cross, zero, freqs, R, C)
    bad["seg 2^32"] = stream([base[0], [-3, 1 << 32, [(0, 0, [])]]], ok_cross, zero, freqs, R, C)
    bad["k 2 > c = 1"] = stream(base, [(2, 1, [1, 1])], zero, freqs, R, C)
    bad["cross shift 31"] = stream(base, [(1, 31, [1])], zero, freqs, R, C)
    bad["cross weight 2^20 + 1"] = stream(base, [(1, 0, [(1 << 20) + 1])], zero, freqs, R, C)
    bad["cross weight -2^20 - 1"] = stream(base, [(1, 0, [-(1 << 20) - 1])], zero, freqs, R, C)
    # (The sums' contexts need tables: every context gets one with symbol 0 certain.)
    all_ctx = {c: [1024] + [0] * 127 for c in range(64)}
    bad["initial context sum 2^40"] = stream(base, ok_cross, zero, all_ctx, R, C, leak0=[0, 1 << 40])
    top = stream(base, ok_cross, zero, all_ctx, R, C, leak0=[(1 << 40) - 1, 1])
    n_head = len(emit_method4_headers(base, []))
    for cut in (1, 2, 3):  # k, shift, the weight: the tile ends inside the cross section
        bad[f"cross section cut after {cut - 1} of its 3 bytes"] = stream(base, ok_cross, zero, freqs, R, C, cut=3 + n_head + cut - 1)
    bad["no cross section, tables or coder streams"] = stream(base, ok_cross, zero, freqs, R, C, cut=3 + n_head)
    # 66 columns: k = 65 <= c at column 65, but above 64 (k = 64 there is valid)
    C66 = 66
    b66 = [[0, 2, [(0, 0, [])]] for _ in range(C66)]
    z66 = [[0] * C66 for _ in range(R)]
    x66 = [(0, 0, [])] * (C66 - 2)
    ok66 = stream(b66, x66 + [(64, 0, [1] * 64)], z66, freqs, R, C66)
    require(D.decode(ok66).shape == (R, C66), "the 66-column baseline does not decode")
    bad["k 65 > 64 at column 65"] = stream(b66, x66 + [(65, 0, [1] * 65)], z66, freqs, R, C66)
    # far more columns than the tile's bytes can describe (2 x 2^21 int32: the output claim itself is allowed)
    wide = stream_header("int32", 0, 2, 1 << 21, 2, 1 << 21, step1)
    bad["2^21 columns in a 2-column tile"] = with_tiles(wide, [good_tile(good)])
    # more segments than bytes: 2^22 rows, seg 1
    tall = stream_header("int32", 0, 1 << 22, 1, 1 << 22, 1, step1)
    bad["2^22 one-row segments in a short tile"] = with_tiles(tall, [bytes([4, 0, 0]) + svar(0) + uvar(1) + bytes(60)])
    for what, st_ in bad.items():
        must_reject(what.replace(" ", "_").replace("^", "").replace(",", ""), st_, what)
    # accepted by both: the baseline, the 66-column baseline
    for what, st_ in {"2 x 2 baseline": good, "66 columns, k = 64 at column 65": ok66,
                      "initial context sum 2^40 - 1": top}.items():
        require(agree(what.replace(" ", "_").replace(",", ""), st_) == "both decode it identically",
                f"{what}: decode.py and the CLI do not both decode it")
    return None, f"{len(bad)} refused by both, 3 decoded by both"


def good_tile(stream):
    (t,) = tiles_of(stream)
    return t


# Tables that are laws (section 6.2, version 5), at the ends of their parameters' ranges: hi 0 (one symbol of
# frequency 1024), hi 127 with the steepest law (e = 1, m = 255: theta near 0) and the flattest (e = 54, m = 0: theta
# = 1 - 2^-46, all but the top symbols at the floor of 1), ones in between, and two whose largest f[s] is tied
# before the remainder is added (symbols 0 and 1, then 1 and 2: it goes to the first).
LAWS = [(0, 1, 0), (0, 54, 255), (127, 1, 255), (127, 54, 0), (1, 1, 0), (40, 20, 128), (127, 30, 7), (2, 1, 0),
        (2, 12, 128)]


def symbol_residual(sym, rng):
    """A residual of symbol `sym` (section 6.2), its sign and low bits at random. Symbols 126 and 127 (k = 64) have
    magnitudes from 2^63 up, returned as Python ints beyond i64 that the decoders wrap: their contexts then differ from
    method4_tile's, so they are only used where every context has the same table."""
    if sym == 0:
        return 0
    sign = -1 if rng.random() < 0.5 else 1
    if sym == 1:
        return sign
    k, b = (sym >> 1) + 1, sym & 1
    low = int(rng.integers(0, 1 << (k - 2))) if k > 2 else 0
    return sign * ((1 << (k - 1)) | (b << (k - 2)) | low)


def law_stream(R, C, tile, want, version=5):
    """A one-tile stream holding a crafted plane, and the array it must decode to: lossless int32 if the plane fits
    it, else float64 mode 1 with step 1 (any i64 plane, as f64)."""
    if max(abs(int(v)) for v in want.flat) < 1 << 31:
        hdr = stream_header("int32", 0, R, C, R, C, struct.pack("<Q", 1), version)
        return with_tiles(hdr, [tile]), want.astype(np.int32)
    hdr = stream_header("float64", 1, R, C, R, C, struct.pack("<d", 1.0), version)
    return with_tiles(hdr, [tile]), want.astype(np.float64)


def decodes_to(name, stream, expect):
    """decode.py (strict) and the CLI both decode `stream` to `expect`, bit for bit."""
    got = D.decode(stream, Counter(), strict=True)
    require(same_bits(got, expect), f"{name}: decode.py gives other values ({np.count_nonzero(got != expect)} differ)")
    ref = cli_decode(name.replace(" ", "_").replace(",", ""), stream)
    require(ref is not None, f"{name}: the CLI refuses it")
    bad = np.flatnonzero(ref != expect)
    require(same_bits(ref, expect), f"{name}: the CLI gives other values ({bad.size} differ, first at {bad[:5]})")


@case
def crafted_law_tables():
    """Tiles whose tables are laws, coded here (method 4, one column, every context the same law, each symbol 0..=hi
    at least once and 200 more drawn from the law): decode.py and the CLI must give the residuals the symbols were
    made from. The frequencies are decode.py's: checked against what section 6.2 says of every law, and by hand."""
    # hi = 1, e = 1, m = 0 (theta = 1/2) by hand: q = 256 << 53 = 2^61, mass[0] = q >> 1 = 2^60; pow = start =
    # 2^62 - 2^61 = 2^61; square = (2^61 * 2^61) >> 62 = 2^60, mass[1] = 2^61 - 2^60 = 2^60, start = 2^60 (s = 2 > hi:
    # done); total = 2^60 + 2^61 - 2^60 = 2^61, bitlength 62, shift 31, rec = 2^62 / (2^61 >> 31) = 2^32;
    # f[s] = 1 + ((((2^60 >> 31) * 2^32) >> 31) * 1022) >> 31 = 1 + (2^30 * 1022) >> 31 = 512 for both: sum 1024.
    # (Read as (1 + ...) >> 31, the pseudo-code would give 511, 511 and 513, 511 after the remainder.)
    f11 = D.law_freqs(1, 1, 0)
    require(f11 == [512, 512] + [0] * 126, f"law (1, 1, 0): {f11[:3]}, not 512, 512, 0")
    for law in LAWS:
        f, hi = D.law_freqs(*law), law[0]
        require(len(f) == 128 and sum(f) == 1024 and min(f[:hi + 1]) >= 1 and not any(f[hi + 1:]),
                f"law {law}: not 1024 over 0..=hi with every f >= 1 ({f})")
    rng = np.random.default_rng(133)
    out = {}
    for law in LAWS:
        f = np.array(D.law_freqs(*law))
        syms = list(range(law[0] + 1)) + rng.choice(128, 200, p=f / 1024).tolist()
        rng.shuffle(syms)
        res = [[symbol_residual(int(s), rng)] for s in syms]
        R = len(res)
        bands = [[-7, R, [(0, 0, [])]]]
        tile = method4_tile(bands, [], res, {c: law for c in range(64)})
        want = method4_reference(bands, [], res)
        st = Counter()
        got = D.decode_plane(tile, R, 1, "i32", st)
        require(np.array_equal(got, want), f"law {law}: decode.py's plane is not the residuals coded "
                f"({np.count_nonzero(got != want)} of {R} differ)")
        require(st["law tables"] == 64 and st["explicit tables"] == 0, f"law {law}: tables read as {dict(st)}")
        stream, expect = law_stream(R, 1, tile, want)
        decodes_to(f"law {law}", stream, expect)
        out[f"law {law} in a version-4 header"] = law_stream(R, 1, tile, want, 4)[0]
    _, summary = agree_all(out, all_valid=True)
    return None, f"{len(LAWS)} laws decoded as coded by both, {summary}"


@case
def crafted_law_and_explicit_tables():
    """A method-4 tile of 3 columns whose contexts hold laws (random parameters) and explicit tables side by side,
    each residual drawn from its own context's table: decode.py must give back the residuals and the CLI the same."""
    rng = np.random.default_rng(134)
    R, C = 400, 3
    tables = {}
    for ctx in range(64):
        if ctx % 2 == 0:
            tables[ctx] = (int(rng.integers(0, 128)), int(rng.integers(1, 55)), int(rng.integers(0, 256)))
        else:  # explicit, over a random range with zeros inside
            lo, hi = sorted(int(v) for v in rng.integers(0, 128, 2))
            f = [0] * 128
            for s_, v in zip(range(lo, hi + 1), rng.multinomial(1024, rng.dirichlet(np.full(hi - lo + 1, 0.3)))):
                f[s_] = int(v)
            tables[ctx] = f
    freqs = table_freqs(tables)
    leak0 = [int(rng.integers(0, 1 << 20)) for _ in range(C)]
    res = [[0] * C for _ in range(R)]
    for c in range(C):  # the residuals follow the contexts as method4_tile codes them (symbols below 126: no wrapping)
        s = leak0[c]
        for t in range(R):
            f = np.array(freqs[D.context_of(s >> 4)][:126], dtype=np.float64)
            if not f.any():  # only symbols 126, 127 in this table: the column stays out of it (never hit so far)
                raise CaseFailure("a context with no symbol below 126: choose another seed")
            if rng.random() < 0.2:
                f = (f > 0).astype(np.float64)  # rare symbols too
            r = symbol_residual(int(rng.choice(126, p=f / f.sum())), rng)
            res[t][c] = r
            s = s - (s >> 5) + min(abs(r), (1 << 32) - 1)
    bands = [[int(rng.integers(-1000, 1000)), R, [(1, 0, [1])]] for _ in range(C)]
    cross = [(1, 1, [1]), (2, 2, [1, -1])]
    tile = method4_tile(bands, cross, res, tables, leak0=leak0)
    want = method4_reference(bands, cross, res)
    st = Counter()
    got = D.decode_plane(tile, R, C, "i32", st)
    require(np.array_equal(got, want), f"decode.py's plane differs ({np.count_nonzero(got != want)} of {R * C})")
    require(st["law tables"] == 32 and st["explicit tables"] == 32, f"tables read as {dict(st)}")
    stream, expect = law_stream(R, C, tile, want)
    decodes_to("laws and explicit tables", stream, expect)
    return None, "32 laws and 32 explicit tables in one tile, decoded as coded by both"


@case
def crafted_law_tables_hostile():
    """Laws with hi or e out of range, or cut short, are refused by both decoders ("any other hi or e is a corrupt
    stream"); rANS words made for one law read under another (symbols above its hi among them) are decoded alike or
    refused by both, as the document does not say that every such stream fails its final states."""
    rng = np.random.default_rng(135)
    R = 60
    law = (40, 20, 128)
    res = [[symbol_residual(int(s), rng)] for s in rng.integers(0, 41, R)]
    bands = [[0, R, [(0, 0, [])]]]
    tile = method4_tile(bands, [], res, {c: law for c in range(64)})
    at = 3 + len(emit_method4_headers(bands, [], [0])) + 8  # context 0's table: 255, hi, e, m; context c's at + 4c
    require(tile[at:at + 4] == bytes([255, *law]), "the crafted tile's first table is not where expected")
    good, _ = law_stream(R, 1, tile, method4_reference(bands, [], res))
    require(agree("law_good", good) == "both decode it identically", "the baseline law tile is not decoded by both")
    hdr = good[:52]
    bad = {}
    for ctx, what, off, v in ((0, "hi 128", 1, 128), (0, "hi 255", 1, 255), (0, "e 0", 2, 0), (0, "e 55", 2, 55),
                              (0, "e 255", 2, 255), (63, "hi 128", 1, 128), (63, "e 0", 2, 0),
                              (0, "an explicit table's lo 254 (not the law marker)", 0, 254)):
        t = bytearray(tile)
        t[at + 4 * ctx + off] = v
        bad[f"context {ctx}: {what}"] = with_tiles(hdr, [bytes(t)])
    for n, what in ((1, "the 255 marker"), (2, "hi"), (3, "e")):
        bad[f"tile ending after {what}"] = with_tiles(hdr, [tile[:at + n]])
        bad[f"tile ending after context 63's {what}"] = with_tiles(hdr, [tile[:at + 4 * 63 + n]])
    for what, s in bad.items():
        must_reject("law_" + "".join(ch if ch.isalnum() else "_" for ch in what), s, what)
    # the words of law a under the tables of law b (every context): a float64 mode-1 header takes any plane, so only
    # the rANS stream can make a decoder refuse
    other = {}
    for a, b in (((127, 30, 7), (40, 30, 7)), ((40, 20, 128), (40, 20, 129)), ((127, 1, 255), (127, 54, 0)),
                 ((40, 20, 128), (0, 1, 0)), ((1, 1, 0), (0, 54, 255)), ((127, 54, 0), (127, 1, 255))):
        f = np.array(D.law_freqs(*a)[:126], dtype=np.float64)
        res = [[symbol_residual(int(s), rng)] for s in rng.choice(126, 80, p=f / f.sum())]
        bands = [[0, 80, [(0, 0, [])]]]
        t = method4_tile(bands, [], res, {c: a for c in range(64)})
        t = t.replace(bytes([255, *a]) * 64, bytes([255, *b]) * 64)
        hdr = stream_header("float64", 1, 80, 1, 80, 1, struct.pack("<d", 1.0), 5)
        other[f"words of law {a} under law {b}"] = with_tiles(hdr, [t])
    _, summary = agree_all(other)
    return None, f"{len(bad)} refused by both; words of another law: {summary}"


@case
def versions_lowest():
    """Section 7: "Encoders write version 5 for streams with a table that is a law and the older versions
    otherwise": 4 for method 4, 2 for modes 2 and 3 (lossless floats), else 1."""
    arrays = {
        "int32 noise (raw tiles)": (np.random.default_rng(13).integers(-2**31, 2**31, (100, 50)).astype(np.int32), []),
        "int16 constant (one explicit table)": (np.full((300, 20), -1234, np.int16), []),
        "int32, adaptive": (das_int(300, 40, 4), ["--adaptive"]),
        "int32 DAS (laws)": (das_int(300, 40, 1), []),
        "columns (laws)": (channels_apart(600, 12, 90), ["--columns", "on"]),
        "float64 integers, adaptive": (np.round(das_float(300, 40, 50)), ["--adaptive"]),
        "float32 noise (mode 3 variant 3, no context table)": (noise_f32(), []),
        "float32 sine (mode 3 variant 2, no context table)":
            ((np.sin(np.arange(400)[:, None] / 20.0 + np.arange(48)[None, :] / 7.0) * 1000).astype(np.float32), []),
        "float64 smooth (mode 3, explicit tables only)": (smooth_field(160, 48, 56), []),
    }
    wrong, seen = [], Counter()
    for what, (a, opts) in arrays.items():
        s = compress("ver", a, opts)
        st = Counter()
        D.decode(s, st)
        want = 5 if st["law tables"] else 4 if st["method 4"] else 2 if s[6] in (2, 3) else 1
        seen[want] += 1
        if s[4] != want:
            wrong.append(f"{what}: version {s[4]}, expected {want} ({st['law tables']} law tables, "
                         f"{st['explicit tables']} explicit)")
    require(not wrong, "; ".join(wrong))
    require(seen[5] and seen[2] and seen[1], f"the arrays do not cover versions 1, 2 and 5 ({dict(seen)})")
    return None, ", ".join(f"{v} of version {k}" for k, v in sorted(seen.items()))


@case
def crafted_float_prediction():
    """Mode 3 variants 1/4 on crafted residuals: wrapping, NaN propagation of predictors 2 and 3, versions, zstd."""
    import zstandard
    f32 = compress("cf32", noise_f32()[:6, :5], [])
    f64 = compress("cf64", np.random.default_rng(127).standard_normal((6, 5)), [])
    require(f32[6] == 3 and f64[6] == 3, "not mode 3")
    n = 30
    out = {}
    rng = np.random.default_rng(128)
    for r in ((1 << 31) + 5, -(1 << 33) - 7, (1 << 63) - 1):
        rr = rng.integers(-100, 100, n)
        rr[0], rr[7], rr[12] = 1000, r, -r
        for p in (0, 1, 3):
            for tag, s in (("f32", f32), ("f64", f64)):
                out[f"{tag} variant 1 p{p} r {r}"] = with_tiles(s, [bytes([1, p]) + raw_plane("<i8", rr)])
                out[f"{tag} variant 4 p{p} r {r}"] = with_tiles(s, [bytes([4, p]) + uvar(1 + 8 * n) + raw_plane("<i8", rr) + b"\0\x5a"])
    Q = 0x7FF8000000000000
    A, B, Cn = Q + 0xA, Q + 0xB, Q + 0xC
    f64_22 = patch(patch(f64, 8, struct.pack("<Q", 2)), 16, struct.pack("<Q", 2))
    f64_22 = patch(patch(f64_22, 24, struct.pack("<I", 2)), 28, struct.pack("<I", 2))
    out["p2: N, W, NW NaNs"] = with_tiles(f64_22, [b"\1\2" + raw_plane("<i8", [A, B - A, Cn - A, 0])])
    out["p2: N, W NaNs"] = with_tiles(f64_22, [b"\1\2" + raw_plane("<i8", [0x3FF0000000000000, B - 0x3FF0000000000000, Cn - 0x3FF0000000000000, 0])])
    f64_31 = patch(patch(f64, 8, struct.pack("<Q", 3)), 16, struct.pack("<Q", 1))
    f64_31 = patch(patch(f64_31, 24, struct.pack("<I", 3)), 28, struct.pack("<I", 1))
    out["p3: N, NN NaNs"] = with_tiles(f64_31, [b"\1\3" + raw_plane("<i8", [A, B - A, 0])])
    out["p3: N = NN = +inf (inf - inf)"] = with_tiles(f64_31, [b"\1\3" + raw_plane("<i8", [0x7FF0000000000000, 0, 0])])
    v3 = compress("cv3", noise_f32()[:60, :12], [])
    require(tiles_of(v3)[0][0] == 3, "not variant 3")
    out["variant 3 in a stream marked version 1"] = patch(v3, 4, b"\1")
    planes = np.frombuffer(noise_f32()[:6, :5].tobytes(), np.uint8).reshape(n, 4).T.copy().tobytes()
    z = zstandard.ZstdCompressor()
    out["variant 2, two zstd frames"] = with_tiles(f32, [b"\2" + z.compress(planes[:50]) + z.compress(planes[50:])])
    out["variant 2, a byte after the frame"] = with_tiles(f32, [b"\2" + z.compress(planes) + b"\0"])
    out["variant 2, a short frame"] = with_tiles(f32, [b"\2" + z.compress(planes[:-1])])
    out["variant 2, no content size"] = with_tiles(f32, [b"\2" + zstandard.ZstdCompressor(write_content_size=False).compress(planes)])
    return agree_all(out)


# ---------------------------------------------------------------------------------------------- runner


def run_one(name):
    t = time.time()
    try:
        fn = globals()[name] if name in globals() else dict(SHARED)[name]
        out = fn()
        st, note = out if isinstance(out, tuple) else (None, "")
        return name, True, note or "", st or Counter(), time.time() - t
    except CaseFailure as e:
        return name, False, str(e), Counter(), time.time() - t
    except Exception:
        return name, False, traceback.format_exc(limit=6), Counter(), time.time() - t


def init(cli, tmp):
    global CLI, TMP
    CLI, TMP = cli, tmp


SHARED = [(shared_case(p).__name__, shared_case(p)) for p in shared_files()]

# what the document defines, for the coverage summary
EXPECTED = (["version 1", "version 2", "version 3", "version 4", "version 5", "law tables", "explicit tables"]
            + [f"mode 0 ({t})" for t in ("int16", "uint16", "int32")]
            + [f"mode {m} ({t})" for m in (1, 2, 3) for t in ("float32", "float64")]
            + ["mode 0 with step > 1", "mode 2 form 0 (scaled)", "mode 2 form 1 (mode-3 form)", "mode 2 exceptions",
               "mode 2 tiles with a nonzero correction plane", "mode 2 float32 scale not a float32 value"]
            + [f"mode 3 variant {v} ({t})" for v in range(5) for t in ("float32", "float64")]
            + [f"mode 3 variant {v} predictor {p}" for v in (1, 4) for p in range(5)]
            + ["method 0", "method 1", "method 2", "method 3", "method 3 with several columns", "method 4",
               "method 4 with several columns", "method 4 cross weights", "method 4 initial context sums"]
            + [f"byte sequence form {f}" for f in range(3)]
            + ["one-channel tiles", "subbands with several segments", "one-column subbands (C == 1 contexts)",
               "method 1 escape (k >= 31)", "raw field wider than 32 bits"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("-k", help="only cases whose name contains this")
    ap.add_argument("-j", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("-v", action="store_true", help="print every case's statistics")
    a = ap.parse_args()
    cli = os.path.abspath(a.cli)
    names = CASES + [n for n, _ in SHARED]
    if a.k:
        names = [n for n in names if a.k in n]
    total = Counter()
    passed = failed = 0
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="daspack-format-") as tmp:
        init(cli, tmp)
        with ProcessPoolExecutor(a.j, initializer=init, initargs=(cli, tmp)) as ex:
            for name, ok, note, st, dt in ex.map(run_one, names):
                total.update(st)
                if ok:
                    passed += 1
                    print(f"ok   {name:44s} {dt:5.2f}s  {note}")
                else:
                    failed += 1
                    print(f"FAIL {name:44s} {dt:5.2f}s  {note}")
                if a.v and st:
                    print("       " + ", ".join(f"{k}: {v}" for k, v in sorted(st.items())))
                sys.stdout.flush()
    if not SHARED:
        print("(no ../shared/data/das/*.npy: the shared-corpus cases are skipped)")
    print(f"\ncoverage (decoder counters over all round-trip cases, {time.time() - t0:.1f}s):")
    for k in sorted(total):
        print(f"  {k}: {total[k]}")
    if not a.k:
        missing = [k for k in EXPECTED if total[k] == 0]
        print("not hit: " + (", ".join(missing) if missing else "none"))
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
