//! Actors of the vehicle world: cars, a crashed car, trucks, motorcycles, cyclists, adult and
//! child pedestrians and parked cars, each an upright box of its Euro NCAP target size, moving
//! along a route under a list of triggered phases.
//!
//! # Motion model
//!
//! * A [`Route`] fixes the path: in a lane of the road at a fixed lateral offset, along Frenet
//!   `(s, d)` waypoints (with `d` interpolated linearly in `s`), or along Cartesian waypoints
//!   (a pedestrian crossing the road). Waypoints may carry a target speed that applies from
//!   that waypoint on.
//! * The actor's speed is its rate of travel along the path (along the lane direction at its
//!   lateral offset on a road route); lateral manoeuvres add their lateral velocity on top, so
//!   the reported velocity is the true Cartesian one.
//! * Speed changes are exact for piecewise constant acceleration: a step that reaches its
//!   target speed part-way covers exactly the distance of "ramp, then hold", so stopping
//!   distances are `v²/2a` to rounding, independent of the step size.
//! * Lateral manoeuvres (lane changes) follow the minimum-jerk quintic
//!   `y = Δ·(10τ³ − 15τ⁴ + 6τ⁵)` of driving-safety §4.3, over a duration or a distance: they end
//!   exactly at the target offset with zero lateral speed and never overshoot.
//! * [`Phase`]s run in order: phase `k` is armed once phase `k − 1` has started and starts at
//!   the first step whose [`Trigger`] holds; it replaces the longitudinal and/or lateral mode.
//! * A reactive follower ([`Longitudinal::Follow`]) tracks the ego with a constant-time-gap law
//!   on what it saw one reaction time ago, capped at its own braking limit, so a rear-end
//!   collision with an ego that brakes too hard is possible.
//!
//! Gaps and time-to-collision are measured along the road's reference line between the boxes'
//! bumpers (the Euro NCAP timing convention, driving-safety §4.1). Everything is deterministic.

use std::collections::VecDeque;

use nalgebra::{Point2, Vector2};
use thiserror::Error;

use crate::geometry::{GeometryError, Obb, ObjectClass};
use crate::road::{Road, RoadError};

/// Actor boxes stand on the flat ground plane z = 0 of the vehicle world.
const GROUND_Z: f64 = 0.0;

/// Trigger times are compared with this slack because sim clocks accumulate `dt` in floating
/// point and would otherwise fire a step late.
const TIME_EPS: f64 = 1e-9;

/// A speed within this of a phase's target (m/s) has reached it.
const SPEED_EPS: f64 = 1e-6;

/// Below this speed (m/s) an actor keeps its heading instead of taking it from a zero velocity.
const STILL_SPEED: f64 = 1e-9;

/// Floor for the reference-line stretch factor `1 − κ·d`: beyond a curve's centre (off the road)
/// the Frenet frame folds, and a tiny or negative factor would fling the actor along `s`.
const MIN_STRETCH: f64 = 0.1;

/// Follower gap gain (1/s²) and speed gain (1/s): a critically damped loop at 0.5 rad/s
/// (`s² + 1.0·s + 0.25`), gentle enough for traffic yet settling within a few seconds.
const FOLLOW_GAP_GAIN: f64 = 0.25;
/// See [`FOLLOW_GAP_GAIN`].
const FOLLOW_SPEED_GAIN: f64 = 1.0;

/// Invalid actor, route, phase or step input.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ActorError {
    /// A numeric field is out of range.
    #[error("actor field `{name}` = {value} is invalid: {reason}")]
    InvalidValue {
        /// Name of the field.
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// What the value must satisfy.
        reason: &'static str,
    },
    /// A route has too few waypoints.
    #[error("a route needs at least {needed} waypoints, got {got}")]
    TooFewWaypoints {
        /// Minimum number of waypoints.
        needed: usize,
        /// Waypoints given.
        got: usize,
    },
    /// A waypoint does not continue the route.
    #[error("waypoint {index}: {reason}")]
    BadWaypoint {
        /// Index of the waypoint.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A lateral manoeuvre was given to an actor whose route is not on the road.
    #[error("phase {index}: lateral manoeuvres need a road route (lane or Frenet waypoints)")]
    LateralOffRoad {
        /// Index of the phase.
        index: usize,
    },
    /// A phase has an invalid parameter.
    #[error("phase {index}: {source}")]
    InPhase {
        /// Index of the phase.
        index: usize,
        /// What is wrong in it.
        source: Box<ActorError>,
    },
    /// The actor's box could not be built.
    #[error(transparent)]
    Geometry(#[from] GeometryError),
    /// A road query failed (e.g. a lane index out of range).
    #[error(transparent)]
    Road(#[from] RoadError),
}

/// Outer dimensions of an actor's box (m).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    /// Along the heading (m).
    pub length: f64,
    /// Across the heading (m).
    pub width: f64,
    /// Height above the ground (m).
    pub height: f64,
}

impl Size {
    /// A size with every dimension finite and greater than 0.
    pub fn new(length: f64, width: f64, height: f64) -> Result<Self, ActorError> {
        positive("length", length)?;
        positive("width", width)?;
        positive("height", height)?;
        Ok(Self {
            length,
            width,
            height,
        })
    }
}

/// Longitudinal acceleration limits (m/s², both positive) for speed changes without an explicit rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest acceleration (m/s²).
    pub max_accel: f64,
    /// Largest deceleration (m/s², positive).
    pub max_decel: f64,
}

impl Limits {
    /// Limits with both values finite and greater than 0.
    pub fn new(max_accel: f64, max_decel: f64) -> Result<Self, ActorError> {
        positive("max_accel", max_accel)?;
        positive("max_decel", max_decel)?;
        Ok(Self {
            max_accel,
            max_decel,
        })
    }
}

/// What an actor is; fixes its default size, limits and perception class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActorKind {
    /// A passenger car, the Euro NCAP Global Vehicle Target.
    Car,
    /// A stationary (crashed) car, also a GVT.
    CrashedCar,
    /// A truck (approximate size; no Euro NCAP target exists).
    Truck,
    /// A motorcycle with rider, the Euro NCAP motorcycle target.
    Motorcycle,
    /// A bicycle with rider, the Euro NCAP bicycle target (EBT).
    Cyclist,
    /// An adult pedestrian, the Euro NCAP EPTa.
    AdultPedestrian,
    /// A child pedestrian, the Euro NCAP EPTc.
    ChildPedestrian,
    /// A parked car used as an obstruction, the Euro NCAP large obstruction vehicle.
    ParkedCar,
}

impl std::fmt::Display for ActorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl ActorKind {
    /// Every kind, for tables and tests.
    pub const ALL: [ActorKind; 8] = [
        ActorKind::Car,
        ActorKind::CrashedCar,
        ActorKind::Truck,
        ActorKind::Motorcycle,
        ActorKind::Cyclist,
        ActorKind::AdultPedestrian,
        ActorKind::ChildPedestrian,
        ActorKind::ParkedCar,
    ];

    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            ActorKind::Car => "car",
            ActorKind::CrashedCar => "crashed_car",
            ActorKind::Truck => "truck",
            ActorKind::Motorcycle => "motorcycle",
            ActorKind::Cyclist => "cyclist",
            ActorKind::AdultPedestrian => "adult_pedestrian",
            ActorKind::ChildPedestrian => "child_pedestrian",
            ActorKind::ParkedCar => "parked_car",
        }
    }

    /// The kind with this scenario-file name, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Default length × width × height (m).
    ///
    /// From the Vector OSC-NCAP-scenarios catalogs (driving-safety §1.2, [V]): GVT
    /// 4.023 × 1.712 × 1.427 (cars, crashed cars); large obstruction vehicle 4.418 × 1.82 × 1.533
    /// (parked cars; the small one, 4.316 × 1.79 × 1.48, via [`Actor::with_size`]); motorcycle
    /// target 2.08 × 0.79 × 1.06; bicycle target 1.89 × 0.5 × 1.2; EPTa 0.6 × 0.5 × 1.8; EPTc
    /// 0.711 × 0.298 × 1.154. The truck, 10.0 × 2.55 × 3.5 (a rigid truck at the EU maximum
    /// width), is approximate: the reference lists no truck target.
    pub fn default_size(self) -> Size {
        let (length, width, height) = match self {
            ActorKind::Car | ActorKind::CrashedCar => (4.023, 1.712, 1.427),
            ActorKind::Truck => (10.0, 2.55, 3.5),
            ActorKind::Motorcycle => (2.08, 0.79, 1.06),
            ActorKind::Cyclist => (1.89, 0.5, 1.2),
            ActorKind::AdultPedestrian => (0.6, 0.5, 1.8),
            ActorKind::ChildPedestrian => (0.711, 0.298, 1.154),
            ActorKind::ParkedCar => (4.418, 1.82, 1.533),
        };
        Size {
            length,
            width,
            height,
        }
    }

    /// Default acceleration limits (approximate: typical everyday values, not from a protocol).
    ///
    /// Cars and motorcycles 3 / 8 m/s² (about 0.8 g braking on dry asphalt), trucks 1.5 / 6,
    /// cyclists 1.5 / 4, pedestrians 1.5 / 3.
    pub fn default_limits(self) -> Limits {
        let (max_accel, max_decel) = match self {
            ActorKind::Car | ActorKind::CrashedCar | ActorKind::ParkedCar => (3.0, 8.0),
            ActorKind::Truck => (1.5, 6.0),
            ActorKind::Motorcycle => (3.0, 8.0),
            ActorKind::Cyclist => (1.5, 4.0),
            ActorKind::AdultPedestrian | ActorKind::ChildPedestrian => (1.5, 3.0),
        };
        Limits {
            max_accel,
            max_decel,
        }
    }

    /// The ground-truth perception class.
    pub fn object_class(self) -> ObjectClass {
        match self {
            ActorKind::Car | ActorKind::CrashedCar | ActorKind::ParkedCar => ObjectClass::Car,
            ActorKind::Truck => ObjectClass::Truck,
            ActorKind::Motorcycle => ObjectClass::Motorcycle,
            ActorKind::Cyclist => ObjectClass::Bicycle,
            ActorKind::AdultPedestrian | ActorKind::ChildPedestrian => ObjectClass::Pedestrian,
        }
    }
}

