//! The vehicle world: the road, the ego, the actors and the lidar advanced together in fixed
//! steps, with collision detection and the measures a scenario is judged by.

use nalgebra::{Isometry3, Point2, Translation3, UnitQuaternion, Vector2};

use crate::actors::{Actor, ActorError, ActorState, EgoView};
use crate::geometry::{GeometryError, Obb, Scene, SceneObject, Shape};
use crate::lidar::{Lidar, Scan};
use crate::road::Road;
use crate::vehicle::{Command, Vehicle, VehicleError};

/// Why the world cannot be built or stepped.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// The ego model refused a parameter, state or command.
    #[error("ego: {0}")]
    Vehicle(#[from] VehicleError),
    /// An actor refused a step or a parameter.
    #[error("actor: {0}")]
    Actor(#[from] ActorError),
    /// A shape is invalid.
    #[error("geometry: {0}")]
    Geometry(#[from] GeometryError),
    /// The step is not a positive finite number of seconds.
    #[error("step must be a positive number of seconds, not {0}")]
    Step(f64),
}

/// A collision of the ego with an actor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Collision {
    /// Simulation time (s).
    pub time: f64,
    /// The actor hit.
    pub actor: u32,
    /// Ego speed at impact (m/s).
    pub ego_speed: f64,
    /// Relative speed between ego and actor at impact (m/s).
    pub relative_speed: f64,
}

/// Slowest ego speed (m/s) at which the rear axle's side slip is measured.
pub const REAR_SLIP_MIN_SPEED: f64 = 3.0;

/// What a run is judged by.
#[derive(Debug, Clone, PartialEq)]
pub struct Measures {
    /// The first ego collision, if any.
    pub collision: Option<Collision>,
    /// Smallest distance between the ego's footprint and any actor's (m).
    pub min_gap: f64,
    /// Largest lateral acceleration of the ego (m/s², absolute).
    pub max_lat_accel: f64,
    /// Largest deceleration of the ego (m/s², positive).
    pub max_decel: f64,
    /// Largest side slip at the ego's rear axle while faster than [`REAR_SLIP_MIN_SPEED`]
    /// (degrees, see `Vehicle::rear_slip`): how far the rear slides, the stability measure of
    /// an evasion (near standstill any angle is possible and says nothing).
    pub max_rear_slip_deg: f64,
    /// Collisions between actors (pairs of ids), e.g. a follower running into a braking lead.
    pub other_collisions: Vec<(u32, u32)>,
    /// Whether the ego's centre left the road.
    pub left_road: bool,
    /// Evasive swings completed so far (see [`Measures::evasive_manoeuvres`]).
    swings: u32,
    swing: Swing,
}

impl Measures {
    /// Evasive manoeuvres: lateral swings of at least [`SWING_METRES`] between turning points
    /// of the ego's lateral road position, flown with more than [`SWING_ACCEL`] of lateral
    /// acceleration; a swerve out and back is two.
    pub fn evasive_manoeuvres(&self) -> u32 {
        self.swings + u32::from(self.swing.open_evasive())
    }
}

/// Smallest lateral move that counts as an evasive manoeuvre (m).
pub const SWING_METRES: f64 = 0.5;
/// Lateral acceleration above comfortable lane keeping that makes a move evasive (m/s²).
pub const SWING_ACCEL: f64 = 2.0;

/// Tracks the ego's lateral road position between turning points.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Swing {
    /// Lateral position of the last turning point.
    anchor: Option<f64>,
    /// Farthest lateral position from the anchor in the current direction.
    extreme: f64,
    /// Largest lateral acceleration since the anchor.
    peak_accel: f64,
}

