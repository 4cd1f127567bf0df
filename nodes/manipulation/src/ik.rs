//! Numerical inverse kinematics for any serial chain.
//!
//! Levenberg–Marquardt on the 6-D pose error with the damping of Sugihara (2011): the damping
//! follows the remaining error, so far from the goal the steps are short and safe and close
//! to it they become Gauss–Newton steps that converge quadratically. Joints are clamped to
//! their limits after each step; a joint stuck at a limit is dropped from the step so the
//! others can still make progress. When an attempt stalls, the solver restarts from a random
//! configuration (deterministic generator), until it succeeds or the time budget runs out.
//! A candidate is returned only after an independent forward-kinematics check.

use std::time::{Duration, Instant};

use nalgebra::{Isometry3, Matrix6, Matrix6xX, Vector3, Vector6};

use crate::kinematics::Chain;
use crate::rng::SplitMix64;

/// What the tip should reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IkGoal {
    /// Target tip pose in the chain's base frame.
    pub pose: Isometry3<f64>,
    /// Weights of the error in x, y, z (position) and about x, y, z (orientation, base
    /// frame); 0 frees an axis. The tolerances apply to the weighted errors.
    pub weights: [f64; 6],
}

impl IkGoal {
    /// Full 6-D pose.
    pub fn pose(pose: Isometry3<f64>) -> Self {
        Self {
            pose,
            weights: [1.0; 6],
        }
    }

    /// Position only; any orientation is accepted.
    pub fn position(p: Vector3<f64>) -> Self {
        Self {
            pose: Isometry3::translation(p.x, p.y, p.z),
            weights: [1.0, 1.0, 1.0, 0.0, 0.0, 0.0],
        }
    }

    /// A pose with per-axis weights (see [`IkGoal::weights`]).
    pub fn weighted(pose: Isometry3<f64>, weights: [f64; 6]) -> Self {
        Self { pose, weights }
    }

    fn constrains_position(&self) -> bool {
        self.weights[..3].iter().all(|&w| w > 0.0)
    }
}

/// Solver settings.
#[derive(Debug, Clone)]
pub struct IkOptions {
    /// Largest accepted (weighted) position error, metres.
    pub position_tolerance: f64,
    /// Largest accepted (weighted) orientation error, radians.
    pub orientation_tolerance: f64,
    /// Time budget per call.
    pub timeout: Duration,
    /// Most random restarts per call (after the seeded attempt).
    pub max_restarts: usize,
    /// Iterations per attempt before it counts as stalled.
    pub max_iterations: usize,
    /// Seed of the restart generator; the same seed gives the same restarts every call.
    pub rng_seed: u64,
}

impl Default for IkOptions {
    /// TRAC-IK's benchmark settings: 1e-5 tolerance, 5 ms.
    fn default() -> Self {
        Self {
            position_tolerance: 1e-5,
            orientation_tolerance: 1e-5,
            timeout: Duration::from_millis(5),
            max_restarts: usize::MAX,
            max_iterations: 40,
            rng_seed: 0x5EED_1C0F_FEE5_EED5,
        }
    }
}

/// A verified IK solution.
#[derive(Debug, Clone, PartialEq)]
pub struct IkSolution {
    /// Joint values, within limits (continuous joints wrapped to (-π, π]).
    pub joints: Vec<f64>,
    /// Iterations over all attempts.
    pub iterations: usize,
    /// Random restarts used.
    pub restarts: usize,
    /// Final weighted position error, metres.
    pub position_error: f64,
    /// Final weighted orientation error, radians.
    pub orientation_error: f64,
}

/// Why no solution is returned.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum IkError {
    /// The seed has the wrong number of joints.
    #[error("seed has {got} joint values, the chain has {expected} joints")]
    SeedLength {
        /// The chain's joint count.
        expected: usize,
        /// The seed's length.
        got: usize,
    },
    /// The seed or goal contains NaN or infinity, or a weight is negative.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The target lies farther from the base than the chain can reach.
    #[error("target is {distance:.4} m from the base, the chain reaches at most {reach:.4} m")]
    Unreachable {
        /// Distance of the target from the base origin.
        distance: f64,
        /// The chain's maximum reach.
        reach: f64,
    },
    /// The time budget ran out.
    #[error(
        "no solution within {elapsed:?} ({iterations} iterations, {restarts} restarts; best error {position_error:.3e} m, {orientation_error:.3e} rad)"
    )]
    Timeout {
        /// Time spent until the deadline passed.
        elapsed: Duration,
        /// Iterations spent.
        iterations: usize,
        /// Restarts spent.
        restarts: usize,
        /// Best position error seen.
        position_error: f64,
        /// Best orientation error seen.
        orientation_error: f64,
    },
    /// All restarts were used up.
    #[error(
        "no solution after {restarts} restarts ({iterations} iterations; best error {position_error:.3e} m, {orientation_error:.3e} rad)"
    )]
    NoSolution {
        /// Iterations spent.
        iterations: usize,
        /// Restarts spent.
        restarts: usize,
        /// Best position error seen.
        position_error: f64,
        /// Best orientation error seen.
        orientation_error: f64,
    },
}

