//! The arm world as a ROS 2 node: its frames published on the design's topic map under sim
//! time, optionally paced against the wall clock, driven like a robot's hardware interface by
//! `joint_commands` (`sensor_msgs/JointState` from the arm control node, which follows the
//! joint trajectories) and `gripper/command` (`std_msgs/Float64`, the opening in metres) —
//! either as they arrive or in lock-step, each joint state waiting for its command.

use std::time::{Duration, Instant};

use embody::msgs::sensor_msgs::msg::JointState;
use embody::msgs::std_msgs::msg::Float64;
use embody::msgs::trajectory_msgs::msg::JointTrajectory;
use embody::qos::{History, QosProfile};
use embody::{Node, Time};

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

/// How the arm node keeps time with its controller, and which controller it has.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ArmNodeOptions {
    /// Sim seconds per wall second (1 = real time); `None` runs as fast as it can. A stack
    /// that plans in wall time (manipulation) needs a pace, or the arm idles through sim time
    /// while it thinks.
    pub realtime_factor: Option<f64>,
    /// Lock-step: after each joint state the simulator waits this long at most for the
    /// `joint_commands` stamped with it, so no command is late; `None` takes commands as they
    /// arrive.
    pub lockstep: Option<Duration>,
    /// Follow `arm_controller/joint_trajectory` with the simulator's own trajectory
    /// follower, for a stack without the arm control node (not with lock-step: the joint
    /// commands are then the simulator's own).
    pub builtin_controller: bool,
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
    /// Joint commands (and, with the built-in controller, trajectories) applied.
    pub commands: u64,
    /// Commands refused.
    pub refused: u64,
    /// Why, for the first 100 (unknown joints, missing values, ...).
    pub rejected: Vec<String>,
}

struct Commands {
    joints: embody::Subscription<JointState>,
    trajectories: Option<embody::Subscription<JointTrajectory>>,
    gripper: embody::Subscription<Float64>,
    options: ArmNodeOptions,
    /// Wall-clock start of the paced run.
    started: Instant,
    handle: tokio::runtime::Handle,
    accepted: u64,
    refused: u64,
    rejected: Vec<String>,
    warnings: embody::logging::Throttle,
    node: Node,
}

impl Commands {
    /// Applies one `joint_commands` message: speeds where it gives them, else positions.
    fn apply(&mut self, world: &mut ArmWorld, msg: &JointState) {
        let names = world.arm().joint_names();
        let command = |values: &[f64]| -> Result<Vec<f64>, String> {
            if values.len() != msg.name.len() {
                return Err(format!(
                    "{} values for {} joint names",
                    values.len(),
                    msg.name.len()
                ));
            }
            let mut out = Vec::with_capacity(names.len());
            for n in &names {
                let i = msg
                    .name
                    .iter()
                    .position(|m| m == n)
                    .ok_or_else(|| format!("joint `{n}` missing"))?;
                out.push(values[i]);
            }
            Ok(out)
        };
        let applied = if !msg.velocity.is_empty() {
            command(&msg.velocity).and_then(|v| {
                world
                    .arm_mut()
                    .command_velocities(&v)
                    .map_err(|e| e.to_string())
            })
        } else {
            command(&msg.position).and_then(|q| {
                world
                    .arm_mut()
                    .command_positions(&q)
                    .map_err(|e| e.to_string())
            })
        };
        match applied {
            Ok(()) => self.accepted += 1,
            Err(e) => {
                // A bad message from the network is reported, never fatal; a stream of them
                // logs a line a second and keeps the first reasons.
                let why = format!("joint_commands refused: {e}");
                if self.warnings.ready() {
                    self.node.logger().warn(&why);
                }
                if self.rejected.len() < MAX_REASONS {
                    self.rejected.push(why);
                }
                self.refused += 1;
            }
        }
    }
}

/// Refusal reasons a report keeps (the count goes on).
const MAX_REASONS: usize = 100;

