//! Oriented boxes on the ground plane: L-shape fitting for partially seen vehicles and the
//! minimum-area rectangle for objects seen whole; the height comes from the z extent.

use std::f64::consts::{FRAC_PI_2, PI};

use nalgebra::Point3;

/// A rectangle on the ground plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Centre x (m).
    pub cx: f64,
    /// Centre y (m).
    pub cy: f64,
    /// Heading of the length axis (rad), in (−π/2, π/2].
    pub yaw: f64,
    /// Extent along the heading (m), at least `width`.
    pub length: f64,
    /// Extent across the heading (m).
    pub width: f64,
}

/// An upright oriented box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrientedBox {
    /// Centre of the box (m).
    pub center: Point3<f64>,
    /// Heading of the length axis (rad), in (−π/2, π/2].
    pub yaw: f64,
    /// Extent along the heading (m), at least `width`.
    pub length: f64,
    /// Extent across the heading (m).
    pub width: f64,
    /// Vertical extent (m).
    pub height: f64,
}

/// How the ground-plane rectangle is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoxMethod {
    /// Search-based L-shape fit with the closeness criterion (Zhang et al. 2017): suits
    /// lidar views where only one or two sides of an object are visible.
    LShape,
    /// Minimum-area enclosing rectangle: suits objects seen from above, whole.
    MinAreaRect,
}

/// Wraps an angle into (−π/2, π/2]: a rectangle is the same after a half turn.
fn wrap_half_turn(mut a: f64) -> f64 {
    while a > FRAC_PI_2 {
        a -= PI;
    }
    while a <= -FRAC_PI_2 {
        a += PI;
    }
    a
}

/// The rectangle with sides along `theta` and `theta + 90°` spanning the given projections.
fn rect_from_extents(theta: f64, min1: f64, max1: f64, min2: f64, max2: f64) -> Rect {
    let (s, c) = theta.sin_cos();
    let m1 = 0.5 * (min1 + max1);
    let m2 = 0.5 * (min2 + max2);
    let (mut yaw, mut length, mut width) = (theta, max1 - min1, max2 - min2);
    if width > length {
        std::mem::swap(&mut length, &mut width);
        yaw += FRAC_PI_2;
    }
    Rect {
        cx: m1 * c - m2 * s,
        cy: m1 * s + m2 * c,
        yaw: wrap_half_turn(yaw),
        length,
        width,
    }
}

/// Extents of the projections of `xy` on the axes at angle `theta`.
fn extents(xy: &[[f64; 2]], theta: f64) -> [f64; 4] {
    extents_sc(xy, theta.sin_cos())
}

/// [`extents`] with the sine and cosine of the angle given.
fn extents_sc(xy: &[[f64; 2]], (s, c): (f64, f64)) -> [f64; 4] {
    let mut e = [
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    for p in xy {
        let a = p[0] * c + p[1] * s;
        let b = -p[0] * s + p[1] * c;
        e[0] = e[0].min(a);
        e[1] = e[1].max(a);
        e[2] = e[2].min(b);
        e[3] = e[3].max(b);
    }
    e
}

/// Closeness score of the rectangle at `theta`: points near its nearest edges score high.
fn closeness(xy: &[[f64; 2]], theta: f64) -> f64 {
    // Floor on the edge distance, as in the paper, so a single point on an edge cannot dominate.
    const D0: f64 = 0.01;
    let (s, c) = theta.sin_cos();
    let [min1, max1, min2, max2] = extents_sc(xy, (s, c));
    xy.iter()
        .map(|p| {
            let a = p[0] * c + p[1] * s;
            let b = -p[0] * s + p[1] * c;
            let d1 = (max1 - a).min(a - min1);
            let d2 = (max2 - b).min(b - min2);
            1.0 / d1.min(d2).max(D0)
        })
        .sum()
}

/// Root mean square distance of `xy` from the nearest edge of `rect`: about the sensor noise
/// for the faces of a box, several millimetres for the arc of a cylinder.
pub fn edge_rms(xy: &[[f64; 2]], rect: &Rect) -> f64 {
    if xy.is_empty() {
        return 0.0;
    }
    let (s, c) = rect.yaw.sin_cos();
    let (hl, hw) = (0.5 * rect.length, 0.5 * rect.width);
    let sum: f64 = xy
        .iter()
        .map(|p| {
            let (dx, dy) = (p[0] - rect.cx, p[1] - rect.cy);
            let a = (dx * c + dy * s).abs();
            let b = (-dx * s + dy * c).abs();
            (hl - a).abs().min((hw - b).abs()).powi(2)
        })
        .sum();
    (sum / xy.len() as f64).sqrt()
}

/// Most points the angle search looks at; more add time but no accuracy for boxes.
const SEARCH_POINTS: usize = 100;

/// L-shape fit: the heading in [0°, 90°) that maximises the closeness criterion, searched at
/// 3°, then at 0.5° and 0.1° around the best so far; `None` for an empty set.
pub fn l_shape_fit(xy: &[[f64; 2]]) -> Option<Rect> {
    if xy.is_empty() {
        return None;
    }
    // Centred, so that the projections keep their precision far from the origin.
    let n = xy.len() as f64;
    let (mx, my) = xy
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p[0] / n, y + p[1] / n));
    let sample: Vec<[f64; 2]> = xy
        .iter()
        .step_by(xy.len().div_ceil(SEARCH_POINTS))
        .map(|p| [p[0] - mx, p[1] - my])
        .collect();
    let best_in = |from: f64, step: f64, n: usize| {
        (0..n)
            .map(|k| from + k as f64 * step)
            .map(|t| (t, closeness(&sample, t)))
            .fold(
                (from, f64::NEG_INFINITY),
                |b, x| if x.1 > b.1 { x } else { b },
            )
            .0
    };
    let mut theta = best_in(0.0, 3f64.to_radians(), 30);
    for (step, n) in [(0.5f64, 7), (0.1, 7)] {
        let half = (n / 2) as f64 * step.to_radians();
        theta = best_in(theta - half, step.to_radians(), n);
    }
    // Extents over all points, not the sample, so that no point sticks out of the box.
    let [min1, max1, min2, max2] = extents(xy, theta);
    Some(rect_from_extents(theta, min1, max1, min2, max2))
}

