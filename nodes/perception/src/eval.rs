//! Judging perception against ground truth: precision and recall per class and range band,
//! position and velocity error, identity switches, and how long a newly visible object waits
//! for its first confirmed track.

use std::collections::{BTreeMap, HashMap};

use crate::tracker::Class;

/// One ground-truth object in one frame, in the frame the outputs use.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthObject {
    /// The simulator's id.
    pub id: u64,
    /// What it is.
    pub class: Class,
    /// Box centre, m.
    pub x: f64,
    /// Box centre, m.
    pub y: f64,
    /// Velocity, m/s.
    pub vx: f64,
    /// Velocity, m/s.
    pub vy: f64,
    /// Share of the sensor's rays aimed at it that reach it; `None` when the frame has no
    /// visibility data (then every object counts as visible).
    pub visible_fraction: Option<f64>,
}

/// One object the perception output in one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputObject {
    /// Track id.
    pub id: u64,
    /// Most likely class.
    pub class: Class,
    /// Box centre, m.
    pub x: f64,
    /// Box centre, m.
    pub y: f64,
    /// Velocity, m/s.
    pub vx: f64,
    /// Velocity, m/s.
    pub vy: f64,
}

/// Ground truth and output at one sensor stamp.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalFrame {
    /// Stamp, s.
    pub t: f64,
    /// Where the sensor was (ranges are measured from here), m.
    pub sensor: (f64, f64),
    /// Ground truth.
    pub truth: Vec<TruthObject>,
    /// What perception reported.
    pub output: Vec<OutputObject>,
}

/// How the comparison is made.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalParams {
    /// Upper ends of the range bands, ascending, m; objects beyond the last are ignored.
    pub range_bands: Vec<f64>,
    /// An output within this distance of a truth object's centre can match it, m.
    pub match_distance: f64,
    /// A truth object counts for recall when at least this share of it is visible
    /// ("unoccluded").
    pub visible_for_recall: f64,
    /// An object counts as newly visible at the first frame with at least this share; one
    /// that drops below it again before a track covers it is newly visible when it returns.
    pub visible_for_delay: f64,
    /// Velocity is judged once a track has followed its object this long, s.
    pub velocity_settle_s: f64,
}

impl Default for EvalParams {
    fn default() -> Self {
        Self {
            range_bands: vec![30.0, 60.0, 100.0],
            match_distance: 2.0,
            visible_for_recall: 0.5,
            visible_for_delay: 0.3,
            velocity_settle_s: 0.5,
        }
    }
}

/// Counts for one class in one range band.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// Visible truth objects matched by an output.
    pub truth_matched: usize,
    /// Visible truth objects.
    pub truth_visible: usize,
    /// Outputs that matched a truth object.
    pub output_matched: usize,
    /// Outputs.
    pub outputs: usize,
    /// Matches whose output class equals the truth class.
    pub class_correct: usize,
}

impl Counts {
    /// Matched / visible truth; `None` without visible truth.
    pub fn recall(&self) -> Option<f64> {
        (self.truth_visible > 0).then(|| self.truth_matched as f64 / self.truth_visible as f64)
    }

    /// Matched / all outputs; `None` without outputs.
    pub fn precision(&self) -> Option<f64> {
        (self.outputs > 0).then(|| self.output_matched as f64 / self.outputs as f64)
    }
}

/// Summary statistics of a list of errors.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ErrorStats {
    /// Samples.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Largest.
    pub max: f64,
}

