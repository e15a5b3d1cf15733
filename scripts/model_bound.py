#!/usr/bin/env python3
"""How far the lossless stream of the integer-like float files is from what a Gaussian model could reach.

For each of the corpus' three float files that hold integer counts, this prints the bits per sample an ideal coder
would spend (no side information at all, no coding loss) under ever richer models of the counts, beside the
daspack stream and the size issue 8 asks for (10 % above pcodec level 8, from PEERS.md). The models are
linear-Gaussian: a per-channel least-squares predictor along time, a regression on the channels coded before at the
same sample, and a scale that follows the residuals. Richer variants that did not pay on these files are printed too,
so that the bound is not an artefact of one modelling choice.

    python3 scripts/model_bound.py [--daspack target/release/daspack] [../shared/data/das]

Needs numpy only. Takes about a minute; not part of the tests.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

# file -> how its floats become integers (each verified exact on the file by the codec; here only the counts matter)
FILES = {
    "porotomo_silixa_gdr_f32int_10000x10.npy": None,  # exact integers
    "optodas_decimated_f32_5000x51.npy": np.float32(2.0053869676e-09),
    "sentek_f32_18337x31.npy": np.float32(0.5568849),  # 74 % exact; the rest round to the same counts
}
ORDER = 16  # predictor order of the ladder; the richest model is also shown with ORDER_HIGH
ORDER_HIGH = 32
NEIGHBOURS = 32  # earlier channels a channel is regressed on (the codec's limit)


def counts(path, scale):
    x = np.load(path)
    k = x.astype(np.float64) if scale is None else np.rint(x.astype(np.float64) / float(scale))
    return k


def lpc_residuals(x, order):
    """Per-channel least-squares prediction over lags 1..order with an intercept, fitted on the whole array."""
    rows, chans = x.shape
    res = np.empty((rows - order, chans))
    for c in range(chans):
        v = x[:, c]
        lags = np.column_stack([v[order - i:rows - i] for i in range(1, order + 1)] + [np.ones(rows - order)])
        coef, *_ = np.linalg.lstsq(lags, v[order:], rcond=None)
        res[:, c] = v[order:] - lags @ coef
    return res


def ew_variance(e, alpha):
    """Causal exponentially weighted mean of e^2 (the value used at row t has seen rows < t)."""
    out = np.empty_like(e)
    v = e[:64].var(axis=0) + 1e-9
    for t in range(len(e)):
        out[t] = v
        v = alpha * v + (1 - alpha) * e[t] ** 2
    return out


def gaussian_bits(e, var):
    """Mean -log2 of a Gaussian density at e: the cost of integers under a Gaussian whose scale is >> 1."""
    return float(np.mean(0.5 * np.log2(2 * np.pi * var) + e * e / (2 * var) / np.log(2)))


def generalised_gaussian_bits(e, var, beta):
    """Same for a generalised Gaussian of shape beta and the given variance (beta = 2: Gaussian)."""
    from math import lgamma

    alpha = np.sqrt(var) * np.exp(0.5 * (lgamma(1 / beta) - lgamma(3 / beta)))
    logp = np.log(beta) - np.log(2 * alpha) - lgamma(1 / beta) - (np.abs(e) / alpha) ** beta
    return float(-np.mean(logp) / np.log(2))


def static_cross(r):
    """Regress each channel's residual on those of the up to NEIGHBOURS channels before it (whole array)."""
    e = r.copy()
    for c in range(1, r.shape[1]):
        lo = max(0, c - NEIGHBOURS)
        w, *_ = np.linalg.lstsq(r[:, lo:c], r[:, c], rcond=None)
        e[:, c] = r[:, c] - r[:, lo:c] @ w
    return e


def adaptive_cross(z, forget, refit=32, warmup=256):
    """Backward-adaptive regression on earlier channels: weights refitted every `refit` rows from an exponentially
    forgotten covariance of the rows already seen (what a decoder could do with no side information)."""
    rows, chans = z.shape
    e = z.copy()
    cov = np.zeros((chans, chans))
    for t0 in range(0, rows, refit):
        block = slice(t0, min(rows, t0 + refit))
        if t0 >= warmup:
            for c in range(1, chans):
                lo = max(0, c - NEIGHBOURS)
                a = cov[lo:c, lo:c]
                a = a + np.eye(c - lo) * 1e-3 * np.trace(a) / (c - lo)
                w = np.linalg.solve(a, cov[lo:c, c])
                e[block, c] = z[block, c] - z[block, lo:c] @ w
        zb = z[block]
        cov = forget ** (block.stop - block.start) * cov + (1 - forget) * zb.T @ zb
    return e


