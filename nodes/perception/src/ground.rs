//! Ground removal: a RANSAC plane (table tops, flat floors) and a polar grid ground model
//! for roads that follows slopes but not kerbs or cars.

use nalgebra::{Matrix3, Point3, SymmetricEigen, Vector3};
use thiserror::Error;

/// Invalid ground-model parameter.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("ground parameter `{name}` = {value} is invalid: {reason}")]
pub struct GroundError {
    /// Name of the parameter.
    pub name: &'static str,
    /// The rejected value.
    pub value: f64,
    /// What the value must satisfy.
    pub reason: &'static str,
}

/// Checks that `value` is finite and greater than 0.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<(), GroundError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(GroundError {
            name,
            value,
            reason: "must be finite and greater than 0",
        })
    }
}

/// Checks that `value` is finite and not negative.
pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<(), GroundError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(GroundError {
            name,
            value,
            reason: "must be finite and at least 0",
        })
    }
}

/// A plane `normal · p + offset = 0` with a unit normal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plane {
    /// Unit normal; points to the side called "above".
    pub normal: Vector3<f64>,
    /// Offset so that `normal · p + offset = 0` on the plane.
    pub offset: f64,
}

impl Plane {
    /// Signed distance of `p` from the plane, positive above.
    pub fn signed_distance(&self, p: &Point3<f32>) -> f64 {
        self.normal.x * f64::from(p.x)
            + self.normal.y * f64::from(p.y)
            + self.normal.z * f64::from(p.z)
            + self.offset
    }

    /// Height of the plane at `(x, y)`, `None` for a (near) vertical plane.
    pub fn height_at(&self, x: f64, y: f64) -> Option<f64> {
        if self.normal.z.abs() < 1e-9 {
            return None;
        }
        Some(-(self.normal.x * x + self.normal.y * y + self.offset) / self.normal.z)
    }
}

/// RANSAC plane-fit settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RansacParams {
    /// Largest point-to-plane distance of an inlier (m).
    pub threshold: f64,
    /// Number of three-point hypotheses tried.
    pub max_iterations: usize,
    /// If set, only planes whose normal is within the angle (rad) of this direction count,
    /// and the fitted normal is oriented towards it.
    pub expected_normal: Option<(Vector3<f64>, f64)>,
    /// Seed of the sampling stream, so that fits are reproducible.
    pub seed: u64,
    /// Hypotheses are scored on at most this many evenly strided points, and the
    /// least-squares refinement uses at most 16 times as many; the inlier count uses all.
    pub score_sample: usize,
}

impl RansacParams {
    /// Checks every field, naming the bad one.
    pub fn validate(&self) -> Result<(), GroundError> {
        positive("threshold", self.threshold)?;
        positive("max_iterations", self.max_iterations as f64)?;
        positive("score_sample", self.score_sample as f64)?;
        if let Some((n, angle)) = self.expected_normal {
            positive("expected_normal.norm", n.norm())?;
            positive("expected_normal.max_angle", angle)?;
        }
        Ok(())
    }
}

/// A fitted plane and how many points support it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaneFit {
    /// The refined plane.
    pub plane: Plane,
    /// Points within the threshold of the refined plane.
    pub inliers: usize,
}

/// SplitMix64: tiny, seedable and good enough to pick sample indices.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// A stream starting from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (`n > 0`); the modulo bias is irrelevant here.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

fn to_f64(p: &Point3<f32>) -> Vector3<f64> {
    Vector3::new(f64::from(p.x), f64::from(p.y), f64::from(p.z))
}

