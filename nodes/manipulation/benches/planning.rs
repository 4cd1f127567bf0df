//! Motion planning on a tabletop (table, a box obstacle, two cups, a tray) for the embody arm
//! and the Panda: RRT-Connect plus shortcutting on random collision-free start/goal pairs,
//! the cost of one collision check as a multiple of one FK evaluation measured in the same
//! run, time parameterisation, and a full pick and place.
//! `cargo bench -p embody-manipulation --bench planning [-- PAIRS]`.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use embody_manipulation::pick_place::{PickPlaceOptions, PickPlaceRequest, plan_pick_place};
use embody_manipulation::rng::SplitMix64;
use embody_manipulation::rrt::{self, RrtOptions};
use embody_manipulation::tabletop::{self, CUP_HEIGHT, TabletopLayout};
use embody_manipulation::timing::{KinematicLimits, time_parameterize};
use embody_manipulation::{
    IkOptions, IkSolver, RobotModel, RobotModelOptions, Scene, Urdf, embody_arm,
};
use nalgebra::Isometry3;

fn random_q(scene: &Scene, rng: &mut SplitMix64) -> Vec<f64> {
    scene
        .robot()
        .chain()
        .joints()
        .iter()
        .map(|j| {
            let (lo, hi) = j.sampling_bounds();
            rng.uniform(lo, hi)
        })
        .collect()
}

