//! Circles fitted to points on a plane: the footprint of an upright cylinder (a cup) from the
//! part of its side a camera sees.
//!
//! A box around the visible half of a cylinder sits a radius short of the centre along the
//! line of sight; a circle through the visible arc does not. The fit is Taubin's algebraic
//! fit (nearly unbiased on short arcs, unlike Kåsa's, which shrinks the radius and pulls the
//! centre towards the arc), refined by Gauss-Newton steps on the geometric distances
//! (Chernov, "Circular and Linear Regression", 2010, ch. 4-5).

use nalgebra::{Matrix3, Vector3};

/// A circle fitted to points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    /// Centre x (m).
    pub cx: f64,
    /// Centre y (m).
    pub cy: f64,
    /// Radius (m).
    pub radius: f64,
    /// Root mean square of the points' distances from the circle (m).
    pub rms: f64,
    /// Standard deviation of the centre (m, the larger axis of its covariance
    /// `rms² (JᵀJ)⁻¹`): large for a short arc, where centre and radius trade off along the
    /// line of sight. Infinite when not computed.
    pub centre_std: f64,
}

/// Most Gauss-Newton steps after the algebraic fit; it converges in two or three.
const REFINE_STEPS: usize = 10;

/// Root mean square distance of `xy` from the circle `(cx, cy, r)`.
fn rms(xy: &[[f64; 2]], cx: f64, cy: f64, r: f64) -> f64 {
    let s: f64 = xy
        .iter()
        .map(|p| ((p[0] - cx).hypot(p[1] - cy) - r).powi(2))
        .sum();
    (s / xy.len() as f64).sqrt()
}

/// Taubin's algebraic circle fit, solved by Newton's method on its characteristic polynomial
/// from zero (Chernov's `CircleFitByTaubin`). `None` for fewer than three points or points on
/// a line.
pub fn taubin(xy: &[[f64; 2]]) -> Option<Circle> {
    if xy.len() < 3 {
        return None;
    }
    let n = xy.len() as f64;
    let (mx, my) = xy
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p[0] / n, y + p[1] / n));
    let (mut mxx, mut myy, mut mxy, mut mxz, mut myz, mut mzz) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for p in xy {
        let (x, y) = (p[0] - mx, p[1] - my);
        let z = x * x + y * y;
        mxx += x * x;
        myy += y * y;
        mxy += x * y;
        mxz += x * z;
        myz += y * z;
        mzz += z * z;
    }
    let (mxx, myy, mxy, mxz, myz, mzz) = (mxx / n, myy / n, mxy / n, mxz / n, myz / n, mzz / n);
    let mz = mxx + myy;
    let cov_xy = mxx * myy - mxy * mxy;
    let var_z = mzz - mz * mz;
    let a3 = 4.0 * mz;
    let a2 = -3.0 * mz * mz - mzz;
    let a1 = var_z * mz + 4.0 * cov_xy * mz - mxz * mxz - myz * myz;
    let a0 = mxz * (mxz * myy - myz * mxy) + myz * (myz * mxx - mxz * mxy) - var_z * cov_xy;
    let (mut x, mut y) = (0.0f64, a0);
    for _ in 0..100 {
        let dy = a1 + x * (2.0 * a2 + 3.0 * a3 * x);
        let next = x - y / dy;
        if next == x || !next.is_finite() {
            break;
        }
        let ny = a0 + next * (a1 + next * (a2 + next * a3));
        if ny.abs() >= y.abs() {
            break;
        }
        (x, y) = (next, ny);
    }
    let det = x * x - x * mz + cov_xy;
    if det.abs() < f64::EPSILON * mz * mz || !det.is_finite() {
        return None;
    }
    let ux = (mxz * (myy - x) - myz * mxy) / det / 2.0;
    let uy = (myz * (mxx - x) - mxz * mxy) / det / 2.0;
    let radius = (ux * ux + uy * uy + mz).sqrt();
    let (cx, cy) = (ux + mx, uy + my);
    (cx.is_finite() && cy.is_finite() && radius.is_finite()).then(|| Circle {
        cx,
        cy,
        radius,
        rms: rms(xy, cx, cy, radius),
        centre_std: f64::INFINITY,
    })
}

