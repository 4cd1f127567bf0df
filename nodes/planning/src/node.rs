//! The planning node: lane map, odometry and predicted objects in; trajectory, path and AES
//! status out, one cycle per perception frame. A thin adapter around [`Planner`].

use std::collections::BTreeMap;
use std::time::Duration;

use embody::logging::Throttle;
use embody::msgs::embody_msgs::msg::{
    AesStatus as AesStatusMsg, LaneMap as LaneMapMsg, PredictedObjects, Trajectory as TrajMsg,
};
use embody::msgs::nav_msgs::msg::{Odometry, Path};
use embody::msgs::sensor_msgs::msg::Imu;
use embody::msgs::std_msgs::msg::Bool;
use embody::params::ParameterDescriptor;
use embody::{History, Node, QosProfile, Time};

use crate::planner::{Planner, PlannerConfig};
use crate::ros::{aes_status, ego_state, lane_map, objects, path, trajectory};
use crate::types::Inputs;

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
    /// Planner tuning.
    pub planner: PlannerConfig,
    /// Odometry reference point (centre of gravity) to footprint centre, along x (m).
    pub cg_to_centre: f64,
    /// How long a cycle waits for the odometry of its frame (wall time).
    pub odometry_timeout: Duration,
}

impl NodeConfig {
    /// Reads `cg_to_centre_m` (default: the simulator's BMW 320i, (l_f − l_r)/2 = −0.133 m),
    /// `desired_speed_kmh` (0: the lane's limit) and `odometry_timeout_s`.
    pub fn from_parameters(node: &Node) -> Result<Self, NodeError> {
        let p = node.parameters();
        let number = |name: &str, default: f64, about: &str| -> Result<f64, NodeError> {
            p.declare(name, default, ParameterDescriptor::new(about))
                .and_then(|_| p.get_f64(name))
                .map_err(|e| NodeError::Parameter(e.to_string()))
        };
        let cg_to_centre = number(
            "cg_to_centre_m",
            (1.156 - 1.4227) / 2.0,
            "odometry reference point to footprint centre along x (m)",
        )?;
        let timeout = number(
            "odometry_timeout_s",
            2.0,
            "how long a cycle waits for its frame's odometry (s)",
        )?;
        Ok(Self {
            planner: PlannerConfig::default(),
            cg_to_centre,
            odometry_timeout: Duration::from_secs_f64(timeout.max(0.0)),
        })
    }
}

/// Runs the node until its inputs close.
pub async fn run(node: Node, config: NodeConfig) -> Result<(), NodeError> {
    let all = QosProfile::default().history(History::KeepAll);
    let lanes = node
        .create_subscription::<LaneMapMsg>("map/lanes", QosProfile::transient_local(1))
        .await?;
    let odometry = node
        .create_subscription::<Odometry>("localization/odometry", all)
        .await?;
    let imu = node
        .create_subscription::<Imu>("sensing/imu", QosProfile::sensor_data())
        .await?;
    let objects_sub = node
        .create_subscription::<PredictedObjects>("perception/objects", all)
        .await?;
    let override_sub = node
        .create_subscription::<Bool>("driver/override", QosProfile::default())
        .await?;
    let traj_pub = node
        .create_publisher::<TrajMsg>("planning/trajectory", all)
        .await?;
    let path_pub = node.create_publisher::<Path>("planning/path", all).await?;
    let status_pub = node
        .create_publisher::<AesStatusMsg>("planning/aes/status", all)
        .await?;
    let log = node.logger();
    let warnings = Throttle::default();

    let Some(map_msg) = lanes.recv().await else {
        return Ok(());
    };
    let mut map = lane_map(&map_msg);
    let mut planner = Planner::new(config.planner.clone());
    // Odometry by stamp, so each cycle uses the pose of its own frame.
    let mut poses: BTreeMap<i64, Odometry> = BTreeMap::new();
    let mut acceleration = 0.0;
    let mut driver_override = false;
    let mut trace = crate::trace::Trace::from_env();

    while let Some(objs) = objects_sub.recv().await {
        let stamp = Time::from_msg(&objs.header.stamp).nanos;
        while let Some(m) = lanes.try_recv() {
            map = lane_map(&m);
        }
        while let Some(m) = override_sub.try_recv() {
            driver_override = m.data;
        }
        while let Some(m) = imu.try_recv() {
            acceleration = m.linear_acceleration.x;
        }
        // The frame's odometry is published with the cloud; wait for it if it is late.
        let deadline = tokio::time::Instant::now() + config.odometry_timeout;
        loop {
            while let Some(o) = odometry.try_recv() {
                poses.insert(Time::from_msg(&o.header.stamp).nanos, (*o).clone());
            }
            if poses.range(stamp..).next().is_some() {
                break;
            }
            match tokio::time::timeout_at(deadline, odometry.recv()).await {
                Ok(Some(o)) => {
                    poses.insert(Time::from_msg(&o.header.stamp).nanos, (*o).clone());
                }
                Ok(None) => return Ok(()),
                Err(_) => break,
            }
        }
        let Some((_, odom)) = poses.range(..=stamp).next_back() else {
            if warnings.ready() {
                log.warn("skipping a cycle: no odometry at or before the objects' stamp");
            }
            continue;
        };
        let ego = ego_state(odom, acceleration, config.cg_to_centre);
        // Older poses will not be needed again.
        poses = poses.split_off(&stamp);
        let inputs = Inputs {
            time: stamp as f64 * 1e-9,
            ego,
            objects: objects(&objs),
            map: map.clone(),
            driver_override,
        };
        let header = embody::msgs::std_msgs::msg::Header {
            stamp: objs.header.stamp.clone(),
            frame_id: objs.header.frame_id.clone(),
        };
        let out = match planner.plan(&inputs) {
            Ok(out) => out,
            Err(crate::types::PlanError::OffMap) => {
                // On no lane (turned across the road after a skid): stop rather than fall
                // silent and leave control waiting for a trajectory.
                if warnings.ready() {
                    log.warn("the ego is on no lane: braking to a stop along its heading");
                }
                traj_pub.publish_now(trajectory(&header, &planner.stop_straight(&ego)))?;
                continue;
            }
            Err(e) => {
                if warnings.ready() {
                    log.warn(&format!("skipping a cycle: {e}"));
                }
                continue;
            }
        };
        trace.cycle(&inputs, &out);
        traj_pub.publish_now(trajectory(&header, &out.trajectory))?;
        path_pub.publish_now(path(&header, &out.trajectory))?;
        status_pub.publish_now(aes_status(&header, &out))?;
    }
    Ok(())
}
