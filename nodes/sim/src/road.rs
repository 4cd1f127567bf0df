//! Roads of the vehicle world: a reference line of straight and constant-curvature (arc)
//! segments, with equal-width lanes beside it, lane markings and road edges.
//!
//! # Geometry and conventions
//!
//! * The reference line is the **right edge of the rightmost lane**. Frenet coordinates are
//!   `s`, the arc length along the reference line from its start, and `d`, the signed lateral
//!   offset from it, positive to the left (REP-103).
//! * Lane `i` (0 = rightmost) spans `d ∈ [i·w, (i+1)·w]` for lane width `w`; all lanes run in
//!   the direction of increasing `s`. Boundary `j` (0 = right edge … `lane_count` = left edge)
//!   lies at `d = j·w` and carries one [`Marking`].
//! * Paved shoulders may extend the road beyond the outer lane boundaries; the road edges are at
//!   `d = −shoulder_right` and `d = lane_count·w + shoulder_left`.
//! * Beyond its ends the reference line continues along its end tangents, so Frenet conversions
//!   are defined everywhere; [`Road::is_on_road`] only accepts `0 ≤ s ≤ length`.
//!
//! Everything is plain data (segments, counts, widths, markings) so a lane map message can be
//! built from it by sampling [`Road::lane_centre_line`] and [`Road::boundary_line`].

use nalgebra::{Point2, Vector2};
use thiserror::Error;

/// A road description that cannot be built.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RoadError {
    /// A road needs at least one lane.
    #[error("a road needs at least one lane")]
    NoLanes,
    /// A road needs at least one segment.
    #[error("a road needs at least one segment")]
    NoSegments,
    /// A numeric field is out of range.
    #[error("road field `{name}` = {value} is invalid: {reason}")]
    InvalidValue {
        /// Name of the field.
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// What the value must satisfy.
        reason: &'static str,
    },
    /// Segment `index` curves so tightly that the road's inner edge would pass its centre of curvature.
    #[error(
        "segment {index}: radius {radius} m is too tight for a road reaching {reach} m towards its centre"
    )]
    TooTight {
        /// Index of the segment.
        index: usize,
        /// Its radius of curvature (m).
        radius: f64,
        /// How far the road extends towards the centre of curvature (m).
        reach: f64,
    },
    /// The number of markings differs from the number of lane boundaries.
    #[error("{got} markings given for {expected} lane boundaries")]
    MarkingCount {
        /// `lane_count + 1`.
        expected: usize,
        /// Markings given.
        got: usize,
    },
    /// A lane or boundary index is out of range.
    #[error("index {index} is out of range (there are {count})")]
    IndexOutOfRange {
        /// The requested index.
        index: usize,
        /// How many there are.
        count: usize,
    },
}

/// One piece of the reference line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Segment {
    /// A straight line of the given length (m).
    Straight {
        /// Length (m).
        length: f64,
    },
    /// A circular arc: `length` (m) along the reference line with signed `curvature` (1/m,
    /// positive turns left).
    Arc {
        /// Arc length along the reference line (m).
        length: f64,
        /// Signed curvature 1/radius (1/m), positive to the left.
        curvature: f64,
    },
}

impl Segment {
    /// An arc of the given radius (m) that turns through `angle` rad (positive turns left).
    pub fn arc(radius: f64, angle: f64) -> Self {
        Segment::Arc {
            length: radius * angle.abs(),
            curvature: angle.signum() / radius,
        }
    }

    /// Length along the reference line (m).
    pub fn length(&self) -> f64 {
        match *self {
            Segment::Straight { length } | Segment::Arc { length, .. } => length,
        }
    }

    /// Signed curvature (1/m); 0 for a straight.
    pub fn curvature(&self) -> f64 {
        match *self {
            Segment::Straight { .. } => 0.0,
            Segment::Arc { curvature, .. } => curvature,
        }
    }
}

