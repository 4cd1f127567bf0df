//! The ego vehicle: a dynamic single-track (bicycle) model with a tyre friction limit,
//! steering and drive actuators with lag and limits, and a kinematic model at low speed.
//!
//! Axes follow REP-103 (x forward, y left, z up); all quantities are SI. The reference point
//! of the state is the centre of gravity (CG).
//!
//! # Model
//!
//! * Body: planar rigid body with states `x, y, yaw, vx, vy, yaw_rate` (CG velocity in the body
//!   frame). Above [`VehicleParams::dynamic_speed`] the axle forces of a single-track model
//!   drive it:
//!   `m·(v̇x − vy·r) = Fxf·cos δ − Fyf·sin δ + Fxr`, `m·(v̇y + vx·r) = Fxf·sin δ + Fyf·cos δ + Fyr`,
//!   `Iz·ṙ = lf·(Fxf·sin δ + Fyf·cos δ) − lr·Fyr`.
//! * Tyres: lateral force `Fy = c·Fz·α` (cornering stiffness proportional to the axle load, as
//!   in CommonRoad's single-track model), saturated by a friction circle per axle,
//!   `√(Fx² + Fy²) ≤ μ·Fz`, with the longitudinal force served first. Because every axle stays
//!   inside its circle and the loads add up to `m·g`, the CG acceleration stays inside `μ·g`.
//! * Loads: static split plus longitudinal load transfer through the CG height; drive and brake
//!   forces are split in proportion to the axle loads (ideal distribution), so both axles reach
//!   the friction limit together and straight-line acceleration is capped at exactly `μ·g`.
//! * Low speed: the slip angles of the dynamic model are singular at standstill, so below
//!   [`VehicleParams::kinematic_speed`] a kinematic single-track model is used (lateral velocity
//!   and yaw rate relax quickly to their no-slip values, with the same friction cap), and the
//!   two are blended linearly up to [`VehicleParams::dynamic_speed`] — as CommonRoad's ST model
//!   switches to its KS model at low speed.
//! * Actuators: the steering angle follows its target through a first-order lag and a rate
//!   limit; the drive/brake acceleration follows its target through a first-order lag. A speed
//!   target is turned into an acceleration target by a proportional controller, as the speed
//!   loop of an Ackermann drive would. The car does not reverse: brakes hold it at `vx = 0`.
//! * Not modelled: aerodynamic drag, rolling resistance, engine power curve, roll and pitch.
//! * Integration: fixed substeps of at most [`VehicleParams::max_substep`] with classical RK4
//!   for the body; the actuators are advanced exactly (exponential lag) and held at their mean
//!   over each substep. No clock or randomness is involved, so equal inputs give bit-identical
//!   states.

use nalgebra::{Point2, Vector2};
use thiserror::Error;

/// Standard gravity used for the friction limit and axle loads (m/s²).
pub const GRAVITY: f64 = 9.81;

/// A parameter, state or input that the vehicle model cannot work with.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum VehicleError {
    /// A parameter is out of its valid range.
    #[error("vehicle parameter `{name}` = {value} is invalid: {reason}")]
    InvalidParameter {
        /// Field name in [`VehicleParams`].
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// What the value must satisfy.
        reason: &'static str,
    },
    /// A field of the initial state is out of its valid range.
    #[error("vehicle state field `{name}` = {value} is invalid: {reason}")]
    InvalidState {
        /// Field name in [`VehicleState`].
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// What the value must satisfy.
        reason: &'static str,
    },
    /// A command field is NaN or infinite.
    #[error("vehicle command field `{name}` = {value} is not finite")]
    InvalidCommand {
        /// Command field name.
        name: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// The time step is negative, NaN or infinite.
    #[error("time step {0} s is invalid: it must be finite and not negative")]
    InvalidTimeStep(f64),
}

