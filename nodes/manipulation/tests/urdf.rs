//! URDF loading: the hand-written arm's contents, mesh resolution and error messages.

mod common;

use std::collections::HashMap;

use embody_manipulation::urdf::{JointKind, MeshPaths, Shape};
use embody_manipulation::{Chain, Urdf};

#[test]
fn reads_links_joints_limits_and_geometry() {
    let u = common::load("three_joint_arm.urdf");
    assert_eq!(u.name, "three_joint_arm");
    assert_eq!(u.root, "base_link");
    assert_eq!(u.links.len(), 5);
    assert_eq!(u.joints.len(), 4);

    let yaw = u.joint("yaw").expect("yaw");
    assert_eq!(yaw.kind, JointKind::Continuous);
    assert!(yaw.limits.is_none());
    assert_eq!(yaw.origin.translation.vector.z, 0.5);

    let pitch = u.joint("pitch").expect("pitch");
    assert_eq!(pitch.kind, JointKind::Revolute);
    let l = pitch.limits.expect("pitch limits");
    assert_eq!((l.lower, l.upper), (Some(-2.0), Some(2.0)));
    assert_eq!((l.velocity, l.effort), (1.5, 40.0));
    assert_eq!((l.acceleration, l.jerk), (None, None));
    assert_eq!(pitch.axis.into_inner(), nalgebra::Vector3::y());

    assert_eq!(u.joint("slide").expect("slide").kind, JointKind::Prismatic);
    let tool = u.joint("tool_joint").expect("tool joint");
    assert_eq!(tool.kind, JointKind::Fixed);
    assert!(tool.limits.is_none());

    let base = u.link("base_link").expect("base");
    assert_eq!(
        base.collisions[0].shape,
        Shape::Cylinder {
            radius: 0.1,
            length: 0.5
        }
    );
    assert_eq!(base.collisions[0].origin.translation.vector.z, 0.25);
    let link2 = u.link("link2").expect("link2");
    assert_eq!(
        link2.collisions[0].shape,
        Shape::Box {
            size: nalgebra::Vector3::new(0.4, 0.05, 0.05)
        }
    );
    assert_eq!(
        u.link("link1").expect("link1").collisions[0].shape,
        Shape::Sphere { radius: 0.05 }
    );
}

#[test]
fn missing_meshes_are_recorded_with_their_filename_kept() {
    let u = common::load("three_joint_arm.urdf");
    let names: Vec<_> = u
        .missing_meshes
        .iter()
        .map(|m| m.filename.as_str())
        .collect();
    assert_eq!(
        names,
        ["package://arm_meshes/link1.stl", "meshes/link3.obj"]
    );
    assert!(u.missing_meshes[0].reason.contains("package 'arm_meshes'"));
    assert_eq!(u.missing_meshes[1].link, "link3");
    match &u.link("link1").expect("link1").visuals[0].shape {
        Shape::Mesh {
            filename,
            resolved,
            scale,
        } => {
            assert_eq!(filename, "package://arm_meshes/link1.stl");
            assert!(resolved.is_none());
            assert_eq!(scale.x, 0.001);
        }
        other => panic!("expected a mesh, got {other:?}"),
    }
}

