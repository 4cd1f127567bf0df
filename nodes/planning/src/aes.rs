//! AES: threat assessment on the predictions every cycle (TTC, the deceleration needed, the
//! last points to brake and to steer), a state machine with hysteresis, and the evasive
//! search — both sides, lateral acceleration combined with braking inside the friction
//! circle, at most two manoeuvres, and the lowest impact speed when nothing is free.

use crate::collision::{Discs, Hit, Obstacles};
use crate::frenet::ReferenceLine;
use crate::polynomials::Polynomial;
use crate::route::{Corridor, FrenetObject};
use crate::sampler::{FrenetState, realise};
use crate::types::Trajectory;

const G: f64 = 9.81;

/// AES parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AesParams {
    /// Tyre-road friction coefficient μ.
    pub friction: f64,
    /// Share of μ·g the evasive lateral acceleration may use.
    pub lat_fraction: f64,
    /// Full braking (m/s²).
    pub max_decel: f64,
    /// Needed deceleration that raises a warning (m/s²).
    pub warn_on: f64,
    /// Needed deceleration below which a warning ends (m/s²).
    pub warn_off: f64,
    /// Needed deceleration beyond HAD's comfort at which AES intervenes (m/s²).
    pub trigger: f64,
    /// The same for a pedestrian, child or cyclist (m/s²): they change course at will and
    /// HAD's braking (up to 3.0) is no plan for one crossing ahead.
    pub trigger_vulnerable: f64,
    /// Time the threat must stay gone before an intervention or warning ends (s).
    pub release_time: f64,
    /// Time spent in Hold after a stop or an evasion (s).
    pub hold_time: f64,
    /// Time spent in Return while HAD takes over again (s).
    pub return_time: f64,
    /// Latency assumed before braking takes effect in the assessment (s).
    pub latency: f64,
    /// No evasive steering below this speed (m/s).
    pub min_steer_speed: f64,
    /// Clearance kept to objects in emergencies (m).
    pub margin: f64,
    /// How far past the road edge the ego's side may go (m).
    pub edge_tolerance: f64,
    /// Reaction time assumed for a follower (s).
    pub follower_reaction: f64,
    /// Deceleration assumed for a follower (m/s²).
    pub follower_decel: f64,
    /// Clearance an evasion must keep when it is chosen over braking that would avoid the
    /// threat only to spare a close follower (m): a swerve that passes a crossing child by a
    /// hand's width is worse than the follower's hard braking.
    pub rear_evasion_margin: f64,
    /// Most consecutive evasive manoeuvres.
    pub max_manoeuvres: u8,
    /// Steps of the evasive manoeuvres' collision check on the planner grid.
    pub steps: usize,
    /// Steps of the threat assessment: long enough to brake to a standstill from high speed,
    /// or the needed deceleration would be underestimated for distant obstacles.
    pub assessment_steps: usize,
}

impl Default for AesParams {
    fn default() -> Self {
        Self {
            friction: 1.0,
            lat_fraction: 0.8,
            max_decel: 9.0,
            // HAD plans braking up to 3.0 m/s²: AES warns as the need nears that. It takes
            // over at 4.5 for vehicles, whose tracks jitter (a parked car's lateral noise
            // must not brake the car at 6 m/s²), and as soon as HAD cannot stop for people
            // (the need's 0.5 grid makes that 3.5): a jerk-limited yield builds up its braking
            // over half a second, and waiting in Warn at a need of 3.5 while it does left a
            // crossing child to a late swerve.
            warn_on: 2.5,
            warn_off: 1.5,
            trigger: 4.5,
            trigger_vulnerable: 3.0,
            release_time: 0.5,
            hold_time: 1.0,
            return_time: 1.0,
            latency: 0.1,
            // Low, because with a close follower a steer beats braking even in town.
            min_steer_speed: 20.0 / 3.6,
            margin: 0.15,
            edge_tolerance: 0.3,
            follower_reaction: 1.0,
            follower_decel: 6.0,
            rear_evasion_margin: 0.5,
            max_manoeuvres: 2,
            steps: 40,
            assessment_steps: 80,
        }
    }
}

/// The AES state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AesState {
    /// Watching.
    #[default]
    Standby,
    /// A threat HAD may not handle comfortably.
    Warn,
    /// Emergency braking.
    Brake,
    /// Evasive steering.
    Steer,
    /// Evasive steering while braking.
    BrakeAndSteer,
    /// Manoeuvre done: holding the stop or the new lateral position.
    Hold,
    /// Handing back to HAD.
    Return,
    /// The driver overrides: no intervention.
    Overridden,
}

/// Which way an evasion goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// To the left.
    Left,
    /// To the right.
    Right,
}

/// The manoeuvre AES commands.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Manoeuvre {
    /// None.
    #[default]
    None,
    /// Straight braking.
    Brake {
        /// Deceleration (m/s²).
        decel: f64,
    },
    /// Evasion, possibly with braking.
    Evade {
        /// Direction.
        side: Side,
        /// Lateral shift (m).
        shift: f64,
        /// Peak lateral acceleration (m/s²).
        lat_accel: f64,
        /// Deceleration during the evasion (m/s²).
        decel: f64,
    },
    /// No free path: full braking on the path with the lowest impact speed.
    MinimumImpact {
        /// Expected impact speed (m/s).
        impact_speed: f64,
    },
}

