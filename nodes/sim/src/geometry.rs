//! 3D primitives the simulated sensors ray-cast against: rays, oriented boxes, upright
//! cylinders, planes, axis-aligned bounds for culling, and the 2D footprints (with a separating
//! axis overlap test) that collision checks use. Also the `Scene` the sensors look at.
//!
//! Frames follow REP-103 (x forward, y left, z up); all lengths in metres, angles in radians.
//! Every ray query returns the nearest surface crossing with distance in `(t_min, t_max]`, so a
//! ray that starts inside a solid reports where it leaves it.

use nalgebra::{Isometry3, Matrix3, Point2, Point3, Rotation3, Unit, Vector2, Vector3};
use thiserror::Error;

/// Directions and denominators smaller than this are treated as parallel, to avoid dividing
/// by (almost) zero and producing huge or NaN distances.
const PARALLEL_EPS: f64 = 1e-12;

/// Invalid input to a geometry constructor.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GeometryError {
    /// A coordinate, angle or length was NaN or infinite.
    #[error("{what} must be finite, got {value:?}")]
    NotFinite {
        /// Which quantity was wrong.
        what: &'static str,
        /// The offending value (the first non-finite component).
        value: f64,
    },
    /// A length that must be strictly positive was not.
    #[error("{what} must be > 0, got {value}")]
    NotPositive {
        /// Which quantity was wrong.
        what: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A direction or normal had (near) zero length and cannot be normalised.
    #[error("{what} has zero length")]
    ZeroLength {
        /// Which vector was wrong.
        what: &'static str,
    },
}

fn check_finite(what: &'static str, values: &[f64]) -> Result<(), GeometryError> {
    match values.iter().find(|v| !v.is_finite()) {
        Some(&value) => Err(GeometryError::NotFinite { what, value }),
        None => Ok(()),
    }
}

fn check_positive(what: &'static str, value: f64) -> Result<(), GeometryError> {
    check_finite(what, &[value])?;
    if value > 0.0 {
        Ok(())
    } else {
        Err(GeometryError::NotPositive { what, value })
    }
}

/// A half-line from `origin` along a unit `direction`; the distance `t` along it is in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ray {
    origin: Point3<f64>,
    direction: Vector3<f64>,
}

impl Ray {
    /// A ray from `origin` along `direction` (normalised here; it must be non-zero and finite).
    pub fn new(origin: Point3<f64>, direction: Vector3<f64>) -> Result<Self, GeometryError> {
        check_finite("ray origin", origin.coords.as_slice())?;
        check_finite("ray direction", direction.as_slice())?;
        let norm = direction.norm();
        if norm < PARALLEL_EPS {
            return Err(GeometryError::ZeroLength {
                what: "ray direction",
            });
        }
        Ok(Self {
            origin,
            direction: direction / norm,
        })
    }

    /// Skips validation for the sensor inner loops, whose directions come from unit tables.
    pub(crate) fn new_unit_unchecked(origin: Point3<f64>, direction: Vector3<f64>) -> Self {
        debug_assert!((direction.norm() - 1.0).abs() < 1e-9);
        Self { origin, direction }
    }

    /// The start point.
    pub fn origin(&self) -> Point3<f64> {
        self.origin
    }

    /// The unit direction.
    pub fn direction(&self) -> Vector3<f64> {
        self.direction
    }

    /// The point at distance `t` along the ray.
    pub fn at(&self, t: f64) -> Point3<f64> {
        self.origin + self.direction * t
    }
}

/// Picks the first crossing after `t_min` from an entry/exit pair, so a ray that starts inside
/// reports its exit; `None` when that crossing is beyond `t_max`.
fn first_crossing(t_near: f64, t_far: f64, t_min: f64, t_max: f64) -> Option<f64> {
    if t_near > t_far {
        return None;
    }
    let t = if t_near > t_min { t_near } else { t_far };
    (t > t_min && t <= t_max).then_some(t)
}

/// Slab test of a ray against the box `[-half, half]` in the box's own frame; returns the
/// entry and exit distances of the infinite line (entry may be negative).
#[inline]
fn slab_interval(
    origin: &Vector3<f64>,
    direction: &Vector3<f64>,
    lo: &Vector3<f64>,
    hi: &Vector3<f64>,
) -> Option<(f64, f64)> {
    let mut t_near = f64::NEG_INFINITY;
    let mut t_far = f64::INFINITY;
    for axis in 0..3 {
        let o = origin[axis];
        let d = direction[axis];
        if d.abs() < PARALLEL_EPS {
            // Parallel to this slab: either always inside it or never (dividing would give
            // 0 * inf = NaN when the origin lies exactly on a face).
            if o < lo[axis] || o > hi[axis] {
                return None;
            }
            continue;
        }
        let inv = 1.0 / d;
        let (mut t0, mut t1) = ((lo[axis] - o) * inv, (hi[axis] - o) * inv);
        if t0 > t1 {
            std::mem::swap(&mut t0, &mut t1);
        }
        t_near = t_near.max(t0);
        t_far = t_far.min(t1);
        if t_near > t_far {
            return None;
        }
    }
    Some((t_near, t_far))
}

/// An axis-aligned bounding box, used to cull objects before exact tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aabb {
    /// The corner with the smallest coordinates.
    pub min: Point3<f64>,
    /// The corner with the largest coordinates.
    pub max: Point3<f64>,
}

