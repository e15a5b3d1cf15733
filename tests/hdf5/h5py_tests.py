"""h5py (wheel, its own HDF5) through the daspack filter plugin, plus h5dump/h5repack/h5diff (Debian's HDF5).

Run by run.sh with HDF5_PLUGIN_PATH set. Prints one "PASS name" / "FAIL name: why" / "SKIP name: why" line per check.
Usage: h5py_tests.py WORKDIR DAS_DATA_DIR
"""
import glob
import os
import subprocess
import sys
import traceback

import h5py
import numpy as np

FILTER = 33000
WORK, DAS = sys.argv[1], sys.argv[2]
results = []


def check(name, fn):
    try:
        fn()
        print(f"PASS {name}", flush=True)
        results.append(True)
    except Exception as e:  # noqa: BLE001 -- every failure is reported, none stops the suite
        print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
        traceback.print_exc(file=sys.stderr)
        results.append(False)


def bound(e):
    """The error bound as the two extra cd_values: IEEE-754 f64 bits, low 32-bit word first."""
    lo, hi = np.array([e], "<f8").view("<u4")
    return (int(lo), int(hi))


def path(name):
    return os.path.join(WORK, name)


def roundtrip(name, data, chunks, opts=None, err=0.0, smaller=True):
    fn = path(f"{name}.h5")
    kw = {} if opts is None else {"compression_opts": tuple(opts)}
    with h5py.File(fn, "w") as f:
        f.create_dataset("x", data=data, chunks=chunks, compression=FILTER, **kw)
    with h5py.File(fn, "r") as f:
        d = f["x"]
        back = d[:]
        stored = d._filters[str(FILTER)]
        assert len(stored) == 14 and stored[0] == 1, f"stored cd_values {stored}"
        assert stored[2] == len(chunks) and tuple(stored[3 : 3 + len(chunks)]) == tuple(chunks), stored
        assert back.dtype == data.dtype and back.shape == data.shape
        if err == 0:
            assert np.array_equal(back, data), "not exact"
        else:
            worst = np.max(np.abs(back.astype("f8") - data.astype("f8")))
            assert worst <= err, f"max error {worst} > {err}"
        if smaller:
            stored_bytes = d.id.get_storage_size()
            assert stored_bytes < data.nbytes, f"{stored_bytes} >= {data.nbytes} bytes"
        # A partial read decodes only the chunks it needs and must match too.
        sl = tuple(slice(s // 3, s // 3 + max(1, s // 4)) for s in data.shape)
        part = d[sl]
        if err == 0:
            assert np.array_equal(part, data[sl])


def synth(shape, dtype, seed=0):
    """DAS-like: coherent waves across channels plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(shape[0])[:, None]
    c = np.arange(int(np.prod(shape[1:])) if len(shape) > 1 else 1)[None, :]
    x = 800 * np.sin(0.03 * t + 0.2 * c) + 300 * np.sin(0.11 * t - 0.05 * c) + rng.normal(0, 20, (shape[0], c.size))
    x = x.reshape(shape)
    if np.dtype(dtype).kind == "u":
        x = x + 2000
    if np.dtype(dtype).kind == "f":
        return (x / 1000).astype(dtype)
    return np.round(x).astype(dtype)


# --- synthetic round trips: types, cd_values forms, partial edge chunks, ranks 1/2/3 ------------------------
cases = [
    ("i16_default", synth((1000, 37), "i2"), (128, 16), None, 0.0),
    ("i16_opts5", synth((1000, 37), "i2", 1), (128, 16), (0, 0, 0, 0, 2), 0.0),
    ("i16_daspack_defaults", synth((700, 40), "i2", 2), (256, 40), (1000, 1000, 1, 1, 1), 0.0),
    ("i16_tailcut_ignored", synth((700, 40), "i2", 3), (256, 40), (64, 16, 1, 1, 2, 50), 0.0),
    ("u16", synth((900, 33), "u2"), (200, 20), (0, 0, 0, 0, 2), 0.0),
    ("i32", synth((1000, 50), "i4"), (300, 32), None, 0.0),
    ("i32_lossy_E3", synth((1000, 50), "i4"), (300, 32), (0, 0, 0, 0, 2, 0) + bound(3.0), 3.0),
    ("f32_lossless", synth((800, 30), "f4"), (256, 16), None, 0.0),
    ("f32_E1e-3", synth((800, 30), "f4"), (256, 16), (0, 0, 0, 0, 2, 0) + bound(1e-3), 1e-3),
    ("f64_lossless", synth((500, 20), "f8"), (128, 20), None, 0.0),
    ("f64_E1e-4", synth((500, 20), "f8"), (128, 20), (0, 0, 1, 1, 2, 0) + bound(1e-4), 1e-4),
    ("rank1_i32", synth((10001,), "i4"), (1000,), None, 0.0),
    ("rank3_i16", synth((5, 40, 30), "i2"), (2, 16, 8), None, 0.0),
    ("rank3_f32_E", synth((4, 50, 12), "f4"), (3, 20, 12), (0, 0, 0, 0, 2, 0) + bound(0.01), 0.01),
    ("big_endian_i16", synth((300, 20), ">i2"), (64, 8), None, 0.0),
    ("tiny_chunks", synth((50, 7), "i4"), (3, 2), None, 0.0),
]
for name, data, chunks, opts, err in cases:
    check(f"h5py:{name}", lambda d=data, c=chunks, o=opts, e=err, n=name: roundtrip(n, d, c, o, e, smaller=min(c) > 3))


# --- real DAS data -------------------------------------------------------------------------------------------
files = sorted(glob.glob(os.path.join(DAS, "*.npy")))
if not files:
    print(f"SKIP h5py:real_das: no .npy files in {DAS}")
for fn in files:
    a = np.load(fn, mmap_mode="r")
    if a.dtype.kind not in "iuf" or a.dtype.itemsize not in (2, 4, 8) or a.dtype == np.int64:
        print(f"SKIP h5py:real:{os.path.basename(fn)}: dtype {a.dtype}")
        continue
    a = a.reshape(a.shape[0], -1) if a.ndim > 1 else a
    rows = max(1, min(a.shape[0], 400_000 // (a.shape[1] if a.ndim > 1 else 1)))
    a = np.ascontiguousarray(a[:rows])
    chunks = (min(rows, 1024),) + ((min(a.shape[1], 256),) if a.ndim > 1 else ())
    base = os.path.basename(fn)[:-4]
    check(f"h5py:real:{base}", lambda a=a, c=chunks, b=base: roundtrip(f"real_{b}", a, c, None, 0.0, smaller=False))
    if a.dtype.kind == "f" and np.isfinite(a).all():
        e = float(np.std(a)) * 1e-3 or 1e-6
        check(f"h5py:real:{base}:E", lambda a=a, c=chunks, b=base, e=e: roundtrip(f"real_{b}_E", a, c, (0, 0, 0, 0, 2, 0) + bound(e), e))


# --- errors: unsupported types, bad cd_values, rank 4; the process survives each ----------------------------
def expect_error(dtype, shape, chunks, opts, words):
    try:
        with h5py.File(path("bad.h5"), "w") as f:
            kw = {} if opts is None else {"compression_opts": opts}
            f.create_dataset("x", data=np.zeros(shape, dtype), chunks=chunks, compression=FILTER, **kw)
    except (ValueError, OSError) as e:
        msg = str(e)
        assert all(w in msg for w in words), f"message {msg!r} lacks {words}"
        return
    raise AssertionError("no error")


check("h5py:reject_int64", lambda: expect_error("i8", (10, 4), (5, 4), None, ["daspack", "64-bit signed integer", "int16"]))
check("h5py:reject_int8", lambda: expect_error("i1", (10, 4), (5, 4), None, ["daspack", "8-bit"]))
check("h5py:reject_uint32", lambda: expect_error("u4", (10, 4), (5, 4), None, ["daspack", "unsigned"]))
check("h5py:reject_rank4", lambda: expect_error("i2", (2, 2, 4, 4), (1, 2, 4, 4), None, ["daspack", "rank 4"]))
check("h5py:reject_7_words", lambda: expect_error("i2", (10, 4), (5, 4), (0,) * 7, ["daspack", "both words"]))
check("h5py:reject_levels", lambda: expect_error("i2", (10, 4), (5, 4), (0, 0, 99), ["daspack", "levels"]))
check("h5py:reject_nan_E", lambda: expect_error("f4", (10, 4), (5, 4), (0, 0, 0, 0, 2, 0) + bound(float("nan")), ["daspack"]))


def nonfinite_with_bound():
    # With an error bound the codec refuses chunks holding NaN/inf; h5py sets the filter as optional, so HDF5
    # stores those chunks unfiltered and they come back as they were.
    a = synth((40, 6), "f4")
    a[3, 1], a[7, 2] = np.nan, -np.inf
    with h5py.File(path("nan.h5"), "w") as f:
        f.create_dataset("x", data=a, chunks=(10, 4), compression=FILTER, compression_opts=(0, 0, 0, 0, 2, 0) + bound(0.1))
    with h5py.File(path("nan.h5")) as f:
        b = f["x"][:]
    fin = np.isfinite(a)
    assert np.isnan(b[3, 1]) and b[7, 2] == -np.inf and np.array_equal(np.isfinite(b), fin)
    assert np.max(np.abs(b[fin] - a[fin])) <= 0.1


check("h5py:nan_inf_with_bound", nonfinite_with_bound)


def nan_lossless():
    a = synth((64, 8), "f4")
    a[1, 2], a[5, 5], a[7, 0] = np.nan, np.inf, -0.0
    with h5py.File(path("nan_lossless.h5"), "w") as f:
        f.create_dataset("x", data=a, chunks=(32, 8), compression=FILTER)
    with h5py.File(path("nan_lossless.h5")) as f:
        assert np.array_equal(f["x"][:].view("u4"), a.view("u4")), "bit patterns differ"


check("h5py:f32_nan_inf_lossless_bits", nan_lossless)


# --- the stored words are re-read when a dataset's creation properties are reused --------------------------
def like():
    src = synth((300, 20), "i4")
    with h5py.File(path("like.h5"), "w") as f:
        a = f.create_dataset("a", data=src, chunks=(100, 10), compression=FILTER, compression_opts=(64, 8, 1, 1, 3))
        # h5py's create_dataset_like wants a filter name it knows: reuse the creation property list directly.
        dcpl = a.id.get_create_plist()
        dcpl.set_chunk((50, 20))
        space = h5py.h5s.create_simple(src.shape)
        b = h5py.Dataset(h5py.h5d.create(f.id, b"b", h5py.h5t.STD_I32LE, space, dcpl=dcpl))
        b[:] = src
        sb = b._filters[str(FILTER)]
        assert tuple(sb[3:5]) == (50, 20) and tuple(sb[6:11]) == (64, 8, 1, 1, 3), sb
        assert np.array_equal(b[:], src)


check("h5py:create_dataset_like", like)


# --- command-line tools of Debian's HDF5 1.10 on files written by h5py's HDF5 2.0 --------------------------
def run(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} -> {r.returncode}: {r.stderr[-800:]}")
    return r.stdout


def h5dump_values():
    small = (np.arange(7 * 5).reshape(7, 5) * 37 % 101 - 50).astype("i4")
    smallf = np.array([[0.5, -1.25, 3.0], [1e-3, 2.5, -7.0]], "f8")
    with h5py.File(path("dump.h5"), "w") as f:
        f.create_dataset("small", data=small, chunks=(3, 2), compression=FILTER)
        f.create_dataset("smallf", data=smallf, chunks=(1, 2), compression=FILTER)
    for name, want in (("small", small), ("smallf", smallf)):
        out = run("h5dump", "-d", f"/{name}", path("dump.h5"))
        body = out.split("DATA {", 1)[1]
        body = body.split("}", 1)[0]
        vals = [float(v) for line in body.splitlines() if "):" in line for v in line.split("):", 1)[1].split(",") if v.strip()]
        assert np.array_equal(np.array(vals), want.ravel().astype("f8")), f"{vals} != {want.ravel()}"
    out = run("h5dump", "-p", "-H", "-d", "/small", path("dump.h5"))
    assert "FILTER_ID 33000" in out and "daspack" in out, out


check("h5dump:values", h5dump_values)


def repack():
    raw, packed, back = path("raw.h5"), path("repacked.h5"), path("unpacked.h5")
    with h5py.File(raw, "w") as f:
        f["das_i16"] = synth((2000, 64), "i2")
        f["das_i32"] = synth((1500, 40), "i4", 1)
        f["das_f32"] = synth((1000, 30), "f4", 2)
        f.create_dataset("chunked_u16", data=synth((999, 17), "u2"), chunks=(100, 17))
        f["group/rank1"] = synth((5000,), "i4", 3)
        f["timestamps_i64"] = np.arange(2000, dtype="i8") * 1000  # unsupported: h5repack leaves it unfiltered
        f.attrs["note"] = "uncompressed"
    for fn in (packed, back):
        if os.path.exists(fn):
            os.remove(fn)
    run("h5repack", "-f", f"UD={FILTER},0,0", raw, packed)
    run("h5diff", raw, packed)
    assert os.path.getsize(packed) < os.path.getsize(raw) * 0.8, (os.path.getsize(packed), os.path.getsize(raw))
    with h5py.File(packed) as f:
        assert str(FILTER) in f["das_i16"]._filters and str(FILTER) in f["group/rank1"]._filters
        assert str(FILTER) not in f["timestamps_i64"]._filters
        with h5py.File(raw) as g:
            for k in ("das_i16", "das_i32", "das_f32", "chunked_u16", "group/rank1"):
                assert np.array_equal(f[k][:], g[k][:]), k
    # Explicit parameters through UD (cd_value_count then values), and back to no filter.
    run("h5repack", "-f", f"UD={FILTER},0,5,0,0,1,1,2", raw, path("repacked2.h5"))
    run("h5diff", raw, path("repacked2.h5"))
    run("h5repack", "-f", "NONE", packed, back)
    run("h5diff", raw, back)
    # Repacking a compressed file keeps the filter: set_local re-reads its stored words.
    run("h5repack", packed, path("recopied.h5"))
    run("h5diff", raw, path("recopied.h5"))


check("h5repack:h5diff", repack)


def c_file_in_h5py():
    fn = path("c_roundtrip.h5")
    if not os.path.exists(fn):
        raise AssertionError("c_roundtrip.h5 missing (the C test did not run)")
    with h5py.File(fn) as f:
        x = f["int32"][:]
        r, c = np.meshgrid(np.arange(300), np.arange(45), indexing="ij")
        want = np.trunc(1000.0 * np.sin(r * 0.05 + c * 0.3)).astype("i4") + (r * 7 + c * 13) % 11 - 5
        assert np.array_equal(x, want)


check("h5py:reads_file_written_by_c", c_file_in_h5py)

passed, failed = sum(results), len(results) - sum(results)
print(f"h5py suite: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
