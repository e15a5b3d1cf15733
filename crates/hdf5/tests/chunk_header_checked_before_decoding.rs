//! A stored chunk of 16 x 16 float64 and a 2.6 KB stream whose header claims 65536 x 4096 float64 (2 GiB, within
//! the codec's 2^20 bytes per stream byte): the filter decoded the stream, allocating the 2 GiB array, before
//! comparing it with the dataset's chunk. It now reads the header first and refuses the chunk without allocating.
//! Found by review of the `hdf5_filter` fuzz target's decode path; the test runs under a 1 GiB address-space limit,
//! which turned the allocation into an abort.

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

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
    }
    !c
}

/// A stream header (docs/format.md, section 1) of `rows` x `cols` float64 in bit-map mode, `bh` x `bw` tiles, each
/// tile 32 zero bytes (they do not decode: the point is what happens before).
fn huge_claim(rows: u64, cols: u64, bh: u32, bw: u32) -> Vec<u8> {
    let ntiles = rows.div_ceil(bh as u64) * cols.div_ceil(bw as u64);
    let mut s = daspack_codec::MAGIC.to_vec();
    s.extend_from_slice(&[daspack_codec::FORMAT_VERSION, 5, 3, 0]);
    s.extend_from_slice(&rows.to_le_bytes());
    s.extend_from_slice(&cols.to_le_bytes());
    s.extend_from_slice(&bh.to_le_bytes());
    s.extend_from_slice(&bw.to_le_bytes());
    s.extend_from_slice(&0f64.to_le_bytes());
    s.extend_from_slice(&0u64.to_le_bytes());
    s.extend_from_slice(&(ntiles as u32).to_le_bytes());
    for _ in 0..ntiles {
        s.extend_from_slice(&32u32.to_le_bytes());
        s.extend_from_slice(&crc32(&[0; 32]).to_le_bytes());
    }
    let crc = crc32(&s);
    s.extend_from_slice(&crc.to_le_bytes());
    s.extend(std::iter::repeat_n(0u8, 32 * ntiles as usize));
    s
}

#[test]
fn header_disagreeing_with_the_chunk_is_refused_before_allocating() {
    let stream = huge_claim(1 << 16, 1 << 12, 1 << 11, 1 << 11);
    let h = daspack_codec::read_header(&stream).expect("a header the codec accepts");
    assert_eq!(h.rows * h.cols * 8, 1 << 31);
    // SAFETY: lowering this process's own address-space limit.
    unsafe {
        let lim = libc::rlimit { rlim_cur: 1 << 30, rlim_max: libc::RLIM_INFINITY };
        assert_eq!(libc::setrlimit(libc::RLIMIT_AS, &lim), 0);
    }
    // Stored cd_values of a 16 x 16 float64 chunk (crates/hdf5/src/cd.rs, Stored::encode).
    let cd: [u32; 14] = [1, 5, 2, 16, 16, 0, 0, 0, 0, 0, 4, 0, 0, 0];
    let class = unsafe { &*(h5daspack::H5PLget_plugin_info() as *const H5ZClass2) };
    let filter = class.filter.unwrap();
    unsafe {
        let mut buf = libc::malloc(stream.len());
        std::ptr::copy_nonoverlapping(stream.as_ptr(), buf as *mut u8, stream.len());
        let original = buf;
        let mut size = stream.len();
        let n = filter(H5Z_FLAG_REVERSE, cd.len(), cd.as_ptr(), stream.len(), &mut size, &mut buf);
        assert_eq!(n, 0, "a chunk of another size must fail");
        assert_eq!(buf, original);
        libc::free(buf);
    }
}
