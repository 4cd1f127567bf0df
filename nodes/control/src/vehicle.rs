//! Trajectory tracking for a car: pure pursuit with a speed-dependent lookahead for steering,
//! feed-forward acceleration plus a PI loop on speed, inside steering angle/rate and
//! acceleration/jerk limits.

use thiserror::Error;

/// Standard gravity (m/s²).
const G: f64 = 9.81;

/// Grip held back from braking per m/s² of cornering (see [`braking_limit`]).
const CORNERING_RESERVE: f64 = 0.3;

/// Strongest braking (m/s², positive) beside `lateral` m/s² of cornering: inside the friction
/// circle, less a reserve that grows with the cornering. Braking up to the circle while
/// swerving leaves the rear tyres nothing to hold the yaw with (at 100 km/h, 8.5 m/s² with a
/// 1 m swerve spun the simulated car into the obstacle it was avoiding); straight braking
/// keeps the whole circle.
pub fn braking_limit(limits: &ControlLimits, lateral: f64) -> f64 {
    let grip = limits.friction * G;
    let a_y = lateral.abs().min(grip);
    ((grip * grip - a_y * a_y).sqrt() - CORNERING_RESERVE * a_y).clamp(0.0, limits.max_decel)
}

/// Why no command can be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ControlError {
    /// The trajectory has no points.
    #[error("the trajectory is empty")]
    EmptyTrajectory,
    /// An input number is NaN or infinite.
    #[error("{what} = {value} is not finite")]
    NotFinite {
        /// Which number.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// The time step is not positive.
    #[error("time step {0} s must be positive")]
    BadTimeStep(f64),
}

/// One trajectory sample (`embody_msgs/TrajectoryPoint`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TrajectoryPoint {
    /// Time from the trajectory's stamp (s).
    pub t: f64,
    /// x (m).
    pub x: f64,
    /// y (m).
    pub y: f64,
    /// Heading (rad).
    pub yaw: f64,
    /// Speed (m/s).
    pub v: f64,
    /// Acceleration (m/s²).
    pub a: f64,
    /// Curvature (1/m).
    pub curvature: f64,
}

/// The measured vehicle state.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VehicleState {
    /// x of the tracked point (m).
    pub x: f64,
    /// y (m).
    pub y: f64,
    /// Heading (rad).
    pub yaw: f64,
    /// Speed (m/s).
    pub v: f64,
    /// Measured yaw rate (rad/s, positive left); 0 where none is measured.
    pub yaw_rate: f64,
}

/// Actuator limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControlLimits {
    /// Wheelbase (m).
    pub wheelbase: f64,
    /// Largest road-wheel angle (rad).
    pub max_steering_angle: f64,
    /// Fastest steering (rad/s).
    pub max_steering_rate: f64,
    /// Strongest acceleration (m/s²).
    pub max_accel: f64,
    /// Strongest braking (m/s², positive).
    pub max_decel: f64,
    /// Fastest change of the acceleration command (m/s³).
    pub max_jerk: f64,
    /// Tyre-road friction μ assumed when braking in a curve (as AES assumes).
    pub friction: f64,
}

impl Default for ControlLimits {
    fn default() -> Self {
        // CommonRoad vehicle 2 (BMW 320i) geometry and steering; brakes that ramp to full
        // braking within a third of a second.
        Self {
            wheelbase: 2.579,
            max_steering_angle: 1.066,
            max_steering_rate: 0.4,
            max_accel: 3.5,
            max_decel: 10.0,
            max_jerk: 30.0,
            friction: 1.0,
        }
    }
}

/// Controller gains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControllerParams {
    /// Lookahead per unit speed (s).
    pub lookahead_time: f64,
    /// Shortest lookahead (m).
    pub min_lookahead: f64,
    /// Longest lookahead (m).
    pub max_lookahead: f64,
    /// Preview of the speed reference to cover actuator lag (s).
    pub speed_preview: f64,
    /// Proportional speed gain (1/s).
    pub kp: f64,
    /// Integral speed gain (1/s²).
    pub ki: f64,
    /// Limit of the integral term (m/s²).
    pub integral_limit: f64,
    /// Actuator limits.
    pub limits: ControlLimits,
}

