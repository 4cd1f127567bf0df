//! The Intelligent Driver Model (Treiber, Hennecke & Helbing 2000): car following with a time
//! gap, used for the ego's reference acceleration and, in MOBIL, for the other drivers.

/// IDM parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdmParams {
    /// Desired speed on a free road (m/s).
    pub desired_speed: f64,
    /// Desired time gap to the leader (s).
    pub time_gap: f64,
    /// Gap kept at standstill (m).
    pub min_gap: f64,
    /// Maximum acceleration (m/s²).
    pub max_accel: f64,
    /// Comfortable deceleration (m/s², positive).
    pub comfortable_decel: f64,
    /// Free-road exponent.
    pub delta: f64,
}

impl Default for IdmParams {
    fn default() -> Self {
        Self {
            desired_speed: 30.0,
            time_gap: 1.5,
            min_gap: 4.0,
            max_accel: 1.5,
            comfortable_decel: 2.0,
            delta: 4.0,
        }
    }
}

/// A vehicle ahead: bumper-to-bumper gap and its speed along the lane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leader {
    /// Gap from the follower's front to the leader's rear (m).
    pub gap: f64,
    /// Leader speed along the lane (m/s).
    pub speed: f64,
}

impl IdmParams {
    /// The same driver with another desired speed.
    pub fn with_desired_speed(mut self, v0: f64) -> Self {
        self.desired_speed = v0.max(0.1);
        self
    }

    /// Desired dynamic gap s* for speed `v` closing at `dv` = v − v_leader.
    pub fn desired_gap(&self, v: f64, dv: f64) -> f64 {
        let brake_term = v * dv / (2.0 * (self.max_accel * self.comfortable_decel).sqrt());
        self.min_gap + (v * self.time_gap + brake_term).max(0.0)
    }

    /// IDM acceleration at speed `v` behind `leader` (free road when `None`).
    pub fn accel(&self, v: f64, leader: Option<Leader>) -> f64 {
        let v = v.max(0.0);
        let free = 1.0 - (v / self.desired_speed.max(0.1)).powf(self.delta);
        let interaction = match leader {
            Some(l) => {
                let s_star = self.desired_gap(v, v - l.speed);
                let gap = l.gap.max(0.1);
                (s_star / gap).powi(2)
            }
            None => 0.0,
        };
        self.max_accel * (free - interaction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    #[test]
    fn free_road_accelerates_until_the_desired_speed() {
        let p = IdmParams::default();
        close(p.accel(0.0, None), 1.5, 1e-12);
        close(p.accel(30.0, None), 0.0, 1e-12);
        // (20/30)^4 = 0.1975: a = 1.5·0.8025 = 1.2037.
        close(p.accel(20.0, None), 1.203_703_7, 1e-6);
    }

    #[test]
    fn following_matches_the_hand_computed_value() {
        let p = IdmParams {
            min_gap: 2.0,
            ..IdmParams::default()
        };
        // Same speed 20 m/s, gap 50 m: s* = 2 + 30 = 32; a = 1.5(1 − 0.19753 − 0.4096) = 0.58930.
        let a = p.accel(
            20.0,
            Some(Leader {
                gap: 50.0,
                speed: 20.0,
            }),
        );
        close(a, 0.589_303, 1e-5);
        // Closing at 10 m/s adds v·Δv/(2√(ab)) = 200/3.4641 = 57.735 m to s*.
        close(p.desired_gap(20.0, 10.0), 89.735, 1e-3);
        // At standstill behind a stopped car at exactly s0 the model holds still.
        close(
            p.accel(
                0.0,
                Some(Leader {
                    gap: 2.0,
                    speed: 0.0,
                }),
            ),
            0.0,
            1e-12,
        );
    }
}
