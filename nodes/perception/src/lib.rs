//! Perception: ground removal, clustering, boxes, classification, tracking and prediction.

pub mod assignment;
pub mod kalman;
pub mod prediction;
pub mod tracker;
