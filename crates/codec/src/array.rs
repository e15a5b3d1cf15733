//! Typed views of the arrays the codec accepts and returns.

/// Element type of an array, with its code in the stream header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    I16 = 1,
    U16 = 2,
    I32 = 3,
    F32 = 4,
    F64 = 5,
}

impl DType {
    pub fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            1 => DType::I16,
            2 => DType::U16,
            3 => DType::I32,
            4 => DType::F32,
            5 => DType::F64,
            _ => return None,
        })
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::I16 | DType::U16 => 2,
            DType::I32 | DType::F32 => 4,
            DType::F64 => 8,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// numpy's name (`int16`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::I16 => "int16",
            DType::U16 => "uint16",
            DType::I32 => "int32",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Inclusive range of the integer types (floats: none).
    pub(crate) fn int_range(self) -> Option<(i64, i64)> {
        match self {
            DType::I16 => Some((i16::MIN as i64, i16::MAX as i64)),
            DType::U16 => Some((0, u16::MAX as i64)),
            DType::I32 => Some((i32::MIN as i64, i32::MAX as i64)),
            _ => None,
        }
    }
}

/// A borrowed 2-D array (time x channel, row-major).
#[derive(Clone, Copy, Debug)]
pub enum ArrayRef<'a> {
    I16(&'a [i16]),
    U16(&'a [u16]),
    I32(&'a [i32]),
    F32(&'a [f32]),
    F64(&'a [f64]),
}

impl ArrayRef<'_> {
    pub fn dtype(&self) -> DType {
        match self {
            ArrayRef::I16(_) => DType::I16,
            ArrayRef::U16(_) => DType::U16,
            ArrayRef::I32(_) => DType::I32,
            ArrayRef::F32(_) => DType::F32,
            ArrayRef::F64(_) => DType::F64,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ArrayRef::I16(v) => v.len(),
            ArrayRef::U16(v) => v.len(),
            ArrayRef::I32(v) => v.len(),
            ArrayRef::F32(v) => v.len(),
            ArrayRef::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An owned 2-D array as decoded.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrayBuf {
    I16(Vec<i16>),
    U16(Vec<u16>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl ArrayBuf {
    pub fn zeros(dtype: DType, n: usize) -> Self {
        match dtype {
            DType::I16 => ArrayBuf::I16(vec![0; n]),
            DType::U16 => ArrayBuf::U16(vec![0; n]),
            DType::I32 => ArrayBuf::I32(vec![0; n]),
            DType::F32 => ArrayBuf::F32(vec![0.0; n]),
            DType::F64 => ArrayBuf::F64(vec![0.0; n]),
        }
    }

    pub fn as_ref(&self) -> ArrayRef<'_> {
        match self {
            ArrayBuf::I16(v) => ArrayRef::I16(v),
            ArrayBuf::U16(v) => ArrayRef::U16(v),
            ArrayBuf::I32(v) => ArrayRef::I32(v),
            ArrayBuf::F32(v) => ArrayRef::F32(v),
            ArrayBuf::F64(v) => ArrayRef::F64(v),
        }
    }

    pub fn dtype(&self) -> DType {
        self.as_ref().dtype()
    }

    pub fn len(&self) -> usize {
        self.as_ref().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements as little-endian bytes.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        fn go<T: Copy, const N: usize>(v: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
            let mut out = Vec::with_capacity(v.len() * N);
            v.iter().for_each(|&x| out.extend_from_slice(&f(x)));
            out
        }
        match self {
            ArrayBuf::I16(v) => go(v, i16::to_le_bytes),
            ArrayBuf::U16(v) => go(v, u16::to_le_bytes),
            ArrayBuf::I32(v) => go(v, i32::to_le_bytes),
            ArrayBuf::F32(v) => go(v, f32::to_le_bytes),
            ArrayBuf::F64(v) => go(v, f64::to_le_bytes),
        }
    }
}
