//! Pick and place as a pure function over a planning scene.
//!
//! Phases: joint-space move to a pre-grasp (RRT-Connect), Cartesian approach, grasp (the
//! object is attached to the tip link), Cartesian lift, joint-space transport to a pre-place
//! pose, Cartesian place, release (the object is detached where it is), Cartesian retreat.
//! Grasps are tried best-ranked first until one gets through every phase; the error names
//! the phase that failed for the last grasp tried, and why.
//!
//! Allowed contacts, per phase, beyond the scene's matrix: the object with the touch links
//! during approach, grasp and retreat (the fingers close on it), and the carried object with
//! its support surface during lift and place (it rests on it at the start or end).

use std::fmt;

use nalgebra::{Isometry3, Vector3};

use crate::cartesian::{self, CartesianError, CartesianOptions};
use crate::grasp::{self, Grasp, GraspOptions};
use crate::ik::{IkGoal, IkOptions, IkSolver};
use crate::rrt::{self, PlanError, RrtOptions};
use crate::scene::{Scene, SceneError};
use crate::timing::{self, KinematicLimits, TimingError, Trajectory};

/// The stages of a pick and place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseKind {
    /// Choosing a grasp that IK can reach.
    SelectGrasp,
    /// Joint-space move to the pre-grasp pose.
    MoveToPreGrasp,
    /// Straight line to the grasp pose.
    Approach,
    /// Close the gripper; the object is attached.
    Grasp,
    /// Straight up with the object.
    Lift,
    /// Joint-space move to the pre-place pose.
    Transport,
    /// Straight down to the place pose.
    Place,
    /// Open the gripper; the object is detached.
    Release,
    /// Straight back along the approach direction.
    Retreat,
}

impl fmt::Display for PhaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            PhaseKind::SelectGrasp => "select grasp",
            PhaseKind::MoveToPreGrasp => "move to pre-grasp",
            PhaseKind::Approach => "approach",
            PhaseKind::Grasp => "grasp",
            PhaseKind::Lift => "lift",
            PhaseKind::Transport => "transport",
            PhaseKind::Place => "place",
            PhaseKind::Release => "release",
            PhaseKind::Retreat => "retreat",
        };
        f.write_str(s)
    }
}

/// A gripper command between motions.
#[derive(Debug, Clone, PartialEq)]
pub enum GripperAction {
    /// Close on the object.
    Close {
        /// The object grasped.
        object: String,
        /// Its width between the fingers, metres.
        width: f64,
    },
    /// Open and let go.
    Open,
}

/// One phase of the plan: a timed motion or a gripper action.
#[derive(Debug, Clone)]
pub struct Phase {
    /// Which phase.
    pub kind: PhaseKind,
    /// The motion, for motion phases.
    pub trajectory: Option<Trajectory>,
    /// The gripper command, for grasp and release.
    pub gripper: Option<GripperAction>,
    /// Pairs allowed to touch during this phase beyond the scene's matrix.
    pub allowed: Vec<(String, String)>,
    /// The object carried during this phase, if any.
    pub carrying: Option<String>,
}

/// A complete pick and place.
#[derive(Debug, Clone)]
pub struct PickPlacePlan {
    /// The phases in order.
    pub phases: Vec<Phase>,
    /// The grasp used.
    pub grasp: Grasp,
    /// The scene after the release: the object at its new pose.
    pub final_scene: Scene,
    /// Joints at the end.
    pub final_joints: Vec<f64>,
}

/// What to pick and where to put it.
#[derive(Debug, Clone)]
pub struct PickPlaceRequest {
    /// The world object to pick.
    pub object: String,
    /// Where the object frame should end up (base frame).
    pub place_pose: Isometry3<f64>,
    /// Current joints.
    pub start: Vec<f64>,
    /// The object the pick stands on (allowed to touch the object while lifting).
    pub pick_support: Option<String>,
    /// The object the place stands on (allowed to touch the object while placing).
    pub place_support: Option<String>,
}

