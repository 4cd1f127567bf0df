//! Control: vehicle trajectory tracking and arm joint-trajectory following.
//!
//! Pure algorithms without middleware: [`vehicle::TrackingController::command`] turns a
//! planned trajectory and the vehicle state into an Ackermann-style command;
//! [`arm::ArmController::command`] turns a joint trajectory and the joint state into joint
//! speeds. `node.rs` and `arm_node.rs` are the thin node adapters.

pub mod arm;
pub mod joint_trajectory;
pub mod vehicle;

pub use vehicle::{
    Command, ControlError, ControlLimits, ControllerParams, TrackingController, TrajectoryPoint,
    VehicleState,
};
pub mod arm_node;
pub mod node;
