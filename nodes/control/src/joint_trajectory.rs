//! Joint trajectories as `trajectory_msgs/JointTrajectory` carries them: named joints and
//! timed points, sampled by interpolation (cubic Hermite where both ends give velocities,
//! linear otherwise), as ROS 2's joint_trajectory_controller does.

use thiserror::Error;

/// A trajectory that cannot be followed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TrajectoryError {
    /// The trajectory has no points.
    #[error("the trajectory has no points")]
    Empty,
    /// A point's positions (or velocities) do not match the joint names.
    #[error("point {point}: {what} has {got} values for {want} joints")]
    Length {
        /// Index of the point.
        point: usize,
        /// `positions` or `velocities`.
        what: &'static str,
        /// Values given.
        got: usize,
        /// Joints named.
        want: usize,
    },
    /// Times do not increase strictly, or a time is negative.
    #[error("point {point}: time_from_start {time} s does not increase (previous {previous} s)")]
    Time {
        /// Index of the point.
        point: usize,
        /// Its time.
        time: f64,
        /// The previous point's time (0 for the first).
        previous: f64,
    },
    /// A number is NaN or infinite.
    #[error("point {point}: not a finite number")]
    NotFinite {
        /// Index of the point.
        point: usize,
    },
    /// A joint name is not one of the arm's.
    #[error("unknown joint `{0}`")]
    UnknownJoint(String),
    /// A joint is named twice.
    #[error("joint `{0}` named twice")]
    DuplicateJoint(String),
}

/// One timed point.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryPoint {
    /// Joint positions (rad or m), in the order of the trajectory's joint names.
    pub positions: Vec<f64>,
    /// Joint velocities, or `None` (then the segments touching this point are linear).
    pub velocities: Option<Vec<f64>>,
    /// Time from the trajectory's start (s).
    pub time_from_start: f64,
}

/// Named joints and timed points.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JointTrajectory {
    /// Joint names; the points' values follow this order.
    pub joint_names: Vec<String>,
    /// Points with strictly increasing times.
    pub points: Vec<TrajectoryPoint>,
}

impl JointTrajectory {
    /// Checks lengths, times and numbers.
    pub fn validate(&self) -> Result<(), TrajectoryError> {
        if self.points.is_empty() {
            return Err(TrajectoryError::Empty);
        }
        let n = self.joint_names.len();
        for (i, name) in self.joint_names.iter().enumerate() {
            if self.joint_names[..i].contains(name) {
                return Err(TrajectoryError::DuplicateJoint(name.clone()));
            }
        }
        let mut previous = 0.0;
        for (i, p) in self.points.iter().enumerate() {
            if p.positions.len() != n {
                return Err(TrajectoryError::Length {
                    point: i,
                    what: "positions",
                    got: p.positions.len(),
                    want: n,
                });
            }
            if let Some(v) = &p.velocities
                && v.len() != n
            {
                return Err(TrajectoryError::Length {
                    point: i,
                    what: "velocities",
                    got: v.len(),
                    want: n,
                });
            }
            let finite = p.time_from_start.is_finite()
                && p.positions.iter().all(|x| x.is_finite())
                && p.velocities.iter().flatten().all(|x| x.is_finite());
            if !finite {
                return Err(TrajectoryError::NotFinite { point: i });
            }
            // The first point may be at 0 (it then replaces the start state).
            let bad = if i == 0 {
                p.time_from_start < 0.0
            } else {
                p.time_from_start <= previous
            };
            if bad {
                return Err(TrajectoryError::Time {
                    point: i,
                    time: p.time_from_start,
                    previous,
                });
            }
            previous = p.time_from_start;
        }
        Ok(())
    }

    /// Time of the last point (s).
    pub fn duration(&self) -> f64 {
        self.points.last().map_or(0.0, |p| p.time_from_start)
    }

    /// The points over all of `joints` (an arm's joint order), after validation: joints the
    /// trajectory does not name keep their `current` positions (and zero speed where the
    /// point has velocities), as joint_trajectory_controller does.
    pub fn reordered(
        &self,
        joints: &[&str],
        current: &[f64],
    ) -> Result<Vec<TrajectoryPoint>, TrajectoryError> {
        self.validate()?;
        let mut index = Vec::with_capacity(self.joint_names.len());
        for name in &self.joint_names {
            let i = joints
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| TrajectoryError::UnknownJoint(name.clone()))?;
            index.push(i);
        }
        Ok(self
            .points
            .iter()
            .map(|p| {
                let mut q = current.to_vec();
                let mut v = p.velocities.as_ref().map(|_| vec![0.0; current.len()]);
                for (k, &j) in index.iter().enumerate() {
                    q[j] = p.positions[k];
                    if let (Some(v), Some(pv)) = (v.as_mut(), p.velocities.as_ref()) {
                        v[j] = pv[k];
                    }
                }
                TrajectoryPoint {
                    positions: q,
                    velocities: v,
                    time_from_start: p.time_from_start,
                }
            })
            .collect())
    }
}

/// The speed that keeps a joint at `q` on a reference which is at `q_ref` moving at `qd_ref`
/// one period `dt` from now: the reference speed fed forward, plus what is left of the gap
/// closed no faster than the joint could stop in it (`amax`), so a lagging joint catches up
/// without overshooting and one on the reference stays exactly on it.
pub fn tracking_velocity(q: f64, q_ref: f64, qd_ref: f64, dt: f64, amax: f64) -> f64 {
    let r = q_ref - q - qd_ref * dt;
    let catch_up = (r.abs() / dt).min((2.0 * amax * r.abs()).sqrt());
    qd_ref + r.signum() * catch_up
}

