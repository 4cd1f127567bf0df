//! Predicted paths: a track's own motion model (CV or CTRV) rolled forward over a horizon, with
//! its covariance propagated step by step so that the uncertainty grows with time.
//!
//! The process noise is the caller's choice. The tracking noise of a class gives honest but
//! wide cones over seconds: white acceleration noise lets the position std grow like t^1.5
//! (road car: ≈ 6.5 m after 5 s from the noise alone, pedestrian ≈ 3.2 m); a planner that
//! wants tighter long-range cones passes a smaller noise.

use nalgebra::{Matrix2, Vector4};
use thiserror::Error;

use crate::kalman::{CvFilter, KalmanError, MotionFilter, ProcessNoise, wrap_angle};
use crate::tracker::{Track, TrackerParams};

/// Most steps one path may have; bounds memory for silly horizon/step ratios.
pub const MAX_STEPS: usize = 10_000;

/// Prediction horizon and resolution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PredictionParams {
    /// How far ahead to predict (s).
    pub horizon_s: f64,
    /// Time between path points (s).
    pub step_s: f64,
    /// Below this speed (m/s) an object is predicted to stay where it is.
    pub stationary_speed: f64,
}

impl PredictionParams {
    /// Road defaults: 5 s at 0.1 s; slower than 0.3 m/s counts as standing.
    pub fn road() -> Self {
        Self {
            horizon_s: 5.0,
            step_s: 0.1,
            stationary_speed: 0.3,
        }
    }

    /// Table defaults: 2 s at 0.05 s; slower than 2 cm/s counts as standing.
    pub fn table() -> Self {
        Self {
            horizon_s: 2.0,
            step_s: 0.05,
            stationary_speed: 0.02,
        }
    }

    /// Number of steps after the current pose, checking the parameters.
    pub fn steps(&self) -> Result<usize, PredictionError> {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if !ok(self.horizon_s) || !ok(self.step_s) {
            return Err(PredictionError::InvalidParams(
                "horizon_s and step_s must be finite and > 0",
            ));
        }
        if !(self.stationary_speed.is_finite() && self.stationary_speed >= 0.0) {
            return Err(PredictionError::InvalidParams(
                "stationary_speed must be finite and >= 0",
            ));
        }
        let steps = (self.horizon_s / self.step_s).round();
        if steps > MAX_STEPS as f64 {
            return Err(PredictionError::InvalidParams(
                "horizon_s / step_s exceeds MAX_STEPS",
            ));
        }
        Ok((steps as usize).max(1))
    }
}

/// Errors from prediction.
#[derive(Clone, Copy, Debug, PartialEq, Error)]
pub enum PredictionError {
    /// A parameter is out of range.
    #[error("invalid prediction parameters: {0}")]
    InvalidParams(&'static str),
    /// The filter could not be propagated (non-finite state or noise).
    #[error("cannot propagate the track: {0}")]
    Filter(#[from] KalmanError),
}

/// One predicted pose with its position uncertainty.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PathPoint {
    /// Time ahead of the track's time (s); the first point is 0.
    pub t: f64,
    /// Position x (m).
    pub x: f64,
    /// Position y (m).
    pub y: f64,
    /// Heading (rad).
    pub yaw: f64,
    /// Standard deviation of x (m).
    pub std_x: f64,
    /// Standard deviation of y (m).
    pub std_y: f64,
    /// Covariance of (x, y).
    pub position_covariance: Matrix2<f64>,
}

/// A track's predicted path.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictedPath {
    /// Id of the predicted track.
    pub track_id: u64,
    /// Whether the object was predicted to stand still.
    pub stationary: bool,
    /// Poses from now (t = 0) to the horizon.
    pub points: Vec<PathPoint>,
}

fn point(t: f64, x: f64, y: f64, yaw: f64, cov: Matrix2<f64>) -> PathPoint {
    PathPoint {
        t,
        x,
        y,
        yaw,
        std_x: cov[(0, 0)].max(0.0).sqrt(),
        std_y: cov[(1, 1)].max(0.0).sqrt(),
        position_covariance: cov,
    }
}

/// Rolls a filter forward; `yaw` is the current heading, kept for CV and stationary paths.
pub fn predict_motion(
    motion: &MotionFilter,
    yaw: f64,
    stationary: bool,
    noise: &ProcessNoise,
    params: &PredictionParams,
) -> Result<Vec<PathPoint>, PredictionError> {
    let steps = params.steps()?;
    let mut filter = *motion;
    if stationary {
        // Mean velocity zero, but its uncertainty kept: a standing object may start moving,
        // and the cone around it must say so.
        let cv = filter.to_cv();
        let cv = CvFilter::new(
            Vector4::new(cv.state[0], cv.state[1], 0.0, 0.0),
            cv.covariance,
        );
        filter = MotionFilter::Cv(cv);
    }
    let mut points = Vec::with_capacity(steps + 1);
    let start = filter.position();
    points.push(point(
        0.0,
        start.x,
        start.y,
        wrap_angle(yaw),
        filter.position_covariance(),
    ));
    for k in 1..=steps {
        filter.predict(params.step_s, noise)?;
        let p = filter.position();
        // A stationary path runs on CV, which has no heading of its own.
        let heading = filter.travel_heading().unwrap_or(yaw);
        points.push(point(
            k as f64 * params.step_s,
            p.x,
            p.y,
            wrap_angle(heading),
            filter.position_covariance(),
        ));
    }
    Ok(points)
}

