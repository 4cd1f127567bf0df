//! Perception: ground removal, clustering, boxes, classification, tracking and prediction.
pub mod cloud;
