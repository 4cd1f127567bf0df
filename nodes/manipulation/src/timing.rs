//! Time parameterisation of a joint path under per-joint velocity, acceleration and (where
//! given) jerk limits.
//!
//! Each straight segment between waypoints is timed on its own, rest to rest: the joints
//! move together along the segment, `q(t) = q_a + s(t) (q_b - q_a)`, and the scalar `s(t)` is
//! the time-optimal trapezoid (no jerk limit) or double-S profile (Biagiotti & Melchiorri,
//! "Trajectory Planning for Automatic Machines and Robots", §3.4) under the tightest of the
//! joints' limits scaled by that segment's joint deltas. Why rest to rest: the timed motion
//! then follows exactly the straight segments the planner collision-checked (blending would
//! cut corners nobody checked), and no limit can be exceeded anywhere, which is the failure
//! MoveIt users report most of TOTG (moveit2#2600, #3778). The price is a stop at every
//! waypoint; shortcut smoothing leaves few of them.
//!
//! Acceleration limits: URDF has none. They come from the non-standard `acceleration`
//! attribute of `<limit>` when a URDF has it (embody_arm does), from overrides, or default
//! to [`DEFAULT_ACCELERATION_REVOLUTE`] / [`DEFAULT_ACCELERATION_PRISMATIC`], conservative
//! values for 5–10 kg payload arms. A joint without a velocity limit is an error, not a
//! guess (as MoveIt does since PR #1794).

use crate::kinematics::{Chain, Motion};
use crate::urdf::Urdf;

/// Acceleration used for a revolute joint with no given limit, rad/s².
pub const DEFAULT_ACCELERATION_REVOLUTE: f64 = 3.0;
/// Acceleration used for a prismatic joint with no given limit, m/s².
pub const DEFAULT_ACCELERATION_PRISMATIC: f64 = 1.0;

/// Why a path cannot be timed.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum TimingError {
    /// A joint has no usable velocity limit.
    #[error("joint '{0}' has no velocity limit (give one in the URDF or as an override)")]
    MissingVelocityLimit(String),
    /// A limit is zero, negative or not finite.
    #[error("joint '{joint}': invalid {what} limit {value}")]
    InvalidLimit {
        /// The joint.
        joint: String,
        /// `velocity`, `acceleration` or `jerk`.
        what: &'static str,
        /// The value.
        value: f64,
    },
    /// No joint of the chain has this name.
    #[error("no joint '{0}' in the chain")]
    UnknownJoint(String),
    /// A waypoint has the wrong length or is not finite.
    #[error("waypoint {index}: {why}")]
    BadWaypoint {
        /// Its index.
        index: usize,
        /// What is wrong.
        why: String,
    },
    /// The path is empty.
    #[error("the path has no waypoints")]
    EmptyPath,
}

/// Per-joint limits, in chain order.
#[derive(Debug, Clone, PartialEq)]
pub struct KinematicLimits {
    /// Joint names.
    pub names: Vec<String>,
    /// Velocity limits, rad/s or m/s.
    pub velocity: Vec<f64>,
    /// Acceleration limits, rad/s² or m/s².
    pub acceleration: Vec<f64>,
    /// Jerk limits where given, rad/s³ or m/s³.
    pub jerk: Vec<Option<f64>>,
}

impl KinematicLimits {
    /// Limits of the chain's joints: velocity from the URDF (required), acceleration and
    /// jerk from the URDF's `<limit acceleration= jerk=>` if present, else the defaults.
    pub fn from_urdf(urdf: &Urdf, chain: &Chain) -> Result<Self, TimingError> {
        let mut out = Self {
            names: Vec::new(),
            velocity: Vec::new(),
            acceleration: Vec::new(),
            jerk: Vec::new(),
        };
        for j in chain.joints() {
            let lim = urdf.joint(&j.name).and_then(|u| u.limits);
            let v = lim.map_or(0.0, |l| l.velocity);
            if !(v.is_finite() && v > 0.0) {
                return Err(TimingError::MissingVelocityLimit(j.name.clone()));
            }
            let default_acc = match j.motion {
                Motion::Revolute => DEFAULT_ACCELERATION_REVOLUTE,
                Motion::Prismatic => DEFAULT_ACCELERATION_PRISMATIC,
            };
            out.names.push(j.name.clone());
            out.velocity.push(v);
            out.acceleration
                .push(lim.and_then(|l| l.acceleration).unwrap_or(default_acc));
            out.jerk.push(lim.and_then(|l| l.jerk));
        }
        out.validate()?;
        Ok(out)
    }

