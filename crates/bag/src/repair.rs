//! `bag reindex` (rewrite unfinished MCAP files with a complete summary, and `metadata.yaml`)
//! and `bag convert` (any readable bag, e.g. sqlite3, to an MCAP bag).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::BagError;
use crate::mcap::{
    Compression, FileState, McapFile, McapWriter, MessageHeader, Metadata, WriteOptions,
};
use crate::metadata::TopicMetadata;
use crate::reader::Bag;
use crate::writer::{BagWriter, WriterOptions};

/// What `reindex` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReindexReport {
    /// Storage files rewritten (they had no summary).
    pub rewritten: Vec<PathBuf>,
    /// Messages in the repaired bag.
    pub messages: u64,
    /// Problems met (damaged chunks skipped).
    pub warnings: Vec<String>,
}

/// Repairs a bag whose recorder died: every unfinished MCAP file is rewritten with what it
/// holds plus a summary, and `metadata.yaml` is rebuilt from the storage files.
pub fn reindex(path: impl AsRef<Path>) -> Result<ReindexReport, BagError> {
    let path = path.as_ref();
    let mut report = ReindexReport::default();
    let bag = Bag::open(path)?;
    report.warnings.extend(bag.warnings.iter().cloned());
    let files: Vec<PathBuf> = bag.file_paths().iter().map(|p| p.to_path_buf()).collect();
    // A file metadata.yaml lists but that could not be opened must stay listed: rebuilding the
    // metadata from what opened would silently drop it from the bag.
    let unreadable = bag.has_metadata_file && files.len() < bag.listed_files();
    let had_metadata = bag.has_metadata_file;
    drop(bag);
    for file in &files {
        if file.extension().and_then(|e| e.to_str()) != Some("mcap") {
            continue;
        }
        let mcap = McapFile::open(file).map_err(|e| BagError::mcap(file, e))?;
        if mcap.state == FileState::Complete && mcap.damage.is_empty() {
            continue;
        }
        rewrite_mcap(file, &mcap, &mut report)?;
        report.rewritten.push(file.clone());
    }
    let bag = Bag::open(path)?;
    report.messages = bag.metadata.message_count;
    if !path.is_dir() || (had_metadata && report.rewritten.is_empty()) {
        return Ok(report);
    }
    if unreadable {
        report.warnings.push(format!(
            "{}: left as it was, because a file it lists could not be read",
            path.join("metadata.yaml").display()
        ));
        return Ok(report);
    }
    let mut meta = bag.metadata.clone();
    meta.version = crate::metadata::WRITE_VERSION;
    if meta.ros_distro.is_empty() {
        meta.ros_distro = "jazzy".into();
    }
    crate::writer::write_metadata_file(path, &meta)?;
    Ok(report)
}

fn rewrite_mcap(file: &Path, mcap: &McapFile, report: &mut ReindexReport) -> Result<(), BagError> {
    let tmp = file.with_extension("mcap.reindex");
    let out = File::create(&tmp).map_err(|e| BagError::io(&tmp, e))?;
    let compression = first_chunk_compression(mcap);
    let mut w = McapWriter::new(
        BufWriter::with_capacity(1 << 20, out),
        WriteOptions {
            profile: mcap.profile.clone(),
            compression,
            ..WriteOptions::default()
        },
    )
    .map_err(|e| BagError::mcap(&tmp, e))?;
    let mut schema_ids = BTreeMap::new();
    for s in mcap.schemas.values() {
        schema_ids.insert(s.id, w.add_schema(&s.name, &s.encoding, &s.data));
    }
    let mut channel_ids = BTreeMap::new();
    for c in mcap.channels.values() {
        let schema = schema_ids.get(&c.schema_id).copied().unwrap_or(0);
        channel_ids.insert(
            c.id,
            w.add_channel(schema, &c.topic, &c.message_encoding, c.metadata.clone()),
        );
    }
    for m in mcap.messages(None) {
        match m {
            Ok(m) => {
                let Some(&channel_id) = channel_ids.get(&m.channel_id) else {
                    report.warnings.push(format!(
                        "{}: message on undefined channel {}",
                        file.display(),
                        m.channel_id
                    ));
                    continue;
                };
                w.write(
                    &MessageHeader {
                        channel_id,
                        sequence: m.sequence,
                        log_time: m.log_time,
                        publish_time: m.publish_time,
                    },
                    &m.data,
                )
                .map_err(|e| BagError::mcap(&tmp, e))?;
            }
            Err(e) => report.warnings.push(format!("{}: {e}", file.display())),
        }
    }
    for md in &mcap.metadata {
        w.write_metadata(&Metadata {
            name: md.name.clone(),
            metadata: md.metadata.clone(),
        })
        .map_err(|e| BagError::mcap(&tmp, e))?;
    }
    w.finish().map_err(|e| BagError::mcap(&tmp, e))?;
    std::fs::rename(&tmp, file).map_err(|e| BagError::io(file, e))
}

/// The compression a file's chunks use where the summary tells (unfinished files: none).
fn first_chunk_compression(mcap: &McapFile) -> Compression {
    mcap.chunk_indexes()
        .and_then(|c| c.first())
        .and_then(|c| c.compression.parse().ok())
        .unwrap_or(Compression::None)
}

/// What `convert` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConvertReport {
    /// Messages written.
    pub messages: u64,
    /// Topics whose type definition came from embody's registry (the input had none).
    pub definitions_added: Vec<String>,
    /// Topics written without a definition (unknown everywhere).
    pub without_definition: Vec<String>,
    /// Problems met while reading.
    pub warnings: Vec<String>,
}

/// Converts any readable bag (sqlite3, MCAP, single file or directory) into an MCAP bag.
pub fn convert(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    opts: WriterOptions,
) -> Result<ConvertReport, BagError> {
    let bag = Bag::open(input)?;
    let mut report = ConvertReport {
        warnings: bag.warnings.clone(),
        ..ConvertReport::default()
    };
    let mut w = BagWriter::create(output, opts)?;
    let mut ids = BTreeMap::new();
    for c in &bag.connections {
        let known = embody_msgs::find(&c.type_name);
        let (encoding, schema) = if !c.schema.trim().is_empty() {
            (c.schema_encoding.clone(), c.schema.clone())
        } else if let Some(t) = known {
            report.definitions_added.push(c.topic.clone());
            ("ros2msg".to_owned(), t.schema.to_owned())
        } else {
            report.without_definition.push(c.topic.clone());
            (String::new(), String::new())
        };
        let hash = c.type_hash_or_known();
        let id = w.add_topic(
            TopicMetadata {
                name: c.topic.clone(),
                type_name: c.type_name.clone(),
                serialization_format: c.serialization_format.clone(),
                offered_qos_profiles: c.offered_qos_profiles.clone(),
                type_description_hash: hash,
            },
            &encoding,
            &schema,
        );
        ids.insert(c.id, id);
    }
    for m in bag.messages(None) {
        match m {
            Ok(m) => {
                w.write(ids[&m.connection], m.log_time, m.publish_time, &m.data)?;
                report.messages += 1;
            }
            Err(e) => report.warnings.push(e.to_string()),
        }
    }
    w.close()?;
    Ok(report)
}
