//! Helpers shared by the codec's integration tests (a minimal .npy reader: the facade has the real one, but the
//! codec must not depend on it).
#![allow(dead_code)]

use daspack_codec::{ArrayBuf, ArrayRef};
use std::path::Path;

pub fn load_npy(path: &Path) -> (usize, usize, ArrayBuf) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..6], b"\x93NUMPY");
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
    let descr = header.split("'descr': '").nth(1).unwrap().split('\'').next().unwrap();
    let shape = header.split("'shape': (").nth(1).unwrap().split(')').next().unwrap();
    let dims: Vec<usize> = shape.split(',').filter_map(|s| s.trim().parse().ok()).collect();
    let (rows, cols) = (dims[0], *dims.get(1).unwrap_or(&1));
    let body = &b[10 + hlen..];
    let data = match descr {
        "<i2" => ArrayBuf::I16(body.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()),
        "<i4" => ArrayBuf::I32(body.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()),
        "<f4" => ArrayBuf::F32(body.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()),
        "<f8" => ArrayBuf::F64(body.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()),
        d => panic!("unexpected dtype {d}"),
    };
    assert_eq!(data.len(), rows * cols);
    (rows, cols, data)
}

pub fn to_f64(a: ArrayRef<'_>) -> Vec<f64> {
    match a {
        ArrayRef::I16(v) => v.iter().map(|&x| x as f64).collect(),
        ArrayRef::U16(v) => v.iter().map(|&x| x as f64).collect(),
        ArrayRef::I32(v) => v.iter().map(|&x| x as f64).collect(),
        ArrayRef::F32(v) => v.iter().map(|&x| x as f64).collect(),
        ArrayRef::F64(v) => v.to_vec(),
    }
}

pub fn max_abs_error(a: ArrayRef<'_>, b: ArrayRef<'_>) -> f64 {
    to_f64(a).iter().zip(to_f64(b)).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

pub fn std_dev(a: ArrayRef<'_>) -> f64 {
    let v = to_f64(a);
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}
