//! Arm scenarios (`world: arm`): an arm from a URDF on a base pose, a gripper, a table with
//! objects and a tray, a depth camera, the duration and the expected outcome. Parameters,
//! sweeps, `let`, `--set` and `${expressions}` work as in vehicle scenarios (the expansion is
//! shared); `layout:` scatters objects without a position over a region of the table with a
//! seeded generator, so a swept seed gives a family of random layouts.
//!
//! Everything is resolved and checked on load: the URDF is parsed and the chain cut, so a
//! wrong link name or joint count is reported against the file and field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nalgebra::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};
use serde_yaml_ng::Value;

use super::{Cx, Obj, Parameter, Rule, ScenarioError, expand};
use crate::arm::{Arm, ArmParams, DEFAULT_ACCELERATION, DEFAULT_LINK_RADIUS};
use crate::depth::{DepthCameraParams, look_at};
use crate::gripper::GripperParams;
use crate::lidar::SplitMix64;
use crate::table::{ObjectShape, Table, TableObject, Tabletop, Tray};

/// Top-level keys of an arm scenario.
const TOP_KEYS: &[&str] = &[
    "name",
    "world",
    "description",
    "parameters",
    "let",
    "arm",
    "gripper",
    "table",
    "tray",
    "objects",
    "layout",
    "camera",
    "duration_s",
    "step_s",
    "expected",
];

/// Attempts per object before a random layout gives up.
const LAYOUT_TRIES: usize = 10_000;

/// One run of an arm scenario, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmScenarioRun {
    /// The scenario with every value resolved for this run.
    pub scenario: ArmScenario,
    /// The value of every parameter in this run.
    pub params: BTreeMap<String, f64>,
}

impl ArmScenarioRun {
    /// `name key=value ...` over all parameters.
    pub fn label(&self) -> String {
        let mut label = self.scenario.name.clone();
        for (key, value) in &self.params {
            label.push_str(&format!(" {key}={value}"));
        }
        label
    }
}

/// An arm scenario with all values resolved (one sweep combination).
#[derive(Debug, Clone, PartialEq)]
pub struct ArmScenario {
    /// Short identifier.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The file it came from.
    pub origin: String,
    /// Declared parameters with this run's defaults.
    pub parameters: Vec<Parameter>,
    /// The arm.
    pub arm: ArmSpec,
    /// The gripper on its tool link.
    pub gripper: GripperParams,
    /// Table, tray and objects at their (possibly randomised) start poses.
    pub tabletop: Tabletop,
    /// The depth camera, if enabled.
    pub camera: Option<DepthCameraParams>,
    /// Simulated duration (s).
    pub duration_s: f64,
    /// Simulation step (s).
    pub step_s: f64,
    /// What counts as a pass.
    pub expected: ArmExpected,
}

/// The arm of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmSpec {
    /// The URDF file (resolved against the scenario's directory).
    pub urdf: PathBuf,
    /// Chain parameters.
    pub params: ArmParams,
    /// Base link pose in the world.
    pub base: Isometry3<f64>,
    /// Start joint positions (`None`: every joint at 0 clamped to its limits).
    pub initial_positions: Option<Vec<f64>>,
}

impl ArmSpec {
    /// Builds the arm at its start positions.
    pub fn build(&self) -> Result<Arm, crate::arm::ArmError> {
        let mut arm = Arm::from_file(&self.urdf, &self.params, self.base)?;
        if let Some(q) = &self.initial_positions {
            arm.set_positions(q)?;
        }
        Ok(arm)
    }
}

/// The outcome an arm run must show; `None` fields are not checked.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ArmExpected {
    /// Least number of objects in the tray at the end.
    pub objects_placed: Option<usize>,
    /// Largest allowed mean distance of the tray-bound objects from the tray's inside (m).
    pub max_placement_error_m: Option<f64>,
    /// Most arm contacts allowed.
    pub arm_collisions: Option<u64>,
    /// Most joint-limit violations allowed.
    pub limit_violations: Option<u64>,
}