impl Default for ControllerParams {
    fn default() -> Self {
        Self {
            // 0.3 s was underdamped at highway speed: a lane change at 120 km/h swung into a
            // growing oscillation and spun the car.
            lookahead_time: 0.8,
            min_lookahead: 3.0,
            max_lookahead: 30.0,
            speed_preview: 0.1,
            kp: 1.0,
            ki: 0.1,
            integral_limit: 1.0,
            limits: ControlLimits::default(),
        }
    }
}

/// One actuator command (`ackermann_msgs/AckermannDrive`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Command {
    /// Road-wheel angle (rad, positive left).
    pub steering_angle: f64,
    /// Steering rate used to get there (rad/s).
    pub steering_rate: f64,
    /// Reference speed (m/s).
    pub speed: f64,
    /// Acceleration (m/s²).
    pub acceleration: f64,
    /// Rate of the acceleration command (m/s³).
    pub jerk: f64,
}

/// Pure pursuit + PI speed tracking with memory of the last command.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackingController {
    params: ControllerParams,
    integral: f64,
    last: Option<Command>,
}

fn check(what: &'static str, value: f64) -> Result<f64, ControlError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ControlError::NotFinite { what, value })
    }
}

/// Linear interpolation of the trajectory at time `t`, clamped to its ends.
pub fn sample_at(points: &[TrajectoryPoint], t: f64) -> Option<TrajectoryPoint> {
    let first = *points.first()?;
    if t <= first.t || points.len() == 1 {
        return Some(first);
    }
    let i = points.partition_point(|p| p.t <= t);
    if i >= points.len() {
        return points.last().copied();
    }
    let (a, b) = (points[i - 1], points[i]);
    let u = ((t - a.t) / (b.t - a.t).max(1e-9)).clamp(0.0, 1.0);
    Some(TrajectoryPoint {
        t,
        x: a.x + u * (b.x - a.x),
        y: a.y + u * (b.y - a.y),
        yaw: a.yaw + u * (b.yaw - a.yaw),
        v: a.v + u * (b.v - a.v),
        a: a.a + u * (b.a - a.a),
        curvature: a.curvature + u * (b.curvature - a.curvature),
    })
}

/// Pure-pursuit steering angle towards the point `lookahead` metres of path ahead of the
/// point nearest to the vehicle.
pub fn pure_pursuit(
    state: &VehicleState,
    points: &[TrajectoryPoint],
    lookahead: f64,
    wheelbase: f64,
) -> f64 {
    let Some(nearest) = (0..points.len()).min_by(|&a, &b| {
        let da = (points[a].x - state.x).hypot(points[a].y - state.y);
        let db = (points[b].x - state.x).hypot(points[b].y - state.y);
        da.total_cmp(&db)
    }) else {
        return 0.0;
    };
    let mut travelled = 0.0;
    let mut target = (points[nearest].x, points[nearest].y);
    for w in points[nearest..].windows(2) {
        let step = (w[1].x - w[0].x).hypot(w[1].y - w[0].y);
        if travelled + step >= lookahead {
            let u = (lookahead - travelled) / step.max(1e-9);
            target = (
                w[0].x + u * (w[1].x - w[0].x),
                w[0].y + u * (w[1].y - w[0].y),
            );
            travelled = lookahead;
            break;
        }
        travelled += step;
        target = (w[1].x, w[1].y);
    }
    // A trajectory shorter than the lookahead (stopping) is extended along its last heading.
    if travelled < lookahead
        && let Some(last) = points.last()
    {
        let extra = lookahead - travelled;
        target = (
            target.0 + extra * last.yaw.cos(),
            target.1 + extra * last.yaw.sin(),
        );
    }
    let (dx, dy) = (target.0 - state.x, target.1 - state.y);
    let distance = dx.hypot(dy).max(1e-3);
    let alpha = dy.atan2(dx) - state.yaw;
    (2.0 * wheelbase * alpha.sin() / distance).atan()
}

impl TrackingController {
    /// A controller with `params`.
    pub fn new(params: ControllerParams) -> Self {
        Self {
            params,
            integral: 0.0,
            last: None,
        }
    }

    /// Forgets the integral and the last command (after a standstill or a new trajectory
    /// source).
    pub fn reset(&mut self) {
        self.integral = 0.0;
        self.last = None;
    }