/// Fits the dominant plane; `None` if there are fewer than three points or no hypothesis
/// passes the normal constraint.
pub fn fit_plane(points: &[Point3<f32>], params: &RansacParams) -> Option<PlaneFit> {
    if points.len() < 3 {
        return None;
    }
    let expected = params
        .expected_normal
        .map(|(n, angle)| (n.normalize(), angle.cos()));
    let stride = points.len().div_ceil(params.score_sample.max(1));
    let mut rng = SplitMix64::new(params.seed);
    let mut best: Option<(Plane, usize)> = None;
    for _ in 0..params.max_iterations {
        let a = to_f64(&points[rng.below(points.len())]);
        let b = to_f64(&points[rng.below(points.len())]);
        let c = to_f64(&points[rng.below(points.len())]);
        let cross = (b - a).cross(&(c - a));
        let norm = cross.norm();
        // Degenerate (repeated or collinear) samples say nothing about a plane.
        if norm < 1e-9 {
            continue;
        }
        let mut normal = cross / norm;
        if let Some((e, cos_max)) = expected {
            let dot = normal.dot(&e);
            if dot.abs() < cos_max {
                continue;
            }
            if dot < 0.0 {
                normal = -normal;
            }
        }
        let plane = Plane {
            normal,
            offset: -normal.dot(&a),
        };
        let score = points
            .iter()
            .step_by(stride)
            .filter(|p| plane.signed_distance(p).abs() <= params.threshold)
            .count();
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((plane, score));
        }
    }
    let (mut plane, _) = best?;
    // Tens of thousands of points pin a plane down as well as millions do.
    let refine_stride = points
        .len()
        .div_ceil(params.score_sample.saturating_mul(16).max(1));
    // Two rounds: the first refit can move the plane enough to change the inlier set.
    for _ in 0..2 {
        match refine(points, refine_stride, &plane, params.threshold) {
            Some(p) => plane = p,
            None => break,
        }
    }
    if let Some((e, _)) = expected {
        if plane.normal.dot(&e) < 0.0 {
            plane.normal = -plane.normal;
            plane.offset = -plane.offset;
        }
    } else if plane.normal.z < 0.0 {
        plane.normal = -plane.normal;
        plane.offset = -plane.offset;
    }
    let inliers = points
        .iter()
        .filter(|p| plane.signed_distance(p).abs() <= params.threshold)
        .count();
    Some(PlaneFit { plane, inliers })
}

/// Least-squares plane through the inliers of `plane` among every `stride`-th point,
/// keeping its orientation.
fn refine(points: &[Point3<f32>], stride: usize, plane: &Plane, threshold: f64) -> Option<Plane> {
    let mut sum = Vector3::zeros();
    let mut n = 0usize;
    for p in points.iter().step_by(stride) {
        if plane.signed_distance(p).abs() <= threshold {
            sum += to_f64(p);
            n += 1;
        }
    }
    if n < 3 {
        return None;
    }
    let centroid = sum / n as f64;
    let mut cov = Matrix3::zeros();
    for p in points.iter().step_by(stride) {
        if plane.signed_distance(p).abs() <= threshold {
            let d = to_f64(p) - centroid;
            cov += d * d.transpose();
        }
    }
    let eig = SymmetricEigen::new(cov);
    let k = eig.eigenvalues.imin();
    let mut normal: Vector3<f64> = eig.eigenvectors.column(k).into_owned();
    if normal.dot(&plane.normal) < 0.0 {
        normal = -normal;
    }
    Some(Plane {
        normal,
        offset: -normal.dot(&centroid),
    })
}

/// What a point is, relative to the ground.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointLabel {
    /// On the ground.
    Ground,
    /// Above the ground: part of an obstacle.
    Obstacle,
    /// Below the ground by more than the tolerance: a bad return.
    Noise,
    /// Outside the ground model's range.
    Outside,
}

