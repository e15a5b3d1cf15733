//! `.npy` arrays in an archive: the header numpy wrote (kept verbatim so the file comes back byte for byte) and
//! the DAS-codec chunks, each a whole `daspack_codec` stream of a block of rows of the array's memory layout.

use daspack_codec::{ArrayBuf, ArrayRef, DType, Params};
use serde_json::{json, Value};

/// numpy never writes a longer header; larger claims make the file a plain file.
const MAX_NPY_HEADER: usize = 1 << 20;

/// A parsed `.npy` header (any dtype numpy can save without pickling).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyInfo {
    /// Format version (major, minor).
    pub version: (u8, u8),
    /// The header text exactly as stored (the dict, padding and final newline).
    pub header: String,
    /// The dtype string (`<i4`, `|u1`, `<U8`, ...).
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<u64>,
    /// Bytes per element.
    pub itemsize: u64,
    /// Offset of the data region (= length of the preamble and header).
    pub data_offset: u64,
}

/// The Python literal after `'key':` in a numpy header dict (up to the next top-level comma or brace).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("'{key}'");
    let start = header.find(&pat)? + pat.len();
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}'])? };
    Some(rest[..end].trim())
}

/// Bytes per element of a simple dtype string, `None` for anything else (structured, object, malformed).
fn itemsize(descr: &str) -> Option<u64> {
    let body = descr.strip_prefix(['<', '>', '|', '=']).unwrap_or(descr);
    let body = body.split('[').next()?; // datetime units: '<M8[ns]'
    let kind = body.chars().next()?;
    let n: u64 = body[kind.len_utf8()..].parse().ok()?;
    match kind {
        'b' | 'i' | 'u' | 'f' | 'c' | 'm' | 'M' | 'S' | 'a' | 'V' if n > 0 => Some(n),
        'U' if n > 0 => n.checked_mul(4),
        _ => None,
    }
}

