//! A reference line from a lane's centre polyline: Frenet projection (s along, d to the left),
//! the inverse, heading and curvature.

use crate::types::{PlanError, finite};

/// A point in Frenet coordinates of a reference line.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Frenet {
    /// Arc length along the line (m).
    pub s: f64,
    /// Signed lateral offset, positive to the left (m).
    pub d: f64,
}

/// Side of the square cells of the projection grid (m).
const CELL: f64 = 10.0;
/// Rings of cells searched before falling back to scanning every segment.
const MAX_RINGS: i32 = 20;

/// The cells at Chebyshev distance `ring` around (cx, cy).
fn ring_cells(cx: i32, cy: i32, ring: i32) -> impl Iterator<Item = (i32, i32)> {
    (-ring..=ring).flat_map(move |k| {
        let edges = [
            (cx + k, cy - ring),
            (cx + k, cy + ring),
            (cx - ring, cy + k),
            (cx + ring, cy + k),
        ];
        // Corners appear on two edges; ring 0 is the centre cell only.
        let n = if ring == 0 {
            1
        } else if k == -ring || k == ring {
            2
        } else {
            4
        };
        edges.into_iter().take(n)
    })
}

/// A polyline reference line, extended along its end tangents so every point projects.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceLine {
    pts: Vec<(f64, f64)>,
    s: Vec<f64>,
    seg_heading: Vec<f64>,
    // Unit tangent per segment, kept because projection runs for every object every cycle.
    seg_dir: Vec<(f64, f64)>,
    vertex_heading: Vec<f64>,
    vertex_curvature: Vec<f64>,
    // Segments by grid cell of their bounding box: projection costs a few cells, not the
    // whole line, which matters for kilometre-long lane maps.
    grid: std::collections::HashMap<(i32, i32), Vec<u32>>,
}

/// Wraps an angle into (−π, π].
pub fn wrap_angle(a: f64) -> f64 {
    let w = a.sin().atan2(a.cos());
    if w <= -std::f64::consts::PI {
        w + std::f64::consts::TAU
    } else {
        w
    }
}

impl ReferenceLine {
    /// Builds the line; points closer than 1 mm to their predecessor are dropped.
    pub fn new(points: &[(f64, f64)]) -> Result<Self, PlanError> {
        let mut pts: Vec<(f64, f64)> = Vec::with_capacity(points.len());
        for &(x, y) in points {
            finite("centre line x", x)?;
            finite("centre line y", y)?;
            if let Some(&(px, py)) = pts.last()
                && (x - px).hypot(y - py) < 1e-3
            {
                continue;
            }
            pts.push((x, y));
        }
        if pts.len() < 2 {
            return Err(PlanError::InvalidValue {
                what: "centre line points",
                value: pts.len() as f64,
            });
        }
        let n = pts.len();
        let mut s = Vec::with_capacity(n);
        let mut seg_heading = Vec::with_capacity(n - 1);
        s.push(0.0);
        for w in pts.windows(2) {
            let (dx, dy) = (w[1].0 - w[0].0, w[1].1 - w[0].1);
            s.push(s[s.len() - 1] + dx.hypot(dy));
            seg_heading.push(dy.atan2(dx));
        }
        let mut vertex_heading = Vec::with_capacity(n);
        let mut vertex_curvature = Vec::with_capacity(n);
        for i in 0..n {
            if i == 0 || i == n - 1 {
                vertex_heading.push(seg_heading[i.min(n - 2)]);
                vertex_curvature.push(0.0);
                continue;
            }
            let turn = wrap_angle(seg_heading[i] - seg_heading[i - 1]);
            vertex_heading.push(seg_heading[i - 1] + 0.5 * turn);
            vertex_curvature.push(turn / (0.5 * (s[i + 1] - s[i - 1])));
        }
        // The end vertices copy their neighbours so an arc keeps its curvature to the end.
        if n > 2 {
            vertex_curvature[0] = vertex_curvature[1];
            vertex_curvature[n - 1] = vertex_curvature[n - 2];
        }
        let seg_dir = seg_heading.iter().map(|h| (h.cos(), h.sin())).collect();
        let mut grid: std::collections::HashMap<(i32, i32), Vec<u32>> =
            std::collections::HashMap::new();
        let cell = |v: f64| (v / CELL).floor().clamp(i32::MIN as f64, i32::MAX as f64) as i32;
        for (i, w) in pts.windows(2).enumerate() {
            // Samples at most half a cell apart, each with its 3×3 neighbourhood: every point of
            // the segment lies within a quarter cell of a sample, so its cell is registered.
            let len = (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1);
            let n = (len / (CELL / 2.0)).ceil().max(1.0) as usize;
            let mut cells = Vec::with_capacity(9 * (n + 1));
            for k in 0..=n {
                let u = k as f64 / n as f64;
                let (gx, gy) = (
                    cell(w[0].0 + u * (w[1].0 - w[0].0)),
                    cell(w[0].1 + u * (w[1].1 - w[0].1)),
                );
                for dx in -1..=1 {
                    for dy in -1..=1 {
                        cells.push((gx.saturating_add(dx), gy.saturating_add(dy)));
                    }
                }
            }
            cells.sort_unstable();
            cells.dedup();
            for c in cells {
                grid.entry(c).or_default().push(i as u32);
            }
        }
        Ok(Self {
            grid,
            pts,
            s,
            seg_heading,
            seg_dir,
            vertex_heading,
            vertex_curvature,
        })
    }

