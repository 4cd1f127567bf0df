//! IK under the TRAC-IK protocol on the three third-party arms, printed next to TRAC-IK's
//! published figures. `cargo bench -p embody-manipulation --bench ik [-- SAMPLES]`.

use std::collections::HashMap;
use std::path::PathBuf;

use embody_manipulation::bench::{self, BenchConfig, BenchReport, SeedMode};
use embody_manipulation::rng::SplitMix64;
use embody_manipulation::{Chain, Urdf};
use std::hint::black_box;
use std::time::Instant;

/// One arm of the table.
struct Robot {
    label: &'static str,
    /// URDF below the robots directory.
    file: &'static str,
    base: &'static str,
    tip: &'static str,
    /// TRAC-IK v1.4.6 README: success % and mean ms (nominal seed, 5 ms, 1e-5).
    trac_ik: Option<(f64, f64)>,
}

const ROBOTS: [Robot; 3] = [
    Robot {
        label: "panda",
        file: "panda/panda.urdf",
        base: "panda_link0",
        tip: "panda_link8",
        trac_ik: Some((99.70, 0.38)),
    },
    Robot {
        label: "iiwa14",
        file: "iiwa14/lbr_iiwa_14_r820.urdf",
        base: "base_link",
        tip: "tool0",
        trac_ik: Some((99.84, 0.31)),
    },
    Robot {
        label: "ur5",
        file: "ur5/ur5_robot.urdf",
        base: "base_link",
        tip: "tool0",
        trac_ik: None,
    },
];

fn robots_dir() -> PathBuf {
    std::env::var_os("EMBODY_ROBOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/robots"))
}

/// Mean cost of one FK and of one FK + Jacobian evaluation, printed under the row.
fn fk_timing(label: &str, chain: &Chain) {
    let mut rng = SplitMix64::new(1);
    let qs: Vec<Vec<f64>> = (0..1000)
        .map(|_| {
            chain
                .joints()
                .iter()
                .map(|j| {
                    let (lo, hi) = j.sampling_bounds();
                    rng.uniform(lo, hi)
                })
                .collect()
        })
        .collect();
    let rounds = 200;
    let start = Instant::now();
    let mut sink = 0.0;
    for _ in 0..rounds {
        for q in &qs {
            sink += chain.fk(black_box(q)).translation.x;
        }
    }
    let fk_ns = start.elapsed().as_nanos() as f64 / (rounds * qs.len()) as f64;
    let mut jac = nalgebra::Matrix6xX::zeros(chain.dof());
    let start = Instant::now();
    for _ in 0..rounds {
        for q in &qs {
            sink += chain.fk_jacobian(black_box(q), &mut jac).translation.x;
        }
    }
    let fkj_ns = start.elapsed().as_nanos() as f64 / (rounds * qs.len()) as f64;
    black_box(sink);
    println!("  {label}: FK {fk_ns:.0} ns, FK + Jacobian {fkj_ns:.0} ns per call");
}

fn main() {
    // `cargo bench` passes `--bench`; a bare number is the sample count.
    let samples = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(10_000);
    println!(
        "{}  | TRAC-IK succ%  mean ms  mean ratio",
        BenchReport::table_header()
    );
    for seed_mode in [SeedMode::Nominal, SeedMode::Random] {
        for Robot {
            label,
            file,
            base,
            tip,
            trac_ik: trac,
        } in ROBOTS
        {
            let path = robots_dir().join(file);
            let chain = match Urdf::from_file(&path, &HashMap::new())
                .map_err(|e| e.to_string())
                .and_then(|u| Chain::new(&u, base, tip).map_err(|e| e.to_string()))
            {
                Ok(c) => c,
                Err(e) => {
                    println!("{label}: skipped ({e})");
                    continue;
                }
            };
            let cfg = BenchConfig {
                samples,
                seed_mode,
                ..BenchConfig::default()
            };
            let r = bench::run(&chain, &cfg, &mut |_, _| {});
            let reference = match (seed_mode, trac) {
                // How many times faster than TRAC-IK's published mean (both include failures).
                (SeedMode::Nominal, Some((s, t))) => {
                    format!("| {s:>13.2} {t:>8.2} {:>10.1}x", t / r.mean_ms)
                }
                _ => "|             -        -           -".to_string(),
            };
            println!(
                "{} {}",
                r.table_row(&format!("{label} ({})", seed_mode.name())),
                reference
            );
            if seed_mode == SeedMode::Nominal {
                fk_timing(label, &chain);
            }
            if r.verification_failures > 0 {
                println!(
                    "  !! {} solutions failed the FK check",
                    r.verification_failures
                );
            }
        }
    }
}
