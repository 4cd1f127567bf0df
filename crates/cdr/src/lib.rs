//! CDR (XCDR1, "plain CDR") as ROS 2 puts it on the wire: a 4-byte encapsulation header
//! (`00 01 00 00` for little endian), then the body with every primitive aligned to its own
//! size, counted from the end of that header.
//!
//! This crate is the one place the codec lives. Generated message types implement
//! [`CdrEncode`] and [`CdrDecode`] on top of [`CdrWriter`] and [`CdrReader`]; the dynamic
//! decoder in `embody-idl` uses the same reader.

mod error;
mod primitive;
mod reader;
mod writer;

pub use error::{DecodeError, EncodeError};
pub use primitive::Primitive;
pub use reader::CdrReader;
pub use writer::{CdrWriter, Segment, check_bound};

/// Encapsulation header for little-endian plain CDR, which is what ROS 2 writes.
pub const HEADER_LE: [u8; 4] = [0x00, 0x01, 0x00, 0x00];
/// Encapsulation header for big-endian plain CDR (read only).
pub const HEADER_BE: [u8; 4] = [0x00, 0x00, 0x00, 0x00];

/// A type that can write itself as a CDR body (without the encapsulation header).
pub trait CdrEncode {
    /// Appends this value to `w`, aligned as CDR requires.
    fn encode(&self, w: &mut CdrWriter) -> Result<(), EncodeError>;

    /// About how many bytes `encode` will write (alignment padding may add a few), so a
    /// writer can allocate once for large messages.
    fn size_hint(&self) -> usize {
        0
    }
}

/// A type that can read itself from a CDR body.
pub trait CdrDecode: Sized {
    /// The fewest bytes one encoded value can occupy; used to reject sequence lengths that
    /// the remaining input could not possibly hold before anything is allocated.
    const MIN_ENCODED_SIZE: usize = 1;

    /// Reads one value from `r`.
    fn decode(r: &mut CdrReader<'_>) -> Result<Self, DecodeError>;
}

/// Encodes `value` into a fresh buffer that starts with the little-endian header.
pub fn to_bytes<T: CdrEncode + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    // A little slack covers alignment padding, which the hint leaves out.
    let mut w = CdrWriter::with_capacity(value.size_hint() + 64);
    value.encode(&mut w)?;
    Ok(w.finish())
}

/// Decodes a value from `bytes`, which must start with an encapsulation header. Trailing
/// bytes (alignment padding some writers add) are ignored.
pub fn from_bytes<T: CdrDecode>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut r = CdrReader::new(bytes)?;
    T::decode(&mut r)
}

/// Encodes `value` into segments: large byte sequences are shared, not copied.
pub fn to_segments<T: CdrEncode + ?Sized>(value: &T) -> Result<Vec<Segment>, EncodeError> {
    // Large byte sequences become segments of their own, so the buffer only needs what is
    // left; the cap keeps a big message from allocating its whole size here.
    let mut w = CdrWriter::with_capacity(value.size_hint().min(64 * 1024) + 64);
    value.encode(&mut w)?;
    Ok(w.finish_segments())
}

/// Decodes a value whose byte sequences share `bytes` instead of copying out of it.
pub fn from_shared<T: CdrDecode>(bytes: &bytes::Bytes) -> Result<T, DecodeError> {
    let mut r = CdrReader::new_shared(bytes)?;
    T::decode(&mut r)
}

pub use bytes::Bytes;

#[cfg(test)]
mod tests;
