//! Real-time factor of the vehicle world: simulated seconds per wall-clock second with a
//! 32-channel lidar at 10 Hz and 20 actors, the sensor messages built as the simulator
//! publishes them, and the same world without the lidar for comparison.
//!
//! Run: `cargo bench -p embody-sim --bench realtime` (`-- --quick` for a short run). The
//! issue's target is at least 10x real time for the vehicle world.

use std::time::Instant;

use embody_sim::actors::{Actor, ActorKind, Longitudinal, Phase, Route, Trigger};
use embody_sim::lidar::{Lidar, LidarParams};
use embody_sim::road::Road;
use embody_sim::vehicle::{Vehicle, VehicleParams, VehicleState};
use embody_sim::world::{SimpleDriver, World};

/// A three-lane highway with 20 cars around the ego at different speeds.
fn world(lidar: bool) -> World {
    let road = Road::straight(5_000.0, 3, 3.5).expect("valid road");
    let mut actors = Vec::new();
    for i in 0..20u32 {
        let lane = (i % 3) as usize;
        let s = 60.0 + f64::from(i) * 18.0;
        let speed = 20.0 + f64::from(i % 5);
        let a = Actor::new(
            i + 1,
            ActorKind::Car,
            Route::in_lane(&road, lane, s).expect("lane"),
            speed,
            &road,
        )
        .and_then(|a| {
            a.with_phases(vec![Phase::on(Trigger::Immediately).longitudinal(
                Longitudinal::Speed {
                    target: speed,
                    rate: None,
                },
            )])
        })
        .expect("valid actor");
        actors.push(a);
    }
    let start = road.to_cartesian(20.0, road.lane_centre_offset(1).expect("lane"));
    let ego = Vehicle::new(
        VehicleParams::default(),
        VehicleState::at(start.x, start.y, 0.0, 25.0),
    )
    .expect("ego");
    let lidar = lidar.then(|| Lidar::new(LidarParams::default()).expect("lidar"));
    World::new(road, ego, actors, lidar, 0.01).expect("world")
}

/// Simulates `seconds` and returns (wall seconds, lidar scans, points).
fn simulate(mut w: World, seconds: f64) -> (f64, u64, u64) {
    let driver = SimpleDriver {
        speed: 25.0,
        lane_d: 5.25,
        brake: None,
    };
    let (mut scans, mut points) = (0, 0);
    let mut noise = embody_sim::ros::SensorNoise::new(0.02, 0.05, 0.002, 0.05, 0.002, 1);
    let start = Instant::now();
    let mut step = 0u64;
    while w.time() < seconds {
        if let Some(p) = w.scan_if_due().expect("scan") {
            scans += 1;
            points += p.points.len() as u64;
            // Built as the simulator publishes it (PointCloud2 + CDR).
            let t = (w.time() * 1e9) as i64;
            for o in embody_sim::ros::frame(&w, t, Some(&p), &mut noise) {
                std::hint::black_box(o.data.len());
            }
        } else if step.is_multiple_of(2) {
            for o in embody_sim::ros::frame(&w, (w.time() * 1e9) as i64, None, &mut noise) {
                std::hint::black_box(o.data.len());
            }
        }
        let cmd = driver.command(&w);
        w.step(&cmd).expect("step");
        step += 1;
    }
    (start.elapsed().as_secs_f64(), scans, points)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let seconds = if quick { 5.0 } else { 60.0 };
    println!("vehicle world, 20 actors, 10 ms steps, frames at 50 Hz, {seconds} s simulated\n");
    println!(
        "{:<34} {:>10} {:>10} {:>12} {:>14}",
        "configuration", "wall s", "RTF", "scans", "points/scan"
    );
    let mut csv = Vec::new();
    for (name, lidar) in [("lidar 32 ch x 1800, 10 Hz", true), ("no lidar", false)] {
        let (wall, scans, points) = simulate(world(lidar), seconds);
        let rtf = seconds / wall;
        println!(
            "{:<34} {:>10.2} {:>9.1}x {:>12} {:>14}",
            name,
            wall,
            rtf,
            scans,
            points.checked_div(scans).unwrap_or(0)
        );
        csv.push(format!(
            "BENCH_CSV,sim_rtf,{},{seconds},{wall:.3},{rtf:.1}",
            name.replace([' ', ','], "_")
        ));
    }
    println!("\ntarget (issue 7): at least 10x real time with the lidar\n");
    for l in csv {
        println!("{l}");
    }
}
