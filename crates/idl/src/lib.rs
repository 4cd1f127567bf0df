//! The ROS 2 interface compiler.
//!
//! - [`parse`] reads `.msg`, `.srv` and `.action` text into [`types`];
//! - [`TypeSet`] resolves references between types and expands services and actions into the
//!   message types ROS 2 derives from them (`_Request`, `_Event`, `_SendGoal`, ...);
//! - [`hash`] computes type descriptions and RIHS01 hashes exactly as `rosidl` does;
//! - [`schema`] writes and reads the `ros2msg` schema text that rosbag2 stores in MCAP;
//! - [`codegen`] emits Rust types (used by `embody-msgs` and by users' build scripts);
//! - [`dynamic`] decodes and encodes CDR for any type known only at run time.

pub mod build;
pub mod codegen;
pub mod dynamic;
pub mod hash;
pub mod parse;
pub mod schema;
mod set;
pub mod testing;
pub mod types;

pub use parse::ParseError;
pub use set::{DefRole, IdlError, TypeSet};
pub use types::{Kind, TypeName};

/// The DDS type name rmw_zenoh puts in key expressions: `pkg::msg::dds_::Name_`.
pub fn dds_type_name(name: &TypeName) -> String {
    format!("{}::{}::dds_::{}_", name.package, name.kind, name.name)
}
