/*
 * compress_int32: compress a raw int32 array with libdaspack, decompress it again and check the round trip.
 *
 *   compress_int32 IN.raw ROWS COLS OUT.das OUT.raw [ABS_ERROR [THREADS]]
 *
 * IN.raw holds ROWS x COLS int32 values (time x channel, row-major, machine byte order), for instance the data of
 * a .npy file without its header. OUT.das receives the bare daspack codec stream (not an archive: write_dpk.c
 * writes .dpk archives), OUT.raw the decompressed array (identical to IN.raw when ABS_ERROR is 0, the default;
 * otherwise every value within ABS_ERROR).
 *
 * Build: cc compress_int32.c $(pkg-config --cflags --libs daspack)
 */
#include <daspack.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Prints the failed call with the library's status name and message, then exits. */
static void fail(const char *call, DaspackError status) {
    fprintf(stderr, "compress_int32: %s failed with %s: %s\n", call, daspack_error_name(status), daspack_last_error());
    exit(1);
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "compress_int32: cannot open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fprintf(stderr, "compress_int32: out of memory reading %s\n", path);
            exit(1);
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        cap *= 2;
        unsigned char *bigger = realloc(buf, cap);
        if (!bigger) free(buf);
        buf = bigger;
    }
    if (ferror(f)) {
        fprintf(stderr, "compress_int32: error reading %s\n", path);
        exit(1);
    }
    fclose(f);
    *len = n;
    return buf;
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "compress_int32: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

static double seconds(void) {
    struct timespec t;
    timespec_get(&t, TIME_UTC);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 6 || argc > 8) {
        fprintf(stderr, "usage: %s IN.raw ROWS COLS OUT.das OUT.raw [ABS_ERROR [THREADS]]\n", argv[0]);
        return 2;
    }
    size_t rows = strtoull(argv[2], NULL, 10), cols = strtoull(argv[3], NULL, 10);
    size_t in_len = 0;
    int32_t *data = (int32_t *)read_file(argv[1], &in_len);
    if (rows == 0 || cols == 0 || in_len != rows * cols * sizeof(int32_t)) {
        fprintf(stderr, "compress_int32: %s holds %zu bytes, not %zu x %zu int32\n", argv[1], in_len, rows, cols);
        return 1;
    }

    DaspackParams params;
    DaspackError st = daspack_params_init(&params);
    if (st != DASPACK_OK) fail("daspack_params_init", st);
    if (argc > 6) params.abs_error = strtod(argv[6], NULL);
    if (argc > 7) params.threads = (uint32_t)strtoul(argv[7], NULL, 10);

    /* A buffer of daspack_compress_bound bytes always holds the stream. */
    size_t bound = 0;
    st = daspack_compress_bound(DASPACK_DTYPE_INT32, rows, cols, &params, &bound);
    if (st != DASPACK_OK) fail("daspack_compress_bound", st);
    uint8_t *packed = malloc(bound);
    if (!packed) return 1;
    size_t packed_len = 0;
    double t0 = seconds();
    st = daspack_compress_i32(data, rows, cols, &params, packed, bound, &packed_len);
    double t1 = seconds();
    if (st != DASPACK_OK) fail("daspack_compress_i32", st);
    write_file(argv[4], packed, packed_len);

    /* What the stream holds, before decoding it. */
    DaspackStreamInfo info;
    st = daspack_stream_info(packed, packed_len, &info);
    if (st != DASPACK_OK) fail("daspack_stream_info", st);
    if (info.dtype != DASPACK_DTYPE_INT32 || info.rows != rows || info.cols != cols) {
        fprintf(stderr, "compress_int32: stream info does not match the input\n");
        return 1;
    }

    int32_t *back = malloc(info.decoded_size);
    if (!back) return 1;
    size_t got = 0;
    double t2 = seconds();
    st = daspack_decompress_i32(packed, packed_len, back, rows * cols, params.threads, &got);
    double t3 = seconds();
    if (st != DASPACK_OK) fail("daspack_decompress_i32", st);
    if (got != rows * cols) {
        fprintf(stderr, "compress_int32: decoded %zu elements, expected %zu\n", got, rows * cols);
        return 1;
    }

    /* Lossless: identical. Fixed accuracy: every element within the bound. */
    double worst = 0;
    for (size_t i = 0; i < rows * cols; i++) {
        double d = (double)data[i] - (double)back[i];
        if (d < 0) d = -d;
        if (d > worst) worst = d;
    }
    if (worst > params.abs_error) {
        fprintf(stderr, "compress_int32: max error %.0f exceeds the bound %g\n", worst, params.abs_error);
        return 1;
    }
    write_file(argv[5], back, info.decoded_size);

    double mb = (double)in_len / 1e6;
    printf("daspack %s: %zu x %zu int32, %zu -> %zu bytes (ratio %.3f), %llu tiles of %u x %u, %s, max error %.0f\n",
           daspack_version(), rows, cols, in_len, packed_len, (double)in_len / (double)packed_len,
           (unsigned long long)info.tile_count, info.block_height, info.block_width,
           info.lossless ? "lossless" : "fixed accuracy", worst);
    printf("compress %.1f MB/s, decompress %.1f MB/s\n", mb / (t1 - t0), mb / (t3 - t2));
    free(data);
    free(packed);
    free(back);
    return 0;
}
