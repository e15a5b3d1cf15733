"""HDF5 file sizes on the corpus, chunks of 1024 time samples x all channels: daspack's filter 33000 (lossless)
beside hdf5plugin's Blosc2 (zstd, bitshuffle) and gzip-6+shuffle, each file read back and checked bit-exact.

Usage: bench_hdf5.py DATA_DIR PLUGIN_DIR OUT.json (PLUGIN_DIR holds libh5daspack.so; set before h5py loads)."""
import glob, json, os, sys, tempfile
os.environ["HDF5_PLUGIN_PATH"] = sys.argv[2]
import numpy as np, h5py, hdf5plugin

rows = []
tmp = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.npy"))):
    a = np.load(path)
    chunks = (min(1024, a.shape[0]), a.shape[1])
    row = {"file": os.path.basename(path), "bytes": a.nbytes}
    for name, kw in [
        ("daspack", dict(compression=33000, compression_opts=(0, 0, 0, 0, 2, 0))),
        ("blosc2_zstd_bitshuffle", dict(**hdf5plugin.Blosc2(cname="zstd", clevel=5, filters=hdf5plugin.Blosc2.BITSHUFFLE))),
        ("gzip6_shuffle", dict(compression="gzip", compression_opts=6, shuffle=True)),
    ]:
        fn = os.path.join(tmp, f"{name}.h5")
        with h5py.File(fn, "w") as f:
            f.create_dataset("x", data=a, chunks=chunks, **kw)
        with h5py.File(fn) as f:
            b = f["x"][:]
        assert b.tobytes() == a.tobytes(), f"{name} not bit-exact on {path}"
        row[name] = os.path.getsize(fn)
        os.remove(fn)
    rows.append(row)
    print(row, file=sys.stderr)
json.dump(rows, open(sys.argv[3], "w"), indent=1)
