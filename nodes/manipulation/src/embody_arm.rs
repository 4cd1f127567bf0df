//! The embody arm (`robots/embody_arm.urdf`, compiled in): its URDF, planning chain, gripper
//! links and a collision model with the gripper held open.

use std::collections::HashMap;

use crate::robot_model::{ModelError, RobotModel, RobotModelOptions};
use crate::urdf::{Urdf, UrdfError};

/// The URDF text.
pub const URDF: &str = include_str!("../robots/embody_arm.urdf");
/// Base link of the planning chain (on the table surface).
pub const BASE: &str = "base_link";
/// Tip of the planning chain: the tool centre point between the finger pads.
pub const TCP: &str = "tcp";
/// The flange frame.
pub const FLANGE: &str = "tool0";
/// Links that touch a grasped object.
pub const TOUCH_LINKS: [&str; 3] = ["hand_link", "left_finger_link", "right_finger_link"];
/// The finger joints (each opens 0 to 0.04 m).
pub const FINGER_JOINTS: [&str; 2] = ["left_finger_joint", "right_finger_joint"];
/// Finger opening per side when open, metres.
pub const FINGER_OPEN: f64 = 0.04;

/// The parsed URDF.
pub fn urdf() -> Result<Urdf, UrdfError> {
    Urdf::parse_str(URDF)
}

/// Model options with the fingers held fully open: the widest the gripper gets, so the
/// model covers the fingers in every phase (closed fingers sit inside it).
pub fn model_options() -> RobotModelOptions {
    RobotModelOptions {
        held_joints: FINGER_JOINTS
            .iter()
            .map(|j| (j.to_string(), FINGER_OPEN))
            .collect::<HashMap<_, _>>(),
        ..RobotModelOptions::default()
    }
}

/// The URDF and the collision model of the chain `base_link → tcp`.
pub fn model() -> Result<(Urdf, RobotModel), EmbodyArmError> {
    let urdf = urdf()?;
    let model = RobotModel::from_urdf(&urdf, BASE, TCP, &model_options())?;
    Ok((urdf, model))
}

/// Why the built-in arm could not be loaded (only if its URDF was edited badly).
#[derive(Debug, thiserror::Error)]
pub enum EmbodyArmError {
    /// The URDF does not parse.
    #[error("embody_arm.urdf: {0}")]
    Urdf(#[from] UrdfError),
    /// The model cannot be built.
    #[error("embody_arm.urdf: {0}")]
    Model(#[from] ModelError),
}
