//! Type descriptions and RIHS01 hashes, computed as `rosidl_generator_type_description`
//! does (REP-2011): the JSON of the type and every type it references (sorted by name),
//! without default values, with `", "` and `": "` separators, hashed with SHA-256.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::set::{IdlError, TypeSet};
use crate::types::{Field, MessageDef, TypeName};

/// rosidl gives a message without fields this one member so every struct has a size.
pub const EMPTY_MESSAGE_FIELD: &str = "structure_needs_at_least_one_member";

fn write_individual(out: &mut String, def: &MessageDef) {
    let _ = write!(out, "{{\"type_name\": \"{}\", \"fields\": [", def.name);
    if def.fields.is_empty() {
        out.push_str(&field_json(EMPTY_MESSAGE_FIELD, 3, 0, 0, ""));
    }
    for (i, f) in def.fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&json_of_field(f));
    }
    out.push_str("]}");
}

fn json_of_field(f: &Field) -> String {
    let nested = f.ty.nested().map(TypeName::to_string).unwrap_or_default();
    field_json(
        &f.name,
        f.ty.type_id(),
        f.ty.capacity(),
        f.ty.string_capacity(),
        &nested,
    )
}

fn field_json(
    name: &str,
    type_id: u16,
    capacity: usize,
    string_capacity: usize,
    nested: &str,
) -> String {
    format!(
        "{{\"name\": \"{name}\", \"type\": {{\"type_id\": {type_id}, \"capacity\": {capacity}, \"string_capacity\": {string_capacity}, \"nested_type_name\": \"{nested}\"}}}}"
    )
}

/// The canonical type description JSON that the hash is taken over.
pub fn type_description_json(set: &TypeSet, name: &TypeName) -> Result<String, IdlError> {
    let mut out = String::from("{\"type_description\": ");
    write_individual(&mut out, &set.get(name)?.def);
    out.push_str(", \"referenced_type_descriptions\": [");
    // rosidl sorts referenced types by their name string.
    let mut deps = set.dependencies(name)?;
    deps.sort_by_cached_key(TypeName::to_string);
    for (i, dep) in deps.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_individual(&mut out, &set.get(dep)?.def);
    }
    out.push_str("]}");
    Ok(out)
}

/// `RIHS01_<64 hex digits>` for any type in the set: message, service or action.
pub fn rihs01(set: &TypeSet, name: &TypeName) -> Result<String, IdlError> {
    let json = type_description_json(set, name)?;
    let digest = Sha256::digest(json.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("RIHS01_");
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    Ok(out)
}
