//! Joint-space motion planning: RRT-Connect (Kuffner & LaValle 2000) with a collision-checked
//! straight-line local planner, then shortcut smoothing.
//!
//! A motion between two configurations is valid if every state on the straight line, at
//! most `resolution` apart in every joint (radians, or metres for prismatic joints), is
//! collision-free. States are checked coarse-to-fine (the end, the middle, the quarters, ...)
//! because a colliding motion usually collides over a stretch, which bisection finds early.
//!
//! Everything random comes from one seeded generator, so with the same scene, inputs and
//! options the same path comes back, unless the time budget cuts a run short.

use std::time::{Duration, Instant};

use crate::rng::SplitMix64;
use crate::scene::Scene;

/// Planner settings.
#[derive(Debug, Clone)]
pub struct RrtOptions {
    /// Largest joint step between checked states, radians (metres for prismatic joints).
    pub resolution: f64,
    /// Clearance the planner keeps at the states it checks while growing and shortcutting,
    /// metres. Not a hard guarantee (the final path is certified collision-free, at least
    /// half of [`CONTACT_CLEARANCE`] everywhere), but paths that keep it certify cheaply;
    /// see [`certify`]. 0 disables it.
    pub clearance: f64,
    /// Longest tree edge (Euclidean norm in joint space), radians.
    pub max_step: f64,
    /// Time budget for growing the trees (smoothing has its own cap below).
    pub timeout: Duration,
    /// Most tree extensions before giving up (counts both trees).
    pub max_iterations: usize,
    /// Random shortcut attempts after a path is found.
    pub shortcut_attempts: usize,
    /// Seed of the sampler and of the shortcutting.
    pub seed: u64,
}

impl Default for RrtOptions {
    fn default() -> Self {
        Self {
            resolution: 0.02,
            clearance: CERTIFY_MARGIN,
            max_step: 0.5,
            timeout: Duration::from_secs(1),
            max_iterations: 50_000,
            shortcut_attempts: 100,
            seed: 0x0BAD_5EED_0FF1_CE00,
        }
    }
}

/// Why no path is returned.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum PlanError {
    /// A configuration has the wrong number of joints or is not finite.
    #[error("{which} configuration is invalid: {why}")]
    InvalidInput {
        /// `start` or `goal`.
        which: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A configuration is outside a joint's limits.
    #[error(
        "{which} configuration: joint '{joint}' at {value:.4} is outside [{lower:.4}, {upper:.4}]"
    )]
    OutOfLimits {
        /// `start` or `goal`.
        which: &'static str,
        /// The joint.
        joint: String,
        /// Its value.
        value: f64,
        /// Lower limit.
        lower: f64,
        /// Upper limit.
        upper: f64,
    },
    /// The start configuration collides.
    #[error("start configuration is in collision: '{a}' touches '{b}'")]
    StartInCollision {
        /// One of the pair.
        a: String,
        /// The other.
        b: String,
    },
    /// The goal configuration collides.
    #[error("goal configuration is in collision: '{a}' touches '{b}'")]
    GoalInCollision {
        /// One of the pair.
        a: String,
        /// The other.
        b: String,
    },
    /// The budget ran out before the trees met.
    #[error("no path found within {elapsed:?} ({iterations} extensions, {nodes} tree nodes)")]
    NoPath {
        /// Time spent.
        elapsed: Duration,
        /// Extensions tried.
        iterations: usize,
        /// Nodes in both trees.
        nodes: usize,
    },
}

/// Clearance below which a motion counts as touching. The certified pass guarantees at
/// least half of it everywhere along an accepted motion.
pub const CONTACT_CLEARANCE: f64 = 5e-4;

