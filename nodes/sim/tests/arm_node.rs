//! The arm world as a node in lock-step: every joint state waits for the `joint_commands`
//! stamped with it. Driven by the arm control node following a FollowJointTrajectory goal,
//! and by a hand-written commander whose malformed command is refused without ending the run.
//! The built-in follower takes `arm_controller/joint_trajectory` without a controller node.
//! (The gripper's `gripper/command` is exercised by the pick-and-place tests.)

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use embody::msgs::builtin_interfaces::msg::Duration as MsgDuration;
use embody::msgs::control_msgs::action::{FollowJointTrajectory, FollowJointTrajectory_Goal};
use embody::msgs::sensor_msgs::msg::JointState;
use embody::msgs::trajectory_msgs::msg::JointTrajectoryPoint;
use embody::qos::{History, QosProfile};
use embody::wire::EntityKind;
use embody::{Context, ContextOptions, NodeOptions, Router};
use embody_sim::arm_node::{ArmNodeOptions, run_arm_node};
use embody_sim::scenario::arm::ArmScenarioRun;
use embody_sim::scenario::{WorldRun, load_runs};

fn cups(seconds: &str) -> ArmScenarioRun {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/arm/cups_to_tray.yaml");
    let set = [("run_time_s".to_string(), seconds.to_string())];
    let Some(WorldRun::Arm(mut run)) = load_runs(&path, &set).unwrap().into_iter().next() else {
        panic!("an arm run")
    };
    run.scenario.camera = None;
    run
}

