/*
 * sensor_stream: stream 12-bit sensor samples through the prefix-code sensor codec of libdaspack.
 *
 *   sensor_stream make-series N OUT.raw        write a synthetic temperature series of N int16 slots
 *   sensor_stream IN.raw OUT.sns OUT.raw       encode IN.raw in blocks as an acquisition loop would, write the
 *                                              code stream to OUT.sns, decode it back into OUT.raw and check it
 *
 * Slots are int16: a sample (-2048..2047) or an event such as DASPACK_SENSOR_SLOT_NO_MEASUREMENT. The code
 * stream does not store its length: a real application keeps the item count next to it (here it stays in memory).
 *
 * Build: cc sensor_stream.c $(pkg-config --cflags --libs daspack)
 */
#include <daspack.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *call, DaspackError status) {
    fprintf(stderr, "sensor_stream: %s failed with %s: %s\n", call, daspack_error_name(status), daspack_last_error());
    exit(1);
}

/* A temperature-like series: slow drift of +-1 count, long flat stretches, a few gaps and jumps. */
static int make_series(size_t n, const char *path) {
    int16_t *s = malloc(n * sizeof *s + 1);
    if (!s) return 1;
    uint32_t rng = 12345;
    int v = 412;
    for (size_t i = 0; i < n; i++) {
        rng = rng * 1664525u + 1013904223u;
        uint32_t r = rng >> 16;
        if (r % 1000 == 0) {
            s[i] = DASPACK_SENSOR_SLOT_NO_MEASUREMENT;
            continue;
        }
        if (r % 997 == 1) v += (int)(r % 200) - 100;
        else if (r % 5 == 0) v += (r & 64) ? 1 : -1;
        if (v < DASPACK_SENSOR_MIN_SAMPLE) v = DASPACK_SENSOR_MIN_SAMPLE;
        if (v > DASPACK_SENSOR_MAX_SAMPLE) v = DASPACK_SENSOR_MAX_SAMPLE;
        s[i] = (int16_t)v;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(s, sizeof *s, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "sensor_stream: cannot write %s\n", path);
        return 1;
    }
    free(s);
    return 0;
}

/* Moves the encoder's ready bytes to `out`; returns how many. */
static size_t drain(DaspackSensorEncoder *enc, FILE *out) {
    uint8_t buf[256];
    size_t total = 0, got = 0;
    do {
        DaspackError st = daspack_sensor_encoder_read(enc, buf, sizeof buf, &got);
        if (st != DASPACK_OK) fail("daspack_sensor_encoder_read", st);
        if (fwrite(buf, 1, got, out) != got) {
            fprintf(stderr, "sensor_stream: write error\n");
            exit(1);
        }
        total += got;
    } while (got > 0);
    return total;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "make-series") == 0) return make_series(strtoull(argv[2], NULL, 10), argv[3]);
    if (argc != 4) {
        fprintf(stderr, "usage: %s make-series N OUT.raw | %s IN.raw OUT.sns OUT.raw\n", argv[0], argv[0]);
        return 2;
    }

    FILE *in = fopen(argv[1], "rb");
    if (!in) {
        fprintf(stderr, "sensor_stream: cannot open %s\n", argv[1]);
        return 1;
    }
    fseek(in, 0, SEEK_END);
    size_t n = (size_t)ftell(in) / sizeof(int16_t);
    fseek(in, 0, SEEK_SET);
    int16_t *slots = malloc(n * sizeof *slots + 1);
    if (!slots || fread(slots, sizeof *slots, n, in) != n) return 1;
    fclose(in);

    /* Encode: push blocks of readings as they arrive, drain the code bytes to the file after each block. */
    FILE *sns = fopen(argv[2], "wb");
    if (!sns) return 1;
    DaspackSensorEncoder *enc = NULL;
    DaspackError st = daspack_sensor_encoder_new(&enc);
    if (st != DASPACK_OK) fail("daspack_sensor_encoder_new", st);
    size_t written = 0;
    for (size_t i = 0; i < n; i += 100) {
        size_t k = n - i < 100 ? n - i : 100;
        st = daspack_sensor_encoder_push(enc, slots + i, k);
        if (st != DASPACK_OK) fail("daspack_sensor_encoder_push", st);
        written += drain(enc, sns);
    }
    uint64_t items = 0, bits = 0;
    st = daspack_sensor_encoder_finish(enc, &items, &bits);
    if (st != DASPACK_OK) fail("daspack_sensor_encoder_finish", st);
    written += drain(enc, sns);
    daspack_sensor_encoder_free(enc);
    if (fclose(sns) != 0) return 1;
    printf("encoded %llu items into %llu bits (%zu bytes, %.3f bits per item, raw 16: ratio %.2f)\n",
           (unsigned long long)items, (unsigned long long)bits, written, n ? (double)bits / (double)n : 0.0,
           written ? (double)(n * 2) / (double)written : 0.0);

    /* The one-shot encoder gives the same bytes. */
    size_t cap = daspack_sensor_max_encoded_len(n);
    uint8_t *once = malloc(cap + 1);
    size_t once_len = 0;
    uint64_t once_bits = 0;
    st = daspack_sensor_encode(slots, n, once, cap, &once_len, &once_bits);
    if (st != DASPACK_OK) fail("daspack_sensor_encode", st);

    /* Decode the file back, 64 items at a time. */
    uint8_t *code = malloc(written + 1);
    FILE *rd = fopen(argv[2], "rb");
    if (!code || !rd || fread(code, 1, written, rd) != written) return 1;
    fclose(rd);
    if (once_len != written || once_bits != bits || memcmp(once, code, written) != 0) {
        fprintf(stderr, "sensor_stream: streaming and one-shot encodings differ\n");
        return 1;
    }
    DaspackSensorDecoder *dec = NULL;
    st = daspack_sensor_decoder_new(code, written, items, &dec);
    if (st != DASPACK_OK) fail("daspack_sensor_decoder_new", st);
    free(code); /* the decoder keeps its own copy */
    int16_t *back = malloc(n * sizeof *back + 1);
    size_t got = 0, total = 0;
    do {
        size_t room = n - total < 64 ? n - total : 64;
        st = daspack_sensor_decoder_read(dec, back + total, room, &got);
        if (st != DASPACK_OK) fail("daspack_sensor_decoder_read", st);
        total += got;
    } while (got > 0 && total < n);
    st = daspack_sensor_decoder_check_end(dec);
    if (st != DASPACK_OK) fail("daspack_sensor_decoder_check_end", st);
    daspack_sensor_decoder_free(dec);
    if (total != n || memcmp(back, slots, n * sizeof *back) != 0) {
        fprintf(stderr, "sensor_stream: decoded series differs from the input\n");
        return 1;
    }
    FILE *out = fopen(argv[3], "wb");
    if (!out || fwrite(back, sizeof *back, n, out) != n || fclose(out) != 0) return 1;
    printf("decoded %zu items, identical to the input\n", total);
    free(slots);
    free(once);
    free(back);
    return 0;
}