/// The first colliding state on the straight line from `a` to `b` (`a` itself is assumed
/// valid): its fraction along the line and the colliding pair.
///
/// Two passes. First, states at most `resolution` apart in every joint are checked
/// coarse-to-fine, which rejects most colliding motions after a few cheap checks. A motion
/// that passes is then certified continuously by conservative advancement (Mirtich 1996):
/// from each state it advances by the clearance divided by the bound on how far any point
/// moves ([`Scene::motion_bound`], doubled because both bodies of a self-collision pair
/// move), so no contact can hide between checked states, however thin the obstacle.
pub fn first_collision(
    scene: &Scene,
    a: &[f64],
    b: &[f64],
    resolution: f64,
) -> Option<(f64, String, String)> {
    discrete_collision(scene, a, b, resolution, 0.0).or_else(|| certify(scene, a, b))
}

/// The discrete pass of [`first_collision`]: states `resolution` apart, each required to
/// keep `margin` of clearance (none if `a` itself is closer than that, so a start near an
/// obstacle can still move away).
fn discrete_collision(
    scene: &Scene,
    a: &[f64],
    b: &[f64],
    resolution: f64,
    margin: f64,
) -> Option<(f64, String, String)> {
    let margin = if margin > 0.0 && scene.closer_than(a, margin).is_some() {
        0.0
    } else {
        margin
    };
    let n = steps(a, b, resolution);
    let mut q = vec![0.0; a.len()];
    let mut check = |i: usize| {
        let t = i as f64 / n as f64;
        lerp_into(a, b, t, &mut q);
        scene
            .closer_than(&q, margin)
            .map(|(x, y)| (t, x.to_string(), y.to_string()))
    };
    if let Some(hit) = check(n) {
        return Some(hit);
    }
    // Visits every index in 1..n once: each has a unique lowest set bit.
    let mut stride = n.next_power_of_two();
    while stride > 1 {
        let half = stride / 2;
        let mut i = half;
        while i < n {
            if let Some(hit) = check(i) {
                return Some(hit);
            }
            i += stride;
        }
        stride = half;
    }
    None
}

/// Clearance the padded samples of the continuous pass must keep, metres.
pub const CERTIFY_MARGIN: f64 = 0.01;

/// The continuous pass of [`first_collision`] alone. Cheap case first: sample the motion so
/// densely that no two bodies can approach each other by more than `2 × CERTIFY_MARGIN`
/// between samples, and require `CERTIFY_MARGIN + CONTACT_CLEARANCE / 2` of clearance at
/// every sample; then no instant is closer than `CONTACT_CLEARANCE / 2` (each is within one
/// margin's travel of a sample), the same guarantee conservative advancement gives. Only a motion
/// that passes closer than the margin somewhere pays for exact conservative advancement.
fn certify(scene: &Scene, a: &[f64], b: &[f64]) -> Option<(f64, String, String)> {
    let sweep = scene.approach_bound(a, b);
    let n = (sweep / (2.0 * CERTIFY_MARGIN)).ceil().max(1.0);
    if n <= 4096.0 {
        let n = n as usize;
        let mut q = vec![0.0; a.len()];
        let padded_ok = (0..=n).all(|k| {
            lerp_into(a, b, k as f64 / n as f64, &mut q);
            scene
                .closer_than(&q, CERTIFY_MARGIN + 0.5 * CONTACT_CLEARANCE)
                .is_none()
        });
        if padded_ok {
            return None;
        }
    }
    scene
        .first_contact_on_line(a, b, CONTACT_CLEARANCE)
        .map(|(t, x, y)| (t, x.to_string(), y.to_string()))
}

/// True if the straight line from `a` to `b` is collision-free at the given resolution.
pub fn motion_valid(scene: &Scene, a: &[f64], b: &[f64], resolution: f64) -> bool {
    first_collision(scene, a, b, resolution).is_none()
}

fn steps(a: &[f64], b: &[f64], resolution: f64) -> usize {
    let max = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    ((max / resolution.max(1e-6)).ceil() as usize).max(1)
}

