//! Bag benchmark, everything measured side by side in the same run:
//!
//! * read: one rosbag2 MCAP bag (>= 200 MB, written by embody's `BagWriter`: PointCloud2 at
//!   10 Hz, Imu at 200 Hz, TF at 50 Hz, String at 10 Hz) read by embody raw and with dynamic
//!   decoding (the `embody bag cat` path), by Python `rosbags` (`AnyReader`, raw and
//!   `deserialize`) and by Python `mcap` (`iter_messages`, and `mcap_ros2`'s
//!   `iter_decoded_messages`). Python is timed inside the script, from opening the bag to the
//!   last message (interpreter start-up and imports excluded). Rounds are interleaved and the
//!   median of each reader is reported; the file is in the page cache for every reader.
//! * record: N 4 MB messages through `BagWriter` (no compression) against the same bytes
//!   written with `std::fs::File::write_all`, both ending with `sync_all`; interleaved
//!   repetitions, median.
//!
//! Run: `cargo bench -p embody-bag --bench bag` (add `-- --quick` for a small bag and fewer
//! messages). The input bag is generated once into `target/bench-data/` and reused while it
//! is valid. Absolute numbers depend on the machine; the ratios are the figures (issue
//! target: embody reads >= 10x faster than rosbags).

use std::collections::BTreeMap;
use std::fs::File;
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use embody::qos::QosProfile;
use embody_bag::decode::Decoder;
use embody_bag::{Bag, BagWriter, WriterOptions};
use embody_msgs::Message;
use embody_msgs::builtin_interfaces::msg::Time;
use embody_msgs::geometry_msgs::msg::{Quaternion, Transform, TransformStamped, Vector3};
use embody_msgs::sensor_msgs::msg::{Imu, PointCloud2, PointField};
use embody_msgs::std_msgs::msg::{Header, String as StringMsg};
use embody_msgs::tf2_msgs::msg::TFMessage;

/// Bumped whenever the generated bag changes, so a stale cached bag is regenerated.
const BAG_VERSION: &str = "2";
/// First log time of the generated bag (ns since epoch).
const T0: u64 = 1_700_000_000_000_000_000;
/// Generator tick: the Imu period (200 Hz).
const TICK_NS: u64 = 5_000_000;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| embody_testkit::workspace_root().join("target"))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// xorshift64: cheap, deterministic, incompressible-looking point data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn header(stamp_ns: u64, frame: &str) -> Header {
    Header {
        stamp: Time {
            sec: (stamp_ns / 1_000_000_000) as i32,
            nanosec: (stamp_ns % 1_000_000_000) as u32,
        },
        frame_id: frame.into(),
    }
}

/// A lidar scan: x, y, z, intensity as float32, `points` points.
fn cloud(rng: &mut Rng, stamp_ns: u64, points: usize) -> PointCloud2 {
    let fields = ["x", "y", "z", "intensity"]
        .iter()
        .enumerate()
        .map(|(i, n)| PointField {
            name: (*n).into(),
            offset: 4 * i as u32,
            datatype: PointField::FLOAT32,
            count: 1,
        })
        .collect();
    let mut data = Vec::with_capacity(points * 16);
    for _ in 0..points {
        let r = rng.next();
        for k in 0..4 {
            let v = ((r >> (16 * k)) & 0xffff) as f32 / 655.36 - 50.0;
            data.extend_from_slice(&v.to_le_bytes());
        }
    }
    PointCloud2 {
        header: header(stamp_ns, "lidar"),
        height: 1,
        width: points as u32,
        fields,
        is_bigendian: false,
        point_step: 16,
        row_step: (points * 16) as u32,
        data: data.into(),
        is_dense: true,
    }
}

