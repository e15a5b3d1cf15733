/*
 * Calls every entry point of the installed libdaspack from C with NULL pointers, zero lengths, too-small output
 * buffers, bad enumeration values and corrupt input, and checks the status and message of each call. Also checks
 * the struct layouts against the ones the Rust side pins (crates/capi/tests/abi.rs). Run natively and under
 * valgrind by tests/capi/run.sh; prints "abi_errors: N checks, M failed".
 *
 * Ends by checking the process's peak resident size stayed below 256 MB over all the hostile calls (skipped under
 * valgrind, whose own memory counts, by setting DASPACK_SKIP_RSS_CHECK).
 *
 *   abi_errors [TMPDIR]     (the .dpk archive checks write and remove a few files there; default /tmp)
 */
#define _POSIX_C_SOURCE 200809L
#include <daspack.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int checks = 0, failures = 0;

/* `got` must be `want`; on an error the thread's message must contain `func` and `frag`. */
static void expect(int line, DaspackError got, DaspackError want, const char *func, const char *frag) {
    const char *msg = daspack_last_error();
    checks++;
    int ok = got == want;
    if (ok && want != DASPACK_OK) {
        ok = msg != NULL && strncmp(msg, func, strlen(func)) == 0 && (frag == NULL || strstr(msg, frag) != NULL);
    }
    if (!ok) {
        failures++;
        fprintf(stderr, "FAIL line %d: got %s, want %s; message \"%s\" (wanted \"%s\" ... \"%s\")\n", line,
                daspack_error_name(got), daspack_error_name(want), msg ? msg : "(null)", func, frag ? frag : "");
    }
}
#define EXPECT(call, want, func, frag) expect(__LINE__, (call), (want), (func), (frag))
#define TRUE_OR_FAIL(cond)                                                                                             \
    do {                                                                                                               \
        checks++;                                                                                                      \
        if (!(cond)) {                                                                                                 \
            failures++;                                                                                                \
            fprintf(stderr, "FAIL line %d: %s\n", __LINE__, #cond);                                                    \
        }                                                                                                              \
    } while (0)

enum { R = 40, C = 6, N = R * C };

static void layouts(void) {
    TRUE_OR_FAIL(sizeof(DaspackParams) == 40);
    TRUE_OR_FAIL(offsetof(DaspackParams, abs_error) == 0 && offsetof(DaspackParams, threads) == 36);
    TRUE_OR_FAIL(sizeof(DaspackStreamInfo) == 64);
    TRUE_OR_FAIL(offsetof(DaspackStreamInfo, rows) == 8 && offsetof(DaspackStreamInfo, abs_error) == 32);
    TRUE_OR_FAIL(offsetof(DaspackStreamInfo, tile_count) == 56);
    TRUE_OR_FAIL(sizeof(DaspackTileInfo) == 32);
    TRUE_OR_FAIL(sizeof(DaspackError) == 4 && sizeof(DaspackDType) == 4 && sizeof(DaspackChecksumKind) == 4);
    TRUE_OR_FAIL(sizeof(DaspackEntryInfo) == 360);
    TRUE_OR_FAIL(offsetof(DaspackEntryInfo, size) == 24 && offsetof(DaspackEntryInfo, abs_error) == 88);
    TRUE_OR_FAIL(offsetof(DaspackEntryInfo, ndim) == 96 && offsetof(DaspackEntryInfo, shape) == 104);
    TRUE_OR_FAIL(sizeof(DaspackChunkInfo) == 40);
    TRUE_OR_FAIL(sizeof(DaspackEntryOptions) == 72);
    TRUE_OR_FAIL(offsetof(DaspackEntryOptions, checksum) == 24 && offsetof(DaspackEntryOptions, das) == 32);
}

static void version_and_names(void) {
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", DASPACK_VERSION_MAJOR, DASPACK_VERSION_MINOR, DASPACK_VERSION_PATCH);
    TRUE_OR_FAIL(strcmp(daspack_version(), want) == 0);
    TRUE_OR_FAIL(daspack_version_number() ==
                 DASPACK_VERSION_MAJOR * 10000u + DASPACK_VERSION_MINOR * 100u + DASPACK_VERSION_PATCH);
    TRUE_OR_FAIL(strcmp(daspack_error_name(DASPACK_ERROR_CORRUPT), "DASPACK_ERROR_CORRUPT") == 0);
    TRUE_OR_FAIL(strcmp(daspack_error_name(-5), "DASPACK_ERROR_UNKNOWN") == 0);
    TRUE_OR_FAIL(strcmp(daspack_error_name(DASPACK_ERROR_IO), "DASPACK_ERROR_IO") == 0);
    TRUE_OR_FAIL(daspack_last_error() != NULL);
}

/* Returns a valid stream of an R x C int32 array in `stream` (capacity `cap`); its length in `*len`. */
static void make_stream(int32_t *data, uint8_t *stream, size_t cap, size_t *len) {
    for (int i = 0; i < N; i++) data[i] = (i % C) * 100 + (i / C) % 17 - 8;
    DaspackParams p;
    EXPECT(daspack_params_init(&p), DASPACK_OK, "", NULL);
    p.block_height = 16;
    p.block_width = 4;
    EXPECT(daspack_compress_i32(data, R, C, &p, stream, cap, len), DASPACK_OK, "", NULL);
}

static void codec(void) {
    int32_t data[N], back[N];
    uint8_t stream[8192], out[8192];
    size_t len = 0, n = 0, bound = 0;
    DaspackParams p;
    DaspackStreamInfo info;
    DaspackTileInfo tile;
    make_stream(data, stream, sizeof stream, &len);

    EXPECT(daspack_params_init(NULL), DASPACK_ERROR_NULL_POINTER, "daspack_params_init", "params");
    daspack_params_init(&p);

    EXPECT(daspack_compress_bound(DASPACK_DTYPE_INT32, R, C, NULL, &bound), DASPACK_ERROR_NULL_POINTER,
           "daspack_compress_bound", "params");
    EXPECT(daspack_compress_bound(DASPACK_DTYPE_INT32, R, C, &p, NULL), DASPACK_ERROR_NULL_POINTER,
           "daspack_compress_bound", "bound");
    EXPECT(daspack_compress_bound(0, R, C, &p, &bound), DASPACK_ERROR_INVALID_ARGUMENT, "daspack_compress_bound",
           "dtype 0");
    EXPECT(daspack_compress_bound(DASPACK_DTYPE_INT32, (size_t)-1, 2, &p, &bound), DASPACK_ERROR_TOO_LARGE,
           "daspack_compress_bound", NULL);
    EXPECT(daspack_compress_bound(DASPACK_DTYPE_INT32, R, C, &p, &bound), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(bound >= len);

    /* compress: generic and every typed variant. */
    EXPECT(daspack_compress(DASPACK_DTYPE_INT32, NULL, R, C, &p, out, sizeof out, &n), DASPACK_ERROR_NULL_POINTER,
           "daspack_compress", "data");
    EXPECT(daspack_compress(99, data, R, C, &p, out, sizeof out, &n), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_compress", "dtype 99");
    EXPECT(daspack_compress(DASPACK_DTYPE_INT32, data, R, C, &p, out, 0, &n), DASPACK_ERROR_BUFFER_TOO_SMALL,
           "daspack_compress", "0 bytes");
    {
        size_t need = n;
        TRUE_OR_FAIL(need > 0 && need <= bound);
        EXPECT(daspack_compress(DASPACK_DTYPE_INT32, data, R, C, &p, out, need - 1, &n),
               DASPACK_ERROR_BUFFER_TOO_SMALL, "daspack_compress", "needs");
        EXPECT(daspack_compress(DASPACK_DTYPE_INT32, data, R, C, &p, out, need, &n), DASPACK_OK, "", NULL);
        TRUE_OR_FAIL(n == need);
    }
    EXPECT(daspack_compress(DASPACK_DTYPE_INT32, (const char *)data + 2, 2, 2, &p, out, sizeof out, &n),
           DASPACK_ERROR_INVALID_ARGUMENT, "daspack_compress", "aligned");
    EXPECT(daspack_compress_i16(NULL, 1, 1, &p, out, sizeof out, &n), DASPACK_ERROR_NULL_POINTER,
           "daspack_compress_i16", "data");
    EXPECT(daspack_compress_u16((const uint16_t *)data, 1, 1, NULL, out, sizeof out, &n), DASPACK_ERROR_NULL_POINTER,
           "daspack_compress_u16", "params");
    EXPECT(daspack_compress_i32(data, R, C, &p, NULL, sizeof out, &n), DASPACK_ERROR_NULL_POINTER,
           "daspack_compress_i32", "dst");
    EXPECT(daspack_compress_f32((const float *)data, 1, 1, &p, out, sizeof out, NULL), DASPACK_ERROR_NULL_POINTER,
           "daspack_compress_f32", "dst_len");
    {
        double nan[4] = {0.0, 1.0, 0.0, 0.0};
        nan[2] = nan[0] / nan[0];
        DaspackParams q = p;
        q.abs_error = 0.5;
        EXPECT(daspack_compress_f64(nan, 2, 2, &q, out, sizeof out, &n), DASPACK_ERROR_UNREPRESENTABLE,
               "daspack_compress_f64", "element 2");
        q.lpc_order = 1000;
        EXPECT(daspack_compress_f64(nan, 2, 2, &q, out, sizeof out, &n), DASPACK_ERROR_INVALID_ARGUMENT,
               "daspack_compress_f64", "lpc_order");
        q = p;
        q.threads = DASPACK_MAX_THREADS + 1;
        EXPECT(daspack_compress_i32(data, R, C, &q, out, sizeof out, &n), DASPACK_ERROR_INVALID_ARGUMENT,
               "daspack_compress_i32", "threads");
    }
    EXPECT(daspack_compress_i32(data, R, C, &p, (uint8_t *)data + 4, 64, &n), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_compress_i32", "overlap");

    /* stream info and tiles. */
    EXPECT(daspack_stream_info(NULL, len, &info), DASPACK_ERROR_NULL_POINTER, "daspack_stream_info", "src");
    EXPECT(daspack_stream_info(stream, len, NULL), DASPACK_ERROR_NULL_POINTER, "daspack_stream_info", "info");
    EXPECT(daspack_stream_info(stream, 0, &info), DASPACK_ERROR_TRUNCATED, "daspack_stream_info", "magic");
    EXPECT(daspack_stream_info(stream, len, &info), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(info.dtype == DASPACK_DTYPE_INT32 && info.rows == R && info.cols == C && info.lossless == 1);
    TRUE_OR_FAIL(info.tile_count == 3 * 2 && info.decoded_size == N * 4 && info.element_size == 4);
    EXPECT(daspack_tile_info(stream, len, 6, &tile), DASPACK_ERROR_INVALID_ARGUMENT, "daspack_tile_info", "tile 6");
    EXPECT(daspack_tile_info(stream, len, 5, NULL), DASPACK_ERROR_NULL_POINTER, "daspack_tile_info", "info");
    EXPECT(daspack_tile_info(stream, len, 5, &tile), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(tile.row0 == 32 && tile.col0 == 4 && tile.rows == 8 && tile.cols == 2);
    EXPECT(daspack_decompress_tile(stream, len, 5, out, 63, &n, &tile), DASPACK_ERROR_BUFFER_TOO_SMALL,
           "daspack_decompress_tile", "needs 64");
    TRUE_OR_FAIL(n == 64);
    EXPECT(daspack_decompress_tile(NULL, len, 5, out, 64, &n, &tile), DASPACK_ERROR_NULL_POINTER,
           "daspack_decompress_tile", "src");
    EXPECT(daspack_decompress_tile(stream, len, 5, NULL, 64, &n, &tile), DASPACK_ERROR_NULL_POINTER,
           "daspack_decompress_tile", "dst");
    EXPECT(daspack_decompress_tile(stream, len, 5, out, 64, NULL, &tile), DASPACK_ERROR_NULL_POINTER,
           "daspack_decompress_tile", "dst_len");
    EXPECT(daspack_decompress_tile(stream, len, 5, out, 64, &n, &tile), DASPACK_OK, "", NULL);
    {
        int32_t t[16];
        memcpy(t, out, 64);
        TRUE_OR_FAIL(t[0] == data[32 * C + 4] && t[15] == data[39 * C + 5]);
    }

    /* decompress: generic and typed, too small, wrong type, misaligned. */
    EXPECT(daspack_decompress(stream, len, out, N * 4 - 1, 0, &n), DASPACK_ERROR_BUFFER_TOO_SMALL,
           "daspack_decompress", "needs 960");
    TRUE_OR_FAIL(n == N * 4);
    EXPECT(daspack_decompress(stream, len, out, N * 4, 0, NULL), DASPACK_ERROR_NULL_POINTER, "daspack_decompress",
           "dst_len");
    EXPECT(daspack_decompress(stream, len, out, N * 4, 0, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == N * 4 && memcmp(out, data, N * 4) == 0);
    /* The kept buffers freed: the next calls make them again and give the same stream and array. */
    EXPECT(daspack_release_buffers(), DASPACK_OK, "", NULL);
    {
        uint8_t again[8192];
        size_t again_len = 0;
        make_stream(data, again, sizeof again, &again_len);
        TRUE_OR_FAIL(again_len == len && memcmp(again, stream, len) == 0);
    }
    memset(out, 0, N * 4);
    EXPECT(daspack_decompress(stream, len, out, N * 4, 0, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == N * 4 && memcmp(out, data, N * 4) == 0);
    EXPECT(daspack_decompress_i32(stream, len, back, 0, 1, &n), DASPACK_ERROR_BUFFER_TOO_SMALL,
           "daspack_decompress_i32", "0 elements");
    TRUE_OR_FAIL(n == N);
    EXPECT(daspack_decompress_i32(stream, len, back, N, 1, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == N && memcmp(back, data, sizeof back) == 0);
    EXPECT(daspack_decompress_i32(stream, len, (int32_t *)((char *)back + 1), N - 1, 1, &n),
           DASPACK_ERROR_INVALID_ARGUMENT, "daspack_decompress_i32", "aligned");
    EXPECT(daspack_decompress_i16(stream, len, (int16_t *)back, 2 * N, 0, &n), DASPACK_ERROR_DTYPE_MISMATCH,
           "daspack_decompress_i16", "int32, not int16");
    EXPECT(daspack_decompress_u16(NULL, len, (uint16_t *)back, 2 * N, 0, &n), DASPACK_ERROR_NULL_POINTER,
           "daspack_decompress_u16", "src");
    EXPECT(daspack_decompress_f32(stream, len, NULL, N, 0, &n), DASPACK_ERROR_NULL_POINTER, "daspack_decompress_f32",
           "dst");
    {
        double dbl[N];
        EXPECT(daspack_decompress_f64(stream, len, dbl, N, 0, &n), DASPACK_ERROR_DTYPE_MISMATCH,
               "daspack_decompress_f64", "not float64");
    }
    EXPECT(daspack_decompress_i32(stream, len, back, N, 5000, &n), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_decompress_i32", "threads");

    /* Corrupt input: every truncation and every byte flip fails cleanly or decodes the original. */
    for (size_t cut = 0; cut < len; cut++) {
        DaspackError st = daspack_decompress_i32(stream, cut, back, N, 1, &n);
        checks++;
        if (st != DASPACK_ERROR_TRUNCATED && st != DASPACK_ERROR_CORRUPT) {
            failures++;
            fprintf(stderr, "FAIL truncation at %zu: %s (%s)\n", cut, daspack_error_name(st), daspack_last_error());
        }
    }
    uint8_t bad[8192];
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, stream, len);
        bad[i] ^= 0x5a;
        DaspackError st = daspack_decompress_i32(bad, len, back, N, 1, &n);
        checks++;
        if (st == DASPACK_ERROR_INTERNAL || (st == DASPACK_OK && memcmp(back, data, sizeof back) != 0) ||
            (st != DASPACK_OK && daspack_last_error()[0] == '\0')) {
            failures++;
            fprintf(stderr, "FAIL flip at %zu: %s (%s)\n", i, daspack_error_name(st), daspack_last_error());
        }
    }
    const char junk[] = "not a daspack stream, only text";
    EXPECT(daspack_decompress((const uint8_t *)junk, sizeof junk, out, sizeof out, 0, &n), DASPACK_ERROR_NOT_DASPACK,
           "daspack_decompress", "magic");
}

static void sensor(void) {
    int16_t slots[1000], back[1000];
    uint8_t code[4096];
    size_t len = 0, n = 0;
    uint64_t bits = 0, items = 0;
    for (int i = 0; i < 1000; i++) slots[i] = (int16_t)(i % 50 == 0 ? DASPACK_SENSOR_SLOT_NO_MEASUREMENT : 300 + i / 40);

    TRUE_OR_FAIL(daspack_sensor_max_encoded_len(8) == 15);
    EXPECT(daspack_sensor_encode(NULL, 5, code, sizeof code, &len, &bits), DASPACK_ERROR_NULL_POINTER,
           "daspack_sensor_encode", "slots");
    EXPECT(daspack_sensor_encode(slots, 1000, code, 3, &len, &bits), DASPACK_ERROR_BUFFER_TOO_SMALL,
           "daspack_sensor_encode", "3 bytes");
    EXPECT(daspack_sensor_encode(slots, 1000, code, sizeof code, &len, &bits), DASPACK_OK, "", NULL);
    {
        int16_t wild[3] = {1, 5000, 2};
        size_t l2;
        uint64_t b2;
        EXPECT(daspack_sensor_encode(wild, 3, code + 2048, 2048, &l2, &b2), DASPACK_ERROR_INVALID_ARGUMENT,
               "daspack_sensor_encode", "slot 1");
    }
    EXPECT(daspack_sensor_decode(code, len, 1000, back, 999, &n), DASPACK_ERROR_BUFFER_TOO_SMALL,
           "daspack_sensor_decode", "999 slots");
    EXPECT(daspack_sensor_decode(code, 0, 1000, back, 1000, &n), DASPACK_ERROR_TRUNCATED, "daspack_sensor_decode",
           "bit 0");
    EXPECT(daspack_sensor_decode(code, len, 1000, NULL, 1000, &n), DASPACK_ERROR_NULL_POINTER,
           "daspack_sensor_decode", "dst");
    EXPECT(daspack_sensor_decode(code, len, 1000, back, 1000, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == 1000 && memcmp(back, slots, sizeof back) == 0);

    DaspackSensorEncoder *enc = NULL;
    EXPECT(daspack_sensor_encoder_new(NULL), DASPACK_ERROR_NULL_POINTER, "daspack_sensor_encoder_new", "encoder");
    EXPECT(daspack_sensor_encoder_push(NULL, slots, 1), DASPACK_ERROR_NULL_POINTER, "daspack_sensor_encoder_push",
           "encoder");
    EXPECT(daspack_sensor_encoder_finish(NULL, &items, &bits), DASPACK_ERROR_NULL_POINTER,
           "daspack_sensor_encoder_finish", "encoder");
    EXPECT(daspack_sensor_encoder_pending(NULL, &n), DASPACK_ERROR_NULL_POINTER, "daspack_sensor_encoder_pending",
           "encoder");
    EXPECT(daspack_sensor_encoder_read(NULL, code, 1, &n), DASPACK_ERROR_NULL_POINTER, "daspack_sensor_encoder_read",
           "encoder");
    EXPECT(daspack_sensor_encoder_items(NULL, &items), DASPACK_ERROR_NULL_POINTER, "daspack_sensor_encoder_items",
           "encoder");
    daspack_sensor_encoder_free(NULL);
    EXPECT(daspack_sensor_encoder_new(&enc), DASPACK_OK, "", NULL);
    EXPECT(daspack_sensor_encoder_push(enc, NULL, 1), DASPACK_ERROR_NULL_POINTER, "daspack_sensor_encoder_push",
           "slots");
    EXPECT(daspack_sensor_encoder_push(enc, slots, 0), DASPACK_OK, "", NULL);
    EXPECT(daspack_sensor_encoder_push(enc, slots, 1000), DASPACK_OK, "", NULL);
    EXPECT(daspack_sensor_encoder_pending(enc, NULL), DASPACK_ERROR_NULL_POINTER, "daspack_sensor_encoder_pending",
           "bytes");
    EXPECT(daspack_sensor_encoder_read(enc, NULL, 1, &n), DASPACK_ERROR_NULL_POINTER, "daspack_sensor_encoder_read",
           "dst");
    EXPECT(daspack_sensor_encoder_read(enc, code, 0, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == 0);
    EXPECT(daspack_sensor_encoder_finish(enc, NULL, &bits), DASPACK_ERROR_NULL_POINTER,
           "daspack_sensor_encoder_finish", "items");
    EXPECT(daspack_sensor_encoder_finish(enc, &items, &bits), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(items == 1000);
    EXPECT(daspack_sensor_encoder_push(enc, slots, 1), DASPACK_ERROR_STATE, "daspack_sensor_encoder_push",
           "finished");
    EXPECT(daspack_sensor_encoder_items(enc, NULL), DASPACK_ERROR_NULL_POINTER, "daspack_sensor_encoder_items",
           "items");
    /* The encoder is freed with unread output: no leak. */
    daspack_sensor_encoder_free(enc);

    DaspackSensorDecoder *dec = NULL;
    EXPECT(daspack_sensor_decoder_new(NULL, len, 1000, &dec), DASPACK_ERROR_NULL_POINTER,
           "daspack_sensor_decoder_new", "src");
    EXPECT(daspack_sensor_decoder_new(code, len, 1000, NULL), DASPACK_ERROR_NULL_POINTER,
           "daspack_sensor_decoder_new", "decoder");
    EXPECT(daspack_sensor_decoder_read(NULL, back, 10, &n), DASPACK_ERROR_NULL_POINTER, "daspack_sensor_decoder_read",
           "decoder");
    EXPECT(daspack_sensor_decoder_check_end(NULL), DASPACK_ERROR_NULL_POINTER, "daspack_sensor_decoder_check_end",
           "decoder");
    daspack_sensor_decoder_free(NULL);
    /* Corrupt: a relative word before any sample. */
    {
        const uint8_t zeros[4] = {0, 0, 0, 0};
        EXPECT(daspack_sensor_decoder_new(zeros, 4, 5, &dec), DASPACK_OK, "", NULL);
        EXPECT(daspack_sensor_decoder_read(dec, back, 10, &n), DASPACK_ERROR_CORRUPT, "daspack_sensor_decoder_read",
               "bit 0");
        EXPECT(daspack_sensor_decoder_check_end(dec), DASPACK_ERROR_CORRUPT, "daspack_sensor_decoder_check_end", NULL);
        daspack_sensor_decoder_free(dec);
    }
    /* Half a stream: the decoder hands over what it could decode, then reports the truncation. */
    EXPECT(daspack_sensor_decoder_new(code, len / 2, 1000, &dec), DASPACK_OK, "", NULL);
    EXPECT(daspack_sensor_decoder_read(dec, back, 1000, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n > 0 && n < 1000 && memcmp(back, slots, n * 2) == 0);
    EXPECT(daspack_sensor_decoder_read(dec, back, 1000, &n), DASPACK_ERROR_TRUNCATED, "daspack_sensor_decoder_read",
           "truncated");
    daspack_sensor_decoder_free(dec);
}

static void checksums(void) {
    const uint8_t msg[] = "123456789";
    uint8_t out[DASPACK_CHECKSUM_MAX_SIZE];
    size_t n = 0, size = 0;
    DaspackChecksumKind kind = 0;
    EXPECT(daspack_checksum(DASPACK_CHECKSUM_CRC32, msg, 9, out, sizeof out, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == 4 && out[0] == 0x26 && out[1] == 0x39 && out[2] == 0xf4 && out[3] == 0xcb);
    EXPECT(daspack_checksum(DASPACK_CHECKSUM_SHA256, msg, 9, out, 31, &n), DASPACK_ERROR_BUFFER_TOO_SMALL,
           "daspack_checksum", "31 bytes");
    TRUE_OR_FAIL(n == 32);
    EXPECT(daspack_checksum(DASPACK_CHECKSUM_SHA256, NULL, 9, out, 64, &n), DASPACK_ERROR_NULL_POINTER,
           "daspack_checksum", "data");
    EXPECT(daspack_checksum(DASPACK_CHECKSUM_SHA256, msg, 0, out, 64, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == 32 && out[0] == 0xe3 && out[1] == 0xb0);
    EXPECT(daspack_checksum(12, msg, 9, out, 64, &n), DASPACK_ERROR_INVALID_ARGUMENT, "daspack_checksum", "kind 12");
    EXPECT(daspack_checksum_size(DASPACK_CHECKSUM_BLAKE3, &size), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(size == 32);
    EXPECT(daspack_checksum_size(DASPACK_CHECKSUM_BLAKE3, NULL), DASPACK_ERROR_NULL_POINTER, "daspack_checksum_size",
           "size");
    TRUE_OR_FAIL(strcmp(daspack_checksum_name(DASPACK_CHECKSUM_XXH64), "xxh64") == 0);
    TRUE_OR_FAIL(daspack_checksum_name(1000) == NULL);
    EXPECT(daspack_checksum_from_name("Adler32", &kind), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(kind == DASPACK_CHECKSUM_ADLER32);
    EXPECT(daspack_checksum_from_name("", &kind), DASPACK_ERROR_INVALID_ARGUMENT, "daspack_checksum_from_name",
           "unknown checksum");
    EXPECT(daspack_checksum_from_name(NULL, &kind), DASPACK_ERROR_NULL_POINTER, "daspack_checksum_from_name", "name");

    DaspackHasher *h = NULL;
    EXPECT(daspack_hasher_new(DASPACK_CHECKSUM_BLAKE3 + 1, &h), DASPACK_ERROR_INVALID_ARGUMENT, "daspack_hasher_new",
           "kind 11");
    EXPECT(daspack_hasher_new(DASPACK_CHECKSUM_CRC32, NULL), DASPACK_ERROR_NULL_POINTER, "daspack_hasher_new",
           "hasher");
    EXPECT(daspack_hasher_update(NULL, msg, 9), DASPACK_ERROR_NULL_POINTER, "daspack_hasher_update", "hasher");
    EXPECT(daspack_hasher_finish(NULL, out, 64, &n), DASPACK_ERROR_NULL_POINTER, "daspack_hasher_finish", "hasher");
    daspack_hasher_free(NULL);
    EXPECT(daspack_hasher_new(DASPACK_CHECKSUM_CRC32, &h), DASPACK_OK, "", NULL);
    EXPECT(daspack_hasher_update(h, msg, 4), DASPACK_OK, "", NULL);
    EXPECT(daspack_hasher_update(h, msg + 4, 5), DASPACK_OK, "", NULL);
    EXPECT(daspack_hasher_update(h, NULL, 5), DASPACK_ERROR_NULL_POINTER, "daspack_hasher_update", "data");
    EXPECT(daspack_hasher_finish(h, out, 3, &n), DASPACK_ERROR_BUFFER_TOO_SMALL, "daspack_hasher_finish", "3 bytes");
    EXPECT(daspack_hasher_finish(h, out, 4, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == 4 && out[0] == 0x26 && out[3] == 0xcb);
    daspack_hasher_free(h);
}

/* ---- .dpk archives ---- */

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    *len = 0;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc(n > 0 ? (size_t)n : 1);
        if (buf && n >= 0 && fread(buf, 1, (size_t)n, f) == (size_t)n) {
            *len = (size_t)n;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

/* Writes an archive of an R x C int32 array in 4 chunks (10 rows each) and a 1000-byte file entry. */
static void write_archive(const char *path, const int32_t *data, const uint8_t *bytes) {
    DaspackArchiveWriter *w = NULL;
    DaspackEntryOptions o;
    uint64_t shape[2] = {R, C};
    EXPECT(daspack_archive_writer_new(path, 1, &w), DASPACK_OK, "", NULL);
    EXPECT(daspack_entry_options_init(&o), DASPACK_OK, "", NULL);
    o.das_chunk_size = 10 * C * 4;
    EXPECT(daspack_archive_writer_add_array(w, "wave.npy", DASPACK_DTYPE_INT32, data, shape, 2, &o), DASPACK_OK, "",
           NULL);
    o.codec = DASPACK_CODEC_LZ4;
    o.chunk_size = 300;
    EXPECT(daspack_archive_writer_add_bytes(w, "bytes.bin", bytes, 1000, &o), DASPACK_OK, "", NULL);
    EXPECT(daspack_archive_writer_commit(w), DASPACK_OK, "", NULL);
    daspack_archive_writer_free(w);
}

static void archives(const char *tmpdir) {
    char path[512], other[512];
    int32_t data[N], back[N];
    uint8_t bytes[1000], buf[4096];
    size_t n = 0;
    uint64_t count = 0, idx = 0;
    DaspackArchive *a = NULL;
    DaspackArchiveWriter *w = NULL;
    DaspackEntryInfo info;
    DaspackChunkInfo chunk;
    DaspackEntryOptions o;
    uint64_t shape[2] = {R, C};
    snprintf(path, sizeof path, "%s/abi_errors_%ld.dpk", tmpdir, (long)getpid());
    snprintf(other, sizeof other, "%s/abi_errors_%ld_never.dpk", tmpdir, (long)getpid());
    for (int i = 0; i < N; i++) data[i] = (i % C) * 100 + (i / C) % 17 - 8;
    for (int i = 0; i < 1000; i++) bytes[i] = (uint8_t)(i / 7);
    write_archive(path, data, bytes);

    /* Opening. */
    EXPECT(daspack_archive_open(NULL, &a), DASPACK_ERROR_NULL_POINTER, "daspack_archive_open", "path");
    EXPECT(daspack_archive_open(path, NULL), DASPACK_ERROR_NULL_POINTER, "daspack_archive_open", "archive");
    EXPECT(daspack_archive_open("", &a), DASPACK_ERROR_INVALID_ARGUMENT, "daspack_archive_open", "empty path");
    EXPECT(daspack_archive_open(other, &a), DASPACK_ERROR_IO, "daspack_archive_open", "cannot open");
    EXPECT(daspack_archive_open(tmpdir, &a), DASPACK_ERROR_INVALID_ARGUMENT, "daspack_archive_open", "directory");
    TRUE_OR_FAIL(a == NULL);
    EXPECT(daspack_archive_open_memory(NULL, 100, &a), DASPACK_ERROR_NULL_POINTER, "daspack_archive_open_memory",
           "data");
    EXPECT(daspack_archive_open_memory(bytes, 0, &a), DASPACK_ERROR_NOT_DASPACK, "daspack_archive_open_memory",
           "not a .dpk");
    EXPECT(daspack_archive_open_memory((const uint8_t *)"\x89" "DPK\r\n\x1a\n\x01", 9, &a), DASPACK_ERROR_TRUNCATED,
           "daspack_archive_open_memory", "truncated archive");
    EXPECT(daspack_archive_open_memory(bytes, sizeof bytes, &a), DASPACK_ERROR_NOT_DASPACK,
           "daspack_archive_open_memory", "not a .dpk");
    EXPECT(daspack_archive_open_memory(bytes, sizeof bytes, NULL), DASPACK_ERROR_NULL_POINTER,
           "daspack_archive_open_memory", "archive");
    daspack_archive_free(NULL);
    EXPECT(daspack_archive_open(path, &a), DASPACK_OK, "", NULL);

    /* Listing. */
    EXPECT(daspack_archive_entry_count(a, &count), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(count == 2);
    EXPECT(daspack_archive_entry_count(NULL, &count), DASPACK_ERROR_NULL_POINTER, "daspack_archive_entry_count",
           "archive");
    EXPECT(daspack_archive_entry_count(a, NULL), DASPACK_ERROR_NULL_POINTER, "daspack_archive_entry_count", "count");
    EXPECT(daspack_archive_entry_info(a, 0, &info), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(info.kind == DASPACK_ENTRY_ARRAY && info.dtype == DASPACK_DTYPE_INT32);
    TRUE_OR_FAIL(info.codec == DASPACK_CODEC_DAS);
    TRUE_OR_FAIL(info.ndim == 2 && info.shape[0] == R && info.shape[1] == C && info.rows == R && info.cols == C);
    TRUE_OR_FAIL(info.size == sizeof data && info.chunk_count == 4 && info.itemsize == 4 && info.name_size == 9);
    TRUE_OR_FAIL(info.checksum == DASPACK_CHECKSUM_XXH64 && info.abs_error == 0.0);
    EXPECT(daspack_archive_entry_info(a, 2, &info), DASPACK_ERROR_INVALID_ARGUMENT, "daspack_archive_entry_info",
           "entry 2 out of range");
    EXPECT(daspack_archive_entry_info(a, 0, NULL), DASPACK_ERROR_NULL_POINTER, "daspack_archive_entry_info", "info");
    EXPECT(daspack_archive_entry_info(NULL, 0, &info), DASPACK_ERROR_NULL_POINTER, "daspack_archive_entry_info",
           "archive");
    EXPECT(daspack_archive_entry_name(a, 0, (char *)buf, 8, &n), DASPACK_ERROR_BUFFER_TOO_SMALL,
           "daspack_archive_entry_name", "needs 9");
    TRUE_OR_FAIL(n == 9);
    EXPECT(daspack_archive_entry_name(a, 0, (char *)buf, 9, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == 9 && strcmp((char *)buf, "wave.npy") == 0);
    EXPECT(daspack_archive_entry_name(a, 0, NULL, 9, &n), DASPACK_ERROR_NULL_POINTER, "daspack_archive_entry_name",
           "dst");
    EXPECT(daspack_archive_entry_name(a, 0, (char *)buf, 9, NULL), DASPACK_ERROR_NULL_POINTER,
           "daspack_archive_entry_name", "dst_len");
    EXPECT(daspack_archive_find(a, "bytes.bin", &idx), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(idx == 1);
    EXPECT(daspack_archive_find(a, "missing", &idx), DASPACK_ERROR_INVALID_ARGUMENT, "daspack_archive_find",
           "no entry named");
    EXPECT(daspack_archive_find(a, NULL, &idx), DASPACK_ERROR_NULL_POINTER, "daspack_archive_find", "name");
    EXPECT(daspack_archive_find(a, "wave.npy", NULL), DASPACK_ERROR_NULL_POINTER, "daspack_archive_find", "index");
    EXPECT(daspack_archive_chunk_info(a, 0, 3, &chunk), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(chunk.offset == 30 * C * 4 && chunk.size == 10 * C * 4 && chunk.file_offset >= 80);
    EXPECT(daspack_archive_chunk_info(a, 0, 4, &chunk), DASPACK_ERROR_INVALID_ARGUMENT, "daspack_archive_chunk_info",
           "chunk 4 out of range");
    EXPECT(daspack_archive_chunk_info(a, 0, 0, NULL), DASPACK_ERROR_NULL_POINTER, "daspack_archive_chunk_info",
           "info");

    /* Reading: whole, ranges, NULLs, zero lengths, too-small buffers. */
    EXPECT(daspack_archive_read(a, 0, back, sizeof back, 0, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == sizeof data && memcmp(back, data, sizeof data) == 0);
    EXPECT(daspack_archive_read(a, 0, back, sizeof back - 1, 0, &n), DASPACK_ERROR_BUFFER_TOO_SMALL,
           "daspack_archive_read", "needs 960");
    TRUE_OR_FAIL(n == sizeof data);
    EXPECT(daspack_archive_read(a, 0, back, 0, 0, &n), DASPACK_ERROR_BUFFER_TOO_SMALL, "daspack_archive_read",
           "holds 0 bytes");
    EXPECT(daspack_archive_read(a, 0, NULL, sizeof back, 0, &n), DASPACK_ERROR_NULL_POINTER, "daspack_archive_read",
           "dst");
    EXPECT(daspack_archive_read(a, 0, back, sizeof back, 0, NULL), DASPACK_ERROR_NULL_POINTER,
           "daspack_archive_read", "dst_len");
    EXPECT(daspack_archive_read(NULL, 0, back, sizeof back, 0, &n), DASPACK_ERROR_NULL_POINTER,
           "daspack_archive_read", "archive");
    EXPECT(daspack_archive_read(a, 0, back, sizeof back, DASPACK_MAX_THREADS + 1, &n), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_archive_read", "threads");
    memset(back, 0, sizeof back);
    EXPECT(daspack_archive_read_rows(a, 0, 13, 20, back, 20 * C * 4, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == 20 * C * 4 && memcmp(back, data + 13 * C, n) == 0);
    EXPECT(daspack_archive_read_rows(a, 0, 13, 20, back, 20 * C * 4 - 1, &n), DASPACK_ERROR_BUFFER_TOO_SMALL,
           "daspack_archive_read_rows", "needs 480");
    TRUE_OR_FAIL(n == 20 * C * 4);
    EXPECT(daspack_archive_read_rows(a, 0, 39, 2, back, sizeof back, &n), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_archive_read_rows", "40 rows");
    EXPECT(daspack_archive_read_rows(a, 0, 40, 0, back, 0, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == 0);
    EXPECT(daspack_archive_read_rows(a, 1, 0, 1, back, sizeof back, &n), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_archive_read_rows", "not an array");
    EXPECT(daspack_archive_read_rows(a, 0, 0, 1, NULL, sizeof back, &n), DASPACK_ERROR_NULL_POINTER,
           "daspack_archive_read_rows", "dst");
    EXPECT(daspack_archive_read_chunks(a, 1, 1, 2, buf, sizeof buf, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == 600 && memcmp(buf, bytes + 300, 600) == 0);
    EXPECT(daspack_archive_read_chunks(a, 1, 3, 2, buf, sizeof buf, &n), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_archive_read_chunks", "4 chunks");
    EXPECT(daspack_archive_read_chunks(a, 1, 0, 4, buf, 999, &n), DASPACK_ERROR_BUFFER_TOO_SMALL,
           "daspack_archive_read_chunks", "needs 1000");
    TRUE_OR_FAIL(n == 1000);
    EXPECT(daspack_archive_read_chunks(a, 1, 0, 1, buf, sizeof buf, NULL), DASPACK_ERROR_NULL_POINTER,
           "daspack_archive_read_chunks", "dst_len");
    EXPECT(daspack_archive_read_range(a, 1, 299, 2, buf, sizeof buf, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == 2 && buf[0] == bytes[299] && buf[1] == bytes[300]);
    EXPECT(daspack_archive_read_range(a, 1, 999, 2, buf, sizeof buf, &n), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_archive_read_range", "outside entry");
    EXPECT(daspack_archive_read_range(a, 1, 10, 0, buf, 0, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == 0);
    EXPECT(daspack_archive_read_range(a, 1, 0, 10, buf, 9, &n), DASPACK_ERROR_BUFFER_TOO_SMALL,
           "daspack_archive_read_range", "needs 10");
    EXPECT(daspack_archive_verify(a, 0), DASPACK_OK, "", NULL);
    EXPECT(daspack_archive_verify(NULL, 0), DASPACK_ERROR_NULL_POINTER, "daspack_archive_verify", "archive");
    EXPECT(daspack_archive_verify_entry(a, 5, 0), DASPACK_ERROR_INVALID_ARGUMENT, "daspack_archive_verify_entry",
           "entry 5");
    daspack_archive_free(a);
    a = NULL;

    /* Damaged and truncated archives, from memory. */
    size_t len = 0;
    uint8_t *file = slurp(path, &len);
    TRUE_OR_FAIL(file != NULL && len > 200);
    if (file) {
        EXPECT(daspack_archive_open_memory(file, len, &a), DASPACK_OK, "", NULL);
        EXPECT(daspack_archive_chunk_info(a, 0, 2, &chunk), DASPACK_OK, "", NULL);
        daspack_archive_free(a);
        a = NULL;
        file[chunk.file_offset + chunk.stored_size / 2] ^= 0x10;
        EXPECT(daspack_archive_open_memory(file, len, &a), DASPACK_OK, "", NULL);
        EXPECT(daspack_archive_verify(a, 1), DASPACK_ERROR_CORRUPT, "daspack_archive_verify", "chunk 2");
        EXPECT(daspack_archive_read(a, 0, back, sizeof back, 1, &n), DASPACK_ERROR_CORRUPT, "daspack_archive_read",
               "CRC-32 mismatch");
        EXPECT(daspack_archive_read_rows(a, 0, 0, 10, back, sizeof back, &n), DASPACK_OK, "", NULL);
        EXPECT(daspack_archive_read_rows(a, 0, 20, 1, back, sizeof back, &n), DASPACK_ERROR_CORRUPT,
               "daspack_archive_read_rows", "chunk 2");
        EXPECT(daspack_archive_verify_entry(a, 1, 1), DASPACK_OK, "", NULL);
        daspack_archive_free(a);
        a = NULL;
        file[chunk.file_offset + chunk.stored_size / 2] ^= 0x10;
        EXPECT(daspack_archive_open_memory(file, len - 1, &a), DASPACK_ERROR_TRUNCATED, "daspack_archive_open_memory",
               "truncated archive");
        EXPECT(daspack_archive_open_memory(file, 79, &a), DASPACK_ERROR_TRUNCATED, "daspack_archive_open_memory",
               NULL);
        file[len - 20] ^= 1; /* inside the index */
        EXPECT(daspack_archive_open_memory(file, len, &a), DASPACK_ERROR_CORRUPT, "daspack_archive_open_memory",
               "CRC-32 mismatch");
        file[len - 20] ^= 1;
        file[20] ^= 1; /* commit slot 0 */
        EXPECT(daspack_archive_open_memory(file, len, &a), DASPACK_ERROR_CORRUPT, "daspack_archive_open_memory",
               "no committed index");
        file[20] ^= 1;
        file[1] = 'X';
        EXPECT(daspack_archive_open_memory(file, len, &a), DASPACK_ERROR_NOT_DASPACK, "daspack_archive_open_memory",
               "bad magic");
        TRUE_OR_FAIL(a == NULL);
        /* Every prefix fails cleanly or opens; nothing crashes. */
        file[1] = 'D';
        for (size_t cut = 0; cut < len; cut += 13) {
            DaspackError st = daspack_archive_open_memory(file, cut, &a);
            checks++;
            if (st == DASPACK_OK || st == DASPACK_ERROR_INTERNAL) {
                failures++;
                fprintf(stderr, "FAIL: a %zu-byte prefix gave %s\n", cut, daspack_error_name(st));
                daspack_archive_free(a);
                a = NULL;
            }
        }
        free(file);
    }

    /* Writing: NULLs, bad options, names, misuse. */
    EXPECT(daspack_entry_options_init(NULL), DASPACK_ERROR_NULL_POINTER, "daspack_entry_options_init", "options");
    EXPECT(daspack_entry_options_init(&o), DASPACK_OK, "", NULL);
    EXPECT(daspack_archive_writer_new(NULL, 0, &w), DASPACK_ERROR_NULL_POINTER, "daspack_archive_writer_new", "path");
    EXPECT(daspack_archive_writer_new(other, 0, NULL), DASPACK_ERROR_NULL_POINTER, "daspack_archive_writer_new",
           "writer");
    EXPECT(daspack_archive_writer_new(other, DASPACK_MAX_THREADS + 1, &w), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_archive_writer_new", "threads");
    EXPECT(daspack_archive_writer_append(NULL, 0, &w), DASPACK_ERROR_NULL_POINTER, "daspack_archive_writer_append",
           "path");
    EXPECT(daspack_archive_writer_append(other, 0, &w), DASPACK_ERROR_IO, "daspack_archive_writer_append",
           "cannot open");
    {
        /* A directory that does not exist: the temporary file cannot be created. */
        char nodir[600];
        snprintf(nodir, sizeof nodir, "%s/abi_errors_%ld_no_such_dir/x.dpk", tmpdir, (long)getpid());
        EXPECT(daspack_archive_writer_new(nodir, 1, &w), DASPACK_ERROR_IO, "daspack_archive_writer_new",
               "cannot create");
        TRUE_OR_FAIL(w == NULL);
    }
    TRUE_OR_FAIL(w == NULL);
    daspack_archive_writer_free(NULL);
    EXPECT(daspack_archive_writer_new(other, 1, &w), DASPACK_OK, "", NULL);
    EXPECT(daspack_archive_writer_add_array(w, "a", DASPACK_DTYPE_INT32, NULL, shape, 2, &o),
           DASPACK_ERROR_NULL_POINTER, "daspack_archive_writer_add_array", "data");
    EXPECT(daspack_archive_writer_add_array(w, "a", DASPACK_DTYPE_INT32, data, NULL, 2, &o),
           DASPACK_ERROR_NULL_POINTER, "daspack_archive_writer_add_array", "shape");
    EXPECT(daspack_archive_writer_add_array(w, "a", DASPACK_DTYPE_INT32, data, shape, 2, NULL),
           DASPACK_ERROR_NULL_POINTER, "daspack_archive_writer_add_array", "options");
    EXPECT(daspack_archive_writer_add_array(w, NULL, DASPACK_DTYPE_INT32, data, shape, 2, &o),
           DASPACK_ERROR_NULL_POINTER, "daspack_archive_writer_add_array", "name");
    EXPECT(daspack_archive_writer_add_array(NULL, "a", DASPACK_DTYPE_INT32, data, shape, 2, &o),
           DASPACK_ERROR_NULL_POINTER, "daspack_archive_writer_add_array", "writer");
    EXPECT(daspack_archive_writer_add_array(w, "a", 7, data, shape, 2, &o), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_archive_writer_add_array", "dtype 7");
    EXPECT(daspack_archive_writer_add_array(w, "a", DASPACK_DTYPE_INT32, data, shape, 0, &o),
           DASPACK_ERROR_INVALID_ARGUMENT, "daspack_archive_writer_add_array", "ndim = 0");
    EXPECT(daspack_archive_writer_add_array(w, "../a", DASPACK_DTYPE_INT32, data, shape, 2, &o),
           DASPACK_ERROR_INVALID_ARGUMENT, "daspack_archive_writer_add_array", "..");
    o.codec = 77;
    EXPECT(daspack_archive_writer_add_array(w, "a", DASPACK_DTYPE_INT32, data, shape, 2, &o),
           DASPACK_ERROR_INVALID_ARGUMENT, "daspack_archive_writer_add_array", "options.codec = 77");
    daspack_entry_options_init(&o);
    o.filters = DASPACK_FILTER_SHUFFLE | DASPACK_FILTER_BITSHUFFLE;
    EXPECT(daspack_archive_writer_add_bytes(w, "b", bytes, 10, &o), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_archive_writer_add_bytes", "exclude each other");
    daspack_entry_options_init(&o);
    o.checksum = 99;
    EXPECT(daspack_archive_writer_add_bytes(w, "b", bytes, 10, &o), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_archive_writer_add_bytes", "checksum");
    daspack_entry_options_init(&o);
    o.das.abs_error = -1;
    EXPECT(daspack_archive_writer_add_array(w, "a", DASPACK_DTYPE_INT32, data, shape, 2, &o),
           DASPACK_ERROR_INVALID_ARGUMENT, "daspack_archive_writer_add_array", "abs_error");
    daspack_entry_options_init(&o);
    EXPECT(daspack_archive_writer_add_bytes(w, "b", NULL, 0, &o), DASPACK_ERROR_NULL_POINTER,
           "daspack_archive_writer_add_bytes", "data");
    EXPECT(daspack_archive_writer_add_bytes(w, "empty", bytes, 0, &o), DASPACK_OK, "", NULL);
    EXPECT(daspack_archive_writer_add_bytes(w, "empty", bytes, 1, &o), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_archive_writer_add_bytes", "already has an entry");
    EXPECT(daspack_archive_writer_add_dir(w, NULL), DASPACK_ERROR_NULL_POINTER, "daspack_archive_writer_add_dir",
           "name");
    EXPECT(daspack_archive_writer_add_dir(w, "dir"), DASPACK_OK, "", NULL);
    EXPECT(daspack_archive_writer_commit(NULL), DASPACK_ERROR_NULL_POINTER, "daspack_archive_writer_commit",
           "writer");
    /* Freed without a commit: nothing is left at `other`. */
    daspack_archive_writer_free(w);
    w = NULL;
    TRUE_OR_FAIL(access(other, F_OK) != 0);

    /* Append, abandoned then committed; after a commit only _free is accepted. */
    size_t before_len = 0, after_len = 0;
    uint8_t *before = slurp(path, &before_len);
    EXPECT(daspack_archive_writer_append(path, 1, &w), DASPACK_OK, "", NULL);
    EXPECT(daspack_archive_writer_add_bytes(w, "wave.npy", bytes, 10, &o), DASPACK_ERROR_INVALID_ARGUMENT,
           "daspack_archive_writer_add_bytes", "already has an entry");
    EXPECT(daspack_archive_writer_add_bytes(w, "late.bin", bytes, 1000, &o), DASPACK_OK, "", NULL);
    daspack_archive_writer_free(w);
    uint8_t *after = slurp(path, &after_len);
    TRUE_OR_FAIL(before && after && before_len == after_len && memcmp(before, after, before_len) == 0);
    free(before);
    free(after);
    EXPECT(daspack_archive_writer_append(path, 1, &w), DASPACK_OK, "", NULL);
    EXPECT(daspack_archive_writer_add_bytes(w, "late.bin", bytes, 1000, &o), DASPACK_OK, "", NULL);
    EXPECT(daspack_archive_writer_commit(w), DASPACK_OK, "", NULL);
    EXPECT(daspack_archive_writer_commit(w), DASPACK_ERROR_STATE, "daspack_archive_writer_commit", "committed");
    EXPECT(daspack_archive_writer_add_dir(w, "x"), DASPACK_ERROR_STATE, "daspack_archive_writer_add_dir", NULL);
    daspack_archive_writer_free(w);
    EXPECT(daspack_archive_open(path, &a), DASPACK_OK, "", NULL);
    EXPECT(daspack_archive_entry_count(a, &count), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(count == 3);
    EXPECT(daspack_archive_find(a, "late.bin", &idx), DASPACK_OK, "", NULL);
    EXPECT(daspack_archive_read(a, idx, buf, sizeof buf, 0, &n), DASPACK_OK, "", NULL);
    TRUE_OR_FAIL(n == 1000 && memcmp(buf, bytes, 1000) == 0);
    EXPECT(daspack_archive_verify(a, 0), DASPACK_OK, "", NULL);
    daspack_archive_free(a);
    remove(path);
}

int main(int argc, char **argv) {
    layouts();
    version_and_names();
    codec();
    sensor();
    checksums();
    archives(argc > 1 ? argv[1] : "/tmp");
    if (!getenv("DASPACK_SKIP_RSS_CHECK")) {
        struct rusage ru;
        checks++;
        if (getrusage(RUSAGE_SELF, &ru) != 0 || ru.ru_maxrss >= 256L * 1024) {
            failures++;
            fprintf(stderr, "FAIL: peak resident size %ld KiB (limit 256 MiB)\n", (long)ru.ru_maxrss);
        } else {
            printf("abi_errors: peak resident size %ld KiB\n", (long)ru.ru_maxrss);
        }
    }
    printf("abi_errors: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
