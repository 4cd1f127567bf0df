//! Per-frame time of road segmentation on synthetic 32- and 128-channel lidar frames of a
//! street with 30 road users and building fronts, against the 100 ms sensor period and
//! against copying the cloud once (the memory-bound floor); and of table segmentation on
//! one synthetic 640 × 480 depth image.
//!
//! Run: `cargo bench -p embody-perception --bench segment`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use embody_perception::boxfit::{BoxMethod, fit_box};
use embody_perception::cluster::{ClusterParams, euclidean_clusters};
use embody_perception::ground::{GroundGrid, PointLabel};
use embody_perception::segment::{GroundMethod, SegmentParams, Segmenter};
use embody_perception::tracker::Class;
use embody_perception::voxel::VoxelGrid;
use nalgebra::Point3;

/// Rise of the road per metre along x, so the ground model has a slope to follow.
const SLOPE: f64 = 0.03;
/// Sensor period of a 10 Hz lidar.
const PERIOD: Duration = Duration::from_millis(100);

/// An upright box standing on the road.
struct Solid {
    c: [f64; 2],
    yaw: f64,
    size: [f64; 3],
    z0: f64,
}

/// SplitMix64, so the scene is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

/// 30 road users (Euro NCAP target sizes) in lanes and on pavements, plus building fronts.
fn street() -> Vec<Solid> {
    let mut rng = Rng(42);
    let kinds: [([f64; 3], f64); 6] = [
        ([4.023, 1.712, 1.427], 0.0),
        ([10.0, 2.55, 3.5], 0.0),
        ([2.08, 0.79, 1.06], 0.0),
        ([1.89, 0.5, 1.2], 0.0),
        ([0.6, 0.5, 1.8], 1.0),
        ([0.711, 0.298, 1.154], 1.0),
    ];
    let mut solids = Vec::new();
    for i in 0..30 {
        let (size, on_pavement) = kinds[[0, 0, 0, 1, 2, 3, 4, 5, 0, 4][i % 10]];
        let lane_y = if on_pavement > 0.0 {
            if rng.next() < 0.5 { -9.0 } else { 9.0 }
        } else {
            [-5.25, -1.75, 1.75, 5.25][(rng.next() * 4.0) as usize % 4]
        };
        // Spread along the street, clear of the ego and of each other.
        let clear = |x: f64, others: &[Solid]| {
            x.abs() > 6.0
                && others.iter().all(|o| {
                    (o.c[1] - lane_y).abs() > 2.0
                        || (o.c[0] - x).abs() > (o.size[0] + size[0]) / 2.0 + 1.0
                })
        };
        let mut x = rng.range(-70.0, 70.0);
        while !clear(x, &solids) {
            x = rng.range(-70.0, 70.0);
        }
        let yaw = rng.range(-0.15, 0.15)
            + if rng.next() < 0.5 {
                0.0
            } else {
                std::f64::consts::PI
            };
        solids.push(Solid {
            c: [x, lane_y + rng.range(-0.4, 0.4)],
            yaw,
            size,
            z0: SLOPE * x,
        });
    }
    // Building fronts 14 m either side, 20 m blocks with 6 m gaps.
    for side in [-1.0, 1.0] {
        let mut x = -80.0;
        while x < 80.0 {
            solids.push(Solid {
                c: [x + 10.0, side * 17.0],
                yaw: 0.0,
                size: [20.0, 6.0, 12.0],
                z0: SLOPE * x - 1.0,
            });
            x += 26.0;
        }
    }
    solids
}

/// Distance along the unit ray `o + t·d` to the first hit of `s`.
fn hit(s: &Solid, o: [f64; 3], d: [f64; 3]) -> Option<f64> {
    let (sn, cs) = (-s.yaw).sin_cos();
    let (px, py) = (o[0] - s.c[0], o[1] - s.c[1]);
    let lo = [px * cs - py * sn, px * sn + py * cs, o[2]];
    let ld = [d[0] * cs - d[1] * sn, d[0] * sn + d[1] * cs, d[2]];
    let min = [-s.size[0] / 2.0, -s.size[1] / 2.0, s.z0];
    let max = [s.size[0] / 2.0, s.size[1] / 2.0, s.z0 + s.size[2]];
    let (mut t0, mut t1) = (0.0f64, f64::INFINITY);
    for k in 0..3 {
        if ld[k].abs() < 1e-12 {
            if lo[k] < min[k] || lo[k] > max[k] {
                return None;
            }
            continue;
        }
        let (a, b) = ((min[k] - lo[k]) / ld[k], (max[k] - lo[k]) / ld[k]);
        t0 = t0.max(a.min(b));
        t1 = t1.min(a.max(b));
    }
    (t0 <= t1 && t0 > 0.0).then_some(t0)
}