/// A route waypoint in the road's Frenet coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrenetWaypoint {
    /// Arc length along the reference line (m).
    pub s: f64,
    /// Lateral offset, positive to the left (m).
    pub d: f64,
    /// Target speed (m/s) from this waypoint on, if it changes here.
    pub speed: Option<f64>,
}

/// A route waypoint in world coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointWaypoint {
    /// World x (m).
    pub x: f64,
    /// World y (m).
    pub y: f64,
    /// Target speed (m/s) from this waypoint on, if it changes here.
    pub speed: Option<f64>,
}

/// The path an actor travels; it starts at the route's first point.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// Along the road from `s` at the constant lateral offset `d` (lane changes add to it).
    Lane {
        /// Start arc length (m).
        s: f64,
        /// Lateral offset (m).
        d: f64,
    },
    /// Along Frenet waypoints with strictly increasing `s`; `d` is linear in `s` between them
    /// and constant after the last.
    Frenet(Vec<FrenetWaypoint>),
    /// Along a world polyline (at least two distinct points); continues straight past its end.
    Points(Vec<PointWaypoint>),
}

impl Route {
    /// On the centre of `lane` (0 = rightmost) from arc length `s`.
    pub fn in_lane(road: &Road, lane: usize, s: f64) -> Result<Self, ActorError> {
        Ok(Route::Lane {
            s,
            d: road.lane_centre_offset(lane)?,
        })
    }

    /// A straight crossing from `start` towards `end` at `speed` (m/s), continuing past `end`.
    pub fn crossing(start: Point2<f64>, end: Point2<f64>, speed: f64) -> Self {
        Route::Points(vec![
            PointWaypoint {
                x: start.x,
                y: start.y,
                speed: Some(speed),
            },
            PointWaypoint {
                x: end.x,
                y: end.y,
                speed: None,
            },
        ])
    }
}

/// How an actor's speed evolves during a phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Longitudinal {
    /// Track the route's waypoint speeds (the initial speed until a waypoint sets one) within the actor's limits.
    Route,
    /// Change to `target` (m/s) at `rate` (m/s²), or within the actor's limits if `None`, then hold.
    Speed {
        /// Target speed (m/s).
        target: f64,
        /// Rate of change (m/s²), or `None` for the actor's limits.
        rate: Option<f64>,
    },
    /// Brake at exactly `decel` (m/s², not capped by the limits) down to `to_speed` (0 = stop), then hold.
    Brake {
        /// Deceleration (m/s², positive).
        decel: f64,
        /// Speed to brake to (m/s).
        to_speed: f64,
    },
    /// Stand still at once (parked, crashed, or a pedestrian waiting at the kerb).
    StandStill,
    /// Follow the ego as a reactive driver.
    Follow(FollowParams),
}

/// A reactive follower: a constant-time-gap law on the ego state seen `reaction_time` ago.
///
/// The command is `a_lead + k_g·(gap − min_gap − time_gap·v) + k_v·(v_lead − v)` with the
/// ego's position extrapolated at its then speed to now, capped by `max_speed` and clamped to
/// `[−max_decel, max_accel]`. Feeding the seen ego deceleration forward makes the follower brake
/// as soon as it sees the ego brake, one reaction time late, as drivers respond to brake lights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FollowParams {
    /// Desired time gap (s).
    pub time_gap: f64,
    /// Gap kept at standstill, bumper to bumper (m).
    pub min_gap: f64,
    /// Perception-reaction delay (s).
    pub reaction_time: f64,
    /// Largest braking (m/s², positive).
    pub max_decel: f64,
    /// Largest acceleration (m/s²).
    pub max_accel: f64,
    /// Speed the follower never exceeds (m/s); its cruise speed with no ego ahead.
    pub max_speed: f64,
}

impl Default for FollowParams {
    /// A 1.0 s time gap, 2 m at standstill, 1.0 s reaction, 8 / 2 m/s², 130 km/h cap (driving-safety §8.2 ranges).
    fn default() -> Self {
        Self {
            time_gap: 1.0,
            min_gap: 2.0,
            reaction_time: 1.0,
            max_decel: 8.0,
            max_accel: 2.0,
            max_speed: 130.0 / 3.6,
        }
    }
}

/// How long a lateral manoeuvre takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Span {
    /// A duration (s).
    Time(f64),
    /// A distance travelled along the path (m of reference-line arc length).
    Distance(f64),
}

/// How an actor's lateral offset evolves during a phase (road routes only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lateral {
    /// Hold the current offset, cancelling a manoeuvre under way.
    Keep,
    /// Move by `delta` (m, positive to the left) along a quintic over `span`.
    LaneChange {
        /// Lateral displacement (m), e.g. one lane width.
        delta: f64,
        /// Duration or distance.
        span: Span,
    },
    /// Move to the absolute lateral offset `d` (m) along a quintic over `span`.
    MoveTo {
        /// Target lateral offset (m).
        d: f64,
        /// Duration or distance.
        span: Span,
    },
}

/// How the distance to the ego is measured by [`Trigger::EgoWithin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Bumper-to-bumper gap along the reference line (either side).
    Longitudinal,
    /// Straight-line distance between the box centres.
    Euclidean,
}

/// When a phase starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// As soon as the phase is armed.
    Immediately,
    /// At sim time `t` (s) or later.
    Time(f64),
    /// This long (s) after the previous phase started (or after the first step, for phase 0).
    Delay(f64),
    /// When what the previous phase set in motion is over (see [`PhaseEnd`]); at once for
    /// phase 0.
    PreviousEnded,
    /// When the ego is within `distance` (m).
    EgoWithin {
        /// Distance threshold (m).
        distance: f64,
        /// How the distance is measured.
        measure: Measure,
    },
    /// When the longitudinal time-to-collision between the ego and this actor is at most this (s).
    EgoTtcBelow(f64),
    /// When the ego's front bumper is at most `ttc` (s) from the point's arc length (or past it).
    EgoTtcToPoint {
        /// The point (e.g. the crossing point of a pedestrian with the ego path).
        point: Point2<f64>,
        /// Time threshold (s).
        ttc: f64,
    },
}

/// When a phase is over, for a following phase triggered by [`Trigger::PreviousEnded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseEnd {
    /// Never: keeping a speed, standing, following the ego.
    Never,
    /// When the longitudinal mode's speed is reached (accelerating, braking).
    Speed,
    /// When the lateral manoeuvre is done (a lane change).
    Lateral,
    /// At the end of the route (a crossing's destination, the last waypoint).
    RouteEnd,
}

/// One step of an actor's script: from its trigger on, the given modes replace the current ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phase {
    /// When the phase starts.
    pub trigger: Trigger,
    /// When it is over.
    pub end: PhaseEnd,
    /// New longitudinal mode, or `None` to keep the current one.
    pub longitudinal: Option<Longitudinal>,
    /// New lateral mode, or `None` to keep the current one (a manoeuvre under way continues).
    pub lateral: Option<Lateral>,
}

impl Phase {
    /// A phase that starts on `trigger` and changes nothing yet.
    pub fn on(trigger: Trigger) -> Self {
        Self {
            trigger,
            end: PhaseEnd::Never,
            longitudinal: None,
            lateral: None,
        }
    }

    /// The same phase, over at `end`.
    pub fn ends(mut self, end: PhaseEnd) -> Self {
        self.end = end;
        self
    }

    /// The same phase with a longitudinal mode.
    pub fn longitudinal(mut self, mode: Longitudinal) -> Self {
        self.longitudinal = Some(mode);
        self
    }

    /// The same phase with a lateral mode.
    pub fn lateral(mut self, mode: Lateral) -> Self {
        self.lateral = Some(mode);
        self
    }
}

/// What actors see of the ego each step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EgoView {
    /// Arc length of the ego box centre (m).
    pub s: f64,
    /// Lateral offset of the ego box centre (m).
    pub d: f64,
    /// World x of the ego box centre (m).
    pub x: f64,
    /// World y of the ego box centre (m).
    pub y: f64,
    /// Heading (rad).
    pub yaw: f64,
    /// Speed along the heading (m/s).
    pub speed: f64,
    /// Longitudinal acceleration (m/s², negative when braking).
    pub accel: f64,
    /// Length of the ego box (m), for bumper-to-bumper gaps.
    pub length: f64,
}

impl EgoView {
    /// The view of an ego whose box centre is at (`x`, `y`), with Frenet coordinates from `road`.
    pub fn on_road(
        road: &Road,
        x: f64,
        y: f64,
        yaw: f64,
        speed: f64,
        accel: f64,
        length: f64,
    ) -> Self {
        let f = road.to_frenet(Point2::new(x, y));
        Self {
            s: f.s,
            d: f.d,
            x,
            y,
            yaw,
            speed,
            accel,
            length,
        }
    }

    fn validate(&self) -> Result<(), ActorError> {
        for (name, value) in [
            ("ego.s", self.s),
            ("ego.d", self.d),
            ("ego.x", self.x),
            ("ego.y", self.y),
            ("ego.yaw", self.yaw),
            ("ego.speed", self.speed),
            ("ego.accel", self.accel),
        ] {
            finite(name, value)?;
        }
        non_negative("ego.length", self.length)
    }

    /// Rate of change of the ego's arc length (m/s).
    fn s_rate(&self, road: &Road) -> f64 {
        self.speed * (self.yaw - road.heading(self.s)).cos() / stretch(road, self.s, self.d)
    }
}

/// Ground truth of one actor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActorState {
    /// Caller-chosen id.
    pub id: u32,
    /// What the actor is.
    pub kind: ActorKind,
    /// Its perception class.
    pub class: ObjectClass,
    /// Box centre, world x (m).
    pub x: f64,
    /// Box centre, world y (m).
    pub y: f64,
    /// Heading (rad).
    pub yaw: f64,
    /// Arc length of the box centre (m).
    pub s: f64,
    /// Lateral offset of the box centre (m).
    pub d: f64,
    /// Speed along the path (m/s).
    pub speed: f64,
    /// World velocity (m/s), lateral manoeuvres included.
    pub velocity: Vector2<f64>,
    /// Longitudinal acceleration over the last step (m/s²).
    pub accel: f64,
    /// Box size.
    pub size: Size,
}

