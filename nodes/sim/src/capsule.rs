//! Capsules (a segment swept by a sphere) for the arm's links: ray casting for the depth
//! camera and distances for contact checks against the tabletop's boxes and cylinders.
//!
//! The vehicle world's primitives live in `geometry`; capsules are here because only the arm
//! needs them, and the `Shape` enum the lidar matches on stays untouched.

use nalgebra::{Point3, Vector3};

use crate::geometry::{Aabb, Cylinder, GeometryError, Obb, Ray};

/// Directions shorter than this count as degenerate (a capsule that is a sphere).
const EPS: f64 = 1e-12;

/// The points within `radius` of the segment `a`–`b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capsule {
    /// One end of the axis.
    pub a: Point3<f64>,
    /// The other end of the axis.
    pub b: Point3<f64>,
    /// Radius (m).
    pub radius: f64,
}

impl Capsule {
    /// A capsule; the ends must be finite and the radius positive.
    pub fn new(a: Point3<f64>, b: Point3<f64>, radius: f64) -> Result<Self, GeometryError> {
        for (what, p) in [("capsule end a", a), ("capsule end b", b)] {
            if let Some(&value) = p.coords.iter().find(|v| !v.is_finite()) {
                return Err(GeometryError::NotFinite { what, value });
            }
        }
        if !(radius.is_finite() && radius > 0.0) {
            return Err(GeometryError::NotPositive {
                what: "capsule radius",
                value: radius,
            });
        }
        Ok(Self { a, b, radius })
    }

    /// The axis-aligned bounds.
    pub fn aabb(&self) -> Aabb {
        let r = Vector3::repeat(self.radius);
        Aabb {
            min: self.a.inf(&self.b) - r,
            max: self.a.sup(&self.b) + r,
        }
    }

    /// The point of the axis nearest to `p`.
    pub fn closest_on_axis(&self, p: &Point3<f64>) -> Point3<f64> {
        let ab = self.b - self.a;
        let len2 = ab.norm_squared();
        if len2 < EPS {
            return self.a;
        }
        let s = ((p - self.a).dot(&ab) / len2).clamp(0.0, 1.0);
        self.a + ab * s
    }

    /// Distance from `p` to the surface (negative inside).
    pub fn distance(&self, p: &Point3<f64>) -> f64 {
        (p - self.closest_on_axis(p)).norm() - self.radius
    }

    /// Nearest surface crossing of `ray` in `(t_min, t_max]` (the exit if the ray starts inside).
    pub fn ray_intersect(&self, ray: &Ray, t_min: f64, t_max: f64) -> Option<f64> {
        let mut best: Option<f64> = None;
        let mut consider = |t: f64| {
            if t > t_min && t <= t_max && best.is_none_or(|b| t < b) {
                best = Some(t);
            }
        };
        let o = ray.origin();
        let d = ray.direction();
        let r2 = self.radius * self.radius;
        let ab = self.b - self.a;
        let len = ab.norm();
        // The side: an infinite cylinder about the axis, kept between the end caps.
        if len > EPS {
            let axis = ab / len;
            let ao = o - self.a;
            let d_perp = d - axis * d.dot(&axis);
            let o_perp = ao - axis * ao.dot(&axis);
            let qa = d_perp.norm_squared();
            if qa > EPS {
                let qb = o_perp.dot(&d_perp);
                let qc = o_perp.norm_squared() - r2;
                let disc = qb * qb - qa * qc;
                if disc >= 0.0 {
                    let sq = disc.sqrt();
                    for t in [(-qb - sq) / qa, (-qb + sq) / qa] {
                        let along = (ao + d * t).dot(&axis);
                        if (0.0..=len).contains(&along) {
                            consider(t);
                        }
                    }
                }
            }
        }
        // The caps: spheres at both ends (each only counts where it lies outside the side).
        for c in [self.a, self.b] {
            let oc = o - c;
            let qb = oc.dot(&d);
            let qc = oc.norm_squared() - r2;
            let disc = qb * qb - qc;
            if disc >= 0.0 {
                let sq = disc.sqrt();
                for t in [-qb - sq, -qb + sq] {
                    // A sphere point inside the side's span is inside the capsule, not on it.
                    let p = o + d * t;
                    if (p - self.closest_on_axis(&p)).norm() >= self.radius - 1e-9 {
                        consider(t);
                    }
                }
            }
        }
        best
    }

    /// Sample points of the axis no further apart than a quarter radius, so a distance
    /// test at the samples misses a contact by at most about 3 % of the radius.
    fn axis_samples(&self) -> impl Iterator<Item = Point3<f64>> + '_ {
        let len = (self.b - self.a).norm();
        let n = ((len / (self.radius * 0.25)).ceil() as usize).clamp(1, 512);
        (0..=n).map(move |i| self.a + (self.b - self.a) * (i as f64 / n as f64))
    }

    /// Whether the capsule touches or penetrates the box (sampled along the axis).
    pub fn touches_box(&self, b: &Obb) -> bool {
        if !self.aabb().overlaps(&b.aabb()) {
            return false;
        }
        self.axis_samples()
            .any(|p| box_distance(b, &p) <= self.radius)
    }

    /// Whether the capsule touches or penetrates the upright cylinder (sampled along the axis).
    pub fn touches_cylinder(&self, c: &Cylinder) -> bool {
        if !self.aabb().overlaps(&c.aabb()) {
            return false;
        }
        self.axis_samples()
            .any(|p| cylinder_distance(c, &p) <= self.radius)
    }

    /// Whether two capsules touch: the sampled axis of one within both radii of the other.
    pub fn touches_capsule(&self, other: &Capsule) -> bool {
        if !self.aabb().overlaps(&other.aabb()) {
            return false;
        }
        self.axis_samples()
            .any(|p| other.distance(&p) <= self.radius)
    }
}

