/*
 * Calls every entry point of the installed libdaspack from C with NULL pointers, zero lengths, too-small output
 * buffers, bad enumeration values and corrupt input, and checks the status and message of each call. Also checks
 * the struct layouts against the ones the Rust side pins (crates/capi/tests/abi.rs). Run natively and under
 * valgrind by tests/capi/run.sh; prints "abi_errors: N checks, M failed".
 */
#include <daspack.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
}

static void version_and_names(void) {
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", DASPACK_VERSION_MAJOR, DASPACK_VERSION_MINOR, DASPACK_VERSION_PATCH);
    TRUE_OR_FAIL(strcmp(daspack_version(), want) == 0);
    TRUE_OR_FAIL(daspack_version_number() ==
                 DASPACK_VERSION_MAJOR * 10000u + DASPACK_VERSION_MINOR * 100u + DASPACK_VERSION_PATCH);
    TRUE_OR_FAIL(strcmp(daspack_error_name(DASPACK_ERROR_CORRUPT), "DASPACK_ERROR_CORRUPT") == 0);
    TRUE_OR_FAIL(strcmp(daspack_error_name(-5), "DASPACK_ERROR_UNKNOWN") == 0);
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

int main(void) {
    layouts();
    version_and_names();
    codec();
    sensor();
    checksums();
    printf("abi_errors: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
