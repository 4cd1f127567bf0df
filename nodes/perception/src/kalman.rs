//! Kalman filters on the ground plane: constant velocity (linear KF), CTRV and CTRA (EKFs).
//!
//! All observe position (the turning models also a box's axis); the tracker decides which
//! model a class uses (see `tracker.rs`). Covariance updates use the Joseph form followed by
//! symmetrisation, so the covariance stays symmetric positive semi-definite even with poorly
//! conditioned gains.

use std::f64::consts::PI;

use nalgebra::{
    Cholesky, Matrix2, Matrix3, Matrix4, Matrix5, Matrix6, SMatrix, SVector, Vector2, Vector3,
    Vector4, Vector5, Vector6,
};
use thiserror::Error;

/// Errors from filter operations; the filter is unchanged when one is returned.
#[derive(Clone, Copy, Debug, PartialEq, Error)]
pub enum KalmanError {
    /// The time step is negative or not finite.
    #[error("time step {0} s must be finite and non-negative")]
    InvalidDt(f64),
    /// A measurement or noise value is not finite.
    #[error("measurement or noise contains a non-finite value")]
    NonFinite,
    /// The innovation covariance could not be factorised.
    #[error("innovation covariance is not positive definite")]
    NotPositiveDefinite,
}

/// Which motion model a filter runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MotionModel {
    /// Constant velocity: state (x, y, vx, vy).
    Cv,
    /// Constant turn rate and velocity: state (x, y, v, yaw, yaw_rate).
    Ctrv,
    /// Constant turn rate and acceleration: state (x, y, v, yaw, yaw_rate, a).
    Ctra,
}

/// Continuous white-noise accelerations driving the motion models.
///
/// Continuous rather than held per step, so that the noise added over a time span does not
/// depend on how the span is cut: frames with varying dt and prediction steps of any size see
/// the same model. The velocity variance grows by `accel_std²·t`, the position variance (CV)
/// by `accel_std²·t³/3`; `accel_std` is the std of the acceleration averaged over one second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProcessNoise {
    /// Linear acceleration intensity (m/s²·√s).
    pub accel_std: f64,
    /// Yaw acceleration intensity (rad/s²·√s); used by CTRV and CTRA.
    pub yaw_accel_std: f64,
    /// Jerk intensity (m/s³·√s) driving CTRA's acceleration state; unused by the others.
    pub jerk_std: f64,
}

/// Covariance added to a (position, velocity, acceleration) chain by continuous white jerk of
/// intensity `q` over `dt`.
fn cwnj_block(q: f64, dt: f64) -> Matrix3<f64> {
    let (t2, t3) = (dt * dt, dt * dt * dt);
    Matrix3::new(
        t3 * t2 / 20.0,
        t2 * t2 / 8.0,
        t3 / 6.0,
        t2 * t2 / 8.0,
        t3 / 3.0,
        t2 / 2.0,
        t3 / 6.0,
        t2 / 2.0,
        dt,
    ) * q
}

/// Covariance added to a (position, rate) pair by continuous white noise of intensity `q`
/// over `dt`: q·[[dt³/3, dt²/2], [dt²/2, dt]].
fn cwna_block(q: f64, dt: f64) -> (f64, f64, f64) {
    (q * dt * dt * dt / 3.0, q * dt * dt / 2.0, q * dt)
}

/// Innovation (measurement residual) and its covariance S = H P Hᵀ + R.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Innovation<const M: usize> {
    /// z − h(x).
    pub residual: SVector<f64, M>,
    /// Innovation covariance S.
    pub covariance: SMatrix<f64, M, M>,
}

impl<const M: usize> Innovation<M> {
    /// Squared Mahalanobis distance rᵀ S⁻¹ r (χ² with M degrees of freedom).
    pub fn mahalanobis_sq(&self) -> Result<f64, KalmanError> {
        let ch = Cholesky::new(self.covariance).ok_or(KalmanError::NotPositiveDefinite)?;
        Ok(self.residual.dot(&ch.solve(&self.residual)))
    }

    /// ln det S, the normalising term of the Gaussian likelihood.
    pub fn log_det(&self) -> Result<f64, KalmanError> {
        Ok(self.mahalanobis_sq_and_log_det()?.1)
    }

    /// Both d² and ln det S from one factorisation (the association cost needs both).
    pub fn mahalanobis_sq_and_log_det(&self) -> Result<(f64, f64), KalmanError> {
        let ch = Cholesky::new(self.covariance).ok_or(KalmanError::NotPositiveDefinite)?;
        let d2 = self.residual.dot(&ch.solve(&self.residual));
        let log_det = 2.0 * ch.l().diagonal().iter().map(|d| d.ln()).sum::<f64>();
        Ok((d2, log_det))
    }
}

/// Wraps an angle to (−π, π].
pub fn wrap_angle(a: f64) -> f64 {
    let w = (a + PI).rem_euclid(2.0 * PI) - PI;
    if w <= -PI { w + 2.0 * PI } else { w }
}

fn check_dt(dt: f64) -> Result<(), KalmanError> {
    if dt.is_finite() && dt >= 0.0 {
        Ok(())
    } else {
        Err(KalmanError::InvalidDt(dt))
    }
}

fn check_finite<const R: usize, const C: usize>(m: &SMatrix<f64, R, C>) -> Result<(), KalmanError> {
    if m.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(KalmanError::NonFinite)
    }
}

fn check_noise(n: &ProcessNoise) -> Result<(), KalmanError> {
    if n.accel_std.is_finite() && n.yaw_accel_std.is_finite() && n.jerk_std.is_finite() {
        Ok(())
    } else {
        Err(KalmanError::NonFinite)
    }
}

fn symmetrise<const N: usize>(p: &SMatrix<f64, N, N>) -> SMatrix<f64, N, N> {
    (p + p.transpose()) * 0.5
}

/// Linear(ised) measurement update in Joseph form; returns the new state and covariance.
fn joseph_update<const N: usize, const M: usize>(
    x: &SVector<f64, N>,
    p: &SMatrix<f64, N, N>,
    h: &SMatrix<f64, M, N>,
    residual: &SVector<f64, M>,
    r: &SMatrix<f64, M, M>,
) -> Result<(SVector<f64, N>, SMatrix<f64, N, N>), KalmanError> {
    let s = h * p * h.transpose() + r;
    let ch = Cholesky::new(s).ok_or(KalmanError::NotPositiveDefinite)?;
    // K = P Hᵀ S⁻¹, computed as (S⁻¹ H P)ᵀ since S and P are symmetric: no explicit inverse.
    let k = ch.solve(&(h * p)).transpose();
    let x_new = x + k * residual;
    let i_kh = SMatrix::<f64, N, N>::identity() - k * h;
    let p_new = i_kh * p * i_kh.transpose() + k * r * k.transpose();
    let p_new = symmetrise(&p_new);
    check_finite(&x_new)?;
    check_finite(&p_new)?;
    Ok((x_new, p_new))
}

