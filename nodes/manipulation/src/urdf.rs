//! URDF loading: links with their visual and collision geometry, joints with origins, axes and
//! limits. Only what kinematics, planning and collision checking need; inertials are skipped.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use nalgebra::{Isometry3, Translation3, Unit, UnitQuaternion, Vector3};
use roxmltree::Node;

/// What can go wrong while loading a URDF; every variant names the element it is about.
#[derive(Debug, thiserror::Error)]
pub enum UrdfError {
    /// The file could not be read.
    #[error("cannot read URDF {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The text is not well-formed XML.
    #[error("URDF is not valid XML: {0}")]
    Xml(#[from] roxmltree::Error),
    /// The document element is not `<robot>`.
    #[error("URDF root element is <{0}>, expected <robot>")]
    NotARobot(String),
    /// A required attribute is absent.
    #[error("{element} '{name}': missing attribute '{attribute}'")]
    MissingAttribute {
        /// `link`, `joint`, ...
        element: String,
        /// The name of the link or joint.
        name: String,
        /// The attribute.
        attribute: String,
    },
    /// A required child element is absent.
    #[error("{element} '{name}': missing <{child}>")]
    MissingElement {
        /// `link`, `joint`, ...
        element: String,
        /// The name of the link or joint.
        name: String,
        /// The missing child element.
        child: String,
    },
    /// A number (or a list of numbers) could not be read.
    #[error("{element} '{name}': bad value '{value}' for {what}")]
    BadNumber {
        /// `link`, `joint`, ...
        element: String,
        /// The name of the link or joint.
        name: String,
        /// Which value (e.g. `origin xyz`).
        what: String,
        /// The text found.
        value: String,
    },
    /// The joint type is not a URDF joint type at all.
    #[error("joint '{joint}': unknown joint type '{kind}'")]
    UnknownJointType {
        /// The joint.
        joint: String,
        /// The type attribute.
        kind: String,
    },
    /// The joint type is valid URDF but has more than one degree of freedom.
    #[error(
        "joint '{joint}': joint type '{kind}' is not supported (only revolute, continuous, prismatic and fixed)"
    )]
    UnsupportedJointType {
        /// The joint.
        joint: String,
        /// The type attribute.
        kind: String,
    },
    /// A joint's parent or child link does not exist.
    #[error("joint '{joint}': {role} link '{link}' is not defined")]
    UnknownLink {
        /// The joint.
        joint: String,
        /// `parent` or `child`.
        role: &'static str,
        /// The link it names.
        link: String,
    },
    /// Two links or two joints share a name.
    #[error("duplicate {element} name '{name}'")]
    Duplicate {
        /// `link` or `joint`.
        element: &'static str,
        /// The repeated name.
        name: String,
    },
    /// A link is the child of two joints, so the links do not form a tree.
    #[error("link '{link}' is the child of both joint '{first}' and joint '{second}'")]
    TwoParents {
        /// The link.
        link: String,
        /// One joint.
        first: String,
        /// The other joint.
        second: String,
    },
    /// No link is without a parent (a cycle), or several are (a forest).
    #[error("URDF must have exactly one root link, found {0:?}")]
    Roots(Vec<String>),
    /// Following parent links from this link comes back to it.
    #[error("link '{0}' is part of a cycle of joints")]
    Cycle(String),
    /// A moving joint's axis has zero length.
    #[error("joint '{0}': axis has zero length")]
    ZeroAxis(String),
    /// A limit that must hold does not (lower > upper, negative velocity).
    #[error("joint '{joint}': invalid limits ({why})")]
    BadLimits {
        /// The joint.
        joint: String,
        /// What is wrong.
        why: String,
    },
}

/// The kind of a URDF joint this crate supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JointKind {
    /// Rotation about the axis between limits.
    Revolute,
    /// Rotation about the axis without position limits.
    Continuous,
    /// Translation along the axis between limits.
    Prismatic,
    /// No motion.
    Fixed,
}

/// Limits of a joint; URDF has no acceleration or jerk limits, so those start as `None`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointLimits {
    /// Lowest position (rad or m); `None` for continuous joints.
    pub lower: Option<f64>,
    /// Highest position (rad or m); `None` for continuous joints.
    pub upper: Option<f64>,
    /// Maximum speed (rad/s or m/s).
    pub velocity: f64,
    /// Maximum effort (N·m or N).
    pub effort: f64,
    /// Maximum acceleration: the non-standard `acceleration` attribute of `<limit>`, if any.
    pub acceleration: Option<f64>,
    /// Maximum jerk: the non-standard `jerk` attribute of `<limit>`, if any.
    pub jerk: Option<f64>,
}