    /// The command for `state` tracking `points`, `elapsed` seconds after the trajectory's
    /// stamp, for a control period `dt`.
    pub fn command(
        &mut self,
        state: &VehicleState,
        points: &[TrajectoryPoint],
        elapsed: f64,
        dt: f64,
    ) -> Result<Command, ControlError> {
        for (what, v) in [
            ("x", state.x),
            ("y", state.y),
            ("yaw", state.yaw),
            ("speed", state.v),
            ("elapsed", elapsed),
        ] {
            check(what, v)?;
        }
        if !(dt.is_finite() && dt > 0.0) {
            return Err(ControlError::BadTimeStep(dt));
        }
        let p = &self.params;
        let lim = &p.limits;
        let reference =
            sample_at(points, elapsed + p.speed_preview).ok_or(ControlError::EmptyTrajectory)?;
        check("trajectory speed", reference.v)?;
        check("trajectory acceleration", reference.a)?;

        let lookahead = (p.lookahead_time * state.v).clamp(p.min_lookahead, p.max_lookahead);
        let wanted = pure_pursuit(state, points, lookahead, lim.wheelbase)
            .clamp(-lim.max_steering_angle, lim.max_steering_angle);
        let last = self.last.unwrap_or(Command {
            steering_angle: wanted,
            speed: state.v,
            acceleration: reference.a,
            ..Command::default()
        });
        let max_step = lim.max_steering_rate * dt;
        let steering_angle =
            last.steering_angle + (wanted - last.steering_angle).clamp(-max_step, max_step);

        let error = reference.v - state.v;
        // The integral only runs while moving: at standstill behind an obstacle it would wind up.
        if state.v > 0.5 || reference.v > 0.5 {
            self.integral =
                (self.integral + p.ki * error * dt).clamp(-p.integral_limit, p.integral_limit);
        } else {
            self.integral = 0.0;
        }
        let mut accel = reference.a + p.kp * error + self.integral;
        if reference.v <= 0.01 && state.v < 0.3 {
            // Hold the car at standstill.
            accel = accel.min(-1.0);
        }
        // The cornering the tyres carry is what the car does, not only what the wheels are
        // turned to: after a swerve the body still yaws while the steering is straight again
        // (0.5 rad/s at 18 m/s, 9 m/s² of cornering, with the wheels at −0.03 rad), and braking
        // at 9.7 m/s² on top of that spun the car through 65° at the rear axle.
        let commanded = state.v * state.v * steering_angle.tan() / lim.wheelbase;
        let lateral = commanded.abs().max((state.v * state.yaw_rate).abs());
        let accel = accel.clamp(-braking_limit(lim, lateral), lim.max_accel);
        let max_da = lim.max_jerk * dt;
        let accel = last.acceleration + (accel - last.acceleration).clamp(-max_da, max_da);
        let command = Command {
            steering_angle,
            steering_rate: (steering_angle - last.steering_angle) / dt,
            speed: reference.v.max(0.0),
            acceleration: accel,
            jerk: (accel - last.acceleration) / dt,
        };
        self.last = Some(command);
        Ok(command)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn straight(v: f64, a: f64) -> Vec<TrajectoryPoint> {
        (0..50)
            .map(|k| {
                let t = k as f64 * 0.1;
                TrajectoryPoint {
                    t,
                    x: v * t,
                    v,
                    a,
                    ..TrajectoryPoint::default()
                }
            })
            .collect()
    }

    #[test]
    fn pure_pursuit_matches_the_circle_through_the_target() {
        let path: Vec<TrajectoryPoint> = (0..100)
            .map(|i| TrajectoryPoint {
                x: f64::from(i),
                ..TrajectoryPoint::default()
            })
            .collect();
        let on = VehicleState::default();
        assert!(pure_pursuit(&on, &path, 10.0, 2.6).abs() < 1e-12);
        // 1 m right of the path, lookahead 10 m: target (10, 0) from (0, −1):
        // α = atan(1/10), distance √101, δ = atan(2·2.6·sin α/√101) = 0.05143 rad.
        let off = VehicleState {
            y: -1.0,
            ..VehicleState::default()
        };
        let d = pure_pursuit(&off, &path, 10.0, 2.6);
        assert!((d - 0.05143).abs() < 1e-4, "{d}");
    }

    #[test]
    fn steering_rate_and_jerk_are_limited() {
        let mut c = TrackingController::new(ControllerParams::default());
        let path = straight(10.0, 0.0);
        let state = VehicleState {
            y: -3.0,
            v: 10.0,
            ..VehicleState::default()
        };
        let first = c.command(&state, &path, 0.0, 0.01).unwrap();
        // The first command starts from the wanted angle; later ones move at ≤ 0.4 rad/s.
        let second = c
            .command(&VehicleState { y: 3.0, ..state }, &path, 0.01, 0.01)
            .unwrap();
        assert!((second.steering_angle - first.steering_angle).abs() <= 0.004 + 1e-12);
        // A sudden full-braking trajectory ramps the command at ≤ 30 m/s³.
        let brake = straight(0.0, -9.0);
        let b = c.command(&state, &brake, 0.02, 0.01).unwrap();
        assert!((b.acceleration - first.acceleration.min(second.acceleration)).abs() <= 0.3 + 1e-9);
        assert!(b.jerk >= -30.0 - 1e-9);
    }

    #[test]
    fn braking_while_swerving_keeps_a_reserve_inside_the_friction_circle() {
        let lim = ControlLimits::default();
        // Straight: the whole circle, μ·g = 9.81 (the brakes could give 10).
        assert!((braking_limit(&lim, 0.0) - 9.81).abs() < 1e-12);
        // 3.924 m/s² of cornering (AES's 0.4 g): √(9.81² − 3.924²) − 0.3·3.924 = 7.8138.
        assert!((braking_limit(&lim, -3.924) - 7.8138).abs() < 1e-4);
        // At the friction limit nothing is left for braking.
        assert_eq!(braking_limit(&lim, 12.0), 0.0);
        // Half the friction: the circle shrinks with it.
        let wet = ControlLimits {
            friction: 0.5,
            ..lim
        };
        assert!((braking_limit(&wet, 0.0) - 4.905).abs() < 1e-12);

        // A full-braking trajectory at 25 m/s with the wheels turned 0.015 rad (3.6 m/s² of
        // cornering on a 2.579 m wheelbase): the command stops at the limit, not at -10.
        let mut c = TrackingController::new(ControllerParams::default());
        let state = VehicleState {
            v: 25.0,
            ..VehicleState::default()
        };
        let turning: Vec<TrajectoryPoint> = (0..50)
            .map(|k| {
                let t = k as f64 * 0.1;
                TrajectoryPoint {
                    t,
                    x: 25.0 * t,
                    y: 0.5 * (25.0 * t) * (25.0 * t) * 0.015 / 2.579,
                    v: 25.0,
                    a: -10.0,
                    ..TrajectoryPoint::default()
                }
            })
            .collect();
        let mut cmd = c.command(&state, &turning, 0.0, 0.01).unwrap();
        for k in 1..100 {
            cmd = c.command(&state, &turning, k as f64 * 0.01, 0.01).unwrap();
        }
        let lateral = 25.0 * 25.0 * cmd.steering_angle.tan() / 2.579;
        assert!(lateral > 1.0, "{cmd:?}");
        let limit = braking_limit(&c.params.limits, lateral);
        assert!(limit < 9.0, "{limit}");
        assert!((cmd.acceleration + limit).abs() < 1e-9, "{cmd:?} {limit}");

        // Straight wheels on a straight path, but the body still yawing at 0.5 rad/s at 18 m/s
        // from the swerve before: 9 m/s² of cornering leaves √(9.81² − 9²) − 0.3·9 = 1.20.
        let mut c = TrackingController::new(ControllerParams::default());
        let yawing = VehicleState {
            v: 18.0,
            yaw_rate: -0.5,
            ..VehicleState::default()
        };
        let straight_stop = straight(18.0, -10.0);
        let mut cmd = c.command(&yawing, &straight_stop, 0.0, 0.01).unwrap();
        for k in 1..100 {
            cmd = c
                .command(&yawing, &straight_stop, k as f64 * 0.01, 0.01)
                .unwrap();
        }
        assert!((cmd.acceleration + 1.2033).abs() < 1e-3, "{cmd:?}");
    }

    #[test]
    fn speed_error_adds_to_the_feed_forward() {
        let mut c = TrackingController::new(ControllerParams::default());
        let path = straight(12.0, 0.5);
        let state = VehicleState {
            v: 10.0,
            ..VehicleState::default()
        };
        let cmd = c.command(&state, &path, 0.0, 0.1).unwrap();
        // 0.5 feed-forward + 1.0·2 proportional + 0.1·2·0.1 integral = 2.52.
        assert!((cmd.acceleration - 2.52).abs() < 1e-9, "{cmd:?}");
        assert!(c.command(&state, &[], 0.0, 0.1).is_err());
        assert!(c.command(&state, &path, f64::NAN, 0.1).is_err());
        assert!(c.command(&state, &path, 0.0, 0.0).is_err());
    }
}