impl NpyInfo {
    /// Parses the start of a `.npy` file of `file_len` bytes. `None` when it is not a `.npy` file whose data
    /// region is exactly `prod(shape) * itemsize` bytes to the end of the file (such a file is stored as bytes).
    pub fn parse(head: &[u8], file_len: u64) -> Option<NpyInfo> {
        if head.len() < 10 || &head[..6] != b"\x93NUMPY" {
            return None;
        }
        let (major, minor) = (head[6], head[7]);
        let (hlen, start) = match major {
            1 => (usize::from(u16::from_le_bytes([head[8], head[9]])), 10),
            2 | 3 if head.len() >= 12 => (u32::from_le_bytes(head[8..12].try_into().ok()?) as usize, 12),
            _ => return None,
        };
        if hlen > MAX_NPY_HEADER || start + hlen > head.len() {
            return None;
        }
        let header = std::str::from_utf8(&head[start..start + hlen]).ok()?.to_string();
        let descr = dict_value(&header, "descr")?;
        let descr = descr.strip_prefix('\'')?.strip_suffix('\'')?.to_string();
        let itemsize = itemsize(&descr)?;
        let fortran_order = match dict_value(&header, "fortran_order")? {
            "True" => true,
            "False" => false,
            _ => return None,
        };
        let shape_txt = dict_value(&header, "shape")?;
        let inner = shape_txt.strip_prefix('(')?.strip_suffix(')')?;
        let shape = inner
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<u64>().ok())
            .collect::<Option<Vec<_>>>()?;
        let elems = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d))?;
        let data_len = elems.checked_mul(itemsize)?;
        let data_offset = (start + hlen) as u64;
        if data_offset.checked_add(data_len)? != file_len {
            return None;
        }
        Some(NpyInfo { version: (major, minor), header, descr, fortran_order, shape, itemsize, data_offset })
    }

    /// The bytes before the data region, as they were in the original file.
    pub fn preamble(&self) -> Vec<u8> {
        let mut b = b"\x93NUMPY".to_vec();
        b.extend_from_slice(&[self.version.0, self.version.1]);
        if self.version.0 == 1 {
            b.extend_from_slice(&(self.header.len() as u16).to_le_bytes());
        } else {
            b.extend_from_slice(&(self.header.len() as u32).to_le_bytes());
        }
        b.extend_from_slice(self.header.as_bytes());
        b
    }

    /// Data bytes.
    pub fn data_len(&self) -> u64 {
        self.shape.iter().product::<u64>() * self.itemsize
    }

    /// The memory layout as a row-major matrix `(rows, cols)`: C order `(shape[0], rest)`, Fortran order
    /// `(shape[last], rest)` (its fastest axis is the first). 0-d arrays are `(1, 1)`.
    pub fn layout_2d(&self) -> (u64, u64) {
        match (self.shape.len(), self.fortran_order) {
            (0, _) => (1, 1),
            (_, false) => (self.shape[0], self.shape[1..].iter().product()),
            (n, true) => (self.shape[n - 1], self.shape[..n - 1].iter().product()),
        }
    }

    /// The codec's element type, when the DAS codec can store this array (little-endian int16, uint16, int32,
    /// float32, float64).
    pub fn das_dtype(&self) -> Option<DType> {
        Some(match self.descr.as_str() {
            "<i2" => DType::I16,
            "<u2" => DType::U16,
            "<i4" => DType::I32,
            "<f4" => DType::F32,
            "<f8" => DType::F64,
            _ => return None,
        })
    }

    /// The `npy` metadata object.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "version": [self.version.0, self.version.1],
            "header": self.header,
            "descr": self.descr,
            "fortran_order": self.fortran_order,
            "shape": self.shape,
        })
    }

    /// Reads the `npy` metadata object back; the entry's size must be the data length.
    pub fn from_json(v: &Value, size: u64) -> Result<NpyInfo, String> {
        let version = v.get("version").and_then(Value::as_array).ok_or("npy.version missing")?;
        let part = |i: usize| version.get(i).and_then(Value::as_u64).and_then(|x| u8::try_from(x).ok());
        let (major, minor) = (part(0).ok_or("npy.version")?, part(1).ok_or("npy.version")?);
        if !(1..=3).contains(&major) {
            return Err(format!("npy version {major}.{minor} (a .npy file is version 1, 2 or 3)"));
        }
        let header = v.get("header").and_then(Value::as_str).ok_or("npy.header missing")?.to_string();
        let mut pre = b"\x93NUMPY".to_vec();
        pre.extend_from_slice(&[major, minor]);
        if major == 1 {
            pre.extend_from_slice(&u16::try_from(header.len()).map_err(|_| "npy.header too long")?.to_le_bytes());
        } else {
            pre.extend_from_slice(&u32::try_from(header.len()).map_err(|_| "npy.header too long")?.to_le_bytes());
        }
        pre.extend_from_slice(header.as_bytes());
        let total = (pre.len() as u64).checked_add(size).ok_or("size overflows")?;
        let info =
            NpyInfo::parse(&pre, total).ok_or_else(|| "npy header does not describe the entry's bytes".to_string())?;
        // The other keys restate the header (for readers that do not parse Python literals): they must agree.
        let agrees = v.get("descr").and_then(Value::as_str) == Some(info.descr.as_str())
            && v.get("fortran_order").and_then(Value::as_bool) == Some(info.fortran_order)
            && v.get("shape").and_then(Value::as_array).is_some_and(|s| {
                s.len() == info.shape.len() && s.iter().zip(&info.shape).all(|(a, &b)| a.as_u64() == Some(b))
            });
        if !agrees {
            return Err("npy.descr, npy.fortran_order or npy.shape disagrees with npy.header".to_string());
        }
        Ok(info)
    }
}

/// How an array entry's rows are cut into DAS chunks: the `das` metadata object.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct DasLayout {
    pub dtype: DType,
    pub cols: u64,
}

impl DasLayout {
    pub fn row_bytes(&self) -> u64 {
        self.cols * self.dtype.size() as u64
    }

