//! The metadata `bloscpack.pack_ndarray` stores: `{"dtype": ..., "shape": [...], "order": "C"|"F",
//! "container": "numpy"}`, where `dtype` is the Python `repr` of `dtype.str` (`"'<f8'"`) or, for structured dtypes,
//! of `dtype.descr` (`"[('x', '<i4'), ('name', '|S3')]"`). That text is exactly what a `.npy` header stores under
//! `'descr'`, so [`NumpyMeta::npy_header`] can rebuild the `.npy` header numpy itself would write. Files from
//! bloscpack before 0.7.2 stored the dtype as plain text (`"<f8"`) or as nested JSON lists; both are converted.

use serde_json::Value;

use super::{Error, Result};

/// dtype, shape and memory order of an array packed by `bloscpack.pack_ndarray`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumpyMeta {
    /// The dtype as a Python literal, as `.npy` headers store it under `'descr'`: `'<f8'` or
    /// `[('x', '<i4'), ('y', '<f8')]`.
    pub descr: String,
    /// The shape.
    pub shape: Vec<u64>,
    /// `true` when the payload is Fortran-order memory (`order` = `"F"`).
    pub fortran_order: bool,
}

fn bad(reason: impl Into<String>) -> Error {
    Error::Metadata { offset: 0, reason: format!("numpy metadata: {}", reason.into()) }
}

/// Python `repr` of a string (single quotes unless the text holds one and no double quote).
fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// bloscpack's `_conv`: nested JSON lists become a list of tuples, rendered as a Python literal.
fn py_literal(v: &Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(py_str(s)),
        Value::Number(n) => Ok(n.to_string()),
        Value::Array(items) => {
            let parts = items.iter().map(py_literal).collect::<Result<Vec<_>>>()?;
            if matches!(items.first(), Some(Value::Array(_))) || items.is_empty() {
                Ok(format!("[{}]", parts.join(", ")))
            } else if parts.len() == 1 {
                Ok(format!("({},)", parts[0]))
            } else {
                Ok(format!("({})", parts.join(", ")))
            }
        }
        other => Err(bad(format!("unexpected dtype element {other}"))),
    }
}

impl NumpyMeta {
    /// A simple dtype such as `<f8`, `|u1`, `<U5`.
    pub fn simple(dtype: &str, shape: Vec<u64>, fortran_order: bool) -> NumpyMeta {
        NumpyMeta { descr: py_str(dtype), shape, fortran_order }
    }

    /// Reads the numpy convention from metadata; `Ok(None)` when `container` is not `"numpy"`.
    pub fn from_metadata(meta: &Value) -> Result<Option<NumpyMeta>> {
        if meta.get("container").and_then(Value::as_str) != Some("numpy") {
            return Ok(None);
        }
        let descr = match meta.get("dtype") {
            Some(Value::String(s)) => {
                let t = s.trim();
                if t.starts_with('\'') || t.starts_with('"') || t.starts_with('[') || t.starts_with('(') {
                    t.to_string()
                } else {
                    // Before bloscpack 0.7.2 simple dtypes were stored without repr().
                    py_str(t)
                }
            }
            Some(v @ Value::Array(_)) => py_literal(v)?,
            _ => return Err(bad("missing or invalid 'dtype'")),
        };
        let shape = match meta.get("shape") {
            Some(Value::Array(dims)) => {
                dims.iter().map(|d| d.as_u64().ok_or_else(|| bad(format!("invalid dimension {d}")))).collect()
            }
            Some(Value::Number(n)) => n.as_u64().map(|d| vec![d]).ok_or_else(|| bad("invalid shape")),
            _ => Err(bad("missing or invalid 'shape'")),
        }?;
        let fortran_order = match meta.get("order").and_then(Value::as_str) {
            Some("C") | None => false,
            Some("F") => true,
            Some(o) => return Err(bad(format!("order {o:?} is neither \"C\" nor \"F\""))),
        };
        Ok(Some(NumpyMeta { descr, shape, fortran_order }))
    }

    /// The dtype string without quotes (`<f8`) for simple dtypes; `None` for structured ones.
    pub fn simple_dtype(&self) -> Option<&str> {
        let d = self.descr.as_str();
        let inner = d.strip_prefix('\'').and_then(|s| s.strip_suffix('\''));
        inner.or_else(|| d.strip_prefix('"').and_then(|s| s.strip_suffix('"'))).filter(|s| !s.contains('\\'))
    }

