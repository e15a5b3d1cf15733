"""Writes docs/benchmarks.md from the JSON files of scripts/bench.sh (all measured in the same run)."""
import json, os, re, sys, math, platform, datetime

d, out = sys.argv[1], sys.argv[2]
load = lambda n: json.load(open(os.path.join(d, n)))
ours = {r["file"]: r for r in load("ours_lossless.json")}
fixed = {r["file"]: r for r in load("ours_fixed.json")}
peers = load("peers_lossless.json")
lossy = {r["file"]: r for r in load("lossy_peers.json")}
best = {}
for r in peers["results"]:
    if r.get("status") != "ok":
        continue
    f = os.path.basename(r["file"])
    best.setdefault(f, {})[r["codec"]] = r

L = []
w = L.append
w("# Benchmarks")
w("")
w(f"Measured by `bash scripts/bench.sh` on {datetime.date.today()} on this project's build machine ({os.cpu_count()} cores, "
  f"{platform.machine()}), release build. MB = 1e6 bytes of original data; speeds are medians of several in-memory runs "
  f"(`daspack bench`: {'/'.join(str(n) for n in sorted({r['repeats'] for r in ours.values()}))}; peers.py: 3). Every daspack decode is checked bit-exact (lossless) or against the bound. "
  "Peers were measured in the same run with `../shared/bench/peers.py`.")
if os.environ.get("BENCH_NOTE"):
    w("")
    w("**Note on this run:** " + os.environ["BENCH_NOTE"])
