"""Throughput of daspack's Python binding (not a test): python tests/python/bench.py FILE.npy [--repeats R].

Prints MB/s (10^6 bytes of raw array per second) of compress_data and decompress_data, median (and best) of R,
and the ratio: the same measure as `daspack bench` (median).
"""

import argparse
import time

import numpy as np

import daspack


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--abs-error", type=float, default=0.0)
    a = ap.parse_args()
    x = np.load(a.file)
    tc, td = [], []
    for _ in range(a.repeats):
        t = time.perf_counter()
        p = daspack.compress_data(x, abs_error=a.abs_error, threads=a.threads)
        tc.append(time.perf_counter() - t)
        t = time.perf_counter()
        y = daspack.decompress_data(p, threads=a.threads)
        td.append(time.perf_counter() - t)
    if a.abs_error == 0:
        assert np.array_equal(x.reshape(y.shape), y)
    mb = x.nbytes / 1e6
    print(f"{a.file}: {x.dtype} {x.shape} {mb:.1f} MB, ratio {x.nbytes / p.nbytes:.3f}, "
          f"compress {mb / np.median(tc):.1f} MB/s (best {mb / min(tc):.1f}), "
          f"decompress {mb / np.median(td):.1f} MB/s (best {mb / min(td):.1f}), median of {a.repeats}")


if __name__ == "__main__":
    main()
