//! Planning: HAD route and car following, lane changes, Frenet sampling, and AES.
//!
//! Pure algorithms without middleware: [`planner::Planner::plan`] takes [`types::Inputs`]
//! (ego state, predicted objects, lane map) and returns a trajectory and the AES status.

pub mod aes;
pub mod collision;
pub mod frenet;
pub mod had;
pub mod idm;
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
