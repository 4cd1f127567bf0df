//! The embody arm's model and the planning scene: FK worked out by hand, the collision model
//! and its allowed-collision matrix, named collisions, attach and detach.

mod common;

use std::f64::consts::FRAC_PI_2;
use std::sync::Arc;

use embody_manipulation::acm::AllowReason;
use embody_manipulation::collision::Convex;
use embody_manipulation::tabletop::{self, TabletopLayout};
use embody_manipulation::{Chain, RobotModel, RobotModelOptions, Scene, SceneObject, embody_arm};
use nalgebra::{Isometry3, Vector3};

fn arm_model() -> RobotModel {
    embody_arm::model().expect("embody arm").1
}

#[test]
fn embody_arm_fk_by_hand() {
    let urdf = common::embody_arm_urdf();
    let chain = Chain::new(&urdf, "base_link", "tcp").expect("chain");
    assert_eq!(chain.dof(), 6);
    // Straight up: 0.1 + 0.2 + 0.4 + 0.2 + 0.15 + 0.08 + 0.02 + 0.10.
    let up = chain.fk(&[0.0; 6]);
    assert!((up.translation.vector - Vector3::new(0.0, 0.0, 1.25)).norm() < 1e-12);
    // Shoulder lifted 90°: horizontal along +x at shoulder height, tool z along +x.
    let t = chain.fk(&[0.0, FRAC_PI_2, 0.0, 0.0, 0.0, 0.0]);
    assert!((t.translation.vector - Vector3::new(0.95, 0.0, 0.3)).norm() < 1e-12);
    assert!((t.rotation * Vector3::z() - Vector3::x()).norm() < 1e-12);
    // Pan 90° as well: along +y.
    let t = chain.fk(&[FRAC_PI_2, FRAC_PI_2, 0.0, 0.0, 0.0, 0.0]);
    assert!((t.translation.vector - Vector3::new(0.0, 0.95, 0.3)).norm() < 1e-12);
    // Elbow -90° from there: the forearm points down from the elbow at (0.4, 0, 0.3).
    let t = chain.fk(&[0.0, FRAC_PI_2, FRAC_PI_2, 0.0, 0.0, 0.0]);
    assert!((t.translation.vector - Vector3::new(0.4, 0.0, 0.3 - 0.55)).norm() < 1e-12);
    // The URDF's embody extension carries acceleration and jerk limits.
    let lim = urdf
        .joint("elbow_joint")
        .and_then(|j| j.limits)
        .expect("limits");
    assert_eq!(
        (lim.velocity, lim.acceleration, lim.jerk),
        (2.5, Some(5.0), Some(50.0))
    );
}

#[test]
fn embody_arm_collision_model_and_acm() {
    let model = arm_model();
    assert!(model.approximated_links().is_empty());
    // One primitive per link with geometry: 7 arm links, the hand and two fingers.
    assert_eq!(model.bodies().len(), 10);
    let acm = model.allowed();
    assert_eq!(
        acm.reason("base_link", "shoulder_link"),
        Some(AllowReason::Adjacent)
    );
    assert_eq!(
        acm.reason("wrist_3_link", "hand_link"),
        Some(AllowReason::Adjacent)
    );
    assert_eq!(
        acm.reason("hand_link", "left_finger_link"),
        Some(AllowReason::Adjacent)
    );
    // The base can never reach the fingers' neighbour pair... but the hand can hit the upper
    // arm when the elbow folds, so that pair must stay checked.
    assert!(!acm.is_allowed("upper_arm_link", "hand_link"));
    let scene = Scene::new(Arc::new(model));
    assert_eq!(scene.in_collision(&[0.0; 6]), None);
    // Folding the elbow fully drives the wrist into the upper arm.
    let folded = [0.0, 0.0, 2.6, 0.0, 2.0, 0.0];
    let hit = scene.in_collision(&folded);
    assert!(hit.is_some(), "folded arm should collide with itself");
}

#[test]
fn panda_falls_back_to_capsules() {
    let urdf = common::load("robots/panda/panda.urdf");
    let model = RobotModel::from_urdf(
        &urdf,
        "panda_link0",
        "panda_link8",
        &RobotModelOptions::default(),
    )
    .expect("model");
    assert!(
        model
            .approximated_links()
            .iter()
            .any(|l| l == "panda_link3")
    );
    assert!(model.approximated_links().iter().any(|l| l == "panda_hand"));
    let scene = Scene::new(Arc::new(model));
    // The Panda's "ready" pose is free.
    let ready = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785];
    assert_eq!(
        scene.in_collision(&ready),
        None,
        "{:?}",
        scene.min_distance(&ready)
    );
}

#[test]
fn tabletop_collisions_are_named() {
    let mut scene = Scene::new(Arc::new(arm_model()));
    tabletop::populate(&mut scene, &TabletopLayout::default(), "base_link").expect("populate");
    assert_eq!(scene.in_collision(&[0.0; 6]), None);
    // Shoulder forward 100° with the elbow straight drives the tool into the table.
    let down = [0.0, 1.75, 0.0, 0.0, 0.0, 0.0];
    let (a, b) = scene.in_collision(&down).expect("collides");
    let names = [a, b];
    assert!(
        names.contains(&"table") || names.contains(&"obstacle"),
        "{names:?}"
    );
    let d = scene.min_distance(&[0.0; 6]).expect("distance");
    assert!(d.distance > 0.0, "{d:?}");
    // The same pose with the table allowed against everything it touches is free of the
    // table, so the pair names are what the matrix is keyed on.
    for l in [
        "wrist_1_link",
        "wrist_2_link",
        "wrist_3_link",
        "hand_link",
        "left_finger_link",
        "right_finger_link",
        "forearm_link",
        "upper_arm_link",
        "obstacle",
    ] {
        scene.allow("table", l);
    }
    if let Some((a, b)) = scene.in_collision(&down) {
        assert!(a != "table" && b != "table");
    }
}