#[test]
fn package_and_relative_meshes_resolve() {
    let dir = std::env::temp_dir().join(format!("embody-manip-urdf-{}", std::process::id()));
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(dir.join("meshes")).expect("mkdir");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    std::fs::write(pkg.join("link1.stl"), b"solid x\nendsolid x\n").expect("write");
    std::fs::write(dir.join("meshes/link3.obj"), b"v 0 0 0\n").expect("write");
    let xml = std::fs::read_to_string(common::data_dir().join("three_joint_arm.urdf"))
        .expect("read fixture");
    std::fs::write(dir.join("arm.urdf"), &xml).expect("write");

    let packages = HashMap::from([("arm_meshes".to_string(), pkg.clone())]);
    let u = Urdf::from_file(&dir.join("arm.urdf"), &packages).expect("parse");
    assert!(u.missing_meshes.is_empty(), "{:?}", u.missing_meshes);
    let resolved = |link: &str| match &u.link(link).expect("link").visuals[0].shape {
        Shape::Mesh { resolved, .. } => resolved.clone(),
        _ => None,
    };
    assert_eq!(resolved("link1"), Some(pkg.join("link1.stl")));
    assert_eq!(resolved("link3"), Some(dir.join("meshes/link3.obj")));

    // From a string, relative paths need a base directory.
    let u = Urdf::from_str_with(
        &xml,
        &MeshPaths {
            packages,
            base_dir: None,
        },
    )
    .expect("parse");
    assert_eq!(u.missing_meshes.len(), 1);
    assert!(u.missing_meshes[0].reason.contains("no base directory"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn third_party_models_load() {
    for (name, file, base, tip) in common::ROBOTS {
        let u = common::load(file);
        let chain = Chain::new(&u, base, tip).expect(name);
        assert_eq!(chain.dof(), if name == "ur5" { 6 } else { 7 }, "{name}");
        // The shared models ship without meshes.
        if name != "panda" {
            assert!(!u.missing_meshes.is_empty(), "{name}");
        }
    }
    let ur5 = common::load("robots/ur5/ur5_robot.urdf");
    assert_eq!(ur5.root, "world");
}

fn arm_with(from: &str, to: &str) -> String {
    let xml = std::fs::read_to_string(common::data_dir().join("three_joint_arm.urdf"))
        .expect("read fixture");
    assert!(xml.contains(from), "fixture lacks {from}");
    xml.replacen(from, to, 1)
}

fn err(xml: &str) -> String {
    Urdf::parse_str(xml).expect_err("should fail").to_string()
}

#[test]
fn unknown_joint_type_is_named() {
    let xml = arm_with(
        r#"name="pitch" type="revolute""#,
        r#"name="pitch" type="ball""#,
    );
    assert_eq!(err(&xml), "joint 'pitch': unknown joint type 'ball'");
}

#[test]
fn floating_and_planar_joints_are_rejected() {
    let xml = arm_with(
        r#"name="pitch" type="revolute""#,
        r#"name="pitch" type="floating""#,
    );
    assert_eq!(
        err(&xml),
        "joint 'pitch': joint type 'floating' is not supported (only revolute, continuous, prismatic and fixed)"
    );
    let xml = arm_with(
        r#"name="slide" type="prismatic""#,
        r#"name="slide" type="planar""#,
    );
    assert!(err(&xml).starts_with("joint 'slide': joint type 'planar' is not supported"));
}

#[test]
fn missing_parent_link_is_named() {
    let xml = arm_with(r#"<parent link="link1"/>"#, r#"<parent link="nowhere"/>"#);
    assert_eq!(
        err(&xml),
        "joint 'pitch': parent link 'nowhere' is not defined"
    );
}

#[test]
fn missing_limit_and_bad_numbers_are_named() {
    let xml = arm_with(
        r#"<limit lower="-2.0" upper="2.0" velocity="1.5" effort="40"/>"#,
        "",
    );
    assert_eq!(err(&xml), "joint 'pitch': missing <limit>");
    let xml = arm_with(r#"xyz="0.4 0 0""#, r#"xyz="0.4 zero 0""#);
    assert_eq!(
        err(&xml),
        "joint 'slide': bad value '0.4 zero 0' for origin xyz"
    );
    let xml = arm_with(r#"lower="0" upper="0.3""#, r#"lower="0.5" upper="0.3""#);
    assert_eq!(
        err(&xml),
        "joint 'slide': invalid limits (lower 0.5 > upper 0.3)"
    );
}

#[test]
fn two_roots_and_bad_xml_are_errors() {
    let xml = arm_with(
        r#"<link name="tool"/>"#,
        r#"<link name="tool"/><link name="stray"/>"#,
    );
    assert_eq!(
        err(&xml),
        r#"URDF must have exactly one root link, found ["base_link", "stray"]"#
    );
    assert!(err("<robot><link name='a'></robot>").starts_with("URDF is not valid XML"));
    assert_eq!(
        err("<model/>"),
        "URDF root element is <model>, expected <robot>"
    );
    let cycle = r#"<robot name="c"><link name="a"/><link name="b"/><link name="c"/>
        <joint name="j1" type="fixed"><parent link="b"/><child link="c"/></joint>
        <joint name="j2" type="fixed"><parent link="c"/><child link="b"/></joint></robot>"#;
    assert_eq!(err(cycle), "link 'b' is part of a cycle of joints");
    let e = Urdf::from_file(std::path::Path::new("/nonexistent/x.urdf"), &HashMap::new())
        .expect_err("no file")
        .to_string();
    assert!(e.starts_with("cannot read URDF /nonexistent/x.urdf"), "{e}");
}

#[test]
fn disconnected_base_and_tip_are_named() {
    // A model edited in code (here: the shoulder joint removed) can fall apart in two.
    let mut u = common::load("three_joint_arm.urdf");
    u.joints.retain(|j| j.name != "pitch");
    let e = Chain::new(&u, "base_link", "tool").expect_err("disconnected");
    assert_eq!(
        e.to_string(),
        "links 'base_link' and 'tool' are not connected by joints"
    );
    let e = Chain::new(&u, "base_link", "gripper").expect_err("unknown");
    assert_eq!(e.to_string(), "link 'gripper' is not in the model");
}
