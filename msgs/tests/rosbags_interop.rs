//! Interop with Python `rosbags` (pinned in tests/interop/requirements.txt), an
//! implementation nobody here wrote: type hashes and CDR bytes must agree exactly.

use std::path::Path;

use embody_idl::testing::{Rng, random_value};
use embody_idl::{DefRole, TypeName, TypeSet, dynamic, schema};
use embody_msgs::Message;
use embody_msgs::ackermann_msgs::msg::{AckermannDrive, AckermannDriveStamped};
use embody_msgs::builtin_interfaces::msg::{Duration, Time};
use embody_msgs::geometry_msgs::msg::{
    Point, Pose, Quaternion, Transform, TransformStamped, Twist, Vector3,
};
use embody_msgs::nav_msgs::msg::Odometry;
use embody_msgs::sensor_msgs::msg::{Image, JointState, LaserScan, PointCloud2, PointField};
use embody_msgs::std_msgs::msg::{ColorRGBA, Header, String as RosString};
use embody_msgs::tf2_msgs::msg::TFMessage;
use embody_msgs::trajectory_msgs::msg::{JointTrajectory, JointTrajectoryPoint};
use embody_msgs::vision_msgs::msg::{
    BoundingBox3D, Detection3D, Detection3DArray, ObjectHypothesisWithPose,
};
use embody_msgs::visualization_msgs::msg::{Marker, MarkerArray};
use serde_json::{Value as Json, json};

fn full_set() -> TypeSet {
    let mut set = TypeSet::new();
    set.add_root(&Path::new(env!("CARGO_MANIFEST_DIR")).join("interfaces"))
        .unwrap();
    set.check().unwrap();
    set
}

/// Asks rosbags; every type of ours that its Jazzy store lacks is registered from our text.
fn oracle(request: &Json) -> Json {
    let set = full_set();
    let register: serde_json::Map<String, Json> = set
        .entries()
        .map(|e| {
            (
                e.def.name.to_string(),
                Json::String(schema::msg_text(&e.def)),
            )
        })
        .collect();
    let mut request = request.clone();
    request["register"] = Json::Object(register);
    let out = embody_testkit::run_python_script(
        "tests/interop/rosbags_oracle.py",
        request.to_string().as_bytes(),
    );
    serde_json::from_slice(&out).expect("oracle prints JSON")
}

