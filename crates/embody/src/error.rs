//! Errors of the runtime.

use std::time::Duration;

use thiserror::Error;

/// A liveliness token, QoS string or attachment from the network that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// A liveliness key expression in a form embody does not know.
    #[error("liveliness token `{token}`: {why}")]
    Token {
        /// The token.
        token: String,
        /// What is wrong with it.
        why: String,
    },
    /// A QoS chunk that does not parse.
    #[error("QoS `{qos}`: {why}")]
    Qos {
        /// The chunk.
        qos: String,
        /// What is wrong with it.
        why: String,
    },
    /// An attachment that is not rmw_zenoh's 33 bytes.
    #[error("attachment of {len} bytes is not rmw_zenoh's (seq i64, timestamp i64, 16-byte gid)")]
    Attachment {
        /// Its length.
        len: usize,
    },
}

/// A ROS name that breaks the naming rules.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid {what} `{name}`: {why}")]
pub struct NameError {
    /// What kind of name (node name, namespace, topic name, ...).
    pub what: &'static str,
    /// The name as given.
    pub name: String,
    /// Which rule it breaks.
    pub why: String,
}

/// Everything the runtime can fail with.
#[derive(Debug, Error)]
pub enum Error {
    /// A parameter that cannot be declared, read or set.
    #[error(transparent)]
    Param(#[from] crate::params::ParamError),
    /// A name breaks the ROS naming rules.
    #[error(transparent)]
    Name(#[from] NameError),
    /// `--ros-args` that cannot be understood.
    #[error("--ros-args: {0}")]
    Args(String),
    /// zenoh refused an operation.
    #[error("zenoh: {0}")]
    Zenoh(String),
    /// The zenoh configuration is unusable.
    #[error("zenoh configuration: {0}")]
    Config(String),
    /// A message could not be encoded.
    #[error(transparent)]
    Encode(#[from] embody_cdr::EncodeError),
    /// A reply could not be decoded.
    #[error(transparent)]
    Decode(#[from] embody_cdr::DecodeError),
    /// Bad data from the network.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A service call or wait did not finish in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// A service server answered with an error instead of a response.
    #[error("service `{service}` failed: {message}")]
    Service {
        /// The service.
        service: String,
        /// What the server said.
        message: String,
    },
    /// The type is not compiled into this binary.
    #[error("unknown interface type `{0}` (not compiled into embody-msgs)")]
    UnknownType(String),
    /// A dynamic value did not match its type.
    #[error(transparent)]
    Dynamic(#[from] embody_idl::dynamic::DynError),
    /// The context was shut down.
    #[error("the context has been shut down")]
    Shutdown,
}

impl Error {
    /// Wraps a zenoh error.
    pub(crate) fn zenoh(e: impl std::fmt::Display) -> Self {
        Error::Zenoh(e.to_string())
    }
}

/// Result of runtime operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
