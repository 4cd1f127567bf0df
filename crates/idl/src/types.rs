//! The parsed form of ROS 2 interface definitions.

use std::fmt;

/// Which interface folder a type comes from. Declared in alphabetical order so that sorting
/// [`TypeName`]s sorts them as their strings sort, which is the order type hashes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `action/`
    Action,
    /// `msg/`
    Msg,
    /// `srv/`
    Srv,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Msg => "msg",
            Kind::Srv => "srv",
            Kind::Action => "action",
        })
    }
}

/// A fully qualified interface type name such as `geometry_msgs/msg/Twist`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TypeName {
    /// Package, e.g. `geometry_msgs`.
    pub package: String,
    /// Interface kind.
    pub kind: Kind,
    /// Type name, e.g. `Twist` or `AddTwoInts_Request`.
    pub name: String,
}

impl TypeName {
    /// Builds a name from its parts.
    pub fn new(package: &str, kind: Kind, name: &str) -> Self {
        Self {
            package: package.to_owned(),
            kind,
            name: name.to_owned(),
        }
    }

    /// Parses `pkg/msg/Name`, `pkg/srv/Name`, `pkg/action/Name`, or the short `pkg/Name`
    /// (taken as a message).
    pub fn parse(s: &str) -> Option<Self> {
        let parts: Vec<&str> = s.split('/').collect();
        let (package, kind, name) = match parts.as_slice() {
            [p, n] => (*p, Kind::Msg, *n),
            [p, "msg", n] => (*p, Kind::Msg, *n),
            [p, "srv", n] => (*p, Kind::Srv, *n),
            [p, "action", n] => (*p, Kind::Action, *n),
            _ => return None,
        };
        if !is_package_name(package) || !is_type_name(name) {
            return None;
        }
        Some(Self::new(package, kind, name))
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.package, self.kind, self.name)
    }
}

/// True for a valid ROS package name (`[a-z][a-z0-9_]*`).
pub fn is_package_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some('a'..='z'))
        && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
}

/// True for a valid interface type name (`[A-Z][A-Za-z0-9_]*`; `_` appears in derived names).
pub fn is_type_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some('A'..='Z')) && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// The primitive types of the `.msg` grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Primitive {
    /// `bool`
    Bool,
    /// `byte` (IDL octet)
    Byte,
    /// `char` (IDL uint8 in ROS 2)
    Char,
    /// `int8`
    Int8,
    /// `uint8`
    Uint8,
    /// `int16`
    Int16,
    /// `uint16`
    Uint16,
    /// `int32`
    Int32,
    /// `uint32`
    Uint32,
    /// `int64`
    Int64,
    /// `uint64`
    Uint64,
    /// `float32`
    Float32,
    /// `float64`
    Float64,
}

impl Primitive {
    /// Every primitive, for lookups.
    pub const ALL: [Primitive; 13] = [
        Primitive::Bool,
        Primitive::Byte,
        Primitive::Char,
        Primitive::Int8,
        Primitive::Uint8,
        Primitive::Int16,
        Primitive::Uint16,
        Primitive::Int32,
        Primitive::Uint32,
        Primitive::Int64,
        Primitive::Uint64,
        Primitive::Float32,
        Primitive::Float64,
    ];

    /// The keyword in `.msg` files.
    pub fn msg_name(self) -> &'static str {
        match self {
            Primitive::Bool => "bool",
            Primitive::Byte => "byte",
            Primitive::Char => "char",
            Primitive::Int8 => "int8",
            Primitive::Uint8 => "uint8",
            Primitive::Int16 => "int16",
            Primitive::Uint16 => "uint16",
            Primitive::Int32 => "int32",
            Primitive::Uint32 => "uint32",
            Primitive::Int64 => "int64",
            Primitive::Uint64 => "uint64",
            Primitive::Float32 => "float32",
            Primitive::Float64 => "float64",
        }
    }

    /// Looks a `.msg` keyword up.
    pub fn from_msg_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.msg_name() == s)
    }

    /// Encoded size in CDR, which is also its alignment.
    pub fn size(self) -> usize {
        match self {
            Primitive::Bool
            | Primitive::Byte
            | Primitive::Char
            | Primitive::Int8
            | Primitive::Uint8 => 1,
            Primitive::Int16 | Primitive::Uint16 => 2,
            Primitive::Int32 | Primitive::Uint32 | Primitive::Float32 => 4,
            Primitive::Int64 | Primitive::Uint64 | Primitive::Float64 => 8,
        }
    }

    /// The Rust type generated for it.
    pub fn rust_type(self) -> &'static str {
        match self {
            Primitive::Bool => "bool",
            Primitive::Byte | Primitive::Char | Primitive::Uint8 => "u8",
            Primitive::Int8 => "i8",
            Primitive::Int16 => "i16",
            Primitive::Uint16 => "u16",
            Primitive::Int32 => "i32",
            Primitive::Uint32 => "u32",
            Primitive::Int64 => "i64",
            Primitive::Uint64 => "u64",
            Primitive::Float32 => "f32",
            Primitive::Float64 => "f64",
        }
    }

    /// `type_description_interfaces/msg/FieldType` id. `.msg` `byte` is IDL octet and `char`
    /// is IDL uint8, as rosidl_adapter maps them.
    pub fn type_id(self) -> u8 {
        match self {
            Primitive::Int8 => 2,
            Primitive::Uint8 | Primitive::Char => 3,
            Primitive::Int16 => 4,
            Primitive::Uint16 => 5,
            Primitive::Int32 => 6,
            Primitive::Uint32 => 7,
            Primitive::Int64 => 8,
            Primitive::Uint64 => 9,
            Primitive::Float32 => 10,
            Primitive::Float64 => 11,
            Primitive::Bool => 15,
            Primitive::Byte => 16,
        }
    }

    /// Inclusive integer range, for integer-like primitives.
    pub fn int_range(self) -> Option<(i128, i128)> {
        Some(match self {
            Primitive::Byte | Primitive::Char | Primitive::Uint8 => (0, u8::MAX as i128),
            Primitive::Int8 => (i8::MIN as i128, i8::MAX as i128),
            Primitive::Int16 => (i16::MIN as i128, i16::MAX as i128),
            Primitive::Uint16 => (0, u16::MAX as i128),
            Primitive::Int32 => (i32::MIN as i128, i32::MAX as i128),
            Primitive::Uint32 => (0, u32::MAX as i128),
            Primitive::Int64 => (i64::MIN as i128, i64::MAX as i128),
            Primitive::Uint64 => (0, u64::MAX as i128),
            Primitive::Bool | Primitive::Float32 | Primitive::Float64 => return None,
        })
    }

    /// True for `float32` and `float64`.
    pub fn is_float(self) -> bool {
        matches!(self, Primitive::Float32 | Primitive::Float64)
    }

    /// True for the one-byte unsigned types that arrays copy as raw bytes.
    pub fn is_byte_like(self) -> bool {
        matches!(self, Primitive::Byte | Primitive::Char | Primitive::Uint8)
    }
}