/// Settings of the polar grid ground model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroundGridParams {
    /// Radial length of a cell (m).
    pub ring_width: f64,
    /// Number of angular sectors in a full turn.
    pub sectors: usize,
    /// Points farther than this horizontally from the sensor are `Outside` (m).
    pub max_range: f64,
    /// Largest ground rise per metre between neighbouring cells (0.15 = 15 %).
    pub max_slope: f64,
    /// How far a cell's lowest point may stray from the ground beneath it, beyond the slope
    /// limit: range noise and the cell's own extent on a slope (m).
    pub height_tolerance: f64,
    /// Points more than this above the local ground are obstacles (m).
    pub obstacle_height: f64,
    /// Points more than this below the local ground are noise (m).
    pub noise_depth: f64,
    /// Expected height of the sensor above the ground beneath it (m).
    pub sensor_height: f64,
    /// How far the ground beneath the sensor may be from that expectation (m).
    pub seed_tolerance: f64,
    /// How far the grade of road seen level (gradient below this) may stray across cells
    /// without ground (rise per metre); on seen slopes `max_slope` applies. A roof lidar sees no road between
    /// its two lowest forward channels' hits (38 to 77 m for 32 channels); loosening by the
    /// full `max_slope` there took the single channel on a car's rear 50 m away for ground.
    pub unseen_grade_drift: f64,
}

impl GroundGridParams {
    /// Checks every field, naming the bad one.
    pub fn validate(&self) -> Result<(), GroundError> {
        positive("ring_width", self.ring_width)?;
        positive("sectors", self.sectors as f64)?;
        positive("max_range", self.max_range)?;
        non_negative("max_slope", self.max_slope)?;
        non_negative("height_tolerance", self.height_tolerance)?;
        positive("obstacle_height", self.obstacle_height)?;
        non_negative("noise_depth", self.noise_depth)?;
        non_negative("unseen_grade_drift", self.unseen_grade_drift)?;
        if !self.sensor_height.is_finite() {
            return Err(GroundError {
                name: "sensor_height",
                value: self.sensor_height,
                reason: "must be finite",
            });
        }
        non_negative("seed_tolerance", self.seed_tolerance)?;
        let cells = (self.max_range / self.ring_width).ceil() * self.sectors as f64;
        if cells > 16_000_000.0 {
            return Err(GroundError {
                name: "ring_width",
                value: self.ring_width,
                reason: "max_range / ring_width × sectors must stay below 16 million cells",
            });
        }
        Ok(())
    }
}

/// `atan2(y, x)` to within about 0.004 rad: plenty for binning, and several times cheaper.
fn fast_atan2(y: f32, x: f32) -> f32 {
    use std::f32::consts::{FRAC_PI_2, FRAC_PI_4, PI};
    let ax = x.abs();
    let ay = y.abs();
    let (lo, hi) = if ax > ay { (ay, ax) } else { (ax, ay) };
    if hi == 0.0 {
        return 0.0;
    }
    let z = lo / hi;
    let mut a = z * (FRAC_PI_4 + 0.273 * (1.0 - z));
    if ay > ax {
        a = FRAC_PI_2 - a;
    }
    if x < 0.0 {
        a = PI - a;
    }
    if y < 0.0 { -a } else { a }
}

/// The ground heights of one frame, queryable anywhere in range.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundModel {
    origin: [f64; 2],
    ring_width: f64,
    rings: usize,
    sectors: usize,
    heights: Vec<f32>,
}

impl GroundModel {
    fn cell(&self, x: f64, y: f64) -> Option<usize> {
        let dx = (x - self.origin[0]) as f32;
        let dy = (y - self.origin[1]) as f32;
        cell_index(
            dx,
            dy,
            (1.0 / self.ring_width) as f32,
            self.rings,
            self.sectors,
        )
    }

    /// Ground height at `(x, y)`, `None` outside the model.
    pub fn height_at(&self, x: f64, y: f64) -> Option<f64> {
        self.cell(x, y).map(|c| f64::from(self.heights[c]))
    }
}

/// Index of the polar cell at offset `(dx, dy)` from the sensor, ring-major. Takes the
/// inverse ring width: this runs once per point, and divisions are slow.
fn cell_index(
    dx: f32,
    dy: f32,
    inv_ring_width: f32,
    rings: usize,
    sectors: usize,
) -> Option<usize> {
    let ring = (dx * dx + dy * dy).sqrt() * inv_ring_width;
    if ring.is_nan() || ring >= rings as f32 {
        return None;
    }
    let turn = fast_atan2(dy, dx) * std::f32::consts::FRAC_1_PI * 0.5 + 0.5;
    let sector = ((turn * sectors as f32) as usize).min(sectors - 1);
    Some((ring as usize).min(rings - 1) * sectors + sector)
}

