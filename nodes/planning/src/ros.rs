//! Conversions between the planner's types and ROS messages.

pub use embody::tf::{yaw_of, yaw_quaternion};
use embody_msgs::builtin_interfaces::msg::Duration;
use embody_msgs::embody_msgs::msg::{
    AesStatus as AesStatusMsg, LaneMap as LaneMapMsg, ObjectClassification, PredictedObjects,
    Trajectory as TrajectoryMsg, TrajectoryPoint as TrajectoryPointMsg,
};
use embody_msgs::geometry_msgs::msg::{Point, Pose, PoseStamped};
use embody_msgs::nav_msgs::msg::{Odometry, Path};
use embody_msgs::std_msgs::msg::Header;

use crate::aes::{AesState, Manoeuvre, Reason, Side};
use crate::had::Behaviour;
use crate::planner::Output;
use crate::types::{
    EgoState, Lane, LaneMap, Object, ObjectClass, PathSample, PredictedPath, Trajectory,
};

fn seconds(d: &Duration) -> f64 {
    f64::from(d.sec) + f64::from(d.nanosec) * 1e-9
}

fn duration(s: f64) -> Duration {
    let ns = (s * 1e9).round() as i64;
    Duration {
        sec: ns.div_euclid(1_000_000_000) as i32,
        nanosec: ns.rem_euclid(1_000_000_000) as u32,
    }
}

/// The lane map; lanes without a width are given the distance between their boundaries'
/// first points (the message carries boundaries, not a width).
pub fn lane_map(msg: &LaneMapMsg) -> LaneMap {
    let lanes = msg
        .lanes
        .iter()
        .map(|l| {
            let width = match (l.left.points.first(), l.right.points.first()) {
                (Some(a), Some(b)) => (a.x - b.x).hypot(a.y - b.y),
                _ => 3.5,
            };
            let id_or_none = |id: u32| (id != 0).then_some(id);
            Lane {
                id: l.id,
                centre: l.centerline.iter().map(|p| (p.x, p.y)).collect(),
                width,
                speed_limit: (l.speed_limit > 0.0).then_some(l.speed_limit),
                left: id_or_none(l.left_neighbour_id),
                right: id_or_none(l.right_neighbour_id),
            }
        })
        .collect();
    LaneMap { lanes }
}

/// The ego from odometry. `cg_to_centre` moves the odometry's reference point (the centre of
/// gravity for the simulator's ego) to the footprint centre the planner works with.
pub fn ego_state(o: &Odometry, acceleration: f64, cg_to_centre: f64) -> EgoState {
    let p = &o.pose.pose;
    let yaw = yaw_of(&p.orientation);
    EgoState {
        x: p.position.x + cg_to_centre * yaw.cos(),
        y: p.position.y + cg_to_centre * yaw.sin(),
        yaw,
        v: o.twist.twist.linear.x.hypot(o.twist.twist.linear.y),
        a: acceleration,
        yaw_rate: o.twist.twist.angular.z,
    }
}

fn class_of(c: &[ObjectClassification]) -> ObjectClass {
    let best = c
        .iter()
        .max_by(|a, b| a.probability.total_cmp(&b.probability));
    match best.map(|c| c.label) {
        Some(ObjectClassification::CAR) => ObjectClass::Car,
        Some(ObjectClassification::TRUCK) => ObjectClass::Truck,
        Some(ObjectClassification::BUS) => ObjectClass::Bus,
        Some(ObjectClassification::MOTORCYCLE) => ObjectClass::Motorcycle,
        Some(ObjectClassification::BICYCLE) => ObjectClass::Bicycle,
        Some(ObjectClassification::PEDESTRIAN) => ObjectClass::Pedestrian,
        Some(ObjectClassification::CHILD) => ObjectClass::Child,
        _ => ObjectClass::Unknown,
    }
}

/// Predicted objects as the planner's objects; each path's σ is its first pose's (the
/// planner grows it with time itself).
pub fn objects(msg: &PredictedObjects) -> Vec<Object> {
    msg.objects
        .iter()
        .map(|o| Object {
            id: o.object_id,
            class: class_of(&o.classification),
            pose: crate::types::Pose2 {
                x: o.pose.position.x,
                y: o.pose.position.y,
                yaw: yaw_of(&o.pose.orientation),
            },
            length: o.dimensions.x,
            width: o.dimensions.y,
            vx: o.twist.linear.x,
            vy: o.twist.linear.y,
            paths: o
                .predicted_paths
                .iter()
                .map(|p| {
                    let step = seconds(&p.time_step);
                    PredictedPath {
                        samples: p
                            .path
                            .iter()
                            .enumerate()
                            .map(|(k, pose)| PathSample {
                                t: k as f64 * step,
                                x: pose.position.x,
                                y: pose.position.y,
                                yaw: yaw_of(&pose.orientation),
                            })
                            .collect(),
                        position_std: p.position_std.first().map_or(0.0, |s| f64::from(*s)),
                        confidence: f64::from(p.confidence),
                    }
                })
                .collect(),
        })
        .collect()
}