    /// Uniform limits for `n` joints named `j0`, `j1`, ... (tests and tools).
    pub fn uniform(n: usize, velocity: f64, acceleration: f64, jerk: Option<f64>) -> Self {
        Self {
            names: (0..n).map(|i| format!("j{i}")).collect(),
            velocity: vec![velocity; n],
            acceleration: vec![acceleration; n],
            jerk: vec![jerk; n],
        }
    }

    fn index(&self, joint: &str) -> Result<usize, TimingError> {
        self.names
            .iter()
            .position(|n| n == joint)
            .ok_or_else(|| TimingError::UnknownJoint(joint.to_string()))
    }

    /// Overrides one joint's velocity limit.
    pub fn set_velocity(&mut self, joint: &str, v: f64) -> Result<(), TimingError> {
        let i = self.index(joint)?;
        self.velocity[i] = v;
        self.validate()
    }

    /// Overrides one joint's acceleration limit.
    pub fn set_acceleration(&mut self, joint: &str, a: f64) -> Result<(), TimingError> {
        let i = self.index(joint)?;
        self.acceleration[i] = a;
        self.validate()
    }

    /// Overrides (or removes, with `None`) one joint's jerk limit.
    pub fn set_jerk(&mut self, joint: &str, j: Option<f64>) -> Result<(), TimingError> {
        let i = self.index(joint)?;
        self.jerk[i] = j;
        self.validate()
    }

    /// The limits scaled down (MoveIt's velocity and acceleration scaling factors, in (0, 1]).
    pub fn scaled(&self, velocity_factor: f64, acceleration_factor: f64) -> Self {
        let vf = velocity_factor.clamp(1e-6, 1.0);
        let af = acceleration_factor.clamp(1e-6, 1.0);
        Self {
            names: self.names.clone(),
            velocity: self.velocity.iter().map(|v| v * vf).collect(),
            acceleration: self.acceleration.iter().map(|a| a * af).collect(),
            // Jerk scales with acceleration over time, so with af²/vf; af is simpler and
            // still safe (never above the original).
            jerk: self.jerk.iter().map(|j| j.map(|j| j * af)).collect(),
        }
    }

