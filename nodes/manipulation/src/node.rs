//! The manipulation node: objects and joint states in; the `manipulation/pick_place` action
//! (embody_msgs PickPlace) out, executed as joint trajectories on
//! `arm_controller/joint_trajectory` and openings on `gripper/command`. A thin adapter around
//! [`crate::pick_place::plan_pick_place`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use embody::action::{GoalHandle, GoalOutcome};
use embody::msgs::builtin_interfaces::msg::Duration as MsgDuration;
use embody::msgs::embody_msgs::action::{PickPlace, PickPlace_Feedback, PickPlace_Result};
use embody::msgs::embody_msgs::msg::{ObjectClassification, PredictedObjects};
use embody::msgs::embody_msgs::srv::{MoveTo, MoveTo_Request, MoveTo_Response};
use embody::msgs::geometry_msgs::msg::{Pose, PoseStamped};
use embody::msgs::sensor_msgs::msg::{CameraInfo, JointState};
use embody::msgs::std_msgs::msg::Float64;
use embody::msgs::trajectory_msgs::msg::{JointTrajectory, JointTrajectoryPoint};
use embody::params::{ParameterDescriptor, ParameterValue};
use embody::{Node, Publisher, QosProfile, Time};
use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};
use tokio::sync::{Mutex, watch};

use crate::collision::Convex;
use crate::pick_place::{GripperAction, PickPlaceOptions, PickPlaceRequest, plan_pick_place};
use crate::scene::SceneObject;
use crate::timing::{KinematicLimits, Trajectory};
use crate::{IkOptions, IkSolver, RobotModel, RobotModelOptions, Scene, Urdf};

/// Why the node stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The runtime failed (creating endpoints).
    #[error(transparent)]
    Runtime(#[from] embody::Error),
    /// A parameter was wrong, or the robot it names could not be loaded.
    #[error("parameter: {0}")]
    Parameter(String),
}

/// A box standing on the floor or on the table, in the world frame (m).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Block {
    /// Centre x.
    pub x: f64,
    /// Centre y.
    pub y: f64,
    /// Size along x.
    pub length: f64,
    /// Size along y.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// What the node was configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    /// The robot description.
    pub urdf: PathBuf,
    /// The arm's base link (the planning frame).
    pub base_link: String,
    /// The flange the gripper is mounted on.
    pub tip_link: String,
    /// Distance of the gripper's TCP from the flange along its z axis (m).
    pub tcp_offset: f64,
    /// The gripper's full opening (m), sent to release.
    pub gripper_open: f64,
    /// The arm base in the world frame.
    pub base_pose: Isometry3<f64>,
    /// The table (world frame; the top at `height`).
    pub table: Block,
    /// The tray on the table (floor plate and four walls of `tray_thickness`).
    pub tray: Block,
    /// Wall and floor thickness of the tray (m).
    pub tray_thickness: f64,
    /// Where tabletop objects come from (embody_msgs PredictedObjects, world frame).
    pub objects_topic: String,
    /// The camera whose pixels PickPlace goals may name (`sensor_msgs/CameraInfo`).
    pub camera_info_topic: String,
    /// Fraction of the URDF velocity limits the trajectories use.
    pub velocity_scale: f64,
    /// Joint error (rad) at which a motion counts as arrived.
    pub goal_tolerance: f64,
    /// Sim time a motion may overrun its duration before the goal is aborted (s).
    pub settle_timeout_s: f64,
}

