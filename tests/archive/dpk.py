"""
An independent reader of `.dpk` archives (docs/format.md, appendix "Archive format .dpk v1", sections A.1-A.6),
written from that document alone in Python + numpy, with `zstandard`, `lz4` (`lz4.block`), `xxhash` and `blake3`
for the codecs and checksums the document names. DAS-coded chunks are decoded by the independent DAS stream decoder
tests/format/decode.py (sections 1-6).

    a = Archive(data_or_path, commit=None)   # commit: None (the committed state), 0 / 1 (that slot), "footer"
    a.entries                      # list of Entry, in index order
    a.entry(name) -> Entry
    a.entry_bytes(e) -> bytes      # the entry's original bytes (for arrays: the array data), digest checked
    a.file_bytes(e) -> bytes       # the file as extracted (arrays: .npy magic + header + data)
    a.read_range(e, start, stop)   # a byte range of the entry, decoding only the chunks it touches
    a.verify()                     # every chunk CRC, every decode, every digest
    a.extract(dir)                 # like `daspack unpack`

Raises DpkError on anything the document says a reader must reject, and on whatever cannot be decoded. Where the
document leaves a case open, this reader does what the reference reader (the `daspack` CLI) was found to do by
experiment with crafted archives (tests/archive/cases.py, crafted/*); those places are marked "FOUND" in the
comments. Where the document is explicit and the CLI does otherwise, this reader follows the document, and
cases.py lists the case in KNOWN (a disagreement to settle).
"""

import ast
import hashlib
import json
import os
import struct
import sys
import zlib

import numpy as np

MAGIC = b"\x89DPK\r\n\x1a\n"
FOOTER_MAGIC = b"DPK-END\n"
HEADER_LEN = 80
SLOT_LEN = 32
FOOTER_LEN = 40
MAX_NAME = 4096
MAX_CHUNK = 1 << 30

KINDS = {0: "file", 1: "array", 2: "directory"}
CODECS = {0: "stored", 1: "das", 2: "zstd", 3: "lz4", 4: "deflate"}
F_DELTA, F_SHUFFLE, F_BITSHUFFLE = 1, 2, 4
CHECKSUMS = {0: "none", 1: "adler32", 2: "crc32", 3: "md5", 4: "sha1", 5: "sha224", 6: "sha256", 7: "sha384",
             8: "sha512", 9: "xxh64", 10: "blake3"}
DIGEST_SIZE = {0: 0, 1: 4, 2: 4, 3: 16, 4: 20, 5: 28, 6: 32, 7: 48, 8: 64, 9: 8, 10: 32}
DAS_DTYPES = {"int16": "<i2", "uint16": "<u2", "int32": "<i4", "float32": "<f4", "float64": "<f8"}


class DpkError(ValueError):
    pass


def fail(msg):
    raise DpkError(msg)


