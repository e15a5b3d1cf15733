#!/usr/bin/env python3
"""Cross-checks daspack's Rust Bloscpack implementation (the `blp_tool` example) against the real Python
bloscpack 0.16 / python-blosc (c-blosc 1.x), in both directions.

Rust writes -> Python reads: every codec x checksum x shuffle x offsets, with varied typesizes, chunk sizes, levels,
metadata and forced block sizes; raw chunks through blosc.decompress; numpy-convention files through
unpack_ndarray_from_file; the blpk CLI (decompress, append).
Python writes -> Rust reads: random options (incl. several Blosc threads, which store blocks out of order), raw
chunks, pack_ndarray_to_file (C/F order, structured dtypes) rebuilt as .npy, files appended by Python and by Rust.

Prints one line per failure and a final summary `N passed, M failed`; exits 1 on any failure.
Usage: interop.py --tool PATH/blp_tool [--seed N] [--quick]
"""
import argparse
import collections
import collections.abc
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import traceback

if not hasattr(collections, "MutableMapping"):  # the venv's sitecustomize does this too
    collections.MutableMapping = collections.abc.MutableMapping

import blosc  # noqa: E402
import bloscpack as bp  # noqa: E402
from bloscpack.append import append as bp_append  # noqa: E402
import numpy as np  # noqa: E402

CODECS = ["blosclz", "lz4", "lz4hc", "zlib", "zstd"]
CHECKSUMS = ["None", "adler32", "crc32", "md5", "sha1", "sha224", "sha256", "sha384", "sha512"]
SHUFFLES = {"none": blosc.NOSHUFFLE, "byte": blosc.SHUFFLE, "bit": blosc.BITSHUFFLE}


