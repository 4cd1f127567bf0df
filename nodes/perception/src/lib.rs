//! Perception: ground removal, clustering, boxes, classification, tracking and prediction.
