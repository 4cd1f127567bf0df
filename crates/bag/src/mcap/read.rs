//! Reading MCAP: through the summary (chunk indexes, in log-time order) when the file has one,
//! by a linear scan of the data section otherwise.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use super::records::{
    ChunkHeader, ChunkIndex, Dec, MAGIC, Message, Metadata, RawRecord, RecordIter, Schema,
    Statistics, op,
};
use super::{Channel, McapError};

/// Footer record length including opcode and length field.
const FOOTER_LEN: usize = 1 + 8 + 8 + 8 + 4;

/// Whether the file was closed properly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// Footer and summary present.
    Complete,
    /// Closed properly, but written without a summary (read by linear scan).
    NoSummary,
    /// No footer: the writer never finished (killed, or the disk filled). Everything up to
    /// `valid_bytes` was read.
    Unfinished {
        /// Bytes of intact records from the start of the file.
        valid_bytes: u64,
    },
}

/// An MCAP file mapped into memory.
pub struct McapFile {
    data: Bytes,
    /// Header profile (`ros2` for rosbag2).
    pub profile: String,
    /// Header library.
    pub library: String,
    /// Schemas by id.
    pub schemas: BTreeMap<u16, Arc<Schema>>,
    /// Channels by id.
    pub channels: BTreeMap<u16, Arc<Channel>>,
    /// Counts and time range (from the summary, or counted by the scan).
    pub statistics: Statistics,
    /// Metadata records (rosbag2 keeps its `metadata.yaml` in one named `rosbag2`).
    pub metadata: Vec<Metadata>,
    /// How the file ended.
    pub state: FileState,
    /// Damage found while opening (corrupt chunks); the rest of the file is still read.
    pub damage: Vec<String>,
    chunk_indexes: Option<Vec<ChunkIndex>>,
}

impl McapFile {
    /// Maps and opens a file.
    pub fn open(path: &Path) -> Result<Self, McapError> {
        let file = std::fs::File::open(path)?;
        // SAFETY: the map is read-only; a bag being appended to while read is not supported,
        // and a file truncated underneath would fault exactly like a read error would fail.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Self::from_bytes(Bytes::from_owner(map))
    }