    /// Length of the polyline (m).
    pub fn length(&self) -> f64 {
        self.s[self.s.len() - 1]
    }

    /// The segment holding arc length `s` (the first or last beyond the ends).
    fn segment_at(&self, s: f64) -> usize {
        let last = self.seg_heading.len() - 1;
        match self.s.partition_point(|&x| x <= s) {
            0 => 0,
            i => (i - 1).min(last),
        }
    }

    /// Squared distance from (x, y) to segment `i` (the end segments extend to infinity) and
    /// the Frenet coordinates of the foot.
    fn foot(&self, i: usize, x: f64, y: f64) -> (f64, Frenet) {
        let last = self.seg_heading.len() - 1;
        let (px, py) = self.pts[i];
        let (c, sn) = self.seg_dir[i];
        let (rx, ry) = (x - px, y - py);
        let len = self.s[i + 1] - self.s[i];
        let along = rx * c + ry * sn;
        let lo = if i == 0 { f64::NEG_INFINITY } else { 0.0 };
        let hi = if i == last { f64::INFINITY } else { len };
        let u = along.clamp(lo, hi);
        let (fx, fy) = (rx - u * c, ry - u * sn);
        let dist2 = fx * fx + fy * fy;
        let side = c * ry - sn * rx;
        (
            dist2,
            Frenet {
                s: self.s[i] + u,
                d: dist2.sqrt().copysign(side),
            },
        )
    }

    /// Frenet coordinates of a map point: the nearest foot on the line (ties go to the
    /// earlier segment).
    pub fn project(&self, x: f64, y: f64) -> Frenet {
        let last = self.seg_heading.len() - 1;
        // The end segments extend beyond the grid, so they are always considered.
        let mut best = self.foot(0, x, y);
        let mut best_i = 0;
        let consider = |i: usize, best: &mut (f64, Frenet), best_i: &mut usize| {
            let f = self.foot(i, x, y);
            if f.0 < best.0 || (f.0 == best.0 && i < *best_i) {
                *best = f;
                *best_i = i;
            }
        };
        consider(last, &mut best, &mut best_i);
        let (cx, cy) = self.cell_of(x, y);
        for ring in 0..=MAX_RINGS {
            for (gx, gy) in ring_cells(cx, cy, ring) {
                if let Some(list) = self.grid.get(&(gx, gy)) {
                    for &i in list {
                        consider(i as usize, &mut best, &mut best_i);
                    }
                }
            }
            // Any segment not yet seen has its nearest point in a cell at least `ring` cells
            // further out, so at least `ring` cell sizes away.
            let reach = ring as f64 * CELL;
            if best.0 <= reach * reach {
                return best.1;
            }
        }
        // Far from the line: the grid search would be slow, scan everything.
        for i in 0..=last {
            consider(i, &mut best, &mut best_i);
        }
        best.1
    }

    fn cell_of(&self, x: f64, y: f64) -> (i32, i32) {
        let clamp = |v: f64| (v / CELL).floor().clamp(i32::MIN as f64, i32::MAX as f64) as i32;
        (clamp(x), clamp(y))
    }

    /// Heading of the line at `s` (rad), interpolated between vertices so it is continuous.
    pub fn heading(&self, s: f64) -> f64 {
        let i = self.segment_at(s);
        let u = ((s - self.s[i]) / (self.s[i + 1] - self.s[i])).clamp(0.0, 1.0);
        let h0 = self.vertex_heading[i];
        h0 + u * wrap_angle(self.vertex_heading[i + 1] - h0)
    }

    /// Signed curvature at `s` (1/m, positive left).
    pub fn curvature(&self, s: f64) -> f64 {
        let i = self.segment_at(s);
        let u = ((s - self.s[i]) / (self.s[i + 1] - self.s[i])).clamp(0.0, 1.0);
        self.vertex_curvature[i] * (1.0 - u) + self.vertex_curvature[i + 1] * u
    }