impl Aabb {
    /// The smallest box holding all `points`; `None` for an empty iterator.
    pub fn from_points<I: IntoIterator<Item = Point3<f64>>>(points: I) -> Option<Self> {
        let mut iter = points.into_iter();
        let first = iter.next()?;
        Some(iter.fold(
            Self {
                min: first,
                max: first,
            },
            |acc, p| Self {
                min: acc.min.inf(&p),
                max: acc.max.sup(&p),
            },
        ))
    }

    /// Whether `p` lies inside or on the boundary.
    pub fn contains(&self, p: &Point3<f64>) -> bool {
        (0..3).all(|i| p[i] >= self.min[i] && p[i] <= self.max[i])
    }

    /// Whether the two boxes share at least one point (touching counts).
    pub fn overlaps(&self, other: &Aabb) -> bool {
        (0..3).all(|i| self.min[i] <= other.max[i] && other.min[i] <= self.max[i])
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &Aabb) -> Aabb {
        Aabb {
            min: self.min.inf(&other.min),
            max: self.max.sup(&other.max),
        }
    }

    /// The eight corners (bit 0 selects x max, bit 1 y max, bit 2 z max).
    pub fn corners(&self) -> [Point3<f64>; 8] {
        std::array::from_fn(|i| {
            Point3::new(
                if i & 1 == 0 { self.min.x } else { self.max.x },
                if i & 2 == 0 { self.min.y } else { self.max.y },
                if i & 4 == 0 { self.min.z } else { self.max.z },
            )
        })
    }

    /// Nearest surface crossing of `ray` in `(t_min, t_max]` (the exit if the ray starts inside).
    pub fn ray_intersect(&self, ray: &Ray, t_min: f64, t_max: f64) -> Option<f64> {
        let (t_near, t_far) = slab_interval(
            &ray.origin.coords,
            &ray.direction,
            &self.min.coords,
            &self.max.coords,
        )?;
        first_crossing(t_near, t_far, t_min, t_max)
    }
}

/// An oriented box: centre, half extents along its own axes, and a rotation (usually a yaw
/// about z, for things standing on the ground).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obb {
    center: Point3<f64>,
    half_extents: Vector3<f64>,
    rotation: Rotation3<f64>,
}

impl Obb {
    /// A box rotated by `yaw` about the world z axis (x is its length, y its width, z its height).
    pub fn new(
        center: Point3<f64>,
        half_extents: Vector3<f64>,
        yaw: f64,
    ) -> Result<Self, GeometryError> {
        check_finite("box yaw", &[yaw])?;
        Self::with_rotation(center, half_extents, yaw_rotation(yaw))
    }

    /// A box standing on the plane z = `ground_z`, sized length × width × height (full sizes,
    /// as target catalogues list them), centred at (`x`, `y`) with heading `yaw`.
    pub fn on_ground(
        x: f64,
        y: f64,
        ground_z: f64,
        yaw: f64,
        length: f64,
        width: f64,
        height: f64,
    ) -> Result<Self, GeometryError> {
        check_finite("box ground height", &[ground_z])?;
        check_positive("box height", height)?;
        Self::new(
            Point3::new(x, y, ground_z + height / 2.0),
            Vector3::new(length, width, height) / 2.0,
            yaw,
        )
    }

    /// A box with an arbitrary orientation.
    pub fn with_rotation(
        center: Point3<f64>,
        half_extents: Vector3<f64>,
        rotation: Rotation3<f64>,
    ) -> Result<Self, GeometryError> {
        check_finite("box centre", center.coords.as_slice())?;
        check_finite("box rotation", rotation.matrix().as_slice())?;
        check_positive("box half extent x", half_extents.x)?;
        check_positive("box half extent y", half_extents.y)?;
        check_positive("box half extent z", half_extents.z)?;
        Ok(Self {
            center,
            half_extents,
            rotation,
        })
    }

    /// The same box moved to a new centre and heading (a yaw about z).
    pub fn moved_to(&self, center: Point3<f64>, yaw: f64) -> Result<Self, GeometryError> {
        check_finite("box yaw", &[yaw])?;
        Self::with_rotation(center, self.half_extents, yaw_rotation(yaw))
    }

    /// The centre.
    pub fn center(&self) -> Point3<f64> {
        self.center
    }

    /// Half the size along the box's own x, y, z axes.
    pub fn half_extents(&self) -> Vector3<f64> {
        self.half_extents
    }

    /// The box orientation (box frame to world).
    pub fn rotation(&self) -> Rotation3<f64> {
        self.rotation
    }

    /// The heading: the angle of the box's x axis projected on the world xy plane.
    pub fn yaw(&self) -> f64 {
        let m = self.rotation.matrix();
        m[(1, 0)].atan2(m[(0, 0)])
    }

    /// The box frame as a pose (box frame to world).
    pub fn pose(&self) -> Isometry3<f64> {
        Isometry3::from_parts(self.center.coords.into(), self.rotation.into())
    }

    /// The eight corners in world coordinates (bit 0 selects +x, bit 1 +y, bit 2 +z in the box frame).
    pub fn corners(&self) -> [Point3<f64>; 8] {
        let h = self.half_extents;
        std::array::from_fn(|i| {
            let local = Vector3::new(
                if i & 1 == 0 { -h.x } else { h.x },
                if i & 2 == 0 { -h.y } else { h.y },
                if i & 4 == 0 { -h.z } else { h.z },
            );
            self.center + self.rotation * local
        })
    }

    /// The axis-aligned bounds.
    pub fn aabb(&self) -> Aabb {
        // |R| h is the half size of the rotated box along each world axis.
        let reach = self.rotation.matrix().abs() * self.half_extents;
        Aabb {
            min: self.center - reach,
            max: self.center + reach,
        }
    }

