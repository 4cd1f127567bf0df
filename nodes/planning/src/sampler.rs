//! Werling et al. (2010) sampling in the Frenet frame: quintic lateral moves to sampled end
//! offsets and quartic longitudinal moves to sampled end speeds, ranked by jerk, time, offset
//! and speed costs, then checked in cost order for limits and against every prediction.

use crate::collision::{Discs, Hit, Obstacles, Sample};
use crate::frenet::ReferenceLine;
use crate::polynomials::Polynomial;
use crate::types::{Trajectory, TrajectoryPoint};

/// The ego's state in the reference line's Frenet frame.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FrenetState {
    /// Arc length (m).
    pub s: f64,
    /// ds/dt (m/s).
    pub s_d: f64,
    /// d²s/dt² (m/s²).
    pub s_dd: f64,
    /// Lateral offset (m).
    pub d: f64,
    /// dd/dt (m/s).
    pub d_d: f64,
    /// d²d/dt² (m/s²).
    pub d_dd: f64,
}

/// Sampling grid, limits and cost weights.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplerParams {
    /// Time step of the output (s).
    pub dt: f64,
    /// Number of output samples.
    pub steps: usize,
    /// Manoeuvre durations sampled (s).
    pub durations: Vec<f64>,
    /// End speeds sampled around the reference (m/s added to it).
    pub speed_offsets: Vec<f64>,
    /// Lateral end offsets sampled around each target (m added to it).
    pub lateral_offsets: Vec<f64>,
    /// Weight of ∫jerk².
    pub k_jerk: f64,
    /// Weight of the duration.
    pub k_time: f64,
    /// Weight of the squared lateral end deviation from the target.
    pub k_lat: f64,
    /// Weight of the squared end-speed deviation from the reference.
    pub k_speed: f64,
    /// Strongest acceleration allowed (m/s²).
    pub max_accel: f64,
    /// Strongest deceleration allowed (m/s², positive).
    pub max_decel: f64,
    /// Largest lateral acceleration allowed (m/s²).
    pub max_lat_accel: f64,
    /// Largest path curvature allowed (1/m).
    pub max_curvature: f64,
    /// Extra clearance to objects (m).
    pub margin: f64,
    /// Most candidates checked against the predictions per cycle; bounds the cycle time when
    /// everything is blocked (then AES is in charge anyway).
    pub max_checks: usize,
}

impl Default for SamplerParams {
    fn default() -> Self {
        Self {
            dt: 0.1,
            steps: 50,
            durations: vec![2.0, 3.0, 4.0, 5.0],
            speed_offsets: vec![-4.0, -2.0, -1.0, 0.0, 1.0],
            lateral_offsets: vec![-0.5, 0.0, 0.5],
            k_jerk: 0.1,
            k_time: 0.2,
            k_lat: 4.0,
            k_speed: 1.0,
            max_accel: 3.0,
            max_decel: 4.0,
            max_lat_accel: 4.0,
            max_curvature: 0.3,
            margin: 0.3,
            max_checks: 40,
        }
    }
}

/// A lateral end offset to aim at and the extra cost of choosing it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LateralTarget {
    /// End offset (m).
    pub d: f64,
    /// Cost added to candidates ending here (lane preference).
    pub cost: f64,
}

/// The chosen motion.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Lateral polynomial d(t).
    pub lateral: Polynomial,
    /// Longitudinal polynomial s(t).
    pub longitudinal: Polynomial,
    /// Its cost.
    pub cost: f64,
    /// The lateral target it aims at.
    pub target: LateralTarget,
    /// The trajectory in the map frame.
    pub trajectory: Trajectory,
    /// First contact with a prediction when no candidate is free of them.
    pub hit: Option<Hit>,
}

