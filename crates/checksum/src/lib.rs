//! Checksums behind one type: Bloscpack's ids plus xxh64 and blake3.
//!
//! [`Checksum`] names an algorithm; [`Hasher`] computes it incrementally and [`Digest`] holds the result in the
//! byte layout the containers store:
//!
//! * `adler32` and `crc32` are 4 bytes, the `u32` in **little-endian** order (what Bloscpack writes with
//!   `struct.pack('<I', zlib.adler32(data))`);
//! * `md5` and the SHA family are the usual digest bytes;
//! * `xxh64` (seed 0) is 8 bytes in the canonical **big-endian** order (as `xxhsum` prints it);
//! * `blake3` is the default 32-byte output.
//!
//! Bloscpack v3 numbers its checksums 0..=8 in the order `None, adler32, crc32, md5, sha1, sha224, sha256, sha384,
//! sha512` ([`Checksum::bloscpack_id`]); xxh64 and blake3 have no Bloscpack id. Every algorithm comes from a
//! maintained crate (adler2, crc32fast, md-5, sha1, sha2, xxhash-rust, blake3): nothing is hand-written here.
#![forbid(unsafe_code)]

use std::fmt;
use std::str::FromStr;

use md5::Digest as _;

/// One checksum algorithm (or none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Checksum {
    /// No checksum: an empty digest.
    None,
    /// zlib's Adler-32, stored little-endian.
    Adler32,
    /// CRC-32 (IEEE, as zlib), stored little-endian.
    Crc32,
    /// MD5 (16 bytes).
    Md5,
    /// SHA-1 (20 bytes).
    Sha1,
    /// SHA-224 (28 bytes).
    Sha224,
    /// SHA-256 (32 bytes).
    Sha256,
    /// SHA-384 (48 bytes).
    Sha384,
    /// SHA-512 (64 bytes).
    Sha512,
    /// XXH64 with seed 0, stored big-endian (8 bytes). Not a Bloscpack checksum.
    Xxh64,
    /// BLAKE3 (32 bytes). Not a Bloscpack checksum.
    Blake3,
}

/// The largest digest any algorithm produces (SHA-512).
pub const MAX_DIGEST_SIZE: usize = 64;

impl Checksum {
    /// Every algorithm, Bloscpack's first in id order.
    pub const ALL: [Checksum; 11] = [
        Checksum::None,
        Checksum::Adler32,
        Checksum::Crc32,
        Checksum::Md5,
        Checksum::Sha1,
        Checksum::Sha224,
        Checksum::Sha256,
        Checksum::Sha384,
        Checksum::Sha512,
        Checksum::Xxh64,
        Checksum::Blake3,
    ];

    /// The algorithms Bloscpack v3 knows, indexed by their id.
    pub const BLOSCPACK: [Checksum; 9] = [
        Checksum::None,
        Checksum::Adler32,
        Checksum::Crc32,
        Checksum::Md5,
        Checksum::Sha1,
        Checksum::Sha224,
        Checksum::Sha256,
        Checksum::Sha384,
        Checksum::Sha512,
    ];

    /// Size of the digest in bytes (0 for [`Checksum::None`]).
    pub const fn digest_size(self) -> usize {
        match self {
            Checksum::None => 0,
            Checksum::Adler32 | Checksum::Crc32 => 4,
            Checksum::Md5 => 16,
            Checksum::Sha1 => 20,
            Checksum::Sha224 => 28,
            Checksum::Sha256 => 32,
            Checksum::Sha384 => 48,
            Checksum::Sha512 => 64,
            Checksum::Xxh64 => 8,
            Checksum::Blake3 => 32,
        }
    }

