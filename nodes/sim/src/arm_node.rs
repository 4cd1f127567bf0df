//! The arm world as a ROS 2 node: its frames published on the design's topic map under sim
//! time, paced against the wall clock so a stack has time to answer, and commands taken from
//! `arm_controller/joint_trajectory` (`trajectory_msgs/JointTrajectory`) and
//! `gripper/command` (`std_msgs/Float64`, the opening in metres) as they arrive.

use std::time::{Duration, Instant};

use embody::Node;
use embody::msgs::std_msgs::msg::Float64;
use embody::msgs::trajectory_msgs::msg::JointTrajectory;
use embody::qos::{History, QosProfile};

use crate::arm_run::{ArmDriver, ArmRunError, ArmRunResult, build_world, run_world};
use crate::arm_world::ArmWorld;
use crate::node::OutputPublisher;
use crate::scenario::arm::ArmScenarioRun;

/// Why the arm node stopped.
#[derive(Debug, thiserror::Error)]
pub enum ArmNodeError {
    /// The run itself failed.
    #[error(transparent)]
    Run(#[from] ArmRunError),
    /// The middleware refused a publisher or subscription.
    #[error("{0}")]
    Middleware(String),
}

/// What the node did besides the judged result.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmNodeReport {
    /// The judged run.
    pub result: ArmRunResult,
    /// Joint positions at the last step.
    pub final_positions: Vec<f64>,
    /// Gripper opening at the last step (m).
    pub final_opening: f64,
    /// Trajectories followed.
    pub trajectories: u64,
    /// Trajectories refused, with why (unknown joints, bad times, ...).
    pub rejected: Vec<String>,
}

struct Commands {
    trajectories: embody::Subscription<JointTrajectory>,
    gripper: embody::Subscription<Float64>,
    /// Wall-clock start and sim seconds per wall second.
    pace: Option<(Instant, f64)>,
    accepted: u64,
    rejected: Vec<String>,
    node: Node,
}

impl ArmDriver for Commands {
    fn drive(&mut self, world: &mut ArmWorld, _fresh: bool) -> Result<(), String> {
        if let Some((start, factor)) = self.pace {
            // Sim time may run ahead of the wall clock by one step at most.
            let due = start + Duration::from_secs_f64(world.time() / factor);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        while let Some(msg) = self.trajectories.try_recv() {
            let traj = crate::ros::trajectory_from_msg(&msg);
            match world.arm_mut().command_trajectory(&traj) {
                Ok(()) => self.accepted += 1,
                Err(e) => {
                    // A bad message from the network is reported, never fatal.
                    let why = format!("arm_controller/joint_trajectory refused: {e}");
                    self.node.logger().warn(&why);
                    self.rejected.push(why);
                }
            }
        }
        while let Some(msg) = self.gripper.try_recv() {
            world.gripper_mut().command(msg.data);
        }
        Ok(())
    }
}

/// Runs an arm scenario as a node: publishes every frame and follows the commands that arrive.
/// `realtime_factor` paces sim time against the wall clock (1.0 = real time); `None` runs as
/// fast as it can, which leaves a stack no time to answer.
pub async fn run_arm_node(
    node: &Node,
    run: &ArmScenarioRun,
    realtime_factor: Option<f64>,
) -> Result<ArmNodeReport, ArmNodeError> {
    let world = build_world(run)?;
    let qos = QosProfile::default().history(History::KeepAll);
    let trajectories = node
        .create_subscription::<JointTrajectory>("arm_controller/joint_trajectory", qos)
        .await
        .map_err(|e| ArmNodeError::Middleware(format!("arm_controller/joint_trajectory: {e}")))?;
    let gripper = node
        .create_subscription::<Float64>("gripper/command", qos)
        .await
        .map_err(|e| ArmNodeError::Middleware(format!("gripper/command: {e}")))?;
    let handle = tokio::runtime::Handle::current();
    let node = node.clone();
    let run = run.clone();
    tokio::task::spawn_blocking(move || {
        let mut commands = Commands {
            trajectories,
            gripper,
            pace: realtime_factor
                .filter(|f| f.is_finite() && *f > 0.0)
                .map(|f| (Instant::now(), f)),
            accepted: 0,
            rejected: Vec::new(),
            node: node.clone(),
        };
        let mut out = OutputPublisher::new(node, handle);
        let mut final_positions = Vec::new();
        let mut final_opening = 0.0;
        let result = {
            let mut sink = |_t: u64, o: &crate::ros::Output| out.publish(o);
            let mut recorder = Recorder {
                inner: &mut commands,
                last: &mut final_positions,
                opening: &mut final_opening,
            };
            run_world(&run, world, &mut recorder, &mut sink)
        };
        match out.failure {
            Some(f) => Err(ArmNodeError::Middleware(f)),
            None => Ok(ArmNodeReport {
                result: result?,
                final_positions,
                final_opening,
                trajectories: commands.accepted,
                rejected: commands.rejected,
            }),
        }
    })
    .await
    .map_err(|e| ArmNodeError::Middleware(format!("simulator task failed: {e}")))?
}

/// Passes commands through and keeps the latest joint positions and opening (the world is
/// consumed by the run, so the report takes them from here).
struct Recorder<'a> {
    inner: &'a mut Commands,
    last: &'a mut Vec<f64>,
    opening: &'a mut f64,
}

impl ArmDriver for Recorder<'_> {
    fn drive(&mut self, world: &mut ArmWorld, fresh: bool) -> Result<(), String> {
        self.inner.drive(world, fresh)?;
        self.last.clear();
        self.last.extend_from_slice(world.arm().positions());
        *self.opening = world.gripper().opening();
        Ok(())
    }
}
