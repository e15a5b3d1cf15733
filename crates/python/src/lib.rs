//! `daspack._daspack`: the compiled half of the Python package.
//!
//! The functions here take C-contiguous, native-endian numpy arrays that the pure-Python layer
//! (`python/daspack/__init__.py`) has already checked and reshaped; they release the GIL while the codec runs and
//! turn every codec error (and any panic) into `daspack.DASPackError`, a `ValueError`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use daspack::{ArrayBuf, ArrayRef, CodecError, DType, Header, Mode, Params};
use numpy::{IntoPyArray, PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArray1};
use pyo3::create_exception;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

create_exception!(
    _daspack,
    DASPackError,
    PyValueError,
    "A daspack stream could not be written or read (bad parameters, corrupt or truncated stream)."
);

fn codec_err(e: CodecError) -> PyErr {
    DASPackError::new_err(e.to_string())
}

/// Runs `f` without the GIL, turning a panic into an error instead of aborting the interpreter.
fn run_detached<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T, CodecError> + Send) -> PyResult<T> {
    match py.allow_threads(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(codec_err(e)),
        Err(_) => Err(DASPackError::new_err("internal error in the daspack codec (panic)")),
    }
}

fn small(name: &str, v: Option<i64>, max: i64, default: u8) -> PyResult<u8> {
    match v {
        None => Ok(default),
        Some(x) if (0..=max).contains(&x) => Ok(x as u8),
        Some(x) => Err(PyValueError::new_err(format!("{name} must be in 0..={max}, got {x}"))),
    }
}

fn size(name: &str, v: Option<i64>, default: usize) -> PyResult<usize> {
    match v {
        None => Ok(default),
        Some(x) if x >= 0 => Ok(x as usize),
        Some(x) => Err(PyValueError::new_err(format!("{name} must be >= 0, got {x}"))),
    }
}

/// Compresses a C-contiguous `rows x cols` array (int16, uint16, int32, float32 or float64) into a daspack stream
/// (a 1-D uint8 array). Parameters left as None take the tuned defaults; `abs_error` 0 is lossless.
#[pyfunction]
#[pyo3(signature = (array, rows, cols, abs_error=0.0, threads=0, block_height=None, block_width=None, lx=None,
                    lt=None, lpc_order=None, lpc_space=None))]
#[allow(clippy::too_many_arguments)]
fn compress<'py>(
    py: Python<'py>,
    array: &Bound<'py, PyAny>,
    rows: usize,
    cols: usize,
    abs_error: f64,
    threads: i64,
    block_height: Option<i64>,
    block_width: Option<i64>,
    lx: Option<i64>,
    lt: Option<i64>,
    lpc_order: Option<i64>,
    lpc_space: Option<i64>,
) -> PyResult<Bound<'py, PyArray1<u8>>> {
    let d = Params::default();
    let params = Params {
        block_height: size("block_height", block_height, d.block_height)?,
        block_width: size("block_width", block_width, d.block_width)?,
        lx: small("lx", lx, 255, d.lx)?,
        lt: small("lt", lt, 255, d.lt)?,
        lpc_order: small("lpc_order", lpc_order, 255, d.lpc_order)?,
        lpc_space: small("lpc_space", lpc_space, 255, d.lpc_space)?,
        abs_error,
        threads: size("threads", Some(threads), 0)?,
        ..d
    };
    macro_rules! go {
        ($t:ty, $variant:ident) => {
            if let Ok(a) = array.downcast::<PyArrayDyn<$t>>() {
                let ro = a.try_readonly().map_err(|e| PyValueError::new_err(e.to_string()))?;
                let s = ro.as_slice().map_err(|_| PyValueError::new_err("array is not C-contiguous"))?;
                let out = run_detached(py, || daspack::compress(ArrayRef::$variant(s), rows, cols, &params))?;
                return Ok(out.into_pyarray(py));
            }
        };
    }
    go!(i16, I16);
    go!(u16, U16);
    go!(i32, I32);
    go!(f32, F32);
    go!(f64, F64);
    let what = match array.getattr("dtype") {
        Ok(d) => d.str().map(|s| s.to_string()).unwrap_or_default(),
        Err(_) => array.get_type().name().map(|s| s.to_string()).unwrap_or_default(),
    };
    Err(PyTypeError::new_err(format!(
        "unsupported array type {what}: daspack stores int16, uint16, int32, float32 and float64"
    )))
}

