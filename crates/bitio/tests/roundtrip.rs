//! Round trips, exact bit layouts and error cases of the bit readers and writers.

use daspack_bitio::{
    BitError, BitWrite, Carry, LsbReader, LsbSliceWriter, LsbVecWriter, MsbReader, MsbSliceWriter, MsbVecWriter,
    MAX_BITS, MAX_PEEK_BITS,
};
use proptest::prelude::*;

fn mask(v: u64, n: u32) -> u64 {
    if n == 64 {
        v
    } else {
        v & ((1u64 << n) - 1)
    }
}

#[test]
fn msb_layout() {
    let mut buf = [0xAAu8; 8];
    let mut w = MsbSliceWriter::new(&mut buf);
    w.write_bits(0b1, 1).unwrap();
    w.write_bits(0b0011, 4).unwrap();
    w.write_bits(0xFFFF_FFFF_FFFF_FF01, 8).unwrap(); // high bits ignored
    w.write_bits(0, 0).unwrap();
    assert_eq!(w.bit_len(), 13);
    assert_eq!(w.finish(), 2);
    assert_eq!(&buf[..2], &[0b1001_1000, 0b0000_1000]);
}

#[test]
fn lsb_layout() {
    let mut buf = [0xAAu8; 8];
    let mut w = LsbSliceWriter::new(&mut buf);
    w.write_bits(0b1, 1).unwrap();
    w.write_bits(0b0011, 4).unwrap();
    w.write_bits(0xFFFF_FFFF_FFFF_FF01, 8).unwrap();
    assert_eq!(w.bit_len(), 13);
    assert_eq!(w.finish(), 2);
    // bits in stream order: 1, 1100, 10000000 -> byte0 bit0.. = 1,1,1,0,0,1,0,0
    assert_eq!(&buf[..2], &[0b0010_0111, 0b0000_0000]);
}

#[test]
fn empty_writers() {
    let mut buf = [0u8; 0];
    assert_eq!(MsbSliceWriter::new(&mut buf).finish(), 0);
    assert_eq!(LsbSliceWriter::new(&mut buf).finish(), 0);
    assert!(MsbVecWriter::new().finish().is_empty());
    assert!(LsbVecWriter::new().finish().is_empty());
    let mut w = MsbSliceWriter::new(&mut buf);
    assert_eq!(w.remaining_bits(), 0);
    assert_eq!(w.write_bits(1, 1), Err(BitError::BufferFull { bit_offset: 0, needed: 1, available: 0 }));
    w.write_bits(1, 0).unwrap();
}

#[test]
fn wide_values() {
    let vals = [u64::MAX, 0x8000_0000_0000_0001, 0x0123_4567_89AB_CDEF];
    for &v in &vals {
        for n in [57u32, 58, 63, 64] {
            let mut buf = [0u8; 32];
            let mut w = MsbSliceWriter::new(&mut buf);
            w.write_bits(1, 3).unwrap();
            w.write_bits(v, n).unwrap();
            let len = w.finish();
            let mut r = MsbReader::new(&buf[..len]);
            assert_eq!(r.read_bits(3), Ok(1));
            assert_eq!(r.read_bits(n), Ok(mask(v, n)));

            let mut buf = [0u8; 32];
            let mut w = LsbSliceWriter::new(&mut buf);
            w.write_bits(1, 3).unwrap();
            w.write_bits(v, n).unwrap();
            let len = w.finish();
            let mut r = LsbReader::new(&buf[..len]);
            assert_eq!(r.read_bits(3), Ok(1));
            assert_eq!(r.read_bits(n), Ok(mask(v, n)));
        }
    }
}

#[test]
fn width_errors() {
    let mut buf = [0u8; 32];
    let mut w = MsbSliceWriter::new(&mut buf);
    assert_eq!(w.write_bits(0, 65), Err(BitError::WidthTooLarge { width: 65, max: MAX_BITS }));
    let mut v = LsbVecWriter::new();
    assert!(v.write_bits(0, 65).is_err());
    let data = [0u8; 32];
    let r = MsbReader::new(&data);
    assert_eq!(r.peek_bits(58), Err(BitError::WidthTooLarge { width: 58, max: MAX_PEEK_BITS }));
    let mut r = LsbReader::new(&data);
    assert!(r.read_bits(65).is_err());
    assert_eq!(r.bit_pos(), 0);
}