/// Weight of one cell's measured gradient in the running radial gradient: lowest points
/// scatter by centimetres over half-metre cells, so one cell alone would swing it by 10 %.
const GRADIENT_GAIN: f32 = 0.2;

/// Factor on the gradient per cell it is carried across unseen: a car's length of slope is
/// bridged, while the drift from a slightly wrong gradient stays bounded (at 20 cells' worth).
const GRADIENT_CARRY: f32 = 0.95;

/// What the ground propagation knows at one cell.
#[derive(Debug, Clone, Copy, Default)]
struct Track {
    /// Ground height (m).
    height: f32,
    /// Radial ground gradient (rise per metre outwards).
    gradient: f32,
    /// How far the true ground may be from `height` (m): grows across cells with no points,
    /// because the ground may keep sloping where it cannot be seen. Cells with only obstacle
    /// do not loosen it, or a kerb or platform would pass for a slope after a few cells; the
    /// shadow behind a real obstacle loosens it enough.
    slack: f32,
    /// Whether `height` comes from the cell's own points. A sector whose ground was lost
    /// behind an obstacle picks it up again from a neighbour that still sees it.
    seen: bool,
    /// The last seen ground height on the way here (m)...
    anchor: f32,
    /// ...and how many cells back it lies: a gradient measured across a gap is spread over it.
    since: f32,
    /// Whether ground was seen anywhere on the way out from the sensor. Before that (the
    /// blind circle around the sensor) the slope is unknown and the slack grows by the slope
    /// limit; after it, on level road, by `unseen_grade_drift`.
    anchored: bool,
    /// The slack as if it always grew by the slope limit: neighbours are chosen by it, so
    /// that a level track's tighter slack does not spread it across a slope's sectors.
    loose: f32,
}

/// The road ground model: lowest point per polar cell, heights propagated outwards from the
/// sensor with a bounded slope.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundGrid {
    params: GroundGridParams,
    rings: usize,
}

impl GroundGrid {
    /// A ground grid with validated parameters.
    pub fn new(params: GroundGridParams) -> Result<Self, GroundError> {
        params.validate()?;
        let rings = (params.max_range / params.ring_width).ceil() as usize;
        Ok(Self { params, rings })
    }

    /// The parameters.
    pub fn params(&self) -> &GroundGridParams {
        &self.params
    }