/// Planner settings.
#[derive(Debug, Clone)]
pub struct PickPlaceOptions {
    /// Links that may touch the object while grasping (hand and fingers).
    pub touch_links: Vec<String>,
    /// Grasp generation.
    pub grasp: GraspOptions,
    /// Joint-space planning.
    pub rrt: RrtOptions,
    /// Cartesian moves.
    pub cartesian: CartesianOptions,
    /// Lift height after the grasp, metres.
    pub lift: f64,
    /// Height of the pre-place pose above the place pose, metres.
    pub place_approach: f64,
    /// Retreat distance along the approach direction after the release, metres.
    pub retreat: f64,
    /// Most ranked grasps tried.
    pub max_grasps: usize,
    /// Turns about the place pose's z axis (rad) the object may be set down with, tried in
    /// order: `[0]` for an object whose orientation matters, several for a cylinder.
    pub place_yaws: Vec<f64>,
    /// Joint limits for the time parameterisation.
    pub limits: KinematicLimits,
}

impl PickPlaceOptions {
    /// Defaults for a robot with these limits and touch links.
    pub fn new(limits: KinematicLimits, touch_links: &[&str]) -> Self {
        Self {
            touch_links: touch_links.iter().map(|s| s.to_string()).collect(),
            grasp: GraspOptions::default(),
            rrt: RrtOptions::default(),
            // 1 mm off the line is nothing to a grasp, and a handful of stops instead of one
            // every 5 mm makes an approach take a second instead of several.
            cartesian: CartesianOptions {
                simplify_tolerance: Some(0.001),
                ..CartesianOptions::default()
            },
            lift: 0.10,
            place_approach: 0.10,
            retreat: 0.10,
            max_grasps: 6,
            place_yaws: vec![0.0],
            limits,
        }
    }
}

/// Why a phase failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum PhaseFailure {
    /// No grasp candidate, or none reachable.
    #[error("{0}")]
    NoGrasp(String),
    /// Joint-space planning failed.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A Cartesian move stopped short.
    #[error(transparent)]
    Cartesian(#[from] CartesianError),
    /// IK found no pose for the pre-place.
    #[error("no collision-free IK solution: {0}")]
    Ik(String),
    /// Attaching or detaching failed.
    #[error(transparent)]
    Scene(#[from] SceneError),
    /// Timing failed.
    #[error(transparent)]
    Timing(#[from] TimingError),
}

/// A pick and place that could not be planned.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error(
    "pick and place of '{object}' failed in phase '{phase}' ({grasps_tried} grasps tried): {reason}"
)]
pub struct PickPlaceError {
    /// The object.
    pub object: String,
    /// The phase that failed (for the last grasp tried).
    pub phase: PhaseKind,
    /// Why.
    pub reason: PhaseFailure,
    /// How many grasps were tried.
    pub grasps_tried: usize,
}

/// Plans a pick and place of `req.object` with the chain's tip as the grasp frame.
pub fn plan_pick_place(
    scene: &Scene,
    solver: &IkSolver,
    req: &PickPlaceRequest,
    opts: &PickPlaceOptions,
) -> Result<PickPlacePlan, PickPlaceError> {
    let fail = |phase, reason, tried| PickPlaceError {
        object: req.object.clone(),
        phase,
        reason,
        grasps_tried: tried,
    };
    let object = scene.object(&req.object).ok_or_else(|| {
        fail(
            PhaseKind::SelectGrasp,
            PhaseFailure::Scene(SceneError::UnknownObject(req.object.clone())),
            0,
        )
    })?;
    if let Err(e) = rrt::validate_state(scene, &req.start, "start") {
        return Err(fail(PhaseKind::MoveToPreGrasp, e.into(), 0));
    }
    let candidates = grasp::object_grasps(object, &opts.grasp);
    if candidates.is_empty() {
        return Err(fail(
            PhaseKind::SelectGrasp,
            PhaseFailure::NoGrasp("the object's shape has no grasp that fits the gripper".into()),
            0,
        ));
    }
    let touch: Vec<&str> = opts.touch_links.iter().map(String::as_str).collect();
    let ranked = grasp::rank_grasps(scene, solver, &req.object, &candidates, &req.start, &touch);
    if ranked.is_empty() {
        return Err(fail(
            PhaseKind::SelectGrasp,
            PhaseFailure::NoGrasp(format!(
                "none of {} grasps has a collision-free IK solution",
                candidates.len()
            )),
            0,
        ));
    }
    let mut last = None;
    for (k, g) in ranked.iter().take(opts.max_grasps.max(1)).enumerate() {
        match attempt(scene, solver, req, opts, g) {
            Ok(plan) => return Ok(plan),
            Err((phase, reason)) => last = Some(fail(phase, reason, k + 1)),
        }
    }
    Err(last.unwrap_or_else(|| {
        fail(
            PhaseKind::SelectGrasp,
            PhaseFailure::NoGrasp("no grasp tried".into()),
            0,
        )
    }))
}

