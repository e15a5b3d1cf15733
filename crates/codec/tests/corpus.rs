//! Round trips on the real DAS corpus in `../shared/data/das` (skipped when it is absent).

use daspack_codec::{compress, decompress, ArrayBuf, ArrayRef, Params};
use std::path::PathBuf;

mod common;
use common::{load_npy, max_abs_error, std_dev};

fn corpus() -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/das"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "npy"));
    files.sort();
    if files.is_empty() {
        None
    } else {
        Some(files)
    }
}

#[test]
fn every_integer_file_round_trips_bit_exactly() {
    let Some(files) = corpus() else {
        eprintln!("skipped: ../shared/data/das not present");
        return;
    };
    let mut n = 0;
    for path in files {
        let (rows, cols, data) = load_npy(&path);
        if data.dtype().is_float() {
            continue;
        }
        for params in [
            Params::default(),
            Params { lx: 1, lt: 1, lpc_order: 1, lpc_space: 1, auto: false, ..Params::default() },
            Params { entropy: daspack_codec::Entropy::Adaptive, ..Params::default() },
            Params { block_height: 100, block_width: 7, threads: 1, ..Params::default() },
        ] {
            let packed = compress(data.as_ref(), rows, cols, &params).unwrap();
            let (h, back) = decompress(&packed, 0).unwrap();
            assert_eq!((h.rows as usize, h.cols as usize), (rows, cols));
            assert!(back == data, "{} with {params:?}", path.display());
            let raw = data.len() * data.dtype().size();
            assert!(packed.len() < raw, "{} did not compress", path.display());
        }
        n += 1;
    }
    assert_eq!(n, 8, "expected the 8 integer files of the corpus");
}

#[test]
fn every_float_file_meets_its_error_bound() {
    let Some(files) = corpus() else {
        eprintln!("skipped: ../shared/data/das not present");
        return;
    };
    for path in files {
        let (rows, cols, data) = load_npy(&path);
        if !data.dtype().is_float() {
            continue;
        }
        let sd = std_dev(data.as_ref());
        for div in [10.0, 100.0, 1000.0] {
            let e = sd / div;
            let params = Params { abs_error: e, ..Params::default() };
            let packed = compress(data.as_ref(), rows, cols, &params).unwrap();
            let (_, back) = decompress(&packed, 0).unwrap();
            let err = max_abs_error(data.as_ref(), back.as_ref());
            assert!(err <= e, "{}: max error {err} > bound {e}", path.display());
        }
    }
}

#[test]
fn every_float_file_round_trips_losslessly() {
    let Some(files) = corpus() else {
        eprintln!("skipped: ../shared/data/das not present");
        return;
    };
    for path in files {
        let (rows, cols, data) = load_npy(&path);
        if !data.dtype().is_float() {
            continue;
        }
        let packed = compress(data.as_ref(), rows, cols, &Params::default()).unwrap();
        let (_, back) = decompress(&packed, 0).unwrap();
        assert!(back.to_le_bytes() == data.to_le_bytes(), "{} is not bit-exact", path.display());
    }
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let Some(files) = corpus() else {
        eprintln!("skipped: ../shared/data/das not present");
        return;
    };
    let path = files.iter().find(|p| p.to_string_lossy().contains("apsensing")).unwrap();
    let (rows, cols, data) = load_npy(path);
    let one = compress(data.as_ref(), rows, cols, &Params { threads: 1, ..Params::default() }).unwrap();
    let two = compress(data.as_ref(), rows, cols, &Params { threads: 2, ..Params::default() }).unwrap();
    assert_eq!(one, two);
    let _: ArrayRef = data.as_ref();
    let _ = ArrayBuf::I32(vec![]);
}
