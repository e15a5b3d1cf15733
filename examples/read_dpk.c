/*
 * read_dpk: list and read a .dpk archive with libdaspack (as written by `daspack compress X.npy X.dpk`,
 * `daspack pack`, or write_dpk.c).
 *
 *   read_dpk IN.dpk [ENTRY [ORIGINAL.raw [OUT.raw]]]
 *
 * Lists every entry (kind, type and shape of arrays, sizes, chunks, codec, checksum). Then takes the array entry
 * ENTRY (default or "-": the first array) and reads it three ways: whole (size asked first), range of rows by
 * range of rows, and chunk by chunk; checks that they agree; verifies the whole archive (every chunk's CRC-32 and
 * every entry's digest); opens the archive a second time from memory and compares. With ORIGINAL.raw (the array's
 * bytes, e.g. a .npy file without its header; "-" for none) the entry must equal it; OUT.raw receives the entry's
 * bytes.
 *
 * Build: cc read_dpk.c $(pkg-config --cflags --libs daspack)
 */
#include <daspack.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *call, DaspackError status) {
    fprintf(stderr, "read_dpk: %s failed with %s: %s\n", call, daspack_error_name(status), daspack_last_error());
    exit(1);
}

#define CALL(expr)                                                                                                     \
    do {                                                                                                               \
        DaspackError st_ = (expr);                                                                                     \
        if (st_ != DASPACK_OK) fail(#expr, st_);                                                                       \
    } while (0)

static const char *kind_name(DaspackEntryKind k) {
    return k == DASPACK_ENTRY_ARRAY ? "array" : k == DASPACK_ENTRY_DIR ? "dir" : "file";
}

static const char *codec_name(DaspackCodec c) {
    static const char *names[] = {"stored", "das", "zstd", "lz4", "deflate"};
    return c < 5 ? names[c] : "?";
}

static const char *dtype_name(DaspackDType t) {
    static const char *names[] = {"other", "int16", "uint16", "int32", "float32", "float64"};
    return t < 6 ? names[t] : "?";
}

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "read_dpk: cannot open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
    if (!buf || size < 0 || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "read_dpk: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    *len = (size_t)size;
    return buf;
}

/* Lists the entries; returns the index of the array to read (`want` by name, or the first array). */
static uint64_t list(DaspackArchive *a, const char *want, int *found) {
    uint64_t n = 0, pick = 0;
    *found = 0;
    CALL(daspack_archive_entry_count(a, &n));
    printf("%llu entries\n", (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        DaspackEntryInfo e;
        CALL(daspack_archive_entry_info(a, i, &e));
        /* The name's size is in the info; asking with too small a buffer would report it too. */
        char *name = malloc(e.name_size);
        size_t name_len = 0;
        if (!name) exit(1);
        CALL(daspack_archive_entry_name(a, i, name, e.name_size, &name_len));
        printf("  %-24s %-5s", name, kind_name(e.kind));
        if (e.kind == DASPACK_ENTRY_ARRAY) {
            printf(" %s (", dtype_name(e.dtype));
            for (uint32_t d = 0; d < e.ndim && d < DASPACK_MAX_DIMS; d++)
                printf(d ? ", %llu" : "%llu", (unsigned long long)e.shape[d]);
            printf(e.ndim == 1 ? ",)" : ")");
        }
        printf(" %llu -> %llu bytes, %llu chunks, %s, %s\n", (unsigned long long)e.size,
               (unsigned long long)e.stored_size, (unsigned long long)e.chunk_count, codec_name(e.codec),
               daspack_checksum_name(e.checksum));
        if (!*found && e.kind == DASPACK_ENTRY_ARRAY && (want == NULL || strcmp(want, name) == 0)) {
            pick = i;
            *found = 1;
        }
        free(name);
    }
    return pick;
}

/* The whole entry, asking its size first (a too-small buffer reports the size needed). */
static uint8_t *read_whole(DaspackArchive *a, uint64_t index, size_t *len) {
    uint8_t probe[1];
    size_t need = 0;
    DaspackError st = daspack_archive_read(a, index, probe, 0, 0, &need);
    if (st != DASPACK_OK && st != DASPACK_ERROR_BUFFER_TOO_SMALL) fail("daspack_archive_read (size)", st);
    uint8_t *buf = malloc(need ? need : 1);
    if (!buf) exit(1);
    CALL(daspack_archive_read(a, index, buf, need, 0, len));
    return buf;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: %s IN.dpk [ENTRY [ORIGINAL.raw [OUT.raw]]]\n", argv[0]);
        return 2;
    }
    const char *want = argc > 2 && strcmp(argv[2], "-") != 0 ? argv[2] : NULL;

    DaspackArchive *a = NULL;
    CALL(daspack_archive_open(argv[1], &a));
    int found = 0;
    uint64_t idx = list(a, want, &found);
    if (!found) {
        fprintf(stderr, "read_dpk: no array entry%s%s in %s\n", want ? " named " : "", want ? want : "", argv[1]);
        return 1;
    }
    DaspackEntryInfo e;
    CALL(daspack_archive_entry_info(a, idx, &e));

    /* 1. Whole. */
    size_t whole_len = 0;
    uint8_t *whole = read_whole(a, idx, &whole_len);

    /* 2. Row ranges (any row0 and count work; only the chunks holding them are decoded). Ranges of about 2/3 of a
     * chunk, so that some straddle two chunks and each chunk is decoded about twice. */
    size_t row_bytes = (size_t)(e.cols * e.itemsize);
    uint64_t step = row_bytes ? e.chunk_size / row_bytes * 2 / 3 + 1 : 1;
    uint8_t *rows = malloc(whole_len ? whole_len : 1);
    if (!rows) return 1;
    for (uint64_t r = 0; r < e.rows; r += step) {
        uint64_t k = e.rows - r < step ? e.rows - r : step;
        size_t got = 0;
        CALL(daspack_archive_read_rows(a, idx, r, k, rows + r * row_bytes, (size_t)k * row_bytes, &got));
        if (got != k * row_bytes) return 1;
    }

    /* 3. Chunk by chunk, each into place. */
    uint8_t *chunks = malloc(whole_len ? whole_len : 1);
    if (!chunks) return 1;
    for (uint64_t c = 0; c < e.chunk_count; c++) {
        DaspackChunkInfo ci;
        size_t got = 0;
        CALL(daspack_archive_chunk_info(a, idx, c, &ci));
        CALL(daspack_archive_read_chunks(a, idx, c, 1, chunks + ci.offset, whole_len - ci.offset, &got));
        if (got != ci.size) return 1;
    }
    if (whole_len != e.size || memcmp(whole, rows, whole_len) != 0 || memcmp(whole, chunks, whole_len) != 0) {
        fprintf(stderr, "read_dpk: whole, row-range and chunk reads differ\n");
        return 1;
    }
    printf("entry %llu: %zu bytes read whole, in %llu-row ranges and in %llu chunks: identical\n",
           (unsigned long long)idx, whole_len, (unsigned long long)step, (unsigned long long)e.chunk_count);

    /* 4. Verify every entry. */
    CALL(daspack_archive_verify(a, 0));
    printf("verified: every chunk CRC-32 and entry digest holds\n");

    /* 5. The same archive from memory. */
    size_t file_len = 0;
    uint8_t *file = read_file(argv[1], &file_len);
    DaspackArchive *m = NULL;
    CALL(daspack_archive_open_memory(file, file_len, &m));
    free(file); /* the archive object holds its own copy */
    size_t mem_len = 0;
    uint8_t *mem = read_whole(m, idx, &mem_len);
    if (mem_len != whole_len || memcmp(mem, whole, whole_len) != 0) {
        fprintf(stderr, "read_dpk: the archive read from memory differs\n");
        return 1;
    }
    daspack_archive_free(m);

    /* 6. Against the original. */
    if (argc > 3 && strcmp(argv[3], "-") != 0) {
        size_t orig_len = 0;
        uint8_t *orig = read_file(argv[3], &orig_len);
        if (orig_len != whole_len || memcmp(orig, whole, whole_len) != 0) {
            fprintf(stderr, "read_dpk: entry differs from %s\n", argv[3]);
            return 1;
        }
        printf("identical to %s\n", argv[3]);
        free(orig);
    }
    if (argc > 4) {
        FILE *o = fopen(argv[4], "wb");
        if (!o || fwrite(whole, 1, whole_len, o) != whole_len || fclose(o) != 0) {
            fprintf(stderr, "read_dpk: cannot write %s\n", argv[4]);
            return 1;
        }
    }
    daspack_archive_free(a);
    free(whole);
    free(rows);
    free(chunks);
    free(mem);
    return 0;
}