fn imu(rng: &mut Rng, stamp_ns: u64) -> Imu {
    let mut v = || rng.unit() - 0.5;
    Imu {
        header: header(stamp_ns, "imu_link"),
        orientation: Quaternion {
            x: v() * 0.01,
            y: v() * 0.01,
            z: v() * 0.01,
            w: 1.0,
        },
        orientation_covariance: [0.001, 0.0, 0.0, 0.0, 0.001, 0.0, 0.0, 0.0, 0.001],
        angular_velocity: Vector3 {
            x: v(),
            y: v(),
            z: v(),
        },
        angular_velocity_covariance: [0.0001, 0.0, 0.0, 0.0, 0.0001, 0.0, 0.0, 0.0, 0.0001],
        linear_acceleration: Vector3 {
            x: v(),
            y: v(),
            z: 9.81 + v(),
        },
        linear_acceleration_covariance: [0.01, 0.0, 0.0, 0.0, 0.01, 0.0, 0.0, 0.0, 0.01],
    }
}

fn tf(rng: &mut Rng, stamp_ns: u64) -> TFMessage {
    let frames = [
        ("map", "odom"),
        ("odom", "base_link"),
        ("base_link", "lidar"),
        ("base_link", "imu_link"),
    ];
    TFMessage {
        transforms: frames
            .iter()
            .map(|(parent, child)| TransformStamped {
                header: header(stamp_ns, parent),
                child_frame_id: (*child).into(),
                transform: Transform {
                    translation: Vector3 {
                        x: rng.unit(),
                        y: rng.unit(),
                        z: rng.unit(),
                    },
                    rotation: Quaternion::default(),
                },
            })
            .collect(),
    }
}

struct BagSpec {
    name: &'static str,
    seconds: u64,
}

impl BagSpec {
    fn tag(&self) -> String {
        format!("v{BAG_VERSION} {}s", self.seconds)
    }
}

/// Writes the bag into a temporary directory and renames it into place, so an interrupted
/// generation never leaves something that looks valid. The temporary directory has the
/// final name (inside `.partial/`), since rosbag2 names the storage files after it.
fn generate(spec: &BagSpec, dir: &Path) {
    let partial = dir.with_file_name(".partial");
    let tmp = partial.join(dir.file_name().expect("bag dir has a name"));
    let _ = std::fs::remove_dir_all(&partial);
    let mut custom = BTreeMap::new();
    custom.insert("embody_bench_bag".to_owned(), spec.tag());
    let mut w = BagWriter::create(
        &tmp,
        WriterOptions {
            custom_data: custom,
            ..WriterOptions::default()
        },
    )
    .expect("create bench bag");
    let qos = || vec![QosProfile::default()];
    let sensor = || vec![QosProfile::sensor_data()];
    let t_points = w
        .add_known_topic("/lidar/points", PointCloud2::TYPE_NAME, sensor())
        .expect("PointCloud2 is compiled in");
    let t_imu = w
        .add_known_topic("/imu/data", Imu::TYPE_NAME, sensor())
        .expect("Imu is compiled in");
    let t_tf = w
        .add_known_topic("/tf", TFMessage::TYPE_NAME, qos())
        .expect("TFMessage is compiled in");
    let t_status = w
        .add_known_topic("/status", StringMsg::TYPE_NAME, qos())
        .expect("String is compiled in");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let ticks = spec.seconds * 1_000_000_000 / TICK_NS;
    for tick in 0..ticks {
        let log = T0 + tick * TICK_NS;
        let data = imu(&mut rng, log - 200_000).to_cdr().expect("encode Imu");
        w.write(t_imu, log, log - 200_000, &data).expect("write");
        if tick % 4 == 0 {
            let data = tf(&mut rng, log - 500_000).to_cdr().expect("encode TF");
            w.write(t_tf, log, log - 500_000, &data).expect("write");
        }
        if tick % 20 == 10 {
            let s = StringMsg {
                data: format!(
                    "tick {tick}: all systems nominal, battery {:.1}%",
                    100.0 - tick as f64 * 0.001
                ),
            };
            let data = s.to_cdr().expect("encode String");
            w.write(t_status, log, log - 100_000, &data).expect("write");
        }
        if tick % 20 == 0 {
            // 90k-110k points of 16 B: 1.44-1.76 MB per scan.
            let points = 90_000 + (rng.next() % 20_001) as usize;
            let stamp = log - 30_000_000;
            let data = cloud(&mut rng, stamp, points)
                .to_cdr()
                .expect("encode PointCloud2");
            w.write(t_points, log, stamp, &data).expect("write");
        }
    }
    w.close().expect("close bench bag");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tmp, dir).expect("move the bench bag into place");
    let _ = std::fs::remove_dir(&partial);
}

