//! The robot's collision model: one or more convex bodies per link, each riding on a frame of
//! the planning chain, and the allowed-collision matrix the robot starts with.
//!
//! Links off the chain (a hand, fingers, a base plate) ride on the nearest chain link above
//! them; joints off the chain are frozen at a given value (default 0, clamped into the
//! limits), so fingers are modelled where the caller says they are.
//!
//! Geometry, per URDF `<collision>` element: box, cylinder and sphere map to the same exact
//! primitive; a mesh that exists and is STL is wrapped in its bounding capsule. A mesh that
//! is missing or not STL makes the whole link fall back to capsules from the link origin to
//! each child joint origin, of radius [`RobotModelOptions::fallback_radius`] (a sphere if the
//! link has no offset child). That is coarse but conservative for slim arm links; the
//! third-party test arms ship without meshes and get exactly this model.

use std::collections::{HashMap, HashSet};

use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};

use crate::acm::{AllowReason, AllowedCollisions};
use crate::collision::{Convex, Placed, bounding_capsule, intersects};
use crate::kinematics::{Chain, ChainError};
use crate::rng::SplitMix64;
use crate::urdf::{JointKind, Shape, Urdf};

/// Why a robot model cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The planning chain could not be cut out of the URDF.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A collision shape has a negative or non-finite dimension.
    #[error("link '{0}': invalid collision shape")]
    InvalidShape(String),
}

/// How the collision model is built.
#[derive(Debug, Clone)]
pub struct RobotModelOptions {
    /// Radius of the capsules that stand in for links whose meshes cannot be read, metres.
    pub fallback_radius: f64,
    /// Values of joints that are not on the chain (fingers, ...); others are 0.
    pub held_joints: HashMap<String, f64>,
    /// Random configurations sampled to find link pairs that never collide (MoveIt's setup
    /// assistant samples 10,000 by default; 0 skips the sampling).
    pub acm_samples: usize,
    /// Seed of that sampling.
    pub acm_seed: u64,
}

impl Default for RobotModelOptions {
    fn default() -> Self {
        Self {
            fallback_radius: 0.06,
            held_joints: HashMap::new(),
            acm_samples: 2000,
            acm_seed: 0xACC0_1D3D,
        }
    }
}

/// A convex body fixed to a frame of the chain.
#[derive(Debug, Clone)]
pub struct RobotBody {
    /// Index into [`RobotModel::link_names`].
    pub link: usize,
    /// Index of the chain frame (see [`Chain::joint_frames_into`]).
    pub frame: usize,
    /// Pose of the shape in that frame.
    pub local: Isometry3<f64>,
    /// The shape.
    pub shape: Convex,
}

/// The collision model of a robot.
#[derive(Debug, Clone)]
pub struct RobotModel {
    chain: Chain,
    link_names: Vec<String>,
    /// (frame index, link pose in that frame) for every link.
    link_frames: Vec<(usize, Isometry3<f64>)>,
    bodies: Vec<RobotBody>,
    allowed: AllowedCollisions,
    approximated: Vec<String>,
}

impl RobotModel {
    /// Builds the model of the chain `base → tip` of `urdf`, and its allowed-collision matrix.
    pub fn from_urdf(
        urdf: &Urdf,
        base: &str,
        tip: &str,
        options: &RobotModelOptions,
    ) -> Result<Self, ModelError> {
        let chain = Chain::new(urdf, base, tip)?;
        let link_names: Vec<String> = urdf.links.iter().map(|l| l.name.clone()).collect();
        let index: HashMap<&str, usize> = link_names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let parent_joint: HashMap<&str, usize> = urdf
            .joints
            .iter()
            .enumerate()
            .map(|(i, j)| (j.child.as_str(), i))
            .collect();
        let tree = tree_poses(urdf, &options.held_joints, &parent_joint);
        let on_chain: HashMap<&str, (usize, Isometry3<f64>)> = chain
            .links()
            .iter()
            .map(|l| (l.name.as_str(), (l.frame_index(), *l.offset())))
            .collect();
        let mut link_frames = Vec::with_capacity(link_names.len());
        for name in &link_names {
            // The nearest chain link at or above this one carries it.
            let mut cur = name.as_str();
            let anchor = loop {
                if on_chain.contains_key(cur) {
                    break cur;
                }
                match parent_joint.get(cur) {
                    Some(&j) => cur = urdf.joints[j].parent.as_str(),
                    None => break base,
                }
            };
            let (frame, offset) = on_chain[anchor];
            let rel = tree[index[anchor]].inverse() * tree[index[name.as_str()]];
            link_frames.push((frame, offset * rel));
        }

        let mut bodies = Vec::new();
        let mut approximated = Vec::new();
        for (li, link) in urdf.links.iter().enumerate() {
            let (frame, link_pose) = link_frames[li];
            let mut fallback = false;
            for g in &link.collisions {
                let (local, shape) = match &g.shape {
                    Shape::Box { size } => (g.origin, Convex::cuboid(size.x, size.y, size.z)),
                    Shape::Cylinder { radius, length } => {
                        (g.origin, Convex::cylinder(*radius, *length))
                    }
                    Shape::Sphere { radius } => (g.origin, Convex::Sphere { radius: *radius }),
                    Shape::Mesh {
                        resolved, scale, ..
                    } => match resolved.as_deref().and_then(|p| mesh_capsule(p, scale)) {
                        Some((pose, c)) => (g.origin * pose, c),
                        None => {
                            fallback = true;
                            continue;
                        }
                    },
                };
                if !shape.is_valid() {
                    return Err(ModelError::InvalidShape(link.name.clone()));
                }
                bodies.push(RobotBody {
                    link: li,
                    frame,
                    local: link_pose * local,
                    shape,
                });
            }
            if fallback {
                approximated.push(link.name.clone());
                for (local, shape) in fallback_shapes(urdf, &link.name, options.fallback_radius) {
                    bodies.push(RobotBody {
                        link: li,
                        frame,
                        local: link_pose * local,
                        shape,
                    });
                }
            }
        }
        let mut model = RobotModel {
            chain,
            link_names,
            link_frames,
            bodies,
            allowed: AllowedCollisions::default(),
            approximated,
        };
        model.allowed = model.default_allowed(urdf, &parent_joint, options);
        Ok(model)
    }