/// The circle nearest to `xy` in the geometric sense (least squares of the distances from
/// it): Taubin's fit refined by Gauss-Newton steps, each kept only if it lowers the error,
/// with the centre's standard deviation.
pub fn fit_circle(xy: &[[f64; 2]]) -> Option<Circle> {
    let mut best = taubin(xy)?;
    for _ in 0..REFINE_STEPS {
        let (jtj, jtr) = normal_equations(xy, &best);
        let Some(step) = jtj.lu().solve(&-jtr) else {
            break;
        };
        let (cx, cy, r) = (best.cx + step.x, best.cy + step.y, best.radius + step.z);
        let e = rms(xy, cx, cy, r);
        if !(e.is_finite() && r > 0.0 && e < best.rms) {
            break;
        }
        let done = step.norm() < 1e-9;
        best = Circle {
            cx,
            cy,
            radius: r,
            rms: e,
            centre_std: f64::INFINITY,
        };
        if done {
            break;
        }
    }
    let (jtj, _) = normal_equations(xy, &best);
    if let Some(inv) = jtj.try_inverse() {
        let c = inv.fixed_view::<2, 2>(0, 0) * best.rms.powi(2);
        // Larger eigenvalue of the symmetric 2 × 2 centre covariance.
        let (m, d) = (0.5 * (c[(0, 0)] + c[(1, 1)]), 0.5 * (c[(0, 0)] - c[(1, 1)]));
        let top = m + d.hypot(c[(0, 1)]);
        best.centre_std = top.max(0.0).sqrt();
    }
    Some(best)
}

