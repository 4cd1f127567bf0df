use crate::{DecodeError, Primitive};

const HEADER_LEN: usize = 4;

/// Reads a CDR payload of either endianness without ever reading past its end.
#[derive(Debug, Clone)]
pub struct CdrReader<'a> {
    data: &'a [u8],
    pos: usize,
    big_endian: bool,
    /// When set, `data` is this buffer and byte sequences are shared out of it, not copied.
    shared: Option<&'a bytes::Bytes>,
}

impl<'a> CdrReader<'a> {
    /// Checks the encapsulation header and positions the reader at the body.
    pub fn new(data: &'a [u8]) -> Result<Self, DecodeError> {
        if data.len() < HEADER_LEN {
            return Err(DecodeError::MissingHeader(data.len()));
        }
        let big_endian = match (data[0], data[1]) {
            (0x00, 0x01) => false,
            (0x00, 0x00) => true,
            (a, b) => return Err(DecodeError::UnsupportedEncapsulation(a, b)),
        };
        Ok(Self {
            data,
            pos: HEADER_LEN,
            big_endian,
            shared: None,
        })
    }

    /// A reader whose byte sequences (`uint8[]` such as point cloud and image data) are
    /// reference-counted slices of `buffer` instead of copies.
    pub fn new_shared(buffer: &'a bytes::Bytes) -> Result<Self, DecodeError> {
        let mut r = Self::new(buffer)?;
        r.shared = Some(buffer);
        Ok(r)
    }

    /// True when the payload is big endian.
    pub fn big_endian(&self) -> bool {
        self.big_endian
    }

    /// Current offset in the payload, header included.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                needed: n,
                remaining: self.remaining(),
            });
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Skips padding so the next read starts at a multiple of `n` from the end of the header.
    #[inline]
    pub fn align(&mut self, n: usize) -> Result<(), DecodeError> {
        let off = (self.pos - HEADER_LEN) % n;
        if off != 0 {
            self.take(n - off)?;
        }
        Ok(())
    }

    /// Reads one aligned primitive.
    #[inline]
    pub fn read<T: Primitive>(&mut self) -> Result<T, DecodeError> {
        self.align(T::SIZE)?;
        let big = self.big_endian;
        Ok(T::get(self.take(T::SIZE)?, big))
    }

    /// Reads a bool, accepting only 0 and 1 as Fast CDR does.
    #[inline]
    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        let offset = self.pos;
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(DecodeError::InvalidBool { offset, value }),
        }
    }

    /// Reads a sequence length and checks that `len * min_elem_size` bytes remain, so a
    /// hostile length can never make the caller allocate more than the input could hold.
    #[inline]
    pub fn read_len(&mut self, min_elem_size: usize) -> Result<usize, DecodeError> {
        self.align(4)?;
        let offset = self.pos;
        let len = self.read::<u32>()? as usize;
        let need = len.saturating_mul(min_elem_size.max(1));
        if need > self.remaining() {
            return Err(DecodeError::LengthExceedsInput {
                offset,
                len,
                remaining: self.remaining(),
            });
        }
        Ok(len)
    }

    /// Reads a string: u32 length with NUL, bytes, NUL. A zero length reads as "" (some
    /// writers emit it for empty strings).
    pub fn read_string(&mut self) -> Result<String, DecodeError> {
        let offset = self.pos;
        let len = self.read_len(1)?;
        if len == 0 {
            return Ok(String::new());
        }
        let raw = self.take(len)?;
        let (body, nul) = raw.split_at(len - 1);
        if nul[0] != 0 {
            return Err(DecodeError::MissingNul(offset));
        }
        match std::str::from_utf8(body) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(DecodeError::InvalidUtf8(offset)),
        }
    }

    /// Reads a wide string written as u32 code units (UTF-16 values widened).
    pub fn read_wstring(&mut self) -> Result<String, DecodeError> {
        let len = self.read_len(4)?;
        let mut units = Vec::with_capacity(len);
        for _ in 0..len {
            let offset = self.pos;
            let v = self.read::<u32>()?;
            let unit =
                u16::try_from(v).map_err(|_| DecodeError::InvalidChar { offset, value: v })?;
            units.push(unit);
        }
        let offset = self.pos;
        String::from_utf16(&units).map_err(|_| DecodeError::InvalidChar { offset, value: 0 })
    }

    /// Reads `n` primitives of one type in one pass.
    pub fn read_vec<T: Primitive>(&mut self, n: usize) -> Result<Vec<T>, DecodeError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        self.align(T::SIZE)?;
        let bytes = self.take(n.saturating_mul(T::SIZE))?;
        let big = self.big_endian;
        Ok(bytes
            .chunks_exact(T::SIZE)
            .map(|c| T::get(c, big))
            .collect())
    }

    /// Reads a fixed-size primitive array.
    pub fn read_array<T: Primitive, const N: usize>(&mut self) -> Result<[T; N], DecodeError> {
        let mut out = [T::default(); N];
        if N == 0 {
            return Ok(out);
        }
        self.align(T::SIZE)?;
        let bytes = self.take(N * T::SIZE)?;
        let big = self.big_endian;
        for (slot, c) in out.iter_mut().zip(bytes.chunks_exact(T::SIZE)) {
            *slot = T::get(c, big);
        }
        Ok(out)
    }

    /// Reads `n` raw bytes with one copy.
    #[inline]
    pub fn read_bytes(&mut self, n: usize) -> Result<Vec<u8>, DecodeError> {
        Ok(self.take(n)?.to_vec())
    }

    /// Reads `n` raw bytes as a `Bytes`: shared with the input when the reader was made by
    /// [`CdrReader::new_shared`], copied otherwise.
    pub fn read_byte_buf(&mut self, n: usize) -> Result<bytes::Bytes, DecodeError> {
        let start = self.pos;
        let slice = self.take(n)?;
        Ok(match self.shared {
            Some(buf) => buf.slice(start..start + n),
            None => bytes::Bytes::copy_from_slice(slice),
        })
    }

    /// Reads `n` bools.
    pub fn read_bools(&mut self, n: usize) -> Result<Vec<bool>, DecodeError> {
        (0..n).map(|_| self.read_bool()).collect()
    }
}

impl CdrReader<'_> {
    /// Reads a fixed-size array of non-primitive elements with `read_one`. Elements after a
    /// failure are left at their default and the first error is returned.
    pub fn read_array_with<T: Default, const N: usize>(
        &mut self,
        mut read_one: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<[T; N], DecodeError> {
        let mut first_err = None;
        let out = std::array::from_fn(|_| {
            if first_err.is_some() {
                return T::default();
            }
            read_one(self).unwrap_or_else(|e| {
                first_err = Some(e);
                T::default()
            })
        });
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}
