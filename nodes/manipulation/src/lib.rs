//! Manipulation: URDF, kinematics, inverse kinematics, motion planning and pick and place.
//!
//! Algorithms only; the node adapter that speaks messages lives elsewhere.

#![warn(missing_docs)]

pub mod acm;
pub mod bench;
pub mod cartesian;
pub mod collision;
pub mod embody_arm;
pub mod grasp;
pub mod ik;
pub mod kinematics;
pub mod node;
pub mod pick_place;
pub mod pixel;
pub mod rng;
pub mod robot_model;
pub mod rrt;
pub mod scene;
pub mod stl;
pub mod tabletop;
pub mod task;
pub mod task_node;
pub mod timing;
pub mod urdf;

pub use ik::{IkError, IkGoal, IkOptions, IkSolution, IkSolver};
pub use kinematics::{Chain, ChainError, ChainJoint};
pub use robot_model::{ModelError, RobotModel, RobotModelOptions};
pub use scene::{Scene, SceneError, SceneObject};
pub use urdf::{Urdf, UrdfError};