    /// Whether `p` lies inside or on the boundary.
    pub fn contains(&self, p: &Point3<f64>) -> bool {
        let local = self.rotation.inverse_transform_vector(&(p - self.center));
        (0..3).all(|i| local[i].abs() <= self.half_extents[i])
    }

    /// Nearest surface crossing of `ray` in `(t_min, t_max]` (the exit if the ray starts inside).
    pub fn ray_intersect(&self, ray: &Ray, t_min: f64, t_max: f64) -> Option<f64> {
        let rt = self.rotation.matrix().transpose();
        self.ray_intersect_local(
            &(rt * (ray.origin - self.center)),
            &(rt * ray.direction),
            t_min,
            t_max,
        )
    }

    /// The slab test on a ray already expressed in the box frame, so a sensor can transform its
    /// fixed origin once per scan instead of once per ray.
    #[inline]
    pub(crate) fn ray_intersect_local(
        &self,
        origin_local: &Vector3<f64>,
        direction_local: &Vector3<f64>,
        t_min: f64,
        t_max: f64,
    ) -> Option<f64> {
        let hi = self.half_extents;
        let (t_near, t_far) = slab_interval(origin_local, direction_local, &-hi, &hi)?;
        first_crossing(t_near, t_far, t_min, t_max)
    }

    /// The outward unit normal of the face nearest to `p` (a point on or near the surface).
    pub fn normal_at(&self, p: &Point3<f64>) -> Vector3<f64> {
        let local = self.rotation.inverse_transform_vector(&(p - self.center));
        // The face whose plane is closest to the point, measured relative to the box size so
        // long thin boxes pick the right face.
        let mut best_axis = 0;
        let mut best_gap = f64::INFINITY;
        for axis in 0..3 {
            let gap = (self.half_extents[axis] - local[axis].abs()).abs();
            if gap < best_gap {
                best_gap = gap;
                best_axis = axis;
            }
        }
        let mut n = Vector3::zeros();
        n[best_axis] = local[best_axis].signum();
        self.rotation * n
    }

    /// The outline of the box seen from above: the convex hull of its corners projected on
    /// the xy plane, counter-clockwise (four points for a box that is only yawed).
    pub fn footprint(&self) -> Vec<Point2<f64>> {
        convex_hull_2d(
            self.corners()
                .iter()
                .map(|c| Point2::new(c.x, c.y))
                .collect(),
        )
    }

    /// Whether the footprints of the two boxes overlap in the xy plane (touching counts, since
    /// contact is a collision); separating axis theorem.
    pub fn overlaps_2d(&self, other: &Obb) -> bool {
        convex_polygons_overlap(&self.footprint(), &other.footprint())
    }
}

/// The rotation by `yaw` about z, built from cos/sin so the z row and column are exactly 0/1
/// (projected footprints of yawed boxes then have exactly four distinct corners).
fn yaw_rotation(yaw: f64) -> Rotation3<f64> {
    let (s, c) = yaw.sin_cos();
    Rotation3::from_matrix_unchecked(Matrix3::new(c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0))
}

/// An upright (z-aligned) solid cylinder standing on its bottom disc — cups, posts, or
/// pedestrians modelled as columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cylinder {
    base_center: Point3<f64>,
    radius: f64,
    height: f64,
}

impl Cylinder {
    /// A cylinder whose bottom disc is centred at `base_center`.
    pub fn new(base_center: Point3<f64>, radius: f64, height: f64) -> Result<Self, GeometryError> {
        check_finite("cylinder base centre", base_center.coords.as_slice())?;
        check_positive("cylinder radius", radius)?;
        check_positive("cylinder height", height)?;
        Ok(Self {
            base_center,
            radius,
            height,
        })
    }

    /// The centre of the bottom disc.
    pub fn base_center(&self) -> Point3<f64> {
        self.base_center
    }

    /// The radius.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// The height.
    pub fn height(&self) -> f64 {
        self.height
    }

    /// The axis-aligned bounds.
    pub fn aabb(&self) -> Aabb {
        let r = Vector3::new(self.radius, self.radius, 0.0);
        Aabb {
            min: self.base_center - r,
            max: self.base_center + r + Vector3::z() * self.height,
        }
    }

    /// Whether `p` lies inside or on the boundary.
    pub fn contains(&self, p: &Point3<f64>) -> bool {
        let d = p - self.base_center;
        d.z >= 0.0 && d.z <= self.height && d.x * d.x + d.y * d.y <= self.radius * self.radius
    }

    /// Nearest surface crossing of `ray` in `(t_min, t_max]` (the exit if the ray starts inside).
    pub fn ray_intersect(&self, ray: &Ray, t_min: f64, t_max: f64) -> Option<f64> {
        let o = ray.origin - self.base_center;
        let d = ray.direction;
        let r2 = self.radius * self.radius;
        let mut best: Option<f64> = None;
        let mut consider = |t: f64| {
            if t > t_min && t <= t_max && best.is_none_or(|b| t < b) {
                best = Some(t);
            }
        };
        // Side wall: |o_xy + t d_xy| = r, kept where the hit lies between the caps.
        let a = d.x * d.x + d.y * d.y;
        if a > PARALLEL_EPS {
            let b = o.x * d.x + o.y * d.y;
            let c = o.x * o.x + o.y * o.y - r2;
            let disc = b * b - a * c;
            if disc >= 0.0 {
                let sq = disc.sqrt();
                for t in [(-b - sq) / a, (-b + sq) / a] {
                    let z = o.z + t * d.z;
                    if (0.0..=self.height).contains(&z) {
                        consider(t);
                    }
                }
            }
        }
        // Caps: the planes z = 0 and z = height, kept inside the radius.
        if d.z.abs() > PARALLEL_EPS {
            for cap_z in [0.0, self.height] {
                let t = (cap_z - o.z) / d.z;
                let x = o.x + t * d.x;
                let y = o.y + t * d.y;
                if x * x + y * y <= r2 {
                    consider(t);
                }
            }
        }
        best
    }

