//! Scenario files (`scenarios/**/*.yaml`): the road, the ego, the actors with their scripted
//! phases, the sensors, the duration and the expected outcome of one simulator test, with
//! parameters that may be swept. `scenarios/README.md` documents the format field by field.
//!
//! Loading expands the sweeps into one [`ScenarioRun`] per combination of parameter values and
//! resolves every `${expression}` to a number, so the runner only sees plain numbers. The
//! model is plain data: it knows nothing of the actor simulation, which maps it.
//!
//! The YAML is walked by hand rather than through serde derives so that every error can name
//! the file and the full field path (`actors[0].phases[1].trigger.ego_ttc`), list the allowed
//! keys or known names, and evaluate expressions where numbers are expected.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};
use thiserror::Error;

use crate::lidar::{LidarParams, VerticalLayout};
use crate::road::{Marking, Road, RoadError, Segment};
use crate::vehicle::VehicleParams;

pub mod arm;

/// Simulation step used when a scenario gives no `step_s` (s).
pub const DEFAULT_STEP_S: f64 = 0.01;

/// Most runs one file may expand into; a larger product is almost surely a typo in a sweep.
pub const MAX_RUNS: usize = 100_000;

/// Names usable as functions in `${...}` expressions.
const FUNCTIONS: [&str; 4] = ["abs", "max", "min", "sqrt"];

/// A scenario file that cannot be read, parsed or expanded. Every variant names the file; the
/// field variants also name the field path.
#[derive(Debug, Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The scenario file.
        file: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid YAML (the message carries line and column).
    #[error("{file}: invalid YAML: {message}")]
    Syntax {
        /// The scenario file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// A field has the wrong type or an out-of-range value.
    #[error("{file}: {path}: {message}")]
    Invalid {
        /// The scenario file.
        file: String,
        /// Field path, e.g. `actors[0].phases[1].trigger.ego_ttc`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A mapping holds a key the format does not know.
    #[error("{file}: {path}: unknown key; allowed keys: {allowed}")]
    UnknownKey {
        /// The scenario file.
        file: String,
        /// Path of the unknown key itself.
        path: String,
        /// The keys allowed at that place, comma separated.
        allowed: String,
    },
    /// A required field is absent.
    #[error("{file}: {path}: missing required field")]
    Missing {
        /// The scenario file.
        file: String,
        /// Path of the missing field.
        path: String,
    },
    /// An actor `kind` that is not one of [`ActorKind::ALL`].
    #[error("{file}: {path}: unknown actor kind `{kind}`; known kinds: {known}")]
    UnknownKind {
        /// The scenario file.
        file: String,
        /// Path of the `kind` field.
        path: String,
        /// The kind given.
        kind: String,
        /// The known kinds, comma separated.
        known: String,
    },
    /// An expression names something that is neither a parameter nor a `let` value.
    #[error("{file}: {path}: unknown name `{name}` in `{expression}`; known names: {known}")]
    UnknownName {
        /// The scenario file.
        file: String,
        /// Path of the field holding the expression.
        path: String,
        /// The unknown name.
        name: String,
        /// The expression as written.
        expression: String,
        /// Parameters and `let` values defined at that point, comma separated.
        known: String,
    },
    /// An expression that does not parse or cannot be evaluated (e.g. division by zero).
    #[error("{file}: {path}: bad expression `{expression}`: {message}")]
    Expression {
        /// The scenario file.
        file: String,
        /// Path of the field holding the expression.
        path: String,
        /// The expression as written.
        expression: String,
        /// What is wrong.
        message: String,
    },
    /// A `--set` override names no parameter of the scenario.
    #[error("{file}: --set {key}: no such parameter; parameters: {known}")]
    UnknownOverride {
        /// The scenario file.
        file: String,
        /// The key given.
        key: String,
        /// The scenario's parameters, comma separated.
        known: String,
    },
    /// A `--set` override whose value is not a number.
    #[error("{file}: --set {key}={value}: expected a number")]
    BadOverride {
        /// The scenario file.
        file: String,
        /// The key given.
        key: String,
        /// The value given.
        value: String,
    },
}

/// One run of a scenario: one combination of the swept parameter values, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioRun {
    /// The scenario with every expression evaluated for this combination.
    pub scenario: Scenario,
    /// The value of every parameter in this run (swept, overridden or default).
    pub params: BTreeMap<String, f64>,
}

impl ScenarioRun {
    /// `name key=value ...` over all parameters, for progress lines and result rows.
    pub fn label(&self) -> String {
        let mut label = self.scenario.name.clone();
        for (key, value) in &self.params {
            label.push_str(&format!(" {key}={value}"));
        }
        label
    }
}

/// A scenario with all values resolved to numbers (one sweep combination).
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Short identifier, e.g. `ccrs`.
    pub name: String,
    /// What the scenario tests, free text.
    pub description: String,
    /// Where it was loaded from (the file path, or the origin given to [`Scenario::parse_str`]).
    pub origin: String,
    /// The declared parameters in file order, with defaults evaluated for this run.
    pub parameters: Vec<Parameter>,
    /// The road.
    pub road: RoadSpec,
    /// The ego vehicle's start and parameters.
    pub ego: EgoSpec,
    /// The other traffic participants and obstructions.
    pub actors: Vec<ActorSpec>,
    /// Sensor configuration.
    pub sensors: SensorSpec,
    /// Simulated duration (s).
    pub duration_s: f64,
    /// Simulation step (s).
    pub step_s: f64,
    /// The outcome the run must show to pass.
    pub expected: Expected,
}

/// A declared scenario parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Name, with its unit as a suffix by convention (`ego_speed_kmh`).
    pub name: String,
    /// Default value; an expression default is evaluated with this run's earlier parameters.
    pub default: f64,
    /// Values to sweep, in order; empty when the parameter is not swept.
    pub sweep: Vec<f64>,
    /// Free-text description.
    pub description: String,
}

/// The road: a reference line of segments with equal lanes beside it (see [`crate::road`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RoadSpec {
    /// Reference-line segments in order, starting at the origin heading along +x.
    pub segments: Vec<Segment>,
    /// Number of lanes (lane 0 is the rightmost).
    pub lane_count: usize,
    /// Width of every lane (m).
    pub lane_width: f64,
    /// Posted speed limit (m/s), if any.
    pub speed_limit: Option<f64>,
    /// Paved shoulder beyond the right edge of lane 0 (m).
    pub shoulder_right: f64,
    /// Paved shoulder beyond the left edge of the leftmost lane (m).
    pub shoulder_left: f64,
    /// Markings per boundary from the right edge, `lane_count + 1` of them; `None` = default.
    pub markings: Option<Vec<Marking>>,
}

impl RoadSpec {
    /// Builds the simulator road.
    pub fn build(&self) -> Result<Road, RoadError> {
        let mut road = Road::new(
            nalgebra::Point2::origin(),
            0.0,
            &self.segments,
            self.lane_count,
            self.lane_width,
        )?;
        if let Some(markings) = &self.markings {
            road = road.with_markings(markings.clone())?;
        }
        road.with_shoulders(self.shoulder_right, self.shoulder_left)
    }

    /// Frenet offset `d` (m) of a lateral position on this road.
    pub fn lateral_d(&self, lateral: Lateral) -> f64 {
        match lateral {
            Lateral::Lane { lane, offset } => (lane as f64 + 0.5) * self.lane_width + offset,
            Lateral::D(d) => d,
        }
    }
}

/// Lateral placement on the road.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lateral {
    /// The centre of lane `lane` (0 = rightmost) plus `offset` (m, positive left).
    Lane {
        /// Lane index.
        lane: usize,
        /// Offset from the lane centre (m, positive left).
        offset: f64,
    },
    /// Absolute Frenet offset from the reference line (m, positive left).
    D(f64),
}

/// Where something starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Position {
    /// Frenet coordinates along the road.
    Frenet {
        /// Arc length along the reference line (m).
        s: f64,
        /// Lateral placement.
        lateral: Lateral,
    },
    /// World coordinates (m), e.g. a pedestrian on a pavement.
    Cartesian {
        /// World x (m).
        x: f64,
        /// World y (m).
        y: f64,
    },
}

/// A start pose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Start {
    /// Position (ego: its front bumper centre; actors: their bounding-box centre).
    pub position: Position,
    /// Yaw (degrees): relative to the road tangent for Frenet starts, to world +x for
    /// Cartesian ones.
    pub heading_deg: f64,
}

/// The ego vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct EgoSpec {
    /// Start pose; `s` is that of the front bumper so gaps to targets read directly.
    pub start: Start,
    /// Initial speed (m/s).
    pub speed: f64,
    /// Vehicle parameters that differ from [`VehicleParams::default`].
    pub vehicle: VehicleOverrides,
}

/// Overrides of [`VehicleParams`] fields by name; the YAML keys are the field names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VehicleOverrides {
    /// (field name, value) in file order; names are checked against [`VEHICLE_FIELDS`].
    pub values: Vec<(String, f64)>,
}

/// The [`VehicleParams`] fields a scenario may override.
pub const VEHICLE_FIELDS: [&str; 20] = [
    "length",
    "width",
    "cg_to_front_axle",
    "cg_to_rear_axle",
    "cg_height",
    "mass",
    "yaw_inertia",
    "cornering_stiffness",
    "friction",
    "max_steering_angle",
    "max_steering_rate",
    "steering_time_constant",
    "max_accel",
    "max_decel",
    "drive_time_constant",
    "speed_gain",
    "max_speed",
    "kinematic_speed",
    "dynamic_speed",
    "kinematic_time_constant",
];

impl VehicleOverrides {
    /// The default parameters with these overrides applied (not validated).
    pub fn params(&self) -> VehicleParams {
        let mut p = VehicleParams::default();
        for (name, value) in &self.values {
            let field = match name.as_str() {
                "length" => &mut p.length,
                "width" => &mut p.width,
                "cg_to_front_axle" => &mut p.cg_to_front_axle,
                "cg_to_rear_axle" => &mut p.cg_to_rear_axle,
                "cg_height" => &mut p.cg_height,
                "mass" => &mut p.mass,
                "yaw_inertia" => &mut p.yaw_inertia,
                "cornering_stiffness" => &mut p.cornering_stiffness,
                "friction" => &mut p.friction,
                "max_steering_angle" => &mut p.max_steering_angle,
                "max_steering_rate" => &mut p.max_steering_rate,
                "steering_time_constant" => &mut p.steering_time_constant,
                "max_accel" => &mut p.max_accel,
                "max_decel" => &mut p.max_decel,
                "drive_time_constant" => &mut p.drive_time_constant,
                "speed_gain" => &mut p.speed_gain,
                "max_speed" => &mut p.max_speed,
                "kinematic_speed" => &mut p.kinematic_speed,
                "dynamic_speed" => &mut p.dynamic_speed,
                "kinematic_time_constant" => &mut p.kinematic_time_constant,
                // Names are checked on load; an unknown one can only come from hand-built data.
                _ => continue,
            };
            *field = *value;
        }
        p
    }
}

/// Kind of actor (one type with the simulator's, which gives each its size and class).
pub use crate::actors::ActorKind;

/// Box size overriding the kind's default (m).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    /// Length along the actor's heading (m).
    pub length: f64,
    /// Width (m).
    pub width: f64,
    /// Height (m).
    pub height: f64,
}

/// An actor of the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ActorSpec {
    /// Unique identifier within the scenario.
    pub id: String,
    /// What it is.
    pub kind: ActorKind,
    /// Start pose (bounding-box centre).
    pub start: Start,
    /// Initial speed along its heading (m/s).
    pub speed: f64,
    /// Box size overriding the kind's default, if given.
    pub size: Option<Size>,
    /// Scripted behaviour, in order; empty means keep the initial speed forever.
    pub phases: Vec<Phase>,
}

