//! MCAP record layouts (spec v0): opcodes, field encoding and decoding.
//!
//! Every record is `opcode: u8`, `length: u64` (little endian) and `length` bytes of body.
//! Strings are `u32` length + UTF-8, maps and arrays are `u32` byte length + entries.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::McapError;

/// The 8 bytes at both ends of every MCAP file.
pub const MAGIC: &[u8; 8] = b"\x89MCAP0\r\n";

/// Record opcodes.
pub mod op {
    pub const HEADER: u8 = 0x01;
    pub const FOOTER: u8 = 0x02;
    pub const SCHEMA: u8 = 0x03;
    pub const CHANNEL: u8 = 0x04;
    pub const MESSAGE: u8 = 0x05;
    pub const CHUNK: u8 = 0x06;
    pub const MESSAGE_INDEX: u8 = 0x07;
    pub const CHUNK_INDEX: u8 = 0x08;
    pub const STATISTICS: u8 = 0x0B;
    pub const METADATA: u8 = 0x0C;
    pub const METADATA_INDEX: u8 = 0x0D;
    pub const SUMMARY_OFFSET: u8 = 0x0E;
    pub const DATA_END: u8 = 0x0F;
}

/// A message schema (`ros2msg` text for ROS 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// Non-zero id, unique in the file.
    pub id: u16,
    /// Type name, e.g. `std_msgs/msg/String`.
    pub name: String,
    /// `ros2msg`, `ros2idl`, or empty when unknown.
    pub encoding: String,
    /// The schema text.
    pub data: Bytes,
}

/// A topic as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Id, unique in the file.
    pub id: u16,
    /// Schema id, 0 when the channel has none.
    pub schema_id: u16,
    /// Topic name.
    pub topic: String,
    /// `cdr` for ROS 2.
    pub message_encoding: String,
    /// `offered_qos_profiles`, `topic_type_hash` for ROS 2.
    pub metadata: BTreeMap<String, String>,
}

/// One message's header fields and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Channel id.
    pub channel_id: u16,
    /// Publisher sequence number (rosbag2 writes 0).
    pub sequence: u32,
    /// Receive time, nanoseconds since the epoch; playback is scheduled by it.
    pub log_time: u64,
    /// Send time, nanoseconds since the epoch.
    pub publish_time: u64,
    /// The serialized message (CDR with encapsulation header for ROS 2).
    pub data: Bytes,
}

/// A named map of strings (rosbag2 keeps its `metadata.yaml` in one named `rosbag2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Record name.
    pub name: String,
    /// Key/value pairs.
    pub metadata: BTreeMap<String, String>,
}

/// Where a chunk is and what it holds, from the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkIndex {
    /// Earliest log time in the chunk.
    pub message_start_time: u64,
    /// Latest log time in the chunk.
    pub message_end_time: u64,
    /// File offset of the chunk record's opcode.
    pub chunk_start_offset: u64,
    /// Length of the whole chunk record (opcode and length field included).
    pub chunk_length: u64,
    /// File offset of each channel's message index record.
    pub message_index_offsets: BTreeMap<u16, u64>,
    /// Total length of the message index records after the chunk.
    pub message_index_length: u64,
    /// `""`, `zstd` or `lz4`.
    pub compression: String,
    /// Length of the chunk's record data as stored.
    pub compressed_size: u64,
    /// Length of the chunk's record data uncompressed.
    pub uncompressed_size: u64,
}

/// File-wide counts from the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistics {
    /// Messages in the file.
    pub message_count: u64,
    /// Schemas.
    pub schema_count: u16,
    /// Channels.
    pub channel_count: u32,
    /// Attachments.
    pub attachment_count: u32,
    /// Metadata records.
    pub metadata_count: u32,
    /// Chunks.
    pub chunk_count: u32,
    /// Earliest log time (0 without messages).
    pub message_start_time: u64,
    /// Latest log time.
    pub message_end_time: u64,
    /// Messages per channel.
    pub channel_message_counts: BTreeMap<u16, u64>,
}

