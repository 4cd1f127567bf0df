//! Perception: ground removal, clustering, boxes, classification, tracking and prediction.

pub mod boxfit;
pub mod classify;
pub mod cluster;
pub mod ground;
pub mod segment;
pub mod tracker;
pub mod voxel;
