//! One planning cycle: lanes and predictions in, HAD's trajectory — or AES's when it
//! intervenes — and the AES status out.

use crate::aes::{Aes, AesInputs, AesParams, AesState, AesStatus};
use crate::collision::{CollisionParams, Discs, Obstacles};
use crate::frenet::ReferenceLine;
use crate::had::{Behaviour, EgoOnLane, Had, HadParams};
use crate::lane_prediction::{AccelEstimator, LanePredictionParams, with_lane_paths};
use crate::route::Lanes;
use crate::sampler::{self, FrenetState, SamplerParams};
use crate::types::{Inputs, LaneMap, PlanError, Trajectory, finite};

/// The ego's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VehicleSize {
    /// Length (m).
    pub length: f64,
    /// Width (m).
    pub width: f64,
}

impl Default for VehicleSize {
    fn default() -> Self {
        // CommonRoad vehicle 2 (BMW 320i), as the simulator's default.
        Self {
            length: 4.508,
            width: 1.61,
        }
    }
}

/// Everything tunable.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlannerConfig {
    /// The ego's size.
    pub vehicle: VehicleSize,
    /// HAD behaviour.
    pub had: HadParams,
    /// Frenet sampling.
    pub sampler: SamplerParams,
    /// Collision checking.
    pub collision: CollisionParams,
    /// AES.
    pub aes: AesParams,
    /// Map-based prediction of traffic.
    pub lane_prediction: LanePredictionParams,
}

/// The result of one cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The trajectory control should follow (AES's while it intervenes).
    pub trajectory: Trajectory,
    /// AES status.
    pub aes: AesStatus,
    /// What HAD was doing.
    pub behaviour: Behaviour,
    /// HAD found no trajectory free of predicted contacts.
    pub had_blocked: bool,
    /// The mildest predicted contact of HAD's trajectory when it is blocked.
    pub had_contact: Option<crate::collision::Hit>,
    /// The acceleration HAD's behaviour asked for (m/s²).
    pub had_accel: f64,
}

/// The planner with its memory between cycles.
#[derive(Debug, Clone, PartialEq)]
pub struct Planner {
    config: PlannerConfig,
    had: Had,
    aes: Aes,
    accel: AccelEstimator,
    // The lane map changes rarely (it is latched): its reference lines are kept until it does.
    lanes: Option<(LaneMap, Lanes)>,
    previous: Option<PreviousPlan>,
}

/// HAD's last trajectory, to continue laterally.
#[derive(Debug, Clone, PartialEq)]
struct PreviousPlan {
    time: f64,
    trajectory: Trajectory,
}

/// How far (m) the car may be beside its previous plan for HAD to continue it.
const CONTINUE_LATERAL_ERROR: f64 = 0.5;

impl PreviousPlan {
    /// Offset, rate and acceleration the plan had for `time` in `line`'s frame, if it covers
    /// that time and the car at lateral offset `measured_d` is close to it.
    fn lateral_at(
        &self,
        time: f64,
        line: &ReferenceLine,
        measured_d: f64,
    ) -> Option<(f64, f64, f64)> {
        let points = &self.trajectory.points;
        let dt = points
            .get(1)
            .map(|p| p.t - points[0].t)
            .filter(|dt| *dt > 0.0)?;
        // Between samples: the planner may run faster than the trajectory's 0.1 s grid (the
        // ground-truth stack plans at 50 Hz, and rounding to a sample never continued its
        // plan: lane changes at 130 km/h were re-planned from the lagging car every cycle and
        // swung 1.4 m past the lane centre).
        let at = (time - self.time) / dt;
        if !at.is_finite() || at <= 0.0 {
            return None;
        }
        let i = at.floor() as usize;
        let frac = at - at.floor();
        let (a, b) = (points.get(i)?, points.get(i + 1)?);
        let state = |p: &crate::types::TrajectoryPoint| {
            let f = line.project(p.x, p.y);
            (
                f.d,
                p.v * crate::frenet::wrap_angle(p.yaw - line.heading(f.s)).sin(),
            )
        };
        let ((da, ra), (db, rb)) = (state(a), state(b));
        let d = da + frac * (db - da);
        let rate = ra + frac * (rb - ra);
        ((d - measured_d).abs() <= CONTINUE_LATERAL_ERROR).then_some((d, rate, (rb - ra) / dt))
    }
}

