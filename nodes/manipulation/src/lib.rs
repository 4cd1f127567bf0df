//! Manipulation: URDF, kinematics, inverse kinematics, motion planning and pick and place.
//!
//! Algorithms only; the node adapter that speaks messages lives elsewhere.

#![warn(missing_docs)]

pub mod bench;
pub mod ik;
pub mod kinematics;
pub mod rng;
pub mod urdf;

pub use ik::{IkError, IkGoal, IkOptions, IkSolution, IkSolver};
pub use kinematics::{Chain, ChainError, ChainJoint};
pub use urdf::{Urdf, UrdfError};