    pub fn to_json(self, rows: u64, params: &Params) -> Value {
        json!({"dtype": self.dtype.name(), "rows": rows, "cols": self.cols, "abs_error": params.abs_error})
    }

    pub fn from_json(v: &Value) -> Result<DasLayout, String> {
        let name = v.get("dtype").and_then(Value::as_str).ok_or("das.dtype missing")?;
        let dtype = (1..=5).filter_map(DType::from_code).find(|d| d.name() == name).ok_or("das.dtype unknown")?;
        let cols = v.get("cols").and_then(Value::as_u64).ok_or("das.cols missing")?;
        Ok(DasLayout { dtype, cols })
    }
}

/// Typed elements from little-endian bytes.
fn typed(dtype: DType, b: &[u8]) -> ArrayBuf {
    macro_rules! conv {
        ($t:ty, $v:ident) => {
            ArrayBuf::$v(
                b.chunks_exact(std::mem::size_of::<$t>())
                    .map(|c| <$t>::from_le_bytes(c.try_into().expect("exact chunk")))
                    .collect(),
            )
        };
    }
    match dtype {
        DType::I16 => conv!(i16, I16),
        DType::U16 => conv!(u16, U16),
        DType::I32 => conv!(i32, I32),
        DType::F32 => conv!(f32, F32),
        DType::F64 => conv!(f64, F64),
    }
}

/// Codes a block of whole rows (`data.len()` is a multiple of the row length) as one codec stream.
pub(crate) fn encode_das(layout: DasLayout, params: &Params, data: &[u8]) -> Result<Vec<u8>, String> {
    let rows = (data.len() as u64 / layout.row_bytes()) as usize;
    let arr = typed(layout.dtype, data);
    let r: ArrayRef<'_> = arr.as_ref();
    daspack_codec::compress(r, rows, layout.cols as usize, params).map_err(|e| e.to_string())
}

/// Decodes one DAS chunk to exactly `orig_len` bytes of whole rows of `layout`.
pub(crate) fn decode_das(layout: DasLayout, stored: &[u8], orig_len: usize) -> Result<Vec<u8>, String> {
    let h = daspack_codec::read_header(stored).map_err(|e| format!("DAS stream: {e}"))?;
    let claimed = u128::from(h.rows) * u128::from(h.cols) * h.dtype.size() as u128;
    if h.dtype != layout.dtype || h.cols != layout.cols || claimed != orig_len as u128 {
        return Err(format!(
            "DAS stream holds {} x {} {}, the entry needs {} bytes of {}-column {}",
            h.rows,
            h.cols,
            h.dtype.name(),
            orig_len,
            layout.cols,
            layout.dtype.name()
        ));
    }
    let (_, arr) = daspack_codec::decompress(stored, 0).map_err(|e| format!("DAS stream: {e}"))?;
    Ok(arr.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_headers_parse_and_rebuild() {
        let header = "{'descr': '<U3', 'fortran_order': True, 'shape': (2, 5), }          \n";
        let mut f = b"\x93NUMPY\x01\x00".to_vec();
        f.extend_from_slice(&(header.len() as u16).to_le_bytes());
        f.extend_from_slice(header.as_bytes());
        let pre_len = f.len() as u64;
        let info = NpyInfo::parse(&f, pre_len + 2 * 5 * 12).unwrap();
        assert_eq!((info.itemsize, info.fortran_order, info.layout_2d()), (12, true, (5, 2)));
        assert_eq!(info.preamble(), f);
        assert!(NpyInfo::parse(&f, pre_len + 1).is_none());
        let back = NpyInfo::from_json(&info.to_json(), info.data_len()).unwrap();
        assert_eq!(back, info);
        for bad in ["|O", "[('a', '<i4')]", "<x4", "<i0"] {
            assert_eq!(itemsize(bad), None, "{bad}");
        }
        assert_eq!(itemsize("<M8[ns]"), Some(8));
    }
}
