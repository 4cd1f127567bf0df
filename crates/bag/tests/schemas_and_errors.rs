//! Types embody does not compile are read through the schema text in the bag; missing files
//! and undecodable types give errors that name the file or the topic.

use embody_bag::decode::Decoder;
use embody_bag::{Bag, BagWriter, TopicMetadata, WriterOptions};
use embody_idl::dynamic;
use embody_idl::{TypeName, schema};

const SCHEMA: &str = "float64 speed\nstring label\nmy_robot_msgs/Wheel[] wheels\n\
================================================================================\n\
MSG: my_robot_msgs/Wheel\nint32 id\nfloat32 torque\n";

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("embody-bagerr-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn custom_topic(name: &str, type_name: &str) -> TopicMetadata {
    TopicMetadata {
        name: name.into(),
        type_name: type_name.into(),
        serialization_format: "cdr".into(),
        offered_qos_profiles: vec![Default::default()],
        type_description_hash: String::new(),
    }
}

#[test]
fn a_type_embody_does_not_compile_decodes_through_the_bags_schema() {
    let name = TypeName::parse("my_robot_msgs/msg/Status").unwrap();
    let set = schema::parse_ros2msg(&name, SCHEMA).unwrap();
    let json = serde_json::json!({
        "speed": 3.5, "label": "left turn",
        "wheels": [{"id": 1, "torque": 0.5}, {"id": 2, "torque": -1.25}],
    });
    let value = dynamic::from_json(&set, &name, &json).unwrap();
    let cdr = dynamic::encode(&set, &name, &value).unwrap();

    let dir = temp_dir("custom");
    let mut w = BagWriter::create(&dir, WriterOptions::default()).unwrap();
    let t = w.add_topic(
        custom_topic("/status", "my_robot_msgs/msg/Status"),
        "ros2msg",
        SCHEMA,
    );
    w.write(t, 5, 5, &cdr).unwrap();
    w.close().unwrap();

    let bag = Bag::open(&dir).unwrap();
    assert!(embody_msgs::find("my_robot_msgs/msg/Status").is_none());
    let m = bag.messages(None).next().unwrap().unwrap();
    let decoded = Decoder::new()
        .decode(&bag.connections[m.connection], &m.data)
        .unwrap();
    assert_eq!(decoded.to_json(), json);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_types_without_a_definition_name_the_topic_and_type() {
    let dir = temp_dir("unknown");
    let mut w = BagWriter::create(&dir, WriterOptions::default()).unwrap();
    let t = w.add_topic(custom_topic("/mystery", "other_msgs/msg/Thing"), "", "");
    w.write(t, 5, 5, &[0, 1, 0, 0, 7]).unwrap();
    w.close().unwrap();
    let bag = Bag::open(&dir).unwrap();
    let m = bag.messages(None).next().unwrap().unwrap();
    let err = Decoder::new()
        .decode(&bag.connections[m.connection], &m.data)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/mystery") && err.contains("other_msgs/msg/Thing"),
        "{err}"
    );
    assert!(err.contains("no definition"), "{err}");
    // A payload that does not fit its schema is reported the same way.
    let err = Decoder::new()
        .decode(&bag.connections[m.connection], &[0, 1])
        .unwrap_err()
        .to_string();
    assert!(err.contains("/mystery"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_missing_from_a_split_bag_is_named_and_the_rest_is_read() {
    let dir = temp_dir("split");
    let mut w = BagWriter::create(
        &dir,
        WriterOptions {
            max_bag_size: 64 * 1024,
            chunk_size: 16 * 1024,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    let t = w
        .add_known_topic("/chatter", "std_msgs/msg/String", vec![Default::default()])
        .unwrap();
    let payload = {
        use embody_msgs::Message;
        embody_msgs::std_msgs::msg::String {
            data: "y".repeat(1000),
        }
        .to_cdr()
        .unwrap()
    };
    for i in 0..300u64 {
        w.write(t, i, i, &payload).unwrap();
    }
    let meta = w.close().unwrap();
    assert!(meta.files.len() >= 3, "{:?}", meta.relative_file_paths);
    let missing = dir.join(&meta.files[1].path);
    let lost = meta.files[1].message_count;
    std::fs::remove_file(&missing).unwrap();

    let bag = Bag::open(&dir).unwrap();
    assert!(
        bag.warnings
            .iter()
            .any(|w| w.contains(&missing.display().to_string()) && w.contains("missing")),
        "{:?}",
        bag.warnings
    );
    assert_eq!(bag.messages(None).count() as u64, 300 - lost);

    // A bag that does not exist at all is an error naming it.
    let err = Bag::open(dir.join("nope")).err().unwrap().to_string();
    assert!(
        err.contains("nope") && err.contains("no such file"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_split_file_killed_before_its_first_write_counts_as_unfinished_not_corrupt() {
    use embody_bag::mcap::{FileState, McapFile};
    let empty = McapFile::from_bytes(bytes::Bytes::new()).unwrap();
    assert_eq!(empty.state, FileState::Unfinished { valid_bytes: 0 });
    assert_eq!(empty.messages(None).count(), 0);

    let dir = temp_dir("killed-split");
    let mut w = BagWriter::create(&dir, WriterOptions::default()).unwrap();
    let t = w
        .add_known_topic("/chatter", "std_msgs/msg/String", vec![Default::default()])
        .unwrap();
    for i in 0..10u64 {
        w.write(t, i, i, &[0, 1, 0, 0, 1, 0, 0, 0, 0]).unwrap();
    }
    let meta = w.close().unwrap();
    // What a recorder killed right after splitting leaves: no metadata.yaml, an empty file.
    std::fs::remove_file(dir.join("metadata.yaml")).unwrap();
    let next = meta.files[0].path.replace("_0.mcap", "_1.mcap");
    std::fs::write(dir.join(&next), b"").unwrap();
    let bag = Bag::open(&dir).unwrap();
    assert!(bag.is_unfinished());
    assert_eq!(bag.file_paths().len(), 2);
    assert_eq!(bag.messages(None).count(), 10);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn convert_turns_a_humble_sqlite3_bag_into_mcap_with_definitions_and_hashes() {
    use embody_msgs::Message;
    use embody_msgs::std_msgs::msg::String as StringMsg;
    let dir = temp_dir("convert");
    std::fs::create_dir_all(&dir).unwrap();
    let db_path = dir.join("humble_0.db3");
    // Humble's schema 3: no message definitions, no hashes, integer QoS enums.
    let db = rusqlite::Connection::open(&db_path).unwrap();
    db.execute_batch(
        "CREATE TABLE schema(schema_version INTEGER PRIMARY KEY, ros_distro TEXT NOT NULL);
         INSERT INTO schema VALUES (3, 'humble');
         CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
             serialization_format TEXT NOT NULL, offered_qos_profiles TEXT NOT NULL);
         CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL,
             timestamp INTEGER NOT NULL, data BLOB NOT NULL);",
    )
    .unwrap();
    let qos = "- history: 1\n  depth: 5\n  reliability: 2\n  durability: 2\n  deadline:\n    sec: 0\n    nsec: 0\n  lifespan:\n    sec: 0\n    nsec: 0\n  liveliness: 1\n  liveliness_lease_duration:\n    sec: 0\n    nsec: 0\n  avoid_ros_namespace_conventions: false";
    db.execute(
        "INSERT INTO topics VALUES (1, '/chatter', 'std_msgs/msg/String', 'cdr', ?1)",
        [qos],
    )
    .unwrap();
    let sent: Vec<String> = (0..50).map(|i| format!("humble {i}")).collect();
    for (i, text) in sent.iter().enumerate() {
        let cdr = StringMsg { data: text.clone() }.to_cdr().unwrap();
        db.execute(
            "INSERT INTO messages(topic_id, timestamp, data) VALUES (1, ?1, ?2)",
            rusqlite::params![1_000 + i as i64 * 10, cdr],
        )
        .unwrap();
    }
    drop(db);

    let out = dir.join("converted");
    let report = embody_bag::repair::convert(&db_path, &out, WriterOptions::default()).unwrap();
    assert_eq!(report.messages, 50);
    assert_eq!(report.definitions_added, ["/chatter"]);
    let bag = Bag::open(&out).unwrap();
    assert!(bag.has_metadata_file && !bag.is_unfinished());
    assert_eq!(bag.storage.id(), "mcap");
    let c = &bag.connections[0];
    assert_eq!(c.type_hash, StringMsg::TYPE_HASH);
    assert_eq!(c.schema_encoding, "ros2msg");
    assert_eq!(c.offered_qos_profiles.len(), 1);
    assert_eq!(
        c.offered_qos_profiles[0].history,
        embody::qos::History::KeepLast(5)
    );
    let got: Vec<(u64, String)> = bag
        .messages(None)
        .map(|m| {
            let m = m.unwrap();
            (m.log_time, StringMsg::from_cdr(&m.data).unwrap().data)
        })
        .collect();
    let want: Vec<(u64, String)> = sent
        .iter()
        .enumerate()
        .map(|(i, s)| (1_000 + i as u64 * 10, s.clone()))
        .collect();
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(&dir);
}
