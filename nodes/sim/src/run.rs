//! Running a scenario: its description turned into a [`World`], driven for its duration by
//! the stand-in driver (until the planning stack drives), and judged.

use std::collections::BTreeMap;

use nalgebra::Point2;

use crate::actors::{
    self, Actor, FollowParams, Longitudinal, Measure, Phase, PhaseEnd, Route, Span, Trigger,
};
use crate::lidar::Lidar;
use crate::scenario::{
    Action, ActorSpec, CrossTarget, Lateral, Position, ScenarioRun, Trigger as SpecTrigger,
};
use crate::vehicle::{Vehicle, VehicleState};
use crate::world::{SimpleDriver, World, WorldError};

/// Why a scenario could not be run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The road description is invalid.
    #[error("{origin}: road: {source}")]
    Road {
        /// Scenario file.
        origin: String,
        /// The problem.
        source: crate::road::RoadError,
    },
    /// An actor description is invalid.
    #[error("{origin}: actor `{actor}`: {source}")]
    Actor {
        /// Scenario file.
        origin: String,
        /// The actor's id in the file.
        actor: String,
        /// The problem.
        source: actors::ActorError,
    },
    /// The world refused a setup or a step.
    #[error("{origin}: {source}")]
    World {
        /// Scenario file.
        origin: String,
        /// The problem.
        source: WorldError,
    },
    /// The driver gave no command (a lock-step controller that went silent).
    #[error("{origin}: driver: {reason}")]
    Driver {
        /// Scenario file.
        origin: String,
        /// The problem.
        reason: String,
    },
    /// The lidar configuration is invalid.
    #[error("{origin}: sensors.lidar: {reason}")]
    Lidar {
        /// Scenario file.
        origin: String,
        /// The problem.
        reason: String,
    },
}

/// One judged run: the fields `embody scenario run` prints and writes as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// Scenario name.
    pub scenario: String,
    /// Parameter values of this run.
    pub params: BTreeMap<String, f64>,
    /// Whether the ego hit anything.
    pub collision: bool,
    /// Id of what it hit.
    pub collided_with: Option<String>,
    /// Ego speed at impact (km/h; 0 without a collision).
    pub impact_speed_kmh: f64,
    /// Smallest ego-to-actor distance (m).
    pub min_gap_m: f64,
    /// Evasive manoeuvres flown (see [`crate::world::Measures::evasive_manoeuvres`]).
    pub evasive_manoeuvres: u32,
    /// Largest lateral acceleration (m/s²).
    pub max_lat_accel: f64,
    /// Largest deceleration (m/s²).
    pub max_decel: f64,
    /// Largest rear-axle side slip (degrees; see [`crate::world::Measures::max_rear_slip_deg`]).
    pub max_rear_slip_deg: f64,
    /// Collisions between other road users.
    pub other_collisions: u32,
    /// Whether the outcome is what the scenario's `expected` asks for.
    pub passed: bool,
    /// Simulated seconds.
    pub sim_time_s: f64,
    /// Lidar scans taken.
    pub scans: u64,
    /// Paths and ego signals for `--plot`.
    pub trace: crate::plot::Trace,
}

fn lateral_d(run: &ScenarioRun, lateral: Lateral) -> f64 {
    run.scenario.road.lateral_d(lateral)
}

fn trigger(t: Option<SpecTrigger>) -> Trigger {
    match t {
        // The first phase has no previous one: `PreviousEnded` starts it at once.
        None => Trigger::PreviousEnded,
        Some(SpecTrigger::Time(t)) => Trigger::Time(t),
        // Distances in scenarios are along the road, bumper to bumper.
        Some(SpecTrigger::EgoDistance(d)) => Trigger::EgoWithin {
            distance: d,
            measure: Measure::Longitudinal,
        },
        Some(SpecTrigger::EgoTtc(t)) => Trigger::EgoTtcBelow(t),
    }
}

