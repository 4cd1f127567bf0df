//! The arm control node: joint_trajectory_controller for the arm. Trajectories come on
//! `arm_controller/joint_trajectory` (`trajectory_msgs/JointTrajectory`) or as goals of the
//! `arm_controller/follow_joint_trajectory` action (`control_msgs/action/FollowJointTrajectory`,
//! so a ros2_control arm can be swapped in for it); every `joint_states` message is answered
//! with a `sensor_msgs/JointState` on `joint_commands` stamped like it (velocity per joint, the
//! reference position alongside), which the simulator's arm — or a hardware driver — executes.
//! A thin adapter around [`crate::arm::ArmController`].

use embody::action::{GoalHandle, GoalOutcome};
use embody::msgs::builtin_interfaces::msg::Duration as MsgDuration;
use embody::msgs::control_msgs::action::{
    FollowJointTrajectory, FollowJointTrajectory_Feedback, FollowJointTrajectory_Result,
};
use embody::msgs::sensor_msgs::msg::JointState;
use embody::msgs::trajectory_msgs::msg::{
    JointTrajectory as TrajMsg, JointTrajectoryPoint as PointMsg,
};
use embody::params::ParameterDescriptor;
use embody::{History, Node, QosProfile, Time};
use tokio::sync::{mpsc, oneshot, watch};

use crate::arm::{ArmController, ArmControllerParams, ArmState, Progress};
use crate::joint_trajectory::{JointTrajectory, TrajectoryError, TrajectoryPoint};

/// Why the node stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The runtime failed.
    #[error(transparent)]
    Runtime(#[from] embody::Error),
    /// A parameter was wrong.
    #[error("parameter: {0}")]
    Parameter(String),
}

/// What the node was configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmNodeConfig {
    /// Joints to control, in order; empty = every joint of the first `joint_states`.
    pub joints: Vec<String>,
    /// Controller tuning.
    pub controller: ArmControllerParams,
}

impl ArmNodeConfig {
    /// Reads `joints` (comma-separated; default: all), `max_acceleration`, `goal_tolerance`
    /// and `goal_time_tolerance_s`.
    pub fn from_parameters(node: &Node) -> Result<Self, NodeError> {
        let p = node.parameters();
        let err = |e: embody::params::ParamError| NodeError::Parameter(e.to_string());
        let number = |name: &str, default: f64, about: &str| -> Result<f64, NodeError> {
            p.declare(name, default, ParameterDescriptor::new(about))
                .map_err(err)?;
            let v = p.get_f64(name).map_err(err)?;
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(NodeError::Parameter(format!("`{name}` must be above 0")))
            }
        };
        p.declare(
            "joints",
            "",
            ParameterDescriptor::new("joints to control, comma-separated (empty: all)"),
        )
        .map_err(err)?;
        let joints = p
            .get_string("joints")
            .map_err(err)?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let d = ArmControllerParams::default();
        Ok(Self {
            joints,
            controller: ArmControllerParams {
                max_acceleration: number(
                    "max_acceleration",
                    d.max_acceleration,
                    "acceleration the feedback may use (rad/s²)",
                )?,
                goal_tolerance: number(
                    "goal_tolerance",
                    d.goal_tolerance,
                    "a joint this close to the end is there (rad)",
                )?,
                goal_time_tolerance: number(
                    "goal_time_tolerance_s",
                    d.goal_time_tolerance,
                    "time a trajectory may overrun before it fails (s)",
                )?,
            },
        })
    }
}

/// A `trajectory_msgs/JointTrajectory` as the controller follows it: velocities only where
/// every joint has one (accelerations and efforts are not used).
pub fn trajectory_from_msg(msg: &TrajMsg) -> JointTrajectory {
    let n = msg.joint_names.len();
    JointTrajectory {
        joint_names: msg.joint_names.clone(),
        points: msg
            .points
            .iter()
            .map(|p| TrajectoryPoint {
                positions: p.positions.clone(),
                velocities: (p.velocities.len() == n && n > 0).then(|| p.velocities.clone()),
                time_from_start: seconds(&p.time_from_start),
            })
            .collect(),
    }
}

fn seconds(d: &MsgDuration) -> f64 {
    f64::from(d.sec) + f64::from(d.nanosec) * 1e-9
}

/// What the control loop tells goals after each period.
#[derive(Debug, Clone, Default)]
struct Status {
    time: f64,
    progress: Option<(u64, Progress)>,
    desired: Vec<f64>,
    actual: Vec<f64>,
}

/// A trajectory for the loop to start, from the topic or from an action goal.
struct Request {
    trajectory: JointTrajectory,
    /// Sim time to start at; `None` = with the next joint state.
    start: Option<f64>,
    reply: Option<oneshot::Sender<Result<u64, TrajectoryError>>>,
}

