"""Independent-implementation test of docs/sensor.md (the prefix-code sensor codec, protocol v0.2).

prefix.py is a second encoder/decoder written from the document alone. For every case below:
  * our encoder's bytes must equal `daspack sensor encode`'s, bit for bit (section 4 says the encoding is unique),
    and the item count / bit length the CLI prints must be ours;
  * our decoder must decode the CLI's bytes back to the input (count mode, and bit-length mode with our L);
  * `daspack sensor decode` must decode our bytes back to the input (same text as format_text).
Hostile and crafted streams must make both decoders agree: both produce the same items, or both refuse with the same
error kind, at the same bit offset, after the same number of items (parsed from the CLI's message).
Finally every word of the section-3 table must have been decoded at least once (coverage of our decoder).

Usage: cases.py --cli PATH [--example FILE] [-v]. Last line: `N passed, M failed`; exit status 1 on any failure.
"""

import argparse
import itertools
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prefix as P  # noqa: E402

CLI = None
TMP = None
_names = itertools.count()
CLI_CALLS = itertools.count()


# --- the CLI --------------------------------------------------------------------------------------------------------

def _tmp(suffix):
    return os.path.join(TMP, f"{next(_names)}{suffix}")


def _run(args):
    next(CLI_CALLS)
    return subprocess.run([CLI, "sensor", *args], capture_output=True, text=True)


ENC_RE = re.compile(r"^(\d+) items \((\d+) NA, (\d+) other events\) -> (\d+) bytes \((\d+) bits,", re.M)
COUNT_RE = re.compile(r"^decode with: --count (\d+)$", re.M)


def cli_encode_text(text):
    """Returns ('ok', bytes, count, bits) or ('err', message)."""
    src, dst = _tmp(".txt"), _tmp(".bin")
    with open(src, "w", newline="") as f:
        f.write(text)
    r = _run(["encode", "--force", src, dst])
    if r.returncode != 0:
        return ("err", r.stderr.strip())
    m, c = ENC_RE.search(r.stdout), COUNT_RE.search(r.stdout)
    if not m or not c:
        raise AssertionError(f"unparsed encode summary: {r.stdout!r}")
    with open(dst, "rb") as f:
        data = f.read()
    if int(m.group(4)) != len(data):
        raise AssertionError(f"summary says {m.group(4)} bytes, file has {len(data)}")
    if int(m.group(1)) != int(c.group(1)):
        raise AssertionError(f"summary: {r.stdout!r}")
    return ("ok", data, int(c.group(1)), int(m.group(5)))


ERR_PATTERNS = [
    (P.TRUNCATED, re.compile(r"truncated code word or stream at bit (\d+) \(after (\d+) of (\d+) items")),
    (P.INVALID_CODE, re.compile(r"unassigned code word 101 r \(r = 4\.\.15\) at bit (\d+) \(after (\d+) of (\d+) items")),
    (P.NO_REFERENCE, re.compile(r"relative code word before any measured sample at bit (\d+) \(after (\d+) of (\d+) items")),
    (P.OUT_OF_RANGE, re.compile(r"\+1/-1 leaves the 12-bit range at bit (\d+) \(after (\d+) of (\d+) items")),
    (P.RUN_PAST_END, re.compile(r"zero run longer than the items left at bit (\d+) \(after (\d+) of (\d+) items")),
]
TRAILING_RE = re.compile(r"the stream goes on after item (\d+) \(bit (\d+) of (\d+)\)")


def cli_decode(data, count):
    """Returns ('ok', items, text) or ('err', kind, offset, items_before, message)."""
    src, dst = _tmp(".bin"), _tmp(".txt")
    with open(src, "wb") as f:
        f.write(data)
    r = _run(["decode", "--force", "--count", str(count), src, dst])
    if r.returncode == 0:
        with open(dst, newline="") as f:
            text = f.read()
        return ("ok", P.parse_text(text), text)
    msg = r.stderr.strip()
    if os.path.exists(dst):
        raise AssertionError(f"CLI failed but wrote {dst}")
    for kind, rx in ERR_PATTERNS:
        m = rx.search(msg)
        if m:
            if int(m.group(3)) != count:
                raise AssertionError(f"message names count {m.group(3)}, not {count}: {msg}")
            return ("err", kind, int(m.group(1)), int(m.group(2)), msg)
    m = TRAILING_RE.search(msg)
    if m:
        if int(m.group(3)) != len(data) * 8:
            raise AssertionError(f"message names {m.group(3)} bits, data has {len(data) * 8}: {msg}")
        return ("err", P.TRAILING_DATA, int(m.group(2)), int(m.group(1)), msg)
    return ("err", "unknown", -1, -1, msg)