/// The compiled path: `u` is the arc length of the reference line (road) or of the polyline.
#[derive(Debug, Clone, PartialEq)]
enum Path {
    Road {
        /// `(s, d)` knots, `s` strictly increasing; one knot means a constant offset.
        knots: Vec<(f64, f64)>,
    },
    Polyline {
        points: Vec<Point2<f64>>,
        /// Arc length at each point.
        cumulative: Vec<f64>,
    },
}

impl Path {
    /// Path position of the route's end: the last knot or point.
    fn end(&self) -> f64 {
        match self {
            // One knot is a lane followed for ever.
            Path::Road { knots } if knots.len() < 2 => f64::INFINITY,
            Path::Road { knots } => knots.last().map_or(f64::INFINITY, |k| k.0),
            Path::Polyline { cumulative, .. } => cumulative.last().copied().unwrap_or(0.0),
        }
    }

    /// Path offset and its slope `dd/ds` at `s` (road paths).
    fn offset(knots: &[(f64, f64)], s: f64) -> (f64, f64) {
        let i = knots.partition_point(|&(ks, _)| ks <= s);
        if i == 0 {
            return (knots[0].1, 0.0);
        }
        if i == knots.len() {
            return (knots[knots.len() - 1].1, 0.0);
        }
        let (s0, d0) = knots[i - 1];
        let (s1, d1) = knots[i];
        let slope = (d1 - d0) / (s1 - s0);
        (d0 + slope * (s - s0), slope)
    }

    /// Point and unit direction at arc length `u` of a polyline (extended past both ends).
    fn along(points: &[Point2<f64>], cumulative: &[f64], u: f64) -> (Point2<f64>, Vector2<f64>) {
        let last = points.len() - 2;
        let i = cumulative
            .partition_point(|&c| c <= u)
            .saturating_sub(1)
            .min(last);
        let dir = (points[i + 1] - points[i]) / (cumulative[i + 1] - cumulative[i]);
        (points[i] + (u - cumulative[i]) * dir, dir)
    }
}

/// A lateral quintic under way.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Manoeuvre {
    from: f64,
    delta: f64,
    start_t: f64,
    start_u: f64,
    span: Span,
}

impl Manoeuvre {
    /// Offset and its progress derivative factors at time `t` and path position `u`:
    /// returns `(offset, d offset/dt contribution per unit of time, per unit of du/dt)`.
    fn eval(&self, t: f64, u: f64) -> (f64, f64, f64) {
        let (progress, per_time, per_u) = match self.span {
            Span::Time(duration) => ((t - self.start_t) / duration, 1.0 / duration, 0.0),
            Span::Distance(length) => ((u - self.start_u) / length, 0.0, 1.0 / length),
        };
        let p = progress.clamp(0.0, 1.0);
        // The minimum-jerk quintic and its derivative; at p = 1 these are exactly 1 and 0.
        // Capped at 1 so rounding near the end can never push the actor past its target.
        let shape = (p * p * p * (10.0 - 15.0 * p + 6.0 * p * p)).min(1.0);
        let slope = if progress > 0.0 && progress < 1.0 {
            30.0 * p * p * (1.0 - p) * (1.0 - p)
        } else {
            0.0
        };
        (
            self.from + self.delta * shape,
            self.delta * slope * per_time,
            self.delta * slope * per_u,
        )
    }

    fn done(&self, t: f64, u: f64) -> bool {
        match self.span {
            Span::Time(duration) => t - self.start_t >= duration,
            Span::Distance(length) => u - self.start_u >= length,
        }
    }
}

/// One ego observation kept for the follower's reaction delay.
#[derive(Debug, Clone, Copy, PartialEq)]
struct EgoSample {
    t: f64,
    s: f64,
    s_rate: f64,
    accel: f64,
    length: f64,
}

/// A scripted or reactive road user.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    id: u32,
    kind: ActorKind,
    size: Size,
    limits: Limits,
    yaw_offset: f64,
    path: Path,
    /// Speed markers `(u, speed)` in increasing `u`; `next_marker` is the first not yet passed.
    markers: Vec<SpeedMarker>,
    next_marker: usize,
    route_speed: f64,
    u: f64,
    speed: f64,
    accel: f64,
    longitudinal: Longitudinal,
    /// Constant lateral offset added to a road path, and a manoeuvre changing it.
    lateral_offset: f64,
    manoeuvre: Option<Manoeuvre>,
    phases: Vec<Phase>,
    started: Vec<Option<f64>>,
    first_t: Option<f64>,
    history: VecDeque<EgoSample>,
    /// Whether any phase follows the ego, so ego observations must be kept.
    follows: bool,
    /// Longest reaction time among the actor's follow modes: how much history to keep.
    max_reaction: f64,
    x: f64,
    y: f64,
    yaw: f64,
    s: f64,
    d: f64,
    velocity: Vector2<f64>,
    s_rate: f64,
    obb: Obb,
}

impl Actor {
    /// An actor of `kind` at the start of `route`, moving at `speed` (m/s), with the kind's default size and limits.
    pub fn new(
        id: u32,
        kind: ActorKind,
        route: Route,
        speed: f64,
        road: &Road,
    ) -> Result<Self, ActorError> {
        non_negative("speed", speed)?;
        let (path, markers, u) = compile(route)?;
        let size = kind.default_size();
        let obb = Obb::on_ground(
            0.0,
            0.0,
            GROUND_Z,
            0.0,
            size.length,
            size.width,
            size.height,
        )?;
        let mut actor = Self {
            id,
            kind,
            size,
            limits: kind.default_limits(),
            yaw_offset: 0.0,
            path,
            markers,
            next_marker: 0,
            route_speed: speed,
            u,
            speed,
            accel: 0.0,
            longitudinal: Longitudinal::Route,
            lateral_offset: 0.0,
            manoeuvre: None,
            phases: Vec::new(),
            started: Vec::new(),
            first_t: None,
            history: VecDeque::new(),
            follows: false,
            max_reaction: 0.0,
            x: 0.0,
            y: 0.0,
            yaw: 0.0,
            s: 0.0,
            d: 0.0,
            velocity: Vector2::zeros(),
            s_rate: 0.0,
            obb,
        };
        actor.pass_markers();
        actor.update_pose(road, 0.0, true)?;
        Ok(actor)
    }

    /// The same actor with another box size (e.g. the small Euro NCAP obstruction vehicle).
    pub fn with_size(mut self, size: Size, road: &Road) -> Result<Self, ActorError> {
        let size = Size::new(size.length, size.width, size.height)?;
        self.size = size;
        self.obb = Obb::on_ground(
            0.0,
            0.0,
            GROUND_Z,
            0.0,
            size.length,
            size.width,
            size.height,
        )?;
        self.update_pose(road, 0.0, true)?;
        Ok(self)
    }

    /// The same actor with other acceleration limits.
    pub fn with_limits(mut self, limits: Limits) -> Result<Self, ActorError> {
        self.limits = Limits::new(limits.max_accel, limits.max_decel)?;
        Ok(self)
    }

    /// The same actor turned by `offset` (rad) from its direction of travel (a skewed crashed car).
    pub fn with_yaw_offset(mut self, offset: f64, road: &Road) -> Result<Self, ActorError> {
        finite("yaw_offset", offset)?;
        self.yaw_offset = offset;
        self.update_pose(road, 0.0, true)?;
        Ok(self)
    }

    /// The same actor with its phase list replaced.
    pub fn with_phases(mut self, phases: Vec<Phase>) -> Result<Self, ActorError> {
        let on_road = matches!(self.path, Path::Road { .. });
        let (mut follows, mut max_reaction) = (false, 0.0f64);
        for (index, phase) in phases.iter().enumerate() {
            let wrap = |source: ActorError| ActorError::InPhase {
                index,
                source: Box::new(source),
            };
            validate_trigger(&phase.trigger).map_err(wrap)?;
            if let Some(mode) = &phase.longitudinal {
                validate_longitudinal(mode).map_err(wrap)?;
                if let Longitudinal::Follow(p) = mode {
                    follows = true;
                    max_reaction = max_reaction.max(p.reaction_time);
                }
            }
            if let Some(mode) = &phase.lateral {
                if !on_road {
                    return Err(ActorError::LateralOffRoad { index });
                }
                validate_lateral(mode).map_err(wrap)?;
            }
        }
        self.started = vec![None; phases.len()];
        self.phases = phases;
        self.follows = follows;
        self.max_reaction = max_reaction;
        Ok(self)
    }

    /// The caller-chosen id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// What the actor is.
    pub fn kind(&self) -> ActorKind {
        self.kind
    }

    /// The box size.
    pub fn size(&self) -> Size {
        self.size
    }

    /// The acceleration limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The phase list.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// Sim time at which each phase started, `None` while it has not.
    pub fn phase_start_times(&self) -> &[Option<f64>] {
        &self.started
    }

    /// Index of the latest phase that has started.
    pub fn active_phase(&self) -> Option<usize> {
        self.started.iter().rposition(Option::is_some)
    }

    /// Bumper-to-bumper gap (m) along the reference line between the ego and this actor (negative when they overlap).
    pub fn longitudinal_gap(&self, ego: &EgoView) -> f64 {
        (self.s - ego.s).abs() - (self.size.length + ego.length) / 2.0
    }

    /// Longitudinal time-to-collision (s) between the ego and this actor; infinite unless closing.
    pub fn ttc(&self, ego: &EgoView, road: &Road) -> f64 {
        let gap = self.longitudinal_gap(ego);
        let ego_rate = ego.s_rate(road);
        let closing = if self.s >= ego.s {
            ego_rate - self.s_rate
        } else {
            self.s_rate - ego_rate
        };
        if gap <= 0.0 {
            0.0
        } else if closing > 0.0 {
            gap / closing
        } else {
            f64::INFINITY
        }
    }