/// Vehicle parameters; [`Default`] is CommonRoad vehicle 2 (BMW 320i) where it publishes a value.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleParams {
    /// Body length (m); CommonRoad vehicle 2: 4.508.
    pub length: f64,
    /// Body width (m); CommonRoad vehicle 2: 1.61.
    pub width: f64,
    /// Distance CG to front axle `l_f` (m); CommonRoad vehicle 2: 1.1562.
    pub cg_to_front_axle: f64,
    /// Distance CG to rear axle `l_r` (m); CommonRoad vehicle 2: 1.4227.
    pub cg_to_rear_axle: f64,
    /// CG height above ground, used for longitudinal load transfer (m); CommonRoad: 0.5749.
    pub cg_height: f64,
    /// Mass `m` (kg); CommonRoad vehicle 2: 1093.3.
    pub mass: f64,
    /// Yaw moment of inertia `I_z` (kg·m²); CommonRoad vehicle 2: 1791.6.
    pub yaw_inertia: f64,
    /// Cornering stiffness per unit axle load (1/rad): lateral force = this · Fz · slip angle
    /// at small slip. CommonRoad vehicle 2: p_ky1 = μ·C_S = 1.0489 · 20.90 = 21.92.
    pub cornering_stiffness: f64,
    /// Tyre–road friction coefficient μ; 1.0 dry asphalt, ~0.5–0.7 wet, ~0.2–0.3 snow, ~0.1 ice.
    pub friction: f64,
    /// Steering angle limit (rad, symmetric); CommonRoad vehicle 2: 1.066.
    pub max_steering_angle: f64,
    /// Steering rate limit (rad/s); CommonRoad vehicle 2: 0.4. That is slow for evasive
    /// steering (a human or an EPS reaches several rad/s at the road wheels' ratio); raise it
    /// for AES studies.
    pub max_steering_rate: f64,
    /// Time constant of the steering angle's first-order lag (s); 0 disables the lag.
    pub steering_time_constant: f64,
    /// Largest drive acceleration the powertrain delivers (m/s²).
    pub max_accel: f64,
    /// Largest braking deceleration the brakes deliver (m/s², positive); friction caps it at μ·g.
    pub max_decel: f64,
    /// Time constant of the drive/brake first-order lag (s); 0 disables the lag.
    pub drive_time_constant: f64,
    /// Gain of the speed controller used for speed commands (1/s): target accel = gain · error.
    pub speed_gain: f64,
    /// Top speed (m/s); above it the drive delivers no forward acceleration. CommonRoad: 50.8.
    pub max_speed: f64,
    /// Below this speed the kinematic model alone is used (m/s).
    pub kinematic_speed: f64,
    /// Above this speed the dynamic model alone is used; in between the two are blended (m/s).
    pub dynamic_speed: f64,
    /// Relaxation time of lateral velocity and yaw rate to their no-slip values in the
    /// kinematic model (s).
    pub kinematic_time_constant: f64,
    /// Longest integration substep (s); `step` splits its `dt` into equal substeps no longer.
    pub max_substep: f64,
}

impl Default for VehicleParams {
    fn default() -> Self {
        Self {
            length: 4.508,
            width: 1.61,
            cg_to_front_axle: 1.1562,
            cg_to_rear_axle: 1.4227,
            cg_height: 0.5749,
            mass: 1093.3,
            yaw_inertia: 1791.6,
            cornering_stiffness: 21.92,
            friction: 1.0,
            max_steering_angle: 1.066,
            max_steering_rate: 0.4,
            steering_time_constant: 0.05,
            // A road car's traction limit from a standstill is far below CommonRoad's symmetric
            // 11.5 m/s²; 3.5 m/s² is roughly 0–100 km/h in 8 s.
            max_accel: 3.5,
            max_decel: 10.0,
            drive_time_constant: 0.1,
            // Overdamped with the 0.1 s drive lag (critical would be 1/(4·0.1) = 2.5 1/s).
            speed_gain: 2.0,
            max_speed: 50.8,
            kinematic_speed: 3.0,
            dynamic_speed: 5.0,
            kinematic_time_constant: 0.02,
            max_substep: 0.001,
        }
    }
}

impl VehicleParams {
    /// Wheelbase `l_f + l_r` (m).
    pub fn wheelbase(&self) -> f64 {
        self.cg_to_front_axle + self.cg_to_rear_axle
    }

    /// Checks every parameter; the error names the first one out of range.
    pub fn validate(&self) -> Result<(), VehicleError> {
        let positive = [
            ("length", self.length),
            ("width", self.width),
            ("cg_to_front_axle", self.cg_to_front_axle),
            ("cg_to_rear_axle", self.cg_to_rear_axle),
            ("mass", self.mass),
            ("yaw_inertia", self.yaw_inertia),
            ("cornering_stiffness", self.cornering_stiffness),
            ("friction", self.friction),
            ("max_steering_rate", self.max_steering_rate),
            ("max_decel", self.max_decel),
            ("speed_gain", self.speed_gain),
            ("max_speed", self.max_speed),
            ("kinematic_time_constant", self.kinematic_time_constant),
            ("max_substep", self.max_substep),
        ];
        for (name, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(invalid(name, value, "must be finite and greater than 0"));
            }
        }
        let non_negative = [
            ("cg_height", self.cg_height),
            ("steering_time_constant", self.steering_time_constant),
            ("max_accel", self.max_accel),
            ("drive_time_constant", self.drive_time_constant),
            ("kinematic_speed", self.kinematic_speed),
        ];
        for (name, value) in non_negative {
            if !(value.is_finite() && value >= 0.0) {
                return Err(invalid(name, value, "must be finite and not negative"));
            }
        }
        let delta = self.max_steering_angle;
        if !(delta > 0.0 && delta < std::f64::consts::FRAC_PI_2) {
            return Err(invalid(
                "max_steering_angle",
                delta,
                "must be in (0, π/2) rad",
            ));
        }
        if !(self.dynamic_speed.is_finite() && self.dynamic_speed > self.kinematic_speed) {
            return Err(invalid(
                "dynamic_speed",
                self.dynamic_speed,
                "must be finite and greater than kinematic_speed",
            ));
        }
        // Load transfer at the friction limit must not lift an axle, or the friction-circle
        // argument (axle loads summing to m·g) breaks.
        let transfer = self.friction * self.cg_height;
        if transfer >= self.cg_to_front_axle.min(self.cg_to_rear_axle) {
            return Err(invalid(
                "cg_height",
                self.cg_height,
                "friction · cg_height must be less than both CG-to-axle distances",
            ));
        }
        Ok(())
    }
}

