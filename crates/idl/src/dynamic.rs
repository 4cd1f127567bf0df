//! CDR for types known only at run time: decode any type of a [`TypeSet`] into a generic
//! [`Value`], print it as YAML or JSON, build one from JSON, and encode it back.
//! `topic echo`, `topic pub` and the bag tools stand on this.

use std::fmt::Write as _;

use embody_cdr::{CdrReader, CdrWriter, DecodeError, EncodeError};
use serde_json::Value as Json;
use thiserror::Error;

use crate::set::{IdlError, TypeSet};
use crate::types::{BaseType, Container, FieldType, Literal, Primitive, TypeName};

/// A decoded value of any interface type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `bool`
    Bool(bool),
    /// Signed integers.
    Int(i64),
    /// Unsigned integers, including single `byte`/`char`/`uint8`.
    UInt(u64),
    /// `float32` (kept apart so printing shows the shortest float32 form).
    F32(f32),
    /// `float64`
    F64(f64),
    /// `string` and `wstring`.
    Str(String),
    /// Arrays and sequences of `byte`/`char`/`uint8`, kept as bytes.
    Bytes(Vec<u8>),
    /// Other arrays and sequences.
    Array(Vec<Value>),
    /// A message: fields in declaration order.
    Struct(Vec<(String, Value)>),
}