#[test]
fn every_type_hash_equals_rosbags() {
    let set = full_set();
    // rosbags cannot parse `wstring`; those few types are checked by our own vectors only.
    let uses_wstring =
        |name: &TypeName| schema::ros2msg(&set, name).is_ok_and(|s| s.contains("wstring"));
    let names: Vec<String> = set
        .entries()
        .filter(|e| !uses_wstring(&e.def.name))
        .map(|e| e.def.name.to_string())
        .collect();
    let skipped: Vec<String> = set
        .entries()
        .filter(|e| uses_wstring(&e.def.name))
        .map(|e| e.def.name.to_string())
        .collect();
    assert_eq!(
        skipped,
        ["example_interfaces/msg/WString"],
        "types rosbags cannot check"
    );
    let answer = oracle(&json!({ "hash": names }));
    let theirs = answer["hashes"].as_object().unwrap();
    let native: Vec<&str> = answer["native"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Json::as_str)
        .collect();
    let mut mismatches = Vec::new();
    for entry in set.entries().filter(|e| !uses_wstring(&e.def.name)) {
        let name = entry.def.name.to_string();
        let ours = embody_idl::hash::rihs01(&set, &entry.def.name).unwrap();
        if theirs[&name] != ours {
            mismatches.push(format!("{name}: ours {ours}, rosbags {}", theirs[&name]));
        }
        // The registry generated into embody-msgs carries the same hash.
        if let Some(info) = embody_msgs::find(&name) {
            assert_eq!(info.hash, ours, "{name}");
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} hash mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    // Most standard messages are checked against rosbags' own definitions, not ours.
    assert!(
        native.len() > 140,
        "only {} types were native to rosbags",
        native.len()
    );
    let services = set.entries().filter(|e| e.role == DefRole::Service).count();
    assert!(services > 30, "{services} services hashed");
}

fn header(sec: i32, frame: &str) -> Header {
    Header {
        stamp: Time {
            sec,
            nanosec: 123_456_789,
        },
        frame_id: frame.into(),
    }
}

/// The messages the issue names, with realistic content.
fn golden_messages() -> Vec<(&'static str, Json, Vec<u8>)> {
    fn entry<M: Message + serde::Serialize>(m: &M) -> (&'static str, Json, Vec<u8>) {
        (
            M::TYPE_NAME,
            serde_json::to_value(m).unwrap(),
            m.to_cdr().unwrap(),
        )
    }
    let twist = Twist {
        linear: Vector3 {
            x: 1.5,
            y: -0.25,
            z: 0.0,
        },
        angular: Vector3 {
            x: 0.0,
            y: 0.0,
            z: 0.7,
        },
    };
    let scan = LaserScan {
        header: header(10, "laser"),
        angle_min: -1.57,
        angle_max: 1.57,
        angle_increment: 0.0175,
        time_increment: 1e-5,
        scan_time: 0.1,
        range_min: 0.1,
        range_max: 30.0,
        ranges: (0..181).map(|i| 1.0 + i as f32 * 0.01).collect(),
        intensities: vec![100.0; 181],
    };
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
    let cloud = PointCloud2 {
        header: header(11, "lidar"),
        height: 1,
        width: 64,
        fields,
        is_bigendian: false,
        point_step: 16,
        row_step: 1024,
        data: (0..1024u32).map(|i| (i * 7 % 251) as u8).collect(),
        is_dense: true,
    };
    let image = Image {
        header: header(12, "camera"),
        height: 4,
        width: 6,
        encoding: "rgb8".into(),
        is_bigendian: 0,
        step: 18,
        data: (0..72u8).collect(),
    };
    let joints = JointState {
        header: header(13, ""),
        name: vec!["shoulder".into(), "elbow".into(), "wrist".into()],
        position: vec![0.1, -0.2, 0.3],
        velocity: vec![0.0, 0.5, -0.5],
        effort: vec![],
    };
    let tf = TFMessage {
        transforms: vec![TransformStamped {
            header: header(14, "odom"),
            child_frame_id: "base_link".into(),
            transform: Transform {
                translation: Vector3 {
                    x: 3.0,
                    y: 4.0,
                    z: 0.0,
                },
                rotation: Quaternion {
                    x: 0.0,
                    y: 0.0,
                    z: 0.3826834,
                    w: 0.9238795,
                },
            },
        }],
    };
    let mut odom = Odometry {
        header: header(15, "odom"),
        child_frame_id: "base_link".into(),
        ..Default::default()
    };
    odom.pose.pose.position = Point {
        x: 12.5,
        y: -3.0,
        z: 0.0,
    };
    odom.pose.covariance[0] = 0.01;
    odom.pose.covariance[35] = 0.05;
    odom.twist.twist = twist.clone();
    let traj = JointTrajectory {
        header: header(16, "base_link"),
        joint_names: vec!["j1".into(), "j2".into()],
        points: vec![
            JointTrajectoryPoint {
                positions: vec![0.0, 0.0],
                time_from_start: Duration { sec: 0, nanosec: 0 },
                ..Default::default()
            },
            JointTrajectoryPoint {
                positions: vec![0.5, -0.5],
                velocities: vec![0.1, -0.1],
                accelerations: vec![0.0, 0.0],
                effort: vec![],
                time_from_start: Duration {
                    sec: 2,
                    nanosec: 500_000_000,
                },
            },
        ],
    };
    let ackermann = AckermannDriveStamped {
        header: header(17, "base_link"),
        drive: AckermannDrive {
            steering_angle: 0.12,
            steering_angle_velocity: 0.5,
            speed: 13.9,
            acceleration: -2.0,
            jerk: 0.0,
        },
    };
    let mut det = Detection3D {
        header: header(18, "map"),
        id: "track-7".into(),
        ..Default::default()
    };
    det.results.push(ObjectHypothesisWithPose::default());
    det.results[0].hypothesis.class_id = "child".into();
    det.results[0].hypothesis.score = 0.87;
    det.bbox = BoundingBox3D {
        center: Pose {
            position: Point {
                x: 20.0,
                y: 1.5,
                z: 0.6,
            },
            orientation: Quaternion::default(),
        },
        size: Vector3 {
            x: 0.4,
            y: 0.4,
            z: 1.2,
        },
    };
    let detections = Detection3DArray {
        header: header(18, "map"),
        detections: vec![det],
    };
    let marker = Marker {
        header: header(19, "map"),
        ns: "objects".into(),
        id: 7,
        r#type: Marker::CUBE,
        action: Marker::ADD,
        scale: Vector3 {
            x: 4.5,
            y: 1.8,
            z: 1.5,
        },
        color: ColorRGBA {
            r: 1.0,
            g: 0.2,
            b: 0.2,
            a: 0.8,
        },
        text: "car".into(),
        ..Default::default()
    };
    let markers = MarkerArray {
        markers: vec![
            marker.clone(),
            Marker {
                id: 8,
                r#type: Marker::TEXT_VIEW_FACING,
                ..marker
            },
        ],
    };
    vec![
        entry(&RosString {
            data: "Hello World: 1".into(),
        }),
        entry(&header(9, "base_link")),
        entry(&twist),
        entry(&scan),
        entry(&cloud),
        entry(&image),
        entry(&joints),
        entry(&tf),
        entry(&odom),
        entry(&traj),
        entry(&ackermann),
        entry(&detections),
        entry(&markers),
    ]
}

#[test]
fn golden_messages_are_byte_identical_to_rosbags() {
    let golden = golden_messages();
    let request: Vec<Json> = golden
        .iter()
        .map(|(t, v, _)| json!({ "type": t, "value": v }))
        .collect();
    let answer = oracle(&json!({ "serialize": request }));
    let theirs = answer["cdr"].as_array().unwrap();
    assert_eq!(theirs.len(), 13);
    for ((name, _, ours), hex) in golden.iter().zip(theirs) {
        let theirs = decode_hex(hex.as_str().unwrap());
        assert_eq!(
            &theirs, ours,
            "{name}: rosbags and embody disagree on the bytes"
        );
        // And their bytes decode through the generated type back to the same message.
        let info = embody_msgs::find(name).unwrap();
        assert_eq!(
            (info.transcode.unwrap())(&theirs).unwrap(),
            theirs,
            "{name}"
        );
    }
    // Spot-check a decoded value too, not only byte equality.
    let cloud_bytes = decode_hex(theirs[4].as_str().unwrap());
    let cloud = PointCloud2::from_cdr(&cloud_bytes).unwrap();
    assert_eq!(cloud.fields[3].name, "intensity");
    assert_eq!(cloud.data.len(), 1024);
    assert_eq!(cloud.data[1023], (1023 * 7 % 251) as u8);
}

#[test]
fn random_values_of_every_rosbags_type_serialize_identically() {
    let set = full_set();
    let mut rng = Rng::new(2026);
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for entry in set.entries().filter(|e| e.role == DefRole::Message) {
        let name: &TypeName = &entry.def.name;
        // Empty messages have no fields to fill; wstring is not supported by rosbags' CDR.
        if entry.def.fields.is_empty() || schema::ros2msg(&set, name).unwrap().contains("wstring") {
            continue;
        }
        for _ in 0..3 {
            let value = random_value(&set, name, &mut rng, 3).unwrap();
            let bytes = dynamic::encode(&set, name, &value).unwrap();
            request.push(json!({ "type": name.to_string(), "value": value.to_json() }));
            expected.push((name.to_string(), bytes));
        }
    }
    assert!(
        expected.len() > 900,
        "only {} random payloads",
        expected.len()
    );
    assert!(
        expected.len() > 900,
        "only {} random payloads",
        expected.len()
    );
    let answer = oracle(&json!({ "serialize": request }));
    let theirs = answer["cdr"].as_array().unwrap();
    assert_eq!(theirs.len(), expected.len());
    let mut bad = Vec::new();
    for (i, ((name, bytes), hex)) in expected.iter().zip(theirs).enumerate() {
        if decode_hex(hex.as_str().unwrap()) != *bytes {
            bad.push(format!("{name} (value {i})"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} payloads differ from rosbags: {bad:?}",
        bad.len()
    );
}

fn decode_hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