/// One step of an actor's script.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// When the phase starts; `None` starts it when the previous phase completes (the first
    /// phase: at t = 0).
    pub trigger: Option<Trigger>,
    /// What the actor does.
    pub action: Action,
}

/// Condition that starts a phase (it fires once, the first step it holds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// Simulation time reaches this value (s).
    Time(f64),
    /// The bumper-to-bumper gap along the road between the ego and the actor (|Δs| of the box
    /// centres less half of each length, the actor's taken along its heading) is at or below
    /// this value (m), on either side.
    EgoDistance(f64),
    /// The longitudinal time to collision between the ego and the actor (that gap over the
    /// closing speed, infinite unless closing) is at or below this value (s).
    EgoTtc(f64),
}

/// Where a crossing actor walks or rides to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CrossTarget {
    /// Perpendicular to the road to this Frenet offset (m).
    D(f64),
    /// Straight to this world point (m).
    Point {
        /// World x (m).
        x: f64,
        /// World y (m).
        y: f64,
    },
}

/// A Frenet waypoint with the speed to have on reaching it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Waypoint {
    /// Arc length (m).
    pub s: f64,
    /// Lateral placement.
    pub lateral: Lateral,
    /// Speed on reaching it (m/s).
    pub speed: f64,
}

/// What an actor does during a phase. "Completes" says when an untriggered next phase starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Hold the current speed and lane; never completes.
    KeepSpeed,
    /// Change speed to `speed` (m/s) at `accel` (m/s², magnitude, used for both directions);
    /// completes on reaching it.
    AccelerateTo {
        /// Target speed (m/s).
        speed: f64,
        /// Acceleration magnitude (m/s²).
        accel: f64,
    },
    /// Brake at `decel` (m/s², positive) down to `to_speed` (m/s); completes on reaching it.
    Brake {
        /// Deceleration (m/s², positive).
        decel: f64,
        /// Final speed (m/s).
        to_speed: f64,
        /// Rate at which the deceleration builds up (m/s³); `None` applies it at once.
        jerk: Option<f64>,
    },
    /// Move to lane `to_lane` (plus `offset`) over `duration` (s) at the current speed;
    /// completes when there.
    LaneChange {
        /// Destination lane.
        to_lane: usize,
        /// Offset from the destination lane centre (m, positive left).
        offset: f64,
        /// Time the lateral move takes (s).
        duration: f64,
    },
    /// Cross the road from the start position; completes on arrival.
    Cross {
        /// Destination.
        to: CrossTarget,
        /// Steady walking or riding speed (m/s).
        speed: f64,
        /// Distance over which it accelerates from rest to `speed` (m); 0 = at once.
        accel_distance: f64,
    },
    /// Follow the ego in its lane, reacting to its braking; never completes.
    FollowEgo {
        /// Desired time gap to the ego (s).
        time_gap: f64,
        /// Delay before it reacts to the ego's braking (s).
        reaction_time: f64,
        /// Strongest deceleration it uses (m/s², positive).
        max_decel: f64,
    },
    /// Stand still (stop at once); never completes.
    Stand,
    /// Drive through Frenet waypoints, reaching each at its speed; completes at the last.
    Waypoints(Vec<Waypoint>),
}

impl Action {
    /// Whether the action ends by itself, letting an untriggered next phase start.
    pub fn completes(&self) -> bool {
        !matches!(
            self,
            Action::KeepSpeed | Action::Stand | Action::FollowEgo { .. }
        )
    }

    /// The action's name in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            Action::KeepSpeed => "keep_speed",
            Action::AccelerateTo { .. } => "accelerate_to",
            Action::Brake { .. } => "brake",
            Action::LaneChange { .. } => "lane_change",
            Action::Cross { .. } => "cross",
            Action::FollowEgo { .. } => "follow_ego",
            Action::Stand => "stand",
            Action::Waypoints(_) => "waypoints",
        }
    }
}

/// Sensor configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SensorSpec {
    /// The 3D lidar.
    pub lidar: LidarSpec,
    /// Odometry noise.
    pub odometry: OdometryNoise,
    /// IMU noise.
    pub imu: ImuNoise,
    /// Seed of the odometry and IMU noise streams.
    pub noise_seed: u64,
}

/// Lidar settings; `None` keeps the [`LidarParams`] default (an HDL-32E at 10 Hz).
#[derive(Debug, Clone, PartialEq)]
pub struct LidarSpec {
    /// Whether the lidar runs at all.
    pub enabled: bool,
    /// Whether a 2D `LaserScan` is cut from it too.
    pub laser_scan: bool,
    /// Number of channels, spread evenly between the elevation bounds.
    pub channels: Option<usize>,
    /// Elevation of the lowest channel (degrees).
    pub min_elevation_deg: Option<f64>,
    /// Elevation of the highest channel (degrees).
    pub max_elevation_deg: Option<f64>,
    /// Horizontal field of view (degrees).
    pub horizontal_fov_deg: Option<f64>,
    /// Azimuth step (degrees).
    pub azimuth_resolution_deg: Option<f64>,
    /// Minimum reported range (m).
    pub min_range: Option<f64>,
    /// Maximum range (m).
    pub max_range: Option<f64>,
    /// Rotation rate (Hz).
    pub rate_hz: Option<f64>,
    /// Range noise standard deviation (m).
    pub range_noise_sigma: Option<f64>,
    /// Probability that a return is lost.
    pub dropout_probability: Option<f64>,
    /// Noise and dropout seed.
    pub seed: Option<u64>,
}

impl Default for LidarSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            laser_scan: false,
            channels: None,
            min_elevation_deg: None,
            max_elevation_deg: None,
            horizontal_fov_deg: None,
            azimuth_resolution_deg: None,
            min_range: None,
            max_range: None,
            rate_hz: None,
            range_noise_sigma: None,
            dropout_probability: None,
            seed: None,
        }
    }
}

impl LidarSpec {
    /// The lidar parameters: the defaults with this spec's values applied (not validated).
    pub fn params(&self) -> LidarParams {
        let mut p = LidarParams::default();
        if self.channels.is_some()
            || self.min_elevation_deg.is_some()
            || self.max_elevation_deg.is_some()
        {
            let (channels, min_deg, max_deg) = match &p.vertical {
                VerticalLayout::Uniform {
                    channels,
                    min_deg,
                    max_deg,
                } => (*channels, *min_deg, *max_deg),
                VerticalLayout::Explicit(e) => (
                    e.len(),
                    e.iter().copied().fold(f64::INFINITY, f64::min),
                    e.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                ),
            };
            p.vertical = VerticalLayout::Uniform {
                channels: self.channels.unwrap_or(channels),
                min_deg: self.min_elevation_deg.unwrap_or(min_deg),
                max_deg: self.max_elevation_deg.unwrap_or(max_deg),
            };
        }
        let set = |target: &mut f64, value: Option<f64>| {
            if let Some(v) = value {
                *target = v;
            }
        };
        set(&mut p.horizontal_fov_deg, self.horizontal_fov_deg);
        set(&mut p.azimuth_resolution_deg, self.azimuth_resolution_deg);
        set(&mut p.min_range, self.min_range);
        set(&mut p.max_range, self.max_range);
        set(&mut p.rate_hz, self.rate_hz);
        set(&mut p.range_noise_sigma, self.range_noise_sigma);
        set(&mut p.dropout_probability, self.dropout_probability);
        if let Some(seed) = self.seed {
            p.seed = seed;
        }
        p
    }
}

/// Odometry noise standard deviations (0 = exact).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OdometryNoise {
    /// Position noise (m).
    pub position_sigma: f64,
    /// Velocity noise (m/s).
    pub velocity_sigma: f64,
    /// Yaw noise (rad).
    pub yaw_sigma: f64,
}

/// IMU noise standard deviations (0 = exact).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ImuNoise {
    /// Linear acceleration noise (m/s²).
    pub accel_sigma: f64,
    /// Angular velocity noise (rad/s).
    pub gyro_sigma: f64,
}

/// The outcome a run must show; `None` fields are not checked.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Expected {
    /// Whether the ego collides with anything.
    pub collision: Option<bool>,
    /// Smallest allowed gap between the ego and any actor (m).
    pub min_gap_m: Option<f64>,
    /// Largest allowed impact speed (km/h), for mitigation goals.
    pub max_impact_speed_kmh: Option<f64>,
    /// Largest allowed ego deceleration (m/s²).
    pub max_decel: Option<f64>,
    /// Largest allowed ego lateral acceleration (m/s²).
    pub max_lat_accel: Option<f64>,
    /// Largest allowed side slip at the ego's rear axle (degrees): the car must not slide or spin.
    pub max_rear_slip_deg: Option<f64>,
    /// Whether other traffic may collide (e.g. a follower running into the ego counts).
    pub other_collisions: Option<bool>,
}

impl Scenario {
    /// Reads a scenario file and expands it into runs; `overrides` are `--set key=value`
    /// pairs that fix a parameter (and disable its sweep).
    pub fn load(
        path: impl AsRef<Path>,
        overrides: &[(String, String)],
    ) -> Result<Vec<ScenarioRun>, ScenarioError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            file: file.clone(),
            source,
        })?;
        Self::parse_str_with(&text, &file, overrides)
    }

    /// Parses scenario text with its default parameters and sweeps; `origin` names it in errors.
    pub fn parse_str(text: &str, origin: &str) -> Result<Vec<ScenarioRun>, ScenarioError> {
        Self::parse_str_with(text, origin, &[])
    }

    /// Parses scenario text with `--set` overrides; `origin` names it in errors.
    pub fn parse_str_with(
        text: &str,
        origin: &str,
        overrides: &[(String, String)],
    ) -> Result<Vec<ScenarioRun>, ScenarioError> {
        let root = parse_yaml(text, origin)?;
        if world_of(&root, origin)? == World::Arm {
            return Err(ScenarioError::Invalid {
                file: origin.to_string(),
                path: "world".into(),
                message: "an arm scenario; this loader reads vehicle scenarios \
                          (scenario::load_runs reads both)"
                    .into(),
            });
        }
        expand(&root, origin, overrides, TOP_KEYS, |cx, top, parameters| {
            cx.scenario(top, origin, parameters)
        })
        .map(|runs| {
            runs.into_iter()
                .map(|(scenario, params)| ScenarioRun { scenario, params })
                .collect()
        })
    }
}

/// Which world a scenario file describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// Roads, an ego vehicle and actors (the default).
    Vehicle,
    /// An arm at a table (`world: arm`, or a top-level `arm:` section).
    Arm,
}

/// One run of a scenario file of either world.
#[derive(Debug, Clone, PartialEq)]
pub enum WorldRun {
    /// A vehicle-world run.
    Vehicle(ScenarioRun),
    /// An arm-world run.
    Arm(arm::ArmScenarioRun),
}

impl WorldRun {
    /// `name key=value ...`, for progress lines.
    pub fn label(&self) -> String {
        match self {
            WorldRun::Vehicle(r) => r.label(),
            WorldRun::Arm(r) => r.label(),
        }
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        match self {
            WorldRun::Vehicle(r) => &r.scenario.name,
            WorldRun::Arm(r) => &r.scenario.name,
        }
    }
}

/// Reads a scenario file of either world and expands it into runs.
pub fn load_runs(
    path: impl AsRef<Path>,
    overrides: &[(String, String)],
) -> Result<Vec<WorldRun>, ScenarioError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        file: file.clone(),
        source,
    })?;
    parse_runs(&text, &file, overrides)
}