    /// The outward unit normal of the surface nearest to `p` (a point on or near the surface).
    pub fn normal_at(&self, p: &Point3<f64>) -> Vector3<f64> {
        let d = p - self.base_center;
        let radial = Vector2::new(d.x, d.y);
        let side_gap = (radial.norm() - self.radius).abs();
        let bottom_gap = d.z.abs();
        let top_gap = (d.z - self.height).abs();
        if side_gap <= bottom_gap.min(top_gap) && radial.norm() > 0.0 {
            let n = radial.normalize();
            Vector3::new(n.x, n.y, 0.0)
        } else if top_gap <= bottom_gap {
            Vector3::z()
        } else {
            -Vector3::z()
        }
    }
}

/// An infinite plane `normal · p = offset` (e.g. the ground, z = h); ray hits count from
/// either side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plane {
    normal: Unit<Vector3<f64>>,
    offset: f64,
}

impl Plane {
    /// The plane through `point` with the given normal (normalised here; must be non-zero).
    pub fn new(normal: Vector3<f64>, point: Point3<f64>) -> Result<Self, GeometryError> {
        check_finite("plane normal", normal.as_slice())?;
        check_finite("plane point", point.coords.as_slice())?;
        let normal = Unit::try_new(normal, PARALLEL_EPS).ok_or(GeometryError::ZeroLength {
            what: "plane normal",
        })?;
        Ok(Self {
            offset: normal.dot(&point.coords),
            normal,
        })
    }

    /// The horizontal plane z = `height`, normal up.
    pub fn horizontal(height: f64) -> Result<Self, GeometryError> {
        check_finite("plane height", &[height])?;
        Ok(Self {
            normal: Vector3::z_axis(),
            offset: height,
        })
    }

    /// The unit normal.
    pub fn normal(&self) -> Vector3<f64> {
        self.normal.into_inner()
    }

    /// The `offset` in `normal · p = offset`.
    pub fn offset(&self) -> f64 {
        self.offset
    }

    /// Signed distance of `p` from the plane (positive on the normal's side).
    pub fn signed_distance(&self, p: &Point3<f64>) -> f64 {
        self.normal.dot(&p.coords) - self.offset
    }

    /// Where `ray` crosses the plane, if in `(t_min, t_max]`; `None` for a ray parallel to it.
    pub fn ray_intersect(&self, ray: &Ray, t_min: f64, t_max: f64) -> Option<f64> {
        let denom = self.normal.dot(&ray.direction);
        if denom.abs() < PARALLEL_EPS {
            return None;
        }
        let t = -self.signed_distance(&ray.origin) / denom;
        (t > t_min && t <= t_max).then_some(t)
    }
}

/// A solid a sensor can hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// An oriented box (vehicles, pedestrians, parked cars, crates).
    Box(Obb),
    /// An upright cylinder (cups, posts).
    Cylinder(Cylinder),
}

impl Shape {
    /// Nearest surface crossing of `ray` in `(t_min, t_max]`.
    pub fn ray_intersect(&self, ray: &Ray, t_min: f64, t_max: f64) -> Option<f64> {
        match self {
            Shape::Box(b) => b.ray_intersect(ray, t_min, t_max),
            Shape::Cylinder(c) => c.ray_intersect(ray, t_min, t_max),
        }
    }

    /// The axis-aligned bounds.
    pub fn aabb(&self) -> Aabb {
        match self {
            Shape::Box(b) => b.aabb(),
            Shape::Cylinder(c) => c.aabb(),
        }
    }

    /// Eight points whose convex hull contains the shape (exact corners for a box), for
    /// conservative angular culling.
    pub fn hull_corners(&self) -> [Point3<f64>; 8] {
        match self {
            Shape::Box(b) => b.corners(),
            Shape::Cylinder(c) => c.aabb().corners(),
        }
    }

    /// The outward unit normal of the surface nearest to `p`.
    pub fn normal_at(&self, p: &Point3<f64>) -> Vector3<f64> {
        match self {
            Shape::Box(b) => b.normal_at(p),
            Shape::Cylinder(c) => c.normal_at(p),
        }
    }

    /// Whether `p` lies inside or on the boundary.
    pub fn contains(&self, p: &Point3<f64>) -> bool {
        match self {
            Shape::Box(b) => b.contains(p),
            Shape::Cylinder(c) => c.contains(p),
        }
    }
}

/// 2D cross product of (a - o) and (b - o): positive when o→a→b turns left.
fn cross(o: &Point2<f64>, a: &Point2<f64>, b: &Point2<f64>) -> f64 {
    (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x)
}

