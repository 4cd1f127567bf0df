//! Euclidean clustering: points closer than a tolerance (transitively) form one cluster.
//!
//! Points are bucketed into cubes of edge `tolerance / √3`, so that any two points in the same
//! cube are within the tolerance and a cube can be one union–find node. Only cube pairs whose
//! roots differ are compared point by point, and the comparison stops at the first close pair.
//!
//! With a tolerance stretched along the line of sight, an object seen just past another one's
//! edge (a child stepping out behind a parked car's corner) lies within reach of it. Such a
//! pair is told apart from a side seen at a grazing angle by the range profile over azimuth
//! (the nearest return per lidar column): along a surface, however oblique, the range changes
//! by similar steps from column to column; past an occluding edge it jumps once. Stretched joins
//! across such a jump are refused ([`DepthJumpParams`]), a range-image segmentation criterion
//! in the spirit of Bogoslavskyi & Stachniss (2016) that compares the jump with the neighbouring
//! steps instead of using a fixed angle, which would split cars seen at grazing angles.

use nalgebra::Point3;
use thiserror::Error;

use crate::voxel::{VoxelError, VoxelGrid};

/// Invalid clustering parameter.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("cluster parameter `{name}` = {value} is invalid: {reason}")]
pub struct ClusterError {
    /// Name of the parameter.
    pub name: &'static str,
    /// The rejected value.
    pub value: f64,
    /// What the value must satisfy.
    pub reason: &'static str,
}

/// Clustering settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterParams {
    /// Points closer than this belong to the same cluster (m).
    pub tolerance: f32,
    /// Extra tolerance along the line of sight per metre of horizontal range from the
    /// sensor (m/m); 0 for plain Euclidean clustering. A lidar's rings spread out radially
    /// with range, so a far object's returns lie farther apart along the line of sight than
    /// across it, where neighbouring objects must stay apart.
    pub radial_growth: f32,
    /// Cap on the tolerance along the line of sight (m): it bounds the neighbour search.
    pub max_radial: f32,
    /// Refuse joins stretched along the line of sight across depth jumps; `None` keeps
    /// every join (and nothing is refused without `radial_growth`).
    pub depth_jumps: Option<DepthJumpParams>,
    /// Smallest cluster kept, in (weighted) points.
    pub min_points: usize,
    /// Largest cluster kept, in (weighted) points.
    pub max_points: usize,
}

/// How depth jumps between neighbouring lidar columns are found.
///
/// Points are grouped into columns by azimuth around the sensor; each column's nearest
/// horizontal range makes the range profile. Between two neighbouring columns (within the
/// tolerance of each other across the line of sight) the profile has a depth jump when the
/// range changes by more than the tolerance (smaller changes are joined by the tolerance
/// alone) and by more than `ratio` times the step from the farther column on to its next
/// neighbour: a convex object shows its faces in order of range, head-on first, then ever more
/// oblique sides, so along it the steps do not shrink outwards. A pair of points farther apart
/// than the tolerance, in columns on either side of a jump and one in front of it, the other
/// beyond it, is not joined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthJumpParams {
    /// Azimuth gap that starts a new column (rad): below the lidar's azimuth step, above the
    /// azimuth spread of one column's returns.
    pub column_gap: f32,
    /// How many times the next step beyond it a range change must exceed to be a jump. Along
    /// a flat side seen at grazing angle β the steps grow by a factor of about 1 + 2α/tan β
    /// per column of azimuth step α (at most 1.2 where the stretched tolerance still joins
    /// them), so 3 leaves a wide margin for range noise and a missed return.
    pub ratio: f32,
}

impl DepthJumpParams {
    /// Defaults for a spinning lidar with an azimuth step of 0.16–0.2° (HDL-32E at 10 Hz):
    /// columns split at 0.08°, jumps three times the neighbouring steps.
    pub fn lidar() -> Self {
        Self {
            column_gap: 0.08f32.to_radians(),
            ratio: 3.0,
        }
    }
}

