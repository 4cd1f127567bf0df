//! Serial kinematic chains cut out of a URDF tree: forward kinematics and the geometric
//! Jacobian.
//!
//! A chain is stored as `F0 · M1(q1) · F1 · … · Mn(qn) · Fn`, where the `F` are the fixed
//! transforms between moving joints (fixed joints already multiplied in) and `Mi` is a pure
//! rotation about, or translation along, joint i's axis. Evaluating it costs one joint motion
//! and one isometry product per moving joint, with no allocation.

use std::collections::HashMap;

use nalgebra::{Isometry3, Matrix6xX, Translation3, Unit, UnitQuaternion, Vector3};

use crate::urdf::{JointKind, Urdf};

/// Why a chain cannot be built.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ChainError {
    /// The base or tip link is not in the model.
    #[error("link '{0}' is not in the model")]
    UnknownLink(String),
    /// No sequence of joints links base and tip.
    #[error("links '{base}' and '{tip}' are not connected by joints")]
    NotConnected {
        /// The base link.
        base: String,
        /// The tip link.
        tip: String,
    },
}

/// How a chain joint moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    /// Rotation about the axis.
    Revolute,
    /// Translation along the axis.
    Prismatic,
}

/// One moving joint of a chain.
#[derive(Debug, Clone)]
pub struct ChainJoint {
    /// The URDF joint name.
    pub name: String,
    /// Rotation or translation.
    pub motion: Motion,
    /// The axis in the joint frame, negated when the chain runs from child to parent.
    pub axis: Unit<Vector3<f64>>,
    /// Lower position limit; `-inf` for continuous joints.
    pub lower: f64,
    /// Upper position limit; `+inf` for continuous joints.
    pub upper: f64,
    /// Maximum speed from the URDF (0 when the URDF gives none).
    pub max_velocity: f64,
}

impl ChainJoint {
    /// True if the joint has no position limits (a URDF `continuous` joint).
    pub fn is_unbounded(&self) -> bool {
        !self.lower.is_finite() || !self.upper.is_finite()
    }

    /// Bounds to sample from: the limits, or ±π for a continuous joint.
    pub fn sampling_bounds(&self) -> (f64, f64) {
        if self.is_unbounded() {
            (-std::f64::consts::PI, std::f64::consts::PI)
        } else {
            (self.lower, self.upper)
        }
    }

    /// The midpoint of the sampling bounds (TRAC-IK's "nominal" seed).
    pub fn nominal(&self) -> f64 {
        let (lo, hi) = self.sampling_bounds();
        0.5 * (lo + hi)
    }

    /// Pulls a value inside the limits; continuous joints are wrapped to (-π, π] instead.
    pub fn clamp(&self, q: f64) -> f64 {
        if self.is_unbounded() {
            wrap_angle(q)
        } else {
            q.clamp(self.lower, self.upper)
        }
    }

    /// True if the value is within the limits (continuous joints accept anything finite).
    pub fn within_limits(&self, q: f64) -> bool {
        q.is_finite() && (self.is_unbounded() || (q >= self.lower && q <= self.upper))
    }

    fn transform(&self, q: f64) -> Isometry3<f64> {
        match self.motion {
            Motion::Revolute => Isometry3::from_parts(
                Translation3::identity(),
                UnitQuaternion::from_axis_angle(&self.axis, q),
            ),
            Motion::Prismatic => Isometry3::from_parts(
                Translation3::from(self.axis.into_inner() * q),
                UnitQuaternion::identity(),
            ),
        }
    }
}

/// Wraps an angle to (-π, π].
pub fn wrap_angle(a: f64) -> f64 {
    use std::f64::consts::{PI, TAU};
    let r = (a + PI).rem_euclid(TAU) - PI;
    if r <= -PI { r + TAU } else { r }
}

/// A link on the chain and where it sits relative to the moving joints.
#[derive(Debug, Clone)]
pub struct ChainLink {
    /// The link name.
    pub name: String,
    /// How many moving joints lie between the base and this link.
    joints_before: usize,
    /// The link frame relative to the frame after the last of those joints.
    offset: Isometry3<f64>,
}

impl ChainLink {
    /// Index into [`Chain::joint_frames_into`]'s output of the frame this link rides on.
    pub fn frame_index(&self) -> usize {
        self.joints_before
    }

    /// The link frame relative to the frame it rides on.
    pub fn offset(&self) -> &Isometry3<f64> {
        &self.offset
    }
}

/// A serial chain from a base link to a tip link.
#[derive(Debug, Clone)]
pub struct Chain {
    base: String,
    tip: String,
    joints: Vec<ChainJoint>,
    /// `fixed[i]` follows joint i (fixed[0] precedes joint 0); `joints.len() + 1` entries.
    fixed: Vec<Isometry3<f64>>,
    links: Vec<ChainLink>,
}