    /// Number of elements (product of the shape), if it does not overflow.
    pub fn element_count(&self) -> Option<u64> {
        self.shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))
    }

    /// The metadata `pack_ndarray` writes for this array.
    pub fn to_metadata(&self) -> Value {
        serde_json::json!({
            "dtype": self.descr,
            "shape": self.shape,
            "order": if self.fortran_order { "F" } else { "C" },
            "container": "numpy",
        })
    }

    /// The `.npy` header dictionary as numpy writes it (without padding).
    pub fn npy_header_dict(&self) -> String {
        let shape = match self.shape.len() {
            0 => "()".to_string(),
            1 => format!("({},)", self.shape[0]),
            _ => format!("({})", self.shape.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
        };
        let order = if self.fortran_order { "True" } else { "False" };
        format!("{{'descr': {}, 'fortran_order': {order}, 'shape': {shape}, }}", self.descr)
    }

    /// The whole `.npy` header (magic, version, length, dictionary, padding) exactly as numpy >= 1.24 writes it;
    /// the array bytes follow it unchanged. Format 1.0, or 2.0 when the header does not fit in 64 KiB.
    pub fn npy_header(&self) -> Vec<u8> {
        let mut dict = self.npy_header_dict();
        // numpy leaves room for the growth axis (the first, or the last in Fortran order) to reach 21 digits.
        if !self.shape.is_empty() {
            let axis = if self.fortran_order { self.shape[self.shape.len() - 1] } else { self.shape[0] };
            dict.push_str(&" ".repeat(21usize.saturating_sub(axis.to_string().len())));
        }
        let hlen = dict.len() + 1;
        let mut out = Vec::with_capacity(hlen + 80);
        out.extend_from_slice(b"\x93NUMPY");
        let v1_pad = 64 - ((8 + 2 + hlen) % 64);
        if hlen + v1_pad <= usize::from(u16::MAX) {
            out.extend_from_slice(&[1, 0]);
            out.extend_from_slice(&((hlen + v1_pad) as u16).to_le_bytes());
            out.extend_from_slice(dict.as_bytes());
            out.extend(std::iter::repeat_n(b' ', v1_pad));
        } else {
            let pad = 64 - ((8 + 4 + hlen) % 64);
            out.extend_from_slice(&[2, 0]);
            out.extend_from_slice(&((hlen + pad) as u32).to_le_bytes());
            out.extend_from_slice(dict.as_bytes());
            out.extend(std::iter::repeat_n(b' ', pad));
        }
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_current_and_old_conventions() {
        let m = NumpyMeta::from_metadata(&json!({"dtype":"'<f8'","shape":[100000],"order":"C","container":"numpy"}))
            .unwrap()
            .unwrap();
        assert_eq!(m.descr, "'<f8'");
        assert_eq!(m.simple_dtype(), Some("<f8"));
        assert_eq!(m.npy_header_dict(), "{'descr': '<f8', 'fortran_order': False, 'shape': (100000,), }");
        assert_eq!(m.npy_header().len() % 64, 0);
        let old = NumpyMeta::from_metadata(&json!({"dtype":"<i4","shape":[2,3],"order":"F","container":"numpy"}))
            .unwrap()
            .unwrap();
        assert_eq!(old.descr, "'<i4'");
        assert!(old.fortran_order);
        let nested =
            NumpyMeta::from_metadata(&json!({"dtype":[["a","<f8"],["b","<i4",[2]]],"shape":[3],"container":"numpy"}))
                .unwrap()
                .unwrap();
        assert_eq!(nested.descr, "[('a', '<f8'), ('b', '<i4', (2,))]");
        assert_eq!(nested.simple_dtype(), None);
        assert_eq!(NumpyMeta::from_metadata(&json!({"a": 1})).unwrap(), None);
        assert!(NumpyMeta::from_metadata(&json!({"container":"numpy","shape":[1]})).is_err());
        let back = NumpyMeta::from_metadata(&m.to_metadata()).unwrap().unwrap();
        assert_eq!(back, m);
        assert_eq!(
            NumpyMeta::simple("<u2", vec![], false).npy_header_dict(),
            "{'descr': '<u2', 'fortran_order': False, 'shape': (), }"
        );
    }
}
