//! Roof strips: a close vehicle's roof seen by a single lidar ring, metres behind its front.
//!
//! A roof lies only a little below a roof-mounted lidar, so the rings cross it far apart: for
//! a 1.43 m roof under a lidar at 1.8 m, 1.33° between channels puts one ring at 7.9 m and the
//! next at 15.9 m. A car close behind (or ahead) shows its front face up to the ring that
//! passes over its edge, then nothing until the next ring lands on the roof near its far end,
//! up to a car length farther out, well beyond any clustering tolerance along the line of
//! sight. Clustered alone, that strip became a second "car" 4 m behind the real one.
//!
//! A strip is joined to the cluster in front of it when it can only be the same vehicle's
//! roof: it is thin (one or two rings on a flat roof), lies within the front cluster's
//! azimuth span (a box's visible faces span its whole silhouette, and the roof is inside it),
//! sits at the height of the front cluster's top (what is seen over the front's top edge
//! without rising above it), and the two together are no deeper along the line of sight than a
//! vehicle is long. A second car queued behind the first shows its roof strip beyond that
//! length, and a taller vehicle behind shows more than a strip over the first one's top.

use nalgebra::Point3;

/// When a roof strip is joined to the cluster in front of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoofStripParams {
    /// Largest height extent of a strip (m).
    pub max_strip_height: f32,
    /// How far a strip's points may lie below the front cluster's highest point (m).
    pub below_top: f32,
    /// How far a strip's points may rise above the front cluster's highest point (m).
    pub above_top: f32,
    /// Largest depth of front and strip together along the line of sight (m): a car's
    /// diagonal.
    pub max_depth: f32,
    /// Azimuth by which a strip may overhang the front cluster's span (rad).
    pub azimuth_margin: f32,
}

impl RoofStripParams {
    /// Road defaults: strips at most 0.3 m tall, from 0.1 m below to 0.35 m above the front's
    /// top, within 5.5 m in depth and 0.5° of azimuth.
    pub fn road() -> Self {
        Self {
            max_strip_height: 0.3,
            below_top: 0.1,
            above_top: 0.35,
            max_depth: 5.5,
            azimuth_margin: 0.5f32.to_radians(),
        }
    }

    /// The name and reason of the first invalid field, if any.
    pub fn invalid(&self) -> Option<(&'static str, f32, &'static str)> {
        let checks = [
            ("max_strip_height", self.max_strip_height),
            ("below_top", self.below_top),
            ("above_top", self.above_top),
            ("max_depth", self.max_depth),
            ("azimuth_margin", self.azimuth_margin),
        ];
        checks
            .into_iter()
            .find(|(_, v)| !(v.is_finite() && *v >= 0.0))
            .map(|(name, v)| (name, v, "must be finite and at least 0"))
    }
}

/// A cluster's extent in range and height, cheap to take for every cluster.
#[derive(Debug, Clone, Copy)]
struct Extent {
    r_min: f32,
    r_max: f32,
    z_min: f32,
    z_max: f32,
}

impl Extent {
    fn of(points: &[Point3<f32>], members: &[u32], sensor: Point3<f32>) -> Self {
        let mut e = Extent {
            r_min: f32::MAX,
            r_max: 0.0,
            z_min: f32::MAX,
            z_max: f32::MIN,
        };
        for &i in members {
            let p = points[i as usize];
            let r = (p.x - sensor.x).hypot(p.y - sensor.y);
            e.r_min = e.r_min.min(r);
            e.r_max = e.r_max.max(r);
            e.z_min = e.z_min.min(p.z);
            e.z_max = e.z_max.max(p.z);
        }
        e
    }

    fn is_strip(&self, p: &RoofStripParams) -> bool {
        self.z_max - self.z_min <= p.max_strip_height
    }

    /// Whether `strip` lies where this cluster's roof would: behind its nearest point, within
    /// a vehicle's depth of it, at its top height.
    fn may_carry(&self, strip: &Extent, p: &RoofStripParams) -> bool {
        strip.r_min > self.r_min
            && strip.r_max - self.r_min <= p.max_depth
            && strip.z_min >= self.z_max - p.below_top
            && strip.z_max <= self.z_max + p.above_top
    }
}