impl ErrorStats {
    fn of(mut v: Vec<f64>) -> Self {
        if v.is_empty() {
            return Self::default();
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        Self {
            n,
            mean: v.iter().sum::<f64>() / n as f64,
            p95: v[((n as f64 * 0.95).ceil() as usize).clamp(1, n) - 1],
            max: v[n - 1],
        }
    }
}

/// When one truth object became visible and when a confirmed track first covered it.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstSight {
    /// The truth object.
    pub id: u64,
    /// Its class.
    pub class: Class,
    /// Frame stamp from which the object stayed at least `visible_for_delay` visible until a
    /// track covered it (or the end), s.
    pub visible_at: f64,
    /// Range then, m.
    pub range: f64,
    /// Stamp of the first frame it was that visible, if it was hidden again before being
    /// covered: a far object glimpsed by one ray of three past a parked car, then hidden by
    /// it, could not be seen in between, and the delay is not counted from the glimpse.
    pub glimpsed_at: Option<f64>,
    /// Frames from that one to the first frame it was matched; `None` if never.
    pub delay_frames: Option<usize>,
    /// The same in seconds.
    pub delay_s: Option<f64>,
}

/// A truth object visible enough for recall that nothing matched, or an output that matched
/// no truth object: what to look at when the numbers disappoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmatched {
    /// Frame stamp, s.
    pub t: f64,
    /// True for a missed truth object, false for an output without truth.
    pub is_truth: bool,
    /// The object's or track's id.
    pub id: u64,
    /// Its class.
    pub class: Class,
    /// Centre, m.
    pub x: f64,
    /// Centre, m.
    pub y: f64,
    /// Distance of the nearest object on the other side, m (infinite when there is none).
    pub nearest: f64,
}

/// One settled match's velocity, for finding where a velocity error comes from (a
/// manoeuvre's onset, a braking, an id switch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VelocitySample {
    /// Frame stamp, s.
    pub t: f64,
    /// The truth object's id.
    pub id: u64,
    /// Its class.
    pub class: Class,
    /// The matched track's id.
    pub track: u64,
    /// True velocity (vx, vy), m/s.
    pub truth: (f64, f64),
    /// The track's velocity (vx, vy), m/s.
    pub output: (f64, f64),
    /// Their difference's length, m/s.
    pub error: f64,
}

/// How well one truth object was found over the whole run: what a pick needs per object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectReport {
    /// The truth object.
    pub id: u64,
    /// Its class.
    pub class: Class,
    /// Frames in which it counted for recall (visible enough, within the bands).
    pub frames_visible: usize,
    /// Of those, frames in which an output matched it.
    pub frames_matched: usize,
    /// Frames in which the matching output had its class.
    pub frames_class_correct: usize,
    /// Centre distance of its matches, m.
    pub position_error: ErrorStats,
}

/// The whole evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Frames judged.
    pub frames: usize,
    /// Range band upper ends, m.
    pub range_bands: Vec<f64>,
    /// Counts per truth class (outputs: per output class) and band index.
    pub counts: BTreeMap<(String, usize), Counts>,
    /// Centre distance of matches, per truth class, m.
    pub position_error: BTreeMap<String, ErrorStats>,
    /// Velocity error of matches tracked at least `velocity_settle_s`, per truth class, m/s.
    pub velocity_error: BTreeMap<String, ErrorStats>,
    /// The matches behind `velocity_error`, frame by frame.
    pub velocity_samples: Vec<VelocitySample>,
    /// Times a truth object's matched track id changed.
    pub id_switches: usize,
    /// Per truth object that became visible.
    pub first_sight: Vec<FirstSight>,
    /// Every miss and every false output, frame by frame, within the range bands.
    pub unmatched: Vec<Unmatched>,
    /// Per truth object, by id.
    pub objects: Vec<ObjectReport>,
}

impl Report {
    /// Counts for a truth class over all bands up to and including the band ending at
    /// `max_range`.
    pub fn within(&self, class: Class, max_range: f64) -> Counts {
        let name = class_name(class);
        let mut total = Counts::default();
        for ((c, band), n) in &self.counts {
            if c == name
                && self
                    .range_bands
                    .get(*band)
                    .is_some_and(|&end| end <= max_range)
            {
                total.truth_matched += n.truth_matched;
                total.truth_visible += n.truth_visible;
                total.output_matched += n.output_matched;
                total.outputs += n.outputs;
                total.class_correct += n.class_correct;
            }
        }
        total
    }
}

