//! The TRAC-IK benchmark protocol (Beeson & Ames 2015, README of TRAC-IK v1.4.6): random
//! joint configurations within limits → FK → IK from a seed with a time budget and a
//! tolerance. Every reported success is re-checked here with an independent FK call.

use std::time::{Duration, Instant};

use crate::ik::{IkGoal, IkOptions, IkSolver};
use crate::kinematics::Chain;
use crate::rng::SplitMix64;

/// Where each query starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedMode {
    /// Midway between the limits, the same for every query (TRAC-IK's protocol).
    Nominal,
    /// Uniformly random within limits (OptIK's, closer to a planning workload).
    Random,
}

impl std::str::FromStr for SeedMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "nominal" => Ok(Self::Nominal),
            "random" => Ok(Self::Random),
            _ => Err(format!("seed mode '{s}': expected 'nominal' or 'random'")),
        }
    }
}

impl SeedMode {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Nominal => "nominal",
            Self::Random => "random",
        }
    }
}

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Number of random target configurations.
    pub samples: usize,
    /// Time budget per query.
    pub timeout: Duration,
    /// Position (m) and orientation (rad) tolerance.
    pub tolerance: f64,
    /// Seed of each query.
    pub seed_mode: SeedMode,
    /// Seed of the sample generator.
    pub rng_seed: u64,
}

impl Default for BenchConfig {
    /// TRAC-IK's protocol: 10,000 samples, 5 ms, 1e-5, nominal seed.
    fn default() -> Self {
        Self {
            samples: 10_000,
            timeout: Duration::from_millis(5),
            tolerance: 1e-5,
            seed_mode: SeedMode::Nominal,
            rng_seed: 42,
        }
    }
}

/// What a benchmark run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// Base link of the chain.
    pub base: String,
    /// Tip link of the chain.
    pub tip: String,
    /// Moving joints.
    pub dof: usize,
    /// Queries run.
    pub samples: usize,
    /// Queries solved and verified.
    pub successes: usize,
    /// Solutions the solver returned that failed the independent check (must be 0).
    pub verification_failures: usize,
    /// Mean solve time over all queries, failures included (TRAC-IK's convention), ms.
    pub mean_ms: f64,
    /// Median over all queries, ms.
    pub median_ms: f64,
    /// 95th percentile over all queries, ms.
    pub p95_ms: f64,
    /// 99th percentile over all queries, ms.
    pub p99_ms: f64,
    /// Mean over successful queries only, ms.
    pub mean_success_ms: f64,
    /// Median over successful queries only, ms.
    pub median_success_ms: f64,
    /// Largest position error of a returned solution, m.
    pub max_position_error: f64,
    /// Largest orientation error of a returned solution, rad.
    pub max_orientation_error: f64,
    /// Mean solver iterations per query.
    pub mean_iterations: f64,
    /// Mean random restarts per query.
    pub mean_restarts: f64,
}

impl BenchReport {
    /// Successes as a percentage of the queries.
    pub fn success_percent(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            100.0 * self.successes as f64 / self.samples as f64
        }
    }

    /// Header line matching [`BenchReport::table_row`].
    pub fn table_header() -> String {
        format!(
            "{:<24} {:>3} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10}",
            "chain",
            "dof",
            "n",
            "success%",
            "mean ms",
            "median ms",
            "p99 ms",
            "succ. ms",
            "max pos m",
            "max rot rad"
        )
    }

    /// One table line.
    pub fn table_row(&self, label: &str) -> String {
        format!(
            "{:<24} {:>3} {:>7} {:>9.2} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>10.2e} {:>10.2e}",
            label,
            self.dof,
            self.samples,
            self.success_percent(),
            self.mean_ms,
            self.median_ms,
            self.p99_ms,
            self.mean_success_ms,
            self.max_position_error,
            self.max_orientation_error
        )
    }
}

