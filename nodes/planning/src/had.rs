//! HAD behaviour: which lane to drive in (MOBIL), how fast (lane speed limit, curvature,
//! occlusions) and how to follow the vehicle ahead (IDM). The sampler turns the decision into
//! a trajectory.

use crate::frenet::Frenet;
use crate::idm::{IdmParams, Leader};
use crate::mobil::{self, Decision, LaneTraffic, MobilParams, Neighbour};
use crate::route::{Corridor, FrenetObject, Lanes};
use crate::sampler::LateralTarget;
use crate::types::Object;

/// How occluders lower the speed: a pedestrian hidden behind a stationary vehicle beside the
/// lane must be stoppable for when it steps out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OcclusionParams {
    /// Off disables the occlusion speed.
    pub enabled: bool,
    /// Speed of the hidden pedestrian (m/s); Euro NCAP's child walks at 5 km/h.
    pub pedestrian_speed: f64,
    /// Detection plus actuation latency (s).
    pub reaction: f64,
    /// Braking assumed available against the pedestrian (m/s²).
    pub brake: f64,
    /// Occluders further than this from the ego's side are ignored (m).
    pub zone: f64,
    /// Lowest occlusion speed (m/s).
    pub min_speed: f64,
}

impl Default for OcclusionParams {
    fn default() -> Self {
        Self {
            enabled: true,
            pedestrian_speed: 5.0 / 3.6,
            reaction: 0.2,
            brake: 8.0,
            zone: 3.0,
            min_speed: 4.0,
        }
    }
}

/// How HAD lets a road user cross its lane: it arrives at the crossing point only after the
/// user has left the ego's corridor, rather than stopping for it as for a leader. Stopping
/// for a child who is about to clear the lane invites the car behind into the ego.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrossingParams {
    /// Lateral speed from which a road user moving more across the lane than along it is
    /// crossing (m/s).
    pub min_speed: f64,
    /// Lateral clearance beyond the ego's and the user's half widths (m).
    pub lateral_margin: f64,
    /// Distance kept before the user's near edge along the lane (m).
    pub gap: f64,
    /// Time the user must have been out of the corridor before the ego arrives (s).
    pub clear_time: f64,
    /// The ego passes in front only when it has passed this long before the user arrives (s).
    pub ahead_time: f64,
}

impl Default for CrossingParams {
    fn default() -> Self {
        Self {
            // Tracked lateral velocities of cars keeping their lane jitter up to 0.5 m/s.
            min_speed: 0.6,
            lateral_margin: 0.5,
            gap: 1.5,
            clear_time: 0.7,
            ahead_time: 1.5,
        }
    }
}

/// A road user moving across the lane more than along it, faster than `min_speed`.
pub fn is_crossing(o: &FrenetObject, min_speed: f64) -> bool {
    o.v_d.abs() >= min_speed && o.v_d.abs() > o.v_s.abs()
}

/// The strongest acceleration that brings the ego's front to a crossing user's path no
/// earlier than the user has left the ego's corridor; `None` when the user does not constrain
/// the ego (passed already, moving away, or the ego is through well before the user comes).
pub fn yield_accel(ego: &EgoOnLane, o: &FrenetObject, p: &CrossingParams) -> Option<f64> {
    if o.v_d == 0.0 {
        return None;
    }
    let w = ego.width / 2.0 + o.half_width + p.lateral_margin;
    let rel = o.at.d - ego.at.d;
    // Times at which the user enters and leaves |rel(t)| < w.
    let (enter, leave) = if o.v_d > 0.0 {
        ((-w - rel) / o.v_d, (w - rel) / o.v_d)
    } else {
        ((rel - w) / -o.v_d, (rel + w) / -o.v_d)
    };
    if leave <= 0.0 {
        return None;
    }
    let front = ego.at.s + ego.length / 2.0;
    let rear = ego.at.s - ego.length / 2.0;
    let gap = o.at.s - o.half_length - front - p.gap;
    if o.at.s + o.half_length < rear {
        return None;
    }
    let v = ego.v.max(0.0);
    // Through before the user comes: the rear passes the user's far edge in time.
    let through = o.at.s + o.half_length + p.gap - rear;
    if enter > 0.0 && v > 0.1 && through / v + p.ahead_time < enter {
        return None;
    }
    if gap <= 0.0 {
        // Beside the ego already: nothing a comfortable plan can do; AES's matter.
        return None;
    }
    let t = leave + p.clear_time;
    // The strongest constant acceleration that reaches the gap no earlier than `t` (positive
    // when there is room to spare, so a car waiting at the crossing creeps up rather than
    // leaves); if the car would stop before `t` on it, it has to stop short of the path.
    let a = 2.0 * (gap - v * t) / (t * t);
    if a < 0.0 && v / -a < t {
        return Some(-v * v / (2.0 * gap));
    }
    Some(a)
}

