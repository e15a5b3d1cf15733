#!/usr/bin/env python3
"""Speed of the Python binding beside the Rust CLI, in the same run, on the same 100 MB int32 array.

    target/test-venv/bin/python scripts/bench_python.py [--repeats 5] [--cli target/release/daspack] [--no-write]

The array is the AP Sensing recording (``$DASPACK_SHARED/data/das/apsensing_int32_150x4082.npy``) tiled 41x in
time with ``np.tile``: 6150 x 4082 int32, 100.4 MB. For threads=1 and threads=0 (all cores) it times
``daspack.compress_data`` / ``daspack.decompress_data`` (median of ``--repeats`` runs; MB = 1e6 bytes of original
array per second) and runs ``daspack bench --threads T --repeat-time 41 --json ...`` on the same file, which times
the codec in memory the same way (median of as many runs). ``--rounds`` alternations of the two (default 3), each
side keeping its best round, even out the load of a shared machine. Prints a table and, unless ``--no-write``, replaces the
section between ``<!-- bench_python:begin -->`` and ``<!-- bench_python:end -->`` in docs/benchmarks.md (appended
when absent). Exits 0 with a message when the file is absent.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import daspack

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DASPACK_SHARED", ROOT.parent / "shared"))
FILE = SHARED / "data" / "das" / "apsensing_int32_150x4082.npy"
TILES = 41
BEGIN, END = "<!-- bench_python:begin -->", "<!-- bench_python:end -->"


def median(v):
    return float(np.median(v))


def time_python(x, threads, repeats):
    """(compress MB/s, decompress MB/s, compressed bytes): medians of `repeats` runs, as `daspack bench` does."""
    tc, td = [], []
    packed = None
    for _ in range(repeats):
        t = time.perf_counter()
        packed = daspack.compress_data(x, threads=threads)
        tc.append(time.perf_counter() - t)
    back = None
    for _ in range(repeats):
        t = time.perf_counter()
        back = daspack.decompress_data(packed, threads=threads)
        td.append(time.perf_counter() - t)
    if not np.array_equal(back, x):
        raise SystemExit("bench_python: the Python round trip is not exact")
    mb = x.nbytes / 1e6
    return mb / median(tc), mb / median(td), packed.nbytes


def time_cli(cli, threads, repeats):
    """(compress MB/s, decompress MB/s, compressed bytes) from `daspack bench --json`."""
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "bench.json"
        cmd = [str(cli), "bench", "--threads", str(threads), "--repeats", str(repeats), "--repeat-time", str(TILES),
               "--no-baseline", "--json", str(out), str(FILE)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        row = json.loads(out.read_text())[0]
    return row["compress_mb_s"], row["decompress_mb_s"], row["compressed"]


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="runs per measurement (the median is kept)")
    ap.add_argument("--rounds", type=int, default=3, help="alternations of CLI and Python (the best is kept)")
    ap.add_argument("--cli", type=Path, default=ROOT / "target" / "release" / "daspack",
                    help="the daspack CLI (cargo build --release -p daspack-cli)")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    a = ap.parse_args()

    if not FILE.is_file():
        print(f"bench_python: {FILE} not found: skipped")
        return 0
    if not a.cli.is_file():
        print(f"bench_python: no CLI at {a.cli} (cargo build --release -p daspack-cli): skipped", file=sys.stderr)
        return 1
    x = np.tile(np.load(FILE), (TILES, 1))
    assert x.dtype == np.int32 and x.flags.c_contiguous
    mb = x.nbytes / 1e6
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{FILE.name} x{TILES}: {x.shape[0]} x {x.shape[1]} {x.dtype}, {mb:.1f} MB; median of {a.repeats}, "
          f"best of {a.rounds} rounds; {os.cpu_count()} CPUs, load {load:.1f}")

    # Rounds alternate the CLI and Python, so that a change of load on a shared machine hits both; each side keeps
    # its best round (every figure is still a median of `repeats` runs).
    best = {}
    for r in range(a.rounds):
        for threads in (1, 0):
            cc, cd, cn = time_cli(a.cli, threads, a.repeats)
            pc, pd, pn = time_python(x, threads, a.repeats)
            if cn != pn:
                raise SystemExit(f"bench_python: CLI and Python streams differ in size ({cn} vs {pn})")
            for key, v in {("py", threads, "c"): pc, ("py", threads, "d"): pd, ("cli", threads, "c"): cc,
                           ("cli", threads, "d"): cd}.items():
                best[key] = max(best.get(key, 0.0), v)
            print(f"round {r + 1}, threads={threads}: compress py {pc:.1f} cli {cc:.1f}, "
                  f"decompress py {pd:.1f} cli {cd:.1f} MB/s", flush=True)
            ratio = x.nbytes / pn
    rows = []
    for threads in (1, 0):
        label = "1" if threads == 1 else f"all ({os.cpu_count()})"
        rows.append((label, "compress", best["py", threads, "c"], best["cli", threads, "c"]))
        rows.append((label, "decompress", best["py", threads, "d"], best["cli", threads, "d"]))

    table = ["| threads | operation | Python MB/s | CLI MB/s | Python / CLI |", "|---|---|---:|---:|---:|"]
    for label, op, p, c in rows:
        table.append(f"| {label} | {op} | {p:.1f} | {c:.1f} | {p / c:.2f} |")
    print("\n".join(table))
    print(f"ratio {ratio:.3f}")

    if a.no_write:
        return 0
    section = [
        BEGIN,
        "## Python binding beside the CLI (written by scripts/bench_python.py)",
        "",
        f"`daspack.compress_data` / `daspack.decompress_data` on the AP Sensing file tiled {TILES}x in time "
        f"(`np.tile`, {x.shape[0]} x {x.shape[1]} int32, {mb:.1f} MB, lossless, ratio {ratio:.3f}), beside "
        f"`daspack bench --threads T --repeat-time {TILES}` on the same file in the same run: median of "
        f"{a.repeats} runs, best of {a.rounds} rounds alternating CLI and Python, MB = 1e6 bytes of original array "
        "per second.",
        "",
        *table,
        "",
        f"{datetime.date.today().isoformat()}, {cpu_model()}, {os.cpu_count()} CPUs (load average {load:.1f} at the "
        f"start), Python {platform.python_version()}, numpy {np.__version__}, daspack {daspack.__version__}."
        + (" The machine was shared with other jobs (load above its CPU count): both columns were measured under the "
           "same load, and ratios within about 10% either way are noise." if load > (os.cpu_count() or 1) else ""),
        END,
    ]
    old = a.doc.read_text() if a.doc.exists() else ""
    text = "\n".join(section)
    if BEGIN in old and END in old:
        new = old[: old.index(BEGIN)] + text + old[old.index(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    a.doc.write_text(new)
    print(f"wrote the Python section of {a.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
