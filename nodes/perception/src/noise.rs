//! Measurement noise learnt from a track's own innovations.
//!
//! A fixed measurement std has to cover the worst boxes a sensor makes (partial views, merged
//! clusters, a far object's few points). A track whose boxes are far better than that is
//! then followed sluggishly: a lane-changing motorcycle boxed to within 2 cm and 0.01 rad was
//! trailed by up to 1 m/s under the road's 0.15 m and 0.2 rad, and the turn rate kept the
//! error going after the manoeuvre ended.
//!
//! The estimate is innovation-based (Mehra 1970): the innovation ν of an optimal filter has
//! E[ννᵀ] = H P⁻ Hᵀ + R, so what the innovations show beyond the filter's own prediction
//! uncertainty is the measurement noise. It is weighted exponentially and clamped between a
//! floor, the best a box gets, and the configured std, the most the tracker assumes. The
//! current innovation enters before the estimate is used: a box that jumps raises its own
//! noise and moves the track less than at the learnt level.

use nalgebra::{Matrix2, Vector2};

/// How the measurement noise adapts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoiseAdaptation {
    /// Weight of the previous estimate per update, in [0, 1): 0.8 remembers about 5 frames.
    pub forgetting: f64,
    /// Smallest position std (m) an estimate may reach.
    pub position_std_min: f64,
    /// Smallest box-yaw std (rad) an estimate may reach.
    pub yaw_std_min: f64,
    /// Largest change of a box's length or width (m) against the track's for which the
    /// learnt noise applies; a box reshaped more is another view of the object.
    pub shape_tolerance: f64,
}

impl NoiseAdaptation {
    /// Whether the parameters are usable with the given upper bounds.
    pub fn is_valid(&self, position_std_max: f64, yaw_std_max: f64) -> bool {
        (0.0..1.0).contains(&self.forgetting)
            && self.position_std_min > 0.0
            && self.position_std_min <= position_std_max
            && self.yaw_std_min > 0.0
            && self.yaw_std_min <= yaw_std_max
            && self.shape_tolerance >= 0.0
    }
}

/// One track's learnt measurement variances.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LearntNoise {
    /// Position variance per axis (m²).
    position_var: f64,
    /// Box-yaw variance (rad²).
    yaw_var: f64,
}

impl LearntNoise {
    /// Starts at the configured (largest) stds: a young track has shown nothing better yet.
    pub fn new(position_std_max: f64, yaw_std_max: f64) -> Self {
        Self {
            position_var: position_std_max * position_std_max,
            yaw_var: yaw_std_max * yaw_std_max,
        }
    }

    /// Position std (m) to use now.
    pub fn position_std(&self) -> f64 {
        self.position_var.sqrt()
    }

    /// Box-yaw std (rad) to use now.
    pub fn yaw_std(&self) -> f64 {
        self.yaw_var.sqrt()
    }

    /// Takes in a position innovation `residual` against the filter's predicted position
    /// covariance `predicted`; returns the measurement covariance to update with.
    pub fn observe_position(
        &mut self,
        residual: &Vector2<f64>,
        predicted: &Matrix2<f64>,
        a: &NoiseAdaptation,
        std_max: f64,
    ) -> Matrix2<f64> {
        // Isotropic, as the configured noise: per axis, half of what the 2-D innovation shows.
        let sample = 0.5 * (residual.norm_squared() - predicted.trace());
        self.position_var = blend(self.position_var, sample, a, a.position_std_min, std_max);
        Matrix2::identity() * self.position_var
    }

    /// Takes in a box-yaw innovation (rad, already folded for the π ambiguity) against the
    /// filter's heading variance; returns the yaw std to update with.
    pub fn observe_yaw(
        &mut self,
        residual: f64,
        heading_var: f64,
        a: &NoiseAdaptation,
        std_max: f64,
    ) -> f64 {
        let sample = residual * residual - heading_var;
        self.yaw_var = blend(self.yaw_var, sample, a, a.yaw_std_min, std_max);
        self.yaw_std()
    }
}

