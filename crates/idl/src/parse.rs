//! Parser for the ROS 2 `.msg`, `.srv` and `.action` formats.

use crate::types::{
    BaseType, Constant, Container, Field, FieldType, Interface, Kind, Literal, MessageDef,
    Primitive, TypeName, is_package_name, is_type_name,
};
use thiserror::Error;

/// A malformed interface file: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}:{line}: {message}")]
pub struct ParseError {
    /// File (or origin) being parsed.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

/// Parses an interface file. `file_name` decides the kind by its extension (`Foo.msg`,
/// `Foo.srv`, `Foo.action`); `origin` names the file in error messages.
pub fn parse_interface(
    package: &str,
    file_name: &str,
    text: &str,
    origin: &str,
) -> Result<Interface, ParseError> {
    let err = |message: String| ParseError {
        file: origin.to_owned(),
        line: 0,
        message,
    };
    let (stem, ext) = file_name.rsplit_once('.').ok_or_else(|| {
        err(format!(
            "file name `{file_name}` has no .msg/.srv/.action extension"
        ))
    })?;
    if !is_package_name(package) {
        return Err(err(format!(
            "`{package}` is not a valid package name (expected [a-z][a-z0-9_]*)"
        )));
    }
    if !is_type_name(stem) || stem.contains('_') {
        return Err(err(format!(
            "`{stem}` is not a valid interface name (expected CamelCase like `JointState`)"
        )));
    }
    let sections = split_sections(text);
    let want = match ext {
        "msg" => 1,
        "srv" => 2,
        "action" => 3,
        _ => {
            return Err(err(format!(
                "unknown interface extension `.{ext}` (expected msg, srv or action)"
            )));
        }
    };
    if sections.len() != want {
        let line = sections.get(want).map_or(text.lines().count().max(1), |s| {
            s.first_line.saturating_sub(1)
        });
        return Err(ParseError {
            file: origin.to_owned(),
            line,
            message: format!(
                "a .{ext} file needs {} `---` separator line(s), found {}",
                want - 1,
                sections.len() - 1
            ),
        });
    }
    let part = |i: usize, kind: Kind, suffix: &str| {
        let name = TypeName::new(package, kind, &format!("{stem}{suffix}"));
        parse_message_lines(name, &sections[i], origin)
    };
    Ok(match ext {
        "msg" => Interface::Message(part(0, Kind::Msg, "")?),
        "srv" => Interface::Service {
            name: TypeName::new(package, Kind::Srv, stem),
            request: part(0, Kind::Srv, "_Request")?,
            response: part(1, Kind::Srv, "_Response")?,
        },
        _ => Interface::Action {
            name: TypeName::new(package, Kind::Action, stem),
            goal: part(0, Kind::Action, "_Goal")?,
            result: part(1, Kind::Action, "_Result")?,
            feedback: part(2, Kind::Action, "_Feedback")?,
        },
    })
}

/// Parses the text of one message definition named `name`.
pub fn parse_message(name: TypeName, text: &str, origin: &str) -> Result<MessageDef, ParseError> {
    let lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.to_owned()))
        .collect();
    parse_message_lines(
        name,
        &Section {
            first_line: 1,
            lines,
        },
        origin,
    )
}

struct Section {
    first_line: usize,
    lines: Vec<(usize, String)>,
}

fn split_sections(text: &str) -> Vec<Section> {
    let mut out = vec![Section {
        first_line: 1,
        lines: Vec::new(),
    }];
    for (i, line) in text.lines().enumerate() {
        if strip_comment(line).trim() == "---" {
            out.push(Section {
                first_line: i + 2,
                lines: Vec::new(),
            });
        } else if let Some(cur) = out.last_mut() {
            cur.lines.push((i + 1, line.to_owned()));
        }
    }
    out
}

/// Removes a `#` comment that is not inside a quoted string.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return &line[..i],
            None => {}
        }
    }
    line
}

fn parse_message_lines(
    name: TypeName,
    section: &Section,
    origin: &str,
) -> Result<MessageDef, ParseError> {
    let mut def = MessageDef {
        name,
        fields: Vec::new(),
        constants: Vec::new(),
        origin: origin.to_owned(),
    };
    for (line_no, raw) in &section.lines {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let fail = |message: String| ParseError {
            file: origin.to_owned(),
            line: *line_no,
            message,
        };
        parse_line(&mut def, line, *line_no).map_err(fail)?;
    }
    Ok(def)
}

