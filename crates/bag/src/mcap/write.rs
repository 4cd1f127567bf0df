//! A chunked, indexed MCAP writer with a complete summary, as rosbag2's MCAP plugin writes.

use std::collections::BTreeMap;
use std::io::Write;

use bytes::Bytes;

use super::records::{
    ChunkIndex, Enc, MAGIC, Message, MessageHeader, Metadata, Schema, Statistics, op,
};
use super::{Channel, Compression, McapError};

/// How a file is written.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Header profile (`ros2` for bags).
    pub profile: String,
    /// Header library string.
    pub library: String,
    /// Chunk compression.
    pub compression: Compression,
    /// A chunk is closed once its uncompressed records reach this many bytes.
    pub chunk_size: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            profile: "ros2".into(),
            library: concat!("embody-bag ", env!("CARGO_PKG_VERSION")).into(),
            compression: Compression::None,
            // rosbag2's MCAP plugin default (768 KiB).
            chunk_size: 768 * 1024,
        }
    }
}

/// Writes one MCAP file. Call [`McapWriter::finish`] to write the summary; a writer that is
/// dropped (or a process that dies) leaves every closed chunk readable by a linear scan.
pub struct McapWriter<W: Write> {
    out: W,
    pos: u64,
    opts: WriteOptions,
    schemas: Vec<Schema>,
    channels: Vec<Channel>,
    chunk: OpenChunk,
    chunk_indexes: Vec<ChunkIndex>,
    metadata_indexes: Vec<(u64, u64, String)>,
    stats: Statistics,
    scratch: Vec<u8>,
    finished: bool,
}

#[derive(Default)]
struct OpenChunk {
    records: Vec<u8>,
    start: u64,
    end: u64,
    messages: usize,
    index: BTreeMap<u16, Vec<(u64, u64)>>,
}

impl<W: Write> McapWriter<W> {
    /// Writes the magic and the header record.
    pub fn new(mut out: W, opts: WriteOptions) -> Result<Self, McapError> {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(MAGIC);
        let mut e = Enc(&mut buf);
        let at = e.begin_record(op::HEADER);
        e.str(&opts.profile);
        e.str(&opts.library);
        e.end_record(at);
        out.write_all(&buf)?;
        Ok(Self {
            out,
            pos: buf.len() as u64,
            chunk: OpenChunk {
                records: Vec::with_capacity(opts.chunk_size + 1024),
                ..OpenChunk::default()
            },
            opts,
            schemas: Vec::new(),
            channels: Vec::new(),
            chunk_indexes: Vec::new(),
            metadata_indexes: Vec::new(),
            stats: Statistics::default(),
            scratch: Vec::new(),
            finished: false,
        })
    }

    /// Registers a schema (deduplicated) and returns its id.
    pub fn add_schema(&mut self, name: &str, encoding: &str, data: &[u8]) -> u16 {
        if let Some(s) = self
            .schemas
            .iter()
            .find(|s| s.name == name && s.encoding == encoding && s.data == data)
        {
            return s.id;
        }
        let schema = Schema {
            id: self.schemas.len() as u16 + 1,
            name: name.into(),
            encoding: encoding.into(),
            data: Bytes::copy_from_slice(data),
        };
        // Written into the data section too, so a file without summary still has it.
        schema.encode(&mut self.chunk.records);
        let id = schema.id;
        self.schemas.push(schema);
        id
    }

    /// Registers a channel and returns its id.
    pub fn add_channel(
        &mut self,
        schema_id: u16,
        topic: &str,
        message_encoding: &str,
        metadata: BTreeMap<String, String>,
    ) -> u16 {
        let channel = Channel {
            id: self.channels.len() as u16,
            schema_id,
            topic: topic.into(),
            message_encoding: message_encoding.into(),
            metadata,
        };
        channel.encode(&mut self.chunk.records);
        let id = channel.id;
        self.channels.push(channel);
        id
    }