/// Lower-case class name used in reports.
pub fn class_name(class: Class) -> &'static str {
    match class {
        Class::Unknown => "unknown",
        Class::Car => "car",
        Class::Truck => "truck",
        Class::Motorcycle => "motorcycle",
        Class::Bicycle => "bicycle",
        Class::Pedestrian => "pedestrian",
        Class::Child => "child",
        Class::Cup => "cup",
        Class::Box => "box",
    }
}

fn band(params: &EvalParams, range: f64) -> Option<usize> {
    params.range_bands.iter().position(|&end| range < end)
}

/// Pairs truth and output objects nearest first within `gate` (each used once).
fn match_frame(frame: &EvalFrame, gate: f64) -> Vec<(usize, usize, f64)> {
    let mut pairs = Vec::new();
    for (i, t) in frame.truth.iter().enumerate() {
        for (j, o) in frame.output.iter().enumerate() {
            let d = (t.x - o.x).hypot(t.y - o.y);
            if d <= gate {
                pairs.push((i, j, d));
            }
        }
    }
    pairs.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let (mut used_t, mut used_o) = (
        vec![false; frame.truth.len()],
        vec![false; frame.output.len()],
    );
    let mut matches = Vec::new();
    for (i, j, d) in pairs {
        if !used_t[i] && !used_o[j] {
            used_t[i] = true;
            used_o[j] = true;
            matches.push((i, j, d));
        }
    }
    matches
}