/// The element type of a field, without its array/sequence wrapper.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BaseType {
    /// A primitive.
    Primitive(Primitive),
    /// `string` or `string<=N`.
    String(Option<usize>),
    /// `wstring` or `wstring<=N`.
    WString(Option<usize>),
    /// A nested message.
    Nested(TypeName),
}

impl BaseType {
    /// `type_description` id of the element type.
    pub fn type_id(&self) -> u8 {
        match self {
            BaseType::Primitive(p) => p.type_id(),
            BaseType::Nested(_) => 1,
            BaseType::String(None) => 17,
            BaseType::WString(None) => 18,
            BaseType::String(Some(_)) => 21,
            BaseType::WString(Some(_)) => 22,
        }
    }
}

/// How a field wraps its element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    /// A single value.
    Single,
    /// `T[N]`: exactly N values, no length prefix.
    Array(usize),
    /// `T[<=N]`: up to N values with a length prefix.
    BoundedSeq(usize),
    /// `T[]`: any number of values with a length prefix.
    Seq,
}

/// A field's full type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldType {
    /// Element type.
    pub base: BaseType,
    /// Wrapper.
    pub container: Container,
}

impl FieldType {
    /// `type_description_interfaces/msg/FieldType.type_id`.
    pub fn type_id(&self) -> u16 {
        let base = u16::from(self.base.type_id());
        base + match self.container {
            Container::Single => 0,
            Container::Array(_) => 48,
            Container::BoundedSeq(_) => 96,
            Container::Seq => 144,
        }
    }

    /// `FieldType.capacity`: array size or sequence bound.
    pub fn capacity(&self) -> usize {
        match self.container {
            Container::Array(n) | Container::BoundedSeq(n) => n,
            Container::Single | Container::Seq => 0,
        }
    }

    /// `FieldType.string_capacity`: the string bound.
    pub fn string_capacity(&self) -> usize {
        match self.base {
            BaseType::String(Some(n)) | BaseType::WString(Some(n)) => n,
            _ => 0,
        }
    }

    /// The nested type, if any.
    pub fn nested(&self) -> Option<&TypeName> {
        match &self.base {
            BaseType::Nested(t) => Some(t),
            _ => None,
        }
    }
}

/// A constant or default value as written in an interface file.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `true` / `false`
    Bool(bool),
    /// An integer (wide enough for every ROS integer type).
    Int(i128),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// `[a, b, c]` for array defaults.
    List(Vec<Literal>),
}

/// A field of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Field type.
    pub ty: FieldType,
    /// Default value, if the definition gives one.
    pub default: Option<Literal>,
    /// Line in the source file (1-based), for errors.
    pub line: usize,
}

/// A constant of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// Constant name.
    pub name: String,
    /// Its type: a primitive or a string.
    pub ty: BaseType,
    /// Its value.
    pub value: Literal,
}

/// One message (or one part of a service or action).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageDef {
    /// Fully qualified name.
    pub name: TypeName,
    /// Fields in declaration order.
    pub fields: Vec<Field>,
    /// Constants in declaration order.
    pub constants: Vec<Constant>,
    /// File the definition came from (for errors), or a description of its origin.
    pub origin: String,
}

/// A parsed interface file.
#[derive(Debug, Clone, PartialEq)]
pub enum Interface {
    /// A `.msg` file.
    Message(MessageDef),
    /// A `.srv` file.
    Service {
        /// `pkg/srv/Name`.
        name: TypeName,
        /// Request part.
        request: MessageDef,
        /// Response part.
        response: MessageDef,
    },
    /// An `.action` file.
    Action {
        /// `pkg/action/Name`.
        name: TypeName,
        /// Goal part.
        goal: MessageDef,
        /// Result part.
        result: MessageDef,
        /// Feedback part.
        feedback: MessageDef,
    },
}

impl Interface {
    /// The interface's own name.
    pub fn name(&self) -> &TypeName {
        match self {
            Interface::Message(m) => &m.name,
            Interface::Service { name, .. } | Interface::Action { name, .. } => name,
        }
    }
}