/// The propagated state and covariance F P Fᵀ + Q, both checked finite.
fn propagate<const N: usize>(
    state: SVector<f64, N>,
    covariance: &SMatrix<f64, N, N>,
    f: &SMatrix<f64, N, N>,
    q: &SMatrix<f64, N, N>,
) -> Result<(SVector<f64, N>, SMatrix<f64, N, N>), KalmanError> {
    let cov = symmetrise(&(f * covariance * f.transpose() + q));
    check_finite(&state)?;
    check_finite(&cov)?;
    Ok((state, cov))
}

fn position_innovation<const N: usize>(
    x: &SVector<f64, N>,
    p: &SMatrix<f64, N, N>,
    h: &SMatrix<f64, 2, N>,
    z: &Vector2<f64>,
    r: &Matrix2<f64>,
) -> Result<Innovation<2>, KalmanError> {
    check_finite(z)?;
    check_finite(r)?;
    Ok(Innovation {
        residual: z - h * x,
        covariance: symmetrise(&(h * p * h.transpose() + r)),
    })
}

/// Constant-velocity Kalman filter, state (x, y, vx, vy).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CvFilter {
    /// State (x, y, vx, vy).
    pub state: Vector4<f64>,
    /// State covariance.
    pub covariance: Matrix4<f64>,
}

/// Observation of the position, the first two entries of every state here.
fn h_position<const N: usize>() -> SMatrix<f64, 2, N> {
    let mut h = SMatrix::<f64, 2, N>::zeros();
    h[(0, 0)] = 1.0;
    h[(1, 1)] = 1.0;
    h
}

impl CvFilter {
    /// Filter with the given state and covariance.
    pub fn new(state: Vector4<f64>, covariance: Matrix4<f64>) -> Self {
        Self { state, covariance }
    }

    /// Filter at a measured position with zero velocity of isotropic variance `velocity_var`.
    pub fn at_position(
        position: Vector2<f64>,
        position_cov: &Matrix2<f64>,
        velocity_var: f64,
    ) -> Self {
        let mut p = Matrix4::zeros();
        p.fixed_view_mut::<2, 2>(0, 0).copy_from(position_cov);
        p[(2, 2)] = velocity_var;
        p[(3, 3)] = velocity_var;
        Self::new(Vector4::new(position.x, position.y, 0.0, 0.0), p)
    }

    /// Two-point initialisation: position from the second fix, velocity from the difference.
    ///
    /// With independent fixes of covariance R: Cov(x₂) = R, Cov(x₂, v) = R/dt, Cov(v) = 2R/dt².
    /// This is the exact covariance of the estimator, so the filter is consistent from its
    /// second frame instead of slowly forgetting an arbitrary velocity prior.
    pub fn from_two_positions(
        first: Vector2<f64>,
        second: Vector2<f64>,
        dt: f64,
        r: &Matrix2<f64>,
    ) -> Result<Self, KalmanError> {
        check_dt(dt)?;
        if dt <= 0.0 {
            return Err(KalmanError::InvalidDt(dt));
        }
        check_finite(&first)?;
        check_finite(&second)?;
        check_finite(r)?;
        let v = (second - first) / dt;
        let mut p = Matrix4::zeros();
        p.fixed_view_mut::<2, 2>(0, 0).copy_from(r);
        p.fixed_view_mut::<2, 2>(0, 2).copy_from(&(r / dt));
        p.fixed_view_mut::<2, 2>(2, 0).copy_from(&(r / dt));
        p.fixed_view_mut::<2, 2>(2, 2)
            .copy_from(&(r * (2.0 / (dt * dt))));
        Ok(Self::new(Vector4::new(second.x, second.y, v.x, v.y), p))
    }

    /// Position (x, y).
    pub fn position(&self) -> Vector2<f64> {
        self.state.fixed_rows::<2>(0).into_owned()
    }

    /// Velocity (vx, vy).
    pub fn velocity(&self) -> Vector2<f64> {
        self.state.fixed_rows::<2>(2).into_owned()
    }

    /// Position covariance.
    pub fn position_covariance(&self) -> Matrix2<f64> {
        self.covariance.fixed_view::<2, 2>(0, 0).into_owned()
    }

    /// Velocity covariance.
    pub fn velocity_covariance(&self) -> Matrix2<f64> {
        self.covariance.fixed_view::<2, 2>(2, 2).into_owned()
    }

    /// Propagates by `dt` seconds with continuous white acceleration noise.
    pub fn predict(&mut self, dt: f64, noise: &ProcessNoise) -> Result<(), KalmanError> {
        check_dt(dt)?;
        check_noise(noise)?;
        let mut f = Matrix4::identity();
        f[(0, 2)] = dt;
        f[(1, 3)] = dt;
        let (pp, pv, vv) = cwna_block(noise.accel_std * noise.accel_std, dt);
        let mut q = Matrix4::zeros();
        for axis in 0..2 {
            q[(axis, axis)] = pp;
            q[(axis, axis + 2)] = pv;
            q[(axis + 2, axis)] = pv;
            q[(axis + 2, axis + 2)] = vv;
        }
        (self.state, self.covariance) = propagate(f * self.state, &self.covariance, &f, &q)?;
        Ok(())
    }

    /// Innovation of a position measurement `z` with covariance `r`.
    pub fn position_innovation(
        &self,
        z: &Vector2<f64>,
        r: &Matrix2<f64>,
    ) -> Result<Innovation<2>, KalmanError> {
        position_innovation(&self.state, &self.covariance, &h_position::<4>(), z, r)
    }

    /// Updates with a position measurement `z` with covariance `r`.
    pub fn update_position(
        &mut self,
        z: &Vector2<f64>,
        r: &Matrix2<f64>,
    ) -> Result<(), KalmanError> {
        let inn = self.position_innovation(z, r)?;
        let (x, p) = joseph_update(
            &self.state,
            &self.covariance,
            &h_position::<4>(),
            &inn.residual,
            r,
        )?;
        self.state = x;
        self.covariance = p;
        Ok(())
    }
}

/// Below this |yaw_rate| (rad/s) CTRV uses the straight-line limit (second-order in ω).
const CTRV_MIN_YAW_RATE: f64 = 1e-4;

/// Extended Kalman filter of a turning model: the state begins (x, y, v, yaw, yaw_rate), v
/// may go negative (reversing). See [`CtrvFilter`] and [`CtraFilter`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TurningFilter<const N: usize> {
    /// State.
    pub state: SVector<f64, N>,
    /// State covariance.
    pub covariance: SMatrix<f64, N, N>,
}

/// CTRV extended Kalman filter, state (x, y, v, yaw, yaw_rate).
pub type CtrvFilter = TurningFilter<5>;

