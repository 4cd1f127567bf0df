//! The MCAP writer and reader of embody-bag through their public API: round trips with every
//! compression, many channels and chunks, log-time ordering across chunks, files a killed
//! writer leaves behind, damaged chunks, split bags, bags without `metadata.yaml` and the
//! `metadata.yaml` the writer produces.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use embody::qos::{Durability, QosProfile, Reliability};
use embody_bag::mcap::{
    Compression, FileState, McapFile, McapWriter, Message, MessageHeader, Metadata, WriteOptions,
};
use embody_bag::{Bag, BagMetadata, BagWriter, WriterOptions};
use embody_msgs::Message as _;
use embody_msgs::geometry_msgs::msg::{Twist, Vector3};
use embody_msgs::std_msgs::msg::String as RosString;

use embody_testkit::TempDir;

/// An output whose bytes can be looked at while the writer still owns it.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Shared {
    fn snapshot(&self) -> Vec<u8> {
        self.0.borrow().clone()
    }
}

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One message as written: channel, sequence, log time, publish time, payload.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Written {
    channel: u16,
    sequence: u32,
    log_time: u64,
    publish_time: u64,
    data: Vec<u8>,
}

impl Written {
    fn header(&self) -> MessageHeader {
        MessageHeader {
            channel_id: self.channel,
            sequence: self.sequence,
            log_time: self.log_time,
            publish_time: self.publish_time,
        }
    }
}

fn from_read(m: &Message) -> Written {
    Written {
        channel: m.channel_id,
        sequence: m.sequence,
        log_time: m.log_time,
        publish_time: m.publish_time,
        data: m.data.to_vec(),
    }
}

/// A compressible payload unique to message `k`, 10 to 99 bytes long.
fn payload(k: usize) -> Vec<u8> {
    let len = 10 + (k * 37) % 90;
    let text = format!("message {k} of the test; ");
    text.bytes().cycle().take(len).collect()
}

fn options(compression: Compression, chunk_size: usize) -> WriteOptions {
    WriteOptions {
        compression,
        chunk_size,
        ..WriteOptions::default()
    }
}

const SCHEMAS: [(&str, &str); 3] = [
    ("std_msgs/msg/String", "string data"),
    ("std_msgs/msg/UInt32", "uint32 data"),
    ("std_msgs/msg/Bool", "bool data"),
];

fn topic(c: u16) -> String {
    format!("/topic_{c}")
}

fn channel_metadata(c: u16) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("offered_qos_profiles".to_owned(), format!("- depth: {c}\n")),
        ("topic_type_hash".to_owned(), format!("RIHS01_{c:064x}")),
    ])
}

/// Registers the 3 schemas and `channels` channels (channel `c` uses schema `c % 3`).
fn register<W: Write>(w: &mut McapWriter<W>, channels: u16) {
    let ids: Vec<u16> = SCHEMAS
        .iter()
        .map(|(name, text)| w.add_schema(name, "ros2msg", text.as_bytes()))
        .collect();
    assert_eq!(ids, [1, 2, 3], "schema ids are 1-based");
    // Registering the same schema again gives the same id.
    assert_eq!(
        w.add_schema(SCHEMAS[1].0, "ros2msg", SCHEMAS[1].1.as_bytes()),
        2
    );
    for c in 0..channels {
        let id = w.add_channel(
            ids[usize::from(c) % 3],
            &topic(c),
            "cdr",
            channel_metadata(c),
        );
        assert_eq!(id, c);
    }
}

/// `n` messages over `channels` channels, in log-time order.
fn in_order(n: usize, channels: u16) -> Vec<Written> {
    (0..n)
        .map(|k| Written {
            channel: (k % usize::from(channels)) as u16,
            sequence: k as u32,
            log_time: 1_000 + 10 * k as u64,
            publish_time: 997 + 10 * k as u64,
            data: payload(k),
        })
        .collect()
}