    fn validate(&self) -> Result<(), TimingError> {
        let bad = |v: f64| !(v.is_finite() && v > 0.0);
        for (i, name) in self.names.iter().enumerate() {
            let checks = [
                ("velocity", Some(self.velocity[i])),
                ("acceleration", Some(self.acceleration[i])),
                ("jerk", self.jerk[i]),
            ];
            for (what, v) in checks {
                if let Some(v) = v.filter(|&v| bad(v)) {
                    return Err(TimingError::InvalidLimit {
                        joint: name.clone(),
                        what,
                        value: v,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Position, velocity and acceleration of every joint at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryPoint {
    /// Seconds from the start.
    pub time: f64,
    /// Joint positions.
    pub positions: Vec<f64>,
    /// Joint velocities.
    pub velocities: Vec<f64>,
    /// Joint accelerations.
    pub accelerations: Vec<f64>,
}

/// One stretch of constant jerk of the scalar profile.
#[derive(Debug, Clone, Copy)]
struct Phase {
    t0: f64,
    s0: f64,
    v0: f64,
    a0: f64,
    jerk: f64,
}

/// A rest-to-rest profile of `s` from 0 to 1.
#[derive(Debug, Clone)]
struct Profile {
    phases: Vec<Phase>,
    duration: f64,
}

impl Profile {
    /// Time-optimal rest-to-rest motion over a unit distance with speed `v`, acceleration
    /// `a` and jerk `j` (infinite: trapezoid).
    fn new(v: f64, a: f64, j: f64) -> Self {
        // (duration, acceleration at the start of the phase or None to carry it, jerk)
        let mut spec: Vec<(f64, Option<f64>, f64)> = Vec::new();
        if !j.is_finite() {
            if v * v / a >= 1.0 {
                let ta = (1.0 / a).sqrt();
                spec.push((ta, Some(a), 0.0));
                spec.push((ta, Some(-a), 0.0));
            } else {
                let ta = v / a;
                spec.push((ta, Some(a), 0.0));
                spec.push((1.0 / v - ta, Some(0.0), 0.0));
                spec.push((ta, Some(-a), 0.0));
            }
        } else {
            let (mut tj, mut ta) = if v * j >= a * a {
                (a / j, a / j + v / a)
            } else {
                ((v / j).sqrt(), 2.0 * (v / j).sqrt())
            };
            let mut tv = 1.0 / v - ta;
            if tv <= 0.0 {
                tv = 0.0;
                tj = a / j;
                ta = (a * a / j + (a.powi(4) / (j * j) + 4.0 * a).sqrt()) / (2.0 * a);
                if ta < 2.0 * tj {
                    tj = (1.0 / (2.0 * j)).cbrt();
                    ta = 2.0 * tj;
                }
            }
            let flat = (ta - 2.0 * tj).max(0.0);
            spec.push((tj, Some(0.0), j));
            spec.push((flat, None, 0.0));
            spec.push((tj, None, -j));
            spec.push((tv, Some(0.0), 0.0));
            spec.push((tj, Some(0.0), -j));
            spec.push((flat, None, 0.0));
            spec.push((tj, None, j));
        }
        let mut phases = Vec::with_capacity(spec.len());
        let (mut t, mut s, mut vel, mut acc) = (0.0, 0.0, 0.0, 0.0);
        for (dur, a_start, jerk) in spec {
            if dur <= 0.0 {
                continue;
            }
            if let Some(a0) = a_start {
                acc = a0;
            }
            phases.push(Phase {
                t0: t,
                s0: s,
                v0: vel,
                a0: acc,
                jerk,
            });
            let (s1, v1, a1) = integrate(s, vel, acc, jerk, dur);
            (s, vel, acc) = (s1, v1, a1);
            t += dur;
        }
        Profile {
            phases,
            duration: t,
        }
    }

    /// (s, ṡ, s̈) at time t, clamped to the ends.
    fn at(&self, t: f64) -> (f64, f64, f64) {
        if t <= 0.0 {
            return (0.0, 0.0, 0.0);
        }
        if t >= self.duration {
            return (1.0, 0.0, 0.0);
        }
        let k = self.phases.partition_point(|p| p.t0 <= t).saturating_sub(1);
        let p = &self.phases[k];
        integrate(p.s0, p.v0, p.a0, p.jerk, t - p.t0)
    }
}

fn integrate(s: f64, v: f64, a: f64, j: f64, dt: f64) -> (f64, f64, f64) {
    (
        s + v * dt + a * dt * dt / 2.0 + j * dt * dt * dt / 6.0,
        v + a * dt + j * dt * dt / 2.0,
        a + j * dt,
    )
}

#[derive(Debug, Clone)]
struct Segment {
    from: Vec<f64>,
    delta: Vec<f64>,
    t0: f64,
    profile: Profile,
}

/// A timed joint trajectory through a list of waypoints, stopping at each.
#[derive(Debug, Clone)]
pub struct Trajectory {
    dof: usize,
    waypoints: Vec<Vec<f64>>,
    waypoint_times: Vec<f64>,
    segments: Vec<Segment>,
    duration: f64,
}

impl Trajectory {
    /// Total duration, seconds.
    pub fn duration(&self) -> f64 {
        self.duration
    }

    /// Number of joints.
    pub fn dof(&self) -> usize {
        self.dof
    }

    /// The waypoints (duplicates removed).
    pub fn waypoints(&self) -> &[Vec<f64>] {
        &self.waypoints
    }

    /// When each waypoint is reached.
    pub fn waypoint_times(&self) -> &[f64] {
        &self.waypoint_times
    }

    /// The state at time `t` (clamped to [0, duration]).
    pub fn sample(&self, t: f64) -> TrajectoryPoint {
        let t = t.clamp(0.0, self.duration);
        if self.segments.is_empty() {
            return TrajectoryPoint {
                time: t,
                positions: self.waypoints[0].clone(),
                velocities: vec![0.0; self.dof],
                accelerations: vec![0.0; self.dof],
            };
        }
        let k = self
            .segments
            .partition_point(|s| s.t0 <= t)
            .saturating_sub(1);
        let seg = &self.segments[k];
        let (s, sd, sdd) = seg.profile.at(t - seg.t0);
        TrajectoryPoint {
            time: t,
            positions: seg
                .from
                .iter()
                .zip(&seg.delta)
                .map(|(f, d)| f + d * s)
                .collect(),
            velocities: seg.delta.iter().map(|d| d * sd).collect(),
            accelerations: seg.delta.iter().map(|d| d * sdd).collect(),
        }
    }

    /// Samples every `dt` seconds, plus the final instant.
    pub fn sample_every(&self, dt: f64) -> Vec<TrajectoryPoint> {
        let dt = if dt > 0.0 {
            dt
        } else {
            self.duration.max(1e-3)
        };
        let n = (self.duration / dt).floor() as usize;
        let mut out: Vec<TrajectoryPoint> = (0..=n).map(|i| self.sample(i as f64 * dt)).collect();
        if out.last().is_none_or(|p| p.time < self.duration) {
            out.push(self.sample(self.duration));
        }
        out
    }

    /// The final positions.
    pub fn end(&self) -> &[f64] {
        &self.waypoints[self.waypoints.len() - 1]
    }
}

/// Times `path` under `limits`: rest to rest along each straight segment, every joint
/// within its velocity, acceleration and (where given) jerk limit at every instant.
pub fn time_parameterize(
    path: &[Vec<f64>],
    limits: &KinematicLimits,
) -> Result<Trajectory, TimingError> {
    limits.validate()?;
    let dof = limits.names.len();
    if path.is_empty() {
        return Err(TimingError::EmptyPath);
    }
    for (index, w) in path.iter().enumerate() {
        if w.len() != dof {
            return Err(TimingError::BadWaypoint {
                index,
                why: format!("{} values for {dof} joints", w.len()),
            });
        }
        if w.iter().any(|v| !v.is_finite()) {
            return Err(TimingError::BadWaypoint {
                index,
                why: "not finite".into(),
            });
        }
    }
    let mut waypoints = vec![path[0].clone()];
    let mut waypoint_times = vec![0.0];
    let mut segments = Vec::new();
    let mut t = 0.0;
    for w in &path[1..] {
        let from = &waypoints[waypoints.len() - 1];
        let delta: Vec<f64> = w.iter().zip(from).map(|(b, a)| b - a).collect();
        if delta.iter().all(|d| d.abs() < 1e-12) {
            continue;
        }
        let (mut v, mut a, mut j) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
        for (i, d) in delta.iter().enumerate() {
            let d = d.abs();
            if d < 1e-15 {
                continue;
            }
            v = v.min(limits.velocity[i] / d);
            a = a.min(limits.acceleration[i] / d);
            if let Some(jl) = limits.jerk[i] {
                j = j.min(jl / d);
            }
        }
        let profile = Profile::new(v, a, j);
        let dur = profile.duration;
        segments.push(Segment {
            from: from.clone(),
            delta,
            t0: t,
            profile,
        });
        t += dur;
        waypoints.push(w.clone());
        waypoint_times.push(t);
    }
    Ok(Trajectory {
        dof,
        waypoints,
        waypoint_times,
        segments,
        duration: t,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trapezoid_and_triangle_durations() {
        // 1 rad at 1 rad/s and 1 rad/s²: 1 s up, 0 s cruise... the triangle: 2 s total.
        let p = Profile::new(1.0, 1.0, f64::INFINITY);
        assert!((p.duration - 2.0).abs() < 1e-12);
        // 1 rad at 0.5 rad/s, 1 rad/s²: 0.5 s up, 1.5 s cruise, 0.5 s down.
        let p = Profile::new(0.5, 1.0, f64::INFINITY);
        assert!((p.duration - 2.5).abs() < 1e-12);
        assert!((p.at(p.duration * 0.999).0 - 1.0).abs() < 1e-3);
    }

    #[test]
    fn double_s_reaches_the_end_at_rest() {
        for (v, a, j) in [
            (0.5, 1.0, 10.0),
            (5.0, 1.0, 2.0),
            (0.1, 10.0, 1.0),
            (2.0, 2.0, 4.0),
        ] {
            let p = Profile::new(v, a, j);
            let last = p.phases[p.phases.len() - 1];
            let (s, sd, sdd) =
                integrate(last.s0, last.v0, last.a0, last.jerk, p.duration - last.t0);
            assert!((s - 1.0).abs() < 1e-9, "{v} {a} {j}: s {s}");
            assert!(
                sd.abs() < 1e-9 && sdd.abs() < 1e-9,
                "{v} {a} {j}: {sd} {sdd}"
            );
        }
    }
}