/// The painted line on a lane boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marking {
    /// No painted line.
    None,
    /// A solid line: do not cross.
    Solid,
    /// A dashed line: may be crossed to change lanes.
    Dashed,
}

/// A point in Frenet coordinates of a road's reference line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frenet {
    /// Arc length along the reference line (m).
    pub s: f64,
    /// Lateral offset from the reference line, positive to the left (m).
    pub d: f64,
}

/// A segment placed in the world: its start pose and start arc length.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Placed {
    segment: Segment,
    start: Point2<f64>,
    heading: f64,
    s0: f64,
}

impl Placed {
    fn length(&self) -> f64 {
        self.segment.length()
    }

    fn heading_at(&self, u: f64) -> f64 {
        self.heading + self.segment.curvature() * u
    }

    /// Point on the reference line at local arc length `u` (may lie outside the segment).
    fn point_at(&self, u: f64) -> Point2<f64> {
        let k = self.segment.curvature();
        if k == 0.0 {
            return self.start + u * tangent(self.heading);
        }
        let end = self.heading + k * u;
        self.start
            + Vector2::new(
                (end.sin() - self.heading.sin()) / k,
                (self.heading.cos() - end.cos()) / k,
            )
    }

    /// Local `(u, d)` of the foot of the perpendicular from `p` (u not clamped).
    fn project(&self, p: Point2<f64>) -> (f64, f64) {
        let k = self.segment.curvature();
        if k == 0.0 {
            let v = p - self.start;
            return (v.dot(&tangent(self.heading)), v.dot(&normal(self.heading)));
        }
        // The reference line point at heading θ is C − n(θ)/κ, and p = C + (d − 1/κ)·n(θ)
        // with d on the near side of the centre C.
        let centre = self.start + normal(self.heading) / k;
        let w = p - centre;
        let dist = w.norm();
        let sign = k.signum();
        let theta = if dist == 0.0 {
            self.heading
        } else {
            // n(θ) = −sign(κ)·w/|w|, and n(θ) = (−sin θ, cos θ).
            (sign * w.x).atan2(-sign * w.y)
        };
        // Unwrap around the middle of the arc so points near either end map into it.
        let mid = 0.5 * k * self.length();
        let turn = wrap(theta - self.heading - mid) + mid;
        (turn / k, 1.0 / k - sign * dist)
    }
}

fn tangent(heading: f64) -> Vector2<f64> {
    Vector2::new(heading.cos(), heading.sin())
}

fn normal(heading: f64) -> Vector2<f64> {
    Vector2::new(-heading.sin(), heading.cos())
}

/// Wraps an angle into [−π, π).
fn wrap(a: f64) -> f64 {
    use std::f64::consts::{PI, TAU};
    (a + PI).rem_euclid(TAU) - PI
}

/// A multi-lane road along a reference line of straight and arc segments.
#[derive(Debug, Clone, PartialEq)]
pub struct Road {
    placed: Vec<Placed>,
    length: f64,
    lane_count: usize,
    lane_width: f64,
    markings: Vec<Marking>,
    shoulder_right: f64,
    shoulder_left: f64,
}