def crc32(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def digest(checksum_id, data):
    """The digest bytes of `data` as the index stores them (A.2)."""
    name = CHECKSUMS[checksum_id]
    if name == "none":
        return b""
    if name == "adler32":
        return struct.pack("<I", zlib.adler32(data) & 0xFFFFFFFF)
    if name == "crc32":
        return struct.pack("<I", crc32(data))
    if name == "xxh64":
        import xxhash
        # FOUND: the document does not give the seed; the archives' digests are those of seed 0.
        return struct.pack(">Q", xxhash.xxh64_intdigest(data, seed=0))
    if name == "blake3":
        import blake3
        return blake3.blake3(data).digest()
    return hashlib.new(name, data).digest()


# ---------------------------------------------------------------------------------------------------- A.1


class Commit:
    def __init__(self, raw, where):
        self.raw = raw
        self.where = where  # "slot0", "slot1", "footer"
        self.generation, self.index_offset, self.index_len, self.index_crc, self.slot_crc = struct.unpack(
            "<QQQII", raw)

    @property
    def valid(self):
        return crc32(self.raw[:28]) == self.slot_crc and self.generation != 0

    def __repr__(self):
        return (f"Commit({self.where}, gen={self.generation}, index={self.index_offset}+{self.index_len}, "
                f"valid={self.valid})")


def parse_header(data):
    if len(data) < HEADER_LEN:
        fail(f"file of {len(data)} bytes is shorter than the 80-byte header")
    if data[:8] != MAGIC:
        fail("bad magic")
    version, flags, hcrc = struct.unpack_from("<HHI", data, 8)
    if crc32(data[:12]) != hcrc:
        fail("header CRC-32 mismatch")
    # A.6: a reader refuses other versions; A.1: flags must be 0. (The header CRC is checked first, so a torn header
    # is reported as such; all three are rejections.)
    if version != 1:
        fail(f"unsupported version {version}")
    if flags != 0:
        fail(f"unknown flags {flags:#x}")
    return version, flags


def slots(data):
    return [Commit(data[16:48], "slot0"), Commit(data[48:80], "slot1")]


def footer(data):
    """The footer commit, or None when the file does not end with "DPK-END\\n"."""
    if len(data) < HEADER_LEN + FOOTER_LEN or data[-8:] != FOOTER_MAGIC:
        return None
    return Commit(data[-FOOTER_LEN:-8], "footer")


def choose_commit(data, which=None):
    """A.1 'Choosing the committed state'. which: None (the rule), 0 or 1 (force a slot), 'footer'."""
    s = slots(data)
    n = len(data)
    if which in (0, 1):
        c = s[which]
        if not c.valid:
            fail(f"slot {which} is not valid")
    elif which == "footer":
        c = footer(data)
        if c is None or not c.valid:
            fail("no valid footer")
    else:
        valid = [c for c in s if c.valid]
        if valid:
            # FOUND: two valid slots with the same generation (never written by the A.5 procedure): the document
            # does not say; the CLI takes slot 0.
            c = max(valid, key=lambda c: (c.generation, c.where == "slot0"))
        else:
            c = footer(data)
            if c is None:
                fail("no commit: neither slot is valid and there is no footer (never completed, or cut short)")
            if not c.valid:
                fail("no commit: the footer is not valid")
            if c.index_offset + c.index_len != n - FOOTER_LEN:
                fail("no commit: the footer does not directly follow its index")
    if c.index_offset < HEADER_LEN:
        fail(f"index offset {c.index_offset} inside the header")
    if c.index_offset + c.index_len > n:
        fail(f"truncated: index {c.index_offset}+{c.index_len} past the end of the {n}-byte file")
    idx = data[c.index_offset:c.index_offset + c.index_len]
    if crc32(idx) != c.index_crc:
        fail("index CRC-32 mismatch")
    return c, idx


# ---------------------------------------------------------------------------------------------------- A.2


class Chunk:
    __slots__ = ("offset", "stored_len", "orig_len", "crc", "start")

    def __init__(self, offset, stored_len, orig_len, crc, start):
        self.offset, self.stored_len, self.orig_len, self.crc, self.start = offset, stored_len, orig_len, crc, start

    def __repr__(self):
        return f"Chunk(@{self.offset} {self.orig_len}->{self.stored_len} crc {self.crc:08x})"


class Entry:
    def __repr__(self):
        return (f"Entry({self.name!r} {self.kind_name} {self.codec_name} filters={self.filters} ts={self.typesize} "
                f"{self.checksum_name} size={self.size} chunks={len(self.chunks)})")

    @property
    def kind_name(self):
        return KINDS[self.kind]

    @property
    def codec_name(self):
        return CODECS[self.codec]

    @property
    def checksum_name(self):
        return CHECKSUMS[self.checksum]

    @property
    def filter_names(self):
        return [n for b, n in ((F_DELTA, "delta"), (F_SHUFFLE, "shuffle"), (F_BITSHUFFLE, "bitshuffle"))
                if self.filters & b]

    @property
    def stored_size(self):
        return sum(c.stored_len for c in self.chunks)


class _Cursor:
    def __init__(self, b):
        self.b, self.p = b, 0

    def left(self):
        return len(self.b) - self.p

    def take(self, n, what):
        if n > self.left():
            fail(f"index truncated reading {what}")
        v = self.b[self.p:self.p + n]
        self.p += n
        return v

    def unpack(self, fmt, what):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))


def check_name(raw):
    if not 1 <= len(raw) <= MAX_NAME:
        fail(f"name length {len(raw)} outside 1..=4096")
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        fail("name is not UTF-8")
    if "\0" in name or "\\" in name:
        fail(f"name {name!r} holds NUL or backslash")
    for comp in name.split("/"):
        if comp in ("", ".", ".."):
            fail(f"name {name!r} has an empty, '.' or '..' component")
    return name


def expansion_limit(codec, stored):
    return {0: stored, 1: (1 << 20) * stored, 2: 32768 * stored, 3: 256 * stored + 64, 4: 1032 * stored + 1024}[codec]