/// The trajectory as `embody_msgs/Trajectory` (poses of the footprint centre).
pub fn trajectory(header: &Header, t: &Trajectory) -> TrajectoryMsg {
    TrajectoryMsg {
        header: header.clone(),
        points: t
            .points
            .iter()
            .map(|p| TrajectoryPointMsg {
                time_from_start: duration(p.t),
                pose: Pose {
                    position: Point {
                        x: p.x,
                        y: p.y,
                        z: 0.0,
                    },
                    orientation: yaw_quaternion(p.yaw),
                },
                longitudinal_velocity: p.v,
                lateral_velocity: 0.0,
                acceleration: p.a,
                heading_rate: p.v * p.curvature,
                curvature: p.curvature,
            })
            .collect(),
    }
}

/// The trajectory's poses as `nav_msgs/Path` for viewers.
pub fn path(header: &Header, t: &Trajectory) -> Path {
    Path {
        header: header.clone(),
        poses: t
            .points
            .iter()
            .map(|p| PoseStamped {
                header: header.clone(),
                pose: Pose {
                    position: Point {
                        x: p.x,
                        y: p.y,
                        z: 0.0,
                    },
                    orientation: yaw_quaternion(p.yaw),
                },
            })
            .collect(),
    }
}

fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// One cycle's AES status as `embody_msgs/AesStatus`.
pub fn aes_status(header: &Header, out: &Output) -> AesStatusMsg {
    let s = &out.aes;
    let state = match s.state {
        AesState::Standby => AesStatusMsg::STANDBY,
        AesState::Warn => AesStatusMsg::WARN,
        AesState::Brake => AesStatusMsg::BRAKE,
        AesState::Steer => AesStatusMsg::STEER,
        AesState::BrakeAndSteer => AesStatusMsg::BRAKE_AND_STEER,
        AesState::Hold => AesStatusMsg::HOLD,
        AesState::Return => AesStatusMsg::RETURN,
        AesState::Overridden => AesStatusMsg::OVERRIDDEN,
    };
    let mut msg = AesStatusMsg {
        header: header.clone(),
        state,
        state_name: snake(&format!("{:?}", s.state)),
        ttc: s.ttc.unwrap_or(f64::INFINITY),
        ttc_brake: s.ttc_brake.unwrap_or(f64::NAN),
        ttc_steer: s.ttc_steer.unwrap_or(f64::NAN),
        required_decel: s.required_decel.unwrap_or(f64::NAN),
        has_object: s.object.is_some(),
        object_id: s.object.unwrap_or(0),
        manoeuvres: s.manoeuvres,
        reason: reason_name(s.reason).into(),
        behaviour: match out.behaviour {
            Behaviour::Cruise => "cruise",
            Behaviour::Follow { .. } => "follow",
            Behaviour::ChangeLane { .. } => "change_lane",
            Behaviour::Occlusion { .. } => "occlusion",
            Behaviour::Yield { .. } => "yield",
        }
        .into(),
        ..AesStatusMsg::default()
    };
    match s.manoeuvre {
        Manoeuvre::None => msg.manoeuvre = AesStatusMsg::MANOEUVRE_NONE,
        Manoeuvre::Brake { decel } => {
            msg.manoeuvre = AesStatusMsg::MANOEUVRE_BRAKE;
            msg.decel = decel;
        }
        Manoeuvre::Evade {
            side,
            shift,
            lat_accel,
            decel,
        } => {
            msg.manoeuvre = match side {
                Side::Left => AesStatusMsg::MANOEUVRE_EVADE_LEFT,
                Side::Right => AesStatusMsg::MANOEUVRE_EVADE_RIGHT,
            };
            msg.lateral_shift = shift;
            msg.lateral_accel = lat_accel;
            msg.decel = decel;
        }
        Manoeuvre::MinimumImpact { impact_speed } => {
            msg.manoeuvre = AesStatusMsg::MANOEUVRE_MINIMUM_IMPACT;
            msg.impact_speed = impact_speed;
        }
    }
    msg
}

/// The reason as a lower-case name.
pub fn reason_name(r: Reason) -> &'static str {
    match r {
        Reason::NoThreat => "no_threat",
        Reason::HadCopes => "had_copes",
        Reason::Warning => "warning",
        Reason::BrakingAvoids => "braking_avoids",
        Reason::BrakingTooLate => "braking_too_late",
        Reason::RearTraffic => "rear_traffic",
        Reason::NoFreePath => "no_free_path",
        Reason::PathBlocked => "path_blocked",
        Reason::ManoeuvreLimit => "manoeuvre_limit",
        Reason::ThreatCleared => "threat_cleared",
        Reason::Stopped => "stopped",
        Reason::DriverOverride => "driver_override",
    }
}
