//! Writing rosbag2 MCAP bags: `<dir>/<dir>_<N>.mcap` files split by size, and `metadata.yaml`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::BagError;
use crate::mcap::{Compression, McapWriter, MessageHeader, Metadata, WriteOptions};
use crate::metadata::{self, BagMetadata, FileInfo, TopicInfo, TopicMetadata};

/// How a bag is written.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// MCAP chunk compression.
    pub compression: Compression,
    /// Start a new file once the current one reaches this many bytes (0: never split).
    pub max_bag_size: u64,
    /// Uncompressed bytes per chunk.
    pub chunk_size: usize,
    /// Written as `custom_data` in `metadata.yaml`.
    pub custom_data: BTreeMap<String, String>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            compression: Compression::None,
            max_bag_size: 0,
            chunk_size: WriteOptions::default().chunk_size,
            custom_data: BTreeMap::new(),
        }
    }
}

/// A topic registered with [`BagWriter::add_topic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopicId(usize);

struct TopicState {
    meta: TopicMetadata,
    schema_encoding: String,
    schema: String,
    count: u64,
    /// Channel id in the current file, once a message was written there.
    channel: Option<u16>,
}

struct OpenFile {
    writer: McapWriter<BufWriter<File>>,
    info: FileInfo,
    first: Option<u64>,
    last: u64,
}

/// Writes one bag directory.
pub struct BagWriter {
    dir: PathBuf,
    base: String,
    opts: WriterOptions,
    topics: Vec<TopicState>,
    file: Option<OpenFile>,
    done_files: Vec<FileInfo>,
    bytes: u64,
}