    /// Opens an MCAP file held in memory.
    pub fn from_bytes(data: Bytes) -> Result<Self, McapError> {
        if data.len() < MAGIC.len() && MAGIC.starts_with(&data) {
            // A writer killed before its first bytes reached the disk (a fresh split file).
            return Ok(Self::empty_unfinished(data));
        }
        if data.len() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
            return Err(McapError::BadMagic);
        }
        let mut file = Self {
            state: FileState::Complete,
            ..Self::empty_unfinished(data)
        };
        let data = file.data.clone();
        if let Some(Ok(first)) = RecordIter::new(&data, MAGIC.len(), data.len()).next()
            && first.opcode == op::HEADER
        {
            let mut d = Dec::new(&first.body, "header");
            file.profile = d.string()?;
            file.library = d.string()?;
        } else {
            return Err(McapError::Malformed("no header record after the magic"));
        }
        let footer = match file.footer() {
            Ok(f) => f,
            Err(e) => {
                // A damaged summary does not make the data unreadable: scan it instead.
                file.damage
                    .push(format!("{e}; the data section was scanned instead"));
                Some((0, 0))
            }
        };
        match footer {
            Some((summary_start, summary_end)) if summary_start != 0 => {
                file.read_summary(summary_start, summary_end)?;
            }
            Some(_) => {
                file.state = FileState::NoSummary;
                file.scan_for_summary();
            }
            None => {
                file.state = FileState::Unfinished { valid_bytes: 0 };
                file.scan_for_summary();
            }
        }
        Ok(file)
    }

    fn empty_unfinished(data: Bytes) -> Self {
        Self {
            data,
            profile: String::new(),
            library: String::new(),
            schemas: BTreeMap::new(),
            channels: BTreeMap::new(),
            statistics: Statistics::default(),
            metadata: Vec::new(),
            state: FileState::Unfinished { valid_bytes: 0 },
            damage: Vec::new(),
            chunk_indexes: None,
        }
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }

    /// `(summary_start, end of summary records)` from a valid footer, or `None`.
    fn footer(&self) -> Result<Option<(usize, usize)>, McapError> {
        let d = &self.data;
        let n = d.len();
        if n < MAGIC.len() * 2 + FOOTER_LEN || &d[n - MAGIC.len()..] != MAGIC {
            return Ok(None);
        }
        let f = n - MAGIC.len() - FOOTER_LEN;
        if d[f] != op::FOOTER || d[f + 1..f + 9] != 20u64.to_le_bytes() {
            return Ok(None);
        }
        let rd = |at: usize| u64::from_le_bytes(d[at..at + 8].try_into().expect("8"));
        let summary_start = rd(f + 9);
        let summary_offset_start = rd(f + 17);
        let crc = u32::from_le_bytes(d[f + 25..f + 29].try_into().expect("4"));
        if summary_start == 0 {
            return Ok(Some((0, 0)));
        }
        let start = usize::try_from(summary_start)
            .ok()
            .filter(|s| *s <= f)
            .ok_or(McapError::Malformed("summary start past the footer"))?;
        if crc != 0 && crc32fast::hash(&d[start..f + 25]) != crc {
            return Err(McapError::Malformed("summary CRC mismatch"));
        }
        let end = match usize::try_from(summary_offset_start) {
            Ok(s) if s != 0 && s >= start && s <= f => s,
            _ => f,
        };
        Ok(Some((start, end)))
    }

    fn read_summary(&mut self, start: usize, end: usize) -> Result<(), McapError> {
        let data = self.data.clone();
        let mut chunks = Vec::new();
        let mut metadata_at = Vec::new();
        let mut has_statistics = false;
        for rec in RecordIter::new(&data, start, end) {
            let rec = rec?;
            match rec.opcode {
                op::SCHEMA => self.add_schema(Schema::decode(&rec.body)?),
                op::CHANNEL => self.add_channel(Channel::decode(&rec.body)?),
                op::STATISTICS => {
                    self.statistics = Statistics::decode(&rec.body)?;
                    has_statistics = true;
                }
                op::CHUNK_INDEX => chunks.push(ChunkIndex::decode(&rec.body)?),
                op::METADATA_INDEX => {
                    let mut d = Dec::new(&rec.body, "metadata index");
                    metadata_at.push((d.u64()?, d.u64()?));
                }
                _ => {}
            }
        }
        for (offset, length) in metadata_at {
            let (Ok(o), Ok(l)) = (usize::try_from(offset), usize::try_from(length)) else {
                continue;
            };
            if let Some(Ok(rec)) = RecordIter::new(&data, o, o.saturating_add(l)).next()
                && rec.opcode == op::METADATA
            {
                self.metadata.push(Metadata::decode(&rec.body)?);
            }
        }
        if chunks.is_empty() || !has_statistics {
            // Without chunk indexes (messages outside chunks, or chunks the summary does not
            // list) only a scan finds the messages; without statistics only a scan counts
            // them. The scan finds the metadata records again.
            self.metadata.clear();
            self.scan_for_summary();
            self.state = FileState::Complete;
        }
        if !chunks.is_empty() {
            chunks.sort_by_key(|c| (c.message_start_time, c.chunk_start_offset));
            self.chunk_indexes = Some(chunks);
        }
        Ok(())
    }

    fn add_schema(&mut self, s: Schema) {
        self.schemas.entry(s.id).or_insert_with(|| Arc::new(s));
    }

    fn add_channel(&mut self, c: Channel) {
        self.channels.entry(c.id).or_insert_with(|| Arc::new(c));
    }

    /// Builds schemas, channels, metadata and statistics by reading the whole data section.
    fn scan_for_summary(&mut self) {
        let mut stats = Statistics::default();
        let mut scan = Scan::new(self.data.clone(), None);
        loop {
            match scan.next_record() {
                ScanItem::Record(rec) => match rec.opcode {
                    op::SCHEMA => {
                        if let Ok(s) = Schema::decode(&rec.body) {
                            self.add_schema(s);
                        }
                    }
                    op::CHANNEL => {
                        if let Ok(c) = Channel::decode(&rec.body) {
                            self.add_channel(c);
                        }
                    }
                    op::METADATA => {
                        if let Ok(m) = Metadata::decode(&rec.body) {
                            self.metadata.push(m);
                        }
                    }
                    op::MESSAGE => {
                        let Ok(m) = Message::decode(&rec.body) else {
                            continue;
                        };
                        if stats.message_count == 0 {
                            stats.message_start_time = m.log_time;
                            stats.message_end_time = m.log_time;
                        }
                        stats.message_start_time = stats.message_start_time.min(m.log_time);
                        stats.message_end_time = stats.message_end_time.max(m.log_time);
                        stats.message_count += 1;
                        *stats
                            .channel_message_counts
                            .entry(m.channel_id)
                            .or_default() += 1;
                    }
                    op::CHUNK => stats.chunk_count += 1,
                    _ => {}
                },
                ScanItem::Damage(e) => self.damage.push(e.to_string()),
                ScanItem::End { valid_bytes } => {
                    if let FileState::Unfinished { valid_bytes: v } = &mut self.state {
                        *v = valid_bytes;
                    }
                    break;
                }
            }
        }
        stats.schema_count = self.schemas.len() as u16;
        stats.channel_count = self.channels.len() as u32;
        stats.metadata_count = self.metadata.len() as u32;
        self.statistics = stats;
    }

    /// Chunk indexes when the file has a summary.
    pub fn chunk_indexes(&self) -> Option<&[ChunkIndex]> {
        self.chunk_indexes.as_deref()
    }

    /// Messages in log-time order (file order for files without summary), optionally only
    /// those on `channels`.
    pub fn messages(&self, channels: Option<BTreeSet<u16>>) -> MessageIter {
        match &self.chunk_indexes {
            Some(chunks) => {
                let pending = chunks
                    .iter()
                    .filter(|c| match &channels {
                        Some(wanted) => {
                            c.message_index_offsets.keys().any(|k| wanted.contains(k))
                            // Writers that leave out message indexes still index the chunk.
                            || c.message_index_offsets.is_empty()
                        }
                        None => true,
                    })
                    .cloned()
                    .collect();
                MessageIter::Indexed(Indexed {
                    data: self.data.clone(),
                    pending,
                    open: Vec::new(),
                    heap: BinaryHeap::new(),
                    channels,
                    opened: 0,
                })
            }
            None => MessageIter::Linear(Scan::new(self.data.clone(), channels)),
        }
    }
}

