//! Planner cycle time with 50 predicted objects on a three-lane road (release, one core).
//! Prints the median and p99 of `Planner::plan` and their ratio to a baseline measured in the
//! same run: one pass of constant-velocity predictions for the same objects.

use std::hint::black_box;
use std::time::Instant;

use embody_planning::{
    EgoState, Inputs, Lane, LaneMap, Object, ObjectClass, PathSample, Planner, PlannerConfig,
    Pose2, PredictedPath,
};

fn road() -> LaneMap {
    LaneMap {
        lanes: (1..=3u32)
            .map(|id| Lane {
                id,
                // 2 km sampled every metre, as the simulator publishes its lane map.
                centre: (0..=2000)
                    .map(|i| {
                        let x = -100.0 + f64::from(i);
                        // A gentle curve so the Frenet frame is not trivial.
                        (x, 3.5 * f64::from(id - 1) + 0.0005 * x * x.max(0.0) / 10.0)
                    })
                    .collect(),
                width: 3.5,
                speed_limit: Some(30.0),
                left: (id < 3).then_some(id + 1),
                right: (id > 1).then_some(id - 1),
            })
            .collect(),
    }
}

/// Deterministic pseudo-random numbers (xorshift) so every run sees the same traffic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` objects; in `traffic` the ego's lane is clear 60 m ahead and parked cars and
/// pedestrians stand beside the road, otherwise anything may be anywhere (AES busy).
fn objects(n: usize, rng: &mut Rng, traffic: bool) -> Vec<Object> {
    (0..n)
        .map(|i| {
            let (class, size, v) = match i % 10 {
                0 => (ObjectClass::Pedestrian, (0.5, 0.6), 0.0),
                1 => (ObjectClass::Car, (4.4, 1.8), 0.0),
                2 => (ObjectClass::Truck, (10.0, 2.5), 20.0),
                _ => (ObjectClass::Car, (4.5, 1.8), 15.0 + rng.next() * 15.0),
            };
            let mut lane = (rng.next() * 3.0).floor();
            let mut x = -60.0 + rng.next() * 260.0;
            if traffic {
                if v == 0.0 {
                    lane = if rng.next() < 0.5 { -1.0 } else { 3.0 };
                } else if lane == 1.0 && (-15.0..60.0).contains(&x) {
                    x += 75.0;
                }
            }
            let y = 3.5 * lane + 0.0005 * x * x.max(0.0) / 10.0 + (rng.next() - 0.5) * 0.6;
            let samples = (0..=12)
                .map(|k| {
                    let t = 0.5 * f64::from(k);
                    PathSample {
                        t,
                        x: x + v * t,
                        y,
                        yaw: 0.0,
                    }
                })
                .collect();
            Object {
                id: i as u64 + 1,
                class,
                pose: Pose2 { x, y, yaw: 0.0 },
                length: size.0,
                width: size.1,
                vx: v,
                vy: 0.0,
                paths: vec![PredictedPath {
                    samples,
                    position_std: 0.2,
                    confidence: 1.0,
                }],
            }
        })
        .collect()
}

/// CPU time this thread has used (ms): unlike wall time, not inflated when the shared machine
/// preempts the benchmark.
fn thread_cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return f64::NAN;
    }
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    for traffic in [true, false] {
        run(traffic);
    }
}

fn run(traffic: bool) {
    let map = road();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let scenes: Vec<Vec<Object>> = (0..50).map(|_| objects(50, &mut rng, traffic)).collect();
    let mut planner = Planner::new(PlannerConfig::default());
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    let mut baseline = Vec::new();
    let mut interventions = 0;
    let mut blocked = 0;
    for round in 0..20 {
        for (i, scene) in scenes.iter().enumerate() {
            let inputs = Inputs {
                time: (round * scenes.len() + i) as f64 * 0.1,
                ego: EgoState {
                    x: 0.0,
                    y: 3.5,
                    yaw: 0.0,
                    v: 25.0,
                    ..EgoState::default()
                },
                objects: scene.clone(),
                map: map.clone(),
                driver_override: false,
            };
            let cpu = thread_cpu_ms();
            let start = Instant::now();
            let out = planner.plan(black_box(&inputs));
            times.push(start.elapsed().as_secs_f64() * 1e3);
            cpu_times.push(thread_cpu_ms() - cpu);
            if let Ok(o) = &out {
                if o.aes.state != embody_planning::AesState::Standby {
                    interventions += 1;
                }
                if o.had_blocked {
                    blocked += 1;
                }
            }
            let start = Instant::now();
            let mut sum = 0.0;
            for o in black_box(&inputs.objects) {
                for p in &o.paths {
                    for s in &p.samples {
                        sum += s.x * s.y;
                    }
                }
            }
            black_box(sum);
            baseline.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    cpu_times.sort_by(f64::total_cmp);
    baseline.sort_by(f64::total_cmp);
    let (median, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    let base = percentile(&baseline, 0.5).max(1e-6);
    println!(
        "{}: planner cycle, 50 objects, {} cycles: median {median:.3} ms, p99 {p99:.3} ms, max {:.3} ms \
         (target p99 < 5 ms); median / prediction-scan baseline = {:.0}; cycles with AES not in standby: {interventions}, with HAD blocked: {blocked}; p90 {:.3} ms",
        if traffic {
            "traffic"
        } else {
            "objects anywhere"
        },
        times.len(),
        times[times.len() - 1],
        median / base,
        percentile(&times, 0.9)
    );
    println!(
        "    thread CPU time: median {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&cpu_times, 0.5),
        percentile(&cpu_times, 0.9),
        percentile(&cpu_times, 0.99),
        cpu_times[cpu_times.len() - 1]
    );
}
