//! One frame of perception: segmentation, tracking and prediction, without middleware, so the
//! node, the evaluation and the benchmarks run exactly the same code.

use nalgebra::Point3;

use crate::prediction::{PredictedPath, PredictionError, PredictionParams, predict_paths};
use crate::segment::{KeepOut, SegmentError, SegmentOutput, SegmentParams, Segmenter};
use crate::tracker::{Track, TrackState, Tracker, TrackerError, TrackerParams};

/// Why perception could not start or could not take a frame.
#[derive(Debug, thiserror::Error)]
pub enum PerceptionError {
    /// Bad segmentation parameters or sensor origin.
    #[error("segmentation: {0}")]
    Segment(#[from] SegmentError),
    /// Bad tracker parameters, or a frame time that does not advance.
    #[error("tracking: {0}")]
    Tracker(#[from] TrackerError),
    /// Bad prediction parameters.
    #[error("prediction: {0}")]
    Prediction(#[from] PredictionError),
}

/// Which world the node looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A roof lidar on a car: road users.
    Road,
    /// A depth camera over a table: cups and boxes.
    Table,
}

/// All of perception's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct PerceptionParams {
    /// Road or table.
    pub mode: Mode,
    /// Region of interest, ground removal, clustering, boxes, classes.
    pub segment: SegmentParams,
    /// Track life cycle, gates and motion models.
    pub tracker: TrackerParams,
    /// Prediction horizon and step.
    pub prediction: PredictionParams,
}

impl PerceptionParams {
    /// Defaults for a roof lidar on a car (see each part's `road()`).
    pub fn road() -> Self {
        Self {
            mode: Mode::Road,
            segment: SegmentParams::road(),
            tracker: TrackerParams::road(),
            prediction: PredictionParams::road(),
        }
    }

    /// Defaults for a depth camera over a table (see each part's `table()`).
    pub fn table() -> Self {
        Self {
            mode: Mode::Table,
            segment: SegmentParams::table(),
            tracker: TrackerParams::table(),
            prediction: PredictionParams::table(),
        }
    }

    /// The defaults for `mode`.
    pub fn for_mode(mode: Mode) -> Self {
        match mode {
            Mode::Road => Self::road(),
            Mode::Table => Self::table(),
        }
    }
}

/// What one frame produced.
#[derive(Debug, Clone, Default)]
pub struct FrameOutput {
    /// Segmentation's detections and point counts.
    pub segments: SegmentOutput,
    /// Confirmed tracks updated in this frame or the one before (what downstream nodes see).
    /// Lost tracks, coasting on their prediction, stay internal: a box seen partly at long
    /// range often comes back as a bigger, better box that the tracker follows instead.
    pub tracks: Vec<Track>,
    /// Predicted paths of those tracks.
    pub paths: Vec<PredictedPath>,
    /// Detections the tracker rejected (invalid numbers).
    pub rejected_detections: usize,
}

/// Perception's state across frames.
pub struct Perception {
    params: PerceptionParams,
    segmenter: Segmenter,
    tracker: Tracker,
}

impl Perception {
    /// A pipeline with checked parameters.
    pub fn new(params: PerceptionParams) -> Result<Self, PerceptionError> {
        params.prediction.steps()?;
        Ok(Self {
            segmenter: Segmenter::new(params.segment)?,
            tracker: Tracker::new(params.tracker.clone())?,
            params,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &PerceptionParams {
        &self.params
    }

    /// Sets the places (in the tracking frame) where no object is reported, e.g. the base of
    /// the arm on the table.
    pub fn set_keep_out(&mut self, keep_out: Vec<KeepOut>) {
        self.segmenter.set_keep_out(keep_out);
    }

    /// Takes one frame of points (in the tracking frame, z up) seen from `sensor_origin` at
    /// time `t` (s, increasing).
    pub fn process(
        &mut self,
        points: &[Point3<f32>],
        sensor_origin: Point3<f64>,
        t: f64,
    ) -> Result<FrameOutput, PerceptionError> {
        let mut segments = self.segmenter.segment(points, sensor_origin)?;
        if self.params.mode == Mode::Road {
            for d in &mut segments.detections {
                crate::completion::complete(d, sensor_origin);
            }
        }
        let report = self.tracker.step(t, &segments.detections)?;
        let tracks: Vec<Track> = self
            .tracker
            .tracks()
            .into_iter()
            .filter(|t| t.state == TrackState::Confirmed)
            .collect();
        let paths = predict_paths(&tracks, &self.params.tracker, &self.params.prediction)?;
        Ok(FrameOutput {
            segments,
            tracks,
            paths,
            rejected_detections: report.rejected_detections,
        })
    }
}
