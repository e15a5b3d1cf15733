//! The prefix-code sensor codec (protocol v0.2, 12-bit samples): one-shot encode/decode and streaming encoder and
//! decoder objects.
//!
//! Items travel as `int16_t` slots: a sample as itself (-2048..=2047), an event as one of the
//! `DASPACK_SENSOR_SLOT_*` sentinels. A stream does not record its length: keep the item count (or the bit
//! length) the encoder reports and give it to the decoder.

use std::sync::Mutex;

use facade::sensor::{
    max_encoded_len, BatchError, DecodeError, DecodeErrorKind, Decoder, EncodeError, Encoder, EncoderState,
};

use crate::error::{
    byte_len, copy_to, disjoint, guard, guard_value, non_null, slice, write_out, DaspackError, Failure, Result,
    DASPACK_ERROR_CORRUPT, DASPACK_ERROR_INTERNAL, DASPACK_ERROR_STATE, DASPACK_ERROR_TRUNCATED,
};

/// The smallest sample value (12-bit two's complement).
pub const DASPACK_SENSOR_MIN_SAMPLE: i16 = -2048;
/// The largest sample value.
pub const DASPACK_SENSOR_MAX_SAMPLE: i16 = 2047;
/// Slot value of a "no measurement" event (INT16_MIN).
pub const DASPACK_SENSOR_SLOT_NO_MEASUREMENT: i16 = -32768;
/// Slot value of the reserved event "clock went backwards".
pub const DASPACK_SENSOR_SLOT_CLOCK_BACKWARDS: i16 = -32767;
/// Slot value of the reserved event "long-term jitter error".
pub const DASPACK_SENSOR_SLOT_LONG_TERM_JITTER: i16 = -32766;
/// Slot value of the reserved event "user event".
pub const DASPACK_SENSOR_SLOT_USER_EVENT: i16 = -32765;

fn encode_failure(e: EncodeError, index: Option<usize>) -> Failure {
    let at = index.map(|i| format!("slot {i}: ")).unwrap_or_default();
    match e {
        EncodeError::OutOfRange { .. } => Failure::invalid(format!("{at}{e}")),
        EncodeError::Finished => Failure::new(DASPACK_ERROR_STATE, format!("{at}{e}")),
        EncodeError::BufferFull { .. } => Failure::too_small(format!("{at}{e}")),
    }
}

fn decode_failure(e: DecodeError) -> Failure {
    let code = match e.kind {
        DecodeErrorKind::Truncated => DASPACK_ERROR_TRUNCATED,
        _ => DASPACK_ERROR_CORRUPT,
    };
    Failure::new(code, format!("{e}"))
}

/// Bytes that always hold the encoding of `items` items (15 bits per item, rounded up; saturates).
#[no_mangle]
pub extern "C" fn daspack_sensor_max_encoded_len(items: usize) -> usize {
    guard_value("daspack_sensor_max_encoded_len", usize::MAX, || max_encoded_len(items))
}

/// Encodes `count` slots in one call into `dst` (room for `dst_capacity` bytes; `daspack_sensor_max_encoded_len`
/// always suffices). On success `*dst_len` is the stream size in bytes (zero-padded to a whole byte) and
/// `*bit_len` its exact length in bits. A slot that is neither a 12-bit sample nor an event sentinel fails with
/// DASPACK_ERROR_INVALID_ARGUMENT naming its index. On DASPACK_ERROR_BUFFER_TOO_SMALL `*dst_len` is the size
/// needed.
#[no_mangle]
pub unsafe extern "C" fn daspack_sensor_encode(
    slots: *const i16,
    count: usize,
    dst: *mut u8,
    dst_capacity: usize,
    dst_len: *mut usize,
    bit_len: *mut u64,
) -> DaspackError {
    guard("daspack_sensor_encode", || {
        non_null(slots, "slots")?;
        non_null(dst, "dst")?;
        non_null(bit_len, "bit_len")?;
        // SAFETY: the caller's writable size_t / uint64_t (NULL refused).
        unsafe {
            write_out(dst_len, 0, "dst_len")?;
            write_out(bit_len, 0, "bit_len")?;
        }
        // SAFETY: `slots` holds `count` int16_t (the caller's contract).
        let input = unsafe { slice(slots, count, "slots") }?;
        disjoint(slots.cast(), byte_len::<i16>(count, "slots")?, dst, dst_capacity, "`slots` and `dst`")?;
        // Encode into our own buffer of the worst-case size: the caller's memory may be uninitialised, and the
        // size needed is known even when `dst` is too small.
        let mut buf = vec![0u8; max_encoded_len(count)];
        let enc = facade::sensor::encode(input, &mut buf)
            .map_err(|BatchError { consumed, error }| encode_failure(error, Some(consumed)))?;
        if enc.bytes > dst_capacity {
            // SAFETY: checked above.
            unsafe { dst_len.write(enc.bytes) };
            return Err(Failure::too_small(format!(
                "output buffer holds {dst_capacity} bytes, the stream needs {}",
                enc.bytes
            )));
        }
        // SAFETY: `dst` holds at least `enc.bytes` writable bytes, disjoint from `buf`; the outputs were checked.
        unsafe {
            copy_to(&buf[..enc.bytes], dst);
            dst_len.write(enc.bytes);
            bit_len.write(enc.bits);
        }
        Ok(())
    })
}