/// A joint of the model.
#[derive(Debug, Clone)]
pub struct Joint {
    /// The joint name.
    pub name: String,
    /// Its kind.
    pub kind: JointKind,
    /// The parent link.
    pub parent: String,
    /// The child link.
    pub child: String,
    /// Child joint frame in the parent link frame at zero position.
    pub origin: Isometry3<f64>,
    /// The unit axis of motion in the joint frame.
    pub axis: Unit<Vector3<f64>>,
    /// Limits; `None` only for fixed joints (and continuous joints without a `<limit>`).
    pub limits: Option<JointLimits>,
}

/// A geometric primitive or a mesh.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A box with full side lengths.
    Box {
        /// Side lengths along x, y, z.
        size: Vector3<f64>,
    },
    /// A cylinder along z, centred at the origin.
    Cylinder {
        /// Radius.
        radius: f64,
        /// Length along z.
        length: f64,
    },
    /// A sphere.
    Sphere {
        /// Radius.
        radius: f64,
    },
    /// A mesh file.
    Mesh {
        /// The filename exactly as written in the URDF.
        filename: String,
        /// The file it resolves to, if the file exists.
        resolved: Option<PathBuf>,
        /// Scale along x, y, z.
        scale: Vector3<f64>,
    },
}

/// One `<visual>` or `<collision>` element.
#[derive(Debug, Clone)]
pub struct Geometry {
    /// Pose of the shape in the link frame.
    pub origin: Isometry3<f64>,
    /// The shape.
    pub shape: Shape,
}

/// A link of the model.
#[derive(Debug, Clone)]
pub struct Link {
    /// The link name.
    pub name: String,
    /// Visual shapes.
    pub visuals: Vec<Geometry>,
    /// Collision shapes.
    pub collisions: Vec<Geometry>,
}

/// A mesh that could not be found; loading goes on without it.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingMesh {
    /// The link that references it.
    pub link: String,
    /// The filename as written.
    pub filename: String,
    /// Why it was not found.
    pub reason: String,
}

/// Where `package://` and relative mesh paths point.
#[derive(Debug, Clone, Default)]
pub struct MeshPaths {
    /// Package name → package directory.
    pub packages: HashMap<String, PathBuf>,
    /// Directory relative filenames are resolved against (the URDF's directory).
    pub base_dir: Option<PathBuf>,
}

/// A parsed robot model.
#[derive(Debug, Clone)]
pub struct Urdf {
    /// The robot name.
    pub name: String,
    /// Links in document order.
    pub links: Vec<Link>,
    /// Joints in document order.
    pub joints: Vec<Joint>,
    /// The one link that is no joint's child.
    pub root: String,
    /// Meshes that were referenced but not found.
    pub missing_meshes: Vec<MissingMesh>,
}

impl Urdf {
    /// Parses URDF text; relative mesh paths resolve against `paths.base_dir`.
    pub fn from_str_with(xml: &str, paths: &MeshPaths) -> Result<Self, UrdfError> {
        parse(xml, paths)
    }

    /// Parses URDF text with no mesh search paths (meshes are recorded as missing).
    pub fn parse_str(xml: &str) -> Result<Self, UrdfError> {
        parse(xml, &MeshPaths::default())
    }

    /// Reads and parses a URDF file; relative meshes resolve against the file's directory.
    pub fn from_file(path: &Path, packages: &HashMap<String, PathBuf>) -> Result<Self, UrdfError> {
        let xml = std::fs::read_to_string(path).map_err(|source| UrdfError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let paths = MeshPaths {
            packages: packages.clone(),
            base_dir: path.parent().map(Path::to_path_buf),
        };
        parse(&xml, &paths)
    }

    /// The link with this name.
    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// The joint with this name.
    pub fn joint(&self, name: &str) -> Option<&Joint> {
        self.joints.iter().find(|j| j.name == name)
    }
}

/// Names the element an attribute or value belongs to, for error messages.
struct Ctx<'a> {
    element: &'a str,
    name: &'a str,
}

