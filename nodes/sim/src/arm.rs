//! A simulated arm from any URDF: the chain from a base link to a tool link, its joint state,
//! and a controller that follows position targets, velocity commands or joint trajectories
//! within the URDF's position and velocity limits and an acceleration limit.
//!
//! The controller is kinematic (no dynamics): each step picks the velocity that would reach
//! the reference, then limits it by the joint's speed, by the acceleration limit, and by the
//! distance left to the position limits. A joint therefore never leaves its limits; commands
//! that ask it to are clamped and counted in [`Arm::limit_violations`].

use std::path::Path;

use embody_manipulation::kinematics::{Chain, ChainError};
use embody_manipulation::urdf::{JointKind, Shape as UrdfShape, Urdf, UrdfError};
use nalgebra::{Isometry3, Point3, Vector3};
use thiserror::Error;

use crate::capsule::Capsule;
use crate::geometry::{GeometryError, Obb, Ray};
use embody_control::joint_trajectory::{
    JointTrajectory, Spline, TrajectoryError, tracking_velocity,
};

/// Acceleration limit when none is configured (rad/s² or m/s²). URDF has no acceleration
/// limits; 5 rad/s² lets a UR5 joint reach its 3.15 rad/s in 0.63 s, close to what
/// MoveIt's default joint_limits.yaml files give industrial arms.
pub const DEFAULT_ACCELERATION: f64 = 5.0;

/// Speed used for a joint whose URDF velocity limit is 0 (rad/s or m/s).
pub const DEFAULT_VELOCITY: f64 = 1.0;

/// Radius of the capsules between joint origins for links without primitive collision
/// shapes (m): the arms we load describe their links with meshes only.
pub const DEFAULT_LINK_RADIUS: f64 = 0.04;

/// Joint origins closer than this give no capsule (m).
const MIN_SEGMENT: f64 = 1e-3;

/// Why an arm cannot be built or commanded.
#[derive(Debug, Error)]
pub enum ArmError {
    /// The URDF could not be read or parsed.
    #[error("{path}: {source}")]
    Urdf {
        /// The URDF file.
        path: String,
        /// The problem.
        source: UrdfError,
    },
    /// The base and tool links do not form a chain.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// A trajectory is malformed.
    #[error("trajectory: {0}")]
    Trajectory(#[from] TrajectoryError),
    /// A command has the wrong number of values.
    #[error("{what}: {got} values for {want} joints")]
    Length {
        /// What was given.
        what: &'static str,
        /// Values given.
        got: usize,
        /// Joints of the arm.
        want: usize,
    },
    /// A command holds a NaN or infinity.
    #[error("{0}: not a finite number")]
    NotFinite(&'static str),
    /// A parameter is out of range.
    #[error("{what} must be > 0, got {value}")]
    NotPositive {
        /// Which parameter.
        what: &'static str,
        /// The value.
        value: f64,
    },
    /// A collision primitive could not be built.
    #[error("link geometry: {0}")]
    Geometry(#[from] GeometryError),
}

/// How the arm is cut out of its URDF and limited.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmParams {
    /// The first link of the chain (fixed to the world at the base pose).
    pub base_link: String,
    /// The last link (the gripper sits on it).
    pub tool_link: String,
    /// Acceleration limit of every joint (rad/s² or m/s²).
    pub acceleration: f64,
    /// Radius of the joint-origin capsules (m).
    pub link_radius: f64,
}

/// A collision solid of a link, in the link frame.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LocalSolid {
    Capsule {
        a: Point3<f64>,
        b: Point3<f64>,
        r: f64,
    },
    Box {
        pose: Isometry3<f64>,
        half: Vector3<f64>,
    },
}

/// A link solid in the world frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Solid {
    /// A capsule (joint-origin segments, URDF cylinders and spheres).
    Capsule(Capsule),
    /// An oriented box (URDF boxes).
    Box(Obb),
}