def ours_decode(data, count, cov):
    try:
        return ("ok", P.decode(data, count=count, coverage=cov))
    except P.DecodeError as e:
        return ("err", e.kind, e.offset, len(e.items))


# --- case bookkeeping -----------------------------------------------------------------------------------------------

class Case:
    def __init__(self, name):
        self.name = name
        self.problems = []
        self.cov = Counter()
        self.checks = 0

    def check(self, ok, what):
        self.checks += 1
        if not ok:
            self.problems.append(what)
        return ok


def brief(items, n=12):
    s = repr(items[:n])
    return s if len(items) <= n else s[:-1] + f", ... ({len(items)} items)]"


def roundtrip(case, items, label=""):
    """The three round-trip checks of one item sequence."""
    tag = f"{label}: " if label else ""
    trace = []
    ours, bits, n = P.encode(items, trace)
    case.check(n == len(items), f"{tag}our count {n} != {len(items)}")
    case.check(bits <= len(ours) * 8 < bits + 8, f"{tag}padding")
    # 1. our bytes == CLI bytes
    r = cli_encode_text(P.format_text(items))
    if not case.check(r[0] == "ok", f"{tag}CLI refused to encode {brief(items)}: {r[-1]}"):
        return
    _, cli, cli_count, cli_bits = r
    case.check(cli_count == len(items), f"{tag}CLI count {cli_count} != {len(items)}")
    case.check(cli_bits == bits, f"{tag}CLI bit length {cli_bits} != ours {bits}")
    case.check(cli == ours, f"{tag}bytes differ for {brief(items)}: CLI {cli.hex()[:80]} ours {ours.hex()[:80]}"
                            f" (first differing bit {first_diff_bit(cli, ours)})")
    # 2. our decoder on the CLI's bytes, count mode and bit-length mode
    d = ours_decode(cli, cli_count, case.cov)
    case.check(d == ("ok", items), f"{tag}our decoder on CLI bytes: {str(d)[:200]}")
    try:
        d2 = P.decode(cli, bit_len=cli_bits)
        case.check(d2 == items, f"{tag}our decoder, bit-length mode: {brief(d2)}")
    except P.DecodeError as e:
        case.check(False, f"{tag}our decoder, bit-length mode: {e}")
    # 3. the CLI's decoder on our bytes
    c = cli_decode(ours, len(items))
    if case.check(c[0] == "ok", f"{tag}CLI decode of our bytes failed: {c[-1]}"):
        case.check(c[1] == items, f"{tag}CLI decoded our bytes to {brief(c[1])}")
        case.check(c[2] == P.format_text(items), f"{tag}CLI text differs from format_text")


def first_diff_bit(a, b):
    for i in range(min(len(a), len(b)) * 8):
        if P.bit_at(a, i) != P.bit_at(b, i):
            return i
    return min(len(a), len(b)) * 8


def agree(case, data, count, label="", expect=None):
    """Both decoders on the same (possibly hostile) bytes: same items, or same error kind/offset/items-before."""
    ours = ours_decode(data, count, case.cov)
    cli = cli_decode(data, count)
    tag = f"{label} [{data.hex()[:48]}{'...' if len(data) > 24 else ''} count={count}]"
    if ours[0] == "ok":
        ok = cli[0] == "ok" and cli[1] == ours[1]
        case.check(ok, f"{tag}: ours ok {brief(ours[1])}, CLI {cli[:4] if cli[0] == 'err' else brief(cli[1])}")
    else:
        ok = cli[0] == "err" and cli[1:4] == ours[1:4]
        case.check(ok, f"{tag}: ours {ours}, CLI {cli[:4] if cli[0] == 'err' else ('ok', brief(cli[1]))}"
                       f"{' ' + cli[4] if cli[0] == 'err' else ''}")
    if expect is not None:
        case.check(ours[1] == expect, f"{tag}: expected {str(expect)[:100]}, our decoder gave {str(ours)[:160]}")
    return ours


def bits_to_bytes(bits):
    bits = "".join(bits.split())
    w = P.BitWriter()
    w.write(bits)
    return w.to_bytes()


def absw(v):
    return "110" + format(v & 0xFFF, "012b")


def esc(r):
    return "101" + format(r, "08b")


# --- the cases ------------------------------------------------------------------------------------------------------

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