/// Parses scenario text of either world; `origin` names it in errors, and relative paths in
/// it (an arm's URDF) resolve against its directory.
pub fn parse_runs(
    text: &str,
    origin: &str,
    overrides: &[(String, String)],
) -> Result<Vec<WorldRun>, ScenarioError> {
    let root = parse_yaml(text, origin)?;
    Ok(match world_of(&root, origin)? {
        World::Vehicle => Scenario::parse_str_with(text, origin, overrides)?
            .into_iter()
            .map(WorldRun::Vehicle)
            .collect(),
        World::Arm => arm::parse(&root, origin, overrides)?
            .into_iter()
            .map(WorldRun::Arm)
            .collect(),
    })
}

fn parse_yaml(text: &str, origin: &str) -> Result<Value, ScenarioError> {
    serde_yaml_ng::from_str(text).map_err(|e| ScenarioError::Syntax {
        file: origin.to_string(),
        message: e.to_string(),
    })
}

/// The `world:` of a file: `vehicle` or `arm`; without one, a top-level `arm:` makes it an
/// arm scenario.
fn world_of(root: &Value, origin: &str) -> Result<World, ScenarioError> {
    let Value::Mapping(map) = root else {
        return Ok(World::Vehicle);
    };
    match map.get("world") {
        None if map.contains_key("arm") => Ok(World::Arm),
        None => Ok(World::Vehicle),
        Some(Value::String(w)) if w == "vehicle" => Ok(World::Vehicle),
        Some(Value::String(w)) if w == "arm" => Ok(World::Arm),
        Some(other) => Err(ScenarioError::Invalid {
            file: origin.to_string(),
            path: "world".into(),
            message: format!("expected `vehicle` or `arm`, got {}", describe(other)),
        }),
    }
}

/// One built value per run, with that run's parameter values.
type Expanded<T> = Vec<(T, BTreeMap<String, f64>)>;

/// Expands the parameters and sweeps of a parsed file into one `build` result per
/// combination, with that combination's parameter values; both worlds share it.
fn expand<T>(
    root: &Value,
    origin: &str,
    overrides: &[(String, String)],
    top_keys: &[&str],
    build: impl Fn(&Cx, &Obj, Vec<Parameter>) -> Result<T, ScenarioError>,
) -> Result<Expanded<T>, ScenarioError> {
    let cx = Cx {
        file: origin,
        vars: BTreeMap::new(),
    };
    let top = cx.object(root, "", top_keys)?;
    let params = cx.parameters(top.get("parameters"))?;
    let fixed = cx.overrides(&params, overrides)?;
    let combos = combinations(&cx, &params, &fixed)?;
    let mut runs = Vec::with_capacity(combos.len());
    for combo in combos {
        let mut cx = Cx {
            file: origin,
            vars: BTreeMap::new(),
        };
        let mut values = BTreeMap::new();
        let mut resolved = Vec::with_capacity(params.len());
        for (param, choice) in params.iter().zip(&combo) {
            let default = match &param.default {
                RawDefault::Number(v) => *v,
                RawDefault::Expr(e) => cx.eval(e, &param.default_path)?,
            };
            let value = match choice {
                Choice::Value(v) => *v,
                Choice::Default => default,
            };
            cx.vars.insert(param.name.clone(), value);
            values.insert(param.name.clone(), value);
            resolved.push(Parameter {
                name: param.name.clone(),
                default,
                sweep: param.sweep.clone(),
                description: param.description.clone(),
            });
        }
        cx.lets(top.get("let"), &values)?;
        let built = build(&cx, &top, resolved)?;
        runs.push((built, values));
    }
    Ok(runs)
}

/// Splits a `--set` argument `key=value` into its parts.
pub fn parse_set(arg: &str) -> Option<(String, String)> {
    let (key, value) = arg.split_once('=')?;
    let key = key.trim();
    (!key.is_empty()).then(|| (key.to_string(), value.trim().to_string()))
}

const TOP_KEYS: &[&str] = &[
    "name",
    "world",
    "description",
    "parameters",
    "let",
    "road",
    "ego",
    "actors",
    "sensors",
    "duration_s",
    "step_s",
    "expected",
];

/// A parameter as declared, before any run fixes its value.
struct RawParam {
    name: String,
    default: RawDefault,
    default_path: String,
    sweep: Vec<f64>,
    description: String,
}

enum RawDefault {
    Number(f64),
    /// An expression over earlier parameters, evaluated per run.
    Expr(String),
}

/// How one parameter gets its value in one run.
#[derive(Clone, Copy)]
enum Choice {
    Value(f64),
    Default,
}

/// Cartesian product over the swept parameters in declaration order, the first varying slowest.
fn combinations(
    cx: &Cx,
    params: &[RawParam],
    fixed: &BTreeMap<String, f64>,
) -> Result<Vec<Vec<Choice>>, ScenarioError> {
    let axes: Vec<Vec<Choice>> = params
        .iter()
        .map(|p| match fixed.get(&p.name) {
            Some(v) => vec![Choice::Value(*v)],
            None if !p.sweep.is_empty() => p.sweep.iter().map(|v| Choice::Value(*v)).collect(),
            None => vec![Choice::Default],
        })
        .collect();
    let total = axes
        .iter()
        .try_fold(1usize, |n, axis| n.checked_mul(axis.len()))
        .filter(|n| *n <= MAX_RUNS);
    let Some(total) = total else {
        return Err(cx.invalid(
            "parameters",
            format!("the sweeps expand into more than {MAX_RUNS} runs"),
        ));
    };
    let mut combos = Vec::with_capacity(total);
    for mut index in 0..total {
        let mut combo = vec![Choice::Default; axes.len()];
        for (slot, axis) in combo.iter_mut().zip(&axes).rev() {
            *slot = axis[index % axis.len()];
            index /= axis.len();
        }
        combos.push(combo);
    }
    Ok(combos)
}

/// A mapping being read, with its path for errors.
struct Obj<'v> {
    map: &'v Mapping,
    path: String,
}

impl<'v> Obj<'v> {
    fn get(&self, key: &str) -> Option<&'v Value> {
        self.map.get(key)
    }

    fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A short description of a YAML value for "expected X, got Y" messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reading context: the file name for errors and the names expressions may use.
struct Cx<'a> {
    file: &'a str,
    vars: BTreeMap<String, f64>,
}

