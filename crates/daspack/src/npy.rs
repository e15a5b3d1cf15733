//! Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0) for the array types of the codec.
//!
//! Arrays of any rank are seen as 2-D (time x channel): 1-D `(n,)` is `(n, 1)`, 0-D is `(1, 1)`, and higher ranks
//! fold their leading axes into time. Fortran-ordered 2-D arrays are transposed to C order on reading, and
//! big-endian data is byte-swapped. The header is parsed defensively: its length, the declared shape and the file
//! size must agree before anything is allocated.

use crate::{ArrayBuf, DType, Error};
use std::io::{Read, Write};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// numpy refuses headers longer than this; so do we.
const MAX_HEADER: usize = 1 << 16;

/// A parsed `.npy` array.
#[derive(Clone, Debug, PartialEq)]
pub struct Npy {
    /// The shape as stored in the file.
    pub shape: Vec<usize>,
    /// The 2-D view `(rows, cols)` the codec works on.
    pub rows: usize,
    pub cols: usize,
    /// The elements in C order.
    pub data: ArrayBuf,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::Npy(msg.into())
}

/// The value of `'key':` in a numpy header dict (a Python literal up to the next top-level comma or brace).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pat_sq = format!("'{key}'");
    let pat_dq = format!("\"{key}\"");
    let start =
        header.find(&pat_sq).map(|i| i + pat_sq.len()).or_else(|| header.find(&pat_dq).map(|i| i + pat_dq.len()))?;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}']).unwrap_or(rest.len()) };
    Some(rest[..end].trim())
}