@case
def table_is_complete_prefix_code(c):
    """Section 3: the words form a complete prefix code, each identified by its first 8 bits at most."""
    words = [b for b, _, _ in P.code_table()]
    for a in words:
        for b in words:
            c.check(a == b or not b.startswith(a), f"{a} is a prefix of {b}")
    kraft = sum(2.0 ** -len(b) for b in words)
    c.check(kraft == 1.0, f"Kraft sum {kraft} != 1")
    for byte in range(256):
        s = format(byte, "08b")
        hits = [b for b in words if s.startswith(b)]
        c.check(len(hits) == 1, f"byte {s} starts {hits}")
    c.check(len(set(P.SHORT_RUNS.values())) == 16, "short-run words not distinct")


@case
def document_examples(c):
    """Section 4's examples: 16, 17, 256, 257, 273 equal samples after the first."""
    expect = {16: "11111110", 17: "10100010000", 256: "10111111111", 257: "10111111111" + "10000",
              273: "10111111111" + "10100010000"}
    for n, bits in expect.items():
        trace = []
        P.encode([9] * (n + 1), trace)
        got = "".join(b for _, b in trace[1:])
        c.check(got == bits, f"run {n}: ours {got}, document {bits}")
        roundtrip(c, [9] * (n + 1), f"run {n}")


@case
def empty_input(c):
    roundtrip(c, [])
    r = cli_encode_text("")
    c.check(r[:3] == ("ok", b"", 0), f"CLI encode of empty text: {r}")
    r = cli_encode_text("\n  \n\n")
    c.check(r[:3] == ("ok", b"", 0), f"CLI encode of blank lines: {r}")
    agree(c, b"", 0, "empty data, count 0", expect=[])
    agree(c, b"", 1, "empty data, count 1", expect=P.TRUNCATED)


@case
def single_samples(c):
    for v in (-2048, -2047, -1, 0, 1, 2046, 2047):
        roundtrip(c, [v], f"[{v}]")


@case
def every_absolute_value(c):
    """Every 12-bit value as an absolute word (consecutive values 2 apart, so no step is possible)."""
    seq = list(range(-2048, 2048, 2)) + list(range(-2047, 2048, 2))
    roundtrip(c, seq)


@case
def steps_of_every_size(c):
    """Every difference -4095..4095 between consecutive samples (plus a run before the second sample)."""
    seq, seq2 = [], []
    for d in range(-4095, 4096):
        a = max(-2048, -2048 - d)
        a = min(a, 2047, 2047 - d) if d > 0 else a
        seq += [a, a + d]
        seq2 += [a, a, a + d, "NA"]
    roundtrip(c, seq, "pairs")
    roundtrip(c, seq2, "pairs with run and NA")


@case
def wrap_around_edges(c):
    roundtrip(c, [2047, -2048, 2047, 2046, 2047, -2048, -2047, -2048, 2047, 2047, -2048, -2048, 2047])
    roundtrip(c, [-2048, 2047])
    roundtrip(c, [2047, -2048])
    roundtrip(c, [2046, 2047, 2047, 2047, 2046])
    roundtrip(c, [-2047, -2048, -2048, -2047])


def run_lengths():
    ls = set(range(1, 21)) | set(range(250, 262)) | set(range(270, 276))
    for k in (2, 3, 4):
        ls |= {256 * k - 1, 256 * k, 256 * k + 1, 256 * k + 16, 256 * k + 17}
    ls |= {1000, 4097}
    return sorted(ls)


@case
def runs_ending_the_stream(c):
    """A run of every length around the limits (16/17, 256/257, multiples of 256) at the end of the stream."""
    for n in run_lengths():
        roundtrip(c, [-5] * (n + 1), f"run {n} at end")


@case
def runs_every_length_1_to_300(c):
    """Runs of 1..300 (and around 512, 768) each ended by each kind of item."""
    terms = ["step+1", "step-1", "absolute", *P.EVENTS, "event then equal"]
    lens = list(range(1, 301)) + [511, 512, 513, 767, 768, 769]
    for term in terms:
        cur = 0
        seq = [cur]
        for i, n in enumerate(lens):
            seq += [cur] * n
            if term == "step+1":
                cur = cur + 1 if cur < 2047 else -2048
                seq.append(cur)
            elif term == "step-1":
                cur = cur - 1 if cur > -2048 else 2047
                seq.append(cur)
            elif term == "absolute":
                cur = (cur + 1000 + 2048) % 4096 - 2048
                seq.append(cur)
            elif term == "event then equal":
                seq.append(P.EVENTS[i % 4])
            else:
                seq.append(term)
        roundtrip(c, seq, f"runs ended by {term}")


