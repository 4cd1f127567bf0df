//! Collision checks of ego trajectories against every object's predicted paths. Boxes are
//! covered by a row of discs; predictions are resampled once per cycle onto the planner's time
//! grid so a check is an indexed lookup, and discs are inflated by the prediction's std-dev.

use crate::types::{Object, PredictedPath};

/// A row of equal discs covering a `length` × `width` box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Discs {
    /// Disc centres along the heading, from the box centre (m); only the first `count` used.
    pub offsets: [f64; 5],
    /// Number of discs (1..=5).
    pub count: usize,
    /// Disc radius (m).
    pub radius: f64,
}

impl Discs {
    /// Discs for a box; more discs for slender boxes keep the lateral excess small.
    pub fn cover(length: f64, width: f64) -> Self {
        let (length, width) = (length.max(0.1), width.max(0.1));
        let count = ((1.5 * length / width).ceil() as usize).clamp(1, 5);
        let half = length / (2.0 * count as f64);
        let mut offsets = [0.0; 5];
        for (k, o) in offsets.iter_mut().enumerate().take(count) {
            *o = -length / 2.0 + half * (2 * k + 1) as f64;
        }
        Self {
            offsets,
            count,
            radius: half.hypot(width / 2.0),
        }
    }

    /// Radius of the circle around the box centre holding all discs.
    pub fn bound(&self) -> f64 {
        self.offsets[self.count - 1].abs() + self.radius
    }
}

/// A pose with velocity on the time grid.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sample {
    /// x (m).
    pub x: f64,
    /// y (m).
    pub y: f64,
    /// Heading (rad).
    pub yaw: f64,
    /// Velocity x (m/s).
    pub vx: f64,
    /// Velocity y (m/s).
    pub vy: f64,
}

/// One predicted future of one object on the time grid.
#[derive(Debug, Clone, PartialEq)]
struct Track {
    id: u64,
    // A follower in the ego's lane: contacts from behind are its to avoid, not the ego's.
    follower: bool,
    discs: Discs,
    samples: Vec<Sample>,
    inflation: Vec<f64>,
    // Axis-aligned box of the whole future, grown by the disc bound and inflation.
    bbox: [f64; 4],
}

/// Where and how hard a trajectory first meets an object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Grid step of the first contact.
    pub step: usize,
    /// The object hit.
    pub object: u64,
    /// Relative speed at contact (m/s).
    pub impact_speed: f64,
}

/// Settings of the collision check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollisionParams {
    /// Clearance added to every disc pair (m).
    pub margin: f64,
    /// Std-devs of the predicted position added to the object's discs.
    pub sigmas: f64,
    /// Growth of the position std-dev with prediction time (m/s).
    pub std_growth: f64,
    /// Paths less likely than this are ignored unless they are an object's only one.
    pub min_confidence: f64,
}

impl Default for CollisionParams {
    fn default() -> Self {
        Self {
            margin: 0.2,
            sigmas: 1.0,
            std_growth: 0.05,
            min_confidence: 0.1,
        }
    }
}

/// All objects' futures on a common time grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Obstacles {
    tracks: Vec<Track>,
    dt: f64,
    steps: usize,
}

fn interpolate(path: &PredictedPath, t: f64) -> Option<(f64, f64, f64, f64, f64)> {
    let s = &path.samples;
    let first = s.first()?;
    if s.len() == 1 || t <= first.t {
        return Some((first.x, first.y, first.yaw, 0.0, 0.0));
    }
    let i = s.partition_point(|p| p.t <= t).clamp(1, s.len() - 1);
    let (a, b) = (s[i - 1], s[i]);
    let span = (b.t - a.t).max(1e-6);
    let (vx, vy) = ((b.x - a.x) / span, (b.y - a.y) / span);
    // Beyond the last sample the object keeps its last velocity.
    let u = (t - a.t) / span;
    let yaw = a.yaw + crate::frenet::wrap_angle(b.yaw - a.yaw) * u.min(1.0);
    Some((a.x + vx * (t - a.t), a.y + vy * (t - a.t), yaw, vx, vy))
}

/// The future of an object without predictions: its current velocity, kept (the collision
/// check extends a path beyond its last sample at its last velocity).
pub fn constant_velocity_path(o: &Object) -> PredictedPath {
    PredictedPath {
        samples: vec![
            crate::types::PathSample {
                t: 0.0,
                x: o.pose.x,
                y: o.pose.y,
                yaw: o.pose.yaw,
            },
            crate::types::PathSample {
                t: 1.0,
                x: o.pose.x + o.vx,
                y: o.pose.y + o.vy,
                yaw: o.pose.yaw,
            },
        ],
        position_std: 0.2,
        confidence: 1.0,
    }
}