    /// Appends a message to the open chunk, closing it when it is full.
    pub fn write(&mut self, header: &MessageHeader, data: &[u8]) -> Result<(), McapError> {
        if usize::from(header.channel_id) >= self.channels.len() {
            return Err(McapError::UnknownChannel(header.channel_id));
        }
        let c = &mut self.chunk;
        let offset = c.records.len() as u64;
        Message::encode_header(&mut c.records, header, data.len());
        c.records.extend_from_slice(data);
        if c.messages == 0 {
            c.start = header.log_time;
            c.end = header.log_time;
        } else {
            c.start = c.start.min(header.log_time);
            c.end = c.end.max(header.log_time);
        }
        c.messages += 1;
        c.index
            .entry(header.channel_id)
            .or_default()
            .push((header.log_time, offset));

        let s = &mut self.stats;
        if s.message_count == 0 {
            s.message_start_time = header.log_time;
            s.message_end_time = header.log_time;
        } else {
            s.message_start_time = s.message_start_time.min(header.log_time);
            s.message_end_time = s.message_end_time.max(header.log_time);
        }
        s.message_count += 1;
        *s.channel_message_counts
            .entry(header.channel_id)
            .or_default() += 1;

        if self.chunk.records.len() >= self.opts.chunk_size {
            self.close_chunk()?;
        }
        Ok(())
    }

    /// Bytes written to the file so far (closed chunks only).
    pub fn bytes_written(&self) -> u64 {
        self.pos
    }

    /// Bytes waiting in the open chunk.
    pub fn pending_bytes(&self) -> usize {
        self.chunk.records.len()
    }

    /// Closes the open chunk (if it holds anything), writes it with its message indexes and
    /// flushes the output, so everything written so far survives a crash.
    pub fn close_chunk(&mut self) -> Result<(), McapError> {
        if self.chunk.records.is_empty() {
            return Ok(());
        }
        let mut chunk = std::mem::take(&mut self.chunk);
        let uncompressed_size = chunk.records.len() as u64;
        let crc = crc32fast::hash(&chunk.records);
        let compressed: std::borrow::Cow<'_, [u8]> = match self.opts.compression {
            Compression::None => (&chunk.records[..]).into(),
            Compression::Zstd => zstd::bulk::compress(&chunk.records, 1)?.into(),
            Compression::Lz4 => {
                let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
                enc.write_all(&chunk.records)?;
                enc.finish().map_err(std::io::Error::other)?.into()
            }
        };
        let compression = self.opts.compression.as_str();

        let buf = &mut self.scratch;
        buf.clear();
        let mut e = Enc(buf);
        e.u8(op::CHUNK);
        let body_len = 8 + 8 + 8 + 4 + 4 + compression.len() + 8 + compressed.len();
        e.u64(body_len as u64);
        e.u64(chunk.start);
        e.u64(chunk.end);
        e.u64(uncompressed_size);
        e.u32(crc);
        e.str(compression);
        e.u64(compressed.len() as u64);
        let chunk_start_offset = self.pos;
        self.out.write_all(buf)?;
        self.out.write_all(&compressed)?;
        let chunk_length = (buf.len() + compressed.len()) as u64;
        self.pos += chunk_length;

        buf.clear();
        let mut message_index_offsets = BTreeMap::new();
        for (ch, entries) in &mut chunk.index {
            // Readers may binary-search an index; out-of-order writes must not break that.
            entries.sort_by_key(|(t, _)| *t);
            message_index_offsets.insert(*ch, self.pos + buf.len() as u64);
            let mut e = Enc(buf);
            let at = e.begin_record(op::MESSAGE_INDEX);
            e.u16(*ch);
            e.u32((entries.len() * 16) as u32);
            for (t, off) in entries {
                e.u64(*t);
                e.u64(*off);
            }
            e.end_record(at);
        }
        self.out.write_all(buf)?;
        let message_index_length = buf.len() as u64;
        self.pos += message_index_length;
        self.out.flush()?;

