//! Time parameterisation: hundreds of random paths, sampled densely, never exceed a velocity,
//! acceleration or jerk limit and pass through every waypoint; the U-shaped path of
//! moveit2#2600; limits from URDFs, defaults and overrides.

mod common;

use embody_manipulation::rng::SplitMix64;
use embody_manipulation::timing::{
    DEFAULT_ACCELERATION_REVOLUTE, KinematicLimits, TimingError, Trajectory, time_parameterize,
};
use embody_manipulation::{Chain, embody_arm};

/// Relative slack for floating-point rounding only.
const TOL: f64 = 1e-9;

fn random_limits(rng: &mut SplitMix64, n: usize, jerk: u64) -> KinematicLimits {
    let mut l = KinematicLimits::uniform(n, 1.0, 1.0, None);
    for i in 0..n {
        l.velocity[i] = rng.uniform(0.2, 3.0);
        l.acceleration[i] = rng.uniform(0.5, 10.0);
        // 0: no jerk limits; 1: all joints; 2: some joints.
        l.jerk[i] = match jerk {
            0 => None,
            1 => Some(rng.uniform(2.0, 100.0)),
            _ => rng
                .next_u64()
                .is_multiple_of(2)
                .then(|| rng.uniform(2.0, 100.0)),
        };
    }
    l
}

fn random_path(rng: &mut SplitMix64, n: usize) -> Vec<Vec<f64>> {
    let len = 2 + (rng.next_u64() % 7) as usize;
    let mut path: Vec<Vec<f64>> = Vec::new();
    for _ in 0..len {
        let next = match (path.last(), rng.next_u64() % 6) {
            // A repeated waypoint and a tiny step are both legal and must not break anything.
            (Some(p), 0) => p.clone(),
            (Some(p), 1) => p.iter().map(|v| v + rng.uniform(-1e-4, 1e-4)).collect(),
            _ => (0..n).map(|_| rng.uniform(-3.0, 3.0)).collect(),
        };
        path.push(next);
    }
    path
}

/// Checks every limit at `samples` instants plus both sides of every waypoint, the
/// waypoints themselves, and that velocity and acceleration are the derivatives of what
/// `sample` reports (so the limits are checked on the real motion).
fn check(traj: &Trajectory, path: &[Vec<f64>], l: &KinematicLimits, samples: usize) {
    let n = l.velocity.len();
    let jerk_limited = l.jerk.iter().any(Option::is_some);
    let joint_jerk = l
        .jerk
        .iter()
        .flatten()
        .fold(f64::INFINITY, |m, &j| m.min(j));
    let d = traj.duration();
    let mut times: Vec<f64> = (0..=samples)
        .map(|i| d * i as f64 / samples as f64)
        .collect();
    for &t in traj.waypoint_times() {
        times.extend([t - 1e-7, t, t + 1e-7]);
    }
    for t in times {
        let p = traj.sample(t);
        for i in 0..n {
            assert!(
                p.velocities[i].abs() <= l.velocity[i] * (1.0 + TOL) + 1e-12,
                "v {i} at {t}: {} > {}",
                p.velocities[i],
                l.velocity[i]
            );
            assert!(
                p.accelerations[i].abs() <= l.acceleration[i] * (1.0 + TOL) + 1e-12,
                "a {i} at {t}: {} > {}",
                p.accelerations[i],
                l.acceleration[i]
            );
        }
        // Central differences (away from the ends).
        let h = 1e-6;
        if t > 2.0 * h && t < d - 2.0 * h {
            let (lo, hi) = (traj.sample(t - h), traj.sample(t + h));
            for i in 0..n {
                let v_fd = (hi.positions[i] - lo.positions[i]) / (2.0 * h);
                assert!(
                    (v_fd - p.velocities[i]).abs() < 1e-4 * (1.0 + l.velocity[i]),
                    "velocity is not dq/dt"
                );
                if jerk_limited {
                    let j_fd = (hi.accelerations[i] - lo.accelerations[i]) / (2.0 * h);
                    // Each joint's jerk is the segment's scalar jerk times its delta, so it is
                    // bounded by the joint's own limit where given.
                    if let Some(jl) = l.jerk[i] {
                        assert!(
                            j_fd.abs() <= jl * (1.0 + 1e-6) + 1e-6,
                            "jerk {i} at {t}: {j_fd} > {jl}"
                        );
                    }
                    let a_fd = (hi.velocities[i] - lo.velocities[i]) / (2.0 * h);
                    assert!(
                        (a_fd - p.accelerations[i]).abs() < 1e-3 * (1.0 + joint_jerk.min(1e3)),
                        "acceleration is not dv/dt"
                    );
                }
            }
        }
    }
    // The path is followed: every distinct waypoint is reached, in order, at rest.
    let mut k = 0;
    for w in path {
        if k > 0 && traj.waypoints()[k - 1] == *w {
            continue;
        }
        if k < traj.waypoints().len() && traj.waypoints()[k] == *w {
            let p = traj.sample(traj.waypoint_times()[k]);
            for (i, wi) in w.iter().enumerate() {
                assert!((p.positions[i] - wi).abs() < 1e-9, "waypoint {k} joint {i}");
                assert!(p.velocities[i].abs() < 1e-9);
            }
            k += 1;
        }
    }
    assert!(k >= 1);
    let end = traj.sample(d);
    for (e, w) in end.positions.iter().zip(&path[path.len() - 1]) {
        assert!((e - w).abs() < 1e-12);
    }
}