def parse_index(idx, index_offset):
    cur = _Cursor(idx)
    if cur.take(4, "magic") != b"DPKI":
        fail("bad index magic")
    (n,) = cur.unpack("<I", "entry count")
    if n > cur.left() // 34:
        fail(f"entry count {n} cannot fit in {cur.left()} bytes")
    entries, names = [], set()
    for _ in range(n):
        e = Entry()
        (L,) = cur.unpack("<H", "name length")
        e.name = check_name(cur.take(L, "name"))
        if e.name in names:
            fail(f"two entries named {e.name!r}")
        names.add(e.name)
        e.kind, e.codec, e.filters, e.typesize, e.checksum, e.level = cur.unpack("<BBBBBb", "entry header")
        reserved = cur.take(2, "reserved")
        if e.kind not in KINDS:
            fail(f"unknown kind {e.kind}")
        if e.codec not in CODECS:
            fail(f"unknown codec {e.codec}")
        if e.filters & ~7:
            fail(f"unknown filter bits {e.filters:#x}")
        if e.filters & F_SHUFFLE and e.filters & F_BITSHUFFLE:
            fail("shuffle and bitshuffle together")
        if e.typesize < 1:
            fail("typesize 0")
        if e.filters & F_DELTA and e.typesize not in (1, 2, 4, 8):
            fail(f"delta with typesize {e.typesize}")
        if e.checksum not in CHECKSUMS:
            fail(f"unknown checksum id {e.checksum}")
        if reserved != b"\0\0":
            fail("nonzero reserved bytes")
        e.size, e.chunk_size, M = cur.unpack("<QII", "size, chunk size, metadata length")
        if not 1 <= e.chunk_size <= MAX_CHUNK:
            fail(f"chunk_size {e.chunk_size} outside 1..=2^30")
        raw_meta = cur.take(M, "metadata")
        try:
            e.metadata = json.loads(raw_meta.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            fail("metadata is not JSON")
        if not isinstance(e.metadata, dict):
            fail("metadata is not a JSON object")
        e.digest = cur.take(DIGEST_SIZE[e.checksum], "digest")
        (c,) = cur.unpack("<Q", "chunk count")
        if c > cur.left() // 20:
            fail(f"chunk count {c} cannot fit in {cur.left()} bytes")
        e.chunks, total = [], 0
        for _ in range(c):
            off, sl, ol, crc = cur.unpack("<QIII", "chunk record")
            if off < HEADER_LEN or off + sl > index_offset:
                fail(f"chunk bytes {off}+{sl} not inside [80, {index_offset})")
            if ol == 0 or ol > e.chunk_size:
                fail(f"chunk original length {ol} is 0 or above chunk_size {e.chunk_size}")
            if ol > expansion_limit(e.codec, sl) or (e.codec == 0 and ol != sl):
                fail(f"chunk original length {ol} beyond the {CODECS[e.codec]} expansion limit of {sl} bytes")
            e.chunks.append(Chunk(off, sl, ol, crc, total))
            total += ol
        if total != e.size:
            fail(f"chunk original lengths sum to {total}, not the size {e.size}")
        if e.kind == 2 and (e.size != 0 or e.chunks):
            fail("a directory with a size or chunks")
        entries.append(e)
    if cur.left():
        fail(f"{cur.left()} bytes after the last entry of the index")
    return entries


# ---------------------------------------------------------------------------------------------------- A.3 filters


def unshuffle(b, ts):
    n = len(b) // ts
    if ts == 1 or n == 0:
        return b
    body = np.frombuffer(b, np.uint8, n * ts).reshape(ts, n).T
    return body.tobytes() + b[n * ts:]


def unbitshuffle(b, ts):
    n = len(b) // ts
    if n % 8 != 0 or n == 0:
        return b  # "otherwise the chunk is stored unchanged"
    # stored bit (j*8+k)*n + i, LSB first, is bit k of byte j of element i.
    # FOUND: the document does not say where the len % ts trailing bytes go when n is a multiple of 8: as for
    # shuffle, they follow the n*ts transposed bytes unchanged (CLI archives with typesize 5 and 1001-byte chunks).
    body = np.frombuffer(b, np.uint8, n * ts)
    bits = np.unpackbits(body, bitorder="little").reshape(ts * 8, n)  # row j*8+k, column i
    elems = np.packbits(bits.T.reshape(n, ts, 8), axis=2, bitorder="little").reshape(n * ts)
    return elems.tobytes() + b[n * ts:]


def undelta(b, ts):
    n = len(b) // ts
    if n == 0:
        return b
    dt = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}[ts]
    v = np.frombuffer(b, dt, n)
    out = np.cumsum(v, dtype=dt)  # unsigned cumsum wraps modulo 2^(8 ts)
    return out.astype(dt).tobytes() + b[n * ts:]


# ---------------------------------------------------------------------------------------------------- A.3 codecs