    /// Advances the actor from sim time `t` by `dt` (s): starts due phases, then moves.
    pub fn step(&mut self, dt: f64, ego: &EgoView, road: &Road, t: f64) -> Result<(), ActorError> {
        positive("dt", dt)?;
        finite("t", t)?;
        ego.validate()?;
        let first_t = *self.first_t.get_or_insert(t);
        if self.follows {
            self.remember(ego, road, t);
        }
        self.start_due_phases(ego, road, t, first_t);

        let before = self.speed;
        let (speed, distance) = self.advance_speed(dt, road, t);
        self.speed = speed;
        self.accel = (speed - before) / dt;
        self.u = match self.path {
            Path::Road { .. } => advance_on_offset(road, self.u, self.d, distance),
            Path::Polyline { .. } => self.u + distance,
        };
        self.pass_markers();
        if let Some(m) = self.manoeuvre
            && m.done(t + dt, self.u)
        {
            // Land exactly on the target so later phases start from the intended offset.
            self.lateral_offset = m.from + m.delta;
            self.manoeuvre = None;
        }
        self.update_pose(road, t + dt, false)
    }

    /// Ground truth now.
    pub fn state(&self) -> ActorState {
        ActorState {
            id: self.id,
            kind: self.kind,
            class: self.kind.object_class(),
            x: self.x,
            y: self.y,
            yaw: self.yaw,
            s: self.s,
            d: self.d,
            speed: self.speed,
            velocity: self.velocity,
            accel: self.accel,
            size: self.size,
        }
    }

    /// The actor's box standing on the ground (z = 0), for lidar scenes and collision checks.
    pub fn obb(&self) -> Obb {
        self.obb
    }

    /// Box centre in the world (m).
    pub fn position(&self) -> Point2<f64> {
        Point2::new(self.x, self.y)
    }

    /// Speed along the path (m/s).
    pub fn speed(&self) -> f64 {
        self.speed
    }

    fn remember(&mut self, ego: &EgoView, road: &Road, t: f64) {
        self.history.push_back(EgoSample {
            t,
            s: ego.s,
            s_rate: ego.s_rate(road),
            accel: ego.accel,
            length: ego.length,
        });
        // Keep the newest sample at or before t − max_reaction, drop everything older.
        let horizon = t - self.max_reaction + TIME_EPS;
        while self.history.len() > 1 && self.history[1].t <= horizon {
            self.history.pop_front();
        }
    }

    /// The ego as seen `delay` ago: the newest sample at or before then (the oldest if none).
    fn perceived(&self, t: f64, delay: f64) -> Option<EgoSample> {
        let then = t - delay + TIME_EPS;
        self.history
            .iter()
            .rev()
            .find(|sample| sample.t <= then)
            .or_else(|| self.history.front())
            .copied()
    }

    fn start_due_phases(&mut self, ego: &EgoView, road: &Road, t: f64, first_t: f64) {
        while let Some(index) = self.started.iter().position(Option::is_none) {
            let previous = if index == 0 {
                first_t
            } else {
                // Phases start in order, so the previous one has a start time.
                self.started[index - 1].unwrap_or(first_t)
            };
            let phase = self.phases[index];
            let previous_over = index == 0 || self.phase_over(index - 1, t);
            if !self.triggered(&phase.trigger, ego, road, t, previous, previous_over) {
                break;
            }
            self.started[index] = Some(t);
            if let Some(mode) = phase.longitudinal {
                self.longitudinal = mode;
                if mode == Longitudinal::StandStill {
                    self.speed = 0.0;
                }
            }
            if let Some(mode) = phase.lateral {
                self.start_lateral(mode, road, t);
            }
        }
    }

    /// Whether what phase `index` (started) set in motion is over.
    fn phase_over(&self, index: usize, t: f64) -> bool {
        match self.phases[index].end {
            PhaseEnd::Never => false,
            PhaseEnd::Speed => match self.longitudinal {
                Longitudinal::Speed { target, .. } => (self.speed - target).abs() <= SPEED_EPS,
                Longitudinal::Brake { to_speed, .. } => self.speed <= to_speed + SPEED_EPS,
                _ => false,
            },
            PhaseEnd::Lateral => self.manoeuvre.is_none_or(|m| m.done(t, self.u)),
            PhaseEnd::RouteEnd => self.u >= self.path.end(),
        }
    }

    fn triggered(
        &self,
        trigger: &Trigger,
        ego: &EgoView,
        road: &Road,
        t: f64,
        previous: f64,
        previous_over: bool,
    ) -> bool {
        match *trigger {
            Trigger::Immediately => true,
            Trigger::PreviousEnded => previous_over,
            Trigger::Time(at) => t >= at - TIME_EPS,
            Trigger::Delay(delay) => t >= previous + delay - TIME_EPS,
            Trigger::EgoWithin { distance, measure } => {
                let gap = match measure {
                    Measure::Longitudinal => self.longitudinal_gap(ego),
                    Measure::Euclidean => (self.x - ego.x).hypot(self.y - ego.y),
                };
                gap <= distance
            }
            Trigger::EgoTtcBelow(threshold) => self.ttc(ego, road) <= threshold,
            Trigger::EgoTtcToPoint { point, ttc } => {
                let distance = road.to_frenet(point).s - ego.s - ego.length / 2.0;
                let rate = ego.s_rate(road);
                distance <= 0.0 || (rate > 0.0 && distance / rate <= ttc)
            }
        }
    }

    fn start_lateral(&mut self, mode: Lateral, road: &Road, t: f64) {
        // A new mode starts from wherever a running manoeuvre has got to.
        let now = self
            .manoeuvre
            .map_or(self.lateral_offset, |m| m.eval(t, self.u).0);
        self.lateral_offset = now;
        self.manoeuvre = None;
        let (delta, span) = match mode {
            Lateral::Keep => return,
            Lateral::LaneChange { delta, span } => (delta, span),
            Lateral::MoveTo { d, span } => {
                let path_d = match &self.path {
                    Path::Road { knots } => Path::offset(knots, self.u).0,
                    Path::Polyline { .. } => road.to_frenet(self.position()).d,
                };
                (d - path_d - now, span)
            }
        };
        self.manoeuvre = Some(Manoeuvre {
            from: now,
            delta,
            start_t: t,
            start_u: self.u,
            span,
        });
    }

    /// New speed and distance travelled along the path over `dt`.
    fn advance_speed(&self, dt: f64, road: &Road, t: f64) -> (f64, f64) {
        let v = self.speed;
        let limited = |target: f64| {
            let rate = if target >= v {
                self.limits.max_accel
            } else {
                self.limits.max_decel
            };
            approach(v, target, rate, dt)
        };
        match self.longitudinal {
            Longitudinal::Route => limited(self.route_speed),
            Longitudinal::Speed { target, rate } => match rate {
                Some(rate) => approach(v, target, rate, dt),
                None => limited(target),
            },
            // Braking never speeds the actor up, even if it is already slower than `to_speed`.
            Longitudinal::Brake { decel, to_speed } => approach(v, to_speed.min(v), decel, dt),
            Longitudinal::StandStill => (0.0, 0.0),
            Longitudinal::Follow(params) => {
                let a = self.follow_accel(&params, road, t);
                approach(v, (v + a * dt).max(0.0), a.abs(), dt)
            }
        }
    }

    fn follow_accel(&self, p: &FollowParams, road: &Road, t: f64) -> f64 {
        let v = self.speed;
        let cruise = FOLLOW_SPEED_GAIN * (p.max_speed - v);
        let a = match self.perceived(t, p.reaction_time) {
            Some(seen) => {
                // Where the driver thinks the ego is now: where it was, moved on at its then speed.
                let ego_s = seen.s + seen.s_rate * (t - seen.t);
                if ego_s < self.s {
                    // The ego is not ahead: nothing to follow.
                    cruise
                } else {
                    let k = stretch(road, self.s, self.d);
                    let gap = (ego_s - self.s) * k - (seen.length + self.size.length) / 2.0;
                    let lead_speed = seen.s_rate * k;
                    let desired = p.min_gap + p.time_gap * v;
                    let follow = seen.accel
                        + FOLLOW_GAP_GAIN * (gap - desired)
                        + FOLLOW_SPEED_GAIN * (lead_speed - v);
                    follow.min(cruise)
                }
            }
            None => cruise,
        };
        a.clamp(-p.max_decel, p.max_accel)
    }

    fn pass_markers(&mut self) {
        while let Some(&(u, speed)) = self.markers.get(self.next_marker) {
            if u > self.u {
                break;
            }
            self.route_speed = speed;
            self.next_marker += 1;
        }
    }

    /// Recomputes the pose at sim time `t` (manoeuvre progress) from `u`; `initial` keeps the
    /// path direction as heading even at standstill.
    fn update_pose(&mut self, road: &Road, t: f64, initial: bool) -> Result<(), ActorError> {
        let (position, direction, s, d, lateral_rate);
        match &self.path {
            Path::Road { knots } => {
                let (path_d, slope) = Path::offset(knots, self.u);
                let (offset, per_time, per_u) = match &self.manoeuvre {
                    Some(m) => m.eval(t, self.u),
                    None => (self.lateral_offset, 0.0, 0.0),
                };
                s = self.u;
                d = path_d + offset;
                let s_rate = self.speed / stretch(road, s, d);
                lateral_rate = slope * s_rate + per_time + per_u * s_rate;
                position = road.to_cartesian(s, d);
                let heading = road.heading(s);
                direction = Vector2::new(heading.cos(), heading.sin());
            }
            Path::Polyline { points, cumulative } => {
                let (p, dir) = Path::along(points, cumulative, self.u);
                let f = road.to_frenet(p);
                (position, direction, s, d, lateral_rate) = (p, dir, f.s, f.d, 0.0);
            }
        }
        let normal = Vector2::new(-direction.y, direction.x);
        let velocity = self.speed * direction + lateral_rate * normal;
        let base = direction.y.atan2(direction.x);
        let travel = if velocity.norm() > STILL_SPEED {
            velocity.y.atan2(velocity.x)
        } else if initial {
            base
        } else {
            // At standstill the heading cannot come from the velocity; keep the last one.
            self.yaw - self.yaw_offset
        };
        let yaw = wrap(travel + self.yaw_offset);
        for (name, value) in [("x", position.x), ("y", position.y), ("yaw", yaw)] {
            finite(name, value)?;
        }
        let heading = road.heading(s);
        let tangent = Vector2::new(heading.cos(), heading.sin());
        self.obb = self.obb.moved_to(
            nalgebra::Point3::new(position.x, position.y, GROUND_Z + self.size.height / 2.0),
            yaw,
        )?;
        self.x = position.x;
        self.y = position.y;
        self.yaw = yaw;
        self.s = s;
        self.d = d;
        self.velocity = velocity;
        self.s_rate = velocity.dot(&tangent) / stretch(road, s, d);
        Ok(())
    }
}