impl ClusterParams {
    /// Checks every field, naming the bad one.
    pub fn validate(&self) -> Result<(), ClusterError> {
        if let Some(j) = &self.depth_jumps {
            if !(j.column_gap.is_finite() && j.column_gap > 0.0 && j.column_gap < 0.1) {
                return Err(ClusterError {
                    name: "depth_jumps.column_gap",
                    value: f64::from(j.column_gap),
                    reason: "must be finite, greater than 0 and below 0.1 rad",
                });
            }
            if !(j.ratio.is_finite() && j.ratio >= 1.0) {
                return Err(ClusterError {
                    name: "depth_jumps.ratio",
                    value: f64::from(j.ratio),
                    reason: "must be finite and at least 1",
                });
            }
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(ClusterError {
                name: "tolerance",
                value: f64::from(self.tolerance),
                reason: "must be finite and greater than 0",
            });
        }
        if !(self.radial_growth.is_finite() && self.radial_growth >= 0.0) {
            return Err(ClusterError {
                name: "radial_growth",
                value: f64::from(self.radial_growth),
                reason: "must be finite and at least 0",
            });
        }
        if !(self.max_radial.is_finite() && self.max_radial >= self.tolerance) {
            return Err(ClusterError {
                name: "max_radial",
                value: f64::from(self.max_radial),
                reason: "must be finite and at least tolerance",
            });
        }
        if self.min_points == 0 {
            return Err(ClusterError {
                name: "min_points",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        if self.max_points < self.min_points {
            return Err(ClusterError {
                name: "max_points",
                value: self.max_points as f64,
                reason: "must be at least min_points",
            });
        }
        Ok(())
    }
}

/// Clusters as lists of point indices, stored back to back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clusters {
    members: Vec<u32>,
    starts: Vec<u32>,
    weights: Vec<usize>,
}

impl Clusters {
    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether there is no cluster.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Indices of the points of cluster `k`.
    pub fn members(&self, k: usize) -> &[u32] {
        &self.members[self.starts[k] as usize..self.starts[k + 1] as usize]
    }

    /// Weighted size of cluster `k` (its point count when unweighted).
    pub fn weight(&self, k: usize) -> usize {
        self.weights[k]
    }

    /// Iterates over the member lists.
    pub fn iter(&self) -> impl Iterator<Item = &[u32]> {
        (0..self.len()).map(|k| self.members(k))
    }
}

/// Disjoint sets with path halving and union by size.
struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
    }
}

/// The closeness test: a tolerance ellipse stretched along the line of sight.
struct Reach {
    tolerance: f32,
    growth: f32,
    max_radial: f32,
    /// Per point: horizontal range from the sensor and the unit line of sight (x, y).
    sight: Vec<[f32; 3]>,
    /// Depth jumps in the range profile, when stretched joins across them are refused.
    jumps: Option<Jumps>,
}

/// The depth jumps of one cloud's range profile (see [`DepthJumpParams`]).
struct Jumps {
    /// Per point: its column, numbered by azimuth from −π.
    column: Vec<u32>,
    /// Per column c: how many jumps lie between neighbours k, k + 1 for k < c.
    before: Vec<u32>,
    /// Per jump, in column order (the one between the last column and the first last): the
    /// range halfway between its near and its far side.
    middle: Vec<f32>,
}