/// An IK solver bound to one chain.
#[derive(Debug, Clone)]
pub struct IkSolver {
    chain: Chain,
    options: IkOptions,
    reach: f64,
}

/// Weighted pose error: linear part then rotation vector, both in the base frame.
fn pose_error(current: &Isometry3<f64>, goal: &IkGoal) -> Vector6<f64> {
    let dp = goal.pose.translation.vector - current.translation.vector;
    let dr = (goal.pose.rotation * current.rotation.inverse()).scaled_axis();
    let w = &goal.weights;
    Vector6::new(
        dp.x * w[0],
        dp.y * w[1],
        dp.z * w[2],
        dr.x * w[3],
        dr.y * w[4],
        dr.z * w[5],
    )
}

fn split_norms(e: &Vector6<f64>) -> (f64, f64) {
    (e.fixed_rows::<3>(0).norm(), e.fixed_rows::<3>(3).norm())
}

/// Scratch space of one solve, allocated once per call.
struct Work {
    jac: Matrix6xX<f64>,
    jac_cand: Matrix6xX<f64>,
    q: Vec<f64>,
    cand: Vec<f64>,
    dq: Vec<f64>,
    free: Vec<bool>,
}

impl IkSolver {
    /// A solver for `chain`.
    pub fn new(chain: Chain, options: IkOptions) -> Self {
        // Each moving joint keeps lengths, so the tip is at most the sum of the fixed
        // offsets (plus prismatic travel) from the base origin.
        let mut reach: f64 = (0..=chain.dof())
            .map(|i| chain.fixed_translation_norm(i))
            .sum();
        for j in chain.joints() {
            if j.motion == crate::kinematics::Motion::Prismatic {
                reach += j.lower.abs().max(j.upper.abs());
            }
        }
        Self {
            chain,
            options,
            reach,
        }
    }

    /// The chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The settings.
    pub fn options(&self) -> &IkOptions {
        &self.options
    }

    /// Replaces the settings.
    pub fn set_options(&mut self, options: IkOptions) {
        self.options = options;
    }

    /// Solves from `seed` within the configured time budget.
    pub fn solve(&self, goal: &IkGoal, seed: &[f64]) -> Result<IkSolution, IkError> {
        self.solve_until(goal, seed, Instant::now() + self.options.timeout)
    }

    /// Solves from `seed`, giving up at `deadline`.
    pub fn solve_until(
        &self,
        goal: &IkGoal,
        seed: &[f64],
        deadline: Instant,
    ) -> Result<IkSolution, IkError> {
        let started = Instant::now();
        let n = self.chain.dof();
        if seed.len() != n {
            return Err(IkError::SeedLength {
                expected: n,
                got: seed.len(),
            });
        }
        self.validate(goal, seed)?;
        let opts = &self.options;
        let mut rng = SplitMix64::new(opts.rng_seed);
        let mut w = Work {
            jac: Matrix6xX::zeros(n),
            jac_cand: Matrix6xX::zeros(n),
            q: seed
                .iter()
                .zip(self.chain.joints())
                .map(|(&v, j)| j.clamp(v))
                .collect(),
            cand: vec![0.0; n],
            dq: vec![0.0; n],
            free: vec![true; n],
        };
        let mut iterations = 0;
        let mut restarts = 0;
        let mut best = (f64::INFINITY, f64::INFINITY);
        loop {
            let outcome = self.attempt(goal, &mut w, deadline, &mut iterations, &mut best);
            match outcome {
                Attempt::Converged => {
                    if let Some((pe, oe)) = self.verify(goal, &w.q) {
                        return Ok(IkSolution {
                            joints: w.q,
                            iterations,
                            restarts,
                            position_error: pe,
                            orientation_error: oe,
                        });
                    }
                }
                Attempt::OutOfTime => {
                    return Err(IkError::Timeout {
                        elapsed: started.elapsed(),
                        iterations,
                        restarts,
                        position_error: best.0,
                        orientation_error: best.1,
                    });
                }
                Attempt::Stalled => {}
            }
            if restarts >= opts.max_restarts {
                return Err(IkError::NoSolution {
                    iterations,
                    restarts,
                    position_error: best.0,
                    orientation_error: best.1,
                });
            }
            restarts += 1;
            for (v, j) in w.q.iter_mut().zip(self.chain.joints()) {
                let (lo, hi) = j.sampling_bounds();
                *v = rng.uniform(lo, hi);
            }
        }
    }