/// Appends MCAP primitives to a buffer.
pub(crate) struct Enc<'a>(pub &'a mut Vec<u8>);

impl Enc<'_> {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn str(&mut self, s: &str) {
        self.u32(len32(s.len()));
        self.0.extend_from_slice(s.as_bytes());
    }
    pub fn bytes32(&mut self, b: &[u8]) {
        self.u32(len32(b.len()));
        self.0.extend_from_slice(b);
    }
    pub fn string_map(&mut self, map: &BTreeMap<String, String>) {
        let at = self.0.len();
        self.u32(0);
        for (k, v) in map {
            self.str(k);
            self.str(v);
        }
        self.patch_len32(at);
    }
    /// Writes the byte length of everything after the `u32` at `at`.
    pub fn patch_len32(&mut self, at: usize) {
        let n = len32(self.0.len() - at - 4);
        self.0[at..at + 4].copy_from_slice(&n.to_le_bytes());
    }
    /// Starts a record; finish it with [`Enc::end_record`].
    pub fn begin_record(&mut self, opcode: u8) -> usize {
        self.u8(opcode);
        let at = self.0.len();
        self.u64(0);
        at
    }
    pub fn end_record(&mut self, at: usize) {
        let n = (self.0.len() - at - 8) as u64;
        self.0[at..at + 8].copy_from_slice(&n.to_le_bytes());
    }
}

fn len32(n: usize) -> u32 {
    // Schema texts, topic names and maps are far below 4 GiB; a longer one is a caller bug.
    u32::try_from(n).expect("MCAP string or map longer than 4 GiB")
}

impl Schema {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut e = Enc(out);
        let at = e.begin_record(op::SCHEMA);
        e.u16(self.id);
        e.str(&self.name);
        e.str(&self.encoding);
        e.bytes32(&self.data);
        e.end_record(at);
    }
    pub(crate) fn decode(body: &Bytes) -> Result<Self, McapError> {
        let mut d = Dec::new(body, "schema");
        Ok(Self {
            id: d.u16()?,
            name: d.string()?,
            encoding: d.string()?,
            data: d.bytes32()?,
        })
    }
}

impl Channel {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut e = Enc(out);
        let at = e.begin_record(op::CHANNEL);
        e.u16(self.id);
        e.u16(self.schema_id);
        e.str(&self.topic);
        e.str(&self.message_encoding);
        e.string_map(&self.metadata);
        e.end_record(at);
    }
    pub(crate) fn decode(body: &Bytes) -> Result<Self, McapError> {
        let mut d = Dec::new(body, "channel");
        Ok(Self {
            id: d.u16()?,
            schema_id: d.u16()?,
            topic: d.string()?,
            message_encoding: d.string()?,
            metadata: d.string_map()?,
        })
    }
}

impl Message {
    /// Length of the fixed fields before the payload.
    pub(crate) const HEADER_LEN: usize = 2 + 4 + 8 + 8;

    pub(crate) fn encode_header(out: &mut Vec<u8>, m: &MessageHeader, data_len: usize) {
        let mut e = Enc(out);
        e.u8(op::MESSAGE);
        e.u64((Self::HEADER_LEN + data_len) as u64);
        e.u16(m.channel_id);
        e.u32(m.sequence);
        e.u64(m.log_time);
        e.u64(m.publish_time);
    }
    pub(crate) fn decode(body: &Bytes) -> Result<Self, McapError> {
        let mut d = Dec::new(body, "message");
        Ok(Self {
            channel_id: d.u16()?,
            sequence: d.u32()?,
            log_time: d.u64()?,
            publish_time: d.u64()?,
            data: d.rest(),
        })
    }
}

/// The fixed fields of a message, for writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHeader {
    /// Channel id.
    pub channel_id: u16,
    /// Sequence number.
    pub sequence: u32,
    /// Receive time (ns since epoch).
    pub log_time: u64,
    /// Send time (ns since epoch).
    pub publish_time: u64,
}