/// Why AES is in its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reason {
    /// Nothing on the path.
    #[default]
    NoThreat,
    /// A threat HAD handles within its comfort limits.
    HadCopes,
    /// HAD's braking would not suffice comfortably.
    Warning,
    /// Braking avoids the collision.
    BrakingAvoids,
    /// Braking alone is too late; a free evasive path exists.
    BrakingTooLate,
    /// Braking hard would endanger the follower; a free evasive path exists.
    RearTraffic,
    /// No free path: lowest impact speed.
    NoFreePath,
    /// The first evasion's path became blocked: second manoeuvre.
    PathBlocked,
    /// The second evasion's path became blocked too: no third manoeuvre.
    ManoeuvreLimit,
    /// The threat is gone or passed.
    ThreatCleared,
    /// Stopped after braking.
    Stopped,
    /// The driver overrides.
    DriverOverride,
}

/// AES status for `planning/aes/status`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AesStatus {
    /// State.
    pub state: AesState,
    /// Time to the first contact at constant speed on the current path (s).
    pub ttc: Option<f64>,
    /// Deceleration that avoids every contact on the current path; `None`: braking cannot.
    pub required_decel: Option<f64>,
    /// Last point to brake as a TTC (s): v_rel/(2·a_max) + latency.
    pub ttc_brake: Option<f64>,
    /// Last point to steer as a TTC (s): √(2·y_req/a_y) + latency.
    pub ttc_steer: Option<f64>,
    /// The object of the threat.
    pub object: Option<u64>,
    /// The commanded manoeuvre.
    pub manoeuvre: Manoeuvre,
    /// Why.
    pub reason: Reason,
    /// Evasive manoeuvres used in this intervention.
    pub manoeuvres: u8,
}

/// What AES reads each cycle.
#[derive(Debug, Clone, Copy)]
pub struct AesInputs<'a> {
    /// Cycle time (s).
    pub time: f64,
    /// Ego lane reference line.
    pub line: &'a ReferenceLine,
    /// All lanes, so a manoeuvre keeps the frame it started in.
    pub lanes: &'a crate::route::Lanes,
    /// Ego lane id.
    pub lane: u32,
    /// Lanes and edges around the ego.
    pub corridor: &'a Corridor,
    /// The ego in the ego lane's frame.
    pub start: FrenetState,
    /// The ego's speed (m/s).
    pub v: f64,
    /// Ego footprint.
    pub ego: &'a Discs,
    /// Ego length and width (m).
    pub size: (f64, f64),
    /// Predictions on the planner grid.
    pub obstacles: &'a Obstacles,
    /// Objects in the ego lane's frame.
    pub objects: &'a [FrenetObject],
    /// Ids of those objects, by index.
    pub ids: &'a [u64],
    /// Ids of pedestrians, children and cyclists.
    pub vulnerable: &'a [u64],
    /// HAD's lateral plan d(t), the path the ego is about to drive.
    pub nominal: Option<Polynomial>,
    /// Driver override.
    pub driver_override: bool,
    /// Samples of the trajectory AES outputs.
    pub trajectory_steps: usize,
}

#[derive(Debug, Clone, PartialEq)]
struct Active {
    lane: u32,
    start_time: f64,
    start: FrenetState,
    lateral: Polynomial,
    decel: f64,
    evasive: bool,
    // No free path existed: keep it unless a free evasion appears.
    minimum_impact: bool,
}

/// The AES state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Aes {
    params: AesParams,
    state: AesState,
    active: Option<Active>,
    manoeuvre: Manoeuvre,
    reason: Reason,
    manoeuvres: u8,
    since: f64,
    clear_since: Option<f64>,
    calm_since: Option<f64>,
}

/// What an evasion must keep to be taken.
#[derive(Debug, Clone, Copy)]
struct EvasionRule {
    /// Clearance to every object (m).
    margin: f64,
    /// Only evasions without braking: one taken to spare a close follower must not brake it
    /// into danger after all (braking during a swerve goes on to a standstill, and the
    /// simulator's follower at 0.6 s ran into an ego that had swerved at 0.3 g braking).
    spare_follower: bool,
}

impl EvasionRule {
    /// Any free evasion with the usual clearance.
    fn any(p: &AesParams) -> Self {
        Self {
            margin: p.margin,
            spare_follower: false,
        }
    }
}

struct Candidate {
    lateral: Polynomial,
    decel: f64,
    shift: f64,
    lat_accel: f64,
    cost: f64,
}

fn hold_lateral(s: &FrenetState) -> Polynomial {
    // Settle the current lateral motion within a second instead of holding a drift.
    let end = s.d + 0.5 * s.d_d;
    Polynomial::quintic([s.d, s.d_d, s.d_dd], [end, 0.0, 0.0], 1.0).unwrap_or(
        Polynomial::quintic([s.d, 0.0, 0.0], [s.d, 0.0, 0.0], 1.0).expect("1 s is positive"),
    )
}

/// The rest of `lat` from `elapsed` seconds on, as a path of its own (a quintic's rest is the
/// quintic between the same states); a finished path holds its end.
fn remaining(lat: &Polynomial, elapsed: f64) -> Polynomial {
    let [e, e_d, e_dd, _] = lat.eval(lat.duration());
    let rest = lat.duration() - elapsed;
    let [d, d_d, d_dd, _] = lat.eval(elapsed);
    if rest < 0.01 {
        // Too short to carry its own curve: hold where it ends (no drift: it ends at rest).
        return Polynomial::quintic([d, 0.0, 0.0], [d, 0.0, 0.0], 1.0).expect("1 s is positive");
    }
    Polynomial::quintic([d, d_d, d_dd], [e, e_d, e_dd], rest).expect("rest is positive")
}

