//! embody's built-in simulator (algorithms only, no middleware; the node adapter comes on
//! top): the vehicle world (roads, a dynamic single-track ego, actors, a ray-cast lidar) and,
//! later, the arm world and the scenario runner.

pub mod actors;
pub mod geometry;
pub mod lidar;
pub mod road;
pub mod ros;
pub mod run;
pub mod scenario;
pub mod vehicle;
pub mod world;