impl BagWriter {
    /// Creates the directory (it must not exist, or be empty) and the first storage file.
    pub fn create(dir: impl AsRef<Path>, opts: WriterOptions) -> Result<Self, BagError> {
        let dir = dir.as_ref().to_path_buf();
        if dir.exists() {
            let empty = dir.is_dir()
                && std::fs::read_dir(&dir)
                    .map_err(|e| BagError::io(&dir, e))?
                    .next()
                    .is_none();
            if !empty {
                return Err(BagError::Exists(dir.display().to_string()));
            }
        }
        std::fs::create_dir_all(&dir).map_err(|e| BagError::io(&dir, e))?;
        let base = dir
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty() && *n != "." && *n != "..")
            .unwrap_or("bag")
            .to_owned();
        let mut w = Self {
            dir,
            base,
            opts,
            topics: Vec::new(),
            file: None,
            done_files: Vec::new(),
            bytes: 0,
        };
        w.open_file()?;
        Ok(w)
    }

    /// The bag directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn open_file(&mut self) -> Result<(), BagError> {
        let name = format!("{}_{}.mcap", self.base, self.done_files.len());
        let path = self.dir.join(&name);
        let f = File::create(&path).map_err(|e| BagError::io(&path, e))?;
        let writer = McapWriter::new(
            BufWriter::with_capacity(1 << 20, f),
            WriteOptions {
                compression: self.opts.compression,
                chunk_size: self.opts.chunk_size,
                ..WriteOptions::default()
            },
        )
        .map_err(|e| BagError::mcap(&path, e))?;
        for t in &mut self.topics {
            t.channel = None;
        }
        self.file = Some(OpenFile {
            writer,
            info: FileInfo {
                path: name,
                starting_time: 0,
                duration: 0,
                message_count: 0,
            },
            first: None,
            last: 0,
        });
        Ok(())
    }

    /// Registers a topic; `schema` is its `ros2msg` (or `ros2idl`) text.
    pub fn add_topic(
        &mut self,
        meta: TopicMetadata,
        schema_encoding: &str,
        schema: &str,
    ) -> TopicId {
        if let Some(i) = self
            .topics
            .iter()
            .position(|t| t.meta.name == meta.name && t.meta.type_name == meta.type_name)
        {
            return TopicId(i);
        }
        self.topics.push(TopicState {
            meta,
            schema_encoding: schema_encoding.into(),
            schema: schema.into(),
            count: 0,
            channel: None,
        });
        TopicId(self.topics.len() - 1)
    }

    /// Registers a topic of a type compiled into embody (schema and hash from the registry).
    pub fn add_known_topic(
        &mut self,
        name: &str,
        type_name: &str,
        qos: Vec<embody::qos::QosProfile>,
    ) -> Option<TopicId> {
        let info = embody_msgs::find(type_name)?;
        Some(self.add_topic(
            TopicMetadata {
                name: name.into(),
                type_name: info.name.into(),
                serialization_format: "cdr".into(),
                offered_qos_profiles: qos,
                type_description_hash: info.hash.into(),
            },
            "ros2msg",
            info.schema,
        ))
    }

    /// Records the QoS of a publisher seen after the topic was added.
    pub fn add_offered_qos(&mut self, topic: TopicId, qos: embody::qos::QosProfile) {
        if let Some(t) = self.topics.get_mut(topic.0)
            && !t.meta.offered_qos_profiles.contains(&qos)
        {
            t.meta.offered_qos_profiles.push(qos);
        }
    }

    /// Appends one message. `log_time` is the receive time, `publish_time` the send time
    /// (both ns since epoch).
    pub fn write(
        &mut self,
        topic: TopicId,
        log_time: u64,
        publish_time: u64,
        data: &[u8],
    ) -> Result<(), BagError> {
        let path = self.current_path();
        let t = self
            .topics
            .get_mut(topic.0)
            .expect("TopicId comes from this writer");
        let f = self
            .file
            .as_mut()
            .expect("a file is open between create and close");
        let channel = match t.channel {
            Some(c) => c,
            None => {
                let schema_id =
                    f.writer
                        .add_schema(&t.meta.type_name, &t.schema_encoding, t.schema.as_bytes());
                let mut md = BTreeMap::new();
                md.insert(
                    "offered_qos_profiles".to_owned(),
                    metadata::qos_list_yaml(&t.meta.offered_qos_profiles, 0),
                );
                md.insert(
                    "topic_type_hash".to_owned(),
                    t.meta.type_description_hash.clone(),
                );
                let c =
                    f.writer
                        .add_channel(schema_id, &t.meta.name, &t.meta.serialization_format, md);
                t.channel = Some(c);
                c
            }
        };
        f.writer
            .write(
                &MessageHeader {
                    channel_id: channel,
                    sequence: 0,
                    log_time,
                    publish_time,
                },
                data,
            )
            .map_err(|e| BagError::mcap(&path, e))?;
        t.count += 1;
        f.info.message_count += 1;
        f.first = Some(f.first.map_or(log_time, |x| x.min(log_time)));
        f.last = f.last.max(log_time);
        self.bytes += data.len() as u64;
        if self.opts.max_bag_size > 0
            && f.writer.bytes_written() + f.writer.pending_bytes() as u64 >= self.opts.max_bag_size
        {
            self.split()?;
        }
        Ok(())
    }

    /// Writes the open chunk to disk, so what was recorded so far survives a crash.
    pub fn flush(&mut self) -> Result<(), BagError> {
        let path = self.current_path();
        if let Some(f) = &mut self.file {
            f.writer
                .close_chunk()
                .map_err(|e| BagError::mcap(&path, e))?;
        }
        Ok(())
    }

    /// Payload bytes and messages written so far.
    pub fn totals(&self) -> (u64, u64) {
        (self.bytes, self.topics.iter().map(|t| t.count).sum())
    }

    fn current_path(&self) -> PathBuf {
        match &self.file {
            Some(f) => self.dir.join(&f.info.path),
            None => self.dir.clone(),
        }
    }

    fn finish_file(&mut self) -> Result<(), BagError> {
        let Some(mut f) = self.file.take() else {
            return Ok(());
        };
        let path = self.dir.join(&f.info.path);
        f.info.starting_time = f.first.unwrap_or(0);
        f.info.duration = f.last.saturating_sub(f.info.starting_time);
        self.done_files.push(f.info);
        // rosbag2 stores its metadata in every file, so a lone file still describes itself.
        let meta = self.metadata();
        let mut md = BTreeMap::new();
        md.insert("serialized_metadata".to_owned(), meta.to_yaml_body(0));
        md.insert("ROS_DISTRO".to_owned(), meta.ros_distro.clone());
        f.writer
            .write_metadata(&Metadata {
                name: "rosbag2".into(),
                metadata: md,
            })
            .and_then(|()| f.writer.finish())
            .map_err(|e| BagError::mcap(&path, e))
    }

    fn split(&mut self) -> Result<(), BagError> {
        self.finish_file()?;
        self.open_file()?;
        // Lists the new file too, so a recorder killed from here on leaves it discoverable.
        self.write_metadata_file()
    }

    /// The bag's metadata as of now.
    pub fn metadata(&self) -> BagMetadata {
        let mut m = BagMetadata::new_mcap();
        let mut files = self.done_files.clone();
        if let Some(f) = &self.file {
            let mut info = f.info.clone();
            info.starting_time = f.first.unwrap_or(0);
            info.duration = f.last.saturating_sub(info.starting_time);
            files.push(info);
        }
        m.set_files(files);
        m.topics = self
            .topics
            .iter()
            .map(|t| TopicInfo {
                topic: t.meta.clone(),
                message_count: t.count,
            })
            .collect();
        m.custom_data = self.opts.custom_data.clone();
        m
    }

    fn write_metadata_file(&self) -> Result<(), BagError> {
        write_metadata_file(&self.dir, &self.metadata())
    }

    /// Finishes the last file and writes `metadata.yaml`.
    pub fn close(mut self) -> Result<BagMetadata, BagError> {
        self.finish_file()?;
        self.write_metadata_file()?;
        Ok(self.metadata())
    }
}

/// Writes `dir/metadata.yaml` atomically (a temporary file renamed over it), so a crash never
/// leaves half a metadata file.
pub(crate) fn write_metadata_file(dir: &Path, meta: &BagMetadata) -> Result<(), BagError> {
    let path = dir.join("metadata.yaml");
    let tmp = dir.join(".metadata.yaml.tmp");
    std::fs::write(&tmp, meta.to_yaml()).map_err(|e| BagError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| BagError::io(&path, e))
}