/// Builds one actor: its route (a lane, a crossing, or waypoints) and its phases.
fn actor(
    run: &ScenarioRun,
    road: &crate::road::Road,
    index: usize,
    spec: &ActorSpec,
) -> Result<Actor, actors::ActorError> {
    let start = match spec.start.position {
        Position::Frenet { s, lateral } => road.to_cartesian(s, lateral_d(run, lateral)),
        Position::Cartesian { x, y } => Point2::new(x, y),
    };
    let start_frenet = road.to_frenet(start);
    let mut route = Route::Lane {
        s: start_frenet.s,
        d: start_frenet.d,
    };
    let mut phases = Vec::new();
    for (i, p) in spec.phases.iter().enumerate() {
        let end = match &p.action {
            Action::KeepSpeed | Action::Stand | Action::FollowEgo { .. } => PhaseEnd::Never,
            Action::AccelerateTo { .. } | Action::Brake { .. } => PhaseEnd::Speed,
            Action::LaneChange { .. } => PhaseEnd::Lateral,
            Action::Cross { .. } | Action::Waypoints(_) => PhaseEnd::RouteEnd,
        };
        let mut phase = Phase::on(trigger(p.trigger)).ends(end);
        phase = match &p.action {
            // Hold the speed the actor has: its start speed first, later whatever the previous
            // phase left it at (the previous mode, with its target reached, continues).
            Action::KeepSpeed if i == 0 => phase.longitudinal(Longitudinal::Speed {
                target: spec.speed,
                rate: None,
            }),
            Action::KeepSpeed => phase,
            Action::AccelerateTo { speed, accel } => phase.longitudinal(Longitudinal::Speed {
                target: *speed,
                rate: Some(*accel),
            }),
            Action::Brake {
                decel, to_speed, ..
            } => phase.longitudinal(Longitudinal::Brake {
                decel: *decel,
                to_speed: *to_speed,
            }),
            Action::LaneChange {
                to_lane,
                offset,
                duration,
            } => phase.lateral(actors::Lateral::MoveTo {
                d: lateral_d(
                    run,
                    Lateral::Lane {
                        lane: *to_lane,
                        offset: *offset,
                    },
                ),
                span: Span::Time(*duration),
            }),
            Action::Cross {
                to,
                speed,
                accel_distance,
            } => {
                let end = match to {
                    CrossTarget::D(d) => road.to_cartesian(start_frenet.s, *d),
                    CrossTarget::Point { x, y } => Point2::new(*x, *y),
                };
                route = Route::crossing(start, end, *speed);
                // Euro NCAP targets reach walking or riding speed over a set distance:
                // v² = 2·a·s gives the acceleration.
                let rate = (*accel_distance > 0.0).then(|| speed * speed / (2.0 * accel_distance));
                phase.longitudinal(Longitudinal::Speed {
                    target: *speed,
                    rate,
                })
            }
            Action::FollowEgo {
                time_gap,
                reaction_time,
                max_decel,
            } => phase.longitudinal(Longitudinal::Follow(FollowParams {
                time_gap: *time_gap,
                reaction_time: *reaction_time,
                max_decel: *max_decel,
                ..FollowParams::default()
            })),
            Action::Stand => phase.longitudinal(Longitudinal::StandStill),
            Action::Waypoints(points) => {
                let mut wps = vec![actors::FrenetWaypoint {
                    s: start_frenet.s,
                    d: start_frenet.d,
                    speed: Some(spec.speed),
                }];
                wps.extend(points.iter().map(|w| actors::FrenetWaypoint {
                    s: w.s,
                    d: lateral_d(run, w.lateral),
                    speed: Some(w.speed),
                }));
                route = Route::Frenet(wps);
                phase.longitudinal(Longitudinal::Route)
            }
        };
        phases.push(phase);
    }
    let kind = spec.kind;
    let initial_speed = if matches!(route, Route::Points(_))
        && spec
            .phases
            .first()
            .is_some_and(|p| matches!(p.action, Action::Stand))
    {
        0.0
    } else {
        spec.speed
    };
    let mut a = Actor::new(index as u32 + 1, kind, route, initial_speed, road)?;
    if let Some(size) = spec.size {
        a = a.with_size(
            actors::Size::new(size.length, size.width, size.height)?,
            road,
        )?;
    }
    if spec.start.heading_deg != 0.0
        && matches!(spec.start.position, Position::Frenet { .. })
        && !spec
            .phases
            .iter()
            .any(|p| matches!(p.action, Action::Cross { .. }))
    {
        a = a.with_yaw_offset(spec.start.heading_deg.to_radians(), road)?;
    }
    a.with_phases(phases)
}