impl Solid {
    /// Nearest surface crossing of `ray` in `(t_min, t_max]`.
    pub fn ray_intersect(&self, ray: &Ray, t_min: f64, t_max: f64) -> Option<f64> {
        match self {
            Solid::Capsule(c) => c.ray_intersect(ray, t_min, t_max),
            Solid::Box(b) => b.ray_intersect(ray, t_min, t_max),
        }
    }

    /// The axis-aligned bounds.
    pub fn aabb(&self) -> crate::geometry::Aabb {
        match self {
            Solid::Capsule(c) => c.aabb(),
            Solid::Box(b) => b.aabb(),
        }
    }
}

/// One collision solid of the arm in the world frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkSolid {
    /// Index of the link in [`Arm::link_names`].
    pub link: usize,
    /// Whether the link is rigidly fixed to the base (it never moves, so contacts with what
    /// it stands on are its mounting, not collisions).
    pub fixed_to_base: bool,
    /// The solid.
    pub solid: Solid,
}

/// What the controller follows.
#[derive(Debug, Clone, PartialEq)]
enum Mode {
    Hold,
    Position(Vec<f64>),
    Velocity(Vec<f64>),
    Trajectory { spline: Spline, elapsed: f64 },
}

/// The arm: chain, state, limits, controller and collision solids.
#[derive(Debug, Clone)]
pub struct Arm {
    chain: Chain,
    base_pose: Isometry3<f64>,
    q: Vec<f64>,
    qd: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    vmax: Vec<f64>,
    amax: f64,
    mode: Mode,
    pinned: Vec<bool>,
    violations: u64,
    link_names: Vec<String>,
    /// Per chain link: how many moving joints lie before it.
    moving_before: Vec<usize>,
    solids: Vec<(usize, LocalSolid)>,
}

impl Arm {
    /// Loads the URDF at `path` and builds the arm at `base_pose` (world frame).
    pub fn from_file(
        path: &Path,
        params: &ArmParams,
        base_pose: Isometry3<f64>,
    ) -> Result<Self, ArmError> {
        let urdf = Urdf::from_file(path, &Default::default()).map_err(|source| ArmError::Urdf {
            path: path.display().to_string(),
            source,
        })?;
        Self::new(&urdf, params, base_pose)
    }