fn invalid(name: &'static str, value: f64, reason: &'static str) -> VehicleError {
    VehicleError::InvalidParameter {
        name,
        value,
        reason,
    }
}

/// The integrated state: pose and velocity of the CG plus the actuator outputs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VehicleState {
    /// CG position x in the world frame (m).
    pub x: f64,
    /// CG position y in the world frame (m).
    pub y: f64,
    /// Heading of the body x axis (rad), kept in (−π, π].
    pub yaw: f64,
    /// Longitudinal CG velocity in the body frame (m/s), never negative.
    pub vx: f64,
    /// Lateral CG velocity in the body frame (m/s, positive left).
    pub vy: f64,
    /// Yaw rate (rad/s, positive counter-clockwise).
    pub yaw_rate: f64,
    /// Actual road-wheel steering angle δ (rad, positive left).
    pub steering_angle: f64,
    /// Actual drive/brake acceleration delivered by the actuators before the friction cap (m/s²).
    pub accel: f64,
}

impl VehicleState {
    /// A car at `(x, y)` heading `yaw` and driving straight at `speed` with settled actuators.
    pub fn at(x: f64, y: f64, yaw: f64, speed: f64) -> Self {
        Self {
            x,
            y,
            yaw,
            vx: speed,
            ..Self::default()
        }
    }

    fn validate(&self, params: &VehicleParams) -> Result<(), VehicleError> {
        let fields = [
            ("x", self.x),
            ("y", self.y),
            ("yaw", self.yaw),
            ("vx", self.vx),
            ("vy", self.vy),
            ("yaw_rate", self.yaw_rate),
            ("steering_angle", self.steering_angle),
            ("accel", self.accel),
        ];
        for (name, value) in fields {
            if !value.is_finite() {
                return Err(bad_state(name, value, "must be finite"));
            }
        }
        if self.vx < 0.0 {
            return Err(bad_state(
                "vx",
                self.vx,
                "must not be negative (no reversing)",
            ));
        }
        if self.steering_angle.abs() > params.max_steering_angle {
            return Err(bad_state(
                "steering_angle",
                self.steering_angle,
                "must be within ±max_steering_angle",
            ));
        }
        Ok(())
    }
}

fn bad_state(name: &'static str, value: f64, reason: &'static str) -> VehicleError {
    VehicleError::InvalidState {
        name,
        value,
        reason,
    }
}

/// How the longitudinal motion is commanded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Drive {
    /// Target speed (m/s); negative targets mean stop, since the car does not reverse.
    Speed(f64),
    /// Target acceleration (m/s²; negative brakes).
    Accel(f64),
    /// Accelerate at `accel` (m/s², positive) until `speed` (m/s) is reached, then hold it:
    /// `ackermann_msgs/AckermannDrive` with a positive acceleration. A plain speed target
    /// approaches through a proportional controller, which crawls when a planner keeps the
    /// target just ahead of the current speed.
    SpeedAt {
        /// Speed to reach (m/s).
        speed: f64,
        /// Acceleration on the way (m/s²).
        accel: f64,
    },
}

/// One actuator command, the content of an `ackermann_msgs/AckermannDrive`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Command {
    /// Target road-wheel steering angle (rad, positive left); clamped to the steering limit.
    pub steering_angle: f64,
    /// Target speed or acceleration.
    pub drive: Drive,
}

impl Command {
    fn validate(&self) -> Result<(), VehicleError> {
        let (name, value, extra) = match self.drive {
            Drive::Speed(v) => ("speed", v, None),
            Drive::Accel(a) => ("acceleration", a, None),
            Drive::SpeedAt { speed, accel } => ("speed", speed, Some(("acceleration", accel))),
        };
        for (name, value) in [("steering_angle", self.steering_angle), (name, value)]
            .into_iter()
            .chain(extra)
        {
            if !value.is_finite() {
                return Err(VehicleError::InvalidCommand { name, value });
            }
        }
        Ok(())
    }
}

/// The simulated ego vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct Vehicle {
    params: VehicleParams,
    state: VehicleState,
    /// Body-frame CG acceleration at the current state, what an IMU at the CG measures.
    accel: Vector2<f64>,
}

/// Body states integrated by RK4: x, y, yaw, vx, vy, yaw rate.
type Body = [f64; 6];

impl Vehicle {
    /// A vehicle with validated parameters, starting from `state`.
    pub fn new(params: VehicleParams, state: VehicleState) -> Result<Self, VehicleError> {
        params.validate()?;
        state.validate(&params)?;
        let mut vehicle = Self {
            params,
            state,
            accel: Vector2::zeros(),
        };
        vehicle.state.yaw = wrap_angle(vehicle.state.yaw);
        vehicle.accel = vehicle.body_acceleration();
        Ok(vehicle)
    }

    /// The parameters.
    pub fn params(&self) -> &VehicleParams {
        &self.params
    }

    /// The full state.
    pub fn state(&self) -> &VehicleState {
        &self.state
    }

    /// CG position in the world frame (m).
    pub fn position(&self) -> Point2<f64> {
        Point2::new(self.state.x, self.state.y)
    }

