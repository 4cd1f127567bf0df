//! MCAP files (<https://mcap.dev/spec>): the writer rosbag2's default storage needs and a reader
//! that uses the summary when there is one and scans linearly when there is not (a recorder
//! that was killed, or `fastwrite` files).

mod read;
mod records;
mod write;

pub use read::{FileState, McapFile, MessageIter};
pub use records::{
    Channel, ChunkIndex, MAGIC, Message, MessageHeader, Metadata, Schema, Statistics,
};
pub use write::{McapWriter, WriteOptions};

/// Chunk compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Stored as is.
    #[default]
    None,
    /// Zstandard (rosbag2's `--compression-format zstd`).
    Zstd,
    /// LZ4 frames.
    Lz4,
}

impl Compression {
    /// The name in the chunk record.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Zstd => "zstd",
            Self::Lz4 => "lz4",
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "" | "none" => Ok(Self::None),
            "zstd" => Ok(Self::Zstd),
            "lz4" => Ok(Self::Lz4),
            other => Err(format!("unknown compression `{other}` (none, zstd or lz4)")),
        }
    }
}

/// Why an MCAP file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum McapError {
    /// Reading or writing the file failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The file does not start with the MCAP magic.
    #[error("not an MCAP file (bad magic)")]
    BadMagic,
    /// A record ends past the end of the file or of its parent.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// A record's content is invalid.
    #[error("malformed record: {0}")]
    Malformed(&'static str),
    /// A message names a channel that was never defined.
    #[error("message on unknown channel {0}")]
    UnknownChannel(u16),
    /// A chunk uses a compression this reader does not know.
    #[error("unsupported chunk compression `{0}`")]
    UnknownCompression(String),
    /// A chunk does not decompress, or not to its declared size.
    #[error("chunk at offset {offset} is corrupt (does not decompress: {reason})")]
    Decompress {
        /// File offset of the chunk.
        offset: u64,
        /// What went wrong.
        reason: String,
    },
    /// A chunk's CRC does not match its content.
    #[error("chunk at offset {offset} is corrupt (CRC mismatch)")]
    CrcMismatch {
        /// File offset of the chunk.
        offset: u64,
    },
}
