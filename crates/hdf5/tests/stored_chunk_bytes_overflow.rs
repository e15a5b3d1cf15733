//! Stored cd_values whose three chunk dimensions multiply past 2^64 bytes (2^31 x 2^31 x 16 float32): the size
//! check after decoding computed `rows * cols * element size` in usize, which overflowed (a panic with overflow
//! checks, caught by the filter; a wrapped, meaningless comparison without). Chunk sizes are now computed in u128.
//! Found by review of the `hdf5_filter` fuzz target's decode path.

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::sync::atomic::{AtomicBool, Ordering};

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
static PANICKED: AtomicBool = AtomicBool::new(false);

#[test]
fn huge_stored_chunk_dimensions_fail_without_overflow() {
    std::panic::set_hook(Box::new(|_| PANICKED.store(true, Ordering::SeqCst)));
    let params = daspack_codec::Params { threads: 1, ..Default::default() };
    let data: Vec<f32> = (0..64).map(|i| i as f32).collect();
    let stream = daspack_codec::compress(daspack_codec::ArrayRef::F32(&data), 4, 16, &params).unwrap();
    let class = unsafe { &*(h5daspack::H5PLget_plugin_info() as *const H5ZClass2) };
    let filter = class.filter.unwrap();
    for dims in [[1u32 << 31, 1 << 31, 16], [u32::MAX, u32::MAX, u32::MAX], [1 << 31, 1 << 31, 4]] {
        let cd: [u32; 14] = [1, 4, 3, dims[0], dims[1], dims[2], 0, 0, 0, 0, 4, 0, 0, 0];
        unsafe {
            let mut buf = libc::malloc(stream.len());
            std::ptr::copy_nonoverlapping(stream.as_ptr(), buf as *mut u8, stream.len());
            let mut size = stream.len();
            let n = filter(H5Z_FLAG_REVERSE, cd.len(), cd.as_ptr(), stream.len(), &mut size, &mut buf);
            libc::free(buf);
            assert_eq!(n, 0, "dims {dims:?}: a 4 x 16 chunk is not that chunk");
        }
        assert!(!PANICKED.load(Ordering::SeqCst), "dims {dims:?}: the filter panicked");
    }
    let _ = std::panic::take_hook();
}