/// Cross product of `o→a` and `o→b`: positive for a left turn.
fn cross(o: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

/// Convex hull, counter-clockwise, without collinear points (Andrew's monotone chain).
pub fn convex_hull(xy: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut pts: Vec<[f64; 2]> = xy
        .iter()
        .copied()
        .filter(|p| p[0].is_finite() && p[1].is_finite())
        .collect();
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let mut hull: Vec<[f64; 2]> = Vec::with_capacity(pts.len() + 1);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &[f64; 2]>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        // The last point of each chain starts the other one.
        hull.pop();
    }
    hull
}

/// Area of a simple polygon (shoelace), positive when counter-clockwise.
pub fn polygon_area(poly: &[[f64; 2]]) -> f64 {
    let n = poly.len();
    (0..n)
        .map(|i| {
            let (a, b) = (poly[i], poly[(i + 1) % n]);
            a[0] * b[1] - a[1] * b[0]
        })
        .sum::<f64>()
        * 0.5
}

/// Minimum-area enclosing rectangle. It has a side along some hull edge (Freeman & Shapira
/// 1975), so each hull edge is tried; `None` for an empty set.
pub fn min_area_rect(xy: &[[f64; 2]]) -> Option<Rect> {
    let hull = convex_hull(xy);
    match hull.len() {
        0 => None,
        1 => Some(rect_from_extents(
            0.0, hull[0][0], hull[0][0], hull[0][1], hull[0][1],
        )),
        _ => {
            let mut best: Option<(f64, Rect)> = None;
            for i in 0..hull.len() {
                let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
                let theta = (b[1] - a[1]).atan2(b[0] - a[0]);
                let [min1, max1, min2, max2] = extents(&hull, theta);
                let area = (max1 - min1) * (max2 - min2);
                if best.is_none_or(|(a, _)| area < a) {
                    best = Some((area, rect_from_extents(theta, min1, max1, min2, max2)));
                }
            }
            best.map(|(_, r)| r)
        }
    }
}