/// Decodes a stream of `count` items from `src` into `dst` (room for `dst_capacity` slots, at least `count`).
/// `*dst_len` receives the number of slots written (`count`); on DASPACK_ERROR_BUFFER_TOO_SMALL, the number
/// needed. Bits after the last item are not examined (the streaming decoder's `check_end` does that).
#[no_mangle]
pub unsafe extern "C" fn daspack_sensor_decode(
    src: *const u8,
    src_len: usize,
    count: u64,
    dst: *mut i16,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_sensor_decode", || {
        non_null(src, "src")?;
        non_null(dst, "dst")?;
        // SAFETY: the caller's writable size_t (NULL refused).
        unsafe { write_out(dst_len, 0, "dst_len") }?;
        // SAFETY: `src` holds `src_len` bytes (the caller's contract).
        let data = unsafe { slice(src, src_len, "src") }?;
        if count > dst_capacity as u64 {
            // SAFETY: checked above.
            unsafe { dst_len.write(usize::try_from(count).unwrap_or(usize::MAX)) };
            return Err(Failure::too_small(format!(
                "output buffer holds {dst_capacity} slots, the stream has {count}"
            )));
        }
        let n = count as usize;
        let out_bytes = byte_len::<i16>(n, "dst")?;
        disjoint(src, src_len, dst.cast(), out_bytes, "`src` and `dst`")?;
        crate::error::aligned(dst, "dst")?;
        // Zero the caller's slots first so that the slice below covers initialised memory.
        // SAFETY: `dst` is aligned, non-NULL and holds `n <= dst_capacity` writable slots (the caller's contract).
        let out = unsafe {
            dst.write_bytes(0, n);
            std::slice::from_raw_parts_mut(dst, n)
        };
        let got = facade::sensor::decode(data, count, out).map_err(decode_failure)?;
        if got != n {
            return Err(Failure::new(DASPACK_ERROR_TRUNCATED, format!("stream ended after {got} of {count} items")));
        }
        // SAFETY: checked above.
        unsafe { dst_len.write(got) };
        Ok(())
    })
}

/// What a streaming encoder object holds: the codec state between calls and the bytes not yet read.
struct EncoderInner {
    state: EncoderState,
    /// Whole bytes produced and not yet read by the caller.
    out: Vec<u8>,
    /// How much of `out` the caller has read (compacted lazily).
    read: usize,
}

/// A streaming sensor encoder (opaque). Create with `daspack_sensor_encoder_new`, free with
/// `daspack_sensor_encoder_free`. Calls on one object are serialised internally, so it may be shared between
/// threads.
pub struct DaspackSensorEncoder {
    inner: Mutex<EncoderInner>,
}

/// Bytes of output room given to the codec per step (it writes at most 26 bits per item).
const STEP_MAX: usize = 1 << 20;

