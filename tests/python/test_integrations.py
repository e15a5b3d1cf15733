"""numcodecs, zarr (v3 and v2 formats), dask.distributed and h5py with the daspack codec."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import daspack


def wave(rows, cols, dtype="int32", seed=0):
    r = np.random.default_rng(seed)
    t = np.arange(rows)[:, None]
    x = np.arange(cols)[None, :]
    a = 500 * np.sin(2 * np.pi * (t / 40.0 - x / 7.0)) + r.normal(0, 20, (rows, cols))
    return a.astype(dtype)


# --- numcodecs -------------------------------------------------------------------------------------------------


def test_numcodecs_round_trip():
    numcodecs = pytest.importorskip("numcodecs")
    from daspack.numcodecs import DASPack

    codec = numcodecs.get_codec({"id": "daspack"})
    assert isinstance(codec, DASPack)
    for dtype in ["int16", "uint16", "int32", "float32", "float64"]:
        a = wave(300, 17, dtype) if dtype != "uint16" else (wave(300, 17) + 5000).astype(dtype)
        enc = codec.encode(a)
        dec = codec.decode(enc)
        assert dec.dtype == a.dtype and np.array_equal(dec, a.reshape(-1))
        out = np.empty_like(a)
        codec.decode(bytes(enc), out=out)
        assert np.array_equal(out, a)
    # N-D chunk, config round trip, lossy
    c = DASPack(abs_error=0.5, block_height=64, lpc_order=4)
    cfg = c.get_config()
    assert cfg["id"] == "daspack" and cfg["abs_error"] == 0.5 and cfg["lpc_order"] == 4
    c2 = numcodecs.get_codec(dict(cfg))
    assert c2.get_config() == cfg
    a = wave(120, 10, "float32").reshape(3, 40, 10)
    dec = c2.decode(c2.encode(a)).reshape(a.shape)
    assert np.max(np.abs(dec - a)) <= 0.5
    with pytest.raises(ValueError):
        c.decode(b"garbage")
    with pytest.raises(TypeError):
        c.encode(np.zeros(10, dtype=np.int8))


def test_entry_points_without_importing_daspack(tmp_path):
    """numcodecs and zarr find the codec by name through the package's entry points."""
    import subprocess
    import sys

    code = (
        "import numcodecs\n"
        "c = numcodecs.get_codec({'id': 'daspack', 'abs_error': 0.5})\n"
        "assert type(c).__module__ == 'daspack.numcodecs', type(c)\n"
        "try:\n"
        "    from zarr.registry import get_codec_class\n"
        "except ImportError:\n"
        "    pass\n"
        "else:\n"
        "    assert get_codec_class('daspack').__name__ == 'DASPackCodec'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# --- zarr ------------------------------------------------------------------------------------------------------


def _zarr():
    zarr = pytest.importorskip("zarr")
    return zarr, int(zarr.__version__.split(".")[0])


def test_zarr_v3_serializer(tmp_path):
    zarr, major = _zarr()
    if major < 3:
        pytest.skip("zarr < 3")
    from daspack.zarr3 import DASPackCodec

    a = wave(1000, 37, "int32")
    path = str(tmp_path / "v3.zarr")
    z = zarr.create_array(store=path, shape=a.shape, chunks=(256, 16), dtype=a.dtype,
                          serializer=DASPackCodec(), compressors=None)
    z[:] = a
    z2 = zarr.open_array(path, mode="r")
    assert np.array_equal(z2[:], a)
    assert np.array_equal(z2[100:700, 3:30], a[100:700, 3:30])
    meta = z2.metadata.to_dict()
    assert any(c["name"] == "daspack" for c in meta["codecs"])
    # lossy float, 3-D chunks
    f = wave(400, 30, "float64").reshape(4, 100, 30)
    zf = zarr.create_array(store=str(tmp_path / "f.zarr"), shape=f.shape, chunks=(2, 64, 30), dtype=f.dtype,
                           serializer=DASPackCodec(abs_error=0.01, lpc_order=3), compressors=None)
    zf[:] = f
    back = zarr.open_array(str(tmp_path / "f.zarr"), mode="r")[:]
    assert np.max(np.abs(back - f)) <= 0.01
    assert DASPackCodec.from_dict(DASPackCodec(abs_error=0.01, lpc_order=3).to_dict()) == DASPackCodec(
        abs_error=0.01, lpc_order=3)
    # rejected at creation: unsupported dtype, bad parameters
    with pytest.raises(TypeError):
        zarr.create_array(store={}, shape=(10, 10), chunks=(5, 5), dtype="int8", serializer=DASPackCodec(),
                          compressors=None)
    with pytest.raises(ValueError):
        zarr.create_array(store={}, shape=(10, 10), chunks=(5, 5), dtype="int32",
                          serializer=DASPackCodec(lpc_order=99), compressors=None)
    with pytest.raises(TypeError):
        DASPackCodec(bogus=1)


def test_zarr_v2_compressor(tmp_path):
    zarr, major = _zarr()
    from daspack.numcodecs import DASPack

    a = wave(800, 21, "int16")
    path = str(tmp_path / "v2.zarr")
    if major >= 3:
        z = zarr.create_array(store=path, shape=a.shape, chunks=(300, 8), dtype=a.dtype, zarr_format=2,
                              compressors=DASPack())
    else:  # pragma: no cover
        z = zarr.open(path, mode="w", shape=a.shape, chunks=(300, 8), dtype=a.dtype, compressor=DASPack())
    z[:] = a
    z2 = zarr.open_array(path, mode="r")
    assert np.array_equal(z2[:], a)


# --- dask.distributed ------------------------------------------------------------------------------------------


def test_dask_distributed_zarr(tmp_path):
    zarr, major = _zarr()
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    from daspack.numcodecs import DASPack

    a = wave(2000, 48, "int32", seed=5)
    x = da.from_array(a, chunks=(500, 24))
    path = str(tmp_path / "dask.zarr")
    if major >= 3:
        from daspack.zarr3 import DASPackCodec

        z = zarr.create_array(store=path, shape=a.shape, chunks=(500, 24), dtype=a.dtype,
                              serializer=DASPackCodec(), compressors=None)
    else:  # pragma: no cover
        z = zarr.open(path, mode="w", shape=a.shape, chunks=(500, 24), dtype=a.dtype, compressor=DASPack())
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        da.store(x, z, lock=False, compute=True)
        back = da.from_zarr(path).compute()
        # the workers themselves coded the chunks: check one ran daspack
        assert all(client.run(lambda: __import__("daspack").get_filter() == 33000).values())
    assert np.array_equal(back, a)
    assert np.array_equal(zarr.open_array(path, mode="r")[:], a)


# --- HDF5: h5py in this process, the bundled plugin for other programs ---------------------------------------
# Not skipped when the plugin is missing: `pip install ./crates/python` must bundle and register it.


def test_plugin_bundled():
    d = daspack.plugin_path()
    assert d is not None, "the HDF5 plugin libh5daspack.so is not in the installed package (daspack/plugins/)"
    assert os.path.isfile(os.path.join(d, "libh5daspack.so"))
    assert d in os.environ["HDF5_PLUGIN_PATH"].split(os.pathsep)
    assert daspack.get_filter() == 33000


def test_h5py_plugin(tmp_path):
    import h5py

    assert h5py.h5z.filter_avail(33000), "import daspack did not register filter 33000 with h5py"
    assert daspack.register_hdf5_filter()
    a = wave(1000, 40, "int32")
    f32 = wave(1000, 40, "float32")
    with h5py.File(tmp_path / "t.h5", "w") as f:
        f.create_dataset("i", data=a, chunks=(250, 40), **daspack.h5_compression())
        f.create_dataset("f", data=f32, chunks=(500, 20), **daspack.h5_compression(abs_error=0.05))
    with h5py.File(tmp_path / "t.h5", "r") as f:
        assert "33000" in f["i"]._filters and "33000" in f["f"]._filters
        assert np.array_equal(f["i"][:], a)
        assert np.max(np.abs(f["f"][:] - f32)) <= 0.05
        assert f["i"].id.get_storage_size() < a.nbytes / 2


def clean_env(**extra):
    """This environment without HDF5_PLUGIN_PATH and daspack's switches, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HDF5_", "DASPACK_"))}
    env.update(extra)
    return env


def run_python(code, env, cwd):
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r.stdout


def write_h5(path):
    import h5py

    a = wave(600, 24, "int32", seed=3)
    with h5py.File(path, "w") as f:
        f.create_dataset("i", data=a, chunks=(200, 24), **daspack.h5_compression())
    return a


@pytest.mark.parametrize("h5py_first", [False, True])
def test_h5py_compiled_in_filter(tmp_path, h5py_first):
    """A fresh interpreter with no HDF5_PLUGIN_PATH at all: `import daspack` alone lets h5py write and read, in
    either import order (the compiled-in filter class, not the plugin file)."""
    imports = "import h5py, daspack" if h5py_first else "import daspack, h5py"
    code = f"""
import os
os.environ["HDF5_PLUGIN_PATH"] = "::"  # no plugin loading: only the registered class can serve
{imports}
import numpy as np
a = (np.arange(30000, dtype=np.int32).reshape(1000, 30) * 7) % 1000
with h5py.File("c.h5", "w") as f:
    f.create_dataset("x", data=a, chunks=(250, 30), **daspack.h5_compression())
with h5py.File("c.h5", "r") as f:
    assert "33000" in f["x"]._filters
    assert np.array_equal(f["x"][:], a)
print("ok")
"""
    env = clean_env(DASPACK_NO_HDF5_PLUGIN_PATH="1")
    assert run_python(code, env, tmp_path).strip() == "ok"


def test_plugin_path_serves_plain_h5py(tmp_path):
    """h5py without daspack reads a file written through the filter once HDF5_PLUGIN_PATH is daspack.plugin_path(),
    and cannot without it."""
    path = tmp_path / "w.h5"
    a = write_h5(path)
    np.save(tmp_path / "w.npy", a)
    code = """
import sys, h5py, numpy as np
with h5py.File("w.h5", "r") as f:
    ok = np.array_equal(f["i"][:], np.load("w.npy"))
assert "daspack" not in sys.modules
print("same" if ok else "different")
"""
    assert run_python(code, clean_env(HDF5_PLUGIN_PATH=daspack.plugin_path()), tmp_path).strip() == "same"
    (tmp_path / "empty").mkdir()
    r = subprocess.run([sys.executable, "-c", code], env=clean_env(HDF5_PLUGIN_PATH=str(tmp_path / "empty")),
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "plugin" in r.stderr + r.stdout


def test_h5dump_reads_with_plugin_path(tmp_path):
    """h5dump (Debian's HDF5, another library than h5py's) decodes the file through the bundled plugin."""
    h5dump = shutil.which("h5dump")
    if h5dump is None:
        if os.environ.get("DASPACK_REQUIRE_H5DUMP"):
            pytest.fail("h5dump not found (apt-get install hdf5-tools)")
        pytest.skip("h5dump not installed (apt-get install hdf5-tools)")
    path = tmp_path / "w.h5"
    a = write_h5(path)
    out = tmp_path / "i.bin"
    r = subprocess.run([h5dump, "-d", "/i", "-b", "LE", "-o", str(out), str(path)],
                       env=clean_env(HDF5_PLUGIN_PATH=daspack.plugin_path()), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert np.array_equal(np.fromfile(out, "<i4").reshape(a.shape), a)
