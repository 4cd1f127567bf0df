//! Running an arm scenario: its description turned into an [`ArmWorld`], driven for its
//! duration by a driver (the stand-in holds still until the manipulation stack drives), and
//! judged by what ended in the tray, the arm's contacts and its joint-limit violations.

use std::collections::BTreeMap;

use crate::arm::ArmError;
use crate::arm_world::ArmWorld;
use crate::depth::{DepthCamera, DepthError};
use crate::gripper::Gripper;
use crate::scenario::arm::ArmScenarioRun;
use crate::table::Tabletop;

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
    /// The table as the run started and as it ended (for `--plot`).
    pub tabletop: (Tabletop, Tabletop),
    /// The arm base's position on the table (x, y).
    pub base_xy: (f64, f64),
}

/// Who commands the arm and the gripper each step.
pub trait ArmDriver {
    /// Commands for the next step. `joint_states` is true when the joint states went out this
    /// step: the frames a controller answers.
    fn drive(&mut self, world: &mut ArmWorld, joint_states: bool) -> Result<(), String>;
}

/// The stand-in driver: the arm holds its start pose and the gripper stays open.
#[derive(Debug, Clone, Copy, Default)]
pub struct HoldStill;

impl ArmDriver for HoldStill {
    fn drive(&mut self, _world: &mut ArmWorld, _joint_states: bool) -> Result<(), String> {
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
    let start = world.table().clone();
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
            .drive(&mut world, state)
            .map_err(|reason| ArmRunError::Driver {
                origin: sc.origin.clone(),
                reason,
            })?;
        world.step();
        step += 1;
    }
    Ok(judge(run, &world, start, frames))
}

/// The result row of a finished world.
pub fn judge(run: &ArmScenarioRun, world: &ArmWorld, start: Tabletop, frames: u64) -> ArmRunResult {
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
        tabletop: (start, table.clone()),
        base_xy: {
            let b = world.arm().base_pose().translation.vector;
            (b.x, b.y)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{WorldRun, load_runs};
    use embody_msgs::Message;
    use nalgebra::Point3;

    fn shipped(seed: u32) -> ArmScenarioRun {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scenarios/arm/cups_to_tray.yaml");
        let set = [("layout_seed".to_string(), seed.to_string())];
        match load_runs(&path, &set).unwrap().pop() {
            Some(WorldRun::Arm(r)) => r,
            _ => panic!("one arm run"),
        }
    }

    #[test]
    fn camera_info_projects_every_depth_point_onto_its_pixel_centre() {
        let mut world = build_world(&shipped(2)).unwrap();
        let points = world.capture_if_due().expect("a frame at t = 0");
        let info = crate::ros::camera_info(world.camera().unwrap(), 0);
        let (fx, cx, fy, cy) = (info.k[0], info.k[2], info.k[4], info.k[5]);
        assert_eq!((info.width, info.height), (160, 120));
        assert_eq!(info.header.frame_id, crate::ros::DEPTH_FRAME);
        assert!(points.len() > 10_000);
        // Range noise moves a point along its ray, never off its pixel.
        for p in &points {
            let (x, y, z) = (f64::from(p.x), f64::from(p.y), f64::from(p.z));
            let (u, v) = (fx * x / z + cx, fy * y / z + cy);
            assert!(
                (u - u.round()).abs() < 2e-3 && (v - v.round()).abs() < 2e-3,
                "{u} {v}"
            );
            assert!((0.0..160.0).contains(&u.round()) && (0.0..120.0).contains(&v.round()));
        }
        let frame = crate::ros::arm_frame(&world, 0, true, Some(&points));
        let topics: Vec<&str> = frame.iter().map(|o| o.topic).collect();
        assert!(topics.contains(&"camera/depth/camera_info"), "{topics:?}");
    }

    #[test]
    fn depth_points_of_each_cup_lie_on_its_ground_truth_surface() {
        let mut world = build_world(&shipped(2)).unwrap();
        let pose = world.camera().unwrap().params().pose;
        let points = world.capture_if_due().expect("a frame at t = 0");
        for (i, cup) in world.table().objects.iter().enumerate() {
            let id = crate::table::FIRST_OBJECT_ID + i as u32;
            let Ok(crate::geometry::Shape::Cylinder(c)) = cup.shape() else {
                panic!("cups")
            };
            let on_cup: Vec<_> = points.iter().filter(|p| p.object_id == Some(id)).collect();
            assert!(on_cup.len() > 10, "{}: {} points", cup.name, on_cup.len());
            for p in on_cup {
                let w = pose * Point3::new(f64::from(p.x), f64::from(p.y), f64::from(p.z));
                // On the surface within the 2 mm noise (5 σ); noise towards the camera's far
                // side puts a point inside, at distance 0.
                let d = crate::capsule::cylinder_distance(&c, &w);
                assert!(d < 0.011, "{} point {w:?} off by {d}", cup.name);
            }
        }
    }

    #[test]
    fn tf_and_joint_states_agree_with_forward_kinematics() {
        let world = build_world(&shipped(0)).unwrap();
        let out = crate::ros::arm_frame(&world, 20_000_000, true, None);
        let topics: Vec<&str> = out.iter().map(|o| o.topic).collect();
        assert_eq!(
            topics,
            ["/clock", "joint_states", "tf", "sim/ground_truth/objects"]
        );
        let js = embody_msgs::sensor_msgs::msg::JointState::from_cdr(&out[1].data).unwrap();
        assert_eq!(js.name.len(), 6);
        assert_eq!(js.position, world.arm().positions());
        let tf = embody_msgs::tf2_msgs::msg::TFMessage::from_cdr(&out[2].data).unwrap();
        // base_link → ... → tool0, composed, is the tool pose in the base frame.
        let mut t = nalgebra::Isometry3::identity();
        for x in &tf.transforms {
            let (p, q) = (&x.transform.translation, &x.transform.rotation);
            t *= nalgebra::Isometry3::from_parts(
                nalgebra::Translation3::new(p.x, p.y, p.z),
                nalgebra::UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(
                    q.w, q.x, q.y, q.z,
                )),
            );
        }
        assert_eq!(tf.transforms[0].header.frame_id, "base_link");
        assert_eq!(tf.transforms.last().unwrap().child_frame_id, "tool0");
        let fk = world.arm().base_pose().inverse() * world.tool_pose();
        assert!((t.translation.vector - fk.translation.vector).norm() < 1e-9);
        let gt = embody_msgs::embody_msgs::msg::PredictedObjects::from_cdr(&out[3].data).unwrap();
        assert_eq!(gt.objects.len(), 3);
        assert_eq!(
            gt.objects[0].classification[0].label,
            embody_msgs::embody_msgs::msg::ObjectClassification::CUP
        );
        assert!(
            (gt.objects[0].pose.position.z - 0.8).abs() < 1e-12,
            "cup centre"
        );
    }

    #[test]
    fn holding_still_places_nothing_and_touches_nothing() {
        let mut run = shipped(5);
        run.scenario.duration_s = 1.0;
        let r = super::run(&run).unwrap();
        assert_eq!((r.objects_placed, r.objects_to_place), (0, 3));
        assert_eq!((r.arm_collisions, r.limit_violations), (0, 0));
        assert!(r.placement_error_m > 0.3 && !r.passed);
        assert_eq!((r.sim_time_s, r.frames), (1.0, 15));
        assert_eq!(super::run(&run).unwrap(), r, "same run, same row");
    }
}