/// Evaluates `frames` (in time order).
pub fn evaluate(frames: &[EvalFrame], params: &EvalParams) -> Report {
    let mut report = Report {
        frames: frames.len(),
        range_bands: params.range_bands.clone(),
        ..Report::default()
    };
    let mut pos: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    // Per truth id: the track that last covered it, and since when that pairing holds.
    let mut last_track: HashMap<u64, (u64, f64)> = HashMap::new();
    // Per truth object: where its first sight is in the report, and the frame index and stamp
    // from which it has been visible without a break (`None` while hidden).
    let mut appeared: HashMap<u64, (usize, Option<(usize, f64)>)> = HashMap::new();
    // Per truth id: its report and its centre errors.
    let mut objects: BTreeMap<u64, (ObjectReport, Vec<f64>)> = BTreeMap::new();

    for (k, frame) in frames.iter().enumerate() {
        let range = |x: f64, y: f64| (x - frame.sensor.0).hypot(y - frame.sensor.1);
        let matches = match_frame(frame, params.match_distance);
        let truth_match: HashMap<usize, (usize, f64)> =
            matches.iter().map(|&(i, j, d)| (i, (j, d))).collect();
        let output_matched: HashMap<usize, usize> =
            matches.iter().map(|&(i, j, _)| (j, i)).collect();

        let nearest = |x: f64, y: f64, truth: bool| -> f64 {
            let d = |ox: f64, oy: f64| (ox - x).hypot(oy - y);
            if truth {
                frame
                    .output
                    .iter()
                    .map(|o| d(o.x, o.y))
                    .fold(f64::INFINITY, f64::min)
            } else {
                frame
                    .truth
                    .iter()
                    .map(|t| d(t.x, t.y))
                    .fold(f64::INFINITY, f64::min)
            }
        };
        for (j, o) in frame.output.iter().enumerate() {
            let Some(b) = band(params, range(o.x, o.y)) else {
                continue;
            };
            if !output_matched.contains_key(&j) {
                report.unmatched.push(Unmatched {
                    t: frame.t,
                    is_truth: false,
                    id: o.id,
                    class: o.class,
                    x: o.x,
                    y: o.y,
                    nearest: nearest(o.x, o.y, false),
                });
            }
            let c = report
                .counts
                .entry((class_name(o.class).to_owned(), b))
                .or_default();
            c.outputs += 1;
            if output_matched.contains_key(&j) {
                c.output_matched += 1;
            }
        }

        for (i, t) in frame.truth.iter().enumerate() {
            let r = range(t.x, t.y);
            let visible = t.visible_fraction.unwrap_or(1.0);
            let name = class_name(t.class).to_owned();
            let matched = truth_match.get(&i).map(|&(j, d)| (&frame.output[j], d));

            let in_view = visible >= params.visible_for_delay;
            match appeared.get_mut(&t.id) {
                None if in_view => {
                    appeared.insert(t.id, (report.first_sight.len(), Some((k, frame.t))));
                    report.first_sight.push(FirstSight {
                        id: t.id,
                        class: t.class,
                        visible_at: frame.t,
                        range: r,
                        glimpsed_at: None,
                        delay_frames: None,
                        delay_s: None,
                    });
                }
                Some((entry, since)) if report.first_sight[*entry].delay_frames.is_none() => {
                    let sight = &mut report.first_sight[*entry];
                    match (in_view, *since) {
                        (false, Some(_)) => *since = None,
                        (true, None) => {
                            sight.glimpsed_at.get_or_insert(sight.visible_at);
                            (sight.visible_at, sight.range) = (frame.t, r);
                            *since = Some((k, frame.t));
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            if let (Some(&(entry, since)), Some(_)) = (appeared.get(&t.id), matched) {
                let sight = &mut report.first_sight[entry];
                if sight.delay_frames.is_none() {
                    // Covered while hidden again: found before it could be seen once more.
                    let (k0, t0) = since.unwrap_or((k, frame.t));
                    sight.delay_frames = Some(k - k0);
                    sight.delay_s = Some(frame.t - t0);
                }
            }

            if let Some(b) = band(params, r)
                && visible >= params.visible_for_recall
            {
                let c = report.counts.entry((name.clone(), b)).or_default();
                c.truth_visible += 1;
                let (object, errors) = objects.entry(t.id).or_insert_with(|| {
                    let r = ObjectReport {
                        id: t.id,
                        class: t.class,
                        frames_visible: 0,
                        frames_matched: 0,
                        frames_class_correct: 0,
                        position_error: ErrorStats::default(),
                    };
                    (r, Vec::new())
                });
                object.frames_visible += 1;
                if let Some((o, d)) = matched {
                    c.truth_matched += 1;
                    object.frames_matched += 1;
                    errors.push(d);
                    if o.class == t.class {
                        c.class_correct += 1;
                        object.frames_class_correct += 1;
                    }
                } else {
                    report.unmatched.push(Unmatched {
                        t: frame.t,
                        is_truth: true,
                        id: t.id,
                        class: t.class,
                        x: t.x,
                        y: t.y,
                        nearest: nearest(t.x, t.y, true),
                    });
                }
            }

            let Some((o, d)) = matched else {
                continue;
            };
            pos.entry(name).or_default().push(d);
            let since = match last_track.get(&t.id) {
                Some(&(track, since)) if track == o.id => since,
                Some(_) => {
                    report.id_switches += 1;
                    frame.t
                }
                None => frame.t,
            };
            last_track.insert(t.id, (o.id, since));
            if frame.t - since >= params.velocity_settle_s - 1e-9 {
                let error = (o.vx - t.vx).hypot(o.vy - t.vy);
                report.velocity_samples.push(VelocitySample {
                    t: frame.t,
                    id: t.id,
                    class: t.class,
                    track: o.id,
                    truth: (t.vx, t.vy),
                    output: (o.vx, o.vy),
                    error,
                });
            }
        }
    }
    report.position_error = pos
        .into_iter()
        .map(|(k, v)| (k, ErrorStats::of(v)))
        .collect();
    let mut vel: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for s in &report.velocity_samples {
        vel.entry(class_name(s.class).to_string())
            .or_default()
            .push(s.error);
    }
    report.velocity_error = vel
        .into_iter()
        .map(|(k, v)| (k, ErrorStats::of(v)))
        .collect();
    report.objects = objects
        .into_values()
        .map(|(mut o, errors)| {
            o.position_error = ErrorStats::of(errors);
            o
        })
        .collect();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(id: u64, class: Class, x: f64, vx: f64, visible: f64) -> TruthObject {
        TruthObject {
            id,
            class,
            x,
            y: 0.0,
            vx,
            vy: 0.0,
            visible_fraction: Some(visible),
        }
    }

    fn output(id: u64, class: Class, x: f64, vx: f64) -> OutputObject {
        OutputObject {
            id,
            class,
            x,
            y: 0.0,
            vx,
            vy: 0.0,
        }
    }

    #[test]
    fn counts_errors_switches_and_delay_by_hand() {
        // A car 20 m ahead driving at 10 m/s, seen in frames 1..=5 (10 Hz), tracked from frame
        // 2 with id 7, then id 8 from frame 4 (one switch); a child hidden until frame 2 and
        // confirmed in frame 4; one ghost at 40 m in frame 3.
        let mut frames = Vec::new();
        for k in 0..6 {
            let t = k as f64 * 0.1;
            let car_x = 20.0 + 10.0 * t;
            let mut f = EvalFrame {
                t,
                sensor: (0.0, 0.0),
                truth: vec![
                    truth(1, Class::Car, car_x, 10.0, if k == 0 { 0.0 } else { 1.0 }),
                    truth(2, Class::Child, 10.0, 0.0, if k < 2 { 0.1 } else { 0.6 }),
                ],
                output: vec![],
            };
            match k {
                2 | 3 => f.output.push(output(7, Class::Car, car_x + 0.3, 9.0)),
                4 | 5 => f.output.push(output(8, Class::Car, car_x - 0.4, 10.2)),
                _ => {}
            }
            if k >= 4 {
                f.output.push(output(9, Class::Pedestrian, 10.1, 0.0));
            }
            if k == 3 {
                f.output.push(output(10, Class::Car, 40.0, 0.0));
            }
            frames.push(f);
        }
        let r = evaluate(&frames, &EvalParams::default());
        assert_eq!(r.frames, 6);
        // Car in band 0 (< 30 m) in every frame; visible in frames 1..=5, matched in 2..=5.
        let car = &r.counts[&("car".to_owned(), 0)];
        assert_eq!(
            (car.truth_visible, car.truth_matched, car.class_correct),
            (5, 4, 4)
        );
        // Outputs in band 0 classed car: 4 matched; the ghost is in band 1.
        assert_eq!((car.outputs, car.output_matched), (4, 4));
        let ghost = &r.counts[&("car".to_owned(), 1)];
        assert_eq!((ghost.outputs, ghost.output_matched), (1, 0));
        assert_eq!(ghost.precision(), Some(0.0));
        // Child: visible enough for recall in frames 2..=5, matched in 4, 5 as a pedestrian.
        let child = &r.counts[&("child".to_owned(), 0)];
        assert_eq!(
            (
                child.truth_visible,
                child.truth_matched,
                child.class_correct
            ),
            (4, 2, 0)
        );
        assert_eq!(r.within(Class::Child, 30.0).recall(), Some(0.5));
        // Position errors: car 0.3, 0.3, 0.4, 0.4; child 0.1, 0.1.
        let p = r.position_error["car"];
        assert_eq!(p.n, 4);
        assert!((p.mean - 0.35).abs() < 1e-9 && (p.max - 0.4).abs() < 1e-9);
        // Velocity after 0.5 s on one track: the switch at frame 4 restarts the clock, so
        // nothing qualifies for the car.
        assert!(!r.velocity_error.contains_key("car"));
        assert_eq!(r.id_switches, 1);
        // The car became visible at frame 1 and was matched at 2; the child at 2 and 4.
        let sight = |id| r.first_sight.iter().find(|s| s.id == id).unwrap();
        assert_eq!(sight(1).delay_frames, Some(1));
        assert_eq!(sight(2).delay_frames, Some(2));
        assert!((sight(2).delay_s.unwrap() - 0.2).abs() < 1e-9);
        // Per object: the car counted in frames 1..=5 and matched in 2..=5 (0.3, 0.3, 0.4,
        // 0.4 m); the child counted in 2..=5 and matched, as a pedestrian, in 4 and 5.
        assert_eq!(r.objects.len(), 2);
        let (car, child) = (&r.objects[0], &r.objects[1]);
        assert_eq!((car.id, car.frames_visible, car.frames_matched), (1, 5, 4));
        assert_eq!(car.frames_class_correct, 4);
        assert!((car.position_error.mean - 0.35).abs() < 1e-9);
        assert!((car.position_error.max - 0.4).abs() < 1e-9);
        assert_eq!(
            (child.id, child.frames_visible, child.frames_matched),
            (2, 4, 2)
        );
        assert_eq!(child.frames_class_correct, 0);
        assert!((child.position_error.max - 0.1).abs() < 1e-9);
    }

    #[test]
    fn the_delay_restarts_when_a_glimpsed_object_is_hidden_again() {
        // A child 60 m away: one ray of three reaches it in frame 0 (a glimpse past a parked
        // car), none in frames 1 and 2, it steps out in frame 3 and is tracked from frame 4.
        // A car visible throughout is tracked from frame 2, with a dip to 20 % in frame 1.
        let visible = [0.34, 0.0, 0.0, 0.6, 0.8, 0.9];
        let frames: Vec<EvalFrame> = (0..6)
            .map(|k| EvalFrame {
                t: k as f64 * 0.1,
                sensor: (0.0, 0.0),
                truth: vec![
                    truth(1, Class::Child, 60.0, 0.0, visible[k]),
                    truth(2, Class::Car, 30.0, 0.0, if k == 1 { 0.2 } else { 1.0 }),
                ],
                output: [(k >= 4).then(|| output(5, Class::Child, 60.1, 0.0))]
                    .into_iter()
                    .flatten()
                    .chain((k >= 2).then(|| output(6, Class::Car, 30.2, 0.0)))
                    .collect(),
            })
            .collect();
        let r = evaluate(&frames, &EvalParams::default());
        let sight = |id| r.first_sight.iter().find(|s| s.id == id).unwrap().clone();
        let child = sight(1);
        assert_eq!(child.glimpsed_at, Some(0.0));
        assert!((child.visible_at - 0.3).abs() < 1e-9, "{child:?}");
        assert_eq!(child.delay_frames, Some(1));
        assert!((child.delay_s.unwrap() - 0.1).abs() < 1e-9);
        // Dipping below 30 % restarts the car's clock too: from frame 2, matched at once.
        let car = sight(2);
        assert_eq!((car.glimpsed_at, car.delay_frames), (Some(0.0), Some(0)));
        // Once covered, later dips change nothing.
        assert_eq!(r.first_sight.len(), 2);
    }

    #[test]
    fn velocity_error_counts_after_the_settling_time() {
        let frames: Vec<EvalFrame> = (0..10)
            .map(|k| {
                let t = k as f64 * 0.1;
                EvalFrame {
                    t,
                    sensor: (0.0, 0.0),
                    truth: vec![truth(1, Class::Car, 10.0 + t, 1.0, 1.0)],
                    output: vec![output(3, Class::Car, 10.0 + t, 1.0 + 0.1 * k as f64)],
                }
            })
            .collect();
        let r = evaluate(&frames, &EvalParams::default());
        // Frames 5..=9 are 0.5 s or more after the first match: errors 0.5..0.9.
        let v = r.velocity_error["car"];
        assert_eq!(v.n, 5);
        assert!((v.mean - 0.7).abs() < 1e-9 && (v.max - 0.9).abs() < 1e-9);
        // The same five, frame by frame.
        let samples = &r.velocity_samples;
        assert_eq!(samples.len(), 5);
        assert!((samples[0].t - 0.5).abs() < 1e-9 && samples[0].track == 3);
        assert!((samples[4].error - 0.9).abs() < 1e-9, "{:?}", samples[4]);
        assert_eq!(samples[4].truth, (1.0, 0.0));
        assert_eq!(r.id_switches, 0);
        assert_eq!(r.within(Class::Car, 60.0).recall(), Some(1.0));
    }
}