/// Builds the world a scenario run starts in.
pub fn build_world(run: &ScenarioRun) -> Result<World, RunError> {
    let sc = &run.scenario;
    let origin = sc.origin.clone();
    let road = sc.road.build().map_err(|source| RunError::Road {
        origin: origin.clone(),
        source,
    })?;
    let params = sc.ego.vehicle.params();
    // The scenario gives the front bumper; the model's state is the centre of gravity, which
    // sits L/2 + (l_f − l_r)/2 behind it.
    let (s_front, d) = match sc.ego.start.position {
        Position::Frenet { s, lateral } => (s, lateral_d(run, lateral)),
        Position::Cartesian { x, y } => {
            let f = road.to_frenet(Point2::new(x, y));
            (f.s, f.d)
        }
    };
    let back = params.length / 2.0 + (params.cg_to_front_axle - params.cg_to_rear_axle) / 2.0;
    let s_cg = s_front - back;
    let cg = road.to_cartesian(s_cg, d);
    let yaw = road.heading(s_cg) + sc.ego.start.heading_deg.to_radians();
    let ego =
        Vehicle::new(params, VehicleState::at(cg.x, cg.y, yaw, sc.ego.speed)).map_err(|e| {
            RunError::World {
                origin: origin.clone(),
                source: e.into(),
            }
        })?;
    let mut actors = Vec::new();
    for (i, spec) in sc.actors.iter().enumerate() {
        actors.push(
            actor(run, &road, i, spec).map_err(|source| RunError::Actor {
                origin: origin.clone(),
                actor: spec.id.clone(),
                source,
            })?,
        );
    }
    let lidar = if sc.sensors.lidar.enabled {
        Some(
            Lidar::new(sc.sensors.lidar.params()).map_err(|e| RunError::Lidar {
                origin: origin.clone(),
                reason: e.to_string(),
            })?,
        )
    } else {
        None
    };
    let mut world = World::new(road, ego, actors, lidar, sc.step_s)
        .map_err(|source| RunError::World { origin, source })?;
    world.set_laser_scan(sc.sensors.lidar.laser_scan);
    Ok(world)
}

/// Who commands the ego each step.
pub trait Driver {
    /// The command for the next step. `fresh` is true when a new frame of sensor data went
    /// out this step (a lock-step controller answers those; in between it holds).
    fn command(&mut self, world: &World, fresh: bool) -> Result<crate::vehicle::Command, String>;
}

impl Driver for SimpleDriver {
    fn command(&mut self, world: &World, _fresh: bool) -> Result<crate::vehicle::Command, String> {
        Ok(SimpleDriver::command(self, world))
    }
}

/// The stand-in driver for a run: the scenario's ego speed in the lane the ego starts in.
pub fn stand_in_driver(run: &ScenarioRun, world: &World) -> SimpleDriver {
    SimpleDriver {
        speed: run.scenario.ego.speed,
        lane_d: world.road().to_frenet(world.ego().position()).d,
        brake: None,
    }
}

/// Runs a scenario to its end (or the first ego collision) with the stand-in driver holding
/// the ego's lane and speed.
pub fn run(run: &ScenarioRun) -> Result<RunResult, RunError> {
    run_recorded(run, &mut |_, _| {})
}

/// Odometry, IMU, TF and ground truth go out every this many seconds (50 Hz), the lidar at its
/// own rate.
const FRAME_PERIOD: f64 = 0.02;

/// [`run`], handing every message the simulator would publish to `sink` with its sim time
/// (ns): the latched lane map and static transforms at 0, then the frames as they fall due.
pub fn run_recorded(
    run: &ScenarioRun,
    sink: &mut dyn FnMut(u64, &crate::ros::Output),
) -> Result<RunResult, RunError> {
    let world = build_world(run)?;
    let mut driver = stand_in_driver(run, &world);
    run_world(run, world, &mut driver, sink)
}