/// A trajectory for one joint vector, anchored at the state the arm was in when it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Spline {
    /// Knot times (s from the start), the first at 0.
    times: Vec<f64>,
    /// Positions per knot, one vector per knot.
    positions: Vec<Vec<f64>>,
    /// Velocities per knot, where known.
    velocities: Vec<Option<Vec<f64>>>,
}

impl Spline {
    /// The trajectory `points` (already reordered to the arm's joints) following on from the
    /// state `q0`, `qd0` at time 0.
    pub fn new(q0: &[f64], qd0: &[f64], points: &[TrajectoryPoint]) -> Self {
        let mut times = vec![0.0];
        let mut positions = vec![q0.to_vec()];
        let mut velocities = vec![Some(qd0.to_vec())];
        for p in points {
            if p.time_from_start <= 0.0 {
                // A point at 0 replaces the start state, as in joint_trajectory_controller.
                positions[0] = p.positions.clone();
                velocities[0] = p.velocities.clone();
                continue;
            }
            times.push(p.time_from_start);
            positions.push(p.positions.clone());
            velocities.push(p.velocities.clone());
        }
        Self {
            times,
            positions,
            velocities,
        }
    }

    /// The end time (s).
    pub fn duration(&self) -> f64 {
        self.times.last().copied().unwrap_or(0.0)
    }

    /// Position and velocity at `t` (s), held at the ends.
    pub fn sample(&self, t: f64, q: &mut [f64], qd: &mut [f64]) {
        let last = self.times.len() - 1;
        if t >= self.times[last] || last == 0 {
            q.copy_from_slice(&self.positions[last]);
            qd.fill(0.0);
            return;
        }
        let t = t.max(0.0);
        // The segment [i, i + 1] holding t; few knots, so a linear scan.
        let i = self
            .times
            .windows(2)
            .position(|w| t < w[1])
            .unwrap_or(last - 1);
        let (t0, t1) = (self.times[i], self.times[i + 1]);
        let h = t1 - t0;
        let s = (t - t0) / h;
        let (p0, p1) = (&self.positions[i], &self.positions[i + 1]);
        match (&self.velocities[i], &self.velocities[i + 1]) {
            (Some(v0), Some(v1)) => {
                // Cubic Hermite basis and its derivative.
                let (s2, s3) = (s * s, s * s * s);
                let h00 = 2.0 * s3 - 3.0 * s2 + 1.0;
                let h10 = s3 - 2.0 * s2 + s;
                let h01 = -2.0 * s3 + 3.0 * s2;
                let h11 = s3 - s2;
                let d00 = (6.0 * s2 - 6.0 * s) / h;
                let d10 = 3.0 * s2 - 4.0 * s + 1.0;
                let d01 = (-6.0 * s2 + 6.0 * s) / h;
                let d11 = 3.0 * s2 - 2.0 * s;
                for j in 0..q.len() {
                    q[j] = h00 * p0[j] + h10 * h * v0[j] + h01 * p1[j] + h11 * h * v1[j];
                    qd[j] = d00 * p0[j] + d10 * v0[j] + d01 * p1[j] + d11 * v1[j];
                }
            }
            _ => {
                for j in 0..q.len() {
                    q[j] = p0[j] + (p1[j] - p0[j]) * s;
                    qd[j] = (p1[j] - p0[j]) / h;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t: f64, q: f64, v: Option<f64>) -> TrajectoryPoint {
        TrajectoryPoint {
            positions: vec![q],
            velocities: v.map(|v| vec![v]),
            time_from_start: t,
        }
    }

    #[test]
    fn cubic_segments_match_the_hermite_polynomial() {
        // From rest at 0 to rest at 1 over 2 s: q(t) = 3(t/2)² − 2(t/2)³, peak speed 0.75 at 1 s.
        let s = Spline::new(&[0.0], &[0.0], &[point(2.0, 1.0, Some(0.0))]);
        let (mut q, mut qd) = ([0.0], [0.0]);
        s.sample(1.0, &mut q, &mut qd);
        assert!((q[0] - 0.5).abs() < 1e-12 && (qd[0] - 0.75).abs() < 1e-12);
        s.sample(0.5, &mut q, &mut qd);
        assert!((q[0] - (3.0 * 0.0625 - 2.0 * 0.015625)).abs() < 1e-12);
        s.sample(5.0, &mut q, &mut qd);
        assert_eq!((q[0], qd[0]), (1.0, 0.0));
    }

    #[test]
    fn points_without_velocities_are_joined_linearly() {
        let s = Spline::new(
            &[0.0],
            &[0.0],
            &[point(1.0, 1.0, None), point(3.0, 0.0, None)],
        );
        let (mut q, mut qd) = ([0.0], [0.0]);
        s.sample(0.25, &mut q, &mut qd);
        assert!((q[0] - 0.25).abs() < 1e-12 && (qd[0] - 1.0).abs() < 1e-12);
        s.sample(2.0, &mut q, &mut qd);
        assert!((q[0] - 0.5).abs() < 1e-12 && (qd[0] + 0.5).abs() < 1e-12);
    }

    #[test]
    fn validation_names_the_point() {
        let mut t = JointTrajectory {
            joint_names: vec!["a".into()],
            points: vec![point(1.0, 0.0, None), point(1.0, 0.0, None)],
        };
        assert_eq!(
            t.validate(),
            Err(TrajectoryError::Time {
                point: 1,
                time: 1.0,
                previous: 1.0
            })
        );
        t.points[1].time_from_start = 2.0;
        t.points[1].velocities = Some(vec![0.0, 1.0]);
        assert!(matches!(
            t.validate(),
            Err(TrajectoryError::Length { point: 1, .. })
        ));
        t.points.clear();
        assert_eq!(t.validate(), Err(TrajectoryError::Empty));
    }
}