impl Cx<'_> {
    fn invalid(&self, path: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            file: self.file.to_string(),
            path: if path.is_empty() {
                "(top level)".into()
            } else {
                path.to_string()
            },
            message: message.into(),
        }
    }

    fn missing(&self, path: String) -> ScenarioError {
        ScenarioError::Missing {
            file: self.file.to_string(),
            path,
        }
    }

    /// Checks `value` is a mapping whose keys are all in `allowed`.
    fn object<'v>(
        &self,
        value: &'v Value,
        path: &str,
        allowed: &[&str],
    ) -> Result<Obj<'v>, ScenarioError> {
        let Value::Mapping(map) = value else {
            return Err(self.invalid(
                path,
                format!(
                    "expected a mapping with keys {}, got {}",
                    allowed.join(", "),
                    describe(value)
                ),
            ));
        };
        for key in map.keys() {
            let Value::String(key) = key else {
                return Err(
                    self.invalid(path, format!("keys must be strings, got {}", describe(key)))
                );
            };
            if !allowed.contains(&key.as_str()) {
                return Err(ScenarioError::UnknownKey {
                    file: self.file.to_string(),
                    path: join(path, key),
                    allowed: allowed.join(", "),
                });
            }
        }
        Ok(Obj {
            map,
            path: path.to_string(),
        })
    }

    fn req<'v>(&self, obj: &Obj<'v>, key: &str) -> Result<&'v Value, ScenarioError> {
        obj.get(key).ok_or_else(|| self.missing(obj.path(key)))
    }

    /// A list, or an error naming the field.
    fn list<'v>(&self, value: &'v Value, path: &str) -> Result<&'v [Value], ScenarioError> {
        match value {
            Value::Sequence(items) => Ok(items),
            other => Err(self.invalid(path, format!("expected a list, got {}", describe(other)))),
        }
    }

    /// A number: a YAML number or a `${expression}` string.
    fn number(&self, value: &Value, path: &str) -> Result<f64, ScenarioError> {
        let v = match value {
            Value::Number(n) => n.as_f64().ok_or_else(|| {
                self.invalid(path, format!("expected a number, got {}", describe(value)))
            })?,
            Value::String(s) => match expression_body(s) {
                Some(body) => self.eval(body, path)?,
                None => {
                    return Err(
                        self.invalid(path, format!("expected a number, got {}", describe(value)))
                    );
                }
            },
            other => {
                return Err(
                    self.invalid(path, format!("expected a number, got {}", describe(other)))
                );
            }
        };
        if v.is_finite() {
            Ok(v)
        } else {
            Err(self.invalid(path, format!("expected a finite number, got {v}")))
        }
    }

    fn num(&self, obj: &Obj, key: &str) -> Result<f64, ScenarioError> {
        self.number(self.req(obj, key)?, &obj.path(key))
    }

    fn num_opt(&self, obj: &Obj, key: &str) -> Result<Option<f64>, ScenarioError> {
        obj.get(key)
            .map(|v| self.number(v, &obj.path(key)))
            .transpose()
    }

    /// A number that must satisfy `ok`, described by `rule` in the error.
    fn checked(
        &self,
        obj: &Obj,
        key: &str,
        default: Option<f64>,
        rule: Rule,
    ) -> Result<f64, ScenarioError> {
        let value = match (self.num_opt(obj, key)?, default) {
            (Some(v), _) => v,
            (None, Some(d)) => return Ok(d),
            (None, None) => return Err(self.missing(obj.path(key))),
        };
        self.rule(value, &obj.path(key), rule)
    }

    fn checked_opt(&self, obj: &Obj, key: &str, rule: Rule) -> Result<Option<f64>, ScenarioError> {
        self.num_opt(obj, key)?
            .map(|v| self.rule(v, &obj.path(key), rule))
            .transpose()
    }

    fn rule(&self, value: f64, path: &str, rule: Rule) -> Result<f64, ScenarioError> {
        let ok = match rule {
            Rule::Positive => value > 0.0,
            Rule::NonNegative => value >= 0.0,
        };
        if ok {
            Ok(value)
        } else {
            let what = match rule {
                Rule::Positive => "> 0",
                Rule::NonNegative => ">= 0",
            };
            Err(self.invalid(path, format!("must be {what}, got {value}")))
        }
    }

    /// A non-negative whole number (lane index, channel count).
    fn index(&self, value: &Value, path: &str) -> Result<usize, ScenarioError> {
        let v = self.number(value, path)?;
        if v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64 {
            Ok(v as usize)
        } else {
            Err(self.invalid(path, format!("expected a whole number >= 0, got {v}")))
        }
    }

    fn boolean(&self, value: &Value, path: &str) -> Result<bool, ScenarioError> {
        match value {
            Value::Bool(b) => Ok(*b),
            other => Err(self.invalid(
                path,
                format!("expected true or false, got {}", describe(other)),
            )),
        }
    }

    fn bool_opt(&self, obj: &Obj, key: &str) -> Result<Option<bool>, ScenarioError> {
        obj.get(key)
            .map(|v| self.boolean(v, &obj.path(key)))
            .transpose()
    }

    fn string(&self, value: &Value, path: &str) -> Result<String, ScenarioError> {
        match value {
            Value::String(s) => Ok(s.clone()),
            // A bare number or word is a fine name or id; YAML just typed it.
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(self.invalid(path, format!("expected text, got {}", describe(other)))),
        }
    }

    /// Evaluates an expression body (without `${` `}`) against the known names.
    fn eval(&self, body: &str, path: &str) -> Result<f64, ScenarioError> {
        evaluate(body, &self.vars).map_err(|e| match e {
            ExprError::UnknownName(name) => ScenarioError::UnknownName {
                file: self.file.to_string(),
                path: path.to_string(),
                name,
                expression: format!("${{{body}}}"),
                known: if self.vars.is_empty() {
                    "(none)".into()
                } else {
                    self.vars.keys().cloned().collect::<Vec<_>>().join(", ")
                },
            },
            ExprError::Invalid(message) => ScenarioError::Expression {
                file: self.file.to_string(),
                path: path.to_string(),
                expression: format!("${{{body}}}"),
                message,
            },
        })
    }

    fn parameters(&self, value: Option<&Value>) -> Result<Vec<RawParam>, ScenarioError> {
        let Some(value) = value else {
            return Ok(Vec::new());
        };
        let Value::Mapping(map) = value else {
            return Err(self.invalid(
                "parameters",
                format!(
                    "expected a mapping of parameter names, got {}",
                    describe(value)
                ),
            ));
        };
        let mut params = Vec::with_capacity(map.len());
        for (key, spec) in map {
            let name = match key {
                Value::String(s) if is_identifier(s) => s.clone(),
                other => {
                    return Err(self.invalid(
                        "parameters",
                        format!(
                            "parameter names must be identifiers (letters, digits, _), got {}",
                            describe(other)
                        ),
                    ));
                }
            };
            let path = join("parameters", &name);
            let (default_value, default_path, sweep, description) = match spec {
                Value::Mapping(_) => {
                    let obj = self.object(spec, &path, &["default", "sweep", "description"])?;
                    let default = self.req(&obj, "default")?;
                    let sweep = match obj.get("sweep") {
                        Some(v) => self.sweep(v, &obj.path("sweep"))?,
                        None => Vec::new(),
                    };
                    let description = match obj.get("description") {
                        Some(v) => self.string(v, &obj.path("description"))?,
                        None => String::new(),
                    };
                    (default, obj.path("default"), sweep, description)
                }
                other => (other, path.clone(), Vec::new(), String::new()),
            };
            let default = match default_value {
                Value::Number(n) => match n.as_f64().filter(|v| v.is_finite()) {
                    Some(v) => RawDefault::Number(v),
                    None => {
                        return Err(self
                            .invalid(&default_path, format!("expected a finite number, got {n}")));
                    }
                },
                Value::String(s) => match expression_body(s) {
                    Some(body) => RawDefault::Expr(body.to_string()),
                    None => {
                        return Err(self.invalid(
                            &default_path,
                            format!(
                                "expected a number or a ${{expression}}, got {}",
                                describe(default_value)
                            ),
                        ));
                    }
                },
                other => {
                    return Err(self.invalid(
                        &default_path,
                        format!(
                            "expected a number or a mapping with default, sweep, description; got {}",
                            describe(other)
                        ),
                    ));
                }
            };
            params.push(RawParam {
                name,
                default,
                default_path,
                sweep,
                description,
            });
        }
        Ok(params)
    }

    /// A sweep: a list of plain numbers or `{from, to, step}` (inclusive).
    fn sweep(&self, value: &Value, path: &str) -> Result<Vec<f64>, ScenarioError> {
        // Sweep values are plain numbers: they define the runs, so nothing may depend on them.
        let plain = |v: &Value, p: &str| match v {
            Value::Number(n) => n
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| self.invalid(p, format!("expected a finite number, got {n}"))),
            other => Err(self.invalid(
                p,
                format!(
                    "sweep values must be plain numbers, got {}",
                    describe(other)
                ),
            )),
        };
        let values = match value {
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| plain(v, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
            Value::Mapping(_) => {
                let obj = self.object(value, path, &["from", "to", "step"])?;
                let field = |key: &str| {
                    obj.get(key)
                        .ok_or_else(|| self.missing(obj.path(key)))
                        .and_then(|v| plain(v, &obj.path(key)))
                };
                let (from, to, step) = (field("from")?, field("to")?, field("step")?);
                if step <= 0.0 || to < from {
                    return Err(self.invalid(
                        path,
                        format!(
                            "need step > 0 and to >= from, got from {from}, to {to}, step {step}"
                        ),
                    ));
                }
                // Counting steps (not adding them up) keeps 0.1-steps from drifting past `to`.
                let n = ((to - from) / step + 1e-9).floor() as usize;
                if n >= MAX_RUNS {
                    return Err(self.invalid(path, format!("more than {MAX_RUNS} values")));
                }
                (0..=n).map(|i| from + i as f64 * step).collect()
            }
            other => {
                return Err(self.invalid(
                    path,
                    format!(
                        "expected a list of numbers or {{from, to, step}}, got {}",
                        describe(other)
                    ),
                ));
            }
        };
        if values.is_empty() {
            return Err(self.invalid(path, "a sweep needs at least one value"));
        }
        Ok(values)
    }

    fn overrides(
        &self,
        params: &[RawParam],
        overrides: &[(String, String)],
    ) -> Result<BTreeMap<String, f64>, ScenarioError> {
        let mut fixed = BTreeMap::new();
        for (key, value) in overrides {
            if !params.iter().any(|p| &p.name == key) {
                return Err(ScenarioError::UnknownOverride {
                    file: self.file.to_string(),
                    key: key.clone(),
                    known: if params.is_empty() {
                        "(none)".into()
                    } else {
                        params
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                });
            }
            let v = value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| ScenarioError::BadOverride {
                    file: self.file.to_string(),
                    key: key.clone(),
                    value: value.clone(),
                })?;
            fixed.insert(key.clone(), v);
        }
        Ok(fixed)
    }

    /// `let:` values: named expressions over the parameters and earlier `let` values.
    fn lets(
        &mut self,
        value: Option<&Value>,
        params: &BTreeMap<String, f64>,
    ) -> Result<(), ScenarioError> {
        let Some(value) = value else {
            return Ok(());
        };
        let Value::Mapping(map) = value else {
            return Err(self.invalid(
                "let",
                format!(
                    "expected a mapping of names to values, got {}",
                    describe(value)
                ),
            ));
        };
        for (key, expr) in map {
            let name = match key {
                Value::String(s) if is_identifier(s) => s.clone(),
                other => {
                    return Err(self.invalid(
                        "let",
                        format!("names must be identifiers, got {}", describe(other)),
                    ));
                }
            };
            let path = join("let", &name);
            if params.contains_key(&name) || self.vars.contains_key(&name) {
                return Err(self.invalid(&path, "already defined (as a parameter or above)"));
            }
            let v = self.number(expr, &path)?;
            self.vars.insert(name, v);
        }
        Ok(())
    }

    fn scenario(
        &self,
        top: &Obj,
        origin: &str,
        parameters: Vec<Parameter>,
    ) -> Result<Scenario, ScenarioError> {
        let name = self.string(self.req(top, "name")?, "name")?;
        if name.trim().is_empty() {
            return Err(self.invalid("name", "must not be empty"));
        }
        let description = match top.get("description") {
            Some(v) => self.string(v, "description")?,
            None => String::new(),
        };
        let road = self.road(self.req(top, "road")?)?;
        let ego = self.ego(self.req(top, "ego")?, &road)?;
        let actors = match top.get("actors") {
            Some(v) => self.actors(v, &road)?,
            None => Vec::new(),
        };
        let sensors = match top.get("sensors") {
            Some(v) => self.sensors(v)?,
            None => SensorSpec::default(),
        };
        let duration_s = self.checked(top, "duration_s", None, Rule::Positive)?;
        let step_s = self.checked(top, "step_s", Some(DEFAULT_STEP_S), Rule::Positive)?;
        if step_s > duration_s {
            return Err(self.invalid(
                "step_s",
                format!("the step {step_s} s is longer than duration_s {duration_s} s"),
            ));
        }
        let expected = match top.get("expected") {
            Some(v) => self.expected(v)?,
            None => Expected::default(),
        };
        Ok(Scenario {
            name,
            description,
            origin: origin.to_string(),
            parameters,
            road,
            ego,
            actors,
            sensors,
            duration_s,
            step_s,
            expected,
        })
    }

    fn road(&self, value: &Value) -> Result<RoadSpec, ScenarioError> {
        let obj = self.object(
            value,
            "road",
            &[
                "segments",
                "lane_count",
                "lane_width",
                "speed_limit",
                "shoulder_right",
                "shoulder_left",
                "markings",
            ],
        )?;
        let items = self.list(self.req(&obj, "segments")?, "road.segments")?;
        if items.is_empty() {
            return Err(self.invalid("road.segments", "a road needs at least one segment"));
        }
        let segments = items
            .iter()
            .enumerate()
            .map(|(i, v)| self.segment(v, &format!("road.segments[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let lane_count = self.index(self.req(&obj, "lane_count")?, "road.lane_count")?;
        if lane_count == 0 {
            return Err(self.invalid("road.lane_count", "a road needs at least one lane"));
        }
        let markings = match obj.get("markings") {
            Some(v) => {
                let items = self.list(v, "road.markings")?;
                if items.len() != lane_count + 1 {
                    return Err(self.invalid(
                        "road.markings",
                        format!(
                            "expected {} markings (one per lane boundary from the right edge), got {}",
                            lane_count + 1,
                            items.len()
                        ),
                    ));
                }
                let marks = items
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        let path = format!("road.markings[{i}]");
                        match m.as_str() {
                            Some("none") => Ok(Marking::None),
                            Some("solid") => Ok(Marking::Solid),
                            Some("dashed") => Ok(Marking::Dashed),
                            _ => Err(self.invalid(
                                &path,
                                format!("expected none, solid or dashed, got {}", describe(m)),
                            )),
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Some(marks)
            }
            None => None,
        };
        let spec = RoadSpec {
            segments,
            lane_count,
            lane_width: self.checked(&obj, "lane_width", None, Rule::Positive)?,
            speed_limit: self.checked_opt(&obj, "speed_limit", Rule::Positive)?,
            shoulder_right: self.checked(&obj, "shoulder_right", Some(0.0), Rule::NonNegative)?,
            shoulder_left: self.checked(&obj, "shoulder_left", Some(0.0), Rule::NonNegative)?,
            markings,
        };
        // Building it here reports tight arcs and the like against the scenario file.
        spec.build()
            .map_err(|e| self.invalid("road", e.to_string()))?;
        Ok(spec)
    }

    fn segment(&self, value: &Value, path: &str) -> Result<Segment, ScenarioError> {
        let obj = self.object(value, path, &["straight", "arc"])?;
        match (obj.get("straight"), obj.get("arc")) {
            (Some(length), None) => {
                let length = self.number(length, &obj.path("straight"))?;
                let length = self.rule(length, &obj.path("straight"), Rule::Positive)?;
                Ok(Segment::Straight { length })
            }
            (None, Some(arc)) => {
                let arc_path = obj.path("arc");
                let arc = self.object(arc, &arc_path, &["length", "radius", "curvature"])?;
                let length = self.checked(&arc, "length", None, Rule::Positive)?;
                let curvature = match (arc.has("radius"), arc.has("curvature")) {
                    (true, false) => {
                        let radius = self.num(&arc, "radius")?;
                        if radius == 0.0 {
                            return Err(self.invalid(
                                &arc.path("radius"),
                                "must not be 0 (positive turns left, negative right)",
                            ));
                        }
                        1.0 / radius
                    }
                    (false, true) => self.num(&arc, "curvature")?,
                    _ => {
                        return Err(self.invalid(
                            &arc_path,
                            "give exactly one of radius (m, positive turns left) or curvature (1/m)",
                        ));
                    }
                };
                Ok(Segment::Arc { length, curvature })
            }
            _ => Err(self.invalid(
                path,
                "expected exactly one of `straight: LENGTH` or `arc: {length, radius}`",
            )),
        }
    }

    fn lateral(&self, obj: &Obj, road: &RoadSpec) -> Result<Option<Lateral>, ScenarioError> {
        match (obj.has("lane"), obj.has("d")) {
            (true, true) => Err(self.invalid(&obj.path, "give `lane` or `d`, not both")),
            (true, false) => {
                let lane = self.index(self.req(obj, "lane")?, &obj.path("lane"))?;
                if lane >= road.lane_count {
                    return Err(self.invalid(
                        &obj.path("lane"),
                        format!(
                            "lane {lane} does not exist; the road has {} lane(s), 0 = rightmost",
                            road.lane_count
                        ),
                    ));
                }
                let offset = self.num_opt(obj, "offset")?.unwrap_or(0.0);
                Ok(Some(Lateral::Lane { lane, offset }))
            }
            (false, true) => {
                if obj.has("offset") {
                    return Err(self.invalid(
                        &obj.path("offset"),
                        "`offset` is relative to a lane centre; use it with `lane`, not `d`",
                    ));
                }
                Ok(Some(Lateral::D(self.num(obj, "d")?)))
            }
            (false, false) => Ok(None),
        }
    }

    fn start(&self, value: &Value, path: &str, road: &RoadSpec) -> Result<Start, ScenarioError> {
        let obj = self.object(
            value,
            path,
            &["s", "lane", "offset", "d", "x", "y", "heading_deg"],
        )?;
        let heading_deg = self.num_opt(&obj, "heading_deg")?.unwrap_or(0.0);
        let frenet = obj.has("s") || obj.has("lane") || obj.has("d") || obj.has("offset");
        let cartesian = obj.has("x") || obj.has("y");
        let position = match (frenet, cartesian) {
            (true, false) => {
                let s = self.num(&obj, "s")?;
                let lateral = self
                    .lateral(&obj, road)?
                    .ok_or_else(|| self.missing(obj.path("lane")))?;
                Position::Frenet { s, lateral }
            }
            (false, true) => Position::Cartesian {
                x: self.num(&obj, "x")?,
                y: self.num(&obj, "y")?,
            },
            _ => {
                return Err(self.invalid(
                    path,
                    "give either `s` with `lane` (and `offset`) or `d`, or world `x` and `y`",
                ));
            }
        };
        Ok(Start {
            position,
            heading_deg,
        })
    }

    fn ego(&self, value: &Value, road: &RoadSpec) -> Result<EgoSpec, ScenarioError> {
        let obj = self.object(value, "ego", &["start", "speed", "vehicle"])?;
        let start = self.start(self.req(&obj, "start")?, "ego.start", road)?;
        let speed = self.checked(&obj, "speed", None, Rule::NonNegative)?;
        let vehicle = match obj.get("vehicle") {
            Some(v) => {
                let vehicle = self.object(v, "ego.vehicle", &VEHICLE_FIELDS)?;
                let values = vehicle
                    .map
                    .iter()
                    .map(|(k, v)| {
                        let key = k.as_str().unwrap_or_default();
                        Ok((key.to_string(), self.number(v, &vehicle.path(key))?))
                    })
                    .collect::<Result<Vec<_>, ScenarioError>>()?;
                let overrides = VehicleOverrides { values };
                overrides
                    .params()
                    .validate()
                    .map_err(|e| self.invalid("ego.vehicle", e.to_string()))?;
                overrides
            }
            None => VehicleOverrides::default(),
        };
        Ok(EgoSpec {
            start,
            speed,
            vehicle,
        })
    }

    fn actors(&self, value: &Value, road: &RoadSpec) -> Result<Vec<ActorSpec>, ScenarioError> {
        let items = self.list(value, "actors")?;
        let mut ids = BTreeSet::new();
        let mut actors = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("actors[{i}]");
            let actor = self.actor(item, &path, road)?;
            if !ids.insert(actor.id.clone()) {
                return Err(self.invalid(
                    &join(&path, "id"),
                    format!("duplicate actor id `{}`", actor.id),
                ));
            }
            actors.push(actor);
        }
        Ok(actors)
    }

    fn actor(
        &self,
        value: &Value,
        path: &str,
        road: &RoadSpec,
    ) -> Result<ActorSpec, ScenarioError> {
        let obj = self.object(
            value,
            path,
            &["id", "kind", "start", "speed", "size", "phases"],
        )?;
        let id = self.string(self.req(&obj, "id")?, &obj.path("id"))?;
        if id.trim().is_empty() {
            return Err(self.invalid(&obj.path("id"), "must not be empty"));
        }
        let kind_value = self.req(&obj, "kind")?;
        let kind_name = self.string(kind_value, &obj.path("kind"))?;
        let kind = ActorKind::from_name(&kind_name).ok_or_else(|| ScenarioError::UnknownKind {
            file: self.file.to_string(),
            path: obj.path("kind"),
            kind: kind_name.clone(),
            known: ActorKind::ALL.map(ActorKind::name).join(", "),
        })?;
        let start = self.start(self.req(&obj, "start")?, &obj.path("start"), road)?;
        let speed = self.checked(&obj, "speed", Some(0.0), Rule::NonNegative)?;
        let size = match obj.get("size") {
            Some(v) => {
                let size = self.object(v, &obj.path("size"), &["length", "width", "height"])?;
                Some(Size {
                    length: self.checked(&size, "length", None, Rule::Positive)?,
                    width: self.checked(&size, "width", None, Rule::Positive)?,
                    height: self.checked(&size, "height", None, Rule::Positive)?,
                })
            }
            None => None,
        };
        let phases = match obj.get("phases") {
            Some(v) => {
                let items = self.list(v, &obj.path("phases"))?;
                let mut phases: Vec<Phase> = Vec::with_capacity(items.len());
                for (j, item) in items.iter().enumerate() {
                    let phase_path = format!("{}[{j}]", obj.path("phases"));
                    let phase = self.phase(item, &phase_path, road)?;
                    if let Some(previous) = phases.last()
                        && phase.trigger.is_none()
                        && !previous.action.completes()
                    {
                        return Err(self.invalid(
                            &phase_path,
                            format!(
                                "this phase has no trigger but the previous one ({}) never ends, so it would never start; add a trigger",
                                previous.action.name()
                            ),
                        ));
                    }
                    phases.push(phase);
                }
                phases
            }
            None => Vec::new(),
        };
        Ok(ActorSpec {
            id,
            kind,
            start,
            speed,
            size,
            phases,
        })
    }

    fn phase(&self, value: &Value, path: &str, road: &RoadSpec) -> Result<Phase, ScenarioError> {
        let obj = self.object(value, path, &["trigger", "action"])?;
        let trigger = match obj.get("trigger") {
            Some(v) => Some(self.trigger(v, &obj.path("trigger"))?),
            None => None,
        };
        let action = self.action(self.req(&obj, "action")?, &obj.path("action"), road)?;
        Ok(Phase { trigger, action })
    }

    fn trigger(&self, value: &Value, path: &str) -> Result<Trigger, ScenarioError> {
        const KEYS: [&str; 3] = ["time", "ego_distance", "ego_ttc"];
        let obj = self.object(value, path, &KEYS)?;
        if obj.map.len() != 1 {
            return Err(self.invalid(path, format!("expected exactly one of {}", KEYS.join(", "))));
        }
        if obj.has("time") {
            Ok(Trigger::Time(self.checked(
                &obj,
                "time",
                None,
                Rule::NonNegative,
            )?))
        } else if obj.has("ego_distance") {
            Ok(Trigger::EgoDistance(self.checked(
                &obj,
                "ego_distance",
                None,
                Rule::NonNegative,
            )?))
        } else {
            Ok(Trigger::EgoTtc(self.checked(
                &obj,
                "ego_ttc",
                None,
                Rule::Positive,
            )?))
        }
    }

    fn action(&self, value: &Value, path: &str, road: &RoadSpec) -> Result<Action, ScenarioError> {
        const ACTIONS: [&str; 8] = [
            "keep_speed",
            "accelerate_to",
            "brake",
            "lane_change",
            "cross",
            "follow_ego",
            "stand",
            "waypoints",
        ];
        let (name, body) = match value {
            Value::String(s) => (s.as_str(), None),
            Value::Mapping(map) if map.len() == 1 => match map.iter().next() {
                Some((Value::String(k), v)) => (k.as_str(), Some(v)),
                _ => ("", None),
            },
            other => {
                return Err(self.invalid(
                    path,
                    format!(
                        "expected an action: `keep_speed`, `stand`, or a mapping with one of {}; got {}",
                        ACTIONS.join(", "),
                        describe(other)
                    ),
                ));
            }
        };
        if !ACTIONS.contains(&name) {
            return Err(ScenarioError::UnknownKey {
                file: self.file.to_string(),
                path: join(path, name),
                allowed: ACTIONS.join(", "),
            });
        }
        let body_path = join(path, name);
        let fields = |allowed: &[&str]| -> Result<Obj, ScenarioError> {
            match body {
                Some(b) => self.object(b, &body_path, allowed),
                None => Err(self.invalid(
                    path,
                    format!("`{name}` needs its fields: {}", allowed.join(", ")),
                )),
            }
        };
        let action = match name {
            "keep_speed" | "stand" => {
                // `stand: {}` and `stand: null` read as naturally as a bare `stand`.
                if let Some(b) = body
                    && !b.is_null()
                {
                    self.object(b, &body_path, &[])?;
                }
                if name == "stand" {
                    Action::Stand
                } else {
                    Action::KeepSpeed
                }
            }
            "accelerate_to" => {
                let o = fields(&["speed", "accel"])?;
                Action::AccelerateTo {
                    speed: self.checked(&o, "speed", None, Rule::NonNegative)?,
                    accel: self.checked(&o, "accel", None, Rule::Positive)?,
                }
            }
            "brake" => {
                let o = fields(&["decel", "to_speed", "jerk"])?;
                Action::Brake {
                    decel: self.checked(&o, "decel", None, Rule::Positive)?,
                    to_speed: self.checked(&o, "to_speed", Some(0.0), Rule::NonNegative)?,
                    jerk: self.checked_opt(&o, "jerk", Rule::Positive)?,
                }
            }
            "lane_change" => {
                let o = fields(&["to_lane", "offset", "duration"])?;
                let to_lane = self.index(self.req(&o, "to_lane")?, &o.path("to_lane"))?;
                if to_lane >= road.lane_count {
                    return Err(self.invalid(
                        &o.path("to_lane"),
                        format!(
                            "lane {to_lane} does not exist; the road has {} lane(s)",
                            road.lane_count
                        ),
                    ));
                }
                Action::LaneChange {
                    to_lane,
                    offset: self.num_opt(&o, "offset")?.unwrap_or(0.0),
                    duration: self.checked(&o, "duration", None, Rule::Positive)?,
                }
            }
            "cross" => {
                let o = fields(&["to_d", "to", "speed", "accel_distance"])?;
                let to = match (o.get("to_d"), o.get("to")) {
                    (Some(_), None) => CrossTarget::D(self.num(&o, "to_d")?),
                    (None, Some(point)) => {
                        let p = self.object(point, &o.path("to"), &["x", "y"])?;
                        CrossTarget::Point {
                            x: self.num(&p, "x")?,
                            y: self.num(&p, "y")?,
                        }
                    }
                    _ => {
                        return Err(self.invalid(
                            &body_path,
                            "give exactly one of `to_d` (Frenet offset) or `to: {x, y}`",
                        ));
                    }
                };
                Action::Cross {
                    to,
                    speed: self.checked(&o, "speed", None, Rule::Positive)?,
                    accel_distance: self.checked(
                        &o,
                        "accel_distance",
                        Some(0.0),
                        Rule::NonNegative,
                    )?,
                }
            }
            "follow_ego" => {
                let o = fields(&["time_gap", "reaction_time", "max_decel"])?;
                Action::FollowEgo {
                    time_gap: self.checked(&o, "time_gap", None, Rule::Positive)?,
                    reaction_time: self.checked(&o, "reaction_time", None, Rule::NonNegative)?,
                    max_decel: self.checked(&o, "max_decel", None, Rule::Positive)?,
                }
            }
            _ => {
                let Some(b) = body else {
                    return Err(
                        self.invalid(path, "`waypoints` needs a list of {s, lane|d, speed}")
                    );
                };
                let items = self.list(b, &body_path)?;
                if items.is_empty() {
                    return Err(self.invalid(&body_path, "needs at least one waypoint"));
                }
                let mut points: Vec<Waypoint> = Vec::with_capacity(items.len());
                for (k, item) in items.iter().enumerate() {
                    let wp_path = format!("{body_path}[{k}]");
                    let o = self.object(item, &wp_path, &["s", "lane", "offset", "d", "speed"])?;
                    let s = self.num(&o, "s")?;
                    if let Some(prev) = points.last()
                        && s <= prev.s
                    {
                        return Err(self.invalid(
                            &o.path("s"),
                            format!("waypoints must move forward: s {s} after s {}", prev.s),
                        ));
                    }
                    let lateral = self
                        .lateral(&o, road)?
                        .ok_or_else(|| self.missing(o.path("lane")))?;
                    points.push(Waypoint {
                        s,
                        lateral,
                        speed: self.checked(&o, "speed", None, Rule::NonNegative)?,
                    });
                }
                Action::Waypoints(points)
            }
        };
        Ok(action)
    }

    fn sensors(&self, value: &Value) -> Result<SensorSpec, ScenarioError> {
        let obj = self.object(
            value,
            "sensors",
            &["lidar", "odometry", "imu", "noise_seed"],
        )?;
        let mut spec = SensorSpec::default();
        if let Some(v) = obj.get("lidar") {
            let l = self.object(
                v,
                "sensors.lidar",
                &[
                    "enabled",
                    "laser_scan",
                    "channels",
                    "min_elevation_deg",
                    "max_elevation_deg",
                    "horizontal_fov_deg",
                    "azimuth_resolution_deg",
                    "min_range",
                    "max_range",
                    "rate_hz",
                    "range_noise_sigma",
                    "dropout_probability",
                    "seed",
                ],
            )?;
            let lidar = LidarSpec {
                enabled: self.bool_opt(&l, "enabled")?.unwrap_or(true),
                laser_scan: self.bool_opt(&l, "laser_scan")?.unwrap_or(false),
                channels: match l.get("channels") {
                    Some(c) => Some(self.index(c, &l.path("channels"))?),
                    None => None,
                },
                min_elevation_deg: self.num_opt(&l, "min_elevation_deg")?,
                max_elevation_deg: self.num_opt(&l, "max_elevation_deg")?,
                horizontal_fov_deg: self.num_opt(&l, "horizontal_fov_deg")?,
                azimuth_resolution_deg: self.num_opt(&l, "azimuth_resolution_deg")?,
                min_range: self.num_opt(&l, "min_range")?,
                max_range: self.num_opt(&l, "max_range")?,
                rate_hz: self.num_opt(&l, "rate_hz")?,
                range_noise_sigma: self.num_opt(&l, "range_noise_sigma")?,
                dropout_probability: self.num_opt(&l, "dropout_probability")?,
                seed: match l.get("seed") {
                    Some(c) => Some(self.index(c, &l.path("seed"))? as u64),
                    None => None,
                },
            };
            if lidar.enabled {
                crate::lidar::Lidar::new(lidar.params())
                    .map_err(|e| self.invalid("sensors.lidar", e.to_string()))?;
            }
            spec.lidar = lidar;
        }
        if let Some(v) = obj.get("odometry") {
            let o = self.object(
                v,
                "sensors.odometry",
                &["position_sigma", "velocity_sigma", "yaw_sigma"],
            )?;
            spec.odometry = OdometryNoise {
                position_sigma: self.checked(&o, "position_sigma", Some(0.0), Rule::NonNegative)?,
                velocity_sigma: self.checked(&o, "velocity_sigma", Some(0.0), Rule::NonNegative)?,
                yaw_sigma: self.checked(&o, "yaw_sigma", Some(0.0), Rule::NonNegative)?,
            };
        }
        if let Some(v) = obj.get("imu") {
            let o = self.object(v, "sensors.imu", &["accel_sigma", "gyro_sigma"])?;
            spec.imu = ImuNoise {
                accel_sigma: self.checked(&o, "accel_sigma", Some(0.0), Rule::NonNegative)?,
                gyro_sigma: self.checked(&o, "gyro_sigma", Some(0.0), Rule::NonNegative)?,
            };
        }
        if let Some(v) = obj.get("noise_seed") {
            spec.noise_seed = self.index(v, "sensors.noise_seed")? as u64;
        }
        Ok(spec)
    }

    fn expected(&self, value: &Value) -> Result<Expected, ScenarioError> {
        let o = self.object(
            value,
            "expected",
            &[
                "collision",
                "min_gap_m",
                "max_impact_speed_kmh",
                "max_decel",
                "max_lat_accel",
                "max_rear_slip_deg",
                "other_collisions",
            ],
        )?;
        Ok(Expected {
            collision: self.bool_opt(&o, "collision")?,
            min_gap_m: self.checked_opt(&o, "min_gap_m", Rule::NonNegative)?,
            max_impact_speed_kmh: self.checked_opt(
                &o,
                "max_impact_speed_kmh",
                Rule::NonNegative,
            )?,
            max_decel: self.checked_opt(&o, "max_decel", Rule::Positive)?,
            max_lat_accel: self.checked_opt(&o, "max_lat_accel", Rule::Positive)?,
            max_rear_slip_deg: self.checked_opt(&o, "max_rear_slip_deg", Rule::Positive)?,
            other_collisions: self.bool_opt(&o, "other_collisions")?,
        })
    }
}

/// Range rule for a number field.
#[derive(Clone, Copy)]
enum Rule {
    Positive,
    NonNegative,
}

/// The body of a `${...}` string, if the whole (trimmed) string is one.
fn expression_body(s: &str) -> Option<&str> {
    s.trim().strip_prefix("${")?.strip_suffix('}')
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq)]
enum ExprError {
    /// A name that is neither a variable nor a function.
    UnknownName(String),
    /// Bad syntax or an impossible operation.
    Invalid(String),
}

/// Evaluates `+ - * /`, unary minus, parentheses, numbers, names from `vars` and the
/// functions `abs`, `min`, `max`, `sqrt`.
fn evaluate(text: &str, vars: &BTreeMap<String, f64>) -> Result<f64, ExprError> {
    let mut parser = ExprParser {
        text: text.as_bytes(),
        pos: 0,
        vars,
    };
    parser.skip_space();
    if parser.pos == parser.text.len() {
        return Err(ExprError::Invalid("empty expression".into()));
    }
    let value = parser.sum()?;
    parser.skip_space();
    if let Some(&c) = parser.text.get(parser.pos) {
        return Err(ExprError::Invalid(format!(
            "unexpected `{}` at column {}",
            c as char,
            parser.pos + 1
        )));
    }
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ExprError::Invalid(format!("the result is {value}")))
    }
}