/// Exponentially weighted update of a variance, clamped to [min², max²].
fn blend(previous: f64, sample: f64, a: &NoiseAdaptation, min: f64, max: f64) -> f64 {
    let v = a.forgetting * previous + (1.0 - a.forgetting) * sample;
    if v.is_finite() {
        v.clamp(min * min, max * max)
    } else {
        max * max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: NoiseAdaptation = NoiseAdaptation {
        forgetting: 0.8,
        position_std_min: 0.03,
        yaw_std_min: 0.03,
        shape_tolerance: 0.2,
    };

    #[test]
    fn starts_at_the_configured_noise() {
        let n = LearntNoise::new(0.15, 0.2);
        assert!((n.position_std() - 0.15).abs() < 1e-12);
        assert!((n.yaw_std() - 0.2).abs() < 1e-12);
    }

    #[test]
    fn innovations_within_the_prediction_uncertainty_bring_the_noise_to_the_floor() {
        // Innovations of 1 cm against a predicted position std of 5 cm: nothing is left for
        // measurement noise, each sample is 0.5 · (0.0001 − 0.005) = −0.00245 m².
        let mut n = LearntNoise::new(0.15, 0.2);
        let p = Matrix2::identity() * 0.0025;
        let r = n.observe_position(&Vector2::new(0.01, 0.0), &p, &A, 0.15);
        // 0.8 · 0.0225 + 0.2 · (−0.00245) = 0.01751.
        assert!((r[(0, 0)] - 0.01751).abs() < 1e-12, "{r}");
        assert_eq!(r[(0, 1)], 0.0);
        for _ in 0..20 {
            n.observe_position(&Vector2::new(0.01, 0.0), &p, &A, 0.15);
        }
        assert!((n.position_std() - 0.03).abs() < 1e-12);
    }

    #[test]
    fn the_estimate_converges_to_the_noise_beyond_the_prediction() {
        // Yaw innovations alternating ±0.1 rad against a heading variance of 0.0036: the
        // measurement variance is 0.01 − 0.0036 = 0.0064 (std 0.08 rad).
        let mut n = LearntNoise::new(0.15, 0.2);
        for k in 0..200 {
            let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
            n.observe_yaw(0.1 * sign, 0.0036, &A, 0.2);
        }
        assert!((n.yaw_std() - 0.08).abs() < 1e-9, "{}", n.yaw_std());
    }

    #[test]
    fn a_jump_raises_its_own_noise_before_it_is_used() {
        let mut n = LearntNoise::new(0.15, 0.2);
        let p = Matrix2::identity() * 0.0004;
        for _ in 0..30 {
            n.observe_position(&Vector2::new(0.005, 0.005), &p, &A, 0.15);
        }
        assert!((n.position_std() - 0.03).abs() < 1e-12);
        // A box 0.4 m off: 0.8 · 0.0009 + 0.2 · 0.5 · (0.16 − 0.0008) = 0.01664 (std 0.129 m)
        // is what this update uses, not the 0.03 m learnt so far.
        let r = n.observe_position(&Vector2::new(0.4, 0.0), &p, &A, 0.15);
        assert!((r[(1, 1)] - 0.01664).abs() < 1e-12, "{r}");
        // Never above the configured noise.
        let r = n.observe_position(&Vector2::new(3.0, 0.0), &p, &A, 0.15);
        assert!((r[(0, 0)] - 0.0225).abs() < 1e-12, "{r}");
    }

    #[test]
    fn non_finite_input_falls_back_to_the_configured_noise() {
        let mut n = LearntNoise::new(0.15, 0.2);
        n.observe_yaw(0.0, 0.1, &A, 0.2);
        assert!(n.yaw_std() < 0.2);
        assert!((n.observe_yaw(f64::NAN, 0.0, &A, 0.2) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn validity() {
        assert!(A.is_valid(0.15, 0.2));
        assert!(!A.is_valid(0.02, 0.2));
        assert!(
            !NoiseAdaptation {
                forgetting: 1.0,
                ..A
            }
            .is_valid(0.15, 0.2)
        );
    }
}