    fn validate(&self, goal: &IkGoal, seed: &[f64]) -> Result<(), IkError> {
        if seed.iter().any(|v| !v.is_finite()) {
            return Err(IkError::InvalidInput("seed is not finite".into()));
        }
        let t = &goal.pose;
        let finite = t.translation.vector.iter().all(|v| v.is_finite())
            && t.rotation.coords.iter().all(|v| v.is_finite());
        if !finite {
            return Err(IkError::InvalidInput("goal pose is not finite".into()));
        }
        if goal.weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(IkError::InvalidInput(
                "weights must be finite and non-negative".into(),
            ));
        }
        if goal.constrains_position() {
            let distance = t.translation.vector.norm();
            if distance > self.reach + self.options.position_tolerance {
                return Err(IkError::Unreachable {
                    distance,
                    reach: self.reach,
                });
            }
        }
        Ok(())
    }

    /// Independent check of a candidate: fresh FK, tolerances and limits.
    fn verify(&self, goal: &IkGoal, q: &[f64]) -> Option<(f64, f64)> {
        if !self.chain.within_limits(q) {
            return None;
        }
        let (pe, oe) = split_norms(&pose_error(&self.chain.fk(q), goal));
        (pe <= self.options.position_tolerance && oe <= self.options.orientation_tolerance)
            .then_some((pe, oe))
    }

    /// One Levenberg–Marquardt run from `w.q`; on `Converged`, `w.q` holds the solution.
    fn attempt(
        &self,
        goal: &IkGoal,
        w: &mut Work,
        deadline: Instant,
        iterations: &mut usize,
        best: &mut (f64, f64),
    ) -> Attempt {
        let opts = &self.options;
        let joints = self.chain.joints();
        let n = joints.len();
        let wts = Vector6::from_column_slice(&goal.weights);
        let tip = self.chain.fk_jacobian(&w.q, &mut w.jac);
        let mut err = pose_error(&tip, goal);
        let mut energy = 0.5 * err.norm_squared();
        // Sugihara's bias keeps the damped system well conditioned at singularities; it
        // shrinks while steps succeed so the final steps are nearly pure Gauss-Newton.
        let mut bias = 1e-3;
        let mut stall = 0;
        for _ in 0..opts.max_iterations {
            let (pe, oe) = split_norms(&err);
            if pe < best.0 || (pe <= best.0 && oe < best.1) {
                *best = (pe, oe);
            }
            if pe <= opts.position_tolerance && oe <= opts.orientation_tolerance {
                return Attempt::Converged;
            }
            if Instant::now() >= deadline {
                return Attempt::OutOfTime;
            }
            *iterations += 1;
            // The damped normal equations are solved in task space (6 × 6 whatever the joint
            // count). A joint sitting on a limit that the step pushes further out is dropped
            // and the step recomputed, so the free joints take up its share instead of the
            // clamp silently discarding it.
            w.free.iter_mut().for_each(|f| *f = true);
            let lambda = energy + bias;
            for _pass in 0..2 {
                let mut a = Matrix6::<f64>::zeros();
                for i in 0..n {
                    if w.free[i] {
                        let c: Vector6<f64> = w.jac.column(i).component_mul(&wts);
                        a.ger(1.0, &c, &c, 1.0);
                    }
                }
                for d in 0..6 {
                    a[(d, d)] += lambda;
                }
                let Some(ch) = a.cholesky() else {
                    return Attempt::Stalled;
                };
                let y = ch.solve(&err).component_mul(&wts);
                let mut pinned = false;
                for (i, j) in joints.iter().enumerate() {
                    w.dq[i] = if w.free[i] {
                        w.jac.column(i).dot(&y)
                    } else {
                        0.0
                    };
                    let next = w.q[i] + w.dq[i];
                    let leaves = !j.is_unbounded() && (next < j.lower || next > j.upper);
                    let at_limit = w.q[i] == j.lower || w.q[i] == j.upper;
                    if w.free[i] && leaves && at_limit {
                        w.free[i] = false;
                        pinned = true;
                    }
                }
                if !pinned {
                    break;
                }
            }
            // A step much longer than a radian leaves the region where the linear model
            // means anything; shorten it, keeping its direction.
            let max = w.dq.iter().fold(0.0f64, |m, d| m.max(d.abs()));
            let scale = if max > 1.0 { 1.0 / max } else { 1.0 };
            for (((c, j), q), dq) in w.cand.iter_mut().zip(joints).zip(&w.q).zip(&w.dq) {
                *c = j.clamp(q + dq * scale);
            }
            // The candidate's Jacobian goes to a second buffer: a rejected step retries
            // from the current point with more damping and needs the current Jacobian.
            let cand_tip = self.chain.fk_jacobian(&w.cand, &mut w.jac_cand);
            let cand_err = pose_error(&cand_tip, goal);
            let cand_energy = 0.5 * cand_err.norm_squared();
            if cand_energy < energy {
                let gain = (energy - cand_energy) / energy;
                std::mem::swap(&mut w.q, &mut w.cand);
                std::mem::swap(&mut w.jac, &mut w.jac_cand);
                err = cand_err;
                energy = cand_energy;
                bias = (bias * 0.1).max(1e-9);
                stall = if gain < 1e-3 { stall + 1 } else { 0 };
            } else {
                bias = (bias * 10.0).min(1e2);
                stall += 1;
            }
            if stall > 3 {
                return Attempt::Stalled;
            }
        }
        let (pe, oe) = split_norms(&err);
        if pe <= opts.position_tolerance && oe <= opts.orientation_tolerance {
            Attempt::Converged
        } else {
            Attempt::Stalled
        }
    }
}

enum Attempt {
    Converged,
    Stalled,
    OutOfTime,
}