/// Why a dynamic conversion failed.
#[derive(Debug, Error)]
pub enum DynError {
    /// The type is not in the set.
    #[error(transparent)]
    Type(#[from] IdlError),
    /// The bytes are not a valid CDR encoding of the type.
    #[error("decoding {type_name}: {source}")]
    Decode {
        /// The type being decoded.
        type_name: String,
        /// What the reader found.
        source: DecodeError,
    },
    /// A bound or length check failed while encoding.
    #[error("encoding `{path}`: {source}")]
    Encode {
        /// Field path.
        path: String,
        /// The writer's error.
        source: EncodeError,
    },
    /// A value has the wrong shape for its field.
    #[error("`{path}`: expected {expected}")]
    Mismatch {
        /// Field path.
        path: String,
        /// What the field's type needs.
        expected: String,
    },
    /// An input object names a field the type does not have.
    #[error("`{path}`: no field named `{field}` (fields: {known})")]
    UnknownField {
        /// Path of the object.
        path: String,
        /// The unknown key.
        field: String,
        /// The fields the type has.
        known: String,
    },
}

/// Decodes a CDR payload (header included) of type `name`.
pub fn decode(set: &TypeSet, name: &TypeName, bytes: &[u8]) -> Result<Value, DynError> {
    let wrap = |source| DynError::Decode {
        type_name: name.to_string(),
        source,
    };
    let mut r = CdrReader::new(bytes).map_err(wrap)?;
    decode_struct(set, name, &mut r).map_err(|e| match e {
        Inner::Decode(d) => wrap(d),
        Inner::Type(t) => DynError::Type(t),
    })
}

enum Inner {
    Decode(DecodeError),
    Type(IdlError),
}

impl From<DecodeError> for Inner {
    fn from(e: DecodeError) -> Self {
        Inner::Decode(e)
    }
}

fn decode_struct(set: &TypeSet, name: &TypeName, r: &mut CdrReader<'_>) -> Result<Value, Inner> {
    let def = &set.get(name).map_err(Inner::Type)?.def;
    if def.fields.is_empty() {
        r.read::<u8>()?;
        return Ok(Value::Struct(Vec::new()));
    }
    let mut fields = Vec::with_capacity(def.fields.len());
    for f in &def.fields {
        fields.push((f.name.clone(), decode_field(set, &f.ty, r)?));
    }
    Ok(Value::Struct(fields))
}

fn decode_scalar(set: &TypeSet, base: &BaseType, r: &mut CdrReader<'_>) -> Result<Value, Inner> {
    Ok(match base {
        BaseType::Primitive(p) => match p {
            Primitive::Bool => Value::Bool(r.read_bool()?),
            Primitive::Byte | Primitive::Char | Primitive::Uint8 => {
                Value::UInt(r.read::<u8>()?.into())
            }
            Primitive::Int8 => Value::Int(r.read::<i8>()?.into()),
            Primitive::Int16 => Value::Int(r.read::<i16>()?.into()),
            Primitive::Uint16 => Value::UInt(r.read::<u16>()?.into()),
            Primitive::Int32 => Value::Int(r.read::<i32>()?.into()),
            Primitive::Uint32 => Value::UInt(r.read::<u32>()?.into()),
            Primitive::Int64 => Value::Int(r.read::<i64>()?),
            Primitive::Uint64 => Value::UInt(r.read::<u64>()?),
            Primitive::Float32 => Value::F32(r.read::<f32>()?),
            Primitive::Float64 => Value::F64(r.read::<f64>()?),
        },
        BaseType::String(_) => Value::Str(r.read_string()?),
        BaseType::WString(_) => Value::Str(r.read_wstring()?),
        BaseType::Nested(t) => decode_struct(set, t, r)?,
    })
}

fn min_size(base: &BaseType) -> usize {
    match base {
        BaseType::Primitive(p) => p.size(),
        BaseType::String(_) | BaseType::WString(_) => 4,
        BaseType::Nested(_) => 1,
    }
}

fn decode_field(set: &TypeSet, ty: &FieldType, r: &mut CdrReader<'_>) -> Result<Value, Inner> {
    let n = match ty.container {
        Container::Single => return decode_scalar(set, &ty.base, r),
        Container::Array(n) => n,
        Container::BoundedSeq(_) | Container::Seq => r.read_len(min_size(&ty.base))?,
    };
    if let BaseType::Primitive(p) = &ty.base {
        if p.is_byte_like() {
            return Ok(Value::Bytes(r.read_bytes(n)?));
        }
        if n.saturating_mul(p.size()) > r.remaining() {
            // Fixed arrays have no length prefix to check, so check the size here.
            return Err(Inner::Decode(DecodeError::LengthExceedsInput {
                offset: r.position(),
                len: n,
                remaining: r.remaining(),
            }));
        }
    }
    let mut items = Vec::with_capacity(n.min(r.remaining()));
    for _ in 0..n {
        items.push(decode_scalar(set, &ty.base, r)?);
    }
    Ok(Value::Array(items))
}

/// Encodes `value` as type `name` into a CDR payload with header.
pub fn encode(set: &TypeSet, name: &TypeName, value: &Value) -> Result<Vec<u8>, DynError> {
    let mut w = CdrWriter::new();
    encode_struct(set, name, value, &mut w, &name.name)?;
    Ok(w.finish())
}

fn mismatch(path: &str, expected: impl Into<String>) -> DynError {
    DynError::Mismatch {
        path: path.to_owned(),
        expected: expected.into(),
    }
}

fn encode_struct(
    set: &TypeSet,
    name: &TypeName,
    value: &Value,
    w: &mut CdrWriter,
    path: &str,
) -> Result<(), DynError> {
    let def = &set.get(name)?.def;
    let Value::Struct(fields) = value else {
        return Err(mismatch(path, format!("a {name} message")));
    };
    if def.fields.is_empty() {
        w.write::<u8>(0);
        return Ok(());
    }
    if fields.len() != def.fields.len() {
        return Err(mismatch(
            path,
            format!(
                "{} fields of {name}, found {}",
                def.fields.len(),
                fields.len()
            ),
        ));
    }
    for (f, (key, v)) in def.fields.iter().zip(fields) {
        let p = format!("{path}.{}", f.name);
        if *key != f.name {
            return Err(mismatch(&p, format!("field `{}`, found `{key}`", f.name)));
        }
        encode_field(set, &f.ty, v, w, &p)?;
    }
    Ok(())
}

fn encode_err(path: &str) -> impl Fn(EncodeError) -> DynError + '_ {
    move |source| DynError::Encode {
        path: path.to_owned(),
        source,
    }
}

fn int_in_range(p: Primitive, v: &Value, path: &str) -> Result<i128, DynError> {
    let x: i128 = match v {
        Value::Int(i) => (*i).into(),
        Value::UInt(u) => (*u).into(),
        _ => return Err(mismatch(path, format!("an integer for {}", p.msg_name()))),
    };
    let (lo, hi) = p.int_range().unwrap_or((0, 0));
    if x < lo || x > hi {
        return Err(mismatch(
            path,
            format!("a {} in {lo}..={hi}, found {x}", p.msg_name()),
        ));
    }
    Ok(x)
}

fn as_f64(v: &Value, path: &str) -> Result<f64, DynError> {
    match v {
        Value::F64(f) => Ok(*f),
        Value::F32(f) => Ok(f64::from(*f)),
        Value::Int(i) => Ok(*i as f64),
        Value::UInt(u) => Ok(*u as f64),
        _ => Err(mismatch(path, "a number")),
    }
}

