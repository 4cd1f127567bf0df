//! The planning scene: the robot's collision model, world objects, objects attached to the
//! robot, and the allowed-collision matrix, with collision and distance queries at a joint
//! configuration. Everything is expressed in the chain's base frame.
//!
//! Every mutation rebuilds a flat list of bodies and of the body pairs to check, so a query
//! is one FK pass, one pose product per moving body, and for each pair a bounding-sphere
//! test before the exact primitive test.

use std::sync::Arc;

use nalgebra::Isometry3;

use crate::acm::{AllowReason, AllowedCollisions};
use crate::collision::{Convex, Placed, distance, intersects};
use crate::kinematics::Motion;
use crate::robot_model::RobotModel;

/// Why a scene change is refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SceneError {
    /// The name is already used by a link or an object.
    #[error("name '{0}' is already used by a link or an object")]
    DuplicateName(String),
    /// No world object has this id.
    #[error("no world object '{0}'")]
    UnknownObject(String),
    /// No attached object has this id.
    #[error("no attached object '{0}'")]
    NotAttached(String),
    /// No link has this name.
    #[error("no link '{0}'")]
    UnknownLink(String),
    /// A shape has a negative or non-finite dimension, or a pose is not finite.
    #[error("object '{0}': invalid shape or pose")]
    InvalidObject(String),
    /// The joint vector does not fit the chain.
    #[error("joint vector has {got} values, the chain has {expected} joints")]
    JointCount {
        /// The chain's joint count.
        expected: usize,
        /// The length given.
        got: usize,
    },
}

/// A rigid object made of one or more primitives.
#[derive(Debug, Clone)]
pub struct SceneObject {
    /// Unique id (shares its namespace with the links).
    pub id: String,
    /// Pose of the object frame in the base frame (in the link frame once attached).
    pub pose: Isometry3<f64>,
    /// Primitives with their poses in the object frame.
    pub shapes: Vec<(Isometry3<f64>, Convex)>,
}

impl SceneObject {
    /// An object of one primitive centred on its frame.
    pub fn new(id: &str, pose: Isometry3<f64>, shape: Convex) -> Self {
        Self {
            id: id.to_string(),
            pose,
            shapes: vec![(Isometry3::identity(), shape)],
        }
    }

    /// An object of several primitives.
    pub fn compound(id: &str, pose: Isometry3<f64>, shapes: Vec<(Isometry3<f64>, Convex)>) -> Self {
        Self {
            id: id.to_string(),
            pose,
            shapes,
        }
    }

    fn is_valid(&self) -> bool {
        let finite = |p: &Isometry3<f64>| {
            p.translation.vector.iter().all(|v| v.is_finite())
                && p.rotation.coords.iter().all(|v| v.is_finite())
        };
        finite(&self.pose) && self.shapes.iter().all(|(p, s)| finite(p) && s.is_valid())
    }
}

/// An object carried by a link.
#[derive(Debug, Clone)]
pub struct AttachedObject {
    /// The object; its `pose` is relative to the link.
    pub object: SceneObject,
    /// The link carrying it.
    pub link: String,
    /// Links allowed to touch it (the gripper's fingers, for instance).
    pub touch_links: Vec<String>,
}

/// A pair of names in contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Proximity {
    /// One link or object.
    pub a: String,
    /// The other.
    pub b: String,
    /// Surface distance, metres; 0 or less means touching.
    pub distance: f64,
}

/// Most conservative-advancement steps along one motion before it is called a contact.
const MAX_ADVANCES: usize = 100_000;

/// Where a body's pose comes from.
#[derive(Debug, Clone, Copy)]
enum Mount {
    /// Rides on a chain frame: pose = frames[k] * local.
    Frame(usize),
    /// Fixed in the base frame: pose = local.
    World,
}

#[derive(Debug, Clone)]
struct Body {
    owner: usize,
    mount: Mount,
    local: Isometry3<f64>,
    shape: Convex,
    bound: f64,
}