impl Planner {
    /// A planner with `config`.
    pub fn new(config: PlannerConfig) -> Self {
        Self {
            had: Had::new(config.had),
            aes: Aes::new(config.aes),
            accel: AccelEstimator::default(),
            config,
            lanes: None,
            previous: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PlannerConfig {
        &self.config
    }

    /// Full braking straight along the ego's heading, on the planner's time grid: what to
    /// follow when [`Planner::plan`] finds the ego on no lane ([`PlanError::OffMap`]), e.g.
    /// turned across the road after a skid. Silence would leave control to wait out its
    /// trajectory timeout (2 s) before it brakes.
    pub fn stop_straight(&self, ego: &crate::types::EgoState) -> Trajectory {
        let (dt, steps) = (self.config.sampler.dt, self.config.sampler.steps);
        let decel = self.config.aes.max_decel;
        let v0 = ego.v.max(0.0);
        let t_stop = v0 / decel;
        let (c, sn) = (ego.yaw.cos(), ego.yaw.sin());
        let points = (0..steps)
            .map(|k| {
                let t = k as f64 * dt;
                let tb = t.min(t_stop);
                let s = v0 * tb - 0.5 * decel * tb * tb;
                crate::types::TrajectoryPoint {
                    t,
                    x: ego.x + s * c,
                    y: ego.y + s * sn,
                    yaw: ego.yaw,
                    v: (v0 - decel * t).max(0.0),
                    a: if t < t_stop { -decel } else { 0.0 },
                    curvature: 0.0,
                }
            })
            .collect();
        Trajectory { points }
    }

    /// One cycle.
    pub fn plan(&mut self, inputs: &Inputs) -> Result<Output, PlanError> {
        let e = &inputs.ego;
        for (what, v) in [
            ("time", inputs.time),
            ("ego x", e.x),
            ("ego y", e.y),
            ("ego yaw", e.yaw),
            ("ego speed", e.v),
            ("ego acceleration", e.a),
            ("ego yaw rate", e.yaw_rate),
        ] {
            finite(what, v)?;
        }
        for o in &inputs.objects {
            o.validate()?;
        }
        if self
            .lanes
            .as_ref()
            .is_none_or(|(map, _)| *map != inputs.map)
        {
            self.lanes = Some((inputs.map.clone(), Lanes::new(&inputs.map)?));
        }
        let Some((_, lanes)) = &self.lanes else {
            return Err(PlanError::NoLanes);
        };
        let cfg = &self.config;
        self.accel.observe(
            inputs.time,
            &inputs.objects,
            cfg.lane_prediction.accel_window,
        );
        let predicted = with_lane_paths(lanes, &inputs.objects, &self.accel, &cfg.lane_prediction);
        let (base, at) = lanes.locate(e.x, e.y, e.yaw).ok_or(PlanError::OffMap)?;
        let line = &lanes.lanes[base].line;
        let corridor = lanes.corridor(base, at.s);
        let fobjects = lanes.objects(base, &inputs.objects);
        let ids: Vec<u64> = inputs.objects.iter().map(|o| o.id).collect();
        let vulnerable: Vec<u64> = inputs
            .objects
            .iter()
            .filter(|o| o.class.is_vulnerable())
            .map(|o| o.id)
            .collect();

        let heading = line.heading(at.s);
        let kappa = line.curvature(at.s);
        let rel = crate::frenet::wrap_angle(e.yaw - heading);
        let v = e.v.max(0.0);
        let s_d = v * rel.cos() / (1.0 - kappa * at.d).max(0.1);
        let start = FrenetState {
            s: at.s,
            s_d,
            s_dd: e.a,
            d: at.d,
            d_d: v * rel.sin(),
            d_dd: v * rel.cos() * (e.yaw_rate - kappa * s_d),
        };

        let sp = &cfg.sampler;
        let grid = sp.steps.max(cfg.aes.assessment_steps).max(cfg.aes.steps);
        let mut obstacles = Obstacles::new(&predicted, sp.dt, grid, &cfg.collision);
        // Followers are whoever is right behind the ego now, in its own frame: lane frames
        // change under the ego while it crosses a lane line.
        let (cy, sy) = (e.yaw.cos(), e.yaw.sin());
        let followers: Vec<u64> = inputs
            .objects
            .iter()
            .filter(|o| {
                let (dx, dy) = (o.pose.x - e.x, o.pose.y - e.y);
                let lon = dx * cy + dy * sy;
                let lat = -dx * sy + dy * cy;
                lon < 0.0 && lat.abs() < cfg.vehicle.width / 2.0 + o.width.max(0.0) / 2.0 + 0.3
            })
            .map(|o| o.id)
            .collect();
        obstacles.set_followers(&followers);
        let ego_discs = Discs::cover(cfg.vehicle.length, cfg.vehicle.width);
        let ego = EgoOnLane {
            at,
            v,
            length: cfg.vehicle.length,
            width: cfg.vehicle.width,
        };
        let decision = self.had.decide(
            inputs.time,
            lanes,
            &corridor,
            &ego,
            &fobjects,
            &inputs.objects,
        );
        let mut sampler_params = sp.clone();
        sampler_params.max_decel = cfg.had.max_decel;
        // A quartic from rest to v + Δv in T peaks at 1.5·Δv/T: aim where the peak is HAD's
        // reference acceleration.
        let speed_ref = |t: f64| (v + decision.accel * t / 1.5).clamp(0.0, decision.desired_speed);
        // HAD plans from an acceleration inside its own limits: starting from the measured one
        // would let the tracking controller's overshoot ratchet the braking up cycle by cycle.
        // Laterally, HAD continues its previous plan while the car follows it: replanning
        // from the measured lateral state each cycle restarts a lane change from wherever
        // the tracking lag left the car, so the lag compounds into a late swing and an
        // overshoot (a spin at 120 km/h). Werling et al. plan from the previous trajectory too.
        let lateral = self
            .previous
            .as_ref()
            .and_then(|prev| prev.lateral_at(inputs.time, line, start.d))
            .unwrap_or((start.d, start.d_d, start.d_dd));
        let had_start = FrenetState {
            s_dd: start
                .s_dd
                .clamp(-cfg.had.max_decel, sampler_params.max_accel),
            d: lateral.0,
            d_d: lateral.1,
            d_dd: lateral.2,
            ..start
        };
        let plan = sampler::plan(
            &sampler::Problem {
                line,
                start: had_start,
                targets: &decision.targets,
                obstacles: &obstacles,
                ego: &ego_discs,
                centre_range: (
                    corridor.right_edge + cfg.vehicle.width / 2.0,
                    corridor.left_edge - cfg.vehicle.width / 2.0,
                ),
            },
            speed_ref,
            &sampler_params,
        );

        let (status, aes_trajectory) = self.aes.step(&AesInputs {
            time: inputs.time,
            line,
            lanes,
            lane: lanes.lanes[base].id,
            corridor: &corridor,
            start,
            v,
            ego: &ego_discs,
            size: (cfg.vehicle.length, cfg.vehicle.width),
            obstacles: &obstacles,
            objects: &fobjects,
            ids: &ids,
            vulnerable: &vulnerable,
            // AES judges the path HAD is about to drive, unless HAD itself is blocked: then
            // the lane the ego is in.
            nominal: plan.as_ref().filter(|p| p.hit.is_none()).map(|p| p.lateral),
            driver_override: inputs.driver_override,
            trajectory_steps: sp.steps,
        });
        if matches!(
            status.state,
            AesState::Steer | AesState::BrakeAndSteer | AesState::Brake
        ) {
            self.had.cancel_lane_change();
        }
        let had_blocked = plan.as_ref().is_none_or(|p| p.hit.is_some());
        let had_contact = plan.as_ref().and_then(|p| p.hit);
        let from_had = aes_trajectory.is_none() && plan.is_some();
        let trajectory = match (aes_trajectory, plan) {
            (Some(t), _) => t,
            (None, Some(p)) => p.trajectory,
            (None, None) => sampler::stopping(line, &start, cfg.had.max_decel, sp),
        };
        self.previous = from_had.then(|| PreviousPlan {
            time: inputs.time,
            trajectory: trajectory.clone(),
        });
        Ok(Output {
            trajectory,
            aes: status,
            behaviour: decision.behaviour,
            had_blocked,
            had_contact,
            had_accel: decision.accel,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{EgoState, Lane, LaneMap, Object, PlanError, Pose2};

    fn one_lane() -> LaneMap {
        LaneMap {
            lanes: vec![Lane {
                id: 1,
                centre: vec![(0.0, 0.0), (300.0, 0.0)],
                width: 3.5,
                speed_limit: Some(20.0),
                left: None,
                right: None,
            }],
        }
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let mut planner = Planner::new(PlannerConfig::default());
        let mut inputs = Inputs {
            ego: EgoState {
                x: 10.0,
                v: 10.0,
                ..EgoState::default()
            },
            map: one_lane(),
            ..Inputs::default()
        };
        assert!(planner.plan(&inputs).is_ok());
        inputs.objects.push(Object {
            id: 4,
            pose: Pose2 {
                x: f64::NAN,
                ..Pose2::default()
            },
            ..Object::default()
        });
        assert!(matches!(
            planner.plan(&inputs),
            Err(PlanError::InvalidObject {
                id: 4,
                what: "x",
                ..
            })
        ));
        inputs.objects.clear();
        inputs.ego.y = 50.0;
        assert_eq!(planner.plan(&inputs), Err(PlanError::OffMap));
        // Off the map, the fallback brakes at AES's full 9 m/s² along the heading: from
        // 10 m/s at 45° it stands after 1.11 s and 5.56 m.
        inputs.ego.v = 10.0;
        inputs.ego.yaw = std::f64::consts::FRAC_PI_4;
        let stop = planner.stop_straight(&inputs.ego);
        let last = stop.points.last().unwrap();
        assert_eq!(last.v, 0.0);
        let run = (last.x - inputs.ego.x).hypot(last.y - inputs.ego.y);
        assert!((run - 100.0 / 18.0).abs() < 1e-9, "{run}");
        assert!((last.x - inputs.ego.x - (last.y - inputs.ego.y)).abs() < 1e-9);
        assert_eq!(stop.points[0].a, -9.0);
        assert!(stop.points.windows(2).all(|w| w[1].v <= w[0].v));
        inputs.map.lanes[0].left = Some(9);
        assert!(matches!(
            planner.plan(&inputs),
            Err(PlanError::UnknownNeighbour {
                lane: 1,
                neighbour: 9
            })
        ));
        inputs.map.lanes.clear();
        assert_eq!(planner.plan(&inputs), Err(PlanError::NoLanes));
    }

    #[test]
    fn cruising_on_a_free_lane_holds_the_centre_and_the_limit() {
        let mut planner = Planner::new(PlannerConfig::default());
        let out = planner
            .plan(&Inputs {
                ego: EgoState {
                    x: 10.0,
                    y: 0.5,
                    v: 20.0,
                    ..EgoState::default()
                },
                map: one_lane(),
                ..Inputs::default()
            })
            .unwrap();
        let points = &out.trajectory.points;
        assert_eq!(points.len(), 50);
        assert!((points[0].t).abs() < 1e-12 && (points[49].t - 4.9).abs() < 1e-9);
        // Starts at the ego, ends back on the centre line at the speed limit.
        assert!((points[0].x - 10.0).abs() < 1e-9 && (points[0].y - 0.5).abs() < 1e-9);
        assert!(points[49].y.abs() < 0.05, "{}", points[49].y);
        assert!((points[49].v - 20.0).abs() < 0.05);
        assert_eq!(out.behaviour, crate::had::Behaviour::Cruise);
        assert!(!out.had_blocked);
    }

    /// `one_lane` and a second lane to its left, 3.5 m over.
    fn two_lanes() -> LaneMap {
        let mut map = one_lane();
        map.lanes[0].left = Some(2);
        map.lanes.push(Lane {
            id: 2,
            centre: vec![(0.0, 3.5), (300.0, 3.5)],
            width: 3.5,
            speed_limit: Some(20.0),
            left: None,
            right: Some(1),
        });
        map
    }

    /// Two lanes; a motorcycle 25 m ahead in the left one, 0.9 m into its way right and
    /// moving right at 1.5 m/s, whose perception path turns on off the road (a turn rate
    /// extrapolated from the start of a lane change), as a CTRV prediction does.
    fn cut_in(planner: &mut Planner) -> Output {
        let map = two_lanes();
        let (x0, y0, vx, vy): (f64, f64, f64, f64) = (35.0, 2.6, 9.0, -1.5);
        let samples = (0..=50)
            .map(|k| {
                let t = 0.1 * f64::from(k);
                // Heading turning right at 0.4 rad/s from the lane change's -0.165 rad.
                let yaw = -0.165 - 0.4 * t;
                let speed = vx.hypot(vy);
                let (mut x, mut y) = (x0, y0);
                for j in 0..k {
                    let a = -0.165 - 0.4 * 0.1 * f64::from(j);
                    x += speed * a.cos() * 0.1;
                    y += speed * a.sin() * 0.1;
                }
                crate::types::PathSample { t, x, y, yaw }
            })
            .collect();
        let bike = Object {
            id: 7,
            class: crate::types::ObjectClass::Motorcycle,
            pose: Pose2 {
                x: x0,
                y: y0,
                yaw: -0.165,
            },
            length: 2.1,
            width: 0.8,
            vx,
            vy,
            paths: vec![crate::types::PredictedPath {
                samples,
                position_std: 0.2,
                confidence: 1.0,
            }],
        };
        planner
            .plan(&Inputs {
                ego: EgoState {
                    x: 10.0,
                    v: 16.7,
                    ..EgoState::default()
                },
                objects: vec![bike],
                map,
                ..Inputs::default()
            })
            .unwrap()
    }

    #[test]
    fn the_previous_plan_is_continued_laterally_only_while_the_car_is_on_it() {
        // A lane change planned at t = 10: d(t) = 0.5·t², along x at 20 m/s.
        let points = (0..50)
            .map(|k| {
                let t = 0.1 * f64::from(k);
                crate::types::TrajectoryPoint {
                    t,
                    x: 20.0 * t,
                    y: 0.5 * t * t,
                    yaw: (t / 20.0).atan(),
                    v: 20.0_f64.hypot(t),
                    ..Default::default()
                }
            })
            .collect();
        let prev = PreviousPlan {
            time: 10.0,
            trajectory: Trajectory { points },
        };
        let line = ReferenceLine::new(&[(-10.0, 0.0), (200.0, 0.0)]).unwrap();
        // At t = 10.3 the plan is at d = 0.045 m moving out at 0.3 m/s, accelerating at 1 m/s².
        let (d, rate, accel) = prev.lateral_at(10.3, &line, 0.1).expect("on the plan");
        assert!((d - 0.045).abs() < 1e-9, "{d}");
        assert!((rate - 0.3).abs() < 1e-9, "{rate}");
        assert!((accel - 1.0).abs() < 1e-6, "{accel}");
        // 0.6 m beside it, or before its second sample, or past its end: measure instead.
        assert_eq!(prev.lateral_at(10.3, &line, 0.645), None);
        assert_eq!(prev.lateral_at(10.0, &line, 0.0), None);
        // Between samples (a planner at 50 Hz): interpolated between t = 0.2 and 0.3, d = 0.0325
        // m (the plan's 0.03125 within the chord), rate 0.25 m/s, acceleration 1 m/s².
        let (d, rate, accel) = prev.lateral_at(10.25, &line, 0.0).expect("on the plan");
        assert!((d - 0.0325).abs() < 1e-6, "{d}");
        assert!((rate - 0.25).abs() < 1e-3, "{rate}");
        assert!((accel - 1.0).abs() < 1e-3, "{accel}");
        assert_eq!(prev.lateral_at(15.0, &line, 12.0), None);
    }

    #[test]
    fn a_cut_in_that_perception_predicts_off_the_road_is_expected_in_the_lane() {
        // Perception's path alone: the motorcycle crosses the ego lane within a second and
        // leaves the road long before the ego gets there, so nothing is in the way.
        let mut config = PlannerConfig::default();
        config.lane_prediction.min_speed = f64::INFINITY;
        let alone = cut_in(&mut Planner::new(config));
        assert!(!alone.had_blocked);
        assert_eq!(alone.aes.state, AesState::Standby);
        // With the lane hypothesis it ends up in the ego lane 25 m ahead at 9 m/s while the
        // ego closes at 7.7 m/s: every plan HAD has meets it.
        let mapped = cut_in(&mut Planner::new(PlannerConfig::default()));
        assert!(mapped.had_blocked);
        assert_eq!(mapped.had_contact.map(|h| h.object), Some(7));
    }

    #[test]
    fn a_somewhat_slow_leader_is_passed_only_once_it_has_been_slow_for_half_a_second() {
        let map = two_lanes();
        // A car 40 m ahead at 16 m/s (0.8 of the limit); the ego at 20 m/s.
        let inputs = |time: f64, id: u64| Inputs {
            time,
            ego: EgoState {
                x: 10.0 + 20.0 * time,
                v: 20.0,
                ..EgoState::default()
            },
            objects: vec![Object {
                id,
                class: crate::types::ObjectClass::Car,
                pose: Pose2 {
                    x: 55.0 + 16.0 * time,
                    y: 0.0,
                    yaw: 0.0,
                },
                length: 4.5,
                width: 1.8,
                vx: 16.0,
                ..Object::default()
            }],
            map: map.clone(),
            ..Inputs::default()
        };
        let mut planner = Planner::new(PlannerConfig::default());
        let behaviour = |planner: &mut Planner, t: f64, id: u64| {
            planner.plan(&inputs(t, id)).unwrap().behaviour
        };
        for t in [0.0, 0.1, 0.2, 0.3] {
            assert!(matches!(
                behaviour(&mut planner, t, 4),
                crate::had::Behaviour::Follow { object: 4 }
            ));
        }
        // Re-identified as another track at 0.4 s: slow since then.
        for t in [0.4, 0.5, 0.6, 0.8] {
            assert!(matches!(
                behaviour(&mut planner, t, 5),
                crate::had::Behaviour::Follow { object: 5 }
            ));
        }
        assert_eq!(
            behaviour(&mut planner, 0.9, 5),
            crate::had::Behaviour::ChangeLane { to: 2 }
        );
        // At 0.6 of the limit (below `pass_at_once`, 0.75) it is passed at once.
        let mut slower = inputs(0.0, 4);
        slower.objects[0].vx = 12.0;
        let out = Planner::new(PlannerConfig::default())
            .plan(&slower)
            .unwrap();
        assert_eq!(out.behaviour, crate::had::Behaviour::ChangeLane { to: 2 });
    }
}
