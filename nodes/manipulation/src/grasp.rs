//! Grasp candidates for cylinders and boxes, and their ranking by IK feasibility.
//!
//! A grasp is a pose of the tool centre point (TCP) in the object frame. Convention (the
//! embody arm's `tcp` frame): the TCP's z axis is the approach direction, out of the
//! gripper towards the object, and its y axis is the direction the fingers close along. The
//! pre-grasp pose backs off along the approach direction.

use nalgebra::{Isometry3, Matrix3, Rotation3, Translation3, UnitQuaternion, Vector3};

use crate::collision::Convex;
use crate::ik::{IkGoal, IkSolver};
use crate::scene::{Scene, SceneObject};

/// Top (along the object's axis) or side (across it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraspKind {
    /// Approach from above, along −z of the object.
    Top,
    /// Approach horizontally, towards the object's centre.
    Side,
}

/// One grasp candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Grasp {
    /// TCP pose in the object frame at the grasp.
    pub tcp_in_object: Isometry3<f64>,
    /// Distance the pre-grasp pose backs off along the approach direction, metres.
    pub pre_grasp_distance: f64,
    /// Width of the object between the fingers, metres.
    pub width: f64,
    /// Top or side.
    pub kind: GraspKind,
}

impl Grasp {
    /// The TCP pose for an object at `object_pose`.
    pub fn tcp_pose(&self, object_pose: &Isometry3<f64>) -> Isometry3<f64> {
        object_pose * self.tcp_in_object
    }

    /// The pre-grasp TCP pose for an object at `object_pose`.
    pub fn pre_grasp_pose(&self, object_pose: &Isometry3<f64>) -> Isometry3<f64> {
        let g = self.tcp_pose(object_pose);
        let back = g.rotation * Vector3::new(0.0, 0.0, -self.pre_grasp_distance);
        Translation3::from(back) * g
    }
}

/// Gripper geometry and sampling density.
#[derive(Debug, Clone)]
pub struct GraspOptions {
    /// Widest object the open gripper takes, metres (embody arm: 0.08).
    pub max_opening: f64,
    /// Distance from the TCP to the fingertips along the approach, metres (embody arm: 0.02).
    pub tip_beyond_tcp: f64,
    /// How far the fingertips reach below the top of the object in a top grasp, metres.
    pub top_depth: f64,
    /// How far the fingertips reach past the near face in a side grasp, metres.
    pub side_depth: f64,
    /// Pre-grasp back-off, metres.
    pub pre_grasp_distance: f64,
    /// Rotations sampled about the axis for top grasps of a cylinder.
    pub top_angles: usize,
    /// Directions sampled around the axis for side grasps of a cylinder.
    pub side_angles: usize,
}

impl Default for GraspOptions {
    fn default() -> Self {
        Self {
            max_opening: 0.08,
            tip_beyond_tcp: 0.02,
            top_depth: 0.04,
            side_depth: 0.055,
            pre_grasp_distance: 0.10,
            top_angles: 8,
            side_angles: 12,
        }
    }
}

/// Rotation whose columns are the TCP axes given approach `z` and closing direction `y`.
fn frame(z: Vector3<f64>, y: Vector3<f64>) -> UnitQuaternion<f64> {
    let x = y.cross(&z);
    UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix_unchecked(Matrix3::from_columns(
        &[x, y, z],
    )))
}

fn grasp(
    pos: Vector3<f64>,
    z: Vector3<f64>,
    y: Vector3<f64>,
    width: f64,
    kind: GraspKind,
    o: &GraspOptions,
) -> Grasp {
    Grasp {
        tcp_in_object: Isometry3::from_parts(Translation3::from(pos), frame(z, y)),
        pre_grasp_distance: o.pre_grasp_distance,
        width,
        kind,
    }
}