impl NodeConfig {
    /// Reads the parameters: `urdf`, `base_link`, `tip_link`, `tcp_offset`, `gripper_open`,
    /// `base_x|y|z|yaw`, `table_x|y|length|width|height`, `tray_x|y|length|width|height|thickness`
    /// (defaults: `scenarios/arm/cups_to_tray.yaml`), `objects_topic`, `velocity_scale`,
    /// `goal_tolerance`, `settle_timeout_s`.
    pub fn from_parameters(node: &Node) -> Result<Self, NodeError> {
        let p = node.parameters();
        let err = |e: embody::params::ParamError| NodeError::Parameter(e.to_string());
        let text = |name: &str, default: &str, about: &str| -> Result<String, NodeError> {
            match p
                .declare(name, default, ParameterDescriptor::new(about))
                .map_err(err)?
            {
                ParameterValue::String(s) => Ok(s),
                other => Err(NodeError::Parameter(format!(
                    "`{name}` must be a string, not {other:?}"
                ))),
            }
        };
        let number = |name: &str, default: f64, about: &str| -> Result<f64, NodeError> {
            p.declare(name, default, ParameterDescriptor::new(about))
                .map_err(err)?;
            let v = p.get_f64(name).map_err(err)?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(NodeError::Parameter(format!("`{name}` must be finite")))
            }
        };
        let urdf = text(
            "urdf",
            "nodes/manipulation/tests/data/robots/ur5/ur5_robot.urdf",
            "robot description file",
        )?;
        let base_link = text("base_link", "base_link", "the arm's base link")?;
        let tip_link = text("tip_link", "tool0", "the flange the gripper sits on")?;
        let tcp_offset = number("tcp_offset", 0.15, "TCP beyond the flange along z (m)")?;
        let gripper_open = number("gripper_open", 0.085, "full gripper opening (m)")?;
        let base_pose = Isometry3::from_parts(
            Translation3::new(
                number("base_x", 0.0, "arm base x in world (m)")?,
                number("base_y", 0.0, "arm base y in world (m)")?,
                number("base_z", 0.75, "arm base z in world (m)")?,
            ),
            UnitQuaternion::from_axis_angle(
                &Vector3::z_axis(),
                number("base_yaw", 0.0, "arm base heading in world (rad)")?,
            ),
        );
        let table = Block {
            x: number("table_x", 0.35, "table centre x (m)")?,
            y: number("table_y", 0.0, "table centre y (m)")?,
            length: number("table_length", 1.0, "table size along x (m)")?,
            width: number("table_width", 1.4, "table size along y (m)")?,
            height: number("table_height", 0.75, "table top height (m)")?,
        };
        let tray = Block {
            x: number("tray_x", 0.0, "tray centre x (m)")?,
            y: number("tray_y", 0.45, "tray centre y (m)")?,
            length: number("tray_length", 0.30, "tray size along x (m)")?,
            width: number("tray_width", 0.22, "tray size along y (m)")?,
            height: number("tray_height", 0.05, "tray wall height (m)")?,
        };
        let tray_thickness = number("tray_thickness", 0.01, "tray wall thickness (m)")?;
        let objects_topic = text(
            "objects_topic",
            "sim/ground_truth/objects",
            "PredictedObjects in the world frame (perception/objects in table mode)",
        )?;
        let camera_info_topic = text(
            "camera_info_topic",
            "camera/depth/camera_info",
            "the camera whose pixels PickPlace goals may name",
        )?;
        let velocity_scale = number(
            "velocity_scale",
            0.5,
            "fraction of the joint speed limits used",
        )?
        .clamp(0.01, 1.0);
        let goal_tolerance = number("goal_tolerance", 0.01, "arrival tolerance (rad)")?;
        let settle_timeout_s = number(
            "settle_timeout_s",
            3.0,
            "sim time a motion may overrun before the goal aborts (s)",
        )?;
        Ok(Self {
            urdf: PathBuf::from(urdf),
            base_link,
            tip_link,
            tcp_offset,
            gripper_open,
            base_pose,
            table,
            tray,
            tray_thickness,
            objects_topic,
            camera_info_topic,
            velocity_scale,
            goal_tolerance,
            settle_timeout_s,
        })
    }
}

/// The link the node adds at the gripper's TCP, so that the planner grasps with it.
pub const TCP_LINK: &str = "embody_tcp";

/// The robot as the planner sees it: the URDF with a TCP link added, its collision model,
/// an IK solver and the time-parameterisation limits.
pub struct Robot {
    /// Collision model of the chain base → TCP.
    pub model: Arc<RobotModel>,
    /// IK on that chain.
    pub solver: IkSolver,
    /// Limits (scaled by `velocity_scale`).
    pub limits: KinematicLimits,
}

