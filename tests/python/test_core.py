"""compress_data / decompress_data: round trips, error bounds, shapes, bad input."""

import numpy as np
import pytest

import daspack
from conftest import corpus_files

FILES = corpus_files()
FLOAT_FILES = [f for f in FILES if np.load(f, mmap_mode="r").dtype.kind == "f"]


def synth(dtype, rows=600, cols=24, seed=1):
    r = np.random.default_rng(seed)
    t = np.arange(rows)[:, None]
    x = np.arange(cols)[None, :]
    wave = 800 * np.sin(2 * np.pi * (t / 50.0 - x / 9.0)) + r.normal(0, 30, (rows, cols))
    if np.dtype(dtype).kind == "u":
        wave = wave + 20000
    return wave.astype(dtype)


@pytest.mark.skipif(not FILES, reason="shared DAS corpus not present")
@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_corpus_lossless(path):
    a = np.load(path)
    packed = daspack.compress_data(a)
    assert packed.dtype == np.uint8 and packed.ndim == 1
    b = daspack.decompress_data(packed)
    assert b.dtype == a.dtype and b.shape == a.shape
    assert a.tobytes() == b.tobytes()  # bit-exact, floats included
    h = daspack.read_header(packed.tobytes())
    assert (h["rows"], h["cols"], h["dtype"]) == (a.shape[0], a.shape[1], a.dtype.name)


@pytest.mark.skipif(not FLOAT_FILES, reason="shared DAS corpus not present")
@pytest.mark.parametrize("path", FLOAT_FILES, ids=[f.name for f in FLOAT_FILES])
def test_corpus_error_bound(path):
    a = np.load(path)
    e = float(np.std(a.astype(np.float64))) / 100
    packed = daspack.compress_data(a, abs_error=e)
    b = daspack.decompress_data(packed)
    assert b.dtype == a.dtype and b.shape == a.shape
    err = np.max(np.abs(b.astype(np.float64) - a.astype(np.float64)))
    assert err <= e, (err, e)
    assert packed.nbytes < a.nbytes


@pytest.mark.parametrize("dtype", ["int16", "uint16", "int32", "float32", "float64"])
def test_dtypes_lossless(dtype):
    a = synth(dtype)
    b = daspack.decompress_data(daspack.compress_data(a))
    assert b.dtype == a.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", ["int16", "uint16", "int32", "float32", "float64"])
def test_dtypes_bounded(dtype):
    a = synth(dtype)
    b = daspack.decompress_data(daspack.compress_data(a, abs_error=3.0))
    assert np.max(np.abs(b.astype(np.float64) - a.astype(np.float64))) <= 3.0


def test_shapes_1d_nd_noncontiguous_bigendian():
    a = synth("int32", 480, 12)
    one = a[:, 0].copy()
    b = daspack.decompress_data(daspack.compress_data(one))
    assert b.shape == (480, 1) and np.array_equal(b[:, 0], one)
    assert np.array_equal(daspack.decompress_data(daspack.compress_data(one), shape=one.shape), one)
    three = a.reshape(4, 120, 12)
    p = daspack.compress_data(three)
    assert daspack.read_header(p)["shape"] == (480, 12)
    assert np.array_equal(daspack.decompress_data(p, shape=three.shape), three)
    view = a[::2, ::3]  # not contiguous
    assert np.array_equal(daspack.decompress_data(daspack.compress_data(view)), view)
    assert np.array_equal(daspack.decompress_data(daspack.compress_data(a.T)), a.T)
    big = a.astype(">i4")
    out = daspack.decompress_data(daspack.compress_data(big))
    assert out.dtype == np.dtype("int32") and np.array_equal(out, a)
    assert np.array_equal(daspack.compress_data(big), daspack.compress_data(a))
    f = synth("float64").astype(">f8")
    assert np.array_equal(daspack.decompress_data(daspack.compress_data(f)), f)


def test_params_and_threads_do_not_change_the_data():
    a = synth("int16", 1000, 40)
    ref = daspack.compress_data(a)
    for kw in [
        dict(threads=1),
        dict(threads=2),
        dict(block_height=128, block_width=16),
        dict(lx=1, lt=2),
        dict(lpc_order=0, lpc_space=0),
        dict(lpc_order=8, lpc_space=3),
    ]:
        p = daspack.compress_data(a, **kw)
        assert np.array_equal(daspack.decompress_data(p, threads=kw.get("threads", 0)), a), kw
    assert np.array_equal(daspack.compress_data(a, threads=1), ref)
    assert daspack.default_params()["lpc_order"] >= 0


def test_buffer_kinds():
    a = synth("int32")
    p = daspack.compress_data(a)
    for buf in (p, p.tobytes(), bytearray(p.tobytes()), memoryview(p.tobytes())):
        assert np.array_equal(daspack.decompress_data(buf), a)