fn parse_line(def: &mut MessageDef, line: &str, line_no: usize) -> Result<(), String> {
    let (type_str, rest) = match line.split_once(char::is_whitespace) {
        Some((t, r)) => (t, r.trim_start()),
        None => return Err(format!("expected `<type> <name>` but found only `{line}`")),
    };
    let name_end = rest
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(rest.len());
    let (name, after) = rest.split_at(name_end);
    let after = after.trim_start();
    let ty = parse_field_type(type_str, &def.name.package)?;
    if let Some(value) = after.strip_prefix('=') {
        let base = match (&ty.base, ty.container) {
            (BaseType::Nested(_), _) => {
                return Err(format!(
                    "constant `{name}` must have a primitive or string type, not `{type_str}`"
                ));
            }
            (_, Container::Single) => ty.base.clone(),
            _ => {
                return Err(format!(
                    "constant `{name}` cannot be an array (`{type_str}`)"
                ));
            }
        };
        if !is_constant_name(name) {
            return Err(format!(
                "invalid constant name `{name}` (expected UPPER_CASE like `STATUS_OK`)"
            ));
        }
        if def.constants.iter().any(|c| c.name == name) {
            return Err(format!("constant `{name}` is declared twice"));
        }
        let value =
            parse_scalar(&base, value.trim()).map_err(|e| format!("constant `{name}`: {e}"))?;
        def.constants.push(Constant {
            name: name.to_owned(),
            ty: base,
            value,
        });
        return Ok(());
    }
    if !is_field_name(name) {
        return Err(format!(
            "invalid field name `{name}` (expected lower_snake_case starting with a letter, without `__` or a trailing `_`)"
        ));
    }
    if def.fields.iter().any(|f| f.name == name) {
        return Err(format!("field `{name}` is declared twice"));
    }
    let default = if after.is_empty() {
        None
    } else {
        if matches!(ty.base, BaseType::Nested(_)) {
            return Err(format!(
                "field `{name}` of nested type `{type_str}` cannot have a default value"
            ));
        }
        Some(parse_default(&ty, after).map_err(|e| format!("default value of `{name}`: {e}"))?)
    };
    def.fields.push(Field {
        name: name.to_owned(),
        ty,
        default,
        line: line_no,
    });
    Ok(())
}

fn is_field_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some('a'..='z'))
        && s.chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        && !s.contains("__")
        && !s.ends_with('_')
}

fn is_constant_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some('A'..='Z'))
        && s.chars()
            .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_')
        && !s.contains("__")
        && !s.ends_with('_')
}

fn parse_bound(s: &str, what: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "invalid {what} `{s}` (expected a positive integer)"
        )),
    }
}

/// Parses a field type such as `float64[36]`, `string<=8[<=4]` or `geometry_msgs/Point[]`.
pub fn parse_field_type(s: &str, package: &str) -> Result<FieldType, String> {
    let (base_str, container) = match s.strip_suffix(']') {
        Some(head) => {
            let open = head
                .rfind('[')
                .ok_or_else(|| format!("unbalanced `]` in type `{s}`"))?;
            let inner = &head[open + 1..];
            let container = if inner.is_empty() {
                Container::Seq
            } else if let Some(b) = inner.strip_prefix("<=") {
                Container::BoundedSeq(parse_bound(b, "sequence bound")?)
            } else {
                Container::Array(parse_bound(inner, "array size")?)
            };
            (&head[..open], container)
        }
        None => (s, Container::Single),
    };
    if base_str.contains('[') || base_str.contains(']') {
        return Err(format!(
            "invalid type `{s}` (nested arrays are not allowed)"
        ));
    }
    Ok(FieldType {
        base: parse_base_type(base_str, package)?,
        container,
    })
}

fn parse_base_type(s: &str, package: &str) -> Result<BaseType, String> {
    if let Some(p) = Primitive::from_msg_name(s) {
        return Ok(BaseType::Primitive(p));
    }
    match s {
        "string" => return Ok(BaseType::String(None)),
        "wstring" => return Ok(BaseType::WString(None)),
        "Header" => {
            return Ok(BaseType::Nested(TypeName::new(
                "std_msgs",
                Kind::Msg,
                "Header",
            )));
        }
        // ROS 1 spellings still found in schema text written by some tools.
        "time" => {
            return Ok(BaseType::Nested(TypeName::new(
                "builtin_interfaces",
                Kind::Msg,
                "Time",
            )));
        }
        "duration" => {
            return Ok(BaseType::Nested(TypeName::new(
                "builtin_interfaces",
                Kind::Msg,
                "Duration",
            )));
        }
        _ => {}
    }
    if let Some(b) = s.strip_prefix("string<=") {
        return Ok(BaseType::String(Some(parse_bound(b, "string bound")?)));
    }
    if let Some(b) = s.strip_prefix("wstring<=") {
        return Ok(BaseType::WString(Some(parse_bound(b, "string bound")?)));
    }
    let name = if s.contains('/') {
        TypeName::parse(s)
    } else if is_type_name(s) {
        Some(TypeName::new(package, Kind::Msg, s))
    } else {
        None
    };
    name.map(BaseType::Nested).ok_or_else(|| {
        format!("unknown type `{s}` (expected a primitive, string, `pkg/Type` or a type of this package)")
    })
}