    /// Map point (offset `d` to the left), heading and curvature at `s` with one segment
    /// lookup: what trajectory sampling needs per point.
    pub fn frame(&self, s: f64, d: f64) -> (f64, f64, f64, f64) {
        let i = self.segment_at(s);
        let (px, py) = self.pts[i];
        let u = s - self.s[i];
        let (c, sn) = self.seg_dir[i];
        let w = ((s - self.s[i]) / (self.s[i + 1] - self.s[i])).clamp(0.0, 1.0);
        let h0 = self.vertex_heading[i];
        let h = h0 + w * wrap_angle(self.vertex_heading[i + 1] - h0);
        let kappa = self.vertex_curvature[i] * (1.0 - w) + self.vertex_curvature[i + 1] * w;
        (
            px + u * c - d * h.sin(),
            py + u * sn + d * h.cos(),
            h,
            kappa,
        )
    }

    /// Map point and heading of the line at `s`, offset `d` to the left.
    pub fn point(&self, s: f64, d: f64) -> (f64, f64, f64) {
        let i = self.segment_at(s);
        let (px, py) = self.pts[i];
        let u = s - self.s[i];
        let (c, sn) = self.seg_dir[i];
        let h = self.heading(s);
        (px + u * c - d * h.sin(), py + u * sn + d * h.cos(), h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    #[test]
    fn straight_line_projection_is_exact() {
        let line =
            ReferenceLine::new(&[(0.0, 0.0), (10.0, 0.0), (10.0, 0.0), (30.0, 0.0)]).unwrap();
        close(line.length(), 30.0, 1e-12);
        let f = line.project(12.5, 1.75);
        close(f.s, 12.5, 1e-12);
        close(f.d, 1.75, 1e-12);
        let f = line.project(4.0, -2.0);
        close(f.d, -2.0, 1e-12);
        // Beyond both ends the line continues along its tangents.
        close(line.project(-5.0, 1.0).s, -5.0, 1e-12);
        close(line.project(40.0, 1.0).s, 40.0, 1e-12);
        let (x, y, h) = line.point(20.0, 3.5);
        close(x, 20.0, 1e-12);
        close(y, 3.5, 1e-12);
        close(h, 0.0, 1e-12);
        assert!(ReferenceLine::new(&[(1.0, 1.0)]).is_err());
        assert!(ReferenceLine::new(&[(0.0, 0.0), (f64::NAN, 1.0)]).is_err());
    }

    #[test]
    fn a_circle_has_its_curvature_and_radial_offsets() {
        // A left-turning circle of radius 50 m sampled every degree.
        let pts: Vec<(f64, f64)> = (0..=90)
            .map(|i| {
                let a = f64::from(i).to_radians();
                (50.0 * a.sin(), 50.0 - 50.0 * a.cos())
            })
            .collect();
        let line = ReferenceLine::new(&pts).unwrap();
        close(line.curvature(30.0), 1.0 / 50.0, 1e-4);
        // A point 2 m inside the circle at 45° lies 2 m left at s = 50·π/4 ≈ 39.27 m.
        let a = 45f64.to_radians();
        let f = line.project(48.0 * a.sin(), 50.0 - 48.0 * a.cos());
        // Off a vertex the foot lands on a chord 0.5° askew: 2 m · tan 0.5° = 0.017 m short.
        close(f.s, 50.0 * std::f64::consts::FRAC_PI_4, 0.02);
        close(f.d, 2.0, 0.01);
        let (x, y, h) = line.point(f.s, 2.0);
        let (fx, fy, fh, fk) = line.frame(f.s, 2.0);
        assert_eq!((fx, fy, fh), (x, y, h));
        assert_eq!(fk, line.curvature(f.s));
        close(x, 48.0 * a.sin(), 0.02);
        close(y, 50.0 - 48.0 * a.cos(), 0.02);
        close(h, a, 0.01);
    }

    #[test]
    fn the_grid_search_matches_a_full_scan() {
        // An S-shaped 2 km line sampled every metre, probed on and far off the line.
        let pts: Vec<(f64, f64)> = (0..=2000)
            .map(|i| {
                let x = f64::from(i);
                (x, 80.0 * (x / 300.0).sin())
            })
            .collect();
        let line = ReferenceLine::new(&pts).unwrap();
        let scan = |x: f64, y: f64| {
            let mut best = line.foot(0, x, y);
            for i in 1..line.seg_heading.len() {
                let f = line.foot(i, x, y);
                if f.0 < best.0 {
                    best = f;
                }
            }
            best.1
        };
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..600 {
            let (x, y) = (-300.0 + 2600.0 * next(), -400.0 + 800.0 * next());
            let (a, b) = (line.project(x, y), scan(x, y));
            assert!(
                (a.s - b.s).abs() < 1e-9 && (a.d - b.d).abs() < 1e-9,
                "{x} {y}: {a:?} {b:?}"
            );
        }
    }

    #[test]
    fn wrap_angle_keeps_the_half_open_interval() {
        close(
            wrap_angle(3.0 * std::f64::consts::PI),
            std::f64::consts::PI,
            1e-12,
        );
        close(wrap_angle(-0.5), -0.5, 1e-12);
    }
}
