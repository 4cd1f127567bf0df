//! Running an arm scenario: its description turned into an [`ArmWorld`], driven for its
//! duration by a driver (the stand-in holds still until the manipulation stack drives), and
//! judged by what ended in the tray, the arm's contacts and its joint-limit violations.

use std::collections::BTreeMap;

use crate::arm::ArmError;
use crate::arm_world::ArmWorld;
use crate::depth::{DepthCamera, DepthError};
use crate::gripper::Gripper;
use crate::scenario::arm::ArmScenarioRun;

/// Why an arm scenario could not be run.
#[derive(Debug, thiserror::Error)]
pub enum ArmRunError {
    /// The arm could not be built.
    #[error("{origin}: arm: {source}")]
    Arm {
        /// Scenario file.
        origin: String,
        /// The problem (boxed: URDF errors are large).
        source: Box<ArmError>,
    },
    /// The camera could not be built.
    #[error("{origin}: camera: {source}")]
    Camera {
        /// Scenario file.
        origin: String,
        /// The problem.
        source: DepthError,
    },
    /// The driver failed (a lock-step controller that went silent, a bad command).
    #[error("{origin}: driver: {reason}")]
    Driver {
        /// Scenario file.
        origin: String,
        /// The problem.
        reason: String,
    },
}

/// One judged arm run: the fields `embody scenario run` prints and writes as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmRunResult {
    /// Scenario name.
    pub scenario: String,
    /// Parameter values of this run.
    pub params: BTreeMap<String, f64>,
    /// Tray-bound objects resting in the tray at the end.
    pub objects_placed: usize,
    /// Objects the scenario wants in the tray.
    pub objects_to_place: usize,
    /// Mean distance of the tray-bound objects from the inside of the tray (m; 0 when all
    /// are in, 0 when there are none).
    pub placement_error_m: f64,
    /// Arm contacts with the table, tray and objects (see `arm_world`).
    pub arm_collisions: u64,
    /// Commands that asked a joint beyond its limits (clamped).
    pub limit_violations: u64,
    /// Whether the outcome is what `expected` asks for.
    pub passed: bool,
    /// Simulated seconds.
    pub sim_time_s: f64,
    /// Depth frames taken.
    pub frames: u64,
}

/// Who commands the arm and the gripper each step.
pub trait ArmDriver {
    /// Commands for the next step. `fresh` is true when frames went out this step.
    fn drive(&mut self, world: &mut ArmWorld, fresh: bool) -> Result<(), String>;
}

/// The stand-in driver: the arm holds its start pose and the gripper stays open.
#[derive(Debug, Clone, Copy, Default)]
pub struct HoldStill;

impl ArmDriver for HoldStill {
    fn drive(&mut self, _world: &mut ArmWorld, _fresh: bool) -> Result<(), String> {
        Ok(())
    }
}

/// Builds the world an arm scenario run starts in.
pub fn build_world(run: &ArmScenarioRun) -> Result<ArmWorld, ArmRunError> {
    let sc = &run.scenario;
    let origin = sc.origin.clone();
    let arm = sc.arm.build().map_err(|source| ArmRunError::Arm {
        origin: origin.clone(),
        source: Box::new(source),
    })?;
    let camera = sc
        .camera
        .map(DepthCamera::new)
        .transpose()
        .map_err(|source| ArmRunError::Camera { origin, source })?;
    Ok(ArmWorld::new(
        arm,
        Gripper::new(sc.gripper),
        sc.tabletop.clone(),
        camera,
        sc.step_s,
    ))
}

/// Joint states, TF and ground truth go out every this many seconds (50 Hz); the camera at
/// its own rate.
const FRAME_PERIOD: f64 = 0.02;

/// Runs an arm scenario with the stand-in driver.
pub fn run(run: &ArmScenarioRun) -> Result<ArmRunResult, ArmRunError> {
    run_recorded(run, &mut |_, _| {})
}

/// [`run`], handing every message the simulator would publish to `sink` with its sim time
/// (ns): the static transforms at 0, then the frames as they fall due.
pub fn run_recorded(
    run: &ArmScenarioRun,
    sink: &mut dyn FnMut(u64, &crate::ros::Output),
) -> Result<ArmRunResult, ArmRunError> {
    let world = build_world(run)?;
    run_world(run, world, &mut HoldStill, sink)
}

/// The simulation loop: frames to `sink` as they fall due, commands from `driver`.
pub fn run_world(
    run: &ArmScenarioRun,
    mut world: ArmWorld,
    driver: &mut dyn ArmDriver,
    sink: &mut dyn FnMut(u64, &crate::ros::Output),
) -> Result<ArmRunResult, ArmRunError> {
    let sc = &run.scenario;
    sink(0, &crate::ros::arm_static_transforms(&world));
    let frame_every = (FRAME_PERIOD / sc.step_s).round().max(1.0) as u64;
    let (mut step, mut frames) = (0u64, 0u64);
    while world.time() < sc.duration_s - 1e-9 {
        let depth = world.capture_if_due();
        frames += u64::from(depth.is_some());
        let state = step.is_multiple_of(frame_every);
        let fresh = depth.is_some() || state;
        if fresh {
            // Sim time in whole nanoseconds on the step grid, identical run after run.
            let t_ns = (step as f64 * sc.step_s * 1e9).round() as u64;
            for o in crate::ros::arm_frame(&world, t_ns as i64, state, depth.as_deref()) {
                sink(t_ns, &o);
            }
        }
        driver
            .drive(&mut world, fresh)
            .map_err(|reason| ArmRunError::Driver {
                origin: sc.origin.clone(),
                reason,
            })?;
        world.step();
        step += 1;
    }
    Ok(judge(run, &world, frames))
}

/// The result row of a finished world.
pub fn judge(run: &ArmScenarioRun, world: &ArmWorld, frames: u64) -> ArmRunResult {
    let sc = &run.scenario;
    let table = world.table();
    let bound: Vec<usize> = (0..table.objects.len())
        .filter(|&i| table.objects[i].to_tray)
        .collect();
    let placed = bound.iter().filter(|&&i| table.in_tray(i)).count();
    let error = match &table.tray {
        Some(t) if !bound.is_empty() => {
            bound
                .iter()
                .map(|&i| {
                    let b = table.objects[i].base;
                    t.distance_to_inside(b.x, b.y)
                })
                .sum::<f64>()
                / bound.len() as f64
        }
        _ => 0.0,
    };
    let collisions = world.contacts();
    let violations = world.arm().limit_violations();
    let e = &sc.expected;
    let passed = e.objects_placed.is_none_or(|n| placed >= n)
        && e.max_placement_error_m.is_none_or(|m| error <= m)
        && e.arm_collisions.is_none_or(|n| collisions <= n)
        && e.limit_violations.is_none_or(|n| violations <= n);
    ArmRunResult {
        scenario: sc.name.clone(),
        params: run.params.clone(),
        objects_placed: placed,
        objects_to_place: bound.len(),
        placement_error_m: error,
        arm_collisions: collisions,
        limit_violations: violations,
        passed,
        sim_time_s: world.time(),
        frames,
    }
}