/// Map-frame trajectory and collision samples of lateral `lat` with braking `decel` after
/// `delay` seconds, from `start` on `line`, `elapsed` seconds into the manoeuvre.
/// Braking `decel` after `delay` seconds, seen `elapsed` seconds into the manoeuvre.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Profile {
    decel: f64,
    delay: f64,
    elapsed: f64,
}

/// Map-frame trajectory and collision samples of lateral `lat` with the longitudinal
/// `profile`, from `start` on `line`, on the grid (dt, steps).
fn motion(
    line: &ReferenceLine,
    start: &FrenetState,
    lat: &Polynomial,
    profile: Profile,
    (dt, steps): (f64, usize),
) -> (
    Vec<crate::types::TrajectoryPoint>,
    Vec<crate::collision::Sample>,
) {
    let Profile {
        decel,
        delay,
        elapsed,
    } = profile;
    let v0 = start.s_d.max(0.0);
    realise(line, dt, steps, |t| {
        let t = t + elapsed;
        let tb = (t - delay).max(0.0);
        let t_stop = if decel > 0.0 {
            v0 / decel
        } else {
            f64::INFINITY
        };
        let (s, v, a) = if tb >= t_stop {
            (start.s + v0 * delay.min(t) + v0 * t_stop / 2.0, 0.0, 0.0)
        } else {
            (
                start.s + v0 * t.min(delay) + v0 * tb - 0.5 * decel * tb * tb,
                v0 - decel * tb,
                if t >= delay { -decel } else { 0.0 },
            )
        };
        let [d, d_d, d_dd, _] = lat.eval(t);
        ([s, v.max(0.0), a], [d, d_d, d_dd])
    })
}

