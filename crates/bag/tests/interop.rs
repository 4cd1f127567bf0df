//! embody-bag against implementations nobody here wrote (pinned in
//! tests/interop/requirements.txt): bags written by Python `rosbags` (MCAP and sqlite3,
//! metadata versions 8 and 9) and by `mcap_ros2` are read and decoded in Rust, and bags
//! written in Rust are read by `rosbags` and by `mcap` + `mcap_ros2`. Values are compared
//! field by field; nothing here touches the network.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use embody::qos::{Durability, History, Liveliness, QosProfile, Reliability};
use embody_bag::decode::Decoder;
use embody_bag::mcap::{Compression, McapFile};
use embody_bag::{Bag, BagWriter, StorageKind, WriterOptions};
use embody_msgs::Message;
use embody_msgs::builtin_interfaces::msg::Time;
use embody_msgs::geometry_msgs::msg::{Quaternion, Transform, TransformStamped, Twist, Vector3};
use embody_msgs::sensor_msgs::msg::{PointCloud2, PointField};
use embody_msgs::std_msgs::msg::{Header, String as RosString};
use embody_msgs::tf2_msgs::msg::TFMessage;
use serde_json::{Value as Json, json};

use embody_testkit::TempDir;

fn python(script: &str, request: Json) -> Json {
    let out = embody_testkit::run_python_script(
        &format!("crates/bag/tests/python/{script}"),
        request.to_string().as_bytes(),
    );
    serde_json::from_slice(&out).expect("the script prints JSON")
}

/// Asserts two JSON values are equal, numbers by value (`1` equals `1.0`), naming the path
/// of the first difference.
fn assert_same(path: &str, ours: &Json, theirs: &Json) {
    match (ours, theirs) {
        (Json::Number(a), Json::Number(b)) => {
            assert_eq!(a.as_f64(), b.as_f64(), "{path}: ours {a}, theirs {b}");
            if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
                assert_eq!(x, y, "{path}");
            }
            if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
                assert_eq!(x, y, "{path}");
            }
        }
        (Json::Array(a), Json::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: lengths differ");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same(&format!("{path}[{i}]"), x, y);
            }
        }
        (Json::Object(a), Json::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            assert_eq!(ka, kb, "{path}: fields differ");
            for (k, x) in a {
                assert_same(&format!("{path}.{k}"), x, &b[k]);
            }
        }
        _ => assert_eq!(ours, theirs, "{path}"),
    }
}

/// Decodes `data` with the compiled type: its JSON form and its CDR encoded again.
fn typed(type_name: &str, data: &[u8]) -> (Json, Vec<u8>) {
    macro_rules! go {
        ($t:ty) => {{
            let m = <$t>::from_cdr(data).unwrap_or_else(|e| panic!("{type_name}: {e}"));
            (serde_json::to_value(&m).unwrap(), m.to_cdr().unwrap())
        }};
    }
    match type_name {
        "std_msgs/msg/String" => go!(RosString),
        "geometry_msgs/msg/Twist" => go!(Twist),
        "tf2_msgs/msg/TFMessage" => go!(TFMessage),
        "sensor_msgs/msg/PointCloud2" => go!(PointCloud2),
        other => panic!("no compiled type for {other} in this test"),
    }
}

const INFINITE: [u64; 2] = [9_223_372_036, 854_775_807];

/// A QoS profile in the form the Python scripts print.
fn qos_json(q: &QosProfile) -> Json {
    let d = |d: Option<Duration>| match d {
        Some(d) => json!([d.as_secs(), d.subsec_nanos()]),
        None => json!(INFINITE),
    };
    let (history, depth) = match q.history {
        History::KeepLast(n) => ("keep_last", n),
        History::KeepAll => ("keep_all", 0),
    };
    json!({
        "history": history,
        "depth": depth,
        "reliability": match q.reliability {
            Reliability::Reliable => "reliable",
            Reliability::BestEffort => "best_effort",
        },
        "durability": match q.durability {
            Durability::TransientLocal => "transient_local",
            Durability::Volatile => "volatile",
        },
        "deadline": d(q.deadline),
        "lifespan": d(q.lifespan),
        "liveliness": match q.liveliness {
            Liveliness::Automatic => "automatic",
            Liveliness::ManualByTopic => "manual_by_topic",
        },
        "liveliness_lease_duration": d(q.liveliness_lease),
    })
}

