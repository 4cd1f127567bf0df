//! Joint-space planning around a box that blocks the straight motion, its errors, and
//! branch-preserving Cartesian moves on the Panda.

mod common;

use std::sync::Arc;
use std::time::Duration;

use embody_manipulation::cartesian::{self, CartesianError, CartesianOptions, CartesianStop};
use embody_manipulation::collision::Convex;
use embody_manipulation::rrt::{self, PlanError, RrtOptions};
use embody_manipulation::timing::{KinematicLimits, time_parameterize};
use embody_manipulation::{
    IkOptions, IkSolver, RobotModel, RobotModelOptions, Scene, SceneObject, embody_arm,
};
use nalgebra::{Isometry3, Vector3};

fn boxed_scene() -> Scene {
    let (_, model) = embody_arm::model().expect("embody arm");
    let mut scene = Scene::new(Arc::new(model));
    scene
        .add_object(SceneObject::new(
            "table",
            Isometry3::translation(0.3, 0.0, -0.025),
            Convex::cuboid(1.2, 1.6, 0.05),
        ))
        .expect("table");
    scene.allow("table", "base_link");
    // A post in front of the arm, right where the pan sweeps the forearm through.
    scene
        .add_object(SceneObject::new(
            "post",
            Isometry3::translation(0.6, 0.0, 0.3),
            Convex::cuboid(0.15, 0.15, 0.6),
        ))
        .expect("post");
    scene
}

const START: [f64; 6] = [-0.8, 1.0, 1.0, 0.0, 0.8, 0.0];
const GOAL: [f64; 6] = [0.8, 1.0, 1.0, 0.0, 0.8, 0.0];

fn deterministic() -> RrtOptions {
    RrtOptions {
        timeout: Duration::from_secs(600),
        ..RrtOptions::default()
    }
}

/// Checks a joint path at 1 mrad steps, far finer than the planner's resolution.
fn assert_dense_free(scene: &Scene, path: &[Vec<f64>]) {
    for w in path.windows(2) {
        let steps = w[0]
            .iter()
            .zip(&w[1])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
            / 1e-3;
        let n = steps.ceil() as usize;
        for i in 0..=n {
            let t = i as f64 / n as f64;
            let q: Vec<f64> = w[0]
                .iter()
                .zip(&w[1])
                .map(|(a, b)| a + (b - a) * t)
                .collect();
            assert_eq!(scene.in_collision(&q), None, "at {q:?}");
        }
    }
}

#[test]
fn plans_around_a_box_in_the_way() {
    let scene = boxed_scene();
    assert_eq!(scene.in_collision(&START), None);
    assert_eq!(scene.in_collision(&GOAL), None);
    let (_, a, b) =
        rrt::first_collision(&scene, &START, &GOAL, 0.02).expect("straight motion collides");
    assert!(a == "post" || b == "post", "{a} {b}");

    let path = rrt::plan(&scene, &START, &GOAL, &deterministic()).expect("path");
    assert_eq!(path[0], START);
    assert_eq!(path[path.len() - 1], GOAL);
    assert!(path.len() >= 3, "needs at least one detour waypoint");
    assert_dense_free(&scene, &path);
    // Same seed, same path.
    assert_eq!(
        rrt::plan(&scene, &START, &GOAL, &deterministic()).expect("path"),
        path
    );

    // The timed trajectory follows the same segments, so it is free too, sampled every ms.
    let (urdf, model) = embody_arm::model().expect("embody arm");
    let limits = KinematicLimits::from_urdf(&urdf, model.chain()).expect("limits");
    let traj = time_parameterize(&path, &limits).expect("timed");
    for p in traj.sample_every(0.001) {
        assert_eq!(scene.in_collision(&p.positions), None, "t = {}", p.time);
    }
}