/// Grasps of a cylinder of `radius` and full `length` along its z axis: top grasps at
/// `top_angles` rotations about the axis, side grasps from `side_angles` directions with the
/// gripper upright and upside down.
pub fn cylinder_grasps(radius: f64, length: f64, o: &GraspOptions) -> Vec<Grasp> {
    let width = 2.0 * radius;
    if width > o.max_opening {
        return Vec::new();
    }
    let h = 0.5 * length;
    let mut out = Vec::new();
    let top_z = (h - o.top_depth + o.tip_beyond_tcp).min(h + o.tip_beyond_tcp);
    for k in 0..o.top_angles {
        let a = std::f64::consts::TAU * k as f64 / o.top_angles as f64;
        let y = Vector3::new(a.cos(), a.sin(), 0.0);
        out.push(grasp(
            Vector3::new(0.0, 0.0, top_z),
            -Vector3::z(),
            y,
            width,
            GraspKind::Top,
            o,
        ));
    }
    // The TCP sits so that the fingertips reach `side_depth` past the near surface, but
    // never beyond the axis plus the tip length (they would hit nothing and gain nothing).
    let inset = (radius - o.side_depth + o.tip_beyond_tcp).max(0.0);
    for k in 0..o.side_angles {
        let a = std::f64::consts::TAU * k as f64 / o.side_angles as f64;
        let out_dir = Vector3::new(a.cos(), a.sin(), 0.0);
        let z = -out_dir;
        let y = Vector3::z().cross(&out_dir);
        for flip in [1.0, -1.0] {
            out.push(grasp(
                out_dir * inset,
                z,
                y * flip,
                width,
                GraspKind::Side,
                o,
            ));
        }
    }
    out
}

/// Grasps of a box with half extents `h`: top grasps closing along x or y (both ways round),
/// side grasps from ±x and ±y closing across the other horizontal axis, upright and upside
/// down. Only grasps whose width fits the gripper are returned.
pub fn box_grasps(h: &Vector3<f64>, o: &GraspOptions) -> Vec<Grasp> {
    let mut out = Vec::new();
    let top_z = h.z - o.top_depth + o.tip_beyond_tcp;
    for (axis, width) in [(Vector3::x(), 2.0 * h.x), (Vector3::y(), 2.0 * h.y)] {
        if width > o.max_opening {
            continue;
        }
        for sign in [1.0, -1.0] {
            out.push(grasp(
                Vector3::new(0.0, 0.0, top_z),
                -Vector3::z(),
                axis * sign,
                width,
                GraspKind::Top,
                o,
            ));
        }
    }
    // (outward direction, its half extent, closing axis, width)
    let sides = [
        (Vector3::x(), h.x, Vector3::y(), 2.0 * h.y),
        (-Vector3::x(), h.x, Vector3::y(), 2.0 * h.y),
        (Vector3::y(), h.y, Vector3::x(), 2.0 * h.x),
        (-Vector3::y(), h.y, Vector3::x(), 2.0 * h.x),
    ];
    for (dir, extent, close, width) in sides {
        if width > o.max_opening {
            continue;
        }
        let inset = (extent - o.side_depth + o.tip_beyond_tcp).max(0.0);
        for flip in [1.0, -1.0] {
            out.push(grasp(
                dir * inset,
                -dir,
                close * flip,
                width,
                GraspKind::Side,
                o,
            ));
        }
    }
    out
}

/// Grasps of a scene object from its first primitive (cylinders and boxes; others get none).
pub fn object_grasps(object: &SceneObject, o: &GraspOptions) -> Vec<Grasp> {
    let Some((local, shape)) = object.shapes.first() else {
        return Vec::new();
    };
    let grasps = match *shape {
        Convex::Cylinder {
            radius,
            half_length,
        } => cylinder_grasps(radius, 2.0 * half_length, o),
        Convex::Box { half_extents } => box_grasps(&half_extents, o),
        _ => Vec::new(),
    };
    // The primitive may be offset inside the object frame.
    grasps
        .into_iter()
        .map(|mut g| {
            g.tcp_in_object = local * g.tcp_in_object;
            g
        })
        .collect()
}

