//! rosbag2's sqlite3 storage (`.db3`): schema versions 1 to 4 (Foxy to Jazzy), read only.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use embody::qos::QosProfile;
use rusqlite::{Connection, OpenFlags, params_from_iter, types::Value};

use crate::BagError;
use crate::metadata::parse_qos_list;

/// A topic row.
pub(crate) struct SqliteTopic {
    pub id: i64,
    pub name: String,
    pub type_name: String,
    pub serialization_format: String,
    pub qos: Vec<QosProfile>,
    pub type_hash: String,
}

/// An open `.db3` file.
pub(crate) struct SqliteFile {
    path: PathBuf,
    db: Mutex<Connection>,
    pub topics: Vec<SqliteTopic>,
    /// `type → (encoding, definition)` from `message_definitions` (schema 4 only).
    pub definitions: HashMap<String, (String, String)>,
    /// Messages per topic id.
    pub counts: BTreeMap<i64, u64>,
    /// Earliest and latest timestamp.
    pub start: u64,
    pub end: u64,
}

/// Rows fetched per query while iterating, so memory stays flat on large bags.
const PAGE: i64 = 2048;

impl SqliteFile {
    pub fn open(path: &Path) -> Result<Self, BagError> {
        let err = |e: rusqlite::Error| BagError::Sqlite {
            file: path.display().to_string(),
            reason: e.to_string(),
        };
        let db =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(err)?;
        let has_table = |name: &str| -> Result<bool, BagError> {
            db.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1",
                [name],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(err)
        };
        if !has_table("topics")? || !has_table("messages")? {
            return Err(BagError::Sqlite {
                file: path.display().to_string(),
                reason: "not a rosbag2 database (no topics or messages table)".into(),
            });
        }
        let columns: Vec<String> = {
            let mut st = db.prepare("PRAGMA table_info(topics)").map_err(err)?;
            st.query_map([], |r| r.get::<_, String>(1))
                .map_err(err)?
                .collect::<Result<_, _>>()
                .map_err(err)?
        };
        let col = |c: &str| {
            if columns.iter().any(|x| x == c) {
                c.to_owned()
            } else {
                "''".to_owned()
            }
        };
        let sql = format!(
            "SELECT id, name, type, serialization_format, {}, {} FROM topics ORDER BY id",
            col("offered_qos_profiles"),
            col("type_description_hash")
        );
        let mut topics = Vec::new();
        {
            let mut st = db.prepare(&sql).map_err(err)?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })
                .map_err(err)?;
            for row in rows {
                let (id, name, type_name, serialization_format, qos, type_hash) =
                    row.map_err(err)?;
                let qos = parse_qos_list(&qos).map_err(|e| BagError::Sqlite {
                    file: path.display().to_string(),
                    reason: format!("topic {name}: offered_qos_profiles: {e}"),
                })?;
                topics.push(SqliteTopic {
                    id,
                    name,
                    type_name,
                    serialization_format,
                    qos,
                    type_hash,
                });
            }
        }
        let mut definitions = HashMap::new();
        if has_table("message_definitions")? {
            let mut st = db
                .prepare("SELECT topic_type, encoding, encoded_message_definition FROM message_definitions")
                .map_err(err)?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(err)?;
            for row in rows {
                let (t, enc, text) = row.map_err(err)?;
                definitions.insert(t, (enc, text));
            }
        }
        let mut counts = BTreeMap::new();
        let (mut start, mut end) = (u64::MAX, 0u64);
        {
            let mut st = db
                .prepare("SELECT topic_id, count(*), min(timestamp), max(timestamp) FROM messages GROUP BY topic_id")
                .map_err(err)?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })
                .map_err(err)?;
            for row in rows {
                let (topic, n, lo, hi) = row.map_err(err)?;
                counts.insert(topic, n.max(0) as u64);
                start = start.min(lo.max(0) as u64);
                end = end.max(hi.max(0) as u64);
            }
        }
        if counts.is_empty() {
            start = 0;
        }
        Ok(Self {
            path: path.to_path_buf(),
            db: Mutex::new(db),
            topics,
            definitions,
            counts,
            start,
            end,
        })
    }

    /// `(topic id, timestamp, data)` in timestamp order, optionally only some topics.
    pub fn messages(
        &self,
        topics: Option<Vec<i64>>,
    ) -> impl Iterator<Item = Result<(i64, u64, Bytes), BagError>> + '_ {
        let filter = match &topics {
            Some(t) if t.is_empty() => " AND 0".to_owned(),
            Some(t) => format!(
                " AND topic_id IN ({})",
                t.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            None => String::new(),
        };
        let sql = format!(
            "SELECT topic_id, timestamp, data, id FROM messages \
             WHERE (timestamp > ?1 OR (timestamp = ?1 AND id > ?2)){filter} \
             ORDER BY timestamp, id LIMIT {PAGE}"
        );
        let mut page: std::vec::IntoIter<(i64, u64, Bytes)> = Vec::new().into_iter();
        let mut cursor = (i64::MIN, i64::MIN);
        let mut done = false;
        std::iter::from_fn(move || {
            loop {
                if let Some(row) = page.next() {
                    return Some(Ok(row));
                }
                if done {
                    return None;
                }
                match self.fetch(&sql, cursor) {
                    Ok((rows, last)) => {
                        done = rows.len() < PAGE as usize;
                        if let Some(l) = last {
                            cursor = l;
                        }
                        page = rows.into_iter();
                    }
                    Err(e) => {
                        done = true;
                        return Some(Err(e));
                    }
                }
            }
        })
    }

    #[allow(clippy::type_complexity)]
    fn fetch(
        &self,
        sql: &str,
        cursor: (i64, i64),
    ) -> Result<(Vec<(i64, u64, Bytes)>, Option<(i64, i64)>), BagError> {
        let err = |e: rusqlite::Error| BagError::Sqlite {
            file: self.path.display().to_string(),
            reason: e.to_string(),
        };
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let mut st = db.prepare_cached(sql).map_err(err)?;
        let mut rows = st
            .query(params_from_iter([
                Value::Integer(cursor.0),
                Value::Integer(cursor.1),
            ]))
            .map_err(err)?;
        let mut out = Vec::new();
        let mut last = None;
        while let Some(r) = rows.next().map_err(err)? {
            let topic: i64 = r.get(0).map_err(err)?;
            let t: i64 = r.get(1).map_err(err)?;
            let data: Vec<u8> = r.get(2).map_err(err)?;
            let id: i64 = r.get(3).map_err(err)?;
            out.push((topic, t.max(0) as u64, Bytes::from(data)));
            last = Some((t, id));
        }
        Ok((out, last))
    }
}
