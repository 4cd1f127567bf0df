//! Object classes from box size and shape, with a confidence.
//!
//! Each class is a prototype of length, width and height ranges; a box scores about 1 on a
//! range it lies in (most at the typical size) and falls off linearly outside. Objects are
//! often seen partially (a car from behind shows its 1.7 m rear but hardly any length), so a
//! box may also match a prototype with one side fully visible and the other shorter than in
//! life, at a lower confidence. Size alone cannot tell some views apart: a cyclist or a
//! motorcycle seen end-on is as narrow as a child, and a car's rear is as long as a cyclist's
//! side; the tracker's history has to settle those.
//! Road ranges bracket the Euro NCAP targets the simulator uses (nodes/sim/src/actors.rs):
//! GVT car 4.023 × 1.712 × 1.427, parked car 4.418 × 1.82 × 1.533, truck 10.0 × 2.55 × 3.5,
//! motorcycle 2.08 × 0.79 × 1.06, bicycle 1.89 × 0.5 × 1.2, adult 0.6 × 0.5 × 1.8,
//! child 0.711 × 0.298 × 1.154, with room for real vehicles and people.

use crate::circle::Circle;
use crate::tracker::Class;

/// Which set of classes applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClassifierMode {
    /// Road users: cars, trucks, two-wheelers, pedestrians.
    Road,
    /// Objects on a table: cups and boxes.
    Table,
}

/// What the classifier looks at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Box length (m), at least `width`.
    pub length: f64,
    /// Box width (m).
    pub width: f64,
    /// Box height (m).
    pub height: f64,
    /// Sensor points in the object.
    pub points: usize,
    /// Convex hull area over box footprint area: about π/4 for a cylinder, 1 for a box.
    pub fill: f64,
    /// How much taller than `height` the object may be (m): a lidar's next channel above the
    /// highest return passes this far higher at the object's range, so the true top lies
    /// anywhere in between. 0 for dense sensors.
    pub height_slack: f64,
    /// How the footprint of the object's side fits a circle and a rectangle (table objects);
    /// `None` where none was fitted.
    pub side: Option<SideFit>,
}

/// The footprint of an object's side (its points below the top face, on the table plane)
/// against the two shapes on a table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SideFit {
    /// The circle through it, whose radius tells a cup's size however little of it is seen.
    pub circle: Circle,
    /// Root mean square distance from the nearest edge of its minimum-area rectangle (m).
    pub edge_rms: f64,
}

impl SideFit {
    /// 1 when the side is clearly round, 0 when it is clearly flat: the circle must fit at
    /// least twice as closely as the rectangle's edges (a box corner fits a circle about as
    /// badly as a cup's arc fits a rectangle: 0.06 × its side), and within [`ROUND_RMS`] to
    /// [`NOT_ROUND_RMS`].
    pub fn roundness(&self) -> f64 {
        let rms = self.circle.rms;
        let relative = if self.edge_rms > 0.0 {
            ((1.0 - rms / self.edge_rms) / 0.5).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let absolute = ((NOT_ROUND_RMS - rms) / (NOT_ROUND_RMS - ROUND_RMS)).clamp(0.0, 1.0);
        relative * absolute
    }
}

/// An interval `[lo, hi]` of plausible sizes (m) around a typical one.
#[derive(Debug, Clone, Copy)]
struct Range {
    lo: f64,
    typical: f64,
    hi: f64,
}

/// A range whose typical size is its middle.
const fn range(lo: f64, hi: f64) -> Range {
    Range {
        lo,
        typical: 0.5 * (lo + hi),
        hi,
    }
}

/// A range around a known typical size (a Euro NCAP target's).
const fn around(lo: f64, typical: f64, hi: f64) -> Range {
    Range { lo, typical, hi }
}

impl Range {
    /// Fall-off distance outside the range: measured boxes are noisy by a few centimetres
    /// and by more for large objects.
    fn margin(&self, base: f64) -> f64 {
        base + 0.1 * self.hi
    }