/// A cluster's azimuth span seen from the sensor, relative to the bearing of its first
/// point. Taken only for clusters that pass the cheap tests: it costs an `atan2` per point.
#[derive(Debug, Clone, Copy)]
struct Span {
    reference: f32,
    lo: f32,
    hi: f32,
}

impl Span {
    fn of(points: &[Point3<f32>], members: &[u32], sensor: Point3<f32>) -> Self {
        let bearing = |i: u32| {
            let p = points[i as usize];
            (p.y - sensor.y).atan2(p.x - sensor.x)
        };
        let reference = members.first().map_or(0.0, |&i| bearing(i));
        let (mut lo, mut hi) = (f32::MAX, f32::MIN);
        for &i in members {
            let az = angle_diff(bearing(i), reference);
            lo = lo.min(az);
            hi = hi.max(az);
        }
        Span { reference, lo, hi }
    }

    /// Whether `inner` lies within this span widened by `margin` on both sides.
    fn contains(&self, inner: &Span, margin: f32) -> bool {
        let shift = angle_diff(inner.reference, self.reference);
        inner.lo + shift >= self.lo - margin && inner.hi + shift <= self.hi + margin
    }
}

/// Angle `a - b` wrapped into (-π, π].
fn angle_diff(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(std::f32::consts::TAU);
    if d > std::f32::consts::PI {
        d - std::f32::consts::TAU
    } else {
        d
    }
}

