use crate::{EncodeError, HEADER_LE, Primitive};

/// Builds a little-endian CDR payload, header included.
#[derive(Debug, Clone)]
pub struct CdrWriter {
    buf: Vec<u8>,
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
        Self { buf }
    }

    /// A writer that reuses `buf`'s allocation (its contents are discarded).
    pub fn from_vec(mut buf: Vec<u8>) -> Self {
        buf.clear();
        buf.extend_from_slice(&HEADER_LE);
        Self { buf }
    }

    /// Makes room for at least `additional` more bytes.
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional);
    }

    /// Bytes written so far, header included.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when only the header has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.len() == HEADER_LE.len()
    }

    /// Pads with zeros so the next write starts at a multiple of `n` from the end of the header.
    #[inline]
    pub fn align(&mut self, n: usize) {
        let off = (self.buf.len() - HEADER_LE.len()) % n;
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

    /// Writes bools as bytes.
    pub fn write_bools(&mut self, items: &[bool]) {
        self.buf.extend(items.iter().map(|&b| u8::from(b)));
    }

    /// Returns the finished payload.
    pub fn finish(self) -> Vec<u8> {
        self.buf
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