    /// Ground height per cell from the lowest point per cell, ring by ring outwards from
    /// `seed`, the expected ground height beneath the sensor.
    ///
    /// The ground is predicted from the cell before along the radial gradient seen so far. A
    /// cell's lowest point is its ground if it is within the tolerance of that prediction,
    /// plus the slope limit if the cell before saw its ground, plus the slack accumulated over
    /// empty cells. Otherwise the cell holds only obstacle (or a stray low return) and the
    /// prediction is carried on, so that the ground follows a slope underneath a car but
    /// never steps up onto a kerb.
    fn propagate(&self, lowest: &[f32], seed: f32) -> Vec<f32> {
        let p = &self.params;
        let sectors = p.sectors;
        let dr = p.ring_width as f32;
        let step = p.max_slope as f32 * dr;
        let tol = p.height_tolerance as f32;
        let max_gradient = p.max_slope as f32;
        let drift = p.unseen_grade_drift as f32;
        let mut heights = vec![0f32; lowest.len()];
        // Only the ring before is needed to predict a ring, so the state of two rings is
        // kept, small enough to stay in L1.
        let mut prev = vec![Track::default(); sectors];
        let mut next = vec![Track::default(); sectors];
        for ring in 0..self.rings {
            for s in 0..sectors {
                let from = if ring == 0 {
                    Track {
                        height: seed,
                        gradient: 0.0,
                        slack: p.seed_tolerance as f32,
                        seen: false,
                        anchor: seed,
                        since: 0.0,
                        anchored: false,
                        loose: p.seed_tolerance as f32,
                    }
                } else {
                    let mut best = &prev[s];
                    for c in [&prev[(s + sectors - 1) % sectors], &prev[(s + 1) % sectors]] {
                        if (!c.seen, c.loose) < (!best.seen, best.loose) {
                            best = c;
                        }
                    }
                    *best
                };
                let (anchor, gap) = if from.seen {
                    (from.height, 1.0)
                } else {
                    (from.anchor, from.since + 1.0)
                };
                let cell = ring * sectors + s;
                let low = lowest[cell];
                // Mean grade from the ground under the sensor out to the last seen ground.
                let level = |anchor: f32, anchor_ring: f32| {
                    (anchor - seed).abs() < drift * ((anchor_ring + 0.5) * dr).max(dr)
                };
                let carried = from.height + from.gradient * dr;
                // Next to seen ground the slope may change by the limit within one cell; past
                // unseen cells only by what their slack allows.
                let reach = if from.seen { step } else { 0.0 } + from.slack + tol;
                let unseen = Track {
                    height: carried,
                    gradient: from.gradient * GRADIENT_CARRY,
                    slack: from.slack,
                    seen: false,
                    anchor,
                    since: gap,
                    anchored: from.anchored,
                    loose: from.loose,
                };
                let track = if !low.is_finite() {
                    Track {
                        // Road seen level from the sensor out stays about level; on a seen
                        // slope the grade may change by the full limit.
                        slack: if from.anchored
                            && from.gradient.abs() < drift
                            && level(anchor, ring as f32 - gap)
                        {
                            from.slack + drift * dr
                        } else {
                            from.slack + step
                        },
                        loose: from.loose + step,
                        ..unseen
                    }
                } else if (low - carried).abs() > reach {
                    // Above: only obstacle. Below: a stray return, not a cliff.
                    unseen
                } else {
                    let measured = (low - anchor) / (gap * dr);
                    let g = from.gradient + GRADIENT_GAIN * (measured - from.gradient);
                    Track {
                        height: low,
                        gradient: g.clamp(-max_gradient, max_gradient),
                        slack: 0.0,
                        seen: true,
                        anchor: low,
                        since: 0.0,
                        anchored: true,
                        loose: 0.0,
                    }
                };
                heights[cell] = track.height;
                next[s] = track;
            }
            std::mem::swap(&mut prev, &mut next);
        }
        heights
    }

    /// Labels every point (into `labels`, resized to `points.len()`) and returns the ground
    /// heights; `origin` is the sensor position in the points' frame.
    pub fn classify(
        &self,
        points: &[Point3<f32>],
        origin: Point3<f64>,
        labels: &mut Vec<PointLabel>,
    ) -> GroundModel {
        self.classify_where(points, origin, labels, |_| true)
    }

