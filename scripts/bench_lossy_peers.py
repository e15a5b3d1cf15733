"""SZ3 (pysz) and ZFP (zfpy) in fixed-accuracy mode on the float files, with E = std/100 as daspack's --rel-error 0.01.

Usage: bench_lossy_peers.py DATA_DIR OUT.json. Ratios only (each checked against the bound)."""
import glob, json, os, sys
import numpy as np
import zfpy
from pysz import sz, szConfig, szErrorBoundMode

out = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*f[36][24]*.npy"))):
    a = np.ascontiguousarray(np.load(path))
    e = float(np.std(a.astype(np.float64))) / 100.0
    row = {"file": os.path.basename(path), "abs_error": e, "bytes": a.nbytes}
    z = zfpy.compress_numpy(a, tolerance=e)
    zb = zfpy.decompress_numpy(z)
    row["zfp"] = {"ratio": a.nbytes / len(z), "max_abs_error": float(np.max(np.abs(zb.astype(np.float64) - a)))}
    try:
        cfg = szConfig()
        cfg.errorBoundMode = szErrorBoundMode.ABS
        cfg.absErrorBound = e
        c, ratio = sz.compress(a, cfg)
        b, _ = sz.decompress(c, a.dtype, a.shape)
        row["sz3"] = {"ratio": a.nbytes / len(c), "max_abs_error": float(np.max(np.abs(b.astype(np.float64) - a)))}
    except Exception as exc:  # report, do not hide
        row["sz3"] = {"error": f"{type(exc).__name__}: {exc}"}
    out.append(row)
    print(row, file=sys.stderr)
json.dump(out, open(sys.argv[2], "w"), indent=1)