/// The planning scene.
#[derive(Debug, Clone)]
pub struct Scene {
    robot: Arc<RobotModel>,
    objects: Vec<SceneObject>,
    attached: Vec<AttachedObject>,
    acm: AllowedCollisions,
    padding: f64,
    names: Vec<String>,
    bodies: Vec<Body>,
    pairs: Vec<(u32, u32)>,
    /// Per joint: how far a point of any moving body can travel per unit of joint motion.
    lever: Vec<f64>,
    /// Per body and joint: see [`body_levers`].
    levers: Vec<f64>,
}

impl Scene {
    /// An empty scene around a robot, starting from the robot's allowed-collision matrix.
    pub fn new(robot: Arc<RobotModel>) -> Self {
        let acm = robot.allowed().clone();
        let mut s = Self {
            robot,
            objects: Vec::new(),
            attached: Vec::new(),
            acm,
            padding: 0.0,
            names: Vec::new(),
            bodies: Vec::new(),
            pairs: Vec::new(),
            lever: Vec::new(),
            levers: Vec::new(),
        };
        s.rebuild();
        s
    }

    /// The robot model.
    pub fn robot(&self) -> &Arc<RobotModel> {
        &self.robot
    }

    /// Number of chain joints.
    pub fn dof(&self) -> usize {
        self.robot.chain().dof()
    }

    /// Extra clearance every checked pair must keep, metres (0 by default).
    pub fn set_padding(&mut self, padding: f64) {
        self.padding = padding.max(0.0);
    }

    /// The clearance every checked pair must keep.
    pub fn padding(&self) -> f64 {
        self.padding
    }

    /// The allowed-collision matrix.
    pub fn acm(&self) -> &AllowedCollisions {
        &self.acm
    }

    /// Allows two names (links or objects) to touch.
    pub fn allow(&mut self, a: &str, b: &str) {
        self.acm.allow(a, b, AllowReason::User);
        self.rebuild();
    }

    /// Checks two names against each other again.
    pub fn disallow(&mut self, a: &str, b: &str) {
        self.acm.disallow(a, b);
        self.rebuild();
    }

    /// World objects.
    pub fn objects(&self) -> &[SceneObject] {
        &self.objects
    }

    /// A world object by id.
    pub fn object(&self, id: &str) -> Option<&SceneObject> {
        self.objects.iter().find(|o| o.id == id)
    }

    /// Objects carried by the robot.
    pub fn attached(&self) -> &[AttachedObject] {
        &self.attached
    }

    fn name_taken(&self, id: &str) -> bool {
        self.robot.link_index(id).is_some()
            || self.object(id).is_some()
            || self.attached.iter().any(|a| a.object.id == id)
    }

    /// Adds a world object.
    pub fn add_object(&mut self, object: SceneObject) -> Result<(), SceneError> {
        if self.name_taken(&object.id) {
            return Err(SceneError::DuplicateName(object.id));
        }
        if !object.is_valid() {
            return Err(SceneError::InvalidObject(object.id));
        }
        self.objects.push(object);
        self.rebuild();
        Ok(())
    }

    /// Removes a world object and returns it.
    pub fn remove_object(&mut self, id: &str) -> Result<SceneObject, SceneError> {
        let i = self
            .objects
            .iter()
            .position(|o| o.id == id)
            .ok_or_else(|| SceneError::UnknownObject(id.to_string()))?;
        let o = self.objects.remove(i);
        self.rebuild();
        Ok(o)
    }

    /// Moves a world object.
    pub fn set_object_pose(&mut self, id: &str, pose: Isometry3<f64>) -> Result<(), SceneError> {
        let o = self
            .objects
            .iter_mut()
            .find(|o| o.id == id)
            .ok_or_else(|| SceneError::UnknownObject(id.to_string()))?;
        o.pose = pose;
        self.rebuild();
        Ok(())
    }

    fn check_q(&self, q: &[f64]) -> Result<(), SceneError> {
        if q.len() != self.dof() {
            return Err(SceneError::JointCount {
                expected: self.dof(),
                got: q.len(),
            });
        }
        Ok(())
    }