/// A grasp that IK reaches, with the configurations that reach it.
#[derive(Debug, Clone)]
pub struct RankedGrasp {
    /// The grasp.
    pub grasp: Grasp,
    /// Joints at the pre-grasp pose (collision-free).
    pub pre_grasp: Vec<f64>,
    /// Joints at the grasp pose (collision-free apart from the allowed touch links).
    pub at_grasp: Vec<f64>,
    /// Joint-space distance from the seed to the pre-grasp configuration (lower is better).
    pub cost: f64,
}

/// Keeps the grasps whose grasp and pre-grasp poses have a collision-free IK solution, and
/// sorts them by how far the arm must move from `seed`. At the grasp pose the object may
/// touch `touch_links` (the fingers close on it).
pub fn rank_grasps(
    scene: &Scene,
    solver: &IkSolver,
    object_id: &str,
    grasps: &[Grasp],
    seed: &[f64],
    touch_links: &[&str],
) -> Vec<RankedGrasp> {
    let Some(object) = scene.object(object_id) else {
        return Vec::new();
    };
    if seed.len() != solver.chain().dof() {
        return Vec::new();
    }
    let mut touching = scene.clone();
    for l in touch_links {
        touching.allow(object_id, l);
    }
    let mut out = Vec::new();
    for g in grasps {
        // Pre-grasp first from the caller's seed (that is where the arm comes from), then the
        // grasp seeded from it so the approach stays on the same branch.
        let Ok(pre) = solver.solve(&IkGoal::pose(g.pre_grasp_pose(&object.pose)), seed) else {
            continue;
        };
        if scene.in_collision(&pre.joints).is_some() {
            continue;
        }
        let Ok(at) = solver.solve(&IkGoal::pose(g.tcp_pose(&object.pose)), &pre.joints) else {
            continue;
        };
        if touching.in_collision(&at.joints).is_some() {
            continue;
        }
        let cost = pre
            .joints
            .iter()
            .zip(seed)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        out.push(RankedGrasp {
            grasp: g.clone(),
            pre_grasp: pre.joints,
            at_grasp: at.joints,
            cost,
        });
    }
    out.sort_by(|a, b| a.cost.total_cmp(&b.cost));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grasp_frames_are_right_handed_and_aim_at_the_object() {
        let o = GraspOptions::default();
        let gs = cylinder_grasps(0.035, 0.1, &o);
        assert_eq!(gs.len(), 8 + 24);
        for g in &gs {
            let r = g.tcp_in_object.rotation;
            let (x, y, z) = (r * Vector3::x(), r * Vector3::y(), r * Vector3::z());
            assert!((x.cross(&y) - z).norm() < 1e-12);
            // Closing is across the axis for side grasps and horizontal for top grasps.
            assert!(y.z.abs() < 1e-12);
            // The approach direction points at the axis (or down it).
            let p = g.tcp_in_object.translation.vector;
            match g.kind {
                GraspKind::Top => assert!((z + Vector3::z()).norm() < 1e-12 && p.z > 0.0),
                GraspKind::Side => {
                    assert!(p.xy().norm() < 1e-12 || p.xy().normalize().dot(&z.xy()) < -0.99)
                }
            }
            // The pre-grasp backs off against the approach.
            let pre = g.pre_grasp_pose(&Isometry3::identity());
            let back = pre.translation.vector - p;
            assert!((back + z * 0.1).norm() < 1e-12);
        }
        assert!(
            cylinder_grasps(0.05, 0.1, &o).is_empty(),
            "too wide for the gripper"
        );
        let b = box_grasps(&Vector3::new(0.02, 0.06, 0.05), &o);
        // Top: only across x fits (2 ways); sides: from ±y closing across x (2 × 2).
        assert_eq!(b.iter().filter(|g| g.kind == GraspKind::Top).count(), 2);
        assert_eq!(b.iter().filter(|g| g.kind == GraspKind::Side).count(), 4);
    }
}
