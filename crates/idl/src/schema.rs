//! The `ros2msg` schema text rosbag2 stores in MCAP files: the top-level definition, then
//! every dependency after a line of 80 `=` and `MSG: pkg/Type`. Also the canonical `.msg`
//! text of a definition, which is what the schema is made of.

use std::fmt::Write as _;

use crate::parse::parse_message;
use crate::set::{IdlError, TypeSet};
use crate::types::{BaseType, Container, FieldType, Kind, Literal, MessageDef, TypeName};

/// The separator line between schema sections.
pub const SEPARATOR: &str =
    "================================================================================";

/// How a type is written inside `.msg` text: `pkg/Name` for messages, the full name otherwise.
pub fn msg_type_ref(t: &TypeName) -> String {
    match t.kind {
        Kind::Msg => format!("{}/{}", t.package, t.name),
        _ => t.to_string(),
    }
}

/// The `.msg` spelling of a field type, with nested types fully qualified.
pub fn field_type_text(ty: &FieldType) -> String {
    let mut s = match &ty.base {
        BaseType::Primitive(p) => p.msg_name().to_owned(),
        BaseType::String(None) => "string".to_owned(),
        BaseType::WString(None) => "wstring".to_owned(),
        BaseType::String(Some(n)) => format!("string<={n}"),
        BaseType::WString(Some(n)) => format!("wstring<={n}"),
        BaseType::Nested(t) => msg_type_ref(t),
    };
    match ty.container {
        Container::Single => {}
        Container::Array(n) => {
            let _ = write!(s, "[{n}]");
        }
        Container::BoundedSeq(n) => {
            let _ = write!(s, "[<={n}]");
        }
        Container::Seq => s.push_str("[]"),
    }
    s
}

/// A literal as `.msg` text.
pub fn literal_text(l: &Literal) -> String {
    match l {
        Literal::Bool(b) => b.to_string(),
        Literal::Int(i) => i.to_string(),
        Literal::Float(f) => format!("{f:?}"),
        Literal::Str(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' | '\\' => {
                        out.push('\\');
                        out.push(c);
                    }
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    _ => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Literal::List(items) => {
            let parts: Vec<String> = items.iter().map(literal_text).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

/// The canonical `.msg` text of one definition: constants, then fields, one per line.
pub fn msg_text(def: &MessageDef) -> String {
    let mut out = String::new();
    for c in &def.constants {
        let ty = FieldType {
            base: c.ty.clone(),
            container: Container::Single,
        };
        let _ = writeln!(
            out,
            "{} {}={}",
            field_type_text(&ty),
            c.name,
            literal_text(&c.value)
        );
    }
    for f in &def.fields {
        let _ = write!(out, "{} {}", field_type_text(&f.ty), f.name);
        if let Some(d) = &f.default {
            let _ = write!(out, " {}", literal_text(d));
        }
        out.push('\n');
    }
    out
}

/// The full `ros2msg` schema text of `name`: its own definition, then each dependency.
pub fn ros2msg(set: &TypeSet, name: &TypeName) -> Result<String, IdlError> {
    let mut out = msg_text(&set.get(name)?.def);
    for dep in set.dependencies(name)? {
        let _ = write!(out, "{SEPARATOR}\nMSG: {}\n", msg_type_ref(&dep));
        out.push_str(&msg_text(&set.get(&dep)?.def));
    }
    Ok(out)
}

/// Reads `ros2msg` schema text (as written by rosbag2, rosbags, mcap or embody) into a
/// closed type set. Section names may be `pkg/Type` or `pkg/msg/Type`.
pub fn parse_ros2msg(name: &TypeName, text: &str) -> Result<TypeSet, IdlError> {
    let origin = format!("schema of {name}");
    let mut set = TypeSet::new();
    let mut current = name.clone();
    let mut body = String::new();
    let mut expect_header = false;
    let flush = |t: &TypeName, body: &mut String, set: &mut TypeSet| -> Result<(), IdlError> {
        let def = parse_message(t.clone(), body, &origin)?;
        body.clear();
        if set.contains(t) {
            return Ok(());
        }
        set.add_message(def)
    };
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.len() >= 3 && trimmed.chars().all(|c| c == '=') {
            flush(&current, &mut body, &mut set)?;
            expect_header = true;
            continue;
        }
        if expect_header {
            if trimmed.is_empty() {
                continue;
            }
            let dep = trimmed
                .strip_prefix("MSG:")
                .map(str::trim)
                .and_then(TypeName::parse)
                .ok_or_else(|| IdlError::Schema {
                    name: name.to_string(),
                    message: format!(
                        "expected `MSG: pkg/Type` after a separator line, found `{trimmed}`"
                    ),
                })?;
            current = dep;
            expect_header = false;
            continue;
        }
        body.push_str(line);
        body.push('\n');
    }
    flush(&current, &mut body, &mut set)?;
    // `time` and `duration` are builtins in ROS 1 style text, which carries no section for them.
    for (t, text) in [
        ("Time", "int32 sec\nuint32 nanosec\n"),
        ("Duration", "int32 sec\nuint32 nanosec\n"),
    ] {
        let builtin = TypeName::new("builtin_interfaces", Kind::Msg, t);
        if !set.contains(&builtin) {
            set.add_message(parse_message(builtin, text, "builtin")?)?;
        }
    }
    set.check()?;
    Ok(set)
}