    /// The name Bloscpack uses (`"None"`, `"adler32"`, ...; `"xxh64"` and `"blake3"` for the others).
    pub const fn name(self) -> &'static str {
        match self {
            Checksum::None => "None",
            Checksum::Adler32 => "adler32",
            Checksum::Crc32 => "crc32",
            Checksum::Md5 => "md5",
            Checksum::Sha1 => "sha1",
            Checksum::Sha224 => "sha224",
            Checksum::Sha256 => "sha256",
            Checksum::Sha384 => "sha384",
            Checksum::Sha512 => "sha512",
            Checksum::Xxh64 => "xxh64",
            Checksum::Blake3 => "blake3",
        }
    }

    /// Parses a name, ignoring ASCII case (`"none"`, `"None"`, `"SHA256"`, ...). `"xxhash64"` is accepted for xxh64.
    pub fn from_name(name: &str) -> Option<Checksum> {
        if name.eq_ignore_ascii_case("xxhash64") {
            return Some(Checksum::Xxh64);
        }
        Checksum::ALL.into_iter().find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// The id Bloscpack v3 stores in its header (0..=8), or `None` for xxh64 and blake3.
    pub fn bloscpack_id(self) -> Option<u8> {
        Checksum::BLOSCPACK.iter().position(|&c| c == self).map(|i| i as u8)
    }

    /// The algorithm for a Bloscpack id, if the id is known.
    pub fn from_bloscpack_id(id: u8) -> Option<Checksum> {
        Checksum::BLOSCPACK.get(usize::from(id)).copied()
    }

    /// A fresh streaming hasher.
    pub fn hasher(self) -> Hasher {
        Hasher::new(self)
    }

    /// The digest of `data` in one call.
    pub fn digest(self, data: &[u8]) -> Digest {
        let mut h = self.hasher();
        h.update(data);
        h.finalize()
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A checksum name that [`Checksum::from_name`] does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownChecksum(pub String);

impl fmt::Display for UnknownChecksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown checksum {:?} (known: ", self.0)?;
        for (i, c) in Checksum::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(c.name())?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnknownChecksum {}

impl FromStr for Checksum {
    type Err = UnknownChecksum;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Checksum::from_name(s).ok_or_else(|| UnknownChecksum(s.to_string()))
    }
}

/// A finished digest: up to [`MAX_DIGEST_SIZE`] bytes, no allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    len: u8,
    bytes: [u8; MAX_DIGEST_SIZE],
}

impl Digest {
    fn from_slice(s: &[u8]) -> Digest {
        let mut bytes = [0u8; MAX_DIGEST_SIZE];
        bytes[..s.len()].copy_from_slice(s);
        Digest { len: s.len() as u8, bytes }
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The digest bytes as a `Vec`.
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        self.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Digest length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True for the empty digest of [`Checksum::None`].
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl std::ops::Deref for Digest {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The state of one algorithm.
#[derive(Clone)]
enum State {
    None,
    Adler32(adler2::Adler32),
    Crc32(crc32fast::Hasher),
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Xxh64(Box<xxhash_rust::xxh64::Xxh64>),
    Blake3(Box<blake3::Hasher>),
}

/// A streaming checksum: feed bytes with [`Hasher::update`], then take the [`Digest`].
#[derive(Clone)]
pub struct Hasher {
    algo: Checksum,
    state: State,
}

impl Hasher {
    /// A fresh hasher for `algo`.
    pub fn new(algo: Checksum) -> Hasher {
        let state = match algo {
            Checksum::None => State::None,
            Checksum::Adler32 => State::Adler32(adler2::Adler32::new()),
            Checksum::Crc32 => State::Crc32(crc32fast::Hasher::new()),
            Checksum::Md5 => State::Md5(md5::Md5::new()),
            Checksum::Sha1 => State::Sha1(sha1::Sha1::new()),
            Checksum::Sha224 => State::Sha224(sha2::Sha224::new()),
            Checksum::Sha256 => State::Sha256(sha2::Sha256::new()),
            Checksum::Sha384 => State::Sha384(sha2::Sha384::new()),
            Checksum::Sha512 => State::Sha512(sha2::Sha512::new()),
            Checksum::Xxh64 => State::Xxh64(Box::new(xxhash_rust::xxh64::Xxh64::new(0))),
            Checksum::Blake3 => State::Blake3(Box::new(blake3::Hasher::new())),
        };
        Hasher { algo, state }
    }

    /// The algorithm this hasher computes.
    pub fn algorithm(&self) -> Checksum {
        self.algo
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::None => {}
            State::Adler32(h) => h.write_slice(data),
            State::Crc32(h) => h.update(data),
            State::Md5(h) => h.update(data),
            State::Sha1(h) => h.update(data),
            State::Sha224(h) => h.update(data),
            State::Sha256(h) => h.update(data),
            State::Sha384(h) => h.update(data),
            State::Sha512(h) => h.update(data),
            State::Xxh64(h) => h.update(data),
            State::Blake3(h) => {
                h.update(data);
            }
        }
    }

    /// The digest of everything fed so far.
    pub fn finalize(self) -> Digest {
        match self.state {
            State::None => Digest::from_slice(&[]),
            State::Adler32(h) => Digest::from_slice(&h.checksum().to_le_bytes()),
            State::Crc32(h) => Digest::from_slice(&h.finalize().to_le_bytes()),
            State::Md5(h) => Digest::from_slice(&h.finalize()),
            State::Sha1(h) => Digest::from_slice(&h.finalize()),
            State::Sha224(h) => Digest::from_slice(&h.finalize()),
            State::Sha256(h) => Digest::from_slice(&h.finalize()),
            State::Sha384(h) => Digest::from_slice(&h.finalize()),
            State::Sha512(h) => Digest::from_slice(&h.finalize()),
            State::Xxh64(h) => Digest::from_slice(&h.digest().to_be_bytes()),
            State::Blake3(h) => Digest::from_slice(h.finalize().as_bytes()),
        }
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher").field("algo", &self.algo).finish_non_exhaustive()
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(c: Checksum, data: &[u8]) -> String {
        c.digest(data).to_hex()
    }

    #[test]
    fn known_vectors() {
        // Adler-32 "Wikipedia" = 0x11E60398, stored little-endian.
        assert_eq!(hex(Checksum::Adler32, b"Wikipedia"), "9803e611");
        assert_eq!(hex(Checksum::Adler32, b""), "01000000");
        // CRC-32 check value of "123456789" = 0xCBF43926.
        assert_eq!(hex(Checksum::Crc32, b"123456789"), "2639f4cb");
        assert_eq!(hex(Checksum::Crc32, b""), "00000000");
        assert_eq!(hex(Checksum::Md5, b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(Checksum::Md5, b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(hex(Checksum::Sha1, b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hex(Checksum::Sha224, b"abc"), "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
        assert_eq!(hex(Checksum::Sha256, b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            hex(Checksum::Sha384, b"abc"),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        );
        assert_eq!(
            hex(Checksum::Sha512, b"abc"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(hex(Checksum::Xxh64, b""), "ef46db3751d8e999");
        assert_eq!(hex(Checksum::Xxh64, b"abc"), "44bc2cf5ad770999");
        assert_eq!(hex(Checksum::Blake3, b""), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
        assert_eq!(hex(Checksum::None, b"abc"), "");
    }

    #[test]
    fn bloscpack_metadata_digest() {
        // A golden Bloscpack file stores adler32 of `{"a":1}` as the bytes 09 02 2a 08.
        assert_eq!(Checksum::Adler32.digest(br#"{"a":1}"#).as_bytes(), &[0x09, 0x02, 0x2a, 0x08]);
    }

    #[test]
    fn streaming_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for c in Checksum::ALL {
            let mut h = c.hasher();
            for part in data.chunks(777) {
                h.update(part);
            }
            let d = h.finalize();
            assert_eq!(d, c.digest(&data), "{c}");
            assert_eq!(d.len(), c.digest_size(), "{c}");
        }
    }

    #[test]
    fn ids_and_names() {
        let names = ["None", "adler32", "crc32", "md5", "sha1", "sha224", "sha256", "sha384", "sha512"];
        for (id, name) in names.iter().enumerate() {
            let c = Checksum::from_bloscpack_id(id as u8).unwrap();
            assert_eq!(c.name(), *name);
            assert_eq!(c.bloscpack_id(), Some(id as u8));
            assert_eq!(Checksum::from_name(name), Some(c));
            assert_eq!(name.to_uppercase().parse::<Checksum>(), Ok(c));
        }
        assert_eq!(Checksum::from_bloscpack_id(9), None);
        assert_eq!(Checksum::Xxh64.bloscpack_id(), None);
        assert_eq!(Checksum::Blake3.bloscpack_id(), None);
        assert_eq!(Checksum::from_name("xxh64"), Some(Checksum::Xxh64));
        assert_eq!(Checksum::from_name("BLAKE3"), Some(Checksum::Blake3));
        assert!("sha3".parse::<Checksum>().is_err());
        for c in Checksum::ALL {
            assert!(c.digest_size() <= MAX_DIGEST_SIZE);
            assert_eq!(Checksum::from_name(c.name()), Some(c));
        }
    }

    #[test]
    fn io_write() {
        use std::io::Write;
        let mut h = Checksum::Sha256.hasher();
        h.write_all(b"ab").unwrap();
        h.write_all(b"c").unwrap();
        assert_eq!(h.finalize(), Checksum::Sha256.digest(b"abc"));
    }
}
