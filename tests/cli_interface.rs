//! `embody interface` as a user runs it.

use std::process::Command;

fn embody(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_embody"))
        .args(args)
        .output()
        .expect("run embody");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn hash_prints_the_ros2_type_hash() {
    let (ok, out, _) = embody(&["interface", "hash", "std_msgs/msg/String"]);
    assert!(ok);
    assert_eq!(
        out,
        "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18\n"
    );
    let (ok, out, _) = embody(&["interface", "hash", "example_interfaces/srv/AddTwoInts"]);
    assert!(ok);
    assert_eq!(
        out,
        "RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a\n"
    );
}

#[test]
fn show_prints_definitions_and_schemas() {
    let (ok, out, _) = embody(&["interface", "show", "std_srvs/Trigger"]);
    assert!(ok);
    assert_eq!(out, "---\nbool success\nstring message\n");
    let (ok, out, _) = embody(&["interface", "show", "geometry_msgs/msg/Twist", "--schema"]);
    assert!(ok);
    assert_eq!(
        out,
        "geometry_msgs/Vector3 linear\ngeometry_msgs/Vector3 angular\n\
         ================================================================================\n\
         MSG: geometry_msgs/Vector3\nfloat64 x\nfloat64 y\nfloat64 z\n"
    );
}

#[test]
fn list_groups_by_kind_and_hides_derived_types() {
    let (ok, out, _) = embody(&["interface", "list"]);
    assert!(ok);
    assert!(out.starts_with("Messages:\n"));
    assert!(out.contains("\n    sensor_msgs/msg/PointCloud2\n"));
    assert!(out.contains("Services:\n"));
    assert!(out.contains("\n    control_msgs/action/FollowJointTrajectory\n"));
    assert!(!out.contains("Trigger_Request"));
    let (_, actions, _) = embody(&["interface", "list", "-a"]);
    assert!(actions.starts_with("Actions:\n") && !actions.contains("Messages:"));
    let (_, derived, _) = embody(&["interface", "list", "-m", "--derived"]);
    assert!(derived.contains("\n    std_srvs/srv/Trigger_Request\n"));
}

#[test]
fn unknown_types_get_a_helpful_error() {
    let (ok, out, err) = embody(&["interface", "show", "nav/Odometry"]);
    assert!(!ok);
    assert!(out.is_empty());
    assert_eq!(
        err,
        "error: unknown interface type `nav/Odometry`; did you mean nav_msgs/msg/Odometry?\n"
    );
    let (ok, _, err) = embody(&["interface", "hash", "nothing"]);
    assert!(!ok);
    assert_eq!(
        err,
        "error: unknown interface type `nothing` (see `embody interface list`)\n"
    );
}