    /// Builds the arm from a parsed URDF, every joint at its nominal position clamped to 0
    /// where 0 is within the limits (the usual "home" of a URDF).
    pub fn new(
        urdf: &Urdf,
        params: &ArmParams,
        base_pose: Isometry3<f64>,
    ) -> Result<Self, ArmError> {
        for (what, value) in [
            ("acceleration", params.acceleration),
            ("link_radius", params.link_radius),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(ArmError::NotPositive { what, value });
            }
        }
        let chain = Chain::new(urdf, &params.base_link, &params.tool_link)?;
        let n = chain.dof();
        let lower: Vec<f64> = chain.joints().iter().map(|j| j.lower).collect();
        let upper: Vec<f64> = chain.joints().iter().map(|j| j.upper).collect();
        let vmax = chain
            .joints()
            .iter()
            .map(|j| {
                if j.max_velocity > 0.0 {
                    j.max_velocity
                } else {
                    DEFAULT_VELOCITY
                }
            })
            .collect();
        let q = (0..n).map(|j| 0.0f64.clamp(lower[j], upper[j])).collect();
        let link_names: Vec<String> = chain.links().iter().map(|l| l.name.clone()).collect();
        let moving_before = moving_joints_before(urdf, &link_names);
        let solids = link_solids(urdf, &chain, &link_names, params.link_radius);
        Ok(Self {
            chain,
            base_pose,
            q,
            qd: vec![0.0; n],
            lower,
            upper,
            vmax,
            amax: params.acceleration,
            mode: Mode::Hold,
            pinned: vec![false; n],
            violations: 0,
            link_names,
            moving_before,
            solids,
        })
    }

    /// The kinematic chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The base pose in the world.
    pub fn base_pose(&self) -> Isometry3<f64> {
        self.base_pose
    }

    /// Joint names, base to tool.
    pub fn joint_names(&self) -> Vec<&str> {
        self.chain
            .joints()
            .iter()
            .map(|j| j.name.as_str())
            .collect()
    }

    /// Joint positions (rad or m).
    pub fn positions(&self) -> &[f64] {
        &self.q
    }

    /// Joint velocities (rad/s or m/s).
    pub fn velocities(&self) -> &[f64] {
        &self.qd
    }

    /// Lower and upper position limits of joint `j`.
    pub fn limits(&self, j: usize) -> (f64, f64) {
        (self.lower[j], self.upper[j])
    }

    /// Speed limit of joint `j`.
    pub fn max_velocity(&self, j: usize) -> f64 {
        self.vmax[j]
    }

    /// The acceleration limit.
    pub fn max_acceleration(&self) -> f64 {
        self.amax
    }

    /// Commands that asked a joint to leave its limits (clamped instead), so far.
    pub fn limit_violations(&self) -> u64 {
        self.violations
    }

    /// Names of the chain's links, base to tool.
    pub fn link_names(&self) -> &[String] {
        &self.link_names
    }

    /// Puts the arm at `q` at rest (a scenario's start), clamped to the limits.
    pub fn set_positions(&mut self, q: &[f64]) -> Result<(), ArmError> {
        self.check(q, "initial positions")?;
        for (j, v) in q.iter().enumerate() {
            self.q[j] = v.clamp(self.lower[j], self.upper[j]);
        }
        self.qd.fill(0.0);
        self.mode = Mode::Hold;
        Ok(())
    }

    fn check(&self, v: &[f64], what: &'static str) -> Result<(), ArmError> {
        if v.len() != self.q.len() {
            return Err(ArmError::Length {
                what,
                got: v.len(),
                want: self.q.len(),
            });
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(ArmError::NotFinite(what));
        }
        Ok(())
    }

    /// Clamps one value to joint `j`'s limits, counting a violation when it had to.
    fn clamp_counted(&mut self, j: usize, v: f64) -> f64 {
        let c = v.clamp(self.lower[j], self.upper[j]);
        if c != v {
            self.violations += 1;
        }
        c
    }

    /// Stops the arm where it is (decelerating within the acceleration limit).
    pub fn hold(&mut self) {
        self.mode = Mode::Hold;
    }

    /// Moves to `target` at the limits' pace; targets beyond a limit are clamped and counted.
    pub fn command_positions(&mut self, target: &[f64]) -> Result<(), ArmError> {
        self.check(target, "position target")?;
        let t = (0..target.len())
            .map(|j| self.clamp_counted(j, target[j]))
            .collect();
        self.mode = Mode::Position(t);
        Ok(())
    }

    /// Moves at `velocity` (clamped to the speed limits) until a position limit stops it.
    pub fn command_velocities(&mut self, velocity: &[f64]) -> Result<(), ArmError> {
        self.check(velocity, "velocity command")?;
        self.mode = Mode::Velocity(velocity.to_vec());
        Ok(())
    }

    /// Follows a trajectory from the present state; joints it does not name hold their
    /// position. Points beyond a limit are clamped and counted.
    pub fn command_trajectory(&mut self, traj: &JointTrajectory) -> Result<(), ArmError> {
        let names = self.joint_names();
        let mut points = traj.reordered(&names, &self.q)?;
        for p in &mut points {
            for j in 0..p.positions.len() {
                p.positions[j] = self.clamp_counted(j, p.positions[j]);
            }
        }
        self.mode = Mode::Trajectory {
            spline: Spline::new(&self.q, &self.qd, &points),
            elapsed: 0.0,
        };
        Ok(())
    }

    /// Whether the arm moves or a trajectory is still running (a joint that lags its
    /// trajectory keeps moving after the last point's time, until it arrives).
    pub fn is_moving(&self) -> bool {
        let running = match &self.mode {
            Mode::Trajectory { spline, elapsed } => *elapsed < spline.duration(),
            _ => false,
        };
        running || self.qd.iter().any(|v| v.abs() > 1e-9)
    }

    /// Advances the controller and the joints by `dt` seconds.
    pub fn step(&mut self, dt: f64) {
        if !(dt.is_finite() && dt > 0.0) {
            return;
        }
        let n = self.q.len();
        let mut want = vec![0.0; n];
        match &mut self.mode {
            Mode::Hold => {}
            Mode::Velocity(v) => want.copy_from_slice(v),
            Mode::Position(target) => {
                for j in 0..n {
                    let e = target[j] - self.q[j];
                    // The fastest speed from which the joint can still stop at the target.
                    let stop = (2.0 * self.amax * e.abs()).sqrt();
                    want[j] = e.signum() * stop.min(e.abs() / dt);
                }
            }
            Mode::Trajectory { spline, elapsed } => {
                *elapsed += dt;
                let (mut q_ref, mut qd_ref) = (vec![0.0; n], vec![0.0; n]);
                spline.sample(*elapsed, &mut q_ref, &mut qd_ref);
                for j in 0..n {
                    want[j] = tracking_velocity(self.q[j], q_ref[j], qd_ref[j], dt, self.amax);
                }
            }
        }
        for (j, &w) in want.iter().enumerate() {
            let mut v = w.clamp(-self.vmax[j], self.vmax[j]);
            // Room left to each limit: never approach faster than the joint can stop in it.
            let room_up = self.upper[j] - self.q[j];
            let room_down = self.q[j] - self.lower[j];
            if v > 0.0 {
                v = v.min((2.0 * self.amax * room_up).sqrt()).min(room_up / dt);
            } else if v < 0.0 {
                v = v
                    .max(-(2.0 * self.amax * room_down).sqrt())
                    .max(-room_down / dt);
            }
            let dv = self.amax * dt;
            v = v.clamp(self.qd[j] - dv, self.qd[j] + dv);
            let mut q = self.q[j] + v * dt;
            if q > self.upper[j] || q < self.lower[j] {
                q = q.clamp(self.lower[j], self.upper[j]);
                v = 0.0;
            }
            // Position targets and trajectory points were clamped (and counted) on arrival;
            // a velocity command held against a limit counts once per arrival there.
            let at_limit = (q >= self.upper[j] && w > 0.0) || (q <= self.lower[j] && w < 0.0);
            if at_limit && !self.pinned[j] && matches!(self.mode, Mode::Velocity(_)) {
                self.violations += 1;
            }
            self.pinned[j] = at_limit;
            self.q[j] = q;
            self.qd[j] = v;
        }
    }

    /// The tool link's pose in the world.
    pub fn tool_pose(&self) -> Isometry3<f64> {
        self.base_pose * self.chain.fk(&self.q)
    }

    /// Every chain link's pose in the world, base to tool.
    pub fn link_poses(&self) -> Vec<Isometry3<f64>> {
        self.chain
            .link_poses(&self.q)
            .into_iter()
            .map(|(_, p)| self.base_pose * p)
            .collect()
    }

    /// The collision solids in the world at the present joint positions.
    pub fn solids(&self) -> Vec<LinkSolid> {
        let poses = self.link_poses();
        self.solids
            .iter()
            .filter_map(|(link, local)| {
                let pose = poses[*link];
                let solid = match local {
                    LocalSolid::Capsule { a, b, r } => {
                        Solid::Capsule(Capsule::new(pose * a, pose * b, *r).ok()?)
                    }
                    LocalSolid::Box { pose: p, half } => {
                        let world = pose * p;
                        Solid::Box(
                            Obb::with_rotation(
                                Point3::from(world.translation.vector),
                                *half,
                                world.rotation.to_rotation_matrix(),
                            )
                            .ok()?,
                        )
                    }
                };
                Some(LinkSolid {
                    link: *link,
                    fixed_to_base: self.moving_before[*link] == 0,
                    solid,
                })
            })
            .collect()
    }
}

