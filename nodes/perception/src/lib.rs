//! Perception: ground removal, clustering, boxes, classification, tracking and prediction.

pub mod assignment;
pub mod boxfit;
pub mod circle;
pub mod classify;
pub mod cloud;
pub mod cluster;
pub mod completion;
pub mod eval;
pub mod ground;
pub mod kalman;
pub mod node;
pub mod noise;
pub mod pipeline;
pub mod prediction;
pub mod roofs;
pub mod ros;
pub mod segment;
pub mod tracker;
pub mod voxel;