/// Writes a complete file; `close_every` closes a chunk after that many messages.
fn write_file(
    opts: WriteOptions,
    channels: u16,
    msgs: &[Written],
    close_every: Option<usize>,
) -> Vec<u8> {
    let out = Shared::default();
    let mut w = McapWriter::new(out.clone(), opts).unwrap();
    register(&mut w, channels);
    for (i, m) in msgs.iter().enumerate() {
        w.write(&m.header(), &m.data).unwrap();
        if close_every.is_some_and(|n| (i + 1) % n == 0) {
            w.close_chunk().unwrap();
        }
    }
    w.write_metadata(&Metadata {
        name: "test".into(),
        metadata: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
    })
    .unwrap();
    w.finish().unwrap();
    out.snapshot()
}

fn read_all(f: &McapFile, channels: Option<BTreeSet<u16>>) -> Vec<Written> {
    f.messages(channels)
        .map(|m| from_read(&m.expect("message reads")))
        .collect()
}

fn round_trip(compression: Compression) {
    let msgs = in_order(600, 12);
    let bytes = write_file(options(compression, 512), 12, &msgs, None);
    // Through a real file, as bags are read.
    let dir = TempDir::new("bag-mcap-round-trip");
    let path = dir.path().join("x.mcap");
    std::fs::write(&path, &bytes).unwrap();
    let f = McapFile::open(&path).unwrap();

    assert_eq!(f.state, FileState::Complete);
    assert!(f.damage.is_empty(), "{:?}", f.damage);
    assert_eq!(f.profile, "ros2");
    assert!(f.library.starts_with("embody-bag "), "{}", f.library);
    assert_eq!(f.schemas.len(), 3);
    for (i, (name, text)) in SCHEMAS.iter().enumerate() {
        let s = &f.schemas[&(i as u16 + 1)];
        assert_eq!((s.name.as_str(), s.encoding.as_str()), (*name, "ros2msg"));
        assert_eq!(&s.data[..], text.as_bytes());
    }
    assert_eq!(f.channels.len(), 12);
    for c in 0..12u16 {
        let ch = &f.channels[&c];
        assert_eq!(ch.topic, topic(c));
        assert_eq!(ch.schema_id, c % 3 + 1);
        assert_eq!(ch.message_encoding, "cdr");
        assert_eq!(ch.metadata, channel_metadata(c));
    }
    let s = &f.statistics;
    assert_eq!(s.message_count, 600);
    assert_eq!((s.message_start_time, s.message_end_time), (1_000, 6_990));
    assert_eq!(s.channel_count, 12);
    assert_eq!(s.schema_count, 3);
    assert_eq!(s.metadata_count, 1);
    assert!(s.channel_message_counts.values().all(|n| *n == 50));
    assert_eq!(s.channel_message_counts.len(), 12);
    assert_eq!(f.metadata.len(), 1);
    assert_eq!(f.metadata[0].metadata["k"], "v");

    let chunks = f
        .chunk_indexes()
        .expect("a finished file has chunk indexes");
    assert!(chunks.len() > 50, "{} chunks", chunks.len());
    assert_eq!(s.chunk_count as usize, chunks.len());
    assert!(chunks.iter().all(|c| c.compression == compression.as_str()));
    let stored: u64 = chunks.iter().map(|c| c.compressed_size).sum();
    let raw: u64 = chunks.iter().map(|c| c.uncompressed_size).sum();
    if compression == Compression::None {
        assert_eq!(stored, raw);
    } else {
        assert!(stored < raw, "{compression:?}: {stored} stored of {raw}");
    }

    let back = read_all(&f, None);
    assert_eq!(back.len(), 600);
    assert_eq!(back, msgs);
    let payload_bytes: usize = back.iter().map(|m| m.data.len()).sum();
    assert_eq!(
        payload_bytes,
        msgs.iter().map(|m| m.data.len()).sum::<usize>()
    );

    // Only some channels.
    let some = read_all(&f, Some(BTreeSet::from([3, 7])));
    let want: Vec<Written> = msgs
        .iter()
        .filter(|m| m.channel == 3 || m.channel == 7)
        .cloned()
        .collect();
    assert_eq!(some.len(), 100);
    assert_eq!(some, want);
    assert_eq!(read_all(&f, Some(BTreeSet::new())).len(), 0);
}