    /// Pose of a link at `q`.
    pub fn link_pose(&self, link: &str, q: &[f64]) -> Result<Isometry3<f64>, SceneError> {
        self.check_q(q)?;
        let li = self
            .robot
            .link_index(link)
            .ok_or_else(|| SceneError::UnknownLink(link.to_string()))?;
        Ok(self.robot.link_pose(li, q))
    }

    /// Attaches a world object to `link` where it is now, with the robot at `q`. The object
    /// may touch the link and `touch_links` while attached.
    pub fn attach(
        &mut self,
        id: &str,
        link: &str,
        q: &[f64],
        touch_links: &[&str],
    ) -> Result<(), SceneError> {
        let link_pose = self.link_pose(link, q)?;
        for t in touch_links {
            if self.robot.link_index(t).is_none() {
                return Err(SceneError::UnknownLink(t.to_string()));
            }
        }
        let i = self
            .objects
            .iter()
            .position(|o| o.id == id)
            .ok_or_else(|| SceneError::UnknownObject(id.to_string()))?;
        let mut object = self.objects.remove(i);
        object.pose = link_pose.inverse() * object.pose;
        self.acm.allow(id, link, AllowReason::Attached);
        for t in touch_links {
            self.acm.allow(id, t, AllowReason::Attached);
        }
        self.attached.push(AttachedObject {
            object,
            link: link.to_string(),
            touch_links: touch_links.iter().map(|s| s.to_string()).collect(),
        });
        self.rebuild();
        Ok(())
    }

    /// Puts an attached object back into the world where it is with the robot at `q`.
    pub fn detach(&mut self, id: &str, q: &[f64]) -> Result<(), SceneError> {
        self.check_q(q)?;
        let i = self
            .attached
            .iter()
            .position(|a| a.object.id == id)
            .ok_or_else(|| SceneError::NotAttached(id.to_string()))?;
        let att = self.attached.remove(i);
        let link_pose = self.link_pose(&att.link, q)?;
        let mut object = att.object;
        object.pose = link_pose * object.pose;
        self.acm.forget(id, AllowReason::Attached);
        self.objects.push(object);
        self.rebuild();
        Ok(())
    }

    /// Pose of an attached object at `q`.
    pub fn attached_pose(&self, id: &str, q: &[f64]) -> Result<Isometry3<f64>, SceneError> {
        let att = self
            .attached
            .iter()
            .find(|a| a.object.id == id)
            .ok_or_else(|| SceneError::NotAttached(id.to_string()))?;
        Ok(self.link_pose(&att.link, q)? * att.object.pose)
    }

    fn rebuild(&mut self) {
        let robot = &self.robot;
        let mut names: Vec<String> = Vec::new();
        let mut bodies = Vec::new();
        let mut owner_of_link = vec![usize::MAX; robot.link_names().len()];
        for b in robot.bodies() {
            if owner_of_link[b.link] == usize::MAX {
                owner_of_link[b.link] = names.len();
                names.push(robot.link_names()[b.link].clone());
            }
            bodies.push(Body {
                owner: owner_of_link[b.link],
                mount: Mount::Frame(b.frame),
                local: b.local,
                shape: b.shape,
                bound: b.shape.bounding_radius(),
            });
        }
        for a in &self.attached {
            let owner = names.len();
            names.push(a.object.id.clone());
            let li = robot.link_index(&a.link).unwrap_or(0);
            let (frame, link_local) = robot.link_frame(li);
            for (p, s) in &a.object.shapes {
                bodies.push(Body {
                    owner,
                    mount: Mount::Frame(frame),
                    local: link_local * a.object.pose * p,
                    shape: *s,
                    bound: s.bounding_radius(),
                });
            }
        }
        for o in &self.objects {
            let owner = names.len();
            names.push(o.id.clone());
            for (p, s) in &o.shapes {
                bodies.push(Body {
                    owner,
                    mount: Mount::World,
                    local: o.pose * p,
                    shape: *s,
                    bound: s.bounding_radius(),
                });
            }
        }
        let n_owners = names.len();
        let mut allowed = vec![false; n_owners * n_owners];
        for a in 0..n_owners {
            for b in 0..n_owners {
                allowed[a * n_owners + b] = a == b || self.acm.is_allowed(&names[a], &names[b]);
            }
        }
        let mut pairs = Vec::new();
        for i in 0..bodies.len() {
            for j in i + 1..bodies.len() {
                let (a, b) = (&bodies[i], &bodies[j]);
                let both_world = matches!(a.mount, Mount::World) && matches!(b.mount, Mount::World);
                if both_world || allowed[a.owner * n_owners + b.owner] {
                    continue;
                }
                pairs.push((i as u32, j as u32));
            }
        }
        let dof = self.robot.chain().dof();
        self.levers = body_levers(&self.robot, &bodies);
        self.lever = (0..dof)
            .map(|i| {
                (0..bodies.len())
                    .map(|b| self.levers[b * dof + i])
                    .fold(0.0, f64::max)
            })
            .collect();
        self.names = names;
        self.bodies = bodies;
        self.pairs = pairs;
    }

