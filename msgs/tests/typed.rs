//! Behaviour of the generated types themselves.

use embody_msgs::geometry_msgs::msg::{Quaternion, Twist};
use embody_msgs::sensor_msgs::msg::{NavSatStatus, PointCloud2};
use embody_msgs::std_msgs::msg::{Empty, String as RosString};
use embody_msgs::trajectory_msgs::msg::JointTrajectory;
use embody_msgs::{Action, EncodeError, Message, Service};

#[test]
fn defaults_follow_the_definitions() {
    assert_eq!(
        Quaternion::default(),
        Quaternion {
            x: 0.0,
            y: 0.0,
            z: 0.0,
            w: 1.0
        }
    );
    assert_eq!(NavSatStatus::default().status, -2);
    assert_eq!(NavSatStatus::STATUS_GBAS_FIX, 2);
    assert_eq!(NavSatStatus::SERVICE_GALILEO, 8);
    let d = embody_msgs::rcl_interfaces::msg::ParameterDescriptor::default();
    assert!(!d.read_only);
}

#[test]
fn known_wire_bytes() {
    let s = RosString {
        data: "Hello".into(),
    };
    assert_eq!(
        s.to_cdr().unwrap(),
        [0, 1, 0, 0, 6, 0, 0, 0, b'H', b'e', b'l', b'l', b'o', 0]
    );
    assert_eq!(Empty::default().to_cdr().unwrap(), [0, 1, 0, 0, 0]);
    let mut t = Twist::default();
    t.linear.x = 1.0;
    t.angular.z = -0.5;
    let b = t.to_cdr().unwrap();
    assert_eq!(b.len(), 4 + 48);
    assert_eq!(&b[4..12], &1.0f64.to_le_bytes());
    assert_eq!(&b[44..52], &(-0.5f64).to_le_bytes());
}

#[test]
fn names_and_hashes_are_attached() {
    assert_eq!(RosString::DDS_TYPE_NAME, "std_msgs::msg::dds_::String_");
    assert_eq!(
        RosString::TYPE_HASH,
        "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18"
    );
    assert_eq!(
        <embody_msgs::example_interfaces::srv::AddTwoInts as Service>::TYPE_HASH,
        "RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a"
    );
    assert_eq!(
        <embody_msgs::example_interfaces::srv::AddTwoInts as Service>::DDS_TYPE_NAME,
        "example_interfaces::srv::dds_::AddTwoInts_"
    );
    type Fjt = embody_msgs::control_msgs::action::FollowJointTrajectory;
    assert_eq!(
        <Fjt as Action>::TYPE_NAME,
        "control_msgs/action/FollowJointTrajectory"
    );
    assert_eq!(
        <<Fjt as Action>::SendGoal as Service>::DDS_TYPE_NAME,
        "control_msgs::action::dds_::FollowJointTrajectory_SendGoal_"
    );
    assert!(PointCloud2::SCHEMA.contains("\nMSG: sensor_msgs/PointField\n"));
}

#[test]
fn pick_place_action_round_trips() {
    use embody_msgs::embody_msgs::action::{PickPlace, PickPlace_Goal, PickPlace_Result};
    assert_eq!(
        <PickPlace as Action>::TYPE_NAME,
        "embody_msgs/action/PickPlace"
    );
    assert_eq!(
        <<PickPlace as Action>::SendGoal as Service>::DDS_TYPE_NAME,
        "embody_msgs::action::dds_::PickPlace_SendGoal_"
    );
    let mut goal = PickPlace_Goal {
        object_id: 7,
        ..Default::default()
    };
    goal.place_pose.header.frame_id = "world".into();
    goal.place_pose.pose.position.z = 0.8;
    let bytes = goal.to_cdr().expect("encodes");
    assert_eq!(PickPlace_Goal::from_cdr(&bytes).expect("decodes"), goal);
    let result = PickPlace_Result {
        success: false,
        phase: "transport".into(),
        reason: "no path".into(),
        placement_error: 0.0,
    };
    let bytes = result.to_cdr().expect("encodes");
    assert_eq!(PickPlace_Result::from_cdr(&bytes).expect("decodes"), result);
}

#[test]
fn bounds_are_enforced_on_write() {
    let info = embody_msgs::type_description_interfaces::msg::FieldType {
        nested_type_name: "x".repeat(300),
        ..Default::default()
    };
    assert_eq!(
        info.to_cdr(),
        Err(EncodeError::BoundExceeded {
            field: "type_description_interfaces/msg/FieldType.nested_type_name",
            len: 300,
            bound: 255
        })
    );
}

#[test]
fn serde_json_uses_ros_field_names() {
    let m = embody_msgs::visualization_msgs::msg::Marker {
        r#type: embody_msgs::visualization_msgs::msg::Marker::SPHERE,
        ..Default::default()
    };
    let j = serde_json::to_value(&m).unwrap();
    assert_eq!(j["type"], 2);
    let back: embody_msgs::visualization_msgs::msg::Marker = serde_json::from_value(j).unwrap();
    assert_eq!(back, m);
    // Missing fields take their defaults, so short inputs work.
    let q: Quaternion = serde_json::from_str(r#"{"z": 1.0}"#).unwrap();
    assert_eq!(
        q,
        Quaternion {
            x: 0.0,
            y: 0.0,
            z: 1.0,
            w: 1.0
        }
    );
    // Fixed arrays longer than 32 elements serialize too.
    let cov = embody_msgs::geometry_msgs::msg::PoseWithCovariance::default();
    let j = serde_json::to_value(&cov).unwrap();
    assert_eq!(j["covariance"].as_array().unwrap().len(), 36);
    let t: JointTrajectory = serde_json::from_str(r#"{"joint_names": ["a"]}"#).unwrap();
    assert_eq!(t.joint_names, ["a"]);
}