/// Fits an upright box to the points `members` of `points`. `ground`, if known, is the
/// ground height under the object: its bottom, since the points nearest the ground were
/// removed with it. `None` for no points.
pub fn fit_box(
    points: &[Point3<f32>],
    members: &[u32],
    ground: Option<f64>,
    method: BoxMethod,
) -> Option<OrientedBox> {
    let mut xy = Vec::with_capacity(members.len());
    let (mut zmin, mut zmax) = (f64::INFINITY, f64::NEG_INFINITY);
    for &i in members {
        let p = points.get(i as usize)?;
        xy.push([f64::from(p.x), f64::from(p.y)]);
        zmin = zmin.min(f64::from(p.z));
        zmax = zmax.max(f64::from(p.z));
    }
    let rect = match method {
        BoxMethod::LShape => l_shape_fit(&xy)?,
        BoxMethod::MinAreaRect => min_area_rect(&xy)?,
    };
    let bottom = ground.map_or(zmin, |g| g.min(zmin));
    Some(OrientedBox {
        center: Point3::new(rect.cx, rect.cy, 0.5 * (bottom + zmax)),
        yaw: rect.yaw,
        length: rect.length,
        width: rect.width,
        height: zmax - bottom,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rotates `(x, y)` by `yaw` and shifts it by `(cx, cy)`.
    fn place(x: f64, y: f64, yaw: f64, cx: f64, cy: f64) -> [f64; 2] {
        let (s, c) = yaw.sin_cos();
        [cx + x * c - y * s, cy + x * s + y * c]
    }

    #[test]
    fn l_shape_of_two_visible_car_sides() {
        // A 4.5 × 1.8 car at (20, 5) turned 30°; the sensor sees its rear and right sides.
        let (l, w, yaw) = (4.5, 1.8, 30f64.to_radians());
        let mut xy = Vec::new();
        for k in 0..=90 {
            let x = -l / 2.0 + l * k as f64 / 90.0;
            // ±1 cm of deterministic ripple, as from range noise.
            let ripple = 0.01 * ((k * 7 % 5) as f64 - 2.0) / 2.0;
            xy.push(place(x, -w / 2.0 + ripple, yaw, 20.0, 5.0));
        }
        for k in 1..=36 {
            let y = -w / 2.0 + w * k as f64 / 36.0;
            xy.push(place(-l / 2.0, y, yaw, 20.0, 5.0));
        }
        let r = l_shape_fit(&xy).unwrap();
        assert!(
            (r.yaw - yaw).abs() < 2f64.to_radians(),
            "{}",
            r.yaw.to_degrees()
        );
        assert!((r.length - l).abs() < 0.05, "{}", r.length);
        assert!((r.width - w).abs() < 0.05, "{}", r.width);
        assert!(
            (r.cx - 20.0).abs() < 0.05 && (r.cy - 5.0).abs() < 0.05,
            "{r:?}"
        );
    }

    #[test]
    fn min_area_rect_of_rotated_rectangle() {
        // Filled 3 × 1 rectangle at (-2, 4) turned -50°: the yaw wraps to −50°.
        let yaw = -50f64.to_radians();
        let mut xy = Vec::new();
        for i in 0..=30 {
            for j in 0..=10 {
                xy.push(place(
                    -1.5 + 0.1 * i as f64,
                    -0.5 + 0.1 * j as f64,
                    yaw,
                    -2.0,
                    4.0,
                ));
            }
        }
        let r = min_area_rect(&xy).unwrap();
        assert!((r.yaw - yaw).abs() < 1e-9, "{}", r.yaw.to_degrees());
        assert!((r.length - 3.0).abs() < 1e-9);
        assert!((r.width - 1.0).abs() < 1e-9);
        assert!((r.cx + 2.0).abs() < 1e-9 && (r.cy - 4.0).abs() < 1e-9);
    }

    #[test]
    fn hull_and_degenerate_sets() {
        let sq = [
            [0.0, 0.0],
            [1.0, 0.0],
            [0.5, 0.5],
            [1.0, 1.0],
            [0.0, 1.0],
            [0.5, 0.0],
        ];
        let hull = convex_hull(&sq);
        assert_eq!(hull, vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]);
        assert_eq!(polygon_area(&hull), 1.0);
        assert!(min_area_rect(&[]).is_none());
        let dot = min_area_rect(&[[2.0, 3.0]]).unwrap();
        assert_eq!(
            (dot.cx, dot.cy, dot.length, dot.width),
            (2.0, 3.0, 0.0, 0.0)
        );
        let seg = min_area_rect(&[[0.0, 0.0], [0.0, 2.0], [0.0, 1.0]]).unwrap();
        assert!((seg.length - 2.0).abs() < 1e-12 && seg.width.abs() < 1e-12);
        assert!((seg.yaw - FRAC_PI_2).abs() < 1e-12 && (seg.cy - 1.0).abs() < 1e-12);
    }

    #[test]
    fn box_height_from_ground() {
        let pts = [
            Point3::new(0.0f32, 0.0, 0.4),
            Point3::new(2.0, 0.0, 1.5),
            Point3::new(2.0, 1.0, 0.9),
        ];
        let b = fit_box(&pts, &[0, 1, 2], Some(0.1), BoxMethod::MinAreaRect).unwrap();
        assert!((b.height - 1.4).abs() < 1e-6);
        assert!((b.center.z - 0.8).abs() < 1e-6);
        assert!(fit_box(&pts, &[], None, BoxMethod::LShape).is_none());
        assert!(fit_box(&pts, &[7], None, BoxMethod::LShape).is_none());
    }
}