@case
def events_everywhere(c):
    for e in P.EVENTS:
        roundtrip(c, [e], f"[{e}]")
        roundtrip(c, [e, e, e], f"3x{e}")
        roundtrip(c, [e, 100], f"{e} first")
        roundtrip(c, [e, 100, e, 100, e, 101, e, 100, e, 500], f"{e} between")
        roundtrip(c, [e, -2048, e, -2047, e, -2048], f"{e} at range edge")
    roundtrip(c, list(P.EVENTS) * 5 + [0, 0] + list(P.EVENTS) + [0, 1, 0], "all events before any sample")
    roundtrip(c, [7, 7, 7, "USER_EVENT", 7, 7, "CLOCK_BACKWARDS", 7], "event splits a run")


@case
def long_gaps(c):
    roundtrip(c, [100] + ["NA"] * 5000 + [101], "5000 NA then +1")
    roundtrip(c, [100] + ["NA"] * 1000 + [100] * 300, "1000 NA then run 300")
    roundtrip(c, [100] + ["NA"] * 777 + [99, 99], "777 NA then -1")
    roundtrip(c, ["NA"] * 3000 + [5, 5], "3000 NA first")
    gap = [P.EVENTS[i % 4] for i in range(2000)]
    roundtrip(c, [-3] + gap + [-3] + gap + [2000], "mixed events gap")


def random_walk(rng, n, p_event=0.05, p_equal=0.5, p_step=0.3, big=0.05, clamp=True):
    seq, cur = [], rng.randint(-2048, 2047)
    for _ in range(n):
        u = rng.random()
        if u < p_event:
            seq.append(rng.choice(P.EVENTS))
            continue
        u = rng.random()
        if u < p_equal:
            pass
        elif u < p_equal + p_step:
            cur += rng.choice((-1, 1))
        elif u < p_equal + p_step + big:
            cur = rng.randint(-2048, 2047)
        else:
            cur += rng.randint(-20, 20)
        if clamp:
            cur = max(-2048, min(2047, cur))
        else:
            cur = (cur + 2048) % 4096 - 2048
        seq.append(cur)
    return seq


@case
def random_walks(c):
    rng = random.Random(20240601)
    roundtrip(c, random_walk(rng, 5000), "walk default")
    roundtrip(c, random_walk(rng, 5000, p_equal=0.95, p_step=0.04, big=0.0, p_event=0.002), "walk plateaus")
    roundtrip(c, random_walk(rng, 5000, p_equal=0.05, p_step=0.9, big=0.0, p_event=0.0, clamp=False), "walk steps, wrapping")
    roundtrip(c, random_walk(rng, 3000, p_equal=0.2, p_step=0.2, big=0.4, p_event=0.2), "walk jumpy")
    roundtrip(c, random_walk(rng, 3000, p_event=0.6), "walk mostly events")
    for k in range(10):
        roundtrip(c, random_walk(rng, rng.randint(1, 60), p_event=0.15), f"short walk {k}")
    # plateaus of random lengths spanning the run limits
    seq, cur = [], 0
    for _ in range(300):
        seq += [cur] * rng.randint(1, 600)
        cur += rng.choice((-1, 1, 2, -300))
        cur = max(-2048, min(2047, cur))
        if rng.random() < 0.2:
            seq.append(rng.choice(P.EVENTS))
    roundtrip(c, seq, "random plateaus")


@case
def temperature_example(c):
    if not EXAMPLE or not os.path.exists(EXAMPLE):
        c.check(False, f"example file {EXAMPLE} missing")
        return
    with open(EXAMPLE) as f:
        text = f.read()
    items = P.parse_text(text)
    c.check(len(items) > 1000, f"example parsed to {len(items)} items")
    roundtrip(c, items, "temperature.txt")
    # the CLI on the file itself (not our re-rendering of it)
    r = _run(["encode", "--force", EXAMPLE, _tmp(".bin")])
    ours, bits, n = P.encode(items)
    c.check(r.returncode == 0 and f"decode with: --count {n}" in r.stdout and f"({bits} bits," in r.stdout,
            f"CLI summary on the file: {r.stdout!r}")
    r = _run(["stats", EXAMPLE])
    c.check(r.returncode == 0 and re.search(rf"^bits:\s+{bits}$", r.stdout, re.M)
            and re.search(rf"^items \(--count\):\s+{n}$", r.stdout, re.M), f"CLI stats: {r.stdout!r}")