impl EncoderInner {
    /// Runs `f` on an encoder resumed into fresh room at the end of `out`; keeps what it wrote.
    fn step<R>(&mut self, room: usize, f: impl FnOnce(&mut Encoder<'_>) -> R) -> Result<R> {
        let start = self.out.len();
        self.out.resize(start + room, 0);
        let mut enc = match Encoder::resume(&mut self.out[start..], self.state) {
            Ok(e) => e,
            Err(e) => {
                self.out.truncate(start);
                return Err(Failure::new(DASPACK_ERROR_INTERNAL, format!("resuming the encoder: {e}")));
            }
        };
        let r = f(&mut enc);
        let (bytes, state) = enc.suspend();
        self.out.truncate(start + bytes);
        self.state = state;
        Ok(r)
    }

    fn push(&mut self, mut slots: &[i16]) -> Result<()> {
        let mut done = 0usize;
        while !slots.is_empty() {
            // 8 spare bytes: the carried partial byte and the pending zero-run word.
            let room = max_encoded_len(slots.len()).saturating_add(8).min(STEP_MAX);
            match self.step(room, |enc| enc.push_slots(slots))? {
                Ok(()) => return Ok(()),
                Err(BatchError { consumed, error: EncodeError::BufferFull { .. } }) if consumed > 0 => {
                    done += consumed;
                    slots = &slots[consumed..];
                }
                Err(BatchError { error: EncodeError::BufferFull { .. }, .. }) => {
                    return Err(Failure::new(DASPACK_ERROR_INTERNAL, "no progress with a fresh output buffer"));
                }
                Err(BatchError { consumed, error }) => {
                    let f = encode_failure(error, Some(done + consumed));
                    let pushed = done + consumed;
                    return Err(Failure::new(f.code, format!("{}; the {pushed} slots before it were pushed", f.msg)));
                }
            }
        }
        Ok(())
    }

    fn compact(&mut self) {
        if self.read > 0 && self.read * 2 >= self.out.len() {
            self.out.drain(..self.read);
            self.read = 0;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock().map_err(|_| Failure::new(DASPACK_ERROR_INTERNAL, "object unusable after an earlier internal error"))
}

/// # Safety
/// `p` must be NULL or a live object from the matching `_new` function.
unsafe fn object<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    non_null(p, name)?;
    // SAFETY: the caller's contract: a live object created by this library (Box::into_raw).
    Ok(unsafe { &*p })
}

/// Creates a streaming encoder in `*encoder`.
#[no_mangle]
pub unsafe extern "C" fn daspack_sensor_encoder_new(encoder: *mut *mut DaspackSensorEncoder) -> DaspackError {
    guard("daspack_sensor_encoder_new", || {
        non_null(encoder, "encoder")?;
        let obj = Box::new(DaspackSensorEncoder {
            inner: Mutex::new(EncoderInner { state: EncoderState::new(), out: Vec::new(), read: 0 }),
        });
        // SAFETY: the caller's writable pointer slot (NULL refused).
        unsafe { write_out(encoder, Box::into_raw(obj), "encoder") }
    })
}

/// Pushes `count` slots (samples and event sentinels) to the encoder; the code words become readable with
/// `daspack_sensor_encoder_read` (a zero run is held back until it ends). On an invalid slot the slots before it
/// are pushed and the message says how many. Fails with DASPACK_ERROR_STATE once the encoder is finished.
#[no_mangle]
pub unsafe extern "C" fn daspack_sensor_encoder_push(
    encoder: *mut DaspackSensorEncoder,
    slots: *const i16,
    count: usize,
) -> DaspackError {
    guard("daspack_sensor_encoder_push", || {
        // SAFETY: the caller's contract for the object and for `slots` (`count` int16_t).
        let (obj, input) = unsafe { (object(encoder, "encoder")?, slice(slots, count, "slots")?) };
        let mut inner = lock(&obj.inner)?;
        if inner.state.is_finished() {
            return Err(encode_failure(EncodeError::Finished, None));
        }
        inner.push(input)
    })
}

/// Ends the stream: writes the pending zero run and pads the last byte (read the rest with
/// `daspack_sensor_encoder_read`). `*items` receives the item count and `*bit_len` the length in bits, which a
/// decoder needs. Finishing again gives the same values; pushes then fail.
#[no_mangle]
pub unsafe extern "C" fn daspack_sensor_encoder_finish(
    encoder: *mut DaspackSensorEncoder,
    items: *mut u64,
    bit_len: *mut u64,
) -> DaspackError {
    guard("daspack_sensor_encoder_finish", || {
        // SAFETY: the caller's contract for the object.
        let obj = unsafe { object(encoder, "encoder") }?;
        non_null(items, "items")?;
        non_null(bit_len, "bit_len")?;
        let mut inner = lock(&obj.inner)?;
        if !inner.state.is_finished() {
            // `finish` pads in place; `suspend` then carries nothing, so the padded byte is among those kept.
            inner.step(16, |enc| enc.finish())?.map_err(|e| encode_failure(e, None))?;
        }
        let (n, bits) = (inner.state.items(), inner.state.bit_len());
        // SAFETY: the caller's writable uint64_t slots (NULL refused).
        unsafe {
            write_out(items, n, "items")?;
            write_out(bit_len, bits, "bit_len")
        }
    })
}

/// Stores in `*bytes` how many bytes of output are ready to read.
#[no_mangle]
pub unsafe extern "C" fn daspack_sensor_encoder_pending(
    encoder: *const DaspackSensorEncoder,
    bytes: *mut usize,
) -> DaspackError {
    guard("daspack_sensor_encoder_pending", || {
        // SAFETY: the caller's contract for the object.
        let obj = unsafe { object(encoder, "encoder") }?;
        non_null(bytes, "bytes")?;
        let inner = lock(&obj.inner)?;
        // SAFETY: the caller's writable size_t.
        unsafe { write_out(bytes, inner.out.len() - inner.read, "bytes") }
    })
}

/// Moves up to `dst_capacity` bytes of ready output to `dst`; `*dst_len` receives how many (0 when nothing is
/// ready). Bytes come out in stream order, each once.
#[no_mangle]
pub unsafe extern "C" fn daspack_sensor_encoder_read(
    encoder: *mut DaspackSensorEncoder,
    dst: *mut u8,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_sensor_encoder_read", || {
        // SAFETY: the caller's contract for the object.
        let obj = unsafe { object(encoder, "encoder") }?;
        non_null(dst, "dst")?;
        // SAFETY: the caller's writable size_t.
        unsafe { write_out(dst_len, 0, "dst_len") }?;
        let mut inner = lock(&obj.inner)?;
        let start = inner.read;
        let k = (inner.out.len() - start).min(dst_capacity);
        // SAFETY: `dst` holds `dst_capacity >= k` writable bytes (the caller's contract); our buffer is private,
        // so it cannot overlap.
        unsafe {
            copy_to(&inner.out[start..start + k], dst);
            dst_len.write(k);
        }
        inner.read += k;
        inner.compact();
        Ok(())
    })
}