#[test]
fn round_trip_uncompressed() {
    round_trip(Compression::None);
}

#[test]
fn round_trip_zstd() {
    round_trip(Compression::Zstd);
}

#[test]
fn round_trip_lz4() {
    round_trip(Compression::Lz4);
}

#[test]
fn out_of_order_messages_come_back_in_log_time_order() {
    // 300 messages whose log times are a permutation, so chunk time ranges overlap.
    let n = 300usize;
    let msgs: Vec<Written> = (0..n)
        .map(|k| {
            let t = ((k * 7919) % n) as u64 * 1_000 + 5;
            Written {
                channel: (k % 4) as u16,
                sequence: k as u32,
                log_time: t,
                publish_time: t,
                data: payload(k),
            }
        })
        .collect();
    for compression in [Compression::None, Compression::Zstd] {
        let bytes = write_file(options(compression, 300), 4, &msgs, None);
        let f = McapFile::from_bytes(Bytes::from(bytes.clone())).unwrap();
        let chunks = f.chunk_indexes().unwrap();
        assert!(chunks.len() > 20, "{} chunks", chunks.len());
        // The chunks really overlap in time: the merge has work to do.
        let mut by_offset = chunks.to_vec();
        by_offset.sort_by_key(|c| c.chunk_start_offset);
        assert!(
            by_offset
                .windows(2)
                .any(|w| w[1].message_start_time < w[0].message_end_time)
        );
        assert_eq!(f.statistics.message_start_time, 5);
        assert_eq!(f.statistics.message_end_time, 299_005);

        let back = read_all(&f, None);
        let times: Vec<u64> = back.iter().map(|m| m.log_time).collect();
        let want: Vec<u64> = (0..n as u64).map(|i| i * 1_000 + 5).collect();
        assert_eq!(times, want, "{compression:?}");
        let mut sorted = msgs.clone();
        sorted.sort_by_key(|m| m.log_time);
        assert_eq!(back, sorted);

        // One channel only, still in order.
        let one = read_all(&f, Some(BTreeSet::from([2])));
        assert_eq!(one.len(), 75);
        assert!(one.windows(2).all(|w| w[0].log_time < w[1].log_time));
        assert!(one.iter().all(|m| m.channel == 2));

        // Without the summary, the linear scan gives file order.
        let cut = &bytes[..bytes.len() - 1];
        let f = McapFile::from_bytes(Bytes::copy_from_slice(cut)).unwrap();
        assert!(matches!(f.state, FileState::Unfinished { .. }));
        assert_eq!(read_all(&f, None), msgs);
    }
}

/// Top-level records of an MCAP file: `(opcode, start, end)`.
fn records(bytes: &[u8]) -> Vec<(u8, usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 8;
    while pos + 9 <= bytes.len() {
        let op = bytes[pos];
        let len = u64::from_le_bytes(bytes[pos + 1..pos + 9].try_into().unwrap()) as usize;
        let end = pos + 9 + len;
        out.push((op, pos, end));
        if op == 0x02 {
            break;
        }
        pos = end;
    }
    out
}

