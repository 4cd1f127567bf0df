//! The vehicle control node: follows `planning/trajectory`, answering every odometry message
//! with an `ackermann_msgs/AckermannDriveStamped` on `control/command` stamped like it.
//!
//! A trajectory older than `max_trajectory_age_s` is not followed: the node waits for a newer
//! one (under lock-step simulation that makes every run repeat exactly, since the command for
//! a frame always uses the trajectory planned from that frame's sensor data), and if none comes
//! within `trajectory_timeout_s` it brakes, because a silent planner must not leave the car
//! driving on stale plans.

use embody::tf::yaw_of;
use std::time::Duration;

use embody::logging::Throttle;
use embody::msgs::ackermann_msgs::msg::{AckermannDrive, AckermannDriveStamped};
use embody::msgs::embody_msgs::msg::Trajectory as TrajMsg;
use embody::msgs::nav_msgs::msg::Odometry;
use embody::params::ParameterDescriptor;
use embody::{History, Node, QosProfile, Time};

use crate::vehicle::{ControllerParams, TrackingController, TrajectoryPoint, VehicleState};

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
pub struct NodeConfig {
    /// Tracking controller tuning and actuator limits.
    pub controller: ControllerParams,
    /// Odometry reference point (centre of gravity) to footprint centre, along x (m).
    pub cg_to_centre: f64,
    /// A trajectory this much older than the odometry, or more, is stale (s); one planning
    /// period, so the command of a frame with fresh sensor data waits for the plan made from it.
    pub max_trajectory_age: f64,
    /// How long to wait for a fresh trajectory before braking (wall time).
    pub trajectory_timeout: Duration,
}

impl NodeConfig {
    /// Reads `cg_to_centre_m`, `max_trajectory_age_s` (default 0.1 s: one planning cycle at
    /// 10 Hz) and `trajectory_timeout_s` (default 2 s).
    pub fn from_parameters(node: &Node) -> Result<Self, NodeError> {
        let p = node.parameters();
        let number = |name: &str, default: f64, about: &str| -> Result<f64, NodeError> {
            p.declare(name, default, ParameterDescriptor::new(about))
                .and_then(|_| p.get_f64(name))
                .map_err(|e| NodeError::Parameter(e.to_string()))
        };
        Ok(Self {
            controller: ControllerParams::default(),
            cg_to_centre: number(
                "cg_to_centre_m",
                (1.156 - 1.4227) / 2.0,
                "odometry reference point to footprint centre along x (m)",
            )?,
            max_trajectory_age: number(
                "max_trajectory_age_s",
                0.1,
                "a trajectory this old (s) or older is not followed",
            )?,
            trajectory_timeout: Duration::from_secs_f64(
                number(
                    "trajectory_timeout_s",
                    2.0,
                    "wait this long (s) for a fresh trajectory before braking",
                )?
                .max(0.0),
            ),
        })
    }
}

fn points(t: &TrajMsg) -> Vec<TrajectoryPoint> {
    t.points
        .iter()
        .map(|p| TrajectoryPoint {
            t: f64::from(p.time_from_start.sec) + f64::from(p.time_from_start.nanosec) * 1e-9,
            x: p.pose.position.x,
            y: p.pose.position.y,
            yaw: yaw_of(&p.pose.orientation),
            v: p.longitudinal_velocity,
            a: p.acceleration,
            curvature: p.curvature,
        })
        .collect()
}

/// Runs the node until its inputs close.
pub async fn run(node: Node, config: NodeConfig) -> Result<(), NodeError> {
    let all = QosProfile::default().history(History::KeepAll);
    let trajectories = node
        .create_subscription::<TrajMsg>("planning/trajectory", all)
        .await?;
    let odometry = node
        .create_subscription::<Odometry>("localization/odometry", all)
        .await?;
    let commands = node
        .create_publisher::<AckermannDriveStamped>("control/command", all)
        .await?;
    let log = node.logger();
    let warnings = Throttle::default();
    let mut controller = TrackingController::new(config.controller);
    let mut current: Option<(f64, Vec<TrajectoryPoint>)> = None;
    let mut last_t: Option<f64> = None;
    // After one wait in vain, do not wait again until the planner is heard from: a silent
    // planner must cost one timeout, not one per odometry message.
    let mut planner_silent = false;

    while let Some(o) = odometry.recv().await {
        let t = Time::from_msg(&o.header.stamp).nanos as f64 * 1e-9;
        let fresh = |c: &Option<(f64, Vec<TrajectoryPoint>)>| {
            c.as_ref()
                .is_some_and(|(stamp, _)| *stamp > t - config.max_trajectory_age + 1e-6)
        };
        let deadline = tokio::time::Instant::now() + config.trajectory_timeout;
        loop {
            while let Some(m) = trajectories.try_recv() {
                current = Some((
                    Time::from_msg(&m.header.stamp).nanos as f64 * 1e-9,
                    points(&m),
                ));
                planner_silent = false;
            }
            if fresh(&current) || planner_silent {
                break;
            }
            match tokio::time::timeout_at(deadline, trajectories.recv()).await {
                Ok(Some(m)) => {
                    current = Some((
                        Time::from_msg(&m.header.stamp).nanos as f64 * 1e-9,
                        points(&m),
                    ));
                }
                Ok(None) => return Ok(()),
                Err(_) => {
                    planner_silent = true;
                    break;
                }
            }
        }
        let p = &o.pose.pose;
        let yaw = yaw_of(&p.orientation);
        let state = VehicleState {
            x: p.position.x + config.cg_to_centre * yaw.cos(),
            y: p.position.y + config.cg_to_centre * yaw.sin(),
            yaw,
            v: o.twist.twist.linear.x.hypot(o.twist.twist.linear.y),
            yaw_rate: o.twist.twist.angular.z,
        };
        let dt = last_t.map_or(0.02, |l| (t - l).max(1e-3));
        last_t = Some(t);
        let drive = match &current {
            Some((stamp, pts)) if fresh(&current) => {
                match controller.command(&state, pts, t - stamp, dt) {
                    Ok(c) => AckermannDrive {
                        steering_angle: c.steering_angle as f32,
                        steering_angle_velocity: c.steering_rate as f32,
                        speed: c.speed as f32,
                        acceleration: c.acceleration as f32,
                        jerk: c.jerk as f32,
                    },
                    Err(e) => {
                        if warnings.ready() {
                            log.warn(&format!("braking: {e}"));
                        }
                        stop(&config)
                    }
                }
            }
            _ => {
                if warnings.ready() {
                    log.error(&format!(
                        "braking: no trajectory newer than {:.3} s at {t:.3} s",
                        t - config.max_trajectory_age
                    ));
                }
                stop(&config)
            }
        };
        commands.publish_now(AckermannDriveStamped {
            header: o.header.clone(),
            drive,
        })?;
    }
    Ok(())
}

/// Full braking, wheels straight as they are.
fn stop(config: &NodeConfig) -> AckermannDrive {
    AckermannDrive {
        speed: 0.0,
        acceleration: -(config.controller.limits.max_decel as f32),
        ..AckermannDrive::default()
    }
}
