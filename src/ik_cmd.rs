//! `embody ik bench --urdf FILE --tip LINK ...`: the TRAC-IK benchmark protocol on any chain
//! of a URDF, as a table or one JSON object.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use embody_manipulation::bench::{self, BenchConfig, BenchReport, SeedMode};
use embody_manipulation::{Chain, Urdf};

/// Inverse kinematics commands.
#[derive(Subcommand)]
pub enum IkCommand {
    /// Benchmark IK: random reachable poses, solved from a seed with a time budget.
    Bench(BenchArgs),
}

/// Options of `ik bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// The robot's URDF file.
    #[arg(long)]
    urdf: PathBuf,
    /// The tip link of the chain.
    #[arg(long)]
    tip: String,
    /// The base link of the chain (default: the URDF's root link).
    #[arg(long)]
    base: Option<String>,
    /// Number of random target configurations.
    #[arg(long, default_value_t = 10_000)]
    samples: usize,
    /// Time budget per query, milliseconds.
    #[arg(long, default_value_t = 5.0)]
    timeout_ms: f64,
    /// Where each query starts: `nominal` (midway between limits) or `random`.
    #[arg(long, default_value = "nominal")]
    seed: SeedMode,
    /// Position (m) and orientation (rad) tolerance.
    #[arg(long, default_value_t = 1e-5)]
    tolerance: f64,
    /// Seed of the sample generator.
    #[arg(long, default_value_t = 42)]
    rng_seed: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

/// Runs an `ik` command.
pub fn run(cmd: IkCommand) -> Result<()> {
    match cmd {
        IkCommand::Bench(a) => bench_cmd(a),
    }
}

fn bench_cmd(a: BenchArgs) -> Result<()> {
    if !(a.timeout_ms.is_finite() && a.timeout_ms >= 0.0) {
        bail!(
            "--timeout-ms must be a non-negative number, got {}",
            a.timeout_ms
        );
    }
    if !(a.tolerance.is_finite() && a.tolerance > 0.0) {
        bail!("--tolerance must be a positive number, got {}", a.tolerance);
    }
    let urdf = Urdf::from_file(&a.urdf, &HashMap::new())?;
    let base = a.base.clone().unwrap_or_else(|| urdf.root.clone());
    let chain = Chain::new(&urdf, &base, &a.tip)
        .with_context(|| format!("chain {base} → {} in {}", a.tip, a.urdf.display()))?;
    if chain.dof() == 0 {
        bail!("chain {base} → {} has no moving joints", a.tip);
    }
    let cfg = BenchConfig {
        samples: a.samples,
        timeout: Duration::from_secs_f64(a.timeout_ms / 1e3),
        tolerance: a.tolerance,
        seed_mode: a.seed,
        rng_seed: a.rng_seed,
    };
    // Progress only where someone watches, and only when the run takes a while.
    let show = std::io::stderr().is_terminal() && a.samples >= 1000;
    let report = bench::run(&chain, &cfg, &mut |done, total| {
        if show {
            eprint!("\r{done}/{total}");
            if done == total {
                eprintln!();
            }
            std::io::stderr().flush().ok();
        }
    });
    if a.json {
        println!("{}", json(&report, &cfg, &a));
    } else {
        println!("{}", BenchReport::table_header());
        println!("{}", report.table_row(&format!("{base} → {}", a.tip)));
        println!(
            "seed {}, timeout {} ms, tolerance {:e}; mean and median include failures \
             (TRAC-IK's convention), 'succ. ms' is the mean over successes",
            a.seed.name(),
            a.timeout_ms,
            a.tolerance
        );
    }
    if report.verification_failures > 0 {
        bail!(
            "{} returned solutions failed the independent FK check",
            report.verification_failures
        );
    }
    Ok(())
}

fn json(r: &BenchReport, cfg: &BenchConfig, a: &BenchArgs) -> serde_json::Value {
    serde_json::json!({
        "urdf": a.urdf.display().to_string(),
        "base": r.base,
        "tip": r.tip,
        "dof": r.dof,
        "seed": cfg.seed_mode.name(),
        "timeout_ms": a.timeout_ms,
        "tolerance": cfg.tolerance,
        "rng_seed": cfg.rng_seed,
        "samples": r.samples,
        "successes": r.successes,
        "success_rate": r.success_percent() / 100.0,
        "verification_failures": r.verification_failures,
        "mean_ms": r.mean_ms,
        "median_ms": r.median_ms,
        "p95_ms": r.p95_ms,
        "p99_ms": r.p99_ms,
        "mean_success_ms": r.mean_success_ms,
        "median_success_ms": r.median_success_ms,
        "max_position_error": r.max_position_error,
        "max_orientation_error": r.max_orientation_error,
        "mean_iterations": r.mean_iterations,
        "mean_restarts": r.mean_restarts,
    })
}
