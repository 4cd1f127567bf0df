//! Convex primitives and the distance between two of them.
//!
//! Every primitive is a convex "core" swept by a sphere: a sphere is a point plus a radius, a
//! capsule a segment plus a radius, boxes and cylinders have no radius. GJK (Gilbert, Johnson
//! & Keerthi 1988, in van den Bergen's formulation) runs on the cores only, which keeps the
//! support functions trivial and the round shapes exact; the radii are subtracted at the end.
//! A collision query passes a threshold so GJK can stop as soon as a separating plane proves
//! the shapes are further apart than that, which is the common case in planning.

use nalgebra::{Isometry3, Point3, Vector3};

/// A convex primitive centred on its local origin; round shapes have their axis along z.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Convex {
    /// A ball.
    Sphere {
        /// Radius.
        radius: f64,
    },
    /// A segment along z from `-half_length` to `half_length`, swept by a ball.
    Capsule {
        /// Radius of the swept ball.
        radius: f64,
        /// Half the length of the core segment.
        half_length: f64,
    },
    /// A box.
    Box {
        /// Half the side lengths along x, y, z.
        half_extents: Vector3<f64>,
    },
    /// A cylinder along z.
    Cylinder {
        /// Radius.
        radius: f64,
        /// Half the length along z.
        half_length: f64,
    },
}

impl Convex {
    /// A box from its full side lengths.
    pub fn cuboid(x: f64, y: f64, z: f64) -> Self {
        Convex::Box {
            half_extents: Vector3::new(0.5 * x, 0.5 * y, 0.5 * z),
        }
    }

    /// A cylinder from its radius and full length.
    pub fn cylinder(radius: f64, length: f64) -> Self {
        Convex::Cylinder {
            radius,
            half_length: 0.5 * length,
        }
    }

    /// Radius of the smallest ball about the local origin that holds the shape.
    pub fn bounding_radius(&self) -> f64 {
        match *self {
            Convex::Sphere { radius } => radius,
            Convex::Capsule {
                radius,
                half_length,
            } => radius + half_length,
            Convex::Box { half_extents } => half_extents.norm(),
            Convex::Cylinder {
                radius,
                half_length,
            } => radius.hypot(half_length),
        }
    }

    /// True if every dimension is finite and non-negative.
    pub fn is_valid(&self) -> bool {
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        match *self {
            Convex::Sphere { radius } => ok(radius),
            Convex::Capsule {
                radius,
                half_length,
            }
            | Convex::Cylinder {
                radius,
                half_length,
            } => ok(radius) && ok(half_length),
            Convex::Box { half_extents } => half_extents.iter().all(|&v| ok(v)),
        }
    }

    /// The radius swept around the core.
    fn margin(&self) -> f64 {
        match *self {
            Convex::Sphere { radius } | Convex::Capsule { radius, .. } => radius,
            Convex::Box { .. } | Convex::Cylinder { .. } => 0.0,
        }
    }

    /// The point of the core furthest along `d` (local frame).
    fn core_support(&self, d: &Vector3<f64>) -> Vector3<f64> {
        let sign = |v: f64, h: f64| if v >= 0.0 { h } else { -h };
        match *self {
            Convex::Sphere { .. } => Vector3::zeros(),
            Convex::Capsule { half_length, .. } => Vector3::new(0.0, 0.0, sign(d.z, half_length)),
            Convex::Box { half_extents: h } => {
                Vector3::new(sign(d.x, h.x), sign(d.y, h.y), sign(d.z, h.z))
            }
            Convex::Cylinder {
                radius,
                half_length,
            } => {
                let r = d.x.hypot(d.y);
                let (x, y) = if r > 1e-12 {
                    (radius * d.x / r, radius * d.y / r)
                } else {
                    (0.0, 0.0)
                };
                Vector3::new(x, y, sign(d.z, half_length))
            }
        }
    }
}

/// A primitive placed in a frame.
#[derive(Debug, Clone, Copy)]
pub struct Placed<'a> {
    /// The shape.
    pub shape: &'a Convex,
    /// Its pose.
    pub pose: &'a Isometry3<f64>,
}

impl Placed<'_> {
    fn support(&self, d: &Vector3<f64>) -> Vector3<f64> {
        let local = self.pose.rotation.inverse_transform_vector(d);
        self.pose.rotation * self.shape.core_support(&local) + self.pose.translation.vector
    }
}