/// Loads the robot of `config`, with a fixed TCP link `tcp_offset` beyond the tip.
pub fn load_robot(config: &NodeConfig) -> Result<Robot, NodeError> {
    let text = std::fs::read_to_string(&config.urdf)
        .map_err(|e| NodeError::Parameter(format!("urdf {}: {e}", config.urdf.display())))?;
    let end = text.rfind("</robot>").ok_or_else(|| {
        NodeError::Parameter(format!("urdf {}: no </robot>", config.urdf.display()))
    })?;
    // The sim's gripper holds objects at its TCP, not at the flange: a fixed link there makes
    // the planner's grasp frame the one the gripper closes around.
    let tcp = format!(
        "<link name=\"{TCP_LINK}\"/><joint name=\"{TCP_LINK}_joint\" type=\"fixed\">\
         <parent link=\"{}\"/><child link=\"{TCP_LINK}\"/><origin xyz=\"0 0 {}\" rpy=\"0 0 0\"/>\
         </joint>",
        config.tip_link, config.tcp_offset
    );
    let xml = format!("{}{tcp}{}", &text[..end], &text[end..]);
    let bad = |e: String| NodeError::Parameter(format!("urdf {}: {e}", config.urdf.display()));
    let urdf = Urdf::parse_str(&xml).map_err(|e| bad(e.to_string()))?;
    let model = RobotModel::from_urdf(
        &urdf,
        &config.base_link,
        TCP_LINK,
        &RobotModelOptions::default(),
    )
    .map_err(|e| bad(e.to_string()))?;
    let limits = KinematicLimits::from_urdf(&urdf, model.chain())
        .map_err(|e| bad(e.to_string()))?
        .scaled(config.velocity_scale, config.velocity_scale);
    let solver = IkSolver::new(
        model.chain().clone(),
        IkOptions {
            timeout: Duration::from_secs(2),
            max_restarts: 100,
            ..IkOptions::default()
        },
    );
    Ok(Robot {
        model: Arc::new(model),
        solver,
        limits,
    })
}

fn pose_of(p: &Pose) -> Isometry3<f64> {
    let q = &p.orientation;
    let rotation = UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(q.w, q.x, q.y, q.z));
    let rotation = if rotation.coords.iter().all(|c| c.is_finite()) {
        rotation
    } else {
        UnitQuaternion::identity()
    };
    Isometry3::from_parts(
        Translation3::new(p.position.x, p.position.y, p.position.z),
        rotation,
    )
}

/// Id of a tabletop object in the planning scene.
pub fn object_name(id: u64) -> String {
    format!("object_{id}")
}

/// The planning scene (base frame) from the configured table and tray and the objects
/// (world frame): cups become cylinders, boxes cuboids; other classes are left out.
pub fn build_scene(
    model: Arc<RobotModel>,
    config: &NodeConfig,
    objects: &PredictedObjects,
) -> Result<Scene, String> {
    let to_base = config.base_pose.inverse();
    let mut scene = Scene::new(model);
    let t = config.table;
    let table = SceneObject::new(
        "table",
        to_base * Isometry3::translation(t.x, t.y, 0.5 * t.height),
        Convex::cuboid(t.length, t.width, t.height),
    );
    scene.add_object(table).map_err(|e| e.to_string())?;
    // The base stands on the table.
    scene.allow("table", &config.base_link);
    let r = config.tray;
    let th = config.tray_thickness;
    let wall = |dx: f64, dy: f64, lx: f64, ly: f64| {
        (
            Isometry3::translation(dx, dy, 0.5 * r.height),
            Convex::cuboid(lx, ly, r.height),
        )
    };
    let tray = SceneObject::compound(
        "tray",
        to_base * Isometry3::translation(r.x, r.y, t.height),
        vec![
            (
                Isometry3::translation(0.0, 0.0, 0.5 * th),
                Convex::cuboid(r.length, r.width, th),
            ),
            wall(0.5 * (r.length - th), 0.0, th, r.width),
            wall(-0.5 * (r.length - th), 0.0, th, r.width),
            wall(0.0, 0.5 * (r.width - th), r.length, th),
            wall(0.0, -0.5 * (r.width - th), r.length, th),
        ],
    );
    scene.add_object(tray).map_err(|e| e.to_string())?;
    for o in &objects.objects {
        let label = o.classification.first().map(|c| c.label);
        let d = &o.dimensions;
        let shape = match label {
            Some(ObjectClassification::CUP) => Convex::cylinder(0.25 * (d.x + d.y), d.z),
            Some(ObjectClassification::BOX) => Convex::cuboid(d.x, d.y, d.z),
            _ => continue,
        };
        if !(d.x > 0.0 && d.y > 0.0 && d.z > 0.0) {
            continue;
        }
        let object = SceneObject::new(&object_name(o.object_id), to_base * pose_of(&o.pose), shape);
        scene.add_object(object).map_err(|e| e.to_string())?;
    }
    Ok(scene)
}