impl Aes {
    /// AES with `params`, in Standby.
    pub fn new(params: AesParams) -> Self {
        Self {
            params,
            state: AesState::Standby,
            active: None,
            manoeuvre: Manoeuvre::None,
            reason: Reason::NoThreat,
            manoeuvres: 0,
            since: 0.0,
            clear_since: None,
            calm_since: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> AesState {
        self.state
    }

    fn enter(&mut self, state: AesState, time: f64) {
        if self.state != state {
            self.state = state;
            self.since = time;
        }
    }

    /// One cycle: the status and, while AES intervenes, the trajectory that overrides HAD.
    pub fn step(&mut self, inp: &AesInputs) -> (AesStatus, Option<Trajectory>) {
        let p = self.params;
        let dt = inp.obstacles.dt();
        let steps = p.assessment_steps.min(inp.obstacles.steps());
        let nominal = inp.nominal.unwrap_or_else(|| hold_lateral(&inp.start));

        // Threat assessment on the path the ego is about to drive.
        let run = |decel: f64, delay: f64| {
            let (_, samples) = motion(
                inp.line,
                &inp.start,
                &nominal,
                Profile {
                    decel,
                    delay,
                    elapsed: 0.0,
                },
                (dt, steps),
            );
            inp.obstacles.first_hit_ahead(inp.ego, &samples, p.margin)
        };
        let coast = run(0.0, 0.0);
        let ttc = coast.map(|h| h.step as f64 * dt);
        let mut required = Some(0.0);
        if coast.is_some() {
            required = None;
            // Whole m/s² first, then the half step below the first that clears: ~10 runs.
            let mut a = 1.0;
            while a <= p.max_decel.ceil() + 1e-9 {
                let a_eff = a.min(p.max_decel);
                if run(a_eff, p.latency).is_none() {
                    let half = a_eff - 0.5;
                    required = Some(if half > 0.0 && run(half, p.latency).is_none() {
                        half
                    } else {
                        a_eff
                    });
                    break;
                }
                a += 1.0;
            }
        }
        let a_y = p.lat_fraction * p.friction * G;
        let (mut ttc_brake, mut ttc_steer) = (None, None);
        if let Some(h) = coast {
            ttc_brake = Some(h.impact_speed / (2.0 * p.max_decel) + p.latency);
            if let Some(o) = inp
                .objects
                .iter()
                .find(|o| inp.ids.get(o.index) == Some(&h.object))
            {
                let y_req =
                    inp.size.1 / 2.0 + o.half_width + p.margin - (o.at.d - inp.start.d).abs();
                ttc_steer = Some((2.0 * y_req.max(0.0) / a_y).sqrt() + p.latency);
            }
        }
        let need = required.unwrap_or(f64::INFINITY);
        let trigger = if coast.is_some_and(|h| inp.vulnerable.contains(&h.object)) {
            p.trigger_vulnerable
        } else {
            p.trigger
        };
        let status = AesStatus {
            state: self.state,
            ttc,
            required_decel: required,
            ttc_brake,
            ttc_steer,
            object: coast.map(|h| h.object),
            manoeuvre: self.manoeuvre,
            reason: self.reason,
            manoeuvres: self.manoeuvres,
        };

        if inp.driver_override {
            self.active = None;
            self.manoeuvre = Manoeuvre::None;
            self.reason = Reason::DriverOverride;
            self.manoeuvres = 0;
            self.enter(AesState::Overridden, inp.time);
            return (self.status(status), None);
        }
        if self.state == AesState::Overridden {
            self.enter(AesState::Standby, inp.time);
        }

        // Clear time: how long the coasting path has been free.
        if coast.is_none() {
            self.clear_since.get_or_insert(inp.time);
        } else {
            self.clear_since = None;
        }
        let clear_for = self.clear_since.map_or(0.0, |t| inp.time - t);
        if need < p.warn_off {
            self.calm_since.get_or_insert(inp.time);
        } else {
            self.calm_since = None;
        }
        let calm_for = self.calm_since.map_or(0.0, |t| inp.time - t);

        let trajectory = match self.active.clone() {
            None => {
                if matches!(self.state, AesState::Hold | AesState::Return) {
                    // Hand back to HAD after a pause, unless a new threat needs an intervention.
                    if need > trigger && inp.v > 0.5 {
                        self.intervene(inp, need)
                    } else if self.state == AesState::Hold
                        && self.reason == Reason::Stopped
                        && inp.time - self.since < p.hold_time
                    {
                        Some(self.stop_trajectory(inp))
                    } else {
                        if inp.time - self.since >= p.return_time {
                            if self.state == AesState::Hold {
                                self.enter(AesState::Return, inp.time);
                            } else {
                                self.enter(AesState::Standby, inp.time);
                                self.manoeuvre = Manoeuvre::None;
                                self.manoeuvres = 0;
                            }
                        }
                        None
                    }
                } else if need > trigger && inp.v > 0.5 {
                    self.intervene(inp, need)
                } else if need > p.warn_on
                    || self.state == AesState::Warn && calm_for < p.release_time
                {
                    // Hysteresis: a warning starts above `warn_on` and ends only after the need
                    // has stayed below `warn_off` for `release_time`.
                    self.reason = Reason::Warning;
                    self.enter(AesState::Warn, inp.time);
                    None
                } else {
                    self.enter(AesState::Standby, inp.time);
                    self.reason = if coast.is_some() {
                        Reason::HadCopes
                    } else {
                        Reason::NoThreat
                    };
                    self.manoeuvre = Manoeuvre::None;
                    None
                }
            }
            Some(active) => self.continue_active(inp, &active, need, clear_for),
        };
        (self.status(status), trajectory)
    }

    fn status(&self, mut s: AesStatus) -> AesStatus {
        s.state = self.state;
        s.manoeuvre = self.manoeuvre;
        s.reason = self.reason;
        s.manoeuvres = self.manoeuvres;
        s
    }

    /// Follower at risk if the ego brakes at `decel`.
    fn rear_risk(&self, inp: &AesInputs, decel: f64) -> bool {
        let p = &self.params;
        let rear = inp.start.s - inp.size.0 / 2.0;
        inp.objects
            .iter()
            .filter(|o| {
                o.at.s < inp.start.s
                    && (o.at.d - inp.start.d).abs() < inp.size.1 / 2.0 + o.half_width
            })
            .any(|o| {
                let gap = rear - (o.at.s + o.half_length);
                let vf = o.v_s.max(0.0);
                let ego_stop = inp.v * inp.v / (2.0 * decel);
                let follower_stop = vf * p.follower_reaction + vf * vf / (2.0 * p.follower_decel);
                gap >= -1.0 && gap + ego_stop - follower_stop < 1.0
            })
    }

    /// Evasive candidates, cheapest first, not yet checked against the predictions.
    fn evasive_candidates(
        &self,
        inp: &AesInputs,
        start: &FrenetState,
        rear_risk: bool,
    ) -> Vec<Candidate> {
        let p = &self.params;
        let mu_g = p.friction * G;
        let a_y_max = p.lat_fraction * mu_g;
        let half = inp.size.1 / 2.0;
        let mut ends: Vec<f64> = [0.6, 1.0, 1.4, 1.8, 2.4, 3.0, 3.6]
            .iter()
            .flat_map(|&x| [start.d + x, start.d - x])
            .collect();
        ends.extend(inp.corridor.slots.iter().map(|s| s.offset));
        let mut out = Vec::new();
        for d1 in ends {
            if d1 - half < inp.corridor.right_edge - p.edge_tolerance
                || d1 + half > inp.corridor.left_edge + p.edge_tolerance
            {
                continue;
            }
            let shift = d1 - start.d;
            if shift.abs() < 0.3 {
                continue;
            }
            // Ending between lanes is worse than in a lane centre.
            let in_lane = inp
                .corridor
                .slot_at(d1)
                .is_some_and(|s| (d1 - s.offset).abs() + half <= s.width / 2.0);
            for frac in [0.5, 0.75, 1.0] {
                let lat_accel = a_y_max * frac;
                // Peak lateral acceleration of the quintic is 5.774·shift/T².
                let t = (5.774 * shift.abs() / lat_accel).sqrt().max(0.5);
                let Ok(lateral) =
                    Polynomial::quintic([start.d, start.d_d, start.d_dd], [d1, 0.0, 0.0], t)
                else {
                    continue;
                };
                for brake in [0.0, 0.3, 0.6] {
                    let decel = brake * mu_g;
                    if decel.hypot(lat_accel) > mu_g * 0.95 {
                        continue;
                    }
                    // With a close follower, braking during the evasion is what hurts.
                    let brake_weight = if rear_risk { 3.0 } else { 0.5 };
                    let cost = frac
                        + 0.3 * shift.abs()
                        + brake_weight * brake
                        + if in_lane { 0.0 } else { 0.5 };
                    out.push(Candidate {
                        lateral,
                        decel,
                        shift,
                        lat_accel,
                        cost,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.cost.total_cmp(&b.cost));
        out
    }

    fn first_hit(
        &self,
        inp: &AesInputs,
        start: &FrenetState,
        lateral: &Polynomial,
        decel: f64,
        ahead_only: bool,
        margin: f64,
    ) -> Option<Hit> {
        let steps = self.params.steps.min(inp.obstacles.steps());
        let (_, samples) = motion(
            inp.line,
            start,
            lateral,
            Profile {
                decel,
                delay: 0.0,
                elapsed: 0.0,
            },
            (inp.obstacles.dt(), steps),
        );
        if ahead_only {
            inp.obstacles.first_hit_ahead(inp.ego, &samples, margin)
        } else {
            inp.obstacles.first_hit(inp.ego, &samples, margin)
        }
    }

    fn intervene(&mut self, inp: &AesInputs, need: f64) -> Option<Trajectory> {
        let p = self.params;
        // A threat right after an evasion continues the same intervention: its manoeuvres count
        // towards the limit.
        if matches!(
            self.state,
            AesState::Standby | AesState::Warn | AesState::Overridden
        ) {
            self.manoeuvres = 0;
        }
        let brake_ok = need <= p.max_decel - 0.5;
        let brake_decel = if brake_ok {
            (need + 2.0).clamp(6.0, p.max_decel)
        } else {
            p.max_decel
        };
        let rear = brake_ok && self.rear_risk(inp, brake_decel);
        if brake_ok && !rear {
            self.reason = Reason::BrakingAvoids;
            return Some(self.start_brake(inp, brake_decel));
        }
        if inp.v >= p.min_steer_speed
            && let Some(t) = if rear {
                // Braking would avoid the threat: a swerve must be clearly free to be better.
                self.evade(
                    inp,
                    &inp.start.clone(),
                    Reason::RearTraffic,
                    EvasionRule {
                        margin: p.rear_evasion_margin,
                        spare_follower: true,
                    },
                )
            } else {
                self.evade(
                    inp,
                    &inp.start.clone(),
                    Reason::BrakingTooLate,
                    EvasionRule::any(&p),
                )
            }
        {
            return Some(t);
        }
        if brake_ok {
            // The follower is at risk but there is no way out: brake just hard enough.
            self.reason = Reason::BrakingAvoids;
            return Some(self.start_brake(inp, (need + 0.5).min(p.max_decel)));
        }
        Some(self.minimum_impact(inp))
    }

    fn start_brake(&mut self, inp: &AesInputs, decel: f64) -> Trajectory {
        self.manoeuvre = Manoeuvre::Brake { decel };
        self.enter(AesState::Brake, inp.time);
        let active = Active {
            lane: inp.lane,
            start_time: inp.time,
            start: inp.start,
            lateral: hold_lateral(&inp.start),
            decel,
            evasive: false,
            minimum_impact: false,
        };
        let t = self.render(inp, &active);
        self.active = Some(active);
        t
    }

    fn render(&self, inp: &AesInputs, a: &Active) -> Trajectory {
        let dt = inp.obstacles.dt();
        let steps = inp.trajectory_steps;
        // Braking restarts its speed profile from the current state each cycle but keeps the
        // lateral path it started with: settling from wherever the car is now would let a car
        // that starts to yaw under hard braking drag its own path along (a positive feedback
        // that turned the car 0.24 rad while braking from 100 km/h). An evasion keeps its
        // geometry.
        let (points, _) = if a.evasive {
            motion(
                self.line_of(inp, a),
                &a.start,
                &a.lateral,
                Profile {
                    decel: a.decel,
                    delay: 0.0,
                    elapsed: inp.time - a.start_time,
                },
                (dt, steps),
            )
        } else {
            let lateral = if a.lane == inp.lane {
                remaining(&a.lateral, inp.time - a.start_time)
            } else {
                // Another lane's frame: its lateral numbers mean something else here.
                hold_lateral(&inp.start)
            };
            motion(
                inp.line,
                &inp.start,
                &lateral,
                Profile {
                    decel: a.decel,
                    delay: 0.0,
                    elapsed: 0.0,
                },
                (dt, steps),
            )
        };
        Trajectory { points }
    }

    /// The cheapest evasion from `start` that keeps `rule`, if any.
    fn evade(
        &mut self,
        inp: &AesInputs,
        start: &FrenetState,
        reason: Reason,
        rule: EvasionRule,
    ) -> Option<Trajectory> {
        if self.manoeuvres >= self.params.max_manoeuvres {
            return None;
        }
        let rear = self.rear_risk(inp, self.params.max_decel * 0.6);
        let best = self
            .evasive_candidates(inp, start, rear)
            .into_iter()
            .filter(|c| !rule.spare_follower || c.decel == 0.0)
            .find(|c| {
                self.first_hit(inp, start, &c.lateral, c.decel, false, rule.margin)
                    .is_none()
            })?;
        self.manoeuvres += 1;
        self.reason = reason;
        self.manoeuvre = Manoeuvre::Evade {
            side: if best.shift > 0.0 {
                Side::Left
            } else {
                Side::Right
            },
            shift: best.shift,
            lat_accel: best.lat_accel,
            decel: best.decel,
        };
        self.enter(
            if best.decel > 0.0 {
                AesState::BrakeAndSteer
            } else {
                AesState::Steer
            },
            inp.time,
        );
        let active = Active {
            lane: inp.lane,
            start_time: inp.time,
            start: *start,
            lateral: best.lateral,
            decel: best.decel,
            evasive: true,
            minimum_impact: false,
        };
        let t = self.render(inp, &active);
        self.active = Some(active);
        Some(t)
    }

    /// Full braking, or a steer with braking that lowers the impact speed clearly. Braking
    /// holds the current lateral position (as rendered), so it is judged along that too.
    fn minimum_impact(&mut self, inp: &AesInputs) -> Trajectory {
        let p = self.params;
        let straight = hold_lateral(&inp.start);
        let straight_hit = self.first_hit(inp, &inp.start, &straight, p.max_decel, true, p.margin);
        let mut best_impact = straight_hit.map_or(0.0, |h| h.impact_speed);
        let mut chosen: Option<Candidate> = None;
        // A follower that would run into a full stop: brake no harder than keeps the path free.
        let rear = self.rear_risk(inp, p.max_decel);
        if inp.v >= p.min_steer_speed {
            let grip = 0.95 * p.friction * G;
            for mut c in self.evasive_candidates(inp, &inp.start, false) {
                if c.decel > 0.0 {
                    continue;
                }
                // Brake as hard as the friction circle leaves room for beside the steering.
                c.decel = (grip * grip - c.lat_accel * c.lat_accel)
                    .max(0.0)
                    .sqrt()
                    .min(p.max_decel);
                let hit = self.first_hit(inp, &inp.start, &c.lateral, c.decel, false, p.margin);
                // A collision is never traded for one with someone else, nor for a faster one;
                // steering must gain clearly over straight braking to be worth it.
                let impact = match (hit, straight_hit) {
                    (None, _) => {
                        if rear {
                            c.decel = self.gentlest_free(inp, &c.lateral, c.decel, false);
                        }
                        0.0
                    }
                    (Some(h), Some(s)) if h.object == s.object => h.impact_speed,
                    _ => continue,
                };
                if impact + 2.0 < best_impact {
                    best_impact = impact;
                    chosen = Some(c);
                }
            }
        }
        self.reason = Reason::NoFreePath;
        self.manoeuvre = Manoeuvre::MinimumImpact {
            impact_speed: best_impact,
        };
        let (lateral, decel, evasive, state) = match chosen {
            Some(c) => (c.lateral, c.decel, true, AesState::BrakeAndSteer),
            None if straight_hit.is_none() && rear => (
                straight,
                self.gentlest_free(inp, &straight, p.max_decel, true),
                false,
                AesState::Brake,
            ),
            None => (straight, p.max_decel, false, AesState::Brake),
        };
        self.enter(state, inp.time);
        let active = Active {
            lane: inp.lane,
            start_time: inp.time,
            start: inp.start,
            lateral,
            decel,
            evasive,
            minimum_impact: true,
        };
        let t = self.render(inp, &active);
        self.active = Some(active);
        t
    }

    /// The gentlest braking, up to `max`, along `lateral` that meets nothing (`ahead_only`:
    /// contacts from behind do not count); `max` when only that is free.
    fn gentlest_free(
        &self,
        inp: &AesInputs,
        lateral: &Polynomial,
        max: f64,
        ahead_only: bool,
    ) -> f64 {
        [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
            .into_iter()
            .take_while(|&d| d < max)
            .find(|&d| {
                self.first_hit(inp, &inp.start, lateral, d, ahead_only, self.params.margin)
                    .is_none()
            })
            .unwrap_or(max)
    }

    fn continue_active(
        &mut self,
        inp: &AesInputs,
        active: &Active,
        need: f64,
        clear_for: f64,
    ) -> Option<Trajectory> {
        let p = self.params;
        if !active.evasive {
            if inp.v < 0.2 {
                self.reason = Reason::Stopped;
                self.active = None;
                self.enter(AesState::Hold, inp.time);
                return Some(self.stop_trajectory(inp));
            }
            if clear_for >= p.release_time {
                self.reason = Reason::ThreatCleared;
                self.active = None;
                self.enter(AesState::Return, inp.time);
                return None;
            }
            // Escalate when the chosen braking no longer suffices; at full braking only a
            // free evasion can still do better.
            if need > active.decel + 0.25 {
                if active.decel < p.max_decel - 1e-9 {
                    return if active.minimum_impact {
                        Some(self.minimum_impact(inp))
                    } else {
                        self.intervene(inp, need)
                    };
                }
                if self.manoeuvres < p.max_manoeuvres
                    && inp.v >= p.min_steer_speed
                    && let Some(t) = self.evade(
                        inp,
                        &inp.start.clone(),
                        Reason::BrakingTooLate,
                        EvasionRule::any(&p),
                    )
                {
                    return Some(t);
                }
            }
            return Some(self.render(inp, active));
        }
        // An evasion continues while its path stays free; otherwise one more manoeuvre.
        let elapsed = inp.time - active.start_time;
        let line = self.line_of(inp, active);
        let (_, samples) = motion(
            line,
            &active.start,
            &active.lateral,
            Profile {
                decel: active.decel,
                delay: 0.0,
                elapsed,
            },
            (inp.obstacles.dt(), p.steps.min(inp.obstacles.steps())),
        );
        if inp
            .obstacles
            .first_hit(inp.ego, &samples, p.margin)
            .is_none()
        {
            if elapsed >= active.lateral.duration() {
                let held = self.state == AesState::Hold && inp.time - self.since >= p.hold_time;
                if clear_for >= p.release_time || held {
                    self.reason = Reason::ThreatCleared;
                    self.active = None;
                    self.enter(AesState::Return, inp.time);
                    return None;
                }
                self.enter(AesState::Hold, inp.time);
            }
            return Some(self.render(inp, active));
        }
        if self.manoeuvres < p.max_manoeuvres && inp.v >= p.min_steer_speed {
            let used = self.manoeuvres;
            if let Some(t) = self.evade(
                inp,
                &inp.start.clone(),
                Reason::PathBlocked,
                EvasionRule::any(&p),
            ) {
                self.manoeuvres = used + 1;
                return Some(t);
            }
        }
        if active.minimum_impact {
            return Some(self.render(inp, active));
        }
        let reason = if self.manoeuvres >= p.max_manoeuvres {
            Reason::ManoeuvreLimit
        } else {
            Reason::NoFreePath
        };
        // Mid-evasion, full braking keeps the current lateral position rather than swerving
        // back across the threat.
        let t = self.minimum_impact(inp);
        self.reason = reason;
        Some(t)
    }

    fn line_of<'b>(&self, inp: &AesInputs<'b>, active: &Active) -> &'b ReferenceLine {
        inp.lanes
            .lanes
            .iter()
            .find(|l| l.id == active.lane)
            .map_or(inp.line, |l| &l.line)
    }

    fn stop_trajectory(&self, inp: &AesInputs) -> Trajectory {
        let (points, _) = motion(
            inp.line,
            &inp.start,
            &hold_lateral(&inp.start),
            Profile {
                decel: self.params.max_decel,
                delay: 0.0,
                elapsed: 0.0,
            },
            (inp.obstacles.dt(), inp.trajectory_steps),
        );
        Trajectory { points }
    }
}

#[cfg(test)]
mod tests {
    use crate::planner::{Planner, PlannerConfig};
    use crate::types::{EgoState, Inputs, Lane, LaneMap, Object, ObjectClass, Pose2};

    fn inputs(gap: f64, v: f64) -> Inputs {
        // Ego front at x = 2.254; the car's rear `gap` metres further.
        Inputs {
            time: 0.0,
            ego: EgoState {
                v,
                ..EgoState::default()
            },
            objects: vec![Object {
                id: 9,
                class: ObjectClass::Car,
                pose: Pose2 {
                    x: 2.254 + gap + 2.25,
                    y: 0.0,
                    yaw: 0.0,
                },
                length: 4.5,
                width: 1.8,
                ..Object::default()
            }],
            map: LaneMap {
                lanes: vec![Lane {
                    id: 1,
                    centre: vec![(-50.0, 0.0), (500.0, 0.0)],
                    width: 3.5,
                    speed_limit: Some(30.0),
                    left: None,
                    right: None,
                }],
            },
            driver_override: false,
        }
    }

    #[test]
    fn ttc_and_last_points_to_brake_and_steer() {
        let mut planner = Planner::new(PlannerConfig::default());
        let out = planner.plan(&inputs(50.0, 20.0)).unwrap();
        let s = out.aes;
        // 50 m at 20 m/s is 2.5 s; the discs' rounded ends, the 0.1 m std-dev and the 0.15 m
        // margin take up to ~0.6 m, i.e. one 0.1 s grid step.
        let ttc = s.ttc.unwrap();
        assert!((2.4..=2.5).contains(&ttc), "{ttc}");
        // Last point to brake: 20/(2·9) + 0.1 latency = 1.211 s.
        assert!((s.ttc_brake.unwrap() - 1.2111).abs() < 1e-3);
        // Last point to steer: y = 0.805 + 0.9 + 0.15 = 1.855 m at 0.8·9.81 m/s²:
        // √(2·1.855/7.848) + 0.1 = 0.7876 s.
        assert!((s.ttc_steer.unwrap() - 0.7876).abs() < 1e-3);
        // Stopping in 50 m from 20 m/s with 0.1 s latency needs ≈ 4.1 m/s²; on the 0.5 grid
        // and with the margins it is 4.5.
        assert_eq!(s.required_decel, Some(4.5));
        assert_eq!(s.object, Some(9));
    }

    #[test]
    fn a_warning_ends_only_after_the_need_stays_low() {
        // Stationary car ahead at 20 m/s: the needed deceleration falls as the gap grows.
        let mut planner = Planner::new(PlannerConfig::default());
        let state = |planner: &mut Planner, t: f64, gap: f64| {
            let mut i = inputs(gap, 20.0);
            i.time = t;
            planner.plan(&i).unwrap().aes
        };
        // 75 m less 2 m latency travel and the margins: 20²/(2·72.5) = 2.8 → 3.0 on the
        // grid, above on (2.5), not above the trigger (3.5).
        let s = state(&mut planner, 0.0, 75.0);
        assert_eq!(s.state, super::AesState::Warn);
        assert_eq!(s.required_decel, Some(3.0));
        // 110 m: 20²/(2·107.5) = 1.9 → 2.0: not above on, not below off (1.5): still Warn.
        let s = state(&mut planner, 0.125, 110.0);
        assert_eq!(s.state, super::AesState::Warn);
        assert!(
            s.required_decel.is_some_and(|a| (1.5..=2.5).contains(&a)),
            "{s:?}"
        );
        // 200 m: beyond the 8 s horizon, need 0 — below off, but not yet for 0.5 s.
        let s = state(&mut planner, 0.25, 200.0);
        assert!(s.required_decel.unwrap() < 1.5);
        assert_eq!(s.state, super::AesState::Warn);
        assert_eq!(
            state(&mut planner, 0.625, 200.0).state,
            super::AesState::Warn
        );
        // Calm since 0.25 s: released at 0.75 s (times exact in binary).
        assert_eq!(
            state(&mut planner, 0.75, 200.0).state,
            super::AesState::Standby
        );
    }

    #[test]
    fn with_a_close_follower_a_swerve_must_pass_a_pedestrian_clearly_to_beat_braking() {
        // 30 km/h in a single lane; a pedestrian stands in its right half 12 m ahead and a car
        // follows 3 m behind at the same speed. AES's braking (6 m/s²) would endanger the
        // follower; the lane leaves room for a 1.0 m swerve to the left that passes the
        // pedestrian by 0.75 m box to box, less than 0.5 m once the discs' rounding and the
        // prediction's std-dev are counted (at y = -1.0 it is taken with either clearance).
        let v = 30.0 / 3.6;
        let mut i = inputs(200.0, v);
        i.map.lanes[0].speed_limit = Some(v);
        i.objects = vec![
            Object {
                id: 1,
                class: ObjectClass::Pedestrian,
                pose: Pose2 {
                    x: 2.254 + 12.0 + 0.25,
                    y: -0.9,
                    yaw: 0.0,
                },
                length: 0.5,
                width: 0.5,
                ..Object::default()
            },
            Object {
                id: 2,
                class: ObjectClass::Car,
                pose: Pose2 {
                    x: -2.254 - 3.0 - 2.25,
                    y: 0.0,
                    yaw: 0.0,
                },
                length: 4.5,
                width: 1.8,
                vx: v,
                ..Object::default()
            },
        ];
        let decide = |margin: f64| {
            let mut config = PlannerConfig::default();
            config.aes.rear_evasion_margin = margin;
            Planner::new(config).plan(&i).unwrap().aes
        };
        let s = decide(super::AesParams::default().rear_evasion_margin);
        let need = s.required_decel.unwrap();
        assert!((3.5..=6.0).contains(&need), "{s:?}");
        // A swerve that close is not worth sparing the follower: brake just beyond the need.
        assert_eq!(s.state, super::AesState::Brake, "{s:?}");
        assert_eq!(s.manoeuvre, super::Manoeuvre::Brake { decel: need + 0.5 });
        // Held only to the clearance every manoeuvre keeps, the same swerve is taken.
        let s = decide(super::AesParams::default().margin);
        assert_eq!(s.reason, super::Reason::RearTraffic, "{s:?}");
        assert!(
            matches!(s.manoeuvre, super::Manoeuvre::Evade { side: super::Side::Left, shift, .. } if shift <= 1.0),
            "{s:?}"
        );
    }

    #[test]
    fn braking_keeps_the_lateral_path_it_started_with() {
        // 35 m behind a stationary car at 20 m/s: AES brakes straight.
        let mut planner = Planner::new(PlannerConfig::default());
        let first = planner.plan(&inputs(35.0, 20.0)).unwrap();
        assert_eq!(first.aes.state, super::AesState::Brake, "{:?}", first.aes);
        // A cycle later the car has turned 0.05 rad to the left and moved 0.2 m, as a car
        // starting to yaw under hard braking does.
        let mut i = inputs(33.0, 19.0);
        i.time = 0.1;
        i.ego.y = 0.2;
        i.ego.yaw = 0.05;
        let out = planner.plan(&i).unwrap();
        assert_eq!(out.aes.state, super::AesState::Brake, "{:?}", out.aes);
        // The path leads back to the line braking started on (y = 0); settling from the new
        // state would have carried on along the drift to y ≈ 0.67.
        let ys: Vec<f64> = out.trajectory.points.iter().map(|p| p.y).collect();
        assert!(ys.iter().all(|y| y.abs() < 0.05), "{ys:?}");
    }

    #[test]
    fn far_threats_leave_aes_in_standby_and_near_ones_trigger_it() {
        let mut planner = Planner::new(PlannerConfig::default());
        let out = planner.plan(&inputs(120.0, 20.0)).unwrap();
        assert_eq!(out.aes.state, super::AesState::Standby);
        let mut planner = Planner::new(PlannerConfig::default());
        let out = planner.plan(&inputs(20.0, 20.0)).unwrap();
        assert!(matches!(
            out.aes.state,
            super::AesState::Brake | super::AesState::Steer | super::AesState::BrakeAndSteer
        ));
        // With the driver overriding, nothing happens.
        let mut planner = Planner::new(PlannerConfig::default());
        let mut i = inputs(20.0, 20.0);
        i.driver_override = true;
        let out = planner.plan(&i).unwrap();
        assert_eq!(out.aes.state, super::AesState::Overridden);
    }
}
