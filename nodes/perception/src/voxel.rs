//! Voxel grids: centroid downsampling and a cell index for neighbour search.
//!
//! Voxels are keyed by their integer coordinates packed into one `u64`, hashed with a cheap
//! multiplicative hash: the keys are not adversarial, and SipHash would cost more than the
//! rest of a downsampling pass.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use nalgebra::Point3;
use thiserror::Error;

/// Bits per packed voxel coordinate; coordinates must lie in `[-2^20, 2^20)`.
const COORD_BITS: u32 = 21;
/// Offset that makes a signed coordinate non-negative before packing.
const COORD_OFFSET: i64 = 1 << (COORD_BITS - 1);
/// Mask of one packed coordinate.
const COORD_MASK: u64 = (1 << COORD_BITS) - 1;

/// Invalid voxel grid geometry.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum VoxelError {
    /// The voxel edge length is not finite and positive.
    #[error("voxel size {0} must be finite and greater than 0")]
    InvalidSize(f32),
}

/// Hasher for packed voxel keys (Fibonacci hashing; good high bits for hashbrown's tags).
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = (self.0 ^ key ^ (key >> 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Hash map keyed by packed voxel coordinates.
pub type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

/// An empty [`KeyMap`] with room for `capacity` keys.
pub fn key_map<V>(capacity: usize) -> KeyMap<V> {
    HashMap::with_capacity_and_hasher(capacity, BuildHasherDefault::default())
}

/// Packs integer voxel coordinates into one key, `None` if one is out of range.
pub fn pack(c: [i32; 3]) -> Option<u64> {
    let mut key = 0u64;
    for v in c {
        let shifted = i64::from(v) + COORD_OFFSET;
        if !(0..(1 << COORD_BITS)).contains(&shifted) {
            return None;
        }
        key = (key << COORD_BITS) | (shifted as u64 & COORD_MASK);
    }
    Some(key)
}

/// A regular grid of cubic voxels with one corner at the origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoxelGrid {
    size: f32,
    inv_size: f32,
}

/// Centroids of the occupied voxels and how many input points each one stands for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Downsampled {
    /// One centroid per occupied voxel, in order of first occurrence.
    pub points: Vec<Point3<f32>>,
    /// Input points per centroid.
    pub counts: Vec<u32>,
    /// Input points skipped because they were non-finite or beyond the packable range.
    pub skipped: usize,
}

/// Points bucketed by voxel: the neighbour-search structure for clustering.
#[derive(Debug, Clone, Default)]
pub struct VoxelIndex {
    cell_of_key: KeyMap<u32>,
    coords: Vec<[i32; 3]>,
    starts: Vec<u32>,
    members: Vec<u32>,
}

impl VoxelGrid {
    /// A grid of voxels with edge `size` (m).
    pub fn new(size: f32) -> Result<Self, VoxelError> {
        if !(size.is_finite() && size > 0.0) {
            return Err(VoxelError::InvalidSize(size));
        }
        Ok(Self {
            size,
            inv_size: 1.0 / size,
        })
    }

    /// Edge length of a voxel (m).
    pub fn size(&self) -> f32 {
        self.size
    }

    /// Integer coordinates of the voxel holding `p`, `None` if `p` is non-finite or too far out.
    pub fn coords(&self, p: &Point3<f32>) -> Option<[i32; 3]> {
        let mut c = [0i32; 3];
        for (out, v) in c.iter_mut().zip([p.x, p.y, p.z]) {
            let f = (v * self.inv_size).floor();
            // Also rejects NaN, for which every comparison is false.
            if !(f >= -(COORD_OFFSET as f32) && f < COORD_OFFSET as f32) {
                return None;
            }
            *out = f as i32;
        }
        Some(c)
    }

    /// Packed key of the voxel holding `p`.
    pub fn key(&self, p: &Point3<f32>) -> Option<u64> {
        self.coords(p).and_then(pack)
    }

    /// Replaces the points of each occupied voxel by their centroid.
    pub fn downsample(&self, points: &[Point3<f32>]) -> Downsampled {
        // Heuristic capacity: clouds are mostly surfaces, so far fewer voxels than points.
        let mut slot_of_key: KeyMap<u32> = key_map(points.len() / 4 + 16);
        let mut sums: Vec<[f64; 3]> = Vec::with_capacity(points.len() / 4 + 16);
        let mut counts: Vec<u32> = Vec::with_capacity(points.len() / 4 + 16);
        let mut skipped = 0;
        for p in points {
            let Some(key) = self.key(p) else {
                skipped += 1;
                continue;
            };
            let next = sums.len() as u32;
            let slot = *slot_of_key.entry(key).or_insert(next) as usize;
            if slot == sums.len() {
                sums.push([0.0; 3]);
                counts.push(0);
            }
            let s = &mut sums[slot];
            s[0] += f64::from(p.x);
            s[1] += f64::from(p.y);
            s[2] += f64::from(p.z);
            counts[slot] += 1;
        }
        let points = sums
            .iter()
            .zip(&counts)
            .map(|(s, &n)| {
                let n = f64::from(n);
                Point3::new((s[0] / n) as f32, (s[1] / n) as f32, (s[2] / n) as f32)
            })
            .collect();
        Downsampled {
            points,
            counts,
            skipped,
        }
    }