w("")
w("## Lossless ratio on the real DAS corpus (one thread)")
w("")
w("| file | dtype | daspack | comp MB/s | dec MB/s | best peer | best peer ratio | ours / best | pcodec-8 | flac-8 | upstream alpha | zstd-3+shuffle |")
w("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
logs = {"int": [], "float": []}
for f in sorted(ours):
    o = ours[f]
    p = best.get(f, {})
    cands = {k: v["ratio"] for k, v in p.items()}
    bname, bratio = max(cands.items(), key=lambda kv: kv[1]) if cands else ("-", float("nan"))
    rel = o["ratio"] / bratio if cands else float("nan")
    kind = "float" if o["dtype"].startswith("float") else "int"
    if cands:
        logs[kind].append(math.log(rel))
    g = lambda n: f"{cands[n]:.3f}" if n in cands else "n/a"
    pc = max([cands[k] for k in cands if k.startswith("pcodec")], default=None)
    w(f"| {f} | {o['dtype']} | **{o['ratio']:.3f}** | {o['compress_mb_s']:.1f} | {o['decompress_mb_s']:.1f} | {bname} | {bratio:.3f} | "
      f"{rel:.3f} | {pc if pc is None else f'{pc:.3f}'} | {g('flac-8')} | {g('daspack-t1')} | {g('zstd-3-shuffle')} |")
w("")
for kind, v in logs.items():
    if v:
        w(f"- geometric mean of ours / best peer, {kind} files: **{math.exp(sum(v) / len(v)):.4f}** ({len(v)} files)")
ints = [o for o in ours.values() if not o["dtype"].startswith("float")]
floats = {f: o for f, o in ours.items() if o["dtype"].startswith("float")}
if ints and floats:
    def median(xs):
        xs = sorted(xs)
        return (xs[(len(xs) - 1) // 2] + xs[len(xs) // 2]) / 2
    mc = median([o["compress_mb_s"] for o in ints])
    md = median([o["decompress_mb_s"] for o in ints])
    w(f"- lossless floats against the integer path (the median of the {len(ints)} integer files above: compress "
      f"{mc:.1f} MB/s, decompress {md:.1f} MB/s), float file speed / that median, compress and decompress:")
    for f, o in sorted(floats.items()):
        w(f"  - {f}: {o['compress_mb_s'] / mc:.2f} and {o['decompress_mb_s'] / md:.2f}")
w("")
if os.path.exists(os.path.join(d, "model_bound.md")):
    w("## Integer-like float files beside a Gaussian model's bound")
    w("")
    w("What an ideal coder would spend on the counts of these files (no side information, no coding loss) under ever "
      "richer linear-Gaussian models, beside the daspack stream and 10 % above pcodec level 8's ratio, from "
      "`scripts/model_bound.py` (the weights and predictors of these models are fitted on the whole array, as an "
      "encoder would, but cost nothing here).")
    w(open(os.path.join(d, "model_bound.md")).read().rstrip())
    w("")
w("## Fixed accuracy, E = std / 100 (one thread)")
w("")
w("| file | E | daspack ratio | max error | SZ3 ratio | ZFP ratio |")
w("|---|---:|---:|---:|---:|---:|")
for f in sorted(fixed):
    o, l = fixed[f], lossy.get(f, {})
    sz3 = l.get("sz3", {}).get("ratio")
    zfp = l.get("zfp", {}).get("ratio")
    w(f"| {f} | {o['abs_error']:.4g} | **{o['ratio']:.3f}** | {o['max_abs_error']:.4g} | "
      f"{'n/a' if sz3 is None else f'{sz3:.3f}'} | {'n/a' if zfp is None else f'{zfp:.3f}'} |")
w("")
def variant_section(title, intro, runs, label):
    """A table of `runs` (daspack bench rows coded another way) beside the default coding of the same files."""
    w(title)
    w("")
    w(intro)
    w("")
    w(f"| file | default ratio | {label} | bytes change | default comp / dec MB/s | {label} comp / dec MB/s | best peer ratio |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for o in sorted(runs, key=lambda r: r["file"]):
        f, base = o["file"], ours[o["file"]]
        pr = max((r["ratio"] for r in best.get(f, {}).values()), default=None)
        w(f"| {f} | {base['ratio']:.3f} | **{o['ratio']:.3f}** | {100 * (o['compressed'] / base['compressed'] - 1):+.1f} % | "
          f"{base['compress_mb_s']:.1f} / {base['decompress_mb_s']:.1f} | {o['compress_mb_s']:.1f} / {o['decompress_mb_s']:.1f} | "
          f"{'n/a' if pr is None else f'{pr:.3f}'} |")
    w("")


variant_section("## Wide integer arrays coded by columns (opt-in: `--columns on --block-width 256`, one thread)",
                "Tile method 4 (each channel predicted along time, then from the channels before it) in tiles of 256 "
                "channels, beside the default 2-D coding of the same run. Not chosen automatically: it trades speed for "
                "ratio.", load("ours_columns_wide.json"), "by columns")
if os.path.exists(os.path.join(d, "ours_small_tiles.json")):
    variant_section("## Narrow arrays in tiles of 1024 rows (`--block-height 1024`, one thread)",
                    "Small tiles, as an HDF5 file's chunks of 1024 rows make them (their sizes beside Blosc2 and gzip are "
                    "in the HDF5 section below), beside the default tiles of the same run: the entropy tables, 4-byte "
                    "laws where that is smaller (stream version 5), and the predictor fits weigh more in them. The best "
                    "peer's ratio is on the whole file.", load("ours_small_tiles.json"), "1024-row tiles")
big = load("ours_big.json")[0]
t2, t1 = big, dict(big, **big["compared"])
pb = {r["codec"]: r for r in load("peers_big.json")["results"] if r.get("status") == "ok"}
w(f"## Speed on a large int32 array ({t1['rows']} x {t1['cols']}, {t1['bytes'] / 1e6:.1f} MB: the AP Sensing file tiled 41x in time)")
w("")
w("| codec | threads | ratio | compress MB/s | decompress MB/s |")
w("|---|---:|---:|---:|---:|")
w(f"| daspack | 1 | {t1['ratio']:.3f} | {t1['compress_mb_s']:.1f} | {t1['decompress_mb_s']:.1f} |")
w(f"| daspack | 2 | {t2['ratio']:.3f} | {t2['compress_mb_s']:.1f} | {t2['decompress_mb_s']:.1f} |")
for k, r in pb.items():
    w(f"| {k} (peers.py) | {r['threads']} | {r['ratio']:.3f} | {r['comp_MBps']:.1f} | {r['decomp_MBps']:.1f} |")
w("")
w(f"- daspack rows: {big['repeats']} runs each, one and two threads taking turns run by run; speeds are medians")
w(f"- two threads / one thread, median of the run-by-run ratios: compress {big['compared']['compress_speedup']:.2f}x, "
  f"decompress {big['compared']['decompress_speedup']:.2f}x")
if "daspack-t1" in pb:
    u = pb["daspack-t1"]
    w(f"- daspack / upstream DASPack alpha, one thread: compress {t1['compress_mb_s'] / u['comp_MBps']:.2f}x, decompress {t1['decompress_mb_s'] / u['decomp_MBps']:.2f}x, ratio {t1['ratio'] / u['ratio']:.3f}x")
def rss(name):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(os.path.join(d, name)).read())
    return int(m.group(1)) * 1024 if m else None
c, dd = rss("mem_compress.txt"), rss("mem_decompress.txt")
comp_size = os.path.getsize(os.path.join(d, "big.dpk"))
limit = 1.2 * (t1["bytes"] + comp_size) + 64 * 2**20
w(f"- peak RSS (`/usr/bin/time -v`, 2 threads): compress {c / 2**20:.0f} MiB (target <= 1.2 x (input + output) + 64 MiB = {limit / 2**20:.0f} MiB), decompress {dd / 2**20:.0f} MiB")
w("")
h5 = load("hdf5.json")
w("## HDF5 file size (lossless, chunks of 1024 time samples x all channels, every file read back bit-exact)")
w("")
w("| file | raw bytes | filter 33000 (daspack) | Blosc2 zstd+bitshuffle (hdf5plugin) | gzip-6+shuffle | smallest |")
w("|---|---:|---:|---:|---:|---|")
for r in h5:
    sizes = {k: r[k] for k in ("daspack", "blosc2_zstd_bitshuffle", "gzip6_shuffle")}
    w(f"| {r['file']} | {r['bytes']} | **{r['daspack']}** | {r['blosc2_zstd_bitshuffle']} | {r['gzip6_shuffle']} | {min(sizes, key=sizes.get)} |")
w("")
w("## Sensor codec (prefix code v0.2, one thread)")
w("")
w("```")
w(open(os.path.join(d, "sensor.txt")).read().strip())
w("```")
w("")
# The container section (scripts/bench_container.sh) and the Python section (scripts/bench_python.py) are written
# by their own scripts between these markers: keep them.
old = open(out).read() if os.path.exists(out) else ""
kept = []
for BEGIN, END in (
    ("<!-- bench_container:begin -->", "<!-- bench_container:end -->"),
    ("<!-- bench_python:begin -->", "<!-- bench_python:end -->"),
):
    if BEGIN in old and END in old:
        kept.append(old[old.index(BEGIN) : old.index(END) + len(END)])
if kept:
    L.append("\n\n".join(kept))
open(out, "w").write("\n".join(L) + "\n")
