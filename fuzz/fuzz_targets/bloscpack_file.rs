//! Bloscpack files on hostile bytes: `read`, the streaming reader (fed a few bytes per read), `info`, the numpy
//! metadata and `append_bytes` never panic and agree with each other: the streaming (one thread) and whole-file
//! (parallel) readers give the same result, `info` describes what `read` decoded, and appending to a readable file
//! with consistent offsets gives a readable file holding the old data followed by the new.
#![no_main]

use std::io::Read;

use daspack_container::blp::{self, AppendOptions, NumpyMeta};
use libfuzzer_sys::fuzz_target;

/// A reader that returns at most `step` bytes per call, as a pipe or socket may.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let whole = blp::read(data);
    let step = 1 + data.len() % 7;
    // The whole-file reader decodes on a pool (every core); the streamed one on this thread: same bytes, same
    // first error.
    let streamed = blp::Reader::new(Trickle { data, step }).and_then(|r| r.threads(1).into_file());
    match (&whole, &streamed) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("read and read_from disagree: {:?} vs {:?}", whole.as_ref().err(), streamed.as_ref().err()),
    }
    let info = blp::info(data);
    if let Ok(file) = &whole {
        let info = info.as_ref().expect("info of a readable file");
        assert_eq!(info.data_size, file.data.len() as u64);
        assert_eq!(info.chunks.len() as i64, file.header.nchunks);
        assert_eq!(Some(info.data_size), file.header.data_size());
        if let Some(meta) = &file.metadata {
            if let Ok(Some(nm)) = NumpyMeta::from_metadata(meta) {
                let _ = (nm.npy_header(), nm.element_count(), nm.simple_dtype(), nm.to_metadata());
            }
        }
    }

    let extra: Vec<u8> = (0..(data.len() % 300) as u32).map(|i| (i * 7 + 3) as u8).collect();
    let appended = blp::append_bytes(data, &extra, &AppendOptions::default());
    if let (Ok(file), Ok(info), Ok(new)) = (&whole, &info, &appended) {
        if info.offsets_consistent {
            let again = blp::read(new).expect("an appended file reads back");
            let mut want = file.data.clone();
            want.extend_from_slice(&extra);
            assert!(again.data == want, "appended file holds other data");
        }
    }
});