        self.chunk_indexes.push(ChunkIndex {
            message_start_time: chunk.start,
            message_end_time: chunk.end,
            chunk_start_offset,
            chunk_length,
            message_index_offsets,
            message_index_length,
            compression: compression.into(),
            compressed_size: compressed.len() as u64,
            uncompressed_size,
        });
        // Reuse the allocation for the next chunk.
        let mut records = chunk.records;
        records.clear();
        self.chunk.records = records;
        Ok(())
    }

    /// Writes a metadata record (outside chunks) and indexes it.
    pub fn write_metadata(&mut self, m: &Metadata) -> Result<(), McapError> {
        self.close_chunk()?;
        let mut buf = Vec::new();
        m.encode(&mut buf);
        self.out.write_all(&buf)?;
        self.metadata_indexes
            .push((self.pos, buf.len() as u64, m.name.clone()));
        self.pos += buf.len() as u64;
        Ok(())
    }

    /// Closes the last chunk and writes data end, summary, summary offsets and footer.
    pub fn finish(mut self) -> Result<(), McapError> {
        self.finish_in_place()
    }

    fn finish_in_place(&mut self) -> Result<(), McapError> {
        if self.finished {
            return Ok(());
        }
        self.close_chunk()?;
        let mut buf = Vec::new();
        let mut e = Enc(&mut buf);
        let at = e.begin_record(op::DATA_END);
        e.u32(0);
        e.end_record(at);
        self.out.write_all(&buf)?;
        self.pos += buf.len() as u64;

        let summary_start = self.pos;
        let mut summary = Vec::new();
        let mut groups: Vec<(u8, u64, u64)> = Vec::new();
        let mut group = |summary: &mut Vec<u8>, opcode: u8, f: &mut dyn FnMut(&mut Vec<u8>)| {
            let start = summary.len();
            f(summary);
            if summary.len() > start {
                groups.push((
                    opcode,
                    summary_start + start as u64,
                    (summary.len() - start) as u64,
                ));
            }
        };
        group(&mut summary, op::SCHEMA, &mut |b| {
            self.schemas.iter().for_each(|s| s.encode(b))
        });
        group(&mut summary, op::CHANNEL, &mut |b| {
            self.channels.iter().for_each(|c| c.encode(b))
        });
        let mut stats = self.stats.clone();
        stats.schema_count = self.schemas.len() as u16;
        stats.channel_count = self.channels.len() as u32;
        stats.metadata_count = self.metadata_indexes.len() as u32;
        stats.chunk_count = self.chunk_indexes.len() as u32;
        group(&mut summary, op::STATISTICS, &mut |b| stats.encode(b));
        group(&mut summary, op::CHUNK_INDEX, &mut |b| {
            self.chunk_indexes.iter().for_each(|c| c.encode(b))
        });
        group(&mut summary, op::METADATA_INDEX, &mut |b| {
            for (offset, length, name) in &self.metadata_indexes {
                let mut e = Enc(b);
                let at = e.begin_record(op::METADATA_INDEX);
                e.u64(*offset);
                e.u64(*length);
                e.str(name);
                e.end_record(at);
            }
        });
        let summary_offset_start = summary_start + summary.len() as u64;
        for (opcode, start, length) in &groups {
            let mut e = Enc(&mut summary);
            let at = e.begin_record(op::SUMMARY_OFFSET);
            e.u8(*opcode);
            e.u64(*start);
            e.u64(*length);
            e.end_record(at);
        }
        let mut e = Enc(&mut summary);
        e.u8(op::FOOTER);
        e.u64(8 + 8 + 4);
        e.u64(summary_start);
        e.u64(summary_offset_start);
        let crc = crc32fast::hash(&summary);
        Enc(&mut summary).u32(crc);
        summary.extend_from_slice(MAGIC);
        self.out.write_all(&summary)?;
        self.pos += summary.len() as u64;
        self.out.flush()?;
        self.finished = true;
        Ok(())
    }
}

impl<W: Write> Drop for McapWriter<W> {
    fn drop(&mut self) {
        // A writer dropped without `finish` (an error path) still leaves a complete file.
        if !self.finished {
            let _ = self.finish_in_place();
        }
    }
}