@case
def stdio_quiet_and_summary_counts(c):
    """`-` is stdin/stdout (the summary then goes to stderr), --quiet prints nothing, the summary counts events."""
    text = "5\n6\nNA\nUSER_EVENT\n5\n5\nclock_backwards\n5\n"
    src, dst = _tmp(".txt"), _tmp(".bin")
    with open(src, "w") as f:
        f.write(text)
    r = _run(["encode", "--force", src, dst])
    c.check(r.returncode == 0 and "8 items (1 NA, 2 other events)" in r.stdout and "bits/item" in r.stdout,
            f"summary: {r.stdout!r}")
    with open(dst, "rb") as f:
        data = f.read()
    p = subprocess.run([CLI, "sensor", "encode", "-", "-"], input=text.encode(), capture_output=True)
    c.check(p.returncode == 0 and p.stdout == data and b"decode with: --count 8" in p.stderr,
            f"encode - -: {p.returncode} {p.stdout!r} {p.stderr!r}")
    p = subprocess.run([CLI, "-q", "sensor", "encode", "--force", src, dst], capture_output=True)
    c.check(p.returncode == 0 and p.stdout == b"" and p.stderr == b"", f"encode -q: {p.stdout!r} {p.stderr!r}")
    p = subprocess.run([CLI, "sensor", "decode", "--count", "8", "-", "-"], input=data, capture_output=True)
    c.check(p.returncode == 0 and p.stdout == b"5\n6\nNA\nUSER_EVENT\n5\n5\nCLOCK_BACKWARDS\n5\n",
            f"decode - -: {p.stdout!r} {p.stderr!r}")
    p = subprocess.run([CLI, "-q", "sensor", "decode", "--force", "--count", "8", dst, _tmp(".txt")],
                       capture_output=True)
    c.check(p.returncode == 0 and p.stdout == b"" and p.stderr == b"", f"decode -q: {p.stdout!r} {p.stderr!r}")
    c.check(not os.path.exists(os.path.join(os.getcwd(), "-")), "a file named - was written")


@case
def non_canonical_streams(c):
    """Section 4: valid but non-canonical streams are accepted."""
    tests = [
        (absw(5) + "10000" + "10000", [5, 5, 5]),                                   # run of 2 split in 1+1
        (absw(5) + esc(255) + esc(255) + "10001", [5] * (1 + 256 + 256 + 2)),
        (absw(5) + "11111110" + "10000", [5] * 18),                                # 17 as 16 + 1
        (absw(5) + esc(16) + esc(16), [5] * 35),                                   # 34 as 17 + 17
        (absw(5) + absw(5) + absw(6), [5, 5, 6]),                                  # equal and +1 as absolute
        (absw(5) + esc(2) + absw(5) + "00", [5, "NA", 5, 6]),
        (absw(-1) + "10000" * 20, [-1] * 21),
    ]
    for bits, items in tests:
        agree(c, bits_to_bytes(bits), len(items), "non-canonical", expect=items)
    # the padding: 0..7 zero bits after the last word are allowed; a whole zero byte is not (section 5)
    for pad in range(13):  # 20 bits of words, then `pad` zero bits, then zeros to a byte
        data = bits_to_bytes(absw(3) + "10001" + "0" * pad)
        agree(c, data, 3, f"{pad} zero bits after the words", expect=[3, 3, 3] if pad <= 4 else P.TRAILING_DATA)
    # a stream ending exactly on a byte: 15 + 11 + 2 + 2 + 2 = 32 bits, nothing after
    agree(c, bits_to_bytes(absw(0) + esc(3) + "00" + "01" + "01"), 5, "byte-exact end", expect=[0, "USER_EVENT", 1, 0, -1])
    # short words ending on the last bit of the data (no 8-bit look-ahead past the end)
    agree(c, bits_to_bytes(absw(0) + "00" + "00" + "10001"), 5, "5-bit word ending at bit 24", expect=[0, 1, 2, 2, 2])
    agree(c, bits_to_bytes(absw(0) + "1111100" + "00"), 13, "2-bit word ending at bit 24", expect=[0] * 12 + [1])
    agree(c, bits_to_bytes(absw(0) + esc(1) + "01" + "01" + "00" + "11111111"), 20, "8-bit word ending at bit 40",
          expect=[0, "LONG_TERM_JITTER", -1, -2, -1] + [-1] * 15)