impl Ctx<'_> {
    fn bad(&self, what: &str, value: &str) -> UrdfError {
        UrdfError::BadNumber {
            element: self.element.to_string(),
            name: self.name.to_string(),
            what: what.to_string(),
            value: value.to_string(),
        }
    }

    fn missing_attr(&self, attribute: &str) -> UrdfError {
        UrdfError::MissingAttribute {
            element: self.element.to_string(),
            name: self.name.to_string(),
            attribute: attribute.to_string(),
        }
    }

    fn number(&self, node: Node, attr: &str) -> Result<Option<f64>, UrdfError> {
        match node.attribute(attr) {
            None => Ok(None),
            Some(s) => match s.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(self.bad(&format!("{} {attr}", node.tag_name().name()), s)),
            },
        }
    }

    fn vec3(&self, node: Node, attr: &str) -> Result<Option<Vector3<f64>>, UrdfError> {
        let Some(s) = node.attribute(attr) else {
            return Ok(None);
        };
        let what = || format!("{} {attr}", node.tag_name().name());
        let mut out = [0.0; 3];
        let mut parts = s.split_whitespace();
        for slot in &mut out {
            let p = parts.next().ok_or_else(|| self.bad(&what(), s))?;
            *slot = p
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| self.bad(&what(), s))?;
        }
        if parts.next().is_some() {
            return Err(self.bad(&what(), s));
        }
        Ok(Some(Vector3::from(out)))
    }

    /// `<origin xyz rpy>`; URDF's rpy is fixed-axis roll, then pitch, then yaw.
    fn origin(&self, parent: Node) -> Result<Isometry3<f64>, UrdfError> {
        let Some(o) = child(parent, "origin") else {
            return Ok(Isometry3::identity());
        };
        let xyz = self.vec3(o, "xyz")?.unwrap_or_else(Vector3::zeros);
        let rpy = self.vec3(o, "rpy")?.unwrap_or_else(Vector3::zeros);
        Ok(Isometry3::from_parts(
            Translation3::from(xyz),
            UnitQuaternion::from_euler_angles(rpy.x, rpy.y, rpy.z),
        ))
    }
}

fn child<'a, 'i>(node: Node<'a, 'i>, tag: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(tag))
}

fn parse(xml: &str, paths: &MeshPaths) -> Result<Urdf, UrdfError> {
    let doc = roxmltree::Document::parse(xml)?;
    let robot = doc.root_element();
    if !robot.has_tag_name("robot") {
        return Err(UrdfError::NotARobot(robot.tag_name().name().to_string()));
    }
    let name = robot.attribute("name").unwrap_or_default().to_string();
    let mut links = Vec::new();
    let mut missing_meshes = Vec::new();
    let mut link_names = HashSet::new();
    for node in robot.children().filter(|c| c.has_tag_name("link")) {
        let name = node
            .attribute("name")
            .ok_or_else(|| UrdfError::MissingAttribute {
                element: "link".into(),
                name: String::new(),
                attribute: "name".into(),
            })?;
        if !link_names.insert(name.to_string()) {
            return Err(UrdfError::Duplicate {
                element: "link",
                name: name.to_string(),
            });
        }
        links.push(parse_link(node, name, paths, &mut missing_meshes)?);
    }
    let mut joints = Vec::new();
    let mut joint_names = HashSet::new();
    let mut parent_of: HashMap<String, String> = HashMap::new();
    for node in robot.children().filter(|c| c.has_tag_name("joint")) {
        let joint = parse_joint(node)?;
        if !joint_names.insert(joint.name.clone()) {
            return Err(UrdfError::Duplicate {
                element: "joint",
                name: joint.name,
            });
        }
        for (role, link) in [("parent", &joint.parent), ("child", &joint.child)] {
            if !link_names.contains(link) {
                return Err(UrdfError::UnknownLink {
                    joint: joint.name.clone(),
                    role,
                    link: link.clone(),
                });
            }
        }
        if let Some(first) = parent_of.insert(joint.child.clone(), joint.name.clone()) {
            return Err(UrdfError::TwoParents {
                link: joint.child.clone(),
                first,
                second: joint.name,
            });
        }
        joints.push(joint);
    }
    let roots: Vec<String> = links
        .iter()
        .filter(|l| !parent_of.contains_key(&l.name))
        .map(|l| l.name.clone())
        .collect();
    if roots.len() != 1 {
        return Err(UrdfError::Roots(roots));
    }
    // One root and one parent per link still allows a cycle detached from the root; walking
    // up from every link must reach the root within `links.len()` steps.
    let joint_parent: HashMap<&str, &str> = joints
        .iter()
        .map(|j| (j.child.as_str(), j.parent.as_str()))
        .collect();
    for l in &links {
        let mut cur = l.name.as_str();
        let mut steps = 0;
        while let Some(p) = joint_parent.get(cur) {
            cur = p;
            steps += 1;
            if steps > links.len() {
                return Err(UrdfError::Cycle(l.name.clone()));
            }
        }
    }
    let root = roots.into_iter().next().unwrap_or_default();
    Ok(Urdf {
        name,
        links,
        joints,
        root,
        missing_meshes,
    })
}