/// Joins roof strips to the cluster in front of them. `clusters` holds each cluster's point
/// indices and weight; a joined strip's points and weight move to its front cluster (the
/// nearest candidate) and the strip is removed. Returns how many strips were joined.
pub fn join_roof_strips(
    points: &[Point3<f32>],
    clusters: &mut Vec<(Vec<u32>, usize)>,
    sensor: Point3<f32>,
    params: &RoofStripParams,
) -> usize {
    let extents: Vec<Extent> = clusters
        .iter()
        .map(|(m, _)| Extent::of(points, m, sensor))
        .collect();
    let mut spans: Vec<Option<Span>> = vec![None; clusters.len()];
    let mut span =
        |k: usize| *spans[k].get_or_insert_with(|| Span::of(points, &clusters[k].0, sensor));
    // Decided on the clusters as segmented, so a joined strip never carries a second one.
    let mut into: Vec<Option<usize>> = vec![None; clusters.len()];
    for (b, strip) in extents.iter().enumerate() {
        if clusters[b].0.is_empty() || !strip.is_strip(params) {
            continue;
        }
        let mut best: Option<usize> = None;
        for (a, front) in extents.iter().enumerate() {
            if a == b || clusters[a].0.is_empty() || !front.may_carry(strip, params) {
                continue;
            }
            if best.is_some_and(|k| extents[k].r_min <= front.r_min) {
                continue;
            }
            if span(a).contains(&span(b), params.azimuth_margin) {
                best = Some(a);
            }
        }
        into[b] = best;
    }
    // A front that is itself joined elsewhere is not a front.
    for b in 0..into.len() {
        if let Some(a) = into[b]
            && into[a].is_some()
        {
            into[b] = None;
        }
    }
    let mut joined = 0;
    for b in (0..clusters.len()).rev() {
        if let Some(a) = into[b] {
            let (members, weight) = std::mem::take(&mut clusters[b]);
            clusters[a].0.extend(members);
            clusters[a].1 += weight;
            joined += 1;
        }
    }
    clusters.retain(|(m, _)| !m.is_empty());
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points of a car 1.43 m tall whose front face is `front` metres behind a sensor at
    /// 1.8 m, as a 32-channel lidar sees it: the face up to the ring over its edge, and the
    /// roof where the next rings land on it.
    fn car_behind(front: f32, length: f32, first: u32) -> (Vec<Point3<f32>>, Vec<u32>, Vec<u32>) {
        let (sensor_h, roof) = (1.8f32, 1.43f32);
        let mut points = Vec::new();
        let (mut face, mut top) = (Vec::new(), Vec::new());
        for ch in 0..32 {
            let elev = (-30.67f32 + ch as f32 * 41.34 / 31.0).to_radians();
            if elev >= 0.0 {
                continue;
            }
            let z_at_face = sensor_h + front * elev.tan();
            for k in -20..=20 {
                let y = k as f32 * 0.045;
                let i = first + points.len() as u32;
                if (0.3..=roof).contains(&z_at_face) {
                    points.push(Point3::new(-front, y, z_at_face));
                    face.push(i);
                } else if z_at_face > roof {
                    let r = (sensor_h - roof) / (-elev).tan();
                    if r <= front + length {
                        points.push(Point3::new(-r, y * r / front, roof));
                        top.push(i);
                    }
                }
            }
        }
        (points, face, top)
    }

    #[test]
    fn a_close_followers_roof_strip_joins_its_front() {
        let (points, face, top) = car_behind(11.85, 4.5, 0);
        assert!(!top.is_empty() && !face.is_empty());
        // The one roof ring lands 4 m behind the face.
        let depth = points[top[0] as usize].x - points[face[0] as usize].x;
        assert!((depth + 4.05).abs() < 0.1, "roof {depth} m from the face");
        let mut clusters = vec![(face.clone(), face.len()), (top.clone(), top.len())];
        let n = join_roof_strips(
            &points,
            &mut clusters,
            Point3::new(0.0, 0.0, 1.8),
            &RoofStripParams::road(),
        );
        assert_eq!(n, 1);
        assert_eq!(clusters.len(), 1);
        assert_eq!(clusters[0].0.len(), face.len() + top.len());
        assert_eq!(clusters[0].1, face.len() + top.len());
    }

    #[test]
    fn a_second_car_queued_behind_keeps_its_own_roof() {
        // First car's face at 6 m; a second car 2 m behind it shows only its roof over the
        // first one, 8.5 m beyond the first one's face.
        let (mut points, face, _) = car_behind(6.0, 4.5, 0);
        let first = points.len() as u32;
        let (far, _, far_top) = car_behind(12.5, 4.5, first);
        assert!(!far_top.is_empty());
        points.extend(far);
        let mut clusters = vec![(face.clone(), face.len()), (far_top.clone(), far_top.len())];
        let n = join_roof_strips(
            &points,
            &mut clusters,
            Point3::new(0.0, 0.0, 1.8),
            &RoofStripParams::road(),
        );
        assert_eq!(n, 0, "a queued car was swallowed");
        assert_eq!(clusters.len(), 2);
    }

    #[test]
    fn a_strip_beside_the_front_or_a_taller_body_behind_stays_apart() {
        let sensor = Point3::new(0.0, 0.0, 1.8);
        let face: Vec<Point3<f32>> = (0..20)
            .map(|k| Point3::new(-8.0, -0.9 + k as f32 * 0.09, 1.2))
            .collect();
        // A strip at the roof's height and depth, but 3 m to the side: another object.
        let beside: Vec<Point3<f32>> = (0..20)
            .map(|k| Point3::new(-11.0, 2.0 + k as f32 * 0.09, 1.4))
            .collect();
        // Behind the face within a car's length, but 0.6 m of height: a taller body.
        let tall: Vec<Point3<f32>> = (0..20)
            .map(|k| Point3::new(-11.0, -0.5 + k as f32 * 0.05, 1.3 + k as f32 * 0.03))
            .collect();
        for other in [beside, tall] {
            let mut points = face.clone();
            points.extend(other);
            let mut clusters = vec![((0..20).collect(), 20), ((20..40).collect(), 20)];
            assert_eq!(
                join_roof_strips(&points, &mut clusters, sensor, &RoofStripParams::road()),
                0
            );
            assert_eq!(clusters.len(), 2);
        }
    }

    #[test]
    fn spans_wrap_around_behind_the_sensor() {
        // Directly behind the sensor, bearings straddle ±π.
        assert!((angle_diff(-3.1, 3.1) - (std::f32::consts::TAU - 6.2)).abs() < 1e-5);
        assert!((angle_diff(3.1, -3.1) + (std::f32::consts::TAU - 6.2)).abs() < 1e-5);
    }
}