/// Decompresses a chunk record's body into its records.
pub(crate) fn chunk_records(
    offset: usize,
    body: &Bytes,
) -> Result<(ChunkHeader, Bytes), McapError> {
    let header = ChunkHeader::decode(body)?;
    let offset = offset as u64;
    let size = usize::try_from(header.uncompressed_size)
        .ok()
        // A hostile size must not allocate memory the machine does not have: buffers grow
        // with the data actually decompressed, never beyond this.
        .filter(|s| *s <= 1 << 34)
        .ok_or(McapError::Malformed("chunk uncompressed size is absurd"))?;
    let fail = |reason: String| McapError::Decompress { offset, reason };
    let initial = size.min(header.records.len().saturating_mul(8).max(1 << 16));
    let read_all = |reader: &mut dyn Read| -> Result<Bytes, McapError> {
        let mut out = Vec::with_capacity(initial);
        reader
            .take(size as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| fail(e.to_string()))?;
        Ok(Bytes::from(out))
    };
    let records = match header.compression.as_str() {
        "" => header.records.clone(),
        "zstd" => {
            let mut d = zstd::stream::read::Decoder::with_buffer(&header.records[..])
                .map_err(|e| fail(e.to_string()))?;
            read_all(&mut d)?
        }
        "lz4" => read_all(&mut lz4_flex::frame::FrameDecoder::new(&header.records[..]))?,
        other => return Err(McapError::UnknownCompression(other.into())),
    };
    if records.len() != size {
        return Err(fail(format!(
            "{} bytes instead of the declared {size}",
            records.len()
        )));
    }
    if header.uncompressed_crc != 0 && crc32fast::hash(&records) != header.uncompressed_crc {
        return Err(McapError::CrcMismatch { offset });
    }
    Ok((header, records))
}

/// Messages of a file, in order.
pub enum MessageIter {
    /// Through chunk indexes, merged by log time.
    Indexed(Indexed),
    /// By scanning the data section.
    Linear(Scan),
}

impl Iterator for MessageIter {
    type Item = Result<Message, McapError>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Indexed(i) => i.next(),
            Self::Linear(s) => loop {
                match s.next_record() {
                    ScanItem::Record(rec) if rec.opcode == op::MESSAGE => {
                        let m = match Message::decode(&rec.body) {
                            Ok(m) => m,
                            Err(e) => return Some(Err(e)),
                        };
                        if s.channels
                            .as_ref()
                            .is_none_or(|c| c.contains(&m.channel_id))
                        {
                            return Some(Ok(m));
                        }
                    }
                    ScanItem::Record(_) => {}
                    ScanItem::Damage(e) => return Some(Err(e)),
                    ScanItem::End { .. } => return None,
                }
            },
        }
    }
}