#[test]
fn truncated_files_yield_the_messages_of_complete_chunks() {
    let msgs = in_order(50, 3);
    for compression in [Compression::None, Compression::Zstd, Compression::Lz4] {
        // Big chunks, closed explicitly every 10 messages: 5 chunks of 10.
        let bytes = write_file(options(compression, 1 << 20), 3, &msgs, Some(10));
        let recs = records(&bytes);
        let chunks: Vec<(usize, usize)> = recs
            .iter()
            .filter(|r| r.0 == 0x06)
            .map(|r| (r.1, r.2))
            .collect();
        assert_eq!(chunks.len(), 5);
        let data_end = recs.iter().find(|r| r.0 == 0x0F).unwrap();
        let header_end = recs[0].2;

        let mut cuts = vec![header_end];
        for &(start, end) in &chunks {
            cuts.extend([start + 1, start + 9, start + 40, end - 1, end, end + 3]);
        }
        cuts.extend([data_end.1 + 2, data_end.2, data_end.2 + 10, bytes.len() - 9]);
        cuts.push(bytes.len() - 1);
        for cut in cuts {
            let f = McapFile::from_bytes(Bytes::copy_from_slice(&bytes[..cut]))
                .unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            let complete = chunks.iter().filter(|c| c.1 <= cut).count();
            // Intact records reach up to the last one that ends before the cut.
            let valid = recs
                .iter()
                .filter(|r| r.2 <= cut)
                .map(|r| r.2)
                .max()
                .unwrap();
            let valid = if cut > data_end.1 {
                data_end.2.min(valid)
            } else {
                valid
            };
            assert_eq!(
                f.state,
                FileState::Unfinished {
                    valid_bytes: valid as u64
                },
                "{compression:?} cut at {cut}"
            );
            assert!(f.damage.is_empty(), "cut at {cut}: {:?}", f.damage);
            let back = read_all(&f, None);
            assert_eq!(back.len(), complete * 10, "{compression:?} cut at {cut}");
            assert_eq!(back, msgs[..complete * 10], "cut at {cut}");
            assert_eq!(f.statistics.message_count, complete as u64 * 10);
            assert_eq!(f.statistics.chunk_count as usize, complete);
            // Schemas and channels live in the first chunk.
            let want_channels = if complete > 0 { 3 } else { 0 };
            assert_eq!(f.channels.len(), want_channels, "cut at {cut}");
            if complete > 0 {
                assert_eq!(f.statistics.message_start_time, 1_000);
                assert_eq!(
                    f.statistics.message_end_time,
                    1_000 + 10 * (complete as u64 * 10 - 1)
                );
            }
        }
        // Cut inside the header record: not an MCAP file any more.
        assert!(McapFile::from_bytes(Bytes::copy_from_slice(&bytes[..header_end - 1])).is_err());
        // Cut inside the magic (or empty): a writer killed before anything reached the disk.
        for n in [0, 4] {
            let f = McapFile::from_bytes(Bytes::copy_from_slice(&bytes[..n])).unwrap();
            assert_eq!(f.state, FileState::Unfinished { valid_bytes: 0 });
            assert_eq!(f.messages(None).count(), 0);
        }
        // Anything else that does not start with the magic is not MCAP.
        assert!(McapFile::from_bytes(Bytes::from_static(b"\x89MCAX0\r\nmore")).is_err());
    }
}

#[test]
fn a_killed_writer_leaves_its_closed_chunks_readable() {
    let msgs = in_order(25, 2);
    let out = Shared::default();
    let mut w = McapWriter::new(out.clone(), options(Compression::Zstd, 1 << 20)).unwrap();
    register(&mut w, 2);
    for (i, m) in msgs.iter().enumerate() {
        w.write(&m.header(), &m.data).unwrap();
        if i == 9 || i == 19 {
            w.close_chunk().unwrap();
        }
    }
    assert!(w.pending_bytes() > 0);
    // The process dies here: 5 messages were still in the open chunk.
    let on_disk = out.snapshot();
    assert_eq!(on_disk.len() as u64, w.bytes_written());
    let f = McapFile::from_bytes(Bytes::from(on_disk.clone())).unwrap();
    assert_eq!(
        f.state,
        FileState::Unfinished {
            valid_bytes: on_disk.len() as u64
        }
    );
    assert_eq!(read_all(&f, None), msgs[..20]);
    assert_eq!(f.statistics.message_count, 20);
    assert_eq!(f.statistics.channel_message_counts[&0], 10);
    assert_eq!(f.channels[&1].topic, "/topic_1");

    // A writer dropped without `finish` still completes the file.
    drop(w);
    let f = McapFile::from_bytes(Bytes::from(out.snapshot())).unwrap();
    assert_eq!(f.state, FileState::Complete);
    assert_eq!(read_all(&f, None), msgs);
}