impl Swing {
    /// Takes the ego's lateral position `d` and lateral acceleration; true when an evasive
    /// swing completed (the ego turned back by more than the threshold).
    fn update(&mut self, d: f64, lat_accel: f64) -> bool {
        let Some(anchor) = self.anchor else {
            *self = Swing {
                anchor: Some(d),
                extreme: d,
                peak_accel: 0.0,
            };
            return false;
        };
        self.peak_accel = self.peak_accel.max(lat_accel.abs());
        let dir = (self.extreme - anchor).signum();
        if dir == 0.0 || (d - anchor) * dir >= (self.extreme - anchor) * dir {
            self.extreme = d;
            return false;
        }
        // Turned back: the swing ends at the extreme once the return is itself significant,
        // so wobble of a few centimetres neither ends nor splits a move.
        if (self.extreme - d).abs() < SWING_METRES {
            return false;
        }
        let evasive = self.open_evasive();
        *self = Swing {
            anchor: Some(self.extreme),
            extreme: d,
            peak_accel: lat_accel.abs(),
        };
        evasive
    }

    /// Whether the move since the last turning point is evasive.
    fn open_evasive(&self) -> bool {
        self.anchor.is_some_and(|a| {
            (self.extreme - a).abs() >= SWING_METRES && self.peak_accel > SWING_ACCEL
        })
    }
}

impl Default for Measures {
    fn default() -> Self {
        Self {
            collision: None,
            min_gap: f64::INFINITY,
            max_lat_accel: 0.0,
            max_decel: 0.0,
            max_rear_slip_deg: 0.0,
            other_collisions: Vec::new(),
            left_road: false,
            swings: 0,
            swing: Swing::default(),
        }
    }
}

/// Height of the ego's box (a saloon car, m); only the lidar's view of other cars cares.
const EGO_HEIGHT: f64 = 1.43;

/// The vehicle world.
pub struct World {
    road: Road,
    ego: Vehicle,
    actors: Vec<Actor>,
    lidar: Option<Lidar>,
    dt: f64,
    steps: u64,
    scans: u64,
    /// Whether scans carry a `LaserScan` cut.
    laser_scan: bool,
    measures: Measures,
}

impl World {
    /// A world stepping every `dt` seconds.
    pub fn new(
        road: Road,
        ego: Vehicle,
        actors: Vec<Actor>,
        lidar: Option<Lidar>,
        dt: f64,
    ) -> Result<Self, WorldError> {
        if !(dt.is_finite() && dt > 0.0) {
            return Err(WorldError::Step(dt));
        }
        let mut w = Self {
            road,
            ego,
            actors,
            lidar,
            dt,
            steps: 0,
            scans: 0,
            laser_scan: false,
            measures: Measures::default(),
        };
        w.measure()?;
        Ok(w)
    }

    /// Cut a single-plane `LaserScan` from every lidar scan as well.
    pub fn set_laser_scan(&mut self, on: bool) {
        self.laser_scan = on;
    }

    /// Simulation time (s), exact multiples of the step.
    pub fn time(&self) -> f64 {
        self.steps as f64 * self.dt
    }

    /// The road.
    pub fn road(&self) -> &Road {
        &self.road
    }

    /// The ego.
    pub fn ego(&self) -> &Vehicle {
        &self.ego
    }

    /// The lidar, if the world has one.
    pub fn lidar(&self) -> Option<&Lidar> {
        self.lidar.as_ref()
    }

    /// The measures so far.
    pub fn measures(&self) -> &Measures {
        &self.measures
    }

    /// Ground truth of every actor.
    pub fn actors(&self) -> Vec<ActorState> {
        self.actors.iter().map(Actor::state).collect()
    }

    /// The ego's box: the single-track state is at the centre of gravity, the box centre sits
    /// (l_f − l_r)/2 ahead of it when front and rear overhangs are equal.
    pub fn ego_box(&self) -> Result<Obb, WorldError> {
        let p = self.ego.params();
        let (c, yaw) = self.ego_centre();
        Ok(Obb::on_ground(
            c.x, c.y, 0.0, yaw, p.length, p.width, EGO_HEIGHT,
        )?)
    }

    fn ego_centre(&self) -> (Point2<f64>, f64) {
        let p = self.ego.params();
        let yaw = self.ego.yaw();
        let off = (p.cg_to_front_axle - p.cg_to_rear_axle) / 2.0;
        let cg = self.ego.position();
        (
            Point2::new(cg.x + off * yaw.cos(), cg.y + off * yaw.sin()),
            yaw,
        )
    }

