//! Perception: ground removal, clustering, boxes, classification, tracking and prediction.

pub mod assignment;
pub mod cloud;
pub mod eval;
pub mod kalman;
pub mod prediction;
pub mod ros;
pub mod tracker;
