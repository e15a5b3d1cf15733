//! The workers' buffers are kept from call to call and shared by concurrent calls: no call may see another's data.
//! Calls from several threads at once, on arrays of different shapes, types and modes, give the very streams (and
//! arrays) of lone calls made with no kept buffers.

use daspack_codec::{compress, decompress, release_buffers, ArrayBuf, Params};

/// A few arrays that take different paths: wide int32 (2-D tiles), one-channel int16, narrow uint16 (channel
/// tiles), float32 with exact integers and with genuine fractions, and a fixed-accuracy float64.
fn arrays() -> Vec<(usize, usize, ArrayBuf, f64)> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let wave = |t: usize, c: usize| ((t as f64 * 0.07 - c as f64 * 0.05).sin() * 3000.0) as i64;
    let mut noise = move || (next() % 41) as i64 - 20;
    let (r1, c1) = (700, 300);
    let wide: Vec<i32> = (0..r1 * c1).map(|i| (wave(i / c1, i % c1) + noise()) as i32).collect();
    let (r2, c2) = (20_000, 1);
    let channel: Vec<i16> = (0..r2).map(|t| (wave(t, 0) / 4 + noise()) as i16).collect();
    let (r3, c3) = (3000, 12);
    let narrow: Vec<u16> = (0..r3 * c3).map(|i| (30_000 + wave(i / c3, i % c3) + noise()) as u16).collect();
    let (r4, c4) = (900, 40);
    let counts: Vec<f32> = (0..r4 * c4).map(|i| (wave(i / c4, i % c4) + noise()) as f32).collect();
    let fractions: Vec<f32> = (0..r4 * c4).map(|i| (wave(i / c4, i % c4) + noise()) as f32 * 0.37).collect();
    let fixed: Vec<f64> = (0..r4 * c4).map(|i| (wave(i / c4, i % c4) + noise()) as f64 * 1e-3).collect();
    vec![
        (r1, c1, ArrayBuf::I32(wide), 0.0),
        (r2, c2, ArrayBuf::I16(channel), 0.0),
        (r3, c3, ArrayBuf::U16(narrow), 0.0),
        (r4, c4, ArrayBuf::F32(counts), 0.0),
        (r4, c4, ArrayBuf::F32(fractions), 0.0),
        (r4, c4, ArrayBuf::F64(fixed), 0.01),
    ]
}

#[test]
fn concurrent_calls_give_the_streams_of_lone_calls() {
    let arrays = arrays();
    let params = |threads, abs_error| Params { threads, abs_error, block_height: 256, ..Params::default() };
    // Lone calls, each starting with no kept buffers.
    let expected: Vec<Vec<u8>> = arrays
        .iter()
        .map(|(rows, cols, a, e)| {
            release_buffers();
            compress(a.as_ref(), *rows, *cols, &params(1, *e)).unwrap()
        })
        .collect();
    std::thread::scope(|scope| {
        for worker in 0..4usize {
            let (arrays, expected) = (&arrays, &expected);
            scope.spawn(move || {
                for round in 0..3 {
                    // Each thread in its own order, with 0 (the shared pool), 1 and 2 threads.
                    for k in 0..arrays.len() {
                        let i = (k * (worker + 1) + round) % arrays.len();
                        let (rows, cols, a, e) = &arrays[i];
                        let threads = (worker + round + k) % 3;
                        let packed = compress(a.as_ref(), *rows, *cols, &params(threads, *e)).unwrap();
                        assert!(packed == expected[i], "array {i}, {threads} threads: another stream");
                        let (_, back) = decompress(&packed, threads).unwrap();
                        let (_, lone) = decompress(&expected[i], 1).unwrap();
                        assert!(back.to_le_bytes() == lone.to_le_bytes(), "array {i}, {threads} threads");
                    }
                }
            });
        }
    });
    release_buffers();
}

#[test]
fn states_left_by_failed_decodes_do_not_change_later_ones() {
    for (rows, cols, a, e) in arrays() {
        let params = Params { threads: 2, abs_error: e, block_height: 256, ..Params::default() };
        let packed = compress(a.as_ref(), rows, cols, &params).unwrap();
        let (_, want) = decompress(&packed, 1).unwrap();
        // Damage in the second half of the stream (the tiles' payloads), decoded by the same two workers whose
        // states the valid decode then takes.
        for k in 1..=16usize {
            let mut bad = packed.clone();
            let at = packed.len() / 2 + k * (packed.len() / 2 - 1) / 17;
            bad[at] ^= 0x5a;
            let _ = decompress(&bad, 2);
            let (_, back) = decompress(&packed, 2).unwrap();
            assert!(back.to_le_bytes() == want.to_le_bytes(), "after damage at byte {at}");
        }
    }
}