/// Predicts one track's path with the given process noise.
pub fn predict_path(
    track: &Track,
    noise: &ProcessNoise,
    params: &PredictionParams,
) -> Result<PredictedPath, PredictionError> {
    let speed = track.vx.hypot(track.vy);
    let stationary = speed < params.stationary_speed;
    let points = predict_motion(&track.motion, track.yaw, stationary, noise, params)?;
    Ok(PredictedPath {
        track_id: track.id,
        stationary,
        points,
    })
}

/// Predicts every track with its class's tracking noise; tracks that fail are skipped.
pub fn predict_paths(
    tracks: &[Track],
    tracker_params: &TrackerParams,
    params: &PredictionParams,
) -> Result<Vec<PredictedPath>, PredictionError> {
    params.steps()?;
    Ok(tracks
        .iter()
        .filter_map(|t| predict_path(t, &tracker_params.class(t.class).noise, params).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kalman::{CtraFilter, CtrvFilter, MotionModel};
    use crate::tracker::{Class, Detection, TrackState, Tracker};
    use nalgebra::{Matrix4, Matrix5, Matrix6, Vector5, Vector6};

    fn quiet() -> ProcessNoise {
        ProcessNoise {
            accel_std: 0.0,
            yaw_accel_std: 0.0,
            jerk_std: 0.0,
        }
    }

    /// Rotation-invariant growth checks: trace and determinant strictly increase.
    fn assert_growing(points: &[PathPoint]) {
        for w in points.windows(2) {
            let (a, b) = (&w[0].position_covariance, &w[1].position_covariance);
            assert!(b.trace() > a.trace(), "trace shrank at t = {}", w[1].t);
            assert!(
                b.determinant() > a.determinant(),
                "determinant shrank at t = {}",
                w[1].t
            );
        }
    }

    #[test]
    fn cv_path_by_hand() {
        // x = (1, 2), v = (2, −1), P = 0.01·I, no process noise, 1 s steps over 3 s:
        // x(t) = (1 + 2t, 2 − t); var x(t) = 0.01 + 0.01·t² → t = 3: 0.1, std 0.316…
        let f = CvFilter::new(
            Vector4::new(1.0, 2.0, 2.0, -1.0),
            Matrix4::identity() * 0.01,
        );
        let params = PredictionParams {
            horizon_s: 3.0,
            step_s: 1.0,
            stationary_speed: 0.3,
        };
        let pts = predict_motion(&MotionFilter::Cv(f), -0.46, false, &quiet(), &params).unwrap();
        assert_eq!(pts.len(), 4);
        let last = pts[3];
        assert_eq!((last.t, last.x, last.y), (3.0, 7.0, -1.0));
        assert!((last.position_covariance[(0, 0)] - 0.1).abs() < 1e-12);
        assert!((last.std_y - 0.1_f64.sqrt()).abs() < 1e-12);
        assert_growing(&pts);
    }

    #[test]
    fn ctrv_path_follows_the_circle() {
        // v = 5 m/s, ω = 0.5 rad/s: radius 10 m around (0, 10); after π s a quarter turn.
        let f = CtrvFilter::new(
            Vector5::new(0.0, 0.0, 5.0, 0.0, 0.5),
            Matrix5::identity() * 1e-3,
        );
        let params = PredictionParams {
            horizon_s: std::f64::consts::PI,
            step_s: std::f64::consts::PI / 50.0,
            stationary_speed: 0.3,
        };
        let noise = ProcessNoise {
            accel_std: 1.0,
            yaw_accel_std: 0.2,
            jerk_std: 0.0,
        };
        let pts = predict_motion(&MotionFilter::Ctrv(f), 0.0, false, &noise, &params).unwrap();
        assert_eq!(pts.len(), 51);
        for p in &pts {
            assert!((p.x.hypot(p.y - 10.0) - 10.0).abs() < 1e-9);
        }
        let end = pts[50];
        assert!((end.x - 10.0).abs() < 1e-9 && (end.y - 10.0).abs() < 1e-9);
        assert!((end.yaw - std::f64::consts::FRAC_PI_2).abs() < 1e-9);
        assert_growing(&pts);
    }

    #[test]
    fn a_braking_two_wheeler_is_predicted_to_stop_not_to_reverse() {
        // 8 m/s along x braking at 4 m/s²: at rest after 2 s and 8 m, and there to the end of
        // the 5 s horizon, facing forward.
        let f = CtraFilter::new(
            Vector6::new(0.0, 0.0, 8.0, 0.0, 0.0, -4.0),
            Matrix6::identity() * 1e-3,
        );
        let params = PredictionParams {
            horizon_s: 5.0,
            step_s: 0.1,
            stationary_speed: 0.3,
        };
        let pts = predict_motion(&MotionFilter::Ctra(f), 0.0, false, &quiet(), &params).unwrap();
        assert!((pts[10].x - 6.0).abs() < 1e-9, "{:?}", pts[10]);
        for p in &pts[20..] {
            assert!((p.x - 8.0).abs() < 1e-9 && p.yaw.abs() < 1e-12, "{p:?}");
        }
    }

    #[test]
    fn stationary_object_stays_put_with_growing_uncertainty() {
        let mut p = Matrix4::identity() * 0.01;
        p[(2, 2)] = 0.04;
        p[(3, 3)] = 0.04;
        let f = CvFilter::new(Vector4::new(3.0, 4.0, 0.1, 0.05), p);
        let pts = predict_motion(
            &MotionFilter::Cv(f),
            1.0,
            true,
            &quiet(),
            &PredictionParams::road(),
        )
        .unwrap();
        assert_eq!(pts.len(), 51);
        assert!(pts.iter().all(|q| q.x == 3.0 && q.y == 4.0 && q.yaw == 1.0));
        // var x(5 s) = 0.01 + 0.04·25 = 1.01.
        assert!((pts[50].position_covariance[(0, 0)] - 1.01).abs() < 1e-9);
        assert_growing(&pts);
    }

    #[test]
    fn bad_params_are_errors() {
        let f = MotionFilter::Cv(CvFilter::new(Vector4::zeros(), Matrix4::identity()));
        for (h, s) in [(0.0, 0.1), (5.0, f64::NAN), (1e9, 1e-6), (5.0, -0.1)] {
            let params = PredictionParams {
                horizon_s: h,
                step_s: s,
                stationary_speed: 0.3,
            };
            assert!(matches!(
                predict_motion(&f, 0.0, false, &quiet(), &params),
                Err(PredictionError::InvalidParams(_))
            ));
        }
        let nan = MotionFilter::Cv(CvFilter::new(
            Vector4::new(f64::NAN, 0.0, 0.0, 0.0),
            Matrix4::identity(),
        ));
        assert!(matches!(
            predict_motion(&nan, 0.0, false, &quiet(), &PredictionParams::road()),
            Err(PredictionError::Filter(_))
        ));
    }

    /// Tracks a walking person and a turning car from noisy detections, then predicts them.
    #[test]
    fn tracked_objects_get_monotonic_prediction_cones() {
        let mut tracker = Tracker::new(TrackerParams::road()).unwrap();
        let mut rng = 12345_u64;
        let mut noise = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((rng >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.1
        };
        let (speed, rate) = (8.0, 0.2);
        for k in 0..30 {
            let t = k as f64 * 0.1;
            // Car on a circle of radius 40 m; pedestrian walking along −x; a parked car.
            let (cx, cy) = (
                (speed / rate) * (rate * t).sin(),
                (speed / rate) * (1.0 - (rate * t).cos()),
            );
            let mk = |x: f64, y: f64, yaw: f64, class: Class| Detection {
                x,
                y,
                z: 0.8,
                yaw,
                length: 4.0,
                width: 1.8,
                height: 1.5,
                class,
                confidence: 0.9,
                seen_depth: 1.8,
                points: 200,
            };
            let dets = [
                mk(cx + noise(), cy + noise(), rate * t, Class::Car),
                mk(
                    10.0 - 1.4 * t + noise(),
                    -6.0 + noise(),
                    0.0,
                    Class::Pedestrian,
                ),
                mk(-15.0 + noise(), 8.0 + noise(), 0.3, Class::Car),
            ];
            tracker.step(t, &dets).unwrap();
        }
        let tracks = tracker.tracks();
        assert_eq!(tracks.len(), 3);
        assert!(tracks.iter().all(|t| t.state == TrackState::Confirmed));
        let paths = predict_paths(&tracks, tracker.params(), &PredictionParams::road()).unwrap();
        assert_eq!(paths.len(), 3);
        for (track, path) in tracks.iter().zip(&paths) {
            assert_eq!(path.points.len(), 51);
            assert_growing(&path.points);
            match (track.class, path.stationary) {
                (Class::Car, false) => {
                    assert_eq!(track.motion.model(), MotionModel::Ctrv);
                    // 5 s more on the 40 m circle: the turn continues (yaw grows by ≈ 1 rad).
                    let end = path.points[50];
                    let expected_yaw = rate * (2.9 + 5.0);
                    assert!(wrap_angle(end.yaw - expected_yaw).abs() < 0.3, "{end:?}");
                    let (ex, ey) = (40.0 * (rate * 7.9).sin(), 40.0 * (1.0 - (rate * 7.9).cos()));
                    assert!(
                        (end.x - ex).hypot(end.y - ey) < 4.0,
                        "{end:?} vs ({ex}, {ey})"
                    );
                }
                (Class::Car, true) => {
                    assert!(path.points.iter().all(|p| p.x == track.x && p.y == track.y));
                }
                (Class::Pedestrian, false) => {
                    let end = path.points[50];
                    assert!((end.x - (10.0 - 1.4 * 7.9)).abs() < 1.0, "{end:?}");
                }
                other => panic!("unexpected track {other:?}: {track:?}"),
            }
        }
    }
}