    /// What actors know of the ego.
    pub fn ego_view(&self) -> EgoView {
        let (c, yaw) = self.ego_centre();
        EgoView::on_road(
            &self.road,
            c.x,
            c.y,
            yaw,
            self.ego.speed(),
            self.ego.acceleration().x,
            self.ego.params().length,
        )
    }

    /// Advances everything by one step under the ego command `cmd`.
    pub fn step(&mut self, cmd: &Command) -> Result<(), WorldError> {
        let t = self.time();
        let view = self.ego_view();
        for a in &mut self.actors {
            a.step(self.dt, &view, &self.road, t)?;
        }
        self.ego.step(cmd, self.dt)?;
        self.steps += 1;
        self.measure()
    }

    fn measure(&mut self) -> Result<(), WorldError> {
        let ego = self.ego_box()?;
        let acc = self.ego.acceleration();
        let m = &mut self.measures;
        m.max_lat_accel = m.max_lat_accel.max(acc.y.abs());
        m.max_decel = m.max_decel.max(-acc.x);
        if self.ego.speed() > REAR_SLIP_MIN_SPEED {
            m.max_rear_slip_deg = m
                .max_rear_slip_deg
                .max(self.ego.rear_slip().abs().to_degrees());
        }
        if !self.road.is_on_road(self.ego.position()) {
            m.left_road = true;
        }
        let d = self.road.to_frenet(self.ego.position()).d;
        if m.swing.update(d, acc.y) {
            m.swings += 1;
        }
        let ego_fp = ego.footprint();
        let ego_v = {
            let v = self.ego.velocity();
            let yaw = self.ego.yaw();
            Vector2::new(
                v.x * yaw.cos() - v.y * yaw.sin(),
                v.x * yaw.sin() + v.y * yaw.cos(),
            )
        };
        let t = self.steps as f64 * self.dt;
        for a in &self.actors {
            let b = a.obb();
            let fp = b.footprint();
            let gap = polygon_distance(&ego_fp, &fp);
            m.min_gap = m.min_gap.min(gap);
            if m.collision.is_none() && ego.overlaps_2d(&b) {
                let s = a.state();
                m.collision = Some(Collision {
                    time: t,
                    actor: s.id,
                    ego_speed: self.ego.speed(),
                    relative_speed: (ego_v - s.velocity).norm(),
                });
            }
        }
        for (i, a) in self.actors.iter().enumerate() {
            for b in &self.actors[i + 1..] {
                let pair = (a.id(), b.id());
                if !m.other_collisions.contains(&pair) && a.obb().overlaps_2d(&b.obb()) {
                    m.other_collisions.push(pair);
                }
            }
        }
        Ok(())
    }

    /// Every actor's id and box.
    pub fn actor_boxes(&self) -> Vec<(u32, Obb)> {
        self.actors.iter().map(|a| (a.id(), a.obb())).collect()
    }

    /// The solids the sensors see: every actor (the ego is not in it, the sensors sit on it).
    pub fn scene(&self) -> Result<Scene, WorldError> {
        let mut scene = Scene::with_flat_ground(0.0)?;
        for a in &self.actors {
            let s = a.state();
            scene.push(SceneObject::new(s.id, s.class, Shape::Box(a.obb())));
        }
        Ok(scene)
    }

    /// The ego's pose in 3D (the centre of gravity on the ground).
    pub fn ego_pose(&self) -> Isometry3<f64> {
        let p = self.ego.position();
        Isometry3::from_parts(
            Translation3::new(p.x, p.y, 0.0),
            UnitQuaternion::from_euler_angles(0.0, 0.0, self.ego.yaw()),
        )
    }

    /// A lidar scan if one is due at the current time (the lidar's rate on the step grid),
    /// in the sensor frame.
    pub fn scan_if_due(&mut self) -> Result<Option<Scan>, WorldError> {
        let Some(lidar) = &self.lidar else {
            return Ok(None);
        };
        let period_steps = (lidar.scan_period() / self.dt).round().max(1.0) as u64;
        if !self.steps.is_multiple_of(period_steps) {
            return Ok(None);
        }
        let scene = self.scene()?;
        let pose = lidar.sensor_pose(&self.ego_pose());
        let mut scan = lidar.scan_with_visibility(&pose, &scene, self.scans);
        if self.laser_scan {
            scan.laser = Some(lidar.laser_scan(&pose, &scene, self.scans));
        }
        self.scans += 1;
        Ok(Some(scan))
    }
}