def _das_decode():
    here = os.path.dirname(os.path.abspath(__file__))
    p = os.path.join(here, "..", "format")
    if p not in sys.path:
        sys.path.insert(0, p)
    import decode  # tests/format/decode.py
    return decode


def decode_chunk(e, ch, stored, das_stats=None):
    ol = ch.orig_len
    if e.codec == 0:
        out = stored
    elif e.codec == 2:
        import zstandard
        try:
            d = zstandard.ZstdDecompressor().decompressobj()
            out = d.decompress(stored)
        except zstandard.ZstdError as x:
            fail(f"zstd: {x}")
        # "one zstd frame": the frame must end, with nothing after it. (The CLI also accepts further frames, skippable
        # or not, after the first: KNOWN in cases.py.)
        if not d.eof:
            fail("zstd: the frame does not end")
        if d.unused_data:
            fail("zstd: bytes after the frame")
    elif e.codec == 3:
        import lz4.block
        try:
            out = lz4.block.decompress(stored, uncompressed_size=ol)
        except Exception as x:  # lz4.block.LZ4BlockError
            fail(f"lz4: {x}")
    elif e.codec == 4:
        d = zlib.decompressobj(-15)
        try:
            out = d.decompress(stored, ol + 1)
        except zlib.error as x:
            fail(f"deflate: {x}")
        if len(out) > ol:
            fail("deflate: more than the original length")
        if not d.eof:
            fail("deflate: the stream does not end")
        # FOUND: the document does not say whether bytes may follow the final deflate block; the CLI ignores them
        # (a second deflate stream after the first is thus ignored too, and the chunk then decodes too short).
    elif e.codec == 1:
        out = decode_das_chunk(e, stored, ol, das_stats)
    if len(out) != ol:
        fail(f"chunk decodes to {len(out)} bytes, not {ol}")
    f = e.filters
    if f & F_SHUFFLE:
        out = unshuffle(out, e.typesize)
    elif f & F_BITSHUFFLE:
        out = unbitshuffle(out, e.typesize)
    if f & F_DELTA:
        out = undelta(out, e.typesize)
    return bytes(out)


def decode_das_chunk(e, stored, ol, stats=None):
    # FOUND: A.3 says das is for array entries but not that a reader rejects it elsewhere; the CLI decodes a das
    # chunk of a file entry that has the `das` metadata, so this reader does too.
    das = e.metadata.get("das")
    if not isinstance(das, dict) or das.get("dtype") not in DAS_DTYPES or not isinstance(das.get("cols"), int):
        fail("das-coded entry without a usable metadata 'das' (dtype, cols)")
    dec = _das_decode()
    try:
        a = dec.decode(stored, stats=stats)
    except dec.CorruptStream as x:
        fail(f"das: {x}")
    want = np.dtype(DAS_DTYPES[das["dtype"]])
    if a.dtype.newbyteorder("<") != want:
        fail(f"das stream dtype {a.dtype} is not the metadata's {das['dtype']}")
    if a.ndim != 2 or a.shape[1] != das["cols"]:
        fail(f"das stream shape {a.shape} does not have the metadata's {das['cols']} columns")
    if a.size * want.itemsize != ol:
        fail(f"das stream of {a.shape} elements is not the original length {ol}")
    return np.ascontiguousarray(a, dtype=want).tobytes()


# ---------------------------------------------------------------------------------------------------- A.4


def npy_prefix(e):
    """The bytes before the array data of the original .npy file (A.4)."""
    m = e.metadata.get("npy")
    if not isinstance(m, dict):
        # FOUND: the document does not say an array entry must have `npy`; the CLI cannot extract one without it.
        fail("array entry without 'npy' metadata")
    try:
        major, minor = m["version"]
        header = m["header"]
        descr, shape = m["descr"], m["shape"]
        itemsize = np.dtype(descr if not isinstance(descr, list) else [tuple(x) for x in descr]).itemsize
        n = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
    except (KeyError, TypeError, ValueError):
        fail("incomplete 'npy' metadata")
    # A.4: the entry's bytes must be prod(shape) x itemsize long (the CLI checks the header text instead: KNOWN).
    if n * itemsize != e.size:
        fail(f"array entry of {e.size} bytes is not prod({shape}) x {itemsize}")
    # FOUND: the document lists no .npy versions; the CLI extracts 1.x, 2.x and 3.x only, and refuses a header
    # text that does not describe the entry's bytes.
    if major not in (1, 2, 3):
        fail(f".npy version {major}.{minor}")
    try:
        h = ast.literal_eval(header)
        hn = int(np.prod(h["shape"], dtype=np.int64)) if len(h["shape"]) else 1
        hsize = np.dtype(h["descr"] if not isinstance(h["descr"], list) else [tuple(x) for x in h["descr"]]).itemsize
    except Exception:  # noqa: BLE001 (any unparsable header)
        fail(f"npy header {header!r} is not a .npy header dictionary")
    if hn * hsize != e.size:
        fail(f"npy header {header.strip()!r} does not describe the entry's {e.size} bytes")
    # FOUND: the document does not say how the header text is encoded: latin-1 for versions 1 and 2 (numpy's rule),
    # UTF-8 for version 3.
    try:
        hb = header.encode("utf-8" if major >= 3 else "latin-1")
    except UnicodeEncodeError:
        fail("npy header not encodable")
    out = b"\x93NUMPY" + bytes([major, minor])
    out += struct.pack("<H", len(hb)) if major == 1 else struct.pack("<I", len(hb))
    return out + hb


