use crate::{EncodeError, HEADER_LE, Primitive};

/// A piece of an encoded payload: bytes the writer produced, or a large byte sequence of
/// the message shared as is (see [`CdrWriter::write_shared`]).
#[derive(Debug, Clone)]
pub enum Segment {
    /// Written by the encoder.
    Owned(Vec<u8>),
    /// A byte sequence of the message, not copied.
    Shared(bytes::Bytes),
}

/// Byte sequences at least this long are kept as shared segments instead of copied.
const SHARE_ABOVE: usize = 16 * 1024;

/// Builds a little-endian CDR payload, header included.
#[derive(Debug, Clone)]
pub struct CdrWriter {
    buf: Vec<u8>,
    /// Finished segments before `buf` (empty unless large byte sequences were shared).
    done: Vec<Segment>,
    /// Total length of `done`.
    base: usize,
}

impl Default for CdrWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl CdrWriter {
    /// A writer holding only the encapsulation header.
    pub fn new() -> Self {
        Self::with_capacity(64)
    }

    /// A writer whose buffer can hold `capacity` body bytes before it grows.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity + HEADER_LE.len());
        buf.extend_from_slice(&HEADER_LE);
        Self {
            buf,
            done: Vec::new(),
            base: 0,
        }
    }

    /// A writer that reuses `buf`'s allocation (its contents are discarded).
    pub fn from_vec(mut buf: Vec<u8>) -> Self {
        buf.clear();
        buf.extend_from_slice(&HEADER_LE);
        Self {
            buf,
            done: Vec::new(),
            base: 0,
        }
    }

    /// Makes room for at least `additional` more bytes.
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional);
    }

    /// Bytes written so far, header included.
    pub fn len(&self) -> usize {
        self.base + self.buf.len()
    }

    /// True when only the header has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == HEADER_LE.len()
    }

    /// Pads with zeros so the next write starts at a multiple of `n` from the end of the header.
    #[inline]
    pub fn align(&mut self, n: usize) {
        let off = (self.len() - HEADER_LE.len()) % n;
        if off != 0 {
            self.buf.resize(self.buf.len() + n - off, 0);
        }
    }

    /// Writes one aligned primitive.
    #[inline]
    pub fn write<T: Primitive>(&mut self, v: T) {
        self.align(T::SIZE);
        v.put_le(&mut self.buf);
    }

    /// Writes a bool as one byte, 0 or 1.
    #[inline]
    pub fn write_bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    /// Writes a sequence length or string length prefix.
    #[inline]
    pub fn write_len(&mut self, len: usize) -> Result<(), EncodeError> {
        let n = u32::try_from(len).map_err(|_| EncodeError::TooLong(len))?;
        self.write(n);
        Ok(())
    }

    /// Writes a string: u32 length counting the NUL, the UTF-8 bytes, then the NUL.
    pub fn write_string(&mut self, s: &str) -> Result<(), EncodeError> {
        self.write_len(s.len() + 1)?;
        self.buf.reserve(s.len() + 1);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        Ok(())
    }

    /// Writes a wide string: u32 count of UTF-16 code units, each widened to a u32 (Fast
    /// CDR's `wchar_t` on Linux), with no terminator.
    pub fn write_wstring(&mut self, s: &str) -> Result<(), EncodeError> {
        let units: Vec<u16> = s.encode_utf16().collect();
        self.write_len(units.len())?;
        for u in units {
            self.write(u32::from(u));
        }
        Ok(())
    }

    /// Writes the elements of a primitive array or sequence (no length prefix) in one pass.
    pub fn write_slice<T: Primitive>(&mut self, items: &[T]) {
        if items.is_empty() {
            return;
        }
        self.align(T::SIZE);
        self.buf.reserve(items.len() * T::SIZE);
        for &v in items {
            v.put_le(&mut self.buf);
        }
    }

    /// Writes raw bytes (uint8/byte/char arrays) with one copy.
    #[inline]
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Writes a byte sequence's elements; a large one is kept as a shared segment (no copy)
    /// for [`CdrWriter::finish_segments`], and copied only if [`CdrWriter::finish`] is used.
    pub fn write_shared(&mut self, bytes: &bytes::Bytes) {
        if bytes.len() < SHARE_ABOVE {
            self.buf.extend_from_slice(bytes);
            return;
        }
        let head = std::mem::take(&mut self.buf);
        self.base += head.len() + bytes.len();
        self.done.push(Segment::Owned(head));
        self.done.push(Segment::Shared(bytes.clone()));
    }

    /// Writes bools as bytes.
    pub fn write_bools(&mut self, items: &[bool]) {
        self.buf.extend(items.iter().map(|&b| u8::from(b)));
    }

    /// Returns the finished payload as one buffer.
    pub fn finish(self) -> Vec<u8> {
        if self.done.is_empty() {
            return self.buf;
        }
        let mut out = Vec::with_capacity(self.len());
        for seg in &self.done {
            match seg {
                Segment::Owned(v) => out.extend_from_slice(v),
                Segment::Shared(b) => out.extend_from_slice(b),
            }
        }
        out.extend_from_slice(&self.buf);
        out
    }

    /// Returns the finished payload as segments, large byte sequences shared, not copied.
    pub fn finish_segments(mut self) -> Vec<Segment> {
        if !self.buf.is_empty() {
            self.done.push(Segment::Owned(self.buf));
        }
        self.done
    }
}

/// Fails when a bounded string or sequence is longer than its bound; CDR writers must not
/// truncate silently.
#[inline]
pub fn check_bound(field: &'static str, len: usize, bound: usize) -> Result<(), EncodeError> {
    if len > bound {
        Err(EncodeError::BoundExceeded { field, len, bound })
    } else {
        Ok(())
    }
}