/// Smallest distance between two convex polygons (0 when they overlap).
fn polygon_distance(a: &[Point2<f64>], b: &[Point2<f64>]) -> f64 {
    if crate::geometry::convex_polygons_overlap(a, b) {
        return 0.0;
    }
    let seg = |p: Point2<f64>, s0: Point2<f64>, s1: Point2<f64>| {
        let d = s1 - s0;
        let len2 = d.norm_squared();
        let t = if len2 > 0.0 {
            ((p - s0).dot(&d) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        (p - (s0 + d * t)).norm()
    };
    let mut best = f64::INFINITY;
    for (poly, other) in [(a, b), (b, a)] {
        for &p in poly {
            for i in 0..other.len() {
                best = best.min(seg(p, other[i], other[(i + 1) % other.len()]));
            }
        }
    }
    best
}

/// Pure pursuit: the steering angle that puts a car with `wheelbase` at (`x`, `y`, `yaw`) on a
/// circle through the point of `path` about `lookahead` metres ahead of its nearest point.
pub fn pure_pursuit(
    x: f64,
    y: f64,
    yaw: f64,
    wheelbase: f64,
    lookahead: f64,
    path: &[Point2<f64>],
) -> f64 {
    let me = Point2::new(x, y);
    let Some(nearest) = (0..path.len()).min_by(|&a, &b| {
        (path[a] - me)
            .norm_squared()
            .total_cmp(&(path[b] - me).norm_squared())
    }) else {
        return 0.0;
    };
    let mut travelled = 0.0;
    let mut target = path[nearest];
    for w in path[nearest..].windows(2) {
        travelled += (w[1] - w[0]).norm();
        target = w[1];
        if travelled >= lookahead {
            break;
        }
    }
    steer_towards(me, yaw, wheelbase, target, (target - me).norm().max(1e-6))
}

/// The pure-pursuit law: the steering angle of the circle from `from` (heading `yaw`) through
/// `target`, with the arc's chord taken as `distance`.
fn steer_towards(
    from: Point2<f64>,
    yaw: f64,
    wheelbase: f64,
    target: Point2<f64>,
    distance: f64,
) -> f64 {
    let alpha = (target.y - from.y).atan2(target.x - from.x) - yaw;
    let alpha = alpha.sin().atan2(alpha.cos());
    (2.0 * wheelbase * alpha.sin() / distance).atan()
}

/// A stand-in driver until the planning stack exists: holds the lane it starts in (pure
/// pursuit on the lane centre) at a target speed, and optionally brakes hard at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct SimpleDriver {
    /// Speed to hold (m/s).
    pub speed: f64,
    /// Lateral offset of the lane to follow (Frenet d, m).
    pub lane_d: f64,
    /// Brake at this deceleration (m/s²) from this time (s).
    pub brake: Option<(f64, f64)>,
}

impl SimpleDriver {
    /// The command for the current state of `world`.
    pub fn command(&self, world: &World) -> Command {
        let ego = world.ego();
        let road = world.road();
        let p = ego.position();
        let f = road.to_frenet(p);
        // Pure pursuit on a point of the lane centre a speed-dependent distance ahead.
        let lookahead = (ego.speed() * 1.0).max(5.0);
        let target = road.to_cartesian(f.s + lookahead, self.lane_d);
        let steering = steer_towards(p, ego.yaw(), ego.params().wheelbase(), target, lookahead);
        let drive = match self.brake {
            Some((t, decel)) if world.time() >= t => crate::vehicle::Drive::Accel(-decel),
            _ => crate::vehicle::Drive::Speed(self.speed),
        };
        Command {
            steering_angle: steering,
            drive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Swing;

    fn swings(path: &[(f64, f64)]) -> u32 {
        let mut s = Swing::default();
        let mut n = 0;
        for &(d, a) in path {
            n += u32::from(s.update(d, a));
        }
        n + u32::from(s.open_evasive())
    }

    #[test]
    fn evasive_swings_are_counted_out_and_back() {
        let ramp = |from: f64, to: f64, accel: f64| -> Vec<(f64, f64)> {
            (0..=50)
                .map(|k| (from + (to - from) * k as f64 / 50.0, accel))
                .collect()
        };
        // One swerve to the left at 4 m/s².
        assert_eq!(swings(&ramp(0.0, 3.5, 4.0)), 1);
        // Out and back.
        let mut path = ramp(0.0, 3.5, 4.0);
        path.extend(ramp(3.5, 0.0, 4.0));
        assert_eq!(swings(&path), 2);
        // A gentle lane change at 1 m/s² is no evasion; nor is wobble of ±0.2 m at 5 m/s².
        assert_eq!(swings(&ramp(0.0, 3.5, 1.0)), 0);
        let wobble: Vec<(f64, f64)> = (0..200)
            .map(|k| (0.2 * (k as f64 * 0.3).sin(), 5.0))
            .collect();
        assert_eq!(swings(&wobble), 0);
        // Evade left, then further left after a pause, counts once: no turning point.
        let mut path = ramp(0.0, 2.0, 4.0);
        path.extend(std::iter::repeat_n((2.0, 0.0), 20));
        path.extend(ramp(2.0, 4.0, 4.0));
        assert_eq!(swings(&path), 1);
    }

    use super::*;
    use crate::actors::{ActorKind, Route};
    use crate::lidar::LidarParams;
    use crate::vehicle::{VehicleParams, VehicleState};

    fn world_with(actors: Vec<Actor>, road: Road, speed: f64, lidar: bool) -> World {
        let d = road.lane_centre_offset(0).unwrap();
        let start = road.to_cartesian(10.0, d);
        let ego = Vehicle::new(
            VehicleParams::default(),
            VehicleState::at(start.x, start.y, road.heading(10.0), speed),
        )
        .unwrap();
        let lidar = lidar.then(|| Lidar::new(LidarParams::default()).unwrap());
        World::new(road, ego, actors, lidar, 0.01).unwrap()
    }

    #[test]
    fn driving_into_a_stationary_car_collides_at_the_expected_time_and_speed() {
        let road = Road::straight(500.0, 2, 3.5).unwrap();
        // Ego box front at 10 + 4.508/2 − 0.133 ≈ 12.12 m; car rear at 60 − 2.01 = 57.99 m.
        let car = Actor::new(
            1,
            ActorKind::CrashedCar,
            Route::in_lane(&road, 0, 60.0).unwrap(),
            0.0,
            &road,
        )
        .unwrap();
        let mut w = world_with(vec![car], road, 20.0, false);
        let driver = SimpleDriver {
            speed: 20.0,
            lane_d: 1.75,
            brake: None,
        };
        while w.measures().collision.is_none() && w.time() < 10.0 {
            let cmd = driver.command(&w);
            w.step(&cmd).unwrap();
        }
        let c = w.measures().collision.expect("collides");
        let gap = 57.9885 - (10.0 + 4.508 / 2.0 + (1.1562 - 1.4227) / 2.0);
        assert!(
            (c.time - gap / 20.0).abs() < 0.02,
            "{c:?} expected {}",
            gap / 20.0
        );
        assert!(
            (c.ego_speed - 20.0).abs() < 0.05 && (c.relative_speed - 20.0).abs() < 0.05,
            "{c:?}"
        );
        assert_eq!(w.measures().min_gap, 0.0);
    }

    #[test]
    fn braking_in_time_avoids_the_car_and_records_the_closest_gap() {
        let road = Road::straight(500.0, 2, 3.5).unwrap();
        let car = Actor::new(
            1,
            ActorKind::CrashedCar,
            Route::in_lane(&road, 0, 60.0).unwrap(),
            0.0,
            &road,
        )
        .unwrap();
        let mut w = world_with(vec![car], road, 20.0, false);
        // 20 m/s at 8 m/s² needs 25 m (+ lag); braking at t = 0.5 s leaves ~35.9 m.
        let driver = SimpleDriver {
            speed: 20.0,
            lane_d: 1.75,
            brake: Some((0.5, 8.0)),
        };
        while w.time() < 6.0 {
            let cmd = driver.command(&w);
            w.step(&cmd).unwrap();
        }
        let m = w.measures();
        assert!(m.collision.is_none(), "{m:?}");
        assert!(w.ego().speed() < 1e-9);
        // Gap left: 45.87 − 10 (first 0.5 s) − 25 − the brake lag's 20·0.1 − 8·0.1²/2 ≈ 8.9 m.
        assert!((m.min_gap - 8.9).abs() < 0.3, "{}", m.min_gap);
        assert!((m.max_decel - 8.0).abs() < 0.05, "{}", m.max_decel);
        assert!(!m.left_road);
    }

    #[test]
    fn the_simple_driver_holds_its_lane_through_a_curve() {
        let road = Road::new(
            Point2::new(0.0, 0.0),
            0.0,
            &[
                crate::road::Segment::Straight { length: 50.0 },
                crate::road::Segment::arc(200.0, 0.5),
                crate::road::Segment::Straight { length: 100.0 },
            ],
            2,
            3.5,
        )
        .unwrap();
        let mut w = world_with(Vec::new(), road, 15.0, false);
        let driver = SimpleDriver {
            speed: 15.0,
            lane_d: 1.75,
            brake: None,
        };
        let mut worst: f64 = 0.0;
        while w.time() < 12.0 {
            let cmd = driver.command(&w);
            w.step(&cmd).unwrap();
            let f = w.road().to_frenet(w.ego().position());
            worst = worst.max((f.d - 1.75).abs());
        }
        assert!(worst < 0.3, "lane offset reached {worst} m");
        // v²/R = 225/200: the curve's lateral acceleration shows in the measures.
        assert!(
            (w.measures().max_lat_accel - 1.125).abs() < 0.2,
            "{}",
            w.measures().max_lat_accel
        );
        // A steady 1.1 m/s² curve: the car slides a fraction of a degree off its heading.
        let slip = w.measures().max_rear_slip_deg;
        assert!(slip > 0.01 && slip < 1.0, "{slip}");
    }

    #[test]
    fn pure_pursuit_steers_towards_the_path_and_not_when_on_it() {
        let path: Vec<Point2<f64>> = (0..100).map(|i| Point2::new(f64::from(i), 0.0)).collect();
        assert!(pure_pursuit(10.0, 0.0, 0.0, 2.6, 10.0, &path).abs() < 1e-12);
        // 1 m to the right of a path along +x: steer left (positive).
        let left = pure_pursuit(10.0, -1.0, 0.0, 2.6, 10.0, &path);
        // alpha = atan(1/10), distance √101: δ = atan(2·2.6·sin α / √101) ≈ 0.0513 rad.
        assert!((left - 0.0513).abs() < 1e-3, "{left}");
        assert_eq!(pure_pursuit(0.0, 0.0, 0.0, 2.6, 5.0, &[]), 0.0);
    }

    #[test]
    fn the_lidar_scans_at_its_rate_and_sees_the_actor() {
        let road = Road::straight(500.0, 2, 3.5).unwrap();
        let car = Actor::new(
            7,
            ActorKind::Car,
            Route::in_lane(&road, 0, 40.0).unwrap(),
            0.0,
            &road,
        )
        .unwrap();
        let mut w = world_with(vec![car], road, 0.0, true);
        let driver = SimpleDriver {
            speed: 0.0,
            lane_d: 1.75,
            brake: None,
        };
        let mut scans = Vec::new();
        for _ in 0..100 {
            if let Some(Scan { points, .. }) = w.scan_if_due().unwrap() {
                scans.push((w.time(), points));
            }
            let cmd = driver.command(&w);
            w.step(&cmd).unwrap();
        }
        // 1 s at 10 Hz, the first at t = 0.
        assert_eq!(scans.len(), 10);
        assert!(
            scans
                .iter()
                .all(|(_, p)| p.iter().any(|q| q.object_id == Some(7)))
        );
        assert!((scans[3].0 - 0.3).abs() < 1e-9);
    }
}