#[test]
fn a_corrupt_chunk_is_reported_and_the_others_still_read() {
    let msgs = in_order(50, 3);
    for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
        let mut bytes = write_file(options(compression, 1 << 20), 3, &msgs, Some(10));
        let chunks: Vec<(usize, usize)> = records(&bytes)
            .iter()
            .filter(|r| r.0 == 0x06)
            .map(|r| (r.1, r.2))
            .collect();
        // Flip a byte in the middle of the third chunk's stored records.
        let (start, end) = chunks[2];
        let records_start = start + 9 + 8 + 8 + 8 + 4 + 4 + compression.as_str().len() + 8;
        let at = records_start + (end - records_start) / 2;
        bytes[at] ^= 0x20;
        let want: Vec<Written> = msgs
            .iter()
            .enumerate()
            .filter(|(i, _)| !(20..30).contains(i))
            .map(|(_, m)| m.clone())
            .collect();
        let check = |f: &McapFile, what: &str| {
            let mut ok = Vec::new();
            let mut errors = Vec::new();
            for m in f.messages(None) {
                match m {
                    Ok(m) => ok.push(from_read(&m)),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            assert_eq!(errors.len(), 1, "{compression:?} {what}: {errors:?}");
            let e = &errors[0];
            let chunk_offset = format!("offset {start}");
            assert!(
                e.contains(&chunk_offset) && (e.contains("CRC") || e.contains("corrupt")),
                "{compression:?} {what}: {e}"
            );
            assert_eq!(ok, want, "{compression:?} {what}");
        };
        let f = McapFile::from_bytes(Bytes::from(bytes.clone())).unwrap();
        assert_eq!(f.state, FileState::Complete);
        check(&f, "indexed");

        // Without summary the scan reports the damage on open too.
        let cut = Bytes::copy_from_slice(&bytes[..bytes.len() - 1]);
        let f = McapFile::from_bytes(cut).unwrap();
        assert_eq!(f.damage.len(), 1, "{:?}", f.damage);
        assert_eq!(f.statistics.message_count, 40);
        check(&f, "linear");

        // Through a bag: the error names the file, the rest is read.
        let dir = TempDir::new("bag-mcap-corrupt");
        let path = dir.path().join("damaged.mcap");
        std::fs::write(&path, &bytes).unwrap();
        let bag = Bag::open(&path).unwrap();
        let results: Vec<_> = bag.messages(None).collect();
        let errors: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
            .collect();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("damaged.mcap"), "{}", errors[0]);
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 40);
    }
}

fn twist(i: usize) -> Twist {
    Twist {
        linear: Vector3 {
            x: i as f64 * 0.5,
            y: -1.0,
            z: 0.0,
        },
        angular: Vector3 {
            x: 0.0,
            y: 0.0,
            z: i as f64 * -0.25,
        },
    }
}

fn chatter(i: usize) -> RosString {
    RosString {
        data: format!("hello {i} {}", "x".repeat(i % 40)),
    }
}

/// `(topic index, log time, publish time, cdr)` of a two-topic recording.
fn recording(n: usize) -> Vec<(usize, u64, u64, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let t = 1_700_000_000_000_000_000 + i as u64 * 1_000_000;
            let cdr = if i % 3 == 0 {
                twist(i).to_cdr().unwrap()
            } else {
                chatter(i).to_cdr().unwrap()
            };
            (usize::from(i % 3 != 0), t, t - 500, cdr)
        })
        .collect()
}

const TOPICS: [(&str, &str); 2] = [
    ("/cmd_vel", "geometry_msgs/msg/Twist"),
    ("/chatter", "std_msgs/msg/String"),
];

fn write_bag(dir: &Path, opts: WriterOptions, msgs: &[(usize, u64, u64, Vec<u8>)]) -> BagWriter {
    let mut w = BagWriter::create(dir, opts).unwrap();
    let ids: Vec<_> = TOPICS
        .iter()
        .map(|(name, ty)| {
            w.add_known_topic(name, ty, vec![QosProfile::default()])
                .unwrap()
        })
        .collect();
    for (topic, log, publish, cdr) in msgs {
        w.write(ids[*topic], *log, *publish, cdr).unwrap();
    }
    w
}

/// `(topic, log time, publish time, data)` read from a bag.
fn bag_messages(bag: &Bag) -> Vec<(String, u64, u64, Vec<u8>)> {
    bag.messages(None)
        .map(|m| {
            let m = m.unwrap();
            (
                bag.connections[m.connection].topic.clone(),
                m.log_time,
                m.publish_time,
                m.data.to_vec(),
            )
        })
        .collect()
}