/// Stores in `*items` the number of items pushed so far.
#[no_mangle]
pub unsafe extern "C" fn daspack_sensor_encoder_items(
    encoder: *const DaspackSensorEncoder,
    items: *mut u64,
) -> DaspackError {
    guard("daspack_sensor_encoder_items", || {
        // SAFETY: the caller's contract for the object.
        let obj = unsafe { object(encoder, "encoder") }?;
        non_null(items, "items")?;
        let n = lock(&obj.inner)?.state.items();
        // SAFETY: the caller's writable uint64_t.
        unsafe { write_out(items, n, "items") }
    })
}

/// Frees an encoder and its unread output. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn daspack_sensor_encoder_free(encoder: *mut DaspackSensorEncoder) {
    guard_value("daspack_sensor_encoder_free", (), || {
        if !encoder.is_null() {
            // SAFETY: the caller's contract: a live encoder from daspack_sensor_encoder_new, not used again.
            drop(unsafe { Box::from_raw(encoder) });
        }
    })
}

/// A streaming sensor decoder (opaque) over its own copy of the stream. Create with
/// `daspack_sensor_decoder_new`, free with `daspack_sensor_decoder_free`. Calls on one object are serialised
/// internally.
pub struct DaspackSensorDecoder {
    /// Borrows `data`'s heap buffer, which lives (unmoved) until this object is freed; it is dropped first.
    decoder: Mutex<Decoder<'static>>,
    data: *mut [u8],
}

// SAFETY: `data` is owned by the object (only the decoder reads it, under the mutex) and freed in `drop`.
unsafe impl Send for DaspackSensorDecoder {}
// SAFETY: as above; every access to the decoder goes through the mutex.
unsafe impl Sync for DaspackSensorDecoder {}

impl Drop for DaspackSensorDecoder {
    fn drop(&mut self) {
        // The decoder holds no resources and never reads in drop; replace it so nothing borrows `data` any more.
        if let Ok(d) = self.decoder.get_mut() {
            *d = Decoder::new(&[], 0);
        }
        // SAFETY: `data` came from Box::into_raw in daspack_sensor_decoder_new and is freed only here.
        drop(unsafe { Box::from_raw(self.data) });
    }
}

