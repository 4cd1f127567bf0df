//! Optimal one-to-one assignment (Kuhn–Munkres / Hungarian, O(n²·m)) with forbidden pairs.
//!
//! Gating is expressed as forbidden pairs (infinite or NaN cost). The solver returns, among
//! all matchings that use only allowed pairs, one with the most pairs and, among those, the
//! least total cost: a track that can be matched is matched, and then as cheaply as possible.

use thiserror::Error;

/// Cost that marks a pair as forbidden (outside the gate).
pub const FORBIDDEN: f64 = f64::INFINITY;

/// Errors building a cost matrix.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AssignmentError {
    /// A row has a different length than the first row.
    #[error("cost matrix row {row} has {found} entries, expected {expected}")]
    Ragged {
        /// Index of the offending row.
        row: usize,
        /// Length of the first row.
        expected: usize,
        /// Length of the offending row.
        found: usize,
    },
}

/// Dense rectangular cost matrix, row-major; non-finite entries are forbidden pairs.
#[derive(Clone, Debug, PartialEq)]
pub struct CostMatrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl CostMatrix {
    /// A `rows × cols` matrix with every pair forbidden.
    pub fn new(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            data: vec![FORBIDDEN; rows * cols],
        }
    }

    /// Builds a matrix from rows of equal length.
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Self, AssignmentError> {
        let cols = rows.first().map_or(0, Vec::len);
        let mut m = Self::new(rows.len(), cols);
        for (r, row) in rows.iter().enumerate() {
            if row.len() != cols {
                return Err(AssignmentError::Ragged {
                    row: r,
                    expected: cols,
                    found: row.len(),
                });
            }
            for (c, &v) in row.iter().enumerate() {
                m.set(r, c, v);
            }
        }
        Ok(m)
    }

    /// Number of rows (e.g. tracks).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (e.g. detections).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Cost of a pair; `None` if forbidden or out of range.
    pub fn get(&self, row: usize, col: usize) -> Option<f64> {
        if row >= self.rows || col >= self.cols {
            return None;
        }
        let v = self.data[row * self.cols + col];
        v.is_finite().then_some(v)
    }

    /// Sets the cost of a pair; a non-finite cost forbids it; out-of-range indices are ignored.
    pub fn set(&mut self, row: usize, col: usize, cost: f64) {
        if row < self.rows && col < self.cols {
            // NaN must never reach the solver's comparisons, so it is folded into "forbidden".
            self.data[row * self.cols + col] = if cost.is_finite() { cost } else { FORBIDDEN };
        }
    }
}

/// Result of [`solve`]: matched `(row, col)` pairs sorted by row, and their summed cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// Matched pairs, sorted by row.
    pub pairs: Vec<(usize, usize)>,
    /// Sum of the costs of the matched pairs.
    pub total_cost: f64,
}

impl Assignment {
    /// For each row, the matched column if any.
    pub fn row_to_col(&self, rows: usize) -> Vec<Option<usize>> {
        let mut out = vec![None; rows];
        for &(r, c) in &self.pairs {
            if let Some(slot) = out.get_mut(r) {
                *slot = Some(c);
            }
        }
        out
    }

    /// For each column, the matched row if any.
    pub fn col_to_row(&self, cols: usize) -> Vec<Option<usize>> {
        let mut out = vec![None; cols];
        for &(r, c) in &self.pairs {
            if let Some(slot) = out.get_mut(c) {
                *slot = Some(r);
            }
        }
        out
    }
}

/// Solves the gated assignment problem: maximum number of allowed pairs, then minimum cost.
pub fn solve(costs: &CostMatrix) -> Assignment {
    let (n, m) = (costs.rows, costs.cols);
    let allowed = || costs.data.iter().copied().filter(|v| v.is_finite());
    let Some(cmin) = allowed().reduce(f64::min) else {
        return Assignment {
            pairs: Vec::new(),
            total_cost: 0.0,
        };
    };
    let cmax = allowed().reduce(f64::max).unwrap_or(cmin);
    // Normalising allowed costs to [0, 1] lets a forbidden pair cost more than any k allowed
    // pairs together (k = min(n, m)), which turns "max cardinality, then min cost" into a plain
    // min-cost problem without big-M precision trouble.
    // Halves keep the span finite even for costs near ±f64::MAX.
    let half_span = if cmax > cmin {
        cmax / 2.0 - cmin / 2.0
    } else {
        1.0
    };
    let k = n.min(m);
    let big = k as f64 + 1.0;
    let norm = |r: usize, c: usize| -> f64 {
        let v = costs.data[r * m + c];
        if v.is_finite() {
            (v / 2.0 - cmin / 2.0) / half_span
        } else {
            big
        }
    };
    // The core below needs rows ≤ cols; transpose otherwise.
    let transposed = n > m;
    let (nr, nc) = if transposed { (m, n) } else { (n, m) };
    let a = |i: usize, j: usize| if transposed { norm(j, i) } else { norm(i, j) };
    let matched_cols = hungarian_rows_le_cols(nr, nc, a);
    let mut pairs = Vec::with_capacity(k);
    for (j, &i) in matched_cols.iter().enumerate() {
        let Some(i) = i else { continue };
        let (r, c) = if transposed { (j, i) } else { (i, j) };
        if costs.data[r * m + c].is_finite() {
            pairs.push((r, c));
        }
    }
    pairs.sort_unstable();
    let total_cost = pairs.iter().map(|&(r, c)| costs.data[r * m + c]).sum();
    Assignment { pairs, total_cost }
}

