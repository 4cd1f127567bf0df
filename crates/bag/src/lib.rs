//! rosbag2 bags for embody: MCAP and sqlite3 storage, `metadata.yaml`, a reader that takes
//! whatever `ros2 bag`, rosbags or embody wrote (directories, single files, split bags,
//! unfinished files), a writer, the recorder and player behind `embody bag`, and the replay
//! harness that node tests are written with.

pub mod decode;
pub mod harness;
pub mod mcap;
pub mod metadata;
pub mod play;
pub mod reader;
pub mod record;
pub mod repair;
mod sqlite;
pub mod writer;

pub use metadata::{BagMetadata, FileInfo, TopicInfo, TopicMetadata};
pub use reader::{Bag, BagMessage, Connection, StorageKind};
pub use writer::{BagWriter, TopicId, WriterOptions};

/// Why a bag could not be read or written. Every variant names the file (and topic) involved.
#[derive(Debug, thiserror::Error)]
pub enum BagError {
    /// A file could not be opened, read or written.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `metadata.yaml` is invalid.
    #[error("{file}: {reason}")]
    Metadata {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// An MCAP file is invalid or damaged.
    #[error("{file}: {source}")]
    Mcap {
        /// The file.
        file: String,
        /// What is wrong.
        #[source]
        source: mcap::McapError,
    },
    /// A sqlite3 storage file is invalid.
    #[error("{file}: {reason}")]
    Sqlite {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The path is not a bag.
    #[error("{0}")]
    NotABag(String),
    /// A message could not be decoded with its topic's type.
    #[error("topic {topic} ({type_name}): {reason}")]
    Decode {
        /// The topic.
        topic: String,
        /// Its type.
        type_name: String,
        /// What is wrong.
        reason: String,
    },
    /// The output exists already.
    #[error("{0} exists already; choose another output or remove it")]
    Exists(String),
}

impl BagError {
    pub(crate) fn io(file: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            file: file.display().to_string(),
            source,
        }
    }
    pub(crate) fn mcap(file: &std::path::Path, source: mcap::McapError) -> Self {
        Self::Mcap {
            file: file.display().to_string(),
            source,
        }
    }
}