    /// An upper bound on how far any point of the robot or of a carried object travels
    /// while the joints move in a straight line from `a` to `b` (Schwarzer, Saha & Latombe
    /// 2005): the sum over joints of the joint change times the joint's lever arm.
    pub fn motion_bound(&self, a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .zip(&self.lever)
            .map(|((x, y), r)| (x - y).abs() * r)
            .sum()
    }

    /// Continuous check of the straight joint motion from `a` to `b` by conservative
    /// advancement (Mirtich 1996): the first fraction at which a checked pair comes closer
    /// than `floor` (plus the padding), with the pair; if `None`, no pair comes closer than
    /// `floor / 2` (plus the padding) anywhere on the motion. `floor` must be positive; if
    /// `a` is closer than `floor`, half its clearance is used instead. Each step advances by the smallest,
    /// over the pairs, of their distance divided by how fast the two bodies can approach
    /// each other (the sum of their displacement bounds over the motion), so no contact
    /// can be stepped over. Pairs are measured in order of a cheap lower bound on that
    /// ratio, and most are never measured. `a` is assumed valid.
    pub fn first_contact_on_line(
        &self,
        a: &[f64],
        b: &[f64],
        floor: f64,
    ) -> Option<(f64, &str, &str)> {
        let dof = self.dof();
        let rates: Vec<f64> = (0..self.bodies.len())
            .map(|bi| {
                a.iter()
                    .zip(b)
                    .zip(&self.levers[bi * dof..(bi + 1) * dof])
                    .map(|((x, y), r)| (x - y).abs() * r)
                    .sum()
            })
            .collect();
        // A start already closer than the floor (a robot resting against something) may
        // still move away: the floor drops to half its clearance for this motion.
        let (start_clearance, start_pair) = self.clearance(a);
        // Below a micrometre the steps would be too small to ever finish: call it contact.
        if start_clearance <= 2e-6 {
            return start_pair.map(|(x, y)| (0.0, x, y));
        }
        let floor = floor.min(0.5 * start_clearance) + self.padding;
        // Steps keep half the floor: once every measured pair is at least `floor` away, each
        // step is at least (floor / 2) / rate long, so the loop always terminates.
        let keep = floor - 0.5 * (floor - self.padding);
        let mut q = a.to_vec();
        let mut t = 0.0f64;
        let mut iterations = 0usize;
        let mut order: Vec<(f64, f64, u32, u32)> = Vec::with_capacity(self.pairs.len());
        loop {
            for ((o, x), y) in q.iter_mut().zip(a).zip(b) {
                *o = x + (y - x) * t;
            }
            let poses = self.body_poses(&q);
            order.clear();
            for &(i, j) in &self.pairs {
                let (iu, ju) = (i as usize, j as usize);
                let rate = rates[iu] + rates[ju];
                let lb = lower_bound(&self.bodies[iu], &poses[iu], &self.bodies[ju], &poses[ju]);
                let key = if rate > 0.0 {
                    (lb - keep) / rate
                } else {
                    f64::INFINITY
                };
                order.push((key, rate, i, j));
            }
            order.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
            let mut step = f64::INFINITY;
            for &(key, rate, i, j) in &order {
                if key >= step {
                    break;
                }
                let (i, j) = (i as usize, j as usize);
                let (ba, bb) = (&self.bodies[i], &self.bodies[j]);
                let d = distance(
                    Placed {
                        shape: &ba.shape,
                        pose: &poses[i],
                    },
                    Placed {
                        shape: &bb.shape,
                        pose: &poses[j],
                    },
                );
                if d < floor {
                    return Some((t, &self.names[ba.owner], &self.names[bb.owner]));
                }
                step = step.min((d - keep) / rate);
            }
            if t >= 1.0 || !step.is_finite() {
                return None;
            }
            iterations += 1;
            if iterations > MAX_ADVANCES {
                // Grazing along a surface for this long: report the closest pair rather
                // than spin; the caller treats it as a collision, which is safe.
                let (_, pair) = self.clearance(&q);
                return pair.map(|(x, y)| (t, x, y));
            }
            t = (t + step).min(1.0);
        }
    }