/// A random collision-free configuration with every link frame above the table top: the
/// arm's working region. (Configurations reaching down past the table's edge can lie in a
/// region cut off from it, which no planner can leave.)
fn valid_q(scene: &Scene, rng: &mut SplitMix64) -> Vec<f64> {
    loop {
        let q = random_q(scene, rng);
        let above = scene
            .robot()
            .chain()
            .link_poses(&q)
            .iter()
            .all(|(_, p)| p.translation.z >= 0.0);
        if above && scene.in_collision(&q).is_none() {
            return q;
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let k = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[k]
}

fn per_call_ns(n: usize, f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

fn bench_robot(label: &str, scene: &Scene, limits: &KinematicLimits, pairs: usize) {
    let chain = scene.robot().chain();
    let mut rng = SplitMix64::new(42);
    let qs: Vec<Vec<f64>> = (0..1000).map(|_| random_q(scene, &mut rng)).collect();
    let mut k = 0;
    let fk_ns = per_call_ns(200_000, &mut || {
        black_box(chain.fk(black_box(&qs[k % qs.len()])));
        k += 1;
    });
    let check_ns = per_call_ns(200_000, &mut || {
        black_box(scene.in_collision(black_box(&qs[k % qs.len()])));
        k += 1;
    });
    let dist_ns = per_call_ns(100_000, &mut || {
        black_box(scene.clearance(black_box(&qs[k % qs.len()])));
        k += 1;
    });
    let hits = qs
        .iter()
        .filter(|q| scene.in_collision(q).is_some())
        .count();
    println!(
        "{label}: {} bodies, {} checked pairs; FK {fk_ns:.0} ns, collision check {check_ns:.0} ns ({:.1} FK), clearance {dist_ns:.0} ns ({:.1} FK); {:.0} % of random configurations collide",
        scene.robot().bodies().len()
            + scene
                .objects()
                .iter()
                .map(|o| o.shapes.len())
                .sum::<usize>(),
        scene.checked_pairs(),
        check_ns / fk_ns,
        dist_ns / fk_ns,
        100.0 * hits as f64 / qs.len() as f64
    );

    // EMBODY_PLAN_TIMEOUT_MS overrides the 1 s budget, to tell hard problems from impossible ones.
    let timeout = std::env::var("EMBODY_PLAN_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(
            RrtOptions::default().timeout,
            std::time::Duration::from_millis,
        );
    let opts = RrtOptions {
        timeout,
        ..RrtOptions::default()
    };
    // Two problem sets: any two valid configurations (most are joined by a straight
    // line), and pairs whose straight motion collides, where the planner has to work.
    for blocked in [false, true] {
        let mut problems = Vec::new();
        let mut drawn = 0;
        while problems.len() < pairs {
            let start = valid_q(scene, &mut rng);
            let goal = valid_q(scene, &mut rng);
            drawn += 1;
            if !blocked || !rrt::motion_valid(scene, &start, &goal, opts.resolution) {
                problems.push((start, goal));
            }
        }
        let set = if blocked {
            "blocked pairs"
        } else {
            "random pairs"
        };
        let mut times = Vec::new();
        let mut failures = Vec::new();
        let mut waypoints = 0;
        let mut durations = Vec::new();
        let mut timing_ns = 0.0;
        for (i, (start, goal)) in problems.iter().enumerate() {
            let o = RrtOptions {
                seed: opts.seed.wrapping_add(i as u64),
                ..opts.clone()
            };
            let t = Instant::now();
            let r = rrt::plan(scene, start, goal, &o);
            let ms = t.elapsed().as_secs_f64() * 1e3;
            match r {
                Ok(path) => {
                    times.push(ms);
                    waypoints += path.len();
                    let t = Instant::now();
                    let traj = time_parameterize(&path, limits).expect("timed");
                    timing_ns += t.elapsed().as_nanos() as f64;
                    durations.push(traj.duration());
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
        times.sort_by(f64::total_cmp);
        durations.sort_by(f64::total_cmp);
        let n = times.len().max(1) as f64;
        println!(
            "{label}, {set} ({pairs} of {drawn} drawn): {}/{pairs} solved in {:?}; planning + smoothing median {:.2} ms, p95 {:.2} ms, mean {:.2} ms, max {:.2} ms; {:.1} waypoints; trajectory median {:.2} s; timing {:.1} us per path",
            times.len(),
            opts.timeout,
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times.iter().sum::<f64>() / n,
            times.last().copied().unwrap_or(f64::NAN),
            waypoints as f64 / n,
            percentile(&durations, 0.5),
            timing_ns / n / 1e3,
        );
        for f in failures.iter().take(3) {
            println!("  failure: {f}");
        }
    }
}

fn bench_pick_place(scene: &Scene, urdf: &Urdf, runs: usize) {
    let model = scene.robot();
    let limits = KinematicLimits::from_urdf(urdf, model.chain()).expect("limits");
    let solver = IkSolver::new(model.chain().clone(), IkOptions::default());
    let layout = TabletopLayout::default();
    let (tx, ty) = layout.tray.unwrap_or((0.35, 0.38));
    let mut times = Vec::new();
    let mut failures = 0;
    for run in 0..runs {
        let mut opts = PickPlaceOptions::new(limits.clone(), &embody_arm::TOUCH_LINKS);
        opts.rrt.seed = opts.rrt.seed.wrapping_add(run as u64);
        let req = PickPlaceRequest {
            object: "cup_1".into(),
            place_pose: Isometry3::translation(tx, ty, tabletop::tray_floor() + 0.5 * CUP_HEIGHT),
            start: vec![0.0, -0.3, 1.9, 0.0, 1.0, 0.0],
            pick_support: Some("table".into()),
            place_support: Some("tray".into()),
        };
        let t = Instant::now();
        match plan_pick_place(scene, &solver, &req, &opts) {
            Ok(plan) => {
                times.push(t.elapsed().as_secs_f64() * 1e3);
                black_box(plan);
            }
            Err(e) => {
                failures += 1;
                println!("  pick and place failure: {e}");
            }
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "embody_arm pick and place (cup -> tray, 8 phases): {}/{runs} planned, median {:.1} ms, p95 {:.1} ms",
        runs - failures,
        percentile(&times, 0.5),
        percentile(&times, 0.95),
    );
}

fn main() {
    let pairs = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(100);
    let layout = TabletopLayout::default();

    let t = Instant::now();
    let (urdf, model) = embody_arm::model().expect("embody arm");
    println!(
        "embody_arm model + ACM sampling: {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut scene = Scene::new(Arc::new(model));
    tabletop::populate(&mut scene, &layout, embody_arm::BASE).expect("scene");
    let limits = KinematicLimits::from_urdf(&urdf, scene.robot().chain()).expect("limits");
    bench_robot("embody_arm", &scene, &limits, pairs);
    bench_pick_place(&scene, &urdf, 20);

    let panda_path = std::env::var_os("EMBODY_ROBOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/robots"))
        .join("panda/panda.urdf");
    match Urdf::from_file(&panda_path, &HashMap::new()) {
        Ok(urdf) => {
            let t = Instant::now();
            let model = RobotModel::from_urdf(
                &urdf,
                "panda_link0",
                "panda_link8",
                &RobotModelOptions::default(),
            )
            .expect("panda model");
            println!(
                "panda model + ACM sampling: {:.0} ms",
                t.elapsed().as_secs_f64() * 1e3
            );
            let mut scene = Scene::new(Arc::new(model));
            tabletop::populate(&mut scene, &layout, "panda_link0").expect("scene");
            let limits = KinematicLimits::from_urdf(&urdf, scene.robot().chain()).expect("limits");
            bench_robot("panda", &scene, &limits, pairs);
        }
        Err(e) => println!("panda: skipped ({e})"),
    }
}