    /// The planning chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// Every link of the URDF, in document order.
    pub fn link_names(&self) -> &[String] {
        &self.link_names
    }

    /// The collision bodies.
    pub fn bodies(&self) -> &[RobotBody] {
        &self.bodies
    }

    /// Links whose meshes could not be read and that are modelled by capsules instead.
    pub fn approximated_links(&self) -> &[String] {
        &self.approximated
    }

    /// The allowed-collision matrix the robot starts with (adjacent, default-pose, never and
    /// always colliding link pairs).
    pub fn allowed(&self) -> &AllowedCollisions {
        &self.allowed
    }

    /// Index of a link by name.
    pub fn link_index(&self, name: &str) -> Option<usize> {
        self.link_names.iter().position(|n| n == name)
    }

    /// (chain frame index, pose in that frame) of a link.
    pub fn link_frame(&self, link: usize) -> (usize, Isometry3<f64>) {
        self.link_frames[link]
    }

    /// Pose of a link in the chain's base frame. Panics if `q.len() != dof()`.
    pub fn link_pose(&self, link: usize, q: &[f64]) -> Isometry3<f64> {
        let mut frames = Vec::new();
        self.chain.joint_frames_into(q, &mut frames);
        let (f, off) = self.link_frames[link];
        frames[f] * off
    }

    /// Every pair of distinct links (by index) whose bodies touch at `q`.
    fn colliding_link_pairs(
        &self,
        q: &[f64],
        frames: &mut Vec<Isometry3<f64>>,
    ) -> HashSet<(usize, usize)> {
        self.chain.joint_frames_into(q, frames);
        let poses: Vec<Isometry3<f64>> = self
            .bodies
            .iter()
            .map(|b| frames[b.frame] * b.local)
            .collect();
        let mut out = HashSet::new();
        for i in 0..self.bodies.len() {
            for j in i + 1..self.bodies.len() {
                let (a, b) = (&self.bodies[i], &self.bodies[j]);
                if a.link == b.link {
                    continue;
                }
                let key = (a.link.min(b.link), a.link.max(b.link));
                if out.contains(&key) {
                    continue;
                }
                let reach = a.shape.bounding_radius() + b.shape.bounding_radius();
                if (poses[i].translation.vector - poses[j].translation.vector).norm() > reach {
                    continue;
                }
                if intersects(
                    Placed {
                        shape: &a.shape,
                        pose: &poses[i],
                    },
                    Placed {
                        shape: &b.shape,
                        pose: &poses[j],
                    },
                    0.0,
                ) {
                    out.insert(key);
                }
            }
        }
        out
    }

