//! Map-based prediction of traffic: every vehicle moving along a lane gets one more predicted
//! future, in which it ends up centred in a lane — its own, or the neighbour it is drifting
//! into — at the acceleration it has shown over the last cycles.
//!
//! Perception predicts without the map: a constant-turn-rate model extrapolates the yaw rate of
//! a lane change for the whole horizon, so a motorcycle cutting in ahead is predicted to carry
//! on across the ego lane and off the road, and a velocity filter lags a braking vehicle by
//! about a second of its deceleration. Drivers do neither: a lane change ends in the next lane,
//! and a vehicle that brakes keeps braking. The planner has the lane map, so the hypothesis is
//! added here, next to perception's own paths (the collision check takes every path into
//! account), in the manner of Autoware's map-based prediction.

use std::collections::HashMap;

use crate::route::Lanes;
use crate::types::{Object, PathSample, PredictedPath};

/// Tuning of the lane hypothesis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LanePredictionParams {
    /// Objects slower than this get no lane hypothesis (m/s): people, parked cars.
    pub min_speed: f64,
    /// Largest angle between the motion and the lane direction (rad): crossing traffic and
    /// pedestrians are not lane followers.
    pub max_heading_error: f64,
    /// Lateral speed from which an object is taken to change lanes (m/s): above the jitter of
    /// tracked lateral velocities (up to about 0.5 m/s for a car keeping its lane).
    pub lane_change_speed: f64,
    /// How far off its lane centre, towards the neighbour, it must already be (m).
    pub lane_change_offset: f64,
    /// Shortest and longest time to settle on the target lane's centre (s).
    pub settle_time: (f64, f64),
    /// Time window of the acceleration estimate (s).
    pub accel_window: f64,
    /// Accelerations smaller than this in magnitude are taken as zero (m/s²): filter noise.
    pub accel_deadband: f64,
    /// The estimate is clamped to this range (m/s²).
    pub accel_range: (f64, f64),
    /// Prediction horizon (s) and step (s).
    pub horizon: f64,
    /// Step between predicted samples (s).
    pub step: f64,
    /// Confidence given to the hypothesis.
    pub confidence: f64,
}

impl Default for LanePredictionParams {
    fn default() -> Self {
        Self {
            min_speed: 3.0,
            max_heading_error: std::f64::consts::FRAC_PI_4,
            lane_change_speed: 0.6,
            lane_change_offset: 0.3,
            settle_time: (1.0, 4.0),
            accel_window: 0.5,
            accel_deadband: 0.5,
            accel_range: (-9.0, 2.5),
            horizon: 8.0,
            step: 0.1,
            confidence: 0.5,
        }
    }
}

/// Speed histories of the tracks, for their accelerations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccelEstimator {
    history: HashMap<u64, Vec<(f64, f64)>>,
}

impl AccelEstimator {
    /// Records every object's speed at `time` and forgets tracks no longer reported.
    pub fn observe(&mut self, time: f64, objects: &[Object], window: f64) {
        self.history
            .retain(|id, _| objects.iter().any(|o| o.id == *id));
        for o in objects {
            let h = self.history.entry(o.id).or_default();
            // Time going backwards (a replayed bag restarting) starts the history afresh.
            if h.last().is_some_and(|&(t, _)| t >= time) {
                h.clear();
            }
            h.push((time, o.speed()));
            let keep_from = time - window - 1e-9;
            h.retain(|&(t, _)| t >= keep_from);
        }
    }

    /// Least-squares slope of object `id`'s speed over the window (m/s²); `None` until three
    /// samples spanning at least 0.2 s are there.
    pub fn accel(&self, id: u64) -> Option<f64> {
        let h = self.history.get(&id)?;
        let (first, last) = (h.first()?, h.last()?);
        if h.len() < 3 || last.0 - first.0 < 0.2 {
            return None;
        }
        let n = h.len() as f64;
        let mt = h.iter().map(|p| p.0).sum::<f64>() / n;
        let mv = h.iter().map(|p| p.1).sum::<f64>() / n;
        let (mut stv, mut stt) = (0.0, 0.0);
        for &(t, v) in h {
            stv += (t - mt) * (v - mv);
            stt += (t - mt) * (t - mt);
        }
        (stt > 0.0).then(|| stv / stt)
    }
}

/// Lateral offset and its rate at time `t` of a cubic from `d0` with rate `v0` to `d1` at rest
/// at `tf`.
fn settle(d0: f64, v0: f64, d1: f64, tf: f64, t: f64) -> (f64, f64) {
    if t >= tf {
        return (d1, 0.0);
    }
    let u = t / tf;
    let (u2, u3) = (u * u, u * u * u);
    let d = (2.0 * u3 - 3.0 * u2 + 1.0) * d0
        + (u3 - 2.0 * u2 + u) * tf * v0
        + (3.0 * u2 - 2.0 * u3) * d1;
    let rate = (6.0 * u2 - 6.0 * u) * (d0 - d1) / tf + (3.0 * u2 - 4.0 * u + 1.0) * v0;
    (d, rate)
}