/// Distance between the surfaces of two placed primitives; 0 or less means they touch or
/// overlap (a negative value is how far the round margins overlap, not a penetration depth).
pub fn distance(a: Placed, b: Placed) -> f64 {
    gjk(&a, &b, f64::INFINITY).unwrap_or(0.0) - a.shape.margin() - b.shape.margin()
}

/// True if the surfaces of the two primitives are closer than `clearance` (0: they touch).
pub fn intersects(a: Placed, b: Placed, clearance: f64) -> bool {
    let limit = a.shape.margin() + b.shape.margin() + clearance;
    match gjk(&a, &b, limit) {
        Some(d) => d < limit,
        None => true,
    }
}

/// GJK on the cores: the distance between them, `None` if they overlap. Stops early with a
/// value above `stop_beyond` once a separating plane shows the distance exceeds it.
fn gjk(a: &Placed, b: &Placed, stop_beyond: f64) -> Option<f64> {
    const REL_EPS: f64 = 1e-10;
    const ABS_EPS: f64 = 1e-14;
    let support = |d: &Vector3<f64>| a.support(&-d) - b.support(d);
    // Start from the difference of the centres: exact for two spheres, a good guess elsewhere.
    let mut v = a.pose.translation.vector - b.pose.translation.vector;
    if v.norm_squared() < ABS_EPS {
        v = Vector3::x();
    }
    let mut simplex = Simplex::default();
    for _ in 0..64 {
        let w = support(&v);
        let vv = v.norm_squared();
        let vw = v.dot(&w);
        // v·w/|v| is a lower bound on the distance (a separating plane).
        if vw > 0.0 && vw * vw > stop_beyond * stop_beyond * vv {
            return Some(vw / vv.sqrt());
        }
        if vv - vw <= REL_EPS * vv || simplex.contains(&w) {
            return Some(vv.sqrt());
        }
        simplex.push(w);
        match simplex.closest_to_origin() {
            Some(p) => v = p,
            None => return None,
        }
        if v.norm_squared() < ABS_EPS {
            return None;
        }
    }
    // No convergence within the iteration cap only happens on near-degenerate inputs; the
    // current estimate is an upper bound, so reporting it errs towards "close".
    Some(v.norm())
}

/// Up to four points of the Minkowski difference.
#[derive(Default)]
struct Simplex {
    pts: [Vector3<f64>; 4],
    len: usize,
}

impl Simplex {
    fn push(&mut self, w: Vector3<f64>) {
        self.pts[self.len] = w;
        self.len += 1;
    }

    fn contains(&self, w: &Vector3<f64>) -> bool {
        self.pts[..self.len]
            .iter()
            .any(|p| (p - w).norm_squared() < 1e-20)
    }

    fn keep(&mut self, idx: &[usize]) {
        let old = self.pts;
        for (k, &i) in idx.iter().enumerate() {
            self.pts[k] = old[i];
        }
        self.len = idx.len();
    }

    /// Closest point of the simplex to the origin, reducing it to the face that holds that
    /// point; `None` if the origin is inside the tetrahedron.
    fn closest_to_origin(&mut self) -> Option<Vector3<f64>> {
        match self.len {
            1 => Some(self.pts[0]),
            2 => {
                let (p, keep) = closest_on_segment(self.pts[0], self.pts[1]);
                self.keep_mapped(&keep, &[0, 1]);
                Some(p)
            }
            3 => {
                let (p, keep) = closest_on_triangle(self.pts[0], self.pts[1], self.pts[2]);
                self.keep_mapped(&keep, &[0, 1, 2]);
                Some(p)
            }
            _ => self.closest_on_tetrahedron(),
        }
    }

    fn keep_mapped(&mut self, keep: &Kept, map: &[usize]) {
        let mut idx = [0usize; 3];
        for (slot, &k) in idx.iter_mut().zip(keep.as_slice()) {
            *slot = map[k];
        }
        self.keep(&idx[..keep.len]);
    }