/// Reaches `target` from `v` at `rate` within `dt` if possible, then holds it: the new speed and
/// the exact distance covered.
fn approach(v: f64, target: f64, rate: f64, dt: f64) -> (f64, f64) {
    if target == v || rate <= 0.0 {
        return (v, v * dt);
    }
    let a = rate.copysign(target - v);
    let reach = (target - v).abs() / rate;
    if reach >= dt {
        (v + a * dt, v * dt + 0.5 * a * dt * dt)
    } else {
        (
            target,
            v * reach + 0.5 * a * reach * reach + target * (dt - reach),
        )
    }
}

/// The arc length reached by travelling `distance` along the line at offset `d` from `s`.
///
/// Speed is along the lane at the actor's offset, which is stretched by `1 − κ·d` relative to
/// the reference line; the step is split at segment joins so that a step straddling a change
/// of curvature does not use the wrong stretch for part of its length.
fn advance_on_offset(road: &Road, mut s: f64, d: f64, mut distance: f64) -> f64 {
    // Before the start the reference line continues straight: no stretch.
    if s < 0.0 {
        if distance <= -s {
            return s + distance;
        }
        distance += s;
        s = 0.0;
    }
    let mut end = 0.0;
    for segment in road.segments() {
        end += segment.length();
        if end <= s {
            continue;
        }
        // The segment's own curvature: `Road::curvature` at a join reports the segment before.
        let k = (1.0 - segment.curvature() * d).max(MIN_STRETCH);
        let room = (end - s) * k;
        if distance <= room {
            return s + distance / k;
        }
        distance -= room;
        s = end;
    }
    // Past the end the reference line continues straight too.
    s + distance
}

/// `1 − κ·d`: how much longer the line at offset `d` is than the reference line at `s`.
fn stretch(road: &Road, s: f64, d: f64) -> f64 {
    (1.0 - road.curvature(s) * d).max(MIN_STRETCH)
}

/// A speed change `(u, speed)` at a waypoint.
type SpeedMarker = (f64, f64);

/// Builds the path, its speed markers and the start position `u`.
fn compile(route: Route) -> Result<(Path, Vec<SpeedMarker>, f64), ActorError> {
    match route {
        Route::Lane { s, d } => {
            finite("route s", s)?;
            finite("route d", d)?;
            Ok((
                Path::Road {
                    knots: vec![(s, d)],
                },
                Vec::new(),
                s,
            ))
        }
        Route::Frenet(waypoints) => {
            if waypoints.is_empty() {
                return Err(ActorError::TooFewWaypoints { needed: 1, got: 0 });
            }
            let mut knots = Vec::with_capacity(waypoints.len());
            let mut markers = Vec::new();
            for (index, w) in waypoints.iter().enumerate() {
                waypoint_values(index, &[w.s, w.d], w.speed)?;
                if knots.last().is_some_and(|&(s, _)| w.s <= s) {
                    return Err(ActorError::BadWaypoint {
                        index,
                        reason: "s must increase strictly along the route",
                    });
                }
                knots.push((w.s, w.d));
                if let Some(speed) = w.speed {
                    markers.push((w.s, speed));
                }
            }
            let start = knots[0].0;
            Ok((Path::Road { knots }, markers, start))
        }
        Route::Points(waypoints) => {
            if waypoints.len() < 2 {
                return Err(ActorError::TooFewWaypoints {
                    needed: 2,
                    got: waypoints.len(),
                });
            }
            let mut points: Vec<Point2<f64>> = Vec::with_capacity(waypoints.len());
            let mut cumulative = Vec::with_capacity(waypoints.len());
            let mut markers = Vec::new();
            for (index, w) in waypoints.iter().enumerate() {
                waypoint_values(index, &[w.x, w.y], w.speed)?;
                let p = Point2::new(w.x, w.y);
                let u = match points.last() {
                    Some(&last) => {
                        let length = (p - last).norm();
                        if length == 0.0 {
                            return Err(ActorError::BadWaypoint {
                                index,
                                reason: "repeats the previous point",
                            });
                        }
                        cumulative.last().copied().unwrap_or(0.0) + length
                    }
                    None => 0.0,
                };
                points.push(p);
                cumulative.push(u);
                if let Some(speed) = w.speed {
                    markers.push((u, speed));
                }
            }
            Ok((Path::Polyline { points, cumulative }, markers, 0.0))
        }
    }
}

fn waypoint_values(index: usize, coords: &[f64], speed: Option<f64>) -> Result<(), ActorError> {
    if coords.iter().any(|c| !c.is_finite()) {
        return Err(ActorError::BadWaypoint {
            index,
            reason: "coordinates must be finite",
        });
    }
    if speed.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
        return Err(ActorError::BadWaypoint {
            index,
            reason: "speed must be finite and not negative",
        });
    }
    Ok(())
}

fn validate_trigger(trigger: &Trigger) -> Result<(), ActorError> {
    match *trigger {
        Trigger::Immediately | Trigger::PreviousEnded => Ok(()),
        Trigger::Time(t) => finite("trigger time", t),
        Trigger::Delay(delay) => non_negative("trigger delay", delay),
        Trigger::EgoWithin { distance, .. } => finite("trigger distance", distance),
        Trigger::EgoTtcBelow(ttc) => non_negative("trigger ttc", ttc),
        Trigger::EgoTtcToPoint { point, ttc } => {
            finite("trigger point x", point.x)?;
            finite("trigger point y", point.y)?;
            non_negative("trigger ttc", ttc)
        }
    }
}

fn validate_longitudinal(mode: &Longitudinal) -> Result<(), ActorError> {
    match *mode {
        Longitudinal::Route | Longitudinal::StandStill => Ok(()),
        Longitudinal::Speed { target, rate } => {
            non_negative("target speed", target)?;
            rate.map_or(Ok(()), |rate| positive("speed change rate", rate))
        }
        Longitudinal::Brake { decel, to_speed } => {
            positive("brake decel", decel)?;
            non_negative("brake to_speed", to_speed)
        }
        Longitudinal::Follow(p) => {
            positive("follow time_gap", p.time_gap)?;
            non_negative("follow min_gap", p.min_gap)?;
            non_negative("follow reaction_time", p.reaction_time)?;
            positive("follow max_decel", p.max_decel)?;
            positive("follow max_accel", p.max_accel)?;
            non_negative("follow max_speed", p.max_speed)
        }
    }
}

fn validate_lateral(mode: &Lateral) -> Result<(), ActorError> {
    let span = match *mode {
        Lateral::Keep => return Ok(()),
        Lateral::LaneChange { delta, span } => {
            finite("lane change delta", delta)?;
            span
        }
        Lateral::MoveTo { d, span } => {
            finite("lateral target d", d)?;
            span
        }
    };
    match span {
        Span::Time(duration) => positive("lane change duration", duration),
        Span::Distance(length) => positive("lane change distance", length),
    }
}

/// Wraps an angle into [−π, π).
fn wrap(a: f64) -> f64 {
    use std::f64::consts::{PI, TAU};
    // Angles already in range are returned untouched: the round trip through `rem_euclid`
    // would perturb their last bits.
    if (-PI..PI).contains(&a) {
        a
    } else {
        (a + PI).rem_euclid(TAU) - PI
    }
}

fn bad(name: &'static str, value: f64, reason: &'static str) -> ActorError {
    ActorError::InvalidValue {
        name,
        value,
        reason,
    }
}

fn finite(name: &'static str, value: f64) -> Result<(), ActorError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(bad(name, value, "must be finite"))
    }
}

fn positive(name: &'static str, value: f64) -> Result<(), ActorError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(bad(name, value, "must be finite and greater than 0"))
    }
}

