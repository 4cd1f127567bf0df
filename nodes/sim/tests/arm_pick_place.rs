//! The arm world end to end: a scripted pick-and-place driver (IK on ground truth, joint
//! trajectories, the gripper) puts the three cups of `cups_to_tray.yaml` into the tray, and
//! the result row counts them, with no contacts and no limit violations. It stands in for
//! the manipulation stack to show the world's rules work together; it is no planner.

use std::path::Path;
use std::time::Duration;

use embody_control::joint_trajectory::{JointTrajectory, TrajectoryPoint};
use embody_manipulation::ik::{IkGoal, IkOptions, IkSolver};
use embody_sim::arm_run::{ArmDriver, build_world, run_world};
use embody_sim::arm_world::ArmWorld;
use embody_sim::scenario::arm::ArmScenarioRun;
use embody_sim::scenario::{WorldRun, load_runs};
use nalgebra::{Isometry3, Translation3, Vector3};

/// One step of the script.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Move the TCP to this point (world), tool pointing down.
    MoveTcp(Vector3<f64>),
    /// Command the gripper opening and wait for the jaws.
    Grip(f64),
}

struct Script {
    steps: Vec<Step>,
    next: usize,
    wait_until: f64,
    ik: IkSolver,
    /// The tool orientation to keep (the start's: pointing down).
    tool: Isometry3<f64>,
    /// The start joint positions.
    home: Vec<f64>,
}

impl Script {
    fn new(world: &ArmWorld) -> Self {
        let table = world.table();
        let tray = table.tray.expect("a tray");
        let mut steps = Vec::new();
        let slots = [-0.09, 0.0, 0.09];
        for (slot, o) in table.objects.iter().filter(|o| o.to_tray).enumerate() {
            let h = o.shape.height();
            // The finger pads over the cup's top, the palm just clear of its rim.
            let pads = world.gripper().params().finger_length;
            let grasp = o.base.coords + Vector3::z() * (h - pads / 2.0 + 0.005);
            let above = grasp + Vector3::z() * 0.15;
            let place = grasp - o.base.coords
                + Vector3::new(tray.x + slots[slot], tray.y, tray.floor_top() + 0.01);
            let over_tray = place + Vector3::z() * 0.15;
            steps.extend([
                Step::MoveTcp(above),
                Step::MoveTcp(grasp),
                Step::Grip(0.0),
                Step::MoveTcp(above),
                Step::MoveTcp(over_tray),
                Step::MoveTcp(place),
                Step::Grip(0.085),
                Step::MoveTcp(over_tray),
            ]);
        }
        let chain = world.arm().chain().clone();
        let ik = IkSolver::new(
            chain,
            IkOptions {
                position_tolerance: 1e-6,
                orientation_tolerance: 1e-6,
                // A budget no run comes near, so the result never depends on the clock.
                timeout: Duration::from_secs(5),
                ..IkOptions::default()
            },
        );
        Self {
            steps,
            next: 0,
            wait_until: 0.0,
            ik,
            tool: world.tool_pose(),
            home: world.arm().positions().to_vec(),
        }
    }
}

impl ArmDriver for Script {
    fn drive(&mut self, world: &mut ArmWorld, _joint_states: bool) -> Result<(), String> {
        if world.time() < self.wait_until || world.arm().is_moving() {
            return Ok(());
        }
        let Some(step) = self.steps.get(self.next).copied() else {
            return Ok(());
        };
        self.next += 1;
        match step {
            Step::Grip(opening) => {
                world.gripper_mut().command(opening);
                self.wait_until = world.time() + 0.8;
            }
            Step::MoveTcp(tcp) => {
                let offset = world.gripper().params().tcp_offset;
                let rot = self.tool.rotation;
                let tool_world = Isometry3::from_parts(
                    Translation3::from(tcp - rot * Vector3::z() * offset),
                    rot,
                );
                let goal = world.arm().base_pose().inverse() * tool_world;
                let q0 = world.arm().positions().to_vec();
                // Seeded from the start pose (elbow up), so every solution keeps that shape.
                let sol = self
                    .ik
                    .solve(&IkGoal::pose(goal), &self.home)
                    .map_err(|e| format!("IK for {tcp:?}: {e}"))?;
                // A rest-to-rest cubic peaks at 1.5·Δ/T in speed and 6·Δ/T² in acceleration:
                // keep both within the arm's limits (speed at half its limit).
                let arm = world.arm();
                let t = (0..q0.len())
                    .map(|j| {
                        let d = (sol.joints[j] - q0[j]).abs();
                        (1.5 * d / (0.5 * arm.max_velocity(j)))
                            .max((6.0 * d / arm.max_acceleration()).sqrt())
                    })
                    .fold(0.5, f64::max);
                let traj = JointTrajectory {
                    joint_names: arm.joint_names().into_iter().map(String::from).collect(),
                    points: vec![TrajectoryPoint {
                        positions: sol.joints,
                        velocities: Some(vec![0.0; q0.len()]),
                        time_from_start: t,
                    }],
                };
                world
                    .arm_mut()
                    .command_trajectory(&traj)
                    .map_err(|e| e.to_string())?;
                self.wait_until = world.time() + t;
            }
        }
        Ok(())
    }
}

fn layout(seed: u32) -> ArmScenarioRun {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/arm/cups_to_tray.yaml");
    let set = [
        ("layout_seed".to_string(), seed.to_string()),
        ("run_time_s".to_string(), "60".to_string()),
    ];
    let mut runs = load_runs(&path, &set).unwrap();
    let Some(WorldRun::Arm(mut run)) = runs.pop() else {
        panic!("one arm run")
    };
    // The camera has its own tests; without it the run is quick in a debug build.
    run.scenario.camera = None;
    run
}

#[test]
fn a_scripted_pick_and_place_fills_the_tray_without_contacts() {
    for seed in [0, 7] {
        let run = layout(seed);
        let world = build_world(&run).unwrap();
        let mut script = Script::new(&world);
        let r = run_world(&run, world, &mut script, &mut |_, _| {}).unwrap();
        assert_eq!(
            script.next,
            script.steps.len(),
            "seed {seed}: script finished"
        );
        assert_eq!(r.objects_placed, 3, "seed {seed}: {r:?}");
        assert_eq!(r.placement_error_m, 0.0);
        assert_eq!(r.arm_collisions, 0, "seed {seed}: {r:?}");
        assert_eq!(r.limit_violations, 0);
        assert!(r.passed, "{r:?}");
    }
}

#[test]
fn closing_the_gripper_beside_a_cup_grasps_nothing() {
    let run = layout(3);
    let mut world = build_world(&run).unwrap();
    let cup = world.table().objects[0].clone();
    let beside = cup.base.coords + Vector3::new(0.0, 0.0, 0.05) + Vector3::new(0.0, 0.08, 0.0);
    let mut script = Script::new(&world);
    script.steps = vec![
        Step::MoveTcp(beside),
        Step::Grip(0.0),
        Step::MoveTcp(beside + Vector3::z() * 0.2),
    ];
    while world.time() < 10.0 {
        script.drive(&mut world, false).unwrap();
        world.step();
    }
    assert_eq!(world.gripper().held(), None);
    assert_eq!(world.gripper().opening(), 0.0);
    assert_eq!(world.table().objects[0], cup, "the cup has not moved");
}