/// The simulation loop: frames to `sink` as they fall due, commands from `driver`.
pub fn run_world(
    run: &ScenarioRun,
    mut world: World,
    driver: &mut dyn Driver,
    sink: &mut dyn FnMut(u64, &crate::ros::Output),
) -> Result<RunResult, RunError> {
    let sc = &run.scenario;
    let origin = sc.origin.clone();
    let mut scans = 0;
    let wrap = |source| RunError::World {
        origin: origin.clone(),
        source,
    };
    if let Some(lidar) = world.lidar() {
        let mount = lidar.sensor_pose(&nalgebra::Isometry3::identity());
        sink(0, &crate::ros::static_transforms(&mount));
    }
    let limit = sc.road.speed_limit.unwrap_or(0.0);
    sink(0, &crate::ros::lane_map(world.road(), limit, 1.0));
    let frame_every = (FRAME_PERIOD / sc.step_s).round().max(1.0) as u64;
    let sn = &sc.sensors;
    let mut noise = crate::ros::SensorNoise::new(
        sn.odometry.position_sigma,
        sn.odometry.velocity_sigma,
        sn.odometry.yaw_sigma,
        sn.imu.accel_sigma,
        sn.imu.gyro_sigma,
        sn.noise_seed,
    );
    let mut trace = crate::plot::Trace {
        boundaries: (0..=world.road().lane_count())
            .map(|j| {
                world
                    .road()
                    .boundary_line(j, 2.0)
                    .unwrap_or_default()
                    .iter()
                    .map(|p| (p.x, p.y))
                    .collect()
            })
            .collect(),
        actor_names: sc.actors.iter().map(|a| a.id.clone()).collect(),
        ..Default::default()
    };
    let mut step = 0u64;
    while world.time() < sc.duration_s - 1e-9 && world.measures().collision.is_none() {
        let scan = world.scan_if_due().map_err(wrap)?;
        if scan.is_some() {
            scans += 1;
        }
        let fresh = scan.is_some() || step.is_multiple_of(frame_every);
        if fresh {
            // Sim time in whole nanoseconds on the step grid, identical run after run.
            let t_ns = (step as f64 * sc.step_s * 1e9).round() as u64;
            for o in crate::ros::frame(&world, t_ns as i64, scan.as_ref(), &mut noise) {
                sink(t_ns, &o);
            }
            trace.frames.push(trace_frame(&world));
        }
        let cmd = driver
            .command(&world, fresh)
            .map_err(|reason| RunError::Driver {
                origin: origin.clone(),
                reason,
            })?;
        world.step(&cmd).map_err(wrap)?;
        step += 1;
    }
    trace.frames.push(trace_frame(&world));
    let m = world.measures();
    trace.collision = m.collision.map(|_| {
        let p = world.ego().position();
        (p.x, p.y)
    });
    let collided_with = m.collision.map(|c| {
        sc.actors
            .get(c.actor as usize - 1)
            .map_or_else(|| c.actor.to_string(), |a| a.id.clone())
    });
    let collision = m.collision.is_some();
    let other = m.other_collisions.len() as u32;
    let impact_kmh = m.collision.map_or(0.0, |c| c.ego_speed * 3.6);
    let e = &sc.expected;
    let passed = e.collision.is_none_or(|want| want == collision)
        && e.other_collisions.is_none_or(|want| want == (other > 0))
        && e.min_gap_m.is_none_or(|g| m.min_gap >= g)
        && e.max_impact_speed_kmh.is_none_or(|v| impact_kmh <= v)
        && e.max_decel.is_none_or(|v| m.max_decel <= v)
        && e.max_lat_accel.is_none_or(|v| m.max_lat_accel <= v)
        && e.max_rear_slip_deg.is_none_or(|v| m.max_rear_slip_deg <= v);
    Ok(RunResult {
        scenario: sc.name.clone(),
        params: run.params.clone(),
        collision,
        collided_with,
        impact_speed_kmh: impact_kmh,
        min_gap_m: m.min_gap,
        evasive_manoeuvres: m.evasive_manoeuvres(),
        max_lat_accel: m.max_lat_accel,
        max_decel: m.max_decel,
        max_rear_slip_deg: m.max_rear_slip_deg,
        other_collisions: other,
        passed,
        sim_time_s: world.time(),
        scans,
        trace,
    })
}

