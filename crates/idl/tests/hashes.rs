//! RIHS01 hashes against values published by ROS 2 itself (rmw_zenoh's design document and
//! rosidl-generated type description files) and the reference notes.

use std::path::Path;

use embody_idl::parse::parse_interface;
use embody_idl::{TypeName, TypeSet, hash, schema};

fn standard() -> TypeSet {
    let mut set = TypeSet::new();
    set.add_root(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../msgs/interfaces"))
        .unwrap();
    set.check().unwrap();
    set
}

fn hash_of(set: &TypeSet, name: &str) -> String {
    hash::rihs01(set, &TypeName::parse(name).unwrap()).unwrap()
}

#[test]
fn message_hashes_match_ros2() {
    let set = standard();
    let cases = [
        (
            "std_msgs/msg/String",
            "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18",
        ),
        (
            "geometry_msgs/msg/TwistStamped",
            "RIHS01_5f0fcd4f81d5d06ad9b4c4c63e3ea51b82d6ae4d0558f1d475229b1121db6f64",
        ),
        (
            "geometry_msgs/msg/Twist",
            "RIHS01_9c45bf16fe0983d80e3cfe750d6835843d265a9a6c46bd2e609fcddde6fb8d2a",
        ),
        (
            "std_msgs/msg/Header",
            "RIHS01_f49fb3ae2cf070f793645ff749683ac6b06203e41c891e17701b1cb597ce6a01",
        ),
        (
            "builtin_interfaces/msg/Time",
            "RIHS01_b106235e25a4c5ed35098aa0a61a3ee9c9b18d197f398b0e4206cea9acf9c197",
        ),
        (
            "std_msgs/msg/Empty",
            "RIHS01_20b625256f32d5dbc0d04fee44f43c41e51c70d3502f84b4a08e7a9c26a96312",
        ),
        (
            "service_msgs/msg/ServiceEventInfo",
            "RIHS01_41bcbbe07a75c9b52bc96bfd5c24d7f0fc0a08c0cb7921b3373c5732345a6f45",
        ),
        (
            "unique_identifier_msgs/msg/UUID",
            "RIHS01_1b8e8aca958cbea28fe6ef60bf6c19b683c97a9ef60bb34752067d0f2f7ab437",
        ),
    ];
    for (name, expected) in cases {
        assert_eq!(hash_of(&set, name), expected, "{name}");
    }
}

#[test]
fn canonical_json_of_string_is_rosidls() {
    let set = standard();
    let json = hash::type_description_json(&set, &TypeName::parse("std_msgs/msg/String").unwrap())
        .unwrap();
    assert_eq!(
        json,
        r#"{"type_description": {"type_name": "std_msgs/msg/String", "fields": [{"name": "data", "type": {"type_id": 17, "capacity": 0, "string_capacity": 0, "nested_type_name": ""}}]}, "referenced_type_descriptions": []}"#
    );
}

#[test]
fn service_hash_matches_rmw_zenoh_design_example() {
    let set = standard();
    assert_eq!(
        hash_of(&set, "example_interfaces/srv/AddTwoInts"),
        "RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a"
    );
}

/// An action from a public ROS 2 workspace whose rosidl-generated type description
/// (`StartGoalAction.json`) lists these hashes.
#[test]
fn action_hashes_match_rosidl_output() {
    let mut set = standard();
    let text =
        "float32[] start\nfloat32[] goal\n---\nfloat32[] path\n---\nfloat32[] partial_path\n";
    let iface = parse_interface(
        "user_action_interfaces",
        "StartGoalAction.action",
        text,
        "StartGoalAction.action",
    )
    .unwrap();
    set.add_interface(iface, text.to_owned()).unwrap();
    set.check().unwrap();
    let p = "user_action_interfaces/action/StartGoalAction";
    let cases = [
        (
            "",
            "RIHS01_b6bbcf6e6c1d52351f042b4235fc7e8458ee21897e8fe48d6fcd9ac04cf54127",
        ),
        (
            "_Goal",
            "RIHS01_545f5bd2036bc4498c705dea2d943cc4bd2a443006ae915f9ffe612418a6aa4e",
        ),
        (
            "_Result",
            "RIHS01_8459edca47b5b003ae9c787d5124554fbf3b928c0cfbfe7cbae10dfd2cfd8d9e",
        ),
        (
            "_Feedback",
            "RIHS01_55e8f8d72593b2288b7d14d06a9fce262a197ee81b8041ccd09eec14321b9332",
        ),
        (
            "_FeedbackMessage",
            "RIHS01_528012b0da16d7a35f1b359d3c2be93f3b28296639f18e3d1d118a5a81def6f6",
        ),
        (
            "_SendGoal",
            "RIHS01_7bc25fcc224be30e9699d207ca32aaca733544409a40739683ecc5c18d58d4fa",
        ),
        (
            "_SendGoal_Request",
            "RIHS01_bfb46b5407bc2420481857012991b12e1c95663540c48ca6c1f06f7a25713169",
        ),
        (
            "_SendGoal_Response",
            "RIHS01_90aa8e355602264af31c1859d6e6ea79ac974a736ce77bd84b1e7ea0f8a6711c",
        ),
        (
            "_SendGoal_Event",
            "RIHS01_90cd1a59920a9c8be2d30ca293736f0c6fa66233d92bdcb5ca7b62ddda754011",
        ),
        (
            "_GetResult",
            "RIHS01_7dfd650ab57a535af8a3eebab8661822ff7755da83cbbac6aaab9b42687f185f",
        ),
        (
            "_GetResult_Request",
            "RIHS01_e6efbb8d9ab4d8207cd5b800ee2b8c467fad3ec0c57c89d659fd83f2c4454824",
        ),
        (
            "_GetResult_Response",
            "RIHS01_63dbd9fbd784ed8330c0805a7faaefa2344e87bc754333ae3f7edc7e590a6796",
        ),
        (
            "_GetResult_Event",
            "RIHS01_525255e8c5769689766511fe2382c4b4a3bec0d6f833365e0cccc22a5bea754a",
        ),
    ];
    for (suffix, expected) in cases {
        let name = format!("{p}{suffix}");
        assert_eq!(hash_of(&set, &name), expected, "{name}");
    }
}

#[test]
fn ros2msg_schema_round_trips_and_keeps_hashes() {
    let set = standard();
    for name in [
        "nav_msgs/msg/Odometry",
        "visualization_msgs/msg/MarkerArray",
        "sensor_msgs/msg/NavSatFix",
    ] {
        let t = TypeName::parse(name).unwrap();
        let text = schema::ros2msg(&set, &t).unwrap();
        let back = schema::parse_ros2msg(&t, &text).unwrap();
        assert_eq!(
            hash::rihs01(&back, &t).unwrap(),
            hash::rihs01(&set, &t).unwrap(),
            "{name}"
        );
        assert_eq!(schema::ros2msg(&back, &t).unwrap(), text, "{name}");
    }
}

#[test]
fn schema_written_by_other_tools_parses() {
    // rosbags writes ROS 1 style `time` and `MSG: pkg/Type` sections.
    let text = "std_msgs/Header header\nstring child_frame_id\n================================================================================\nMSG: std_msgs/Header\ntime stamp\nstring frame_id\n";
    let t = TypeName::parse("pkg/msg/Thing").unwrap();
    let set = schema::parse_ros2msg(&t, text).unwrap();
    let header = TypeName::parse("std_msgs/msg/Header").unwrap();
    assert_eq!(
        hash::rihs01(&set, &header).unwrap(),
        "RIHS01_f49fb3ae2cf070f793645ff749683ac6b06203e41c891e17701b1cb597ce6a01"
    );
    let bad = "int32 a\n====\nHELLO\n";
    assert_eq!(
        schema::parse_ros2msg(&t, bad).unwrap_err().to_string(),
        "schema for `pkg/msg/Thing`: expected `MSG: pkg/Type` after a separator line, found `HELLO`"
    );
}

#[test]
fn unknown_nested_type_is_reported_with_location() {
    let mut set = TypeSet::new();
    let text = "int32 a\nnope_msgs/Missing m\n";
    set.add_interface(
        parse_interface("pkg", "Thing.msg", text, "pkg/msg/Thing.msg").unwrap(),
        text.into(),
    )
    .unwrap();
    assert_eq!(
        set.check().unwrap_err().to_string(),
        "pkg/msg/Thing.msg:2: field `m` refers to unknown type `nope_msgs/msg/Missing`"
    );
}