/// For each chain link, how many moving URDF joints lie between the base and it.
fn moving_joints_before(urdf: &Urdf, links: &[String]) -> Vec<usize> {
    let mut out = Vec::with_capacity(links.len());
    let mut count = 0;
    for (k, link) in links.iter().enumerate() {
        if k > 0 {
            let prev = &links[k - 1];
            let joint = urdf.joints.iter().find(|j| {
                (&j.parent == prev && &j.child == link) || (&j.child == prev && &j.parent == link)
            });
            if joint.is_some_and(|j| j.kind != JointKind::Fixed) {
                count += 1;
            }
        }
        out.push(count);
    }
    out
}

/// Collision solids per link: the URDF's primitive collision shapes where it has them, else a
/// capsule from the link's origin to the next link's origin.
fn link_solids(
    urdf: &Urdf,
    chain: &Chain,
    links: &[String],
    radius: f64,
) -> Vec<(usize, LocalSolid)> {
    let zero = vec![0.0; chain.dof()];
    let poses: Vec<Isometry3<f64>> = chain
        .link_poses(&zero)
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let mut out = Vec::new();
    for (k, name) in links.iter().enumerate() {
        let mut primitive = false;
        if let Some(link) = urdf.link(name) {
            for g in &link.collisions {
                let solid = match &g.shape {
                    UrdfShape::Box { size } => LocalSolid::Box {
                        pose: g.origin,
                        half: size / 2.0,
                    },
                    UrdfShape::Cylinder { radius, length } => LocalSolid::Capsule {
                        a: g.origin * Point3::new(0.0, 0.0, -length / 2.0),
                        b: g.origin * Point3::new(0.0, 0.0, length / 2.0),
                        r: *radius,
                    },
                    UrdfShape::Sphere { radius } => LocalSolid::Capsule {
                        a: g.origin * Point3::origin(),
                        b: g.origin * Point3::origin(),
                        r: *radius,
                    },
                    UrdfShape::Mesh { .. } => continue,
                };
                // Tiny marker shapes (a 1 cm ee_link box) would hide the segment fallback.
                let big = match solid {
                    LocalSolid::Box { half, .. } => half.max() >= 0.01,
                    LocalSolid::Capsule { r, .. } => r >= 0.01,
                };
                if big {
                    out.push((k, solid));
                    primitive = true;
                }
            }
        }
        if primitive || k + 1 >= links.len() {
            continue;
        }
        // The next link's origin in this link's frame: constant across a revolute joint,
        // whose axis passes through it; a prismatic joint is drawn at its zero position.
        let next = poses[k].inverse() * poses[k + 1];
        let b = Point3::from(next.translation.vector);
        if b.coords.norm() >= MIN_SEGMENT {
            out.push((
                k,
                LocalSolid::Capsule {
                    a: Point3::origin(),
                    b,
                    r: radius,
                },
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use embody_control::joint_trajectory::TrajectoryPoint;

    /// Two revolute joints about z with ±1 rad, 1 rad/s; links 0.5 m long along x.
    pub(crate) const TWO_JOINTS: &str = r#"<robot name="two">
      <link name="base"/><link name="l1"/><link name="l2"/><link name="tool"/>
      <joint name="j1" type="revolute"><parent link="base"/><child link="l1"/>
        <origin xyz="0 0 0.1"/><axis xyz="0 0 1"/>
        <limit lower="-1" upper="1" velocity="1" effort="1"/></joint>
      <joint name="j2" type="revolute"><parent link="l1"/><child link="l2"/>
        <origin xyz="0.5 0 0"/><axis xyz="0 0 1"/>
        <limit lower="-1" upper="1" velocity="1" effort="1"/></joint>
      <joint name="t" type="fixed"><parent link="l2"/><child link="tool"/>
        <origin xyz="0.5 0 0"/></joint>
    </robot>"#;

    fn arm(accel: f64) -> Arm {
        let urdf = Urdf::parse_str(TWO_JOINTS).unwrap();
        let p = ArmParams {
            base_link: "base".into(),
            tool_link: "tool".into(),
            acceleration: accel,
            link_radius: 0.05,
        };
        Arm::new(&urdf, &p, Isometry3::identity()).unwrap()
    }

    fn run(a: &mut Arm, seconds: f64, dt: f64) -> (f64, f64) {
        let (mut vpeak, mut apeak) = (0.0f64, 0.0f64);
        let steps = (seconds / dt).round() as usize;
        for _ in 0..steps {
            let before = a.velocities().to_vec();
            a.step(dt);
            for (j, v) in a.velocities().iter().enumerate() {
                vpeak = vpeak.max(v.abs());
                apeak = apeak.max(((v - before[j]) / dt).abs());
            }
        }
        (vpeak, apeak)
    }

    #[test]
    fn a_position_move_respects_speed_and_acceleration_and_arrives() {
        let mut a = arm(2.0);
        a.command_positions(&[0.9, -0.9]).unwrap();
        // Trapezoid: 0.5 s up to 1 rad/s (0.25 rad), 0.4 s cruise, 0.5 s down: 1.4 s.
        let (v, acc) = run(&mut a, 1.3, 0.001);
        assert!(v <= 1.0 + 1e-12 && acc <= 2.0 + 1e-9, "v {v} a {acc}");
        assert!(
            (a.positions()[0] - 0.9).abs() > 1e-3,
            "not there before 1.4 s"
        );
        run(&mut a, 0.2, 0.001);
        assert!((a.positions()[0] - 0.9).abs() < 1e-3, "{:?}", a.positions());
        assert!((a.positions()[1] + 0.9).abs() < 1e-3);
        assert_eq!(a.limit_violations(), 0);
    }

    #[test]
    fn targets_beyond_the_limits_are_clamped_and_counted() {
        let mut a = arm(5.0);
        a.command_positions(&[2.0, -0.5]).unwrap();
        run(&mut a, 3.0, 0.01);
        assert!((a.positions()[0] - 1.0).abs() < 1e-9);
        assert_eq!(a.limit_violations(), 1);
        // A velocity command into the lower limit stops the joint there, once counted.
        a.command_velocities(&[0.0, -1.0]).unwrap();
        let mut lowest = f64::INFINITY;
        for _ in 0..300 {
            a.step(0.01);
            lowest = lowest.min(a.positions()[1]);
        }
        assert!(lowest >= -1.0, "never below the limit: {lowest}");
        assert!((a.positions()[1] + 1.0).abs() < 1e-9);
        assert_eq!(a.limit_violations(), 2);
        assert!(a.command_positions(&[0.0]).is_err());
        assert!(a.command_velocities(&[f64::NAN, 0.0]).is_err());
    }

    #[test]
    fn a_feasible_trajectory_is_followed_to_the_sample() {
        let mut a = arm(10.0);
        let traj = JointTrajectory {
            joint_names: vec!["j2".into(), "j1".into()],
            points: vec![
                TrajectoryPoint {
                    positions: vec![0.2, 0.5],
                    velocities: Some(vec![0.0, 0.0]),
                    time_from_start: 2.0,
                },
                TrajectoryPoint {
                    positions: vec![0.0, 0.0],
                    velocities: None,
                    time_from_start: 3.0,
                },
            ],
        };
        a.command_trajectory(&traj).unwrap();
        // Cubic from rest: j1 at 1 s is half-way (0.25), speed 0.375 rad/s, peak accel 0.75.
        run(&mut a, 1.0, 0.001);
        assert!(
            (a.positions()[0] - 0.25).abs() < 1e-9,
            "{:?}",
            a.positions()
        );
        assert!((a.positions()[1] - 0.1).abs() < 1e-9);
        run(&mut a, 1.5, 0.001);
        // Linear back from 0.5 at 2 s to 0 at 3 s: 0.25 at 2.5 s.
        assert!(
            (a.positions()[0] - 0.25).abs() < 1e-9,
            "{:?}",
            a.positions()
        );
        run(&mut a, 1.0, 0.001);
        // Stopping from 0.5 rad/s at 10 rad/s² takes 0.05 s; then at rest at the end.
        assert!(
            a.positions().iter().all(|q| q.abs() < 1e-3),
            "{:?}",
            a.positions()
        );
        assert!(!a.is_moving());
        assert_eq!(a.limit_violations(), 0);
    }

    #[test]
    fn a_too_fast_trajectory_lags_within_the_limits() {
        let mut a = arm(5.0);
        let traj = JointTrajectory {
            joint_names: vec!["j1".into()],
            points: vec![TrajectoryPoint {
                positions: vec![1.5],
                velocities: None,
                time_from_start: 0.5,
            }],
        };
        a.command_trajectory(&traj).unwrap();
        assert_eq!(a.limit_violations(), 1, "1.5 rad is beyond the 1 rad limit");
        let (v, acc) = run(&mut a, 0.5, 0.001);
        assert!(v <= 1.0 + 1e-12 && acc <= 5.0 + 1e-9);
        // 0.2 s to reach 1 rad/s (0.1 rad), then 0.3 s at 1 rad/s: 0.4 rad at 0.5 s.
        assert!((a.positions()[0] - 0.4).abs() < 2e-3, "{:?}", a.positions());
        run(&mut a, 2.0, 0.001);
        assert!((a.positions()[0] - 1.0).abs() < 1e-9);
        let bad = JointTrajectory {
            joint_names: vec!["elbow".into()],
            points: traj.points.clone(),
        };
        assert!(matches!(
            a.command_trajectory(&bad),
            Err(ArmError::Trajectory(TrajectoryError::UnknownJoint(_)))
        ));
    }

    #[test]
    fn links_become_capsules_between_joint_origins() {
        let mut a = arm(5.0);
        let solids = a.solids();
        // base → l1 (0.1 up, fixed to the base), l1 → l2, l2 → tool.
        assert_eq!(solids.len(), 3);
        assert!(solids[0].fixed_to_base && !solids[1].fixed_to_base);
        a.set_positions(&[std::f64::consts::FRAC_PI_4.min(1.0), 0.0])
            .unwrap();
        let tip = a.tool_pose().translation.vector;
        let c = std::f64::consts::FRAC_PI_4.cos();
        assert!((tip - Vector3::new(c, c, 0.1)).norm() < 1e-12);
        let Solid::Capsule(last) = a.solids()[2].solid else {
            panic!("capsule expected")
        };
        assert!((last.b.coords - tip).norm() < 1e-12);
    }

    #[test]
    fn the_panda_loads_with_its_limits() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../manipulation/tests/data/robots/panda/panda.urdf");
        let p = ArmParams {
            base_link: "panda_link0".into(),
            tool_link: "panda_link8".into(),
            acceleration: DEFAULT_ACCELERATION,
            link_radius: DEFAULT_LINK_RADIUS,
        };
        let a = Arm::from_file(&dir, &p, Isometry3::identity()).unwrap();
        assert_eq!(a.joint_names().len(), 7);
        assert!((a.limits(3).0 + 3.0718).abs() < 1e-4);
        assert!((a.max_velocity(0) - 2.175).abs() < 1e-9);
        assert!(a.chain().within_limits(a.positions()));
        let missing = ArmParams {
            tool_link: "nope".into(),
            ..p
        };
        assert!(Arm::from_file(&dir, &missing, Isometry3::identity()).is_err());
    }
}
