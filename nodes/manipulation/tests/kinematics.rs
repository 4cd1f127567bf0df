//! Forward kinematics against poses worked out by hand, and the Jacobian against finite
//! differences.

mod common;

use std::f64::consts::{FRAC_PI_2, PI};

use embody_manipulation::Chain;
use embody_manipulation::rng::SplitMix64;
use nalgebra::{Isometry3, UnitQuaternion, Vector3};

fn assert_pose(t: &Isometry3<f64>, xyz: [f64; 3], yaw_pitch_roll: [f64; 3]) {
    let p = t.translation.vector;
    assert!(
        (p - Vector3::from(xyz)).norm() < 1e-12,
        "position {p:?}, expected {xyz:?}"
    );
    let [yaw, pitch, roll] = yaw_pitch_roll;
    let r = UnitQuaternion::from_euler_angles(roll, pitch, yaw);
    assert!(
        t.rotation.angle_to(&r) < 1e-12,
        "rotation {:?}, expected rpy {roll} {pitch} {yaw}",
        t.rotation.euler_angles()
    );
}

#[test]
fn joint_count_and_limits() {
    let arm = common::arm();
    assert_eq!(arm.dof(), 3);
    let j = arm.joints();
    assert_eq!(
        j.iter().map(|j| j.name.as_str()).collect::<Vec<_>>(),
        ["yaw", "pitch", "slide"]
    );
    // The continuous yaw has no limits; it samples, and nominally sits, in ±π.
    assert!(j[0].is_unbounded());
    assert_eq!(j[0].sampling_bounds(), (-PI, PI));
    assert_eq!(j[0].clamp(3.0 * PI / 2.0), -FRAC_PI_2);
    assert!(j[0].within_limits(100.0));
    assert_eq!((j[1].lower, j[1].upper), (-2.0, 2.0));
    assert_eq!(j[1].clamp(2.5), 2.0);
    assert_eq!(arm.nominal(), [0.0, 0.0, 0.15]);
    assert!(arm.within_limits(&[7.0, 1.0, 0.3]));
    assert!(!arm.within_limits(&[0.0, 2.1, 0.0]));
    assert!(!arm.within_limits(&[0.0, 0.0]));
}

#[test]
fn fk_matches_hand_computed_poses() {
    let arm = common::arm();
    // Stretched out along x: 0.4 m link + 0.1 m tool at shoulder height 0.8 m; the tool
    // frame is yawed by 90°.
    assert_pose(
        &arm.fk(&[0.0, 0.0, 0.0]),
        [0.5, 0.0, 0.8],
        [FRAC_PI_2, 0.0, 0.0],
    );
    // Base yaw 90°: the arm points along y.
    assert_pose(
        &arm.fk(&[FRAC_PI_2, 0.0, 0.0]),
        [0.0, 0.5, 0.8],
        [PI, 0.0, 0.0],
    );
    // Shoulder pitch +90° about y turns x into -z: the arm hangs down to 0.8 - 0.5.
    let t = arm.fk(&[0.0, FRAC_PI_2, 0.0]);
    assert!((t.translation.vector - Vector3::new(0.0, 0.0, 0.3)).norm() < 1e-12);
    let expected = UnitQuaternion::from_euler_angles(0.0, FRAC_PI_2, 0.0)
        * UnitQuaternion::from_euler_angles(0.0, 0.0, FRAC_PI_2);
    assert!(t.rotation.angle_to(&expected) < 1e-12);
    // Slide out by 0.2 m.
    assert_pose(
        &arm.fk(&[0.0, 0.0, 0.2]),
        [0.7, 0.0, 0.8],
        [FRAC_PI_2, 0.0, 0.0],
    );
    // Yaw, pitch down and slide together: still straight down, 0.6 m below the shoulder.
    let t = arm.fk(&[FRAC_PI_2, FRAC_PI_2, 0.1]);
    assert!((t.translation.vector - Vector3::new(0.0, 0.0, 0.2)).norm() < 1e-12);
    // -45° pitch lifts the 0.5 m arm to (0.5 cos 45°, 0, 0.8 + 0.5 sin 45°).
    let t = arm.fk(&[0.0, -PI / 4.0, 0.0]);
    let s = 0.5 * (PI / 4.0).sin();
    assert!((t.translation.vector - Vector3::new(s, 0.0, 0.8 + s)).norm() < 1e-12);
}