/// The joint state in `joints` order, or which joint it lacks.
fn state_of(js: &JointState, joints: &[String]) -> Result<ArmState, String> {
    let mut positions = Vec::with_capacity(joints.len());
    let mut velocities = Vec::with_capacity(joints.len());
    for name in joints {
        let i = js
            .name
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| format!("joint_states lacks `{name}`"))?;
        let q = *js
            .position
            .get(i)
            .ok_or_else(|| format!("joint_states has no position for `{name}`"))?;
        if !q.is_finite() {
            return Err(format!("joint_states: `{name}` is not finite"));
        }
        positions.push(q);
        velocities.push(
            js.velocity
                .get(i)
                .copied()
                .filter(|v| v.is_finite())
                .unwrap_or(0.0),
        );
    }
    Ok(ArmState {
        time: Time::from_msg(&js.header.stamp).nanos as f64 * 1e-9,
        positions,
        velocities,
    })
}

fn point(positions: &[f64]) -> PointMsg {
    PointMsg {
        positions: positions.to_vec(),
        ..Default::default()
    }
}

/// Runs one FollowJointTrajectory goal to its end.
async fn follow(
    handle: GoalHandle<FollowJointTrajectory>,
    requests: mpsc::UnboundedSender<Request>,
    mut status: watch::Receiver<Status>,
    joints: watch::Receiver<Vec<String>>,
) -> (GoalOutcome, FollowJointTrajectory_Result) {
    let fail = |code: i32, why: String| {
        (
            GoalOutcome::Aborted,
            FollowJointTrajectory_Result {
                error_code: code,
                error_string: why,
            },
        )
    };
    let goal = &handle.goal;
    let stamp = Time::from_msg(&goal.trajectory.header.stamp).nanos;
    let (tx, rx) = oneshot::channel();
    let sent = requests.send(Request {
        trajectory: trajectory_from_msg(&goal.trajectory),
        start: (stamp > 0).then_some(stamp as f64 * 1e-9),
        reply: Some(tx),
    });
    if sent.is_err() {
        return fail(
            FollowJointTrajectory_Result::INVALID_GOAL,
            "controller stopped".into(),
        );
    }
    let id = match rx.await {
        Ok(Ok(id)) => id,
        Ok(Err(e @ TrajectoryError::UnknownJoint(_))) => {
            return fail(FollowJointTrajectory_Result::INVALID_JOINTS, e.to_string());
        }
        Ok(Err(e)) => return fail(FollowJointTrajectory_Result::INVALID_GOAL, e.to_string()),
        Err(_) => {
            return fail(
                FollowJointTrajectory_Result::INVALID_GOAL,
                "controller stopped".into(),
            );
        }
    };
    let names = joints.borrow().clone();
    loop {
        if status.changed().await.is_err() {
            return fail(
                FollowJointTrajectory_Result::INVALID_GOAL,
                "joint_states ended".into(),
            );
        }
        let s = status.borrow_and_update().clone();
        match s.progress {
            Some((now, _)) if now != id => {
                return fail(
                    FollowJointTrajectory_Result::INVALID_GOAL,
                    "replaced by a newer trajectory".into(),
                );
            }
            Some((_, Progress::Arrived)) => {
                return (
                    GoalOutcome::Succeeded,
                    FollowJointTrajectory_Result {
                        error_code: FollowJointTrajectory_Result::SUCCESSFUL,
                        error_string: String::new(),
                    },
                );
            }
            Some((_, Progress::TimedOut)) => {
                return fail(
                    FollowJointTrajectory_Result::GOAL_TOLERANCE_VIOLATED,
                    "a joint did not reach the end within goal_time_tolerance_s".into(),
                );
            }
            _ => {}
        }
        if handle.is_cancel_requested() {
            // Stopping where it is: an empty trajectory is the loop's "hold here".
            let _ = requests.send(Request {
                trajectory: JointTrajectory::default(),
                start: None,
                reply: None,
            });
            return (
                GoalOutcome::Canceled,
                FollowJointTrajectory_Result {
                    error_code: FollowJointTrajectory_Result::SUCCESSFUL,
                    error_string: "canceled".into(),
                },
            );
        }
        let error: Vec<f64> = s
            .desired
            .iter()
            .zip(&s.actual)
            .map(|(d, a)| d - a)
            .collect();
        let mut feedback = FollowJointTrajectory_Feedback {
            joint_names: names.clone(),
            desired: point(&s.desired),
            actual: point(&s.actual),
            error: point(&error),
            ..Default::default()
        };
        feedback.header.stamp = Time::from_nanos((s.time * 1e9).round() as i64).to_msg();
        let _ = handle.publish_feedback(feedback).await;
    }
}