    fn closest_on_tetrahedron(&mut self) -> Option<Vector3<f64>> {
        let [a, b, c, d] = self.pts;
        let faces = [[0, 1, 2, 3], [0, 1, 3, 2], [0, 2, 3, 1], [1, 2, 3, 0]];
        let mut best: Option<(f64, Vector3<f64>, Kept, [usize; 4])> = None;
        let pts = [a, b, c, d];
        for f in faces {
            let (p0, p1, p2, opp) = (pts[f[0]], pts[f[1]], pts[f[2]], pts[f[3]]);
            let n = (p1 - p0).cross(&(p2 - p0));
            let side_origin = n.dot(&-p0);
            let side_opp = n.dot(&(opp - p0));
            // The origin lies outside this face if it is on the other side from the fourth
            // vertex; a flat tetrahedron (side_opp ≈ 0) has every face as a candidate.
            if side_origin * side_opp <= 0.0 || side_opp.abs() < 1e-18 {
                let (p, keep) = closest_on_triangle(p0, p1, p2);
                let dist = p.norm_squared();
                if best.as_ref().is_none_or(|b| dist < b.0) {
                    best = Some((dist, p, keep, f));
                }
            }
        }
        let (_, p, keep, f) = best?;
        self.keep_mapped(&keep, &f);
        Some(p)
    }
}

/// Which vertices of a segment or triangle support a closest point.
struct Kept {
    idx: [usize; 3],
    len: usize,
}

impl Kept {
    fn of(idx: &[usize]) -> Self {
        let mut k = Kept {
            idx: [0; 3],
            len: idx.len(),
        };
        k.idx[..idx.len()].copy_from_slice(idx);
        k
    }

    fn as_slice(&self) -> &[usize] {
        &self.idx[..self.len]
    }
}

fn closest_on_segment(a: Vector3<f64>, b: Vector3<f64>) -> (Vector3<f64>, Kept) {
    let ab = b - a;
    let denom = ab.norm_squared();
    let t = if denom > 0.0 {
        -a.dot(&ab) / denom
    } else {
        0.0
    };
    if t <= 0.0 {
        (a, Kept::of(&[0]))
    } else if t >= 1.0 {
        (b, Kept::of(&[1]))
    } else {
        (a + ab * t, Kept::of(&[0, 1]))
    }
}

/// Ericson, Real-Time Collision Detection §5.1.5, with the query point at the origin.
fn closest_on_triangle(a: Vector3<f64>, b: Vector3<f64>, c: Vector3<f64>) -> (Vector3<f64>, Kept) {
    let ab = b - a;
    let ac = c - a;
    let ap = -a;
    let d1 = ab.dot(&ap);
    let d2 = ac.dot(&ap);
    if d1 <= 0.0 && d2 <= 0.0 {
        return (a, Kept::of(&[0]));
    }
    let bp = -b;
    let d3 = ab.dot(&bp);
    let d4 = ac.dot(&bp);
    if d3 >= 0.0 && d4 <= d3 {
        return (b, Kept::of(&[1]));
    }
    let vc = d1 * d4 - d3 * d2;
    if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
        let v = d1 / (d1 - d3);
        return (a + ab * v, Kept::of(&[0, 1]));
    }
    let cp = -c;
    let d5 = ab.dot(&cp);
    let d6 = ac.dot(&cp);
    if d6 >= 0.0 && d5 <= d6 {
        return (c, Kept::of(&[2]));
    }
    let vb = d5 * d2 - d1 * d6;
    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
        let w = d2 / (d2 - d6);
        return (a + ac * w, Kept::of(&[0, 2]));
    }
    let va = d3 * d6 - d5 * d4;
    if va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0 {
        let w = (d4 - d3) / ((d4 - d3) + (d5 - d6));
        return (b + (c - b) * w, Kept::of(&[1, 2]));
    }
    let sum = va + vb + vc;
    if sum.abs() < 1e-300 {
        // A degenerate (zero-area) triangle: the closest point lies on one of its edges.
        let edges = [(a, b, [0, 1]), (a, c, [0, 2]), (b, c, [1, 2])];
        let mut best: Option<(f64, Vector3<f64>, Kept)> = None;
        for (p0, p1, map) in edges {
            let (p, k) = closest_on_segment(p0, p1);
            let d = p.norm_squared();
            if best.as_ref().is_none_or(|b| d < b.0) {
                let idx: Vec<usize> = k.as_slice().iter().map(|&i| map[i]).collect();
                best = Some((d, p, Kept::of(&idx)));
            }
        }
        if let Some((_, p, k)) = best {
            return (p, k);
        }
    }
    let denom = 1.0 / sum;
    let v = vb * denom;
    let w = vc * denom;
    (a + ab * v + ac * w, Kept::of(&[0, 1, 2]))
}