impl Road {
    /// A road whose reference line starts at `start` with `heading` (rad) and follows
    /// `segments`; default markings are solid at the outer boundaries, dashed between lanes.
    pub fn new(
        start: Point2<f64>,
        heading: f64,
        segments: &[Segment],
        lane_count: usize,
        lane_width: f64,
    ) -> Result<Self, RoadError> {
        if lane_count == 0 {
            return Err(RoadError::NoLanes);
        }
        if segments.is_empty() {
            return Err(RoadError::NoSegments);
        }
        for (name, value) in [
            ("start.x", start.x),
            ("start.y", start.y),
            ("heading", heading),
        ] {
            if !value.is_finite() {
                return Err(bad(name, value, "must be finite"));
            }
        }
        positive("lane_width", lane_width)?;
        let mut placed = Vec::with_capacity(segments.len());
        let (mut point, mut theta, mut s0) = (start, heading, 0.0);
        for segment in segments {
            positive("segment length", segment.length())?;
            if !segment.curvature().is_finite() {
                return Err(bad(
                    "segment curvature",
                    segment.curvature(),
                    "must be finite",
                ));
            }
            if segment.curvature().abs() * segment.length() > std::f64::consts::TAU {
                return Err(bad(
                    "segment length",
                    segment.length(),
                    "an arc may turn through at most one full circle",
                ));
            }
            let piece = Placed {
                segment: *segment,
                start: point,
                heading: theta,
                s0,
            };
            point = piece.point_at(segment.length());
            theta = piece.heading_at(segment.length());
            s0 += segment.length();
            placed.push(piece);
        }
        let markings = (0..=lane_count)
            .map(|j| {
                if j == 0 || j == lane_count {
                    Marking::Solid
                } else {
                    Marking::Dashed
                }
            })
            .collect();
        let road = Self {
            placed,
            length: s0,
            lane_count,
            lane_width,
            markings,
            shoulder_right: 0.0,
            shoulder_left: 0.0,
        };
        road.check_radii()?;
        Ok(road)
    }

    /// A straight road from the origin along +x.
    pub fn straight(length: f64, lane_count: usize, lane_width: f64) -> Result<Self, RoadError> {
        Self::new(
            Point2::origin(),
            0.0,
            &[Segment::Straight { length }],
            lane_count,
            lane_width,
        )
    }

    /// Replaces the markings, one per boundary from the right edge (`lane_count + 1` of them).
    pub fn with_markings(mut self, markings: Vec<Marking>) -> Result<Self, RoadError> {
        if markings.len() != self.lane_count + 1 {
            return Err(RoadError::MarkingCount {
                expected: self.lane_count + 1,
                got: markings.len(),
            });
        }
        self.markings = markings;
        Ok(self)
    }