/// The lane hypothesis of `object`, if it drives along a lane.
pub fn lane_path(
    lanes: &Lanes,
    object: &Object,
    accel: Option<f64>,
    p: &LanePredictionParams,
) -> Option<PredictedPath> {
    let speed = object.speed();
    if speed < p.min_speed {
        return None;
    }
    let heading = object.vy.atan2(object.vx);
    let (lane, at) = lanes.locate(object.pose.x, object.pose.y, heading)?;
    let line = &lanes.lanes[lane].line;
    let h = line.heading(at.s);
    let rel = crate::frenet::wrap_angle(heading - h);
    if rel.abs() > p.max_heading_error {
        return None;
    }
    let (v_s, v_d) = (speed * rel.cos(), speed * rel.sin());
    // Drifting away from its lane centre towards a neighbour: that neighbour is the target.
    // Drifting back towards the centre, or not drifting: its own lane.
    let leaving = v_d.abs() >= p.lane_change_speed && at.d * v_d.signum() >= p.lane_change_offset;
    let target_d = if leaving {
        let neighbour = if v_d > 0.0 {
            lanes.lanes[lane].left
        } else {
            lanes.lanes[lane].right
        };
        // Leaving the road or turning off: no lane to predict it into.
        lanes.offset(lane, neighbour?, at.s)
    } else {
        0.0
    };
    let gap = target_d - at.d;
    let settle_time = if v_d.abs() > 1e-3 && gap * v_d > 0.0 {
        2.0 * gap.abs() / v_d.abs()
    } else {
        p.settle_time.0
    }
    .clamp(p.settle_time.0, p.settle_time.1);
    let a = accel
        .filter(|a| a.abs() >= p.accel_deadband)
        .unwrap_or(0.0)
        .clamp(p.accel_range.0, p.accel_range.1);
    let steps = (p.horizon / p.step).round() as usize;
    let mut samples = Vec::with_capacity(steps + 1);
    for k in 0..=steps {
        let t = k as f64 * p.step;
        // Braking ends at rest; it does not reverse.
        let t_move = if a < 0.0 { t.min(v_s / -a) } else { t };
        let s = at.s + v_s * t_move + 0.5 * a * t_move * t_move;
        let (d, d_rate) = settle(at.d, v_d, target_d, settle_time, t);
        let (x, y, lane_heading) = line.point(s, d);
        // Heading follows the lateral motion, as the box does while it changes lanes.
        let v_now = (v_s + a * t_move).max(0.1);
        samples.push(PathSample {
            t,
            x,
            y,
            yaw: lane_heading + (d_rate / v_now).atan(),
        });
    }
    Some(PredictedPath {
        samples,
        position_std: 0.2,
        confidence: p.confidence,
    })
}