fn encode_scalar(
    set: &TypeSet,
    base: &BaseType,
    v: &Value,
    w: &mut CdrWriter,
    path: &str,
) -> Result<(), DynError> {
    match base {
        BaseType::Primitive(Primitive::Bool) => match v {
            Value::Bool(b) => w.write_bool(*b),
            _ => return Err(mismatch(path, "a bool")),
        },
        BaseType::Primitive(Primitive::Float32) => w.write(as_f64(v, path)? as f32),
        BaseType::Primitive(Primitive::Float64) => w.write(as_f64(v, path)?),
        // The range check above makes each narrowing cast exact.
        BaseType::Primitive(p) => {
            let x = int_in_range(*p, v, path)?;
            match p {
                Primitive::Int8 => w.write(x as i8),
                Primitive::Int16 => w.write(x as i16),
                Primitive::Uint16 => w.write(x as u16),
                Primitive::Int32 => w.write(x as i32),
                Primitive::Uint32 => w.write(x as u32),
                Primitive::Int64 => w.write(x as i64),
                Primitive::Uint64 => w.write(x as u64),
                _ => w.write(x as u8),
            }
        }
        BaseType::String(bound) | BaseType::WString(bound) => {
            let Value::Str(s) = v else {
                return Err(mismatch(path, "a string"));
            };
            let wide = matches!(base, BaseType::WString(_));
            if let Some(b) = bound {
                let len = if wide {
                    s.encode_utf16().count()
                } else {
                    s.len()
                };
                embody_cdr::check_bound("string", len, *b).map_err(encode_err(path))?;
            }
            if wide {
                w.write_wstring(s)
            } else {
                w.write_string(s)
            }
            .map_err(encode_err(path))?;
        }
        BaseType::Nested(t) => encode_struct(set, t, v, w, path)?,
    }
    Ok(())
}