    /// Adds paved shoulders (m) beyond the right and left outer lane boundaries.
    pub fn with_shoulders(mut self, right: f64, left: f64) -> Result<Self, RoadError> {
        for (name, value) in [("shoulder_right", right), ("shoulder_left", left)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(bad(name, value, "must be finite and not negative"));
            }
        }
        self.shoulder_right = right;
        self.shoulder_left = left;
        self.check_radii()?;
        Ok(self)
    }

    /// Rejects arcs whose centre of curvature lies within the road's lateral extent, where the
    /// Frenet frame folds over.
    fn check_radii(&self) -> Result<(), RoadError> {
        let (right, left) = self.edges();
        for (index, piece) in self.placed.iter().enumerate() {
            let k = piece.segment.curvature();
            if k == 0.0 {
                continue;
            }
            let reach = if k > 0.0 { left } else { -right };
            if reach * k.abs() >= 1.0 {
                return Err(RoadError::TooTight {
                    index,
                    radius: 1.0 / k.abs(),
                    reach,
                });
            }
        }
        Ok(())
    }

    /// The segments of the reference line, in order.
    pub fn segments(&self) -> impl Iterator<Item = Segment> + '_ {
        self.placed.iter().map(|p| p.segment)
    }

    /// Length of the reference line (m).
    pub fn length(&self) -> f64 {
        self.length
    }

    /// Number of lanes.
    pub fn lane_count(&self) -> usize {
        self.lane_count
    }

    /// Width of every lane (m).
    pub fn lane_width(&self) -> f64 {
        self.lane_width
    }

    /// Markings per boundary, from the right edge (index 0) to the left edge.
    pub fn markings(&self) -> &[Marking] {
        &self.markings
    }

    /// Lateral offsets (m) of the right and left road edges, shoulders included.
    pub fn edges(&self) -> (f64, f64) {
        (
            -self.shoulder_right,
            self.lane_count as f64 * self.lane_width + self.shoulder_left,
        )
    }

    /// Lateral offset (m) of lane boundary `j` (0 = right edge of lane 0).
    pub fn boundary_offset(&self, j: usize) -> Result<f64, RoadError> {
        if j > self.lane_count {
            return Err(RoadError::IndexOutOfRange {
                index: j,
                count: self.lane_count + 1,
            });
        }
        Ok(j as f64 * self.lane_width)
    }

    /// Lateral offset (m) of the centre of `lane` (0 = rightmost).
    pub fn lane_centre_offset(&self, lane: usize) -> Result<f64, RoadError> {
        if lane >= self.lane_count {
            return Err(RoadError::IndexOutOfRange {
                index: lane,
                count: self.lane_count,
            });
        }
        Ok((lane as f64 + 0.5) * self.lane_width)
    }

    /// The lane containing lateral offset `d`; a point on an inner boundary belongs to the lane
    /// on its left, the left edge to the leftmost lane; `None` off the lanes.
    pub fn lane_of(&self, d: f64) -> Option<usize> {
        let width = self.lane_count as f64 * self.lane_width;
        if !(0.0..=width).contains(&d) {
            return None;
        }
        // `d / w` is within [0, lane_count] here, so the cast cannot wrap.
        Some(((d / self.lane_width).floor() as usize).min(self.lane_count - 1))
    }

    /// The segment holding `s`; before the start the first, past the end the last.
    fn piece_at(&self, s: f64) -> &Placed {
        let i = self.placed.partition_point(|p| p.s0 + p.length() < s);
        &self.placed[i.min(self.placed.len() - 1)]
    }

    /// The segment for `s` and the local arc length on it (outside [0, length] beyond the ends).
    fn local(&self, s: f64) -> (&Placed, f64) {
        let piece = self.piece_at(s);
        (piece, s - piece.s0)
    }

    /// Heading (rad) of the reference line at `s`.
    pub fn heading(&self, s: f64) -> f64 {
        let (piece, u) = self.local(s);
        piece.heading_at(u.clamp(0.0, piece.length()))
    }

    /// Signed curvature (1/m) of the reference line at `s`; 0 beyond the ends.
    pub fn curvature(&self, s: f64) -> f64 {
        if !(0.0..=self.length).contains(&s) {
            return 0.0;
        }
        self.piece_at(s).segment.curvature()
    }

    /// Signed curvature (1/m) of the line at lateral offset `d` beside `s`, κ/(1 − κ·d).
    pub fn curvature_at_offset(&self, s: f64, d: f64) -> f64 {
        let k = self.curvature(s);
        k / (1.0 - k * d)
    }

    /// Cartesian point of Frenet `(s, d)`.
    pub fn to_cartesian(&self, s: f64, d: f64) -> Point2<f64> {
        let (piece, u) = self.local(s);
        let inside = u.clamp(0.0, piece.length());
        let heading = piece.heading_at(inside);
        // Beyond the ends the line continues straight along the end tangent.
        piece.point_at(inside) + (u - inside) * tangent(heading) + d * normal(heading)
    }

    /// Frenet coordinates of `p`: the foot of the perpendicular on the nearest segment.
    pub fn to_frenet(&self, p: Point2<f64>) -> Frenet {
        let last = self.placed.len() - 1;
        let mut best: Option<(f64, Frenet)> = None;
        for (i, piece) in self.placed.iter().enumerate() {
            let (u, d) = piece.project(p);
            let len = piece.length();
            let candidate = if (0.0..=len).contains(&u) {
                (d.abs(), Frenet { s: piece.s0 + u, d })
            } else if (u < 0.0 && i == 0) || (u > len && i == last) {
                // Before the start or past the end: project on the tangent extension.
                let end = if u < 0.0 { 0.0 } else { len };
                let heading = piece.heading_at(end);
                let v = p - piece.point_at(end);
                let d = v.dot(&normal(heading));
                let s = piece.s0 + end + v.dot(&tangent(heading));
                (d.abs(), Frenet { s, d })
            } else {
                // The perpendicular foot is outside this segment; its nearest end stands in.
                let end = u.clamp(0.0, len);
                let foot = piece.point_at(end);
                let d = (p - foot).dot(&normal(piece.heading_at(end)));
                (
                    (p - foot).norm(),
                    Frenet {
                        s: piece.s0 + end,
                        d,
                    },
                )
            };
            if best.is_none_or(|(dist, _)| candidate.0 < dist) {
                best = Some(candidate);
            }
        }
        // There is always at least one segment.
        best.map_or(Frenet { s: 0.0, d: 0.0 }, |(_, f)| f)
    }

    /// Whether `p` lies on the paved road: between the road edges and the two ends.
    pub fn is_on_road(&self, p: Point2<f64>) -> bool {
        let f = self.to_frenet(p);
        let (right, left) = self.edges();
        (0.0..=self.length).contains(&f.s) && (right..=left).contains(&f.d)
    }

    /// Points along the line at lateral offset `d`, from s = 0 to the end, equally spaced at
    /// most `spacing` (m) apart along the reference line.
    pub fn offset_line(&self, d: f64, spacing: f64) -> Result<Vec<Point2<f64>>, RoadError> {
        positive("spacing", spacing)?;
        let intervals = (self.length / spacing).ceil().max(1.0);
        // `intervals` is a positive whole number well inside u64.
        let n = intervals as u64;
        Ok((0..=n)
            .map(|i| {
                let s = if i == n {
                    self.length
                } else {
                    self.length * i as f64 / intervals
                };
                self.to_cartesian(s, d)
            })
            .collect())
    }

    /// Centre line of `lane` as a polyline sampled at most `spacing` (m) apart in s.
    pub fn lane_centre_line(
        &self,
        lane: usize,
        spacing: f64,
    ) -> Result<Vec<Point2<f64>>, RoadError> {
        self.offset_line(self.lane_centre_offset(lane)?, spacing)
    }

    /// Lane boundary `j` (0 = right edge) as a polyline sampled at most `spacing` (m) apart in s.
    pub fn boundary_line(&self, j: usize, spacing: f64) -> Result<Vec<Point2<f64>>, RoadError> {
        self.offset_line(self.boundary_offset(j)?, spacing)
    }
}