/// Distance from `p` to the box (0 inside).
pub fn box_distance(b: &Obb, p: &Point3<f64>) -> f64 {
    let local = b.rotation().inverse() * (p - b.center());
    let h = b.half_extents();
    let outside = Vector3::new(
        (local.x.abs() - h.x).max(0.0),
        (local.y.abs() - h.y).max(0.0),
        (local.z.abs() - h.z).max(0.0),
    );
    outside.norm()
}

/// Distance from `p` to the upright cylinder (0 inside).
pub fn cylinder_distance(c: &Cylinder, p: &Point3<f64>) -> f64 {
    let d = p - c.base_center();
    let radial = (d.x * d.x + d.y * d.y).sqrt() - c.radius();
    let vertical = if d.z < 0.0 {
        -d.z
    } else {
        (d.z - c.height()).max(0.0)
    };
    (radial.max(0.0).powi(2) + vertical.powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ray(o: [f64; 3], d: [f64; 3]) -> Ray {
        Ray::new(Point3::from(o), Vector3::from(d)).unwrap()
    }

    fn capsule() -> Capsule {
        // Along x from 0 to 1, radius 0.1.
        Capsule::new(Point3::origin(), Point3::new(1.0, 0.0, 0.0), 0.1).unwrap()
    }

    #[test]
    fn rays_hit_the_side_and_the_caps_at_the_right_distance() {
        let c = capsule();
        // Down onto the middle of the side: from z = 1 to the top at z = 0.1.
        let t = c.ray_intersect(&ray([0.5, 0.0, 1.0], [0.0, 0.0, -1.0]), 0.0, 10.0);
        assert!((t.unwrap() - 0.9).abs() < 1e-9);
        // Along the axis from beyond b: the cap's pole at x = 1.1.
        let t = c.ray_intersect(&ray([2.0, 0.0, 0.0], [-1.0, 0.0, 0.0]), 0.0, 10.0);
        assert!((t.unwrap() - 0.9).abs() < 1e-9);
        // Down onto the cap at x = 1.05: the sphere surface at z = sqrt(0.01 - 0.0025).
        let t = c.ray_intersect(&ray([1.05, 0.0, 1.0], [0.0, 0.0, -1.0]), 0.0, 10.0);
        assert!((t.unwrap() - (1.0 - 0.0075f64.sqrt())).abs() < 1e-9);
        // A miss beside it, and a hit beyond t_max.
        assert!(
            c.ray_intersect(&ray([0.5, 0.2, 1.0], [0.0, 0.0, -1.0]), 0.0, 10.0)
                .is_none()
        );
        assert!(
            c.ray_intersect(&ray([0.5, 0.0, 1.0], [0.0, 0.0, -1.0]), 0.0, 0.5)
                .is_none()
        );
    }

    #[test]
    fn a_degenerate_capsule_is_a_sphere() {
        let s = Capsule::new(Point3::origin(), Point3::origin(), 0.5).unwrap();
        let t = s.ray_intersect(&ray([0.0, 0.0, 2.0], [0.0, 0.0, -1.0]), 0.0, 10.0);
        assert!((t.unwrap() - 1.5).abs() < 1e-9);
        assert!((s.distance(&Point3::new(1.0, 0.0, 0.0)) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn contacts_with_boxes_and_cylinders_follow_the_radius() {
        let c = capsule();
        // A box whose top is at z = -0.05: 0.05 below the axis, inside the 0.1 radius.
        let b = Obb::new(
            Point3::new(0.5, 0.0, -0.55),
            Vector3::new(0.5, 0.5, 0.5),
            0.0,
        )
        .unwrap();
        assert!(c.touches_box(&b));
        let b2 = Obb::new(
            Point3::new(0.5, 0.0, -0.65),
            Vector3::new(0.5, 0.5, 0.5),
            0.0,
        )
        .unwrap();
        assert!(!c.touches_box(&b2));
        // A cup 0.15 beside the axis end, radius 0.04: gap 0.15 - 0.04 = 0.11 > 0.1.
        let cup = Cylinder::new(Point3::new(1.0, 0.15, -0.05), 0.04, 0.1).unwrap();
        assert!(!c.touches_cylinder(&cup));
        let cup = Cylinder::new(Point3::new(1.0, 0.13, -0.05), 0.04, 0.1).unwrap();
        assert!(c.touches_cylinder(&cup));
        let other = Capsule::new(
            Point3::new(0.5, 0.15, -1.0),
            Point3::new(0.5, 0.15, 1.0),
            0.06,
        )
        .unwrap();
        assert!(c.touches_capsule(&other));
        assert!(Capsule::new(Point3::origin(), Point3::origin(), 0.0).is_err());
    }
}