@pytest.mark.parametrize(
    "bad",
    [
        np.array([["a", "b"]], dtype=object),
        np.zeros((10, 2), dtype=np.int8),
        np.zeros((10, 2), dtype=np.complex64),
        np.zeros((10, 2), dtype=np.int64),
        np.zeros((10, 2), dtype=np.float16),
        np.zeros((10, 2), dtype=bool),
        np.array(["x", "y"]),
    ],
    ids=["object", "int8", "complex", "int64", "float16", "bool", "str"],
)
def test_unsupported_dtype(bad):
    with pytest.raises(TypeError):
        daspack.compress_data(bad)


def test_bad_params():
    a = synth("int32", 100, 4)
    with pytest.raises(TypeError):
        daspack.compress_data(a, block_size=3)
    with pytest.raises(TypeError):
        daspack.compress_data(a, lx="2")
    for kw in [dict(lpc_order=99), dict(lpc_space=9), dict(lx=300), dict(block_height=-1), dict(abs_error=-1.0),
               dict(abs_error=float("nan")), dict(threads=-2)]:
        with pytest.raises(ValueError):
            daspack.compress_data(a, **kw)
    with pytest.raises(ValueError):
        daspack.compress_data(np.int32(3))  # 0-d


def test_nonfinite_with_bound():
    a = synth("float32", 100, 4)
    a[5, 2] = np.nan
    with pytest.raises(ValueError):
        daspack.compress_data(a, abs_error=0.1)
    b = daspack.decompress_data(daspack.compress_data(a))  # lossless keeps NaN bits
    assert a.tobytes() == b.tobytes()


def test_corrupt_streams():
    a = synth("int32", 300, 8)
    p = daspack.compress_data(a).tobytes()
    with pytest.raises(ValueError):
        daspack.decompress_data(b"not a daspack stream at all")
    with pytest.raises(ValueError):
        daspack.decompress_data(b"")
    for n in (4, 20, len(p) // 2, len(p) - 1):
        with pytest.raises(ValueError):
            daspack.decompress_data(p[:n])
    r = np.random.default_rng(3)
    for _ in range(200):  # byte flips: an error or (for a flip the checksums cannot see) some array, never a crash
        q = bytearray(p)
        i = int(r.integers(len(q)))
        q[i] ^= 1 << int(r.integers(8))
        try:
            daspack.decompress_data(bytes(q))
        except ValueError:
            pass
    assert issubclass(daspack.DASPackError, ValueError)


def test_wrong_shape():
    a = synth("int32", 100, 4)
    p = daspack.compress_data(a)
    with pytest.raises(ValueError):
        daspack.decompress_data(p, shape=(99, 4))
    with pytest.raises(ValueError):
        daspack.decompress_data(p, shape=(401,))
    assert daspack.decompress_data(p, shape=(400,)).shape == (400,)
    assert daspack.decompress_data(p, shape=400).shape == (400,)


def test_h5_compression_words():
    assert daspack.get_filter() == 33000
    d = daspack.h5_compression()
    assert d["compression"] == 33000 and len(d["compression_opts"]) == 6
    d = daspack.h5_compression(abs_error=0.5, block_height=256, block_width=64, lx=1, lt=2, lpc_order=3)
    w = d["compression_opts"]
    assert w[:6] == (256, 64, 1, 2, 3, 0) and len(w) == 8
    assert np.array([w[6], w[7]], dtype="<u4").view("<f8")[0] == 0.5
    with pytest.raises(ValueError):
        daspack.h5_compression(abs_error=-1)


def test_threads_concurrently():
    """The GIL is released while coding: Python threads run the codec side by side, with identical results."""
    from concurrent.futures import ThreadPoolExecutor

    arrays = [synth("int32", 2000, 32, seed=s) for s in range(6)]
    serial = [daspack.compress_data(a, threads=1) for a in arrays]
    with ThreadPoolExecutor(3) as ex:
        par = list(ex.map(lambda a: daspack.compress_data(a, threads=1), arrays))
        back = list(ex.map(daspack.decompress_data, par))
    for s, p, b, a in zip(serial, par, back, arrays):
        assert np.array_equal(s, p) and np.array_equal(a, b)


def test_release_buffers_then_the_same_streams():
    a = synth(np.int32, rows=2000, cols=300, seed=5)
    first = daspack.compress_data(a, threads=2)
    daspack.release_buffers()
    again = daspack.compress_data(a, threads=2)
    assert bytes(first) == bytes(again)
    daspack.release_buffers()
    assert np.array_equal(daspack.decompress_data(again, threads=2), a)