    /// 0.9 to 1 inside the range, peaking at the typical size, so that overlapping ranges
    /// are settled by the nearer typical size; linearly down to 0 one margin outside.
    fn fit(&self, v: f64, base: f64) -> f64 {
        let inside = 1.0 - 0.1 * (v - self.typical).abs() / (self.hi - self.lo).max(1e-9);
        if v < self.lo {
            0.9 * (1.0 - (self.lo - v) / self.margin(base)).max(0.0)
        } else if v > self.hi {
            0.9 * (1.0 - (v - self.hi) / self.margin(base)).max(0.0)
        } else {
            inside
        }
    }

    /// How well a size known only to lie in `[v, v + slack]` fits: fully when the interval
    /// admits the typical size, else the nearer end's [`Range::fit`], lowered by its distance
    /// to the typical size, so that a bound which rules the typical size out (a 1.15 m top
    /// seen from 10 m, where the next channel passes at 1.4 m) favours the class it admits.
    fn fit_between(&self, v: f64, slack: f64, base: f64) -> f64 {
        if v > self.typical || slack <= 0.0 {
            return self.fit(v, base);
        }
        let top = v + slack;
        if top >= self.typical {
            return 1.0;
        }
        let off = (self.typical - top) / (self.hi - self.lo).max(1e-9);
        self.fit(top, base) * (1.0 - 0.5 * off).max(0.5)
    }

