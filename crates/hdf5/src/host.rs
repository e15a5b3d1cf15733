//! The host process's HDF5, found at run time. The plugin links no libhdf5: h5py wheels, MATLAB and Debian each
//! bring their own, with different sonames. The functions are looked up first in the global scope
//! (`RTLD_DEFAULT`: C programs linked with libhdf5), then in each loaded object whose name contains `hdf5`
//! (h5py loads its bundled libhdf5 with `RTLD_LOCAL`, invisible to the global scope).
//!
//! ABI assumptions, true of HDF5 1.10 through 2.0: `hid_t` is `int64_t`, `herr_t`/`htri_t` are `int`,
//! `hsize_t` is `uint64_t`, `H5Z_filter_t` is `int`, `hbool_t` is C `bool`, `H5E_DEFAULT` is 0.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::sync::OnceLock;

pub type Hid = i64;

type TypeInt = unsafe extern "C" fn(Hid) -> c_int;
type TypeSize = unsafe extern "C" fn(Hid) -> usize;
type GetChunk = unsafe extern "C" fn(Hid, c_int, *mut u64) -> c_int;
type GetFilterById2 =
    unsafe extern "C" fn(Hid, c_int, *mut c_uint, *mut usize, *mut c_uint, usize, *mut c_char, *mut c_uint) -> c_int;
type ModifyFilter = unsafe extern "C" fn(Hid, c_int, c_uint, usize, *const c_uint) -> c_int;
type Epush2 =
    unsafe extern "C" fn(Hid, *const c_char, *const c_char, c_uint, Hid, Hid, Hid, *const c_char, ...) -> c_int;
type Allocate = unsafe extern "C" fn(usize, bool) -> *mut c_void;
type Free = unsafe extern "C" fn(*mut c_void) -> c_int;

/// HDF5 type classes and properties (H5Tpublic.h).
pub const H5T_INTEGER: c_int = 0;
pub const H5T_FLOAT: c_int = 1;
pub const H5T_SGN_NONE: c_int = 0;
pub const H5T_SGN_2: c_int = 1;
pub const H5T_ORDER_LE: c_int = 0;
pub const H5T_ORDER_BE: c_int = 1;

/// Which HDF5 minor error code a message is pushed with.
#[derive(Clone, Copy)]
pub enum Minor {
    /// H5E_CANTFILTER: the filter failed on a chunk.
    CantFilter,
    /// H5E_BADTYPE: unsupported datatype.
    BadType,
    /// H5E_BADVALUE: bad cd_values or chunk shape.
    BadValue,
    /// H5E_CANTINIT: HDF5 functions missing.
    CantInit,
}

pub struct Api {
    pub tget_class: Option<TypeInt>,
    pub tget_size: Option<TypeSize>,
    pub tget_sign: Option<TypeInt>,
    pub tget_order: Option<TypeInt>,
    pub pget_chunk: Option<GetChunk>,
    pub pget_filter_by_id2: Option<GetFilterById2>,
    pub pmodify_filter: Option<ModifyFilter>,
    epush2: Option<Epush2>,
    allocate: Option<Allocate>,
    free: Option<Free>,
    /// Addresses of the `hid_t` globals: error class, major H5E_PLINE, then the minors of `Minor`.
    err_cls: usize,
    pline: usize,
    minors: [usize; 4],
}

/// The library to look the functions up in (`RTLD_DEFAULT` is the null pointer on glibc, hence the Option).
fn handle() -> Option<*mut c_void> {
    const PROBE: &CStr = c"H5Pmodify_filter";
    // SAFETY: dlsym with a valid NUL-terminated name; RTLD_DEFAULT is a valid pseudo-handle.
    if !unsafe { libc::dlsym(libc::RTLD_DEFAULT, PROBE.as_ptr()) }.is_null() {
        return Some(libc::RTLD_DEFAULT);
    }
    let mut names: Vec<CString> = Vec::new();
    unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
        // SAFETY: the loader passes a valid info; `data` is the `names` vector below.
        let (info, names) = unsafe { (&*info, &mut *(data as *mut Vec<CString>)) };
        if !info.dlpi_name.is_null() {
            let name = unsafe { CStr::from_ptr(info.dlpi_name) };
            if name.to_bytes().windows(4).any(|w| w == b"hdf5") {
                names.push(name.to_owned());
            }
        }
        0
    }
    // SAFETY: the callback only reads the info it is given and pushes into `names`, alive for the call.
    unsafe { libc::dl_iterate_phdr(Some(visit), &mut names as *mut Vec<CString> as *mut c_void) };
    for name in names {
        // SAFETY: RTLD_NOLOAD only returns objects already loaded; the handle is kept (the host keeps the library).
        let h = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_LAZY | libc::RTLD_NOLOAD) };
        if h.is_null() {
            continue;
        }
        if !unsafe { libc::dlsym(h, PROBE.as_ptr()) }.is_null() {
            return Some(h);
        }
        unsafe { libc::dlclose(h) };
    }
    None
}