impl Jumps {
    /// Columns and jumps of `points` seen from `sensor`.
    fn find(
        points: &[Point3<f32>],
        sensor: Point3<f32>,
        tolerance: f32,
        p: &DepthJumpParams,
    ) -> Self {
        let polar: Vec<[f32; 2]> = points
            .iter()
            .map(|q| {
                let (dx, dy) = (q.x - sensor.x, q.y - sensor.y);
                [dy.atan2(dx), (dx * dx + dy * dy).sqrt()]
            })
            .collect();
        let mut order: Vec<u32> = (0..points.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| polar[a as usize][0].total_cmp(&polar[b as usize][0]));
        // Per column: mean azimuth (to measure the gap across the line of sight) and the
        // nearest range.
        let mut column = vec![0u32; points.len()];
        let mut azimuth: Vec<f32> = Vec::new();
        let mut near: Vec<f32> = Vec::new();
        let (mut sum, mut n, mut last) = (0.0f32, 0u32, f32::NEG_INFINITY);
        for &i in &order {
            let [a, r] = polar[i as usize];
            if near.is_empty() || a - last > p.column_gap {
                if n > 0 {
                    azimuth.push(sum / n as f32);
                }
                near.push(r);
                (sum, n) = (0.0, 0);
            }
            let c = near.len() - 1;
            near[c] = near[c].min(r);
            sum += a;
            n += 1;
            last = a;
            column[i as usize] = c as u32;
        }
        if n > 0 {
            azimuth.push(sum / n as f32);
        }
        let cols = near.len();
        // The range step from column c to c + 1 if they are neighbours on one surface (close
        // enough across the line of sight to be joined), else none. The profile wraps around.
        let step = |c: usize| -> Option<f32> {
            if cols < 2 {
                return None;
            }
            let d = (c + 1) % cols;
            let mut gap = (azimuth[d] - azimuth[c]).abs();
            if gap > std::f32::consts::PI {
                gap = std::f32::consts::TAU - gap;
            }
            (near[c].min(near[d]) * gap <= tolerance).then(|| (near[d] - near[c]).abs())
        };
        let mut before = Vec::with_capacity(cols);
        let mut middle = Vec::new();
        let mut count = 0u32;
        for c in 0..cols {
            before.push(count);
            let Some(jump) = step(c) else {
                continue;
            };
            // The step beyond the farther column.
            let (left, right) = (step((c + cols - 1) % cols), step((c + 1) % cols));
            let far = if near[(c + 1) % cols] > near[c] {
                right
            } else {
                left
            };
            // A convex object seen from outside shows its faces in order of range: a face
            // seen head-on, then sides ever more oblique, so the steps beyond a step along it
            // are no smaller. A step followed by much smaller ones is a surface farther away
            // past an occluding edge. A step that nothing follows (the last return of a side,
            // or a lone return beyond a corner) gives no such evidence and stays joined.
            if let Some(far) = far
                && cols >= 3
                && jump > tolerance
                && jump > p.ratio * far
            {
                middle.push(0.5 * (near[c] + near[(c + 1) % cols]));
                count += 1;
            }
        }
        Self {
            column,
            before,
            middle,
        }
    }

    /// Whether points `i` and `j`, at horizontal ranges `ri` and `rj`, lie on either side of
    /// a jump between their columns (the short way round): one in front of it, one beyond.
    /// Two points both beyond it (a wall on either side of a pole in front) may still join.
    fn between(&self, i: u32, ri: f32, j: u32, rj: f32) -> bool {
        let (a, b) = (self.column[i as usize], self.column[j as usize]);
        let (lo, hi) = (a.min(b) as usize, a.max(b) as usize);
        let (first, last) = (self.before[lo] as usize, self.before[hi] as usize);
        let (r0, r1) = (ri.min(rj), ri.max(rj));
        let straddled = |m: &f32| r0 < *m && *m < r1;
        // Points within reach of each other lie a small angle apart: the long way round only
        // when the pair straddles −π.
        if hi - lo <= self.before.len() / 2 {
            self.middle[first..last].iter().any(straddled)
        } else {
            self.middle[last..]
                .iter()
                .chain(&self.middle[..first])
                .any(straddled)
        }
    }
}

