//! Found by the `hdf5_filter` fuzz target: a chunk that decodes to 0 bytes (a stream of a 0 x 4 array, decoded
//! without cd_values or with stored cd_values holding a zero dimension) made the filter free HDF5's buffer, install
//! a new one and return 0, which HDF5 reads as failure. A failing filter must leave the buffer as it was; the
//! filter now reports an empty result as an error before touching the buffer.

use std::ffi::{c_char, c_int, c_uint, c_void};

#[repr(C)]
struct H5ZClass2 {
    version: c_int,
    id: c_int,
    encoder_present: c_uint,
    decoder_present: c_uint,
    name: *const c_char,
    can_apply: *const c_void,
    set_local: *const c_void,
    filter: Option<unsafe extern "C" fn(c_uint, usize, *const c_uint, usize, *mut usize, *mut *mut c_void) -> usize>,
}

const H5Z_FLAG_REVERSE: c_uint = 0x0100;

/// Calls the filter as HDF5 does (no libhdf5 in this process: the plugin's allocator is malloc/free). Returns the
/// filter's result, whether the buffer pointer is still the one passed, and the buffer's bytes afterwards.
fn call(flags: c_uint, cd: &[u32], input: &[u8]) -> (usize, bool, Vec<u8>) {
    let class = unsafe { &*(h5daspack::H5PLget_plugin_info() as *const H5ZClass2) };
    let filter = class.filter.unwrap();
    unsafe {
        let mut buf = libc::malloc(input.len().max(1));
        std::ptr::copy_nonoverlapping(input.as_ptr(), buf as *mut u8, input.len());
        let original = buf;
        let mut size = input.len();
        let n = filter(flags, cd.len(), cd.as_ptr(), input.len(), &mut size, &mut buf);
        let len = if n == 0 { input.len() } else { n };
        let bytes = std::slice::from_raw_parts(buf as *const u8, len).to_vec();
        libc::free(buf);
        (n, buf == original, bytes)
    }
}

/// The fuzzer's input: a valid DAS stream of a 0 x 4 float32 array.
const EMPTY_F32_STREAM: [u8; 56] = [
    0x44, 0x41, 0x53, 0x50, 0x01, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x6b, 0x7e, 0xb4, 0x08,
];

#[test]
fn empty_chunk_fails_and_keeps_the_buffer() {
    let stream = &EMPTY_F32_STREAM[..];
    for cd in [&[][..], &[1, 4, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0][..]] {
        let (n, same, bytes) = call(H5Z_FLAG_REVERSE, cd, stream);
        assert_eq!(n, 0, "cd {cd:?}: an empty chunk must fail");
        assert!(same, "cd {cd:?}: the failing filter replaced the buffer");
        assert_eq!(bytes, stream, "cd {cd:?}: the failing filter changed the buffer");
    }
}