impl Obstacles {
    /// Resamples `objects` at `t = k·dt`, `k = 0..steps`; objects without paths move at
    /// constant velocity.
    pub fn new(objects: &[Object], dt: f64, steps: usize, params: &CollisionParams) -> Self {
        let mut tracks = Vec::with_capacity(objects.len());
        for o in objects {
            // A box may come wider than long ((w, l, yaw + π/2) is the same rectangle as
            // (l, w, yaw)); discs along its short side would each be as wide as its long one
            // and reach far beyond it, so the discs run along the long side.
            let (discs, turn) = if o.width > o.length {
                (Discs::cover(o.width, o.length), std::f64::consts::FRAC_PI_2)
            } else {
                (Discs::cover(o.length, o.width), 0.0)
            };
            let fallback;
            let paths: Vec<&PredictedPath> = if o.paths.iter().all(|p| p.samples.is_empty()) {
                fallback = constant_velocity_path(o);
                vec![&fallback]
            } else {
                let likely: Vec<&PredictedPath> = o
                    .paths
                    .iter()
                    .filter(|p| !p.samples.is_empty() && p.confidence >= params.min_confidence)
                    .collect();
                if likely.is_empty() {
                    o.paths
                        .iter()
                        .filter(|p| !p.samples.is_empty())
                        .take(1)
                        .collect()
                } else {
                    likely
                }
            };
            for path in paths {
                let mut samples = Vec::with_capacity(steps);
                let mut inflation = Vec::with_capacity(steps);
                let mut bbox = [
                    f64::INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::NEG_INFINITY,
                ];
                for k in 0..steps {
                    let t = k as f64 * dt;
                    let Some((x, y, yaw, vx, vy)) = interpolate(path, t) else {
                        break;
                    };
                    let std = path.position_std.max(0.0) + params.std_growth * t;
                    let grow = params.sigmas * std;
                    let reach = discs.bound() + grow;
                    bbox = [
                        bbox[0].min(x - reach),
                        bbox[1].min(y - reach),
                        bbox[2].max(x + reach),
                        bbox[3].max(y + reach),
                    ];
                    samples.push(Sample {
                        x,
                        y,
                        yaw: yaw + turn,
                        vx,
                        vy,
                    });
                    inflation.push(grow);
                }
                if samples.len() == steps {
                    tracks.push(Track {
                        id: o.id,
                        follower: false,
                        discs,
                        samples,
                        inflation,
                        bbox,
                    });
                }
            }
        }
        Self { tracks, dt, steps }
    }

    /// Marks objects following the ego in its lane: their contacts from behind are ignored,
    /// since a planner cannot brake or steer its way out of being rear-ended by a faster car
    /// that is predicted not to brake.
    pub fn set_followers(&mut self, ids: &[u64]) {
        for t in &mut self.tracks {
            t.follower = ids.contains(&t.id);
        }
    }

    /// Grid step (s).
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Number of grid steps.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Where object `id` (its first path) is at grid step `k`.
    pub fn position(&self, id: u64, k: usize) -> Option<Sample> {
        self.tracks
            .iter()
            .find(|t| t.id == id)
            .and_then(|t| t.samples.get(k).copied())
    }

    /// First contact of the ego footprint `ego` moving along `path` (one sample per grid step,
    /// possibly fewer) with any object, with `margin` clearance.
    pub fn first_hit(&self, ego: &Discs, path: &[Sample], margin: f64) -> Option<Hit> {
        self.first_hit_from(ego, path, margin, false)
    }

    /// As [`Obstacles::first_hit`] but only contacts with objects ahead of the ego: the
    /// threats that braking or steering can avoid.
    pub fn first_hit_ahead(&self, ego: &Discs, path: &[Sample], margin: f64) -> Option<Hit> {
        self.first_hit_from(ego, path, margin, true)
    }

    fn first_hit_from(
        &self,
        ego: &Discs,
        path: &[Sample],
        margin: f64,
        ahead_only: bool,
    ) -> Option<Hit> {
        let n = path.len().min(self.steps);
        if n == 0 {
            return None;
        }
        let reach = ego.bound() + margin;
        let mut bbox = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for p in &path[..n] {
            bbox = [
                bbox[0].min(p.x - reach),
                bbox[1].min(p.y - reach),
                bbox[2].max(p.x + reach),
                bbox[3].max(p.y + reach),
            ];
        }
        let mut best: Option<Hit> = None;
        for track in &self.tracks {
            let b = &track.bbox;
            if b[0] > bbox[2] || b[2] < bbox[0] || b[1] > bbox[3] || b[3] < bbox[1] {
                continue;
            }
            let limit = best.map_or(n, |h| h.step);
            for (k, p) in path[..limit].iter().enumerate() {
                let o = &track.samples[k];
                let infl = track.inflation[k] + margin;
                let (dx, dy) = (o.x - p.x, o.y - p.y);
                let bound = ego.bound() + track.discs.bound() + infl;
                if dx * dx + dy * dy > bound * bound {
                    continue;
                }
                if discs_touch(ego, p, &track.discs, o, infl) {
                    let behind = dx * p.yaw.cos() + dy * p.yaw.sin() < 0.0;
                    if behind && (track.follower || ahead_only) {
                        break;
                    }
                    best = Some(Hit {
                        step: k,
                        object: track.id,
                        impact_speed: (p.vx - o.vx).hypot(p.vy - o.vy),
                    });
                    break;
                }
            }
        }
        best
    }
}