/// HAD parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HadParams {
    /// Car following.
    pub idm: IdmParams,
    /// Lane changes.
    pub mobil: MobilParams,
    /// Strongest braking HAD plans (m/s²); harder braking is AES's.
    pub max_decel: f64,
    /// Lateral acceleration allowed in curves (m/s²).
    pub curve_lat_accel: f64,
    /// Speed when the lane has no limit (m/s).
    pub default_speed: f64,
    /// Time after a lane change before the next may start (s).
    pub lane_change_cooldown: f64,
    /// No lane changes below this speed (m/s).
    pub min_lane_change_speed: f64,
    /// Share of the desired speed below which a leader is passed.
    pub pass_below: f64,
    /// How long (s) the same leader must have been that slow before a pass is considered,
    /// unless it is slower than `pass_at_once` of the desired speed: a lead car first seen at
    /// range comes as a part-box with a speed a tenth off for a few frames, while a blocked
    /// lane must be cleared at once.
    pub pass_after: f64,
    /// Share of the desired speed below which a leader is passed without waiting.
    pub pass_at_once: f64,
    /// Occlusion speed.
    pub occlusion: OcclusionParams,
    /// Yielding to crossing road users.
    pub crossing: CrossingParams,
}

impl Default for HadParams {
    fn default() -> Self {
        Self {
            idm: IdmParams::default(),
            mobil: MobilParams::default(),
            // The comfort limit is 3.5 m/s²; tracking overshoots the plan by up to 0.4 (PI on
            // speed, actuator lag), so HAD plans with 3.0.
            max_decel: 3.0,
            curve_lat_accel: 2.0,
            default_speed: 50.0 / 3.6,
            lane_change_cooldown: 4.0,
            min_lane_change_speed: 5.0,
            pass_below: 0.9,
            pass_after: 0.5,
            pass_at_once: 0.75,
            occlusion: OcclusionParams::default(),
            crossing: CrossingParams::default(),
        }
    }
}

/// What HAD is doing this cycle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Behaviour {
    /// Free driving at the desired speed.
    Cruise,
    /// Following (or stopping behind) an object.
    Follow {
        /// Its id.
        object: u64,
    },
    /// Changing into another lane.
    ChangeLane {
        /// Target lane id.
        to: u32,
    },
    /// Slowing for an occluded area beside the lane.
    Occlusion {
        /// The occluding object's id.
        object: u64,
    },
    /// Letting a road user cross the lane ahead.
    Yield {
        /// The crossing user's id.
        object: u64,
    },
}

/// HAD's decision for the sampler.
#[derive(Debug, Clone, PartialEq)]
pub struct HadDecision {
    /// Lateral end offsets to sample, in the ego lane's frame.
    pub targets: Vec<LateralTarget>,
    /// Reference acceleration (m/s²).
    pub accel: f64,
    /// Desired speed (m/s).
    pub desired_speed: f64,
    /// What HAD is doing.
    pub behaviour: Behaviour,
}

/// The ego as HAD needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EgoOnLane {
    /// Position in the ego lane's frame.
    pub at: Frenet,
    /// Speed (m/s).
    pub v: f64,
    /// Length (m).
    pub length: f64,
    /// Width (m).
    pub width: f64,
}

/// HAD's memory between cycles.
#[derive(Debug, Clone, PartialEq)]
pub struct Had {
    params: HadParams,
    changing_to: Option<u32>,
    last_change: f64,
    /// The slow leader's id and since when it has been slow.
    slow_leader: Option<(u64, f64)>,
}

