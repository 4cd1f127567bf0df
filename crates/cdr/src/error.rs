use thiserror::Error;

/// Why a value could not be written as CDR.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A bounded string or sequence is longer than its declared bound.
    #[error("field `{field}` has {len} elements but its bound is {bound}")]
    BoundExceeded {
        /// The field (as `Type.field`) whose bound was broken.
        field: &'static str,
        /// The length the value has.
        len: usize,
        /// The bound declared in the interface.
        bound: usize,
    },
    /// A length does not fit the u32 that CDR uses for counts.
    #[error("length {0} does not fit in a CDR u32 count")]
    TooLong(usize),
}

/// Why bytes could not be read as CDR.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Fewer than four bytes, so there is no encapsulation header.
    #[error("payload of {0} bytes is too short for the 4-byte CDR encapsulation header")]
    MissingHeader(usize),
    /// The encapsulation header names a representation other than plain CDR.
    #[error(
        "unsupported CDR encapsulation {0:02x} {1:02x} (expected 00 01 for little or 00 00 for big endian)"
    )]
    UnsupportedEncapsulation(u8, u8),
    /// The input ended inside a value.
    #[error("payload truncated: needed {needed} more bytes at offset {offset}, {remaining} left")]
    Truncated {
        /// Offset in the payload (header included) where the read started.
        offset: usize,
        /// Bytes the read needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A string or sequence claims more elements than the rest of the input could hold.
    #[error("length {len} at offset {offset} exceeds the {remaining} bytes left")]
    LengthExceedsInput {
        /// Offset of the length prefix.
        offset: usize,
        /// The declared length.
        len: usize,
        /// Bytes left after the prefix.
        remaining: usize,
    },
    /// A string lacks its terminating NUL.
    #[error("string at offset {0} is not NUL-terminated")]
    MissingNul(usize),
    /// A string is not UTF-8.
    #[error("string at offset {0} is not valid UTF-8")]
    InvalidUtf8(usize),
    /// A bool byte other than 0 or 1.
    #[error("invalid bool byte {value} at offset {offset}")]
    InvalidBool {
        /// Offset of the byte.
        offset: usize,
        /// The byte found.
        value: u8,
    },
    /// A wide character that is not a Unicode scalar value.
    #[error("invalid wide character {value:#x} at offset {offset}")]
    InvalidChar {
        /// Offset of the character.
        offset: usize,
        /// The code unit found.
        value: u32,
    },
    /// A bounded string or sequence in the input is longer than its bound.
    #[error("field `{field}` has {len} elements but its bound is {bound}")]
    BoundExceeded {
        /// The field whose bound was broken.
        field: &'static str,
        /// The length found.
        len: usize,
        /// The declared bound.
        bound: usize,
    },
}