fn discs_touch(a: &Discs, pa: &Sample, b: &Discs, pb: &Sample, extra: f64) -> bool {
    let (ca, sa) = (pa.yaw.cos(), pa.yaw.sin());
    let (cb, sb) = (pb.yaw.cos(), pb.yaw.sin());
    let r = a.radius + b.radius + extra;
    let r2 = r * r;
    for &oa in &a.offsets[..a.count] {
        let (ax, ay) = (pa.x + oa * ca, pa.y + oa * sa);
        for &ob in &b.offsets[..b.count] {
            let (dx, dy) = (pb.x + ob * cb - ax, pb.y + ob * sb - ay);
            if dx * dx + dy * dy <= r2 {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Pose2;

    fn car(id: u64, x: f64, y: f64, vx: f64) -> Object {
        Object {
            id,
            pose: Pose2 { x, y, yaw: 0.0 },
            length: 4.5,
            width: 1.8,
            vx,
            ..Object::default()
        }
    }

    #[test]
    fn a_box_given_wider_than_long_is_covered_along_its_long_side() {
        // A parked car published as 1.8 long and 4.4 wide at yaw −π/2: the same footprint as
        // 4.4 × 1.8 along x. Its side is 0.9 m from the ego's path's, so driving past is free
        // (discs along its 1.8 m side would reach 2.38 m from its centre, 0.6 m into the ego).
        let mut parked = car(1, 20.0, -2.7, 0.0);
        parked.pose.yaw = -std::f64::consts::FRAC_PI_2;
        (parked.length, parked.width) = (1.8, 4.4);
        let obstacles = Obstacles::new(&[parked], 0.1, 40, &CollisionParams::default());
        let ego = Discs::cover(4.5, 1.6);
        let path: Vec<Sample> = (0..40)
            .map(|k| Sample {
                x: 1.0 * f64::from(k),
                vx: 10.0,
                ..Sample::default()
            })
            .collect();
        assert_eq!(obstacles.first_hit(&ego, &path, 0.0), None);
        // 1.5 m further left it is hit.
        let mut closer = car(1, 20.0, -1.2, 0.0);
        closer.pose.yaw = -std::f64::consts::FRAC_PI_2;
        (closer.length, closer.width) = (1.8, 4.4);
        let obstacles = Obstacles::new(&[closer], 0.1, 40, &CollisionParams::default());
        assert!(obstacles.first_hit(&ego, &path, 0.0).is_some());
    }

    #[test]
    fn discs_cover_the_box_with_small_lateral_excess() {
        let d = Discs::cover(4.5, 1.8);
        assert_eq!(d.count, 4);
        // Half-spacing 0.5625: radius √(0.5625² + 0.9²) = 1.0613.
        assert!((d.radius - 1.0613).abs() < 1e-4);
        assert!((d.offsets[0] + 1.6875).abs() < 1e-12);
        assert!((d.bound() - (1.6875 + d.radius)).abs() < 1e-12);
    }

    #[test]
    fn followers_hitting_from_behind_are_not_the_egos_contacts() {
        let mut obstacles = Obstacles::new(
            &[car(3, -10.0, 0.0, 20.0)],
            0.1,
            50,
            &CollisionParams::default(),
        );
        let ego = Discs::cover(4.5, 1.8);
        let path: Vec<Sample> = (0..50)
            .map(|k| Sample {
                x: 10.0 * k as f64 * 0.1,
                vx: 10.0,
                ..Sample::default()
            })
            .collect();
        assert_eq!(
            obstacles.first_hit(&ego, &path, 0.0).map(|h| h.object),
            Some(3)
        );
        obstacles.set_followers(&[3]);
        assert_eq!(obstacles.first_hit(&ego, &path, 0.0), None);
    }

    #[test]
    fn a_stopped_car_ahead_is_hit_at_the_right_step_and_speed() {
        let obstacles = Obstacles::new(
            &[car(7, 30.0, 0.0, 0.0), car(8, 30.0, 3.5, 0.0)],
            0.1,
            50,
            &CollisionParams {
                std_growth: 0.0,
                ..CollisionParams::default()
            },
        );
        let ego = Discs::cover(4.5, 1.8);
        let path: Vec<Sample> = (0..50)
            .map(|k| Sample {
                x: 10.0 * k as f64 * 0.1,
                vx: 10.0,
                ..Sample::default()
            })
            .collect();
        let hit = obstacles.first_hit(&ego, &path, 0.0).unwrap();
        assert_eq!(hit.object, 7);
        // Fronts meet near x = 30 − 4.5 = 25.5 m (discs round the corners, std 0.2 inflates).
        assert!((20..=26).contains(&hit.step), "{hit:?}");
        assert!((hit.impact_speed - 10.0).abs() < 1e-9);
        // The same path one lane to the right is clear.
        let right: Vec<Sample> = path.iter().map(|p| Sample { y: -3.5, ..*p }).collect();
        assert_eq!(obstacles.first_hit(&ego, &right, 0.0), None);
    }
}
