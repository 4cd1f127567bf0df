//! Quintic and quartic polynomials in time: the minimum-jerk building blocks of Werling et
//! al. (2010). Beyond their duration they continue at constant velocity, so a short
//! manoeuvre still covers the whole planning horizon.

use crate::types::{PlanError, positive};

/// A polynomial of degree ≤ 5 on `[0, duration]`, extended at constant velocity after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Polynomial {
    c: [f64; 6],
    duration: f64,
}

impl Polynomial {
    /// The quintic from (x0, v0, a0) to (x1, v1, a1) in time `t`: lateral moves and stops.
    pub fn quintic(start: [f64; 3], end: [f64; 3], t: f64) -> Result<Self, PlanError> {
        positive("polynomial duration", t)?;
        let [x0, v0, a0] = start;
        let [x1, v1, a1] = end;
        let (t2, t3) = (t * t, t * t * t);
        let a = x1 - (x0 + v0 * t + 0.5 * a0 * t2);
        let b = v1 - (v0 + a0 * t);
        let c = a1 - a0;
        Ok(Self {
            c: [
                x0,
                v0,
                0.5 * a0,
                (10.0 * a - 4.0 * b * t + 0.5 * c * t2) / t3,
                (-15.0 * a + 7.0 * b * t - c * t2) / (t3 * t),
                (6.0 * a - 3.0 * b * t + 0.5 * c * t2) / (t3 * t2),
            ],
            duration: t,
        })
    }

    /// The quartic from (x0, v0, a0) to velocity v1 and acceleration a1 in time `t`, end
    /// position free: velocity keeping.
    pub fn quartic(start: [f64; 3], v1: f64, a1: f64, t: f64) -> Result<Self, PlanError> {
        positive("polynomial duration", t)?;
        let [x0, v0, a0] = start;
        let b = v1 - v0 - a0 * t;
        let c = a1 - a0;
        Ok(Self {
            c: [
                x0,
                v0,
                0.5 * a0,
                (3.0 * b - c * t) / (3.0 * t * t),
                (c * t - 2.0 * b) / (4.0 * t * t * t),
                0.0,
            ],
            duration: t,
        })
    }

    /// Duration of the polynomial part (s).
    pub fn duration(&self) -> f64 {
        self.duration
    }

    fn raw(&self, t: f64) -> [f64; 4] {
        let c = &self.c;
        let p = c[0] + t * (c[1] + t * (c[2] + t * (c[3] + t * (c[4] + t * c[5]))));
        let v = c[1] + t * (2.0 * c[2] + t * (3.0 * c[3] + t * (4.0 * c[4] + t * 5.0 * c[5])));
        let a = 2.0 * c[2] + t * (6.0 * c[3] + t * (12.0 * c[4] + t * 20.0 * c[5]));
        let j = 6.0 * c[3] + t * (24.0 * c[4] + t * 60.0 * c[5]);
        [p, v, a, j]
    }

    /// Position, velocity, acceleration and jerk at time `t` (constant velocity after the end).
    pub fn eval(&self, t: f64) -> [f64; 4] {
        if t <= self.duration {
            return self.raw(t.max(0.0));
        }
        let [p, v, _, _] = self.raw(self.duration);
        [p + v * (t - self.duration), v, 0.0, 0.0]
    }

    /// ∫ jerk² dt over the polynomial part: Werling's comfort term.
    pub fn jerk_cost(&self) -> f64 {
        // jerk = α + βt + γt², integrated in closed form.
        let (al, be, ga) = (6.0 * self.c[3], 24.0 * self.c[4], 60.0 * self.c[5]);
        let t = self.duration;
        let (t2, t3) = (t * t, t * t * t);
        al * al * t
            + al * be * t2
            + (be * be + 2.0 * al * ga) * t3 / 3.0
            + be * ga * t3 * t / 2.0
            + ga * ga * t3 * t2 / 5.0
    }

    /// Largest |acceleration| over the polynomial part, sampled finely enough for costs.
    pub fn max_abs_accel(&self) -> f64 {
        (0..=20)
            .map(|i| self.raw(self.duration * f64::from(i) / 20.0)[2].abs())
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    #[test]
    fn unit_quintic_is_the_minimum_jerk_profile() {
        // 0 → 1 in 1 s from rest: 10τ³ − 15τ⁴ + 6τ⁵, peak speed 1.875, peak accel 10/√3.
        let q = Polynomial::quintic([0.0, 0.0, 0.0], [1.0, 0.0, 0.0], 1.0).unwrap();
        assert_eq!(q.c, [0.0, 0.0, 0.0, 10.0, -15.0, 6.0]);
        close(q.eval(0.5)[0], 0.5, 1e-12);
        close(q.eval(0.5)[1], 1.875, 1e-12);
        let tau = 0.5 - 3f64.sqrt() / 6.0; // 0.2113
        close(q.eval(tau)[2], 10.0 / 3f64.sqrt(), 1e-9);
        close(q.eval(0.0)[3], 60.0, 1e-12);
        // ∫ (60 − 360τ + 360τ²)² dτ = 720.
        close(q.jerk_cost(), 720.0, 1e-9);
        // After the end it holds the end position.
        assert_eq!(q.eval(3.0), [1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn quintic_meets_all_six_boundary_conditions() {
        let q = Polynomial::quintic([1.0, 2.0, -1.0], [10.0, 3.0, 0.5], 2.5).unwrap();
        let [p0, v0, a0, _] = q.eval(0.0);
        let [p1, v1, a1, _] = q.raw(2.5);
        for (x, y) in [
            (p0, 1.0),
            (v0, 2.0),
            (a0, -1.0),
            (p1, 10.0),
            (v1, 3.0),
            (a1, 0.5),
        ] {
            close(x, y, 1e-9);
        }
    }

    #[test]
    fn quartic_reaches_the_target_speed() {
        // 10 → 20 m/s in 4 s from zero acceleration: v = 10 + 10(3τ² − 2τ³), x(4) = 60 m.
        let q = Polynomial::quartic([0.0, 10.0, 0.0], 20.0, 0.0, 4.0).unwrap();
        let [x, v, a, _] = q.eval(4.0);
        close(x, 60.0, 1e-9);
        close(v, 20.0, 1e-9);
        close(a, 0.0, 1e-9);
        close(q.eval(2.0)[2], 1.5 * 10.0 / 4.0, 1e-9);
        close(q.eval(6.0)[0], 100.0, 1e-9);
        assert!(Polynomial::quartic([0.0; 3], 1.0, 0.0, 0.0).is_err());
        assert!(Polynomial::quintic([0.0; 3], [0.0; 3], f64::NAN).is_err());
    }
}