/// Samples `(s, d)` motions into map-frame trajectory points and collision samples. The car
/// does not reverse: once `ds/dt` reaches zero it stays stopped, laterally too.
pub fn realise(
    line: &ReferenceLine,
    dt: f64,
    steps: usize,
    mut motion: impl FnMut(f64) -> ([f64; 3], [f64; 3]),
) -> (Vec<TrajectoryPoint>, Vec<Sample>) {
    let mut points = Vec::with_capacity(steps);
    let mut samples = Vec::with_capacity(steps);
    let mut stopped: Option<(f64, f64)> = None;
    for k in 0..steps {
        let t = k as f64 * dt;
        let ([mut s, mut s_d, mut s_dd], [mut d, mut d_d, _]) = motion(t);
        if let Some((s0, d0)) = stopped {
            (s, s_d, s_dd, d, d_d) = (s0, 0.0, 0.0, d0, 0.0);
        } else if s_d <= 0.0 && k > 0 {
            s_d = 0.0;
            s_dd = s_dd.min(0.0);
            stopped = Some((s, d));
        }
        let (x, y, h, kappa) = line.frame(s, d);
        let along = (s_d * (1.0 - kappa * d)).max(0.0);
        let yaw = h + d_d.atan2(along.max(1e-3));
        let v = along.hypot(d_d);
        points.push(TrajectoryPoint {
            t,
            x,
            y,
            yaw,
            v,
            a: s_dd,
            curvature: kappa,
        });
        samples.push(Sample {
            x,
            y,
            yaw,
            vx: v * yaw.cos(),
            vy: v * yaw.sin(),
        });
    }
    // Path curvature from the heading change per metre travelled.
    for k in 0..points.len().saturating_sub(1) {
        let ds = points[k].v * dt;
        if ds > 0.05 {
            points[k].curvature = crate::frenet::wrap_angle(points[k + 1].yaw - points[k].yaw) / ds;
        }
    }
    if points.len() >= 2 {
        let n = points.len();
        points[n - 1].curvature = points[n - 2].curvature;
    }
    (points, samples)
}

struct Candidate {
    lateral: Polynomial,
    longitudinal: Polynomial,
    cost: f64,
    target: LateralTarget,
}

/// What one sampling round plans against.
#[derive(Debug, Clone, Copy)]
pub struct Problem<'a> {
    /// The reference line (ego lane centre).
    pub line: &'a ReferenceLine,
    /// The ego's Frenet state.
    pub start: FrenetState,
    /// Lateral end offsets to aim at.
    pub targets: &'a [LateralTarget],
    /// Predictions on the time grid.
    pub obstacles: &'a Obstacles,
    /// The ego's footprint.
    pub ego: &'a Discs,
    /// Range the footprint centre's lateral offset must stay in (the road less half the car).
    pub centre_range: (f64, f64),
}