/// Leader and follower of the ego in a corridor of the ego's width centred at `offset`.
/// Road users crossing the lane (see [`is_crossing`]) are neither: they are yielded to.
pub fn traffic(
    ego: &EgoOnLane,
    offset: f64,
    objects: &[FrenetObject],
    crossing_speed: f64,
) -> (LaneTraffic, Option<usize>) {
    let mut t = LaneTraffic::default();
    let mut leader_index = None;
    let front = ego.at.s + ego.length / 2.0;
    let rear = ego.at.s - ego.length / 2.0;
    for o in objects {
        if (o.at.d - offset).abs() >= ego.width / 2.0 + o.half_width + 0.3
            || is_crossing(o, crossing_speed)
        {
            continue;
        }
        if o.at.s >= ego.at.s {
            let gap = o.at.s - o.half_length - front;
            if t.leader.is_none_or(|l| gap < l.gap) {
                t.leader = Some(Neighbour { gap, speed: o.v_s });
                leader_index = Some(o.index);
            }
        } else {
            let gap = rear - (o.at.s + o.half_length);
            if t.follower.is_none_or(|f| gap < f.gap) {
                t.follower = Some(Neighbour { gap, speed: o.v_s });
            }
        }
    }
    (t, leader_index)
}

fn to_leader(n: Option<Neighbour>) -> Option<Leader> {
    n.map(|n| Leader {
        gap: n.gap,
        speed: n.speed.max(0.0),
    })
}

impl Had {
    /// HAD with `params`.
    pub fn new(params: HadParams) -> Self {
        Self {
            params,
            changing_to: None,
            last_change: f64::NEG_INFINITY,
            slow_leader: None,
        }
    }

    /// The lane being changed into, if any.
    pub fn changing_to(&self) -> Option<u32> {
        self.changing_to
    }

    /// Forgets a lane change in progress (AES took over).
    pub fn cancel_lane_change(&mut self) {
        self.changing_to = None;
    }