fn qos_list_json(list: &[QosProfile]) -> Json {
    Json::Array(list.iter().map(qos_json).collect())
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn bags_written_by_rosbags_read_and_decode_in_rust() {
    let tmp = TempDir::new("bag-interop-rosbags");
    let expected = python("rosbags_write.py", json!({ "dir": tmp.path() }));
    let topics = expected["topics"].as_object().unwrap();
    let want = expected["messages"].as_array().unwrap();
    assert_eq!(want.len(), 25);
    let bags = expected["bags"].as_object().unwrap();
    assert_eq!(bags.len(), 3);
    for (name, info) in bags {
        let bag = Bag::open(info["path"].as_str().unwrap()).unwrap();
        assert!(bag.has_metadata_file, "{name}");
        assert!(bag.warnings.is_empty(), "{name}: {:?}", bag.warnings);
        let storage = match info["storage"].as_str().unwrap() {
            "mcap" => StorageKind::Mcap,
            _ => StorageKind::Sqlite3,
        };
        assert_eq!(bag.storage, storage, "{name}");
        let m = &bag.metadata;
        assert_eq!(
            u64::from(m.version),
            info["version"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(m.storage_identifier, storage.id());
        assert_eq!(m.ros_distro, "rosbags", "{name}");
        assert_eq!(m.message_count, 25, "{name}");
        let first = want[0]["timestamp"].as_u64().unwrap();
        let last = want[24]["timestamp"].as_u64().unwrap();
        assert_eq!(m.starting_time, first, "{name}");
        assert_eq!(m.duration, last - first, "{name}");
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.files[0].message_count, 25);

        assert_eq!(bag.connections.len(), topics.len(), "{name}");
        for c in &bag.connections {
            let t = &topics[&c.topic];
            assert_eq!(
                c.type_name,
                t["type"].as_str().unwrap(),
                "{name} {}",
                c.topic
            );
            assert_eq!(c.message_count, t["count"].as_u64().unwrap(), "{name}");
            assert_eq!(c.serialization_format, "cdr");
            assert_same(
                &format!("{name} {} qos", c.topic),
                &qos_list_json(&c.offered_qos_profiles),
                &t["qos"],
            );
            assert_eq!(
                c.type_hash,
                expected["hashes"][&c.type_name].as_str().unwrap(),
                "{name} {}",
                c.topic
            );
            assert_eq!(c.type_hash, embody_msgs::find(&c.type_name).unwrap().hash);
            assert_eq!(c.schema_encoding, "ros2msg", "{name} {}", c.topic);
            assert!(
                c.schema.contains("\nMSG: ") || c.type_name == "std_msgs/msg/String",
                "{name} {}: {}",
                c.topic,
                c.schema
            );
        }

        let mut decoder = Decoder::new();
        let got: Vec<_> = bag.messages(None).map(Result::unwrap).collect();
        assert_eq!(got.len(), want.len(), "{name}");
        let mut cloud_bytes = 0;
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let c = &bag.connections[g.connection];
            let at = format!("{name} message {i} ({})", c.topic);
            assert_eq!(c.topic, w["topic"].as_str().unwrap(), "{at}");
            assert_eq!(g.log_time, w["timestamp"].as_u64().unwrap(), "{at}");
            // sqlite3 has one timestamp, rosbags' MCAP writes the same one twice.
            assert_eq!(g.publish_time, g.log_time, "{at}");
            assert_eq!(hex(&g.data), w["cdr"].as_str().unwrap(), "{at}");
            let (value, again) = typed(&c.type_name, &g.data);
            assert_same(&format!("{at} typed"), &value, &w["value"]);
            assert_eq!(again, g.data, "{at}: our encoding differs from rosbags'");
            let dynamic = decoder.decode(c, &g.data).unwrap().to_json();
            assert_same(&format!("{at} dynamic"), &dynamic, &w["value"]);
            if c.type_name == "sensor_msgs/msg/PointCloud2" {
                let data = value["data"].as_array().unwrap();
                assert_eq!(data.len() as u64, value["row_step"].as_u64().unwrap());
                cloud_bytes += data.len();
            }
        }
        // 6 clouds of 4..=9 points of 12 bytes.
        assert_eq!(cloud_bytes, 12 * (4 + 5 + 6 + 7 + 8 + 9), "{name}");
    }
}

#[test]
fn a_standalone_mcap_from_mcap_ros2_reads_in_rust() {
    let tmp = TempDir::new("bag-interop-mcap-ros2");
    let path = tmp.path().join("standalone.mcap");
    let expected = python("mcap_ros2_write.py", json!({ "path": path }));
    let mut want: Vec<Json> = expected["messages"].as_array().unwrap().clone();
    want.sort_by_key(|m| m["log_time"].as_u64().unwrap());
    assert_eq!(want.len(), 44);

    let bag = Bag::open(&path).unwrap();
    assert!(!bag.has_metadata_file);
    assert!(bag.warnings.is_empty(), "{:?}", bag.warnings);
    assert_eq!(bag.storage, StorageKind::Mcap);
    assert_eq!(bag.metadata.message_count, 44);
    assert_eq!(bag.metadata.starting_time, 1_000_000_000);
    assert_eq!(bag.metadata.duration, 2_900_000_005 - 1_000_000_000);
    let count = |topic: &str| {
        let c = bag.connections.iter().find(|c| c.topic == topic).unwrap();
        assert!(c.offered_qos_profiles.is_empty());
        assert_eq!(c.type_hash, "");
        assert_eq!(c.schema_encoding, "ros2msg");
        (c.type_name.clone(), c.message_count)
    };
    assert_eq!(count("/cmd_vel"), ("geometry_msgs/msg/Twist".into(), 20));
    assert_eq!(count("/chatter"), ("std_msgs/msg/String".into(), 20));
    assert_eq!(count("/tf"), ("tf2_msgs/msg/TFMessage".into(), 4));

    let mut decoder = Decoder::new();
    let got: Vec<_> = bag.messages(None).map(Result::unwrap).collect();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let c = &bag.connections[g.connection];
        let at = format!("message {i} ({})", c.topic);
        assert_eq!(c.topic, w["topic"].as_str().unwrap(), "{at}");
        assert_eq!(c.type_name, w["type"].as_str().unwrap(), "{at}");
        assert_eq!(g.log_time, w["log_time"].as_u64().unwrap(), "{at}");
        assert_eq!(g.publish_time, w["publish_time"].as_u64().unwrap(), "{at}");
        let (value, _) = typed(&c.type_name, &g.data);
        assert_same(&format!("{at} typed"), &value, &w["value"]);
        let dynamic = decoder.decode(c, &g.data).unwrap().to_json();
        assert_same(&format!("{at} dynamic"), &dynamic, &w["value"]);
    }

    // The file level: zstd chunks from another writer, sequence numbers kept.
    let f = McapFile::open(&path).unwrap();
    assert_eq!(f.profile, "ros2");
    let chunks = f.chunk_indexes().unwrap();
    assert!(chunks.len() > 1);
    assert!(chunks.iter().all(|c| c.compression == "zstd"));
    let seqs: Vec<u32> = f.messages(None).map(|m| m.unwrap().sequence).collect();
    let want_seqs: Vec<u32> = want
        .iter()
        .map(|w| w["sequence"].as_u64().unwrap() as u32)
        .collect();
    assert_eq!(seqs, want_seqs);
    assert!(f.channels.values().all(|c| c.metadata.is_empty()));
}