fn parse_link(
    node: Node,
    name: &str,
    paths: &MeshPaths,
    missing: &mut Vec<MissingMesh>,
) -> Result<Link, UrdfError> {
    let ctx = Ctx {
        element: "link",
        name,
    };
    let mut visuals = Vec::new();
    let mut collisions = Vec::new();
    for g in node.children().filter(|c| c.is_element()) {
        let out = match g.tag_name().name() {
            "visual" => &mut visuals,
            "collision" => &mut collisions,
            _ => continue,
        };
        let geom = child(g, "geometry").ok_or_else(|| UrdfError::MissingElement {
            element: "link".into(),
            name: name.into(),
            child: format!("{}/geometry", g.tag_name().name()),
        })?;
        let Some(shape_node) = geom.children().find(|c| c.is_element()) else {
            return Err(UrdfError::MissingElement {
                element: "link".into(),
                name: name.into(),
                child: "geometry shape".into(),
            });
        };
        let shape = parse_shape(&ctx, shape_node, paths, missing)?;
        out.push(Geometry {
            origin: ctx.origin(g)?,
            shape,
        });
    }
    Ok(Link {
        name: name.to_string(),
        visuals,
        collisions,
    })
}

fn parse_shape(
    ctx: &Ctx,
    node: Node,
    paths: &MeshPaths,
    missing: &mut Vec<MissingMesh>,
) -> Result<Shape, UrdfError> {
    let req = |attr: &str| -> Result<f64, UrdfError> {
        ctx.number(node, attr)?
            .ok_or_else(|| ctx.missing_attr(&format!("{} {attr}", node.tag_name().name())))
    };
    Ok(match node.tag_name().name() {
        "box" => Shape::Box {
            size: ctx
                .vec3(node, "size")?
                .ok_or_else(|| ctx.missing_attr("box size"))?,
        },
        "cylinder" => Shape::Cylinder {
            radius: req("radius")?,
            length: req("length")?,
        },
        "sphere" => Shape::Sphere {
            radius: req("radius")?,
        },
        "mesh" => {
            let filename = node
                .attribute("filename")
                .ok_or_else(|| ctx.missing_attr("mesh filename"))?
                .to_string();
            let scale = ctx
                .vec3(node, "scale")?
                .unwrap_or_else(|| Vector3::new(1.0, 1.0, 1.0));
            let resolved = match resolve_mesh(&filename, paths) {
                Ok(p) => Some(p),
                Err(reason) => {
                    missing.push(MissingMesh {
                        link: ctx.name.to_string(),
                        filename: filename.clone(),
                        reason,
                    });
                    None
                }
            };
            Shape::Mesh {
                filename,
                resolved,
                scale,
            }
        }
        other => {
            return Err(UrdfError::MissingElement {
                element: "link".into(),
                name: ctx.name.into(),
                child: format!("known geometry (found <{other}>)"),
            });
        }
    })
}

/// Finds a mesh file on disk, or says why not.
pub fn resolve_mesh(filename: &str, paths: &MeshPaths) -> Result<PathBuf, String> {
    let path = if let Some(rest) = filename.strip_prefix("package://") {
        let (pkg, rel) = rest.split_once('/').unwrap_or((rest, ""));
        let dir = paths
            .packages
            .get(pkg)
            .ok_or_else(|| format!("package '{pkg}' is not in the package path map"))?;
        dir.join(rel)
    } else if let Some(abs) = filename.strip_prefix("file://") {
        PathBuf::from(abs)
    } else if Path::new(filename).is_absolute() {
        PathBuf::from(filename)
    } else {
        let dir = paths.base_dir.as_ref().ok_or_else(|| {
            "relative mesh path and no base directory (URDF parsed from a string)".to_string()
        })?;
        dir.join(filename)
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} does not exist", path.display()))
    }
}

