// cpp_roundtrip: libdaspack from C++, with std::vector buffers, exceptions and RAII for library objects.
//
//   cpp_roundtrip [ROWS COLS]
//
// Compresses a synthetic DAS block (float32 strain rate) with a fixed accuracy and losslessly, checks both round
// trips, and fingerprints the stream with a streaming SHA-256 hasher.
//
// Build: c++ -std=c++17 cpp_roundtrip.cpp $(pkg-config --cflags --libs daspack)
#include <daspack.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// Throws with the library's message when a call fails.
void check(DaspackError status, const char *call) {
    if (status != DASPACK_OK) {
        throw std::runtime_error(std::string(call) + ": " + daspack_error_name(status) + ": " + daspack_last_error());
    }
}

struct HasherDeleter {
    void operator()(DaspackHasher *h) const { daspack_hasher_free(h); }
};
using Hasher = std::unique_ptr<DaspackHasher, HasherDeleter>;

std::vector<uint8_t> compress(const std::vector<float> &data, size_t rows, size_t cols, double abs_error) {
    DaspackParams params;
    check(daspack_params_init(&params), "daspack_params_init");
    params.abs_error = abs_error;
    size_t bound = 0;
    check(daspack_compress_bound(DASPACK_DTYPE_FLOAT32, rows, cols, &params, &bound), "daspack_compress_bound");
    std::vector<uint8_t> out(bound);
    size_t len = 0;
    check(daspack_compress_f32(data.data(), rows, cols, &params, out.data(), out.size(), &len), "daspack_compress_f32");
    out.resize(len);
    return out;
}

std::vector<float> decompress(const std::vector<uint8_t> &stream) {
    // Ask for the size first: an empty buffer fails with BUFFER_TOO_SMALL and reports the element count needed.
    size_t need = 0;
    float none[1];
    DaspackError st = daspack_decompress_f32(stream.data(), stream.size(), none, 0, 0, &need);
    if (st != DASPACK_ERROR_BUFFER_TOO_SMALL && st != DASPACK_OK) check(st, "daspack_decompress_f32 (size query)");
    std::vector<float> out(need);
    size_t got = 0;
    check(daspack_decompress_f32(stream.data(), stream.size(), out.data(), out.size(), 0, &got),
          "daspack_decompress_f32");
    out.resize(got);
    return out;
}

std::string sha256(const std::vector<uint8_t> &bytes) {
    DaspackHasher *raw = nullptr;
    check(daspack_hasher_new(DASPACK_CHECKSUM_SHA256, &raw), "daspack_hasher_new");
    Hasher h(raw);
    for (size_t at = 0; at < bytes.size(); at += 4096) {
        size_t n = std::min<size_t>(4096, bytes.size() - at);
        check(daspack_hasher_update(h.get(), bytes.data() + at, n), "daspack_hasher_update");
    }
    uint8_t digest[DASPACK_CHECKSUM_MAX_SIZE];
    size_t len = 0;
    check(daspack_hasher_finish(h.get(), digest, sizeof digest, &len), "daspack_hasher_finish");
    std::string hex;
    char two[3];
    for (size_t i = 0; i < len; i++) {
        std::snprintf(two, sizeof two, "%02x", digest[i]);
        hex += two;
    }
    return hex;
}

}  // namespace

int main(int argc, char **argv) {
    size_t rows = argc > 2 ? std::strtoull(argv[1], nullptr, 10) : 2000;
    size_t cols = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 64;
    try {
        // Strain rate of a wave crossing the fibre, plus a little noise.
        std::vector<float> data(rows * cols);
        uint32_t rng = 7;
        for (size_t t = 0; t < rows; t++) {
            for (size_t x = 0; x < cols; x++) {
                rng = rng * 1664525u + 1013904223u;
                double noise = ((rng >> 8) / 16777216.0 - 0.5) * 0.02;
                data[t * cols + x] = static_cast<float>(std::sin((double)t / 25.0 - (double)x / 8.0) + noise);
            }
        }

        const double bound = 1e-3;
        auto lossy = compress(data, rows, cols, bound);
        auto back = decompress(lossy);
        double worst = 0;
        for (size_t i = 0; i < data.size(); i++) worst = std::fmax(worst, std::fabs((double)data[i] - back[i]));
        if (back.size() != data.size() || worst > bound) throw std::runtime_error("fixed-accuracy round trip failed");

        auto exact = compress(data, rows, cols, 0.0);
        auto same = decompress(exact);
        if (same != data) throw std::runtime_error("lossless round trip failed");

        std::printf("daspack %s from C++: %zu x %zu float32, %zu bytes raw\n", daspack_version(), rows, cols,
                    data.size() * sizeof(float));
        std::printf("  within %g: %zu bytes (ratio %.2f), max error %.2e\n", bound, lossy.size(),
                    (double)(data.size() * sizeof(float)) / lossy.size(), worst);
        std::printf("  lossless: %zu bytes (ratio %.2f)\n", exact.size(),
                    (double)(data.size() * sizeof(float)) / exact.size());
        std::printf("  sha256 of the lossless stream: %s\n", sha256(exact).c_str());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "cpp_roundtrip: %s\n", e.what());
        return 1;
    }
    return 0;
}
