//! Pick a cup off the table and place it in the tray with the embody arm, in the pure planner,
//! and replay every trajectory against the scene it was planned in.

use std::sync::Arc;
use std::time::Duration;

use embody_manipulation::grasp;
use embody_manipulation::pick_place::{
    GripperAction, PhaseKind, PickPlaceOptions, PickPlaceRequest, plan_pick_place,
};
use embody_manipulation::tabletop::{self, CUP_HEIGHT, TabletopLayout};
use embody_manipulation::timing::KinematicLimits;
use embody_manipulation::{IkOptions, IkSolver, Scene, embody_arm};
use nalgebra::Isometry3;

const TOUCH: [&str; 3] = embody_arm::TOUCH_LINKS;

#[test]
fn cup_from_table_to_tray() {
    let (urdf, model) = embody_arm::model().expect("embody arm");
    let model = Arc::new(model);
    let mut scene = Scene::new(model.clone());
    let layout = TabletopLayout::default();
    tabletop::populate(&mut scene, &layout, "base_link").expect("scene");
    let solver = IkSolver::new(
        model.chain().clone(),
        IkOptions {
            timeout: Duration::from_secs(10),
            max_restarts: 100,
            ..IkOptions::default()
        },
    );
    let limits = KinematicLimits::from_urdf(&urdf, model.chain()).expect("limits");
    let mut opts = PickPlaceOptions::new(limits.clone(), &TOUCH);
    // Deterministic: bounded by iterations, not by wall time.
    opts.rrt.timeout = Duration::from_secs(600);
    opts.cartesian.ik_timeout = Duration::from_secs(10);
    let (tx, ty) = layout.tray.expect("tray");
    let place = Isometry3::translation(tx, ty, tabletop::tray_floor() + 0.5 * CUP_HEIGHT);
    let start = vec![0.0, -0.3, 1.9, 0.0, 1.0, 0.0];
    assert_eq!(scene.in_collision(&start), None);
    let req = PickPlaceRequest {
        object: "cup_1".into(),
        place_pose: place,
        start: start.clone(),
        pick_support: Some("table".into()),
        place_support: Some("tray".into()),
    };
    let plan = plan_pick_place(&scene, &solver, &req, &opts).unwrap_or_else(|e| panic!("{e}"));

    let kinds: Vec<PhaseKind> = plan.phases.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            PhaseKind::MoveToPreGrasp,
            PhaseKind::Approach,
            PhaseKind::Grasp,
            PhaseKind::Lift,
            PhaseKind::Transport,
            PhaseKind::Place,
            PhaseKind::Release,
            PhaseKind::Retreat,
        ]
    );

    // Replay: the scene as the robot lives through it, attach at the grasp, detach at the
    // release, each motion sampled every 2 ms against that scene plus the phase's allowed
    // contacts. The motions must join up.
    let mut live = scene.clone();
    let mut q = start.clone();
    for phase in &plan.phases {
        if let Some(action) = &phase.gripper {
            match action {
                GripperAction::Close { object, .. } => {
                    live.attach(object, "tcp", &q, &TOUCH).expect("attach")
                }
                GripperAction::Open => live.detach("cup_1", &q).expect("detach"),
            }
            continue;
        }
        let traj = phase.trajectory.as_ref().expect("motion phase");
        let first = traj.sample(0.0).positions;
        let jump = first
            .iter()
            .zip(&q)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            jump < 1e-9,
            "{:?} starts {jump} away from where the last ended",
            phase.kind
        );
        let mut check = live.clone();
        for (a, b) in &phase.allowed {
            check.allow(a, b);
        }
        for p in traj.sample_every(0.002) {
            assert!(
                model.chain().within_limits(&p.positions),
                "{:?}",
                phase.kind
            );
            if let Some((a, b)) = check.in_collision(&p.positions) {
                panic!("{:?} at t = {:.3}: '{a}' touches '{b}'", phase.kind, p.time);
            }
            for (i, v) in p.velocities.iter().enumerate() {
                assert!(v.abs() <= limits.velocity[i] * (1.0 + 1e-9));
            }
        }
        q = traj.end().to_vec();
    }
    // The cup is in the tray, where it was asked to be.
    let cup = plan.final_scene.object("cup_1").expect("cup in the world");
    let err = (cup.pose.translation.vector - place.translation.vector).norm();
    assert!(err < 1e-3, "cup {err} m from the place pose");
    assert!(cup.pose.rotation.angle_to(&place.rotation) < 1e-3);
    assert_eq!(plan.final_joints, q);
    // Nothing is attached at the end and the retreat left the cup alone.
    assert!(plan.final_scene.attached().is_empty());
    assert_eq!(plan.final_scene.in_collision(&q), None);
}