fn parse_joint(node: Node) -> Result<Joint, UrdfError> {
    let name = node
        .attribute("name")
        .ok_or_else(|| UrdfError::MissingAttribute {
            element: "joint".into(),
            name: String::new(),
            attribute: "name".into(),
        })?;
    let ctx = Ctx {
        element: "joint",
        name,
    };
    let kind_str = node
        .attribute("type")
        .ok_or_else(|| ctx.missing_attr("type"))?;
    let kind = match kind_str {
        "revolute" => JointKind::Revolute,
        "continuous" => JointKind::Continuous,
        "prismatic" => JointKind::Prismatic,
        "fixed" => JointKind::Fixed,
        "floating" | "planar" => {
            return Err(UrdfError::UnsupportedJointType {
                joint: name.into(),
                kind: kind_str.into(),
            });
        }
        _ => {
            return Err(UrdfError::UnknownJointType {
                joint: name.into(),
                kind: kind_str.into(),
            });
        }
    };
    let link_attr = |tag: &str| -> Result<String, UrdfError> {
        let n = child(node, tag).ok_or_else(|| UrdfError::MissingElement {
            element: "joint".into(),
            name: name.into(),
            child: tag.into(),
        })?;
        n.attribute("link")
            .map(str::to_string)
            .ok_or_else(|| ctx.missing_attr(&format!("{tag} link")))
    };
    let parent = link_attr("parent")?;
    let child_link = link_attr("child")?;
    let origin = ctx.origin(node)?;
    // URDF's default axis is x.
    let axis_v = match child(node, "axis") {
        Some(a) => ctx.vec3(a, "xyz")?.unwrap_or_else(Vector3::x),
        None => Vector3::x(),
    };
    let axis = if kind == JointKind::Fixed {
        Unit::try_new(axis_v, 1e-12).unwrap_or_else(Vector3::x_axis)
    } else {
        Unit::try_new(axis_v, 1e-12).ok_or_else(|| UrdfError::ZeroAxis(name.into()))?
    };
    let limits = match (kind, child(node, "limit")) {
        (JointKind::Fixed, _) => None,
        (JointKind::Continuous, None) => None,
        (_, None) => {
            return Err(UrdfError::MissingElement {
                element: "joint".into(),
                name: name.into(),
                child: "limit".into(),
            });
        }
        (_, Some(l)) => {
            let velocity = ctx
                .number(l, "velocity")?
                .ok_or_else(|| ctx.missing_attr("limit velocity"))?;
            let effort = ctx
                .number(l, "effort")?
                .ok_or_else(|| ctx.missing_attr("limit effort"))?;
            let (lower, upper) = if kind == JointKind::Continuous {
                (None, None)
            } else {
                // URDF defaults both bounds to 0.
                let lo = ctx.number(l, "lower")?.unwrap_or(0.0);
                let hi = ctx.number(l, "upper")?.unwrap_or(0.0);
                if lo > hi {
                    return Err(UrdfError::BadLimits {
                        joint: name.into(),
                        why: format!("lower {lo} > upper {hi}"),
                    });
                }
                (Some(lo), Some(hi))
            };
            if velocity < 0.0 || effort < 0.0 {
                return Err(UrdfError::BadLimits {
                    joint: name.into(),
                    why: "negative velocity or effort".into(),
                });
            }
            // Not URDF: an embody extension other parsers ignore, so a robot can carry its
            // datasheet acceleration and jerk limits in one file.
            let acceleration = ctx.number(l, "acceleration")?;
            let jerk = ctx.number(l, "jerk")?;
            if acceleration.is_some_and(|a| a <= 0.0) || jerk.is_some_and(|j| j <= 0.0) {
                return Err(UrdfError::BadLimits {
                    joint: name.into(),
                    why: "acceleration and jerk limits must be positive".into(),
                });
            }
            Some(JointLimits {
                lower,
                upper,
                velocity,
                effort,
                acceleration,
                jerk,
            })
        }
    };
    Ok(Joint {
        name: name.to_string(),
        kind,
        parent,
        child: child_link,
        origin,
        axis,
        limits,
    })
}