impl Metadata {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut e = Enc(out);
        let at = e.begin_record(op::METADATA);
        e.str(&self.name);
        e.string_map(&self.metadata);
        e.end_record(at);
    }
    pub(crate) fn decode(body: &Bytes) -> Result<Self, McapError> {
        let mut d = Dec::new(body, "metadata");
        Ok(Self {
            name: d.string()?,
            metadata: d.string_map()?,
        })
    }
}

impl ChunkIndex {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut e = Enc(out);
        let at = e.begin_record(op::CHUNK_INDEX);
        e.u64(self.message_start_time);
        e.u64(self.message_end_time);
        e.u64(self.chunk_start_offset);
        e.u64(self.chunk_length);
        let map_at = e.0.len();
        e.u32(0);
        for (ch, off) in &self.message_index_offsets {
            e.u16(*ch);
            e.u64(*off);
        }
        e.patch_len32(map_at);
        e.u64(self.message_index_length);
        e.str(&self.compression);
        e.u64(self.compressed_size);
        e.u64(self.uncompressed_size);
        e.end_record(at);
    }
    pub(crate) fn decode(body: &Bytes) -> Result<Self, McapError> {
        let mut d = Dec::new(body, "chunk index");
        let message_start_time = d.u64()?;
        let message_end_time = d.u64()?;
        let chunk_start_offset = d.u64()?;
        let chunk_length = d.u64()?;
        let mut map = d.sub32()?;
        let mut message_index_offsets = BTreeMap::new();
        while !map.is_empty() {
            message_index_offsets.insert(map.u16()?, map.u64()?);
        }
        Ok(Self {
            message_start_time,
            message_end_time,
            chunk_start_offset,
            chunk_length,
            message_index_offsets,
            message_index_length: d.u64()?,
            compression: d.string()?,
            compressed_size: d.u64()?,
            uncompressed_size: d.u64()?,
        })
    }
}

impl Statistics {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut e = Enc(out);
        let at = e.begin_record(op::STATISTICS);
        e.u64(self.message_count);
        e.u16(self.schema_count);
        e.u32(self.channel_count);
        e.u32(self.attachment_count);
        e.u32(self.metadata_count);
        e.u32(self.chunk_count);
        e.u64(self.message_start_time);
        e.u64(self.message_end_time);
        let map_at = e.0.len();
        e.u32(0);
        for (ch, n) in &self.channel_message_counts {
            e.u16(*ch);
            e.u64(*n);
        }
        e.patch_len32(map_at);
        e.end_record(at);
    }
    pub(crate) fn decode(body: &Bytes) -> Result<Self, McapError> {
        let mut d = Dec::new(body, "statistics");
        let mut s = Self {
            message_count: d.u64()?,
            schema_count: d.u16()?,
            channel_count: d.u32()?,
            attachment_count: d.u32()?,
            metadata_count: d.u32()?,
            chunk_count: d.u32()?,
            message_start_time: d.u64()?,
            message_end_time: d.u64()?,
            channel_message_counts: BTreeMap::new(),
        };
        let mut map = d.sub32()?;
        while !map.is_empty() {
            s.channel_message_counts.insert(map.u16()?, map.u64()?);
        }
        Ok(s)
    }
}

/// The fixed fields of a chunk record, before its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkHeader {
    pub message_start_time: u64,
    pub message_end_time: u64,
    pub uncompressed_size: u64,
    pub uncompressed_crc: u32,
    pub compression: String,
    pub records: Bytes,
}

impl ChunkHeader {
    pub(crate) fn decode(body: &Bytes) -> Result<Self, McapError> {
        let mut d = Dec::new(body, "chunk");
        Ok(Self {
            message_start_time: d.u64()?,
            message_end_time: d.u64()?,
            uncompressed_size: d.u64()?,
            uncompressed_crc: d.u32()?,
            compression: d.string()?,
            records: d.bytes64()?,
        })
    }
}