/// Runs the protocol on `chain`; `progress(done, total)` is called now and then.
pub fn run(
    chain: &Chain,
    cfg: &BenchConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> BenchReport {
    let solver = IkSolver::new(
        chain.clone(),
        IkOptions {
            position_tolerance: cfg.tolerance,
            orientation_tolerance: cfg.tolerance,
            timeout: cfg.timeout,
            ..IkOptions::default()
        },
    );
    let mut samples = SplitMix64::new(cfg.rng_seed);
    // A separate stream so random seeds do not change the targets.
    let mut seeds = SplitMix64::new(cfg.rng_seed ^ 0xA5A5_A5A5_A5A5_A5A5);
    let nominal = chain.nominal();
    let mut target = vec![0.0; chain.dof()];
    let mut seed = nominal.clone();
    let mut all_ms = Vec::with_capacity(cfg.samples);
    let mut ok_ms = Vec::with_capacity(cfg.samples);
    let mut report = BenchReport {
        base: chain.base().to_string(),
        tip: chain.tip().to_string(),
        dof: chain.dof(),
        samples: cfg.samples,
        successes: 0,
        verification_failures: 0,
        mean_ms: 0.0,
        median_ms: 0.0,
        p95_ms: 0.0,
        p99_ms: 0.0,
        mean_success_ms: 0.0,
        median_success_ms: 0.0,
        max_position_error: 0.0,
        max_orientation_error: 0.0,
        mean_iterations: 0.0,
        mean_restarts: 0.0,
    };
    let step = (cfg.samples / 100).max(1);
    for k in 0..cfg.samples {
        for (v, j) in target.iter_mut().zip(chain.joints()) {
            let (lo, hi) = j.sampling_bounds();
            *v = samples.uniform(lo, hi);
        }
        if cfg.seed_mode == SeedMode::Random {
            for (v, j) in seed.iter_mut().zip(chain.joints()) {
                let (lo, hi) = j.sampling_bounds();
                *v = seeds.uniform(lo, hi);
            }
        }
        let goal = IkGoal::pose(chain.fk(&target));
        let start = Instant::now();
        let result = solver.solve(&goal, &seed);
        let ms = start.elapsed().as_secs_f64() * 1e3;
        all_ms.push(ms);
        match result {
            Ok(sol) => {
                report.mean_iterations += sol.iterations as f64;
                report.mean_restarts += sol.restarts as f64;
                let reached = chain.fk(&sol.joints);
                let pe = (reached.translation.vector - goal.pose.translation.vector).norm();
                let oe = reached.rotation.angle_to(&goal.pose.rotation);
                if pe <= cfg.tolerance && oe <= cfg.tolerance && chain.within_limits(&sol.joints) {
                    report.successes += 1;
                    ok_ms.push(ms);
                    report.max_position_error = report.max_position_error.max(pe);
                    report.max_orientation_error = report.max_orientation_error.max(oe);
                } else {
                    report.verification_failures += 1;
                }
            }
            Err(crate::ik::IkError::Timeout {
                iterations,
                restarts,
                ..
            })
            | Err(crate::ik::IkError::NoSolution {
                iterations,
                restarts,
                ..
            }) => {
                report.mean_iterations += iterations as f64;
                report.mean_restarts += restarts as f64;
            }
            Err(_) => {}
        }
        if (k + 1) % step == 0 || k + 1 == cfg.samples {
            progress(k + 1, cfg.samples);
        }
    }
    if cfg.samples > 0 {
        report.mean_iterations /= cfg.samples as f64;
        report.mean_restarts /= cfg.samples as f64;
    }
    report.mean_ms = mean(&all_ms);
    report.mean_success_ms = mean(&ok_ms);
    all_ms.sort_by(f64::total_cmp);
    ok_ms.sort_by(f64::total_cmp);
    report.median_ms = percentile(&all_ms, 0.5);
    report.p95_ms = percentile(&all_ms, 0.95);
    report.p99_ms = percentile(&all_ms, 0.99);
    report.median_success_ms = percentile(&ok_ms, 0.5);
    report
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Nearest-rank percentile of sorted values (0 for none).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