/// Decompresses a daspack stream given as a 1-D uint8 array. Returns `(flat_array, rows, cols)`.
#[pyfunction]
#[pyo3(signature = (stream, threads=0))]
fn decompress<'py>(
    py: Python<'py>,
    stream: PyReadonlyArray1<'py, u8>,
    threads: i64,
) -> PyResult<(Bound<'py, PyAny>, u64, u64)> {
    let threads = size("threads", Some(threads), 0)?;
    let s = stream.as_slice().map_err(|_| PyValueError::new_err("stream is not contiguous"))?;
    let (h, buf) = run_detached(py, || daspack::decompress(s, threads))?;
    let arr = match buf {
        ArrayBuf::I16(v) => v.into_pyarray(py).into_any(),
        ArrayBuf::U16(v) => v.into_pyarray(py).into_any(),
        ArrayBuf::I32(v) => v.into_pyarray(py).into_any(),
        ArrayBuf::F32(v) => v.into_pyarray(py).into_any(),
        ArrayBuf::F64(v) => v.into_pyarray(py).into_any(),
    };
    Ok((arr, h.rows, h.cols))
}

fn dtype_name(d: DType) -> &'static str {
    d.name()
}

fn header_dict<'py>(py: Python<'py>, h: &Header) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("version", h.version)?;
    d.set_item("dtype", dtype_name(h.dtype))?;
    d.set_item("rows", h.rows)?;
    d.set_item("cols", h.cols)?;
    d.set_item("shape", (h.rows, h.cols))?;
    d.set_item("block_height", h.block_height)?;
    d.set_item("block_width", h.block_width)?;
    d.set_item("abs_error", h.abs_error)?;
    let mode = match h.mode {
        Mode::Int { step } => format!("int(step={step})"),
        Mode::FloatQuant { step } => format!("float-quantised(step={step})"),
        Mode::FloatScaled { scale } => format!("float-scaled(scale={scale})"),
        Mode::FloatBits => "float-bits".to_string(),
    };
    d.set_item("mode", mode)?;
    d.set_item("tiles", h.tiles.len())?;
    Ok(d)
}

/// Reads a stream's header without decoding: a dict with dtype, rows, cols, shape, block sizes, abs_error, mode.
#[pyfunction]
fn read_header<'py>(py: Python<'py>, stream: PyReadonlyArray1<'py, u8>) -> PyResult<Bound<'py, PyDict>> {
    let s = stream.as_slice().map_err(|_| PyValueError::new_err("stream is not contiguous"))?;
    let h = daspack::read_header(s).map_err(codec_err)?;
    header_dict(py, &h)
}

/// The tuned default parameters, as a dict.
#[pyfunction]
fn default_params(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let p = Params::default();
    let d = PyDict::new(py);
    d.set_item("block_height", p.block_height)?;
    d.set_item("block_width", p.block_width)?;
    d.set_item("lx", p.lx)?;
    d.set_item("lt", p.lt)?;
    d.set_item("lpc_order", p.lpc_order)?;
    d.set_item("lpc_space", p.lpc_space)?;
    d.set_item("abs_error", p.abs_error)?;
    Ok(d)
}

/// Address of the HDF5 filter class (`H5Z_class2_t`) of filter 33000 compiled into this module, for
/// `h5py.h5z.register_filter`. The filter resolves the HDF5 functions it calls in the process at run time
/// (h5py's bundled libhdf5 included), see crates/hdf5/src/host.rs.
/// Frees the buffers that compression and decompression keep for their next calls (one set per worker thread that
/// has coded at once, each the size its largest tile needed). Later calls make them again.
#[pyfunction]
fn release_buffers(py: Python<'_>) {
    py.allow_threads(daspack::release_buffers);
}

#[pyfunction]
fn h5_filter_class() -> usize {
    h5daspack::H5PLget_plugin_info() as usize
}

#[pymodule]
fn _daspack(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(compress, m)?)?;
    m.add_function(wrap_pyfunction!(decompress, m)?)?;
    m.add_function(wrap_pyfunction!(read_header, m)?)?;
    m.add_function(wrap_pyfunction!(default_params, m)?)?;
    m.add_function(wrap_pyfunction!(h5_filter_class, m)?)?;
    m.add_function(wrap_pyfunction!(release_buffers, m)?)?;
    m.add("DASPackError", m.py().get_type::<DASPackError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
