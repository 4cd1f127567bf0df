//! IK under the TRAC-IK protocol on the three third-party arms, printed next to TRAC-IK's
//! published figures. `cargo bench -p embody-manipulation --bench ik [-- SAMPLES]`.

use std::collections::HashMap;
use std::path::PathBuf;

use embody_manipulation::bench::{self, BenchConfig, BenchReport, SeedMode};
use embody_manipulation::{Chain, Urdf};

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

fn main() {
    // `cargo bench` passes `--bench`; a bare number is the sample count.
    let samples = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(10_000);
    println!("{}  | TRAC-IK succ%  mean ms", BenchReport::table_header());
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
                (SeedMode::Nominal, Some((s, t))) => format!("| {s:>13.2} {t:>8.2}"),
                _ => "|             -        -".to_string(),
            };
            println!(
                "{} {}",
                r.table_row(&format!("{label} ({})", seed_mode.name())),
                reference
            );
            if r.verification_failures > 0 {
                println!(
                    "  !! {} solutions failed the FK check",
                    r.verification_failures
                );
            }
        }
    }
}