/// The lowest-cost feasible candidate; when none is free of collisions, the one whose first
/// contact is mildest (lowest impact speed, then latest). `speed_ref(T)` is the end speed
/// aimed at for duration `T`.
pub fn plan(problem: &Problem, speed_ref: impl Fn(f64) -> f64, p: &SamplerParams) -> Option<Plan> {
    let Problem {
        line,
        start,
        targets,
        obstacles,
        ego,
        centre_range,
    } = *problem;
    let start = &start;
    let mut candidates = Vec::new();
    for &target in targets {
        for &dl in &p.lateral_offsets {
            let d1 = target.d + dl;
            for &t in &p.durations {
                let Ok(lateral) =
                    Polynomial::quintic([start.d, start.d_d, start.d_dd], [d1, 0.0, 0.0], t)
                else {
                    continue;
                };
                let c_lat =
                    p.k_jerk * lateral.jerk_cost() + p.k_time * t + p.k_lat * dl * dl + target.cost;
                let v_ref = speed_ref(t).max(0.0);
                for &dv in &p.speed_offsets {
                    let v1 = (v_ref + dv).max(0.0);
                    if dv != 0.0 && v1 == 0.0 && v_ref == 0.0 {
                        continue;
                    }
                    let Ok(longitudinal) =
                        Polynomial::quartic([start.s, start.s_d, start.s_dd], v1, 0.0, t)
                    else {
                        continue;
                    };
                    let c_lon = p.k_jerk * longitudinal.jerk_cost()
                        + p.k_time * t
                        + p.k_speed * (v1 - v_ref).powi(2);
                    candidates.push(Candidate {
                        lateral,
                        longitudinal,
                        cost: c_lat + c_lon,
                        target,
                    });
                }
            }
        }
    }
    candidates.sort_by(|a, b| a.cost.total_cmp(&b.cost));
    let mut fallback: Option<(Candidate, Vec<TrajectoryPoint>, Hit)> = None;
    let mut relaxed: Option<(Candidate, Vec<TrajectoryPoint>, Vec<Sample>)> = None;
    let mut checks = 0;
    for c in candidates {
        if checks >= p.max_checks {
            break;
        }
        // The start may already be beyond a limit (the controller overshoots, AES braked).
        let bound = p.max_decel.max(p.max_accel).max(start.s_dd.abs()) + 0.5;
        if c.longitudinal.max_abs_accel() > bound {
            continue;
        }
        let (points, samples) = realise(line, p.dt, p.steps, |t| {
            let [s, s_d, s_dd, _] = c.longitudinal.eval(t);
            let [d, d_d, d_dd, _] = c.lateral.eval(t);
            ([s, s_d, s_dd], [d, d_d, d_dd])
        });
        // Every realised candidate counts towards the budget.
        checks += 1;
        // The car freezes where it stops: a lateral move must be (nearly) done by then, and
        // the footprint's centre stays within `centre_range` (the road less half the car).
        let stop = points
            .iter()
            .skip(1)
            .position(|q| q.v == 0.0)
            .map(|i| i + 1);
        // At the end of the move, not at t = ∞: a rounding-level end velocity times f64::MAX
        // made the end offset infinite, and so every candidate that stops "unfinished".
        let d_end = c.lateral.eval(c.lateral.duration())[0];
        let unfinished =
            stop.is_some_and(|k| (c.lateral.eval(k as f64 * p.dt)[0] - d_end).abs() > 0.3);
        // A start already beyond the range (after an evasion or an overshoot) must not rule
        // out every way back: the range then stretches to the start.
        let (lo, hi) = (
            centre_range.0.min(start.d - 0.05),
            centre_range.1.max(start.d + 0.05),
        );
        let off_road = (0..points.len()).any(|k| {
            let d = c.lateral.eval(stop.map_or(k, |s| k.min(s)) as f64 * p.dt)[0];
            d < lo || d > hi
        });
        if unfinished || off_road {
            continue;
        }
        let too_sharp = points.iter().any(|q| {
            // A start already beyond a limit (after an emergency stop) may only relax.
            q.a > p.max_accel.max(start.s_dd) + 1e-6
                || q.a < -p.max_decel.max(-start.s_dd) - 1e-6
                || q.curvature.abs() > p.max_curvature
                || q.v * q.v * q.curvature.abs() > p.max_lat_accel
        });
        if too_sharp {
            // Kept in case every candidate breaks a limit: then the cheapest one is still a
            // better answer than none.
            if relaxed.is_none() {
                relaxed = Some((c, points, samples));
            }
            continue;
        }
        match obstacles.first_hit(ego, &samples, p.margin) {
            None => {
                return Some(Plan {
                    lateral: c.lateral,
                    longitudinal: c.longitudinal,
                    cost: c.cost,
                    target: c.target,
                    trajectory: Trajectory { points },
                    hit: None,
                });
            }
            Some(hit) => {
                let better = fallback.as_ref().is_none_or(|(_, _, h)| {
                    (hit.impact_speed, -(hit.step as f64)) < (h.impact_speed, -(h.step as f64))
                });
                if better {
                    fallback = Some((c, points, hit));
                }
            }
        }
    }
    if fallback.is_none()
        && let Some((c, points, samples)) = relaxed
    {
        let hit = obstacles.first_hit(ego, &samples, p.margin);
        return Some(Plan {
            lateral: c.lateral,
            longitudinal: c.longitudinal,
            cost: c.cost,
            target: c.target,
            trajectory: Trajectory { points },
            hit,
        });
    }
    fallback.map(|(c, points, hit)| Plan {
        lateral: c.lateral,
        longitudinal: c.longitudinal,
        cost: c.cost,
        target: c.target,
        trajectory: Trajectory { points },
        hit: Some(hit),
    })
}

