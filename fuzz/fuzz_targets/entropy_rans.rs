//! The static rANS model tables and decoder on hostile bytes: reading and decoding never panic; a table that
//! reads is rewritten and read back to the same model; the decoded symbols and residuals survive a round trip; the
//! codec's fused residual decoder agrees with the symbol decoder and the raw bit reader; tables fitted to the
//! decoded symbols (explicit, and laws where smaller) code them back.
#![no_main]

use daspack_entropy::rans::{self, RansDecoder, RansEncoder, ResidualDecoder, StaticModel, NSYM};
use daspack_entropy::residual::context_of;
use daspack_entropy::{RawReader, RawWriter, MAX_CONTEXTS};
use daspack_fuzz::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let count = (b.u16() % 4096) as usize;
    let split = b.u16() as usize;
    let rest = b.rest();
    let Ok((model, used)) = StaticModel::read(rest) else { return };
    assert!(used <= rest.len());
    let mut again = Vec::new();
    model.write(&mut again);
    assert_eq!(StaticModel::read(&again), Ok((model.clone(), again.len())));

    let rest = &rest[used..];
    let (stream, raw_bytes) = rest.split_at(split.min(rest.len()));
    let mut dec = RansDecoder::new(&model, stream);
    let mut raw = RawReader::new(raw_bytes);
    let mut decoded = Vec::with_capacity(count);
    let mut energy = 0u64;
    for i in 0..count {
        // Mostly contexts that follow the data, sometimes an arbitrary one (possibly absent from the tables).
        let ctx = if i % 7 == 3 { (energy as usize * 31 + i) % (MAX_CONTEXTS + 3) } else { context_of(energy) };
        let sym = dec.get(&model, ctx, i);
        let r = rans::residual_of(sym, &mut raw);
        decoded.push((ctx, sym, r));
        energy = (energy + r.unsigned_abs().min(u32::MAX as u64)) / 2;
    }
    let symbols_ok = dec.finish_ok();

    // The fused decoder of the codec (symbols and raw bits together) gives the same residuals and verdicts, up to
    // the first context without a table (after which the symbol decoder's residuals are arbitrary).
    let mut fused = ResidualDecoder::new(&model, stream, raw_bytes);
    let mut clean = true;
    for &(ctx, _, r) in &decoded {
        let (got, mag) = fused.get(ctx);
        clean &= model.has(ctx % MAX_CONTEXTS);
        if clean {
            assert_eq!((got, mag), (r, r.unsigned_abs().min(u32::MAX as u64) as u32));
        }
    }
    assert_eq!(fused.finish_ok(), symbols_ok);
    if clean {
        assert_eq!(fused.raw_overrun(), raw.overrun());
    }

    // Residual values round trip through symbol_of/residual_of whatever the symbols were.
    let mut rw = RawWriter::new();
    let syms: Vec<(usize, u8)> =
        decoded.iter().map(|&(ctx, _, r)| (ctx.min(MAX_CONTEXTS - 1), rans::symbol_of(r, &mut rw))).collect();
    let raw_again = rw.finish();
    let mut rr = RawReader::new(&raw_again);
    for (&(_, s), &(_, _, r)) in syms.iter().zip(&decoded) {
        assert!((s as usize) < NSYM);
        assert_eq!(rans::residual_of(s, &mut rr), r);
    }
    assert!(!rr.overrun());

    // The symbols re-coded with tables fitted to them, explicit or laws where smaller, decode back.
    let mut counts = vec![[0u32; NSYM]; MAX_CONTEXTS];
    for &(c, s) in &syms {
        counts[c][s as usize] += 1;
    }
    for fitted in [StaticModel::from_counts(&counts), StaticModel::from_counts_compact(&counts)] {
        let mut table = Vec::new();
        fitted.write(&mut table);
        let (back, n) = StaticModel::read(&table).expect("tables written by the encoder read back");
        assert_eq!((&back, n), (&fitted, table.len()));
        let mut enc = RansEncoder::new();
        for (i, &(c, s)) in syms.iter().enumerate().rev() {
            enc.put(&fitted, c, s, i);
        }
        let coded = enc.finish();
        let mut dec = RansDecoder::new(&back, &coded);
        for (i, &(c, s)) in syms.iter().enumerate() {
            assert_eq!(dec.get(&back, c, i), s);
        }
        assert!(dec.finish_ok());
    }
});