    /// Buckets `points` by voxel; points that cannot be keyed are left out.
    pub fn index(&self, points: &[Point3<f32>]) -> VoxelIndex {
        let mut cell_of_key: KeyMap<u32> = key_map(points.len() / 2 + 16);
        let mut coords: Vec<[i32; 3]> = Vec::new();
        let mut counts: Vec<u32> = Vec::new();
        // Cell per point, u32::MAX for unkeyable points; saves hashing twice.
        let mut cell_of_point: Vec<u32> = Vec::with_capacity(points.len());
        for p in points {
            let cell = match self.coords(p).and_then(|c| pack(c).map(|k| (c, k))) {
                Some((c, key)) => {
                    let next = coords.len() as u32;
                    let cell = *cell_of_key.entry(key).or_insert(next);
                    if cell == next {
                        coords.push(c);
                        counts.push(0);
                    }
                    counts[cell as usize] += 1;
                    cell
                }
                None => u32::MAX,
            };
            cell_of_point.push(cell);
        }
        // Counting sort of point indices by cell (CSR layout): no per-cell allocation.
        let mut starts = Vec::with_capacity(coords.len() + 1);
        let mut total = 0u32;
        starts.push(0);
        for &n in &counts {
            total += n;
            starts.push(total);
        }
        let mut fill: Vec<u32> = starts[..coords.len()].to_vec();
        let mut members = vec![0u32; total as usize];
        for (i, &cell) in cell_of_point.iter().enumerate() {
            if cell != u32::MAX {
                let at = &mut fill[cell as usize];
                members[*at as usize] = i as u32;
                *at += 1;
            }
        }
        VoxelIndex {
            cell_of_key,
            coords,
            starts,
            members,
        }
    }
}

impl VoxelIndex {
    /// Number of occupied cells.
    pub fn len(&self) -> usize {
        self.coords.len()
    }

    /// Whether no cell is occupied.
    pub fn is_empty(&self) -> bool {
        self.coords.is_empty()
    }

    /// Integer coordinates of cell `cell`.
    pub fn cell_coords(&self, cell: usize) -> [i32; 3] {
        self.coords[cell]
    }

    /// The occupied cell at integer coordinates `c`, if any.
    pub fn cell_at(&self, c: [i32; 3]) -> Option<usize> {
        pack(c).and_then(|k| self.cell_of_key.get(&k).map(|&i| i as usize))
    }

    /// Indices (into the indexed point slice) of the points in cell `cell`.
    pub fn members(&self, cell: usize) -> &[u32] {
        &self.members[self.starts[cell] as usize..self.starts[cell + 1] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_sizes() {
        assert!(VoxelGrid::new(0.0).is_err());
        assert!(VoxelGrid::new(-1.0).is_err());
        assert!(VoxelGrid::new(f32::NAN).is_err());
    }

    #[test]
    fn centroid_per_voxel() {
        let grid = VoxelGrid::new(1.0).unwrap();
        let pts = [
            Point3::new(0.2, 0.2, 0.2),
            Point3::new(0.4, 0.6, 0.8),
            Point3::new(-0.5, 0.5, 0.5),
            Point3::new(f32::NAN, 0.0, 0.0),
            Point3::new(1e9, 0.0, 0.0),
        ];
        let d = grid.downsample(&pts);
        assert_eq!(d.points.len(), 2);
        assert_eq!(d.counts, vec![2, 1]);
        assert_eq!(d.skipped, 2);
        assert!((d.points[0] - Point3::new(0.3, 0.4, 0.5)).norm() < 1e-6);
        assert!((d.points[1] - Point3::new(-0.5, 0.5, 0.5)).norm() < 1e-6);
    }

    #[test]
    fn index_buckets_points() {
        let grid = VoxelGrid::new(0.5).unwrap();
        let pts = [
            Point3::new(0.1, 0.1, 0.1),
            Point3::new(0.9, 0.1, 0.1),
            Point3::new(0.2, 0.3, 0.4),
            Point3::new(-0.1, 0.1, 0.1),
        ];
        let idx = grid.index(&pts);
        assert_eq!(idx.len(), 3);
        let c0 = idx.cell_at([0, 0, 0]).unwrap();
        assert_eq!(idx.members(c0), &[0, 2]);
        assert_eq!(idx.members(idx.cell_at([1, 0, 0]).unwrap()), &[1]);
        assert_eq!(idx.members(idx.cell_at([-1, 0, 0]).unwrap()), &[3]);
        assert_eq!(idx.cell_coords(c0), [0, 0, 0]);
        assert!(idx.cell_at([5, 5, 5]).is_none());
    }

    #[test]
    fn pack_is_injective_at_the_limits() {
        let lo = -(1 << 20);
        let hi = (1 << 20) - 1;
        assert_ne!(pack([lo, 0, 0]), pack([hi, 0, 0]));
        assert_ne!(pack([0, lo, hi]), pack([0, hi, lo]));
        assert!(pack([hi + 1, 0, 0]).is_none());
    }
}