    /// Heading (rad) in (−π, π].
    pub fn yaw(&self) -> f64 {
        self.state.yaw
    }

    /// Longitudinal speed `vx` (m/s), what wheel odometry reports.
    pub fn speed(&self) -> f64 {
        self.state.vx
    }

    /// CG velocity in the body frame (m/s).
    pub fn velocity(&self) -> Vector2<f64> {
        Vector2::new(self.state.vx, self.state.vy)
    }

    /// Side-slip angle β = atan2(vy, vx) (rad); 0 at standstill.
    pub fn side_slip(&self) -> f64 {
        self.state.vy.atan2(self.state.vx)
    }

    /// Side slip at the rear axle (rad): the rear tyres' slip angle, zero while they roll
    /// without sliding however sharply the car turns (the CG's β also holds the geometric
    /// part, several degrees in a slow tight turn); large when the rear breaks away.
    pub fn rear_slip(&self) -> f64 {
        let lateral = self.state.vy - self.params.cg_to_rear_axle * self.state.yaw_rate;
        lateral.atan2(self.state.vx)
    }

    /// Yaw rate (rad/s).
    pub fn yaw_rate(&self) -> f64 {
        self.state.yaw_rate
    }

    /// Actual road-wheel steering angle (rad).
    pub fn steering_angle(&self) -> f64 {
        self.state.steering_angle
    }

    /// Body-frame CG acceleration (x longitudinal, y lateral; m/s²), as an IMU measures it
    /// without gravity; its norm never exceeds μ·g.
    pub fn acceleration(&self) -> Vector2<f64> {
        self.accel
    }

    /// Advances the vehicle by `dt` seconds under `cmd` (held constant over `dt`).
    pub fn step(&mut self, cmd: &Command, dt: f64) -> Result<(), VehicleError> {
        if !(dt.is_finite() && dt >= 0.0) {
            return Err(VehicleError::InvalidTimeStep(dt));
        }
        cmd.validate()?;
        if dt == 0.0 {
            return Ok(());
        }
        let substeps = (dt / self.params.max_substep).ceil().max(1.0);
        let h = dt / substeps;
        // `substeps` is a small positive whole number stored in an f64.
        for _ in 0..substeps as u64 {
            self.substep(cmd, h);
        }
        self.accel = self.body_acceleration();
        Ok(())
    }