def richest(r):
    """Regression in the scale-normalised domain with backward-adaptive weights, and a scale mixing a fast and a slow
    average (log-linear). Each part was tried on its own too; this is their best combination. Returns the bits per
    sample, the residuals, their variance and the forgetting factor."""
    sd = np.sqrt(ew_variance(r, 0.96))
    best = None
    for forget in (0.995, 0.998, 0.999):
        e = adaptive_cross(r / sd, forget) * sd
        fast, slow = ew_variance(e, 0.9), ew_variance(e, 0.99)
        for wf in (0.3, 0.5):
            var = np.exp(wf * np.log(fast) + (1 - wf) * np.log(slow))
            bits = gaussian_bits(e, var)
            if best is None or bits < best[0]:
                best = (bits, e, var, forget)
    return best


def bound_ladder(x):
    """(label, bits/sample) from the plainest model to the richest."""
    out = []
    centred = x - x.mean(axis=0)
    out.append(("no prediction, one variance per channel", gaussian_bits(centred, centred.var(axis=0))))
    r = lpc_residuals(x, ORDER)
    out.append((f"+ order-{ORDER} prediction along time", gaussian_bits(r, r.var(axis=0))))
    e = static_cross(r)
    out.append(("+ regression on earlier channels (fixed weights)", gaussian_bits(e, e.var(axis=0))))
    best_alpha = min((0.9, 0.95, 0.96, 0.98, 0.99), key=lambda a: gaussian_bits(e, ew_variance(e, a)))
    out.append((f"+ scale following the residuals (EW, alpha {best_alpha})", gaussian_bits(e, ew_variance(e, best_alpha))))
    bits, e2, var, forget = richest(r)
    out.append((f"+ adaptive weights on scale-normalised residuals (forget {forget}), mixed scale", bits))
    shapes = {beta: generalised_gaussian_bits(e2, var, beta) for beta in (1.6, 1.8, 2.0, 2.2, 2.5)}
    beta = min(shapes, key=shapes.get)
    out.append((f"  same, best generalised-Gaussian shape (beta {beta})", shapes[beta]))
    # Longer predictors lower the ideal cost a little, but a coder must then send (or learn) twice the coefficients.
    out.append((f"  same, order-{ORDER_HIGH} prediction (Gaussian)", richest(lpc_residuals(x, ORDER_HIGH))[0]))
    return out


def pcodec_ratio(peers_md, name):
    for line in open(peers_md):
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 5 and cells[1] == name:
            return float(cells[5])
    return None


def daspack_bytes(binary, path):
    with tempfile.TemporaryDirectory() as tmp:
        js = os.path.join(tmp, "b.json")
        subprocess.run([binary, "bench", "--threads", "1", "--repeats", "1", "--json", js, path], check=True,
                       stdout=subprocess.DEVNULL)
        return json.load(open(js))[0]["compressed"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="?", default=os.path.join(here, "..", "..", "shared", "data", "das"))
    ap.add_argument("--daspack", default=os.path.join(here, "..", "target", "release", "daspack"))
    args = ap.parse_args()
    peers_md = os.path.join(args.data, "..", "..", "docs", "PEERS.md")
    for name, scale in FILES.items():
        path = os.path.join(args.data, name)
        if not os.path.exists(path):
            print(f"{name}: not found, skipped", file=sys.stderr)
            continue
        x = counts(path, scale)
        n = x.size
        print(f"\n### {name} ({x.shape[0]} x {x.shape[1]}, {n * np.load(path, mmap_mode='r').itemsize} bytes)\n")
        print("| model (ideal coder, no side information) | bits/sample | bytes |")
        print("|---|---:|---:|")
        for label, bits in bound_ladder(x):
            print(f"| {label} | {bits:.3f} | {bits * n / 8:.0f} |")
        orig = n * np.load(path, mmap_mode="r").itemsize
        ratio = pcodec_ratio(peers_md, name) if os.path.exists(peers_md) else None
        if ratio:
            target = orig / (1.10 * ratio)
            print(f"| **target: 1.10 x pcodec-8 ({ratio:.3f})** | {8 * target / n:.3f} | {target:.0f} |")
        if os.access(args.daspack, os.X_OK):
            got = daspack_bytes(args.daspack, path)
            print(f"| **daspack stream (everything included)** | {8 * got / n:.3f} | {got} |")


if __name__ == "__main__":
    main()