    /// An upper bound on how far two checked bodies can approach each other during the
    /// straight joint motion from `a` to `b`: twice the largest displacement bound of a
    /// single moving body (tighter than [`Scene::motion_bound`], which takes each joint's
    /// worst body).
    pub fn approach_bound(&self, a: &[f64], b: &[f64]) -> f64 {
        let dof = self.dof();
        let fastest = (0..self.bodies.len())
            .map(|bi| {
                a.iter()
                    .zip(b)
                    .zip(&self.levers[bi * dof..(bi + 1) * dof])
                    .map(|((x, y), r)| (x - y).abs() * r)
                    .sum::<f64>()
            })
            .fold(0.0, f64::max);
        2.0 * fastest
    }

    /// Surface distance of the closest checked pair at `q` minus the padding (infinite if
    /// nothing is checked), with the pair's names.
    pub fn clearance(&self, q: &[f64]) -> (f64, Option<(&str, &str)>) {
        let poses = self.body_poses(q);
        // Exact distances in order of their cheap lower bounds, stopping once the next bound
        // exceeds the best distance found: most pairs are never measured.
        let mut order: Vec<(f64, u32, u32)> = self
            .pairs
            .iter()
            .map(|&(i, j)| {
                let (iu, ju) = (i as usize, j as usize);
                let lb = lower_bound(&self.bodies[iu], &poses[iu], &self.bodies[ju], &poses[ju]);
                (lb, i, j)
            })
            .collect();
        order.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
        let mut best: Option<(f64, usize, usize)> = None;
        for (lb, i, j) in order {
            if best.is_some_and(|(d, _, _)| lb > d) {
                break;
            }
            let (i, j) = (i as usize, j as usize);
            let (a, b) = (&self.bodies[i], &self.bodies[j]);
            let d = distance(
                Placed {
                    shape: &a.shape,
                    pose: &poses[i],
                },
                Placed {
                    shape: &b.shape,
                    pose: &poses[j],
                },
            );
            if best.is_none_or(|(bd, _, _)| d < bd) {
                best = Some((d, a.owner, b.owner));
            }
        }
        match best {
            Some((d, a, b)) => (
                d - self.padding,
                Some((self.names[a].as_str(), self.names[b].as_str())),
            ),
            None => (f64::INFINITY, None),
        }
    }

    fn body_poses(&self, q: &[f64]) -> Vec<Isometry3<f64>> {
        let mut frames = Vec::with_capacity(q.len() + 1);
        self.robot.chain().joint_frames_into(q, &mut frames);
        self.bodies
            .iter()
            .map(|b| match b.mount {
                Mount::Frame(k) => frames[k] * b.local,
                Mount::World => b.local,
            })
            .collect()
    }