type Attempt<T> = Result<T, (PhaseKind, PhaseFailure)>;

fn at<T, E: Into<PhaseFailure>>(phase: PhaseKind, r: Result<T, E>) -> Attempt<T> {
    r.map_err(|e| (phase, e.into()))
}

fn with_allowed(scene: &Scene, pairs: &[(String, String)]) -> Scene {
    let mut s = scene.clone();
    for (a, b) in pairs {
        s.allow(a, b);
    }
    s
}

fn attempt(
    scene: &Scene,
    solver: &IkSolver,
    req: &PickPlaceRequest,
    opts: &PickPlaceOptions,
    g: &grasp::RankedGrasp,
) -> Attempt<PickPlacePlan> {
    let obj = req.object.as_str();
    let tip = solver.chain().tip().to_string();
    let touch: Vec<&str> = opts.touch_links.iter().map(String::as_str).collect();
    let touching: Vec<(String, String)> = opts
        .touch_links
        .iter()
        .map(|l| (obj.to_string(), l.clone()))
        .collect();
    let timed = |phase, path: &[Vec<f64>]| at(phase, timing::time_parameterize(path, &opts.limits));
    let mut phases = Vec::new();
    let motion = |kind, traj, allowed: Vec<(String, String)>, carrying: bool| Phase {
        kind,
        trajectory: Some(traj),
        gripper: None,
        allowed,
        carrying: carrying.then(|| obj.to_string()),
    };

    // Move to pre-grasp.
    let path = at(
        PhaseKind::MoveToPreGrasp,
        rrt::plan(scene, &req.start, &g.pre_grasp, &opts.rrt),
    )?;
    phases.push(motion(
        PhaseKind::MoveToPreGrasp,
        timed(PhaseKind::MoveToPreGrasp, &path)?,
        vec![],
        false,
    ));

    // Approach.
    let object_pose = scene.object(obj).map(|o| o.pose).ok_or((
        PhaseKind::Approach,
        SceneError::UnknownObject(obj.into()).into(),
    ))?;
    let approach_scene = with_allowed(scene, &touching);
    let approach = at(
        PhaseKind::Approach,
        cartesian::linear_to(
            &approach_scene,
            solver,
            &g.pre_grasp,
            &g.grasp.tcp_pose(&object_pose),
            &opts.cartesian,
        ),
    )?;
    let q_grasp = approach.waypoints[approach.waypoints.len() - 1].clone();
    phases.push(motion(
        PhaseKind::Approach,
        timed(PhaseKind::Approach, &approach.waypoints)?,
        touching.clone(),
        false,
    ));

    // Grasp: attach.
    let mut carrying = scene.clone();
    at(
        PhaseKind::Grasp,
        carrying.attach(obj, &tip, &q_grasp, &touch),
    )?;
    phases.push(Phase {
        kind: PhaseKind::Grasp,
        trajectory: None,
        gripper: Some(GripperAction::Close {
            object: obj.to_string(),
            width: g.grasp.width,
        }),
        allowed: touching.clone(),
        carrying: Some(obj.to_string()),
    });

    // Lift.
    let pick_support: Vec<(String, String)> = req
        .pick_support
        .iter()
        .map(|s| (obj.to_string(), s.clone()))
        .collect();
    let lift = at(
        PhaseKind::Lift,
        cartesian::translate(
            &with_allowed(&carrying, &pick_support),
            solver,
            &q_grasp,
            &Vector3::new(0.0, 0.0, opts.lift),
            &opts.cartesian,
        ),
    )?;
    let q_lifted = lift.waypoints[lift.waypoints.len() - 1].clone();
    phases.push(motion(
        PhaseKind::Lift,
        timed(PhaseKind::Lift, &lift.waypoints)?,
        pick_support,
        true,
    ));

    // Transport to pre-place: the object at the place pose, held the same way, raised. An
    // object symmetric about its axis may be set down turned by any of `place_yaws`: the
    // first the arm reaches, and reaches by a collision-free path, is taken (a turn whose
    // wrist pose is boxed in by the arm's own links fails in the planner, not in IK).
    let mut reached = Err((
        PhaseKind::Transport,
        PhaseFailure::NoGrasp("no place orientation given".into()),
    ));
    for &yaw in &opts.place_yaws {
        let turned = req.place_pose
            * nalgebra::UnitQuaternion::from_axis_angle(&nalgebra::Vector3::z_axis(), yaw);
        let place_tcp = turned * g.grasp.tcp_in_object;
        let pre_place_tcp = nalgebra::Translation3::new(0.0, 0.0, opts.place_approach) * place_tcp;
        let q = match collision_free_ik(&carrying, solver, &pre_place_tcp, &q_lifted) {
            Ok(q) => q,
            Err(e) => {
                reached = Err((PhaseKind::Transport, PhaseFailure::Ik(e)));
                continue;
            }
        };
        match rrt::plan(&carrying, &q_lifted, &q, &opts.rrt) {
            Ok(path) => {
                reached = Ok((place_tcp, q, path));
                break;
            }
            Err(e) => reached = Err((PhaseKind::Transport, e.into())),
        }
    }
    let (place_tcp, q_pre_place, path) = reached?;
    phases.push(motion(
        PhaseKind::Transport,
        timed(PhaseKind::Transport, &path)?,
        vec![],
        true,
    ));

    // Place.
    let place_support: Vec<(String, String)> = req
        .place_support
        .iter()
        .map(|s| (obj.to_string(), s.clone()))
        .collect();
    let place = at(
        PhaseKind::Place,
        cartesian::linear_to(
            &with_allowed(&carrying, &place_support),
            solver,
            &q_pre_place,
            &place_tcp,
            &opts.cartesian,
        ),
    )?;
    let q_placed = place.waypoints[place.waypoints.len() - 1].clone();
    phases.push(motion(
        PhaseKind::Place,
        timed(PhaseKind::Place, &place.waypoints)?,
        place_support,
        true,
    ));

    // Release: detach where the object is.
    let mut released = carrying;
    at(PhaseKind::Release, released.detach(obj, &q_placed))?;
    phases.push(Phase {
        kind: PhaseKind::Release,
        trajectory: None,
        gripper: Some(GripperAction::Open),
        allowed: touching.clone(),
        carrying: None,
    });

    // Retreat along the approach direction.
    let retreat = at(
        PhaseKind::Retreat,
        cartesian::translate_in_tool(
            &with_allowed(&released, &touching),
            solver,
            &q_placed,
            &Vector3::new(0.0, 0.0, -opts.retreat),
            &opts.cartesian,
        ),
    )?;
    let q_end = retreat.waypoints[retreat.waypoints.len() - 1].clone();
    phases.push(motion(
        PhaseKind::Retreat,
        timed(PhaseKind::Retreat, &retreat.waypoints)?,
        touching,
        false,
    ));
    Ok(PickPlacePlan {
        phases,
        grasp: g.grasp.clone(),
        final_scene: released,
        final_joints: q_end,
    })
}