    fn substep(&mut self, cmd: &Command, h: f64) {
        let (delta, accel) = self.advance_actuators(cmd, h);
        let s = &self.state;
        let y0: Body = [s.x, s.y, s.yaw, s.vx, s.vy, s.yaw_rate];
        let p = &self.params;
        let k1 = derivative(p, &y0, delta, accel).0;
        let k2 = derivative(p, &add(&y0, &k1, h / 2.0), delta, accel).0;
        let k3 = derivative(p, &add(&y0, &k2, h / 2.0), delta, accel).0;
        let k4 = derivative(p, &add(&y0, &k3, h), delta, accel).0;
        let mut y1 = y0;
        for i in 0..6 {
            y1[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        let s = &mut self.state;
        s.x = y1[0];
        s.y = y1[1];
        s.yaw = wrap_angle(y1[2]);
        // Brakes bring the car to rest within the substep; they never push it backwards.
        s.vx = y1[3].max(0.0);
        s.vy = y1[4];
        s.yaw_rate = y1[5];
    }

    /// Moves the actuator outputs over one substep and returns the values to hold for it.
    fn advance_actuators(&mut self, cmd: &Command, h: f64) -> (f64, f64) {
        let p = &self.params;
        let s = &mut self.state;

        let target = cmd
            .steering_angle
            .clamp(-p.max_steering_angle, p.max_steering_angle);
        let lagged = lag(s.steering_angle, target, p.steering_time_constant, h).0;
        let max_change = p.max_steering_rate * h;
        let delta0 = s.steering_angle;
        s.steering_angle = delta0 + (lagged - delta0).clamp(-max_change, max_change);
        let delta = 0.5 * (delta0 + s.steering_angle);

        let wanted = match cmd.drive {
            Drive::Accel(a) => a,
            Drive::Speed(v) => p.speed_gain * (v.clamp(0.0, p.max_speed) - s.vx),
            Drive::SpeedAt { speed, accel } => {
                let v = speed.clamp(0.0, p.max_speed);
                if s.vx < v {
                    accel.max(0.0)
                } else {
                    p.speed_gain * (v - s.vx)
                }
            }
        };
        let mut target = wanted.clamp(-p.max_decel, p.max_accel);
        if s.vx >= p.max_speed {
            target = target.min(0.0);
        }
        let (next, mean) = lag(s.accel, target, p.drive_time_constant, h);
        s.accel = next;
        (delta, mean)
    }

    fn body_acceleration(&self) -> Vector2<f64> {
        let s = &self.state;
        let y: Body = [s.x, s.y, s.yaw, s.vx, s.vy, s.yaw_rate];
        derivative(&self.params, &y, s.steering_angle, s.accel).1
    }
}

/// First-order lag from `from` towards `target` over `h`: (value at the end, mean over `h`).
fn lag(from: f64, target: f64, time_constant: f64, h: f64) -> (f64, f64) {
    if time_constant == 0.0 {
        return (target, target);
    }
    let decay = (-h / time_constant).exp();
    let end = target + (from - target) * decay;
    let mean = target + (from - target) * time_constant / h * (1.0 - decay);
    (end, mean)
}

fn add(y: &Body, k: &Body, h: f64) -> Body {
    let mut out = *y;
    for i in 0..6 {
        out[i] += h * k[i];
    }
    out
}

/// Wraps an angle into (−π, π].
fn wrap_angle(a: f64) -> f64 {
    use std::f64::consts::{PI, TAU};
    if a > -PI && a <= PI {
        return a;
    }
    let w = (a + PI).rem_euclid(TAU) - PI;
    if w == -PI { PI } else { w }
}

/// Time derivative of the body states and the body-frame CG acceleration, with the steering
/// angle `delta` and drive/brake acceleration `accel` held.
fn derivative(p: &VehicleParams, y: &Body, delta: f64, accel: f64) -> (Body, Vector2<f64>) {
    let [_, _, yaw, vx, vy, r] = *y;
    let mu_g = p.friction * GRAVITY;
    // A stopped car's brakes hold it; they cannot push it backwards.
    let accel = if vx <= 0.0 && accel < 0.0 {
        0.0
    } else {
        accel.clamp(-mu_g, mu_g)
    };
    let span = p.dynamic_speed - p.kinematic_speed;
    let w = ((vx - p.kinematic_speed) / span).clamp(0.0, 1.0);
    let (mut acc, mut yaw_acc) = (Vector2::zeros(), 0.0);
    if w > 0.0 {
        let (a, r_dot) = dynamic(p, vx, vy, r, delta, accel);
        acc += w * a;
        yaw_acc += w * r_dot;
    }
    if w < 1.0 {
        let (a, r_dot) = kinematic(p, vx, vy, r, delta, accel);
        acc += (1.0 - w) * a;
        yaw_acc += (1.0 - w) * r_dot;
    }
    let (sin, cos) = yaw.sin_cos();
    let dy = [
        vx * cos - vy * sin,
        vx * sin + vy * cos,
        r,
        acc.x + vy * r,
        acc.y - vx * r,
        yaw_acc,
    ];
    (dy, acc)
}

/// Single-track axle forces with per-axle friction circles: (CG acceleration, yaw acceleration).
fn dynamic(
    p: &VehicleParams,
    vx: f64,
    vy: f64,
    r: f64,
    delta: f64,
    accel: f64,
) -> (Vector2<f64>, f64) {
    let (lf, lr, m) = (p.cg_to_front_axle, p.cg_to_rear_axle, p.mass);
    let l = lf + lr;
    let transfer = accel * p.cg_height;
    let fz_front = (m * (GRAVITY * lr - transfer) / l).max(0.0);
    let fz_rear = (m * (GRAVITY * lf + transfer) / l).max(0.0);
    let alpha_front = delta - (vy + lf * r).atan2(vx);
    let alpha_rear = -(vy - lr * r).atan2(vx);
    let axle = |fz: f64, alpha: f64| {
        let limit = p.friction * fz;
        let fx = (accel / GRAVITY * fz).clamp(-limit, limit);
        let lateral_limit = (limit * limit - fx * fx).max(0.0).sqrt();
        let fy = (p.cornering_stiffness * fz * alpha).clamp(-lateral_limit, lateral_limit);
        (fx, fy)
    };
    let (fxf, fyf) = axle(fz_front, alpha_front);
    let (fxr, fyr) = axle(fz_rear, alpha_rear);
    let (sd, cd) = delta.sin_cos();
    let front_lateral = fxf * sd + fyf * cd;
    let acc = Vector2::new(fxf * cd - fyf * sd + fxr, front_lateral + fyr) / m;
    (acc, (lf * front_lateral - lr * fyr) / p.yaw_inertia)
}

/// Kinematic single-track model: lateral velocity and yaw rate relax to their no-slip values,
/// and the resulting CG acceleration is capped by the friction circle (longitudinal first).
fn kinematic(
    p: &VehicleParams,
    vx: f64,
    vy: f64,
    r: f64,
    delta: f64,
    accel: f64,
) -> (Vector2<f64>, f64) {
    let mu_g = p.friction * GRAVITY;
    let yaw_rate = vx * delta.tan() / p.wheelbase();
    let lateral_velocity = p.cg_to_rear_axle * yaw_rate;
    let tau = p.kinematic_time_constant;
    let ax = (accel - vy * r).clamp(-mu_g, mu_g);
    let lateral_limit = (mu_g * mu_g - ax * ax).max(0.0).sqrt();
    let ay = ((lateral_velocity - vy) / tau + vx * r).clamp(-lateral_limit, lateral_limit);
    (Vector2::new(ax, ay), (yaw_rate - r) / tau)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V60: f64 = 60.0 / 3.6;

    fn params(drive_lag: f64) -> VehicleParams {
        VehicleParams {
            drive_time_constant: drive_lag,
            ..VehicleParams::default()
        }
    }

    fn brake(p: VehicleParams, decel: f64) -> (Vehicle, f64) {
        let mut car = Vehicle::new(p, VehicleState::at(0.0, 0.0, 0.0, V60)).unwrap();
        let cmd = Command {
            steering_angle: 0.0,
            drive: Drive::Accel(-decel),
        };
        let dt = 0.01;
        let mut t = 0.0;
        while car.speed() > 0.0 {
            car.step(&cmd, dt).unwrap();
            t += dt;
            assert!(t < 30.0, "did not stop");
        }
        (car, t)
    }

    #[test]
    fn braking_from_60_kmh_at_9_without_lag_stops_in_15_4_m() {
        // v²/(2a) = 16.667² / 18 = 15.432 m, after v/a = 1.852 s.
        let (car, t) = brake(params(0.0), 9.0);
        assert!(
            (car.position().x - 15.432).abs() < 0.005,
            "{}",
            car.position().x
        );
        assert!((t - 1.86).abs() < 0.0101, "{t}");
        assert!(car.position().y.abs() < 1e-12);
    }

    #[test]
    fn a_tenth_of_a_second_of_brake_lag_adds_1_62_m() {
        // a(t) = −9·(1 − e^(−t/τ)). With e^(−T/τ) ≈ 0 at the stop, v0 = 9·(T − τ) and the
        // distance is v0²/(2a) + v0·τ − a·τ²/2 = 15.432 + 1.667 − 0.045 = 17.054 m.
        let (car, _) = brake(params(0.1), 9.0);
        assert!(
            (car.position().x - 17.054).abs() < 0.005,
            "{}",
            car.position().x
        );
        // The tolerance band is for the lag-free figure; the lag alone moves it out.
        assert!(car.position().x - 15.432 > 1.6);
    }

    #[test]
    fn low_friction_caps_braking_at_mu_g() {
        // μ = 0.3: at most 0.3·9.81 = 2.943 m/s², so 16.667² / (2·2.943) = 47.19 m.
        let p = VehicleParams {
            friction: 0.3,
            ..params(0.0)
        };
        let mut car = Vehicle::new(p.clone(), VehicleState::at(0.0, 0.0, 0.0, V60)).unwrap();
        let cmd = Command {
            steering_angle: 0.0,
            drive: Drive::Accel(-9.0),
        };
        car.step(&cmd, 0.1).unwrap();
        assert!(
            (car.acceleration().x + 2.943).abs() < 1e-9,
            "{}",
            car.acceleration()
        );
        let (car, _) = brake(p, 9.0);
        assert!(
            (car.position().x - 47.19).abs() < 0.01,
            "{}",
            car.position().x
        );
    }

    /// Drives with constant steering until steady; returns the car.
    fn steady_turn(speed: f64, delta: f64) -> Vehicle {
        let mut car = Vehicle::new(
            VehicleParams::default(),
            VehicleState::at(0.0, 0.0, 0.0, speed),
        )
        .unwrap();
        let cmd = Command {
            steering_angle: delta,
            drive: Drive::Speed(speed),
        };
        for _ in 0..1000 {
            car.step(&cmd, 0.01).unwrap();
        }
        car
    }

    #[test]
    fn steady_turn_at_low_lateral_acceleration_matches_the_bicycle_model() {
        // With cornering stiffness proportional to axle load the linear bicycle model is
        // neutral: understeer gradient m/L·(lr/Cf − lf/Cr) = 0, so r = v·δ/L. At 10 m/s and
        // δ = 0.02 rad: r = 10·0.02/2.5789 = 0.07755 rad/s, R = L/δ = 128.9 m, ay = 0.776 m/s².
        let (v, delta) = (10.0, 0.02);
        let mut car = steady_turn(v, delta);
        let l = car.params().wheelbase();
        assert!((car.speed() - v).abs() < 0.01, "{}", car.speed());
        let r = car.speed() * delta / l;
        assert!(
            (car.yaw_rate() / r - 1.0).abs() < 0.005,
            "{} vs {r}",
            car.yaw_rate()
        );
        assert!((car.yaw_rate() - 0.07755).abs() < 0.0005);
        assert!(
            (car.acceleration().y - 0.7755).abs() < 0.005,
            "{}",
            car.acceleration()
        );
        // Radius of the driven path: circle through three points a quarter turn apart.
        let mut points = vec![car.position()];
        let quarter = std::f64::consts::FRAC_PI_2 / car.yaw_rate();
        let cmd = Command {
            steering_angle: delta,
            drive: Drive::Speed(v),
        };
        for _ in 0..2 {
            car.step(&cmd, quarter).unwrap();
            points.push(car.position());
        }
        let radius = circumradius(points[0], points[1], points[2]);
        assert!((radius - l / delta).abs() < 0.5, "{radius}");
    }

    #[test]
    fn steady_turn_at_walking_pace_is_kinematic() {
        // 2 m/s is below kinematic_speed: r = v·tan δ / L = 2·tan 0.3/2.5789 = 0.2399 rad/s.
        let car = steady_turn(2.0, 0.3);
        let expected = car.speed() * 0.3f64.tan() / car.params().wheelbase();
        assert!(
            (car.yaw_rate() - expected).abs() < 1e-6,
            "{}",
            car.yaw_rate()
        );
        assert!((expected - 0.2399).abs() < 1e-4);
        // No-slip rear axle: vy = lr·r.
        assert!((car.velocity().y - 1.4227 * expected).abs() < 1e-6);
    }

    fn circumradius(a: Point2<f64>, b: Point2<f64>, c: Point2<f64>) -> f64 {
        let (ab, bc, ca) = ((b - a).norm(), (c - b).norm(), (a - c).norm());
        let cross = (b - a).perp(&(c - a)).abs();
        ab * bc * ca / (2.0 * cross)
    }

    /// Brakes and steers hard and checks the friction circle at every step, both the
    /// reported acceleration and the world-frame velocity change over the step.
    fn check_friction_circle(friction: f64, decel: f64, steer: f64) {
        let p = VehicleParams {
            friction,
            max_steering_rate: 2.0,
            ..VehicleParams::default()
        };
        let mu_g = friction * GRAVITY;
        let mut car = Vehicle::new(p, VehicleState::at(0.0, 0.0, 0.0, 25.0)).unwrap();
        let dt = 0.01;
        let world_velocity = |c: &Vehicle| {
            let (s, co) = c.yaw().sin_cos();
            let v = c.velocity();
            Vector2::new(v.x * co - v.y * s, v.x * s + v.y * co)
        };
        let mut peak: f64 = 0.0;
        for i in 0..1500 {
            let cmd = Command {
                steering_angle: if (i / 100) % 2 == 0 { steer } else { -steer },
                drive: Drive::Accel(if i < 50 { 0.0 } else { -decel }),
            };
            let before = world_velocity(&car);
            car.step(&cmd, dt).unwrap();
            let reported = car.acceleration().norm();
            let realised = (world_velocity(&car) - before).norm() / dt;
            assert!(
                reported <= mu_g * (1.0 + 1e-9),
                "step {i}: {reported} > {mu_g}"
            );
            assert!(
                realised <= mu_g * (1.0 + 1e-3),
                "step {i}: {realised} > {mu_g}"
            );
            peak = peak.max(realised);
        }
        assert_eq!(car.speed(), 0.0);
        // The limit is reached, so the check above is not vacuous.
        assert!(peak > 0.95 * mu_g, "{peak}");
    }

    #[test]
    fn friction_circle_holds_under_combined_braking_and_steering() {
        check_friction_circle(1.0, 9.0, 0.2);
        check_friction_circle(1.0, 6.0, 0.5);
        check_friction_circle(0.3, 9.0, 0.1);
    }

    #[test]
    fn a_speed_with_an_acceleration_is_reached_at_that_acceleration() {
        // 10 → 20 m/s at 2 m/s² with a 0.1 s drive lag: the lag costs about τ·a = 0.2 m/s of
        // speed, so 20 m/s is reached about 0.1 s after the lag-free 5 s, and not overshot by
        // more than the lag lets through.
        let mut car = Vehicle::new(
            VehicleParams {
                drive_time_constant: 0.1,
                ..VehicleParams::default()
            },
            VehicleState::at(0.0, 0.0, 0.0, 10.0),
        )
        .unwrap();
        let cmd = Command {
            steering_angle: 0.0,
            drive: Drive::SpeedAt {
                speed: 20.0,
                accel: 2.0,
            },
        };
        let dt = 0.01;
        let mut reached = None;
        let mut top: f64 = 0.0;
        for i in 1..=1000 {
            car.step(&cmd, dt).unwrap();
            top = top.max(car.speed());
            if reached.is_none() && car.speed() >= 20.0 - 1e-6 {
                reached = Some(i as f64 * dt);
            }
        }
        let reached = reached.expect("reached 20 m/s");
        assert!((reached - 5.1).abs() < 0.05, "reached after {reached} s");
        assert!(top < 20.25, "overshoot to {top}");
        assert!((car.speed() - 20.0).abs() < 0.01, "{}", car.speed());
        // A plain speed target with the same 0.1 s-ahead error crawls instead: the speed
        // controller's 2/s gain turns a 0.2 m/s lead into 0.4 m/s².
        let mut crawl = Vehicle::new(
            VehicleParams::default(),
            VehicleState::at(0.0, 0.0, 0.0, 10.0),
        )
        .unwrap();
        for _ in 0..100 {
            let lead = Command {
                steering_angle: 0.0,
                drive: Drive::Speed(crawl.speed() + 0.2),
            };
            crawl.step(&lead, dt).unwrap();
        }
        assert!(crawl.speed() < 10.5, "{}", crawl.speed());
    }

    #[test]
    fn steering_rate_limit_is_respected() {
        // Rate-limited while the lag asks for more than 0.4 rad/s, i.e. until 0.3 − δ < 0.4·0.05.
        let mut car = Vehicle::new(
            VehicleParams::default(),
            VehicleState::at(0.0, 0.0, 0.0, 10.0),
        )
        .unwrap();
        let cmd = Command {
            steering_angle: 0.3,
            drive: Drive::Speed(10.0),
        };
        let dt = 0.01;
        let mut previous = 0.0;
        for i in 1..=200 {
            car.step(&cmd, dt).unwrap();
            let delta = car.steering_angle();
            assert!((delta - previous).abs() <= 0.4 * dt + 1e-12, "step {i}");
            previous = delta;
            if i == 50 {
                assert!((delta - 0.2).abs() < 1e-9, "{delta}");
            }
        }
        assert!((previous - 0.3).abs() < 1e-6, "{previous}");
        // The angle limit clamps the target.
        let cmd = Command {
            steering_angle: 5.0,
            drive: Drive::Speed(0.0),
        };
        for _ in 0..500 {
            car.step(&cmd, dt).unwrap();
        }
        assert!((car.steering_angle() - 1.066).abs() < 1e-9);
    }

    #[test]
    fn speed_never_goes_negative_and_a_stopped_car_stays_put() {
        let mut car = Vehicle::new(
            VehicleParams::default(),
            VehicleState::at(0.0, 0.0, 0.0, 5.0),
        )
        .unwrap();
        let commands = [Drive::Accel(-10.0), Drive::Speed(-5.0)];
        let mut stopped_at = None;
        for i in 0..600 {
            let cmd = Command {
                steering_angle: 0.2,
                drive: commands[i / 300],
            };
            car.step(&cmd, 0.01).unwrap();
            assert!(car.speed() >= 0.0);
            if car.speed() == 0.0 && stopped_at.is_none() {
                stopped_at = Some(car.position());
            }
        }
        // Braking at the friction limit leaves no grip to cancel the sideways slide, so the car
        // creeps a few millimetres sideways once stopped, then stands still.
        let stop = stopped_at.expect("the car stops");
        assert!((car.position() - stop).norm() < 0.01, "{}", car.position());
        assert_eq!(car.speed(), 0.0);
        let settled = *car.state();
        let hold = Command {
            steering_angle: -0.5,
            drive: Drive::Speed(0.0),
        };
        for _ in 0..100 {
            car.step(&hold, 0.01).unwrap();
        }
        assert_eq!((car.state().x, car.state().y), (settled.x, settled.y));
    }

    #[test]
    fn speed_command_reaches_target_within_limits() {
        let mut car = Vehicle::new(
            VehicleParams::default(),
            VehicleState::at(0.0, 0.0, 0.0, 10.0),
        )
        .unwrap();
        let cmd = Command {
            steering_angle: 0.0,
            drive: Drive::Speed(20.0),
        };
        for _ in 0..1000 {
            car.step(&cmd, 0.01).unwrap();
            assert!(car.acceleration().x <= 3.5 + 1e-9);
        }
        assert!((car.speed() - 20.0).abs() < 1e-3, "{}", car.speed());
    }

    #[test]
    fn same_inputs_give_bit_identical_states() {
        let run = || {
            let mut car = Vehicle::new(
                VehicleParams::default(),
                VehicleState::at(1.0, 2.0, 0.3, 20.0),
            )
            .unwrap();
            let mut trace = Vec::new();
            for i in 0..400 {
                let cmd = Command {
                    steering_angle: (i as f64 * 0.05).sin() * 0.3,
                    drive: if i < 200 {
                        Drive::Speed(25.0)
                    } else {
                        Drive::Accel(-8.0)
                    },
                };
                car.step(&cmd, 0.02).unwrap();
                let s = car.state();
                trace.push(
                    [
                        s.x,
                        s.y,
                        s.yaw,
                        s.vx,
                        s.vy,
                        s.yaw_rate,
                        s.steering_angle,
                        s.accel,
                    ]
                    .map(f64::to_bits),
                );
            }
            trace
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn invalid_parameters_states_and_inputs_are_rejected() {
        let p = VehicleParams {
            mass: -1.0,
            ..VehicleParams::default()
        };
        let err = Vehicle::new(p, VehicleState::default()).unwrap_err();
        assert!(matches!(
            err,
            VehicleError::InvalidParameter { name: "mass", .. }
        ));
        let p = VehicleParams {
            dynamic_speed: 2.0,
            ..VehicleParams::default()
        };
        assert!(Vehicle::new(p, VehicleState::default()).is_err());
        let err = Vehicle::new(
            VehicleParams::default(),
            VehicleState::at(0.0, 0.0, 0.0, -1.0),
        )
        .unwrap_err();
        assert!(matches!(err, VehicleError::InvalidState { name: "vx", .. }));

        let mut car = Vehicle::new(VehicleParams::default(), VehicleState::default()).unwrap();
        let ok = Command {
            steering_angle: 0.0,
            drive: Drive::Speed(1.0),
        };
        assert_eq!(
            car.step(&ok, -0.1),
            Err(VehicleError::InvalidTimeStep(-0.1))
        );
        assert!(car.step(&ok, f64::NAN).is_err());
        let nan = Command {
            steering_angle: f64::NAN,
            ..ok
        };
        assert!(matches!(
            car.step(&nan, 0.1),
            Err(VehicleError::InvalidCommand {
                name: "steering_angle",
                ..
            })
        ));
        assert_eq!(car.state(), &VehicleState::default());
    }

    #[test]
    fn yaw_stays_wrapped() {
        assert_eq!(wrap_angle(3.0 * std::f64::consts::PI), std::f64::consts::PI);
        assert!((wrap_angle(-3.5) - (2.0 * std::f64::consts::PI - 3.5)).abs() < 1e-15);
        assert_eq!(wrap_angle(1.0), 1.0);
    }
}