/// One spin of a lidar 1.8 m above the road at the origin: `channels` rows between the
/// given elevations, 1800 columns, 100 m range, ±2 cm deterministic range noise.
fn spin(channels: usize, min_deg: f64, max_deg: f64, solids: &[Solid]) -> Vec<Point3<f32>> {
    let o = [0.0, 0.0, 1.8];
    let mut noise = Rng(7);
    let mut pts = Vec::with_capacity(channels * 1800);
    for c in 0..channels {
        let el = (min_deg + (max_deg - min_deg) * c as f64 / (channels - 1) as f64).to_radians();
        for a in 0..1800 {
            let az = (a as f64 * 0.2).to_radians();
            let d = [el.cos() * az.cos(), el.cos() * az.sin(), el.sin()];
            // Ground z = SLOPE·x.
            let denom = d[2] - SLOPE * d[0];
            let mut t = if denom < 0.0 {
                -(o[2] - SLOPE * o[0]) / denom
            } else {
                f64::INFINITY
            };
            for s in solids {
                if let Some(ts) = hit(s, o, d) {
                    t = t.min(ts);
                }
            }
            if t < 100.0 {
                let t = t + noise.range(-0.02, 0.02);
                pts.push(Point3::new(
                    (o[0] + t * d[0]) as f32,
                    (o[1] + t * d[1]) as f32,
                    (o[2] + t * d[2]) as f32,
                ));
            }
        }
    }
    pts
}

/// Fastest, median and 99th-percentile time of one run.
struct Times {
    min: Duration,
    median: Duration,
    p99: Duration,
}