/// A straight stop along the reference line at `decel`, holding the current lateral offset:
/// the answer when no candidate exists at all.
pub fn stopping(
    line: &ReferenceLine,
    start: &FrenetState,
    decel: f64,
    p: &SamplerParams,
) -> Trajectory {
    let v0 = start.s_d.max(0.0);
    let decel = decel.max(0.1);
    let t_stop = v0 / decel;
    let (points, _) = realise(line, p.dt, p.steps, |t| {
        let tb = t.min(t_stop);
        let s = start.s + v0 * tb - 0.5 * decel * tb * tb;
        let (v, a) = if t < t_stop {
            (v0 - decel * t, -decel)
        } else {
            (0.0, 0.0)
        };
        ([s, v, a], [start.d, 0.0, 0.0])
    });
    Trajectory { points }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collision::CollisionParams;

    #[test]
    fn a_free_lane_change_takes_the_cheapest_duration() {
        let line = ReferenceLine::new(&[(0.0, 0.0), (500.0, 0.0)]).unwrap();
        let obstacles = Obstacles::new(&[], 0.1, 50, &CollisionParams::default());
        let ego = Discs::cover(4.5, 1.8);
        let start = FrenetState {
            s: 10.0,
            s_d: 20.0,
            ..FrenetState::default()
        };
        let targets = [LateralTarget { d: 3.5, cost: 0.0 }];
        let p = SamplerParams::default();
        let plan = plan(
            &Problem {
                line: &line,
                start,
                targets: &targets,
                obstacles: &obstacles,
                ego: &ego,
                centre_range: (-1.0, 5.0),
            },
            |_| 20.0,
            &p,
        )
        .unwrap();
        // 3.5 m at constant speed: ∫jerk² = 720·3.5²/T⁵ and k_time·T twice (lateral and
        // longitudinal). T = 5: 0.1·2.8224 + 0.4·5 = 2.2822; T = 4 costs 2.4613.
        assert_eq!(plan.lateral.duration(), 5.0);
        assert!((plan.cost - 2.282_24).abs() < 1e-4, "{}", plan.cost);
        assert!(plan.hit.is_none());
        let last = plan.trajectory.points.last().unwrap();
        // Point 49 is at 4.9 s: 10 + 98 m, d = 3.5·(1 − ~0.0006).
        assert!((last.x - 108.0).abs() < 1e-9);
        assert!((last.y - 3.5).abs() < 0.01);
        assert!((last.v - 20.0).abs() < 0.01);
        // With the target lane outside the allowed range, it stays in lane.
        let stay = plan_in(
            &line,
            &obstacles,
            &ego,
            start,
            &targets,
            (-1.0, 1.0),
            20.0,
            &p,
        );
        assert!(stay.is_none_or(|s| s.trajectory.points.iter().all(|q| q.y <= 1.0 + 1e-9)));
    }

    /// Plans with the end speed `v_ref` for every duration.
    #[allow(clippy::too_many_arguments)]
    fn plan_in(
        line: &ReferenceLine,
        obstacles: &Obstacles,
        ego: &Discs,
        start: FrenetState,
        targets: &[LateralTarget],
        centre_range: (f64, f64),
        v_ref: f64,
        p: &SamplerParams,
    ) -> Option<Plan> {
        plan(
            &Problem {
                line,
                start,
                targets,
                obstacles,
                ego,
                centre_range,
            },
            |_| v_ref,
            p,
        )
    }

    #[test]
    fn a_car_slightly_off_centre_can_plan_a_stop() {
        // 0.2 m left of the centre at 8 m/s, a parked car 15 m ahead: a quartic stop over T
        // covers 4·T m and peaks at 1.5·8/T m/s², so only the 3 s stop (12 m, 4 m/s²) is free,
        // and it must end its small lateral move before the car stands. (The move's end offset used to be taken at
        // t = f64::MAX, where a rounding-level end velocity made it infinite: every stop was
        // "unfinished" and the planner had only colliding plans left.)
        let line = ReferenceLine::new(&[(0.0, 0.0), (500.0, 0.0)]).unwrap();
        let parked = crate::types::Object {
            id: 1,
            pose: crate::types::Pose2 {
                x: 10.0 + 2.25 + 15.0 + 2.25,
                y: 0.0,
                yaw: 0.0,
            },
            length: 4.5,
            width: 1.8,
            ..crate::types::Object::default()
        };
        let obstacles = Obstacles::new(&[parked], 0.1, 50, &CollisionParams::default());
        let ego = Discs::cover(4.5, 1.8);
        let start = FrenetState {
            s: 10.0,
            s_d: 8.0,
            d: 0.2,
            ..FrenetState::default()
        };
        let targets = [LateralTarget { d: 0.0, cost: 0.0 }];
        let p = SamplerParams::default();
        let plan = plan_in(
            &line,
            &obstacles,
            &ego,
            start,
            &targets,
            (-1.0, 1.0),
            0.0,
            &p,
        )
        .expect("a plan");
        assert_eq!(plan.hit, None);
        let last = plan.trajectory.points.last().unwrap();
        assert_eq!(last.v, 0.0, "{last:?}");
        assert!(
            last.x < 10.0 + 15.0 + 1e-6 && last.y.abs() < 0.05,
            "{last:?}"
        );
    }
}