impl ArmDriver for Commands {
    fn drive(&mut self, world: &mut ArmWorld, joint_states: bool) -> Result<(), String> {
        if let Some(factor) = self.options.realtime_factor {
            crate::node::pace(self.started, factor, world.time());
        }
        match self.options.lockstep {
            Some(timeout) if joint_states => {
                let t = Time::from_nanos((world.time() * 1e9).round() as i64);
                let joints = &self.joints;
                let wait = async {
                    loop {
                        match joints.recv().await {
                            // Answers to older joint states are stale; wait for this one's.
                            Some(m) if Time::from_msg(&m.header.stamp) >= t => return Some(m),
                            Some(_) => continue,
                            None => return None,
                        }
                    }
                };
                match self.handle.block_on(tokio::time::timeout(timeout, wait)) {
                    Ok(Some(m)) => self.apply(world, &m),
                    Ok(None) => return Err("the joint_commands subscription closed".into()),
                    Err(_) => {
                        return Err(format!(
                            "no joint_commands stamped {:.3} s or later within {timeout:?} (is the arm controller running?)",
                            world.time()
                        ));
                    }
                }
            }
            Some(_) => {}
            None => {
                while let Some(m) = self.joints.try_recv() {
                    self.apply(world, &m);
                }
            }
        }
        while let Some(msg) = self.trajectories.as_ref().and_then(|t| t.try_recv()) {
            let traj = embody_control::arm_node::trajectory_from_msg(&msg);
            match world.arm_mut().command_trajectory(&traj) {
                Ok(()) => self.accepted += 1,
                Err(e) => {
                    let why = format!("arm_controller/joint_trajectory refused: {e}");
                    self.node.logger().warn(&why);
                    if self.rejected.len() < MAX_REASONS {
                        self.rejected.push(why);
                    }
                    self.refused += 1;
                }
            }
        }
        while let Some(msg) = self.gripper.try_recv() {
            world.gripper_mut().command(msg.data);
        }
        Ok(())
    }
}

/// Runs an arm scenario as a node: publishes every frame and executes `joint_commands`
/// (`sensor_msgs/JointState`: speeds, or positions when it has no speeds — the arm control
/// node's output) and `gripper/command` (`std_msgs/Float64`, the opening in metres).
pub async fn run_arm_node(
    node: &Node,
    run: &ArmScenarioRun,
    options: ArmNodeOptions,
) -> Result<ArmNodeReport, ArmNodeError> {
    run_arm_node_tapped(node, run, options, None).await
}

/// [`run_arm_node`], handing each published message to `tap` as well.
pub async fn run_arm_node_tapped(
    node: &Node,
    run: &ArmScenarioRun,
    options: ArmNodeOptions,
    tap: Option<crate::node::Tap>,
) -> Result<ArmNodeReport, ArmNodeError> {
    let world = build_world(run)?;
    let qos = QosProfile::default().history(History::KeepAll);
    let joints = node
        .create_subscription::<JointState>("joint_commands", qos)
        .await
        .map_err(|e| ArmNodeError::Middleware(format!("joint_commands: {e}")))?;
    let gripper = node
        .create_subscription::<Float64>("gripper/command", qos)
        .await
        .map_err(|e| ArmNodeError::Middleware(format!("gripper/command: {e}")))?;
    if options.builtin_controller && options.lockstep.is_some() {
        return Err(ArmNodeError::Middleware(
            "the built-in trajectory follower and lock-step exclude each other: lock-step waits for an arm controller's joint_commands".into(),
        ));
    }
    let trajectories = if options.builtin_controller {
        Some(
            node.create_subscription::<JointTrajectory>("arm_controller/joint_trajectory", qos)
                .await
                .map_err(|e| {
                    ArmNodeError::Middleware(format!("arm_controller/joint_trajectory: {e}"))
                })?,
        )
    } else {
        None
    };
    let handle = tokio::runtime::Handle::current();
    let node = node.clone();
    let run = run.clone();
    tokio::task::spawn_blocking(move || {
        let mut commands = Commands {
            joints,
            trajectories,
            gripper,
            options: ArmNodeOptions {
                realtime_factor: options
                    .realtime_factor
                    .filter(|f| f.is_finite() && *f > 0.0),
                ..options
            },
            started: Instant::now(),
            handle: handle.clone(),
            accepted: 0,
            refused: 0,
            rejected: Vec::new(),
            warnings: embody::logging::Throttle::default(),
            node: node.clone(),
        };
        let mut out = OutputPublisher::new(node, handle, tap);
        let mut final_positions = Vec::new();
        let mut final_opening = 0.0;
        let result = {
            let mut sink = |t: u64, o: &crate::ros::Output| out.publish(t, o);
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
                commands: commands.accepted,
                refused: commands.refused,
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
    fn drive(&mut self, world: &mut ArmWorld, joint_states: bool) -> Result<(), String> {
        self.inner.drive(world, joint_states)?;
        self.last.clear();
        self.last.extend_from_slice(world.arm().positions());
        *self.opening = world.gripper().opening();
        Ok(())
    }
}