@case
def crafted_errors(c):
    """Each error of section 6, alone and in combinations whose priority the document leaves implicit."""
    E = P
    # invalid code: every r = 4..15, with and without a reference
    for r in range(4, 16):
        agree(c, bits_to_bytes(esc(r)), 1, f"invalid r={r}", expect=E.INVALID_CODE)
        agree(c, bits_to_bytes(absw(1) + esc(r)), 3, f"invalid r={r} after a sample", expect=E.INVALID_CODE)
    # no reference: every relative word at the start and after events
    rel = ["00", "01", *P.SHORT_RUNS.values(), esc(16), esc(255), esc(100)]
    for w in rel:
        agree(c, bits_to_bytes(w), 300, f"no reference {w}", expect=E.NO_REFERENCE)
        agree(c, bits_to_bytes(esc(2) + esc(0) + w), 300, f"no reference after events {w}", expect=E.NO_REFERENCE)
        agree(c, bits_to_bytes(w), 1, f"no reference vs run past end {w}", expect=E.NO_REFERENCE)
    # out of range steps
    agree(c, bits_to_bytes(absw(2047) + "00"), 2, "00 from 2047", expect=E.OUT_OF_RANGE)
    agree(c, bits_to_bytes(absw(-2048) + "01"), 2, "01 from -2048", expect=E.OUT_OF_RANGE)
    agree(c, bits_to_bytes(absw(2047) + esc(2) + "10001" + "00"), 5, "00 from 2047 after gap and run", expect=E.OUT_OF_RANGE)
    agree(c, bits_to_bytes(absw(2047) + "01" + "00" + "00"), 4, "2047 -1 +1 +1", expect=E.OUT_OF_RANGE)
    # run past end, for every short run length and some long ones
    for n, w in P.SHORT_RUNS.items():
        agree(c, bits_to_bytes(absw(1) + w), n, f"run {n} with {n - 1} left",
              expect=E.RUN_PAST_END if n > 1 else E.TRAILING_DATA)  # count 1: the decoder stops before the run
        agree(c, bits_to_bytes(absw(1) + w), n + 1, f"run {n} exactly", expect=[1] * (n + 1))
    for n in (17, 18, 100, 256):
        agree(c, bits_to_bytes(absw(1) + esc(n - 1)), n, f"run {n} with {n - 1} left", expect=E.RUN_PAST_END)
        agree(c, bits_to_bytes(absw(1) + esc(n - 1)), n + 1, f"run {n} exactly", expect=[1] * (n + 1))
    # truncated: each word cut, and data ending before N items
    for w in ["00", "01", *P.SHORT_RUNS.values(), esc(2), esc(16), esc(7), absw(-1), absw(5)]:
        for cut in range(1, len(w)):
            for lead in ("", absw(0), absw(0) + "01"):
                bits = lead + w[:cut]
                if len(bits) % 8:
                    continue  # only a word that runs exactly into the end of the data is a truncation
                agree(c, bits_to_bytes(bits), 50, f"cut {w} after {cut}")
        # and with zero padding that completes it differently (whatever it decodes to, both must agree)
        agree(c, bits_to_bytes(absw(0) + w[: max(1, len(w) // 2)]), 50, f"padded cut {w}")
    # an escape word cut where r is already known to be 8..15 (invalid) is still *truncated*
    agree(c, bits_to_bytes("10100001"), 1, "cut escape, r surely invalid", expect=E.TRUNCATED)
    agree(c, bits_to_bytes(absw(0) + "01" + "01" + "10000" + "10100001"), 5,
          "cut escape after samples, r surely invalid", expect=E.TRUNCATED)
    # a cut short-run word with no reference is *truncated*, not *no reference*
    agree(c, bits_to_bytes(esc(2) + "11111"), 2, "cut run word, no reference", expect=E.TRUNCATED)
    agree(c, bits_to_bytes(absw(0) + "10000"), 5, "data ends before N items")
    # zero bytes read as +1 steps: with a large count they climb until 2047 -> out of range
    agree(c, bits_to_bytes(absw(0)) + bytes(600), 5000, "zeros climb to out of range", expect=E.OUT_OF_RANGE)
    agree(c, bits_to_bytes(absw(0)) + bytes(600), 2048, "zeros climb to 2047, then more zeros",
          expect=E.TRAILING_DATA)
    agree(c, bits_to_bytes(esc(2)), 2, "event then nothing")
    # trailing data
    good = bits_to_bytes(absw(0) + "00")
    agree(c, good, 2, "exact", expect=[0, 1])
    agree(c, good + b"\x00", 2, "extra zero byte", expect=E.TRAILING_DATA)
    agree(c, good[:-1] + bytes([good[-1] | 1]), 2, "nonzero pad bit", expect=E.TRAILING_DATA)
    agree(c, good, 1, "count one short", expect=E.TRAILING_DATA)
    agree(c, b"\x00", 0, "count 0, one zero byte", expect=E.TRAILING_DATA)
    agree(c, b"\x80", 0, "count 0, one byte", expect=E.TRAILING_DATA)
    for k in range(1, 8):
        # 15 + 2 + k ones-padding positions
        data = bits_to_bytes(absw(0) + "00" + "0" * (k - 1) + "1")
        agree(c, data, 2, f"padding bit {16 + k} set")


def rich_stream(rng):
    items = random_walk(rng, 400, p_event=0.1)
    items += [items[-1] if P.is_sample(items[-1]) else 0] * 300 + ["NA", 0, 1, 0, -1, 2047, 2046, 2047]
    return items


@case
def hostile_random_bytes(c):
    rng = random.Random(7)
    for k in range(200):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 12)))
        count = rng.choice([0, 1, 2, 3, rng.randint(0, 40), rng.randint(0, 400)])
        agree(c, data, count, f"random {k}")
    # biased toward decodable: start with an absolute word
    for k in range(100):
        bits = absw(rng.randint(-2048, 2047)) + "".join(rng.choice("0001") for _ in range(rng.randint(0, 80)))
        data = bits_to_bytes(bits)
        count = rng.randint(1, 60)
        agree(c, data, count, f"random after absolute {k}")


@case
def hostile_truncations(c):
    rng = random.Random(11)
    items = rich_stream(rng)
    data, bits, n = P.encode(items)
    cuts = sorted(set(range(0, 40)) | set(range(len(data) - 40, len(data) + 1)) | set(range(0, len(data), 5)))
    for cut in cuts:
        agree(c, data[:cut], n, f"truncated to {cut} bytes")
    for cut in range(0, len(data) + 1, 7):
        agree(c, data[:cut], rng.randint(0, n), f"truncated to {cut} bytes, random count")
    for dn in (-300, -50, -2, -1, 1, 2, 8, 9, 100):
        agree(c, data, max(0, n + dn), f"count {dn:+d}")


@case
def hostile_bit_flips(c):
    rng = random.Random(13)
    items = rich_stream(rng)
    data, bits, n = P.encode(items)
    for k in range(160):
        b = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 3))):
            i = rng.randrange(len(b) * 8)
            b[i // 8] ^= 1 << (7 - i % 8)
        agree(c, bytes(b), n, f"flip {k}")


@case
def encoder_refusals(c):
    for bad in (2048, -2049, 4095, 32767, -32768):
        try:
            P.encode([0, bad])
            c.check(False, f"our encoder took {bad}")
        except P.EncodeError:
            pass
        r = cli_encode_text(f"0\n{bad}\n")
        c.check(r[0] == "err", f"CLI encoded {bad}: {r}")
    for slot in (-2048, 2047, -32768, -32767, -32766, -32765):
        c.check(P.item_to_slot(P.slot_to_item(slot)) == slot, f"slot {slot}")
    for slot in (2048, -2049, -32764, 32767):
        try:
            P.slot_to_item(slot)
            c.check(False, f"slot {slot} accepted")
        except P.EncodeError:
            pass


@case
def cli_text_format(c):
    """The CLI's text syntax (not in docs/sensor.md): our parse_text must accept/refuse what the CLI does."""
    lines = ["5", " 5 ", "\t-7\t", "+5", "-0", "+0", "007", "NA", "na", "Na", "clock_backwards", "Long_Term_Jitter",
             "user_event", "CLOCK_BACKWARDS", "5\r", "NaN", "N/A", "5 6", "0x10", "1e3", "--5", "+-5", "-", "+",
             "2047", "-2048", "2048", "-2049", "99999999999999999999", "# comment", "NO_MEASUREMENT", "5.0", "\u0663",
             "\u00a05\u00a0", "5\u3000", "\f5", "\x1c5", "\u200b5"]
    for ln in lines:
        text = f"1\n{ln}\n2\n"
        try:
            ours = ("ok", P.encode(P.parse_text(text))[0])
        except (P.TextError, P.EncodeError):
            ours = ("err",)
        cli = cli_encode_text(text)
        c.check(ours[0] == cli[0] and (cli[0] == "err" or cli[1] == ours[1]), f"line {ln!r}: ours {ours}, CLI {cli[:2]}")
    # no trailing newline, CRLF, blank lines
    for text in ("1\n2", "1\r\n2\r\n", "\n\n1\n\n\n2\n\n", "1\n \n2\n"):
        r = cli_encode_text(text)
        c.check(r[0] == "ok" and r[1] == P.encode([1, 2])[0] and r[2] == 2, f"text {text!r}: {r}")


@case
def coverage_placeholder(c):
    pass  # filled in by main() after all the other cases ran


# --- main -----------------------------------------------------------------------------------------------------------

def coverage_report(cov, verbose):
    lines, missing = [], []
    simple = ["step+1", "step-1"] + [f"event:{e}" for e in P.EVENTS]
    for k in simple:
        (missing.append(k) if not cov[k] else None)
    short = [f"run{n}" for n in range(1, 17)]
    long = [f"run{n}" for n in range(17, 257)]
    inval = [f"invalid:r={r}" for r in range(4, 16)]
    absv = [f"absolute={v}" for v in range(-2048, 2048)]
    errs = [f"error:{k}" for k in P.ERROR_CODES]
    for group in (short, long, inval, absv, errs):
        missing += [k for k in group if not cov[k]]
    lines.append("coverage of our decoder (words decoded, over all cases):")
    lines.append(f"  00 (+1): {cov['step+1']}, 01 (-1): {cov['step-1']}")
    lines.append("  short runs 1..16: " + ", ".join(f"{n}:{cov[f'run{n}']}" for n in range(1, 17)))
    hit_long = sum(1 for k in long if cov[k])
    lines.append(f"  101 r runs 17..256: {hit_long}/240 lengths hit, {cov['run-long']} words "
                 f"(17: {cov['run17']}, 256: {cov['run256']})")
    lines.append("  events: " + ", ".join(f"{e}:{cov['event:' + e]}" for e in P.EVENTS))
    lines.append("  101 r invalid r=4..15: " + ", ".join(f"{r}:{cov[f'invalid:r={r}']}" for r in range(4, 16)))
    hit_abs = sum(1 for k in absv if cov[k])
    lines.append(f"  110 absolute: {cov['absolute']} words, {hit_abs}/4096 values")
    lines.append("  errors: " + ", ".join(f"{k}:{cov['error:' + k]}" for k in P.ERROR_CODES))
    return lines, missing


def main():
    global CLI, TMP, EXAMPLE
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--example", default=None)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-j", "--jobs", type=int, default=max(2, min(8, (os.cpu_count() or 2) * 2)))
    args = ap.parse_args()
    CLI = args.cli
    EXAMPLE = args.example
    TMP = tempfile.mkdtemp(prefix="daspack-sensor-")
    t0 = time.monotonic()

    def run_case(fn):
        c = Case(fn.__name__)
        if fn is coverage_placeholder:
            return c
        t = time.monotonic()
        try:
            fn(c)
        except Exception as e:  # a crash of a case is a failure, not the end of the run
            import traceback
            c.problems.append(f"exception: {e!r}\n{traceback.format_exc()}")
        c.elapsed = time.monotonic() - t
        return c

    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as ex:
            results = list(ex.map(run_case, CASES))
    finally:
        shutil.rmtree(TMP, ignore_errors=True)

    total = Counter()
    for c in results:
        total.update(c.cov)
    cov_lines, missing = coverage_report(total, args.verbose)
    cov_case = results[-1]
    cov_case.checks = 1
    if missing:
        cov_case.problems.append(f"not hit: {missing[:40]}{' ...' if len(missing) > 40 else ''}")

    passed = failed = 0
    for c in results:
        if c.problems:
            failed += 1
            print(f"FAIL {c.name} ({c.checks} checks, {len(c.problems)} failed)")
            for p in c.problems[: (1000 if args.verbose else 8)]:
                print(f"     {p}")
            if len(c.problems) > 8 and not args.verbose:
                print(f"     ... {len(c.problems) - 8} more (-v)")
        else:
            passed += 1
            print(f"ok   {c.name} ({c.checks} checks{', %.1f s' % c.elapsed if hasattr(c, 'elapsed') else ''})")
    print()
    print("\n".join(cov_lines))
    print(f"CLI invocations: {next(CLI_CALLS)}; wall time {time.monotonic() - t0:.1f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


EXAMPLE = None

if __name__ == "__main__":
    sys.exit(main())
