/* Writes and reads datasets through the daspack HDF5 filter (id 33000) with the system libhdf5, the plugin found
 * through HDF5_PLUGIN_PATH. Prints one "PASS name" / "FAIL name" line per check; exits 1 on any failure. */
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASPACK_FILTER 33000
#define ROWS 300
#define COLS 45

static int failures = 0;

static void check(int ok, const char *name) {
    printf("%s c:%s\n", ok ? "PASS" : "FAIL", name);
    if (!ok) failures++;
}

/* The error bound as the two cd words: low 32 bits of the IEEE-754 pattern first. */
static void bound_words(double e, unsigned *lo, unsigned *hi) {
    uint64_t b;
    memcpy(&b, &e, sizeof b);
    *lo = (unsigned)(b & 0xffffffffu);
    *hi = (unsigned)(b >> 32);
}

static hid_t make_dcpl(size_t n, const unsigned *cd) {
    hsize_t chunk[2] = {64, 16}; /* 300 x 45 leaves partial edge chunks */
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    if (H5Pset_filter(dcpl, DASPACK_FILTER, H5Z_FLAG_MANDATORY, n, cd) < 0) return -1;
    return dcpl;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "c_roundtrip.h5";
    hsize_t dims[2] = {ROWS, COLS};
    int32_t *ibuf = malloc(sizeof(int32_t) * ROWS * COLS), *iback = malloc(sizeof(int32_t) * ROWS * COLS);
    double *dbuf = malloc(sizeof(double) * ROWS * COLS), *dback = malloc(sizeof(double) * ROWS * COLS);
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++) {
            ibuf[r * COLS + c] = (int32_t)(1000.0 * sin(r * 0.05 + c * 0.3)) + (r * 7 + c * 13) % 11 - 5;
            dbuf[r * COLS + c] = sin(r * 0.02) * cos(c * 0.1) * 3.5;
        }

    check(H5Zfilter_avail(DASPACK_FILTER) > 0, "filter_avail");

    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t space = H5Screate_simple(2, dims, NULL);

    unsigned cd_int[5] = {0, 0, 0, 0, 2};
    hid_t dcpl = make_dcpl(5, cd_int);
    hid_t ds = H5Dcreate2(file, "int32", H5T_STD_I32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    check(ds >= 0 && H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, ibuf) >= 0, "write_int32");
    H5Dclose(ds);
    H5Pclose(dcpl);

    const double e = 0.01;
    unsigned cd_f[8] = {0, 0, 0, 0, 2, 0, 0, 0};
    bound_words(e, &cd_f[6], &cd_f[7]);
    dcpl = make_dcpl(8, cd_f);
    ds = H5Dcreate2(file, "float64_e", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    check(ds >= 0 && H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, dbuf) >= 0, "write_float64_e");
    H5Dclose(ds);
    H5Pclose(dcpl);

    /* An unsupported type must be refused at creation, not crash. */
    dcpl = make_dcpl(0, NULL);
    H5E_BEGIN_TRY { ds = H5Dcreate2(file, "int8", H5T_STD_I8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT); }
    H5E_END_TRY;
    check(ds < 0, "reject_int8");
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(file);

    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ds = H5Dopen2(file, "int32", H5P_DEFAULT);
    int ok = H5Dread(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, iback) >= 0;
    check(ok && memcmp(ibuf, iback, sizeof(int32_t) * ROWS * COLS) == 0, "read_int32_exact");

    /* The stored cd_values: 14 words, version 1, dtype int32 (3), rank 2, chunk 64 x 16. */
    hid_t plist = H5Dget_create_plist(ds);
    unsigned flags, vals[32];
    size_t n = 32;
    ok = H5Pget_filter_by_id2(plist, DASPACK_FILTER, &flags, &n, vals, 0, NULL, NULL) >= 0;
    check(ok && n == 14 && vals[0] == 1 && vals[1] == 3 && vals[2] == 2 && vals[3] == 64 && vals[4] == 16,
          "stored_cd_values");
    H5Pclose(plist);
    H5Dclose(ds);

    ds = H5Dopen2(file, "float64_e", H5P_DEFAULT);
    ok = H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, dback) >= 0;
    double maxerr = 0;
    for (int i = 0; i < ROWS * COLS; i++) maxerr = fmax(maxerr, fabs(dbuf[i] - dback[i]));
    check(ok && maxerr <= e, "read_float64_within_e");
    H5Dclose(ds);
    H5Fclose(file);

    free(ibuf);
    free(iback);
    free(dbuf);
    free(dback);
    return failures ? 1 : 0;
}
