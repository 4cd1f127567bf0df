//! Decoding bag payloads without compiled types: through the schema text stored in the bag,
//! or embody's registry when the bag has none (Humble sqlite3 bags).

use std::collections::HashMap;
use std::sync::Arc;

use embody_idl::dynamic::{self, Value};
use embody_idl::{TypeName, TypeSet, schema};

use crate::BagError;
use crate::reader::Connection;

/// A type resolved for dynamic decoding.
pub struct ResolvedType {
    /// The closed type set.
    pub set: TypeSet,
    /// The top-level type.
    pub name: TypeName,
}

/// Resolves a connection's type: the bag's own `ros2msg` text first (it is what the data was
/// written with), the compiled registry otherwise.
pub fn resolve(conn: &Connection) -> Result<ResolvedType, String> {
    let name = TypeName::parse(&conn.type_name)
        .ok_or_else(|| format!("`{}` is not a ROS type name", conn.type_name))?;
    let from_bag = (conn.schema_encoding == "ros2msg" && !conn.schema.trim().is_empty())
        .then(|| schema::parse_ros2msg(&name, &conn.schema));
    match from_bag {
        Some(Ok(set)) => Ok(ResolvedType { set, name }),
        other => {
            let bag_problem = match other {
                Some(Err(e)) => format!("its schema in the bag does not parse ({e})"),
                _ if conn.schema_encoding.is_empty() || conn.schema.trim().is_empty() => {
                    "the bag carries no definition".to_owned()
                }
                _ => format!(
                    "schema encoding `{}` is not supported",
                    conn.schema_encoding
                ),
            };
            let info = embody_msgs::find(&conn.type_name)
                .ok_or_else(|| format!("{bag_problem}, and embody does not compile this type"))?;
            let set = info.type_set().map_err(|e| e.to_string())?;
            Ok(ResolvedType { set, name })
        }
    }
}

/// Decodes messages of many connections, resolving each type once.
#[derive(Default)]
pub struct Decoder {
    types: HashMap<usize, Result<Arc<ResolvedType>, String>>,
}

impl Decoder {
    /// A decoder with no types resolved yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The resolved type of a connection.
    pub fn resolved(&mut self, conn: &Connection) -> Result<Arc<ResolvedType>, BagError> {
        self.types
            .entry(conn.id)
            .or_insert_with(|| resolve(conn).map(Arc::new))
            .clone()
            .map_err(|reason| BagError::Decode {
                topic: conn.topic.clone(),
                type_name: conn.type_name.clone(),
                reason,
            })
    }

    /// Decodes one payload of `conn`.
    pub fn decode(&mut self, conn: &Connection, data: &[u8]) -> Result<Value, BagError> {
        let t = self.resolved(conn)?;
        dynamic::decode(&t.set, &t.name, data).map_err(|e| BagError::Decode {
            topic: conn.topic.clone(),
            type_name: conn.type_name.clone(),
            reason: e.to_string(),
        })
    }
}
