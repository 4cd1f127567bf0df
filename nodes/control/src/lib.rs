//! Control: vehicle trajectory tracking (and, later, arm joint-trajectory following).
//!
//! Pure algorithms without middleware: [`vehicle::TrackingController::command`] turns a
//! planned trajectory and the vehicle state into an Ackermann-style command.

pub mod vehicle;

pub use vehicle::{
    Command, ControlError, ControlLimits, ControllerParams, TrackingController, TrajectoryPoint,
    VehicleState,
};
pub mod node;
