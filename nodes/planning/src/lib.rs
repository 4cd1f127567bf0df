//! Planning: HAD route and car following, lane changes, Frenet sampling, and AES.
//!
//! Pure algorithms without middleware: [`Planner::plan`] takes [`Inputs`] (ego state,
//! predicted objects, lane map, driver override) and returns an [`Output`] with the trajectory
//! for control and the [`AesStatus`]. A node adapter fills the inputs field by field:
//!
//! | message | type here |
//! |---|---|
//! | `nav_msgs/Odometry` pose, twist, (IMU) acceleration | [`EgoState`] (pose = footprint centre) |
//! | `embody_msgs/PredictedObject` id, class\[0\], pose, dimensions x/y, twist | [`Object`] |
//! | `PredictedPath` poses at `k·time_step`, confidence, √pose covariance | [`PredictedPath`] |
//! | `embody_msgs/Lane` id, centerline, width, neighbour ids (0 = none), speed_limit (0 = none) | [`Lane`] |
//! | [`TrajectoryPoint`] t, pose, v, a, curvature | `embody_msgs/TrajectoryPoint` |
//!
//! Modules, bottom up: [`polynomials`] (quintic/quartic), [`frenet`] (reference lines),
//! [`idm`] and [`mobil`] (driver models), [`collision`] (discs against predictions),
//! [`route`] (lanes and the ego's corridor), [`lane_prediction`] (map-based hypotheses for
//! traffic), [`sampler`] (Werling sampling), [`had`]
//! (behaviour), [`aes`] (threat assessment and evasion), [`planner`] (one cycle).

pub mod aes;
pub mod collision;
pub mod frenet;
pub mod had;
pub mod idm;
pub mod lane_prediction;
pub mod mobil;
pub mod planner;
pub mod polynomials;
pub mod route;
pub mod sampler;
pub mod types;

pub use aes::{AesState, AesStatus, Manoeuvre, Reason};
pub use planner::{Output, Planner, PlannerConfig, VehicleSize};
pub use types::{
    EgoState, Inputs, Lane, LaneMap, Object, ObjectClass, PathSample, PlanError, Pose2,
    PredictedPath, Trajectory, TrajectoryPoint,
};
pub mod node;
pub mod ros;
pub mod trace;