/// The convex hull, counter-clockwise, without duplicate or collinear points (Andrew's
/// monotone chain).
pub fn convex_hull_2d(mut points: Vec<Point2<f64>>) -> Vec<Point2<f64>> {
    points.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    points.dedup();
    if points.len() < 3 {
        return points;
    }
    let mut hull: Vec<Point2<f64>> = Vec::with_capacity(points.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let ordered: Box<dyn Iterator<Item = &Point2<f64>>> = if pass == 0 {
            Box::new(points.iter())
        } else {
            Box::new(points.iter().rev())
        };
        for p in ordered {
            while hull.len() >= start + 2
                && cross(&hull[hull.len() - 2], &hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(*p);
        }
        // The last point of each chain starts the other one.
        hull.pop();
    }
    hull
}

/// Whether two convex polygons (vertices in order, either winding) overlap; touching counts.
/// Separating axis theorem: they are disjoint iff some edge normal separates their projections.
pub fn convex_polygons_overlap(a: &[Point2<f64>], b: &[Point2<f64>]) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let separated_by_edges_of = |poly: &[Point2<f64>]| {
        (0..poly.len()).any(|i| {
            let edge = poly[(i + 1) % poly.len()] - poly[i];
            let axis = Vector2::new(-edge.y, edge.x);
            if axis.norm_squared() == 0.0 {
                return false;
            }
            let project = |pts: &[Point2<f64>]| {
                pts.iter()
                    .map(|p| axis.dot(&p.coords))
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                        (lo.min(v), hi.max(v))
                    })
            };
            let (a_lo, a_hi) = project(a);
            let (b_lo, b_hi) = project(b);
            a_hi < b_lo || b_hi < a_lo
        })
    };
    !(separated_by_edges_of(a) || separated_by_edges_of(b))
}

/// What a scene object is, as ground truth (the perception classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectClass {
    /// Not classified.
    Unknown,
    /// A passenger car (moving, parked or crashed).
    Car,
    /// A truck.
    Truck,
    /// A bus.
    Bus,
    /// A motorcycle with rider.
    Motorcycle,
    /// A bicycle with rider.
    Bicycle,
    /// A pedestrian, adult or child.
    Pedestrian,
    /// A static obstacle (debris, a barrier, an object on a table).
    Obstacle,
}

/// One solid in a `Scene`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneObject {
    /// Caller-chosen id, reported with every sensor hit on this object.
    pub id: u32,
    /// Ground-truth class.
    pub class: ObjectClass,
    /// The solid.
    pub shape: Shape,
    /// Diffuse reflectivity in [0, 1], which scales lidar intensity.
    pub reflectivity: f64,
}

impl SceneObject {
    /// Reflectivity assumed unless set (painted metal and clothing are mid-grey to a lidar).
    pub const DEFAULT_REFLECTIVITY: f64 = 0.5;

    /// An object with the default reflectivity.
    pub fn new(id: u32, class: ObjectClass, shape: Shape) -> Self {
        Self {
            id,
            class,
            shape,
            reflectivity: Self::DEFAULT_REFLECTIVITY,
        }
    }
}

/// The ground of a `Scene`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ground {
    /// The ground surface.
    pub plane: Plane,
    /// Diffuse reflectivity in [0, 1].
    pub reflectivity: f64,
}

/// What sensors see: solids and an optional ground plane. The ego vehicle is not part of it
/// (its sensors sit on or inside its own box).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scene {
    /// The solids.
    pub objects: Vec<SceneObject>,
    /// The ground, if any.
    pub ground: Option<Ground>,
}

/// Where a ray hit a scene.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneHit {
    /// Distance along the ray.
    pub t: f64,
    /// The object's id, or `None` for the ground.
    pub object_id: Option<u32>,
    /// Outward unit surface normal at the hit.
    pub normal: Vector3<f64>,
    /// Reflectivity of the surface hit.
    pub reflectivity: f64,
}

impl Scene {
    /// Asphalt reflects about a tenth of a near-infrared lidar pulse.
    pub const DEFAULT_GROUND_REFLECTIVITY: f64 = 0.1;

    /// An empty scene without ground.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty scene with flat ground at z = `height`.
    pub fn with_flat_ground(height: f64) -> Result<Self, GeometryError> {
        Ok(Self {
            objects: Vec::new(),
            ground: Some(Ground {
                plane: Plane::horizontal(height)?,
                reflectivity: Self::DEFAULT_GROUND_REFLECTIVITY,
            }),
        })
    }

    /// Adds an object.
    pub fn push(&mut self, object: SceneObject) {
        self.objects.push(object);
    }

