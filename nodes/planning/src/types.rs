//! Plain input and output types of one planning cycle, shaped so that a node adapter converts
//! `embody_msgs` PredictedObjects / LaneMap / Trajectory and `nav_msgs/Odometry` field by field.

use thiserror::Error;

/// Why an input cannot be planned with.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PlanError {
    /// The lane map has no lane.
    #[error("the lane map has no lanes")]
    NoLanes,
    /// A lane's centre line has fewer than two distinct points.
    #[error("lane {lane} has a centre line with fewer than two distinct points")]
    DegenerateLane {
        /// Id of the lane.
        lane: u32,
    },
    /// A number that must be finite (and sometimes positive) is not.
    #[error("{what} = {value} is invalid")]
    InvalidValue {
        /// What the number is.
        what: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// An object carries a number that is NaN or infinite.
    #[error("object {id}: {what} = {value} is invalid")]
    InvalidObject {
        /// Its track id.
        id: u64,
        /// Which number.
        what: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// The ego is not on any lane of the map.
    #[error("the ego is not on any lane of the map")]
    OffMap,
    /// A lane refers to a neighbour id that the map does not contain.
    #[error("lane {lane} names neighbour {neighbour}, which is not in the map")]
    UnknownNeighbour {
        /// The lane naming the neighbour.
        lane: u32,
        /// The missing id.
        neighbour: u32,
    },
}

/// Rejects NaN and infinities coming from the outside.
pub(crate) fn finite(what: &'static str, value: f64) -> Result<f64, PlanError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(PlanError::InvalidValue { what, value })
    }
}

/// Rejects values that must be strictly positive.
pub(crate) fn positive(what: &'static str, value: f64) -> Result<f64, PlanError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(PlanError::InvalidValue { what, value })
    }
}

/// A planar pose in the map frame.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pose2 {
    /// x (m).
    pub x: f64,
    /// y (m).
    pub y: f64,
    /// Heading (rad, counter-clockwise from +x).
    pub yaw: f64,
}

/// The ego vehicle's state from odometry; the pose is the centre of its footprint.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EgoState {
    /// x of the footprint centre (m).
    pub x: f64,
    /// y of the footprint centre (m).
    pub y: f64,
    /// Heading (rad).
    pub yaw: f64,
    /// Speed along the heading (m/s, not negative).
    pub v: f64,
    /// Longitudinal acceleration (m/s²).
    pub a: f64,
    /// Yaw rate (rad/s).
    pub yaw_rate: f64,
}

/// What an object is; mirrors `embody_msgs/ObjectClassification` for road users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ObjectClass {
    /// Not known.
    #[default]
    Unknown,
    /// Passenger car.
    Car,
    /// Truck.
    Truck,
    /// Bus.
    Bus,
    /// Motorcycle.
    Motorcycle,
    /// Bicycle.
    Bicycle,
    /// Adult pedestrian.
    Pedestrian,
    /// Child pedestrian.
    Child,
}

impl ObjectClass {
    /// Pedestrians and cyclists: road users that step out from occlusions.
    pub fn is_vulnerable(self) -> bool {
        matches!(self, Self::Pedestrian | Self::Child | Self::Bicycle)
    }

    /// Cars, trucks, buses and motorcycles.
    pub fn is_vehicle(self) -> bool {
        matches!(
            self,
            Self::Car | Self::Truck | Self::Bus | Self::Motorcycle | Self::Unknown
        )
    }
}

/// One sample of a predicted path.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PathSample {
    /// Time from the inputs' stamp (s).
    pub t: f64,
    /// x of the box centre (m).
    pub x: f64,
    /// y of the box centre (m).
    pub y: f64,
    /// Heading (rad).
    pub yaw: f64,
}

/// One possible future of an object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PredictedPath {
    /// Samples in increasing time.
    pub samples: Vec<PathSample>,
    /// One standard deviation of the position (m), grown by the collision check over time.
    pub position_std: f64,
    /// Probability of this future (0..1).
    pub confidence: f64,
}

/// A tracked object with its predictions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    /// Track id, stable across cycles.
    pub id: u64,
    /// Most likely class.
    pub class: ObjectClass,
    /// Pose of the box centre now.
    pub pose: Pose2,
    /// Box length along its heading (m).
    pub length: f64,
    /// Box width (m).
    pub width: f64,
    /// Velocity in the map frame, x (m/s).
    pub vx: f64,
    /// Velocity in the map frame, y (m/s).
    pub vy: f64,
    /// Predicted futures; when empty the planner extrapolates at constant velocity.
    pub paths: Vec<PredictedPath>,
}

impl Object {
    /// Checks every number, so NaN from a broken track never reaches the geometry.
    pub fn validate(&self) -> Result<(), PlanError> {
        let mut fields = vec![
            ("x", self.pose.x),
            ("y", self.pose.y),
            ("yaw", self.pose.yaw),
            ("length", self.length),
            ("width", self.width),
            ("vx", self.vx),
            ("vy", self.vy),
        ];
        for p in &self.paths {
            fields.push(("path position std-dev", p.position_std));
            fields.push(("path confidence", p.confidence));
            for s in &p.samples {
                fields.extend([
                    ("path t", s.t),
                    ("path x", s.x),
                    ("path y", s.y),
                    ("path yaw", s.yaw),
                ]);
            }
        }
        match fields.into_iter().find(|(_, v)| !v.is_finite()) {
            Some((what, value)) => Err(PlanError::InvalidObject {
                id: self.id,
                what,
                value,
            }),
            None => Ok(()),
        }
    }

    /// Speed over ground (m/s).
    pub fn speed(&self) -> f64 {
        self.vx.hypot(self.vy)
    }
}

/// One lane of the map; `embody_msgs/Lane` without the boundaries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lane {
    /// Lane id (not 0: the message uses 0 for "no neighbour").
    pub id: u32,
    /// Centre line in driving order, (x, y) in the map frame.
    pub centre: Vec<(f64, f64)>,
    /// Lane width (m).
    pub width: f64,
    /// Speed limit (m/s); `None` when the map has none.
    pub speed_limit: Option<f64>,
    /// Lane to the left in the same direction.
    pub left: Option<u32>,
    /// Lane to the right in the same direction.
    pub right: Option<u32>,
}

/// The lanes the planner may drive in.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LaneMap {
    /// All lanes.
    pub lanes: Vec<Lane>,
}

/// Everything one planning cycle reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inputs {
    /// Time of this cycle (s, monotonic, sim time allowed).
    pub time: f64,
    /// The ego vehicle now.
    pub ego: EgoState,
    /// Objects around the ego with predictions relative to `time`.
    pub objects: Vec<Object>,
    /// The lane map.
    pub map: LaneMap,
    /// The driver steers or brakes against the system: AES stands down.
    pub driver_override: bool,
}

/// One sample of the planned trajectory (`embody_msgs/TrajectoryPoint`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TrajectoryPoint {
    /// Time from the cycle's time (s).
    pub t: f64,
    /// x (m).
    pub x: f64,
    /// y (m).
    pub y: f64,
    /// Heading (rad).
    pub yaw: f64,
    /// Speed (m/s).
    pub v: f64,
    /// Longitudinal acceleration (m/s²).
    pub a: f64,
    /// Path curvature (1/m, positive left).
    pub curvature: f64,
}

/// A time-parameterised trajectory starting at the ego's current pose.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trajectory {
    /// Samples at a fixed time step.
    pub points: Vec<TrajectoryPoint>,
}
