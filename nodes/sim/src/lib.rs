//! embody's built-in simulator: the vehicle world (roads, a dynamic single-track ego, actors,
//! a ray-cast lidar), scenarios and their runner, as plain algorithms; `node` is the thin
//! adapter that publishes the world over the runtime and takes commands in lock-step.

pub mod actors;
pub mod geometry;
pub mod lidar;
pub mod node;
pub mod plot;
pub mod road;
pub mod ros;
pub mod run;
pub mod scenario;
pub mod vehicle;
pub mod world;

/// The 2D point type of the simulator's geometry (nalgebra's).
pub use nalgebra::Point2;