fn expected(msgs: &[(usize, u64, u64, Vec<u8>)]) -> Vec<(String, u64, u64, Vec<u8>)> {
    msgs.iter()
        .map(|(t, l, p, d)| (TOPICS[*t].0.to_owned(), *l, *p, d.clone()))
        .collect()
}

#[test]
fn split_bags_read_back_whole_and_file_by_file() {
    let tmp = TempDir::new("bag-mcap-split");
    let dir = tmp.path().join("rec");
    let msgs = recording(400);
    let opts = WriterOptions {
        compression: Compression::Zstd,
        max_bag_size: 4096,
        chunk_size: 1024,
        ..WriterOptions::default()
    };
    let meta = write_bag(&dir, opts, &msgs).close().unwrap();
    let files = &meta.relative_file_paths;
    assert!(files.len() >= 3, "{files:?}");
    for (i, f) in files.iter().enumerate() {
        assert_eq!(*f, format!("rec_{i}.mcap"));
        let len = std::fs::metadata(dir.join(f)).unwrap().len();
        if i + 1 < files.len() {
            assert!(len >= 4096, "{f} is {len} bytes");
        }
    }
    assert_eq!(meta.message_count, 400);
    assert_eq!(meta.files.iter().map(|f| f.message_count).sum::<u64>(), 400);

    let bag = Bag::open(&dir).unwrap();
    assert!(bag.has_metadata_file);
    assert!(bag.warnings.is_empty(), "{:?}", bag.warnings);
    assert!(!bag.is_unfinished());
    assert_eq!(bag.file_paths().len(), files.len());
    assert_eq!(bag.metadata.message_count, 400);
    assert_eq!(bag.metadata.starting_time, msgs[0].1);
    assert_eq!(bag.metadata.duration, msgs[399].1 - msgs[0].1);
    assert_eq!(bag.connections.len(), 2);
    let count = |topic: &str| {
        bag.connections
            .iter()
            .find(|c| c.topic == topic)
            .unwrap()
            .message_count
    };
    assert_eq!(count("/cmd_vel"), 134);
    assert_eq!(count("/chatter"), 266);
    assert_eq!(bag_messages(&bag), expected(&msgs));

    // Each file alone, in split order, gives the same messages.
    let mut all = Vec::new();
    let mut per_file = Vec::new();
    for f in files {
        let single = Bag::open(dir.join(f)).unwrap();
        assert!(!single.has_metadata_file);
        assert!(single.warnings.is_empty(), "{:?}", single.warnings);
        per_file.push(single.metadata.message_count);
        all.extend(bag_messages(&single));
        // Every file carries rosbag2's metadata record.
        let m = McapFile::open(&dir.join(f)).unwrap();
        let rec = m.metadata.iter().find(|m| m.name == "rosbag2").unwrap();
        let inner = BagMetadata::parse(&rec.metadata["serialized_metadata"], f).unwrap();
        assert_eq!(inner.version, 9);
        assert!(inner.relative_file_paths.contains(f));
    }
    assert_eq!(all, expected(&msgs));
    assert_eq!(
        per_file,
        meta.files
            .iter()
            .map(|f| f.message_count)
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_bag_directory_without_metadata_yaml_opens_with_a_warning() {
    let tmp = TempDir::new("bag-mcap-unfinished");
    let msgs = recording(60);

    // A recorder killed after flushing 50 messages; 10 more were only in memory.
    let dir = tmp.path().join("killed");
    let mut w = write_bag(&dir, WriterOptions::default(), &msgs[..50]);
    w.flush().unwrap();
    let ids: Vec<_> = TOPICS
        .iter()
        .map(|(name, ty)| w.add_known_topic(name, ty, Vec::new()).unwrap())
        .collect();
    for (topic, log, publish, cdr) in &msgs[50..] {
        w.write(ids[*topic], *log, *publish, cdr).unwrap();
    }
    // No destructor runs when a process is killed.
    std::mem::forget(w);
    assert!(!dir.join("metadata.yaml").exists());
    let bag = Bag::open(&dir).unwrap();
    assert!(!bag.has_metadata_file);
    assert!(bag.is_unfinished());
    let all = bag.warnings.join("\n");
    assert!(all.contains("no metadata.yaml"), "{all}");
    assert!(all.contains("unfinished"), "{all}");
    assert_eq!(bag.metadata.message_count, 50);
    assert_eq!(bag.metadata.storage_identifier, "mcap");
    assert_eq!(bag_messages(&bag), expected(&msgs[..50]));
    let types: BTreeSet<(&str, &str)> = bag
        .connections
        .iter()
        .map(|c| (c.topic.as_str(), c.type_name.as_str()))
        .collect();
    assert_eq!(types, TOPICS.into_iter().collect());

    // A finished bag whose metadata.yaml was lost: warned about, complete.
    let dir = tmp.path().join("lost_yaml");
    write_bag(&dir, WriterOptions::default(), &msgs)
        .close()
        .unwrap();
    std::fs::remove_file(dir.join("metadata.yaml")).unwrap();
    let bag = Bag::open(&dir).unwrap();
    assert!(!bag.has_metadata_file);
    assert!(!bag.is_unfinished());
    assert_eq!(bag.warnings.len(), 1, "{:?}", bag.warnings);
    assert!(bag.warnings[0].contains("no metadata.yaml"));
    assert_eq!(bag.metadata.message_count, 60);
    assert_eq!(bag_messages(&bag), expected(&msgs));
}

#[test]
fn metadata_v9_written_is_parsed_back() {
    let tmp = TempDir::new("bag-mcap-meta");
    let dir = tmp.path().join("my_bag");
    let mut w = BagWriter::create(
        &dir,
        WriterOptions {
            custom_data: BTreeMap::from([
                ("robot".to_owned(), "r2: d2".to_owned()),
                ("run".to_owned(), "7".to_owned()),
            ]),
            ..WriterOptions::default()
        },
    )
    .unwrap();
    let latched = QosProfile::keep_last(1).durability(Durability::TransientLocal);
    let mut sensor = QosProfile::keep_last(5).reliability(Reliability::BestEffort);
    sensor.deadline = Some(Duration::from_millis(250));
    let a = w
        .add_known_topic("/latched", "std_msgs/msg/String", vec![latched])
        .unwrap();
    let b = w
        .add_known_topic("/cmd_vel", "geometry_msgs/msg/Twist", vec![sensor])
        .unwrap();
    w.add_offered_qos(b, QosProfile::default());
    let t0 = 1_700_000_000_123_456_789u64;
    w.write(a, t0, t0, &chatter(1).to_cdr().unwrap()).unwrap();
    for i in 0..9u64 {
        let t = t0 + 1_000 + i * 100_000_000;
        w.write(b, t, t - 10, &twist(i as usize).to_cdr().unwrap())
            .unwrap();
    }
    let written = w.close().unwrap();

    let text = std::fs::read_to_string(dir.join("metadata.yaml")).unwrap();
    assert!(text.starts_with("rosbag2_bagfile_information:\n"), "{text}");
    // Version 9 layout: QoS as a YAML sequence with string enums, not a string.
    let raw: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let qos = &raw["rosbag2_bagfile_information"]["topics_with_message_count"][0]["topic_metadata"]
        ["offered_qos_profiles"];
    assert_eq!(qos[0]["durability"].as_str(), Some("transient_local"));
    assert_eq!(qos[0]["depth"].as_u64(), Some(1));

    let m = BagMetadata::parse(&text, "metadata.yaml").unwrap();
    assert_eq!(m, written);
    assert_eq!(m.version, 9);
    assert_eq!(m.storage_identifier, "mcap");
    assert_eq!(m.ros_distro, "jazzy");
    assert_eq!(m.message_count, 10);
    assert_eq!(m.starting_time, t0);
    assert_eq!(m.duration, 1_000 + 8 * 100_000_000);
    assert_eq!(m.relative_file_paths, ["my_bag_0.mcap"]);
    assert_eq!(m.files.len(), 1);
    assert_eq!(m.files[0].message_count, 10);
    assert_eq!(m.files[0].starting_time, t0);
    assert_eq!(m.files[0].duration, m.duration);
    assert_eq!(m.custom_data["robot"], "r2: d2");
    assert_eq!(m.custom_data["run"], "7");
    assert_eq!(m.topics.len(), 2);
    let t = &m.topics[0];
    assert_eq!((t.topic.name.as_str(), t.message_count), ("/latched", 1));
    assert_eq!(t.topic.type_name, "std_msgs/msg/String");
    assert_eq!(t.topic.serialization_format, "cdr");
    assert_eq!(t.topic.offered_qos_profiles, [latched]);
    assert_eq!(
        t.topic.type_description_hash,
        embody_msgs::find("std_msgs/msg/String").unwrap().hash
    );
    let t = &m.topics[1];
    assert_eq!((t.topic.name.as_str(), t.message_count), ("/cmd_vel", 9));
    assert_eq!(
        t.topic.offered_qos_profiles,
        [sensor, QosProfile::default()]
    );

    // The copy in the MCAP file says the same, and so does the bag opened again.
    let f = McapFile::open(&dir.join("my_bag_0.mcap")).unwrap();
    let rec = f.metadata.iter().find(|m| m.name == "rosbag2").unwrap();
    let inner = BagMetadata::parse(&rec.metadata["serialized_metadata"], "record").unwrap();
    assert_eq!(inner, written);
    let bag = Bag::open(&dir).unwrap();
    assert_eq!(bag.metadata, written);
    let c = &bag.connections[0];
    assert_eq!(c.offered_qos_profiles, [latched]);
    assert_eq!(c.schema_encoding, "ros2msg");
    assert_eq!(
        c.schema,
        embody_msgs::find("std_msgs/msg/String").unwrap().schema
    );
    let msgs: Vec<_> = bag.messages(None).map(Result::unwrap).collect();
    assert_eq!(msgs.len(), 10);
    assert_eq!(msgs[1].publish_time, msgs[1].log_time - 10);
    assert_eq!(
        Twist::from_cdr(&msgs[9].data).unwrap(),
        twist(8),
        "the last message"
    );
}

#[test]
fn a_recorder_killed_after_a_split_leaves_a_readable_bag() {
    let tmp = TempDir::new("bag-mcap-killed-split");
    let dir = tmp.path().join("rec");
    let msgs = recording(300);
    let opts = WriterOptions {
        max_bag_size: 4096,
        chunk_size: 1024,
        ..WriterOptions::default()
    };
    let mut w = write_bag(&dir, opts, &msgs);
    w.flush().unwrap();
    let written = w.metadata();
    let finished: Vec<&str> = written.files[..written.files.len() - 1]
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert!(finished.len() >= 2, "{finished:?}");
    let in_open_file = written.files.last().unwrap().message_count;
    assert!(in_open_file > 0);
    // Killed: no destructor, no metadata.yaml update after the last split.
    std::mem::forget(w);

    let listed = BagMetadata::parse(
        &std::fs::read_to_string(dir.join("metadata.yaml")).unwrap(),
        "metadata.yaml",
    )
    .unwrap();
    assert_eq!(listed.relative_file_paths.len(), written.files.len());
    let bag = Bag::open(&dir).unwrap();
    assert!(bag.has_metadata_file);
    assert!(bag.is_unfinished());
    let last = &written.files.last().unwrap().path;
    assert_eq!(bag.warnings.len(), 1, "{:?}", bag.warnings);
    assert!(
        bag.warnings[0].contains(last.as_str()) && bag.warnings[0].contains("unfinished"),
        "{:?}",
        bag.warnings
    );
    // Everything was flushed, so every message is there, counted from the files.
    assert_eq!(bag.metadata.message_count, 300);
    assert_eq!(bag_messages(&bag), expected(&msgs));
    let per_file: Vec<u64> = bag.metadata.files.iter().map(|f| f.message_count).collect();
    let want: Vec<u64> = written.files.iter().map(|f| f.message_count).collect();
    assert_eq!(per_file, want);
}