/// The cached bag when it is there and valid, else a freshly generated one.
fn ensure_bag(spec: &BagSpec) -> PathBuf {
    let dir = target_dir().join("bench-data").join(spec.name);
    let valid = Bag::open(&dir).is_ok_and(|b| {
        b.warnings.is_empty()
            && !b.is_unfinished()
            && b.metadata.custom_data.get("embody_bench_bag") == Some(&spec.tag())
            && b.metadata.message_count > 0
    });
    if valid {
        println!("input bag: {} (cached)", dir.display());
    } else {
        println!("input bag: generating {} ...", dir.display());
        std::fs::create_dir_all(dir.parent().expect("has a parent")).expect("bench-data dir");
        let start = Instant::now();
        generate(spec, &dir);
        println!("  written in {:.1} s", start.elapsed().as_secs_f64());
    }
    dir
}

/// Messages and payload bytes one reader saw, and how long it took.
#[derive(Clone, Copy)]
struct Run {
    time: Duration,
    messages: u64,
    bytes: u64,
}

fn embody_raw(dir: &Path) -> Run {
    let start = Instant::now();
    let bag = Bag::open(dir).expect("open bag");
    let (mut messages, mut bytes) = (0u64, 0u64);
    for m in bag.messages(None) {
        let m = m.expect("read message");
        messages += 1;
        bytes += black_box(&m.data).len() as u64;
    }
    Run {
        time: start.elapsed(),
        messages,
        bytes,
    }
}

fn embody_decode(dir: &Path) -> Run {
    let start = Instant::now();
    let bag = Bag::open(dir).expect("open bag");
    let mut decoder = Decoder::new();
    let (mut messages, mut bytes) = (0u64, 0u64);
    for m in bag.messages(None) {
        let m = m.expect("read message");
        let value = decoder
            .decode(&bag.connections[m.connection], &m.data)
            .expect("decode message");
        black_box(value);
        messages += 1;
        bytes += m.data.len() as u64;
    }
    Run {
        time: start.elapsed(),
        messages,
        bytes,
    }
}

const PY_MODES: [&str; 4] = ["rosbags_raw", "rosbags_decode", "mcap_raw", "mcap_decode"];

fn python_round(py: &Path, dir: &Path, mcap: &Path) -> BTreeMap<String, Run> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/bag_readers.py");
    let out = Command::new(py)
        .arg(&script)
        .arg(dir)
        .arg(mcap)
        .args(PY_MODES)
        .output()
        .expect("start python");
    assert!(
        out.status.success(),
        "{} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("python prints one JSON object");
    PY_MODES
        .iter()
        .map(|mode| {
            let r = &json[*mode];
            let run = Run {
                time: Duration::from_secs_f64(r["seconds"].as_f64().expect("seconds")),
                messages: r["messages"].as_u64().expect("messages"),
                bytes: r["bytes"].as_u64().expect("bytes"),
            };
            ((*mode).to_owned(), run)
        })
        .collect()
}

/// Reads the whole file once so every reader starts from the page cache.
fn warm_page_cache(path: &Path) {
    let mut f = File::open(path).expect("open mcap");
    let mut buf = vec![0u8; 1 << 20];
    while f.read(&mut buf).expect("read mcap") > 0 {}
}

