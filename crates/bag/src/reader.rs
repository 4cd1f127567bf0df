//! Opening a bag: a rosbag2 directory (with or without `metadata.yaml`), or a single `.mcap` or
//! `.db3` file; split bags are read file after file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use embody::qos::QosProfile;

use crate::BagError;
use crate::mcap::{FileState, McapFile};
use crate::metadata::{self, BagMetadata, FileInfo, TopicInfo, TopicMetadata};
use crate::sqlite::SqliteFile;

/// The storage plugin of a bag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// MCAP (the default since Iron).
    Mcap,
    /// SQLite 3 (Humble's default).
    Sqlite3,
}

impl StorageKind {
    /// rosbag2's storage identifier.
    pub fn id(self) -> &'static str {
        match self {
            Self::Mcap => "mcap",
            Self::Sqlite3 => "sqlite3",
        }
    }
}

/// A topic of a bag, merged over its files.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// Index in [`Bag::connections`].
    pub id: usize,
    /// Topic name.
    pub topic: String,
    /// `pkg/msg/Type`.
    pub type_name: String,
    /// `cdr`.
    pub serialization_format: String,
    /// QoS the recorded publishers offered.
    pub offered_qos_profiles: Vec<QosProfile>,
    /// `RIHS01_…` or empty.
    pub type_hash: String,
    /// `ros2msg`, `ros2idl`, or empty when the bag has no definition (Humble sqlite3).
    pub schema_encoding: String,
    /// The type definition stored in the bag.
    pub schema: String,
    /// Messages on this topic.
    pub message_count: u64,
}

impl Connection {
    /// The recorded type hash, or for bags without hashes (Humble) embody's hash of the type
    /// when it compiles it; empty otherwise.
    pub fn type_hash_or_known(&self) -> String {
        if self.type_hash.is_empty() {
            embody_msgs::find(&self.type_name)
                .map(|t| t.hash.to_owned())
                .unwrap_or_default()
        } else {
            self.type_hash.clone()
        }
    }
}

/// One message read from a bag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagMessage {
    /// Index in [`Bag::connections`].
    pub connection: usize,
    /// Receive time (ns since epoch); playback follows it.
    pub log_time: u64,
    /// Send time (ns since epoch; equals the log time where the bag has none).
    pub publish_time: u64,
    /// CDR bytes with encapsulation header.
    pub data: Bytes,
}

enum Storage {
    Mcap(Box<McapFile>, BTreeMap<u16, usize>),
    Sqlite(Box<SqliteFile>, BTreeMap<i64, usize>),
}

struct StorageFile {
    path: PathBuf,
    storage: Storage,
}

/// An open bag.
pub struct Bag {
    /// What was opened.
    pub path: PathBuf,
    /// The bag's `metadata.yaml`, or one rebuilt from the storage files when it is missing.
    pub metadata: BagMetadata,
    /// True when the bag had a `metadata.yaml` (false for single files and unfinished bags).
    pub has_metadata_file: bool,
    /// Storage plugin.
    pub storage: StorageKind,
    /// Topics.
    pub connections: Vec<Connection>,
    /// Problems found while opening (missing or unfinished files, damaged chunks); what could
    /// be read is still read.
    pub warnings: Vec<String>,
    files: Vec<StorageFile>,
    listed: usize,
}

fn storage_kind(path: &Path) -> Option<StorageKind> {
    match path.extension()?.to_str()? {
        "mcap" => Some(StorageKind::Mcap),
        "db3" => Some(StorageKind::Sqlite3),
        _ => None,
    }
}

/// Storage files of a directory without `metadata.yaml`, in split order (`name_0`, `name_1`,
/// … `name_10`).
fn storage_files_in(dir: &Path) -> Result<Vec<PathBuf>, BagError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| BagError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && storage_kind(p).is_some())
        .collect();
    let split_index = |p: &PathBuf| -> (String, u64) {
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        match stem
            .rsplit_once('_')
            .and_then(|(a, n)| Some((a, n.parse().ok()?)))
        {
            Some((base, n)) => (base.to_owned(), n),
            None => (stem.to_owned(), 0),
        }
    };
    files.sort_by_key(split_index);
    Ok(files)
}