impl Reach {
    fn new(points: &[Point3<f32>], params: &ClusterParams, sensor: Point3<f32>) -> Self {
        let sight = if params.radial_growth > 0.0 {
            points
                .iter()
                .map(|p| {
                    let (dx, dy) = (p.x - sensor.x, p.y - sensor.y);
                    let r = (dx * dx + dy * dy).sqrt();
                    if r > 0.0 {
                        [r, dx / r, dy / r]
                    } else {
                        [0.0, 1.0, 0.0]
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        // Without a stretched tolerance every join is within the tolerance: nothing to refuse.
        let jumps = params
            .depth_jumps
            .filter(|_| params.radial_growth > 0.0)
            .map(|j| Jumps::find(points, sensor, params.tolerance, &j));
        Self {
            tolerance: params.tolerance,
            growth: params.radial_growth,
            max_radial: params.max_radial,
            sight,
            jumps,
        }
    }

    /// Tolerance along the line of sight at point `i`, the longest axis of its ellipse.
    fn radial(&self, i: u32) -> f32 {
        match self.sight.get(i as usize) {
            Some(s) => self
                .tolerance
                .max((self.growth * s[0]).min(self.max_radial)),
            None => self.tolerance,
        }
    }

    /// Range and line of sight of point `i`, if the tolerance is stretched.
    fn sight_of(&self, i: u32) -> Option<[f32; 3]> {
        self.sight.get(i as usize).copied()
    }

    /// Whether a cube `offset` cubes away from one seen along `sight` can hold points within
    /// reach: the stretched ellipse is narrow across the line of sight, so most cubes of its
    /// bounding square are out.
    fn may_reach(&self, sight: Option<[f32; 3]>, offset: [i32; 3], edge: f32) -> bool {
        let Some([r, ux, uy]) = sight else {
            return true;
        };
        let v = offset.map(|d| d as f32 * edge);
        let along = (v[0] * ux + v[1] * uy).abs();
        let across = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2] - along * along)
            .max(0.0)
            .sqrt();
        // Points anywhere in the two cubes: their offset differs from the cubes' by up to
        // one cube diagonal, and the far cube may be farther out.
        let slack = edge * 3f32.sqrt();
        let radial = self
            .tolerance
            .max((self.growth * (r + along + slack)).min(self.max_radial));
        along - slack <= radial && across - slack <= self.tolerance
    }

    /// Whether boxes `a` and `b` come within the tolerance across the line of sight of `a`
    /// (or anywhere, when the tolerance is not stretched). The distance test on the boxes
    /// uses the long axis of the ellipse and lets through many pairs that this one stops.
    fn boxes_may_touch(&self, sight: Option<[f32; 3]>, a: &Aabb, b: &Aabb) -> bool {
        let Some([_, ux, uy]) = sight else {
            return true;
        };
        let across = [-uy, ux];
        let (a0, a1) = a.project(across);
        let (b0, b1) = b.project(across);
        (b0 - a1).max(a0 - b1) <= self.tolerance
            && (b.min[2] - a.max[2]).max(a.min[2] - b.max[2]) <= self.tolerance
    }

    /// Whether point `p` comes within the tolerance of box `b` across the line of sight.
    fn point_may_touch(&self, sight: Option<[f32; 3]>, p: &Point3<f32>, b: &Aabb) -> bool {
        let Some([_, ux, uy]) = sight else {
            return true;
        };
        let across = [-uy, ux];
        let x = p.x * across[0] + p.y * across[1];
        let (b0, b1) = b.project(across);
        (b0 - x).max(x - b1) <= self.tolerance
    }

    /// Whether point `j` (= `q`) is within the tolerance ellipse around point `i` (= `p`)
    /// and, if only the stretch along the line of sight reaches it, no depth jump lies
    /// between them.
    fn close(&self, i: u32, p: &Point3<f32>, j: u32, q: &Point3<f32>) -> bool {
        let d = q - p;
        let t2 = self.tolerance * self.tolerance;
        let Some(&[r, ux, uy]) = self.sight.get(i as usize) else {
            return d.norm_squared() <= t2;
        };
        let radial = self.tolerance.max((self.growth * r).min(self.max_radial));
        let along = d.x * ux + d.y * uy;
        let across2 = (d.norm_squared() - along * along).max(0.0);
        along * along / (radial * radial) + across2 / t2 <= 1.0
            && (d.norm_squared() <= t2
                || !self.jumps.as_ref().is_some_and(|k| {
                    k.between(i, r, j, self.sight.get(j as usize).map_or(r, |s| s[0]))
                }))
    }
}

/// Axis-aligned bounds of a set of points.
struct Aabb {
    min: [f32; 3],
    max: [f32; 3],
}

impl Aabb {
    /// Bounds of `points[members]`.
    fn of(points: &[Point3<f32>], members: &[u32]) -> Self {
        let mut b = Aabb {
            min: [f32::INFINITY; 3],
            max: [f32::NEG_INFINITY; 3],
        };
        for &i in members {
            let p = points[i as usize];
            for k in 0..3 {
                b.min[k] = b.min[k].min(p[k]);
                b.max[k] = b.max[k].max(p[k]);
            }
        }
        b
    }

    /// Interval of the box's projections on the horizontal unit direction `n`.
    fn project(&self, n: [f32; 2]) -> (f32, f32) {
        let centre =
            0.5 * ((self.min[0] + self.max[0]) * n[0] + (self.min[1] + self.max[1]) * n[1]);
        let half = 0.5
            * ((self.max[0] - self.min[0]) * n[0].abs() + (self.max[1] - self.min[1]) * n[1].abs());
        (centre - half, centre + half)
    }

    /// Squared distance between the boxes (0 if they overlap).
    fn distance2(&self, o: &Aabb) -> f32 {
        (0..3)
            .map(|k| {
                let gap = (o.min[k] - self.max[k])
                    .max(self.min[k] - o.max[k])
                    .max(0.0);
                gap * gap
            })
            .sum()
    }

    /// Squared distance from `p` to the box (0 inside).
    fn distance2_to(&self, p: &Point3<f32>) -> f32 {
        (0..3)
            .map(|k| {
                let gap = (self.min[k] - p[k]).max(p[k] - self.max[k]).max(0.0);
                gap * gap
            })
            .sum()
    }
}

/// Clusters `points`; `weights`, if given, is how many sensor points each point stands for
/// (voxel counts) and is what the size limits apply to; `sensor` is where the sensor is,
/// for [`ClusterParams::radial_growth`]. Clusters come in order of their first cube.
pub fn euclidean_clusters(
    points: &[Point3<f32>],
    weights: Option<&[u32]>,
    params: &ClusterParams,
    sensor: Point3<f32>,
) -> Result<Clusters, ClusterError> {
    params.validate()?;
    if u32::try_from(points.len()).is_err() {
        return Err(ClusterError {
            name: "points",
            value: points.len() as f64,
            reason: "at most 2^32 − 1 points can be clustered",
        });
    }
    if let Some(w) = weights
        && w.len() != points.len()
    {
        return Err(ClusterError {
            name: "weights",
            value: w.len() as f64,
            reason: "must have one entry per point",
        });
    }
    // A hair under tol/√3 so rounding cannot put two points of one cube beyond the tolerance.
    let edge = params.tolerance / 3f32.sqrt() * 0.999;
    let grid = VoxelGrid::new(edge).map_err(|VoxelError::InvalidSize(v)| ClusterError {
        name: "tolerance",
        value: f64::from(v),
        reason: "gives an invalid cube size",
    })?;
    let index = grid.index(points);
    let reach = Reach::new(points, params, sensor);
    // Tight bounds per cube: most cube pairs that are not connected are told apart by their
    // bounds alone, without the quadratic point-pair scan.
    let bounds: Vec<Aabb> = (0..index.len())
        .map(|c| Aabb::of(points, index.members(c)))
        .collect();
    let mut sets = UnionFind::new(index.len());
    // Flattened (2D) clouds occupy a single layer of cubes: skipping the offsets that leave
    // the occupied layers saves most hash lookups.
    let (zlo, zhi) = (0..index.len())
        .map(|c| index.cell_coords(c)[2])
        .fold((i32::MAX, i32::MIN), |(lo, hi), z| (lo.min(z), hi.max(z)));
    for a in 0..index.len() {
        let ca = index.cell_coords(a);
        let ma = index.members(a);
        let far = ma.iter().map(|&i| reach.radial(i)).fold(0.0, f32::max);
        let a_sight = reach.sight_of(ma[0]);
        let far2 = far * far;
        // Cubes up to this many away can hold points within reach.
        let r = (far / edge).ceil() as i32;
        for dx in -r..=r {
            for dy in -r..=r {
                for dz in (-r).max(zlo - ca[2])..=r.min(zhi - ca[2]) {
                    // One of each ± pair of offsets, so every cube pair is seen once.
                    if [dx, dy, dz] <= [0, 0, 0] {
                        continue;
                    }
                    let gap = |d: i32| ((d.abs() - 1).max(0) as f32 * edge).powi(2);
                    if gap(dx) + gap(dy) + gap(dz) > far2
                        || !reach.may_reach(a_sight, [dx, dy, dz], edge)
                    {
                        continue;
                    }
                    let Some(b) = index.cell_at([ca[0] + dx, ca[1] + dy, ca[2] + dz]) else {
                        continue;
                    };
                    if bounds[a].distance2(&bounds[b]) > far2
                        || !reach.boxes_may_touch(a_sight, &bounds[a], &bounds[b])
                        || sets.find(a as u32) == sets.find(b as u32)
                    {
                        continue;
                    }
                    let (mb, bb) = (index.members(b), &bounds[b]);
                    let close = ma.iter().any(|&i| {
                        let p = points[i as usize];
                        let radial = reach.radial(i);
                        bb.distance2_to(&p) <= radial * radial
                            && reach.point_may_touch(a_sight, &p, bb)
                            && mb
                                .iter()
                                .any(|&j| reach.close(i, &p, j, &points[j as usize]))
                    });
                    if close {
                        sets.union(a as u32, b as u32);
                    }
                }
            }
        }
    }

    // Number the roots in order of first cube, which follows the order of first points.
    let mut cluster_of_root = vec![u32::MAX; index.len()];
    let mut weight_of: Vec<usize> = Vec::new();
    let mut cluster_of_cell = Vec::with_capacity(index.len());
    for cell in 0..index.len() {
        let root = sets.find(cell as u32) as usize;
        if cluster_of_root[root] == u32::MAX {
            cluster_of_root[root] = weight_of.len() as u32;
            weight_of.push(0);
        }
        let k = cluster_of_root[root];
        cluster_of_cell.push(k);
        weight_of[k as usize] += index
            .members(cell)
            .iter()
            .map(|&i| weights.map_or(1, |w| w[i as usize] as usize))
            .sum::<usize>();
    }
    // Keep the clusters within the size limits, renumbered densely.
    let mut kept_id = vec![u32::MAX; weight_of.len()];
    let mut out_weights = Vec::new();
    for (k, &w) in weight_of.iter().enumerate() {
        if (params.min_points..=params.max_points).contains(&w) {
            kept_id[k] = out_weights.len() as u32;
            out_weights.push(w);
        }
    }
    let mut counts = vec![0u32; out_weights.len()];
    for (cell, &k) in cluster_of_cell.iter().enumerate() {
        let id = kept_id[k as usize];
        if id != u32::MAX {
            counts[id as usize] += index.members(cell).len() as u32;
        }
    }
    let mut starts = Vec::with_capacity(counts.len() + 1);
    starts.push(0u32);
    for &n in &counts {
        starts.push(starts[starts.len() - 1] + n);
    }
    let mut fill = starts[..counts.len()].to_vec();
    let mut members = vec![0u32; *starts.last().unwrap_or(&0) as usize];
    for (cell, &k) in cluster_of_cell.iter().enumerate() {
        let id = kept_id[k as usize];
        if id != u32::MAX {
            let at = fill[id as usize] as usize;
            let m = index.members(cell);
            members[at..at + m.len()].copy_from_slice(m);
            fill[id as usize] += m.len() as u32;
        }
    }
    Ok(Clusters {
        members,
        starts,
        weights: out_weights,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Vector3;

    /// Points on the faces of an axis-aligned box, `step` apart.
    fn box_surface(min: [f32; 3], max: [f32; 3], step: f32) -> Vec<Point3<f32>> {
        let mut pts = Vec::new();
        let n = |a: f32, b: f32| ((b - a) / step).round() as i32;
        for i in 0..=n(min[0], max[0]) {
            for j in 0..=n(min[1], max[1]) {
                for k in 0..=n(min[2], max[2]) {
                    let on_face = i == 0
                        || j == 0
                        || k == 0
                        || i == n(min[0], max[0])
                        || j == n(min[1], max[1])
                        || k == n(min[2], max[2]);
                    if on_face {
                        pts.push(Point3::new(
                            min[0] + i as f32 * step,
                            min[1] + j as f32 * step,
                            min[2] + k as f32 * step,
                        ));
                    }
                }
            }
        }
        pts
    }

    fn params(tolerance: f32) -> ClusterParams {
        ClusterParams {
            tolerance,
            radial_growth: 0.0,
            max_radial: 5.0,
            depth_jumps: None,
            min_points: 1,
            max_points: 1_000_000,
        }
    }

    #[test]
    fn separates_two_boxes_one_metre_apart() {
        let mut pts = box_surface([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], 0.1);
        let first = pts.len();
        pts.extend(box_surface([2.0, 0.0, 0.0], [3.0, 1.0, 1.0], 0.1));
        let c = euclidean_clusters(&pts, None, &params(0.5), Point3::origin()).unwrap();
        assert_eq!(c.len(), 2);
        let mut a: Vec<u32> = c.members(0).to_vec();
        a.sort_unstable();
        assert_eq!(a, (0..first as u32).collect::<Vec<_>>());
        assert_eq!(c.members(1).len(), pts.len() - first);
        // With a tolerance beyond the gap they merge.
        let c = euclidean_clusters(&pts, None, &params(1.01), Point3::origin()).unwrap();
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn joins_points_within_tolerance_and_not_beyond() {
        // A chain of points 0.29 apart along a diagonal, then a jump of 0.31.
        let d = Vector3::new(1.0f32, 1.0, 1.0).normalize();
        let mut pts: Vec<Point3<f32>> = (0..10)
            .map(|i| Point3::from(d * (0.29 * i as f32)))
            .collect();
        pts.push(Point3::from(d * (0.29 * 9.0 + 0.31)));
        let c = euclidean_clusters(&pts, None, &params(0.3), Point3::origin()).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.members(0).len(), 10);
        assert_eq!(c.members(1), &[10]);
    }

    #[test]
    fn radial_growth_stretches_along_the_line_of_sight_only() {
        // At 20 m, 1.2 m apart along the line of sight, and 1.2 m apart across it.
        let pts = [
            Point3::new(20.0, 0.0, 0.0),
            Point3::new(21.2, 0.0, 0.0),
            Point3::new(0.0, 20.0, 0.0),
            Point3::new(1.2, 20.0, 0.0),
        ];
        let p = ClusterParams {
            tolerance: 0.5,
            radial_growth: 0.1,
            max_radial: 5.0,
            depth_jumps: None,
            min_points: 1,
            max_points: 10,
        };
        let c = euclidean_clusters(&pts, None, &p, Point3::origin()).unwrap();
        let mut sizes: Vec<usize> = c.iter().map(<[u32]>::len).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, vec![1, 1, 2]);
        // Seen from 30 m along y = 20, the second pair lies along the line of sight too.
        let c = euclidean_clusters(&pts, None, &p, Point3::new(-30.0, 20.0, 0.0)).unwrap();
        assert!(c.iter().any(|m| m.contains(&2) && m.contains(&3)));
        assert_eq!(
            euclidean_clusters(&pts, None, &params(0.5), Point3::origin())
                .unwrap()
                .len(),
            4
        );
    }

    /// One return per lidar column, 0.2° apart from azimuth 0, at the given ranges.
    fn profile(ranges: &[f32]) -> Vec<Point3<f32>> {
        ranges
            .iter()
            .enumerate()
            .map(|(k, &r)| {
                let a = (0.2 * k as f32).to_radians();
                Point3::new(r * a.cos(), r * a.sin(), 0.0)
            })
            .collect()
    }

    /// Sorted cluster sizes of `ranges` with the road's stretched tolerance, with and without the
    /// depth-jump test.
    fn sizes(ranges: &[f32]) -> (Vec<usize>, Vec<usize>) {
        let pts = profile(ranges);
        let mut p = ClusterParams {
            tolerance: 0.5,
            radial_growth: 0.1,
            max_radial: 1.6,
            depth_jumps: Some(DepthJumpParams::lidar()),
            min_points: 1,
            max_points: 100,
        };
        let run = |p: &ClusterParams| {
            let c = euclidean_clusters(&pts, None, p, Point3::origin()).unwrap();
            let mut sizes: Vec<usize> = c.iter().map(<[u32]>::len).collect();
            sizes.sort_unstable();
            sizes
        };
        let with = run(&p);
        p.depth_jumps = None;
        (with, run(&p))
    }

    #[test]
    fn depth_jumps_split_a_surface_past_an_edge_only() {
        // A side at a grazing angle (0.3 m steps), then 1.0 m farther a surface seen head-on:
        // the stretched tolerance (1.15 m at 11.5 m) reaches across, the jump test does not.
        let side = [10.0, 10.3, 10.6, 10.9, 11.2, 11.5];
        let behind = [side.as_slice(), &[12.5, 12.5, 12.51, 12.5]].concat();
        assert_eq!(sizes(&behind), (vec![4, 6], vec![10]));
        // A side ever more oblique: its steps grow, none stands out.
        let grazing = [10.0, 10.3, 10.65, 11.05, 11.5, 12.0, 12.6, 13.3];
        assert_eq!(sizes(&grazing), (vec![8], vec![8]));
        // A rear seen head-on, then the side: the first 0.6 m step is followed by larger ones.
        let corner = [10.0, 10.0, 10.01, 10.0, 10.6, 11.25, 11.95];
        assert_eq!(sizes(&corner), (vec![7], vec![7]));
        // A lone return past the corner: nothing beyond it tells a side from another object.
        let lone = [10.0, 10.0, 10.01, 10.0, 10.8];
        assert_eq!(sizes(&lone), (vec![5], vec![5]));
        // A pole 10 m away in front of a wall seen at a grazing angle (0.6 m steps): both its
        // edges are jumps, but the wall's returns on either side lie beyond both and still join.
        let wall = [20.0, 20.6, 21.2, 10.0, 22.4, 23.0];
        assert_eq!(sizes(&wall), (vec![1, 5], vec![1, 5]));
    }

    #[test]
    fn size_limits_use_weights() {
        let pts = [
            Point3::new(0.0, 0.0, 0.0),
            Point3::new(0.1, 0.0, 0.0),
            Point3::new(5.0, 0.0, 0.0),
        ];
        let p = ClusterParams {
            tolerance: 0.2,
            radial_growth: 0.0,
            max_radial: 5.0,
            depth_jumps: None,
            min_points: 3,
            max_points: 10,
        };
        let c = euclidean_clusters(&pts, Some(&[1, 1, 4]), &p, Point3::origin()).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.members(0), &[2]);
        assert_eq!(c.weight(0), 4);
        let c = euclidean_clusters(&pts, Some(&[2, 2, 40]), &p, Point3::origin()).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.weight(0), 4);
        assert!(euclidean_clusters(&pts, Some(&[1]), &p, Point3::origin()).is_err());
    }

    #[test]
    fn rejects_bad_params() {
        let e = euclidean_clusters(&[], None, &params(0.0), Point3::origin()).unwrap_err();
        assert_eq!(e.name, "tolerance");
        let p = ClusterParams {
            tolerance: 0.1,
            radial_growth: 0.0,
            max_radial: 5.0,
            depth_jumps: None,
            min_points: 5,
            max_points: 4,
        };
        assert_eq!(p.validate().unwrap_err().name, "max_points");
        let mut p = params(0.5);
        p.depth_jumps = Some(DepthJumpParams {
            column_gap: 0.0,
            ratio: 3.0,
        });
        assert_eq!(p.validate().unwrap_err().name, "depth_jumps.column_gap");
        p.depth_jumps = Some(DepthJumpParams {
            column_gap: 0.001,
            ratio: f32::NAN,
        });
        assert_eq!(p.validate().unwrap_err().name, "depth_jumps.ratio");
    }
}