/// One step on the path from base to tip, before fixed steps are merged.
enum Step {
    Fixed(Isometry3<f64>),
    Joint(ChainJoint),
    Link(String),
}

impl Chain {
    /// Cuts the chain from `base` to `tip` out of the model. The path may climb from the
    /// base towards the root before descending to the tip; joints crossed upwards move the
    /// chain in the opposite sense of their axis.
    pub fn new(urdf: &Urdf, base: &str, tip: &str) -> Result<Self, ChainError> {
        for l in [base, tip] {
            if urdf.link(l).is_none() {
                return Err(ChainError::UnknownLink(l.to_string()));
            }
        }
        let parent_joint: HashMap<&str, usize> = urdf
            .joints
            .iter()
            .enumerate()
            .map(|(i, j)| (j.child.as_str(), i))
            .collect();
        // Ancestors (link, joint into it) from a link up to its root.
        let climb = |start: &str| -> Vec<(String, Option<usize>)> {
            let mut out = Vec::new();
            let mut cur = start.to_string();
            loop {
                let j = parent_joint.get(cur.as_str()).copied();
                out.push((cur.clone(), j));
                match j {
                    // The bound guards against a cycle in a hand-built model.
                    Some(j) if out.len() <= urdf.links.len() => cur = urdf.joints[j].parent.clone(),
                    _ => break,
                }
            }
            out
        };
        let up = climb(base);
        let down = climb(tip);
        let not_connected = || ChainError::NotConnected {
            base: base.to_string(),
            tip: tip.to_string(),
        };
        let (iu, id) = up
            .iter()
            .enumerate()
            .find_map(|(iu, (l, _))| down.iter().position(|(d, _)| d == l).map(|id| (iu, id)))
            .ok_or_else(not_connected)?;

        let mut steps = vec![Step::Link(base.to_string())];
        for (link, joint) in &up[..iu] {
            let j = &urdf.joints[joint.ok_or_else(not_connected)?];
            debug_assert_eq!(&j.child, link);
            if let Some(cj) = chain_joint(j, -1.0) {
                steps.push(Step::Joint(cj));
            }
            steps.push(Step::Fixed(j.origin.inverse()));
            steps.push(Step::Link(j.parent.clone()));
        }
        for (link, joint) in down[..id].iter().rev() {
            let j = &urdf.joints[joint.ok_or_else(not_connected)?];
            steps.push(Step::Fixed(j.origin));
            if let Some(cj) = chain_joint(j, 1.0) {
                steps.push(Step::Joint(cj));
            }
            steps.push(Step::Link(link.clone()));
        }

        let mut joints = Vec::new();
        let mut fixed = vec![Isometry3::identity()];
        let mut links = Vec::new();
        for s in steps {
            match s {
                Step::Fixed(t) => {
                    let last = fixed.len() - 1;
                    fixed[last] *= t;
                }
                Step::Joint(j) => {
                    joints.push(j);
                    fixed.push(Isometry3::identity());
                }
                Step::Link(name) => links.push(ChainLink {
                    name,
                    joints_before: joints.len(),
                    offset: fixed[fixed.len() - 1],
                }),
            }
        }
        Ok(Chain {
            base: base.to_string(),
            tip: tip.to_string(),
            joints,
            fixed,
            links,
        })
    }

    /// The base link.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The tip link.
    pub fn tip(&self) -> &str {
        &self.tip
    }

    /// Number of moving joints.
    pub fn dof(&self) -> usize {
        self.joints.len()
    }

    /// The moving joints, base to tip.
    pub fn joints(&self) -> &[ChainJoint] {
        &self.joints
    }

    /// The links, base to tip.
    pub fn links(&self) -> &[ChainLink] {
        &self.links
    }

    /// The nominal configuration: every joint midway between its limits.
    pub fn nominal(&self) -> Vec<f64> {
        self.joints.iter().map(ChainJoint::nominal).collect()
    }

    /// True if every value is within its joint's limits.
    pub fn within_limits(&self, q: &[f64]) -> bool {
        q.len() == self.joints.len() && self.joints.iter().zip(q).all(|(j, &v)| j.within_limits(v))
    }

    /// Length of the translation of the i-th fixed transform (0 ≤ i ≤ dof), for reach bounds.
    pub fn fixed_translation_norm(&self, i: usize) -> f64 {
        self.fixed
            .get(i)
            .map_or(0.0, |f| f.translation.vector.norm())
    }