#[test]
fn thin_obstacles_cannot_hide_between_checks() {
    // A 2 mm plate across the sweep: at a coarse 0.2 rad resolution the discrete checks can
    // step over it; the certified pass cannot.
    let mut scene = boxed_scene();
    scene.remove_object("post").expect("post");
    scene
        .add_object(SceneObject::new(
            "plate",
            Isometry3::translation(0.6, 0.0, 0.3),
            Convex::cuboid(0.3, 0.002, 0.6),
        ))
        .expect("plate");
    let hit = rrt::first_collision(&scene, &START, &GOAL, 0.2).expect("plate is hit");
    assert!(hit.1 == "plate" || hit.2 == "plate");
    let path = rrt::plan(
        &scene,
        &START,
        &GOAL,
        &RrtOptions {
            resolution: 0.2,
            ..deterministic()
        },
    )
    .expect("path");
    assert_dense_free(&scene, &path);
}

#[test]
fn planning_errors_name_the_cause() {
    let scene = boxed_scene();
    let inside = [0.0, 1.0, 1.0, 0.0, 0.8, 0.0];
    match rrt::plan(&scene, &START, &inside, &deterministic()) {
        Err(PlanError::GoalInCollision { a, b }) => assert!(a == "post" || b == "post"),
        other => panic!("{other:?}"),
    }
    match rrt::plan(&scene, &inside, &GOAL, &deterministic()) {
        Err(e @ PlanError::StartInCollision { .. }) => {
            assert!(e.to_string().contains("post"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    let far = [0.0, 2.5, 0.0, 0.0, 0.0, 0.0];
    match rrt::plan(&scene, &START, &far, &deterministic()) {
        Err(PlanError::OutOfLimits { joint, .. }) => assert_eq!(joint, "shoulder_lift_joint"),
        other => panic!("{other:?}"),
    }
    let no_budget = RrtOptions {
        max_iterations: 0,
        ..deterministic()
    };
    assert!(matches!(
        rrt::plan(&scene, &START, &GOAL, &no_budget),
        Err(PlanError::NoPath { .. })
    ));
    assert!(matches!(
        rrt::plan(&scene, &START[..5], &GOAL, &no_budget),
        Err(PlanError::InvalidInput { which: "start", .. })
    ));
}

fn panda() -> (Scene, IkSolver) {
    let urdf = common::load("robots/panda/panda.urdf");
    let model = RobotModel::from_urdf(
        &urdf,
        "panda_link0",
        "panda_link8",
        &RobotModelOptions::default(),
    )
    .expect("model");
    let solver = IkSolver::new(model.chain().clone(), IkOptions::default());
    (Scene::new(Arc::new(model)), solver)
}

const READY: [f64; 7] = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785];

#[test]
fn cartesian_line_on_the_panda_without_flips() {
    let (scene, solver) = panda();
    let chain = solver.chain();
    let from = chain.fk(&READY);
    let opts = CartesianOptions {
        ik_timeout: Duration::from_secs(10),
        ..CartesianOptions::default()
    };
    // 25 cm sideways and 20 cm down, keeping the orientation.
    let offset = Vector3::new(0.05, 0.25, -0.20);
    let path = cartesian::translate(&scene, &solver, &READY, &offset, &opts).expect("line");
    assert!(path.waypoints.len() > 60, "{} steps", path.waypoints.len());
    assert!(
        path.max_joint_step < 0.05,
        "largest joint step {}",
        path.max_joint_step
    );
    let a = from.translation.vector;
    let b = a + offset;
    for (k, q) in path.waypoints.iter().enumerate() {
        assert!(chain.within_limits(q));
        let t = chain.fk(q);
        let p = t.translation.vector;
        // On the segment: distance to the line and no overshoot.
        let s = (p - a).dot(&offset) / offset.norm_squared();
        assert!((-1e-9..=1.0 + 1e-9).contains(&s), "waypoint {k} at s = {s}");
        assert!(
            (p - (a + offset * s)).norm() < 1e-4,
            "waypoint {k} off the line"
        );
        assert!(t.rotation.angle_to(&from.rotation) < 1e-4);
    }
    let end = chain.fk(&path.waypoints[path.waypoints.len() - 1]);
    assert!((end.translation.vector - b).norm() < 1e-4);
}

#[test]
fn a_simplified_cartesian_line_keeps_few_waypoints_and_stays_on_the_line() {
    let (scene, solver) = panda();
    let chain = solver.chain();
    let from = chain.fk(&READY);
    let offset = Vector3::new(0.05, 0.25, -0.20);
    let dense = CartesianOptions {
        ik_timeout: Duration::from_secs(10),
        ..CartesianOptions::default()
    };
    let thin = CartesianOptions {
        simplify_tolerance: Some(0.001),
        ..dense.clone()
    };
    let full = cartesian::translate(&scene, &solver, &READY, &offset, &dense).expect("line");
    let path = cartesian::translate(&scene, &solver, &READY, &offset, &thin).expect("line");
    assert!(
        path.waypoints.len() * 5 < full.waypoints.len(),
        "{} of {} waypoints kept",
        path.waypoints.len(),
        full.waypoints.len()
    );
    assert_eq!(path.waypoints[0], full.waypoints[0]);
    assert_eq!(path.waypoints.last(), full.waypoints.last());
    // Along every kept joint segment the tip stays within the tolerance (plus the dense
    // path's own 1e-4) of the straight line.
    let a = from.translation.vector;
    let mut worst = 0.0f64;
    for w in path.waypoints.windows(2) {
        for i in 0..=20 {
            let f = f64::from(i) / 20.0;
            let q: Vec<f64> = w[0]
                .iter()
                .zip(&w[1])
                .map(|(x, y)| x + (y - x) * f)
                .collect();
            let p = chain.fk(&q).translation.vector;
            let s = ((p - a).dot(&offset) / offset.norm_squared()).clamp(0.0, 1.0);
            worst = worst.max((p - (a + offset * s)).norm());
        }
    }
    assert!(worst < 0.0011, "{worst} m off the line");
}

#[test]
fn cartesian_failures_report_the_fraction() {
    let (scene, solver) = panda();
    let opts = CartesianOptions {
        ik_timeout: Duration::from_secs(10),
        ..CartesianOptions::default()
    };
    // Straight up by a metre leaves the workspace part of the way along.
    match cartesian::translate(&scene, &solver, &READY, &Vector3::new(0.0, 0.0, 1.0), &opts) {
        Err(e @ CartesianError::Incomplete { fraction, .. }) => {
            assert!(fraction > 0.2 && fraction < 1.0, "{e}");
            assert!(e.to_string().contains('%'));
        }
        other => panic!("{other:?}"),
    }
    // A jump threshold below a single step's joint change rejects the very first step.
    let strict = CartesianOptions {
        jump_threshold: 1e-4,
        ..opts.clone()
    };
    match cartesian::translate(
        &scene,
        &solver,
        &READY,
        &Vector3::new(0.0, 0.2, 0.0),
        &strict,
    ) {
        Err(CartesianError::Incomplete {
            fraction,
            reason: CartesianStop::JointJump { .. },
        }) => assert_eq!(fraction, 0.0),
        other => panic!("{other:?}"),
    }
    // Into an obstacle: stops with the pair named.
    let mut blocked = scene.clone();
    let tip = solver.chain().fk(&READY).translation.vector;
    blocked
        .add_object(SceneObject::new(
            "wall",
            Isometry3::translation(tip.x, tip.y + 0.15, tip.z),
            Convex::cuboid(0.4, 0.02, 0.4),
        ))
        .expect("wall");
    match cartesian::translate(
        &blocked,
        &solver,
        &READY,
        &Vector3::new(0.0, 0.3, 0.0),
        &opts,
    ) {
        Err(CartesianError::Incomplete {
            fraction,
            reason: CartesianStop::Collision { a, b },
        }) => {
            assert!(fraction > 0.0 && fraction < 0.5, "{fraction}");
            assert!(a == "wall" || b == "wall");
        }
        other => panic!("{other:?}"),
    }
}