/// `JᵀJ` and `Jᵀr` of the residuals `|p − c| − r` at `circle`, in `(cx, cy, r)`.
fn normal_equations(xy: &[[f64; 2]], circle: &Circle) -> (Matrix3<f64>, Vector3<f64>) {
    let (mut jtj, mut jtr) = (Matrix3::<f64>::zeros(), Vector3::<f64>::zeros());
    for p in xy {
        let (dx, dy) = (p[0] - circle.cx, p[1] - circle.cy);
        let d = dx.hypot(dy);
        if d < 1e-12 {
            continue;
        }
        let j = Vector3::new(-dx / d, -dy / d, -1.0);
        jtj += j * j.transpose();
        jtr += j * (d - circle.radius);
    }
    (jtj, jtr)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic standard normal numbers (Box-Muller over a 64-bit LCG).
    struct Normal(u64);

    impl Normal {
        fn uniform(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }

        fn next(&mut self) -> f64 {
            let (u, v) = (self.uniform(), self.uniform());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
    }

    /// `n` points on the arc of the circle `(cx, cy, r)` from `from` to `to` (degrees), each
    /// moved radially by Gaussian noise of `sigma` (a depth camera's range noise on the side
    /// that faces it).
    fn arc(
        (cx, cy, r): (f64, f64, f64),
        from: f64,
        to: f64,
        n: usize,
        sigma: f64,
        seed: u64,
    ) -> Vec<[f64; 2]> {
        let mut noise = Normal(seed);
        (0..n)
            .map(|k| {
                let a = (from + (to - from) * k as f64 / (n - 1) as f64).to_radians();
                let rr = r + sigma * noise.next();
                [cx + rr * a.cos(), cy + rr * a.sin()]
            })
            .collect()
    }

    #[test]
    fn exact_points_give_the_circle() {
        // Three points of the circle centred (1, 2) with radius 0.5: (1.5, 2), (1, 2.5), (0.5, 2).
        let c = fit_circle(&[[1.5, 2.0], [1.0, 2.5], [0.5, 2.0]]).unwrap();
        assert!(
            (c.cx - 1.0).abs() < 1e-9 && (c.cy - 2.0).abs() < 1e-9,
            "{c:?}"
        );
        assert!((c.radius - 0.5).abs() < 1e-9 && c.rms < 1e-9, "{c:?}");
    }

    #[test]
    fn half_and_third_of_a_noisy_cup_give_its_centre_within_millimetres() {
        // A 35 mm cup at (0.37, -0.21) seen over 180° and 120° of its side, 2 mm noise, as
        // many points as a 160 × 120 depth image puts on it at 1 m (~40 to 60 columns).
        let cup = (0.37, -0.21, 0.035);
        for (from, to, n) in [(90.0, 270.0, 60), (120.0, 240.0, 40), (-30.0, 90.0, 40)] {
            for seed in 1..=20 {
                let pts = arc(cup, from, to, n, 0.002, seed);
                let c = fit_circle(&pts).unwrap();
                let e = (c.cx - cup.0).hypot(c.cy - cup.1);
                assert!(e < 0.005, "arc {from}..{to}° seed {seed}: {c:?}, off {e}");
                assert!((c.radius - cup.2).abs() < 0.005, "{c:?}");
                assert!(c.rms < 0.003, "{c:?}");
                // The claimed uncertainty covers the error (3 σ).
                assert!(e < 3.0 * c.centre_std.max(1e-4), "{c:?}, off {e}");
            }
        }
        // A short arc (60°) leaves the centre uncertain by more than a half arc does.
        let half = fit_circle(&arc(cup, 90.0, 270.0, 60, 0.002, 3)).unwrap();
        let short = fit_circle(&arc(cup, 150.0, 210.0, 20, 0.002, 3)).unwrap();
        assert!(
            short.centre_std > 3.0 * half.centre_std,
            "{half:?} {short:?}"
        );
        // Without noise, any arc gives the circle exactly.
        let c = fit_circle(&arc(cup, 100.0, 160.0, 20, 0.0, 1)).unwrap();
        assert!((c.cx - cup.0).hypot(c.cy - cup.1) < 1e-9, "{c:?}");
    }

    #[test]
    fn the_geometric_refinement_does_not_worsen_the_algebraic_fit() {
        let pts = arc((0.0, 0.0, 0.05), 0.0, 150.0, 30, 0.003, 7);
        let (a, g) = (taubin(&pts).unwrap(), fit_circle(&pts).unwrap());
        assert!(g.rms <= a.rms, "{a:?} {g:?}");
    }

    #[test]
    fn a_box_corner_fits_no_circle_well() {
        // The two visible faces of a box, seen from its corner, 1 mm apart along the edges.
        for (a, b) in [
            (0.08, 0.08),
            (0.05, 0.05),
            (0.04, 0.04),
            (0.08, 0.03),
            (0.06, 0.02),
        ] {
            let mut pts: Vec<[f64; 2]> = (0..=(a * 1e3) as usize)
                .map(|k| [k as f64 * 1e-3, 0.0])
                .collect();
            pts.extend((1..=(b * 1e3) as usize).map(|k| [0.0, k as f64 * 1e-3]));
            let c = fit_circle(&pts).unwrap();
            // About 0.06 of the side (2.5 mm for a 4 cm cube, 5 mm for 8 cm): like a cup's
            // noise for small boxes, hence the comparison with the rectangle in classify.rs.
            let side = f64::max(a, b);
            assert!(
                c.rms > 0.05 * side && c.rms < 0.07 * side,
                "{a} x {b}: {c:?}"
            );
        }
    }

    #[test]
    fn too_few_or_collinear_points_have_no_circle() {
        assert!(fit_circle(&[[0.0, 0.0], [1.0, 1.0]]).is_none());
        let line: Vec<[f64; 2]> = (0..10).map(|k| [k as f64 * 0.01, 0.5]).collect();
        assert!(fit_circle(&line).is_none_or(|c| c.radius > 1e3));
    }
}