/// Smallest capsule around a point set along its principal axis, in the points' frame: the
/// pose of the capsule (its z axis along the segment) and the capsule. Used for meshes.
pub fn bounding_capsule(points: &[Point3<f64>]) -> Option<(Isometry3<f64>, Convex)> {
    if points.is_empty()
        || points
            .iter()
            .any(|p| !p.coords.iter().all(|v| v.is_finite()))
    {
        return None;
    }
    let n = points.len() as f64;
    let mean = points.iter().map(|p| p.coords).sum::<Vector3<f64>>() / n;
    let mut cov = nalgebra::Matrix3::zeros();
    for p in points {
        let d = p.coords - mean;
        cov += d * d.transpose();
    }
    let eig = cov.symmetric_eigen();
    let (imax, _) =
        eig.eigenvalues
            .iter()
            .enumerate()
            .fold(
                (0, f64::NEG_INFINITY),
                |b, (i, &v)| if v > b.1 { (i, v) } else { b },
            );
    let axis = eig.eigenvectors.column(imax).normalize();
    let axis = if axis.iter().all(|v| v.is_finite()) {
        axis
    } else {
        Vector3::z()
    };
    let (mut lo, mut hi, mut r2) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    for p in points {
        let d = p.coords - mean;
        let t = d.dot(&axis);
        lo = lo.min(t);
        hi = hi.max(t);
        r2 = r2.max((d - axis * t).norm_squared());
    }
    let radius = r2.sqrt();
    // Every point projects inside [lo, hi] and lies within `radius` of the axis, so the
    // capsule over that span holds them all; pulling the ends in by the radius would not.
    let centre = mean + axis * (0.5 * (lo + hi));
    let rot =
        nalgebra::UnitQuaternion::rotation_between(&Vector3::z(), &axis).unwrap_or_else(|| {
            nalgebra::UnitQuaternion::from_euler_angles(std::f64::consts::PI, 0.0, 0.0)
        });
    Some((
        Isometry3::from_parts(centre.into(), rot),
        Convex::Capsule {
            radius,
            half_length: 0.5 * (hi - lo),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use nalgebra::UnitQuaternion;

    fn at(x: f64, y: f64, z: f64) -> Isometry3<f64> {
        Isometry3::translation(x, y, z)
    }

    fn d(a: &Convex, pa: &Isometry3<f64>, b: &Convex, pb: &Isometry3<f64>) -> f64 {
        distance(Placed { shape: a, pose: pa }, Placed { shape: b, pose: pb })
    }

    #[test]
    fn closed_form_distances() {
        let s = Convex::Sphere { radius: 0.5 };
        assert!((d(&s, &at(0., 0., 0.), &s, &at(2., 0., 0.)) - 1.0).abs() < 1e-9);
        let b = Convex::cuboid(2.0, 2.0, 2.0);
        // Sphere centre 3 m from a box face at x = 1.
        assert!((d(&b, &at(0., 0., 0.), &s, &at(3., 0., 0.)) - 1.5).abs() < 1e-9);
        // Towards a corner: distance from (2,2,2) to (1,1,1) is √3.
        assert!((d(&b, &at(0., 0., 0.), &s, &at(2., 2., 2.)) - (3f64.sqrt() - 0.5)).abs() < 1e-9);
        let c = Convex::Capsule {
            radius: 0.1,
            half_length: 1.0,
        };
        // Two parallel capsules 1 m apart.
        assert!((d(&c, &at(0., 0., 0.), &c, &at(1., 0., 0.5)) - 0.8).abs() < 1e-9);
        let cyl = Convex::cylinder(0.5, 2.0);
        // A box edge-on to a cylinder side: 2 - 1 - 0.5.
        assert!((d(&cyl, &at(0., 0., 0.), &b, &at(2., 0., 0.)) - 0.5).abs() < 1e-9);
        // Box above the cylinder's cap.
        assert!((d(&cyl, &at(0., 0., 0.), &b, &at(0.3, 0.2, 3.0)) - 1.0).abs() < 1e-9);
        // Rotated box: a 45° yaw puts its edge √2 from its centre.
        let yaw = Isometry3::from_parts(
            at(3.0, 0.0, 0.0).translation,
            UnitQuaternion::from_euler_angles(0.0, 0.0, std::f64::consts::FRAC_PI_4),
        );
        assert!((d(&b, &at(0., 0., 0.), &b, &yaw) - (2.0 - 2f64.sqrt())).abs() < 1e-9);
    }

    #[test]
    fn overlap_is_detected() {
        let b = Convex::cuboid(1.0, 1.0, 1.0);
        let cyl = Convex::cylinder(0.2, 1.0);
        let pb = at(0.0, 0.0, 0.0);
        for x in [0.0, 0.3, 0.69] {
            let pc = at(x, 0.0, 0.0);
            assert!(intersects(
                Placed {
                    shape: &b,
                    pose: &pb
                },
                Placed {
                    shape: &cyl,
                    pose: &pc
                },
                0.0
            ));
        }
        let pc = at(0.71, 0.0, 0.0);
        assert!(!intersects(
            Placed {
                shape: &b,
                pose: &pb
            },
            Placed {
                shape: &cyl,
                pose: &pc
            },
            0.0
        ));
        assert!(intersects(
            Placed {
                shape: &b,
                pose: &pb
            },
            Placed {
                shape: &cyl,
                pose: &pc
            },
            0.02
        ));
    }

    /// Sphere-sampled brute force on random box/cylinder pairs: GJK must never report a
    /// distance larger than the one between sampled surface points, and must agree with
    /// the sampled minimum to within the sampling resolution.
    #[test]
    fn gjk_agrees_with_sampled_points() {
        let mut rng = SplitMix64::new(11);
        let shapes = [
            Convex::cuboid(0.3, 0.2, 0.5),
            Convex::cylinder(0.15, 0.4),
            Convex::Capsule {
                radius: 0.05,
                half_length: 0.2,
            },
        ];
        for _ in 0..200 {
            let ia = (rng.next_u64() % 3) as usize;
            let ib = (rng.next_u64() % 3) as usize;
            let pose = |rng: &mut SplitMix64| {
                Isometry3::from_parts(
                    Vector3::new(
                        rng.uniform(-0.5, 0.5),
                        rng.uniform(-0.5, 0.5),
                        rng.uniform(-0.5, 0.5),
                    )
                    .into(),
                    UnitQuaternion::from_euler_angles(
                        rng.uniform(-3.0, 3.0),
                        rng.uniform(-3.0, 3.0),
                        rng.uniform(-3.0, 3.0),
                    ),
                )
            };
            let (pa, pb) = (pose(&mut rng), pose(&mut rng));
            let dist = d(&shapes[ia], &pa, &shapes[ib], &pb);
            let hit = intersects(
                Placed {
                    shape: &shapes[ia],
                    pose: &pa,
                },
                Placed {
                    shape: &shapes[ib],
                    pose: &pb,
                },
                0.0,
            );
            assert_eq!(hit, dist <= 0.0, "{ia} {ib} {dist}");
            // Support points in random directions lie on the surfaces; their distance
            // bounds the true distance from above.
            let mut best = f64::INFINITY;
            for _ in 0..400 {
                let u = Vector3::new(
                    rng.uniform(-1., 1.),
                    rng.uniform(-1., 1.),
                    rng.uniform(-1., 1.),
                );
                let w = Vector3::new(
                    rng.uniform(-1., 1.),
                    rng.uniform(-1., 1.),
                    rng.uniform(-1., 1.),
                );
                let sa = Placed {
                    shape: &shapes[ia],
                    pose: &pa,
                }
                .support(&u)
                    + u.normalize() * shapes[ia].margin();
                let sb = Placed {
                    shape: &shapes[ib],
                    pose: &pb,
                }
                .support(&w)
                    + w.normalize() * shapes[ib].margin();
                best = best.min((sa - sb).norm());
            }
            if dist > 0.0 {
                assert!(dist <= best + 1e-9, "{dist} > {best}");
            }
        }
    }

    #[test]
    fn capsule_holds_its_points() {
        let pts: Vec<Point3<f64>> = (0..50)
            .map(|i| {
                let t = i as f64 / 49.0;
                Point3::new(0.1 * (t * 7.0).sin(), 0.05 * (t * 3.0).cos(), 0.8 * t)
            })
            .collect();
        let (pose, cap) = bounding_capsule(&pts).expect("capsule");
        let Convex::Capsule {
            radius,
            half_length,
        } = cap
        else {
            panic!("not a capsule");
        };
        for p in &pts {
            let l = pose.inverse_transform_point(p);
            let z = l.z.clamp(-half_length, half_length);
            assert!((l.coords - Vector3::new(0.0, 0.0, z)).norm() <= radius + 1e-9);
        }
        assert!(half_length > 0.35 && radius < 0.15);
    }
}