/// A collision-free IK solution for a pose of the chain's tip: first from `seed` (where the
/// arm is), then from random seeds (a fixed stream), since a solution that collides is usually
/// a different branch away from a free one.
pub fn collision_free_ik(
    scene: &Scene,
    solver: &IkSolver,
    pose: &Isometry3<f64>,
    seed: &[f64],
) -> Result<Vec<f64>, String> {
    let goal = IkGoal::pose(*pose);
    // A reachable pose solves in well under a millisecond; a budget far above that but far
    // below the caller's keeps an unreachable place orientation from costing seconds before
    // the next one is tried.
    let mut solver = solver.clone();
    let budget = solver
        .options()
        .timeout
        .min(std::time::Duration::from_millis(100));
    solver.set_options(IkOptions {
        timeout: budget,
        ..solver.options().clone()
    });
    let mut rng = crate::rng::SplitMix64::new(0x91AC_E5EED);
    let mut last = String::from("no solution");
    let mut start = seed.to_vec();
    for _ in 0..12 {
        match solver.solve(&goal, &start) {
            Ok(sol) => match scene.in_collision(&sol.joints) {
                None => return Ok(sol.joints),
                Some((a, b)) => last = format!("the solution collides: '{a}' touches '{b}'"),
            },
            Err(e) => last = e.to_string(),
        }
        for (v, j) in start.iter_mut().zip(solver.chain().joints()) {
            let (lo, hi) = j.sampling_bounds();
            *v = rng.uniform(lo, hi);
        }
    }
    Err(last)
}
