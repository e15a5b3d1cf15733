//! The adaptive binary range decoder, the raw bit reader and the residual model on hostile bytes: decoding never
//! panics, and whatever residuals come out survive an encode/decode round trip bit-exactly.
#![no_main]

use daspack_entropy::residual::context_of;
use daspack_entropy::{Prob, RangeDecoder, RangeEncoder, RawReader, RawWriter, ResidualModel};
use daspack_fuzz::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let count = (b.u16() % 4096) as usize;
    let split = b.u16() as usize;
    let rest = b.rest();
    let (rc_bytes, raw_bytes) = rest.split_at(split.min(rest.len()));

    // Residuals in contexts that follow the decoded values, as the codec's energy contexts do.
    let mut model = ResidualModel::new();
    let mut rc = RangeDecoder::new(rc_bytes);
    let mut raw = RawReader::new(raw_bytes);
    let mut decoded = Vec::with_capacity(count);
    let mut energy = 0u64;
    for _ in 0..count {
        let ctx = context_of(energy);
        let r = model.decode(&mut rc, &mut raw, ctx);
        decoded.push((ctx, r));
        energy = (energy + r.unsigned_abs().min(u32::MAX as u64)) / 2;
    }
    // Trees and plain bits on the same decoder.
    let mut tree = [Prob::new(); 64];
    let mut p = Prob::new();
    let tail: Vec<u32> =
        (0..16).map(|i| if i % 2 == 0 { rc.decode_tree(&mut tree, 6) } else { rc.decode(&mut p) }).collect();
    let widths: Vec<(u32, u64)> = (0..16u32).map(|i| ((i * 7) % 65, raw.get_long((i * 7) % 65))).collect();
    let _ = (rc.overrun(), rc.position(), raw.overrun());

    // Round trip of everything decoded above.
    let mut model = ResidualModel::new();
    let mut enc = RangeEncoder::new();
    let mut rw = RawWriter::new();
    for &(ctx, r) in &decoded {
        model.encode(&mut enc, &mut rw, ctx, r);
    }
    let mut tree = [Prob::new(); 64];
    let mut p = Prob::new();
    for (i, &v) in tail.iter().enumerate() {
        if i % 2 == 0 {
            enc.encode_tree(&mut tree, 6, v);
        } else {
            enc.encode(&mut p, v);
        }
    }
    for &(n, v) in &widths {
        rw.put_long(v, n);
    }
    let (a, c) = (enc.finish(), rw.finish());
    let mut model = ResidualModel::new();
    let mut rc = RangeDecoder::new(&a);
    let mut raw = RawReader::new(&c);
    for &(ctx, r) in &decoded {
        assert_eq!(model.decode(&mut rc, &mut raw, ctx), r);
    }
    let mut tree = [Prob::new(); 64];
    let mut p = Prob::new();
    for (i, &v) in tail.iter().enumerate() {
        let got = if i % 2 == 0 { rc.decode_tree(&mut tree, 6) } else { rc.decode(&mut p) };
        assert_eq!(got, v);
    }
    for &(n, v) in &widths {
        assert_eq!(raw.get_long(n), v);
    }
    assert!(!rc.overrun() && !raw.overrun());
});