/// The k-way merge of chunks by log time.
pub struct Indexed {
    data: Bytes,
    pending: VecDeque<ChunkIndex>,
    open: Vec<VecDeque<Message>>,
    heap: BinaryHeap<Reverse<(u64, usize)>>,
    channels: Option<BTreeSet<u16>>,
    opened: usize,
}

impl Indexed {
    fn open_chunk(&mut self, c: &ChunkIndex) -> Result<(), McapError> {
        let start = usize::try_from(c.chunk_start_offset)
            .map_err(|_| McapError::Malformed("chunk offset"))?;
        let len =
            usize::try_from(c.chunk_length).map_err(|_| McapError::Malformed("chunk length"))?;
        let rec = RecordIter::new(&self.data, start, start.saturating_add(len))
            .next()
            .ok_or(McapError::Truncated("chunk"))??;
        if rec.opcode != op::CHUNK {
            return Err(McapError::Malformed("chunk index points at something else"));
        }
        let (_, records) = chunk_records(start, &rec.body)?;
        let mut msgs = Vec::new();
        for r in RecordIter::new(&records, 0, records.len()) {
            let r = r?;
            if r.opcode == op::MESSAGE {
                let m = Message::decode(&r.body)?;
                if self
                    .channels
                    .as_ref()
                    .is_none_or(|c| c.contains(&m.channel_id))
                {
                    msgs.push(m);
                }
            }
        }
        msgs.sort_by_key(|m| m.log_time);
        if let Some(first) = msgs.first() {
            let slot = self.open.len();
            self.heap.push(Reverse((first.log_time, slot)));
            self.open.push(msgs.into());
        }
        self.opened += 1;
        Ok(())
    }

    fn next(&mut self) -> Option<Result<Message, McapError>> {
        loop {
            let top = self.heap.peek().map(|Reverse((t, _))| *t);
            match (self.pending.front(), top) {
                (Some(c), Some(t)) if c.message_start_time > t => {}
                (Some(_), _) => {
                    let c = self.pending.pop_front().expect("front exists");
                    if let Err(e) = self.open_chunk(&c) {
                        return Some(Err(e));
                    }
                    continue;
                }
                (None, None) => return None,
                (None, Some(_)) => {}
            }
            let Reverse((_, slot)) = self.heap.pop().expect("heap has a top");
            let queue = &mut self.open[slot];
            let m = queue
                .pop_front()
                .expect("open chunks in the heap are non-empty");
            match queue.front() {
                Some(next) => self.heap.push(Reverse((next.log_time, slot))),
                // Release the chunk's memory as soon as it is drained.
                None => *queue = VecDeque::new(),
            }
            return Some(Ok(m));
        }
    }
}

/// A linear scan over the data section, descending into chunks.
pub struct Scan {
    data: Bytes,
    pos: usize,
    inner: Option<(Bytes, usize)>,
    channels: Option<BTreeSet<u16>>,
    done: bool,
}

pub(crate) enum ScanItem {
    Record(RawRecord),
    Damage(McapError),
    End { valid_bytes: u64 },
}

impl Scan {
    fn new(data: Bytes, channels: Option<BTreeSet<u16>>) -> Self {
        Self {
            data,
            pos: MAGIC.len(),
            inner: None,
            channels,
            done: false,
        }
    }

    pub(crate) fn next_record(&mut self) -> ScanItem {
        loop {
            if let Some((records, pos)) = &mut self.inner {
                let mut it = RecordIter::new(records, *pos, records.len());
                match it.next() {
                    Some(Ok(rec)) => {
                        *pos = it.pos;
                        return ScanItem::Record(rec);
                    }
                    Some(Err(e)) => {
                        self.inner = None;
                        return ScanItem::Damage(e);
                    }
                    None => self.inner = None,
                }
            }
            if self.done {
                return ScanItem::End {
                    valid_bytes: self.pos as u64,
                };
            }
            let mut it = RecordIter::new(&self.data, self.pos, self.data.len());
            match it.next() {
                None | Some(Err(_)) => {
                    // A truncated record is where an unfinished file ends.
                    self.done = true;
                }
                Some(Ok(rec)) => {
                    self.pos = it.pos;
                    match rec.opcode {
                        op::DATA_END | op::FOOTER => self.done = true,
                        op::CHUNK => match chunk_records(rec.offset, &rec.body) {
                            Ok((_, records)) => {
                                self.inner = Some((records, 0));
                                return ScanItem::Record(rec);
                            }
                            Err(e) => return ScanItem::Damage(e),
                        },
                        _ => return ScanItem::Record(rec),
                    }
                }
            }
        }
    }
}
