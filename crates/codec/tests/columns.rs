//! Coding by columns (tile method 4: every channel predicted apart, then from the channels before it, one table per
//! tile) at the level of whole streams: the trial picks it for channels with little in common and not for a
//! coherent wavefield, streams take the version of what they use, forcing it on or off is obeyed, and streams of
//! earlier versions (method 3, method 4 before tables could be laws) still decode.

use daspack_codec::{compress, decompress, read_header, ArrayBuf, Entropy, Params};

mod common;
use common::max_abs_error;

fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

/// Channels with their own amplitudes (10 to 10^4) and spectra, nothing in common: `rows x cols`, row-major.
fn channels_apart(rows: usize, cols: usize, seed: u64) -> Vec<i32> {
    let mut next = xorshift(seed);
    let mut x = vec![0i32; rows * cols];
    for c in 0..cols {
        let amp = 10u64.pow(1 + (c % 4) as u32);
        let pole = [0.2, 0.5, -0.3, 0.8][c % 4];
        let mut prev = 0f64;
        for t in 0..rows {
            let e = (next() % (2 * amp + 1)) as f64 - amp as f64;
            prev = pole * prev + e;
            x[t * cols + c] = prev.round() as i32;
        }
    }
    x
}

/// Broadband noise moving across the channels one sample per channel, with little noise of their own: useless
/// to predict along time, predicted by the channel before (one sample earlier).
fn wavefield(rows: usize, cols: usize, seed: u64) -> Vec<i32> {
    let mut next = xorshift(seed);
    let source: Vec<i32> = (0..rows + cols).map(|_| (next() % 20_001) as i32 - 10_000).collect();
    (0..rows * cols).map(|i| source[i / cols + cols - i % cols] + (next() % 5) as i32).collect()
}

/// The method of a stream's first tile (for a mode-2 float tile, that of its integer plane, which follows its form
/// byte, its exception count (0 here) and the plane's length, varints).
fn first_method(stream: &[u8]) -> u8 {
    let header = read_header(stream).unwrap();
    let mut at = header.tiles[0].offset as usize;
    if matches!(header.mode, daspack_codec::Mode::FloatScaled { .. }) {
        assert_eq!(stream[at + 1], 0, "exceptions");
        at += 2;
        while stream[at] & 0x80 != 0 {
            at += 1;
        }
        at += 1;
    }
    stream[at]
}

/// Round trip; returns the stream's version, the method of its first tile and its length.
fn round_trip(data: &ArrayBuf, rows: usize, cols: usize, params: &Params) -> (u8, u8, usize) {
    let stream = compress(data.as_ref(), rows, cols, params).unwrap();
    let (header, back) = decompress(&stream, 2).unwrap();
    if params.abs_error == 0.0 {
        assert!(&back == data, "not bit-exact");
    } else {
        let error = max_abs_error(data.as_ref(), back.as_ref());
        assert!(error <= params.abs_error, "error {error} above {}", params.abs_error);
    }
    assert_eq!(read_header(&stream).unwrap().version, header.version);
    (header.version, first_method(&stream), stream.len())
}

#[test]
fn the_trial_picks_columns_for_channels_apart_only() {
    let (rows, cols) = (3000, 12);
    let apart = ArrayBuf::I32(channels_apart(rows, cols, 1));
    let (_, method, auto) = round_trip(&apart, rows, cols, &Params::default());
    let (_, off_method, off) = round_trip(&apart, rows, cols, &Params { columns: Some(false), ..Params::default() });
    assert_eq!((method, off_method), (4, 2));
    assert!(auto * 100 < off * 98, "columns {auto} bytes against 2-D {off}");
    // The same stream whichever the thread count (the trial's two codings run side by side).
    let one = compress(apart.as_ref(), rows, cols, &Params { threads: 1, ..Params::default() }).unwrap();
    let two = compress(apart.as_ref(), rows, cols, &Params { threads: 2, ..Params::default() }).unwrap();
    assert_eq!(one, two);

    let field = ArrayBuf::I32(wavefield(rows, cols, 2));
    let (_, method, auto) = round_trip(&field, rows, cols, &Params::default());
    let (_, on_method, on) = round_trip(&field, rows, cols, &Params { columns: Some(true), ..Params::default() });
    assert_eq!((method, on_method), (2, 4));
    assert!(auto < on, "2-D {auto} bytes against columns {on}");
}

#[test]
fn versions_follow_what_the_stream_uses() {
    let (rows, cols) = (1500, 10);
    let ints = channels_apart(rows, cols, 3);
    let counts = ArrayBuf::F32(ints.iter().map(|&v| v as f32).collect());
    let fractions = ArrayBuf::F32(ints.iter().map(|&v| ((v as f64 * 0.0173).sin() * 1000.0) as f32).collect());
    let ints = ArrayBuf::I32(ints);
    let on = Params { columns: Some(true), ..Params::default() };
    let v = |data: &ArrayBuf, rows, cols, params: &Params| {
        let (version, method, _) = round_trip(data, rows, cols, params);
        (version, method)
    };
    // Static tables are laws where that is smaller (version 5), which is so in every tile here.
    // Exact integers in float32 (mode 2) use columns too; genuine floats (mode 3) are never tried.
    assert_eq!(v(&counts, rows, cols, &Params::default()), (5, 4));
    assert_eq!(v(&ints, rows, cols, &Params { abs_error: 2.0, ..on.clone() }), (5, 4));
    assert_eq!(v(&ints, rows, cols, &Params { lt: 1, ..on.clone() }), (5, 2));
    // (The variant these genuine floats keep has no law: version 2, that of lossless floats.)
    assert_eq!(round_trip(&fractions, rows, cols, &Params::default()).0, 2);
    // The adaptive coder has no tables, and columns cannot be coded with it: the oldest version.
    assert_eq!(v(&ints, rows, cols, &Params { entropy: Entropy::Adaptive, ..on.clone() }), (1, 1));
    // Tiles of one channel (a 2-D plane of one column) and a one-column array.
    assert_eq!(v(&ints, rows, cols, &Params { block_width: 1, ..on.clone() }), (5, 2));
    let one: Vec<i32> = channels_apart(rows, 1, 4);
    assert_eq!(v(&ArrayBuf::I32(one), rows, 1, &on), (5, 2));
}

/// Streams written by earlier encoders (`tests/format/golden/`, with their inputs) still decode bit for bit:
/// version 3 with method-3 tiles (before method 4 replaced it), version 4 with method-4 tiles and version 1 with 2-D
/// method-2 tiles (before tables could be laws: every table explicit).
#[test]
fn streams_of_earlier_versions_still_decode() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/format/golden");
    for (name, input, version, method) in [
        ("v3_method3_i32", "i32", 3, 3),
        ("v3_method3_i16_segments", "i16_segments", 3, 3),
        ("v3_method3_f32_scaled", "f32_scaled", 3, 3),
        ("v4_method4_i32", "i32", 4, 4),
        ("v4_method4_i16_segments", "i16_segments", 4, 4),
        ("v4_method4_f32_scaled", "f32_scaled", 4, 4),
        ("v1_method2_i32", "i32", 1, 2),
    ] {
        let stream = std::fs::read(dir.join(format!("{name}.dps"))).unwrap();
        let (rows, cols, want) = common::load_npy(&dir.join(format!("input_{input}.npy")));
        let (header, got) = decompress(&stream, 2).unwrap();
        assert_eq!((header.version, header.rows as usize, header.cols as usize), (version, rows, cols), "{name}");
        assert_eq!(first_method(&stream), method, "{name}");
        assert!(got == want, "{name}");
    }
}