fn parse_default(ty: &FieldType, text: &str) -> Result<Literal, String> {
    match ty.container {
        Container::Single => parse_scalar(&ty.base, text),
        Container::Array(_) | Container::BoundedSeq(_) | Container::Seq => {
            let inner = text
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .ok_or_else(|| format!("expected a list like `[1, 2]`, found `{text}`"))?;
            let items = split_list(inner)?;
            let items: Vec<Literal> = items
                .iter()
                .map(|i| parse_scalar(&ty.base, i))
                .collect::<Result<_, _>>()?;
            match ty.container {
                Container::Array(n) if items.len() != n => Err(format!(
                    "array of size {n} needs {n} values, found {}",
                    items.len()
                )),
                Container::BoundedSeq(n) if items.len() > n => Err(format!(
                    "sequence bounded to {n} values has {}",
                    items.len()
                )),
                _ => Ok(Literal::List(items)),
            }
        }
    }
}

fn split_list(inner: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in inner.chars() {
        match quote {
            Some(q) => {
                cur.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == ',' => items.push(std::mem::take(&mut cur)),
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                cur.push(c);
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated string in list".to_owned());
    }
    if !cur.trim().is_empty() || !items.is_empty() {
        items.push(cur);
    }
    Ok(items.into_iter().map(|s| s.trim().to_owned()).collect())
}

fn parse_scalar(base: &BaseType, text: &str) -> Result<Literal, String> {
    match base {
        BaseType::Primitive(Primitive::Bool) => match text.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Literal::Bool(true)),
            "false" | "0" => Ok(Literal::Bool(false)),
            _ => Err(format!("expected true or false, found `{text}`")),
        },
        BaseType::Primitive(p) if p.is_float() => text
            .parse::<f64>()
            .map(Literal::Float)
            .map_err(|_| format!("expected a number for {}, found `{text}`", p.msg_name())),
        BaseType::Primitive(p) => {
            let v: i128 = text
                .parse()
                .map_err(|_| format!("expected an integer for {}, found `{text}`", p.msg_name()))?;
            let (lo, hi) = p.int_range().unwrap_or((0, 0));
            if v < lo || v > hi {
                return Err(format!(
                    "{v} is out of range for {} ({lo}..={hi})",
                    p.msg_name()
                ));
            }
            Ok(Literal::Int(v))
        }
        BaseType::String(bound) | BaseType::WString(bound) => {
            let s = unquote(text)?;
            if let Some(b) = bound
                && s.chars().count() > *b
            {
                return Err(format!(
                    "string of {} characters exceeds its bound {b}",
                    s.chars().count()
                ));
            }
            Ok(Literal::Str(s))
        }
        BaseType::Nested(t) => Err(format!("nested type {t} cannot have a literal value")),
    }
}