/// Shortest-augmenting-path Hungarian method with potentials; every row gets a column.
/// Returns, for each column, the row assigned to it.
fn hungarian_rows_le_cols(
    n: usize,
    m: usize,
    a: impl Fn(usize, usize) -> f64,
) -> Vec<Option<usize>> {
    // Index 0 is a virtual column/row that roots each augmenting search (1-based inside).
    let mut u = vec![0.0_f64; n + 1];
    let mut v = vec![0.0_f64; m + 1];
    let mut p = vec![0_usize; m + 1];
    let mut way = vec![0_usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0_usize;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0_usize;
            for j in 1..=m {
                if used[j] {
                    continue;
                }
                let cur = a(i0 - 1, j - 1) - u[i0] - v[j];
                if cur < minv[j] {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if minv[j] < delta {
                    delta = minv[j];
                    j1 = j;
                }
            }
            if j1 == 0 {
                // Only reachable with non-finite costs, which the caller never passes; leave
                // this row unmatched rather than loop forever or augment a broken path.
                j0 = 0;
                break;
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        while j0 != 0 {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        }
    }
    p.iter()
        .skip(1)
        .map(|&i| if i == 0 { None } else { Some(i - 1) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small deterministic generator (SplitMix64), enough for test matrices.
    struct Rng(u64);
    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn unit(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Best (max pairs, then min cost) over all partial matchings, by exhaustive search.
    fn brute_force(c: &CostMatrix) -> (usize, f64) {
        fn rec(
            c: &CostMatrix,
            row: usize,
            used: &mut Vec<bool>,
            count: usize,
            cost: f64,
            best: &mut (usize, f64),
        ) {
            if row == c.rows() {
                if count > best.0 || (count == best.0 && cost < best.1) {
                    *best = (count, cost);
                }
                return;
            }
            rec(c, row + 1, used, count, cost, best);
            for col in 0..c.cols() {
                if let (false, Some(v)) = (used[col], c.get(row, col)) {
                    used[col] = true;
                    rec(c, row + 1, used, count + 1, cost + v, best);
                    used[col] = false;
                }
            }
        }
        let mut best = (0, f64::INFINITY);
        rec(c, 0, &mut vec![false; c.cols()], 0, 0.0, &mut best);
        if best.0 == 0 {
            best.1 = 0.0;
        }
        best
    }

    #[test]
    fn textbook_square_matrix() {
        // Classic 3×3 example: optimum is (0,1) + (1,0) + (2,2) = 1 + 2 + 2 = 5.
        let c = CostMatrix::from_rows(&[
            vec![4.0, 1.0, 3.0],
            vec![2.0, 0.0, 5.0],
            vec![3.0, 2.0, 2.0],
        ])
        .unwrap();
        let a = solve(&c);
        assert_eq!(a.pairs, vec![(0, 1), (1, 0), (2, 2)]);
        assert_eq!(a.total_cost, 5.0);
    }

    #[test]
    fn forbidden_pairs_are_never_used_and_cardinality_comes_first() {
        // Row 0 prefers col 0 (cost 0) but then row 1 would be unmatched; the solver must
        // match both: (0,1) + (1,0) = 10 + 10.
        let f = FORBIDDEN;
        let c = CostMatrix::from_rows(&[vec![0.0, 10.0], vec![10.0, f]]).unwrap();
        let a = solve(&c);
        assert_eq!(a.pairs, vec![(0, 1), (1, 0)]);
        assert_eq!(a.total_cost, 20.0);
        // A row whose pairs are all forbidden stays unmatched; NaN counts as forbidden.
        let c = CostMatrix::from_rows(&[vec![f64::NAN, f], vec![1.0, 2.0]]).unwrap();
        assert_eq!(solve(&c).pairs, vec![(1, 0)]);
    }

    #[test]
    fn extreme_costs_still_assign() {
        let c = CostMatrix::from_rows(&[vec![1e308, -1e308], vec![-1e308, 1e308]]).unwrap();
        assert_eq!(solve(&c).pairs, vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn empty_and_ragged_inputs() {
        assert!(solve(&CostMatrix::new(0, 3)).pairs.is_empty());
        assert!(solve(&CostMatrix::new(3, 0)).pairs.is_empty());
        assert!(solve(&CostMatrix::new(2, 2)).pairs.is_empty());
        assert_eq!(
            CostMatrix::from_rows(&[vec![1.0], vec![1.0, 2.0]]),
            Err(AssignmentError::Ragged {
                row: 1,
                expected: 1,
                found: 2
            })
        );
    }

    #[test]
    fn matches_brute_force_on_random_rectangular_matrices() {
        let mut rng = Rng(0x5EED);
        for trial in 0..2000 {
            let rows = 1 + (rng.next_u64() % 5) as usize;
            let cols = 1 + (rng.next_u64() % 5) as usize;
            let forbid_p = [0.0, 0.3, 0.7][trial % 3];
            let mut c = CostMatrix::new(rows, cols);
            for r in 0..rows {
                for col in 0..cols {
                    if rng.unit() >= forbid_p {
                        // Integer-ish costs make ties common, which exercises tie handling;
                        // negative costs are allowed too.
                        c.set(r, col, (rng.unit() * 20.0).floor() - 5.0);
                    }
                }
            }
            let a = solve(&c);
            let (count, cost) = brute_force(&c);
            assert_eq!(a.pairs.len(), count, "trial {trial}: {c:?}");
            assert!(
                (a.total_cost - cost).abs() < 1e-9,
                "trial {trial}: {} vs {cost}",
                a.total_cost
            );
            let mut seen_cols = vec![false; cols];
            for &(r, col) in &a.pairs {
                assert!(c.get(r, col).is_some(), "forbidden pair used");
                assert!(!seen_cols[col], "column used twice");
                seen_cols[col] = true;
            }
        }
    }
}
