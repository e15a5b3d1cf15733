/* MEX gateway over libdaspack, for MATLAB and GNU Octave.
 *
 *   C = daspack_mex('compress', A, abs_error, block_height, block_width, levels, lpc_order, threads)
 *   A = daspack_mex('decompress', C, threads)
 *
 * MATLAB stores A (time x channel) column by column; the codec wants time x channel in row-major order, so the
 * gateway transposes on the way in and out. The user-facing functions are daspack_compress.m and
 * daspack_decompress.m, which parse Name/Value options. Every libdaspack error becomes mexErrMsgIdAndTxt. */
#include "mex.h"
#include <daspack.h>
#include <string.h>

static void fail(const char *id, const char *what) {
    mexErrMsgIdAndTxt(id, "%s: %s", what, daspack_last_error());
}

/* Copies a column-major rows x cols array into row-major order (or back when `back`). */
static void transpose(const unsigned char *src, unsigned char *dst, size_t rows, size_t cols, size_t size, int back) {
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            size_t colmajor = (c * rows + r) * size, rowmajor = (r * cols + c) * size;
            if (back) memcpy(dst + colmajor, src + rowmajor, size);
            else memcpy(dst + rowmajor, src + colmajor, size);
        }
}

static double scalar_arg(const mxArray *a, const char *name) {
    if (!mxIsNumeric(a) || mxGetNumberOfElements(a) != 1 || mxIsComplex(a))
        mexErrMsgIdAndTxt("daspack:badArgument", "%s must be a real numeric scalar", name);
    return mxGetScalar(a);
}

static void compress(int nlhs, mxArray *plhs[], int nrhs, const mxArray *prhs[]) {
    if (nrhs != 8) mexErrMsgIdAndTxt("daspack:badArgument", "compress takes 7 arguments");
    const mxArray *A = prhs[1];
    DaspackDType dtype;
    switch (mxGetClassID(A)) {
        case mxINT16_CLASS: dtype = DASPACK_DTYPE_INT16; break;
        case mxUINT16_CLASS: dtype = DASPACK_DTYPE_UINT16; break;
        case mxINT32_CLASS: dtype = DASPACK_DTYPE_INT32; break;
        case mxSINGLE_CLASS: dtype = DASPACK_DTYPE_FLOAT32; break;
        case mxDOUBLE_CLASS: dtype = DASPACK_DTYPE_FLOAT64; break;
        default:
            mexErrMsgIdAndTxt("daspack:badType", "A must be int16, uint16, int32, single or double, not %s",
                              mxGetClassName(A));
            return;
    }
    if (mxIsComplex(A) || mxIsSparse(A)) mexErrMsgIdAndTxt("daspack:badType", "A must be real and full");
    if (mxGetNumberOfDimensions(A) != 2) mexErrMsgIdAndTxt("daspack:badArgument", "A must be a 2-D (time x channel) array");
    size_t rows = mxGetM(A), cols = mxGetN(A), size = mxGetElementSize(A);
    DaspackParams p;
    if (daspack_params_init(&p) != DASPACK_OK) fail("daspack:internal", "params");
    double e = scalar_arg(prhs[2], "AbsError");
    if (!(e >= 0)) mexErrMsgIdAndTxt("daspack:badArgument", "AbsError must be >= 0");
    p.abs_error = e;
    double bh = scalar_arg(prhs[3], "BlockSize(1)"), bw = scalar_arg(prhs[4], "BlockSize(2)");
    double lv = scalar_arg(prhs[5], "Levels"), lpc = scalar_arg(prhs[6], "LpcOrder"), th = scalar_arg(prhs[7], "Threads");
    if (bh < 0 || bw < 0 || lv < 0 || lv > 16 || lpc < 0 || lpc > 32 || th < 0 || th > 1024)
        mexErrMsgIdAndTxt("daspack:badArgument", "BlockSize >= 0, Levels in 0..16, LpcOrder in 0..32, Threads >= 0");
    p.block_height = (uint32_t)bh;
    p.block_width = (uint32_t)bw;
    p.lx = p.lt = (uint32_t)lv;
    p.lpc_order = (uint32_t)lpc;
    p.threads = (uint32_t)th;
    unsigned char *rowmajor = mxMalloc(rows * cols * size + 1);
    transpose(mxGetData(A), rowmajor, rows, cols, size, 0);
    size_t bound = 0, len = 0;
    if (daspack_compress_bound(dtype, rows, cols, &p, &bound) != DASPACK_OK) fail("daspack:badArgument", "compress");
    unsigned char *out = mxMalloc(bound + 1);
    if (daspack_compress(dtype, rowmajor, rows, cols, &p, out, bound, &len) != DASPACK_OK) {
        mxFree(rowmajor);
        fail("daspack:compress", "compress");
    }
    mxFree(rowmajor);
    plhs[0] = mxCreateNumericMatrix(len, 1, mxUINT8_CLASS, mxREAL);
    memcpy(mxGetData(plhs[0]), out, len);
    mxFree(out);
    (void)nlhs;
}

static void decompress(int nlhs, mxArray *plhs[], int nrhs, const mxArray *prhs[]) {
    if (nrhs != 3) mexErrMsgIdAndTxt("daspack:badArgument", "decompress takes 2 arguments");
    const mxArray *C = prhs[1];
    if (mxGetClassID(C) != mxUINT8_CLASS) mexErrMsgIdAndTxt("daspack:badType", "C must be uint8 (from daspack_compress)");
    const uint8_t *src = mxGetData(C);
    size_t n = mxGetNumberOfElements(C);
    double th = scalar_arg(prhs[2], "Threads");
    DaspackStreamInfo info;
    if (daspack_stream_info(src, n, &info) != DASPACK_OK) fail("daspack:corrupt", "decompress");
    mxClassID cls;
    switch (info.dtype) {
        case DASPACK_DTYPE_INT16: cls = mxINT16_CLASS; break;
        case DASPACK_DTYPE_UINT16: cls = mxUINT16_CLASS; break;
        case DASPACK_DTYPE_INT32: cls = mxINT32_CLASS; break;
        case DASPACK_DTYPE_FLOAT32: cls = mxSINGLE_CLASS; break;
        default: cls = mxDOUBLE_CLASS; break;
    }
    size_t rows = info.rows, cols = info.cols, size = info.element_size, len = 0;
    unsigned char *rowmajor = mxMalloc(info.decoded_size + 1);
    if (daspack_decompress(src, n, rowmajor, info.decoded_size, (uint32_t)(th < 0 ? 0 : th), &len) != DASPACK_OK) {
        mxFree(rowmajor);
        fail("daspack:corrupt", "decompress");
    }
    plhs[0] = mxCreateNumericMatrix(rows, cols, cls, mxREAL);
    transpose(rowmajor, mxGetData(plhs[0]), rows, cols, size, 1);
    mxFree(rowmajor);
    (void)nlhs;
}

void mexFunction(int nlhs, mxArray *plhs[], int nrhs, const mxArray *prhs[]) {
    char cmd[16];
    if (nrhs < 1 || !mxIsChar(prhs[0]) || mxGetString(prhs[0], cmd, sizeof cmd) != 0)
        mexErrMsgIdAndTxt("daspack:badArgument", "first argument must be 'compress' or 'decompress'");
    if (strcmp(cmd, "compress") == 0) compress(nlhs, plhs, nrhs, prhs);
    else if (strcmp(cmd, "decompress") == 0) decompress(nlhs, plhs, nrhs, prhs);
    else mexErrMsgIdAndTxt("daspack:badArgument", "unknown command '%s'", cmd);
}
