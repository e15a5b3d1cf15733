//! HDF5 filter plugin for the daspack array codec (filter id 33000, name "daspack").
//!
//! Put `libh5daspack.so` in a directory on `HDF5_PLUGIN_PATH`; HDF5 finds it through `H5PLget_plugin_type` and
//! `H5PLget_plugin_info`. The plugin links no libhdf5 (see `host`), so the same file serves h5py wheels, MATLAB,
//! and C programs linked with the system HDF5. Every callback stops panics and reports failures as HDF5 errors.
//! `docs/hdf5.md` documents the cd_values.

mod cd;
mod host;

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use cd::{Stored, FILTER_ID, MAX_RANK};
use daspack_codec::DType;
use host::{api, Api, Hid, Minor};

/// `H5Z_class2_t` (H5Zpublic.h).
#[repr(C)]
pub struct H5ZClass2 {
    version: c_int,
    id: c_int,
    encoder_present: c_uint,
    decoder_present: c_uint,
    name: *const c_char,
    can_apply: Option<unsafe extern "C" fn(Hid, Hid, Hid) -> c_int>,
    set_local: Option<unsafe extern "C" fn(Hid, Hid, Hid) -> c_int>,
    filter: Option<unsafe extern "C" fn(c_uint, usize, *const c_uint, usize, *mut usize, *mut *mut c_void) -> usize>,
}

// SAFETY: immutable, and its name points to a static string.
unsafe impl Sync for H5ZClass2 {}

static CLASS: H5ZClass2 = H5ZClass2 {
    version: 1, // H5Z_CLASS_T_VERS
    id: FILTER_ID,
    encoder_present: 1,
    decoder_present: 1,
    name: c"daspack".as_ptr(),
    can_apply: Some(can_apply),
    set_local: Some(set_local),
    filter: Some(filter),
};

const H5PL_TYPE_FILTER: c_int = 0;
const H5Z_FLAG_REVERSE: c_uint = 0x0100;

/// HDF5 asks which kind of plugin this is.
#[no_mangle]
pub extern "C" fn H5PLget_plugin_type() -> c_int {
    H5PL_TYPE_FILTER
}

/// HDF5 asks for the filter class.
#[no_mangle]
pub extern "C" fn H5PLget_plugin_info() -> *const c_void {
    let _ = catch_unwind(host::pin_self);
    &CLASS as *const H5ZClass2 as *const c_void
}

/// The dataset's element type, as the codec's, or why not.
fn dtype_of(a: &Api, type_id: Hid) -> Result<(DType, bool), (Minor, String)> {
    let (Some(class), Some(size), Some(sign), Some(order)) = (a.tget_class, a.tget_size, a.tget_sign, a.tget_order)
    else {
        return Err((Minor::CantInit, "H5Tget_class/size/sign/order not found in the host process".into()));
    };
    // SAFETY: HDF5 passed a valid datatype id.
    let (class, size, sign, order) = unsafe { (class(type_id), size(type_id), sign(type_id), order(type_id)) };
    let dtype = match (class, size, sign) {
        (host::H5T_INTEGER, 2, host::H5T_SGN_2) => Some(DType::I16),
        (host::H5T_INTEGER, 2, host::H5T_SGN_NONE) => Some(DType::U16),
        (host::H5T_INTEGER, 4, host::H5T_SGN_2) => Some(DType::I32),
        (host::H5T_FLOAT, 4, _) => Some(DType::F32),
        (host::H5T_FLOAT, 8, _) => Some(DType::F64),
        _ => None,
    };
    let Some(dtype) = dtype else {
        let kind = match (class, sign) {
            (host::H5T_INTEGER, host::H5T_SGN_NONE) => format!("{}-bit unsigned integer", size * 8),
            (host::H5T_INTEGER, _) => format!("{}-bit signed integer", size * 8),
            (host::H5T_FLOAT, _) => format!("{}-bit float", size * 8),
            _ => format!("HDF5 type class {class}"),
        };
        return Err((
            Minor::BadType,
            format!("unsupported datatype ({kind}); supported: int16, uint16, int32, float32, float64"),
        ));
    };
    match order {
        host::H5T_ORDER_LE => Ok((dtype, false)),
        host::H5T_ORDER_BE => Ok((dtype, true)),
        _ => Err((Minor::BadType, format!("unsupported byte order {order} (little- or big-endian only)"))),
    }
}

/// The dataset's chunk dimensions, or why the filter cannot use them.
fn chunk_of(a: &Api, dcpl: Hid) -> Result<Vec<u64>, (Minor, String)> {
    let Some(get) = a.pget_chunk else {
        return Err((Minor::CantInit, "H5Pget_chunk not found in the host process".into()));
    };
    let mut dims = [0u64; 32];
    // SAFETY: `dims` holds the 32 dimensions HDF5 may write (H5S_MAX_RANK).
    let rank = unsafe { get(dcpl, dims.len() as c_int, dims.as_mut_ptr()) };
    if rank < 1 {
        return Err((Minor::BadValue, "the dataset is not chunked".into()));
    }
    let rank = rank as usize;
    if rank > MAX_RANK {
        return Err((Minor::BadValue, format!("chunk rank {rank} unsupported (1 to {MAX_RANK} dimensions)")));
    }
    Ok(dims[..rank].to_vec())
}