/// Percentiles of `samples`. The minimum is reported too: on a shared machine it is the
/// best estimate of the uncontended cost.
fn percentiles(mut samples: Vec<Duration>) -> Times {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Times {
        min: samples[0],
        median: at(0.5),
        p99: at(0.99),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Times `f` over `frames` runs after two warm-up runs.
fn time(frames: usize, mut f: impl FnMut()) -> Times {
    f();
    f();
    let samples = (0..frames)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    percentiles(samples)
}

fn run(name: &str, cloud: &[Point3<f32>], frames: usize) {
    let seg = match Segmenter::new(SegmentParams::road()) {
        Ok(s) => s,
        Err(e) => panic!("road defaults rejected: {e}"),
    };
    let origin = Point3::new(0.0, 0.0, 1.8);
    let out = match seg.segment(cloud, origin) {
        Ok(o) => o,
        Err(e) => panic!("segmentation failed: {e}"),
    };
    if std::env::var_os("SEG_DEBUG").is_some() {
        for d in &out.detections {
            println!(
                "  {:?} {:.2} at ({:.1}, {:.1}) {:.2}×{:.2}×{:.2} pts {}",
                d.class, d.confidence, d.x, d.y, d.length, d.width, d.height, d.points
            );
        }
    }
    let count = |c: Class| out.detections.iter().filter(|d| d.class == c).count();
    println!(
        "{name}: {} points → ground {}, obstacle {}, {} clusters \
         (car {}, truck {}, motorcycle {}, bicycle {}, pedestrian {}, child {}, unknown {})",
        cloud.len(),
        out.ground_points,
        out.obstacle_points,
        out.clusters,
        count(Class::Car),
        count(Class::Truck),
        count(Class::Motorcycle),
        count(Class::Bicycle),
        count(Class::Pedestrian),
        count(Class::Child),
        count(Class::Unknown),
    );
    let copy = time(frames, || {
        black_box(black_box(cloud).to_vec());
    });
    let t = time(frames, || {
        black_box(seg.segment(black_box(cloud), origin).ok());
    });
    println!(
        "{name}: segment median {:.2} ms, p99 {:.2} ms, min {:.2} ms over {frames} frames; \
         median = {:.1} % of the {} ms period = {:.0}× one copy of the cloud ({:.3} ms)",
        ms(t.median),
        ms(t.p99),
        ms(t.min),
        100.0 * t.median.as_secs_f64() / PERIOD.as_secs_f64(),
        PERIOD.as_millis(),
        t.median.as_secs_f64() / copy.median.as_secs_f64().max(1e-9),
        ms(copy.median),
    );
}

/// Fastest time of each stage, to show where a frame goes, and what 0.1 m voxel
/// downsampling (off in the road defaults) would cost and save.
fn stages(name: &str, cloud: &[Point3<f32>], frames: usize) {
    let params = SegmentParams::road();
    let GroundMethod::Grid(gp) = params.ground else {
        return;
    };
    let (Ok(grid), Ok(voxels)) = (GroundGrid::new(gp), VoxelGrid::new(0.1)) else {
        return;
    };
    let origin = Point3::new(0.0, 0.0, 1.8);
    let sensor = Point3::new(0.0f32, 0.0, 0.0);
    let mut labels = Vec::new();
    let ground = time(frames, || {
        black_box(grid.classify(black_box(cloud), origin, &mut labels));
    });
    let above: Vec<Point3<f32>> = cloud
        .iter()
        .zip(&labels)
        .filter(|(_, l)| **l == PointLabel::Obstacle)
        .map(|(p, _)| *p)
        .collect();
    // The road defaults cluster in the ground plane, one centroid per 5 cm cell.
    let flat: Vec<Point3<f32>> = above.iter().map(|p| Point3::new(p.x, p.y, 0.0)).collect();
    let Ok(fine) = VoxelGrid::new(params.cluster.tolerance / 10.0) else {
        return;
    };
    let reps = |flat: &[Point3<f32>]| {
        let cells = fine.index(flat);
        let reps: Vec<Point3<f32>> = (0..cells.len())
            .map(|c| {
                let m = cells.members(c);
                let n = m.len() as f32;
                let (x, y) = m.iter().fold((0.0, 0.0), |(x, y), &i| {
                    (x + flat[i as usize].x, y + flat[i as usize].y)
                });
                Point3::new(x / n, y / n, 0.0)
            })
            .collect();
        let weights: Vec<u32> = (0..cells.len())
            .map(|c| cells.members(c).len() as u32)
            .collect();
        (reps, weights)
    };
    let cluster = time(frames, || {
        let (r, w) = reps(black_box(&flat));
        black_box(euclidean_clusters(&r, Some(&w), &params.cluster, sensor).ok());
    });
    // The depth-jump test's share of clustering, measured in the same run.
    let plain_params = ClusterParams {
        depth_jumps: None,
        ..params.cluster
    };
    let plain = time(frames, || {
        let (r, w) = reps(black_box(&flat));
        black_box(euclidean_clusters(&r, Some(&w), &plain_params, sensor).ok());
    });
    let Ok(clusters) = euclidean_clusters(&flat, None, &params.cluster, sensor) else {
        return;
    };
    let boxes = time(frames, || {
        for m in clusters.iter() {
            black_box(fit_box(&above, m, Some(0.0), BoxMethod::LShape));
        }
    });
    let voxel = time(frames, || {
        black_box(voxels.downsample(black_box(&above)));
    });
    println!(
        "{name}: stages (min) ground {:.2} ms, clusters {:.2} ms ({} obstacle points; \
         {:.2}× clustering without the depth-jump test), \
         boxes {:.2} ms; 0.1 m voxel downsampling (off on roads) would add {:.2} ms",
        ms(ground.min),
        ms(cluster.min),
        above.len(),
        cluster.min.as_secs_f64() / plain.min.as_secs_f64().max(1e-9),
        ms(boxes.min),
        ms(voxel.min),
    );
}

/// Nearest positive root of `a t² + b t + c = 0`, if any.
fn first_root(a: f64, b: f64, c: f64) -> Option<f64> {
    let disc = b * b - 4.0 * a * c;
    if a.abs() < 1e-12 || disc < 0.0 {
        return None;
    }
    let q = disc.sqrt();
    [(-b - q) / (2.0 * a), (-b + q) / (2.0 * a)]
        .into_iter()
        .find(|&t| t > 0.0)
}

/// One 640 × 480 depth image (about 60° × 45°) from 0.6 m above a table top at z = 0.75,
/// pitched 50° down: 6 closed cups (8 cm × 10 cm), 4 boxes, the table and the floor.
fn depth_frame() -> (Vec<Point3<f32>>, Point3<f64>) {
    const TOP: f64 = 0.75;
    let o = [-0.45, 0.0, 1.35];
    let pitch = 50f64.to_radians();
    let fwd = [pitch.cos(), 0.0, -pitch.sin()];
    let up = [pitch.sin(), 0.0, pitch.cos()];
    let cups = [
        (0.1, 0.15),
        (0.25, -0.1),
        (0.35, 0.25),
        (0.45, 0.0),
        (0.2, 0.35),
        (0.5, -0.3),
    ];
    let boxes: [([f64; 3], [f64; 3]); 4] = [
        ([0.0, -0.35, TOP], [0.12, -0.2, TOP + 0.08]),
        ([0.3, 0.05, TOP], [0.4, 0.12, TOP + 0.15]),
        ([0.55, 0.15, TOP], [0.75, 0.3, TOP + 0.05]),
        ([0.1, -0.05, TOP], [0.16, 0.02, TOP + 0.2]),
    ];
    let (w, h) = (640usize, 480usize);
    let f = (w as f64 / 2.0) / 30f64.to_radians().tan();
    let mut noise = Rng(3);
    let mut pts = Vec::with_capacity(w * h);
    for v in 0..h {
        for u in 0..w {
            let (a, b) = (
                (u as f64 - w as f64 / 2.0) / f,
                (v as f64 - h as f64 / 2.0) / f,
            );
            let mut d = [fwd[0] - b * up[0], -a, fwd[2] - b * up[2]];
            let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            d.iter_mut().for_each(|x| *x /= n);
            let at = |t: f64| [o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2]];
            let mut best = f64::INFINITY;
            for height in [TOP, 0.0] {
                let t = (height - o[2]) / d[2];
                let p = at(t);
                let on_table = (-0.2..=1.2).contains(&p[0]) && (-0.6..=0.6).contains(&p[1]);
                if t > 0.0 && (height == 0.0 || on_table) {
                    best = best.min(t);
                }
            }
            for &(cx, cy) in &cups {
                let (px, py) = (o[0] - cx, o[1] - cy);
                let a2 = d[0] * d[0] + d[1] * d[1];
                let side = first_root(
                    a2,
                    2.0 * (px * d[0] + py * d[1]),
                    px * px + py * py - 0.0016,
                )
                .filter(|&t| (TOP..=TOP + 0.1).contains(&at(t)[2]));
                let t_top = (TOP + 0.1 - o[2]) / d[2];
                let p = at(t_top);
                let top = ((p[0] - cx).hypot(p[1] - cy) <= 0.04).then_some(t_top);
                for t in [side, top].into_iter().flatten() {
                    best = best.min(t);
                }
            }
            for (lo, hi) in &boxes {
                let (mut t0, mut t1) = (0.0f64, f64::INFINITY);
                for k in 0..3 {
                    let (ta, tb) = ((lo[k] - o[k]) / d[k], (hi[k] - o[k]) / d[k]);
                    t0 = t0.max(ta.min(tb));
                    t1 = t1.min(ta.max(tb));
                }
                if t0 <= t1 && t0 > 0.0 {
                    best = best.min(t0);
                }
            }
            if best.is_finite() {
                // ±1 mm depth noise, as from a good structured-light camera at this range.
                let t = best + noise.range(-0.001, 0.001);
                let p = at(t);
                pts.push(Point3::new(p[0] as f32, p[1] as f32, p[2] as f32));
            } else {
                pts.push(Point3::new(f32::NAN, f32::NAN, f32::NAN));
            }
        }
    }
    (pts, Point3::new(o[0], o[1], o[2]))
}

/// Times table-mode segmentation of one depth image against its 33 ms frame period.
fn run_table(frames: usize) {
    let (cloud, origin) = depth_frame();
    let seg = match Segmenter::new(SegmentParams::table()) {
        Ok(s) => s,
        Err(e) => panic!("table defaults rejected: {e}"),
    };
    let out = match seg.segment(&cloud, origin) {
        Ok(o) => o,
        Err(e) => panic!("segmentation failed: {e}"),
    };
    let count = |c: Class| out.detections.iter().filter(|d| d.class == c).count();
    println!(
        "table: {} points → table {}, above {}, below {}, {} clusters (cup {}, box {}, unknown {})",
        cloud.len(),
        out.ground_points,
        out.obstacle_points,
        out.below_ground_points,
        out.clusters,
        count(Class::Cup),
        count(Class::Box),
        count(Class::Unknown),
    );
    if std::env::var_os("SEG_DEBUG").is_some() {
        for d in &out.detections {
            println!(
                "  {:?} {:.2} at ({:.3}, {:.3}, {:.3}) {:.3}×{:.3}×{:.3} pts {}",
                d.class, d.confidence, d.x, d.y, d.z, d.length, d.width, d.height, d.points
            );
        }
    }
    let t = time(frames, || {
        black_box(seg.segment(black_box(&cloud), origin).ok());
    });
    println!(
        "table: segment median {:.2} ms, p99 {:.2} ms, min {:.2} ms over {frames} frames; \
         median = {:.1} % of a 30 Hz camera's 33 ms period",
        ms(t.median),
        ms(t.p99),
        ms(t.min),
        100.0 * t.median.as_secs_f64() / (1.0 / 30.0),
    );
}

fn main() {
    let solids = street();
    if std::env::var_os("SEG_DEBUG").is_some() {
        for s in solids.iter().filter(|s| s.size[2] < 5.0) {
            println!("  truth at ({:.1}, {:.1}) {:?}", s.c[0], s.c[1], s.size);
        }
    }
    // HDL-32E layout (the simulator's default) and a 128-channel one over a similar span.
    let c32 = spin(32, -30.67, 10.67, &solids);
    let c128 = spin(128, -25.0, 15.0, &solids);
    run("32 channels", &c32, 200);
    stages("32 channels", &c32, 50);
    run("128 channels", &c128, 100);
    stages("128 channels", &c128, 50);
    run_table(50);
}