/// A timed trajectory as a `JointTrajectory`, sampled every `dt` with velocities, so the
/// controller's cubic interpolation follows the certified straight segments closely.
pub fn to_joint_trajectory(trajectory: &Trajectory, names: &[String], dt: f64) -> JointTrajectory {
    let mut samples = trajectory.sample_every(dt);
    let end = trajectory.sample(trajectory.duration());
    if samples
        .last()
        .is_none_or(|s| (s.time - end.time).abs() > 1e-9)
    {
        samples.push(end);
    }
    let points = samples
        .into_iter()
        // A point at 0 s would replace the controller's start; the plan starts where it is.
        .filter(|s| s.time > 0.0)
        .map(|s| {
            let secs = s.time.max(0.0);
            JointTrajectoryPoint {
                positions: s.positions,
                velocities: s.velocities,
                time_from_start: MsgDuration {
                    sec: secs.trunc() as i32,
                    nanosec: (secs.fract() * 1e9) as u32,
                },
                ..Default::default()
            }
        })
        .collect();
    JointTrajectory {
        joint_names: names.to_vec(),
        points,
        ..Default::default()
    }
}

/// The latest joint state: sim-time stamp (s) and positions by name.
#[derive(Debug, Clone, Default)]
struct ArmState {
    stamp: f64,
    positions: HashMap<String, f64>,
}

struct Shared {
    config: NodeConfig,
    robot: Robot,
    names: Vec<String>,
    joints: watch::Receiver<ArmState>,
    objects: watch::Receiver<Option<PredictedObjects>>,
    camera_info: watch::Receiver<Option<CameraInfo>>,
    trajectories: Publisher<JointTrajectory>,
    gripper: Publisher<Float64>,
    // One goal at a time: the arm cannot do two pick and places at once.
    busy: Mutex<()>,
    node: Node,
    tf: embody::tf::TransformListener,
}

fn result(success: bool, phase: &str, reason: String, placement_error: f64) -> PickPlace_Result {
    PickPlace_Result {
        success,
        phase: phase.into(),
        reason,
        placement_error,
    }
}

impl Shared {
    fn current(&self) -> Option<Vec<f64>> {
        let state = self.joints.borrow();
        self.names
            .iter()
            .map(|n| state.positions.get(n).copied())
            .collect()
    }

    /// Waits until sim time passes `until` (s) and `arrived` holds for the joints.
    async fn wait_for(
        &self,
        until: f64,
        deadline: f64,
        target: Option<&[f64]>,
    ) -> Result<(), String> {
        let mut joints = self.joints.clone();
        loop {
            {
                let state = joints.borrow_and_update();
                let arrived = target.is_none_or(|t| {
                    self.names.iter().zip(t).all(|(n, goal)| {
                        state
                            .positions
                            .get(n)
                            .is_some_and(|q| (q - goal).abs() <= self.config.goal_tolerance)
                    })
                });
                if state.stamp >= until && arrived {
                    return Ok(());
                }
                if state.stamp > deadline {
                    return Err(format!(
                        "not there {:.1} s of sim time after the motion should have ended",
                        self.config.settle_timeout_s
                    ));
                }
            }
            // A wall-clock guard too, so a simulator that stops does not hang the goal.
            match tokio::time::timeout(Duration::from_secs(30), joints.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err("joint_states closed".into()),
                Err(_) => return Err("no joint_states for 30 s".into()),
            }
        }
    }

    /// A pose given in any frame, in the world frame: `world` (or none) as it is, the base
    /// link through the configured base pose, any other frame through TF.
    async fn to_world(&self, pose: &PoseStamped) -> Result<Isometry3<f64>, String> {
        let frame = pose.header.frame_id.trim_start_matches('/');
        let local = pose_of(&pose.pose);
        if frame.is_empty() || frame == "world" {
            return Ok(local);
        }
        if frame == self.config.base_link {
            return Ok(self.config.base_pose * local);
        }
        self.tf
            .wait_for_transform("world", frame, Time::ZERO, Duration::from_secs(1))
            .await
            .map(|(t, _)| t * local)
            .map_err(|e| format!("frame `{frame}`: {e}"))
    }