fn encode_field(
    set: &TypeSet,
    ty: &FieldType,
    v: &Value,
    w: &mut CdrWriter,
    path: &str,
) -> Result<(), DynError> {
    if ty.container == Container::Single {
        return encode_scalar(set, &ty.base, v, w, path);
    }
    let len = match v {
        Value::Bytes(b) => b.len(),
        Value::Array(a) => a.len(),
        _ => return Err(mismatch(path, "a list")),
    };
    match ty.container {
        Container::Array(n) if len != n => {
            return Err(mismatch(path, format!("exactly {n} elements, found {len}")));
        }
        Container::BoundedSeq(b) => {
            embody_cdr::check_bound("sequence", len, b).map_err(encode_err(path))?;
            w.write_len(len).map_err(encode_err(path))?;
        }
        Container::Seq => w.write_len(len).map_err(encode_err(path))?,
        _ => {}
    }
    match v {
        Value::Bytes(b) => match &ty.base {
            BaseType::Primitive(p) if p.is_byte_like() => w.write_bytes(b),
            _ => {
                for (i, x) in b.iter().enumerate() {
                    encode_scalar(
                        set,
                        &ty.base,
                        &Value::UInt((*x).into()),
                        w,
                        &format!("{path}[{i}]"),
                    )?;
                }
            }
        },
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                encode_scalar(set, &ty.base, x, w, &format!("{path}[{i}]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The value a freshly constructed message of type `name` has (defaults honoured).
pub fn default_value(set: &TypeSet, name: &TypeName) -> Result<Value, DynError> {
    let def = &set.get(name)?.def;
    let mut fields = Vec::with_capacity(def.fields.len());
    for f in &def.fields {
        fields.push((
            f.name.clone(),
            default_field(set, &f.ty, f.default.as_ref())?,
        ));
    }
    Ok(Value::Struct(fields))
}

fn default_scalar(
    set: &TypeSet,
    base: &BaseType,
    lit: Option<&Literal>,
) -> Result<Value, DynError> {
    Ok(match (base, lit) {
        (BaseType::Primitive(Primitive::Bool), l) => {
            Value::Bool(matches!(l, Some(Literal::Bool(true))))
        }
        (BaseType::Primitive(Primitive::Float32), l) => Value::F32(literal_f64(l) as f32),
        (BaseType::Primitive(Primitive::Float64), l) => Value::F64(literal_f64(l)),
        (BaseType::Primitive(p), l) => {
            let i = match l {
                Some(Literal::Int(i)) => *i,
                _ => 0,
            };
            if p.int_range().is_some_and(|(lo, _)| lo < 0) {
                Value::Int(i64::try_from(i).unwrap_or_default())
            } else {
                Value::UInt(u64::try_from(i).unwrap_or_default())
            }
        }
        (BaseType::String(_) | BaseType::WString(_), Some(Literal::Str(s))) => {
            Value::Str(s.clone())
        }
        (BaseType::String(_) | BaseType::WString(_), _) => Value::Str(String::new()),
        (BaseType::Nested(t), _) => default_value(set, t)?,
    })
}

fn literal_f64(l: Option<&Literal>) -> f64 {
    match l {
        Some(Literal::Float(f)) => *f,
        Some(Literal::Int(i)) => *i as f64,
        _ => 0.0,
    }
}

fn default_field(set: &TypeSet, ty: &FieldType, lit: Option<&Literal>) -> Result<Value, DynError> {
    let items = match lit {
        Some(Literal::List(items)) => items.as_slice(),
        _ => &[],
    };
    let byte_like = matches!(&ty.base, BaseType::Primitive(p) if p.is_byte_like());
    match ty.container {
        Container::Single => default_scalar(set, &ty.base, lit),
        Container::Array(n) => {
            let vals = (0..n)
                .map(|i| default_scalar(set, &ty.base, items.get(i)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(pack(vals, byte_like))
        }
        Container::BoundedSeq(_) | Container::Seq => {
            let vals = items
                .iter()
                .map(|l| default_scalar(set, &ty.base, Some(l)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(pack(vals, byte_like))
        }
    }
}

fn pack(vals: Vec<Value>, byte_like: bool) -> Value {
    if byte_like {
        Value::Bytes(
            vals.iter()
                .map(|v| if let Value::UInt(u) = v { *u as u8 } else { 0 })
                .collect(),
        )
    } else {
        Value::Array(vals)
    }
}

/// Builds a value of type `name` from JSON (or YAML parsed into JSON). Missing fields take
/// their defaults; unknown fields and wrong shapes are errors naming the field path.
pub fn from_json(set: &TypeSet, name: &TypeName, json: &Json) -> Result<Value, DynError> {
    struct_from_json(set, name, json, &name.name)
}

fn struct_from_json(
    set: &TypeSet,
    name: &TypeName,
    json: &Json,
    path: &str,
) -> Result<Value, DynError> {
    let def = &set.get(name)?.def;
    let empty = serde_json::Map::new();
    let obj = match json {
        Json::Object(o) => o,
        Json::Null => &empty,
        _ => return Err(mismatch(path, format!("a mapping for {name}"))),
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !def.fields.iter().any(|f| &f.name == *k))
    {
        let known: Vec<&str> = def.fields.iter().map(|f| f.name.as_str()).collect();
        return Err(DynError::UnknownField {
            path: path.to_owned(),
            field: k.clone(),
            known: known.join(", "),
        });
    }
    let mut fields = Vec::with_capacity(def.fields.len());
    for f in &def.fields {
        let p = format!("{path}.{}", f.name);
        let v = match obj.get(&f.name) {
            Some(j) => field_from_json(set, &f.ty, j, &p)?,
            None => default_field(set, &f.ty, f.default.as_ref())?,
        };
        fields.push((f.name.clone(), v));
    }
    Ok(Value::Struct(fields))
}

fn scalar_from_json(
    set: &TypeSet,
    base: &BaseType,
    j: &Json,
    path: &str,
) -> Result<Value, DynError> {
    Ok(match base {
        BaseType::Primitive(Primitive::Bool) => {
            Value::Bool(j.as_bool().ok_or_else(|| mismatch(path, "true or false"))?)
        }
        BaseType::Primitive(Primitive::Float32) => Value::F32(json_f64(j, path)? as f32),
        BaseType::Primitive(Primitive::Float64) => Value::F64(json_f64(j, path)?),
        BaseType::Primitive(p) => {
            let v = if let Some(i) = j.as_i64() {
                Value::Int(i)
            } else if let Some(u) = j.as_u64() {
                Value::UInt(u)
            } else {
                return Err(mismatch(path, format!("an integer for {}", p.msg_name())));
            };
            let x = int_in_range(*p, &v, path)?;
            if p.int_range().is_some_and(|(lo, _)| lo < 0) {
                Value::Int(x as i64)
            } else {
                Value::UInt(x as u64)
            }
        }
        BaseType::String(_) | BaseType::WString(_) => match j {
            Json::String(s) => Value::Str(s.clone()),
            Json::Number(n) => Value::Str(n.to_string()),
            Json::Bool(b) => Value::Str(b.to_string()),
            _ => return Err(mismatch(path, "a string")),
        },
        BaseType::Nested(t) => struct_from_json(set, t, j, path)?,
    })
}

fn json_f64(j: &Json, path: &str) -> Result<f64, DynError> {
    match j {
        Json::Number(n) => n.as_f64().ok_or_else(|| mismatch(path, "a number")),
        Json::String(s) => match s.to_ascii_lowercase().as_str() {
            "nan" | ".nan" => Ok(f64::NAN),
            "inf" | ".inf" | "infinity" => Ok(f64::INFINITY),
            "-inf" | "-.inf" | "-infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(mismatch(path, "a number")),
        },
        _ => Err(mismatch(path, "a number")),
    }
}

fn field_from_json(set: &TypeSet, ty: &FieldType, j: &Json, path: &str) -> Result<Value, DynError> {
    if ty.container == Container::Single {
        return scalar_from_json(set, &ty.base, j, path);
    }
    let Json::Array(items) = j else {
        return Err(mismatch(path, "a list"));
    };
    match ty.container {
        Container::Array(n) if items.len() != n => {
            return Err(mismatch(
                path,
                format!("exactly {n} elements, found {}", items.len()),
            ));
        }
        Container::BoundedSeq(b) if items.len() > b => {
            return Err(mismatch(
                path,
                format!("at most {b} elements, found {}", items.len()),
            ));
        }
        _ => {}
    }
    let vals = items
        .iter()
        .enumerate()
        .map(|(i, x)| scalar_from_json(set, &ty.base, x, &format!("{path}[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(pack(
        vals,
        matches!(&ty.base, BaseType::Primitive(p) if p.is_byte_like()),
    ))
}

impl Value {
    /// JSON form: messages as objects, byte arrays as number lists, non-finite floats as
    /// the strings `"nan"`, `"inf"`, `"-inf"`.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::UInt(u) => Json::from(*u),
            // Via the shortest decimal form so 0.1f32 prints as 0.1, not 0.10000000149.
            Value::F32(f) => float_json(f.to_string().parse().unwrap_or(f64::from(*f))),
            Value::F64(f) => float_json(*f),
            Value::Str(s) => Json::String(s.clone()),
            Value::Bytes(b) => Json::Array(b.iter().map(|x| Json::from(*x)).collect()),
            Value::Array(a) => Json::Array(a.iter().map(Value::to_json).collect()),
            Value::Struct(fields) => Json::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// YAML in the layout `ros2 topic echo` prints.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        match self {
            Value::Struct(fields) => write_fields(&mut out, fields, 0),
            other => {
                let _ = writeln!(out, "{}", scalar_yaml(other));
            }
        }
        out
    }
}

fn float_json(f: f64) -> Json {
    match serde_json::Number::from_f64(f) {
        Some(n) => Json::Number(n),
        None if f.is_nan() => Json::String("nan".into()),
        None if f > 0.0 => Json::String("inf".into()),
        None => Json::String("-inf".into()),
    }
}

fn yaml_float(f: f64, text: String) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        }
    } else if text.contains(['.', 'e', 'E']) {
        text
    } else {
        format!("{text}.0")
    }
}

fn scalar_yaml(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::F32(f) => yaml_float(f64::from(*f), f.to_string()),
        Value::F64(f) => yaml_float(*f, f.to_string()),
        Value::Str(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Bytes(b) if b.is_empty() => "[]".into(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Struct(f) if f.is_empty() => "{}".into(),
        _ => String::new(),
    }
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Bytes(b) => !b.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Struct(f) => !f.is_empty(),
        _ => false,
    }
}

fn write_fields(out: &mut String, fields: &[(String, Value)], indent: usize) {
    let pad = " ".repeat(indent);
    for (k, v) in fields {
        if is_block(v) {
            let _ = writeln!(out, "{pad}{k}:");
            write_block(out, v, indent);
        } else {
            let _ = writeln!(out, "{pad}{k}: {}", scalar_yaml(v));
        }
    }
}

/// Writes the children of a block value whose key was written at `indent`.
fn write_block(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Struct(fields) => write_fields(out, fields, indent + 2),
        Value::Bytes(b) => {
            for x in b {
                let _ = writeln!(out, "{pad}- {x}");
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Struct(fields) if !fields.is_empty() => {
                        let mut sub = String::new();
                        write_fields(&mut sub, fields, indent + 2);
                        // The first line of the item carries the dash.
                        let _ = write!(out, "{pad}- {}", &sub[indent + 2..]);
                    }
                    other if is_block(other) => {
                        let _ = writeln!(out, "{pad}-");
                        write_block(out, other, indent + 2);
                    }
                    other => {
                        let _ = writeln!(out, "{pad}- {}", scalar_yaml(other));
                    }
                }
            }
        }
        _ => {}
    }
}
