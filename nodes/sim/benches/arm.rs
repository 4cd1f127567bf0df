//! Real-time factor of the arm world: simulated seconds per wall-clock second for the shipped
//! `cups_to_tray` scene (a UR5, three cups, a tray) with the arm moving back and forth
//! through the camera's view, every message built as the simulator publishes it (joint
//! states, TF and ground truth at 50 Hz, the depth cloud at the camera rate), with the depth
//! camera at its scenario settings (160 × 120, 15 Hz), at 640 × 480 and without it.
//!
//! Run: `cargo bench -p embody-sim --bench arm` (`-- --quick` for a short run).

use std::path::Path;
use std::time::Instant;

use embody_control::joint_trajectory::{JointTrajectory, TrajectoryPoint};
use embody_sim::arm_run::build_world;
use embody_sim::depth::DepthCameraParams;
use embody_sim::scenario::arm::ArmScenarioRun;
use embody_sim::scenario::{WorldRun, load_runs};

fn scenario(camera: Option<(u32, u32)>) -> ArmScenarioRun {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/arm/cups_to_tray.yaml");
    let mut runs = load_runs(&path, &[("layout_seed".into(), "0".into())]).expect("shipped");
    let Some(WorldRun::Arm(mut run)) = runs.pop() else {
        panic!("cups_to_tray is an arm scenario")
    };
    run.scenario.camera = match (camera, run.scenario.camera) {
        (Some((w, h)), Some(c)) => Some(DepthCameraParams {
            width: w,
            height: h,
            ..c
        }),
        _ => None,
    };
    run
}

/// Simulates `seconds` and returns (wall seconds, depth frames, points per frame).
fn simulate(run: &ArmScenarioRun, seconds: f64) -> (f64, u64, u64) {
    let mut w = build_world(run).expect("world");
    let names: Vec<String> = w
        .arm()
        .joint_names()
        .into_iter()
        .map(String::from)
        .collect();
    let home = w.arm().positions().to_vec();
    // Swing the shoulder ±0.6 rad and back every 4 s, so links cross the view and the
    // contact checks see a moving arm.
    let swing = |sign: f64| JointTrajectory {
        joint_names: names.clone(),
        points: vec![TrajectoryPoint {
            positions: home
                .iter()
                .enumerate()
                .map(|(j, q)| if j == 0 { q + sign * 0.6 } else { *q })
                .collect(),
            velocities: Some(vec![0.0; home.len()]),
            time_from_start: 2.0,
        }],
    };
    let (mut frames, mut points) = (0u64, 0u64);
    let start = Instant::now();
    let mut step = 0u64;
    let mut sign = 1.0;
    while w.time() < seconds {
        if step.is_multiple_of(200) {
            w.arm_mut()
                .command_trajectory(&swing(sign))
                .expect("trajectory");
            sign = -sign;
        }
        let depth = w.capture_if_due();
        let state = step.is_multiple_of(2);
        if let Some(p) = &depth {
            frames += 1;
            points += p.len() as u64;
        }
        if state || depth.is_some() {
            let t = (w.time() * 1e9) as i64;
            for o in embody_sim::ros::arm_frame(&w, t, state, depth.as_deref()) {
                std::hint::black_box(o.data.len());
            }
        }
        w.step();
        step += 1;
    }
    (
        start.elapsed().as_secs_f64(),
        frames,
        points.checked_div(frames).unwrap_or(0),
    )
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let seconds = if quick { 5.0 } else { 60.0 };
    println!("arm world (cups_to_tray, UR5), 10 ms steps, state at 50 Hz, {seconds} s simulated\n");
    println!(
        "{:<34} {:>10} {:>10} {:>8} {:>14}",
        "configuration", "wall s", "RTF", "frames", "points/frame"
    );
    let mut csv = Vec::new();
    for (name, camera) in [
        ("depth 160 x 120, 15 Hz", Some((160, 120))),
        ("depth 640 x 480, 15 Hz", Some((640, 480))),
        ("no camera", None),
    ] {
        let (wall, frames, per) = simulate(&scenario(camera), seconds);
        let rtf = seconds / wall;
        println!(
            "{:<34} {:>10.2} {:>9.1}x {:>8} {:>14}",
            name, wall, rtf, frames, per
        );
        csv.push(format!(
            "BENCH_CSV,arm_rtf,{},{seconds},{wall:.3},{rtf:.1}",
            name.replace([' ', ','], "_")
        ));
    }
    println!();
    for l in csv {
        println!("{l}");
    }
}