    /// Like [`GroundGrid::classify`], but points failing `keep` are `Outside` and do not
    /// shape the ground; saves copying a region of interest out of a large cloud first.
    pub fn classify_where(
        &self,
        points: &[Point3<f32>],
        origin: Point3<f64>,
        labels: &mut Vec<PointLabel>,
        keep: impl Fn(&Point3<f32>) -> bool,
    ) -> GroundModel {
        let p = &self.params;
        let sectors = p.sectors;
        let ncells = self.rings * sectors;
        let inv_ring_width = (1.0 / p.ring_width) as f32;
        let (ox, oy) = (origin.x as f32, origin.y as f32);
        let mut lowest = vec![f32::INFINITY; ncells];
        let mut cell_of_point: Vec<u32> = Vec::with_capacity(points.len());
        for q in points {
            let cell = cell_index(q.x - ox, q.y - oy, inv_ring_width, self.rings, sectors);
            match cell {
                Some(c) if q.z.is_finite() && keep(q) => {
                    let low = &mut lowest[c];
                    *low = low.min(q.z);
                    cell_of_point.push(c as u32);
                }
                _ => cell_of_point.push(u32::MAX),
            }
        }

        let heights = self.propagate(&lowest, (origin.z - p.sensor_height) as f32);

        let above = p.obstacle_height as f32;
        let below = p.noise_depth as f32;
        labels.clear();
        labels.extend(points.iter().zip(&cell_of_point).map(|(q, &c)| {
            if c == u32::MAX {
                return PointLabel::Outside;
            }
            let g = heights[c as usize];
            if q.z < g - below {
                PointLabel::Noise
            } else if q.z <= g + above {
                PointLabel::Ground
            } else {
                PointLabel::Obstacle
            }
        }));
        GroundModel {
            origin: [origin.x, origin.y],
            ring_width: p.ring_width,
            rings: self.rings,
            sectors,
            heights,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic jitter in [-amp, amp] from an integer.
    fn jitter(i: u32, amp: f32) -> f32 {
        let h = i.wrapping_mul(2_654_435_761) >> 8;
        (h as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * amp
    }

    #[test]
    fn plane_fit_recovers_tilted_plane_with_outliers() {
        // z = 0.2 x − 0.1 y + 0.5, i.e. normal ∝ (−0.2, 0.1, 1).
        let mut pts = Vec::new();
        let mut i = 0u32;
        for a in 0..40 {
            for b in 0..40 {
                let x = -1.0 + a as f32 * 0.05;
                let y = -1.0 + b as f32 * 0.05;
                let z = 0.2 * x - 0.1 * y + 0.5 + jitter(i, 0.002);
                pts.push(Point3::new(x, y, z));
                i += 1;
            }
        }
        // 30 % outliers scattered above and below.
        for k in 0..700u32 {
            let x = jitter(k * 3 + 1, 1.0);
            let y = jitter(k * 3 + 2, 1.0);
            let z = 0.5 + jitter(k * 3 + 3, 1.5);
            pts.push(Point3::new(x, y, z));
        }
        let params = RansacParams {
            threshold: 0.01,
            max_iterations: 200,
            expected_normal: None,
            seed: 7,
            score_sample: 5000,
        };
        let fit = fit_plane(&pts, &params).unwrap();
        let expected = Vector3::new(-0.2, 0.1, 1.0).normalize();
        assert!(fit.plane.normal.dot(&expected) > (0.2f64.to_radians()).cos());
        assert!((fit.plane.height_at(0.0, 0.0).unwrap() - 0.5).abs() < 0.002);
        assert!((fit.plane.height_at(1.0, 1.0).unwrap() - 0.6).abs() < 0.003);
        assert!(fit.inliers >= 1600, "{}", fit.inliers);
        assert!(fit.inliers < 1600 + 40, "{}", fit.inliers);
    }

    #[test]
    fn plane_fit_honours_expected_normal() {
        // A dense wall x = 1 and a sparser floor z = 0: unconstrained RANSAC picks the wall.
        let mut pts = Vec::new();
        for a in 0..30 {
            for b in 0..30 {
                pts.push(Point3::new(1.0, a as f32 * 0.03, b as f32 * 0.03));
            }
        }
        for a in 0..20 {
            for b in 0..20 {
                pts.push(Point3::new(-a as f32 * 0.04, b as f32 * 0.04, 0.0));
            }
        }
        let mut params = RansacParams {
            threshold: 0.005,
            max_iterations: 100,
            expected_normal: None,
            seed: 1,
            score_sample: 10_000,
        };
        let wall = fit_plane(&pts, &params).unwrap();
        assert!(wall.plane.normal.x.abs() > 0.99);
        params.expected_normal = Some((Vector3::z(), 10f64.to_radians()));
        let floor = fit_plane(&pts, &params).unwrap();
        assert!(floor.plane.normal.z > 0.99);
        assert_eq!(floor.inliers, 400 + 30); // the wall's bottom row lies on the floor
    }

    #[test]
    fn fast_atan2_is_close() {
        for k in 0..720 {
            let a = (k as f32 * 0.5 - 179.75).to_radians();
            let (s, c) = a.sin_cos();
            assert!((fast_atan2(3.0 * s, 3.0 * c) - a).abs() < 0.005, "{a}");
        }
    }

    fn road_params() -> GroundGridParams {
        GroundGridParams {
            ring_width: 0.5,
            sectors: 360,
            max_range: 60.0,
            max_slope: 0.15,
            height_tolerance: 0.05,
            obstacle_height: 0.25,
            noise_depth: 0.3,
            sensor_height: 1.8,
            seed_tolerance: 0.3,
            unseen_grade_drift: 0.02,
        }
    }

    #[test]
    fn grid_keeps_a_slope_as_ground_and_a_box_on_it_as_obstacle() {
        let slope = |x: f32| 0.1 * x;
        let in_box = |x: f32, y: f32| (14.5..=15.5).contains(&x) && (-0.5..=0.5).contains(&y);
        let mut pts = Vec::new();
        let mut i = 0;
        // Lidar-like rings of ground on a 10 % slope rising along +x, 3 m to 40 m out.
        let mut r = 3.0f32;
        while r < 40.0 {
            for k in 0..720 {
                let a = (k as f32 * 0.5).to_radians();
                let (x, y) = (r * a.cos(), r * a.sin());
                if !in_box(x, y) {
                    pts.push(Point3::new(x, y, slope(x) + jitter(i, 0.02)));
                }
                i += 1;
            }
            r += 0.4;
        }
        let ground_count = pts.len();
        // A 1 m cube standing on the slope at x = 15: its sides and top.
        let mut box_pts = Vec::new();
        for a in 0..=20 {
            for b in 0..=20 {
                let u = -0.5 + a as f32 * 0.05;
                let h = b as f32 * 0.05;
                let x0 = 15.0 + u;
                box_pts.push(Point3::new(14.5, u, slope(14.5) + h));
                box_pts.push(Point3::new(x0, -0.5, slope(x0) + h));
                box_pts.push(Point3::new(x0, 0.5, slope(x0) + h));
                box_pts.push(Point3::new(x0, u + 0.025, slope(15.5) + 1.0));
            }
        }
        pts.extend(&box_pts);
        pts.push(Point3::new(10.0, 5.0, slope(10.0) - 1.0)); // a multipath return
        let grid = GroundGrid::new(road_params()).unwrap();
        // Sensor 1.8 m above the slope beneath it.
        let mut labels = Vec::new();
        let model = grid.classify(&pts, Point3::new(0.0, 0.0, 1.8), &mut labels);
        let ground_ok = labels[..ground_count]
            .iter()
            .filter(|&&l| l == PointLabel::Ground)
            .count();
        assert_eq!(ground_ok, ground_count);
        let box_labels = &labels[ground_count..ground_count + box_pts.len()];
        for (l, q) in box_labels.iter().zip(&box_pts) {
            let h = q.z - slope(q.x);
            if h > 0.3 {
                assert_eq!(*l, PointLabel::Obstacle, "{q:?}");
            }
        }
        assert_eq!(labels.last(), Some(&PointLabel::Noise));
        // The ground under the box is inferred from the slope, not from the box.
        let g = model.height_at(15.0, 0.0).unwrap();
        assert!((g - 1.5).abs() < 0.15, "{g}");
        assert!((model.height_at(-20.0, 3.0).unwrap() + 2.0).abs() < 0.1);

        // A model allowing only 2 % slope loses the road uphill: the test can tell.
        let mut flat = road_params();
        flat.max_slope = 0.02;
        GroundGrid::new(flat)
            .unwrap()
            .classify(&pts, Point3::new(0.0, 0.0, 1.8), &mut labels);
        let uphill_obstacles = pts[..ground_count]
            .iter()
            .zip(&labels)
            .filter(|(q, l)| q.x > 20.0 && **l == PointLabel::Obstacle)
            .count();
        assert!(uphill_obstacles > 1000, "{uphill_obstacles}");
    }

    #[test]
    fn grid_keeps_a_far_cars_single_channel_as_obstacle() {
        // A 32-channel lidar 1.8 m over a level road: its channels at -2.67° and -1.33° reach
        // the road at 38.6 m and 77.3 m, so nothing is seen in between but the -1.33° channel
        // on a car's rear 50 m ahead, 1.8 - 50 tan 1.33° = 0.64 m up.
        let mut pts = Vec::new();
        for k in 0..720 {
            let a = (k as f32 * 0.5).to_radians();
            for r in [3.0f32, 5.0, 8.0, 12.0, 20.0, 38.6] {
                pts.push(Point3::new(r * a.cos(), r * a.sin(), 0.0));
            }
        }
        let ground_count = pts.len();
        for k in -4..=4 {
            pts.push(Point3::new(50.0, k as f32 * 0.2, 0.64));
        }
        let grid = GroundGrid::new(road_params()).unwrap();
        let mut labels = Vec::new();
        grid.classify(&pts, Point3::new(0.0, 0.0, 1.8), &mut labels);
        assert!(
            labels[..ground_count]
                .iter()
                .all(|&l| l == PointLabel::Ground)
        );
        assert!(
            labels[ground_count..]
                .iter()
                .all(|&l| l == PointLabel::Obstacle),
            "{:?}",
            &labels[ground_count..]
        );
        // Loosening by the full 15 % slope across the 23 blind cells took it for ground.
        let mut loose = road_params();
        loose.unseen_grade_drift = loose.max_slope;
        GroundGrid::new(loose)
            .unwrap()
            .classify(&pts, Point3::new(0.0, 0.0, 1.8), &mut labels);
        assert!(
            labels[ground_count..]
                .iter()
                .all(|&l| l == PointLabel::Ground)
        );
    }

    #[test]
    fn grid_does_not_climb_a_kerb_or_platform() {
        // Flat road, and beyond y = 6 a raised surface: a 0.15 m kerb or a 0.4 m platform.
        for step in [0.15f32, 0.4] {
            let mut pts = Vec::new();
            let mut r = 3.0f32;
            let mut i = 0;
            while r < 30.0 {
                for k in 0..720 {
                    let a = (k as f32 * 0.5).to_radians();
                    let (x, y) = (r * a.cos(), r * a.sin());
                    let z = if y > 6.0 { step } else { 0.0 };
                    pts.push(Point3::new(x, y, z + jitter(i, 0.01)));
                    i += 1;
                }
                r += 0.4;
            }
            let grid = GroundGrid::new(road_params()).unwrap();
            let mut labels = Vec::new();
            let model = grid.classify(&pts, Point3::new(0.0, 0.0, 1.8), &mut labels);
            // The ground stays at road level behind the edge.
            for x in [-15.0, -5.0, 0.0, 5.0, 15.0] {
                let g = model.height_at(x, 12.0).unwrap();
                assert!(g.abs() < 0.05, "step {step}: ground {g} at ({x}, 12)");
            }
            // So a platform higher than the obstacle threshold is obstacle; a kerb is not.
            for (q, l) in pts.iter().zip(&labels) {
                let expected = if q.y > 6.0 && step > 0.25 {
                    PointLabel::Obstacle
                } else {
                    PointLabel::Ground
                };
                assert_eq!(*l, expected, "step {step}: {q:?}");
            }
        }
    }

    #[test]
    fn grid_rejects_bad_params() {
        let mut p = road_params();
        p.max_slope = -0.1;
        assert_eq!(GroundGrid::new(p).unwrap_err().name, "max_slope");
        let mut p = road_params();
        p.sectors = 0;
        assert_eq!(GroundGrid::new(p).unwrap_err().name, "sectors");
    }
}
