"""A second, independent encoder and decoder of the prefix-code sensor codec, protocol v0.2.

Written from docs/sensor.md alone (sections 1-7); nothing here is derived from the Rust sources.
Standard library only.

Items are Python values: an int in -2048..=2047 is a sample, one of the strings of EVENTS is an event.

The text format of `daspack sensor encode|decode` is *not* in docs/sensor.md; parse_text/format_text follow
`daspack sensor encode --help` ("one integer sample (-2048..=2047) or NA per line; blank lines are ignored")
plus what the CLI was observed to do (event names, case, whitespace): see tests/sensor/cases.py.
"""

from collections import Counter

# --- section 1: items ---------------------------------------------------------------------------------------------

SAMPLE_MIN, SAMPLE_MAX = -2048, 2047

NO_MEASUREMENT = "NA"
CLOCK_BACKWARDS = "CLOCK_BACKWARDS"
LONG_TERM_JITTER = "LONG_TERM_JITTER"
USER_EVENT = "USER_EVENT"
EVENTS = (NO_MEASUREMENT, CLOCK_BACKWARDS, LONG_TERM_JITTER, USER_EVENT)

# section 3: `101 000000rr`
EVENT_R = {CLOCK_BACKWARDS: 0, LONG_TERM_JITTER: 1, NO_MEASUREMENT: 2, USER_EVENT: 3}
R_EVENT = {r: e for e, r in EVENT_R.items()}


def is_sample(item):
    return isinstance(item, int) and not isinstance(item, bool)


# --- section 3: the code table, verbatim ----------------------------------------------------------------------------

# (bits in stream order, number of equal samples) for the short zero runs 1..16.
SHORT_RUNS = {
    1: "10000",
    2: "10001",
    3: "11100",
    4: "11101",
    5: "100110",
    6: "100100",
    7: "100101",
    8: "100111",
    9: "111100",
    10: "111101",
    11: "1111100",
    12: "1111101",
    13: "11111100",
    14: "11111101",
    15: "11111111",
    16: "11111110",
}
STEP_UP = "00"
STEP_DOWN = "01"
ESCAPE = "101"
ABSOLUTE = "110"


def code_table():
    """Every word of the table as (prefix bits, kind, info); the parametrised words as their 3-bit prefix."""
    words = [(STEP_UP, "step", +1), (STEP_DOWN, "step", -1)]
    words += [(bits, "run", n) for n, bits in SHORT_RUNS.items()]
    words += [(ESCAPE, "escape", None), (ABSOLUTE, "absolute", None)]
    return words


# --- section 6: errors ----------------------------------------------------------------------------------------------

TRUNCATED = "truncated"
INVALID_CODE = "invalid code"
NO_REFERENCE = "no reference"
OUT_OF_RANGE = "out of range"
RUN_PAST_END = "run past end"
TRAILING_DATA = "trailing data"
ERROR_CODES = {TRUNCATED: 10, INVALID_CODE: 11, NO_REFERENCE: 12, OUT_OF_RANGE: 13, RUN_PAST_END: 14,
               TRAILING_DATA: 16}


class DecodeError(Exception):
    def __init__(self, kind, offset, items):
        super().__init__(f"{kind} at bit {offset} (after {len(items)} items)")
        self.kind = kind
        self.offset = offset
        self.items = items  # what was decoded before the error


class EncodeError(ValueError):
    pass


# --- section 2: bit packing -----------------------------------------------------------------------------------------

