/*
 * write_dpk: write a .dpk archive with libdaspack: an array compressed by the DAS codec, a text entry, then a
 * second entry appended to the committed archive.
 *
 *   write_dpk IN.raw DTYPE ROWS COLS OUT.dpk [ABS_ERROR [CHUNK_BYTES]]
 *
 * IN.raw holds ROWS x COLS elements of DTYPE (int16, uint16, int32, float32 or float64; time x channel, row-major,
 * machine byte order), for instance the data of a .npy file without its header. OUT.dpk receives:
 *   array.npy    the array (unpacks to a .npy file), lossless or within ABS_ERROR, in chunks of about
 *                CHUNK_BYTES (default 1 MiB) of whole rows, each decodable alone
 *   README.txt   a few lines of text, zstd
 *   meta.json    shape and dtype, deflate, added by appending to the committed archive
 * The archive is written to a temporary file and renamed to OUT.dpk by the commit, so OUT.dpk is never partial.
 * Read it back with read_dpk, or with `daspack list|decompress|verify`.
 *
 * Build: cc write_dpk.c $(pkg-config --cflags --libs daspack)
 */
#include <daspack.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *call, DaspackError status) {
    fprintf(stderr, "write_dpk: %s failed with %s: %s\n", call, daspack_error_name(status), daspack_last_error());
    exit(1);
}

static int parse_dtype(const char *s, DaspackDType *t, size_t *size) {
    static const struct {
        const char *name;
        DaspackDType t;
        size_t size;
    } known[] = {{"int16", DASPACK_DTYPE_INT16, 2},
                 {"uint16", DASPACK_DTYPE_UINT16, 2},
                 {"int32", DASPACK_DTYPE_INT32, 4},
                 {"float32", DASPACK_DTYPE_FLOAT32, 4},
                 {"float64", DASPACK_DTYPE_FLOAT64, 8}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(s, known[i].name) == 0) {
            *t = known[i].t;
            *size = known[i].size;
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 6 || argc > 8) {
        fprintf(stderr, "usage: %s IN.raw DTYPE ROWS COLS OUT.dpk [ABS_ERROR [CHUNK_BYTES]]\n", argv[0]);
        return 2;
    }
    DaspackDType dtype;
    size_t elem;
    if (!parse_dtype(argv[2], &dtype, &elem)) {
        fprintf(stderr, "write_dpk: unknown dtype %s (int16, uint16, int32, float32, float64)\n", argv[2]);
        return 2;
    }
    uint64_t shape[2] = {strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10)};
    const char *out = argv[5];
    double abs_error = argc > 6 ? strtod(argv[6], NULL) : 0.0;
    unsigned long chunk = argc > 7 ? strtoul(argv[7], NULL, 10) : 1ul << 20;

    /* The input array. */
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        fprintf(stderr, "write_dpk: cannot open %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    size_t bytes = (size_t)(shape[0] * shape[1]) * elem;
    void *data = malloc(bytes ? bytes : 1);
    if (!data || fread(data, 1, bytes, f) != bytes || fgetc(f) != EOF) {
        fprintf(stderr, "write_dpk: %s does not hold %s x %s %s\n", argv[1], argv[3], argv[4], argv[2]);
        return 1;
    }
    fclose(f);

    /* A new archive: entries go to a temporary file until the commit. */
    DaspackArchiveWriter *w = NULL;
    DaspackError st = daspack_archive_writer_new(out, 0, &w);
    if (st != DASPACK_OK) fail("daspack_archive_writer_new", st);

    DaspackEntryOptions opts;
    st = daspack_entry_options_init(&opts); /* DAS codec, lossless, XXH64 digest */
    if (st != DASPACK_OK) fail("daspack_entry_options_init", st);
    opts.das.abs_error = abs_error;
    opts.das_chunk_size = (uint32_t)chunk;
    st = daspack_archive_writer_add_array(w, "array.npy", dtype, data, shape, 2, &opts);
    if (st != DASPACK_OK) fail("daspack_archive_writer_add_array", st);

    static const char readme[] = "Written by examples/write_dpk.c.\n"
                                 "array.npy: a time x channel DAS array, compressed by the daspack codec.\n";
    DaspackEntryOptions text;
    daspack_entry_options_init(&text);
    text.codec = DASPACK_CODEC_ZSTD;
    text.level = 19;
    text.checksum = DASPACK_CHECKSUM_SHA256;
    st = daspack_archive_writer_add_bytes(w, "README.txt", (const uint8_t *)readme, strlen(readme), &text);
    if (st != DASPACK_OK) fail("daspack_archive_writer_add_bytes", st);

    st = daspack_archive_writer_commit(w); /* index, fsync, rename to OUT.dpk */
    if (st != DASPACK_OK) fail("daspack_archive_writer_commit", st);
    daspack_archive_writer_free(w);

    /* Append one more entry: crash-safe, the archive reads as before until this commit. */
    st = daspack_archive_writer_append(out, 1, &w);
    if (st != DASPACK_OK) fail("daspack_archive_writer_append", st);
    char meta[256];
    int n = snprintf(meta, sizeof meta, "{\"shape\": [%llu, %llu], \"dtype\": \"%s\", \"abs_error\": %g}\n",
                     (unsigned long long)shape[0], (unsigned long long)shape[1], argv[2], abs_error);
    text.codec = DASPACK_CODEC_DEFLATE;
    text.level = 0; /* the codec's default */
    st = daspack_archive_writer_add_bytes(w, "meta.json", (const uint8_t *)meta, (size_t)n, &text);
    if (st != DASPACK_OK) fail("daspack_archive_writer_add_bytes", st);
    st = daspack_archive_writer_commit(w);
    if (st != DASPACK_OK) fail("daspack_archive_writer_commit (append)", st);
    daspack_archive_writer_free(w);

    /* What was written. */
    DaspackArchive *a = NULL;
    st = daspack_archive_open(out, &a);
    if (st != DASPACK_OK) fail("daspack_archive_open", st);
    DaspackEntryInfo info;
    st = daspack_archive_entry_info(a, 0, &info);
    if (st != DASPACK_OK) fail("daspack_archive_entry_info", st);
    printf("%s: array.npy %llu x %llu %s, %llu -> %llu bytes (ratio %.3f) in %llu chunks, %s\n", out,
           (unsigned long long)info.shape[0], (unsigned long long)info.shape[1], argv[2],
           (unsigned long long)info.size, (unsigned long long)info.stored_size,
           info.stored_size ? (double)info.size / (double)info.stored_size : 0.0,
           (unsigned long long)info.chunk_count, abs_error > 0 ? "fixed accuracy" : "lossless");
    daspack_archive_free(a);
    free(data);
    return 0;
}