fn lerp_into(a: &[f64], b: &[f64], t: f64, out: &mut [f64]) {
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x + (y - x) * t;
    }
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Checks a start or goal: length, finiteness, limits, collision.
pub fn validate_state(scene: &Scene, q: &[f64], which: &'static str) -> Result<(), PlanError> {
    let chain = scene.robot().chain();
    if q.len() != chain.dof() {
        return Err(PlanError::InvalidInput {
            which,
            why: format!("{} values for {} joints", q.len(), chain.dof()),
        });
    }
    if q.iter().any(|v| !v.is_finite()) {
        return Err(PlanError::InvalidInput {
            which,
            why: "not finite".into(),
        });
    }
    for (j, &v) in chain.joints().iter().zip(q) {
        // A hair of slack: IK and interpolation land on limits with rounding error.
        if !j.is_unbounded() && (v < j.lower - 1e-9 || v > j.upper + 1e-9) {
            return Err(PlanError::OutOfLimits {
                which,
                joint: j.name.clone(),
                value: v,
                lower: j.lower,
                upper: j.upper,
            });
        }
    }
    if let Some((a, b)) = scene.in_collision(q) {
        let (a, b) = (a.to_string(), b.to_string());
        return Err(if which == "start" {
            PlanError::StartInCollision { a, b }
        } else {
            PlanError::GoalInCollision { a, b }
        });
    }
    Ok(())
}

/// A tree of configurations stored flat, each with its parent.
struct Tree {
    dof: usize,
    q: Vec<f64>,
    parent: Vec<usize>,
}

impl Tree {
    fn new(root: &[f64]) -> Self {
        Self {
            dof: root.len(),
            q: root.to_vec(),
            parent: vec![usize::MAX],
        }
    }

    fn len(&self) -> usize {
        self.parent.len()
    }

    fn node(&self, i: usize) -> &[f64] {
        &self.q[i * self.dof..(i + 1) * self.dof]
    }

    fn nearest(&self, q: &[f64]) -> usize {
        let mut best = (f64::INFINITY, 0);
        for i in 0..self.len() {
            let d = dist2(self.node(i), q);
            if d < best.0 {
                best = (d, i);
            }
        }
        best.1
    }

    fn push(&mut self, q: &[f64], parent: usize) -> usize {
        self.q.extend_from_slice(q);
        self.parent.push(parent);
        self.len() - 1
    }

    /// Configurations from node `i` up to the root.
    fn to_root(&self, mut i: usize) -> Vec<Vec<f64>> {
        let mut out = Vec::new();
        loop {
            out.push(self.node(i).to_vec());
            match self.parent[i] {
                usize::MAX => return out,
                p => i = p,
            }
        }
    }
}

enum Extend {
    Trapped,
    Advanced(usize),
    Reached(usize),
}

struct Grower<'a> {
    scene: &'a Scene,
    opts: &'a RrtOptions,
    buf: Vec<f64>,
    /// Certify every tree edge, or only check it at the resolution (see [`plan`]).
    certified: bool,
}

impl Grower<'_> {
    fn extend(&mut self, tree: &mut Tree, target: &[f64]) -> Extend {
        let near = tree.nearest(target);
        let from = tree.node(near).to_vec();
        let d = dist2(&from, target).sqrt();
        let reached = d <= self.opts.max_step;
        let t = if reached { 1.0 } else { self.opts.max_step / d };
        lerp_into(&from, target, t, &mut self.buf);
        let hit = if self.certified {
            first_collision(self.scene, &from, &self.buf, self.opts.resolution)
        } else {
            discrete_collision(
                self.scene,
                &from,
                &self.buf,
                self.opts.resolution,
                self.opts.clearance,
            )
        };
        if hit.is_some() {
            return Extend::Trapped;
        }
        let i = tree.push(&self.buf.clone(), near);
        if reached {
            Extend::Reached(i)
        } else {
            Extend::Advanced(i)
        }
    }

    fn connect(&mut self, tree: &mut Tree, target: &[f64]) -> Extend {
        loop {
            match self.extend(tree, target) {
                Extend::Advanced(_) => {}
                other => return other,
            }
        }
    }
}