/// CTRA extended Kalman filter, state (x, y, v, yaw, yaw_rate, a): CTRV with the speed's
/// rate of change, for road users that brake hard (a braking motorcycle is followed ≈ 1 m/s
/// behind by CTRV at its noise).
pub type CtraFilter = TurningFilter<6>;

impl<const N: usize> TurningFilter<N> {
    /// Filter with the given state and covariance.
    pub fn new(state: SVector<f64, N>, covariance: SMatrix<f64, N, N>) -> Self {
        Self { state, covariance }
    }

    /// Position (x, y).
    pub fn position(&self) -> Vector2<f64> {
        Vector2::new(self.state[0], self.state[1])
    }

    /// Cartesian velocity (vx, vy).
    pub fn velocity(&self) -> Vector2<f64> {
        let (s, c) = self.state[3].sin_cos();
        Vector2::new(self.state[2] * c, self.state[2] * s)
    }

    /// Position covariance.
    pub fn position_covariance(&self) -> Matrix2<f64> {
        self.covariance.fixed_view::<2, 2>(0, 0).into_owned()
    }

    /// Cartesian velocity covariance, linearised from (v, yaw).
    pub fn velocity_covariance(&self) -> Matrix2<f64> {
        let (v, (s, c)) = (self.state[2], self.state[3].sin_cos());
        let j = Matrix2::new(c, -v * s, s, v * c);
        symmetrise(&(j * self.covariance.fixed_view::<2, 2>(2, 2) * j.transpose()))
    }

    /// Innovation of a position measurement `z` with covariance `r`.
    pub fn position_innovation(
        &self,
        z: &Vector2<f64>,
        r: &Matrix2<f64>,
    ) -> Result<Innovation<2>, KalmanError> {
        position_innovation(&self.state, &self.covariance, &h_position::<N>(), z, r)
    }

    /// Updates with a position measurement `z` with covariance `r`.
    pub fn update_position(
        &mut self,
        z: &Vector2<f64>,
        r: &Matrix2<f64>,
    ) -> Result<(), KalmanError> {
        let h = h_position::<N>();
        let inn = self.position_innovation(z, r)?;
        let (mut x, p) = joseph_update(&self.state, &self.covariance, &h, &inn.residual, r)?;
        x[3] = wrap_angle(x[3]);
        self.state = x;
        self.covariance = p;
        Ok(())
    }

    /// Updates with a position and a box yaw that is ambiguous by π (std `yaw_std`, rad).
    ///
    /// Of `yaw` and `yaw + π` the one nearer the state's yaw is used: a box does not say
    /// which end is the front, the sign of `v` absorbs the choice.
    pub fn update_position_yaw(
        &mut self,
        z: &Vector2<f64>,
        yaw: f64,
        r: &Matrix2<f64>,
        yaw_std: f64,
    ) -> Result<(), KalmanError> {
        check_finite(z)?;
        check_finite(r)?;
        if !yaw.is_finite() || !yaw_std.is_finite() {
            return Err(KalmanError::NonFinite);
        }
        let mut yaw_residual = wrap_angle(yaw - self.state[3]);
        if yaw_residual > PI / 2.0 {
            yaw_residual -= PI;
        } else if yaw_residual <= -PI / 2.0 {
            yaw_residual += PI;
        }
        let mut h = SMatrix::<f64, 3, N>::zeros();
        h[(0, 0)] = 1.0;
        h[(1, 1)] = 1.0;
        h[(2, 3)] = 1.0;
        let pos = self.position();
        let residual = Vector3::new(z.x - pos.x, z.y - pos.y, yaw_residual);
        let mut r3 = Matrix3::zeros();
        r3.fixed_view_mut::<2, 2>(0, 0).copy_from(r);
        r3[(2, 2)] = yaw_std * yaw_std;
        let (mut x, p) = joseph_update(&self.state, &self.covariance, &h, &residual, &r3)?;
        x[3] = wrap_angle(x[3]);
        self.state = x;
        self.covariance = p;
        Ok(())
    }
}

/// CTRV motion: the propagated state and the Jacobian of the transition.
pub fn ctrv_transition(s: &Vector5<f64>, dt: f64) -> (Vector5<f64>, Matrix5<f64>) {
    let (x, y, v, yaw, w) = (s[0], s[1], s[2], s[3], s[4]);
    let (s0, c0) = yaw.sin_cos();
    let mut j = Matrix5::identity();
    let (nx, ny);
    if w.abs() > CTRV_MIN_YAW_RATE {
        let (s1, c1) = (yaw + w * dt).sin_cos();
        nx = x + v / w * (s1 - s0);
        ny = y + v / w * (c0 - c1);
        j[(0, 2)] = (s1 - s0) / w;
        j[(0, 3)] = v / w * (c1 - c0);
        j[(0, 4)] = v * dt * c1 / w - v * (s1 - s0) / (w * w);
        j[(1, 2)] = (c0 - c1) / w;
        j[(1, 3)] = v / w * (s1 - s0);
        j[(1, 4)] = v * dt * s1 / w - v * (c0 - c1) / (w * w);
    } else {
        // Second-order expansion in ω keeps the mean and Jacobian continuous across the switch.
        let dt2 = dt * dt;
        nx = x + v * dt * c0 - 0.5 * v * w * dt2 * s0;
        ny = y + v * dt * s0 + 0.5 * v * w * dt2 * c0;
        j[(0, 2)] = dt * c0 - 0.5 * w * dt2 * s0;
        j[(0, 3)] = -v * dt * s0 - 0.5 * v * w * dt2 * c0;
        j[(0, 4)] = -0.5 * v * dt2 * s0;
        j[(1, 2)] = dt * s0 + 0.5 * w * dt2 * c0;
        j[(1, 3)] = v * dt * c0 - 0.5 * v * w * dt2 * s0;
        j[(1, 4)] = 0.5 * v * dt2 * c0;
    }
    j[(3, 4)] = dt;
    (Vector5::new(nx, ny, v, wrap_angle(yaw + w * dt), w), j)
}