    /// The first pair (link or object names) that collides at `q`, if any. Panics if
    /// `q.len() != dof()` (planners check lengths once at their entry).
    pub fn in_collision(&self, q: &[f64]) -> Option<(&str, &str)> {
        self.closer_than(q, 0.0)
    }

    /// The first checked pair closer than `clearance` (plus the padding) at `q`, if any.
    pub fn closer_than(&self, q: &[f64], clearance: f64) -> Option<(&str, &str)> {
        let poses = self.body_poses(q);
        let limit = self.padding + clearance;
        for &(i, j) in &self.pairs {
            let (i, j) = (i as usize, j as usize);
            let (a, b) = (&self.bodies[i], &self.bodies[j]);
            if lower_bound(a, &poses[i], b, &poses[j]) > limit {
                continue;
            }
            if intersects(
                Placed {
                    shape: &a.shape,
                    pose: &poses[i],
                },
                Placed {
                    shape: &b.shape,
                    pose: &poses[j],
                },
                limit,
            ) {
                return Some((&self.names[a.owner], &self.names[b.owner]));
            }
        }
        None
    }

    /// The closest checked pair at `q` and its surface distance. `None` if nothing is checked.
    pub fn min_distance(&self, q: &[f64]) -> Option<Proximity> {
        let (d, pair) = self.clearance(q);
        pair.map(|(a, b)| Proximity {
            a: a.to_string(),
            b: b.to_string(),
            distance: d + self.padding,
        })
    }

    /// Number of body pairs a query checks (after the allowed-collision matrix).
    pub fn checked_pairs(&self) -> usize {
        self.pairs.len()
    }
}

/// A cheap lower bound on the surface distance of two bodies: bounding sphere against
/// bounding sphere, or, when one is a box (tables, walls), the other's bounding sphere
/// against the exact box, which is far tighter for large flat boxes.
fn lower_bound(a: &Body, pa: &Isometry3<f64>, b: &Body, pb: &Isometry3<f64>) -> f64 {
    let sphere_box =
        |s: &Body, ps: &Isometry3<f64>, half: &nalgebra::Vector3<f64>, pbox: &Isometry3<f64>| {
            let c = pbox.inverse_transform_point(&ps.translation.vector.into());
            let outside = nalgebra::Vector3::new(
                (c.x.abs() - half.x).max(0.0),
                (c.y.abs() - half.y).max(0.0),
                (c.z.abs() - half.z).max(0.0),
            );
            outside.norm() - s.bound
        };
    match (&a.shape, &b.shape) {
        (_, Convex::Box { half_extents }) if b.bound > a.bound => {
            sphere_box(a, pa, half_extents, pb)
        }
        (Convex::Box { half_extents }, _) => sphere_box(b, pb, half_extents, pa),
        _ => (pa.translation.vector - pb.translation.vector).norm() - a.bound - b.bound,
    }
}

/// `levers[b * dof + i]`: how far a point of body b can travel per unit motion of joint i
/// (the distance from the joint's origin to the body's furthest point, with prismatic
/// travel in between; 1 for a prismatic joint; 0 if the joint does not move the body).
fn body_levers(robot: &RobotModel, bodies: &[Body]) -> Vec<f64> {
    let chain = robot.chain();
    let joints = chain.joints();
    let dof = joints.len();
    let travel = |k: usize| match joints[k].motion {
        Motion::Prismatic => joints[k].lower.abs().max(joints[k].upper.abs()),
        Motion::Revolute => 0.0,
    };
    let mut out = vec![0.0; bodies.len() * dof];
    for (bi, b) in bodies.iter().enumerate() {
        // Frame f follows joint f-1, so joint i moves frames i+1 and later.
        let Mount::Frame(f) = b.mount else { continue };
        for i in 0..dof.min(f) {
            out[bi * dof + i] = if joints[i].motion == Motion::Prismatic {
                1.0
            } else {
                let between: f64 = (i + 1..f)
                    .map(|k| chain.fixed_translation_norm(k) + travel(k))
                    .sum();
                between + b.local.translation.vector.norm() + b.bound
            };
        }
    }
    out
}
