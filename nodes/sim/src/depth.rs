//! A fixed depth camera: a pinhole (width × height pixels, horizontal field of view) that
//! casts one ray per pixel against the tabletop and the arm's solids and returns the nearest
//! hit of each as a point in the camera's optical frame (z forward, x right, y down, REP-103's
//! `_optical_frame` convention). Occlusion is physical: every ray stops at its first surface.
//!
//! Each solid is culled to the pixel rectangle its bounding box projects to, so a frame costs
//! about one intersection test per pixel and solid that could actually be hit.

use nalgebra::{Isometry3, Point3, Rotation3, Translation3, UnitQuaternion, Vector3};
use thiserror::Error;

use crate::arm::Solid;
use crate::geometry::{Aabb, Ray, Scene, Shape};
use crate::lidar::SplitMix64;

/// Scene id base of the arm's solids in depth points (`ARM_ID + link index`).
pub const ARM_ID: u32 = 100;

/// An invalid camera.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DepthError {
    /// A parameter is out of range.
    #[error("{what}: {message}")]
    Invalid {
        /// The parameter.
        what: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Camera parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthCameraParams {
    /// Image width (pixels).
    pub width: u32,
    /// Image height (pixels).
    pub height: u32,
    /// Horizontal field of view (rad).
    pub horizontal_fov: f64,
    /// Pose of the optical frame in the world (z forward, x right, y down).
    pub pose: Isometry3<f64>,
    /// Nearest range returned (m, along the ray).
    pub min_range: f64,
    /// Farthest range returned (m, along the ray).
    pub max_range: f64,
    /// Gaussian noise on the range (m, 1 σ).
    pub noise_sigma: f64,
    /// Seed of the noise stream.
    pub seed: u64,
    /// Frames per second.
    pub rate_hz: f64,
}

impl Default for DepthCameraParams {
    /// A RealSense-D435-like camera at a quarter of its 640 × 480 resolution: 87° wide,
    /// 0.1–3 m, 2 mm noise, 15 Hz, one metre above the origin looking down the x axis.
    fn default() -> Self {
        Self {
            width: 160,
            height: 120,
            horizontal_fov: 87f64.to_radians(),
            pose: look_at(Point3::new(0.0, 0.0, 1.0), Point3::new(1.0, 0.0, 1.0)),
            min_range: 0.1,
            max_range: 3.0,
            noise_sigma: 0.002,
            seed: 0,
            rate_hz: 15.0,
        }
    }
}

/// The optical-frame pose of a camera at `eye` looking at `target`, image "up" towards +z.
/// Looking straight up or down, image "up" is +x instead.
pub fn look_at(eye: Point3<f64>, target: Point3<f64>) -> Isometry3<f64> {
    let z = (target - eye)
        .try_normalize(1e-12)
        .unwrap_or_else(Vector3::x);
    let x = z
        .cross(&Vector3::z())
        .try_normalize(1e-9)
        .unwrap_or_else(|| z.cross(&Vector3::x()).normalize());
    let y = z.cross(&x);
    let r = Rotation3::from_basis_unchecked(&[x, y, z]);
    Isometry3::from_parts(
        Translation3::from(eye.coords),
        UnitQuaternion::from_rotation_matrix(&r),
    )
}

/// One returned point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthPoint {
    /// Position in the optical frame (m).
    pub x: f32,
    /// Position in the optical frame (m).
    pub y: f32,
    /// Position in the optical frame (m): the depth.
    pub z: f32,
    /// What it hit: a scene id, `ARM_ID + link`, or `None` for the floor.
    pub object_id: Option<u32>,
}

/// A depth camera with its unit ray table and noise stream.
#[derive(Debug, Clone)]
pub struct DepthCamera {
    params: DepthCameraParams,
    /// Optical-frame unit direction per pixel, row-major.
    rays: Vec<Vector3<f64>>,
    focal: f64,
    rng: SplitMix64,
}

/// Something to ray-cast, with the pixel rectangle it may cover.
struct Target<'a> {
    id: u32,
    what: TargetShape<'a>,
    u0: u32,
    u1: u32,
    v0: u32,
    v1: u32,
}