fn sym(h: Option<*mut c_void>, name: &CStr) -> usize {
    let Some(h) = h else { return 0 };
    // SAFETY: valid handle and name.
    unsafe { libc::dlsym(h, name.as_ptr()) as usize }
}

macro_rules! func {
    ($h:expr, $name:expr, $ty:ty) => {{
        let p = sym($h, $name);
        // SAFETY: the symbol is the HDF5 function of that name, whose C signature `$ty` mirrors.
        (p != 0).then(|| unsafe { std::mem::transmute::<usize, $ty>(p) })
    }};
}

impl Api {
    fn resolve() -> Api {
        let h = handle();
        Api {
            tget_class: func!(h, c"H5Tget_class", TypeInt),
            tget_size: func!(h, c"H5Tget_size", TypeSize),
            tget_sign: func!(h, c"H5Tget_sign", TypeInt),
            tget_order: func!(h, c"H5Tget_order", TypeInt),
            pget_chunk: func!(h, c"H5Pget_chunk", GetChunk),
            pget_filter_by_id2: func!(h, c"H5Pget_filter_by_id2", GetFilterById2),
            pmodify_filter: func!(h, c"H5Pmodify_filter", ModifyFilter),
            epush2: func!(h, c"H5Epush2", Epush2),
            allocate: func!(h, c"H5allocate_memory", Allocate),
            free: func!(h, c"H5free_memory", Free),
            err_cls: sym(h, c"H5E_ERR_CLS_g"),
            pline: sym(h, c"H5E_PLINE_g"),
            minors: [
                sym(h, c"H5E_CANTFILTER_g"),
                sym(h, c"H5E_BADTYPE_g"),
                sym(h, c"H5E_BADVALUE_g"),
                sym(h, c"H5E_CANTINIT_g"),
            ],
        }
    }

    /// Pushes `msg` on HDF5's default error stack (when the host has H5Epush2), so that h5py, h5dump and
    /// MATLAB show it.
    pub fn error(&self, func: &str, minor: Minor, msg: &str) {
        if std::env::var_os("DASPACK_H5_DEBUG").is_some() {
            eprintln!("h5daspack: {func}: {msg} (H5Epush2 {})", self.epush2.is_some());
        }
        let (Some(push), true, true) = (self.epush2, self.err_cls != 0, self.pline != 0) else { return };
        let minor = self.minors[minor as usize];
        if minor == 0 {
            return;
        }
        let msg = CString::new(format!("daspack filter (33000): {msg}").replace('\0', " ")).unwrap_or_default();
        let func = CString::new(func).unwrap_or_default();
        // SAFETY: the globals are `hid_t` variables of the host library, initialised since HDF5 is calling us; the
        // format string takes one C string argument.
        unsafe {
            let (cls, maj, min) = (*(self.err_cls as *const Hid), *(self.pline as *const Hid), *(minor as *const Hid));
            push(0, c"h5daspack".as_ptr(), func.as_ptr(), line!(), cls, maj, min, c"%s".as_ptr(), msg.as_ptr());
        }
    }

    /// A buffer HDF5 may free: from its allocator when exported (H5allocate_memory), else malloc (HDF5's
    /// default allocator).
    pub fn alloc(&self, n: usize) -> *mut c_void {
        // SAFETY: plain allocation calls; n > 0 is ensured by callers' `max(1)`.
        unsafe {
            match self.allocate {
                Some(a) => a(n.max(1), false),
                None => libc::malloc(n.max(1)),
            }
        }
    }

    /// Frees a buffer HDF5 allocated (the chunk it passed to the filter).
    ///
    /// # Safety
    /// `p` must come from HDF5's allocator (or be null).
    pub unsafe fn free(&self, p: *mut c_void) {
        unsafe {
            match self.free {
                Some(f) => {
                    f(p);
                }
                None => libc::free(p),
            }
        }
    }
}

pub fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(Api::resolve)
}

/// Keeps this library mapped until the process exits: HDF5 unloads plugins at close, while rayon's worker threads
/// (started by the codec) would still run code from it.
pub fn pin_self() {
    static PINNED: OnceLock<()> = OnceLock::new();
    PINNED.get_or_init(|| {
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        // SAFETY: dladdr on the address of one of our functions; dlopen of our own file with RTLD_NODELETE only
        // raises its reference count.
        unsafe {
            if libc::dladdr(pin_self as *const c_void, &mut info) != 0 && !info.dli_fname.is_null() {
                libc::dlopen(info.dli_fname, libc::RTLD_LAZY | libc::RTLD_NODELETE);
            }
        }
    });
}