    /// Tip pose in the base frame. Panics if `q.len() != dof()`.
    pub fn fk(&self, q: &[f64]) -> Isometry3<f64> {
        assert_eq!(q.len(), self.joints.len(), "joint vector length");
        let mut t = self.fixed[0];
        for ((j, &v), f) in self.joints.iter().zip(q).zip(&self.fixed[1..]) {
            t = t * j.transform(v) * f;
        }
        t
    }

    /// Pose of every chain link in the base frame, base to tip. Panics if `q.len() != dof()`.
    pub fn link_poses(&self, q: &[f64]) -> Vec<(&str, Isometry3<f64>)> {
        assert_eq!(q.len(), self.joints.len(), "joint vector length");
        // after[k]: the frame just after the k-th moving joint (after[0] is the base).
        let mut after = Vec::with_capacity(self.joints.len() + 1);
        after.push(Isometry3::identity());
        let mut t = Isometry3::identity();
        for (i, (j, &v)) in self.joints.iter().zip(q).enumerate() {
            t = t * self.fixed[i] * j.transform(v);
            after.push(t);
        }
        self.links
            .iter()
            .map(|l| (l.name.as_str(), after[l.joints_before] * l.offset))
            .collect()
    }

    /// The frame just after each moving joint, in the base frame: `out[0]` is the base,
    /// `out[k]` follows joint k-1. Reuses `out`'s allocation. Panics if `q.len() != dof()`.
    pub fn joint_frames_into(&self, q: &[f64], out: &mut Vec<Isometry3<f64>>) {
        assert_eq!(q.len(), self.joints.len(), "joint vector length");
        out.clear();
        out.push(Isometry3::identity());
        let mut t = Isometry3::identity();
        for (i, (j, &v)) in self.joints.iter().zip(q).enumerate() {
            t = t * self.fixed[i] * j.transform(v);
            out.push(t);
        }
    }

    /// Geometric Jacobian at the tip, in the base frame: rows are linear then angular
    /// velocity. Panics if `q.len() != dof()`.
    pub fn jacobian(&self, q: &[f64]) -> Matrix6xX<f64> {
        let mut jac = Matrix6xX::zeros(self.joints.len());
        self.fk_jacobian(q, &mut jac);
        jac
    }

    /// Tip pose and Jacobian in one pass, writing into `jac` (6 × dof) without allocating.
    pub fn fk_jacobian(&self, q: &[f64], jac: &mut Matrix6xX<f64>) -> Isometry3<f64> {
        assert_eq!(q.len(), self.joints.len(), "joint vector length");
        assert_eq!(jac.ncols(), self.joints.len(), "Jacobian columns");
        let mut t = self.fixed[0];
        // First pass: store each joint's world origin and axis in the Jacobian columns; the
        // linear part needs the tip position, known only at the end.
        for (i, (j, &v)) in self.joints.iter().zip(q).enumerate() {
            let z = t.rotation * j.axis.into_inner();
            let p = t.translation.vector;
            let mut col = jac.column_mut(i);
            col.fixed_rows_mut::<3>(0).copy_from(&p);
            col.fixed_rows_mut::<3>(3).copy_from(&z);
            t = t * j.transform(v) * self.fixed[i + 1];
        }
        let tip = t.translation.vector;
        for (i, j) in self.joints.iter().enumerate() {
            let mut col = jac.column_mut(i);
            let p: Vector3<f64> = col.fixed_rows::<3>(0).into_owned();
            let z: Vector3<f64> = col.fixed_rows::<3>(3).into_owned();
            match j.motion {
                Motion::Revolute => {
                    col.fixed_rows_mut::<3>(0).copy_from(&z.cross(&(tip - p)));
                }
                Motion::Prismatic => {
                    col.fixed_rows_mut::<3>(0).copy_from(&z);
                    col.fixed_rows_mut::<3>(3).fill(0.0);
                }
            }
        }
        t
    }
}

fn chain_joint(j: &crate::urdf::Joint, sign: f64) -> Option<ChainJoint> {
    let motion = match j.kind {
        JointKind::Fixed => return None,
        JointKind::Revolute | JointKind::Continuous => Motion::Revolute,
        JointKind::Prismatic => Motion::Prismatic,
    };
    let (lower, upper) = match (j.kind, j.limits) {
        (JointKind::Continuous, _) => (f64::NEG_INFINITY, f64::INFINITY),
        (_, Some(l)) => (
            l.lower.unwrap_or(f64::NEG_INFINITY),
            l.upper.unwrap_or(f64::INFINITY),
        ),
        (_, None) => (f64::NEG_INFINITY, f64::INFINITY),
    };
    Some(ChainJoint {
        name: j.name.clone(),
        motion,
        axis: Unit::new_unchecked(j.axis.into_inner() * sign),
        lower,
        upper,
        max_velocity: j.limits.map_or(0.0, |l| l.velocity),
    })
}