#[test]
fn truncation_errors_carry_offsets() {
    let data = [0xFFu8, 0x0F];
    let mut r = MsbReader::new(&data);
    assert_eq!(r.read_bits(12), Ok(0xFF0));
    assert_eq!(r.read_bits(5), Err(BitError::UnexpectedEnd { bit_offset: 12, needed: 5, available: 4 }));
    // nothing consumed by the failed read
    assert_eq!(r.bit_pos(), 12);
    assert_eq!(r.read_bits(4), Ok(0xF));
    assert_eq!(r.bits_left(), 0);
    assert!(r.skip(1).is_err());
    assert!(r.peek_bits(1).is_err());
    assert_eq!(r.peek_window(), 0);
    r.skip(0).unwrap();

    let mut r = LsbReader::new(&data);
    assert_eq!(r.read_bits(12), Ok(0xFFF));
    assert_eq!(r.read_bits(64), Err(BitError::UnexpectedEnd { bit_offset: 12, needed: 64, available: 4 }));
    assert_eq!(r.read_bits(4), Ok(0));
}

#[test]
fn bit_len_limit() {
    let data = [0xFFu8; 16];
    let mut r = MsbReader::with_bit_len(&data, 13);
    assert_eq!(r.bit_len(), 13);
    assert_eq!(r.peek_window(), 0xFFF8_0000_0000_0000);
    assert_eq!(r.read_bits(10), Ok(0x3FF));
    assert!(r.read_bits(4).is_err());
    assert_eq!(r.read_bits(3), Ok(7));
    let r = MsbReader::with_bit_len(&data, 1000);
    assert_eq!(r.bit_len(), 128);

    let mut r = LsbReader::with_bit_len(&data, 13);
    assert_eq!(r.peek_window(), 0x1FFF);
    r.skip(12).unwrap();
    assert_eq!(r.peek_bits(1), Ok(1));
    assert!(r.peek_bits(2).is_err());
}

#[test]
fn buffer_full_is_all_or_nothing() {
    let mut buf = [0u8; 3];
    let mut w = MsbSliceWriter::new(&mut buf);
    w.write_bits(0b1010_1010_1010_1010_1010, 20).unwrap();
    assert_eq!(w.remaining_bits(), 4);
    assert_eq!(w.write_bits(0x1F, 5), Err(BitError::BufferFull { bit_offset: 20, needed: 5, available: 4 }));
    assert_eq!(w.bit_len(), 20);
    w.write_bits(0b1111, 4).unwrap();
    assert_eq!(w.remaining_bits(), 0);
    assert_eq!(w.finish(), 3);
    assert_eq!(buf, [0xAA, 0xAA, 0xAF]);
}

#[test]
fn resume_needs_room_for_carry() {
    let mut empty = [0u8; 0];
    let carry = {
        let mut buf = [0u8; 1];
        let mut w = MsbSliceWriter::new(&mut buf);
        w.write_bits(0b101, 3).unwrap();
        w.suspend().1
    };
    assert_eq!(carry.len(), 3);
    assert_eq!(carry.value(), 0b101);
    assert!(MsbSliceWriter::resume(&mut empty, carry).is_err());
    assert!(MsbSliceWriter::resume(&mut empty, Carry::EMPTY).is_ok());
}

#[test]
fn trait_objects_work() {
    fn put(w: &mut dyn BitWrite) {
        w.write_bits(0x5, 3).unwrap();
        w.write_bits(0x1234, 16).unwrap();
    }
    let mut v = MsbVecWriter::with_capacity(4);
    put(&mut v);
    assert_eq!(v.bit_len(), 19);
    let bytes = v.finish();
    let mut r = MsbReader::new(&bytes);
    assert_eq!(r.read_bits(3), Ok(5));
    assert_eq!(r.read_bits(16), Ok(0x1234));
}

fn fields() -> impl Strategy<Value = Vec<(u64, u32)>> {
    proptest::collection::vec((any::<u64>(), 0u32..=64), 0..200)
}

fn total_bits(f: &[(u64, u32)]) -> u64 {
    f.iter().map(|&(_, n)| n as u64).sum()
}