/// Runs the node until `joint_states` closes.
pub async fn run(node: Node, config: ArmNodeConfig) -> Result<(), NodeError> {
    let all = QosProfile::default().history(History::KeepAll);
    let states = node
        .create_subscription::<JointState>("joint_states", all)
        .await?;
    let topic = node
        .create_subscription::<TrajMsg>("arm_controller/joint_trajectory", all)
        .await?;
    let (requests_tx, mut requests) = mpsc::unbounded_channel::<Request>();
    let (status_tx, status_rx) = watch::channel(Status::default());
    let (joints_tx, joints_rx) = watch::channel(config.joints.clone());
    let goal_requests = requests_tx.clone();
    let _server = node
        .create_action_server::<FollowJointTrajectory, _, _, _>(
            "arm_controller/follow_joint_trajectory",
            |_goal| true,
            move |handle| {
                follow(
                    handle,
                    goal_requests.clone(),
                    status_rx.clone(),
                    joints_rx.clone(),
                )
            },
        )
        .await?;
    // Publisher last: the simulator's lock-step waits for it, and by then the rest is up.
    let commands = node
        .create_publisher::<JointState>("joint_commands", all)
        .await?;
    let log = node.logger();
    let warnings = embody::logging::Throttle::default();
    let mut controller: Option<ArmController> = None;
    let mut last_time: Option<f64> = None;
    while let Some(js) = states.recv().await {
        let c = controller.get_or_insert_with(|| {
            let joints = if config.joints.is_empty() {
                js.name.clone()
            } else {
                config.joints.clone()
            };
            joints_tx.send_replace(joints.clone());
            ArmController::new(joints, config.controller)
        });
        let state = match state_of(&js, c.joints()) {
            Ok(s) => s,
            Err(e) => {
                if warnings.ready() {
                    log.warn(&format!("skipping a joint state: {e}"));
                }
                continue;
            }
        };
        while let Some(m) = topic.try_recv() {
            let stamp = Time::from_msg(&m.header.stamp).nanos;
            requests_tx
                .send(Request {
                    trajectory: trajectory_from_msg(&m),
                    start: (stamp > 0).then_some(stamp as f64 * 1e-9),
                    reply: None,
                })
                .ok();
        }
        while let Ok(r) = requests.try_recv() {
            if r.trajectory.points.is_empty() && r.reply.is_none() {
                c.stop(&state);
                continue;
            }
            let started = c.start(&r.trajectory, r.start.unwrap_or(state.time), &state);
            if let Err(e) = &started {
                log.warn(&format!("trajectory refused: {e}"));
            }
            if let Some(reply) = r.reply {
                let _ = reply.send(started);
            }
        }
        let dt = last_time.map_or(0.02, |l| state.time - l);
        last_time = Some(state.time);
        let cmd = c.command(&state, dt);
        status_tx.send_replace(Status {
            time: state.time,
            progress: c.progress(),
            desired: cmd.positions.clone(),
            actual: state.positions.clone(),
        });
        let names = c.joints().to_vec();
        commands.publish_now(JointState {
            header: js.header.clone(),
            name: names,
            position: cmd.positions,
            velocity: cmd.velocities,
            effort: Vec::new(),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trajectory_messages_keep_velocities_only_when_complete() {
        let msg = TrajMsg {
            joint_names: vec!["a".into(), "b".into()],
            points: vec![
                PointMsg {
                    positions: vec![0.1, 0.2],
                    velocities: vec![0.0, 0.0],
                    time_from_start: MsgDuration {
                        sec: 1,
                        nanosec: 500_000_000,
                    },
                    ..Default::default()
                },
                PointMsg {
                    positions: vec![0.3, 0.4],
                    velocities: vec![1.0],
                    time_from_start: MsgDuration { sec: 2, nanosec: 0 },
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let t = trajectory_from_msg(&msg);
        assert_eq!(t.points[0].time_from_start, 1.5);
        assert_eq!(t.points[0].velocities, Some(vec![0.0, 0.0]));
        assert_eq!(t.points[1].velocities, None);
    }

    #[test]
    fn joint_states_are_read_in_controller_order() {
        let mut js = JointState {
            name: vec!["b".into(), "a".into()],
            position: vec![2.0, 1.0],
            velocity: vec![0.2],
            ..Default::default()
        };
        js.header.stamp.sec = 3;
        let s = state_of(&js, &["a".into(), "b".into()]).unwrap();
        assert_eq!(s.positions, vec![1.0, 2.0]);
        // A missing velocity reads as 0, not as a refusal.
        assert_eq!(s.velocities, vec![0.0, 0.2]);
        assert_eq!(s.time, 3.0);
        let e = state_of(&js, &["a".into(), "c".into()]).unwrap_err();
        assert!(e.contains("`c`"), "{e}");
        js.position[0] = f64::NAN;
        assert!(state_of(&js, &["b".into()]).is_err());
    }
}