#[test]
fn random_paths_respect_every_limit() {
    let mut rng = SplitMix64::new(2600);
    for case in 0..300 {
        let n = 1 + (rng.next_u64() % 7) as usize;
        let limits = random_limits(&mut rng, n, case % 3);
        let path = random_path(&mut rng, n);
        let traj = time_parameterize(&path, &limits).unwrap_or_else(|e| panic!("case {case}: {e}"));
        check(&traj, &path, &limits, 2000);
        // Time-optimal per segment: without jerk limits some joint accelerates at exactly
        // its limit at the start of every segment, so the check above is not vacuous.
        if case % 3 == 0 && traj.waypoint_times().len() > 1 {
            let p = traj.sample(1e-9);
            let ratio = (0..n)
                .map(|i| p.accelerations[i].abs() / limits.acceleration[i])
                .fold(0.0, f64::max);
            assert!(
                (ratio - 1.0).abs() < 1e-9,
                "case {case}: peak ratio {ratio}"
            );
        }
    }
}

#[test]
fn limits_are_reached_not_just_respected() {
    // One joint, 2 rad, 1 rad/s and 2 rad/s²: 0.5 s up, 1.5 s cruise, 0.5 s down.
    let l = KinematicLimits::uniform(1, 1.0, 2.0, None);
    let t = time_parameterize(&[vec![0.0], vec![2.0]], &l).expect("timed");
    assert!((t.duration() - 2.5).abs() < 1e-12);
    assert!((t.sample(1.0).velocities[0] - 1.0).abs() < 1e-12);
    assert!((t.sample(0.25).accelerations[0] - 2.0).abs() < 1e-12);
    // With jerk 8 rad/s³: Tj = a/j = 0.25 s, Ta = Tj + v/a = 0.75 s, cruise 2/1 - 0.75.
    let l = KinematicLimits::uniform(1, 1.0, 2.0, Some(8.0));
    let t = time_parameterize(&[vec![0.0], vec![2.0]], &l).expect("timed");
    assert!(
        (t.duration() - (2.0 * 0.75 + 1.25)).abs() < 1e-9,
        "{}",
        t.duration()
    );
    assert!((t.sample(0.5).accelerations[0] - 2.0).abs() < 1e-9);
    // The slowest joint sets the pace; the others follow in proportion.
    let mut l = KinematicLimits::uniform(2, 1.0, 2.0, None);
    l.velocity[1] = 0.25;
    let t = time_parameterize(&[vec![0.0, 0.0], vec![2.0, 1.0]], &l).expect("timed");
    let mid = t.sample(0.5 * t.duration());
    assert!((mid.velocities[1] - 0.25).abs() < 1e-12);
    assert!((mid.velocities[0] - 0.5).abs() < 1e-12);
}

/// moveit2#2600: TOTG commanded 200 rad/s² on a U-shaped path with a 0.2 rad/s² limit.
#[test]
fn u_shaped_path_regression() {
    let l = KinematicLimits::uniform(2, 1.0, 0.2, None);
    let path = vec![
        vec![0.0, 0.0],
        vec![0.0, 1.0],
        vec![0.01, 1.0],
        vec![0.01, 0.0],
    ];
    let t = time_parameterize(&path, &l).expect("timed");
    check(&t, &path, &l, 20_000);
}

#[test]
fn limits_from_urdfs_defaults_and_overrides() {
    let (urdf, model) = embody_arm::model().expect("embody arm");
    let l = KinematicLimits::from_urdf(&urdf, model.chain()).expect("limits");
    assert_eq!(l.velocity, [2.0, 2.0, 2.5, 3.0, 3.0, 3.0]);
    assert_eq!(l.acceleration, [4.0, 4.0, 5.0, 6.0, 6.0, 6.0]);
    assert_eq!(l.jerk[2], Some(50.0));

    let panda = common::load("robots/panda/panda.urdf");
    let chain = Chain::new(&panda, "panda_link0", "panda_link8").expect("chain");
    let mut l = KinematicLimits::from_urdf(&panda, &chain).expect("limits");
    assert!(
        l.acceleration
            .iter()
            .all(|&a| a == DEFAULT_ACCELERATION_REVOLUTE)
    );
    assert!(l.jerk.iter().all(Option::is_none));
    l.set_acceleration("panda_joint1", 15.0).expect("override");
    assert_eq!(l.acceleration[0], 15.0);
    assert_eq!(
        l.set_acceleration("panda_joint9", 1.0),
        Err(TimingError::UnknownJoint("panda_joint9".into()))
    );
    assert!(matches!(
        l.set_velocity("panda_joint2", -1.0),
        Err(TimingError::InvalidLimit {
            what: "velocity",
            ..
        })
    ));
    let s = l.scaled(0.5, 0.25);
    assert_eq!(s.velocity[0], l.velocity[0] * 0.5);

    // A continuous joint without <limit> has no velocity limit: an error, not a guess.
    let arm = common::load("three_joint_arm.urdf");
    let chain = Chain::new(&arm, "base_link", "tool").expect("chain");
    assert_eq!(
        KinematicLimits::from_urdf(&arm, &chain),
        Err(TimingError::MissingVelocityLimit("yaw".into()))
    );

    let l = KinematicLimits::uniform(2, 1.0, 1.0, None);
    assert!(matches!(
        time_parameterize(&[vec![0.0]], &KinematicLimits::uniform(2, 1.0, 1.0, None)),
        Err(TimingError::BadWaypoint { index: 0, .. })
    ));
    assert_eq!(
        time_parameterize(&[], &l).err(),
        Some(TimingError::EmptyPath)
    );
    // A single waypoint is a trajectory of zero duration that stays there.
    let t = time_parameterize(&[vec![0.5, 0.5]], &l).expect("timed");
    assert_eq!(t.duration(), 0.0);
    assert_eq!(t.sample(1.0).positions, [0.5, 0.5]);
}