    /// The object the ray through pixel (`u`, `v`) of the camera on `camera_info_topic`
    /// meets first.
    async fn object_at_pixel(
        &self,
        u: f64,
        v: f64,
        objects: &PredictedObjects,
    ) -> Result<u64, String> {
        let info =
            self.camera_info.borrow().clone().ok_or_else(|| {
                format!("no camera_info on {} yet", self.config.camera_info_topic)
            })?;
        let ray = crate::pixel::pixel_ray(&info.k, u, v)
            .ok_or_else(|| format!("camera_info has no focal length: k = {:?}", info.k))?;
        let mut camera = PoseStamped::default();
        camera.header.frame_id = info.header.frame_id.clone();
        camera.pose.orientation.w = 1.0;
        let camera = self.to_world(&camera).await?;
        let candidates: Vec<(u64, nalgebra::Point3<f64>, f64)> = objects
            .objects
            .iter()
            .map(|o| {
                let c = pose_of(&o.pose).translation.vector;
                let d = &o.dimensions;
                (o.object_id, c.into(), 0.25 * (d.x + d.y))
            })
            .collect();
        let origin = nalgebra::Point3::from(camera.translation.vector);
        crate::pixel::object_on_ray(&origin, &(camera.rotation * ray), &candidates, 0.01)
            .ok_or_else(|| format!("no object on the ray through pixel ({u:.1}, {v:.1})"))
    }

    /// Sends `trajectory` to the arm controller and waits until the joints have arrived.
    async fn run_motion(&self, trajectory: &Trajectory) -> Result<(), String> {
        let now = self.joints.borrow().stamp;
        let msg = to_joint_trajectory(trajectory, &self.names, 0.1);
        self.trajectories
            .publish(msg)
            .await
            .map_err(|e| e.to_string())?;
        let until = now + trajectory.duration();
        self.wait_for(
            until,
            until + self.config.settle_timeout_s,
            Some(trajectory.end()),
        )
        .await
    }