fn report<T>(a: &Api, func: &str, r: Result<T, (Minor, String)>) -> Option<T> {
    r.map_err(|(minor, msg)| a.error(func, minor, &msg)).ok()
}

unsafe extern "C" fn can_apply(dcpl: Hid, type_id: Hid, _space: Hid) -> c_int {
    let r = catch_unwind(|| {
        let a = api();
        let ok = report(a, "H5Z_daspack_can_apply", dtype_of(a, type_id).and_then(|_| chunk_of(a, dcpl)));
        ok.is_some() as c_int
    });
    r.unwrap_or(-1)
}

fn set_local_inner(a: &Api, dcpl: Hid, type_id: Hid) -> Result<(), (Minor, String)> {
    let (Some(get), Some(modify)) = (a.pget_filter_by_id2, a.pmodify_filter) else {
        return Err((Minor::CantInit, "H5Pget_filter_by_id2/H5Pmodify_filter not found in the host process".into()));
    };
    let mut flags: c_uint = 0;
    let mut vals = [0 as c_uint; 32];
    let mut n = vals.len();
    // SAFETY: `n` tells HDF5 how many words `vals` holds; name and config are not requested.
    let rc = unsafe {
        get(dcpl, FILTER_ID, &mut flags, &mut n, vals.as_mut_ptr(), 0, std::ptr::null_mut(), std::ptr::null_mut())
    };
    if rc < 0 {
        return Err((Minor::BadValue, "cannot read the filter's cd_values from the property list".into()));
    }
    let user = &vals[..n.min(vals.len())];
    let params = cd::parse_user(user).map_err(|e| (Minor::BadValue, e))?;
    let (dtype, big_endian) = dtype_of(a, type_id)?;
    let chunk = chunk_of(a, dcpl)?;
    let stored = Stored { dtype, big_endian, chunk, params };
    stored.check_tile().map_err(|e| (Minor::BadValue, e))?;
    let words = stored.encode().map_err(|e| (Minor::BadValue, e))?;
    // SAFETY: `words` holds the `words.len()` values passed.
    if unsafe { modify(dcpl, FILTER_ID, flags, words.len(), words.as_ptr()) } < 0 {
        return Err((Minor::BadValue, "H5Pmodify_filter failed".into()));
    }
    Ok(())
}

unsafe extern "C" fn set_local(dcpl: Hid, type_id: Hid, _space: Hid) -> c_int {
    let r = catch_unwind(|| {
        let a = api();
        if report(a, "H5Z_daspack_set_local", set_local_inner(a, dcpl, type_id)).is_some() {
            0
        } else {
            -1
        }
    });
    r.unwrap_or(-1)
}

unsafe extern "C" fn filter(
    flags: c_uint,
    cd_nelmts: usize,
    cd_values: *const c_uint,
    nbytes: usize,
    buf_size: *mut usize,
    buf: *mut *mut c_void,
) -> usize {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let a = api();
        let cdv: &[c_uint] = if cd_values.is_null() || cd_nelmts == 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(cd_values, cd_nelmts) }
        };
        let input: &[u8] =
            if nbytes == 0 { &[] } else { unsafe { std::slice::from_raw_parts(*buf as *const u8, nbytes) } };
        let out = if flags & H5Z_FLAG_REVERSE != 0 {
            let stored = if cdv.is_empty() { Ok(None) } else { Stored::decode(cdv).map(Some) };
            stored
                .and_then(|s| cd::decode_chunk(s.as_ref(), input))
                .map_err(|e| format!("cannot decompress chunk: {e}"))
        } else {
            Stored::decode(cdv)
                .and_then(|s| cd::encode_chunk(&s, input))
                .map_err(|e| format!("cannot compress chunk: {e}"))
        };
        // HDF5 reads a returned size of 0 as failure and keeps its buffer: an empty result (a stream of 0 elements,
        // or cd_values with a zero dimension) must fail before the buffer is replaced.
        let out = out.and_then(|o| if o.is_empty() { Err("the chunk decodes to 0 bytes".to_string()) } else { Ok(o) });
        match out {
            Ok(out) => {
                let p = a.alloc(out.len());
                if p.is_null() {
                    a.error("H5Z_filter_daspack", Minor::CantFilter, "out of memory");
                    return 0;
                }
                // SAFETY: `p` holds at least out.len() bytes; the old buffer came from HDF5's allocator.
                unsafe {
                    std::ptr::copy_nonoverlapping(out.as_ptr(), p as *mut u8, out.len());
                    a.free(*buf);
                    *buf = p;
                    *buf_size = out.len().max(1);
                }
                out.len()
            }
            Err(e) => {
                a.error("H5Z_filter_daspack", Minor::CantFilter, &e);
                0
            }
        }
    }));
    r.unwrap_or(0)
}
