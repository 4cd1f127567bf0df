//! embody's built-in simulator: the vehicle world (roads, a dynamic single-track ego, actors,
//! a ray-cast lidar), the arm world (an arm from a URDF, a gripper, a tabletop, a depth
//! camera), scenarios and their runner, as plain algorithms; `node` is the thin
//! adapter that publishes the world over the runtime and takes commands in lock-step.

pub mod actors;
pub mod arm;
pub mod arm_node;
pub mod arm_run;
pub mod arm_world;
pub mod capsule;
pub mod depth;
pub mod geometry;
pub mod gripper;
pub mod lidar;
pub mod node;
pub mod plot;
pub mod road;
pub mod ros;
pub mod run;
pub mod scenario;
pub mod table;
pub mod vehicle;
pub mod world;

/// The 2D point type of the simulator's geometry (nalgebra's).
pub use nalgebra::Point2;