fn bad(name: &'static str, value: f64, reason: &'static str) -> RoadError {
    RoadError::InvalidValue {
        name,
        value,
        reason,
    }
}

fn positive(name: &'static str, value: f64) -> Result<(), RoadError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(bad(name, value, "must be finite and greater than 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};

    fn winding() -> Road {
        Road::new(
            Point2::new(10.0, -5.0),
            0.3,
            &[
                Segment::Straight { length: 50.0 },
                Segment::arc(100.0, FRAC_PI_2),
                Segment::Arc {
                    length: 40.0,
                    curvature: -0.02,
                },
                Segment::Straight { length: 30.0 },
            ],
            3,
            3.5,
        )
        .unwrap()
    }

    fn assert_round_trip(road: &Road, s_values: &[f64], d_values: &[f64]) {
        for &s in s_values {
            for &d in d_values {
                let p = road.to_cartesian(s, d);
                let f = road.to_frenet(p);
                assert!(
                    (f.s - s).abs() < 1e-9 && (f.d - d).abs() < 1e-9,
                    "({s}, {d}) → {p} → ({}, {})",
                    f.s,
                    f.d
                );
            }
        }
    }

    #[test]
    fn frenet_round_trip_on_a_straight() {
        let road = Road::new(
            Point2::new(3.0, 4.0),
            0.7,
            &[Segment::Straight { length: 100.0 }],
            2,
            3.5,
        )
        .unwrap();
        let s: Vec<f64> = (-4..=24).map(|i| i as f64 * 5.0 + 0.123).collect();
        assert_round_trip(&road, &s, &[-5.0, -0.4, 0.0, 1.75, 6.9, 12.0]);
        // s = 10, d = 2 by hand: start + 10·(cos 0.7, sin 0.7) + 2·(−sin 0.7, cos 0.7).
        let p = road.to_cartesian(10.0, 2.0);
        let (sin, cos) = 0.7f64.sin_cos();
        assert!(
            (p - Point2::new(3.0 + 10.0 * cos - 2.0 * sin, 4.0 + 10.0 * sin + 2.0 * cos)).norm()
                < 1e-12
        );
    }

    #[test]
    fn frenet_round_trip_on_arcs_and_across_segment_joins() {
        let road = winding();
        let total = 50.0 + 50.0 * PI + 40.0 + 30.0;
        assert!((road.length() - total).abs() < 1e-12);
        let mut s: Vec<f64> = (0..=60).map(|i| total * i as f64 / 60.0).collect();
        // Joins, and just either side of them.
        for join in [50.0, 50.0 + 50.0 * PI, 90.0 + 50.0 * PI] {
            s.extend([join - 1e-6, join, join + 1e-6]);
        }
        s.extend([-3.0, total + 3.0]);
        // The road's lanes and shoulders, and beyond the right edge on the outside of the turn.
        assert_round_trip(&road, &s, &[-8.0, -1.0, 0.0, 1.75, 5.25, 10.5, 12.0]);
    }

    #[test]
    fn a_quarter_circle_arc_is_r_times_pi_over_2_long_and_ends_where_expected() {
        let arc = Segment::arc(100.0, FRAC_PI_2);
        assert!((arc.length() - 157.079_632_679_489_66).abs() < 1e-12);
        assert_eq!(arc.curvature(), 0.01);
        let road = Road::new(Point2::origin(), 0.0, &[arc], 2, 3.5).unwrap();
        // A left quarter turn of radius 100 from the origin heading +x ends at (100, 100).
        let end = road.to_cartesian(road.length(), 0.0);
        assert!((end - Point2::new(100.0, 100.0)).norm() < 1e-12, "{end}");
        assert!((road.heading(road.length()) - FRAC_PI_2).abs() < 1e-15);
        assert!((road.heading(road.length() / 2.0) - FRAC_PI_4).abs() < 1e-15);
        assert_eq!(road.curvature(10.0), 0.01);
        // The left lane boundary (d = 7) runs on radius 93: curvature 1/93.
        assert!((road.curvature_at_offset(10.0, 7.0) - 1.0 / 93.0).abs() < 1e-15);
        // Midway, the point 3 m to the left is at radius 97 from the centre (0, 100).
        let p = road.to_cartesian(road.length() / 2.0, 3.0);
        assert!(((p - Point2::new(0.0, 100.0)).norm() - 97.0).abs() < 1e-12);
        let right = Segment::arc(50.0, -PI);
        assert_eq!(right.curvature(), -0.02);
        assert!((right.length() - 50.0 * PI).abs() < 1e-12);
    }

    #[test]
    fn lane_of_maps_offsets_to_lanes() {
        let road = Road::straight(100.0, 3, 3.5).unwrap();
        assert_eq!(road.lane_of(0.0), Some(0));
        assert_eq!(road.lane_of(3.4), Some(0));
        assert_eq!(road.lane_of(3.5), Some(1));
        assert_eq!(road.lane_of(3.6), Some(1));
        assert_eq!(road.lane_of(10.4), Some(2));
        assert_eq!(road.lane_of(10.5), Some(2));
        assert_eq!(road.lane_of(-0.01), None);
        assert_eq!(road.lane_of(10.51), None);
        assert_eq!(road.lane_of(f64::NAN), None);
        assert_eq!(road.lane_centre_offset(1), Ok(5.25));
        assert!(road.lane_centre_offset(3).is_err());
        assert_eq!(road.boundary_offset(3), Ok(10.5));
    }

    #[test]
    fn on_road_checks_follow_edges_shoulders_and_ends() {
        let road = winding().with_shoulders(2.5, 0.0).unwrap();
        let on = |s: f64, d: f64| road.is_on_road(road.to_cartesian(s, d));
        assert!(on(20.0, 1.0));
        assert!(on(120.0, 10.4)); // left lane, inside the turn
        assert!(!on(120.0, 10.6)); // just past the left edge
        assert!(on(120.0, -2.4)); // on the right shoulder
        assert!(!on(120.0, -2.6)); // past the right shoulder
        assert!(!on(-0.5, 5.0)); // before the start
        assert!(!on(road.length() + 0.5, 5.0)); // past the end
        assert!(on(road.length() - 0.5, 5.0));
        assert!(!road.is_on_road(Point2::new(f64::NAN, 0.0)));
    }

    #[test]
    fn lane_centre_lines_are_sampled_on_the_lane_centre() {
        let road = Road::straight(10.0, 2, 3.5).unwrap();
        let line = road.lane_centre_line(1, 1.0).unwrap();
        assert_eq!(line.len(), 11);
        for (i, p) in line.iter().enumerate() {
            assert!((p - Point2::new(i as f64, 5.25)).norm() < 1e-12, "{p}");
        }
        let road = winding();
        let line = road.lane_centre_line(0, 2.0).unwrap();
        // ceil(length / 2) intervals plus the start point.
        assert_eq!(line.len(), (road.length() / 2.0).ceil() as usize + 1);
        for pair in line.windows(2) {
            let f = road.to_frenet(pair[0]);
            assert!((f.d - 1.75).abs() < 1e-9);
            // Spacing along the centre line: at most 2 m of reference line, stretched by
            // 1 − κ·d = 1 + 0.02·1.75 = 1.035 on the outside of the right turn (radius 50 m).
            assert!((pair[1] - pair[0]).norm() <= 2.0 * 1.035 + 1e-9);
        }
        assert!((road.to_frenet(line[line.len() - 1]).s - road.length()).abs() < 1e-9);
        let edge = road.boundary_line(3, 5.0).unwrap();
        assert!((road.to_frenet(edge[3]).d - 10.5).abs() < 1e-9);
        assert!(road.boundary_line(4, 5.0).is_err());
        assert!(road.lane_centre_line(0, 0.0).is_err());
    }

    #[test]
    fn markings_default_to_solid_edges_and_dashed_dividers() {
        let road = Road::straight(10.0, 3, 3.5).unwrap();
        use Marking::*;
        assert_eq!(road.markings(), &[Solid, Dashed, Dashed, Solid]);
        let road = road
            .with_markings(vec![None, Solid, Dashed, Solid])
            .unwrap();
        assert_eq!(road.markings()[1], Solid);
        assert_eq!(
            road.with_markings(vec![Solid]),
            Err(RoadError::MarkingCount {
                expected: 4,
                got: 1
            })
        );
    }

    #[test]
    fn invalid_roads_are_rejected() {
        assert_eq!(Road::straight(10.0, 0, 3.5), Err(RoadError::NoLanes));
        assert!(matches!(
            Road::straight(10.0, 2, -3.5),
            Err(RoadError::InvalidValue {
                name: "lane_width",
                ..
            })
        ));
        assert!(Road::straight(0.0, 2, 3.5).is_err());
        assert_eq!(
            Road::new(Point2::origin(), 0.0, &[], 1, 3.5),
            Err(RoadError::NoSegments)
        );
        // Two 3.5 m lanes on the inside of a 6 m radius left turn pass the centre.
        assert!(matches!(
            Road::new(Point2::origin(), 0.0, &[Segment::arc(6.0, 1.0)], 2, 3.5),
            Err(RoadError::TooTight { index: 0, .. })
        ));
        // A right turn of the same radius is fine until a right shoulder reaches the centre.
        let road = Road::new(Point2::origin(), 0.0, &[Segment::arc(6.0, -1.0)], 2, 3.5).unwrap();
        assert!(road.clone().with_shoulders(5.0, 0.0).is_ok());
        assert!(road.with_shoulders(6.5, 0.0).is_err());
    }
}