fn non_negative(name: &'static str, value: f64) -> Result<(), ActorError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(bad(name, value, "must be finite and not negative"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::road::Segment;
    use nalgebra::{Point3, Vector3};
    use std::f64::consts::{FRAC_PI_2, PI};

    const KMH: f64 = 1.0 / 3.6;
    /// Ego length from the Vector catalog (driving-safety §1.2).
    const EGO_LENGTH: f64 = 4.358;
    const GVT_LENGTH: f64 = 4.023;

    fn straight() -> Road {
        Road::straight(500.0, 2, 3.5).unwrap()
    }

    /// An ego on lane 0 of a straight road along +x.
    fn ego_at(s: f64, speed: f64, accel: f64) -> EgoView {
        EgoView {
            s,
            d: 1.75,
            x: s,
            y: 1.75,
            yaw: 0.0,
            speed,
            accel,
            length: EGO_LENGTH,
        }
    }

    /// An ego far behind, out of every trigger's reach.
    fn far_ego() -> EgoView {
        ego_at(-1000.0, 0.0, 0.0)
    }

    #[test]
    fn a_car_at_50_kmh_for_2_s_moves_27_78_m_along_s() {
        let road = straight();
        let mut car = Actor::new(
            1,
            ActorKind::Car,
            Route::in_lane(&road, 0, 10.0).unwrap(),
            50.0 * KMH,
            &road,
        )
        .unwrap();
        let dt = 0.01;
        for k in 0..200 {
            car.step(dt, &far_ego(), &road, k as f64 * dt).unwrap();
        }
        let state = car.state();
        // 50/3.6 · 2 = 27.777… m.
        assert!(
            (state.s - 10.0 - 27.777_777_777_8).abs() < 1e-9,
            "{}",
            state.s
        );
        assert!((state.x - 37.777_777_777_8).abs() < 1e-9);
        assert_eq!(state.d, 1.75);
        assert_eq!(state.yaw, 0.0);
        assert!((state.velocity - Vector2::new(13.888_888_888_9, 0.0)).norm() < 1e-9);
        assert_eq!(state.accel, 0.0);
    }

    #[test]
    fn braking_at_6_from_50_kmh_stops_in_16_08_m_after_a_time_trigger() {
        let road = straight();
        let v0 = 50.0 * KMH;
        let mut car = Actor::new(
            1,
            ActorKind::Car,
            Route::Lane { s: 0.0, d: 1.75 },
            v0,
            &road,
        )
        .unwrap()
        .with_phases(vec![Phase::on(Trigger::Time(1.0)).longitudinal(
            Longitudinal::Brake {
                decel: 6.0,
                to_speed: 0.0,
            },
        )])
        .unwrap();
        let dt = 0.01;
        let mut stopped_at = None;
        for k in 0..600 {
            let t = k as f64 * dt;
            car.step(dt, &far_ego(), &road, t).unwrap();
            if k < 100 {
                assert_eq!(car.active_phase(), None);
            }
            if stopped_at.is_none() && car.speed() == 0.0 {
                stopped_at = Some(t + dt);
            }
        }
        assert_eq!(car.phase_start_times(), &[Some(1.0)]);
        // 1 s at 13.889 m/s, then v²/2a = 13.889²/12 = 16.075 m.
        let braking = car.state().s - v0;
        assert!((braking - 16.075_102_880_7).abs() < 1e-9, "{braking}");
        // v/a = 2.3148 s of braking: the speed reaches 0 in the step ending at 3.32 s.
        let stop = stopped_at.unwrap();
        assert!((stop - 3.32).abs() < 1e-9, "{stop}");
        assert_eq!(car.state().accel, 0.0);
    }

    #[test]
    fn a_gap_trigger_fires_at_the_step_the_gap_closes_to_its_distance() {
        let road = straight();
        // The lead car's rear bumper is 40 m ahead of the ego's front bumper.
        let lead_s = 40.0 + (EGO_LENGTH + GVT_LENGTH) / 2.0;
        let mut lead = Actor::new(
            2,
            ActorKind::Car,
            Route::Lane { s: lead_s, d: 1.75 },
            50.0 * KMH,
            &road,
        )
        .unwrap()
        .with_phases(vec![
            Phase::on(Trigger::EgoWithin {
                distance: 20.0,
                measure: Measure::Longitudinal,
            })
            .longitudinal(Longitudinal::Brake {
                decel: 6.0,
                to_speed: 0.0,
            }),
        ])
        .unwrap();
        let dt = 0.01;
        let mut gap_at_fire = None;
        for k in 0..300 {
            let t = k as f64 * dt;
            let ego = ego_at(25.0 * t, 25.0, 0.0);
            lead.step(dt, &ego, &road, t).unwrap();
            if gap_at_fire.is_none() && lead.active_phase() == Some(0) {
                gap_at_fire = Some(lead.state().s - lead_s + 40.0 - 25.0 * t);
            }
        }
        // Closing at 25 − 13.889 = 11.111 m/s, the 20 m are used up after 1.8 s.
        let fired = lead.phase_start_times()[0].unwrap();
        assert!((1.8 - 1e-9..=1.8 + dt).contains(&fired), "{fired}");
        // At the start of the firing step the gap was at most 20 m, one step before more.
        let gap = 40.0 - (25.0 - 50.0 * KMH) * fired;
        assert!(gap <= 20.0 + 1e-9 && gap > 20.0 - 11.2 * dt, "{gap}");
        assert!(gap_at_fire.is_some());
    }

    #[test]
    fn a_ttc_trigger_fires_when_the_ego_is_2_s_from_a_stationary_car() {
        let road = straight();
        let car_s = 50.0 + (EGO_LENGTH + GVT_LENGTH) / 2.0;
        let mut crashed = Actor::new(
            3,
            ActorKind::CrashedCar,
            Route::Lane { s: car_s, d: 1.75 },
            0.0,
            &road,
        )
        .unwrap()
        .with_phases(vec![
            Phase::on(Trigger::EgoTtcBelow(2.0)).longitudinal(Longitudinal::StandStill),
        ])
        .unwrap();
        assert!((crashed.ttc(&ego_at(0.0, 20.0, 0.0), &road) - 2.5).abs() < 1e-12);
        assert_eq!(crashed.ttc(&ego_at(0.0, 0.0, 0.0), &road), f64::INFINITY);
        let dt = 0.01;
        for k in 0..100 {
            let t = k as f64 * dt;
            crashed
                .step(dt, &ego_at(20.0 * t, 20.0, 0.0), &road, t)
                .unwrap();
        }
        // TTC = gap / 20 ≤ 2 once the gap is 40 m, after 10 m of driving: t = 0.5 s.
        let fired = crashed.phase_start_times()[0].unwrap();
        assert!((0.5 - 1e-9..=0.5 + dt).contains(&fired), "{fired}");
        assert!(50.0 - 20.0 * fired <= 40.0 + 1e-9);
        assert_eq!(crashed.state().s, car_s);
    }

    #[test]
    fn a_pedestrian_crossing_at_5_kmh_covers_3_m_in_2_16_s() {
        let road = straight();
        let walk = 5.0 * KMH;
        let route = Route::crossing(Point2::new(10.0, -2.0), Point2::new(10.0, 8.0), walk);
        let mut adult = Actor::new(4, ActorKind::AdultPedestrian, route, walk, &road).unwrap();
        assert!((adult.state().yaw - FRAC_PI_2).abs() < 1e-12);
        let dt = 0.01;
        for k in 0..216 {
            adult.step(dt, &far_ego(), &road, k as f64 * dt).unwrap();
        }
        let state = adult.state();
        // 3 m / 1.3889 m/s = 2.16 s.
        assert!((state.y - 1.0).abs() < 1e-9, "{}", state.y);
        assert!((state.x - 10.0).abs() < 1e-12);
        assert!((state.s - 10.0).abs() < 1e-9 && (state.d - 1.0).abs() < 1e-9);
        assert!((state.velocity - Vector2::new(0.0, walk)).norm() < 1e-12);
        assert_eq!(state.class, ObjectClass::Pedestrian);
    }

    #[test]
    fn a_pedestrian_reaches_walking_speed_over_1_m_and_continues_past_the_end() {
        // Euro NCAP CPNA: the adult accelerates to 5 km/h over 1 m, a = v²/2 = 0.9645 m/s².
        let road = straight();
        let walk = 5.0 * KMH;
        let route = Route::crossing(Point2::new(0.0, -4.0), Point2::new(0.0, -2.0), walk);
        let mut adult = Actor::new(4, ActorKind::AdultPedestrian, route, 0.0, &road)
            .unwrap()
            .with_limits(Limits::new(walk * walk / 2.0, 3.0).unwrap())
            .unwrap();
        let dt = 0.01;
        // v/a = 2/v = 1.44 s to reach walking speed.
        for k in 0..144 {
            adult.step(dt, &far_ego(), &road, k as f64 * dt).unwrap();
        }
        assert!((adult.speed() - walk).abs() < 1e-9);
        assert!((adult.state().y + 3.0).abs() < 1e-9, "{}", adult.state().y);
        for k in 144..(144 + 360) {
            adult.step(dt, &far_ego(), &road, k as f64 * dt).unwrap();
        }
        // 3.6 s more at 1.3889 m/s is 5 m, 4 m past the route's last point.
        assert!((adult.state().y - 2.0).abs() < 1e-9, "{}", adult.state().y);
    }

    #[test]
    fn a_ttc_to_point_trigger_starts_a_waiting_child() {
        let road = straight();
        let walk = 5.0 * KMH;
        let crossing = Point2::new(10.0, 1.75);
        let route = Route::crossing(Point2::new(10.0, -2.0), Point2::new(10.0, 6.0), walk);
        let mut child = Actor::new(5, ActorKind::ChildPedestrian, route, 0.0, &road)
            .unwrap()
            .with_phases(vec![
                Phase::on(Trigger::Immediately).longitudinal(Longitudinal::StandStill),
                Phase::on(Trigger::EgoTtcToPoint {
                    point: crossing,
                    ttc: 4.0,
                })
                .longitudinal(Longitudinal::Speed {
                    target: walk,
                    rate: None,
                }),
            ])
            .unwrap();
        let dt = 0.01;
        for k in 0..300 {
            let t = k as f64 * dt;
            child
                .step(dt, &ego_at(-100.0 + 20.0 * t, 20.0, 0.0), &road, t)
                .unwrap();
            if t < 1.39 {
                assert_eq!(child.speed(), 0.0);
            }
        }
        // Front bumper at −100 + 2.179 + 20·t, 80 m (4 s at 20 m/s) short of s = 10 when
        // t = (100 + 10 − 80 − 2.179) / 20 = 1.391 s.
        let fired = child.phase_start_times()[1].unwrap();
        assert_eq!(child.phase_start_times()[0], Some(0.0));
        let expected = (100.0 + 10.0 - 80.0 - EGO_LENGTH / 2.0) / 20.0;
        assert!((expected..=expected + dt).contains(&fired), "{fired}");
        assert!((child.speed() - walk).abs() < 1e-12);
    }

    #[test]
    fn a_lane_change_of_3_5_m_over_3_s_ends_one_lane_over_without_overshoot() {
        let road = straight();
        for span in [Span::Time(3.0), Span::Distance(60.0)] {
            let mut car = Actor::new(
                6,
                ActorKind::Car,
                Route::in_lane(&road, 0, 10.0).unwrap(),
                20.0,
                &road,
            )
            .unwrap()
            .with_phases(vec![
                Phase::on(Trigger::Time(0.5)).lateral(Lateral::LaneChange { delta: 3.5, span }),
            ])
            .unwrap();
            let dt = 0.01;
            let (mut last_d, mut peak_rate) = (1.75, 0.0f64);
            for k in 0..500 {
                let t = k as f64 * dt;
                car.step(dt, &far_ego(), &road, t).unwrap();
                let state = car.state();
                assert!(state.d >= last_d, "{span:?}: d fell at {t}");
                assert!(state.d <= 5.25, "{span:?}: overshoot {} at {t}", state.d);
                // The speed along the lane is unchanged; lateral motion adds to it.
                assert!((state.velocity.x - 20.0).abs() < 1e-9);
                assert!((state.yaw - state.velocity.y.atan2(20.0)).abs() < 1e-12);
                peak_rate = peak_rate.max(state.velocity.y);
                last_d = state.d;
                if t + dt <= 0.5 {
                    assert_eq!(state.d, 1.75);
                }
            }
            let state = car.state();
            assert_eq!(state.d, 5.25, "{span:?}");
            assert_eq!(state.velocity.y, 0.0);
            assert_eq!(state.yaw, 0.0);
            assert_eq!(road.lane_of(state.d), Some(1));
            // Peak lateral speed 1.875·3.5/3 = 2.1875 m/s (60 m at 20 m/s is also 3 s).
            assert!((peak_rate - 2.1875).abs() < 1e-3, "{peak_rate}");
        }
    }

    #[test]
    fn move_to_reaches_an_absolute_offset_and_keep_freezes_a_manoeuvre() {
        let road = straight();
        let mut moto = Actor::new(
            7,
            ActorKind::Motorcycle,
            Route::Lane { s: 0.0, d: 5.25 },
            15.0,
            &road,
        )
        .unwrap()
        .with_phases(vec![
            Phase::on(Trigger::Immediately).lateral(Lateral::MoveTo {
                d: 1.75,
                span: Span::Time(2.0),
            }),
            Phase::on(Trigger::Delay(3.0)).lateral(Lateral::LaneChange {
                delta: 2.0,
                span: Span::Time(2.0),
            }),
            Phase::on(Trigger::Delay(1.0)).lateral(Lateral::Keep),
        ])
        .unwrap();
        let dt = 0.01;
        for k in 0..300 {
            moto.step(dt, &far_ego(), &road, k as f64 * dt).unwrap();
        }
        assert_eq!(moto.state().d, 1.75);
        for k in 300..800 {
            moto.step(dt, &far_ego(), &road, k as f64 * dt).unwrap();
        }
        // Half-way through the second manoeuvre (τ = 0.5, shape 0.5) it was frozen at 2.75.
        assert_eq!(moto.phase_start_times(), &[Some(0.0), Some(3.0), Some(4.0)]);
        assert!((moto.state().d - 2.75).abs() < 1e-9, "{}", moto.state().d);
        assert_eq!(moto.state().velocity.y, 0.0);
    }

    #[test]
    fn frenet_waypoints_interpolate_d_and_change_speed_within_the_limits() {
        let road = straight();
        let route = Route::Frenet(vec![
            FrenetWaypoint {
                s: 0.0,
                d: 1.75,
                speed: Some(10.0),
            },
            FrenetWaypoint {
                s: 50.0,
                d: 1.75,
                speed: Some(20.0),
            },
            FrenetWaypoint {
                s: 100.0,
                d: 5.25,
                speed: None,
            },
        ]);
        let mut car = Actor::new(8, ActorKind::Car, route, 10.0, &road).unwrap();
        let dt = 0.01;
        let mut t = 0.0;
        let mut k = 0;
        while car.state().s < 75.0 {
            car.step(dt, &far_ego(), &road, t).unwrap();
            k += 1;
            t = k as f64 * dt;
            let state = car.state();
            if state.s < 50.0 {
                assert_eq!(state.speed, 10.0);
            }
            if state.s > 50.0 && state.s < 100.0 {
                // d rises 3.5 m over 50 m of s: slope 0.07, heading atan(0.07).
                assert!((state.d - (1.75 + 0.07 * (state.s - 50.0))).abs() < 1e-9);
                assert!((state.yaw - 0.07f64.atan()).abs() < 1e-12);
            }
        }
        // 5 s to reach s = 50 at 10 m/s, then 3 m/s² (the car limit): 20 m/s 3.33 s later.
        let state = car.state();
        let expected = 10.0 + 3.0 * (t - 5.0);
        assert!(
            (state.speed - expected).abs() < 3.0 * dt + 1e-9,
            "{}",
            state.speed
        );
        for _ in 0..400 {
            car.step(dt, &far_ego(), &road, t).unwrap();
            k += 1;
            t = k as f64 * dt;
        }
        assert_eq!(car.speed(), 20.0);
        assert_eq!(car.state().d, 5.25);
    }

    /// Runs an ego at 50 km/h braking at 8 m/s² from t = 1 s with a follower at a 1 s time gap
    /// behind it; returns when the follower first brakes and the smallest gap.
    fn follower_run(max_decel: f64, reaction_time: f64) -> (Option<f64>, f64, Actor) {
        let road = straight();
        let v0 = 50.0 * KMH;
        let params = FollowParams {
            max_decel,
            reaction_time,
            ..FollowParams::default()
        };
        let start_gap = params.min_gap + params.time_gap * v0;
        let ego_s0 = 100.0;
        let follower_s = ego_s0 - start_gap - (EGO_LENGTH + GVT_LENGTH) / 2.0;
        let mut follower = Actor::new(
            9,
            ActorKind::Car,
            Route::Lane {
                s: follower_s,
                d: 1.75,
            },
            v0,
            &road,
        )
        .unwrap()
        .with_phases(vec![
            Phase::on(Trigger::Immediately).longitudinal(Longitudinal::Follow(params)),
        ])
        .unwrap();
        let dt = 0.01;
        let (mut ego_s, mut ego_v) = (ego_s0, v0);
        let mut braked_at = None;
        let mut min_gap = f64::INFINITY;
        for k in 0..800 {
            let t = k as f64 * dt;
            let accel = if t >= 1.0 - 1e-9 && ego_v > 0.0 {
                -8.0
            } else {
                0.0
            };
            let ego = ego_at(ego_s, ego_v, accel);
            follower.step(dt, &ego, &road, t).unwrap();
            if t < 1.0 + reaction_time - 1e-9 {
                assert!(
                    follower.state().accel.abs() < 1e-9,
                    "t {t}: {}",
                    follower.state().accel
                );
            }
            if braked_at.is_none() && follower.state().accel < -1.0 {
                braked_at = Some(t);
            }
            assert!(follower.state().accel >= -max_decel - 1e-9);
            let (v, s) = approach(ego_v, if accel < 0.0 { 0.0 } else { ego_v }, 8.0, dt);
            ego_v = v;
            ego_s += s;
            let gap = ego_s - follower.state().s - (EGO_LENGTH + GVT_LENGTH) / 2.0;
            min_gap = min_gap.min(gap);
        }
        (braked_at, min_gap, follower)
    }

    #[test]
    fn a_follower_with_1_s_reaction_brakes_1_s_after_the_ego() {
        let (braked_at, min_gap, follower) = follower_run(8.0, 1.0);
        let t = braked_at.unwrap();
        assert!((t - 2.0).abs() <= 0.01 + 1e-9, "{t}");
        // By hand: the follower sees −8 m/s² with no gap or speed error and brakes at its cap.
        assert!(follower.state().speed < 1e-9);
        // Ego stops 13.89 + 12.06 m on; the follower 27.78 + 12.06 m on from 15.89 m back:
        // about 2 m left at an equal 8 m/s².
        assert!(min_gap > 0.0 && min_gap < 2.5, "{min_gap}");
    }

    #[test]
    fn a_follower_that_can_only_brake_at_6_runs_into_an_ego_braking_at_8() {
        // 27.78 m + 13.89²/12 = 43.9 m of follower travel against 15.89 + 13.89 + 12.06 = 41.8 m.
        let (braked_at, min_gap, _) = follower_run(6.0, 1.0);
        assert!((braked_at.unwrap() - 2.0).abs() <= 0.01 + 1e-9);
        assert!(min_gap < -1.0, "{min_gap}");
    }

    #[test]
    fn a_follower_without_reaction_time_brakes_with_the_ego() {
        let (braked_at, min_gap, _) = follower_run(8.0, 0.0);
        assert!((braked_at.unwrap() - 1.0).abs() <= 0.01 + 1e-9);
        // Braking in step with the ego, it then closes up only as its desired gap
        // (2 m + 1 s · v) shrinks with its speed, never below the 2 m standstill gap.
        assert!(min_gap > 2.0 && min_gap < 2.0 + 50.0 * KMH, "{min_gap}");
    }

    #[test]
    fn a_follower_settles_at_its_time_gap_behind_a_steady_ego() {
        let road = straight();
        let params = FollowParams::default();
        let mut follower = Actor::new(
            9,
            ActorKind::Car,
            Route::Lane { s: 0.0, d: 1.75 },
            10.0,
            &road,
        )
        .unwrap()
        .with_phases(vec![
            Phase::on(Trigger::Immediately).longitudinal(Longitudinal::Follow(params)),
        ])
        .unwrap();
        let dt = 0.01;
        for k in 0..6000 {
            let t = k as f64 * dt;
            follower
                .step(dt, &ego_at(60.0 + 15.0 * t, 15.0, 0.0), &road, t)
                .unwrap();
        }
        let t = 6000.0 * dt;
        let gap = 60.0 + 15.0 * t - follower.state().s - (EGO_LENGTH + GVT_LENGTH) / 2.0;
        // 2 m + 1.0 s · 15 m/s.
        assert!((gap - 17.0).abs() < 1e-3, "{gap}");
        assert!((follower.speed() - 15.0).abs() < 1e-4);
    }

    #[test]
    fn sizes_and_classes_per_kind() {
        use ActorKind::*;
        let expected = [
            (Car, (4.023, 1.712, 1.427), ObjectClass::Car),
            (CrashedCar, (4.023, 1.712, 1.427), ObjectClass::Car),
            (Truck, (10.0, 2.55, 3.5), ObjectClass::Truck),
            (Motorcycle, (2.08, 0.79, 1.06), ObjectClass::Motorcycle),
            (Cyclist, (1.89, 0.5, 1.2), ObjectClass::Bicycle),
            (AdultPedestrian, (0.6, 0.5, 1.8), ObjectClass::Pedestrian),
            (
                ChildPedestrian,
                (0.711, 0.298, 1.154),
                ObjectClass::Pedestrian,
            ),
            (ParkedCar, (4.418, 1.82, 1.533), ObjectClass::Car),
        ];
        assert_eq!(expected.len(), ActorKind::ALL.len());
        let road = straight();
        for (kind, (l, w, h), class) in expected {
            let size = kind.default_size();
            assert_eq!(
                (size.length, size.width, size.height),
                (l, w, h),
                "{kind:?}"
            );
            assert_eq!(kind.object_class(), class);
            let actor = Actor::new(1, kind, Route::Lane { s: 20.0, d: 1.75 }, 0.0, &road).unwrap();
            let obb = actor.obb();
            assert!((obb.half_extents() - Vector3::new(l, w, h) / 2.0).norm() < 1e-15);
            assert!((obb.center() - Point3::new(20.0, 1.75, h / 2.0)).norm() < 1e-12);
            assert_eq!(actor.state().class, class);
        }
    }

    #[test]
    fn obb_follows_the_pose_size_override_and_skew() {
        let road = straight();
        let small = Size::new(4.316, 1.79, 1.48).unwrap();
        let parked = Actor::new(
            1,
            ActorKind::ParkedCar,
            Route::Lane { s: 30.0, d: -1.0 },
            0.0,
            &road,
        )
        .unwrap()
        .with_size(small, &road)
        .unwrap();
        assert!((parked.obb().half_extents() - Vector3::new(2.158, 0.895, 0.74)).norm() < 1e-15);
        assert_eq!(parked.state().size, small);
        let skew = 0.3;
        let mut crashed = Actor::new(
            2,
            ActorKind::CrashedCar,
            Route::Lane { s: 80.0, d: 1.75 },
            0.0,
            &road,
        )
        .unwrap()
        .with_yaw_offset(skew, &road)
        .unwrap();
        crashed.step(0.1, &far_ego(), &road, 0.0).unwrap();
        assert!((crashed.obb().yaw() - skew).abs() < 1e-12);
        assert_eq!(crashed.state().yaw, skew);
        assert!((crashed.obb().center() - Point3::new(80.0, 1.75, 1.427 / 2.0)).norm() < 1e-12);
    }

    #[test]
    fn an_actor_in_lane_1_of_a_curved_road_stays_on_the_lane_centre() {
        let road = Road::new(
            Point2::new(5.0, -3.0),
            0.4,
            &[
                Segment::Straight { length: 30.0 },
                Segment::arc(80.0, FRAC_PI_2),
                Segment::Arc {
                    length: 40.0,
                    curvature: -0.02,
                },
                Segment::Straight { length: 50.0 },
            ],
            3,
            3.5,
        )
        .unwrap();
        let mut car = Actor::new(
            1,
            ActorKind::Car,
            Route::in_lane(&road, 1, 5.0).unwrap(),
            15.0,
            &road,
        )
        .unwrap();
        let dt = 0.05;
        let mut travelled = 0.0;
        let mut last = car.position();
        for k in 0..200 {
            car.step(dt, &far_ego(), &road, k as f64 * dt).unwrap();
            let f = road.to_frenet(car.position());
            assert!((f.d - 5.25).abs() < 1e-6, "step {k}: d = {}", f.d);
            let heading = road.heading(car.state().s);
            assert!((wrap(car.state().yaw - heading)).abs() < 1e-9);
            travelled += (car.position() - last).norm();
            last = car.position();
        }
        // The speed is along the lane: 10 s at 15 m/s is 150 m of lane, not of reference line
        // (chords under-measure arcs by at most (0.75 m)³·κ²/24, negligible here).
        assert!((travelled - 150.0).abs() < 1e-3, "{travelled}");
    }

    #[test]
    fn a_phase_without_a_trigger_starts_when_the_previous_one_is_over() {
        // A motorcycle at 11 m/s changes lanes over 2 s from t = 1, then brakes at 4 m/s²:
        // braking starts when the lane change is done (t = 3), not when it starts.
        let road = straight();
        let mut bike = Actor::new(
            3,
            ActorKind::Motorcycle,
            Route::Lane { s: 50.0, d: 5.25 },
            11.0,
            &road,
        )
        .unwrap()
        .with_phases(vec![
            Phase::on(Trigger::Time(1.0))
                .lateral(Lateral::MoveTo {
                    d: 1.75,
                    span: Span::Time(2.0),
                })
                .ends(PhaseEnd::Lateral),
            Phase::on(Trigger::PreviousEnded)
                .longitudinal(Longitudinal::Brake {
                    decel: 4.0,
                    to_speed: 0.0,
                })
                .ends(PhaseEnd::Speed),
            Phase::on(Trigger::PreviousEnded).lateral(Lateral::MoveTo {
                d: 3.0,
                span: Span::Time(1.0),
            }),
        ])
        .unwrap();
        let dt = 0.05;
        let mut braking_from = None;
        let mut moving_again_at = None;
        for k in 0..200 {
            let t = f64::from(k) * dt;
            let before = bike.speed();
            bike.step(dt, &far_ego(), &road, t).unwrap();
            if braking_from.is_none() && bike.speed() < before - 1e-9 {
                braking_from = Some(t);
            }
            let d = road.to_frenet(bike.position()).d;
            if moving_again_at.is_none() && d > 1.75 + 1e-6 && t > 4.0 {
                moving_again_at = Some(t);
            }
        }
        let from = braking_from.expect("it brakes");
        assert!((from - 3.0).abs() <= dt + 1e-9, "braking from t = {from}");
        // Stopped after 11 / 4 = 2.75 s more (t = 5.75): then the third phase moves it.
        let again = moving_again_at.expect("the third phase starts");
        assert!(
            (again - 5.75).abs() <= 2.0 * dt + 1e-9,
            "third phase at t = {again}"
        );
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        let road = straight();
        let lane = Route::Lane { s: 0.0, d: 1.75 };
        let car = |speed| Actor::new(1, ActorKind::Car, lane.clone(), speed, &road);
        assert!(matches!(
            car(-1.0),
            Err(ActorError::InvalidValue { name: "speed", .. })
        ));
        assert!(car(f64::NAN).is_err());
        let zero_lc = Phase::on(Trigger::Immediately).lateral(Lateral::LaneChange {
            delta: 3.5,
            span: Span::Time(0.0),
        });
        assert!(matches!(
            car(10.0).unwrap().with_phases(vec![zero_lc]),
            Err(ActorError::InPhase { index: 0, .. })
        ));
        let brake = |decel| {
            Phase::on(Trigger::Immediately).longitudinal(Longitudinal::Brake {
                decel,
                to_speed: 0.0,
            })
        };
        let err = car(10.0)
            .unwrap()
            .with_phases(vec![brake(6.0), brake(-6.0)])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "phase 1: actor field `brake decel` = -6 is invalid: must be finite and greater than 0"
        );
        let walker = Actor::new(
            2,
            ActorKind::AdultPedestrian,
            Route::crossing(Point2::new(0.0, -2.0), Point2::new(0.0, 2.0), 1.0),
            0.0,
            &road,
        )
        .unwrap();
        assert_eq!(
            walker.with_phases(vec![Phase::on(Trigger::Time(1.0)).lateral(Lateral::Keep)]),
            Err(ActorError::LateralOffRoad { index: 0 })
        );
        let frenet = Route::Frenet(vec![
            FrenetWaypoint {
                s: 10.0,
                d: 0.0,
                speed: None,
            },
            FrenetWaypoint {
                s: 10.0,
                d: 1.0,
                speed: None,
            },
        ]);
        assert!(matches!(
            Actor::new(1, ActorKind::Car, frenet, 0.0, &road),
            Err(ActorError::BadWaypoint { index: 1, .. })
        ));
        let same = Route::crossing(Point2::new(1.0, 1.0), Point2::new(1.0, 1.0), 1.0);
        assert!(matches!(
            Actor::new(1, ActorKind::Cyclist, same, 0.0, &road),
            Err(ActorError::BadWaypoint { index: 1, .. })
        ));
        assert_eq!(
            Actor::new(1, ActorKind::Cyclist, Route::Points(vec![]), 0.0, &road).unwrap_err(),
            ActorError::TooFewWaypoints { needed: 2, got: 0 }
        );
        assert!(Route::in_lane(&road, 2, 0.0).is_err());
        assert!(Size::new(4.0, 0.0, 1.0).is_err());
        assert!(Limits::new(1.0, f64::INFINITY).is_err());
        let mut ok = car(10.0).unwrap();
        assert!(ok.step(0.0, &far_ego(), &road, 0.0).is_err());
        let mut bad_ego = far_ego();
        bad_ego.speed = f64::NAN;
        assert!(ok.step(0.01, &bad_ego, &road, 0.0).is_err());
        let follow = FollowParams {
            time_gap: 0.0,
            ..FollowParams::default()
        };
        assert!(
            car(10.0)
                .unwrap()
                .with_phases(vec![
                    Phase::on(Trigger::Immediately).longitudinal(Longitudinal::Follow(follow))
                ])
                .is_err()
        );
    }

    #[test]
    fn runs_are_deterministic_and_yaw_wraps() {
        let road = straight();
        let run = || {
            let mut car = Actor::new(
                1,
                ActorKind::Car,
                Route::Lane { s: 0.0, d: 1.75 },
                12.0,
                &road,
            )
            .unwrap()
            .with_yaw_offset(PI, &road)
            .unwrap()
            .with_phases(vec![
                Phase::on(Trigger::Time(0.3)).lateral(Lateral::LaneChange {
                    delta: 3.5,
                    span: Span::Distance(30.0),
                }),
                Phase::on(Trigger::Delay(1.0)).longitudinal(Longitudinal::Brake {
                    decel: 4.0,
                    to_speed: 5.0,
                }),
            ])
            .unwrap();
            let mut states = Vec::new();
            for k in 0..400 {
                let t = k as f64 * 0.01;
                car.step(0.01, &ego_at(-20.0 + 10.0 * t, 10.0, 0.0), &road, t)
                    .unwrap();
                states.push(car.state());
            }
            states
        };
        let (a, b) = (run(), run());
        assert_eq!(a, b);
        let last = a[a.len() - 1];
        assert_eq!(last.speed, 5.0);
        // Driving backwards-facing (a car towed the wrong way round): yaw π wraps to −π.
        assert_eq!(last.yaw, -PI);
    }
}
