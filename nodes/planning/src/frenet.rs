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
        Ok(Self {
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

    /// Frenet coordinates of a map point: the nearest foot on the line.
    pub fn project(&self, x: f64, y: f64) -> Frenet {
        let last = self.seg_heading.len() - 1;
        let mut best = (f64::INFINITY, Frenet::default());
        for i in 0..=last {
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
            if dist2 < best.0 {
                let side = c * ry - sn * rx;
                best = (
                    dist2,
                    Frenet {
                        s: self.s[i] + u,
                        d: dist2.sqrt().copysign(side),
                    },
                );
            }
        }
        best.1
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
    fn wrap_angle_keeps_the_half_open_interval() {
        close(
            wrap_angle(3.0 * std::f64::consts::PI),
            std::f64::consts::PI,
            1e-12,
        );
        close(wrap_angle(-0.5), -0.5, 1e-12);
    }
}
