/*
 * read_stream: inspect and decode a bare daspack codec stream (.das, as written by compress_int32 or by
 * `daspack compress --format stream`). Archives (.dpk) are read by read_dpk.c.
 *
 *   read_stream IN.das [OUT.raw]
 *
 * Prints the element type, shape, accuracy and tiling, decodes the array twice (whole, then tile by tile with
 * random access, assembling the tiles in place), checks that both agree, and writes the array to OUT.raw
 * (row-major, machine byte order). Works for every element type.
 *
 * Build: cc read_stream.c $(pkg-config --cflags --libs daspack)
 */
#include <daspack.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *call, DaspackError status) {
    fprintf(stderr, "read_stream: %s failed with %s: %s\n", call, daspack_error_name(status), daspack_last_error());
    exit(1);
}

static const char *dtype_name(DaspackDType t) {
    switch (t) {
    case DASPACK_DTYPE_INT16: return "int16";
    case DASPACK_DTYPE_UINT16: return "uint16";
    case DASPACK_DTYPE_INT32: return "int32";
    case DASPACK_DTYPE_FLOAT32: return "float32";
    case DASPACK_DTYPE_FLOAT64: return "float64";
    default: return "unknown";
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s IN.das [OUT.raw]\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        fprintf(stderr, "read_stream: cannot open %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *stream = malloc(size > 0 ? (size_t)size : 1);
    if (!stream || size < 0 || fread(stream, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "read_stream: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);
    size_t len = (size_t)size;

    DaspackStreamInfo info;
    DaspackError st = daspack_stream_info(stream, len, &info);
    if (st != DASPACK_OK) fail("daspack_stream_info", st);
    printf("%s: daspack stream v%u, %s, %llu x %llu, %s", argv[1], info.format_version, dtype_name(info.dtype),
           (unsigned long long)info.rows, (unsigned long long)info.cols, info.lossless ? "lossless" : "within ");
    if (!info.lossless) printf("%g", info.abs_error);
    printf(", %llu tiles of %u x %u, %zu -> %llu bytes\n", (unsigned long long)info.tile_count, info.block_height,
           info.block_width, len, (unsigned long long)info.decoded_size);

    /* The whole array, through the type-generic entry point (bytes in, bytes out). */
    size_t whole_len = 0;
    uint8_t *whole = malloc(info.decoded_size ? info.decoded_size : 1);
    if (!whole) return 1;
    st = daspack_decompress(stream, len, whole, info.decoded_size, 0, &whole_len);
    if (st != DASPACK_OK) fail("daspack_decompress", st);

    /* Tile by tile: each tile decodes alone; copy its rows into place. */
    uint8_t *assembled = calloc(info.decoded_size ? info.decoded_size : 1, 1);
    size_t tile_cap = (size_t)info.block_height * info.block_width * info.element_size;
    uint8_t *tile = malloc(tile_cap ? tile_cap : 1);
    if (!assembled || !tile) return 1;
    for (uint64_t t = 0; t < info.tile_count; t++) {
        DaspackTileInfo where;
        size_t got = 0;
        st = daspack_decompress_tile(stream, len, t, tile, tile_cap, &got, &where);
        if (st != DASPACK_OK) fail("daspack_decompress_tile", st);
        size_t row_bytes = (size_t)where.cols * info.element_size;
        for (uint64_t r = 0; r < where.rows; r++) {
            size_t at = ((size_t)(where.row0 + r) * info.cols + where.col0) * info.element_size;
            memcpy(assembled + at, tile + r * row_bytes, row_bytes);
        }
    }
    if (whole_len != info.decoded_size || memcmp(whole, assembled, whole_len) != 0) {
        fprintf(stderr, "read_stream: tile-by-tile decoding differs from whole-array decoding\n");
        return 1;
    }
    printf("decoded %zu bytes; all %llu tiles agree with the whole-array decode\n", whole_len,
           (unsigned long long)info.tile_count);

    if (argc == 3) {
        FILE *o = fopen(argv[2], "wb");
        if (!o || fwrite(whole, 1, whole_len, o) != whole_len || fclose(o) != 0) {
            fprintf(stderr, "read_stream: cannot write %s\n", argv[2]);
            return 1;
        }
    }
    free(stream);
    free(whole);
    free(assembled);
    free(tile);
    return 0;
}