class Ctx:
    def __init__(self, tool, workdir, seed):
        self.tool = tool
        self.work = workdir
        self.rng = random.Random(seed)
        self.passed = 0
        self.failed = 0
        self.n = 0

    def path(self, name):
        return os.path.join(self.work, name)

    def run_tool(self, *args):
        p = subprocess.run([self.tool, *map(str, args)], capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError("blp_tool %s failed: %s" % (" ".join(map(str, args)), p.stderr.strip()))
        return p.stdout

    def case(self, name, fn, *args):
        self.n += 1
        try:
            fn(self, *args)
            self.passed += 1
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
            self.failed += 1
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            print("FAIL %s: %s" % (name, detail[:2000]), flush=True)
        finally:
            for f in os.listdir(self.work):
                os.remove(os.path.join(self.work, f))


def make_data(rng, n, kind):
    """n bytes that look like array data of some kind."""
    if n == 0:
        return b""
    if kind == "noise":
        return rng.randbytes(n)
    if kind == "zeros":
        return bytes(n)
    count = n // 8 + 1
    if kind == "ramp":
        a = np.arange(count, dtype="<i8") * rng.randint(1, 5) + rng.randint(-1000, 1000)
    elif kind == "smooth":
        a = np.sin(np.linspace(0, rng.uniform(1, 50), count)).astype("<f8")
    else:  # "walk": small random steps, like sensor counts
        r = np.random.default_rng(rng.randrange(1 << 30))
        a = np.cumsum(r.integers(-3, 4, count)).astype("<i8")
    return a.tobytes()[:n]


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def check_equal(got, want, what):
    if got != want:
        pos = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        raise AssertionError("%s: %d bytes vs %d expected, first difference at %d" % (what, len(got), len(want), pos))


# ---------------------------------------------------------------- Rust writes, Python reads


def rust_to_python(ctx, opts, data, metadata=None, via_cli=False):
    src, blp = ctx.path("in.bin"), ctx.path("out.blp")
    write_bytes(src, data)
    args = ["write", src, blp]
    for k, v in opts.items():
        args += ["--" + k] if v is True else ["--" + k, v]
    if metadata is not None:
        args += ["--metadata", json.dumps(metadata)]
    ctx.run_tool(*args)
    if via_cli:
        out = ctx.path("dec.bin")
        p = subprocess.run([os.path.join(os.path.dirname(sys.executable), "blpk"), "-n", "1", "-f", "d", blp, out],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError("blpk d failed: " + p.stderr.strip())
        check_equal(read_bytes(out), data, "blpk d")
        return
    got, meta = bp.unpack_bytes_from_file(blp)
    check_equal(got, data, "unpack_bytes_from_file")
    if meta != metadata:
        raise AssertionError("metadata %r != %r" % (meta, metadata))


def rust_matrix(ctx, quick):
    sizes = [0, 1, 100, 127, 128, 129, 1000, 4099, 65536 + 13, 250_000, 1_100_000]
    kinds = ["ramp", "smooth", "walk", "noise", "zeros"]
    i = 0
    for codec in CODECS:
        for checksum in CHECKSUMS:
            for shuffle in SHUFFLES:
                for offsets in (True, False):
                    rng = random.Random(1000 + i)
                    i += 1
                    n = sizes[i % len(sizes)] if not quick else min(sizes[i % len(sizes)], 70_000)
                    typesize = [1, 2, 4, 8][i % 4]
                    clevel = rng.choice([1, 3, 5, 7, 9] if n < 300_000 else [1, 4, 7])
                    opts = {"codec": codec, "checksum": checksum, "shuffle": shuffle, "typesize": typesize,
                            "clevel": clevel}
                    if i % 3 == 0:
                        opts["chunk-size"] = rng.choice([1, 7, 1000, 4097, 65_521, 300_001])
                        if opts["chunk-size"] == 1 and n > 5000:
                            opts["chunk-size"] = 999
                    if not offsets:
                        opts["no-offsets"] = True
                    elif i % 4 == 0:
                        opts["max-app-chunks"] = rng.randint(0, 50)
                    meta = None
                    if i % 2 == 0:
                        meta = {"i": i, "codec": codec, "values": list(range(rng.randint(0, 80))), "s": "µ-ü"}
                        opts["meta-codec"] = rng.choice(["zlib", "none"])
                        opts["meta-checksum"] = rng.choice(CHECKSUMS)
                        opts["meta-level"] = rng.randint(0, 9)
                    data = make_data(rng, n, kinds[i % len(kinds)])
                    name = "rust->py %s" % " ".join("%s=%s" % kv for kv in sorted(opts.items())) + " n=%d" % n
                    ctx.case(name, rust_to_python, opts, data, meta)


def rust_special(ctx):
    rng = ctx.rng
    # Odd typesizes, forced block sizes (leftover blocks, split and unsplit), bitshuffle with element counts that
    # are not multiples of 8, clevel 0, the streaming writer and the blpk CLI.
    for typesize in [3, 5, 15, 16, 17, 32, 255]:
        for shuffle in SHUFFLES:
            opts = {"typesize": typesize, "shuffle": shuffle, "codec": rng.choice(CODECS), "clevel": 5}
            ctx.case("rust->py odd typesize %s" % opts, rust_to_python, opts, make_data(rng, 200_003, "walk"))
    for blocksize in [128, 1000, 4096, 4104, 65536, 100_000]:
        for codec in CODECS:
            for shuffle in SHUFFLES:
                opts = {"blocksize": blocksize, "codec": codec, "shuffle": shuffle,
                        "typesize": rng.choice([1, 2, 4, 8, 16]), "clevel": rng.randint(1, 9)}
                data = make_data(rng, rng.randint(1, 300_000), rng.choice(["walk", "smooth", "noise"]))
                ctx.case("rust->py blocksize %s n=%d" % (opts, len(data)), rust_to_python, opts, data)
    for codec in CODECS:
        opts = {"codec": codec, "clevel": 0, "checksum": "md5", "chunk-size": 10_000}
        ctx.case("rust->py clevel 0 %s" % codec, rust_to_python, opts, make_data(rng, 33_333, "ramp"))
        opts = {"codec": codec, "stream": True, "chunk-size": 333_333}
        ctx.case("rust->py stream %s" % codec, rust_to_python, opts, make_data(rng, 1_500_000, "walk"),
                 {"stream": True})
        opts = {"codec": codec, "chunk-size": 100_000, "shuffle": "bit", "typesize": 2}
        ctx.case("rust->blpk d %s" % codec, rust_to_python, opts, make_data(rng, 456_789, "smooth"), None, True)
    # Raw chunks: Rust encodes, python-blosc decodes.
    for k in range(60):
        def chunk_case(ctx, k=k):
            r = random.Random(5000 + k)
            data = make_data(r, r.choice([0, 1, 50, 128, 1000, 10_000, 123_457, 1 << 20]), r.choice(["walk", "noise", "smooth"]))
            src, out = ctx.path("c.bin"), ctx.path("c.blosc")
            write_bytes(src, data)
            args = ["chunk-encode", src, out, "--codec", r.choice(CODECS), "--clevel", r.randint(0, 9),
                    "--typesize", r.choice([1, 2, 4, 8, 3, 12]), "--shuffle", r.choice(list(SHUFFLES))]
            if r.random() < 0.5:
                args += ["--blocksize", r.choice([256, 1000, 8192, 40_000])]
            ctx.run_tool(*args)
            check_equal(blosc.decompress(read_bytes(out)), data, "blosc.decompress")
        ctx.case("rust chunk -> blosc.decompress #%d" % k, chunk_case)
    # numpy-convention metadata written by Rust, read by unpack_ndarray_from_file.
    for order in "CF":
        def np_case(ctx, order=order):
            a = np.asfortranarray(np.arange(3 * 4 * 5, dtype="<f4").reshape(3, 4, 5)) if order == "F" else \
                np.arange(1000, dtype="<i2").reshape(10, 100)
            raw = a.tobytes(order="A")
            meta = {"dtype": repr(a.dtype.str), "shape": list(a.shape), "order": order, "container": "numpy"}
            src, blp = ctx.path("a.bin"), ctx.path("a.blp")
            write_bytes(src, raw)
            ctx.run_tool("write", src, blp, "--typesize", a.itemsize, "--metadata", json.dumps(meta))
            b = bp.unpack_ndarray_from_file(blp)
            if not (b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b)
                    and np.isfortran(b) == (order == "F")):
                raise AssertionError("ndarray differs")
        ctx.case("rust numpy meta order %s" % order, np_case)
    # Python's blpk append on a Rust file, then both read it; Rust append on a Rust file, Python reads.
    for k in range(6):
        def append_case(ctx, k=k):
            r = random.Random(7000 + k)
            base = make_data(r, r.randint(1, 400_000), "walk")
            extra = make_data(r, r.randint(1, 900_000), "ramp")
            src, ext, blp = ctx.path("base.bin"), ctx.path("extra.bin"), ctx.path("f.blp")
            write_bytes(src, base)
            write_bytes(ext, extra)
            ctx.run_tool("write", src, blp, "--chunk-size", r.choice([50_000, 100_003, 1 << 20]),
                         "--checksum", r.choice(CHECKSUMS), "--metadata", '{"k": 1}', "--max-app-chunks", 100)
            if k % 2 == 0:
                p = subprocess.run([os.path.join(os.path.dirname(sys.executable), "blpk"), "-n", "1", "append",
                                    blp, ext], capture_output=True, text=True)
                if p.returncode != 0:
                    raise AssertionError("blpk append failed: " + p.stderr.strip())
            else:
                ctx.run_tool("append", blp, ext, "--codec", r.choice(CODECS))
            got, meta = bp.unpack_bytes_from_file(blp)
            check_equal(got, base + extra, "python after append")
            out = ctx.path("dec.bin")
            ctx.run_tool("read", blp, out)
            check_equal(read_bytes(out), base + extra, "rust after append")
        ctx.case("append #%d (%s)" % (k, "blpk" if k % 2 == 0 else "rust"), append_case)


# ---------------------------------------------------------------- Python writes, Rust reads


def python_to_rust(ctx, k):
    r = random.Random(20_000 + k)
    blosc.set_nthreads(r.choice([1, 1, 2, 4]))
    blosc.set_blocksize(r.choice([0, 0, 0, 256, 1000, 8192, 65536]))
    n = r.choice([0, 1, 99, 128, 1000, 31_337, 200_000, 1 << 20, 2_500_000])
    data = make_data(r, n, r.choice(["ramp", "walk", "smooth", "noise", "zeros"]))
    blosc_args = bp.BloscArgs(typesize=r.choice([1, 2, 4, 8, 16, 3, 17]), clevel=r.randint(0, 9),
                              shuffle=r.choice([0, 1, 2]), cname=r.choice(CODECS))
    bloscpack_args = bp.BloscpackArgs(offsets=r.random() < 0.8, checksum=r.choice(CHECKSUMS),
                                      max_app_chunks=r.choice([0, 3, 100]) if r.random() < 0.3
                                      else (lambda x: 10 * x))
    chunk_size = r.choice([1000, 7777, 65_536, 300_001, "1M", "256K"])
    meta, margs = None, None
    if r.random() < 0.5:
        meta = {"k": k, "vals": [r.random() for _ in range(r.randint(0, 40))], "name": "x" * r.randint(0, 100)}
        margs = bp.MetadataArgs(meta_checksum=r.choice(CHECKSUMS), meta_codec=r.choice(["zlib", "None"]),
                                meta_level=r.randint(0, 9))
    blp = ctx.path("py.blp")
    try:
        bp.pack_bytes_to_file(data, blp, chunk_size=chunk_size, metadata=meta, blosc_args=blosc_args,
                              bloscpack_args=bloscpack_args, metadata_args=margs)
    finally:
        blosc.set_nthreads(1)
        blosc.set_blocksize(0)
    out, mout = ctx.path("dec.bin"), ctx.path("meta.json")
    ctx.run_tool("read", blp, out, "--metadata-out", mout, *(["--stream"] if k % 3 == 0 else []))
    check_equal(read_bytes(out), data, "rust read")
    got_meta = json.loads(read_bytes(mout))
    if got_meta != meta:
        raise AssertionError("metadata %r != %r" % (got_meta, meta))
    info = json.loads(ctx.run_tool("info", blp))
    if info["data_size"] != len(data) or not all(c["checksum_ok"] for c in info["chunks"]):
        raise AssertionError("info disagrees: %r" % {k: info[k] for k in ("data_size", "nchunks")})


def python_chunks_to_rust(ctx, k):
    r = random.Random(30_000 + k)
    blosc.set_nthreads(r.choice([1, 4]))
    blosc.set_blocksize(r.choice([0, 256, 1000, 4096, 40_000]))
    try:
        data = make_data(r, r.choice([0, 5, 128, 1000, 77_777, 1 << 20]), r.choice(["walk", "noise", "smooth"]))
        chunk = blosc.compress(data, typesize=r.choice([1, 2, 4, 8, 3, 16, 24]), clevel=r.randint(0, 9),
                               shuffle=r.choice([0, 1, 2]), cname=r.choice(CODECS))
    finally:
        blosc.set_nthreads(1)
        blosc.set_blocksize(0)
    src, out = ctx.path("c.blosc"), ctx.path("c.bin")
    write_bytes(src, chunk)
    ctx.run_tool("chunk-decode", src, out)
    check_equal(read_bytes(out), data, "rust chunk-decode")


def python_ndarray_to_rust(ctx, k):
    r = np.random.default_rng(40_000 + k)
    arrays = [
        np.arange(131072, dtype="<i8"),
        np.linspace(0, 1, 100_003),
        np.asfortranarray(np.arange(60, dtype="<f4").reshape(3, 4, 5)),
        np.asfortranarray(r.normal(size=(300, 7))),
        r.integers(0, 1000, size=(17, 33, 5)).astype(">u2"),
        np.zeros(50, dtype=[("x", "<i4"), ("y", "<f8"), ("name", "S3")]),
        np.array([b"abc", b"de"] * 500, dtype="S3"),
        np.array(["µ", "xyz"] * 100, dtype="<U4"),
        np.zeros((0, 3), dtype="<f8"),
        np.array(3.5),
        (r.integers(0, 251, 70_000)).astype("<u2"),
        np.ones((2, 3), dtype=[("a", "<f8", (2,)), ("b", [("c", "<i2"), ("d", "u1")])]),
    ]
    a = arrays[k % len(arrays)]
    blp, npy, ref = ctx.path("a.blp"), ctx.path("a.npy"), ctx.path("ref.npy")
    shuffle = [0, 1, 2][k % 3]
    cname = CODECS[k % len(CODECS)]
    bp.pack_ndarray_to_file(a, blp, chunk_size=["1M", 10_000, "256K"][k % 3],
                            blosc_args=bp.BloscArgs(typesize=a.itemsize or 1, cname=cname, shuffle=shuffle))
    ctx.run_tool("npy", blp, npy)
    b = np.load(npy)
    if not (a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
            and (a.ndim < 2 or np.isfortran(a) == np.isfortran(b))):
        raise AssertionError("array differs: %r %r vs %r %r" % (a.dtype, a.shape, b.dtype, b.shape))
    np.save(ref, a)
    check_equal(read_bytes(npy), read_bytes(ref), ".npy bytes vs np.save")


def python_append_to_rust_read(ctx, k):
    r = random.Random(50_000 + k)
    base = make_data(r, r.randint(0, 500_000), "walk")
    extra = make_data(r, r.randint(1, 600_000), "smooth")
    blp, ext = ctx.path("p.blp"), ctx.path("e.bin")
    bp.pack_bytes_to_file(base, blp, chunk_size=r.choice([40_000, 100_000, "1M"]),
                          bloscpack_args=bp.BloscpackArgs(checksum=r.choice(CHECKSUMS), max_app_chunks=100))
    write_bytes(ext, extra)
    if k % 2 == 0:
        bp_append(blp, ext)
    else:
        ctx.run_tool("append", blp, ext)  # Rust appends to a Python file
    out = ctx.path("d.bin")
    ctx.run_tool("read", blp, out)
    check_equal(read_bytes(out), base + extra, "rust read after append")
    got, _ = bp.unpack_bytes_from_file(blp)
    check_equal(got, base + extra, "python read after append")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--quick", action="store_true", help="smaller inputs")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="blp-interop-")
    ctx = Ctx(os.path.abspath(a.tool), work, a.seed)
    blosc.set_nthreads(1)
    print("python-blosc %s (c-blosc %s), bloscpack %s, numpy %s" %
          (blosc.__version__, blosc.blosclib_version, bp.__version__, np.__version__), flush=True)
    try:
        rust_matrix(ctx, a.quick)
        rust_special(ctx)
        for k in range(150):
            ctx.case("py->rust pack_bytes #%d" % k, python_to_rust, k)
        for k in range(100):
            ctx.case("py chunk -> rust #%d" % k, python_chunks_to_rust, k)
        for k in range(24):
            ctx.case("py ndarray -> rust npy #%d" % k, python_ndarray_to_rust, k)
        for k in range(8):
            ctx.case("py file append (%s) -> rust #%d" % ("python" if k % 2 == 0 else "rust", k),
                     python_append_to_rust_read, k)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("bloscpack interop: %d passed, %d failed" % (ctx.passed, ctx.failed))
    print("%d passed, %d failed" % (ctx.passed, ctx.failed))
    return 1 if ctx.failed else 0


if __name__ == "__main__":
    sys.exit(main())