fn trace_frame(world: &World) -> crate::plot::TraceFrame {
    let ego = world.ego();
    let p = ego.position();
    let a = ego.acceleration();
    crate::plot::TraceFrame {
        t: world.time(),
        ego: (p.x, p.y),
        speed: ego.speed(),
        accel: (a.x, a.y),
        actors: world.actors().iter().map(|s| (s.x, s.y)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;
    use std::path::{Path, PathBuf};

    fn scenarios() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
    }

    /// The default run of a shipped scenario (every swept parameter fixed at its default).
    fn default_run(rel: &str) -> ScenarioRun {
        let path = scenarios().join(rel);
        let all = Scenario::load(&path, &[]).unwrap();
        let defaults: Vec<(String, String)> = all[0]
            .scenario
            .parameters
            .iter()
            .map(|p| (p.name.clone(), p.default.to_string()))
            .collect();
        let mut runs = Scenario::load(&path, &defaults).unwrap();
        assert_eq!(runs.len(), 1);
        runs.remove(0)
    }

    #[test]
    fn every_shipped_vehicle_scenario_builds_a_world() {
        for dir in ["ncap", "compound", "had"] {
            for entry in std::fs::read_dir(scenarios().join(dir)).unwrap() {
                let path = entry.unwrap().path();
                let rel = path
                    .strip_prefix(scenarios())
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                let run = default_run(&rel);
                let w = build_world(&run).unwrap_or_else(|e| panic!("{rel}: {e}"));
                assert_eq!(w.actors().len(), run.scenario.actors.len(), "{rel}");
            }
        }
    }

    #[test]
    fn without_braking_the_stand_in_driver_hits_the_ccrs_target_at_full_speed() {
        let run = default_run("ncap/ccrs.yaml");
        let r = super::run(&run).unwrap();
        assert!(r.collision && !r.passed, "{r:?}");
        assert_eq!(r.collided_with.as_deref(), Some("gvt"));
        assert!((r.impact_speed_kmh - 50.0).abs() < 0.5, "{r:?}");
        // 50 km/h, 30 m gap at the start (4 s would be 55.6 m: the larger wins), contact after
        // gap / speed.
        let gap = (4.0f64 * 50.0 / 3.6).max(30.0);
        assert!((r.sim_time_s - gap / (50.0 / 3.6)).abs() < 0.05, "{r:?}");
        assert_eq!(super::run(&run).unwrap(), r, "same scenario, same result");
    }

    #[test]
    fn a_laser_scan_is_cut_from_every_lidar_scan_when_asked() {
        use embody_msgs::Message;
        let mut run = default_run("ncap/ccrs.yaml");
        let collect = |run: &ScenarioRun| {
            let mut scans = Vec::new();
            let mut clouds = 0;
            run_recorded(run, &mut |_, o| match o.topic {
                "sensing/lidar/scan" => {
                    scans.push(embody_msgs::sensor_msgs::msg::LaserScan::from_cdr(&o.data).unwrap())
                }
                "sensing/lidar/points" => clouds += 1,
                _ => {}
            })
            .unwrap();
            (scans, clouds)
        };
        let (scans, clouds) = collect(&run);
        assert!(scans.is_empty() && clouds > 10, "off by default");
        run.scenario.sensors.lidar.laser_scan = true;
        // The plane closest to level is cut; a roof lidar's level beam would pass over the
        // target car, so tilt the fan down to make its lowest-tilted beam 2° below level.
        run.scenario.sensors.lidar.channels = Some(16);
        run.scenario.sensors.lidar.min_elevation_deg = Some(-25.0);
        run.scenario.sensors.lidar.max_elevation_deg = Some(-2.0);
        let (scans, clouds) = collect(&run);
        assert_eq!(scans.len(), clouds);
        // Straight ahead: the stationary target, nearer scan after scan as the ego closes in
        // at 50 km/h (1.39 m per 10 Hz scan), while the beam meets its rear.
        let ahead: Vec<f32> = scans
            .iter()
            .map(|s| s.ranges[((0.0 - s.angle_min) / s.angle_increment).round() as usize])
            .filter(|r| r.is_finite())
            .collect();
        // Before: the ground 51.6 m out (1.8 m below a 2° beam); near the end the beam runs
        // over the target's boot. In between every scan is 1.39 m nearer the target.
        let closing = ahead
            .windows(2)
            .filter(|w| (w[0] - w[1] - 1.389).abs() < 0.1)
            .count();
        assert!(closing >= 25, "{closing} of {ahead:?}");
        assert!(ahead.iter().all(|r| *r <= 51.7), "{ahead:?}");
        let s = &scans[0];
        assert_eq!(s.header.frame_id, "lidar");
        assert_eq!(s.ranges.len(), s.intensities.len());
        assert!((s.scan_time - 0.1).abs() < 1e-6);
    }

    /// Whether the segment a–b crosses the convex polygon `poly`.
    fn blocked(a: Point2<f64>, b: Point2<f64>, poly: &[Point2<f64>]) -> bool {
        crate::geometry::convex_polygons_overlap(&[a, b], poly)
    }

    #[test]
    fn the_child_is_invisible_to_the_lidar_until_it_leaves_the_parked_cars_shadow() {
        let run = default_run("compound/child_behind_parked_cars.yaml");
        let mut world = build_world(&run).unwrap();
        let child_id = run
            .scenario
            .actors
            .iter()
            .position(|a| a.id == "child")
            .unwrap() as u32
            + 1;
        let parked: Vec<u32> = run
            .scenario
            .actors
            .iter()
            .enumerate()
            .filter(|(_, a)| a.id.starts_with("parked"))
            .map(|(i, _)| i as u32 + 1)
            .collect();
        let start = world.road().to_frenet(world.ego().position());
        let driver = SimpleDriver {
            speed: run.scenario.ego.speed,
            lane_d: start.d,
            brake: None,
        };
        let (mut hidden_scans, mut visible_scans, mut seen_while_visible) = (0, 0, 0);
        while world.time() < run.scenario.duration_s && world.measures().collision.is_none() {
            if let Some(crate::lidar::Scan { points, .. }) = world.scan_if_due().unwrap() {
                let states = world.actors();
                let child = states.iter().find(|a| a.id == child_id).unwrap();
                let sensor = world.ego_pose() * Point3::new(1.35, 0.0, 1.8);
                let eye = Point2::new(sensor.x, sensor.y);
                let boxes: Vec<Vec<Point2<f64>>> = world
                    .actor_boxes()
                    .into_iter()
                    .filter(|(id, _)| parked.contains(id))
                    .map(|(_, b)| b.footprint())
                    .collect();
                let child_box = world
                    .actor_boxes()
                    .into_iter()
                    .find(|(id, _)| *id == child_id)
                    .unwrap()
                    .1;
                let corners = child_box.footprint();
                let occluded = |c: &Point2<f64>| boxes.iter().any(|b| blocked(eye, *c, b));
                let hits = points
                    .iter()
                    .filter(|p| p.object_id == Some(child_id))
                    .count();
                if corners.iter().all(occluded) {
                    hidden_scans += 1;
                    assert_eq!(
                        hits,
                        0,
                        "child hit while behind the cars at t={} (d={})",
                        world.time(),
                        child.d
                    );
                } else if !corners.iter().any(occluded) && (child.x - eye.x).abs() < 60.0 {
                    visible_scans += 1;
                    if hits > 0 {
                        seen_while_visible += 1;
                    }
                }
            }
            let cmd = driver.command(&world);
            world.step(&cmd).unwrap();
        }
        assert!(
            hidden_scans >= 5,
            "the child starts hidden ({hidden_scans} scans)"
        );
        assert!(visible_scans >= 1, "the child steps out before the end");
        assert_eq!(
            seen_while_visible, visible_scans,
            "every scan with the child in view hits it"
        );
    }

    use nalgebra::Point3;
}