#[test]
fn every_link_pose() {
    let arm = common::arm();
    let poses = arm.link_poses(&[FRAC_PI_2, 0.0, 0.2]);
    let names: Vec<_> = poses.iter().map(|p| p.0).collect();
    assert_eq!(names, ["base_link", "link1", "link2", "link3", "tool"]);
    assert_pose(&poses[0].1, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]);
    assert_pose(&poses[1].1, [0.0, 0.0, 0.5], [FRAC_PI_2, 0.0, 0.0]);
    assert_pose(&poses[2].1, [0.0, 0.0, 0.8], [FRAC_PI_2, 0.0, 0.0]);
    assert_pose(&poses[3].1, [0.0, 0.6, 0.8], [FRAC_PI_2, 0.0, 0.0]);
    assert_pose(&poses[4].1, [0.0, 0.7, 0.8], [PI, 0.0, 0.0]);
    // The last link pose is the tip pose.
    let tip = arm.fk(&[FRAC_PI_2, 0.0, 0.2]);
    assert!((poses[4].1.translation.vector - tip.translation.vector).norm() < 1e-15);
}

#[test]
fn a_chain_that_climbs_is_the_inverse() {
    let u = common::load("three_joint_arm.urdf");
    let down = Chain::new(&u, "base_link", "tool").expect("down");
    let up = Chain::new(&u, "tool", "base_link").expect("up");
    assert_eq!(up.dof(), 3);
    let names: Vec<_> = up.joints().iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["slide", "pitch", "yaw"]);
    let q = [0.3, -0.7, 0.12];
    let q_rev = [0.12, -0.7, 0.3];
    let t = down.fk(&q) * up.fk(&q_rev);
    assert!(t.translation.vector.norm() < 1e-12);
    assert!(t.rotation.angle() < 1e-12);
    // Between two links partway along, sideways via the common ancestor.
    let mid = Chain::new(&u, "link2", "link1").expect("mid");
    assert_eq!(mid.dof(), 1);
    assert_pose(&mid.fk(&[0.0]), [0.0, 0.0, -0.3], [0.0, 0.0, 0.0]);
    // A chain to itself has no joints.
    let none = Chain::new(&u, "link2", "link2").expect("self");
    assert_eq!(none.dof(), 0);
    assert!(none.fk(&[]).translation.vector.norm() < 1e-15);
}

/// Central differences of FK: linear velocity and the rotation vector rate.
fn numeric_jacobian(chain: &Chain, q: &[f64]) -> nalgebra::Matrix6xX<f64> {
    let h = 1e-6;
    let mut jac = nalgebra::Matrix6xX::zeros(chain.dof());
    for i in 0..chain.dof() {
        let mut qp = q.to_vec();
        let mut qm = q.to_vec();
        qp[i] += h;
        qm[i] -= h;
        let (tp, tm) = (chain.fk(&qp), chain.fk(&qm));
        let v = (tp.translation.vector - tm.translation.vector) / (2.0 * h);
        let w = (tp.rotation * tm.rotation.inverse()).scaled_axis() / (2.0 * h);
        jac.fixed_view_mut::<3, 1>(0, i).copy_from(&v);
        jac.fixed_view_mut::<3, 1>(3, i).copy_from(&w);
    }
    jac
}

#[test]
fn jacobian_matches_finite_differences() {
    let u = common::load("three_joint_arm.urdf");
    let mut chains = vec![
        ("arm".to_string(), common::arm()),
        (
            "arm upwards".to_string(),
            Chain::new(&u, "tool", "base_link").expect("up"),
        ),
    ];
    for (name, ..) in common::ROBOTS {
        chains.push((name.to_string(), common::robot(name)));
    }
    let mut rng = SplitMix64::new(7);
    for (name, chain) in &chains {
        for _ in 0..20 {
            let q: Vec<f64> = chain
                .joints()
                .iter()
                .map(|j| {
                    let (lo, hi) = j.sampling_bounds();
                    rng.uniform(lo, hi)
                })
                .collect();
            let analytic = chain.jacobian(&q);
            let numeric = numeric_jacobian(chain, &q);
            let diff = (&analytic - &numeric).abs().max();
            assert!(diff < 1e-6, "{name}: Jacobian differs by {diff} at {q:?}");
        }
    }
}

#[test]
fn panda_fk_matches_its_published_home_pose() {
    // With all joints zero the Panda flange (link8) sits 0.088 m forward and
    // 0.333 + 0.316 + 0.384 - 0.107 = 0.926 m up, pointing down.
    let panda = common::robot("panda");
    let t = panda.fk(&[0.0; 7]);
    assert!((t.translation.vector - Vector3::new(0.088, 0.0, 0.926)).norm() < 1e-12);
    let down = UnitQuaternion::from_euler_angles(PI, 0.0, 0.0);
    assert!(t.rotation.angle_to(&down) < 1e-9);
}
