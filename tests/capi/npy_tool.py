#!/usr/bin/env python3
"""Small helpers for tests/capi/run.sh (standard library only).

  npy_tool.py raw IN.npy OUT.raw          writes the data region; prints "DTYPE ROWS COLS" (1-D/2-D C-order arrays
                                          of the DAS types; 1-D arrays are N x 1), exit status 1 for anything else
  npy_tool.py within A.raw B.raw DTYPE E  exit status 0 when both hold the same number of DTYPE elements and every
                                          pair differs by at most E
  npy_tool.py flip IN OUT OFFSET          copies IN to OUT with the byte at OFFSET inverted (bits 0x55)
"""
import array
import ast
import struct
import sys

TYPES = {"<i2": "int16", "<u2": "uint16", "<i4": "int32", "<f4": "float32", "<f8": "float64"}
CODES = {"int16": "h", "uint16": "H", "int32": "i", "float32": "f", "float64": "d"}


def raw(src, dst):
    b = open(src, "rb").read()
    if b[:6] != b"\x93NUMPY":
        return 1
    n, start = (struct.unpack("<H", b[8:10])[0], 10) if b[6] == 1 else (struct.unpack("<I", b[8:12])[0], 12)
    h = ast.literal_eval(b[start:start + n].decode("latin1"))
    if h["descr"] not in TYPES or h["fortran_order"] or len(h["shape"]) not in (1, 2):
        return 1
    open(dst, "wb").write(b[start + n:])
    shape = list(h["shape"]) + [1]
    print(TYPES[h["descr"]], shape[0], shape[1])
    return 0


def within(a, b, dtype, bound):
    x = array.array(CODES[dtype], open(a, "rb").read())
    y = array.array(CODES[dtype], open(b, "rb").read())
    if len(x) != len(y):
        print(f"{len(x)} vs {len(y)} elements", file=sys.stderr)
        return 1
    worst = max((abs(p - q) for p, q in zip(x, y)), default=0)
    print(f"max abs error {worst} (bound {bound})")
    return 0 if worst <= float(bound) else 1


def flip(src, dst, offset):
    b = bytearray(open(src, "rb").read())
    b[int(offset)] ^= 0x55
    open(dst, "wb").write(b)
    return 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    sys.exit({"raw": raw, "within": within, "flip": flip}[cmd](*args))
