//! Targets given as a pixel of a camera image (what an external model pointing at an object
//! hands over): the pixel's ray through a pinhole camera, and the object it meets first.

use nalgebra::{Point3, Vector3};

/// The unit ray through pixel (`u`, `v`) of a pinhole camera with intrinsics `k` (row-major
/// 3 × 3, as `sensor_msgs/CameraInfo.k`: pixel centres at whole coordinates), in the camera's
/// optical frame (z forward, x right, y down). `None` for intrinsics without a focal length.
pub fn pixel_ray(k: &[f64; 9], u: f64, v: f64) -> Option<Vector3<f64>> {
    let (fx, cx, fy, cy) = (k[0], k[2], k[4], k[5]);
    if !(fx.is_finite() && fy.is_finite() && fx > 0.0 && fy > 0.0 && u.is_finite() && v.is_finite())
    {
        return None;
    }
    Some(Vector3::new((u - cx) / fx, (v - cy) / fy, 1.0).normalize())
}

/// Of `objects` (id, centre, radius), the first the ray from `origin` along unit `dir` meets:
/// those in front of the camera whose centre lies within their radius plus `margin` of the
/// ray, nearest along it.
pub fn object_on_ray(
    origin: &Point3<f64>,
    dir: &Vector3<f64>,
    objects: &[(u64, Point3<f64>, f64)],
    margin: f64,
) -> Option<u64> {
    objects
        .iter()
        .filter_map(|(id, c, r)| {
            let along = (c - origin).dot(dir);
            let off = ((c - origin) - dir * along).norm();
            (along > 0.0 && off <= r + margin).then_some((*id, along))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_principal_point_looks_straight_ahead_and_pixels_fan_out() {
        // 160 × 120, 87° across: f = 80 / tan(43.5°) = 84.2 px.
        let f = 80.0 / 43.5f64.to_radians().tan();
        let k = [f, 0.0, 79.5, 0.0, f, 59.5, 0.0, 0.0, 1.0];
        let ahead = pixel_ray(&k, 79.5, 59.5).unwrap();
        assert!((ahead - Vector3::z()).norm() < 1e-12);
        // The last column's centre is 79.5 px right of the principal point.
        let right = pixel_ray(&k, 159.0, 59.5).unwrap();
        assert!((right.x / right.z - 79.5 / f).abs() < 1e-12);
        assert!(pixel_ray(&[0.0; 9], 1.0, 1.0).is_none());
    }

    #[test]
    fn the_ray_picks_the_first_object_it_meets() {
        let o = Point3::origin();
        let cups = [
            (1, Point3::new(0.0, 0.0, 1.0), 0.035),
            (2, Point3::new(0.0, 0.02, 0.6), 0.035),
            (3, Point3::new(0.2, 0.0, 0.5), 0.035),
            (4, Point3::new(0.0, 0.0, -0.5), 0.035),
        ];
        // Straight ahead: 2 (2 cm off the ray) before 1; 3 is 20 cm aside, 4 behind.
        assert_eq!(object_on_ray(&o, &Vector3::z(), &cups, 0.01), Some(2));
        let at_three = Vector3::new(0.2, 0.0, 0.5).normalize();
        assert_eq!(object_on_ray(&o, &at_three, &cups, 0.01), Some(3));
        let between = Vector3::new(0.1, 0.0, 0.5).normalize();
        assert_eq!(object_on_ray(&o, &between, &cups, 0.01), None);
    }
}
