//! Straight-line Cartesian moves of the chain's tip (approach, lift, place, retreat) that
//! stay on one IK branch.
//!
//! The tip pose is interpolated along the line (positions linearly, orientations by slerp)
//! in steps of at most `step` metres and `rotation_step` radians. Each step's IK starts from
//! the previous step's solution with random restarts disabled, so it converges to the
//! nearby solution or fails; a step whose largest joint change exceeds `jump_threshold` is
//! rejected as a branch flip (the failure behind moveit#3616 and moveit2_tutorials#975).
//! Every joint segment is collision-checked like a planner motion. A move that cannot be
//! completed is an error carrying the achieved fraction, never a silently shorter path.

use std::time::{Duration, Instant};

use nalgebra::{Isometry3, Translation3, Vector3};

use crate::ik::{IkError, IkGoal, IkOptions, IkSolver};
use crate::rrt::first_collision;
use crate::scene::Scene;

/// Cartesian move settings.
#[derive(Debug, Clone)]
pub struct CartesianOptions {
    /// Longest translation between IK steps, metres.
    pub step: f64,
    /// Largest rotation between IK steps, radians.
    pub rotation_step: f64,
    /// Largest change of any joint between two steps, radians (metres for prismatic).
    pub jump_threshold: f64,
    /// Collision-check resolution of the joint segments, radians.
    pub resolution: f64,
    /// Time budget for each step's IK.
    pub ik_timeout: Duration,
    /// When set, the dense path is thinned to the fewest waypoints whose joint-space
    /// segments keep the tip within this distance (m) of the dense path: each waypoint is a
    /// stop under rest-to-rest timing, so a 5 mm-step path of a 10 cm move would stop 20 times.
    pub simplify_tolerance: Option<f64>,
}

impl Default for CartesianOptions {
    fn default() -> Self {
        Self {
            step: 0.005,
            rotation_step: 0.05,
            // A 5 mm step moves a joint by about 0.02 rad at typical arm radii; 0.2 rad leaves
            // room near the wrist but catches every branch flip (those jump by ~1 rad or more).
            jump_threshold: 0.2,
            resolution: 0.02,
            ik_timeout: Duration::from_millis(20),
            simplify_tolerance: None,
        }
    }
}

/// Why a Cartesian move stopped short.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CartesianStop {
    /// IK found no solution near the previous step.
    #[error("IK failed: {0}")]
    Ik(IkError),
    /// The nearest IK solution needs a joint to jump (a branch flip).
    #[error("joint '{joint}' would jump by {jump:.3} (threshold {threshold:.3})")]
    JointJump {
        /// The joint.
        joint: String,
        /// Its change over one step.
        jump: f64,
        /// The threshold.
        threshold: f64,
    },
    /// The motion collides.
    #[error("'{a}' touches '{b}'")]
    Collision {
        /// One of the pair.
        a: String,
        /// The other.
        b: String,
    },
}

/// Why no Cartesian path is returned.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CartesianError {
    /// The start configuration or the target is unusable.
    #[error("invalid Cartesian request: {0}")]
    InvalidInput(String),
    /// The line could only be followed part of the way.
    #[error("Cartesian path achieved {:.1} % of the line: {reason}", fraction * 100.0)]
    Incomplete {
        /// Achieved fraction of the line, in [0, 1).
        fraction: f64,
        /// Why it stopped.
        reason: CartesianStop,
    },
}

/// A joint path that moves the tip along a straight line.
#[derive(Debug, Clone, PartialEq)]
pub struct CartesianPath {
    /// Joint waypoints, the start first.
    pub waypoints: Vec<Vec<f64>>,
    /// Largest change of any joint between consecutive waypoints.
    pub max_joint_step: f64,
}