/// Reads MCAP primitives from a record body, never past its end.
pub(crate) struct Dec<'a> {
    buf: &'a Bytes,
    pos: usize,
    end: usize,
    what: &'static str,
}

impl<'a> Dec<'a> {
    pub fn new(buf: &'a Bytes, what: &'static str) -> Self {
        Self {
            buf,
            pos: 0,
            end: buf.len(),
            what,
        }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], McapError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.end)
            .ok_or(McapError::Truncated(self.what))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub fn is_empty(&self) -> bool {
        self.pos >= self.end
    }
    pub fn u16(&mut self) -> Result<u16, McapError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2")))
    }
    pub fn u32(&mut self) -> Result<u32, McapError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    pub fn u64(&mut self) -> Result<u64, McapError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
    pub fn string(&mut self) -> Result<String, McapError> {
        let n = self.u32()? as usize;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| McapError::Malformed("string is not UTF-8"))
    }
    fn slice(&mut self, n: usize) -> Result<Bytes, McapError> {
        let start = self.pos;
        self.take(n)?;
        Ok(self.buf.slice(start..start + n))
    }
    pub fn bytes32(&mut self) -> Result<Bytes, McapError> {
        let n = self.u32()? as usize;
        self.slice(n)
    }
    pub fn bytes64(&mut self) -> Result<Bytes, McapError> {
        let n = usize::try_from(self.u64()?).map_err(|_| McapError::Truncated(self.what))?;
        self.slice(n)
    }
    pub fn rest(&mut self) -> Bytes {
        let s = self.buf.slice(self.pos..self.end);
        self.pos = self.end;
        s
    }
    /// A decoder over the next `u32`-length-prefixed region.
    pub fn sub32(&mut self) -> Result<Dec<'a>, McapError> {
        let n = self.u32()? as usize;
        let start = self.pos;
        self.take(n)?;
        Ok(Dec {
            buf: self.buf,
            pos: start,
            end: start + n,
            what: self.what,
        })
    }
    pub fn string_map(&mut self) -> Result<BTreeMap<String, String>, McapError> {
        let mut sub = self.sub32()?;
        let mut map = BTreeMap::new();
        while !sub.is_empty() {
            let k = sub.string()?;
            let v = sub.string()?;
            map.insert(k, v);
        }
        Ok(map)
    }
}

/// Splits a buffer of records into `(opcode, body)` pairs; stops at the first record that
/// does not fit and reports how far it got.
pub(crate) struct RecordIter<'a> {
    buf: &'a Bytes,
    pub pos: usize,
    end: usize,
}

impl<'a> RecordIter<'a> {
    pub fn new(buf: &'a Bytes, start: usize, end: usize) -> Self {
        Self {
            buf,
            pos: start,
            end: end.min(buf.len()),
        }
    }
}

/// One record as found in a buffer.
pub(crate) struct RawRecord {
    pub opcode: u8,
    /// Offset of the opcode.
    pub offset: usize,
    pub body: Bytes,
}

impl Iterator for RecordIter<'_> {
    type Item = Result<RawRecord, McapError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.end {
            return None;
        }
        let offset = self.pos;
        let Some(head) = self
            .buf
            .get(offset..offset + 9)
            .filter(|_| offset + 9 <= self.end)
        else {
            self.pos = self.end;
            return Some(Err(McapError::Truncated("record header")));
        };
        let opcode = head[0];
        let len = u64::from_le_bytes(head[1..9].try_into().expect("8"));
        let body_start = offset + 9;
        let fits = usize::try_from(len)
            .ok()
            .and_then(|l| body_start.checked_add(l))
            .filter(|e| *e <= self.end);
        let Some(body_end) = fits else {
            self.pos = self.end;
            return Some(Err(McapError::Truncated("record")));
        };
        self.pos = body_end;
        Some(Ok(RawRecord {
            opcode,
            offset,
            body: self.buf.slice(body_start..body_end),
        }))
    }
}