fn unquote(text: &str) -> Result<String, String> {
    let q = match text.chars().next() {
        Some(c @ ('"' | '\'')) => c,
        _ => return Ok(text.to_owned()),
    };
    let body = text[1..]
        .strip_suffix(q)
        .ok_or_else(|| format!("unterminated string `{text}`"))?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => return Err(format!("dangling `\\` in `{text}`")),
            }
        } else if c == q {
            return Err(format!("unescaped quote inside `{text}`"));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> Result<MessageDef, ParseError> {
        match parse_interface("pkg", "Thing.msg", text, "pkg/msg/Thing.msg")? {
            Interface::Message(m) => Ok(m),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    fn error(text: &str) -> String {
        msg(text).unwrap_err().to_string()
    }

    #[test]
    fn full_grammar() {
        let m = msg(concat!(
            "# a comment\n",
            "Header header\n",
            "int8 A=-1 # inline\n",
            "string S = hello # not part of the value\n",
            "string Q=\"quoted # kept\"\n",
            "float64 x 1.5\n",
            "string<=8 name \"abc\"\n",
            "uint8[4] fixed [1, 2, 3, 4]\n",
            "int32[<=3] bounded\n",
            "geometry_msgs/Point[] points\n",
            "Other same_pkg\n",
            "string<=5[<=2] names\n",
            "bool flag true\n",
        ))
        .unwrap();
        assert_eq!(m.constants.len(), 3);
        assert_eq!(m.constants[0].value, Literal::Int(-1));
        assert_eq!(m.constants[1].value, Literal::Str("hello".into()));
        assert_eq!(m.constants[2].value, Literal::Str("quoted # kept".into()));
        let names: Vec<_> = m.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "header", "x", "name", "fixed", "bounded", "points", "same_pkg", "names", "flag"
            ]
        );
        assert_eq!(
            m.fields[0].ty.nested().unwrap().to_string(),
            "std_msgs/msg/Header"
        );
        assert_eq!(m.fields[1].default, Some(Literal::Float(1.5)));
        assert_eq!(m.fields[3].ty.container, Container::Array(4));
        assert_eq!(m.fields[3].ty.type_id(), 3 + 48);
        assert_eq!(m.fields[4].ty.container, Container::BoundedSeq(3));
        assert_eq!(m.fields[5].ty.type_id(), 1 + 144);
        assert_eq!(
            m.fields[6].ty.nested().unwrap().to_string(),
            "pkg/msg/Other"
        );
        assert_eq!(m.fields[7].ty.type_id(), 21 + 96);
        assert_eq!(m.fields[7].ty.string_capacity(), 5);
        assert_eq!(m.fields[7].ty.capacity(), 2);
    }

    #[test]
    fn services_and_actions_split_on_separators() {
        let s = parse_interface("pkg", "Add.srv", "int64 a\n---\nint64 sum\n", "Add.srv").unwrap();
        let Interface::Service {
            request, response, ..
        } = s
        else {
            panic!("not a service")
        };
        assert_eq!(request.name.to_string(), "pkg/srv/Add_Request");
        assert_eq!(response.fields[0].name, "sum");
        let a = parse_interface(
            "pkg",
            "Go.action",
            "int32 g\n---\n---\nfloat32 f\n",
            "Go.action",
        )
        .unwrap();
        let Interface::Action {
            goal,
            result,
            feedback,
            ..
        } = a
        else {
            panic!("not an action")
        };
        assert_eq!(goal.name.to_string(), "pkg/action/Go_Goal");
        assert!(result.fields.is_empty());
        assert_eq!(feedback.fields[0].ty.type_id(), 10);
    }

    #[test]
    fn errors_name_file_line_and_expectation() {
        assert_eq!(
            error("int32 a\nfloat65 b\n"),
            "pkg/msg/Thing.msg:2: unknown type `float65` (expected a primitive, string, `pkg/Type` or a type of this package)"
        );
        assert_eq!(
            error("int32\n"),
            "pkg/msg/Thing.msg:1: expected `<type> <name>` but found only `int32`"
        );
        assert_eq!(
            error("int32 Bad\n"),
            "pkg/msg/Thing.msg:1: invalid field name `Bad` (expected lower_snake_case starting with a letter, without `__` or a trailing `_`)"
        );
        assert_eq!(
            error("uint8 X=300\n"),
            "pkg/msg/Thing.msg:1: constant `X`: 300 is out of range for uint8 (0..=255)"
        );
        assert_eq!(
            error("int32 a\nint32 a\n"),
            "pkg/msg/Thing.msg:2: field `a` is declared twice"
        );
        assert_eq!(
            error("float64[3] v [1, 2]\n"),
            "pkg/msg/Thing.msg:1: default value of `v`: array of size 3 needs 3 values, found 2"
        );
        assert_eq!(
            error("int32[0] v\n"),
            "pkg/msg/Thing.msg:1: invalid array size `0` (expected a positive integer)"
        );
        assert_eq!(
            error("string<=3 s \"toolong\"\n"),
            "pkg/msg/Thing.msg:1: default value of `s`: string of 7 characters exceeds its bound 3"
        );
        assert_eq!(
            error("int32[] X=1\n"),
            "pkg/msg/Thing.msg:1: constant `X` cannot be an array (`int32[]`)"
        );
        let e = parse_interface("pkg", "Add.srv", "int64 a\n", "Add.srv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Add.srv:1: a .srv file needs 1 `---` separator line(s), found 0"
        );
        let e = parse_interface(
            "pkg",
            "Add.srv",
            "int64 a\n---\nint64 b\n---\nint64 c\n",
            "Add.srv",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Add.srv:4: a .srv file needs 1 `---` separator line(s), found 2"
        );
    }
}