/// Expands a parsed arm scenario file into runs.
pub(super) fn parse(
    root: &Value,
    origin: &str,
    overrides: &[(String, String)],
) -> Result<Vec<ArmScenarioRun>, ScenarioError> {
    let dir = Path::new(origin)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let runs = expand(root, origin, overrides, TOP_KEYS, |cx, top, parameters| {
        cx.arm_scenario(top, origin, &dir, parameters)
    })?;
    Ok(runs
        .into_iter()
        .map(|(scenario, params)| ArmScenarioRun { scenario, params })
        .collect())
}

/// A pose from `{x, y, z, yaw_deg}` (all optional, 0 by default).
fn pose(x: f64, y: f64, z: f64, yaw_deg: f64) -> Isometry3<f64> {
    Isometry3::from_parts(
        Translation3::new(x, y, z),
        UnitQuaternion::from_axis_angle(&Vector3::z_axis(), yaw_deg.to_radians()),
    )
}

/// A layout region on the table: objects without x, y are scattered in it.
struct Layout {
    seed: u64,
    x: (f64, f64),
    y: (f64, f64),
    clearance: f64,
}

/// An object as written, before a layout places it.
struct RawObject {
    object: TableObject,
    placed: bool,
    path: String,
}

impl Cx<'_> {
    fn arm_scenario(
        &self,
        top: &Obj,
        origin: &str,
        dir: &Path,
        parameters: Vec<Parameter>,
    ) -> Result<ArmScenario, ScenarioError> {
        let name = self.string(self.req(top, "name")?, "name")?;
        if name.trim().is_empty() {
            return Err(self.invalid("name", "must not be empty"));
        }
        let description = match top.get("description") {
            Some(v) => self.string(v, "description")?,
            None => String::new(),
        };
        let arm = self.arm_spec(self.req(top, "arm")?, dir)?;
        let gripper = match top.get("gripper") {
            Some(v) => self.gripper(v)?,
            None => GripperParams::default(),
        };
        let table = self.table(self.req(top, "table")?)?;
        let tray = match top.get("tray") {
            Some(v) => Some(self.tray(v, &table)?),
            None => None,
        };
        let mut objects = match top.get("objects") {
            Some(v) => self.objects(v, &table)?,
            None => Vec::new(),
        };
        let layout = match top.get("layout") {
            Some(v) => Some(self.layout(v, &table)?),
            None => None,
        };
        place(self, &mut objects, layout.as_ref(), tray.as_ref(), &table)?;
        let tabletop = Tabletop::new(table, tray, objects.into_iter().map(|o| o.object).collect())
            .map_err(|e| self.invalid("table", e.to_string()))?;
        let camera = match top.get("camera") {
            Some(v) => self.camera(v)?,
            None => None,
        };
        let duration_s = self.checked(top, "duration_s", None, Rule::Positive)?;
        let step_s = self.checked(top, "step_s", Some(super::DEFAULT_STEP_S), Rule::Positive)?;
        if step_s > duration_s {
            return Err(self.invalid(
                "step_s",
                format!("the step {step_s} s is longer than duration_s {duration_s} s"),
            ));
        }
        let expected = match top.get("expected") {
            Some(v) => self.arm_expected(v)?,
            None => ArmExpected::default(),
        };
        Ok(ArmScenario {
            name,
            description,
            origin: origin.to_string(),
            parameters,
            arm,
            gripper,
            tabletop,
            camera,
            duration_s,
            step_s,
            expected,
        })
    }

    fn arm_spec(&self, value: &Value, dir: &Path) -> Result<ArmSpec, ScenarioError> {
        let o = self.object(
            value,
            "arm",
            &[
                "urdf",
                "base_link",
                "tool_link",
                "base",
                "initial_positions",
                "acceleration",
                "link_radius",
            ],
        )?;
        let urdf_text = self.string(self.req(&o, "urdf")?, "arm.urdf")?;
        let urdf_path = dir.join(&urdf_text);
        let urdf = embody_manipulation::urdf::Urdf::from_file(&urdf_path, &Default::default())
            .map_err(|e| self.invalid("arm.urdf", e.to_string()))?;
        let base_link = match o.get("base_link") {
            Some(v) => self.string(v, "arm.base_link")?,
            None => urdf.root.clone(),
        };
        let tool_link = self.string(self.req(&o, "tool_link")?, "arm.tool_link")?;
        let base = match o.get("base") {
            Some(v) => {
                let b = self.object(v, "arm.base", &["x", "y", "z", "yaw_deg"])?;
                pose(
                    self.num_opt(&b, "x")?.unwrap_or(0.0),
                    self.num_opt(&b, "y")?.unwrap_or(0.0),
                    self.num_opt(&b, "z")?.unwrap_or(0.0),
                    self.num_opt(&b, "yaw_deg")?.unwrap_or(0.0),
                )
            }
            None => Isometry3::identity(),
        };
        let initial_positions = match o.get("initial_positions") {
            Some(v) => {
                let path = "arm.initial_positions";
                let items = self.list(v, path)?;
                Some(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, x)| self.number(x, &format!("{path}[{i}]")))
                        .collect::<Result<Vec<_>, _>>()?,
                )
            }
            None => None,
        };
        let params = ArmParams {
            base_link,
            tool_link,
            acceleration: self.checked(
                &o,
                "acceleration",
                Some(DEFAULT_ACCELERATION),
                Rule::Positive,
            )?,
            link_radius: self.checked(
                &o,
                "link_radius",
                Some(DEFAULT_LINK_RADIUS),
                Rule::Positive,
            )?,
        };
        let spec = ArmSpec {
            urdf: urdf_path,
            params,
            base,
            initial_positions,
        };
        // Cut the chain and set the start now, so link names and joint counts are checked
        // against the file.
        let mut arm =
            Arm::new(&urdf, &spec.params, base).map_err(|e| self.invalid("arm", e.to_string()))?;
        if let Some(q) = &spec.initial_positions {
            arm.set_positions(q)
                .map_err(|e| self.invalid("arm.initial_positions", e.to_string()))?;
        }
        Ok(spec)
    }

    fn gripper(&self, value: &Value) -> Result<GripperParams, ScenarioError> {
        let o = self.object(
            value,
            "gripper",
            &[
                "max_opening",
                "speed",
                "tcp_offset",
                "finger_length",
                "finger_thickness",
            ],
        )?;
        let d = GripperParams::default();
        Ok(GripperParams {
            max_opening: self.checked(&o, "max_opening", Some(d.max_opening), Rule::Positive)?,
            speed: self.checked(&o, "speed", Some(d.speed), Rule::Positive)?,
            tcp_offset: self.checked(&o, "tcp_offset", Some(d.tcp_offset), Rule::NonNegative)?,
            finger_length: self.checked(
                &o,
                "finger_length",
                Some(d.finger_length),
                Rule::Positive,
            )?,
            finger_thickness: self.checked(
                &o,
                "finger_thickness",
                Some(d.finger_thickness),
                Rule::Positive,
            )?,
        })
    }

    fn table(&self, value: &Value) -> Result<Table, ScenarioError> {
        let o = self.object(
            value,
            "table",
            &["x", "y", "yaw_deg", "length", "width", "height"],
        )?;
        Ok(Table {
            x: self.num_opt(&o, "x")?.unwrap_or(0.0),
            y: self.num_opt(&o, "y")?.unwrap_or(0.0),
            yaw: self.num_opt(&o, "yaw_deg")?.unwrap_or(0.0).to_radians(),
            length: self.checked(&o, "length", None, Rule::Positive)?,
            width: self.checked(&o, "width", None, Rule::Positive)?,
            height: self.checked(&o, "height", None, Rule::Positive)?,
        })
    }

    fn tray(&self, value: &Value, table: &Table) -> Result<Tray, ScenarioError> {
        let o = self.object(
            value,
            "tray",
            &[
                "x",
                "y",
                "yaw_deg",
                "length",
                "width",
                "height",
                "thickness",
            ],
        )?;
        let (x, y) = (self.num(&o, "x")?, self.num(&o, "y")?);
        let tray = Tray {
            x,
            y,
            z: if table.covers(x, y, 0.0) {
                table.height
            } else {
                0.0
            },
            yaw: self.num_opt(&o, "yaw_deg")?.unwrap_or(0.0).to_radians(),
            length: self.checked(&o, "length", None, Rule::Positive)?,
            width: self.checked(&o, "width", None, Rule::Positive)?,
            height: self.checked(&o, "height", Some(0.05), Rule::Positive)?,
            thickness: self.checked(&o, "thickness", Some(0.01), Rule::Positive)?,
        };
        if 2.0 * tray.thickness >= tray.length.min(tray.width) || tray.thickness >= tray.height {
            return Err(self.invalid(
                "tray.thickness",
                "the walls leave no room inside (or are taller than the tray)",
            ));
        }
        Ok(tray)
    }

    fn objects(&self, value: &Value, table: &Table) -> Result<Vec<RawObject>, ScenarioError> {
        let items = self.list(value, "objects")?;
        let mut out: Vec<RawObject> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("objects[{i}]");
            let o = self.object(
                item,
                &path,
                &[
                    "name", "kind", "radius", "length", "width", "height", "x", "y", "yaw_deg",
                    "to_tray",
                ],
            )?;
            let name = self.string(self.req(&o, "name")?, &o.path("name"))?;
            if out.iter().any(|r| r.object.name == name) {
                return Err(self.invalid(&o.path("name"), format!("`{name}` is used twice")));
            }
            let kind = self.string(self.req(&o, "kind")?, &o.path("kind"))?;
            let height = self.checked(&o, "height", None, Rule::Positive)?;
            let shape = match kind.as_str() {
                "cup" => ObjectShape::Cup {
                    radius: self.checked(&o, "radius", None, Rule::Positive)?,
                    height,
                },
                "box" => ObjectShape::Box {
                    length: self.checked(&o, "length", None, Rule::Positive)?,
                    width: self.checked(&o, "width", None, Rule::Positive)?,
                    height,
                },
                other => {
                    return Err(self.invalid(
                        &o.path("kind"),
                        format!("unknown object kind `{other}`; known kinds: cup, box"),
                    ));
                }
            };
            let (x, y) = (self.num_opt(&o, "x")?, self.num_opt(&o, "y")?);
            if x.is_some() != y.is_some() {
                return Err(self.invalid(&path, "give both x and y, or neither (for the layout)"));
            }
            let (x, y) = (x.unwrap_or(table.x), y.unwrap_or(table.y));
            out.push(RawObject {
                object: TableObject {
                    name,
                    shape,
                    base: Point3::new(x, y, 0.0),
                    yaw: self.num_opt(&o, "yaw_deg")?.unwrap_or(0.0).to_radians(),
                    to_tray: self.bool_opt(&o, "to_tray")?.unwrap_or(false),
                },
                placed: o.has("x"),
                path,
            });
        }
        Ok(out)
    }

    fn layout(&self, value: &Value, table: &Table) -> Result<Layout, ScenarioError> {
        let o = self.object(value, "layout", &["seed", "region", "clearance"])?;
        let seed = match o.get("seed") {
            Some(v) => self.index(v, "layout.seed")? as u64,
            None => 0,
        };
        let (x, y) = match o.get("region") {
            Some(v) => {
                let r = self.object(v, "layout.region", &["x_min", "x_max", "y_min", "y_max"])?;
                let x = (self.num(&r, "x_min")?, self.num(&r, "x_max")?);
                let y = (self.num(&r, "y_min")?, self.num(&r, "y_max")?);
                if x.0 > x.1 || y.0 > y.1 {
                    return Err(
                        self.invalid("layout.region", "need x_min <= x_max and y_min <= y_max")
                    );
                }
                (x, y)
            }
            // The table's bounding rectangle (exact for an unrotated table).
            None => (
                (table.x - table.length / 2.0, table.x + table.length / 2.0),
                (table.y - table.width / 2.0, table.y + table.width / 2.0),
            ),
        };
        Ok(Layout {
            seed,
            x,
            y,
            clearance: self.checked(&o, "clearance", Some(0.02), Rule::NonNegative)?,
        })
    }

    fn camera(&self, value: &Value) -> Result<Option<DepthCameraParams>, ScenarioError> {
        let o = self.object(
            value,
            "camera",
            &[
                "enabled",
                "width",
                "height",
                "horizontal_fov_deg",
                "position",
                "look_at",
                "min_range",
                "max_range",
                "noise_sigma",
                "seed",
                "rate_hz",
            ],
        )?;
        if !self.bool_opt(&o, "enabled")?.unwrap_or(true) {
            return Ok(None);
        }
        let d = DepthCameraParams::default();
        let point = |key: &str| -> Result<Option<Point3<f64>>, ScenarioError> {
            let Some(v) = o.get(key) else {
                return Ok(None);
            };
            let p = self.object(v, &o.path(key), &["x", "y", "z"])?;
            Ok(Some(Point3::new(
                self.num(&p, "x")?,
                self.num(&p, "y")?,
                self.num(&p, "z")?,
            )))
        };
        let eye = point("position")?.unwrap_or(Point3::from(d.pose.translation.vector));
        let target = point("look_at")?.unwrap_or(eye + Vector3::x());
        if (target - eye).norm() < 1e-9 {
            return Err(self.invalid("camera.look_at", "must differ from the position"));
        }
        let whole = |key: &str, default: u32| -> Result<u32, ScenarioError> {
            match o.get(key) {
                Some(v) => Ok(self.index(v, &o.path(key))? as u32),
                None => Ok(default),
            }
        };
        let params = DepthCameraParams {
            width: whole("width", d.width)?,
            height: whole("height", d.height)?,
            horizontal_fov: self
                .checked(
                    &o,
                    "horizontal_fov_deg",
                    Some(d.horizontal_fov.to_degrees()),
                    Rule::Positive,
                )?
                .to_radians(),
            pose: look_at(eye, target),
            min_range: self.checked(&o, "min_range", Some(d.min_range), Rule::NonNegative)?,
            max_range: self.checked(&o, "max_range", Some(d.max_range), Rule::Positive)?,
            noise_sigma: self.checked(&o, "noise_sigma", Some(d.noise_sigma), Rule::NonNegative)?,
            seed: match o.get("seed") {
                Some(v) => self.index(v, "camera.seed")? as u64,
                None => d.seed,
            },
            rate_hz: self.checked(&o, "rate_hz", Some(d.rate_hz), Rule::Positive)?,
        };
        crate::depth::DepthCamera::new(params)
            .map_err(|e| self.invalid("camera", e.to_string()))?;
        Ok(Some(params))
    }

    fn arm_expected(&self, value: &Value) -> Result<ArmExpected, ScenarioError> {
        let o = self.object(
            value,
            "expected",
            &[
                "objects_placed",
                "max_placement_error_m",
                "arm_collisions",
                "limit_violations",
            ],
        )?;
        let count = |key: &str| -> Result<Option<usize>, ScenarioError> {
            o.get(key).map(|v| self.index(v, &o.path(key))).transpose()
        };
        Ok(ArmExpected {
            objects_placed: count("objects_placed")?,
            max_placement_error_m: self.checked_opt(
                &o,
                "max_placement_error_m",
                Rule::NonNegative,
            )?,
            arm_collisions: count("arm_collisions")?.map(|v| v as u64),
            limit_violations: count("limit_violations")?.map(|v| v as u64),
        })
    }
}