/// Creates in `*decoder` a streaming decoder for a stream of `count` items (the encoder's item count) held in
/// `src`. The bytes are copied: `src` may be freed once this returns.
#[no_mangle]
pub unsafe extern "C" fn daspack_sensor_decoder_new(
    src: *const u8,
    src_len: usize,
    count: u64,
    decoder: *mut *mut DaspackSensorDecoder,
) -> DaspackError {
    guard("daspack_sensor_decoder_new", || {
        non_null(decoder, "decoder")?;
        // SAFETY: `src` holds `src_len` bytes (the caller's contract).
        let bytes = unsafe { slice(src, src_len, "src") }?;
        let data: *mut [u8] = Box::into_raw(bytes.to_vec().into_boxed_slice());
        // SAFETY: `data` stays allocated and unmodified until the object is dropped, after its decoder.
        let view: &'static [u8] = unsafe { &*data };
        let obj = Box::new(DaspackSensorDecoder { decoder: Mutex::new(Decoder::new(view, count)), data });
        // SAFETY: the caller's writable pointer slot.
        unsafe { write_out(decoder, Box::into_raw(obj), "decoder") }
    })
}

/// Decodes the next items into `dst` (room for `dst_capacity` slots); `*dst_len` receives how many were written,
/// 0 once every item has been decoded. Items decoded before an error are returned first; the next call reports
/// the error (DASPACK_ERROR_TRUNCATED or DASPACK_ERROR_CORRUPT with the bit offset).
#[no_mangle]
pub unsafe extern "C" fn daspack_sensor_decoder_read(
    decoder: *mut DaspackSensorDecoder,
    dst: *mut i16,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_sensor_decoder_read", || {
        // SAFETY: the caller's contract for the object.
        let obj = unsafe { object(decoder, "decoder") }?;
        non_null(dst, "dst")?;
        crate::error::aligned(dst, "dst")?;
        byte_len::<i16>(dst_capacity, "dst")?;
        // SAFETY: the caller's writable size_t.
        unsafe { write_out(dst_len, 0, "dst_len") }?;
        let mut dec = lock(&obj.decoder)?;
        // Decode in bounded steps into our buffer: the caller's memory may be uninitialised, and a huge capacity
        // must not allocate a huge buffer.
        let mut buf = [0i16; 4096];
        let mut written = 0usize;
        while written < dst_capacity {
            let want = (dst_capacity - written).min(buf.len());
            match dec.decode_into(&mut buf[..want]) {
                Ok(0) => break,
                Ok(k) => {
                    // SAFETY: `dst` holds `dst_capacity >= written + k` slots (the caller's contract).
                    unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), dst.add(written), k) };
                    written += k;
                }
                Err(e) if written == 0 => return Err(decode_failure(e)),
                // Hand over what was decoded; the decoder keeps the error for the next call.
                Err(_) => break,
            }
        }
        // SAFETY: checked above.
        unsafe { dst_len.write(written) };
        Ok(())
    })
}

/// Checks, after the last item, that the stream ends where it should: at most 7 zero bits of padding follow the
/// last code word. Fails with DASPACK_ERROR_STATE while items remain, DASPACK_ERROR_CORRUPT on trailing data, or
/// with the decoding error met earlier.
#[no_mangle]
pub unsafe extern "C" fn daspack_sensor_decoder_check_end(decoder: *const DaspackSensorDecoder) -> DaspackError {
    guard("daspack_sensor_decoder_check_end", || {
        // SAFETY: the caller's contract for the object.
        let obj = unsafe { object(decoder, "decoder") }?;
        let dec = lock(&obj.decoder)?;
        dec.check_end().map_err(|e| match e.kind {
            DecodeErrorKind::NotAtEnd => Failure::new(DASPACK_ERROR_STATE, format!("{e}")),
            _ => decode_failure(e),
        })
    })
}

/// Frees a decoder and its copy of the stream. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn daspack_sensor_decoder_free(decoder: *mut DaspackSensorDecoder) {
    guard_value("daspack_sensor_decoder_free", (), || {
        if !decoder.is_null() {
            // SAFETY: the caller's contract: a live decoder from daspack_sensor_decoder_new, not used again.
            drop(unsafe { Box::from_raw(decoder) });
        }
    })
}