    /// The nearest hit of `ray` in `(t_min, t_max]` against every object and the ground
    /// (brute force; the lidar has its own culled loop).
    pub fn cast_ray(&self, ray: &Ray, t_min: f64, t_max: f64) -> Option<SceneHit> {
        let mut best: Option<SceneHit> = None;
        let mut limit = t_max;
        if let Some(ground) = &self.ground
            && let Some(t) = ground.plane.ray_intersect(ray, t_min, limit)
        {
            limit = t;
            best = Some(SceneHit {
                t,
                object_id: None,
                normal: ground.plane.normal(),
                reflectivity: ground.reflectivity,
            });
        }
        for object in &self.objects {
            if let Some(t) = object.shape.ray_intersect(ray, t_min, limit) {
                limit = t;
                best = Some(SceneHit {
                    t,
                    object_id: Some(object.id),
                    normal: object.shape.normal_at(&ray.at(t)),
                    reflectivity: object.reflectivity,
                });
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn ray(o: [f64; 3], d: [f64; 3]) -> Ray {
        Ray::new(Point3::from(o), Vector3::from(d)).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn unit_box_at(x: f64, y: f64, yaw: f64) -> Obb {
        // 4 × 2 × 1.5 m, centre 0.75 m up.
        Obb::new(Point3::new(x, y, 0.75), Vector3::new(2.0, 1.0, 0.75), yaw).unwrap()
    }

    #[test]
    fn ray_new_normalises_and_rejects_bad_input() {
        let r = ray([0.0; 3], [3.0, 4.0, 0.0]);
        assert!(close(r.direction().x, 0.6) && close(r.direction().y, 0.8));
        assert_eq!(
            Ray::new(Point3::origin(), Vector3::zeros()),
            Err(GeometryError::ZeroLength {
                what: "ray direction"
            })
        );
        assert!(matches!(
            Ray::new(Point3::new(f64::NAN, 0.0, 0.0), Vector3::x()),
            Err(GeometryError::NotFinite { .. })
        ));
        assert!(matches!(
            Obb::new(Point3::origin(), Vector3::new(1.0, 0.0, 1.0), 0.0),
            Err(GeometryError::NotPositive { .. })
        ));
        assert!(Cylinder::new(Point3::origin(), -1.0, 1.0).is_err());
    }

    #[test]
    fn ray_hits_axis_aligned_box_at_near_face() {
        let b = unit_box_at(10.0, 0.0, 0.0);
        // Near face at x = 10 - 2 = 8.
        let t = b.ray_intersect(&ray([0.0, 0.0, 0.5], [1.0, 0.0, 0.0]), 0.0, 100.0);
        assert!(close(t.unwrap(), 8.0), "{t:?}");
        // Diagonal ray in xy towards (8, 0.5): distance sqrt(64 + 0.25).
        let t = b.ray_intersect(&ray([0.0, 0.0, 0.5], [8.0, 0.5, 0.0]), 0.0, 100.0);
        assert!(close(t.unwrap(), (64.25f64).sqrt()), "{t:?}");
        // t_max excludes the hit; t_max equal to the hit includes it.
        assert_eq!(
            b.ray_intersect(&ray([0.0, 0.0, 0.5], [1.0, 0.0, 0.0]), 0.0, 7.9),
            None
        );
        assert!(
            b.ray_intersect(&ray([0.0, 0.0, 0.5], [1.0, 0.0, 0.0]), 0.0, 8.0)
                .is_some()
        );
    }

    #[test]
    fn ray_hits_box_rotated_30_degrees() {
        // Box 4 × 2 m centred 10 m ahead, yawed 30°. Along the world x axis the ray's box-frame
        // coordinates are (s - 10)(cos 30°, -sin 30°). The y slab |y_l| <= 1 is entered at
        // s - 10 = -1 / sin 30° = -2, the x slab |x_l| <= 2 at s - 10 = -2 / cos 30° = -2.309;
        // the later of the two entries wins, so the hit is at s = 8 (on the +y face, where
        // x_l = -2 cos 30° = -1.732 is inside ±2).
        let b = unit_box_at(10.0, 0.0, PI / 6.0);
        let t = b.ray_intersect(&ray([0.0, 0.0, 0.5], [1.0, 0.0, 0.0]), 0.0, 100.0);
        assert!(close(t.unwrap(), 8.0), "{t:?}");
        // Ray along the box's own x axis towards its centre: enters the -x face, 2 m from the
        // centre; starting 12 m from the centre → hit at 10.
        let dir = Vector3::new((PI / 6.0).cos(), (PI / 6.0).sin(), 0.0);
        let origin = Point3::new(10.0, 0.0, 0.5) - dir * 12.0;
        let r = Ray::new(origin, dir).unwrap();
        assert!(close(b.ray_intersect(&r, 0.0, 100.0).unwrap(), 10.0));
        // Normal at that hit points back along -dir.
        let n = b.normal_at(&r.at(10.0));
        assert!((n + dir).norm() < 1e-9, "{n}");
    }

    #[test]
    fn ray_misses_box() {
        let b = unit_box_at(10.0, 0.0, 0.0);
        // Passes beside (y = 1.5 > 1), above (z = 2 > 1.5), and points away.
        assert_eq!(
            b.ray_intersect(&ray([0.0, 1.5, 0.5], [1.0, 0.0, 0.0]), 0.0, 100.0),
            None
        );
        assert_eq!(
            b.ray_intersect(&ray([0.0, 0.0, 2.0], [1.0, 0.0, 0.0]), 0.0, 100.0),
            None
        );
        assert_eq!(
            b.ray_intersect(&ray([0.0, 0.0, 0.5], [-1.0, 0.0, 0.0]), 0.0, 100.0),
            None
        );
        // Grazing a face plane exactly (origin on the plane y = 1, parallel) counts as touching.
        assert!(
            b.ray_intersect(&ray([0.0, 1.0, 0.5], [1.0, 0.0, 0.0]), 0.0, 100.0)
                .is_some()
        );
    }

    #[test]
    fn ray_starting_inside_box_reports_exit() {
        let b = unit_box_at(10.0, 0.0, 0.0);
        // From the centre, the +x face is 2 m away and the +y face 1 m away.
        let t = b.ray_intersect(&ray([10.0, 0.0, 0.75], [1.0, 0.0, 0.0]), 0.0, 100.0);
        assert!(close(t.unwrap(), 2.0));
        let t = b.ray_intersect(&ray([10.0, 0.0, 0.75], [0.0, -1.0, 0.0]), 0.0, 100.0);
        assert!(close(t.unwrap(), 1.0));
        // t_min past the entry also selects the exit: entry 8, exit 12.
        let t = b.ray_intersect(&ray([0.0, 0.0, 0.5], [1.0, 0.0, 0.0]), 9.0, 100.0);
        assert!(close(t.unwrap(), 12.0));
    }

    #[test]
    fn full_rotation_box() {
        // A 2 m cube pitched 45° about y: its top edge is at z = sqrt(2) above the centre.
        let rot = Rotation3::from_axis_angle(&Vector3::y_axis(), PI / 4.0);
        let b = Obb::with_rotation(Point3::new(0.0, 0.0, 5.0), Vector3::repeat(1.0), rot).unwrap();
        let t = b.ray_intersect(&ray([0.0, 0.0, 20.0], [0.0, 0.0, -1.0]), 0.0, 100.0);
        assert!(close(t.unwrap(), 15.0 - 2f64.sqrt()), "{t:?}");
        let bb = b.aabb();
        assert!(close(bb.max.z, 5.0 + 2f64.sqrt()) && close(bb.max.x, 2f64.sqrt()));
        assert!(close(bb.max.y, 1.0));
        // Yaw of a box pitched but not yawed is 0.
        assert!(close(b.yaw(), 0.0));
    }

    #[test]
    fn aabb_ray_and_overlap() {
        let a = Aabb {
            min: Point3::new(1.0, -1.0, -1.0),
            max: Point3::new(3.0, 1.0, 1.0),
        };
        assert!(close(
            a.ray_intersect(&ray([0.0; 3], [1.0, 0.0, 0.0]), 0.0, 10.0)
                .unwrap(),
            1.0
        ));
        assert_eq!(
            a.ray_intersect(&ray([0.0; 3], [0.0, 1.0, 0.0]), 0.0, 10.0),
            None
        );
        let b = Aabb {
            min: Point3::new(3.0, 0.0, 0.0),
            max: Point3::new(4.0, 1.0, 1.0),
        };
        assert!(a.overlaps(&b));
        let c = Aabb {
            min: Point3::new(3.01, 0.0, 0.0),
            max: Point3::new(4.0, 1.0, 1.0),
        };
        assert!(!a.overlaps(&c));
        assert_eq!(a.union(&c).max, Point3::new(4.0, 1.0, 1.0));
        let from = Aabb::from_points(a.corners()).unwrap();
        assert_eq!(from, a);
        // Yawed 90°, a 4 × 2 box spans 2 × 4.
        let bb = unit_box_at(0.0, 0.0, PI / 2.0).aabb();
        assert!(close(bb.max.x, 1.0) && close(bb.max.y, 2.0) && close(bb.max.z, 1.5));
    }

    #[test]
    fn ray_plane() {
        let ground = Plane::horizontal(0.0).unwrap();
        // From 1.8 m up, 15° below horizontal: hits after 1.8 / sin 15° = 6.955 m, at a
        // horizontal distance 1.8 / tan 15° = 6.718 m.
        let e = 15f64.to_radians();
        let r = ray([0.0, 0.0, 1.8], [e.cos(), 0.0, -e.sin()]);
        let t = ground.ray_intersect(&r, 0.0, 100.0).unwrap();
        assert!(close(t, 1.8 / e.sin()));
        assert!((r.at(t).x - 6.7177).abs() < 1e-4);
        // Upwards and parallel rays miss; a hit beyond t_max is dropped.
        assert_eq!(
            ground.ray_intersect(&ray([0.0, 0.0, 1.8], [1.0, 0.0, 0.1]), 0.0, 100.0),
            None
        );
        assert_eq!(
            ground.ray_intersect(&ray([0.0, 0.0, 1.8], [1.0, 0.0, 0.0]), 0.0, 100.0),
            None
        );
        assert_eq!(ground.ray_intersect(&r, 0.0, 6.9), None);
        // A tilted plane x + z = 4 through (2, 0, 2): a ray down from (0, 0, 10) hits z = 4.
        let p = Plane::new(Vector3::new(1.0, 0.0, 1.0), Point3::new(2.0, 0.0, 2.0)).unwrap();
        let t = p.ray_intersect(&ray([0.0, 0.0, 10.0], [0.0, 0.0, -1.0]), 0.0, 100.0);
        assert!(close(t.unwrap(), 6.0));
        assert!(close(
            p.signed_distance(&Point3::origin()),
            -4.0 / 2f64.sqrt()
        ));
    }

    #[test]
    fn ray_cylinder() {
        // Cup: radius 0.04, height 0.1, standing at (1, 0, 0).
        let c = Cylinder::new(Point3::new(1.0, 0.0, 0.0), 0.04, 0.1).unwrap();
        // Horizontally at mid height: side hit at 1 - 0.04.
        let t = c.ray_intersect(&ray([0.0, 0.0, 0.05], [1.0, 0.0, 0.0]), 0.0, 10.0);
        assert!(close(t.unwrap(), 0.96));
        // Offset by 0.03 sideways: chord point x = 1 - sqrt(0.04² - 0.03²) = 1 - 0.026458.
        let t = c.ray_intersect(&ray([0.0, 0.03, 0.05], [1.0, 0.0, 0.0]), 0.0, 10.0);
        assert!(close(t.unwrap(), 1.0 - (0.0016f64 - 0.0009).sqrt()));
        // Straight down onto the top cap from z = 1.
        let t = c.ray_intersect(&ray([1.01, 0.0, 1.0], [0.0, 0.0, -1.0]), 0.0, 10.0);
        assert!(close(t.unwrap(), 0.9));
        // Misses: beside (y = 0.05 > r), above (z = 0.2).
        assert_eq!(
            c.ray_intersect(&ray([0.0, 0.05, 0.05], [1.0, 0.0, 0.0]), 0.0, 10.0),
            None
        );
        assert_eq!(
            c.ray_intersect(&ray([0.0, 0.0, 0.2], [1.0, 0.0, 0.0]), 0.0, 10.0),
            None
        );
        // Slanted ray entering the top cap: from (0, 0, 0.2) towards (1, 0, 0.1); at x = 0.96
        // it is at z = 0.104 (above the cup), it crosses z = 0.1 at x = 1.0 (inside the cap).
        let d = Vector3::new(1.0, 0.0, -0.1).normalize();
        let t = c.ray_intersect(&ray([0.0, 0.0, 0.2], [1.0, 0.0, -0.1]), 0.0, 10.0);
        assert!(close(t.unwrap(), 1.0 / d.x));
        // From inside the cup: exit through the side 0.04 away.
        let t = c.ray_intersect(&ray([1.0, 0.0, 0.05], [0.0, 1.0, 0.0]), 0.0, 10.0);
        assert!(close(t.unwrap(), 0.04));
        let n = c.normal_at(&Point3::new(1.0, 0.04, 0.05));
        assert!((n - Vector3::y()).norm() < 1e-12);
        assert_eq!(c.normal_at(&Point3::new(1.0, 0.0, 0.1)), Vector3::z());
    }

    #[test]
    fn footprint_of_yawed_box() {
        // 4 × 2 box yawed 90° at the origin: corners (±1, ±2).
        let fp = unit_box_at(0.0, 0.0, PI / 2.0).footprint();
        assert_eq!(fp.len(), 4);
        for corner in [(1.0, 2.0), (-1.0, 2.0), (-1.0, -2.0), (1.0, -2.0)] {
            assert!(
                fp.iter()
                    .any(|p| close(p.x, corner.0) && close(p.y, corner.1)),
                "{corner:?} not in {fp:?}"
            );
        }
        // Counter-clockwise: positive signed area = 8.
        let area: f64 = (0..4)
            .map(|i| {
                let (a, b) = (fp[i], fp[(i + 1) % 4]);
                a.x * b.y - b.x * a.y
            })
            .sum::<f64>()
            / 2.0;
        assert!(close(area, 8.0), "{area}");
        // A tilted box projects to a hexagon.
        let rot = Rotation3::from_euler_angles(0.3, 0.4, 0.5);
        let b = Obb::with_rotation(Point3::origin(), Vector3::new(2.0, 1.0, 0.5), rot).unwrap();
        assert_eq!(b.footprint().len(), 6);
    }

    #[test]
    fn sat_overlap() {
        let a = unit_box_at(0.0, 0.0, 0.0); // x in ±2, y in ±1
        // Side by side with a 0.1 m gap: apart; closer: overlapping; edges touching: overlap.
        assert!(!a.overlaps_2d(&unit_box_at(0.0, 2.1, 0.0)));
        assert!(a.overlaps_2d(&unit_box_at(0.0, 1.9, 0.0)));
        assert!(a.overlaps_2d(&unit_box_at(4.0, 0.0, 0.0)));
        // Axis-aligned bounds overlap but the boxes do not. b is centred at (4, 3), yawed 45°,
        // so its axis u = (1, 1)/√2 is an edge normal. On u, b's centre projects to 7/√2 = 4.95
        // and it reaches ±2 (its half length), so b covers [2.95, 6.95]; a's corner (2, 1)
        // projects to 3/√2 = 2.12. 2.12 < 2.95: u separates them.
        let b = unit_box_at(4.0, 3.0, PI / 4.0);
        assert!(a.aabb().overlaps(&b.aabb()), "precondition: AABBs overlap");
        assert!(!a.overlaps_2d(&b));
        // Centred at (3, 2) instead, b covers [5/√2 - 2, ..] = [1.54, ..] on u, which
        // overlaps a's [-2.12, 2.12]; the other three axes overlap as well.
        let b = unit_box_at(3.0, 2.0, PI / 4.0);
        assert!(a.overlaps_2d(&b));
        // One box inside the other.
        let small = Obb::new(Point3::new(0.5, 0.0, 0.5), Vector3::repeat(0.2), 1.0).unwrap();
        assert!(a.overlaps_2d(&small) && small.overlaps_2d(&a));
    }

    #[test]
    fn scene_cast_keeps_nearest() {
        let mut scene = Scene::with_flat_ground(0.0).unwrap();
        scene.push(SceneObject::new(
            7,
            ObjectClass::Car,
            Shape::Box(unit_box_at(20.0, 0.0, 0.0)),
        ));
        scene.push(SceneObject::new(
            3,
            ObjectClass::Car,
            Shape::Box(unit_box_at(10.0, 0.0, 0.0)),
        ));
        let hit = scene
            .cast_ray(&ray([0.0, 0.0, 0.5], [1.0, 0.0, 0.0]), 0.0, 100.0)
            .unwrap();
        assert_eq!(hit.object_id, Some(3));
        assert!(close(hit.t, 8.0));
        assert_eq!(hit.normal, -Vector3::x());
        // Looking down before the first box: the ground at 5 m.
        let hit = scene
            .cast_ray(&ray([0.0, 0.0, 5.0], [0.0, 0.0, -1.0]), 0.0, 100.0)
            .unwrap();
        assert_eq!(hit.object_id, None);
        assert!(close(hit.t, 5.0));
    }
}
