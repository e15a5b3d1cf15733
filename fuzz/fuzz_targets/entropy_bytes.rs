//! The order-0 byte-plane coder on hostile bytes: decoding never panics and never allocates more than the count
//! asked for; whatever decodes re-encodes and decodes back; arbitrary bytes round trip through the encoder.
#![no_main]

use daspack_entropy::bytes::{decode, encode};
use daspack_fuzz::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let n = (b.u16() % 8192) as usize;
    let rest = b.rest();

    let mut out = Vec::new();
    if let Ok(used) = decode(rest, n, &mut out) {
        assert!(used <= rest.len());
        assert_eq!(out.len(), n);
        let mut again = Vec::new();
        encode(&out, &mut again);
        let mut back = Vec::new();
        assert_eq!(decode(&again, n, &mut back), Ok(again.len()));
        assert_eq!(back, out);
    }

    // The input itself as a plane: shortest form chosen, exact round trip, never more than 2 bytes of growth.
    let mut coded = Vec::new();
    encode(rest, &mut coded);
    assert!(coded.len() <= rest.len() + 2);
    let mut back = Vec::new();
    assert_eq!(decode(&coded, rest.len(), &mut back), Ok(coded.len()));
    assert_eq!(back, rest);
});