fn header(t: u64, frame: &str) -> Header {
    Header {
        stamp: Time {
            sec: (t / 1_000_000_000) as i32,
            nanosec: (t % 1_000_000_000) as u32,
        },
        frame_id: frame.into(),
    }
}

fn transform(t: u64, i: usize, parent: &str, child: &str) -> TransformStamped {
    TransformStamped {
        header: header(t, parent),
        child_frame_id: child.into(),
        transform: Transform {
            translation: Vector3 {
                x: 0.5 * i as f64,
                y: -1.25,
                z: 3.0,
            },
            rotation: Quaternion {
                x: 0.0,
                y: 0.0,
                z: 0.125 * i as f64,
                w: 1.0,
            },
        },
    }
}

/// Incompressible-looking bytes, so split sizes hold with zstd too.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

fn cloud(t: u64, i: usize) -> PointCloud2 {
    let n = 40 + i % 7;
    PointCloud2 {
        header: header(t, "lidar"),
        height: 1,
        width: n as u32,
        fields: ["x", "y", "z"]
            .iter()
            .enumerate()
            .map(|(k, name)| PointField {
                name: (*name).into(),
                offset: 4 * k as u32,
                datatype: 7,
                count: 1,
            })
            .collect(),
        is_bigendian: false,
        point_step: 12,
        row_step: 12 * n as u32,
        data: Bytes::from(noise(i as u64, 12 * n)),
        is_dense: i.is_multiple_of(2),
    }
}