    /// MoveIt's setup-assistant rules: adjacent links, pairs colliding in the default pose,
    /// and pairs that never (or always) collide over random configurations.
    fn default_allowed(
        &self,
        urdf: &Urdf,
        parent_joint: &HashMap<&str, usize>,
        options: &RobotModelOptions,
    ) -> AllowedCollisions {
        let mut acm = AllowedCollisions::default();
        let has_body: HashSet<usize> = self.bodies.iter().map(|b| b.link).collect();
        for &l in &has_body {
            // Adjacent means the nearest ancestor that has geometry, skipping bare frames.
            let mut cur = self.link_names[l].as_str();
            while let Some(&j) = parent_joint.get(cur) {
                cur = urdf.joints[j].parent.as_str();
                if let Some(p) = self.link_index(cur).filter(|p| has_body.contains(p)) {
                    acm.allow(
                        &self.link_names[l],
                        &self.link_names[p],
                        AllowReason::Adjacent,
                    );
                    break;
                }
            }
        }
        let mut frames = Vec::new();
        let default_q: Vec<f64> = self.chain.joints().iter().map(|j| j.clamp(0.0)).collect();
        for (a, b) in self.colliding_link_pairs(&default_q, &mut frames) {
            if !acm.is_allowed(&self.link_names[a], &self.link_names[b]) {
                acm.allow(
                    &self.link_names[a],
                    &self.link_names[b],
                    AllowReason::Default,
                );
            }
        }
        if options.acm_samples > 0 {
            let mut links: Vec<usize> = has_body.into_iter().collect();
            links.sort_unstable();
            let mut counts: HashMap<(usize, usize), usize> = HashMap::new();
            let mut rng = SplitMix64::new(options.acm_seed);
            for _ in 0..options.acm_samples {
                let q: Vec<f64> = self
                    .chain
                    .joints()
                    .iter()
                    .map(|j| {
                        let (lo, hi) = j.sampling_bounds();
                        rng.uniform(lo, hi)
                    })
                    .collect();
                for key in self.colliding_link_pairs(&q, &mut frames) {
                    *counts.entry(key).or_default() += 1;
                }
            }
            for (i, &a) in links.iter().enumerate() {
                for &b in &links[i + 1..] {
                    let (na, nb) = (&self.link_names[a], &self.link_names[b]);
                    if acm.is_allowed(na, nb) {
                        continue;
                    }
                    match counts.get(&(a, b)).copied().unwrap_or(0) {
                        0 => acm.allow(na, nb, AllowReason::Never),
                        n if n == options.acm_samples => acm.allow(na, nb, AllowReason::Always),
                        _ => {}
                    }
                }
            }
        }
        acm
    }
}

/// Pose of every link relative to the root, joints at their held value (default 0).
fn tree_poses(
    urdf: &Urdf,
    held: &HashMap<String, f64>,
    parent_joint: &HashMap<&str, usize>,
) -> Vec<Isometry3<f64>> {
    let index: HashMap<&str, usize> = urdf
        .links
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();
    let mut poses: Vec<Option<Isometry3<f64>>> = vec![None; urdf.links.len()];
    for start in 0..urdf.links.len() {
        // Walk up to a link with a known pose (or the root), then fill in downwards.
        let mut path = Vec::new();
        let mut cur = start;
        while poses[cur].is_none() {
            path.push(cur);
            match parent_joint.get(urdf.links[cur].name.as_str()) {
                Some(&j) => cur = index[urdf.joints[j].parent.as_str()],
                None => break,
            }
        }
        for &l in path.iter().rev() {
            let pose = match parent_joint.get(urdf.links[l].name.as_str()) {
                None => Isometry3::identity(),
                Some(&j) => {
                    let joint = &urdf.joints[j];
                    let parent =
                        poses[index[joint.parent.as_str()]].unwrap_or_else(Isometry3::identity);
                    let mut v = held.get(&joint.name).copied().unwrap_or(0.0);
                    if let Some(lim) = joint.limits {
                        v = v.clamp(
                            lim.lower.unwrap_or(f64::NEG_INFINITY),
                            lim.upper.unwrap_or(f64::INFINITY),
                        );
                    }
                    parent * joint.origin * joint_motion(joint.kind, &joint.axis, v)
                }
            };
            poses[l] = Some(pose);
        }
    }
    poses
        .into_iter()
        .map(|p| p.unwrap_or_else(Isometry3::identity))
        .collect()
}

fn joint_motion(kind: JointKind, axis: &nalgebra::Unit<Vector3<f64>>, v: f64) -> Isometry3<f64> {
    match kind {
        JointKind::Fixed => Isometry3::identity(),
        JointKind::Revolute | JointKind::Continuous => Isometry3::from_parts(
            Translation3::identity(),
            UnitQuaternion::from_axis_angle(axis, v),
        ),
        JointKind::Prismatic => Isometry3::from_parts(
            Translation3::from(axis.into_inner() * v),
            UnitQuaternion::identity(),
        ),
    }
}

fn mesh_capsule(path: &std::path::Path, scale: &Vector3<f64>) -> Option<(Isometry3<f64>, Convex)> {
    let is_stl = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("stl"));
    if !is_stl {
        return None;
    }
    let pts = crate::stl::read_vertices(path).ok()?;
    let scaled: Vec<_> = pts
        .into_iter()
        .map(|p| nalgebra::Point3::from(p.coords.component_mul(scale)))
        .collect();
    bounding_capsule(&scaled)
}

/// Capsules from the link origin to each child joint origin; a sphere if there are none.
fn fallback_shapes(urdf: &Urdf, link: &str, radius: f64) -> Vec<(Isometry3<f64>, Convex)> {
    let mut out = Vec::new();
    for j in urdf.joints.iter().filter(|j| j.parent == link) {
        let d = j.origin.translation.vector;
        let len = d.norm();
        if len < 1e-6 {
            continue;
        }
        let rot = UnitQuaternion::rotation_between(&Vector3::z(), &d)
            .unwrap_or_else(|| UnitQuaternion::from_euler_angles(std::f64::consts::PI, 0.0, 0.0));
        out.push((
            Isometry3::from_parts(Translation3::from(0.5 * d), rot),
            Convex::Capsule {
                radius,
                half_length: 0.5 * len,
            },
        ));
    }
    if out.is_empty() {
        out.push((Isometry3::identity(), Convex::Sphere { radius }));
    }
    out
}