fn read_bench(quick: bool, csv: &mut Vec<String>) {
    let spec = if quick {
        BagSpec {
            name: "bag-read-quick",
            seconds: 2,
        }
    } else {
        BagSpec {
            name: "bag-read",
            seconds: 14,
        }
    };
    let dir = ensure_bag(&spec);
    let bag = Bag::open(&dir).expect("open bag");
    let files = bag.file_paths();
    assert_eq!(files.len(), 1, "the bench bag is one MCAP file");
    let mcap = files[0].to_path_buf();
    let file_bytes = bag.size_bytes();
    println!(
        "  {:.1} MB on disk, {} messages: {}",
        mb(file_bytes),
        bag.metadata.message_count,
        bag.connections
            .iter()
            .map(|c| format!("{} {} x{}", c.topic, c.type_name, c.message_count))
            .collect::<Vec<_>>()
            .join(", ")
    );
    drop(bag);
    warm_page_cache(&mcap);
    let py = embody_testkit::python();

    let rounds = if quick { 3 } else { 5 };
    let mut runs: BTreeMap<String, Vec<Run>> = BTreeMap::new();
    for round in 0..rounds {
        eprintln!("read round {}/{rounds} ...", round + 1);
        runs.entry("embody_raw".into())
            .or_default()
            .push(embody_raw(&dir));
        runs.entry("embody_decode".into())
            .or_default()
            .push(embody_decode(&dir));
        for (mode, run) in python_round(&py, &dir, &mcap) {
            runs.entry(mode).or_default().push(run);
        }
    }

    // Every reader must have seen the same messages, or the comparison means nothing.
    let reference = runs["embody_raw"][0];
    for (name, rs) in &runs {
        for r in rs {
            assert_eq!(
                (r.messages, r.bytes),
                (reference.messages, reference.bytes),
                "{name} saw a different set of messages"
            );
        }
    }
    let med = |name: &str| median(runs[name].iter().map(|r| r.time).collect());

    println!(
        "\nREAD: {:.1} MB of payload in {} messages, median of {rounds} interleaved rounds, \
         open + iterate every message",
        mb(reference.bytes),
        reference.messages
    );
    println!(
        "{:<34} {:>10} {:>12} {:>10}   embody vs this",
        "reader", "MB/s", "msgs/s", "time"
    );
    let groups = [
        (
            "embody_raw",
            "embody Bag::messages (raw)",
            [
                ("rosbags_raw", "rosbags AnyReader.messages (raw)"),
                ("mcap_raw", "mcap iter_messages (raw)"),
            ],
        ),
        (
            "embody_decode",
            "embody + decode::Decoder",
            [
                ("rosbags_decode", "rosbags + deserialize"),
                ("mcap_decode", "mcap_ros2 iter_decoded_messages"),
            ],
        ),
    ];
    let mut targets = Vec::new();
    for (base_key, base_name, others) in groups {
        let base = med(base_key);
        let line = |name: &str, t: Duration, note: String| {
            println!(
                "{name:<34} {:>10.1} {:>12.0} {:>8.3} s   {note}",
                mb(reference.bytes) / t.as_secs_f64(),
                reference.messages as f64 / t.as_secs_f64(),
                t.as_secs_f64()
            );
        };
        line(base_name, base, "(baseline)".into());
        csv.push(format!(
            "BENCH_CSV,bag_read,{base_key},{},{},{:.1},{:.0},1.000",
            reference.bytes,
            reference.messages,
            mb(reference.bytes) / base.as_secs_f64(),
            reference.messages as f64 / base.as_secs_f64()
        ));
        for (key, name) in others {
            let t = med(key);
            let ratio = t.as_secs_f64() / base.as_secs_f64();
            line(name, t, format!("embody {ratio:.1}x faster"));
            csv.push(format!(
                "BENCH_CSV,bag_read,{key},{},{},{:.1},{:.0},{ratio:.3}",
                reference.bytes,
                reference.messages,
                mb(reference.bytes) / t.as_secs_f64(),
                reference.messages as f64 / t.as_secs_f64()
            ));
            if key.starts_with("rosbags") {
                targets.push((key, ratio));
            }
        }
    }
    let decode_cost = med("embody_decode").as_secs_f64() / med("embody_raw").as_secs_f64();
    println!("embody decode / embody raw time: {decode_cost:.1}x");
    println!(
        "target (embody >= 10x faster than rosbags): {}",
        targets
            .iter()
            .map(|(k, r)| format!("{k} {r:.1}x {}", if *r >= 10.0 { "met" } else { "MISSED" }))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn sync_dir(path: &Path) {
    File::open(path)
        .and_then(|d| d.sync_all())
        .expect("sync directory");
}

/// Same bytes through `File::write_all`, one write per message, then fsync.
fn record_raw(path: &Path, payload: &[u8], n: usize) -> Duration {
    let start = Instant::now();
    let mut f = File::create(path).expect("create raw file");
    for _ in 0..n {
        f.write_all(payload).expect("write");
    }
    f.sync_all().expect("fsync");
    start.elapsed()
}

/// `BagWriter` (no compression), close (summary and metadata.yaml), then fsync the file.
fn record_bag(dir: &Path, payload: &[u8], n: usize) -> (Duration, u64) {
    let start = Instant::now();
    let mut w = BagWriter::create(dir, WriterOptions::default()).expect("create bag");
    let topic = w
        .add_known_topic(
            "/lidar/points",
            PointCloud2::TYPE_NAME,
            vec![QosProfile::sensor_data()],
        )
        .expect("PointCloud2 is compiled in");
    for i in 0..n as u64 {
        let t = T0 + i * 100_000_000;
        w.write(topic, t, t, payload).expect("write");
    }
    let meta = w.close().expect("close");
    let file = dir.join(&meta.relative_file_paths[0]);
    File::open(&file)
        .and_then(|f| f.sync_all())
        .expect("fsync bag file");
    let elapsed = start.elapsed();
    (elapsed, std::fs::metadata(&file).expect("bag file").len())
}

fn record_bench(quick: bool, csv: &mut Vec<String>) {
    let n = if quick { 10 } else { 100 };
    let reps = 3;
    let mut rng = Rng(42);
    let payload = cloud(&mut rng, T0, 4 * 1024 * 1024 / 16)
        .to_cdr()
        .expect("encode PointCloud2");
    let work = target_dir().join("bench-data").join("record-tmp");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("record dir");
    sync_dir(&work);
    let raw_path = work.join("raw.bin");
    let bag_dir = work.join("bag");
    let (mut raw, mut bag, mut bag_file) = (Vec::new(), Vec::new(), 0);
    for rep in 0..reps {
        eprintln!("record repetition {}/{reps} ...", rep + 1);
        // Alternate which goes first, so neither always meets the other's write-back.
        for first_raw in [rep % 2 == 0, rep % 2 != 0] {
            if first_raw {
                raw.push(record_raw(&raw_path, &payload, n));
                std::fs::remove_file(&raw_path).expect("remove raw file");
            } else {
                let (t, size) = record_bag(&bag_dir, &payload, n);
                bag.push(t);
                bag_file = size;
                std::fs::remove_dir_all(&bag_dir).expect("remove bag");
            }
            sync_dir(&work);
        }
    }
    std::fs::remove_dir_all(&work).expect("remove record dir");
    let bytes = (payload.len() * n) as u64;
    let (raw, bag) = (median(raw), median(bag));
    let raw_rate = mb(bytes) / raw.as_secs_f64();
    let bag_rate = mb(bytes) / bag.as_secs_f64();
    let ratio = bag_rate / raw_rate;
    println!(
        "\nRECORD: {n} x {:.2} MB messages ({:.1} MB payload, bag file {:.1} MB), \
         including fsync, median of {reps} interleaved repetitions",
        mb(payload.len() as u64),
        mb(bytes),
        mb(bag_file)
    );
    println!("{:<34} {:>10} {:>10}   ratio", "writer", "MB/s", "time");
    println!(
        "{:<34} {raw_rate:>10.1} {:>8.3} s   (baseline)",
        "File::write_all + sync_all",
        raw.as_secs_f64()
    );
    println!(
        "{:<34} {bag_rate:>10.1} {:>8.3} s   {ratio:.2}x raw disk rate",
        "BagWriter + close + sync_all",
        bag.as_secs_f64()
    );
    csv.push(format!(
        "BENCH_CSV,bag_record,{n},{},{raw_rate:.1},{bag_rate:.1},{ratio:.3}",
        payload.len()
    ));
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let mut csv = Vec::new();
    read_bench(quick, &mut csv);
    record_bench(quick, &mut csv);
    println!();
    for line in csv {
        println!("{line}");
    }
}