enum TargetShape<'a> {
    Scene(&'a Shape),
    Arm(&'a Solid),
}

impl DepthCamera {
    /// Checks the parameters and precomputes the rays.
    pub fn new(params: DepthCameraParams) -> Result<Self, DepthError> {
        let bad = |what, message: String| Err(DepthError::Invalid { what, message });
        let pixels = u64::from(params.width) * u64::from(params.height);
        if pixels == 0 || pixels > 4_000_000 {
            return bad(
                "width/height",
                format!(
                    "need 1 to 4,000,000 pixels, got {} x {}",
                    params.width, params.height
                ),
            );
        }
        let fov = params.horizontal_fov;
        if !(fov.is_finite() && fov > 0.0 && fov < std::f64::consts::PI) {
            return bad(
                "horizontal_fov",
                format!("must be in (0, 180)°, got {fov} rad"),
            );
        }
        let ranges_ok = params.min_range >= 0.0
            && params.max_range > params.min_range
            && params.max_range.is_finite();
        if !ranges_ok {
            return bad(
                "range",
                format!(
                    "need 0 <= min_range < max_range, got {} .. {}",
                    params.min_range, params.max_range
                ),
            );
        }
        if !(params.noise_sigma >= 0.0 && params.noise_sigma.is_finite()) {
            return bad(
                "noise_sigma",
                format!("must be >= 0, got {}", params.noise_sigma),
            );
        }
        if !(params.rate_hz > 0.0 && params.rate_hz.is_finite()) {
            return bad("rate_hz", format!("must be > 0, got {}", params.rate_hz));
        }
        let focal = params.width as f64 / 2.0 / (fov / 2.0).tan();
        let (cx, cy) = (params.width as f64 / 2.0, params.height as f64 / 2.0);
        let mut rays = Vec::with_capacity((params.width * params.height) as usize);
        for v in 0..params.height {
            for u in 0..params.width {
                let d = Vector3::new(
                    (u as f64 + 0.5 - cx) / focal,
                    (v as f64 + 0.5 - cy) / focal,
                    1.0,
                );
                rays.push(d.normalize());
            }
        }
        Ok(Self {
            params,
            rays,
            focal,
            rng: SplitMix64::new(params.seed),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &DepthCameraParams {
        &self.params
    }

    /// The focal length in pixels.
    pub fn focal_px(&self) -> f64 {
        self.focal
    }

    /// The pixel rectangle (u0..u1, v0..v1, exclusive ends) a box may cover; the whole image
    /// when part of it lies behind the camera.
    fn footprint(&self, aabb: &Aabb) -> Option<(u32, u32, u32, u32)> {
        let (w, h) = (self.params.width, self.params.height);
        let inv = self.params.pose.inverse();
        let (mut umin, mut umax, mut vmin, mut vmax) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for c in aabb.corners() {
            let p = inv * c;
            if p.z <= 1e-6 {
                return Some((0, w, 0, h));
            }
            let u = p.x / p.z * self.focal + w as f64 / 2.0;
            let v = p.y / p.z * self.focal + h as f64 / 2.0;
            umin = umin.min(u);
            umax = umax.max(u);
            vmin = vmin.min(v);
            vmax = vmax.max(v);
        }
        if umax < 0.0 || vmax < 0.0 || umin > w as f64 || vmin > h as f64 {
            return None;
        }
        let lo = |x: f64, n: u32| (x.floor().max(0.0) as u32).min(n);
        let hi = |x: f64, n: u32| ((x.ceil() + 1.0).max(0.0) as u32).min(n);
        Some((lo(umin, w), hi(umax, w), lo(vmin, h), hi(vmax, h)))
    }

    /// Takes one frame of `scene` (with its ground) and the arm's `solids` (link index each).
    pub fn capture(&mut self, scene: &Scene, solids: &[(usize, Solid)]) -> Vec<DepthPoint> {
        let mut targets = Vec::with_capacity(scene.objects.len() + solids.len());
        for o in &scene.objects {
            if let Some((u0, u1, v0, v1)) = self.footprint(&o.shape.aabb()) {
                targets.push(Target {
                    id: o.id,
                    what: TargetShape::Scene(&o.shape),
                    u0,
                    u1,
                    v0,
                    v1,
                });
            }
        }
        for (link, s) in solids {
            if let Some((u0, u1, v0, v1)) = self.footprint(&s.aabb()) {
                targets.push(Target {
                    id: ARM_ID + *link as u32,
                    what: TargetShape::Arm(s),
                    u0,
                    u1,
                    v0,
                    v1,
                });
            }
        }
        let pose = self.params.pose;
        let origin = Point3::from(pose.translation.vector);
        let (lo, hi) = (self.params.min_range, self.params.max_range);
        let width = self.params.width;
        let mut points = Vec::new();
        for (i, d) in self.rays.iter().enumerate() {
            let (u, v) = (i as u32 % width, i as u32 / width);
            let ray = Ray::new_unit_unchecked(origin, pose.rotation * d);
            let mut best: Option<(f64, Option<u32>)> = None;
            let mut limit = hi;
            if let Some(g) = &scene.ground
                && let Some(t) = g.plane.ray_intersect(&ray, 0.0, limit)
            {
                limit = t;
                best = Some((t, None));
            }
            for tg in &targets {
                if u < tg.u0 || u >= tg.u1 || v < tg.v0 || v >= tg.v1 {
                    continue;
                }
                let hit = match tg.what {
                    TargetShape::Scene(s) => s.ray_intersect(&ray, 0.0, limit),
                    TargetShape::Arm(s) => s.ray_intersect(&ray, 0.0, limit),
                };
                if let Some(t) = hit {
                    limit = t;
                    best = Some((t, Some(tg.id)));
                }
            }
            // Draw for every pixel so the noise of a pixel does not depend on other pixels' hits.
            let noise = self.rng.next_gaussian() * self.params.noise_sigma;
            let Some((t, object_id)) = best else {
                continue;
            };
            if t < lo {
                continue;
            }
            let r = t + noise;
            points.push(DepthPoint {
                x: (d.x * r) as f32,
                y: (d.y * r) as f32,
                z: (d.z * r) as f32,
                object_id,
            });
        }
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{Cylinder, Obb, ObjectClass, SceneObject};

    /// A table top at 0.75 (1 m × 1 m around x = 1), a cup on it at x = 1, and a camera at
    /// x = 0, 1 m up, looking along +x at the cup's middle height.
    fn scene(with_box: bool) -> Scene {
        let mut s = Scene::with_flat_ground(0.0).unwrap();
        let table = Obb::on_ground(1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.75).unwrap();
        s.push(SceneObject::new(
            1,
            ObjectClass::Obstacle,
            Shape::Box(table),
        ));
        let cup = Cylinder::new(Point3::new(1.0, 0.0, 0.75), 0.04, 0.1).unwrap();
        s.push(SceneObject::new(
            10,
            ObjectClass::Obstacle,
            Shape::Cylinder(cup),
        ));
        if with_box {
            // A 20 cm cube between the camera and the cup.
            let b = Obb::on_ground(0.7, 0.0, 0.75, 0.0, 0.2, 0.2, 0.2).unwrap();
            s.push(SceneObject::new(11, ObjectClass::Obstacle, Shape::Box(b)));
        }
        s
    }

    fn camera() -> DepthCamera {
        DepthCamera::new(DepthCameraParams {
            width: 64,
            height: 48,
            horizontal_fov: 60f64.to_radians(),
            pose: look_at(Point3::new(0.0, 0.0, 0.8), Point3::new(1.0, 0.0, 0.8)),
            noise_sigma: 0.0,
            ..DepthCameraParams::default()
        })
        .unwrap()
    }

    #[test]
    fn the_cup_is_seen_at_its_distance() {
        let mut cam = camera();
        let points = cam.capture(&scene(false), &[]);
        let cup: Vec<&DepthPoint> = points.iter().filter(|p| p.object_id == Some(10)).collect();
        assert!(cup.len() >= 4, "{} cup points", cup.len());
        // The cup's near side is 1 − 0.04 = 0.96 m ahead; its points' depth is at least that
        // and, across its 8 cm, at most the radius more.
        let nearest = cup.iter().map(|p| p.z).fold(f32::MAX, f32::min);
        assert!((nearest - 0.96).abs() < 0.005, "nearest {nearest}");
        assert!(cup.iter().all(|p| p.z < 1.0 && p.x.abs() < 0.045));
        // The optical frame: up in the world is −y, so cup points (above 0.75 m, the camera
        // at 0.8) reach from y = +0.05 (below) to −0.05 (above).
        assert!(cup.iter().all(|p| p.y > -0.06 && p.y < 0.06));
        // The table top is seen too, the floor not (the table hides it near the centre).
        assert!(points.iter().any(|p| p.object_id == Some(1)));
    }

    #[test]
    fn a_cup_hidden_behind_a_box_is_not_seen() {
        let mut cam = camera();
        let points = cam.capture(&scene(true), &[]);
        assert_eq!(points.iter().filter(|p| p.object_id == Some(10)).count(), 0);
        let front = points.iter().filter(|p| p.object_id == Some(11));
        assert!(front.clone().count() > 10);
        assert!(front.map(|p| p.z).fold(f32::MAX, f32::min) > 0.59);
    }

    #[test]
    fn arm_solids_occlude_and_are_tagged_by_link() {
        let mut cam = camera();
        let c = crate::capsule::Capsule::new(
            Point3::new(0.5, -0.2, 0.8),
            Point3::new(0.5, 0.2, 0.8),
            0.05,
        )
        .unwrap();
        let points = cam.capture(&scene(false), &[(3, Solid::Capsule(c))]);
        assert_eq!(points.iter().filter(|p| p.object_id == Some(10)).count(), 0);
        let arm: Vec<_> = points
            .iter()
            .filter(|p| p.object_id == Some(ARM_ID + 3))
            .collect();
        assert!(!arm.is_empty());
        assert!(arm.iter().all(|p| p.z >= 0.449));
    }

    #[test]
    fn noise_repeats_with_the_seed_and_bad_parameters_are_refused() {
        let noisy = DepthCameraParams {
            noise_sigma: 0.01,
            seed: 3,
            ..*camera().params()
        };
        let a = DepthCamera::new(noisy).unwrap().capture(&scene(false), &[]);
        let b = DepthCamera::new(noisy).unwrap().capture(&scene(false), &[]);
        assert_eq!(a, b);
        assert_ne!(a, camera().capture(&scene(false), &[]));
        let bad = DepthCameraParams {
            horizontal_fov: 0.0,
            ..noisy
        };
        assert!(DepthCamera::new(bad).is_err());
        let huge = DepthCameraParams {
            width: u32::MAX,
            height: u32::MAX,
            ..noisy
        };
        assert!(DepthCamera::new(huge).is_err());
    }
}
