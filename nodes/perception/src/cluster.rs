//! Euclidean clustering: points closer than a tolerance (transitively) form one cluster.
//!
//! Points are bucketed into cubes of edge `tolerance / √3`, so that any two points in the same
//! cube are within the tolerance and a cube can be one union–find node. Only cube pairs whose
//! roots differ are compared point by point, and the comparison stops at the first close pair.

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
    /// Smallest cluster kept, in (weighted) points.
    pub min_points: usize,
    /// Largest cluster kept, in (weighted) points.
    pub max_points: usize,
}

impl ClusterParams {
    /// Checks every field, naming the bad one.
    pub fn validate(&self) -> Result<(), ClusterError> {
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(ClusterError {
                name: "tolerance",
                value: f64::from(self.tolerance),
                reason: "must be finite and greater than 0",
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

/// Neighbour cube offsets to visit: one of each ± pair, so every cube pair is seen once. With
/// cubes of edge `tol / √3`, cubes up to two apart on every axis can hold points within `tol`.
fn half_offsets() -> Vec<[i32; 3]> {
    let mut out = Vec::with_capacity(62);
    for dx in -2..=2 {
        for dy in -2..=2 {
            for dz in -2..=2 {
                if [dx, dy, dz] > [0, 0, 0] {
                    out.push([dx, dy, dz]);
                }
            }
        }
    }
    out
}

/// Clusters `points`; `weights`, if given, is how many sensor points each point stands for
/// (voxel counts) and is what the size limits apply to. Clusters come in order of their
/// first point.
pub fn euclidean_clusters(
    points: &[Point3<f32>],
    weights: Option<&[u32]>,
    params: &ClusterParams,
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
    let tol2 = params.tolerance * params.tolerance;
    // Tight bounds per cube: most cube pairs that are not connected are told apart by their
    // bounds alone, without the quadratic point-pair scan.
    let bounds: Vec<Aabb> = (0..index.len())
        .map(|c| Aabb::of(points, index.members(c)))
        .collect();
    let mut sets = UnionFind::new(index.len());
    let offsets = half_offsets();
    // Flattened (2D) clouds occupy a single layer of cubes: skipping the offsets that leave
    // the occupied layers saves most hash lookups.
    let (zlo, zhi) = (0..index.len())
        .map(|c| index.cell_coords(c)[2])
        .fold((i32::MAX, i32::MIN), |(lo, hi), z| (lo.min(z), hi.max(z)));
    for a in 0..index.len() {
        let ca = index.cell_coords(a);
        for off in &offsets {
            if !(zlo..=zhi).contains(&(ca[2] + off[2])) {
                continue;
            }
            let Some(b) = index.cell_at([ca[0] + off[0], ca[1] + off[1], ca[2] + off[2]]) else {
                continue;
            };
            if bounds[a].distance2(&bounds[b]) > tol2 || sets.find(a as u32) == sets.find(b as u32)
            {
                continue;
            }
            let (mb, bb) = (index.members(b), &bounds[b]);
            let close = index.members(a).iter().any(|&i| {
                let p = points[i as usize];
                bb.distance2_to(&p) <= tol2
                    && mb
                        .iter()
                        .any(|&j| (points[j as usize] - p).norm_squared() <= tol2)
            });
            if close {
                sets.union(a as u32, b as u32);
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
            min_points: 1,
            max_points: 1_000_000,
        }
    }

    #[test]
    fn separates_two_boxes_one_metre_apart() {
        let mut pts = box_surface([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], 0.1);
        let first = pts.len();
        pts.extend(box_surface([2.0, 0.0, 0.0], [3.0, 1.0, 1.0], 0.1));
        let c = euclidean_clusters(&pts, None, &params(0.5)).unwrap();
        assert_eq!(c.len(), 2);
        let mut a: Vec<u32> = c.members(0).to_vec();
        a.sort_unstable();
        assert_eq!(a, (0..first as u32).collect::<Vec<_>>());
        assert_eq!(c.members(1).len(), pts.len() - first);
        // With a tolerance beyond the gap they merge.
        let c = euclidean_clusters(&pts, None, &params(1.01)).unwrap();
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
        let c = euclidean_clusters(&pts, None, &params(0.3)).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.members(0).len(), 10);
        assert_eq!(c.members(1), &[10]);
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
            min_points: 3,
            max_points: 10,
        };
        let c = euclidean_clusters(&pts, Some(&[1, 1, 4]), &p).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.members(0), &[2]);
        assert_eq!(c.weight(0), 4);
        let c = euclidean_clusters(&pts, Some(&[2, 2, 40]), &p).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.weight(0), 4);
        assert!(euclidean_clusters(&pts, Some(&[1]), &p).is_err());
    }

    #[test]
    fn rejects_bad_params() {
        let e = euclidean_clusters(&[], None, &params(0.0)).unwrap_err();
        assert_eq!(e.name, "tolerance");
        let p = ClusterParams {
            tolerance: 0.1,
            min_points: 5,
            max_points: 4,
        };
        assert_eq!(p.validate().unwrap_err().name, "max_points");
    }
}