/// Parses the header of a `.npy` image; returns (dtype, big endian, fortran order, shape, data offset).
pub fn parse_header(bytes: &[u8]) -> Result<(DType, bool, bool, Vec<usize>, usize), Error> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("missing \\x93NUMPY magic"));
    }
    let (hlen, hstart) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(bad(format!("unsupported format version {v}"))),
    };
    if hlen > MAX_HEADER || hstart + hlen > bytes.len() {
        return Err(bad("header length exceeds the file"));
    }
    let header = std::str::from_utf8(&bytes[hstart..hstart + hlen]).map_err(|_| bad("header is not text"))?;
    let descr = dict_value(header, "descr").ok_or_else(|| bad("no 'descr' in header"))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let (big, code) = match descr.as_bytes().first() {
        Some(b'<') | Some(b'|') | Some(b'=') => (false, &descr[1..]),
        Some(b'>') => (true, &descr[1..]),
        _ => (false, descr),
    };
    let dtype = match code {
        "i2" => DType::I16,
        "u2" => DType::U16,
        "i4" => DType::I32,
        "f4" => DType::F32,
        "f8" => DType::F64,
        other => return Err(bad(format!("dtype '{other}' is not supported (int16, uint16, int32, float32, float64)"))),
    };
    let fortran = match dict_value(header, "fortran_order") {
        Some("True") => true,
        Some("False") => false,
        _ => return Err(bad("bad or missing 'fortran_order'")),
    };
    let shape_txt = dict_value(header, "shape").ok_or_else(|| bad("no 'shape' in header"))?;
    let inner = shape_txt.strip_prefix('(').and_then(|s| s.strip_suffix(')')).ok_or_else(|| bad("bad 'shape'"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>().map_err(|_| bad(format!("bad dimension '{s}'"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((dtype, big, fortran, shape, hstart + hlen))
}

/// The 2-D (rows, cols) view of a shape.
pub fn view_2d(shape: &[usize]) -> Option<(usize, usize)> {
    match shape {
        [] => Some((1, 1)),
        [n] => Some((*n, 1)),
        [.., c] => {
            let rows = shape[..shape.len() - 1].iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
            Some((rows, *c))
        }
    }
}

/// Parses a whole `.npy` image.
pub fn parse(bytes: &[u8]) -> Result<Npy, Error> {
    let (dtype, big, fortran, shape, offset) = parse_header(bytes)?;
    let (rows, cols) = view_2d(&shape).ok_or_else(|| bad("shape overflows"))?;
    let n = rows.checked_mul(cols).ok_or_else(|| bad("shape overflows"))?;
    let need = n.checked_mul(dtype.size()).ok_or_else(|| bad("shape overflows"))?;
    let body = &bytes[offset..];
    if body.len() < need {
        return Err(bad(format!("file holds {} data bytes, shape {:?} needs {need}", body.len(), shape)));
    }
    if fortran && shape.len() > 2 {
        return Err(bad("Fortran-ordered arrays of rank > 2 are not supported"));
    }
    let body = &body[..need];
    let mut data = decode_elements(dtype, big, body);
    if fortran && shape.len() == 2 {
        data = transpose(&data, cols, rows);
    }
    Ok(Npy { shape, rows, cols, data })
}

fn decode_elements(dtype: DType, big: bool, b: &[u8]) -> ArrayBuf {
    macro_rules! conv {
        ($t:ty, $n:expr, $v:ident) => {
            ArrayBuf::$v(
                b.chunks_exact($n)
                    .map(|c| {
                        let a: [u8; $n] = c.try_into().expect("chunks_exact yields exact chunks");
                        if big {
                            <$t>::from_be_bytes(a)
                        } else {
                            <$t>::from_le_bytes(a)
                        }
                    })
                    .collect(),
            )
        };
    }
    match dtype {
        DType::I16 => conv!(i16, 2, I16),
        DType::U16 => conv!(u16, 2, U16),
        DType::I32 => conv!(i32, 4, I32),
        DType::F32 => conv!(f32, 4, F32),
        DType::F64 => conv!(f64, 8, F64),
    }
}

/// Transposes a row-major `rows x cols` array (here: the Fortran layout seen as `cols x rows`).
fn transpose(a: &ArrayBuf, rows: usize, cols: usize) -> ArrayBuf {
    fn t<T: Copy>(v: &[T], rows: usize, cols: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(v.len());
        for c in 0..cols {
            for r in 0..rows {
                out.push(v[r * cols + c]);
            }
        }
        out
    }
    match a {
        ArrayBuf::I16(v) => ArrayBuf::I16(t(v, rows, cols)),
        ArrayBuf::U16(v) => ArrayBuf::U16(t(v, rows, cols)),
        ArrayBuf::I32(v) => ArrayBuf::I32(t(v, rows, cols)),
        ArrayBuf::F32(v) => ArrayBuf::F32(t(v, rows, cols)),
        ArrayBuf::F64(v) => ArrayBuf::F64(t(v, rows, cols)),
    }
}

/// Reads a `.npy` file. The elements are read straight into their typed buffer, so peak memory is the array itself
/// (plus one transposed copy for Fortran order).
pub fn read(path: &std::path::Path) -> Result<Npy, Error> {
    let mut f = std::fs::File::open(path)?;
    let file_len = f.metadata()?.len();
    // The header is at most MAX_HEADER bytes past the 12-byte preamble.
    let mut head = Vec::new();
    (&mut f).take((MAX_HEADER + 12) as u64).read_to_end(&mut head)?;
    let (dtype, big, fortran, shape, offset) = parse_header(&head)?;
    let (rows, cols) = view_2d(&shape).ok_or_else(|| bad("shape overflows"))?;
    let n = rows.checked_mul(cols).ok_or_else(|| bad("shape overflows"))?;
    let need = n.checked_mul(dtype.size()).ok_or_else(|| bad("shape overflows"))?;
    if (offset as u64).saturating_add(need as u64) > file_len {
        return Err(bad(format!("file holds {} data bytes, shape {:?} needs {need}", file_len - offset as u64, shape)));
    }
    if fortran && shape.len() > 2 {
        return Err(bad("Fortran-ordered arrays of rank > 2 are not supported"));
    }
    use std::io::{Seek, SeekFrom};
    f.seek(SeekFrom::Start(offset as u64))?;
    fn fill<T: bytemuck::Pod + Default>(
        f: &mut std::fs::File,
        n: usize,
        swap: impl Fn(T) -> T,
    ) -> std::io::Result<Vec<T>> {
        let mut v = vec![T::default(); n];
        f.read_exact(bytemuck::cast_slice_mut(&mut v))?;
        v.iter_mut().for_each(|x| *x = swap(*x));
        Ok(v)
    }
    // Elements are stored little-endian (or big-endian when `big`): convert from the file's order to ours.
    let le = |big: bool| !big;
    let mut data = match dtype {
        DType::I16 => ArrayBuf::I16(fill(&mut f, n, |x: i16| if le(big) { i16::from_le(x) } else { i16::from_be(x) })?),
        DType::U16 => ArrayBuf::U16(fill(&mut f, n, |x: u16| if le(big) { u16::from_le(x) } else { u16::from_be(x) })?),
        DType::I32 => ArrayBuf::I32(fill(&mut f, n, |x: i32| if le(big) { i32::from_le(x) } else { i32::from_be(x) })?),
        DType::F32 => ArrayBuf::F32(fill(&mut f, n, |x: f32| {
            let b = x.to_bits();
            f32::from_bits(if le(big) { u32::from_le(b) } else { u32::from_be(b) })
        })?),
        DType::F64 => ArrayBuf::F64(fill(&mut f, n, |x: f64| {
            let b = x.to_bits();
            f64::from_bits(if le(big) { u64::from_le(b) } else { u64::from_be(b) })
        })?),
    };
    if fortran && shape.len() == 2 {
        data = transpose(&data, cols, rows);
    }
    Ok(Npy { shape, rows, cols, data })
}

/// Writes a C-ordered, little-endian `.npy` (version 1.0) of the given shape.
pub fn write(w: &mut impl Write, data: &ArrayBuf, shape: &[usize]) -> Result<(), Error> {
    let descr = match data.dtype() {
        DType::I16 => "<i2",
        DType::U16 => "<u2",
        DType::I32 => "<i4",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
    };
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // Pad so that the data starts on a 64-byte boundary, ending with a newline, as numpy does.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat(total.next_multiple_of(64) - total));
    header.push('\n');
    w.write_all(MAGIC)?;
    w.write_all(&[1, 0])?;
    w.write_all(&(header.len() as u16).to_le_bytes())?;
    w.write_all(header.as_bytes())?;
    w.write_all(&data.to_le_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_parse_round_trips_every_dtype() {
        let arrays = [
            ArrayBuf::I16(vec![1, -2, 3, -4, 5, -6]),
            ArrayBuf::U16(vec![1, 2, 3, 4, 5, 65535]),
            ArrayBuf::I32(vec![i32::MIN, 0, i32::MAX, 7, 8, 9]),
            ArrayBuf::F32(vec![0.5, -0.0, f32::NAN, 1e30, 2.0, 3.0]),
            ArrayBuf::F64(vec![0.25, -1e300, 3.0, 4.0, 5.0, 6.0]),
        ];
        for a in arrays {
            let mut buf = Vec::new();
            write(&mut buf, &a, &[3, 2]).unwrap();
            assert_eq!(buf.len() % 64, (a.len() * a.dtype().size()) % 64);
            let n = parse(&buf).unwrap();
            assert_eq!((n.rows, n.cols), (3, 2));
            assert_eq!(n.data.to_le_bytes(), a.to_le_bytes());
        }
    }

    #[test]
    fn fortran_order_and_big_endian_are_converted() {
        let header = "{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3), }";
        let mut b = Vec::from(&MAGIC[..]);
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        // Fortran order: column by column: a[0,0], a[1,0], a[0,1], a[1,1], a[0,2], a[1,2].
        for v in [1i32, 4, 2, 5, 3, 6] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        let n = parse(&b).unwrap();
        assert_eq!(n.data, ArrayBuf::I32(vec![1, 2, 3, 4, 5, 6]));
    }

    #[test]
    fn reading_a_file_matches_parsing_its_bytes() {
        let dir = std::env::temp_dir().join(format!("daspack-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for a in [ArrayBuf::I16(vec![1, -2, 3, -4]), ArrayBuf::F64(vec![0.5, -1.5, f64::MAX, 1e-300])] {
            let mut buf = Vec::new();
            write(&mut buf, &a, &[2, 2]).unwrap();
            let path = dir.join("a.npy");
            std::fs::write(&path, &buf).unwrap();
            assert_eq!(read(&path).unwrap(), parse(&buf).unwrap());
            std::fs::write(&path, &buf[..buf.len() - 1]).unwrap();
            assert!(read(&path).is_err());
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn hostile_headers_are_errors() {
        let mut good = Vec::new();
        write(&mut good, &ArrayBuf::I32(vec![1, 2, 3, 4]), &[2, 2]).unwrap();
        for cut in 0..good.len() {
            assert!(parse(&good[..cut]).is_err(), "truncated at {cut}");
        }
        let huge = "{'descr': '<i4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }";
        let mut b = Vec::from(&MAGIC[..]);
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&(huge.len() as u16).to_le_bytes());
        b.extend_from_slice(huge.as_bytes());
        assert!(parse(&b).is_err());
        for descr in ["<c8", "|O", "<i8", "garbage"] {
            let h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}");
            let mut b = Vec::from(&MAGIC[..]);
            b.extend_from_slice(&[1, 0]);
            b.extend_from_slice(&(h.len() as u16).to_le_bytes());
            b.extend_from_slice(h.as_bytes());
            b.extend_from_slice(&[0; 16]);
            assert!(parse(&b).is_err(), "{descr}");
        }
    }
}