/// The radius of the circle an object's footprint fits in.
fn footprint_radius(shape: &ObjectShape) -> f64 {
    match *shape {
        ObjectShape::Cup { radius, .. } => radius,
        ObjectShape::Box { length, width, .. } => length.hypot(width) / 2.0,
    }
}

/// Puts every object on the surface below it, scattering those without a position over the
/// layout region: uniform draws, each kept when its footprint circle clears the objects
/// placed so far and the tray by `clearance`, and stays on the table.
fn place(
    cx: &Cx,
    objects: &mut [RawObject],
    layout: Option<&Layout>,
    tray: Option<&Tray>,
    table: &Table,
) -> Result<(), ScenarioError> {
    let surface = |x: f64, y: f64| match tray {
        Some(t) if t.holds(x, y, 0.0) => t.floor_top(),
        _ if table.covers(x, y, 0.0) => table.height,
        _ => 0.0,
    };
    let mut rng = SplitMix64::new(layout.map_or(0, |l| l.seed));
    for i in 0..objects.len() {
        if !objects[i].placed {
            let Some(l) = layout else {
                return Err(cx.invalid(&objects[i].path, "no x, y and no `layout:` to place it"));
            };
            let r = footprint_radius(&objects[i].object.shape);
            let mut found = None;
            for _ in 0..LAYOUT_TRIES {
                let x = l.x.0 + r + rng.next_f64() * (l.x.1 - l.x.0 - 2.0 * r).max(0.0);
                let y = l.y.0 + r + rng.next_f64() * (l.y.1 - l.y.0 - 2.0 * r).max(0.0);
                let clear_of_others = objects[..i]
                    .iter()
                    .chain(objects[i + 1..].iter().filter(|o| o.placed))
                    .all(|o| {
                        let d = (o.object.base.xy() - Point3::new(x, y, 0.0).xy()).norm();
                        d >= r + footprint_radius(&o.object.shape) + l.clearance
                    });
                let clear_of_tray =
                    tray.is_none_or(|t| t.distance_to_outside(x, y) > r + l.clearance);
                if clear_of_others && clear_of_tray && table.covers(x, y, r) {
                    found = Some((x, y));
                    break;
                }
            }
            let Some((x, y)) = found else {
                return Err(cx.invalid(
                    "layout",
                    format!(
                        "no room for `{}` after {LAYOUT_TRIES} tries (region too small for the objects)",
                        objects[i].object.name
                    ),
                ));
            };
            objects[i].object.base.x = x;
            objects[i].object.base.y = y;
            objects[i].placed = true;
        }
        let b = &mut objects[i].object.base;
        b.z = surface(b.x, b.y);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Scenario, WorldRun, load_runs, parse_runs};

    fn shipped() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/arm/cups_to_tray.yaml")
    }

    fn arm_runs(overrides: &[(&str, &str)]) -> Vec<ArmScenarioRun> {
        let o: Vec<(String, String)> = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load_runs(shipped(), &o)
            .unwrap()
            .into_iter()
            .map(|r| match r {
                WorldRun::Arm(a) => a,
                WorldRun::Vehicle(_) => panic!("an arm scenario"),
            })
            .collect()
    }

    #[test]
    fn cups_to_tray_expands_into_twenty_different_valid_layouts() {
        let runs = arm_runs(&[]);
        assert_eq!(runs.len(), 20);
        let mut layouts = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            assert_eq!(r.params["layout_seed"], i as f64);
            let t = &r.scenario.tabletop;
            let tray = t.tray.expect("a tray");
            assert_eq!(t.objects.len(), 3);
            for (a, o) in t.objects.iter().enumerate() {
                let ObjectShape::Cup { radius, height } = o.shape else {
                    panic!("cups")
                };
                assert_eq!((radius, height), (0.035, 0.1));
                assert!(o.to_tray && o.base.z == 0.75);
                // In the region, on the table, clear of the tray and of each other.
                assert!(
                    (0.3 + radius..=0.7 - radius).contains(&o.base.x),
                    "{:?}",
                    o.base
                );
                assert!((-0.4 + radius..=0.15 - radius).contains(&o.base.y));
                assert!(tray.distance_to_outside(o.base.x, o.base.y) > radius + 0.04);
                for b in &t.objects[a + 1..] {
                    let d = (o.base.xy() - b.base.xy()).norm();
                    assert!(d >= 2.0 * radius + 0.04, "seed {i}: cups {d} m apart");
                }
            }
            layouts.push(
                t.objects
                    .iter()
                    .map(|o| (o.base.x, o.base.y))
                    .collect::<Vec<_>>(),
            );
            // The same seed gives the same layout.
            assert_eq!(
                r.scenario,
                arm_runs(&[("layout_seed", &i.to_string())])[0].scenario
            );
        }
        for (i, a) in layouts.iter().enumerate() {
            assert!(
                layouts[i + 1..].iter().all(|b| b != a),
                "layout {i} repeats"
            );
        }
        let s = &runs[0].scenario;
        assert_eq!(s.arm.params.tool_link, "tool0");
        assert_eq!(s.arm.initial_positions.as_ref().map(Vec::len), Some(6));
        assert_eq!(s.expected.objects_placed, Some(3));
        let cam = s.camera.expect("camera on");
        assert_eq!((cam.width, cam.height, cam.rate_hz), (160, 120, 15.0));
        assert!((cam.pose.translation.vector - Vector3::new(1.2, -0.6, 1.4)).norm() < 1e-12);
    }

    /// A minimal arm scenario around the test URDF; `extra` is appended at the top level.
    fn minimal(extra: &str) -> String {
        let urdf = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../manipulation/tests/data/robots/panda/panda.urdf");
        format!(
            "name: t\nworld: arm\narm: {{urdf: {}, tool_link: panda_link8}}\n\
             table: {{length: 1, width: 1, height: 0.7}}\nduration_s: 1\n{extra}",
            urdf.display()
        )
    }

    fn error(text: &str) -> String {
        match parse_runs(text, "t.yaml", &[]) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn minimal_scenarios_take_defaults() {
        let runs = parse_runs(
            &minimal("objects: [{name: c, kind: cup, radius: 0.03, height: 0.1, x: 0.2, y: 0}]"),
            "t.yaml",
            &[],
        )
        .unwrap();
        let [WorldRun::Arm(r)] = runs.as_slice() else {
            panic!("one arm run")
        };
        let s = &r.scenario;
        assert_eq!(s.arm.params.base_link, "panda_link0", "the URDF's root");
        assert_eq!(s.arm.params.acceleration, DEFAULT_ACCELERATION);
        assert_eq!(s.gripper, GripperParams::default());
        assert!(s.camera.is_none() && s.tabletop.tray.is_none());
        assert_eq!(s.tabletop.objects[0].base, Point3::new(0.2, 0.0, 0.7));
        assert_eq!(s.step_s, crate::scenario::DEFAULT_STEP_S);
    }

    #[test]
    fn errors_name_the_file_and_field() {
        assert!(
            error(&minimal("gripper: {opening: 1}"))
                .contains("t.yaml: gripper.opening: unknown key")
        );
        let e = error(&minimal("").replace("panda_link8", "panda_hand_nope"));
        assert!(
            e.starts_with("t.yaml: arm: chain: link 'panda_hand_nope'"),
            "{e}"
        );
        let e = error(&minimal("").replace(
            "tool_link: panda_link8",
            "tool_link: panda_link8, initial_positions: [0, 0]",
        ));
        assert!(
            e.contains("arm.initial_positions: initial positions: 2 values for 7 joints"),
            "{e}"
        );
        let e = error(&minimal("objects: [{name: c, kind: mug, height: 0.1}]"));
        assert!(
            e.contains("objects[0].kind: unknown object kind `mug`"),
            "{e}"
        );
        let e = error(&minimal(
            "objects: [{name: c, kind: cup, radius: 0.03, height: 0.1}]",
        ));
        assert!(e.contains("objects[0]: no x, y and no `layout:`"), "{e}");
        let crowded = "objects: [{name: a, kind: cup, radius: 0.2, height: 0.1}, \
                       {name: b, kind: cup, radius: 0.2, height: 0.1}]\n\
                       layout: {region: {x_min: 0, x_max: 0.45, y_min: 0, y_max: 0.45}}";
        assert!(error(&minimal(crowded)).contains("layout: no room for `b`"));
        let e = error(&minimal("").replace("urdf: ", "urdf: /nope/"));
        assert!(e.starts_with("t.yaml: arm.urdf: "), "{e}");
        assert!(error("name: t\nworld: boat\n").contains("world: expected `vehicle` or `arm`"));
        // The vehicle loader refuses arm files with a pointer to the one that reads them.
        let e = Scenario::parse_str(&minimal(""), "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("an arm scenario"), "{e}");
    }
}