    /// A single collision-free move to a joint goal or a TCP pose (`manipulation/move_to`).
    async fn move_to(&self, req: MoveTo_Request) -> MoveTo_Response {
        let fail = |reason: String| MoveTo_Response {
            success: false,
            reason,
            duration: 0.0,
        };
        let _one = self.busy.lock().await;
        let Some(start) = self.current() else {
            return fail("no joint_states for the chain".into());
        };
        let objects = self.objects.borrow().clone().unwrap_or_default();
        let scene = match build_scene(self.robot.model.clone(), &self.config, &objects) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let options = PickPlaceOptions::new(self.robot.limits.clone(), &[]);
        let planned = if !req.joint_goal.is_empty() {
            if req.joint_goal.len() != start.len() {
                return fail(format!(
                    "joint_goal has {} values for {} joints ({})",
                    req.joint_goal.len(),
                    start.len(),
                    self.names.join(", ")
                ));
            }
            crate::rrt::plan(&scene, &start, &req.joint_goal, &options.rrt)
                .map_err(|e| e.to_string())
        } else {
            let world = match self.to_world(&req.pose_goal).await {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            let goal = self.config.base_pose.inverse() * world;
            {
                if req.cartesian {
                    crate::cartesian::linear_to(
                        &scene,
                        &self.robot.solver,
                        &start,
                        &goal,
                        &options.cartesian,
                    )
                    .map(|p| p.waypoints)
                    .map_err(|e| e.to_string())
                } else {
                    crate::pick_place::collision_free_ik(&scene, &self.robot.solver, &goal, &start)
                        .and_then(|q| {
                            crate::rrt::plan(&scene, &start, &q, &options.rrt)
                                .map_err(|e| e.to_string())
                        })
                }
            }
        };
        let path = match planned {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        let trajectory = match crate::timing::time_parameterize(&path, &self.robot.limits) {
            Ok(t) => t,
            Err(e) => return fail(e.to_string()),
        };
        match self.run_motion(&trajectory).await {
            Ok(()) => MoveTo_Response {
                success: true,
                reason: String::new(),
                duration: trajectory.duration(),
            },
            Err(e) => fail(e),
        }
    }

    async fn execute(&self, handle: &GoalHandle<PickPlace>) -> PickPlace_Result {
        let _one = self.busy.lock().await;
        let goal = &handle.goal;
        let Some(start) = self.current() else {
            return result(false, "start", "no joint_states for the chain".into(), -1.0);
        };
        let Some(objects) = self.objects.borrow().clone() else {
            return result(
                false,
                "scene",
                format!("nothing on {}", self.config.objects_topic),
                -1.0,
            );
        };
        let id = if goal.object_id != 0 {
            goal.object_id
        } else if goal.use_pixel {
            match self
                .object_at_pixel(goal.pixel_u, goal.pixel_v, &objects)
                .await
            {
                Ok(id) => id,
                Err(e) => return result(false, "select object", e, -1.0),
            }
        } else {
            let target = match self.to_world(&goal.target_pose).await {
                Ok(t) => t.translation.vector,
                Err(e) => return result(false, "select object", e, -1.0),
            };
            match objects
                .objects
                .iter()
                .map(|o| {
                    (
                        o.object_id,
                        (pose_of(&o.pose).translation.vector - target).norm(),
                    )
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
            {
                Some((id, d)) if d < 0.05 => id,
                _ => {
                    return result(
                        false,
                        "select object",
                        "no object within 5 cm of target_pose".into(),
                        -1.0,
                    );
                }
            }
        };
        if !objects.objects.iter().any(|o| o.object_id == id) {
            return result(
                false,
                "select object",
                format!("no object {id} on {}", self.config.objects_topic),
                -1.0,
            );
        }
        let scene = match build_scene(self.robot.model.clone(), &self.config, &objects) {
            Ok(s) => s,
            Err(e) => return result(false, "scene", e, -1.0),
        };
        let place_world = match self.to_world(&goal.place_pose).await {
            Ok(p) => p,
            Err(e) => return result(false, "place pose", e, -1.0),
        };
        let place_base = self.config.base_pose.inverse() * place_world;
        let request = PickPlaceRequest {
            object: object_name(id),
            place_pose: place_base,
            start,
            pick_support: Some("table".into()),
            place_support: Some("tray".into()),
        };
        let touch = [TCP_LINK, self.config.tip_link.as_str()];
        let mut options = PickPlaceOptions::new(self.robot.limits.clone(), &touch);
        options.rrt.timeout = Duration::from_secs(5);
        let cup = objects.objects.iter().any(|o| {
            o.object_id == id
                && o.classification.first().map(|c| c.label) == Some(ObjectClassification::CUP)
        });
        if cup {
            // A cup looks the same turned about its axis: any turn the wrist can reach will do.
            use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};
            options.place_yaws = vec![
                0.0,
                FRAC_PI_2,
                -FRAC_PI_2,
                PI,
                FRAC_PI_4,
                -FRAC_PI_4,
                3.0 * FRAC_PI_4,
                -3.0 * FRAC_PI_4,
            ];
        }
        let _ = handle
            .publish_feedback(PickPlace_Feedback {
                phase: "plan".into(),
                progress: 0.0,
            })
            .await;
        let plan = {
            let started = std::time::Instant::now();
            let planned = tokio::task::block_in_place(|| {
                plan_pick_place(&scene, &self.robot.solver, &request, &options)
            });
            let ms = started.elapsed().as_secs_f64() * 1e3;
            match planned {
                Ok(p) => {
                    self.node.logger().info(&format!(
                        "object {id}: planned in {ms:.0} ms, {} phases, {:.1} s of motion",
                        p.phases.len(),
                        p.phases
                            .iter()
                            .filter_map(|p| p.trajectory.as_ref())
                            .map(Trajectory::duration)
                            .sum::<f64>()
                    ));
                    p
                }
                Err(e) => {
                    self.node.logger().warn(&format!(
                        "object {id}: no plan after {ms:.0} ms and {} grasps: {e}",
                        e.grasps_tried
                    ));
                    return result(false, &e.phase.to_string(), e.reason.to_string(), -1.0);
                }
            }
        };
        let n = plan.phases.len().max(1) as f32;
        for (i, phase) in plan.phases.iter().enumerate() {
            let name = phase.kind.to_string();
            // Between phases only: a motion under way finishes, so the arm never stops with
            // an object half-way through a Cartesian move.
            if handle.is_cancel_requested() {
                return result(false, &name, "canceled".into(), -1.0);
            }
            let _ = handle
                .publish_feedback(PickPlace_Feedback {
                    phase: name.clone(),
                    progress: i as f32 / n,
                })
                .await;
            let now = self.joints.borrow().stamp;
            if let Some(trajectory) = &phase.trajectory
                && let Err(e) = self.run_motion(trajectory).await
            {
                return result(false, &name, e, -1.0);
            }
            if let Some(action) = &phase.gripper {
                let opening = match action {
                    GripperAction::Close { .. } => 0.0,
                    GripperAction::Open => self.config.gripper_open,
                };
                if let Err(e) = self.gripper.publish(Float64 { data: opening }).await {
                    return result(false, &name, e.to_string(), -1.0);
                }
                // No gripper state topic yet: give the jaws their full stroke's time (the
                // sim's default 150 mm/s) in sim time.
                let until = now + 0.7;
                if let Err(e) = self.wait_for(until, until + 30.0, None).await {
                    return result(false, &name, e, -1.0);
                }
            }
        }
        // Where the object came to rest, from the next objects message after the retreat.
        let mut objects = self.objects.clone();
        objects.mark_unchanged();
        let error = match tokio::time::timeout(Duration::from_secs(5), objects.changed()).await {
            Ok(Ok(())) => objects
                .borrow()
                .as_ref()
                .and_then(|o| o.objects.iter().find(|o| o.object_id == id).cloned())
                .map(|o| {
                    (pose_of(&o.pose).translation.vector - place_world.translation.vector).norm()
                })
                .unwrap_or(-1.0),
            _ => -1.0,
        };
        result(true, "retreat", String::new(), error)
    }
}

/// Runs the node until its context closes.
pub async fn run(node: Node, config: NodeConfig) -> Result<(), NodeError> {
    let robot = load_robot(&config)?;
    let names: Vec<String> = robot
        .model
        .chain()
        .joints()
        .iter()
        .map(|j| j.name.clone())
        .collect();
    let (joints_tx, joints) = watch::channel(ArmState::default());
    let (objects_tx, objects) = watch::channel(None);
    let _states = node
        .create_subscription_with::<JointState, _>(
            "joint_states",
            QosProfile::keep_last(5),
            move |js: Arc<JointState>| {
                let stamp = Time::from_msg(&js.header.stamp).nanos as f64 * 1e-9;
                let positions = js
                    .name
                    .iter()
                    .cloned()
                    .zip(js.position.iter().copied())
                    .collect();
                joints_tx.send_replace(ArmState { stamp, positions });
            },
        )
        .await?;
    let _objects = node
        .create_subscription_with::<PredictedObjects, _>(
            &config.objects_topic,
            QosProfile::keep_last(2),
            move |o: Arc<PredictedObjects>| {
                objects_tx.send_replace(Some((*o).clone()));
            },
        )
        .await?;
    let (info_tx, camera_info) = watch::channel(None);
    let _camera_info = node
        .create_subscription_with::<CameraInfo, _>(
            &config.camera_info_topic,
            QosProfile::keep_last(1),
            move |i: Arc<CameraInfo>| {
                info_tx.send_replace(Some((*i).clone()));
            },
        )
        .await?;
    let qos = QosProfile::default().history(embody::History::KeepAll);
    let shared = Arc::new(Shared {
        trajectories: node
            .create_publisher("arm_controller/joint_trajectory", qos)
            .await?,
        gripper: node.create_publisher("gripper/command", qos).await?,
        config,
        robot,
        names,
        joints,
        objects,
        camera_info,
        busy: Mutex::new(()),
        node: node.clone(),
        tf: embody::tf::TransformListener::new(&node).await?,
    });
    let server_shared = shared.clone();
    let _server = node
        .create_action_server::<PickPlace, _, _, _>(
            "manipulation/pick_place",
            |_goal| true,
            move |handle| {
                let shared = server_shared.clone();
                async move {
                    let r = shared.execute(&handle).await;
                    let outcome = if r.success {
                        GoalOutcome::Succeeded
                    } else if handle.is_cancel_requested() {
                        GoalOutcome::Canceled
                    } else {
                        GoalOutcome::Aborted
                    };
                    (outcome, r)
                }
            },
        )
        .await?;
    let move_shared = shared.clone();
    let runtime = tokio::runtime::Handle::current();
    // Service handlers run on the blocking pool: the move is planned and awaited there.
    let _move_to = node
        .create_service::<MoveTo, _>("manipulation/move_to", move |req: MoveTo_Request| {
            runtime.block_on(move_shared.move_to(req))
        })
        .await?;
    node.logger()
        .info("manipulation/pick_place and manipulation/move_to ready");
    // The endpoints live as long as this future; the process ends it on shutdown.
    std::future::pending::<()>().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timing::time_parameterize;
    use embody::msgs::embody_msgs::msg::PredictedObject;

    #[test]
    fn trajectories_start_after_now_and_end_on_the_plan() {
        let limits = KinematicLimits::uniform(2, 1.0, 2.0, None);
        let path = vec![vec![0.0, 0.0], vec![0.9, -0.45]];
        let t = time_parameterize(&path, &limits).expect("timed");
        // The 0.9 rad joint at 1 rad/s and 2 rad/s² takes the trapezoid's 1.4 s.
        assert!((t.duration() - 1.4).abs() < 1e-9, "{}", t.duration());
        let names = vec!["a".to_string(), "b".to_string()];
        let msg = to_joint_trajectory(&t, &names, 0.1);
        assert_eq!(msg.joint_names, names);
        assert_eq!(msg.points.len(), 14, "0.1 .. 1.4 s");
        let first = &msg.points[0].time_from_start;
        assert_eq!((first.sec, first.nanosec / 1000), (0, 100_000));
        let last = msg.points.last().expect("points");
        assert_eq!(last.time_from_start.sec, 1);
        assert!((last.positions[0] - 0.9).abs() < 1e-9);
        assert!((last.positions[1] + 0.45).abs() < 1e-9);
        assert!(last.velocities.iter().all(|v| v.abs() < 1e-9));
    }

    #[test]
    fn the_scene_holds_table_tray_and_known_classes_in_the_base_frame() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let config = NodeConfig {
            urdf: root.join("tests/data/robots/ur5/ur5_robot.urdf"),
            base_link: "base_link".into(),
            tip_link: "tool0".into(),
            tcp_offset: 0.15,
            gripper_open: 0.085,
            base_pose: Isometry3::translation(0.0, 0.0, 0.75),
            table: Block {
                x: 0.35,
                y: 0.0,
                length: 1.0,
                width: 1.4,
                height: 0.75,
            },
            tray: Block {
                x: 0.0,
                y: 0.45,
                length: 0.30,
                width: 0.22,
                height: 0.05,
            },
            tray_thickness: 0.01,
            objects_topic: "sim/ground_truth/objects".into(),
            camera_info_topic: "camera/depth/camera_info".into(),
            velocity_scale: 0.5,
            goal_tolerance: 0.01,
            settle_timeout_s: 3.0,
        };
        let robot = load_robot(&config).expect("the UR5 with a TCP");
        let dof = robot.model.chain().joints().len();
        assert_eq!(dof, 6, "the fixed TCP link adds no joint");
        let object = |id: u64, label: u8, z: f64| {
            let mut o = PredictedObject {
                object_id: id,
                classification: vec![ObjectClassification {
                    label,
                    probability: 1.0,
                }],
                ..Default::default()
            };
            o.pose.position.x = 0.4;
            o.pose.position.z = z;
            o.pose.orientation.w = 1.0;
            o.dimensions.x = 0.07;
            o.dimensions.y = 0.07;
            o.dimensions.z = 0.1;
            o
        };
        let objects = PredictedObjects {
            objects: vec![
                object(1, ObjectClassification::CUP, 0.8),
                object(2, ObjectClassification::BOX, 0.8),
                object(3, ObjectClassification::PEDESTRIAN, 0.8),
            ],
            ..Default::default()
        };
        let scene = build_scene(robot.model.clone(), &config, &objects).expect("scene");
        let ids: Vec<&str> = scene.objects().iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["table", "tray", "object_1", "object_2"]);
        let cup = scene.object("object_1").expect("cup");
        assert!((cup.pose.translation.vector - Vector3::new(0.4, 0.0, 0.05)).norm() < 1e-12);
        let table = scene.object("table").expect("table");
        // The table's top is the base's plane.
        assert!((table.pose.translation.z + 0.375).abs() < 1e-12);
    }
}