impl Bag {
    /// Opens a bag directory or a single storage file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, BagError> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(BagError::NotABag(format!(
                "{}: no such file or directory",
                path.display()
            )));
        }
        let mut warnings = Vec::new();
        let (meta, paths) = if path.is_dir() {
            let meta_path = path.join("metadata.yaml");
            if meta_path.is_file() {
                let text =
                    std::fs::read_to_string(&meta_path).map_err(|e| BagError::io(&meta_path, e))?;
                let meta = BagMetadata::parse(&text, &meta_path.display().to_string())?;
                let paths = meta
                    .relative_file_paths
                    .iter()
                    .map(|p| path.join(p))
                    .collect::<Vec<_>>();
                (Some(meta), paths)
            } else {
                let files = storage_files_in(&path)?;
                if files.is_empty() {
                    return Err(BagError::NotABag(format!(
                        "{}: no metadata.yaml and no .mcap or .db3 files",
                        path.display()
                    )));
                }
                warnings.push(format!(
                    "{}: no metadata.yaml (the recorder did not finish?); reading the storage files",
                    path.display()
                ));
                (None, files)
            }
        } else {
            (None, vec![path.clone()])
        };
        let has_metadata_file = meta.is_some();

        let mut bag = Self {
            path: path.clone(),
            metadata: meta.clone().unwrap_or_else(BagMetadata::new_mcap),
            has_metadata_file,
            storage: StorageKind::Mcap,
            connections: Vec::new(),
            warnings,
            files: Vec::new(),
            listed: paths.len(),
        };
        let mut kinds = BTreeSet::new();
        for p in paths {
            let Some(kind) = storage_kind(&p).or_else(|| {
                meta.as_ref()
                    .and_then(|m| match m.storage_identifier.as_str() {
                        "sqlite3" => Some(StorageKind::Sqlite3),
                        "mcap" => Some(StorageKind::Mcap),
                        _ => None,
                    })
            }) else {
                bag.warnings.push(format!(
                    "{}: not a .mcap or .db3 file; skipped",
                    p.display()
                ));
                continue;
            };
            if !p.is_file() {
                bag.warnings.push(format!(
                    "{}: listed in metadata.yaml but missing",
                    p.display()
                ));
                continue;
            }
            kinds.insert(kind.id());
            bag.storage = kind;
            let storage = match kind {
                StorageKind::Mcap => {
                    let f = match McapFile::open(&p) {
                        Ok(f) => f,
                        Err(e) => {
                            bag.warnings.push(BagError::mcap(&p, e).to_string());
                            continue;
                        }
                    };
                    if let FileState::Unfinished { valid_bytes } = f.state {
                        bag.warnings.push(format!(
                            "{}: unfinished (no summary; the recorder did not close it); \
                             {valid_bytes} of {} bytes are intact and were read — \
                             `embody bag reindex` repairs it",
                            p.display(),
                            f.bytes().len()
                        ));
                    }
                    for d in &f.damage {
                        bag.warnings.push(format!("{}: {d}", p.display()));
                    }
                    let map = bag.add_mcap_connections(&f, meta.as_ref());
                    Storage::Mcap(Box::new(f), map)
                }
                StorageKind::Sqlite3 => {
                    let db = SqliteFile::open(&p)?;
                    let mut map = BTreeMap::new();
                    for t in &db.topics {
                        let (encoding, schema) = db
                            .definitions
                            .get(&t.type_name)
                            .cloned()
                            .unwrap_or_default();
                        let id = bag.connection_for(&t.name, &t.type_name, |c| {
                            c.serialization_format = t.serialization_format.clone();
                            c.offered_qos_profiles = t.qos.clone();
                            c.type_hash = t.type_hash.clone();
                            c.schema_encoding = encoding.clone();
                            c.schema = schema.clone();
                        });
                        map.insert(t.id, id);
                    }
                    Storage::Sqlite(Box::new(db), map)
                }
            };
            bag.files.push(StorageFile { path: p, storage });
        }
        if bag.files.is_empty() {
            let why = bag.warnings.join("; ");
            return Err(BagError::NotABag(format!(
                "{}: nothing readable ({why})",
                path.display()
            )));
        }
        if kinds.len() > 1 {
            bag.warnings.push("bag mixes mcap and sqlite3 files".into());
        }
        bag.fill_from_metadata(meta.as_ref());
        bag.count_messages(meta.as_ref());
        Ok(bag)
    }

    fn connection_for(
        &mut self,
        topic: &str,
        type_name: &str,
        init: impl FnOnce(&mut Connection),
    ) -> usize {
        if let Some(c) = self
            .connections
            .iter()
            .find(|c| c.topic == topic && c.type_name == type_name)
        {
            return c.id;
        }
        let mut c = Connection {
            id: self.connections.len(),
            topic: topic.into(),
            type_name: type_name.into(),
            serialization_format: "cdr".into(),
            offered_qos_profiles: Vec::new(),
            type_hash: String::new(),
            schema_encoding: String::new(),
            schema: String::new(),
            message_count: 0,
        };
        init(&mut c);
        self.connections.push(c);
        self.connections.len() - 1
    }

    fn add_mcap_connections(
        &mut self,
        f: &McapFile,
        meta: Option<&BagMetadata>,
    ) -> BTreeMap<u16, usize> {
        let mut map = BTreeMap::new();
        for ch in f.channels.values() {
            let schema = f.schemas.get(&ch.schema_id);
            let type_name = schema.map(|s| s.name.clone()).or_else(|| {
                meta.and_then(|m| m.topics.iter().find(|t| t.topic.name == ch.topic))
                    .map(|t| t.topic.type_name.clone())
            });
            let type_name = type_name.unwrap_or_default();
            let mut qos_warning = None;
            let id = self.connection_for(&ch.topic, &type_name, |c| {
                c.serialization_format = ch.message_encoding.clone();
                if let Some(text) = ch.metadata.get("offered_qos_profiles") {
                    match metadata::parse_qos_list(text) {
                        Ok(q) => c.offered_qos_profiles = q,
                        Err(e) => {
                            qos_warning =
                                Some(format!("topic {}: offered_qos_profiles: {e}", ch.topic))
                        }
                    }
                }
                c.type_hash = ch
                    .metadata
                    .get("topic_type_hash")
                    .cloned()
                    .unwrap_or_default();
                if let Some(s) = schema {
                    c.schema_encoding = s.encoding.clone();
                    c.schema = String::from_utf8_lossy(&s.data).into_owned();
                }
            });
            if let Some(w) = qos_warning {
                self.warnings.push(w);
            }
            map.insert(ch.id, id);
        }
        map
    }

    /// Fills QoS and hashes the storage did not carry from `metadata.yaml`.
    fn fill_from_metadata(&mut self, meta: Option<&BagMetadata>) {
        let Some(meta) = meta else { return };
        for t in &meta.topics {
            if let Some(c) = self
                .connections
                .iter_mut()
                .find(|c| c.topic == t.topic.name && c.type_name == t.topic.type_name)
            {
                if c.offered_qos_profiles.is_empty() {
                    c.offered_qos_profiles = t.topic.offered_qos_profiles.clone();
                }
                if c.type_hash.is_empty() {
                    c.type_hash = t.topic.type_description_hash.clone();
                }
            } else {
                // Recorded but never received a message: no channel in the storage.
                self.connection_for(&t.topic.name, &t.topic.type_name, |c| {
                    c.serialization_format = t.topic.serialization_format.clone();
                    c.offered_qos_profiles = t.topic.offered_qos_profiles.clone();
                    c.type_hash = t.topic.type_description_hash.clone();
                });
            }
        }
    }

    /// Message counts per connection and per file, and the bag's metadata when rebuilt.
    fn count_messages(&mut self, meta: Option<&BagMetadata>) {
        let mut files = Vec::new();
        for f in &self.files {
            let rel = f
                .path
                .strip_prefix(&self.path)
                .ok()
                .filter(|r| !r.as_os_str().is_empty())
                .unwrap_or(Path::new(f.path.file_name().unwrap_or_default()))
                .display()
                .to_string();
            let (count, start, end) = match &f.storage {
                Storage::Mcap(m, map) => {
                    let s = &m.statistics;
                    for (ch, n) in &s.channel_message_counts {
                        if let Some(&c) = map.get(ch) {
                            self.connections[c].message_count += n;
                        }
                    }
                    (s.message_count, s.message_start_time, s.message_end_time)
                }
                Storage::Sqlite(db, map) => {
                    for (topic, n) in &db.counts {
                        if let Some(&c) = map.get(topic) {
                            self.connections[c].message_count += n;
                        }
                    }
                    (db.counts.values().sum(), db.start, db.end)
                }
            };
            files.push(FileInfo {
                path: rel,
                starting_time: start,
                duration: end.saturating_sub(start),
                message_count: count,
            });
        }
        let m = &mut self.metadata;
        if meta.is_none() {
            m.storage_identifier = self.storage.id().into();
            m.ros_distro = String::new();
        }
        // Counts from the storage are the truth (metadata.yaml may be stale after a crash).
        m.set_files(files);
        m.topics = self
            .connections
            .iter()
            .map(|c| TopicInfo {
                topic: TopicMetadata {
                    name: c.topic.clone(),
                    type_name: c.type_name.clone(),
                    serialization_format: c.serialization_format.clone(),
                    offered_qos_profiles: c.offered_qos_profiles.clone(),
                    type_description_hash: c.type_hash.clone(),
                },
                message_count: c.message_count,
            })
            .collect();
    }

    /// Total size of the storage files in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.files
            .iter()
            .filter_map(|f| std::fs::metadata(&f.path).ok())
            .map(|m| m.len())
            .sum()
    }

    /// True when any storage file was not closed properly.
    pub fn is_unfinished(&self) -> bool {
        self.files.iter().any(|f| {
            matches!(&f.storage, Storage::Mcap(m, _) if matches!(m.state, FileState::Unfinished { .. }))
        })
    }

    /// How many storage files the bag's metadata lists (or were found without one).
    pub fn listed_files(&self) -> usize {
        self.listed
    }

    /// The storage files, in order.
    pub fn file_paths(&self) -> Vec<&Path> {
        self.files.iter().map(|f| f.path.as_path()).collect()
    }

    /// Connections whose topic is in `topics` (all when `topics` is empty).
    pub fn select(&self, topics: &[String]) -> BTreeSet<usize> {
        self.connections
            .iter()
            .filter(|c| topics.is_empty() || topics.contains(&c.topic))
            .map(|c| c.id)
            .collect()
    }

    /// All messages of the selected connections (all when `None`), file after file, each
    /// file in log-time order. Damage is reported as an error item naming the file; reading
    /// goes on after it.
    pub fn messages(
        &self,
        connections: Option<&BTreeSet<usize>>,
    ) -> impl Iterator<Item = Result<BagMessage, BagError>> + '_ {
        let connections = connections.cloned();
        self.files.iter().flat_map(
            move |f| -> Box<dyn Iterator<Item = Result<BagMessage, BagError>> + '_> {
                match &f.storage {
                    Storage::Mcap(m, map) => {
                        let channels = connections.as_ref().map(|want| {
                            map.iter()
                                .filter(|(_, c)| want.contains(c))
                                .map(|(ch, _)| *ch)
                                .collect()
                        });
                        Box::new(m.messages(channels).filter_map(move |r| match r {
                            Ok(msg) => map.get(&msg.channel_id).map(|&c| {
                                Ok(BagMessage {
                                    connection: c,
                                    log_time: msg.log_time,
                                    publish_time: if msg.publish_time == 0 {
                                        msg.log_time
                                    } else {
                                        msg.publish_time
                                    },
                                    data: msg.data,
                                })
                            }),
                            Err(e) => Some(Err(BagError::mcap(&f.path, e))),
                        }))
                    }
                    Storage::Sqlite(db, map) => {
                        let topics: Option<Vec<i64>> = connections.as_ref().map(|want| {
                            map.iter()
                                .filter(|(_, c)| want.contains(c))
                                .map(|(t, _)| *t)
                                .collect()
                        });
                        Box::new(db.messages(topics).filter_map(move |r| match r {
                            Ok((topic, t, data)) => map.get(&topic).map(|&c| {
                                Ok(BagMessage {
                                    connection: c,
                                    log_time: t,
                                    publish_time: t,
                                    data,
                                })
                            }),
                            Err(e) => Some(Err(e)),
                        }))
                    }
                }
            },
        )
    }
}
