//! Voxel grids: centroid downsampling and a cell index for neighbour search.
//!
//! Downsampling radix-sorts the points by voxel, which reads and writes memory in order;
//! the neighbour index hashes voxel coordinates packed into one `u64` with a short integer
//! mixer (the keys are not adversarial, and SipHash would cost more than the lookups).

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

/// Hasher for packed voxel keys. hashbrown takes the bucket from the low bits and a tag from
/// the high ones, so both must depend on all three coordinates; a single multiply leaves
/// the low bits blind to x and y.
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
        // MurmurHash3's 64-bit finaliser: every output bit depends on every key bit.
        let mut h = self.0 ^ key;
        h = (h ^ (h >> 33)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h = (h ^ (h >> 33)).wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        self.0 = h ^ (h >> 33);
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
    /// One centroid per occupied voxel, in voxel order (x, then y, then z).
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
            let f = v * self.inv_size;
            // Also rejects NaN, for which every comparison is false.
            if !(f >= -(COORD_OFFSET as f32) && f < COORD_OFFSET as f32) {
                return None;
            }
            // Floor by hand: without SSE4.1, `f32::floor` is a libm call per coordinate.
            let t = f as i32;
            *out = if (t as f32) > f { t - 1 } else { t };
        }
        Some(c)
    }

    /// Packed key of the voxel holding `p`.
    pub fn key(&self, p: &Point3<f32>) -> Option<u64> {
        self.coords(p).and_then(pack)
    }

    /// Point indices grouped by voxel, voxels in key order. Sorting with a radix sort on
    /// keys packed to the cloud's extent touches memory in order; hashing every point into a
    /// table larger than the cache costs a miss per point.
    fn sort_by_voxel(&self, points: &[Point3<f32>]) -> ByVoxel {
        let mut lo = [i32::MAX; 3];
        let mut hi = [i32::MIN; 3];
        let mut valid = 0usize;
        for p in points {
            if let Some(c) = self.coords(p) {
                for k in 0..3 {
                    lo[k] = lo[k].min(c[k]);
                    hi[k] = hi[k].max(c[k]);
                }
                valid += 1;
            }
        }
        let skipped = points.len() - valid;
        if valid == 0 {
            return ByVoxel {
                order: Vec::new(),
                starts: vec![0],
                coords: Vec::new(),
                skipped,
            };
        }
        // Each span is below 2^21, so the packed key stays below 2^63.
        let span = [0, 1, 2].map(|k| (i64::from(hi[k]) - i64::from(lo[k]) + 1) as u64);
        let mut keys: Vec<u64> = Vec::with_capacity(valid);
        let mut order: Vec<u32> = Vec::with_capacity(valid);
        for (i, p) in points.iter().enumerate() {
            if let Some(c) = self.coords(p) {
                let d = [0, 1, 2].map(|k| (i64::from(c[k]) - i64::from(lo[k])) as u64);
                keys.push((d[0] * span[1] + d[1]) * span[2] + d[2]);
                order.push(i as u32);
            }
        }
        let max_key = span[0] * span[1] * span[2] - 1;
        radix_sort(&mut keys, &mut order, 64 - max_key.leading_zeros());
        let mut starts = Vec::new();
        let mut coords = Vec::new();
        for (j, &key) in keys.iter().enumerate() {
            if j == 0 || key != keys[j - 1] {
                starts.push(j as u32);
                let z = key % span[2];
                let y = (key / span[2]) % span[1];
                let x = key / (span[2] * span[1]);
                coords.push([lo[0] + x as i32, lo[1] + y as i32, lo[2] + z as i32]);
            }
        }
        starts.push(keys.len() as u32);
        ByVoxel {
            order,
            starts,
            coords,
            skipped,
        }
    }

    /// Replaces the points of each occupied voxel by their centroid.
    pub fn downsample(&self, points: &[Point3<f32>]) -> Downsampled {
        let by = self.sort_by_voxel(points);
        let cells = by.coords.len();
        let mut out = Vec::with_capacity(cells);
        let mut counts = Vec::with_capacity(cells);
        for w in by.starts.windows(2) {
            let members = &by.order[w[0] as usize..w[1] as usize];
            let mut s = [0f64; 3];
            for &i in members {
                let p = points[i as usize];
                s[0] += f64::from(p.x);
                s[1] += f64::from(p.y);
                s[2] += f64::from(p.z);
            }
            let n = members.len() as f64;
            out.push(Point3::new(
                (s[0] / n) as f32,
                (s[1] / n) as f32,
                (s[2] / n) as f32,
            ));
            counts.push(members.len() as u32);
        }
        Downsampled {
            points: out,
            counts,
            skipped: by.skipped,
        }
    }

    /// Buckets `points` by voxel; points that cannot be keyed are left out.
    pub fn index(&self, points: &[Point3<f32>]) -> VoxelIndex {
        let mut cell_of_key: KeyMap<u32> = key_map(points.len());
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

/// Point indices sorted by voxel.
struct ByVoxel {
    /// Indices of the keyable points, grouped by voxel.
    order: Vec<u32>,
    /// Start of each voxel's group in `order`, plus the end.
    starts: Vec<u32>,
    /// Integer coordinates of each voxel.
    coords: Vec<[i32; 3]>,
    /// Points that could not be keyed.
    skipped: usize,
}

/// Bits per radix-sort pass: a 2048-entry histogram stays in L1.
const RADIX_BITS: u32 = 11;

/// Sorts `keys` (and `values` alongside) by their low `bits` bits, stably, least significant
/// digit first.
fn radix_sort(keys: &mut Vec<u64>, values: &mut Vec<u32>, bits: u32) {
    let n = keys.len();
    let mut keys2 = vec![0u64; n];
    let mut values2 = vec![0u32; n];
    let mask = (1u64 << RADIX_BITS) - 1;
    let mut shift = 0;
    while shift < bits {
        let mut offsets = [0u32; 1 << RADIX_BITS];
        for &k in keys.iter() {
            offsets[((k >> shift) & mask) as usize] += 1;
        }
        let mut total = 0;
        for o in offsets.iter_mut() {
            let c = *o;
            *o = total;
            total += c;
        }
        for (&k, &v) in keys.iter().zip(values.iter()) {
            let d = ((k >> shift) & mask) as usize;
            let at = offsets[d] as usize;
            keys2[at] = k;
            values2[at] = v;
            offsets[d] += 1;
        }
        std::mem::swap(keys, &mut keys2);
        std::mem::swap(values, &mut values2);
        shift += RADIX_BITS;
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
        // Voxels come in key order: x first.
        assert_eq!(d.points.len(), 2);
        assert_eq!(d.counts, vec![1, 2]);
        assert_eq!(d.skipped, 2);
        assert!((d.points[0] - Point3::new(-0.5, 0.5, 0.5)).norm() < 1e-6);
        assert!((d.points[1] - Point3::new(0.3, 0.4, 0.5)).norm() < 1e-6);
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