impl CtrvFilter {
    /// Converts a CV estimate; `yaw_hint` (e.g. the box yaw) is used when the velocity is
    /// too uncertain to define a heading. The yaw rate starts at 0 with std `yaw_rate_std`.
    pub fn from_cv(cv: &CvFilter, yaw_hint: f64, yaw_rate_std: f64) -> Self {
        let vel = cv.velocity();
        let speed = vel.norm();
        let vel_std = (cv.velocity_covariance().trace() / 2.0).max(0.0).sqrt();
        // Map (x, y, vx, vy) → (x, y, v, yaw) through the Jacobian J; the heading comes from
        // the velocity only when the speed clearly exceeds its own noise.
        let mut j = SMatrix::<f64, 4, 4>::identity();
        let (v, yaw, yaw_var_extra);
        if speed > 2.0 * vel_std && speed > 1e-6 {
            v = speed;
            yaw = vel.y.atan2(vel.x);
            j[(2, 2)] = vel.x / speed;
            j[(2, 3)] = vel.y / speed;
            j[(3, 2)] = -vel.y / (speed * speed);
            j[(3, 3)] = vel.x / (speed * speed);
            yaw_var_extra = 0.0;
        } else {
            let hint = if yaw_hint.is_finite() { yaw_hint } else { 0.0 };
            let (s, c) = hint.sin_cos();
            v = vel.x * c + vel.y * s;
            yaw = wrap_angle(hint);
            j[(2, 2)] = c;
            j[(2, 3)] = s;
            j[(3, 2)] = 0.0;
            j[(3, 3)] = 0.0;
            // A box axis is only a rough heading (and the tracker resolves its π ambiguity by
            // the sign of v), so give it a wide prior.
            yaw_var_extra = 0.5 * 0.5;
        }
        let p4 = j * cv.covariance * j.transpose();
        let mut p = Matrix5::zeros();
        p.fixed_view_mut::<4, 4>(0, 0).copy_from(&p4);
        p[(3, 3)] += yaw_var_extra;
        p[(4, 4)] = yaw_rate_std * yaw_rate_std;
        let pos = cv.position();
        Self::new(Vector5::new(pos.x, pos.y, v, yaw, 0.0), symmetrise(&p))
    }

    /// Converts to a CV estimate (drops the yaw rate).
    pub fn to_cv(&self) -> CvFilter {
        let (v, yaw) = (self.state[2], self.state[3]);
        let (s, c) = yaw.sin_cos();
        let mut j = SMatrix::<f64, 4, 5>::zeros();
        j[(0, 0)] = 1.0;
        j[(1, 1)] = 1.0;
        j[(2, 2)] = c;
        j[(2, 3)] = -v * s;
        j[(3, 2)] = s;
        j[(3, 3)] = v * c;
        let p = symmetrise(&(j * self.covariance * j.transpose()));
        CvFilter::new(Vector4::new(self.state[0], self.state[1], v * c, v * s), p)
    }

    /// Propagates by `dt` with white longitudinal and yaw acceleration noise.
    pub fn predict(&mut self, dt: f64, noise: &ProcessNoise) -> Result<(), KalmanError> {
        check_dt(dt)?;
        check_noise(noise)?;
        let (state, f) = ctrv_transition(&self.state, dt);
        let q = turning_noise::<5>(self.state[3], noise, dt);
        (self.state, self.covariance) = propagate(state, &self.covariance, &f, &q)?;
        Ok(())
    }
}

/// Process noise of the turning models' shared states: longitudinal noise on (distance along
/// the heading, v), yaw noise on (yaw, yaw_rate). The heading at the start of the step maps
/// the distance to (x, y), which is accurate while yaw_rate·dt is small.
fn turning_noise<const N: usize>(yaw: f64, noise: &ProcessNoise, dt: f64) -> SMatrix<f64, N, N> {
    let (s, c) = yaw.sin_cos();
    let u = Vector2::new(c, s);
    let (pp, pv, vv) = cwna_block(noise.accel_std * noise.accel_std, dt);
    let (yy, yw, ww) = cwna_block(noise.yaw_accel_std * noise.yaw_accel_std, dt);
    let mut q = SMatrix::<f64, N, N>::zeros();
    q.fixed_view_mut::<2, 2>(0, 0)
        .copy_from(&(u * u.transpose() * pp));
    q.fixed_view_mut::<2, 1>(0, 2).copy_from(&(u * pv));
    q.fixed_view_mut::<1, 2>(2, 0)
        .copy_from(&(u.transpose() * pv));
    q[(2, 2)] = vv;
    q[(3, 3)] = yy;
    q[(3, 4)] = yw;
    q[(4, 3)] = yw;
    q[(4, 4)] = ww;
    q
}

/// CTRA motion: the propagated state and the Jacobian of the transition.
///
/// The position moves along CTRV's arc at the step's mean speed. A speed that the
/// acceleration would take through zero stops at zero instead, with the acceleration gone:
/// braking ends at a standstill, it does not reverse the object. (A decaying acceleration,
/// Singer's model, was tried to keep long predictions tame: its time constant of 2 s left
/// a steady 4 m/s² braking estimated at 3 m/s² and 0.25 m/s behind.)
pub fn ctra_transition(s: &Vector6<f64>, dt: f64) -> (Vector6<f64>, Matrix6<f64>) {
    let (v, a) = (s[2], s[5]);
    let dv = a * dt;
    let stops = v * a < 0.0 && dv.abs() > v.abs();
    // Mean speed over the step and its derivatives by v and a.
    let (v_mean, dmean_dv, dmean_da, v_next, a_next) = if stops {
        // Decelerating uniformly for the fraction v / −dv of the step, then at rest.
        let mean = -v * v / (2.0 * dv);
        (mean, -v / dv, -mean / a, 0.0, 0.0)
    } else {
        (v + dv / 2.0, 1.0, dt / 2.0, v + dv, a)
    };
    let turning = Vector5::new(s[0], s[1], v_mean, s[3], s[4]);
    let (moved, j5) = ctrv_transition(&turning, dt);
    let mut j = Matrix6::zeros();
    for row in [0, 1, 3, 4] {
        for col in [0, 1, 3, 4] {
            j[(row, col)] = j5[(row, col)];
        }
        j[(row, 2)] = j5[(row, 2)] * dmean_dv;
        j[(row, 5)] = j5[(row, 2)] * dmean_da;
    }
    if !stops {
        j[(2, 2)] = 1.0;
        j[(2, 5)] = dt;
        j[(5, 5)] = 1.0;
    }
    let next = Vector6::new(moved[0], moved[1], v_next, moved[3], moved[4], a_next);
    (next, j)
}

impl CtraFilter {
    /// Extends a CTRV estimate with an acceleration of 0 ± `accel_std`.
    pub fn from_ctrv(ctrv: &CtrvFilter, accel_std: f64) -> Self {
        let mut p = Matrix6::zeros();
        p.fixed_view_mut::<5, 5>(0, 0).copy_from(&ctrv.covariance);
        p[(5, 5)] = accel_std * accel_std;
        let s = ctrv.state;
        Self::new(Vector6::new(s[0], s[1], s[2], s[3], s[4], 0.0), p)
    }

    /// Drops the acceleration (its marginal: the other states' estimate is unchanged).
    pub fn to_ctrv(&self) -> CtrvFilter {
        CtrvFilter::new(
            self.state.fixed_rows::<5>(0).into_owned(),
            self.covariance.fixed_view::<5, 5>(0, 0).into_owned(),
        )
    }

