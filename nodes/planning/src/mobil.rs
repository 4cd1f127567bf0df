//! MOBIL lane-change decisions (Kesting, Treiber & Helbing 2007): change when the ego gains
//! more than a threshold, weighted against the others' losses, and only if the new follower
//! need not brake harder than a safe limit.

use crate::idm::{IdmParams, Leader};

/// MOBIL parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MobilParams {
    /// Weight of the other drivers' acceleration changes (0 = selfish).
    pub politeness: f64,
    /// Advantage the change must bring (m/s²).
    pub threshold: f64,
    /// Strongest braking the new follower may be forced into (m/s², positive).
    pub safe_decel: f64,
    /// Smallest bumper gap accepted to the new leader and new follower (m).
    pub min_gap: f64,
}

impl Default for MobilParams {
    fn default() -> Self {
        Self {
            politeness: 0.3,
            threshold: 0.2,
            safe_decel: 3.0,
            min_gap: 5.0,
        }
    }
}

/// Another vehicle relative to the ego along the lanes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// Bumper-to-bumper gap to the ego (m), measured in the direction of the neighbour.
    pub gap: f64,
    /// Its speed along the lane (m/s).
    pub speed: f64,
}

/// The vehicles in front and behind the ego in one lane.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LaneTraffic {
    /// Nearest vehicle ahead.
    pub leader: Option<Neighbour>,
    /// Nearest vehicle behind.
    pub follower: Option<Neighbour>,
}

/// Why a lane change is not taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rejection {
    /// A gap in the target lane is shorter than the minimum.
    GapTooSmall,
    /// The new follower would have to brake harder than `safe_decel`.
    UnsafeForFollower {
        /// Its IDM acceleration behind the ego (m/s²).
        follower_accel: f64,
    },
    /// The ego would have to brake harder than `safe_decel` behind the new leader.
    UnsafeForEgo,
    /// The gain does not reach the threshold.
    NoAdvantage {
        /// The MOBIL incentive (m/s²).
        incentive: f64,
    },
}

/// The verdict on one lane change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Change: the incentive (m/s²) exceeds the threshold and the change is safe.
    Change {
        /// Incentive (m/s²).
        incentive: f64,
    },
    /// Stay.
    Stay(Rejection),
}

fn lead(n: Option<Neighbour>) -> Option<Leader> {
    n.map(|n| Leader {
        gap: n.gap,
        speed: n.speed,
    })
}

/// MOBIL for the ego at speed `v` of length `ego_length` from `current` into `target`.
pub fn evaluate(
    idm: &IdmParams,
    mobil: &MobilParams,
    v: f64,
    ego_length: f64,
    current: &LaneTraffic,
    target: &LaneTraffic,
) -> Decision {
    // Other drivers are modelled as IDM drivers content with at least their own speed.
    let other = |speed: f64| idm.with_desired_speed(speed.max(idm.desired_speed));
    if target.leader.is_some_and(|l| l.gap < mobil.min_gap)
        || target.follower.is_some_and(|f| f.gap < mobil.min_gap)
    {
        return Decision::Stay(Rejection::GapTooSmall);
    }
    let ego_now = idm.accel(v, lead(current.leader));
    let ego_new = idm.accel(v, lead(target.leader));
    if ego_new < -mobil.safe_decel && ego_new < ego_now {
        return Decision::Stay(Rejection::UnsafeForEgo);
    }
    // The new follower: before, behind the target lane's leader; after, behind the ego.
    let mut others = 0.0;
    if let Some(f) = target.follower {
        let driver = other(f.speed);
        let before = driver.accel(
            f.speed,
            target.leader.map(|l| Leader {
                gap: f.gap + ego_length + l.gap,
                speed: l.speed,
            }),
        );
        let after = driver.accel(
            f.speed,
            Some(Leader {
                gap: f.gap,
                speed: v,
            }),
        );
        if after < -mobil.safe_decel {
            return Decision::Stay(Rejection::UnsafeForFollower {
                follower_accel: after,
            });
        }
        others += after - before;
    }
    // The old follower: before, behind the ego; after, behind the ego's old leader.
    if let Some(f) = current.follower {
        let driver = other(f.speed);
        let before = driver.accel(
            f.speed,
            Some(Leader {
                gap: f.gap,
                speed: v,
            }),
        );
        let after = driver.accel(
            f.speed,
            current.leader.map(|l| Leader {
                gap: f.gap + ego_length + l.gap,
                speed: l.speed,
            }),
        );
        others += after - before;
    }
    let incentive = ego_new - ego_now + mobil.politeness * others;
    if incentive > mobil.threshold {
        Decision::Change { incentive }
    } else {
        Decision::Stay(Rejection::NoAdvantage { incentive })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overtakes_a_slow_leader_into_a_free_lane() {
        let idm = IdmParams::default();
        let current = LaneTraffic {
            leader: Some(Neighbour {
                gap: 30.0,
                speed: 15.0,
            }),
            follower: None,
        };
        let d = evaluate(
            &idm,
            &MobilParams::default(),
            25.0,
            4.5,
            &current,
            &LaneTraffic::default(),
        );
        assert!(
            matches!(d, Decision::Change { incentive } if incentive > 1.0),
            "{d:?}"
        );
    }

    #[test]
    fn rejects_when_a_fast_car_closes_from_behind() {
        let idm = IdmParams::default();
        let current = LaneTraffic {
            leader: Some(Neighbour {
                gap: 30.0,
                speed: 15.0,
            }),
            follower: None,
        };
        // 40 m/s, 25 m behind, ego at 22 m/s: s* = 4 + 60 + 40·18/3.46 = 272 m → a ≪ −3.
        let target = LaneTraffic {
            leader: None,
            follower: Some(Neighbour {
                gap: 25.0,
                speed: 40.0,
            }),
        };
        let d = evaluate(&idm, &MobilParams::default(), 22.0, 4.5, &current, &target);
        assert!(
            matches!(d, Decision::Stay(Rejection::UnsafeForFollower { .. })),
            "{d:?}"
        );
    }

    #[test]
    fn no_change_without_advantage() {
        let idm = IdmParams::default();
        let d = evaluate(
            &idm,
            &MobilParams::default(),
            25.0,
            4.5,
            &LaneTraffic::default(),
            &LaneTraffic::default(),
        );
        assert!(matches!(d, Decision::Stay(Rejection::NoAdvantage { .. })));
    }
}