/// Plans a collision-free joint path from `start` to `goal` and smooths it. The path starts
/// at `start`, ends at `goal`, and every straight segment passes [`first_collision`].
///
/// The trees grow with the cheap discrete checks only; shortcuts are fully checked, and the
/// final path's segments are certified. Only if one of them fails (an edge grazed an
/// obstacle between discrete checks, which is rare) are the trees grown again with every
/// edge certified, from the same seed.
pub fn plan(
    scene: &Scene,
    start: &[f64],
    goal: &[f64],
    opts: &RrtOptions,
) -> Result<Vec<Vec<f64>>, PlanError> {
    let started = Instant::now();
    validate_state(scene, start, "start")?;
    validate_state(scene, goal, "goal")?;
    if motion_valid(scene, start, goal, opts.resolution) {
        return Ok(vec![start.to_vec(), goal.to_vec()]);
    }
    let certified_path =
        |p: &[Vec<f64>]| p.windows(2).all(|w| certify(scene, &w[0], &w[1]).is_none());
    // Cheap first: discrete checks everywhere, then certify the few final segments. Rare
    // misses fall back to certified smoothing, then to certified growth.
    let mut rng = SplitMix64::new(opts.seed);
    let raw = grow(scene, start, goal, opts, started, false, &mut rng)?;
    let after_grow = rng.clone();
    let path = smooth_with(scene, raw.clone(), opts, &mut rng, false);
    if certified_path(&path) {
        return Ok(path);
    }
    let mut rng = after_grow;
    let path = smooth_with(scene, raw, opts, &mut rng, true);
    if certified_path(&path) {
        return Ok(path);
    }
    let mut rng = SplitMix64::new(opts.seed);
    let raw = grow(scene, start, goal, opts, started, true, &mut rng)?;
    Ok(smooth_with(scene, raw, opts, &mut rng, true))
}

/// RRT-Connect proper: the raw path from start to goal.
fn grow(
    scene: &Scene,
    start: &[f64],
    goal: &[f64],
    opts: &RrtOptions,
    started: Instant,
    certified: bool,
    rng: &mut SplitMix64,
) -> Result<Vec<Vec<f64>>, PlanError> {
    let deadline = started + opts.timeout;
    let bounds: Vec<(f64, f64)> = scene
        .robot()
        .chain()
        .joints()
        .iter()
        .map(|j| j.sampling_bounds())
        .collect();
    let mut a = Tree::new(start);
    let mut b = Tree::new(goal);
    let mut a_is_start = true;
    let mut grower = Grower {
        scene,
        opts,
        buf: vec![0.0; start.len()],
        certified,
    };
    let mut sample = vec![0.0; start.len()];
    for iteration in 0..opts.max_iterations {
        if Instant::now() >= deadline {
            return Err(PlanError::NoPath {
                elapsed: started.elapsed(),
                iterations: iteration,
                nodes: a.len() + b.len(),
            });
        }
        for (s, &(lo, hi)) in sample.iter_mut().zip(&bounds) {
            *s = rng.uniform(lo, hi);
        }
        let new = match grower.extend(&mut a, &sample) {
            Extend::Trapped => None,
            Extend::Advanced(i) | Extend::Reached(i) => Some(i),
        };
        if let Some(i) = new {
            let q_new = a.node(i).to_vec();
            if let Extend::Reached(j) = grower.connect(&mut b, &q_new) {
                let (s_tree, s_node, g_tree, g_node) = if a_is_start {
                    (&a, i, &b, j)
                } else {
                    (&b, j, &a, i)
                };
                let mut path = s_tree.to_root(s_node);
                path.reverse();
                // The joining node appears in both halves.
                path.extend(g_tree.to_root(g_node).into_iter().skip(1));
                return Ok(path);
            }
        }
        std::mem::swap(&mut a, &mut b);
        a_is_start = !a_is_start;
    }
    Err(PlanError::NoPath {
        elapsed: started.elapsed(),
        iterations: opts.max_iterations,
        nodes: a.len() + b.len(),
    })
}

/// Random shortcuts between points anywhere on the path, then a greedy pass that links each
/// kept waypoint to the furthest later one it can see, then removal of collinear points.
/// Shortcuts are fully checked ([`motion_valid`]); the path's own segments are trusted.
pub fn smooth(
    scene: &Scene,
    path: Vec<Vec<f64>>,
    opts: &RrtOptions,
    rng: &mut SplitMix64,
) -> Vec<Vec<f64>> {
    smooth_with(scene, path, opts, rng, true)
}