    /// This cycle's decision.
    pub fn decide(
        &mut self,
        time: f64,
        lanes: &Lanes,
        corridor: &Corridor,
        ego: &EgoOnLane,
        fobjects: &[FrenetObject],
        objects: &[Object],
    ) -> HadDecision {
        let p = &self.params;
        let base = &lanes.lanes[corridor.base];
        let desired_speed = base.speed_limit.unwrap_or(p.default_speed);
        let idm = p.idm.with_desired_speed(desired_speed);
        let (current, leader_index) = traffic(ego, 0.0, fobjects, p.crossing.min_speed);
        let mut accel = idm.accel(ego.v, to_leader(current.leader));
        let mut behaviour = match (leader_index, current.leader) {
            (Some(i), Some(l))
                if idm.accel(ego.v, to_leader(Some(l))) < idm.accel(ego.v, None) - 0.1 =>
            {
                Behaviour::Follow {
                    object: objects[i].id,
                }
            }
            _ => Behaviour::Cruise,
        };

        // A leader worth passing: clearly slower than the desired speed (IDM brakes a little
        // behind a leader at the desired speed too), and for a while.
        let slow = match (leader_index, current.leader) {
            (Some(i), Some(l)) if l.speed < p.pass_below * desired_speed => Some(objects[i].id),
            _ => None,
        };
        self.slow_leader = match (slow, self.slow_leader) {
            (Some(id), Some((same, since))) if id == same => Some((id, since)),
            (Some(id), _) => Some((id, time)),
            (None, _) => None,
        };
        let pass_worthy = current
            .leader
            .is_some_and(|l| l.speed < p.pass_at_once * desired_speed)
            || self
                .slow_leader
                .is_some_and(|(_, since)| time - since >= p.pass_after);

        // Finish, keep or abort a lane change in progress.
        if let Some(to) = self.changing_to {
            if base.id == to && ego.at.d.abs() < 0.5 {
                self.changing_to = None;
                self.last_change = time;
            } else if base.id != to {
                match lanes
                    .lanes
                    .iter()
                    .position(|l| l.id == to)
                    .and_then(|i| corridor.slot_of(i))
                {
                    Some(slot) => {
                        let (target, _) = traffic(ego, slot.offset, fobjects, p.crossing.min_speed);
                        let still_safe = target.follower.is_none_or(|f| {
                            let driver = idm.with_desired_speed(f.speed.max(desired_speed));
                            driver.accel(
                                f.speed,
                                Some(Leader {
                                    gap: f.gap,
                                    speed: ego.v,
                                }),
                            ) >= -p.mobil.safe_decel
                        }) && target.leader.is_none_or(|l| {
                            l.gap > 0.0
                                && idm.accel(
                                    ego.v,
                                    Some(Leader {
                                        gap: l.gap,
                                        speed: l.speed.max(0.0),
                                    }),
                                ) >= -p.mobil.safe_decel
                        });
                        // Abort only while the ego is still mostly in its own lane.
                        if !still_safe && ego.at.d.abs() < 1.0 {
                            self.changing_to = None;
                            self.last_change = time;
                        }
                    }
                    None => self.changing_to = None,
                }
            }
        } else if time - self.last_change >= p.lane_change_cooldown
            && ego.v >= p.min_lane_change_speed
            && pass_worthy
        {
            let mut best: Option<(f64, u32)> = None;
            // Slower traffic is passed on the left only: passing on the right (into the slow
            // lane, where trucks drive) is forbidden on European roads and surprises others.
            for side in [base.left].into_iter().flatten() {
                let Some(slot) = corridor.slot_of(side) else {
                    continue;
                };
                let (target, _) = traffic(ego, slot.offset, fobjects, p.crossing.min_speed);
                if let Decision::Change { incentive } =
                    mobil::evaluate(&idm, &p.mobil, ego.v, ego.length, &current, &target)
                    && best.is_none_or(|(b, _)| incentive > b)
                {
                    best = Some((incentive, lanes.lanes[side].id));
                }
            }
            if let Some((_, id)) = best {
                self.changing_to = Some(id);
            }
        }

        let mut targets = vec![LateralTarget { d: 0.0, cost: 0.0 }];
        if let Some(to) = self.changing_to
            && let Some(slot) = lanes
                .lanes
                .iter()
                .position(|l| l.id == to)
                .and_then(|i| corridor.slot_of(i))
            && slot.index != corridor.base
        {
            // Staying stays possible, at a price, for when the target lane turns out blocked.
            targets = vec![
                LateralTarget {
                    d: slot.offset,
                    cost: 0.0,
                },
                LateralTarget { d: 0.0, cost: 3.0 },
            ];
            let (target, _) = traffic(ego, slot.offset, fobjects, p.crossing.min_speed);
            accel = accel.min(idm.accel(ego.v, to_leader(target.leader)));
            behaviour = Behaviour::ChangeLane { to };
        }

        // Curves: reach each curve's speed by the time the ego gets there.
        let preview = (ego.v * 6.0).max(30.0);
        let mut s = 0.0;
        while s <= preview {
            let kappa = base.line.curvature(ego.at.s + s).abs();
            if kappa > 1e-4 {
                let v_c = (p.curve_lat_accel / kappa).sqrt();
                if ego.v > v_c {
                    accel = accel.min((v_c * v_c - ego.v * ego.v) / (2.0 * s.max(2.0)));
                }
            }
            s += 4.0;
        }

        // Occlusions: a stationary vehicle beside the lane hides whoever may step out at its
        // front; be slow enough there to stop for a pedestrian who appears at its edge.
        let o = &p.occlusion;
        if o.enabled {
            let front = ego.at.s + ego.length / 2.0;
            for f in fobjects {
                let obj = &objects[f.index];
                if obj.speed() > 0.5 || obj.class.is_vulnerable() {
                    continue;
                }
                let gap = f.at.d.abs() - f.half_width - ego.width / 2.0;
                let distance = f.at.s + f.half_length - front;
                if gap <= 0.3 || gap > o.zone || distance < 0.0 || distance > preview {
                    continue;
                }
                let v_occ =
                    (2.0 * o.brake * (gap / o.pedestrian_speed - o.reaction)).max(o.min_speed);
                if ego.v > v_occ {
                    let a = (v_occ * v_occ - ego.v * ego.v) / (2.0 * distance.max(2.0));
                    if a < accel {
                        accel = a;
                        behaviour = Behaviour::Occlusion { object: obj.id };
                    }
                }
            }
        }

        for f in fobjects {
            if !is_crossing(f, p.crossing.min_speed) {
                continue;
            }
            if let Some(a) = yield_accel(ego, f, &p.crossing)
                && a < accel
            {
                accel = a;
                behaviour = Behaviour::Yield {
                    object: objects[f.index].id,
                };
            }
        }

        HadDecision {
            targets,
            accel: accel.clamp(-p.max_decel, p.idm.max_accel),
            desired_speed,
            behaviour,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ego(v: f64) -> EgoOnLane {
        EgoOnLane {
            at: Frenet { s: 0.0, d: 0.0 },
            v,
            length: 4.5,
            width: 1.8,
        }
    }

    /// A child 0.3 m deep and 0.7 m wide walking across the lane at `v_d`.
    fn walker(s: f64, d: f64, v_d: f64) -> FrenetObject {
        FrenetObject {
            index: 0,
            at: Frenet { s, d },
            v_s: 0.0,
            v_d,
            half_length: 0.15,
            half_width: 0.35,
        }
    }

    fn yield_to(s: f64, d: f64, v_d: f64, v: f64) -> Option<f64> {
        yield_accel(&ego(v), &walker(s, d, v_d), &CrossingParams::default())
    }

    #[test]
    fn a_crossing_child_is_passed_behind_with_the_gentlest_braking() {
        // The corridor is 0.9 + 0.35 + 0.5 = 1.75 m either side of the ego: a child 2.5 m to
        // the right walking left at 1.5 m/s leaves it after 4.25 / 1.5 = 2.83 s; the ego
        // must not reach 1.5 m before it earlier than 0.7 s after that, t = 3.53 s.
        let t = 4.25 / 1.5 + 0.7;
        // 40 m ahead the gap is 40 − 0.15 − 2.25 − 1.5 = 36.1 m: at 10 m/s the ego gets there
        // just after; it may even speed up a little.
        let a = yield_to(40.0, -2.5, 1.5, 10.0).unwrap();
        assert!((a - 2.0 * (36.1 - 10.0 * t) / (t * t)).abs() < 1e-9, "{a}");
        assert!(a > 0.0 && a < 0.2, "{a}");
        // 25 m ahead (gap 21.1 m) it brakes at 2.28 m/s² and arrives still rolling.
        let a = yield_to(25.0, -2.5, 1.5, 10.0).unwrap();
        assert!((a - 2.0 * (21.1 - 10.0 * t) / (t * t)).abs() < 1e-9, "{a}");
        assert!(10.0 / -a > t, "{a}");
        // 20 m ahead that braking would stop it before the child is through: it stops short
        // of the child's path instead, v² / (2·gap).
        let a = yield_to(20.0, -2.5, 1.5, 10.0).unwrap();
        assert!((a + 100.0 / (2.0 * 16.1)).abs() < 1e-9, "{a}");
    }

    #[test]
    fn a_child_that_is_through_or_far_off_does_not_slow_the_ego() {
        // Already left of the corridor and walking on.
        assert_eq!(yield_to(25.0, 2.5, 1.5, 10.0), None);
        // 8 m to the side: the ego's rear is 1.5 m past its path 1.39 s from now, 1.5 s
        // sooner than the child (4.17 s) reaches the corridor.
        assert_eq!(yield_to(10.0, -8.0, 1.5, 10.0), None);
        // Beside the ego's rear already: no longer ahead.
        assert_eq!(yield_to(-3.0, -1.0, 1.5, 10.0), None);
    }

    #[test]
    fn a_car_waiting_at_the_crossing_creeps_up_only_as_the_child_clears() {
        // Standing with 1.1 m to go while the child is in front of it: the bound is a gentle
        // positive acceleration that brings the ego there 0.7 s after the child has left.
        let t = 1.75 / 1.5 + 0.7;
        let a = yield_to(5.0, 0.0, 1.5, 0.0).unwrap();
        assert!((a - 2.0 * 1.1 / (t * t)).abs() < 1e-9, "{a}");
    }

    #[test]
    fn crossing_users_are_neither_leaders_nor_followers() {
        let crossing = walker(20.0, 0.0, 1.5);
        let (t, leader) = traffic(&ego(10.0), 0.0, &[crossing], 0.6);
        assert!(t.leader.is_none() && leader.is_none());
        // The same child standing in the lane is a leader to stop behind.
        let standing = walker(20.0, 0.0, 0.0);
        let (t, leader) = traffic(&ego(10.0), 0.0, &[standing], 0.6);
        assert_eq!(leader, Some(0));
        assert!((t.leader.unwrap().gap - (20.0 - 0.15 - 2.25)).abs() < 1e-9);
        // A car changing lanes moves more along the lane than across it: still a leader.
        let car = FrenetObject {
            v_s: 15.0,
            v_d: 1.0,
            ..walker(20.0, 0.5, 1.0)
        };
        assert!(!is_crossing(&car, 0.6));
    }
}
