//! The arm world as a node: another zenoh session sees its joint states and sends a joint
//! trajectory and a gripper command on the design's topics, and the arm follows them; a
//! trajectory naming a joint the arm lacks is refused without ending the run.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use embody::msgs::builtin_interfaces::msg::Duration as MsgDuration;
use embody::msgs::sensor_msgs::msg::JointState;
use embody::msgs::std_msgs::msg::Float64;
use embody::msgs::trajectory_msgs::msg::{JointTrajectory, JointTrajectoryPoint};
use embody::qos::{History, QosProfile};
use embody::{Context, ContextOptions, NodeOptions, Router};
use embody_sim::arm_node::run_arm_node;
use embody_sim::scenario::{WorldRun, load_runs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commander_in_another_session_moves_the_arm_and_the_gripper() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/arm/cups_to_tray.yaml");
    let set = [("run_time_s".to_string(), "4".to_string())];
    let Some(WorldRun::Arm(mut run)) = load_runs(&path, &set).unwrap().into_iter().next() else {
        panic!("an arm run")
    };
    run.scenario.camera = None;
    let home = run.scenario.arm.initial_positions.clone().unwrap();

    let ep = format!("tcp/127.0.0.1:{}", embody_testkit::free_loopback_port());
    let _router = Router::start(std::slice::from_ref(&ep)).await.unwrap();
    let commander_ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let commander = commander_ctx
        .create_node_with("commander", NodeOptions::default().use_sim_time(true))
        .await
        .unwrap();
    let qos = QosProfile::default().history(History::KeepAll);
    let trajectories = Arc::new(
        commander
            .create_publisher::<JointTrajectory>("arm_controller/joint_trajectory", qos)
            .await
            .unwrap(),
    );
    let gripper = Arc::new(
        commander
            .create_publisher::<Float64>("gripper/command", qos)
            .await
            .unwrap(),
    );
    // On the first joint state: a bad trajectory, a good one (shoulder +0.3 rad in 1 s) and
    // a gripper command to close.
    let sent = Arc::new(AtomicBool::new(false));
    let once = sent.clone();
    let q0 = home.clone();
    let _states = commander
        .create_subscription_with::<JointState, _>(
            "joint_states",
            qos,
            move |js: Arc<JointState>| {
                if once.swap(true, Ordering::SeqCst) {
                    return;
                }
                let point = |positions: Vec<f64>| JointTrajectoryPoint {
                    positions,
                    time_from_start: MsgDuration { sec: 1, nanosec: 0 },
                    ..Default::default()
                };
                let bad = JointTrajectory {
                    joint_names: vec!["elbow".into()],
                    points: vec![point(vec![0.0])],
                    ..Default::default()
                };
                trajectories.publish_now(bad).unwrap();
                let mut target = q0.clone();
                target[0] += 0.3;
                let good = JointTrajectory {
                    joint_names: js.name.clone(),
                    points: vec![point(target)],
                    ..Default::default()
                };
                trajectories.publish_now(good).unwrap();
                gripper.publish_now(Float64 { data: 0.0 }).unwrap();
            },
        )
        .await
        .unwrap();

    let ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let sim = ctx.create_node("sim").await.unwrap();
    // Both sides must see each other before the first frame goes out.
    let g = ctx.graph().await.unwrap();
    g.wait_until(Duration::from_secs(20), |g| {
        !g.endpoints("/joint_states", embody::wire::EntityKind::Subscription)
            .is_empty()
            && !g
                .endpoints(
                    "/arm_controller/joint_trajectory",
                    embody::wire::EntityKind::Publisher,
                )
                .is_empty()
    })
    .await
    .unwrap();
    // Real time: 4 s of sim leave the commander ample time to answer the first frame.
    let report = run_arm_node(&sim, &run, Some(1.0)).await.unwrap();
    assert!(
        sent.load(Ordering::SeqCst),
        "the commander saw joint states"
    );
    assert_eq!(report.trajectories, 1, "{report:?}");
    assert_eq!(report.rejected.len(), 1);
    assert!(
        report.rejected[0].contains("unknown joint `elbow`"),
        "{report:?}"
    );
    let q = &report.final_positions;
    assert!((q[0] - (home[0] + 0.3)).abs() < 1e-3, "{q:?}");
    assert!(
        q[1..]
            .iter()
            .zip(&home[1..])
            .all(|(a, b)| (a - b).abs() < 1e-6)
    );
    assert_eq!(report.final_opening, 0.0, "closed on nothing");
    assert_eq!(report.result.arm_collisions, 0);
    assert_eq!(report.result.sim_time_s, 4.0);
}