const LOCKSTEP: ArmNodeOptions = ArmNodeOptions {
    realtime_factor: None,
    lockstep: Some(Duration::from_secs(20)),
    builtin_controller: false,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_arm_controller_follows_a_follow_joint_trajectory_goal() {
    let run = cups("4");
    let home = run.scenario.arm.initial_positions.clone().unwrap();
    let ep = format!("tcp/127.0.0.1:{}", embody_testkit::free_loopback_port());
    let _router = Router::start(std::slice::from_ref(&ep)).await.unwrap();

    let control_ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let control = control_ctx
        .create_node_with("arm_control", NodeOptions::default())
        .await
        .unwrap();
    let config = embody_control::arm_node::ArmNodeConfig {
        joints: Vec::new(),
        controller: embody_control::arm::ArmControllerParams::default(),
    };
    let control_task = tokio::spawn(embody_control::arm_node::run(control, config));

    let ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let commander = ctx.create_node("commander").await.unwrap();
    let client = commander
        .create_action_client::<FollowJointTrajectory>("arm_controller/follow_joint_trajectory")
        .await
        .unwrap();
    client
        .wait_for_server(Duration::from_secs(20))
        .await
        .unwrap();
    // The controller publishes last: once its joint_commands shows, it hears the first frame.
    let graph = ctx.graph().await.unwrap();
    graph
        .wait_until(Duration::from_secs(20), |g| {
            !g.endpoints("/joint_commands", EntityKind::Publisher)
                .is_empty()
        })
        .await
        .unwrap();
    // Shoulder +0.3 rad in 1 s, the other joints named and held. Sent before the first frame,
    // so it starts with it: the run is the same every time.
    let names: Vec<String> = [
        "shoulder_pan_joint",
        "shoulder_lift_joint",
        "elbow_joint",
        "wrist_1_joint",
        "wrist_2_joint",
        "wrist_3_joint",
    ]
    .map(String::from)
    .to_vec();
    let mut target = home.clone();
    target[0] += 0.3;
    let mut goal = FollowJointTrajectory_Goal::default();
    goal.trajectory.joint_names = names;
    goal.trajectory.points = vec![JointTrajectoryPoint {
        positions: target,
        velocities: vec![0.0; 6],
        time_from_start: MsgDuration { sec: 1, nanosec: 0 },
        ..Default::default()
    }];
    let id = client
        .send_goal(goal, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("accepted");

    let sim = ctx.create_node("sim").await.unwrap();
    let sim_task = tokio::spawn(async move { run_arm_node(&sim, &run, LOCKSTEP).await });
    let (_, result) = client
        .get_result(&id, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(result.error_code, 0, "{result:?}");
    let report = sim_task.await.unwrap().unwrap();
    control_task.abort();

    // 4 s at 50 joint states a second, each answered.
    assert_eq!(report.commands, 200, "{report:?}");
    assert!(report.rejected.is_empty(), "{report:?}");
    let q = &report.final_positions;
    assert!((q[0] - (home[0] + 0.3)).abs() < 1e-3, "{q:?}");
    for (a, b) in q[1..].iter().zip(&home[1..]) {
        assert!((a - b).abs() < 1e-6, "{q:?}");
    }
    assert_eq!(report.result.arm_collisions, 0);
    assert_eq!(report.result.limit_violations, 0);
    assert_eq!(report.result.sim_time_s, 4.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_command_is_refused_and_the_run_goes_on() {
    let run = cups("1");
    let home = run.scenario.arm.initial_positions.clone().unwrap();
    let ep = format!("tcp/127.0.0.1:{}", embody_testkit::free_loopback_port());
    let _router = Router::start(std::slice::from_ref(&ep)).await.unwrap();
    let commander_ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let commander = commander_ctx.create_node("commander").await.unwrap();
    let qos = QosProfile::default().history(History::KeepAll);
    let commands = Arc::new(
        commander
            .create_publisher::<JointState>("joint_commands", qos)
            .await
            .unwrap(),
    );
    // Answers every joint state: the first with a joint the arm lacks, the rest turning the
    // shoulder at 0.1 rad/s.
    let first = Arc::new(AtomicBool::new(true));
    let _states = commander
        .create_subscription_with::<JointState, _>(
            "joint_states",
            qos,
            move |js: Arc<JointState>| {
                let mut names = js.name.clone();
                let mut speeds = vec![0.0; names.len()];
                speeds[0] = 0.1;
                if first.swap(false, Ordering::SeqCst) {
                    names[2] = "elbow".into();
                }
                let answer = JointState {
                    header: js.header.clone(),
                    name: names,
                    velocity: speeds,
                    ..Default::default()
                };
                // The first joint state can arrive before this publisher has heard of the
                // simulator's subscription; an answer sent then reaches nobody and the
                // lock-step simulator waits out its timeout (seen once, under heavy load).
                let commands = commands.clone();
                tokio::spawn(async move {
                    commands
                        .wait_for_remote_subscriber(Duration::from_secs(20))
                        .await
                        .unwrap();
                    commands.publish(answer).await.unwrap();
                });
            },
        )
        .await
        .unwrap();
    let ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let graph = ctx.graph().await.unwrap();
    graph
        .wait_until(Duration::from_secs(20), |g| {
            !g.endpoints("/joint_commands", EntityKind::Publisher)
                .is_empty()
                && !g
                    .endpoints("/joint_states", EntityKind::Subscription)
                    .is_empty()
        })
        .await
        .unwrap();
    let sim = ctx.create_node("sim").await.unwrap();
    let report = run_arm_node(&sim, &run, LOCKSTEP).await.unwrap();
    assert_eq!(
        (report.refused, report.rejected.len()),
        (1, 1),
        "{report:?}"
    );
    assert!(
        report.rejected[0].contains("`elbow_joint` missing"),
        "{report:?}"
    );
    assert_eq!(report.commands, 49, "{report:?}");
    // Commanded from the 0.02 s frame on at 0.1 rad/s: the first 10 ms step reaches
    // 0.05 rad/s (5 rad/s²), the 96 after it run at 0.1 rad/s, up to the last state at 0.99 s.
    let moved = report.final_positions[0] - home[0];
    assert!((moved - (0.0005 + 96.0 * 0.001)).abs() < 1e-9, "{moved}");
    assert!((report.final_positions[1] - home[1]).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builtin_controller_follows_a_trajectory_topic() {
    let run = cups("3");
    let home = run.scenario.arm.initial_positions.clone().unwrap();
    let ep = format!("tcp/127.0.0.1:{}", embody_testkit::free_loopback_port());
    let _router = Router::start(std::slice::from_ref(&ep)).await.unwrap();
    let commander_ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let commander = commander_ctx.create_node("commander").await.unwrap();
    let qos = QosProfile::default().history(History::KeepAll);
    let trajectories = Arc::new(
        commander
            .create_publisher::<embody::msgs::trajectory_msgs::msg::JointTrajectory>(
                "arm_controller/joint_trajectory",
                qos,
            )
            .await
            .unwrap(),
    );
    // On the first joint state after the simulator's trajectory subscription shows in the
    // graph (before that a message could reach nobody): the shoulder +0.3 rad in 1 s, the
    // other joints not named.
    let sent = Arc::new(AtomicBool::new(false));
    let once = sent.clone();
    let listening = Arc::new(AtomicBool::new(false));
    let (flag, watcher) = (listening.clone(), commander_ctx.clone());
    tokio::spawn(async move {
        let g = watcher.graph().await.unwrap();
        let up = g
            .wait_until(Duration::from_secs(20), |g| {
                !g.endpoints("/arm_controller/joint_trajectory", EntityKind::Subscription)
                    .is_empty()
            })
            .await;
        flag.store(up.is_ok(), Ordering::SeqCst);
    });
    let _states = commander
        .create_subscription_with::<JointState, _>(
            "joint_states",
            qos,
            move |js: Arc<JointState>| {
                if !listening.load(Ordering::SeqCst) || once.swap(true, Ordering::SeqCst) {
                    return;
                }
                let msg = embody::msgs::trajectory_msgs::msg::JointTrajectory {
                    joint_names: vec![js.name[0].clone()],
                    points: vec![JointTrajectoryPoint {
                        positions: vec![js.position[0] + 0.3],
                        time_from_start: MsgDuration { sec: 1, nanosec: 0 },
                        ..Default::default()
                    }],
                    ..Default::default()
                };
                trajectories.publish_now(msg).unwrap();
            },
        )
        .await
        .unwrap();
    let ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let graph = ctx.graph().await.unwrap();
    graph
        .wait_until(Duration::from_secs(20), |g| {
            !g.endpoints("/arm_controller/joint_trajectory", EntityKind::Publisher)
                .is_empty()
                && !g
                    .endpoints("/joint_states", EntityKind::Subscription)
                    .is_empty()
        })
        .await
        .unwrap();
    let sim = ctx.create_node("sim").await.unwrap();
    // Real time: 3 s of sim leave the commander ample time to answer the first frame.
    let options = ArmNodeOptions {
        realtime_factor: Some(1.0),
        lockstep: None,
        builtin_controller: true,
    };
    let report = run_arm_node(&sim, &run, options).await.unwrap();
    assert!(sent.load(Ordering::SeqCst));
    assert_eq!(report.commands, 1, "{report:?}");
    let q = &report.final_positions;
    assert!((q[0] - (home[0] + 0.3)).abs() < 1e-3, "{q:?}");
    // Lock-step waits for an arm controller: the two exclude each other.
    let both = ArmNodeOptions {
        lockstep: Some(Duration::from_secs(1)),
        ..options
    };
    let err = run_arm_node(&sim, &run, both).await.unwrap_err();
    assert!(err.to_string().contains("exclude each other"), "{err}");
}