#[test]
fn attach_and_detach_carry_the_object() {
    let mut scene = Scene::new(Arc::new(arm_model()));
    let q = [0.0, FRAC_PI_2, 0.0, 0.0, 0.0, 0.0];
    let tcp = scene.link_pose("tcp", &q).expect("pose");
    scene
        .add_object(SceneObject::new("cup", tcp, Convex::cylinder(0.03, 0.1)))
        .expect("add");
    assert!(
        scene.in_collision(&q).is_some(),
        "cup between the fingers touches them"
    );
    scene
        .attach(
            "cup",
            "tcp",
            &q,
            &["hand_link", "left_finger_link", "right_finger_link"],
        )
        .expect("attach");
    assert_eq!(scene.in_collision(&q), None);
    assert!(
        scene
            .add_object(SceneObject::new("cup", tcp, Convex::Sphere { radius: 0.1 }))
            .is_err()
    );
    // Pan by 90°: the cup goes with the tool.
    let q2 = [FRAC_PI_2, FRAC_PI_2, 0.0, 0.0, 0.0, 0.0];
    let carried = scene.attached_pose("cup", &q2).expect("attached");
    assert!((carried.translation.vector - Vector3::new(0.0, 0.95, 0.3)).norm() < 1e-12);
    scene.detach("cup", &q2).expect("detach");
    let placed = scene.object("cup").expect("back in the world").pose;
    assert!((placed.translation.vector - carried.translation.vector).norm() < 1e-12);
    assert!(scene.acm().reason("cup", "hand_link").is_none());
    // An object dropped onto the upper arm is reported with both names.
    scene
        .add_object(SceneObject::new(
            "box",
            Isometry3::translation(0.0, 0.0, 0.5),
            Convex::cuboid(0.2, 0.2, 0.05),
        ))
        .expect("add");
    assert_eq!(
        scene.in_collision(&[0.0; 6]),
        Some(("upper_arm_link", "box"))
    );
}

#[test]
fn stl_meshes_become_bounding_capsules() {
    // A binary STL of a 0.4 m rod along x, 0.05 m thick, written next to a URDF that uses it.
    let dir = std::env::temp_dir().join(format!("embody-stl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let corners: Vec<[f32; 3]> = (0..8)
        .map(|i| {
            [
                if i & 1 == 0 { 0.0 } else { 0.4 },
                if i & 2 == 0 { -0.025 } else { 0.025 },
                if i & 4 == 0 { -0.025 } else { 0.025 },
            ]
        })
        .collect();
    // Triangles only need to carry the vertices for a bounding shape.
    let tris: Vec<[usize; 3]> = (0..6).map(|k| [k, k + 1, k + 2]).collect();
    let mut stl = vec![0u8; 80];
    stl.extend_from_slice(&(tris.len() as u32).to_le_bytes());
    for t in &tris {
        stl.extend_from_slice(&[0u8; 12]);
        for &v in t {
            for c in corners[v] {
                stl.extend_from_slice(&c.to_le_bytes());
            }
        }
        stl.extend_from_slice(&[0, 0]);
    }
    std::fs::write(dir.join("rod.stl"), &stl).expect("write stl");
    let urdf_text = r#"<robot name="rod">
      <link name="base"/>
      <link name="rod"><collision><geometry><mesh filename="rod.stl"/></geometry></collision></link>
      <link name="tip"/>
      <joint name="j" type="revolute"><parent link="base"/><child link="rod"/>
        <axis xyz="0 0 1"/><limit lower="-1" upper="1" velocity="1" effort="1"/></joint>
      <joint name="t" type="fixed"><parent link="rod"/><child link="tip"/>
        <origin xyz="0.4 0 0"/></joint>
    </robot>"#;
    std::fs::write(dir.join("rod.urdf"), urdf_text).expect("write urdf");
    let urdf = embody_manipulation::Urdf::from_file(&dir.join("rod.urdf"), &Default::default())
        .expect("urdf");
    let model =
        RobotModel::from_urdf(&urdf, "base", "tip", &RobotModelOptions::default()).expect("model");
    std::fs::remove_dir_all(&dir).ok();
    assert!(model.approximated_links().is_empty());
    assert_eq!(model.bodies().len(), 1);
    let body = &model.bodies()[0];
    let Convex::Capsule {
        radius,
        half_length,
    } = body.shape
    else {
        panic!("{:?}", body.shape);
    };
    // The capsule lies along x over the rod and holds its corners.
    let axis = body.local.rotation * Vector3::z();
    assert!(axis.x.abs() > 0.999, "{axis:?}");
    assert!((body.local.translation.vector - Vector3::new(0.2, 0.0, 0.0)).norm() < 1e-3);
    assert!((half_length - 0.2).abs() < 1e-3 && radius < 0.04 && radius > 0.03);
    // A sphere just beyond the rod's end is clear; one on it collides.
    let mut scene = Scene::new(Arc::new(model));
    scene
        .add_object(SceneObject::new(
            "ball",
            Isometry3::translation(0.5, 0.0, 0.0),
            Convex::Sphere { radius: 0.05 },
        ))
        .expect("ball");
    assert_eq!(scene.in_collision(&[0.0]), None);
    scene
        .set_object_pose("ball", Isometry3::translation(0.3, 0.0, 0.0))
        .expect("move");
    assert_eq!(scene.in_collision(&[0.0]), Some(("rod", "ball")));
}