struct Recorded {
    topic: &'static str,
    type_name: &'static str,
    log_time: u64,
    publish_time: u64,
    value: Json,
}

/// Writes a bag of five topics with Rust, reads it with rosbags and mcap_ros2.
fn rust_bag_read_by_python(compression: Compression) {
    let tmp = TempDir::new("bag-interop-rust-bag");
    let dir = tmp.path().join("from_rust");
    let mut w = BagWriter::create(
        &dir,
        WriterOptions {
            compression,
            max_bag_size: 16 * 1024,
            chunk_size: 4 * 1024,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    let latched = QosProfile::keep_last(1).durability(Durability::TransientLocal);
    let mut fast = QosProfile::keep_last(5).reliability(Reliability::BestEffort);
    fast.deadline = Some(Duration::from_millis(250));
    let sensor = QosProfile::sensor_data();
    let topics: [(&str, &str, Vec<QosProfile>); 5] = [
        ("/tf_static", "tf2_msgs/msg/TFMessage", vec![latched]),
        (
            "/chatter",
            "std_msgs/msg/String",
            vec![QosProfile::default()],
        ),
        (
            "/cmd_vel",
            "geometry_msgs/msg/Twist",
            vec![fast, QosProfile::default()],
        ),
        ("/tf", "tf2_msgs/msg/TFMessage", vec![QosProfile::default()]),
        ("/points", "sensor_msgs/msg/PointCloud2", vec![sensor]),
    ];
    let ids: Vec<_> = topics
        .iter()
        .map(|(name, ty, qos)| w.add_known_topic(name, ty, qos.clone()).unwrap())
        .collect();
    let mut recorded = Vec::new();
    let mut put = |w: &mut BagWriter, k: usize, log: u64, cdr: Vec<u8>, value: Json| {
        w.write(ids[k], log, log - 1_000, &cdr).unwrap();
        recorded.push(Recorded {
            topic: topics[k].0,
            type_name: topics[k].1,
            log_time: log,
            publish_time: log - 1_000,
            value,
        });
    };
    let base = 1_700_000_000_000_000_000u64;
    let tf_static = TFMessage {
        transforms: vec![transform(base, 3, "base_link", "camera")],
    };
    put(
        &mut w,
        0,
        base,
        tf_static.to_cdr().unwrap(),
        serde_json::to_value(&tf_static).unwrap(),
    );
    for i in 0..40usize {
        let t = base + 1_000_000 + i as u64 * 50_000_000;
        let s = RosString {
            data: format!("hello {i} — ünïcode ✓"),
        };
        put(
            &mut w,
            1,
            t + 1,
            s.to_cdr().unwrap(),
            serde_json::to_value(&s).unwrap(),
        );
        let tw = Twist {
            linear: Vector3 {
                x: 0.5 * i as f64,
                y: 0.0,
                z: -1.0,
            },
            angular: Vector3 {
                x: 0.0,
                y: 0.0,
                z: -0.25 * i as f64,
            },
        };
        put(
            &mut w,
            2,
            t + 2,
            tw.to_cdr().unwrap(),
            serde_json::to_value(&tw).unwrap(),
        );
        let tf = TFMessage {
            transforms: vec![
                transform(t, i, "odom", "base_link"),
                transform(t, i + 1, "base_link", "lidar"),
            ],
        };
        put(
            &mut w,
            3,
            t + 3,
            tf.to_cdr().unwrap(),
            serde_json::to_value(&tf).unwrap(),
        );
        let c = cloud(t, i);
        put(
            &mut w,
            4,
            t + 4,
            c.to_cdr().unwrap(),
            serde_json::to_value(&c).unwrap(),
        );
    }
    let meta = w.close().unwrap();
    assert!(
        meta.relative_file_paths.len() >= 2,
        "{compression:?}: {:?}",
        meta.relative_file_paths
    );
    let total = recorded.len() as u64;
    assert_eq!(meta.message_count, total);

    let seen = python("read_rust_bag.py", json!({ "path": dir }));
    assert_eq!(seen["metadata_version"], 9);

    // rosbags: metadata.yaml, connections, values.
    let rb = &seen["rosbags"];
    assert_eq!(rb["message_count"], total);
    // rosbags reports the duration end-inclusive.
    let first = recorded.first().unwrap().log_time;
    let last = recorded.last().unwrap().log_time;
    assert_eq!(rb["start_time"], first);
    assert_eq!(rb["duration"], last - first + 1);
    assert_eq!(rb["ros_distro"], "jazzy");
    let files: Vec<(String, u64)> = meta
        .files
        .iter()
        .map(|f| (f.path.clone(), f.message_count))
        .collect();
    let rb_files: Vec<(String, u64)> = seen["metadata_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["message_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rb_files, files);
    let conns = rb["connections"].as_array().unwrap();
    assert_eq!(conns.len(), topics.len());
    for (c, (name, ty, qos)) in conns.iter().zip(&topics) {
        assert_eq!(c["topic"], *name);
        assert_eq!(c["msgtype"], *ty);
        let n = recorded.iter().filter(|r| r.topic == *name).count();
        assert_eq!(c["msgcount"], n as u64, "{name}");
        let hash = embody_msgs::find(ty).unwrap().hash;
        assert_eq!(c["digest"], hash, "{name}");
        assert_eq!(seen["jazzy_hashes"][ty], hash, "{name}: rosbags' own hash");
        assert_same(
            &format!("rosbags {name} qos"),
            &qos_list_json(qos),
            &c["qos"],
        );
    }
    let msgs = rb["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), recorded.len());
    for (i, (m, r)) in msgs.iter().zip(&recorded).enumerate() {
        assert_eq!(m["topic"], r.topic, "rosbags message {i}");
        assert_eq!(m["timestamp"], r.log_time, "rosbags message {i}");
        assert_same(
            &format!("rosbags message {i} ({})", r.topic),
            &r.value,
            &m["value"],
        );
    }

    // mcap + mcap_ros2, file by file.
    let files = seen["mcap"].as_array().unwrap();
    assert_eq!(files.len(), meta.files.len());
    let mut decoded = Vec::new();
    for (f, info) in files.iter().zip(&meta.files) {
        let at = info.path.as_str();
        assert_eq!(f["file"], at);
        assert_eq!(f["profile"], "ros2", "{at}");
        assert!(
            f["library"].as_str().unwrap().starts_with("embody-bag"),
            "{at}"
        );
        assert_eq!(f["statistics_message_count"], info.message_count, "{at}");
        assert!(f["chunk_count"].as_u64().unwrap() >= 1);
        assert_eq!(
            f["chunk_compression"],
            json!([compression.as_str()]),
            "{at}"
        );
        for (ty, s) in f["schemas"].as_object().unwrap() {
            let info = embody_msgs::find(ty).unwrap();
            assert_eq!(s["encoding"], "ros2msg", "{at} {ty}");
            assert_eq!(s["text"], info.schema, "{at} {ty}");
            let parsed: Vec<&str> = s["parsed_types"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            assert!(parsed.contains(&ty.as_str()), "{at} {ty}: {parsed:?}");
        }
        let channels = f["channels"].as_object().unwrap();
        for (name, ty, qos) in &topics {
            // A topic is in a file when it has a message there.
            let Some(ch) = channels.get(*name) else {
                assert_eq!(*name, "/tf_static", "{at} lacks {name}");
                continue;
            };
            assert_eq!(ch["message_encoding"], "cdr", "{at} {name}");
            assert_eq!(ch["schema"], *ty, "{at} {name}");
            assert_eq!(
                ch["metadata_keys"],
                json!(["offered_qos_profiles", "topic_type_hash"]),
                "{at} {name}"
            );
            assert_same(&format!("{at} {name} qos"), &qos_list_json(qos), &ch["qos"]);
            assert_eq!(
                ch["topic_type_hash"], seen["jazzy_hashes"][ty],
                "{at} {name}"
            );
        }
        let md = &f["metadata"]["rosbag2"];
        assert!(
            md["serialized_metadata"]
                .as_str()
                .unwrap()
                .contains("version: 9"),
            "{at}"
        );
        decoded.extend(f["messages"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(decoded.len(), recorded.len());
    for (i, (m, r)) in decoded.iter().zip(&recorded).enumerate() {
        let at = format!("mcap_ros2 message {i} ({}, {})", r.topic, r.type_name);
        assert_eq!(m["topic"], r.topic, "{at}");
        assert_eq!(m["log_time"], r.log_time, "{at}");
        assert_eq!(m["publish_time"], r.publish_time, "{at}");
        assert_same(&at, &r.value, &m["value"]);
    }
    let cloud_bytes: usize = recorded
        .iter()
        .filter(|r| r.topic == "/points")
        .map(|r| r.value["data"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        cloud_bytes,
        (0..40).map(|i| 12 * (40 + i % 7)).sum::<usize>()
    );

    // And our own reader agrees with the metadata it wrote.
    let bag = Bag::open(&dir).unwrap();
    assert!(bag.warnings.is_empty(), "{:?}", bag.warnings);
    assert_eq!(bag.metadata.message_count, total);
    let counts: BTreeMap<&str, u64> = bag
        .connections
        .iter()
        .map(|c| (c.topic.as_str(), c.message_count))
        .collect();
    assert_eq!(counts["/points"], 40);
    assert_eq!(counts["/tf_static"], 1);
}

#[test]
fn a_split_bag_written_in_rust_reads_in_rosbags_and_mcap_ros2() {
    rust_bag_read_by_python(Compression::None);
}

#[test]
fn a_zstd_bag_written_in_rust_reads_in_rosbags_and_mcap_ros2() {
    rust_bag_read_by_python(Compression::Zstd);
}

#[test]
fn mcap_layouts_of_other_writers_read_in_rust() {
    let tmp = TempDir::new("bag-interop-mcap-layouts");
    let expected = python("mcap_raw_write.py", json!({ "dir": tmp.path() }));
    let want = expected["messages"].as_array().unwrap();
    assert_eq!(want.len(), 60);
    let files = expected["files"].as_object().unwrap();
    assert_eq!(files.len(), 7);
    for (variant, path) in files {
        let path = Path::new(path.as_str().unwrap());
        let f = McapFile::open(path).unwrap_or_else(|e| panic!("{variant}: {e}"));
        assert_eq!(f.library, "mcap-python-test", "{variant}");
        assert!(f.damage.is_empty(), "{variant}: {:?}", f.damage);
        assert_eq!(f.statistics.message_count, 60, "{variant}");
        assert_eq!(f.statistics.message_start_time, 5_000_000_000, "{variant}");
        assert_eq!(f.statistics.message_end_time, 5_059_000_000, "{variant}");
        assert_eq!(f.channels.len(), 3, "{variant}");
        assert_eq!(f.metadata.len(), 1, "{variant}: {:?}", f.metadata);
        assert_eq!(f.metadata[0].name, "rosbag2", "{variant}");
        assert_eq!(f.metadata[0].metadata["ROS_DISTRO"], "jazzy", "{variant}");
        let got: Vec<_> = f
            .messages(None)
            .map(|m| m.unwrap_or_else(|e| panic!("{variant}: {e}")))
            .collect();
        assert_eq!(got.len(), 60, "{variant}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let at = format!("{variant} message {i}");
            assert_eq!(
                f.channels[&g.channel_id].topic,
                w["topic"].as_str().unwrap(),
                "{at}"
            );
            assert_eq!(g.log_time, w["log_time"].as_u64().unwrap(), "{at}");
            assert_eq!(g.publish_time, w["publish_time"].as_u64().unwrap(), "{at}");
            assert_eq!(
                u64::from(g.sequence),
                w["sequence"].as_u64().unwrap(),
                "{at}"
            );
            assert_eq!(hex(&g.data), w["data"].as_str().unwrap(), "{at}");
        }

        let bag = Bag::open(path).unwrap();
        assert!(bag.warnings.is_empty(), "{variant}: {:?}", bag.warnings);
        assert_eq!(bag.metadata.message_count, 60, "{variant}");
        assert_eq!(bag.metadata.duration, 59_000_000, "{variant}");
        for c in &bag.connections {
            assert_eq!(c.type_name, "std_msgs/msg/String");
            assert_eq!(c.message_count, 20, "{variant} {}", c.topic);
            let qos = expected["qos"].get(&c.topic).cloned().unwrap_or(json!([]));
            assert_same(
                &format!("{variant} {} qos", c.topic),
                &qos_list_json(&c.offered_qos_profiles),
                &qos,
            );
        }
        let mut decoder = Decoder::new();
        let texts: Vec<String> = bag
            .messages(None)
            .map(|m| {
                let m = m.unwrap();
                let c = &bag.connections[m.connection];
                let v = decoder.decode(c, &m.data).unwrap().to_json();
                assert_eq!(v, typed(&c.type_name, &m.data).0);
                v["data"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(texts[0], "/latched 0", "{variant}");
        assert_eq!(texts[59], "/plain 59", "{variant}");
    }
}

fn connection(type_name: &str, encoding: &str, schema: &str) -> embody_bag::Connection {
    embody_bag::Connection {
        id: 0,
        topic: "/t".into(),
        type_name: type_name.into(),
        serialization_format: "cdr".into(),
        offered_qos_profiles: Vec::new(),
        type_hash: String::new(),
        schema_encoding: encoding.into(),
        schema: schema.into(),
        message_count: 0,
    }
}

#[test]
fn types_embody_does_not_compile_decode_from_the_schema_in_the_bag() {
    // A package nobody compiled, in the spellings rosbag2, rosbags and mcap write.
    let sep = "=".repeat(80);
    let texts = [
        format!(
            "my_msgs/msg/Point2 p\nstring name\n{sep}\nMSG: my_msgs/msg/Point2\nfloat64 x\nfloat64 y\n"
        ),
        format!("my_msgs/Point2 p\nstring name\n{sep}\nMSG: my_msgs/Point2\nfloat64 x\nfloat64 y"),
        format!(
            "# comment\nPoint2 p  # package-relative\nstring name\n\n{sep}\nMSG: my_msgs/Point2\n# doc\nfloat64 x\nfloat64 y\n"
        ),
    ];
    let mut cdr = vec![0, 1, 0, 0];
    cdr.extend(1.5f64.to_le_bytes());
    cdr.extend((-2.25f64).to_le_bytes());
    cdr.extend(4u32.to_le_bytes());
    cdr.extend(b"abc\0");
    for text in &texts {
        let c = connection("my_msgs/msg/Named", "ros2msg", text);
        let v = Decoder::new()
            .decode(&c, &cdr)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(
            v.to_json(),
            json!({"p": {"x": 1.5, "y": -2.25}, "name": "abc"}),
            "{text}"
        );
    }
    // Without a schema and not compiled: an error that says so.
    let e = Decoder::new()
        .decode(&connection("my_msgs/msg/Named", "", ""), &cdr)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("my_msgs/msg/Named") && e.contains("no definition"),
        "{e}"
    );
    // Without a schema but compiled into embody (Humble sqlite3 bags): the registry.
    let twist = Twist {
        linear: Vector3 {
            x: 1.0,
            y: 2.0,
            z: 3.0,
        },
        ..Twist::default()
    };
    let v = Decoder::new()
        .decode(
            &connection("geometry_msgs/msg/Twist", "", ""),
            &twist.to_cdr().unwrap(),
        )
        .unwrap();
    assert_eq!(v.to_json(), serde_json::to_value(&twist).unwrap());
}

#[test]
fn a_humble_style_db3_without_definitions_decodes_through_the_registry() {
    let tmp = TempDir::new("bag-interop-humble");
    let expected = python("rosbags_write.py", json!({ "dir": tmp.path() }));
    let dir = Path::new(expected["bags"]["sqlite3_v9"]["path"].as_str().unwrap());
    let db = dir.join("sqlite3_v9.db3");
    // Humble's schema: no message_definitions table, no hash column.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "DROP TABLE message_definitions; ALTER TABLE topics DROP COLUMN type_description_hash;",
        )
        .unwrap();
    }
    // The lone .db3 file, without metadata.yaml.
    let bag = Bag::open(&db).unwrap();
    assert!(!bag.has_metadata_file);
    assert_eq!(bag.storage, StorageKind::Sqlite3);
    assert_eq!(bag.metadata.storage_identifier, "sqlite3");
    assert_eq!(bag.metadata.message_count, 25);
    let want = expected["messages"].as_array().unwrap();
    let mut decoder = Decoder::new();
    let got: Vec<_> = bag.messages(None).map(Result::unwrap).collect();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let c = &bag.connections[g.connection];
        assert_eq!(c.schema, "", "no definitions in this bag");
        assert_eq!(c.type_hash, "");
        assert_eq!(g.log_time, w["timestamp"].as_u64().unwrap());
        let v = decoder.decode(c, &g.data).unwrap().to_json();
        assert_same(&format!("message {i} ({})", c.topic), &v, &w["value"]);
    }
    let points = bag.select(&["/points".to_owned()]);
    assert_eq!(points.len(), 1);
    assert_eq!(bag.messages(Some(&points)).count(), 6);
}
