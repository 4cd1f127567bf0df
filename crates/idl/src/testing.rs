//! Random values of any interface type, for property tests of codecs (here and in
//! `embody-msgs`). Deterministic for a given seed.

use crate::dynamic::{DynError, Value};
use crate::set::TypeSet;
use crate::types::{BaseType, Container, FieldType, Primitive, TypeName};

/// A small deterministic generator (SplitMix64), so tests need no extra crate.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A random value of message type `name`: every integer range, finite floats, strings with
/// non-ASCII characters, sequences of up to `max_len` elements, bounds respected.
pub fn random_value(
    set: &TypeSet,
    name: &TypeName,
    rng: &mut Rng,
    max_len: usize,
) -> Result<Value, DynError> {
    let def = &set.get(name)?.def;
    let mut fields = Vec::with_capacity(def.fields.len());
    for f in &def.fields {
        fields.push((f.name.clone(), random_field(set, &f.ty, rng, max_len)?));
    }
    Ok(Value::Struct(fields))
}

fn random_field(
    set: &TypeSet,
    ty: &FieldType,
    rng: &mut Rng,
    max_len: usize,
) -> Result<Value, DynError> {
    let n = match ty.container {
        Container::Single => return random_scalar(set, &ty.base, rng, max_len),
        Container::Array(n) => n,
        Container::BoundedSeq(b) => rng.below(b.min(max_len) as u64 + 1) as usize,
        Container::Seq => rng.below(max_len as u64 + 1) as usize,
    };
    if matches!(&ty.base, BaseType::Primitive(p) if p.is_byte_like()) {
        return Ok(Value::Bytes((0..n).map(|_| rng.next_u64() as u8).collect()));
    }
    let items = (0..n)
        .map(|_| random_scalar(set, &ty.base, rng, max_len))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(items))
}

const ALPHABET: &[char] = &[
    'a', 'Z', '0', ' ', '_', '/', 'é', 'ß', '→', '\'', '"', ':', '#',
];

fn random_scalar(
    set: &TypeSet,
    base: &BaseType,
    rng: &mut Rng,
    max_len: usize,
) -> Result<Value, DynError> {
    Ok(match base {
        BaseType::Primitive(p) => {
            let bits = rng.next_u64();
            match p {
                Primitive::Bool => Value::Bool(bits & 1 == 1),
                Primitive::Byte | Primitive::Char | Primitive::Uint8 => Value::UInt(bits & 0xff),
                Primitive::Int8 => Value::Int(i64::from(bits as i8)),
                Primitive::Int16 => Value::Int(i64::from(bits as i16)),
                Primitive::Uint16 => Value::UInt(bits & 0xffff),
                Primitive::Int32 => Value::Int(i64::from(bits as i32)),
                Primitive::Uint32 => Value::UInt(bits & 0xffff_ffff),
                Primitive::Int64 => Value::Int(bits as i64),
                Primitive::Uint64 => Value::UInt(bits),
                Primitive::Float32 => Value::F32(finite_f32(bits)),
                Primitive::Float64 => Value::F64(finite_f64(bits)),
            }
        }
        BaseType::String(bound) | BaseType::WString(bound) => {
            let limit = bound.unwrap_or(max_len * 3).min(max_len * 3);
            let wide = matches!(base, BaseType::WString(_));
            let mut s = String::new();
            let target = rng.below(limit as u64 + 1) as usize;
            while s.len() < target {
                let c = ALPHABET[rng.below(ALPHABET.len() as u64) as usize];
                let grown = if wide {
                    s.encode_utf16().count() + c.len_utf16()
                } else {
                    s.len() + c.len_utf8()
                };
                if grown > limit {
                    break;
                }
                s.push(c);
            }
            Value::Str(s)
        }
        BaseType::Nested(t) => random_value(set, t, rng, max_len)?,
    })
}

fn finite_f32(bits: u64) -> f32 {
    let f = f32::from_bits(bits as u32);
    if f.is_finite() {
        f
    } else {
        (bits % 1000) as f32 / 8.0
    }
}

fn finite_f64(bits: u64) -> f64 {
    let f = f64::from_bits(bits);
    if f.is_finite() {
        f
    } else {
        (bits % 1000) as f64 / 8.0
    }
}