#[test]
fn failures_name_the_phase() {
    let (urdf, model) = embody_arm::model().expect("embody arm");
    let model = Arc::new(model);
    let mut scene = Scene::new(model.clone());
    tabletop::populate(&mut scene, &TabletopLayout::default(), "base_link").expect("scene");
    // Bounded by counts, not wall time, so a loaded machine cannot move the failing phase.
    let solver = IkSolver::new(
        model.chain().clone(),
        IkOptions {
            timeout: Duration::from_secs(10),
            max_restarts: 100,
            ..IkOptions::default()
        },
    );
    let limits = KinematicLimits::from_urdf(&urdf, model.chain()).expect("limits");
    let mut opts = PickPlaceOptions::new(limits, &TOUCH);
    opts.rrt.timeout = Duration::from_secs(600);
    opts.cartesian.ik_timeout = Duration::from_secs(10);
    opts.max_grasps = 2;
    let mut req = PickPlaceRequest {
        object: "mug".into(),
        place_pose: Isometry3::translation(0.3, 0.3, 0.06),
        start: vec![0.0, -0.3, 1.9, 0.0, 1.0, 0.0],
        pick_support: Some("table".into()),
        place_support: Some("table".into()),
    };
    let e = plan_pick_place(&scene, &solver, &req, &opts).expect_err("no such object");
    assert_eq!(e.phase, PhaseKind::SelectGrasp);
    assert!(e.to_string().contains("mug"), "{e}");
    // A place pose far out of reach fails in transport (no IK for the pre-place pose).
    req.object = "cup_1".into();
    req.place_pose = Isometry3::translation(3.0, 0.0, 0.06);
    let e = plan_pick_place(&scene, &solver, &req, &opts).expect_err("out of reach");
    assert_eq!(e.phase, PhaseKind::Transport, "{e}");
    assert!(e.grasps_tried >= 1);
    // A start in collision is refused before anything is planned, naming the pair.
    req.start = vec![0.0, 1.75, 0.0, 0.0, 0.0, 0.0];
    let e = plan_pick_place(&scene, &solver, &req, &opts).expect_err("start collides");
    assert!(
        e.to_string().contains("table") || e.to_string().contains("obstacle"),
        "{e}"
    );
}

#[test]
fn grasps_are_ranked_by_reachability() {
    let (_, model) = embody_arm::model().expect("embody arm");
    let model = Arc::new(model);
    let mut scene = Scene::new(model.clone());
    let layout = TabletopLayout {
        cups: vec![("near".into(), 0.45, -0.28), ("far".into(), 1.6, 0.0)],
        table_size: (4.0, 1.6),
        ..TabletopLayout::default()
    };
    tabletop::populate(&mut scene, &layout, "base_link").expect("scene");
    let solver = IkSolver::new(
        model.chain().clone(),
        IkOptions {
            timeout: Duration::from_secs(10),
            max_restarts: 50,
            ..IkOptions::default()
        },
    );
    let o = grasp::GraspOptions::default();
    let seed = [0.0, -0.3, 1.9, 0.0, 1.0, 0.0];
    let near = scene.object("near").expect("near").clone();
    let candidates = grasp::object_grasps(&near, &o);
    let ranked = grasp::rank_grasps(&scene, &solver, "near", &candidates, &seed, &TOUCH);
    assert!(!ranked.is_empty() && ranked.len() <= candidates.len());
    assert!(ranked.windows(2).all(|w| w[0].cost <= w[1].cost));
    for r in &ranked {
        let tcp = model.chain().fk(&r.at_grasp);
        let want = r.grasp.tcp_pose(&near.pose);
        assert!((tcp.translation.vector - want.translation.vector).norm() < 1e-4);
        assert_eq!(scene.in_collision(&r.pre_grasp), None);
    }
    // 1.6 m away is beyond the arm's reach: nothing to rank.
    let far = scene.object("far").expect("far").clone();
    let candidates = grasp::object_grasps(&far, &o);
    assert!(!candidates.is_empty());
    assert!(grasp::rank_grasps(&scene, &solver, "far", &candidates, &seed, &TOUCH).is_empty());
}