/// Moves the tip from where it is at `start` to `target` (base frame) in a straight line.
pub fn linear_to(
    scene: &Scene,
    solver: &IkSolver,
    start: &[f64],
    target: &Isometry3<f64>,
    opts: &CartesianOptions,
) -> Result<CartesianPath, CartesianError> {
    let chain = solver.chain();
    if start.len() != chain.dof() || start.iter().any(|v| !v.is_finite()) {
        return Err(CartesianError::InvalidInput(format!(
            "start needs {} finite joint values",
            chain.dof()
        )));
    }
    if !target.translation.vector.iter().all(|v| v.is_finite())
        || !target.rotation.coords.iter().all(|v| v.is_finite())
    {
        return Err(CartesianError::InvalidInput("target is not finite".into()));
    }
    if opts.step <= 0.0 || opts.rotation_step <= 0.0 {
        return Err(CartesianError::InvalidInput(
            "steps must be positive".into(),
        ));
    }
    let from = chain.fk(start);
    let dist = (target.translation.vector - from.translation.vector).norm();
    let angle = from.rotation.angle_to(&target.rotation);
    let n = ((dist / opts.step)
        .ceil()
        .max((angle / opts.rotation_step).ceil()) as usize)
        .max(1);
    // Restarts would jump to another branch; the step-to-step seed is the whole point.
    let mut stepper = solver.clone();
    stepper.set_options(IkOptions {
        max_restarts: 0,
        timeout: opts.ik_timeout,
        ..solver.options().clone()
    });
    let mut waypoints = vec![start.to_vec()];
    let mut max_step = 0.0f64;
    for i in 1..=n {
        let t = i as f64 / n as f64;
        let pose = Isometry3::from_parts(
            Translation3::from(from.translation.vector.lerp(&target.translation.vector, t)),
            from.rotation.slerp(&target.rotation, t),
        );
        let prev = &waypoints[waypoints.len() - 1];
        let fraction = (i - 1) as f64 / n as f64;
        let stop = |reason| CartesianError::Incomplete { fraction, reason };
        let deadline = Instant::now() + opts.ik_timeout;
        let sol = stepper
            .solve_until(&IkGoal::pose(pose), prev, deadline)
            .map_err(|e| stop(CartesianStop::Ik(e)))?;
        let (k, jump) = sol
            .joints
            .iter()
            .zip(prev)
            .map(|(a, b)| (a - b).abs())
            .enumerate()
            .fold(
                (0, 0.0f64),
                |best, (k, d)| if d > best.1 { (k, d) } else { best },
            );
        if jump > opts.jump_threshold {
            return Err(stop(CartesianStop::JointJump {
                joint: chain.joints()[k].name.clone(),
                jump,
                threshold: opts.jump_threshold,
            }));
        }
        if let Some((_, a, b)) = first_collision(scene, prev, &sol.joints, opts.resolution) {
            return Err(stop(CartesianStop::Collision { a, b }));
        }
        max_step = max_step.max(jump);
        waypoints.push(sol.joints);
    }
    if let Some(tolerance) = opts.simplify_tolerance {
        waypoints = simplify(scene, chain, &waypoints, tolerance, opts.resolution);
    }
    Ok(CartesianPath {
        waypoints,
        max_joint_step: max_step,
    })
}

/// Whether the joint-space segment `a → b` stands in for the dense waypoints `dense`
/// (from `a` to `b` inclusive, evenly spaced along the line): at each dense waypoint's
/// fraction, and half-way between them, the tip is within `tolerance` of where the dense path
/// has it (and turned by no more than `tolerance` radians per metre of it, at least 0.01 rad).
fn segment_fits(chain: &crate::Chain, dense: &[Vec<f64>], tolerance: f64) -> bool {
    let (a, b) = (&dense[0], &dense[dense.len() - 1]);
    let last = (dense.len() - 1) as f64;
    let lerp = |f: f64| -> Vec<f64> { a.iter().zip(b).map(|(x, y)| x + (y - x) * f).collect() };
    let poses: Vec<Isometry3<f64>> = dense.iter().map(|q| chain.fk(q)).collect();
    let max_angle = (tolerance * 10.0).max(0.01);
    let close = |q: &[f64], want: &Isometry3<f64>| {
        let got = chain.fk(q);
        (got.translation.vector - want.translation.vector).norm() <= tolerance
            && got.rotation.angle_to(&want.rotation) <= max_angle
    };
    (1..dense.len()).all(|k| {
        let mid = poses[k - 1].lerp_slerp(&poses[k], 0.5);
        close(&lerp(k as f64 / last), &poses[k]) && close(&lerp((k as f64 - 0.5) / last), &mid)
    })
}

/// The fewest of `dense`'s waypoints (greedily, first and last kept) whose straight joint
/// segments follow it within `tolerance` and are collision-free at `resolution`.
fn simplify(
    scene: &Scene,
    chain: &crate::Chain,
    dense: &[Vec<f64>],
    tolerance: f64,
    resolution: f64,
) -> Vec<Vec<f64>> {
    if dense.len() <= 2 {
        return dense.to_vec();
    }
    let mut kept = vec![dense[0].clone()];
    let mut i = 0;
    while i + 1 < dense.len() {
        // The next waypoint always fits: it is one dense, checked step.
        let mut j = i + 1;
        for k in (i + 2)..dense.len() {
            if segment_fits(chain, &dense[i..=k], tolerance)
                && first_collision(scene, &dense[i], &dense[k], resolution).is_none()
            {
                j = k;
            } else {
                break;
            }
        }
        kept.push(dense[j].clone());
        i = j;
    }
    kept
}

fn check_len(solver: &IkSolver, start: &[f64]) -> Result<(), CartesianError> {
    if start.len() != solver.chain().dof() {
        return Err(CartesianError::InvalidInput(format!(
            "start has {} values, the chain has {} joints",
            start.len(),
            solver.chain().dof()
        )));
    }
    Ok(())
}

/// Moves the tip by `offset` (base frame), keeping its orientation.
pub fn translate(
    scene: &Scene,
    solver: &IkSolver,
    start: &[f64],
    offset: &Vector3<f64>,
    opts: &CartesianOptions,
) -> Result<CartesianPath, CartesianError> {
    check_len(solver, start)?;
    let from = solver.chain().fk(start);
    let target = Translation3::from(*offset) * from;
    linear_to(scene, solver, start, &target, opts)
}

/// Moves the tip by `offset` expressed in the tip's own frame (e.g. `-0.1 z` to back off
/// along the approach direction).
pub fn translate_in_tool(
    scene: &Scene,
    solver: &IkSolver,
    start: &[f64],
    offset: &Vector3<f64>,
    opts: &CartesianOptions,
) -> Result<CartesianPath, CartesianError> {
    check_len(solver, start)?;
    let from = solver.chain().fk(start);
    let world = from.rotation * offset;
    translate(scene, solver, start, &world, opts)
}