def memory_layout(e):
    m = e.metadata["npy"]
    shape = m["shape"]
    if len(shape) == 0:
        return 1, 1
    if m["fortran_order"]:
        return shape[-1], int(np.prod(shape[:-1], dtype=np.int64))
    return shape[0], int(np.prod(shape[1:], dtype=np.int64))


# ---------------------------------------------------------------------------------------------------- archive


class Archive:
    def __init__(self, src, commit=None):
        if isinstance(src, (str, os.PathLike)):
            with open(src, "rb") as f:
                src = f.read()
        self.data = bytes(src)
        self.version, self.flags = parse_header(self.data)
        self.commit, idx = choose_commit(self.data, commit)
        self.generation = self.commit.generation
        self.entries = parse_index(idx, self.commit.index_offset)
        self.by_name = {e.name: e for e in self.entries}
        self.das_stats = None

    def entry(self, name):
        try:
            return self.by_name[name]
        except KeyError:
            fail(f"no entry {name!r}")

    def chunk_bytes(self, e, ch):
        stored = self.data[ch.offset:ch.offset + ch.stored_len]
        if crc32(stored) != ch.crc:
            fail(f"{e.name}: chunk at {ch.offset}: CRC-32 mismatch")
        return decode_chunk(e, ch, stored, self.das_stats)

    def entry_bytes(self, e, check_digest=True):
        if isinstance(e, str):
            e = self.entry(e)
        out = b"".join(self.chunk_bytes(e, ch) for ch in e.chunks)
        if len(out) != e.size:
            fail(f"{e.name}: {len(out)} bytes, not {e.size}")
        if check_digest and digest(e.checksum, out) != e.digest:
            fail(f"{e.name}: {e.checksum_name} digest mismatch")
        return out

    def read_range(self, e, start, stop):
        if isinstance(e, str):
            e = self.entry(e)
        start, stop = max(0, start), min(stop, e.size)
        parts = []
        for ch in e.chunks:
            if ch.start + ch.orig_len <= start or ch.start >= stop:
                continue
            b = self.chunk_bytes(e, ch)
            parts.append(b[max(0, start - ch.start):stop - ch.start])
        return b"".join(parts)

    def file_bytes(self, e):
        if isinstance(e, str):
            e = self.entry(e)
        if e.kind == 2:
            fail(f"{e.name} is a directory")
        body = self.entry_bytes(e)
        return npy_prefix(e) + body if e.kind == 1 else body

    def verify(self):
        for e in self.entries:
            if e.kind != 2:
                self.file_bytes(e)
        return True

    def extract(self, outdir):
        for e in self.entries:
            p = os.path.join(outdir, *e.name.split("/"))
            if e.kind == 2:
                os.makedirs(p, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
            with open(p, "wb") as f:
                f.write(self.file_bytes(e))


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cmd", choices=["list", "verify", "info", "cat", "unpack"])
    ap.add_argument("archive")
    ap.add_argument("arg", nargs="?")
    a = ap.parse_args(argv)
    try:
        ar = Archive(sys.stdin.buffer.read() if a.archive == "-" else a.archive)
        if a.cmd == "list":
            for e in ar.entries:
                print(f"{e.kind_name:10} {e.size:12} {e.stored_size:12} {e.codec_name:8} {e.name}")
        elif a.cmd == "info":
            print(ar.commit)
            for e in ar.entries:
                print(e, json.dumps(e.metadata))
                for c in e.chunks:
                    print("   ", c)
        elif a.cmd == "verify":
            ar.verify()
            print("ok")
        elif a.cmd == "cat":
            sys.stdout.buffer.write(ar.file_bytes(a.arg))
        elif a.cmd == "unpack":
            ar.extract(a.arg)
    except DpkError as x:
        print(f"dpk.py: {x}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