    /// Propagates by `dt` with white jerk, longitudinal and yaw acceleration noise.
    pub fn predict(&mut self, dt: f64, noise: &ProcessNoise) -> Result<(), KalmanError> {
        check_dt(dt)?;
        check_noise(noise)?;
        let (state, f) = ctra_transition(&self.state, dt);
        let mut q = turning_noise::<6>(self.state[3], noise, dt);
        // Jerk acts on the chain (distance along the heading, v, a).
        let (s, c) = self.state[3].sin_cos();
        let mut m = SMatrix::<f64, 6, 3>::zeros();
        m[(0, 0)] = c;
        m[(1, 0)] = s;
        m[(2, 1)] = 1.0;
        m[(5, 2)] = 1.0;
        q += m * cwnj_block(noise.jerk_std * noise.jerk_std, dt) * m.transpose();
        (self.state, self.covariance) = propagate(state, &self.covariance, &f, &q)?;
        Ok(())
    }
}

/// A track's filter: one of the motion models.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MotionFilter {
    /// Constant velocity.
    Cv(CvFilter),
    /// Constant turn rate and velocity.
    Ctrv(CtrvFilter),
    /// Constant turn rate and acceleration.
    Ctra(CtraFilter),
}

/// What a filter switching to a richer model starts its new states with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelPrior {
    /// Heading (rad) to use when the velocity is too uncertain to give one (e.g. a box yaw).
    pub yaw_hint: f64,
    /// Std of the initial yaw rate (rad/s), which starts at 0.
    pub yaw_rate_std: f64,
    /// Std of the initial acceleration (m/s²), which starts at 0.
    pub accel_std: f64,
}

/// The states CTRV and CTRA share, beyond the position.
#[derive(Clone, Copy, Debug)]
struct TurningStates {
    speed: f64,
    heading: f64,
    heading_var: f64,
    yaw_rate: f64,
}

impl MotionFilter {
    /// The model this filter runs.
    pub fn model(&self) -> MotionModel {
        match self {
            Self::Cv(_) => MotionModel::Cv,
            Self::Ctrv(_) => MotionModel::Ctrv,
            Self::Ctra(_) => MotionModel::Ctra,
        }
    }

    /// Propagates by `dt` seconds.
    pub fn predict(&mut self, dt: f64, noise: &ProcessNoise) -> Result<(), KalmanError> {
        match self {
            Self::Cv(f) => f.predict(dt, noise),
            Self::Ctrv(f) => f.predict(dt, noise),
            Self::Ctra(f) => f.predict(dt, noise),
        }
    }

    /// Innovation of a position measurement.
    pub fn position_innovation(
        &self,
        z: &Vector2<f64>,
        r: &Matrix2<f64>,
    ) -> Result<Innovation<2>, KalmanError> {
        match self {
            Self::Cv(f) => f.position_innovation(z, r),
            Self::Ctrv(f) => f.position_innovation(z, r),
            Self::Ctra(f) => f.position_innovation(z, r),
        }
    }

    /// Updates with a position and, for the turning models, a π-ambiguous box yaw if given.
    pub fn update_pose(
        &mut self,
        z: &Vector2<f64>,
        box_yaw: Option<f64>,
        r: &Matrix2<f64>,
        yaw_std: f64,
    ) -> Result<(), KalmanError> {
        match (self, box_yaw) {
            (Self::Ctrv(f), Some(yaw)) => f.update_position_yaw(z, yaw, r, yaw_std),
            (Self::Ctra(f), Some(yaw)) => f.update_position_yaw(z, yaw, r, yaw_std),
            (this, _) => this.update_position(z, r),
        }
    }

    /// Updates with a position measurement.
    pub fn update_position(
        &mut self,
        z: &Vector2<f64>,
        r: &Matrix2<f64>,
    ) -> Result<(), KalmanError> {
        match self {
            Self::Cv(f) => f.update_position(z, r),
            Self::Ctrv(f) => f.update_position(z, r),
            Self::Ctra(f) => f.update_position(z, r),
        }
    }

    /// Moves the position estimate by `offset`, leaving velocity and covariances alone: for a
    /// change in what the position refers to (a box's centre when the box is redrawn), which
    /// is no measurement of motion.
    pub fn translate(&mut self, offset: &Vector2<f64>) {
        // All states begin with (x, y).
        let state = match self {
            Self::Cv(f) => f.state.as_mut_slice(),
            Self::Ctrv(f) => f.state.as_mut_slice(),
            Self::Ctra(f) => f.state.as_mut_slice(),
        };
        state[0] += offset.x;
        state[1] += offset.y;
    }

    /// The estimate as CV (what a standing object's prediction starts from).
    pub fn to_cv(&self) -> CvFilter {
        match self {
            Self::Cv(f) => *f,
            Self::Ctrv(f) => f.to_cv(),
            Self::Ctra(f) => f.to_ctrv().to_cv(),
        }
    }

    /// Speed, heading, heading variance and yaw rate, read in place from the states the
    /// turning models share (the tracker asks per track and frame); `None` for CV.
    fn turning(&self) -> Option<TurningStates> {
        fn read<const N: usize>(f: &TurningFilter<N>) -> TurningStates {
            TurningStates {
                speed: f.state[2],
                heading: f.state[3],
                heading_var: f.covariance[(3, 3)],
                yaw_rate: f.state[4],
            }
        }
        match self {
            Self::Cv(_) => None,
            Self::Ctrv(f) => Some(read(f)),
            Self::Ctra(f) => Some(read(f)),
        }
    }

    /// Position (x, y).
    pub fn position(&self) -> Vector2<f64> {
        match self {
            Self::Cv(f) => f.position(),
            Self::Ctrv(f) => f.position(),
            Self::Ctra(f) => f.position(),
        }
    }

    /// Cartesian velocity (vx, vy).
    pub fn velocity(&self) -> Vector2<f64> {
        match self {
            Self::Cv(f) => f.velocity(),
            Self::Ctrv(f) => f.velocity(),
            Self::Ctra(f) => f.velocity(),
        }
    }

    /// Position covariance.
    pub fn position_covariance(&self) -> Matrix2<f64> {
        match self {
            Self::Cv(f) => f.position_covariance(),
            Self::Ctrv(f) => f.position_covariance(),
            Self::Ctra(f) => f.position_covariance(),
        }
    }

    /// Cartesian velocity covariance.
    pub fn velocity_covariance(&self) -> Matrix2<f64> {
        match self {
            Self::Cv(f) => f.velocity_covariance(),
            Self::Ctrv(f) => f.velocity_covariance(),
            Self::Ctra(f) => f.velocity_covariance(),
        }
    }

    /// Heading (rad) and its variance; `None` for CV, which has no heading state.
    pub fn heading(&self) -> Option<(f64, f64)> {
        self.turning().map(|f| (f.heading, f.heading_var))
    }

    /// Direction of travel (rad): the heading, turned by π when the speed is negative
    /// (reversing); `None` for CV.
    pub fn travel_heading(&self) -> Option<f64> {
        self.turning().map(|f| {
            if f.speed < 0.0 {
                wrap_angle(f.heading + PI)
            } else {
                f.heading
            }
        })
    }

