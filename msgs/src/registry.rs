//! The list of every compiled interface type, for tools that work by type name.

use std::sync::OnceLock;

use embody_idl::{IdlError, TypeName, TypeSet, schema};

/// What kind of interface a registry entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterfaceKind {
    /// A message (including parts derived from services and actions).
    Message,
    /// A service.
    Service,
    /// An action.
    Action,
}

/// One compiled interface type.
#[derive(Debug, Clone, Copy)]
pub struct TypeInfo {
    /// Full type name, e.g. `sensor_msgs/msg/Imu`.
    pub name: &'static str,
    /// Message, service or action.
    pub kind: InterfaceKind,
    /// `RIHS01_…` hash.
    pub hash: &'static str,
    /// The definition: the interface file as shipped, or for derived types (such as
    /// `Foo_Request`) their canonical `.msg` text.
    pub definition: &'static str,
    /// `ros2msg` schema text (messages only; empty for services and actions).
    pub schema: &'static str,
    /// True for types ROS 2 derives from a service or action rather than a file.
    pub derived: bool,
    /// Decodes a payload with the compiled type and encodes it again (little endian), for
    /// messages: normalises big-endian or padded payloads, and lets tests exercise the
    /// generated codec of every type by name.
    pub transcode: Option<TranscodeFn>,
}

/// Decode-then-encode with one compiled type.
pub type TranscodeFn = fn(&[u8]) -> Result<Vec<u8>, TranscodeError>;

/// Why [`TypeInfo::transcode`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscodeError {
    /// The payload does not decode as the type.
    #[error(transparent)]
    Decode(#[from] embody_cdr::DecodeError),
    /// The decoded value does not encode (a bound is broken).
    #[error(transparent)]
    Encode(#[from] embody_cdr::EncodeError),
}

impl TypeInfo {
    /// A closed type set for dynamic decoding of this message type.
    pub fn type_set(&self) -> Result<TypeSet, IdlError> {
        let name =
            TypeName::parse(self.name).ok_or_else(|| IdlError::NotFound(self.name.to_owned()))?;
        schema::parse_ros2msg(&name, self.schema)
    }
}

/// Every interface compiled into embody-msgs, sorted by name.
pub fn registry() -> &'static [TypeInfo] {
    INTERFACES
}

use crate::INTERFACES;

/// Looks a type up by `pkg/msg/Name`, `pkg/srv/Name`, `pkg/action/Name` or `pkg/Name`.
pub fn find(name: &str) -> Option<&'static TypeInfo> {
    let canonical = TypeName::parse(name)?.to_string();
    INTERFACES.iter().find(|t| t.name == canonical).or_else(|| {
        // `pkg/Name` may name a service or an action too.
        let (pkg, short) = name.split_once('/')?;
        ["srv", "action"].iter().find_map(|k| {
            INTERFACES
                .iter()
                .find(|t| t.name == format!("{pkg}/{k}/{short}"))
        })
    })
}

/// One type set holding every compiled message type, built once (for dynamic decoding and
/// encoding by type name).
pub fn type_set() -> &'static TypeSet {
    static SET: OnceLock<TypeSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = TypeSet::new();
        for info in INTERFACES
            .iter()
            .filter(|t| t.kind == InterfaceKind::Message)
        {
            // The registry was generated from definitions that already compiled, so parsing
            // them again cannot fail unless the generator itself is broken.
            let name = TypeName::parse(info.name).expect("registry names are valid type names");
            let def = embody_idl::parse::parse_message(name, info.definition_text(), info.name)
                .expect("registry definitions parse");
            set.add_message(def).expect("registry names are unique");
        }
        set
    })
}

impl TypeInfo {
    /// The `.msg` text of this message alone (the first section of its schema).
    pub fn definition_text(&self) -> &'static str {
        match self.schema.find(schema::SEPARATOR) {
            Some(i) => &self.schema[..i],
            None => self.schema,
        }
    }
}