fn smooth_with(
    scene: &Scene,
    mut path: Vec<Vec<f64>>,
    opts: &RrtOptions,
    rng: &mut SplitMix64,
    certified: bool,
) -> Vec<Vec<f64>> {
    let valid = |a: &[f64], b: &[f64]| {
        if certified {
            motion_valid(scene, a, b, opts.resolution)
        } else {
            discrete_collision(scene, a, b, opts.resolution, opts.clearance).is_none()
        }
    };
    for _ in 0..opts.shortcut_attempts {
        if path.len() < 3 {
            break;
        }
        let cum = cumulative_lengths(&path);
        let total = cum[cum.len() - 1];
        if total <= 0.0 {
            break;
        }
        let (mut s1, mut s2) = (rng.uniform(0.0, total), rng.uniform(0.0, total));
        if s1 > s2 {
            std::mem::swap(&mut s1, &mut s2);
        }
        let (i1, p1) = point_at(&path, &cum, s1);
        let (i2, p2) = point_at(&path, &cum, s2);
        // Only worth it if at least one waypoint lies between the two points.
        if i2 <= i1 {
            continue;
        }
        if valid(&p1, &p2) {
            let mut next = path[..=i1].to_vec();
            next.push(p1);
            next.push(p2);
            next.extend_from_slice(&path[i2 + 1..]);
            path = next;
        }
    }
    let mut out = vec![path[0].clone()];
    let mut i = 0;
    while i < path.len() - 1 {
        let mut j = path.len() - 1;
        while j > i + 1 && !valid(&path[i], &path[j]) {
            j -= 1;
        }
        out.push(path[j].clone());
        i = j;
    }
    remove_redundant(out)
}

fn cumulative_lengths(path: &[Vec<f64>]) -> Vec<f64> {
    let mut cum = vec![0.0];
    for w in path.windows(2) {
        let last = cum[cum.len() - 1];
        cum.push(last + dist2(&w[0], &w[1]).sqrt());
    }
    cum
}

/// The segment index holding arc length `s` and the point there.
fn point_at(path: &[Vec<f64>], cum: &[f64], s: f64) -> (usize, Vec<f64>) {
    let i = cum
        .windows(2)
        .position(|w| s <= w[1])
        .unwrap_or(path.len() - 2);
    let len = cum[i + 1] - cum[i];
    let t = if len > 0.0 { (s - cum[i]) / len } else { 0.0 };
    let mut p = vec![0.0; path[i].len()];
    lerp_into(&path[i], &path[i + 1], t.clamp(0.0, 1.0), &mut p);
    (i, p)
}

/// Drops waypoints that are (nearly) on the line between their neighbours, and duplicates.
fn remove_redundant(path: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(path.len());
    for p in path {
        if out.last().is_some_and(|l| dist2(l, &p) < 1e-18) {
            continue;
        }
        if out.len() >= 2 {
            let a = &out[out.len() - 2];
            let b = &out[out.len() - 1];
            let ab: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
            let ap: Vec<f64> = a.iter().zip(&p).map(|(x, y)| y - x).collect();
            let lab = ab.iter().map(|v| v * v).sum::<f64>().sqrt();
            let lap = ap.iter().map(|v| v * v).sum::<f64>().sqrt();
            let dot: f64 = ab.iter().zip(&ap).map(|(x, y)| x * y).sum();
            // b lies on segment a→p: same direction and not beyond p.
            if lab > 0.0 && lap >= lab && dot >= lab * lap * (1.0 - 1e-12) {
                out.pop();
            }
        }
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collinear_points_are_removed() {
        let p = vec![
            vec![0.0, 0.0],
            vec![1.0, 1.0],
            vec![2.0, 2.0],
            vec![2.0, 3.0],
        ];
        assert_eq!(
            remove_redundant(p),
            vec![vec![0.0, 0.0], vec![2.0, 2.0], vec![2.0, 3.0]]
        );
    }
}