/// `objects` with the lane hypothesis added to every lane follower; objects without paths
/// get their constant-velocity path first, so the hypothesis adds to it and does not replace it.
pub fn with_lane_paths(
    lanes: &Lanes,
    objects: &[Object],
    accel: &AccelEstimator,
    p: &LanePredictionParams,
) -> Vec<Object> {
    objects
        .iter()
        .map(|o| {
            let mut o = o.clone();
            if let Some(mut path) = lane_path(lanes, &o, accel.accel(o.id), p) {
                if o.paths.iter().all(|p| p.samples.is_empty()) {
                    o.paths = vec![crate::collision::constant_velocity_path(&o)];
                }
                // As certain as perception's most likely path: the hypothesis is about where
                // the object goes, not about how well it is seen.
                if let Some(likely) = o
                    .paths
                    .iter()
                    .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
                {
                    path.position_std = likely.position_std;
                }
                o.paths.push(path);
            }
            o
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Lane, LaneMap, ObjectClass, Pose2};

    fn two_lanes() -> Lanes {
        let straight = |y: f64| vec![(0.0, y), (500.0, y)];
        Lanes::new(&LaneMap {
            lanes: vec![
                Lane {
                    id: 1,
                    centre: straight(0.0),
                    width: 3.5,
                    speed_limit: None,
                    left: Some(2),
                    right: None,
                },
                Lane {
                    id: 2,
                    centre: straight(3.5),
                    width: 3.5,
                    speed_limit: None,
                    left: None,
                    right: Some(1),
                },
            ],
        })
        .expect("valid map")
    }

    fn moto(y: f64, vx: f64, vy: f64) -> Object {
        Object {
            id: 7,
            class: ObjectClass::Motorcycle,
            pose: Pose2 {
                x: 100.0,
                y,
                yaw: vy.atan2(vx),
            },
            length: 2.1,
            width: 0.8,
            vx,
            vy,
            paths: vec![],
        }
    }

    fn at(path: &PredictedPath, t: f64) -> PathSample {
        *path
            .samples
            .iter()
            .find(|s| (s.t - t).abs() < 1e-9)
            .expect("sample at t")
    }

    #[test]
    fn a_cut_in_ends_centred_in_the_next_lane() {
        let lanes = two_lanes();
        // In the left lane, 0.4 m right of its centre, drifting right at 1 m/s.
        let o = moto(3.1, 10.0, -1.0);
        let p = LanePredictionParams::default();
        let path = lane_path(&lanes, &o, None, &p).expect("a lane follower");
        // 3.1 m to go at 1 m/s: settles in 2 · 3.1 / 1 = 6.2 s, clamped to 4 s.
        let start = at(&path, 0.0);
        assert!((start.x - 100.0).abs() < 1e-9 && (start.y - 3.1).abs() < 1e-9);
        let settled = at(&path, 4.0);
        assert!(settled.y.abs() < 1e-9, "y at 4 s: {}", settled.y);
        assert!((at(&path, 6.0).y).abs() < 1e-9);
        // Monotone, no overshoot past the target.
        for w in path.samples.windows(2) {
            assert!(w[1].y <= w[0].y + 1e-9 && w[1].y >= -1e-9);
        }
        // Speed along the lane kept: 10 m/s · 4 s.
        assert!((settled.x - 140.0).abs() < 1e-6, "x at 4 s: {}", settled.x);
        // Starts with the measured lateral rate.
        let early = at(&path, 0.1);
        assert!(
            (early.y - 3.1 + 0.1).abs() < 0.01,
            "y at 0.1 s: {}",
            early.y
        );
        assert!(early.yaw < -0.05);
        // Lateral jitter of a car keeping its lane is not a lane change: a car on its lane
        // centre drifting at 0.5 m/s, or one 0.2 m off it at 1 m/s, settles in its own lane.
        for (y, vy) in [(3.5, -0.5), (3.3, -1.0)] {
            let keeping = lane_path(&lanes, &moto(y, 10.0, vy), None, &p).expect("a follower");
            assert!((at(&keeping, 4.0).y - 3.5).abs() < 1e-9, "from y {y}");
        }
    }

    #[test]
    fn braking_is_carried_on_until_rest() {
        let lanes = two_lanes();
        let o = moto(0.0, 8.0, 0.0);
        let p = LanePredictionParams::default();
        let path = lane_path(&lanes, &o, Some(-4.0), &p).expect("a lane follower");
        // Stops after 2 s and 8² / 8 = 8 m.
        assert!((at(&path, 1.0).x - 106.0).abs() < 1e-6);
        assert!((at(&path, 2.0).x - 108.0).abs() < 1e-6);
        assert!((at(&path, 7.0).x - 108.0).abs() < 1e-6);
        // A small estimate is noise.
        let cruising = lane_path(&lanes, &o, Some(-0.3), &p).expect("a lane follower");
        assert!((at(&cruising, 2.0).x - 116.0).abs() < 1e-6);
    }

    #[test]
    fn people_crossing_and_cars_leaving_the_road_get_no_lane_path() {
        let lanes = two_lanes();
        let p = LanePredictionParams::default();
        // Walking speed.
        assert!(lane_path(&lanes, &moto(0.0, 1.5, 0.0), None, &p).is_none());
        // Crossing the road.
        assert!(lane_path(&lanes, &moto(0.0, 0.5, 4.0), None, &p).is_none());
        // Drifting right out of the rightmost lane: turning off, no lane there.
        assert!(lane_path(&lanes, &moto(-0.4, 8.0, -1.0), None, &p).is_none());
        // Drifting back to its own centre from the right: settles there.
        let back = lane_path(&lanes, &moto(-0.4, 8.0, 0.5), None, &p).expect("lane follower");
        assert!(at(&back, 2.0).y.abs() < 1e-9);
    }

    #[test]
    fn acceleration_is_the_slope_of_the_speed_over_the_window() {
        let mut est = AccelEstimator::default();
        let mut o = moto(0.0, 10.0, 0.0);
        for k in 0..10 {
            let t = k as f64 * 0.1;
            o.vx = 10.0 - 4.0 * t;
            est.observe(t, std::slice::from_ref(&o), 0.5);
        }
        let a = est.accel(7).expect("enough history");
        assert!((a + 4.0).abs() < 1e-9, "accel {a}");
        // Too little history: no estimate.
        let mut fresh = AccelEstimator::default();
        fresh.observe(0.0, std::slice::from_ref(&o), 0.5);
        fresh.observe(0.1, std::slice::from_ref(&o), 0.5);
        assert_eq!(fresh.accel(7), None);
        // A track that is no longer reported is forgotten.
        est.observe(1.0, &[], 0.5);
        assert_eq!(est.accel(7), None);
    }

    #[test]
    fn objects_without_paths_keep_their_constant_velocity_path() {
        let lanes = two_lanes();
        let objects = vec![moto(3.1, 10.0, -1.0), moto(0.0, 1.0, 0.0)];
        let out = with_lane_paths(
            &lanes,
            &objects,
            &AccelEstimator::default(),
            &LanePredictionParams::default(),
        );
        assert_eq!(out[0].paths.len(), 2);
        let cv = &out[0].paths[0];
        assert!((cv.samples[1].x - 110.0).abs() < 1e-9 && (cv.samples[1].y - 2.1).abs() < 1e-9);
        // The slow one is left as it came: the collision check extrapolates it.
        assert!(out[1].paths.is_empty());
    }
}