    /// Like [`Range::fit`] but any size up to the typical one fits fully: a partly seen side.
    fn fit_at_most(&self, v: f64, base: f64) -> f64 {
        if v <= self.typical {
            1.0
        } else {
            self.fit(v, base)
        }
    }
}

/// A class and its size ranges.
struct Prototype {
    class: Class,
    length: Range,
    width: Range,
    height: Range,
    /// Weight of partial-view matches: where two classes explain a partial view equally
    /// (a car's rear or a cyclist's side), the car, far more common on roads, wins.
    partial_prior: f64,
    /// Weight of every match: where a sparse view fits an adult and a child alike, the adult,
    /// far more common, wins; a child is claimed once its height rules an adult out.
    prior: f64,
}

const ROAD: [Prototype; 6] = [
    Prototype {
        class: Class::Car,
        length: around(3.3, 4.023, 5.6),
        width: around(1.5, 1.712, 2.1),
        height: around(1.3, 1.427, 2.0),
        partial_prior: 0.6,
        prior: 1.0,
    },
    Prototype {
        class: Class::Truck,
        length: around(5.5, 10.0, 18.0),
        width: around(2.1, 2.55, 2.8),
        height: around(2.2, 3.5, 4.2),
        partial_prior: 0.6,
        prior: 1.0,
    },
    Prototype {
        class: Class::Motorcycle,
        length: around(1.6, 2.08, 2.5),
        width: around(0.6, 0.79, 1.0),
        height: around(0.9, 1.06, 1.6),
        partial_prior: 0.55,
        prior: 1.0,
    },
    Prototype {
        class: Class::Bicycle,
        length: around(1.4, 1.89, 2.0),
        width: around(0.3, 0.5, 0.65),
        height: around(1.1, 1.2, 1.9),
        partial_prior: 0.55,
        prior: 1.0,
    },
    Prototype {
        class: Class::Pedestrian,
        length: around(0.0, 0.6, 1.0),
        width: around(0.0, 0.5, 0.8),
        height: around(1.3, 1.8, 2.1),
        partial_prior: 0.55,
        prior: 1.0,
    },
    Prototype {
        class: Class::Child,
        length: around(0.0, 0.711, 0.9),
        width: around(0.0, 0.298, 0.5),
        height: around(0.8, 1.154, 1.3),
        partial_prior: 0.55,
        prior: 0.9,
    },
];

/// Base fall-off outside a road range (m).
const ROAD_MARGIN: f64 = 0.1;
/// Base fall-off outside a table range (m).
const TABLE_MARGIN: f64 = 0.01;
/// Below this score nothing is claimed.
const MIN_SCORE: f64 = 0.3;
/// Points at which a cluster counts as well observed; sparser ones get less confidence.
const WELL_SEEN_POINTS: f64 = 30.0;
/// Lead over the runner-up class (as a share of the best score) from which a class is
/// claimed with full confidence; a tie halves it.
const CLEAR_LEAD: f64 = 0.3;

/// Scores `shape` against a prototype: the best of a full view and the partial views.
fn score(p: &Prototype, s: &Shape, base: f64) -> f64 {
    let h = p
        .height
        .fit_between(s.height, s.height_slack.max(0.0), base);
    let full = p.length.fit(s.length, base) * p.width.fit(s.width, base);
    // Length side seen whole, width side partly; width side seen whole (from the end),
    // length side partly; width side whole and the length side partly, as the longer one.
    let side = p.length.fit(s.length, base) * p.width.fit_at_most(s.width, base);
    let end = p.width.fit(s.length, base);
    let corner = p.width.fit(s.width, base) * p.length.fit_at_most(s.length, base);
    p.prior * h * full.max(p.partial_prior * side.max(end).max(corner))
}

/// Confidence scale for the number of points behind a shape.
fn evidence(points: usize) -> f64 {
    0.5 + 0.5 * (points as f64 / WELL_SEEN_POINTS).min(1.0)
}

/// Classifies a road object; `Unknown` comes with the confidence that it is none of the
/// known classes.
pub fn classify_road(s: &Shape) -> (Class, f32) {
    let (mut best, mut second) = ((Class::Unknown, 0.0), 0.0);
    for p in &ROAD {
        let v = score(p, s, ROAD_MARGIN);
        if v > best.1 {
            second = best.1;
            best = (p.class, v);
        } else if v > second {
            second = v;
        }
    }
    let (class, confidence) = finish(best, s.points);
    if class == Class::Unknown {
        return (class, confidence);
    }
    // Two classes that explain the shape equally well (an adult seen by so few channels that
    // its height could be a child's) are a guess: the tracker should weigh clear views more.
    (class, confidence * clarity(best.1, second) as f32)
}

/// Confidence scale for the lead of the best class score over the runner-up: 0.5 for a
/// tie, 1 from a lead of [`CLEAR_LEAD`] of the best score.
fn clarity(best: f64, second: f64) -> f64 {
    if best <= 0.0 {
        return 1.0;
    }
    0.5 + 0.5 * ((best - second) / (CLEAR_LEAD * best)).clamp(0.0, 1.0)
}

fn finish((class, score): (Class, f64), points: usize) -> (Class, f32) {
    if score < MIN_SCORE {
        (Class::Unknown, (1.0 - score) as f32)
    } else {
        (class, (score * evidence(points)) as f32)
    }
}

/// Distance from the fitted circle (rms, m) up to which a side counts as round: a depth
/// camera's 2 mm range noise, averaged in 5 mm voxels, leaves about 1-2 mm on a cup.
const ROUND_RMS: f64 = 0.003;
/// Distance from the fitted circle (rms, m) from which a side is not round at all (the
/// corner of a box fits a circle about this badly).
const NOT_ROUND_RMS: f64 = 0.006;

/// Cup diameters (m).
const CUP_DIAMETER: Range = range(0.05, 0.12);
/// Cup heights (m).
const CUP_HEIGHT: Range = range(0.07, 0.15);

/// Whether a table object has a cup's size (a cup-sized circle through its side, a cup's
/// height), whatever its class: the short, nearly straight arc of a mostly hidden cup may fit
/// a rectangle as well as a circle and be classed nothing, and then its box centre is
/// centimetres off.
pub fn may_be_cup(s: &Shape) -> bool {
    s.side.is_some_and(|f| {
        CUP_DIAMETER.fit(2.0 * f.circle.radius, TABLE_MARGIN) > 0.0
            && CUP_HEIGHT.fit(s.height, TABLE_MARGIN) > 0.0
    })
}

/// Classifies an object on a table: round cups, boxy boxes. A cup is judged by the circle
/// through its side (its radius and how much better the points fit it than a rectangle) and
/// its height, not by the box around its visible part, which for a half-seen cup is half as
/// deep as wide; the hull of a partly hidden cup can fill its box like a box's would.
pub fn classify_table(s: &Shape) -> (Class, f32) {
    let round = s.side.map_or(0.0, |f| f.roundness());
    let cup = s.side.map_or(0.0, |f| {
        CUP_DIAMETER.fit(2.0 * f.circle.radius, TABLE_MARGIN)
            * CUP_HEIGHT.fit(s.height, TABLE_MARGIN)
            * round
    });
    // A box's hull fills its footprint; a cylinder's (seen whole, from above) about π/4.
    let boxiness = ((s.fill - 0.85) / (0.92 - 0.85)).clamp(0.0, 1.0) * (1.0 - round);
    let side = range(0.03, 0.6);
    let boxy = side.fit(s.length, TABLE_MARGIN)
        * side.fit(s.width, TABLE_MARGIN)
        * range(0.02, 0.5).fit(s.height, TABLE_MARGIN)
        * boxiness;
    let best = if cup >= boxy {
        (Class::Cup, cup)
    } else {
        (Class::Box, boxy)
    };
    finish(best, s.points)
}

/// Classifies `shape` in the given mode.
pub fn classify(mode: ClassifierMode, shape: &Shape) -> (Class, f32) {
    match mode {
        ClassifierMode::Road => classify_road(shape),
        ClassifierMode::Table => classify_table(shape),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(length: f64, width: f64, height: f64) -> Shape {
        Shape {
            length,
            width,
            height,
            points: 200,
            fill: 1.0,
            height_slack: 0.0,
            side: None,
        }
    }

    fn circle(radius: f64, rms: f64, edge_rms: f64) -> Option<SideFit> {
        let circle = Circle {
            cx: 0.0,
            cy: 0.0,
            radius,
            rms,
            centre_std: 0.001,
        };
        Some(SideFit { circle, edge_rms })
    }

    #[test]
    fn ncap_targets_seen_whole() {
        // (length, width, height) from nodes/sim/src/actors.rs, with length ≥ width.
        let cases = [
            ((4.023, 1.712, 1.427), Class::Car),
            ((4.418, 1.82, 1.533), Class::Car),
            ((4.316, 1.79, 1.48), Class::Car),
            ((10.0, 2.55, 3.5), Class::Truck),
            ((2.08, 0.79, 1.06), Class::Motorcycle),
            ((1.89, 0.5, 1.2), Class::Bicycle),
            ((0.6, 0.5, 1.8), Class::Pedestrian),
            ((0.711, 0.298, 1.154), Class::Child),
        ];
        for ((l, w, h), class) in cases {
            let (c, conf) = classify_road(&shape(l, w, h));
            assert_eq!(c, class, "{l} × {w} × {h}");
            // A child is 0.9 of a perfect score by its prior.
            assert!(conf >= 0.85, "{l} × {w} × {h}: {conf}");
        }
    }

    #[test]
    fn ncap_targets_seen_partially() {
        // Measured boxes of one visible side: the far extent is a few centimetres of noise.
        let cases = [
            ((1.712, 0.1, 1.427), Class::Car),       // car from behind
            ((4.023, 0.1, 1.427), Class::Car),       // car from the side
            ((2.7, 1.712, 1.427), Class::Car),       // car's rear and half its side
            ((2.55, 0.2, 3.5), Class::Truck),        // truck from behind
            ((2.08, 0.05, 1.06), Class::Motorcycle), // motorcycle side-on
            ((1.89, 0.05, 1.2), Class::Bicycle),     // cyclist side-on
        ];
        for ((l, w, h), class) in cases {
            let (c, conf) = classify_road(&shape(l, w, h));
            assert_eq!(c, class, "{l} × {w} × {h}");
            assert!(conf > 0.3 && conf < 0.9, "{l} × {w} × {h}: {conf}");
        }
    }

    #[test]
    fn sparse_and_strange_objects() {
        let mut s = shape(4.023, 1.712, 1.427);
        s.points = 6;
        let (c, conf) = classify_road(&s);
        assert_eq!(c, Class::Car);
        assert!((conf - 0.6).abs() < 1e-6, "{conf}");
        // A 3 m tall pole and a low 1 m wide kerb stone are nothing known.
        assert_eq!(classify_road(&shape(0.3, 0.3, 3.0)).0, Class::Unknown);
        assert_eq!(classify_road(&shape(1.0, 0.2, 0.3)).0, Class::Unknown);
        assert_eq!(classify_road(&shape(30.0, 0.5, 2.0)).0, Class::Unknown);
    }

    #[test]
    fn a_sparse_view_bounds_the_height_from_below() {
        // An adult 25 m away under a 32-channel lidar 1.8 m up: the channel at 0° passes just
        // over the head, the one at -1.33° hits it at 1.8 - 25 tan 1.33° = 1.22 m; the top is
        // anywhere in [1.22, 1.8]. Adult and child fit alike: the adult wins, with little
        // confidence.
        let mut far = shape(0.55, 0.15, 1.22);
        far.height_slack = 0.58;
        let (c, conf) = classify_road(&far);
        assert_eq!(c, Class::Pedestrian);
        assert!(conf < 0.75, "{conf}");
        // Without the bound the same box is a child.
        far.height_slack = 0.0;
        assert_eq!(classify_road(&far).0, Class::Child);
        // A child 10 m away: top 1.15 m, the next channel passes at 1.38 m, which rules an
        // adult out.
        let mut child = shape(0.7, 0.3, 1.15);
        child.height_slack = 0.23;
        assert_eq!(classify_road(&child).0, Class::Child);
        // A car's rear 60 m away: one channel hits it 0.4 m up, the next passes 1.4 m higher.
        let mut rear = shape(1.71, 0.05, 0.4);
        rear.points = 8;
        assert_eq!(classify_road(&rear).0, Class::Unknown);
        rear.height_slack = 1.4;
        assert_eq!(classify_road(&rear).0, Class::Car);
    }

    #[test]
    fn cups_and_boxes() {
        let mut cup = shape(0.08, 0.08, 0.1);
        cup.fill = 0.78;
        cup.side = circle(0.04, 0.0015, 0.006);
        assert_eq!(classify_table(&cup).0, Class::Cup);
        assert!(classify_table(&cup).1 > 0.9);
        // Half a cup, its top hidden: its visible part's box is 8 × 4 cm and its hull fills
        // 0.9 of it, like a box's, but its circle is still 4 cm and fits it closely.
        let mut half = shape(0.08, 0.04, 0.1);
        half.fill = 0.9;
        half.side = circle(0.04, 0.0015, 0.005);
        assert_eq!(classify_table(&half).0, Class::Cup);
        // Round size, but without a circle (none fitted), with points far off it, or fitting
        // the rectangle as well as the circle: no cup.
        cup.side = None;
        assert_ne!(classify_table(&cup).0, Class::Cup);
        cup.side = circle(0.04, 0.007, 0.01);
        assert_ne!(classify_table(&cup).0, Class::Cup);
        cup.side = circle(0.04, 0.002, 0.002);
        assert_ne!(classify_table(&cup).0, Class::Cup);
        let boxy = shape(0.2, 0.1, 0.1);
        assert_eq!(classify_table(&boxy).0, Class::Box);
        // A small cube is a box, not a cup: its corner fits a 2.4 cm circle within 2.5 mm
        // (circle.rs), its edges within the noise.
        let mut cube = shape(0.04, 0.04, 0.1);
        cube.side = circle(0.024, 0.0025, 0.001);
        assert_eq!(classify_table(&cube).0, Class::Box);
        let mut bowl = shape(0.25, 0.25, 0.08);
        bowl.fill = 0.78;
        bowl.side = circle(0.125, 0.001, 0.02);
        assert_eq!(classify_table(&bowl).0, Class::Unknown);
        assert_eq!(classify(ClassifierMode::Table, &half).0, Class::Cup);
        // Which have a cup's size at all: the half cup, also when its arc is too short to tell
        // from a straight side (a cup mostly hidden by the arm in layout 3 of the arm world:
        // its hull fills 0.77 of its box); not the bowl (too wide) or a flat lid (too low).
        assert!(may_be_cup(&half));
        half.side = circle(0.04, 0.0015, 0.0015);
        half.fill = 0.77;
        assert!(may_be_cup(&half) && classify_table(&half).0 == Class::Unknown);
        assert!(!may_be_cup(&bowl));
        let mut lid = shape(0.08, 0.08, 0.02);
        lid.side = circle(0.04, 0.001, 0.005);
        assert!(!may_be_cup(&lid));
    }
}
