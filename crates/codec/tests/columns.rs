//! Coding by columns (tile method 4: every channel predicted apart, then from the channels before it, one table per
//! tile) at the level of whole streams: the trial picks it for channels with little in common and not for a
//! coherent wavefield, its streams are version 4 and the others keep their older version, forcing it on or off is
//! obeyed, and version-3 streams of method 3 still decode.

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

fn round_trip(data: &ArrayBuf, rows: usize, cols: usize, params: &Params) -> (u8, usize) {
    let stream = compress(data.as_ref(), rows, cols, params).unwrap();
    let (header, back) = decompress(&stream, 2).unwrap();
    if params.abs_error == 0.0 {
        assert!(&back == data, "not bit-exact");
    } else {
        let error = max_abs_error(data.as_ref(), back.as_ref());
        assert!(error <= params.abs_error, "error {error} above {}", params.abs_error);
    }
    assert_eq!(read_header(&stream).unwrap().version, header.version);
    (header.version, stream.len())
}

#[test]
fn the_trial_picks_columns_for_channels_apart_only() {
    let (rows, cols) = (3000, 12);
    let apart = ArrayBuf::I32(channels_apart(rows, cols, 1));
    let (version, auto) = round_trip(&apart, rows, cols, &Params::default());
    let (off_version, off) = round_trip(&apart, rows, cols, &Params { columns: Some(false), ..Params::default() });
    assert_eq!((version, off_version), (4, 1));
    assert!(auto * 100 < off * 98, "columns {auto} bytes against 2-D {off}");
    // The same stream whichever the thread count (the trial's two codings run side by side).
    let one = compress(apart.as_ref(), rows, cols, &Params { threads: 1, ..Params::default() }).unwrap();
    let two = compress(apart.as_ref(), rows, cols, &Params { threads: 2, ..Params::default() }).unwrap();
    assert_eq!(one, two);

    let field = ArrayBuf::I32(wavefield(rows, cols, 2));
    let (version, auto) = round_trip(&field, rows, cols, &Params::default());
    let (on_version, on) = round_trip(&field, rows, cols, &Params { columns: Some(true), ..Params::default() });
    assert_eq!((version, on_version), (1, 4));
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
    // Exact integers in float32 (mode 2) use columns too; genuine floats (mode 3) are never tried.
    assert_eq!(round_trip(&counts, rows, cols, &Params::default()).0, 4);
    assert_eq!(round_trip(&fractions, rows, cols, &Params::default()).0, 2);
    assert_eq!(round_trip(&ints, rows, cols, &Params { abs_error: 2.0, ..on.clone() }).0, 4);
    // Settings columns cannot be coded with (adaptive coder, wavelet) keep the older methods and version.
    assert_eq!(round_trip(&ints, rows, cols, &Params { entropy: Entropy::Adaptive, ..on.clone() }).0, 1);
    assert_eq!(round_trip(&ints, rows, cols, &Params { lt: 1, ..on.clone() }).0, 1);
    // Tiles of one channel (a 2-D plane of one column) and a one-column array.
    assert_eq!(round_trip(&ints, rows, cols, &Params { block_width: 1, ..on.clone() }).0, 4);
    let one: Vec<i32> = channels_apart(rows, 1, 4);
    assert_eq!(round_trip(&ArrayBuf::I32(one), rows, 1, &on).0, 4);
}

/// Version-3 streams of method-3 tiles, written by the encoder before method 4 replaced it
/// (`tests/format/golden/`, with their inputs), still decode bit for bit.
#[test]
fn version_3_column_streams_still_decode() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/format/golden");
    for name in ["v3_method3_i32", "v3_method3_i16_segments", "v3_method3_f32_scaled"] {
        let stream = std::fs::read(dir.join(format!("{name}.dps"))).unwrap();
        let (rows, cols, want) = common::load_npy(&dir.join(format!("{name}.npy")));
        let (header, got) = decompress(&stream, 2).unwrap();
        assert_eq!((header.version, header.rows as usize, header.cols as usize), (3, rows, cols), "{name}");
        // The first tile's payload starts with method 3; a mode-2 float tile's integer plane follows its form byte,
        // its exception count (0 here) and the plane's length (varints).
        let mut at = header.tiles[0].offset as usize;
        if matches!(want, ArrayBuf::F32(_)) {
            assert_eq!(stream[at + 1], 0, "{name}: exceptions");
            at += 2;
            while stream[at] & 0x80 != 0 {
                at += 1;
            }
            at += 1;
        }
        assert_eq!(stream[at], 3, "{name}");
        assert!(got == want, "{name}");
    }
}