class BitWriter:
    def __init__(self):
        self.bits = []

    def write(self, bitstring):
        self.bits.extend(1 if c == "1" else 0 for c in bitstring)

    def write_uint(self, value, width):
        self.write(format(value, f"0{width}b"))

    def __len__(self):
        return len(self.bits)

    def to_bytes(self):
        out = bytearray((len(self.bits) + 7) // 8)
        for i, b in enumerate(self.bits):
            if b:
                out[i // 8] |= 1 << (7 - i % 8)
        return bytes(out)


def bit_at(data, i):
    return (data[i // 8] >> (7 - i % 8)) & 1


# --- section 4: the canonical encoder -------------------------------------------------------------------------------

def encode(items, trace=None):
    """Returns (bytes, bit_len, item_count). `trace`, a list, receives (label, bits) per word written."""
    w = BitWriter()
    ref = None
    pending = 0

    def word(label, bits):
        w.write(bits)
        if trace is not None:
            trace.append((label, bits))

    def write_pending():  # rule 5
        nonlocal pending
        p = pending
        while p >= 17:
            k = min(p, 256)
            word(f"run{k}", ESCAPE + format(k - 1, "08b"))
            p -= k
        if 1 <= p <= 16:
            word(f"run{p}", SHORT_RUNS[p])
        pending = 0

    count = 0
    for item in items:
        if is_sample(item):
            if not SAMPLE_MIN <= item <= SAMPLE_MAX:
                raise EncodeError(f"sample {item} outside -2048..=2047")
            if ref is not None and item == ref:  # rule 1
                if pending + 1 > 256:
                    word("run256", ESCAPE + format(255, "08b"))
                    pending = 0
                pending += 1
            else:  # rule 2
                write_pending()
                if ref is not None and item == ref + 1:
                    word("step+1", STEP_UP)
                elif ref is not None and item == ref - 1:
                    word("step-1", STEP_DOWN)
                else:
                    word("absolute", ABSOLUTE + format(item & 0xFFF, "012b"))
                ref = item
        elif item in EVENT_R:  # rule 3
            write_pending()
            word(f"event:{item}", ESCAPE + format(EVENT_R[item], "08b"))
        else:
            raise EncodeError(f"not an item: {item!r}")
        count += 1
    write_pending()  # rule 4
    bit_len = len(w)
    return w.to_bytes(), bit_len, count


# --- sections 5 and 6: the decoder ----------------------------------------------------------------------------------

# A bit-by-bit walk of the code tree built from the table (deliberately not the 256-entry table lookup).
_TREE = {}
for _bits, _kind, _info in code_table():
    _TREE[_bits] = (_kind, _info)
_PREFIXES = {b[:i] for b in _TREE for i in range(len(b))}


def decode(data, count=None, bit_len=None, check_end=True, coverage=None):
    """Decodes `data` (bytes) given the item count (count mode) or the bit length L (bit-length mode).

    Returns the list of items; raises DecodeError. `coverage`, a Counter, counts the words decoded (and the errors),
    by label. In count mode with check_end, the at most 7 following bits must all be zero (section 5).
    """
    if (count is None) == (bit_len is None):
        raise ValueError("give exactly one of count, bit_len")
    end = len(data) * 8 if bit_len is None else bit_len
    if end > len(data) * 8:
        raise ValueError("bit_len beyond the data")
    cov = coverage if coverage is not None else Counter()
    items = []
    ref = None
    pos = 0

    def fail(kind, offset):
        cov["error:" + kind] += 1
        raise DecodeError(kind, offset, items)

    while True:
        if count is not None and len(items) >= count:
            break
        if count is None and pos >= end:
            break
        o = pos
        if pos >= end:  # count mode: the data ends before N items
            fail(TRUNCATED, o)
        prefix = ""
        while prefix not in _TREE:
            if pos >= end:
                fail(TRUNCATED, o)
            prefix += "1" if bit_at(data, pos) else "0"
            pos += 1
            assert prefix in _TREE or prefix in _PREFIXES, prefix  # the code is complete
        kind, info = _TREE[prefix]
        if kind in ("escape", "absolute"):
            width = 8 if kind == "escape" else 12
            if pos + width > end:
                fail(TRUNCATED, o)
            value = 0
            for _ in range(width):
                value = (value << 1) | bit_at(data, pos)
                pos += 1
            if kind == "absolute":
                v = value - 4096 if value & 0x800 else value
                cov["absolute"] += 1
                cov[f"absolute={v}"] += 1
                items.append(v)
                ref = v
                continue
            if value <= 3:
                ev = R_EVENT[value]
                cov[f"event:{ev}"] += 1
                items.append(ev)
                continue
            if value <= 15:
                cov[f"invalid:r={value}"] += 1
                fail(INVALID_CODE, o)
            kind, info = "run", value + 1
        if kind == "step":
            if ref is None:
                fail(NO_REFERENCE, o)
            v = ref + info
            if not SAMPLE_MIN <= v <= SAMPLE_MAX:
                fail(OUT_OF_RANGE, o)
            cov["step+1" if info > 0 else "step-1"] += 1
            items.append(v)
            ref = v
            continue
        # zero run
        if ref is None:
            fail(NO_REFERENCE, o)
        if count is not None and info > count - len(items):
            fail(RUN_PAST_END, o)
        cov[f"run{info}"] += 1
        cov["run-long" if info > 16 else "run-short"] += 1
        items.extend([ref] * info)

    if count is not None and check_end:
        rest = len(data) * 8 - pos
        if rest > 7 or any(bit_at(data, i) for i in range(pos, len(data) * 8)):
            fail(TRAILING_DATA, pos)
    return items


# --- section 7: the i16 slot representation -------------------------------------------------------------------------

SLOT = {NO_MEASUREMENT: -32768, CLOCK_BACKWARDS: -32767, LONG_TERM_JITTER: -32766, USER_EVENT: -32765}
SLOT_ITEM = {v: k for k, v in SLOT.items()}


def item_to_slot(item):
    return item if is_sample(item) else SLOT[item]


def slot_to_item(slot):
    if SAMPLE_MIN <= slot <= SAMPLE_MAX:
        return slot
    if slot in SLOT_ITEM:
        return SLOT_ITEM[slot]
    raise EncodeError(f"slot {slot} out of range")


# --- the CLI's text format (NOT in docs/sensor.md: from --help and observation) -------------------------------------

# Unicode White_Space (what the CLI was seen to trim, e.g. U+00A0 and U+3000; unlike str.strip(), not U+001C..1F)
WHITESPACE = ("\t\n\v\f\r \u0085\u00a0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B))
              + "\u2028\u2029\u202f\u205f\u3000")


class TextError(ValueError):
    pass


def parse_text(text):
    """One item per line; blank lines ignored; surrounding whitespace ignored; an optionally signed decimal
    integer, or an event name (case-insensitive): NA, CLOCK_BACKWARDS, LONG_TERM_JITTER, USER_EVENT."""
    items = []
    for lineno, line in enumerate(text.split("\n"), 1):
        tok = line.strip(WHITESPACE)
        if not tok:
            continue
        up = tok.upper()
        if up in EVENTS:
            items.append(up)
            continue
        body = tok[1:] if tok[:1] in "+-" else tok
        if not body or not all("0" <= c <= "9" for c in body):
            raise TextError(f"line {lineno}: expected an integer sample or NA, found `{tok}`")
        v = int(tok)
        if not SAMPLE_MIN <= v <= SAMPLE_MAX:
            raise TextError(f"line {lineno}: sample {v} is outside the 12-bit range -2048..=2047")
        items.append(v)
    return items


def format_text(items):
    return "".join(f"{it}\n" for it in items)