macro_rules! order_tests {
    ($modname:ident, $Slice:ident, $Vec:ident, $Reader:ident) => {
        mod $modname {
            use super::*;

            proptest! {
                #[test]
                fn slice_and_vec_round_trip(f in fields()) {
                    let bits = total_bits(&f);
                    let mut buf = vec![0u8; (bits as usize).div_ceil(8)];
                    let mut w = $Slice::new(&mut buf);
                    let mut v = $Vec::new();
                    for &(val, n) in &f {
                        w.write_bits(val, n).unwrap();
                        v.write_bits(val, n).unwrap();
                    }
                    prop_assert_eq!(w.bit_len(), bits);
                    prop_assert_eq!(w.remaining_bits(), buf_len_bits(bits) - bits);
                    let len = w.finish();
                    prop_assert_eq!(len as u64, bits.div_ceil(8));
                    let vbytes = v.finish();
                    prop_assert_eq!(&vbytes[..], &buf[..len]);

                    let mut r = $Reader::with_bit_len(&buf, bits);
                    for &(val, n) in &f {
                        if n <= MAX_PEEK_BITS {
                            prop_assert_eq!(r.peek_bits(n), Ok(mask(val, n)));
                        }
                        prop_assert_eq!(r.read_bits(n), Ok(mask(val, n)));
                    }
                    prop_assert_eq!(r.bits_left(), 0);
                    let err = r.read_bits(1).unwrap_err();
                    prop_assert_eq!(err, BitError::UnexpectedEnd { bit_offset: bits, needed: 1, available: 0 });

                    // Padding bits of the last byte are zero.
                    let mut r = $Reader::new(&buf[..len]);
                    r.skip(bits).unwrap();
                    let pad = (8 - bits % 8) % 8;
                    prop_assert_eq!(r.read_bits(pad as u32), Ok(0));
                }

                #[test]
                fn full_buffer_never_splits_a_value(f in fields(), cap in 0usize..64) {
                    let mut buf = vec![0u8; cap];
                    let mut w = $Slice::new(&mut buf);
                    let mut written = Vec::new();
                    for &(val, n) in &f {
                        let before = w.bit_len();
                        match w.write_bits(val, n) {
                            Ok(()) => written.push((val, n)),
                            Err(BitError::BufferFull { bit_offset, needed, available }) => {
                                prop_assert_eq!(bit_offset, before);
                                prop_assert_eq!(needed, n as u64);
                                prop_assert!(available < n as u64);
                                prop_assert_eq!(w.bit_len(), before);
                            }
                            Err(e) => prop_assert!(false, "unexpected {:?}", e),
                        }
                    }
                    let bits = w.bit_len();
                    let len = w.finish();
                    prop_assert!(len <= cap);
                    let mut r = $Reader::with_bit_len(&buf[..len], bits);
                    for &(val, n) in &written {
                        prop_assert_eq!(r.read_bits(n), Ok(mask(val, n)));
                    }
                }

                #[test]
                fn suspend_resume_equals_one_buffer(f in fields(), chunk in 1usize..16) {
                    // Write into small buffers, draining each when full; the concatenation must
                    // equal the bytes of one large buffer.
                    let mut joined = Vec::new();
                    let mut buf = vec![0u8; chunk + 8];
                    let mut carry = Carry::EMPTY;
                    let mut w = $Slice::resume(&mut buf, carry).unwrap();
                    for &(val, n) in &f {
                        if w.write_bits(val, n).is_err() {
                            let (len, c) = w.suspend();
                            joined.extend_from_slice(&buf[..len]);
                            carry = c;
                            w = $Slice::resume(&mut buf, carry).unwrap();
                            w.write_bits(val, n).unwrap();
                        }
                    }
                    let len = w.finish();
                    joined.extend_from_slice(&buf[..len]);

                    let mut v = $Vec::new();
                    for &(val, n) in &f {
                        v.write_bits(val, n).unwrap();
                    }
                    prop_assert_eq!(joined, v.finish());
                }

                #[test]
                fn reads_on_random_bytes_never_panic(
                    data in proptest::collection::vec(any::<u8>(), 0..40),
                    limit in 0u64..400,
                    ops in proptest::collection::vec((0u32..=70, any::<bool>()), 0..40),
                ) {
                    let mut r = $Reader::with_bit_len(&data, limit);
                    for (n, skip) in ops {
                        let left = r.bits_left();
                        let pos = r.bit_pos();
                        let res = if skip { r.skip(n as u64).map(|_| 0) } else { r.read_bits(n) };
                        match res {
                            Ok(_) => prop_assert_eq!(r.bit_pos(), pos + n as u64),
                            Err(_) => {
                                prop_assert!(n as u64 > left || n > MAX_BITS);
                                prop_assert_eq!(r.bit_pos(), pos);
                            }
                        }
                        let _ = r.peek_window();
                    }
                }
            }

            fn buf_len_bits(bits: u64) -> u64 {
                bits.div_ceil(8) * 8
            }
        }
    };
}

order_tests!(msb, MsbSliceWriter, MsbVecWriter, MsbReader);
order_tests!(lsb, LsbSliceWriter, LsbVecWriter, LsbReader);