/// Recursive-descent parser that evaluates as it goes.
struct ExprParser<'a> {
    text: &'a [u8],
    pos: usize,
    vars: &'a BTreeMap<String, f64>,
}

impl ExprParser<'_> {
    fn skip_space(&mut self) {
        while self
            .text
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.pos).copied()
    }

    fn sum(&mut self) -> Result<f64, ExprError> {
        let mut value = self.product()?;
        while let Some(op @ (b'+' | b'-')) = self.peek() {
            self.pos += 1;
            let rhs = self.product()?;
            value = if op == b'+' { value + rhs } else { value - rhs };
        }
        Ok(value)
    }

    fn product(&mut self) -> Result<f64, ExprError> {
        let mut value = self.unary()?;
        while let Some(op @ (b'*' | b'/')) = self.peek() {
            self.pos += 1;
            let rhs = self.unary()?;
            if op == b'*' {
                value *= rhs;
            } else if rhs == 0.0 {
                return Err(ExprError::Invalid("division by zero".into()));
            } else {
                value /= rhs;
            }
        }
        Ok(value)
    }

    fn unary(&mut self) -> Result<f64, ExprError> {
        match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                Ok(-self.unary()?)
            }
            Some(b'+') => {
                self.pos += 1;
                self.unary()
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<f64, ExprError> {
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                let value = self.sum()?;
                self.expect(b')')?;
                Ok(value)
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.pos;
                while self
                    .text
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    self.pos += 1;
                }
                let name = String::from_utf8_lossy(&self.text[start..self.pos]).into_owned();
                if self.peek() == Some(b'(') {
                    self.pos += 1;
                    self.call(&name)
                } else {
                    self.vars
                        .get(&name)
                        .copied()
                        .ok_or(ExprError::UnknownName(name))
                }
            }
            Some(c) => Err(ExprError::Invalid(format!(
                "unexpected `{}` at column {}",
                c as char,
                self.pos + 1
            ))),
            None => Err(ExprError::Invalid("unexpected end of expression".into())),
        }
    }

    fn expect(&mut self, want: u8) -> Result<(), ExprError> {
        match self.peek() {
            Some(c) if c == want => {
                self.pos += 1;
                Ok(())
            }
            Some(c) => Err(ExprError::Invalid(format!(
                "expected `{}` at column {}, found `{}`",
                want as char,
                self.pos + 1,
                c as char
            ))),
            None => Err(ExprError::Invalid(format!(
                "expected `{}` before the end",
                want as char
            ))),
        }
    }

    fn number(&mut self) -> Result<f64, ExprError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            while p.text.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
        };
        digits(self);
        if self.text.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            digits(self);
        }
        if matches!(self.text.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.text.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            digits(self);
        }
        let literal = String::from_utf8_lossy(&self.text[start..self.pos]);
        literal
            .parse::<f64>()
            .map_err(|_| ExprError::Invalid(format!("bad number `{literal}`")))
    }

    fn call(&mut self, name: &str) -> Result<f64, ExprError> {
        let mut args = vec![self.sum()?];
        while self.peek() == Some(b',') {
            self.pos += 1;
            args.push(self.sum()?);
        }
        self.expect(b')')?;
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(ExprError::Invalid(format!(
                    "{name}() takes {n} argument(s), got {}",
                    args.len()
                )))
            }
        };
        match name {
            "abs" => arity(1).map(|()| args[0].abs()),
            "sqrt" => {
                arity(1)?;
                if args[0] < 0.0 {
                    Err(ExprError::Invalid(format!("sqrt of negative {}", args[0])))
                } else {
                    Ok(args[0].sqrt())
                }
            }
            "min" => Ok(args.iter().copied().fold(f64::INFINITY, f64::min)),
            "max" => Ok(args.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
            _ => Err(ExprError::Invalid(format!(
                "unknown function `{name}`; functions: {}",
                FUNCTIONS.join(", ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "scenarios/test/base.yaml";

    /// A small valid scenario the error tests break one field at a time.
    const BASE: &str = r#"
name: base
parameters:
  a: {default: 2, sweep: [1, 2, 3]}
  b:
    default: 10
    sweep: [10, 20, 30, 40]
let:
  twice_a: ${a * 2}
road:
  segments:
    - straight: 200
    - arc: {length: 50, radius: -300}
  lane_count: 2
  lane_width: 3.5
ego:
  start: {s: 10, lane: 0}
  speed: ${b / 3.6}
  vehicle: {friction: 0.8}
actors:
  - id: target
    kind: car
    start: {s: "${20 + twice_a}", lane: 1, offset: -0.5}
    speed: 5
    phases:
      - action: keep_speed
      - trigger: {ego_ttc: 2.5}
        action: {brake: {decel: 4}}
      - action: {lane_change: {to_lane: 0, duration: 2}}
  - id: walker
    kind: adult_pedestrian
    start: {x: 50, y: -3}
    phases:
      - action: stand
      - trigger: {ego_distance: 30}
        action: {cross: {to: {x: 50, y: 9}, speed: 1.4}}
duration_s: 10
expected: {collision: false, min_gap_m: 1.5}
"#;

    fn base_with(from: &str, to: &str) -> String {
        assert!(BASE.contains(from), "test setup: `{from}` not in BASE");
        BASE.replacen(from, to, 1)
    }

    fn error_of(text: &str) -> String {
        match Scenario::parse_str(text, FILE) {
            Ok(runs) => panic!("expected an error, got {} runs", runs.len()),
            Err(e) => e.to_string(),
        }
    }

    fn scenarios_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
    }

    fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let entries = std::fs::read_dir(dir).expect("scenarios directory is readable");
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                yaml_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }

    fn load(relative: &str, overrides: &[(&str, &str)]) -> Vec<ScenarioRun> {
        let overrides: Vec<(String, String)> = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Scenario::load(scenarios_dir().join(relative), &overrides)
            .unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn every_shipped_scenario_loads() {
        let mut files = Vec::new();
        yaml_files(&scenarios_dir(), &mut files);
        files.sort();
        let names: BTreeSet<String> = files
            .iter()
            .filter_map(|p| p.strip_prefix(scenarios_dir()).ok())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        for required in [
            "ncap/ccrs.yaml",
            "ncap/ccrm.yaml",
            "ncap/ccrb.yaml",
            "ncap/cpna.yaml",
            "ncap/cpfa.yaml",
            "ncap/cpnco.yaml",
            "ncap/cbna.yaml",
            "ncap/cmrs.yaml",
            "ncap/cmrb.yaml",
            "compound/child_behind_parked_cars.yaml",
            "compound/motorcycle_cut_in_crash.yaml",
            "compound/double_evasion.yaml",
            "had/highway_cruise.yaml",
            "had/urban_stop.yaml",
        ] {
            assert!(names.contains(required), "{required} is missing: {names:?}");
        }
        for file in &files {
            let all = load_runs(file, &[]).unwrap_or_else(|e| panic!("{e}"));
            assert!(!all.is_empty(), "{}", file.display());
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            assert!(all.iter().all(|r| r.name() == stem), "{}", file.display());
            // Arm scenarios have their own checks (scenario::arm's tests).
            if matches!(all[0], WorldRun::Arm(_)) {
                continue;
            }
            let runs = Scenario::load(file, &[]).unwrap_or_else(|e| panic!("{e}"));
            assert!(!runs.is_empty(), "{}", file.display());
            for run in &runs {
                let s = &run.scenario;
                let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                assert_eq!(
                    s.name,
                    stem,
                    "{}: name should match the file",
                    file.display()
                );
                assert!(s.duration_s > 0.0 && s.step_s > 0.0);
                // Everything must happen on the road the file builds.
                let road = s.road.build().expect("validated on load");
                if let Position::Frenet { s: s0, .. } = s.ego.start.position {
                    assert!(s0 >= 0.0 && s0 < road.length(), "{}", run.label());
                }
                for actor in &s.actors {
                    if let Position::Frenet { s: sa, .. } = actor.start.position {
                        assert!(
                            sa > 0.0 && sa < road.length(),
                            "{}: {} at s {sa} off a {} m road",
                            run.label(),
                            actor.id,
                            road.length()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn readme_format_example_loads() {
        let readme = std::fs::read_to_string(scenarios_dir().join("README.md"))
            .expect("scenarios/README.md is readable");
        let start = readme.find("```yaml\n").expect("README has a yaml example") + 8;
        let len = readme[start..].find("```").expect("the example is closed");
        let runs = Scenario::parse_str(&readme[start..start + len], "README.md")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(runs.len(), 5 * 5);
        let s = &runs[0].scenario;
        assert_eq!(
            s.road.markings,
            Some(vec![Marking::Solid, Marking::Dashed, Marking::Solid])
        );
        assert_eq!(
            s.sensors.lidar.params().vertical,
            LidarParams::default().vertical
        );
        assert_eq!(s.sensors.noise_seed, 1);
        assert_eq!(s.expected.max_impact_speed_kmh, Some(20.0));
    }

    #[test]
    fn ncap_sweeps_cover_the_protocol_ranges() {
        let ccrs = load("ncap/ccrs.yaml", &[]);
        assert_eq!(ccrs.len(), 5 * 5);
        let speeds: BTreeSet<i64> = ccrs
            .iter()
            .map(|r| r.params["ego_speed_kmh"] as i64)
            .collect();
        assert_eq!(speeds, BTreeSet::from([10, 20, 30, 40, 50]));
        assert_eq!(load("ncap/ccrm.yaml", &[]).len(), 11 * 5);
        assert_eq!(load("ncap/ccrb.yaml", &[]).len(), 6 * 5);
        assert_eq!(load("ncap/cpna.yaml", &[]).len(), 6 * 3);
        assert_eq!(load("ncap/cpfa.yaml", &[]).len(), 6);
        assert_eq!(load("ncap/cpnco.yaml", &[]).len(), 6);
        assert_eq!(load("ncap/cbna.yaml", &[]).len(), 6 * 2);
        assert_eq!(load("ncap/cmrs.yaml", &[]).len(), 5 * 3);
        assert_eq!(load("ncap/cmrb.yaml", &[]).len(), 6 * 3);
        assert_eq!(
            load("compound/child_behind_parked_cars.yaml", &[]).len(),
            4 * 3 * 3
        );
        // CCRm pairs the target speed with the ego speed above 80 km/h unless set.
        let ccrm = load("ncap/ccrm.yaml", &[("ego_speed_kmh", "110")]);
        assert_eq!(ccrm.len(), 5);
        assert!(close(ccrm[0].params["target_speed_kmh"], 50.0));
        let ccrm = load(
            "ncap/ccrm.yaml",
            &[("ego_speed_kmh", "110"), ("target_speed_kmh", "20")],
        );
        assert!(close(ccrm[0].params["target_speed_kmh"], 20.0));
    }

    #[test]
    fn ccrs_places_the_target_by_impact_percent() {
        let runs = load(
            "ncap/ccrs.yaml",
            &[("ego_speed_kmh", "36"), ("impact_percent", "0")],
        );
        assert_eq!(runs.len(), 1);
        let s = &runs[0].scenario;
        assert!(close(s.ego.speed, 10.0));
        let gvt = &s.actors[0];
        assert_eq!(gvt.kind, ActorKind::Car);
        // Gap max(30, 4 s · 10 m/s) = 40 m from the ego front at s = 20, plus half a GVT.
        let Position::Frenet {
            s: target_s,
            lateral: Lateral::Lane { lane, offset },
        } = gvt.start.position
        else {
            panic!("expected a lane position, got {:?}", gvt.start.position);
        };
        assert!(close(target_s, 20.0 + 40.0 + 4.023 / 2.0), "{target_s}");
        assert_eq!(lane, 0);
        // 0 % puts the GVT centreline on the ego's right corner: half an ego width right.
        assert!(close(offset, -1.61 / 2.0), "{offset}");
        assert!(close(s.duration_s, 40.0 / 10.0 + 3.0));
    }

    #[test]
    fn cpna_trigger_meets_the_impact_point() {
        let runs = load(
            "ncap/cpna.yaml",
            &[("ego_speed_kmh", "36"), ("impact_percent", "50")],
        );
        let ped = &runs[0].scenario.actors[0];
        assert_eq!(ped.kind, ActorKind::AdultPedestrian);
        // 4 m to the path centre walked at 5 km/h after a 1 m ramp from rest: (4 + 1) / (5/3.6)
        // = 3.6 s, in which the ego covers 36 m.
        assert_eq!(ped.phases.len(), 2);
        assert_eq!(ped.phases[0].action, Action::Stand);
        // The trigger is a bumper gap: less half the EPTa's 0.6 m length.
        let Some(Trigger::EgoDistance(gap)) = ped.phases[1].trigger else {
            panic!(
                "expected an ego_distance trigger, got {:?}",
                ped.phases[1].trigger
            );
        };
        assert!(close(gap, 36.0 - 0.3), "{gap}");
        let Action::Cross {
            to: CrossTarget::D(to_d),
            speed,
            accel_distance,
        } = ped.phases[1].action
        else {
            panic!("expected a cross, got {:?}", ped.phases[1].action);
        };
        assert!(close(speed, 5.0 / 3.6) && close(accel_distance, 1.0));
        assert!(close(to_d, 1.75 + 6.0));
        assert_eq!(
            ped.start.position,
            Position::Frenet {
                s: 20.0 + 36.0 + 20.0,
                lateral: Lateral::D(1.75 - 4.0)
            }
        );
    }

    #[test]
    fn base_scenario_resolves_every_field() {
        let runs = Scenario::parse_str(BASE, FILE).expect("BASE is valid");
        let run = &runs[0];
        let s = &run.scenario;
        assert_eq!(s.origin, FILE);
        assert_eq!(s.road.segments.len(), 2);
        assert_eq!(
            s.road.segments[1],
            Segment::Arc {
                length: 50.0,
                curvature: -1.0 / 300.0
            }
        );
        assert_eq!(s.ego.vehicle.values, vec![("friction".to_string(), 0.8)]);
        assert!(close(s.ego.vehicle.params().friction, 0.8));
        let target = &s.actors[0];
        // a = 1 in the first run: 20 + 2·1.
        assert_eq!(
            target.start.position,
            Position::Frenet {
                s: 22.0,
                lateral: Lateral::Lane {
                    lane: 1,
                    offset: -0.5
                }
            }
        );
        assert!(close(
            s.road.lateral_d(Lateral::Lane {
                lane: 1,
                offset: -0.5
            }),
            4.75
        ));
        assert_eq!(target.phases[1].trigger, Some(Trigger::EgoTtc(2.5)));
        assert_eq!(
            target.phases[1].action,
            Action::Brake {
                decel: 4.0,
                to_speed: 0.0,
                jerk: None
            }
        );
        assert_eq!(
            s.actors[1].phases[1].action,
            Action::Cross {
                to: CrossTarget::Point { x: 50.0, y: 9.0 },
                speed: 1.4,
                accel_distance: 0.0
            }
        );
        assert_eq!(s.step_s, DEFAULT_STEP_S);
        assert_eq!(s.expected.collision, Some(false));
        assert_eq!(s.expected.min_gap_m, Some(1.5));
        assert!(s.sensors.lidar.enabled);
        assert_eq!(s.sensors.lidar.params(), LidarParams::default());
        assert_eq!(run.label(), "base a=1 b=10");
    }

    #[test]
    fn sweeps_expand_into_the_cartesian_product_in_order() {
        let runs = Scenario::parse_str(BASE, FILE).expect("BASE is valid");
        assert_eq!(runs.len(), 12);
        let pairs: Vec<(f64, f64)> = runs
            .iter()
            .map(|r| (r.params["a"], r.params["b"]))
            .collect();
        let mut want = Vec::new();
        for a in [1.0, 2.0, 3.0] {
            for b in [10.0, 20.0, 30.0, 40.0] {
                want.push((a, b));
            }
        }
        assert_eq!(pairs, want);
        // The values reach the resolved fields, not only the parameter table.
        assert!(close(runs[5].scenario.ego.speed, 20.0 / 3.6));
        assert_eq!(
            runs[11].scenario.actors[0].start.position,
            Position::Frenet {
                s: 26.0,
                lateral: Lateral::Lane {
                    lane: 1,
                    offset: -0.5
                }
            }
        );
        assert_eq!(
            runs[0].scenario.parameters[1].sweep,
            vec![10.0, 20.0, 30.0, 40.0]
        );
    }

    #[test]
    fn range_sweeps_include_the_end_without_drift() {
        let text = base_with("sweep: [1, 2, 3]", "sweep: {from: 0.1, to: 0.3, step: 0.1}");
        let runs = Scenario::parse_str(&text, FILE).expect("valid");
        let a: Vec<f64> = runs.iter().step_by(4).map(|r| r.params["a"]).collect();
        assert_eq!(a.len(), 3);
        assert!(
            close(a[0], 0.1) && close(a[1], 0.2) && close(a[2], 0.3),
            "{a:?}"
        );
    }

    #[test]
    fn overrides_fix_a_parameter_and_disable_its_sweep() {
        let set = vec![("b".to_string(), "25".to_string())];
        let runs = Scenario::parse_str_with(BASE, FILE, &set).expect("valid");
        assert_eq!(runs.len(), 3);
        assert!(runs.iter().all(|r| r.params["b"] == 25.0));
        assert_eq!(
            runs.iter().map(|r| r.params["a"]).collect::<Vec<_>>(),
            vec![1.0, 2.0, 3.0]
        );
        assert!(close(runs[0].scenario.ego.speed, 25.0 / 3.6));
        let set = vec![
            ("a".to_string(), "7".to_string()),
            ("b".to_string(), "1e1".to_string()),
        ];
        let runs = Scenario::parse_str_with(BASE, FILE, &set).expect("valid");
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].params["a"], 7.0);
        assert_eq!(
            parse_set("ego_speed_kmh = 40"),
            Some(("ego_speed_kmh".into(), "40".into()))
        );
        assert_eq!(parse_set("novalue"), None);
    }

    #[test]
    fn unknown_override_lists_the_parameters() {
        let set = vec![("c".to_string(), "1".to_string())];
        let err = Scenario::parse_str_with(BASE, FILE, &set)
            .expect_err("c is not a parameter")
            .to_string();
        assert_eq!(
            err,
            format!("{FILE}: --set c: no such parameter; parameters: a, b")
        );
        // A `let` name is not a parameter either.
        let set = vec![("twice_a".to_string(), "1".to_string())];
        assert!(Scenario::parse_str_with(BASE, FILE, &set).is_err());
        let set = vec![("a".to_string(), "fast".to_string())];
        let err = Scenario::parse_str_with(BASE, FILE, &set)
            .expect_err("not a number")
            .to_string();
        assert_eq!(err, format!("{FILE}: --set a=fast: expected a number"));
    }

    #[test]
    fn expressions_evaluate_with_precedence_and_functions() {
        let vars = BTreeMap::from([("a".to_string(), 3.0), ("ego_speed_kmh".to_string(), 36.0)]);
        let eval = |e: &str| evaluate(e, &vars);
        assert_eq!(eval("a * 2"), Ok(6.0));
        assert_eq!(eval("ego_speed_kmh / 3.6"), Ok(10.0));
        assert_eq!(eval("1 + 2 * 3"), Ok(7.0));
        assert_eq!(eval("(1 + 2) * 3"), Ok(9.0));
        assert_eq!(eval("10 - 4 - 3"), Ok(3.0));
        assert_eq!(eval("12 / 3 / 2"), Ok(2.0));
        assert_eq!(eval("-a + +4"), Ok(1.0));
        assert_eq!(eval("2 * -(a - 1)"), Ok(-4.0));
        assert_eq!(eval("1.5e1 + .5"), Ok(15.5));
        assert_eq!(
            eval("max(20, a * 10, 25) + min(a, 1) + abs(-2) + sqrt(16)"),
            Ok(37.0)
        );
        assert_eq!(eval("nope + 1"), Err(ExprError::UnknownName("nope".into())));
        for bad in [
            "",
            "1 +",
            "(1 + 2",
            "1 2",
            "a / (a - 3)",
            "sqrt(-1)",
            "sqrt(1, 2)",
            "cos(1)",
            "1 $ 2",
        ] {
            assert!(
                matches!(eval(bad), Err(ExprError::Invalid(_))),
                "`{bad}` gave {:?}",
                eval(bad)
            );
        }
        // Through the file: `${a * 2}` in a `let` feeds the actor's s.
        let text = base_with(
            "start: {s: \"${20 + twice_a}\"",
            "start: {s: \"${twice_a * 2}\"",
        );
        let runs = Scenario::parse_str(&text, FILE).expect("valid");
        let Position::Frenet { s, .. } = runs[8].scenario.actors[0].start.position else {
            panic!("frenet expected");
        };
        assert_eq!(runs[8].params["a"], 3.0);
        assert_eq!(s, 12.0);
    }

    #[test]
    fn parameter_defaults_may_be_expressions_of_earlier_parameters() {
        let text = base_with("  b:\n    default: 10\n", "  b:\n    default: ${a * 5}\n");
        let text = text.replacen("sweep: [10, 20, 30, 40]", "description: follows a", 1);
        let runs = Scenario::parse_str(&text, FILE).expect("valid");
        assert_eq!(
            runs.iter().map(|r| r.params["b"]).collect::<Vec<_>>(),
            vec![5.0, 10.0, 15.0]
        );
        assert_eq!(runs[2].scenario.parameters[1].default, 15.0);
    }

    #[test]
    fn type_error_names_file_and_field_path() {
        let err = error_of(&base_with("{ego_ttc: 2.5}", "{ego_ttc: soon}"));
        assert_eq!(
            err,
            format!("{FILE}: actors[0].phases[1].trigger.ego_ttc: expected a number, got \"soon\"")
        );
        let err = error_of(&base_with("lane_count: 2", "lane_count: 1.5"));
        assert!(
            err.starts_with(&format!("{FILE}: road.lane_count: expected a whole number")),
            "{err}"
        );
        let err = error_of(&base_with(
            "expected: {collision: false",
            "expected: {collision: 0",
        ));
        assert!(
            err.contains("expected.collision: expected true or false, got 0"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_names_the_path_and_lists_allowed_keys() {
        let err = error_of(&base_with("{ego_ttc: 2.5}", "{ego_tcc: 2.5}"));
        assert_eq!(
            err,
            format!(
                "{FILE}: actors[0].phases[1].trigger.ego_tcc: unknown key; allowed keys: time, ego_distance, ego_ttc"
            )
        );
        let err = error_of(&format!("{BASE}durration_s: 3\n"));
        assert!(
            err.starts_with(&format!(
                "{FILE}: durration_s: unknown key; allowed keys: name,"
            )),
            "{err}"
        );
        let err = error_of(&base_with("vehicle: {friction: 0.8}", "vehicle: {mu: 0.8}"));
        assert!(
            err.contains("ego.vehicle.mu: unknown key; allowed keys: length, width,"),
            "{err}"
        );
        assert!(err.contains("friction"), "{err}");
        let err = error_of(&base_with("{brake: {decel: 4}}", "{slam: {decel: 4}}"));
        assert!(err.contains("actors[0].phases[1].action.slam: unknown key; allowed keys: keep_speed, accelerate_to, brake,"), "{err}");
    }

    #[test]
    fn missing_field_is_named() {
        let err = error_of(&base_with("{brake: {decel: 4}}", "{brake: {to_speed: 1}}"));
        assert_eq!(
            err,
            format!("{FILE}: actors[0].phases[1].action.brake.decel: missing required field")
        );
        let err = error_of(&base_with("duration_s: 10\n", ""));
        assert_eq!(err, format!("{FILE}: duration_s: missing required field"));
        let err = error_of(&base_with("    kind: car\n", ""));
        assert_eq!(
            err,
            format!("{FILE}: actors[0].kind: missing required field")
        );
    }

    #[test]
    fn unknown_actor_kind_lists_the_known_ones() {
        let err = error_of(&base_with("kind: car", "kind: bus"));
        assert_eq!(
            err,
            format!(
                "{FILE}: actors[0].kind: unknown actor kind `bus`; known kinds: car, crashed_car, truck, motorcycle, cyclist, adult_pedestrian, child_pedestrian, parked_car"
            )
        );
        for kind in ActorKind::ALL {
            assert_eq!(ActorKind::from_name(kind.name()), Some(kind));
        }
    }

    #[test]
    fn bad_reference_lists_the_known_names() {
        let err = error_of(&base_with("speed: ${b / 3.6}", "speed: ${nope / 3.6}"));
        assert_eq!(
            err,
            format!(
                "{FILE}: ego.speed: unknown name `nope` in `${{nope / 3.6}}`; known names: a, b, twice_a"
            )
        );
        // A parameter default may only use parameters declared before it.
        let text = base_with(
            "a: {default: 2, sweep: [1, 2, 3]}",
            "a: {default: \"${b}\"}",
        );
        let err = error_of(&text);
        assert!(
            err.contains("parameters.a.default: unknown name `b`"),
            "{err}"
        );
    }

    #[test]
    fn bad_expression_is_reported_with_its_field() {
        let err = error_of(&base_with("speed: ${b / 3.6}", "speed: ${b / (a - a)}"));
        assert_eq!(
            err,
            format!("{FILE}: ego.speed: bad expression `${{b / (a - a)}}`: division by zero")
        );
        let err = error_of(&base_with("speed: ${b / 3.6}", "speed: ${b / }"));
        assert!(
            err.starts_with(&format!("{FILE}: ego.speed: bad expression `${{b / }}`")),
            "{err}"
        );
    }

    #[test]
    fn range_and_consistency_errors_name_the_field() {
        let err = error_of(&base_with(
            "{to_lane: 0, duration: 2}",
            "{to_lane: 2, duration: 2}",
        ));
        assert!(
            err.starts_with(&format!(
                "{FILE}: actors[0].phases[2].action.lane_change.to_lane: lane 2 does not exist"
            )),
            "{err}"
        );
        let err = error_of(&base_with("{decel: 4}", "{decel: -4}"));
        assert_eq!(
            err,
            format!("{FILE}: actors[0].phases[1].action.brake.decel: must be > 0, got -4")
        );
        // A phase without a trigger after one that never ends could never start.
        let err = error_of(&base_with(
            "      - trigger: {ego_distance: 30}\n",
            "      - ",
        ));
        assert!(err.starts_with(&format!("{FILE}: actors[1].phases[1]: this phase has no trigger but the previous one (stand) never ends")), "{err}");
        let err = error_of(&base_with("id: walker", "id: target"));
        assert_eq!(
            err,
            format!("{FILE}: actors[1].id: duplicate actor id `target`")
        );
        let err = error_of(&base_with(
            "{length: 50, radius: -300}",
            "{length: 10, radius: 5}",
        ));
        assert!(
            err.starts_with(&format!("{FILE}: road: segment 1: radius 5 m is too tight")),
            "{err}"
        );
        let err = error_of(&base_with(
            "vehicle: {friction: 0.8}",
            "vehicle: {friction: -1}",
        ));
        assert!(
            err.starts_with(&format!(
                "{FILE}: ego.vehicle: vehicle parameter `friction`"
            )),
            "{err}"
        );
        let err = error_of(&base_with("start: {x: 50, y: -3}", "start: {x: 50, s: 3}"));
        assert!(err.contains("actors[1].start: give either `s`"), "{err}");
    }

    #[test]
    fn syntax_and_io_errors_name_the_file() {
        let err = error_of("name: [unclosed\n");
        assert!(err.starts_with(&format!("{FILE}: invalid YAML: ")), "{err}");
        assert!(err.contains("line"), "the parser's position is kept: {err}");
        let missing = scenarios_dir().join("ncap/no_such_file.yaml");
        let err = Scenario::load(&missing, &[])
            .expect_err("absent")
            .to_string();
        assert!(err.contains("no_such_file.yaml: cannot read"), "{err}");
        let err = error_of("- just\n- a list\n");
        assert!(
            err.starts_with(&format!("{FILE}: (top level): expected a mapping")),
            "{err}"
        );
    }
}
