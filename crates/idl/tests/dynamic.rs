//! Dynamic values: decoding without compile-time types, YAML/JSON output, JSON input.

use std::path::Path;

use embody_idl::dynamic::{self, Value};
use embody_idl::{TypeName, TypeSet};
use serde_json::json;

fn standard() -> TypeSet {
    let mut set = TypeSet::new();
    set.add_root(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../msgs/interfaces"))
        .unwrap();
    set.check().unwrap();
    set
}

fn t(name: &str) -> TypeName {
    TypeName::parse(name).unwrap()
}

#[test]
fn yaml_looks_like_ros2_topic_echo() {
    let set = standard();
    let tf = t("tf2_msgs/msg/TFMessage");
    let v = dynamic::from_json(
        &set,
        &tf,
        &json!({"transforms": [{"header": {"stamp": {"sec": 5}, "frame_id": "odom"}, "child_frame_id": "base_link",
                 "transform": {"translation": {"x": 1.5}}}]}),
    )
    .unwrap();
    assert_eq!(
        v.to_yaml(),
        "transforms:\n\
         - header:\n    stamp:\n      sec: 5\n      nanosec: 0\n    frame_id: 'odom'\n  child_frame_id: 'base_link'\n\
         \x20 transform:\n    translation:\n      x: 1.5\n      y: 0.0\n      z: 0.0\n    rotation:\n      x: 0.0\n      y: 0.0\n      z: 0.0\n      w: 1.0\n"
    );
    let js = dynamic::from_json(
        &set,
        &t("sensor_msgs/msg/JointState"),
        &json!({"name": ["a", "it's"], "position": [0.5]}),
    )
    .unwrap();
    let yaml = js.to_yaml();
    assert!(
        yaml.contains("name:\n- 'a'\n- 'it''s'\nposition:\n- 0.5\nvelocity: []\n"),
        "{yaml}"
    );
}

#[test]
fn decode_matches_encode_and_prints_json() {
    let set = standard();
    let scan = t("sensor_msgs/msg/LaserScan");
    let v = dynamic::from_json(
        &set,
        &scan,
        &json!({"angle_min": -1.5, "ranges": [1.0, 0.1], "header": {"frame_id": "laser"}}),
    )
    .unwrap();
    let bytes = dynamic::encode(&set, &scan, &v).unwrap();
    let back = dynamic::decode(&set, &scan, &bytes).unwrap();
    assert_eq!(back, v);
    let j = back.to_json();
    assert_eq!(j["ranges"], json!([1.0, 0.1]));
    assert_eq!(j["angle_min"], json!(-1.5));
    assert_eq!(j["header"]["frame_id"], "laser");
}

#[test]
fn json_input_errors_name_the_field() {
    let set = standard();
    let twist = t("geometry_msgs/msg/Twist");
    let e = dynamic::from_json(&set, &twist, &json!({"linear": {"x": "fast"}})).unwrap_err();
    assert_eq!(e.to_string(), "`Twist.linear.x`: expected a number");
    let e = dynamic::from_json(&set, &twist, &json!({"lineer": {}})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`Twist`: no field named `lineer` (fields: linear, angular)"
    );
    let e = dynamic::from_json(&set, &t("std_msgs/msg/UInt8"), &json!({"data": 256})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`UInt8.data`: expected a uint8 in 0..=255, found 256"
    );
    let e = dynamic::from_json(
        &set,
        &t("geometry_msgs/msg/PoseWithCovariance"),
        &json!({"covariance": [1.0]}),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`PoseWithCovariance.covariance`: expected exactly 36 elements, found 1"
    );
}

#[test]
fn defaults_come_from_the_definitions() {
    let set = standard();
    let q = dynamic::default_value(&set, &t("geometry_msgs/msg/Quaternion")).unwrap();
    assert_eq!(
        q,
        Value::Struct(vec![
            ("x".into(), Value::F64(0.0)),
            ("y".into(), Value::F64(0.0)),
            ("z".into(), Value::F64(0.0)),
            ("w".into(), Value::F64(1.0)),
        ])
    );
}

#[test]
fn hostile_lengths_in_fixed_arrays_and_sequences_fail_cleanly() {
    let set = standard();
    // A ByteMultiArray whose `data` claims 2^31 bytes.
    let mut bytes = dynamic::encode(
        &set,
        &t("std_msgs/msg/ByteMultiArray"),
        &dynamic::default_value(&set, &t("std_msgs/msg/ByteMultiArray")).unwrap(),
    )
    .unwrap();
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    let e = dynamic::decode(&set, &t("std_msgs/msg/ByteMultiArray"), &bytes).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("decoding std_msgs/msg/ByteMultiArray: length 2147483648"),
        "{e}"
    );
}