    /// Yaw rate (rad/s); 0 for CV.
    pub fn yaw_rate(&self) -> f64 {
        self.turning().map_or(0.0, |f| f.yaw_rate)
    }

    /// Converts to `model`, keeping the estimate; `prior` seeds the states that are new.
    pub fn converted(&self, model: MotionModel, prior: &ModelPrior) -> Self {
        if model == self.model() {
            return *self;
        }
        let turning = match self {
            Self::Cv(f) => CtrvFilter::from_cv(f, prior.yaw_hint, prior.yaw_rate_std),
            Self::Ctrv(f) => *f,
            Self::Ctra(f) => f.to_ctrv(),
        };
        match model {
            MotionModel::Cv => Self::Cv(self.to_cv()),
            MotionModel::Ctrv => Self::Ctrv(turning),
            MotionModel::Ctra => Self::Ctra(CtraFilter::from_ctrv(&turning, prior.accel_std)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b} (tol {tol})");
    }

    #[test]
    fn cv_two_steps_by_hand() {
        // Start: x = (0, 0), v = (1, 0), P = I, R = 0.25·I, accel_std = 1, dt = 1.
        // Per axis Q = [[dt³/3, dt²/2], [dt²/2, dt]] = [[1/3, 1/2], [1/2, 1]].
        let noise = ProcessNoise {
            accel_std: 1.0,
            yaw_accel_std: 0.0,
            jerk_std: 0.0,
        };
        let r = Matrix2::identity() * 0.25;
        let mut f = CvFilter::new(Vector4::new(0.0, 0.0, 1.0, 0.0), Matrix4::identity());

        // Predict: x = 1; P_x = F P Fᵀ + Q = [[2, 1], [1, 1]] + Q = [[7/3, 3/2], [3/2, 2]].
        f.predict(1.0, &noise).unwrap();
        close(f.state[0], 1.0, 1e-12);
        close(f.covariance[(0, 0)], 7.0 / 3.0, 1e-12);
        close(f.covariance[(0, 2)], 1.5, 1e-12);
        close(f.covariance[(2, 2)], 2.0, 1e-12);

        // z = (1.5, 0): S = 7/3 + 1/4 = 31/12, residual 1/2, d² = (1/4)/(31/12) = 3/31,
        // K = (7/3, 3/2)·12/31 = (28/31, 18/31).
        let z = Vector2::new(1.5, 0.0);
        let inn = f.position_innovation(&z, &r).unwrap();
        close(inn.covariance[(0, 0)], 31.0 / 12.0, 1e-12);
        close(inn.mahalanobis_sq().unwrap(), 3.0 / 31.0, 1e-12);
        // ln det S = 2·ln(31/12) (x and y are independent and alike).
        close(inn.log_det().unwrap(), 2.0 * (31.0_f64 / 12.0).ln(), 1e-12);
        f.update_position(&z, &r).unwrap();
        // x = 1 + (28/31)(1/2) = 45/31, vx = 1 + (18/31)(1/2) = 40/31;
        // P = P − K S Kᵀ: a = 7/3 − (7/3)²·12/31 = 7/31, b = 3/2 − (7/3)(3/2)·12/31 = 9/62,
        // c = 2 − (3/2)²·12/31 = 35/31.
        close(f.state[0], 45.0 / 31.0, 1e-12);
        close(f.state[2], 40.0 / 31.0, 1e-12);
        close(f.covariance[(0, 0)], 7.0 / 31.0, 1e-12);
        close(f.covariance[(0, 2)], 9.0 / 62.0, 1e-12);
        close(f.covariance[(2, 2)], 35.0 / 31.0, 1e-12);

        // Predict: x = 45/31 + 40/31 = 85/31; P_x = [[a + 2b + c, b + c], [b + c, c]] + Q
        //        = [[51/31 + 1/3, 79/62 + 1/2], [·, 35/31 + 1]] = [[184/93, 55/31], [·, 66/31]].
        f.predict(1.0, &noise).unwrap();
        close(f.state[0], 85.0 / 31.0, 1e-12);
        close(f.covariance[(0, 0)], 184.0 / 93.0, 1e-12);
        close(f.covariance[(0, 2)], 55.0 / 31.0, 1e-12);
        close(f.covariance[(2, 2)], 66.0 / 31.0, 1e-12);

        // z = (3, 0): residual 3 − 85/31 = 8/31, S = 184/93 + 1/4 = 829/372,
        // K = (184/93, 55/31)·372/829 = (736/829, 660/829):
        // x = 85/31 + (736/829)(8/31), vx = 40/31 + (660/829)(8/31);
        // P: a = 184/93 − (184/93)·736/829, b = 55/31 − (184/93)·660/829,
        //    c = 66/31 − (55/31)·660/829.
        f.update_position(&Vector2::new(3.0, 0.0), &r).unwrap();
        let (s, k0, k1) = (829.0 / 372.0, 736.0 / 829.0, 660.0 / 829.0);
        close(184.0 / 93.0 / s, k0, 1e-12);
        close(f.state[0], 85.0 / 31.0 + k0 * 8.0 / 31.0, 1e-12);
        close(f.state[2], 40.0 / 31.0 + k1 * 8.0 / 31.0, 1e-12);
        close(f.covariance[(0, 0)], 184.0 / 93.0 * (1.0 - k0), 1e-12);
        close(f.covariance[(0, 2)], 55.0 / 31.0 - 184.0 / 93.0 * k1, 1e-12);
        close(f.covariance[(2, 2)], 66.0 / 31.0 - 55.0 / 31.0 * k1, 1e-12);
        // The y axis saw the same P and R with zero residuals: same variances, zero mean.
        close(f.state[1], 0.0, 1e-12);
        close(f.covariance[(1, 1)], f.covariance[(0, 0)], 1e-12);
        close(f.covariance[(0, 1)], 0.0, 1e-12);
    }

    #[test]
    fn process_noise_does_not_depend_on_the_step_size() {
        let noise = ProcessNoise {
            accel_std: 0.7,
            yaw_accel_std: 0.2,
            jerk_std: 0.0,
        };
        let start = CvFilter::from_two_positions(
            Vector2::zeros(),
            Vector2::new(0.3, 0.1),
            0.1,
            &(Matrix2::identity() * 0.01),
        )
        .unwrap();
        let mut one = start;
        one.predict(2.0, &noise).unwrap();
        let mut many = start;
        for _ in 0..40 {
            many.predict(0.05, &noise).unwrap();
        }
        assert!((one.covariance - many.covariance).norm() < 1e-12);
        // CTRV driving straight: its longitudinal noise matches CV's along the heading.
        let mut ctrv_one = CtrvFilter::new(
            Vector5::new(0.0, 0.0, 5.0, 0.0, 0.0),
            Matrix5::identity() * 0.01,
        );
        let mut ctrv_many = ctrv_one;
        ctrv_one.predict(2.0, &noise).unwrap();
        for _ in 0..40 {
            ctrv_many.predict(0.05, &noise).unwrap();
        }
        close(
            ctrv_one.covariance[(2, 2)],
            ctrv_many.covariance[(2, 2)],
            1e-12,
        );
        close(
            ctrv_one.covariance[(4, 4)],
            ctrv_many.covariance[(4, 4)],
            1e-12,
        );
        close(
            ctrv_one.covariance[(0, 0)],
            ctrv_many.covariance[(0, 0)],
            1e-12,
        );
    }

    #[test]
    fn two_point_initialisation() {
        let r = Matrix2::identity() * 0.01;
        let f =
            CvFilter::from_two_positions(Vector2::new(1.0, 2.0), Vector2::new(1.5, 1.8), 0.1, &r)
                .unwrap();
        close(f.state[2], 5.0, 1e-12);
        close(f.state[3], -2.0, 1e-12);
        // Cov(v) = 2R/dt² = 2·0.01/0.01 = 2; Cov(x, v) = R/dt = 0.1.
        close(f.covariance[(2, 2)], 2.0, 1e-12);
        close(f.covariance[(0, 2)], 0.1, 1e-12);
        assert!(CvFilter::from_two_positions(Vector2::zeros(), Vector2::zeros(), 0.0, &r).is_err());
    }

    #[test]
    fn rejects_nan_and_bad_dt_without_changing_state() {
        let mut f = CvFilter::at_position(Vector2::new(1.0, 1.0), &Matrix2::identity(), 1.0);
        let before = f;
        let noise = ProcessNoise {
            accel_std: 1.0,
            yaw_accel_std: 1.0,
            jerk_std: 0.0,
        };
        assert_eq!(f.predict(-0.1, &noise), Err(KalmanError::InvalidDt(-0.1)));
        assert!(f.predict(f64::NAN, &noise).is_err());
        assert_eq!(
            f.update_position(&Vector2::new(f64::NAN, 0.0), &Matrix2::identity()),
            Err(KalmanError::NonFinite)
        );
        assert_eq!(f.state, before.state);
        assert_eq!(f.covariance, before.covariance);
        // Zero prior and zero measurement noise: S = 0 cannot be factorised.
        let mut degenerate = CvFilter::new(Vector4::zeros(), Matrix4::zeros());
        assert_eq!(
            degenerate.update_position(&Vector2::new(1.0, 0.0), &Matrix2::zeros()),
            Err(KalmanError::NotPositiveDefinite)
        );
    }

    #[test]
    fn ctrv_predict_drives_a_circle() {
        // v = 2 m/s, ω = 0.5 rad/s → radius 4 m around (0, 4) starting at the origin heading +x.
        let quiet = ProcessNoise {
            accel_std: 0.0,
            yaw_accel_std: 0.0,
            jerk_std: 0.0,
        };
        let mut f = CtrvFilter::new(
            Vector5::new(0.0, 0.0, 2.0, 0.0, 0.5),
            Matrix5::identity() * 0.01,
        );
        let half_turn = PI / 0.5;
        let steps = 100;
        for k in 1..=steps {
            f.predict(half_turn / steps as f64, &quiet).unwrap();
            let p = f.position();
            close((p - Vector2::new(0.0, 4.0)).norm(), 4.0, 1e-9);
            if k == steps / 2 {
                // Quarter turn: (4, 4), heading +y.
                close(p.x, 4.0, 1e-9);
                close(p.y, 4.0, 1e-9);
                close(f.state[3], PI / 2.0, 1e-9);
            }
        }
        close(f.position().x, 0.0, 1e-9);
        close(f.position().y, 8.0, 1e-9);
        close(wrap_angle(f.state[3] - PI), 0.0, 1e-9);
        close(f.velocity().x, -2.0, 1e-9);
    }

    #[test]
    fn ctrv_straight_line_limit_is_continuous() {
        let dt = 0.5;
        let straight = ctrv_transition(&Vector5::new(1.0, 2.0, 3.0, 0.3, 0.0), dt).0;
        // x + v·dt·cos(yaw), y + v·dt·sin(yaw).
        close(straight[0], 1.0 + 1.5 * 0.3_f64.cos(), 1e-12);
        close(straight[1], 2.0 + 1.5 * 0.3_f64.sin(), 1e-12);
        // Just below the switch the expansion agrees with the closed form to O(v·ω²·dt³).
        let w = 0.99 * CTRV_MIN_YAW_RATE;
        let below = ctrv_transition(&Vector5::new(1.0, 2.0, 3.0, 0.3, w), dt).0;
        let exact_x = 1.0 + 3.0 / w * ((0.3 + w * dt).sin() - 0.3_f64.sin());
        let exact_y = 2.0 + 3.0 / w * (0.3_f64.cos() - (0.3 + w * dt).cos());
        close(below[0], exact_x, 1e-9);
        close(below[1], exact_y, 1e-9);
    }

    #[test]
    fn ctrv_jacobian_matches_finite_differences() {
        for &w in &[0.0, 1e-5, 0.4, -1.2] {
            jacobian_matches_finite_differences(&Vector5::new(1.0, -2.0, 4.0, 0.7, w), |s| {
                ctrv_transition(s, 0.3)
            });
        }
    }

    /// Central differences of `transition` around `s` against its Jacobian (row 3, the yaw,
    /// compared wrapped).
    fn jacobian_matches_finite_differences<const N: usize>(
        s: &SVector<f64, N>,
        transition: impl Fn(&SVector<f64, N>) -> (SVector<f64, N>, SMatrix<f64, N, N>),
    ) {
        let (_, j) = transition(s);
        for col in 0..N {
            let h = 1e-6;
            let (mut sp, mut sm) = (*s, *s);
            sp[col] += h;
            sm[col] -= h;
            let (fp, fm) = (transition(&sp).0, transition(&sm).0);
            for row in 0..N {
                let d = if row == 3 {
                    wrap_angle(fp[row] - fm[row])
                } else {
                    fp[row] - fm[row]
                };
                close(j[(row, col)], d / (2.0 * h), 1e-5);
            }
        }
    }

    #[test]
    fn cv_ctrv_round_trip_keeps_the_estimate() {
        let mut cv = CvFilter::from_two_positions(
            Vector2::new(0.0, 0.0),
            Vector2::new(1.0, 1.0),
            0.1,
            &(Matrix2::identity() * 1e-4),
        )
        .unwrap();
        cv.state[0] = 3.0;
        let ctrv = CtrvFilter::from_cv(&cv, 0.0, 0.1);
        close(ctrv.state[2], 200.0_f64.sqrt(), 1e-9);
        close(ctrv.state[3], PI / 4.0, 1e-12);
        let back = ctrv.to_cv();
        close(back.state[2], 10.0, 1e-9);
        close(back.state[3], 10.0, 1e-9);
        close(
            back.velocity_covariance()[(0, 0)],
            cv.velocity_covariance()[(0, 0)],
            1e-9,
        );
        close(
            ctrv.velocity_covariance()[(0, 1)],
            cv.velocity_covariance()[(0, 1)],
            1e-9,
        );
    }

    #[test]
    fn ctrv_box_yaw_update_resolves_the_pi_ambiguity() {
        let mut f = CtrvFilter::new(
            Vector5::new(0.0, 0.0, 0.0, 0.1, 0.0),
            Matrix5::identity() * 0.04,
        );
        let r = Matrix2::identity() * 0.01;
        // yaw = π + 0.05 is the same axis as 0.05: the residual is −0.05, not π − 0.05.
        // Prior yaw var 0.04, yaw noise 0.2² = 0.04 (no cross terms): gain 0.5 → 0.075.
        f.update_position_yaw(&Vector2::zeros(), PI + 0.05, &r, 0.2)
            .unwrap();
        close(f.state[3], 0.075, 1e-12);
        close(f.covariance[(3, 3)], 0.02, 1e-12);
        assert_eq!(
            f.update_position_yaw(&Vector2::zeros(), f64::NAN, &r, 0.2),
            Err(KalmanError::NonFinite)
        );
        close(f.state[3], 0.075, 1e-12);
    }

    #[test]
    fn ctra_moves_at_the_mean_speed_and_brakes_to_a_standstill() {
        // 10 m/s, −4 m/s², straight along x, dt 0.1: 9.6 m/s after, 0.98 m on.
        let (next, _) = ctra_transition(&Vector6::new(0.0, 0.0, 10.0, 0.0, 0.0, -4.0), 0.1);
        close(next[0], 0.98, 1e-12);
        close(next[2], 9.6, 1e-12);
        close(next[5], -4.0, 0.0);
        // 1 m/s, −4 m/s², dt 0.5: −2 m/s would reverse it; it stops after 0.25 s instead,
        // 1²/(2·4) = 0.125 m on, and stays stopped.
        let (stop, j) = ctra_transition(&Vector6::new(0.0, 0.0, 1.0, 0.0, 0.0, -4.0), 0.5);
        close(stop[0], 0.125, 1e-12);
        close(stop[2], 0.0, 0.0);
        close(stop[5], 0.0, 0.0);
        close(j[(2, 2)], 0.0, 0.0);
        // Accelerating from a standstill is not a stop.
        let (go, _) = ctra_transition(&Vector6::new(0.0, 0.0, 0.0, 0.0, 0.0, 2.0), 0.5);
        assert!(go[2] > 0.8 && go[0] > 0.2, "{go}");
    }

    #[test]
    fn ctra_jacobian_matches_finite_differences() {
        // Moving on (a = ±1.5, w = 0 or turning) and stopping within the step (v 0.3, a −4).
        for &(v, w, a) in &[
            (4.0, 0.0, -1.5),
            (4.0, 0.4, 1.5),
            (-2.0, -1.2, 1.0),
            (0.3, 0.2, -4.0),
        ] {
            jacobian_matches_finite_differences(&Vector6::new(1.0, -2.0, v, 0.7, w, a), |s| {
                ctra_transition(s, 0.3)
            });
        }
    }

    #[test]
    fn ctra_follows_hard_braking_that_ctrv_lags() {
        // A motorcycle at 11.1 m/s brakes at 4 m/s² from t = 1 s; exact positions at 10 Hz.
        // CTRV at a motorcycle's former noise (1.1 m/s²·√s) trails it by about 1 m/s; CTRA
        // at the road defaults (white acceleration 1, jerk 2, starting at 0 ± 1 m/s²) learns
        // the deceleration and catches up.
        let r = Matrix2::identity() * 0.15 * 0.15;
        let truth = |t: f64| {
            let tb = (t - 1.0).max(0.0);
            (11.1 * t - 2.0 * tb * tb, 11.1 - 4.0 * tb)
        };
        let start = Matrix5::from_diagonal(&Vector5::new(0.02, 0.02, 1.0, 0.01, 0.01));
        let mut ctrv = CtrvFilter::new(Vector5::new(0.0, 0.0, 11.1, 0.0, 0.0), start);
        let mut ctra = CtraFilter::from_ctrv(&ctrv, 1.0);
        let old = ProcessNoise {
            accel_std: 1.1,
            yaw_accel_std: 0.25,
            jerk_std: 0.0,
        };
        let new = ProcessNoise {
            accel_std: 1.0,
            yaw_accel_std: 0.25,
            jerk_std: 2.0,
        };
        for k in 1..=22 {
            let (x, _) = truth(f64::from(k) * 0.1);
            let z = Vector2::new(x, 0.0);
            ctrv.predict(0.1, &old).unwrap();
            ctrv.update_position(&z, &r).unwrap();
            ctra.predict(0.1, &new).unwrap();
            ctra.update_position(&z, &r).unwrap();
        }
        // At 2.2 s the true speed is 6.3 m/s: CTRV reads 7.31, CTRA 6.45 (a = −3.4).
        let (_, v) = truth(2.2);
        assert!(ctrv.state[2] - v > 0.8, "CTRV {} vs {v}", ctrv.state[2]);
        assert!(
            (ctra.state[2] - v).abs() < 0.2,
            "CTRA {} vs {v}",
            ctra.state[2]
        );
        assert!((ctra.state[5] + 4.0).abs() < 0.8, "a = {}", ctra.state[5]);
    }

    #[test]
    fn ctra_converts_to_the_other_models_and_back() {
        let ctrv = CtrvFilter::new(
            Vector5::new(1.0, 2.0, 5.0, 0.3, 0.1),
            Matrix5::identity() * 0.1,
        );
        let prior = ModelPrior {
            yaw_hint: 0.0,
            yaw_rate_std: 0.3,
            accel_std: 3.0,
        };
        let ctra = MotionFilter::Ctrv(ctrv).converted(MotionModel::Ctra, &prior);
        let MotionFilter::Ctra(f) = ctra else {
            panic!("{ctra:?}")
        };
        close(f.state[5], 0.0, 0.0);
        close(f.covariance[(5, 5)], 9.0, 1e-12);
        assert_eq!(ctra.velocity(), MotionFilter::Ctrv(ctrv).velocity());
        assert_eq!(
            ctra.converted(MotionModel::Ctrv, &prior),
            MotionFilter::Ctrv(ctrv)
        );
        assert_eq!(
            ctra.converted(MotionModel::Cv, &prior),
            MotionFilter::Cv(ctrv.to_cv())
        );
        assert_eq!(ctra.travel_heading(), Some(0.3));
    }

    #[test]
    fn wrap_angle_range() {
        close(wrap_angle(3.0 * PI), PI, 1e-12);
        close(wrap_angle(-PI), PI, 1e-12);
        close(wrap_angle(-0.5), -0.5, 1e-12);
        close(wrap_angle(7.0), 7.0 - 2.0 * PI, 1e-12);
    }
}
